//! The domain types of DNS: an [`Rrset`] (name, type, TTL, values) and a [`Change`].
//!
//! Names are fully qualified, lowercase, without the final dot (`api.example.com`); values are
//! in a canonical text form per type, so two providers' views compare equal: A and AAAA as
//! Rust prints the address, CNAME (and NS, MX targets) lowercase without the final dot, TXT as
//! the unquoted text (its character-strings joined).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A record type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Canonical name.
    Cname,
    /// Text.
    Txt,
    /// Any other type, by its mnemonic (`MX`, `NS`, `SOA`, …): read, counted, never written.
    Other(String),
}

impl RecordType {
    /// The mnemonic.
    pub fn as_str(&self) -> &str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Txt => "TXT",
            RecordType::Other(s) => s,
        }
    }

    /// From a mnemonic, any case.
    pub fn parse(s: &str) -> RecordType {
        match s.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "CNAME" => RecordType::Cname,
            "TXT" => RecordType::Txt,
            other => RecordType::Other(other.to_string()),
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The records of one name and type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rrset {
    /// Fully qualified, lowercase, no final dot.
    pub name: String,
    /// The type.
    pub rtype: RecordType,
    /// Seconds.
    pub ttl: u32,
    /// Canonical values, sorted, without duplicates.
    pub values: Vec<String>,
}

impl Rrset {
    /// An rrset with its name and values made canonical.
    pub fn new(
        name: &str,
        rtype: RecordType,
        ttl: u32,
        values: impl IntoIterator<Item = String>,
    ) -> Rrset {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|v| canonical_value(&rtype, &v))
            .collect();
        values.sort();
        values.dedup();
        Rrset {
            name: canonical_name(name),
            rtype,
            ttl,
            values,
        }
    }

    /// The (name, type) this rrset is identified by.
    pub fn key(&self) -> (String, RecordType) {
        (self.name.clone(), self.rtype.clone())
    }

    /// Whether this and `other` hold the same data (TTL and values).
    pub fn same_data(&self, other: &Rrset) -> bool {
        self.ttl == other.ttl && self.values == other.values
    }
}

impl fmt::Display for Rrset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ", self.name, self.ttl, self.rtype)?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if self.rtype == RecordType::Txt {
                write!(f, "{v:?}")?;
            } else {
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

/// A name as compared: lowercase, without the final dot.
pub fn canonical_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A value as compared, for its type.
pub fn canonical_value(rtype: &RecordType, v: &str) -> String {
    match rtype {
        RecordType::A => v
            .trim()
            .parse::<Ipv4Addr>()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| v.trim().to_string()),
        RecordType::Aaaa => v
            .trim()
            .parse::<Ipv6Addr>()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| v.trim().to_string()),
        RecordType::Cname => canonical_name(v.trim()),
        RecordType::Txt => v.to_string(),
        RecordType::Other(_) => v.trim().to_string(),
    }
}

/// Whether `name` is `zone` or below it.
pub fn in_zone(name: &str, zone: &str) -> bool {
    name == zone
        || name
            .strip_suffix(zone)
            .is_some_and(|head| head.ends_with('.'))
}

/// One change to a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new rrset.
    Create(Rrset),
    /// An rrset whose data changes (same name and type).
    Update {
        /// What it holds now.
        from: Rrset,
        /// What it will hold.
        to: Rrset,
    },
    /// An rrset that goes.
    Delete(Rrset),
}

impl Change {
    /// The rrset it concerns (its new data for a create or update).
    pub fn rrset(&self) -> &Rrset {
        match self {
            Change::Create(r) | Change::Delete(r) => r,
            Change::Update { to, .. } => to,
        }
    }

