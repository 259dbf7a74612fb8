#![allow(clippy::result_large_err)] // handlers return ready-made error responses
//! The provider gateway: the provider REST API (PROTOCOL.md §4) over HTTPS with the
//! provider's on-chain certificate, tenants authenticated by mTLS or an ES256K JWT.

use super::prov::{BidKey, LeaseTrack, Provider};
use super::{lock, read, ChainAccess, SetInner};
use af_akash::jwt::{self, Scope};
use af_akash::proto::cert::v1::CertificateState;
use af_akash::proto::deployment::v1::DeploymentState;
use af_akash::proto::market::v1::LeaseState;
use af_akash::sdl::{EndpointKind, GroupSpec, Manifest, ManifestGroup};
use af_akash::{certs, keys};
use anyhow::{anyhow, Context, Result};
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tower_service::Service;

/// Accepts any client certificate at the TLS layer (proving possession of its key); the
/// gateway checks it against the chain per request, as the Go provider does.
#[derive(Debug)]
struct RequestClientCert(Arc<rustls::crypto::CryptoProvider>);

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The gateway's TLS configuration: its on-chain certificate, client certificates requested.
pub(crate) fn tls_config(cert: &certs::GeneratedCert) -> Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let der = certs::der_from_pem(&cert.cert_pem)?;
    let key = certs::pem_der(&cert.key_pem, "PRIVATE KEY")?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_client_cert_verifier(Arc::new(RequestClientCert(provider)))
        .with_single_cert(
            vec![CertificateDer::from(der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .context("gateway certificate")?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// The client certificates of a connection.
#[derive(Clone, Default)]
pub(crate) struct PeerCerts(pub Arc<Vec<Vec<u8>>>);

/// Serves `router` on `listener` (TLS when `tls` is set) until the task is aborted; aborting
/// also drops every open connection.
pub(crate) fn spawn_accept(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    p: Arc<Provider>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    let router = router.clone();
                    let tls = tls.clone();
                    let p = p.clone();
                    conns.spawn(async move {
                        match tls {
                            Some(acceptor) => {
                                let Ok(Ok(stream)) = tokio::time::timeout(
                                    std::time::Duration::from_secs(10),
                                    acceptor.accept(tcp),
                                ).await else { return };
                                let peer = stream
                                    .get_ref()
                                    .1
                                    .peer_certificates()
                                    .map(|c| c.iter().map(|c| c.to_vec()).collect())
                                    .unwrap_or_default();
                                let router = router.layer(Extension(PeerCerts(Arc::new(peer))));
                                serve_conn(stream, router, p).await;
                            }
                            None => {
                                let router = router.layer(Extension(PeerCerts::default()));
                                serve_conn(tcp, router, p).await;
                            }
                        }
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    })
}

async fn serve_conn<S>(stream: S, router: Router, p: Arc<Provider>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let mut router = router.clone();
        let p = p.clone();
        async move {
            let delay = p.state().faults.slow_ms;
            if delay > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            router.call(req.map(axum::body::Body::new)).await
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
        .await;
}

#[derive(Clone)]
struct Gw {
    access: Arc<dyn ChainAccess>,
    p: Arc<Provider>,
}

/// Starts the gateway and ingress accept loops on the genesis listeners.
pub(crate) fn serve(
    set: &Arc<SetInner>,
    p: &Arc<Provider>,
    gateway: tokio::net::TcpListener,
    ingress: tokio::net::TcpListener,
) {
    let g = spawn_accept(
        gateway,
        Some(tokio_rustls::TlsAcceptor::from(p.tls.clone())),
        router(set.access.clone(), p.clone()),
        p.clone(),
    );
    let i = spawn_accept(
        ingress,
        None,
        super::workload::ingress_router(p.clone()),
        p.clone(),
    );
    lock(&p.listeners).extend([g, i]);
}

/// Drops the gateway and ingress listeners (connection refused).
pub(crate) fn stop_listening(p: &Provider) {
    for h in lock(&p.listeners).drain(..) {
        h.abort();
    }
}

/// Binds the gateway and ingress addresses again and serves them.
pub(crate) fn restart_listening(set: &Arc<SetInner>, p: &Arc<Provider>) -> Result<()> {
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|_| anyhow!("restoring a provider needs the tokio runtime"))?;
    let _guard = handle.enter();
    let bind = |addr| -> Result<tokio::net::TcpListener> {
        let s = tokio::net::TcpSocket::new_v4()?;
        s.set_reuseaddr(true)?;
        s.bind(addr)?;
        Ok(s.listen(1024)?)
    };
    // The old accept loops may still be winding down: retry briefly.
    let deadline = Instant::now() + std::time::Duration::from_secs(2);
    let (g, i) = loop {
        match (bind(p.gateway_addr), bind(p.ingress_addr)) {
            (Ok(g), Ok(i)) => break (g, i),
            (Err(e), _) | (_, Err(e)) if Instant::now() >= deadline => {
                return Err(e.context("rebinding the provider's listeners"))
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    };
    serve(set, p, g, i);
    Ok(())
}

fn router(access: Arc<dyn ChainAccess>, p: Arc<Provider>) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/address", get(address))
        .route("/status", get(status))
        .route("/deployment/{dseq}/manifest", put(put_manifest))
        .route("/lease/{dseq}/{gseq}/{oseq}/status", get(lease_status))
        .route("/lease/{dseq}/{gseq}/{oseq}/manifest", get(lease_manifest))
        .route(
            "/lease/{dseq}/{gseq}/{oseq}/service/{service}/status",
            get(service_status),
        )
        .with_state(Gw { access, p })
}

fn text(code: StatusCode, msg: impl Into<String>) -> Response {
    let mut m = msg.into();
    m.push('\n');
    (code, [("content-type", "text/plain; charset=utf-8")], m).into_response()
}

fn json(v: serde_json::Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

async fn version() -> Response {
    json(serde_json::json!({
        "akash": {
            "name": "provider-services",
            "server_name": "provider-services",
            "version": "v0.10.0-devnet",
            "commit": "devnet",
            "build_tags": "\"osusergo,netgo,static_build\"",
            "go": "go version go1.24.0 linux/amd64",
            "build_deps": [],
            "cosmos_sdk_version": "v0.53.0"
        },
        "kube": {
            "major": "1", "minor": "31", "gitVersion": "v1.31.0", "gitCommit": "devnet",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.24.0", "compiler": "gc", "platform": "linux/amd64"
        }
    }))
}

async fn address(State(gw): State<Gw>) -> Response {
    json(serde_json::json!({ "address": gw.p.address }))
}

async fn status(State(gw): State<Gw>) -> Response {
    let p = &gw.p;
    let st = p.state();
    let used = st
        .reserved
        .values()
        .fold(super::Usage::default(), |a, u| a.add(u));
    let res = |cpu: u64, gpu: u64, mem: u64, storage: u64| {
        serde_json::json!({
            "cpu": cpu, "gpu": gpu, "memory": mem, "storage_ephemeral": storage
        })
    };
    let cap = p.capacity;
    let leases = st.leases.len();
    let pending = st.seen_orders.len();
    let deployments = st.manifests.len();
    drop(st);
    json(serde_json::json!({
        "cluster": {
            "leases": leases,
            "inventory": {
                "active": [res(used.cpu_milli, used.gpu, used.memory, used.storage)],
                "available": {
                    "nodes": [{
                        "name": format!("{}-node-1", p.name),
                        "allocatable": res(cap.cpu_milli, cap.gpu, cap.memory, cap.storage),
                        "available": res(
                            cap.cpu_milli.saturating_sub(used.cpu_milli),
                            cap.gpu.saturating_sub(used.gpu),
                            cap.memory.saturating_sub(used.memory),
                            cap.storage.saturating_sub(used.storage)),
                    }],
                    "storage": [{"class": "beta2", "size": cap.storage.saturating_sub(used.storage)}]
                }
            }
        },
        "bidengine": { "orders": pending },
        "manifest": { "deployments": deployments },
        "cluster_public_hostname": format!("{}.devnet", p.name),
        "address": p.address,
    }))
}

/// Who is calling.
struct Identity {
    owner: String,
    claims: Option<jwt::Claims>,
}

impl Identity {
    fn allows(&self, provider: &str, scope: Scope, dseq: u64) -> bool {
        self.claims
            .as_ref()
            .is_none_or(|c| c.allows(provider, scope, dseq))
    }
}

fn unauthorized(msg: impl Into<String>) -> Response {
    text(StatusCode::UNAUTHORIZED, msg)
}

/// mTLS or JWT (not both), checked against the chain.
fn authenticate(gw: &Gw, peer: &PeerCerts, headers: &HeaderMap) -> Result<Identity, Response> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    match (peer.0.is_empty(), bearer) {
        (false, Some(_)) => Err(unauthorized(
            "ambiguous authentication: both a client certificate and a JWT",
        )),
        (false, None) => authenticate_cert(gw, &peer.0),
        (true, Some(h)) => {
            let token = h
                .strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
                .ok_or_else(|| unauthorized("authorization is not a Bearer token"))?;
            authenticate_jwt(gw, token.trim())
        }
        (true, None) => Err(unauthorized("authentication required")),
    }
}

fn authenticate_cert(gw: &Gw, chain: &[Vec<u8>]) -> Result<Identity, Response> {
    if chain.len() != 1 {
        return Err(unauthorized("tls: expected exactly one client certificate"));
    }
    let der = &chain[0];
    let c = certs::parse_der(der).map_err(|e| unauthorized(format!("tls: {e}")))?;
    if c.subject_cn != c.issuer_cn {
        return Err(unauthorized("tls: subject CN differs from issuer CN"));
    }
    if keys::address_bytes(&c.subject_cn).is_none() {
        return Err(unauthorized(
            "tls: subject CN is not a valid bech32 address",
        ));
    }
    if !c.client_auth {
        return Err(unauthorized(
            "tls: certificate is not for client authentication",
        ));
    }
    let now = unix_now();
    if now < c.not_before || now > c.not_after {
        return Err(unauthorized("tls: certificate expired or not yet valid"));
    }
    let rec = read(&*gw.access, |ch| {
        ch.certificates
            .get(&(c.subject_cn.clone(), c.serial.clone()))
            .cloned()
    })
    .ok_or_else(|| unauthorized("tls: certificate not found on chain"))?;
    if rec.state != CertificateState::Valid as i32 {
        return Err(unauthorized("tls: certificate is not valid on chain"));
    }
    let on_chain_der = certs::der_from_pem(&rec.cert).unwrap_or_default();
    let pubkey = certs::pubkey_der_from_pem(&rec.pubkey).unwrap_or_default();
    if on_chain_der != *der || !certs::verify_signed_by(der, &pubkey) {
        return Err(unauthorized("tls: certificate does not match the chain's"));
    }
    Ok(Identity {
        owner: c.subject_cn,
        claims: None,
    })
}

fn authenticate_jwt(gw: &Gw, token: &str) -> Result<Identity, Response> {
    let claims = jwt::peek_claims(token).map_err(|e| unauthorized(format!("jwt: {e}")))?;
    let pubkey = read(&*gw.access, |c| {
        c.accounts.get(&claims.iss).and_then(|a| a.pub_key.clone())
    })
    .ok_or_else(|| unauthorized("jwt: issuer has no public key on chain"))?;
    let claims =
        jwt::verify(token, &pubkey, unix_now()).map_err(|e| unauthorized(format!("jwt: {e}")))?;
    Ok(Identity {
        owner: claims.iss.clone(),
        claims: Some(claims),
    })
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn forbidden() -> Response {
    text(StatusCode::FORBIDDEN, "token does not grant this scope")
}

/// The provider's active leases of `(owner, dseq)` with their group specs.
fn active_leases(gw: &Gw, owner: &str, dseq: u64) -> Vec<(BidKey, GroupSpec)> {
    read(&*gw.access, |c| {
        c.leases
            .iter()
            .filter(|(k, l)| {
                k.0 == owner
                    && k.1 == dseq
                    && k.4 == gw.p.address
                    && l.state == LeaseState::Active as i32
            })
            .filter_map(|(k, _)| {
                let g = c.groups.get(&(k.0.clone(), k.1, k.2))?;
                Some((k.clone(), g.spec.clone()))
            })
            .collect()
    })
}

async fn put_manifest(
    State(gw): State<Gw>,
    Extension(peer): Extension<PeerCerts>,
    Path(dseq): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = match authenticate(&gw, &peer, &headers) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Ok(dseq) = dseq.parse::<u64>() else {
        return text(StatusCode::BAD_REQUEST, "invalid dseq");
    };
    if !id.allows(&gw.p.address, Scope::SendManifest, dseq) {
        return forbidden();
    }
    let gw2 = gw.clone();
    let owner = id.owner.clone();
    let result =
        tokio::task::spawn_blocking(move || accept_manifest(&gw2, &owner, dseq, &body)).await;
    match result {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err((code, msg))) => text(code, msg),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "manifest handler failed"),
    }
}

fn accept_manifest(
    gw: &Gw,
    owner: &str,
    dseq: u64,
    body: &[u8],
) -> Result<(), (StatusCode, String)> {
    let unprocessable = |m: String| (StatusCode::UNPROCESSABLE_ENTITY, m);
    let leases = active_leases(gw, owner, dseq);
    if leases.is_empty() {
        return Err((
            StatusCode::NOT_FOUND,
            format!("no lease for deployment {owner}/{dseq}"),
        ));
    }
    if gw.p.state().faults.reject_manifests {
        return Err(unprocessable(
            "manifest rejected: provider refuses manifests (fault injected)".into(),
        ));
    }
    let manifest: Manifest =
        serde_json::from_slice(body).map_err(|e| unprocessable(format!("manifest decode: {e}")))?;
    let (hash, groups) = read(&*gw.access, |c| {
        let d = c
            .deployments
            .get(&(owner.to_string(), dseq))
            .filter(|d| d.state == DeploymentState::Active as i32)
            .map(|d| d.hash.clone());
        let groups: Vec<GroupSpec> = c
            .groups
            .range((owner.to_string(), dseq, 0)..=(owner.to_string(), dseq, u32::MAX))
            .map(|(_, g)| g.spec.clone())
            .collect();
        (d, groups)
    });
    let hash = hash.ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            format!("deployment {owner}/{dseq} not found or not active"),
        )
    })?;
    let version = manifest.version();
    if version.as_bytes().as_slice() != hash.as_slice() {
        return Err(unprocessable(format!(
            "manifest version validation failed: manifest version {} does not match the deployment's {}",
            version.to_hex(),
            hex::encode(&hash)
        )));
    }
    for g in &manifest.0 {
        if !groups.iter().any(|s| s.name == g.name) {
            return Err(unprocessable(format!(
                "manifest group {:?} is not a group of the deployment",
                g.name
            )));
        }
    }
    let mut accepted = Vec::new();
    for (key, spec) in &leases {
        let group = manifest
            .0
            .iter()
            .find(|g| g.name == spec.name)
            .ok_or_else(|| unprocessable(format!("manifest has no group {:?}", spec.name)))?;
        check_group(group, spec).map_err(|e| unprocessable(format!("invalid manifest: {e}")))?;
        accepted.push((key.clone(), group.clone()));
    }
    let mut st = gw.p.state();
    st.manifests.insert((owner.to_string(), dseq), manifest);
    for (key, group) in accepted {
        let track = st.leases.entry(key.clone()).or_insert(LeaseTrack {
            seen: Instant::now(),
            manifest: false,
        });
        track.manifest = true;
        super::workload::start(&mut st, &gw.p, &key, &group);
    }
    Ok(())
}

