//! `akash account | deployments | bids DSEQ | leases | close DSEQ | deposit DSEQ AMOUNT |
//! cert publish`: the Akash client for humans.
//!
//! `--network mainnet|testnet|devnet|URL[,URL…]` picks the chain id and RPC endpoints. The
//! wallet comes from `--keyring FILE` (passphrase in `--keyring-passphrase-env`), else
//! `--mnemonic-file FILE`, else the variable named by `--mnemonic-env` (default
//! `AF_AKASH_MNEMONIC`); the mnemonic is never printed. `--dry-run` prints the tx a write
//! would send (messages as JSON, fee, gas, signer, signed bytes) without broadcasting.

use std::path::PathBuf;

use base64::Engine as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::Io;
use crate::akash::client::gateway::{
    generate_client_cert, ClientCertStore, GatewayOptions, DEFAULT_CERT_DIR,
};
use crate::akash::client::wallet::{WalletSource, DEFAULT_MNEMONIC_ENV};
use crate::akash::client::{
    msg_json, msgs, AkashChain, ClientError, DeploymentStateFilter, Network, RpcChain, RpcConfig,
};
use crate::akash::proto::base::coin;
use crate::akash::proto::deployment::v1::DeploymentID;
use crate::akash::proto::deployment::v1beta4::QueryDeploymentResponse;
use crate::akash::proto::market::{v1 as mv1, v1beta5 as mv1beta5};
use crate::akash::proto::{legacy_dec, Any, Coin, PageRequest};

/// Arguments of `akash`.
#[derive(Debug, Args)]
pub struct AkashArgs {
    /// The chain: mainnet (akashnet-2), testnet (sandbox-2), devnet (af-devnet-1 at
    /// 127.0.0.1:26657) or RPC URL(s), comma-separated, chain id read from the node.
    #[arg(
        long,
        global = true,
        env = "AF_AKASH_NETWORK",
        default_value = "mainnet"
    )]
    pub network: String,
    /// A file holding the wallet's BIP39 mnemonic.
    #[arg(long, global = true)]
    pub mnemonic_file: Option<PathBuf>,
    /// The environment variable holding the mnemonic.
    #[arg(long, global = true, default_value = DEFAULT_MNEMONIC_ENV)]
    pub mnemonic_env: String,
    /// An encrypted keyring file (scrypt + ChaCha20-Poly1305) instead of a mnemonic.
    #[arg(long, global = true)]
    pub keyring: Option<PathBuf>,
    /// The environment variable holding the keyring's passphrase.
    #[arg(long, global = true, default_value = "AF_AKASH_KEYRING_PASSPHRASE")]
    pub keyring_passphrase_env: String,
    /// Print the tx a write would send, without broadcasting it.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Gas price in uakt.
    #[arg(long, global = true, default_value_t = 0.025)]
    pub gas_price: f64,
    /// Simulated gas is multiplied by this.
    #[arg(long, global = true, default_value_t = 1.3)]
    pub gas_adjustment: f64,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value = "table")]
    pub output: AkashOutput,
    /// What to do.
    #[command(subcommand)]
    pub command: AkashCommand,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AkashOutput {
    /// Text for humans.
    Table,
    /// JSON.
    Json,
}

