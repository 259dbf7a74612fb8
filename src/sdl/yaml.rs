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
    serde_yaml::from_str::<Shape>(text)
        .map(|s| s.0)
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

/// First pass: the shape of the document and the kind of every scalar.
struct Shape(Node);

impl<'de> de::Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor).map(Shape)
    }
}

struct ShapeVisitor;

fn scalar(kind: Kind) -> Node {
    let text = match &kind {
        Kind::Null | Kind::Str => String::new(),
        Kind::Bool(b) => b.to_string(),
        Kind::Int(i) => i.to_string(),
        // Rust prints the shortest text that reads back as the same float.
        Kind::Float(f) => f.to_string(),
    };
    Node::Scalar(kind, text)
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value without tags")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(scalar(Kind::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(scalar(Kind::Int(i128::from(v))))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(scalar(Kind::Int(i128::from(v))))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(scalar(Kind::Int(v)))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(scalar(match i128::try_from(v) {
            Ok(i) => Kind::Int(i),
            // Beyond any range an SDL allows; the float keeps it huge for the range checks.
            Err(_) => Kind::Float(v as f64),
        }))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(scalar(Kind::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Kind::Str, v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(Kind::Str, v))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(scalar(Kind::Null))
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(scalar(Kind::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Shape(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((Shape(k), Shape(v))) = map.next_entry()? {
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
