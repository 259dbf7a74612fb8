//! `af-operator devnet` (run a local Akash devnet) and `af-operator devnet ctl …` (its
//! control API: chain, provider and function faults, the faucet, IPFS).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::Io;
use crate::devnet::{self, Devnet, DevnetConfig};

/// Arguments of `devnet`.
#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Control commands for a running devnet (without one: run a devnet).
    #[command(subcommand)]
    pub command: Option<DevnetCommand>,
    /// Where the CometBFT JSON-RPC listens.
    #[arg(long, default_value = "127.0.0.1:26657")]
    pub rpc_listen: SocketAddr,
    /// Where the control API listens.
    #[arg(long, default_value = "127.0.0.1:26680")]
    pub control_listen: SocketAddr,
    /// Simulated providers.
    #[arg(long, default_value_t = 3)]
    pub providers: usize,
    /// Time between blocks, e.g. `1s`, `200ms`.
    #[arg(long, default_value = "1s", value_parser = parse_block_time)]
    pub block_time: Duration,
    /// Chain id.
    #[arg(long, default_value = devnet::DEFAULT_CHAIN_ID)]
    pub chain_id: String,
    /// Seed of the devnet's deterministic choices (the test account, providers).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Genesis balance: `ADDRESS=AMOUNT[,AMOUNT…]`, e.g. `akash1…=1000000uakt,500000uact`.
    /// Repeatable.
    #[arg(long = "fund", value_parser = parse_fund_arg)]
    pub fund: Vec<(String, Vec<(String, u128)>)>,
    /// An auditor address recorded at genesis as having signed the audited providers'
    /// attributes (repeatable; e.g. the mainnet auditor a spec's `auditors` names).
    #[arg(long = "genesis-auditor")]
    pub genesis_auditor: Vec<String>,
    /// Keep the chain's state in this directory and resume from it (default: in memory).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Minimum gas price in uakt.
    #[arg(long, default_value_t = 0.0025)]
    pub min_gas_price: f64,
    /// How long the providers wait before bidding on an order, e.g. `1s`, `200ms`.
    #[arg(long, default_value = "1s", value_parser = parse_bid_delay)]
    pub bid_delay: Duration,
}

fn parse_block_time(s: &str) -> Result<Duration, String> {
    let d = crate::spec::quantity::parse_duration(s)?;
    if d < Duration::from_millis(10) {
        return Err("the block time must be at least 10ms".into());
    }
    Ok(d)
}

fn parse_bid_delay(s: &str) -> Result<Duration, String> {
    crate::spec::quantity::parse_duration(s)
}

fn parse_fund_arg(s: &str) -> Result<(String, Vec<(String, u128)>), String> {
    devnet::parse_fund(s).map_err(|e| e.to_string())
}

/// `devnet` subcommands.
#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Drive a running devnet's control API.
    Ctl(CtlArgs),
}

/// Arguments of `devnet ctl`.
#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The control API's URL.
    #[arg(
        long,
        env = "AF_DEVNET_CONTROL",
        default_value = "http://127.0.0.1:26680"
    )]
    pub control: String,
    /// What to do.
    #[command(subcommand)]
    pub action: CtlAction,
}