/// `akash` subcommands.
#[derive(Debug, Subcommand)]
pub enum AkashCommand {
    /// The wallet's address, account number, sequence and balances.
    Account,
    /// The wallet's deployments (or another owner's).
    Deployments {
        /// `active`, `closed` or `all`.
        #[arg(long, default_value = "active")]
        state: DeploymentStateFilter,
        /// Another owner's address.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Bids on a deployment's orders.
    Bids {
        /// The deployment sequence.
        dseq: u64,
        /// `open`, `active`, `lost`, `closed` or `all`.
        #[arg(long, default_value = "open")]
        state: String,
    },
    /// The wallet's leases.
    Leases {
        /// `active`, `insufficient_funds`, `closed` or `all`.
        #[arg(long, default_value = "active")]
        state: String,
        /// Only this deployment.
        #[arg(long)]
        dseq: Option<u64>,
    },
    /// Close a deployment (and its leases).
    Close {
        /// The deployment sequence.
        dseq: u64,
    },
    /// Deposit into a deployment's escrow account, e.g. `deposit 123 5000000uact`.
    Deposit {
        /// The deployment sequence.
        dseq: u64,
        /// Amount with denom (`5000000uact`); a bare number means uact.
        amount: String,
    },
    /// The tenant's mTLS client certificate.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Encrypted keyring files.
    #[command(subcommand)]
    Keyring(KeyringCommand),
}

/// `akash keyring` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyringCommand {
    /// Seal the mnemonic (from --mnemonic-file or --mnemonic-env) into a keyring file,
    /// encrypted with the passphrase in --keyring-passphrase-env.
    Create {
        /// The keyring file to write (mode 0600).
        out: PathBuf,
    },
}

/// `akash cert` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Generate a client certificate once, publish it on chain and keep it (key encrypted).
    Publish {
        /// Where certificates are kept.
        #[arg(long, env = "AF_AKASH_CERT_DIR", default_value = DEFAULT_CERT_DIR)]
        cert_dir: PathBuf,
        /// The environment variable holding the passphrase that encrypts the key.
        #[arg(long, default_value = "AF_AKASH_CERT_PASSPHRASE")]
        passphrase_env: String,
    },
}

/// Runs `akash …`; returns the exit code.
pub async fn run(args: &AkashArgs, io: &mut Io<'_>) -> i32 {
    match run_inner(args, io).await {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    }
}

fn parse_amount(text: &str) -> anyhow::Result<Coin> {
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (amount, denom) = t.split_at(digits);
    let amount: u128 = amount
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid amount {text:?}: expected e.g. 5000000uact"))?;
    if amount == 0 {
        anyhow::bail!("invalid amount {text:?}: must be positive");
    }
    let denom = if denom.is_empty() { "uact" } else { denom };
    if !denom
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/:._-".contains(c))
        || !denom.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        anyhow::bail!("invalid denom in {text:?}");
    }
    Ok(coin(denom, amount))
}

fn state_filter(s: &str) -> String {
    if s == "all" {
        String::new()
    } else {
        s.to_string()
    }
}

/// The gateway client options of this process: the defaults, with `$SSL_CERT_FILE` (when
/// set) as the first CA bundle, as OpenSSL-based tools honour it.
pub fn gateway_options() -> GatewayOptions {
    GatewayOptions {
        ca_file: std::env::var_os("SSL_CERT_FILE").map(PathBuf::from),
        ..GatewayOptions::default()
    }
}

async fn connect(args: &AkashArgs) -> anyhow::Result<RpcChain> {
    let network: Network = args.network.parse()?;
    let source = WalletSource::from_flags(
        args.keyring.as_deref(),
        &args.keyring_passphrase_env,
        args.mnemonic_file.as_deref(),
        &args.mnemonic_env,
    );
    let wallet = source.load()?;
    let cfg = RpcConfig {
        endpoints: network.endpoints(),
        chain_id: network.chain_id().map(str::to_string),
        gas_price_uakt: args.gas_price,
        gas_adjustment: args.gas_adjustment,
        batching: None,
        // A person waits: when nothing answers, say so within seconds, not after 30 s.
        retry_for: CLI_RETRY_FOR,
        ..RpcConfig::default()
    };
    let endpoints = cfg.endpoints.join(", ");
    RpcChain::connect(cfg, wallet).await.map_err(|e| match e {
        ClientError::Transport(_) | ClientError::Timeout(_) => {
            let hint = if args.network == "devnet" {
                "start one with `af-operator devnet`, or pass its RPC URL with --network URL"
            } else {
                "check the network, or pass another RPC URL with --network URL"
            };
            anyhow::anyhow!("cannot reach the Akash RPC at {endpoints}: {e}; {hint}")
        }
        other => other.into(),
    })
}

/// How long a CLI command retries an RPC endpoint that does not answer.
const CLI_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(3);

