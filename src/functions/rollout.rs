//! The pure rollout planner of a Function: from the rollout's state, what the spec wants and
//! what each node runs, the next state and the node calls to make. No I/O; every branch is
//! unit-tested below.
//!
//! - The first version of a function goes to every node at once, cleared by one passed health
//!   check per node (there is nothing older to protect, as Argo Rollouts skips canary steps on
//!   a first deploy).
//! - A new code version (`cid` + `blake3`) is the rollout's target. `canary` moves
//!   `ceil(nodes × step% / 100)` nodes (at least one) per step; `all-at-once` is one step of
//!   100%. At each step the moved nodes are health-checked every `interval`; the step passes
//!   when every moved node has passed `failureThreshold` checks in a row, and fails when one
//!   has failed `failureThreshold` checks in the step (a fetch that fails counts as a failed
//!   check). A failed step rolls every node back to the last good version (`RolloutFailed`).
//! - A node that runs nothing, or another version than it should, gets the version it should
//!   run; a routes- or env-only change (a new config digest) is pushed to every node at once.
//! - Pause holds the rollout at its step; the spec going back to the stable code aborts it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One version of a function's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Code {
    /// The version: the Function's generation that introduced this code.
    pub version: String,
    /// The bundle's CID.
    pub cid: String,
    /// The bundle's BLAKE3 digest.
    pub blake3: String,
}

impl Code {
    /// Whether `other` is the same bundle (whatever its version label).
    pub fn same_bundle(&self, other: &Code) -> bool {
        self.cid == other.cid && self.blake3 == other.blake3
    }
}

/// A version that failed its rollout, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Failed {
    /// The version.
    pub code: Code,
    /// `RolloutFailed` or `HashMismatch`.
    pub reason: String,
    /// What failed.
    pub message: String,
}

/// One node as the rollout tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct NodeState {
    /// The version the node runs (as last seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The config digest last pushed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Whether its last health check passed.
    #[serde(default)]
    pub healthy: bool,
    /// Checks passed in a row in this step.
    #[serde(default)]
    pub passes: u32,
    /// Checks failed in this step.
    #[serde(default)]
    pub failures: u32,
    /// When it was last checked (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check_ms: Option<i64>,
    /// What the last failed check or call said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The rollout's state, kept in the Function's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    /// The last good version: what every node runs when no rollout is in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<Code>,
    /// The good version before `stable` (what `rollout undo` goes back to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Code>,
    /// The version being rolled out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Code>,
    /// The version whose rollout failed (not tried again until the spec changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<Failed>,
    /// The current step (index into the strategy's steps).
    #[serde(default)]
    pub step: usize,
    /// When the current step started (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_started_ms: Option<i64>,
    /// The nodes moved to the target, in the order they were moved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<String>,
    /// Per node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, NodeState>,
}

/// The health gate of every step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// Checks apart (ms).
    pub interval_ms: i64,
    /// Passes in a row that clear a step, and failures in a step that fail it.
    pub threshold: u32,
}

/// What the spec wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The code (its version already chosen: see [`version_for`]).
    pub code: Code,
    /// A digest of routes, env and health path: a change is pushed to every node.
    pub config: String,
    /// Percentages of nodes, increasing, ending at 100 (`[100]` for all at once).
    pub steps: Vec<u8>,
    /// The health gate.
    pub gate: Gate,
    /// Hold the rollout where it is.
    pub paused: bool,
}

/// One node as observed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeObs {
    /// Its name.
    pub node: String,
    /// What it runs (`None`: nothing), or `Err` when it did not answer.
    pub running: Result<Option<Code>, String>,
}

/// A call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Run `code` with the current config on `node`.
    Put {
        /// The node.
        node: String,
        /// The version.
        code: Code,
    },
    /// Health-check the target on `node`.
    Check {
        /// The node.
        node: String,
    },
}

