//! Escrow: `akash.escrow.id.v1` (account and payment IDs), `akash.escrow.types.v1` (their
//! state) and `akash.escrow.v1` (deposits and queries).

/// `akash.escrow.id.v1`: escrow account and payment IDs.
pub mod id {
    /// `akash.escrow.id.v1`.
    pub mod v1 {
        proto_enum! {
            /// `akash.escrow.id.v1.Scope`: what an escrow account belongs to.
            pub enum Scope {
                /// Not a valid scope.
                Invalid = 0 => "invalid",
                /// A deployment's account; xid `owner/dseq`.
                Deployment = 1 => "deployment",
                /// A provider's bid deposit; xid `owner/dseq/gseq/oseq/provider`.
                Bid = 2 => "bid",
            }
        }

        /// `akash.escrow.id.v1.Account`: an escrow account ID. Key form `<scope>/<xid>`, e.g.
        /// `deployment/akash1.../123` (see [`Account::key`]).
        #[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
        pub struct Account {
            /// A [`Scope`] as its number.
            #[prost(enumeration = "Scope", tag = "1")]
            pub scope: i32,
            /// The scope's ID in string form (`owner/dseq` for a deployment).
            #[prost(string, tag = "2")]
            pub xid: String,
        }

        /// `akash.escrow.id.v1.Payment`: a payment out of an account. For a lease, `aid` is
        /// the deployment's account and `xid` is `gseq/oseq/provider`.
        #[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
        pub struct Payment {
            /// The account paid from.
            #[prost(message, required, tag = "1")]
            pub aid: Account,
            /// The payment within the account (`gseq/oseq/provider`).
            #[prost(string, tag = "2")]
            pub xid: String,
        }

        proto_names!("akash.escrow.id.v1": Account, Payment);
    }
}

/// `akash.escrow.types.v1`: escrow account and payment state.
pub mod types {
    /// `akash.escrow.types.v1`.
    pub mod v1 {
        use crate::proto::base::deposit::v1::Source;
        use crate::proto::base::Coin;
        use crate::sdl::DecCoin;

        proto_enum! {
            /// `akash.escrow.types.v1.State`: state of an escrow account or payment.
            pub enum EscrowState {
                /// Not a valid state.
                Invalid = 0 => "invalid",
                /// Open.
                Open = 1 => "open",
                /// Closed.
                Closed = 2 => "closed",
                /// Ran out of funds while payments were due.
                Overdrawn = 3 => "overdrawn",
            }
        }

        /// `akash.escrow.types.v1.Balance`: funds of one denomination.
        #[derive(Clone, PartialEq, Eq, ::prost::Message)]
        pub struct Balance {
            /// Denomination.
            #[prost(string, tag = "1")]
            pub denom: String,
            /// `LegacyDec`: the amount scaled by 10^18, as integer text (see
            /// [`crate::proto::legacy_dec`]).
            #[prost(string, tag = "2")]
            pub amount: String,
        }

        /// `akash.escrow.types.v1.Depositor`: one deposit still held in an account.
        #[derive(Clone, PartialEq, Eq, ::prost::Message)]
        pub struct Depositor {
            /// Who deposited.
            #[prost(string, tag = "1")]
            pub owner: String,
            /// Block height of the deposit.
            #[prost(int64, tag = "2")]
            pub height: i64,
            /// A [`Source`] as its number.
            #[prost(enumeration = "Source", tag = "3")]
            pub source: i32,
            /// What is left of it.
            #[prost(message, required, tag = "4")]
            pub balance: DecCoin,
        }

        /// `akash.escrow.types.v1.AccountState`.
        #[derive(Clone, PartialEq, Eq, ::prost::Message)]
        pub struct AccountState {
            /// The account's owner.
            #[prost(string, tag = "1")]
            pub owner: String,
            /// An [`EscrowState`] as its number.
            #[prost(enumeration = "EscrowState", tag = "2")]
            pub state: i32,
            /// Paid out so far, per denomination.
            #[prost(message, repeated, tag = "3")]
            pub transferred: Vec<DecCoin>,
            /// Block height of the last settlement.
            #[prost(int64, tag = "4")]
            pub settled_at: i64,
            /// Funds left, per denomination.
            #[prost(message, repeated, tag = "5")]
            pub funds: Vec<Balance>,
            /// The deposits the funds came from.
            #[prost(message, repeated, tag = "6")]
            pub deposits: Vec<Depositor>,
        }

