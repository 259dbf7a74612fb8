//! Site: static content on IPFS or Arweave, served on the platform's domains.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::common::{check_image, ComputeResources, Placement};
use crate::spec::validate::{check_hostname, check_unique, Problems, Validate};
use crate::spec::yaml::FieldPath;

use super::function::is_cid;

/// A static site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SiteSpec {
    /// Where the content lives: exactly one of `ipfs` or `arweave`.
    pub source: SiteSource,
    /// Domains the site is served on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// The gateway that serves the content; default: the platform's shared gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
}

/// The content's address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SiteSource {
    /// An IPFS CID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipfs: Option<String>,
    /// An Arweave transaction id (43 base64url characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arweave: Option<String>,
}

/// Gateway modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GatewayMode {
    /// Served through an existing gateway at `url`.
    #[default]
    Shared,
    /// A gateway deployment of its own on Akash.
    Dedicated,
}

/// The gateway that serves a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Gateway {
    /// `shared` (default) or `dedicated`.
    #[serde(default)]
    pub mode: GatewayMode,
    /// For `shared`: the gateway's base URL, e.g. `https://ipfs.alternatefutures.ai`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For `dedicated`: the gateway image, e.g. `ipfs/kubo:v0.32.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// For `dedicated`: compute resources of the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ComputeResources>,
    /// For `dedicated`: where and at what price it may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
}

impl Validate for SiteSpec {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        let sp = at.key("source");
        match (&self.source.ipfs, &self.source.arweave) {
            (Some(_), Some(_)) => p.add(&sp, "set either `ipfs` or `arweave`, not both"),
            (None, None) => p.add(&sp, "missing `ipfs` or `arweave`: one of them is required"),
            (Some(cid), None) if !is_cid(cid) => p.add(
                &sp.key("ipfs"),
                format!("`{cid}` is not an IPFS CID: expected a CIDv0 (`Qm…`) or a base32 CIDv1 (`bafy…`)"),
            ),
            (None, Some(tx))
                if tx.len() != 43
                    || !tx
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                p.add(
                    &sp.key("arweave"),
                    format!("`{tx}` is not an Arweave transaction id: expected 43 base64url characters"),
                )
            }
            _ => {}
        }
        let dp = at.key("domains");
        for (i, d) in self.domains.iter().enumerate() {
            check_hostname(d, false, &dp.index(i), p);
        }
        check_unique(
            self.domains
                .iter()
                .enumerate()
                .map(|(i, d)| (dp.index(i), d.as_str())),
            "domain",
            p,
        );
        if let Some(g) = &self.gateway {
            let gp = at.key("gateway");
            match g.mode {
                GatewayMode::Shared => {
                    for (field, set) in [
                        ("image", g.image.is_some()),
                        ("resources", g.resources.is_some()),
                        ("placement", g.placement.is_some()),
                    ] {
                        if set {
                            p.add(
                                &gp.key(field),
                                format!("`{field}` is only for `mode: dedicated`"),
                            );
                        }
                    }
                    if let Some(u) = &g.url {
                        let ok = url::Url::parse(u).is_ok_and(|u| {
                            matches!(u.scheme(), "http" | "https") && u.host_str().is_some()
                        });
                        if !ok {
                            p.add(&gp.key("url"), format!("`{u}` is not an http or https URL"));
                        }
                    }
                }
                GatewayMode::Dedicated => {
                    if g.url.is_some() {
                        p.add(&gp.key("url"), "`url` is only for `mode: shared`");
                    }
                    match &g.image {
                        Some(i) => check_image(i, &gp.key("image"), p),
                        None => p.add(&gp, "missing `image`: a dedicated gateway needs a container image, e.g. `ipfs/kubo:v0.32.1`"),
                    }
                    match &g.resources {
                        Some(r) => r.validate(&gp.key("resources"), p),
                        None => p.add(
                            &gp,
                            "missing `resources`: a dedicated gateway needs cpu and memory",
                        ),
                    }
                    g.placement.validate(&gp.key("placement"), p);
                }
            }
        }
    }
}
