//! From a resource spec to an Akash SDL, through the kind's template in `sdl-templates/`.
//!
//! The templates (minijinja) decide the SDL's shape; this module gives them the spec and the
//! few values that need code: environment lists with secrets resolved, the price ceiling with
//! its default denomination, region splits. Every rendered SDL goes through the same parser
//! and validator as a user's SDL ([`crate::sdl::parse`]).
//!
//! Secret values come from a [`SecretResolver`] chosen by the caller. A rendered SDL that
//! holds one is a [`RenderedSdl`] whose `Debug` never shows the text.

mod secrets;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{json, Value};

use crate::sdl;
use crate::spec::common::{ComputeResources, EnvVar, Expose, Placement, Protocol, Sidecar};
use crate::spec::kinds::site::GatewayMode;
use crate::spec::quantity::DEFAULT_DENOM;
use crate::spec::validate::FieldError;
use crate::spec::yaml::FieldPath;
use crate::spec::{Kind, Resource, ResourceInput, Spec};

pub use secrets::{FileSecrets, RedactingResolver, SecretError, SecretResolver};

/// The price ceiling per block (in `uact`) used when a spec sets no `placement.maxPrice`.
pub const DEFAULT_MAX_PRICE: &str = "1000";

/// The templates shipped with the binary: `(file name, source)`.
pub const BUILTIN_TEMPLATES: [(&str, &str); 6] = [
    ("_macros.j2", include_str!("../../sdl-templates/_macros.j2")),
    (
        "agent.yaml.j2",
        include_str!("../../sdl-templates/agent.yaml.j2"),
    ),
    (
        "functionruntime.yaml.j2",
        include_str!("../../sdl-templates/functionruntime.yaml.j2"),
    ),
    (
        "proxy.yaml.j2",
        include_str!("../../sdl-templates/proxy.yaml.j2"),
    ),
    (
        "secretstore.yaml.j2",
        include_str!("../../sdl-templates/secretstore.yaml.j2"),
    ),
    (
        "site.yaml.j2",
        include_str!("../../sdl-templates/site.yaml.j2"),
    ),
];

/// Rendering failures.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The kind runs nothing on Akash.
    #[error("{kind} `{name}` has no Akash deployment: {why}")]
    NotDeployed {
        /// The kind.
        kind: Kind,
        /// The resource's name.
        name: String,
        /// Why.
        why: &'static str,
    },
    /// The stored spec does not decode (it was written by another version).
    #[error("spec of {0} does not decode: {1}")]
    Spec(String, String),
    /// A secret could not be resolved.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The template failed; names its file and line.
    #[error("{file}:{line}: {message}")]
    Template {
        /// The template file.
        file: String,
        /// The line (0 when unknown).
        line: usize,
        /// What failed.
        message: String,
    },
    /// The rendered SDL is not valid SDL: a template bug.
    #[error("the SDL rendered by {template} is invalid: {source}")]
    InvalidSdl {
        /// The template file.
        template: String,
        /// The SDL errors.
        source: sdl::SdlError,
    },
}

/// A rendered SDL. When it holds a secret value, `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedSdl {
    text: String,
    holds_secrets: bool,
}

impl RenderedSdl {
    /// The SDL text. Treat it as a secret when [`Self::holds_secrets`].
    pub fn expose_text(&self) -> &str {
        &self.text
    }

    /// Whether any environment value came from a secret.
    pub fn holds_secrets(&self) -> bool {
        self.holds_secrets
    }

    /// Parses, validates and converts the SDL (manifest, groups, version).
    pub fn convert(&self) -> Result<sdl::Conversion, sdl::SdlError> {
        sdl::parse(&self.text).map(sdl::Sdl::into_conversion)
    }
}

impl fmt::Debug for RenderedSdl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.holds_secrets {
            f.write_str("RenderedSdl(<holds secrets: redacted>)")
        } else {
            f.debug_tuple("RenderedSdl").field(&self.text).finish()
        }
    }
}

/// Where templates come from: the built-in ones, each overridable by a file of the same
/// name in a directory.
#[derive(Clone, Debug, Default)]
pub struct TemplateSource {
    dir: Option<PathBuf>,
}

