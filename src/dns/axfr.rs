//! A zone transfer (AXFR, RFC 5936) read over TCP by hand: the query (signed with TSIG when a
//! key is given), then length-prefixed messages until the closing SOA, each checked against
//! the TSIG chain of RFC 8945 §5.3.1 (a message's MAC covers the previous MAC, the unsigned
//! messages since, itself, and its timers).
//!
//! hickory-net's zone-transfer stream is not used: its multiplexer hands each message to a
//! channel of 8 with `try_send` and drops what does not fit, so a transfer of thousands of
//! records that arrives faster than it is read loses messages from its middle.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::tsig::signed_bitmessage_to_buf;
use hickory_proto::rr::{Name, Record, RecordType, TSigner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// RFC 8945 §5.3.1: at most 99 unsigned messages between two signed ones.
const MAX_UNSIGNED_RUN: usize = 99;

/// Why a transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AxfrError {
    /// The connection failed, timed out or closed early.
    #[error("{0}")]
    Network(String),
    /// The server answered with an error code.
    #[error("the server answered {0}")]
    Code(ResponseCode),
    /// A message's TSIG is missing, wrong, or out of its time window.
    #[error("{0}")]
    Tsig(String),
    /// A message could not be read, or the transfer is not a well-formed AXFR.
    #[error("{0}")]
    Malformed(String),
}

/// A finished transfer.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Every record between the two SOAs, the opening SOA included.
    pub records: Vec<Record>,
    /// Messages received.
    pub messages: usize,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The verifier of the TSIG chain of one transfer's responses.
pub struct TsigChain {
    signer: TSigner,
    previous_mac: Vec<u8>,
    /// The unsigned messages since the last signed one, as received.
    pending: Vec<u8>,
    unsigned_run: usize,
    first: bool,
    last_time: u64,
}

impl TsigChain {
    /// A chain that starts at the request whose MAC was `request_mac`.
    pub fn new(signer: TSigner, request_mac: Vec<u8>) -> TsigChain {
        TsigChain {
            signer,
            previous_mac: request_mac,
            pending: Vec::new(),
            unsigned_run: 0,
            first: true,
            last_time: 0,
        }
    }

    /// Checks one response message (its bytes and its decoded form) at time `now` (seconds).
    /// An unsigned message is accepted in the middle of a run (the next signed one covers
    /// it); [`TsigChain::is_closed`] tells whether everything received so far is covered.
    pub fn verify(&mut self, bytes: &[u8], message: &Message, now: u64) -> Result<(), AxfrError> {
        if message.signature().is_none() {
            if self.first {
                return Err(AxfrError::Tsig(
                    "the first message of the answer is not signed".into(),
                ));
            }
            self.unsigned_run += 1;
            if self.unsigned_run > MAX_UNSIGNED_RUN {
                return Err(AxfrError::Tsig(format!(
                    "more than {MAX_UNSIGNED_RUN} unsigned messages in a row"
                )));
            }
            self.pending.extend_from_slice(bytes);
            return Ok(());
        }
        let (tail, tsig) = signed_bitmessage_to_buf(bytes, None, self.first)
            .map_err(|e| AxfrError::Tsig(format!("unreadable TSIG record: {e}")))?;
        if tsig.name != *self.signer.signer_name()
            || tsig.data.algorithm != *self.signer.algorithm()
        {
            return Err(AxfrError::Tsig(format!(
                "signed with key `{}` ({}), not ours",
                tsig.name, tsig.data.algorithm
            )));
        }
        let mut tbv =
            Vec::with_capacity(2 + self.previous_mac.len() + self.pending.len() + tail.len());
        tbv.extend_from_slice(&(self.previous_mac.len() as u16).to_be_bytes());
        tbv.extend_from_slice(&self.previous_mac);
        tbv.extend_from_slice(&self.pending);
        tbv.extend_from_slice(&tail);
        self.signer
            .verify(&tbv, &tsig.data.mac)
            .map_err(|_| AxfrError::Tsig("a message's TSIG MAC does not verify".into()))?;
        let t = tsig.data.time;
        let fudge = u64::from(tsig.data.fudge);
        if now + fudge < t || t + fudge < now {
            return Err(AxfrError::Tsig(format!(
                "a message was signed at {t}, outside {now} ± {fudge} s"
            )));
        }
        if t < self.last_time {
            return Err(AxfrError::Tsig(
                "a message was signed before the one ahead of it".into(),
            ));
        }
        self.last_time = t;
        self.previous_mac = tsig.data.mac.clone();
        self.pending.clear();
        self.unsigned_run = 0;
        self.first = false;
        Ok(())
    }

