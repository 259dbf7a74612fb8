//! HTTP health checks through a lease's URI.
//!
//! A URI is a hostname the provider's ingress routes by `Host` header. On mainnet it resolves
//! through DNS (port 80); on the devnet the hostnames do not resolve, so [`IngressMap`] reads
//! the devnet control API's `GET /ingress` (hostname → listener) and connects there with the
//! right `Host` header.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::RwLock;

/// Runs one HTTP GET of a health path.
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// `GET http://{host}{path}` within `timeout`: the status code, or why there is none.
    async fn get(&self, host: &str, path: &str, timeout: Duration) -> Result<u16, String>;
}

/// Where a hostname's ingress listens.
#[derive(Debug)]
pub enum Resolve {
    /// Through DNS, port 80.
    Dns,
    /// Through the devnet's ingress map at this control URL.
    Devnet(String),
}

/// The HTTP probe.
#[derive(Debug)]
pub struct IngressMap {
    http: reqwest::Client,
    resolve: Resolve,
    hosts: RwLock<HashMap<String, SocketAddr>>,
}

impl IngressMap {
    /// A probe resolving hostnames as `resolve` says.
    pub fn new(resolve: Resolve) -> Self {
        IngressMap {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(crate::akash::client::memo())
                .build()
                .unwrap_or_default(),
            resolve,
            hosts: RwLock::new(HashMap::new()),
        }
    }

    async fn refresh(&self, control: &str) -> Result<(), String> {
        let v: serde_json::Value = self
            .http
            .get(format!("{}/ingress", control.trim_end_matches('/')))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| format!("devnet ingress map: {e}"))?
            .json()
            .await
            .map_err(|e| format!("devnet ingress map: {e}"))?;
        let mut map = HashMap::new();
        if let Some(hosts) = v.get("hosts").and_then(|h| h.as_object()) {
            for (host, addr) in hosts {
                if let Some(a) = addr.as_str().and_then(|a| a.parse().ok()) {
                    map.insert(host.clone(), a);
                }
            }
        }
        *self.hosts.write().await = map;
        Ok(())
    }

    async fn address(&self, host: &str) -> Result<Option<SocketAddr>, String> {
        let Resolve::Devnet(control) = &self.resolve else {
            return Ok(None);
        };
        if let Some(a) = self.hosts.read().await.get(host) {
            return Ok(Some(*a));
        }
        self.refresh(control).await?;
        match self.hosts.read().await.get(host) {
            Some(a) => Ok(Some(*a)),
            None => Err(format!("the devnet serves no ingress for {host}")),
        }
    }
}

impl IngressMap {
    /// A request to `http(s)://{host}{path}`: on the devnet to the ingress listener serving
    /// `host` (with the `Host` header set), through DNS otherwise (`https` when `tls`).
    pub async fn request(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
        tls: bool,
    ) -> Result<reqwest::RequestBuilder, String> {
        Ok(match self.address(host).await? {
            Some(addr) => self
                .http
                .request(method, format!("http://{addr}{path}"))
                .header(reqwest::header::HOST, host),
            None => {
                let scheme = if tls { "https" } else { "http" };
                self.http
                    .request(method, format!("{scheme}://{host}{path}"))
            }
        })
    }
}

#[async_trait]
impl HealthProbe for IngressMap {
    async fn get(&self, host: &str, path: &str, timeout: Duration) -> Result<u16, String> {
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let resp = self
            .request(reqwest::Method::GET, host, &path, false)
            .await?
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("GET http://{host}{path}: {e}"))?;
        Ok(resp.status().as_u16())
    }
}
