//! Workloads: the services of an accepted manifest "run" — they answer HTTP on every path with
//! 200 and a small JSON (500 while unhealthy) — behind the provider's ingress listener (routing
//! by Host header), forwarded-port listeners and leased IPs.

use super::functions::{self, FunctionNode};
use super::pingap::{self, PingapNode};
use super::prov::{BidKey, Provider, State};
use af_akash::sdl::ManifestGroup;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// A forwarded port.
#[derive(Clone, Debug)]
pub(crate) struct Forward {
    pub port: u32,
    pub external_port: u16,
    pub proto: String,
}

/// A leased-IP endpoint.
#[derive(Clone, Debug)]
pub(crate) struct LeasedIp {
    pub port: u32,
    pub external_port: u32,
    pub proto: String,
    pub ip: Ipv4Addr,
    /// The local listener standing in for `ip:external_port` (TCP only).
    pub listen: Option<std::net::SocketAddr>,
}

/// One running service.
#[derive(Debug)]
pub(crate) struct ServiceRun {
    pub name: String,
    pub image: String,
    pub count: u32,
    pub uris: Vec<String>,
    pub forwards: Vec<Forward>,
    pub ips: Vec<LeasedIp>,
    /// The functions runtime node, for a service whose env has `AF_RUNTIME_CONTRACT=v1`.
    pub functions: Option<Arc<FunctionNode>>,
    /// The Pingap stand-in, for a service of image `vicanso/pingap`.
    pub pingap: Option<Arc<PingapNode>>,
    /// SHA-256 of the image and env: a manifest sent again with the same container keeps
    /// its runtime's state (its pod is not restarted).
    pub fingerprint: [u8; 32],
}

/// The services of one lease.
pub(crate) struct LeaseWorkload {
    pub dseq: u64,
    pub services: Vec<ServiceRun>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _udp: Vec<std::net::UdpSocket>,
}

