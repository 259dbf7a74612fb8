//! The PowerDNS Authoritative HTTP API: the zone read with `GET …/zones/{zone}`, a change set
//! written as one `PATCH …/zones/{zone}` (atomic: every rrset or none), `X-API-Key` auth.

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::http::{HttpApi, Request, RetryPolicy};
use super::record::{from_presentation, to_presentation, Change, RecordType, Rrset};
use super::{DnsError, DnsProvider};

/// A PowerDNS server's API.
pub struct PowerDnsProvider {
    http: HttpApi,
    base: String,
    server_id: String,
    api_key: String,
}

impl std::fmt::Debug for PowerDnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerDnsProvider")
            .field("base", &self.base)
            .field("server_id", &self.server_id)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct Zone {
    #[serde(default)]
    rrsets: Vec<ApiRrset>,
}

#[derive(Deserialize)]
struct ApiRrset {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    records: Vec<ApiRecord>,
}

#[derive(Deserialize)]
struct ApiRecord {
    content: String,
    #[serde(default)]
    disabled: bool,
}

impl PowerDnsProvider {
    /// The API at `api_url` (e.g. `http://127.0.0.1:8081`), server `server_id`.
    pub fn new(api_url: &str, server_id: &str, api_key: &str, policy: RetryPolicy) -> Self {
        let base = api_url.trim_end_matches('/').to_string();
        PowerDnsProvider {
            http: HttpApi::new(&format!("powerdns {base}"), policy),
            base,
            server_id: server_id.to_string(),
            api_key: api_key.to_string(),
        }
    }

    fn zone_url(&self, zone: &str) -> String {
        format!(
            "{}/api/v1/servers/{}/zones/{}.",
            self.base,
            self.server_id,
            zone.trim_end_matches('.')
        )
    }
}

fn api_rrset(r: &Rrset, changetype: &str) -> serde_json::Value {
    let mut v = json!({
        "name": format!("{}.", r.name),
        "type": r.rtype.as_str(),
        "changetype": changetype,
    });
    if changetype == "REPLACE" {
        v["ttl"] = json!(r.ttl);
        v["records"] = r
            .values
            .iter()
            .map(|x| json!({"content": to_presentation(&r.rtype, x), "disabled": false}))
            .collect();
    }
    v
}

#[async_trait]
impl DnsProvider for PowerDnsProvider {
    fn label(&self) -> String {
        self.http.label().to_string()
    }

    async fn records(&self, zone: &str) -> Result<Vec<Rrset>, DnsError> {
        const OP: &str = "read zone";
        let req = Request::new(Method::GET, self.zone_url(zone)).header("X-API-Key", &self.api_key);
        let z: Zone = self
            .http
            .send(OP, &req)
            .await?
            .json(self.http.label(), OP)?;
        Ok(z.rrsets
            .into_iter()
            .filter_map(|r| {
                let t = RecordType::parse(&r.rtype);
                let values: Vec<String> = r
                    .records
                    .iter()
                    .filter(|x| !x.disabled)
                    .map(|x| from_presentation(&t, &x.content))
                    .collect();
                (!values.is_empty()).then(|| Rrset::new(&r.name, t, r.ttl, values))
            })
            .collect())
    }

    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), DnsError> {
        if changes.is_empty() {
            return Ok(());
        }
        // One rrset appears once in a PATCH: the planner never changes one twice.
        let rrsets: Vec<serde_json::Value> = changes
            .iter()
            .map(|c| match c {
                Change::Create(r) | Change::Update { to: r, .. } => api_rrset(r, "REPLACE"),
                Change::Delete(r) => api_rrset(r, "DELETE"),
            })
            .collect();
        let req = Request::new(Method::PATCH, self.zone_url(zone))
            .header("X-API-Key", &self.api_key)
            .json(json!({ "rrsets": rrsets }));
        self.http.send("apply changes", &req).await?;
        Ok(())
    }
}
