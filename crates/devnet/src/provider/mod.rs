//! Simulated Akash providers for the devnet.
//!
//! [`ProviderSet::genesis`] registers N providers on the genesis [`Chain`]: a funded account
//! per provider (deterministic from the seed), its provider record (host URI, attributes), an
//! auditor whose signed attributes cover some of them, and each provider's own certificate.
//! The gateway and ingress listeners are bound there (127.0.0.1, ephemeral ports) so the
//! host URIs are known before the node starts.
//!
//! [`ProviderSet::start`] then runs, per provider:
//! - a bid engine ([`bid`]): it watches the chain, bids with real `MsgCreateBid` txs on open
//!   orders it can serve, and closes leases that got no manifest in time (reason 10003);
//! - an HTTPS gateway ([`gateway`]) implementing the provider REST API with mTLS or JWT auth;
//! - an ingress listener ([`workload`]) routing by Host header to the services it "runs";
//!   services that declare `AF_RUNTIME_CONTRACT=v1` run the functions runtime ([`functions`]).
//!
//! Faults ([`ProviderFault`]) can be injected per provider and cleared.

mod bid;
mod functions;
mod gateway;
mod model;
mod pingap;
mod workload;

#[cfg(test)]
mod tests;

pub use model::{Capacity, PriceModel, Usage};

use crate::chain::{CertRec, Chain, ProviderRec, UACT, UAKT};
use af_akash::certs;
use af_akash::keys::Wallet;
use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use bid::TxSubmitError;
pub use functions::{FunctionFault, CONTRACT_ENV};

/// Configuration of the simulated providers.
#[derive(Clone, Debug)]
pub struct ProviderSetConfig {
    /// How many providers.
    pub count: usize,
    /// Seed for keys, attributes and prices.
    pub seed: u64,
    /// How long a provider waits after first seeing an order before bidding.
    pub bid_delay: Duration,
    /// A lease that gets no manifest within this is closed (reason 10003).
    pub manifest_timeout: Duration,
    /// How often the bid engine looks at the chain.
    pub poll_interval: Duration,
    /// uakt each provider account starts with.
    pub funds_uakt: u128,
    /// Further auditor addresses recorded at genesis as having signed `host`, `region` and
    /// `tier` of every provider, so specs that name mainnet's auditors in `signedBy` find
    /// bids on the devnet too.
    pub genesis_auditors: Vec<String>,
}

impl Default for ProviderSetConfig {
    fn default() -> Self {
        ProviderSetConfig {
            count: 3,
            seed: 1,
            bid_delay: Duration::from_millis(500),
            manifest_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_millis(50),
            funds_uakt: 1_000_000_000_000,
            genesis_auditors: Vec::new(),
        }
    }
}

/// What the chain side of a provider needs from the running node. [`crate::node::Node`]
/// implements it; tests may use anything that applies txs to a [`Chain`].
pub trait ChainAccess: Send + Sync + 'static {
    /// The chain id txs are signed for.
    fn chain_id(&self) -> String;
    /// Runs `f` on a consistent snapshot of the latest committed state.
    fn with_chain(&self, f: &mut dyn FnMut(&Chain));
    /// Latest committed height.
    fn height(&self) -> i64;
    /// `broadcast_tx_sync`: CheckTx and add to the mempool. `Err` carries (code, log).
    fn submit(&self, tx: Vec<u8>) -> std::result::Result<[u8; 32], (u32, String)>;
    /// Minimum gas price in uakt.
    fn min_gas_price_uakt(&self) -> f64;
}

/// Reads a value out of the chain through [`ChainAccess::with_chain`].
pub(crate) fn read<R>(access: &dyn ChainAccess, f: impl FnOnce(&Chain) -> R) -> R {
    let mut f = Some(f);
    let mut out = None;
    access.with_chain(&mut |c| {
        if let Some(f) = f.take() {
            out = Some(f(c));
        }
    });
    match out {
        Some(out) => out,
        // `with_chain` must call its closure; an implementation that did not is a bug.
        None => unreachable!("ChainAccess::with_chain did not run its closure"),
    }
}

