//! gRPC queries by method path (`/akash.market.v1beta5.Query/Leases`), protobuf in and out,
//! as `abci_query` serves them; filters and `PageRequest` pagination behave like the SDK's
//! (`key` or `offset`, `limit` default 100, `count_total`, `reverse`).

use super::handlers::{
    bid_account_key, bid_id, deployment_account_key, deployment_id, group_id, lease_id,
    lease_payment_key, mint_record_id, order_id,
};
use super::*;
use af_akash::proto::audit::v1 as av;
use af_akash::proto::base::coin;
use af_akash::proto::bme::v1 as bv;
use af_akash::proto::cert::v1 as cv;
use af_akash::proto::deployment::{v1 as dv1, v1beta4 as dv};
use af_akash::proto::escrow::id::v1 as eid;
use af_akash::proto::escrow::types::v1 as et;
use af_akash::proto::escrow::v1 as ev;
use af_akash::proto::market::{v1 as mv1, v1beta5 as mv};
use af_akash::proto::methods::{
    audit_v1, bme_v1, cert_v1, deployment_v1beta4, escrow_v1, market_v1beta5, provider_v1beta4,
};
use af_akash::proto::provider::v1beta4 as pv;
use af_akash::proto::{to_any, PageRequest, PageResponse};
use af_akash::sdl::{Attribute, DecCoin};
use cosmos_sdk_proto::cosmos::auth::v1beta1 as auth;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use prost::Message;

/// A failed query, as `abci_query` reports it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{codespace} error {code}: {log}")]
pub struct QueryError {
    /// Module (`sdk` for routing and decoding errors).
    pub codespace: String,
    /// Error code within the codespace.
    pub code: u32,
    /// What went wrong.
    pub log: String,
}

fn qerr(codespace: &str, code: u32, log: impl Into<String>) -> QueryError {
    QueryError {
        codespace: codespace.to_owned(),
        code,
        log: log.into(),
    }
}

const DEFAULT_LIMIT: u64 = 100;

/// One page of `items` (already filtered, in store order), each with its store key.
fn paginate<T>(
    mut items: Vec<(Vec<u8>, T)>,
    page: Option<&PageRequest>,
) -> Result<(Vec<T>, Option<PageResponse>), QueryError> {
    let default = PageRequest::default();
    let page = page.unwrap_or(&default);
    if !page.key.is_empty() && page.offset > 0 {
        return Err(qerr(
            "sdk",
            18,
            "invalid request: either offset or key is expected, got both",
        ));
    }
    if page.reverse {
        items.reverse();
    }
    let limit = if page.limit == 0 {
        DEFAULT_LIMIT
    } else {
        page.limit
    } as usize;
    let total = items.len();
    let start = if page.key.is_empty() {
        (page.offset as usize).min(total)
    } else {
        items
            .iter()
            .position(|(k, _)| *k == page.key)
            .ok_or_else(|| qerr("sdk", 18, "invalid request: unknown pagination key"))?
    };
    let end = (start + limit).min(total);
    let next_key = items.get(end).map(|(k, _)| k.clone()).unwrap_or_default();
    let count = page.count_total && page.key.is_empty();
    let out = items.drain(start..end).map(|(_, v)| v).collect();
    Ok((
        out,
        Some(PageResponse {
            next_key,
            total: if count { total as u64 } else { 0 },
        }),
    ))
}

fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, QueryError> {
    M::decode(bytes).map_err(|e| qerr("sdk", 18, format!("invalid request: {e}")))
}

fn state_filter<F: Fn(&str) -> Option<i32>>(
    text: &str,
    parse: F,
) -> Result<Option<i32>, QueryError> {
    if text.is_empty() {
        return Ok(None);
    }
    parse(text).map(Some).ok_or_else(|| {
        qerr(
            "sdk",
            18,
            format!("invalid request: invalid state value {text:?}"),
        )
    })
}

