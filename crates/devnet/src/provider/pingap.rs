//! The devnet's Pingap stand-in: what a provider runs for a service whose image is
//! `vicanso/pingap` (any tag), so that the operator's Proxy routes are exercised for real.
//!
//! **Admin API** (the part of Pingap's that the operator uses), served on the container port
//! of `PINGAP_ADMIN_ADDR` (`host:port`, default port 3018) — reached through that port's
//! forwarded port:
//! - `GET /api/configs/{category}`: the named configs of one category (`upstream`,
//!   `location`, `server`, `plugin`, `certificate`, `storage`) as one JSON object;
//! - `POST /api/configs/{category}/{name}`: creates or replaces one (a JSON object), checked
//!   as Pingap checks it where the stand-in understands it (an upstream needs `addrs` of
//!   `host:port [weight]`, a location's `host` and `path` regexes must compile) → 204;
//! - `DELETE /api/configs/{category}/{name}` → 204.
//!
//! Every call carries Pingap's admin authorization, `Authorization: <hex SHA-256 of
//! "user:password:ts">:<ts>` with `ts` (unix seconds) within two days of now, for
//! `PINGAP_ADMIN_USER` / `PINGAP_ADMIN_PASSWORD`; a service with no password refuses every
//! call (stricter than Pingap, which then has no authentication at all).
//!
//! **Data plane**: on the service's leased-IP endpoints (each gets a real local listener; plain
//! HTTP on 443 too, the stand-in has no TLS). A request is matched against the locations that
//! some server listening on that port lists, as Pingap weighs them (a location with an exact
//! host before one with a `~regex` host before one with none; then an exact path `=`, a
//! `~regex` path, and longer path prefixes first), and sent to the location's upstream, its
//! `addrs` in turn (round robin), with the client's `Host` header. An address's hostname is
//! resolved as the devnet's DNS would: a provider's ingress hostname to that provider's
//! ingress listener. No location: 404; no upstream answering: 502. Configs take effect at once
//! (Pingap's `--autoreload` / `--autorestart` take up to 10 s).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::functions::{env_value, Shared};
use super::lock;

/// The env variable with the admin API's address (`[user:pass@]host:port`).
pub const ADMIN_ADDR_ENV: &str = "PINGAP_ADMIN_ADDR";
/// The env variable with the admin user.
pub const ADMIN_USER_ENV: &str = "PINGAP_ADMIN_USER";
/// The env variable with the admin password.
pub const ADMIN_PASSWORD_ENV: &str = "PINGAP_ADMIN_PASSWORD";
/// Pingap's admin port when `PINGAP_ADMIN_ADDR` names none.
pub const DEFAULT_ADMIN_PORT: u32 = 3018;
/// How far an authorization's timestamp may be from now (Pingap's default `max_age`).
const MAX_AGE_SECS: i64 = 2 * 24 * 3600;
/// The categories the admin API keeps.
const CATEGORIES: [&str; 6] = [
    "upstream",
    "location",
    "server",
    "plugin",
    "certificate",
    "storage",
];
/// The largest admin request body.
const ADMIN_BODY_LIMIT: usize = 1 << 20;
/// The largest request body proxied to an upstream.
const PROXY_BODY_LIMIT: usize = 16 << 20;

/// Whether a service of `image` runs the stand-in.
pub(crate) fn is_pingap(image: &str) -> bool {
    let name = image.split(['@', ':']).next().unwrap_or_default();
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    name == "vicanso/pingap"
}

/// One running Pingap: its admin credentials and its configs.
pub(crate) struct PingapNode {
    user: String,
    password: Option<String>,
    /// The admin API's container port.
    pub admin_port: u32,
    configs: Mutex<BTreeMap<String, Map<String, Value>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for PingapNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PingapNode")
            .field("user", &self.user)
            .field("admin_port", &self.admin_port)
            .finish_non_exhaustive()
    }
}

