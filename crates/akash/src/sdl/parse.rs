//! Reading an SDL document into typed input, checking its structure and values.
//!
//! The rules are those of Akash's Go parser (`go/sdl/*.go`) together with those of the
//! published input schema; the module documentation of `sdl` lists where they differ and
//! which side this module follows. Checks that relate different parts of the SDL live in
//! `validate.rs`.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::time::Duration;

use super::error::{Issues, Path};
use super::names::{
    check_accept_item, check_denom, check_env_name, closest, valid_attribute_key,
    valid_endpoint_name, valid_service_name,
};
use super::order::{self, sort_volumes};
use super::types::{Attribute, SignedBy};
use super::units;
use super::yaml::{Kind, Node};

/// The SDL versions this module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdlVersion {
    /// `version: "2.0"`: every (service, placement) pair is its own resource unit.
    V2_0,
    /// `version: "2.1"`: services of a placement that share a compute profile share a unit.
    V2_1,
}

/// Entries under distinct names, sorted by name (the order a `BTreeMap` iterates in), in
/// one vector: a lookup is a binary search and building one is a single allocation.
/// The names are distinct because the reader skips a repeated key (and reports it).
#[derive(Debug)]
pub(crate) struct Named<'a, T>(Vec<(&'a str, T)>);

impl<T> Default for Named<'_, T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<'a, T> Named<'a, T> {
    /// The entries of `items`, sorted by name.
    fn new(mut items: Vec<(&'a str, T)>) -> Self {
        items.sort_by(|a, b| a.0.cmp(b.0));
        Named(items)
    }

    /// Where `key` is in name order.
    pub(crate) fn index_of(&self, key: &str) -> Option<usize> {
        self.0.binary_search_by(|(k, _)| (*k).cmp(key)).ok()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&T> {
        self.index_of(key).map(|i| &self.0[i].1)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.index_of(key).is_some()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'a str, &T)> + '_ {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.0.iter().map(|(k, _)| *k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|(_, v)| v)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'s, 'a, T> IntoIterator for &'s Named<'a, T> {
    type Item = (&'a str, &'s T);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'s, (&'a str, T)>,
        fn(&'s (&'a str, T)) -> (&'a str, &'s T),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

/// The SDL as read, before groups and manifest are built. Its texts borrow from the
/// document's tree.
#[derive(Debug)]
pub(crate) struct Input<'a> {
    pub version: SdlVersion,
    pub services: Named<'a, Service<'a>>,
    pub compute: Named<'a, Compute<'a>>,
    pub placements: Named<'a, Placement<'a>>,
    /// Service name to placement name to deployment.
    pub deployment: Named<'a, Named<'a, Deploy<'a>>>,
    /// Endpoint names, sorted.
    pub endpoints: Named<'a, ()>,
    pub reclamation: Option<Duration>,
}

#[derive(Debug, Default)]
pub(crate) struct Service<'a> {
    pub image: &'a str,
    pub command: Option<Vec<&'a str>>,
    pub args: Option<Vec<&'a str>>,
    pub env: Option<Vec<&'a str>>,
    pub expose: Vec<Expose<'a>>,
    pub params: Option<Params<'a>>,
    pub credentials: Option<Credentials<'a>>,
}

#[derive(Debug, Default)]
pub(crate) struct Expose<'a> {
    pub port: u32,
    /// `as`; 0 when absent.
    pub external_port: u32,
    /// `TCP` or `UDP`.
    pub proto: &'static str,
    pub to: Vec<ExposeTo<'a>>,
    pub accept: Option<Vec<&'a str>>,
    pub http: HttpOptionsIn<'a>,
}

#[derive(Debug, Default)]
pub(crate) struct ExposeTo<'a> {
    pub service: &'a str,
    pub global: bool,
    pub ip: &'a str,
}

/// http_options with Go's defaults applied.
#[derive(Clone, Debug)]
pub(crate) struct HttpOptionsIn<'a> {
    pub max_body_size: u32,
    pub read_timeout: u32,
    pub send_timeout: u32,
    pub next_tries: u32,
    pub next_timeout: u32,
    /// `None` for Go's default cases ([`DEFAULT_NEXT_CASES`]).
    pub next_cases: Option<Vec<&'a str>>,
    pub proxy_buffer_size: u32,
}

/// Go's `next_cases` when the SDL gives none.
pub(crate) const DEFAULT_NEXT_CASES: [&str; 2] = ["error", "timeout"];

impl Default for HttpOptionsIn<'_> {
    /// Go's defaults.
    fn default() -> Self {
        HttpOptionsIn {
            max_body_size: 1_048_576,
            read_timeout: 60_000,
            send_timeout: 60_000,
            next_tries: 3,
            next_timeout: 0,
            next_cases: None,
            proxy_buffer_size: 0,
        }
    }
}

impl HttpOptionsIn<'_> {
    pub(crate) fn next_cases(&self) -> &[&str] {
        self.next_cases.as_deref().unwrap_or(&DEFAULT_NEXT_CASES)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Params<'a> {
    /// Volume name to (mount, read-only).
    pub storage: Named<'a, (&'a str, bool)>,
    pub permissions: Option<Vec<&'a str>>,
    pub tee: Option<&'a str>,
}

#[derive(Debug, Default)]
pub(crate) struct Credentials<'a> {
    pub host: &'a str,
    pub email: &'a str,
    pub username: &'a str,
    pub password: &'a str,
}

#[derive(Debug, Default)]
pub(crate) struct Compute<'a> {
    /// Millicores; `None` when the value was refused.
    pub cpu: Option<u64>,
    pub cpu_attributes: Vec<Attribute>,
    pub memory: Option<u64>,
    pub storage: Vec<Volume<'a>>,
    pub gpu: Option<u64>,
    pub gpu_attributes: Vec<Attribute>,
}

#[derive(Debug, Default)]
pub(crate) struct Volume<'a> {
    pub name: &'a str,
    pub size: Option<u64>,
    pub attributes: Vec<Attribute>,
}

