//! Deployment intents: what the reconciler is about to create on chain, recorded before the
//! broadcast that spends money, so that a crash between "sent" and "saved" is adopted on
//! restart and never repeated.
//!
//! Akash lets the client choose the `dseq`, so an intent names the exact deployment it will
//! create: `(owner, dseq)` is unique in the store (two specs can never pick the same dseq),
//! and at most one deployment can exist on chain for it (the chain refuses a duplicate).

use async_trait::async_trait;

use super::StoreError;

/// Where an intent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntentState {
    /// Recorded; the create may or may not have reached the chain.
    Pending,
    /// Seen on chain (created by us, or adopted).
    Active,
    /// We decided to close it; the close may or may not have reached the chain.
    Closing,
    /// Closed on chain (or proven never to have been created).
    Closed,
}

impl IntentState {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            IntentState::Pending => "pending",
            IntentState::Active => "active",
            IntentState::Closing => "closing",
            IntentState::Closed => "closed",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<IntentState> {
        Some(match s {
            "pending" => IntentState::Pending,
            "active" => IntentState::Active,
            "closing" => IntentState::Closing,
            "closed" => IntentState::Closed,
            _ => return None,
        })
    }
}

/// One intended (or existing) deployment of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentIntent {
    /// The wallet address that owns the deployment.
    pub owner: String,
    /// The deployment sequence chosen by us.
    pub dseq: u64,
    /// The uid of the resource the deployment serves.
    pub resource_uid: String,
    /// `kind/project/name` of that resource, for people and events.
    pub resource_key: String,
    /// The generation of the spec the deployment was made for.
    pub generation: i64,
    /// The manifest version (hex of the hash sent on chain).
    pub manifest_version: String,
    /// The deposit, e.g. `5000000uact`.
    pub deposit: String,
    /// Where it stands.
    pub state: IntentState,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
    /// When its state last changed (RFC 3339).
    pub updated_at: String,
}

/// Keeps deployment intents. A trait of its own beside [`Store`](super::Store), implemented by
/// [`SqlStore`](super::sql::SqlStore) in the same database.
#[async_trait]
pub trait IntentStore: Send + Sync {
    /// Records a new intent (state as given, timestamps set by the store). Fails with
    /// [`StoreError::DuplicateDseq`] when `(owner, dseq)` is already taken, by any resource.
    async fn record_intent(&self, intent: &DeploymentIntent) -> Result<(), StoreError>;

    /// Moves an intent to `state`; [`StoreError::IntentNotFound`] when it does not exist.
    async fn set_intent_state(
        &self,
        owner: &str,
        dseq: u64,
        state: IntentState,
    ) -> Result<(), StoreError>;

    /// The intents of one resource, oldest first.
    async fn intents_for(&self, resource_uid: &str) -> Result<Vec<DeploymentIntent>, StoreError>;

    /// The intents of `owner` in any of `states` (every state when empty), by dseq.
    async fn intents(
        &self,
        owner: &str,
        states: &[IntentState],
    ) -> Result<Vec<DeploymentIntent>, StoreError>;

    /// The highest dseq recorded for `owner` (0 when none).
    async fn max_dseq(&self, owner: &str) -> Result<u64, StoreError>;
}
