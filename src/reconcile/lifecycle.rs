//! The I/O half of an Akash-hosted resource's reconcile: render the desired state (once per
//! generation), observe the intents, the chain and the providers, ask [`plan`] for the steps,
//! execute them through the traits, and write the typed status, conditions and events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn, Instrument};

use crate::akash::client::gateway::GatewayError;
use crate::akash::client::ClientError;
use crate::akash::proto::deployment::v1::{DeploymentID, DeploymentState};
use crate::akash::proto::deployment::v1beta4::GroupState;
use crate::akash::proto::legacy_dec;
use crate::akash::proto::market::v1::{BidID, LeaseFilters, LeaseID};
use crate::akash::proto::market::v1beta5::BidFilters;
use crate::akash::proto::Coin;
use crate::render::{RenderError, Renderer, SecretError, SecretResolver};
use crate::spec::common::{HealthCheck, Placement};
use crate::spec::kinds::site::GatewayMode;
use crate::spec::{ConditionStatus, Kind, Resource, Spec};
use crate::store::{DeploymentIntent, EventType, IntentState, NewEvent, StoreError};

use super::context::{Context, InFlight, Progress, Rendered};
use super::plan::{self, lease_key, ChainDeployment, Desired, LeaseHealth, Observed, Step};
use super::status::{
    set_condition, AkashStatus, BiddingStatus, LeaseStatus, PendingIntent, Phase, FINALIZER,
};
use super::{Action, ReconcileError};

/// The deposit of a deployment whose spec names none: 5 ACT.
pub const DEFAULT_DEPOSIT_UACT: u128 = 5_000_000;

/// How many plan-and-execute rounds one reconcile runs before it requeues.
const MAX_ROUNDS: usize = 12;

/// Whether a kind runs on Akash (a Site only with a dedicated gateway).
pub fn hosted_on_akash(resource: &Resource) -> bool {
    match resource.kind {
        Kind::Agent | Kind::FunctionRuntime | Kind::Proxy | Kind::SecretStore => true,
        Kind::Site => matches!(
            resource.typed_spec(),
            Ok(Spec::Site(s)) if s.gateway.as_ref().is_some_and(|g| g.mode == GatewayMode::Dedicated)
        ),
        Kind::Function | Kind::DnsZone => false,
    }
}

fn facets(spec: &Spec) -> (Option<&Placement>, Option<&HealthCheck>) {
    match spec {
        Spec::Agent(s) => (s.placement.as_ref(), s.health_check.as_ref()),
        Spec::FunctionRuntime(s) => (s.placement.as_ref(), s.health_check.as_ref()),
        Spec::Proxy(s) => (s.placement.as_ref(), s.health_check.as_ref()),
        Spec::SecretStore(s) => (s.placement.as_ref(), s.health_check.as_ref()),
        Spec::Site(s) => (s.gateway.as_ref().and_then(|g| g.placement.as_ref()), None),
        Spec::Function(_) | Spec::DnsZone(_) => (None, None),
    }
}

/// Renders the desired state of `resource`'s current generation, or reuses the rendering of
/// that generation.
async fn desired(ctx: &Context, resource: &Resource) -> Result<Arc<Rendered>, ReconcileError> {
    let uid = &resource.metadata.uid;
    if let Some(r) = ctx.rendered_for(uid, resource.metadata.generation) {
        return Ok(r);
    }
    let secrets = ctx
        .secrets
        .resolver(&resource.metadata.project)
        .await
        .map_err(|e| ReconcileError::transient("secrets", e))?;
    let rendered = render_desired(&ctx.renderer, resource, secrets.as_ref())?;
    Ok(ctx.remember_rendered(uid, rendered))
}

/// What `resource`'s spec deploys as: its groups, manifest version, deposit and health check
/// (pure; the daemon's reconciles and `af-operator plan` share it).
pub fn render_desired(
    renderer: &Renderer,
    resource: &Resource,
    secrets: &dyn SecretResolver,
) -> Result<Rendered, ReconcileError> {
    let spec = resource.typed_spec().map_err(|e| {
        ReconcileError::permanent(
            "invalid-spec",
            format!("the stored spec does not decode: {e}"),
        )
    })?;
    let sdl = renderer.render(resource, secrets).map_err(|e| match e {
        RenderError::Secret(SecretError::NotFound { store, key, .. }) => ReconcileError::permanent(
            "secret-missing",
            format!("secret {store}/{key} is missing; set it with `af-operator secret set {store} {key}`"),
        )
        .with_reason("SecretMissing"),
        other => ReconcileError::permanent("render", other.to_string()).with_reason("RenderFailed"),
    })?;
    let conv = sdl.convert().map_err(|e| {
        ReconcileError::permanent("render", e.to_string()).with_reason("RenderFailed")
    })?;
    let manifest_json = serde_json::to_vec(&conv.manifest)
        .map_err(|e| ReconcileError::permanent("render", e.to_string()))?;
    let (placement, health) = facets(&spec);
    let deposit = placement
        .and_then(|p| p.escrow.as_ref())
        .and_then(|e| e.deposit.as_ref())
        .map(|d| {
            let c = d.coin();
            let whole = c.amount.split('.').next().unwrap_or("0").to_string();
            Coin {
                denom: c.denom.clone(),
                amount: whole,
            }
        })
        .unwrap_or_else(|| Coin {
            denom: "uact".into(),
            amount: DEFAULT_DEPOSIT_UACT.to_string(),
        });
    let filter = placement.and_then(|p| p.providers.as_ref());
    Ok(Rendered {
        generation: resource.metadata.generation,
        desired: Desired {
            generation: resource.metadata.generation,
            groups: conv.groups.clone(),
            version: conv.version.to_hex(),
            allow: filter.map(|f| f.allow.clone()).unwrap_or_default(),
            deny: filter.map(|f| f.deny.clone()).unwrap_or_default(),
            health_checked: health.is_some(),
            failure_threshold: health.map_or(3, |h| h.failure_threshold),
        },
        hash: conv.version.0.to_vec(),
        manifest_json,
        deposit,
        health: health.cloned(),
    })
}