impl Volume<'_> {
    pub(crate) fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Whether the volume is persistent, read as Go's `strconv.ParseBool`.
    pub(crate) fn persistent(&self) -> bool {
        self.attribute("persistent").and_then(order::go_parse_bool) == Some(true)
    }

    pub(crate) fn class(&self) -> Option<&str> {
        self.attribute("class")
    }
}

#[derive(Debug, Default)]
pub(crate) struct Placement<'a> {
    pub attributes: Vec<Attribute>,
    pub signed_by: SignedBy,
    /// Compute profile name to price; `None` when the price was refused.
    pub pricing: Named<'a, Option<Price<'a>>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Price<'a> {
    pub denom: &'a str,
    /// The amount scaled by 10^18.
    pub scaled: u128,
}

#[derive(Debug, Default)]
pub(crate) struct Deploy<'a> {
    pub profile: &'a str,
    pub count: Option<u32>,
}

/// Valid `http_options.next_cases` values.
const NEXT_CASES: [&str; 10] = [
    "error", "timeout", "500", "502", "503", "504", "403", "404", "429", "off",
];

const STORAGE_CLASSES: [&str; 5] = ["default", "beta1", "beta2", "beta3", "ram"];

/// Reads the whole document. Problems go to `issues`; the returned input holds what could
/// be read and is only used when `issues` stays empty.
pub(crate) fn read<'n>(root: &'n Node<'n>, issues: &mut Issues) -> Input<'n> {
    Reader {
        issues,
        tree: PhantomData,
    }
    .document(root)
}

/// Reads a tree borrowed for `'n`; what it reads borrows its texts from the tree.
struct Reader<'i, 'n> {
    issues: &'i mut Issues,
    tree: PhantomData<&'n ()>,
}

type Entries<'n> = [(Node<'n>, Node<'n>)];

fn key_text<'n>(key: &'n Node<'n>) -> Option<&'n str> {
    match key {
        Node::Scalar(Kind::Null, _, _) => Some(""),
        Node::Scalar(_, text, _) => Some(text),
        _ => None,
    }
}

/// Finds repeated keys of a mapping, its entries visited in order. SDL mappings have a
/// handful of keys, where comparing with the earlier ones is cheaper than hashing; a large
/// mapping (the node limit allows tens of thousands of keys) uses a hash set, so the check
/// stays linear.
enum Seen<'n> {
    Few(&'n Entries<'n>),
    Many(HashSet<&'n str>),
}

impl<'n> Seen<'n> {
    fn new(entries: &'n Entries<'n>) -> Self {
        if entries.len() <= 16 {
            Seen::Few(entries)
        } else {
            Seen::Many(HashSet::with_capacity(entries.len()))
        }
    }

    /// Whether `key`, the key of entry `i`, is the key of an earlier entry.
    fn repeated(&mut self, i: usize, key: &'n str) -> bool {
        match self {
            Seen::Few(entries) => entries[..i].iter().any(|(k, _)| key_text(k) == Some(key)),
            Seen::Many(set) => !set.insert(key),
        }
    }
}

/// The entries of a mapping whose keys are names, in order, without the repeated ones
/// (which `check_keys` reports) and those whose key is not a scalar.
struct NamedEntries<'n> {
    entries: &'n Entries<'n>,
    next: usize,
    seen: Seen<'n>,
}

impl<'n> NamedEntries<'n> {
    fn new(entries: &'n Entries<'n>) -> Self {
        NamedEntries {
            entries,
            next: 0,
            seen: Seen::new(entries),
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<'n> Iterator for NamedEntries<'n> {
    type Item = (&'n str, &'n Node<'n>);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some((k, v)) = self.entries.get(self.next) {
            let i = self.next;
            self.next += 1;
            if let Some(key) = key_text(k) {
                if !self.seen.repeated(i, key) {
                    return Some((key, v));
                }
            }
        }
        None
    }
}

fn get<'n>(entries: &'n Entries<'n>, key: &str) -> Option<&'n Node<'n>> {
    entries
        .iter()
        .find(|(k, _)| key_text(k) == Some(key))
        .map(|(_, v)| v)
        // A key with no value is treated as absent, as Go's decoder leaves the field unset.
        .filter(|v| !v.is_null())
}

impl<'n> Reader<'_, 'n> {
    fn issue(&mut self, path: &Path, message: impl Into<String>) {
        self.issues.push(path, message);
    }