/// Something worth an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Normal (false) or Warning (true).
    pub warning: bool,
    /// The reason.
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The next state.
    pub state: RolloutState,
    /// Calls to make now.
    pub calls: Vec<Call>,
    /// Transitions.
    pub notes: Vec<Note>,
    /// When the next check is due (ms), if any.
    pub next_check_ms: Option<i64>,
}

/// The version label of the spec's code: the one it already carries when it is the stable,
/// target, failed or previous bundle, else the generation (the spec changed it now).
pub fn version_for(state: &RolloutState, cid: &str, blake3: &str, generation: i64) -> String {
    let code = Code {
        version: String::new(),
        cid: cid.to_string(),
        blake3: blake3.to_string(),
    };
    [
        state.stable.as_ref(),
        state.target.as_ref(),
        state.failed.as_ref().map(|f| &f.code),
        state.previous.as_ref(),
    ]
    .into_iter()
    .flatten()
    .find(|c| c.same_bundle(&code))
    .map(|c| c.version.clone())
    .unwrap_or_else(|| generation.to_string())
}

/// Nodes to have moved at a step of `pct`%: rounded up, at least one, at most all.
pub fn nodes_for_step(total: usize, pct: u8) -> usize {
    if total == 0 {
        return 0;
    }
    (total * pct as usize).div_ceil(100).clamp(1, total)
}

/// Node names in their natural order (`node-2` before `node-10`).
pub fn node_order(a: &str, b: &str) -> std::cmp::Ordering {
    let num = |s: &str| s.rsplit('-').next().and_then(|n| n.parse::<u64>().ok());
    (num(a), a).cmp(&(num(b), b))
}

fn reset_counters(n: &mut NodeState) {
    n.passes = 0;
    n.failures = 0;
    n.last_check_ms = None;
}

