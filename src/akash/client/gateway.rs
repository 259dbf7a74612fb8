//! The provider gateway client (PROTOCOL.md §4): `PUT /deployment/{dseq}/manifest` and
//! `GET /lease/{dseq}/{gseq}/{oseq}/status`, at the provider's on-chain `host_uri`.
//!
//! * **Tenant authentication**: mTLS with the tenant's client certificate (the one published
//!   on chain; [`ClientCertStore`] keeps it with its private key sealed by a passphrase), or an
//!   ES256K JWT (`Authorization: Bearer`, [`crate::akash::jwt::full_access`], 15 minutes,
//!   minted fresh per request). Never both (the gateway refuses ambiguous auth).
//! * **SNI**: with mTLS the client sends no SNI (like the TS client's `servername: ""`), so the
//!   provider answers with its own on-chain certificate and requests the client certificate
//!   instead of serving a CA certificate for its public hostname.
//! * **Verifying the provider**: normal PKI first (the system's CA bundle); otherwise one
//!   self-signed certificate whose CN is the provider's address and whose serial is a valid
//!   certificate of that provider on chain. TLS 1.3 only.
//! * **Retries**: a 404 on the manifest (the provider has not seen the lease yet) is retried
//!   for a bounded time; 422 is a permanent refusal carrying the provider's reason.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Deserializer, Serialize};
use zeroize::Zeroizing;

use super::wallet::{write_private, SealedSecret, DEFAULT_LOG_N};
use super::{AkashChain, CertificateStateFilter, ClientError};
use crate::akash::keys::Wallet;
use crate::akash::{certs, jwt};

/// Why a gateway call failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The provider refused the manifest (HTTP 422) — permanent; the reason is the provider's.
    #[error("provider rejected the manifest (422): {0}")]
    Rejected(String),
    /// Still 404 after the retry window (no lease or no manifest at the provider).
    #[error("provider has no such lease/deployment (404) after {0:.0}s of retries")]
    NotFound(f64),
    /// 401/403.
    #[error("provider refused our credentials ({status}): {body}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        body: String,
    },
    /// Another HTTP status.
    #[error("provider answered HTTP {status}: {body}")]
    Http {
        /// HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
    /// Connection, TLS or timeout.
    #[error("cannot reach provider at {url}: {problem}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        problem: String,
    },
    /// The answer is not the expected JSON.
    #[error("undecodable answer from provider: {0}")]
    Decode(String),
    /// The chain lookup (host_uri, certificates) failed.
    #[error("chain: {0}")]
    Chain(#[from] ClientError),
    /// Local setup (certificate, key, URL).
    #[error("{0}")]
    Setup(String),
}

impl GatewayError {
    /// Whether the same call may succeed later: the provider is unreachable or slow
    /// (transport), answers 408, 429 or 5xx, or does not know the lease yet (404: providers
    /// see a lease a few blocks after it is created); a chain lookup that failed transiently.
    /// A refused manifest (422), refused credentials, another 4xx, an undecodable answer or
    /// a local setup problem are permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            GatewayError::Transport { .. } | GatewayError::NotFound(_) => true,
            GatewayError::Http { status, .. } => {
                matches!(status, 404 | 408 | 429) || *status >= 500
            }
            GatewayError::Chain(e) => e.is_transient(),
            GatewayError::Rejected(_)
            | GatewayError::Unauthorized { .. }
            | GatewayError::Decode(_)
            | GatewayError::Setup(_) => false,
        }
    }

    /// A short, bounded word for conditions, events and metric labels:
    /// `manifest-rejected` (422), `not-found` (404), `unauthorized` (401/403),
    /// `rate-limited` (429), `provider-error` (408, 5xx), `rejected` (another status),
    /// `provider-unreachable` (connection, TLS, timeout), `invalid-response` (undecodable
    /// answer), `invalid` (local setup), or the [`ClientError::category`] of a failed chain
    /// lookup.
    pub fn category(&self) -> &'static str {
        match self {
            GatewayError::Rejected(_) => "manifest-rejected",
            GatewayError::NotFound(_) => "not-found",
            GatewayError::Unauthorized { .. } => "unauthorized",
            GatewayError::Http { status, .. } => match status {
                401 | 403 => "unauthorized",
                404 => "not-found",
                422 => "manifest-rejected",
                429 => "rate-limited",
                408 | 500.. => "provider-error",
                _ => "rejected",
            },
            GatewayError::Transport { .. } => "provider-unreachable",
            GatewayError::Decode(_) => "invalid-response",
            GatewayError::Chain(e) => e.category(),
            GatewayError::Setup(_) => "invalid",
        }
    }
}

