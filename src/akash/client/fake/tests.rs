//! The fakes themselves: the chain's rules apply, the controls do what they say.

use super::*;
use crate::akash::proto::AkashEvent;

const SDL: &str = r#"
version: "2.0"
services:
  web:
    image: nginx:1.25
    expose:
      - port: 80
        to:
          - global: true
  worker:
    image: busybox:1.36
    expose:
      - port: 9000
        to:
          - service: web
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
  worker:
    dc:
      profile: web
      count: 1
"#;

fn sdl() -> crate::sdl::Conversion {
    crate::sdl::convert(SDL).expect("sdl")
}

async fn deploy(chain: &FakeChain, dseq: u64) -> TxReceipt {
    let conv = sdl();
    chain
        .create_deployment(
            dseq,
            conv.groups.clone(),
            conv.version.0.to_vec(),
            coin(UACT, 5_000_000),
        )
        .await
        .expect("create deployment")
}

fn open_bids(chain: &FakeChain, dseq: u64) -> mv1beta5::BidFilters {
    mv1beta5::BidFilters {
        owner: chain.owner().to_string(),
        dseq,
        state: "open".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn tenant_flow_follows_the_chain_rules() {
    let chain = FakeChain::new(2);
    assert_eq!(chain.chain_id(), FAKE_CHAIN_ID);
    let owner = chain.owner().to_string();
    let r = deploy(&chain, 10).await;
    assert_eq!(r.height, 1);
    assert_eq!(chain.latest_height().await.unwrap(), 1);
    let id = dv1::DeploymentID::new(&owner, 10);
    assert!(r
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::DeploymentCreated(c) if c.id == id)));
    let listed = chain
        .deployments(&owner, DeploymentStateFilter::Active, None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(chain
        .deployments(&owner, DeploymentStateFilter::Closed, None)
        .await
        .unwrap()
        .items
        .is_empty());
    let d = chain.deployment(&id).await.unwrap();
    assert_eq!(d.deployment.state(), dv1::DeploymentState::Active);
    assert_eq!(d.groups.len(), 1);

    // Bids from both providers, the cheaper one is leased.
    let [p1, p2] = [chain.providers()[0].clone(), chain.providers()[1].clone()];
    let b1 = chain.add_bid(10, 1, 1, &p1, 7).expect("bid 1");
    chain.add_bid(10, 1, 1, &p2, 9).expect("bid 2");
    assert!(
        chain.add_bid(10, 1, 1, &p1, 5).is_err(),
        "one bid per provider and order"
    );
    let bids = chain.bids(open_bids(&chain, 10), None).await.unwrap();
    assert_eq!(bids.items.len(), 2);
    let r = chain.create_lease(b1.clone()).await.expect("lease");
    let lease: mv1::LeaseID = b1.clone().into();
    assert!(r
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::LeaseCreated(l) if l.id == lease)));
    let active = mv1::LeaseFilters {
        owner: owner.clone(),
        dseq: 10,
        state: "active".into(),
        ..Default::default()
    };
    let leases = chain.leases(active.clone(), None).await.unwrap();
    assert_eq!(leases.items.len(), 1);
    assert_eq!(leases.items[0].lease.state(), mv1::LeaseState::Active);
    assert_eq!(
        chain.provider(&p1).await.unwrap().host_uri,
        "https://provider-1.fake:8443"
    );

    // The provider closes the lease; as on mainnet the group is paused until started again,
    // which opens a new order.
    let r = chain
        .close_lease_by_provider(&lease, mv1::LeaseClosedReason::Unstable)
        .expect("provider closes");
    assert!(r
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::LeaseClosed(l) if l.id == lease)));
    assert!(r
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::GroupPaused(_))));
    assert!(chain.leases(active, None).await.unwrap().items.is_empty());
    chain.start_group(10, 1).await.expect("start the group");
    let orders = chain
        .orders(
            mv1beta5::OrderFilters {
                owner: owner.clone(),
                dseq: 10,
                state: "open".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(orders.items.len(), 1);
    assert_eq!(orders.items[0].id.oseq, 2);

    // Deposit, update, close.
    chain
        .deposit(id.clone(), coin(UACT, 1_000_000))
        .await
        .expect("deposit");
    let r = chain
        .update_deployment(10, vec![9; 32])
        .await
        .expect("update");
    assert!(r
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::DeploymentUpdated(_))));
    chain.close_deployment(10).await.expect("close");
    let d = chain.deployment(&id).await.unwrap();
    assert_eq!(d.deployment.state(), dv1::DeploymentState::Closed);
    // The rules are the chain's: closing twice is refused, a missing deployment not found.
    let err = chain.close_deployment(10).await.unwrap_err();
    assert_eq!(err.category(), "rejected", "{err}");
    let err = chain
        .deployment(&dv1::DeploymentID::new(&owner, 99))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::NotFound(_)), "{err}");

    let info = chain.account(&owner).await.unwrap();
    assert_eq!(info.address, owner);
    assert!(info.sequence >= 5);
    let balances = chain.balances(&owner).await.unwrap();
    assert!(balances.iter().any(|c| c.denom == UAKT));
    assert_eq!(chain.writes(), 7);
    let by_type = chain.txs_by_type();
    assert_eq!(by_type["/akash.deployment.v1beta4.MsgCloseDeployment"], 2);
    assert_eq!(by_type["/akash.market.v1beta5.MsgCreateLease"], 1);
}

