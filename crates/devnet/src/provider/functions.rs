//! The devnet's functions runtime: runtime contract v1 (README, "The runtime contract, v1"),
//! run by a provider for every service instance whose manifest env has
//! `AF_RUNTIME_CONTRACT=v1`.
//!
//! Each such service is one runtime node with its own state. On its own hostnames (the lease
//! URI, exact `accept` hosts) it serves the admin API under `/_af/v1/`, authenticated with the
//! service's `AF_RUNTIME_TOKEN` (compared in constant time). `PUT /_af/v1/functions/{slug}`
//! fetches the bundle by CID, block by block and each block checked against its CID (over HTTP
//! from `AF_IPFS_GATEWAY` when set, else from the devnet's own block store), checks its BLAKE3,
//! and only then replaces the running version. On a wildcard `accept` host (`*.<domain>`), or
//! under the node's `AF_WILDCARD_DOMAIN`, `Host: <slug>.<domain>` serves function `slug`: its health path, its routes (matched by
//! [`af_akash::routes`], proxied to their targets), or the function's own JSON answer.
//!
//! A devnet fault ([`Shared::faults`]) marks a `(slug, version)` unhealthy on every node of
//! every provider: its health path answers 503 and the admin API reports `"healthy": false`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use af_akash::routes::RouteTable;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::lock;
use crate::ipfs::{self, BlockStore};

/// The manifest env variable that makes a service a functions runtime (value `v1`).
pub const CONTRACT_ENV: &str = "AF_RUNTIME_CONTRACT";
/// The contract version this runtime implements.
pub const CONTRACT_VERSION: &str = "v1";
/// The env variable holding the admin API's bearer token.
pub const TOKEN_ENV: &str = "AF_RUNTIME_TOKEN";
/// The env variable naming the IPFS gateway bundles are fetched from.
pub const GATEWAY_ENV: &str = "AF_IPFS_GATEWAY";
/// The env variable naming the runtime's wildcard domain (`af-functions.dev`).
pub const DOMAIN_ENV: &str = "AF_WILDCARD_DOMAIN";
/// The env variable naming the node (`node-0`, …).
pub const NODE_ENV: &str = "AF_NODE";
/// The admin API's path prefix.
pub const ADMIN_PREFIX: &str = "/_af/v1/";
/// On a node's own hostname, a request with this header is served by that node's function
/// of this slug (how the operator health-checks one node's version).
pub const FUNCTION_HEADER: &str = "x-af-function";
/// The default health path of a function.
pub const DEFAULT_HEALTH_PATH: &str = "/healthz";

/// The largest admin request body.
const ADMIN_BODY_LIMIT: usize = 1 << 20;
/// The largest request body proxied to a route's target.
const PROXY_BODY_LIMIT: usize = 16 << 20;

/// What every provider's runtime nodes share: the devnet's IPFS, the version faults and an
/// HTTP client (for gateways and route targets).
pub(crate) struct Shared {
    pub ipfs: Option<BlockStore>,
    faults: Mutex<BTreeSet<(String, String, Option<String>)>>,
    pub(crate) http: reqwest::Client,
    /// Resolves a provider's ingress hostname to its ingress listener (set once the providers
    /// run), as the devnet's DNS would.
    resolver: std::sync::OnceLock<HostResolver>,
}

/// See [`Shared::resolve_host`].
pub(crate) type HostResolver = Box<dyn Fn(&str) -> Option<std::net::SocketAddr> + Send + Sync>;

