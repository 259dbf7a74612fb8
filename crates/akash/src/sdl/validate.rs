//! Checks that relate parts of the SDL to each other, and Akash's limits on what a
//! deployment may ask for (Go's `v2.validate`, the group builder's checks,
//! `ValidateDeploymentGroups` and `Manifest.Validate`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::error::{Issues, Path};
use super::names::{check_accept_item, check_manifest_hostname};
use super::parse::{Input, Volume};
use super::types::GroupSpec;

const MI: u64 = 1 << 20;
const TI: u64 = 1 << 40;

/// Per-replica limits of a unit (`go/node/deployment/v1beta4/validation_config.go`).
const CPU_MIN: u64 = 10;
const CPU_MAX: u64 = 384_000;
const GPU_MAX: u64 = 24;
const MEMORY_MIN: u64 = MI;
const MEMORY_MAX: u64 = 2 * TI;
const STORAGE_MIN: u64 = 5 * MI;
const STORAGE_MAX: u64 = 32 * TI;
/// Highest price per unit, in whole denomination units.
const PRICE_MAX: u128 = 10_000_000;
/// Group totals are the unit limits times 50 replicas.
const GROUP_FACTOR: u128 = 50;

/// A short list of names for a message: at most 20 are shown.
fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut shown: Vec<&str> = Vec::new();
    let mut more = 0usize;
    for item in items {
        if shown.len() < 20 {
            shown.push(item);
        } else {
            more += 1;
        }
    }
    let mut text = shown.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

fn names<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    let text = list(keys);
    if text.is_empty() {
        "none are defined".to_owned()
    } else {
        format!("defined: {text}")
    }
}

