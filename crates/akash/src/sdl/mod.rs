//! Akash SDL conversion: parse and validate an SDL (2.0 or 2.1), build the deployment
//! groups for the chain and the manifest for providers, and compute the manifest version.
//!
//! Pure: no I/O, nothing else from the crate. Akash's Go SDL package (chain-sdk `go/sdl`)
//! is the reference: groups, manifest and version match what it produces, byte for byte in
//! the manifest's canonical JSON.
//!
//! ```text
//! yaml.rs      YAML text -> node tree in one bounded pass (scalars keep their source text,
//!              as Go reads them; nodes keep their line and column)
//! parse.rs     node tree -> typed input; structure, key and value checks
//! names.rs     checks of names, hostnames, denominations
//! order.rs     Go's storage volume order
//! validate.rs  cross-references and Akash's limits
//! groups.rs    typed input -> GroupSpecs + Manifest
//! types.rs     GroupSpec and friends: prost (chain wire form) + serde (Go JSON form)
//! manifest.rs  Manifest types (Go JSON form) and the version hash
//! canonical.rs Go-canonical JSON encoding (sorted keys, Go escaping and numbers)
//! units.rs     CPU, sizes, GPU counts, prices, durations
//! ```
//!
//! # What is accepted
//!
//! An SDL is accepted when Go's parser accepts it *and* the published input schema
//! (`sdl-input.schema.yaml`, which the TypeScript SDK enforces) does, so tools on either
//! side agree; the schema-only rules include unknown keys, `version` exactly `2.0`/`2.1`,
//! credential lengths, `as` within 1-65535, protocols `tcp`/`udp` in one case, the GPU
//! vendor list and the `min_window` form. Exceptions, where Go's documented behaviour wins:
//! * scalars are read by their text as Go reads them (`version: 2.0`, `size: 1000`,
//!   `next_cases: [500]`, integral floats for integers);
//! * storage `attributes` may omit `class` or `persistent` (Go fills the defaults in);
//! * services that no placement deploys are ignored, not refused (the TS SDK refuses them).
//!
//! `accept` hostnames get Go's two checks: every service's items must parse as
//! `url.ParseRequestURI("http://" + item)` (so `*.example.com` or `Example.com` pass there),
//! and the hostnames of deployed services must then pass the manifest's `Validate` (a
//! DNS-1123 subdomain of at most 253 characters), which Go's `sdl.Read` and every provider run:
//! a wildcard such as `*.example.com` is refused at that second step, in Go as here.
//!
//! Stricter than Go, because Go's check is missing or broken and the provider would fail:
//! * a persistent volume always needs a mount (Go 2.1 only checks volumes it finds in
//!   `params.storage`; Go 2.0 shares state between volumes);
//! * `readOnly` on a `ram` volume is refused in 2.0 too (Go checks it in 2.1 only);
//! * leased-IP port clashes compare the effective external port and protocol (Go compares
//!   the raw `as` and `proto` text, so `80` and `as: 80` do not clash there);
//! * service names and environment variable names are checked for every service, not only
//!   deployed ones; CPU units beyond `u32` are refused (Go wraps them);
//! * documents above 100 000 nodes, or whose manifest would, or nesting deeper than 128
//!   levels, are refused.
//!
//! Prices may be in `uact`, `uakt` or an `ibc/...` denomination: Go and the earlier schema
//! accept IBC denominations, the current schema only `uact`/`uakt` (the chain itself
//! takes only `uact` for new deployments since v2.0.0).
//!
//! Known output differences from Go, in corners: Go's unstable `sort.Sort` is an insertion
//! sort up to 12 items and this module's sort is stable, so beyond 12 items they can order
//! ties differently. For a 2.1 unit's endpoints (equal sequence numbers) that changes
//! nothing a provider checks. For a service with more than 12 exposes of which two share
//! service, port, protocol and globality, the manifest order, and so the version, can
//! differ from Go's (still self-consistent: providers recompute the version from the
//! manifest sent). An explicit empty `signedBy` list prints as `null` in group JSON, where
//! Go prints `[]` (the protobuf form is the same).

mod canonical;
mod error;
mod groups;
mod manifest;
mod names;
mod order;
mod parse;
mod scan;
mod types;
pub(crate) use types::legacy_dec;
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
    Attribute, Cpu, DecCoin, Endpoint, EndpointKind, Gpu, GroupSpec, Memory, PlacementRequirements,
    ResourceUnit, ResourceValue, Resources, SignedBy, Storage,
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
/// Every problem found is reported, each with its path, line and column in the SDL.
pub fn parse(yaml: &str) -> Result<Sdl, SdlError> {
    let (mut root, merge_key_seen) = yaml::parse_document(yaml)?;
    if merge_key_seen && yaml::has_merge_keys(&root) {
        yaml::resolve_merges(&mut root);
    }
    let mut issues = Issues::default();
    let input = parse::read(&root, &mut issues);
    if !issues.is_empty() {
        return Err(issues.locate(&root).into_error());
    }
    validate::check(&input, &mut issues);
    if !issues.is_empty() {
        return Err(issues.locate(&root).into_error());
    }
    let (groups, manifest) = groups::build(&input);
    validate::check_groups(&groups, &mut issues);
    issues.locate(&root).into_result(Sdl {
        version: input.version,
        groups,
        manifest,
        reclamation: input.reclamation,
    })
}

/// For the fuzz targets: how the fast YAML reader and the full parser disagree on `text`,
/// if they do (the fast reader takes a text the full parser refuses, or reads another tree).
#[cfg(feature = "fuzzing")]
pub fn fast_reader_disagreement(text: &str) -> Option<String> {
    let (fast, merge) = scan::parse(text)?;
    match yaml::parse_full(text) {
        Err(e) => Some(format!(
            "the fast reader takes a text the full parser refuses: {e}"
        )),
        Ok((full, full_merge)) if !scan::identical(&fast, &full) || merge != full_merge => {
            Some(format!("the readers differ:\nfast {fast:?}\nfull {full:?}"))
        }
        Ok(_) => None,
    }
}

/// Converts an SDL into its manifest, deployment groups and manifest version.
pub fn convert(yaml: &str) -> Result<Conversion, SdlError> {
    parse(yaml).map(Sdl::into_conversion)
}
