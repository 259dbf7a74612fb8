//! [`RpcChain`]: [`AkashChain`] over CometBFT JSON-RPC (tendermint-rpc, `CompatMode::V0_38`).
//!
//! * Queries: `abci_query` with the gRPC method path and the protobuf request.
//! * Writes: account number/sequence cached (refreshed on start, after an unconfirmed tx and
//!   on code 32); gas = `Simulate` × [`RpcConfig::gas_adjustment`]; fee = gas ×
//!   [`RpcConfig::gas_price_uakt`] in `uakt`; memo `af-operator/<version>`; signed through
//!   [`crate::akash::tx::sign_tx`] with a timeout height (latest height +
//!   [`RpcConfig::timeout_height_margin`]); `broadcast_tx_sync`, then `tx` polled until the
//!   deadline. A tx that is sent but not confirmed by then is [`ClientError::Pending`] with
//!   its hash: [`AkashChain::tx`] finds it later, and past its timeout height it provably
//!   never executes.
//!   On "account sequence mismatch" (code 32) the account is re-read and the tx re-signed
//!   once. Each write is confirmed by its typed event (e.g. `EventDeploymentCreated` with
//!   the same id).
//! * Every RPC request has its own timeout; transient failures (connection refused, timeout,
//!   HTTP 5xx) are retried with exponential backoff and jitter, moving to the next endpoint.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse};
use prost::Message;
use tendermint_rpc::client::CompatMode;
use tendermint_rpc::{Client, HttpClient, HttpClientUrl};
use tokio::sync::Mutex;

use super::batch::{receipt_for, receipt_of_tx, BatchConfig, Batcher, TxResult, TxSubmitter};
use super::reads::{self, QueryRaw};
use super::retry::Backoff;
use super::{
    msgs, AccountInfo, AkashChain, CertificateStateFilter, ClientError, DeploymentStateFilter,
    Page, Result, TxReceipt,
};
use crate::akash::keys::Wallet;
use crate::akash::proto::cert::v1 as cert;
use crate::akash::proto::deployment::{v1 as dv1, v1beta4 as dv1beta4};
use crate::akash::proto::market::{v1 as mv1, v1beta5 as mv1beta5};
use crate::akash::proto::provider::v1beta4 as provider;
use crate::akash::proto::{AkashEvent, Any, Coin, Event, EventAttribute, PageRequest, Query};
use crate::akash::tx::{sign_tx, tx_hash, UnsignedTx};

/// Path of the Cosmos tx simulation query.
pub const SIMULATE_PATH: &str = "/cosmos.tx.v1beta1.Service/Simulate";

/// How to reach the chain and how to pay.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// RPC endpoints (`http(s)://host:port`), tried in order, failing over.
    pub endpoints: Vec<String>,
    /// The chain id; `None` reads it from `status`.
    pub chain_id: Option<String>,
    /// Fee price per gas unit, in `uakt`.
    pub gas_price_uakt: f64,
    /// Simulated gas is multiplied by this.
    pub gas_adjustment: f64,
    /// Timeout of one RPC request.
    pub request_timeout: Duration,
    /// How long a call retries transient RPC failures before giving up.
    pub retry_for: Duration,
    /// How long a broadcast tx may take to appear in a block.
    pub confirm_timeout: Duration,
    /// The longest wait between two looks for a broadcast tx (`tx`): the looks start 20 ms
    /// after the broadcast and double up to this, or up to a quarter of the block time the
    /// client observed, whichever is less.
    pub poll_interval: Duration,
    /// Every tx carries `timeout_height` = latest height + this, so one that is not in a
    /// block by then never executes (the ante handler refuses it, `sdk` code 30); 0 sends
    /// txs without a timeout height.
    pub timeout_height_margin: u64,
    /// The memo of every tx.
    pub memo: String,
    /// Batch writes (one tx per block for this signer); `None` sends one tx per write.
    pub batching: Option<BatchConfig>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            endpoints: Vec::new(),
            chain_id: None,
            gas_price_uakt: 0.025,
            gas_adjustment: 1.3,
            request_timeout: Duration::from_secs(10),
            retry_for: Duration::from_secs(30),
            confirm_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            timeout_height_margin: 100,
            memo: super::memo(),
            batching: Some(BatchConfig::default()),
        }
    }
}

struct Endpoint {
    url: String,
    client: HttpClient,
}

/// The JSON-RPC transport: endpoints with failover, retries with backoff and jitter.
pub struct Rpc {
    endpoints: Vec<Endpoint>,
    current: AtomicUsize,
    retry_for: Duration,
    request_timeout: Duration,
    /// Heights seen by `status`, first and last, for the block time.
    heights: std::sync::Mutex<HeightSamples>,
}

