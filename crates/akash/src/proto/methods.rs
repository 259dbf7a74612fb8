//! The gRPC services: query method paths with their request/response pairs ([`Query`]), and the
//! transaction messages with their `Msg` service methods, responses and signers ([`TxMsg`],
//! [`TxMessage`]). Source: each package's `query.proto` / `service.proto` in chain-sdk.

use super::base::{from_any, to_any, Any, AnyError};
use super::{audit::v1 as audit, bme::v1 as bme, cert::v1 as cert};
use super::{deployment::v1beta4 as deployment, escrow::v1 as escrow};
use super::{market::v1beta5 as market, provider::v1beta4 as provider};

/// A query request: a node answers it over ABCI `abci_query` with `path` = [`Query::PATH`] and
/// `data` = the encoded request; the reply's value is the encoded [`Query::Response`].
pub trait Query: prost::Message + Default {
    /// The answer.
    type Response: prost::Message + Default;
    /// The gRPC method path, e.g. `/akash.deployment.v1beta4.Query/Deployment`.
    const PATH: &'static str;
}

/// A transaction message: packed into an `Any` with its type URL, answered (in the tx
/// result's `TxMsgData.msg_responses`) with a [`TxMsg::Response`].
pub trait TxMsg: prost::Message + prost::Name + Default {
    /// The answer.
    type Response: prost::Message + prost::Name + Default;
    /// The `Msg` service method, e.g. `/akash.deployment.v1beta4.Msg/CreateDeployment`.
    const METHOD: &'static str;
    /// The address that must sign it (Go's `GetSigners`).
    fn signer(&self) -> &str;
}

macro_rules! queries {
    ($service:literal: $($konst:ident = $method:literal: $req:ty => $resp:ty;)*) => {
        $(
            #[doc = concat!("`/", $service, "/", $method, "`.")]
            pub const $konst: &str = concat!("/", $service, "/", $method);

            impl super::Query for $req {
                type Response = $resp;
                const PATH: &'static str = $konst;
            }
        )*
    };
}

macro_rules! msgs {
    ($service:literal: $(
        $konst:ident = $method:literal: $msg:ty => $resp:ty, |$m:ident| $signer:expr;
    )*) => {
        $(
            #[doc = concat!("`/", $service, "/", $method, "`.")]
            pub const $konst: &str = concat!("/", $service, "/", $method);

            impl super::TxMsg for $msg {
                type Response = $resp;
                const METHOD: &'static str = $konst;

                fn signer(&self) -> &str {
                    let $m = self;
                    $signer
                }
            }
        )*
    };
}

/// `akash.deployment.v1beta4.Query` and `.Msg`.
pub mod deployment_v1beta4 {
    use super::deployment::*;

    queries! { "akash.deployment.v1beta4.Query":
        QUERY_DEPLOYMENTS = "Deployments": QueryDeploymentsRequest => QueryDeploymentsResponse;
        QUERY_DEPLOYMENT = "Deployment": QueryDeploymentRequest => QueryDeploymentResponse;
        QUERY_GROUP = "Group": QueryGroupRequest => QueryGroupResponse;
        QUERY_PARAMS = "Params": QueryParamsRequest => QueryParamsResponse;
    }

    msgs! { "akash.deployment.v1beta4.Msg":
        MSG_CREATE_DEPLOYMENT = "CreateDeployment":
            MsgCreateDeployment => MsgCreateDeploymentResponse, |m| &m.id.owner;
        MSG_UPDATE_DEPLOYMENT = "UpdateDeployment":
            MsgUpdateDeployment => MsgUpdateDeploymentResponse, |m| &m.id.owner;
        MSG_CLOSE_DEPLOYMENT = "CloseDeployment":
            MsgCloseDeployment => MsgCloseDeploymentResponse, |m| &m.id.owner;
        MSG_CLOSE_GROUP = "CloseGroup": MsgCloseGroup => MsgCloseGroupResponse, |m| &m.id.owner;
        MSG_PAUSE_GROUP = "PauseGroup": MsgPauseGroup => MsgPauseGroupResponse, |m| &m.id.owner;
        MSG_START_GROUP = "StartGroup": MsgStartGroup => MsgStartGroupResponse, |m| &m.id.owner;
    }
}

/// `akash.market.v1beta5.Query` and `.Msg`.
pub mod market_v1beta5 {
    use super::market::*;

