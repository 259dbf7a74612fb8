//! A YAML document as a plain tree whose scalars keep their source text and whose nodes keep
//! their line and column.
//!
//! Go's yaml.v3 decodes a scalar into a string field from its source text (`1.10` stays
//! `"1.10"`, `True` stays `"True"`), and Akash parses quantities and prices from that text.
//! One pass of a position-tracking event parser (`yaml-rust2`) gives both: every scalar
//! arrives with its text and style, and is resolved here under YAML 1.2's core schema with
//! the same rules the SDL reader has always used (`~`/`null`, `true`/`True`/`TRUE`, decimal,
//! `0x`/`0o`/`0b` integers, floats with `.inf`/`.nan`, leading-zero digits as strings).
//!
//! The parse is bounded: at most [`MAX_DEPTH`] levels of nesting and [`MAX_NODES`] nodes
//! (aliases expanded), both checked while the events arrive, so a hostile document is
//! refused after reading no more of it than the limit needs.

use std::borrow::Cow;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::{push_index, push_key, SdlError};

/// Where a node starts in the source: 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

impl Pos {
    fn of(m: &Marker) -> Pos {
        Pos {
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

/// An `i128` kept as two 64-bit halves: a kind, and so every node, then needs 8-byte
/// alignment instead of 16, which makes a node a quarter smaller (nodes are moved a lot
/// while a tree is built).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int128 {
    hi: i64,
    lo: u64,
}

impl Int128 {
    pub(crate) fn new(v: i128) -> Int128 {
        Int128 {
            hi: (v >> 64) as i64,
            lo: v as u64,
        }
    }

    pub(crate) fn get(self) -> i128 {
        (i128::from(self.hi) << 64) | i128::from(self.lo)
    }
}

impl std::fmt::Debug for Int128 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl std::fmt::Display for Int128 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// What a scalar resolved to under YAML's core schema.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(Int128),
    Float(f64),
    Str,
}

/// A YAML node and where it starts. Scalars borrow their text from the document when it
/// is written there as it reads (the fast reader's plain and most quoted scalars).
#[derive(Clone, Debug)]
pub(crate) enum Node<'a> {
    /// A scalar: its resolved kind and its source text (empty for null).
    Scalar(Kind, Cow<'a, str>, Pos),
    Seq(Vec<Node<'a>>, Pos),
    Map(Vec<(Node<'a>, Node<'a>)>, Pos),
}

impl Node<'_> {
    /// A short name of the node's type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::Scalar(Kind::Null, ..) => "null",
            Node::Scalar(Kind::Bool(_), ..) => "a boolean",
            Node::Scalar(Kind::Int(_), ..) => "an integer",
            Node::Scalar(Kind::Float(_), ..) => "a number",
            Node::Scalar(Kind::Str, ..) => "a string",
            Node::Seq(..) => "a list",
            Node::Map(..) => "a mapping",
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(Kind::Null, ..))
    }

    pub(crate) fn pos(&self) -> Pos {
        match self {
            Node::Scalar(_, _, p) | Node::Seq(_, p) | Node::Map(_, p) => *p,
        }
    }

    /// Equality of content, wherever the nodes are.
    pub(crate) fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Scalar(a, x, _), Node::Scalar(b, y, _)) => a == b && x == y,
            (Node::Seq(a, _), Node::Seq(b, _)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (Node::Map(a, _), Node::Map(b, _)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((k, v), (l, w))| k.same(l) && v.same(w))
            }
            _ => false,
        }
    }
}

/// Most nodes a document may have. SDLs have hundreds; the limit stops aliases from
/// expanding a small text into a huge tree.
pub(crate) const MAX_NODES: usize = 100_000;

/// Deepest nesting of lists and mappings (serde_yaml's limit, which the SDL reader had
/// before). SDLs nest about eight levels; the limit keeps the parse linear in the input
/// and the tree's recursive walks shallow.
pub(crate) const MAX_DEPTH: usize = 128;

const CORE: &str = "tag:yaml.org,2002:";

