//! `dns plan ZONE` and `dns apply ZONE`: the changes the DNS controller would make to a
//! DnsZone's providers, in the terraform style (`+` create, `~` update, `-` delete), from the
//! controller's own planner; `apply` makes them.
//!
//! Exit codes of `plan` follow `terraform plan -detailed-exitcode`: 0 no change, 2 changes,
//! 1 error (a provider that cannot be read, an unknown zone). `apply` exits 0 when every
//! provider holds what is wanted, 1 otherwise (a provider failed, or a plan over the
//! zone's `maxDeletePercent` was refused; `--allow-mass-delete` applies it anyway).

use std::sync::Arc;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::secret::MasterKeyArgs;
use super::{Io, ProjectArg, StoreArg};
use crate::dns::zone::{
    ProviderPlan, RealProviders, SystemLookup, ZoneConfig, ZoneController, DNS_FINALIZER,
};
use crate::dns::{Change, Plan, Rrset};
use crate::reconcile::context::SecretSource;
use crate::spec::{Kind, Resource, ResourceKey, Spec};
use crate::store::{sql::SqlStore, ListQuery, Store};

/// Arguments of `dns`.
#[derive(Debug, Args)]
pub struct DnsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DnsCommand,
}

/// `dns` subcommands.
#[derive(Debug, Subcommand)]
pub enum DnsCommand {
    /// The changes each provider of a zone needs (`+` create, `~` update, `-` delete);
    /// writes nothing. Exit 0: no change; 2: changes; 1: error.
    Plan {
        #[command(flatten)]
        args: ZoneArgs,
    },
    /// Make the changes `dns plan` shows. A provider whose plan deletes more than the
    /// zone's `maxDeletePercent` is left alone unless --allow-mass-delete. Exit 0: every
    /// provider in sync; 1: a provider failed or was refused.
    Apply {
        #[command(flatten)]
        args: ZoneArgs,
        /// Apply a plan even when it deletes more than the zone's `maxDeletePercent`.
        #[arg(long)]
        allow_mass_delete: bool,
    },
}

/// Output formats of `dns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DnsOutput {
    /// Terraform-style text.
    Text,
    /// JSON.
    Json,
}

/// What every `dns` subcommand takes.
#[derive(Debug, Args)]
pub struct ZoneArgs {
    /// The DnsZone: its name, or the domain it holds (`example.com`).
    pub zone: String,
    /// The project.
    #[command(flatten)]
    pub project: ProjectArg,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: DnsOutput,
    /// The vault's master key, for the providers' `credentialsRef`.
    #[command(flatten)]
    pub master_key: MasterKeyArgs,
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,
}

impl DnsCommand {
    /// The store argument.
    pub fn store_arg(&self) -> &StoreArg {
        match self {
            DnsCommand::Plan { args } | DnsCommand::Apply { args, .. } => &args.store,
        }
    }
}

/// Runs `dns`; the exit code.
pub async fn run(args: &DnsArgs, database_url: &str, io: &mut Io<'_>) -> i32 {
    let (zone_args, apply, force) = match &args.command {
        DnsCommand::Plan { args } => (args, false, false),
        DnsCommand::Apply {
            args,
            allow_mass_delete,
        } => (args, true, *allow_mass_delete),
    };
    if let Err(e) = super::existing_store(database_url) {
        let _ = writeln!(io.stderr, "error: {e}");
        return 1;
    }
    let store = match crate::store::open(database_url).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return 1;
        }
    };
    let code = match run_on(zone_args, apply, force, store.clone(), io).await {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    };
    store.close().await;
    code
}

