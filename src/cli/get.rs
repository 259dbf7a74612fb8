//! `get` (kinds, `all`, `events`, `-w`) and `describe`.

use std::io::Write;

use anyhow::{anyhow, bail};

use std::sync::Arc;

use super::{DescribeArgs, GetArgs, Io, Output};
use crate::spec::{ConditionStatus, Kind, Resource, ResourceKey};
use crate::store::feed::ChangeFeed;
use crate::store::{ChangeOp, LabelSelector, ListQuery, Store, StoreError};

/// A kubectl-style age: `45s`, `12m`, `5h`, `3d`.
pub fn age(since_rfc3339: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(since_rfc3339) else {
        return "?".into();
    };
    let secs = (now - t.with_timezone(&chrono::Utc)).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// READY and REASON columns from the `Ready` condition.
fn readiness(r: &Resource) -> (&'static str, String) {
    match r.status.condition("Ready") {
        Some(c) => (
            match c.status {
                ConditionStatus::True => "True",
                ConditionStatus::False => "False",
                ConditionStatus::Unknown => "Unknown",
            },
            c.reason.clone(),
        ),
        None if r.metadata.deletion_requested_at.is_some() => ("False", "Deleting".into()),
        None => ("Unknown", "Pending".into()),
    }
}

/// Writes rows as left-aligned columns separated by three spaces, like kubectl.
pub fn write_table(out: &mut dyn Write, rows: &[Vec<String>]) -> std::io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 3));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// What a `-o jsonpath=` template prints for this document (see [`super::jsonpath`]), ending
/// in a newline: the template's own last `{"\n"}`, else one added.
fn jsonpath_text(template: &str, value: &serde_json::Value) -> anyhow::Result<String> {
    let t = super::jsonpath::Template::parse(template).map_err(|e| anyhow!("error: {e}"))?;
    let mut text = t.render(value);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// What `get` lists.
enum Target {
    Kind(Kind),
    All,
    Events,
}

fn target(word: &str) -> anyhow::Result<Target> {
    match word.to_ascii_lowercase().as_str() {
        "all" => Ok(Target::All),
        "events" | "event" | "ev" => Ok(Target::Events),
        _ => Kind::parse_among(word, &["all", "events"])
            .map(Target::Kind)
            .map_err(|e| anyhow!("error: {e}; or `all`, `events`")),
    }
}

fn selector_of(s: &Option<String>) -> anyhow::Result<LabelSelector> {
    match s {
        Some(s) => s.parse().map_err(|e| anyhow!("error: {e}")),
        None => Ok(LabelSelector::default()),
    }
}

/// The header and rows of resources (`with_kind`: NAME is `kind/name`).
fn resource_rows(
    resources: &[Resource],
    projects: bool,
    wide: bool,
    with_kind: bool,
) -> Vec<Vec<String>> {
    let now = chrono::Utc::now();
    let mut header: Vec<String> = Vec::new();
    if projects {
        header.push("PROJECT".into());
    }
    header.extend(["NAME", "READY", "REASON", "AGE"].map(String::from));
    if wide {
        header.extend(["GENERATION", "OBSERVED", "LABELS"].map(String::from));
    }
    let mut rows = vec![header];
    for r in resources {
        rows.push(resource_row(r, projects, wide, with_kind, now));
    }
    rows
}

fn resource_row(
    r: &Resource,
    projects: bool,
    wide: bool,
    with_kind: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let (ready, reason) = readiness(r);
    let mut row = Vec::new();
    if projects {
        row.push(r.metadata.project.clone());
    }
    row.extend([
        if with_kind {
            format!("{}/{}", r.kind.singular(), r.metadata.name)
        } else {
            r.metadata.name.clone()
        },
        ready.to_string(),
        reason,
        age(&r.metadata.created_at, now),
    ]);
    if wide {
        let labels = r
            .metadata
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        row.extend([
            r.metadata.generation.to_string(),
            r.status
                .observed_generation
                .map_or("-".into(), |g| g.to_string()),
            if labels.is_empty() {
                "<none>".into()
            } else {
                labels
            },
        ]);
    }
    row
}

/// Writes resources in the chosen format. `single`: one resource was asked for by name.
fn write_resources(
    out: &mut dyn Write,
    output: &Output,
    resources: &[Resource],
    single: bool,
    projects: bool,
    with_kind: bool,
) -> anyhow::Result<()> {
    let json = || -> anyhow::Result<serde_json::Value> {
        Ok(if single && resources.len() == 1 {
            serde_json::to_value(&resources[0])?
        } else {
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": resources})
        })
    };
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json()?)?)?,
        Output::JsonPath(expr) => write!(out, "{}", jsonpath_text(expr, &json()?)?)?,
        Output::Yaml => {
            for (i, r) in resources.iter().enumerate() {
                if i > 0 {
                    writeln!(out, "---")?;
                }
                write!(out, "{}", serde_yaml::to_string(r)?)?;
            }
        }
        Output::Name => {
            for r in resources {
                writeln!(out, "{}/{}", r.kind.singular(), r.metadata.name)?;
            }
        }
        Output::Table | Output::Wide => {
            let rows = resource_rows(resources, projects, *output == Output::Wide, with_kind);
            write_table(out, &rows)?;
        }
    }
    Ok(())
}

