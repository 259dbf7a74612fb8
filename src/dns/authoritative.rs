//! An authoritative DNS server inside this process (hickory-server): each zone held in memory
//! and journaled to SQLite in a directory of its own, dynamic updates (RFC 2136) and zone
//! transfers accepted only when signed with the TSIG key, queries answered over UDP and TCP
//! on one port of 127.0.0.1. `demo` serves the examples' zones from it and reaches it through
//! the RFC 2136 provider, as the daemon reaches BIND or a cloud provider.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{LowerName, Name};
use hickory_server::store::sqlite::{SqliteConfig, SqliteZoneHandler, TsigKeyConfig};
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use hickory_server::Server;

use super::record::canonical_name;
use super::rfc2136::{TsigAlg, TsigKey};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No free port, or a socket could not be opened.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(std::io::Error),
    /// A zone's files could not be written or loaded.
    #[error("zone `{zone}`: {message}")]
    Zone {
        /// The zone.
        zone: String,
        /// What went wrong.
        message: String,
    },
}

/// A running authoritative server; it stops when dropped (or at [`shutdown`](Self::shutdown)).
pub struct AuthoritativeServer {
    addr: SocketAddr,
    zones: Vec<String>,
    server: Server<Catalog>,
}

impl std::fmt::Debug for AuthoritativeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthoritativeServer")
            .field("addr", &self.addr)
            .field("zones", &self.zones)
            .finish_non_exhaustive()
    }
}

/// The zone as the server starts it: its SOA, one NS and the NS's address.
fn zone_file(zone: &str) -> String {
    format!(
        "{zone}. 60 IN SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 60\n\
         {zone}. 60 IN NS ns1.{zone}.\n\
         ns1.{zone}. 60 IN A 127.0.0.1\n"
    )
}

fn algorithm(a: TsigAlg) -> TsigAlgorithm {
    match a {
        TsigAlg::HmacSha256 => TsigAlgorithm::HmacSha256,
        TsigAlg::HmacSha384 => TsigAlgorithm::HmacSha384,
        TsigAlg::HmacSha512 => TsigAlgorithm::HmacSha512,
    }
}

/// Writes `bytes` to `path`, readable by this user only (the TSIG secret).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)
}

/// A UDP socket and a TCP listener on the same free port of 127.0.0.1.
async fn bind() -> Result<(tokio::net::UdpSocket, tokio::net::TcpListener), ServeError> {
    let mut last = None;
    for _ in 0..20 {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .map_err(ServeError::Listen)?;
        let port = udp.local_addr().map_err(ServeError::Listen)?.port();
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(ServeError::Listen(last.unwrap_or_else(|| {
        std::io::Error::other("no port free for both UDP and TCP")
    })))
}

impl AuthoritativeServer {
    /// Serves `zones` (empty at first but for their SOA and NS), their files kept in `dir`;
    /// updates and transfers must be signed with `key`.
    pub async fn start(
        dir: &Path,
        zones: &[String],
        key: &TsigKey,
    ) -> Result<AuthoritativeServer, ServeError> {
        let key_file: PathBuf = dir.join("tsig.key");
        write_private(&key_file, &key.secret).map_err(|e| ServeError::Zone {
            zone: zones.join(", "),
            message: format!("cannot write the TSIG key file: {e}"),
        })?;
        let mut catalog = Catalog::new();
        let mut served = Vec::new();
        for zone in zones {
            let zone = canonical_name(zone);
            if served.contains(&zone) {
                continue;
            }
            let err = |message: String| ServeError::Zone {
                zone: zone.clone(),
                message,
            };
            let origin = Name::from_str(&format!("{zone}."))
                .map_err(|e| err(format!("not a domain name: {e}")))?;
            let zone_path = dir.join(format!("{zone}.zone"));
            let journal_path = dir.join(format!("{zone}.jrnl"));
            // A fresh zone every start: a journal left by an earlier run would be replayed.
            let _ = std::fs::remove_file(&journal_path);
            std::fs::write(&zone_path, zone_file(&zone))
                .map_err(|e| err(format!("cannot write {}: {e}", zone_path.display())))?;
            let config = SqliteConfig {
                zone_path,
                journal_path,
                allow_update: true,
                tsig_keys: vec![TsigKeyConfig {
                    name: key.name.clone(),
                    key_file: key_file.clone(),
                    algorithm: algorithm(key.algorithm),
                    fudge: 300,
                }],
            };
            let handler = SqliteZoneHandler::<TokioRuntimeProvider>::try_from_config(
                origin.clone(),
                ZoneType::Primary,
                AxfrPolicy::AllowSigned,
                false,
                None,
                &config,
                None,
            )
            .await
            .map_err(err)?;
            let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
            catalog.upsert(LowerName::new(&origin), vec![handler]);
            served.push(zone);
        }
        let (udp, tcp) = bind().await?;
        let addr = udp.local_addr().map_err(ServeError::Listen)?;
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(10), 64);
        Ok(AuthoritativeServer {
            addr,
            zones: served,
            server,
        })
    }

    /// Where it answers (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The zones it serves.
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    /// Stops listening and waits for the connections to end.
    pub async fn shutdown(mut self) {
        if let Err(e) = self.server.shutdown_gracefully().await {
            tracing::warn!(error = %e, "the authoritative server stopped with an error");
        }
    }
}
