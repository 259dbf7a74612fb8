//! In-memory fakes for fast reconciler tests: [`FakeChain`] implements [`AkashChain`] over the
//! devnet's pure state machine ([`crate::devnet::chain::Chain`], mainnet's handler rules), and
//! [`FakeGateway`] implements [`ProviderGateway`].
//!
//! [`FakeChain`] has no blocks of its own timing: each write is delivered at once in a new
//! block (height + 1, then `end_block`), exactly as the devnet node delivers a tx's messages,
//! and reads go through the chain's gRPC query paths. Test controls make bids
//! ([`FakeChain::add_bid`]), close leases as a provider would
//! ([`FakeChain::close_lease_by_provider`]), inject failures ([`FakeChain::set_failing`]) and
//! hold writes as [`ClientError::Pending`] until released ([`FakeChain::set_pending`],
//! [`FakeChain::release_pending`], [`FakeChain::expire_pending`]), to test crash-safety.
//! No signatures, fees or gas: the chain's rules are the module handlers'.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::batch::{receipt_for, receipt_of_tx, TxResult};
use super::gateway::{GatewayError, LeaseStatus, ServiceStatus};
use super::reads::{self, QueryRaw};
use super::{
    msgs, AccountInfo, AkashChain, CertificateStateFilter, ClientError, DeploymentStateFilter,
    Page, ProviderGateway, Result, TxReceipt,
};
use crate::akash::keys::Wallet;
use crate::akash::proto::base::deposit::v1::Deposit;
use crate::akash::proto::cert::v1 as cert;
use crate::akash::proto::deployment::{v1 as dv1, v1beta4 as dv1beta4};
use crate::akash::proto::market::{v1 as mv1, v1beta5 as mv1beta5};
use crate::akash::proto::provider::v1beta4 as provider;
use crate::akash::proto::{base::coin, to_any, Any, Coin, PageRequest, TxMessage};
use crate::devnet::chain::{Chain, Params, ProviderRec, DEC_SCALE, UACT, UAKT};
use crate::sdl::{DecCoin, Manifest};

/// The chain id of every [`FakeChain`].
pub const FAKE_CHAIN_ID: &str = "af-fake-1";
/// What the owner and each provider hold at the start, in each of uakt and uact.
pub const FAKE_FUNDS: u128 = 1_000_000_000_000;
/// Blocks a held (pending) write stays includable, as [`super::RpcConfig`]'s default margin.
pub const FAKE_TIMEOUT_MARGIN: u64 = 100;
/// Seconds between the fake's blocks (the chain's time only matters to escrow and bme).
const BLOCK_SECONDS: i64 = 6;
const GENESIS_TIME: i64 = 1_700_000_000;
const REGIONS: &[&str] = &["us-west", "eu-central", "ap-south", "us-east", "eu-west"];

/// A write held by [`FakeChain::set_pending`].
struct Held {
    hash: String,
    signer: String,
    msg: TxMessage,
    timeout_height: u64,
}

struct State {
    chain: Chain,
    /// Delivered txs by hash: their result, or the chain's refusal.
    txs: HashMap<String, Result<TxResult>>,
    failing: u32,
    failure: Option<ClientError>,
    pending: bool,
    held: Vec<Held>,
    writes: u64,
    txs_by_type: BTreeMap<String, u64>,
    counter: u64,
}

/// [`AkashChain`] in memory, over the devnet's chain state machine. See the module docs.
pub struct FakeChain {
    owner: String,
    providers: Vec<String>,
    state: Mutex<State>,
}

impl std::fmt::Debug for FakeChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeChain")
            .field("owner", &self.owner)
            .field("height", &self.height())
            .finish_non_exhaustive()
    }
}

/// The deterministic wallet of fake provider `index` (from 0).
pub fn fake_provider_wallet(index: usize) -> Wallet {
    let mut entropy = [0u8; 32];
    entropy[..8].copy_from_slice(b"fakeprov");
    entropy[8..16].copy_from_slice(&(index as u64).to_be_bytes());
    Wallet::from_entropy(entropy).0
}

