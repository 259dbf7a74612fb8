//! RFC 2136 dynamic updates, signed with TSIG (RFC 8945), to any primary (BIND 9, Knot,
//! PowerDNS, …); the zone is read by AXFR (signed too, every answer message verified: see
//! [`axfr`](super::axfr)). Everything goes over TCP: a change set of thousands of rrsets does
//! not fit a UDP datagram, and AXFR needs it.
//!
//! A change set is sent as UPDATE messages of at most [`CHANGES_PER_MESSAGE`] changes, each
//! atomic on the server (RFC 2136 §3.7), with prerequisites: a create requires that the rrset
//! does not exist, an update or a delete that it exists, so a concurrent writer is not
//! overwritten blindly.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use hickory_net::client::Client;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::xfer::{DnsHandle, DnsMultiplexer};
use hickory_proto::op::{DnsRequest, Edns, Message, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::{tsig::TsigAlgorithm, A, AAAA, CNAME, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, TSigner};

use super::axfr::{self, AxfrError};
use super::record::{canonical_name, Change, RecordType, Rrset};
use super::{DnsError, DnsProvider};

/// Changes per UPDATE message (each message is atomic on the server).
pub const CHANGES_PER_MESSAGE: usize = 200;

/// A TSIG algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigAlg {
    /// hmac-sha256.
    HmacSha256,
    /// hmac-sha384.
    HmacSha384,
    /// hmac-sha512.
    HmacSha512,
}

/// A TSIG key: its name, algorithm and secret.
#[derive(Clone)]
pub struct TsigKey {
    /// The key's name, as the server knows it.
    pub name: String,
    /// The algorithm.
    pub algorithm: TsigAlg,
    /// The secret's bytes.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl TsigKey {
    /// A key whose secret is given in base64 (as `tsig-keygen` prints it).
    pub fn from_base64(name: &str, algorithm: TsigAlg, secret: &str) -> Result<TsigKey, String> {
        use base64::Engine as _;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .map_err(|_| format!("the secret of TSIG key `{name}` is not base64"))?;
        if secret.is_empty() {
            return Err(format!("the secret of TSIG key `{name}` is empty"));
        }
        Ok(TsigKey {
            name: name.to_string(),
            algorithm,
            secret,
        })
    }
}

/// A primary server taking dynamic updates.
#[derive(Debug, Clone)]
pub struct Rfc2136Provider {
    server: String,
    port: u16,
    key: Option<TsigKey>,
    timeout: Duration,
}

impl Rfc2136Provider {
    /// The server at `server:port`, signing with `key` when given.
    pub fn new(server: &str, port: u16, key: Option<TsigKey>) -> Rfc2136Provider {
        Rfc2136Provider {
            server: server.to_string(),
            port,
            key,
            timeout: Duration::from_secs(10),
        }
    }

