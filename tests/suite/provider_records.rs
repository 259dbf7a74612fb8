//! `af-operator providers`: our record of each provider, with what the chain says of it.

use std::process::Command;
use std::time::Duration;

use af_operator::devnet::{Devnet, DevnetConfig};
use af_operator::store::{ProviderEvent, ProviderRecords};

use crate::common::TestDb;

/// Runs the binary (off the async runtime): exit code, stdout, stderr.
async fn af(db: &str, args: &[&str]) -> (i32, String, String) {
    let db = db.to_owned();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_af-operator"))
            .args(&args)
            .env("AF_DATABASE_URL", &db)
            .env_remove("AF_AKASH_NETWORK")
            .output()
            .expect("spawn af-operator");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_prints_our_record_with_the_chains_attributes_and_auditors() {
    let dn = Devnet::start(DevnetConfig {
        providers: 2,
        block_time: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .expect("devnet");
    let prov = dn.provider_set().expect("providers").providers()[0]
        .address
        .clone();
    // A provider we dealt with that is no longer registered.
    let gone = af_operator::devnet::test_account(9).0.address().to_owned();
    let owner = af_operator::devnet::test_account(0).0.address().to_owned();

    let db = TestDb::sqlite();
    let store = af_operator::store::open(&db.url).await.expect("store");
    for e in [
        ProviderEvent::Lease { price: 12.0 },
        ProviderEvent::Lease { price: 14.0 },
        ProviderEvent::FirstHealthy { after_ms: 1500 },
        ProviderEvent::Failure {
            reason: "Unhealthy".into(),
        },
    ] {
        store.record_provider(&owner, &prov, &e).await.unwrap();
    }
    for e in [
        ProviderEvent::Lease { price: 3.0 },
        ProviderEvent::Failure {
            reason: "LeaseClosed".into(),
        },
        ProviderEvent::Failure {
            reason: "LeaseClosed".into(),
        },
    ] {
        store.record_provider(&owner, &gone, &e).await.unwrap();
    }
    // The failures the bid choice reads are counted by the database, as the records say.
    let counted = store.provider_failures(&owner).await.unwrap();
    let from_records: std::collections::BTreeMap<String, u32> = store
        .provider_records(&owner)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.provider.clone(), r.failure_total() as u32))
        .collect();
    assert_eq!(counted, from_records);
    assert_eq!(counted.get(&gone), Some(&2));
    assert!(store.provider_failures(&gone).await.unwrap().is_empty());
    drop(store);

    // The table, from the store alone.
    let (code, out, err) = af(&db.url, &["providers"]).await;
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let head = lines.next().expect("header");
    for col in [
        "PROVIDER",
        "ATTRIBUTES",
        "AUDITED BY",
        "LEASES",
        "FAILURES",
        "MEDIAN PRICE",
        "FIRST HEALTHY",
        "LAST SEEN",
    ] {
        assert!(head.contains(col), "{head}");
    }
    let row = out.lines().find(|l| l.starts_with(&prov)).expect("row");
    assert!(row.contains("1 (Unhealthy:1)"), "{row}");
    assert!(row.contains("13/block"), "median of 12 and 14: {row}");
    assert!(row.contains("1.5s"), "{row}");
    let row = out.lines().find(|l| l.starts_with(&gone)).expect("row");
    assert!(row.contains("2 (LeaseClosed:2)"), "{row}");
    assert!(row.contains("3/block"), "{row}");

    // JSON with the chain's view: attributes, auditors, whether it is still registered.
    let (code, out, err) = af(
        &db.url,
        &["providers", "--network", &dn.rpc_url(), "-o", "json"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let list = v.as_array().expect("array");
    assert_eq!(list.len(), 2);
    let p = list
        .iter()
        .find(|p| p["provider"] == prov.as_str())
        .unwrap();
    assert_eq!(p["registered"], true);
    assert_eq!(p["leases"], 2);
    assert_eq!(p["failures"]["Unhealthy"], 1);
    assert_eq!(p["medianPricePerBlock"], 13.0);
    assert_eq!(p["medianFirstHealthyMs"], 1500);
    assert!(p["attributes"]["region"].is_string(), "{p}");
    let g = list
        .iter()
        .find(|p| p["provider"] == gone.as_str())
        .unwrap();
    assert_eq!(g["registered"], false);

    // The table with the chain: region and tier first; the gone one says so.
    let (code, out, err) = af(&db.url, &["providers", "--network", &dn.rpc_url()]).await;
    assert_eq!(code, 0, "{err}");
    let row = out.lines().find(|l| l.starts_with(&prov)).expect("row");
    assert!(row.contains("region="), "{row}");
    let row = out.lines().find(|l| l.starts_with(&gone)).expect("row");
    assert!(row.contains("(not registered)"), "{row}");

    // Another wallet's record: none, said on stderr.
    let other = af_operator::devnet::test_account(3).0.address().to_owned();
    let (code, out, err) = af(&db.url, &["providers", "--owner", &other]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("no provider records yet"), "{err}");

    // An unreachable chain: one line saying what failed.
    let (code, _, err) = af(&db.url, &["providers", "--network", "http://127.0.0.1:9"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach the Akash RPC"), "{err}");
    assert!(!err.contains(".rs:"), "{err}");
}
