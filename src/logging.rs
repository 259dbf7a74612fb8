//! Logging: which filter applies (`AF_LOG`, else `RUST_LOG`, else `warn`) and the hard floor
//! that keeps tokens, secrets and mnemonics out of the log whatever the filter asks for.
//!
//! The operator's own crates never log a secret. Dependencies do not make that promise at
//! their most verbose level: at TRACE, tungstenite logs every WebSocket message it receives
//! (a `connection_init` carrying a token), HTTP libraries log frames and headers. So events
//! of any target outside this workspace are kept at DEBUG at most, even when the filter says
//! `trace` for them.

use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// The filter used when neither `AF_LOG` nor `RUST_LOG` is set (or the one set is invalid).
pub const DEFAULT_FILTER: &str = "warn";

/// hickory-server's catalog, quieted (see [`subscriber`]).
const QUIET_CATALOG: &str = "hickory_server::zone_handler::catalog=error";

/// The crates of this workspace, whose every level may be shown.
const OWN_TARGETS: [&str; 3] = ["af_operator", "af_akash", "af_devnet"];

/// The filter directives in force: `AF_LOG` when set and not empty, else `RUST_LOG`, else
/// [`DEFAULT_FILTER`].
pub fn directives(af_log: Option<&str>, rust_log: Option<&str>) -> String {
    [af_log, rust_log]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|d| !d.is_empty())
        .unwrap_or(DEFAULT_FILTER)
        .to_string()
}

fn own_target(target: &str) -> bool {
    OWN_TARGETS.iter().any(|own| {
        target
            .strip_prefix(own)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// The hard floor: whether an event may be logged at all, whatever the filter says.
pub fn allowed(metadata: &Metadata<'_>) -> bool {
    own_target(metadata.target()) || *metadata.level() <= Level::DEBUG
}

/// A subscriber writing to `writer` with `directives` (invalid ones fall back to
/// [`DEFAULT_FILTER`]) under the hard floor.
pub fn subscriber<W>(directives: &str, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let mut filter =
        EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // hickory-server 0.26 warns "unexpected lookup skip" on every answer from a zone without
    // NSEC records (the demo's authoritative server): noise, shown only when asked for by name.
    if !directives.contains("hickory_server") {
        if let Ok(d) = QUIET_CATALOG.parse() {
            filter = filter.add_directive(d);
        }
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_filter(filter.and(filter_fn(allowed)));
    tracing_subscriber::registry().with(layer)
}

/// Forwards the `log` records of dependencies (tungstenite logs through `log`) to `tracing`,
/// where the floor applies to them too. Once per process; later calls do nothing.
pub fn bridge_log_records() {
    let _ = tracing_log::LogTracer::init();
}

/// Sets up the process's logging on standard error from `AF_LOG` / `RUST_LOG`.
pub fn init() {
    let af_log = std::env::var("AF_LOG").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let directives = directives(af_log.as_deref(), rust_log.as_deref());
    bridge_log_records();
    let _ = tracing::subscriber::set_global_default(subscriber(&directives, std::io::stderr));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn af_log_wins_over_rust_log() {
        assert_eq!(directives(None, None), "warn");
        assert_eq!(directives(None, Some("debug")), "debug");
        assert_eq!(directives(Some("info"), Some("debug")), "info");
        assert_eq!(directives(Some(" "), Some("debug")), "debug");
        assert_eq!(directives(Some(""), Some("")), "warn");
    }

    #[test]
    fn only_own_crates_are_recognised() {
        assert!(own_target("af_operator"));
        assert!(own_target("af_operator::api::http"));
        assert!(own_target("af_akash::tx"));
        assert!(!own_target("af_operatorx"));
        assert!(!own_target("tungstenite::protocol"));
        assert!(!own_target("hyper::proto::h1"));
    }
}