    /// Sets the time allowed per request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn unavailable(&self, op: &'static str, message: impl Into<String>) -> DnsError {
        DnsError::Unavailable {
            provider: self.label(),
            op,
            message: message.into(),
        }
    }

    async fn resolve(&self, op: &'static str) -> Result<SocketAddr, DnsError> {
        tokio::net::lookup_host((self.server.as_str(), self.port))
            .await
            .map_err(|e| self.unavailable(op, format!("cannot resolve {}: {e}", self.server)))?
            .next()
            .ok_or_else(|| self.unavailable(op, format!("{} has no address", self.server)))
    }

    async fn connect(&self, op: &'static str) -> Result<Client<TokioRuntimeProvider>, DnsError> {
        let addr = self.resolve(op).await?;
        let provider = TokioRuntimeProvider::default();
        let (connect, handle) = TcpClientStream::new(addr, None, Some(self.timeout), provider);
        let stream = tokio::time::timeout(self.timeout, connect)
            .await
            .map_err(|_| {
                self.unavailable(
                    op,
                    format!("no connection to {addr} within {:?}", self.timeout),
                )
            })?
            .map_err(|e| self.unavailable(op, format!("cannot connect to {addr}: {e}")))?;
        let mut mux = DnsMultiplexer::new(stream, handle).with_timeout(self.timeout);
        if let Some(k) = &self.key {
            mux = mux.with_signer(self.signer(k)?);
        }
        let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(mux);
        tokio::spawn(bg);
        Ok(client)
    }

    fn signer(&self, k: &TsigKey) -> Result<TSigner, DnsError> {
        let config = |message: String| DnsError::Config {
            provider: self.label(),
            message,
        };
        let name = Name::from_str(&k.name)
            .map_err(|_| config(format!("`{}` is not a TSIG key name", k.name)))?;
        let algorithm = match k.algorithm {
            TsigAlg::HmacSha256 => TsigAlgorithm::HmacSha256,
            TsigAlg::HmacSha384 => TsigAlgorithm::HmacSha384,
            TsigAlg::HmacSha512 => TsigAlgorithm::HmacSha512,
        };
        TSigner::new(k.secret.clone(), algorithm, name, 300)
            .map_err(|e| config(format!("cannot sign with TSIG key `{}`: {e}", k.name)))
    }

    /// A failed exchange: a refused signature is an authorization failure, anything else
    /// (timeouts, resets) is an outage.
    fn exchange_error(&self, op: &'static str, e: impl std::fmt::Display) -> DnsError {
        let text = e.to_string();
        let lower = text.to_ascii_lowercase();
        // hickory reports the unsigned BADSIG/BADKEY answer of a server as an unsupported
        // truncated HMAC (its TSIG verifier rejects the empty MAC).
        if lower.contains("hmac")
            || lower.contains("tsig")
            || lower.contains("badsig")
            || lower.contains("badkey")
        {
            DnsError::Unauthorized {
                provider: self.label(),
                op,
                message: format!("the server refused our TSIG signature ({text})"),
            }
        } else {
            self.unavailable(op, text)
        }
    }

    fn check_code(&self, op: &'static str, code: ResponseCode) -> Result<(), DnsError> {
        match code {
            ResponseCode::NoError => Ok(()),
            ResponseCode::ServFail => Err(self.unavailable(op, "the server answered SERVFAIL")),
            ResponseCode::NotAuth
            | ResponseCode::BADSIG
            | ResponseCode::BADKEY
            | ResponseCode::BADTIME => Err(DnsError::Unauthorized {
                provider: self.label(),
                op,
                message: format!("the server answered {code}"),
            }),
            ResponseCode::Refused => Err(DnsError::Unauthorized {
                provider: self.label(),
                op,
                message:
                    "the server answered REFUSED (is the TSIG key allowed to update this zone?)"
                        .into(),
            }),
            other => Err(DnsError::Refused {
                provider: self.label(),
                op,
                message: format!("the server answered {other}"),
            }),
        }
    }
}

fn name_of(provider: &Rfc2136Provider, op: &'static str, s: &str) -> Result<Name, DnsError> {
    let mut n = Name::from_str(s).map_err(|_| DnsError::Refused {
        provider: provider.label(),
        op,
        message: format!("`{s}` is not a domain name"),
    })?;
    n.set_fqdn(true);
    Ok(n)
}

/// The rdata of one canonical value.
fn rdata(
    t: &RecordType,
    v: &str,
    zone_err: impl Fn(String) -> DnsError,
) -> Result<RData, DnsError> {
    Ok(match t {
        RecordType::A => RData::A(A(v
            .parse()
            .map_err(|_| zone_err(format!("`{v}` is not an IPv4 address")))?)),
        RecordType::Aaaa => RData::AAAA(AAAA(
            v.parse()
                .map_err(|_| zone_err(format!("`{v}` is not an IPv6 address")))?,
        )),
        RecordType::Cname => {
            let mut n = Name::from_str(v).map_err(|_| zone_err(format!("`{v}` is not a name")))?;
            n.set_fqdn(true);
            RData::CNAME(CNAME(n))
        }
        RecordType::Txt => {
            // Character-strings hold 255 bytes at most: split on char boundaries.
            let mut parts = Vec::new();
            let mut cur = String::new();
            for ch in v.chars() {
                if cur.len() + ch.len_utf8() > 255 {
                    parts.push(std::mem::take(&mut cur));
                }
                cur.push(ch);
            }
            parts.push(cur);
            RData::TXT(TXT::new(parts))
        }
        RecordType::Other(o) => return Err(zone_err(format!("{o} records are not written"))),
    })
}

pub(crate) fn hickory_type(t: &RecordType) -> hickory_proto::rr::RecordType {
    use hickory_proto::rr::RecordType as H;
    match t {
        RecordType::A => H::A,
        RecordType::Aaaa => H::AAAA,
        RecordType::Cname => H::CNAME,
        RecordType::Txt => H::TXT,
        RecordType::Other(o) => H::from_str(o).unwrap_or(H::NULL),
    }
}

/// A record read from a server, in canonical form.
pub(crate) fn value_of(r: &Record) -> (RecordType, String) {
    match &r.data {
        RData::A(a) => (RecordType::A, a.0.to_string()),
        RData::AAAA(a) => (RecordType::Aaaa, a.0.to_string()),
        RData::CNAME(c) => (RecordType::Cname, canonical_name(&c.0.to_string())),
        RData::TXT(t) => (
            RecordType::Txt,
            t.txt_data
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect::<String>(),
        ),
        other => (
            RecordType::Other(r.record_type().to_string()),
            other.to_string(),
        ),
    }
}

