//! Quantities in Akash's units: CPU, byte sizes, durations and coin amounts.
//!
//! Each type keeps the user's spelling (so `get -o yaml` shows what was applied) and the parsed
//! value. Parsing follows Akash's Go SDL rules so that a spec that validates here renders to an
//! SDL that Akash accepts.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The user's spelling of a quantity: a YAML number or a string.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    Number(serde_json::Number),
    Text(String),
}

impl Raw {
    fn as_text(&self) -> Cow<'_, str> {
        match self {
            Raw::Number(n) => Cow::Owned(n.to_string()),
            Raw::Text(s) => Cow::Borrowed(s),
        }
    }
}

impl Serialize for Raw {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Raw::Number(n) => n.serialize(s),
            Raw::Text(t) => s.serialize_str(t),
        }
    }
}

struct RawVisitor;

impl Visitor<'_> for RawVisitor {
    type Value = Raw;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Number(v.into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        serde_json::Number::from_f64(v)
            .map(Raw::Number)
            .ok_or_else(|| E::custom("expected a finite number"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_string()))
    }
}

fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
    d.deserialize_any(RawVisitor)
}

/// Splits `text` into a non-negative decimal number and the suffix after it.
fn split_number(text: &str) -> Option<(&str, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, rest) = text.split_at(end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    Some((num, rest))
}

macro_rules! quantity_serde {
    ($ty:ident, $parse:path, $schema_name:literal, $schema:tt) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.raw.serialize(s)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = raw(d)?;
                $parse(&raw.as_text())
                    .map(|value| $ty { raw, value })
                    .map_err(de::Error::custom)
            }
        }
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($schema_name)
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.raw.as_text())
            }
        }
    };
}

/// CPU in Akash units: `0.5`, `500m` or `2`. Stored as thousandths of a core.
#[derive(Debug, Clone, PartialEq)]
pub struct Cpu {
    raw: Raw,
    value: u32,
}

impl Cpu {
    /// Thousandths of a core, as Akash's `cpu.units` counts them.
    pub fn millis(&self) -> u32 {
        self.value
    }
}

/// Parses a CPU quantity as Akash's Go SDL does: `500m` is 500 millicores; otherwise the
/// number of cores times 1000, truncated.
pub fn parse_cpu(text: &str) -> Result<u32, String> {
    const EXPECTED: &str = "expected a CPU quantity such as 0.5, 500m or 2";
    let t = text.trim();
    let value = if let Some(m) = t.strip_suffix('m') {
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("invalid CPU quantity `{text}`: {EXPECTED}"));
        }
        m.parse::<u64>().unwrap_or(u64::MAX)
    } else {
        match split_number(t) {
            Some((n, "")) => {
                let f: f64 = n
                    .parse()
                    .map_err(|_| format!("invalid CPU quantity `{text}`: {EXPECTED}"))?;
                let millis = f * 1000.0;
                if millis >= u32::MAX as f64 {
                    u64::MAX
                } else {
                    millis as u64
                }
            }
            _ if t.starts_with('-') => {
                return Err(format!("CPU quantity `{text}` is negative: {EXPECTED}"))
            }
            _ => return Err(format!("invalid CPU quantity `{text}`: {EXPECTED}")),
        }
    };
    if value == 0 {
        return Err(format!(
            "CPU quantity `{text}` is zero: at least 1m (0.001 of a core) is needed"
        ));
    }
    u32::try_from(value).map_err(|_| format!("CPU quantity `{text}` is too large"))
}

quantity_serde!(Cpu, parse_cpu, "Cpu", {
    "description": "CPU in Akash units: a number of cores such as 0.5 or 2, or millicores such as \"500m\".",
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?|\\.[0-9]+|[0-9]+m)$"}
    ]
});

/// A size in bytes with Akash's suffixes: `k`, `Ki`, `M`, `Mi`, `G`, `Gi`, `T`, `Ti`, `P`,
/// `Pi`, `E`, `Ei` (case-sensitive, as in Akash's Go SDL); no suffix means bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ByteSize {
    raw: Raw,
    value: u64,
}

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(&self) -> u64 {
        self.value
    }
}

const SIZE_SUFFIXES: [(&str, u64); 12] = [
    ("k", 1000),
    ("Ki", 1 << 10),
    ("M", 1_000_000),
    ("Mi", 1 << 20),
    ("G", 1_000_000_000),
    ("Gi", 1 << 30),
    ("T", 1_000_000_000_000),
    ("Ti", 1 << 40),
    ("P", 1_000_000_000_000_000),
    ("Pi", 1 << 50),
    ("E", 1_000_000_000_000_000_000),
    ("Ei", 1 << 60),
];

