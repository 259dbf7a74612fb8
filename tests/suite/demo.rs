//! `af-operator demo`, the binary end to end: every Akash-hosted example Ready on the
//! in-process devnet, and the example zone served by the in-process authoritative server,
//! its names asked over UDP in the final table.

use std::process::Command;

use crate::common::examples_dir;

#[test]
fn demo_takes_the_examples_to_ready_and_serves_their_zone_over_dns() {
    let out = Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args(["demo", "--timeout", "90s", "-f"])
        .arg(examples_dir())
        .env_remove("AF_DATABASE_URL")
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    // The zone's providers were replaced, and it says so.
    assert!(
        stderr.contains(
            "demo: dnszone/alternatefutures-ai (zone alternatefutures.ai) is served by the in-process authoritative server at 127.0.0.1:"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("in place of cloudflare (cloudflare)"),
        "{stderr}"
    );

    // The DNS table: each name of the zone and what DNS answered for it.
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("HOSTNAME") && l.contains("RESOLVES TO"))
        .unwrap_or_else(|| panic!("no DNS table:\n{stdout}"));
    let row = |name: &str| -> Vec<&str> {
        lines[header + 1..]
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"))
            .split_whitespace()
            .collect()
    };
    // A SecretStore, a Site's dedicated gateway and the Proxy: CNAMEs to their provider's
    // ingress (the devnet leases no IPs).
    for name in [
        "secrets.alternatefutures.ai",
        "docs.alternatefutures.ai",
        "edge.alternatefutures.ai",
    ] {
        let r = row(name);
        assert_eq!(r[1], "CNAME", "{r:?}");
        assert!(
            r[2].contains(".ingress.provider-") && r[2].ends_with(".devnet"),
            "{r:?}"
        );
    }
    let r = row("_dnslink.docs.alternatefutures.ai");
    assert_eq!(
        r[1..],
        [
            "TXT",
            "\"dnslink=/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG\""
        ]
    );
    // Names outside the example zone are not in the table.
    assert!(!stdout.contains("api.defarm.io  "), "{stdout}");

    // The last line stays the summary.
    let last = lines.last().copied().unwrap_or_default();
    let words: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(words.len(), 6, "{last}");
    assert_eq!(
        (words[0], words[2], words[3], words[5]),
        ("demo:", "ready", "in", "s"),
        "{last}"
    );
    let (ready, total) = words[1].split_once('/').expect("N/N");
    assert_eq!(ready, total, "{last}");
    assert!(total.parse::<usize>().unwrap() >= 6, "{last}");
    let secs: f64 = words[4].parse().expect("seconds");
    eprintln!("DEMO with DNS: {last}");
    assert!(secs < 60.0, "{last}");
}