/// Go's `ManifestGroup` checks against the lease's group spec: sorted unique services, every
/// service's resources equal to its unit's, counts using each unit fully, and the endpoints
/// per kind equal to the unit's.
pub(crate) fn check_group(group: &ManifestGroup, spec: &GroupSpec) -> Result<()> {
    for w in group.services.windows(2) {
        if w[0].name >= w[1].name {
            return Err(anyhow!("services are not sorted by name or not unique"));
        }
    }
    let mut used: BTreeMap<u32, u32> = BTreeMap::new();
    let mut endpoints: BTreeMap<u32, BTreeMap<i32, usize>> = BTreeMap::new();
    for s in &group.services {
        if s.name.is_empty() || s.image.is_empty() {
            return Err(anyhow!("service {:?}: empty name or image", s.name));
        }
        if s.count == 0 {
            return Err(anyhow!("service {:?}: count is zero", s.name));
        }
        let unit = spec
            .resources
            .iter()
            .find(|u| u.resource.id == s.resources.id)
            .ok_or_else(|| {
                anyhow!(
                    "service {:?}: resources id {} is not in group {:?}",
                    s.name,
                    s.resources.id,
                    spec.name
                )
            })?;
        let (a, b) = (&s.resources, &unit.resource);
        let val = |v: Option<u64>| v.unwrap_or(0);
        if val(a.cpu.as_ref().and_then(|c| c.units.value()))
            != val(b.cpu.as_ref().and_then(|c| c.units.value()))
        {
            return Err(anyhow!("service {:?}: CPU differs from the group", s.name));
        }
        if val(a.memory.as_ref().and_then(|m| m.quantity.value()))
            != val(b.memory.as_ref().and_then(|m| m.quantity.value()))
        {
            return Err(anyhow!(
                "service {:?}: memory differs from the group",
                s.name
            ));
        }
        if val(a.gpu.as_ref().and_then(|g| g.units.value()))
            != val(b.gpu.as_ref().and_then(|g| g.units.value()))
        {
            return Err(anyhow!("service {:?}: GPU differs from the group", s.name));
        }
        let storage = |r: &af_akash::sdl::Resources| {
            let mut v: Vec<(String, u64)> = r
                .storage
                .iter()
                .map(|s| (s.name.clone(), s.quantity.value().unwrap_or(0)))
                .collect();
            v.sort();
            v
        };
        if storage(a) != storage(b) {
            return Err(anyhow!(
                "service {:?}: storage differs from the group",
                s.name
            ));
        }
        let n = used.entry(unit.resource.id).or_default();
        *n = n.saturating_add(s.count);
        let mut eps = Vec::new();
        for e in &s.expose {
            e.endpoints(&mut eps);
        }
        let kinds = endpoints.entry(unit.resource.id).or_default();
        for e in eps {
            *kinds.entry(e.kind).or_default() += 1;
        }
    }
    for unit in &spec.resources {
        let n = used.get(&unit.resource.id).copied().unwrap_or(0);
        if n != unit.count {
            return Err(anyhow!(
                "group {:?} unit {}: services use {n} of {} replicas",
                spec.name,
                unit.resource.id,
                unit.count
            ));
        }
        let mut want: BTreeMap<i32, usize> = BTreeMap::new();
        for e in &unit.resource.endpoints {
            *want.entry(e.kind).or_default() += 1;
        }
        let got = endpoints.remove(&unit.resource.id).unwrap_or_default();
        // Leased IP endpoints are shared per name; compare their presence, not counts.
        let strip = |m: &BTreeMap<i32, usize>| -> BTreeMap<i32, usize> {
            m.iter()
                .map(|(k, v)| {
                    if *k == EndpointKind::LeasedIp as i32 {
                        (*k, 1)
                    } else {
                        (*k, *v)
                    }
                })
                .collect()
        };
        if strip(&got) != strip(&want) {
            return Err(anyhow!(
                "group {:?} unit {}: endpoints differ from the group",
                spec.name,
                unit.resource.id
            ));
        }
    }
    Ok(())
}

