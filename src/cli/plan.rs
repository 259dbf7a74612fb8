//! `plan`: the on-chain actions that applying files would cause, and their cost, from the
//! same planner the daemon runs (`reconcile::plan::plan`), without writing anything.
//!
//! The chain's side comes from what the store recorded: the deployment a resource's status
//! names carries the manifest version and groups of the stored spec (rendered with the same
//! placeholder secrets as the files, so only spec changes show), its leases are the status's
//! leases. The planner is then asked what it would do with the files' spec.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;

use super::{files, Io};
use crate::akash::proto::market::v1::LeaseID;
use crate::reconcile::lifecycle::{hosted_on_akash, render_desired};
use crate::reconcile::plan::{self, lease_key, ChainDeployment, LeaseHealth, Observed, Step};
use crate::reconcile::status::{AkashStatus, FINALIZER};
use crate::render::{source_from, Renderer, SecretError, SecretResolver};
use crate::sdl::GroupSpec;
use crate::spec::common::SecretRef;
use crate::spec::{Resource, ResourceKey};
use crate::store::sql::SqlStore;
use crate::store::{IntentState, IntentStore, LabelSelector, ListQuery, Store};

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanOutput {
    /// For people, terraform style.
    Text,
    /// For CI pipelines.
    Json,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A file, a directory (its .yaml/.yml/.json files) or `-` for standard input. Repeatable.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Descend into sub-directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Also plan closing the resources of `--selector` that the files no longer hold (what
    /// `apply --prune` deletes).
    #[arg(long, requires = "selector")]
    pub prune: bool,
    /// Label selector of `--prune`, e.g. `team=core`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: PlanOutput,
    /// The chain's time per block, for the monthly cost (Akash mainnet: about 6 s).
    #[arg(long, default_value = "6s", value_parser = super::parse_timeout)]
    pub block_time: Duration,
    /// A directory whose templates replace the built-in ones of the same name.
    #[arg(long, env = "AF_SDL_TEMPLATES")]
    pub sdl_templates: Option<PathBuf>,
    /// ACT per AKT (ACT is pegged to 1 USD, so AKT's USD price, as x/oracle reports it): with
    /// it, `uact` amounts are also shown in AKT.
    #[arg(long, value_parser = positive_price)]
    pub akt_price: Option<f64>,
}

fn positive_price(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "`{s}`: expected a positive number of ACT per AKT, e.g. 0.85"
        )),
    }
}

/// What applying does to one resource on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A new deployment.
    Create,
    /// A new manifest version on the same deployment.
    UpdateInPlace,
    /// A new deployment, the old one closed once the new one is Ready.
    Replace,
    /// The deployment(s) closed, the escrow refunded.
    Close,
    /// Nothing on chain.
    None,
}

impl Action {
    fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::UpdateInPlace => "~",
            Action::Replace => "±",
            Action::Close => "-",
            Action::None => " ",
        }
    }
}

/// A spec field that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// `spec.resources.cpu`.
    pub path: String,
    /// The stored value (absent: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// The files' value (absent: removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
    /// Whether this change alone changes the deployment's groups (forces a replace).
    pub forces_replace: bool,
}

/// A group of the deployment to be created.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPlan {
    /// The placement name.
    pub name: String,
    /// Per resource unit: `count × cpu, memory, storage`.
    pub resources: Vec<String>,
    /// The group's maximum price per block (every unit × count), in `denom`.
    pub max_price_per_block: f64,
    /// The price's denomination.
    pub denom: String,
}

/// Money, in the smallest unit of `denom`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// The denomination (`uact`, `uakt`).
    pub denom: String,
    /// The escrow deposit the create needs.
    pub deposit: f64,
    /// Per month at the spec's maximum price.
    pub monthly_max: f64,
    /// Per month at the prices leases of the same groups were taken at recently (this
    /// resource's current leases, or another resource's with identical groups); absent when
    /// none was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_recent: Option<f64>,
}