    /// The entries of a mapping; `None` (with an issue) when the node is something else.
    fn mapping(&mut self, node: &'n Node<'n>, path: &Path) -> Option<&'n Entries<'n>> {
        match node {
            Node::Map(entries, _) => Some(entries),
            Node::Scalar(Kind::Null, _, _) => Some(&[]),
            other => {
                self.issue(
                    path,
                    format!("expected a mapping, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// Refuses keys outside `allowed`, duplicate keys and keys that are not scalars.
    fn check_keys(&mut self, entries: &Entries, path: &Path, allowed: &[&str]) {
        let mut seen = Seen::new(entries);
        for (i, (k, _)) in entries.iter().enumerate() {
            let Some(key) = key_text(k) else {
                self.issue(
                    path,
                    format!("keys must be scalars, found {}", k.type_name()),
                );
                continue;
            };
            if seen.repeated(i, key) {
                self.issue(&path.key(key), "duplicate key");
                continue;
            }
            if !allowed.is_empty() && !allowed.contains(&key) {
                let mut msg = format!("unknown key {key:?}");
                if let Some(near) = closest(key, allowed) {
                    msg.push_str(&format!(" (did you mean {near:?}?)"));
                }
                msg.push_str(&format!("; valid keys are: {}", allowed.join(", ")));
                self.issue(&path.key(key), msg);
            }
        }
    }

    /// Entries of a mapping whose keys are names chosen by the author; refuses duplicates.
    fn named(&mut self, node: &'n Node<'n>, path: &Path) -> NamedEntries<'n> {
        let Some(entries) = self.mapping(node, path) else {
            return NamedEntries::new(&[]);
        };
        self.check_keys(entries, path, &[]);
        NamedEntries::new(entries)
    }

    /// A scalar read as text, as Go reads any scalar into a string field (null is "").
    fn text(&mut self, node: &'n Node<'n>, path: &Path) -> Option<&'n str> {
        self.number_text(node, path)
    }

    /// The text of a scalar that is parsed as a float (CPU units, sizes). For a float
    /// scalar any text of the same value gives the same result, so this does not ask for
    /// its source text.
    fn number_text(&mut self, node: &'n Node<'n>, path: &Path) -> Option<&'n str> {
        match node {
            Node::Scalar(Kind::Null, _, _) => Some(""),
            Node::Scalar(_, text, _) => Some(text),
            other => {
                self.issue(
                    path,
                    format!("expected a string, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// A list of scalars read as text; null stays `None`.
    fn text_list(&mut self, node: &'n Node<'n>, path: &Path) -> Option<Vec<&'n str>> {
        match node {
            Node::Scalar(Kind::Null, _, _) => None,
            Node::Seq(items, _) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| self.text(item, &path.index(i)))
                    .collect(),
            ),
            other => {
                self.issue(
                    path,
                    format!("expected a list of strings, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// The items of a list; null is an empty list.
    fn list(&mut self, node: &'n Node<'n>, path: &Path) -> &'n [Node<'n>] {
        match node {
            Node::Seq(items, _) => items,
            Node::Scalar(Kind::Null, _, _) => &[],
            other => {
                self.issue(
                    path,
                    format!("expected a list, found {}", other.type_name()),
                );
                &[]
            }
        }
    }

    /// An integer within `min..=max`.
    fn int(&mut self, node: &'n Node<'n>, path: &Path, min: u64, max: u64) -> Option<u64> {
        match node {
            Node::Scalar(Kind::Int(v), _, _)
                if v.get() >= i128::from(min) && v.get() <= i128::from(max) =>
            {
                u64::try_from(v.get()).ok()
            }
            Node::Scalar(Kind::Int(_), text, _) => {
                self.issue(path, format!("must be between {min} and {max}, got {text}"));
                None
            }
            // Go's decoder takes a float with no fraction as an integer.
            Node::Scalar(Kind::Float(f), text, _) if f.fract() == 0.0 => {
                if *f >= min as f64 && *f <= max as f64 {
                    Some(*f as u64)
                } else {
                    self.issue(path, format!("must be between {min} and {max}, got {text}"));
                    None
                }
            }
            other => {
                let shown = match other {
                    Node::Scalar(_, text, _) if !text.is_empty() => format!(" {text:?}"),
                    _ => String::new(),
                };
                self.issue(
                    path,
                    format!(
                        "must be an integer between {min} and {max}, found {}{shown}",
                        other.type_name()
                    ),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &'n Node<'n>, path: &Path) -> Option<bool> {
        match node {
            Node::Scalar(Kind::Bool(b), _, _) => Some(*b),
            other => {
                self.issue(
                    path,
                    format!("must be true or false, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn document(&mut self, root: &'n Node<'n>) -> Input<'n> {
        let path = Path::root();
        let mut input = Input {
            version: SdlVersion::V2_0,
            services: Named::default(),
            compute: Named::default(),
            placements: Named::default(),
            deployment: Named::default(),
            endpoints: Named::default(),
            reclamation: None,
        };
        let entries = match root {
            Node::Map(entries, _) => entries.as_slice(),
            Node::Scalar(Kind::Null, _, _) => {
                self.issue(
                    path,
                    "the sdl is empty; it needs version, services, profiles and deployment",
                );
                return input;
            }
            other => {
                self.issue(
                    path,
                    format!("an sdl must be a mapping, found {}", other.type_name()),
                );
                return input;
            }
        };
        self.check_keys(
            entries,
            path,
            &[
                "version",
                "include",
                "services",
                "profiles",
                "deployment",
                "endpoints",
                "reclamation",
            ],
        );

        let vpath = path.key("version");
        match get(entries, "version") {
            None => self.issue(&vpath, "is required; use \"2.0\" or \"2.1\""),
            Some(v) => match self.text(v, &vpath) {
                Some("2.0") => input.version = SdlVersion::V2_0,
                Some("2.1") => input.version = SdlVersion::V2_1,
                Some(other) => self.issue(
                    &vpath,
                    format!("unsupported version {other:?}; use \"2.0\" or \"2.1\""),
                ),
                None => {}
            },
        }

        if let Some(node) = get(entries, "include") {
            let p = path.key("include");
            // Go reads and ignores the list; it must still be a list of strings.
            let _ = self.text_list(node, &p);
        }

        match get(entries, "services") {
            Some(node) => {
                let p = path.key("services");
                let named = self.named(node, &p);
                let mut services = Vec::with_capacity(named.len());
                for (name, svc) in named {
                    if !valid_service_name(name) {
                        self.issue(
                            &p.key(name),
                            format!("service name {name:?} is not valid; use lowercase letters, digits and '-', starting with a letter and not ending with '-'"),
                        );
                    }
                    let service = self.service(svc, &p.key(name));
                    services.push((name, service));
                }
                input.services = Named::new(services);
            }
            None => self.issue(&path.key("services"), "is required"),
        }

        match get(entries, "profiles") {
            Some(node) => self.profiles(node, &path.key("profiles"), &mut input),
            None => self.issue(&path.key("profiles"), "is required"),
        }

        match get(entries, "deployment") {
            Some(node) => {
                let p = path.key("deployment");
                let named = self.named(node, &p);
                let mut deployment = Vec::with_capacity(named.len());
                for (svc, placements) in named {
                    let sp = p.key(svc);
                    let named = self.named(placements, &sp);
                    let mut map = Vec::with_capacity(named.len());
                    for (placement, d) in named {
                        map.push((placement, self.deploy(d, &sp.key(placement))));
                    }
                    deployment.push((svc, Named::new(map)));
                }
                input.deployment = Named::new(deployment);
            }
            None => self.issue(
                &path.key("deployment"),
                "is required; it says which service runs in which placement with which profile",
            ),
        }

        if let Some(node) = get(entries, "endpoints") {
            let p = path.key("endpoints");
            let named = self.named(node, &p);
            let mut endpoints = Vec::with_capacity(named.len());
            for (name, ep) in named {
                let ep_path = p.key(name);
                if !valid_endpoint_name(name) {
                    self.issue(
                        &ep_path,
                        format!(
                            "endpoint name {name:?} is not valid; use lowercase letters first, then lowercase letters, digits, '-' or '_' (at least 2 characters)"
                        ),
                    );
                }
                if let Some(e) = self.mapping(ep, &ep_path) {
                    self.check_keys(e, &ep_path, &["kind"]);
                    match get(e, "kind") {
                        None => self.issue(&ep_path.key("kind"), "is required; use \"ip\""),
                        Some(k) => {
                            let kp = ep_path.key("kind");
                            if let Some(kind) = self.text(k, &kp) {
                                if kind != "ip" {
                                    self.issue(
                                        &kp,
                                        format!("unknown endpoint kind {kind:?}; the only kind is \"ip\""),
                                    );
                                }
                            }
                        }
                    }
                }
                endpoints.push((name, ()));
            }
            input.endpoints = Named::new(endpoints);
        }

        if let Some(node) = get(entries, "reclamation") {
            let p = path.key("reclamation");
            if let Some(e) = self.mapping(node, &p) {
                self.check_keys(e, &p, &["min_window"]);
                let wp = p.key("min_window");
                match get(e, "min_window") {
                    None => self.issue(&wp, "is required, e.g. \"24h\""),
                    Some(w) => {
                        if let Some(text) = self.text(w, &wp) {
                            match units::parse_min_window(text) {
                                Ok(d) => input.reclamation = Some(d),
                                Err(msg) => self.issue(&wp, msg),
                            }
                        }
                    }
                }
            }
        }

        input
    }

    fn service(&mut self, node: &'n Node<'n>, path: &Path) -> Service<'n> {
        let mut svc = Service::default();
        let Some(entries) = self.mapping(node, path) else {
            return svc;
        };
        self.check_keys(
            entries,
            path,
            &[
                "image",
                "command",
                "args",
                "env",
                "expose",
                "dependencies",
                "params",
                "credentials",
            ],
        );
        match get(entries, "image") {
            None => self.issue(&path.key("image"), "is required"),
            Some(n) => {
                let p = path.key("image");
                if let Some(image) = self.text(n, &p) {
                    if image.is_empty() {
                        self.issue(&p, "must not be empty");
                    }
                    svc.image = image;
                }
            }
        }
        if let Some(n) = get(entries, "command") {
            svc.command = self.text_list(n, &path.key("command"));
        }
        if let Some(n) = get(entries, "args") {
            svc.args = self.text_list(n, &path.key("args"));
        }
        if let Some(n) = get(entries, "env") {
            let p = path.key("env");
            svc.env = self.text_list(n, &p);
            for (i, var) in svc.env.iter().flatten().enumerate() {
                let name = var.split('=').next().unwrap_or("");
                if let Err(why) = check_env_name(name) {
                    self.issue(
                        &p.index(i),
                        format!("environment variable name {name:?} {why}"),
                    );
                }
            }
        }
        if let Some(n) = get(entries, "expose") {
            let p = path.key("expose");
            for (i, item) in self.list(n, &p).iter().enumerate() {
                let e = self.expose(item, &p.index(i));
                svc.expose.push(e);
            }
        }
        if let Some(n) = get(entries, "dependencies") {
            // Go ignores dependencies; they are checked for shape only.
            let p = path.key("dependencies");
            for (i, item) in self.list(n, &p).iter().enumerate() {
                let ip = p.index(i);
                if let Some(e) = self.mapping(item, &ip) {
                    self.check_keys(e, &ip, &["service"]);
                    if let Some(s) = get(e, "service") {
                        let _ = self.text(s, &ip.key("service"));
                    }
                }
            }
        }
        if let Some(n) = get(entries, "params") {
            svc.params = self.params(n, &path.key("params"));
        }
        if let Some(n) = get(entries, "credentials") {
            svc.credentials = self.credentials(n, &path.key("credentials"));
        }
        svc
    }

    fn expose(&mut self, node: &'n Node<'n>, path: &Path) -> Expose<'n> {
        let mut e = Expose {
            proto: "TCP",
            http: self.http_options(None, path),
            ..Expose::default()
        };
        let Some(entries) = self.mapping(node, path) else {
            return e;
        };
        self.check_keys(
            entries,
            path,
            &["port", "as", "proto", "to", "accept", "http_options"],
        );
        match get(entries, "port") {
            None => self.issue(&path.key("port"), "is required (1-65535)"),
            Some(n) => {
                if let Some(port) = self.int(n, &path.key("port"), 1, 65535) {
                    e.port = port as u32;
                }
            }
        }
        if let Some(n) = get(entries, "as") {
            let p = path.key("as");
            match self.int(n, &p, 1, 65535) {
                Some(port) => e.external_port = port as u32,
                None => self.issue(&p, "leave `as` out to use the same port as `port`"),
            }
        }
        if let Some(n) = get(entries, "proto") {
            let p = path.key("proto");
            if let Some(proto) = self.text(n, &p) {
                match proto {
                    "tcp" | "TCP" => e.proto = "TCP",
                    "udp" | "UDP" => e.proto = "UDP",
                    other => self.issue(
                        &p,
                        format!("unsupported protocol {other:?}; use tcp or udp"),
                    ),
                }
            }
        }
        if let Some(n) = get(entries, "to") {
            let p = path.key("to");
            for (i, item) in self.list(n, &p).iter().enumerate() {
                let to = self.expose_to(item, &p.index(i));
                e.to.push(to);
            }
        }
        if let Some(n) = get(entries, "accept") {
            let p = path.key("accept");
            e.accept = self.text_list(n, &p);
            for (i, host) in e.accept.iter().flatten().enumerate() {
                // Go checks every service's hostnames as a URL when it reads the YAML; the
                // manifest's stricter hostname rule is checked for deployed services in
                // `validate`.
                if let Err(why) = check_accept_item(host) {
                    self.issue(
                        &p.index(i),
                        format!("{host:?} is not a valid accept hostname: {why}"),
                    );
                }
            }
        }
        if let Some(n) = get(entries, "http_options") {
            e.http = self.http_options(Some(n), &path.key("http_options"));
        }
        e
    }

    fn expose_to(&mut self, node: &'n Node<'n>, path: &Path) -> ExposeTo<'n> {
        let mut to = ExposeTo::default();
        let Some(entries) = self.mapping(node, path) else {
            return to;
        };
        self.check_keys(entries, path, &["service", "global", "ip"]);
        if let Some(n) = get(entries, "service") {
            to.service = self.text(n, &path.key("service")).unwrap_or_default();
        }
        if let Some(n) = get(entries, "global") {
            to.global = self.boolean(n, &path.key("global")).unwrap_or(false);
        }
        if let Some(n) = entries
            .iter()
            .find(|(k, _)| key_text(k) == Some("ip"))
            .map(|(_, v)| v)
        {
            let p = path.key("ip");
            if let Some(ip) = self.text(n, &p) {
                if ip.is_empty() {
                    self.issue(&p, "must not be empty; name an endpoint of kind ip");
                } else if !to.global {
                    self.issue(
                        &path.key("global"),
                        "must be true when `ip` is set (a leased IP is reachable from outside)",
                    );
                }
                to.ip = ip;
            }
        }
        to
    }

    /// http_options with Go's defaults and limits (`go/sdl/v2.go` `asManifest`).
    fn http_options(&mut self, node: Option<&'n Node<'n>>, path: &Path) -> HttpOptionsIn<'n> {
        let mut h = HttpOptionsIn::default();
        let Some(node) = node else {
            return h;
        };
        let Some(entries) = self.mapping(node, path) else {
            return h;
        };
        self.check_keys(
            entries,
            path,
            &[
                "max_body_size",
                "read_timeout",
                "send_timeout",
                "next_tries",
                "next_timeout",
                "next_cases",
                "proxy_buffer_size",
            ],
        );
        let number = |r: &mut Self, key: &str, max: u64, default: u32, zero_default: bool| {
            let Some(n) = get(entries, key) else {
                return default;
            };
            match r.int(n, &path.key(key), 0, max) {
                // Go treats 0 as "not set" for the options that have a default.
                Some(0) if zero_default => default,
                Some(v) => v as u32,
                None => default,
            }
        };
        h.max_body_size = number(self, "max_body_size", 104_857_600, h.max_body_size, true);
        h.read_timeout = number(self, "read_timeout", 60_000, h.read_timeout, true);
        h.send_timeout = number(self, "send_timeout", 60_000, h.send_timeout, true);
        h.next_tries = number(self, "next_tries", u64::from(u32::MAX), h.next_tries, true);
        h.next_timeout = number(self, "next_timeout", u64::from(u32::MAX), 0, false);
        h.proxy_buffer_size = number(self, "proxy_buffer_size", 1_048_576, 0, false);
        if let Some(n) = get(entries, "next_cases") {
            let p = path.key("next_cases");
            let cases = self.text_list(n, &p).unwrap_or_default();
            let mut ok = true;
            for (i, case) in cases.iter().enumerate() {
                if !NEXT_CASES.contains(case) {
                    ok = false;
                    self.issue(
                        &p.index(i),
                        format!(
                            "unknown case {case:?}; valid cases are: {}",
                            NEXT_CASES.join(", ")
                        ),
                    );
                }
            }
            if cases.len() > 1 && cases.contains(&"off") {
                ok = false;
                self.issue(&p, "\"off\" must be the only case when it is given");
            }
            if ok && !cases.is_empty() {
                h.next_cases = Some(cases);
            }
        }
        h
    }

    fn params(&mut self, node: &'n Node<'n>, path: &Path) -> Option<Params<'n>> {
        let entries = self.mapping(node, path)?;
        self.check_keys(entries, path, &["storage", "permissions", "tee"]);
        let mut params = Params::default();
        if let Some(n) = get(entries, "storage") {
            let p = path.key("storage");
            let mut mounts: HashMap<&str, &str> = HashMap::new();
            let named = self.named(n, &p);
            let mut storage = Vec::with_capacity(named.len());
            for (name, vol) in named {
                let vp = p.key(name);
                let Some(e) = self.mapping(vol, &vp) else {
                    continue;
                };
                self.check_keys(e, &vp, &["mount", "readOnly"]);
                let mut mount = "";
                match get(e, "mount") {
                    None => self.issue(
                        &vp.key("mount"),
                        "is required: an absolute path such as /data",
                    ),
                    Some(m) => {
                        let mp = vp.key("mount");
                        if let Some(m) = self.text(m, &mp) {
                            if !m.starts_with('/') {
                                self.issue(
                                    &mp,
                                    format!("{m:?} is not an absolute path; it must start with /"),
                                );
                            } else if let Some(other) = mounts.get(m) {
                                self.issue(
                                    &mp,
                                    format!("mount {m:?} is already used by volume {other:?}"),
                                );
                            } else {
                                mounts.insert(m, name);
                            }
                            mount = m;
                        }
                    }
                }
                let read_only = match get(e, "readOnly") {
                    Some(b) => self.boolean(b, &vp.key("readOnly")).unwrap_or(false),
                    None => false,
                };
                storage.push((name, (mount, read_only)));
            }
            params.storage = Named::new(storage);
        }
        if let Some(n) = get(entries, "permissions") {
            let p = path.key("permissions");
            if let Some(e) = self.mapping(n, &p) {
                self.check_keys(e, &p, &["read"]);
                let mut read = Vec::new();
                if let Some(r) = get(e, "read") {
                    let rp = p.key("read");
                    read = self.text_list(r, &rp).unwrap_or_default();
                    for (i, item) in read.iter().enumerate() {
                        if !["deployment", "logs", "events"].contains(item) {
                            self.issue(
                                &rp.index(i),
                                format!(
                                    "unknown permission {item:?}; use deployment, logs or events"
                                ),
                            );
                        }
                    }
                }
                params.permissions = Some(read);
            }
        }
        if let Some(n) = get(entries, "tee") {
            let p = path.key("tee");
            if let Some(tee) = self.text(n, &p) {
                if tee == "cpu" || tee == "cpu-gpu" {
                    params.tee = Some(tee);
                } else {
                    self.issue(
                        &p,
                        format!("unsupported tee type {tee:?}; use cpu or cpu-gpu"),
                    );
                }
            }
        }
        Some(params)
    }

    fn credentials(&mut self, node: &'n Node<'n>, path: &Path) -> Option<Credentials<'n>> {
        let entries = self.mapping(node, path)?;
        self.check_keys(entries, path, &["host", "email", "username", "password"]);
        let field = |r: &mut Self, key: &str, required: bool, min: usize| -> &'n str {
            let p = path.key(key);
            let Some(n) = get(entries, key) else {
                if required {
                    r.issue(&p, "is required");
                }
                return "";
            };
            let value = r.text(n, &p).unwrap_or_default();
            if value.trim().is_empty() && required {
                r.issue(&p, "must not be empty");
            } else if value.chars().count() < min {
                r.issue(&p, format!("must be at least {min} characters long"));
            }
            value
        };
        Some(Credentials {
            host: field(self, "host", true, 1),
            email: field(self, "email", false, 5),
            username: field(self, "username", true, 1),
            password: field(self, "password", true, 6),
        })
    }

    fn profiles(&mut self, node: &'n Node<'n>, path: &Path, input: &mut Input<'n>) {
        let Some(entries) = self.mapping(node, path) else {
            return;
        };
        self.check_keys(entries, path, &["compute", "placement"]);
        match get(entries, "compute") {
            None => self.issue(&path.key("compute"), "is required"),
            Some(n) => {
                let p = path.key("compute");
                let named = self.named(n, &p);
                let mut compute = Vec::with_capacity(named.len());
                for (name, profile) in named {
                    let c = self.compute(profile, &p.key(name));
                    compute.push((name, c));
                }
                input.compute = Named::new(compute);
            }
        }
        match get(entries, "placement") {
            None => self.issue(&path.key("placement"), "is required"),
            Some(n) => {
                let p = path.key("placement");
                let named = self.named(n, &p);
                let mut placements = Vec::with_capacity(named.len());
                for (name, placement) in named {
                    let pl = self.placement(placement, &p.key(name));
                    placements.push((name, pl));
                }
                input.placements = Named::new(placements);
            }
        }
    }

    fn compute(&mut self, node: &'n Node<'n>, path: &Path) -> Compute<'n> {
        let mut c = Compute {
            gpu: Some(0),
            ..Compute::default()
        };
        let Some(entries) = self.mapping(node, path) else {
            return c;
        };
        self.check_keys(entries, path, &["resources"]);
        let path = &path.key("resources");
        let Some(node) = get(entries, "resources") else {
            self.issue(path, "is required (cpu, memory and storage)");
            return c;
        };
        let Some(entries) = self.mapping(node, path) else {
            return c;
        };
        self.check_keys(entries, path, &["cpu", "gpu", "memory", "storage"]);

        match get(entries, "cpu") {
            None => self.issue(&path.key("cpu"), "is required, e.g. `cpu: {units: 0.5}`"),
            Some(n) => self.cpu(n, &path.key("cpu"), &mut c),
        }
        match get(entries, "memory") {
            None => self.issue(
                &path.key("memory"),
                "is required, e.g. `memory: {size: 512Mi}`",
            ),
            Some(n) => {
                let p = path.key("memory");
                if let Some(e) = self.mapping(n, &p) {
                    self.check_keys(e, &p, &["size"]);
                    match get(e, "size") {
                        None => self.issue(&p.key("size"), "is required, e.g. 512Mi"),
                        Some(s) => c.memory = self.size(s, &p.key("size"), false),
                    }
                }
            }
        }
        match get(entries, "storage") {
            None => self.issue(
                &path.key("storage"),
                "is required, e.g. `storage: {size: 1Gi}`",
            ),
            Some(n) => c.storage = self.storage(n, &path.key("storage")),
        }
        if let Some(n) = get(entries, "gpu") {
            self.gpu(n, &path.key("gpu"), &mut c);
        }
        c
    }

    fn size(&mut self, node: &'n Node<'n>, path: &Path, binary_only: bool) -> Option<u64> {
        let text = self.number_text(node, path)?;
        match units::parse_size(text, binary_only) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.issue(path, msg);
                None
            }
        }
    }

    fn cpu(&mut self, node: &'n Node<'n>, path: &Path, c: &mut Compute<'n>) {
        let Some(entries) = self.mapping(node, path) else {
            return;
        };
        self.check_keys(entries, path, &["units", "attributes"]);
        let up = path.key("units");
        match get(entries, "units") {
            None => self.issue(
                &up,
                "is required: cores such as 0.5 or millicores such as \"500m\"",
            ),
            Some(n) => {
                if let Some(text) = self.number_text(n, &up) {
                    match units::parse_cpu_millis(text) {
                        Ok(0) => self.issue(
                            &up,
                            format!("must be at least 10 millicores (\"10m\" or 0.01), got {text}"),
                        ),
                        Ok(m) => c.cpu = Some(m),
                        Err(msg) => self.issue(&up, msg),
                    }
                }
            }
        }
        if let Some(n) = get(entries, "attributes") {
            let ap = path.key("attributes");
            if let Some(e) = self.mapping(n, &ap) {
                self.check_keys(e, &ap, &["arch"]);
                if let Some(v) = get(e, "arch") {
                    if let Some(arch) = self.text(v, &ap.key("arch")) {
                        c.cpu_attributes.push(Attribute::new("arch", arch));
                    }
                }
            }
        }
    }

    fn storage(&mut self, node: &'n Node<'n>, path: &Path) -> Vec<Volume<'n>> {
        let mut volumes = Vec::new();
        match node {
            Node::Seq(items, _) => {
                if items.is_empty() {
                    self.issue(path, "needs at least one volume");
                }
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.volume(item, &path.index(i), false) {
                        volumes.push(v);
                    }
                }
            }
            Node::Map(..) => {
                if let Some(v) = self.volume(node, path, true) {
                    volumes.push(v);
                }
            }
            other => self.issue(
                path,
                format!(
                    "expected a volume or a list of volumes, found {}",
                    other.type_name()
                ),
            ),
        }
        let mut names: HashSet<&str> = HashSet::with_capacity(volumes.len());
        for v in &volumes {
            if !names.insert(v.name) {
                self.issue(
                    path,
                    format!("volume name {:?} is used more than once", v.name),
                );
            }
        }
        sort_volumes(&mut volumes);
        volumes
    }

    fn volume(&mut self, node: &'n Node<'n>, path: &Path, single: bool) -> Option<Volume<'n>> {
        let entries = self.mapping(node, path)?;
        self.check_keys(entries, path, &["name", "size", "attributes"]);
        let mut v = Volume::default();
        if let Some(n) = get(entries, "name") {
            v.name = self.text(n, &path.key("name")).unwrap_or_default();
        }
        // Go names a single volume "default" whatever it says, and an unnamed list item too.
        if single || v.name.is_empty() {
            v.name = "default";
        }
        match get(entries, "size") {
            None => self.issue(&path.key("size"), "is required, e.g. 1Gi"),
            Some(n) => v.size = self.size(n, &path.key("size"), false),
        }
        if let Some(n) = get(entries, "attributes") {
            v.attributes = self.storage_attributes(n, &path.key("attributes"));
        }
        Some(v)
    }

    /// Storage attributes as Go's `v2StorageAttributes.UnmarshalYAML`: `persistent` defaults to
    /// false, `class` to `default` for persistent volumes; `ram` must not be persistent and
    /// other classes must be.
    fn storage_attributes(&mut self, node: &'n Node<'n>, path: &Path) -> Vec<Attribute> {
        let Some(entries) = self.mapping(node, path) else {
            return Vec::new();
        };
        self.check_keys(entries, path, &["class", "persistent"]);
        // The first readable value of each key, as written.
        let (mut class, mut persistent): (Option<&str>, Option<&str>) = (None, None);
        for (k, v) in entries {
            let (key, slot) = match key_text(k) {
                Some("class") => ("class", &mut class),
                Some("persistent") => ("persistent", &mut persistent),
                _ => continue,
            };
            if slot.is_none() {
                *slot = self.text(v, &path.key(key));
            }
        }
        // Go decides on the text as written, before normalising yes/on/no/off.
        let persistent = persistent.unwrap_or("false");
        match class.unwrap_or("") {
            "" => {
                if persistent == "true" {
                    class = Some("default");
                }
            }
            "ram" => {
                if persistent != "false" {
                    self.issue(
                        &path.key("persistent"),
                        "storage of class ram cannot be persistent",
                    );
                }
            }
            class => {
                if persistent == "false" {
                    self.issue(
                        &path.key("persistent"),
                        format!(
                            "storage of class {class:?} must be persistent (persistent: true); only class ram is ephemeral"
                        ),
                    );
                }
            }
        }
        let mut attrs = Vec::with_capacity(2);
        if let Some(class) = class {
            if STORAGE_CLASSES.contains(&class) {
                attrs.push(Attribute::new("class", class));
            } else {
                self.issue(
                    &path.key("class"),
                    format!(
                        "unknown storage class {class:?}; valid classes are: {}",
                        STORAGE_CLASSES.join(", ")
                    ),
                );
            }
        }
        match persistent {
            "true" | "on" | "yes" => attrs.push(Attribute::new("persistent", "true")),
            "false" | "off" | "no" => attrs.push(Attribute::new("persistent", "false")),
            other => self.issue(
                &path.key("persistent"),
                format!("{other:?} is not a boolean; use true or false"),
            ),
        }
        attrs
    }

    fn gpu(&mut self, node: &'n Node<'n>, path: &Path, c: &mut Compute<'n>) {
        let Some(entries) = self.mapping(node, path) else {
            return;
        };
        self.check_keys(entries, path, &["units", "attributes"]);
        let up = path.key("units");
        let units = match get(entries, "units") {
            None => Some(0),
            Some(n) => self.text(n, &up).and_then(|t| {
                units::parse_gpu_units(t)
                    .map_err(|msg| self.issue(&up, msg))
                    .ok()
            }),
        };
        c.gpu = units;
        let ap = path.key("attributes");
        let attributes = get(entries, "attributes");
        match (units, attributes) {
            (Some(u), None) if u > 0 => self.issue(
                &ap,
                "are required when units > 0, e.g. `attributes: {vendor: {nvidia: [{model: a100}]}}`",
            ),
            (Some(0), Some(_)) => {
                self.issue(&up, "must be greater than zero when attributes are given")
            }
            _ => {}
        }
        let Some(attributes) = attributes else {
            return;
        };
        let Some(e) = self.mapping(attributes, &ap) else {
            return;
        };
        self.check_keys(e, &ap, &["vendor"]);
        let vp = ap.key("vendor");
        let Some(vendor) = get(e, "vendor") else {
            self.issue(&vp, "is required: at least one vendor must be set (nvidia)");
            return;
        };
        let Some(ve) = self.mapping(vendor, &vp) else {
            return;
        };
        self.check_keys(ve, &vp, &["nvidia"]);
        if ve.is_empty() {
            self.issue(&vp, "must name at least one vendor (nvidia)");
            return;
        }
        let mut attrs = Vec::new();
        let mut keys: HashSet<String> = HashSet::new();
        if let Some(list) = get(ve, "nvidia") {
            let np = vp.key("nvidia");
            for (i, item) in self.list(list, &np).iter().enumerate() {
                let ip = np.index(i);
                let Some(m) = self.mapping(item, &ip) else {
                    continue;
                };
                self.check_keys(m, &ip, &["model", "ram", "interface"]);
                let mut key = String::from("vendor/nvidia/model/");
                if let Some(model) = get(m, "model") {
                    key.push_str(self.text(model, &ip.key("model")).unwrap_or_default());
                }
                if let Some(ram) = get(m, "ram") {
                    if let Some(bytes) = self.size(ram, &ip.key("ram"), true) {
                        key.push_str(&format!("/ram/{}Gi", bytes / units::GI));
                    }
                }
                if let Some(iface) = get(m, "interface") {
                    let fp = ip.key("interface");
                    if let Some(iface) = self.text(iface, &fp) {
                        if iface == "pcie" || iface == "sxm" {
                            key.push_str("/interface/");
                            key.push_str(iface);
                        } else {
                            self.issue(
                                &fp,
                                format!("unknown gpu interface {iface:?}; use pcie or sxm"),
                            );
                        }
                    }
                }
                if !valid_attribute_key(&key) {
                    self.issue(
                        &ip,
                        format!("gpu attribute {key:?} is not valid: model names may use letters, digits, '_', '-', '.' and '/' only"),
                    );
                }
                if !keys.insert(key.clone()) {
                    self.issue(&ip, format!("gpu {key:?} is listed more than once"));
                    continue;
                }
                attrs.push(Attribute::new(key, "true"));
            }
        }
        if attrs.is_empty() {
            attrs.push(Attribute::new("vendor/nvidia/model/*", "true"));
        }
        attrs.sort_by(|a, b| a.key.cmp(&b.key));
        c.gpu_attributes = attrs;
    }

    fn placement(&mut self, node: &'n Node<'n>, path: &Path) -> Placement<'n> {
        let mut pl = Placement::default();
        let Some(entries) = self.mapping(node, path) else {
            return pl;
        };
        self.check_keys(entries, path, &["attributes", "signedBy", "pricing"]);
        if let Some(n) = get(entries, "attributes") {
            let ap = path.key("attributes");
            for (k, v) in self.named(n, &ap) {
                if let Some(value) = self.text(v, &ap.key(k)) {
                    pl.attributes.push(Attribute::new(k, value));
                }
            }
            pl.attributes.sort_by(|a, b| a.key.cmp(&b.key));
        }
        if let Some(n) = get(entries, "signedBy") {
            let sp = path.key("signedBy");
            if let Some(e) = self.mapping(n, &sp) {
                self.check_keys(e, &sp, &["allOf", "anyOf"]);
                if let Some(l) = get(e, "allOf") {
                    pl.signed_by.all_of = self
                        .text_list(l, &sp.key("allOf"))
                        .unwrap_or_default()
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                }
                if let Some(l) = get(e, "anyOf") {
                    pl.signed_by.any_of = self
                        .text_list(l, &sp.key("anyOf"))
                        .unwrap_or_default()
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                }
            }
        }
        match get(entries, "pricing") {
            None => self.issue(
                &path.key("pricing"),
                "is required: a price for each compute profile deployed here, e.g. `pricing: {web: {denom: uact, amount: 1000}}`",
            ),
            Some(n) => {
                let pp = path.key("pricing");
                let named = self.named(n, &pp);
                let mut pricing = Vec::with_capacity(named.len());
                for (profile, price) in named {
                    let p = self.price(price, &pp.key(profile));
                    pricing.push((profile, p));
                }
                pl.pricing = Named::new(pricing);
            }
        }
        pl
    }

    fn price(&mut self, node: &'n Node<'n>, path: &Path) -> Option<Price<'n>> {
        let entries = self.mapping(node, path)?;
        self.check_keys(entries, path, &["denom", "amount"]);
        let dp = path.key("denom");
        let denom = match get(entries, "denom") {
            None => {
                self.issue(&dp, "is required: uact or uakt");
                None
            }
            Some(n) => self.text(n, &dp).filter(|d| match check_denom(d) {
                Ok(()) => true,
                Err(msg) => {
                    self.issue(&dp, msg);
                    false
                }
            }),
        };
        let ap = path.key("amount");
        let amount = match get(entries, "amount") {
            None => {
                self.issue(&ap, "is required, e.g. 1000");
                None
            }
            Some(n) => self.text(n, &ap).and_then(|t| {
                units::parse_price_amount(t)
                    .map_err(|msg| self.issue(&ap, msg))
                    .ok()
            }),
        };
        Some(Price {
            denom: denom?,
            scaled: amount?,
        })
    }

    fn deploy(&mut self, node: &'n Node<'n>, path: &Path) -> Deploy<'n> {
        let mut d = Deploy::default();
        let Some(entries) = self.mapping(node, path) else {
            return d;
        };
        self.check_keys(entries, path, &["profile", "count"]);
        match get(entries, "profile") {
            None => self.issue(
                &path.key("profile"),
                "is required: the compute profile to use",
            ),
            Some(n) => d.profile = self.text(n, &path.key("profile")).unwrap_or_default(),
        }
        match get(entries, "count") {
            None => self.issue(
                &path.key("count"),
                "is required: the number of replicas (at least 1)",
            ),
            Some(Node::Scalar(Kind::Int(c), _, _)) if c.get() < 1 => {
                self.issue(&path.key("count"), format!("must be at least 1, got {c}"))
            }
            Some(n) => {
                d.count = self
                    .int(n, &path.key("count"), 1, u64::from(u32::MAX))
                    .map(|c| c as u32)
            }
        }
        d
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) use super::Volume;
}
