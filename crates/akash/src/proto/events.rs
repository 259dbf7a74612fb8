//! Typed events: Akash modules emit them with Cosmos' `EmitTypedEvent`, which turns a message
//! into a CometBFT event (`TypedEventToEvent`):
//!
//! * event type = the message's full proto name, e.g. `akash.deployment.v1.EventDeploymentCreated`;
//! * one attribute per field, keys = proto field names **sorted**, values = the proto-JSON of
//!   each field (see [`super::json`]): `id` = `{"owner":"akash1…","dseq":"123"}`,
//!   `hash` = `"q83v…="` (a JSON string, quotes included);
//! * then cosmos-sdk 0.50+ appends `msg_index` = the message's index in the tx (`"0"`, plain
//!   text, not JSON).
//!
//! [`encode`] produces that form (for the devnet), [`decode`] reads it back (for the chain
//! client); [`AkashEvent`] dispatches on the event type. Decoding ignores unknown attributes
//! (such as `msg_index`), like Cosmos' `ParseTypedEvent`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::audit::v1 as audit;
use super::bme::v1 as bme;
use super::deployment::v1 as deployment;
use super::json::{to_go_json, JsonError, ObjectReader, ObjectWriter, ProtoJson};
use super::market::v1 as market;
use super::provider::v1beta4 as provider;

/// A CometBFT ABCI event as the RPC shows it (`/tx`, `/block_results`; CometBFT 0.38 gives
/// attribute keys and values as plain strings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Event type: for a typed event, the message's full proto name.
    #[serde(rename = "type")]
    pub kind: String,
    /// Attributes in emission order.
    #[serde(default)]
    pub attributes: Vec<EventAttribute>,
}

/// One attribute of an [`Event`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventAttribute {
    /// Key: a field name, or `msg_index`.
    pub key: String,
    /// Value: proto-JSON text for a field.
    #[serde(default)]
    pub value: String,
    /// Whether the node indexes it (Cosmos nodes index every attribute by default).
    #[serde(default)]
    pub index: bool,
}

impl Event {
    /// The value of the last attribute named `key` (a later one wins, as in `ParseTypedEvent`).
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .rev()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    /// The `msg_index` attribute: which message of the tx emitted the event.
    pub fn msg_index(&self) -> Option<u32> {
        self.attribute("msg_index")?.parse().ok()
    }
}

/// An event that is not the typed event expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The event type is another one.
    #[error("event type {found:?}, expected {expected:?}")]
    WrongType {
        /// The type expected.
        expected: String,
        /// The type found.
        found: String,
    },
    /// An attribute value is not JSON.
    #[error("event {event}: attribute {key:?} is not JSON: {problem}")]
    AttributeNotJson {
        /// The event type.
        event: String,
        /// The attribute key.
        key: String,
        /// What serde_json found wrong.
        problem: String,
    },
    /// A field does not fit the message.
    #[error("event {event}: {source}")]
    Field {
        /// The event type.
        event: String,
        /// The field and the problem.
        #[source]
        source: JsonError,
    },
}

/// A message Akash emits as a typed event.
pub trait TypedEvent: ProtoJson + prost::Name {}

/// The event form of `event`, as `EmitTypedEvent` and baseapp emit it; `msg_index` is the
/// index of the tx message that emitted it (`None` for block events).
pub fn encode<E: TypedEvent>(event: &E, msg_index: Option<u32>) -> Event {
    // A message's proto-JSON is always an object.
    let fields = match event.to_json() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut fields: Vec<(String, Value)> = fields.into_iter().collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let mut attributes: Vec<EventAttribute> = fields
        .into_iter()
        .map(|(key, value)| EventAttribute {
            key,
            value: to_go_json(&value),
            index: true,
        })
        .collect();
    if let Some(i) = msg_index {
        attributes.push(EventAttribute {
            key: "msg_index".to_owned(),
            value: i.to_string(),
            index: true,
        });
    }
    Event {
        kind: E::full_name(),
        attributes,
    }
}

/// Reads a typed event of type `E`.
pub fn decode<E: TypedEvent>(event: &Event) -> Result<E, EventError> {
    let expected = E::full_name();
    if event.kind != expected {
        return Err(EventError::WrongType {
            expected,
            found: event.kind.clone(),
        });
    }
    let mut object = Map::new();
    for attr in &event.attributes {
        if attr.key == "msg_index" {
            continue;
        }
        let value: Value =
            serde_json::from_str(&attr.value).map_err(|e| EventError::AttributeNotJson {
                event: event.kind.clone(),
                key: attr.key.clone(),
                problem: e.to_string(),
            })?;
        object.insert(attr.key.clone(), value);
    }
    E::from_json(&Value::Object(object), "").map_err(|source| EventError::Field {
        event: event.kind.clone(),
        source,
    })
}