#[tokio::test]
async fn injected_failures_fail_the_next_writes_only() {
    let chain = FakeChain::new(1);
    chain.set_failing(2, ClientError::Transport("down".into()));
    for _ in 0..2 {
        let err = chain
            .create_deployment(1, sdl().groups, vec![1; 32], coin(UACT, 500_000))
            .await
            .unwrap_err();
        assert_eq!(err, ClientError::Transport("down".into()));
    }
    assert_eq!(chain.height(), 0, "nothing reached the chain");
    deploy(&chain, 1).await;
    assert_eq!(chain.writes(), 3);
    assert_eq!(
        chain.txs_by_type()["/akash.deployment.v1beta4.MsgCreateDeployment"],
        3
    );
}

#[tokio::test]
async fn pending_writes_land_when_released_or_never_once_expired() {
    let chain = FakeChain::new(0);
    let owner = chain.owner().to_string();
    chain.set_pending(true);
    let conv = sdl();
    let err = chain
        .create_deployment(
            5,
            conv.groups.clone(),
            conv.version.0.to_vec(),
            coin(UACT, 500_000),
        )
        .await
        .unwrap_err();
    let hash = err.pending_hash().expect("pending").to_string();
    assert!(err.is_transient());
    assert_eq!(chain.tx(&hash).await.unwrap(), None);
    let id = dv1::DeploymentID::new(&owner, 5);
    assert!(chain.deployment(&id).await.is_err(), "not landed yet");
    assert_eq!(chain.release_pending(), vec![hash.clone()]);
    let receipt = chain
        .tx(&hash.to_lowercase())
        .await
        .unwrap()
        .expect("landed");
    assert!(receipt
        .message(0)
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::DeploymentCreated(c) if c.id == id)));
    chain.deployment(&id).await.expect("now on chain");

    // Held again, then expired: it never lands, even when released afterwards.
    let err = chain.close_deployment(5).await.unwrap_err();
    let ClientError::Pending {
        hash: closing,
        timeout_height,
        ..
    } = err
    else {
        panic!("expected pending, got {err:?}");
    };
    assert_eq!(chain.expire_pending(), vec![closing.clone()]);
    assert!(chain.height() as u64 > timeout_height);
    assert!(chain.release_pending().is_empty());
    assert_eq!(chain.tx(&closing).await.unwrap(), None);
    let d = chain.deployment(&id).await.unwrap();
    assert_eq!(d.deployment.state(), dv1::DeploymentState::Active);
    chain.set_pending(false);
    chain
        .close_deployment(5)
        .await
        .expect("closes when not held");
    assert!(chain.tx("zz").await.is_err());
}

#[tokio::test]
async fn fake_gateway_reports_the_last_manifest_and_obeys_its_controls() {
    let gw = FakeGateway::new();
    let lease = dv1::DeploymentID::new("akash1owner", 3)
        .group(1)
        .order(1)
        .bid("akash1provider", 0)
        .lease_id();
    let err = gw.lease_status(&lease).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Http { status: 404, .. }),
        "{err}"
    );
    let manifest = serde_json::to_vec(&sdl().manifest).unwrap();
    gw.send_manifest(&lease, &manifest).await.expect("accepted");
    assert_eq!(gw.manifest(&lease), Some(manifest.clone()));
    let status = gw.lease_status(&lease).await.unwrap();
    assert_eq!(status.services["web"].available_replicas, 2);
    assert_eq!(status.services["web"].total, 2);
    assert_eq!(status.services["worker"].available_replicas, 1);

    gw.set_service_available("web", false);
    let status = gw.lease_status(&lease).await.unwrap();
    assert_eq!(status.services["web"].available_replicas, 0);
    assert_eq!(status.services["worker"].available_replicas, 1);
    gw.set_service_available("web", true);

    gw.set_rejecting(Some("version mismatch"));
    let err = gw.send_manifest(&lease, &manifest).await.unwrap_err();
    assert_eq!(err.category(), "manifest-rejected");
    assert!(!err.is_transient());
    gw.set_rejecting(None);
    let err = gw.send_manifest(&lease, b"not json").await.unwrap_err();
    assert!(matches!(err, GatewayError::Rejected(_)), "{err}");

    gw.set_unreachable("akash1provider", true);
    let err = gw.lease_status(&lease).await.unwrap_err();
    assert_eq!(err.category(), "provider-unreachable");
    assert!(err.is_transient());
    assert!(gw.send_manifest(&lease, &manifest).await.is_err());
    gw.set_unreachable("akash1provider", false);
    assert!(gw.lease_status(&lease).await.is_ok());
    assert_eq!(gw.manifests_sent(), 4);
}
