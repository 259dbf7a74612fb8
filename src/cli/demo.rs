//! `demo`: the whole product on one machine. A devnet in-process (3 providers), a fresh
//! SQLite file, generated values for the examples' secrets, `examples/` applied and the
//! controllers running until every Akash-hosted example is Ready (or `--timeout`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use rand::Rng;
use serde_json::Value;
use tokio::sync::watch;

use super::{files, Io};
use crate::daemon::{self, ChainConfig, DaemonConfig};
use crate::devnet::{Devnet, DevnetConfig};
use crate::reconcile::context::{Progress, ProgressHook};
use crate::reconcile::lifecycle::hosted_on_akash;
use crate::reconcile::plan::Timing;
use crate::reconcile::status::{AkashStatus, Phase};
use crate::reconcile::ControllerConfig;
use crate::secrets::{MasterKey, SecretVault};
use crate::spec::{ConditionStatus, ResourceInput};
use crate::store::{ListQuery, Store};

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The specs to apply (a file or directory, as `apply -f`).
    #[arg(short = 'f', long = "filename", default_value = "examples")]
    pub files: Vec<PathBuf>,
    /// Give up (exit 1, each resource's reason printed) after this long, e.g. `5m`.
    #[arg(long, default_value = "5m", value_parser = super::parse_timeout)]
    pub timeout: Duration,
    /// Leave the devnet, the daemon and the API running (until ctrl-c) and print their URLs.
    #[arg(long)]
    pub keep: bool,
    /// Simulated providers.
    #[arg(long, default_value_t = 3)]
    pub providers: usize,
    /// The devnet's block interval, e.g. `200ms`.
    #[arg(long, default_value = "200ms", value_parser = super::parse_timeout)]
    pub block_time: Duration,
    /// The SQLite file (a fresh one in a temporary directory by default).
    #[arg(long)]
    pub database: Option<PathBuf>,
}

/// Every `secretRef` in a spec, as (store, key).
fn secret_refs(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(r)) = m.get("secretRef") {
                if let (Some(Value::String(s)), Some(Value::String(k))) =
                    (r.get("store"), r.get("key"))
                {
                    out.push((s.clone(), k.clone()));
                }
            }
            m.values().for_each(|x| secret_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| secret_refs(x, out)),
        _ => {}
    }
}

/// Every address under a `placement.auditors` (`anyOf`, `allOf`).
fn collect_auditors(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(a)) = m.get("auditors") {
                for list in ["anyOf", "allOf"] {
                    if let Some(Value::Array(xs)) = a.get(list) {
                        out.extend(xs.iter().filter_map(|x| x.as_str().map(String::from)));
                    }
                }
            }
            m.values().for_each(|x| collect_auditors(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_auditors(x, out)),
        _ => {}
    }
}

/// Seals a random value for every secret the inputs reference into the vault.
async fn generate_secrets(vault: &SecretVault, inputs: &[ResourceInput]) -> anyhow::Result<usize> {
    let mut n = 0;
    for i in inputs {
        let spec = serde_json::to_value(&i.spec)?;
        let mut refs = Vec::new();
        secret_refs(&spec, &mut refs);
        for (store, key) in refs {
            let bytes: [u8; 24] = rand::thread_rng().gen();
            vault
                .set(&i.key.project, &store, &key, hex::encode(bytes).as_bytes())
                .await?;
            n += 1;
        }
    }
    Ok(n)
}

/// Runs `demo`.
pub async fn run(args: &DemoArgs, io: &mut Io<'_>) -> i32 {
    match demo(args, io).await {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    }
}