/// The plan of one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePlan {
    /// `agent`.
    pub kind: String,
    /// The project.
    pub project: String,
    /// The name.
    pub name: String,
    /// What happens on chain.
    pub action: Action,
    /// The deployment concerned today (update, replace, close).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dseq: Option<String>,
    /// For people: why, or what the daemon is doing now.
    pub detail: String,
    /// Spec fields that changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// The groups of a new deployment (create, replace).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupPlan>,
    /// Leases that get the new manifest (update in place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifests: Option<usize>,
    /// The money of a new deployment (create, replace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReport {
    /// Per resource of the files (and the pruned ones), in the files' order.
    pub resources: Vec<ResourcePlan>,
    /// Counts per action.
    pub summary: BTreeMap<String, usize>,
    /// Deposits needed, per denomination.
    pub deposits: BTreeMap<String, f64>,
    /// Monthly cost of the new deployments at their maximum price, per denomination.
    pub monthly_max: BTreeMap<String, f64>,
    /// The block time the monthly figures assume, in seconds.
    pub block_time_seconds: f64,
    /// Resources of the files that nothing on Akash hosts (Functions, DNS zones, shared-gateway
    /// Sites): `kind/name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_on_akash: Vec<String>,
    /// ACT per AKT, when given: `uact` amounts are also shown in AKT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub akt_price: Option<f64>,
}

impl PlanReport {
    /// Whether anything would change on chain.
    pub fn has_changes(&self) -> bool {
        self.resources.iter().any(|r| r.action != Action::None)
    }
}

/// Secret values as placeholders that name their reference: a changed reference changes the
/// manifest version, a changed value (not a spec change) does not.
struct ReferencePlaceholders;

impl SecretResolver for ReferencePlaceholders {
    fn resolve(&self, _project: &str, r: &SecretRef) -> Result<String, SecretError> {
        Ok(format!("<secret {}/{}>", r.store, r.key))
    }
}

