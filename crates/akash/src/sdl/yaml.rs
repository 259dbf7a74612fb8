//! A YAML document as a plain tree whose scalars keep their source text.
//!
//! Go's yaml.v3 decodes a scalar into a string field from its source text (`1.10` stays
//! `"1.10"`, `True` stays `"True"`), and Akash parses quantities and prices from that text.
//! serde_yaml hands numbers and booleans to a visitor already converted, so the first pass
//! ([`parse`]) records each such scalar with the text Rust prints for its value. That text
//! is the source text unless the document uses one of the few spellings serde_yaml also
//! converts (see [`may_respell`]), or a float is read as a string. Only then does a second
//! pass ([`fill_source_text`]) walk the same shape and ask serde_yaml for every such scalar
//! as a string, which it answers with the source text. Parsing YAML dominates the cost of a
//! conversion, so most SDLs are parsed once.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::SdlError;

/// What a scalar resolved to under YAML's core schema.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
}

/// A YAML node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// A scalar: its resolved kind and its source text.
    Scalar(Kind, String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A short name of the node's type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::Scalar(Kind::Null, _) => "null",
            Node::Scalar(Kind::Bool(_), _) => "a boolean",
            Node::Scalar(Kind::Int(_), _) => "an integer",
            Node::Scalar(Kind::Float(_), _) => "a number",
            Node::Scalar(Kind::Str, _) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(Kind::Null, _))
    }
}

/// Parses one YAML document into a [`Node`] tree (first pass: texts of numbers and booleans
/// are as Rust prints their values).
pub(crate) fn parse(text: &str) -> Result<Node, SdlError> {
    let nodes = Cell::new(0);
    Shape(&nodes)
        .deserialize(serde_yaml::Deserializer::from_str(text))
        .map_err(syntax_error)
}

/// Replaces the text of every number and boolean with its source text (second pass).
pub(crate) fn fill_source_text(text: &str, node: &mut Node) -> Result<(), SdlError> {
    // A scalar document is refused anyway; only collections need their texts.
    if matches!(node, Node::Scalar(..)) {
        return Ok(());
    }
    let de = serde_yaml::Deserializer::from_str(text);
    TextSeed(node).deserialize(de).map_err(syntax_error)
}

fn syntax_error(e: serde_yaml::Error) -> SdlError {
    SdlError::Syntax {
        message: e.to_string(),
    }
}

/// Whether the document may spell an integer or boolean differently from how Rust prints
/// its value: a sign (`+5`, `-0`), a base prefix (`0x1f`, `0o17`, `0b1`), capitalised
/// booleans (`True`, `FALSE`) or an explicit tag (`!!int`). Conservative: any occurrence
/// anywhere in the text counts.
pub(crate) fn may_respell(text: &str) -> bool {
    text.contains(['+', '!'])
        || ["0x", "0o", "0b", "-0", "True", "TRUE", "False", "FALSE"]
            .iter()
            .any(|p| text.contains(p))
}

/// Whether a mapping key is a float, whose text Rust may print differently.
pub(crate) fn has_float_key(node: &Node) -> bool {
    match node {
        Node::Scalar(..) => false,
        Node::Seq(items) => items.iter().any(has_float_key),
        Node::Map(entries) => entries
            .iter()
            .any(|(k, v)| matches!(k, Node::Scalar(Kind::Float(_), _)) || has_float_key(v)),
    }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(key, Node::Scalar(Kind::Str, text) if text == "<<")
}

/// Whether the tree uses YAML merge keys (`<<: *anchor`).
pub(crate) fn has_merge_keys(node: &Node) -> bool {
    match node {
        Node::Scalar(..) => false,
        Node::Seq(items) => items.iter().any(has_merge_keys),
        Node::Map(entries) => entries
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
        Node::Seq(items) => items.iter_mut().for_each(resolve_merges),
        Node::Map(entries) => {
            for (_, v) in entries.iter_mut() {
                resolve_merges(v);
            }
            let mergeable = |v: &Node| match v {
                Node::Map(_) => true,
                Node::Seq(items) => items.iter().all(|i| matches!(i, Node::Map(_))),
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
                    Node::Map(m) => vec![m],
                    Node::Seq(items) => items
                        .into_iter()
                        .filter_map(|i| match i {
                            Node::Map(m) => Some(m),
                            _ => None,
                        })
                        .collect(),
                    Node::Scalar(..) => Vec::new(),
                };
                for map in maps {
                    for (k, v) in map {
                        if !own.iter().any(|(o, _)| o == &k) {
                            own.push((k, v));
                        }
                    }
                }
            }
            *entries = own;
        }
    }
}