/// A store key: the record key's JSON, which is unique and stable.
fn store_key<K: Serialize>(k: &K) -> Vec<u8> {
    serde_json::to_vec(k).expect("keys serialize")
}

fn dec(denom: &str, scaled: u128) -> DecCoin {
    DecCoin::from_scaled(denom, scaled)
}

impl Chain {
    /// Answers a gRPC query: `path` is the method path, `request` the protobuf request.
    pub fn query(&self, path: &str, request: &[u8]) -> Result<Vec<u8>, QueryError> {
        use deployment_v1beta4 as d;
        use market_v1beta5 as m;
        Ok(match path {
            d::QUERY_DEPLOYMENTS => self.q_deployments(decode(request)?)?.encode_to_vec(),
            d::QUERY_DEPLOYMENT => {
                let r: dv::QueryDeploymentRequest = decode(request)?;
                let key = (r.id.owner.clone(), r.id.dseq);
                if !self.deployments.contains_key(&key) {
                    return Err(qerr(
                        "deployment",
                        4,
                        format!("Deployment not found: {}", r.id),
                    ));
                }
                self.deployment_response(&key).encode_to_vec()
            }
            d::QUERY_GROUP => {
                let r: dv::QueryGroupRequest = decode(request)?;
                let key = (r.id.owner.clone(), r.id.dseq, r.id.gseq);
                let g = self
                    .groups
                    .get(&key)
                    .ok_or_else(|| qerr("deployment", 14, format!("Group not found: {}", r.id)))?;
                dv::QueryGroupResponse {
                    group: group_proto(&key, g),
                }
                .encode_to_vec()
            }
            d::QUERY_PARAMS => dv::QueryParamsResponse {
                params: dv::Params {
                    min_deposits: self
                        .params
                        .deployment_min_deposits
                        .iter()
                        .map(|(d, a)| coin(d, *a))
                        .collect(),
                },
            }
            .encode_to_vec(),
            m::QUERY_ORDERS => self.q_orders(decode(request)?)?.encode_to_vec(),
            m::QUERY_ORDER => {
                let r: mv::QueryOrderRequest = decode(request)?;
                let key = (r.id.owner.clone(), r.id.dseq, r.id.gseq, r.id.oseq);
                let o = self
                    .orders
                    .get(&key)
                    .ok_or_else(|| qerr("market", 15, "invalid order: order not found"))?;
                mv::QueryOrderResponse {
                    order: self.order_proto(&key, o),
                }
                .encode_to_vec()
            }
            m::QUERY_BIDS => self.q_bids(decode(request)?)?.encode_to_vec(),
            m::QUERY_BID => {
                let r: mv::QueryBidRequest = decode(request)?;
                let key = bid_key_of(&r.id);
                if !self.bids.contains_key(&key) {
                    return Err(qerr("market", 18, "invalid bid: bid not found"));
                }
                self.bid_response(&key).encode_to_vec()
            }
            m::QUERY_LEASES => self.q_leases(decode(request)?)?.encode_to_vec(),
            m::QUERY_LEASE => {
                let r: mv::QueryLeaseRequest = decode(request)?;
                let key = bid_key_of(&mv1::BidID::from(r.id.clone()));
                if !self.leases.contains_key(&key) {
                    return Err(qerr("market", 20, "lease not found"));
                }
                self.lease_response(&key).encode_to_vec()
            }
            m::QUERY_PARAMS => mv::QueryParamsResponse {
                params: mv::Params {
                    bid_min_deposit: self
                        .params
                        .bid_min_deposits
                        .first()
                        .map(|(d, a)| coin(d, *a))
                        .unwrap_or_else(|| coin(UAKT, 0)),
                    order_max_bids: self.params.order_max_bids,
                    bid_min_deposits: self
                        .params
                        .bid_min_deposits
                        .iter()
                        .map(|(d, a)| coin(d, *a))
                        .collect(),
                    ..mv::Params::default()
                },
            }
            .encode_to_vec(),
            escrow_v1::QUERY_ACCOUNTS => {
                let r: ev::QueryAccountsRequest = decode(request)?;
                let state = state_filter(&r.state, |s| {
                    et::EscrowState::from_str_name(s).map(|v| v as i32)
                })?;
                let items = self
                    .escrow_accounts
                    .iter()
                    .filter(|(_, a)| state.is_none_or(|s| a.state == s))
                    .filter(|(_, a)| a.xid.starts_with(&r.xid))
                    .map(|(k, a)| (k.as_bytes().to_vec(), account_proto(a)))
                    .collect();
                let (accounts, pagination) = paginate(items, r.pagination.as_ref())?;
                ev::QueryAccountsResponse {
                    accounts,
                    pagination,
                }
                .encode_to_vec()
            }
            escrow_v1::QUERY_PAYMENTS => {
                let r: ev::QueryPaymentsRequest = decode(request)?;
                let state = state_filter(&r.state, |s| {
                    et::EscrowState::from_str_name(s).map(|v| v as i32)
                })?;
                let items = self
                    .escrow_payments
                    .iter()
                    .filter(|(_, p)| state.is_none_or(|s| p.state == s))
                    .filter(|(_, p)| {
                        let aid = &self.escrow_accounts[&p.account].xid;
                        aid.starts_with(&r.xid) || p.xid.starts_with(&r.xid)
                    })
                    .map(|(k, p)| (k.as_bytes().to_vec(), self.payment_proto(p)))
                    .collect();
                let (payments, pagination) = paginate(items, r.pagination.as_ref())?;
                ev::QueryPaymentsResponse {
                    payments,
                    pagination,
                }
                .encode_to_vec()
            }
            cert_v1::QUERY_CERTIFICATES => {
                let r: cv::QueryCertificatesRequest = decode(request)?;
                let state = state_filter(&r.filter.state, |s| {
                    cv::CertificateState::from_str_name(s).map(|v| v as i32)
                })?;
                let f = &r.filter;
                let items = self
                    .certificates
                    .iter()
                    .filter(|((o, s), c)| {
                        (f.owner.is_empty() || *o == f.owner)
                            && (f.serial.is_empty() || *s == f.serial)
                            && state.is_none_or(|st| c.state == st)
                    })
                    .map(|(k, c)| {
                        (
                            store_key(k),
                            cv::CertificateResponse {
                                certificate: cv::Certificate {
                                    state: c.state,
                                    cert: c.cert.clone(),
                                    pubkey: c.pubkey.clone(),
                                },
                                serial: k.1.clone(),
                            },
                        )
                    })
                    .collect();
                let (certificates, pagination) = paginate(items, r.pagination.as_ref())?;
                cv::QueryCertificatesResponse {
                    certificates,
                    pagination,
                }
                .encode_to_vec()
            }
            provider_v1beta4::QUERY_PROVIDERS => {
                let r: pv::QueryProvidersRequest = decode(request)?;
                let items = self
                    .providers
                    .iter()
                    .map(|(o, p)| (o.as_bytes().to_vec(), provider_proto(o, p)))
                    .collect();
                let (providers, pagination) = paginate(items, r.pagination.as_ref())?;
                pv::QueryProvidersResponse {
                    providers,
                    pagination,
                }
                .encode_to_vec()
            }
            provider_v1beta4::QUERY_PROVIDER => {
                let r: pv::QueryProviderRequest = decode(request)?;
                let p = self
                    .providers
                    .get(&r.owner)
                    .ok_or_else(|| qerr("provider", 3, "invalid provider: address not found"))?;
                pv::QueryProviderResponse {
                    provider: provider_proto(&r.owner, p),
                }
                .encode_to_vec()
            }
            audit_v1::QUERY_ALL_PROVIDERS_ATTRIBUTES => {
                let r: av::QueryAllProvidersAttributesRequest = decode(request)?;
                self.q_audit(|_, _| true, r.pagination.as_ref())?
            }
            audit_v1::QUERY_PROVIDER_ATTRIBUTES => {
                let r: av::QueryProviderAttributesRequest = decode(request)?;
                self.q_audit(|o, _| o == r.owner, r.pagination.as_ref())?
            }
            audit_v1::QUERY_PROVIDER_AUDITOR_ATTRIBUTES => {
                let r: av::QueryProviderAuditorRequest = decode(request)?;
                self.q_audit(|o, a| o == r.owner && a == r.auditor, None)?
            }
            audit_v1::QUERY_AUDITOR_ATTRIBUTES => {
                let r: av::QueryAuditorAttributesRequest = decode(request)?;
                self.q_audit(|_, a| a == r.auditor, r.pagination.as_ref())?
            }
            bme_v1::QUERY_PARAMS => bv::QueryParamsResponse {
                params: bv::Params {
                    min_epoch_blocks: self.params.bme_epoch_blocks,
                    ..bv::Params::default()
                },
            }
            .encode_to_vec(),
            bme_v1::QUERY_STATUS => bv::QueryStatusResponse {
                status: bv::MintStatus::Healthy as i32,
                mints_allowed: true,
                refunds_allowed: true,
                ..bv::QueryStatusResponse::default()
            }
            .encode_to_vec(),
            bme_v1::QUERY_LEDGER_RECORDS => {
                let r: bv::QueryLedgerRecordsRequest = decode(request)?;
                let f = &r.filters;
                let items = self
                    .mints
                    .iter()
                    .filter(|m| f.source.is_empty() || m.owner == f.source)
                    .filter(|_| {
                        (f.denom.is_empty() || f.denom == UAKT)
                            && (f.to_denom.is_empty() || f.to_denom == UACT)
                    })
                    .filter(|m| {
                        let status = if m.executed {
                            bv::LedgerRecordStatus::Executed
                        } else {
                            bv::LedgerRecordStatus::Pending
                        };
                        f.status.is_empty() || f.status == status.as_str_name()
                    })
                    .map(|m| (m.sequence.to_be_bytes().to_vec(), mint_entry(m)))
                    .collect();
                let (records, pagination) = paginate(items, r.pagination.as_ref())?;
                bv::QueryLedgerRecordsResponse {
                    records,
                    pagination,
                }
                .encode_to_vec()
            }
            "/cosmos.bank.v1beta1.Query/Balance" => {
                let r: bank::QueryBalanceRequest = decode(request)?;
                bank::QueryBalanceResponse {
                    balance: Some(coin(&r.denom, self.balance(&r.address, &r.denom))),
                }
                .encode_to_vec()
            }
            "/cosmos.bank.v1beta1.Query/AllBalances" => {
                let r: bank::QueryAllBalancesRequest = decode(request)?;
                let items = self
                    .accounts
                    .get(&r.address)
                    .map(|a| {
                        a.balances
                            .iter()
                            .map(|(d, v)| (d.as_bytes().to_vec(), coin(d, *v)))
                            .collect()
                    })
                    .unwrap_or_default();
                let (balances, pagination) = paginate(items, r.pagination.as_ref())?;
                bank::QueryAllBalancesResponse {
                    balances,
                    pagination,
                }
                .encode_to_vec()
            }
            "/cosmos.auth.v1beta1.Query/Account" => {
                let r: auth::QueryAccountRequest = decode(request)?;
                let a = self.accounts.get(&r.address).ok_or_else(|| {
                    // The SDK's gRPC→ABCI error mapping (cosmjs matches "NotFound").
                    qerr(
                        "sdk",
                        22,
                        format!(
                            "rpc error: code = NotFound desc = account {} not found: key not found",
                            r.address
                        ),
                    )
                })?;
                auth::QueryAccountResponse {
                    account: Some(to_any(&auth::BaseAccount {
                        address: r.address.clone(),
                        pub_key: a.pub_key.as_ref().map(|k| {
                            to_any(&cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey {
                                key: k.clone(),
                            })
                        }),
                        account_number: a.number,
                        sequence: a.sequence,
                    })),
                }
                .encode_to_vec()
            }
            _ => return Err(qerr("sdk", 6, format!("unknown query path {path}"))),
        })
    }