/// An open collection while events arrive.
enum Frame {
    Seq {
        items: Vec<Node<'static>>,
        pos: Pos,
        anchor: usize,
        nodes_before: usize,
    },
    Map {
        entries: Vec<(Node<'static>, Node<'static>)>,
        key: Option<Node<'static>>,
        pos: Pos,
        anchor: usize,
        nodes_before: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    /// Whether a scalar `<<` was read: only then can the tree have merge keys to resolve.
    merge_key_seen: bool,
    /// Anchored nodes and their node counts.
    anchors: HashMap<usize, (Node<'static>, usize)>,
    nodes: usize,
    root: Option<Node<'static>>,
}

impl Builder {
    /// The path of the node the next event belongs to, for syntax errors.
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => push_index(&mut path, items.len()),
                Frame::Map {
                    key: Some(Node::Scalar(kind, text, _)),
                    ..
                } => push_key(&mut path, if *kind == Kind::Null { "" } else { text }),
                Frame::Map { .. } => {}
            }
        }
        path
    }

    fn fail(&self, mark: &Marker, message: impl Into<String>) -> SdlError {
        let pos = Pos::of(mark);
        SdlError::syntax(message, pos, &self.path())
    }

    fn count(&mut self, mark: &Marker, n: usize) -> Result<(), SdlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(self.fail(
                mark,
                format!("the document has more than {MAX_NODES} nodes (after expanding aliases)"),
            ));
        }
        Ok(())
    }

    fn push(&mut self, node: Node<'static>, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }

    fn open(&mut self, frame: Frame, mark: &Marker) -> Result<(), SdlError> {
        self.count(mark, 1)?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.fail(mark, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) {
        let (node, anchor, before) = match self.stack.pop() {
            Some(Frame::Seq {
                items,
                pos,
                anchor,
                nodes_before,
            }) => (Node::Seq(items, pos), anchor, nodes_before),
            Some(Frame::Map {
                entries,
                pos,
                anchor,
                nodes_before,
                ..
            }) => (Node::Map(entries, pos), anchor, nodes_before),
            None => return,
        };
        let size = self.nodes - before;
        self.push(node, anchor, size);
    }
}

/// A collection's tag: the core `!!seq`/`!!map` and other global tags are taken as no tag;
/// local tags (`!name`) are refused, as they name a type an SDL has no use for.
fn check_tag(tag: Option<&Tag>) -> Result<(), String> {
    match tag {
        Some(t)
            if t.handle.starts_with('!') || (t.handle.is_empty() && t.suffix.starts_with('!')) =>
        {
            Err(format!(
                "tag {}{} is not supported (an SDL has no tags)",
                t.handle, t.suffix
            ))
        }
        _ => Ok(()),
    }
}

/// Parses one YAML document into a [`Node`] tree.
#[cfg(test)]
pub(crate) fn parse(text: &str) -> Result<Node<'_>, SdlError> {
    parse_document(text).map(|(node, _)| node)
}

/// Parses one YAML document into a [`Node`] tree, and says whether a scalar `<<` (a
/// possible merge key) was read: a tree without one needs no walk for merges.
pub(crate) fn parse_document(text: &str) -> Result<(Node<'_>, bool), SdlError> {
    if let Some(read) = super::scan::parse(text) {
        return Ok(read);
    }
    parse_full(text)
}

/// [`parse_document`] with the full parser only.
pub(crate) fn parse_full(text: &str) -> Result<(Node<'static>, bool), SdlError> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        stack: Vec::new(),
        merge_key_seen: false,
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
    };
    let mut documents = 0;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(e) => e,
            // The scanner's own limit (255 flow levels, met while it looks ahead for a
            // key) is beyond MAX_DEPTH too.
            Err(e) if e.info() == "recursion limit exceeded" => {
                return Err(b.fail(
                    e.marker(),
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                ))
            }
            Err(e) => return Err(b.fail(e.marker(), e.info().to_owned())),
        };
        match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(SdlError::syntax(
                        "the text holds more than one YAML document (a `---` line starts a \
                         second one); an SDL is a single document",
                        Pos::of(&mark),
                        "",
                    ));
                }
            }
            Event::Alias(id) => {
                let Some((node, size)) = b.anchors.get(&id).cloned() else {
                    return Err(b.fail(&mark, "alias to an unknown anchor"));
                };
                b.count(&mark, size)?;
                b.push(node, 0, size);
            }
            Event::Scalar(value, style, anchor, tag) => {
                b.count(&mark, 1)?;
                let kind = resolve(&value, style, tag.as_ref()).map_err(|m| b.fail(&mark, m))?;
                let text = if kind == Kind::Null {
                    String::new()
                } else {
                    value
                };
                b.merge_key_seen |= text == "<<";
                b.push(
                    Node::Scalar(kind, Cow::Owned(text), Pos::of(&mark)),
                    anchor,
                    1,
                );
            }
            Event::SequenceStart(anchor, tag) => {
                check_tag(tag.as_ref()).map_err(|m| b.fail(&mark, m))?;
                let frame = Frame::Seq {
                    items: Vec::new(),
                    pos: Pos::of(&mark),
                    anchor,
                    nodes_before: b.nodes,
                };
                b.open(frame, &mark)?;
            }
            Event::MappingStart(anchor, tag) => {
                check_tag(tag.as_ref()).map_err(|m| b.fail(&mark, m))?;
                let frame = Frame::Map {
                    entries: Vec::new(),
                    key: None,
                    pos: Pos::of(&mark),
                    anchor,
                    nodes_before: b.nodes,
                };
                b.open(frame, &mark)?;
            }
            Event::SequenceEnd | Event::MappingEnd => b.close(),
        }
    }
    // An empty text is a null document.
    let root = b.root.unwrap_or(Node::Scalar(
        Kind::Null,
        Cow::Borrowed(""),
        Pos { line: 1, column: 1 },
    ));
    Ok((root, b.merge_key_seen))
}