/// Reconciles one Akash-hosted resource.
pub async fn reconcile(resource: Resource, ctx: &Arc<Context>) -> Result<Action, ReconcileError> {
    let span = tracing::info_span!(
        "reconcile",
        kind = %resource.kind,
        name = %resource.metadata.name,
        project = %resource.metadata.project,
        generation = resource.metadata.generation,
        attempt = AkashStatus::from_status(&resource.status).attempt,
        dseq = tracing::field::Empty,
        provider = tracing::field::Empty,
    );
    run(resource, ctx).instrument(span).await
}

async fn run(mut resource: Resource, ctx: &Arc<Context>) -> Result<Action, ReconcileError> {
    let deleting = resource.metadata.deletion_requested_at.is_some();
    let rendered = if deleting {
        None
    } else {
        match desired(ctx, &resource).await {
            Ok(r) => Some(r),
            Err(e) => {
                report_failure(ctx, &mut resource, &e).await?;
                return Err(e);
            }
        }
    };
    let mut status = AkashStatus::from_status(&resource.status);
    for round in 0..MAX_ROUNDS {
        let obs = observe(ctx, &resource, &status, rendered.as_deref(), round).await?;
        let p = plan::plan(
            rendered.as_ref().map(|r| &r.desired),
            &obs,
            &ctx.config.timing,
        );
        if let Some(d) = p.current {
            tracing::Span::current().record("dseq", d);
        }
        update_tracking(&mut status, &obs, &p, rendered.as_deref());
        if let Some(d) = p.current {
            if !deleting && status.bidding.iter().any(|b| b.bids == 0) {
                ctx.wait_for_bids(d, &resource.key());
            } else {
                ctx.stop_waiting_for_bids(d);
            }
        }
        if p.reason == "DeploymentLost" {
            // Closed by someone else (another tool, the escrow running dry): worth a warning
            // of its own, not only the phase event of the replacement.
            warn!(message = %p.message, "deployment lost");
            event(
                ctx,
                &resource,
                EventType::Warning,
                "DeploymentLost",
                p.message.clone(),
            )
            .await;
        }
        let progressed = !p.steps.is_empty();
        let mut gone = false;
        let mut step_error = None;
        for step in &p.steps {
            match execute(ctx, &mut resource, &mut status, rendered.as_deref(), step).await {
                Ok(StepOutcome::Continue) => {}
                Ok(StepOutcome::Gone) => {
                    gone = true;
                    break;
                }
                Err(e) => {
                    step_error = Some(e);
                    break;
                }
            }
        }
        if gone {
            info!("every deployment closed; finalizer removed");
            return Ok(Action::Done);
        }
        write_status(ctx, &mut resource, &mut status, &p, step_error.as_ref()).await?;
        if let Some(e) = step_error {
            return Err(e);
        }
        if !progressed {
            // Ready waits for the resync (or the health check's interval, when shorter),
            // unless a health check is failing below its threshold: then it is looked at
            // again soon.
            let every = rendered
                .as_ref()
                .and_then(|r| r.health.as_ref())
                .map_or(ctx.config.resync, |h| h.interval().min(ctx.config.resync));
            let wait = match p.phase {
                Phase::Ready => p.wait.unwrap_or(every),
                _ => p.wait.unwrap_or(ctx.config.timing.poll),
            };
            return Ok(Action::Requeue(wait));
        }
    }
    Ok(Action::Requeue(Duration::ZERO))
}

/// How long a sweep's snapshot serves: half the resync, at most 30 s.
fn snapshot_ttl_ms(ctx: &Context) -> i64 {
    (ctx.config.resync / 2)
        .min(Duration::from_secs(30))
        .as_millis() as i64
}

