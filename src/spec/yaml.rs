//! YAML documents with positions.
//!
//! Specs are parsed with a YAML 1.2 event parser into plain JSON values, and every node's
//! position is kept in an index keyed by its field path. Validation then works on values and
//! paths only, and an error's path is turned back into a line and column at the very end.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// What YAML text may expand to, aliases included, so that a "billion laughs" document is
/// refused after little work instead of exhausting time and memory. Real specs are a few
/// hundred nodes and a few KiB; an alias is counted as everything it copies, before it is
/// copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpansionLimits {
    /// Nodes (scalars, sequences, mappings) in one document.
    pub document_nodes: usize,
    /// Bytes of scalar text (keys included) in one document.
    pub document_bytes: usize,
    /// Nodes in everything parsed with one [`Budget`].
    pub total_nodes: usize,
    /// Bytes of scalar text in everything parsed with one [`Budget`].
    pub total_bytes: usize,
}

impl ExpansionLimits {
    /// Per document: 10,000 nodes, 1 MiB; in all: 1,000,000 nodes, 64 MiB (a directory of
    /// specs given to the CLI).
    pub const DEFAULT: ExpansionLimits = ExpansionLimits {
        document_nodes: 10_000,
        document_bytes: 1 << 20,
        total_nodes: 1_000_000,
        total_bytes: 64 << 20,
    };
}

/// What has been expanded so far under one set of limits (one request, one CLI run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    limits: ExpansionLimits,
    nodes: usize,
    bytes: usize,
}

impl Budget {
    /// Nothing expanded yet.
    pub fn new(limits: ExpansionLimits) -> Budget {
        Budget {
            limits,
            nodes: 0,
            bytes: 0,
        }
    }
}
/// Upper bound on nesting, so that hostile input cannot overflow the stack later on.
const MAX_DEPTH: usize = 128;

