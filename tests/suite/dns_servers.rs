//! Real DNS servers for the tests (BIND 9, Knot, PowerDNS from Debian packages), each started
//! in a temporary directory on free 127.0.0.1 ports, serving `example.test` with TSIG key
//! `akash-key` allowed to update and transfer it; killed when dropped. The recipes are those
//! of `../shared/dns/SERVERS.md`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::udp::UdpClientStream;
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

/// The zone every server holds.
pub const ZONE: &str = "example.test";
/// The TSIG key's name.
pub const KEY_NAME: &str = "akash-key";
/// The TSIG secret (base64 of 32 fixed bytes: tests only).
pub const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LWtleSE=";
/// The PowerDNS API key.
pub const API_KEY: &str = "test-api-key";

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// BIND 9.
    Bind,
    /// Knot DNS.
    Knot,
    /// PowerDNS Authoritative with the SQLite backend.
    PowerDns,
}

/// A running server.
pub struct Server {
    child: Option<Child>,
    flavor: Flavor,
    args: Vec<std::ffi::OsString>,
    /// Its DNS port (UDP and TCP).
    pub port: u16,
    /// The PowerDNS API's base URL.
    pub api_url: Option<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Server {
    /// Kills the server process (its zone stays on disk for [`Server::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the stopped server again on the same port and files; waits until it answers.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        self.child = Some(spawn(self.flavor, &self.args));
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        let start = Instant::now();
        loop {
            if !query(self.port, ZONE, RecordType::SOA).await.is_empty() {
                if let Some(api) = &self.api_url {
                    let ok = reqwest::Client::new()
                        .get(format!("{api}/api/v1/servers/localhost"))
                        .header("X-API-Key", API_KEY)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if !ok {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{:?} did not answer within 20 s",
                self.flavor
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn spawn(flavor: Flavor, args: &[std::ffi::OsString]) -> Child {
    Command::new(binary(flavor))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary(flavor)))
}

fn free_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = t.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn binary(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Bind => "/usr/sbin/named",
        Flavor::Knot => "/usr/sbin/knotd",
        Flavor::PowerDns => "/usr/sbin/pdns_server",
    }
}

/// Whether the server's binary is installed; under CI a missing one fails the test.
pub fn available(flavor: Flavor) -> bool {
    if Path::new(binary(flavor)).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{} is missing: scripts/test installs it", binary(flavor));
    }
    eprintln!(
        "NOTICE: {} not installed; skipped (scripts/test installs it)",
        binary(flavor)
    );
    false
}

const ZONE_FILE: &str = "$TTL 60\n@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60\n@ IN NS ns1.example.test.\nns1 IN A 127.0.0.1\nforeign IN TXT \"made by hand\"\n";

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a server tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts a server; waits until it answers the zone's SOA (at most 20 s).
pub async fn start(flavor: Flavor) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let port = free_port();
    let mut api_url = None;
    let cmd = match flavor {
        Flavor::Bind => {
            std::fs::write(d.join("example.test.zone"), ZONE_FILE).unwrap();
            std::fs::write(
                d.join("named.conf"),
                format!(
                    "key \"{KEY_NAME}\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n\
                     options {{ directory \"{dir}\"; pid-file \"{dir}/named.pid\"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; }};\n\
                     controls {{ }};\n\
                     zone \"{ZONE}\" {{ type primary; file \"{dir}/example.test.zone\"; allow-update {{ key \"{KEY_NAME}\"; }}; allow-transfer {{ key \"{KEY_NAME}\"; }}; }};\n",
                    dir = d.display()
                ),
            )
            .unwrap();
            let mut c = Command::new(binary(flavor));
            c.arg("-c")
                .arg(d.join("named.conf"))
                .args(["-g", "-n", "1"]);
            c
        }
        Flavor::Knot => {
            std::fs::write(d.join("example.test.zone"), ZONE_FILE).unwrap();
            std::fs::create_dir_all(d.join("db")).unwrap();
            std::fs::write(
                d.join("knot.conf"),
                format!(
                    "server:\n    rundir: \"{dir}\"\n    pidfile: \"{dir}/knot.pid\"\n    listen: 127.0.0.1@{port}\n\
                     database:\n    storage: \"{dir}/db\"\n\
                     control:\n    listen: \"{dir}/knot.sock\"\n\
                     log:\n  - target: stderr\n    any: warning\n\
                     key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
                     acl:\n  - id: update_acl\n    key: {KEY_NAME}\n    action: [update, transfer]\n\
                     template:\n  - id: default\n    storage: \"{dir}\"\n\
                     zone:\n  - domain: {ZONE}\n    file: example.test.zone\n    acl: update_acl\n",
                    dir = d.display()
                ),
            )
            .unwrap();
            let mut c = Command::new(binary(flavor));
            c.arg("-c").arg(d.join("knot.conf"));
            c
        }
        Flavor::PowerDns => {
            let api_port = free_port();
            let db = d.join("pdns.sqlite3");
            let schema =
                std::fs::read_to_string("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql")
                    .expect("the pdns sqlite schema");
            let mut s = Command::new("sqlite3");
            s.arg(&db).stdin(Stdio::piped());
            let mut child = s.spawn().expect("sqlite3");
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), schema.as_bytes()).unwrap();
            drop(child.stdin.take());
            assert!(child.wait().unwrap().success());
            std::fs::write(
                d.join("pdns.conf"),
                format!(
                    "launch=gsqlite3\ngsqlite3-database={db}\nlocal-address=127.0.0.1\nlocal-port={port}\nsocket-dir={dir}\n\
                     guardian=no\ndaemon=no\ndisable-syslog=yes\nloglevel=3\napi=yes\napi-key={API_KEY}\nwebserver=yes\n\
                     webserver-address=127.0.0.1\nwebserver-port={api_port}\nwebserver-allow-from=127.0.0.0/8\n\
                     dnsupdate=yes\nallow-dnsupdate-from=127.0.0.0/8\nallow-axfr-ips=127.0.0.0/8\nsecurity-poll-suffix=\n",
                    db = db.display(),
                    dir = d.display()
                ),
            )
            .unwrap();
            let util = |args: &[&str]| {
                let mut c = Command::new("pdnsutil");
                c.arg(format!("--config-dir={}", d.display())).args(args);
                run(&mut c);
            };
            util(&["create-zone", ZONE, "ns1.example.test"]);
            util(&["add-record", ZONE, "ns1", "A", "60", "127.0.0.1"]);
            util(&[
                "add-record",
                ZONE,
                "foreign",
                "TXT",
                "60",
                "\"made by hand\"",
            ]);
            util(&["import-tsig-key", KEY_NAME, "hmac-sha256", SECRET]);
            util(&["set-meta", ZONE, "TSIG-ALLOW-DNSUPDATE", KEY_NAME]);
            util(&["set-meta", ZONE, "TSIG-ALLOW-AXFR", KEY_NAME]);
            util(&["set-meta", ZONE, "ALLOW-DNSUPDATE-FROM", "127.0.0.0/8"]);
            api_url = Some(format!("http://127.0.0.1:{api_port}"));
            let mut c = Command::new(binary(flavor));
            c.arg(format!("--config-dir={}", d.display()));
            c
        }
    };
    let args: Vec<std::ffi::OsString> = cmd.get_args().map(|a| a.to_owned()).collect();
    let server = Server {
        child: Some(spawn(flavor, &args)),
        flavor,
        args,
        port,
        api_url,
        _dir: dir,
    };
    server.wait_ready().await;
    server
}

