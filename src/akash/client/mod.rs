//! The Akash chain client: the operator's hands on Akash.
//!
//! * [`AkashChain`] — the trait the reconciler depends on, in Akash's words (deployments,
//!   bids, leases, escrow deposits, ACT minting, certificates, and the reads).
//! * [`RpcChain`] ([`rpc`]) — its implementation over CometBFT JSON-RPC (tendermint-rpc,
//!   `CompatMode::V0_38`): cached account sequence, `Simulate` × adjustment for gas, fees in
//!   `uakt`, `broadcast_tx_sync` then polling `tx` with a deadline, code 32 recovery, transient
//!   errors retried with exponential backoff and jitter, failover between endpoints.
//! * [`Batcher`] ([`batch`]) — groups messages from one signer into one tx per block and hands
//!   each caller its own message's outcome; a failing message is found (by the `message index`
//!   in the log, else by bisection) and the others are retried.
//! * [`retry`] — exponential backoff with full jitter on tokio's clock.
//! * [`wallet`] — the mnemonic from a file or an environment variable, or an encrypted keyring.
//! * [`network`] — `mainnet`, `testnet`, `devnet` or a URL.
//! * [`types`] — the domain types of the trait's signatures (state filters).
//! * [`gateway`] — the provider gateway client (manifest, lease status; mTLS or JWT).
//! * [`fake`] — [`fake::FakeChain`] and [`fake::FakeGateway`], in-memory fakes of the two
//!   traits for fast reconciler tests.

pub mod batch;
pub mod fake;
pub mod gateway;
pub mod network;
pub mod providers;
mod reads;
pub mod retry;
pub mod rpc;
pub mod types;
pub mod wallet;

#[cfg(test)]
mod encoding_tests;

use async_trait::async_trait;

use crate::akash::proto::base::deposit::v1::Deposit;
use crate::akash::proto::cert::v1 as cert;
use crate::akash::proto::deployment::{v1 as dv1, v1beta4 as dv1beta4};
use crate::akash::proto::escrow::v1 as escrow;
use crate::akash::proto::market::{v1 as mv1, v1beta5 as mv1beta5};
use crate::akash::proto::provider::v1beta4 as provider;
use crate::akash::proto::{bme::v1 as bme, AkashEvent, Any, Coin, Event, PageRequest};

pub use batch::{BatchConfig, Batcher, MsgOutcome, TxSubmitter};
pub use network::Network;
pub use providers::{GatewayPool, ProviderGateway};
pub use rpc::{RpcChain, RpcConfig};
pub use types::{CertificateStateFilter, DeploymentStateFilter, UnknownStateFilter};

/// The memo every af-operator transaction carries.
pub fn memo() -> String {
    format!("af-operator/{}", env!("CARGO_PKG_VERSION"))
}

