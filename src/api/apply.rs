//! The write path of the API: documents through the same [`Loader`] and [`Store::apply`] as
//! `af-operator apply`, plus the project rules of tokens.
//!
//! A document that names no project gets the caller's project. A project token may not
//! apply a document naming another project: the whole apply is refused as `FORBIDDEN`, with
//! the document, line, column and `metadata.project` path. (The refusal names only the
//! project the caller itself wrote, so it reveals nothing about other projects.)

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::auth::Caller;
use super::error::{ApiError, Problem};
use crate::spec::load::{LoadedDocument, Loader};
use crate::spec::yaml::{parse_stream, FieldPath, YamlDocument};
use crate::spec::{ResourceInput, DEFAULT_PROJECT};
use crate::store::{Applied, Store};

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
        Some(d) if d.value.pointer("/metadata/project").is_some() => {
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

/// Validates documents exactly as `af-operator apply` does, applies the caller's project
/// rules, and writes them in one transaction (all or nothing).
pub async fn apply_documents(
    store: &dyn Store,
    caller: &Caller,
    documents: &[String],
) -> Result<Vec<Applied>, ApiError> {
    let mut loader = Loader::new();
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
    store.apply(&inputs).await.map_err(ApiError::from_store)
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
