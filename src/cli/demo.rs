//! `demo`: the whole product on one machine. A devnet in-process (3 providers), a fresh
//! SQLite file, generated values for the examples' secrets, an authoritative DNS server
//! in-process for the examples' zones, `examples/` applied and the controllers running until
//! every Akash-hosted example is Ready (or `--timeout`) and DNS answers what they want.

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
use crate::dns::authoritative::AuthoritativeServer;
use crate::dns::desired::desired_for;
use crate::dns::lookup::query;
use crate::dns::rfc2136::{TsigAlg, TsigKey};
use crate::dns::RecordType;
use crate::reconcile::context::{Progress, ProgressHook};
use crate::reconcile::lifecycle::hosted_on_akash;
use crate::reconcile::plan::Timing;
use crate::reconcile::status::{AkashStatus, Phase};
use crate::reconcile::ControllerConfig;
use crate::secrets::{MasterKey, SecretVault};
use crate::spec::common::SecretRef;
use crate::spec::kinds::dns_zone::{DnsProviderSpec, Rfc2136, TsigAlgorithm};
use crate::spec::{ConditionStatus, ResourceInput, Spec};
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
                Progress::Event("RolloutStarted", m) => ("Rollout", m.to_string()),
                Progress::Event("RolloutStep", m) => ("Step", m.to_string()),
                Progress::Event("RolloutComplete", m) => ("Ready", m.to_string()),
                Progress::Event(reason @ ("RolloutFailed" | "HashMismatch"), m) => {
                    ("Warning", format!("{reason}: {m}"))
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

    // The examples' zones are served by an authoritative server in this process, reached
    // through the RFC 2136 provider: their own providers are cloud DNS APIs the demo must not
    // write to.
    let mut zones = zones;
    let dns = if zones.is_empty() {
        None
    } else {
        Some(serve_zones(&tmp, &mut zones, &vault, io).await?)
    };

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
    let inputs: Vec<ResourceInput> = inputs.into_iter().chain(zones.iter().cloned()).collect();
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

    // What the zones' names resolve to, asked over UDP once they answer what is wanted (the
    // DNS controller writes them as the leases turn healthy).
    let dns_rows = match &dns {
        Some(server) => {
            let until = deadline.min(Instant::now() + DNS_WAIT);
            dns_rows(store.as_ref(), &zones, server.addr(), until).await?
        }
        None => Vec::new(),
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
    if let Some(server) = &dns {
        writeln!(
            io.stdout,
            "\n{:<38} {:<6} RESOLVES TO (asked over UDP at {})",
            "HOSTNAME",
            "TYPE",
            server.addr()
        )?;
        for row in &dns_rows {
            writeln!(
                io.stdout,
                "{:<38} {:<6} {}",
                row.name, row.rtype, row.answer
            )?;
        }
    }
    let dns_ok = dns_rows.iter().all(|r| r.ok);
    if !dns_ok {
        writeln!(
            io.stderr,
            "demo: DNS does not answer what the resources want yet: {}",
            dns_rows
                .iter()
                .filter(|r| !r.ok)
                .map(|r| format!("{} {} (want {})", r.name, r.rtype, r.want))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
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
            "demo: keeping everything running (ctrl-c stops): API http://{}/graphql, devnet RPC {}, control {}, database {}, DNS {}",
            d.api_addr.map(|a| a.to_string()).unwrap_or_default(),
            devnet.rpc_url(),
            devnet.control_url(),
            db.display(),
            dns.as_ref().map(|s| s.addr().to_string()).unwrap_or_else(|| "-".into())
        )?;
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = stop_tx.send(true);
    d.wait().await;
    if let Some(server) = dns {
        server.shutdown().await;
    }
    devnet.shutdown()?;
    if args.database.is_none() && !args.keep {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(if ready == hosted.len() && dns_ok {
        0
    } else {
        1
    })
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

/// How long the demo waits, once everything is Ready, for DNS to answer what is wanted.
const DNS_WAIT: Duration = Duration::from_secs(10);

/// The TSIG key the demo's zones are written with.
const DNS_KEY_NAME: &str = "af-demo-key";
/// Where the demo seals the key's secret (in the zone's project).
const DNS_SECRET_KEY: &str = "AF_DEMO_DNS_TSIG_SECRET";

/// Starts the authoritative server for `zones` and points each at it instead of its own
/// providers (the spec applied is rewritten; the files are not), its TSIG secret sealed in
/// the vault.
async fn serve_zones(
    tmp: &std::path::Path,
    zones: &mut [ResourceInput],
    vault: &SecretVault,
    io: &mut Io<'_>,
) -> anyhow::Result<AuthoritativeServer> {
    use base64::Engine as _;
    let secret: [u8; 32] = rand::thread_rng().gen();
    let key = TsigKey {
        name: DNS_KEY_NAME.to_string(),
        algorithm: TsigAlg::HmacSha256,
        secret: secret.to_vec(),
    };
    let names: Vec<String> = zones
        .iter()
        .filter_map(|z| match &z.spec {
            Spec::DnsZone(s) => Some(s.zone.clone()),
            _ => None,
        })
        .collect();
    let dir = tmp.join("dns");
    std::fs::create_dir_all(&dir)?;
    let server = AuthoritativeServer::start(&dir, &names, &key).await?;
    let addr = server.addr();
    for z in zones.iter_mut() {
        let Spec::DnsZone(spec) = &mut z.spec else {
            continue;
        };
        let was: Vec<String> = spec
            .resolved_providers()
            .iter()
            .map(|p| format!("{} ({})", p.name, p.spec.kind()))
            .collect();
        let store = spec
            .credentials_ref
            .as_ref()
            .or_else(|| {
                spec.providers
                    .iter()
                    .find_map(|p| p.credentials_ref.as_ref())
            })
            .map(|r| r.store.clone())
            .unwrap_or_else(|| "demo".to_string());
        let sref = SecretRef {
            store,
            key: DNS_SECRET_KEY.to_string(),
        };
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        vault
            .set(&z.key.project, &sref.store, &sref.key, b64.as_bytes())
            .await?;
        spec.provider = Some(DnsProviderSpec::Rfc2136(Rfc2136 {
            server: addr.ip().to_string(),
            port: addr.port(),
            tsig_key_name: Some(DNS_KEY_NAME.to_string()),
            tsig_algorithm: Some(TsigAlgorithm::HmacSha256),
        }));
        spec.providers.clear();
        spec.credentials_ref = Some(sref);
        writeln!(
            io.stderr,
            "demo: {}/{} (zone {}) is served by the in-process authoritative server at {addr} \
             (RFC 2136 + TSIG) in place of {}; the spec applied is rewritten, its file is not",
            z.key.kind.singular(),
            z.key.name,
            spec.zone,
            was.join(", ")
        )?;
    }
    Ok(server)
}

/// One name of a zone, as DNS answers it.
struct DnsRow {
    name: String,
    rtype: String,
    /// What the server answered.
    answer: String,
    /// What the resources want.
    want: String,
    ok: bool,
}

/// Every name the resources want in `zones`, asked over UDP to `server`, polled until each
/// answers what is wanted or `until` passes.
async fn dns_rows(
    store: &dyn Store,
    zones: &[ResourceInput],
    server: std::net::SocketAddr,
    until: Instant,
) -> anyhow::Result<Vec<DnsRow>> {
    loop {
        let mut rows = Vec::new();
        for z in zones {
            let Spec::DnsZone(spec) = &z.spec else {
                continue;
            };
            let q = ListQuery {
                project: Some(z.key.project.clone()),
                ..ListQuery::default()
            };
            let resources = store.list(&q).await?;
            let d = desired_for(Some(&z.key.name), &spec.zone, spec.ttl, &resources);
            for r in &d.rrsets {
                let a = query(server, &r.name, &r.rtype, Duration::from_millis(500)).await;
                let (answer, ok) = match a {
                    Ok(a) if a.values.is_empty() => (a.code, false),
                    Ok(a) => (show(&r.rtype, &a.values), a.values == r.values),
                    Err(e) => (e.to_string(), false),
                };
                rows.push(DnsRow {
                    name: r.name.clone(),
                    rtype: r.rtype.to_string(),
                    answer,
                    want: show(&r.rtype, &r.values),
                    ok,
                });
            }
            for (name, host) in &d.aliases {
                let a = query(server, name, &RecordType::A, Duration::from_millis(500)).await;
                let (answer, ok) = match a {
                    Ok(a) if !a.values.is_empty() => (show(&RecordType::A, &a.values), true),
                    Ok(a) => (a.code, false),
                    Err(e) => (e.to_string(), false),
                };
                rows.push(DnsRow {
                    name: name.clone(),
                    rtype: "A".into(),
                    answer,
                    want: format!("the addresses of {host}"),
                    ok,
                });
            }
            for name in &d.held {
                rows.push(DnsRow {
                    name: name.clone(),
                    rtype: "-".into(),
                    answer: "(no healthy lease yet: nothing written)".into(),
                    want: "-".into(),
                    ok: true,
                });
            }
        }
        // A name's `_dnslink` record right after the name.
        rows.sort_by(|a, b| {
            let key = |r: &DnsRow| {
                (
                    r.name.trim_start_matches("_dnslink.").to_string(),
                    r.name.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        if rows.iter().all(|r| r.ok) || Instant::now() >= until {
            return Ok(rows);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Values as the table shows them (TXT quoted).
fn show(t: &RecordType, values: &[String]) -> String {
    values
        .iter()
        .map(|v| match t {
            RecordType::Txt => format!("{v:?}"),
            _ => v.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
