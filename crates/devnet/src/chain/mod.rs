//! The devnet's chain state machine: bank and auth accounts, and Akash's deployment, market,
//! escrow, cert, provider, audit and bme modules, with mainnet's handler rules.
//!
//! Pure and deterministic: no I/O, no clocks, no randomness. The caller (the RPC server)
//! verifies signatures, charges fees ([`Chain::deduct_fee`]), checks and bumps sequences, then
//! calls [`Chain::deliver`] with a tx's messages and [`Chain::end_block`] once per block.
//! Entities are kept in ordered maps whose key order is the node's store order, so queries
//! paginate as the SDK does.
//!
//! Escrow settles in every [`Chain::end_block`]. The node settles lazily (on withdraw,
//! deposit, lease or deployment close; its escrow EndBlocker is empty), with the same
//! arithmetic, so balances agree at every settlement; only the block at which an overdraft
//! shows can be earlier here.
//!
//! Amounts: bank balances are integers (`math.Int`); escrow funds, rates and payment balances
//! are `LegacyDec` values held as integers scaled by 10^18 (`u128`), so 18 decimal places are
//! exact, as in Go.

mod handlers;
mod query;
mod serde_map;
#[cfg(test)]
mod tests;

use af_akash::proto::events::{encode, Event, EventAttribute, TypedEvent};
use af_akash::proto::{Coin, TxMessage};
use af_akash::sdl::GroupSpec;
use imbl::OrdMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use query::QueryError;

/// The staking and fee denomination.
pub const UAKT: &str = "uakt";
/// Akash Compute Token, the only denomination new deployments are priced and funded in.
pub const UACT: &str = "uact";
/// 10^18: one unit of a `LegacyDec`.
pub const DEC_SCALE: u128 = 1_000_000_000_000_000_000;

/// A failed tx, as the node reports it: `codespace`, `code` and a human-readable `log`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{codespace} error {code}: {log}")]
pub struct TxError {
    /// Module that failed (`sdk`, `deployment`, `market`, `escrow`, ...).
    pub codespace: String,
    /// Registered error code within the codespace.
    pub code: u32,
    /// What went wrong.
    pub log: String,
}

impl TxError {
    /// An error in `codespace` with `code`.
    pub fn new(codespace: &str, code: u32, log: impl Into<String>) -> TxError {
        TxError {
            codespace: codespace.to_owned(),
            code,
            log: log.into(),
        }
    }

    /// `sdk` code 4, unauthorized.
    pub fn unauthorized(log: impl Into<String>) -> TxError {
        TxError::new("sdk", 4, log)
    }

    /// `sdk` code 5, insufficient funds.
    pub fn insufficient_funds(log: impl Into<String>) -> TxError {
        TxError::new("sdk", 5, log)
    }

    /// `sdk` code 18, invalid request.
    pub fn invalid_request(log: impl Into<String>) -> TxError {
        TxError::new("sdk", 18, log)
    }
}

/// Tunable rules; the defaults are mainnet's (v2.0.0+) where known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Deployment `min_deposits` (mainnet: 500000uact and 500000uakt).
    pub deployment_min_deposits: Vec<(String, u128)>,
    /// Market `bid_min_deposits` (default 500000uakt and 500000uact, as chain-sdk
    /// `market/v1beta5/params.go`): a bid's deposit must be in one of these denominations
    /// and at least the amount; empty means bids need no deposit.
    pub bid_min_deposits: Vec<(String, u128)>,
    /// Market `order_max_bids`.
    pub order_max_bids: u32,
    /// Blocks in a bme epoch: pending mints settle at the first block whose height is a
    /// multiple of this.
    pub bme_epoch_blocks: i64,
    /// uact minted per uakt burned, scaled by 10^18.
    pub bme_act_per_akt: u128,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            deployment_min_deposits: vec![(UACT.to_owned(), 500_000), (UAKT.to_owned(), 500_000)],
            bid_min_deposits: vec![(UAKT.to_owned(), 500_000), (UACT.to_owned(), 500_000)],
            order_max_bids: 20,
            bme_epoch_blocks: 10,
            bme_act_per_akt: DEC_SCALE,
        }
    }
}

