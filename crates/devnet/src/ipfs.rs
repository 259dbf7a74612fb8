//! The devnet's IPFS: a block store, the UnixFS file importer (kubo's defaults: 256 KiB chunks,
//! a balanced DAG of at most 174 links per node), and a trustless gateway client that checks
//! every block against its CID.
//!
//! CIDv0 (`Qm…`) files are dag-pb all the way down, as `ipfs add`; CIDv1 (`bafy…`/`bafk…`)
//! files use raw leaves, as `ipfs add --cid-version=1` (which implies `--raw-leaves`); a
//! CIDv1 file of one chunk is that raw block itself. Hashes are SHA2-256.
//!
//! The gateway (`GET /ipfs/{cid}` on the control API, see [`router`]) serves one block for
//! `?format=raw` or `Accept: application/vnd.ipld.raw`, and the whole file otherwise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cid::Cid;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// kubo's default chunk size.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// kubo's default maximum links per node of a balanced DAG.
pub const MAX_LINKS: usize = 174;
/// The multicodec of a dag-pb block.
pub const DAG_PB: u64 = 0x70;
/// The multicodec of a raw block.
pub const RAW: u64 = 0x55;
const SHA2_256: u64 = 0x12;
/// The media type of one raw block on a trustless gateway.
pub const RAW_BLOCK_MEDIA_TYPE: &str = "application/vnd.ipld.raw";

/// What can go wrong reading a file out of blocks.
#[derive(Debug, thiserror::Error)]
pub enum IpfsError {
    /// A CID that does not parse.
    #[error("`{cid}` is not a CID: {why}")]
    BadCid { cid: String, why: String },
    /// A block the store or gateway does not have.
    #[error("block {cid} not found")]
    NotFound { cid: String },
    /// A block whose bytes do not hash to its CID.
    #[error("block {cid} does not match its CID (the gateway sent other bytes)")]
    BlockMismatch { cid: String },
    /// A block that is not a UnixFS file node.
    #[error("block {cid} is not a UnixFS file: {why}")]
    NotAFile { cid: String, why: String },
    /// A hash other than SHA2-256, or an unknown codec.
    #[error("block {cid}: unsupported {what}")]
    Unsupported { cid: String, what: String },
    /// The gateway could not be reached or answered an error.
    #[error("gateway: {0}")]
    Gateway(String),
}

fn sha256_cid(version: u8, codec: u64, bytes: &[u8]) -> Cid {
    let digest = Sha256::digest(bytes);
    let mh = cid::multihash::Multihash::<64>::wrap(SHA2_256, &digest)
        .expect("a 32-byte digest fits a 64-byte multihash");
    if version == 0 {
        Cid::new_v0(mh).expect("a sha2-256 multihash makes a CIDv0")
    } else {
        Cid::new_v1(codec, mh)
    }
}

/// Parses a CID string.
pub fn parse_cid(s: &str) -> Result<Cid, IpfsError> {
    Cid::try_from(s).map_err(|e| IpfsError::BadCid {
        cid: s.to_string(),
        why: e.to_string(),
    })
}

/// Checks that `bytes` are the block `cid` names.
pub fn verify_block(cid: &Cid, bytes: &[u8]) -> Result<(), IpfsError> {
    let mh = cid.hash();
    if mh.code() != SHA2_256 {
        return Err(IpfsError::Unsupported {
            cid: cid.to_string(),
            what: format!("multihash 0x{:x} (only sha2-256)", mh.code()),
        });
    }
    if mh.digest()[..] != Sha256::digest(bytes)[..] {
        return Err(IpfsError::BlockMismatch {
            cid: cid.to_string(),
        });
    }
    Ok(())
}