/// The first and the last height `status` saw, with when.
#[derive(Debug, Default, Clone, Copy)]
struct HeightSamples {
    first: Option<(i64, tokio::time::Instant)>,
    last: Option<(i64, tokio::time::Instant)>,
}

/// What went wrong, in one line: the detail, and for transport failures the operating
/// system's reason found in the error's trace (`HTTP error: Connection refused (os error 111)`).
fn detail_text(e: &tendermint_rpc::Error) -> String {
    let head = one_line(&e.detail().to_string());
    let full = e.to_string();
    let cause = full
        .lines()
        .map(str::trim)
        .find(|l| l.contains("(os error") || l.contains("dns error") || l.contains("timed out"))
        .map(|l| {
            // `3: tcp connect error: Connection refused (os error 111)` → its last clause.
            let l = l.rsplit_once(": ").map_or(l, |(_, last)| last);
            l.to_string()
        });
    match cause {
        Some(c) if !head.contains(&c) => format!("{head}: {c}"),
        _ => head,
    }
}

/// The first line of a message, trimmed.
fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// How one attempt failed.
enum Failure {
    /// Retry (on the next endpoint).
    Transient(String, bool),
    /// Give up now.
    Permanent(ClientError),
}

impl Rpc {
    /// Clients for `urls`, each request bounded by `request_timeout`.
    pub fn new(urls: &[String], request_timeout: Duration, retry_for: Duration) -> Result<Rpc> {
        if urls.is_empty() {
            return Err(ClientError::Invalid("no RPC endpoint configured".into()));
        }
        let mut endpoints = Vec::new();
        for url in urls {
            let parsed: HttpClientUrl = url
                .parse()
                .map_err(|e| ClientError::Invalid(format!("RPC endpoint {url:?}: {e}")))?;
            let client = HttpClient::builder(parsed)
                .compat_mode(CompatMode::V0_38)
                .timeout(request_timeout)
                .user_agent(super::memo())
                .build()
                .map_err(|e| ClientError::Invalid(format!("RPC endpoint {url:?}: {e}")))?;
            endpoints.push(Endpoint {
                url: url.clone(),
                client,
            });
        }
        Ok(Rpc {
            endpoints,
            current: AtomicUsize::new(0),
            retry_for,
            request_timeout,
            heights: Default::default(),
        })
    }

    /// The endpoint in use.
    pub fn current_url(&self) -> &str {
        let i = self.current.load(Ordering::Relaxed) % self.endpoints.len();
        &self.endpoints[i].url
    }

    fn classify(e: tendermint_rpc::Error) -> Failure {
        use tendermint_rpc::error::ErrorDetail;
        // The detail, one line: the error's own Display carries a trace (source locations,
        // and with RUST_BACKTRACE a whole backtrace) that is no message for a person.
        let full = e.to_string();
        let text = detail_text(&e);
        match e.detail() {
            ErrorDetail::Response(r) => {
                let msg = r.source.to_string();
                if msg.contains("not found") {
                    Failure::Permanent(ClientError::NotFound(msg))
                } else {
                    Failure::Permanent(ClientError::Transport(format!("node answered: {msg}")))
                }
            }
            ErrorDetail::Timeout(_) => Failure::Transient(text, true),
            _ => {
                let timed_out = full.contains("timed out") || full.contains("timeout");
                Failure::Transient(text, timed_out)
            }
        }
    }

