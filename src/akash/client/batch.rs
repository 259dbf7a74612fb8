//! Batching: messages one signer submits concurrently are grouped into one tx per block.
//!
//! A [`Batcher`] owns a task fed by a channel. The task takes what is queued (up to
//! [`BatchConfig::max_msgs`]), sends it as one tx through a [`TxSubmitter`] and waits for the
//! outcome before sending the next one, so one signer has one tx in flight, i.e. at most one
//! batch per block; messages that arrive meanwhile make up the next batch.
//!
//! Each caller gets its own message's outcome: the receipt carries the events whose
//! `msg_index` is its index in the tx. When a batch fails, the culprit is found from the log
//! (`failed to execute message; message index: N: …`, the Cosmos SDK form): that caller gets
//! the error and the others are sent again. When the log names no index (out of gas, fees),
//! the batch is split in halves and each half is sent on its own (bisection), so a bad
//! message never takes its neighbours down. A batch whose simulated gas exceeds
//! [`BatchConfig::max_gas`] is split the same way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

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
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_msgs: 50,
            max_gas: 30_000_000,
            linger: Duration::from_millis(20),
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
    let mut carry: Option<Pending> = None;
    loop {
        let first = match carry.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + cfg.linger;
        while batch.len() < max_msgs {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(p)) => batch.push(p),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        if batch.len() == max_msgs {
            carry = rx.try_recv().ok();
        }
        send_batch(submitter.as_ref(), &cfg, batch, &counters).await;
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
            let events = dseqs
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
                .collect();
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
