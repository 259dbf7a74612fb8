//! The reads of [`AkashChain`], over any [`QueryRaw`]: gRPC query paths with protobuf
//! requests and answers, whether they go to a node over RPC ([`super::RpcChain`]) or to an
//! in-memory chain ([`super::fake::FakeChain`]).

use async_trait::async_trait;
use cosmos_sdk_proto::cosmos::auth::v1beta1::{
    BaseAccount, QueryAccountRequest, QueryAccountResponse,
};
use cosmos_sdk_proto::cosmos::bank::v1beta1::{QueryAllBalancesRequest, QueryAllBalancesResponse};
use prost::Message;

use super::{
    AccountInfo, CertificateStateFilter, ClientError, DeploymentStateFilter, Page, Result,
};
use crate::akash::proto::cert::v1 as cert;
use crate::akash::proto::deployment::{v1 as dv1, v1beta4 as dv1beta4};
use crate::akash::proto::market::{v1 as mv1, v1beta5 as mv1beta5};
use crate::akash::proto::provider::v1beta4 as provider;
use crate::akash::proto::{Coin, PageRequest, Query};

/// Path of the auth account query.
pub(crate) const ACCOUNT_PATH: &str = "/cosmos.auth.v1beta1.Query/Account";
/// Path of the all-balances query.
pub(crate) const ALL_BALANCES_PATH: &str = "/cosmos.bank.v1beta1.Query/AllBalances";

/// Answers gRPC queries by method path: protobuf request in, protobuf answer out; a refusal
/// is [`ClientError::NotFound`] when it says "not found", else [`ClientError::Chain`].
#[async_trait]
pub(crate) trait QueryRaw: Send + Sync {
    /// The answer to `data` at `path`, at the latest height.
    async fn query_raw(&self, path: &str, data: Vec<u8>) -> Result<Vec<u8>>;
}

/// A query's refusal as the client reports it.
pub(crate) fn query_error(path: &str, codespace: String, code: u32, log: String) -> ClientError {
    if log.contains("not found") {
        ClientError::NotFound(format!("{path}: {log}"))
    } else {
        ClientError::chain(codespace, code, log)
    }
}

/// A typed gRPC query.
pub(crate) async fn query<Q: QueryRaw + ?Sized, R: Query>(q: &Q, req: &R) -> Result<R::Response> {
    let bytes = q.query_raw(R::PATH, req.encode_to_vec()).await?;
    R::Response::decode(bytes.as_slice())
        .map_err(|e| ClientError::Transport(format!("{}: undecodable answer: {e}", R::PATH)))
}

fn page_of<T>(items: Vec<T>, p: Option<crate::akash::proto::PageResponse>) -> Page<T> {
    let (next_key, total) = match p {
        Some(p) => (
            (!p.next_key.is_empty()).then_some(p.next_key),
            (p.total > 0).then_some(p.total),
        ),
        None => (None, None),
    };
    Page {
        items,
        next_key,
        total,
    }
}

pub(crate) async fn deployments<Q: QueryRaw + ?Sized>(
    q: &Q,
    owner: &str,
    state: DeploymentStateFilter,
    page: Option<PageRequest>,
) -> Result<Page<dv1beta4::QueryDeploymentResponse>> {
    let resp = query(
        q,
        &dv1beta4::QueryDeploymentsRequest {
            filters: dv1beta4::DeploymentFilters {
                owner: owner.to_owned(),
                dseq: 0,
                state: state.as_query().to_owned(),
            },
            pagination: page,
        },
    )
    .await?;
    Ok(page_of(resp.deployments, resp.pagination))
}

pub(crate) async fn deployment<Q: QueryRaw + ?Sized>(
    q: &Q,
    id: &dv1::DeploymentID,
) -> Result<dv1beta4::QueryDeploymentResponse> {
    query(q, &dv1beta4::QueryDeploymentRequest { id: id.clone() }).await
}

