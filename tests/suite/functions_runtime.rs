//! The devnet's functions runtime (contract v1) over real sockets: a manifest with
//! `AF_RUNTIME_CONTRACT=v1` sent through a provider's gateway, bundles from the devnet's IPFS
//! (in process and over HTTP), the admin API per node, `Host` routing by wildcard through the
//! provider's ingress, routes proxied to a local target, refusals and the version fault.

use crate::devnet_providers::{bids, client, create_deployment, lease, now, start, tenant};
use af_operator::akash::jwt;
use af_operator::devnet::Devnet;
use af_operator::sdl;
use axum::extract::Request;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const TOKEN: &str = "rt-token-7c1f0e";
const SECRET: &str = "hunter2-never-echoed";
const DOMAIN: &str = "fn.test";

/// Two runtime nodes in one group (so one provider serves both) and a plain service. The
/// accept items are placeholders replaced by `*.fn.test` in the manifest.
fn runtime_sdl(gateway: &str, domain: &str) -> String {
    let node = |i: usize, extra: &str| {
        format!(
            r#"  node-{i}:
    image: ghcr.io/alternatefutures/functions-runtime:1
    env:
      - AF_RUNTIME_CONTRACT=v1
      - AF_RUNTIME_TOKEN={TOKEN}
      - AF_WILDCARD_DOMAIN={domain}
      - AF_NODE=node-{i}
      - PORT=8080{extra}
    expose:
      - port: 8080
        as: 80
        accept:
          - n{i}.{domain}
        to:
          - global: true
"#
        )
    };
    let compute = "      resources:\n        cpu:\n          units: 0.5\n        memory:\n          size: 256Mi\n        storage:\n          size: 1Gi\n";
    format!(
        r#"version: "2.0"
services:
{}{}profiles:
  compute:
    node-0:
{compute}    node-1:
{compute}  placement:
    dc:
      pricing:
        node-0:
          denom: uact
          amount: 1000
        node-1:
          denom: uact
          amount: 1000
deployment:
  node-0:
    dc:
      profile: node-0
      count: 1
  node-1:
    dc:
      profile: node-1
      count: 1
"#,
        node(0, ""),
        node(1, &format!("\n      - AF_IPFS_GATEWAY={gateway}")),
    )
}

/// A target server echoing what it received: method, path, query, body, headers.
async fn echo_target() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|req: Request| async move {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20)
            .await
            .unwrap_or_default();
        let headers: serde_json::Map<String, Value> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
            .collect();
        axum::Json(json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query(),
            "body": String::from_utf8_lossy(&body),
            "headers": headers,
        }))
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A deterministic bundle of `n` bytes.
fn bundle(n: usize, salt: u8) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + (i >> 8)) as u8) ^ salt).collect()
}

struct Ingress {
    http: reqwest::Client,
    addr: SocketAddr,
}

impl Ingress {
    fn req(&self, method: reqwest::Method, host: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("http://{}{path}", self.addr))
            .header("host", host)
    }
    async fn get(&self, host: &str, path: &str) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::GET, host, path)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    async fn admin(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, String) {
        let mut r = self.req(method, host, path);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
    async fn put(&self, host: &str, slug: &str, body: &Value) -> (u16, Value) {
        let (s, t) = self
            .admin(
                reqwest::Method::PUT,
                host,
                &format!("/_af/v1/functions/{slug}"),
                Some(TOKEN),
                Some(body),
            )
            .await;
        assert!(!t.contains(SECRET), "an env value echoed: {t}");
        (s, serde_json::from_str(&t).unwrap_or(Value::String(t)))
    }
    async fn fetch(&self, host: &str, slug: &str) -> (u16, Value) {
        let (s, t) = self
            .admin(
                reqwest::Method::GET,
                host,
                &format!("/_af/v1/functions/{slug}"),
                Some(TOKEN),
                None,
            )
            .await;
        assert!(!t.contains(SECRET), "an env value echoed: {t}");
        (s, serde_json::from_str(&t).unwrap_or(Value::String(t)))
    }
}

