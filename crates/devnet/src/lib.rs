//! The local Akash network behind `af-operator devnet`: the chain state machine ([`chain`]),
//! the running node with its CometBFT JSON-RPC ([`node`]), the control API ([`control`]), the
//! simulated providers ([`provider`]), and [`Devnet`], which assembles them in-process (the CLI,
//! the demo and the tests use it).
#![forbid(unsafe_code)]

pub mod chain;
pub mod control;
pub mod ipfs;
pub mod node;
pub mod provider;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use af_akash::keys::Wallet;
use chain::{Chain, Params};
use node::rpc::Stall;
use node::{Node, NodeConfig};

/// Default chain id.
pub const DEFAULT_CHAIN_ID: &str = "af-devnet-1";
/// What the test account holds at genesis, in each of uakt and uact.
pub const TEST_ACCOUNT_FUNDS: u128 = 1_000_000_000_000;

/// How to run a devnet.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Where the CometBFT RPC listens (`127.0.0.1:0` for an ephemeral port).
    pub rpc_listen: SocketAddr,
    /// Where the control API listens.
    pub control_listen: SocketAddr,
    /// Simulated providers.
    pub providers: usize,
    /// Block interval.
    pub block_time: Duration,
    /// Chain id.
    pub chain_id: String,
    /// Seed of every deterministic choice (the test account's mnemonic, providers).
    pub seed: u64,
    /// Extra genesis balances: address → coins.
    pub fund: Vec<(String, Vec<(String, u128)>)>,
    /// Persist state here and resume from it.
    pub state_dir: Option<PathBuf>,
    /// Minimum gas price in uakt.
    pub min_gas_price_uakt: f64,
    /// How long providers wait before bidding on an order.
    pub bid_delay: Duration,
    /// A lease without a manifest after this is closed by its provider (reason 10003).
    pub manifest_timeout: Duration,
    /// Auditor addresses recorded at genesis as having signed the audited providers'
    /// attributes (beside the devnet's own auditor).
    pub genesis_auditors: Vec<String>,
}

impl Default for DevnetConfig {
    fn default() -> DevnetConfig {
        DevnetConfig {
            rpc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            control_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            providers: 0,
            block_time: Duration::from_secs(1),
            chain_id: DEFAULT_CHAIN_ID.to_owned(),
            seed: 0,
            fund: Vec::new(),
            state_dir: None,
            min_gas_price_uakt: 0.0025,
            bid_delay: Duration::from_secs(1),
            manifest_timeout: Duration::from_secs(300),
            genesis_auditors: Vec::new(),
        }
    }
}

/// Parses `100uakt,5uact` into `(denom, amount)` pairs.
pub fn parse_coins(text: &str) -> anyhow::Result<Vec<(String, u128)>> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let digits = part.bytes().take_while(u8::is_ascii_digit).count();
        let (amount, denom) = part.split_at(digits);
        let denom = denom.trim();
        let valid_denom = denom.len() >= 3
            && denom.len() <= 128
            && denom.starts_with(|c: char| c.is_ascii_alphabetic())
            && denom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/:._-".contains(c));
        if amount.is_empty() || !valid_denom {
            anyhow::bail!("invalid coin {part:?}: expected AMOUNT DENOM, e.g. 1000000uakt");
        }
        let amount: u128 = amount
            .parse()
            .with_context(|| format!("invalid amount in {part:?}"))?;
        if amount == 0 {
            anyhow::bail!("invalid coin {part:?}: the amount must be positive");
        }
        out.push((denom.to_owned(), amount));
    }
    Ok(out)
}

/// Parses `ADDRESS=AMOUNT[,AMOUNT…]` (the CLI's `--fund`).
pub fn parse_fund(text: &str) -> anyhow::Result<(String, Vec<(String, u128)>)> {
    let (addr, coins) = text
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("expected ADDRESS=AMOUNT[,AMOUNT…], got {text:?}"))?;
    let addr = addr.trim();
    if af_akash::keys::address_bytes(addr).is_none() {
        anyhow::bail!("{addr:?} is not an akash1… address");
    }
    Ok((addr.to_owned(), parse_coins(coins)?))
}

