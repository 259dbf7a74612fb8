//! The provider manifest (`akash.manifest.v2beta3`) and its version hash.
//!
//! Serde gives exactly the JSON Go's `encoding/json` gives the Go types (the body of
//! `PUT /deployment/{dseq}/manifest`): camelCase names, `null` for nil lists, `params`
//! omitted when nil. [`Manifest::version`] hashes the Go-canonical form of that JSON, written
//! straight from the types (see `canonical.rs` for the rules).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::canonical::Obj;
use super::types::{Attribute, Endpoint, ResourceValue, Resources};

/// The manifest: one entry per deployment group, in group order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Manifest(pub Vec<ManifestGroup>);

/// One group of the manifest: the services a provider runs for one lease.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestGroup {
    /// The placement (group) name.
    pub name: String,
    /// Services sorted by name (providers refuse unsorted services).
    pub services: Vec<ManifestService>,
}

/// One service of a group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestService {
    /// Service name.
    pub name: String,
    /// Container image.
    pub image: String,
    /// Entrypoint override; `null` when the SDL has none.
    pub command: Option<Vec<String>>,
    /// Arguments; `null` when the SDL has none.
    pub args: Option<Vec<String>>,
    /// Environment as `NAME=value`; `null` when the SDL has none.
    pub env: Option<Vec<String>>,
    /// Resources of one replica; `id` is the group's unit id.
    pub resources: Resources,
    /// Replicas of this service.
    pub count: u32,
    /// Exposed ports, sorted by (service, port, proto, global first).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub expose: Vec<ServiceExpose>,
    /// Parameters; absent (not `null`) when the SDL service has no `params`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<ServiceParams>,
    /// Registry credentials; `null` when none.
    pub credentials: Option<ImageCredentials>,
}

/// One exposed port of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceExpose {
    /// Container port.
    pub port: u32,
    /// External port; 0 means the same as `port`.
    pub external_port: u32,
    /// `TCP` or `UDP`.
    pub proto: String,
    /// The service it is exposed to; empty for global exposes.
    pub service: String,
    /// Exposed outside the deployment.
    pub global: bool,
    /// Accepted hostnames; `null` when the SDL has no `accept`.
    pub hosts: Option<Vec<String>>,
    /// HTTP proxy options.
    #[serde(rename = "httpOptions")]
    pub http_options: HttpOptions,
    /// Endpoint name of a leased IP; empty for none.
    pub ip: String,
    /// Sequence number of the leased IP endpoint; 0 for none.
    pub endpoint_sequence_number: u32,
}

impl ServiceExpose {
    /// The external port: `external_port`, or `port` when that is 0.
    pub fn effective_external_port(&self) -> u32 {
        if self.external_port == 0 {
            self.port
        } else {
            self.external_port
        }
    }

    /// The endpoints this expose needs in its unit, as Go's `ServiceExpose.GetEndpoints`.
    pub fn endpoints(&self, out: &mut Vec<Endpoint>) {
        use super::types::EndpointKind;
        if !self.global {
            return;
        }
        let kind = if self.proto == "TCP" && self.effective_external_port() == 80 {
            EndpointKind::SharedHttp
        } else {
            EndpointKind::RandomPort
        };
        let port = Endpoint {
            kind: kind as i32,
            sequence_number: 0,
        };
        // Go sorts the pair by sequence number; the IP endpoint's number is at least 1.
        out.push(port);
        if !self.ip.is_empty() {
            out.push(Endpoint {
                kind: EndpointKind::LeasedIp as i32,
                sequence_number: self.endpoint_sequence_number,
            });
        }
    }
}

/// HTTP proxy options of an expose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpOptions {
    /// Maximum request body size in bytes.
    pub max_body_size: u32,
    /// Read timeout in milliseconds.
    pub read_timeout: u32,
    /// Send timeout in milliseconds.
    pub send_timeout: u32,
    /// Attempts to pass a request to the next upstream.
    pub next_tries: u32,
    /// Time limit for passing to the next upstream, in milliseconds (0 = none).
    pub next_timeout: u32,
    /// When to pass a request to the next upstream.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_cases: Vec<String>,
    /// Proxy buffer size in bytes; 0 (omitted) lets the provider choose.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub proxy_buffer_size: u32,
}

