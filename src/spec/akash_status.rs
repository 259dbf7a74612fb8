//! The typed status of every Akash-hosted resource: phase, conditions and Akash facts.
//!
//! It is stored in [`Status`]'s `facts` map (the keys the API reads: `dseq`, `provider`,
//! `uris`, `leases`, `escrowRunwaySeconds`) and read back leniently: a status written by an
//! older version, or by nobody, reads as the default.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::{Condition, ConditionStatus, Status};

/// The finalizer added before anything is created on chain; removed once every deployment of
/// the resource is closed.
pub const FINALIZER: &str = "af-operator.io/akash";

/// Where a resource stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum Phase {
    /// Not acted on yet.
    #[default]
    Pending,
    /// The deployment is being created on chain.
    Deploying,
    /// Waiting for providers' bids.
    Bidding,
    /// Creating leases.
    Leasing,
    /// Manifest sent; waiting for replicas and the health check.
    Starting,
    /// Every group leased, every service available and healthy.
    Ready,
    /// A new generation is being rolled out.
    Updating,
    /// Serving, but something is wrong (see the `Degraded` condition).
    Degraded,
    /// Closing the deployments before the resource goes.
    Deleting,
    /// Cannot proceed without a change of the spec (see the `Ready` condition).
    Failed,
}

impl Phase {
    /// The phase's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Deploying => "Deploying",
            Phase::Bidding => "Bidding",
            Phase::Leasing => "Leasing",
            Phase::Starting => "Starting",
            Phase::Ready => "Ready",
            Phase::Updating => "Updating",
            Phase::Degraded => "Degraded",
            Phase::Deleting => "Deleting",
            Phase::Failed => "Failed",
        }
    }
}

/// One lease of a deployment, as the operator tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct LeaseStatus {
    /// The deployment.
    pub dseq: String,
    /// The group.
    pub gseq: u32,
    /// The order.
    pub oseq: u32,
    /// The provider's address.
    pub provider: String,
    /// `active`, `closed`, `insufficient_funds`.
    pub state: String,
    /// Price per block, e.g. `12.5uact`.
    pub price: String,
    /// The manifest version last accepted by the provider for this lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_version: Option<String>,
    /// Whether every service of the group has its replicas available.
    #[serde(default)]
    pub available: bool,
    /// Whether the lease counts as healthy at the manifest version: its health check passed,
    /// and has not failed `failureThreshold` times in a row since.
    #[serde(default)]
    pub healthy: bool,
    /// Consecutive failed health checks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub health_failures: u32,
    /// The URIs the provider serves this lease's services at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// Each service of the lease with its URIs (a FunctionRuntime's nodes are its services).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceUris>,
    /// Consecutive looks at which the provider's gateway did not answer (in time).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unreachable: u32,
    /// Consecutive looks, after the lease had its replicas, at which it had fewer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unavailable: u32,
    /// Whether every replica was available at some look.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub was_available: bool,
    /// When the lease was first seen (ms since the epoch), for the time to first healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// How long after it was first seen the lease first passed its health check (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_after_ms: Option<i64>,
}

/// One service of a lease and the URIs the provider serves it at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceUris {
    /// The SDL service name.
    pub name: String,
    /// Its URIs (the provider's ingress hostname first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
}

/// A provider that does not win bids of this resource until `until_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExcludedProvider {
    /// The provider's address.
    pub provider: String,
    /// Why (a condition reason: `LeaseClosed`, `Unhealthy`, `ProviderUnreachable`, …).
    pub reason: String,
    /// When the exclusion ends (RFC 3339).
    pub until: String,
    /// When the exclusion ends, in milliseconds since the epoch.
    pub until_ms: i64,
}

/// A top-up of an escrow account, recorded before its broadcast: after a crash it is
/// checked against the escrow's balance and the tx, never sent twice for one need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PendingDeposit {
    /// The deployment.
    pub dseq: String,
    /// The amount, in the escrow's smallest unit.
    pub amount: String,
    /// Its denomination.
    pub denom: String,
    /// The escrow's funds when the intent was recorded (a decimal).
    pub balance_before: String,
    /// The chain's height then.
    pub height: u64,
    /// The hash of the tx, once broadcast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// The last height that tx can land at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_height: Option<u64>,
}

/// A mint of ACT from AKT, recorded before its broadcast: found again in the BME ledger (by
/// its owner and a height at or after this one), never sent twice for one need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PendingMint {
    /// The `uakt` to burn.
    pub burn_uakt: String,
    /// The `uact` it is for.
    pub for_uact: String,
    /// The chain's height when the intent was recorded.
    pub height: u64,
    /// The hash of the tx, once broadcast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// The last height that tx can land at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_height: Option<u64>,
}

