//! Akash mTLS certificates (`akash.cert.v1`), made the way Go's `key_pair_manager` makes them:
//! a P-256 key, serial = the nanosecond clock, Subject CN = the owner's `akash1…` address plus
//! the attribute OID 2.23.133.2.6 = `"v0.0.1"`, self-issued (Issuer = Subject), ExtKeyUsage
//! ClientAuth (plus ServerAuth and SANs when domains are given), KeyUsage
//! DataEncipherment|KeyEncipherment, BasicConstraints present with CA false.
//!
//! On chain, `cert` is the `CERTIFICATE` PEM and `pubkey` an `EC PUBLIC KEY` PEM block holding
//! the PKIX (SubjectPublicKeyInfo) DER. Serials are decimal strings (Go's `big.Int.String()`).

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use std::sync::atomic::{AtomicU64, Ordering};
use x509_parser::prelude::{FromDer, X509Certificate};
use zeroize::Zeroizing;

/// The OID Go's key pair manager adds to the subject (TCG "platform model"), value "v0.0.1".
pub const AKASH_ATTRIBUTE_OID: &[u64] = &[2, 23, 133, 2, 6];
/// The value of [`AKASH_ATTRIBUTE_OID`].
pub const AKASH_ATTRIBUTE_VERSION: &str = "v0.0.1";
/// Validity of a generated certificate (Go's default: one year).
pub const VALIDITY_DAYS: i64 = 365;

/// A freshly generated certificate and its key.
pub struct GeneratedCert {
    /// `CERTIFICATE` PEM block.
    pub cert_pem: Vec<u8>,
    /// `EC PUBLIC KEY` PEM block of the PKIX DER public key.
    pub pubkey_pem: Vec<u8>,
    /// PKCS#8 `PRIVATE KEY` PEM block.
    pub key_pem: Zeroizing<Vec<u8>>,
    /// Serial number, decimal.
    pub serial: String,
}

impl std::fmt::Debug for GeneratedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedCert")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// What the gateway and the client need to know of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCert {
    /// Serial number, decimal.
    pub serial: String,
    /// Subject common name (the owner address for Akash certificates).
    pub subject_cn: String,
    /// Issuer common name.
    pub issuer_cn: String,
    /// ExtKeyUsage contains ClientAuth.
    pub client_auth: bool,
    /// ExtKeyUsage contains ServerAuth.
    pub server_auth: bool,
    /// SubjectPublicKeyInfo DER.
    pub pubkey_der: Vec<u8>,
    /// Validity window (unix seconds).
    pub not_before: i64,
    /// Validity window (unix seconds).
    pub not_after: i64,
}

static LAST_SERIAL: AtomicU64 = AtomicU64::new(0);

/// A serial from the nanosecond clock, strictly increasing within this process (Go uses
/// `time.Now().UnixNano()`; two certificates made in the same nanosecond must still differ).
fn next_serial() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        & (u64::MAX >> 1);
    let mut prev = LAST_SERIAL.load(Ordering::Relaxed);
    loop {
        let next = now.max(prev + 1);
        match LAST_SERIAL.compare_exchange(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}

fn pem_block(label: &str, der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

/// A new certificate for `owner` (an `akash1…` address). With `domains`, the certificate is
/// also a server certificate: ServerAuth plus a SAN per domain (IP addresses as IP SANs).
pub fn generate(owner: &str, domains: &[String]) -> Result<GeneratedCert> {
    crate::keys::address_bytes(owner)
        .ok_or_else(|| anyhow!("certificate owner {owner:?} is not an akash1… address"))?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating a P-256 key")?;
    let mut params = CertificateParams::default();
    let serial = next_serial();
    params.serial_number = Some(SerialNumber::from(serial));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, DnValue::Utf8String(owner.to_string()));
    dn.push(
        DnType::CustomDnType(AKASH_ATTRIBUTE_OID.to_vec()),
        DnValue::PrintableString(
            AKASH_ATTRIBUTE_VERSION
                .try_into()
                .map_err(|e| anyhow!("attribute value: {e}"))?,
        ),
    );
    params.distinguished_name = dn;
    let ymd = |d: chrono::NaiveDate| {
        use chrono::Datelike;
        // month and day always fit a u8
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    let today = chrono::Utc::now().date_naive();
    params.not_before = ymd(today);
    params.not_after = ymd(today + chrono::Days::new(VALIDITY_DAYS as u64 + 1));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DataEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    if !domains.is_empty() {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
        for domain in domains {
            let san = match domain.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    domain
                        .clone()
                        .try_into()
                        .map_err(|e| anyhow!("domain {domain:?}: {e}"))?,
                ),
            };
            params.subject_alt_names.push(san);
        }
    }
    let cert = params
        .self_signed(&key)
        .context("signing the certificate")?;
    Ok(GeneratedCert {
        cert_pem: pem_block("CERTIFICATE", cert.der()),
        pubkey_pem: pem_block("EC PUBLIC KEY", &key.public_key_der()),
        key_pem: Zeroizing::new(key.serialize_pem().into_bytes()),
        serial: serial.to_string(),
    })
}

