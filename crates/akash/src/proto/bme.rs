//! The burn/mint engine (chain v2.0.0+): `akash.bme.v1`. Tenants burn `uakt` to mint `uact`,
//! the denomination deployments are priced and funded in. Minting is settled per epoch, so a
//! `MsgMintACT` returns a pending ledger record; its outcome shows in the ledger query and in
//! `EventLedgerRecordExecuted` / `EventLedgerRecordCanceled`.

/// `akash.bme.v1`: mint/burn messages, ledger records, status, queries and events.
pub mod v1 {
    use crate::proto::base::{Coin, PageRequest, PageResponse};

    proto_enum! {
        /// `akash.bme.v1.MintStatus`: the circuit breaker's state.
        pub enum MintStatus {
            /// Not set.
            Unspecified = 0 => "mint_status_unspecified",
            /// Normal operation.
            Healthy = 1 => "mint_status_healthy",
            /// Collateral ratio below the warning threshold (slower epochs).
            Warning = 2 => "mint_status_warning",
            /// Collateral ratio below the halt threshold: mints are paused.
            HaltCr = 3 => "mint_status_halt_cr",
            /// The oracle price is unhealthy: mints are paused.
            HaltOracle = 4 => "mint_status_halt_oracle",
        }
    }

    proto_enum! {
        /// `akash.bme.v1.LedgerRecordStatus`: where a burn/mint request stands.
        pub enum LedgerRecordStatus {
            /// Not a valid status.
            Invalid = 0 => "ledger_record_status_invalid",
            /// Waiting for the next epoch.
            Pending = 1 => "ledger_record_status_pending",
            /// Burned and minted.
            Executed = 2 => "ledger_record_status_executed",
            /// Failed; the coins went back to the owner.
            Canceled = 3 => "ledger_record_status_canceled",
        }
    }

    proto_enum! {
        /// `akash.bme.v1.LedgerCanceledRecord.BMCancelReason`: why a request was canceled.
        pub enum CancelReason {
            /// Unknown.
            Unknown = 0 => "unknown",
            /// The result would be below 10^-6.
            Epsilon = 1 => "epsilon",
            /// The oracle price is zero.
            ZeroPrice = 2 => "zero_price",
            /// Not enough vault or supply funds.
            InsufficientFunds = 3 => "insufficient_funds",
            /// Unregistered denomination.
            InvalidDenom = 4 => "invalid_denom",
            /// Zero or invalid burn amount.
            InvalidAmount = 5 => "invalid_amount",
            /// The mint would be below the `min_mint` param.
            MinimumMint = 6 => "minimum_mint",
            /// Minting failed.
            MintFailed = 7 => "mint_failed",
            /// Burning failed.
            BurnFailed = 8 => "burn_failed",
            /// Too many retries.
            MaxAttempts = 9 => "max_attempts",
        }
    }

