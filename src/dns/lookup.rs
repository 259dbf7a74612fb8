//! A DNS query over UDP, as a resolver asks an authoritative server: what a name resolves
//! to there, in the canonical form of [`Rrset`](super::Rrset) values.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::udp::UdpClientStream;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, Name};

use super::record::RecordType;
use super::rfc2136::{hickory_type, value_of};
use super::DnsError;

/// The answer to one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The response code (`NOERROR`, `NXDOMAIN`, …).
    pub code: String,
    /// The values of the answer's records of the type asked for, sorted.
    pub values: Vec<String>,
}

/// Asks `server` for the `rtype` records of `name` over UDP (one try, `timeout`).
pub async fn query(
    server: SocketAddr,
    name: &str,
    rtype: &RecordType,
    timeout: Duration,
) -> Result<Answer, DnsError> {
    let unavailable = |message: String| DnsError::Unavailable {
        provider: format!("dns {server}"),
        op: "query",
        message,
    };
    let qname = Name::from_str(&format!("{}.", name.trim_end_matches('.'))).map_err(|_| {
        DnsError::Refused {
            provider: format!("dns {server}"),
            op: "query",
            message: format!("`{name}` is not a domain name"),
        }
    })?;
    let stream = UdpClientStream::builder(server, TokioRuntimeProvider::default())
        .with_timeout(Some(timeout))
        .build();
    let (mut client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
    let bg = tokio::spawn(bg);
    let t = hickory_type(rtype);
    let resp = tokio::time::timeout(timeout, client.query(qname, DNSClass::IN, t)).await;
    bg.abort();
    let resp = resp
        .map_err(|_| unavailable(format!("no answer within {timeout:?}")))?
        .map_err(|e| unavailable(e.to_string()))?;
    let mut values: Vec<String> = resp
        .answers
        .iter()
        .filter(|r| r.record_type() == t)
        .map(|r| value_of(r).1)
        .collect();
    values.sort();
    let code = match resp.response_code {
        ResponseCode::NoError => "NOERROR".to_string(),
        ResponseCode::NXDomain => "NXDOMAIN".to_string(),
        other => other.to_string().to_ascii_uppercase(),
    };
    Ok(Answer { code, values })
}
