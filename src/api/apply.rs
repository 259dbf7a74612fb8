//! The write path of the API: documents through the same [`Loader`] and [`Store::apply`] as
//! `af-operator apply`, plus the project rules of tokens.
//!
//! A document that names no project gets the caller's project. A project token may not
//! apply a document naming another project: the whole apply is refused as `FORBIDDEN`, with
//! the document, line, column and `metadata.project` path. (The refusal names only the
//! project the caller itself wrote, so it reveals nothing about other projects.)

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::Value;
use tokio::sync::Semaphore;

use super::auth::Caller;
use super::error::{ApiError, Problem};
use crate::spec::load::{LoadedDocument, Loader};
use crate::spec::yaml::{parse_stream, ExpansionLimits, FieldPath, YamlDocument};
use crate::spec::{Kind, ResourceInput, ResourceKey, DEFAULT_PROJECT};
use crate::store::{Applied, ListQuery, Store, StoreError};

/// What the documents of one API request may expand to: anyone with a token may send them,
/// and real specs are a few hundred nodes each.
pub const API_EXPANSION: ExpansionLimits = ExpansionLimits {
    document_nodes: 10_000,
    document_bytes: 1 << 20,
    total_nodes: 50_000,
    total_bytes: 4 << 20,
};

fn label(i: usize) -> String {
    format!("documents[{i}]")
}

/// What the loader saw of a document's `metadata.project`.
enum ProjectField {
    Absent,
    Named { line: usize, column: usize },
}

/// Whether the document at `loaded.position` names a project itself (the loader fills in
/// `default` when it does not, so the two look alike afterwards). `docs` is the text parsed
/// again, once per text.
fn project_field(docs: &[YamlDocument], loaded: &LoadedDocument) -> ProjectField {
    let path = FieldPath::root().key("metadata").key("project");
    match docs.iter().find(|d| d.start == loaded.position) {
        // `project: null` (or `~`) is the same as no project: the caller's.
        Some(d)
            if d.value
                .pointer("/metadata/project")
                .is_some_and(|v| !v.is_null()) =>
        {
            let p = d.position_of(&path);
            ProjectField::Named {
                line: p.line,
                column: p.column,
            }
        }
        Some(_) => ProjectField::Absent,
        // Cannot happen (the loader parsed the same text); the document's start is the best
        // place to point at.
        None => ProjectField::Named {
            line: loaded.position.line,
            column: loaded.position.column,
        },
    }
}

/// The documents of text `i`, parsed at most once per apply.
fn reparsed<'a>(
    cache: &'a mut HashMap<usize, Vec<YamlDocument>>,
    documents: &[String],
    i: usize,
) -> &'a [YamlDocument] {
    cache.entry(i).or_insert_with(|| {
        documents
            .get(i)
            .and_then(|t| parse_stream(t).ok())
            .unwrap_or_default()
    })
}

/// Validates documents exactly as `af-operator apply` does (the SDL they render included)
/// and applies the caller's project rules: the resources to write. Pure computation, run on
/// the blocking pool.
fn prepare(caller: &Caller, documents: &[String]) -> Result<Vec<ResourceInput>, ApiError> {
    let mut loader = Loader::with_limits(API_EXPANSION).checking(crate::render::deploy_problems);
    let labels: HashMap<String, usize> = (0..documents.len()).map(|i| (label(i), i)).collect();
    for (i, text) in documents.iter().enumerate() {
        loader.add_text(&label(i), text);
    }
    let index = |l: &str| labels.get(l).copied().unwrap_or(0);
    let loaded = loader
        .finish()
        .map_err(|e| ApiError::InvalidSpec(Problem::from_load_errors(&e, index)))?;

    let mut forbidden = Vec::new();
    let mut duplicates = Vec::new();
    let mut seen = HashSet::new();
    let mut parsed: HashMap<usize, Vec<YamlDocument>> = HashMap::new();
    let mut inputs: Vec<ResourceInput> = Vec::with_capacity(loaded.len());
    for doc in loaded {
        let i = index(&doc.file);
        let mut input = doc.input.clone();
        // Only the document itself can name a project other than the default; `default`
        // may be named or filled in by the loader, so look.
        let named = input.key.project != DEFAULT_PROJECT
            || matches!(
                project_field(reparsed(&mut parsed, documents, i), &doc),
                ProjectField::Named { .. }
            );
        if !named {
            input.key.project = caller.project.clone();
        } else if !caller.may_access(&input.key.project) {
            let (line, column) = match project_field(reparsed(&mut parsed, documents, i), &doc) {
                ProjectField::Named { line, column } => (line, column),
                ProjectField::Absent => (doc.position.line, doc.position.column),
            };
            forbidden.push(Problem {
                document: Some(i),
                line: Some(line),
                column: Some(column),
                path: Some("metadata.project".into()),
                message: format!(
                    "this token may only apply resources of project `{}`; the document names project `{}`",
                    caller.project, input.key.project
                ),
            });
            continue;
        }
        if !seen.insert(input.key.clone()) {
            duplicates.push(Problem {
                document: Some(i),
                line: Some(doc.position.line),
                column: Some(doc.position.column),
                path: None,
                message: format!(
                    "duplicate document: {} appears more than once (a document without a project is in project `{}`); one apply may hold each resource once",
                    input.key, caller.project
                ),
            });
        }
        inputs.push(input);
    }
    if !forbidden.is_empty() {
        return Err(ApiError::Forbidden(forbidden));
    }
    if !duplicates.is_empty() {
        return Err(ApiError::InvalidSpec(duplicates));
    }
    Ok(inputs)
}