/// Checks the relations between services, profiles, placements, deployment and endpoints.
pub(crate) fn check(input: &Input, issues: &mut Issues) {
    let root = Path::root();
    let services_path = root.key("services");
    let profiles_path = root.key("profiles");
    let compute_path = profiles_path.key("compute");
    let placement_path = profiles_path.key("placement");
    let deployment_path = root.key("deployment");

    let mut checked_profiles: BTreeSet<&str> = BTreeSet::new();
    let mut checked_prices: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut checked_pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut checked_storage: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut tee_by_placement: HashMap<&str, (&str, &str)> = HashMap::new();
    let mut denoms: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    let mut replicas: HashMap<(&str, &str), u64> = HashMap::new();
    let mut deployed_pairs = 0usize;

    for (svc_name, placements) in &input.deployment {
        let dp = deployment_path.key(svc_name);
        let svc = input.services.get(svc_name);
        if svc.is_none() {
            issues.push(
                &dp,
                format!(
                    "service {svc_name:?} is not defined under services ({})",
                    names(input.services.keys())
                ),
            );
        }
        for (placement_name, deploy) in placements {
            deployed_pairs += 1;
            let pp = dp.key(placement_name);
            let placement = input.placements.get(placement_name);
            if placement.is_none() {
                issues.push(
                    &pp,
                    format!(
                        "placement {placement_name:?} is not defined under profiles.placement ({})",
                        names(input.placements.keys())
                    ),
                );
            }
            let profile = deploy.profile;
            let compute = input.compute.get(profile);
            if compute.is_none() && !profile.is_empty() {
                issues.push(
                    &pp.key("profile"),
                    format!(
                        "compute profile {profile:?} is not defined under profiles.compute ({})",
                        names(input.compute.keys())
                    ),
                );
            }
            if let (Some(placement), Some(_)) = (placement, compute) {
                let named_placement = placement_path.key(placement_name);
                let price_path = named_placement.key("pricing");
                match placement.pricing.get(profile) {
                    None => {
                        if checked_prices.insert((placement_name, profile)) {
                            issues.push(
                                &price_path,
                                format!(
                                    "has no price for compute profile {profile:?}, which deployment.{svc_name}.{placement_name} uses"
                                ),
                            );
                        }
                    }
                    Some(Some(price)) => {
                        if checked_prices.insert((placement_name, profile)) {
                            if price.scaled > PRICE_MAX * super::units::DEC_SCALE {
                                issues.push(
                                    &price_path.key(profile).key("amount"),
                                    format!("must be at most {PRICE_MAX} per replica (Akash's price limit)"),
                                );
                            }
                            denoms
                                .entry(price.denom)
                                .or_insert((placement_name, profile));
                        }
                    }
                    Some(None) => {}
                }
            }
            if let Some(count) = deploy.count {
                let total = replicas.entry((placement_name, profile)).or_default();
                *total += u64::from(count);
                if *total > u64::from(u32::MAX) {
                    issues.push(
                        &pp.key("count"),
                        "too many replicas of one compute profile in this placement",
                    );
                }
            }
            if let Some(compute) = compute {
                if checked_profiles.insert(profile) {
                    check_limits(compute, &compute_path.key(profile), issues);
                }
            }
            let (Some(svc), Some(compute)) = (svc, compute) else {
                continue;
            };
            let sp = services_path.key(svc_name);
            let tee = svc.params.as_ref().and_then(|p| p.tee);
            if let Some(tee) = tee {
                if tee == "cpu-gpu"
                    && compute.gpu.unwrap_or(0) == 0
                    && checked_pairs.insert((svc_name, profile))
                {
                    issues.push(
                        &sp.key("params").key("tee"),
                        format!(
                            "tee type \"cpu-gpu\" needs gpu resources, but compute profile {profile:?} has no gpu units"
                        ),
                    );
                }
                match tee_by_placement.get(placement_name) {
                    Some(&(other_tee, other_svc)) if other_tee != tee => issues.push(
                        &sp.key("params").key("tee"),
                        format!(
                            "tee type {tee:?} conflicts with {other_tee:?} of service {other_svc:?} in placement {placement_name:?}; a placement has one tee type"
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        tee_by_placement.insert(placement_name, (tee, svc_name));
                    }
                }
            }
            check_storage_params(input, svc_name, profile, &sp, issues, &mut checked_storage);
        }
    }

    let size = output_size(input);
    if size > super::yaml::MAX_NODES as u64 {
        issues.push(
            &deployment_path,
            format!(
                "the groups and manifest would hold about {size} entries (exposes, hostnames and volumes for each service in each placement); at most {} are allowed",
                super::yaml::MAX_NODES
            ),
        );
    }

    if deployed_pairs == 0 {
        issues.push(
            &deployment_path,
            "deploys nothing: give each service a placement with a profile and a count",
        );
    }

    if denoms.len() > 1 {
        let list: Vec<String> = denoms
            .iter()
            .map(|(d, (pl, pr))| format!("{d} (placement {pl}, profile {pr})"))
            .collect();
        issues.push(
            &placement_path,
            format!(
                "all prices must use one denomination, found {}",
                list.join(" and ")
            ),
        );
    }

    check_network(input, issues);
}

/// Roughly how many values the groups and manifest will hold: every deployed service
/// copies its exposes (one per `to` entry, each with its hostnames) and its volumes into
/// each placement. Aliases can make a small SDL ask for an enormous manifest.
fn output_size(input: &Input) -> u64 {
    let mut total: u64 = 0;
    for (svc_name, placements) in &input.deployment {
        let Some(svc) = input.services.get(svc_name) else {
            continue;
        };
        let mut per_placement: u64 = 1;
        for e in &svc.expose {
            let copies = e.to.len().max(1) as u64;
            let hosts = e.accept.as_ref().map_or(0, Vec::len) as u64;
            per_placement = per_placement.saturating_add(copies.saturating_mul(hosts + 1));
        }
        for d in placements.values() {
            let volumes = input.compute.get(d.profile).map_or(0, |c| c.storage.len()) as u64;
            total = total.saturating_add(per_placement.saturating_add(volumes));
        }
    }
    total
}

fn check_limits(compute: &super::parse::Compute, path: &Path, issues: &mut Issues) {
    let rp = path.key("resources");
    if let Some(m) = compute.cpu {
        if !(CPU_MIN..=CPU_MAX).contains(&m) {
            issues.push(
                &rp.key("cpu").key("units"),
                format!("must be between 10m and 384 cores (384000m) per replica, got {m}m"),
            );
        }
    }
    if let Some(bytes) = compute.memory {
        if !(MEMORY_MIN..=MEMORY_MAX).contains(&bytes) {
            issues.push(
                &rp.key("memory").key("size"),
                format!("must be between 1Mi and 2Ti per replica, got {bytes} bytes"),
            );
        }
    }
    for v in &compute.storage {
        if let Some(bytes) = v.size {
            if !(STORAGE_MIN..=STORAGE_MAX).contains(&bytes) {
                issues.push(
                    &rp.key("storage"),
                    format!(
                        "volume {:?} must be between 5Mi and 32Ti, got {bytes} bytes",
                        v.name
                    ),
                );
            }
        }
    }
    if let Some(units) = compute.gpu {
        if units > GPU_MAX {
            issues.push(
                &rp.key("gpu").key("units"),
                format!("must be at most {GPU_MAX} per replica, got {units}"),
            );
        }
    }
}

/// Volume mounts of a service against the volumes of the compute profile it runs with.
fn check_storage_params<'a>(
    input: &'a Input,
    svc_name: &'a str,
    profile: &'a str,
    sp: &Path,
    issues: &mut Issues,
    checked: &mut BTreeSet<(&'a str, &'a str)>,
) {
    let (Some(svc), Some(compute)) = (input.services.get(svc_name), input.compute.get(profile))
    else {
        return;
    };
    // Storage problems depend on the (service, profile) pair only; report them once.
    if !checked.insert((svc_name, profile)) {
        return;
    }
    let params_path = sp.key("params");
    let storage_path = params_path.key("storage");
    let mounts = svc.params.as_ref().map(|p| &p.storage);
    if let Some(mounts) = mounts {
        let volumes: HashMap<&str, &Volume> = compute.storage.iter().map(|v| (v.name, v)).collect();
        for (vol, (_, read_only)) in mounts {
            match volumes.get(vol) {
                None => issues.push(
                    &storage_path.key(vol),
                    format!(
                        "volume {vol:?} is not defined in compute profile {profile:?} (volumes: {})",
                        list(compute.storage.iter().map(|v| v.name))
                    ),
                ),
                Some(v) => {
                    if *read_only && v.class() == Some("ram") {
                        issues.push(
                            &storage_path.key(vol).key("readOnly"),
                            "must not be true for a volume of class ram",
                        );
                    }
                }
            }
        }
    }
    for v in &compute.storage {
        if !v.persistent() {
            continue;
        }
        let mounted = mounts
            .and_then(|m| m.get(v.name))
            .is_some_and(|(mount, _)| !mount.is_empty());
        if !mounted {
            issues.push(
                &storage_path.key(v.name),
                format!(
                    "volume {:?} of compute profile {profile:?} is persistent, so it needs a mount: set services.{svc_name}.params.storage.{}.mount",
                    v.name, v.name
                ),
            );
        }
    }
}