/// Reads what the plan needs: intents, the chain's deployments, leases and bids, and the
/// providers' view of leases whose manifest is current.
async fn observe(
    ctx: &Context,
    resource: &Resource,
    status: &AkashStatus,
    rendered: Option<&Rendered>,
    round: usize,
) -> Result<Observed, ReconcileError> {
    let owner = ctx.chain.owner().to_owned();
    let intents: Vec<DeploymentIntent> = ctx
        .intents
        .intents_for(&resource.metadata.uid)
        .await?
        .into_iter()
        .filter(|i| i.state != IntentState::Closed && i.owner == owner)
        .collect();
    let mut chain = BTreeMap::new();
    // A resync sweep's snapshot, while nothing was written since (see `snapshot`).
    let snap = if round == 0 {
        ctx.snapshots
            .fresh_or_take(ctx.chain.as_ref(), ctx.clock.now_ms(), snapshot_ttl_ms(ctx))
            .await
    } else {
        None
    };
    for intent in &intents {
        let id = DeploymentID::new(&owner, intent.dseq);
        let cached = snap.as_ref().and_then(|s| s.deployments.get(&intent.dseq));
        let looked_up = match cached {
            Some(d) => Ok(d.clone()),
            None => ctx.chain.deployment(&id).await,
        };
        let d = match looked_up {
            Ok(d) => d,
            Err(ClientError::NotFound(_)) => continue,
            Err(e) => {
                return Err(ReconcileError::from_client(
                    "query deployment",
                    intent.dseq,
                    e,
                ))
            }
        };
        let active = d.deployment.state == DeploymentState::Active as i32;
        let groups = d
            .groups
            .iter()
            .map(|g| {
                (
                    g.id.gseq,
                    g.group_spec.clone(),
                    g.state == GroupState::Open as i32,
                )
            })
            .collect::<Vec<_>>();
        let escrow = d
            .escrow_account
            .state
            .funds
            .iter()
            .find(|b| b.denom == "uact")
            .or(d.escrow_account.state.funds.first())
            .map(|b| {
                let amount = legacy_dec::to_decimal(&b.amount)
                    .parse::<f64>()
                    .unwrap_or(0.0);
                (amount, b.denom.clone())
            });
        let mut dep = ChainDeployment {
            active,
            hash: hex::encode(&d.deployment.hash),
            groups,
            escrow,
            ..ChainDeployment::default()
        };
        if active {
            let leases = match snap.as_ref().filter(|_| cached.is_some()) {
                Some(s) => crate::akash::client::Page {
                    items: s.leases.get(&intent.dseq).cloned().unwrap_or_default(),
                    next_key: None,
                    total: None,
                },
                None => ctx
                    .chain
                    .leases(
                        LeaseFilters {
                            owner: owner.clone(),
                            dseq: intent.dseq,
                            state: "active".into(),
                            ..LeaseFilters::default()
                        },
                        None,
                    )
                    .await
                    .map_err(|e| ReconcileError::from_client("query leases", intent.dseq, e))?,
            };
            for l in &leases.items {
                let price = legacy_dec::to_decimal(&l.lease.price.amount)
                    .parse::<f64>()
                    .unwrap_or(0.0);
                dep.lease_prices.insert(lease_key(&l.lease.id), price);
            }
            dep.leases = leases.items.into_iter().map(|l| l.lease.id).collect();
            let unleased = dep
                .groups
                .iter()
                .any(|(g, _, open)| *open && !dep.leases.iter().any(|l| l.gseq == *g));
            if unleased {
                let bids = ctx
                    .chain
                    .bids(
                        BidFilters {
                            owner: owner.clone(),
                            dseq: intent.dseq,
                            state: "open".into(),
                            ..BidFilters::default()
                        },
                        None,
                    )
                    .await
                    .map_err(|e| ReconcileError::from_client("query bids", intent.dseq, e))?;
                let now = ctx.clock.now_ms();
                for b in &bids.items {
                    if let Some(t) = ctx.time_of_height(b.bid.created_at) {
                        let e = dep.first_bid_ms.entry(b.bid.id.gseq).or_insert(now);
                        *e = (*e).min(t);
                    }
                }
                dep.bids = bids
                    .items
                    .into_iter()
                    .map(|b| {
                        let price = legacy_dec::to_decimal(&b.bid.price.amount)
                            .parse::<f64>()
                            .unwrap_or(f64::MAX);
                        (b.bid.id, price)
                    })
                    .collect();
            }
        }
        chain.insert(intent.dseq, dep);
    }

    if !intents.is_empty() {
        // Every chain read above answered (an error returns early): for /readyz.
        ctx.metrics.chain_answered(ctx.clock.now_ms());
    }

    // A create broadcast without confirmation may still land until its timeout height: asked
    // for by its hash, never sent again while it may.
    let mut in_flight = BTreeMap::new();
    // Creates running detached in this process: waited for, never sent twice.
    for i in &intents {
        if i.state == IntentState::Pending && ctx.is_inflight(&InFlight::Create(i.dseq)) {
            in_flight.insert(i.dseq, u64::MAX);
        }
    }
    let mut leasing = std::collections::BTreeSet::new();
    for (dseq, dep) in &chain {
        for (gseq, _, _) in &dep.groups {
            if ctx.is_inflight(&InFlight::Lease(*dseq, *gseq)) {
                leasing.insert((*dseq, *gseq));
            }
        }
    }
    if let Some(p) = &status.pending_intent {
        let dseq = p.dseq.parse::<u64>().ok();
        let waiting = dseq.filter(|d| {
            !chain.contains_key(d)
                && intents
                    .iter()
                    .any(|i| i.dseq == *d && i.state == IntentState::Pending)
        });
        if let (Some(dseq), Some(hash), Some(timeout)) = (waiting, &p.tx_hash, p.timeout_height) {
            if create_may_land(ctx, dseq, hash, timeout).await? {
                in_flight.insert(dseq, timeout);
            }
        }
    }

    // The providers' view, only where the manifest at the desired version was accepted.
    let mut health = BTreeMap::new();
    if let Some(r) = rendered {
        let newest = intents.last().map(|i| i.dseq);
        for l in chain
            .get(&newest.unwrap_or(u64::MAX))
            .map(|d| d.leases.clone())
            .unwrap_or_default()
        {
            let tracked = status.leases.iter().find(|t| plan::tracks(t, &l));
            if tracked.and_then(|t| t.manifest_version.as_deref()) != Some(&r.desired.version) {
                continue;
            }
            health.insert(lease_key(&l), probe_lease(ctx, &l, r).await);
        }
    }
    Ok(Observed {
        now_ms: ctx.clock.now_ms(),
        deleting: resource.metadata.deletion_requested_at.is_some(),
        has_finalizer: resource.metadata.finalizers.iter().any(|f| f == FINALIZER),
        intents,
        chain,
        health,
        status: status.clone(),
        block_time_ms: ctx.block_time_ms(),
        in_flight,
        leasing,
    })
}