/// A `(slug, version)` marked unhealthy by the devnet fault, on every node or on one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionFault {
    /// The function's slug.
    pub slug: String,
    /// The version made unhealthy.
    pub version: String,
    /// Only on this node (`AF_NODE`, e.g. `node-1`); every node when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Shared {
    pub(crate) fn new(ipfs: Option<BlockStore>) -> Shared {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Shared {
            ipfs,
            faults: Mutex::new(BTreeSet::new()),
            http,
            resolver: std::sync::OnceLock::new(),
        }
    }

    /// Sets how hostnames resolve (once).
    pub(crate) fn set_resolver(&self, r: HostResolver) {
        let _ = self.resolver.set(r);
    }

    /// The ingress listener serving `host`, when some provider serves it.
    pub(crate) fn resolve_host(&self, host: &str) -> Option<std::net::SocketAddr> {
        self.resolver.get().and_then(|r| r(host))
    }

    /// Marks `version` of `slug` unhealthy (`true`) or healthy again.
    pub(crate) fn set_fault(&self, fault: FunctionFault, unhealthy: bool) {
        let mut f = lock(&self.faults);
        let key = (fault.slug, fault.version, fault.node);
        if unhealthy {
            f.insert(key);
        } else {
            f.remove(&key);
        }
    }

    /// Clears every version fault.
    pub(crate) fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// The version faults set.
    pub(crate) fn faults(&self) -> Vec<FunctionFault> {
        lock(&self.faults)
            .iter()
            .map(|(slug, version, node)| FunctionFault {
                slug: slug.clone(),
                version: version.clone(),
                node: node.clone(),
            })
            .collect()
    }

    fn healthy(&self, slug: &str, version: &str, node: &str) -> bool {
        let f = lock(&self.faults);
        let (s, v) = (slug.to_string(), version.to_string());
        !f.contains(&(s.clone(), v.clone(), None)) && !f.contains(&(s, v, Some(node.to_string())))
    }
}

/// One function as a node runs it. Env values are held here and never shown.
struct Deployed {
    version: String,
    cid: String,
    blake3: String,
    routes: Vec<(String, String)>,
    table: RouteTable<String>,
    env: BTreeMap<String, Zeroizing<String>>,
    weight: u32,
    health_path: String,
    size: usize,
}

/// One runtime node (one service instance running the functions runtime).
pub(crate) struct FunctionNode {
    node: String,
    /// SHA-256 of `AF_RUNTIME_TOKEN` (`None` when the env has none: every call is refused).
    token_digest: Option<[u8; 32]>,
    gateway: Option<String>,
    /// `AF_WILDCARD_DOMAIN`, lowercase, without a leading `*.`.
    domain: Option<String>,
    functions: Mutex<BTreeMap<String, Arc<Deployed>>>,
    /// Serialises changes (a PUT holds it across its fetch).
    admin: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for FunctionNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionNode")
            .field("node", &self.node)
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

/// The value of `name` in a manifest env (`NAME=value` items).
pub(crate) fn env_value<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter().find_map(|e| {
        e.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })
}

impl FunctionNode {
    /// The runtime of a service whose env declares `AF_RUNTIME_CONTRACT=v1`; `None` for any
    /// other service (which stays a plain workload).
    pub(crate) fn from_env(service: &str, env: &[String]) -> Option<FunctionNode> {
        if env_value(env, CONTRACT_ENV)? != CONTRACT_VERSION {
            return None;
        }
        let token_digest = env_value(env, TOKEN_ENV)
            .filter(|t| !t.is_empty())
            .map(|t| Sha256::digest(t.as_bytes()).into());
        let gateway = env_value(env, GATEWAY_ENV)
            .map(|g| g.trim().trim_end_matches('/').to_string())
            .filter(|g| !g.is_empty());
        let domain = env_value(env, DOMAIN_ENV)
            .map(|d| d.trim().trim_start_matches("*.").trim_end_matches('.'))
            .filter(|d| !d.is_empty())
            .map(|d| d.to_ascii_lowercase());
        let node = env_value(env, NODE_ENV)
            .filter(|n| !n.is_empty())
            .unwrap_or(service)
            .to_string();
        Some(FunctionNode {
            node,
            token_digest,
            gateway,
            domain,
            functions: Mutex::new(BTreeMap::new()),
            admin: tokio::sync::Mutex::new(()),
        })
    }

