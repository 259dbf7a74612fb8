//! Deployment group types: `akash.deployment.v1beta4.GroupSpec` and what it contains.
//!
//! Each type derives both `prost::Message` (the chain's protobuf wire form, field numbers
//! from the Akash protos) and serde (the JSON form Go's `encoding/json` gives these types,
//! as in chain-sdk's `group-specs.json` fixtures). One struct serves both forms; where they
//! differ the struct holds the protobuf value and serde converts:
//!
//! * `ResourceValue.val` is `bytes` holding ASCII decimal text on the wire, a JSON string.
//! * `DecCoin.amount` is a Cosmos `LegacyDec`: on the wire the integer scaled by 10^18
//!   (`"10000000000000000000"` for 10), in JSON the decimal (`"10.000000000000000000"`).
//! * JSON names follow Go's tags: `quantity` is `size`, empty attribute lists are omitted
//!   or `null` as Go prints them, endpoint `kind` is omitted when 0.
//!
//! Fields that gogoproto declares non-nullable are `required` here, so prost always emits
//! them, as Go does.

use serde::{Deserialize, Deserializer, Serialize};

use super::units::format_dec;

/// `akash.base.attributes.v1.Attribute`: a key/value pair.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message, Serialize, Deserialize)]
pub struct Attribute {
    /// Attribute key, e.g. `region` or `vendor/nvidia/model/a100`.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Attribute value (Go omits it from JSON when empty).
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

impl Attribute {
    /// An attribute from a key and a value.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// `akash.base.attributes.v1.SignedBy`: auditors whose signatures a provider needs.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct SignedBy {
    /// Every one of these auditors must have signed the attributes.
    #[prost(string, repeated, tag = "1")]
    #[serde(default, with = "null_if_empty")]
    pub all_of: Vec<String>,
    /// At least one of these auditors must have signed the attributes.
    #[prost(string, repeated, tag = "2")]
    #[serde(default, with = "null_if_empty")]
    pub any_of: Vec<String>,
}

/// `akash.base.attributes.v1.PlacementRequirements`: which providers may bid.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct PlacementRequirements {
    /// Required auditor signatures.
    #[prost(message, required, tag = "1")]
    #[serde(default)]
    pub signed_by: SignedBy,
    /// Provider attributes required, sorted by key.
    #[prost(message, repeated, tag = "2")]
    #[serde(default, with = "null_if_empty")]
    pub attributes: Vec<Attribute>,
}

impl PlacementRequirements {
    /// Go's `Order.MatchRequirements`: every auditor of `all_of` and one of `any_of` (when
    /// any are named) has signed for the provider (`signed`), and the provider holds every
    /// required attribute, its own or audited (`has(key, value)`).
    pub fn matched_by(
        &self,
        signed: impl Fn(&str) -> bool,
        has: impl Fn(&str, &str) -> bool,
    ) -> bool {
        self.signed_by.all_of.iter().all(|a| signed(a))
            && (self.signed_by.any_of.is_empty() || self.signed_by.any_of.iter().any(|a| signed(a)))
            && self.attributes.iter().all(|a| has(&a.key, &a.value))
    }
}

/// `akash.base.resources.v1beta4.ResourceValue`: an unsigned integer as ASCII decimal bytes.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct ResourceValue {
    /// Decimal digits of the value, e.g. `b"500"`; `b"0"` for zero.
    #[prost(bytes = "vec", tag = "1")]
    #[serde(with = "decimal_bytes")]
    pub val: Vec<u8>,
}

impl ResourceValue {
    /// The value of an integer.
    pub fn new(value: u64) -> ResourceValue {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = value;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        ResourceValue {
            val: digits[start..].to_vec(),
        }
    }

    /// The integer, if the bytes are decimal digits that fit a `u64`.
    pub fn value(&self) -> Option<u64> {
        std::str::from_utf8(&self.val).ok()?.parse().ok()
    }
}

