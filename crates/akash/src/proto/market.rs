//! The market: `akash.market.v1` (order, bid and lease IDs, the lease, events) and
//! `akash.market.v1beta5` (orders, bids, messages, queries).

/// `akash.market.v1`: IDs, leases, lease filters and the market events.
pub mod v1 {
    use crate::sdl::DecCoin;

    proto_enum! {
        /// `akash.market.v1.LeaseClosedReason`: why a lease (or bid) was closed. Values below
        /// 10000 are the tenant's, 10000-19999 the provider's, 20000+ the chain's.
        pub enum LeaseClosedReason {
            /// Not given.
            Invalid = 0 => "lease_closed_invalid",
            /// The tenant closed it.
            Owner = 1 => "lease_closed_owner",
            /// The provider found the workload unstable.
            Unstable = 10000 => "lease_closed_reason_unstable",
            /// The provider is decommissioning.
            Decommission = 10001 => "lease_closed_reason_decommission",
            /// The provider gave no reason.
            Unspecified = 10002 => "lease_closed_reason_unspecified",
            /// No manifest arrived in time.
            ManifestTimeout = 10003 => "lease_closed_reason_manifest_timeout",
            /// The escrow account ran dry.
            InsufficientFunds = 20000 => "lease_closed_reason_insufficient_funds",
        }
    }

    proto_enum! {
        /// `akash.market.v1.Lease.State`.
        pub enum LeaseState {
            /// Not a valid state.
            Invalid = 0 => "invalid",
            /// Running and paid.
            Active = 1 => "active",
            /// The escrow account cannot pay it.
            InsufficientFunds = 2 => "insufficient_funds",
            /// Closed.
            Closed = 3 => "closed",
            /// The provider is reclaiming its resources (chain v2.1+).
            Reclaiming = 4 => "reclaiming",
        }
    }

    /// `akash.market.v1.OrderID`: the order a group opens (`oseq` from 1, incremented each
    /// time a lease of a still-open group closes). String form `owner/dseq/gseq/oseq`.
    #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
    pub struct OrderID {
        /// Deployment owner's address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// Group sequence number.
        #[prost(uint32, tag = "3")]
        pub gseq: u32,
        /// Order sequence number.
        #[prost(uint32, tag = "4")]
        pub oseq: u32,
    }

    /// `akash.market.v1.BidID`: a provider's bid on an order. String form (Go's `String()`)
    /// `owner/dseq/gseq/oseq/provider`, without `bseq`.
    #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
    pub struct BidID {
        /// Deployment owner's address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// Group sequence number.
        #[prost(uint32, tag = "3")]
        pub gseq: u32,
        /// Order sequence number.
        #[prost(uint32, tag = "4")]
        pub oseq: u32,
        /// Provider's address.
        #[prost(string, tag = "5")]
        pub provider: String,
        /// Bid sequence number (since Mainnet14; the chain requires 0 for now).
        #[prost(uint32, tag = "6")]
        pub bseq: u32,
    }

    /// `akash.market.v1.LeaseID`: same fields as the [`BidID`] it came from. String form
    /// `owner/dseq/gseq/oseq/provider`.
    #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
    pub struct LeaseID {
        /// Deployment owner's address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// Group sequence number.
        #[prost(uint32, tag = "3")]
        pub gseq: u32,
        /// Order sequence number.
        #[prost(uint32, tag = "4")]
        pub oseq: u32,
        /// Provider's address.
        #[prost(string, tag = "5")]
        pub provider: String,
        /// Bid sequence number.
        #[prost(uint32, tag = "6")]
        pub bseq: u32,
    }