    /// `akash.bme.v1.MsgMintACT`: burns `coins_to_burn` (`uakt`) to mint `uact` to `to`;
    /// signed by `owner`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct MsgMintACT {
        /// Whose coins are burned.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Who receives the minted ACT (must be the owner).
        #[prost(string, tag = "2")]
        pub to: String,
        /// The coins to burn.
        #[prost(message, required, tag = "3")]
        pub coins_to_burn: Coin,
    }

    /// `akash.bme.v1.MsgMintACTResponse`: the ledger record the request became.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgMintACTResponse {
        /// The record's ID.
        #[prost(message, required, tag = "1")]
        pub id: LedgerRecordID,
        /// A [`LedgerRecordStatus`] as its number (usually pending).
        #[prost(enumeration = "LedgerRecordStatus", tag = "2")]
        pub status: i32,
    }

    /// `akash.bme.v1.MsgBurnACT`: burns unused `uact` back into `uakt`; signed by `owner`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct MsgBurnACT {
        /// Whose coins are burned.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Who receives the minted coins.
        #[prost(string, tag = "2")]
        pub to: String,
        /// The coins to burn.
        #[prost(message, required, tag = "3")]
        pub coins_to_burn: Coin,
    }

    /// `akash.bme.v1.MsgBurnACTResponse`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgBurnACTResponse {
        /// The record's ID.
        #[prost(message, required, tag = "1")]
        pub id: LedgerRecordID,
        /// A [`LedgerRecordStatus`] as its number.
        #[prost(enumeration = "LedgerRecordStatus", tag = "2")]
        pub status: i32,
    }

    /// `akash.bme.v1.LedgerRecordID`: a burn/mint request.
    #[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
    pub struct LedgerRecordID {
        /// Denomination burned.
        #[prost(string, tag = "1")]
        pub denom: String,
        /// Denomination minted.
        #[prost(string, tag = "2")]
        pub to_denom: String,
        /// Who asked.
        #[prost(string, tag = "3")]
        pub source: String,
        /// Block height of the request.
        #[prost(int64, tag = "4")]
        pub height: i64,
        /// Sequence within the block.
        #[prost(int64, tag = "5")]
        pub sequence: i64,
    }

    /// `akash.bme.v1.CoinPrice`: an amount and the oracle price it moved at.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct CoinPrice {
        /// The amount.
        #[prost(message, required, tag = "1")]
        pub coin: Coin,
        /// `LegacyDec` price, scaled by 10^18 on the wire.
        #[prost(string, tag = "2")]
        pub price: String,
    }

    /// `akash.bme.v1.LedgerPendingRecord`: a request waiting for its epoch.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct LedgerPendingRecord {
        /// Whose coins are burned.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Who receives the minted coins.
        #[prost(string, tag = "2")]
        pub to: String,
        /// The coins to burn.
        #[prost(message, required, tag = "3")]
        pub coins_to_burn: Coin,
        /// The denomination to mint.
        #[prost(string, tag = "4")]
        pub denom_to_mint: String,
        /// Failed attempts so far.
        #[prost(uint32, tag = "5")]
        pub attempts: u32,
    }

    /// `akash.bme.v1.LedgerCanceledRecord`: a request that failed.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct LedgerCanceledRecord {
        /// Whose coins were to be burned.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// A [`CancelReason`] as its number.
        #[prost(enumeration = "CancelReason", tag = "2")]
        pub cancel_reason: i32,
        /// Who was to receive the minted coins.
        #[prost(string, tag = "3")]
        pub to: String,
        /// The coins that were to be burned.
        #[prost(message, required, tag = "4")]
        pub coins_to_burn: Coin,
        /// The denomination that was to be minted.
        #[prost(string, tag = "5")]
        pub denom_to_mint: String,
    }

    /// `akash.bme.v1.LedgerRecord`: an executed burn/mint.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct LedgerRecord {
        /// Source of the burned coins.
        #[prost(string, tag = "1")]
        pub burned_from: String,
        /// Destination of the minted coins.
        #[prost(string, tag = "2")]
        pub minted_to: String,
        /// Module account that burned.
        #[prost(string, tag = "3")]
        pub burner: String,
        /// Module account that minted.
        #[prost(string, tag = "4")]
        pub minter: String,
        /// Burned, at price.
        #[prost(message, optional, tag = "5")]
        pub burned: Option<CoinPrice>,
        /// Minted, at price.
        #[prost(message, optional, tag = "6")]
        pub minted: Option<CoinPrice>,
        /// The spread kept.
        #[prost(message, required, tag = "7")]
        pub spread: Coin,
        /// Remint credit issued.
        #[prost(message, optional, tag = "8")]
        pub remint_credit_issued: Option<CoinPrice>,
        /// Remint credit accrued.
        #[prost(message, optional, tag = "9")]
        pub remint_credit_accrued: Option<CoinPrice>,
    }

    /// The record a [`QueryLedgerRecordEntry`] holds (proto `oneof record`).
    // Mirrors the proto oneof; values are short-lived query results, so boxing buys nothing.
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum LedgerEntryRecord {
        /// Waiting for its epoch.
        #[prost(message, tag = "3")]
        PendingRecord(LedgerPendingRecord),
        /// Executed.
        #[prost(message, tag = "4")]
        ExecutedRecord(LedgerRecord),
        /// Canceled.
        #[prost(message, tag = "5")]
        CanceledRecord(LedgerCanceledRecord),
    }

    /// `akash.bme.v1.LedgerRecordFilters`; empty strings match anything.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct LedgerRecordFilters {
        /// Who asked.
        #[prost(string, tag = "1")]
        pub source: String,
        /// Denomination burned.
        #[prost(string, tag = "2")]
        pub denom: String,
        /// Denomination minted.
        #[prost(string, tag = "3")]
        pub to_denom: String,
        /// A [`LedgerRecordStatus`] name; empty for pending and executed.
        #[prost(string, tag = "4")]
        pub status: String,
    }

    /// `akash.bme.v1.QueryLedgerRecordsRequest`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryLedgerRecordsRequest {
        /// Which records.
        #[prost(message, required, tag = "1")]
        pub filters: LedgerRecordFilters,
        /// Which page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.bme.v1.QueryLedgerRecordEntry`: one ledger record.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryLedgerRecordEntry {
        /// Its ID.
        #[prost(message, required, tag = "1")]
        pub id: LedgerRecordID,
        /// A [`LedgerRecordStatus`] as its number.
        #[prost(enumeration = "LedgerRecordStatus", tag = "2")]
        pub status: i32,
        /// The record, by status.
        #[prost(oneof = "LedgerEntryRecord", tags = "3, 4, 5")]
        pub record: Option<LedgerEntryRecord>,
    }

    /// `akash.bme.v1.QueryLedgerRecordsResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryLedgerRecordsResponse {
        /// The records.
        #[prost(message, repeated, tag = "1")]
        pub records: Vec<QueryLedgerRecordEntry>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    /// `akash.bme.v1.QueryStatusRequest` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryStatusRequest {}

    /// `akash.bme.v1.QueryStatusResponse`: whether minting is open now.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryStatusResponse {
        /// A [`MintStatus`] as its number.
        #[prost(enumeration = "MintStatus", tag = "1")]
        pub status: i32,
        /// `LegacyDec` collateral ratio.
        #[prost(string, tag = "2")]
        pub collateral_ratio: String,
        /// `LegacyDec` warning threshold.
        #[prost(string, tag = "3")]
        pub warn_threshold: String,
        /// `LegacyDec` halt threshold.
        #[prost(string, tag = "4")]
        pub halt_threshold: String,
        /// Whether new ACT mints are allowed.
        #[prost(bool, tag = "5")]
        pub mints_allowed: bool,
        /// Whether ACT refunds are allowed.
        #[prost(bool, tag = "6")]
        pub refunds_allowed: bool,
    }

    /// `akash.bme.v1.Params`: the module's parameters (field 5 is unused).
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Params {
        /// Warning threshold of the collateral ratio, in basis points × 100.
        #[prost(uint32, tag = "1")]
        pub circuit_breaker_warn_threshold: u32,
        /// Halt threshold of the collateral ratio, in basis points × 100.
        #[prost(uint32, tag = "2")]
        pub circuit_breaker_halt_threshold: u32,
        /// Minimum blocks per mint epoch.
        #[prost(int64, tag = "3")]
        pub min_epoch_blocks: i64,
        /// Epoch backoff per basis point below the warning threshold.
        #[prost(uint32, tag = "4")]
        pub epoch_blocks_backoff_percent: u32,
        /// Spread on mints, in basis points.
        #[prost(uint32, tag = "6")]
        pub mint_spread_bps: u32,
        /// Spread on settlement, in basis points.
        #[prost(uint32, tag = "7")]
        pub settle_spread_bps: u32,
        /// Pending records processed per block at most.
        #[prost(uint32, tag = "8")]
        pub max_endblocker_records: u32,
        /// Minimum ACT a mint must produce.
        #[prost(message, repeated, tag = "9")]
        pub min_mint: Vec<Coin>,
        /// Retries before a pending record is canceled.
        #[prost(uint32, tag = "10")]
        pub max_pending_attempts: u32,
    }

    /// `akash.bme.v1.QueryParamsRequest` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryParamsRequest {}

    /// `akash.bme.v1.QueryParamsResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryParamsResponse {
        /// The parameters.
        #[prost(message, required, tag = "1")]
        pub params: Params,
    }

    /// `akash.bme.v1.EventLedgerRecordExecuted`: a burn/mint went through.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct EventLedgerRecordExecuted {
        /// The record.
        #[prost(message, required, tag = "1")]
        pub id: LedgerRecordID,
        /// Source of the burned coins.
        #[prost(string, tag = "2")]
        pub burned_from: String,
        /// Destination of the minted coins.
        #[prost(string, tag = "3")]
        pub minted_to: String,
        /// Module account that burned.
        #[prost(string, tag = "4")]
        pub burner: String,
        /// Module account that minted.
        #[prost(string, tag = "5")]
        pub minter: String,
        /// Burned, at price.
        #[prost(message, optional, tag = "6")]
        pub burned: Option<CoinPrice>,
        /// Minted, at price.
        #[prost(message, optional, tag = "7")]
        pub minted: Option<CoinPrice>,
        /// The spread kept.
        #[prost(message, required, tag = "8")]
        pub spread: Coin,
        /// Remint credit issued.
        #[prost(message, optional, tag = "9")]
        pub remint_credit_issued: Option<CoinPrice>,
        /// Remint credit accrued.
        #[prost(message, optional, tag = "10")]
        pub remint_credit_accrued: Option<CoinPrice>,
    }

    /// `akash.bme.v1.EventLedgerRecordCanceled`: a burn/mint failed and was refunded.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct EventLedgerRecordCanceled {
        /// The record.
        #[prost(message, required, tag = "1")]
        pub id: LedgerRecordID,
        /// A [`CancelReason`] as its number.
        #[prost(enumeration = "CancelReason", tag = "2")]
        pub cancel_reason: i32,
        /// Whose coins were to be burned.
        #[prost(string, tag = "3")]
        pub owner: String,
        /// Who was to receive the minted coins.
        #[prost(string, tag = "4")]
        pub to: String,
        /// The coins that were to be burned.
        #[prost(message, required, tag = "5")]
        pub coins_to_burn: Coin,
        /// The denomination that was to be minted.
        #[prost(string, tag = "6")]
        pub denom_to_mint: String,
    }

    /// `akash.bme.v1.EventMintStatusChange`: the circuit breaker changed state.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventMintStatusChange {
        /// A [`MintStatus`] as its number.
        #[prost(enumeration = "MintStatus", tag = "1")]
        pub previous_status: i32,
        /// A [`MintStatus`] as its number.
        #[prost(enumeration = "MintStatus", tag = "2")]
        pub new_status: i32,
        /// `LegacyDec` collateral ratio that triggered the change.
        #[prost(string, tag = "3")]
        pub collateral_ratio: String,
    }

    proto_names!("akash.bme.v1":
        MsgMintACT, MsgMintACTResponse, MsgBurnACT, MsgBurnACTResponse, LedgerRecordID,
        CoinPrice, LedgerPendingRecord, LedgerCanceledRecord, LedgerRecord, LedgerRecordFilters,
        QueryLedgerRecordsRequest, QueryLedgerRecordEntry, QueryLedgerRecordsResponse,
        QueryStatusRequest, QueryStatusResponse, Params, QueryParamsRequest, QueryParamsResponse,
        EventLedgerRecordExecuted, EventLedgerRecordCanceled, EventMintStatusChange,
    );
}