/// The values of `name`'s `t` records, queried over UDP (empty when none or no answer).
pub async fn query(port: u16, name: &str, t: RecordType) -> Vec<String> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let stream = UdpClientStream::builder(addr, TokioRuntimeProvider::default())
        .with_timeout(Some(Duration::from_millis(500)))
        .build();
    let (mut client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
    let bg = tokio::spawn(bg);
    let Ok(n) = Name::from_str(&format!("{name}.")) else {
        return Vec::new();
    };
    let resp = tokio::time::timeout(Duration::from_secs(1), client.query(n, DNSClass::IN, t))
        .await
        .unwrap_or(Err(hickory_net::NetError::Timeout));
    bg.abort();
    let Ok(resp) = resp else { return Vec::new() };
    let mut v: Vec<String> = resp
        .answers
        .iter()
        .filter(|r| r.record_type() == t)
        .map(|r| match &r.data {
            RData::TXT(x) => x
                .txt_data
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect(),
            RData::CNAME(c) => c.0.to_string().trim_end_matches('.').to_string(),
            other => other.to_string(),
        })
        .collect();
    v.sort();
    v
}

/// Polls `query` until it returns `want` (at most `within`); the time it took.
pub async fn until_resolves(
    port: u16,
    name: &str,
    t: RecordType,
    want: &[&str],
    within: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        let got = query(port, name, t).await;
        if got.iter().map(String::as_str).collect::<Vec<_>>() == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{name} {t}: got {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