/// `akash.base.resources.v1beta4.CPU`: millicores per replica.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct Cpu {
    /// Millicores (1000 = one core).
    #[prost(message, required, tag = "1")]
    pub units: ResourceValue,
    /// CPU attributes (only `arch` comes from an SDL).
    #[prost(message, repeated, tag = "2")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// `akash.base.resources.v1beta4.GPU`: GPUs per replica.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct Gpu {
    /// Number of GPUs.
    #[prost(message, required, tag = "1")]
    pub units: ResourceValue,
    /// GPU attributes such as `vendor/nvidia/model/a100` = `true`.
    #[prost(message, repeated, tag = "2")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// `akash.base.resources.v1beta4.Memory`: bytes of memory per replica.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct Memory {
    /// Bytes (protobuf field `quantity`, JSON `size`).
    #[prost(message, required, tag = "1")]
    #[serde(rename = "size")]
    pub quantity: ResourceValue,
    /// Memory attributes (none come from an SDL).
    #[prost(message, repeated, tag = "2")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// `akash.base.resources.v1beta4.Storage`: one volume per replica.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct Storage {
    /// Volume name (`default` when the SDL gives none).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Bytes (protobuf field `quantity`, JSON `size`).
    #[prost(message, required, tag = "2")]
    #[serde(rename = "size")]
    pub quantity: ResourceValue,
    /// `class` and `persistent`, sorted by key.
    #[prost(message, repeated, tag = "3")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// `akash.base.resources.v1beta4.Endpoint.Kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum EndpointKind {
    /// Served through the provider's shared HTTP ingress (TCP, external port 80).
    SharedHttp = 0,
    /// A random external port on the provider.
    RandomPort = 1,
    /// A leased IP address.
    LeasedIp = 2,
}

/// `akash.base.resources.v1beta4.Endpoint`: one network endpoint a unit needs.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message, Serialize, Deserialize)]
pub struct Endpoint {
    /// An [`EndpointKind`] as its protobuf number (Go omits it from JSON when 0).
    #[prost(enumeration = "EndpointKind", tag = "1")]
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub kind: i32,
    /// For leased IPs, the endpoint's sequence number; 0 otherwise.
    #[prost(uint32, tag = "2")]
    #[serde(default)]
    pub sequence_number: u32,
}

/// `akash.base.resources.v1beta4.Resources`: what one replica of a unit needs.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct Resources {
    /// Unit id within the group, from 1; manifest services refer to it.
    #[prost(uint32, tag = "1")]
    pub id: u32,
    /// CPU.
    #[prost(message, optional, tag = "2")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// Memory.
    #[prost(message, optional, tag = "3")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// Storage volumes, in Go's order (size, then persistence, then name).
    #[prost(message, repeated, tag = "4")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<Storage>,
    /// GPU (`units` 0 when the SDL asks for none).
    #[prost(message, optional, tag = "5")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<Gpu>,
    /// Endpoints the exposes of the unit's services need.
    #[prost(message, repeated, tag = "6")]
    #[serde(default, deserialize_with = "null_as_empty")]
    pub endpoints: Vec<Endpoint>,
}

/// `cosmos.base.v1beta1.DecCoin`: an amount of a denomination with 18 decimal places.
///
/// `amount` holds the protobuf wire form, the `LegacyDec` integer scaled by 10^18
/// (`"10000000000000000000"` for 10); JSON shows the decimal form (`"10.000000000000000000"`).
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct DecCoin {
    /// Denomination, e.g. `uact`.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub denom: String,
    /// The amount scaled by 10^18, as decimal digits (optionally with a leading `-`).
    #[prost(string, tag = "2")]
    #[serde(with = "legacy_dec")]
    pub amount: String,
}

impl DecCoin {
    /// A coin from a denomination and an amount already scaled by 10^18.
    pub fn from_scaled(denom: impl Into<String>, scaled: u128) -> DecCoin {
        DecCoin {
            denom: denom.into(),
            amount: scaled.to_string(),
        }
    }

    /// The amount as Go prints a `LegacyDec`, e.g. `"10.000000000000000000"`.
    pub fn amount_decimal(&self) -> String {
        legacy_dec::to_decimal(&self.amount)
    }
}

/// `akash.deployment.v1beta4.ResourceUnit`: `count` replicas of `resource` at `price` each.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct ResourceUnit {
    /// What one replica needs.
    #[prost(message, required, tag = "1")]
    pub resource: Resources,
    /// Number of replicas.
    #[prost(uint32, tag = "2")]
    pub count: u32,
    /// Price per replica per block.
    #[prost(message, required, tag = "3")]
    pub price: DecCoin,
}

