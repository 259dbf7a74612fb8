//! Types shared by several kinds: containers, compute resources, exposure, health checks,
//! placement on Akash and secret references.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::quantity::{ByteSize, CoinAmount, Cpu, DurationSpec};
use super::validate::{
    check_akash_address, check_dns_label, check_hostname, check_unique, Problems, Validate,
};
use super::yaml::FieldPath;

/// A reference to one key of a secret held by a SecretStore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretRef {
    /// The SecretStore's name (in the same project).
    pub store: String,
    /// The key inside that store, e.g. `DATABASE_URL`.
    pub key: String,
}

impl Validate for SecretRef {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        check_dns_label(&self.store, &at.key("store"), p);
        if self.key.is_empty() || self.key.len() > 256 {
            p.add(&at.key("key"), "the secret key must be 1 to 256 characters");
        }
    }
}

/// One environment variable: a plain `value` or a `secretRef`, exactly one of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVar {
    /// The variable's name: letters, digits and `_`, not starting with a digit.
    pub name: String,
    /// A plain value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A value read from a SecretStore at deploy time; never stored in clear here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Validate for EnvVar {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        if !is_env_name(&self.name) {
            p.add(
                &at.key("name"),
                format!(
                    "`{}` is not a valid variable name: expected letters, digits and '_', not starting with a digit, e.g. `DATABASE_URL`",
                    self.name
                ),
            );
        }
        match (&self.value, &self.secret_ref) {
            (Some(_), Some(_)) => p.add(at, "set either `value` or `secretRef`, not both"),
            (None, None) => p.add(
                at,
                "missing `value` or `secretRef`: one of them is required",
            ),
            (None, Some(r)) => r.validate(&at.key("secretRef"), p),
            (Some(_), None) => {}
        }
    }
}

/// Validates a list of environment variables, names unique.
pub fn validate_env(env: &[EnvVar], at: &FieldPath, p: &mut Problems) {
    env.validate(at, p);
    check_unique(
        env.iter()
            .enumerate()
            .map(|(i, e)| (at.index(i).key("name"), e.name.as_str())),
        "environment variable",
        p,
    );
}

/// An HTTP health check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthCheck {
    /// The path to request, starting with `/`.
    #[serde(default = "default_health_path")]
    pub path: String,
    /// The status code that means healthy (100 to 599). Default 200.
    #[serde(default = "default_expected_status")]
    pub expected_status: u16,
    /// Time between checks. Default 30s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<DurationSpec>,
    /// Time a check may take; at most the interval. Default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationSpec>,
    /// Consecutive failures that make the workload unhealthy. Default 3.
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
}

fn default_health_path() -> String {
    "/health".into()
}
fn default_expected_status() -> u16 {
    200
}
fn default_failure_threshold() -> u32 {
    3
}

impl HealthCheck {
    /// The interval, with its default.
    pub fn interval(&self) -> std::time::Duration {
        self.interval
            .as_ref()
            .map_or(std::time::Duration::from_secs(30), |d| d.duration())
    }
    /// The timeout, with its default.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
            .as_ref()
            .map_or(std::time::Duration::from_secs(5), |d| d.duration())
    }
}

impl Validate for HealthCheck {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        if !self.path.starts_with('/') {
            p.add(
                &at.key("path"),
                format!("`{}` must start with `/`, e.g. `/health`", self.path),
            );
        }
        if !(100..=599).contains(&self.expected_status) {
            p.add(
                &at.key("expectedStatus"),
                format!(
                    "{} is not an HTTP status: expected 100 to 599",
                    self.expected_status
                ),
            );
        }
        if self.failure_threshold == 0 {
            p.add(&at.key("failureThreshold"), "must be at least 1");
        }
        if self.timeout() > self.interval() {
            p.add(
                &at.key("timeout"),
                "the timeout must not be longer than the interval",
            );
        }
    }
}

/// Storage classes Akash providers offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageClass {
    /// The provider's default persistent class.
    Default,
    /// HDD-backed persistent storage.
    Beta1,
    /// SSD-backed persistent storage.
    Beta2,
    /// NVMe-backed persistent storage.
    Beta3,
    /// Memory-backed volume (e.g. /dev/shm); never persistent.
    Ram,
}