#[async_trait]
impl DnsProvider for Rfc2136Provider {
    fn label(&self) -> String {
        format!("rfc2136 {}:{}", self.server, self.port)
    }

    async fn records(&self, zone: &str) -> Result<Vec<Rrset>, DnsError> {
        const OP: &str = "read zone (AXFR)";
        let addr = self.resolve(OP).await?;
        let origin = name_of(self, OP, zone)?;
        let signer = match &self.key {
            Some(k) => Some(self.signer(k)?),
            None => None,
        };
        let t = axfr::transfer(addr, &origin, signer.as_ref(), self.timeout)
            .await
            .map_err(|e| match e {
                AxfrError::Network(m) => self.unavailable(OP, m),
                AxfrError::Code(code) => match self.check_code(OP, code) {
                    Err(e) => e,
                    Ok(()) => self.unavailable(OP, "the transfer failed"),
                },
                AxfrError::Tsig(m) => DnsError::Unauthorized {
                    provider: self.label(),
                    op: OP,
                    message: format!("the transfer's TSIG: {m}"),
                },
                AxfrError::Malformed(m) => self.unavailable(OP, m),
            })?;
        let mut sets: BTreeMap<(String, RecordType), (u32, Vec<String>)> = BTreeMap::new();
        for r in &t.records {
            let (t, v) = value_of(r);
            let name = canonical_name(&r.name.to_string());
            let e = sets.entry((name, t)).or_insert((r.ttl, Vec::new()));
            e.0 = e.0.min(r.ttl);
            e.1.push(v);
        }
        Ok(sets
            .into_iter()
            .map(|((name, t), (ttl, values))| Rrset::new(&name, t, ttl, values))
            .collect())
    }

    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), DnsError> {
        const OP: &str = "apply changes (UPDATE)";
        if changes.is_empty() {
            return Ok(());
        }
        let client = self.connect(OP).await?;
        let origin = name_of(self, OP, zone)?;
        let refused = |message: String| DnsError::Refused {
            provider: self.label(),
            op: OP,
            message,
        };
        for chunk in changes.chunks(CHANGES_PER_MESSAGE) {
            let mut msg = Message::query();
            msg.metadata.op_code = OpCode::Update;
            msg.metadata.recursion_desired = false;
            let mut zq = Query::new();
            zq.set_name(origin.clone())
                .set_query_class(DNSClass::IN)
                .set_query_type(hickory_proto::rr::RecordType::SOA);
            msg.add_zone(zq);
            for c in chunk {
                let r = c.rrset();
                let name = name_of(self, OP, &r.name)?;
                let t = hickory_type(&r.rtype);
                let exists = |class: DNSClass| {
                    let mut p = Record::update0(name.clone(), 0, t);
                    p.dns_class = class;
                    p.into_record_of_rdata()
                };
                match c {
                    Change::Create(_) => msg.add_pre_requisite(exists(DNSClass::NONE)),
                    Change::Update { .. } | Change::Delete(_) => {
                        msg.add_pre_requisite(exists(DNSClass::ANY))
                    }
                }
                if matches!(c, Change::Update { .. } | Change::Delete(_)) {
                    let mut d = Record::update0(name.clone(), 0, t).into_record_of_rdata();
                    d.dns_class = DNSClass::ANY;
                    msg.add_update(d);
                }
                if matches!(c, Change::Create(_) | Change::Update { .. }) {
                    for v in &r.values {
                        let data = rdata(&r.rtype, v, refused)?;
                        msg.add_update(Record::from_rdata(name.clone(), r.ttl, data));
                    }
                }
            }
            msg.edns
                .get_or_insert_with(Edns::new)
                .set_max_payload(hickory_proto::op::DEFAULT_MAX_PAYLOAD_LEN)
                .set_version(0);
            let mut responses = client.send(DnsRequest::from(msg));
            let resp = tokio::time::timeout(self.timeout, responses.next())
                .await
                .map_err(|_| self.unavailable(OP, "no answer in time"))?
                .ok_or_else(|| self.unavailable(OP, "the connection closed without an answer"))?
                .map_err(|e| self.exchange_error(OP, e))?;
            match resp.response_code {
                ResponseCode::YXRRSet | ResponseCode::NXRRSet => {
                    return Err(refused(format!(
                        "a prerequisite failed ({}): the zone changed since it was read",
                        resp.response_code
                    )))
                }
                code => self.check_code(OP, code)?,
            }
        }
        Ok(())
    }
}