    /// The hostname function `slug` is served at (`<slug>.<domain>`, or the slug alone when
    /// the node has no domain).
    pub(crate) fn function_host(&self, slug: &str) -> String {
        match &self.domain {
            Some(d) => format!("{slug}.{d}"),
            None => slug.to_string(),
        }
    }

    /// Whether `host` is `<one label>.<AF_WILDCARD_DOMAIN>`.
    pub(crate) fn serves_domain_of(&self, host: &str) -> bool {
        self.domain
            .as_ref()
            .is_some_and(|d| wildcard_matches(&format!("*.{d}"), host))
    }

    fn get(&self, slug: &str) -> Option<Arc<Deployed>> {
        lock(&self.functions).get(slug).cloned()
    }

    /// Whether `headers` carry `Authorization: Bearer <the token>`. Both sides are hashed and
    /// the digests compared without an early exit, so timing tells nothing about the token.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.token_digest else {
            return false;
        };
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        want.iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

fn error(status: StatusCode, reason: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"error": reason, "message": message.into()})),
    )
        .into_response()
}

/// Whether `slug` is a DNS label (what a subdomain can carry).
fn valid_slug(slug: &str) -> bool {
    (1..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

fn function_json(slug: &str, f: &Deployed, shared: &Shared, node: &str) -> Value {
    let routes: serde_json::Map<String, Value> = f
        .routes
        .iter()
        .map(|(p, t)| (p.clone(), Value::String(t.clone())))
        .collect();
    json!({
        "slug": slug,
        "node": node,
        "version": f.version,
        "cid": f.cid,
        "blake3": f.blake3,
        "routes": routes,
        "envNames": f.env.keys().collect::<Vec<_>>(),
        "weight": f.weight,
        "healthPath": f.health_path,
        "healthy": shared.healthy(slug, &f.version, node),
        "size": f.size,
    })
}

/// The admin API: `PUT|GET|DELETE /_af/v1/functions/{slug}`, `GET /_af/v1/functions`.
pub(crate) async fn admin(shared: &Shared, node: &FunctionNode, req: Request) -> Response {
    if !node.authorized(req.headers()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "a valid `Authorization: Bearer <runtime token>` is required",
        );
    }
    let path = req.uri().path().to_string();
    let rest = path
        .strip_prefix(ADMIN_PREFIX)
        .unwrap_or("")
        .trim_end_matches('/');
    let slug = match rest.split_once('/') {
        None if rest == "functions" => None,
        Some(("functions", slug)) if !slug.contains('/') => Some(slug.to_string()),
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("no admin route {path}: use {ADMIN_PREFIX}functions[/SLUG]"),
            )
        }
    };
    let method = req.method().clone();
    match (slug, method) {
        (None, Method::GET) => {
            let all: Vec<Value> = lock(&node.functions)
                .iter()
                .map(|(s, f)| function_json(s, f, shared, &node.node))
                .collect();
            (
                StatusCode::OK,
                axum::Json(json!({"node": node.node, "functions": all})),
            )
                .into_response()
        }
        (Some(slug), _) if !valid_slug(&slug) => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("{slug:?} is not a slug: expected a DNS label (a-z, 0-9, -; at most 63)"),
        ),
        (Some(slug), Method::GET) => match node.get(&slug) {
            Some(f) => (
                StatusCode::OK,
                axum::Json(function_json(&slug, &f, shared, &node.node)),
            )
                .into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("no function {slug:?} on {}", node.node),
            ),
        },
        (Some(slug), Method::DELETE) => {
            let _guard = node.admin.lock().await;
            match lock(&node.functions).remove(&slug) {
                Some(_) => StatusCode::NO_CONTENT.into_response(),
                None => error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("no function {slug:?} on {}", node.node),
                ),
            }
        }
        (Some(slug), Method::PUT) => {
            let body = match axum::body::to_bytes(req.into_body(), ADMIN_BODY_LIMIT).await {
                Ok(b) => b,
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        format!("the body could not be read or exceeds {ADMIN_BODY_LIMIT} bytes"),
                    )
                }
            };
            put(shared, node, &slug, &body).await
        }
        (s, m) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!(
                "{m} is not served on {path}: {}",
                if s.is_some() {
                    "use PUT, GET or DELETE"
                } else {
                    "use GET"
                }
            ),
        ),
    }
}