fn emit(io: &mut Io<'_>, args: &AkashArgs, value: &Value, table: &str) -> anyhow::Result<()> {
    match args.output {
        AkashOutput::Json => writeln!(io.stdout, "{}", serde_json::to_string_pretty(value)?)?,
        AkashOutput::Table => write!(io.stdout, "{table}")?,
    }
    Ok(())
}

fn coins_text(coins: &[Coin]) -> String {
    if coins.is_empty() {
        return "(none)".into();
    }
    coins
        .iter()
        .map(|c| format!("{}{}", c.amount, c.denom))
        .collect::<Vec<_>>()
        .join(", ")
}

fn deployment_json(d: &QueryDeploymentResponse) -> Value {
    let state = d.deployment.state().as_str_name();
    json!({
        "dseq": d.deployment.id.dseq.to_string(),
        "owner": d.deployment.id.owner,
        "state": state,
        "hash": hex::encode(&d.deployment.hash),
        "created_at": d.deployment.created_at,
        "groups": d.groups.iter().map(|g| json!({
            "gseq": g.id.gseq,
            "name": g.group_spec.name,
            "state": g.state().as_str_name(),
        })).collect::<Vec<_>>(),
        "escrow_funds": d.escrow_account.state.funds.iter().map(|b| json!({
            "denom": b.denom, "amount": legacy_dec::to_decimal(&b.amount),
        })).collect::<Vec<_>>(),
    })
}