/// Service parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceParams {
    /// Volume mounts sorted by volume name; `null` when none.
    pub storage: Option<Vec<StorageParams>>,
    /// Registry credentials inside params (never set from an SDL; kept for decoding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<ImageCredentials>,
    /// Read permissions granted to the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<ServicePermissions>,
    /// Trusted execution environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tee: Option<TeeParams>,
}

/// Where a volume is mounted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageParams {
    /// Volume name.
    pub name: String,
    /// Absolute mount path.
    pub mount: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Read permissions of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePermissions {
    /// Any of `deployment`, `logs`, `events`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
}

/// Trusted execution environment of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeeParams {
    /// `cpu` or `cpu-gpu`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Attestation requested (always true from an SDL).
    pub attestation: bool,
}

/// Private registry credentials.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCredentials {
    /// Registry host.
    pub host: String,
    /// Account e-mail (SDL 2.0 never fills it).
    pub email: String,
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl fmt::Debug for ImageCredentials {
    // The password is a secret: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageCredentials")
            .field("host", &self.host)
            .field("email", &self.email)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A manifest version: the sha256 the chain stores as the deployment's `hash`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ManifestVersion(pub [u8; 32]);

impl ManifestVersion {
    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ManifestVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ManifestVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManifestVersion({})", self.to_hex())
    }
}

impl Serialize for ManifestVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ManifestVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&text, &mut bytes)
            .map_err(|e| D::Error::custom(format!("manifest version {text:?}: {e}")))?;
        Ok(ManifestVersion(bytes))
    }
}

impl Manifest {
    /// The version: sha256 of [`Manifest::canonical_json`], as Go's `Manifest.Version()`.
    pub fn version(&self) -> ManifestVersion {
        // The JSON is written into a buffer kept per thread: a fresh one of a few KiB per
        // version was a large allocation, which costs glibc's allocator a consolidation
        // of its small free chunks each time.
        thread_local! {
            static JSON: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        JSON.with(|buf| match buf.try_borrow_mut() {
            Ok(mut out) => {
                out.clear();
                self.write_canonical_json(&mut out);
                let version = ManifestVersion(Sha256::digest(out.as_bytes()).into());
                // A huge manifest does not keep its buffer.
                if out.capacity() > 1 << 16 {
                    *out = String::new();
                }
                version
            }
            Err(_) => ManifestVersion(Sha256::digest(self.canonical_json().as_bytes()).into()),
        })
    }

    /// The manifest as Go's `sdk.SortJSON(json.Marshal(manifest))` prints it: keys sorted,
    /// compact, HTML characters escaped.
    pub fn canonical_json(&self) -> String {
        let mut out = String::with_capacity(2048);
        self.write_canonical_json(&mut out);
        out
    }

    fn write_canonical_json(&self, out: &mut String) {
        out.push('[');
        for (i, group) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_group(out, group);
        }
        out.push(']');
    }
}

// The writers below list each object's keys in bytewise order; the tests compare their output
// with the generic encoder applied to the serde JSON of the same values.

fn write_group(out: &mut String, g: &ManifestGroup) {
    let mut o = Obj::new(out);
    o.key("name").str(&g.name);
    o.key("services").list(&g.services, write_service);
    o.end();
}

fn write_service(out: &mut String, s: &ManifestService) {
    let mut o = Obj::new(out);
    o.key("args").opt_strs(s.args.as_deref());
    o.key("command").opt_strs(s.command.as_deref());
    o.key("count").uint(s.count.into());
    o.key("credentials");
    match &s.credentials {
        Some(c) => write_credentials(o.out(), c),
        None => o.null(),
    }
    o.key("env").opt_strs(s.env.as_deref());
    o.key("expose").list(&s.expose, write_expose);
    o.key("image").str(&s.image);
    o.key("name").str(&s.name);
    if let Some(p) = &s.params {
        o.key("params");
        write_params(o.out(), p);
    }
    o.key("resources");
    write_resources(o.out(), &s.resources);
    o.end();
}

fn write_credentials(out: &mut String, c: &ImageCredentials) {
    let mut o = Obj::new(out);
    o.key("email").str(&c.email);
    o.key("host").str(&c.host);
    o.key("password").str(&c.password);
    o.key("username").str(&c.username);
    o.end();
}