impl PingapNode {
    /// The stand-in of a `vicanso/pingap` service with manifest env `env`.
    pub(crate) fn from_env(image: &str, env: &[String]) -> Option<PingapNode> {
        if !is_pingap(image) {
            return None;
        }
        let addr = env_value(env, ADMIN_ADDR_ENV).unwrap_or_default();
        // `user:pass@addr` is the command line's form; the env splits it in three.
        let (creds, addr) = addr.rsplit_once('@').unwrap_or(("", addr));
        let (mut user, mut password) = match creds.split_once(':') {
            Some((u, p)) => (u.to_string(), Some(p.to_string())),
            None => (String::new(), None),
        };
        if let Some(u) = env_value(env, ADMIN_USER_ENV) {
            user = u.to_string();
        }
        if let Some(p) = env_value(env, ADMIN_PASSWORD_ENV) {
            password = Some(p.to_string());
        }
        let admin_port = addr
            .split('/')
            .next()
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(DEFAULT_ADMIN_PORT);
        Some(PingapNode {
            user,
            password: password.filter(|p| !p.is_empty()),
            admin_port,
            configs: Mutex::new(BTreeMap::new()),
            next: AtomicUsize::new(0),
        })
    }

    fn authorized(&self, headers: &HeaderMap, now: i64) -> bool {
        let Some(password) = &self.password else {
            return false;
        };
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((token, ts)) = value.trim().split_once(':') else {
            return false;
        };
        let Ok(t) = ts.parse::<i64>() else {
            return false;
        };
        if (now - t).abs() > MAX_AGE_SECS {
            return false;
        }
        let want = hex::encode(Sha256::digest(
            format!("{}:{password}:{ts}", self.user).as_bytes(),
        ));
        want.len() == token.len()
            && want
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, axum::Json(json!({"message": text.into()}))).into_response()
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Checks one config as Pingap would refuse it; `Err` says why.
fn check(category: &str, conf: &Map<String, Value>) -> Result<(), String> {
    match category {
        "upstream" => {
            let addrs = conf
                .get("addrs")
                .and_then(Value::as_array)
                .ok_or("upstream addrs is empty")?;
            if addrs.is_empty() {
                return Err("upstream addrs is empty".into());
            }
            for a in addrs {
                let a = a.as_str().ok_or("an upstream addr is not a string")?;
                parse_addr(a)?;
            }
        }
        "location" => {
            for field in ["host", "path"] {
                let Some(v) = conf.get(field) else { continue };
                let v = v
                    .as_str()
                    .ok_or(format!("location {field} is not a string"))?;
                let items: Vec<&str> = if field == "host" {
                    v.split(',').collect()
                } else {
                    vec![v]
                };
                for item in items {
                    if let Some(re) = item.trim().strip_prefix('~') {
                        regex::Regex::new(re)
                            .map_err(|e| format!("location {field} regex {re:?}: {e}"))?;
                    }
                }
            }
        }
        "server" => {
            conf.get("addr")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
                .ok_or("server addr is empty")?;
        }
        _ => {}
    }
    Ok(())
}

/// `host:port [weight]` → (host, port, weight).
fn parse_addr(a: &str) -> Result<(String, u16, u32), String> {
    let mut parts = a.split_whitespace();
    let hp = parts.next().ok_or("an upstream addr is empty")?;
    let weight = match parts.next() {
        Some(w) => w
            .parse()
            .map_err(|_| format!("upstream addr {a:?}: the weight is not a number"))?,
        None => 1,
    };
    let (host, port) = match hp.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse()
                .map_err(|_| format!("upstream addr {a:?}: the port is not a number"))?,
        ),
        None => (hp, 80),
    };
    if host.is_empty() {
        return Err(format!("upstream addr {a:?} has no host"));
    }
    Ok((host.to_string(), port, weight))
}