async fn write(
    args: &AkashArgs,
    io: &mut Io<'_>,
    chain: &RpcChain,
    msg: Any,
) -> anyhow::Result<()> {
    if args.dry_run {
        let d = chain.dry_run(std::slice::from_ref(&msg)).await?;
        if let Some(refused) = &d.simulation_error {
            writeln!(
                io.stderr,
                "note: the chain refused to simulate this tx ({refused}): it would fail as it is; shown with a gas limit of {}",
                d.gas_limit
            )?;
        }
        let v = json!({
            "dry_run": true,
            "simulated": d.simulation_error.is_none(),
            "chain_id": d.chain_id,
            "signer": d.signer,
            "account_number": d.account_number.to_string(),
            "sequence": d.sequence.to_string(),
            "messages": [msg_json(&msg)],
            "fee": {"amount": [{"denom": "uakt", "amount": d.fee_uakt.to_string()}], "gas_limit": d.gas_limit.to_string()},
            "memo": d.memo,
            "tx_bytes_base64": base64::engine::general_purpose::STANDARD.encode(&d.tx_bytes),
        });
        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let r = chain.send(msg).await?;
    let v = json!({
        "hash": r.hash, "height": r.height, "gas_used": r.gas_used,
        "events": r.typed_events.iter().map(|e| e.type_name()).collect::<Vec<_>>(),
    });
    let table = format!(
        "tx {} in block {} (gas used {})\n{}",
        r.hash,
        r.height,
        r.gas_used,
        r.typed_events
            .iter()
            .map(|e| format!("  {}\n", e.type_name()))
            .collect::<String>()
    );
    emit(io, args, &v, &table)
}

async fn run_inner(args: &AkashArgs, io: &mut Io<'_>) -> anyhow::Result<()> {
    let chain = match &args.command {
        AkashCommand::Keyring(KeyringCommand::Create { out }) => {
            return keyring_create(args, out, io);
        }
        _ => connect(args).await?,
    };
    let owner = chain.owner().to_string();
    match &args.command {
        AkashCommand::Account => {
            let balances = chain.balances(&owner).await?;
            let account = match chain.account(&owner).await {
                Ok(a) => Some(a),
                Err(crate::akash::client::ClientError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            };
            let v = json!({
                "address": owner,
                "chain_id": chain.chain_id(),
                "account_number": account.as_ref().map(|a| a.account_number.to_string()),
                "sequence": account.as_ref().map(|a| a.sequence.to_string()),
                "balances": balances.iter().map(|c| json!({"denom": c.denom, "amount": c.amount})).collect::<Vec<_>>(),
            });
            let table = format!(
                "address:   {owner}\nchain:     {}\naccount:   {}\nbalances:  {}\n",
                chain.chain_id(),
                account
                    .as_ref()
                    .map(|a| format!("number {} sequence {}", a.account_number, a.sequence))
                    .unwrap_or_else(|| "(not on chain yet)".into()),
                coins_text(&balances)
            );
            emit(io, args, &v, &table)
        }
        AkashCommand::Deployments { state, owner: who } => {
            let who = who.clone().unwrap_or(owner);
            let mut items = Vec::new();
            let mut key: Option<Vec<u8>> = None;
            loop {
                let page = PageRequest {
                    key: key.clone().unwrap_or_default(),
                    limit: 100,
                    ..Default::default()
                };
                let p = chain.deployments(&who, *state, Some(page)).await?;
                items.extend(p.items);
                match p.next_key {
                    Some(k) if items.len() < 10_000 => key = Some(k),
                    _ => break,
                }
            }
            let v = Value::Array(items.iter().map(deployment_json).collect());
            let mut table = format!("{:<12} {:<8} {:<7} FUNDS\n", "DSEQ", "STATE", "GROUPS");
            for d in &items {
                let j = deployment_json(d);
                let funds = d
                    .escrow_account
                    .state
                    .funds
                    .iter()
                    .map(|b| format!("{}{}", legacy_dec::to_decimal(&b.amount), b.denom))
                    .collect::<Vec<_>>()
                    .join(",");
                table.push_str(&format!(
                    "{:<12} {:<8} {:<7} {}\n",
                    d.deployment.id.dseq,
                    j["state"].as_str().unwrap_or(""),
                    d.groups.len(),
                    funds
                ));
            }
            emit(io, args, &v, &table)
        }
        AkashCommand::Bids { dseq, state } => {
            let p = chain
                .bids(
                    mv1beta5::BidFilters {
                        owner: owner.clone(),
                        dseq: *dseq,
                        state: state_filter(state),
                        ..Default::default()
                    },
                    None,
                )
                .await?;
            let v = Value::Array(
                p.items
                    .iter()
                    .map(|b| {
                        json!({
                            "id": b.bid.id.to_string(),
                            "bseq": b.bid.id.bseq,
                            "provider": b.bid.id.provider,
                            "state": b.bid.state().as_str_name(),
                            "price": {"denom": b.bid.price.denom, "amount": legacy_dec::to_decimal(&b.bid.price.amount)},
                        })
                    })
                    .collect(),
            );
            let mut table = format!(
                "{:<8} {:<46} {:<6} {:<8} PRICE/BLOCK\n",
                "G/O", "PROVIDER", "BSEQ", "STATE"
            );
            for (b, j) in p.items.iter().zip(v.as_array().into_iter().flatten()) {
                table.push_str(&format!(
                    "{:<8} {:<46} {:<6} {:<8} {}{}\n",
                    format!("{}/{}", b.bid.id.gseq, b.bid.id.oseq),
                    b.bid.id.provider,
                    b.bid.id.bseq,
                    j["state"].as_str().unwrap_or(""),
                    legacy_dec::to_decimal(&b.bid.price.amount),
                    b.bid.price.denom
                ));
            }
            emit(io, args, &v, &table)
        }
        AkashCommand::Leases { state, dseq } => {
            let p = chain
                .leases(
                    mv1::LeaseFilters {
                        owner: owner.clone(),
                        dseq: dseq.unwrap_or(0),
                        state: state_filter(state),
                        ..Default::default()
                    },
                    None,
                )
                .await?;
            let v = Value::Array(
                p.items
                    .iter()
                    .map(|l| {
                        json!({
                            "id": l.lease.id.to_string(),
                            "bseq": l.lease.id.bseq,
                            "state": l.lease.state().as_str_name(),
                            "price": {"denom": l.lease.price.denom, "amount": legacy_dec::to_decimal(&l.lease.price.amount)},
                        })
                    })
                    .collect(),
            );
            let mut table = format!(
                "{:<12} {:<8} {:<46} {:<10} PRICE/BLOCK\n",
                "DSEQ", "G/O", "PROVIDER", "STATE"
            );
            for (l, j) in p.items.iter().zip(v.as_array().into_iter().flatten()) {
                table.push_str(&format!(
                    "{:<12} {:<8} {:<46} {:<10} {}{}\n",
                    l.lease.id.dseq,
                    format!("{}/{}", l.lease.id.gseq, l.lease.id.oseq),
                    l.lease.id.provider,
                    j["state"].as_str().unwrap_or(""),
                    legacy_dec::to_decimal(&l.lease.price.amount),
                    l.lease.price.denom
                ));
            }
            emit(io, args, &v, &table)
        }
        AkashCommand::Close { dseq } => {
            write(args, io, &chain, msgs::close_deployment(&owner, *dseq)).await
        }
        AkashCommand::Deposit { dseq, amount } => {
            let amount = parse_amount(amount)?;
            let id = DeploymentID::new(&owner, *dseq);
            write(args, io, &chain, msgs::deposit(&owner, &id, amount)).await
        }
        AkashCommand::Cert(CertCommand::Publish {
            cert_dir,
            passphrase_env,
        }) => {
            let store = ClientCertStore {
                dir: cert_dir.clone(),
            };
            if args.dry_run {
                let cert = generate_client_cert(&owner)?;
                let msg = msgs::create_certificate(&owner, cert.cert_pem, cert.pubkey_pem);
                return write(args, io, &chain, msg).await;
            }
            let pass = zeroize::Zeroizing::new(
                std::env::var(passphrase_env)
                    .ok()
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| {
                        anyhow::anyhow!("environment variable {passphrase_env} is not set (the passphrase that encrypts the certificate's key)")
                    })?,
            );
            let cert = store.ensure_published(&chain, pass.as_bytes()).await?;
            let v = json!({"owner": owner, "serial": cert.serial, "file": store.path(&owner).display().to_string()});
            let table = format!(
                "client certificate {} of {} is on chain; kept in {}\n",
                cert.serial,
                owner,
                store.path(&owner).display()
            );
            emit(io, args, &v, &table)
        }
        AkashCommand::Keyring(KeyringCommand::Create { out }) => keyring_create(args, out, io),
    }
}

fn keyring_create(args: &AkashArgs, out: &std::path::Path, io: &mut Io<'_>) -> anyhow::Result<()> {
    let phrase = match &args.mnemonic_file {
        Some(path) => zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {}", path.display(), e.kind()))?,
        ),
        None => zeroize::Zeroizing::new(
            std::env::var(&args.mnemonic_env)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    anyhow::anyhow!("environment variable {} is not set", args.mnemonic_env)
                })?,
        ),
    };
    let pass = zeroize::Zeroizing::new(
        std::env::var(&args.keyring_passphrase_env)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "environment variable {} is not set (the keyring's passphrase)",
                    args.keyring_passphrase_env
                )
            })?,
    );
    crate::akash::client::wallet::write_keyring(
        out,
        &phrase,
        pass.as_bytes(),
        crate::akash::client::wallet::DEFAULT_LOG_N,
    )?;
    let address = WalletSource::Keyring {
        path: out.to_path_buf(),
        passphrase_env: args.keyring_passphrase_env.clone(),
    }
    .load()?;
    let v = json!({"keyring": out.display().to_string(), "address": address.address()});
    let table = format!("keyring {} holds {}\n", out.display(), address.address());
    emit(io, args, &v, &table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(
            parse_amount("5000000uact").unwrap(),
            coin("uact", 5_000_000)
        );
        assert_eq!(parse_amount("7").unwrap(), coin("uact", 7));
        assert_eq!(parse_amount("10uakt").unwrap(), coin("uakt", 10));
        assert!(parse_amount("0uact").is_err());
        assert!(parse_amount("uact").is_err());
        assert!(parse_amount("5 u act").is_err());
    }
}