/// Whether the create of `dseq`, broadcast as tx `hash` with `timeout_height`, may still land:
/// not in a block yet and the chain not past its timeout height (0: no timeout height, so
/// nothing proves it never lands; sending again is still safe, as the chain refuses a second
/// deployment with the same dseq).
async fn create_may_land(
    ctx: &Context,
    dseq: u64,
    hash: &str,
    timeout_height: u64,
) -> Result<bool, ReconcileError> {
    if timeout_height == 0 {
        return Ok(false);
    }
    match ctx.chain.tx(hash).await {
        // In a block: the deployment query above decides (found, or refused by the chain).
        Ok(Some(_)) => Ok(false),
        Ok(None) => {
            let height = ctx
                .chain
                .latest_height()
                .await
                .map_err(|e| ReconcileError::from_client("latest height", dseq, e))?;
            Ok(u64::try_from(height).unwrap_or(0) <= timeout_height)
        }
        // The chain refused it: it never executes.
        Err(ClientError::Chain { .. }) => Ok(false),
        Err(e) => Err(ReconcileError::from_client("query create tx", dseq, e)),
    }
}

/// What the provider says of a lease, and the health check through its URI.
async fn probe_lease(ctx: &Context, lease: &LeaseID, r: &Rendered) -> LeaseHealth {
    let st = match ctx.gateway.lease_status(lease).await {
        Ok(s) => s,
        Err(e) => {
            warn!(provider = %lease.provider, error = %e, "lease status unavailable");
            return LeaseHealth::default();
        }
    };
    let available = !st.services.is_empty()
        && st
            .services
            .values()
            .all(|s| s.available_replicas >= s.total.max(1));
    let mut uris: Vec<String> = st
        .services
        .values()
        .flat_map(|s| s.uris.iter().cloned())
        .collect();
    uris.sort();
    uris.dedup();
    if !available {
        return LeaseHealth {
            uris,
            ..LeaseHealth::default()
        };
    }
    let Some(hc) = &r.health else {
        return LeaseHealth {
            available,
            healthy: true,
            uris,
        };
    };
    // The provider's own ingress hostname first: an `accept` hostname may not point at the
    // provider yet (DNS follows Ready).
    let uri = uris
        .iter()
        .find(|u| u.contains(".ingress."))
        .or(uris.first())
        .cloned();
    let Some(uri) = uri else {
        // Nothing exposed over HTTP: replicas available is all that can be checked.
        return LeaseHealth {
            available,
            healthy: true,
            uris,
        };
    };
    let healthy = match ctx.probe.get(&uri, &hc.path, hc.timeout()).await {
        Ok(code) => code == hc.expected_status,
        Err(e) => {
            warn!(uri = %uri, error = %e, "health check failed");
            false
        }
    };
    LeaseHealth {
        available,
        healthy,
        uris,
    }
}

/// Folds the observation into the status: orders collecting bids, the leases of the current
/// deployment, health counters, URIs.
fn update_tracking(status: &mut AkashStatus, obs: &Observed, p: &plan::Plan, r: Option<&Rendered>) {
    status.dseq = p.current.map(|d| d.to_string());
    status.previous_dseq = p.previous.map(|d| d.to_string());
    status.manifest_version = r.map(|r| r.desired.version.clone());
    status.rendered_generation = r.map(|r| r.generation);
    let Some(dep) = p.current.and_then(|d| obs.chain.get(&d)) else {
        status.bidding.clear();
        status.leases.clear();
        status.provider = None;
        status.uris.clear();
        return;
    };
    let dseq = p.current.unwrap_or_default();
    let mut bidding = Vec::new();
    for (gseq, _, open) in &dep.groups {
        if !open || dep.leases.iter().any(|l| l.gseq == *gseq) {
            continue;
        }
        let bids: Vec<&BidID> = dep
            .bids
            .iter()
            .map(|(b, _)| b)
            .filter(|b| b.gseq == *gseq)
            .collect();
        let oseq = bids.iter().map(|b| b.oseq).max().unwrap_or(0);
        let prev = status
            .bidding
            .iter()
            .find(|b| b.dseq == dseq.to_string() && b.gseq == *gseq);
        bidding.push(BiddingStatus {
            dseq: dseq.to_string(),
            gseq: *gseq,
            oseq,
            since_ms: prev.map_or(obs.now_ms, |b| b.since_ms),
            first_bid_ms: prev
                .and_then(|b| b.first_bid_ms)
                .or((!bids.is_empty()).then(|| {
                    dep.first_bid_ms
                        .get(gseq)
                        .map_or(obs.now_ms, |t| (*t).min(obs.now_ms))
                })),
            bids: bids.len(),
        });
    }
    status.bidding = bidding;
    let threshold = r.map_or(3, |r| r.desired.failure_threshold).max(1);
    let mut leases = Vec::new();
    for l in &dep.leases {
        let prev = status.leases.iter().find(|t| plan::tracks(t, l));
        let h = obs.health.get(&lease_key(l)).cloned();
        let mut t = prev.cloned().unwrap_or_else(|| LeaseStatus {
            dseq: l.dseq.to_string(),
            gseq: l.gseq,
            oseq: l.oseq,
            provider: l.provider.clone(),
            state: "active".into(),
            ..LeaseStatus::default()
        });
        if let Some(h) = h {
            t.available = h.available;
            t.uris = h.uris.clone();
            if h.available && h.healthy {
                t.healthy = true;
                t.health_failures = 0;
            } else if h.available {
                // Healthy until `failureThreshold` consecutive failures (as the planner sees it).
                t.health_failures = t.health_failures.saturating_add(1);
                t.healthy = t.healthy && t.health_failures < threshold;
            } else {
                t.healthy = false;
            }
        }
        leases.push(t);
    }
    status.leases = leases;
    // Escrow: funds left ÷ the leases' price per block × the observed block time.
    let rate: f64 = dep.lease_prices.values().sum();
    for t in &mut status.leases {
        let key = (
            t.dseq.parse().unwrap_or_default(),
            t.gseq,
            t.oseq,
            t.provider.clone(),
        );
        if let (Some(p), Some((_, denom))) = (dep.lease_prices.get(&key), &dep.escrow) {
            t.price = format!("{}{denom}", trim_decimal(*p));
        }
    }
    match &dep.escrow {
        Some((funds, denom)) => {
            status.escrow_balance = Some(format!("{}{denom}", trim_decimal(*funds)));
            status.escrow_runway_seconds =
                (rate > 0.0).then(|| (funds / rate * obs.block_time_ms / 1000.0).floor() as i64);
        }
        None => {
            status.escrow_balance = None;
            status.escrow_runway_seconds = None;
        }
    }
    status.provider = status
        .leases
        .iter()
        .min_by_key(|l| l.gseq)
        .map(|l| l.provider.clone());
}