    queries! { "akash.market.v1beta5.Query":
        QUERY_ORDERS = "Orders": QueryOrdersRequest => QueryOrdersResponse;
        QUERY_ORDER = "Order": QueryOrderRequest => QueryOrderResponse;
        QUERY_BIDS = "Bids": QueryBidsRequest => QueryBidsResponse;
        QUERY_BID = "Bid": QueryBidRequest => QueryBidResponse;
        QUERY_LEASES = "Leases": QueryLeasesRequest => QueryLeasesResponse;
        QUERY_LEASE = "Lease": QueryLeaseRequest => QueryLeaseResponse;
        QUERY_PARAMS = "Params": QueryParamsRequest => QueryParamsResponse;
    }

    msgs! { "akash.market.v1beta5.Msg":
        MSG_CREATE_BID = "CreateBid": MsgCreateBid => MsgCreateBidResponse, |m| &m.id.provider;
        MSG_CLOSE_BID = "CloseBid": MsgCloseBid => MsgCloseBidResponse, |m| &m.id.provider;
        MSG_WITHDRAW_LEASE = "WithdrawLease":
            MsgWithdrawLease => MsgWithdrawLeaseResponse, |m| &m.id.provider;
        MSG_CREATE_LEASE = "CreateLease":
            MsgCreateLease => MsgCreateLeaseResponse, |m| &m.bid_id.owner;
        MSG_CLOSE_LEASE = "CloseLease": MsgCloseLease => MsgCloseLeaseResponse, |m| &m.id.owner;
        MSG_LEASE_START_RECLAIM = "LeaseStartReclaim":
            MsgLeaseStartReclaim => MsgLeaseStartReclaimResponse, |m| &m.id.provider;
    }
}

/// `akash.escrow.v1.Query` and `.Msg`.
pub mod escrow_v1 {
    use super::escrow::*;

    queries! { "akash.escrow.v1.Query":
        QUERY_ACCOUNTS = "Accounts": QueryAccountsRequest => QueryAccountsResponse;
        QUERY_PAYMENTS = "Payments": QueryPaymentsRequest => QueryPaymentsResponse;
    }

    msgs! { "akash.escrow.v1.Msg":
        MSG_ACCOUNT_DEPOSIT = "AccountDeposit":
            MsgAccountDeposit => MsgAccountDepositResponse, |m| &m.signer;
    }
}

/// `akash.provider.v1beta4.Query` and `.Msg`.
pub mod provider_v1beta4 {
    use super::provider::*;

    queries! { "akash.provider.v1beta4.Query":
        QUERY_PROVIDERS = "Providers": QueryProvidersRequest => QueryProvidersResponse;
        QUERY_PROVIDER = "Provider": QueryProviderRequest => QueryProviderResponse;
    }

    msgs! { "akash.provider.v1beta4.Msg":
        MSG_CREATE_PROVIDER = "CreateProvider":
            MsgCreateProvider => MsgCreateProviderResponse, |m| &m.owner;
        MSG_UPDATE_PROVIDER = "UpdateProvider":
            MsgUpdateProvider => MsgUpdateProviderResponse, |m| &m.owner;
        MSG_DELETE_PROVIDER = "DeleteProvider":
            MsgDeleteProvider => MsgDeleteProviderResponse, |m| &m.owner;
    }
}

/// `akash.audit.v1.Query` and `.Msg`.
pub mod audit_v1 {
    use super::audit::*;

    queries! { "akash.audit.v1.Query":
        QUERY_ALL_PROVIDERS_ATTRIBUTES = "AllProvidersAttributes":
            QueryAllProvidersAttributesRequest => QueryProvidersResponse;
        QUERY_PROVIDER_ATTRIBUTES = "ProviderAttributes":
            QueryProviderAttributesRequest => QueryProvidersResponse;
        QUERY_PROVIDER_AUDITOR_ATTRIBUTES = "ProviderAuditorAttributes":
            QueryProviderAuditorRequest => QueryProvidersResponse;
        QUERY_AUDITOR_ATTRIBUTES = "AuditorAttributes":
            QueryAuditorAttributesRequest => QueryProvidersResponse;
    }

    msgs! { "akash.audit.v1.Msg":
        MSG_SIGN_PROVIDER_ATTRIBUTES = "SignProviderAttributes":
            MsgSignProviderAttributes => MsgSignProviderAttributesResponse, |m| &m.auditor;
        MSG_DELETE_PROVIDER_ATTRIBUTES = "DeleteProviderAttributes":
            MsgDeleteProviderAttributes => MsgDeleteProviderAttributesResponse, |m| &m.auditor;
    }
}

/// `akash.cert.v1.Query` and `.Msg`.
pub mod cert_v1 {
    use super::cert::*;