/// Why a chain call failed. Never carries secrets.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    /// The chain refused the tx or the query (CheckTx, DeliverTx, Simulate or a query error).
    #[error("chain error (codespace {codespace:?}, code {code}): {log}")]
    Chain {
        /// The module that refused (`sdk`, `deployment`, ...).
        codespace: String,
        /// Its error code (`sdk` 32 = account sequence mismatch, 5 = insufficient funds, ...).
        code: u32,
        /// The chain's message.
        log: String,
    },
    /// No answer within the deadline.
    #[error("timeout: {0}")]
    Timeout(String),
    /// The RPC endpoints could not be reached or answered garbage.
    #[error("RPC transport error: {0}")]
    Transport(String),
    /// The object does not exist on chain.
    #[error("not found: {0}")]
    NotFound(String),
    /// A write was broadcast (or may have been: the broadcast itself timed out) but is not
    /// known to be in a block: the confirmation deadline passed or the RPC failed while
    /// waiting. It must not be sent again blindly: ask [`AkashChain::tx`] with `hash` until
    /// it is found, or until the chain's height passes `timeout_height`, after which the tx
    /// provably never executes (`sdk` code 30) and sending a new one is safe.
    #[error(
        "tx {hash} is not confirmed yet ({reason}); it may land until height {timeout_height}"
    )]
    Pending {
        /// The tx hash, upper-case hex.
        hash: String,
        /// The caller's message's index in that tx (batched writes share a tx).
        msg_index: u32,
        /// The last height the tx can be included at (0: no timeout height).
        timeout_height: u64,
        /// Why it is not confirmed.
        reason: String,
    },
    /// The tx went through but did not have the expected effect (no confirming event).
    #[error("unconfirmed effect: {0}")]
    Unconfirmed(String),
    /// A batch would need more gas than allowed (the batcher splits it).
    #[error("tx needs {gas} gas, more than the maximum {max}")]
    TooMuchGas {
        /// Gas the tx needs (after adjustment).
        gas: u64,
        /// The maximum.
        max: u64,
    },
    /// Bad input or local failure (signing, encoding, configuration).
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// A chain error from its parts.
    pub fn chain(codespace: impl Into<String>, code: u32, log: impl Into<String>) -> ClientError {
        ClientError::Chain {
            codespace: codespace.into(),
            code,
            log: log.into(),
        }
    }

    /// The hash of the tx a [`ClientError::Pending`] write may still land in.
    pub fn pending_hash(&self) -> Option<&str> {
        match self {
            ClientError::Pending { hash, .. } => Some(hash),
            _ => None,
        }
    }

    /// Whether this is `sdk` code 32, account sequence mismatch.
    pub fn is_sequence_mismatch(&self) -> bool {
        matches!(self, ClientError::Chain { codespace, code: 32, .. } if codespace == "sdk" || codespace.is_empty())
    }

    /// Whether trying the same call again later may succeed: the network (transport,
    /// timeout), a busy or racing chain (`sdk` 19 already in the mempool cache, 20 mempool
    /// full, 32 sequence mismatch, 11 out of gas since the retry simulates again, 30 and 42
    /// an expired tx, which provably did not execute, 36 conflict, 39 I/O). Refusals
    /// (insufficient funds or fee, unauthorized, invalid input, a module's rule, not found)
    /// are permanent: the same call fails the same way until something else changes.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Timeout(_) | ClientError::Transport(_) | ClientError::Pending { .. } => {
                true
            }
            ClientError::Chain {
                codespace, code, ..
            } => is_sdk(codespace) && matches!(code, 11 | 19 | 20 | 30 | 32 | 36 | 39 | 42),
            ClientError::NotFound(_)
            | ClientError::Unconfirmed(_)
            | ClientError::TooMuchGas { .. }
            | ClientError::Invalid(_) => false,
        }
    }

    /// A short, bounded word for conditions, events and metric labels:
    ///
    /// | category | what |
    /// |---|---|
    /// | `chain-unavailable` | the RPC endpoints cannot be reached or answer garbage; `sdk` 39 |
    /// | `timeout` | no answer within the deadline |
    /// | `pending` | a write is broadcast but not confirmed: ask [`AkashChain::tx`] (transient, not to be resent) |
    /// | `sequence` | `sdk` 32, account sequence mismatch |
    /// | `mempool-full` | `sdk` 20 |
    /// | `duplicate` | `sdk` 19, the tx is already in the mempool cache |
    /// | `out-of-gas` | `sdk` 11 |
    /// | `expired` | `sdk` 30 (timeout height) or 42 (timeout timestamp) passed |
    /// | `conflict` | `sdk` 36 |
    /// | `insufficient-funds` | `sdk` 5 |
    /// | `insufficient-fee` | `sdk` 13 |
    /// | `unauthorized` | `sdk` 4 (signature, signer) and 8 (public key) |
    /// | `not-found` | the object does not exist; `sdk` 9 (unknown address), 22, 38 |
    /// | `invalid` | bad input or local failure; `sdk` 2, 3, 7, 10, 12, 14–18, 21, 25–29, 31, 33–35, 41; a tx over the gas maximum |
    /// | `rejected` | any other refusal by the chain (a module's rule: `deployment`, `market`, ...) |
    /// | `unconfirmed` | the tx executed without the confirming event |
    pub fn category(&self) -> &'static str {
        match self {
            ClientError::Timeout(_) => "timeout",
            ClientError::Pending { .. } => "pending",
            ClientError::Transport(_) => "chain-unavailable",
            ClientError::NotFound(_) => "not-found",
            ClientError::Unconfirmed(_) => "unconfirmed",
            ClientError::TooMuchGas { .. } | ClientError::Invalid(_) => "invalid",
            ClientError::Chain {
                codespace, code, ..
            } if is_sdk(codespace) => match code {
                4 | 8 => "unauthorized",
                5 => "insufficient-funds",
                9 | 22 | 38 => "not-found",
                11 => "out-of-gas",
                13 => "insufficient-fee",
                19 => "duplicate",
                20 => "mempool-full",
                30 | 42 => "expired",
                32 => "sequence",
                36 => "conflict",
                39 => "chain-unavailable",
                2 | 3 | 7 | 10 | 12 | 14..=18 | 21 | 25..=29 | 31 | 33..=35 | 41 => "invalid",
                _ => "rejected",
            },
            ClientError::Chain { .. } => "rejected",
        }
    }
}

