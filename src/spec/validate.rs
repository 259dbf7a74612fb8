//! Semantic validation: rules that types alone cannot express.
//!
//! Every rule reports the field path it concerns; the loader turns paths into file positions.

use super::yaml::FieldPath;

/// One validation failure: where, and what is wrong and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field the problem is about.
    pub path: FieldPath,
    /// What is wrong, and what would be valid.
    pub message: String,
}

/// The problems found while validating one document.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    /// Records a problem at `path`.
    pub fn add(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.clone(),
            message: message.into(),
        });
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A value that can check its own invariants.
pub trait Validate {
    /// Records every problem of `self`, which stands at `at`.
    fn validate(&self, at: &FieldPath, problems: &mut Problems);
}

impl<T: Validate> Validate for Option<T> {
    fn validate(&self, at: &FieldPath, problems: &mut Problems) {
        if let Some(v) = self {
            v.validate(at, problems);
        }
    }
}

impl<T: Validate> Validate for [T] {
    fn validate(&self, at: &FieldPath, problems: &mut Problems) {
        for (i, v) in self.iter().enumerate() {
            v.validate(&at.index(i), problems);
        }
    }
}

/// Whether `s` is an RFC 1123 label as Kubernetes names it (DNS-1123): lowercase letters,
/// digits and `-`, starting and ending with a letter or digit, at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Checks a DNS-1123 label.
pub fn check_dns_label(s: &str, at: &FieldPath, problems: &mut Problems) {
    if !is_dns_label(s) {
        problems.add(
            at,
            format!(
                "`{s}` is not a valid name: expected a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), e.g. `defarm-api`"
            ),
        );
    }
}

/// Whether `s` is a DNS hostname (letters, digits, `-`, dot-separated labels, at most 253
/// characters). With `wildcard`, a leading `*.` label is allowed.
pub fn is_hostname(s: &str, wildcard: bool) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    let body = match s.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => s,
    };
    !body.is_empty()
        && s.len() <= 253
        && body.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Checks a hostname.
pub fn check_hostname(s: &str, wildcard: bool, at: &FieldPath, problems: &mut Problems) {
    if !is_hostname(s, wildcard) {
        let hint = if wildcard {
            "e.g. `api.example.com` or `*.example.com`"
        } else {
            "e.g. `api.example.com` (no scheme, port or path)"
        };
        problems.add(at, format!("`{s}` is not a valid hostname: {hint}"));
    }
}

/// Checks a list for duplicates, reporting each repeated item at its index.
pub fn check_unique<'a, I>(items: I, what: &str, problems: &mut Problems)
where
    I: IntoIterator<Item = (FieldPath, &'a str)>,
{
    let mut seen = std::collections::HashSet::new();
    for (path, item) in items {
        if !seen.insert(item) {
            problems.add(
                &path,
                format!("duplicate {what} `{item}`: each must be unique"),
            );
        }
    }
}

/// Whether `s` looks like an Akash account address (`akash1` + bech32 data).
pub fn is_akash_address(s: &str) -> bool {
    const CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    s.strip_prefix("akash1").is_some_and(|data| {
        (38..=90).contains(&data.len()) && data.chars().all(|c| CHARSET.contains(c))
    })
}

/// Checks an Akash address.
pub fn check_akash_address(s: &str, at: &FieldPath, problems: &mut Problems) {
    if !is_akash_address(s) {
        problems.add(
            at,
            format!("`{s}` is not an Akash address: expected `akash1` followed by bech32 characters, e.g. `akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63`"),
        );
    }
}

/// Suggests the candidate nearest to `word`, when one is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_hostnames() {
        assert!(is_dns_label("defarm-api"));
        assert!(!is_dns_label("Defarm"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_hostname("api.defarm.io", false));
        assert!(!is_hostname("*.af-functions.dev", false));
        assert!(is_hostname("*.af-functions.dev", true));
        assert!(!is_hostname("https://x.io", false));
        assert!(!is_hostname("a..b", false));
    }

    #[test]
    fn addresses() {
        assert!(is_akash_address(
            "akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63"
        ));
        assert!(!is_akash_address(
            "cosmos1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63"
        ));
        assert!(!is_akash_address("akash1BAD"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            nearest("memroy", ["cpu", "memory", "storage"]),
            Some("memory")
        );
        assert_eq!(nearest("zzzzzz", ["cpu", "memory"]), None);
    }
}