    /// Runs `f` against the current endpoint; transient failures move to the next endpoint
    /// and retry with exponential backoff and full jitter ([`Backoff::default`]: 100 ms,
    /// doubling, up to 2 s) until `retry_for` has passed.
    pub async fn call<T, F, Fut>(&self, what: &str, f: F) -> Result<T>
    where
        F: Fn(HttpClient) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, tendermint_rpc::Error>>,
    {
        let mut retry = Backoff {
            max_elapsed: Some(self.retry_for),
            ..Backoff::default()
        }
        .start();
        let mut attempts = 0u32;
        loop {
            let n = self.endpoints.len();
            let idx = self.current.load(Ordering::Relaxed) % n;
            let endpoint = &self.endpoints[idx];
            attempts += 1;
            // The reqwest timeout bounds each request; this one guards against a client
            // that ignores it.
            let outcome = tokio::time::timeout(
                self.request_timeout + Duration::from_secs(1),
                f(endpoint.client.clone()),
            )
            .await;
            let (msg, timed_out) = match outcome {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => match Self::classify(e) {
                    Failure::Permanent(e) => return Err(e),
                    Failure::Transient(m, t) => (m, t),
                },
                Err(_) => ("request timed out".to_string(), true),
            };
            // Retries are routine; the caller reports the final failure once.
            tracing::debug!(endpoint = %endpoint.url, what, error = %msg, "RPC request failed");
            if n > 1 {
                let _ = self.current.compare_exchange(
                    idx,
                    (idx + 1) % n,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            match retry.next_wait() {
                Some(wait) => tokio::time::sleep(wait).await,
                None => {
                    let elapsed = retry.elapsed().as_secs_f64();
                    let summary = format!(
                        "{what}: {attempts} attempts over {elapsed:.1}s on {n} endpoint(s) failed; last ({}): {msg}",
                        endpoint.url
                    );
                    return Err(if timed_out {
                        ClientError::Timeout(summary)
                    } else {
                        ClientError::Transport(summary)
                    });
                }
            }
        }
    }

    /// `abci_query` at the latest height; a non-zero code is a chain error (or not found).
    pub async fn query_raw(&self, path: &str, data: Vec<u8>) -> Result<Vec<u8>> {
        let q = self
            .call(path, |c| {
                let data = data.clone();
                async move {
                    c.abci_query(Some(path.to_string()), data, None, false)
                        .await
                }
            })
            .await?;
        if q.code.is_err() {
            return Err(reads::query_error(
                path,
                q.codespace,
                q.code.value(),
                q.log.to_string(),
            ));
        }
        Ok(q.value)
    }

    /// A typed gRPC query.
    pub async fn query<Q: Query>(&self, req: &Q) -> Result<Q::Response> {
        let bytes = self.query_raw(Q::PATH, req.encode_to_vec()).await?;
        Q::Response::decode(bytes.as_slice())
            .map_err(|e| ClientError::Transport(format!("{}: undecodable answer: {e}", Q::PATH)))
    }

    /// The chain id and latest height from `status`.
    pub async fn status(&self) -> Result<(String, i64)> {
        let s = self
            .call("status", |c| async move { c.status().await })
            .await?;
        let height = s.sync_info.latest_block_height.value() as i64;
        let now = tokio::time::Instant::now();
        let mut h = self.heights.lock().unwrap_or_else(|e| e.into_inner());
        if h.first.is_none_or(|(first, _)| height < first) {
            h.first = Some((height, now));
        }
        h.last = Some((height, now));
        drop(h);
        Ok((s.node_info.network.to_string(), height))
    }

    /// The chain's time per block, from the heights `status` answered over time (`None`
    /// until two heights at least two blocks apart were seen).
    pub fn block_time(&self) -> Option<Duration> {
        let h = *self.heights.lock().unwrap_or_else(|e| e.into_inner());
        let ((h0, t0), (h1, t1)) = (h.first?, h.last?);
        let blocks = u32::try_from(h1 - h0).ok().filter(|b| *b >= 2)?;
        Some(t1.duration_since(t0) / blocks)
    }
}

#[async_trait]
impl QueryRaw for Rpc {
    async fn query_raw(&self, path: &str, data: Vec<u8>) -> Result<Vec<u8>> {
        Rpc::query_raw(self, path, data).await
    }
}

/// The account state cached for signing.
#[derive(Debug, Clone, Copy)]
struct Seq {
    number: u64,
    sequence: u64,
}

/// Signs and sends txs for one wallet.
pub struct Signer {
    rpc: Arc<Rpc>,
    wallet: Wallet,
    chain_id: String,
    gas_price_uakt: f64,
    gas_adjustment: f64,
    confirm_timeout: Duration,
    poll_interval: Duration,
    timeout_height_margin: u64,
    memo: String,
    account: Mutex<Option<Seq>>,
    sequence_recoveries: std::sync::atomic::AtomicU64,
    txs_sent: std::sync::atomic::AtomicU64,
}

impl Signer {
    async fn fetch_account(&self) -> Result<Seq> {
        let info = reads::account_info(&*self.rpc, self.wallet.address()).await?;
        Ok(Seq {
            number: info.account_number,
            sequence: info.sequence,
        })
    }

    /// The fee for `gas`, in `uakt`, rounded up.
    pub fn fee_for(gas: u64, price: f64) -> u128 {
        (gas as f64 * price).ceil().max(0.0) as u128
    }

    /// Builds, simulates and signs `msgs` with the cached sequence; returns the raw tx, its
    /// gas limit and its timeout height. Caller holds the account lock.
    async fn prepare(&self, seq: Seq, msgs: &[Any], max_gas: Option<u64>) -> Result<Prepared> {
        self.prepare_with(seq, msgs, max_gas, None)
            .await
            .map(|(p, _)| p)
    }

    /// [`prepare`](Self::prepare); with `fallback_gas`, a simulation the chain refuses (the
    /// tx would fail) signs with that gas limit instead and returns the chain's answer.
    async fn prepare_with(
        &self,
        seq: Seq,
        msgs: &[Any],
        max_gas: Option<u64>,
        fallback_gas: Option<u64>,
    ) -> Result<(Prepared, Option<String>)> {
        let timeout_height = if self.timeout_height_margin == 0 {
            0
        } else {
            let latest = u64::try_from(self.rpc.status().await?.1).unwrap_or(0);
            latest.saturating_add(self.timeout_height_margin)
        };
        let mut tx = UnsignedTx {
            messages: msgs.to_vec(),
            memo: self.memo.clone(),
            fee: Vec::new(),
            gas_limit: 0,
            timeout_height,
        };
        let sim = sign_tx(&self.wallet, &self.chain_id, seq.number, seq.sequence, &tx)
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        #[allow(deprecated)]
        let req = SimulateRequest {
            tx: None,
            tx_bytes: sim,
        };
        let simulated = async {
            let answer = self
                .rpc
                .query_raw(SIMULATE_PATH, req.encode_to_vec())
                .await?;
            let resp = SimulateResponse::decode(answer.as_slice())
                .map_err(|e| ClientError::Transport(format!("undecodable Simulate answer: {e}")))?;
            Ok::<_, ClientError>(resp.gas_info.map(|g| g.gas_used).unwrap_or(0))
        }
        .await;
        let (gas, refused) = match (simulated, fallback_gas) {
            (Ok(used), _) => (((used as f64) * self.gas_adjustment).ceil() as u64, None),
            (Err(e @ (ClientError::Chain { .. } | ClientError::NotFound(_))), Some(fallback)) => {
                (fallback, Some(e.to_string()))
            }
            (Err(e), _) => return Err(e),
        };
        let gas = gas.max(1);
        if let Some(max) = max_gas {
            if gas > max {
                return Err(ClientError::TooMuchGas { gas, max });
            }
        }
        tx.gas_limit = gas;
        tx.fee = vec![crate::akash::proto::base::coin(
            "uakt",
            Self::fee_for(gas, self.gas_price_uakt).max(1),
        )];
        let raw = sign_tx(&self.wallet, &self.chain_id, seq.number, seq.sequence, &tx)
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        Ok((
            Prepared {
                raw,
                gas,
                timeout_height,
            },
            refused,
        ))
    }

    /// Simulates, signs and broadcasts; returns the hash and timeout height once CheckTx
    /// accepted it. A broadcast whose answer is lost (transport, timeout) may still have
    /// reached the mempool: that is [`ClientError::Pending`].
    async fn broadcast(&self, msgs: &[Any], max_gas: Option<u64>) -> Result<([u8; 32], u64)> {
        let mut retried = false;
        loop {
            let mut guard = self.account.lock().await;
            let seq = match *guard {
                Some(s) => s,
                None => {
                    let s = self.fetch_account().await?;
                    *guard = Some(s);
                    s
                }
            };
            let attempt = async {
                let Prepared {
                    raw,
                    timeout_height,
                    ..
                } = self.prepare(seq, msgs, max_gas).await?;
                let hash = tx_hash(&raw);
                let res = self
                    .rpc
                    .call("broadcast_tx_sync", |c| {
                        let raw = raw.clone();
                        async move { c.broadcast_tx_sync(raw).await }
                    })
                    .await
                    .map_err(|e| match e {
                        ClientError::Transport(_) | ClientError::Timeout(_) => {
                            ClientError::Pending {
                                hash: hex::encode_upper(hash),
                                msg_index: 0,
                                timeout_height,
                                reason: format!("broadcast unanswered: {e}"),
                            }
                        }
                        other => other,
                    })?;
                let code = res.code.value();
                // 19: already in the mempool cache (a retried broadcast that did arrive).
                if code == 0 || (code == 19 && res.codespace == "sdk") {
                    Ok((hash, timeout_height))
                } else {
                    Err(ClientError::chain(res.codespace, code, res.log))
                }
            }
            .await;
            match attempt {
                Ok(sent) => {
                    self.txs_sent.fetch_add(1, Ordering::Relaxed);
                    *guard = Some(Seq {
                        number: seq.number,
                        sequence: seq.sequence + 1,
                    });
                    return Ok(sent);
                }
                Err(e) if e.is_sequence_mismatch() && !retried => {
                    retried = true;
                    self.sequence_recoveries.fetch_add(1, Ordering::Relaxed);
                    let expected = match &e {
                        ClientError::Chain { log, .. } => expected_sequence(log),
                        _ => None,
                    };
                    let fresh = self.fetch_account().await?;
                    let sequence = expected.map_or(fresh.sequence, |x| x.max(fresh.sequence));
                    tracing::info!(
                        sequence,
                        "account sequence mismatch; re-read the account, retrying once"
                    );
                    *guard = Some(Seq {
                        number: fresh.number,
                        sequence,
                    });
                }
                Err(e) => {
                    if e.is_sequence_mismatch() || !matches!(e, ClientError::Chain { .. }) {
                        *guard = None;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Polls `tx` until it is in a block or the deadline passes; then, or when the RPC
    /// fails meanwhile, the tx is [`ClientError::Pending`].
    async fn confirm(
        &self,
        hash: [u8; 32],
        timeout_height: u64,
        msg_count: usize,
    ) -> Result<TxResult> {
        let deadline = tokio::time::Instant::now() + self.confirm_timeout;
        let pending = |reason: String| ClientError::Pending {
            hash: hex::encode_upper(hash),
            msg_index: 0,
            timeout_height,
            reason,
        };
        // A tx lands in one of the next blocks: look soon, then less often, never less
        // often than every `poll_interval` nor than a quarter of the observed block time.
        let most = match self.rpc.block_time() {
            Some(b) => (b / 4).clamp(
                CONFIRM_FIRST_POLL,
                self.poll_interval.max(CONFIRM_FIRST_POLL),
            ),
            None => self.poll_interval,
        };
        let mut wait = CONFIRM_FIRST_POLL.min(most);
        loop {
            match find_tx(&self.rpc, hash).await {
                Ok(Some(mut result)) => {
                    result.msg_count = msg_count;
                    return Ok(result);
                }
                Ok(None) => {}
                Err(e @ ClientError::Chain { .. }) => {
                    if e.is_sequence_mismatch() {
                        // Refused in its block: the cached sequence ran ahead of the chain.
                        *self.account.lock().await = None;
                    }
                    return Err(e);
                }
                Err(e) => {
                    *self.account.lock().await = None;
                    return Err(pending(format!("confirmation failed: {e}")));
                }
            }
            if tokio::time::Instant::now() + wait > deadline {
                *self.account.lock().await = None;
                return Err(pending(format!(
                    "not in a block within {:.1}s",
                    self.confirm_timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(most);
        }
    }
}

/// The first look for a broadcast tx; looks then double up to the poll interval.
const CONFIRM_FIRST_POLL: Duration = Duration::from_millis(20);

/// What [`Signer::prepare`] makes.
struct Prepared {
    raw: Vec<u8>,
    gas: u64,
    timeout_height: u64,
}

/// The tx `hash` once it is in a block (`None` before); a failed tx is its chain error.
async fn find_tx(rpc: &Rpc, hash: [u8; 32]) -> Result<Option<TxResult>> {
    let found = rpc
        .call("tx", |c| async move {
            c.tx(cosmrs::tendermint::Hash::Sha256(hash), false).await
        })
        .await;
    let r = match found {
        Ok(r) => r,
        Err(ClientError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let res = r.tx_result;
    if res.code.is_err() {
        return Err(ClientError::chain(res.codespace, res.code.value(), res.log));
    }
    let msg_count = crate::akash::tx::decode_tx(&r.tx).map_or(1, |d| d.body.messages.len());
    Ok(Some(TxResult {
        hash: hex::encode_upper(hash),
        height: r.height.value() as i64,
        gas_wanted: res.gas_wanted.max(0) as u64,
        gas_used: res.gas_used.max(0) as u64,
        events: res.events.iter().map(convert_event).collect(),
        msg_count,
    }))
}

#[async_trait]
impl TxSubmitter for Signer {
    async fn submit(&self, msgs: Vec<Any>, max_gas: Option<u64>) -> Result<TxResult> {
        let (hash, timeout_height) = self.broadcast(&msgs, max_gas).await?;
        self.confirm(hash, timeout_height, msgs.len()).await
    }
}

/// `expected N` in `account sequence mismatch, expected N, got M`.
fn expected_sequence(log: &str) -> Option<u64> {
    let start = log.find("expected ")? + "expected ".len();
    let digits: String = log[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn convert_event(e: &cosmrs::tendermint::abci::Event) -> Event {
    Event {
        kind: e.kind.clone(),
        attributes: e
            .attributes
            .iter()
            .map(|a| EventAttribute {
                key: String::from_utf8_lossy(a.key_bytes()).into_owned(),
                value: String::from_utf8_lossy(a.value_bytes()).into_owned(),
                index: a.index(),
            })
            .collect(),
    }
}

/// [`AkashChain`] over CometBFT JSON-RPC. Cheap to clone.
#[derive(Clone)]
pub struct RpcChain {
    rpc: Arc<Rpc>,
    signer: Arc<Signer>,
    batcher: Option<Batcher>,
    owner: String,
    chain_id: String,
}

impl std::fmt::Debug for RpcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChain")
            .field("owner", &self.owner)
            .field("chain_id", &self.chain_id)
            .field("endpoint", &self.rpc.current_url())
            .finish_non_exhaustive()
    }
}

impl RpcChain {
    /// Connects: reads the chain id from `status` and, when one is configured, checks that the
    /// node serves it. Batching needs a tokio runtime.
    pub async fn connect(cfg: RpcConfig, wallet: Wallet) -> Result<RpcChain> {
        let rpc = Arc::new(Rpc::new(
            &cfg.endpoints,
            cfg.request_timeout,
            cfg.retry_for,
        )?);
        // The node must serve the chain we mean to sign for (a mainnet key never signs for
        // another chain by mistake, and the reverse).
        let served = rpc.status().await?.0;
        let chain_id = match &cfg.chain_id {
            Some(id) if *id != served => {
                return Err(ClientError::Invalid(format!(
                    "RPC endpoint {} serves chain {served:?}, expected {id:?}",
                    rpc.current_url()
                )))
            }
            Some(id) => id.clone(),
            None => served,
        };
        let owner = wallet.address().to_owned();
        let signer = Arc::new(Signer {
            rpc: rpc.clone(),
            wallet,
            chain_id: chain_id.clone(),
            gas_price_uakt: cfg.gas_price_uakt,
            gas_adjustment: cfg.gas_adjustment,
            confirm_timeout: cfg.confirm_timeout,
            poll_interval: cfg.poll_interval,
            timeout_height_margin: cfg.timeout_height_margin,
            memo: cfg.memo.clone(),
            account: Mutex::new(None),
            sequence_recoveries: Default::default(),
            txs_sent: Default::default(),
        });
        let batcher = cfg
            .batching
            .clone()
            .map(|b| Batcher::start(signer.clone(), b));
        Ok(RpcChain {
            rpc,
            signer,
            batcher,
            owner,
            chain_id,
        })
    }

    /// The transport (for raw queries).
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// How many times a code-32 sequence mismatch was recovered from (account re-read).
    pub fn sequence_recoveries(&self) -> u64 {
        self.signer.sequence_recoveries.load(Ordering::Relaxed)
    }

    /// How many txs CheckTx accepted from this client.
    pub fn txs_sent(&self) -> u64 {
        self.signer.txs_sent.load(Ordering::Relaxed)
    }

    /// The batcher, when batching is on.
    pub fn batcher(&self) -> Option<&Batcher> {
        self.batcher.as_ref()
    }

    /// The signed tx bytes `msgs` would be sent as, with the fee, without broadcasting
    /// (`--dry-run`). Simulates for gas.
    pub async fn dry_run(&self, msgs: &[Any]) -> Result<DryRun> {
        let seq = self.signer.fetch_account().await?;
        let (p, simulation_error) = self
            .signer
            .prepare_with(seq, msgs, None, Some(DRY_RUN_FALLBACK_GAS))
            .await?;
        Ok(DryRun {
            simulation_error,
            signer: self.owner.clone(),
            chain_id: self.chain_id.clone(),
            account_number: seq.number,
            sequence: seq.sequence,
            gas_limit: p.gas,
            fee_uakt: Signer::fee_for(p.gas, self.signer.gas_price_uakt).max(1),
            memo: self.signer.memo.clone(),
            timeout_height: p.timeout_height,
            tx_bytes: p.raw,
        })
    }

    /// Sends `msg` (through the batcher when on) and returns its receipt.
    pub async fn send(&self, msg: Any) -> Result<TxReceipt> {
        match &self.batcher {
            Some(b) => b.submit(msg).await,
            None => {
                let result = self.signer.submit(vec![msg], None).await?;
                Ok(receipt_for(&result, 0))
            }
        }
    }

    async fn send_confirmed(
        &self,
        msg: Any,
        what: String,
        confirm: impl Fn(&AkashEvent) -> bool,
    ) -> Result<TxReceipt> {
        let receipt = self.send(msg).await?;
        if receipt.typed_events.iter().any(confirm) {
            Ok(receipt)
        } else {
            Err(ClientError::Unconfirmed(format!(
                "tx {} at height {} has no {what}",
                receipt.hash, receipt.height
            )))
        }
    }
}

/// The gas limit of a dry run whose simulation the chain refused.
pub const DRY_RUN_FALLBACK_GAS: u64 = 200_000;

/// What `--dry-run` shows.
#[derive(Debug, Clone)]
pub struct DryRun {
    /// Signer address.
    pub signer: String,
    /// Chain id.
    pub chain_id: String,
    /// Account number.
    pub account_number: u64,
    /// Sequence it would use.
    pub sequence: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Fee in uakt.
    pub fee_uakt: u128,
    /// Memo.
    pub memo: String,
    /// The last height the tx can be included at (0: none).
    pub timeout_height: u64,
    /// Signed `TxRaw`.
    pub tx_bytes: Vec<u8>,
    /// The chain refused the simulation (the tx would fail as it is), so the gas limit is
    /// [`DRY_RUN_FALLBACK_GAS`]: the chain's answer.
    pub simulation_error: Option<String>,
}

#[async_trait]
impl AkashChain for RpcChain {
    fn owner(&self) -> &str {
        &self.owner
    }

    fn chain_id(&self) -> &str {
        &self.chain_id
    }

    async fn create_deployment(
        &self,
        dseq: u64,
        groups: Vec<dv1beta4::GroupSpec>,
        hash: Vec<u8>,
        deposit: Coin,
    ) -> Result<TxReceipt> {
        let id = dv1::DeploymentID::new(&self.owner, dseq);
        let msg = msgs::create_deployment(&self.owner, dseq, groups, hash, deposit);
        self.send_confirmed(
            msg,
            format!("EventDeploymentCreated for {id}"),
            |e| matches!(e, AkashEvent::DeploymentCreated(c) if c.id == id),
        )
        .await
    }

    async fn update_deployment(&self, dseq: u64, hash: Vec<u8>) -> Result<TxReceipt> {
        let id = dv1::DeploymentID::new(&self.owner, dseq);
        let msg = msgs::update_deployment(&self.owner, dseq, hash);
        self.send_confirmed(
            msg,
            format!("EventDeploymentUpdated for {id}"),
            |e| matches!(e, AkashEvent::DeploymentUpdated(c) if c.id == id),
        )
        .await
    }

    async fn close_deployment(&self, dseq: u64) -> Result<TxReceipt> {
        let id = dv1::DeploymentID::new(&self.owner, dseq);
        let msg = msgs::close_deployment(&self.owner, dseq);
        self.send_confirmed(
            msg,
            format!("EventDeploymentClosed for {id}"),
            |e| matches!(e, AkashEvent::DeploymentClosed(c) if c.id == id),
        )
        .await
    }

    async fn close_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt> {
        let id = dv1::DeploymentID::new(&self.owner, dseq).group(gseq);
        let msg = msgs::close_group(&self.owner, dseq, gseq);
        self.send_confirmed(
            msg,
            format!("EventGroupClosed for {id}"),
            |e| matches!(e, AkashEvent::GroupClosed(c) if c.id == id),
        )
        .await
    }

    async fn pause_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt> {
        let id = dv1::DeploymentID::new(&self.owner, dseq).group(gseq);
        let msg = msgs::pause_group(&self.owner, dseq, gseq);
        self.send_confirmed(
            msg,
            format!("EventGroupPaused for {id}"),
            |e| matches!(e, AkashEvent::GroupPaused(c) if c.id == id),
        )
        .await
    }

    async fn start_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt> {
        let id = dv1::DeploymentID::new(&self.owner, dseq).group(gseq);
        let msg = msgs::start_group(&self.owner, dseq, gseq);
        self.send_confirmed(
            msg,
            format!("EventGroupStarted for {id}"),
            |e| matches!(e, AkashEvent::GroupStarted(c) if c.id == id),
        )
        .await
    }

    async fn create_lease(&self, bid: mv1::BidID) -> Result<TxReceipt> {
        let lease: mv1::LeaseID = bid.clone().into();
        let msg = msgs::create_lease(bid);
        self.send_confirmed(
            msg,
            format!("EventLeaseCreated for {lease}"),
            |e| matches!(e, AkashEvent::LeaseCreated(c) if c.id == lease),
        )
        .await
    }

    async fn close_lease(&self, lease: mv1::LeaseID) -> Result<TxReceipt> {
        let id = lease.clone();
        let msg = msgs::close_lease(lease);
        self.send_confirmed(
            msg,
            format!("EventLeaseClosed for {id}"),
            |e| matches!(e, AkashEvent::LeaseClosed(c) if c.id == id),
        )
        .await
    }

    async fn deposit(&self, deployment: dv1::DeploymentID, amount: Coin) -> Result<TxReceipt> {
        // Escrow deposits emit no Akash typed event; the tx result (code 0) is the proof.
        let msg = msgs::deposit(&self.owner, &deployment, amount);
        self.send(msg).await
    }

    async fn mint_act(&self, coins_to_burn: Coin) -> Result<TxReceipt> {
        let msg = msgs::mint_act(&self.owner, coins_to_burn);
        self.send(msg).await
    }

    async fn publish_certificate(
        &self,
        cert_pem: Vec<u8>,
        pubkey_pem: Vec<u8>,
    ) -> Result<TxReceipt> {
        let msg = msgs::create_certificate(&self.owner, cert_pem, pubkey_pem);
        self.send(msg).await
    }

    async fn revoke_certificate(&self, serial: String) -> Result<TxReceipt> {
        let msg = msgs::revoke_certificate(&self.owner, serial);
        self.send(msg).await
    }

    async fn deployments(
        &self,
        owner: &str,
        state: DeploymentStateFilter,
        page: Option<PageRequest>,
    ) -> Result<Page<dv1beta4::QueryDeploymentResponse>> {
        reads::deployments(&*self.rpc, owner, state, page).await
    }

    async fn deployment(
        &self,
        id: &dv1::DeploymentID,
    ) -> Result<dv1beta4::QueryDeploymentResponse> {
        reads::deployment(&*self.rpc, id).await
    }

    async fn orders(
        &self,
        filters: mv1beta5::OrderFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::Order>> {
        reads::orders(&*self.rpc, filters, page).await
    }

    async fn bids(
        &self,
        filters: mv1beta5::BidFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::QueryBidResponse>> {
        reads::bids(&*self.rpc, filters, page).await
    }

    async fn leases(
        &self,
        filters: mv1::LeaseFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::QueryLeaseResponse>> {
        reads::leases(&*self.rpc, filters, page).await
    }

    async fn provider(&self, owner: &str) -> Result<provider::Provider> {
        reads::provider(&*self.rpc, owner).await
    }

    async fn providers(&self, page: Option<PageRequest>) -> Result<Page<provider::Provider>> {
        reads::providers(&*self.rpc, page).await
    }

    async fn act_mints(&self, source: Option<&str>, limit: u64) -> Result<Vec<super::ActMint>> {
        reads::act_mints(&*self.rpc, source, limit).await
    }

    async fn mint_epoch_blocks(&self) -> Result<i64> {
        reads::mint_epoch_blocks(&*self.rpc).await
    }

    async fn provider_audits(
        &self,
        owner: &str,
    ) -> Result<Vec<crate::akash::proto::audit::v1::AuditedProvider>> {
        reads::provider_audits(&*self.rpc, owner).await
    }

    async fn certificates(
        &self,
        owner: &str,
        serial: Option<&str>,
        state: CertificateStateFilter,
    ) -> Result<Vec<cert::CertificateResponse>> {
        reads::certificates(&*self.rpc, owner, serial, state).await
    }

    async fn balances(&self, address: &str) -> Result<Vec<Coin>> {
        reads::balances(&*self.rpc, address).await
    }

    async fn account(&self, address: &str) -> Result<AccountInfo> {
        reads::account_info(&*self.rpc, address).await
    }

    async fn latest_height(&self) -> Result<i64> {
        Ok(self.rpc.status().await?.1)
    }

    async fn tx(&self, hash: &str) -> Result<Option<TxReceipt>> {
        let hash = super::parse_tx_hash(hash)?;
        Ok(find_tx(&self.rpc, hash).await?.map(|r| receipt_of_tx(&r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_expected_sequence() {
        assert_eq!(
            expected_sequence(
                "account sequence mismatch, expected 7, got 5: incorrect account sequence"
            ),
            Some(7)
        );
        assert_eq!(expected_sequence("nothing"), None);
    }

    #[test]
    fn fee_rounds_up() {
        assert_eq!(Signer::fee_for(200_000, 0.025), 5000);
        assert_eq!(Signer::fee_for(200_001, 0.025), 5001);
        assert_eq!(Signer::fee_for(0, 0.025), 0);
    }

    #[test]
    fn no_endpoint_is_an_error() {
        assert!(Rpc::new(&[], Duration::from_secs(1), Duration::from_secs(1)).is_err());
        assert!(Rpc::new(
            &["not a url".into()],
            Duration::from_secs(1),
            Duration::from_secs(1)
        )
        .is_err());
    }

    #[tokio::test]
    async fn unreachable_endpoint_gives_up_with_a_clear_error() {
        // A port nothing listens on: bind, take the port, close.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let rpc = Rpc::new(
            &[format!("http://127.0.0.1:{port}")],
            Duration::from_millis(300),
            Duration::from_millis(600),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let err = rpc.status().await.unwrap_err();
        // Refused (or, if another test grabbed the port meanwhile, silent): either way a
        // bounded, explained failure.
        assert!(
            matches!(err, ClientError::Transport(_) | ClientError::Timeout(_)),
            "{err}"
        );
        assert!(err.to_string().contains("attempts"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