    /// `akash.market.v1.Reclamation` (chain v2.1+): a provider's reclamation of a lease.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Reclamation {
        /// How long the workload is kept.
        #[prost(message, required, tag = "1")]
        pub window: prost_types::Duration,
        /// Block height it started.
        #[prost(int64, tag = "2")]
        pub started_at: i64,
        /// Block height the lease closes.
        #[prost(int64, tag = "3")]
        pub deadline: i64,
        /// A [`LeaseClosedReason`] as its number.
        #[prost(enumeration = "LeaseClosedReason", tag = "4")]
        pub reason: i32,
    }

    /// `akash.market.v1.Lease`: a lease on chain.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Lease {
        /// Its ID.
        #[prost(message, required, tag = "1")]
        pub id: LeaseID,
        /// A [`LeaseState`] as its number.
        #[prost(enumeration = "LeaseState", tag = "2")]
        pub state: i32,
        /// Price per block (the winning bid's).
        #[prost(message, required, tag = "3")]
        pub price: DecCoin,
        /// Block height at creation.
        #[prost(int64, tag = "4")]
        pub created_at: i64,
        /// Block height at close (0 while open).
        #[prost(int64, tag = "5")]
        pub closed_on: i64,
        /// A [`LeaseClosedReason`] as its number.
        #[prost(enumeration = "LeaseClosedReason", tag = "6")]
        pub reason: i32,
        /// The reclamation under way, if any (v2.1+).
        #[prost(message, optional, tag = "7")]
        pub reclamation: Option<Reclamation>,
    }

    /// `akash.market.v1.LeaseFilters`; zero values match anything.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct LeaseFilters {
        /// Deployment owner's address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// Group sequence number.
        #[prost(uint32, tag = "3")]
        pub gseq: u32,
        /// Order sequence number.
        #[prost(uint32, tag = "4")]
        pub oseq: u32,
        /// Provider's address.
        #[prost(string, tag = "5")]
        pub provider: String,
        /// A [`LeaseState`] name (`active`, `insufficient_funds`, `closed`).
        #[prost(string, tag = "6")]
        pub state: String,
        /// Bid sequence number.
        #[prost(uint32, tag = "7")]
        pub bseq: u32,
    }

    /// `akash.market.v1.EventOrderCreated`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventOrderCreated {
        /// The order.
        #[prost(message, required, tag = "1")]
        pub id: OrderID,
    }

    /// `akash.market.v1.EventOrderClosed`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventOrderClosed {
        /// The order.
        #[prost(message, required, tag = "1")]
        pub id: OrderID,
    }

    /// `akash.market.v1.EventBidCreated`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventBidCreated {
        /// The bid.
        #[prost(message, required, tag = "1")]
        pub id: BidID,
        /// Its price per block (field 3; 2 is unused).
        #[prost(message, required, tag = "3")]
        pub price: DecCoin,
    }

    /// `akash.market.v1.EventBidClosed`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventBidClosed {
        /// The bid.
        #[prost(message, required, tag = "1")]
        pub id: BidID,
    }

    /// `akash.market.v1.EventLeaseCreated`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventLeaseCreated {
        /// The lease.
        #[prost(message, required, tag = "1")]
        pub id: LeaseID,
        /// Its price per block (field 3; 2 is unused).
        #[prost(message, required, tag = "3")]
        pub price: DecCoin,
    }

    /// `akash.market.v1.EventLeaseClosed`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventLeaseClosed {
        /// The lease.
        #[prost(message, required, tag = "1")]
        pub id: LeaseID,
        /// A [`LeaseClosedReason`] as its number.
        #[prost(enumeration = "LeaseClosedReason", tag = "2")]
        pub reason: i32,
    }

    /// `akash.market.v1.EventLeaseReclaimStarted` (chain v2.1+).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventLeaseReclaimStarted {
        /// The lease.
        #[prost(message, required, tag = "1")]
        pub id: LeaseID,
        /// A [`LeaseClosedReason`] as its number.
        #[prost(enumeration = "LeaseClosedReason", tag = "2")]
        pub reason: i32,
        /// Block height the lease closes.
        #[prost(int64, tag = "3")]
        pub deadline: i64,
    }

    proto_names!("akash.market.v1":
        OrderID, BidID, LeaseID, Reclamation, Lease, LeaseFilters, EventOrderCreated,
        EventOrderClosed, EventBidCreated, EventBidClosed, EventLeaseCreated, EventLeaseClosed,
        EventLeaseReclaimStarted,
    );
}

/// `akash.market.v1beta5`: orders, bids, the market messages and queries mainnet serves.
pub mod v1beta5 {
    use super::v1::{BidID, Lease, LeaseClosedReason, LeaseFilters, LeaseID, OrderID};
    use crate::proto::base::deposit::v1::Deposit;
    use crate::proto::base::{Coin, PageRequest, PageResponse};
    use crate::proto::deployment::v1::DeploymentReclamation;
    use crate::proto::escrow::types::v1::{Account, Payment};
    use crate::sdl::{DecCoin, EndpointKind, GroupSpec, Resources};