/// A fault injected into one provider (JSON body of `POST /providers/{id}/faults`, tagged by
/// `fault`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProviderFault {
    /// Stop bidding on new orders.
    #[serde(alias = "stop-bidding", alias = "no-bids", alias = "no_bids")]
    StopBidding,
    /// Bid at a different price: `multiplier` × the price model, or an absolute `amount`
    /// (alias `price`) per block in the order's denomination. Above the order's maximum the
    /// provider does not bid (as a real provider).
    #[serde(alias = "bid-price")]
    BidPrice {
        #[serde(default)]
        multiplier: Option<f64>,
        #[serde(default, alias = "price")]
        amount: Option<f64>,
    },
    /// Refuse every manifest with 422.
    #[serde(alias = "reject-manifests")]
    RejectManifests,
    /// Close the provider's active lease(s) of `dseq` (optionally one group/order) with
    /// `reason` (a `LeaseClosedReason` number, default 10000 `unstable`), by `MsgCloseBid`.
    /// One-shot.
    #[serde(alias = "close-lease")]
    CloseLease {
        dseq: u64,
        #[serde(default)]
        gseq: Option<u32>,
        #[serde(default)]
        oseq: Option<u32>,
        #[serde(default = "default_close_reason")]
        reason: i32,
    },
    /// The gateway and ingress stop listening (connection refused) until cleared.
    Down,
    /// Every gateway and ingress answer is delayed by `delay_ms` (or `seconds`).
    Slow {
        #[serde(default, alias = "ms")]
        delay_ms: Option<u64>,
        #[serde(default)]
        seconds: Option<f64>,
    },
    /// Services answer 500: all of the provider's, those of `dseq`, or one `service`.
    Unhealthy {
        #[serde(default)]
        dseq: Option<u64>,
        #[serde(default)]
        service: Option<String>,
    },
    /// Undo [`ProviderFault::Unhealthy`] for the same selection (or all).
    #[serde(alias = "recover")]
    Healthy {
        #[serde(default)]
        dseq: Option<u64>,
        #[serde(default)]
        service: Option<String>,
    },
    /// Clear every fault.
    Clear,
}

fn default_close_reason() -> i32 {
    10000 // lease_closed_unstable
}

/// Current persistent faults of a provider.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Faults {
    pub stop_bidding: bool,
    pub bid_multiplier: Option<f64>,
    pub bid_amount: Option<f64>,
    pub reject_manifests: bool,
    pub down: bool,
    pub slow_ms: u64,
    /// `(dseq, service)` selections that are unhealthy; `None` = any.
    pub unhealthy: Vec<(Option<u64>, Option<String>)>,
}

impl Faults {
    fn is_unhealthy(&self, dseq: u64, service: &str) -> bool {
        self.unhealthy
            .iter()
            .any(|(d, s)| d.is_none_or(|d| d == dseq) && s.as_deref().is_none_or(|s| s == service))
    }
}

/// Public facts about a provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProviderInfo {
    /// `provider-N`.
    pub name: String,
    /// Account address.
    pub address: String,
    /// Gateway URI (on chain).
    pub host_uri: String,
    /// Gateway socket.
    pub gateway: SocketAddr,
    /// Ingress listener.
    pub ingress: SocketAddr,
    /// On-chain attributes.
    pub attributes: Vec<(String, String)>,
    /// Attributes signed by the devnet auditor (empty when not audited).
    pub audited: Vec<(String, String)>,
    /// Serial of its certificate on chain.
    pub cert_serial: String,
}

/// One provider as made at genesis (listeners bound, not serving yet).
pub struct ProviderSeed {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) wallet: Wallet,
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) audited: Vec<(String, String)>,
    pub(crate) capacity: Capacity,
    pub(crate) prices: PriceModel,
    pub(crate) ip_pool: Vec<Ipv4Addr>,
    pub(crate) cert: certs::GeneratedCert,
    pub(crate) gateway: std::net::TcpListener,
    pub(crate) ingress: std::net::TcpListener,
}

/// The result of [`ProviderSet::genesis`]: what [`ProviderSet::start`] needs.
pub struct ProviderGenesis {
    pub(crate) config: ProviderSetConfig,
    pub(crate) providers: Vec<ProviderSeed>,
    /// The auditor's address.
    pub auditor: String,
    /// The devnet's IPFS, where functions runtimes fetch bundles when their env names no
    /// `AF_IPFS_GATEWAY`.
    pub(crate) ipfs: Option<crate::ipfs::BlockStore>,
}

impl ProviderGenesis {
    /// Gives the providers' functions runtimes the devnet's block store.
    pub fn with_ipfs(mut self, store: crate::ipfs::BlockStore) -> ProviderGenesis {
        self.ipfs = Some(store);
        self
    }

