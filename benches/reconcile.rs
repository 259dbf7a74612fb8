//! Benchmark of the reconciler against the devnet (issue #10 §5), through
//! `af_operator::daemon::start` as `serve` runs it:
//!
//! * **One Agent**, apply → Ready, phase by phase (timed from the daemon's progress hook),
//!   against its floor computed from the configuration: one block per tx (create deployment,
//!   the provider's bid, create lease) and the providers' bid delay (the bid window ends as
//!   soon as every provider that matches has bid, and on the devnet every one does). The
//!   manifest and the first health check have no configured wait: they count as the
//!   operator's own time. Run with `serve`'s defaults and with the demo's timing.
//!   The hook fires when a step's status is written, after its tx landed: "apply → Deploying"
//!   holds the create's block and "Bidding → Leasing" the lease's; compare the totals.
//! * **N Agents** (`AF_BENCH_AGENTS`, 1000): apply → all Ready against the chain's minimum
//!   for the same work (creates at the batch limit of 50 messages per tx and 8 txs in flight
//!   per block, the bid delay, a block for the bids, the leases likewise; also shown against
//!   one tx per block); txs and
//!   blocks used (read from the node's committed blocks); then the steady state over one
//!   resync period: the operator's CPU time (this process's user+sys from /proc, less the
//!   threads that are not the operator's), chain RPC requests (counted by a proxy in front of
//!   the devnet's RPC), devnet control calls (ingress lookups of the health probe), and the
//!   RSS of the operator's process and of the devnet's.
//!
//! By default the devnet is its own process (`af-operator devnet` on free ports); the
//! counting proxies run on their own runtime (threads `af-proxy`), the daemon on another
//! (`af-op`), so the operator's CPU is this process's less the proxies' threads (from
//! /proc/self/task) and the devnet's is its process's. With `AF_BENCH_DEVNET=in-process` the
//! devnet and the proxies share a runtime of this process (threads `af-devnet`).
//!
//! `cargo bench --bench reconcile` runs the full measurement; without `--bench` (as
//! `cargo test --all-targets` runs it) a small version checks that it still works.
//! Knobs: `AF_BENCH_AGENTS`, `AF_BENCH_WORKERS` (16), `AF_BENCH_PROVIDERS` (5),
//! `AF_BENCH_RESYNC` (seconds, 60), `AF_BENCH_TIMEOUT` (seconds, 600), `AF_BENCH_SINGLE_RUNS` (3),
//! `AF_BENCH_DEVNET` (`process`, the default: `af-operator devnet` as a child process on free
//! ports, its CPU and RSS read from /proc/<pid>; `in-process`: on a runtime of this process),
//! `AF_BENCH_ONLY` (`single` or `many`: one part only).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use af_operator::daemon::{self, ChainConfig, Daemon, DaemonConfig};
use af_operator::devnet::{Devnet, DevnetConfig};
use af_operator::reconcile::context::{Progress, ProgressHook, StaticSecrets};
use af_operator::reconcile::plan::Timing;
use af_operator::reconcile::status::Phase;
use af_operator::reconcile::ControllerConfig;
use af_operator::spec::load::load_str;
use af_operator::spec::Resource;
use anyhow::Context as _;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tokio::runtime::Runtime;
use tokio::sync::watch;

/// The Agent every measurement applies (small, so that N of them fit the providers).
fn agent_yaml(name: &str) -> String {
    format!(
        "apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {{name: {name}, project: bench}}
spec:
  image: nginx:1.27
  port: 8080
  expose: {{hostnames: [{name}.bench.example]}}
  resources: {{cpu: 0.05, memory: 64Mi, storage: [{{size: 128Mi}}]}}
  healthCheck: {{path: /health}}
"
    )
}

// ---- settings ---------------------------------------------------------------------------

/// One configuration of devnet + daemon.
#[derive(Clone, Debug)]
struct Setup {
    label: &'static str,
    providers: usize,
    block_time: Duration,
    bid_delay: Duration,
    workers: usize,
    resync: Duration,
    tx_poll: Duration,
    timing: Timing,
    devnet: DevnetMode,
}

/// Messages per tx of the batcher (`BatchConfig::default().max_msgs`).
const BATCH: u64 = 50;

impl Setup {
    /// `af-operator serve`'s defaults (tx poll 500 ms, bid window 5 s, poll 2 s, 16 workers,
    /// resync 60 s) on a devnet with 200 ms blocks and the default bid delay (1 s).
    fn serve() -> Setup {
        Setup {
            label: "serve defaults",
            providers: env_usize("AF_BENCH_PROVIDERS", 5),
            block_time: Duration::from_millis(200),
            bid_delay: DevnetConfig::default().bid_delay,
            workers: env_usize("AF_BENCH_WORKERS", ControllerConfig::default().workers),
            resync: Duration::from_secs(env_usize("AF_BENCH_RESYNC", 60) as u64),
            tx_poll: Duration::from_millis(500),
            timing: Timing::default(),
            devnet: DevnetMode::Process,
        }
    }

