//! Building the deployment groups and the manifest from checked input, as Go's
//! `groupBuilder_v2.go` and `groupBuilder_v2_1.go` do.

use std::collections::{BTreeMap, HashMap};

use super::manifest::{
    HttpOptions, ImageCredentials, Manifest, ManifestGroup, ManifestService, ServiceExpose,
    ServiceParams, ServicePermissions, StorageParams, TeeParams,
};
use super::parse::{Compute, Input, SdlVersion, Service};
use super::types::{
    Attribute, Cpu, DecCoin, Endpoint, Gpu, GroupSpec, Memory, PlacementRequirements, ResourceUnit,
    ResourceValue, Resources, Storage,
};

/// Sequence numbers of leased-IP endpoints, as Go's `computeEndpointSequenceNumbers`.
///
/// Go lists the `ip` of every `to` entry of every deployed service except global entries
/// without an ip (so non-global entries add `""`), sorts the list and numbers it from 1; a
/// name listed twice keeps its later number.
pub(crate) fn endpoint_sequence_numbers(input: &Input) -> HashMap<&str, u32> {
    let mut names: Vec<&str> = Vec::new();
    for svc_name in input.deployment.keys() {
        let Some(svc) = input.services.get(svc_name) else {
            continue;
        };
        for expose in &svc.expose {
            for to in &expose.to {
                if to.global && to.ip.is_empty() {
                    continue;
                }
                names.push(&to.ip);
            }
        }
    }
    names.sort_unstable();
    let mut seq = HashMap::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        seq.insert(name, u32::try_from(i + 1).unwrap_or(u32::MAX));
    }
    seq
}

/// The manifest exposes of a service, sorted as Go sorts them.
pub(crate) fn manifest_exposes(svc: &Service, seq: &HashMap<&str, u32>) -> Vec<ServiceExpose> {
    let count = svc.expose.iter().map(|e| e.to.len().max(1)).sum();
    let mut out = Vec::with_capacity(count);
    for e in &svc.expose {
        let http_options = HttpOptions {
            max_body_size: e.http.max_body_size,
            read_timeout: e.http.read_timeout,
            send_timeout: e.http.send_timeout,
            next_tries: e.http.next_tries,
            next_timeout: e.http.next_timeout,
            next_cases: e.http.next_cases.clone(),
            proxy_buffer_size: e.http.proxy_buffer_size,
        };
        let base = ServiceExpose {
            port: e.port,
            external_port: e.external_port,
            proto: e.proto.to_owned(),
            service: String::new(),
            global: false,
            hosts: e.accept.clone(),
            http_options,
            ip: String::new(),
            endpoint_sequence_number: 0,
        };
        if e.to.is_empty() {
            // Go keeps an expose without `to` as one entry that is not global.
            out.push(base);
            continue;
        }
        for to in &e.to {
            let mut x = base.clone();
            x.service.clone_from(&to.service);
            x.global = to.global;
            x.ip.clone_from(&to.ip);
            if to.global && !to.ip.is_empty() {
                x.endpoint_sequence_number = seq.get(to.ip.as_str()).copied().unwrap_or(0);
            }
            out.push(x);
        }
    }
    // Go's `sort.Sort` is an insertion sort (so stable) up to 12 items; beyond that it may
    // order equal exposes differently, which only exposes with the same service, port,
    // protocol and globality can show.
    out.sort_by(|a, b| {
        a.service
            .cmp(&b.service)
            .then(a.port.cmp(&b.port))
            .then(a.proto.cmp(&b.proto))
            .then(b.global.cmp(&a.global))
    });
    out
}

fn resources(compute: &Compute, id: u32, endpoints: Vec<Endpoint>) -> Resources {
    Resources {
        id,
        cpu: Some(Cpu {
            units: ResourceValue::new(compute.cpu.unwrap_or(0)),
            attributes: compute.cpu_attributes.clone(),
        }),
        memory: Some(Memory {
            quantity: ResourceValue::new(compute.memory.unwrap_or(0)),
            attributes: Vec::new(),
        }),
        storage: compute
            .storage
            .iter()
            .map(|v| Storage {
                name: v.name.clone(),
                quantity: ResourceValue::new(v.size.unwrap_or(0)),
                attributes: v.attributes.clone(),
            })
            .collect(),
        gpu: Some(Gpu {
            units: ResourceValue::new(compute.gpu.unwrap_or(0)),
            attributes: compute.gpu_attributes.clone(),
        }),
        endpoints,
    }
}

struct Builder<'a> {
    spec: GroupSpec,
    services: Vec<ManifestService>,
    /// Compute profile to unit index (SDL 2.1 shares a unit per profile).
    bound: HashMap<&'a str, usize>,
    tee: Option<&'a str>,
}