// --- protobuf: UnixFS Data and dag-pb, written by hand (dag-pb wants Links before Data). ---

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn bytes_field(tag: u64, b: &[u8], out: &mut Vec<u8>) {
    varint(tag << 3 | 2, out);
    varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

fn varint_field(tag: u64, v: u64, out: &mut Vec<u8>) {
    varint(tag << 3, out);
    varint(v, out);
}

/// UnixFS `Data` for a file node: Type=File, the chunk's bytes (leaves only), filesize,
/// and the children's sizes.
fn unixfs_file(data: Option<&[u8]>, filesize: u64, blocksizes: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    varint_field(1, 2, &mut out);
    if let Some(d) = data {
        bytes_field(2, d, &mut out);
    }
    varint_field(3, filesize, &mut out);
    for b in blocksizes {
        varint_field(4, *b, &mut out);
    }
    out
}

/// A dag-pb node: each link (Hash, Name "", Tsize) then Data.
fn dag_pb(links: &[(Cid, u64)], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (cid, tsize) in links {
        let mut l = Vec::new();
        bytes_field(1, &cid.to_bytes(), &mut l);
        bytes_field(2, b"", &mut l);
        varint_field(3, *tsize, &mut l);
        bytes_field(2, &l, &mut out);
    }
    bytes_field(1, data, &mut out);
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// The next field: tag, and either a varint or a length-delimited slice.
    fn field(&mut self) -> Option<(u64, Field<'a>)> {
        let key = self.varint()?;
        let f = match key & 7 {
            0 => Field::Varint(self.varint()?),
            2 => {
                let n = usize::try_from(self.varint()?).ok()?;
                if n > self.0.len() {
                    return None;
                }
                let (b, rest) = self.0.split_at(n);
                self.0 = rest;
                Field::Bytes(b)
            }
            _ => return None,
        };
        Some((key >> 3, f))
    }
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// A decoded UnixFS file node.
struct FileNode<'a> {
    links: Vec<Cid>,
    data: &'a [u8],
}

fn decode_file_node<'a>(cid: &Cid, block: &'a [u8]) -> Result<FileNode<'a>, IpfsError> {
    let bad = |why: &str| IpfsError::NotAFile {
        cid: cid.to_string(),
        why: why.to_string(),
    };
    let mut r = Reader(block);
    let mut links = Vec::new();
    let mut unixfs: Option<&[u8]> = None;
    while !r.0.is_empty() {
        match r.field().ok_or_else(|| bad("malformed dag-pb"))? {
            (2, Field::Bytes(l)) => {
                let mut lr = Reader(l);
                let mut hash = None;
                while !lr.0.is_empty() {
                    if let (1, Field::Bytes(h)) = lr.field().ok_or_else(|| bad("malformed link"))? {
                        hash =
                            Some(Cid::try_from(h).map_err(|_| bad("a link's hash is not a CID"))?);
                    }
                }
                links.push(hash.ok_or_else(|| bad("a link without a hash"))?);
            }
            (1, Field::Bytes(d)) => unixfs = Some(d),
            _ => return Err(bad("unexpected dag-pb field")),
        }
    }
    let mut r = Reader(unixfs.ok_or_else(|| bad("no UnixFS data"))?);
    let mut kind = None;
    let mut data: &[u8] = &[];
    while !r.0.is_empty() {
        match r.field().ok_or_else(|| bad("malformed UnixFS data"))? {
            (1, Field::Varint(t)) => kind = Some(t),
            (2, Field::Bytes(d)) => data = d,
            _ => {}
        }
    }
    // 0 = Raw, 2 = File.
    if !matches!(kind, Some(0) | Some(2)) {
        return Err(bad("its UnixFS type is not a file"));
    }
    Ok(FileNode { links, data })
}

/// The devnet's block store, shared by the gateway and `ipfs add`.
#[derive(Clone, Default)]
pub struct BlockStore {
    blocks: Arc<Mutex<HashMap<Cid, Vec<u8>>>>,
}