/// Leased IP endpoints, hostnames, and global exposure.
fn check_network(input: &Input, issues: &mut Issues) {
    let services_path = Path::root().key("services");
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut ports: HashMap<(&str, u32, &str), (&str, &str)> = HashMap::new();
    let mut hosts: HashMap<&str, usize> = HashMap::new();
    // Each accepted hostname with its service, expose and accept index, for its path.
    let mut host_paths: Vec<(&str, &str, usize, usize)> = Vec::new();
    let mut global = false;

    for (svc_name, placements) in &input.deployment {
        let Some(svc) = input.services.get(svc_name) else {
            continue;
        };
        let service_path = services_path.key(svc_name);
        let ep = service_path.key("expose");
        for (i, expose) in svc.expose.iter().enumerate() {
            let xp = ep.index(i);
            // Each `to` entry, in each placement, becomes one manifest expose carrying the
            // hostnames; the provider refuses a hostname that appears twice.
            let copies = expose.to.len().max(1) * placements.len();
            for (j, host) in expose.accept.iter().flatten().enumerate() {
                // chain-sdk's `Manifest.Validate` (Go's `sdl.Read` and every provider run it)
                // checks each hostname of the manifest; a URL-valid item such as
                // `*.example.com` still fails here. Items that are not even URLs were
                // reported by the parser already.
                if !placements.is_empty() && check_accept_item(host).is_ok() {
                    if let Err(why) = check_manifest_hostname(host) {
                        issues.push(
                            &xp.key("accept").index(j),
                            format!(
                                "{host:?} is not a valid manifest hostname: {why} (Akash's manifest validation, which providers run too, requires a DNS-1123 hostname; wildcards such as \"*.example.com\" are refused)"
                            ),
                        );
                    }
                }
                let n = hosts.entry(*host).or_default();
                *n += copies;
                host_paths.push((*host, svc_name, i, j));
            }
            for (j, to) in expose.to.iter().enumerate() {
                global |= to.global && !placements.is_empty();
                // Like Go, only deployed services are checked.
                if to.ip.is_empty() || placements.is_empty() {
                    continue;
                }
                let to_path = xp.key("to");
                let item_path = to_path.index(j);
                let tp = item_path.key("ip");
                if !input.endpoints.contains_key(to.ip) {
                    issues.push(
                        &tp,
                        format!(
                            "endpoint {:?} is not declared; add it under endpoints with `kind: ip`",
                            to.ip
                        ),
                    );
                    continue;
                }
                used.insert(to.ip);
                let external = if expose.external_port == 0 {
                    expose.port
                } else {
                    expose.external_port
                };
                let key = (to.ip, external, expose.proto);
                // Go checks once per placement, so a service deployed to two placements
                // collides with itself.
                for placement in placements.keys() {
                    match ports.get(&key) {
                        Some(&(other_svc, other_placement)) => {
                            let msg = if other_svc == svc_name {
                                format!(
                                    "ip endpoint {:?} serves port {external}/{} in placements {other_placement:?} and {placement:?}; an ip endpoint port can be used in one placement only",
                                    to.ip, expose.proto
                                )
                            } else {
                                format!(
                                    "ip endpoint {:?} already exposes port {external}/{} for service {other_svc:?}",
                                    to.ip, expose.proto
                                )
                            };
                            issues.push(&tp, msg);
                            break;
                        }
                        None => {
                            ports.insert(key, (svc_name, placement));
                        }
                    }
                }
            }
        }
    }

    for name in input.endpoints.keys() {
        if !used.contains(name) {
            issues.push(
                &Path::root().key("endpoints").key(name),
                "is declared but never used; reference it from an expose (`to: [{global: true, ip: ...}]`) or remove it",
            );
        }
    }

    let mut reported: BTreeSet<&str> = BTreeSet::new();
    for (host, svc_name, i, j) in host_paths {
        if hosts.get(host).copied().unwrap_or(0) > 1 && reported.insert(host) {
            issues.push(
                &services_path
                    .key(svc_name)
                    .key("expose")
                    .index(i)
                    .key("accept")
                    .index(j),
                format!(
                    "hostname {host:?} would appear more than once in the manifest (it is accepted by several exposes, `to` entries or placements); each hostname may be used once"
                ),
            );
        }
    }

    let deploys_something = input.deployment.values().any(|p| !p.is_empty());
    if deploys_something && !global {
        issues.push(
            &services_path,
            "no deployed service is exposed globally; at least one expose needs `to: [{global: true}]`",
        );
    }
}