/// How the tenant proves who it is.
#[derive(Clone)]
pub enum GatewayAuth {
    /// ES256K JWT signed by the tenant's wallet (the account must have a pubkey on chain).
    Jwt(Wallet),
    /// mTLS with the tenant's published client certificate.
    Mtls(ClientCert),
}

impl std::fmt::Debug for GatewayAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayAuth::Jwt(w) => f.debug_tuple("Jwt").field(&w.address()).finish(),
            GatewayAuth::Mtls(c) => f.debug_tuple("Mtls").field(&c.serial).finish(),
        }
    }
}

/// The tenant's client certificate and private key.
#[derive(Clone)]
pub struct ClientCert {
    /// Owner address.
    pub owner: String,
    /// `CERTIFICATE` PEM.
    pub cert_pem: Vec<u8>,
    /// `EC PUBLIC KEY` PEM.
    pub pubkey_pem: Vec<u8>,
    /// PKCS#8 private key PEM.
    pub key_pem: Zeroizing<Vec<u8>>,
    /// Serial, decimal.
    pub serial: String,
}

/// Where a client certificate is kept: `<dir>/<owner>.cert.json`, the key sealed with a
/// passphrase (scrypt + ChaCha20-Poly1305), the file mode 0600.
#[derive(Debug, Clone)]
pub struct ClientCertStore {
    /// The directory.
    pub dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct StoredCert {
    owner: String,
    serial: String,
    cert_pem: String,
    pubkey_pem: String,
    key: SealedSecret,
}

impl ClientCertStore {
    /// The file of `owner`'s certificate.
    pub fn path(&self, owner: &str) -> PathBuf {
        self.dir.join(format!("{owner}.cert.json"))
    }

    /// The stored certificate of `owner`, if any.
    pub fn load(&self, owner: &str, passphrase: &[u8]) -> Result<Option<ClientCert>, GatewayError> {
        let path = self.path(owner);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(GatewayError::Setup(format!("{}: {e}", path.display()))),
        };
        let stored: StoredCert = serde_json::from_str(&text)
            .map_err(|e| GatewayError::Setup(format!("{}: {e}", path.display())))?;
        let key_pem = stored
            .key
            .open(passphrase)
            .map_err(|e| GatewayError::Setup(format!("{}: {e}", path.display())))?;
        Ok(Some(ClientCert {
            owner: stored.owner,
            cert_pem: stored.cert_pem.into_bytes(),
            pubkey_pem: stored.pubkey_pem.into_bytes(),
            key_pem,
            serial: stored.serial,
        }))
    }

    /// Saves `cert`, sealing its key with `passphrase`.
    pub fn save(&self, cert: &ClientCert, passphrase: &[u8]) -> Result<PathBuf, GatewayError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| GatewayError::Setup(format!("{}: {e}", self.dir.display())))?;
        let key = SealedSecret::seal(&cert.key_pem, passphrase, DEFAULT_LOG_N, &cert.serial)
            .map_err(GatewayError::Setup)?;
        let stored = StoredCert {
            owner: cert.owner.clone(),
            serial: cert.serial.clone(),
            cert_pem: String::from_utf8_lossy(&cert.cert_pem).into_owned(),
            pubkey_pem: String::from_utf8_lossy(&cert.pubkey_pem).into_owned(),
            key,
        };
        let path = self.path(&cert.owner);
        let text = serde_json::to_string_pretty(&stored)
            .map_err(|e| GatewayError::Setup(e.to_string()))?;
        write_private(&path, text.as_bytes())
            .map_err(|e| GatewayError::Setup(format!("{}: {e}", path.display())))?;
        Ok(path)
    }

    /// The stored certificate if it is still valid on chain; otherwise a new one, generated,
    /// published on chain (`MsgCreateCertificate`) and stored. Generated once per owner.
    pub async fn ensure_published(
        &self,
        chain: &dyn AkashChain,
        passphrase: &[u8],
    ) -> Result<ClientCert, GatewayError> {
        let owner = chain.owner().to_string();
        if let Some(cert) = self.load(&owner, passphrase)? {
            let on_chain = chain
                .certificates(&owner, Some(&cert.serial), CertificateStateFilter::Valid)
                .await?;
            if !on_chain.is_empty() {
                return Ok(cert);
            }
            tracing::info!(serial = %cert.serial, "stored client certificate is not valid on chain; making a new one");
        }
        let cert = generate_client_cert(&owner)?;
        chain
            .publish_certificate(cert.cert_pem.clone(), cert.pubkey_pem.clone())
            .await?;
        self.save(&cert, passphrase)?;
        Ok(cert)
    }
}