/// Plans the next move.
pub fn plan(state: &RolloutState, d: &Desired, nodes: &[NodeObs], now_ms: i64) -> Plan {
    let mut s = state.clone();
    let mut notes = Vec::new();
    let mut names: Vec<String> = nodes.iter().map(|n| n.node.clone()).collect();
    names.sort_by(|a, b| node_order(a, b));
    s.nodes.retain(|k, _| names.contains(k));
    s.moved.retain(|k| names.contains(k));
    for n in nodes {
        let e = s.nodes.entry(n.node.clone()).or_default();
        match &n.running {
            Ok(Some(c)) => e.version = Some(c.version.clone()),
            Ok(None) => {
                e.version = None;
                e.config = None;
            }
            Err(_) => {}
        }
    }

    // What to roll out.
    let same_stable = s.stable.as_ref().is_some_and(|c| c.same_bundle(&d.code));
    let same_target = s.target.as_ref().is_some_and(|c| c.same_bundle(&d.code));
    let same_failed = s
        .failed
        .as_ref()
        .is_some_and(|f| f.code.same_bundle(&d.code));
    if same_stable {
        if let Some(t) = s.target.take() {
            notes.push(Note {
                warning: false,
                reason: "RolloutAborted",
                message: format!(
                    "the spec is back at version {}: version {} is no longer rolled out",
                    d.code.version, t.version
                ),
            });
            s.moved.clear();
        }
        s.failed = None;
    } else if !same_target && !same_failed {
        let first = s.stable.is_none();
        notes.push(Note {
            warning: false,
            reason: "RolloutStarted",
            message: match &s.stable {
                Some(st) => format!(
                    "rolling out version {} (cid {}) over version {}",
                    d.code.version, d.code.cid, st.version
                ),
                None => format!(
                    "rolling out version {} (cid {}) to every node",
                    d.code.version, d.code.cid
                ),
            },
        });
        s.target = Some(d.code.clone());
        s.failed = None;
        s.step = 0;
        s.step_started_ms = None;
        if !first {
            // Nodes already moved to an older target go back in line.
            s.moved.clear();
        }
        for n in s.nodes.values_mut() {
            reset_counters(n);
        }
    }

    let steps: Vec<u8> = if s.stable.is_none() || d.steps.is_empty() {
        vec![100]
    } else {
        d.steps.clone()
    };

    // Move nodes for the current step.
    if let Some(target) = s.target.clone() {
        let step = s.step.min(steps.len() - 1);
        let want = nodes_for_step(names.len(), steps[step]);
        if s.moved.len() < want && (!d.paused || s.stable.is_none()) {
            let mut added = Vec::new();
            for n in &names {
                if s.moved.len() >= want {
                    break;
                }
                if !s.moved.contains(n) {
                    s.moved.push(n.clone());
                    added.push(n.clone());
                }
            }
            for n in s.moved.clone() {
                if let Some(ns) = s.nodes.get_mut(&n) {
                    reset_counters(ns);
                }
            }
            s.step_started_ms = Some(now_ms);
            notes.push(Note {
                warning: false,
                reason: "RolloutStep",
                message: format!(
                    "step {}/{} ({}%): {} moved to version {} ({} of {} nodes)",
                    step + 1,
                    steps.len(),
                    steps[step],
                    added.join(", "),
                    target.version,
                    s.moved.len(),
                    names.len()
                ),
            });
        }
    }

    // Judge the step.
    if let Some(target) = s.target.clone() {
        let step = s.step.min(steps.len() - 1);
        let failed_node = s
            .moved
            .iter()
            .find(|n| {
                s.nodes
                    .get(*n)
                    .is_some_and(|ns| ns.failures >= d.gate.threshold)
            })
            .cloned();
        // A first version has nothing older to protect: one passed check per node clears it.
        let need = if s.stable.is_none() {
            1
        } else {
            d.gate.threshold
        };
        let all_pass = !s.moved.is_empty()
            && s.moved.len() >= nodes_for_step(names.len(), steps[step])
            && s.moved.iter().all(|n| {
                s.nodes.get(n).is_some_and(|ns| {
                    ns.passes >= need && ns.version.as_deref() == Some(&target.version)
                })
            });
        if let Some(node) = failed_node {
            let why = s
                .nodes
                .get(&node)
                .and_then(|n| n.last_error.clone())
                .unwrap_or_default();
            let message = format!(
                "version {} failed {} health checks on {node} at step {}/{} ({}%): {why}; every node goes back to version {}",
                target.version,
                d.gate.threshold,
                step + 1,
                steps.len(),
                steps[step],
                s.stable.as_ref().map_or("none".to_string(), |c| c.version.clone()),
            );
            rollback(&mut s, "RolloutFailed", message, &mut notes);
        } else if all_pass && !(d.paused && s.stable.is_some()) {
            if step + 1 >= steps.len() {
                notes.push(Note {
                    warning: false,
                    reason: "RolloutComplete",
                    message: format!(
                        "version {} runs on every node ({} nodes)",
                        target.version,
                        names.len()
                    ),
                });
                if let Some(old) = s.stable.take() {
                    s.previous = Some(old);
                }
                s.stable = Some(target);
                s.target = None;
                s.moved.clear();
                s.step = 0;
                s.step_started_ms = None;
            } else {
                s.step = step + 1;
                s.step_started_ms = Some(now_ms);
                for n in s.nodes.values_mut() {
                    reset_counters(n);
                }
                // The next plan moves the step's nodes.
                return plan_again(s, d, nodes, now_ms, notes);
            }
        }
    }

    finish(s, d, nodes, now_ms, notes)
}

fn plan_again(
    s: RolloutState,
    d: &Desired,
    nodes: &[NodeObs],
    now_ms: i64,
    mut notes: Vec<Note>,
) -> Plan {
    let mut p = plan(&s, d, nodes, now_ms);
    notes.append(&mut p.notes);
    p.notes = notes;
    p
}

