//! The pure planner of an Akash-hosted resource: from what is desired (the rendered groups and
//! manifest version of the current generation) and what is observed (intents, the chain, the
//! providers' answers), the next steps. No I/O: every branch is unit-tested.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::akash::proto::market::v1::{BidID, LeaseID};
use crate::sdl::GroupSpec;
use crate::store::{DeploymentIntent, IntentState};

use super::status::{AkashStatus, Phase};

/// The longest wait between looks at an order without bids.
const NO_BIDS_MAX_WAIT: Duration = Duration::from_secs(30);

/// What the current generation should run.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The resource's generation.
    pub generation: i64,
    /// The deployment groups, as the chain stores them.
    pub groups: Vec<GroupSpec>,
    /// The manifest version (hex).
    pub version: String,
    /// Providers that may win (empty: any).
    pub allow: Vec<String>,
    /// Providers that never win.
    pub deny: Vec<String>,
    /// Whether an HTTP health check gates readiness.
    pub health_checked: bool,
    /// Consecutive failures that make a lease unhealthy.
    pub failure_threshold: u32,
    /// When to top up the escrow, and to how much runway.
    pub escrow: Option<EscrowPolicy>,
}

/// Escrow top-ups: when the runway falls under `top_up_below`, deposit up to `top_up_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscrowPolicy {
    /// Top up when the runway is shorter.
    pub top_up_below: Duration,
    /// The runway a top-up restores.
    pub top_up_to: Duration,
}

/// A deployment group's state on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupPhase {
    /// Open: it has an order or a lease.
    #[default]
    Open,
    /// Paused (its provider closed the lease): no order until it is started again.
    Paused,
    /// Its escrow ran dry.
    InsufficientFunds,
    /// Closed for good.
    Closed,
}

/// A lease that is no longer active, as the chain says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedLease {
    /// The lease's state: `closed`, `insufficient_funds`.
    pub state: String,
    /// `LeaseClosedReason` (1 owner, 10000–10004 provider, 20000 insufficient funds).
    pub reason: i32,
}

/// One deployment as the chain has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChainDeployment {
    /// Whether it is active (not closed).
    pub active: bool,
    /// Its manifest version (hex).
    pub hash: String,
    /// Its groups: gseq, spec, state.
    pub groups: Vec<(u32, GroupSpec, GroupPhase)>,
    /// Its active leases.
    pub leases: Vec<LeaseID>,
    /// Open bids on its open orders, with their price per block (a decimal).
    pub bids: Vec<(BidID, f64)>,
    /// When the first open bid of each group (gseq) landed, estimated from its height (ms
    /// since the epoch); the bid window counts from it.
    pub first_bid_ms: BTreeMap<u32, i64>,
    /// The price per block of each active lease (a decimal, in the escrow's denomination).
    pub lease_prices: BTreeMap<LeaseKey, f64>,
    /// The escrow account's funds left (a decimal) and their denomination.
    pub escrow: Option<(f64, String)>,
    /// Leases the status tracks that are no longer active, with why.
    pub closed_leases: BTreeMap<LeaseKey, ClosedLease>,
}

/// What a lease's provider says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseHealth {
    /// Every service of the group has its replicas available.
    pub available: bool,
    /// The health check passed (true when there is none).
    pub healthy: bool,
    /// The URIs the provider serves the lease's services at.
    pub uris: Vec<String>,
    /// Per service (by name), its URIs, the ingress hostname first.
    pub services: Vec<(String, Vec<String>)>,
    /// The provider's gateway did not answer (in time).
    pub unreachable: bool,
    /// The provider is no longer registered on chain.
    pub provider_gone: bool,
    /// A Proxy's routes, as given to it at this look.
    pub routes: Option<Vec<crate::spec::akash_status::ProxyRoute>>,
}