fn write_expose(out: &mut String, e: &ServiceExpose) {
    let mut o = Obj::new(out);
    o.key("endpointSequenceNumber")
        .uint(e.endpoint_sequence_number.into());
    o.key("externalPort").uint(e.external_port.into());
    o.key("global").bool(e.global);
    o.key("hosts").opt_strs(e.hosts.as_deref());
    o.key("httpOptions");
    write_http_options(o.out(), &e.http_options);
    o.key("ip").str(&e.ip);
    o.key("port").uint(e.port.into());
    o.key("proto").str(&e.proto);
    o.key("service").str(&e.service);
    o.end();
}

fn write_http_options(out: &mut String, h: &HttpOptions) {
    let mut o = Obj::new(out);
    o.key("maxBodySize").uint(h.max_body_size.into());
    if !h.next_cases.is_empty() {
        o.key("nextCases").strs(&h.next_cases);
    }
    o.key("nextTimeout").uint(h.next_timeout.into());
    o.key("nextTries").uint(h.next_tries.into());
    if h.proxy_buffer_size != 0 {
        o.key("proxyBufferSize").uint(h.proxy_buffer_size.into());
    }
    o.key("readTimeout").uint(h.read_timeout.into());
    o.key("sendTimeout").uint(h.send_timeout.into());
    o.end();
}

fn write_params(out: &mut String, p: &ServiceParams) {
    let mut o = Obj::new(out);
    if let Some(c) = &p.credentials {
        o.key("credentials");
        write_credentials(o.out(), c);
    }
    if let Some(perm) = &p.permissions {
        o.key("permissions");
        let mut po = Obj::new(o.out());
        if !perm.read.is_empty() {
            po.key("read").strs(&perm.read);
        }
        po.end();
    }
    o.key("storage");
    match &p.storage {
        Some(list) => o.list(list, |out, sp| {
            let mut so = Obj::new(out);
            so.key("mount").str(&sp.mount);
            so.key("name").str(&sp.name);
            so.key("readOnly").bool(sp.read_only);
            so.end();
        }),
        None => o.null(),
    }
    if let Some(t) = &p.tee {
        o.key("tee");
        let mut to = Obj::new(o.out());
        to.key("attestation").bool(t.attestation);
        to.key("type").str(&t.kind);
        to.end();
    }
    o.end();
}

pub(crate) fn write_resources(out: &mut String, r: &Resources) {
    let mut o = Obj::new(out);
    if let Some(cpu) = &r.cpu {
        o.key("cpu");
        write_units(o.out(), &cpu.attributes, "units", &cpu.units);
    }
    o.key("endpoints").list(&r.endpoints, |out, e| {
        let mut eo = Obj::new(out);
        if e.kind != 0 {
            eo.key("kind").int(e.kind.into());
        }
        eo.key("sequence_number").uint(e.sequence_number.into());
        eo.end();
    });
    if let Some(gpu) = &r.gpu {
        o.key("gpu");
        write_units(o.out(), &gpu.attributes, "units", &gpu.units);
    }
    o.key("id").uint(r.id.into());
    if let Some(mem) = &r.memory {
        o.key("memory");
        write_units(o.out(), &mem.attributes, "size", &mem.quantity);
    }
    if !r.storage.is_empty() {
        o.key("storage").list(&r.storage, |out, s| {
            let mut so = Obj::new(out);
            if !s.attributes.is_empty() {
                so.key("attributes").list(&s.attributes, write_attribute);
            }
            so.key("name").str(&s.name);
            so.key("size");
            write_value(so.out(), &s.quantity);
            so.end();
        });
    }
    o.end();
}

fn write_units(out: &mut String, attrs: &[Attribute], name: &str, value: &ResourceValue) {
    let mut o = Obj::new(out);
    if !attrs.is_empty() {
        o.key("attributes").list(attrs, write_attribute);
    }
    o.key(name);
    write_value(o.out(), value);
    o.end();
}

fn write_value(out: &mut String, v: &ResourceValue) {
    let mut o = Obj::new(out);
    o.key("val").str(&String::from_utf8_lossy(&v.val));
    o.end();
}

fn write_attribute(out: &mut String, a: &Attribute) {
    let mut o = Obj::new(out);
    if !a.key.is_empty() {
        o.key("key").str(&a.key);
    }
    if !a.value.is_empty() {
        o.key("value").str(&a.value);
    }
    o.end();
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
