//! `apply`, `diff` and `delete`.

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use super::{files, ApplyArgs, DeleteArgs, FileArgs, Io};
use crate::api::apply::secret_ref_warnings;
use crate::spec::load::Loader;
use crate::spec::{Kind, ResourceInput, ResourceKey};
use crate::store::{ApplyOutcome, Deletion, LabelSelector, ListQuery, Store, StoreError};

/// Runs `apply`: all documents in one transaction, or (`--dry-run`) what that would do;
/// `--prune` then deletes what the selector matches and the files no longer hold.
pub async fn apply(args: &ApplyArgs, store: &dyn Store, io: &mut Io<'_>) -> anyhow::Result<()> {
    let f = &args.files;
    // As the API's apply: a spec whose SDL Akash would refuse is refused here, at its field.
    let loader = Loader::new().checking(crate::render::deploy_problems);
    let docs = match files::load_with(loader, &f.files, f.recursive, io.stdin)? {
        Ok(d) => d,
        Err(errors) => {
            writeln!(io.stderr, "{errors}")?;
            bail!(
                "error: {} problem{} found; nothing was applied",
                errors.0.len(),
                if errors.0.len() == 1 { "" } else { "s" }
            );
        }
    };
    if docs.is_empty() {
        // As kubectl ("error: no objects passed to apply"): an empty input is a mistake (a
        // wrong file, an empty pipe), not a successful apply of nothing.
        bail!("error: no resources in input; nothing was applied");
    }
    let selector: LabelSelector = match &args.selector {
        Some(s) => s.parse().map_err(|e| anyhow!("error: {e}"))?,
        None => LabelSelector::default(),
    };
    let inputs: Vec<ResourceInput> = docs
        .into_iter()
        .map(|d| d.input)
        .filter(|i| selector.matches(&i.labels))
        .collect();
    let suffix = if args.dry_run { " (dry run)" } else { "" };
    if args.dry_run {
        for input in &inputs {
            let outcome = dry_outcome(store, input).await?;
            writeln!(
                io.stdout,
                "{}/{} {}{suffix}",
                input.key.kind.singular(),
                input.key.name,
                outcome.as_str()
            )?;
        }
    } else {
        for w in secret_ref_warnings(store, &inputs).await? {
            writeln!(io.stderr, "Warning: {}", w.line_text())?;
        }
        let results = store
            .apply(&inputs)
            .await
            .map_err(|e| anyhow!("error: {e}"))?;
        for r in results {
            writeln!(
                io.stdout,
                "{}/{} {}",
                r.key.kind.singular(),
                r.key.name,
                r.outcome.as_str()
            )?;
        }
    }
    if !args.prune {
        return Ok(());
    }
    // The projects the files name: pruning never reaches into a project they do not.
    let mut projects: Vec<&str> = inputs.iter().map(|i| i.key.project.as_str()).collect();
    projects.sort_unstable();
    projects.dedup();
    if projects.is_empty() {
        bail!("error: --prune: no document matches the selector, so no project to prune in");
    }
    let held: std::collections::HashSet<&ResourceKey> = inputs.iter().map(|i| &i.key).collect();
    for project in projects {
        let live = store
            .list(&ListQuery {
                project: Some(project.to_string()),
                selector: selector.clone(),
                ..Default::default()
            })
            .await?;
        for r in live {
            let key = r.key();
            if held.contains(&key) || r.metadata.deletion_requested_at.is_some() {
                continue;
            }
            if !args.dry_run {
                store
                    .request_deletion(&key)
                    .await
                    .map_err(|e| anyhow!("error: pruning {key}: {e}"))?;
            }
            writeln!(
                io.stdout,
                "{}/{} pruned{suffix}",
                key.kind.singular(),
                key.name
            )?;
        }
    }
    Ok(())
}