/// Runs `get`.
pub async fn get(args: &GetArgs, store: Arc<dyn Store>, io: &mut Io<'_>) -> anyhow::Result<()> {
    let project = args.project.project.as_str();
    let selector = selector_of(&args.selector)?;
    let what = target(&args.kind)?;
    if args.event_name.is_some() && !matches!(what, Target::Events) {
        bail!("error: a third argument is only for `get events KIND NAME`");
    }
    if matches!(what, Target::Events) {
        if args.watch {
            bail!("error: `get events` does not take --watch");
        }
        return events(args, &*store, io).await;
    }
    // Read before the list: a change committed meanwhile is printed again, never missed.
    let start = if args.watch {
        store.latest_change().await?
    } else {
        0
    };
    let kind = match what {
        Target::Kind(k) => Some(k),
        _ => None,
    };
    let projects = args.all_projects;
    let scope = (!args.all_projects).then(|| project.to_string());
    let resources = match (&args.name, kind) {
        (Some(_), None) => bail!("error: `get all` takes no NAME; name a kind"),
        (Some(name), Some(kind)) if args.all_projects => {
            let found: Vec<Resource> = store
                .list(&ListQuery {
                    kind: Some(kind),
                    ..Default::default()
                })
                .await?
                .into_iter()
                .filter(|r| &r.metadata.name == name)
                .collect();
            if found.is_empty() && !args.watch {
                bail!("error: {}/{name} not found in any project", kind.singular());
            }
            found
        }
        (Some(name), Some(kind)) => {
            let key = ResourceKey::new(kind, project, name);
            match store.get(&key).await? {
                Some(r) => vec![r],
                None if args.watch => Vec::new(),
                None => bail!(
                    "error: {}/{name} not found in project {project}",
                    kind.singular()
                ),
            }
        }
        (None, kind) => {
            store
                .list(&ListQuery {
                    kind,
                    project: scope.clone(),
                    selector: selector.clone(),
                    ..Default::default()
                })
                .await?
        }
    };
    let with_kind = kind.is_none();
    let single = args.name.is_some() && !args.all_projects;
    if resources.is_empty() && matches!(args.output, Output::Table | Output::Wide | Output::Name) {
        let what = kind.map_or("resources", |k| k.plural());
        if args.all_projects {
            writeln!(io.stderr, "No {what} found.")?;
        } else {
            writeln!(io.stderr, "No {what} found in project {project}.")?;
        }
    } else {
        write_resources(
            io.stdout,
            &args.output,
            &resources,
            single || (args.name.is_some() && resources.len() == 1),
            projects,
            with_kind,
        )?;
    }
    if !args.watch {
        return Ok(());
    }
    io.stdout.flush()?;
    let filter = WatchFilter {
        kind,
        project: scope,
        name: args.name.clone(),
        selector,
    };
    watch(args, store, start, &filter, projects, io).await
}