/// Runs `plan`: exit 0 when nothing changes on chain, 2 when something does, 1 on error.
pub async fn run(args: &PlanArgs, store: &SqlStore, io: &mut Io<'_>) -> i32 {
    match plan_files(args, store, io.stdin).await {
        Ok(Ok(report)) => {
            let out = match args.output {
                PlanOutput::Json => serde_json::to_string_pretty(&report).unwrap_or_default(),
                PlanOutput::Text => text(&report),
            };
            let _ = writeln!(io.stdout, "{out}");
            if report.has_changes() {
                2
            } else {
                0
            }
        }
        Ok(Err(errors)) => {
            let _ = writeln!(io.stderr, "{errors}");
            1
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    }
}

/// Builds the plan of the files against the store.
pub async fn plan_files(
    args: &PlanArgs,
    store: &SqlStore,
    stdin: &mut dyn std::io::Read,
) -> anyhow::Result<Result<PlanReport, crate::spec::load::LoadErrors>> {
    let docs = match files::load(&args.files, args.recursive, stdin)? {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let renderer = Renderer::new(source_from(args.sdl_templates.as_deref()));
    let block_ms = args.block_time.as_secs_f64() * 1000.0;
    let recent = recent_prices(store).await?;
    let mut report = PlanReport {
        resources: Vec::new(),
        summary: BTreeMap::new(),
        deposits: BTreeMap::new(),
        monthly_max: BTreeMap::new(),
        block_time_seconds: args.block_time.as_secs_f64(),
        not_on_akash: Vec::new(),
        akt_price: args.akt_price,
    };
    let mut in_files: BTreeSet<ResourceKey> = BTreeSet::new();
    for d in &docs {
        let key = d.input.key.clone();
        in_files.insert(key.clone());
        let stored = store.get(&key).await?;
        let mut wanted = d.input.preview();
        if let Some(s) = &stored {
            wanted.metadata = s.metadata.clone();
            wanted.metadata.labels = d.input.labels.clone();
            if s.spec != wanted.spec {
                wanted.metadata.generation += 1;
            }
        }
        if !hosted_on_akash(&wanted) && stored.as_ref().is_none_or(|s| !hosted_on_akash(s)) {
            report
                .not_on_akash
                .push(format!("{}/{}", key.kind.singular(), key.name));
            continue;
        }
        let rp = plan_one(
            &renderer,
            store,
            stored.as_ref(),
            Some(&wanted),
            block_ms,
            &recent,
        )
        .await?;
        report.resources.push(rp);
    }
    if args.prune {
        let selector: LabelSelector = args
            .selector
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--selector: {e}"))?;
        let listed = store
            .list(&ListQuery {
                kind: None,
                project: None,
                selector,
                offset: 0,
                limit: None,
            })
            .await?;
        for r in listed {
            if in_files.contains(&r.key()) || !hosted_on_akash(&r) {
                continue;
            }
            let rp = plan_one(&renderer, store, Some(&r), None, block_ms, &recent).await?;
            report.resources.push(rp);
        }
    }
    for r in &report.resources {
        let name = serde_json::to_value(r.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *report.summary.entry(name).or_default() += 1;
        if let Some(c) = &r.cost {
            *report.deposits.entry(c.denom.clone()).or_default() += c.deposit;
            *report.monthly_max.entry(c.denom.clone()).or_default() += c.monthly_max;
        }
    }
    Ok(Ok(report))
}

/// Prices of the leases in the store's statuses, by the groups they were taken for.
async fn recent_prices(store: &SqlStore) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    let renderer = Renderer::new(source_from(None));
    let all = store
        .list(&ListQuery {
            kind: None,
            project: None,
            selector: LabelSelector::default(),
            offset: 0,
            limit: None,
        })
        .await?;
    for r in all {
        if !hosted_on_akash(&r) {
            continue;
        }
        let status = AkashStatus::from_status(&r.status);
        if status.leases.is_empty() {
            continue;
        }
        let Ok(rendered) = render_desired(&renderer, &r, &ReferencePlaceholders) else {
            continue;
        };
        let total: f64 = status.leases.iter().map(|l| price_amount(&l.price)).sum();
        let key = groups_key(&rendered.desired.groups);
        let e = out.entry(key).or_insert(f64::MAX);
        *e = e.min(total);
    }
    Ok(out)
}

fn groups_key(groups: &[GroupSpec]) -> String {
    // Prices differ between otherwise identical deployments: compare without them.
    let mut g = groups.to_vec();
    for grp in &mut g {
        for u in &mut grp.resources {
            u.price.amount.clear();
        }
    }
    serde_json::to_string(&g).unwrap_or_default()
}

/// `12.5uact` → 12.5.
fn price_amount(text: &str) -> f64 {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text[..end].parse().unwrap_or(0.0)
}

fn blocks_per_month(block_ms: f64) -> f64 {
    30.0 * 24.0 * 3600.0 * 1000.0 / block_ms.max(1.0)
}

async fn plan_one(
    renderer: &Renderer,
    store: &SqlStore,
    stored: Option<&Resource>,
    wanted: Option<&Resource>,
    block_ms: f64,
    recent: &BTreeMap<String, f64>,
) -> anyhow::Result<ResourcePlan> {
    let shown = wanted.or(stored).expect("one of them");
    let mut rp = ResourcePlan {
        kind: shown.kind.singular().to_string(),
        project: shown.metadata.project.clone(),
        name: shown.metadata.name.clone(),
        action: Action::None,
        dseq: None,
        detail: String::new(),
        changes: Vec::new(),
        groups: Vec::new(),
        manifests: None,
        cost: None,
    };
    let stored_rendered =
        stored.and_then(|s| render_desired(renderer, s, &ReferencePlaceholders).ok());
    let desired = match wanted {
        Some(w) => Some(
            render_desired(renderer, w, &ReferencePlaceholders)
                .map_err(|e| anyhow::anyhow!("{}/{}: {e}", rp.kind, rp.name))?,
        ),
        None => None,
    };
    let mut obs = Observed {
        block_time_ms: block_ms,
        ..Observed::default()
    };
    if let Some(s) = stored {
        let status = AkashStatus::from_status(&s.status);
        obs.has_finalizer = s.metadata.finalizers.iter().any(|f| f == FINALIZER);
        obs.deleting = wanted.is_none() || s.metadata.deletion_requested_at.is_some();
        obs.intents = store
            .intents_for(&s.metadata.uid)
            .await?
            .into_iter()
            .filter(|i| i.state != IntentState::Closed)
            .collect();
        for i in &obs.intents {
            if i.state == IntentState::Pending {
                // On its way to the chain: the daemon waits for it, never sends it twice.
                obs.in_flight.insert(i.dseq, u64::MAX);
                continue;
            }
            let current = status.dseq.as_deref() == Some(&i.dseq.to_string());
            let leases: Vec<LeaseID> = status
                .leases
                .iter()
                .filter(|l| l.dseq == i.dseq.to_string())
                .map(|l| LeaseID {
                    owner: String::new(),
                    dseq: i.dseq,
                    gseq: l.gseq,
                    oseq: l.oseq,
                    provider: l.provider.clone(),
                    bseq: 0,
                })
                .collect();
            let groups = match (&stored_rendered, current) {
                (Some(r), true) => r
                    .desired
                    .groups
                    .iter()
                    .enumerate()
                    .map(|(n, g)| (n as u32 + 1, g.clone(), plan::GroupPhase::Open))
                    .collect(),
                _ => Vec::new(),
            };
            let hash = match (&stored_rendered, current) {
                (Some(r), true) => r.desired.version.clone(),
                _ => i.manifest_version.clone(),
            };
            for l in &leases {
                if let Some(t) = status.leases.iter().find(|t| plan::tracks(t, l)) {
                    obs.health.insert(
                        lease_key(l),
                        LeaseHealth {
                            available: t.available,
                            healthy: t.healthy,
                            uris: t.uris.clone(),
                            ..LeaseHealth::default()
                        },
                    );
                }
            }
            obs.chain.insert(
                i.dseq,
                ChainDeployment {
                    active: true,
                    hash,
                    groups,
                    leases,
                    ..ChainDeployment::default()
                },
            );
        }
        // The status's view of which manifest each lease got, at the placeholder version.
        let mut st = status.clone();
        for l in &mut st.leases {
            if l.manifest_version.is_some() {
                l.manifest_version = stored_rendered.as_ref().map(|r| r.desired.version.clone());
            }
        }
        obs.status = st;
        rp.dseq = status.dseq.clone();
    }
    if let (Some(s), Some(w)) = (stored, wanted) {
        rp.changes = field_changes(
            renderer,
            s,
            w,
            stored_rendered.as_ref().map(|r| &r.desired.groups),
        );
    }

    let p = plan::plan(
        desired.as_ref().map(|r| &r.desired),
        &obs,
        &plan::Timing::default(),
    );
    let live = !obs.intents.is_empty();
    let creates = p.steps.iter().any(|s| matches!(s, Step::CreateDeployment));
    let updates = p
        .steps
        .iter()
        .any(|s| matches!(s, Step::UpdateDeployment { .. }));
    let closes: Vec<u64> = p
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::CloseDeployment { dseq, .. } => Some(*dseq),
            _ => None,
        })
        .collect();
    if obs.deleting {
        if closes.is_empty() {
            rp.detail = "nothing of it is on chain".into();
        } else {
            rp.action = Action::Close;
            rp.detail = format!(
                "close deployment{} {} (the escrow's remainder is refunded)",
                if closes.len() == 1 { "" } else { "s" },
                closes
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        return Ok(rp);
    }
    let Some(desired) = desired else {
        return Ok(rp);
    };
    if creates && !live {
        rp.action = Action::Create;
        rp.detail = if stored.is_some_and(|s| wanted.is_some_and(|w| w.spec == s.spec)) {
            "create deployment (applied already; the daemon has not created it yet)".into()
        } else {
            "create deployment".into()
        };
    } else if creates {
        rp.action = Action::Replace;
        let forcing: Vec<&str> = rp
            .changes
            .iter()
            .filter(|c| c.forces_replace)
            .map(|c| c.path.as_str())
            .collect();
        rp.detail = format!(
            "replace (blue/green): {} a new deployment; {} keeps serving until it is Ready, then closes",
            if forcing.is_empty() {
                "the groups changed, which needs".to_string()
            } else {
                format!("{} force{}", forcing.join(", "), if forcing.len() == 1 { "s" } else { "" })
            },
            rp.dseq.as_deref().unwrap_or("the old deployment")
        );
    } else if updates {
        rp.action = Action::UpdateInPlace;
        let leases = obs
            .chain
            .values()
            .map(|d| d.leases.len())
            .max()
            .unwrap_or(0);
        rp.manifests = Some(leases);
        rp.detail = format!(
            "update in place (manifest only): deployment {} gets manifest version {}…, {} lease{} the new manifest",
            rp.dseq.as_deref().unwrap_or("?"),
            &desired.desired.version[..desired.desired.version.len().min(12)],
            leases,
            if leases == 1 { "" } else { "s" }
        );
    } else {
        rp.detail = if rp.changes.is_empty() {
            format!("no change ({})", p.reason)
        } else {
            format!(
                "no on-chain change ({} field{} changed that the deployment does not carry)",
                rp.changes.len(),
                if rp.changes.len() == 1 { "" } else { "s" }
            )
        };
    }
    if matches!(rp.action, Action::Create | Action::Replace) {
        let mut denom = desired.deposit.denom.clone();
        let mut per_block = 0.0;
        for g in &desired.desired.groups {
            let (price, d) = plan::group_price(g);
            per_block += price;
            if !d.is_empty() {
                denom = d.clone();
            }
            rp.groups.push(GroupPlan {
                name: g.name.clone(),
                resources: g.resources.iter().map(unit_text).collect(),
                max_price_per_block: price,
                denom: d,
            });
        }
        let months = blocks_per_month(block_ms);
        rp.cost = Some(Cost {
            denom,
            deposit: desired.deposit.amount.parse().unwrap_or(0.0),
            monthly_max: per_block * months,
            monthly_recent: recent
                .get(&groups_key(&desired.desired.groups))
                .map(|p| p * months),
        });
    }
    Ok(rp)
}

fn unit_text(u: &crate::sdl::ResourceUnit) -> String {
    let r = &u.resource;
    let mut parts = Vec::new();
    if let Some(c) = &r.cpu {
        let milli: f64 = String::from_utf8_lossy(&c.units.val).parse().unwrap_or(0.0);
        parts.push(format!("cpu {}", milli / 1000.0));
    }
    if let Some(m) = &r.memory {
        parts.push(format!("memory {}", bytes_text(&m.quantity.val)));
    }
    for s in &r.storage {
        parts.push(format!("storage {}", bytes_text(&s.quantity.val)));
    }
    if let Some(g) = &r.gpu {
        let n: u64 = String::from_utf8_lossy(&g.units.val).parse().unwrap_or(0);
        if n > 0 {
            parts.push(format!("gpu {n}"));
        }
    }
    format!("{} × {{{}}}", u.count, parts.join(", "))
}

fn bytes_text(val: &[u8]) -> String {
    let n: u128 = String::from_utf8_lossy(val).parse().unwrap_or(0);
    const UNITS: [(&str, u128); 4] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    for (name, size) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{name}", n / size);
        }
    }
    n.to_string()
}

