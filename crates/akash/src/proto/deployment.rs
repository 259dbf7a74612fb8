//! Deployments: `akash.deployment.v1` (IDs, the deployment, events) and
//! `akash.deployment.v1beta4` (messages, groups, queries).

/// `akash.deployment.v1`: deployment and group IDs, the deployment record, and its events.
pub mod v1 {
    proto_enum! {
        /// `akash.deployment.v1.Deployment.State`.
        pub enum DeploymentState {
            /// Not a valid state.
            Invalid = 0 => "invalid",
            /// Open: groups may hold leases.
            Active = 1 => "active",
            /// Closed by its owner or for lack of funds.
            Closed = 2 => "closed",
        }
    }

    /// `akash.deployment.v1.DeploymentID`: a deployment is its owner and a sequence number the
    /// owner picks (the CLI uses the block height). String form `owner/dseq`.
    #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
    pub struct DeploymentID {
        /// Owner's bech32 account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number, unique per owner.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
    }

    /// `akash.deployment.v1.GroupID`: one group of a deployment (`gseq` from 1, in
    /// `MsgCreateDeployment.groups` order). String form `owner/dseq/gseq`.
    #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
    pub struct GroupID {
        /// Owner's bech32 account address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// Group sequence number within the deployment, from 1.
        #[prost(uint32, tag = "3")]
        pub gseq: u32,
    }

    /// `akash.deployment.v1.DeploymentReclamation` (chain v2.1+): how long providers must keep
    /// the workload after they start reclaiming its resources.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct DeploymentReclamation {
        /// Minimum reclamation window.
        #[prost(message, required, tag = "1")]
        pub min_window: prost_types::Duration,
    }

    /// `akash.deployment.v1.Deployment`: the deployment record on chain.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Deployment {
        /// Its ID.
        #[prost(message, required, tag = "1")]
        pub id: DeploymentID,
        /// A [`DeploymentState`] as its number.
        #[prost(enumeration = "DeploymentState", tag = "2")]
        pub state: i32,
        /// The current manifest version (sha256, 32 bytes).
        #[prost(bytes = "vec", tag = "3")]
        pub hash: Vec<u8>,
        /// Block height at creation.
        #[prost(int64, tag = "4")]
        pub created_at: i64,
        /// Reclamation settings, when the deployment set them (v2.1+).
        #[prost(message, optional, tag = "5")]
        pub reclamation: Option<DeploymentReclamation>,
    }

    /// `akash.deployment.v1.EventDeploymentCreated`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventDeploymentCreated {
        /// The deployment.
        #[prost(message, required, tag = "1")]
        pub id: DeploymentID,
        /// Its manifest version.
        #[prost(bytes = "vec", tag = "2")]
        pub hash: Vec<u8>,
    }

    /// `akash.deployment.v1.EventDeploymentUpdated`: the manifest version changed.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventDeploymentUpdated {
        /// The deployment.
        #[prost(message, required, tag = "1")]
        pub id: DeploymentID,
        /// Its new manifest version.
        #[prost(bytes = "vec", tag = "2")]
        pub hash: Vec<u8>,
    }

    /// `akash.deployment.v1.EventDeploymentClosed`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventDeploymentClosed {
        /// The deployment.
        #[prost(message, required, tag = "1")]
        pub id: DeploymentID,
    }

    /// `akash.deployment.v1.EventGroupStarted`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventGroupStarted {
        /// The group.
        #[prost(message, required, tag = "1")]
        pub id: GroupID,
    }

    /// `akash.deployment.v1.EventGroupPaused`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventGroupPaused {
        /// The group.
        #[prost(message, required, tag = "1")]
        pub id: GroupID,
    }

    /// `akash.deployment.v1.EventGroupClosed`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct EventGroupClosed {
        /// The group.
        #[prost(message, required, tag = "1")]
        pub id: GroupID,
    }

    proto_names!("akash.deployment.v1":
        DeploymentID, GroupID, DeploymentReclamation, Deployment,
        EventDeploymentCreated, EventDeploymentUpdated, EventDeploymentClosed,
        EventGroupStarted, EventGroupPaused, EventGroupClosed,
    );
}

