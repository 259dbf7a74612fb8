//! Cosmos SDK transactions: building and signing (`SIGN_MODE_DIRECT`, one secp256k1 signer,
//! through cosmrs) and decoding a `TxRaw` back into its parts (the devnet's ante handler).

use super::keys::Wallet;
use super::proto::{Any, Coin};
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{mode_info, AuthInfo, SignDoc, TxBody, TxRaw};
use prost::Message;
use sha2::{Digest, Sha256};

/// Type URL of a secp256k1 public key.
pub const SECP256K1_PUBKEY_TYPE_URL: &str = "/cosmos.crypto.secp256k1.PubKey";

/// What to sign.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnsignedTx {
    /// The messages, in order.
    pub messages: Vec<Any>,
    /// The memo.
    pub memo: String,
    /// The fee (mainnet: `uakt`).
    pub fee: Vec<Coin>,
    /// Gas limit.
    pub gas_limit: u64,
    /// Timeout height (0 = none).
    pub timeout_height: u64,
}

/// Why a tx could not be signed or decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TxCodecError {
    /// cosmrs refused to build or sign.
    #[error("cannot sign tx: {0}")]
    Sign(String),
    /// Bytes that are not a protobuf `TxRaw` with a decodable body and auth info.
    #[error("tx parse error: {0}")]
    Decode(String),
}

/// Signs `tx` as `wallet` for `chain_id`, account `account_number` at `sequence`; returns the
/// `TxRaw` bytes to broadcast.
pub fn sign_tx(
    wallet: &Wallet,
    chain_id: &str,
    account_number: u64,
    sequence: u64,
    tx: &UnsignedTx,
) -> Result<Vec<u8>, TxCodecError> {
    let err = |e: cosmrs::ErrorReport| TxCodecError::Sign(e.to_string());
    let key = wallet.cosmrs_key();
    let messages = tx
        .messages
        .iter()
        .map(|a| cosmrs::Any {
            type_url: a.type_url.clone(),
            value: a.value.clone(),
        })
        .collect::<Vec<_>>();
    let body = cosmrs::tx::Body::new(
        messages,
        tx.memo.clone(),
        u32::try_from(tx.timeout_height)
            .map_err(|_| TxCodecError::Sign("timeout height too large".into()))?,
    );
    let mut amounts = Vec::new();
    for c in &tx.fee {
        let denom: cosmrs::Denom = c
            .denom
            .parse()
            .map_err(|e: cosmrs::ErrorReport| TxCodecError::Sign(e.to_string()))?;
        let amount: u128 = c
            .amount
            .parse()
            .map_err(|_| TxCodecError::Sign(format!("fee amount {:?}", c.amount)))?;
        amounts.push(cosmrs::Coin { denom, amount });
    }
    let fee = cosmrs::tx::Fee {
        amount: amounts,
        gas_limit: tx.gas_limit,
        payer: None,
        granter: None,
    };
    let auth_info =
        cosmrs::tx::SignerInfo::single_direct(Some(key.public_key()), sequence).auth_info(fee);
    let chain_id: cosmrs::tendermint::chain::Id = chain_id
        .parse()
        .map_err(|e: cosmrs::tendermint::Error| TxCodecError::Sign(e.to_string()))?;
    let doc =
        cosmrs::tx::SignDoc::new(&body, &auth_info, &chain_id, account_number).map_err(err)?;
    let raw = doc.sign(&key).map_err(err)?;
    raw.to_bytes().map_err(err)
}

/// The CometBFT tx hash: SHA-256 of the raw bytes.
pub fn tx_hash(raw: &[u8]) -> [u8; 32] {
    Sha256::digest(raw).into()
}

/// A decoded `TxRaw`, with the exact bytes its signatures cover.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedTx {
    /// The body (messages, memo, timeout height).
    pub body: TxBody,
    /// Signer infos and fee.
    pub auth_info: AuthInfo,
    /// The body as signed.
    pub body_bytes: Vec<u8>,
    /// The auth info as signed.
    pub auth_info_bytes: Vec<u8>,
    /// One signature per signer.
    pub signatures: Vec<Vec<u8>>,
}

/// One signer of a decoded tx.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxSigner {
    /// Compressed secp256k1 key, when the tx carries one (first tx of an account must).
    pub public_key: Option<Vec<u8>>,
    /// The sequence the signer claims.
    pub sequence: u64,
    /// Whether the mode is `SIGN_MODE_DIRECT`.
    pub direct: bool,
}

