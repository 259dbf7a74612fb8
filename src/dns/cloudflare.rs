//! Cloudflare's v4 API: the zone found by name (`GET /zones?name=`), its records listed page
//! by page (`GET /zones/{id}/dns_records?page=&per_page=`), a change set written as one
//! `POST /zones/{id}/dns_records/batch` (Cloudflare applies a batch atomically: deletes,
//! then creates), `Authorization: Bearer` auth.
//!
//! Cloudflare holds one record per value: an rrset is the records of one name and type, and
//! an update deletes the values that go and creates those that come (a TTL change rewrites
//! them all).

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::http::{HttpApi, Request, RetryPolicy};
use super::record::{from_presentation, Change, RecordType, Rrset};
use super::{DnsError, DnsProvider};

/// The default API base.
pub const API: &str = "https://api.cloudflare.com/client/v4";
const PER_PAGE: usize = 100;

/// A Cloudflare account's zones.
pub struct CloudflareProvider {
    http: HttpApi,
    base: String,
    token: String,
    zone_id: Mutex<Option<String>>,
    proxied: bool,
}

impl std::fmt::Debug for CloudflareProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudflareProvider")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
    result: Option<T>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Deserialize)]
struct ResultInfo {
    #[serde(default)]
    total_pages: Option<usize>,
}

#[derive(Deserialize)]
struct ZoneRef {
    id: String,
}

#[derive(Deserialize, Clone)]
struct DnsRecord {
    id: String,
    #[serde(rename = "type")]
    rtype: String,
    name: String,
    content: String,
    ttl: u32,
}

impl CloudflareProvider {
    /// The API at `api_url` (default [`API`]) with `token`; `zone_id` skips the lookup.
    pub fn new(
        api_url: Option<&str>,
        token: &str,
        zone_id: Option<String>,
        proxied: bool,
        policy: RetryPolicy,
    ) -> Self {
        let base = api_url.unwrap_or(API).trim_end_matches('/').to_string();
        CloudflareProvider {
            http: HttpApi::new("cloudflare", policy),
            base,
            token: token.to_string(),
            zone_id: Mutex::new(zone_id),
            proxied,
        }
    }

    fn req(&self, method: Method, path: &str) -> Request {
        Request::new(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
    }

    fn refused(&self, op: &'static str, message: String) -> DnsError {
        DnsError::Refused {
            provider: self.http.label().to_string(),
            op,
            message,
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static str,
        req: &Request,
    ) -> Result<Envelope<T>, DnsError> {
        let env: Envelope<T> = self.http.send(op, req).await?.json(self.http.label(), op)?;
        if !env.success {
            return Err(self.refused(op, format!("errors: {}", json!(env.errors))));
        }
        Ok(env)
    }

    async fn zone_id(&self, zone: &str) -> Result<String, DnsError> {
        const OP: &str = "find zone";
        let mut cached = self.zone_id.lock().await;
        if let Some(id) = cached.as_ref() {
            return Ok(id.clone());
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("name", zone)
            .finish();
        let env: Envelope<Vec<ZoneRef>> = self
            .call(OP, &self.req(Method::GET, &format!("/zones?{q}")))
            .await?;
        let id = env
            .result
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|z| z.id)
            .ok_or_else(|| self.refused(OP, format!("no zone `{zone}` in this account")))?;
        *cached = Some(id.clone());
        Ok(id)
    }

    async fn list(&self, zone_id: &str) -> Result<Vec<DnsRecord>, DnsError> {
        const OP: &str = "list records";
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let env: Envelope<Vec<DnsRecord>> = self
                .call(
                    OP,
                    &self.req(
                        Method::GET,
                        &format!("/zones/{zone_id}/dns_records?page={page}&per_page={PER_PAGE}"),
                    ),
                )
                .await?;
            let got = env.result.unwrap_or_default();
            let n = got.len();
            out.extend(got);
            let total = env.result_info.and_then(|i| i.total_pages);
            let more = match total {
                Some(t) => page < t,
                None => n == PER_PAGE,
            };
            if !more || n == 0 {
                return Ok(out);
            }
            page += 1;
        }
    }
}

fn value_of(r: &DnsRecord) -> (RecordType, String) {
    let t = RecordType::parse(&r.rtype);
    // Cloudflare shows TXT content quoted or not, as it was written.
    let v = from_presentation(&t, &r.content);
    (t, v)
}

#[async_trait]
impl DnsProvider for CloudflareProvider {
    fn label(&self) -> String {
        self.http.label().to_string()
    }