pub(crate) async fn orders<Q: QueryRaw + ?Sized>(
    q: &Q,
    filters: mv1beta5::OrderFilters,
    page: Option<PageRequest>,
) -> Result<Page<mv1beta5::Order>> {
    let resp = query(
        q,
        &mv1beta5::QueryOrdersRequest {
            filters,
            pagination: page,
        },
    )
    .await?;
    Ok(page_of(resp.orders, resp.pagination))
}

pub(crate) async fn bids<Q: QueryRaw + ?Sized>(
    q: &Q,
    filters: mv1beta5::BidFilters,
    page: Option<PageRequest>,
) -> Result<Page<mv1beta5::QueryBidResponse>> {
    let resp = query(
        q,
        &mv1beta5::QueryBidsRequest {
            filters,
            pagination: page,
        },
    )
    .await?;
    Ok(page_of(resp.bids, resp.pagination))
}

pub(crate) async fn leases<Q: QueryRaw + ?Sized>(
    q: &Q,
    filters: mv1::LeaseFilters,
    page: Option<PageRequest>,
) -> Result<Page<mv1beta5::QueryLeaseResponse>> {
    let resp = query(
        q,
        &mv1beta5::QueryLeasesRequest {
            filters,
            pagination: page,
        },
    )
    .await?;
    Ok(page_of(resp.leases, resp.pagination))
}

pub(crate) async fn provider<Q: QueryRaw + ?Sized>(
    q: &Q,
    owner: &str,
) -> Result<provider::Provider> {
    let resp = query(
        q,
        &provider::QueryProviderRequest {
            owner: owner.to_owned(),
        },
    )
    .await?;
    Ok(resp.provider)
}

pub(crate) async fn providers<Q: QueryRaw + ?Sized>(
    q: &Q,
    page: Option<PageRequest>,
) -> Result<Page<provider::Provider>> {
    let resp = query(q, &provider::QueryProvidersRequest { pagination: page }).await?;
    Ok(page_of(resp.providers, resp.pagination))
}

pub(crate) async fn mint_epoch_blocks<Q: QueryRaw + ?Sized>(q: &Q) -> Result<i64> {
    let resp = query(q, &crate::akash::proto::bme::v1::QueryParamsRequest {}).await?;
    Ok(resp.params.min_epoch_blocks)
}

pub(crate) async fn act_mints<Q: QueryRaw + ?Sized>(
    q: &Q,
    source: Option<&str>,
    limit: u64,
) -> Result<Vec<super::ActMint>> {
    use crate::akash::proto::bme::v1 as bme;
    let resp = query(
        q,
        &bme::QueryLedgerRecordsRequest {
            filters: bme::LedgerRecordFilters {
                source: source.unwrap_or_default().to_owned(),
                denom: "uakt".to_owned(),
                to_denom: "uact".to_owned(),
                status: String::new(),
            },
            pagination: Some(PageRequest {
                limit: limit.max(1),
                reverse: true,
                ..PageRequest::default()
            }),
        },
    )
    .await?;
    let amount = |c: &Coin| c.amount.parse::<u128>().unwrap_or(0);
    let mut out: Vec<super::ActMint> = resp
        .records
        .into_iter()
        .map(|e| {
            let (state, burned, minted) = match &e.record {
                Some(bme::LedgerEntryRecord::ExecutedRecord(r)) => (
                    super::MintState::Executed,
                    r.burned.as_ref().map_or(0, |c| amount(&c.coin)),
                    r.minted.as_ref().map_or(0, |c| amount(&c.coin)),
                ),
                Some(bme::LedgerEntryRecord::CanceledRecord(r)) => {
                    (super::MintState::Canceled, amount(&r.coins_to_burn), 0)
                }
                Some(bme::LedgerEntryRecord::PendingRecord(r)) => {
                    (super::MintState::Pending, amount(&r.coins_to_burn), 0)
                }
                None => (super::MintState::Pending, 0, 0),
            };
            super::ActMint {
                source: e.id.source,
                height: e.id.height,
                sequence: e.id.sequence,
                state,
                burned_uakt: burned,
                minted_uact: minted,
            }
        })
        .collect();
    out.sort_by_key(|m| std::cmp::Reverse((m.height, m.sequence)));
    Ok(out)
}