/// A storage volume: the ephemeral root disk, a persistent volume or a RAM volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Volume {
    /// The volume's name, a DNS-1123 label. Default `default` (the ephemeral root disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The size, e.g. `10Gi`.
    pub size: ByteSize,
    /// Whether the volume survives restarts. Persistent volumes need a `mountPath`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub persistent: bool,
    /// The storage class. Persistent volumes default to `default`; `ram` is never persistent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<StorageClass>,
    /// Where the volume is mounted: an absolute path. Required for persistent and RAM volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

impl Volume {
    /// The volume's name, with its default.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("default")
    }
}

impl Validate for Volume {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        match &self.name {
            Some(n) => check_dns_label(n, &at.key("name"), p),
            None if self.persistent || self.class.is_some() => p.add(
                at,
                "missing `name`: persistent and RAM volumes need a name, e.g. `data`",
            ),
            None => {}
        }
        match (self.persistent, self.class) {
            (true, Some(StorageClass::Ram)) => p.add(
                &at.key("persistent"),
                "a `ram` volume cannot be persistent: set `persistent: false` or choose class default, beta1, beta2 or beta3",
            ),
            (false, Some(c)) if c != StorageClass::Ram => p.add(
                &at.key("class"),
                "only persistent volumes take a class other than `ram`: set `persistent: true` or remove `class`",
            ),
            _ => {}
        }
        let needs_mount = self.persistent || self.class == Some(StorageClass::Ram);
        match &self.mount_path {
            None if needs_mount => p.add(
                at,
                "missing `mountPath`: persistent and RAM volumes must be mounted at an absolute path, e.g. `/var/lib/data`",
            ),
            Some(m) if !m.starts_with('/') => p.add(
                &at.key("mountPath"),
                format!("`{m}` is not an absolute path: expected e.g. `/var/lib/data`"),
            ),
            Some(_) if !needs_mount => p.add(
                &at.key("mountPath"),
                "the ephemeral root disk cannot be mounted: set `persistent: true` or `class: ram`",
            ),
            _ => {}
        }
    }
}

/// GPU vendors Akash's SDL can request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GpuVendor {
    /// NVIDIA (the only vendor Akash's SDL schema accepts today).
    Nvidia,
}

/// A GPU model requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GpuModel {
    /// The model, e.g. `rtx4090`, `a100`, `h100`.
    pub model: String,
    /// The GPU memory, e.g. `80Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram: Option<String>,
    /// The interface: `pcie` or `sxm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<GpuInterface>,
}

/// A GPU's interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GpuInterface {
    /// PCI Express.
    Pcie,
    /// NVIDIA SXM.
    Sxm,
}

/// GPUs for each replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Gpu {
    /// How many GPUs, at least 1.
    pub units: u32,
    /// The vendor.
    pub vendor: GpuVendor,
    /// Acceptable models; empty means any model of the vendor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<GpuModel>,
}

impl Validate for Gpu {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        if self.units == 0 {
            p.add(
                &at.key("units"),
                "must be at least 1 (remove `gpu` to request none)",
            );
        }
        for (i, m) in self.models.iter().enumerate() {
            let mp = at.key("models").index(i);
            let ok = !m.model.is_empty()
                && m.model.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !ok {
                p.add(
                    &mp.key("model"),
                    format!(
                        "`{}` is not a model name: expected lowercase letters and digits, e.g. `rtx4090` or `h100`",
                        m.model
                    ),
                );
            }
            if let Some(r) = &m.ram {
                if super::quantity::parse_byte_size(r).is_err() || !r.ends_with("Gi") {
                    p.add(
                        &mp.key("ram"),
                        format!("`{r}` is not a GPU memory size: expected e.g. `80Gi`"),
                    );
                }
            }
        }
    }
}

/// Compute resources for one replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ComputeResources {
    /// CPU: `0.5`, `500m` or `2`.
    pub cpu: Cpu,
    /// Memory, e.g. `512Mi` or `1Gi`.
    pub memory: ByteSize,
    /// Volumes. At most one ephemeral volume (the root disk); names unique; mount paths unique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<Volume>,
    /// GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<Gpu>,
}

impl Validate for ComputeResources {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        let sp = at.key("storage");
        self.storage.validate(&sp, p);
        check_unique(
            self.storage
                .iter()
                .enumerate()
                .map(|(i, v)| (sp.index(i).key("name"), v.name())),
            "volume name",
            p,
        );
        check_unique(
            self.storage.iter().enumerate().filter_map(|(i, v)| {
                v.mount_path
                    .as_deref()
                    .map(|m| (sp.index(i).key("mountPath"), m))
            }),
            "mount path",
            p,
        );
        self.gpu.validate(&at.key("gpu"), p);
    }
}

