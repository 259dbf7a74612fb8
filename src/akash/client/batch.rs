//! Batching: messages one signer submits concurrently are grouped into few txs per block.
//!
//! A [`Batcher`] owns a task fed by a channel. The task takes what is queued (up to
//! [`BatchConfig::max_msgs`]) and sends it as one tx through a [`TxSubmitter`]. Up to
//! [`BatchConfig::max_in_flight`] txs of one signer are in flight at once: the submitter signs
//! them with consecutive sequences, which the chain accepts into one block (CheckTx advances
//! the sequence it expects). A *full* batch goes out as soon as a slot is free; a partial one
//! only when nothing is in flight (after [`BatchConfig::linger`]), so that messages arriving
//! while a tx waits for its block make up the next full batch instead of many small txs.
//!
//! Each caller gets its own message's outcome: the receipt carries the events whose
//! `msg_index` is its index in the tx. When a batch fails, the culprit is found from the log
//! (`failed to execute message; message index: N: …`, the Cosmos SDK form): that caller gets
//! the error and the others are sent again. When the log names no index (out of gas, fees),
//! the batch is split in halves and each half is sent on its own (bisection), so a bad
//! message never takes its neighbours down. A batch whose simulated gas exceeds
//! [`BatchConfig::max_gas`] is split the same way. A tx refused in its block for its sequence
//! (code 32: an earlier tx of the pipeline left the mempool) executed nothing, so the same
//! batch is sent again, at most [`SEQUENCE_RESENDS`] times.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};

use super::{ClientError, Result, TxReceipt};
use crate::akash::proto::{AkashEvent, Any, Event};

/// A tx as the chain executed it (code 0).
#[derive(Debug, Clone, PartialEq)]
pub struct TxResult {
    /// Hash, upper-case hex.
    pub hash: String,
    /// Inclusion height.
    pub height: i64,
    /// Gas wanted.
    pub gas_wanted: u64,
    /// Gas used.
    pub gas_used: u64,
    /// All events of the tx.
    pub events: Vec<Event>,
    /// Number of messages in the tx.
    pub msg_count: usize,
}

/// Sends one tx made of `msgs` and waits until it is in a block.
#[async_trait]
pub trait TxSubmitter: Send + Sync {
    /// Signs, sends and confirms. A refusal at any step (Simulate, CheckTx, DeliverTx) is a
    /// [`ClientError::Chain`] with the chain's log; with `max_gas`, a tx needing more gas is
    /// not sent and fails with [`ClientError::TooMuchGas`].
    async fn submit(&self, msgs: Vec<Any>, max_gas: Option<u64>) -> Result<TxResult>;
}

/// Each caller's outcome.
pub type MsgOutcome = Result<TxReceipt>;

/// Batching limits.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Most messages in one tx.
    pub max_msgs: usize,
    /// Most gas for one tx (after adjustment).
    pub max_gas: u64,
    /// How long the first message of a batch waits for company.
    pub linger: Duration,
    /// Most txs of the signer in flight (sent, not yet confirmed) at once; 1 is one tx per
    /// block.
    pub max_in_flight: usize,
}

/// How often a batch refused in its block for its sequence is sent again.
pub const SEQUENCE_RESENDS: u32 = 3;

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_msgs: 50,
            max_gas: 30_000_000,
            linger: Duration::from_millis(20),
            max_in_flight: 8,
        }
    }
}

/// Counters of a batcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchStats {
    /// Txs sent (including failed attempts).
    pub txs: u64,
    /// Messages confirmed.
    pub confirmed: u64,
    /// Messages failed.
    pub failed: u64,
    /// Most txs in flight at once so far.
    pub peak_in_flight: u64,
}

struct Pending {
    msg: Any,
    reply: oneshot::Sender<MsgOutcome>,
}

#[derive(Default)]
struct Counters {
    txs: AtomicU64,
    confirmed: AtomicU64,
    failed: AtomicU64,
    peak_in_flight: AtomicU64,
}

/// Groups one signer's messages into one tx per block. Cheap to clone.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<Pending>,
    counters: Arc<Counters>,
}