/// A decimal without trailing zeros (`12.500000` → `12.5`).
fn trim_decimal(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

enum StepOutcome {
    Continue,
    Gone,
}

async fn event(
    ctx: &Context,
    resource: &Resource,
    type_: EventType,
    reason: &str,
    message: String,
) {
    let e = NewEvent {
        type_,
        reason: reason.to_owned(),
        message,
    };
    if let Err(err) = ctx.store.append_event(&resource.key(), &e).await {
        warn!(error = %err, "cannot record event");
    }
    ctx.progress(resource, Progress::Event(&e.reason, &e.message));
}

async fn execute(
    ctx: &Arc<Context>,
    resource: &mut Resource,
    status: &mut AkashStatus,
    rendered: Option<&Rendered>,
    step: &Step,
) -> Result<StepOutcome, ReconcileError> {
    let owner = ctx.chain.owner().to_owned();
    let writes_chain = !matches!(
        step,
        Step::AddFinalizer | Step::RemoveFinalizer | Step::Adopt { .. } | Step::Forget { .. }
    );
    // A snapshot taken before or while this write runs no longer tells the truth.
    if writes_chain {
        ctx.snapshots.wrote();
    }
    let outcome = execute_step(ctx, resource, status, rendered, step, &owner).await;
    if writes_chain {
        ctx.snapshots.wrote();
    }
    outcome
}

async fn execute_step(
    ctx: &Arc<Context>,
    resource: &mut Resource,
    status: &mut AkashStatus,
    rendered: Option<&Rendered>,
    step: &Step,
    owner: &str,
) -> Result<StepOutcome, ReconcileError> {
    let owner = owner.to_owned();
    match step {
        Step::AddFinalizer => {
            *resource = ctx.store.add_finalizer(&resource.key(), FINALIZER).await?;
        }
        Step::RemoveFinalizer => {
            if ctx
                .store
                .remove_finalizer(&resource.key(), FINALIZER)
                .await?
                .is_none()
            {
                return Ok(StepOutcome::Gone);
            }
        }
        Step::CreateDeployment => {
            let r = rendered.ok_or_else(|| {
                ReconcileError::permanent("internal", "create without a rendering")
            })?;
            let mut dseq = ctx
                .chain
                .latest_height()
                .await
                .map_err(|e| ReconcileError::from_client("latest height", 0, e))?
                .max(1) as u64;
            dseq = dseq.max(ctx.intents.max_dseq(&owner).await? + 1);
            let now = chrono::Utc::now().to_rfc3339();
            loop {
                let intent = DeploymentIntent {
                    owner: owner.clone(),
                    dseq,
                    resource_uid: resource.metadata.uid.clone(),
                    resource_key: resource.key().to_string(),
                    generation: r.generation,
                    manifest_version: r.desired.version.clone(),
                    deposit: format!("{}{}", r.deposit.amount, r.deposit.denom),
                    state: IntentState::Pending,
                    created_at: now.clone(),
                    updated_at: now.clone(),
                };
                match ctx.intents.record_intent(&intent).await {
                    Ok(()) => break,
                    Err(StoreError::DuplicateDseq { .. }) => dseq += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            // The first deployment is the one to show while its create is pending (a
            // replacement shows once it is on chain, beside the one still serving).
            if status.dseq.is_none() {
                status.dseq = Some(dseq.to_string());
            }
            status.pending_intent = Some(PendingIntent {
                action: "create-deployment".into(),
                dseq: dseq.to_string(),
                since: now,
                ..PendingIntent::default()
            });
            ctx.crash_point("after-intent");
            send_create(ctx, resource, status, r, dseq).await?;
        }
        Step::ResendCreate { dseq } => {
            let r = rendered.ok_or_else(|| {
                ReconcileError::permanent("internal", "create without a rendering")
            })?;
            send_create(ctx, resource, status, r, *dseq).await?;
        }
        Step::Adopt { dseq } => {
            ctx.intents
                .set_intent_state(&owner, *dseq, IntentState::Active)
                .await?;
            status.pending_intent = None;
            event(
                ctx,
                resource,
                EventType::Normal,
                "DeploymentAdopted",
                format!("deployment {dseq} found on chain and adopted"),
            )
            .await;
        }
        Step::Forget { dseq, why } => {
            ctx.intents
                .set_intent_state(&owner, *dseq, IntentState::Closed)
                .await?;
            if status
                .pending_intent
                .as_ref()
                .is_some_and(|p| p.dseq == dseq.to_string())
            {
                status.pending_intent = None;
            }
            event(
                ctx,
                resource,
                EventType::Normal,
                "DeploymentForgotten",
                format!("deployment {dseq}: {why}"),
            )
            .await;
        }
        Step::UpdateDeployment { dseq } => {
            let r = rendered.ok_or_else(|| {
                ReconcileError::permanent("internal", "update without a rendering")
            })?;
            let receipt = ctx
                .chain
                .update_deployment(*dseq, r.hash.clone())
                .await
                .map_err(|e| ReconcileError::from_client("update deployment", *dseq, e))?;
            ctx.metrics.tx("update-deployment", receipt.gas_used);
            for l in &mut status.leases {
                l.manifest_version = None;
                l.healthy = false;
            }
            event(
                ctx,
                resource,
                EventType::Normal,
                "DeploymentUpdated",
                format!(
                    "deployment {dseq} now at manifest version {} (tx {})",
                    r.desired.version, receipt.hash
                ),
            )
            .await;
        }
        Step::CreateLease { bid, price } => {
            tracing::Span::current().record("provider", bid.provider.as_str());
            let w = InFlight::Lease(bid.dseq, bid.gseq);
            if let Some(e) = ctx.take_failure(&w) {
                return Err(e);
            }
            if let Some(wake) = ctx.waker() {
                // Detached: the worker is free while the tx waits for its block, so many
                // leases share one batched tx.
                if ctx.start_inflight(w.clone()) {
                    let ctx = ctx.clone();
                    let resource = resource.clone();
                    let (bid, price) = (bid.clone(), *price);
                    tokio::spawn(async move {
                        if let Err(e) = write_lease(&ctx, &resource, &bid, price).await {
                            // Reported by the resource's next reconcile (at its poll, so the
                            // failure's backoff is not cut short by a wake).
                            let e = ReconcileError::from_client("create lease", bid.dseq, e);
                            ctx.record_failure(w.clone(), e);
                            ctx.end_inflight(&w);
                            ctx.snapshots.wrote();
                            return;
                        }
                        ctx.end_inflight(&w);
                        ctx.snapshots.wrote();
                        wake(&resource.key());
                    });
                }
                return Ok(StepOutcome::Continue);
            }
            write_lease(ctx, resource, bid, *price)
                .await
                .map_err(|e| ReconcileError::from_client("create lease", bid.dseq, e))?;
            status.leases.push(LeaseStatus {
                dseq: bid.dseq.to_string(),
                gseq: bid.gseq,
                oseq: bid.oseq,
                provider: bid.provider.clone(),
                state: "active".into(),
                price: format!("{price}uact"),
                ..LeaseStatus::default()
            });
        }
        Step::SendManifest { lease } => {
            let r = rendered.ok_or_else(|| {
                ReconcileError::permanent("internal", "manifest without a rendering")
            })?;
            match ctx.gateway.send_manifest(lease, &r.manifest_json).await {
                Ok(()) => {
                    upsert_lease(status, lease).manifest_version = Some(r.desired.version.clone());
                    event(
                        ctx,
                        resource,
                        EventType::Normal,
                        "ManifestSent",
                        format!(
                            "manifest {} accepted by {} for group {}",
                            short(&r.desired.version),
                            lease.provider,
                            lease.gseq
                        ),
                    )
                    .await;
                    ctx.crash_point("after-manifest");
                }
                Err(GatewayError::Rejected(reason)) => {
                    event(
                        ctx,
                        resource,
                        EventType::Warning,
                        "ManifestRejected",
                        format!(
                            "{} refused the manifest: {reason}; closing the lease to re-bid",
                            lease.provider
                        ),
                    )
                    .await;
                    ctx.chain
                        .close_lease(lease.clone())
                        .await
                        .map_err(|e| ReconcileError::from_client("close lease", lease.dseq, e))?;
                    status.leases.retain(|l| {
                        !(l.gseq == lease.gseq
                            && l.oseq == lease.oseq
                            && l.provider == lease.provider)
                    });
                    return Err(ReconcileError::transient(
                        "manifest-rejected",
                        format!("{} refused the manifest: {reason}", lease.provider),
                    )
                    .with_reason("ManifestRejected"));
                }
                Err(e) => {
                    return Err(ReconcileError::from_gateway("send manifest", lease, e));
                }
            }
        }
        Step::CloseDeployment { dseq, why } => {
            ctx.intents
                .set_intent_state(&owner, *dseq, IntentState::Closing)
                .await?;
            match ctx.chain.close_deployment(*dseq).await {
                Ok(receipt) => {
                    ctx.metrics.tx("close-deployment", receipt.gas_used);
                    event(
                        ctx,
                        resource,
                        EventType::Normal,
                        "DeploymentClosed",
                        format!(
                            "deployment {dseq} closed ({why}); escrow refunded (tx {})",
                            receipt.hash
                        ),
                    )
                    .await;
                }
                Err(ClientError::NotFound(_)) => {}
                Err(e) => {
                    // Closed meanwhile (by a provider or another tool): fine, the next round
                    // sees it closed; anything else is retried.
                    let closed = matches!(ctx.chain.deployment(&DeploymentID::new(&owner, *dseq)).await,
                        Ok(d) if d.deployment.state != DeploymentState::Active as i32);
                    if !closed {
                        return Err(ReconcileError::from_client("close deployment", *dseq, e));
                    }
                }
            }
            ctx.intents
                .set_intent_state(&owner, *dseq, IntentState::Closed)
                .await?;
        }
    }
    Ok(StepOutcome::Continue)
}

fn short(version: &str) -> &str {
    &version[..version.len().min(12)]
}

fn upsert_lease<'a>(status: &'a mut AkashStatus, lease: &LeaseID) -> &'a mut LeaseStatus {
    let pos = status.leases.iter().position(|t| plan::tracks(t, lease));
    let pos = match pos {
        Some(p) => p,
        None => {
            status.leases.push(LeaseStatus {
                dseq: lease.dseq.to_string(),
                gseq: lease.gseq,
                oseq: lease.oseq,
                provider: lease.provider.clone(),
                state: "active".into(),
                ..LeaseStatus::default()
            });
            status.leases.len() - 1
        }
    };
    &mut status.leases[pos]
}

/// Why a create did not complete: the chain write failed, or it landed and the intent could
/// not be marked active (the next reconcile adopts it).
enum CreateFailed {
    Chain(ClientError),
    Recorded(StoreError),
}

/// `MsgCreateDeployment` and what follows its landing: the crash point, the metric, the intent
/// marked active, the event. The one implementation, awaited in place or detached.
async fn write_create(
    ctx: &Context,
    resource: &Resource,
    dseq: u64,
    r: (
        Vec<crate::sdl::GroupSpec>,
        Vec<u8>,
        crate::akash::proto::Coin,
    ),
) -> Result<(), CreateFailed> {
    let owner = ctx.chain.owner().to_owned();
    let (groups, hash, deposit) = r;
    let deposit_text = format!("{}{}", deposit.amount, deposit.denom);
    let receipt = ctx
        .chain
        .create_deployment(dseq, groups, hash, deposit)
        .await
        .map_err(CreateFailed::Chain)?;
    ctx.crash_point("after-broadcast");
    ctx.metrics.tx("create-deployment", receipt.gas_used);
    ctx.intents
        .set_intent_state(&owner, dseq, IntentState::Active)
        .await
        .map_err(CreateFailed::Recorded)?;
    info!(dseq, gas = receipt.gas_used, "deployment created");
    event(
        ctx,
        resource,
        EventType::Normal,
        "DeploymentCreated",
        format!(
            "deployment {dseq} created at height {} (tx {}, deposit {deposit_text})",
            receipt.height, receipt.hash
        ),
    )
    .await;
    Ok(())
}

/// `MsgCreateLease` and what follows its landing: the metric, the event, the crash point.
async fn write_lease(
    ctx: &Context,
    resource: &Resource,
    bid: &BidID,
    price: f64,
) -> Result<(), ClientError> {
    let receipt = ctx.chain.create_lease(bid.clone()).await?;
    ctx.metrics.tx("create-lease", receipt.gas_used);
    info!(provider = %bid.provider, price, dseq = bid.dseq, "lease created");
    event(
        ctx,
        resource,
        EventType::Normal,
        "LeaseCreated",
        format!(
            "group {} leased from {} at {price}uact/block",
            bid.gseq, bid.provider
        ),
    )
    .await;
    ctx.crash_point("after-lease");
    Ok(())
}

async fn send_create(
    ctx: &Arc<Context>,
    resource: &Resource,
    status: &mut AkashStatus,
    r: &Rendered,
    dseq: u64,
) -> Result<(), ReconcileError> {
    tracing::Span::current().record("dseq", dseq);
    let w = InFlight::Create(dseq);
    if let Some(e) = ctx.take_failure(&w) {
        return Err(e);
    }
    let parts = (r.desired.groups.clone(), r.hash.clone(), r.deposit.clone());
    if let Some(wake) = ctx.waker() {
        // Detached: the worker is free while the tx waits for its block, so many creates
        // share one batched tx. The intent is recorded already; the next reconcile adopts.
        if ctx.start_inflight(w.clone()) {
            let ctx = ctx.clone();
            let resource = resource.clone();
            tokio::spawn(async move {
                match write_create(&ctx, &resource, dseq, parts).await {
                    Ok(()) => {}
                    Err(CreateFailed::Recorded(e)) => {
                        warn!(dseq, error = %e, "cannot mark the intent active; the next reconcile adopts");
                    }
                    Err(CreateFailed::Chain(ClientError::Pending {
                        hash,
                        timeout_height,
                        ..
                    })) => {
                        // Sent, not yet in a block: it may still land until its timeout
                        // height, so it is waited for here, never sent again meanwhile.
                        wait_for_landing(&ctx, &hash, timeout_height).await;
                    }
                    Err(CreateFailed::Chain(e)) => {
                        // Reported by the resource's next reconcile (at its poll, so the
                        // failure's backoff is not cut short by a wake).
                        let e = ReconcileError::from_client("create deployment", dseq, e);
                        ctx.record_failure(w.clone(), e);
                        ctx.end_inflight(&w);
                        ctx.snapshots.wrote();
                        return;
                    }
                }
                ctx.end_inflight(&w);
                ctx.snapshots.wrote();
                wake(&resource.key());
            });
        }
        return Ok(());
    }
    match write_create(ctx, resource, dseq, parts).await {
        Ok(()) => {
            status.pending_intent = None;
            Ok(())
        }
        Err(CreateFailed::Recorded(e)) => Err(e.into()),
        // Whatever happened, the intent stays pending: the next round reads the chain and
        // adopts the deployment, waits while a broadcast tx may still land, or sends it again
        // with the same dseq.
        Err(CreateFailed::Chain(e)) => {
            if let ClientError::Pending {
                hash,
                timeout_height,
                ..
            } = &e
            {
                let p = status
                    .pending_intent
                    .take()
                    .filter(|p| p.dseq == dseq.to_string())
                    .unwrap_or_else(|| PendingIntent {
                        action: "create-deployment".into(),
                        dseq: dseq.to_string(),
                        since: chrono::Utc::now().to_rfc3339(),
                        ..PendingIntent::default()
                    });
                status.pending_intent = Some(PendingIntent {
                    tx_hash: Some(hash.clone()),
                    timeout_height: Some(*timeout_height),
                    ..p
                });
            }
            Err(ReconcileError::from_client("create deployment", dseq, e))
        }
    }
}

/// Waits until tx `hash` is in a block, is refused, or can no longer land (the chain is past
/// `timeout_height`; 0: no timeout height, so it gives up after a while).
async fn wait_for_landing(ctx: &Context, hash: &str, timeout_height: u64) {
    let started = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(ctx.config.timing.poll).await;
        match ctx.chain.tx(hash).await {
            Ok(Some(_)) | Err(ClientError::Chain { .. }) => return,
            Ok(None) => {}
            Err(e) => warn!(hash, error = %e, "cannot look up a pending tx"),
        }
        let past = match ctx.chain.latest_height().await {
            Ok(h) => timeout_height > 0 && u64::try_from(h).unwrap_or(0) > timeout_height,
            Err(_) => false,
        };
        if past || (timeout_height == 0 && started.elapsed() > Duration::from_secs(600)) {
            return;
        }
    }
}

