//! The running devnet chain: a mempool with CheckTx, a block producer, gas, Simulate, a tx
//! index and block history, and optional persistence of it all in a state directory.
//!
//! CheckTx works like CometBFT + the Cosmos SDK ante handler: it runs against a *check state*
//! (the committed state plus every tx already accepted into the mempool), so a client can send
//! several txs from one account back to back with sequences N, N+1, … before a block. Each
//! block delivers the whole mempool in arrival order (fee, sequence, public key, then the
//! messages atomically), runs `end_block`, and resets the check state.

pub mod gas;
pub mod rpc;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, watch};

use crate::chain::{Chain, TxError, UAKT};
use af_akash::keys::{address_from_pubkey, verify_signature};
use af_akash::proto::events::Event;
use af_akash::proto::{Coin, TxMessage};
use af_akash::tx::{decode_tx, tx_hash, DecodedTx};

/// How the node runs.
pub struct NodeConfig {
    /// Chain id (`af-devnet-1`).
    pub chain_id: String,
    /// Time between blocks.
    pub block_time: Duration,
    /// Minimum gas price in uakt (validators' default 0.0025); 0 disables the fee check.
    pub min_gas_price_uakt: f64,
    /// The genesis state (height 0).
    pub genesis: Chain,
    /// Genesis time, unix seconds.
    pub genesis_time_unix: i64,
}

/// CheckTx's answer (what `broadcast_tx_sync` returns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTxResult {
    /// 0 = accepted into the mempool.
    pub code: u32,
    /// Module of the error (`sdk`), empty on success.
    pub codespace: String,
    /// Error text, empty on success.
    pub log: String,
    /// The tx hash (SHA-256 of the raw bytes).
    pub hash: [u8; 32],
}

/// A committed block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Height (the first block is 1).
    pub height: i64,
    /// Block time, unix nanoseconds.
    pub time_unix_nanos: i64,
    /// Its txs' results, in block order.
    pub txs: Vec<TxOutcome>,
    /// Events of `end_block` (escrow, bme).
    pub end_block_events: Vec<Event>,
}

/// A delivered tx.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TxOutcome {
    /// SHA-256 of the raw bytes.
    pub hash: [u8; 32],
    /// The block.
    pub height: i64,
    /// Position in the block.
    pub index: u32,
    /// 0 = success.
    pub code: u32,
    /// Module of the error.
    pub codespace: String,
    /// Error text (empty on success).
    pub log: String,
    /// The tx's gas limit.
    pub gas_wanted: u64,
    /// Gas used (see [`gas`]).
    pub gas_used: u64,
    /// Events (empty when the tx failed).
    pub events: Vec<Event>,
    /// The raw tx.
    pub tx: Vec<u8>,
}

/// A block with the hashes the RPC shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredBlock {
    /// The block.
    pub info: Arc<BlockInfo>,
    /// Block hash.
    pub hash: [u8; 32],
    /// The previous block's hash (zero for the first block).
    pub last_block_hash: [u8; 32],
    /// The app hash in this block's header (the state after the previous block).
    pub app_hash: [u8; 32],
}

/// One account's view in the check state.
#[derive(Clone, Debug, Default)]
struct CheckAccount {
    next_sequence: u64,
    pending_fees: u128,
}

struct PendingTx {
    raw: Vec<u8>,
    hash: [u8; 32],
}

/// Everything behind the node's lock.
pub(crate) struct State {
    pub(crate) chain: Chain,
    check: HashMap<String, CheckAccount>,
    mempool: Vec<PendingTx>,
    mempool_hashes: HashSet<[u8; 32]>,
    pub(crate) blocks: Vec<StoredBlock>,
    tx_index: HashMap<[u8; 32], (usize, usize)>,
    pub(crate) app_hash: [u8; 32],
}

impl State {
    /// The block at `height`, if produced.
    pub(crate) fn block(&self, height: i64) -> Option<&StoredBlock> {
        let first = self.blocks.first()?.info.height;
        let i = usize::try_from(height.checked_sub(first)?).ok()?;
        self.blocks.get(i)
    }

    /// A committed tx by hash.
    pub(crate) fn tx(&self, hash: &[u8; 32]) -> Option<&TxOutcome> {
        let (b, t) = self.tx_index.get(hash)?;
        self.blocks.get(*b)?.info.txs.get(*t)
    }