    /// Addresses and URIs of the providers made.
    pub fn infos(&self) -> Vec<ProviderInfo> {
        self.providers
            .iter()
            .map(|p| ProviderInfo {
                name: p.name.clone(),
                address: p.wallet.address().to_string(),
                host_uri: host_uri(&p.gateway),
                gateway: p
                    .gateway
                    .local_addr()
                    .unwrap_or(SocketAddr::from(([0; 4], 0))),
                ingress: p
                    .ingress
                    .local_addr()
                    .unwrap_or(SocketAddr::from(([0; 4], 0))),
                attributes: p.attributes.clone(),
                audited: p.audited.clone(),
                cert_serial: p.cert.serial.clone(),
            })
            .collect()
    }
}

fn host_uri(l: &std::net::TcpListener) -> String {
    match l.local_addr() {
        Ok(a) => format!("https://{a}"),
        Err(_) => String::new(),
    }
}

/// 32 bytes derived from the seed and a label.
pub(crate) fn derive(seed: u64, label: &str, index: usize) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"af-devnet/");
    h.update(seed.to_be_bytes());
    h.update(label.as_bytes());
    h.update((index as u64).to_be_bytes());
    h.finalize().into()
}

const REGIONS: &[&str] = &["us-west", "eu-central", "ap-south", "us-east", "eu-west"];

/// The devnet auditor's wallet for `seed`.
pub fn auditor_wallet(seed: u64) -> Wallet {
    Wallet::from_entropy(derive(seed, "auditor", 0)).0
}

/// The wallet of provider `index` for `seed`.
pub fn provider_wallet(seed: u64, index: usize) -> Wallet {
    Wallet::from_entropy(derive(seed, "provider", index)).0
}

/// The running providers.
#[derive(Clone)]
pub struct ProviderSet {
    inner: Arc<SetInner>,
}

