//! Label selectors in kubectl's equality form: `team=core,tier!=edge,canary,!legacy`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
}

/// A conjunction of label requirements; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }

    /// Whether the selector has no requirement.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn check_part(s: &str, whole: &str) -> Result<String, String> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "invalid label selector `{whole}`: `{s}` is not a label key or value (expected e.g. `team=core`, `tier!=edge`, `canary` or `!legacy`)"
        ))
    }
}

impl FromStr for LabelSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let req = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(check_part(k, s)?, check_part(v, s)?)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(check_part(k, s)?, check_part(v, s)?)
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(check_part(k, s)?)
            } else {
                Requirement::Exists(check_part(part, s)?)
            };
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match r {
                Requirement::Equals(k, v) => write!(f, "{k}={v}")?,
                Requirement::NotEquals(k, v) => write!(f, "{k}!={v}")?,
                Requirement::Exists(k) => write!(f, "{k}")?,
                Requirement::NotExists(k) => write!(f, "!{k}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_match() {
        let l = labels(&[("team", "core"), ("tier", "api")]);
        let m = |s: &str| s.parse::<LabelSelector>().unwrap().matches(&l);
        assert!(m(""));
        assert!(m("team=core"));
        assert!(m("team==core,tier"));
        assert!(!m("team=edge"));
        assert!(m("team!=edge"));
        assert!(m("!legacy"));
        assert!(!m("!team"));
        assert!("team=".parse::<LabelSelector>().is_err());
        assert!("a b=c".parse::<LabelSelector>().is_err());
        assert_eq!(
            "team=core,!x".parse::<LabelSelector>().unwrap().to_string(),
            "team=core,!x"
        );
    }
}