    /// The demo's timing (tx poll 50 ms, bid window 300 ms, poll 250 ms).
    fn demo() -> Setup {
        Setup {
            label: "demo timing",
            tx_poll: Duration::from_millis(50),
            timing: Timing {
                bid_window: Duration::from_millis(300),
                bid_timeout: Duration::from_secs(60),
                poll: Duration::from_millis(250),
                ..Timing::default()
            },
            ..Setup::serve()
        }
    }

    /// The floor of one Agent: a block for each of the create, the bid and the lease txs,
    /// and the bid delay (every provider bids, so the bid window ends with their bids).
    fn single_floor(&self) -> Duration {
        self.block_time * 3 + self.bid_delay
    }

    /// The chain's minimum for `n` Agents at the batcher's limits: creates at 50 messages per
    /// tx and [`IN_FLIGHT`] txs per block, the bid delay, one block for the bids, the leases
    /// likewise (every provider bids on every order: no bid window).
    fn many_floor(&self, n: u64) -> Duration {
        self.block_time * (2 * tx_blocks(n, IN_FLIGHT) + 1) + self.bid_delay
    }

    /// The same with one tx per block (the batcher before it pipelined).
    fn many_floor_serial(&self, n: u64) -> Duration {
        self.block_time * (2 * tx_blocks(n, 1) + 1) + self.bid_delay
    }
}

/// Txs in flight per signer (`BatchConfig::default().max_in_flight`).
const IN_FLIGHT: u64 = 8;

/// Blocks for `n` messages at [`BATCH`] per tx and `per_block` txs per block.
fn tx_blocks(n: u64, per_block: u64) -> u32 {
    n.div_ceil(BATCH).div_ceil(per_block) as u32
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---- /proc ------------------------------------------------------------------------------

/// Clock ticks per second of /proc's CPU times.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime (ticks) of a /proc `stat` line.
fn stat_ticks(stat: &str) -> u64 {
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime field 14, stime field 15.
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

/// utime + stime of a process, in seconds (0 when it is gone).
fn pid_cpu(pid: u32, tck: f64) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| stat_ticks(&s))
        .unwrap_or(0) as f64
        / tck
}

/// CPU seconds: this whole process (threads that ended included), its threads that are not
/// the operator's (the in-process devnet's `af-devnet`, the proxies' `af-proxy`), and the
/// devnet's own process when it runs apart.
#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    process: f64,
    aux: f64,
    child: f64,
}

impl Cpu {
    fn now(tck: f64, child: Option<u32>) -> Cpu {
        let process = std::fs::read_to_string("/proc/self/stat")
            .map(|s| stat_ticks(&s))
            .unwrap_or(0) as f64
            / tck;
        let mut aux = 0u64;
        if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
            for t in dir.flatten() {
                let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
                if comm.starts_with("af-devnet") || comm.starts_with("af-proxy") {
                    aux += std::fs::read_to_string(t.path().join("stat"))
                        .map(|s| stat_ticks(&s))
                        .unwrap_or(0);
                }
            }
        }
        Cpu {
            process,
            aux: aux as f64 / tck,
            child: child.map_or(0.0, |pid| pid_cpu(pid, tck)),
        }
    }

    /// The operator's share: this process but the devnet's and the proxies' threads.
    fn operator_since(&self, before: &Cpu) -> f64 {
        (self.process - before.process) - (self.aux - before.aux)
    }

    /// The devnet's: its process, or (in process) its threads and the proxies'.
    fn devnet_since(&self, before: &Cpu, mode: DevnetMode) -> f64 {
        match mode {
            DevnetMode::Process => self.child - before.child,
            DevnetMode::InProcess => self.aux - before.aux,
        }
    }

    /// The counting proxies' (process mode; in process they share the devnet's runtime).
    fn proxies_since(&self, before: &Cpu, mode: DevnetMode) -> Option<f64> {
        (mode == DevnetMode::Process).then_some(self.aux - before.aux)
    }
}