/// Whether `codespace` is the SDK's root codespace (CometBFT leaves it empty for some).
fn is_sdk(codespace: &str) -> bool {
    codespace == "sdk" || codespace.is_empty()
}

/// Result of client calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// What a write did: where it landed and the events (of this message) that prove it.
#[derive(Debug, Clone, PartialEq)]
pub struct TxReceipt {
    /// Tx hash, upper-case hex (as explorers print it).
    pub hash: String,
    /// Block height of inclusion.
    pub height: i64,
    /// Gas used by the whole tx (shared with batch neighbours).
    pub gas_used: u64,
    /// Gas wanted by the whole tx.
    pub gas_wanted: u64,
    /// Index of this message in the tx.
    pub msg_index: u32,
    /// The events this message emitted (filtered by `msg_index`).
    pub events: Vec<Event>,
    /// The Akash typed events among them, decoded.
    pub typed_events: Vec<AkashEvent>,
}

impl TxReceipt {
    /// The first typed event matching `pick`.
    pub fn find<T>(&self, pick: impl Fn(&AkashEvent) -> Option<T>) -> Option<T> {
        self.typed_events.iter().find_map(pick)
    }

    /// The receipt of message `index` alone, from a receipt of the whole tx (what
    /// [`AkashChain::tx`] returns): the events tagged with that `msg_index`.
    pub fn message(&self, index: u32) -> TxReceipt {
        let events: Vec<Event> = self
            .events
            .iter()
            .filter(|e| e.msg_index() == Some(index))
            .cloned()
            .collect();
        let typed_events = events
            .iter()
            .filter_map(|e| AkashEvent::decode(e).ok().flatten())
            .collect();
        TxReceipt {
            msg_index: index,
            events,
            typed_events,
            ..self.clone()
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Key of the next page (`None`: last page).
    pub next_key: Option<Vec<u8>>,
    /// Total, when the node counted it.
    pub total: Option<u64>,
}

/// Where a mint of ACT stands in the BME ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MintState {
    /// Waiting for its epoch.
    Pending,
    /// Executed: the ACT was minted.
    Executed,
    /// Canceled: nothing was minted (the burned AKT is returned).
    Canceled,
}

/// One ACT mint (`MsgMintACT`) as the BME ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActMint {
    /// Who asked.
    pub source: String,
    /// The height of the request.
    pub height: i64,
    /// Its sequence within the block.
    pub sequence: i64,
    /// Where it stands.
    pub state: MintState,
    /// `uakt` burned (or to burn).
    pub burned_uakt: u128,
    /// `uact` minted (0 until executed).
    pub minted_uact: u128,
}