    /// `+`, `~` or `-`.
    pub fn symbol(&self) -> char {
        match self {
            Change::Create(_) => '+',
            Change::Update { .. } => '~',
            Change::Delete(_) => '-',
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Create(r) => write!(f, "+ {r}"),
            Change::Delete(r) => write!(f, "- {r}"),
            Change::Update { from, to } => write!(f, "~ {to} (was {from})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_canonical() {
        let r = Rrset::new(
            "API.Example.COM.",
            RecordType::Aaaa,
            60,
            ["2001:DB8:0:0::1".to_string(), "2001:db8::1".to_string()],
        );
        assert_eq!(r.name, "api.example.com");
        assert_eq!(r.values, vec!["2001:db8::1"]);
        let c = Rrset::new(
            "x.example.com",
            RecordType::Cname,
            60,
            ["Host.Example.NET.".into()],
        );
        assert_eq!(c.values, vec!["host.example.net"]);
        let t = Rrset::new(
            "x.example.com",
            RecordType::Txt,
            60,
            [" keep spaces ".into()],
        );
        assert_eq!(t.values, vec![" keep spaces "]);
    }

    #[test]
    fn zone_membership_is_by_labels() {
        assert!(in_zone("example.com", "example.com"));
        assert!(in_zone("a.b.example.com", "example.com"));
        assert!(!in_zone("badexample.com", "example.com"));
        assert!(!in_zone("example.org", "example.com"));
    }

    #[test]
    fn types_round_trip() {
        for t in ["A", "AAAA", "CNAME", "TXT", "MX"] {
            assert_eq!(RecordType::parse(t).as_str(), t);
        }
        assert_eq!(RecordType::parse("cname"), RecordType::Cname);
    }
}

/// A value in zone-file presentation form, as PowerDNS, Google Cloud DNS and deSEC take it:
/// names with the final dot, TXT as quoted character-strings of at most 255 bytes.
pub fn to_presentation(t: &RecordType, v: &str) -> String {
    match t {
        RecordType::Cname => format!("{}.", v.trim_end_matches('.')),
        RecordType::Txt => {
            let mut out = String::new();
            let mut cur = String::new();
            let flush = |cur: &mut String, out: &mut String| {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push('"');
                out.push_str(cur);
                out.push('"');
                cur.clear();
            };
            let mut len = 0;
            for ch in v.chars() {
                if len + ch.len_utf8() > 255 {
                    flush(&mut cur, &mut out);
                    len = 0;
                }
                len += ch.len_utf8();
                match ch {
                    '"' => cur.push_str("\\\""),
                    '\\' => cur.push_str("\\\\"),
                    c => cur.push(c),
                }
            }
            flush(&mut cur, &mut out);
            out
        }
        _ => v.to_string(),
    }
}

/// A value read in presentation form, made canonical (TXT strings unquoted and joined).
pub fn from_presentation(t: &RecordType, s: &str) -> String {
    match t {
        RecordType::Txt => {
            let s = s.trim();
            if !s.starts_with('"') {
                return s.to_string();
            }
            let mut out = String::new();
            let mut chars = s.chars();
            let mut inside = false;
            while let Some(c) = chars.next() {
                match (inside, c) {
                    (false, '"') => inside = true,
                    (false, _) => {}
                    (true, '"') => inside = false,
                    (true, '\\') => match chars.next() {
                        Some(d) if d.is_ascii_digit() => {
                            // \DDD: a byte in decimal.
                            let rest: String = chars.by_ref().take(2).collect();
                            let code = format!("{d}{rest}").parse::<u32>().unwrap_or(63);
                            out.push(char::from_u32(code).unwrap_or('?'));
                        }
                        Some(e) => out.push(e),
                        None => {}
                    },
                    (true, c) => out.push(c),
                }
            }
            out
        }
        _ => canonical_value(t, s),
    }
}

#[cfg(test)]
mod presentation_tests {
    use super::*;

    #[test]
    fn txt_values_round_trip_through_presentation_form() {
        for v in [
            "dnslink=/ipfs/bafy",
            "say \"hi\" \\ bye",
            &"x".repeat(600),
            "",
        ] {
            let p = to_presentation(&RecordType::Txt, v);
            assert_eq!(from_presentation(&RecordType::Txt, &p), v, "{p}");
        }
        assert_eq!(
            to_presentation(&RecordType::Txt, &"y".repeat(300))
                .matches('"')
                .count(),
            4
        );
        assert_eq!(from_presentation(&RecordType::Txt, "\"a\" \"b\""), "ab");
        assert_eq!(from_presentation(&RecordType::Txt, "\"\\065b\""), "Ab");
        assert_eq!(
            to_presentation(&RecordType::Cname, "x.example.net"),
            "x.example.net."
        );
        assert_eq!(
            from_presentation(&RecordType::Cname, "X.example.net."),
            "x.example.net"
        );
    }
}