/// An auth account with its bank balances.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthAccount {
    /// Account number, assigned when the address first receives coins.
    pub number: u64,
    /// Next expected tx sequence.
    pub sequence: u64,
    /// Balances per denomination; zero balances are removed.
    pub balances: BTreeMap<String, u128>,
    /// The compressed secp256k1 public key (33 bytes), recorded from the account's first
    /// signed tx; `None` until then (as on mainnet).
    #[serde(default)]
    pub pub_key: Option<Vec<u8>>,
}

/// `(owner, dseq)`.
pub type DeploymentKey = (String, u64);
/// `(owner, dseq, gseq)`.
pub type GroupKey = (String, u64, u32);
/// `(owner, dseq, gseq, oseq)`.
pub type OrderKey = (String, u64, u32, u32);
/// `(owner, dseq, gseq, oseq, provider, bseq)`; leases share their bid's key.
pub type BidKey = (String, u64, u32, u32, String, u32);

/// A deployment (`akash.deployment.v1.Deployment` without its ID).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRec {
    /// `DeploymentState` value.
    pub state: i32,
    /// Manifest hash (32 bytes).
    pub hash: Vec<u8>,
    /// Creation height.
    pub created_at: i64,
}

/// A group (`akash.deployment.v1beta4.Group` without its ID).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRec {
    /// `GroupState` value.
    pub state: i32,
    /// The group as the tenant specified it.
    pub spec: GroupSpec,
    /// Creation height.
    pub created_at: i64,
}

/// An order (`akash.market.v1beta5.Order` without its ID; its spec is the group's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRec {
    /// `OrderState` value.
    pub state: i32,
    /// Creation height.
    pub created_at: i64,
}

/// A bid (`akash.market.v1beta5.Bid` without its ID).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidRec {
    /// `BidState` value.
    pub state: i32,
    /// Denomination of the price.
    pub denom: String,
    /// Price per block, scaled by 10^18.
    pub price: u128,
    /// Creation height.
    pub created_at: i64,
}

/// A lease (`akash.market.v1.Lease` without its ID).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRec {
    /// `LeaseState` value.
    pub state: i32,
    /// Denomination of the price.
    pub denom: String,
    /// Price per block, scaled by 10^18.
    pub price: u128,
    /// Creation height.
    pub created_at: i64,
    /// Height it closed at (0 while open).
    pub closed_on: i64,
    /// `LeaseClosedReason` value.
    pub reason: i32,
}

/// One deposit into an escrow account (`akash.escrow.types.v1.Depositor`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRec {
    /// Who paid.
    pub owner: String,
    /// Height of the deposit.
    pub height: i64,
    /// `akash.base.deposit.v1.Source` value.
    pub source: i32,
    /// What is left of it, scaled by 10^18.
    pub balance: u128,
    /// Its denomination (the account's, or uakt held as the node's AKT fallback).
    pub denom: String,
}

/// An escrow account (`akash.escrow.types.v1.Account`), holding one denomination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowAccountRec {
    /// `Scope` value.
    pub scope: i32,
    /// The scoped ID (`owner/dseq` or a bid's path).
    pub xid: String,
    /// Who owns it (the tenant, or the provider for a bid deposit).
    pub owner: String,
    /// `EscrowState` value.
    pub state: i32,
    /// The denomination.
    pub denom: String,
    /// Funds left in `denom`, scaled by 10^18.
    pub funds: u128,
    /// Funds in other denominations (uakt deposited into a uact account via
    /// AccountDeposit), scaled by 10^18. The node spends them only when BME halts; the
    /// devnet's BME never halts, so they are only refunded on close.
    #[serde(default)]
    pub other_funds: BTreeMap<String, u128>,
    /// Paid out to payments so far, scaled by 10^18.
    pub transferred: u128,
    /// Height of the last settlement.
    pub settled_at: i64,
    /// Deposits, oldest first.
    pub deposits: Vec<DepositRec>,
}