/// The DER of the first `CERTIFICATE` PEM block of `cert_pem`.
pub fn der_from_pem(cert_pem: &[u8]) -> Result<Vec<u8>> {
    pem_der(cert_pem, "CERTIFICATE")
}

/// The DER of the first PEM block labelled `label`.
pub fn pem_der(pem: &[u8], label: &str) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(pem).map_err(|_| anyhow!("PEM is not UTF-8"))?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| anyhow!("no {label} PEM block"))?
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| anyhow!("unterminated {label} PEM block"))?
        + start;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| anyhow!("{label} PEM block is not base64: {e}"))
}

/// Parses the first `CERTIFICATE` block of a PEM text.
pub fn parse_pem(cert_pem: &[u8]) -> Result<ParsedCert> {
    parse_der(&der_from_pem(cert_pem)?)
}

fn common_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Parses a DER X.509 certificate.
pub fn parse_der(der: &[u8]) -> Result<ParsedCert> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| anyhow!("invalid X.509 certificate: {e}"))?;
    if !rest.is_empty() {
        bail!("trailing bytes after the certificate");
    }
    parsed(&cert)
}

fn parsed(cert: &X509Certificate<'_>) -> Result<ParsedCert> {
    let (client_auth, server_auth) = match cert.extended_key_usage() {
        Ok(Some(eku)) => (eku.value.client_auth, eku.value.server_auth),
        Ok(None) => (false, false),
        Err(e) => bail!("invalid extended key usage: {e}"),
    };
    Ok(ParsedCert {
        serial: cert.tbs_certificate.serial.to_string(),
        subject_cn: common_name(cert.subject()),
        issuer_cn: common_name(cert.issuer()),
        client_auth,
        server_auth,
        pubkey_der: cert.public_key().raw.to_vec(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// True when the certificate's signature verifies with its own public key.
pub fn verify_self_signed(der: &[u8]) -> bool {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => cert.verify_signature(None).is_ok(),
        Err(_) => false,
    }
}

/// True when the certificate's signature verifies with `spki_der` (an on-chain public key).
pub fn verify_signed_by(der: &[u8], spki_der: &[u8]) -> bool {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return false;
    };
    let Ok((_, spki)) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der) else {
        return false;
    };
    cert.verify_signature(Some(&spki)).is_ok()
}

/// The PKIX DER inside an on-chain `EC PUBLIC KEY` PEM (`PUBLIC KEY` accepted too).
pub fn pubkey_der_from_pem(pubkey_pem: &[u8]) -> Result<Vec<u8>> {
    pem_der(pubkey_pem, "EC PUBLIC KEY").or_else(|_| pem_der(pubkey_pem, "PUBLIC KEY"))
}

/// Why the chain refuses a `MsgCreateCertificate` (cert module codes 6 and 7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertRefusal {
    /// The certificate itself (code 6).
    #[error("{0}")]
    Certificate(String),
    /// The public key given with it (code 7).
    #[error("{0}")]
    PublicKey(String),
}