impl TemplateSource {
    /// The built-in templates only.
    pub fn builtin() -> Self {
        Self { dir: None }
    }

    /// Templates from `dir` where present, built-in ones otherwise.
    pub fn with_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    fn display_name(&self, name: &str) -> String {
        match &self.dir {
            Some(d) if d.join(name).is_file() => d.join(name).display().to_string(),
            _ => format!("sdl-templates/{name}"),
        }
    }
}

/// The template of a kind, or why there is none.
pub fn template_for(kind: Kind) -> Result<&'static str, &'static str> {
    match kind {
        Kind::Agent => Ok("agent.yaml.j2"),
        Kind::FunctionRuntime => Ok("functionruntime.yaml.j2"),
        Kind::Proxy => Ok("proxy.yaml.j2"),
        Kind::SecretStore => Ok("secretstore.yaml.j2"),
        Kind::Site => Ok("site.yaml.j2"),
        Kind::Function => Err("functions run on their FunctionRuntime's nodes"),
        Kind::DnsZone => Err("a DNS zone lives at its DNS provider"),
    }
}

/// Quotes a value as a JSON scalar, which YAML reads back unchanged.
fn quote(v: minijinja::Value) -> Result<String, minijinja::Error> {
    let json = serde_json::to_value(&v).map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
    })?;
    Ok(json.to_string())
}

/// A template environment, ready to render any kind.
pub struct Renderer {
    env: Environment<'static>,
    source: TemplateSource,
    ipfs_gateway: Option<String>,
}

/// The manifest env variable that makes a service a functions runtime node (README, "The
/// runtime contract, v1").
pub const RUNTIME_CONTRACT_ENV: &str = "AF_RUNTIME_CONTRACT";
/// The runtime contract version the operator speaks.
pub const RUNTIME_CONTRACT_VERSION: &str = "v1";
/// The vault store that holds what the operator generates for itself (runtime tokens).
pub const OPERATOR_STORE: &str = "af-operator";

/// The vault key of a FunctionRuntime's admin token (in [`OPERATOR_STORE`]).
pub fn runtime_token_key(runtime: &str) -> String {
    format!("runtime-token.{runtime}")
}

/// The SDL service name of a FunctionRuntime's node `i`.
pub fn runtime_node_name(i: u32) -> String {
    format!("node-{i}")
}

impl Renderer {
    /// Builds a renderer over a template source.
    pub fn new(source: TemplateSource) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        env.add_filter("q", quote);
        let builtin: Arc<HashMap<&'static str, &'static str>> =
            Arc::new(BUILTIN_TEMPLATES.into_iter().collect());
        let dir = source.dir.clone();
        env.set_loader(move |name| {
            if let Some(d) = &dir {
                let p = d.join(name);
                if p.is_file() {
                    return std::fs::read_to_string(&p).map(Some).map_err(|e| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::TemplateNotFound,
                            format!("cannot read {}: {e}", p.display()),
                        )
                    });
                }
            }
            Ok(builtin.get(name).map(|s| s.to_string()))
        });
        Renderer {
            env,
            source,
            ipfs_gateway: None,
        }
    }

    /// Function runtime nodes fetch bundles from this IPFS gateway (`AF_IPFS_GATEWAY`).
    pub fn with_ipfs_gateway(mut self, url: Option<String>) -> Self {
        self.ipfs_gateway = url.filter(|u| !u.trim().is_empty());
        self
    }

    /// Renders a resource's SDL, resolving secrets through `secrets`.
    pub fn render(
        &self,
        resource: &Resource,
        secrets: &dyn SecretResolver,
    ) -> Result<RenderedSdl, RenderError> {
        let key = resource.key();
        let template = template_for(resource.kind).map_err(|why| RenderError::NotDeployed {
            kind: resource.kind,
            name: resource.metadata.name.clone(),
            why,
        })?;
        let spec = resource
            .typed_spec()
            .map_err(|e| RenderError::Spec(key.to_string(), e.to_string()))?;
        let mut holds_secrets = false;
        let ctx = context(
            resource,
            &spec,
            secrets,
            self.ipfs_gateway.as_deref(),
            &mut holds_secrets,
        )?;
        let raw = self
            .env
            .get_template(template)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| self.template_error(template, &e))?;
        let text = tidy(&raw);
        sdl::parse(&text).map_err(|source| RenderError::InvalidSdl {
            template: self.source.display_name(template),
            source,
        })?;
        Ok(RenderedSdl {
            text,
            holds_secrets,
        })
    }

    fn template_error(&self, template: &str, e: &minijinja::Error) -> RenderError {
        let file = e.name().unwrap_or(template);
        let mut message = e.kind().to_string();
        if let Some(d) = e.detail() {
            message.push_str(": ");
            message.push_str(d);
        }
        RenderError::Template {
            file: self.source.display_name(file),
            line: e.line().unwrap_or(0),
            message,
        }
    }
}