/// The test account's mnemonic and wallet for `seed`.
pub fn test_account(seed: u64) -> (Wallet, Zeroizing<String>) {
    let mut h = Sha256::new();
    h.update(b"af-operator devnet test account");
    h.update(seed.to_le_bytes());
    Wallet::from_entropy(h.finalize().into())
}

/// A running devnet.
pub struct Devnet {
    node: Node,
    rpc_addr: SocketAddr,
    control_addr: SocketAddr,
    mnemonic: Zeroizing<String>,
    test_address: String,
    stall: Stall,
    providers: Option<provider::ProviderSet>,
    ipfs: ipfs::BlockStore,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("rpc", &self.rpc_addr)
            .field("control", &self.control_addr)
            .field("chain_id", &self.node.chain_id())
            .field("test_address", &self.test_address)
            .finish_non_exhaustive()
    }
}

// ---- Providers hook -------------------------------------------------------------------
// The simulated providers register on the genesis chain before `Node::start` and run against
// the node after it; their fault routes join the control API.

fn provider_config(cfg: &DevnetConfig) -> provider::ProviderSetConfig {
    provider::ProviderSetConfig {
        count: cfg.providers,
        seed: cfg.seed,
        bid_delay: cfg.bid_delay,
        manifest_timeout: cfg.manifest_timeout,
        genesis_auditors: cfg.genesis_auditors.clone(),
        ..provider::ProviderSetConfig::default()
    }
}

fn providers_genesis(
    cfg: &DevnetConfig,
    chain: &mut Chain,
) -> anyhow::Result<provider::ProviderGenesis> {
    provider::ProviderSet::genesis(&provider_config(cfg), chain)
}

/// Starts the providers.
async fn providers_start(
    g: provider::ProviderGenesis,
    node: Node,
) -> anyhow::Result<provider::ProviderSet> {
    provider::ProviderSet::start(g, node).await
}
// ---- end of the providers hook --------------------------------------------------------

impl Devnet {
    /// Starts a devnet on the current tokio runtime: genesis (the test account, `fund`
    /// entries), the node, the RPC and the control API. With `state_dir` holding a previous
    /// state, resumes it instead of a new genesis.
    pub async fn start(cfg: DevnetConfig) -> anyhow::Result<Devnet> {
        let rpc_listener = tokio::net::TcpListener::bind(cfg.rpc_listen)
            .await
            .with_context(|| format!("cannot listen on {} (RPC)", cfg.rpc_listen))?;
        let control_listener = tokio::net::TcpListener::bind(cfg.control_listen)
            .await
            .with_context(|| format!("cannot listen on {} (control)", cfg.control_listen))?;
        let rpc_addr = rpc_listener.local_addr()?;
        let control_addr = control_listener.local_addr()?;

        let (wallet, mnemonic) = test_account(cfg.seed);
        let mut genesis = Chain::new(Params::default());
        genesis.fund(
            wallet.address(),
            &[
                (chain::UAKT, TEST_ACCOUNT_FUNDS),
                (chain::UACT, TEST_ACCOUNT_FUNDS),
            ],
        );
        for (addr, coins) in &cfg.fund {
            let coins: Vec<(&str, u128)> = coins.iter().map(|(d, a)| (d.as_str(), *a)).collect();
            genesis.fund(addr, &coins);
        }
        let provider_genesis = providers_genesis(&cfg, &mut genesis)?;

        let genesis_time_unix = chrono::Utc::now().timestamp();
        let node_cfg = NodeConfig {
            chain_id: cfg.chain_id.clone(),
            block_time: cfg.block_time,
            min_gas_price_uakt: cfg.min_gas_price_uakt,
            genesis,
            genesis_time_unix,
        };
        let node = match &cfg.state_dir {
            Some(dir) => Node::start_persistent(node_cfg, dir)?,
            None => Node::start(node_cfg),
        };
        let ipfs = ipfs::BlockStore::default();
        let provider_genesis = provider_genesis.with_ipfs(ipfs.clone());
        let providers = match providers_start(provider_genesis, node.clone()).await {
            Ok(p) => p,
            Err(e) => {
                let _ = node.shutdown();
                return Err(e);
            }
        };

        let stall = Stall::default();
        let rpc_url = format!("http://{rpc_addr}");
        let rpc = node::rpc::router(node.clone(), stall.clone(), rpc_addr.to_string());
        let ipfs_router = ipfs::router(ipfs.clone());
        let extra = Some(
            match (cfg.providers > 0).then(|| providers.control_router()) {
                Some(p) => p.merge(ipfs_router),
                None => ipfs_router,
            },
        );
        let control = control::router(node.clone(), stall.clone(), rpc_url, extra);
        let tasks = vec![
            tokio::spawn(async move {
                if let Err(e) = axum::serve(rpc_listener, rpc).await {
                    tracing::warn!(error = %e, "devnet RPC server stopped");
                }
            }),
            tokio::spawn(async move {
                if let Err(e) = axum::serve(control_listener, control).await {
                    tracing::warn!(error = %e, "devnet control server stopped");
                }
            }),
        ];
        Ok(Devnet {
            node,
            rpc_addr,
            control_addr,
            mnemonic,
            test_address: wallet.address().to_owned(),
            stall,
            providers: Some(providers),
            ipfs,
            tasks,
        })
    }

