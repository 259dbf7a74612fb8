//! [`ProviderGateway`]: the reconciler's view of every provider's gateway, in Akash's words,
//! and [`GatewayPool`], its implementation over [`GatewayClient`] with one client per provider
//! (its `host_uri` and certificate serials read from chain once, and again after a transport
//! failure, since a provider that restarts publishes a new URI and certificate).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::gateway::{GatewayAuth, GatewayClient, GatewayError, GatewayOptions, LeaseStatus};
use super::AkashChain;
use crate::akash::proto::market::v1::LeaseID;

/// The provider gateways, as the reconciler uses them.
#[async_trait]
pub trait ProviderGateway: Send + Sync {
    /// `PUT /deployment/{dseq}/manifest` at the lease's provider (404 retried for a bounded
    /// time, 422 a permanent refusal).
    async fn send_manifest(
        &self,
        lease: &LeaseID,
        manifest_json: &[u8],
    ) -> Result<(), GatewayError>;
    /// `GET /lease/{dseq}/{gseq}/{oseq}/status` at the lease's provider.
    async fn lease_status(&self, lease: &LeaseID) -> Result<LeaseStatus, GatewayError>;
}

/// One [`GatewayClient`] per provider, made on first use from the provider's on-chain record.
pub struct GatewayPool {
    chain: Arc<dyn AkashChain>,
    auth: GatewayAuth,
    opts: GatewayOptions,
    clients: Mutex<HashMap<String, Arc<GatewayClient>>>,
}

impl std::fmt::Debug for GatewayPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayPool")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl GatewayPool {
    /// A pool that authenticates as `auth` and reads providers from `chain`.
    pub fn new(chain: Arc<dyn AkashChain>, auth: GatewayAuth, opts: GatewayOptions) -> Self {
        GatewayPool {
            chain,
            auth,
            opts,
            clients: Mutex::new(HashMap::new()),
        }
    }

    async fn client(&self, provider: &str) -> Result<Arc<GatewayClient>, GatewayError> {
        if let Some(c) = self.clients.lock().await.get(provider) {
            return Ok(c.clone());
        }
        let client = Arc::new(
            GatewayClient::connect(
                self.chain.as_ref(),
                provider,
                self.auth.clone(),
                self.opts.clone(),
            )
            .await?,
        );
        self.clients
            .lock()
            .await
            .insert(provider.to_owned(), client.clone());
        Ok(client)
    }

    /// Forgets a provider's client after a transport failure, so the next call reads its
    /// `host_uri` and certificates from chain again.
    async fn forget_on_transport(&self, provider: &str, err: &GatewayError) {
        if matches!(err, GatewayError::Transport { .. }) {
            self.clients.lock().await.remove(provider);
        }
    }
}

#[async_trait]
impl ProviderGateway for GatewayPool {
    async fn send_manifest(
        &self,
        lease: &LeaseID,
        manifest_json: &[u8],
    ) -> Result<(), GatewayError> {
        let client = self.client(&lease.provider).await?;
        let result = client.send_manifest(lease.dseq, manifest_json).await;
        if let Err(e) = &result {
            self.forget_on_transport(&lease.provider, e).await;
        }
        result
    }

    async fn lease_status(&self, lease: &LeaseID) -> Result<LeaseStatus, GatewayError> {
        let client = self.client(&lease.provider).await?;
        let result = client
            .lease_status(lease.dseq, lease.gseq, lease.oseq)
            .await;
        if let Err(e) = &result {
            self.forget_on_transport(&lease.provider, e).await;
        }
        result
    }
}