/// Resolves a scalar: tagged ones by their tag, plain ones by the core schema, others are
/// strings.
fn resolve(value: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Kind, String> {
    if let Some(t) = tag {
        if t.handle == CORE {
            let bad = |what: &str| {
                format!(
                    "invalid value {value:?} for tag !!{}: expected {what}",
                    t.suffix
                )
            };
            return match t.suffix.as_str() {
                "bool" => parse_bool(value)
                    .map(Kind::Bool)
                    .ok_or_else(|| bad("a boolean")),
                "int" => parse_int(value).ok_or_else(|| bad("an integer")),
                "float" => parse_float(value)
                    .map(Kind::Float)
                    .ok_or_else(|| bad("a float")),
                "null" => matches!(value, "~" | "null" | "Null" | "NULL")
                    .then_some(Kind::Null)
                    .ok_or_else(|| bad("null")),
                _ => Ok(Kind::Str),
            };
        }
        check_tag(Some(t))?;
        return Ok(Kind::Str);
    }
    if style != TScalarStyle::Plain {
        return Ok(Kind::Str);
    }
    Ok(resolve_plain(value))
}

fn is_null(v: &str) -> bool {
    matches!(v, "" | "~" | "null" | "Null" | "NULL")
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Digits with a leading zero (`0123`) are a string in YAML 1.2, not an octal or decimal.
fn leading_zero_digits(v: &str) -> bool {
    let d = v.strip_prefix(['-', '+']).unwrap_or(v);
    d.len() > 1 && d.starts_with('0') && d.bytes().all(|b| b.is_ascii_digit())
}

/// An integer: optional sign, then decimal digits or a `0x`/`0o`/`0b` prefix. Beyond `i128`
/// (but within `u128`) it is kept as a huge float, for the range checks to refuse.
fn parse_int(v: &str) -> Option<Kind> {
    let (negative, body) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b") {
        (2, d)
    } else {
        if leading_zero_digits(v) {
            return None;
        }
        (10, body)
    };
    // from_str_radix would take a second sign.
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i128::MAX as u128 {
            Some(Kind::Int(Int128::new(-(magnitude as i128))))
        } else if magnitude == i128::MAX as u128 + 1 {
            Some(Kind::Int(Int128::new(i128::MIN)))
        } else {
            None
        }
    } else {
        Some(match i128::try_from(magnitude) {
            Ok(i) => Kind::Int(Int128::new(i)),
            Err(_) => Kind::Float(magnitude as f64),
        })
    }
}

/// A finite float in Rust's syntax, or `.inf`/`-.inf`/`.nan` in YAML's.
fn parse_float(v: &str) -> Option<f64> {
    let unsigned = match v.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => v,
    };
    match unsigned {
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        _ => {}
    }
    match v {
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    unsigned.parse::<f64>().ok().filter(|f| f.is_finite())
}