/// Every node back to the stable version; the target remembered as failed.
pub fn rollback(
    s: &mut RolloutState,
    reason: &'static str,
    message: String,
    notes: &mut Vec<Note>,
) {
    if let Some(t) = s.target.take() {
        s.failed = Some(Failed {
            code: t,
            reason: reason.to_string(),
            message: message.clone(),
        });
    }
    s.moved.clear();
    s.step = 0;
    s.step_started_ms = None;
    for n in s.nodes.values_mut() {
        reset_counters(n);
    }
    notes.push(Note {
        warning: true,
        reason,
        message,
    });
}

/// The calls that bring every node where it should be, and the checks due.
fn finish(s: RolloutState, d: &Desired, nodes: &[NodeObs], now_ms: i64, notes: Vec<Note>) -> Plan {
    let mut calls = Vec::new();
    let mut next_check_ms: Option<i64> = None;
    for n in nodes {
        let want = match (&s.target, s.moved.contains(&n.node)) {
            (Some(t), true) => Some(t),
            _ => s.stable.as_ref(),
        };
        let Some(want) = want else { continue };
        let ns = s.nodes.get(&n.node).cloned().unwrap_or_default();
        let runs_it =
            matches!(&n.running, Ok(Some(c)) if c.same_bundle(want) && c.version == want.version);
        let reachable = n.running.is_ok();
        if !reachable {
            // Counted by its checks when moved; otherwise looked at again next time.
        } else if !runs_it || ns.config.as_deref() != Some(d.config.as_str()) {
            calls.push(Call::Put {
                node: n.node.clone(),
                code: want.clone(),
            });
        }
        if s.target.is_some() && s.moved.contains(&n.node) {
            let due = ns.last_check_ms.map_or(now_ms, |t| t + d.gate.interval_ms);
            if due <= now_ms && (runs_it || !reachable) {
                calls.push(Call::Check {
                    node: n.node.clone(),
                });
                next_check_ms = Some(next_check_ms.map_or(now_ms + d.gate.interval_ms, |x| {
                    x.min(now_ms + d.gate.interval_ms)
                }));
            } else {
                next_check_ms = Some(next_check_ms.map_or(due, |x| x.min(due)));
            }
        }
    }
    Plan {
        state: s,
        calls,
        notes,
        next_check_ms,
    }
}

/// Folds a health check's result into the state.
pub fn record_check(s: &mut RolloutState, node: &str, ok: Result<(), String>, now_ms: i64) {
    let n = s.nodes.entry(node.to_string()).or_default();
    n.last_check_ms = Some(now_ms);
    match ok {
        Ok(()) => {
            n.healthy = true;
            n.passes += 1;
            n.last_error = None;
        }
        Err(e) => {
            n.healthy = false;
            n.passes = 0;
            n.failures += 1;
            n.last_error = Some(e);
        }
    }
}

/// Folds a PUT's result into the state: the node runs `code` with `config`, or the call
/// failed (a failure on a moved node counts as a failed check; a hash mismatch fails the
/// rollout at once, since no node can ever run that bundle).
pub fn record_put(
    s: &mut RolloutState,
    node: &str,
    code: &Code,
    config: &str,
    result: Result<(), (bool, String)>,
    now_ms: i64,
    notes: &mut Vec<Note>,
) {
    match result {
        Ok(()) => {
            let n = s.nodes.entry(node.to_string()).or_default();
            n.version = Some(code.version.clone());
            n.config = Some(config.to_string());
        }
        Err((hash_mismatch, e)) => {
            let is_target = s.target.as_ref().is_some_and(|t| t.same_bundle(code));
            if hash_mismatch && is_target {
                let message =
                    format!(
                    "version {} (cid {}) was refused by {node}: {e}; every node keeps version {}",
                    code.version,
                    code.cid,
                    s.stable.as_ref().map_or("none".to_string(), |c| c.version.clone())
                );
                rollback(s, "HashMismatch", message, notes);
                return;
            }
            if is_target && s.moved.iter().any(|m| m == node) {
                record_check(s, node, Err(e), now_ms);
            } else if let Some(n) = s.nodes.get_mut(node) {
                n.last_error = Some(e);
            }
        }
    }
}

#[cfg(test)]
mod tests;
