//! A provider's capacity and price model, and what an order asks of them.

use crate::chain::{Chain, DEC_SCALE};
use af_akash::sdl::{EndpointKind, GroupSpec, Resources};
use rand::{Rng as _, SeedableRng};
use serde::Serialize;

/// Deterministic randomness for genesis.
pub(crate) struct Rng(rand_chacha::ChaCha8Rng);

impl Rng {
    pub(crate) fn new(seed: [u8; 32]) -> Rng {
        Rng(rand_chacha::ChaCha8Rng::from_seed(seed))
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0.gen_range(lo..=hi)
    }
}

const MI: u64 = 1 << 20;
const GI: u64 = 1 << 30;

/// Resources in use or needed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Millicores.
    pub cpu_milli: u64,
    /// Bytes.
    pub memory: u64,
    /// Bytes.
    pub storage: u64,
    /// GPUs.
    pub gpu: u64,
    /// Leased IPs.
    pub ips: u64,
}

impl Usage {
    /// What a whole group needs (every unit × its count).
    pub fn of_group(spec: &GroupSpec) -> Usage {
        let mut u = Usage::default();
        for unit in &spec.resources {
            let r = Usage::of_resources(&unit.resource);
            let n = u64::from(unit.count);
            u.cpu_milli = u.cpu_milli.saturating_add(r.cpu_milli.saturating_mul(n));
            u.memory = u.memory.saturating_add(r.memory.saturating_mul(n));
            u.storage = u.storage.saturating_add(r.storage.saturating_mul(n));
            u.gpu = u.gpu.saturating_add(r.gpu.saturating_mul(n));
            u.ips = u.ips.saturating_add(r.ips);
        }
        u
    }

    /// What one replica of `r` needs (leased IPs: per unit).
    pub fn of_resources(r: &Resources) -> Usage {
        Usage {
            cpu_milli: r.cpu.as_ref().and_then(|c| c.units.value()).unwrap_or(0),
            memory: r
                .memory
                .as_ref()
                .and_then(|m| m.quantity.value())
                .unwrap_or(0),
            storage: r
                .storage
                .iter()
                .map(|s| s.quantity.value().unwrap_or(0))
                .fold(0u64, u64::saturating_add),
            gpu: r.gpu.as_ref().and_then(|g| g.units.value()).unwrap_or(0),
            ips: r
                .endpoints
                .iter()
                .filter(|e| e.kind == EndpointKind::LeasedIp as i32)
                .count() as u64,
        }
    }

    pub(crate) fn add(&self, o: &Usage) -> Usage {
        Usage {
            cpu_milli: self.cpu_milli.saturating_add(o.cpu_milli),
            memory: self.memory.saturating_add(o.memory),
            storage: self.storage.saturating_add(o.storage),
            gpu: self.gpu.saturating_add(o.gpu),
            ips: self.ips.saturating_add(o.ips),
        }
    }
}

/// What a provider has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Capacity {
    /// Millicores.
    pub cpu_milli: u64,
    /// Bytes.
    pub memory: u64,
    /// Bytes.
    pub storage: u64,
    /// GPUs.
    pub gpu: u64,
    /// Leased IP pool size.
    pub ips: u64,
}

impl Capacity {
    pub(crate) fn for_provider(rng: &mut Rng, gpu: bool) -> Capacity {
        Capacity {
            cpu_milli: rng.range(16, 64) * 1000,
            memory: rng.range(64, 256) * GI,
            storage: rng.range(1024, 4096) * GI,
            gpu: if gpu { 8 } else { 0 },
            ips: rng.range(4, 8),
        }
    }

    /// Whether `used + need` fits.
    pub fn fits(&self, used: &Usage, need: &Usage) -> bool {
        let t = used.add(need);
        t.cpu_milli <= self.cpu_milli
            && t.memory <= self.memory
            && t.storage <= self.storage
            && t.gpu <= self.gpu
            && t.ips <= self.ips
    }
}