/// Parses a byte size as Akash's Go SDL does (the number times the unit, truncated).
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    const EXPECTED: &str = "expected a size such as 512Mi, 1Gi or 1G (suffixes k, Ki, M, Mi, G, Gi, T, Ti, P, Pi, E, Ei; none means bytes)";
    let t = text.trim();
    let Some((num, suffix)) = split_number(t) else {
        return Err(format!("invalid size `{text}`: {EXPECTED}"));
    };
    let unit = if suffix.is_empty() {
        1
    } else if let Some((_, u)) = SIZE_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        *u
    } else {
        return Err(format!(
            "invalid size `{text}`: unknown suffix `{suffix}`; {EXPECTED}"
        ));
    };
    let bytes = if num.contains('.') {
        let f: f64 = num
            .parse()
            .map_err(|_| format!("invalid size `{text}`: {EXPECTED}"))?;
        let b = f * unit as f64;
        if b >= u64::MAX as f64 {
            return Err(format!("size `{text}` is too large"));
        }
        b as u64
    } else {
        let n: u64 = num
            .parse()
            .map_err(|_| format!("size `{text}` is too large"))?;
        n.checked_mul(unit)
            .ok_or_else(|| format!("size `{text}` is too large"))?
    };
    if bytes == 0 {
        return Err(format!("size `{text}` is zero: a positive size is needed"));
    }
    Ok(bytes)
}

quantity_serde!(ByteSize, parse_byte_size, "ByteSize", {
    "description": "A size in bytes: a number, or a number with one of Akash's suffixes k, Ki, M, Mi, G, Gi, T, Ti, P, Pi, E, Ei (e.g. \"512Mi\", \"1Gi\", \"1G\").",
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?|\\.[0-9]+)(k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"}
    ]
});

/// A duration such as `30s`, `5m`, `24h`, `1h30m`, `250ms` or `2d`.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationSpec {
    raw: Raw,
    value: Duration,
}

impl DurationSpec {
    /// The duration.
    pub fn duration(&self) -> Duration {
        self.value
    }
}

/// Parses a duration made of `<integer><unit>` parts (units `ms`, `s`, `m`, `h`, `d`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a duration such as 30s, 5m, 24h, 1h30m or 250ms";
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("empty duration: {EXPECTED}"));
    }
    let mut rest = t;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("duration `{text}` lacks a unit: {EXPECTED}"))?;
        if end == 0 {
            return Err(format!("invalid duration `{text}`: {EXPECTED}"));
        }
        let n: u128 = rest[..end]
            .parse()
            .map_err(|_| format!("duration `{text}` is too large"))?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let millis_per = match &rest[..unit_end] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            other => {
                return Err(format!(
                    "invalid duration `{text}`: unknown unit `{other}`; {EXPECTED}"
                ))
            }
        };
        rest = &rest[unit_end..];
        total = total.saturating_add(n.saturating_mul(millis_per));
    }
    if total == 0 {
        return Err(format!(
            "duration `{text}` is zero: a positive duration is needed"
        ));
    }
    let millis = u64::try_from(total).map_err(|_| format!("duration `{text}` is too large"))?;
    Ok(Duration::from_millis(millis))
}

quantity_serde!(DurationSpec, parse_duration, "Duration", {
    "description": "A duration: integers with units ms, s, m, h, d, such as \"30s\", \"5m\", \"24h\" or \"1h30m\".",
    "type": "string",
    "pattern": "^([0-9]+(ms|s|m|h|d))+$"
});

/// A coin amount such as `5000000uact`, `0.5uact` or a bare number (in `uact`).
#[derive(Debug, Clone, PartialEq)]
pub struct CoinAmount {
    raw: Raw,
    value: Coin,
}

/// A parsed coin amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coin {
    /// The amount as decimal text without a sign, e.g. `1000` or `0.25`.
    pub amount: String,
    /// The denomination, e.g. `uact`.
    pub denom: String,
}

impl CoinAmount {
    /// The parsed amount and denomination.
    pub fn coin(&self) -> &Coin {
        &self.value
    }
}

/// The denomination deployments are priced and funded in since Akash's BME upgrade.
pub const DEFAULT_DENOM: &str = "uact";