/// Control actions.
#[derive(Debug, Subcommand)]
pub enum CtlAction {
    /// Show the chain's height, pause and stall state.
    Status,
    /// Pause block production.
    Pause,
    /// Resume block production.
    Resume,
    /// Make the RPC accept connections but answer nothing for SECONDS.
    Stall {
        /// How long.
        seconds: f64,
    },
    /// End an RPC stall.
    Unstall,
    /// Send coins from the faucet, e.g. `fund akash1… 1000000uakt,500000uact`.
    Fund {
        /// The recipient.
        address: String,
        /// Coins, e.g. `1000000uakt,500000uact`.
        coins: String,
    },
    /// List the simulated providers (name, address, gateway, ingress, attributes).
    Providers,
    /// Show the ingress map: workload hostname → the provider ingress listener serving it.
    Ingress,
    /// The devnet's IPFS: `ipfs add FILE` prints the file's CID.
    Ipfs {
        /// What to do.
        #[command(subcommand)]
        action: IpfsAction,
    },
    /// Set a fault on a provider (`clear` clears its faults): POSTs
    /// `{"fault": FAULT, KEY: VALUE…}` to `/providers/NAME/faults` (DELETE for `clear`).
    Provider {
        /// The provider's name or address.
        name: String,
        /// The fault, e.g. `no-bids`, `bid-price`, `reject-manifests`, `close-lease`, `down`,
        /// `slow`, `unhealthy`, or `clear`.
        fault: String,
        /// `KEY=VALUE` arguments (numbers stay numbers), e.g. `price=100` `seconds=5`.
        args: Vec<String>,
    },
    /// Make a function version unhealthy on every functions runtime node (its health path
    /// answers 503): POSTs `{"slug", "version"}` to `/functions/faults`; `--clear` DELETEs it
    /// (every version fault without `--slug`/`--version`).
    FunctionFault {
        /// The function's slug.
        #[arg(long, required_unless_present = "clear", requires = "version")]
        slug: Option<String>,
        /// The version (the operator's: the Function's generation).
        #[arg(long, required_unless_present = "clear", requires = "slug")]
        version: Option<String>,
        /// Only on this node (`node-1`); every node without it.
        #[arg(long, requires = "slug")]
        node: Option<String>,
        /// Clear the fault instead.
        #[arg(long)]
        clear: bool,
    },
}

/// `devnet ctl ipfs` actions.
#[derive(Debug, Subcommand)]
pub enum IpfsAction {
    /// Add a file to the devnet's IPFS (256 KiB chunks, a balanced DAG) and print its CID.
    Add {
        /// The file.
        file: std::path::PathBuf,
        /// 0 for a `Qm…` CIDv0, 1 (the default) for a `bafy…`/`bafk…` CIDv1 with raw leaves.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
        cid_version: u8,
    },
}

/// Runs `devnet` or `devnet ctl`.
pub async fn run(args: &DevnetArgs, io: &mut Io<'_>) -> i32 {
    match &args.command {
        Some(DevnetCommand::Ctl(ctl)) => match control(ctl, io).await {
            Ok(code) => code,
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e:#}");
                1
            }
        },
        None => match serve(args, io).await {
            Ok(()) => 0,
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e:#}");
                1
            }
        },
    }
}