/// Parses `dseq/gseq/oseq` and finds the caller's active lease at this provider.
fn lease_of(
    gw: &Gw,
    id: &Identity,
    (dseq, gseq, oseq): (String, String, String),
    scope: Scope,
) -> Result<BidKey, Response> {
    let (Ok(dseq), Ok(gseq), Ok(oseq)) = (
        dseq.parse::<u64>(),
        gseq.parse::<u32>(),
        oseq.parse::<u32>(),
    ) else {
        return Err(text(StatusCode::BAD_REQUEST, "invalid lease id"));
    };
    if !id.allows(&gw.p.address, scope, dseq) {
        return Err(forbidden());
    }
    read(&*gw.access, |c| {
        c.leases
            .iter()
            .find(|(k, l)| {
                k.0 == id.owner
                    && k.1 == dseq
                    && k.2 == gseq
                    && k.3 == oseq
                    && k.4 == gw.p.address
                    && l.state == LeaseState::Active as i32
            })
            .map(|(k, _)| k.clone())
    })
    .ok_or_else(|| text(StatusCode::NOT_FOUND, "lease not found"))
}

/// Authenticates the caller and finds the lease at `path` it may access with `scope`.
fn authorized_lease(
    gw: &Gw,
    peer: &PeerCerts,
    headers: &HeaderMap,
    path: (String, String, String),
    scope: Scope,
) -> Result<BidKey, Response> {
    let id = authenticate(gw, peer, headers)?;
    lease_of(gw, &id, path, scope)
}