impl Batcher {
    /// Starts the batching task (needs a tokio runtime); it ends when every clone is dropped.
    pub fn start(submitter: Arc<dyn TxSubmitter>, cfg: BatchConfig) -> Batcher {
        let (queue, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(submitter, cfg, rx, counters.clone()));
        Batcher { queue, counters }
    }

    /// Queues `msg` and waits for its own outcome.
    pub async fn submit(&self, msg: Any) -> MsgOutcome {
        let (reply, rx) = oneshot::channel();
        self.queue
            .send(Pending { msg, reply })
            .map_err(|_| ClientError::Invalid("the batcher has stopped".into()))?;
        rx.await
            .map_err(|_| ClientError::Invalid("the batcher dropped the message".into()))?
    }

    /// The counters so far.
    pub fn stats(&self) -> BatchStats {
        BatchStats {
            txs: self.counters.txs.load(Ordering::Relaxed),
            confirmed: self.counters.confirmed.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            peak_in_flight: self.counters.peak_in_flight.load(Ordering::Relaxed),
        }
    }
}

async fn run(
    submitter: Arc<dyn TxSubmitter>,
    cfg: BatchConfig,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    counters: Arc<Counters>,
) {
    let max_msgs = cfg.max_msgs.max(1);
    let max_in_flight = cfg.max_in_flight.max(1);
    let cfg = Arc::new(cfg);
    let mut queued: VecDeque<Pending> = VecDeque::new();
    let mut in_flight: JoinSet<()> = JoinSet::new();
    // When the oldest queued message has waited long enough for company.
    let mut linger_until: Option<Instant> = None;
    let mut closed = false;
    loop {
        while queued.len() < max_msgs {
            match rx.try_recv() {
                Ok(p) => queued.push_back(p),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        queued.retain(|p| !p.reply.is_closed());
        if queued.is_empty() {
            linger_until = None;
        } else if linger_until.is_none() {
            linger_until = Some(Instant::now() + cfg.linger);
        }
        let lingered = linger_until.is_some_and(|d| Instant::now() >= d);
        let full = queued.len() >= max_msgs;
        let may_send = !queued.is_empty()
            && in_flight.len() < max_in_flight
            && (full || (in_flight.is_empty() && (lingered || closed)));
        if may_send {
            let batch: Vec<Pending> = queued.drain(..queued.len().min(max_msgs)).collect();
            linger_until = None;
            let (sub, c, n) = (submitter.clone(), cfg.clone(), counters.clone());
            in_flight.spawn(async move { send_batch(sub.as_ref(), &c, batch, &n).await });
            counters
                .peak_in_flight
                .fetch_max(in_flight.len() as u64, Ordering::Relaxed);
            continue;
        }
        if closed && queued.is_empty() && in_flight.is_empty() {
            return;
        }
        let wait_linger = linger_until.filter(|_| in_flight.is_empty() && !lingered);
        tokio::select! {
            p = rx.recv(), if !closed && queued.len() < max_msgs => match p {
                Some(p) => queued.push_back(p),
                None => closed = true,
            },
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            () = sleep_until(wait_linger.unwrap_or_else(Instant::now)), if wait_linger.is_some() => {}
        }
    }
}

/// Sends `batch`, splitting it until every message has its outcome.
async fn send_batch(
    submitter: &dyn TxSubmitter,
    cfg: &BatchConfig,
    batch: Vec<Pending>,
    counters: &Counters,
) {
    let mut work: VecDeque<Vec<Pending>> = VecDeque::from([batch]);
    let mut resends = 0;
    while let Some(mut group) = work.pop_front() {
        // Callers that gave up do not need a tx.
        group.retain(|p| !p.reply.is_closed());
        if group.is_empty() {
            continue;
        }
        let msgs: Vec<Any> = group.iter().map(|p| p.msg.clone()).collect();
        let max_gas = (group.len() > 1).then_some(cfg.max_gas);
        counters.txs.fetch_add(1, Ordering::Relaxed);
        match submitter.submit(msgs, max_gas).await {
            Ok(result) => {
                for (i, p) in group.into_iter().enumerate() {
                    counters.confirmed.fetch_add(1, Ordering::Relaxed);
                    let _ = p.reply.send(Ok(receipt_for(&result, i as u32)));
                }
            }
            Err(e) if e.is_sequence_mismatch() && resends < SEQUENCE_RESENDS => {
                // Refused for its sequence (at CheckTx after the submitter's own retry, or in
                // its block behind a tx that left the mempool): nothing executed.
                resends += 1;
                tracing::info!(size = group.len(), attempt = resends, error = %e, "batch refused for its sequence; sending it again");
                work.push_front(group);
            }
            Err(e) if group.len() > 1 => {
                let culprit = match &e {
                    ClientError::Chain { log, .. } => {
                        failed_message_index(log).filter(|&n| n < group.len())
                    }
                    _ => None,
                };
                match (culprit, &e) {
                    (Some(n), _) => {
                        tracing::info!(index = n, size = group.len(), error = %e, "batch: a message failed; retrying the others");
                        let bad = group.remove(n);
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                        let _ = bad.reply.send(Err(e));
                        work.push_front(group);
                    }
                    (None, ClientError::Chain { .. } | ClientError::TooMuchGas { .. }) => {
                        tracing::info!(size = group.len(), error = %e, "batch failed without a message index; bisecting");
                        let second = group.split_off(group.len() / 2);
                        work.push_front(second);
                        work.push_front(group);
                    }
                    _ => {
                        // Transport, timeout or pending: the tx may or may not land; every
                        // caller learns it (with its own message index) rather than risk
                        // sending twice.
                        for (i, p) in group.into_iter().enumerate() {
                            counters.failed.fetch_add(1, Ordering::Relaxed);
                            let _ = p.reply.send(Err(with_msg_index(&e, i as u32)));
                        }
                    }
                }
            }
            Err(e) => {
                for p in group {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// `e` as seen by message `index` of the tx: a [`ClientError::Pending`] names that index.
fn with_msg_index(e: &ClientError, index: u32) -> ClientError {
    match e {
        ClientError::Pending {
            hash,
            timeout_height,
            reason,
            ..
        } => ClientError::Pending {
            hash: hash.clone(),
            msg_index: index,
            timeout_height: *timeout_height,
            reason: reason.clone(),
        },
        other => other.clone(),
    }
}

/// The index in `failed to execute message; message index: N: …`.
pub fn failed_message_index(log: &str) -> Option<usize> {
    let marker = "message index: ";
    let start = log.find(marker)? + marker.len();
    let digits: String = log[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// The receipt of message `index` of `result`: its own events only.
pub fn receipt_for(result: &TxResult, index: u32) -> TxReceipt {
    let indexed = result.events.iter().any(|e| e.msg_index().is_some());
    let events: Vec<Event> = result
        .events
        .iter()
        .filter(|e| {
            if indexed {
                e.msg_index() == Some(index)
            } else {
                result.msg_count <= 1
            }
        })
        .cloned()
        .collect();
    let typed_events = events
        .iter()
        .filter_map(|e| match AkashEvent::decode(e) {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable typed event");
                None
            }
        })
        .collect();
    TxReceipt {
        hash: result.hash.clone(),
        height: result.height,
        gas_used: result.gas_used,
        gas_wanted: result.gas_wanted,
        msg_index: index,
        events,
        typed_events,
    }
}

/// The receipt of a whole tx: every message's events (narrow with [`TxReceipt::message`]).
pub fn receipt_of_tx(result: &TxResult) -> TxReceipt {
    TxReceipt {
        hash: result.hash.clone(),
        height: result.height,
        gas_used: result.gas_used,
        gas_wanted: result.gas_wanted,
        msg_index: 0,
        events: result.events.clone(),
        typed_events: result
            .events
            .iter()
            .filter_map(|e| AkashEvent::decode(e).ok().flatten())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::akash::proto::deployment::v1 as dv1;
    use crate::akash::proto::events::encode;
    use crate::akash::proto::to_any;
    use std::sync::Mutex;

    /// A fake chain: a message is `MsgCloseDeployment` whose dseq says what happens: dseq
    /// 666 fails with an indexed log, 777 fails without an index (like out-of-gas), anything
    /// else succeeds with an `EventDeploymentClosed` for that dseq. It records every tx.
    struct FakeChain {
        txs: Mutex<Vec<Vec<u64>>>,
        height: AtomicU64,
        index_in_log: bool,
        gas_per_msg: u64,
    }

    impl FakeChain {
        fn new() -> Arc<FakeChain> {
            Arc::new(FakeChain {
                txs: Mutex::new(Vec::new()),
                height: AtomicU64::new(1),
                index_in_log: true,
                gas_per_msg: 100,
            })
        }
    }

    fn dseq_of(any: &Any) -> u64 {
        crate::akash::proto::from_any::<crate::akash::proto::deployment::v1beta4::MsgCloseDeployment>(any)
            .map(|m| m.id.dseq)
            .unwrap_or(0)
    }

    #[async_trait]
    impl TxSubmitter for FakeChain {
        async fn submit(&self, msgs: Vec<Any>, max_gas: Option<u64>) -> Result<TxResult> {
            let dseqs: Vec<u64> = msgs.iter().map(dseq_of).collect();
            self.txs.lock().unwrap().push(dseqs.clone());
            tokio::time::sleep(Duration::from_millis(5)).await;
            let gas = self.gas_per_msg * msgs.len() as u64;
            if let Some(max) = max_gas {
                if gas > max {
                    return Err(ClientError::TooMuchGas { gas, max });
                }
            }
            for (i, d) in dseqs.iter().enumerate() {
                if *d == 666 {
                    let log = if self.index_in_log {
                        format!("failed to execute message; message index: {i}: deployment exists")
                    } else {
                        "out of gas".to_string()
                    };
                    return Err(ClientError::chain("deployment", 2, log));
                }
                if *d == 777 {
                    return Err(ClientError::chain("sdk", 11, "out of gas in location: x"));
                }
            }
            let height = self.height.fetch_add(1, Ordering::SeqCst) as i64;
            let events = closed_events(&dseqs);
            Ok(TxResult {
                hash: format!("H{height}"),
                height,
                gas_wanted: gas,
                gas_used: gas,
                events,
                msg_count: msgs.len(),
            })
        }
    }

    /// An `EventDeploymentClosed` per dseq, indexed by its message.
    fn closed_events(dseqs: &[u64]) -> Vec<Event> {
        dseqs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                encode(
                    &dv1::EventDeploymentClosed {
                        id: dv1::DeploymentID::new("akash1owner", *d),
                    },
                    Some(i as u32),
                )
            })
            .collect()
    }

    fn msg(dseq: u64) -> Any {
        to_any(
            &crate::akash::proto::deployment::v1beta4::MsgCloseDeployment {
                id: dv1::DeploymentID::new("akash1owner", dseq),
            },
        )
    }

    fn closed_dseq(r: &TxReceipt) -> Vec<u64> {
        r.typed_events
            .iter()
            .filter_map(|e| match e {
                AkashEvent::DeploymentClosed(c) => Some(c.id.dseq),
                _ => None,
            })
            .collect()
    }

    async fn submit_all(b: &Batcher, dseqs: &[u64]) -> Vec<MsgOutcome> {
        futures::future::join_all(dseqs.iter().map(|d| b.submit(msg(*d)))).await
    }

    #[test]
    fn parses_message_index() {
        assert_eq!(
            failed_message_index("failed to execute message; message index: 12: boom"),
            Some(12)
        );
        assert_eq!(failed_message_index("message index: x"), None);
        assert_eq!(failed_message_index("out of gas"), None);
    }

    #[tokio::test]
    async fn concurrent_messages_share_a_tx_and_get_their_own_events() {
        let chain = FakeChain::new();
        let b = Batcher::start(chain.clone(), BatchConfig::default());
        let dseqs: Vec<u64> = (1..=20).collect();
        let out = submit_all(&b, &dseqs).await;
        for (d, o) in dseqs.iter().zip(&out) {
            let r = o.as_ref().expect("confirmed");
            assert_eq!(closed_dseq(r), vec![*d]);
            assert_eq!(r.events.len(), 1);
        }
        let txs = chain.txs.lock().unwrap().clone();
        assert_eq!(txs.len(), 1, "one tx for 20 concurrent messages: {txs:?}");
        assert_eq!(b.stats().confirmed, 20);
    }

    #[tokio::test]
    async fn max_msgs_splits_into_several_txs() {
        let chain = FakeChain::new();
        let cfg = BatchConfig {
            max_msgs: 7,
            ..BatchConfig::default()
        };
        let b = Batcher::start(chain.clone(), cfg);
        let dseqs: Vec<u64> = (1..=20).collect();
        let out = submit_all(&b, &dseqs).await;
        assert!(out.iter().all(|o| o.is_ok()));
        let txs = chain.txs.lock().unwrap().clone();
        assert!(txs.iter().all(|t| t.len() <= 7), "{txs:?}");
        assert_eq!(txs.len(), 3, "{txs:?}");
    }

    #[tokio::test]
    async fn indexed_failure_fails_only_the_culprit() {
        let chain = FakeChain::new();
        let b = Batcher::start(chain.clone(), BatchConfig::default());
        let dseqs = [1, 2, 666, 4, 5];
        let out = submit_all(&b, &dseqs).await;
        for (d, o) in dseqs.iter().zip(&out) {
            if *d == 666 {
                match o {
                    Err(ClientError::Chain { log, .. }) => {
                        assert!(log.contains("deployment exists"))
                    }
                    other => panic!("expected chain error, got {other:?}"),
                }
            } else {
                assert_eq!(closed_dseq(o.as_ref().expect("ok")), vec![*d]);
            }
        }
        let txs = chain.txs.lock().unwrap().clone();
        assert_eq!(txs, vec![vec![1, 2, 666, 4, 5], vec![1, 2, 4, 5]]);
        assert_eq!(b.stats().failed, 1);
    }

    #[tokio::test]
    async fn unindexed_failure_bisects() {
        let chain = FakeChain::new();
        let b = Batcher::start(chain.clone(), BatchConfig::default());
        let dseqs: Vec<u64> = vec![1, 2, 3, 4, 5, 777, 7, 8];
        let out = submit_all(&b, &dseqs).await;
        for (d, o) in dseqs.iter().zip(&out) {
            match (d, o) {
                (777, Err(ClientError::Chain { code: 11, .. })) => {}
                (777, other) => panic!("777: {other:?}"),
                (_, Ok(r)) => assert_eq!(closed_dseq(r), vec![*d]),
                (_, Err(e)) => panic!("{d}: {e}"),
            }
        }
        let txs = chain.txs.lock().unwrap().clone();
        // 8 → [1..4] ok, [5,777,7,8] fail → [5,777] fail, [7,8] ok → [5] ok, [777] fail.
        assert_eq!(txs.len(), 7, "{txs:?}");
    }

    #[tokio::test]
    async fn too_much_gas_splits() {
        let chain = Arc::new(FakeChain {
            txs: Mutex::new(Vec::new()),
            height: AtomicU64::new(1),
            index_in_log: true,
            gas_per_msg: 100,
        });
        let cfg = BatchConfig {
            max_gas: 450,
            ..BatchConfig::default()
        };
        let b = Batcher::start(chain.clone(), cfg);
        let dseqs: Vec<u64> = (1..=8).collect();
        let out = submit_all(&b, &dseqs).await;
        assert!(out.iter().all(|o| o.is_ok()));
        let sent: Vec<Vec<u64>> = chain.txs.lock().unwrap().clone();
        // The 8-message attempt is refused, then two halves of 4 go through.
        assert_eq!(sent.len(), 3, "{sent:?}");
        assert_eq!(sent[1].len(), 4);
    }

    #[tokio::test]
    async fn transport_errors_reach_every_caller() {
        struct Down;
        #[async_trait]
        impl TxSubmitter for Down {
            async fn submit(&self, _: Vec<Any>, _: Option<u64>) -> Result<TxResult> {
                Err(ClientError::Transport("connection refused".into()))
            }
        }
        let b = Batcher::start(Arc::new(Down), BatchConfig::default());
        let out = submit_all(&b, &[1, 2, 3]).await;
        assert!(out
            .iter()
            .all(|o| matches!(o, Err(ClientError::Transport(_)))));
    }

    #[tokio::test]
    async fn a_pending_batch_tells_each_caller_its_message_index() {
        struct Unconfirmed;
        #[async_trait]
        impl TxSubmitter for Unconfirmed {
            async fn submit(&self, _: Vec<Any>, _: Option<u64>) -> Result<TxResult> {
                Err(ClientError::Pending {
                    hash: "AB".into(),
                    msg_index: 0,
                    timeout_height: 9,
                    reason: "not in a block".into(),
                })
            }
        }
        let b = Batcher::start(Arc::new(Unconfirmed), BatchConfig::default());
        let out = submit_all(&b, &[1, 2, 3]).await;
        let mut indexes: Vec<u32> = out
            .iter()
            .map(|o| match o {
                Err(ClientError::Pending {
                    hash,
                    msg_index,
                    timeout_height: 9,
                    ..
                }) if hash == "AB" => *msg_index,
                other => panic!("{other:?}"),
            })
            .collect();
        indexes.sort();
        assert_eq!(indexes, vec![0, 1, 2]);
        assert_eq!(b.stats().txs, 1, "sent once, never again");
    }

    /// A chain with blocks: a tx lands in the next block (every `block`), and every tx of one
    /// block is recorded with that block's height. With `refuse_seq_once`, the first tx of the
    /// dseq given is refused in its block for its sequence.
    struct BlockChain {
        block: Duration,
        start: tokio::time::Instant,
        txs: Mutex<Vec<(u64, Vec<u64>)>>,
        in_flight: AtomicU64,
        peak: AtomicU64,
        refuse_seq_once: Mutex<Option<u64>>,
    }

    impl BlockChain {
        fn new(block: Duration) -> Arc<BlockChain> {
            Arc::new(BlockChain {
                block,
                start: tokio::time::Instant::now(),
                txs: Mutex::new(Vec::new()),
                in_flight: AtomicU64::new(0),
                peak: AtomicU64::new(0),
                refuse_seq_once: Mutex::new(None),
            })
        }
        fn blocks(&self) -> Vec<u64> {
            let mut h: Vec<u64> = self.txs.lock().unwrap().iter().map(|t| t.0).collect();
            h.dedup();
            h
        }
    }

    #[async_trait]
    impl TxSubmitter for BlockChain {
        async fn submit(&self, msgs: Vec<Any>, _: Option<u64>) -> Result<TxResult> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            let dseqs: Vec<u64> = msgs.iter().map(dseq_of).collect();
            let elapsed = self.start.elapsed().as_nanos() as u64;
            let block = self.block.as_nanos() as u64;
            let height = elapsed / block + 1;
            tokio::time::sleep_until(self.start + Duration::from_nanos(height * block)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.txs.lock().unwrap().push((height, dseqs.clone()));
            {
                let mut refuse = self.refuse_seq_once.lock().unwrap();
                if refuse.is_some_and(|d| dseqs.contains(&d)) {
                    *refuse = None;
                    return Err(ClientError::chain(
                        "sdk",
                        32,
                        "account sequence mismatch, expected 7, got 8: incorrect account sequence",
                    ));
                }
            }
            let events = closed_events(&dseqs);
            Ok(TxResult {
                hash: format!("H{height}-{}", dseqs[0]),
                height: height as i64,
                gas_wanted: 1,
                gas_used: 1,
                events,
                msg_count: msgs.len(),
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn full_batches_share_a_block_while_one_is_in_flight() {
        let chain = BlockChain::new(Duration::from_millis(200));
        let cfg = BatchConfig {
            max_msgs: 10,
            ..BatchConfig::default()
        };
        let b = Batcher::start(chain.clone(), cfg);
        let dseqs: Vec<u64> = (1..=75).collect();
        let out = submit_all(&b, &dseqs).await;
        for (d, o) in dseqs.iter().zip(&out) {
            assert_eq!(closed_dseq(o.as_ref().expect("confirmed")), vec![*d]);
        }
        let txs = chain.txs.lock().unwrap().clone();
        // Seven full txs go out at once (a slot each) and land in one block; the partial
        // rest waits for nothing to be in flight, then takes the next block.
        assert_eq!(txs.len(), 8, "{txs:?}");
        assert_eq!(chain.blocks().len(), 2, "{txs:?}");
        assert!(txs[..7].iter().all(|t| t.1.len() == 10), "{txs:?}");
        assert_eq!(txs[7].1.len(), 5);
        assert_eq!(b.stats().peak_in_flight, 7);
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_txs_are_bounded() {
        let chain = BlockChain::new(Duration::from_millis(200));
        let cfg = BatchConfig {
            max_msgs: 5,
            max_in_flight: 3,
            ..BatchConfig::default()
        };
        let b = Batcher::start(chain.clone(), cfg);
        let dseqs: Vec<u64> = (1..=30).collect();
        let out = submit_all(&b, &dseqs).await;
        assert!(out.iter().all(|o| o.is_ok()));
        assert_eq!(chain.peak.load(Ordering::SeqCst), 3);
        // 6 full txs, 3 per block.
        assert_eq!(chain.blocks().len(), 2, "{:?}", chain.txs.lock().unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn one_in_flight_is_one_tx_per_block() {
        let chain = BlockChain::new(Duration::from_millis(200));
        let cfg = BatchConfig {
            max_msgs: 5,
            max_in_flight: 1,
            ..BatchConfig::default()
        };
        let b = Batcher::start(chain.clone(), cfg);
        let out = submit_all(&b, &(1..=20).collect::<Vec<_>>()).await;
        assert!(out.iter().all(|o| o.is_ok()));
        assert_eq!(chain.blocks().len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn messages_trickling_in_wait_for_the_tx_in_flight_instead_of_going_alone() {
        let chain = BlockChain::new(Duration::from_millis(200));
        let b = Batcher::start(chain.clone(), BatchConfig::default());
        // One message every 10 ms for a second: five blocks' worth.
        let mut calls = Vec::new();
        for d in 1..=100u64 {
            let b = b.clone();
            calls.push(tokio::spawn(async move { b.submit(msg(d)).await }));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for c in calls {
            c.await.unwrap().expect("confirmed");
        }
        let txs = chain.txs.lock().unwrap().clone();
        // One tx per block, never a tx per message.
        assert!(txs.len() <= 7, "{} txs: {txs:?}", txs.len());
        assert_eq!(txs.len(), chain.blocks().len(), "{txs:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_refused_for_its_sequence_in_its_block_is_sent_again_whole() {
        let chain = BlockChain::new(Duration::from_millis(200));
        *chain.refuse_seq_once.lock().unwrap() = Some(3);
        let b = Batcher::start(chain.clone(), BatchConfig::default());
        let dseqs: Vec<u64> = (1..=6).collect();
        let out = submit_all(&b, &dseqs).await;
        for (d, o) in dseqs.iter().zip(&out) {
            assert_eq!(closed_dseq(o.as_ref().expect("confirmed")), vec![*d]);
        }
        let txs = chain.txs.lock().unwrap().clone();
        assert_eq!(txs.len(), 2, "{txs:?}");
        assert_eq!(txs[0].1, txs[1].1, "the same batch, not bisected");
        assert_eq!(b.stats().txs, 2);
    }

    #[test]
    fn receipt_without_msg_index_keeps_all_events_of_a_single_message_tx() {
        let ev = Event {
            kind: "akash.deployment.v1.EventDeploymentClosed".into(),
            attributes: vec![crate::akash::proto::EventAttribute {
                key: "id".into(),
                value: r#"{"owner":"akash1x","dseq":"9"}"#.into(),
                index: true,
            }],
        };
        let r = TxResult {
            hash: "H".into(),
            height: 3,
            gas_wanted: 1,
            gas_used: 1,
            events: vec![ev],
            msg_count: 1,
        };
        let rec = receipt_for(&r, 0);
        assert_eq!(closed_dseq(&rec), vec![9]);
    }
}
