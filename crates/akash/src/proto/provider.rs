//! Providers: `akash.provider.v1beta4`.

/// `akash.provider.v1beta4`: provider records, their messages, queries and events.
pub mod v1beta4 {
    use crate::proto::base::{PageRequest, PageResponse};
    use crate::sdl::Attribute;

    /// `akash.provider.v1beta4.Info`: a provider's contact details.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct Info {
        /// Contact e-mail.
        #[prost(string, tag = "1")]
        pub email: String,
        /// Website.
        #[prost(string, tag = "2")]
        pub website: String,
    }

    /// `akash.provider.v1beta4.Provider`: a provider on chain.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct Provider {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Gateway base URL, e.g. `https://provider.example.com:8443`.
        #[prost(string, tag = "2")]
        pub host_uri: String,
        /// Attributes the provider declares.
        #[prost(message, repeated, tag = "3")]
        pub attributes: Vec<Attribute>,
        /// Contact details.
        #[prost(message, required, tag = "4")]
        pub info: Info,
    }

    /// `akash.provider.v1beta4.MsgCreateProvider`, signed by `owner`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCreateProvider {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Gateway base URL.
        #[prost(string, tag = "2")]
        pub host_uri: String,
        /// Attributes.
        #[prost(message, repeated, tag = "3")]
        pub attributes: Vec<Attribute>,
        /// Contact details.
        #[prost(message, required, tag = "4")]
        pub info: Info,
    }

    /// `akash.provider.v1beta4.MsgCreateProviderResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCreateProviderResponse {}

    /// `akash.provider.v1beta4.MsgUpdateProvider`, signed by `owner`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgUpdateProvider {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Gateway base URL.
        #[prost(string, tag = "2")]
        pub host_uri: String,
        /// Attributes.
        #[prost(message, repeated, tag = "3")]
        pub attributes: Vec<Attribute>,
        /// Contact details.
        #[prost(message, required, tag = "4")]
        pub info: Info,
    }

    /// `akash.provider.v1beta4.MsgUpdateProviderResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgUpdateProviderResponse {}

    /// `akash.provider.v1beta4.MsgDeleteProvider`, signed by `owner`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgDeleteProvider {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
    }

    /// `akash.provider.v1beta4.MsgDeleteProviderResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgDeleteProviderResponse {}

    /// `akash.provider.v1beta4.QueryProvidersRequest`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryProvidersRequest {
        /// Which page.
        #[prost(message, optional, tag = "1")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.provider.v1beta4.QueryProvidersResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryProvidersResponse {
        /// The providers.
        #[prost(message, repeated, tag = "1")]
        pub providers: Vec<Provider>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    /// `akash.provider.v1beta4.QueryProviderRequest`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryProviderRequest {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
    }

    /// `akash.provider.v1beta4.QueryProviderResponse`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryProviderResponse {
        /// The provider.
        #[prost(message, required, tag = "1")]
        pub provider: Provider,
    }

    /// `akash.provider.v1beta4.EventProviderCreated`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventProviderCreated {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
    }

    /// `akash.provider.v1beta4.EventProviderUpdated`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventProviderUpdated {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
    }

    /// `akash.provider.v1beta4.EventProviderDeleted`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventProviderDeleted {
        /// Provider's account address.
        #[prost(string, tag = "1")]
        pub owner: String,
    }

    proto_names!("akash.provider.v1beta4":
        Info, Provider, MsgCreateProvider, MsgCreateProviderResponse, MsgUpdateProvider,
        MsgUpdateProviderResponse, MsgDeleteProvider, MsgDeleteProviderResponse,
        QueryProvidersRequest, QueryProvidersResponse, QueryProviderRequest,
        QueryProviderResponse, EventProviderCreated, EventProviderUpdated, EventProviderDeleted,
    );
}
