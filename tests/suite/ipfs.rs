//! The devnet's IPFS over real sockets: `devnet ctl ipfs add`, the trustless gateway (raw
//! blocks, whole files) and the block-by-block verifying fetch.

use std::time::Duration;

use af_operator::devnet::ipfs::fetch_verified;
use af_operator::devnet::{Devnet, DevnetConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipfs_add_by_ctl_then_fetch_whole_and_block_by_block() {
    let dn = Devnet::start(DevnetConfig {
        providers: 0,
        block_time: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .expect("devnet");
    let control = dn.control_url();
    let dir = tempfile::tempdir().unwrap();
    // Three chunks and a bit: a two-level DAG.
    let bundle: Vec<u8> = (0..(3 * 256 * 1024 + 1000))
        .map(|i| (i % 251) as u8)
        .collect();
    let path = dir.path().join("bundle.js");
    std::fs::write(&path, &bundle).unwrap();
    let small = dir.path().join("hello.txt");
    std::fs::write(&small, b"hello world\n").unwrap();

    let add = |file: std::path::PathBuf, version: &'static str| {
        let control = control.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"))
                    .args(["devnet", "ctl", "--control", &control, "ipfs", "add"])
                    .arg(&file)
                    .args(["--cid-version", version])
                    .output()
                    .expect("run ctl")
            })
            .await
            .unwrap()
        }
    };
    // A known CID (kubo's, CIDv0 of "hello world\n"), through the command line.
    let out = add(small, "0").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    );
    let out = add(path, "1").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(cid.starts_with("bafy"), "{cid}");

    let http = reqwest::Client::new();
    // The whole file.
    let whole = http
        .get(format!("{control}/ipfs/{cid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap().as_ref(), bundle.as_slice());
    // The root as a raw block, by the query and by the Accept header alike.
    let raw = http
        .get(format!("{control}/ipfs/{cid}?format=raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let raw = raw.bytes().await.unwrap();
    let by_accept = http
        .get(format!("{control}/ipfs/{cid}"))
        .header("accept", "application/vnd.ipld.raw")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(raw, by_accept);
    assert!(raw.len() < bundle.len(), "a root block, not the file");
    // Block by block, each checked against its CID.
    let fetched = fetch_verified(&http, &control, &cid)
        .await
        .expect("verified");
    assert_eq!(fetched, bundle);
    // Refusals: a bad CID, an unknown one, an unserved format.
    let bad = http
        .get(format!("{control}/ipfs/not-a-cid"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let unknown = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    let r = http
        .get(format!("{control}/ipfs/{unknown}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(fetch_verified(&http, &control, unknown).await.is_err());
    let r = http
        .get(format!("{control}/ipfs/{cid}?format=car"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