/// The spec's leaves that differ, each marked with whether it alone changes the groups.
fn field_changes(
    renderer: &Renderer,
    stored: &Resource,
    wanted: &Resource,
    stored_groups: Option<&Vec<GroupSpec>>,
) -> Vec<FieldChange> {
    let mut leaves = Vec::new();
    diff_values("spec", Some(&stored.spec), Some(&wanted.spec), &mut leaves);
    leaves
        .into_iter()
        .map(|(path, pointer, from, to)| {
            let forces_replace = stored_groups.is_some_and(|groups| {
                let mut one = stored.clone();
                set_pointer(&mut one.spec, &pointer, to.clone());
                match render_desired(renderer, &one, &ReferencePlaceholders) {
                    Ok(r) => &r.desired.groups != groups,
                    // This change does not render alone; it takes the others with it.
                    Err(_) => false,
                }
            });
            FieldChange {
                path,
                from,
                to,
                forces_replace,
            }
        })
        .collect()
}

type Leaf = (String, Vec<String>, Option<Value>, Option<Value>);

fn diff_values(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Leaf>) {
    fn walk(path: &str, ptr: &[String], a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Leaf>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let mut p = ptr.to_vec();
                    p.push(k.clone());
                    walk(&format!("{path}.{k}"), &p, x.get(k), y.get(k), out);
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
                for (i, (xa, yb)) in x.iter().zip(y).enumerate() {
                    let mut p = ptr.to_vec();
                    p.push(i.to_string());
                    walk(&format!("{path}[{i}]"), &p, Some(xa), Some(yb), out);
                }
            }
            (x, y) if x != y => out.push((path.to_string(), ptr.to_vec(), x.cloned(), y.cloned())),
            _ => {}
        }
    }
    walk(path, &[], a, b, out);
}