/// An escrow payment (`akash.escrow.types.v1.Payment`) out of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRec {
    /// Key of the account it draws from.
    pub account: String,
    /// `gseq/oseq/provider`.
    pub xid: String,
    /// The payee (provider).
    pub owner: String,
    /// `EscrowState` value.
    pub state: i32,
    /// Denomination.
    pub denom: String,
    /// Rate per block, scaled by 10^18.
    pub rate: u128,
    /// Earned and not yet withdrawn, scaled by 10^18.
    pub balance: u128,
    /// Withdrawn so far (integer units).
    pub withdrawn: u128,
    /// Owed but not paid because the account ran dry, scaled by 10^18.
    #[serde(default)]
    pub unsettled: u128,
}

/// A certificate (`akash.cert.v1.Certificate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertRec {
    /// `CertificateState` value.
    pub state: i32,
    /// PEM certificate, as given.
    pub cert: Vec<u8>,
    /// PEM public key, as given.
    pub pubkey: Vec<u8>,
}

/// A provider (`akash.provider.v1beta4.Provider` without its owner).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRec {
    /// Gateway URI.
    pub host_uri: String,
    /// Attributes as `(key, value)`.
    pub attributes: Vec<(String, String)>,
    /// `Info.email`.
    pub email: String,
    /// `Info.website`.
    pub website: String,
}

/// A MintACT waiting for its epoch, or settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintRec {
    /// Who burned.
    pub owner: String,
    /// Who receives the uact.
    pub to: String,
    /// uakt burned.
    pub burned: u128,
    /// uact minted (0 while pending).
    pub minted: u128,
    /// Height of the request.
    pub height: i64,
    /// Sequence within the chain.
    pub sequence: i64,
    /// Whether it has been executed.
    pub executed: bool,
}

/// The whole chain state. `Clone` is the snapshot [`Chain::deliver`] rolls back to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Rules.
    pub params: Params,
    /// Height of the last block processed.
    pub height: i64,
    /// Next account number.
    pub next_account_number: u64,
    /// Auth and bank accounts by address.
    pub accounts: OrdMap<String, AuthAccount>,
    /// Deployments.
    #[serde(with = "serde_map")]
    pub deployments: OrdMap<DeploymentKey, DeploymentRec>,
    /// Groups.
    #[serde(with = "serde_map")]
    pub groups: OrdMap<GroupKey, GroupRec>,
    /// Orders.
    #[serde(with = "serde_map")]
    pub orders: OrdMap<OrderKey, OrderRec>,
    /// Bids.
    #[serde(with = "serde_map")]
    pub bids: OrdMap<BidKey, BidRec>,
    /// Leases.
    #[serde(with = "serde_map")]
    pub leases: OrdMap<BidKey, LeaseRec>,
    /// Escrow accounts by key (`deployment/owner/dseq`, `bid/...`).
    pub escrow_accounts: OrdMap<String, EscrowAccountRec>,
    /// Escrow payments by key (`<account key>/gseq/oseq/provider`).
    pub escrow_payments: OrdMap<String, PaymentRec>,
    /// Certificates by `(owner, serial)`.
    #[serde(with = "serde_map")]
    pub certificates: OrdMap<(String, String), CertRec>,
    /// Providers by owner.
    pub providers: OrdMap<String, ProviderRec>,
    /// Audited attributes by `(owner, auditor)`.
    #[serde(with = "serde_map")]
    pub audits: OrdMap<(String, String), Vec<(String, String)>>,
    /// bme mint requests, in request order.
    pub mints: Vec<MintRec>,
}

/// Parses `math.Int` text (non-negative).
pub(crate) fn parse_int(text: &str) -> Option<u128> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The standard `message` event of a tx message.
fn message_event(type_url: &str, sender: &str, module: &str, msg_index: u32) -> Event {
    let attr = |key: &str, value: &str| EventAttribute {
        key: key.to_owned(),
        value: value.to_owned(),
        index: true,
    };
    Event {
        kind: "message".to_owned(),
        attributes: vec![
            attr("action", type_url),
            attr("sender", sender),
            attr("module", module),
            attr("msg_index", &msg_index.to_string()),
        ],
    }
}

/// Collects a handler's events, tagging each with the message index.
pub(crate) struct Emitter {
    msg_index: Option<u32>,
    events: Vec<Event>,
}

impl Emitter {
    pub(crate) fn new(msg_index: Option<u32>) -> Emitter {
        Emitter {
            msg_index,
            events: Vec::new(),
        }
    }

