//! Proto-JSON of the messages events carry, as Cosmos' `codec.ProtoMarshalJSON` writes it
//! (gogoproto `jsonpb` with `OrigName` and `EmitDefaults`):
//!
//! * field names as in the proto file, in field-number order, every field present;
//! * `uint64`/`int64` as decimal strings, `uint32`/`int32` as numbers, `bool` as `true`/`false`;
//! * enums by value name (`"lease_closed_owner"`), by number when the value is unknown;
//! * `bytes` as standard base64 with padding, empty as `null` (Go's nil slice);
//! * `LegacyDec` as 18-place decimal text (`"10.000000000000000000"`), `math.Int` as a string;
//! * an absent nullable message as `null`;
//! * Go's `encoding/json` escaping: `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes.
//!
//! Decoding is as lenient as `jsonpb.Unmarshal`: a missing field or `null` is the zero value,
//! 64-bit integers may be numbers or strings, enums names or numbers, unknown fields are
//! ignored. Anything else of the wrong type is an error naming the field's path.

use serde_json::{Map, Value};

use super::base::{legacy_dec, Coin};
use crate::sdl::DecCoin;

/// A proto enum: its value names.
pub trait ProtoEnum {
    /// The name of `value`, if it is a known value.
    fn name_of(value: i32) -> Option<&'static str>;
    /// The value named `name`, if any.
    fn value_of(name: &str) -> Option<i32>;
}

/// A message with a proto-JSON form.
pub trait ProtoJson: Sized {
    /// The proto-JSON object.
    fn to_json(&self) -> Value;
    /// Reads the proto-JSON object; `path` names it in errors (`id`, `price`, ...).
    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError>;
}

/// Proto-JSON that does not fit the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct JsonError {
    /// Where, e.g. `id.dseq`.
    pub path: String,
    /// What is wrong, e.g. `expected a uint64 as a decimal string, found true`.
    pub problem: String,
}