/// A fault being healed: `Degraded=True` with this reason while it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct FaultStatus {
    /// One CamelCase word (`LeaseClosed`, `ProviderUnreachable`, `ReplicasUnavailable`,
    /// `Unhealthy`, `ManifestRejected`, `ProviderGone`, `FundingLow`).
    pub reason: String,
    /// For people.
    pub message: String,
    /// When it was detected, in milliseconds since the epoch.
    pub since_ms: i64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An order that is collecting bids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct BiddingStatus {
    /// The deployment.
    pub dseq: String,
    /// The group.
    pub gseq: u32,
    /// The order.
    pub oseq: u32,
    /// When the order was first seen, in milliseconds since the epoch (the bid timeout counts
    /// from it).
    pub since_ms: i64,
    /// When its first bid was seen, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bid_ms: Option<i64>,
    /// Open bids seen at the last look.
    pub bids: usize,
}

/// A chain write that was started and whose outcome is not known yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PendingIntent {
    /// What: `create-deployment`, `close-deployment`, `update-deployment`.
    pub action: String,
    /// The deployment it concerns.
    pub dseq: String,
    /// When it was recorded (RFC 3339).
    pub since: String,
    /// The hash of the tx that carries it, once broadcast without confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// The last height that tx can be included at: until the chain is past it, the write may
    /// still land and must not be sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_height: Option<u64>,
}

/// The Akash facts and lifecycle state of a resource, in its status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct AkashStatus {
    /// Where it stands.
    #[serde(default)]
    pub phase: Phase,
    /// The deployment that serves (or will serve) the current generation, decimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dseq: Option<String>,
    /// The deployment that served the previous generation while a blue/green replacement
    /// comes up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_dseq: Option<String>,
    /// The provider of the first group's lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Every URI of every lease.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// Leased IPs, `service ip:port/proto`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    /// Forwarded ports, `service host:externalPort->port/proto`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwarded_ports: Vec<String>,
    /// The leases of the current deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leases: Vec<LeaseStatus>,
    /// Orders collecting bids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bidding: Vec<BiddingStatus>,
    /// The manifest version of the current generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_version: Option<String>,
    /// The generation the manifest version was rendered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_generation: Option<i64>,
    /// Escrow balance of the current deployment, e.g. `4999000uact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escrow_balance: Option<String>,
    /// Seconds until the escrow runs dry at the current lease prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escrow_runway_seconds: Option<i64>,
    /// What the leases draw from the escrow, per block, e.g. `12.5uact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escrow_burn_per_block: Option<String>,
    /// Providers that do not win this resource's bids for a while, after a fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<ExcludedProvider>,
    /// The fault being healed, if any (`Degraded=True` while it lasts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultStatus>,
    /// A top-up of the escrow recorded before its broadcast and not yet known to have landed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_deposit: Option<PendingDeposit>,
    /// A mint of ACT from AKT (BME `MsgMintACT`) recorded before its broadcast and not yet
    /// known to have executed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_mint: Option<PendingMint>,
    /// Why the wallet cannot fund this resource's escrow (the `FundingLow` condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_low: Option<String>,
    /// A chain write started and not yet known to have landed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_intent: Option<PendingIntent>,
    /// Consecutive failed reconciles.
    #[serde(default)]
    pub attempt: u32,
    /// When the next retry is due (RFC 3339), after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry: Option<String>,
    /// When the last reconcile finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<String>,
    /// When the resource first became Ready at its current generation (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_since: Option<String>,
    /// A Proxy's pending ACME DNS-01 challenges, written here by the ACME client that asks for
    /// its certificates (the reconciler keeps them as they are); the DNS controller publishes
    /// each as a TXT record `_acme-challenge.DOMAIN` in the zone the Proxy's `acme.dnsZone`
    /// names, and deletes it once it is gone from this list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acme_challenges: Vec<AcmeChallenge>,
    /// A Proxy's routes as it was last given them (through its admin API): one per
    /// FunctionRuntime of the project, its wildcard domain to the runtime's nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_routes: Vec<ProxyRoute>,
}

/// One route of a Proxy: a host pattern sent to an upstream's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxyRoute {
    /// The hosts it serves, e.g. `*.af-functions.dev`.
    pub host: String,
    /// What it routes to, e.g. `functionruntime/edge-functions`.
    pub source: String,
    /// The proxy's upstream (and location) name.
    pub upstream: String,
    /// The upstream's addresses (`host:port`), one per healthy node.
    pub addrs: Vec<String>,
    /// The runtime has no healthy node at the moment: the proxy keeps the addresses it had.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