    pub(crate) fn emit<E: TypedEvent>(&mut self, event: E) {
        self.events.push(encode(&event, self.msg_index));
    }
}

impl Chain {
    /// An empty chain with `params`.
    pub fn new(params: Params) -> Chain {
        Chain {
            params,
            ..Chain::default()
        }
    }

    /// The account at `addr`, created (with the next account number) if missing.
    fn account_mut(&mut self, addr: &str) -> &mut AuthAccount {
        if !self.accounts.contains_key(addr) {
            let number = self.next_account_number;
            self.next_account_number += 1;
            self.accounts.insert(
                addr.to_owned(),
                AuthAccount {
                    number,
                    ..AuthAccount::default()
                },
            );
        }
        self.accounts.get_mut(addr).expect("just inserted")
    }

    /// Mints `coins` into `addr` (genesis funding, faucet).
    pub fn fund(&mut self, addr: &str, coins: &[(&str, u128)]) {
        let account = self.account_mut(addr);
        for (denom, amount) in coins {
            let balance = account.balances.entry((*denom).to_owned()).or_default();
            *balance = balance.saturating_add(*amount);
        }
        account.balances.retain(|_, v| *v > 0);
    }

    /// The balance of `addr` in `denom`.
    pub fn balance(&self, addr: &str, denom: &str) -> u128 {
        self.accounts
            .get(addr)
            .and_then(|a| a.balances.get(denom))
            .copied()
            .unwrap_or(0)
    }

    /// Credits `amount` of `denom` to `addr`.
    pub(crate) fn credit(&mut self, addr: &str, denom: &str, amount: u128) {
        if amount == 0 {
            return;
        }
        *self
            .account_mut(addr)
            .balances
            .entry(denom.to_owned())
            .or_default() += amount;
    }

    /// Debits `amount` of `denom` from `addr`, or fails with sdk code 5.
    pub(crate) fn debit(&mut self, addr: &str, denom: &str, amount: u128) -> Result<(), TxError> {
        let have = self.balance(addr, denom);
        if have < amount {
            return Err(TxError::insufficient_funds(format!(
                "spendable balance {have}{denom} is smaller than {amount}{denom}: insufficient funds"
            )));
        }
        if amount == 0 {
            return Ok(());
        }
        let account = self.account_mut(addr);
        let left = have - amount;
        if left == 0 {
            account.balances.remove(denom);
        } else {
            account.balances.insert(denom.to_owned(), left);
        }
        Ok(())
    }

    /// Moves `amount` of `denom` between accounts. `uact` is not transferable (send is
    /// disabled for it since v2.0.0).
    pub fn transfer(
        &mut self,
        from: &str,
        to: &str,
        denom: &str,
        amount: u128,
    ) -> Result<(), TxError> {
        if denom == UACT {
            return Err(TxError::new(
                "bank",
                5,
                format!("{denom} transfers are currently disabled"),
            ));
        }
        self.debit(from, denom, amount)?;
        self.credit(to, denom, amount);
        Ok(())
    }

    /// Charges a tx fee to `payer`: only `uakt` is accepted (sdk code 13 otherwise), and the
    /// payer must hold it (sdk code 5). As in the ante handler, the fee stays charged even
    /// if the tx's messages then fail.
    pub fn deduct_fee(&mut self, payer: &str, fee: &[Coin]) -> Result<(), TxError> {
        let mut total = 0u128;
        for coin in fee {
            let amount = parse_int(&coin.amount).ok_or_else(|| {
                TxError::new("sdk", 13, format!("invalid fee amount {:?}", coin.amount))
            })?;
            if coin.denom != UAKT && amount > 0 {
                return Err(TxError::new(
                    "sdk",
                    13,
                    format!(
                        "insufficient fee; fees must be paid in {UAKT}, got {}",
                        coin.denom
                    ),
                ));
            }
            total += amount;
        }
        let have = self.balance(payer, UAKT);
        if have < total {
            return Err(TxError::insufficient_funds(format!(
                "spendable balance {have}{UAKT} is smaller than {total}{UAKT}: insufficient funds"
            )));
        }
        self.debit(payer, UAKT, total)
    }