impl ActMint {
    /// The rate it executed at, in uact per uakt.
    pub fn rate(&self) -> Option<f64> {
        (self.state == MintState::Executed && self.burned_uakt > 0 && self.minted_uact > 0)
            .then(|| self.minted_uact as f64 / self.burned_uakt as f64)
    }
}

/// An account as the auth module has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// Address.
    pub address: String,
    /// Account number.
    pub account_number: u64,
    /// Next sequence.
    pub sequence: u64,
    /// Whether a public key is known on chain (the account has sent a tx).
    pub has_pub_key: bool,
}

/// The chain, in Akash's words. The reconciler depends only on this trait.
#[async_trait]
pub trait AkashChain: Send + Sync {
    /// The signer's (tenant's) address.
    fn owner(&self) -> &str;
    /// The chain id.
    fn chain_id(&self) -> &str;

    /// `MsgCreateDeployment` with a client-chosen `dseq`; confirmed by
    /// `EventDeploymentCreated` with the same id.
    async fn create_deployment(
        &self,
        dseq: u64,
        groups: Vec<dv1beta4::GroupSpec>,
        hash: Vec<u8>,
        deposit: Coin,
    ) -> Result<TxReceipt>;
    /// `MsgUpdateDeployment` (new manifest hash); confirmed by `EventDeploymentUpdated`.
    async fn update_deployment(&self, dseq: u64, hash: Vec<u8>) -> Result<TxReceipt>;
    /// `MsgCloseDeployment`; confirmed by `EventDeploymentClosed`.
    async fn close_deployment(&self, dseq: u64) -> Result<TxReceipt>;
    /// `MsgCloseGroup`; confirmed by `EventGroupClosed`.
    async fn close_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt>;
    /// `MsgPauseGroup`; confirmed by `EventGroupPaused`.
    async fn pause_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt>;
    /// `MsgStartGroup`; confirmed by `EventGroupStarted`.
    async fn start_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt>;
    /// `MsgCreateLease` from a bid (its id includes `bseq`); confirmed by `EventLeaseCreated`.
    async fn create_lease(&self, bid: mv1::BidID) -> Result<TxReceipt>;
    /// `MsgCloseLease` (reason `lease_closed_owner`); confirmed by `EventLeaseClosed`.
    async fn close_lease(&self, lease: mv1::LeaseID) -> Result<TxReceipt>;
    /// `MsgAccountDeposit` into a deployment's escrow account, from the signer's balance.
    async fn deposit(&self, deployment: dv1::DeploymentID, amount: Coin) -> Result<TxReceipt>;
    /// `MsgMintACT`: burn `uakt` for `uact` (settled at the next mint epoch).
    async fn mint_act(&self, coins_to_burn: Coin) -> Result<TxReceipt>;
    /// `MsgCreateCertificate`: publish the tenant's client certificate (PEM cert, PEM pubkey).
    async fn publish_certificate(
        &self,
        cert_pem: Vec<u8>,
        pubkey_pem: Vec<u8>,
    ) -> Result<TxReceipt>;
    /// `MsgRevokeCertificate` by serial (decimal).
    async fn revoke_certificate(&self, serial: String) -> Result<TxReceipt>;

