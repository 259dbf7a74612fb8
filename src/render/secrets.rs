//! Secret values for rendering: resolved by the caller's resolver, never logged.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::spec::common::SecretRef;

/// A secret could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The store or key does not exist (for this project).
    #[error("secret {store}/{key} not found in project {project}")]
    NotFound {
        /// The project.
        project: String,
        /// The SecretStore's name.
        store: String,
        /// The key.
        key: String,
    },
    /// The secrets source could not be read.
    #[error("cannot read secrets from {source_name}: {message}")]
    Source {
        /// Where from.
        source_name: String,
        /// What failed (never a secret value).
        message: String,
    },
}

/// Resolves secret references to values.
pub trait SecretResolver: Send + Sync {
    /// The value of `reference` for a resource of `project`.
    fn resolve(&self, project: &str, reference: &SecretRef) -> Result<String, SecretError>;
}

/// Resolves every secret to a placeholder, for showing an SDL without its secrets.
#[derive(Debug, Default, Clone, Copy)]
pub struct RedactingResolver;

/// What [`RedactingResolver`] puts in place of a secret value.
pub const REDACTED: &str = "<redacted>";

impl SecretResolver for RedactingResolver {
    fn resolve(&self, _project: &str, _reference: &SecretRef) -> Result<String, SecretError> {
        Ok(REDACTED.to_string())
    }
}

/// Secrets from a YAML file: `project: {store: {KEY: value}}`.
#[derive(Clone, Default)]
pub struct FileSecrets {
    values: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
}

impl fmt::Debug for FileSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count: usize = self
            .values
            .values()
            .flat_map(|stores| stores.values())
            .map(BTreeMap::len)
            .sum();
        write!(f, "FileSecrets({count} values, redacted)")
    }
}

impl FileSecrets {
    /// Reads a secrets file.
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let source_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SecretError::Source {
            source_name: source_name.clone(),
            message: e.to_string(),
        })?;
        Self::from_yaml(&source_name, &text)
    }

    /// Parses secrets from YAML text. Errors never quote the text.
    pub fn from_yaml(source_name: &str, text: &str) -> Result<Self, SecretError> {
        let values = serde_yaml::from_str(text).map_err(|e| SecretError::Source {
            source_name: source_name.to_string(),
            message: match e.location() {
                Some(l) => format!(
                    "line {}: expected `project: {{store: {{KEY: value}}}}` with string values",
                    l.line()
                ),
                None => "expected `project: {store: {KEY: value}}` with string values".into(),
            },
        })?;
        Ok(FileSecrets { values })
    }
}

impl SecretResolver for FileSecrets {
    fn resolve(&self, project: &str, r: &SecretRef) -> Result<String, SecretError> {
        self.values
            .get(project)
            .and_then(|s| s.get(&r.store))
            .and_then(|k| k.get(&r.key))
            .cloned()
            .ok_or_else(|| SecretError::NotFound {
                project: project.to_string(),
                store: r.store.clone(),
                key: r.key.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_secrets_resolve_per_project_and_never_show_values() {
        let s = FileSecrets::from_yaml("s.yaml", "p:\n  vault:\n    TOKEN: hunter2\n").unwrap();
        let r = SecretRef {
            store: "vault".into(),
            key: "TOKEN".into(),
        };
        assert_eq!(s.resolve("p", &r).unwrap(), "hunter2");
        assert!(matches!(
            s.resolve("other", &r),
            Err(SecretError::NotFound { .. })
        ));
        assert!(!format!("{s:?}").contains("hunter2"));
        let e = FileSecrets::from_yaml("s.yaml", "p: [hunter2]\n").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