impl Drop for LeaseWorkload {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl ServiceRun {
    pub(crate) fn status_json(&self) -> Value {
        let uris = if self.uris.is_empty() {
            Value::Null
        } else {
            json!(self.uris)
        };
        json!({
            "name": self.name,
            "available": self.count,
            "total": self.count,
            "uris": uris,
            "observed_generation": 1,
            "replicas": self.count,
            "updated_replicas": self.count,
            "ready_replicas": self.count,
            "available_replicas": self.count,
        })
    }
}

impl LeaseWorkload {
    /// `LeaseStatus` as the Go provider prints it.
    pub(crate) fn status_json(&self) -> Value {
        let mut services = serde_json::Map::new();
        let mut forwarded = serde_json::Map::new();
        let mut ips = serde_json::Map::new();
        for s in &self.services {
            services.insert(s.name.clone(), s.status_json());
            if !s.forwards.is_empty() {
                let list: Vec<Value> = s
                    .forwards
                    .iter()
                    .map(|f| {
                        json!({"host": "127.0.0.1", "port": f.port, "externalPort": f.external_port,
                               "proto": f.proto, "name": s.name})
                    })
                    .collect();
                forwarded.insert(s.name.clone(), Value::Array(list));
            }
            if !s.ips.is_empty() {
                let list: Vec<Value> = s
                    .ips
                    .iter()
                    .map(|i| {
                        json!({"Port": i.port, "ExternalPort": i.external_port,
                               "Protocol": i.proto, "IP": i.ip.to_string()})
                    })
                    .collect();
                ips.insert(s.name.clone(), Value::Array(list));
            }
        }
        let or_null = |m: serde_json::Map<String, Value>| {
            if m.is_empty() {
                Value::Null
            } else {
                Value::Object(m)
            }
        };
        json!({
            "services": services,
            "forwarded_ports": or_null(forwarded),
            "ips": or_null(ips),
        })
    }
}

/// The ingress label of a service: 16 base-36 characters, deterministic given the devnet's
/// seed, the provider and the lease (so a restarted devnet hands out the same hostnames).
fn ingress_label(p: &Provider, key: &BidKey, service: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let label = format!(
        "ingress/{}/{}/{}/{}/{}/{service}",
        key.0, key.1, key.2, key.3, key.5
    );
    let digest = super::derive(p.seed, &label, p.index);
    digest[..16]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Stops the workload of lease `key` and frees its IPs.
pub(crate) fn stop(st: &mut State, key: &BidKey) {
    st.workloads.remove(key);
    st.ips_in_use.retain(|_, k| k != key);
}

/// Runs the services of `group` for lease `key` (replacing a previous manifest's; ingress
/// hostnames of services that stay are kept).
pub(crate) fn start(st: &mut State, p: &Arc<Provider>, key: &BidKey, group: &ManifestGroup) {
    let old_hosts: HashMap<String, String> = st
        .workloads
        .get(key)
        .map(|w| {
            w.services
                .iter()
                .filter_map(|s| {
                    s.uris
                        .iter()
                        .find(|u| u.ends_with(&format!(".ingress.{}.devnet", p.name)))
                        .map(|u| (s.name.clone(), u.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    let old_runtimes: HashMap<(String, [u8; 32]), Arc<FunctionNode>> = st
        .workloads
        .get(key)
        .map(|w| {
            w.services
                .iter()
                .filter_map(|s| {
                    let f = s.functions.clone()?;
                    Some(((s.name.clone(), s.fingerprint), f))
                })
                .collect()
        })
        .unwrap_or_default();
    let old_proxies: HashMap<(String, [u8; 32]), Arc<PingapNode>> = st
        .workloads
        .get(key)
        .map(|w| {
            w.services
                .iter()
                .filter_map(|s| Some(((s.name.clone(), s.fingerprint), s.pingap.clone()?)))
                .collect()
        })
        .unwrap_or_default();
    st.workloads.remove(key);
    st.ips_in_use.retain(|_, k| k != key);

    let mut tasks = Vec::new();
    let mut udp = Vec::new();
    let mut ip_by_name: HashMap<String, Ipv4Addr> = HashMap::new();
    let mut services = Vec::new();
    for s in &group.services {
        let env = s.env.clone().unwrap_or_default();
        let fingerprint: [u8; 32] = {
            let mut h = Sha256::new();
            h.update(s.image.as_bytes());
            for e in &env {
                h.update((e.len() as u64).to_be_bytes());
                h.update(e.as_bytes());
            }
            h.finalize().into()
        };
        let proxy = old_proxies
            .get(&(s.name.clone(), fingerprint))
            .cloned()
            .or_else(|| PingapNode::from_env(&s.image, &env).map(Arc::new));
        let mut uris = Vec::new();
        let mut forwards = Vec::new();
        let mut ips = Vec::new();
        for e in s.expose.iter().filter(|e| e.global) {
            let external = e.effective_external_port();
            let tcp = e.proto.eq_ignore_ascii_case("TCP");
            if tcp && external == 80 {
                if uris.is_empty() {
                    let host = old_hosts.get(&s.name).cloned().unwrap_or_else(|| {
                        format!(
                            "{}.ingress.{}.devnet",
                            ingress_label(p, key, &s.name),
                            p.name
                        )
                    });
                    uris.push(host);
                }
                for h in e.hosts.iter().flatten() {
                    if !uris.contains(h) {
                        uris.push(h.clone());
                    }
                }
            } else {
                let port = if tcp {
                    let admin = proxy.clone().filter(|n| n.admin_port == e.port);
                    match service_listener(p, key.1, &s.name, &s.image, admin, Plane::Admin)
                        .map(|(addr, task)| (addr.port(), task))
                    {
                        Some((port, task)) => {
                            tasks.push(task);
                            port
                        }
                        None => continue,
                    }
                } else {
                    match std::net::UdpSocket::bind("127.0.0.1:0") {
                        Ok(sock) => {
                            let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
                            udp.push(sock);
                            port
                        }
                        Err(_) => continue,
                    }
                };
                forwards.push(Forward {
                    port: e.port,
                    external_port: port,
                    proto: e.proto.to_ascii_uppercase(),
                });
            }
            if !e.ip.is_empty() {
                let ip = match ip_by_name.get(&e.ip) {
                    Some(ip) => Some(*ip),
                    None => {
                        let free = p
                            .ip_pool
                            .iter()
                            .find(|ip| !st.ips_in_use.contains_key(ip))
                            .copied();
                        if let Some(ip) = free {
                            st.ips_in_use.insert(ip, key.clone());
                            ip_by_name.insert(e.ip.clone(), ip);
                        }
                        free
                    }
                };
                if let Some(ip) = ip {
                    let listen = if tcp {
                        service_listener(
                            p,
                            key.1,
                            &s.name,
                            &s.image,
                            proxy.clone(),
                            Plane::Data(e.port),
                        )
                        .map(|(addr, task)| {
                            tasks.push(task);
                            addr
                        })
                    } else {
                        None
                    };
                    ips.push(LeasedIp {
                        port: e.port,
                        external_port: external,
                        proto: e.proto.to_ascii_uppercase(),
                        ip,
                        listen,
                    });
                }
            }
        }
        let functions = old_runtimes
            .get(&(s.name.clone(), fingerprint))
            .cloned()
            .or_else(|| FunctionNode::from_env(&s.name, &env).map(Arc::new));
        services.push(ServiceRun {
            name: s.name.clone(),
            image: s.image.clone(),
            count: s.count,
            uris,
            forwards,
            ips,
            functions,
            pingap: proxy,
            fingerprint,
        });
    }
    st.workloads.insert(
        key.clone(),
        LeaseWorkload {
            dseq: key.1,
            services,
            tasks,
            _udp: udp,
        },
    );
}

fn local_listener() -> Option<(std::net::SocketAddr, tokio::net::TcpListener)> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    std_listener.set_nonblocking(true).ok()?;
    let addr = std_listener.local_addr().ok()?;
    Some((addr, tokio::net::TcpListener::from_std(std_listener).ok()?))
}

/// What a Pingap stand-in serves on a listener.
#[derive(Clone, Copy)]
enum Plane {
    /// Its data plane, on the leased-IP endpoint of this container port.
    Data(u32),
    /// Its admin API (a forwarded port).
    Admin,
}

/// A listener standing in for a leased IP's port or a forwarded port: with `node`, the Pingap
/// stand-in's `plane`; else (or while the service is made unhealthy) the service's plain
/// answer.
fn service_listener(
    p: &Arc<Provider>,
    dseq: u64,
    service: &str,
    image: &str,
    node: Option<Arc<PingapNode>>,
    plane: Plane,
) -> Option<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let (addr, listener) = local_listener()?;
    let p2 = p.clone();
    let service = service.to_string();
    let image = image.to_string();
    let router = Router::new().fallback(move |req: Request| {
        let p = p2.clone();
        let service = service.clone();
        let image = image.clone();
        let node = node.clone();
        async move {
            match node {
                Some(n) if !p.state().faults.is_unhealthy(dseq, &service) => match plane {
                    Plane::Data(port) => pingap::serve(&p.functions, &n, port, req).await,
                    Plane::Admin => pingap::admin(&n, req).await,
                },
                _ => answer(&p, dseq, &service, &image),
            }
        }
    });
    let task = super::gateway::spawn_accept(listener, None, router, p.clone());
    Some((addr, task))
}

/// The host a request names (its `Host` header without port or trailing dot, lower-case).
pub(crate) fn request_host(req: &Request) -> String {
    req.headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':')
                .map_or(h, |(h, _)| h)
                .trim_end_matches('.')
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

fn answer(p: &Provider, dseq: u64, service: &str, image: &str) -> Response {
    let body = json!({"service": service, "image": image, "dseq": dseq.to_string(), "provider": p.address});
    if p.state().faults.is_unhealthy(dseq, service) {
        let body = json!({"error": "service unhealthy", "service": service, "dseq": dseq.to_string(),
                          "provider": p.address});
        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// How a service matched a request's `Host`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostMatch {
    /// One of its hostnames equals the host.
    Exact,
    /// A wildcard `accept` item (`*.domain`) covers it.
    Wildcard,
    /// A functions runtime's `AF_WILDCARD_DOMAIN` covers it (no `accept` needed).
    RuntimeDomain,
}

/// What the ingress routes a request to.
struct IngressTarget {
    how: HostMatch,
    dseq: u64,
    service: String,
    image: String,
    functions: Option<Arc<FunctionNode>>,
}

/// The service serving `host` (lowercase, without port): an exact hostname beats a wildcard
/// `accept`, which beats a functions runtime's `AF_WILDCARD_DOMAIN` (the devnet's stand-in for
/// the wildcard DNS, since Akash's manifest validation refuses `*.` hostnames); among several
/// services that match the host alike, the one of the lowest lease id
/// (owner, dseq, gseq, oseq) then the first service name, which is the oldest lease, as an
/// nginx ingress gives a host claimed twice to the ingress created first.
fn ingress_target(st: &State, host: &str) -> Option<IngressTarget> {
    let mut best: Option<(HostMatch, &BidKey, &str, &LeaseWorkload, &ServiceRun)> = None;
    for (key, w) in &st.workloads {
        for s in &w.services {
            let how = if s
                .uris
                .iter()
                .any(|u| !u.starts_with("*.") && u.eq_ignore_ascii_case(host))
            {
                HostMatch::Exact
            } else if s.uris.iter().any(|u| functions::wildcard_matches(u, host)) {
                HostMatch::Wildcard
            } else if s
                .functions
                .as_ref()
                .is_some_and(|f| f.serves_domain_of(host))
            {
                HostMatch::RuntimeDomain
            } else {
                continue;
            };
            let rank = |h: HostMatch| match h {
                HostMatch::Exact => 0,
                HostMatch::Wildcard => 1,
                HostMatch::RuntimeDomain => 2,
            };
            let better = match &best {
                None => true,
                Some((bh, bk, bn, _, _)) => {
                    (rank(how), key, s.name.as_str()) < (rank(*bh), *bk, *bn)
                }
            };
            if better {
                best = Some((how, key, s.name.as_str(), w, s));
            }
        }
    }
    best.map(|(how, _, _, w, s)| IngressTarget {
        how,
        dseq: w.dseq,
        service: s.name.clone(),
        image: s.image.clone(),
        functions: s.functions.clone(),
    })
}

/// The ingress: routes by Host header to the service owning that hostname (exactly, by a
/// wildcard `accept`, or by a runtime's `AF_WILDCARD_DOMAIN`); a functions runtime then serves
/// its admin API on its own hostnames and its functions on the domain's subdomains.
pub(crate) fn ingress_router(p: Arc<Provider>) -> Router {
    Router::new().fallback(move |req: Request| {
        let p = p.clone();
        async move {
            let host = request_host(&req);
            let target = ingress_target(&p.state(), &host);
            let Some(t) = target else {
                return (
                    StatusCode::NOT_FOUND,
                    format!("no service for host {host:?}\n"),
                )
                    .into_response();
            };
            let Some(node) = t
                .functions
                .filter(|_| !p.state().faults.is_unhealthy(t.dseq, &t.service))
            else {
                return answer(&p, t.dseq, &t.service, &t.image);
            };
            match t.how {
                HostMatch::Exact if req.uri().path().starts_with("/_af/") => {
                    functions::admin(&p.functions, &node, req).await
                }
                HostMatch::Exact => match req
                    .headers()
                    .get(functions::FUNCTION_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim().to_ascii_lowercase())
                {
                    // One node addressed directly: its function `slug`, as
                    // `Host: <slug>.<domain>` would reach it on whichever node serves that.
                    Some(slug) if !slug.is_empty() => {
                        let host = node.function_host(&slug);
                        functions::serve(&p.functions, &node, &slug, &host, req).await
                    }
                    _ => answer(&p, t.dseq, &t.service, &t.image),
                },
                HostMatch::Wildcard | HostMatch::RuntimeDomain => {
                    let slug = host.split('.').next().unwrap_or_default().to_string();
                    functions::serve(&p.functions, &node, &slug, &host, req).await
                }
            }
        }
    })
}