        /// `akash.escrow.types.v1.Account`: an escrow account and its state.
        #[derive(Clone, PartialEq, Eq, ::prost::Message)]
        pub struct Account {
            /// Its ID.
            #[prost(message, required, tag = "1")]
            pub id: super::super::id::v1::Account,
            /// Its state.
            #[prost(message, required, tag = "2")]
            pub state: AccountState,
        }

        /// `akash.escrow.types.v1.PaymentState`.
        #[derive(Clone, PartialEq, ::prost::Message)]
        pub struct PaymentState {
            /// Who is paid (the provider, for a lease).
            #[prost(string, tag = "1")]
            pub owner: String,
            /// An [`EscrowState`] as its number.
            #[prost(enumeration = "EscrowState", tag = "2")]
            pub state: i32,
            /// Rate per block.
            #[prost(message, required, tag = "3")]
            pub rate: DecCoin,
            /// Earned and not yet withdrawn.
            #[prost(message, required, tag = "4")]
            pub balance: DecCoin,
            /// Owed but not covered by the account's funds.
            #[prost(message, required, tag = "5")]
            pub unsettled: DecCoin,
            /// Withdrawn so far.
            #[prost(message, required, tag = "6")]
            pub withdrawn: Coin,
        }

        /// `akash.escrow.types.v1.Payment`: a payment and its state.
        #[derive(Clone, PartialEq, ::prost::Message)]
        pub struct Payment {
            /// Its ID.
            #[prost(message, required, tag = "1")]
            pub id: super::super::id::v1::Payment,
            /// Its state.
            #[prost(message, required, tag = "2")]
            pub state: PaymentState,
        }

        proto_names!("akash.escrow.types.v1":
            Balance, Depositor, AccountState, Account, PaymentState, Payment,
        );
    }
}

/// `akash.escrow.v1`: deposits into escrow accounts, and the escrow queries.
pub mod v1 {
    use crate::proto::base::deposit::v1::Deposit;
    use crate::proto::base::{PageRequest, PageResponse};

    /// `akash.escrow.v1.MsgAccountDeposit`: tops up an escrow account (the only way to add
    /// funds to a deployment since Mainnet14), signed by `signer`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct MsgAccountDeposit {
        /// The depositor.
        #[prost(string, tag = "1")]
        pub signer: String,
        /// The account (scope `deployment`, xid `owner/dseq` for a deployment).
        #[prost(message, required, tag = "2")]
        pub id: super::id::v1::Account,
        /// Amount (non-zero, in the account's denomination) and sources (non-empty, unique).
        #[prost(message, required, tag = "3")]
        pub deposit: Deposit,
    }

    /// `akash.escrow.v1.MsgAccountDepositResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgAccountDepositResponse {}

    /// `akash.escrow.v1.QueryAccountsRequest`; empty strings match anything.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryAccountsRequest {
        /// An [`super::types::v1::EscrowState`] name (`open`, `closed`, `overdrawn`).
        #[prost(string, tag = "1")]
        pub state: String,
        /// Account key prefix, `<scope>/<xid>` (e.g. `deployment/akash1.../123`).
        #[prost(string, tag = "2")]
        pub xid: String,
        /// Which page (field 5).
        #[prost(message, optional, tag = "5")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.escrow.v1.QueryAccountsResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryAccountsResponse {
        /// The accounts.
        #[prost(message, repeated, tag = "1")]
        pub accounts: Vec<super::types::v1::Account>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    /// `akash.escrow.v1.QueryPaymentsRequest`; empty strings match anything.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryPaymentsRequest {
        /// An [`super::types::v1::EscrowState`] name.
        #[prost(string, tag = "1")]
        pub state: String,
        /// Payment key prefix, `<scope>/<account xid>/<payment xid>`.
        #[prost(string, tag = "2")]
        pub xid: String,
        /// Which page (field 6).
        #[prost(message, optional, tag = "6")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.escrow.v1.QueryPaymentsResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryPaymentsResponse {
        /// The payments.
        #[prost(message, repeated, tag = "1")]
        pub payments: Vec<super::types::v1::Payment>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    proto_names!("akash.escrow.v1":
        MsgAccountDeposit, MsgAccountDepositResponse, QueryAccountsRequest,
        QueryAccountsResponse, QueryPaymentsRequest, QueryPaymentsResponse,
    );
}