/// Everything the planner looks at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// Now, in milliseconds since the epoch.
    pub now_ms: i64,
    /// Deletion was requested.
    pub deleting: bool,
    /// The resource carries our finalizer.
    pub has_finalizer: bool,
    /// The resource's intents that are not closed, oldest first.
    pub intents: Vec<DeploymentIntent>,
    /// The chain's view of each intent's dseq; absent: no such deployment.
    pub chain: BTreeMap<u64, ChainDeployment>,
    /// Provider answers for leases whose manifest is at the desired version.
    pub health: BTreeMap<LeaseKey, LeaseHealth>,
    /// The status as last written.
    pub status: AkashStatus,
    /// The chain's observed time per block, in milliseconds.
    pub block_time_ms: f64,
    /// Pending intents whose create was broadcast and may still land: dseq → the last height
    /// its tx can be included at. Such a create is waited for, never sent again.
    pub in_flight: BTreeMap<u64, u64>,
    /// Groups `(dseq, gseq)` whose lease is being created right now (detached).
    pub leasing: std::collections::BTreeSet<(u64, u32)>,
    /// Failures per provider in our record of it: fewer wins a tie on price.
    pub provider_failures: BTreeMap<String, u32>,
    /// A top-up of the escrow was sent and its outcome is not known yet.
    pub deposit_in_flight: bool,
    /// For groups `(dseq, gseq)` that have waited past the bid timeout: the providers on chain
    /// that match their placement (read only then).
    pub placement: BTreeMap<(u64, u32), PlacementMatch>,
}

/// The providers on chain that match a group's placement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlacementMatch {
    /// Their addresses, sorted.
    pub matching: Vec<String>,
    /// How many providers are on chain.
    pub total: usize,
}

impl PlacementMatch {
    /// In words, for the `NoBids` message.
    fn describe(&self, excluded: impl Fn(&str) -> bool) -> String {
        if self.matching.is_empty() {
            return format!(
                "no provider of the {} on chain matches its placement (attributes, auditors)",
                self.total
            );
        }
        const SHOWN: usize = 5;
        let mut names: Vec<String> = self
            .matching
            .iter()
            .take(SHOWN)
            .map(|p| {
                if excluded(p) {
                    format!("{p} (excluded after faults)")
                } else {
                    p.clone()
                }
            })
            .collect();
        if self.matching.len() > SHOWN {
            names.push(format!("and {} more", self.matching.len() - SHOWN));
        }
        format!(
            "{} of the {} providers on chain match its placement: {}",
            self.matching.len(),
            self.total,
            names.join(", ")
        )
    }
}

/// A lease without its owner (the owner is always us).
pub type LeaseKey = (u64, u32, u32, String);

/// The key of a lease.
pub fn lease_key(l: &LeaseID) -> LeaseKey {
    (l.dseq, l.gseq, l.oseq, l.provider.clone())
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Add the finalizer before anything is created on chain.
    AddFinalizer,
    /// Remove the finalizer: nothing of ours is left on chain.
    RemoveFinalizer,
    /// Record an intent with a new dseq, then create that deployment.
    CreateDeployment,
    /// The intent's create never committed: send it again with the same dseq.
    ResendCreate {
        /// The intent's dseq.
        dseq: u64,
    },
    /// The chain holds the intent's deployment: it is ours.
    Adopt {
        /// The dseq.
        dseq: u64,
    },
    /// The intent is over: its deployment is closed or never existed.
    Forget {
        /// The dseq.
        dseq: u64,
        /// Why, for the event.
        why: String,
    },
    /// A new manifest version on the same groups.
    UpdateDeployment {
        /// The dseq.
        dseq: u64,
    },
    /// Take a bid.
    CreateLease {
        /// The bid, with its `bseq`.
        bid: BidID,
        /// Its price per block.
        price: f64,
    },
    /// Send the manifest to a lease's provider.
    SendManifest {
        /// The lease.
        lease: LeaseID,
    },
    /// Close a broken lease; its provider is kept out of this resource's bids for a while.
    CloseLease {
        /// The lease.
        lease: LeaseID,
        /// The fault, one CamelCase word (`Unhealthy`, `ProviderUnreachable`, …).
        reason: &'static str,
        /// For people.
        message: String,
    },
    /// A lease closed without us: say so; when its provider closed it, keep that provider
    /// out of this resource's bids for a while.
    LeaseLost {
        /// The lease.
        lease: LeaseID,
        /// `LeaseClosed`, `LeaseClosedOutOfBand`, `EscrowExhausted`.
        reason: &'static str,
        /// For people.
        message: String,
        /// Whether its provider is excluded for a while.
        exclude: bool,
    },
    /// Start a group its provider paused (by closing the lease): a new order, new bids.
    StartGroup {
        /// The dseq.
        dseq: u64,
        /// The group.
        gseq: u32,
    },
    /// Top up the escrow.
    Deposit {
        /// The dseq.
        dseq: u64,
        /// The amount, in the escrow's smallest unit.
        amount: u128,
        /// The escrow's denomination.
        denom: String,
        /// The runway before the top-up, in seconds (for the event).
        runway_secs: i64,
    },
    /// Close a deployment of ours.
    CloseDeployment {
        /// The dseq.
        dseq: u64,
        /// Why, for the event.
        why: String,
    },
}