/// The PUT body of contract v1. Unknown fields are ignored (a tolerant reader).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutBody {
    version: String,
    cid: String,
    blake3: String,
    #[serde(default)]
    routes: serde_json::Map<String, Value>,
    #[serde(default)]
    env: serde_json::Map<String, Value>,
    #[serde(default = "default_weight")]
    weight: u32,
    #[serde(default)]
    health_path: Option<String>,
}

fn default_weight() -> u32 {
    100
}

fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// Checks a PUT body and builds what it would run (without the bundle's size).
#[allow(clippy::result_large_err)] // the error is the ready-made answer
fn parse_put(body: &[u8]) -> Result<Deployed, Response> {
    let b: PutBody = serde_json::from_slice(body).map_err(|e| {
        // serde's message names the field, never a value.
        bad_request(format!(
            "expected {{\"version\", \"cid\", \"blake3\", \"routes\", \"env\", \"weight\", \"healthPath\"}}: {e}"
        ))
    })?;
    if b.version.is_empty() {
        return Err(bad_request("`version` is empty"));
    }
    ipfs::parse_cid(&b.cid).map_err(|e| bad_request(format!("`cid`: {e}")))?;
    let blake3 = b.blake3.to_ascii_lowercase();
    if blake3.len() != 64 || !blake3.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad_request(format!(
            "`blake3` {:?} is not a BLAKE3 digest: expected 64 hex digits",
            b.blake3
        )));
    }
    let mut routes = Vec::with_capacity(b.routes.len());
    for (pattern, target) in &b.routes {
        let Some(target) = target.as_str() else {
            return Err(bad_request(format!(
                "route {pattern:?}: the target is not a string"
            )));
        };
        match url::Url::parse(target) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            _ => {
                return Err(invalid_routes(
                    pattern,
                    format!("route `{pattern}`: target `{target}` is not an http or https URL"),
                ))
            }
        }
        routes.push((pattern.clone(), target.to_string()));
    }
    let table = RouteTable::new(routes.iter().cloned()).map_err(|errors| {
        let first = &errors[0];
        let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        invalid_routes(first.pattern(), all.join("; "))
    })?;
    let mut env = BTreeMap::new();
    for (name, value) in b.env {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(bad_request(format!(
                "env name {name:?} is not a valid name"
            )));
        }
        let Value::String(v) = value else {
            // Say which name, never what value.
            return Err(bad_request(format!(
                "env {name}: the value is not a string"
            )));
        };
        env.insert(name, Zeroizing::new(v));
    }
    let health_path = b
        .health_path
        .unwrap_or_else(|| DEFAULT_HEALTH_PATH.to_string());
    if !health_path.starts_with('/') || health_path.contains(['?', '#']) {
        return Err(bad_request(format!(
            "`healthPath` {health_path:?} must be a path starting with /"
        )));
    }
    Ok(Deployed {
        version: b.version,
        cid: b.cid,
        blake3,
        routes,
        table,
        env,
        weight: b.weight,
        health_path,
        size: 0,
    })
}

fn invalid_routes(pattern: &str, message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({"error": "InvalidRoutes", "message": message, "pattern": pattern})),
    )
        .into_response()
}