/// A new client certificate for `owner` (not yet published).
pub fn generate_client_cert(owner: &str) -> Result<ClientCert, GatewayError> {
    let g = certs::generate(owner, &[]).map_err(|e| GatewayError::Setup(e.to_string()))?;
    Ok(ClientCert {
        owner: owner.to_string(),
        cert_pem: g.cert_pem,
        pubkey_pem: g.pubkey_pem,
        key_pem: g.key_pem,
        serial: g.serial,
    })
}

/// `LeaseStatus` as the provider's JSON has it (`CS:go/provider/client/types.go`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LeaseStatus {
    /// Problems the provider reports.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub errors: Vec<String>,
    /// Per service.
    #[serde(default, deserialize_with = "null_default")]
    pub services: BTreeMap<String, ServiceStatus>,
    /// Forwarded ports per service (`null` unless some expose has an external port ≠ 80).
    #[serde(default, deserialize_with = "null_default")]
    pub forwarded_ports: BTreeMap<String, Vec<ForwardedPortStatus>>,
    /// Leased IPs per service (`null` unless some expose uses `ip`).
    #[serde(default, deserialize_with = "null_default")]
    pub ips: BTreeMap<String, Vec<LeasedIpStatus>>,
}

/// One service's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ServiceStatus {
    /// Service name.
    #[serde(default)]
    pub name: String,
    /// Available replicas.
    #[serde(default)]
    pub available: i64,
    /// Wanted replicas.
    #[serde(default)]
    pub total: i64,
    /// Ingress hostnames.
    #[serde(default, deserialize_with = "null_default")]
    pub uris: Vec<String>,
    /// Observed generation.
    #[serde(default)]
    pub observed_generation: i64,
    /// Replicas.
    #[serde(default)]
    pub replicas: i64,
    /// Updated replicas.
    #[serde(default)]
    pub updated_replicas: i64,
    /// Ready replicas.
    #[serde(default)]
    pub ready_replicas: i64,
    /// Available replicas.
    #[serde(default)]
    pub available_replicas: i64,
}

/// A forwarded port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ForwardedPortStatus {
    /// Host to connect to.
    #[serde(default)]
    pub host: String,
    /// Container port.
    #[serde(default)]
    pub port: u32,
    /// Port on the host.
    #[serde(default, rename = "externalPort")]
    pub external_port: u32,
    /// `TCP` / `UDP`.
    #[serde(default)]
    pub proto: String,
    /// Service name.
    #[serde(default)]
    pub name: String,
}

/// A leased IP (Go struct without json tags: capitalised keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LeasedIpStatus {
    /// Port.
    #[serde(default, rename = "Port")]
    pub port: u32,
    /// External port.
    #[serde(default, rename = "ExternalPort")]
    pub external_port: u32,
    /// Protocol.
    #[serde(default, rename = "Protocol")]
    pub protocol: String,
    /// The IP.
    #[serde(default, rename = "IP")]
    pub ip: String,
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Gateway client options.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// How long a 404 on the manifest is retried.
    pub not_found_retry_for: Duration,
    /// Pause between 404 retries.
    pub retry_interval: Duration,
    /// JWT lifetime.
    pub jwt_ttl: Duration,
    /// A PEM bundle of CA certificates to try first for normal PKI (the composition root
    /// passes `$SSL_CERT_FILE`); the usual system bundle paths follow.
    pub ca_file: Option<PathBuf>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            request_timeout: Duration::from_secs(30),
            not_found_retry_for: Duration::from_secs(60),
            retry_interval: Duration::from_secs(2),
            jwt_ttl: Duration::from_secs(15 * 60),
            ca_file: None,
        }
    }
}