    /// Txs waiting for a block.
    pub(crate) fn mempool_len(&self) -> usize {
        self.mempool.len()
    }

    /// Bytes of the txs waiting for a block.
    pub(crate) fn mempool_bytes(&self) -> usize {
        self.mempool.iter().map(|p| p.raw.len()).sum()
    }

    /// The latest height.
    pub(crate) fn height(&self) -> i64 {
        self.chain.height
    }
}

struct Inner {
    chain_id: String,
    block_time: Duration,
    min_gas_price: f64,
    genesis_time_unix: i64,
    state: RwLock<State>,
    paused: AtomicBool,
    blocks_tx: broadcast::Sender<Arc<BlockInfo>>,
    stop: watch::Sender<bool>,
    state_file: Option<PathBuf>,
    /// Serializes writers of the state file.
    persist_lock: std::sync::Mutex<()>,
}

/// The running chain. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("chain_id", &self.inner.chain_id)
            .field("height", &self.height())
            .finish_non_exhaustive()
    }
}

/// The parsed, stateless part of a tx.
struct ParsedTx {
    decoded: DecodedTx,
    signer: String,
    tx_pub_key: Option<Vec<u8>>,
    sequence: u64,
    msgs: Vec<TxMessage>,
    msg_lens: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Check,
    Simulate,
}

fn sdk(code: u32, log: impl Into<String>) -> TxError {
    TxError::new("sdk", code, log)
}

/// Decodes and checks what needs no state: one `SIGN_MODE_DIRECT` signer, known messages, all
/// signed by the same address.
fn parse_tx(raw: &[u8]) -> Result<ParsedTx, TxError> {
    parse_tx_with(raw, true)
}

/// [`parse_tx`]; Simulate accepts any sign mode (cosmjs simulates with
/// `SIGN_MODE_UNSPECIFIED` and an empty signature).
fn parse_tx_with(raw: &[u8], require_direct: bool) -> Result<ParsedTx, TxError> {
    let decoded = decode_tx(raw).map_err(|e| sdk(2, format!("{e}")))?;
    if decoded.body.messages.is_empty() {
        return Err(sdk(
            18,
            "must contain at least one message: invalid request",
        ));
    }
    let mut msgs = Vec::with_capacity(decoded.body.messages.len());
    let mut msg_lens = Vec::with_capacity(decoded.body.messages.len());
    for any in &decoded.body.messages {
        match TxMessage::from_any(any) {
            Ok(Some(m)) => {
                msg_lens.push(any.value.len());
                msgs.push(m);
            }
            Ok(None) => {
                return Err(sdk(
                    2,
                    format!(
                        "unable to resolve type URL {}: tx parse error",
                        any.type_url
                    ),
                ))
            }
            Err(e) => return Err(sdk(2, format!("{e}: tx parse error"))),
        }
    }
    let signers = decoded.signers().map_err(|e| sdk(2, format!("{e}")))?;
    if signers.len() != 1 || decoded.signatures.len() != 1 {
        return Err(sdk(
            4,
            format!(
                "wrong number of signers; expected 1, got {} (signatures: {}): unauthorized",
                signers.len(),
                decoded.signatures.len()
            ),
        ));
    }
    let signer_info = &signers[0];
    if require_direct && !signer_info.direct {
        return Err(sdk(
            4,
            "only SIGN_MODE_DIRECT signatures are supported: unauthorized",
        ));
    }
    let signer = msgs[0].signer().to_owned();
    if let Some(other) = msgs.iter().find(|m| m.signer() != signer) {
        return Err(sdk(
            4,
            format!(
                "wrong number of signers; expected 1, got 2 ({signer} and {}): unauthorized",
                other.signer()
            ),
        ));
    }
    if let Some(pk) = &signer_info.public_key {
        let addr = address_from_pubkey(pk).map_err(|e| sdk(8, format!("{e}: invalid pubkey")))?;
        if addr != signer {
            return Err(sdk(
                8,
                format!(
                    "pubKey does not match signer address {signer} with signer index: 0: invalid pubkey"
                ),
            ));
        }
    }
    Ok(ParsedTx {
        tx_pub_key: signer_info.public_key.clone(),
        sequence: signer_info.sequence,
        signer,
        decoded,
        msgs,
        msg_lens,
    })
}