fn set_pointer(root: &mut Value, ptr: &[String], value: Option<Value>) {
    let Some((last, parents)) = ptr.split_last() else {
        if let Some(v) = value {
            *root = v;
        }
        return;
    };
    let mut cur = root;
    for p in parents {
        let next = match cur {
            Value::Object(m) => m
                .entry(p.clone())
                .or_insert(Value::Object(Default::default())),
            Value::Array(a) => match p.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
        cur = next;
    }
    match (cur, value) {
        (Value::Object(m), Some(v)) => {
            m.insert(last.clone(), v);
        }
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Array(a), Some(v)) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = v;
            }
        }
        _ => {}
    }
}

/// `5000000uact` → `5 ACT (5000000 uact)`, with `≈ N AKT` when the AKT price is known.
fn money(amount: f64, denom: &str, akt_price: Option<f64>) -> String {
    let whole = denom
        .strip_prefix('u')
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| denom.to_string());
    if !denom.starts_with('u') {
        return format!("{} {denom}", trim(amount, 6));
    }
    let akt = match (denom, akt_price) {
        ("uact", Some(p)) => format!(", ≈ {} AKT", trim(amount / 1e6 / p, 3)),
        _ => String::new(),
    };
    format!(
        "{} {whole} ({} {denom}{akt})",
        trim(amount / 1e6, 6),
        trim(amount, 2)
    )
}

