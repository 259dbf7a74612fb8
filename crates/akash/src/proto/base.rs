//! Shared pieces: `akash.base.deposit.v1`, the Cosmos types the Akash protos use, `LegacyDec`
//! text, the bech32 account address check and `Any` packing.

pub use cosmos_sdk_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};
pub use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
pub use cosmos_sdk_proto::Any;

/// `akash.base.attributes.v1`: provider attributes and placement requirements (defined in
/// [`crate::sdl`]).
pub mod attributes {
    /// `akash.base.attributes.v1`.
    pub mod v1 {
        pub use crate::sdl::{Attribute, PlacementRequirements, SignedBy};
    }
}

/// `akash.base.resources.v1beta4`: what a unit of a deployment needs (defined in
/// [`crate::sdl`]).
pub mod resources {
    /// `akash.base.resources.v1beta4`.
    pub mod v1beta4 {
        pub use crate::sdl::{
            Cpu, Endpoint, EndpointKind, Gpu, Memory, ResourceValue, Resources, Storage,
        };
    }
}

/// `akash.base.deposit.v1`: a deposit into an escrow account and where its funds come from.
pub mod deposit {
    /// `akash.base.deposit.v1`.
    pub mod v1 {
        use super::super::Coin;

        proto_enum! {
            /// `akash.base.deposit.v1.Source`: where a deposit's funds come from.
            pub enum Source {
                /// Not a valid source.
                Invalid = 0 => "invalid",
                /// The depositor's own balance.
                Balance = 1 => "balance",
                /// An authz deposit grant from another account.
                Grant = 2 => "grant",
            }
        }

        /// `akash.base.deposit.v1.Deposit`: an amount and the sources to draw it from, in order.
        #[derive(Clone, PartialEq, ::prost::Message)]
        pub struct Deposit {
            /// The amount (`uact` for deployments since chain v2.0.0).
            #[prost(message, required, tag = "1")]
            pub amount: Coin,
            /// [`Source`]s as their numbers; non-empty and unique for `MsgAccountDeposit`
            /// (fields 2-4 are reserved).
            #[prost(enumeration = "Source", repeated, tag = "5")]
            pub sources: Vec<i32>,
        }

        impl Deposit {
            /// A deposit of `amount` drawn from the depositor's own balance.
            pub fn from_balance(amount: Coin) -> Deposit {
                Deposit {
                    amount,
                    sources: vec![Source::Balance as i32],
                }
            }
        }

        proto_names!("akash.base.deposit.v1": Deposit);
    }
}

/// A `Coin` of `amount` (a `math.Int`, plain decimal text on the wire) in `denom`.
pub fn coin(denom: &str, amount: u128) -> Coin {
    Coin {
        denom: denom.to_owned(),
        amount: amount.to_string(),
    }
}

/// Cosmos `LegacyDec` text: the protobuf wire carries the value scaled by 10^18 as integer
/// text, JSON carries the decimal with 18 places.
///
/// Both directions are the SDL module's, which its own `DecCoin` JSON uses.
pub mod legacy_dec {
    use crate::sdl::DecCoin;

    /// Decimal places of a `LegacyDec`.
    pub const PRECISION: usize = 18;

    /// Scaled integer text (`"1500000000000000000"`) to Go's decimal form
    /// (`"1.500000000000000000"`). Text that is not an integer comes back unchanged.
    pub fn to_decimal(scaled: &str) -> String {
        crate::sdl::legacy_dec::to_decimal(scaled)
    }

    /// Decimal text (`"1.5"`, `"-2"`, `"0.000000000000000001"`; at most 18 places, as
    /// `LegacyNewDecFromStr` takes) to scaled integer text (`"1500000000000000000"`).
    pub fn from_decimal(text: &str) -> Option<String> {
        crate::sdl::legacy_dec::to_scaled(text)
    }

    /// Whether `scaled` is valid scaled-integer text (an optional `-` and digits).
    pub fn is_scaled(scaled: &str) -> bool {
        let digits = scaled.strip_prefix('-').unwrap_or(scaled);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    }

    /// A `DecCoin` from a denomination and decimal text (`dec_coin("uact", "1.5")`).
    pub fn dec_coin(denom: &str, decimal: &str) -> Option<DecCoin> {
        Some(DecCoin {
            denom: denom.to_owned(),
            amount: from_decimal(decimal)?,
        })
    }
}

/// Bech32 prefix of Akash account addresses.
pub const ACCOUNT_PREFIX: &str = "akash";

/// Whether `s` is an Akash account address as Cosmos' `AccAddressFromBech32` accepts it:
/// lowercase bech32 (BIP-173) with prefix `akash`, a valid checksum, and 1-255 bytes of data.
pub fn is_account_address(s: &str) -> bool {
    account_address_bytes(s).is_some()
}

/// The address bytes of an Akash account address (see [`is_account_address`]).
pub fn account_address_bytes(s: &str) -> Option<Vec<u8>> {
    bech32_data(s, ACCOUNT_PREFIX).filter(|data| !data.is_empty() && data.len() <= 255)
}

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// The 8-bit data of a lowercase bech32 string with human-readable part `hrp`, if valid.
fn bech32_data(s: &str, hrp: &str) -> Option<Vec<u8>> {
    if s.len() > 1023
        || s.bytes()
            .any(|b| !(33..=126).contains(&b) || b.is_ascii_uppercase())
    {
        return None;
    }
    let (head, tail) = s.rsplit_once('1')?;
    if head != hrp || tail.len() < 6 {
        return None;
    }
    let values: Vec<u8> = tail
        .bytes()
        .map(|c| BECH32_CHARSET.iter().position(|&x| x == c).map(|p| p as u8))
        .collect::<Option<_>>()?;
    let mut checked: Vec<u8> = head.bytes().map(|b| b >> 5).collect();
    checked.push(0);
    checked.extend(head.bytes().map(|b| b & 31));
    checked.extend(&values);
    if bech32_polymod(&checked) != 1 {
        return None;
    }
    // 5-bit groups to bytes, without padding (Cosmos' ConvertBits(data, 5, 8, false)).
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for &v in &values[..values.len() - 6] {
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 || (acc << (8 - bits)) & 0xff != 0 {
        return None;
    }
    Some(out)
}

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk = 1u32;
    for &v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Packs a message into an `Any` with its Cosmos type URL (`/akash.escrow.v1.MsgAccountDeposit`).
pub fn to_any<M: prost::Name>(msg: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: msg.encode_to_vec(),
    }
}

/// Unpacks an `Any` holding an `M`.
pub fn from_any<M: prost::Name + Default>(any: &Any) -> Result<M, AnyError> {
    let expected = M::type_url();
    if any.type_url != expected {
        return Err(AnyError::WrongType {
            expected,
            found: any.type_url.clone(),
        });
    }
    M::decode(any.value.as_slice()).map_err(|source| AnyError::Decode {
        type_url: expected,
        source,
    })
}

/// An `Any` that does not hold the message asked for.
#[derive(Debug, thiserror::Error)]
pub enum AnyError {
    /// The type URL names another message.
    #[error("any holds {found}, expected {expected}")]
    WrongType {
        /// The type URL asked for.
        expected: String,
        /// The type URL found.
        found: String,
    },
    /// The value is not a valid encoding of the message.
    #[error("decode {type_url}")]
    Decode {
        /// The type URL.
        type_url: String,
        /// What prost found wrong.
        #[source]
        source: prost::DecodeError,
    },
}
