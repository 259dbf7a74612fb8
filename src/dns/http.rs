//! The HTTP client the vendors' providers share: TLS with the web's roots, a timeout per
//! request, and retries with exponential backoff on what may pass (connection failures,
//! `429 Too Many Requests` honoring `Retry-After`, `5xx`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use super::DnsError;

/// How hard to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// The first wait; doubled each time.
    pub base: Duration,
    /// The longest wait (also the cap on `Retry-After`).
    pub max: Duration,
    /// Time allowed per request.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(20),
        }
    }
}

/// A response that was not retried away.
#[derive(Debug)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        provider: &str,
        op: &'static str,
    ) -> Result<T, DnsError> {
        serde_json::from_slice(&self.body).map_err(|e| DnsError::Unavailable {
            provider: provider.to_string(),
            op,
            message: format!("unreadable answer: {e}"),
        })
    }
}

/// An HTTP API with retries.
#[derive(Clone)]
pub struct HttpApi {
    client: reqwest::Client,
    label: String,
    policy: RetryPolicy,
}

impl std::fmt::Debug for HttpApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpApi")
            .field("label", &self.label)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A request: method, URL, headers (values may be secret: never logged) and body.
#[derive(Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(&'static str, String)>,
    /// A JSON body.
    pub json: Option<serde_json::Value>,
    /// A form body.
    pub form: Option<Vec<(String, String)>>,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: Method, url: impl Into<String>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            json: None,
            form: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Request {
        self.json = Some(body);
        self
    }
}

fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
}

impl HttpApi {
    /// A client for the provider named `label`.
    pub fn new(label: &str, policy: RetryPolicy) -> HttpApi {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("af-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        HttpApi {
            client,
            label: label.to_string(),
            policy,
        }
    }

    /// The provider's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.policy.base.saturating_mul(1u32 << attempt.min(16));
        exp.min(self.policy.max)
    }

    /// Sends `req`, retrying transient failures; a 2xx comes back, anything else is an error
    /// (401/403 unauthorized, other 4xx refused, 429/5xx/connection unavailable once the
    /// attempts are spent).
    pub async fn send(&self, op: &'static str, req: &Request) -> Result<Response, DnsError> {
        let mut last = String::new();
        for attempt in 0..self.policy.attempts.max(1) {
            if attempt > 0 {
                tracing::debug!(provider = %self.label, op, attempt, "retrying");
            }
            let mut b = self
                .client
                .request(req.method.clone(), &req.url)
                .timeout(self.policy.timeout);
            for (k, v) in &req.headers {
                b = b.header(*k, v);
            }
            if let Some(j) = &req.json {
                b = b.json(j);
            }
            if let Some(f) = &req.form {
                b = b.form(f);
            }
            let wait = match b.send().await {
                Err(e) => {
                    // Without the URL: query strings could carry something secret.
                    last = format!("request failed: {}", e.without_url());
                    self.backoff(attempt)
                }
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    if status.is_success() {
                        return Ok(Response {
                            status,
                            headers,
                            body,
                        });
                    }
                    let text = snippet(&body);
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        last = format!("{status}: {text}");
                        retry_after(&headers)
                            .map(|d| d.min(self.policy.max))
                            .unwrap_or_else(|| self.backoff(attempt))
                    } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
                    {
                        return Err(DnsError::Unauthorized {
                            provider: self.label.clone(),
                            op,
                            message: format!("{status}: {text}"),
                        });
                    } else {
                        return Err(DnsError::Refused {
                            provider: self.label.clone(),
                            op,
                            message: format!("{status}: {text}"),
                        });
                    }
                }
            };
            if attempt + 1 < self.policy.attempts {
                tracing::warn!(provider = %self.label, op, error = %last, wait_ms = wait.as_millis() as u64, "transient failure; retrying");
                tokio::time::sleep(wait).await;
            }
        }
        Err(DnsError::Unavailable {
            provider: self.label.clone(),
            op,
            message: format!("{last} (after {} attempts)", self.policy.attempts.max(1)),
        })
    }
}

/// `Retry-After` in seconds (the HTTP-date form is read as "a second").
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get("retry-after")?.to_str().ok()?.trim();
    Some(match v.parse::<u64>() {
        Ok(s) => Duration::from_secs(s),
        Err(_) => Duration::from_secs(1),
    })
}

/// The start of a body, for an error message.
fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s.to_string()
    }
}