/// Which changes `get -w` prints.
struct WatchFilter {
    kind: Option<Kind>,
    project: Option<String>,
    name: Option<String>,
    selector: LabelSelector,
}

impl WatchFilter {
    fn wants_key(&self, key: &ResourceKey) -> bool {
        self.kind.is_none_or(|k| k == key.kind)
            && self.project.as_ref().is_none_or(|p| *p == key.project)
            && self.name.as_ref().is_none_or(|n| *n == key.name)
    }
}

/// Follows the change feed from change `start`, printing each change of a wanted resource as
/// a row (a deletion as `Deleted`) or a document, until the process is interrupted.
async fn watch(
    args: &GetArgs,
    store: Arc<dyn Store>,
    start: i64,
    filter: &WatchFilter,
    projects: bool,
    io: &mut Io<'_>,
) -> anyhow::Result<()> {
    let feed = ChangeFeed::new(store.clone());
    let mut cursor = feed.cursor(start);
    let with_kind = filter.kind.is_none();
    let wide = args.output == Output::Wide;
    loop {
        let changes = match cursor.next_batch(200).await {
            Ok(c) => c,
            Err(StoreError::Expired { .. }) => {
                writeln!(
                    io.stderr,
                    "note: the change feed moved past this watch; continuing from the latest change"
                )?;
                cursor.reset(store.latest_change().await?);
                continue;
            }
            Err(e) => bail!("error: {e}"),
        };
        for change in changes {
            if !filter.wants_key(&change.key) {
                continue;
            }
            let now = chrono::Utc::now();
            match change.op {
                ChangeOp::Upsert => {
                    // The latest state; a later change of the same resource prints it again.
                    let Some(r) = store.get(&change.key).await? else {
                        continue;
                    };
                    if !filter.selector.matches(&r.metadata.labels) {
                        continue;
                    }
                    match &args.output {
                        Output::Table | Output::Wide => {
                            let row = resource_row(&r, projects, wide, with_kind, now);
                            write_table(io.stdout, &[row])?;
                        }
                        Output::Yaml => {
                            writeln!(io.stdout, "---")?;
                            write!(io.stdout, "{}", serde_yaml::to_string(&r)?)?;
                        }
                        other => write_resources(
                            io.stdout,
                            other,
                            std::slice::from_ref(&r),
                            true,
                            projects,
                            with_kind,
                        )?,
                    }
                }
                ChangeOp::Delete => {
                    let k = &change.key;
                    match &args.output {
                        Output::Table | Output::Wide => {
                            let mut row = Vec::new();
                            if projects {
                                row.push(k.project.clone());
                            }
                            row.push(if with_kind {
                                format!("{}/{}", k.kind.singular(), k.name)
                            } else {
                                k.name.clone()
                            });
                            row.extend(["False", "Deleted", "-"].map(String::from));
                            write_table(io.stdout, &[row])?;
                        }
                        Output::Name => writeln!(io.stdout, "{}/{}", k.kind.singular(), k.name)?,
                        _ => writeln!(
                            io.stdout,
                            "{}",
                            serde_json::json!({"type": "DELETED", "kind": k.kind.as_str(), "metadata": {"name": k.name, "project": k.project, "uid": change.uid}})
                        )?,
                    }
                }
            }
            io.stdout.flush()?;
        }
    }
}