    fn deployment_response(&self, key: &DeploymentKey) -> dv::QueryDeploymentResponse {
        let d = &self.deployments[key];
        let groups = self
            .groups
            .range((key.0.clone(), key.1, 0)..=(key.0.clone(), key.1, u32::MAX))
            .map(|(k, g)| group_proto(k, g))
            .collect();
        let akey = deployment_account_key(key);
        dv::QueryDeploymentResponse {
            deployment: dv1::Deployment {
                id: deployment_id(key),
                state: d.state,
                hash: d.hash.clone(),
                created_at: d.created_at,
                reclamation: None,
            },
            groups,
            escrow_account: self
                .escrow_accounts
                .get(&akey)
                .map(account_proto)
                .unwrap_or_default(),
        }
    }

    fn q_deployments(
        &self,
        r: dv::QueryDeploymentsRequest,
    ) -> Result<dv::QueryDeploymentsResponse, QueryError> {
        let f = &r.filters;
        let state = state_filter(&f.state, |s| {
            dv1::DeploymentState::from_str_name(s).map(|v| v as i32)
        })?;
        let items = self
            .deployments
            .iter()
            .filter(|(k, d)| {
                (f.owner.is_empty() || k.0 == f.owner)
                    && (f.dseq == 0 || k.1 == f.dseq)
                    && state.is_none_or(|s| d.state == s)
            })
            .map(|(k, _)| (store_key(k), k))
            .collect();
        // Responses are built for the page only.
        let (keys, pagination) = paginate(items, r.pagination.as_ref())?;
        let deployments = keys
            .into_iter()
            .map(|k| self.deployment_response(k))
            .collect();
        Ok(dv::QueryDeploymentsResponse {
            deployments,
            pagination,
        })
    }