/// What the planner decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Do these now, in order.
    pub steps: Vec<Step>,
    /// The phase after them.
    pub phase: Phase,
    /// One CamelCase word for the `Ready` condition.
    pub reason: &'static str,
    /// For people.
    pub message: String,
    /// With no steps: look again after this.
    pub wait: Option<Duration>,
    /// The dseq that serves (or will serve) the current generation.
    pub current: Option<u64>,
    /// An older deployment still serving.
    pub previous: Option<u64>,
    /// Whether the current generation is what runs.
    pub synced: bool,
}

/// Timing knobs of the planner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// After the first bid on an order, wait this long for others before choosing.
    pub bid_window: Duration,
    /// With no bid after this, say `NoBids` (and keep waiting).
    pub bid_timeout: Duration,
    /// How soon to look again while waiting on providers.
    pub poll: Duration,
    /// A replacement deployment not Ready after this leaves the resource Degraded (the old
    /// deployment keeps serving).
    pub rollout_timeout: Duration,
    /// How long a provider stays out of a resource's bids after a fault of its lease.
    pub exclusion: Duration,
    /// Consecutive looks at which a provider's gateway did not answer before its lease is
    /// given up (`ProviderUnreachable`).
    pub unreachable_threshold: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            bid_window: Duration::from_secs(5),
            rollout_timeout: Duration::from_secs(600),
            bid_timeout: Duration::from_secs(300),
            poll: Duration::from_secs(2),
            exclusion: Duration::from_secs(30 * 60),
            unreachable_threshold: 3,
        }
    }
}

impl Plan {
    fn new(phase: Phase, reason: &'static str, message: impl Into<String>) -> Plan {
        Plan {
            steps: Vec::new(),
            phase,
            reason,
            message: message.into(),
            wait: None,
            current: None,
            previous: None,
            synced: false,
        }
    }
}

/// Plans the next steps.
pub fn plan(desired: Option<&Desired>, obs: &Observed, timing: &Timing) -> Plan {
    let live: Vec<&DeploymentIntent> = obs
        .intents
        .iter()
        .filter(|i| i.state != IntentState::Closed)
        .collect();

    if obs.deleting {
        return plan_delete(&live, obs);
    }
    let Some(desired) = desired else {
        // The spec cannot be rendered; the caller reports why. Nothing changes on chain.
        return Plan::new(Phase::Failed, "RenderFailed", "the SDL cannot be rendered");
    };

    let mut pre = Vec::new();
    if !obs.has_finalizer {
        pre.push(Step::AddFinalizer);
    }

    let Some(newest) = live.last().copied() else {
        let mut p = Plan::new(Phase::Deploying, "Deploying", "creating the deployment");
        p.steps = pre;
        p.steps.push(Step::CreateDeployment);
        return p;
    };
    let older: Vec<&DeploymentIntent> = live[..live.len() - 1].to_vec();
    let previous_serving = older
        .iter()
        .rev()
        .find(|i| obs.chain.get(&i.dseq).is_some_and(|d| d.active))
        .map(|i| i.dseq);

    let mut p = plan_newest(newest, desired, obs, timing);
    p.current = Some(newest.dseq);
    p.previous = previous_serving;
    let mut steps = pre;
    steps.append(&mut p.steps);

    // Older deployments: forgotten when gone, closed once the newest is Ready.
    for old in &older {
        match obs.chain.get(&old.dseq) {
            None if old.state == IntentState::Pending => steps.push(Step::Forget {
                dseq: old.dseq,
                why: "superseded before it reached the chain".into(),
            }),
            None => steps.push(Step::Forget {
                dseq: old.dseq,
                why: "no longer on chain".into(),
            }),
            Some(d) if !d.active => steps.push(Step::Forget {
                dseq: old.dseq,
                why: "closed on chain".into(),
            }),
            Some(_) if p.phase == Phase::Ready => steps.push(Step::CloseDeployment {
                dseq: old.dseq,
                why: format!("replaced by deployment {}", newest.dseq),
            }),
            Some(_) => {}
        }
    }
    if p.phase != Phase::Ready && previous_serving.is_some() && p.phase != Phase::Failed {
        p.phase = Phase::Updating;
        let started_ms = chrono::DateTime::parse_from_rfc3339(&newest.created_at)
            .map(|t| t.timestamp_millis())
            .unwrap_or(obs.now_ms);
        let age = Duration::from_millis((obs.now_ms - started_ms).max(0) as u64);
        if age >= timing.rollout_timeout {
            p.phase = Phase::Degraded;
            p.message = format!(
                "deployment {} is not Ready after {}s ({}: {}); deployment {} keeps serving",
                newest.dseq,
                age.as_secs(),
                p.reason,
                p.message,
                previous_serving.unwrap_or_default()
            );
            p.reason = "RolloutStalled";
        }
    }
    if p.phase == Phase::Ready {
        p.previous = None;
    }
    p.steps = steps;
    p
}