/// The API shows rendered SDL through this: secrets always redacted, errors as messages
/// without internals.
impl crate::api::SdlRenderer for Renderer {
    fn render(&self, resource: &Resource) -> Result<String, String> {
        Renderer::render(self, resource, &RedactingResolver)
            .map(|sdl| sdl.expose_text().to_string())
            .map_err(|e| match e {
                RenderError::NotDeployed { .. } | RenderError::InvalidSdl { .. } => e.to_string(),
                RenderError::Template { .. } => {
                    "the SDL template failed; see the operator's log".into()
                }
                RenderError::Spec(..) | RenderError::Secret(_) => {
                    "the SDL cannot be rendered".into()
                }
            })
    }
}

/// Why a resource about to be applied could never deploy: the SDL rendered from it (with
/// the built-in templates, secrets as placeholders) breaks Akash's rules, e.g. more than 384
/// CPUs or 2Ti of memory per replica. Each problem names the spec field the offending SDL
/// value came from, so that `apply` points at the user's line. Kinds that deploy nothing on
/// Akash have no problems here.
pub fn deploy_problems(input: &ResourceInput) -> Vec<FieldError> {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    let renderer = RENDERER.get_or_init(|| Renderer::new(TemplateSource::builtin()));
    let spec_root = FieldPath::root().key("spec");
    match renderer.render(&input.preview(), &RedactingResolver) {
        Ok(_) | Err(RenderError::NotDeployed { .. }) => Vec::new(),
        Err(RenderError::InvalidSdl { source, .. }) => source
            .issues()
            .into_iter()
            .map(|issue| FieldError {
                path: spec_field(&input.spec, &issue.path),
                message: if issue.path.is_empty() {
                    format!(
                        "Akash would refuse the SDL rendered from this spec: {}",
                        issue.message
                    )
                } else {
                    format!(
                        "Akash would refuse the SDL rendered from this: {} (at `{}` in the SDL)",
                        issue.message, issue.path
                    )
                },
            })
            .collect(),
        Err(e) => vec![FieldError {
            path: spec_root,
            message: format!("the SDL cannot be rendered from this spec: {e}"),
        }],
    }
}

/// The SDL's name of a kind's main service.
const MAIN_SERVICES: [&str; 5] = ["app", "secrets", "proxy", "runtime", "gateway"];