/// `akash.deployment.v1beta4`: the deployment messages, groups, params and queries mainnet serves.
pub mod v1beta4 {
    use super::v1::{Deployment, DeploymentID, DeploymentReclamation, GroupID};
    use crate::proto::base::deposit::v1::Deposit;
    use crate::proto::base::{Coin, PageRequest, PageResponse};
    use crate::proto::escrow::types::v1::Account;
    pub use crate::sdl::{GroupSpec, ResourceUnit};

    proto_enum! {
        /// `akash.deployment.v1beta4.Group.State`.
        pub enum GroupState {
            /// Not a valid state.
            Invalid = 0 => "invalid",
            /// Open: its order draws bids, or it holds a lease.
            Open = 1 => "open",
            /// Paused by its owner (`MsgPauseGroup`).
            Paused = 2 => "paused",
            /// Paused because the escrow account ran dry.
            InsufficientFunds = 3 => "insufficient_funds",
            /// Closed.
            Closed = 4 => "closed",
        }
    }

    /// `akash.deployment.v1beta4.Group`: one group of a deployment on chain.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Group {
        /// Its ID.
        #[prost(message, required, tag = "1")]
        pub id: GroupID,
        /// A [`GroupState`] as its number.
        #[prost(enumeration = "GroupState", tag = "2")]
        pub state: i32,
        /// What the group asks for.
        #[prost(message, required, tag = "3")]
        pub group_spec: GroupSpec,
        /// Block height at creation.
        #[prost(int64, tag = "4")]
        pub created_at: i64,
    }

    /// `akash.deployment.v1beta4.MsgCreateDeployment`, signed by `id.owner`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct MsgCreateDeployment {
        /// The new deployment's ID (the owner picks `dseq`).
        #[prost(message, required, tag = "1")]
        pub id: DeploymentID,
        /// Its groups, at least one; all priced in one denomination (`uact` since v2.0.0).
        #[prost(message, repeated, tag = "2")]
        pub groups: Vec<GroupSpec>,
        /// The manifest version (sha256, exactly 32 bytes).
        #[prost(bytes = "vec", tag = "3")]
        pub hash: Vec<u8>,
        /// The initial escrow deposit (at least the `min_deposits` param for its denomination).
        #[prost(message, required, tag = "4")]
        pub deposit: Deposit,
        /// Reclamation settings (chain v2.1+).
        #[prost(message, optional, tag = "5")]
        pub reclamation: Option<DeploymentReclamation>,
    }

    /// `akash.deployment.v1beta4.MsgCreateDeploymentResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCreateDeploymentResponse {}

    /// `akash.deployment.v1beta4.MsgUpdateDeployment`: changes the manifest version only.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgUpdateDeployment {
        /// The deployment.
        #[prost(message, required, tag = "1")]
        pub id: DeploymentID,
        /// The new manifest version (must differ from the current one); field 2 is unused.
        #[prost(bytes = "vec", tag = "3")]
        pub hash: Vec<u8>,
    }

    /// `akash.deployment.v1beta4.MsgUpdateDeploymentResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgUpdateDeploymentResponse {}

    /// `akash.deployment.v1beta4.MsgCloseDeployment`: closes the deployment, its escrow
    /// account and so its leases.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCloseDeployment {
        /// The deployment.
        #[prost(message, required, tag = "1")]
        pub id: DeploymentID,
    }

    /// `akash.deployment.v1beta4.MsgCloseDeploymentResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCloseDeploymentResponse {}

    /// `akash.deployment.v1beta4.MsgCloseGroup`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCloseGroup {
        /// The group.
        #[prost(message, required, tag = "1")]
        pub id: GroupID,
    }

    /// `akash.deployment.v1beta4.MsgCloseGroupResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgCloseGroupResponse {}

    /// `akash.deployment.v1beta4.MsgPauseGroup`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgPauseGroup {
        /// The group.
        #[prost(message, required, tag = "1")]
        pub id: GroupID,
    }

    /// `akash.deployment.v1beta4.MsgPauseGroupResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgPauseGroupResponse {}

    /// `akash.deployment.v1beta4.MsgStartGroup`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgStartGroup {
        /// The group.
        #[prost(message, required, tag = "1")]
        pub id: GroupID,
    }

    /// `akash.deployment.v1beta4.MsgStartGroupResponse` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct MsgStartGroupResponse {}

    /// `akash.deployment.v1beta4.Params`: the deployment module's parameters.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Params {
        /// Minimum initial deposit per denomination (`500000uact`, `500000uakt` since v2.0.0).
        #[prost(message, repeated, tag = "1")]
        pub min_deposits: Vec<Coin>,
    }

    /// `akash.deployment.v1beta4.DeploymentFilters`; zero values match anything.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct DeploymentFilters {
        /// Owner address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// A [`super::v1::DeploymentState`] name (`active`, `closed`).
        #[prost(string, tag = "3")]
        pub state: String,
    }

    /// `akash.deployment.v1beta4.GroupFilters`; zero values match anything.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct GroupFilters {
        /// Owner address.
        #[prost(string, tag = "1")]
        pub owner: String,
        /// Deployment sequence number.
        #[prost(uint64, tag = "2")]
        pub dseq: u64,
        /// Group sequence number (a `uint64` here, unlike in `GroupID`).
        #[prost(uint64, tag = "3")]
        pub gseq: u64,
        /// A [`GroupState`] name.
        #[prost(string, tag = "4")]
        pub state: String,
    }

    /// `akash.deployment.v1beta4.QueryDeploymentsRequest`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryDeploymentsRequest {
        /// Which deployments.
        #[prost(message, required, tag = "1")]
        pub filters: DeploymentFilters,
        /// Which page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageRequest>,
    }

    /// `akash.deployment.v1beta4.QueryDeploymentsResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryDeploymentsResponse {
        /// The deployments, each with its groups and escrow account.
        #[prost(message, repeated, tag = "1")]
        pub deployments: Vec<QueryDeploymentResponse>,
        /// The next page.
        #[prost(message, optional, tag = "2")]
        pub pagination: Option<PageResponse>,
    }

    /// `akash.deployment.v1beta4.QueryDeploymentRequest`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryDeploymentRequest {
        /// The deployment.
        #[prost(message, required, tag = "1")]
        pub id: DeploymentID,
    }

    /// `akash.deployment.v1beta4.QueryDeploymentResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryDeploymentResponse {
        /// The deployment.
        #[prost(message, required, tag = "1")]
        pub deployment: Deployment,
        /// Its groups.
        #[prost(message, repeated, tag = "2")]
        pub groups: Vec<Group>,
        /// Its escrow account (scope `deployment`, xid `owner/dseq`).
        #[prost(message, required, tag = "3")]
        pub escrow_account: Account,
    }

    /// `akash.deployment.v1beta4.QueryGroupRequest`.
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryGroupRequest {
        /// The group.
        #[prost(message, required, tag = "1")]
        pub id: GroupID,
    }

    /// `akash.deployment.v1beta4.QueryGroupResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryGroupResponse {
        /// The group.
        #[prost(message, required, tag = "1")]
        pub group: Group,
    }

    /// `akash.deployment.v1beta4.QueryParamsRequest` (empty).
    #[derive(Clone, PartialEq, Eq, ::prost::Message)]
    pub struct QueryParamsRequest {}

    /// `akash.deployment.v1beta4.QueryParamsResponse`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct QueryParamsResponse {
        /// The parameters.
        #[prost(message, required, tag = "1")]
        pub params: Params,
    }

    proto_names!("akash.deployment.v1beta4":
        Group, MsgCreateDeployment, MsgCreateDeploymentResponse, MsgUpdateDeployment,
        MsgUpdateDeploymentResponse, MsgCloseDeployment, MsgCloseDeploymentResponse,
        MsgCloseGroup, MsgCloseGroupResponse, MsgPauseGroup, MsgPauseGroupResponse,
        MsgStartGroup, MsgStartGroupResponse, Params, DeploymentFilters, GroupFilters,
        QueryDeploymentsRequest, QueryDeploymentsResponse, QueryDeploymentRequest,
        QueryDeploymentResponse, QueryGroupRequest, QueryGroupResponse, QueryParamsRequest,
        QueryParamsResponse,
    );
}