pub(crate) async fn provider_audits<Q: QueryRaw + ?Sized>(
    q: &Q,
    owner: &str,
) -> Result<Vec<crate::akash::proto::audit::v1::AuditedProvider>> {
    let resp = query(
        q,
        &crate::akash::proto::audit::v1::QueryProviderAttributesRequest {
            owner: owner.to_owned(),
            pagination: None,
        },
    )
    .await?;
    Ok(resp.providers)
}

pub(crate) async fn certificates<Q: QueryRaw + ?Sized>(
    q: &Q,
    owner: &str,
    serial: Option<&str>,
    state: CertificateStateFilter,
) -> Result<Vec<cert::CertificateResponse>> {
    let resp = query(
        q,
        &cert::QueryCertificatesRequest {
            filter: cert::CertificateFilter {
                owner: owner.to_owned(),
                serial: serial.unwrap_or_default().to_owned(),
                state: state.as_query().to_owned(),
            },
            pagination: None,
        },
    )
    .await?;
    Ok(resp.certificates)
}

pub(crate) async fn balances<Q: QueryRaw + ?Sized>(q: &Q, address: &str) -> Result<Vec<Coin>> {
    let req = QueryAllBalancesRequest {
        address: address.to_owned(),
        pagination: None,
        resolve_denom: false,
    };
    let bytes = q.query_raw(ALL_BALANCES_PATH, req.encode_to_vec()).await?;
    let resp = QueryAllBalancesResponse::decode(bytes.as_slice())
        .map_err(|e| ClientError::Transport(format!("undecodable balances: {e}")))?;
    Ok(resp.balances)
}

pub(crate) async fn account_info<Q: QueryRaw + ?Sized>(
    q: &Q,
    address: &str,
) -> Result<AccountInfo> {
    let req = QueryAccountRequest {
        address: address.to_owned(),
    };
    let bytes = q.query_raw(ACCOUNT_PATH, req.encode_to_vec()).await?;
    let resp = QueryAccountResponse::decode(bytes.as_slice())
        .map_err(|e| ClientError::Transport(format!("undecodable account: {e}")))?;
    let any = resp
        .account
        .ok_or_else(|| ClientError::NotFound(format!("account {address}")))?;
    let base = base_account(&any.type_url, &any.value)
        .ok_or_else(|| ClientError::Transport(format!("unknown account type {}", any.type_url)))?;
    Ok(AccountInfo {
        address: base.address,
        account_number: base.account_number,
        sequence: base.sequence,
        has_pub_key: base.pub_key.is_some(),
    })
}

/// The `BaseAccount` of an auth account, plain or vesting.
fn base_account(type_url: &str, value: &[u8]) -> Option<BaseAccount> {
    use cosmos_sdk_proto::cosmos::vesting::v1beta1 as v;
    let from_vesting = |b: Option<v::BaseVestingAccount>| b.and_then(|b| b.base_account);
    match type_url {
        "/cosmos.auth.v1beta1.BaseAccount" => BaseAccount::decode(value).ok(),
        "/cosmos.vesting.v1beta1.ContinuousVestingAccount" => from_vesting(
            v::ContinuousVestingAccount::decode(value)
                .ok()?
                .base_vesting_account,
        ),
        "/cosmos.vesting.v1beta1.DelayedVestingAccount" => from_vesting(
            v::DelayedVestingAccount::decode(value)
                .ok()?
                .base_vesting_account,
        ),
        "/cosmos.vesting.v1beta1.PeriodicVestingAccount" => from_vesting(
            v::PeriodicVestingAccount::decode(value)
                .ok()?
                .base_vesting_account,
        ),
        "/cosmos.vesting.v1beta1.PermanentLockedAccount" => from_vesting(
            v::PermanentLockedAccount::decode(value)
                .ok()?
                .base_vesting_account,
        ),
        _ => None,
    }
}