/// How many documents are validated at once (each on a thread of the blocking pool); more
/// wait their turn, so that expensive documents cannot occupy every thread.
fn loader_permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores.clamp(1, 4))
    })
}

/// [`prepare`] off the async runtime, holding no database connection.
async fn prepare_off_runtime(
    caller: &Caller,
    documents: &[String],
) -> Result<Vec<ResourceInput>, ApiError> {
    let _permit = loader_permits()
        .acquire()
        .await
        .map_err(|e| ApiError::internal("the loader's permits are closed", &e))?;
    let (caller, documents) = (caller.clone(), documents.to_vec());
    tokio::task::spawn_blocking(move || prepare(&caller, &documents))
        .await
        .map_err(|e| ApiError::internal("the spec loader failed", &e))?
}

/// A note about an applied resource that does not stop the apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The resource it is about.
    pub key: ResourceKey,
    /// What to look at.
    pub message: String,
}

impl Warning {
    /// `agent/api (project p): message`.
    pub fn line_text(&self) -> String {
        format!(
            "{}/{} (project {}): {}",
            self.key.kind.singular(),
            self.key.name,
            self.key.project,
            self.message
        )
    }
}

fn secret_stores_named(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(store) = m
                .get("secretRef")
                .and_then(|r| r.get("store"))
                .and_then(Value::as_str)
            {
                out.insert(store.to_string());
            }
            m.values().for_each(|v| secret_stores_named(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| secret_stores_named(v, out)),
        _ => {}
    }
}

/// Warnings for `secretRef`s that name a SecretStore neither stored nor in `inputs`. Not
/// errors: the store may be applied next (the order of applies must not matter), and the
/// resource waits for it. One listing per project.
pub async fn secret_ref_warnings(
    store: &dyn Store,
    inputs: &[ResourceInput],
) -> Result<Vec<Warning>, StoreError> {
    let applied: HashSet<&ResourceKey> = inputs.iter().map(|i| &i.key).collect();
    let mut known: HashMap<String, HashSet<String>> = HashMap::new();
    let mut out = Vec::new();
    for input in inputs {
        let mut names = BTreeSet::new();
        secret_stores_named(&input.spec.to_value(), &mut names);
        let project = &input.key.project;
        for name in names {
            if applied.contains(&ResourceKey::new(Kind::SecretStore, project, &name)) {
                continue;
            }
            if !known.contains_key(project) {
                let stores = store
                    .list(&ListQuery {
                        kind: Some(Kind::SecretStore),
                        project: Some(project.clone()),
                        ..Default::default()
                    })
                    .await?;
                known.insert(
                    project.clone(),
                    stores.into_iter().map(|r| r.metadata.name).collect(),
                );
            }
            if !known.get(project).is_some_and(|k| k.contains(&name)) {
                out.push(Warning {
                    key: input.key.clone(),
                    message: format!(
                        "a secretRef names SecretStore `{name}`, which does not exist in project `{project}`; the resource waits until it is applied"
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// Validates documents exactly as `af-operator apply` does, applies the caller's project
/// rules, and writes them in one transaction (all or nothing).
pub async fn apply_documents(
    store: &dyn Store,
    caller: &Caller,
    documents: &[String],
) -> Result<Vec<Applied>, ApiError> {
    let inputs = prepare_off_runtime(caller, documents).await?;
    store.apply(&inputs).await.map_err(ApiError::from_store)
}

/// As [`apply_documents`], with the warnings about what was applied.
pub async fn apply_documents_warned(
    store: &dyn Store,
    caller: &Caller,
    documents: &[String],
) -> Result<(Vec<Applied>, Vec<Warning>), ApiError> {
    let inputs = prepare_off_runtime(caller, documents).await?;
    let warnings = secret_ref_warnings(store, &inputs)
        .await
        .map_err(ApiError::from_store)?;
    let applied = store.apply(&inputs).await.map_err(ApiError::from_store)?;
    Ok((applied, warnings))
}

/// Applies one document built from structured input (the `AFFunction` mutations). Problems
/// are reported at the input's field paths (`spec.x` → `data.x`, `metadata.name` →
/// `data.name`) without lines, since the client wrote no text.
pub async fn apply_built(
    store: &dyn Store,
    caller: &Caller,
    document: &Value,
) -> Result<Applied, ApiError> {
    let text = serde_json::to_string_pretty(document)
        .map_err(|e| ApiError::internal("cannot serialise a built document", &e))?;
    let result = apply_documents(store, caller, &[text]).await;
    let restate = |problems: Vec<Problem>| -> Vec<Problem> {
        problems
            .into_iter()
            .map(|p| Problem {
                document: None,
                line: None,
                column: None,
                path: p.path.map(|path| {
                    if let Some(rest) = path.strip_prefix("spec.") {
                        format!("data.{rest}")
                    } else if path == "spec" {
                        "data".to_string()
                    } else if let Some(rest) = path.strip_prefix("metadata.") {
                        format!("data.{rest}")
                    } else {
                        path
                    }
                }),
                message: p.message,
            })
            .collect()
    };
    match result {
        Ok(mut applied) if applied.len() == 1 => Ok(applied.remove(0)),
        Ok(_) => Err(ApiError::internal(
            "a built document did not apply exactly one resource",
            &"unexpected apply result",
        )),
        Err(ApiError::InvalidSpec(p)) => Err(ApiError::InvalidSpec(restate(p))),
        Err(ApiError::Forbidden(p)) => Err(ApiError::Forbidden(restate(p))),
        Err(e) => Err(e),
    }
}