/// Chain-side checks of `MsgCreateCertificate` (`go/node/cert/v1/cert.go`): the certificate
/// parses, its key is ECDSA, it is self-signed, Subject CN = `owner`, and `pubkey` is the
/// certificate's public key. Returns the parsed certificate (its serial keys the store).
pub fn validate_for_owner(
    cert_pem: &[u8],
    pubkey_pem: &[u8],
    owner: &str,
) -> std::result::Result<ParsedCert, CertRefusal> {
    let bad = |m: String| CertRefusal::Certificate(m);
    let der = der_from_pem(cert_pem).map_err(|e| bad(e.to_string()))?;
    let (_, cert) = X509Certificate::from_der(&der)
        .map_err(|e| bad(format!("invalid X.509 certificate: {e}")))?;
    let parsed = parsed(&cert).map_err(|e| bad(e.to_string()))?;
    // id-ecPublicKey
    if cert.public_key().algorithm.algorithm.to_id_string() != "1.2.840.10045.2.1" {
        return Err(bad("certificate key is not ECDSA".into()));
    }
    if cert.verify_signature(None).is_err() {
        return Err(bad("certificate self-signature does not verify".into()));
    }
    if parsed.subject_cn != owner {
        return Err(bad(format!(
            "certificate subject CN {:?} is not the owner {owner}",
            parsed.subject_cn
        )));
    }
    let pubkey = pubkey_der_from_pem(pubkey_pem)
        .map_err(|e| CertRefusal::PublicKey(format!("pubkey: {e}")))?;
    if pubkey != parsed.pubkey_der {
        return Err(CertRefusal::PublicKey(
            "pubkey does not match the certificate's public key".into(),
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Wallet;

    fn owner() -> String {
        Wallet::from_entropy([7; 32]).0.address().to_string()
    }

    #[test]
    fn generated_client_cert_has_go_shape() {
        let owner = owner();
        let g = generate(&owner, &[]).unwrap();
        let p = parse_pem(&g.cert_pem).unwrap();
        assert_eq!(p.serial, g.serial);
        assert_eq!(p.subject_cn, owner);
        assert_eq!(p.issuer_cn, owner);
        assert!(p.client_auth);
        assert!(!p.server_auth);
        assert!(p.not_after - p.not_before >= VALIDITY_DAYS * 86_400);
        let der = der_from_pem(&g.cert_pem).unwrap();
        assert!(verify_self_signed(&der));
        assert_eq!(pubkey_der_from_pem(&g.pubkey_pem).unwrap(), p.pubkey_der);
        assert!(String::from_utf8_lossy(&g.pubkey_pem).starts_with("-----BEGIN EC PUBLIC KEY-----"));
        assert!(String::from_utf8_lossy(&g.key_pem).contains("PRIVATE KEY"));
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let attr = cert
            .subject()
            .iter_attributes()
            .find(|a| a.attr_type().to_id_string() == "2.23.133.2.6")
            .expect("akash version attribute");
        assert_eq!(attr.as_str().unwrap(), AKASH_ATTRIBUTE_VERSION);
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_encipherment() && ku.data_encipherment());
        let bc = cert.basic_constraints().unwrap().unwrap().value;
        assert!(!bc.ca);
        validate_for_owner(&g.cert_pem, &g.pubkey_pem, &owner).unwrap();
    }

    #[test]
    fn server_cert_has_sans_and_server_auth() {
        let owner = owner();
        let g = generate(&owner, &["localhost".into(), "127.0.0.1".into()]).unwrap();
        let p = parse_pem(&g.cert_pem).unwrap();
        assert!(p.client_auth && p.server_auth);
        let der = der_from_pem(&g.cert_pem).unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap().value;
        assert_eq!(san.general_names.len(), 2);
    }

    #[test]
    fn serials_are_unique_and_positive() {
        let owner = owner();
        let a = generate(&owner, &[]).unwrap();
        let b = generate(&owner, &[]).unwrap();
        assert_ne!(a.serial, b.serial);
        assert!(a.serial.parse::<u64>().unwrap() > 0);
    }

    #[test]
    fn tampering_and_wrong_owner_are_refused() {
        let owner = owner();
        let g = generate(&owner, &[]).unwrap();
        let other = generate(&owner, &[]).unwrap();
        let mut der = der_from_pem(&g.cert_pem).unwrap();
        // flip a byte inside the subject → signature no longer verifies
        let pos = der.windows(6).position(|w| w == b"akash1").unwrap();
        der[pos + 7] ^= 1;
        assert!(!verify_self_signed(&der));
        let good = der_from_pem(&g.cert_pem).unwrap();
        assert!(verify_signed_by(
            &good,
            &pubkey_der_from_pem(&g.pubkey_pem).unwrap()
        ));
        assert!(!verify_signed_by(
            &good,
            &pubkey_der_from_pem(&other.pubkey_pem).unwrap()
        ));
        let stranger = Wallet::from_entropy([8; 32]).0.address().to_string();
        assert!(validate_for_owner(&g.cert_pem, &g.pubkey_pem, &stranger).is_err());
        assert!(validate_for_owner(&g.cert_pem, &other.pubkey_pem, &owner).is_err());
        assert!(generate("not-an-address", &[]).is_err());
        assert!(parse_pem(b"garbage").is_err());
        assert!(parse_der(&[0x30, 0x03, 0x02, 0x01]).is_err());
    }

    /// A certificate made by chain-sdk's TypeScript `certificateManager.generatePEM`
    /// (1.0.0-alpha.25) for `akash19rl4…6x0`: no extra subject attribute, a 7-byte serial,
    /// `CA:TRUE`. The chain and the gateway must accept what the TS SDK publishes.
    #[test]
    fn accepts_a_chain_sdk_certificate() {
        const CERT: &str = "-----BEGIN CERTIFICATE-----
\nMIIBmzCCAUGgAwIBAgIHBmDWloCo0DAKBggqhkjOPQQDAjA3MTUwMwYDVQQDDCxh
\na2FzaDE5cmw0Y20yaG1yOGFmeTRrbGRweHozZmthNGpndXEwYTNtcTZ4MDAeFw0y
\nNjExMjIwNTE3MDRaFw0yNzExMjIwNTE3MDRaMDcxNTAzBgNVBAMMLGFrYXNoMTly
\nbDRjbTJobXI4YWZ5NGtsZHB4ejNma2E0amd1cTBhM21xNngwMFkwEwYHKoZIzj0C
\nAQYIKoZIzj0DAQcDQgAEOPOqnKHmpyzfDIqWIDrgVEMbtPdguWAh+gdgleywN1Re
\nTVcn9csr7F3se7yuBkcfuZJWvjHNZx/4INnc0KZDiKM4MDYwDgYDVR0PAQH/BAQD
\nAgQwMBMGA1UdJQQMMAoGCCsGAQUFBwMCMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
\nzj0EAwIDSAAwRQIgVJmEydTNjLAjQE59rAQN+Ho9XwEv+xzrPDHbN1XBXl8CIQCA
\neof1tVYfrq9CFCV0t6eyh8YWnl7M8hy01GttnhdO/w==
\n-----END CERTIFICATE-----
\n";
        const PUBKEY: &str = "-----BEGIN EC PUBLIC KEY-----
\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOPOqnKHmpyzfDIqWIDrgVEMbtPdg
\nuWAh+gdgleywN1ReTVcn9csr7F3se7yuBkcfuZJWvjHNZx/4INnc0KZDiA==
\n-----END EC PUBLIC KEY-----
\n";
        let owner = "akash19rl4cm2hmr8afy4kldpxz3fka4jguq0a3mq6x0";
        let parsed = validate_for_owner(CERT.as_bytes(), PUBKEY.as_bytes(), owner).unwrap();
        assert_eq!(parsed.subject_cn, owner);
        assert_eq!(parsed.issuer_cn, owner);
        assert!(parsed.client_auth);
        assert_eq!(
            parsed.serial,
            u64::from_str_radix("0660d69680a8d0", 16)
                .unwrap()
                .to_string()
        );
        assert!(validate_for_owner(CERT.as_bytes(), PUBKEY.as_bytes(), &owner_other()).is_err());
    }

    fn owner_other() -> String {
        Wallet::from_entropy([8; 32]).0.address().to_string()
    }
}