async fn lease_status(
    State(gw): State<Gw>,
    Extension(peer): Extension<PeerCerts>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let key = match authorized_lease(&gw, &peer, &headers, path, Scope::Status) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let st = gw.p.state();
    match st.workloads.get(&key) {
        Some(w) => json(w.status_json()),
        None => text(StatusCode::NOT_FOUND, "no manifest for lease"),
    }
}

async fn lease_manifest(
    State(gw): State<Gw>,
    Extension(peer): Extension<PeerCerts>,
    Path(path): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let key = match authorized_lease(&gw, &peer, &headers, path, Scope::GetManifest) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let st = gw.p.state();
    match st.manifests.get(&(key.0.clone(), key.1)) {
        Some(m) => match serde_json::to_value(m) {
            Ok(v) => json(v),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        None => text(StatusCode::NOT_FOUND, "no manifest for lease"),
    }
}

async fn service_status(
    State(gw): State<Gw>,
    Extension(peer): Extension<PeerCerts>,
    Path((dseq, gseq, oseq, service)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let key = match authorized_lease(&gw, &peer, &headers, (dseq, gseq, oseq), Scope::Status) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let st = gw.p.state();
    match st
        .workloads
        .get(&key)
        .and_then(|w| w.services.iter().find(|s| s.name == service))
    {
        Some(s) => json(s.status_json()),
        None => text(StatusCode::NOT_FOUND, "service not found"),
    }
}