/// Builds the deployment groups and the manifest. The input must have passed validation;
/// anything missing is skipped rather than trusted.
pub(crate) fn build(input: &Input) -> (Vec<GroupSpec>, Manifest) {
    let seq = endpoint_sequence_numbers(input);
    let mut groups: BTreeMap<&str, Builder<'_>> = BTreeMap::new();

    for (svc_name, placements) in &input.deployment {
        let Some(svc) = input.services.get(svc_name) else {
            continue;
        };
        for (placement_name, deploy) in placements {
            let profile = deploy.profile.as_str();
            let (Some(compute), Some(placement)) = (
                input.compute.get(profile),
                input.placements.get(placement_name),
            ) else {
                continue;
            };
            let Some(Some(price)) = placement.pricing.get(profile) else {
                continue;
            };
            let count = deploy.count.unwrap_or(0);

            let group = groups
                .entry(placement_name.as_str())
                .or_insert_with(|| Builder {
                    spec: GroupSpec {
                        name: placement_name.clone(),
                        requirements: PlacementRequirements {
                            signed_by: placement.signed_by.clone(),
                            attributes: placement.attributes.clone(),
                        },
                        resources: Vec::new(),
                    },
                    services: Vec::new(),
                    bound: HashMap::new(),
                    tee: None,
                });

            let tee = svc.params.as_ref().and_then(|p| p.tee.as_deref());
            if let (Some(tee), None) = (tee, group.tee) {
                // Providers match the TEE type as a placement attribute.
                group.tee = Some(tee);
                let attrs = &mut group.spec.requirements.attributes;
                attrs.push(Attribute::new("tee/type", tee));
                attrs.sort_by(|a, b| a.key.cmp(&b.key));
            }

            let exposes = manifest_exposes(svc, &seq);
            let mut endpoints = Vec::new();
            for e in &exposes {
                e.endpoints(&mut endpoints);
            }

            let shared = match input.version {
                SdlVersion::V2_1 => group.bound.get(profile).copied(),
                SdlVersion::V2_0 => None,
            };
            let id = match shared.and_then(|i| group.spec.resources.get_mut(i)) {
                Some(unit) => {
                    unit.count = unit.count.saturating_add(count);
                    unit.resource.endpoints.extend_from_slice(&endpoints);
                    // Go's `sort.Sort` by sequence number; stable up to 12 endpoints, as Go.
                    unit.resource.endpoints.sort_by_key(|e| e.sequence_number);
                    unit.resource.id
                }
                None => {
                    let id = u32::try_from(group.spec.resources.len() + 1).unwrap_or(u32::MAX);
                    group.spec.resources.push(ResourceUnit {
                        resource: resources(compute, id, endpoints.clone()),
                        count,
                        price: DecCoin::from_scaled(price.denom.clone(), price.scaled),
                    });
                    group.bound.insert(profile, group.spec.resources.len() - 1);
                    id
                }
            };

            group.services.push(ManifestService {
                name: svc_name.clone(),
                image: svc.image.clone(),
                command: svc.command.clone(),
                args: svc.args.clone(),
                env: svc.env.clone(),
                resources: resources(compute, id, endpoints),
                count,
                expose: exposes,
                params: svc.params.as_ref().map(|p| ServiceParams {
                    storage: (!p.storage.is_empty()).then(|| {
                        p.storage
                            .iter()
                            .map(|(name, (mount, read_only))| StorageParams {
                                name: name.clone(),
                                mount: mount.clone(),
                                read_only: *read_only,
                            })
                            .collect()
                    }),
                    credentials: None,
                    permissions: p
                        .permissions
                        .as_ref()
                        .map(|read| ServicePermissions { read: read.clone() }),
                    tee: p.tee.as_ref().map(|t| TeeParams {
                        kind: t.clone(),
                        attestation: true,
                    }),
                }),
                credentials: svc.credentials.as_ref().map(|c| match input.version {
                    // The 2.0 builder copies the fields as written and never the e-mail.
                    SdlVersion::V2_0 => ImageCredentials {
                        host: c.host.clone(),
                        email: String::new(),
                        username: c.username.clone(),
                        password: c.password.clone(),
                    },
                    SdlVersion::V2_1 => ImageCredentials {
                        host: c.host.trim().to_owned(),
                        email: c.email.trim().to_owned(),
                        username: c.username.trim().to_owned(),
                        password: c.password.trim().to_owned(),
                    },
                }),
            });
        }
    }

    let mut specs = Vec::with_capacity(groups.len());
    let mut manifest = Vec::with_capacity(groups.len());
    for (name, mut g) in groups {
        g.services.sort_by(|a, b| a.name.cmp(&b.name));
        specs.push(g.spec);
        manifest.push(ManifestGroup {
            name: name.to_owned(),
            services: g.services,
        });
    }
    (specs, Manifest(manifest))
}