/// Sum of the uakt in `fee`, or sdk code 13 for a malformed amount.
fn fee_uakt(fee: &[Coin]) -> Result<u128, TxError> {
    let mut total = 0u128;
    for c in fee {
        let amount = crate::chain::parse_int(&c.amount).ok_or_else(|| {
            sdk(
                13,
                format!("invalid fee amount {:?}: insufficient fee", c.amount),
            )
        })?;
        if c.denom != UAKT && amount > 0 {
            return Err(sdk(
                13,
                format!(
                    "insufficient fee; fees must be paid in {UAKT}, got {}",
                    c.denom
                ),
            ));
        }
        total = total.saturating_add(amount);
    }
    Ok(total)
}

fn coins_string(fee: &[Coin]) -> String {
    fee.iter()
        .map(|c| format!("{}{}", c.amount, c.denom))
        .collect::<Vec<_>>()
        .join(",")
}

fn now_unix_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// What `--state-dir` holds.
#[derive(Serialize, Deserialize)]
struct Persisted {
    chain_id: String,
    genesis_time_unix: i64,
    app_hash: [u8; 32],
    chain: Chain,
    blocks: Vec<StoredBlock>,
}

/// The largest tx accepted (CometBFT's default `max_tx_bytes`).
pub const MAX_TX_BYTES: usize = 1_048_576;
/// The most txs waiting for a block (CometBFT's default mempool `size`).
pub const MAX_MEMPOOL_TXS: usize = 5_000;

/// The name of the state file inside a state directory.
pub const STATE_FILE: &str = "devnet-state.json";

impl Node {
    /// Starts the node on the current tokio runtime, producing a block every `block_time`.
    pub fn start(cfg: NodeConfig) -> Node {
        Node::launch(cfg, None, None)
    }