/// Group-wide totals (`ResourceUnits.Validate`): CPU and memory must be positive and within
/// 50 replicas' worth of the unit limits; GPUs likewise when any are asked for.
pub(crate) fn check_groups(groups: &[GroupSpec], issues: &mut Issues) {
    let profiles_path = Path::root().key("profiles");
    let placement_path = profiles_path.key("placement");
    for g in groups {
        let (mut cpu, mut gpu, mut memory) = (0u128, 0u128, 0u128);
        for unit in &g.resources {
            let count = u128::from(unit.count);
            let value = |v: Option<u64>| u128::from(v.unwrap_or(0)) * count;
            let r = &unit.resource;
            cpu += value(r.cpu.as_ref().and_then(|c| c.units.value()));
            gpu += value(r.gpu.as_ref().and_then(|c| c.units.value()));
            memory += value(r.memory.as_ref().and_then(|c| c.quantity.value()));
        }
        let path = placement_path.key(&g.name);
        let cpu_max = u128::from(CPU_MAX) * GROUP_FACTOR;
        if cpu == 0 || cpu > cpu_max {
            issues.push(
                &path,
                format!("the group asks for {cpu}m cpu in total (cpu × count); it must be between 1m and {cpu_max}m"),
            );
        }
        let gpu_max = u128::from(GPU_MAX) * GROUP_FACTOR;
        if gpu > gpu_max {
            issues.push(
                &path,
                format!("the group asks for {gpu} gpus in total (gpu × count); at most {gpu_max} are allowed"),
            );
        }
        let memory_max = u128::from(MEMORY_MAX) * GROUP_FACTOR;
        if memory == 0 || memory > memory_max {
            issues.push(
                &path,
                format!("the group asks for {memory} bytes of memory in total (memory × count); at most {memory_max} are allowed"),
            );
        }
    }
}
