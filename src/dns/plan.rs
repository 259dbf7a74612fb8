//! The planner: from the desired rrsets and a provider's current ones to the [`Change`]s that
//! make the provider right, touching only what we own. Pure, no I/O.
//!
//! Ownership (external-dns's TXT registry): beside every managed name `N` stands a TXT rrset
//! at `_af-owner.N` (`_af-owner._wildcard.Z` for `*.Z`) holding
//! `heritage=af-operator,af-operator/owner=<ownerId>,af-operator/types=A+TXT`. An rrset is
//! ours when the ownership record of its name names our owner id and its type. Anything else
//! (no record, another owner, a value we cannot read) is never changed or deleted; a desired
//! rrset that would overwrite it is reported as a [`Conflict`] instead.
//!
//! Safety (octoDNS's manager): a plan that deletes more than `max_delete_percent` of a zone
//! of at least [`MIN_EXISTING`] rrsets is refused (the changes are listed, not applied).

use std::collections::{BTreeMap, BTreeSet};

use super::record::{canonical_name, in_zone, Change, RecordType, Rrset};

/// The first label of every ownership record's name.
pub const OWNER_LABEL: &str = "_af-owner";
/// Zones with fewer rrsets than this are not guarded (as octoDNS's `MIN_EXISTING_RECORDS`).
pub const MIN_EXISTING: usize = 10;
/// The default delete threshold, in percent of the zone's rrsets (as octoDNS).
pub const DEFAULT_MAX_DELETE_PERCENT: u32 = 30;

/// How a zone is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPolicy {
    /// Our owner id.
    pub owner_id: String,
    /// Never delete (create and update only).
    pub upsert_only: bool,
    /// The largest share of the zone's rrsets a plan may delete, in percent; 100 allows all.
    pub max_delete_percent: u32,
    /// The TTL of ownership records.
    pub ttl: u32,
}

impl PlanPolicy {
    /// A sync policy for `owner_id` with the default threshold.
    pub fn sync(owner_id: &str) -> PlanPolicy {
        PlanPolicy {
            owner_id: owner_id.to_string(),
            upsert_only: false,
            max_delete_percent: DEFAULT_MAX_DELETE_PERCENT,
            ttl: 300,
        }
    }
}

/// A desired rrset that is not written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// What was wanted.
    pub rrset: Rrset,
    /// Why it cannot be written.
    pub reason: String,
}

/// Why a plan must not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Rrsets the plan deletes (ownership records aside).
    pub deletes: usize,
    /// Rrsets in the zone (ownership records of ours aside).
    pub existing: usize,
    /// The threshold, in percent.
    pub max_percent: u32,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the plan deletes {} of the zone's {} rrsets, more than {}%",
            self.deletes, self.existing, self.max_percent
        )
    }
}

/// What a provider needs to match the desired records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The changes, in the order they must be applied: ownership records created or widened
    /// first, then deletes, updates, creates, and ownership records removed last.
    pub changes: Vec<Change>,
    /// Desired rrsets that would overwrite records we do not own.
    pub conflicts: Vec<Conflict>,
    /// Owned rrsets no longer wanted, kept because the policy is upsert-only.
    pub kept: Vec<Rrset>,
    /// Desired rrsets outside the zone, ignored.
    pub outside: Vec<Rrset>,
    /// Set when the plan deletes too much: it must not be applied.
    pub refusal: Option<Refusal>,
}

impl Plan {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Counts of creates, updates and deletes.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for ch in &self.changes {
            match ch {
                Change::Create(_) => c.0 += 1,
                Change::Update { .. } => c.1 += 1,
                Change::Delete(_) => c.2 += 1,
            }
        }
        c
    }
}

/// The name of the ownership record of `name`.
pub fn owner_name(name: &str) -> String {
    match name.strip_prefix("*.") {
        Some(rest) => format!("{OWNER_LABEL}._wildcard.{rest}"),
        None if name == "*" => format!("{OWNER_LABEL}._wildcard"),
        None => format!("{OWNER_LABEL}.{name}"),
    }
}

/// The managed name an ownership record's name stands for.
pub fn managed_name(owner: &str) -> Option<String> {
    let rest = owner.strip_prefix(OWNER_LABEL)?.strip_prefix('.')?;
    Some(match rest.strip_prefix("_wildcard") {
        Some("") => "*".to_string(),
        Some(tail) if tail.starts_with('.') => format!("*{tail}"),
        _ => rest.to_string(),
    })
}