    /// Like [`Node::start`], persisting to `state_dir` (after every block with txs or events,
    /// every 10 blocks otherwise, and at [`Node::shutdown`]). When `state_dir` already holds a
    /// state of the same chain id, it resumes from it and `cfg.genesis` is ignored.
    pub fn start_persistent(cfg: NodeConfig, state_dir: &Path) -> anyhow::Result<Node> {
        std::fs::create_dir_all(state_dir)?;
        let file = state_dir.join(STATE_FILE);
        let restored = match std::fs::read(&file) {
            Ok(bytes) => {
                let p: Persisted = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!("cannot read devnet state {}: {e}", file.display())
                })?;
                if p.chain_id != cfg.chain_id {
                    anyhow::bail!(
                        "{} holds chain {:?}, not {:?}",
                        file.display(),
                        p.chain_id,
                        cfg.chain_id
                    );
                }
                Some(p)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", file.display())),
        };
        let node = Node::launch(cfg, restored, Some(file));
        node.persist()?;
        Ok(node)
    }

    /// Whether `state_dir` already holds a devnet state.
    pub fn has_state(state_dir: &Path) -> bool {
        state_dir.join(STATE_FILE).is_file()
    }

    fn launch(cfg: NodeConfig, restored: Option<Persisted>, state_file: Option<PathBuf>) -> Node {
        let (blocks_tx, _) = broadcast::channel(256);
        let (stop, stop_rx) = watch::channel(false);
        let (chain, blocks, app_hash, genesis_time_unix) = match restored {
            Some(p) => (p.chain, p.blocks, p.app_hash, p.genesis_time_unix),
            None => {
                let app_hash: [u8; 32] = Sha256::digest(cfg.genesis.to_json()).into();
                (cfg.genesis, Vec::new(), app_hash, cfg.genesis_time_unix)
            }
        };
        let mut tx_index = HashMap::new();
        for (b, block) in blocks.iter().enumerate() {
            for (t, tx) in block.info.txs.iter().enumerate() {
                tx_index.insert(tx.hash, (b, t));
            }
        }
        let inner = Arc::new(Inner {
            chain_id: cfg.chain_id,
            block_time: cfg.block_time.max(Duration::from_millis(1)),
            min_gas_price: if cfg.min_gas_price_uakt.is_finite() {
                cfg.min_gas_price_uakt.max(0.0)
            } else {
                0.0
            },
            genesis_time_unix,
            state: RwLock::new(State {
                chain,
                check: HashMap::new(),
                mempool: Vec::new(),
                mempool_hashes: HashSet::new(),
                blocks,
                tx_index,
                app_hash,
            }),
            paused: AtomicBool::new(false),
            blocks_tx,
            stop,
            state_file,
            persist_lock: std::sync::Mutex::new(()),
        });
        tokio::spawn(run_blocks(inner.clone(), stop_rx));
        Node { inner }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.inner.chain_id
    }

    /// Genesis time, unix seconds.
    pub fn genesis_time_unix(&self) -> i64 {
        self.inner.genesis_time_unix
    }

    /// The block interval.
    pub fn block_time(&self) -> Duration {
        self.inner.block_time
    }

    /// The minimum gas price in uakt.
    pub fn min_gas_price_uakt(&self) -> f64 {
        self.inner.min_gas_price
    }

    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A consistent read of the latest committed state.
    pub fn read<R>(&self, f: impl FnOnce(&Chain) -> R) -> R {
        f(&self.read_state().chain)
    }

    /// A consistent read of the node's whole state (blocks, tx index, mempool).
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.read_state())
    }

    /// The latest block height (0 before the first block).
    pub fn height(&self) -> i64 {
        self.read_state().chain.height
    }

    /// Whether block production is paused.
    pub fn paused(&self) -> bool {
        self.inner.paused.load(Ordering::SeqCst)
    }

    /// Pauses or resumes block production.
    pub fn set_paused(&self, paused: bool) {
        self.inner.paused.store(paused, Ordering::SeqCst);
    }

    /// Blocks as they are committed.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BlockInfo>> {
        self.inner.blocks_tx.subscribe()
    }

    /// A committed tx.
    pub fn tx(&self, hash: &[u8; 32]) -> Option<TxOutcome> {
        self.read_state().tx(hash).cloned()
    }

    /// Waits until the tx with `hash` is in a block, up to `timeout`.
    pub async fn wait_tx(&self, hash: [u8; 32], timeout: Duration) -> Option<TxOutcome> {
        let mut rx = self.subscribe();
        if let Some(t) = self.tx(&hash) {
            return Some(t);
        }
        tokio::time::timeout(timeout, async {
            loop {
                match rx.recv().await {
                    Ok(block) => {
                        if let Some(t) = block.txs.iter().find(|t| t.hash == hash) {
                            return Some(t.clone());
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Some(t) = self.tx(&hash) {
                            return Some(t);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return self.tx(&hash),
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Funds `address` (the control API's faucet), outside any tx; visible at once.
    pub fn fund(&self, address: &str, coins: &[(String, u128)]) {
        let coins: Vec<(&str, u128)> = coins.iter().map(|(d, a)| (d.as_str(), *a)).collect();
        self.write_state().chain.fund(address, &coins);
    }

    /// CheckTx: validates `tx` against the check state and adds it to the mempool
    /// (`broadcast_tx_sync`).
    pub fn submit(&self, tx: Vec<u8>) -> CheckTxResult {
        let hash = tx_hash(&tx);
        let parsed = parse_tx(&tx);
        let mut st = self.write_state();
        let result = parsed.and_then(|p| {
            if tx.len() > MAX_TX_BYTES {
                return Err(sdk(
                    21,
                    format!(
                        "tx too large. Max size is {MAX_TX_BYTES}, but got {}",
                        tx.len()
                    ),
                ));
            }
            if st.mempool.len() >= MAX_MEMPOOL_TXS {
                return Err(sdk(
                    20,
                    format!(
                        "mempool is full: number of txs {} (max: {MAX_MEMPOOL_TXS})",
                        st.mempool.len()
                    ),
                ));
            }
            if st.mempool_hashes.contains(&hash) || st.tx_index.contains_key(&hash) {
                return Err(sdk(19, "tx already exists in cache"));
            }
            let (signer, seq, fee) = self.ante_check(&st, &p, tx.len(), Mode::Check)?;
            let entry = st.check.entry(signer).or_default();
            entry.next_sequence = seq + 1;
            entry.pending_fees = entry.pending_fees.saturating_add(fee);
            Ok(())
        });
        match result {
            Ok(()) => {
                st.mempool_hashes.insert(hash);
                st.mempool.push(PendingTx { raw: tx, hash });
                CheckTxResult {
                    code: 0,
                    codespace: String::new(),
                    log: String::new(),
                    hash,
                }
            }
            Err(e) => CheckTxResult {
                code: e.code,
                codespace: e.codespace,
                log: e.log,
                hash,
            },
        }
    }

    /// The ante checks of CheckTx and Simulate; returns the signer, its sequence and the uakt
    /// fee.
    fn ante_check(
        &self,
        st: &State,
        p: &ParsedTx,
        tx_len: usize,
        mode: Mode,
    ) -> Result<(String, u64, u128), TxError> {
        // CheckTx and Simulate run at the last committed height, as the SDK's check state.
        check_timeout_height(p, st.chain.height)?;
        let account = st.chain.accounts.get(&p.signer).ok_or_else(|| {
            sdk(
                9,
                format!("account {} not found: unknown address", p.signer),
            )
        })?;
        let pub_key = match (&p.tx_pub_key, &account.pub_key) {
            (Some(k), _) => Some(k.clone()),
            (None, Some(k)) => Some(k.clone()),
            (None, None) => None,
        };
        let fee = p.decoded.fee();
        let gas_limit = p.decoded.gas_limit();
        let uakt = fee_uakt(&fee)?;
        if mode == Mode::Check {
            if self.inner.min_gas_price > 0.0 {
                let required = (gas_limit as f64 * self.inner.min_gas_price).ceil() as u128;
                if uakt < required {
                    return Err(sdk(
                        13,
                        format!(
                            "insufficient fee; got: {} required: {required}{UAKT}",
                            coins_string(&fee)
                        ),
                    ));
                }
            }
            let ante = gas::ante_gas(tx_len);
            if gas_limit < ante {
                return Err(sdk(
                    11,
                    format!(
                        "out of gas in location: txSize; gasWanted: {gas_limit}, gasUsed: {ante}: out of gas"
                    ),
                ));
            }
        }
        let check = st.check.get(&p.signer);
        let expected = check.map_or(account.sequence, |c| c.next_sequence);
        if p.sequence != expected {
            return Err(sdk(
                32,
                format!(
                    "account sequence mismatch, expected {expected}, got {}: incorrect account sequence",
                    p.sequence
                ),
            ));
        }
        if mode == Mode::Check {
            let Some(pk) = pub_key else {
                return Err(sdk(
                    8,
                    format!("pubKey on account {} is not set: invalid pubkey", p.signer),
                ));
            };
            let doc = p
                .decoded
                .sign_doc_bytes(&self.inner.chain_id, account.number);
            if !verify_signature(&pk, &doc, &p.decoded.signatures[0]) {
                return Err(sdk(
                    4,
                    format!(
                        "signature verification failed; please verify account number ({}), sequence ({}) and chain-id ({}): unauthorized",
                        account.number, p.sequence, self.inner.chain_id
                    ),
                ));
            }
            let pending = check.map_or(0, |c| c.pending_fees);
            let have = st.chain.balance(&p.signer, UAKT).saturating_sub(pending);
            if have < uakt {
                return Err(sdk(
                    5,
                    format!(
                        "spendable balance {have}{UAKT} is smaller than {uakt}{UAKT}: insufficient funds"
                    ),
                ));
            }
        }
        Ok((p.signer.clone(), p.sequence, uakt))
    }

    /// `/cosmos.tx.v1beta1.Service/Simulate`: runs `tx` on a copy of the state without the
    /// signature and fee checks (as the SDK does); returns (gas wanted, gas used, events).
    pub fn simulate(&self, tx: &[u8]) -> Result<(u64, u64, Vec<Event>), TxError> {
        let p = parse_tx_with(tx, false)?;
        let mut chain = {
            let st = self.read_state();
            self.ante_check(&st, &p, tx.len(), Mode::Simulate)?;
            st.chain.clone()
        };
        let height = chain.height + 1;
        let time = now_unix_nanos() / 1_000_000_000;
        if let Some(pk) = &p.tx_pub_key {
            chain.set_pub_key(&p.signer, pk);
        }
        chain.increment_sequence(&p.signer);
        let events = chain.deliver(height, time, &p.signer, &p.msgs)?;
        let used = gas::ante_gas(tx.len()).saturating_add(gas::message_gas(&p.msg_lens, &events));
        Ok((p.decoded.gas_limit(), used, events))
    }

    /// Produces one block now (the block producer's step; tests may call it directly).
    pub fn produce_block(&self) -> Arc<BlockInfo> {
        let mut st = self.write_state();
        let st = &mut *st;
        let height = st.chain.height + 1;
        let last = st.blocks.last();
        let last_time = last.map_or(self.inner.genesis_time_unix * 1_000_000_000, |b| {
            b.info.time_unix_nanos
        });
        let last_block_hash = last.map_or([0; 32], |b| b.hash);
        let time = now_unix_nanos().max(last_time + 1);
        let time_secs = time / 1_000_000_000;
        let mempool = std::mem::take(&mut st.mempool);
        st.mempool_hashes.clear();
        st.check.clear();
        let mut txs = Vec::with_capacity(mempool.len());
        for (i, pending) in mempool.into_iter().enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            txs.push(deliver_tx(&mut st.chain, pending, height, time_secs, index));
        }
        let before_end = st.chain.clone();
        let end_block_events = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            st.chain.end_block(height, time_secs)
        })) {
            Ok(events) => events,
            Err(_) => {
                tracing::error!(height, "end_block panicked; its changes are dropped");
                st.chain = before_end;
                st.chain.height = height;
                Vec::new()
            }
        };
        let header_app_hash = st.app_hash;
        let mut h = Sha256::new();
        h.update(header_app_hash);
        for t in &txs {
            h.update(t.hash);
            h.update(t.code.to_be_bytes());
        }
        h.update(height.to_be_bytes());
        st.app_hash = h.finalize().into();
        let mut bh = Sha256::new();
        bh.update(self.inner.chain_id.as_bytes());
        bh.update(height.to_be_bytes());
        bh.update(time.to_be_bytes());
        bh.update(last_block_hash);
        bh.update(header_app_hash);
        for t in &txs {
            bh.update(t.hash);
        }
        let hash: [u8; 32] = bh.finalize().into();
        let info = Arc::new(BlockInfo {
            height,
            time_unix_nanos: time,
            txs,
            end_block_events,
        });
        let b = st.blocks.len();
        for (t, tx) in info.txs.iter().enumerate() {
            st.tx_index.insert(tx.hash, (b, t));
        }
        st.blocks.push(StoredBlock {
            info: info.clone(),
            hash,
            last_block_hash,
            app_hash: header_app_hash,
        });
        info
    }

    /// Writes the state file now (no-op without a state directory).
    pub fn persist(&self) -> anyhow::Result<()> {
        let Some(file) = &self.inner.state_file else {
            return Ok(());
        };
        let _writer = self
            .inner
            .persist_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bytes = {
            let st = self.read_state();
            #[derive(Serialize)]
            struct PersistedRef<'a> {
                chain_id: &'a str,
                genesis_time_unix: i64,
                app_hash: [u8; 32],
                chain: &'a Chain,
                blocks: &'a [StoredBlock],
            }
            serde_json::to_vec(&PersistedRef {
                chain_id: &self.inner.chain_id,
                genesis_time_unix: self.inner.genesis_time_unix,
                app_hash: st.app_hash,
                chain: &st.chain,
                blocks: &st.blocks,
            })?
        };
        write_atomic(file, &bytes)
    }

    /// Stops block production and writes the state file (if any).
    pub fn shutdown(&self) -> anyhow::Result<()> {
        self.inner.stop.send_replace(true);
        self.persist()
    }
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("json.{}.{n}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The SDK's `TxTimeoutHeightDecorator`: a tx whose non-zero `timeout_height` is below the
/// height it runs at is refused with `sdk` code 30, before the fee or the sequence are
/// touched. So a tx that is not in a block by its timeout height never executes.
fn check_timeout_height(p: &ParsedTx, height: i64) -> Result<(), TxError> {
    let timeout = p.decoded.body.timeout_height;
    if timeout > 0 && u64::try_from(height).unwrap_or(0) > timeout {
        return Err(sdk(
            30,
            format!("block height: {height}, timeout height: {timeout}: tx timeout height"),
        ));
    }
    Ok(())
}

/// DeliverTx: ante (timeout height, sequence, fee, public key, sequence bump), then the
/// messages atomically, with the gas limit enforced.
fn deliver_tx(
    chain: &mut Chain,
    pending: PendingTx,
    height: i64,
    time: i64,
    index: u32,
) -> TxOutcome {
    let PendingTx { raw, hash } = pending;
    let mut out = TxOutcome {
        hash,
        height,
        index,
        code: 0,
        codespace: String::new(),
        log: String::new(),
        gas_wanted: 0,
        gas_used: 0,
        events: Vec::new(),
        tx: Vec::new(),
    };
    let fail = |out: &mut TxOutcome, e: TxError| {
        out.code = e.code;
        out.codespace = e.codespace;
        out.log = e.log;
        out.events.clear();
    };
    let p = match parse_tx(&raw) {
        Ok(p) => p,
        Err(e) => {
            fail(&mut out, e);
            out.tx = raw;
            return out;
        }
    };
    let gas_limit = p.decoded.gas_limit();
    out.gas_wanted = gas_limit;
    let ante = gas::ante_gas(raw.len());
    let result = (|| -> Result<Vec<Event>, (TxError, u64)> {
        check_timeout_height(&p, height).map_err(|e| (e, 0))?;
        chain
            .check_sequence(&p.signer, p.sequence)
            .map_err(|e| (e, 0))?;
        chain
            .deduct_fee(&p.signer, &p.decoded.fee())
            .map_err(|e| (e, 0))?;
        if let Some(pk) = &p.tx_pub_key {
            chain.set_pub_key(&p.signer, pk);
        }
        chain.increment_sequence(&p.signer);
        if gas_limit < ante {
            return Err((
                sdk(
                    11,
                    format!(
                        "out of gas in location: txSize; gasWanted: {gas_limit}, gasUsed: {ante}: out of gas"
                    ),
                ),
                gas_limit,
            ));
        }
        let base = ante.saturating_add(gas::message_gas(&p.msg_lens, &[]));
        if gas_limit < base {
            return Err((
                sdk(
                    11,
                    format!(
                        "out of gas in location: message; gasWanted: {gas_limit}, gasUsed: {base}: out of gas"
                    ),
                ),
                gas_limit,
            ));
        }
        // The gas check runs inside the chain's own snapshot, so running out of gas rolls
        // the messages back (the fee and sequence stay, as in the SDK).
        let mut out_of_gas = false;
        let events = chain
            .deliver_checked(height, time, &p.signer, &p.msgs, |events| {
                let used = ante.saturating_add(gas::message_gas(&p.msg_lens, events));
                if used > gas_limit {
                    out_of_gas = true;
                    return Err(sdk(
                        11,
                        format!(
                            "out of gas in location: WriteFlat; gasWanted: {gas_limit}, gasUsed: {used}: out of gas"
                        ),
                    ));
                }
                Ok(())
            })
            .map_err(|e| (e, if out_of_gas { gas_limit } else { base }))?;
        Ok(events)
    })();
    match result {
        Ok(events) => {
            out.gas_used = ante.saturating_add(gas::message_gas(&p.msg_lens, &events));
            out.events = events;
        }
        Err((e, used)) => {
            out.gas_used = used;
            fail(&mut out, e);
        }
    }
    out.tx = raw;
    out
}

/// The block producer.
async fn run_blocks(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let node = Node {
        inner: inner.clone(),
    };
    let mut ticker = tokio::time::interval(inner.block_time);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut since_persist = 0u32;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
        }
        if *stop.borrow() {
            return;
        }
        if node.paused() {
            continue;
        }
        let block = node.produce_block();
        let busy = !block.txs.is_empty() || !block.end_block_events.is_empty();
        let _ = inner.blocks_tx.send(block);
        since_persist += 1;
        if inner.state_file.is_some() && (busy || since_persist >= 10) && !*stop.borrow() {
            since_persist = 0;
            let n = node.clone();
            match tokio::task::spawn_blocking(move || n.persist()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot persist the devnet state"),
                Err(e) => tracing::warn!(error = %e, "cannot persist the devnet state"),
            }
        }
    }
}

/// The `TxMsgData` of a successful tx: one (empty) response per message, typed
/// `<message type URL>Response`, as `msg_responses`.
pub(crate) fn tx_msg_data(raw: &[u8]) -> Vec<u8> {
    let Ok(d) = decode_tx(raw) else {
        return Vec::new();
    };
    #[allow(deprecated)]
    let data = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData {
        data: Vec::new(),
        msg_responses: d
            .body
            .messages
            .iter()
            .map(|m| cosmos_sdk_proto::Any {
                type_url: format!("{}Response", m.type_url),
                value: Vec::new(),
            })
            .collect(),
    };
    data.encode_to_vec()
}

#[cfg(test)]
mod tests;