/// VmRSS and VmHWM in MiB of `/proc/<pid>/status` (`self` for this process).
fn rss_mib(pid: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

// ---- a counting proxy -------------------------------------------------------------------

/// Forwards HTTP to `upstream` and counts requests and JSON-RPC calls (a batch counts each
/// call; `abci_query` by its path).
struct CountingProxy {
    upstream: String,
    client: reqwest::Client,
    requests: AtomicU64,
    calls: Mutex<BTreeMap<String, u64>>,
}

impl CountingProxy {
    fn total(&self) -> (u64, u64) {
        let calls = self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum();
        (self.requests.load(Ordering::Relaxed), calls)
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn count(&self, path: &str, body: &[u8]) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut names = Vec::new();
        let one = |v: &serde_json::Value| -> String {
            let method = v["method"].as_str().unwrap_or("?");
            match v["params"]["path"].as_str() {
                Some(p) if method == "abci_query" => format!("abci_query {}", p.trim_matches('"')),
                _ => method.to_owned(),
            }
        };
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Array(calls)) => names.extend(calls.iter().map(one)),
            Ok(v @ serde_json::Value::Object(_)) => names.push(one(&v)),
            _ => names.push(format!("GET {}", path.split('?').next().unwrap_or(path))),
        }
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        for n in names {
            *calls.entry(n).or_insert(0) += 1;
        }
    }
}

async fn forward(State(p): State<Arc<CountingProxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return status(StatusCode::BAD_REQUEST);
    };
    p.count(&path, &bytes);
    let mut out = p
        .client
        .request(parts.method, format!("{}{path}", p.upstream))
        .body(bytes.to_vec());
    if let Some(ct) = parts.headers.get(axum::http::header::CONTENT_TYPE) {
        out = out.header(axum::http::header::CONTENT_TYPE, ct);
    }
    let Ok(resp) = out.send().await else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let code = resp.status();
    let ct = resp.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    let Ok(body) = resp.bytes().await else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let mut r = Response::builder().status(code);
    if let Some(ct) = ct {
        r = r.header(axum::http::header::CONTENT_TYPE, ct);
    }
    r.body(Body::from(body))
        .unwrap_or_else(|_| status(StatusCode::BAD_GATEWAY))
}

fn status(code: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = code;
    r
}