    queries! { "akash.cert.v1.Query":
        QUERY_CERTIFICATES = "Certificates": QueryCertificatesRequest => QueryCertificatesResponse;
    }

    msgs! { "akash.cert.v1.Msg":
        MSG_CREATE_CERTIFICATE = "CreateCertificate":
            MsgCreateCertificate => MsgCreateCertificateResponse, |m| &m.owner;
        MSG_REVOKE_CERTIFICATE = "RevokeCertificate":
            MsgRevokeCertificate => MsgRevokeCertificateResponse, |m| &m.id.owner;
    }
}

/// `akash.bme.v1.Query` and `.Msg` (the parts a tenant uses).
pub mod bme_v1 {
    use super::bme::*;

    queries! { "akash.bme.v1.Query":
        QUERY_PARAMS = "Params": QueryParamsRequest => QueryParamsResponse;
        QUERY_STATUS = "Status": QueryStatusRequest => QueryStatusResponse;
        QUERY_LEDGER_RECORDS = "LedgerRecords":
            QueryLedgerRecordsRequest => QueryLedgerRecordsResponse;
    }

    msgs! { "akash.bme.v1.Msg":
        MSG_MINT_ACT = "MintACT": MsgMintACT => MsgMintACTResponse, |m| &m.owner;
        MSG_BURN_ACT = "BurnACT": MsgBurnACT => MsgBurnACTResponse, |m| &m.owner;
    }
}

macro_rules! tx_messages {
    ($($variant:ident($ty:ty),)*) => {
        /// Every transaction message this crate defines, for dispatch on a type URL (the
        /// devnet's message router, a tx decoder).
        // Messages are short-lived values; boxing the large ones would only add noise.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq)]
        pub enum TxMessage {
            $(
                #[doc = concat!("`", stringify!($ty), "`.")]
                $variant($ty),
            )*
        }

        impl TxMessage {
            /// Unpacks an `Any`; `Ok(None)` when its type URL is not one of these messages.
            pub fn from_any(any: &Any) -> Result<Option<TxMessage>, AnyError> {
                $(
                    if any.type_url == <$ty as prost::Name>::type_url() {
                        return from_any::<$ty>(any).map(|m| Some(TxMessage::$variant(m)));
                    }
                )*
                Ok(None)
            }

            /// Packs the message into an `Any`.
            pub fn to_any(&self) -> Any {
                match self {
                    $(TxMessage::$variant(m) => to_any(m),)*
                }
            }

            /// The message's type URL, e.g. `/akash.market.v1beta5.MsgCreateLease`.
            pub fn type_url(&self) -> String {
                match self {
                    $(TxMessage::$variant(_) => <$ty as prost::Name>::type_url(),)*
                }
            }

            /// The address that must sign it.
            pub fn signer(&self) -> &str {
                match self {
                    $(TxMessage::$variant(m) => TxMsg::signer(m),)*
                }
            }

            /// The type URLs of every variant.
            pub fn type_urls() -> Vec<String> {
                vec![$(<$ty as prost::Name>::type_url(),)*]
            }
        }

        $(
            impl From<$ty> for TxMessage {
                fn from(m: $ty) -> TxMessage {
                    TxMessage::$variant(m)
                }
            }
        )*
    };
}

tx_messages! {
    CreateDeployment(deployment::MsgCreateDeployment),
    UpdateDeployment(deployment::MsgUpdateDeployment),
    CloseDeployment(deployment::MsgCloseDeployment),
    CloseGroup(deployment::MsgCloseGroup),
    PauseGroup(deployment::MsgPauseGroup),
    StartGroup(deployment::MsgStartGroup),
    CreateBid(market::MsgCreateBid),
    CloseBid(market::MsgCloseBid),
    WithdrawLease(market::MsgWithdrawLease),
    CreateLease(market::MsgCreateLease),
    CloseLease(market::MsgCloseLease),
    LeaseStartReclaim(market::MsgLeaseStartReclaim),
    AccountDeposit(escrow::MsgAccountDeposit),
    CreateProvider(provider::MsgCreateProvider),
    UpdateProvider(provider::MsgUpdateProvider),
    DeleteProvider(provider::MsgDeleteProvider),
    SignProviderAttributes(audit::MsgSignProviderAttributes),
    DeleteProviderAttributes(audit::MsgDeleteProviderAttributes),
    CreateCertificate(cert::MsgCreateCertificate),
    RevokeCertificate(cert::MsgRevokeCertificate),
    MintAct(bme::MsgMintACT),
    BurnAct(bme::MsgBurnACT),
}