    /// Deployments of `owner` in `state`, one page.
    async fn deployments(
        &self,
        owner: &str,
        state: DeploymentStateFilter,
        page: Option<PageRequest>,
    ) -> Result<Page<dv1beta4::QueryDeploymentResponse>>;
    /// One deployment with its groups and escrow account; [`ClientError::NotFound`] if absent.
    async fn deployment(&self, id: &dv1::DeploymentID)
        -> Result<dv1beta4::QueryDeploymentResponse>;
    /// Orders matching the filters, one page.
    async fn orders(
        &self,
        filters: mv1beta5::OrderFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::Order>>;
    /// Bids matching the filters (an order's: owner, dseq, gseq, oseq, state `open`), one page.
    async fn bids(
        &self,
        filters: mv1beta5::BidFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::QueryBidResponse>>;
    /// Leases matching the filters (state `active`, ...), one page.
    async fn leases(
        &self,
        filters: mv1::LeaseFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::QueryLeaseResponse>>;
    /// A provider (host_uri, attributes); [`ClientError::NotFound`] if absent.
    async fn provider(&self, owner: &str) -> Result<provider::Provider>;
    /// Every provider registered on chain, one page.
    async fn providers(&self, page: Option<PageRequest>) -> Result<Page<provider::Provider>>;
    /// ACT mints in the BME ledger, newest first, at most `limit`: those asked by `source`
    /// (every one when `None`).
    async fn act_mints(&self, source: Option<&str>, limit: u64) -> Result<Vec<ActMint>>;
    /// The BME's minimum blocks per mint epoch (a mint executes at an epoch's end).
    async fn mint_epoch_blocks(&self) -> Result<i64>;
    /// The attributes auditors signed for the provider `owner`, one entry per auditor.
    async fn provider_audits(
        &self,
        owner: &str,
    ) -> Result<Vec<crate::akash::proto::audit::v1::AuditedProvider>>;
    /// Certificates of `owner` in `state` (only the one with `serial`, decimal, when given).
    async fn certificates(
        &self,
        owner: &str,
        serial: Option<&str>,
        state: CertificateStateFilter,
    ) -> Result<Vec<cert::CertificateResponse>>;
    /// All balances of `address`.
    async fn balances(&self, address: &str) -> Result<Vec<Coin>>;
    /// The auth account of `address`; [`ClientError::NotFound`] if it has none.
    async fn account(&self, address: &str) -> Result<AccountInfo>;
    /// The latest block height.
    async fn latest_height(&self) -> Result<i64>;
    /// The tx with `hash` (hex, either case) once it is in a block: its receipt with the
    /// events of all its messages (narrow with [`TxReceipt::message`]); `None` while it is not
    /// (yet) in a block. A tx that is in a block but failed (a refusal at delivery, or `sdk`
    /// code 30 when it arrived past its timeout height) is that [`ClientError::Chain`] error.
    async fn tx(&self, hash: &str) -> Result<Option<TxReceipt>>;
}

/// The 32 bytes of a tx hash in hex (either case).
pub fn parse_tx_hash(hash: &str) -> Result<[u8; 32]> {
    let bytes = hex::decode(hash.trim())
        .map_err(|e| ClientError::Invalid(format!("tx hash {hash:?}: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| ClientError::Invalid(format!("tx hash {hash:?}: expected 32 bytes")))
}

/// The tenant messages, built as Akash's handlers expect them.
pub mod msgs {
    use super::*;
    use crate::akash::proto::to_any;

    /// `MsgCreateDeployment` (deposit from the owner's balance).
    pub fn create_deployment(
        owner: &str,
        dseq: u64,
        groups: Vec<dv1beta4::GroupSpec>,
        hash: Vec<u8>,
        deposit: Coin,
    ) -> Any {
        to_any(&dv1beta4::MsgCreateDeployment {
            id: dv1::DeploymentID::new(owner, dseq),
            groups,
            hash,
            deposit: Deposit::from_balance(deposit),
            reclamation: None,
        })
    }

    /// `MsgUpdateDeployment`.
    pub fn update_deployment(owner: &str, dseq: u64, hash: Vec<u8>) -> Any {
        to_any(&dv1beta4::MsgUpdateDeployment {
            id: dv1::DeploymentID::new(owner, dseq),
            hash,
        })
    }

    /// `MsgCloseDeployment`.
    pub fn close_deployment(owner: &str, dseq: u64) -> Any {
        to_any(&dv1beta4::MsgCloseDeployment {
            id: dv1::DeploymentID::new(owner, dseq),
        })
    }

    /// `MsgCloseGroup`.
    pub fn close_group(owner: &str, dseq: u64, gseq: u32) -> Any {
        to_any(&dv1beta4::MsgCloseGroup {
            id: dv1::DeploymentID::new(owner, dseq).group(gseq),
        })
    }

    /// `MsgPauseGroup`.
    pub fn pause_group(owner: &str, dseq: u64, gseq: u32) -> Any {
        to_any(&dv1beta4::MsgPauseGroup {
            id: dv1::DeploymentID::new(owner, dseq).group(gseq),
        })
    }

    /// `MsgStartGroup`.
    pub fn start_group(owner: &str, dseq: u64, gseq: u32) -> Any {
        to_any(&dv1beta4::MsgStartGroup {
            id: dv1::DeploymentID::new(owner, dseq).group(gseq),
        })
    }

    /// `MsgCreateLease`.
    pub fn create_lease(bid: mv1::BidID) -> Any {
        to_any(&mv1beta5::MsgCreateLease { bid_id: bid })
    }

    /// `MsgCloseLease` by the owner.
    pub fn close_lease(lease: mv1::LeaseID) -> Any {
        to_any(&mv1beta5::MsgCloseLease {
            id: lease,
            reason: mv1::LeaseClosedReason::Owner as i32,
        })
    }

    /// `MsgAccountDeposit` into a deployment's escrow account from the signer's balance.
    pub fn deposit(signer: &str, deployment: &dv1::DeploymentID, amount: Coin) -> Any {
        to_any(&escrow::MsgAccountDeposit {
            signer: signer.to_owned(),
            id: deployment.escrow_account(),
            deposit: Deposit::from_balance(amount),
        })
    }

    /// `MsgMintACT` to the owner itself.
    pub fn mint_act(owner: &str, coins_to_burn: Coin) -> Any {
        to_any(&bme::MsgMintACT {
            owner: owner.to_owned(),
            to: owner.to_owned(),
            coins_to_burn,
        })
    }

    /// `MsgCreateCertificate`.
    pub fn create_certificate(owner: &str, cert_pem: Vec<u8>, pubkey_pem: Vec<u8>) -> Any {
        to_any(&cert::MsgCreateCertificate {
            owner: owner.to_owned(),
            cert: cert_pem,
            pubkey: pubkey_pem,
        })
    }

    /// `MsgRevokeCertificate`.
    pub fn revoke_certificate(owner: &str, serial: String) -> Any {
        to_any(&cert::MsgRevokeCertificate {
            id: cert::CertificateID {
                owner: owner.to_owned(),
                serial,
            },
        })
    }
}

/// A human-readable JSON view of a tenant message (for `--dry-run` and logs): type URL plus
/// its fields. Unknown type URLs show the raw bytes in base64.
pub fn msg_json(any: &Any) -> serde_json::Value {
    use crate::akash::proto::TxMessage;
    use base64::Engine as _;
    use serde_json::json;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let coin = |c: &Coin| json!({"denom": c.denom, "amount": c.amount});
    let body = match TxMessage::from_any(any) {
        Ok(Some(TxMessage::CreateDeployment(m))) => json!({
            "id": {"owner": m.id.owner, "dseq": m.id.dseq.to_string()},
            "groups": m.groups.iter().map(|g| json!({"name": g.name, "resources": g.resources.len()})).collect::<Vec<_>>(),
            "hash": b64(&m.hash),
            "deposit": {"amount": coin(&m.deposit.amount), "sources": m.deposit.sources},
        }),
        Ok(Some(TxMessage::UpdateDeployment(m))) => json!({
            "id": {"owner": m.id.owner, "dseq": m.id.dseq.to_string()}, "hash": b64(&m.hash),
        }),
        Ok(Some(TxMessage::CloseDeployment(m))) => {
            json!({"id": {"owner": m.id.owner, "dseq": m.id.dseq.to_string()}})
        }
        Ok(Some(TxMessage::CloseGroup(dv1beta4::MsgCloseGroup { id })))
        | Ok(Some(TxMessage::PauseGroup(dv1beta4::MsgPauseGroup { id })))
        | Ok(Some(TxMessage::StartGroup(dv1beta4::MsgStartGroup { id }))) => {
            json!({"id": {"owner": id.owner, "dseq": id.dseq.to_string(), "gseq": id.gseq}})
        }
        Ok(Some(TxMessage::CreateLease(m))) => json!({"bid_id": m.bid_id.to_string()}),
        Ok(Some(TxMessage::CloseLease(m))) => {
            json!({"id": m.id.to_string(), "reason": m.reason})
        }
        Ok(Some(TxMessage::AccountDeposit(m))) => json!({
            "signer": m.signer,
            "id": {"scope": m.id.scope, "xid": m.id.xid},
            "deposit": {"amount": coin(&m.deposit.amount), "sources": m.deposit.sources},
        }),
        Ok(Some(TxMessage::MintAct(m))) => json!({
            "owner": m.owner, "to": m.to, "coins_to_burn": coin(&m.coins_to_burn),
        }),
        Ok(Some(TxMessage::CreateCertificate(m))) => json!({
            "owner": m.owner,
            "cert": String::from_utf8_lossy(&m.cert),
            "pubkey": String::from_utf8_lossy(&m.pubkey),
        }),
        Ok(Some(TxMessage::RevokeCertificate(m))) => {
            json!({"id": {"owner": m.id.owner, "serial": m.id.serial}})
        }
        _ => json!({"value_base64": b64(&any.value)}),
    };
    json!({"@type": any.type_url, "value": body})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, with the sdk codes that matter: (error, transient, category).
    fn table() -> Vec<(ClientError, bool, &'static str)> {
        let sdk = |code| ClientError::chain("sdk", code, "x");
        vec![
            (ClientError::Timeout("t".into()), true, "timeout"),
            (
                ClientError::Transport("t".into()),
                true,
                "chain-unavailable",
            ),
            (
                ClientError::Pending {
                    hash: "AB".into(),
                    msg_index: 0,
                    timeout_height: 10,
                    reason: "r".into(),
                },
                true,
                "pending",
            ),
            (ClientError::NotFound("n".into()), false, "not-found"),
            (ClientError::Unconfirmed("u".into()), false, "unconfirmed"),
            (ClientError::TooMuchGas { gas: 2, max: 1 }, false, "invalid"),
            (ClientError::Invalid("i".into()), false, "invalid"),
            (sdk(32), true, "sequence"),
            (ClientError::chain("", 32, "x"), true, "sequence"),
            (sdk(20), true, "mempool-full"),
            (sdk(19), true, "duplicate"),
            (sdk(11), true, "out-of-gas"),
            (sdk(30), true, "expired"),
            (sdk(42), true, "expired"),
            (sdk(36), true, "conflict"),
            (sdk(39), true, "chain-unavailable"),
            (sdk(5), false, "insufficient-funds"),
            (sdk(13), false, "insufficient-fee"),
            (sdk(4), false, "unauthorized"),
            (sdk(8), false, "unauthorized"),
            (sdk(9), false, "not-found"),
            (sdk(38), false, "not-found"),
            (sdk(2), false, "invalid"),
            (sdk(18), false, "invalid"),
            (sdk(21), false, "invalid"),
            (sdk(1), false, "rejected"),
            (
                ClientError::chain("deployment", 2, "deployment exists"),
                false,
                "rejected",
            ),
            // A module's code 32 or 5 is not the sdk's.
            (ClientError::chain("market", 32, "x"), false, "rejected"),
            (ClientError::chain("escrow", 5, "x"), false, "rejected"),
        ]
    }

    #[test]
    fn every_variant_is_classified() {
        for (err, transient, category) in table() {
            assert_eq!(err.is_transient(), transient, "{err:?}");
            assert_eq!(err.category(), category, "{err:?}");
        }
    }

    #[test]
    fn categories_are_short_bounded_words() {
        for (err, _, _) in table() {
            let c = err.category();
            assert!(
                !c.is_empty()
                    && c.len() <= 20
                    && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{c:?}"
            );
        }
    }
}