/// What applying `input` would do, by the store's rules (spec or labels changed:
/// configured), with its refusals: a stale resourceVersion, a resource being deleted.
async fn dry_outcome(store: &dyn Store, input: &ResourceInput) -> anyhow::Result<ApplyOutcome> {
    let live = store.get(&input.key).await?;
    if let Some(expected) = input.resource_version {
        let actual = live.as_ref().map_or(0, |r| r.metadata.resource_version);
        if expected != actual {
            bail!(
                "error: {}",
                StoreError::Conflict {
                    key: input.key.clone(),
                    expected,
                    actual
                }
            );
        }
    }
    Ok(match live {
        None => ApplyOutcome::Created,
        Some(r) if r.metadata.deletion_requested_at.is_some() => {
            bail!("error: {}", StoreError::BeingDeleted(input.key.clone()))
        }
        Some(r) if r.spec == input.spec.to_value() && r.metadata.labels == input.labels => {
            ApplyOutcome::Unchanged
        }
        Some(_) => ApplyOutcome::Configured,
    })
}

/// What `diff` shows of a resource: the user-controlled parts.
fn comparable(labels: &std::collections::BTreeMap<String, String>, spec: &Value) -> Value {
    let mut metadata = serde_json::Map::new();
    if !labels.is_empty() {
        metadata.insert("labels".into(), json!(labels));
    }
    json!({"metadata": metadata, "spec": spec})
}

fn yaml_text(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap_or_default()
}

/// Runs `diff`: exit 0 when nothing would change, 1 when something would, 2 on error.
pub async fn diff(args: &FileArgs, store: &dyn Store, io: &mut Io<'_>) -> i32 {
    let docs = match files::load(&args.files, args.recursive, io.stdin) {
        Ok(Ok(d)) => d,
        Ok(Err(errors)) => {
            let _ = writeln!(io.stderr, "{errors}");
            return 2;
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            return 2;
        }
    };
    let mut changed = false;
    for d in docs {
        let key = &d.input.key;
        let live = match store.get(key).await {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e}");
                return 2;
            }
        };
        let old = live
            .as_ref()
            .map(|r| yaml_text(&comparable(&r.metadata.labels, &r.spec)))
            .unwrap_or_default();
        let new = yaml_text(&comparable(&d.input.labels, &d.input.spec.to_value()));
        if old == new {
            continue;
        }
        changed = true;
        let name = format!("{}/{}", key.kind.singular(), key.name);
        let text = similar::TextDiff::from_lines(&old, &new);
        let live_label = if live.is_some() {
            format!("{name} (live, project {})", key.project)
        } else {
            format!("{name} (absent, project {})", key.project)
        };
        let _ = write!(
            io.stdout,
            "{}",
            text.unified_diff()
                .context_radius(3)
                .header(&live_label, &format!("{name} (merged)"))
        );
    }
    i32::from(changed)
}

/// The refusal of `delete KIND NAME -A`. Names are unique per project only, so a name with
/// every project could delete several unrelated resources at once; kubectl refuses it too
/// ("a resource cannot be retrieved by name across all namespaces"). The message names the
/// projects that hold the name, so the user can pick one.
async fn refuse_name_in_every_project(kind: Kind, name: &str, store: &dyn Store) -> anyhow::Error {
    let label = format!("{}/{name}", kind.singular());
    let holders: Vec<String> = match store
        .list(&ListQuery {
            kind: Some(kind),
            ..Default::default()
        })
        .await
    {
        Ok(all) => all
            .into_iter()
            .filter(|r| r.metadata.name == name)
            .map(|r| r.metadata.project)
            .collect(),
        Err(e) => return anyhow!("error: {e}"),
    };
    let where_ = match holders.as_slice() {
        [] => "no project holds it".to_string(),
        [one] => format!("it is in project {one}"),
        many => format!("it is in projects {}", many.join(", ")),
    };
    let example = holders.first().map_or("PROJECT", String::as_str);
    anyhow!(
        "error: `delete` does not take a NAME with -A ({label}: {where_}); delete it in one project with \
         `delete {} {name} --project {example}`, or select by label in every project with `-l SELECTOR -A`",
        kind.singular()
    )
}