/// Prices per block in uact, scaled by 10^18.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PriceModel {
    /// Per millicore.
    pub cpu_milli: u128,
    /// Per MiB of memory.
    pub memory_mi: u128,
    /// Per MiB of storage.
    pub storage_mi: u128,
    /// Per GPU.
    pub gpu: u128,
    /// Per endpoint.
    pub endpoint: u128,
}

impl PriceModel {
    pub(crate) fn for_provider(rng: &mut Rng) -> PriceModel {
        // A factor of 0.80–1.50 on a base of 0.0001 uact/millicore, 0.00005 uact/MiB memory,
        // 0.00001 uact/MiB storage, 10 uact/GPU and 0.01 uact/endpoint per block: about
        // 0.1 uact per block for half a CPU, 512 MiB and 1 GiB, so modest SDL prices get bids.
        let f = u128::from(rng.range(80, 150));
        let scale = |base_micro: u128| base_micro * f * DEC_SCALE / 100 / 1_000_000;
        PriceModel {
            cpu_milli: scale(100),
            memory_mi: scale(50),
            storage_mi: scale(10),
            gpu: scale(10_000_000),
            endpoint: scale(10_000),
        }
    }

    /// The model's price of a group per block, scaled by 10^18, rounded up to 6 decimals.
    pub fn price(&self, spec: &GroupSpec) -> u128 {
        let mut total: u128 = 0;
        for unit in &spec.resources {
            let r = Usage::of_resources(&unit.resource);
            let one = self.cpu_milli * u128::from(r.cpu_milli)
                + self.memory_mi * u128::from(r.memory / MI)
                + self.storage_mi * u128::from(r.storage / MI)
                + self.gpu * u128::from(r.gpu)
                + self.endpoint * unit.resource.endpoints.len() as u128;
            total = total.saturating_add(one.saturating_mul(u128::from(unit.count)));
        }
        let step = DEC_SCALE / 1_000_000;
        total.div_ceil(step).max(1) * step
    }
}

/// Whether the provider `owner` with `attributes` meets a group's placement requirements
/// (the chain's `MatchRequirements`: own and audited attributes, `signed_by` auditors) and its
/// resources' capability attributes (GPU model, storage class).
pub(crate) fn matches(
    chain: &Chain,
    owner: &str,
    attributes: &[(String, String)],
    spec: &GroupSpec,
) -> bool {
    let audited = |auditor: &str| {
        chain
            .audits
            .contains_key(&(owner.to_string(), auditor.to_string()))
    };
    let has = |k: &str, v: &str| {
        attributes.iter().any(|(a, b)| a == k && b == v)
            || chain
                .audits
                .iter()
                .filter(|((o, _), _)| o == owner)
                .flat_map(|(_, attrs)| attrs.iter())
                .any(|(a, b)| a == k && b == v)
    };
    if !spec.requirements.matched_by(audited, has) {
        return false;
    }
    for unit in &spec.resources {
        let r = &unit.resource;
        if let Some(gpu) = &r.gpu {
            // The SDL's GPU models are alternatives (`vendor/nvidia/model/a100[/ram/80Gi…]`
            // = true, one per model): a provider with any one of them can serve the unit.
            let models: Vec<&str> = gpu
                .attributes
                .iter()
                .filter(|a| a.value == "true" && a.key.contains("/model/"))
                .map(|a| a.key.as_str())
                .collect();
            let model_of = |key: &str| -> String {
                // `vendor/nvidia/model/a100/ram/80Gi` → `vendor/nvidia/model/a100`
                key.split('/').take(4).collect::<Vec<_>>().join("/")
            };
            if !models.is_empty()
                && !models.iter().any(|k| {
                    has(&format!("capabilities/gpu/{k}"), "true")
                        || has(&format!("capabilities/gpu/{}", model_of(k)), "true")
                })
            {
                return false;
            }
        }
        for s in &r.storage {
            for a in &s.attributes {
                if a.key == "class" && a.value != "default" {
                    let ok = attributes.iter().any(|(k, v)| {
                        k.starts_with("capabilities/storage/")
                            && k.ends_with("/class")
                            && *v == a.value
                    });
                    if !ok {
                        return false;
                    }
                }
            }
        }
    }
    true
}