/// The spec field an SDL path (`profiles.compute.app.resources.cpu.units`) came from.
fn spec_field(spec: &Spec, sdl_path: &str) -> FieldPath {
    let root = FieldPath::root().key("spec");
    let parts: Vec<&str> = sdl_path
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .collect();
    let sidecars: &[Sidecar] = match spec {
        Spec::Agent(s) => &s.sidecars,
        Spec::SecretStore(s) => &s.sidecars,
        _ => &[],
    };
    let main = match spec {
        Spec::Site(_) => root.key("gateway"),
        _ => root.clone(),
    };
    let container = |service: &str| -> Option<(FieldPath, bool)> {
        let runtime_node = matches!(spec, Spec::FunctionRuntime(_))
            && service
                .strip_prefix("node-")
                .is_some_and(|i| i.parse::<u32>().is_ok());
        if MAIN_SERVICES.contains(&service) || runtime_node {
            return Some((main.clone(), true));
        }
        let i = sidecars.iter().position(|c| c.name == service)?;
        Some((root.key("sidecars").index(i), false))
    };
    let placement = |name: &str| -> FieldPath {
        if let Spec::FunctionRuntime(s) = spec {
            if let Some(i) = s
                .nodes
                .regions
                .iter()
                .position(|r| r.region == name && r.placement.is_some())
            {
                return root.key("nodes").key("regions").index(i).key("placement");
            }
        }
        main.key("placement")
    };
    match parts.as_slice() {
        ["profiles", "compute", service, "resources", resource, ..] => match container(service) {
            Some((base, _)) => base.key("resources").key(resource),
            None => root,
        },
        ["profiles", "compute", service, ..] => {
            container(service).map_or(root, |(b, _)| b.key("resources"))
        }
        ["profiles", "placement", name, "pricing", ..] => placement(name).key("maxPrice"),
        ["profiles", "placement", name, "attributes", ..] => placement(name).key("attributes"),
        ["profiles", "placement", name, ..] => placement(name),
        ["services", service, field, ..] => match (container(service), *field) {
            (Some((base, _)), "expose") => base.key("expose"),
            (Some((base, _)), "env") => base.key("env"),
            (Some((base, _)), "image") => base.key("image"),
            (Some((base, _)), "params") => base.key("resources").key("storage"),
            (Some((base, _)), _) => base,
            (None, _) => root,
        },
        ["deployment", service, ..] => match (container(service), spec) {
            (Some((_, true)), Spec::FunctionRuntime(_)) => root.key("nodes").key("count"),
            (Some((_, true)), Spec::Agent(_)) => root.key("replicas"),
            (Some((base, _)), _) => base,
            (None, _) => root,
        },
        _ => root,
    }
}