macro_rules! akash_events {
    ($($variant:ident($ty:ty),)*) => {
        /// Every typed event Akash emits that this crate knows.
        // Events are short-lived values read off a tx result; boxing would only add noise.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq)]
        pub enum AkashEvent {
            $(
                #[doc = concat!("`", stringify!($ty), "`.")]
                $variant($ty),
            )*
        }

        impl AkashEvent {
            /// Reads `event` if its type is a known typed event; `Ok(None)` for any other
            /// type (`message`, `transfer`, ...).
            pub fn decode(event: &Event) -> Result<Option<AkashEvent>, EventError> {
                $(
                    if event.kind == <$ty as prost::Name>::full_name() {
                        return decode::<$ty>(event).map(|e| Some(AkashEvent::$variant(e)));
                    }
                )*
                Ok(None)
            }

            /// The event form (see [`encode`]).
            pub fn encode(&self, msg_index: Option<u32>) -> Event {
                match self {
                    $(AkashEvent::$variant(e) => encode(e, msg_index),)*
                }
            }

            /// The event type, e.g. `akash.market.v1.EventLeaseCreated`.
            pub fn type_name(&self) -> String {
                match self {
                    $(AkashEvent::$variant(_) => <$ty as prost::Name>::full_name(),)*
                }
            }
        }

        $(
            impl TypedEvent for $ty {}

            impl From<$ty> for AkashEvent {
                fn from(e: $ty) -> AkashEvent {
                    AkashEvent::$variant(e)
                }
            }
        )*
    };
}

akash_events! {
    DeploymentCreated(deployment::EventDeploymentCreated),
    DeploymentUpdated(deployment::EventDeploymentUpdated),
    DeploymentClosed(deployment::EventDeploymentClosed),
    GroupStarted(deployment::EventGroupStarted),
    GroupPaused(deployment::EventGroupPaused),
    GroupClosed(deployment::EventGroupClosed),
    OrderCreated(market::EventOrderCreated),
    OrderClosed(market::EventOrderClosed),
    BidCreated(market::EventBidCreated),
    BidClosed(market::EventBidClosed),
    LeaseCreated(market::EventLeaseCreated),
    LeaseClosed(market::EventLeaseClosed),
    LeaseReclaimStarted(market::EventLeaseReclaimStarted),
    ProviderCreated(provider::EventProviderCreated),
    ProviderUpdated(provider::EventProviderUpdated),
    ProviderDeleted(provider::EventProviderDeleted),
    TrustedAuditorCreated(audit::EventTrustedAuditorCreated),
    TrustedAuditorDeleted(audit::EventTrustedAuditorDeleted),
    LedgerRecordExecuted(bme::EventLedgerRecordExecuted),
    LedgerRecordCanceled(bme::EventLedgerRecordCanceled),
    MintStatusChange(bme::EventMintStatusChange),
}

// Proto-JSON of the IDs and event messages, fields in field-number order.

impl ProtoJson for deployment::DeploymentID {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .string("owner", &self.owner)
            .u64("dseq", self.dseq)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            owner: r.string("owner")?,
            dseq: r.u64("dseq")?,
        })
    }
}

impl ProtoJson for deployment::GroupID {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .string("owner", &self.owner)
            .u64("dseq", self.dseq)
            .u32("gseq", self.gseq)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            owner: r.string("owner")?,
            dseq: r.u64("dseq")?,
            gseq: r.u32("gseq")?,
        })
    }
}

impl ProtoJson for market::OrderID {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .string("owner", &self.owner)
            .u64("dseq", self.dseq)
            .u32("gseq", self.gseq)
            .u32("oseq", self.oseq)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            owner: r.string("owner")?,
            dseq: r.u64("dseq")?,
            gseq: r.u32("gseq")?,
            oseq: r.u32("oseq")?,
        })
    }
}

impl ProtoJson for market::BidID {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .string("owner", &self.owner)
            .u64("dseq", self.dseq)
            .u32("gseq", self.gseq)
            .u32("oseq", self.oseq)
            .string("provider", &self.provider)
            .u32("bseq", self.bseq)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            owner: r.string("owner")?,
            dseq: r.u64("dseq")?,
            gseq: r.u32("gseq")?,
            oseq: r.u32("oseq")?,
            provider: r.string("provider")?,
            bseq: r.u32("bseq")?,
        })
    }
}

impl ProtoJson for market::LeaseID {
    fn to_json(&self) -> Value {
        self.bid_id().to_json()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        market::BidID::from_json(value, path).map(Self::from)
    }
}

impl ProtoJson for bme::LedgerRecordID {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .string("denom", &self.denom)
            .string("to_denom", &self.to_denom)
            .string("source", &self.source)
            .i64("height", self.height)
            .i64("sequence", self.sequence)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            denom: r.string("denom")?,
            to_denom: r.string("to_denom")?,
            source: r.string("source")?,
            height: r.i64("height")?,
            sequence: r.i64("sequence")?,
        })
    }
}

impl ProtoJson for bme::CoinPrice {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .message("coin", &self.coin)
            .legacy_dec("price", &self.price)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            coin: r.message("coin")?,
            price: r.legacy_dec("price")?,
        })
    }
}

