//! Google Cloud DNS: rrsets listed page by page (`GET …/managedZones/{zone}/rrsets`,
//! `pageToken`), a change set written as one change (`POST …/managedZones/{zone}/changes`
//! with `additions` and `deletions`, applied atomically by Google), authorized with an OAuth
//! token obtained for a service account by a JWT signed RS256 (RFC 7523), cached until it
//! nearly expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use reqwest::Method;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::http::{HttpApi, Request, RetryPolicy};
use super::record::{from_presentation, to_presentation, Change, RecordType, Rrset};
use super::{DnsError, DnsProvider};

/// The default API base.
pub const API: &str = "https://dns.googleapis.com/dns/v1";
/// The scope asked for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/ndev.clouddns.readwrite";

/// A service account's key, as Google's JSON key file holds it.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    /// The account's email (the JWT's issuer).
    pub client_email: String,
    /// The RSA private key, PKCS#8 PEM.
    pub private_key: String,
    /// Where tokens are obtained. Default `https://oauth2.googleapis.com/token`.
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key", &"<redacted>")
            .field("token_uri", &self.token_uri)
            .finish()
    }
}

/// One managed zone of a Google Cloud project.
pub struct GoogleDnsProvider {
    http: HttpApi,
    base: String,
    project: String,
    managed_zone: String,
    account: ServiceAccount,
    key: rsa::RsaPrivateKey,
    token: Mutex<Option<(String, SystemTime)>>,
}

impl std::fmt::Debug for GoogleDnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleDnsProvider")
            .field("project", &self.project)
            .field("managed_zone", &self.managed_zone)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RrsetList {
    #[serde(default)]
    rrsets: Vec<ApiRrset>,
    #[serde(default, rename = "nextPageToken")]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ApiRrset {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    rrdatas: Vec<String>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    #[serde(default = "default_expiry")]
    expires_in: u64,
}

fn default_expiry() -> u64 {
    3600
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

impl GoogleDnsProvider {
    /// The managed zone `managed_zone` of `project`, as `account` (its JSON key file's text).
    pub fn new(
        api_url: Option<&str>,
        project: &str,
        managed_zone: &str,
        account_json: &str,
        policy: RetryPolicy,
    ) -> Result<Self, DnsError> {
        let label = format!("google {project}/{managed_zone}");
        let config = |message: String| DnsError::Config {
            provider: label.clone(),
            message,
        };
        let account: ServiceAccount = serde_json::from_str(account_json).map_err(|e| {
            config(format!(
                "the credentials are not a service account's JSON key (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&account.private_key).map_err(|_| {
            config("the service account's private_key is not a PKCS#8 RSA key".into())
        })?;
        Ok(GoogleDnsProvider {
            http: HttpApi::new(&label, policy),
            base: api_url.unwrap_or(API).trim_end_matches('/').to_string(),
            project: project.to_string(),
            managed_zone: managed_zone.to_string(),
            account,
            key,
            token: Mutex::new(None),
        })
    }

    /// The signed JWT asking for a token (RFC 7523 §2.1).
    fn assertion(&self, now: u64) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let claims = json!({
            "iss": self.account.client_email,
            "scope": SCOPE,
            "aud": self.account.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.key.clone());
        let sig = signer.sign(signing_input.as_bytes()).to_bytes();
        format!("{signing_input}.{}", b64(&sig))
    }

    async fn bearer(&self) -> Result<String, DnsError> {
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref() {
            if SystemTime::now() < *until {
                return Ok(t.clone());
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut req = Request::new(Method::POST, self.account.token_uri.clone());
        req.form = Some(vec![
            (
                "grant_type".into(),
                "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
            ),
            ("assertion".into(), self.assertion(now)),
        ]);
        const OP: &str = "obtain a token";
        let t: Token = self
            .http
            .send(OP, &req)
            .await?
            .json(self.http.label(), OP)?;
        let until = SystemTime::now() + Duration::from_secs(t.expires_in.saturating_sub(60));
        *cached = Some((t.access_token.clone(), until));
        Ok(t.access_token)
    }

    fn zone_url(&self) -> String {
        format!(
            "{}/projects/{}/managedZones/{}",
            self.base, self.project, self.managed_zone
        )
    }
}

fn api_rrset(r: &Rrset) -> serde_json::Value {
    json!({
        "name": format!("{}.", r.name),
        "type": r.rtype.as_str(),
        "ttl": r.ttl,
        "rrdatas": r.values.iter().map(|v| to_presentation(&r.rtype, v)).collect::<Vec<_>>(),
    })
}

#[async_trait]
impl DnsProvider for GoogleDnsProvider {
    fn label(&self) -> String {
        self.http.label().to_string()
    }

    async fn records(&self, _zone: &str) -> Result<Vec<Rrset>, DnsError> {
        const OP: &str = "list rrsets";
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let token = self.bearer().await?;
            let mut url = format!("{}/rrsets", self.zone_url());
            if let Some(p) = &page {
                let q = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("pageToken", p)
                    .finish();
                url = format!("{url}?{q}");
            }
            let req =
                Request::new(Method::GET, url).header("Authorization", format!("Bearer {token}"));
            let list: RrsetList = self
                .http
                .send(OP, &req)
                .await?
                .json(self.http.label(), OP)?;
            for r in list.rrsets {
                let t = RecordType::parse(&r.rtype);
                let vs: Vec<String> = r.rrdatas.iter().map(|v| from_presentation(&t, v)).collect();
                out.push(Rrset::new(&r.name, t, r.ttl, vs));
            }
            match list.next_page_token {
                Some(p) if !p.is_empty() => page = Some(p),
                _ => return Ok(out),
            }
        }
    }

    async fn apply(&self, _zone: &str, changes: &[Change]) -> Result<(), DnsError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut additions = Vec::new();
        let mut deletions = Vec::new();
        for c in changes {
            match c {
                Change::Create(r) => additions.push(api_rrset(r)),
                Change::Delete(r) => deletions.push(api_rrset(r)),
                Change::Update { from, to } => {
                    deletions.push(api_rrset(from));
                    additions.push(api_rrset(to));
                }
            }
        }
        let token = self.bearer().await?;
        let req = Request::new(Method::POST, format!("{}/changes", self.zone_url()))
            .header("Authorization", format!("Bearer {token}"))
            .json(json!({"kind": "dns#change", "additions": additions, "deletions": deletions}));
        self.http.send("apply changes", &req).await?;
        Ok(())
    }
}