pub(crate) struct SetInner {
    pub(crate) providers: Vec<Arc<prov::Provider>>,
    pub(crate) access: Arc<dyn ChainAccess>,
    pub(crate) functions: Arc<functions::Shared>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for SetInner {
    fn drop(&mut self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        // Gateways, ingresses and forwarded ports stop with the set.
        for p in &self.providers {
            gateway::stop_listening(p);
            p.state().workloads.clear();
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) mod prov {
    //! One provider's shared state.
    use super::*;
    use af_akash::sdl::Manifest;
    use std::collections::{HashMap, HashSet};
    use std::time::Instant;

    /// `(owner, dseq, gseq, oseq)`.
    pub type OrderKey = crate::chain::OrderKey;
    /// `(owner, dseq, gseq, oseq, provider, bseq)`.
    pub type BidKey = crate::chain::BidKey;

    pub struct Provider {
        pub index: usize,
        pub seed: u64,
        pub name: String,
        pub wallet: Wallet,
        pub address: String,
        pub host_uri: String,
        pub gateway_addr: SocketAddr,
        pub ingress_addr: SocketAddr,
        pub attributes: Vec<(String, String)>,
        pub audited: Vec<(String, String)>,
        pub capacity: Capacity,
        pub prices: PriceModel,
        pub ip_pool: Vec<Ipv4Addr>,
        pub cert_serial: String,
        pub tls: Arc<rustls::ServerConfig>,
        pub bid_delay: Duration,
        pub manifest_timeout: Duration,
        pub poll_interval: Duration,
        pub state: Mutex<State>,
        /// Serialises tx signing so sequences stay in order.
        pub tx_lock: Mutex<Option<u64>>,
        /// Accept loops (gateway, ingress) while up.
        pub listeners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
        /// What the functions runtimes of every provider share (IPFS, version faults).
        pub functions: Arc<super::functions::Shared>,
    }

    #[derive(Default)]
    pub struct State {
        pub faults: Faults,
        /// Orders seen open and matching, with when first seen.
        pub seen_orders: HashMap<OrderKey, Instant>,
        /// Orders bid on (or given up on).
        pub decided: HashSet<OrderKey>,
        /// Capacity reserved per order bid on.
        pub reserved: HashMap<OrderKey, Usage>,
        /// When bids not yet seen on chain were sent.
        pub reserved_at: HashMap<OrderKey, Instant>,
        /// Active leases, with when first seen and whether a manifest arrived.
        pub leases: HashMap<BidKey, LeaseTrack>,
        /// Leases a close was sent for.
        pub closing: HashSet<BidKey>,
        /// Accepted manifests per (owner, dseq).
        pub manifests: HashMap<(String, u64), Manifest>,
        /// Running workloads per lease.
        pub workloads: HashMap<BidKey, super::workload::LeaseWorkload>,
        /// Leased IPs in use: ip → lease.
        pub ips_in_use: HashMap<Ipv4Addr, BidKey>,
        /// Orders bid on (count, for `/status`).
        pub bids_sent: u64,
    }

    pub struct LeaseTrack {
        pub seen: Instant,
        pub manifest: bool,
    }

    impl Provider {
        pub fn info(&self) -> ProviderInfo {
            ProviderInfo {
                name: self.name.clone(),
                address: self.address.clone(),
                host_uri: self.host_uri.clone(),
                gateway: self.gateway_addr,
                ingress: self.ingress_addr,
                attributes: self.attributes.clone(),
                audited: self.audited.clone(),
                cert_serial: self.cert_serial.clone(),
            }
        }

        pub fn state(&self) -> MutexGuard<'_, State> {
            lock(&self.state)
        }
    }
}

impl ProviderSet {
    /// Registers `cfg.count` providers on the genesis chain and binds their listeners.
    pub fn genesis(cfg: &ProviderSetConfig, chain: &mut Chain) -> Result<ProviderGenesis> {
        let auditor = auditor_wallet(cfg.seed);
        chain.fund(auditor.address(), &[(UAKT, 10_000_000_000)]);
        let mut providers = Vec::with_capacity(cfg.count);
        for i in 0..cfg.count {
            let wallet = provider_wallet(cfg.seed, i);
            let address = wallet.address().to_string();
            let name = format!("provider-{}", i + 1);
            let mut rng = model::Rng::new(derive(cfg.seed, "provider-model", i));
            let region = REGIONS[i % REGIONS.len()];
            let tier = if i % 2 == 0 { "premium" } else { "community" };
            let gpu = i % 3 == 2;
            let mut attributes = vec![
                ("host".to_string(), "akash".to_string()),
                ("region".to_string(), region.to_string()),
                ("tier".to_string(), tier.to_string()),
                ("organization".to_string(), "af-devnet".to_string()),
                (
                    "capabilities/storage/1/class".to_string(),
                    "beta2".to_string(),
                ),
                (
                    "capabilities/storage/1/persistent".to_string(),
                    "true".to_string(),
                ),
                (
                    "capabilities/storage/2/class".to_string(),
                    "ram".to_string(),
                ),
                (
                    "capabilities/storage/3/class".to_string(),
                    "beta3".to_string(),
                ),
                (
                    "capabilities/storage/3/persistent".to_string(),
                    "true".to_string(),
                ),
                ("capabilities/cpu/arch".to_string(), "x86_64".to_string()),
            ];
            if gpu {
                attributes.push((
                    "capabilities/gpu/vendor/nvidia/model/a100".to_string(),
                    "true".to_string(),
                ));
            }
            attributes.sort();
            let gateway = std::net::TcpListener::bind("127.0.0.1:0")?;
            let ingress = std::net::TcpListener::bind("127.0.0.1:0")?;
            gateway.set_nonblocking(true)?;
            ingress.set_nonblocking(true)?;
            let uri = host_uri(&gateway);
            chain.fund(&address, &[(UAKT, cfg.funds_uakt), (UACT, cfg.funds_uakt)]);
            chain.providers.insert(
                address.clone(),
                ProviderRec {
                    host_uri: uri,
                    attributes: attributes.clone(),
                    email: format!("{name}@devnet.invalid"),
                    website: format!("https://{name}.devnet"),
                },
            );
            // The auditor signs region and tier of every other provider.
            let audited = if i % 2 == 0 {
                let a: Vec<(String, String)> = attributes
                    .iter()
                    .filter(|(k, _)| k == "region" || k == "tier" || k == "host")
                    .cloned()
                    .collect();
                chain
                    .audits
                    .insert((address.clone(), auditor.address().to_string()), a.clone());
                a
            } else {
                Vec::new()
            };
            // Auditors named in the configuration signed `host`, `region` and `tier` of every
            // provider at genesis (as mainnet's auditors have signed mainnet's providers).
            let signed: Vec<(String, String)> = attributes
                .iter()
                .filter(|(k, _)| k == "region" || k == "tier" || k == "host")
                .cloned()
                .collect();
            for extra in &cfg.genesis_auditors {
                chain
                    .audits
                    .insert((address.clone(), extra.clone()), signed.clone());
            }
            let cert = certs::generate(
                &address,
                &[
                    "localhost".to_string(),
                    "127.0.0.1".to_string(),
                    format!("{name}.devnet"),
                ],
            )?;
            chain.certificates.insert(
                (address.clone(), cert.serial.clone()),
                CertRec {
                    state: af_akash::proto::cert::v1::CertificateState::Valid as i32,
                    cert: cert.cert_pem.clone(),
                    pubkey: cert.pubkey_pem.clone(),
                },
            );
            let capacity = Capacity::for_provider(&mut rng, gpu);
            let prices = PriceModel::for_provider(&mut rng);
            let ip_pool = (1..=capacity.ips as u8)
                .map(|n| Ipv4Addr::new(198, 51, 100 + (i % 100) as u8, n))
                .collect();
            providers.push(ProviderSeed {
                index: i,
                name,
                wallet,
                attributes,
                audited,
                capacity,
                prices,
                ip_pool,
                cert,
                gateway,
                ingress,
            });
        }
        Ok(ProviderGenesis {
            config: cfg.clone(),
            providers,
            auditor: auditor.address().to_string(),
            ipfs: None,
        })
    }

    /// Starts the providers against a running node.
    pub async fn start<A: ChainAccess>(genesis: ProviderGenesis, node: A) -> Result<ProviderSet> {
        let access: Arc<dyn ChainAccess> = Arc::new(node);
        let cfg = genesis.config.clone();
        let mut providers = Vec::new();
        let mut listeners = Vec::new();
        let mut certs_pem = Vec::new();
        let shared = Arc::new(functions::Shared::new(genesis.ipfs.clone()));
        for seed in genesis.providers {
            let tls = gateway::tls_config(&seed.cert)?;
            let gateway_addr = seed.gateway.local_addr()?;
            let ingress_addr = seed.ingress.local_addr()?;
            let p = Arc::new(prov::Provider {
                index: seed.index,
                seed: cfg.seed,
                name: seed.name,
                address: seed.wallet.address().to_string(),
                wallet: seed.wallet,
                host_uri: format!("https://{gateway_addr}"),
                gateway_addr,
                ingress_addr,
                attributes: seed.attributes,
                audited: seed.audited,
                capacity: seed.capacity,
                prices: seed.prices,
                ip_pool: seed.ip_pool,
                cert_serial: seed.cert.serial.clone(),
                tls: Arc::new(tls),
                bid_delay: cfg.bid_delay,
                manifest_timeout: cfg.manifest_timeout,
                poll_interval: cfg.poll_interval,
                state: Mutex::new(Default::default()),
                tx_lock: Mutex::new(None),
                listeners: Mutex::new(Vec::new()),
                functions: shared.clone(),
            });
            certs_pem.push((seed.cert.cert_pem.clone(), seed.cert.pubkey_pem.clone()));
            listeners.push((
                p.clone(),
                tokio::net::TcpListener::from_std(seed.gateway)?,
                tokio::net::TcpListener::from_std(seed.ingress)?,
            ));
            providers.push(p);
        }
        // A chain resumed from a state dir knows the providers from an earlier run: publish
        // this run's gateway URI and certificate.
        for (p, (cert, pubkey)) in providers.iter().zip(certs_pem) {
            let access = access.clone();
            let p = p.clone();
            tokio::task::spawn_blocking(move || reconcile_registration(&*access, &p, cert, pubkey))
                .await??;
        }
        let inner = Arc::new(SetInner {
            providers,
            access,
            functions: shared,
            tasks: Mutex::new(Vec::new()),
        });
        // A Pingap stand-in resolves its upstreams' hostnames as the devnet's DNS would.
        let weak = Arc::downgrade(&inner);
        inner.functions.set_resolver(Box::new(move |host: &str| {
            let inner = weak.upgrade()?;
            let host = host.trim_end_matches('.');
            inner.providers.iter().find_map(|p| {
                let st = p.state();
                st.workloads
                    .values()
                    .flat_map(|w| w.services.iter())
                    .any(|s| s.uris.iter().any(|u| u.eq_ignore_ascii_case(host)))
                    .then_some(p.ingress_addr)
            })
        }));
        for (p, g, i) in listeners {
            gateway::serve(&inner, &p, g, i);
        }
        let mut tasks = Vec::new();
        for p in &inner.providers {
            tasks.push(bid::spawn_engine(Arc::downgrade(&inner), p.clone()));
        }
        lock(&inner.tasks).extend(tasks);
        Ok(ProviderSet { inner })
    }

    /// Public facts about every provider.
    pub fn providers(&self) -> Vec<ProviderInfo> {
        self.inner.providers.iter().map(|p| p.info()).collect()
    }

    /// Every ingress hostname the providers serve, with the listener to connect to.
    pub fn ingress_hosts(&self) -> Vec<(String, SocketAddr)> {
        let mut out = Vec::new();
        for p in &self.inner.providers {
            let st = p.state();
            for w in st.workloads.values() {
                for s in &w.services {
                    for h in &s.uris {
                        out.push((h.clone(), p.ingress_addr));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Every leased-IP endpoint the providers serve (`ip:port`, TCP), with the local listener
    /// standing in for it.
    pub fn leased_ips(&self) -> Vec<(String, SocketAddr)> {
        let mut out = Vec::new();
        for p in &self.inner.providers {
            let st = p.state();
            for w in st.workloads.values() {
                for s in &w.services {
                    for ip in &s.ips {
                        if let Some(l) = ip.listen {
                            out.push((format!("{}:{}", ip.ip, ip.external_port), l));
                        }
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The provider named `id` (`provider-N`, its address, or its index from 1).
    fn find(&self, id: &str) -> Result<Arc<prov::Provider>> {
        self.inner
            .providers
            .iter()
            .find(|p| p.name == id || p.address == id || (p.index + 1).to_string() == id)
            .cloned()
            .ok_or_else(|| anyhow!("no provider {id:?}"))
    }

    /// Injects (or, with [`ProviderFault::Clear`], clears) a fault.
    pub fn fault(&self, provider: &str, fault: ProviderFault) -> Result<()> {
        let p = self.find(provider)?;
        match fault {
            ProviderFault::StopBidding => p.state().faults.stop_bidding = true,
            ProviderFault::BidPrice { multiplier, amount } => {
                if multiplier.is_none() && amount.is_none() {
                    return Err(anyhow!("bid_price needs a multiplier or an amount"));
                }
                if multiplier.is_some_and(|m| !m.is_finite() || m <= 0.0)
                    || amount.is_some_and(|a| !a.is_finite() || a <= 0.0)
                {
                    return Err(anyhow!("bid_price values must be positive"));
                }
                let mut st = p.state();
                st.faults.bid_multiplier = multiplier;
                st.faults.bid_amount = amount;
            }
            ProviderFault::RejectManifests => p.state().faults.reject_manifests = true,
            ProviderFault::CloseLease {
                dseq,
                gseq,
                oseq,
                reason,
            } => {
                let n = bid::close_leases(&*self.inner.access, &p, dseq, gseq, oseq, reason)?;
                if n == 0 {
                    return Err(anyhow!("{} has no active lease for dseq {dseq}", p.name));
                }
            }
            ProviderFault::Down => {
                p.state().faults.down = true;
                gateway::stop_listening(&p);
            }
            ProviderFault::Slow { delay_ms, seconds } => {
                let ms = match (delay_ms, seconds) {
                    (Some(ms), None) => ms,
                    (None, Some(s)) if (0.0..86_400.0).contains(&s) => (s * 1000.0).round() as u64,
                    _ => return Err(anyhow!("slow needs delay_ms or seconds (0–86400)")),
                };
                p.state().faults.slow_ms = ms;
            }
            ProviderFault::Unhealthy { dseq, service } => {
                p.state().faults.unhealthy.push((dseq, service))
            }
            ProviderFault::Healthy { dseq, service } => {
                let mut st = p.state();
                if dseq.is_none() && service.is_none() {
                    st.faults.unhealthy.clear();
                } else {
                    st.faults
                        .unhealthy
                        .retain(|(d, s)| !(*d == dseq && *s == service));
                }
            }
            ProviderFault::Clear => {
                let was_down = {
                    let mut st = p.state();
                    let down = st.faults.down;
                    st.faults = Faults::default();
                    down
                };
                if was_down {
                    gateway::restart_listening(&self.inner, &p)?;
                }
            }
        }
        Ok(())
    }

    /// Marks `version` of function `slug` unhealthy on every runtime node of every provider
    /// (its health path answers 503, the admin API says `"healthy": false`), or, with
    /// `unhealthy` false, healthy again.
    pub fn function_fault(&self, slug: &str, version: &str, unhealthy: bool) {
        self.function_fault_on(slug, version, None, unhealthy)
    }

    /// As [`ProviderSet::function_fault`], on one node (`AF_NODE`) only when `node` is given.
    pub fn function_fault_on(
        &self,
        slug: &str,
        version: &str,
        node: Option<&str>,
        unhealthy: bool,
    ) {
        self.inner.functions.set_fault(
            FunctionFault {
                slug: slug.to_string(),
                version: version.to_string(),
                node: node.map(str::to_string),
            },
            unhealthy,
        );
    }

    /// Clears every function version fault.
    pub fn clear_function_faults(&self) {
        self.inner.functions.clear_faults();
    }

    /// The function versions marked unhealthy.
    pub fn function_faults(&self) -> Vec<FunctionFault> {
        self.inner.functions.faults()
    }

    /// The faults currently set on a provider.
    pub fn faults(&self, provider: &str) -> Result<Faults> {
        Ok(self.find(provider)?.state().faults.clone())
    }

    /// `POST /providers/{id}/faults` (body: a [`ProviderFault`]), `DELETE /providers/{id}/faults`,
    /// `GET /providers/{id}/faults`, `GET /providers`, `GET /ingress`.
    pub fn control_router(&self) -> axum::Router {
        use axum::extract::{Path, State};
        use axum::http::StatusCode;
        use axum::routing::get;
        use axum::Json;
        type Reply = (StatusCode, Json<serde_json::Value>);
        fn err(code: StatusCode, e: impl std::fmt::Display) -> Reply {
            (code, Json(serde_json::json!({ "error": e.to_string() })))
        }
        async fn post_fault(
            State(set): State<ProviderSet>,
            Path(id): Path<String>,
            body: axum::body::Bytes,
        ) -> Reply {
            let fault: ProviderFault = match serde_json::from_slice(&body) {
                Ok(f) => f,
                Err(e) => return err(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
            };
            let set2 = set.clone();
            let id2 = id.clone();
            match tokio::task::spawn_blocking(move || set2.fault(&id2, fault)).await {
                Ok(Ok(())) => match set.faults(&id) {
                    Ok(f) => (StatusCode::OK, Json(serde_json::json!({ "faults": f }))),
                    Err(e) => err(StatusCode::NOT_FOUND, e),
                },
                Ok(Err(e)) if e.to_string().starts_with("no provider") => {
                    err(StatusCode::NOT_FOUND, e)
                }
                Ok(Err(e)) => err(StatusCode::UNPROCESSABLE_ENTITY, e),
                Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        async fn clear_faults(State(set): State<ProviderSet>, Path(id): Path<String>) -> Reply {
            let set2 = set.clone();
            match tokio::task::spawn_blocking(move || set2.fault(&id, ProviderFault::Clear)).await {
                Ok(Ok(())) => (StatusCode::OK, Json(serde_json::json!({ "cleared": true }))),
                Ok(Err(e)) => err(StatusCode::NOT_FOUND, e),
                Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        async fn get_faults(State(set): State<ProviderSet>, Path(id): Path<String>) -> Reply {
            match set.faults(&id) {
                Ok(f) => (StatusCode::OK, Json(serde_json::json!({ "faults": f }))),
                Err(e) => err(StatusCode::NOT_FOUND, e),
            }
        }
        async fn list(State(set): State<ProviderSet>) -> Json<serde_json::Value> {
            Json(serde_json::json!({ "providers": set.providers() }))
        }
        async fn ingress(State(set): State<ProviderSet>) -> Json<serde_json::Value> {
            let map: BTreeMap<String, String> = set
                .ingress_hosts()
                .into_iter()
                .map(|(h, a)| (h, a.to_string()))
                .collect();
            let ips: BTreeMap<String, String> = set
                .leased_ips()
                .into_iter()
                .map(|(h, a)| (h, a.to_string()))
                .collect();
            Json(serde_json::json!({ "hosts": map, "leasedIps": ips }))
        }
        async fn post_function_fault(
            State(set): State<ProviderSet>,
            body: axum::body::Bytes,
        ) -> Reply {
            match serde_json::from_slice::<FunctionFault>(&body) {
                Ok(f) => {
                    set.function_fault_on(&f.slug, &f.version, f.node.as_deref(), true);
                    function_faults(State(set)).await
                }
                Err(e) => err(
                    StatusCode::BAD_REQUEST,
                    format!("expected {{\"slug\": S, \"version\": V, \"node\"?: N}}: {e}"),
                ),
            }
        }
        async fn delete_function_fault(
            State(set): State<ProviderSet>,
            body: axum::body::Bytes,
        ) -> Reply {
            if body.iter().all(u8::is_ascii_whitespace) {
                set.clear_function_faults();
                return function_faults(State(set)).await;
            }
            match serde_json::from_slice::<FunctionFault>(&body) {
                Ok(f) => {
                    set.function_fault_on(&f.slug, &f.version, f.node.as_deref(), false);
                    function_faults(State(set)).await
                }
                Err(e) => err(
                    StatusCode::BAD_REQUEST,
                    format!("expected no body or {{\"slug\": S, \"version\": V}}: {e}"),
                ),
            }
        }
        async fn function_faults(State(set): State<ProviderSet>) -> Reply {
            (
                StatusCode::OK,
                Json(serde_json::json!({ "faults": set.function_faults() })),
            )
        }
        axum::Router::new()
            .route(
                "/functions/faults",
                get(function_faults)
                    .post(post_function_fault)
                    .delete(delete_function_fault),
            )
            .route("/providers", get(list))
            .route(
                "/providers/{id}/faults",
                get(get_faults).post(post_fault).delete(clear_faults),
            )
            .route("/ingress", get(ingress))
            .with_state(self.clone())
    }
}

/// Sends `MsgUpdateProvider` / `MsgCreateCertificate` when the chain's record of `p` (from a
/// resumed state) differs from this run's gateway URI or lacks its certificate.
fn reconcile_registration(
    access: &dyn ChainAccess,
    p: &prov::Provider,
    cert: Vec<u8>,
    pubkey: Vec<u8>,
) -> Result<()> {
    use af_akash::proto::cert::v1::MsgCreateCertificate;
    use af_akash::proto::provider::v1beta4::{Info, MsgUpdateProvider};
    use af_akash::sdl::Attribute;
    let (record, has_cert, funded) = read(access, |c| {
        (
            c.providers.get(&p.address).cloned(),
            c.certificates
                .contains_key(&(p.address.clone(), p.cert_serial.clone())),
            c.account(&p.address).is_some(),
        )
    });
    let mut msgs = Vec::new();
    match &record {
        Some(r) if r.host_uri == p.host_uri => {}
        Some(r) => msgs.push(af_akash::proto::to_any(&MsgUpdateProvider {
            owner: p.address.clone(),
            host_uri: p.host_uri.clone(),
            attributes: r
                .attributes
                .iter()
                .map(|(k, v)| Attribute::new(k.clone(), v.clone()))
                .collect(),
            info: Info {
                email: r.email.clone(),
                website: r.website.clone(),
            },
        })),
        None => {
            tracing::warn!(provider = %p.name, "provider not registered on the resumed chain");
            return Ok(());
        }
    }
    if !has_cert {
        msgs.push(af_akash::proto::to_any(&MsgCreateCertificate {
            owner: p.address.clone(),
            cert,
            pubkey,
        }));
    }
    if msgs.is_empty() || !funded {
        return Ok(());
    }
    bid::send_tx(access, p, msgs, "provider restart")
        .map(|_| ())
        .map_err(|e| anyhow!("{}: updating its registration: {e}", p.name))
}

impl ChainAccess for crate::node::Node {
    fn chain_id(&self) -> String {
        crate::node::Node::chain_id(self).to_string()
    }
    fn with_chain(&self, f: &mut dyn FnMut(&Chain)) {
        self.read(|c| f(c))
    }
    fn height(&self) -> i64 {
        crate::node::Node::height(self)
    }
    fn submit(&self, tx: Vec<u8>) -> std::result::Result<[u8; 32], (u32, String)> {
        let r = crate::node::Node::submit(self, tx);
        if r.code == 0 {
            Ok(r.hash)
        } else {
            Err((r.code, r.log))
        }
    }
    fn min_gas_price_uakt(&self) -> f64 {
        crate::node::Node::min_gas_price_uakt(self)
    }
}
