//! The devnet's simulated providers, driven from the tenant side with signed txs submitted to
//! the in-process node and plain HTTPS (reqwest + rustls) to the provider gateways.

use af_operator::akash::certs;
use af_operator::akash::jwt;
use af_operator::akash::keys::Wallet;
use af_operator::akash::proto::base::deposit::v1::Deposit;
use af_operator::akash::proto::cert::v1::MsgCreateCertificate;
use af_operator::akash::proto::deployment::v1::DeploymentID;
use af_operator::akash::proto::deployment::v1beta4::MsgCreateDeployment;
use af_operator::akash::proto::market::v1::BidID;
use af_operator::akash::proto::market::v1beta5::MsgCreateLease;
use af_operator::akash::proto::{to_any, Any, Coin};
use af_operator::akash::tx::{sign_tx, UnsignedTx};
use af_operator::devnet::chain::BidKey;
use af_operator::devnet::node::TxOutcome;
use af_operator::devnet::{Devnet, DevnetConfig};
use af_operator::sdl::{self, Conversion};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SDL: &str = r#"
version: "2.0"
services:
  web:
    image: nginx:1.25
    expose:
      - port: 80
        accept:
          - www.example.test
        to:
          - global: true
      - port: 8080
        as: 8080
        to:
          - global: true
profiles:
  compute:
    web:
      resources:
        cpu:
          units: 0.5
        memory:
          size: 512Mi
        storage:
          size: 1Gi
  placement:
    dc:
      pricing:
        web:
          denom: uact
          amount: 1000
deployment:
  web:
    dc:
      profile: web
      count: 2
"#;

