//! Building the deployment groups and the manifest from checked input, as Go's
//! `groupBuilder_v2.go` and `groupBuilder_v2_1.go` do.

use std::collections::HashMap;

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
/// name listed twice keeps its later number. The sorted list is kept: a name's number is
/// how many entries sort at or before it.
pub(crate) struct SequenceNumbers<'a>(Vec<&'a str>);

impl<'a> SequenceNumbers<'a> {
    pub(crate) fn new(input: &Input<'a>) -> Self {
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
                    names.push(to.ip);
                }
            }
        }
        names.sort_unstable();
        SequenceNumbers(names)
    }

    /// The number of a listed name (its last place in the sorted list, from 1); 0 for a
    /// name not listed.
    pub(crate) fn get(&self, name: &str) -> u32 {
        let after = self.0.partition_point(|n| *n <= name);
        if after > 0 && self.0[after - 1] == name {
            u32::try_from(after).unwrap_or(u32::MAX)
        } else {
            0
        }
    }
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The manifest exposes of a service, sorted as Go sorts them.
pub(crate) fn manifest_exposes(svc: &Service, seq: &SequenceNumbers) -> Vec<ServiceExpose> {
    let count = svc.expose.iter().map(|e| e.to.len().max(1)).sum();
    let mut out = Vec::with_capacity(count);
    for e in &svc.expose {
        let expose =
            |service: &str, global: bool, ip: &str, endpoint_sequence_number: u32| ServiceExpose {
                port: e.port,
                external_port: e.external_port,
                proto: e.proto.to_owned(),
                service: service.to_owned(),
                global,
                hosts: e.accept.as_deref().map(owned),
                http_options: HttpOptions {
                    max_body_size: e.http.max_body_size,
                    read_timeout: e.http.read_timeout,
                    send_timeout: e.http.send_timeout,
                    next_tries: e.http.next_tries,
                    next_timeout: e.http.next_timeout,
                    next_cases: owned(e.http.next_cases()),
                    proxy_buffer_size: e.http.proxy_buffer_size,
                },
                ip: ip.to_owned(),
                endpoint_sequence_number,
            };
        if e.to.is_empty() {
            // Go keeps an expose without `to` as one entry that is not global.
            out.push(expose("", false, "", 0));
            continue;
        }
        for to in &e.to {
            let number = if to.global && !to.ip.is_empty() {
                seq.get(to.ip)
            } else {
                0
            };
            out.push(expose(to.service, to.global, to.ip, number));
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
                name: v.name.to_owned(),
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
    let seq = SequenceNumbers::new(input);
    // One builder per placement, at the placement's index (so in name order); each is
    // made with room for the services deployed there.
    let placements = input.placements.len();
    let mut sizes = vec![0usize; placements];
    for (svc_name, deployed) in &input.deployment {
        if !input.services.contains_key(svc_name) {
            continue;
        }
        for placement_name in deployed.keys() {
            if let Some(i) = input.placements.index_of(placement_name) {
                sizes[i] += 1;
            }
        }
    }
    let mut groups: Vec<Option<Builder<'_>>> = Vec::with_capacity(placements);
    groups.resize_with(placements, || None);

    for (svc_name, deployed) in &input.deployment {
        let Some(svc) = input.services.get(svc_name) else {
            continue;
        };
        for (placement_name, deploy) in deployed {
            let profile = deploy.profile;
            let (Some(compute), Some(index)) = (
                input.compute.get(profile),
                input.placements.index_of(placement_name),
            ) else {
                continue;
            };
            let Some(placement) = input.placements.get(placement_name) else {
                continue;
            };
            let Some(Some(price)) = placement.pricing.get(profile) else {
                continue;
            };
            let count = deploy.count.unwrap_or(0);

            let group = groups[index].get_or_insert_with(|| Builder {
                spec: GroupSpec {
                    name: placement_name.to_owned(),
                    requirements: PlacementRequirements {
                        signed_by: placement.signed_by.clone(),
                        attributes: placement.attributes.clone(),
                    },
                    resources: Vec::with_capacity(sizes[index]),
                },
                services: Vec::with_capacity(sizes[index]),
                bound: HashMap::new(),
                tee: None,
            });

            let tee = svc.params.as_ref().and_then(|p| p.tee);
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
                        price: DecCoin::from_scaled(price.denom, price.scaled),
                    });
                    if input.version == SdlVersion::V2_1 {
                        group.bound.insert(profile, group.spec.resources.len() - 1);
                    }
                    id
                }
            };

            group.services.push(ManifestService {
                name: svc_name.to_owned(),
                image: svc.image.to_owned(),
                command: svc.command.as_deref().map(owned),
                args: svc.args.as_deref().map(owned),
                env: svc.env.as_deref().map(owned),
                resources: resources(compute, id, endpoints),
                count,
                expose: exposes,
                params: svc.params.as_ref().map(|p| ServiceParams {
                    storage: (!p.storage.is_empty()).then(|| {
                        p.storage
                            .iter()
                            .map(|(name, (mount, read_only))| StorageParams {
                                name: name.to_owned(),
                                mount: (*mount).to_owned(),
                                read_only: *read_only,
                            })
                            .collect()
                    }),
                    credentials: None,
                    permissions: p
                        .permissions
                        .as_deref()
                        .map(|read| ServicePermissions { read: owned(read) }),
                    tee: p.tee.map(|t| TeeParams {
                        kind: t.to_owned(),
                        attestation: true,
                    }),
                }),
                credentials: svc.credentials.as_ref().map(|c| match input.version {
                    // The 2.0 builder copies the fields as written and never the e-mail.
                    SdlVersion::V2_0 => ImageCredentials {
                        host: c.host.to_owned(),
                        email: String::new(),
                        username: c.username.to_owned(),
                        password: c.password.to_owned(),
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

    let built = groups.iter().flatten().count();
    let mut specs = Vec::with_capacity(built);
    let mut manifest = Vec::with_capacity(built);
    for mut g in groups.into_iter().flatten() {
        g.services.sort_by(|a, b| a.name.cmp(&b.name));
        manifest.push(ManifestGroup {
            name: g.spec.name.clone(),
            services: g.services,
        });
        specs.push(g.spec);
    }
    (specs, Manifest(manifest))
}