pub(crate) fn resolve_plain(v: &str) -> Kind {
    let Some(&first) = v.as_bytes().first() else {
        return Kind::Null;
    };
    // Only text that starts like a number can be one; most scalars are names and images,
    // told apart from nulls and booleans by their first character too.
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return match first {
            b'~' | b'n' | b'N' if is_null(v) => Kind::Null,
            b't' | b'T' | b'f' | b'F' => parse_bool(v).map_or(Kind::Str, Kind::Bool),
            _ => Kind::Str,
        };
    }
    if let Some(k) = parse_int(v) {
        return k;
    }
    if !leading_zero_digits(v) {
        if let Some(f) = parse_float(v) {
            return Kind::Float(f);
        }
    }
    Kind::Str
}

fn is_merge_key(key: &Node) -> bool {
    matches!(key, Node::Scalar(Kind::Str, text, _) if text == "<<")
}

/// Whether the tree uses YAML merge keys (`<<: *anchor`).
pub(crate) fn has_merge_keys(node: &Node) -> bool {
    match node {
        Node::Scalar(..) => false,
        Node::Seq(items, _) => items.iter().any(has_merge_keys),
        Node::Map(entries, _) => entries
            .iter()
            .any(|(k, v)| is_merge_key(k) || has_merge_keys(v)),
    }
}

/// Applies YAML merge keys as Go's yaml.v3 does: the keys of the merged mapping (or of each
/// mapping of a merged list, earlier ones first) are added unless the mapping has them.
/// A merge of anything else is left in place, to be refused as an unknown key.
pub(crate) fn resolve_merges(node: &mut Node) {
    match node {
        Node::Scalar(..) => {}
        Node::Seq(items, _) => items.iter_mut().for_each(resolve_merges),
        Node::Map(entries, _) => {
            for (_, v) in entries.iter_mut() {
                resolve_merges(v);
            }
            let mergeable = |v: &Node| match v {
                Node::Map(..) => true,
                Node::Seq(items, _) => items.iter().all(|i| matches!(i, Node::Map(..))),
                _ => false,
            };
            if !entries.iter().any(|(k, v)| is_merge_key(k) && mergeable(v)) {
                return;
            }
            let (merges, mut own): (Vec<_>, Vec<_>) = std::mem::take(entries)
                .into_iter()
                .partition(|(k, v)| is_merge_key(k) && mergeable(v));
            for (_, source) in merges {
                let maps = match source {
                    Node::Map(m, _) => vec![m],
                    Node::Seq(items, _) => items
                        .into_iter()
                        .filter_map(|i| match i {
                            Node::Map(m, _) => Some(m),
                            _ => None,
                        })
                        .collect(),
                    Node::Scalar(..) => Vec::new(),
                };
                for map in maps {
                    for (k, v) in map {
                        if !own.iter().any(|(o, _)| o.same(&k)) {
                            own.push((k, v));
                        }
                    }
                }
            }
            *entries = own;
        }
    }
}

/// The position of every path in the tree, as the reader names paths (a key's path is
/// where the key is written). Built only when an SDL is refused.
pub(crate) fn positions(root: &Node) -> HashMap<String, Pos> {
    fn walk(node: &Node, path: &str, out: &mut HashMap<String, Pos>) {
        match node {
            Node::Scalar(..) => {}
            Node::Seq(items, _) => {
                for (i, item) in items.iter().enumerate() {
                    let mut p = path.to_owned();
                    push_index(&mut p, i);
                    out.insert(p.clone(), item.pos());
                    walk(item, &p, out);
                }
            }
            Node::Map(entries, _) => {
                for (k, v) in entries {
                    let key = match k {
                        Node::Scalar(Kind::Null, ..) => "",
                        Node::Scalar(_, text, _) => text,
                        _ => continue,
                    };
                    let mut p = path.to_owned();
                    push_key(&mut p, key);
                    out.insert(p.clone(), k.pos());
                    walk(v, &p, out);
                }
            }
        }
    }
    let mut out = HashMap::new();
    out.insert(String::new(), root.pos());
    walk(root, "", &mut out);
    out
}

/// The position for an issue's path: the path's own, else its nearest ancestor's.
pub(crate) fn locate(positions: &HashMap<String, Pos>, path: &str) -> Pos {
    let mut p = path;
    loop {
        if let Some(pos) = positions.get(p) {
            return *pos;
        }
        match p.rfind(['.', '[']) {
            Some(i) => p = &p[..i],
            None => return positions.get("").copied().unwrap_or_default(),
        }
    }
}
