//! The hook through which the API shows a resource's rendered Akash SDL.
//!
//! The API does not know how SDL is made; the composition root hands it an
//! [`SdlRenderer`] (or none, and `renderedSdl` answers null).

use crate::spec::Resource;

/// Renders the Akash SDL the operator would deploy for a resource.
///
/// Implementations must redact secret values (a spec holds only secret references, but a
/// renderer that resolves them must not return what it resolved). The error is a message
/// for the client, e.g. what in the spec cannot be rendered; it must not hold internals.
pub trait SdlRenderer: Send + Sync {
    /// The SDL text of `resource`, secrets redacted.
    fn render(&self, resource: &Resource) -> Result<String, String>;
}