fn plan_delete(live: &[&DeploymentIntent], obs: &Observed) -> Plan {
    let mut p = Plan::new(Phase::Deleting, "Deleting", "closing the deployments");
    if live.is_empty() {
        if obs.has_finalizer {
            p.steps.push(Step::RemoveFinalizer);
        }
        p.message = "every deployment is closed".into();
        return p;
    }
    for i in live {
        match obs.chain.get(&i.dseq) {
            Some(d) if d.active => p.steps.push(Step::CloseDeployment {
                dseq: i.dseq,
                why: "the resource is being deleted".into(),
            }),
            Some(_) => p.steps.push(Step::Forget {
                dseq: i.dseq,
                why: "closed on chain".into(),
            }),
            None => p.steps.push(Step::Forget {
                dseq: i.dseq,
                why: "never reached the chain".into(),
            }),
        }
    }
    p
}

fn plan_newest(
    newest: &DeploymentIntent,
    desired: &Desired,
    obs: &Observed,
    timing: &Timing,
) -> Plan {
    let dseq = newest.dseq;
    let dep = obs.chain.get(&dseq);
    match (newest.state, dep) {
        (IntentState::Pending, None) if obs.in_flight.contains_key(&dseq) => {
            let mut p = Plan::new(
                Phase::Deploying,
                "CreatePending",
                match obs.in_flight[&dseq] {
                    u64::MAX => format!("the create of deployment {dseq} is on its way to the chain"),
                    h => format!(
                        "the create of deployment {dseq} was broadcast and may still land until height {h}; waiting for it"
                    ),
                },
            );
            p.wait = Some(timing.poll);
            return p;
        }
        (IntentState::Pending, None) => {
            let mut p = Plan::new(
                Phase::Deploying,
                "Deploying",
                format!("deployment {dseq} is not on chain yet; sending it (again)"),
            );
            p.steps.push(Step::ResendCreate { dseq });
            return p;
        }
        (IntentState::Pending, Some(d)) if d.hash != newest.manifest_version => {
            let mut p = Plan::new(
                Phase::Deploying,
                "Deploying",
                format!("deployment {dseq} on chain carries another manifest version; not ours"),
            );
            p.steps.push(Step::Forget {
                dseq,
                why: format!(
                    "the deployment on chain has manifest version {} instead of {}",
                    d.hash, newest.manifest_version
                ),
            });
            p.steps.push(Step::CreateDeployment);
            return p;
        }
        (IntentState::Pending, Some(_)) => {
            let mut p = Plan::new(Phase::Deploying, "Deploying", "adopting the deployment");
            p.steps.push(Step::Adopt { dseq });
            // Continue in the next round with the intent active.
            return p;
        }
        (IntentState::Closing, Some(d)) if d.active => {
            let mut p = Plan::new(Phase::Deploying, "Deploying", "finishing a close");
            p.steps.push(Step::CloseDeployment {
                dseq,
                why: "a close was started".into(),
            });
            return p;
        }
        (_, None) | (_, Some(ChainDeployment { active: false, .. })) => {
            let dry = dep.is_some_and(|d| {
                d.groups
                    .iter()
                    .any(|(_, _, g)| *g == GroupPhase::InsufficientFunds)
            });
            let mut p = if dry {
                Plan::new(
                    Phase::Deploying,
                    "EscrowExhausted",
                    format!(
                        "deployment {dseq} was closed by the chain: its escrow ran dry (leases closed, reason 20000: insufficient funds); a new deployment replaces it once the wallet can fund it"
                    ),
                )
            } else {
                Plan::new(
                    Phase::Deploying,
                    "DeploymentLost",
                    format!("deployment {dseq} was closed outside af-operator; creating a new one"),
                )
            };
            p.steps.push(Step::Forget {
                dseq,
                why: "closed on chain (not by this resource's reconcile)".into(),
            });
            p.steps.push(Step::CreateDeployment);
            return p;
        }
        _ => {}
    }
    let dep = dep.expect("matched above");

    let chain_groups: Vec<&GroupSpec> = dep.groups.iter().map(|(_, g, _)| g).collect();
    let same_groups = chain_groups.len() == desired.groups.len()
        && chain_groups
            .iter()
            .zip(&desired.groups)
            .all(|(a, b)| *a == b);
    if !same_groups {
        // Resources, count, placement or price changed: blue/green.
        let mut p = Plan::new(
            Phase::Updating,
            "Replacing",
            format!("the groups changed; a new deployment replaces {dseq}"),
        );
        p.steps.push(Step::CreateDeployment);
        return p;
    }

    let mut steps = Vec::new();
    let version_on_chain = dep.hash == desired.version;
    if !version_on_chain {
        steps.push(Step::UpdateDeployment { dseq });
    }

    // Leases the status tracks that the chain no longer has active: closed by their
    // provider, by another tool with our wallet, or by the escrow running dry.
    let mut faults: Vec<&'static str> = Vec::new();
    let mut fault_messages: Vec<String> = Vec::new();
    for t in obs
        .status
        .leases
        .iter()
        .filter(|t| t.dseq == dseq.to_string())
    {
        let key = lease_key_of_status(t);
        if dep.leases.iter().any(|l| lease_key(l) == key) {
            continue;
        }
        let lease = LeaseID {
            owner: newest.owner.clone(),
            dseq,
            gseq: t.gseq,
            oseq: t.oseq,
            provider: t.provider.clone(),
            bseq: 0,
        };
        let closed = dep.closed_leases.get(&key);
        let code = closed.map_or(0, |c| c.reason);
        let (reason, exclude, message) = match code {
            1 => (
                "LeaseClosedOutOfBand",
                false,
                format!(
                    "lease {dseq}/{}/{} at {} was closed by this wallet outside af-operator (another tool or a person); re-placing it",
                    t.gseq, t.oseq, t.provider
                ),
            ),
            20000 => (
                "EscrowExhausted",
                false,
                format!(
                    "lease {dseq}/{}/{} at {} was closed: the escrow ran dry (insufficient funds)",
                    t.gseq, t.oseq, t.provider
                ),
            ),
            _ => (
                "LeaseClosed",
                true,
                format!(
                    "{} closed lease {dseq}/{}/{} ({}); re-placing it on another provider",
                    t.provider,
                    t.gseq,
                    t.oseq,
                    lease_closed_reason(code)
                ),
            ),
        };
        faults.push(reason);
        fault_messages.push(message.clone());
        steps.push(Step::LeaseLost {
            lease,
            reason,
            message,
            exclude,
        });
    }

    let excluded = |provider: &str| {
        obs.status
            .excluded
            .iter()
            .any(|e| e.provider == provider && e.until_ms > obs.now_ms)
    };

    // Per group: a lease, the manifest, replicas, health.
    let mut waiting_bids: Vec<String> = Vec::new();
    let mut no_bids: Vec<String> = Vec::new();
    // How long the longest-starved group has waited past the bid timeout.
    let mut starved_for = Duration::ZERO;
    let mut starting = 0usize;
    let mut wait: Option<Duration> = None;
    let mut leasing = false;
    let mut sent_all = version_on_chain;
    let mut reorder: Vec<String> = Vec::new();
    for (gseq, group, state) in &dep.groups {
        match state {
            GroupPhase::Open => {}
            GroupPhase::Paused => {
                // Its provider closed the lease (the chain pauses the group): a new order.
                steps.push(Step::StartGroup { dseq, gseq: *gseq });
                waiting_bids.push(group.name.clone());
                sent_all = false;
                wait = min_opt(wait, timing.poll);
                continue;
            }
            GroupPhase::InsufficientFunds | GroupPhase::Closed => {
                reorder.push(group.name.clone());
                continue;
            }
        }
        let lease = dep.leases.iter().find(|l| l.gseq == *gseq);
        let Some(lease) = lease else {
            if obs.leasing.contains(&(dseq, *gseq)) {
                // A lease of this group is on its way to the chain.
                leasing = true;
                sent_all = false;
                wait = min_opt(wait, timing.poll);
                continue;
            }
            let offered: Vec<&(BidID, f64)> = dep
                .bids
                .iter()
                .filter(|(b, _)| b.gseq == *gseq)
                .filter(|(b, _)| desired.allow.is_empty() || desired.allow.contains(&b.provider))
                .filter(|(b, _)| !desired.deny.contains(&b.provider))
                .collect();
            let shunned = offered
                .iter()
                .filter(|(b, _)| excluded(&b.provider))
                .count();
            let mut bids: Vec<&(BidID, f64)> = offered
                .iter()
                .copied()
                .filter(|(b, _)| !excluded(&b.provider))
                .collect();
            let tracked = obs
                .status
                .bidding
                .iter()
                .find(|b| b.dseq == dseq.to_string() && b.gseq == *gseq);
            let first_bid_ms = tracked.and_then(|b| b.first_bid_ms);
            let since_ms = tracked.map_or(obs.now_ms, |b| b.since_ms);
            sent_all = false;
            let waited = Duration::from_millis((obs.now_ms - since_ms).max(0) as u64);
            if bids.is_empty() && shunned > 0 && waited >= timing.bid_timeout {
                // Every bidder is excluded after faults, and no other one came within the bid
                // timeout: a provider that failed once beats not running at all. The usual
                // choice (price, then fewer failures) among them.
                bids = offered;
            }
            if bids.is_empty() {
                if waited >= timing.bid_timeout {
                    let mut why = format!("{} (at most {} per block", group.name, max_price(group));
                    if shunned > 0 {
                        why.push_str(&format!(
                            "; {shunned} bid(s) from providers excluded after faults"
                        ));
                    }
                    if let Some(m) = obs.placement.get(&(dseq, *gseq)) {
                        why.push_str("; ");
                        why.push_str(&m.describe(excluded));
                    }
                    why.push(')');
                    no_bids.push(why);
                    starved_for = starved_for.max(waited.saturating_sub(timing.bid_timeout));
                } else {
                    waiting_bids.push(group.name.clone());
                }
                wait = min_opt(wait, timing.poll);
                continue;
            }
            let window_left = match first_bid_ms {
                Some(t) => timing
                    .bid_window
                    .saturating_sub(Duration::from_millis((obs.now_ms - t).max(0) as u64)),
                None => timing.bid_window,
            };
            // Every provider that matches the placement (and may win) has bid: no bid is left
            // to wait for.
            let all_in = obs.placement.get(&(dseq, *gseq)).is_some_and(|m| {
                let mut eligible = m
                    .matching
                    .iter()
                    .filter(|p| desired.allow.is_empty() || desired.allow.contains(p))
                    .filter(|p| !desired.deny.contains(p) && !excluded(p))
                    .peekable();
                eligible.peek().is_some()
                    && eligible.all(|p| bids.iter().any(|(b, _)| &b.provider == p))
            });
            if !window_left.is_zero() && !all_in {
                waiting_bids.push(group.name.clone());
                wait = min_opt(wait, window_left);
                continue;
            }
            let failures = |p: &str| obs.provider_failures.get(p).copied().unwrap_or(0);
            let best = bids
                .iter()
                .min_by(|(a, pa), (b, pb)| {
                    pa.total_cmp(pb)
                        .then_with(|| failures(&a.provider).cmp(&failures(&b.provider)))
                        .then_with(|| a.provider.cmp(&b.provider))
                        .then_with(|| a.oseq.cmp(&b.oseq))
                })
                .expect("not empty");
            steps.push(Step::CreateLease {
                bid: best.0.clone(),
                price: best.1,
            });
            leasing = true;
            continue;
        };
        let tracked = obs
            .status
            .leases
            .iter()
            .find(|t| lease_key_of_status(t) == lease_key(lease));
        let sent = tracked.and_then(|t| t.manifest_version.as_deref()) == Some(&desired.version);
        if version_on_chain && !sent {
            steps.push(Step::SendManifest {
                lease: lease.clone(),
            });
            sent_all = false;
            starting += 1;
            continue;
        }
        if !sent {
            starting += 1;
            continue;
        }
        let at = format!(
            "lease {dseq}/{}/{} at {}",
            lease.gseq, lease.oseq, lease.provider
        );
        let mut give_up = |reason: &'static str, message: String, steps: &mut Vec<Step>| {
            faults.push(reason);
            fault_messages.push(message.clone());
            steps.push(Step::CloseLease {
                lease: lease.clone(),
                reason,
                message,
            });
        };
        let threshold = desired.failure_threshold.max(1);
        match obs.health.get(&lease_key(lease)) {
            Some(h) if h.provider_gone => {
                give_up(
                    "ProviderGone",
                    format!("{at}: the provider is no longer registered on chain"),
                    &mut steps,
                );
            }
            Some(h) if h.unreachable => {
                let n = tracked.map_or(0, |t| t.unreachable).saturating_add(1);
                if n >= timing.unreachable_threshold.max(1) {
                    give_up(
                        "ProviderUnreachable",
                        format!("{at}: the provider's gateway did not answer {n} times in a row"),
                        &mut steps,
                    );
                } else if !tracked.is_some_and(|t| t.healthy) {
                    starting += 1;
                }
                wait = min_opt(wait, timing.poll);
            }
            Some(h) if h.available && h.healthy => {}
            Some(h) if h.available => {
                // This look's failure counts too: `failureThreshold` consecutive failures make
                // the lease unhealthy; below that a lease that was healthy keeps serving (and
                // is looked at again soon), one that never was is still starting.
                let failures = tracked.map_or(0, |t| t.health_failures).saturating_add(1);
                let was_healthy = tracked.is_some_and(|t| t.healthy);
                if failures >= threshold {
                    give_up(
                        "Unhealthy",
                        format!("{at}: the health check failed {failures} times in a row"),
                        &mut steps,
                    );
                } else if !was_healthy {
                    starting += 1;
                }
                wait = min_opt(wait, timing.poll);
            }
            Some(_) if tracked.is_some_and(|t| t.was_available) => {
                // It had its replicas and lost some.
                let n = tracked.map_or(0, |t| t.unavailable).saturating_add(1);
                if n >= threshold {
                    give_up(
                        "ReplicasUnavailable",
                        format!("{at}: fewer replicas available than asked, {n} looks in a row"),
                        &mut steps,
                    );
                } else if !tracked.is_some_and(|t| t.healthy) {
                    starting += 1;
                }
                wait = min_opt(wait, timing.poll);
            }
            _ => {
                starting += 1;
                wait = min_opt(wait, timing.poll);
            }
        }
    }

    if !reorder.is_empty() {
        // A group that cannot be ordered again: a new deployment replaces this one (the
        // healthy rest keeps serving until it is Ready).
        let mut p = Plan::new(
            Phase::Degraded,
            "GroupClosed",
            format!(
                "group(s) {} of deployment {dseq} can no longer be ordered; a new deployment replaces it",
                reorder.join(", ")
            ),
        );
        p.steps = steps;
        p.steps.push(Step::CreateDeployment);
        return p;
    }

    // The escrow: topped up before it runs dry, never twice for one need.
    if let (Some(policy), Some((funds, denom))) = (&desired.escrow, &dep.escrow) {
        let rate: f64 = dep.lease_prices.values().sum();
        if rate > 0.0 && obs.block_time_ms > 0.0 && !obs.deposit_in_flight {
            let runway_ms = funds / rate * obs.block_time_ms;
            if runway_ms < policy.top_up_below.as_millis() as f64 {
                let target = policy.top_up_to.as_millis() as f64 / obs.block_time_ms * rate;
                let amount = (target - funds).ceil();
                if amount >= 1.0 {
                    steps.push(Step::Deposit {
                        dseq,
                        amount: amount as u128,
                        denom: denom.clone(),
                        runway_secs: (runway_ms / 1000.0).floor() as i64,
                    });
                }
            }
        }
    }

    let mut p = if !faults.is_empty() {
        let mut p = Plan::new(Phase::Degraded, faults[0], fault_messages.join("; "));
        p.wait = Some(Duration::ZERO);
        p
    } else if !no_bids.is_empty() {
        let mut p = Plan::new(
            Phase::Bidding,
            "NoBids",
            format!(
                "no acceptable bid for group(s) {} after {}s; providers never bid above an order's price: is placement.maxPrice too low, or is no provider matching the placement up?",
                no_bids.join(", "),
                timing.bid_timeout.as_secs()
            ),
        );
        // Looked at again with backoff (a quarter of the time starved so far, up to 30 s);
        // the bid watch wakes the resource as soon as a bid lands.
        p.wait = Some((starved_for / 4).clamp(timing.poll, NO_BIDS_MAX_WAIT.max(timing.poll)));
        p
    } else if !waiting_bids.is_empty() && !leasing {
        Plan::new(
            Phase::Bidding,
            "Bidding",
            format!("waiting for bids on group(s) {}", waiting_bids.join(", ")),
        )
    } else if leasing {
        Plan::new(Phase::Leasing, "Leasing", "creating leases")
    } else if starting > 0 || steps.iter().any(|s| !matches!(s, Step::Deposit { .. })) {
        Plan::new(
            Phase::Starting,
            "Starting",
            "manifest sent; waiting for replicas and the health check",
        )
    } else {
        let mut p = Plan::new(
            Phase::Ready,
            "Ready",
            "every group is leased, available and healthy",
        );
        p.synced = true;
        p
    };
    if p.phase != Phase::Ready {
        p.synced = sent_all && version_on_chain && newest.generation == desired.generation;
    }
    p.wait = p.wait.or(wait);
    p.steps = steps;
    p
}