impl JsonError {
    fn new(path: &str, problem: impl Into<String>) -> JsonError {
        JsonError {
            path: path.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Builds a proto-JSON object field by field, in field-number order.
#[derive(Default)]
pub(crate) struct ObjectWriter(Map<String, Value>);

impl ObjectWriter {
    pub(crate) fn new() -> Self {
        ObjectWriter::default()
    }

    pub(crate) fn string(mut self, key: &str, v: &str) -> Self {
        self.0.insert(key.to_owned(), Value::String(v.to_owned()));
        self
    }

    pub(crate) fn u64(self, key: &str, v: u64) -> Self {
        self.string(key, &v.to_string())
    }

    pub(crate) fn i64(self, key: &str, v: i64) -> Self {
        self.string(key, &v.to_string())
    }

    pub(crate) fn u32(mut self, key: &str, v: u32) -> Self {
        self.0.insert(key.to_owned(), Value::from(v));
        self
    }

    pub(crate) fn bytes(mut self, key: &str, v: &[u8]) -> Self {
        let value = if v.is_empty() {
            Value::Null
        } else {
            Value::String(base64_encode(v))
        };
        self.0.insert(key.to_owned(), value);
        self
    }

    pub(crate) fn enumeration<E: ProtoEnum>(mut self, key: &str, v: i32) -> Self {
        let value = match E::name_of(v) {
            Some(name) => Value::String(name.to_owned()),
            None => Value::from(v),
        };
        self.0.insert(key.to_owned(), value);
        self
    }

    pub(crate) fn legacy_dec(self, key: &str, scaled: &str) -> Self {
        let decimal = if scaled.is_empty() {
            legacy_dec::to_decimal("0")
        } else {
            legacy_dec::to_decimal(scaled)
        };
        self.string(key, &decimal)
    }

    pub(crate) fn message<T: ProtoJson>(mut self, key: &str, v: &T) -> Self {
        self.0.insert(key.to_owned(), v.to_json());
        self
    }

    pub(crate) fn optional<T: ProtoJson>(mut self, key: &str, v: Option<&T>) -> Self {
        self.0
            .insert(key.to_owned(), v.map_or(Value::Null, ProtoJson::to_json));
        self
    }

    pub(crate) fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// Reads the fields of a proto-JSON object.
pub(crate) struct ObjectReader<'a> {
    map: Option<&'a Map<String, Value>>,
    path: &'a str,
}

impl<'a> ObjectReader<'a> {
    /// `null` reads as an object with every field missing.
    pub(crate) fn new(value: &'a Value, path: &'a str) -> Result<Self, JsonError> {
        match value {
            Value::Object(map) => Ok(ObjectReader {
                map: Some(map),
                path,
            }),
            Value::Null => Ok(ObjectReader { map: None, path }),
            other => Err(JsonError::new(
                path,
                format!("expected an object, found {}", kind(other)),
            )),
        }
    }

    fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> JsonError {
        JsonError::new(
            &self.path(key),
            format!("expected {expected}, found {}", kind(found)),
        )
    }

    pub(crate) fn string(&self, key: &str) -> Result<String, JsonError> {
        match self.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    fn integer(&self, key: &str, what: &str) -> Result<Option<i128>, JsonError> {
        let parsed = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(s)) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    s.parse::<i128>().ok()
                }
            }
            Some(Value::Number(n)) => n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from)),
            Some(_) => None,
        };
        match parsed {
            Some(v) => Ok(Some(v)),
            None => Err(self.wrong(key, what, self.get(key).unwrap_or(&Value::Null))),
        }
    }

    fn ranged<T: TryFrom<i128>>(&self, key: &str, what: &str) -> Result<T, JsonError> {
        match self.integer(key, what)? {
            None => T::try_from(0).map_err(|_| JsonError::new(&self.path(key), "no zero")),
            Some(v) => T::try_from(v)
                .map_err(|_| JsonError::new(&self.path(key), format!("{v} is not {what}"))),
        }
    }

    pub(crate) fn u64(&self, key: &str) -> Result<u64, JsonError> {
        self.ranged(key, "a uint64")
    }

    pub(crate) fn i64(&self, key: &str) -> Result<i64, JsonError> {
        self.ranged(key, "an int64")
    }

    pub(crate) fn u32(&self, key: &str) -> Result<u32, JsonError> {
        self.ranged(key, "a uint32")
    }

    pub(crate) fn bytes(&self, key: &str) -> Result<Vec<u8>, JsonError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => base64_decode(s)
                .ok_or_else(|| JsonError::new(&self.path(key), format!("{s:?} is not base64"))),
            Some(other) => Err(self.wrong(key, "a base64 string", other)),
        }
    }

    pub(crate) fn enumeration<E: ProtoEnum>(&self, key: &str) -> Result<i32, JsonError> {
        match self.get(key) {
            None => Ok(0),
            Some(Value::String(s)) => E::value_of(s).ok_or_else(|| {
                JsonError::new(&self.path(key), format!("{s:?} is not a value of the enum"))
            }),
            Some(Value::Number(_)) => self.ranged(key, "an enum number"),
            Some(other) => Err(self.wrong(key, "an enum name", other)),
        }
    }

    /// A `LegacyDec` (decimal text in JSON) as scaled integer text.
    pub(crate) fn legacy_dec(&self, key: &str) -> Result<String, JsonError> {
        match self.get(key) {
            None => Ok("0".to_owned()),
            Some(Value::String(s)) => legacy_dec::from_decimal(s).ok_or_else(|| {
                JsonError::new(
                    &self.path(key),
                    format!("{s:?} is not a decimal with at most 18 places"),
                )
            }),
            Some(other) => Err(self.wrong(key, "a decimal string", other)),
        }
    }

    pub(crate) fn message<T: ProtoJson + Default>(&self, key: &str) -> Result<T, JsonError> {
        Ok(self.optional(key)?.unwrap_or_default())
    }

    pub(crate) fn optional<T: ProtoJson>(&self, key: &str) -> Result<Option<T>, JsonError> {
        self.get(key)
            .map(|v| T::from_json(v, &self.path(key)))
            .transpose()
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Compact JSON text with Go's `encoding/json` escaping of `<`, `>`, `&`, U+2028, U+2029.
pub(crate) fn to_go_json(value: &Value) -> String {
    let text = value.to_string();
    // These characters can only occur inside JSON strings, where the escape means the same.
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 that decodes with or without padding, as Go's `encoding/json` output and
/// hand-written JSON both appear.
const STANDARD_ANY_PAD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Standard base64 with padding (Go's `base64.StdEncoding`, which `encoding/json` uses).
pub fn base64_encode(data: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, data)
}

/// Decodes standard base64; padding is optional, other characters are refused.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    base64::Engine::decode(&STANDARD_ANY_PAD, text).ok()
}

impl ProtoJson for DecCoin {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .string("denom", &self.denom)
            .legacy_dec("amount", &self.amount)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(DecCoin {
            denom: r.string("denom")?,
            amount: r.legacy_dec("amount")?,
        })
    }
}

impl ProtoJson for Coin {
    fn to_json(&self) -> Value {
        let amount = if self.amount.is_empty() {
            "0"
        } else {
            &self.amount
        };
        ObjectWriter::new()
            .string("denom", &self.denom)
            .string("amount", amount)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        let amount = r.string("amount")?;
        if !amount.is_empty() && !legacy_dec::is_scaled(&amount) {
            return Err(JsonError::new(
                &r.path("amount"),
                format!("{amount:?} is not an integer"),
            ));
        }
        Ok(Coin {
            denom: r.string("denom")?,
            amount,
        })
    }
}