async fn serve(args: &DevnetArgs, io: &mut Io<'_>) -> anyhow::Result<()> {
    let cfg = DevnetConfig {
        rpc_listen: args.rpc_listen,
        control_listen: args.control_listen,
        providers: args.providers,
        block_time: args.block_time,
        chain_id: args.chain_id.clone(),
        seed: args.seed,
        fund: args.fund.clone(),
        state_dir: args.state_dir.clone(),
        min_gas_price_uakt: args.min_gas_price,
        genesis_auditors: args.genesis_auditor.clone(),
        bid_delay: args.bid_delay,
        ..DevnetConfig::default()
    };
    let devnet = Devnet::start(cfg).await?;
    // The test mnemonic is a devnet key: printing it on the devnet's own stdout is the point;
    // it is never logged.
    writeln!(io.stdout, "af-operator devnet is running")?;
    writeln!(io.stdout, "rpc:           {}", devnet.rpc_url())?;
    writeln!(io.stdout, "control:       {}", devnet.control_url())?;
    writeln!(io.stdout, "chain id:      {}", devnet.chain_id())?;
    writeln!(io.stdout, "height:        {}", devnet.node().height())?;
    writeln!(io.stdout, "providers:     {}", devnet.providers())?;
    if let Some(set) = devnet.provider_set() {
        for p in set.providers() {
            writeln!(
                io.stdout,
                "  {}  {}  gateway {}  ingress {}",
                p.name, p.address, p.host_uri, p.ingress
            )?;
        }
        writeln!(
            io.stdout,
            "ingress map:   {}/ingress (hostname -> ingress listener)",
            devnet.control_url()
        )?;
    }
    writeln!(io.stdout, "test address:  {}", devnet.test_address())?;
    writeln!(io.stdout, "test mnemonic: {}", devnet.mnemonic().as_str())?;
    if let Some(dir) = &args.state_dir {
        writeln!(io.stdout, "state dir:     {}", dir.display())?;
    }
    io.stdout.flush()?;
    shutdown_signal().await;
    devnet.shutdown()
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A `KEY=VALUE` argument as a JSON field (numbers and booleans stay typed).
fn arg_value(v: &str) -> serde_json::Value {
    if let Ok(n) = v.parse::<i64>() {
        return n.into();
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() {
            return f.into();
        }
    }
    match v {
        "true" => true.into(),
        "false" => false.into(),
        _ => v.into(),
    }
}

async fn control(ctl: &CtlArgs, io: &mut Io<'_>) -> anyhow::Result<i32> {
    let base = ctl.control.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let req = match &ctl.action {
        CtlAction::Status => client.get(format!("{base}/status")),
        CtlAction::Pause => client.post(format!("{base}/blocks/pause")),
        CtlAction::Resume => client.post(format!("{base}/blocks/resume")),
        CtlAction::Stall { seconds } => client
            .post(format!("{base}/rpc/stall"))
            .json(&serde_json::json!({ "seconds": seconds })),
        CtlAction::Unstall => client.delete(format!("{base}/rpc/stall")),
        CtlAction::Providers => client.get(format!("{base}/providers")),
        CtlAction::FunctionFault {
            slug,
            version,
            node,
            clear,
        } => {
            let url = format!("{base}/functions/faults");
            match (slug, version, clear) {
                (Some(slug), Some(version), clear) => {
                    let mut body = serde_json::json!({ "slug": slug, "version": version });
                    if let Some(n) = node {
                        body["node"] = serde_json::json!(n);
                    }
                    if *clear {
                        client.delete(url).json(&body)
                    } else {
                        client.post(url).json(&body)
                    }
                }
                _ => client.delete(url),
            }
        }
        CtlAction::Ingress => client.get(format!("{base}/ingress")),
        CtlAction::Ipfs {
            action: IpfsAction::Add { file, cid_version },
        } => {
            let bytes = std::fs::read(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let resp = client
                .post(format!("{base}/ipfs/add?cid-version={cid_version}"))
                .body(bytes)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!("cannot reach the devnet control API at {base}: {e}")
                })?;
            let status = resp.status();
            let v: serde_json::Value = resp.json().await?;
            return match v.get("cid").and_then(|c| c.as_str()) {
                Some(cid) if status.is_success() => {
                    writeln!(io.stdout, "{cid}")?;
                    Ok(0)
                }
                _ => {
                    writeln!(io.stderr, "error: {status}: {v}")?;
                    Ok(1)
                }
            };
        }
        CtlAction::Fund { address, coins } => client
            .post(format!("{base}/fund"))
            .json(&serde_json::json!({ "address": address, "coins": coins })),
        CtlAction::Provider { name, fault, args } => {
            let url = format!("{base}/providers/{name}/faults");
            if fault == "clear" {
                client.delete(url)
            } else {
                let mut body = serde_json::Map::new();
                body.insert("fault".into(), fault.clone().into());
                for a in args {
                    let (k, v) = a.split_once('=').ok_or_else(|| {
                        anyhow::anyhow!("provider fault arguments are KEY=VALUE, got {a:?}")
                    })?;
                    body.insert(k.to_owned(), arg_value(v));
                }
                client.post(url).json(&body)
            }
        }
    };
    let resp = req
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the devnet control API at {base}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await?;
    let shown = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(text);
    if status.is_success() {
        writeln!(io.stdout, "{shown}")?;
        Ok(0)
    } else {
        writeln!(io.stderr, "error: {status}: {shown}")?;
        Ok(1)
    }
}