    async fn records(&self, zone: &str) -> Result<Vec<Rrset>, DnsError> {
        let id = self.zone_id(zone).await?;
        let mut sets: BTreeMap<(String, RecordType), (u32, Vec<String>)> = BTreeMap::new();
        for r in self.list(&id).await? {
            let (t, v) = value_of(&r);
            let e = sets
                .entry((r.name.to_ascii_lowercase(), t))
                .or_insert((r.ttl, Vec::new()));
            e.0 = e.0.min(r.ttl);
            e.1.push(v);
        }
        Ok(sets
            .into_iter()
            .map(|((n, t), (ttl, vs))| Rrset::new(&n, t, ttl, vs))
            .collect())
    }

    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), DnsError> {
        const OP: &str = "apply changes (batch)";
        if changes.is_empty() {
            return Ok(());
        }
        let id = self.zone_id(zone).await?;
        // The records' ids, by name, type and value.
        let mut ids: BTreeMap<(String, RecordType, String), String> = BTreeMap::new();
        let touches_existing = changes.iter().any(|c| !matches!(c, Change::Create(_)));
        if touches_existing {
            for r in self.list(&id).await? {
                let (t, v) = value_of(&r);
                ids.insert((r.name.to_ascii_lowercase(), t, v), r.id);
            }
        }
        let mut deletes = Vec::new();
        let mut posts = Vec::new();
        let post = |r: &Rrset, v: &str| {
            let mut b = json!({
                "name": r.name,
                "type": r.rtype.as_str(),
                "content": if r.rtype == RecordType::Txt { super::record::to_presentation(&r.rtype, v) } else { v.to_string() },
                "ttl": r.ttl,
            });
            if matches!(
                r.rtype,
                RecordType::A | RecordType::Aaaa | RecordType::Cname
            ) {
                b["proxied"] = json!(self.proxied);
            }
            b
        };
        let mut delete = |r: &Rrset, v: &str| -> Result<(), DnsError> {
            let key = (r.name.clone(), r.rtype.clone(), v.to_string());
            let rid = ids.remove(&key).ok_or_else(|| {
                self.refused(
                    OP,
                    format!("{} {} {v:?} is gone: the zone changed", r.name, r.rtype),
                )
            })?;
            deletes.push(json!({ "id": rid }));
            Ok(())
        };
        for c in changes {
            match c {
                Change::Create(r) => posts.extend(r.values.iter().map(|v| post(r, v))),
                Change::Delete(r) => {
                    for v in &r.values {
                        delete(r, v)?;
                    }
                }
                Change::Update { from, to } => {
                    for v in &from.values {
                        if from.ttl != to.ttl || !to.values.contains(v) {
                            delete(from, v)?;
                        }
                    }
                    for v in &to.values {
                        if from.ttl != to.ttl || !from.values.contains(v) {
                            posts.push(post(to, v));
                        }
                    }
                }
            }
        }
        let mut body = json!({});
        if !deletes.is_empty() {
            body["deletes"] = json!(deletes);
        }
        if !posts.is_empty() {
            body["posts"] = json!(posts);
        }
        let _: Envelope<serde_json::Value> = self
            .call(
                OP,
                &self
                    .req(Method::POST, &format!("/zones/{id}/dns_records/batch"))
                    .json(body),
            )
            .await?;
        Ok(())
    }
}
