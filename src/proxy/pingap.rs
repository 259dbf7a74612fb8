//! Pingap's admin API, the part the operator uses: `GET /api/configs/{category}`,
//! `POST /api/configs/{category}/{name}` (create or replace, JSON), `DELETE
//! /api/configs/{category}/{name}`, with Pingap's admin authorization
//! (`Authorization: <hex SHA-256 of "user:password:ts">:<ts>`, `ts` in unix seconds).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Where a Proxy's admin API answers, and the credential for it.
#[derive(Clone)]
pub struct AdminEndpoint {
    /// `http://host:port` (the admin port's forwarded port).
    pub url: String,
    /// The admin user.
    pub user: String,
    /// The admin password (from the vault; never logged).
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for AdminEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminEndpoint")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The authorization header's value for `user`/`password` at unix second `ts`.
pub fn authorization(user: &str, password: &str, ts: u64) -> String {
    let digest = Sha256::digest(format!("{user}:{password}:{ts}").as_bytes());
    format!("{}:{ts}", hex::encode(digest))
}

/// A Proxy's admin API.
#[async_trait]
pub trait ProxyAdmin: Send + Sync {
    /// The named configs of `category`.
    async fn configs(
        &self,
        at: &AdminEndpoint,
        category: &str,
    ) -> Result<BTreeMap<String, Value>, String>;
    /// Creates or replaces one config.
    async fn put(
        &self,
        at: &AdminEndpoint,
        category: &str,
        name: &str,
        conf: &Value,
    ) -> Result<(), String>;
    /// Deletes one config.
    async fn delete(&self, at: &AdminEndpoint, category: &str, name: &str) -> Result<(), String>;
}

/// [`ProxyAdmin`] over HTTP.
pub struct HttpPingapAdmin {
    http: reqwest::Client,
    timeout: Duration,
}

impl HttpPingapAdmin {
    /// A client whose calls each take at most `timeout`.
    pub fn new(timeout: Duration) -> HttpPingapAdmin {
        HttpPingapAdmin {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(crate::akash::client::memo())
                .build()
                .unwrap_or_default(),
            timeout,
        }
    }

    fn request(
        &self,
        method: reqwest::Method,
        at: &AdminEndpoint,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.http
            .request(
                method,
                format!("{}/api/configs/{path}", at.url.trim_end_matches('/')),
            )
            .timeout(self.timeout)
            .header(
                reqwest::header::AUTHORIZATION,
                authorization(&at.user, &at.password, ts),
            )
    }
}

async fn answer(what: &str, r: reqwest::Result<reqwest::Response>) -> Result<Vec<u8>, String> {
    let r = r.map_err(|e| format!("{what}: {}", e.without_url()))?;
    let status = r.status();
    let body = r
        .bytes()
        .await
        .map_err(|e| format!("{what}: reading the answer: {}", e.without_url()))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let text: String = text.chars().take(300).collect();
        return Err(format!(
            "{what}: the proxy answered {status}: {}",
            text.trim()
        ));
    }
    Ok(body.to_vec())
}

#[async_trait]
impl ProxyAdmin for HttpPingapAdmin {
    async fn configs(
        &self,
        at: &AdminEndpoint,
        category: &str,
    ) -> Result<BTreeMap<String, Value>, String> {
        let what = format!("GET {category} configs");
        let body = answer(
            &what,
            self.request(reqwest::Method::GET, at, category)
                .send()
                .await,
        )
        .await?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => Ok(m.into_iter().collect()),
            Ok(Value::Null) => Ok(BTreeMap::new()),
            Ok(other) => Err(format!("{what}: expected a JSON object, got {other}")),
            Err(e) => Err(format!("{what}: the answer is not JSON: {e}")),
        }
    }

    async fn put(
        &self,
        at: &AdminEndpoint,
        category: &str,
        name: &str,
        conf: &Value,
    ) -> Result<(), String> {
        let what = format!("POST {category} {name}");
        answer(
            &what,
            self.request(reqwest::Method::POST, at, &format!("{category}/{name}"))
                .json(conf)
                .send()
                .await,
        )
        .await
        .map(drop)
    }

    async fn delete(&self, at: &AdminEndpoint, category: &str, name: &str) -> Result<(), String> {
        let what = format!("DELETE {category} {name}");
        answer(
            &what,
            self.request(reqwest::Method::DELETE, at, &format!("{category}/{name}"))
                .send()
                .await,
        )
        .await
        .map(drop)
    }
}
