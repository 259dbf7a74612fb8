//! From YAML (or JSON) text to validated resources, with errors that say file, line, column,
//! field path, what is wrong and what would be valid.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::validate::{check_dns_label, nearest, FieldError, Problems, Validate};
use super::yaml::{
    parse_stream_within, Budget, ExpansionLimits, FieldPath, Position, Segment, YamlDocument,
};
use super::{Kind, ResourceInput, ResourceKey, Spec, API_VERSION, DEFAULT_PROJECT};

/// One problem in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file (or `-` / `<stdin>` / an API label).
    pub file: String,
    /// Where in the file.
    pub position: Position,
    /// The field, when the problem concerns one.
    pub path: Option<String>,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.position)?;
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a set of documents. Nothing is applied while any exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A validated document and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedDocument {
    /// The file.
    pub file: String,
    /// Where the document starts.
    pub position: Position,
    /// The validated resource.
    pub input: ResourceInput,
}

/// Metadata as a user writes it. Server-managed fields are accepted (so that the output of
/// `get -o yaml` can be applied again) and ignored, except `resourceVersion`, which makes the
/// write conditional on it (optimistic concurrency).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetadataInput {
    name: String,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default, rename = "uid")]
    _uid: Option<Value>,
    #[serde(default, rename = "generation")]
    _generation: Option<Value>,
    #[serde(default)]
    resource_version: Option<i64>,
    #[serde(default, rename = "createdAt")]
    _created_at: Option<Value>,
    #[serde(default, rename = "deletionRequestedAt")]
    _deletion_requested_at: Option<Value>,
    #[serde(default, rename = "finalizers")]
    _finalizers: Option<Value>,
}

const TOP_LEVEL: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

