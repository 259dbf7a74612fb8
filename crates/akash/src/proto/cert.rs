//! Client/provider certificates for mTLS: `akash.cert.v1`.

/// `akash.cert.v1`: certificates, their messages and queries.
pub mod v1 {
    use crate::proto::base::{PageRequest, PageResponse};

    proto_enum! {
        /// `akash.cert.v1.State`: a certificate's state.
        pub enum CertificateState {
            /// Not a valid state.
            Invalid = 0 => "invalid",
            /// Valid.
            Valid = 1 => "valid",
            /// Revoked by its owner.
            Revoked = 2 => "revoked",
        }
    }

    /// `akash.cert.v1.ID`: a certificate is its owner and serial number.
    #[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
    pub struct CertificateID {
        /// Owner's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Serial number in decimal.
        #[prost(string, tag = "2")]
        pub serial: String,
    }

    /// `akash.cert.v1.Certificate` (field 1 is unused).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct Certificate {
        /// A [`CertificateState`] as its number.
        #[prost(enumeration = "CertificateState", tag = "2")]
        pub state: i32,
        /// PEM block `CERTIFICATE`.
        #[prost(bytes = "vec", tag = "3")]
        pub cert: Vec<u8>,
        /// PEM block `EC PUBLIC KEY` (PKIX DER inside).
        #[prost(bytes = "vec", tag = "4")]
        pub pubkey: Vec<u8>,
    }

    /// `akash.cert.v1.CertificateFilter`; empty strings match anything.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct CertificateFilter {
        /// Owner's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Serial number in decimal.
        #[prost(string, tag = "2")]
        pub serial: String,
        /// A [`CertificateState`] name (`valid`, `revoked`).
        #[prost(string, tag = "3")]
        pub state: String,
    }

    /// `akash.cert.v1.MsgCreateCertificate`: publishes a certificate; signed by `owner`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCreateCertificate {
        /// Owner's account address (must be the certificate's subject CN).
        #[prost(string, tag = "1")]
        pub owner: String,
        /// PEM block `CERTIFICATE`.
        #[prost(bytes = "vec", tag = "2")]
        pub cert: Vec<u8>,
        /// PEM block `EC PUBLIC KEY`.
        #[prost(bytes = "vec", tag = "3")]
        pub pubkey: Vec<u8>,
    }

    /// `akash.cert.v1.MsgCreateCertificateResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCreateCertificateResponse {}

    /// `akash.cert.v1.MsgRevokeCertificate`, signed by `id.owner`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgRevokeCertificate {
        /// The certificate.
        #[prost(message, required, tag = "1")]
        pub id: CertificateID,
    }

    /// `akash.cert.v1.MsgRevokeCertificateResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgRevokeCertificateResponse {}

    /// `akash.cert.v1.CertificateResponse`: one certificate found.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct CertificateResponse {
        /// The certificate.
        #[prost(message, required, tag = "1")]
        pub certificate: Certificate,
        /// Its serial number.
        #[prost(string, tag = "2")]
        pub serial: String,
    }

    /// `akash.cert.v1.QueryCertificatesRequest`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryCertificatesRequest {
        /// Which certificates.
        #[prost(message, required, tag = "1")]
        pub filter: CertificateFilter,
        /// Which page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.cert.v1.QueryCertificatesResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryCertificatesResponse {
        /// The certificates.
        #[prost(message, repeated, tag = "1")]
        pub certificates: Vec<CertificateResponse>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    proto_names!("akash.cert.v1":
        CertificateID as "ID", Certificate, CertificateFilter, MsgCreateCertificate,
        MsgCreateCertificateResponse, MsgRevokeCertificate, MsgRevokeCertificateResponse,
        CertificateResponse, QueryCertificatesRequest, QueryCertificatesResponse,
    );
}