/// Records a failure that stops the reconcile before any step (a render error).
async fn report_failure(
    ctx: &Context,
    resource: &mut Resource,
    e: &ReconcileError,
) -> Result<(), ReconcileError> {
    let mut status = AkashStatus::from_status(&resource.status);
    let p = plan::Plan {
        steps: Vec::new(),
        phase: Phase::Failed,
        reason: e.reason(),
        message: e.message.clone(),
        wait: None,
        current: status.dseq.as_ref().and_then(|d| d.parse().ok()),
        previous: None,
        synced: false,
    };
    status.phase = Phase::Pending;
    write_status(ctx, resource, &mut status, &p, Some(e)).await
}

async fn write_status(
    ctx: &Context,
    resource: &mut Resource,
    akash: &mut AkashStatus,
    p: &plan::Plan,
    error: Option<&ReconcileError>,
) -> Result<(), ReconcileError> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let generation = resource.metadata.generation;
    let mut st = resource.status.clone();
    let old_phase = AkashStatus::from_status(&st).phase;
    let (reason, message) = match error {
        Some(e) => (e.reason(), e.message.clone()),
        None => (p.reason, p.message.clone()),
    };
    let phase = if error.is_some_and(|e| !e.transient) {
        Phase::Failed
    } else {
        p.phase
    };
    akash.phase = phase;
    akash.uris = akash
        .leases
        .iter()
        .flat_map(|l| l.uris.iter().cloned())
        .collect();
    if phase == Phase::Ready && old_phase != Phase::Ready {
        akash.ready_since = Some(now.clone());
    }
    if phase != Phase::Ready {
        akash.ready_since = None;
    }
    match error {
        Some(_) => akash.attempt = akash.attempt.saturating_add(1),
        // Reset only by a round with nothing left to do: a round that started steps (a
        // detached write among them) has not succeeded yet.
        None if p.steps.is_empty() => akash.attempt = 0,
        None => {}
    }
    akash.next_retry = None;
    akash.last_reconcile_time = Some(now.clone());
    if let Some(secs) = akash.escrow_runway_seconds {
        ctx.metrics.runway(
            resource.kind.as_str(),
            &resource.metadata.project,
            &resource.metadata.name,
            secs,
        );
    }
    let ready = if phase == Phase::Ready {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    let mut changed = set_condition(&mut st, "Ready", ready, reason, &message, generation, &now);
    let synced = if p.synced {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    let synced_reason = if p.synced { "Synced" } else { "Rollout" };
    changed |= set_condition(
        &mut st,
        "Synced",
        synced,
        synced_reason,
        "",
        generation,
        &now,
    );
    let degraded = matches!(phase, Phase::Degraded) || (error.is_some() && p.previous.is_some());
    let (dv, dr) = if degraded {
        (ConditionStatus::True, reason)
    } else {
        (ConditionStatus::False, "AsExpected")
    };
    changed |= set_condition(&mut st, "Degraded", dv, dr, "", generation, &now);
    st.observed_generation = Some(generation);
    let before = st.facts.clone();
    akash.write_into(&mut st);
    // lastReconcileTime alone does not warrant a write: it would wake every watcher.
    let mut a = before.clone();
    let mut b = st.facts.clone();
    a.remove("lastReconcileTime");
    b.remove("lastReconcileTime");
    changed |= a != b;
    if !changed && st.observed_generation == resource.status.observed_generation {
        return Ok(());
    }
    *resource = ctx
        .store
        .write_status(&resource.key(), resource.metadata.resource_version, &st)
        .await?;
    if old_phase != phase {
        let type_ = match phase {
            Phase::Failed | Phase::Degraded => EventType::Warning,
            Phase::Bidding if reason == "NoBids" => EventType::Warning,
            _ => EventType::Normal,
        };
        info!(
            from = old_phase.as_str(),
            to = phase.as_str(),
            reason,
            "phase"
        );
        event(ctx, resource, type_, phase.as_str(), message).await;
        ctx.progress(resource, Progress::Phase(phase, akash));
    }
    Ok(())
}