    /// `http://127.0.0.1:PORT` of the CometBFT RPC.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// The devnet's IPFS block store; its trustless gateway is the control API's `/ipfs/…`.
    pub fn ipfs(&self) -> &ipfs::BlockStore {
        &self.ipfs
    }

    /// `http://127.0.0.1:PORT` of the control API.
    pub fn control_url(&self) -> String {
        format!("http://{}", self.control_addr)
    }

    /// The RPC's address.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// The control API's address.
    pub fn control_addr(&self) -> SocketAddr {
        self.control_addr
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        self.node.chain_id()
    }

    /// The funded test account's mnemonic (a devnet test key).
    pub fn mnemonic(&self) -> Zeroizing<String> {
        self.mnemonic.clone()
    }

    /// The funded test account's address.
    pub fn test_address(&self) -> &str {
        &self.test_address
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The RPC stall fault.
    pub fn stall(&self) -> &Stall {
        &self.stall
    }

    /// How many simulated providers run.
    pub fn providers(&self) -> usize {
        self.providers.as_ref().map_or(0, |p| p.providers().len())
    }

    /// The simulated providers (addresses, gateways, ingress map, faults).
    pub fn provider_set(&self) -> Option<&provider::ProviderSet> {
        self.providers.as_ref()
    }

    /// Stops the servers and block production and writes the state (with a state dir).
    pub fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.providers = None;
        self.stall.clear();
        self.node.shutdown()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if !self.tasks.is_empty() {
            if let Err(e) = self.stop() {
                tracing::warn!(error = %e, "devnet shutdown");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coins_and_fund_parse() {
        assert_eq!(
            parse_coins("100uakt, 5uact").unwrap(),
            vec![("uakt".to_owned(), 100), ("uact".to_owned(), 5)]
        );
        assert!(parse_coins("uakt").is_err());
        assert!(parse_coins("0uakt").is_err());
        assert!(parse_coins("10").is_err());
        assert!(parse_coins("10u").is_err());
        let (w, _) = test_account(1);
        let (a, c) = parse_fund(&format!("{}=7uakt", w.address())).unwrap();
        assert_eq!((a.as_str(), c), (w.address(), vec![("uakt".to_owned(), 7)]));
        assert!(parse_fund("nobody=7uakt").is_err());
        assert!(parse_fund("7uakt").is_err());
    }

    #[test]
    fn test_account_is_deterministic() {
        assert_eq!(test_account(5).0.address(), test_account(5).0.address());
        assert_ne!(test_account(5).0.address(), test_account(6).0.address());
    }
}