pub(crate) async fn start(providers: usize, manifest_timeout: Duration) -> Devnet {
    Devnet::start(DevnetConfig {
        providers,
        block_time: Duration::from_millis(100),
        seed: 11,
        bid_delay: Duration::from_millis(150),
        manifest_timeout,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts")
}

pub(crate) fn tenant(dn: &Devnet) -> Wallet {
    Wallet::from_mnemonic(&dn.mnemonic()).expect("test mnemonic")
}

pub(crate) async fn send(dn: &Devnet, w: &Wallet, msgs: Vec<Any>) -> TxOutcome {
    let node = dn.node();
    let (number, sequence) = node.read(|c| c.account(w.address())).expect("account");
    let tx = UnsignedTx {
        messages: msgs,
        memo: String::new(),
        fee: vec![Coin {
            denom: "uakt".into(),
            amount: "5000".into(),
        }],
        gas_limit: 2_000_000,
        timeout_height: 0,
    };
    let raw = sign_tx(w, node.chain_id(), number, sequence, &tx).expect("sign");
    let r = node.submit(raw);
    assert_eq!(r.code, 0, "CheckTx: {}", r.log);
    let out = node
        .wait_tx(r.hash, Duration::from_secs(10))
        .await
        .expect("tx committed");
    assert_eq!(out.code, 0, "DeliverTx: {}", out.log);
    out
}

/// Polls `f` until it returns `Some`, or panics after `secs`.
pub(crate) async fn until<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn create_deployment(
    dn: &Devnet,
    w: &Wallet,
    dseq: u64,
    conv: &Conversion,
    hash: [u8; 32],
) {
    let msg = MsgCreateDeployment {
        id: DeploymentID {
            owner: w.address().into(),
            dseq,
        },
        groups: conv.groups.clone(),
        hash: hash.to_vec(),
        deposit: Deposit::from_balance(Coin {
            denom: "uact".into(),
            amount: "5000000".into(),
        }),
        reclamation: None,
    };
    send(dn, w, vec![to_any(&msg)]).await;
}

/// Open bids on `(owner, dseq, 1, 1)`, once `n` exist.
pub(crate) async fn bids(dn: &Devnet, owner: &str, dseq: u64, n: usize) -> Vec<BidKey> {
    until(15, "bids", || {
        let b: Vec<BidKey> = dn.node().read(|c| {
            c.bids
                .keys()
                .filter(|k| k.0 == owner && k.1 == dseq)
                .cloned()
                .collect()
        });
        (b.len() >= n).then_some(b)
    })
    .await
}

pub(crate) async fn lease(dn: &Devnet, w: &Wallet, bid: &BidKey) {
    let msg = MsgCreateLease {
        bid_id: BidID {
            owner: bid.0.clone(),
            dseq: bid.1,
            gseq: bid.2,
            oseq: bid.3,
            provider: bid.4.clone(),
            bseq: bid.5,
        },
    };
    send(dn, w, vec![to_any(&msg)]).await;
}

/// Accepts the provider's self-signed certificate when its CN is the provider and its serial
/// is on chain (the Go client's `verifyPeerCertificate`).
#[derive(Debug)]
struct OnChainProvider {
    provider: String,
    serials: Vec<String>,
    crypto: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for OnChainProvider {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let bad = |m: &str| Err(rustls::Error::General(m.to_string()));
        if !intermediates.is_empty() {
            return bad("expected a single certificate");
        }
        let Ok(c) = certs::parse_der(end_entity) else {
            return bad("unparsable certificate");
        };
        if c.subject_cn != self.provider || c.issuer_cn != self.provider {
            return bad("certificate is not the provider's");
        }
        if !self.serials.contains(&c.serial) || !certs::verify_self_signed(end_entity) {
            return bad("certificate not on chain");
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &self.crypto.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &self.crypto.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.crypto
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// An HTTPS client for `provider`'s gateway, with an optional client certificate.
/// A new client certificate for `w`, published on chain.
async fn publish_cert(dn: &Devnet, w: &Wallet) -> certs::GeneratedCert {
    let cert = certs::generate(w.address(), &[]).unwrap();
    send(
        dn,
        w,
        vec![to_any(&MsgCreateCertificate {
            owner: w.address().into(),
            cert: cert.cert_pem.clone(),
            pubkey: cert.pubkey_pem.clone(),
        })],
    )
    .await;
    cert
}

pub(crate) fn client(
    dn: &Devnet,
    provider: &str,
    identity: Option<&certs::GeneratedCert>,
) -> reqwest::Client {
    let crypto = Arc::new(rustls::crypto::ring::default_provider());
    let serials: Vec<String> = dn.node().read(|c| {
        c.certificates
            .iter()
            .filter(|((o, _), r)| o == provider && r.state == 1)
            .map(|((_, s), _)| s.clone())
            .collect()
    });
    let builder = rustls::ClientConfig::builder_with_provider(crypto.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(OnChainProvider {
            provider: provider.to_string(),
            serials,
            crypto,
        }));
    let cfg = match identity {
        Some(g) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(
                    certs::der_from_pem(&g.cert_pem).unwrap(),
                )],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                    certs::pem_der(&g.key_pem, "PRIVATE KEY").unwrap(),
                )),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(cfg)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Leased {
    dn: Devnet,
    w: Wallet,
    conv: Conversion,
    provider: String,
    uri: String,
    dseq: u64,
}

/// A devnet with a deployment leased from the first bidder.
async fn leased(providers: usize, manifest_timeout: Duration) -> Leased {
    let dn = start(providers, manifest_timeout).await;
    let w = tenant(&dn);
    let conv = sdl::convert(SDL).unwrap();
    let dseq = 100;
    create_deployment(&dn, &w, dseq, &conv, conv.version.0).await;
    let b = bids(&dn, w.address(), dseq, providers).await;
    lease(&dn, &w, &b[0]).await;
    let provider = b[0].4.clone();
    let uri = dn
        .node()
        .read(|c| c.providers.get(&provider).map(|p| p.host_uri.clone()))
        .unwrap();
    Leased {
        dn,
        w,
        conv,
        provider,
        uri,
        dseq,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_providers_bid_lease_manifest_over_mtls_status_and_ingress() {
    let dn = start(3, Duration::from_secs(300)).await;
    let w = tenant(&dn);
    let conv = sdl::convert(SDL).unwrap();
    let dseq = 42;
    create_deployment(&dn, &w, dseq, &conv, conv.version.0).await;
    // Every provider matches (no requirements) and bids with a real tx.
    let t = Instant::now();
    let b = bids(&dn, w.address(), dseq, 3).await;
    eprintln!(
        "3 bids on chain {:?} after the deployment committed (bid delay 150 ms, blocks 100 ms)",
        t.elapsed()
    );
    let prices: Vec<u128> = dn
        .node()
        .read(|c| b.iter().map(|k| c.bids[k].price).collect());
    assert!(prices.iter().all(|p| *p > 0 && *p <= 2000 * 10u128.pow(18)));
    let provider = b[0].4.clone();
    let uri = dn
        .node()
        .read(|c| c.providers.get(&provider).map(|p| p.host_uri.clone()))
        .unwrap();
    assert!(uri.starts_with("https://127.0.0.1:"));

    // The tenant's certificate, published on chain.
    let cert = publish_cert(&dn, &w).await;
    let http = client(&dn, &provider, Some(&cert));
    let body = serde_json::to_vec(&conv.manifest).unwrap();

    // Unauthenticated routes.
    let addr: Value = http
        .get(format!("{uri}/address"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(addr["address"], provider.as_str());
    let st: Value = http
        .get(format!("{uri}/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["address"], provider.as_str());
    assert!(st["cluster"]["inventory"]["available"]["nodes"].is_array());
    let v: Value = http
        .get(format!("{uri}/version"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["akash"]["version"].is_string());

    // 404 before the lease.
    let r = http
        .put(format!("{uri}/deployment/{dseq}/manifest"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    lease(&dn, &w, &b[0]).await;
    let t = Instant::now();
    let r = http
        .put(format!("{uri}/deployment/{dseq}/manifest"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    eprintln!("manifest upload over mTLS: {:?}", t.elapsed());
    let t = Instant::now();
    for _ in 0..50 {
        let r = http
            .get(format!("{uri}/lease/{dseq}/1/1/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    eprintln!(
        "lease status over mTLS: {:?} per request (50, keep-alive)",
        t.elapsed() / 50
    );

    let status: Value = http
        .get(format!("{uri}/lease/{dseq}/1/1/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let web = &status["services"]["web"];
    assert_eq!(web["name"], "web");
    assert_eq!(web["available_replicas"], 2);
    assert_eq!(web["total"], 2);
    let uris: Vec<String> = serde_json::from_value(web["uris"].clone()).unwrap();
    assert_eq!(uris.len(), 2);
    assert!(
        uris[0].ends_with(".ingress.provider-1.devnet") || uris[0].contains(".ingress.provider-")
    );
    assert!(uris.contains(&"www.example.test".to_string()));
    let fwd = &status["forwarded_ports"]["web"][0];
    assert_eq!(fwd["port"], 8080);
    assert_eq!(fwd["proto"], "TCP");
    assert_eq!(fwd["name"], "web");
    assert!(status["ips"].is_null());

    // The manifest back.
    let m: Value = http
        .get(format!("{uri}/lease/{dseq}/1/1/manifest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m[0]["services"][0]["image"], "nginx:1.25");

    // The workload answers through the ingress (Host header) and the forwarded port.
    let info = dn
        .provider_set()
        .unwrap()
        .providers()
        .into_iter()
        .find(|p| p.address == provider)
        .unwrap();
    let hosts = dn.provider_set().unwrap().ingress_hosts();
    assert!(hosts
        .iter()
        .any(|(h, a)| *h == uris[0] && *a == info.ingress));
    let plain = reqwest::Client::new();
    for host in &uris {
        let r = plain
            .get(format!("http://{}/healthz", info.ingress))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let j: Value = r.json().await.unwrap();
        assert_eq!(j["service"], "web");
        assert_eq!(j["image"], "nginx:1.25");
        assert_eq!(j["dseq"], dseq.to_string());
        assert_eq!(j["provider"], provider.as_str());
    }
    let r = plain
        .get(format!("http://{}/", info.ingress))
        .header("host", "nobody.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let ext = fwd["externalPort"].as_u64().unwrap();
    let r = plain
        .get(format!("http://127.0.0.1:{ext}/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The control API publishes the ingress map.
    let map: Value = plain
        .get(format!("{}/ingress", dn.control_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(map["hosts"][&uris[0]], info.ingress.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_providers_jwt_auth_and_manifest_refusals() {
    let Leased {
        dn,
        w,
        conv,
        provider,
        uri,
        dseq,
    } = leased(2, Duration::from_secs(300)).await;
    let http = client(&dn, &provider, None);
    let body = serde_json::to_vec(&conv.manifest).unwrap();
    let put = |token: Option<String>, body: Vec<u8>| {
        let mut r = http
            .put(format!("{uri}/deployment/{dseq}/manifest"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };

    // No credentials.
    assert_eq!(put(None, body.clone()).await.unwrap().status(), 401);
    // Expired, or signed by another key.
    let expired = jwt::mint(&w, &jwt::full_access(w.address(), now() - 3600, 60));
    assert_eq!(
        put(Some(expired), body.clone()).await.unwrap().status(),
        401
    );
    let stranger = Wallet::from_entropy([9; 32]).0;
    let mut forged = jwt::full_access(w.address(), now(), 900);
    forged.jti = Some("x".into());
    assert_eq!(
        put(Some(jwt::mint(&stranger, &forged)), body.clone())
            .await
            .unwrap()
            .status(),
        401
    );
    // A token without the send-manifest scope.
    let mut scoped = jwt::full_access(w.address(), now(), 900);
    scoped.leases = jwt::Leases::Scoped {
        scope: vec![jwt::Scope::Status],
    };
    assert_eq!(
        put(Some(jwt::mint(&w, &scoped)), body.clone())
            .await
            .unwrap()
            .status(),
        403
    );

    let token = jwt::mint(&w, &jwt::full_access(w.address(), now(), 900));
    // Tampered manifest: the version no longer matches the chain's hash.
    let mut tampered = conv.manifest.clone();
    tampered.0[0].services[0].image = "evil:latest".into();
    let r = put(Some(token.clone()), serde_json::to_vec(&tampered).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("version"));
    // Not JSON.
    assert_eq!(
        put(Some(token.clone()), b"{not json".to_vec())
            .await
            .unwrap()
            .status(),
        422
    );

    // Good upload over JWT.
    let r = put(Some(token.clone()), body.clone()).await.unwrap();
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
    assert_eq!(status["services"]["web"]["available_replicas"], 2);
    // Unknown lease.
    let r = http
        .get(format!("{uri}/lease/{dseq}/1/9/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A certificate and a JWT at once is ambiguous.
    let cert = publish_cert(&dn, &w).await;
    let both = client(&dn, &provider, Some(&cert));
    let r = both
        .get(format!("{uri}/lease/{dseq}/1/1/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("ambiguous"));
    // A certificate that is not on chain.
    let unknown = certs::generate(w.address(), &[]).unwrap();
    let r = client(&dn, &provider, Some(&unknown))
        .get(format!("{uri}/lease/{dseq}/1/1/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_providers_manifest_must_match_the_group() {
    // A deployment whose hash is the version of a manifest that does not fit its groups.
    let dn = start(1, Duration::from_secs(300)).await;
    let w = tenant(&dn);
    let conv = sdl::convert(SDL).unwrap();
    let mut wrong = conv.manifest.clone();
    wrong.0[0].services[0].count = 3;
    create_deployment(&dn, &w, 7, &conv, wrong.version().0).await;
    let b = bids(&dn, w.address(), 7, 1).await;
    lease(&dn, &w, &b[0]).await;
    let uri = dn
        .node()
        .read(|c| c.providers.get(&b[0].4).map(|p| p.host_uri.clone()))
        .unwrap();
    let token = jwt::mint(&w, &jwt::full_access(w.address(), now(), 900));
    let r = client(&dn, &b[0].4, None)
        .put(format!("{uri}/deployment/7/manifest"))
        .bearer_auth(&token)
        .body(serde_json::to_vec(&wrong).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("replicas"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_providers_manifest_timeout_closes_the_lease_with_10003() {
    let Leased { dn, w, dseq, .. } = leased(1, Duration::from_millis(800)).await;
    let reason = until(15, "lease closed", || {
        dn.node().read(|c| {
            c.leases
                .iter()
                .find(|(k, l)| k.0 == w.address() && k.1 == dseq && l.state == 3)
                .map(|(_, l)| l.reason)
        })
    })
    .await;
    assert_eq!(reason, 10003);
}

async fn post_fault(dn: &Devnet, provider: &str, body: Value) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{}/providers/{provider}/faults", dn.control_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn clear_faults(dn: &Devnet, provider: &str) {
    let r = reqwest::Client::new()
        .delete(format!("{}/providers/{provider}/faults", dn.control_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_providers_faults() {
    let Leased {
        dn,
        w,
        conv,
        provider,
        uri,
        dseq,
    } = leased(2, Duration::from_secs(300)).await;
    let other = dn
        .provider_set()
        .unwrap()
        .providers()
        .into_iter()
        .find(|p| p.address != provider)
        .unwrap();
    let info = dn
        .provider_set()
        .unwrap()
        .providers()
        .into_iter()
        .find(|p| p.address == provider)
        .unwrap();
    let token = jwt::mint(&w, &jwt::full_access(w.address(), now(), 900));
    let http = client(&dn, &provider, None);
    let body = serde_json::to_vec(&conv.manifest).unwrap();
    let put = || {
        http.put(format!("{uri}/deployment/{dseq}/manifest"))
            .bearer_auth(&token)
            .body(body.clone())
            .send()
    };

    // Unknown provider and bad bodies.
    assert_eq!(
        post_fault(&dn, "nobody", serde_json::json!({"fault": "down"})).await,
        404
    );
    assert_eq!(
        post_fault(&dn, &info.name, serde_json::json!({"fault": "explode"})).await,
        400
    );

    // Reject manifests.
    assert_eq!(
        post_fault(
            &dn,
            &info.name,
            serde_json::json!({"fault": "reject_manifests"})
        )
        .await,
        200
    );
    assert_eq!(put().await.unwrap().status(), 422);
    clear_faults(&dn, &info.name).await;
    assert_eq!(put().await.unwrap().status(), 200);

    // Slow answers.
    assert_eq!(
        post_fault(
            &dn,
            &provider,
            serde_json::json!({"fault": "slow", "delay_ms": 400})
        )
        .await,
        200
    );
    let t = Instant::now();
    assert_eq!(
        http.get(format!("{uri}/version"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(400));
    clear_faults(&dn, &provider).await;

    // Unhealthy service, then recovery.
    let host = dn.provider_set().unwrap().ingress_hosts()[0].0.clone();
    let plain = reqwest::Client::new();
    let get = || {
        plain
            .get(format!("http://{}/", info.ingress))
            .header("host", host.clone())
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    assert_eq!(
        post_fault(
            &dn,
            &provider,
            serde_json::json!({"fault": "unhealthy", "service": "web"})
        )
        .await,
        200
    );
    assert_eq!(get().await.unwrap().status(), 500);
    assert_eq!(
        post_fault(
            &dn,
            &provider,
            serde_json::json!({"fault": "healthy", "service": "web"})
        )
        .await,
        200
    );
    assert_eq!(get().await.unwrap().status(), 200);

    // Down: connection refused, then back on the same port.
    assert_eq!(
        post_fault(&dn, &provider, serde_json::json!({"fault": "down"})).await,
        200
    );
    until(5, "gateway refusing", || {
        std::net::TcpStream::connect(info.gateway)
            .is_err()
            .then_some(())
    })
    .await;
    until(5, "ingress refusing", || {
        std::net::TcpStream::connect(info.ingress)
            .is_err()
            .then_some(())
    })
    .await;
    clear_faults(&dn, &provider).await;
    assert_eq!(
        http.get(format!("{uri}/version"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(get().await.unwrap().status(), 200);

    // Stop bidding / bid price on a second deployment.
    assert_eq!(
        post_fault(&dn, &provider, serde_json::json!({"fault": "stop_bidding"})).await,
        200
    );
    assert_eq!(
        post_fault(
            &dn,
            &other.name,
            serde_json::json!({"fault": "bid_price", "amount": 1500.5})
        )
        .await,
        200
    );
    create_deployment(&dn, &w, dseq + 1, &conv, conv.version.0).await;
    let b = bids(&dn, w.address(), dseq + 1, 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let b2 = bids(&dn, w.address(), dseq + 1, 1).await;
    assert_eq!(b.len(), 1);
    assert_eq!(b2.len(), 1, "the stopped provider did not bid");
    assert_eq!(b2[0].4, other.address);
    let price = dn.node().read(|c| c.bids[&b2[0]].price);
    assert_eq!(price, 1_500_500_000_000_000_000_000);
    // Above the order's maximum (2 × 1000 uact) the provider does not bid.
    assert_eq!(
        post_fault(
            &dn,
            &other.name,
            serde_json::json!({"fault": "bid_price", "amount": 5000})
        )
        .await,
        200
    );
    create_deployment(&dn, &w, dseq + 2, &conv, conv.version.0).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let n = dn
        .node()
        .read(|c| c.bids.keys().filter(|k| k.1 == dseq + 2).count());
    assert_eq!(n, 0);
    clear_faults(&dn, &other.name).await;
    clear_faults(&dn, &provider).await;
    bids(&dn, w.address(), dseq + 2, 2).await;

    // Close a lease with a given reason.
    assert_eq!(
        post_fault(
            &dn,
            &provider,
            serde_json::json!({"fault": "close_lease", "dseq": dseq, "reason": 10001})
        )
        .await,
        200
    );
    let reason = until(10, "lease closed", || {
        dn.node().read(|c| {
            c.leases
                .iter()
                .find(|(k, l)| k.1 == dseq && k.4 == provider && l.state == 3)
                .map(|(_, l)| l.reason)
        })
    })
    .await;
    assert_eq!(reason, 10001);
    // Its workload is gone.
    until(5, "workload stopped", || {
        (!dn.provider_set()
            .unwrap()
            .ingress_hosts()
            .iter()
            .any(|(h, _)| *h == host))
        .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_providers_placement_requirements_and_leased_ips() {
    let dn = start(3, Duration::from_secs(300)).await;
    let w = tenant(&dn);
    let auditor = af_operator::devnet::provider::auditor_wallet(11);
    // provider-1 (premium, audited), provider-2 (community), provider-3 (premium, audited).
    let yaml = format!(
        r#"
version: "2.0"
endpoints:
  myip:
    kind: ip
services:
  web:
    image: web:2
    expose:
      - port: 80
        to:
          - global: true
            ip: myip
      - port: 9000
        as: 9000
        to:
          - global: true
            ip: myip
profiles:
  compute:
    web:
      resources:
        cpu: {{units: 1}}
        memory: {{size: 1Gi}}
        storage: {{size: 2Gi}}
  placement:
    premium:
      attributes:
        tier: premium
      signedBy:
        allOf:
          - {auditor}
      pricing:
        web: {{denom: uact, amount: 5000}}
deployment:
  web:
    premium: {{profile: web, count: 1}}
"#,
        auditor = auditor.address()
    );
    let conv = sdl::convert(&yaml).unwrap();
    create_deployment(&dn, &w, 5, &conv, conv.version.0).await;
    let b = bids(&dn, w.address(), 5, 2).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let b = {
        let again = bids(&dn, w.address(), 5, 2).await;
        assert_eq!(again.len(), b.len());
        again
    };
    let infos = dn.provider_set().unwrap().providers();
    let names: Vec<&str> = b
        .iter()
        .map(|k| {
            infos
                .iter()
                .find(|p| p.address == k.4)
                .map(|p| p.name.as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(
        b.len(),
        2,
        "only the premium, audited providers bid: {names:?}"
    );
    assert!(!names.contains(&"provider-2"));

    lease(&dn, &w, &b[0]).await;
    let provider = b[0].4.clone();
    let uri = dn
        .node()
        .read(|c| c.providers.get(&provider).map(|p| p.host_uri.clone()))
        .unwrap();
    let token = jwt::mint(&w, &jwt::full_access(w.address(), now(), 900));
    let http = client(&dn, &provider, None);
    let r = http
        .put(format!("{uri}/deployment/5/manifest"))
        .bearer_auth(&token)
        .body(serde_json::to_vec(&conv.manifest).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let status: Value = http
        .get(format!("{uri}/lease/5/1/1/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ips = status["ips"]["web"].as_array().unwrap();
    assert_eq!(ips.len(), 2);
    assert_eq!(
        ips[0]["IP"], ips[1]["IP"],
        "one leased IP per endpoint name"
    );
    assert!(ips[0]["IP"].as_str().unwrap().starts_with("198.51."));
    let mut ports: Vec<u64> = ips.iter().map(|i| i["Port"].as_u64().unwrap()).collect();
    ports.sort();
    assert_eq!(ports, vec![80, 9000]);
    assert_eq!(ips[0]["Protocol"], "TCP");
    assert!(ips[0].get("ExternalPort").is_some());
    assert_eq!(status["forwarded_ports"]["web"][0]["port"], 9000);

    // Resources: only provider-3 has an A100; nobody has 200 CPUs.
    let gpu = r#"
version: "2.0"
services:
  train:
    image: train:1
    expose:
      - port: 80
        to:
          - global: true
profiles:
  compute:
    big:
      resources:
        cpu: {units: 4}
        memory: {size: 8Gi}
        storage: {size: 10Gi}
        gpu:
          units: 1
          attributes:
            vendor:
              nvidia:
                - model: a100
  placement:
    any:
      pricing:
        big: {denom: uact, amount: 100000}
deployment:
  train:
    any: {profile: big, count: 1}
"#;
    let conv = sdl::convert(gpu).unwrap();
    create_deployment(&dn, &w, 6, &conv, conv.version.0).await;
    let b = bids(&dn, w.address(), 6, 1).await;
    let huge = SDL.replace("units: 0.5", "units: 200");
    let conv = sdl::convert(&huge).unwrap();
    create_deployment(&dn, &w, 8, &conv, conv.version.0).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let gpu_bidders: Vec<String> = dn.node().read(|c| {
        c.bids
            .keys()
            .filter(|k| k.1 == 6)
            .map(|k| k.4.clone())
            .collect()
    });
    assert_eq!(gpu_bidders, vec![b[0].4.clone()]);
    let p3 = infos.iter().find(|p| p.name == "provider-3").unwrap();
    assert_eq!(gpu_bidders[0], p3.address);
    let n = dn
        .node()
        .read(|c| c.bids.keys().filter(|k| k.1 == 8).count());
    assert_eq!(n, 0, "no provider has 400 CPUs (200 × 2)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_providers_survive_a_state_dir_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DevnetConfig {
        providers: 1,
        block_time: Duration::from_millis(100),
        seed: 11,
        bid_delay: Duration::from_millis(100),
        state_dir: Some(dir.path().to_path_buf()),
        ..DevnetConfig::default()
    };
    let dn = Devnet::start(cfg.clone()).await.unwrap();
    let w = tenant(&dn);
    let conv = sdl::convert(SDL).unwrap();
    create_deployment(&dn, &w, 3, &conv, conv.version.0).await;
    let b = bids(&dn, w.address(), 3, 1).await;
    lease(&dn, &w, &b[0]).await;
    let provider = b[0].4.clone();
    let old_uri = dn
        .node()
        .read(|c| c.providers.get(&provider).map(|p| p.host_uri.clone()))
        .unwrap();
    dn.shutdown().unwrap();

    let dn = Devnet::start(cfg).await.unwrap();
    let info = dn.provider_set().unwrap().providers()[0].clone();
    assert_eq!(info.address, provider, "same seed, same provider account");
    // The provider republished its new gateway URI and certificate.
    let uri = until(10, "provider record updated", || {
        dn.node().read(|c| {
            let rec = c.providers.get(&provider)?;
            let cert = c
                .certificates
                .contains_key(&(provider.clone(), info.cert_serial.clone()));
            (rec.host_uri == info.host_uri && cert).then(|| rec.host_uri.clone())
        })
    })
    .await;
    if uri == old_uri {
        eprintln!("the gateway happened to get the same port again");
    }
    let token = jwt::mint(&w, &jwt::full_access(w.address(), now(), 900));
    let r = client(&dn, &provider, None)
        .put(format!("{uri}/deployment/3/manifest"))
        .bearer_auth(&token)
        .body(serde_json::to_vec(&conv.manifest).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_providers_stop_with_the_devnet() {
    let dn = start(1, Duration::from_secs(300)).await;
    let info = dn.provider_set().unwrap().providers()[0].clone();
    assert!(std::net::TcpStream::connect(info.gateway).is_ok());
    dn.shutdown().unwrap();
    until(5, "gateway closed", || {
        std::net::TcpStream::connect(info.gateway)
            .is_err()
            .then_some(())
    })
    .await;
    until(5, "ingress closed", || {
        std::net::TcpStream::connect(info.ingress)
            .is_err()
            .then_some(())
    })
    .await;
}