/// Decodes `TxRaw` bytes.
pub fn decode_tx(raw: &[u8]) -> Result<DecodedTx, TxCodecError> {
    let txr = TxRaw::decode(raw).map_err(|e| TxCodecError::Decode(e.to_string()))?;
    let body = TxBody::decode(txr.body_bytes.as_slice())
        .map_err(|e| TxCodecError::Decode(format!("body: {e}")))?;
    let auth_info = AuthInfo::decode(txr.auth_info_bytes.as_slice())
        .map_err(|e| TxCodecError::Decode(format!("auth info: {e}")))?;
    Ok(DecodedTx {
        body,
        auth_info,
        body_bytes: txr.body_bytes,
        auth_info_bytes: txr.auth_info_bytes,
        signatures: txr.signatures,
    })
}

impl DecodedTx {
    /// The `SignDoc` bytes a `SIGN_MODE_DIRECT` signature covers.
    pub fn sign_doc_bytes(&self, chain_id: &str, account_number: u64) -> Vec<u8> {
        SignDoc {
            body_bytes: self.body_bytes.clone(),
            auth_info_bytes: self.auth_info_bytes.clone(),
            chain_id: chain_id.to_owned(),
            account_number,
        }
        .encode_to_vec()
    }

    /// The signers, in order.
    pub fn signers(&self) -> Result<Vec<TxSigner>, TxCodecError> {
        self.auth_info
            .signer_infos
            .iter()
            .map(|si| {
                let public_key = match &si.public_key {
                    None => None,
                    Some(any) if any.type_url == SECP256K1_PUBKEY_TYPE_URL => Some(
                        cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey::decode(
                            any.value.as_slice(),
                        )
                        .map_err(|e| TxCodecError::Decode(format!("public key: {e}")))?
                        .key,
                    ),
                    Some(any) => {
                        return Err(TxCodecError::Decode(format!(
                            "unsupported public key type {}",
                            any.type_url
                        )))
                    }
                };
                let direct = matches!(
                    si.mode_info.as_ref().and_then(|m| m.sum.as_ref()),
                    Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32
                );
                Ok(TxSigner {
                    public_key,
                    sequence: si.sequence,
                    direct,
                })
            })
            .collect()
    }

    /// The fee coins.
    pub fn fee(&self) -> Vec<Coin> {
        self.auth_info
            .fee
            .as_ref()
            .map(|f| f.amount.clone())
            .unwrap_or_default()
    }

    /// The gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.auth_info.fee.as_ref().map_or(0, |f| f.gas_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::verify_signature;

    #[test]
    fn signed_tx_decodes_and_verifies() {
        let (w, _) = Wallet::from_entropy([3; 32]);
        let tx = UnsignedTx {
            messages: vec![Any {
                type_url: "/cosmos.bank.v1beta1.MsgSend".into(),
                value: vec![1, 2, 3],
            }],
            memo: "af-operator".into(),
            fee: vec![Coin {
                denom: "uakt".into(),
                amount: "5000".into(),
            }],
            gas_limit: 200_000,
            timeout_height: 0,
        };
        let raw = sign_tx(&w, "af-devnet-1", 7, 3, &tx).unwrap();
        let d = decode_tx(&raw).unwrap();
        assert_eq!(d.body.memo, "af-operator");
        assert_eq!(d.body.messages.len(), 1);
        assert_eq!(d.gas_limit(), 200_000);
        assert_eq!(d.fee()[0].amount, "5000");
        let s = d.signers().unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].sequence, 3);
        assert!(s[0].direct);
        let pk = s[0].public_key.clone().unwrap();
        assert_eq!(pk, w.public_key().to_vec());
        let doc = d.sign_doc_bytes("af-devnet-1", 7);
        assert!(verify_signature(&pk, &doc, &d.signatures[0]));
        // the wrong chain id or account number breaks it
        assert!(!verify_signature(
            &pk,
            &d.sign_doc_bytes("akashnet-2", 7),
            &d.signatures[0]
        ));
        assert!(!verify_signature(
            &pk,
            &d.sign_doc_bytes("af-devnet-1", 8),
            &d.signatures[0]
        ));
        assert_eq!(tx_hash(&raw).len(), 32);
        assert!(decode_tx(b"\xff\xff").is_err());
    }
}