/// A client for one provider's gateway.
pub struct GatewayClient {
    http: reqwest::Client,
    base: url::Url,
    provider: String,
    auth: GatewayAuth,
    opts: GatewayOptions,
    /// The JWT last minted and when (unix seconds), reused for half its lifetime: a token
    /// per request cost a secp256k1 signature here and a verification at the provider.
    /// Never printed.
    token: std::sync::Mutex<Option<(i64, zeroize::Zeroizing<String>)>>,
}

impl std::fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayClient")
            .field("provider", &self.provider)
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .finish()
    }
}

/// The system's CA certificates: the first of `ca_file` and the usual bundle paths that
/// holds any.
pub fn system_roots(ca_file: Option<&Path>) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = ca_file {
        candidates.push(p.to_path_buf());
    }
    for p in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
        "/etc/ssl/ca-bundle.pem",
    ] {
        candidates.push(PathBuf::from(p));
    }
    for path in candidates {
        if let Ok(iter) = CertificateDer::pem_file_iter(&path) {
            for der in iter.flatten() {
                let _ = roots.add(der);
            }
            if !roots.is_empty() {
                break;
            }
        }
    }
    roots
}

/// Verifies the provider: normal PKI, else its own on-chain self-signed certificate.
#[derive(Debug)]
pub struct ProviderCertVerifier {
    pki: Option<Arc<dyn ServerCertVerifier>>,
    provider: String,
    serials: HashSet<String>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ProviderCertVerifier {
    /// A verifier for `provider` whose valid on-chain certificate serials are `serials`;
    /// `roots` for normal PKI (empty: on-chain only).
    pub fn new(provider: &str, serials: HashSet<String>, roots: rustls::RootCertStore) -> Self {
        let crypto = Arc::new(rustls::crypto::ring::default_provider());
        let pki = if roots.is_empty() {
            None
        } else {
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                crypto.clone(),
            )
            .build()
            .ok()
            .map(|v| v as Arc<dyn ServerCertVerifier>)
        };
        ProviderCertVerifier {
            pki,
            provider: provider.to_string(),
            serials,
            algorithms: crypto.signature_verification_algorithms,
        }
    }

    /// The on-chain rule alone: one self-signed certificate, CN = issuer CN = the provider's
    /// address, serial valid on chain for that provider.
    pub fn accepts_on_chain(&self, end_entity: &[u8], intermediates: usize) -> Result<(), String> {
        if intermediates != 0 {
            return Err("expected exactly one certificate".into());
        }
        let parsed = certs::parse_der(end_entity).map_err(|e| e.to_string())?;
        if parsed.subject_cn != self.provider || parsed.issuer_cn != self.provider {
            return Err(format!(
                "certificate CN {:?} is not the provider {}",
                parsed.subject_cn, self.provider
            ));
        }
        if !certs::verify_self_signed(end_entity) {
            return Err("certificate is not validly self-signed".into());
        }
        if !self.serials.contains(&parsed.serial) {
            return Err(format!(
                "serial {} is not a valid certificate of {} on chain",
                parsed.serial, self.provider
            ));
        }
        Ok(())
    }
}

