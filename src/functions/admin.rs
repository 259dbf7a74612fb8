//! The operator's side of the runtime contract v1 (README, "The runtime contract, v1"): the
//! admin API of one FunctionRuntime node, and the health check of one node's function.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::reconcile::health::IngressMap;

/// On a node's own hostname, a request carrying this header is served by that node's function
/// of this slug: how one node's version is health-checked (the wildcard host reaches only
/// whichever node the ingress picks).
pub const FUNCTION_HEADER: &str = "X-AF-Function";

/// One runtime node, as the FunctionRuntime's status lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeAddr {
    /// The node's name (`node-0`, …).
    pub node: String,
    /// Its hostname (the lease URI of its service).
    pub uri: String,
}

/// What a PUT sends: one version of a function with its routes and environment.
#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutBody {
    /// The version (the Function's generation that introduced the code).
    pub version: String,
    /// The bundle's CID.
    pub cid: String,
    /// The bundle's BLAKE3 digest.
    pub blake3: String,
    /// Pattern → target, in order.
    pub routes: IndexMap<String, String>,
    /// Environment values (secrets resolved): never logged, never stored.
    #[serde(serialize_with = "expose_env")]
    pub env: BTreeMap<String, Zeroizing<String>>,
    /// The share of traffic (100: all of it).
    pub weight: u32,
    /// The function's health path.
    pub health_path: String,
}

fn expose_env<S: serde::Serializer>(
    env: &BTreeMap<String, Zeroizing<String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(env.len()))?;
    for (k, v) in env {
        m.serialize_entry(k, v.as_str())?;
    }
    m.end()
}

impl std::fmt::Debug for PutBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutBody")
            .field("version", &self.version)
            .field("cid", &self.cid)
            .field("blake3", &self.blake3)
            .field("routes", &self.routes)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("weight", &self.weight)
            .field("health_path", &self.health_path)
            .finish()
    }
}

/// A function as a node runs it (`GET /_af/v1/functions/{slug}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Running {
    /// The slug.
    #[serde(default)]
    pub slug: String,
    /// The node.
    #[serde(default)]
    pub node: String,
    /// The version running.
    pub version: String,
    /// Its CID.
    pub cid: String,
    /// Its BLAKE3.
    pub blake3: String,
    /// Its routes.
    #[serde(default)]
    pub routes: IndexMap<String, String>,
    /// The names of its environment variables.
    #[serde(default)]
    pub env_names: Vec<String>,
    /// Its weight.
    #[serde(default)]
    pub weight: u32,
    /// Its health path.
    #[serde(default)]
    pub health_path: String,
    /// Whether the node reports it healthy.
    #[serde(default = "yes")]
    pub healthy: bool,
}

fn yes() -> bool {
    true
}

/// How an admin call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The bundle's BLAKE3 is not the one given; the node keeps its previous version.
    #[error("HashMismatch: {0}")]
    HashMismatch(String),
    /// The node could not fetch the bundle (or a block did not match its CID).
    #[error("FetchFailed: {0}")]
    FetchFailed(String),
    /// The node refused the routes.
    #[error("InvalidRoutes: {0}")]
    InvalidRoutes(String),
    /// The token was refused.
    #[error("Unauthorized: the node refused the runtime token")]
    Unauthorized,
    /// Another refusal.
    #[error("{reason} ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The contract's reason word.
        reason: String,
        /// What the node said.
        message: String,
    },
    /// No answer.
    #[error("the node does not answer: {0}")]
    Transport(String),
}

impl AdminError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            AdminError::Transport(_) | AdminError::FetchFailed(_) => true,
            AdminError::Refused { status, .. } => *status >= 500 || *status == 404,
            _ => false,
        }
    }

    /// The reason word for conditions and events.
    pub fn reason(&self) -> &'static str {
        match self {
            AdminError::HashMismatch(_) => "HashMismatch",
            AdminError::FetchFailed(_) => "FetchFailed",
            AdminError::InvalidRoutes(_) => "InvalidRoutes",
            AdminError::Unauthorized => "Unauthorized",
            AdminError::Refused { .. } => "Refused",
            AdminError::Transport(_) => "NodeUnreachable",
        }
    }
}

/// The admin API of runtime nodes, and the health check of one node's function.
#[async_trait]
pub trait RuntimeAdmin: Send + Sync {
    /// Runs `body` as function `slug` on `node` (the node fetches and verifies the bundle).
    async fn put(
        &self,
        node: &NodeAddr,
        token: &str,
        slug: &str,
        body: &PutBody,
    ) -> Result<Running, AdminError>;
    /// What `node` runs as `slug` (`None`: nothing).
    async fn get(
        &self,
        node: &NodeAddr,
        token: &str,
        slug: &str,
    ) -> Result<Option<Running>, AdminError>;
    /// Every function `node` runs.
    async fn list(&self, node: &NodeAddr, token: &str) -> Result<Vec<Running>, AdminError>;
    /// Stops function `slug` on `node`; `false` when it ran nothing by that slug.
    async fn delete(&self, node: &NodeAddr, token: &str, slug: &str) -> Result<bool, AdminError>;
    /// `GET {path}` of `slug` on `node` within `timeout`: the status code, or why none.
    async fn health(
        &self,
        node: &NodeAddr,
        slug: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<u16, String>;
}

/// The admin API over HTTP, hostnames resolved as the health probe resolves them.
#[derive(Debug, Clone)]
pub struct HttpAdmin {
    ingress: Arc<IngressMap>,
    timeout: Duration,
}

impl HttpAdmin {
    /// Calls through `ingress`; each call gives up after `timeout` (a PUT fetches a bundle:
    /// give it time).
    pub fn new(ingress: Arc<IngressMap>, timeout: Duration) -> Self {
        HttpAdmin { ingress, timeout }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        node: &NodeAddr,
        token: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), AdminError> {
        let mut req = self
            .ingress
            .request(method, &node.uri, path, true)
            .await
            .map_err(AdminError::Transport)?
            .bearer_auth(token)
            .timeout(self.timeout);
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| AdminError::Transport(format!("{} ({}): {}", node.node, node.uri, e)))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| AdminError::Transport(format!("{}: {e}", node.node)))?;
        Ok((status, bytes.to_vec()))
    }
}