/// Transport protocol of an exposed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

/// An extra port exposed besides the HTTP port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortExpose {
    /// The container port (1 to 65535).
    pub port: u16,
    /// The external port; default: the same as `port`. On a provider without a leased IP the
    /// external port is chosen by the provider.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "as")]
    pub external_port: Option<u16>,
    /// `tcp` (default) or `udp`.
    #[serde(default)]
    pub protocol: Protocol,
    /// Reachable from the internet (default true); otherwise only by the other services of
    /// the same deployment.
    #[serde(default = "yes")]
    pub global: bool,
}

fn yes() -> bool {
    true
}

impl Validate for PortExpose {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        if self.port == 0 {
            p.add(&at.key("port"), "0 is not a port: expected 1 to 65535");
        }
        if self.external_port == Some(0) {
            p.add(&at.key("as"), "0 is not a port: expected 1 to 65535");
        }
    }
}

/// How a service is reached.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expose {
    /// Serve the service's `port` over the provider's HTTP ingress (port 80, TLS by the proxy).
    /// Default: true for a main service, false for a sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<bool>,
    /// HTTP hostnames the ingress accepts for this service (besides the provider's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Extra TCP/UDP ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortExpose>,
    /// Expose the global ports on a dedicated IP address leased from the provider.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leased_ip: bool,
}

impl Validate for Expose {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        let hp = at.key("hostnames");
        for (i, h) in self.hostnames.iter().enumerate() {
            check_hostname(h, false, &hp.index(i), p);
        }
        check_unique(
            self.hostnames
                .iter()
                .enumerate()
                .map(|(i, h)| (hp.index(i), h.as_str())),
            "hostname",
            p,
        );
        let pp = at.key("ports");
        self.ports.validate(&pp, p);
        let mut seen = std::collections::HashSet::new();
        for (i, port) in self.ports.iter().enumerate() {
            if !seen.insert((port.port, port.protocol)) {
                p.add(
                    &pp.index(i).key("port"),
                    format!("port {} is exposed twice with the same protocol", port.port),
                );
            }
        }
        if self.leased_ip && !self.ports.iter().any(|p| p.global) && self.http == Some(false) {
            p.add(
                &at.key("leasedIp"),
                "a leased IP needs at least one global port or HTTP",
            );
        }
    }
}

/// A container: the fields a main service and its sidecars share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sidecar {
    /// The sidecar's name, a DNS-1123 label unique in the deployment.
    pub name: String,
    /// The container image, e.g. `postgres:16`.
    pub image: String,
    /// Overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments to the entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// The port the sidecar listens on; reachable by the deployment's other services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How the sidecar is reached besides its `port` (by default only from inside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<Expose>,
    /// Compute resources for the sidecar.
    pub resources: ComputeResources,
    /// A health check on the sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

/// Checks a container image reference.
pub fn check_image(image: &str, at: &FieldPath, p: &mut Problems) {
    let ok = !image.is_empty()
        && image.len() <= 512
        && !image.chars().any(|c| c.is_whitespace() || c.is_control())
        && !image.starts_with(['-', ':', '@', '/']);
    if !ok {
        p.add(
            at,
            format!("`{image}` is not a container image reference: expected e.g. `ghcr.io/org/app:1.2.3` or `nginx:1.27`"),
        );
    }
}

impl Validate for Sidecar {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        check_dns_label(&self.name, &at.key("name"), p);
        check_image(&self.image, &at.key("image"), p);
        validate_env(&self.env, &at.key("env"), p);
        if self.port == Some(0) {
            p.add(&at.key("port"), "0 is not a port: expected 1 to 65535");
        }
        if let Some(e) = &self.expose {
            e.validate(&at.key("expose"), p);
            if e.http == Some(true) && self.port.is_none() {
                p.add(
                    &at.key("port"),
                    "missing `port`: HTTP exposure needs the port the container listens on",
                );
            }
        }
        self.resources.validate(&at.key("resources"), p);
        self.health_check.validate(&at.key("healthCheck"), p);
    }
}