async fn run_on(
    args: &ZoneArgs,
    apply: bool,
    force: bool,
    store: Arc<SqlStore>,
    io: &mut Io<'_>,
) -> anyhow::Result<i32> {
    let zone = find_zone(store.as_ref(), &args.project.project, &args.zone).await?;
    let secrets: Arc<dyn SecretSource> = match args.master_key.load()? {
        Some(key) => Arc::new(crate::secrets::SecretVault::new(store.clone(), key)),
        // Without a key, a provider that needs credentials reports it as its error.
        None => Arc::new(NoMasterKey),
    };
    let ctl = ZoneController::new(
        store.clone(),
        secrets,
        Arc::new(RealProviders::default()),
        Arc::new(SystemLookup),
        ZoneConfig::default(),
    );
    let (desired, plans) = ctl.plan_zone(&zone).await.map_err(|e| anyhow!(e))?;
    let domain = match zone.typed_spec() {
        Ok(Spec::DnsZone(z)) => z.zone,
        _ => String::new(),
    };
    // Written by hand or by the daemon, our records leave with the zone: its finalizer first.
    if apply
        && zone.metadata.deletion_requested_at.is_none()
        && !zone.metadata.finalizers.iter().any(|f| f == DNS_FINALIZER)
    {
        store.add_finalizer(&zone.key(), DNS_FINALIZER).await?;
    }
    let mut outcomes = Vec::new();
    for pp in &plans {
        let outcome = if !apply {
            Outcome::Planned
        } else {
            match (&pp.plan, &pp.provider) {
                (Ok(p), Some(prov)) if !p.is_empty() => {
                    if p.refusal.is_some() && !force {
                        Outcome::Refused
                    } else {
                        match prov.apply(&domain, &p.changes).await {
                            Ok(()) => Outcome::Applied,
                            Err(e) => Outcome::Failed(e.to_string()),
                        }
                    }
                }
                _ => Outcome::Planned,
            }
        };
        outcomes.push(outcome);
    }
    let failed = plans.iter().any(|p| p.plan.is_err())
        || outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Refused | Outcome::Failed(_)));
    let changes: usize = plans
        .iter()
        .filter_map(|p| p.plan.as_ref().ok())
        .map(|p| p.changes.len())
        .sum();
    match args.output {
        DnsOutput::Json => {
            let providers: Vec<Value> = plans
                .iter()
                .zip(&outcomes)
                .map(|(pp, o)| provider_json(pp, o, apply))
                .collect();
            let v = json!({
                "zone": domain,
                "name": zone.metadata.name,
                "project": zone.metadata.project,
                "desiredRecords": desired.rrsets.len(),
                "changes": changes,
                "providers": providers,
            });
            writeln!(io.stdout, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        DnsOutput::Text => {
            writeln!(
                io.stdout,
                "dnszone/{} ({domain}): {} records wanted",
                zone.metadata.name,
                desired.rrsets.len()
            )?;
            for (pp, o) in plans.iter().zip(&outcomes) {
                provider_text(pp, o, apply, io)?;
            }
        }
    }
    if failed {
        return Ok(1);
    }
    Ok(if apply || changes == 0 { 0 } else { 2 })
}

/// The secrets when no master key is given: every read says so.
struct NoMasterKey;

#[async_trait::async_trait]
impl SecretSource for NoMasterKey {
    async fn resolver(
        &self,
        _project: &str,
    ) -> Result<Arc<dyn crate::render::SecretResolver>, String> {
        Err(format!(
            "no master key: pass --master-key-file FILE or set {}",
            crate::secrets::MASTER_KEY_ENV
        ))
    }
}

/// What `apply` did with a provider's plan.
enum Outcome {
    /// Nothing (a plan, an empty plan, or a provider that could not be read).
    Planned,
    /// The changes were made.
    Applied,
    /// Over the delete threshold: left alone.
    Refused,
    /// The provider refused or failed.
    Failed(String),
}

async fn find_zone(store: &dyn Store, project: &str, zone: &str) -> anyhow::Result<Resource> {
    if let Some(r) = store
        .get(&ResourceKey::new(Kind::DnsZone, project, zone))
        .await?
    {
        return Ok(r);
    }
    let q = ListQuery {
        kind: Some(Kind::DnsZone),
        project: Some(project.to_string()),
        ..ListQuery::default()
    };
    let all = store.list(&q).await?;
    let wanted = crate::dns::record::canonical_name(zone);
    let mut by_domain = all.iter().filter(|r| match r.typed_spec() {
        Ok(Spec::DnsZone(z)) => crate::dns::record::canonical_name(&z.zone) == wanted,
        _ => false,
    });
    if let Some(r) = by_domain.next() {
        return Ok(r.clone());
    }
    let names: Vec<String> = all.iter().map(|r| r.metadata.name.clone()).collect();
    if names.is_empty() {
        bail!("no DnsZone `{zone}` in project `{project}`: the project has no DnsZone (see --project)");
    }
    bail!(
        "no DnsZone `{zone}` in project `{project}` (by name or domain); its zones: {}",
        names.join(", ")
    )
}

fn provider_text(
    pp: &ProviderPlan,
    outcome: &Outcome,
    apply: bool,
    io: &mut Io<'_>,
) -> anyhow::Result<()> {
    writeln!(io.stdout)?;
    writeln!(io.stdout, "provider {} ({}):", pp.name, pp.label)?;
    let p = match &pp.plan {
        Ok(p) => p,
        Err(e) => {
            writeln!(io.stdout, "  ! cannot plan: {e}")?;
            return Ok(());
        }
    };
    for ch in &p.changes {
        writeln!(io.stdout, "  {}", change_text(ch))?;
    }
    for c in &p.conflicts {
        writeln!(
            io.stdout,
            "  ! not written: {} {} ({})",
            c.rrset.name, c.rrset.rtype, c.reason
        )?;
    }
    for k in &p.kept {
        writeln!(io.stdout, "  = kept (upsert-only): {} {}", k.name, k.rtype)?;
    }
    let (c, u, d) = p.counts();
    if p.is_empty() {
        writeln!(
            io.stdout,
            "  No changes: the provider holds what is wanted."
        )?;
    } else {
        writeln!(
            io.stdout,
            "  Plan: {c} to create, {u} to update, {d} to delete."
        )?;
    }
    if let Some(r) = &p.refusal {
        writeln!(
            io.stdout,
            "  ! refused: {r}; `dns apply` leaves this provider alone unless the zone's maxDeletePercent allows it or --allow-mass-delete is given"
        )?;
    }
    if apply {
        match outcome {
            Outcome::Applied => writeln!(
                io.stdout,
                "  Applied: {c} created, {u} updated, {d} deleted."
            )?,
            Outcome::Refused => writeln!(io.stdout, "  Not applied: refused (see above).")?,
            Outcome::Failed(e) => writeln!(io.stdout, "  Not applied: {e}")?,
            Outcome::Planned => {}
        }
    }
    Ok(())
}

fn change_text(ch: &Change) -> String {
    match ch {
        Change::Create(r) => format!("+ {r}"),
        Change::Delete(r) => format!("- {r}"),
        Change::Update { from, to } => {
            let mut s = format!("~ {} {}", to.name, to.rtype);
            if from.ttl != to.ttl {
                s.push_str(&format!(" ttl {} -> {}", from.ttl, to.ttl));
            }
            if from.values != to.values {
                s.push_str(&format!(" {} -> {}", values_text(from), values_text(to)));
            }
            s
        }
    }
}

fn values_text(r: &Rrset) -> String {
    let v: Vec<String> = r
        .values
        .iter()
        .map(|v| {
            if r.rtype == crate::dns::RecordType::Txt {
                format!("{v:?}")
            } else {
                v.clone()
            }
        })
        .collect();
    format!("[{}]", v.join(", "))
}

fn rrset_json(r: &Rrset) -> Value {
    json!({"name": r.name, "type": r.rtype.as_str(), "ttl": r.ttl, "values": r.values})
}

fn plan_json(p: &Plan) -> Value {
    let changes: Vec<Value> = p
        .changes
        .iter()
        .map(|c| match c {
            Change::Create(r) => json!({"action": "create", "rrset": rrset_json(r)}),
            Change::Delete(r) => json!({"action": "delete", "rrset": rrset_json(r)}),
            Change::Update { from, to } => {
                json!({"action": "update", "rrset": rrset_json(to), "from": rrset_json(from)})
            }
        })
        .collect();
    let (c, u, d) = p.counts();
    json!({
        "changes": changes,
        "create": c,
        "update": u,
        "delete": d,
        "conflicts": p.conflicts.iter().map(|c| json!({"rrset": rrset_json(&c.rrset), "reason": c.reason})).collect::<Vec<_>>(),
        "kept": p.kept.iter().map(rrset_json).collect::<Vec<_>>(),
        "refused": p.refusal.as_ref().map(|r| r.to_string()),
    })
}

fn provider_json(pp: &ProviderPlan, outcome: &Outcome, apply: bool) -> Value {
    let mut v = json!({"name": pp.name, "label": pp.label});
    match &pp.plan {
        Ok(p) => v["plan"] = plan_json(p),
        Err(e) => v["error"] = json!(e.to_string()),
    }
    if apply {
        v["result"] = match outcome {
            Outcome::Applied => json!("applied"),
            Outcome::Refused => json!("refused"),
            Outcome::Failed(e) => {
                v["error"] = json!(e);
                json!("failed")
            }
            Outcome::Planned if pp.plan.is_err() => json!("failed"),
            Outcome::Planned => json!("unchanged"),
        };
    }
    v
}