/// One pending ACME DNS-01 challenge (RFC 8555 §8.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcmeChallenge {
    /// The domain being validated, e.g. `api.example.com` or `*.example.com` (the record goes
    /// to `_acme-challenge.example.com` for both forms of a name).
    pub domain: String,
    /// The TXT value: the base64url SHA-256 digest of the key authorization.
    pub value: String,
}

impl AkashStatus {
    /// Reads the facts of a status; anything unreadable reads as the default.
    pub fn from_status(status: &Status) -> AkashStatus {
        serde_json::from_value(serde_json::Value::Object(status.facts.clone())).unwrap_or_default()
    }

    /// Writes the facts into a status, keeping its conditions.
    pub fn write_into(&self, status: &mut Status) {
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) {
            status.facts = map;
        }
    }
}

/// The whole status of an Akash-hosted resource, as its schema documents it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct AkashResourceStatus {
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (every group leased, available and healthy), `Synced` (the current generation
    /// is what runs) and `Degraded` (serving, but something is wrong), each with the
    /// generation it was observed at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The Akash facts and lifecycle state.
    #[serde(flatten)]
    pub akash: AkashStatus,
}

/// Sets a condition, keeping its transition time when its status does not change. Returns
/// whether anything changed.
pub fn set_condition(
    status: &mut Status,
    type_: &str,
    value: ConditionStatus,
    reason: &str,
    message: &str,
    generation: i64,
    now: &str,
) -> bool {
    if let Some(c) = status.conditions.iter_mut().find(|c| c.type_ == type_) {
        let changed = c.status != value
            || c.reason != reason
            || c.message != message
            || c.observed_generation != generation;
        if c.status != value {
            c.last_transition_time = now.to_owned();
        }
        c.status = value;
        c.reason = reason.to_owned();
        c.message = message.to_owned();
        c.observed_generation = generation;
        changed
    } else {
        status.conditions.push(Condition {
            type_: type_.to_owned(),
            status: value,
            reason: reason.to_owned(),
            message: message.to_owned(),
            last_transition_time: now.to_owned(),
            observed_generation: generation,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_facts_and_keeps_the_api_keys() {
        let s = AkashStatus {
            phase: Phase::Ready,
            dseq: Some("18446744073709551615".into()),
            provider: Some("akash1p".into()),
            uris: vec!["a.ingress.example".into()],
            escrow_runway_seconds: Some(3600),
            leases: vec![LeaseStatus {
                dseq: "7".into(),
                gseq: 1,
                oseq: 1,
                provider: "akash1p".into(),
                state: "active".into(),
                price: "10uact".into(),
                ..LeaseStatus::default()
            }],
            ..AkashStatus::default()
        };
        let mut status = Status::default();
        s.write_into(&mut status);
        for key in [
            "dseq",
            "provider",
            "uris",
            "escrowRunwaySeconds",
            "leases",
            "phase",
        ] {
            assert!(status.facts.contains_key(key), "{key} missing");
        }
        assert_eq!(status.facts["leases"][0]["gseq"], 1);
        assert_eq!(AkashStatus::from_status(&status), s);
    }

    #[test]
    fn unreadable_facts_read_as_default() {
        let mut status = Status::default();
        status
            .facts
            .insert("phase".into(), serde_json::json!("NoSuchPhase"));
        assert_eq!(AkashStatus::from_status(&status), AkashStatus::default());
    }

    #[test]
    fn a_condition_keeps_its_transition_time_while_its_status_holds() {
        let mut s = Status::default();
        assert!(set_condition(
            &mut s,
            "Ready",
            ConditionStatus::False,
            "Bidding",
            "m",
            1,
            "t1"
        ));
        assert!(set_condition(
            &mut s,
            "Ready",
            ConditionStatus::False,
            "Leasing",
            "m",
            1,
            "t2"
        ));
        assert_eq!(s.conditions[0].last_transition_time, "t1");
        assert!(!set_condition(
            &mut s,
            "Ready",
            ConditionStatus::False,
            "Leasing",
            "m",
            1,
            "t3"
        ));
        assert!(set_condition(
            &mut s,
            "Ready",
            ConditionStatus::True,
            "Healthy",
            "",
            1,
            "t4"
        ));
        assert_eq!(s.conditions[0].last_transition_time, "t4");
    }
}