    fn order_proto(&self, k: &OrderKey, o: &OrderRec) -> mv::Order {
        mv::Order {
            id: order_id(k),
            state: o.state,
            spec: self
                .groups
                .get(&(k.0.clone(), k.1, k.2))
                .map(|g| g.spec.clone())
                .unwrap_or_default(),
            created_at: o.created_at,
            reclamation: None,
        }
    }

    fn q_orders(&self, r: mv::QueryOrdersRequest) -> Result<mv::QueryOrdersResponse, QueryError> {
        let f = &r.filters;
        let state = state_filter(&f.state, |s| {
            mv::OrderState::from_str_name(s).map(|v| v as i32)
        })?;
        let items = self
            .orders
            .iter()
            .filter(|(k, o)| {
                (f.owner.is_empty() || k.0 == f.owner)
                    && (f.dseq == 0 || k.1 == f.dseq)
                    && (f.gseq == 0 || k.2 == f.gseq)
                    && (f.oseq == 0 || k.3 == f.oseq)
                    && state.is_none_or(|s| o.state == s)
            })
            .map(|(k, o)| (store_key(k), (k, o)))
            .collect();
        let (keys, pagination) = paginate(items, r.pagination.as_ref())?;
        let orders = keys
            .into_iter()
            .map(|(k, o)| self.order_proto(k, o))
            .collect();
        Ok(mv::QueryOrdersResponse { orders, pagination })
    }