    proto_enum! {
        /// `akash.market.v1beta5.Order.State`.
        pub enum OrderState {
            /// Not a valid state.
            Invalid = 0 => "invalid",
            /// Open for bids.
            Open = 1 => "open",
            /// Matched: a lease exists.
            Active = 2 => "active",
            /// Closed.
            Closed = 3 => "closed",
        }
    }

    proto_enum! {
        /// `akash.market.v1beta5.Bid.State`.
        pub enum BidState {
            /// Not a valid state.
            Invalid = 0 => "invalid",
            /// Open: the tenant may lease it.
            Open = 1 => "open",
            /// Won: a lease exists.
            Active = 2 => "active",
            /// Another bid won.
            Lost = 3 => "lost",
            /// Closed.
            Closed = 4 => "closed",
        }
    }

    /// `akash.market.v1beta5.Order`: what a group asks of providers.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Order {
        /// Its ID.
        #[prost(message, required, tag = "1")]
        pub id: OrderID,
        /// An [`OrderState`] as its number.
        #[prost(enumeration = "OrderState", tag = "2")]
        pub state: i32,
        /// The group's spec.
        #[prost(message, required, tag = "3")]
        pub spec: GroupSpec,
        /// Block height at creation.
        #[prost(int64, tag = "4")]
        pub created_at: i64,
        /// The deployment's reclamation settings (v2.1+).
        #[prost(message, optional, tag = "5")]
        pub reclamation: Option<DeploymentReclamation>,
    }

    /// `akash.market.v1beta5.StorageOfferPrice`: a provider's price for one storage volume.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct StorageOfferPrice {
        /// Volume name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Price per block.
        #[prost(message, optional, tag = "2")]
        pub price: Option<DecCoin>,
    }

    /// `akash.market.v1beta5.EndpointOfferPrice`: a provider's price for one endpoint kind.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EndpointOfferPrice {
        /// An [`EndpointKind`] as its number.
        #[prost(enumeration = "EndpointKind", tag = "1")]
        pub kind: i32,
        /// Price per block.
        #[prost(message, optional, tag = "2")]
        pub price: Option<DecCoin>,
    }

    /// `akash.market.v1beta5.OfferPrices`: a bid's price broken down by resource (field 1 is
    /// reserved).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct OfferPrices {
        /// CPU price.
        #[prost(message, optional, tag = "2")]
        pub cpu: Option<DecCoin>,
        /// Memory price.
        #[prost(message, optional, tag = "3")]
        pub memory: Option<DecCoin>,
        /// Storage prices per volume.
        #[prost(message, repeated, tag = "4")]
        pub storage: Vec<StorageOfferPrice>,
        /// GPU price.
        #[prost(message, optional, tag = "5")]
        pub gpu: Option<DecCoin>,
        /// Endpoint prices per kind.
        #[prost(message, repeated, tag = "6")]
        pub endpoints: Vec<EndpointOfferPrice>,
    }

    /// `akash.market.v1beta5.ResourceOffer`: what a provider offers for one resource unit.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct ResourceOffer {
        /// The resources.
        #[prost(message, required, tag = "1")]
        pub resources: Resources,
        /// Replicas.
        #[prost(uint32, tag = "2")]
        pub count: u32,
        /// Price breakdown, if the provider gives one.
        #[prost(message, optional, tag = "3")]
        pub prices: Option<OfferPrices>,
    }

    /// `akash.market.v1beta5.Bid`: a provider's bid on an order.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Bid {
        /// Its ID (with `bseq`, which `MsgCreateLease` needs).
        #[prost(message, required, tag = "1")]
        pub id: BidID,
        /// A [`BidState`] as its number.
        #[prost(enumeration = "BidState", tag = "2")]
        pub state: i32,
        /// Price per block for the whole group.
        #[prost(message, required, tag = "3")]
        pub price: DecCoin,
        /// Block height at creation.
        #[prost(int64, tag = "4")]
        pub created_at: i64,
        /// What the provider offers per unit.
        #[prost(message, repeated, tag = "5")]
        pub resources_offer: Vec<ResourceOffer>,
        /// The provider's reclamation window (v2.1+).
        #[prost(message, optional, tag = "6")]
        pub reclamation_window: Option<prost_types::Duration>,
    }

    /// `akash.market.v1beta5.BidFilters`; zero values match anything.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct BidFilters {
        /// Deployment owner's address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// Group sequence number.
        #[prost(uint32, tag = "3")]
        pub gseq: u32,
        /// Order sequence number.
        #[prost(uint32, tag = "4")]
        pub oseq: u32,
        /// Provider's address.
        #[prost(string, tag = "5")]
        pub provider: String,
        /// A [`BidState`] name (`open`, `active`, `lost`, `closed`).
        #[prost(string, tag = "6")]
        pub state: String,
        /// Bid sequence number.
        #[prost(uint32, tag = "7")]
        pub bseq: u32,
    }

    /// `akash.market.v1beta5.OrderFilters`; zero values match anything.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct OrderFilters {
        /// Deployment owner's address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// Group sequence number.
        #[prost(uint32, tag = "3")]
        pub gseq: u32,
        /// Order sequence number.
        #[prost(uint32, tag = "4")]
        pub oseq: u32,
        /// An [`OrderState`] name (`open`, `active`, `closed`).
        #[prost(string, tag = "5")]
        pub state: String,
    }

    /// `akash.market.v1beta5.MsgCreateBid`, signed by `id.provider`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct MsgCreateBid {
        /// The bid's ID.
        #[prost(message, required, tag = "1")]
        pub id: BidID,
        /// Price per block.
        #[prost(message, required, tag = "2")]
        pub price: DecCoin,
        /// The provider's bid deposit.
        #[prost(message, required, tag = "3")]
        pub deposit: Deposit,
        /// What is offered per unit.
        #[prost(message, repeated, tag = "4")]
        pub resources_offer: Vec<ResourceOffer>,
        /// Reclamation window (v2.1+).
        #[prost(message, optional, tag = "5")]
        pub reclamation_window: Option<prost_types::Duration>,
    }

    /// `akash.market.v1beta5.MsgCreateBidResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCreateBidResponse {}

    /// `akash.market.v1beta5.MsgCloseBid`, signed by `id.provider`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCloseBid {
        /// The bid.
        #[prost(message, required, tag = "1")]
        pub id: BidID,
        /// A [`LeaseClosedReason`] as its number.
        #[prost(enumeration = "LeaseClosedReason", tag = "2")]
        pub reason: i32,
    }

    /// `akash.market.v1beta5.MsgCloseBidResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCloseBidResponse {}

    /// `akash.market.v1beta5.MsgCreateLease`: the tenant accepts a bid; signed by
    /// `bid_id.owner`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCreateLease {
        /// The bid, with its `bseq`.
        #[prost(message, required, tag = "1")]
        pub bid_id: BidID,
    }

    /// `akash.market.v1beta5.MsgCreateLeaseResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCreateLeaseResponse {}

    /// `akash.market.v1beta5.MsgWithdrawLease`: the provider withdraws earnings; signed by
    /// `id.provider`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgWithdrawLease {
        /// The lease.
        #[prost(message, required, tag = "1")]
        pub id: LeaseID,
    }

    /// `akash.market.v1beta5.MsgWithdrawLeaseResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgWithdrawLeaseResponse {}

    /// `akash.market.v1beta5.MsgCloseLease`: the tenant closes a lease; signed by `id.owner`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCloseLease {
        /// The lease.
        #[prost(message, required, tag = "1")]
        pub id: LeaseID,
        /// A [`LeaseClosedReason`] as its number.
        #[prost(enumeration = "LeaseClosedReason", tag = "2")]
        pub reason: i32,
    }

    /// `akash.market.v1beta5.MsgCloseLeaseResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCloseLeaseResponse {}

    /// `akash.market.v1beta5.MsgLeaseStartReclaim` (chain v2.1+), signed by `id.provider`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgLeaseStartReclaim {
        /// The lease.
        #[prost(message, required, tag = "1")]
        pub id: LeaseID,
        /// A [`LeaseClosedReason`] as its number.
        #[prost(enumeration = "LeaseClosedReason", tag = "2")]
        pub reason: i32,
    }

    /// `akash.market.v1beta5.MsgLeaseStartReclaimResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgLeaseStartReclaimResponse {}

    /// `akash.market.v1beta5.Params`: the market module's parameters.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Params {
        /// Minimum bid deposit (legacy single value).
        #[prost(message, required, tag = "1")]
        pub bid_min_deposit: Coin,
        /// Maximum bids per order.
        #[prost(uint32, tag = "2")]
        pub order_max_bids: u32,
        /// Minimum bid deposit per denomination.
        #[prost(message, repeated, tag = "3")]
        pub bid_min_deposits: Vec<Coin>,
        /// Shortest reclamation window a bid may give.
        #[prost(message, required, tag = "4")]
        pub min_reclamation_window: prost_types::Duration,
        /// Longest reclamation window a bid may give.
        #[prost(message, required, tag = "5")]
        pub max_reclamation_window: prost_types::Duration,
    }

    /// `akash.market.v1beta5.QueryOrdersRequest`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryOrdersRequest {
        /// Which orders.
        #[prost(message, required, tag = "1")]
        pub filters: OrderFilters,
        /// Which page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.market.v1beta5.QueryOrdersResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryOrdersResponse {
        /// The orders.
        #[prost(message, repeated, tag = "1")]
        pub orders: Vec<Order>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    /// `akash.market.v1beta5.QueryOrderRequest`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryOrderRequest {
        /// The order.
        #[prost(message, required, tag = "1")]
        pub id: OrderID,
    }

    /// `akash.market.v1beta5.QueryOrderResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryOrderResponse {
        /// The order.
        #[prost(message, required, tag = "1")]
        pub order: Order,
    }

    /// `akash.market.v1beta5.QueryBidsRequest`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryBidsRequest {
        /// Which bids.
        #[prost(message, required, tag = "1")]
        pub filters: BidFilters,
        /// Which page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.market.v1beta5.QueryBidsResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryBidsResponse {
        /// The bids, each with the provider's escrow account.
        #[prost(message, repeated, tag = "1")]
        pub bids: Vec<QueryBidResponse>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    /// `akash.market.v1beta5.QueryBidRequest`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryBidRequest {
        /// The bid.
        #[prost(message, required, tag = "1")]
        pub id: BidID,
    }

    /// `akash.market.v1beta5.QueryBidResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryBidResponse {
        /// The bid.
        #[prost(message, required, tag = "1")]
        pub bid: Bid,
        /// The bid's escrow account (scope `bid`).
        #[prost(message, required, tag = "2")]
        pub escrow_account: Account,
    }

    /// `akash.market.v1beta5.QueryLeasesRequest`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryLeasesRequest {
        /// Which leases.
        #[prost(message, required, tag = "1")]
        pub filters: LeaseFilters,
        /// Which page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.market.v1beta5.QueryLeasesResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryLeasesResponse {
        /// The leases, each with its escrow payment.
        #[prost(message, repeated, tag = "1")]
        pub leases: Vec<QueryLeaseResponse>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    /// `akash.market.v1beta5.QueryLeaseRequest`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryLeaseRequest {
        /// The lease.
        #[prost(message, required, tag = "1")]
        pub id: LeaseID,
    }

    /// `akash.market.v1beta5.QueryLeaseResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryLeaseResponse {
        /// The lease.
        #[prost(message, required, tag = "1")]
        pub lease: Lease,
        /// Its escrow payment (rate, balance, unsettled, withdrawn).
        #[prost(message, required, tag = "2")]
        pub escrow_payment: Payment,
    }

    /// `akash.market.v1beta5.QueryParamsRequest` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryParamsRequest {}

    /// `akash.market.v1beta5.QueryParamsResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryParamsResponse {
        /// The parameters.
        #[prost(message, required, tag = "1")]
        pub params: Params,
    }

    proto_names!("akash.market.v1beta5":
        Order, StorageOfferPrice, EndpointOfferPrice, OfferPrices, ResourceOffer, Bid,
        BidFilters, OrderFilters, MsgCreateBid, MsgCreateBidResponse, MsgCloseBid,
        MsgCloseBidResponse, MsgCreateLease, MsgCreateLeaseResponse, MsgWithdrawLease,
        MsgWithdrawLeaseResponse, MsgCloseLease, MsgCloseLeaseResponse, MsgLeaseStartReclaim,
        MsgLeaseStartReclaimResponse, Params, QueryOrdersRequest, QueryOrdersResponse,
        QueryOrderRequest, QueryOrderResponse, QueryBidsRequest, QueryBidsResponse,
        QueryBidRequest, QueryBidResponse, QueryLeasesRequest, QueryLeasesResponse,
        QueryLeaseRequest, QueryLeaseResponse, QueryParamsRequest, QueryParamsResponse,
    );
}