fn trim(v: f64, places: usize) -> String {
    let t = format!("{v:.places$}");
    if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    }
}

fn text(report: &PlanReport) -> String {
    let mut out = String::new();
    if report.resources.is_empty() && report.not_on_akash.is_empty() {
        out.push_str("No resources in the files.\n");
    }
    for r in &report.resources {
        out.push_str(&format!(
            "{} {}/{} ({}): {}\n",
            r.action.symbol(),
            r.kind,
            r.name,
            r.project,
            r.detail
        ));
        for c in &r.changes {
            let show = |v: &Option<Value>| {
                v.as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "(none)".into())
            };
            out.push_str(&format!(
                "    {} {}: {} → {}{}\n",
                if c.forces_replace { "±" } else { "~" },
                c.path,
                show(&c.from),
                show(&c.to),
                if c.forces_replace {
                    "  (forces replacement)"
                } else {
                    ""
                }
            ));
        }
        for g in &r.groups {
            out.push_str(&format!(
                "    group {}: {}; at most {} {}/block\n",
                g.name,
                g.resources.join(", "),
                trim(g.max_price_per_block, 6),
                g.denom
            ));
        }
        if let Some(c) = &r.cost {
            out.push_str(&format!(
                "    deposit {}; per month at most {}{}\n",
                money(c.deposit, &c.denom, report.akt_price),
                money(c.monthly_max, &c.denom, report.akt_price),
                match c.monthly_recent {
                    Some(m) => format!(
                        ", at recent lease prices {}",
                        money(m, &c.denom, report.akt_price)
                    ),
                    None => ", no recent lease of these groups to compare".to_string(),
                }
            ));
        }
    }
    if !report.not_on_akash.is_empty() {
        out.push_str(&format!(
            "  not on Akash (no deployment): {}\n",
            report.not_on_akash.join(", ")
        ));
    }
    let n = |k: &str| report.summary.get(k).copied().unwrap_or(0);
    out.push_str(&format!(
        "\nPlan: {} to create, {} to update in place, {} to replace, {} to close.",
        n("create"),
        n("update-in-place"),
        n("replace"),
        n("close")
    ));
    for (denom, d) in &report.deposits {
        let m = report.monthly_max.get(denom).copied().unwrap_or(0.0);
        out.push_str(&format!(
            "\nDeposit needed: {}; new deployments cost at most {} per month ({} s blocks).",
            money(*d, denom, report.akt_price),
            money(m, denom, report.akt_price),
            trim(report.block_time_seconds, 3)
        ));
    }
    if !report.has_changes() {
        out.push_str("\nNo changes on chain.");
    }
    out
}
