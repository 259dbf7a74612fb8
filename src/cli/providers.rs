//! `providers`: our record of every provider the daemon dealt with (leases held, faults by
//! kind, median time to first healthy, median price paid), with the provider's attributes
//! and auditors from the chain when `--network` is given.

use std::collections::BTreeMap;

use clap::Args;

use super::{Io, ListOutput as Output};
use crate::akash::client::{AkashChain, RpcChain, RpcConfig};
use crate::akash::keys::Wallet;
use crate::store::{ProviderRecord, ProviderRecords};

/// Arguments of `providers`.
#[derive(Debug, Args)]
pub struct ProvidersArgs {
    /// Also read each provider's attributes and auditors from this chain: mainnet, testnet,
    /// devnet or RPC URL(s).
    #[arg(long, env = "AF_AKASH_NETWORK")]
    pub network: Option<String>,
    /// Only the record kept for this wallet address (default: every wallet in the store).
    #[arg(long)]
    pub owner: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    pub output: Output,
}

/// What the chain says of a provider.
#[derive(Debug, Default, Clone)]
struct OnChain {
    attributes: BTreeMap<String, String>,
    auditors: Vec<String>,
    registered: Option<bool>,
}

/// Runs `providers`.
pub async fn run(args: &ProvidersArgs, records: &dyn ProviderRecords, io: &mut Io<'_>) -> i32 {
    match providers(args, records, io).await {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    }
}

async fn providers(
    args: &ProvidersArgs,
    records: &dyn ProviderRecords,
    io: &mut Io<'_>,
) -> anyhow::Result<()> {
    let list = records
        .provider_records(args.owner.as_deref().unwrap_or(""))
        .await?;
    let mut chain_facts: BTreeMap<String, OnChain> = BTreeMap::new();
    if let Some(network) = &args.network {
        let chain = connect(network).await?;
        for r in &list {
            chain_facts.insert(r.provider.clone(), on_chain(&chain, &r.provider).await);
        }
    }
    match args.output {
        Output::Json | Output::Yaml => {
            let v: Vec<serde_json::Value> = list
                .iter()
                .map(|r| json_of(r, chain_facts.get(&r.provider)))
                .collect();
            if args.output == Output::Json {
                writeln!(io.stdout, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                write!(io.stdout, "{}", serde_yaml::to_string(&v)?)?;
            }
        }
        Output::Table | Output::Wide => {
            if list.is_empty() {
                writeln!(
                    io.stderr,
                    "no provider records yet: the daemon keeps one for every provider it leases from"
                )?;
                return Ok(());
            }
            let head = [
                "PROVIDER",
                "ATTRIBUTES",
                "AUDITED BY",
                "LEASES",
                "FAILURES",
                "MEDIAN PRICE",
                "FIRST HEALTHY",
                "LAST SEEN",
            ];
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|r| {
                    let c = chain_facts.get(&r.provider);
                    vec![
                        r.provider.clone(),
                        c.map_or("-".into(), attributes_text),
                        c.map_or("-".into(), |c| {
                            if c.auditors.is_empty() {
                                "none".into()
                            } else {
                                c.auditors.join(",")
                            }
                        }),
                        r.leases.to_string(),
                        failures_text(r),
                        r.median_price
                            .map_or("-".into(), |p| format!("{}/block", trim(p))),
                        r.median_first_healthy_ms
                            .map_or("-".into(), |ms| format!("{:.1}s", ms as f64 / 1000.0)),
                        r.last_seen.clone(),
                    ]
                })
                .collect();
            let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
            for row in &rows {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.len());
                }
            }
            let line = |cells: &[String]| {
                let parts: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                parts.join("   ").trim_end().to_string()
            };
            let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
            writeln!(io.stdout, "{}", line(&head))?;
            for row in &rows {
                writeln!(io.stdout, "{}", line(row))?;
            }
        }
    }
    Ok(())
}

fn trim(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn failures_text(r: &ProviderRecord) -> String {
    if r.failures.is_empty() {
        return "0".into();
    }
    let kinds: Vec<String> = r.failures.iter().map(|(k, n)| format!("{k}:{n}")).collect();
    format!("{} ({})", r.failure_total(), kinds.join(","))
}

fn attributes_text(c: &OnChain) -> String {
    if c.registered == Some(false) {
        return "(not registered)".into();
    }
    // Region and tier first: what placement is usually about.
    let mut keys: Vec<&String> = c.attributes.keys().collect();
    keys.sort_by_key(|k| (!matches!(k.as_str(), "region" | "tier"), k.to_string()));
    let parts: Vec<String> = keys
        .into_iter()
        .map(|k| format!("{k}={}", c.attributes[k]))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(",")
    }
}

fn json_of(r: &ProviderRecord, c: Option<&OnChain>) -> serde_json::Value {
    serde_json::json!({
        "provider": r.provider,
        "attributes": c.map(|c| c.attributes.clone()),
        "auditors": c.map(|c| c.auditors.clone()),
        "registered": c.and_then(|c| c.registered),
        "leases": r.leases,
        "failures": r.failures,
        "medianPricePerBlock": r.median_price,
        "medianFirstHealthyMs": r.median_first_healthy_ms,
        "lastSeen": r.last_seen,
    })
}

async fn on_chain(chain: &RpcChain, provider: &str) -> OnChain {
    let mut out = OnChain::default();
    match chain.provider(provider).await {
        Ok(p) => {
            out.registered = Some(true);
            for a in p.attributes {
                out.attributes.insert(a.key, a.value);
            }
        }
        Err(crate::akash::client::ClientError::NotFound(_)) => out.registered = Some(false),
        Err(_) => {}
    }
    if let Ok(audits) = chain.provider_audits(provider).await {
        let mut auditors: Vec<String> = audits.into_iter().map(|a| a.auditor).collect();
        auditors.sort();
        auditors.dedup();
        out.auditors = auditors;
    }
    out
}

/// A read-only connection: the queries need no wallet, so a throwaway key signs nothing.
async fn connect(network: &str) -> anyhow::Result<RpcChain> {
    let network: crate::akash::client::Network = network.parse()?;
    let cfg = RpcConfig {
        endpoints: network.endpoints(),
        chain_id: network.chain_id().map(str::to_string),
        batching: None,
        retry_for: std::time::Duration::from_secs(3),
        ..RpcConfig::default()
    };
    let endpoints = cfg.endpoints.join(", ");
    let (wallet, _) = Wallet::generate();
    RpcChain::connect(cfg, wallet)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the Akash RPC at {endpoints}: {e}"))
}