/// Keeps blank lines only before top-level keys (macros leave some elsewhere) and ends the
/// text with one newline.
fn tidy(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
    let mut out = String::with_capacity(raw.len());
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() {
            let next = lines[i + 1..].iter().find(|l| !l.is_empty());
            let before_top_level = next.is_some_and(|l| !l.starts_with(' '));
            if !before_top_level || out.is_empty() || out.ends_with("\n\n") {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Where a template directory is looked up: an explicit one, else none.
pub fn source_from(dir: Option<&Path>) -> TemplateSource {
    dir.map_or_else(TemplateSource::builtin, TemplateSource::with_dir)
}

/// The name of the leased-IP endpoint a rendered SDL declares when it needs one.
pub const LEASED_IP_ENDPOINT: &str = "leased-ip";

/// One `to` entry of an expose.
#[derive(Serialize)]
struct To {
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    global: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'static str>,
}

/// One SDL expose entry.
#[derive(Serialize)]
struct ExposeModel {
    port: u16,
    /// The SDL's `as` (`as` is a template keyword, hence the name).
    #[serde(skip_serializing_if = "Option::is_none")]
    external: Option<u16>,
    proto: &'static str,
    accept: Vec<String>,
    to: Vec<To>,
}

#[derive(Serialize)]
struct Container {
    name: String,
    main: bool,
    image: String,
    command: Vec<String>,
    args: Vec<String>,
    env: Vec<String>,
    port: Option<u16>,
    /// The exposes that follow from the container's `port` and `expose` (for sidecars and
    /// Agents; other kinds' templates expose their main service themselves).
    exposes: Vec<ExposeModel>,
    resources: Value,
    /// A FunctionRuntime node's placement (region) name.
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
}

/// The placement name of each FunctionRuntime node, in node order: the regions' counts in
/// order, or `global` for every node when there are no regions.
pub fn node_regions(nodes: &crate::spec::kinds::function_runtime::Nodes) -> Vec<String> {
    if nodes.regions.is_empty() {
        return vec!["global".to_string(); nodes.count as usize];
    }
    nodes
        .regions
        .iter()
        .flat_map(|r| std::iter::repeat_n(r.region.clone(), r.count as usize))
        .collect()
}

/// The generic exposure rules: the HTTP port on the ingress (port 80, hostnames accepted),
/// a sidecar's port to the main service, extra ports global or to the other services, and
/// global ports on the leased IP when asked.
fn exposes_of(
    main: bool,
    port: Option<u16>,
    expose: Option<&Expose>,
    others: &[String],
) -> Vec<ExposeModel> {
    let mut out = Vec::new();
    let ip = expose
        .is_some_and(|e| e.leased_ip)
        .then_some(LEASED_IP_ENDPOINT);
    let http = expose.and_then(|e| e.http).unwrap_or(main);
    let internal = |global: bool| -> Vec<To> {
        if global {
            return Vec::new();
        }
        others
            .iter()
            .map(|s| To {
                service: Some(s.clone()),
                global: false,
                ip: None,
            })
            .collect()
    };
    if let Some(port) = port {
        let mut to = if main { Vec::new() } else { internal(false) };
        let mut accept = Vec::new();
        if http {
            to.push(To {
                service: None,
                global: true,
                ip,
            });
            accept = expose.map(|e| e.hostnames.clone()).unwrap_or_default();
        }
        if !to.is_empty() {
            out.push(ExposeModel {
                port,
                external: http.then_some(80),
                proto: "tcp",
                accept,
                to,
            });
        }
    }
    for p in expose.map(|e| e.ports.as_slice()).unwrap_or_default() {
        let mut to = internal(p.global);
        if p.global {
            to.push(To {
                service: None,
                global: true,
                ip,
            });
        }
        if to.is_empty() {
            continue;
        }
        out.push(ExposeModel {
            port: p.port,
            external: p.external_port.filter(|_| p.global),
            proto: match p.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
            },
            accept: Vec::new(),
            to,
        });
    }
    out
}

fn env_list(
    project: &str,
    main: bool,
    env: &[EnvVar],
    port: Option<u16>,
    secrets: &dyn SecretResolver,
    holds: &mut bool,
) -> Result<Vec<String>, SecretError> {
    let mut out = Vec::with_capacity(env.len() + 1);
    for e in env {
        let value = match (&e.value, &e.secret_ref) {
            (Some(v), _) => v.clone(),
            (None, Some(r)) => {
                *holds = true;
                secrets.resolve(project, r)?
            }
            (None, None) => String::new(),
        };
        out.push(format!("{}={}", e.name, value));
    }
    // Hosting conventions: a main service that serves HTTP learns its port from PORT.
    if let Some(p) = port.filter(|_| main) {
        if !env.iter().any(|e| e.name == "PORT") {
            out.push(format!("PORT={p}"));
        }
    }
    Ok(out)
}

fn price(placement: Option<&Placement>) -> Value {
    match placement.and_then(|p| p.max_price.as_ref()) {
        Some(c) => json!({"amount": c.coin().amount, "denom": c.coin().denom}),
        None => json!({"amount": DEFAULT_MAX_PRICE, "denom": DEFAULT_DENOM}),
    }
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Compute resources for a template: every volume named, and the ephemeral root disk
/// (1Gi) added when the spec lists none, since Akash needs one.
fn resources_json(r: &ComputeResources) -> Value {
    let mut v = to_json(r);
    let mut storage: Vec<Value> = r
        .storage
        .iter()
        .map(|vol| {
            let mut j = to_json(vol);
            j["name"] = json!(vol.name());
            j
        })
        .collect();
    let has_root = r
        .storage
        .iter()
        .any(|vol| !vol.persistent && vol.class.is_none());
    if !has_root {
        storage.insert(0, json!({"name": "default", "size": "1Gi"}));
    }
    v["storage"] = Value::Array(storage);
    v
}

#[allow(clippy::too_many_arguments)]
fn container(
    project: &str,
    name: &str,
    main: bool,
    image: &str,
    command: &[String],
    args: &[String],
    env: &[EnvVar],
    port: Option<u16>,
    exposes: Vec<ExposeModel>,
    resources: Value,
    secrets: &dyn SecretResolver,
    holds: &mut bool,
) -> Result<Container, SecretError> {
    Ok(Container {
        name: name.to_string(),
        main,
        image: image.to_string(),
        command: command.to_vec(),
        args: args.to_vec(),
        env: env_list(project, main, env, port, secrets, holds)?,
        port,
        exposes,
        resources,
        region: None,
    })
}

fn sidecars(
    project: &str,
    main: &str,
    list: &[Sidecar],
    secrets: &dyn SecretResolver,
    holds: &mut bool,
    out: &mut Vec<Container>,
) -> Result<(), SecretError> {
    for c in list {
        let exposes = exposes_of(false, c.port, c.expose.as_ref(), &[main.to_string()]);
        out.push(container(
            project,
            &c.name,
            false,
            &c.image,
            &c.command,
            &c.args,
            &c.env,
            c.port,
            exposes,
            resources_json(&c.resources),
            secrets,
            holds,
        )?);
    }
    Ok(())
}

fn context(
    resource: &Resource,
    spec: &Spec,
    secrets: &dyn SecretResolver,
    ipfs_gateway: Option<&str>,
    holds: &mut bool,
) -> Result<Value, RenderError> {
    let project = resource.metadata.project.as_str();
    let mut containers = Vec::new();
    let mut placement = None;
    let mut regions = Value::Null;
    match spec {
        Spec::Agent(s) => {
            let others: Vec<String> = s.sidecars.iter().map(|c| c.name.clone()).collect();
            let exposes = exposes_of(true, s.port, s.expose.as_ref(), &others);
            containers.push(container(
                project,
                "app",
                true,
                &s.image,
                &s.command,
                &s.args,
                &s.env,
                s.port,
                exposes,
                resources_json(&s.resources),
                secrets,
                holds,
            )?);
            sidecars(project, "app", &s.sidecars, secrets, holds, &mut containers)?;
            placement = s.placement.as_ref();
        }
        Spec::SecretStore(s) => {
            containers.push(container(
                project,
                "secrets",
                true,
                &s.image,
                &[],
                &[],
                &s.env,
                Some(s.port),
                Vec::new(),
                resources_json(&s.resources),
                secrets,
                holds,
            )?);
            sidecars(
                project,
                "secrets",
                &s.sidecars,
                secrets,
                holds,
                &mut containers,
            )?;
            placement = s.placement.as_ref();
        }
        Spec::Proxy(s) => {
            // Pingap's admin API for the operator, with a password generated once and kept
            // sealed in the vault; configs hot-reloaded (README, "The Proxy's routes").
            let mut env = s.env.clone();
            let owned = [
                "PINGAP_ADMIN_ADDR",
                "PINGAP_ADMIN_USER",
                "PINGAP_ADMIN_PASSWORD",
                "PINGAP_AUTORELOAD",
                "PINGAP_AUTORESTART",
            ];
            env.retain(|e| !owned.contains(&e.name.as_str()));
            let plain = |k: &str, v: String| EnvVar {
                name: k.to_string(),
                value: Some(v),
                secret_ref: None,
            };
            env.push(plain(
                "PINGAP_ADMIN_ADDR",
                format!("0.0.0.0:{}", s.admin_port),
            ));
            env.push(plain("PINGAP_ADMIN_USER", crate::proxy::ADMIN_USER.into()));
            env.push(EnvVar {
                name: "PINGAP_ADMIN_PASSWORD".into(),
                value: None,
                secret_ref: Some(crate::spec::common::SecretRef {
                    store: OPERATOR_STORE.into(),
                    key: crate::proxy::admin_password_key(&resource.metadata.name),
                }),
            });
            env.push(plain("PINGAP_AUTORELOAD", "true".into()));
            env.push(plain("PINGAP_AUTORESTART", "true".into()));
            containers.push(container(
                project,
                "proxy",
                true,
                &s.image,
                &[],
                &[],
                &env,
                None,
                Vec::new(),
                resources_json(&s.resources),
                secrets,
                holds,
            )?);
            placement = s.placement.as_ref();
        }
        Spec::FunctionRuntime(s) => {
            // One SDL service per node, so that every node is its own runtime with its own
            // URI, `AF_NODE` and state (README, "The runtime contract, v1").
            let region_of = node_regions(&s.nodes);
            let domain = s.wildcard_domain.trim_start_matches("*.").to_string();
            let name = &resource.metadata.name;
            for (i, region) in region_of.iter().enumerate() {
                let node = runtime_node_name(i as u32);
                let mut env = s.env.clone();
                let mut add = |k: &str, v: &str| {
                    if !env.iter().any(|e| e.name == k) {
                        env.push(EnvVar {
                            name: k.to_string(),
                            value: Some(v.to_string()),
                            secret_ref: None,
                        });
                    }
                };
                add(RUNTIME_CONTRACT_ENV, RUNTIME_CONTRACT_VERSION);
                add("AF_WILDCARD_DOMAIN", &domain);
                add("AF_NODE", &node);
                if let Some(g) = ipfs_gateway {
                    add("AF_IPFS_GATEWAY", g);
                }
                env.retain(|e| e.name != "AF_RUNTIME_TOKEN");
                env.push(EnvVar {
                    name: "AF_RUNTIME_TOKEN".into(),
                    value: None,
                    secret_ref: Some(crate::spec::common::SecretRef {
                        store: OPERATOR_STORE.into(),
                        key: runtime_token_key(name),
                    }),
                });
                let mut c = container(
                    project,
                    &node,
                    true,
                    &s.image,
                    &[],
                    &[],
                    &env,
                    Some(s.port),
                    Vec::new(),
                    resources_json(&s.resources),
                    secrets,
                    holds,
                )?;
                c.region = Some(region.clone());
                containers.push(c);
            }
            placement = s.placement.as_ref();
            let base_attrs = placement.map(|p| p.attributes.clone()).unwrap_or_default();
            regions = if s.nodes.regions.is_empty() {
                json!([{"name": "global", "count": s.nodes.count, "attributes": base_attrs,
                        "auditors": placement.and_then(|p| p.auditors.as_ref()).map(to_json),
                        "price": price(placement)}])
            } else {
                Value::Array(
                    s.nodes
                        .regions
                        .iter()
                        .map(|r| {
                            let over = r.placement.as_ref();
                            let mut attrs = base_attrs.clone();
                            if let Some(o) = over {
                                attrs.extend(o.attributes.clone());
                            }
                            attrs.insert("region".into(), r.region.clone());
                            let auditors = over
                                .and_then(|o| o.auditors.as_ref())
                                .or_else(|| placement.and_then(|p| p.auditors.as_ref()));
                            let price = if over.is_some_and(|o| o.max_price.is_some()) {
                                price(over)
                            } else {
                                price(placement)
                            };
                            json!({"name": r.region, "count": r.count, "attributes": attrs,
                                   "auditors": auditors.map(to_json), "price": price})
                        })
                        .collect(),
                )
            };
        }
        Spec::Site(s) => {
            let Some(g) = s
                .gateway
                .as_ref()
                .filter(|g| g.mode == GatewayMode::Dedicated)
            else {
                return Err(RenderError::NotDeployed {
                    kind: Kind::Site,
                    name: resource.metadata.name.clone(),
                    why: "it is served by a shared gateway (set `gateway.mode: dedicated` to deploy one)",
                });
            };
            containers.push(container(
                project,
                "gateway",
                true,
                g.image.as_deref().unwrap_or_default(),
                &[],
                &[],
                &[],
                None,
                Vec::new(),
                g.resources
                    .as_ref()
                    .map(resources_json)
                    .unwrap_or(Value::Null),
                secrets,
                holds,
            )?);
            placement = g.placement.as_ref();
        }
        Spec::Function(_) | Spec::DnsZone(_) => {}
    }
    let uses_ip = containers
        .iter()
        .flat_map(|c| &c.exposes)
        .flat_map(|e| &e.to)
        .any(|t| t.ip.is_some());
    Ok(json!({
        "name": resource.metadata.name,
        "uses_leased_ip": uses_ip,
        "leased_ip": LEASED_IP_ENDPOINT,
        "project": project,
        "kind": resource.kind.as_str(),
        "spec": resource.spec,
        "containers": containers,
        "placement": placement.map(to_json).unwrap_or_else(|| json!({})),
        "price": price(placement),
        "regions": regions,
    }))
}