/// Fetches a bundle, every block checked against its CID.
async fn fetch(shared: &Shared, node: &FunctionNode, cid: &str) -> Result<Vec<u8>, String> {
    match (&node.gateway, &shared.ipfs) {
        (Some(gw), _) => ipfs::fetch_verified(&shared.http, gw, cid)
            .await
            .map_err(|e| format!("fetching {cid} from {gw}: {e}")),
        (None, Some(store)) => {
            let c = ipfs::parse_cid(cid).map_err(|e| e.to_string())?;
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.cat(&c))
                .await
                .map_err(|e| format!("fetching {cid}: {e}"))?
                .map_err(|e| format!("fetching {cid} from the devnet's IPFS: {e}"))
        }
        (None, None) => Err(format!(
            "no IPFS to fetch {cid} from: set {GATEWAY_ENV} in the runtime's env"
        )),
    }
}

async fn put(shared: &Shared, node: &FunctionNode, slug: &str, body: &[u8]) -> Response {
    let mut new = match parse_put(body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let _guard = node.admin.lock().await;
    let current = node.get(slug);
    // The same bundle, already fetched and verified: a routes, env or weight change needs no
    // fetch.
    match current
        .as_ref()
        .filter(|c| c.cid == new.cid && c.blake3 == new.blake3)
    {
        Some(c) => new.size = c.size,
        None => {
            let bundle = match fetch(shared, node, &new.cid).await {
                Ok(b) => b,
                Err(e) => return error(StatusCode::BAD_GATEWAY, "FetchFailed", e),
            };
            let actual = blake3::hash(&bundle).to_hex().to_string();
            if actual != new.blake3 {
                let keeps = match &current {
                    Some(c) => format!("version {:?} keeps serving", c.version),
                    None => "nothing was running".to_string(),
                };
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "HashMismatch",
                    format!(
                        "the bundle of {} ({} bytes) has BLAKE3 {actual}, not {}; {keeps}",
                        new.cid,
                        bundle.len(),
                        new.blake3
                    ),
                );
            }
            new.size = bundle.len();
        }
    }
    let new = Arc::new(new);
    lock(&node.functions).insert(slug.to_string(), new.clone());
    tracing::debug!(node = %node.node, slug, version = %new.version, "function running");
    (
        StatusCode::OK,
        axum::Json(function_json(slug, &new, shared, &node.node)),
    )
        .into_response()
}

/// Serves `Host: <slug>.<domain>`: the health path, a route (proxied), or the function itself.
pub(crate) async fn serve(
    shared: &Shared,
    node: &FunctionNode,
    slug: &str,
    host: &str,
    req: Request,
) -> Response {
    let Some(f) = node.get(slug) else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no function {slug:?} on {}", node.node),
        );
    };
    let path = req.uri().path();
    if path == f.health_path {
        return if shared.healthy(slug, &f.version, &node.node) {
            (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unhealthy", "version": f.version})),
            )
                .into_response()
        };
    }
    if let Some(m) = f.table.find(path) {
        let target = m.target.clone();
        return proxy(shared, &target, host, req).await;
    }
    (
        StatusCode::OK,
        axum::Json(
            json!({"function": slug, "version": f.version, "cid": f.cid, "node": node.node}),
        ),
    )
        .into_response()
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and those a proxy sets itself.
fn dropped_headers(headers: &HeaderMap) -> HashSet<HeaderName> {
    let mut out: HashSet<HeaderName> = [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        HeaderName::from_static("proxy-connection"),
        header::HOST,
        header::CONTENT_LENGTH,
    ]
    .into_iter()
    .collect();
    for v in headers.get_all(header::CONNECTION) {
        for name in v.to_str().unwrap_or("").split(',') {
            if let Ok(n) = HeaderName::from_bytes(name.trim().as_bytes()) {
                out.insert(n);
            }
        }
    }
    out
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    let drop = dropped_headers(from);
    for (name, value) in from {
        if !drop.contains(name) {
            to.append(name.clone(), value.clone());
        }
    }
}

fn upstream_failed(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_GATEWAY, "UpstreamFailed", message)
}