async fn demo(args: &DemoArgs, io: &mut Io<'_>) -> anyhow::Result<i32> {
    let started = Instant::now();
    let docs = match files::load(&args.files, true, io.stdin)? {
        Ok(d) => d,
        Err(errors) => {
            writeln!(io.stderr, "{errors}")?;
            anyhow::bail!("the specs are invalid; nothing was applied");
        }
    };
    let (zones, inputs): (Vec<ResourceInput>, Vec<ResourceInput>) = docs
        .into_iter()
        .map(|d| d.input)
        .partition(|i| i.key.kind == crate::spec::Kind::DnsZone);
    // A zone's providers are cloud DNS APIs (Cloudflare, Google, deSEC) this machine is not
    // meant to reach: the demo never writes to them. `dns plan` shows what the daemon would.
    for z in &zones {
        writeln!(
            io.stderr,
            "demo: skipped {} (its providers are cloud DNS APIs; `af-operator dns plan {}` after `apply` shows its records)",
            z.key, z.key.name
        )?;
    }

    // The auditors the specs require sign the devnet's audited providers at genesis.
    let mut auditors = Vec::new();
    for i in &inputs {
        let spec = serde_json::to_value(&i.spec)?;
        collect_auditors(&spec, &mut auditors);
    }
    auditors.sort();
    auditors.dedup();
    let devnet = Devnet::start(DevnetConfig {
        providers: args.providers,
        block_time: args.block_time,
        genesis_auditors: auditors,
        ..DevnetConfig::default()
    })
    .await?;
    writeln!(
        io.stderr,
        "demo: devnet {} at {} with {} providers (block time {:?})",
        devnet.chain_id(),
        devnet.rpc_url(),
        args.providers,
        args.block_time
    )?;
    for (path, cid) in add_bundles(&devnet, &args.files)? {
        writeln!(
            io.stderr,
            "demo: {} added to the devnet's IPFS as {cid}",
            path.display()
        )?;
    }
    let tmp = tempdir()?;
    let db = args.database.clone().unwrap_or_else(|| tmp.join("demo.db"));
    let database_url = format!("sqlite://{}", db.display());

    let t0 = started;
    let names: BTreeMap<String, String> = devnet
        .provider_set()
        .map(|set| {
            set.providers()
                .into_iter()
                .map(|p| (p.address, p.name))
                .collect()
        })
        .unwrap_or_default();
    let seen: Arc<Mutex<BTreeMap<String, Phase>>> = Arc::default();
    let progress: ProgressHook = {
        let seen = seen.clone();
        Arc::new(move |r, what| {
            let name = format!("{}/{}", r.kind.singular(), r.metadata.name);
            let named = |text: &str| {
                names
                    .iter()
                    .fold(text.to_string(), |t, (addr, n)| t.replace(addr.as_str(), n))
            };
            let (label, detail) = match what {
                Progress::Event("DeploymentCreated", m) => ("Submitted", m.to_string()),
                Progress::Event("LeaseCreated", m) => ("Leased", named(m)),
                Progress::Event("ManifestSent", m) => ("ManifestSent", named(m)),
                Progress::Event(
                    "DeploymentUpdated" | "DeploymentClosed" | "DeploymentAdopted",
                    m,
                ) => ("Chain", m.to_string()),
                Progress::Event(reason, m)
                    if matches!(
                        reason,
                        "ManifestRejected" | "DeploymentLost" | "EscrowExhausted" | "FundingLow"
                    ) =>
                {
                    ("Warning", format!("{reason}: {}", named(m)))
                }
                Progress::Event(..) => return,
                Progress::Phase(phase, s) => {
                    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                    if seen.get(&name) == Some(&phase) {
                        return;
                    }
                    seen.insert(name.clone(), phase);
                    let detail = match phase {
                        Phase::Bidding => {
                            format!("{} bids", s.bidding.iter().map(|b| b.bids).sum::<usize>())
                        }
                        Phase::Starting => "waiting for replicas and the health check".into(),
                        Phase::Ready => s.uris.join(" "),
                        Phase::Deploying | Phase::Leasing => return,
                        _ => String::new(),
                    };
                    (phase.as_str(), detail)
                }
            };
            eprintln!(
                "[{:>6.1}s] {name:<32} {label:<12} {detail}",
                t0.elapsed().as_secs_f64()
            );
        })
    };

    // A fresh master key (kept beside the database) and generated values for the secrets.
    let store = crate::store::open(&database_url).await?;
    let key_file = db.with_extension("master-key");
    let master = MasterKey::generate()?;
    if !key_file.exists() {
        master.write_new(&key_file)?;
    }
    let master = MasterKey::from_file(&key_file)?;
    let vault = Arc::new(SecretVault::new(Arc::new(store), master));
    let n = generate_secrets(&vault, &inputs).await?;
    writeln!(
        io.stderr,
        "demo: {n} generated secret values sealed in {} (master key {})",
        db.display(),
        key_file.display()
    )?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let d = daemon::start(
        DaemonConfig {
            database_url,
            listen: args.keep.then(|| "127.0.0.1:0".parse().expect("address")),
            api: crate::api::ApiConfig::default(),
            chain: Some(ChainConfig {
                endpoints: vec![devnet.rpc_url()],
                chain_id: Some(devnet.chain_id().to_owned()),
                wallet: crate::devnet::test_account(0).0,
                gas_price_uakt: 0.025,
                gas_adjustment: 1.3,
                tx_poll: Duration::from_millis(50),
                devnet_control: Some(devnet.control_url()),
            }),
            controller: ControllerConfig {
                timing: Timing {
                    bid_window: Duration::from_millis(300),
                    bid_timeout: Duration::from_secs(60),
                    poll: Duration::from_millis(250),
                    ..Timing::default()
                },
                ..ControllerConfig::default()
            },
            templates: crate::render::TemplateSource::builtin(),
            secrets: vault,
            progress: Some(progress),
            leader: Default::default(),
        },
        stop_rx,
    )
    .await?;
    let applied = d.store.apply(&inputs).await?;
    writeln!(
        io.stderr,
        "demo: applied {} resources from {}",
        applied.len(),
        args.files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )?;

    let store: Arc<dyn Store> = d.store.clone();
    let deadline = started + args.timeout;
    let (hosted, ready) = loop {
        let all = store.list(&ListQuery::default()).await?;
        let hosted: Vec<_> = all
            .into_iter()
            .filter(|r| hosted_on_akash(r) || r.kind == crate::spec::Kind::Function)
            .collect();
        let ready = hosted
            .iter()
            .filter(|r| {
                r.status.condition("Ready").is_some_and(|c| {
                    c.status == ConditionStatus::True
                        && c.observed_generation >= r.metadata.generation
                })
            })
            .count();
        if ready == hosted.len() || Instant::now() >= deadline {
            break (hosted, ready);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The table.
    writeln!(
        io.stdout,
        "{:<34} {:<14} {:<14} {:>8}  URI",
        "RESOURCE", "PROVIDER", "PRICE", "READY"
    )?;
    let providers: BTreeMap<String, String> = devnet
        .provider_set()
        .map(|set| {
            set.providers()
                .into_iter()
                .map(|p| (p.address, p.name))
                .collect()
        })
        .unwrap_or_default();
    for r in &hosted {
        if r.kind == crate::spec::Kind::Function {
            function_row(io, r)?;
            continue;
        }
        let s = AkashStatus::from_status(&r.status);
        let name = format!("{}/{}", r.kind.singular(), r.metadata.name);
        let provider = s
            .provider
            .as_ref()
            .map(|p| providers.get(p).cloned().unwrap_or_else(|| p.clone()))
            .unwrap_or_else(|| "-".into());
        let price = s
            .leases
            .first()
            .map(|l| l.price.clone())
            .unwrap_or_else(|| "-".into());
        let secs = s
            .ready_since
            .as_ref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| {
                chrono::DateTime::parse_from_rfc3339(&r.metadata.created_at)
                    .ok()
                    .map(|c| (t - c).num_milliseconds() as f64 / 1000.0)
            })
            .map(|s| format!("{s:.1}s"))
            .unwrap_or_else(|| "-".into());
        let uri = s.uris.first().cloned().unwrap_or_default();
        writeln!(
            io.stdout,
            "{name:<34} {provider:<14} {price:<14} {secs:>8}  {uri}"
        )?;
        if s.phase != Phase::Ready {
            let c = r.status.condition("Ready");
            writeln!(
                io.stdout,
                "  {}: {}",
                c.map_or("Pending", |c| c.reason.as_str()),
                c.map_or("not reconciled yet", |c| c.message.as_str())
            )?;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    writeln!(
        io.stdout,
        "demo: {ready}/{} ready in {secs:.1} s",
        hosted.len()
    )?;
    io.stdout.flush()?;

    if args.keep {
        writeln!(
            io.stderr,
            "demo: keeping everything running (ctrl-c stops): API http://{}/graphql, devnet RPC {}, control {}, database {}",
            d.api_addr.map(|a| a.to_string()).unwrap_or_default(),
            devnet.rpc_url(),
            devnet.control_url(),
            db.display()
        )?;
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = stop_tx.send(true);
    d.wait().await;
    devnet.shutdown()?;
    if args.database.is_none() && !args.keep {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(if ready == hosted.len() { 0 } else { 1 })
}

/// Adds every file of a `bundles/` directory beside the specs (`examples/bundles/`) to the
/// devnet's IPFS (CIDv1, as `ipfs add --cid-version 1`), so the examples' Functions find their
/// code there.
fn add_bundles(devnet: &Devnet, files: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            if f.is_dir() {
                f.join("bundles")
            } else {
                f.parent()
                    .map(|p| p.join("bundles"))
                    .unwrap_or_else(|| PathBuf::from("bundles"))
            }
        })
        .filter(|d| d.is_dir())
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut out = Vec::new();
    for d in dirs {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        for p in entries {
            let bytes = std::fs::read(&p)?;
            let cid = devnet.ipfs().add(&bytes, 1);
            out.push((p, cid.to_string()));
        }
    }
    Ok(out)
}

/// A Function's row of the table: its nodes, version and URL.
fn function_row(io: &mut Io<'_>, r: &crate::spec::Resource) -> anyhow::Result<()> {
    let f = crate::functions::FunctionStatus::from_status(&r.status);
    let name = format!("{}/{}", r.kind.singular(), r.metadata.name);
    let nodes = format!("{} nodes", f.node_uris.len());
    let version = f
        .rollout
        .stable
        .as_ref()
        .map_or("-".to_string(), |c| format!("version {}", c.version));
    let c = r.status.condition("Ready");
    let secs = c
        .filter(|c| c.status == ConditionStatus::True)
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(&c.last_transition_time).ok())
        .and_then(|t| {
            chrono::DateTime::parse_from_rfc3339(&r.metadata.created_at)
                .ok()
                .map(|c| (t - c).num_milliseconds() as f64 / 1000.0)
        })
        .map(|s| format!("{s:.1}s"))
        .unwrap_or_else(|| "-".into());
    let url = f.url.clone().unwrap_or_default();
    writeln!(
        io.stdout,
        "{name:<34} {nodes:<14} {version:<14} {secs:>8}  {url}"
    )?;
    if c.is_none_or(|c| c.status != ConditionStatus::True) {
        writeln!(
            io.stdout,
            "  {}: {}",
            c.map_or("Pending", |c| c.reason.as_str()),
            c.map_or("not reconciled yet", |c| c.message.as_str())
        )?;
    }
    Ok(())
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("af-operator-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