/// The fake tenant's wallet.
pub fn fake_owner_wallet() -> Wallet {
    Wallet::from_entropy(*b"fake-owner-wallet-entropy-000000").0
}

impl FakeChain {
    /// A chain at height 0 with the mainnet params, the owner ([`fake_owner_wallet`]) and
    /// `providers` providers (`provider-1`…, [`fake_provider_wallet`]) funded with
    /// [`FAKE_FUNDS`] of uakt and uact, each provider registered with a `host_uri` and the
    /// devnet's attributes (`host`, `region`, `tier`, `organization`).
    pub fn new(providers: usize) -> FakeChain {
        let mut chain = Chain::new(Params::default());
        let owner = fake_owner_wallet().address().to_string();
        chain.fund(&owner, &[(UAKT, FAKE_FUNDS), (UACT, FAKE_FUNDS)]);
        let mut addresses = Vec::with_capacity(providers);
        for i in 0..providers {
            let address = fake_provider_wallet(i).address().to_string();
            let name = format!("provider-{}", i + 1);
            chain.fund(&address, &[(UAKT, FAKE_FUNDS), (UACT, FAKE_FUNDS)]);
            let mut attributes = vec![
                ("host".to_string(), "akash".to_string()),
                ("region".to_string(), REGIONS[i % REGIONS.len()].to_string()),
                (
                    "tier".to_string(),
                    if i % 2 == 0 { "premium" } else { "community" }.to_string(),
                ),
                ("organization".to_string(), "af-fake".to_string()),
            ];
            attributes.sort();
            chain.providers.insert(
                address.clone(),
                ProviderRec {
                    host_uri: format!("https://{name}.fake:8443"),
                    attributes,
                    email: format!("{name}@fake.invalid"),
                    website: format!("https://{name}.fake"),
                },
            );
            addresses.push(address);
        }
        FakeChain {
            owner,
            providers: addresses,
            state: Mutex::new(State {
                chain,
                txs: HashMap::new(),
                failing: 0,
                failure: None,
                pending: false,
                held: Vec::new(),
                writes: 0,
                txs_by_type: BTreeMap::new(),
                counter: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The providers' addresses, in order.
    pub fn providers(&self) -> &[String] {
        &self.providers
    }

    /// The latest height.
    pub fn height(&self) -> i64 {
        self.lock().chain.height
    }

    /// A read of the chain state.
    pub fn with_chain<R>(&self, f: impl FnOnce(&Chain) -> R) -> R {
        f(&self.lock().chain)
    }

    /// Funds `address` outside any tx (a faucet).
    pub fn fund(&self, address: &str, coins: &[(&str, u128)]) {
        self.lock().chain.fund(address, coins);
    }

    /// Writes attempted through the trait (including failed and held ones).
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// Writes attempted per message type URL.
    pub fn txs_by_type(&self) -> BTreeMap<String, u64> {
        self.lock().txs_by_type.clone()
    }

    /// The next `n` writes fail with `error`, without reaching the chain.
    pub fn set_failing(&self, n: u32, error: ClientError) {
        let mut st = self.lock();
        st.failing = n;
        st.failure = Some(error);
    }

    /// While on, writes are held: each returns [`ClientError::Pending`] with its hash and
    /// lands only at [`FakeChain::release_pending`] (or never, at
    /// [`FakeChain::expire_pending`]). Turning it off releases nothing by itself.
    pub fn set_pending(&self, on: bool) {
        self.lock().pending = on;
    }

    /// Delivers every held write, in order, one block each; returns their hashes.
    pub fn release_pending(&self) -> Vec<String> {
        let mut st = self.lock();
        let held = std::mem::take(&mut st.held);
        let mut hashes = Vec::with_capacity(held.len());
        for h in held {
            let height = u64::try_from(st.chain.height + 1).unwrap_or(0);
            if height > h.timeout_height {
                continue;
            }
            // The outcome, refusal included, is what `tx(hash)` answers from now on.
            let _ = deliver_block(&mut st, &h.hash, &h.signer, vec![h.msg]);
            hashes.push(h.hash);
        }
        hashes
    }

    /// Drops every held write and produces empty blocks until the chain is past their
    /// timeout heights: they provably never land ([`AkashChain::tx`] stays `None`).
    pub fn expire_pending(&self) -> Vec<String> {
        let mut st = self.lock();
        let held = std::mem::take(&mut st.held);
        let last = held.iter().map(|h| h.timeout_height).max().unwrap_or(0);
        while u64::try_from(st.chain.height).unwrap_or(0) <= last {
            empty_block(&mut st.chain);
        }
        held.into_iter().map(|h| h.hash).collect()
    }

    /// Produces `n` empty blocks (escrow settles, bme epochs pass).
    pub fn advance_blocks(&self, n: u32) {
        let mut st = self.lock();
        for _ in 0..n {
            empty_block(&mut st.chain);
        }
    }

    /// Provider `provider` bids `price_uact` uact per block on the order `(dseq, gseq, oseq)`
    /// of the owner, offering the group's resources, with the minimum deposit (a
    /// `MsgCreateBid` delivered in a block, by the chain's rules). Returns the bid's id.
    pub fn add_bid(
        &self,
        dseq: u64,
        gseq: u32,
        oseq: u32,
        provider: &str,
        price_uact: u64,
    ) -> Result<mv1::BidID> {
        let order = dv1::DeploymentID::new(&self.owner, dseq)
            .group(gseq)
            .order(oseq);
        let bid = order.bid(provider, 0);
        let mut st = self.lock();
        let spec = st
            .chain
            .groups
            .get(&(self.owner.clone(), dseq, gseq))
            .map(|g| g.spec.clone())
            .ok_or_else(|| ClientError::NotFound(format!("group {}", order.group_id())))?;
        let deposit = st
            .chain
            .params
            .bid_min_deposits
            .first()
            .map(|(denom, amount)| coin(denom, *amount))
            .unwrap_or_else(|| coin(UAKT, 0));
        let msg = mv1beta5::MsgCreateBid {
            id: bid.clone(),
            price: DecCoin::from_scaled(UACT, u128::from(price_uact) * DEC_SCALE),
            deposit: Deposit::from_balance(deposit),
            resources_offer: spec
                .resources
                .iter()
                .map(|u| mv1beta5::ResourceOffer {
                    resources: u.resource.clone(),
                    count: u.count,
                    prices: None,
                })
                .collect(),
            reclamation_window: None,
        };
        let hash = next_hash(&mut st, &to_any(&msg));
        deliver_block(&mut st, &hash, provider, vec![TxMessage::CreateBid(msg)])?;
        Ok(bid)
    }

    /// The lease's provider closes it (`MsgCloseBid` with `reason`, as a provider does on a
    /// manifest timeout or when it stops serving).
    pub fn close_lease_by_provider(
        &self,
        lease: &mv1::LeaseID,
        reason: mv1::LeaseClosedReason,
    ) -> Result<TxReceipt> {
        let msg = mv1beta5::MsgCloseBid {
            id: lease.clone().into(),
            reason: reason as i32,
        };
        let mut st = self.lock();
        let hash = next_hash(&mut st, &to_any(&msg));
        let result = deliver_block(
            &mut st,
            &hash,
            &lease.provider,
            vec![TxMessage::CloseBid(msg)],
        )?;
        Ok(receipt_for(&result, 0))
    }

    /// One write through the trait: counted, maybe failed or held, else delivered.
    fn write(&self, any: Any) -> Result<TxReceipt> {
        let mut st = self.lock();
        st.writes += 1;
        *st.txs_by_type.entry(any.type_url.clone()).or_default() += 1;
        if st.failing > 0 {
            st.failing -= 1;
            if let Some(e) = st.failure.clone() {
                return Err(e);
            }
        }
        let msg = TxMessage::from_any(&any)
            .map_err(|e| ClientError::Invalid(e.to_string()))?
            .ok_or_else(|| ClientError::Invalid(format!("unknown message {}", any.type_url)))?;
        let hash = next_hash(&mut st, &any);
        if st.pending {
            let timeout_height = u64::try_from(st.chain.height).unwrap_or(0) + FAKE_TIMEOUT_MARGIN;
            st.held.push(Held {
                hash: hash.clone(),
                signer: self.owner.clone(),
                msg,
                timeout_height,
            });
            return Err(ClientError::Pending {
                hash,
                msg_index: 0,
                timeout_height,
                reason: "held by the fake chain".into(),
            });
        }
        let result = deliver_block(&mut st, &hash, &self.owner, vec![msg])?;
        Ok(receipt_for(&result, 0))
    }
}

/// A unique, hash-shaped id for a tx.
fn next_hash(st: &mut State, any: &Any) -> String {
    st.counter += 1;
    let mut h = Sha256::new();
    h.update(st.counter.to_be_bytes());
    h.update(any.type_url.as_bytes());
    h.update(&any.value);
    hex::encode_upper(h.finalize())
}

fn block_time(height: i64) -> i64 {
    GENESIS_TIME + height * BLOCK_SECONDS
}

fn empty_block(chain: &mut Chain) {
    let height = chain.height + 1;
    chain.end_block(height, block_time(height));
}

/// Delivers one tx of `msgs` from `signer` in a new block, as the devnet node does (sequence
/// bump, the messages atomically, then `end_block`), and records its outcome under `hash`.
fn deliver_block(
    st: &mut State,
    hash: &str,
    signer: &str,
    msgs: Vec<TxMessage>,
) -> Result<TxResult> {
    let height = st.chain.height + 1;
    let time = block_time(height);
    st.chain.increment_sequence(signer);
    let outcome = st
        .chain
        .deliver(height, time, signer, &msgs)
        .map(|events| TxResult {
            hash: hash.to_string(),
            height,
            gas_wanted: 0,
            gas_used: 0,
            events,
            msg_count: msgs.len(),
        })
        .map_err(|e| ClientError::chain(e.codespace, e.code, e.log));
    st.chain.end_block(height, time);
    st.txs.insert(hash.to_string(), outcome.clone());
    outcome
}

#[async_trait]
impl QueryRaw for FakeChain {
    async fn query_raw(&self, path: &str, data: Vec<u8>) -> Result<Vec<u8>> {
        self.lock()
            .chain
            .query(path, &data)
            .map_err(|e| reads::query_error(path, e.codespace, e.code, e.log))
    }
}

#[async_trait]
impl AkashChain for FakeChain {
    fn owner(&self) -> &str {
        &self.owner
    }

    fn chain_id(&self) -> &str {
        FAKE_CHAIN_ID
    }

    async fn create_deployment(
        &self,
        dseq: u64,
        groups: Vec<dv1beta4::GroupSpec>,
        hash: Vec<u8>,
        deposit: Coin,
    ) -> Result<TxReceipt> {
        self.write(msgs::create_deployment(
            &self.owner,
            dseq,
            groups,
            hash,
            deposit,
        ))
    }

    async fn update_deployment(&self, dseq: u64, hash: Vec<u8>) -> Result<TxReceipt> {
        self.write(msgs::update_deployment(&self.owner, dseq, hash))
    }

    async fn close_deployment(&self, dseq: u64) -> Result<TxReceipt> {
        self.write(msgs::close_deployment(&self.owner, dseq))
    }

    async fn close_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt> {
        self.write(msgs::close_group(&self.owner, dseq, gseq))
    }

    async fn pause_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt> {
        self.write(msgs::pause_group(&self.owner, dseq, gseq))
    }

    async fn start_group(&self, dseq: u64, gseq: u32) -> Result<TxReceipt> {
        self.write(msgs::start_group(&self.owner, dseq, gseq))
    }

    async fn create_lease(&self, bid: mv1::BidID) -> Result<TxReceipt> {
        self.write(msgs::create_lease(bid))
    }

    async fn close_lease(&self, lease: mv1::LeaseID) -> Result<TxReceipt> {
        self.write(msgs::close_lease(lease))
    }

    async fn deposit(&self, deployment: dv1::DeploymentID, amount: Coin) -> Result<TxReceipt> {
        self.write(msgs::deposit(&self.owner, &deployment, amount))
    }

    async fn mint_act(&self, coins_to_burn: Coin) -> Result<TxReceipt> {
        self.write(msgs::mint_act(&self.owner, coins_to_burn))
    }

    async fn publish_certificate(
        &self,
        cert_pem: Vec<u8>,
        pubkey_pem: Vec<u8>,
    ) -> Result<TxReceipt> {
        self.write(msgs::create_certificate(&self.owner, cert_pem, pubkey_pem))
    }

    async fn revoke_certificate(&self, serial: String) -> Result<TxReceipt> {
        self.write(msgs::revoke_certificate(&self.owner, serial))
    }

    async fn deployments(
        &self,
        owner: &str,
        state: DeploymentStateFilter,
        page: Option<PageRequest>,
    ) -> Result<Page<dv1beta4::QueryDeploymentResponse>> {
        reads::deployments(self, owner, state, page).await
    }

    async fn deployment(
        &self,
        id: &dv1::DeploymentID,
    ) -> Result<dv1beta4::QueryDeploymentResponse> {
        reads::deployment(self, id).await
    }

    async fn orders(
        &self,
        filters: mv1beta5::OrderFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::Order>> {
        reads::orders(self, filters, page).await
    }

    async fn bids(
        &self,
        filters: mv1beta5::BidFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::QueryBidResponse>> {
        reads::bids(self, filters, page).await
    }

    async fn leases(
        &self,
        filters: mv1::LeaseFilters,
        page: Option<PageRequest>,
    ) -> Result<Page<mv1beta5::QueryLeaseResponse>> {
        reads::leases(self, filters, page).await
    }

    async fn provider(&self, owner: &str) -> Result<provider::Provider> {
        reads::provider(self, owner).await
    }

    async fn providers(&self, page: Option<PageRequest>) -> Result<Page<provider::Provider>> {
        reads::providers(self, page).await
    }

    async fn act_mints(&self, source: Option<&str>, limit: u64) -> Result<Vec<super::ActMint>> {
        reads::act_mints(self, source, limit).await
    }

    async fn mint_epoch_blocks(&self) -> Result<i64> {
        reads::mint_epoch_blocks(self).await
    }

    async fn provider_audits(
        &self,
        owner: &str,
    ) -> Result<Vec<crate::akash::proto::audit::v1::AuditedProvider>> {
        reads::provider_audits(self, owner).await
    }

    async fn certificates(
        &self,
        owner: &str,
        serial: Option<&str>,
        state: CertificateStateFilter,
    ) -> Result<Vec<cert::CertificateResponse>> {
        reads::certificates(self, owner, serial, state).await
    }

    async fn balances(&self, address: &str) -> Result<Vec<Coin>> {
        reads::balances(self, address).await
    }

    async fn account(&self, address: &str) -> Result<AccountInfo> {
        reads::account_info(self, address).await
    }

    async fn latest_height(&self) -> Result<i64> {
        Ok(self.height())
    }

    async fn tx(&self, hash: &str) -> Result<Option<TxReceipt>> {
        let key = hex::encode_upper(super::parse_tx_hash(hash)?);
        match self.lock().txs.get(&key) {
            None => Ok(None),
            Some(Ok(result)) => Ok(Some(receipt_of_tx(result))),
            Some(Err(e)) => Err(e.clone()),
        }
    }
}

#[derive(Default)]
struct GatewayState {
    manifests: BTreeMap<mv1::LeaseID, Vec<u8>>,
    sends: u64,
    rejecting: Option<String>,
    unreachable: HashSet<String>,
    unavailable: HashSet<String>,
}

/// [`ProviderGateway`] in memory: it keeps the last manifest sent per lease and answers
/// `lease_status` with every service of that manifest available (`replicas` = its `count`) at
/// the URIs a provider's ingress would give it (an `….ingress.<provider>.fake` hostname and
/// the `accept` hosts of a global port-80 expose).
/// Controls refuse manifests (422), make a provider unreachable, or a service unavailable.
#[derive(Default)]
pub struct FakeGateway {
    state: Mutex<GatewayState>,
}

impl std::fmt::Debug for FakeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGateway").finish_non_exhaustive()
    }
}

impl FakeGateway {
    /// A gateway that accepts every manifest.
    pub fn new() -> FakeGateway {
        FakeGateway::default()
    }

    fn lock(&self) -> MutexGuard<'_, GatewayState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last manifest (JSON) accepted for `lease`.
    pub fn manifest(&self, lease: &mv1::LeaseID) -> Option<Vec<u8>> {
        self.lock().manifests.get(lease).cloned()
    }

    /// Manifest sends attempted (accepted or not).
    pub fn manifests_sent(&self) -> u64 {
        self.lock().sends
    }

    /// `Some(reason)`: every manifest is refused with 422 and that reason; `None`: accepted.
    pub fn set_rejecting(&self, reason: Option<&str>) {
        self.lock().rejecting = reason.map(str::to_owned);
    }

    /// Makes `provider`'s gateway unreachable (a transport error) or reachable again.
    pub fn set_unreachable(&self, provider: &str, unreachable: bool) {
        let mut st = self.lock();
        if unreachable {
            st.unreachable.insert(provider.to_owned());
        } else {
            st.unreachable.remove(provider);
        }
    }

    /// Makes the service named `service` report no available replica, or all again.
    pub fn set_service_available(&self, service: &str, available: bool) {
        let mut st = self.lock();
        if available {
            st.unavailable.remove(service);
        } else {
            st.unavailable.insert(service.to_owned());
        }
    }

    fn reachable(st: &GatewayState, lease: &mv1::LeaseID) -> Result<(), GatewayError> {
        if st.unreachable.contains(&lease.provider) {
            return Err(GatewayError::Transport {
                url: format!("https://{}.fake:8443", lease.provider),
                problem: "connection refused (fake)".into(),
            });
        }
        Ok(())
    }
}

/// The hostnames a provider's ingress serves a service at, as the devnet's provider names
/// them: one of its own for the first global HTTP expose (port 80), then the `accept` hosts.
fn ingress_uris(lease: &mv1::LeaseID, service: &crate::sdl::ManifestService) -> Vec<String> {
    let mut uris = Vec::new();
    for e in service.expose.iter().filter(|e| e.global) {
        if !e.proto.eq_ignore_ascii_case("TCP") || e.effective_external_port() != 80 {
            continue;
        }
        if uris.is_empty() {
            uris.push(format!(
                "{}-{}-{}-{}.ingress.{}.fake",
                lease.dseq, lease.gseq, lease.oseq, service.name, lease.provider
            ));
        }
        for h in e.hosts.iter().flatten() {
            if !uris.contains(h) {
                uris.push(h.clone());
            }
        }
    }
    uris
}

#[async_trait]
impl ProviderGateway for FakeGateway {
    async fn send_manifest(
        &self,
        lease: &mv1::LeaseID,
        manifest_json: &[u8],
    ) -> Result<(), GatewayError> {
        let mut st = self.lock();
        st.sends += 1;
        Self::reachable(&st, lease)?;
        if let Some(reason) = &st.rejecting {
            return Err(GatewayError::Rejected(reason.clone()));
        }
        serde_json::from_slice::<Manifest>(manifest_json)
            .map_err(|e| GatewayError::Rejected(format!("invalid manifest: {e}")))?;
        st.manifests.insert(lease.clone(), manifest_json.to_vec());
        Ok(())
    }

    async fn lease_status(&self, lease: &mv1::LeaseID) -> Result<LeaseStatus, GatewayError> {
        let st = self.lock();
        Self::reachable(&st, lease)?;
        let json = st.manifests.get(lease).ok_or_else(|| GatewayError::Http {
            status: 404,
            body: "lease not found".into(),
        })?;
        let manifest: Manifest =
            serde_json::from_slice(json).map_err(|e| GatewayError::Decode(e.to_string()))?;
        let mut status = LeaseStatus::default();
        for service in manifest.0.iter().flat_map(|g| &g.services) {
            let total = i64::from(service.count);
            let available = if st.unavailable.contains(&service.name) {
                0
            } else {
                total
            };
            status.services.insert(
                service.name.clone(),
                ServiceStatus {
                    name: service.name.clone(),
                    available,
                    total,
                    uris: ingress_uris(lease, service),
                    observed_generation: 1,
                    replicas: total,
                    updated_replicas: total,
                    ready_replicas: available,
                    available_replicas: available,
                },
            );
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests;