impl BlockStore {
    fn put(&self, cid: Cid, bytes: Vec<u8>) {
        self.blocks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cid, bytes);
    }

    /// One block's bytes.
    pub fn get(&self, cid: &Cid) -> Option<Vec<u8>> {
        self.blocks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(cid)
            .cloned()
    }

    /// Imports a file as `ipfs add` (`cid_version` 0) or `ipfs add --cid-version=1` does and
    /// returns its root CID.
    pub fn add(&self, file: &[u8], cid_version: u8) -> Cid {
        let v1 = cid_version != 0;
        // Each level holds (cid, total block bytes under it, file bytes under it).
        let mut level: Vec<(Cid, u64, u64)> = Vec::new();
        let chunks: Vec<&[u8]> = if file.is_empty() {
            vec![&[][..]]
        } else {
            file.chunks(CHUNK_SIZE).collect()
        };
        for chunk in chunks {
            let (cid, block) = if v1 {
                (sha256_cid(1, RAW, chunk), chunk.to_vec())
            } else {
                let b = dag_pb(&[], &unixfs_file(Some(chunk), chunk.len() as u64, &[]));
                (sha256_cid(0, DAG_PB, &b), b)
            };
            level.push((cid, block.len() as u64, chunk.len() as u64));
            self.put(cid, block);
        }
        if level.len() == 1 {
            return level[0].0;
        }
        // kubo's balanced builder fills each parent with MAX_LINKS children, bottom up; a
        // single leaf under a parent is not promoted except at the root.
        loop {
            let mut next = Vec::new();
            for group in level.chunks(MAX_LINKS) {
                let links: Vec<(Cid, u64)> = group.iter().map(|(c, t, _)| (*c, *t)).collect();
                let sizes: Vec<u64> = group.iter().map(|(_, _, s)| *s).collect();
                let filesize = sizes.iter().sum();
                let b = dag_pb(&links, &unixfs_file(None, filesize, &sizes));
                let cid = sha256_cid(cid_version.min(1), DAG_PB, &b);
                let tsize = b.len() as u64 + links.iter().map(|(_, t)| t).sum::<u64>();
                next.push((cid, tsize, filesize));
                self.put(cid, b);
            }
            if next.len() == 1 {
                return next[0].0;
            }
            level = next;
        }
    }

    /// Reads a whole file from the local store, checking every block.
    pub fn cat(&self, cid: &Cid) -> Result<Vec<u8>, IpfsError> {
        let mut out = Vec::new();
        let mut stack = vec![*cid];
        while let Some(c) = stack.pop() {
            let block = self
                .get(&c)
                .ok_or_else(|| IpfsError::NotFound { cid: c.to_string() })?;
            append_block(&c, &block, &mut out, &mut stack)?;
        }
        Ok(out)
    }
}

/// Verifies a block and either appends its file bytes to `out` or pushes its children (in
/// reverse, so that popping reads them in order).
fn append_block(
    cid: &Cid,
    block: &[u8],
    out: &mut Vec<u8>,
    stack: &mut Vec<Cid>,
) -> Result<(), IpfsError> {
    verify_block(cid, block)?;
    match cid.codec() {
        RAW => out.extend_from_slice(block),
        DAG_PB => {
            let node = decode_file_node(cid, block)?;
            out.extend_from_slice(node.data);
            stack.extend(node.links.into_iter().rev());
        }
        other => {
            return Err(IpfsError::Unsupported {
                cid: cid.to_string(),
                what: format!("codec 0x{other:x}"),
            })
        }
    }
    Ok(())
}

/// Fetches a whole file from a trustless gateway block by block (`?format=raw`), checking each
/// block against its CID: a gateway that lies is caught at the first wrong block.
pub async fn fetch_verified(
    client: &reqwest::Client,
    gateway: &str,
    cid: &str,
) -> Result<Vec<u8>, IpfsError> {
    let root = parse_cid(cid)?;
    let base = gateway.trim_end_matches('/');
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(c) = stack.pop() {
        let resp = client
            .get(format!("{base}/ipfs/{c}?format=raw"))
            .header(header::ACCEPT, RAW_BLOCK_MEDIA_TYPE)
            .send()
            .await
            .map_err(|e| IpfsError::Gateway(e.to_string()))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(IpfsError::NotFound { cid: c.to_string() });
        }
        if !resp.status().is_success() {
            return Err(IpfsError::Gateway(format!(
                "{} for block {c}",
                resp.status()
            )));
        }
        let block = resp
            .bytes()
            .await
            .map_err(|e| IpfsError::Gateway(e.to_string()))?;
        append_block(&c, &block, &mut out, &mut stack)?;
    }
    Ok(out)
}

#[derive(Deserialize)]
struct GetQuery {
    format: Option<String>,
}