/// The error an admin answer carries.
fn refusal(status: u16, body: &[u8]) -> AdminError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let reason = v
        .get("error")
        .and_then(|e| e.as_str())
        .unwrap_or("Refused")
        .to_string();
    let message = v
        .get("message")
        .and_then(|e| e.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
    match (status, reason.as_str()) {
        (401, _) => AdminError::Unauthorized,
        (_, "HashMismatch") => AdminError::HashMismatch(message),
        (_, "FetchFailed") => AdminError::FetchFailed(message),
        (_, "InvalidRoutes") => AdminError::InvalidRoutes(message),
        _ => AdminError::Refused {
            status,
            reason,
            message,
        },
    }
}

fn running(body: &[u8]) -> Result<Running, AdminError> {
    serde_json::from_slice(body).map_err(|e| AdminError::Refused {
        status: 200,
        reason: "BadAnswer".into(),
        message: format!("not a function of the contract v1: {e}"),
    })
}

#[async_trait]
impl RuntimeAdmin for HttpAdmin {
    async fn put(
        &self,
        node: &NodeAddr,
        token: &str,
        slug: &str,
        body: &PutBody,
    ) -> Result<Running, AdminError> {
        let json = Zeroizing::new(serde_json::to_vec(body).unwrap_or_default());
        let (status, answer) = self
            .call(
                reqwest::Method::PUT,
                node,
                token,
                &format!("/_af/v1/functions/{slug}"),
                Some(json.to_vec()),
            )
            .await?;
        if status == 200 {
            running(&answer)
        } else {
            Err(refusal(status, &answer))
        }
    }

    async fn get(
        &self,
        node: &NodeAddr,
        token: &str,
        slug: &str,
    ) -> Result<Option<Running>, AdminError> {
        let (status, answer) = self
            .call(
                reqwest::Method::GET,
                node,
                token,
                &format!("/_af/v1/functions/{slug}"),
                None,
            )
            .await?;
        match status {
            200 => running(&answer).map(Some),
            404 => {
                let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
                if v.get("error").and_then(|e| e.as_str()) == Some("NotFound") {
                    Ok(None)
                } else {
                    // The ingress does not know the host (yet): not the node's answer.
                    Err(AdminError::Transport(format!(
                        "{} ({}): the ingress serves no such host",
                        node.node, node.uri
                    )))
                }
            }
            _ => Err(refusal(status, &answer)),
        }
    }

    async fn list(&self, node: &NodeAddr, token: &str) -> Result<Vec<Running>, AdminError> {
        let (status, answer) = self
            .call(reqwest::Method::GET, node, token, "/_af/v1/functions", None)
            .await?;
        if status != 200 {
            return Err(refusal(status, &answer));
        }
        #[derive(Deserialize)]
        struct List {
            functions: Vec<Running>,
        }
        serde_json::from_slice::<List>(&answer)
            .map(|l| l.functions)
            .map_err(|e| AdminError::Refused {
                status,
                reason: "BadAnswer".into(),
                message: format!("not a function list of the contract v1: {e}"),
            })
    }

    async fn delete(&self, node: &NodeAddr, token: &str, slug: &str) -> Result<bool, AdminError> {
        let (status, answer) = self
            .call(
                reqwest::Method::DELETE,
                node,
                token,
                &format!("/_af/v1/functions/{slug}"),
                None,
            )
            .await?;
        match status {
            200 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(refusal(status, &answer)),
        }
    }

    async fn health(
        &self,
        node: &NodeAddr,
        slug: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<u16, String> {
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let resp = self
            .ingress
            .request(reqwest::Method::GET, &node.uri, &path, true)
            .await?
            .header(FUNCTION_HEADER, slug)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("GET {path} of {slug} on {}: {e}", node.node))?;
        Ok(resp.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_the_contract_reason() {
        let e = refusal(422, br#"{"error":"HashMismatch","message":"got abc"}"#);
        assert_eq!(e, AdminError::HashMismatch("got abc".into()));
        assert!(!e.is_transient());
        assert_eq!(refusal(401, b"{}"), AdminError::Unauthorized);
        let e = refusal(502, br#"{"error":"FetchFailed","message":"no block"}"#);
        assert!(e.is_transient());
        assert_eq!(e.reason(), "FetchFailed");
        let e = refusal(500, b"boom");
        assert!(e.is_transient());
        assert!(e.to_string().contains("boom"));
    }

    #[test]
    fn a_put_body_never_shows_env_values_in_debug() {
        let mut env = BTreeMap::new();
        env.insert("API_KEY".to_string(), Zeroizing::new("s3cr3t".to_string()));
        let b = PutBody {
            version: "3".into(),
            cid: "bafy".into(),
            blake3: "00".into(),
            routes: IndexMap::new(),
            env,
            weight: 100,
            health_path: "/healthz".into(),
        };
        let shown = format!("{b:?}");
        assert!(shown.contains("API_KEY") && !shown.contains("s3cr3t"));
        let sent = serde_json::to_string(&b).unwrap();
        assert!(sent.contains(r#""env":{"API_KEY":"s3cr3t"}"#), "{sent}");
        assert!(sent.contains(r#""healthPath":"/healthz""#));
    }
}