    /// Account number and next sequence of `addr`, if it exists.
    pub fn account(&self, addr: &str) -> Option<(u64, u64)> {
        self.accounts.get(addr).map(|a| (a.number, a.sequence))
    }

    /// Checks a tx's sequence against the account's (sdk code 32 on mismatch).
    pub fn check_sequence(&self, addr: &str, sequence: u64) -> Result<(), TxError> {
        let expected = self.accounts.get(addr).map(|a| a.sequence).unwrap_or(0);
        if expected != sequence {
            return Err(TxError::new(
                "sdk",
                32,
                format!(
                    "account sequence mismatch, expected {expected}, got {sequence}: incorrect account sequence"
                ),
            ));
        }
        Ok(())
    }

    /// Records the public key of `addr` (from its first signed tx); later calls keep the
    /// first key.
    pub fn set_pub_key(&mut self, addr: &str, pub_key: &[u8]) {
        let account = self.account_mut(addr);
        if account.pub_key.is_none() {
            account.pub_key = Some(pub_key.to_vec());
        }
    }

    /// Bumps the sequence of `addr` after an accepted tx.
    pub fn increment_sequence(&mut self, addr: &str) {
        self.account_mut(addr).sequence += 1;
    }

    /// Executes a tx's messages atomically: either all succeed and their events come back, or
    /// the state is left exactly as it was. Every message's signer must be `signer`.
    pub fn deliver(
        &mut self,
        height: i64,
        time: i64,
        signer: &str,
        msgs: &[TxMessage],
    ) -> Result<Vec<Event>, TxError> {
        self.deliver_checked(height, time, signer, msgs, |_| Ok(()))
    }

    /// [`Chain::deliver`], with `accept` judging the events before the changes are kept (the
    /// node's gas check): its error rolls the messages back too. A panicking handler is
    /// contained as the SDK's `runTx` does (code 111222), with the state rolled back.
    pub fn deliver_checked(
        &mut self,
        height: i64,
        time: i64,
        signer: &str,
        msgs: &[TxMessage],
        accept: impl FnOnce(&[Event]) -> Result<(), TxError>,
    ) -> Result<Vec<Event>, TxError> {
        if msgs.is_empty() {
            return Err(TxError::invalid_request(
                "must contain at least one message",
            ));
        }
        let snapshot = self.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let events = self.deliver_unchecked(height, time, signer, msgs)?;
            accept(&events)?;
            Ok(events)
        }))
        .unwrap_or_else(|_| {
            Err(TxError::new(
                "undefined",
                111_222,
                "panic in a message handler: panic",
            ))
        });
        if result.is_err() {
            *self = snapshot;
        }
        result
    }

    /// Runs the messages in order, stopping at the first failure (the caller rolls back).
    fn deliver_unchecked(
        &mut self,
        height: i64,
        time: i64,
        signer: &str,
        msgs: &[TxMessage],
    ) -> Result<Vec<Event>, TxError> {
        let mut events = Vec::new();
        for (i, msg) in msgs.iter().enumerate() {
            let index = i as u32;
            let result = if msg.signer() != signer {
                Err(TxError::unauthorized(format!(
                    "message {i} must be signed by {}, tx signer is {signer}",
                    msg.signer()
                )))
            } else {
                let mut emitter = Emitter::new(Some(index));
                self.handle(height, time, msg, &mut emitter)
                    .map(|module| (module, emitter.events))
            };
            match result {
                Ok((module, msg_events)) => {
                    events.push(message_event(&msg.type_url(), signer, module, index));
                    events.extend(msg_events);
                }
                Err(mut err) => {
                    err.log = format!("failed to execute message; message index: {i}: {}", err.log);
                    return Err(err);
                }
            }
        }
        Ok(events)
    }

    /// End of block `height`: escrow drawdown (closing leases whose account ran dry) and bme
    /// epoch settlement. Returns the block's events.
    pub fn end_block(&mut self, height: i64, _time: i64) -> Vec<Event> {
        let mut emitter = Emitter::new(None);
        self.height = height;
        self.drawdown(height, &mut emitter);
        self.settle_mints(height, &mut emitter);
        emitter.events
    }

    /// The state as JSON bytes; equal states give equal bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("chain state always serializes")
    }

    /// State from [`Chain::to_json`] bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Chain, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