fn path_from_serde(prefix: &FieldPath, p: &serde_path_to_error::Path) -> FieldPath {
    let mut segs = prefix.segments().to_vec();
    for s in p.iter() {
        match s {
            serde_path_to_error::Segment::Seq { index } => segs.push(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => segs.push(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => {
                segs.push(Segment::Key(variant.clone()))
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    FieldPath::from_segments(segs)
}

/// Pulls the backquoted words out of serde's "expected one of `a`, `b`" lists.
fn backquoted(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

fn friendly_type(expected: &str) -> String {
    match expected.trim() {
        "u8" => "an integer from 0 to 255".into(),
        "u16" => "an integer from 0 to 65535".into(),
        "u32" => "a non-negative integer".into(),
        "i64" | "u64" => "an integer".into(),
        "a boolean" => "true or false".into(),
        "a string" => "a string".into(),
        "a sequence" => "a list".into(),
        "a map" => "a mapping".into(),
        e if e.starts_with("struct ") => "a mapping".into(),
        e if e.starts_with("enum ") => "one of the documented values".into(),
        e => e.to_string(),
    }
}

/// Turns a serde error message into a friendlier one, with a suggestion for typos.
/// Returns the message and whether the path should be extended with the offending field.
fn explain_serde(msg: &str) -> (String, Option<String>) {
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let valid = backquoted(tail);
        let mut out = format!("unknown field `{field}`");
        if let Some(s) = nearest(field, valid.iter().copied()) {
            out.push_str(&format!("; did you mean `{s}`?"));
        }
        if valid.is_empty() {
            out.push_str(" (this mapping takes no fields)");
        } else {
            out.push_str(&format!(" (valid fields: {})", valid.join(", ")));
        }
        return (out, Some(field.to_string()));
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let (variant, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let valid = backquoted(tail);
        let mut out = format!("unknown value `{variant}`");
        if let Some(s) = nearest(variant, valid.iter().copied()) {
            out.push_str(&format!("; did you mean `{s}`?"));
        }
        out.push_str(&format!(" (expected one of: {})", valid.join(", ")));
        return (out, None);
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return (format!("missing required field `{field}`"), None);
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return (
                format!(
                    "wrong type: expected {}, found {found}",
                    friendly_type(expected)
                ),
                None,
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return (
                format!(
                    "invalid value {found}: expected {}",
                    friendly_type(expected)
                ),
                None,
            );
        }
    }
    (msg.to_string(), None)
}

struct DocContext<'a> {
    file: &'a str,
    doc: &'a YamlDocument,
    errors: Vec<LoadError>,
}

impl DocContext<'_> {
    fn at(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.errors.push(LoadError {
            file: self.file.to_string(),
            position: self.doc.position_of(path),
            path: if path.segments().is_empty() {
                None
            } else {
                Some(path.to_string())
            },
            message: message.into(),
        });
    }

    fn serde(&mut self, prefix: &FieldPath, err: &serde_path_to_error::Error<serde_json::Error>) {
        let mut path = path_from_serde(prefix, err.path());
        let (msg, field) = explain_serde(&err.inner().to_string());
        if let Some(f) = field {
            if path.segments().last() != Some(&Segment::Key(f.clone())) {
                path = path.key(&f);
            }
        }
        self.at(&path, msg);
    }

    fn problems(&mut self, problems: Problems) {
        for FieldError { path, message } in problems.0 {
            self.at(&path, message);
        }
    }
}

fn check_label(k: &str, v: &str, at: &FieldPath, p: &mut Problems) {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((pre, n)) => (Some(pre), n),
        None => (None, k),
    };
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if !segment_ok(name) || prefix.is_some_and(|pre| !super::validate::is_hostname(pre, false)) {
        p.add(
            &at.key(k),
            format!("`{k}` is not a label key: expected an optional DNS prefix and `/`, then up to 63 letters, digits, '-', '_' or '.', e.g. `team` or `alternatefutures.ai/tier`"),
        );
    }
    if !v.is_empty() && !segment_ok(v) {
        p.add(
            &at.key(k),
            format!("`{v}` is not a label value: expected up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"),
        );
    }
}

fn load_one(ctx: &mut DocContext<'_>) -> Option<ResourceInput> {
    let root = FieldPath::root();
    let Value::Object(top) = &ctx.doc.value else {
        ctx.at(
            &root,
            "a resource must be a mapping with apiVersion, kind, metadata and spec",
        );
        return None;
    };
    for k in top.keys() {
        if !TOP_LEVEL.contains(&k.as_str()) {
            let mut msg = format!("unknown field `{k}`");
            if let Some(s) = nearest(k, TOP_LEVEL) {
                msg.push_str(&format!("; did you mean `{s}`?"));
            }
            msg.push_str(&format!(" (valid fields: {})", TOP_LEVEL.join(", ")));
            ctx.at(&root.key(k), msg);
        }
    }
    match top.get("apiVersion") {
        Some(Value::String(v)) if v == API_VERSION => {}
        Some(v) => ctx.at(
            &root.key("apiVersion"),
            format!("unsupported apiVersion {v}: expected `{API_VERSION}`"),
        ),
        None => ctx.at(
            &root,
            format!("missing required field `apiVersion` (expected `{API_VERSION}`)"),
        ),
    }
    let kinds = Kind::ALL.map(|k| k.as_str());
    let kind = match top.get("kind") {
        Some(Value::String(k)) => match Kind::ALL.iter().find(|x| x.as_str() == k) {
            Some(kind) => Some(*kind),
            None => {
                let mut msg = format!("unknown kind `{k}`");
                if let Some(s) = nearest(k, kinds) {
                    msg.push_str(&format!("; did you mean `{s}`?"));
                }
                msg.push_str(&format!(" (kinds: {})", kinds.join(", ")));
                ctx.at(&root.key("kind"), msg);
                None
            }
        },
        Some(v) => {
            ctx.at(
                &root.key("kind"),
                format!("wrong type: expected a kind name such as `Agent`, found {v}"),
            );
            None
        }
        None => {
            ctx.at(
                &root,
                format!(
                    "missing required field `kind` (one of: {})",
                    kinds.join(", ")
                ),
            );
            None
        }
    };
    let mp = root.key("metadata");
    let metadata = match top.get("metadata") {
        None => {
            ctx.at(
                &root,
                "missing required field `metadata` (with at least `name`)",
            );
            None
        }
        Some(v) => match serde_path_to_error::deserialize::<_, MetadataInput>(v) {
            Ok(m) => Some(m),
            Err(e) => {
                ctx.serde(&mp, &e);
                None
            }
        },
    };
    let mut problems = Problems::default();
    if let Some(m) = &metadata {
        check_dns_label(&m.name, &mp.key("name"), &mut problems);
        if let Some(p) = &m.project {
            check_dns_label(p, &mp.key("project"), &mut problems);
        }
        for (k, v) in &m.labels {
            check_label(k, v, &mp.key("labels"), &mut problems);
        }
        if m.resource_version.is_some_and(|v| v < 0) {
            problems.add(
                &mp.key("resourceVersion"),
                "a resourceVersion is 0 or more: the version read with `get`, or 0 to create only",
            );
        }
    }
    let sp = root.key("spec");
    let spec = match (kind, top.get("spec")) {
        (_, None) => {
            ctx.at(&root, "missing required field `spec`");
            None
        }
        (None, Some(_)) => None,
        (Some(kind), Some(v)) => match Spec::from_value(kind, v) {
            Ok(s) => {
                s.validate(&sp, &mut problems);
                Some(s)
            }
            Err(e) => {
                ctx.serde(&sp, &e);
                None
            }
        },
    };
    if !problems.is_empty() {
        ctx.problems(problems);
        return None;
    }
    let (m, spec) = (metadata?, spec?);
    Some(ResourceInput {
        key: ResourceKey::new(
            spec.kind(),
            m.project.unwrap_or_else(|| DEFAULT_PROJECT.to_string()),
            m.name,
        ),
        labels: m.labels,
        spec,
        resource_version: m.resource_version,
    })
}

/// A batch of documents being loaded, possibly from several files. Duplicates across the
/// whole batch are refused, since one apply must not say two things about one resource.
pub struct Loader {
    docs: Vec<LoadedDocument>,
    errors: Vec<LoadError>,
    seen: HashMap<ResourceKey, (String, Position)>,
    budget: Budget,
    check: Option<DocumentCheck>,
}

/// A further check a valid document must pass, whose problems name its fields; `apply` uses
/// one that renders the SDL and checks Akash's limits
/// ([`crate::render::deploy_problems`]).
pub type DocumentCheck = fn(&ResourceInput) -> Vec<FieldError>;

impl Default for Loader {
    fn default() -> Self {
        Self::with_limits(ExpansionLimits::DEFAULT)
    }
}

impl Loader {
    /// A new, empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new, empty batch whose texts together may expand to no more than `limits`.
    pub fn with_limits(limits: ExpansionLimits) -> Self {
        Loader {
            docs: Vec::new(),
            errors: Vec::new(),
            seen: HashMap::new(),
            budget: Budget::new(limits),
            check: None,
        }
    }

    /// Also runs `check` on every valid document; its problems are reported like the
    /// loader's own, at the field's line and column.
    pub fn checking(mut self, check: DocumentCheck) -> Self {
        self.check = Some(check);
        self
    }

    /// Adds every document of `text` (YAML or JSON; several YAML documents separated by
    /// `---`). Empty documents are skipped.
    pub fn add_text(&mut self, file: &str, text: &str) {
        let docs = match parse_stream_within(text, &mut self.budget) {
            Ok(d) => d,
            Err(e) => {
                self.errors.push(LoadError {
                    file: file.to_string(),
                    position: e.position,
                    path: None,
                    message: format!("invalid YAML: {}", e.message),
                });
                return;
            }
        };
        for doc in &docs {
            if doc.value.is_null() {
                continue;
            }
            let mut ctx = DocContext {
                file,
                doc,
                errors: Vec::new(),
            };
            let loaded = load_one(&mut ctx);
            if let (Some(input), Some(check)) = (&loaded, self.check) {
                ctx.problems(Problems(check(input)));
            }
            let failed = !ctx.errors.is_empty();
            self.errors.append(&mut ctx.errors);
            let Some(input) = loaded.filter(|_| !failed) else {
                continue;
            };
            if let Some((f, pos)) = self.seen.get(&input.key) {
                self.errors.push(LoadError {
                    file: file.to_string(),
                    position: doc.start,
                    path: None,
                    message: format!(
                        "duplicate document: {} is also defined at {f}:{pos}; one apply may hold each resource once",
                        input.key
                    ),
                });
                continue;
            }
            self.seen
                .insert(input.key.clone(), (file.to_string(), doc.start));
            self.docs.push(LoadedDocument {
                file: file.to_string(),
                position: doc.start,
                input,
            });
        }
    }

    /// The validated documents, or every problem found.
    pub fn finish(self) -> Result<Vec<LoadedDocument>, LoadErrors> {
        if self.errors.is_empty() {
            Ok(self.docs)
        } else {
            Err(LoadErrors(self.errors))
        }
    }
}

/// Loads the documents of one text.
pub fn load_str(file: &str, text: &str) -> Result<Vec<LoadedDocument>, LoadErrors> {
    let mut l = Loader::new();
    l.add_text(file, text);
    l.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata:
  name: defarm-api
  project: defarm
  labels: {team: core}
spec:
  image: ghcr.io/alternatefutures/defarm-api:1.4.2
  port: 8080
  env:
    - name: PORT
      value: \"8080\"
  resources:
    cpu: 0.5
    memory: 512Mi
";

    fn errors(text: &str) -> Vec<LoadError> {
        load_str("t.yaml", text).unwrap_err().0
    }

    fn one_error(text: &str) -> LoadError {
        let e = errors(text);
        assert_eq!(e.len(), 1, "{e:#?}");
        e.into_iter().next().unwrap()
    }

    #[test]
    fn a_valid_agent_loads_with_defaults() {
        let docs = load_str("t.yaml", AGENT).unwrap();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(
            d.input.key,
            ResourceKey::new(Kind::Agent, "defarm", "defarm-api")
        );
        assert_eq!(d.input.labels["team"], "core");
        assert_eq!(d.input.spec.to_value()["replicas"], 1);
    }

    #[test]
    fn wrong_type_names_line_path_and_expectation() {
        let e = one_error(&AGENT.replace("port: 8080", "port: eighty"));
        assert_eq!(e.path.as_deref(), Some("spec.port"));
        assert_eq!(e.position.line, 9);
        assert!(
            e.message.contains("expected an integer from 0 to 65535"),
            "{e}"
        );
        assert!(e.to_string().starts_with("t.yaml:9:9: spec.port: "), "{e}");
    }

    #[test]
    fn unknown_field_suggests_the_nearest() {
        let e = one_error(&AGENT.replace("memory: 512Mi", "memroy: 512Mi"));
        assert_eq!(e.path.as_deref(), Some("spec.resources.memroy"));
        assert_eq!(e.position.line, 15);
        assert!(e.message.contains("did you mean `memory`?"), "{e}");
    }

    #[test]
    fn missing_required_field() {
        let e =
            one_error(&AGENT.replace("  image: ghcr.io/alternatefutures/defarm-api:1.4.2\n", ""));
        assert_eq!(e.path.as_deref(), Some("spec"));
        assert!(e.message.contains("missing required field `image`"), "{e}");
    }

    #[test]
    fn invalid_name() {
        let e = one_error(&AGENT.replace("name: defarm-api", "name: DeFarm_API"));
        assert_eq!(e.path.as_deref(), Some("metadata.name"));
        assert_eq!(e.position.line, 4);
        assert!(e.message.contains("DNS-1123"), "{e}");
    }

    #[test]
    fn bad_quantity() {
        let e = one_error(&AGENT.replace("memory: 512Mi", "memory: 512MB"));
        assert_eq!(e.path.as_deref(), Some("spec.resources.memory"));
        assert!(e.message.contains("unknown suffix `MB`"), "{e}");
        assert!(e.message.contains("512Mi"), "{e}");
    }

    #[test]
    fn duplicate_document() {
        let text = format!("{AGENT}---\n{AGENT}");
        let e = one_error(&text);
        assert_eq!(e.position.line, 17);
        assert!(
            e.message.contains("duplicate document: agent/defarm-api"),
            "{e}"
        );
        assert!(e.message.contains("t.yaml:1:1"), "{e}");
    }

    const FUNCTION: &str = "apiVersion: alternatefutures.ai/v1alpha1
kind: Function
metadata: {name: users-api}
spec:
  runtime: edge
  code:
    cid: QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG
    blake3: af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262
  routes:
    \"/api/users/*\": https://users-service.com
    \"/*\": https://default.com
";

    #[test]
    fn route_rules() {
        assert!(load_str("f.yaml", FUNCTION).is_ok());
        let e = one_error(&FUNCTION.replace("\"/api/users/*\"", "\"api/users/*\""));
        assert_eq!(e.path.as_deref(), Some("spec.routes[\"api/users/*\"]"));
        assert_eq!(e.position.line, 10);
        assert!(e.message.contains("must start with \"/\""), "{e}");
        let e = one_error(&FUNCTION.replace("https://default.com", "ftp://default.com"));
        assert!(e.message.contains("expected an http or https URL"), "{e}");
        assert!(e.message.contains("`/*`"), "{e}");
    }

    #[test]
    fn several_problems_are_all_reported() {
        let text = AGENT
            .replace("port: 8080", "port: 8080\n  replicas: 0")
            .replace("name: PORT", "name: 1PORT");
        let e = errors(&text);
        assert_eq!(e.len(), 2, "{e:#?}");
    }

    #[test]
    fn envelope_problems() {
        let e = one_error(&AGENT.replace("kind: Agent", "kind: Agnet"));
        assert!(e.message.contains("did you mean `Agent`?"), "{e}");
        let e = one_error(&AGENT.replace("alternatefutures.ai/v1alpha1", "v1"));
        assert!(e.message.contains("unsupported apiVersion"), "{e}");
        let e = one_error(&format!("{AGENT}spce: {{}}\n"));
        assert!(
            e.message
                .contains("unknown field `spce`; did you mean `spec`?"),
            "{e}"
        );
        let e = one_error("- just\n- a list\n");
        assert!(e.message.contains("must be a mapping"), "{e}");
        let e = one_error("a: [1,\n");
        assert!(e.message.starts_with("invalid YAML"), "{e}");
    }

    #[test]
    fn server_managed_fields_are_ignored_but_the_resource_version() {
        let text = AGENT.replace(
            "  project: defarm\n",
            "  project: defarm\n  uid: x\n  generation: 7\n  resourceVersion: 9\n",
        ) + "status:\n  observedGeneration: 3\n";
        let doc = load_str("t.yaml", &text).unwrap().remove(0);
        assert_eq!(doc.input.resource_version, Some(9));
        assert_eq!(
            load_str("t.yaml", AGENT).unwrap()[0].input.resource_version,
            None
        );
        let bad = AGENT.replace(
            "  project: defarm\n",
            "  project: defarm\n  resourceVersion: -1\n",
        );
        let e = load_str("t.yaml", &bad).unwrap_err();
        assert_eq!(
            e.0[0].path.as_deref(),
            Some("metadata.resourceVersion"),
            "{e}"
        );
        let bad = AGENT.replace(
            "  project: defarm\n",
            "  project: defarm\n  resourceVersion: x\n",
        );
        let e = load_str("t.yaml", &bad).unwrap_err();
        assert_eq!(
            e.0[0].path.as_deref(),
            Some("metadata.resourceVersion"),
            "{e}"
        );
    }

    #[test]
    fn json_documents_load_too() {
        let text = r#"{"apiVersion":"alternatefutures.ai/v1alpha1","kind":"Site","metadata":{"name":"docs"},"spec":{"source":{"ipfs":"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"}}}"#;
        assert_eq!(load_str("s.json", text).unwrap().len(), 1);
    }

    #[test]
    fn hostile_input_never_panics() {
        let long = "a".repeat(100_000);
        let cases = [
            "",
            "---\n---\n",
            "~",
            "[]",
            "kind: [1]\nspec: 3\nmetadata: 4\n",
            "apiVersion: alternatefutures.ai/v1alpha1\nkind: Agent\nmetadata: {name: x}\nspec: {image: x, resources: {cpu: 1e308, memory: 99999999999999999999Ei}}\n",
            "apiVersion: alternatefutures.ai/v1alpha1\nkind: Function\nmetadata: {name: x}\nspec: {runtime: r, code: {cid: '', blake3: ''}, routes: {'': '', '/:': ':'}, rollout: {strategy: canary, steps: [300, 0]}}\n",
            "\u{0}\u{1}",
            long.as_str(),
            "&a [*a]",
        ];
        for c in cases {
            let _ = load_str("x", c);
        }
    }
}