/// Starts a proxy to `upstream` on an ephemeral port (on the current runtime).
async fn proxy(upstream: String) -> anyhow::Result<(Arc<CountingProxy>, SocketAddr)> {
    let p = Arc::new(CountingProxy {
        upstream,
        client: reqwest::Client::new(),
        requests: AtomicU64::new(0),
        calls: Mutex::new(BTreeMap::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(forward).with_state(p.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((p, addr))
}

// ---- phases from the progress hook -----------------------------------------------------

const PHASES: [Phase; 5] = [
    Phase::Deploying,
    Phase::Bidding,
    Phase::Leasing,
    Phase::Starting,
    Phase::Ready,
];

/// When each resource first reached each phase.
#[derive(Default)]
struct Phases {
    seen: Mutex<HashMap<String, [Option<Instant>; 5]>>,
    ready: AtomicUsize,
}

impl Phases {
    fn hook(self: &Arc<Self>) -> ProgressHook {
        let me = self.clone();
        Arc::new(move |r: &Resource, what: Progress<'_>| {
            let Progress::Phase(phase, _) = what else {
                return;
            };
            let Some(i) = PHASES.iter().position(|p| *p == phase) else {
                return;
            };
            let now = Instant::now();
            let mut seen = me.seen.lock().unwrap_or_else(|e| e.into_inner());
            let slot = &mut seen.entry(r.metadata.name.clone()).or_default()[i];
            if slot.is_none() {
                *slot = Some(now);
                if phase == Phase::Ready {
                    me.ready.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    }

    /// Per phase, seconds since `t0` at which resources reached it: (count, p50, max).
    fn spread(&self, t0: Instant) -> Vec<(Phase, usize, f64, f64)> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        PHASES
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut ts: Vec<f64> = seen
                    .values()
                    .filter_map(|s| s[i])
                    .map(|t| t.duration_since(t0).as_secs_f64())
                    .collect();
                ts.sort_by(f64::total_cmp);
                let p50 = ts.get(ts.len() / 2).copied().unwrap_or(f64::NAN);
                let max = ts.last().copied().unwrap_or(f64::NAN);
                (*p, ts.len(), p50, max)
            })
            .collect()
    }

    /// One resource's phase times (the time a skipped phase is taken from the next).
    fn of(&self, name: &str) -> Option<[Instant; 5]> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let s = seen.get(name)?;
        let mut out = [s[4]?; 5];
        for i in (0..4).rev() {
            out[i] = s[i].unwrap_or(out[i + 1]);
        }
        Some(out)
    }
}

// ---- the chain's blocks ------------------------------------------------------------------

/// What the committed blocks held.
#[derive(Default, Debug, Clone)]
struct Blocks {
    blocks: u64,
    txs: u64,
    /// Txs with our messages (deployments, leases).
    tenant_txs: u64,
    /// Txs with providers' bids.
    bid_txs: u64,
    /// Blocks holding creates / bids / leases.
    create_blocks: u64,
    bid_blocks: u64,
    lease_blocks: u64,
    creates: u64,
    bids: u64,
    leases: u64,
}

/// Counts the committed blocks in `(from, to]` from the node's `block_results` (asked of the
/// devnet's RPC directly, not through the counting proxy).
async fn count_blocks(
    client: &reqwest::Client,
    rpc: &str,
    from: i64,
    to: i64,
) -> anyhow::Result<Blocks> {
    let mut s = Blocks::default();
    for height in (from + 1)..=to {
        let v = rpc_call(
            client,
            rpc,
            "block_results",
            serde_json::json!({"height": height.to_string()}),
        )
        .await?;
        s.blocks += 1;
        let (mut c, mut bi, mut l) = (0, 0, 0);
        for tx in v["txs_results"].as_array().into_iter().flatten() {
            s.txs += 1;
            let count = |kind: &str| {
                tx["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|e| e["type"].as_str().is_some_and(|t| t.ends_with(kind)))
                    .count() as u64
            };
            let (tc, tb, tl) = (
                count(".EventDeploymentCreated"),
                count(".EventBidCreated"),
                count(".EventLeaseCreated"),
            );
            if tc + tl > 0 {
                s.tenant_txs += 1;
            }
            if tb > 0 {
                s.bid_txs += 1;
            }
            c += tc;
            bi += tb;
            l += tl;
        }
        s.creates += c;
        s.bids += bi;
        s.leases += l;
        s.create_blocks += u64::from(c > 0);
        s.bid_blocks += u64::from(bi > 0);
        s.lease_blocks += u64::from(l > 0);
    }
    Ok(s)
}

/// One JSON-RPC call; its `result`.
async fn rpc_call(
    client: &reqwest::Client,
    rpc: &str,
    method: &str,
    params: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut v: serde_json::Value = client
        .post(rpc)
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if !v["error"].is_null() {
        anyhow::bail!("{method}: {}", v["error"]);
    }
    Ok(v["result"].take())
}

// ---- devnet + daemon ---------------------------------------------------------------------

/// Where the devnet runs (`AF_BENCH_DEVNET`): `process` (the default) spawns `af-operator
/// devnet` on free ports, so that the operator's CPU and RSS are this process's alone;
/// `in-process` runs it on its own runtime in this process (threads `af-devnet`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DevnetMode {
    Process,
    InProcess,
}

impl DevnetMode {
    fn from_env() -> anyhow::Result<DevnetMode> {
        match std::env::var("AF_BENCH_DEVNET").as_deref() {
            Err(_) | Ok("process") => Ok(DevnetMode::Process),
            Ok("in-process") | Ok("inprocess") => Ok(DevnetMode::InProcess),
            Ok(other) => {
                anyhow::bail!("AF_BENCH_DEVNET: expected `process` or `in-process`, got `{other}`")
            }
        }
    }

    fn label(self) -> &'static str {
        match self {
            DevnetMode::Process => "devnet in its own process",
            DevnetMode::InProcess => "devnet in this process",
        }
    }
}

/// A devnet run as `af-operator devnet` (killed when dropped).
struct DevnetChild {
    child: std::process::Child,
}

impl DevnetChild {
    /// Starts one on free ports and reads its RPC URL, control URL and chain id from the
    /// lines it prints when ready.
    fn spawn(
        s: &Setup,
        log: &std::path::Path,
    ) -> anyhow::Result<(DevnetChild, String, String, String)> {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"))
            .arg("devnet")
            .args([
                "--rpc-listen",
                "127.0.0.1:0",
                "--control-listen",
                "127.0.0.1:0",
            ])
            .args(["--providers", &s.providers.to_string()])
            .args(["--block-time", &format!("{}ms", s.block_time.as_millis())])
            .args(["--bid-delay", &format!("{}ms", s.bid_delay.as_millis())])
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("cannot start `af-operator devnet`")?;
        let stdout = child.stdout.take().context("the devnet's stdout")?;
        let guard = DevnetChild { child };
        let mut lines = std::io::BufReader::new(stdout).lines();
        let (mut rpc, mut control, mut chain_id) = (None, None, None);
        for line in lines.by_ref() {
            let line = line?;
            let value = |prefix: &str| line.strip_prefix(prefix).map(|v| v.trim().to_owned());
            if let Some(v) = value("rpc:") {
                rpc = Some(v);
            } else if let Some(v) = value("control:") {
                control = Some(v);
            } else if let Some(v) = value("chain id:") {
                chain_id = Some(v);
            } else if line.starts_with("test mnemonic:") {
                break;
            }
        }
        // Whatever it prints later is read (and dropped) so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        match (rpc, control, chain_id) {
            (Some(r), Some(c), Some(id)) => Ok((guard, r, c, id)),
            _ => anyhow::bail!(
                "`af-operator devnet` did not print its URLs (see {})",
                log.display()
            ),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DevnetChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Net {
    InProcess(Devnet),
    Process(DevnetChild),
}

struct Rig {
    /// The proxies' runtime (and the in-process devnet's): threads `af-devnet` / `af-proxy`.
    aux_rt: Option<Runtime>,
    net: Option<Net>,
    rpc_url: String,
    client: reqwest::Client,
    rpc: Arc<CountingProxy>,
    control: Arc<CountingProxy>,
    daemon: Option<Daemon>,
    stop: watch::Sender<bool>,
    phases: Arc<Phases>,
    _dir: tempfile::TempDir,
}

fn runtime(name: &str, threads: usize) -> anyhow::Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()?)
}

impl Rig {
    /// A devnet (in `mode`), the counting proxies (on their own runtime) and a daemon on the
    /// current runtime.
    async fn start(s: &Setup, mode: DevnetMode) -> anyhow::Result<Rig> {
        let dir = tempfile::tempdir()?;
        let (aux_rt, net, rpc_url, control_url, chain_id) = match mode {
            DevnetMode::InProcess => {
                let rt = runtime("af-devnet", 2)?;
                let cfg = DevnetConfig {
                    providers: s.providers,
                    block_time: s.block_time,
                    bid_delay: s.bid_delay,
                    ..DevnetConfig::default()
                };
                let dn = rt.spawn(async move { Devnet::start(cfg).await }).await??;
                let (r, c, id) = (dn.rpc_url(), dn.control_url(), dn.chain_id().to_owned());
                (rt, Net::InProcess(dn), r, c, id)
            }
            DevnetMode::Process => {
                let rt = runtime("af-proxy", 1)?;
                let log = dir.path().join("devnet.log");
                let s = s.clone();
                let (child, r, c, id) =
                    tokio::task::spawn_blocking(move || DevnetChild::spawn(&s, &log)).await??;
                (rt, Net::Process(child), r, c, id)
            }
        };
        let (rpc, rpc_addr, control, control_addr) = {
            let (r, c) = (rpc_url.clone(), control_url.clone());
            aux_rt
                .spawn(async move {
                    let (rpc, rpc_addr) = proxy(r).await?;
                    let (control, control_addr) = proxy(c).await?;
                    anyhow::Ok((rpc, rpc_addr, control, control_addr))
                })
                .await??
        };
        let phases = Arc::new(Phases::default());
        let (stop, stop_rx) = watch::channel(false);
        let d = daemon::start(
            DaemonConfig {
                database_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                listen: None,
                api: Default::default(),
                chain: Some(ChainConfig {
                    endpoints: vec![format!("http://{rpc_addr}")],
                    chain_id: Some(chain_id),
                    wallet: af_operator::devnet::test_account(0).0,
                    gas_price_uakt: 0.025,
                    gas_adjustment: 1.3,
                    tx_poll: s.tx_poll,
                    devnet_control: Some(format!("http://{control_addr}")),
                }),
                controller: ControllerConfig {
                    workers: s.workers,
                    resync: s.resync,
                    timing: s.timing,
                    ..ControllerConfig::default()
                },
                templates: af_operator::render::TemplateSource::builtin(),
                secrets: Arc::new(StaticSecrets(Arc::new(
                    af_operator::render::FileSecrets::default(),
                ))),
                progress: Some(phases.hook()),
                leader: Default::default(),
            },
            stop_rx,
        )
        .await?;
        Ok(Rig {
            aux_rt: Some(aux_rt),
            net: Some(net),
            rpc_url,
            client: reqwest::Client::new(),
            rpc,
            control,
            daemon: Some(d),
            stop,
            phases,
            _dir: dir,
        })
    }

    /// The devnet child's pid (process mode).
    fn child_pid(&self) -> Option<u32> {
        match &self.net {
            Some(Net::Process(c)) => Some(c.pid()),
            _ => None,
        }
    }

    /// The chain's height, from its RPC (not through the counting proxy).
    async fn height(&self) -> anyhow::Result<i64> {
        let v = rpc_call(&self.client, &self.rpc_url, "status", serde_json::json!({})).await?;
        v["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .context("status: no latest_block_height")
    }

    async fn blocks(&self, from: i64, to: i64) -> anyhow::Result<Blocks> {
        count_blocks(&self.client, &self.rpc_url, from, to).await
    }

    /// The store's latest change id: every write of a resource (spec or status) adds one.
    async fn latest_change(&self) -> anyhow::Result<i64> {
        let store = &self.daemon.as_ref().context("daemon")?.store;
        Ok(af_operator::store::Store::latest_change(store.as_ref()).await?)
    }

    fn metrics(&self) -> String {
        self.daemon
            .as_ref()
            .and_then(|d| d.context.as_ref())
            .map(|c| c.metrics.encode())
            .unwrap_or_default()
    }

    async fn apply(&self, names: &[String]) -> anyhow::Result<()> {
        let store = &self.daemon.as_ref().context("daemon")?.store;
        for chunk in names.chunks(250) {
            let yaml: Vec<String> = chunk.iter().map(|n| agent_yaml(n)).collect();
            let docs = load_str("bench.yaml", &yaml.join("---\n"))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let inputs: Vec<_> = docs.into_iter().map(|d| d.input).collect();
            af_operator::store::Store::apply(store.as_ref(), &inputs).await?;
        }
        Ok(())
    }

    /// Waits until `n` resources are Ready or `timeout` passed; whether they all are.
    async fn until_ready(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.phases.ready.load(Ordering::Relaxed) < n {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(d) = self.daemon.take() {
            d.wait().await;
        }
        match (self.net.take(), &self.aux_rt) {
            (Some(Net::InProcess(dn)), Some(rt)) => {
                let _ = rt.spawn(async move { dn.shutdown() }).await;
            }
            (net, _) => drop(net),
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // Dropped on a runtime's thread: the proxies' runtime must not block it.
        if let Some(rt) = self.aux_rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Sum of a Prometheus counter family in the metrics text.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

// ---- the measurements ------------------------------------------------------------------

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// One Agent, `runs` times, each on a fresh devnet and store.
async fn single(s: &Setup, runs: usize) -> anyhow::Result<()> {
    println!(
        "\n## One Agent, apply → Ready ({}: {} ms blocks, bid delay {} ms, bid window {} ms, poll {} ms, tx poll {} ms)",
        s.label,
        s.block_time.as_millis(),
        s.bid_delay.as_millis(),
        s.timing.bid_window.as_millis(),
        s.timing.poll.as_millis(),
        s.tx_poll.as_millis()
    );
    let floors = [
        ("apply → Deploying", Duration::ZERO, "—"),
        ("Deploying → Bidding", s.block_time, "1 block (create)"),
        (
            "Bidding → Leasing",
            s.bid_delay + s.block_time,
            "bid delay + 1 block (bid); every provider bids: no window",
        ),
        ("Leasing → Starting", s.block_time, "1 block (lease)"),
        (
            "Starting → Ready",
            Duration::ZERO,
            "— (manifest, status, health check)",
        ),
    ];
    let mut rows: Vec<[f64; 5]> = Vec::new();
    for _ in 0..runs {
        let rig = Rig::start(s, s.devnet).await?;
        let name = "solo".to_string();
        let t0 = Instant::now();
        rig.apply(std::slice::from_ref(&name)).await?;
        let ok = rig.until_ready(1, Duration::from_secs(120)).await;
        let times = rig.phases.of(&name);
        rig.stop().await;
        anyhow::ensure!(ok, "the Agent was not Ready within 120 s");
        let t = times.context("no phases recorded")?;
        let mut prev = t0;
        let mut row = [0.0; 5];
        for (i, ti) in t.iter().enumerate() {
            row[i] = secs(ti.duration_since(prev));
            prev = *ti;
        }
        rows.push(row);
    }
    let median = |i: usize| {
        let mut v: Vec<f64> = rows.iter().map(|r| r[i]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("| phase | floor | floor is | measured (median of {runs}) | operator's own |");
    println!("|---|---:|---|---:|---:|");
    let mut total = 0.0;
    for (i, (phase, floor, what)) in floors.iter().enumerate() {
        let m = median(i);
        total += m;
        println!(
            "| {phase} | {:.3} s | {what} | {m:.3} s | {:+.3} s |",
            secs(*floor),
            m - secs(*floor)
        );
    }
    let totals: Vec<f64> = rows.iter().map(|r| r.iter().sum()).collect();
    let mut sorted = totals.clone();
    sorted.sort_by(f64::total_cmp);
    let total_med = sorted[sorted.len() / 2];
    let floor = secs(s.single_floor());
    println!(
        "| **total** | {floor:.3} s | 3 blocks + bid delay | {total_med:.3} s | {:+.3} s ({:.1} %) |",
        total_med - floor,
        (total_med - floor) / total_med * 100.0
    );
    println!(
        "runs: {} s (sum of phase medians {total:.3} s); target: operator's own ≤ 5 %",
        totals
            .iter()
            .map(|t| format!("{t:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// N Agents: to all Ready, then one resync period of steady state.
async fn many(s: &Setup, n: usize, timeout: Duration, tck: f64) -> anyhow::Result<()> {
    println!(
        "\n## {n} Agents ({}: {} providers, {} ms blocks, bid delay {} ms, bid window {} ms, {} workers, resync {} s)",
        s.label,
        s.providers,
        s.block_time.as_millis(),
        s.bid_delay.as_millis(),
        s.timing.bid_window.as_millis(),
        s.workers,
        s.resync.as_secs()
    );
    let rig = Rig::start(s, s.devnet).await?;
    let child = rig.child_pid();
    let names: Vec<String> = (0..n).map(|i| format!("a{i:05}")).collect();
    let h0 = rig.height().await?;
    let cpu0 = Cpu::now(tck, child);
    let t0 = Instant::now();
    rig.apply(&names).await?;
    let applied = t0.elapsed();
    let all = rig.until_ready(n, timeout).await;
    let took = t0.elapsed();
    let cpu1 = Cpu::now(tck, child);
    let h1 = rig.height().await?;
    let b1 = rig.blocks(h0, h1).await?;
    let ready = rig.phases.ready.load(Ordering::Relaxed);
    let floor = s.many_floor(n as u64);
    let metrics = rig.metrics();
    println!("| | value |");
    println!("|---|---:|");
    println!(
        "| apply ({n} specs into the store) | {:.3} s |",
        secs(applied)
    );
    if all {
        println!("| apply → all Ready | {:.2} s |", secs(took));
    } else {
        println!(
            "| apply → Ready | **{ready}/{n} after {:.0} s (timeout)** |",
            secs(took)
        );
    }
    let blocks = tx_blocks(n as u64, IN_FLIGHT);
    println!(
        "| chain minimum | {:.2} s ({blocks} blocks of creates ({} txs of {BATCH}, {IN_FLIGHT} per block) + bid delay + 1 block + {blocks} blocks of leases) |",
        secs(floor),
        (n as u64).div_ceil(BATCH),
    );
    println!(
        "| ratio (target ≤ 1.10×) | {:.2}× |",
        secs(took) / secs(floor)
    );
    let serial = s.many_floor_serial(n as u64);
    println!(
        "| against one tx per block ({:.2} s) | {:.2}× |",
        secs(serial),
        secs(took) / secs(serial)
    );
    println!("| blocks (height {h0} → {h1}) | {} |", h1 - h0);
    println!(
        "| txs in those blocks: ours / providers' bids / all | {} / {} / {} |",
        b1.tenant_txs, b1.bid_txs, b1.txs
    );
    println!(
        "| messages: creates / bids / leases | {} / {} / {} |",
        b1.creates, b1.bids, b1.leases
    );
    println!(
        "| blocks with creates / bids / leases | {} / {} / {} |",
        b1.create_blocks, b1.bid_blocks, b1.lease_blocks
    );
    println!(
        "| `af_operator_chain_txs_total` (writes by message) | {} |",
        metric_sum(&metrics, "af_operator_chain_txs_total")
    );
    println!(
        "| CPU to Ready: operator / devnet ({}) | {:.2} s / {:.2} s |",
        s.devnet.label(),
        cpu1.operator_since(&cpu0),
        cpu1.devnet_since(&cpu0, s.devnet)
    );
    if let Some(p) = cpu1.proxies_since(&cpu0, s.devnet) {
        println!("| CPU to Ready: the bench's counting proxies | {p:.2} s |");
    }
    let (rpc_req, rpc_calls) = rig.rpc.total();
    println!("| chain RPC to Ready: HTTP requests / JSON-RPC calls | {rpc_req} / {rpc_calls} |");
    println!("\nWhen resources reached each phase (seconds after apply):\n");
    println!("| phase | resources | p50 | last |");
    println!("|---|---:|---:|---:|");
    for (p, count, p50, max) in rig.phases.spread(t0) {
        println!("| {} | {count} | {p50:.2} | {max:.2} |", p.as_str());
    }

    if all {
        // Steady state: one resync period (plus its jitter) once everything is Ready.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let window = s.resync.mul_f64(1.1);
        let rec0 = metric_sum(&rig.metrics(), "af_operator_reconciles_total");
        let rpc0 = rig.rpc.snapshot();
        let (req0, _) = rig.rpc.total();
        let (ctl0, _) = rig.control.total();
        let w0 = rig.latest_change().await?;
        let c0 = Cpu::now(tck, child);
        tokio::time::sleep(window).await;
        let c1 = Cpu::now(tck, child);
        let rec1 = metric_sum(&rig.metrics(), "af_operator_reconciles_total");
        let rpc1 = rig.rpc.snapshot();
        let (req1, _) = rig.rpc.total();
        let (ctl1, _) = rig.control.total();
        let w1 = rig.latest_change().await?;
        let (rss, hwm) = rss_mib("self");
        let reconciles = rec1 - rec0;
        let per_sweep = |x: f64| {
            if reconciles > 0.0 {
                x * n as f64 / reconciles
            } else {
                f64::NAN
            }
        };
        let op = c1.operator_since(&c0);
        println!(
            "\nSteady state over {:.0} s ({} Ready; {reconciles} reconciles, i.e. {:.2} sweeps):\n",
            secs(window),
            n,
            reconciles / n as f64
        );
        println!("| | value |");
        println!("|---|---:|");
        println!(
            "| operator CPU (user+sys) per sweep of {n} | {:.3} s ({:.3} s per 1,000; target ≤ 1 s) |",
            per_sweep(op),
            per_sweep(op) * 1000.0 / n as f64
        );
        println!(
            "| devnet CPU per sweep (RPC, gateways, ingress, blocks) | {:.3} s |",
            per_sweep(c1.devnet_since(&c0, s.devnet))
        );
        if let Some(p) = c1.proxies_since(&c0, s.devnet) {
            println!(
                "| the bench's counting proxies' CPU per sweep | {:.3} s |",
                per_sweep(p)
            );
        }
        println!(
            "| chain RPC HTTP requests per sweep | {:.0} ({:.2} per resource) |",
            per_sweep((req1 - req0) as f64),
            per_sweep((req1 - req0) as f64) / n as f64
        );
        for (k, v) in &rpc1 {
            let d = v - rpc0.get(k).copied().unwrap_or(0);
            if d > 0 {
                println!("| · {k} | {:.0} |", per_sweep(d as f64));
            }
        }
        println!(
            "| store writes (change-feed entries) per sweep | {:.0} |",
            per_sweep((w1 - w0) as f64)
        );
        println!(
            "| devnet control calls (ingress lookups) per sweep | {:.0} |",
            per_sweep((ctl1 - ctl0) as f64)
        );
        match child {
            Some(pid) => {
                let (drss, dhwm) = rss_mib(&pid.to_string());
                println!(
                    "| operator process RSS (with the bench's proxies) | {rss:.0} MiB (peak {hwm:.0} MiB; target ≤ 150 MB) |"
                );
                println!("| devnet process RSS | {drss:.0} MiB (peak {dhwm:.0} MiB) |");
            }
            None => println!(
                "| process RSS (operator + in-process devnet) | {rss:.0} MiB (peak {hwm:.0} MiB; target ≤ 150 MB) |"
            ),
        }
    }
    rig.stop().await;
    anyhow::ensure!(all, "{ready}/{n} Agents Ready after {:.0} s", secs(took));
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let full = std::env::args().any(|a| a == "--bench");
    let tck = clock_ticks();
    let mode = DevnetMode::from_env()?;
    let only = std::env::var("AF_BENCH_ONLY").ok();
    let (run_single, run_many) = match only.as_deref() {
        None => (true, true),
        Some("single") => (true, false),
        Some("many") => (false, true),
        Some(other) => anyhow::bail!("AF_BENCH_ONLY: expected `single` or `many`, got `{other}`"),
    };
    let serve = Setup {
        devnet: mode,
        ..Setup::serve()
    };
    let demo = Setup {
        devnet: mode,
        ..Setup::demo()
    };
    println!("devnet: {}", mode.label());
    let op_rt = runtime("af-op", 2)?;
    op_rt.block_on(async {
        if full {
            if run_single {
                let runs = env_usize("AF_BENCH_SINGLE_RUNS", 3);
                single(&serve, runs).await?;
                single(&demo, runs).await?;
            }
            if run_many {
                let n = env_usize("AF_BENCH_AGENTS", 1000);
                let timeout = Duration::from_secs(env_usize("AF_BENCH_TIMEOUT", 600) as u64);
                many(&serve, n, timeout, tck).await?;
            }
            Ok(())
        } else {
            // A small version (as `cargo test --all-targets` runs it).
            let quick = Setup {
                block_time: Duration::from_millis(100),
                bid_delay: Duration::from_millis(200),
                resync: Duration::from_secs(2),
                providers: 2,
                ..demo
            };
            if run_single {
                single(&quick, 1).await?;
            }
            if run_many {
                many(&quick, 5, Duration::from_secs(60), tck).await?;
            }
            Ok(())
        }
    })
}