/// Proto-JSON for events whose fields are an `id` message and an optional `hash`, `price` or
/// `reason`.
macro_rules! id_event_json {
    ($ty:ty { id $(, $field:ident: $kind:ident $(<$enum:ty>)?)* }) => {
        impl ProtoJson for $ty {
            fn to_json(&self) -> Value {
                ObjectWriter::new()
                    .message("id", &self.id)
                    $(.$kind $(::<$enum>)? (stringify!($field), id_event_json!(@arg $kind self.$field)))*
                    .build()
            }

            fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
                let r = ObjectReader::new(value, path)?;
                Ok(Self {
                    id: r.message("id")?,
                    $($field: r.$kind $(::<$enum>)? (stringify!($field))?,)*
                })
            }
        }
    };
    (@arg bytes $e:expr) => { &$e };
    (@arg message $e:expr) => { &$e };
    (@arg enumeration $e:expr) => { $e };
    (@arg i64 $e:expr) => { $e };
}

id_event_json!(deployment::EventDeploymentCreated { id, hash: bytes });
id_event_json!(deployment::EventDeploymentUpdated { id, hash: bytes });
id_event_json!(deployment::EventDeploymentClosed { id });
id_event_json!(deployment::EventGroupStarted { id });
id_event_json!(deployment::EventGroupPaused { id });
id_event_json!(deployment::EventGroupClosed { id });
id_event_json!(market::EventOrderCreated { id });
id_event_json!(market::EventOrderClosed { id });
id_event_json!(market::EventBidCreated { id, price: message });
id_event_json!(market::EventBidClosed { id });
id_event_json!(market::EventLeaseCreated { id, price: message });
id_event_json!(market::EventLeaseClosed { id, reason: enumeration<market::LeaseClosedReason> });
id_event_json!(market::EventLeaseReclaimStarted {
    id,
    reason: enumeration<market::LeaseClosedReason>,
    deadline: i64
});

/// Proto-JSON for events whose fields are all strings.
macro_rules! string_event_json {
    ($ty:ty { $($field:ident),* }) => {
        impl ProtoJson for $ty {
            fn to_json(&self) -> Value {
                ObjectWriter::new()
                    $(.string(stringify!($field), &self.$field))*
                    .build()
            }

            fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
                let r = ObjectReader::new(value, path)?;
                Ok(Self { $($field: r.string(stringify!($field))?,)* })
            }
        }
    };
}

string_event_json!(provider::EventProviderCreated { owner });
string_event_json!(provider::EventProviderUpdated { owner });
string_event_json!(provider::EventProviderDeleted { owner });
string_event_json!(audit::EventTrustedAuditorCreated { owner, auditor });
string_event_json!(audit::EventTrustedAuditorDeleted { owner, auditor });

impl ProtoJson for bme::EventLedgerRecordExecuted {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .message("id", &self.id)
            .string("burned_from", &self.burned_from)
            .string("minted_to", &self.minted_to)
            .string("burner", &self.burner)
            .string("minter", &self.minter)
            .optional("burned", self.burned.as_ref())
            .optional("minted", self.minted.as_ref())
            .message("spread", &self.spread)
            .optional("remint_credit_issued", self.remint_credit_issued.as_ref())
            .optional("remint_credit_accrued", self.remint_credit_accrued.as_ref())
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            id: r.message("id")?,
            burned_from: r.string("burned_from")?,
            minted_to: r.string("minted_to")?,
            burner: r.string("burner")?,
            minter: r.string("minter")?,
            burned: r.optional("burned")?,
            minted: r.optional("minted")?,
            spread: r.message("spread")?,
            remint_credit_issued: r.optional("remint_credit_issued")?,
            remint_credit_accrued: r.optional("remint_credit_accrued")?,
        })
    }
}

impl ProtoJson for bme::EventLedgerRecordCanceled {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .message("id", &self.id)
            .enumeration::<bme::CancelReason>("cancel_reason", self.cancel_reason)
            .string("owner", &self.owner)
            .string("to", &self.to)
            .message("coins_to_burn", &self.coins_to_burn)
            .string("denom_to_mint", &self.denom_to_mint)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            id: r.message("id")?,
            cancel_reason: r.enumeration::<bme::CancelReason>("cancel_reason")?,
            owner: r.string("owner")?,
            to: r.string("to")?,
            coins_to_burn: r.message("coins_to_burn")?,
            denom_to_mint: r.string("denom_to_mint")?,
        })
    }
}

impl ProtoJson for bme::EventMintStatusChange {
    fn to_json(&self) -> Value {
        ObjectWriter::new()
            .enumeration::<bme::MintStatus>("previous_status", self.previous_status)
            .enumeration::<bme::MintStatus>("new_status", self.new_status)
            .legacy_dec("collateral_ratio", &self.collateral_ratio)
            .build()
    }

    fn from_json(value: &Value, path: &str) -> Result<Self, JsonError> {
        let r = ObjectReader::new(value, path)?;
        Ok(Self {
            previous_status: r.enumeration::<bme::MintStatus>("previous_status")?,
            new_status: r.enumeration::<bme::MintStatus>("new_status")?,
            collateral_ratio: r.legacy_dec("collateral_ratio")?,
        })
    }
}
