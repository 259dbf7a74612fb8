//! The I/O half of an Akash-hosted resource's reconcile: render the desired state (once per
//! generation), observe the intents, the chain and the providers, ask [`plan`] for the steps,
//! execute them through the traits, and write the typed status, conditions and events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn, Instrument};

use crate::akash::client::gateway::GatewayError;
use crate::akash::client::ClientError;
use crate::akash::proto::deployment::v1::{DeploymentID, DeploymentState};
use crate::akash::proto::deployment::v1beta4::GroupState;
use crate::akash::proto::legacy_dec;
use crate::akash::proto::market::v1::{BidID, LeaseFilters, LeaseID, LeaseState};
use crate::akash::proto::market::v1beta5::BidFilters;
use crate::akash::proto::Coin;
use crate::render::{RenderError, Renderer, SecretError, SecretResolver};
use crate::spec::common::{HealthCheck, Placement};
use crate::spec::kinds::site::GatewayMode;
use crate::spec::{ConditionStatus, Kind, Resource, Spec};
use crate::store::{DeploymentIntent, EventType, IntentState, NewEvent, ProviderEvent, StoreError};

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
    // What the operator generates for itself: a runtime's node token, a Proxy's admin
    // password. Generated once, kept sealed in the vault, injected into the env at deploy time.
    let own_key = match resource.kind {
        Kind::FunctionRuntime => Some(crate::render::runtime_token_key(&resource.metadata.name)),
        Kind::Proxy => Some(crate::proxy::admin_password_key(&resource.metadata.name)),
        _ => None,
    };
    if let Some(key) = own_key {
        ctx.secrets
            .generate_if_missing(
                &resource.metadata.project,
                crate::render::OPERATOR_STORE,
                &key,
            )
            .await
            .map_err(|e| ReconcileError::permanent("secrets", e).with_reason("SecretMissing"))?;
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
            escrow: placement.and_then(|p| p.escrow.as_ref()).and_then(|e| {
                match (&e.top_up_below, &e.top_up_to) {
                    (Some(below), Some(to)) => Some(plan::EscrowPolicy {
                        top_up_below: below.duration(),
                        top_up_to: to.duration(),
                    }),
                    (Some(below), None) => Some(plan::EscrowPolicy {
                        top_up_below: below.duration(),
                        top_up_to: below.duration() * 2,
                    }),
                    _ => None,
                }
            }),
        },
        hash: conv.version.0.to_vec(),
        manifest_json,
        deposit,
        health: health.cloned(),
        runtime: matches!(spec, Spec::FunctionRuntime(_)),
        proxy_admin_port: match &spec {
            Spec::Proxy(p) => Some(p.admin_port),
            _ => None,
        },
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
    if !deleting {
        settle_deposit(ctx, &mut status).await?;
    }
    for round in 0..MAX_ROUNDS {
        let obs = match observe(ctx, &resource, &status, rendered.as_deref(), round).await {
            Ok(o) => o,
            Err(e) => {
                if e.transient {
                    report_unobserved(ctx, &mut resource, &e).await;
                }
                return Err(e);
            }
        };
        let p = plan::plan(
            rendered.as_ref().map(|r| &r.desired),
            &obs,
            &ctx.config.timing,
        );
        if let Some(d) = p.current {
            tracing::Span::current().record("dseq", d);
        }
        for (provider, after_ms) in update_tracking(&mut status, &obs, &p, rendered.as_deref()) {
            record(ctx, &provider, ProviderEvent::FirstHealthy { after_ms }).await;
        }
        if let Some(d) = p.current {
            if !deleting && status.bidding.iter().any(|b| b.bids == 0) {
                ctx.wait_for_bids(d, &resource.key());
            } else {
                ctx.stop_waiting_for_bids(d);
            }
        }
        if p.reason == "DeploymentLost" || p.reason == "EscrowExhausted" {
            // Closed by someone else (another tool, the escrow running dry): worth a warning
            // of its own, not only the phase event of the replacement.
            warn!(message = %p.message, "deployment lost");
            event(
                ctx,
                &resource,
                EventType::Warning,
                p.reason,
                p.message.clone(),
            )
            .await;
        }
        let mut progressed = false;
        let mut gone = false;
        let mut step_error = None;
        for step in &p.steps {
            match execute(ctx, &mut resource, &mut status, rendered.as_deref(), step).await {
                Ok(StepOutcome::Continue) => progressed = true,
                Ok(StepOutcome::Idle) => {}
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
                let phase = match GroupState::try_from(g.state) {
                    Ok(GroupState::Paused) => plan::GroupPhase::Paused,
                    Ok(GroupState::InsufficientFunds) => plan::GroupPhase::InsufficientFunds,
                    Ok(GroupState::Closed) => plan::GroupPhase::Closed,
                    _ => plan::GroupPhase::Open,
                };
                (g.id.gseq, g.group_spec.clone(), phase)
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
            // Leases the status tracks that are no longer active: ask the chain why.
            let lost = status.leases.iter().any(|t| {
                t.dseq == intent.dseq.to_string()
                    && !dep
                        .leases
                        .iter()
                        .any(|l| l.gseq == t.gseq && l.oseq == t.oseq && l.provider == t.provider)
            });
            if lost {
                let all = ctx
                    .chain
                    .leases(
                        LeaseFilters {
                            owner: owner.clone(),
                            dseq: intent.dseq,
                            ..LeaseFilters::default()
                        },
                        None,
                    )
                    .await
                    .map_err(|e| ReconcileError::from_client("query leases", intent.dseq, e))?;
                for l in all.items {
                    if l.lease.state == LeaseState::Active as i32 {
                        continue;
                    }
                    let state = LeaseState::try_from(l.lease.state)
                        .map(|s| s.as_str_name().to_owned())
                        .unwrap_or_else(|_| "closed".into());
                    dep.closed_leases.insert(
                        lease_key(&l.lease.id),
                        plan::ClosedLease {
                            state,
                            reason: l.lease.reason,
                        },
                    );
                }
            }
            let unleased = dep.groups.iter().any(|(g, _, state)| {
                *state == plan::GroupPhase::Open && !dep.leases.iter().any(|l| l.gseq == *g)
            });
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
            health.insert(lease_key(&l), probe_lease(ctx, resource, &l, r).await);
        }
    }
    // Our record of the bidders, only when a bid is to be chosen.
    let choosing = chain.values().any(|d| !d.bids.is_empty());
    let provider_failures = if choosing {
        ctx.records.provider_failures(&owner).await?
    } else {
        BTreeMap::new()
    };
    // Groups waiting for bids (with some bids in, or past the bid timeout): which providers
    // on chain could bid. The bid window ends once every one of them has; `NoBids` names them.
    let mut placement = BTreeMap::new();
    let timeout_ms = ctx.config.timing.bid_timeout.as_millis() as i64;
    let now_ms = ctx.clock.now_ms();
    let starved: Vec<(u64, u32, crate::sdl::GroupSpec)> = chain
        .iter()
        .flat_map(|(dseq, d)| {
            d.groups
                .iter()
                .filter(|(gseq, _, phase)| {
                    *phase == plan::GroupPhase::Open
                        && !d.leases.iter().any(|l| l.gseq == *gseq)
                        && (d.bids.iter().any(|(b, _)| b.gseq == *gseq)
                            || status.bidding.iter().any(|b| {
                                b.dseq == dseq.to_string()
                                    && b.gseq == *gseq
                                    && now_ms - b.since_ms >= timeout_ms
                            }))
                })
                .map(move |(gseq, g, _)| (*dseq, *gseq, g.clone()))
        })
        .collect();
    if !starved.is_empty() {
        match ctx.provider_directory().await {
            Ok(dir) => {
                for (dseq, gseq, group) in starved {
                    let mut matching: Vec<String> = dir
                        .iter()
                        .filter(|p| p.matches(&group))
                        .map(|p| p.owner.clone())
                        .collect();
                    matching.sort();
                    placement.insert(
                        (dseq, gseq),
                        plan::PlacementMatch {
                            matching,
                            total: dir.len(),
                        },
                    );
                }
            }
            // Only the message is poorer for it.
            Err(e) => debug!(error = %e, "could not read the providers on chain"),
        }
    }
    Ok(Observed {
        placement,
        provider_failures,
        deposit_in_flight: status.pending_deposit.is_some(),
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

/// What the provider says of a lease, and the health check through its URI. The provider's
/// answer is bounded by the health check's timeout (10 s without one): a gateway slower
/// than that counts as not answering.
async fn probe_lease(
    ctx: &Context,
    resource: &Resource,
    lease: &LeaseID,
    r: &Rendered,
) -> LeaseHealth {
    let limit = r
        .health
        .as_ref()
        .map_or(Duration::from_secs(10), |h| h.timeout());
    let answer = tokio::time::timeout(limit, ctx.gateway.lease_status(lease)).await;
    let st = match answer {
        Ok(Ok(s)) => s,
        Ok(Err(e))
            if !matches!(
                e,
                GatewayError::Transport { .. } | GatewayError::Http { status: 500.., .. }
            ) =>
        {
            // It answers, but does not run the lease (yet): not available.
            warn!(provider = %lease.provider, error = %e, "lease status refused");
            return LeaseHealth::default();
        }
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => format!("no answer within {} ms", limit.as_millis()),
            };
            warn!(provider = %lease.provider, error = %why, "lease status unavailable");
            // A provider whose gateway does not answer may have left the chain.
            let gone = matches!(
                ctx.chain.provider(&lease.provider).await,
                Err(ClientError::NotFound(_))
            );
            return LeaseHealth {
                unreachable: true,
                provider_gone: gone,
                ..LeaseHealth::default()
            };
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
    let services: Vec<(String, Vec<String>)> = st
        .services
        .iter()
        .map(|(name, s)| {
            let mut u = s.uris.clone();
            // The provider's own ingress hostname first: an `accept` hostname may not point
            // at the provider yet (DNS follows Ready).
            u.sort_by_key(|x| !x.contains(".ingress."));
            (name.clone(), u)
        })
        .collect();
    if !available {
        return LeaseHealth {
            uris,
            services,
            ..LeaseHealth::default()
        };
    }
    if r.runtime {
        // Every node on its own: its health check, then every Function's current version.
        let functions = crate::functions::RuntimeFunctions::load(ctx, resource).await;
        let mut healthy = true;
        for (name, u) in &services {
            let Some(uri) = u.first() else { continue };
            if let Some(hc) = &r.health {
                match ctx.probe.get(uri, &hc.path, hc.timeout()).await {
                    Ok(code) if code == hc.expected_status => {}
                    Ok(code) => {
                        warn!(node = %name, uri = %uri, code, "runtime node health check failed");
                        healthy = false;
                        continue;
                    }
                    Err(e) => {
                        warn!(node = %name, uri = %uri, error = %e, "runtime node health check failed");
                        healthy = false;
                        continue;
                    }
                }
            }
            let node = crate::functions::admin::NodeAddr {
                node: name.clone(),
                uri: uri.clone(),
            };
            let synced = match &functions {
                Ok(Some(f)) => f.sync(&node).await,
                Ok(None) => Ok(true),
                Err(e) => Err(e.clone()),
            };
            match synced {
                Ok(true) => {}
                Ok(false) => healthy = false,
                Err(e) => {
                    warn!(node = %name, error = %e, "cannot give the node its functions");
                    healthy = false;
                }
            }
        }
        return LeaseHealth {
            available,
            healthy,
            uris,
            services,
            ..LeaseHealth::default()
        };
    }
    if let Some(port) = r.proxy_admin_port {
        // A Proxy: its health check, then its routes, before it counts as healthy.
        let healthy = match &r.health {
            Some(hc) => check_health(ctx, &uris, hc).await,
            None => true,
        };
        let routes = if healthy {
            sync_proxy_routes(ctx, resource, &st, port).await
        } else {
            None
        };
        let synced = routes.is_some() || ctx.proxy_admin().is_none();
        return LeaseHealth {
            available,
            healthy: healthy && synced,
            uris,
            services,
            routes,
            ..LeaseHealth::default()
        };
    }
    let Some(hc) = &r.health else {
        return LeaseHealth {
            available,
            healthy: true,
            uris,
            services,
            ..LeaseHealth::default()
        };
    };
    let healthy = check_health(ctx, &uris, hc).await;
    LeaseHealth {
        available,
        healthy,
        uris,
        services,
        ..LeaseHealth::default()
    }
}

/// The health check through a lease's URI: the provider's own ingress hostname first (an
/// `accept` hostname may not point at the provider yet: DNS follows Ready). Nothing exposed
/// over HTTP: replicas available is all that can be checked.
async fn check_health(ctx: &Context, uris: &[String], hc: &HealthCheck) -> bool {
    let Some(uri) = uris
        .iter()
        .find(|u| u.contains(".ingress."))
        .or(uris.first())
    else {
        return true;
    };
    match ctx.probe.get(uri, &hc.path, hc.timeout()).await {
        Ok(code) => code == hc.expected_status,
        Err(e) => {
            warn!(uri = %uri, error = %e, "health check failed");
            false
        }
    }
}

/// Gives a Proxy the routes of its project's FunctionRuntimes through its admin API (the
/// forwarded port of `admin_port`). `None` when that fails (it is retried at the next look).
async fn sync_proxy_routes(
    ctx: &Context,
    resource: &Resource,
    st: &crate::akash::client::gateway::LeaseStatus,
    admin_port: u16,
) -> Option<Vec<crate::spec::akash_status::ProxyRoute>> {
    let admin = ctx.proxy_admin()?;
    let Some(fwd) = st
        .forwarded_ports
        .values()
        .flatten()
        .find(|f| f.port == u32::from(admin_port) && f.proto.eq_ignore_ascii_case("TCP"))
    else {
        warn!(
            port = admin_port,
            "the proxy's admin port is not forwarded (yet)"
        );
        return None;
    };
    let project = &resource.metadata.project;
    let password = match ctx.secrets.resolver(project).await.and_then(|s| {
        s.resolve(
            project,
            &crate::spec::common::SecretRef {
                store: crate::render::OPERATOR_STORE.into(),
                key: crate::proxy::admin_password_key(&resource.metadata.name),
            },
        )
        .map_err(|e| e.to_string())
    }) {
        Ok(p) => zeroize::Zeroizing::new(p),
        Err(e) => {
            warn!(error = %e, "the proxy's admin password is not in the vault");
            return None;
        }
    };
    let endpoint = crate::proxy::AdminEndpoint {
        url: format!("http://{}:{}", fwd.host, fwd.external_port),
        user: crate::proxy::ADMIN_USER.into(),
        password,
    };
    let q = crate::store::ListQuery {
        project: Some(project.clone()),
        kind: Some(Kind::FunctionRuntime),
        ..crate::store::ListQuery::default()
    };
    let resources = match ctx.store.list(&q).await {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "cannot list the project's runtimes for the proxy's routes");
            return None;
        }
    };
    match crate::proxy::sync(admin.as_ref(), &endpoint, &resources).await {
        Ok(routes) => Some(routes),
        Err(e) => {
            warn!(error = %e, "cannot give the proxy its routes");
            None
        }
    }
}

/// Folds the observation into the status: orders collecting bids, the leases of the current
/// deployment, health counters, URIs, exclusions that ended. Returns the leases that passed
/// their health check for the first time: (provider, ms after they were first seen).
fn update_tracking(
    status: &mut AkashStatus,
    obs: &Observed,
    p: &plan::Plan,
    r: Option<&Rendered>,
) -> Vec<(String, i64)> {
    status.excluded.retain(|e| e.until_ms > obs.now_ms);
    status.dseq = p.current.map(|d| d.to_string());
    status.previous_dseq = p.previous.map(|d| d.to_string());
    status.manifest_version = r.map(|r| r.desired.version.clone());
    status.rendered_generation = r.map(|r| r.generation);
    let Some(dep) = p.current.and_then(|d| obs.chain.get(&d)) else {
        status.bidding.clear();
        status.leases.clear();
        status.provider = None;
        status.uris.clear();
        return Vec::new();
    };
    let dseq = p.current.unwrap_or_default();
    let mut bidding = Vec::new();
    for (gseq, _, open) in &dep.groups {
        if *open != plan::GroupPhase::Open || dep.leases.iter().any(|l| l.gseq == *gseq) {
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
    let mut first_healthy = Vec::new();
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
        t.since_ms.get_or_insert(obs.now_ms);
        if let Some(h) = h {
            if h.unreachable {
                // Nothing is known of the lease at this look; the rest stays as it was.
                t.unreachable = t.unreachable.saturating_add(1);
            } else {
                t.unreachable = 0;
                t.available = h.available;
                t.uris = h.uris.clone();
                t.services = h
                    .services
                    .iter()
                    .map(|(name, uris)| crate::spec::akash_status::ServiceUris {
                        name: name.clone(),
                        uris: uris.clone(),
                    })
                    .collect();
                if h.available {
                    t.was_available = true;
                    t.unavailable = 0;
                } else if t.was_available {
                    t.unavailable = t.unavailable.saturating_add(1);
                }
                if h.available && h.healthy {
                    t.healthy = true;
                    t.health_failures = 0;
                    if t.healthy_after_ms.is_none() {
                        let after = obs.now_ms - t.since_ms.unwrap_or(obs.now_ms);
                        t.healthy_after_ms = Some(after.max(0));
                        first_healthy.push((t.provider.clone(), after.max(0)));
                    }
                } else if h.available {
                    // Healthy until `failureThreshold` consecutive failures (as the planner sees it).
                    t.health_failures = t.health_failures.saturating_add(1);
                    t.healthy = t.healthy && t.health_failures < threshold;
                } else {
                    t.healthy = false;
                }
            }
        }
        leases.push(t);
    }
    status.leases = leases;
    // A Proxy's routes, as given to it at this look (kept when no look gave them).
    if let Some(routes) = dep
        .leases
        .iter()
        .filter_map(|l| obs.health.get(&lease_key(l)))
        .find_map(|h| h.routes.clone())
    {
        status.proxy_routes = routes;
    }
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
            status.escrow_burn_per_block = Some(format!("{}{denom}", trim_decimal(rate)));
            status.escrow_balance = Some(format!("{}{denom}", trim_decimal(*funds)));
            status.escrow_runway_seconds =
                (rate > 0.0).then(|| (funds / rate * obs.block_time_ms / 1000.0).floor() as i64);
        }
        None => {
            // The burn rate stays as last seen: a re-placement after the escrow ran dry is
            // funded for it (`create_deposit`).
            status.escrow_balance = None;
            status.escrow_runway_seconds = None;
        }
    }
    status.provider = status
        .leases
        .iter()
        .min_by_key(|l| l.gseq)
        .map(|l| l.provider.clone());
    first_healthy
}

