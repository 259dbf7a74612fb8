//! deSEC's API: rrsets listed with cursor pagination (`GET /domains/{domain}/rrsets/?cursor=`,
//! following the `Link: <…>; rel="next"` header), a change set written as one bulk
//! `PATCH /domains/{domain}/rrsets/` (atomic on deSEC; an rrset with no records is deleted),
//! `Authorization: Token` auth; its rate limits answer 429 with `Retry-After`.

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::http::{HttpApi, Request, RetryPolicy};
use super::record::{from_presentation, to_presentation, Change, RecordType, Rrset};
use super::{DnsError, DnsProvider};

/// The default API base.
pub const API: &str = "https://desec.io/api/v1";

/// A deSEC account's domains.
pub struct DesecProvider {
    http: HttpApi,
    base: String,
    token: String,
}

impl std::fmt::Debug for DesecProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesecProvider")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct ApiRrset {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    records: Vec<String>,
}

impl DesecProvider {
    /// The API at `api_url` (default [`API`]) with `token`.
    pub fn new(api_url: Option<&str>, token: &str, policy: RetryPolicy) -> Self {
        DesecProvider {
            http: HttpApi::new("desec", policy),
            base: api_url.unwrap_or(API).trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(h: &reqwest::header::HeaderMap) -> Option<String> {
    let v = h.get("link")?.to_str().ok()?;
    v.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// The subname of `name` in `zone` (`""` at the apex).
fn subname(name: &str, zone: &str) -> String {
    name.strip_suffix(zone)
        .map(|h| h.trim_end_matches('.').to_string())
        .unwrap_or_else(|| name.to_string())
}

#[async_trait]
impl DnsProvider for DesecProvider {
    fn label(&self) -> String {
        self.http.label().to_string()
    }

    async fn records(&self, zone: &str) -> Result<Vec<Rrset>, DnsError> {
        const OP: &str = "list rrsets";
        let mut out = Vec::new();
        let mut url = format!("{}/domains/{zone}/rrsets/?cursor=", self.base);
        // deSEC's cursors are opaque; a loop of pages is bounded by the zone's size, and a
        // server repeating a link is cut off.
        let mut seen = std::collections::HashSet::new();
        loop {
            let req = Request::new(Method::GET, url.clone())
                .header("Authorization", format!("Token {}", self.token));
            let resp = self.http.send(OP, &req).await?;
            let page: Vec<ApiRrset> = resp.json(self.http.label(), OP)?;
            for r in page {
                let t = RecordType::parse(&r.rtype);
                let vs: Vec<String> = r.records.iter().map(|v| from_presentation(&t, v)).collect();
                out.push(Rrset::new(&r.name, t, r.ttl, vs));
            }
            match next_link(&resp.headers) {
                Some(next) if seen.insert(next.clone()) => url = next,
                _ => return Ok(out),
            }
        }
    }

    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), DnsError> {
        if changes.is_empty() {
            return Ok(());
        }
        let body: Vec<serde_json::Value> = changes
            .iter()
            .map(|c| {
                let r = c.rrset();
                let records: Vec<String> = match c {
                    Change::Delete(_) => Vec::new(),
                    _ => r
                        .values
                        .iter()
                        .map(|v| to_presentation(&r.rtype, v))
                        .collect(),
                };
                json!({
                    "subname": subname(&r.name, zone),
                    "type": r.rtype.as_str(),
                    "ttl": r.ttl,
                    "records": records,
                })
            })
            .collect();
        let req = Request::new(
            Method::PATCH,
            format!("{}/domains/{zone}/rrsets/", self.base),
        )
        .header("Authorization", format!("Token {}", self.token))
        .json(json!(body));
        self.http.send("apply changes", &req).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_subnames() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "link",
            "<https://desec.io/api/v1/domains/x/rrsets/?cursor=>; rel=\"first\", <https://desec.io/api/v1/domains/x/rrsets/?cursor=abc>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://desec.io/api/v1/domains/x/rrsets/?cursor=abc")
        );
        assert_eq!(subname("example.com", "example.com"), "");
        assert_eq!(subname("a.b.example.com", "example.com"), "a.b");
    }
}