/// `akash.deployment.v1beta4.GroupSpec`: one deployment group (one SDL placement).
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize, Deserialize)]
pub struct GroupSpec {
    /// The placement name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Which providers may bid.
    #[prost(message, required, tag = "2")]
    pub requirements: PlacementRequirements,
    /// The units, with ids 1, 2, ...
    #[prost(message, repeated, tag = "3")]
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resources: Vec<ResourceUnit>,
}

macro_rules! proto_name {
    ($($ty:ident => $package:literal, $name:literal;)*) => {$(
        impl prost::Name for $ty {
            const NAME: &'static str = $name;
            const PACKAGE: &'static str = $package;
        }
    )*};
}

proto_name! {
    Attribute => "akash.base.attributes.v1", "Attribute";
    SignedBy => "akash.base.attributes.v1", "SignedBy";
    PlacementRequirements => "akash.base.attributes.v1", "PlacementRequirements";
    ResourceValue => "akash.base.resources.v1beta4", "ResourceValue";
    Cpu => "akash.base.resources.v1beta4", "CPU";
    Gpu => "akash.base.resources.v1beta4", "GPU";
    Memory => "akash.base.resources.v1beta4", "Memory";
    Storage => "akash.base.resources.v1beta4", "Storage";
    Endpoint => "akash.base.resources.v1beta4", "Endpoint";
    Resources => "akash.base.resources.v1beta4", "Resources";
    DecCoin => "cosmos.base.v1beta1", "DecCoin";
    ResourceUnit => "akash.deployment.v1beta4", "ResourceUnit";
    GroupSpec => "akash.deployment.v1beta4", "GroupSpec";
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Go prints a nil list as `null`; the SDL builder leaves these lists nil when empty.
mod null_if_empty {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer, T: Serialize>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        if v.is_empty() {
            s.serialize_none()
        } else {
            v.serialize(s)
        }
    }

    pub(super) fn deserialize<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        super::null_as_empty(d)
    }
}

/// `math.Int` bytes as a JSON string of decimal digits.
mod decimal_bytes {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let digits = text.strip_prefix('-').unwrap_or(&text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(D::Error::custom(format!(
                "resource value {text:?} is not a decimal integer"
            )));
        }
        Ok(text.into_bytes())
    }
}

/// `LegacyDec`: scaled integer text on the wire, 18-place decimal text in JSON.
pub(crate) mod legacy_dec {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Scaled integer text (`"1500000000000000000"`) to decimal text (`"1.500000000000000000"`).
    pub(crate) fn to_decimal(scaled: &str) -> String {
        let (sign, digits) = match scaled.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("", scaled),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            // Not a LegacyDec; show it unchanged rather than invent a value.
            return scaled.to_owned();
        }
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            return super::format_dec(0);
        }
        if let Ok(v) = digits.parse::<u128>() {
            return format!("{sign}{}", super::format_dec(v));
        }
        // Beyond u128: place the point by string arithmetic.
        let padded = format!("{digits:0>19}");
        let (int, frac) = padded.split_at(padded.len() - 18);
        format!("{sign}{int}.{frac}")
    }

    /// Decimal text with at most 18 places to scaled integer text.
    pub(crate) fn to_scaled(decimal: &str) -> Option<String> {
        let (sign, rest) = match decimal.strip_prefix('-') {
            Some(r) => ("-", r),
            None => ("", decimal),
        };
        let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 18 {
            return None;
        }
        // `LegacyNewDecFromStr` refuses a point without decimals ("1.").
        if rest.contains('.') && frac.is_empty() {
            return None;
        }
        let mut out = format!("{int}{frac:0<18}");
        let trimmed = out.trim_start_matches('0').len();
        if trimmed == 0 {
            return Some("0".to_owned());
        }
        out.drain(..out.len() - trimmed);
        Some(format!("{sign}{out}"))
    }

    pub(super) fn serialize<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_decimal(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let text = String::deserialize(d)?;
        to_scaled(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not a decimal amount")))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) use super::legacy_dec::{to_decimal, to_scaled};
}