/// A line and column, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Position {
    fn from_marker(m: &Marker) -> Self {
        Position {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A field path such as `spec.env[0].secretRef.key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The empty path (the document itself).
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    /// This path extended by an index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Builds a path from segments.
    pub fn from_segments(segments: Vec<Segment>) -> Self {
        FieldPath(segments)
    }

    /// The path without its last segment (the root stays the root).
    pub fn parent(&self) -> Self {
        let mut p = self.clone();
        p.0.pop();
        p
    }
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Key(k) => write!(f, "[{}]", serde_json::Value::String(k.clone()))?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// One YAML document of a stream: its value and where each of its nodes stands.
#[derive(Debug, Clone)]
pub struct YamlDocument {
    /// The document's content as a JSON value.
    pub value: Value,
    /// Where the document starts.
    pub start: Position,
    positions: HashMap<FieldPath, Position>,
}

impl YamlDocument {
    /// The position of the node at `path`, or of its nearest ancestor that exists.
    pub fn position_of(&self, path: &FieldPath) -> Position {
        let mut p = path.clone();
        loop {
            if let Some(pos) = self.positions.get(&p) {
                return *pos;
            }
            if p.0.is_empty() {
                return self.start;
            }
            p.0.pop();
        }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{position}: {message}")]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub position: Position,
    /// What it found wrong.
    pub message: String,
}

/// A node's expanded size: nodes and scalar bytes.
type Size = (usize, usize);

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        /// The document's size when the sequence started.
        before: Size,
    },
    Map {
        map: Map<String, Value>,
        pending_key: Option<String>,
        anchor: usize,
        /// The document's size when the mapping started.
        before: Size,
    },
}

struct Builder {
    docs: Vec<YamlDocument>,
    stack: Vec<Frame>,
    path: Vec<Segment>,
    positions: HashMap<FieldPath, Position>,
    /// Anchored values with their expanded size.
    anchors: HashMap<usize, (Value, Size)>,
    doc_start: Position,
    first_scalar: Option<Position>,
    root: Option<Value>,
    /// The current document's expanded size.
    doc_size: Size,
    budget: Budget,
    error: Option<SyntaxError>,
}

fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = s.parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    if let Some(hex) = s.strip_prefix("0x") {
        if let Ok(u) = u64::from_str_radix(hex, 16) {
            return Value::Number(u.into());
        }
    }
    if let Some(oct) = s.strip_prefix("0o") {
        if let Ok(u) = u64::from_str_radix(oct, 8) {
            return Value::Number(u.into());
        }
    }
    let looks_float = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if looks_float {
        if let Ok(f) = s.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(s.to_string())
}

impl Builder {
    fn fail(&mut self, mark: &Marker, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                position: Position::from_marker(mark),
                message: message.into(),
            });
        }
    }

    /// Registers a finished node: as the document root, a sequence item or a mapping value.
    fn push_value(&mut self, value: Value, anchor: usize, size: Size, mark: &Marker) {
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map, pending_key, ..
            }) => match pending_key.take() {
                Some(k) => {
                    map.insert(k, value);
                    self.path.pop();
                }
                None => {
                    let key = match value {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_string(),
                        _ => {
                            self.fail(mark, "a mapping key must be a scalar");
                            return;
                        }
                    };
                    if map.contains_key(&key) {
                        let msg = format!("duplicate key `{key}` in this mapping");
                        self.fail(mark, msg);
                        return;
                    }
                    self.path.push(Segment::Key(key.clone()));
                    if let Some(Frame::Map { pending_key, .. }) = self.stack.last_mut() {
                        *pending_key = Some(key);
                    }
                }
            },
        }
    }

    /// Records the position of the node about to start, when it is a value (not a key).
    fn note_position(&mut self, mark: &Marker) {
        let is_key = matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        );
        if is_key {
            return;
        }
        let mut path = self.path.clone();
        if let Some(Frame::Seq { items, .. }) = self.stack.last() {
            path.push(Segment::Index(items.len()));
        }
        self.positions
            .insert(FieldPath(path), Position::from_marker(mark));
    }

    /// Counts `size` more into the document and the budget; false (and an error) past a
    /// limit.
    fn count(&mut self, mark: &Marker, (nodes, bytes): Size) -> bool {
        let limits = self.budget.limits;
        self.doc_size.0 = self.doc_size.0.saturating_add(nodes);
        self.doc_size.1 = self.doc_size.1.saturating_add(bytes);
        self.budget.nodes = self.budget.nodes.saturating_add(nodes);
        self.budget.bytes = self.budget.bytes.saturating_add(bytes);
        let problem = if self.doc_size.0 > limits.document_nodes {
            format!(
                "this document expands to more than {} nodes (aliases included); specs are far smaller",
                limits.document_nodes
            )
        } else if self.doc_size.1 > limits.document_bytes {
            format!(
                "this document expands to more than {} bytes of text (aliases included); specs are far smaller",
                limits.document_bytes
            )
        } else if self.budget.nodes > limits.total_nodes {
            format!(
                "the documents expand to more than {} nodes in all (aliases included)",
                limits.total_nodes
            )
        } else if self.budget.bytes > limits.total_bytes {
            format!(
                "the documents expand to more than {} bytes of text in all (aliases included)",
                limits.total_bytes
            )
        } else {
            return true;
        };
        self.fail(mark, problem);
        false
    }

    fn begin_container(&mut self, mark: &Marker) -> bool {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(mark, format!("nesting deeper than {MAX_DEPTH} levels"));
            return false;
        }
        self.note_position(mark);
        if let Some(Frame::Seq { items, .. }) = self.stack.last() {
            let i = items.len();
            self.path.push(Segment::Index(i));
        }
        true
    }

    fn end_container(&mut self, value: Value, anchor: usize, before: Size, mark: &Marker) {
        if let Some(Frame::Seq { .. }) = self.stack.last() {
            self.path.pop();
        }
        let size = (self.doc_size.0 - before.0, self.doc_size.1 - before.1);
        self.push_value(value, anchor, size, mark);
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.doc_start = Position::from_marker(&mark);
                self.first_scalar = None;
                self.positions.clear();
                self.anchors.clear();
                self.root = None;
                self.doc_size = (0, 0);
            }
            Event::DocumentEnd => {
                let value = self.root.take().unwrap_or(Value::Null);
                // A document "starts" at its first scalar (usually `apiVersion`), not at the
                // `---` before it.
                let start = self.first_scalar.take().unwrap_or(self.doc_start);
                self.docs.push(YamlDocument {
                    value,
                    start,
                    positions: std::mem::take(&mut self.positions),
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                let size = (1, text.len());
                if !self.count(&mark, size) {
                    return;
                }
                if self.first_scalar.is_none() {
                    self.first_scalar = Some(Position::from_marker(&mark));
                }
                self.note_position(&mark);
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == TScalarStyle::Plain && !is_str_tag {
                    resolve_plain(&text)
                } else {
                    Value::String(text)
                };
                self.push_value(value, anchor, size, &mark);
            }
            Event::Alias(id) => {
                // Counted before it is copied: the copy is what would cost.
                let Some(&(_, size)) = self.anchors.get(&id) else {
                    self.fail(&mark, "alias to an unknown anchor");
                    return;
                };
                if !self.count(&mark, size) {
                    return;
                }
                let Some((v, _)) = self.anchors.get(&id).cloned() else {
                    return;
                };
                self.note_position(&mark);
                self.push_value(v, 0, size, &mark);
            }
            Event::SequenceStart(anchor, _) => {
                let before = self.doc_size;
                if self.count(&mark, (1, 0)) && self.begin_container(&mark) {
                    self.stack.push(Frame::Seq {
                        items: Vec::new(),
                        anchor,
                        before,
                    });
                }
            }
            Event::MappingStart(anchor, _) => {
                let before = self.doc_size;
                if self.count(&mark, (1, 0)) && self.begin_container(&mark) {
                    self.stack.push(Frame::Map {
                        map: Map::new(),
                        pending_key: None,
                        anchor,
                        before,
                    });
                }
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    anchor,
                    before,
                }) = self.stack.pop()
                {
                    self.end_container(Value::Array(items), anchor, before, &mark);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    map,
                    anchor,
                    before,
                    ..
                }) = self.stack.pop()
                {
                    self.end_container(Value::Object(map), anchor, before, &mark);
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

/// Parses a YAML stream into its documents. Empty documents (only comments, or nothing
/// between two `---`) are kept as `null` values so that callers can report them.
pub fn parse_stream(text: &str) -> Result<Vec<YamlDocument>, SyntaxError> {
    parse_stream_within(text, &mut Budget::new(ExpansionLimits::DEFAULT))
}

/// As [`parse_stream`], counting what the text expands to against `budget` (shared by the
/// texts of one request).
pub fn parse_stream_within(
    text: &str,
    budget: &mut Budget,
) -> Result<Vec<YamlDocument>, SyntaxError> {
    let mut builder = Builder {
        docs: Vec::new(),
        stack: Vec::new(),
        path: Vec::new(),
        positions: HashMap::new(),
        anchors: HashMap::new(),
        doc_start: Position { line: 1, column: 1 },
        first_scalar: None,
        root: None,
        doc_size: (0, 0),
        budget: *budget,
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    let loaded = parser.load(&mut builder, true);
    *budget = builder.budget;
    if let Err(e) = loaded {
        let m = e.marker();
        return Err(SyntaxError {
            position: Position::from_marker(m),
            message: e.info().to_string(),
        });
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.docs)
}

/// Text that is not UTF-8: where its first invalid byte is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: not UTF-8 text: invalid byte at offset {offset}")]
pub struct Utf8Error {
    /// Line and column (in characters) of the invalid byte.
    pub position: Position,
    /// Its byte offset from the start.
    pub offset: usize,
}

/// The bytes as text; when they are not UTF-8, the error names the byte offset, line and
/// column of the first invalid byte.
pub fn decode_utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        // The prefix is valid UTF-8 by definition of `valid_up_to`.
        let before = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Utf8Error {
            position: Position {
                line: before.matches('\n').count() + 1,
                column: before[line_start..].chars().count() + 1,
            },
            offset,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_resolve_as_yaml_1_2_core() {
        let docs = parse_stream(
            "a: 1\nb: 0.5\nc: yes\nd: true\ne: ~\nf: '1'\ng: 500m\nh: -3\ni: 1e3\nj: 1.2.3\n",
        )
        .unwrap();
        assert_eq!(
            docs[0].value,
            json!({"a":1,"b":0.5,"c":"yes","d":true,"e":null,"f":"1","g":"500m","h":-3,"i":1000.0,"j":"1.2.3"})
        );
    }

    #[test]
    fn positions_are_indexed_by_path() {
        let text = "kind: Agent\nspec:\n  env:\n    - name: A\n      value: x\n    - name: B\n";
        let docs = parse_stream(text).unwrap();
        let d = &docs[0];
        let p = FieldPath::root()
            .key("spec")
            .key("env")
            .index(1)
            .key("name");
        assert_eq!(
            d.position_of(&p),
            Position {
                line: 6,
                column: 13
            }
        );
        let missing = FieldPath::root()
            .key("spec")
            .key("env")
            .index(0)
            .key("nope");
        assert_eq!(d.position_of(&missing).line, 4);
        assert_eq!(p.to_string(), "spec.env[1].name");
        let odd = FieldPath::root().key("routes").key("/api/*");
        assert_eq!(odd.to_string(), "routes[\"/api/*\"]");
    }

    #[test]
    fn multi_documents_keep_their_start_lines() {
        let docs = parse_stream("a: 1\n---\nb: 2\n---\n# empty\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].start.line, 3);
        assert_eq!(docs[2].value, Value::Null);
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_are_refused() {
        let e = parse_stream("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate key `a`"), "{e}");
        assert_eq!(e.position.line, 2);
        let e = parse_stream("a: [1, 2\n").unwrap_err();
        assert!(e.position.line >= 1);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse_stream(&text).unwrap_err();
        assert!(e.message.contains("more than"), "{e}");
    }

    #[test]
    fn aliases_are_counted_before_they_are_copied() {
        // Nine levels of ten: a billion nodes. Refused once the document passes 10,000,
        // i.e. after copying about that much, not a million.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                vec![format!("*a{p}"); 10].join(", ")
            ));
        }
        let started = std::time::Instant::now();
        let e = parse_stream(&text).unwrap_err();
        assert!(e.message.contains("more than 10000 nodes"), "{e}");
        assert!(
            started.elapsed() < std::time::Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
        // A long string copied many times is refused by its bytes.
        let text = format!(
            "a: &a '{}'\nb: [{}]\n",
            "x".repeat(100_000),
            vec!["*a"; 20].join(", ")
        );
        let e = parse_stream(&text).unwrap_err();
        assert!(e.message.contains("bytes of text"), "{e}");
        // A budget spans several texts.
        let small = ExpansionLimits {
            total_nodes: 30,
            ..ExpansionLimits::DEFAULT
        };
        let mut budget = Budget::new(small);
        let doc = "a: [1, 2, 3, 4, 5, 6, 7, 8]\n";
        assert!(parse_stream_within(doc, &mut budget).is_ok());
        assert!(parse_stream_within(doc, &mut budget).is_ok());
        let e = parse_stream_within(doc, &mut budget).unwrap_err();
        assert!(e.message.contains("in all"), "{e}");
        // Real specs stay far below.
        assert!(parse_stream("k: [&v 'abc', *v, *v]\n").is_ok());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(500) + &"]".repeat(500);
        assert!(parse_stream(&text).is_err());
    }

    #[test]
    fn invalid_utf8_names_its_byte_offset_line_and_column() {
        let e = decode_utf8(b"a: 1\nb: \xc3\xa9\xff\n").unwrap_err();
        assert_eq!(e.offset, 10);
        assert_eq!((e.position.line, e.position.column), (2, 5));
        assert_eq!(
            e.to_string(),
            "2:5: not UTF-8 text: invalid byte at offset 10"
        );
        assert_eq!(decode_utf8("ok".as_bytes()), Ok("ok"));
    }
}
