//! Akash SDL conversion: parse and validate an SDL (2.0 or 2.1), build the deployment
//! groups for the chain and the manifest for providers, and compute the manifest version.
//!
//! Pure: no I/O, nothing else from the crate. Akash's Go SDL package (chain-sdk `go/sdl`)
//! is the reference: groups, manifest and version match what it produces, byte for byte in
//! the manifest's canonical JSON.
//!
//! ```text
//! yaml.rs      YAML text -> node tree (scalars keep their source text, as Go reads them)
//! parse.rs     node tree -> typed input; structure, key and value checks
//! validate.rs  cross-references and Akash's limits
//! groups.rs    typed input -> GroupSpecs + Manifest
//! types.rs     GroupSpec and friends: prost (chain wire form) + serde (Go JSON form)
//! manifest.rs  Manifest types (Go JSON form) and the version hash
//! canonical.rs Go-canonical JSON encoding (sorted keys, Go escaping and numbers)
//! units.rs     CPU, sizes, GPU counts, prices, durations
//! ```
//!
//! Where Go and the published schema disagree, or Go behaves oddly, the choices made are
//! documented at the rule (see `parse.rs` and `validate.rs`).

mod canonical;
mod error;
mod groups;
mod manifest;
mod parse;
mod types;
mod units;
mod validate;
mod yaml;

#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::Serialize;

pub use canonical::{canonical_json, write_canonical};
pub use error::{Issue, SdlError};
pub use manifest::{
    HttpOptions, ImageCredentials, Manifest, ManifestGroup, ManifestService, ManifestVersion,
    ServiceExpose, ServiceParams, ServicePermissions, StorageParams, TeeParams,
};
pub use parse::SdlVersion;
pub use types::{
    Attribute, Cpu, DecCoin, Endpoint, EndpointKind, GroupSpec, Gpu, Memory,
    PlacementRequirements, ResourceUnit, ResourceValue, Resources, SignedBy, Storage,
};

use error::Issues;

/// A parsed and validated SDL, with its deployment groups and manifest built.
#[derive(Clone, Debug)]
pub struct Sdl {
    version: SdlVersion,
    groups: Vec<GroupSpec>,
    manifest: Manifest,
    reclamation: Option<Duration>,
}

impl Sdl {
    /// The SDL's `version`.
    pub fn sdl_version(&self) -> SdlVersion {
        self.version
    }

    /// The deployment groups for `MsgCreateDeployment`, sorted by placement name.
    pub fn groups(&self) -> &[GroupSpec] {
        &self.groups
    }

    /// The manifest to send to providers.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// `reclamation.min_window`, when the SDL sets it (for `DeploymentReclamation`).
    pub fn reclamation_min_window(&self) -> Option<Duration> {
        self.reclamation
    }

    /// Splits the SDL into its outputs, computing the manifest version.
    pub fn into_conversion(self) -> Conversion {
        let version = self.manifest.version();
        Conversion {
            manifest: self.manifest,
            groups: self.groups,
            version,
        }
    }
}

/// Everything a deployment needs from an SDL.
///
/// Serializes as `{"manifest": [...], "groups": [...], "version": "<64 hex>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conversion {
    /// The manifest for providers.
    pub manifest: Manifest,
    /// The deployment groups for the chain.
    pub groups: Vec<GroupSpec>,
    /// The manifest version, the deployment's `hash` on chain.
    pub version: ManifestVersion,
}

/// Parses and validates an SDL and builds its groups and manifest.
///
/// Every problem found is reported, each with its path in the SDL.
pub fn parse(yaml: &str) -> Result<Sdl, SdlError> {
    parse_with(yaml, false)
}

/// [`parse`], optionally always reading the source text of every scalar (tests compare
/// both ways).
fn parse_with(yaml: &str, always_source_text: bool) -> Result<Sdl, SdlError> {
    let mut root = yaml::parse(yaml)?;
    let mut issues = Issues::default();
    let (mut input, float_text) = parse::read(&root, &mut issues);
    if yaml::has_converted_scalars(&root)
        && (always_source_text || float_text || yaml::may_respell(yaml))
    {
        yaml::fill_source_text(yaml, &mut root)?;
        issues = Issues::default();
        input = parse::read(&root, &mut issues).0;
    }
    if !issues.is_empty() {
        return Err(issues.into_error());
    }
    validate::check(&input, &mut issues);
    if !issues.is_empty() {
        return Err(issues.into_error());
    }
    let (groups, manifest) = groups::build(&input);
    validate::check_groups(&groups, &mut issues);
    issues.into_result(Sdl {
        version: input.version,
        groups,
        manifest,
        reclamation: input.reclamation,
    })
}

/// Converts an SDL into its manifest, deployment groups and manifest version.
pub fn convert(yaml: &str) -> Result<Conversion, SdlError> {
    parse(yaml).map(Sdl::into_conversion)
}