/// Runs `delete`: by KIND NAME, by KIND -l SELECTOR or by files; then (unless
/// `--wait=false`) waits until every resource is gone.
pub async fn delete(args: &DeleteArgs, store: &dyn Store, io: &mut Io<'_>) -> anyhow::Result<()> {
    let project = args.project.project.as_str();
    let keys: Vec<ResourceKey> = if !args.files.is_empty() {
        match files::load(&args.files, args.recursive, io.stdin)? {
            Ok(d) => d.into_iter().map(|d| d.input.key).collect(),
            Err(errors) => {
                writeln!(io.stderr, "{errors}")?;
                bail!("error: invalid documents; nothing was deleted");
            }
        }
    } else {
        let Some(kind) = &args.kind else {
            bail!("error: name a KIND and NAME, a KIND with -l SELECTOR, or files with -f");
        };
        let kind = Kind::parse(kind).map_err(|e| anyhow!("error: {e}"))?;
        match (&args.name, &args.selector) {
            (Some(name), _) if args.all_projects => {
                return Err(refuse_name_in_every_project(kind, name, store).await);
            }
            (Some(name), _) => vec![ResourceKey::new(kind, project, name)],
            (None, Some(sel)) => {
                let selector: LabelSelector = sel.parse().map_err(|e| anyhow!("error: {e}"))?;
                let found: Vec<ResourceKey> = store
                    .list(&ListQuery {
                        kind: Some(kind),
                        project: (!args.all_projects).then(|| project.to_string()),
                        selector,
                        ..Default::default()
                    })
                    .await?
                    .iter()
                    .map(|r| r.key())
                    .collect();
                if found.is_empty() {
                    if args.all_projects {
                        writeln!(io.stderr, "No {} matching {sel} found.", kind.plural())?;
                    } else {
                        writeln!(
                            io.stderr,
                            "No {} matching {sel} in project {project}.",
                            kind.plural()
                        )?;
                    }
                }
                found
            }
            (None, None) => bail!(
                "error: name the {} to delete, or select them with -l",
                kind.singular()
            ),
        }
    };
    let mut failed = false;
    let mut pending = Vec::new();
    // With -A the same name can go in several projects: say which.
    let label_of = |key: &ResourceKey| {
        if args.all_projects {
            format!(
                "{}/{} (project {})",
                key.kind.singular(),
                key.name,
                key.project
            )
        } else {
            format!("{}/{}", key.kind.singular(), key.name)
        }
    };
    for key in &keys {
        let label = label_of(key);
        match store.request_deletion(key).await {
            Ok(Deletion::Deleted) => writeln!(io.stdout, "{label} deleted")?,
            Ok(Deletion::Requested | Deletion::AlreadyRequested) => {
                writeln!(io.stdout, "{label} deletion requested")?;
                pending.push(key.clone());
            }
            Err(StoreError::NotFound(_)) if args.ignore_not_found => {}
            Err(StoreError::NotFound(_)) => {
                writeln!(
                    io.stderr,
                    "error: {label} not found in project {}",
                    key.project
                )?;
                failed = true;
            }
            Err(e) => bail!("error: {e}"),
        }
    }
    if args.wait && !pending.is_empty() {
        let deadline = tokio::time::Instant::now() + args.timeout;
        let mut cursor = store.latest_change().await?;
        loop {
            let mut left = Vec::new();
            for key in &pending {
                if store.get(key).await?.is_some() {
                    left.push(key.clone());
                } else {
                    writeln!(io.stdout, "{} deleted", label_of(key))?;
                }
            }
            pending = left;
            if pending.is_empty() {
                break;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                bail!(
                    "error: timed out waiting for {} to be deleted (finalizers still running)",
                    pending
                        .iter()
                        .map(|k| format!("{}/{}", k.kind.singular(), k.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            store
                .wait_for_change(
                    cursor,
                    (deadline - now).min(std::time::Duration::from_secs(2)),
                )
                .await?;
            cursor = store.latest_change().await?;
        }
    }
    if failed {
        bail!("error: some resources were not found");
    }
    Ok(())
}