/// Deploys the runtime SDL as `dseq` (with `accept: ["*.<domain>"]`, or, without `wildcard`,
/// no accept at all, as Akash's manifest validation wants) and sends its manifest over the
/// gateway with a JWT; answers the node hostnames (lease URIs) and the provider's ingress.
async fn deploy_runtime(
    dn: &Devnet,
    dseq: u64,
    domain: &str,
    wildcard: bool,
) -> (Vec<String>, SocketAddr) {
    let w = tenant(dn);
    let mut conv = sdl::convert(&runtime_sdl(&dn.control_url(), domain)).expect("runtime SDL");
    for g in &mut conv.manifest.0 {
        for s in &mut g.services {
            for e in &mut s.expose {
                if e.global {
                    e.hosts = wildcard.then(|| vec![format!("*.{domain}")]);
                }
            }
        }
    }
    let version = conv.manifest.version();
    create_deployment(dn, &w, dseq, &conv, version.0).await;
    let b = bids(dn, w.address(), dseq, 1).await;
    lease(dn, &w, &b[0]).await;
    let provider = b[0].4.clone();
    let uri = dn
        .node()
        .read(|c| c.providers.get(&provider).map(|p| p.host_uri.clone()))
        .unwrap();
    let token = jwt::mint(&w, &jwt::full_access(w.address(), now(), 900));
    let http = client(dn, &provider, None);
    let r = http
        .put(format!("{uri}/deployment/{dseq}/manifest"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&conv.manifest).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let status: Value = http
        .get(format!("{uri}/lease/{dseq}/1/1/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut hosts = Vec::new();
    for node in ["node-0", "node-1"] {
        let uris: Vec<String> =
            serde_json::from_value(status["services"][node]["uris"].clone()).unwrap();
        if wildcard {
            assert_eq!(uris.len(), 2, "{uris:?}");
            assert_eq!(uris[1], format!("*.{domain}"));
        } else {
            assert_eq!(uris.len(), 1, "{uris:?}");
        }
        assert!(uris[0].contains(".ingress."), "{uris:?}");
        hosts.push(uris[0].clone());
    }
    let ingress = dn
        .provider_set()
        .unwrap()
        .providers()
        .into_iter()
        .find(|p| p.address == provider)
        .unwrap()
        .ingress;
    (hosts, ingress)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_runtime_admin_api_routes_hash_mismatch_and_fault() {
    let dn = start(1, Duration::from_secs(300)).await;
    let (nodes, ingress) = deploy_runtime(&dn, 7, DOMAIN, true).await;
    let ing = Ingress {
        http: reqwest::Client::new(),
        addr: ingress,
    };
    let target = echo_target().await;
    // Three chunks and a bit: a DAG of several blocks, in process (node-0) and over the
    // control API's trustless gateway (node-1, AF_IPFS_GATEWAY).
    let v1 = bundle(3 * 256 * 1024 + 17, 0);
    let v2 = bundle(1000, 0x5a);
    let cid1 = dn.ipfs().add(&v1, 1).to_string();
    let cid2 = dn.ipfs().add(&v2, 0).to_string();
    let b3 = |b: &[u8]| blake3::hash(b).to_hex().to_string();
    let routes = json!({
        "/api/users/*": format!("http://{target}"),
        "/api/:v/items": format!("http://{target}/b/"),
        "/down/*": "http://127.0.0.1:1",
    });
    let put_body = |version: &str, cid: &str, blake3: &str| {
        json!({"version": version, "cid": cid, "blake3": blake3, "routes": routes,
               "env": {"API_KEY": SECRET}, "weight": 100})
    };

    // The admin API wants the token.
    use reqwest::Method;
    let list = "/_af/v1/functions";
    assert_eq!(
        ing.admin(Method::GET, &nodes[0], list, None, None).await.0,
        401
    );
    let (s, t) = ing
        .admin(Method::GET, &nodes[0], list, Some("wrong"), None)
        .await;
    assert_eq!(s, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&t).unwrap()["error"],
        "Unauthorized"
    );
    let body = put_body("1", &cid1, &b3(&v1));
    let (s, _) = ing
        .admin(
            Method::PUT,
            &nodes[0],
            "/_af/v1/functions/hello",
            Some("wrong"),
            Some(&body),
        )
        .await;
    assert_eq!(s, 401);
    let (s, t) = ing
        .admin(Method::GET, &nodes[0], list, Some(TOKEN), None)
        .await;
    assert_eq!(
        (
            s,
            serde_json::from_str::<Value>(&t).unwrap()["functions"].clone()
        ),
        (200, json!([]))
    );

    // Version 1 on both nodes: fetched, verified, running.
    let t0 = Instant::now();
    for n in &nodes {
        let (s, f) = ing.put(n, "hello", &body).await;
        assert_eq!(s, 200, "{f}");
        assert_eq!(f["version"], "1");
        assert_eq!(f["cid"], cid1.as_str());
        assert_eq!(f["healthy"], true);
        assert_eq!(f["healthPath"], "/healthz");
        assert_eq!(f["envNames"], json!(["API_KEY"]));
        assert_eq!(f["size"], v1.len());
    }
    eprintln!(
        "PUT of a 769 KiB bundle on 2 nodes (fetch, verify, BLAKE3): {:?}",
        t0.elapsed()
    );
    let (s, f) = ing.fetch(&nodes[1], "hello").await;
    assert_eq!((s, f["node"].clone()), (200, json!("node-1")));
    let routes_back: Vec<&String> = f["routes"].as_object().unwrap().keys().collect();
    assert_eq!(
        routes_back,
        ["/api/users/*", "/api/:v/items", "/down/*"],
        "order kept"
    );

    // Host routing: both nodes accept *.fn.test on this provider; node-0 (the lower service
    // name of the same lease) is the one the ingress picks, every time.
    let host = format!("hello.{DOMAIN}");
    for _ in 0..3 {
        let (s, j) = ing.get(&format!("{host}:8080"), "/other/page").await;
        assert_eq!(s, 200, "{j}");
        assert_eq!(
            j,
            json!({"function": "hello", "version": "1", "cid": cid1, "node": "node-0"})
        );
    }
    let (s, j) = ing.get(&host, "/healthz").await;
    assert_eq!((s, j), (200, json!({"status": "ok"})));
    // Exactly one label more: `a.b.fn.test` and `fn.test` are no host of the runtime.
    assert_eq!(ing.get(&format!("a.hello.{DOMAIN}"), "/").await.0, 404);
    assert_eq!(ing.get(DOMAIN, "/").await.0, 404);
    // An unknown slug.
    let (s, j) = ing.get(&format!("nope.{DOMAIN}"), "/").await;
    assert_eq!((s, j["error"].clone()), (404, json!("NotFound")));
    // The admin API is not served on the wildcard hosts: there it is the function's path.
    let (s, j) = ing.get(&host, "/_af/v1/functions").await;
    assert_eq!((s, j["function"].clone()), (200, json!("hello")));

    // Routes, proxied with method, path, query and body; hop-by-hop headers dropped.
    let r = ing
        .req(Method::POST, &host, "/api/users/42/posts?sort=new&page=2")
        .header("x-test", "kept")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "dropped")
        .header("te", "trailers")
        .body("payload bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["method"], "POST");
    assert_eq!(e["path"], "/api/users/42/posts");
    assert_eq!(e["query"], "sort=new&page=2");
    assert_eq!(e["body"], "payload bytes");
    assert_eq!(e["headers"]["x-test"], "kept");
    assert_eq!(e["headers"]["x-forwarded-host"], host.as_str());
    assert_eq!(e["headers"]["host"], target.to_string());
    assert!(e["headers"].get("x-hop").is_none(), "{e}");
    assert!(e["headers"].get("te").is_none(), "{e}");
    let n = 200;
    let t = Instant::now();
    for i in 0..n {
        let r = ing
            .req(Method::GET, &host, &format!("/api/users/{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    eprintln!(
        "proxied route through the ingress and the runtime: {:?} per request ({n}, keep-alive)",
        t.elapsed() / n
    );
    // A `:param` route to a target with a base path; DELETE goes through too.
    let r = ing
        .req(Method::DELETE, &host, "/api/v2/items")
        .send()
        .await
        .unwrap();
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        (e["method"].clone(), e["path"].clone()),
        (json!("DELETE"), json!("/b/api/v2/items"))
    );
    assert!(e["query"].is_null());
    // A target that is down.
    let (s, j) = ing.get(&host, "/down/x").await;
    assert_eq!((s, j["error"].clone()), (502, json!("UpstreamFailed")));

    // A wrong BLAKE3 is refused and version 1 keeps serving.
    let (s, j) = ing
        .put(&nodes[0], "hello", &put_body("2", &cid2, &b3(&v1)))
        .await;
    assert_eq!((s, j["error"].clone()), (422, json!("HashMismatch")), "{j}");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("version \"1\" keeps serving"),
        "{j}"
    );
    let (s, j) = ing
        .put(&nodes[1], "hello", &put_body("2", &cid2, &b3(&v1)))
        .await;
    assert_eq!((s, j["error"].clone()), (422, json!("HashMismatch")), "{j}");
    assert_eq!(ing.fetch(&nodes[0], "hello").await.1["version"], "1");
    assert_eq!(ing.get(&host, "/").await.1["version"], "1");
    // A CID nobody has; routes that do not compile; bodies that are not contract v1.
    let absent = sdl_absent_cid(&dn);
    let (s, j) = ing
        .put(&nodes[0], "hello", &put_body("3", &absent, &b3(&v2)))
        .await;
    assert_eq!((s, j["error"].clone()), (502, json!("FetchFailed")), "{j}");
    let (s, j) = ing
        .put(&nodes[1], "hello", &put_body("3", &absent, &b3(&v2)))
        .await;
    assert_eq!((s, j["error"].clone()), (502, json!("FetchFailed")), "{j}");
    let mut bad = put_body("3", &cid2, &b3(&v2));
    bad["routes"] =
        json!({"/a/:x": format!("http://{target}"), "/a/:y": format!("http://{target}")});
    let (s, j) = ing.put(&nodes[0], "hello", &bad).await;
    assert_eq!(
        (s, j["error"].clone(), j["pattern"].clone()),
        (422, json!("InvalidRoutes"), json!("/a/:y")),
        "{j}"
    );
    for bad in [
        json!({"cid": cid2}),
        json!([1, 2]),
        json!({"version": "3", "cid": "Qm1", "blake3": b3(&v2)}),
    ] {
        let (s, j) = ing.put(&nodes[0], "hello", &bad).await;
        assert_eq!((s, j["error"].clone()), (400, json!("BadRequest")), "{j}");
    }
    let (s, _) = ing
        .put(&nodes[0], "Not_A_Slug", &put_body("3", &cid2, &b3(&v2)))
        .await;
    assert_eq!(s, 400);
    assert_eq!(ing.get(&host, "/").await.1["version"], "1");

    // The right hash: version 2 (a CIDv0) runs.
    for n in &nodes {
        let (s, f) = ing.put(n, "hello", &put_body("2", &cid2, &b3(&v2))).await;
        assert_eq!((s, f["version"].clone()), (200, json!("2")), "{f}");
    }
    assert_eq!(ing.get(&host, "/").await.1["cid"], cid2.as_str());

    // The devnet fault: version 2 unhealthy (through the CLI), then healthy again (library).
    let out = tokio::task::spawn_blocking({
        let control = dn.control_url();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"))
                .args(["devnet", "ctl", "--control", &control, "function-fault"])
                .args(["--slug", "hello", "--version", "2"])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (s, j) = ing.get(&host, "/healthz").await;
    assert_eq!((s, j["status"].clone()), (503, json!("unhealthy")));
    for n in &nodes {
        assert_eq!(ing.fetch(n, "hello").await.1["healthy"], false);
    }
    let faults: Value = reqwest::get(format!("{}/functions/faults", dn.control_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["faults"], json!([{"slug": "hello", "version": "2"}]));
    // Other paths still answer: only the health check fails.
    assert_eq!(ing.get(&host, "/").await.0, 200);
    let set = dn.provider_set().unwrap();
    set.function_fault("hello", "2", false);
    assert!(set.function_faults().is_empty());
    assert_eq!(ing.get(&host, "/healthz").await.0, 200);
    assert_eq!(ing.fetch(&nodes[0], "hello").await.1["healthy"], true);

    // DELETE: node-0 no longer has it, and node-0 is where the ingress sends `hello.fn.test`.
    let path = "/_af/v1/functions/hello";
    assert_eq!(
        ing.admin(Method::DELETE, &nodes[0], path, Some(TOKEN), None)
            .await
            .0,
        204
    );
    assert_eq!(
        ing.admin(Method::DELETE, &nodes[0], path, Some(TOKEN), None)
            .await
            .0,
        404
    );
    assert_eq!(ing.fetch(&nodes[0], "hello").await.0, 404);
    assert_eq!(ing.get(&host, "/").await.0, 404);
    assert_eq!(ing.fetch(&nodes[1], "hello").await.1["version"], "2");

    // The node's own hostname outside /_af/ is the plain workload answer.
    let (s, j) = ing.get(&nodes[0], "/").await;
    assert_eq!((s, j["service"].clone()), (200, json!("node-0")));

    // A runtime without any `accept` (the SDL the operator renders, since Akash refuses `*.`
    // hostnames): `<slug>.<AF_WILDCARD_DOMAIN>` still reaches it.
    let (env_nodes, env_ingress) = deploy_runtime(&dn, 8, "env.test", false).await;
    assert_eq!(env_ingress, ingress, "one provider");
    let (s, f) = ing
        .put(&env_nodes[0], "hello", &put_body("9", &cid2, &b3(&v2)))
        .await;
    assert_eq!((s, f["version"].clone()), (200, json!("9")), "{f}");
    let (s, j) = ing.get("hello.env.test", "/x").await;
    assert_eq!(
        (s, j["version"].clone(), j["node"].clone()),
        (200, json!("9"), json!("node-0")),
        "{j}"
    );
    assert_eq!(ing.fetch(&env_nodes[1], "hello").await.0, 404);
    assert_eq!(ing.get("a.hello.env.test", "/").await.0, 404);
    assert_eq!(
        ing.get(&format!("hello.{DOMAIN}"), "/").await.0,
        404,
        "the other runtime's"
    );
}

/// A valid CID of bytes the devnet's IPFS does not hold.
fn sdl_absent_cid(dn: &Devnet) -> String {
    let other = af_operator::devnet::ipfs::BlockStore::default();
    let cid = other.add(b"not in the devnet's store", 1);
    assert!(dn.ipfs().get(&cid).is_none());
    cid.to_string()
}

/// A 1 MiB file (four 256 KiB chunks): the CIDs js-ipfs's UnixFS importer
/// (`ipfs-unixfs-importer` 17.1.1, kubo's defaults) gives it, computed by
/// `tools/interop/cid.mjs`, which the interop run also checks against a live devnet.
#[test]
fn functions_runtime_multi_chunk_cids_match_an_independent_importer() {
    let file: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(i >> 8)) as u8)
        .collect();
    let s = af_operator::devnet::ipfs::BlockStore::default();
    assert_eq!(s.add(&file, 0).to_string(), JS_CID_V0);
    assert_eq!(s.add(&file, 1).to_string(), JS_CID_V1);
}

const JS_CID_V0: &str = "Qmd51QV7abNBWybQ3VDY8eDgF2qbrQbHEX8636MJLb1iQE";
const JS_CID_V1: &str = "bafybeihhxrmvgdab4vq33teqxgtm3ijzq2kncf3pk43mghfm23vgqebg2i";