/// Words for a `LeaseClosedReason`.
pub fn lease_closed_reason(code: i32) -> String {
    match code {
        0 => "reason unknown".into(),
        1 => "closed by the owner".into(),
        10000 => "reason 10000: unstable".into(),
        10001 => "reason 10001: decommission".into(),
        10002 => "reason 10002: unspecified".into(),
        10003 => "reason 10003: manifest timeout".into(),
        20000 => "reason 20000: insufficient funds".into(),
        n => format!("reason {n}"),
    }
}

/// Whether a tracked lease is `lease`.
pub fn tracks(t: &super::status::LeaseStatus, lease: &LeaseID) -> bool {
    lease_key_of_status(t) == lease_key(lease)
}

fn lease_key_of_status(t: &super::status::LeaseStatus) -> LeaseKey {
    (
        t.dseq.parse().unwrap_or_default(),
        t.gseq,
        t.oseq,
        t.provider.clone(),
    )
}

/// A group's price ceiling per block: each unit's price × its count.
/// A group's maximum price per block (every unit's price × its count) and its denomination.
pub fn group_price(group: &GroupSpec) -> (f64, String) {
    let mut total = 0.0;
    let mut denom = String::new();
    for u in &group.resources {
        let p: f64 = crate::akash::proto::legacy_dec::to_decimal(&u.price.amount)
            .parse()
            .unwrap_or(0.0);
        total += p * f64::from(u.count);
        denom.clone_from(&u.price.denom);
    }
    (total, denom)
}

fn max_price(group: &GroupSpec) -> String {
    let (total, denom) = group_price(group);
    let text = format!("{total:.6}");
    format!(
        "{}{denom}",
        text.trim_end_matches('0').trim_end_matches('.')
    )
}

fn min_opt(a: Option<Duration>, b: Duration) -> Option<Duration> {
    Some(a.map_or(b, |a| a.min(b)))
}

#[cfg(test)]
mod tests;
