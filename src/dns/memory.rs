//! An in-memory [`DnsProvider`]: zones in a map, changes applied atomically, and switches to
//! make it fail (down, or refusing) so callers' handling of outages can be tested.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::record::{canonical_name, Change, RecordType, Rrset};
use super::{DnsError, DnsProvider};

type Zone = BTreeMap<(String, RecordType), Rrset>;

/// Zones held in memory.
#[derive(Debug, Default)]
pub struct MemoryProvider {
    label: String,
    zones: Mutex<BTreeMap<String, Zone>>,
    down: Mutex<bool>,
    applies: Mutex<usize>,
}

impl MemoryProvider {
    /// A provider named `label` holding no zone.
    pub fn new(label: &str) -> MemoryProvider {
        MemoryProvider {
            label: label.to_string(),
            ..MemoryProvider::default()
        }
    }

    /// Creates `zone` (empty) if absent.
    pub fn add_zone(&self, zone: &str) {
        self.lock().entry(canonical_name(zone)).or_default();
    }

    /// Puts `r` in `zone` as if by hand (replacing the rrset of its name and type).
    pub fn put(&self, zone: &str, r: Rrset) {
        self.lock()
            .entry(canonical_name(zone))
            .or_default()
            .insert(r.key(), r);
    }

    /// Removes the rrset of `name` and `t` from `zone`, as if by hand.
    pub fn remove(&self, zone: &str, name: &str, t: &RecordType) {
        if let Some(z) = self.lock().get_mut(&canonical_name(zone)) {
            z.remove(&(canonical_name(name), t.clone()));
        }
    }

    /// The rrset of `name` and `t`, if any.
    pub fn get(&self, zone: &str, name: &str, t: &RecordType) -> Option<Rrset> {
        self.lock()
            .get(&canonical_name(zone))?
            .get(&(canonical_name(name), t.clone()))
            .cloned()
    }

    /// Makes every call fail as unavailable (`true`) or work again.
    pub fn set_down(&self, down: bool) {
        *self.down.lock().unwrap_or_else(|e| e.into_inner()) = down;
    }

    /// How many change sets were applied.
    pub fn applies(&self) -> usize {
        *self.applies.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Zone>> {
        self.zones.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_up(&self, op: &'static str) -> Result<(), DnsError> {
        if *self.down.lock().unwrap_or_else(|e| e.into_inner()) {
            return Err(DnsError::Unavailable {
                provider: self.label.clone(),
                op,
                message: "the provider is down".into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl DnsProvider for MemoryProvider {
    fn label(&self) -> String {
        self.label.clone()
    }

    async fn records(&self, zone: &str) -> Result<Vec<Rrset>, DnsError> {
        self.check_up("read zone")?;
        let zones = self.lock();
        let z = zones
            .get(&canonical_name(zone))
            .ok_or_else(|| DnsError::Refused {
                provider: self.label.clone(),
                op: "read zone",
                message: format!("no zone `{zone}`"),
            })?;
        Ok(z.values().cloned().collect())
    }

    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), DnsError> {
        self.check_up("apply changes")?;
        let mut zones = self.lock();
        let refused = |message: String| DnsError::Refused {
            provider: self.label.clone(),
            op: "apply changes",
            message,
        };
        let z = zones
            .get(&canonical_name(zone))
            .ok_or_else(|| refused(format!("no zone `{zone}`")))?;
        // All or nothing: on a copy.
        let mut next = z.clone();
        for c in changes {
            match c {
                Change::Create(r) => {
                    if next.contains_key(&r.key()) {
                        return Err(refused(format!("{} {} exists", r.name, r.rtype)));
                    }
                    next.insert(r.key(), r.clone());
                }
                Change::Update { from, to } => {
                    if next.get(&from.key()) != Some(from) {
                        return Err(refused(format!(
                            "{} {} changed since it was read",
                            from.name, from.rtype
                        )));
                    }
                    next.insert(to.key(), to.clone());
                }
                Change::Delete(r) => {
                    if next.remove(&r.key()).is_none() {
                        return Err(refused(format!("{} {} does not exist", r.name, r.rtype)));
                    }
                }
            }
        }
        zones.insert(canonical_name(zone), next);
        *self.applies.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Ok(())
    }
}