/// The admin API.
pub(crate) async fn admin(node: &PingapNode, req: Request) -> Response {
    if !node.authorized(req.headers(), now_secs()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/api/configs/") else {
        return message(StatusCode::NOT_FOUND, "not found");
    };
    let mut parts = rest.trim_end_matches('/').splitn(2, '/');
    let category = parts.next().unwrap_or_default().to_string();
    let name = parts.next().map(str::to_string);
    if !CATEGORIES.contains(&category.as_str()) {
        return message(
            StatusCode::BAD_REQUEST,
            format!("unknown category {category:?}"),
        );
    }
    match (method, name) {
        (Method::GET, None) => {
            let c = lock(&node.configs);
            let m: Map<String, Value> = c
                .iter()
                .filter_map(|(k, v)| {
                    let (cat, name) = k.split_once('/')?;
                    (cat == category).then(|| (name.to_string(), Value::Object(v.clone())))
                })
                .collect();
            axum::Json(Value::Object(m)).into_response()
        }
        (Method::POST, Some(name)) if !name.is_empty() && !name.contains('/') => {
            let body = match axum::body::to_bytes(req.into_body(), ADMIN_BODY_LIMIT).await {
                Ok(b) => b,
                Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            };
            let conf: Map<String, Value> = match serde_json::from_slice(&body) {
                Ok(c) => c,
                Err(e) => {
                    return message(
                        StatusCode::BAD_REQUEST,
                        format!("parse {category} config fail: {e}"),
                    )
                }
            };
            if let Err(e) = check(&category, &conf) {
                return message(StatusCode::BAD_REQUEST, e);
            }
            lock(&node.configs).insert(format!("{category}/{name}"), conf);
            StatusCode::NO_CONTENT.into_response()
        }
        (Method::DELETE, Some(name)) if !name.is_empty() => {
            lock(&node.configs).remove(&format!("{category}/{name}"));
            StatusCode::NO_CONTENT.into_response()
        }
        _ => message(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    }
}

/// How a location matches a request.
struct Matcher {
    hosts: Vec<HostPattern>,
    path: PathPattern,
    upstream: String,
}

enum HostPattern {
    Exact(String),
    Regex(regex::Regex),
}

enum PathPattern {
    Exact(String),
    Regex(regex::Regex),
    Prefix(String),
}

impl Matcher {
    fn from_conf(conf: &Map<String, Value>) -> Option<Matcher> {
        let upstream = conf.get("upstream")?.as_str()?.to_string();
        let hosts = conf
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .filter_map(|h| match h.strip_prefix('~') {
                Some(re) => regex::Regex::new(re).ok().map(HostPattern::Regex),
                None => Some(HostPattern::Exact(h.to_ascii_lowercase())),
            })
            .collect();
        let path = conf.get("path").and_then(Value::as_str).unwrap_or("/");
        let path = if let Some(p) = path.strip_prefix('=') {
            PathPattern::Exact(p.trim().to_string())
        } else if let Some(re) = path.strip_prefix('~') {
            PathPattern::Regex(regex::Regex::new(re.trim()).ok()?)
        } else {
            PathPattern::Prefix(path.trim().to_string())
        };
        Some(Matcher {
            hosts,
            path,
            upstream,
        })
    }

    /// Pingap's order: host kind, then path kind, then the prefix's length.
    fn weight(&self) -> (u8, u8, usize) {
        let host = if self
            .hosts
            .iter()
            .any(|h| matches!(h, HostPattern::Exact(_)))
        {
            2
        } else if self.hosts.is_empty() {
            0
        } else {
            1
        };
        let (path, len) = match &self.path {
            PathPattern::Exact(p) => (3, p.len()),
            PathPattern::Regex(_) => (2, 0),
            PathPattern::Prefix(p) => (1, p.len()),
        };
        (host, path, len)
    }

    fn matches(&self, host: &str, path: &str) -> bool {
        let host_ok = self.hosts.is_empty()
            || self.hosts.iter().any(|h| match h {
                HostPattern::Exact(e) => e == host,
                HostPattern::Regex(r) => r.is_match(host),
            });
        host_ok
            && match &self.path {
                PathPattern::Exact(p) => p == path,
                PathPattern::Regex(r) => r.is_match(path),
                PathPattern::Prefix(p) => path.starts_with(p.as_str()),
            }
    }
}

/// The upstream addresses serving (`host`, `path`) on `port`, from the live config.
fn route(node: &PingapNode, port: u32, host: &str, path: &str) -> Option<(String, Vec<String>)> {
    let c = lock(&node.configs);
    let mut live: Vec<String> = Vec::new();
    for (k, server) in c.iter() {
        if !k.starts_with("server/") {
            continue;
        }
        let listens = server
            .get("addr")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(',')
            .any(|a| a.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()) == Some(port));
        if !listens {
            continue;
        }
        for l in server
            .get("locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(l) = l.as_str() {
                live.push(l.to_string());
            }
        }
    }
    let mut best: Option<((u8, u8, usize), Matcher)> = None;
    for name in live {
        let Some(m) = c
            .get(&format!("location/{name}"))
            .and_then(Matcher::from_conf)
        else {
            continue;
        };
        if !m.matches(host, path) {
            continue;
        }
        let w = m.weight();
        if best.as_ref().is_none_or(|(bw, _)| w > *bw) {
            best = Some((w, m));
        }
    }
    let (_, m) = best?;
    let addrs = c
        .get(&format!("upstream/{}", m.upstream))
        .and_then(|u| u.get("addrs"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some((m.upstream, addrs))
}

/// Headers not passed on (hop-by-hop, and what the client library sets itself).
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
            | "host"
    )
}