/// Whether the tree holds any number or boolean (whose text may need the second pass).
pub(crate) fn has_converted_scalars(node: &Node) -> bool {
    match node {
        Node::Scalar(Kind::Int(_) | Kind::Float(_) | Kind::Bool(_), _) => true,
        Node::Scalar(..) => false,
        Node::Seq(items) => items.iter().any(has_converted_scalars),
        Node::Map(entries) => entries
            .iter()
            .any(|(k, v)| has_converted_scalars(k) || has_converted_scalars(v)),
    }
}

/// Most nodes a document may have. SDLs have hundreds; the limit stops aliases from
/// expanding a small text into a huge tree.
pub(crate) const MAX_NODES: usize = 100_000;

/// First pass: the shape of the document and the kind of every scalar, counting nodes
/// against [`MAX_NODES`].
struct Shape<'b>(&'b Cell<usize>);

impl Shape<'_> {
    fn count<E: de::Error>(&self) -> Result<(), E> {
        let n = self.0.get() + 1;
        self.0.set(n);
        if n > MAX_NODES {
            return Err(E::custom(format!(
                "the document has more than {MAX_NODES} nodes (after expanding aliases)"
            )));
        }
        Ok(())
    }

    fn scalar<E: de::Error>(&self, kind: Kind) -> Result<Node, E> {
        self.count()?;
        let text = match &kind {
            Kind::Null | Kind::Str => String::new(),
            Kind::Bool(b) => b.to_string(),
            Kind::Int(i) => i.to_string(),
            // Rust prints the shortest text that reads back as the same float.
            Kind::Float(f) => f.to_string(),
        };
        Ok(Node::Scalar(kind, text))
    }
}

impl<'de> DeserializeSeed<'de> for Shape<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shape<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value without tags")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.scalar(Kind::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.scalar(Kind::Int(i128::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.scalar(Kind::Int(i128::from(v)))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        self.scalar(Kind::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        self.scalar(match i128::try_from(v) {
            Ok(i) => Kind::Int(i),
            // Beyond any range an SDL allows; the float keeps it huge for the range checks.
            Err(_) => Kind::Float(v as f64),
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        self.scalar(Kind::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.count()?;
        Ok(Node::Scalar(Kind::Str, v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        self.count()?;
        Ok(Node::Scalar(Kind::Str, v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.scalar(Kind::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        self.scalar(Kind::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.count()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(Shape(self.0))? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.count()?;
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(k) = map.next_key_seed(Shape(self.0))? {
            let v = map.next_value_seed(Shape(self.0))?;
            entries.push((k, v));
        }
        Ok(Node::Map(entries))
    }
}

/// Second pass: fills in the source text of every non-string scalar, walking the same shape.
struct TextSeed<'a>(&'a mut Node);

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.0 {
            Node::Scalar(Kind::Str, _) => d.deserialize_ignored_any(de::IgnoredAny).map(|_| ()),
            Node::Scalar(_, text) => {
                *text = d.deserialize_str(TextVisitor)?;
                Ok(())
            }
            Node::Seq(items) => d.deserialize_seq(SeqText(items)),
            Node::Map(entries) => d.deserialize_map(MapText(entries)),
        }
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar")
    }

    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}

struct SeqText<'a>(&'a mut [Node]);

impl<'de> Visitor<'de> for SeqText<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for item in self.0.iter_mut() {
            if seq.next_element_seed(TextSeed(item))?.is_none() {
                return Err(de::Error::custom("yaml document changed between passes"));
            }
        }
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

struct MapText<'a>(&'a mut [(Node, Node)]);

impl<'de> Visitor<'de> for MapText<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        for (k, v) in self.0.iter_mut() {
            if map.next_key_seed(TextSeed(k))?.is_none() {
                return Err(de::Error::custom("yaml document changed between passes"));
            }
            map.next_value_seed(TextSeed(v))?;
        }
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(())
    }
}