/// The value of an ownership record.
pub fn owner_value(owner_id: &str, types: &BTreeSet<RecordType>) -> String {
    let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    format!(
        "heritage=af-operator,af-operator/owner={owner_id},af-operator/types={}",
        types.join("+")
    )
}

/// The owner id and types of an ownership value, when it is one.
pub fn parse_owner_value(v: &str) -> Option<(String, BTreeSet<RecordType>)> {
    let mut parts = v.split(',');
    if parts.next()? != "heritage=af-operator" {
        return None;
    }
    let owner = parts.next()?.strip_prefix("af-operator/owner=")?;
    let types = parts.next()?.strip_prefix("af-operator/types=")?;
    if parts.next().is_some() || owner.is_empty() {
        return None;
    }
    let types = types
        .split('+')
        .filter(|t| !t.is_empty())
        .map(RecordType::parse)
        .collect();
    Some((owner.to_string(), types))
}

/// Who holds a managed name, by its ownership record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    /// Us, for these types.
    Us(BTreeSet<RecordType>),
    /// Someone else (or a record we cannot read).
    Other(String),
}

/// Plans the changes that bring `current` (one provider's rrsets of `zone`) to `desired`.
pub fn plan(zone: &str, desired: &[Rrset], current: &[Rrset], policy: &PlanPolicy) -> Plan {
    let zone = canonical_name(zone);
    let mut out = Plan::default();
    let cur: BTreeMap<(String, RecordType), &Rrset> =
        current.iter().map(|r| (r.key(), r)).collect();

    // Who holds which name.
    let mut holders: BTreeMap<String, Holder> = BTreeMap::new();
    let mut our_owner_records: BTreeMap<String, &Rrset> = BTreeMap::new();
    for r in current {
        let Some(managed) = managed_name(&r.name) else {
            continue;
        };
        if r.rtype != RecordType::Txt {
            continue;
        }
        let mut ours: Option<BTreeSet<RecordType>> = Some(BTreeSet::new());
        let mut other = None;
        for v in &r.values {
            match parse_owner_value(v) {
                Some((owner, types)) if owner == policy.owner_id => {
                    if let Some(t) = ours.as_mut() {
                        t.extend(types);
                    }
                }
                Some((owner, _)) => {
                    ours = None;
                    other = Some(owner);
                }
                None => {
                    ours = None;
                    other.get_or_insert_with(|| "an unreadable ownership record".to_string());
                }
            }
        }
        match ours {
            Some(types) if !r.values.is_empty() => {
                our_owner_records.insert(managed.clone(), r);
                holders.insert(managed, Holder::Us(types));
            }
            _ => {
                holders.insert(
                    managed,
                    Holder::Other(other.unwrap_or_else(|| "nobody".to_string())),
                );
            }
        }
    }
    let is_ours = |name: &str, t: &RecordType| matches!(holders.get(name), Some(Holder::Us(types)) if types.contains(t));

    // The desired rrsets: in the zone, merged by key, never an ownership name.
    let mut want: BTreeMap<(String, RecordType), Rrset> = BTreeMap::new();
    for d in desired {
        let mut d = d.clone();
        d.name = canonical_name(&d.name);
        if !in_zone(&d.name, &zone) || managed_name(&d.name).is_some() {
            out.outside.push(d);
            continue;
        }
        match want.get_mut(&d.key()) {
            Some(w) => {
                w.ttl = w.ttl.min(d.ttl);
                w.values.extend(d.values);
                w.values.sort();
                w.values.dedup();
            }
            None => {
                want.insert(d.key(), d);
            }
        }
    }
    // A CNAME cannot stand beside other data: the other types win.
    let names_with_other: BTreeSet<String> = want
        .keys()
        .filter(|(_, t)| *t != RecordType::Cname)
        .map(|(n, _)| n.clone())
        .collect();
    want.retain(|(n, t), r| {
        if *t == RecordType::Cname && names_with_other.contains(n) {
            out.conflicts.push(Conflict {
                rrset: r.clone(),
                reason: "a CNAME cannot stand beside the other records wanted at this name".into(),
            });
            false
        } else {
            true
        }
    });

    let mut deletes: Vec<Change> = Vec::new();
    let mut updates: Vec<Change> = Vec::new();
    let mut creates: Vec<Change> = Vec::new();
    let mut deleted: BTreeSet<(String, RecordType)> = BTreeSet::new();
    // Types we hold per name after the plan.
    let mut held: BTreeMap<String, BTreeSet<RecordType>> = BTreeMap::new();

    for (key, d) in &want {
        let (name, t) = key;
        if let Some(Holder::Other(owner)) = holders.get(name) {
            out.conflicts.push(Conflict {
                rrset: d.clone(),
                reason: format!("the name is owned by {owner}"),
            });
            continue;
        }
        if let Some(e) = cur.get(key) {
            if is_ours(name, t) {
                if !e.same_data(d) {
                    updates.push(Change::Update {
                        from: (*e).clone(),
                        to: d.clone(),
                    });
                }
                held.entry(name.clone()).or_default().insert(t.clone());
            } else {
                out.conflicts.push(Conflict {
                    rrset: d.clone(),
                    reason: "an rrset exists without our ownership record".into(),
                });
            }
            continue;
        }
        // Nothing of this type yet: what stands at the name must allow it.
        let blocking: Vec<&Rrset> = cur
            .range((name.clone(), RecordType::A)..)
            .take_while(|((n, _), _)| n == name)
            .map(|(_, r)| *r)
            .filter(|r| {
                if *t == RecordType::Cname {
                    !want.contains_key(&r.key())
                } else {
                    r.rtype == RecordType::Cname
                }
            })
            .collect();
        if let Some(b) = blocking.iter().find(|b| !is_ours(name, &b.rtype)) {
            out.conflicts.push(Conflict {
                rrset: d.clone(),
                reason: format!("a {} record we do not own stands at this name", b.rtype),
            });
            continue;
        }
        // Our own records in the way are replaced (even when upsert-only: this is an update
        // of the name).
        for b in blocking {
            if deleted.insert(b.key()) {
                deletes.push(Change::Delete(b.clone()));
            }
        }
        creates.push(Change::Create(d.clone()));
        held.entry(name.clone()).or_default().insert(t.clone());
    }

    // Owned rrsets no longer wanted.
    for (name, holder) in &holders {
        let Holder::Us(types) = holder else { continue };
        for t in types {
            let key = (name.clone(), t.clone());
            if want.contains_key(&key) || deleted.contains(&key) {
                continue;
            }
            let Some(e) = cur.get(&key) else { continue };
            if policy.upsert_only {
                out.kept.push((*e).clone());
                held.entry(name.clone()).or_default().insert(t.clone());
            } else {
                deleted.insert(key);
                deletes.push(Change::Delete((*e).clone()));
            }
        }
    }

    // Ownership records: one per name we hold something at.
    let mut owner_first = Vec::new();
    let mut owner_last = Vec::new();
    let names: BTreeSet<&String> = held.keys().chain(our_owner_records.keys()).collect();
    for name in names {
        let types = held.get(name).cloned().unwrap_or_default();
        let existing = our_owner_records.get(name);
        if types.is_empty() {
            if let Some(e) = existing {
                if policy.upsert_only {
                    continue;
                }
                owner_last.push(Change::Delete((*e).clone()));
            }
            continue;
        }
        let want_owner = Rrset::new(
            &owner_name(name),
            RecordType::Txt,
            policy.ttl,
            [owner_value(&policy.owner_id, &types)],
        );
        match existing {
            None => owner_first.push(Change::Create(want_owner)),
            Some(e) if !e.same_data(&want_owner) => owner_first.push(Change::Update {
                from: (*e).clone(),
                to: want_owner,
            }),
            Some(_) => {}
        }
    }

    // The guard counts rrsets other than our ownership records.
    let existing = current
        .iter()
        .filter(|r| !our_owner_records.values().any(|o| o.key() == r.key()))
        .count();
    let n_deletes = deletes.len();
    if existing >= MIN_EXISTING
        && policy.max_delete_percent < 100
        && n_deletes as u64 * 100 > existing as u64 * u64::from(policy.max_delete_percent)
    {
        out.refusal = Some(Refusal {
            deletes: n_deletes,
            existing,
            max_percent: policy.max_delete_percent,
        });
    }

    out.changes = owner_first
        .into_iter()
        .chain(deletes)
        .chain(updates)
        .chain(creates)
        .chain(owner_last)
        .collect();
    out
}

#[cfg(test)]
mod tests;