impl ServerCertVerifier for ProviderCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(pki) = &self.pki {
            if pki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .is_ok()
            {
                return Ok(ServerCertVerified::assertion());
            }
        }
        match self.accepts_on_chain(end_entity.as_ref(), intermediates.len()) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(why) => {
                tracing::warn!(provider = %self.provider, %why, "provider certificate refused");
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl GatewayClient {
    /// A client for `provider`: reads its `host_uri` and valid certificate serials from
    /// chain.
    pub async fn connect(
        chain: &dyn AkashChain,
        provider: &str,
        auth: GatewayAuth,
        opts: GatewayOptions,
    ) -> Result<GatewayClient, GatewayError> {
        let record = chain.provider(provider).await?;
        let serials: HashSet<String> = chain
            .certificates(provider, None, CertificateStateFilter::Valid)
            .await?
            .into_iter()
            .map(|c| c.serial)
            .collect();
        let roots = system_roots(opts.ca_file.as_deref());
        Self::with_host(&record.host_uri, provider, serials, roots, auth, opts)
    }

    /// A client for `host_uri` (no chain lookups): `serials` are the provider's valid
    /// certificate serials, `roots` the CAs for normal PKI.
    pub fn with_host(
        host_uri: &str,
        provider: &str,
        serials: HashSet<String>,
        roots: rustls::RootCertStore,
        auth: GatewayAuth,
        opts: GatewayOptions,
    ) -> Result<GatewayClient, GatewayError> {
        let base = url::Url::parse(host_uri)
            .map_err(|e| GatewayError::Setup(format!("provider host_uri {host_uri:?}: {e}")))?;
        let verifier = Arc::new(ProviderCertVerifier::new(provider, serials, roots));
        let crypto = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(crypto)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| GatewayError::Setup(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut tls = match &auth {
            GatewayAuth::Jwt(_) => builder.with_no_client_auth(),
            GatewayAuth::Mtls(cert) => {
                let chain_der = CertificateDer::pem_slice_iter(&cert.cert_pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| GatewayError::Setup(format!("client certificate: {e}")))?;
                let key = PrivateKeyDer::from_pem_slice(&cert.key_pem)
                    .map_err(|_| GatewayError::Setup("client key: not a PEM private key".into()))?;
                builder
                    .with_client_auth_cert(chain_der, key)
                    .map_err(|e| GatewayError::Setup(format!("client certificate: {e}")))?
            }
        };
        if matches!(auth, GatewayAuth::Mtls(_)) {
            // No SNI: the provider then serves its own certificate and asks for ours.
            tls.enable_sni = false;
        }
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(opts.request_timeout)
            .user_agent(super::memo())
            .build()
            .map_err(|e| GatewayError::Setup(e.to_string()))?;
        Ok(GatewayClient {
            http,
            base,
            provider: provider.to_string(),
            auth,
            opts,
            token: std::sync::Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, GatewayError> {
        self.base
            .join(path)
            .map_err(|e| GatewayError::Setup(format!("{path}: {e}")))
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            GatewayAuth::Jwt(wallet) => {
                let now = chrono::Utc::now().timestamp();
                let ttl = self.opts.jwt_ttl.as_secs() as i64;
                let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
                let fresh = token
                    .as_ref()
                    .filter(|(minted, _)| now >= *minted && now - *minted < ttl / 2);
                let value = match fresh {
                    Some((_, t)) => t.as_str().to_owned(),
                    None => {
                        let claims = jwt::full_access(wallet.address(), now, ttl);
                        let t = jwt::mint(wallet, &claims);
                        *token = Some((now, zeroize::Zeroizing::new(t.clone())));
                        t
                    }
                };
                drop(token);
                req.bearer_auth(value)
            }
            GatewayAuth::Mtls(_) => req,
        }
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &url::Url,
    ) -> Result<(u16, String), GatewayError> {
        let resp = self
            .authorize(req)
            .send()
            .await
            .map_err(|e| GatewayError::Transport {
                url: url.to_string(),
                problem: error_chain(&e),
            })?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| GatewayError::Transport {
            url: url.to_string(),
            problem: error_chain(&e),
        })?;
        Ok((status, body))
    }

    /// `PUT /deployment/{dseq}/manifest` with the manifest JSON; 404 is retried for
    /// [`GatewayOptions::not_found_retry_for`], 422 fails at once with the provider's reason.
    pub async fn send_manifest(&self, dseq: u64, manifest_json: &[u8]) -> Result<(), GatewayError> {
        let url = self.url(&format!("deployment/{dseq}/manifest"))?;
        let started = tokio::time::Instant::now();
        loop {
            let req = self
                .http
                .put(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(manifest_json.to_vec());
            let (status, body) = self.send(req, &url).await?;
            match status {
                200..=299 => return Ok(()),
                404 => {
                    if started.elapsed() + self.opts.retry_interval > self.opts.not_found_retry_for
                    {
                        return Err(GatewayError::NotFound(started.elapsed().as_secs_f64()));
                    }
                    tracing::debug!(dseq, provider = %self.provider, "manifest: 404, lease not visible yet; retrying");
                    tokio::time::sleep(self.opts.retry_interval).await;
                }
                422 => return Err(GatewayError::Rejected(body.trim().to_string())),
                401 | 403 => {
                    return Err(GatewayError::Unauthorized {
                        status,
                        body: body.trim().to_string(),
                    })
                }
                _ => {
                    return Err(GatewayError::Http {
                        status,
                        body: body.trim().to_string(),
                    })
                }
            }
        }
    }

    /// `GET /lease/{dseq}/{gseq}/{oseq}/status`.
    pub async fn lease_status(
        &self,
        dseq: u64,
        gseq: u32,
        oseq: u32,
    ) -> Result<LeaseStatus, GatewayError> {
        let url = self.url(&format!("lease/{dseq}/{gseq}/{oseq}/status"))?;
        let (status, body) = self.send(self.http.get(url.clone()), &url).await?;
        match status {
            200..=299 => {
                serde_json::from_str(&body).map_err(|e| GatewayError::Decode(e.to_string()))
            }
            404 => Err(GatewayError::Http {
                status,
                body: body.trim().to_string(),
            }),
            401 | 403 => Err(GatewayError::Unauthorized {
                status,
                body: body.trim().to_string(),
            }),
            _ => Err(GatewayError::Http {
                status,
                body: body.trim().to_string(),
            }),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Where client certificates are kept unless the caller says otherwise (relative to the
/// working directory).
pub const DEFAULT_CERT_DIR: &str = ".af-operator/akash";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_classified() {
        let http = |status| GatewayError::Http {
            status,
            body: String::new(),
        };
        let cases = [
            (
                GatewayError::Rejected("r".into()),
                false,
                "manifest-rejected",
            ),
            (GatewayError::NotFound(60.0), true, "not-found"),
            (
                GatewayError::Unauthorized {
                    status: 401,
                    body: String::new(),
                },
                false,
                "unauthorized",
            ),
            (http(403), false, "unauthorized"),
            (http(404), true, "not-found"),
            (http(408), true, "provider-error"),
            (http(422), false, "manifest-rejected"),
            (http(429), true, "rate-limited"),
            (http(500), true, "provider-error"),
            (http(503), true, "provider-error"),
            (http(400), false, "rejected"),
            (
                GatewayError::Transport {
                    url: "u".into(),
                    problem: "refused".into(),
                },
                true,
                "provider-unreachable",
            ),
            (GatewayError::Decode("d".into()), false, "invalid-response"),
            (
                GatewayError::Chain(ClientError::Timeout("t".into())),
                true,
                "timeout",
            ),
            (
                GatewayError::Chain(ClientError::NotFound("p".into())),
                false,
                "not-found",
            ),
            (GatewayError::Setup("s".into()), false, "invalid"),
        ];
        for (err, transient, category) in cases {
            assert_eq!(err.is_transient(), transient, "{err:?}");
            assert_eq!(err.category(), category, "{err:?}");
        }
    }

    #[test]
    fn lease_status_json_as_go_writes_it() {
        let text = r#"{ "errors": ["x"],
          "services": { "web": { "name":"web", "available":1, "total":1, "uris":["abc.ingress.host"],
                "observed_generation":1, "replicas":1, "updated_replicas":1,
                "ready_replicas":1, "available_replicas":1 } },
          "forwarded_ports": { "web": [ {"host":"prov.host","port":8080,"externalPort":31234,"proto":"TCP","name":"web"} ] },
          "ips": { "web": [ {"Port":80,"ExternalPort":80,"Protocol":"TCP","IP":"1.2.3.4"} ] } }"#;
        let s: LeaseStatus = serde_json::from_str(text).unwrap();
        assert_eq!(s.errors, vec!["x"]);
        assert_eq!(s.services["web"].uris, vec!["abc.ingress.host"]);
        assert_eq!(s.services["web"].available_replicas, 1);
        assert_eq!(s.forwarded_ports["web"][0].external_port, 31234);
        assert_eq!(s.ips["web"][0].ip, "1.2.3.4");
        assert_eq!(s.ips["web"][0].external_port, 80);
        let nulls: LeaseStatus = serde_json::from_str(
            r#"{"services":{"a":{"name":"a","available":0,"total":1,"uris":null}},"forwarded_ports":null,"ips":null}"#,
        )
        .unwrap();
        assert!(nulls.forwarded_ports.is_empty() && nulls.ips.is_empty());
        assert!(nulls.services["a"].uris.is_empty());
    }

    fn owner() -> String {
        Wallet::from_entropy([7u8; 32]).0.address().to_string()
    }

    #[test]
    fn on_chain_rule() {
        let provider = owner();
        let g = certs::generate(&provider, &["localhost".to_string()]).unwrap();
        let der = certs::der_from_pem(&g.cert_pem).unwrap();
        let good = ProviderCertVerifier::new(
            &provider,
            HashSet::from([g.serial.clone()]),
            rustls::RootCertStore::empty(),
        );
        assert!(good.accepts_on_chain(&der, 0).is_ok());
        assert!(good.accepts_on_chain(&der, 1).is_err());
        let unknown_serial =
            ProviderCertVerifier::new(&provider, HashSet::new(), rustls::RootCertStore::empty());
        assert!(unknown_serial
            .accepts_on_chain(&der, 0)
            .unwrap_err()
            .contains("serial"));
        let other = Wallet::from_entropy([8u8; 32]).0.address().to_string();
        let wrong_owner = ProviderCertVerifier::new(
            &other,
            HashSet::from([g.serial.clone()]),
            rustls::RootCertStore::empty(),
        );
        assert!(wrong_owner
            .accepts_on_chain(&der, 0)
            .unwrap_err()
            .contains("CN"));
    }

    #[test]
    fn ca_file_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let g = certs::generate(&owner(), &[]).unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, &g.cert_pem).unwrap();
        let roots = system_roots(Some(&path));
        assert_eq!(
            roots.len(),
            1,
            "only the given bundle is read when it holds any"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, b"").unwrap();
        // An empty bundle falls through to the system's (whatever this machine has).
        assert_eq!(system_roots(Some(&empty)).len(), system_roots(None).len());
    }

    #[test]
    fn cert_store_round_trip_keeps_key_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let store = ClientCertStore {
            dir: dir.path().to_path_buf(),
        };
        let o = owner();
        let cert = generate_client_cert(&o).unwrap();
        let path = store.save(&cert, b"pw").unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(!text.contains("PRIVATE KEY"));
        let back = store.load(&o, b"pw").unwrap().unwrap();
        assert_eq!(back.serial, cert.serial);
        assert_eq!(back.key_pem.as_slice(), cert.key_pem.as_slice());
        assert!(store.load(&o, b"nope").is_err());
        assert!(store.load("akash1none", b"pw").unwrap().is_none());
    }

    #[test]
    fn mtls_and_jwt_clients_build() {
        let o = owner();
        let cert = generate_client_cert(&o).unwrap();
        let c = GatewayClient::with_host(
            "https://127.0.0.1:8443",
            &o,
            HashSet::new(),
            rustls::RootCertStore::empty(),
            GatewayAuth::Mtls(cert),
            GatewayOptions::default(),
        );
        assert!(c.is_ok());
        let j = GatewayClient::with_host(
            "https://127.0.0.1:8443",
            &o,
            HashSet::new(),
            rustls::RootCertStore::empty(),
            GatewayAuth::Jwt(Wallet::from_entropy([7u8; 32]).0),
            GatewayOptions::default(),
        )
        .unwrap();
        assert_eq!(
            j.url("deployment/5/manifest").unwrap().as_str(),
            "https://127.0.0.1:8443/deployment/5/manifest"
        );
    }
}
