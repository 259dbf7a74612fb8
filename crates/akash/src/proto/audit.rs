//! Auditors' signed provider attributes: `akash.audit.v1`.

/// `akash.audit.v1`: audited attributes, their messages, queries and events.
pub mod v1 {
    use crate::proto::base::{PageRequest, PageResponse};
    use crate::sdl::Attribute;

    /// `akash.audit.v1.AuditedProvider`: the attributes one auditor signed for one provider.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct AuditedProvider {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Auditor's account address.
        #[prost(string, tag = "2")]
        pub auditor: String,
        /// The signed attributes (field 4; 3 is unused).
        #[prost(message, repeated, tag = "4")]
        pub attributes: Vec<Attribute>,
    }

    /// `akash.audit.v1.AuditedAttributesStore`: the stored form of signed attributes.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct AuditedAttributesStore {
        /// The attributes.
        #[prost(message, repeated, tag = "1")]
        pub attributes: Vec<Attribute>,
    }

    /// `akash.audit.v1.AttributesFilters`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct AttributesFilters {
        /// Auditor addresses.
        #[prost(string, repeated, tag = "1")]
        pub auditors: Vec<String>,
        /// Provider addresses.
        #[prost(string, repeated, tag = "2")]
        pub owners: Vec<String>,
    }

    /// `akash.audit.v1.MsgSignProviderAttributes`, signed by `auditor`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgSignProviderAttributes {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Auditor's account address.
        #[prost(string, tag = "2")]
        pub auditor: String,
        /// Attributes to sign.
        #[prost(message, repeated, tag = "3")]
        pub attributes: Vec<Attribute>,
    }

    /// `akash.audit.v1.MsgSignProviderAttributesResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgSignProviderAttributesResponse {}

    /// `akash.audit.v1.MsgDeleteProviderAttributes`, signed by `auditor`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgDeleteProviderAttributes {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Auditor's account address.
        #[prost(string, tag = "2")]
        pub auditor: String,
        /// Attribute keys to remove.
        #[prost(string, repeated, tag = "3")]
        pub keys: Vec<String>,
    }

    /// `akash.audit.v1.MsgDeleteProviderAttributesResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgDeleteProviderAttributesResponse {}

    /// `akash.audit.v1.QueryProvidersResponse`: the answer of every audit query.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryProvidersResponse {
        /// Audited providers.
        #[prost(message, repeated, tag = "1")]
        pub providers: Vec<AuditedProvider>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    /// `akash.audit.v1.QueryProviderRequest` (defined, but no query method takes it).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryProviderRequest {
        /// Auditor's account address.
        #[prost(string, tag = "1")]
        pub auditor: String,
        /// Provider's account address.
        #[prost(string, tag = "2")]
        pub owner: String,
    }

    /// `akash.audit.v1.QueryAllProvidersAttributesRequest`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryAllProvidersAttributesRequest {
        /// Which page.
        #[prost(message, optional, tag = "1")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.audit.v1.QueryProviderAttributesRequest`: one provider's attributes from every
    /// auditor.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryProviderAttributesRequest {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Which page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.audit.v1.QueryProviderAuditorRequest`: one provider's attributes from one
    /// auditor.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryProviderAuditorRequest {
        /// Auditor's account address.
        #[prost(string, tag = "1")]
        pub auditor: String,
        /// Provider's account address.
        #[prost(string, tag = "2")]
        pub owner: String,
    }

    /// `akash.audit.v1.QueryAuditorAttributesRequest`: everything one auditor signed.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryAuditorAttributesRequest {
        /// Auditor's account address.
        #[prost(string, tag = "1")]
        pub auditor: String,
        /// Which page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.audit.v1.EventTrustedAuditorCreated`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventTrustedAuditorCreated {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Auditor's account address.
        #[prost(string, tag = "2")]
        pub auditor: String,
    }

    /// `akash.audit.v1.EventTrustedAuditorDeleted`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventTrustedAuditorDeleted {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Auditor's account address.
        #[prost(string, tag = "2")]
        pub auditor: String,
    }

    proto_names!("akash.audit.v1":
        AuditedProvider, AuditedAttributesStore, AttributesFilters, MsgSignProviderAttributes,
        MsgSignProviderAttributesResponse, MsgDeleteProviderAttributes,
        MsgDeleteProviderAttributesResponse, QueryProvidersResponse, QueryProviderRequest,
        QueryAllProvidersAttributesRequest, QueryProviderAttributesRequest,
        QueryProviderAuditorRequest, QueryAuditorAttributesRequest, EventTrustedAuditorCreated,
        EventTrustedAuditorDeleted,
    );
}