/// Parses `<decimal>[denom]`; the denomination defaults to `uact`.
pub fn parse_coin(text: &str) -> Result<Coin, String> {
    const EXPECTED: &str =
        "expected an amount such as 1000, \"1000uact\", \"0.5uact\" or \"1000ibc/<hash>\"";
    let t = text.trim();
    let Some((num, denom)) = split_number(t) else {
        return Err(format!("invalid amount `{text}`: {EXPECTED}"));
    };
    // `1e309` (a YAML float too large to be one, or any number in scientific notation)
    // would otherwise read as 1 of a denomination `e309`.
    let exponent = denom
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .is_some_and(|e| e.starts_with(|c: char| c.is_ascii_digit()));
    if exponent {
        return Err(format!(
            "amount `{text}` is in scientific notation: write the digits out, e.g. 1000 or \"5000000uact\" (Akash amounts are at most 60 digits)"
        ));
    }
    let denom = if denom.is_empty() {
        DEFAULT_DENOM
    } else {
        denom
    };
    let valid_denom = denom.len() >= 3
        && denom.len() <= 128
        && denom.starts_with(|c: char| c.is_ascii_alphabetic())
        && denom
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | ':' | '.' | '_' | '-'));
    if !valid_denom {
        return Err(format!(
            "invalid denomination `{denom}` in `{text}`: {EXPECTED}"
        ));
    }
    if num.trim_matches(|c| c == '0' || c == '.').is_empty() {
        return Err(format!(
            "amount `{text}` is zero: a positive amount is needed"
        ));
    }
    if let Some((_, frac)) = num.split_once('.') {
        if frac.len() > 18 {
            return Err(format!(
                "amount `{text}` has more than 18 decimal places, more than Akash's decimals hold"
            ));
        }
    }
    if num.len() > 60 {
        return Err(format!("amount `{text}` is too large"));
    }
    Ok(Coin {
        amount: num.to_string(),
        denom: denom.to_string(),
    })
}

quantity_serde!(CoinAmount, parse_coin, "CoinAmount", {
    "description": "An amount with an optional denomination (default uact): 1000, \"1000uact\", \"0.5uact\".",
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?|\\.[0-9]+)([a-zA-Z][a-zA-Z0-9/:._-]{2,127})?$"}
    ]
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_units_follow_go() {
        assert_eq!(parse_cpu("0.5"), Ok(500));
        assert_eq!(parse_cpu("500m"), Ok(500));
        assert_eq!(parse_cpu("2"), Ok(2000));
        assert_eq!(parse_cpu("1.001"), Ok(1000));
        assert_eq!(parse_cpu("0.0015"), Ok(1));
        assert!(parse_cpu("0").unwrap_err().contains("zero"));
        assert!(parse_cpu("-1").unwrap_err().contains("negative"));
        assert!(parse_cpu("1.5m").is_err());
        assert!(parse_cpu("abc").unwrap_err().contains("0.5, 500m or 2"));
        assert!(parse_cpu("99999999999").unwrap_err().contains("too large"));
    }

    #[test]
    fn sizes_follow_go() {
        assert_eq!(parse_byte_size("512Mi"), Ok(512 << 20));
        assert_eq!(parse_byte_size("1Gi"), Ok(1 << 30));
        assert_eq!(parse_byte_size("1G"), Ok(1_000_000_000));
        assert_eq!(parse_byte_size("1k"), Ok(1000));
        assert_eq!(parse_byte_size("1Ki"), Ok(1024));
        assert_eq!(parse_byte_size("2T"), Ok(2_000_000_000_000));
        assert_eq!(parse_byte_size("1Ei"), Ok(1 << 60));
        assert_eq!(parse_byte_size("1234"), Ok(1234));
        assert_eq!(parse_byte_size("0.01Gi"), Ok(10_737_418));
        assert!(parse_byte_size("1gb")
            .unwrap_err()
            .contains("unknown suffix `gb`"));
        assert!(parse_byte_size("1K").is_err());
        assert!(parse_byte_size("20Ei").unwrap_err().contains("too large"));
        assert!(parse_byte_size("0Mi").unwrap_err().contains("zero"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("30").unwrap_err().contains("lacks a unit"));
        assert!(parse_duration("3w")
            .unwrap_err()
            .contains("unknown unit `w`"));
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
    }

    #[test]
    fn coins_default_to_uact() {
        let c = parse_coin("1000").unwrap();
        assert_eq!((c.amount.as_str(), c.denom.as_str()), ("1000", "uact"));
        let c = parse_coin("0.25uakt").unwrap();
        assert_eq!((c.amount.as_str(), c.denom.as_str()), ("0.25", "uakt"));
        assert!(parse_coin("0uact").unwrap_err().contains("zero"));
        assert!(parse_coin("-5").is_err());
        assert!(parse_coin("5u").unwrap_err().contains("denomination"));
        for sci in ["1e309", "1E5", "2e+10uact", "3e-2"] {
            assert!(
                parse_coin(sci).unwrap_err().contains("scientific notation"),
                "{sci}"
            );
        }
        assert_eq!(parse_coin("1000ibc/e27").unwrap().denom, "ibc/e27");
    }

    #[test]
    fn quantities_keep_the_users_spelling() {
        let c: Cpu = serde_json::from_value(serde_json::json!(0.5)).unwrap();
        assert_eq!(c.millis(), 500);
        assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::json!(0.5));
        let s: ByteSize = serde_json::from_value(serde_json::json!("1Gi")).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), serde_json::json!("1Gi"));
        let e = serde_json::from_value::<ByteSize>(serde_json::json!(true)).unwrap_err();
        assert!(e.to_string().contains("a number or a string"), "{e}");
    }
}