    /// Whether every message received so far is covered by a verified MAC.
    pub fn is_closed(&self) -> bool {
        !self.first && self.unsigned_run == 0
    }
}

async fn read_message(tcp: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>, AxfrError> {
    let read = async {
        let len = tcp.read_u16().await?;
        let mut buf = vec![0u8; usize::from(len)];
        tcp.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(AxfrError::Network(format!(
            "no message from the server within {timeout:?}"
        ))),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(AxfrError::Network(
            "the server closed the connection before the closing SOA (a partial zone)".into(),
        )),
        Ok(Err(e)) => Err(AxfrError::Network(format!("reading the transfer: {e}"))),
        Ok(Ok(b)) => Ok(b),
    }
}

/// Transfers `zone` from `addr`, signing the query with `signer` and verifying every answer
/// message with it; each read waits at most `timeout`.
pub async fn transfer(
    addr: SocketAddr,
    zone: &Name,
    signer: Option<&TSigner>,
    timeout: Duration,
) -> Result<Transfer, AxfrError> {
    let mut tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| AxfrError::Network(format!("no connection to {addr} within {timeout:?}")))?
        .map_err(|e| AxfrError::Network(format!("cannot connect to {addr}: {e}")))?;
    let mut query = Message::query();
    query.metadata.recursion_desired = false;
    query.add_query(Query::query(zone.clone(), RecordType::AXFR));
    let mut chain = match signer {
        Some(s) => {
            query
                .finalize(s, now_secs())
                .map_err(|e| AxfrError::Tsig(format!("cannot sign the query: {e}")))?;
            let mac = query
                .signature()
                .map(|r| r.data.mac.clone())
                .unwrap_or_default();
            Some(TsigChain::new(s.clone(), mac))
        }
        None => None,
    };
    let bytes = query
        .to_vec()
        .map_err(|e| AxfrError::Malformed(format!("cannot encode the query: {e}")))?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    framed.extend_from_slice(&bytes);
    tokio::time::timeout(timeout, tcp.write_all(&framed))
        .await
        .map_err(|_| AxfrError::Network(format!("cannot send the query within {timeout:?}")))?
        .map_err(|e| AxfrError::Network(format!("cannot send the query: {e}")))?;

    let mut records = Vec::new();
    let mut messages = 0usize;
    let mut soas = 0usize;
    loop {
        let buf = read_message(&mut tcp, timeout).await?;
        messages += 1;
        let msg = Message::from_vec(&buf)
            .map_err(|e| AxfrError::Malformed(format!("message {messages}: {e}")))?;
        if msg.metadata.id != query.metadata.id {
            return Err(AxfrError::Malformed(format!(
                "message {messages} answers another query (id {} ≠ {})",
                msg.metadata.id, query.metadata.id
            )));
        }
        // An error answer first: its TSIG is unsigned when the server refused ours.
        if msg.metadata.response_code != ResponseCode::NoError {
            return Err(AxfrError::Code(msg.metadata.response_code));
        }
        if let Some(c) = chain.as_mut() {
            c.verify(&buf, &msg, now_secs())?;
        }
        for r in msg.answers {
            if r.record_type() == RecordType::SOA {
                soas += 1;
                if soas == 2 {
                    break;
                }
            } else if soas == 0 {
                return Err(AxfrError::Malformed(
                    "the transfer does not open with the zone's SOA".into(),
                ));
            }
            records.push(r);
        }
        if soas >= 2 {
            if chain.as_ref().is_some_and(|c| !c.is_closed()) {
                return Err(AxfrError::Tsig(
                    "the last message of the transfer is not signed".into(),
                ));
            }
            return Ok(Transfer { records, messages });
        }
    }
}

#[cfg(test)]
mod tests;