/// `get events [KIND NAME]`: the recent events of one resource, or of every resource in the
/// project (or every project), oldest first.
async fn events(args: &GetArgs, store: &dyn Store, io: &mut Io<'_>) -> anyhow::Result<()> {
    let project = args.project.project.as_str();
    let keys: Vec<ResourceKey> = match (&args.name, &args.event_name) {
        (Some(kind), Some(name)) => {
            let kind = Kind::parse(kind).map_err(|e| anyhow!("error: {e}"))?;
            let key = ResourceKey::new(kind, project, name);
            if store.get(&key).await?.is_none() {
                bail!(
                    "error: {}/{name} not found in project {project}",
                    kind.singular()
                );
            }
            vec![key]
        }
        (Some(_), None) => bail!("error: name the resource: `get events KIND NAME`"),
        _ => store
            .list(&ListQuery {
                project: (!args.all_projects).then(|| project.to_string()),
                selector: selector_of(&args.selector)?,
                ..Default::default()
            })
            .await?
            .iter()
            .map(Resource::key)
            .collect(),
    };
    let mut all = Vec::new();
    for key in keys {
        for e in store.list_events(&key, EVENTS_SHOWN).await? {
            all.push((key.clone(), e));
        }
    }
    all.sort_by(|a, b| a.1.at.cmp(&b.1.at).then(a.1.id.cmp(&b.1.id)));
    match &args.output {
        Output::Table | Output::Wide => {
            if all.is_empty() {
                writeln!(io.stderr, "No events found.")?;
                return Ok(());
            }
            let now = chrono::Utc::now();
            let mut header: Vec<String> = Vec::new();
            if args.all_projects {
                header.push("PROJECT".into());
            }
            header.extend(["AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"].map(String::from));
            let mut rows = vec![header];
            for (k, e) in &all {
                let mut row = Vec::new();
                if args.all_projects {
                    row.push(k.project.clone());
                }
                row.extend([
                    age(&e.at, now),
                    e.type_.clone(),
                    e.reason.clone(),
                    format!("{}/{}", k.kind.singular(), k.name),
                    e.message.clone(),
                ]);
                rows.push(row);
            }
            write_table(io.stdout, &rows)?;
        }
        output => {
            let items: Vec<serde_json::Value> = all
                .iter()
                .map(|(k, e)| {
                    serde_json::json!({
                        "type": e.type_, "reason": e.reason, "message": e.message, "at": e.at,
                        "involvedObject": {"kind": k.kind.as_str(), "project": k.project, "name": k.name},
                    })
                })
                .collect();
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            match output {
                Output::Json => writeln!(io.stdout, "{}", serde_json::to_string_pretty(&list)?)?,
                Output::Yaml => write!(io.stdout, "{}", serde_yaml::to_string(&list)?)?,
                Output::JsonPath(expr) => write!(io.stdout, "{}", jsonpath_text(expr, &list)?)?,
                _ => {
                    for (k, e) in &all {
                        writeln!(io.stdout, "event/{}.{}.{}", k.kind.singular(), k.name, e.id)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Events shown per resource by `get events` and `describe`.
const EVENTS_SHOWN: i64 = 20;

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// Runs `describe`: one resource, or every resource of the kind (matching -l), separated by
/// a blank line; with `-A`, in every project (a NAME: wherever it exists).
pub async fn describe(
    args: &DescribeArgs,
    store: &dyn Store,
    io: &mut Io<'_>,
) -> anyhow::Result<()> {
    let kind = Kind::parse(&args.kind).map_err(|e| anyhow!("error: {e}"))?;
    let project = args.project.project.as_str();
    let resources = match &args.name {
        Some(name) if args.all_projects => {
            let found: Vec<Resource> = store
                .list(&ListQuery {
                    kind: Some(kind),
                    ..Default::default()
                })
                .await?
                .into_iter()
                .filter(|r| &r.metadata.name == name)
                .collect();
            if found.is_empty() {
                bail!("error: {}/{name} not found in any project", kind.singular());
            }
            found
        }
        Some(name) => {
            let key = ResourceKey::new(kind, project, name);
            let Some(r) = store.get(&key).await? else {
                bail!(
                    "error: {}/{name} not found in project {project}",
                    kind.singular()
                );
            };
            vec![r]
        }
        None => {
            store
                .list(&ListQuery {
                    kind: Some(kind),
                    project: (!args.all_projects).then(|| project.to_string()),
                    selector: selector_of(&args.selector)?,
                    ..Default::default()
                })
                .await?
        }
    };
    if resources.is_empty() {
        if args.all_projects {
            writeln!(io.stderr, "No {} found.", kind.plural())?;
        } else {
            writeln!(
                io.stderr,
                "No {} found in project {project}.",
                kind.plural()
            )?;
        }
    }
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            writeln!(io.stdout)?;
        }
        describe_one(r, store, io.stdout).await?;
    }
    Ok(())
}

async fn describe_one(r: &Resource, store: &dyn Store, out: &mut dyn Write) -> anyhow::Result<()> {
    let kind = r.kind;
    let key = r.key();
    let now = chrono::Utc::now();
    let m = &r.metadata;
    let labels = if m.labels.is_empty() {
        "<none>".to_string()
    } else {
        m.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (ready, reason) = readiness(r);
    let rows = vec![
        vec!["Name:".to_string(), m.name.clone()],
        vec!["Project:".into(), m.project.clone()],
        vec!["Kind:".into(), kind.as_str().into()],
        vec!["Labels:".into(), labels],
        vec!["UID:".into(), m.uid.clone()],
        vec!["Generation:".into(), m.generation.to_string()],
        vec![
            "Observed Generation:".into(),
            r.status
                .observed_generation
                .map_or("<none>".into(), |g| g.to_string()),
        ],
        vec!["Resource Version:".into(), m.resource_version.to_string()],
        vec![
            "Created:".into(),
            format!("{} ({} ago)", m.created_at, age(&m.created_at, now)),
        ],
        vec![
            "Deletion Requested:".into(),
            m.deletion_requested_at.clone().unwrap_or("<none>".into()),
        ],
        vec![
            "Finalizers:".into(),
            if m.finalizers.is_empty() {
                "<none>".into()
            } else {
                m.finalizers.join(", ")
            },
        ],
        vec!["Ready:".into(), format!("{ready} ({reason})")],
    ];
    write_table(out, &rows)?;
    writeln!(out, "Spec:")?;
    write!(out, "{}", indent(&serde_yaml::to_string(&r.spec)?, 2))?;
    writeln!(out, "Status:")?;
    if !r.status.facts.is_empty() {
        write!(
            out,
            "{}",
            indent(&serde_yaml::to_string(&r.status.facts)?, 2)
        )?;
    }
    writeln!(out, "Conditions:")?;
    if r.status.conditions.is_empty() {
        writeln!(out, "  <none>")?;
    } else {
        let mut rows = vec![["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"]
            .map(String::from)
            .to_vec()];
        for c in &r.status.conditions {
            rows.push(vec![
                c.type_.clone(),
                format!("{:?}", c.status),
                c.reason.clone(),
                age(&c.last_transition_time, now),
                c.message.clone(),
            ]);
        }
        let mut buf = Vec::new();
        write_table(&mut buf, &rows)?;
        write!(out, "{}", indent(&String::from_utf8_lossy(&buf), 2))?;
    }
    writeln!(out, "Events:")?;
    let events = store.list_events(&key, EVENTS_SHOWN).await?;
    if events.is_empty() {
        writeln!(out, "  <none>")?;
    } else {
        let mut rows = vec![["TYPE", "REASON", "AGE", "MESSAGE"]
            .map(String::from)
            .to_vec()];
        for e in &events {
            rows.push(vec![
                e.type_.clone(),
                e.reason.clone(),
                age(&e.at, now),
                e.message.clone(),
            ]);
        }
        let mut buf = Vec::new();
        write_table(&mut buf, &rows)?;
        write!(out, "{}", indent(&String::from_utf8_lossy(&buf), 2))?;
    }
    Ok(())
}
