//! The Akash protobuf messages mainnet speaks (Mainnet14+ API: deployment `v1beta4`, market
//! `v1beta5`, escrow `v1`, cert `v1`, provider `v1beta4`, audit `v1`, bme `v1`), defined once
//! for the chain client and the devnet.
//!
//! Field numbers and types follow chain-sdk's `proto/node/akash/**` (the source of truth; see
//! `shared/akash/PROTOCOL.md` §2). Every message derives `prost::Message` and implements
//! `prost::Name`, so `M::type_url()` is the Cosmos form `/<package>.<Name>`. Modules mirror
//! the proto packages: `deployment::v1::DeploymentID` is `akash.deployment.v1.DeploymentID`.
//!
//! ```text
//! base.rs        akash.base.deposit.v1; LegacyDec text, bech32 account check, Any helpers
//! deployment.rs  akash.deployment.v1 (IDs, Deployment, events) and v1beta4 (Msg, Query, Group)
//! escrow.rs      akash.escrow.id.v1, akash.escrow.types.v1, akash.escrow.v1
//! market.rs      akash.market.v1 (IDs, Lease, events) and v1beta5 (Order, Bid, Msg, Query)
//! provider.rs    akash.provider.v1beta4
//! audit.rs       akash.audit.v1
//! cert.rs        akash.cert.v1
//! bme.rs         akash.bme.v1 (ACT minting and its ledger)
//! ids.rs         string forms of IDs and escrow keys, as Akash's Go code prints and parses them
//! json.rs        proto-JSON of the fields events carry (gogoproto `jsonpb` rules)
//! events.rs      typed events: CometBFT/Cosmos event form <-> these types
//! methods.rs     gRPC method paths, request -> response pairs, transaction messages
//! ```
//!
//! The deployment group types (`GroupSpec`, `Resources`, `DecCoin`, `Attribute`, ...) are the
//! ones in [`crate::sdl`]; they are re-exported here where the protos use them, never redefined.
//!
//! # Encoding rules that matter
//!
//! * Fields gogoproto marks non-nullable are `required` here, so prost always writes them, as
//!   Go does (an empty non-nullable message is still written as tag + length 0).
//! * `LegacyDec` (`DecCoin.amount`, escrow `Balance.amount`, bme prices) travels as the integer
//!   scaled by 10^18 in text (`"10000000000000000000"` for 10); proto-JSON shows the decimal
//!   (`"10.000000000000000000"`). See [`base::legacy_dec`].
//! * `math.Int` (`Coin.amount`) and `ResourceValue.val` are plain decimal text.

macro_rules! proto_names {
    ($package:literal: $($ty:ident $(as $name:literal)?),* $(,)?) => {$(
        impl ::prost::Name for $ty {
            const NAME: &'static str = proto_names!(@name $ty $($name)?);
            const PACKAGE: &'static str = $package;
        }
    )*};
    (@name $ty:ident $name:literal) => { $name };
    (@name $ty:ident) => { stringify!($ty) };
}

/// Defines a proto enum: prost's `Enumeration` plus the value names of the proto file, which
/// proto-JSON and the query filters use.
macro_rules! proto_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
        #[repr(i32)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value,)*
        }

        impl $name {
            /// The value's name in the proto file (`active`, `lease_closed_owner`, ...), as
            /// proto-JSON and the query filters spell it.
            pub fn as_str_name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// The value with this proto name, if any.
            pub fn from_str_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl crate::proto::json::ProtoEnum for $name {
            fn name_of(value: i32) -> Option<&'static str> {
                Self::try_from(value).ok().map(Self::as_str_name)
            }

            fn value_of(name: &str) -> Option<i32> {
                Self::from_str_name(name).map(|v| v as i32)
            }
        }
    };
}

pub mod audit;
pub mod base;
pub mod bme;
pub mod cert;
pub mod deployment;
pub mod escrow;
pub mod events;
pub mod ids;
pub mod json;
pub mod market;
pub mod methods;
pub mod provider;

#[cfg(test)]
mod tests;

pub use base::{
    from_any, is_account_address, legacy_dec, to_any, Any, AnyError, Coin, PageRequest,
    PageResponse,
};
pub use events::{AkashEvent, Event, EventAttribute, EventError, TypedEvent};
pub use ids::ParseIdError;
pub use methods::{Query, TxMessage, TxMsg};
