//! `get` and `describe`.

use std::io::Write;

use anyhow::{anyhow, bail};

use super::{DescribeArgs, GetArgs, Io, Output};
use crate::spec::{ConditionStatus, Kind, Resource, ResourceKey};
use crate::store::{LabelSelector, ListQuery, Store};

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

/// Runs `get`.
pub async fn get(args: &GetArgs, store: &dyn Store, io: &mut Io<'_>) -> anyhow::Result<()> {
    let kind = Kind::parse(&args.kind).map_err(|e| anyhow!("error: {e}"))?;
    let selector: LabelSelector = match &args.selector {
        Some(s) => s.parse().map_err(|e| anyhow!("error: {e}"))?,
        None => LabelSelector::default(),
    };
    let resources = match &args.name {
        Some(name) => {
            let key = ResourceKey::new(kind, &args.project, name);
            match store.get(&key).await? {
                Some(r) => vec![r],
                None => bail!(
                    "error: {}/{name} not found in project {}",
                    kind.singular(),
                    args.project
                ),
            }
        }
        None => {
            store
                .list(&ListQuery {
                    kind: Some(kind),
                    project: (!args.all_projects).then(|| args.project.clone()),
                    selector,
                    ..Default::default()
                })
                .await?
        }
    };
    match args.output {
        Output::Json => {
            let v = if args.name.is_some() {
                serde_json::to_value(&resources[0])?
            } else {
                serde_json::json!({"apiVersion": "v1", "kind": "List", "items": resources})
            };
            writeln!(io.stdout, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        Output::Yaml => {
            for (i, r) in resources.iter().enumerate() {
                if i > 0 {
                    writeln!(io.stdout, "---")?;
                }
                write!(io.stdout, "{}", serde_yaml::to_string(r)?)?;
            }
        }
        Output::Table | Output::Wide => {
            if resources.is_empty() {
                if args.all_projects {
                    writeln!(io.stderr, "No {} found.", kind.plural())?;
                } else {
                    writeln!(
                        io.stderr,
                        "No {} found in project {}.",
                        kind.plural(),
                        args.project
                    )?;
                }
                return Ok(());
            }
            let wide = args.output == Output::Wide;
            let now = chrono::Utc::now();
            let mut header: Vec<String> = Vec::new();
            if args.all_projects {
                header.push("PROJECT".into());
            }
            header.extend(["NAME", "READY", "REASON", "AGE"].map(String::from));
            if wide {
                header.extend(["GENERATION", "OBSERVED", "LABELS"].map(String::from));
            }
            let mut rows = vec![header];
            for r in &resources {
                let (ready, reason) = readiness(r);
                let mut row = Vec::new();
                if args.all_projects {
                    row.push(r.metadata.project.clone());
                }
                row.extend([
                    r.metadata.name.clone(),
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
                rows.push(row);
            }
            write_table(io.stdout, &rows)?;
        }
    }
    Ok(())
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// Runs `describe`.
pub async fn describe(
    args: &DescribeArgs,
    store: &dyn Store,
    io: &mut Io<'_>,
) -> anyhow::Result<()> {
    let kind = Kind::parse(&args.kind).map_err(|e| anyhow!("error: {e}"))?;
    let key = ResourceKey::new(kind, &args.project, &args.name);
    let Some(r) = store.get(&key).await? else {
        bail!(
            "error: {}/{} not found in project {}",
            kind.singular(),
            args.name,
            args.project
        );
    };
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
    let (ready, reason) = readiness(&r);
    let out = &mut *io.stdout;
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
    let events = store.list_events(&key, 20).await?;
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