/// Validates sidecars: each valid, names unique and not the main service's.
pub fn validate_sidecars(sidecars: &[Sidecar], main: &str, at: &FieldPath, p: &mut Problems) {
    sidecars.validate(at, p);
    check_unique(
        std::iter::once((at.clone(), main)).chain(
            sidecars
                .iter()
                .enumerate()
                .map(|(i, s)| (at.index(i).key("name"), s.name.as_str())),
        ),
        "service name",
        p,
    );
}

/// Auditors whose signatures a provider's attributes must carry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Auditors {
    /// Signed by at least one of these auditor addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<String>,
    /// Signed by all of these auditor addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all_of: Vec<String>,
}

/// Providers to prefer or avoid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProviderFilter {
    /// Only these provider addresses may win a bid (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// These provider addresses never win a bid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

/// The escrow account of a deployment and how it is kept funded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Escrow {
    /// The initial deposit, e.g. `5000000uact` (denom `uact` unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit: Option<CoinAmount>,
    /// Top up when the escrow's remaining runway falls below this, e.g. `24h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_up_below: Option<DurationSpec>,
    /// Top up to this much runway, e.g. `48h`; longer than `topUpBelow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_up_to: Option<DurationSpec>,
}

/// Where and at what price a workload may run on Akash.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Placement {
    /// The highest price per block to accept, per replica, e.g. `1000` or `"1000uact"`
    /// (denom `uact` unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<CoinAmount>,
    /// Provider attributes required, e.g. `region: us-west`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Auditors that must have signed the provider's attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auditors: Option<Auditors>,
    /// Allow and deny lists of provider addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers: Option<ProviderFilter>,
    /// Escrow deposit and top-up policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escrow: Option<Escrow>,
}

impl Validate for Placement {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        let ap = at.key("attributes");
        for (k, v) in &self.attributes {
            let key_ok = !k.is_empty()
                && k.len() <= 128
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
            if !key_ok {
                p.add(
                    &ap.key(k),
                    format!("`{k}` is not an attribute key: expected letters, digits, '-', '_', '.', '/', e.g. `region`"),
                );
            }
            if v.is_empty() || v.len() > 256 {
                p.add(&ap.key(k), "an attribute value must be 1 to 256 characters");
            }
        }
        if let Some(a) = &self.auditors {
            let aup = at.key("auditors");
            for (field, list) in [("anyOf", &a.any_of), ("allOf", &a.all_of)] {
                for (i, addr) in list.iter().enumerate() {
                    check_akash_address(addr, &aup.key(field).index(i), p);
                }
            }
        }
        if let Some(f) = &self.providers {
            let pp = at.key("providers");
            for (field, list) in [("allow", &f.allow), ("deny", &f.deny)] {
                for (i, addr) in list.iter().enumerate() {
                    check_akash_address(addr, &pp.key(field).index(i), p);
                }
            }
            for (i, addr) in f.deny.iter().enumerate() {
                if f.allow.contains(addr) {
                    p.add(
                        &pp.key("deny").index(i),
                        format!("`{addr}` is both allowed and denied"),
                    );
                }
            }
        }
        if let Some(e) = &self.escrow {
            let ep = at.key("escrow");
            if let Some(d) = &e.deposit {
                if d.coin().amount.contains('.') {
                    p.add(
                        &ep.key("deposit"),
                        "a deposit must be a whole number of the smallest unit, e.g. `5000000uact`",
                    );
                }
            }
            match (&e.top_up_below, &e.top_up_to) {
                (Some(b), Some(t)) if t.duration() <= b.duration() => p.add(
                    &ep.key("topUpTo"),
                    format!("`{t}` must be longer than topUpBelow (`{b}`)"),
                ),
                (Some(_), None) => p.add(
                    &ep,
                    "missing `topUpTo`: with `topUpBelow`, say how much runway a top-up restores, e.g. `48h`",
                ),
                (None, Some(_)) => p.add(
                    &ep,
                    "missing `topUpBelow`: with `topUpTo`, say when a top-up starts, e.g. `24h`",
                ),
                _ => {}
            }
        }
    }
}

/// DNS records the operator keeps for a workload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DnsSettings {
    /// Hostnames pointed at the workload (in a DnsZone the operator manages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
}

impl Validate for DnsSettings {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        let hp = at.key("hostnames");
        for (i, h) in self.hostnames.iter().enumerate() {
            check_hostname(h, true, &hp.index(i), p);
        }
        check_unique(
            self.hostnames
                .iter()
                .enumerate()
                .map(|(i, h)| (hp.index(i), h.as_str())),
            "hostname",
            p,
        );
    }
}