/// Proxies `req` to `target` + its path and query.
async fn proxy(shared: &Shared, target: &str, host: &str, req: Request) -> Response {
    let Ok(mut url) = url::Url::parse(target) else {
        return upstream_failed(format!("the route's target {target:?} is not a URL"));
    };
    let base = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{base}{}", req.uri().path()));
    url.set_query(req.uri().query());
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, PROXY_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BadRequest",
                format!("the request body could not be read or exceeds {PROXY_BODY_LIMIT} bytes"),
            )
        }
    };
    let mut headers = HeaderMap::new();
    copy_headers(&parts.headers, &mut headers);
    if let Ok(h) = host.parse() {
        headers.insert(HeaderName::from_static("x-forwarded-host"), h);
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        header::HeaderValue::from_static("http"),
    );
    let resp = match shared
        .http
        .request(parts.method, url.clone())
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let e = e.without_url();
            return upstream_failed(format!("{url}: {e}"));
        }
    };
    let status = resp.status();
    let mut out_headers = HeaderMap::new();
    copy_headers(resp.headers(), &mut out_headers);
    let bytes = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return upstream_failed(format!("{url}: reading the answer: {}", e.without_url()))
        }
    };
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = out_headers;
    out
}

/// Whether a wildcard `accept` item (`*.example.com`) covers `host`: exactly one more label,
/// as a Kubernetes ingress matches (`a.example.com`, not `example.com` or `a.b.example.com`).
pub(crate) fn wildcard_matches(pattern: &str, host: &str) -> bool {
    let Some(suffix) = pattern.strip_prefix("*.").filter(|s| !s.is_empty()) else {
        return false;
    };
    let Some(cut) = host.len().checked_sub(suffix.len() + 1) else {
        return false;
    };
    match (host.get(..cut), host.get(cut..=cut), host.get(cut + 1..)) {
        (Some(label), Some("."), Some(tail)) => {
            !label.is_empty() && !label.contains('.') && tail.eq_ignore_ascii_case(suffix)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_label() {
        assert!(wildcard_matches("*.fn.test", "api.fn.test"));
        assert!(!wildcard_matches("*.fn.test", "fn.test"));
        assert!(!wildcard_matches("*.fn.test", ".fn.test"));
        assert!(!wildcard_matches("*.fn.test", "a.b.fn.test"));
        assert!(!wildcard_matches("*.fn.test", "apifn.test"));
        assert!(!wildcard_matches("fn.test", "a.fn.test"));
        assert!(!wildcard_matches("*.", "a."));
        assert!(!wildcard_matches("*.fé.test", "a.f.test"));
        assert!(wildcard_matches("*.Fn.Test", "api.fn.test"));
    }

    fn node(env: &[&str]) -> Option<FunctionNode> {
        let env: Vec<String> = env.iter().map(|s| s.to_string()).collect();
        FunctionNode::from_env("node-0", &env)
    }

    #[test]
    fn only_contract_v1_makes_a_runtime() {
        assert!(node(&["AF_RUNTIME_CONTRACT=v1"]).is_some());
        assert!(node(&["AF_RUNTIME_CONTRACT=v2"]).is_none());
        assert!(node(&["PORT=80"]).is_none());
        let n = node(&["AF_RUNTIME_CONTRACT=v1", "AF_NODE=node-3"]).unwrap();
        assert_eq!(n.node, "node-3");
    }

    #[test]
    fn the_token_is_required_and_compared_whole() {
        let n = node(&["AF_RUNTIME_CONTRACT=v1", "AF_RUNTIME_TOKEN=s3cret"]).unwrap();
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, v.parse().unwrap());
            m
        };
        assert!(n.authorized(&h("Bearer s3cret")));
        assert!(!n.authorized(&h("Bearer s3cre")));
        assert!(!n.authorized(&h("Bearer s3crett")));
        assert!(!n.authorized(&h("s3cret")));
        assert!(!n.authorized(&HeaderMap::new()));
        // No token in the env: nothing is authorized.
        let open = node(&["AF_RUNTIME_CONTRACT=v1", "AF_RUNTIME_TOKEN="]).unwrap();
        assert!(!open.authorized(&h("Bearer ")));
        assert!(!open.authorized(&h("Bearer x")));
    }

    #[test]
    fn put_bodies_are_checked() {
        let cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
        let b3 = "a".repeat(64);
        let ok = json!({"version": "1", "cid": cid, "blake3": b3,
                        "routes": {"/api/*": "http://127.0.0.1:1", "/*": "http://127.0.0.1:2"},
                        "env": {"SECRET": "hunter2"}, "weight": 50});
        let d = parse_put(&serde_json::to_vec(&ok).unwrap()).unwrap();
        assert_eq!(d.health_path, "/healthz");
        assert_eq!(d.routes[0].0, "/api/*", "order kept");
        assert_eq!(d.table.find("/api/x").unwrap().target, "http://127.0.0.1:1");

        let status = |v: Value| {
            parse_put(&serde_json::to_vec(&v).unwrap())
                .err()
                .map(|r| r.status())
        };
        assert_eq!(status(json!({"cid": cid})), Some(StatusCode::BAD_REQUEST));
        let mut bad = ok.clone();
        bad["blake3"] = json!("xyz");
        assert_eq!(status(bad), Some(StatusCode::BAD_REQUEST));
        let mut bad = ok.clone();
        bad["cid"] = json!("Qm123");
        assert_eq!(status(bad), Some(StatusCode::BAD_REQUEST));
        let mut bad = ok.clone();
        bad["routes"] = json!({"/a/:x": "http://h", "/a/:y": "http://h"});
        assert_eq!(status(bad), Some(StatusCode::UNPROCESSABLE_ENTITY));
        let mut bad = ok.clone();
        bad["routes"] = json!({"nope": "http://h"});
        assert_eq!(status(bad), Some(StatusCode::UNPROCESSABLE_ENTITY));
        let mut bad = ok.clone();
        bad["routes"] = json!({"/a": "ftp://h"});
        assert_eq!(status(bad), Some(StatusCode::UNPROCESSABLE_ENTITY));
        let mut bad = ok.clone();
        bad["healthPath"] = json!("healthz");
        assert_eq!(status(bad), Some(StatusCode::BAD_REQUEST));
        let mut bad = ok;
        bad["env"] = json!({"SECRET": 5});
        assert_eq!(status(bad), Some(StatusCode::BAD_REQUEST));
    }

    #[tokio::test]
    async fn a_put_of_the_running_bundle_changes_routes_without_a_fetch() {
        let store = BlockStore::default();
        let bundle = b"export default () => 'hi'".to_vec();
        let cid = store.add(&bundle, 1).to_string();
        let b3 = blake3::hash(&bundle).to_hex().to_string();
        let with_ipfs = Shared::new(Some(store));
        let no_ipfs = Shared::new(None);
        let n = node(&["AF_RUNTIME_CONTRACT=v1"]).unwrap();
        let body = |blake3: &str, routes: Value| {
            serde_json::to_vec(
                &json!({"version": "1", "cid": cid, "blake3": blake3, "routes": routes}),
            )
            .unwrap()
        };
        // Nothing to fetch from.
        let r = put(&no_ipfs, &n, "f", &body(&b3, json!({}))).await;
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        assert!(n.get("f").is_none());
        let r = put(&with_ipfs, &n, "f", &body(&b3, json!({}))).await;
        assert_eq!(r.status(), StatusCode::OK);
        // The same CID and digest with new routes: applied without any IPFS at hand.
        let r = put(
            &no_ipfs,
            &n,
            "f",
            &body(&b3, json!({"/a": "http://127.0.0.1:9"})),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(n.get("f").unwrap().routes.len(), 1);
        // Another digest for the same CID is fetched again, and refused.
        let r = put(&with_ipfs, &n, "f", &body(&"0".repeat(64), json!({}))).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            n.get("f").unwrap().routes.len(),
            1,
            "the running version stays"
        );
    }
}