/// The data plane on the leased-IP endpoint of container port `port`.
pub(crate) async fn serve(shared: &Shared, node: &PingapNode, port: u32, req: Request) -> Response {
    let host = super::workload::request_host(&req);
    let path = req.uri().path().to_string();
    let Some((upstream, addrs)) = route(node, port, &host, &path) else {
        return message(StatusCode::NOT_FOUND, "Location not found");
    };
    // Weighted round robin: each address appears `weight` times in the turn.
    let mut turn: Vec<(String, u16)> = Vec::new();
    for a in &addrs {
        if let Ok((h, p, w)) = parse_addr(a) {
            for _ in 0..w.clamp(1, 100) {
                turn.push((h.clone(), p));
            }
        }
    }
    if turn.is_empty() {
        return message(
            StatusCode::BAD_GATEWAY,
            format!("upstream {upstream} has no address"),
        );
    }
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, PROXY_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let mut headers = HeaderMap::new();
    for (k, v) in &parts.headers {
        if !hop_by_hop(k) {
            headers.append(k.clone(), v.clone());
        }
    }
    let start = node.next.fetch_add(1, Ordering::Relaxed);
    let mut last = String::new();
    // One try per distinct address at most, starting at this request's turn.
    let distinct = addrs.len().max(1);
    for i in 0..distinct {
        let (h, p) = &turn[(start + i) % turn.len()];
        let target = match h.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(SocketAddr::new(ip, *p)),
            Err(_) => shared.resolve_host(h),
        };
        let Some(target) = target else {
            last = format!("{h}:{p}: no such host");
            continue;
        };
        let url = format!(
            "http://{target}{}",
            parts.uri.path_and_query().map_or("/", |pq| pq.as_str())
        );
        let mut rb = shared
            .http
            .request(parts.method.clone(), &url)
            .headers(headers.clone())
            .body(body.clone());
        if let Ok(v) = header::HeaderValue::from_str(&host) {
            rb = rb.header(header::HOST, v);
        }
        match rb.send().await {
            Ok(resp) => {
                let status = resp.status();
                let mut out_headers = HeaderMap::new();
                for (k, v) in resp.headers() {
                    if !hop_by_hop(k) {
                        out_headers.append(k.clone(), v.clone());
                    }
                }
                let bytes = match resp.bytes().await {
                    Ok(b) => b,
                    Err(e) => {
                        last = format!("{h}:{p}: {}", e.without_url());
                        continue;
                    }
                };
                let mut out = Response::new(Body::from(bytes));
                *out.status_mut() = status;
                *out.headers_mut() = out_headers;
                return out;
            }
            Err(e) => last = format!("{h}:{p}: {}", e.without_url()),
        }
    }
    message(
        StatusCode::BAD_GATEWAY,
        format!("upstream {upstream}: {last}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> PingapNode {
        PingapNode::from_env(
            "vicanso/pingap:0.10.2",
            &[
                "PINGAP_ADMIN_ADDR=0.0.0.0:3018".into(),
                "PINGAP_ADMIN_USER=op".into(),
                "PINGAP_ADMIN_PASSWORD=s3cret".into(),
            ],
        )
        .unwrap()
    }

    fn auth(user: &str, pass: &str, ts: i64) -> HeaderMap {
        let token = hex::encode(Sha256::digest(format!("{user}:{pass}:{ts}").as_bytes()));
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("{token}:{ts}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn only_pingap_images_run_it() {
        assert!(is_pingap("vicanso/pingap"));
        assert!(is_pingap("vicanso/pingap:0.10.2"));
        assert!(is_pingap("docker.io/vicanso/pingap:latest"));
        assert!(!is_pingap("vicanso/pingap-fork:1"));
        assert!(!is_pingap("nginx:1.27"));
        assert!(PingapNode::from_env("nginx", &[]).is_none());
        assert_eq!(node().admin_port, 3018);
        let n = PingapNode::from_env(
            "vicanso/pingap",
            &["PINGAP_ADMIN_ADDR=u:p@127.0.0.1:4000".into()],
        )
        .unwrap();
        assert_eq!((n.admin_port, n.user.as_str()), (4000, "u"));
    }

    #[test]
    fn the_admin_authorization_is_pingaps() {
        let n = node();
        let now = 1_800_000_000;
        assert!(n.authorized(&auth("op", "s3cret", now), now));
        assert!(n.authorized(&auth("op", "s3cret", now - 3600), now));
        assert!(!n.authorized(&auth("op", "s3cret", now - MAX_AGE_SECS - 1), now));
        assert!(!n.authorized(&auth("op", "wrong", now), now));
        assert!(!n.authorized(&auth("other", "s3cret", now), now));
        assert!(!n.authorized(&HeaderMap::new(), now));
        let open = PingapNode::from_env("vicanso/pingap", &[]).unwrap();
        assert!(!open.authorized(&auth("", "", now), now));
    }

    #[test]
    fn locations_route_as_pingap_weighs_them() {
        let n = node();
        let put = |k: &str, v: Value| {
            let Value::Object(m) = v else { panic!() };
            check(k.split('/').next().unwrap(), &m).unwrap();
            lock(&n.configs).insert(k.to_string(), m);
        };
        put(
            "upstream/nodes",
            json!({"addrs": ["a.ingress.p.devnet:80", "b:80 2"]}),
        );
        put("upstream/api", json!({"addrs": ["10.0.0.1:8080"]}));
        put(
            "location/wild",
            json!({"upstream": "nodes", "host": "~^[^.]+\\.fn\\.dev$", "path": "/"}),
        );
        put(
            "location/exact",
            json!({"upstream": "api", "host": "api.fn.dev", "path": "/"}),
        );
        put("location/unlisted", json!({"upstream": "api", "path": "/"}));
        put(
            "server/http",
            json!({"addr": "0.0.0.0:80", "locations": ["wild", "exact"]}),
        );
        let r = |host: &str, path: &str| route(&n, 80, host, path).map(|(u, _)| u);
        assert_eq!(r("users.fn.dev", "/x").as_deref(), Some("nodes"));
        assert_eq!(r("api.fn.dev", "/x").as_deref(), Some("api"));
        assert_eq!(r("a.b.fn.dev", "/"), None);
        assert_eq!(
            r("other.dev", "/"),
            None,
            "an unlisted location is not live"
        );
        assert_eq!(
            route(&n, 443, "users.fn.dev", "/"),
            None,
            "no server on 443"
        );
        assert!(check("upstream", json!({"addrs": []}).as_object().unwrap()).is_err());
        assert!(check("upstream", json!({"addrs": ["h:x"]}).as_object().unwrap()).is_err());
        assert!(check("location", json!({"host": "~("}).as_object().unwrap()).is_err());
        assert_eq!(parse_addr("b:80 2").unwrap(), ("b".into(), 80, 2));
    }
}