#[derive(Deserialize)]
struct AddQuery {
    #[serde(rename = "cid-version")]
    cid_version: Option<u8>,
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

/// The gateway routes: `GET /ipfs/{cid}` (a raw block for `?format=raw` or
/// `Accept: application/vnd.ipld.raw`, else the file) and `POST /ipfs/add?cid-version=N`
/// (body: the file; answers `{"cid", "size"}`).
pub fn router(store: BlockStore) -> Router {
    Router::new()
        .route("/ipfs/{cid}", get(get_cid))
        .route("/ipfs/add", post(add))
        .with_state(store)
}

async fn get_cid(
    State(store): State<BlockStore>,
    Path(cid): Path<String>,
    Query(q): Query<GetQuery>,
    headers: HeaderMap,
) -> Response {
    let c = match parse_cid(&cid) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let raw = q.format.as_deref() == Some("raw")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains(RAW_BLOCK_MEDIA_TYPE));
    if let Some(f) = q.format.as_deref().filter(|f| *f != "raw") {
        return error(
            StatusCode::BAD_REQUEST,
            format!("format `{f}` is not served: use `raw` or no format"),
        );
    }
    if raw {
        return match store.get(&c) {
            Some(b) => ([(header::CONTENT_TYPE, RAW_BLOCK_MEDIA_TYPE)], b).into_response(),
            None => error(StatusCode::NOT_FOUND, format!("block {c} not found")),
        };
    }
    match store.cat(&c) {
        Ok(b) => ([(header::CONTENT_TYPE, "application/octet-stream")], b).into_response(),
        Err(e @ IpfsError::NotFound { .. }) => error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

async fn add(
    State(store): State<BlockStore>,
    Query(q): Query<AddQuery>,
    body: axum::body::Bytes,
) -> Response {
    let v = q.cid_version.unwrap_or(1);
    if v > 1 {
        return error(StatusCode::BAD_REQUEST, "cid-version is 0 or 1");
    }
    let cid = store.add(&body, v);
    Json(json!({"cid": cid.to_string(), "size": body.len()})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from kubo (`echo "hello world" | ipfs add`, and `hello world` without the newline
    /// added with `--cid-version=1`), as published in the IPFS docs; not computed by this code.
    #[test]
    fn small_file_cids_match_kubo() {
        let s = BlockStore::default();
        assert_eq!(
            s.add(b"hello world\n", 0).to_string(),
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
        );
        assert_eq!(
            s.add(b"hello world", 1).to_string(),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
    }

    fn file(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn chunked_files_round_trip_in_both_versions() {
        let s = BlockStore::default();
        // Three chunks, and enough chunks for two levels of links (175 > 174).
        for n in [CHUNK_SIZE * 2 + 5, CHUNK_SIZE * (MAX_LINKS + 1) + 1] {
            let f = file(n);
            for v in [0u8, 1] {
                let cid = s.add(&f, v);
                assert_eq!(cid.version() as u8, v);
                assert_eq!(cid.codec(), DAG_PB);
                assert_eq!(s.cat(&cid).unwrap(), f, "{n} bytes, v{v}");
            }
        }
        let root = s.add(&file(CHUNK_SIZE * (MAX_LINKS + 1) + 1), 1);
        let block = s.get(&root).unwrap();
        let node = decode_file_node(&root, &block).unwrap();
        assert_eq!(node.links.len(), 2, "a two-level balanced DAG");
    }

    #[test]
    fn a_tampered_block_is_refused() {
        let s = BlockStore::default();
        let f = file(CHUNK_SIZE + 1);
        let root = s.add(&f, 1);
        let block = s.get(&root).unwrap();
        let node = decode_file_node(&root, &block).unwrap();
        let leaf = node.links[1];
        s.put(leaf, b"not the chunk".to_vec());
        assert!(matches!(
            s.cat(&root),
            Err(IpfsError::BlockMismatch { cid }) if cid == leaf.to_string()
        ));
    }

    #[test]
    fn bad_cids_are_refused() {
        assert!(matches!(parse_cid("Qm123"), Err(IpfsError::BadCid { .. })));
    }
}