    fn bid_response(&self, k: &BidKey) -> mv::QueryBidResponse {
        let b = &self.bids[k];
        mv::QueryBidResponse {
            bid: mv::Bid {
                id: bid_id(k),
                state: b.state,
                price: dec(&b.denom, b.price),
                created_at: b.created_at,
                resources_offer: Vec::new(),
                reclamation_window: None,
            },
            escrow_account: self
                .escrow_accounts
                .get(&bid_account_key(k))
                .map(account_proto)
                .unwrap_or_default(),
        }
    }

    fn q_bids(&self, r: mv::QueryBidsRequest) -> Result<mv::QueryBidsResponse, QueryError> {
        let f = &r.filters;
        let state = state_filter(&f.state, |s| {
            mv::BidState::from_str_name(s).map(|v| v as i32)
        })?;
        let items = self
            .bids
            .iter()
            .filter(|(k, b)| {
                bid_key_matches(k, &f.owner, f.dseq, f.gseq, f.oseq, &f.provider, f.bseq)
                    && state.is_none_or(|s| b.state == s)
            })
            .map(|(k, _)| (store_key(k), k))
            .collect();
        let (keys, pagination) = paginate(items, r.pagination.as_ref())?;
        let bids = keys.into_iter().map(|k| self.bid_response(k)).collect();
        Ok(mv::QueryBidsResponse { bids, pagination })
    }