/// A decimal without trailing zeros (`12.500000` → `12.5`).
fn trim_decimal(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Adds to our record of a provider (a failure to write it is logged, never fatal).
async fn record(ctx: &Context, provider: &str, e: ProviderEvent) {
    if let Err(err) = ctx
        .records
        .record_provider(ctx.chain.owner(), provider, &e)
        .await
    {
        warn!(provider, error = %err, "cannot update the provider's record");
    }
}

enum StepOutcome {
    Continue,
    /// Nothing changed (a top-up the wallet cannot fund): not worth another round.
    Idle,
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
            // Funded first: a deployment the wallet cannot pay for is not sent (ACT is minted
            // from AKT when it can be; `FundingLow` otherwise), so one lost to a dry escrow
            // is re-placed once the wallet is funded, with the runway of its policy.
            let deposit = create_deposit(ctx, status, r);
            let amount: u128 = deposit.amount.parse().unwrap_or(0);
            let why = "the deposit of a new deployment";
            if !ensure_funds(ctx, resource, status, amount, &deposit.denom, why, 0.0).await? {
                return Ok(StepOutcome::Idle);
            }
            let height = ctx
                .chain
                .latest_height()
                .await
                .map_err(|e| ReconcileError::from_client("latest height", 0, e))?
                .max(1) as u64;
            // Above every dseq recorded (read once) and every one this process chose since.
            let last = match ctx.last_dseq(&owner) {
                Some(d) => d,
                None => ctx.intents.max_dseq(&owner).await?,
            };
            let mut dseq = ctx.claim_dseq(&owner, height.max(last.saturating_add(1)));
            let now = chrono::Utc::now().to_rfc3339();
            loop {
                let intent = DeploymentIntent {
                    owner: owner.clone(),
                    dseq,
                    resource_uid: resource.metadata.uid.clone(),
                    resource_key: resource.key().to_string(),
                    generation: r.generation,
                    manifest_version: r.desired.version.clone(),
                    deposit: format!("{}{}", deposit.amount, deposit.denom),
                    state: IntentState::Pending,
                    created_at: now.clone(),
                    updated_at: now.clone(),
                };
                match ctx.intents.record_intent(&intent).await {
                    Ok(()) => break,
                    // Chosen by another process meanwhile: the next free one.
                    Err(StoreError::DuplicateDseq { .. }) => {
                        dseq = ctx.claim_dseq(&owner, dseq.saturating_add(1));
                    }
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
            send_create(ctx, resource, status, r, dseq, deposit).await?;
        }
        Step::ResendCreate { dseq } => {
            let r = rendered.ok_or_else(|| {
                ReconcileError::permanent("internal", "create without a rendering")
            })?;
            // The same deposit as the intent recorded.
            let recorded = ctx
                .intents
                .intents_for(&resource.metadata.uid)
                .await?
                .into_iter()
                .find(|i| i.dseq == *dseq && i.owner == owner)
                .and_then(|i| parse_coin(&i.deposit));
            let deposit = recorded.unwrap_or_else(|| r.deposit.clone());
            send_create(ctx, resource, status, r, *dseq, deposit).await?;
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
            let now = ctx.clock.now_ms();
            if let Some(x) = status
                .excluded
                .iter()
                .find(|x| x.provider == bid.provider && x.until_ms > now)
            {
                if !ctx.is_inflight(&w) {
                    event(
                        ctx,
                        resource,
                        EventType::Warning,
                        "ExcludedProviderTaken",
                        format!(
                            "every provider that bid on group {} is excluded after faults and no other bid came: taking {} ({}, excluded for {} more) rather than not running",
                            bid.gseq,
                            bid.provider,
                            x.reason,
                            human_duration(Duration::from_millis((x.until_ms - now).max(0) as u64))
                        ),
                    )
                    .await;
                }
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
                    exclude(ctx, status, &lease.provider, "ManifestRejected");
                    note_fault(
                        ctx,
                        status,
                        "ManifestRejected",
                        &format!("{} refused the manifest: {reason}", lease.provider),
                    );
                    record(
                        ctx,
                        &lease.provider,
                        ProviderEvent::Failure {
                            reason: "ManifestRejected".into(),
                        },
                    )
                    .await;
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
        Step::CloseLease {
            lease,
            reason,
            message,
        } => {
            tracing::Span::current().record("provider", lease.provider.as_str());
            warn!(reason, message = %message, "giving up a lease");
            let mut id = lease.clone();
            if id.owner.is_empty() {
                id.owner = owner.clone();
            }
            match ctx.chain.close_lease(id.clone()).await {
                Ok(receipt) => ctx.metrics.tx("close-lease", receipt.gas_used),
                // Closed meanwhile (by its provider): fine, the order opens again either way.
                Err(ClientError::NotFound(_)) | Err(ClientError::Chain { .. }) => {}
                Err(e) => return Err(ReconcileError::from_client("close lease", lease.dseq, e)),
            }
            status.leases.retain(|l| !plan::tracks(l, lease));
            exclude(ctx, status, &lease.provider, reason);
            note_fault(ctx, status, reason, message);
            record(
                ctx,
                &lease.provider,
                ProviderEvent::Failure {
                    reason: (*reason).to_owned(),
                },
            )
            .await;
            event(
                ctx,
                resource,
                EventType::Warning,
                reason,
                format!(
                    "{message}; lease closed, {} excluded for {}",
                    lease.provider,
                    human_duration(ctx.config.timing.exclusion)
                ),
            )
            .await;
        }
        Step::LeaseLost {
            lease,
            reason,
            message,
            exclude: keep_out,
        } => {
            warn!(reason, message = %message, "lease lost");
            status.leases.retain(|l| !plan::tracks(l, lease));
            if *keep_out {
                exclude(ctx, status, &lease.provider, reason);
                record(
                    ctx,
                    &lease.provider,
                    ProviderEvent::Failure {
                        reason: (*reason).to_owned(),
                    },
                )
                .await;
            }
            note_fault(ctx, status, reason, message);
            event(ctx, resource, EventType::Warning, reason, message.clone()).await;
        }
        Step::StartGroup { dseq, gseq } => match ctx.chain.start_group(*dseq, *gseq).await {
            Ok(receipt) => {
                ctx.metrics.tx("start-group", receipt.gas_used);
                event(
                    ctx,
                    resource,
                    EventType::Normal,
                    "GroupStarted",
                    format!(
                        "group {gseq} of deployment {dseq} ordered again (tx {})",
                        receipt.hash
                    ),
                )
                .await;
            }
            Err(e) => return Err(ReconcileError::from_client("start group", *dseq, e)),
        },
        Step::Deposit {
            dseq,
            amount,
            denom,
            runway_secs,
        } => {
            if !top_up(ctx, resource, status, *dseq, *amount, denom, *runway_secs).await? {
                return Ok(StepOutcome::Idle);
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

/// The deposit of a new deployment: the spec's, or, when an escrow policy is set and the
/// lease prices are known (a replacement, a re-placement after the escrow ran dry), enough for
/// the policy's `topUpTo` runway at those prices, whichever is more.
fn create_deposit(ctx: &Context, status: &AkashStatus, r: &Rendered) -> Coin {
    let mut deposit = r.deposit.clone();
    let (Some(policy), Some(burn)) = (&r.desired.escrow, status.escrow_burn_per_block.as_deref())
    else {
        return deposit;
    };
    let block_ms = ctx.block_time_ms();
    let Some(rate) = parse_coin(burn)
        .filter(|c| c.denom == deposit.denom)
        .and_then(|c| c.amount.parse::<f64>().ok())
    else {
        return deposit;
    };
    if block_ms <= 0.0 || rate <= 0.0 {
        return deposit;
    }
    let need = (policy.top_up_to.as_millis() as f64 / block_ms * rate).ceil() as u128;
    if need > deposit.amount.parse::<u128>().unwrap_or(0) {
        deposit.amount = need.to_string();
    }
    deposit
}

/// `123uact` → a coin (the spec's parser; decimals such as `0.5uact` keep their text).
fn parse_coin(text: &str) -> Option<Coin> {
    crate::spec::quantity::parse_coin(text).ok().map(|c| Coin {
        denom: c.denom,
        amount: c.amount,
    })
}

/// AKT kept back for fees when ACT is minted from it (fees are paid in `uakt`).
const FEE_RESERVE_UAKT: u128 = 1_000_000;
/// A mint asks for the shortfall plus this share of the whole need (in percent), for the
/// spread, the price moving and the need growing before its epoch.
const MINT_MARGIN_PERCENT: u128 = 10;

/// Whether the wallet holds `need` of `denom` for `why` ("a top-up", "the deposit of a new
/// deployment"). When it does not and the need is in `uact`, ACT is minted from the wallet's
/// AKT (BME `MsgMintACT`, its intent persisted before the broadcast, never twice for one
/// need) and the answer is "not yet"; when the wallet cannot cover it either way, the
/// `FundingLow` condition says so with a Warning event. `FundingRestored` when it can again.
pub(super) async fn ensure_funds(
    ctx: &Context,
    resource: &mut Resource,
    status: &mut AkashStatus,
    need: u128,
    denom: &str,
    why: &str,
    growth_per_block: f64,
) -> Result<bool, ReconcileError> {
    let owner = ctx.chain.owner().to_owned();
    settle_mint(ctx, resource, status).await?;
    let balances = ctx
        .chain
        .balances(&owner)
        .await
        .map_err(|e| ReconcileError::from_client("wallet balance", 0, e))?;
    let held = |d: &str| -> u128 {
        balances
            .iter()
            .find(|c| c.denom == d)
            .and_then(|c| c.amount.parse().ok())
            .unwrap_or(0)
    };
    let have = held(denom);
    if have >= need {
        if status.funding_low.take().is_some() {
            event(
                ctx,
                resource,
                EventType::Normal,
                "FundingRestored",
                format!("the wallet {owner} holds the {need}{denom} that {why} needs"),
            )
            .await;
        }
        return Ok(true);
    }
    if status.pending_mint.is_some() {
        // ACT is on its way (mints execute at the next epoch): wait for it.
        return Ok(false);
    }
    let mut message =
        format!("{why} needs {need}{denom} and the wallet {owner} holds {have}{denom}");
    if denom == "uact" {
        let shortfall = need - have;
        let akt = held("uakt");
        let rate = ctx
            .chain
            .act_mints(None, 20)
            .await
            .map_err(|e| ReconcileError::from_client("BME ledger", 0, e))?
            .iter()
            .find_map(|m| m.rate());
        match rate {
            Some(rate) => {
                // The need grows while the mint waits for its epoch (and the look after it):
                // the margin covers that, and a share of the whole need for the spread and
                // the price, so the next look finds enough.
                let epoch = ctx
                    .chain
                    .mint_epoch_blocks()
                    .await
                    .map_err(|e| ReconcileError::from_client("BME params", 0, e))?
                    .max(1);
                let growth = (growth_per_block * (2 * epoch + 20) as f64).ceil() as u128;
                let want = shortfall + need * MINT_MARGIN_PERCENT / 100 + growth;
                let burn = (want as f64 / rate).ceil() as u128;
                if akt >= burn + FEE_RESERVE_UAKT {
                    mint_act(ctx, resource, status, burn, shortfall, why).await?;
                    return Ok(false);
                }
                message.push_str(&format!(
                    "; minting the rest from AKT would burn {burn}uakt (at {rate:.4} uact per uakt) and it holds {akt}uakt, {FEE_RESERVE_UAKT} of them kept for fees"
                ));
            }
            None => message.push_str(
                "; no executed mint in the BME ledger gives the ACT price, so none is minted from its AKT (mint ACT once by hand)",
            ),
        }
    }
    if status.funding_low.is_none() {
        // Once when it starts (the message itself follows the need in the status).
        warn!(need = %need, have = %have, denom, "funding low");
        event(
            ctx,
            resource,
            EventType::Warning,
            "FundingLow",
            message.clone(),
        )
        .await;
    }
    status.funding_low = Some(message);
    Ok(false)
}

/// Burns `burn` uakt for ACT: the intent on disk first, then `MsgMintACT`.
async fn mint_act(
    ctx: &Context,
    resource: &mut Resource,
    status: &mut AkashStatus,
    burn: u128,
    shortfall: u128,
    why: &str,
) -> Result<(), ReconcileError> {
    let height = ctx
        .chain
        .latest_height()
        .await
        .map_err(|e| ReconcileError::from_client("latest height", 0, e))?;
    status.pending_mint = Some(super::status::PendingMint {
        burn_uakt: burn.to_string(),
        for_uact: shortfall.to_string(),
        height: u64::try_from(height).unwrap_or(0),
        tx_hash: None,
        timeout_height: None,
    });
    persist_facts(ctx, resource, status).await?;
    ctx.crash_point("after-mint-intent");
    let coin = Coin {
        denom: "uakt".to_owned(),
        amount: burn.to_string(),
    };
    match ctx.chain.mint_act(coin).await {
        Ok(receipt) => {
            ctx.crash_point("after-mint-broadcast");
            ctx.metrics.tx("mint-act", receipt.gas_used);
            if let Some(p) = status.pending_mint.as_mut() {
                p.tx_hash = Some(receipt.hash.clone());
            }
            event(
                ctx,
                resource,
                EventType::Normal,
                "MintingACT",
                format!(
                    "burning {burn}uakt for about {shortfall}uact that {why} lacks (tx {}); it executes at the next mint epoch",
                    receipt.hash
                ),
            )
            .await;
            Ok(())
        }
        Err(ClientError::Pending {
            hash,
            timeout_height,
            ..
        }) => {
            if let Some(p) = status.pending_mint.as_mut() {
                p.tx_hash = Some(hash);
                p.timeout_height = Some(timeout_height);
            }
            Ok(())
        }
        Err(e @ ClientError::Chain { .. }) => {
            status.pending_mint = None;
            Err(ReconcileError::from_client("mint ACT", 0, e))
        }
        // Unknown outcome: the intent stays; `settle_mint` finds out.
        Err(e) => Err(ReconcileError::from_client("mint ACT", 0, e)),
    }
}

/// Resolves a recorded mint: executed or canceled (its ledger record says so), still
/// pending (wait), or provably never sent (its tx cannot land any more: forgotten).
async fn settle_mint(
    ctx: &Context,
    resource: &Resource,
    status: &mut AkashStatus,
) -> Result<(), ReconcileError> {
    let Some(p) = status.pending_mint.clone() else {
        return Ok(());
    };
    let owner = ctx.chain.owner().to_owned();
    let mints = ctx
        .chain
        .act_mints(Some(&owner), 20)
        .await
        .map_err(|e| ReconcileError::from_client("BME ledger", 0, e))?;
    let burn: u128 = p.burn_uakt.parse().unwrap_or(0);
    let ours = mints
        .iter()
        .find(|m| m.height >= p.height as i64 && m.burned_uakt == burn);
    match ours.map(|m| (m.state, m.minted_uact)) {
        Some((crate::akash::client::MintState::Pending, _)) => return Ok(()),
        Some((crate::akash::client::MintState::Executed, minted)) => {
            status.pending_mint = None;
            event(
                ctx,
                resource,
                EventType::Normal,
                "ACTMinted",
                format!("{burn}uakt burned, {minted}uact minted"),
            )
            .await;
            return Ok(());
        }
        Some((crate::akash::client::MintState::Canceled, _)) => {
            status.pending_mint = None;
            event(
                ctx,
                resource,
                EventType::Warning,
                "MintCanceled",
                format!("the BME canceled the mint of {burn}uakt; it is planned again"),
            )
            .await;
            return Ok(());
        }
        None => {}
    }
    if let Some(hash) = &p.tx_hash {
        match ctx.chain.tx(hash).await {
            // In a block yet not in the ledger: the ledger answers at the next look.
            Ok(Some(_)) => return Ok(()),
            Err(ClientError::Chain { .. }) => {
                status.pending_mint = None;
                return Ok(());
            }
            Ok(None) => {}
            Err(e) => return Err(ReconcileError::from_client("query mint tx", 0, e)),
        }
    }
    let height = ctx
        .chain
        .latest_height()
        .await
        .map_err(|e| ReconcileError::from_client("latest height", 0, e))?;
    let last = p.timeout_height.unwrap_or(p.height + TX_TIMEOUT_MARGIN);
    if u64::try_from(height).unwrap_or(0) > last {
        warn!("a recorded mint of ACT never landed; planning it again");
        status.pending_mint = None;
    }
    Ok(())
}

/// Tops up the escrow of `dseq` by `amount`: the wallet's funds checked first (`FundingLow`
/// when they fall short), the intent recorded in the status before the broadcast, the
/// outcome checked by [`settle_deposit`] after a crash.
#[allow(clippy::too_many_arguments)]
async fn top_up(
    ctx: &Context,
    resource: &mut Resource,
    status: &mut AkashStatus,
    dseq: u64,
    amount: u128,
    denom: &str,
    runway_secs: i64,
) -> Result<bool, ReconcileError> {
    let owner = ctx.chain.owner().to_owned();
    let why = format!(
        "a top-up of the escrow of deployment {dseq} (runway {})",
        human_duration(Duration::from_secs(runway_secs.max(0) as u64))
    );
    // The need grows by the leases' price per block.
    let growth = status
        .escrow_burn_per_block
        .as_deref()
        .and_then(parse_coin)
        .and_then(|c| c.amount.parse::<f64>().ok())
        .unwrap_or(0.0);
    if !ensure_funds(ctx, resource, status, amount, denom, &why, growth).await? {
        return Ok(false);
    }
    let height = ctx
        .chain
        .latest_height()
        .await
        .map_err(|e| ReconcileError::from_client("latest height", dseq, e))?;
    let before = status.escrow_balance.clone().unwrap_or_default();
    let before_num = before
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .to_owned();
    status.pending_deposit = Some(super::status::PendingDeposit {
        dseq: dseq.to_string(),
        amount: amount.to_string(),
        denom: denom.to_owned(),
        balance_before: before_num,
        height: u64::try_from(height).unwrap_or(0),
        tx_hash: None,
        timeout_height: None,
    });
    // The intent is on disk before the broadcast.
    persist_facts(ctx, resource, status).await?;
    ctx.crash_point("after-deposit-intent");
    let coin = Coin {
        denom: denom.to_owned(),
        amount: amount.to_string(),
    };
    match ctx
        .chain
        .deposit(DeploymentID::new(&owner, dseq), coin)
        .await
    {
        Ok(receipt) => {
            ctx.metrics.tx("deposit", receipt.gas_used);
            status.pending_deposit = None;
            event(
                ctx,
                resource,
                EventType::Normal,
                "EscrowToppedUp",
                format!(
                    "deposited {amount}{denom} into the escrow of deployment {dseq} (runway was {}; tx {})",
                    human_duration(Duration::from_secs(runway_secs.max(0) as u64)),
                    receipt.hash
                ),
            )
            .await;
            Ok(true)
        }
        Err(ClientError::Pending {
            hash,
            timeout_height,
            ..
        }) => {
            if let Some(p) = status.pending_deposit.as_mut() {
                p.tx_hash = Some(hash);
                p.timeout_height = Some(timeout_height);
            }
            Ok(true)
        }
        Err(e @ ClientError::Chain { .. }) => {
            // Refused by the chain: it never executes.
            status.pending_deposit = None;
            Err(ReconcileError::from_client("deposit", dseq, e))
        }
        // Unknown outcome: the intent stays; `settle_deposit` finds out.
        Err(e) => Err(ReconcileError::from_client("deposit", dseq, e)),
    }
}

/// Resolves a recorded top-up: landed (its tx is in a block, or the escrow grew by it),
/// still able to land (wait), or provably never landing (forgotten, so the need is planned
/// again). Never a second deposit for one need.
async fn settle_deposit(ctx: &Context, status: &mut AkashStatus) -> Result<(), ReconcileError> {
    let Some(p) = status.pending_deposit.clone() else {
        return Ok(());
    };
    let dseq: u64 = p.dseq.parse().unwrap_or(0);
    if let Some(hash) = &p.tx_hash {
        match ctx.chain.tx(hash).await {
            Ok(Some(_)) | Err(ClientError::Chain { .. }) => {
                status.pending_deposit = None;
                return Ok(());
            }
            Ok(None) => {}
            Err(e) => return Err(ReconcileError::from_client("query deposit tx", dseq, e)),
        }
    }
    let height = ctx
        .chain
        .latest_height()
        .await
        .map_err(|e| ReconcileError::from_client("latest height", dseq, e))?;
    let height = u64::try_from(height).unwrap_or(0);
    // The escrow's funds now against what they would be without the deposit.
    let owner = ctx.chain.owner().to_owned();
    let d = match ctx.chain.deployment(&DeploymentID::new(&owner, dseq)).await {
        Ok(d) => d,
        Err(ClientError::NotFound(_)) => {
            status.pending_deposit = None;
            return Ok(());
        }
        Err(e) => return Err(ReconcileError::from_client("query deployment", dseq, e)),
    };
    let funds: f64 = d
        .escrow_account
        .state
        .funds
        .iter()
        .find(|b| b.denom == p.denom)
        .map(|b| legacy_dec::to_decimal(&b.amount).parse().unwrap_or(0.0))
        .unwrap_or(0.0);
    let before: f64 = p.balance_before.parse().unwrap_or(0.0);
    let amount: f64 = p.amount.parse().unwrap_or(0.0);
    let rate: f64 = status
        .escrow_burn_per_block
        .as_deref()
        .map(|b| b.trim_end_matches(|c: char| c.is_ascii_alphabetic()))
        .and_then(|b| b.parse().ok())
        .unwrap_or(0.0);
    let burnt = rate * height.saturating_sub(p.height) as f64;
    if funds >= before - burnt + amount / 2.0 {
        info!(dseq, "a recorded top-up landed");
        status.pending_deposit = None;
        return Ok(());
    }
    // Not landed: every tx carries a timeout height; past it (or past the default margin when
    // the hash was never known), it never will.
    let last = p.timeout_height.unwrap_or(p.height + TX_TIMEOUT_MARGIN);
    if height > last {
        warn!(dseq, "a recorded top-up never landed; planning it again");
        status.pending_deposit = None;
    }
    Ok(())
}

/// How far the escrow's balance and runway may drift from what the status says before the
/// drift alone is written (a fraction of the written figure). The balance burns at the
/// leases' price every block and the runway is a forecast from the block-time estimate, which
/// moves while the daemon is young: with 1 %, a steady sweep rewrote between none and every
/// status depending on the prices the leases were taken at (200 ms devnet blocks burn an
/// escrow 30 times as fast as mainnet's 6 s). The metrics are exact at every look, and
/// [`ESCROW_REFRESH`] bounds how stale the written figures get.
const ESCROW_DRIFT: f64 = 0.10;

/// How old the written escrow figures may get before the drift alone is written.
const ESCROW_REFRESH: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Whether `new` differs from the written facts `old` only by the escrow's balance and runway
/// (besides `lastReconcileTime`), each within [`ESCROW_DRIFT`] of the written figure in the
/// same denomination, and the written facts are younger than [`ESCROW_REFRESH`]: the block by
/// block drawdown of every escrow is then not worth a status write (and a wake-up of every
/// watcher) at every look.
fn escrow_drift_only(
    old: &serde_json::Map<String, serde_json::Value>,
    new: &serde_json::Map<String, serde_json::Value>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    const DRIFTING: [&str; 3] = ["lastReconcileTime", "escrowBalance", "escrowRunwaySeconds"];
    fn rest(m: &serde_json::Map<String, serde_json::Value>) -> Vec<(&String, &serde_json::Value)> {
        m.iter()
            .filter(|(k, _)| !DRIFTING.contains(&k.as_str()))
            .collect()
    }
    if rest(old) != rest(new) {
        return false;
    }
    let recent = old
        .get("lastReconcileTime")
        .and_then(|v| v.as_str())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| now.signed_duration_since(t) < ESCROW_REFRESH);
    if !recent {
        return false;
    }
    let close = |a: f64, b: f64| (a - b).abs() <= ESCROW_DRIFT * a.abs();
    let balance = |m: &serde_json::Map<String, serde_json::Value>| {
        m.get("escrowBalance").and_then(|v| v.as_str()).map(|b| {
            let denom = b.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
            let amount = b[..b.len() - denom.len()].parse::<f64>().ok();
            (amount, denom.to_owned())
        })
    };
    let balance_close = match (balance(old), balance(new)) {
        (None, None) => true,
        (Some((Some(a), da)), Some((Some(b), db))) => da == db && close(a, b),
        _ => false,
    };
    let runway = |m: &serde_json::Map<String, serde_json::Value>| {
        m.get("escrowRunwaySeconds").and_then(|v| v.as_i64())
    };
    let runway_close = match (runway(old), runway(new)) {
        (None, None) => true,
        (Some(a), Some(b)) => close(a as f64, b as f64),
        _ => false,
    };
    balance_close && runway_close
}

/// The client's timeout-height margin (`RpcConfig::timeout_height_margin`'s default).
const TX_TIMEOUT_MARGIN: u64 = 100;

/// Writes the status facts now (an intent recorded before a broadcast).
async fn persist_facts(
    ctx: &Context,
    resource: &mut Resource,
    status: &AkashStatus,
) -> Result<(), ReconcileError> {
    let mut st = resource.status.clone();
    status.write_into(&mut st);
    *resource = ctx
        .store
        .write_status(&resource.key(), resource.metadata.resource_version, &st)
        .await?;
    Ok(())
}

/// A stored fault reason as the condition's one word (known reasons only; anything else
/// reads `Degraded`).
fn reason_word(reason: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "LeaseClosed",
        "LeaseClosedOutOfBand",
        "EscrowExhausted",
        "ProviderUnreachable",
        "ReplicasUnavailable",
        "Unhealthy",
        "ManifestRejected",
        "ProviderGone",
    ];
    KNOWN
        .iter()
        .find(|k| **k == reason)
        .copied()
        .unwrap_or("Degraded")
}

/// Keeps `provider` out of this resource's bids for the configured cooldown.
fn exclude(ctx: &Context, status: &mut AkashStatus, provider: &str, reason: &str) {
    let until_ms = ctx.clock.now_ms() + ctx.config.timing.exclusion.as_millis() as i64;
    let until = chrono::DateTime::from_timestamp_millis(until_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    status.excluded.retain(|e| e.provider != provider);
    status.excluded.push(super::status::ExcludedProvider {
        provider: provider.to_owned(),
        reason: reason.to_owned(),
        until,
        until_ms,
    });
}

/// Marks the resource as healing a fault (the first fault of an episode keeps its start).
fn note_fault(ctx: &Context, status: &mut AkashStatus, reason: &str, message: &str) {
    let since_ms = status
        .fault
        .as_ref()
        .map_or(ctx.clock.now_ms(), |f| f.since_ms);
    status.fault = Some(super::status::FaultStatus {
        reason: reason.to_owned(),
        message: message.to_owned(),
        since_ms,
    });
    ctx.metrics.fault(reason);
}

/// `30m`, `1h`, `45s`.
fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
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
    // At once: a reconcile that sees the lease on chain may send the manifest meanwhile, and
    // the crash tests want the moment between the lease and the manifest.
    ctx.crash_point("after-lease");
    ctx.metrics.tx("create-lease", receipt.gas_used);
    record(ctx, &bid.provider, ProviderEvent::Lease { price }).await;
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
    Ok(())
}

async fn send_create(
    ctx: &Arc<Context>,
    resource: &Resource,
    status: &mut AkashStatus,
    r: &Rendered,
    dseq: u64,
    deposit: Coin,
) -> Result<(), ReconcileError> {
    tracing::Span::current().record("dseq", dseq);
    let w = InFlight::Create(dseq);
    if let Some(e) = ctx.take_failure(&w) {
        return Err(e);
    }
    let parts = (r.desired.groups.clone(), r.hash.clone(), deposit);
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
/// The chain (or the store) did not answer while looking: say so without pretending to
/// know more. A Ready resource stays Ready (its leases may well serve) and is marked
/// Degraded with the reason; any other is not Ready, with the reason.
async fn report_unobserved(ctx: &Context, resource: &mut Resource, e: &ReconcileError) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let generation = resource.metadata.generation;
    let mut st = resource.status.clone();
    let mut akash = AkashStatus::from_status(&st);
    akash.attempt = akash.attempt.saturating_add(1);
    let mut changed = if akash.phase == Phase::Ready {
        set_condition(
            &mut st,
            "Degraded",
            ConditionStatus::True,
            e.reason(),
            &e.message,
            generation,
            &now,
        )
    } else {
        set_condition(
            &mut st,
            "Ready",
            ConditionStatus::False,
            e.reason(),
            &e.message,
            generation,
            &now,
        )
    };
    let before = st.facts.clone();
    akash.write_into(&mut st);
    changed |= before != st.facts;
    if !changed {
        return;
    }
    match ctx
        .store
        .write_status(&resource.key(), resource.metadata.resource_version, &st)
        .await
    {
        Ok(r) => *resource = r,
        Err(err) => warn!(error = %err, "cannot record the failure in the status"),
    }
}

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
    // A fault being healed keeps Degraded=True until Ready again.
    let mut healed = None;
    if phase == Phase::Ready {
        if let Some(f) = akash.fault.take() {
            healed = Some(f);
        }
    }
    let degraded = matches!(phase, Phase::Degraded)
        || (error.is_some() && p.previous.is_some())
        || akash.fault.is_some();
    let (dv, dr, dm) = match &akash.fault {
        Some(f) if phase != Phase::Degraded => (
            ConditionStatus::True,
            reason_word(&f.reason),
            f.message.clone(),
        ),
        _ if degraded => (ConditionStatus::True, reason, String::new()),
        _ => (ConditionStatus::False, "AsExpected", String::new()),
    };
    changed |= set_condition(&mut st, "Degraded", dv, dr, &dm, generation, &now);
    let (fv, fr, fm) = match &akash.funding_low {
        Some(m) => (ConditionStatus::True, "FundingLow", m.clone()),
        None => (ConditionStatus::False, "Funded", String::new()),
    };
    if akash.funding_low.is_some() || st.conditions.iter().any(|c| c.type_ == "FundingLow") {
        changed |= set_condition(&mut st, "FundingLow", fv, fr, &fm, generation, &now);
    }
    if let Some(rate) = akash
        .escrow_burn_per_block
        .as_deref()
        .map(|b| b.trim_end_matches(|c: char| c.is_ascii_alphabetic()))
        .and_then(|b| b.parse::<f64>().ok())
    {
        ctx.metrics.escrow(
            resource.kind.as_str(),
            &resource.metadata.project,
            &resource.metadata.name,
            rate,
            akash.funding_low.is_some(),
        );
    }
    st.observed_generation = Some(generation);
    let before = st.facts.clone();
    akash.write_into(&mut st);
    // lastReconcileTime alone does not warrant a write: it would wake every watcher. Nor does
    // the escrow's drawdown alone while it is small and the written figures are recent (the
    // runway metric is set above at every look), for a resource without a top-up policy: with
    // one, every figure is written, as its top-up bookkeeping is.
    let tops_up = ctx
        .rendered_for(&resource.metadata.uid, generation)
        .is_none_or(|r| r.desired.escrow.is_some());
    changed |= !same_facts_but(&before, &st.facts, "lastReconcileTime")
        && (tops_up || !escrow_drift_only(&before, &st.facts, chrono::Utc::now()));
    if !changed && st.observed_generation == resource.status.observed_generation {
        return Ok(());
    }
    *resource = ctx
        .store
        .write_status(&resource.key(), resource.metadata.resource_version, &st)
        .await?;
    if let Some(f) = healed {
        let took = Duration::from_millis((ctx.clock.now_ms() - f.since_ms).max(0) as u64);
        ctx.metrics.healed(&f.reason, took);
        info!(reason = %f.reason, seconds = took.as_secs_f64(), "healed");
        event(
            ctx,
            resource,
            EventType::Normal,
            "Healed",
            format!(
                "Ready again {:.1}s after {} ({})",
                took.as_secs_f64(),
                f.reason,
                f.message
            ),
        )
        .await;
    }
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

/// Whether two status fact maps are equal but for `skip` (compared in place: a steady look
/// compares every resource's facts).
fn same_facts_but(
    a: &serde_json::Map<String, serde_json::Value>,
    b: &serde_json::Map<String, serde_json::Value>,
    skip: &str,
) -> bool {
    let len = |m: &serde_json::Map<String, serde_json::Value>| {
        m.len() - usize::from(m.contains_key(skip))
    };
    len(a) == len(b)
        && a.iter()
            .filter(|(k, _)| k.as_str() != skip)
            .all(|(k, v)| b.get(k) == Some(v))
}

#[cfg(test)]
mod escrow_drift_tests {
    use super::{escrow_drift_only, same_facts_but};
    use serde_json::{json, Map, Value};

    #[test]
    fn facts_compare_equal_but_for_the_skipped_key() {
        let a = facts(json!({"phase": "Ready", "lastReconcileTime": "t1", "dseq": "7"}));
        let b = facts(json!({"dseq": "7", "phase": "Ready", "lastReconcileTime": "t2"}));
        assert!(same_facts_but(&a, &b, "lastReconcileTime"));
        let c = facts(json!({"dseq": "7", "phase": "Ready"}));
        assert!(
            same_facts_but(&a, &c, "lastReconcileTime"),
            "absent on one side"
        );
        let d = facts(json!({"dseq": "8", "phase": "Ready", "lastReconcileTime": "t1"}));
        assert!(!same_facts_but(&a, &d, "lastReconcileTime"));
        let e = facts(json!({"dseq": "7", "phase": "Ready", "provider": "p"}));
        assert!(!same_facts_but(&a, &e, "lastReconcileTime"), "a fact more");
        assert!(!same_facts_but(&e, &a, "lastReconcileTime"), "a fact fewer");
    }

    fn facts(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn only_a_small_recent_escrow_drift_goes_unwritten() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:01:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let old = facts(json!({"phase": "Ready", "escrowBalance": "5000000uact",
            "escrowRunwaySeconds": 86400, "lastReconcileTime": "2026-01-01T00:00:00Z"}));
        let with = |balance: &str, runway: i64, phase: &str| {
            facts(json!({"phase": phase, "escrowBalance": balance,
                "escrowRunwaySeconds": runway, "lastReconcileTime": "2026-01-01T00:01:00Z"}))
        };
        assert!(escrow_drift_only(
            &old,
            &with("4999000.5uact", 86383, "Ready"),
            now
        ));
        // More than 10 % of the written figure is written.
        assert!(escrow_drift_only(
            &old,
            &with("4940000uact", 86383, "Ready"),
            now
        ));
        assert!(!escrow_drift_only(
            &old,
            &with("4400000uact", 86383, "Ready"),
            now
        ));
        assert!(escrow_drift_only(
            &old,
            &with("4999000uact", 82000, "Ready"),
            now
        ));
        assert!(!escrow_drift_only(
            &old,
            &with("4999000uact", 75000, "Ready"),
            now
        ));
        // A top-up, another denomination, another fact: written.
        assert!(!escrow_drift_only(
            &old,
            &with("7000000uact", 120000, "Ready"),
            now
        ));
        assert!(!escrow_drift_only(
            &old,
            &with("4999000uakt", 86383, "Ready"),
            now
        ));
        assert!(!escrow_drift_only(
            &old,
            &with("4999000uact", 86383, "Degraded"),
            now
        ));
        // The figures appear or go away: written.
        let mut gone = with("4999000uact", 86383, "Ready");
        gone.remove("escrowBalance");
        assert!(!escrow_drift_only(&old, &gone, now));
        // Written figures older than the refresh period: written.
        let later = now + chrono::TimeDelta::minutes(5);
        assert!(!escrow_drift_only(
            &old,
            &with("4999000uact", 86383, "Ready"),
            later
        ));
        let undated = facts(json!({"phase": "Ready", "escrowBalance": "5000000uact"}));
        assert!(!escrow_drift_only(
            &undated,
            &with("4999999uact", 0, "Ready"),
            now
        ));
    }
}