    fn lease_response(&self, k: &BidKey) -> mv::QueryLeaseResponse {
        let l = &self.leases[k];
        mv::QueryLeaseResponse {
            lease: mv1::Lease {
                id: lease_id(k),
                state: l.state,
                price: dec(&l.denom, l.price),
                created_at: l.created_at,
                closed_on: l.closed_on,
                reason: l.reason,
                reclamation: None,
            },
            escrow_payment: self
                .escrow_payments
                .get(&lease_payment_key(k))
                .map(|p| self.payment_proto(p))
                .unwrap_or_default(),
        }
    }

    fn q_leases(&self, r: mv::QueryLeasesRequest) -> Result<mv::QueryLeasesResponse, QueryError> {
        let f = &r.filters;
        let state = state_filter(&f.state, |s| {
            mv1::LeaseState::from_str_name(s).map(|v| v as i32)
        })?;
        let items = self
            .leases
            .iter()
            .filter(|(k, l)| {
                bid_key_matches(k, &f.owner, f.dseq, f.gseq, f.oseq, &f.provider, f.bseq)
                    && state.is_none_or(|s| l.state == s)
            })
            .map(|(k, _)| (store_key(k), k))
            .collect();
        let (keys, pagination) = paginate(items, r.pagination.as_ref())?;
        let leases = keys.into_iter().map(|k| self.lease_response(k)).collect();
        Ok(mv::QueryLeasesResponse { leases, pagination })
    }

    fn payment_proto(&self, p: &PaymentRec) -> et::Payment {
        let aid = self
            .escrow_accounts
            .get(&p.account)
            .map(|a| eid::Account {
                scope: a.scope,
                xid: a.xid.clone(),
            })
            .unwrap_or_default();
        et::Payment {
            id: eid::Payment {
                aid,
                xid: p.xid.clone(),
            },
            state: et::PaymentState {
                owner: p.owner.clone(),
                state: p.state,
                rate: dec(&p.denom, p.rate),
                balance: dec(&p.denom, p.balance),
                unsettled: dec(&p.denom, p.unsettled),
                withdrawn: coin(&p.denom, p.withdrawn),
            },
        }
    }

    fn q_audit(
        &self,
        keep: impl Fn(&str, &str) -> bool,
        page: Option<&PageRequest>,
    ) -> Result<Vec<u8>, QueryError> {
        let items = self
            .audits
            .iter()
            .filter(|((o, a), _)| keep(o, a))
            .map(|(k, attrs)| {
                (
                    store_key(k),
                    av::AuditedProvider {
                        owner: k.0.clone(),
                        auditor: k.1.clone(),
                        attributes: attrs.iter().map(|(k, v)| Attribute::new(k, v)).collect(),
                    },
                )
            })
            .collect();
        let (providers, pagination) = paginate(items, page)?;
        Ok(av::QueryProvidersResponse {
            providers,
            pagination,
        }
        .encode_to_vec())
    }
}

fn bid_key_of(id: &mv1::BidID) -> BidKey {
    (
        id.owner.clone(),
        id.dseq,
        id.gseq,
        id.oseq,
        id.provider.clone(),
        id.bseq,
    )
}

fn group_proto(k: &GroupKey, g: &GroupRec) -> dv::Group {
    dv::Group {
        id: group_id(k),
        state: g.state,
        group_spec: g.spec.clone(),
        created_at: g.created_at,
    }
}

fn account_proto(a: &EscrowAccountRec) -> et::Account {
    et::Account {
        id: eid::Account {
            scope: a.scope,
            xid: a.xid.clone(),
        },
        state: et::AccountState {
            owner: a.owner.clone(),
            state: a.state,
            transferred: vec![dec(&a.denom, a.transferred)],
            settled_at: a.settled_at,
            funds: std::iter::once((&a.denom, &a.funds))
                .chain(a.other_funds.iter())
                .map(|(denom, amount)| et::Balance {
                    denom: denom.clone(),
                    amount: amount.to_string(),
                })
                .collect(),
            deposits: a
                .deposits
                .iter()
                .map(|d| et::Depositor {
                    owner: d.owner.clone(),
                    height: d.height,
                    source: d.source,
                    balance: dec(&d.denom, d.balance),
                })
                .collect(),
        },
    }
}

fn provider_proto(owner: &str, p: &ProviderRec) -> pv::Provider {
    pv::Provider {
        owner: owner.to_owned(),
        host_uri: p.host_uri.clone(),
        attributes: p
            .attributes
            .iter()
            .map(|(k, v)| Attribute::new(k, v))
            .collect(),
        info: pv::Info {
            email: p.email.clone(),
            website: p.website.clone(),
        },
    }
}

fn mint_entry(m: &MintRec) -> bv::QueryLedgerRecordEntry {
    let record = if m.executed {
        bv::LedgerEntryRecord::ExecutedRecord(bv::LedgerRecord {
            burned_from: m.owner.clone(),
            minted_to: m.to.clone(),
            burner: "bme".to_owned(),
            minter: "bme".to_owned(),
            burned: Some(bv::CoinPrice {
                coin: coin(UAKT, m.burned),
                price: String::new(),
            }),
            minted: Some(bv::CoinPrice {
                coin: coin(UACT, m.minted),
                price: String::new(),
            }),
            spread: coin(UACT, 0),
            remint_credit_issued: None,
            remint_credit_accrued: None,
        })
    } else {
        bv::LedgerEntryRecord::PendingRecord(bv::LedgerPendingRecord {
            owner: m.owner.clone(),
            to: m.to.clone(),
            coins_to_burn: coin(UAKT, m.burned),
            denom_to_mint: UACT.to_owned(),
            attempts: 0,
        })
    };
    bv::QueryLedgerRecordEntry {
        id: mint_record_id(m),
        status: if m.executed {
            bv::LedgerRecordStatus::Executed as i32
        } else {
            bv::LedgerRecordStatus::Pending as i32
        },
        record: Some(record),
    }
}

/// Whether a bid or lease key passes the filters' id fields (empty or zero: any).
fn bid_key_matches(
    k: &BidKey,
    owner: &str,
    dseq: u64,
    gseq: u32,
    oseq: u32,
    provider: &str,
    bseq: u32,
) -> bool {
    (owner.is_empty() || k.0 == owner)
        && (dseq == 0 || k.1 == dseq)
        && (gseq == 0 || k.2 == gseq)
        && (oseq == 0 || k.3 == oseq)
        && (provider.is_empty() || k.4 == provider)
        && (bseq == 0 || k.5 == bseq)
}
