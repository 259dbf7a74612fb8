//! `rollout status|pause|resume|undo function/NAME`: a Function's rollout, as Argo Rollouts
//! users drive theirs. `pause`, `resume` and `undo` edit the spec (`spec.rollout.paused`,
//! `spec.code`) with the resourceVersion they read, so a concurrent change is refused rather
//! than lost; the daemon then does the rest.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, ValueEnum};

use super::{Io, ProjectArg};
use crate::functions::controller::phase;
use crate::functions::FunctionStatus;
use crate::spec::kinds::function::{Rollout, RolloutStrategy};
use crate::spec::{ConditionStatus, Kind, ResourceInput, ResourceKey, Spec};
use crate::store::Store;

/// What to do with the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RolloutAction {
    /// Show versions, step and each node's version and health (`-w`: until it ends).
    Status,
    /// Hold the rollout at its current step.
    Pause,
    /// Go on from where it was paused.
    Resume,
    /// Go back: to the last good version while a rollout is in progress (it stops), else to
    /// the version before the current one (rolled out as any new version is).
    Undo,
}

/// Arguments of `rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// What to do.
    pub action: RolloutAction,
    /// The function: `function/NAME` (or `NAME`).
    pub target: String,
    /// The project.
    #[command(flatten)]
    pub project: ProjectArg,
    /// With `status`: follow the rollout until it ends (exit 0 Ready, 1 Degraded or on
    /// `--timeout`).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// How long `-w` follows.
    #[arg(long, default_value = "10m", value_parser = super::parse_timeout)]
    pub timeout: Duration,
    /// `status` as JSON.
    #[arg(short = 'o', long, value_parser = ["text", "json"], default_value = "text")]
    pub output: String,
}

fn key_of(args: &RolloutArgs) -> anyhow::Result<ResourceKey> {
    let name = match args.target.split_once('/') {
        Some((kind, name)) => {
            let k = Kind::parse(kind).map_err(|e| anyhow!("{e}"))?;
            if k != Kind::Function {
                bail!(
                    "rollouts are of functions: `{}` is a {k}; try `af-operator rollout {} function/NAME`",
                    args.target,
                    format!("{:?}", args.action).to_lowercase()
                );
            }
            name
        }
        None => args.target.as_str(),
    };
    if name.is_empty() {
        bail!("no function named: expected `function/NAME`");
    }
    Ok(ResourceKey::new(
        Kind::Function,
        &args.project.project,
        name,
    ))
}

/// Runs `rollout`.
pub async fn run(args: &RolloutArgs, store: &dyn Store, io: &mut Io<'_>) -> i32 {
    match rollout(args, store, io).await {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    }
}

async fn rollout(args: &RolloutArgs, store: &dyn Store, io: &mut Io<'_>) -> anyhow::Result<i32> {
    let key = key_of(args)?;
    let r = store
        .get(&key)
        .await?
        .ok_or_else(|| anyhow!("function/{} not found in project {}", key.name, key.project))?;
    let Ok(Spec::Function(mut spec)) = r.typed_spec() else {
        bail!("function/{}: the stored spec does not decode", key.name);
    };
    let fs = FunctionStatus::from_status(&r.status);
    let what = match args.action {
        RolloutAction::Status => return status(args, store, &key, io).await,
        RolloutAction::Pause | RolloutAction::Resume => {
            let pause = args.action == RolloutAction::Pause;
            let ro = spec.rollout.get_or_insert_with(|| Rollout {
                strategy: RolloutStrategy::AllAtOnce,
                steps: Vec::new(),
                health_check: None,
                failure_threshold: 3,
                paused: false,
            });
            if ro.paused == pause {
                writeln!(
                    io.stdout,
                    "function/{} is already {}",
                    key.name,
                    if pause { "paused" } else { "not paused" }
                )?;
                return Ok(0);
            }
            ro.paused = pause;
            if pause { "paused" } else { "resumed" }.to_string()
        }
        RolloutAction::Undo => {
            let back = match (&fs.rollout.target, &fs.rollout.stable, &fs.rollout.previous) {
                (Some(_), Some(stable), _) => stable.clone(),
                (None, _, Some(prev)) => prev.clone(),
                (None, Some(_), None) => {
                    bail!("function/{} has no earlier version to go back to", key.name)
                }
                _ => bail!(
                    "function/{} has no good version yet to go back to",
                    key.name
                ),
            };
            if spec.code.cid == back.cid && spec.code.blake3 == back.blake3 {
                writeln!(
                    io.stdout,
                    "function/{} is already at version {}",
                    key.name, back.version
                )?;
                return Ok(0);
            }
            spec.code.cid = back.cid.clone();
            spec.code.blake3 = back.blake3.clone();
            format!("rolled back to version {} (cid {})", back.version, back.cid)
        }
    };
    let input = ResourceInput {
        key: key.clone(),
        labels: r.metadata.labels.clone(),
        spec: Spec::Function(spec),
        resource_version: Some(r.metadata.resource_version),
    };
    store
        .apply(&[input])
        .await
        .with_context(|| format!("cannot update function/{}", key.name))?;
    writeln!(io.stdout, "function/{} {what}", key.name)?;
    Ok(0)
}

fn text(fs: &FunctionStatus, r: &crate::spec::Resource) -> String {
    let mut out = String::new();
    let ready = r.status.condition("Ready");
    let code = |c: &Option<crate::functions::rollout::Code>| {
        c.as_ref().map_or("-".to_string(), |c| {
            format!("version {} (cid {})", c.version, c.cid)
        })
    };
    out.push_str(&format!(
        "function/{} (project {}): {}{}\n",
        r.metadata.name,
        r.metadata.project,
        if fs.phase.is_empty() {
            "Pending"
        } else {
            &fs.phase
        },
        ready.map_or(String::new(), |c| format!(" — {}", c.message))
    ));
    if let Some(url) = &fs.url {
        out.push_str(&format!("  url:      {url}\n"));
    }
    out.push_str(&format!("  stable:   {}\n", code(&fs.rollout.stable)));
    if let Some(t) = &fs.rollout.target {
        let n = fs.steps.len().max(1);
        let step = fs.rollout.step.min(n - 1);
        out.push_str(&format!(
            "  target:   version {} (cid {}), step {}/{n} ({}%){}\n",
            t.version,
            t.cid,
            step + 1,
            fs.steps.get(step).copied().unwrap_or(100),
            if fs.paused { ", paused" } else { "" }
        ));
    }
    out.push_str(&format!("  previous: {}\n", code(&fs.rollout.previous)));
    if let Some(f) = &fs.rollout.failed {
        out.push_str(&format!(
            "  failed:   version {} — {}: {}\n",
            f.code.version, f.reason, f.message
        ));
    }
    if !fs.steps.is_empty() {
        out.push_str(&format!(
            "  steps:    {}\n",
            fs.steps
                .iter()
                .map(|s| format!("{s}%"))
                .collect::<Vec<_>>()
                .join(" → ")
        ));
    }
    if let Some(ms) = fs.last_rollout_ms {
        out.push_str(&format!(
            "  last rollout took {:.1} s\n",
            ms as f64 / 1000.0
        ));
    }
    out.push_str(&format!(
        "  {:<8} {:<8} {:<8} {:<8} URI\n",
        "NODE", "VERSION", "MOVED", "HEALTHY"
    ));
    for (node, uri) in &fs.node_uris {
        let st = fs.rollout.nodes.get(node);
        out.push_str(&format!(
            "  {:<8} {:<8} {:<8} {:<8} {uri}\n",
            node,
            st.and_then(|s| s.version.clone())
                .unwrap_or_else(|| "-".into()),
            if fs.rollout.moved.contains(node) {
                "yes"
            } else {
                "-"
            },
            match st {
                Some(s) if s.last_check_ms.is_some() => {
                    if s.healthy {
                        "yes"
                    } else {
                        "no"
                    }
                }
                _ => "-",
            }
        ));
    }
    out
}

async fn status(
    args: &RolloutArgs,
    store: &dyn Store,
    key: &ResourceKey,
    io: &mut Io<'_>,
) -> anyhow::Result<i32> {
    let deadline = tokio::time::Instant::now() + args.timeout;
    let mut last = String::new();
    loop {
        let r = store
            .get(key)
            .await?
            .ok_or_else(|| anyhow!("function/{} is gone", key.name))?;
        let fs = FunctionStatus::from_status(&r.status);
        let shown = if args.output == "json" {
            let mut v = serde_json::to_value(&fs)?;
            v["name"] = serde_json::json!(r.metadata.name);
            v["project"] = serde_json::json!(r.metadata.project);
            v["generation"] = serde_json::json!(r.metadata.generation);
            v["conditions"] = serde_json::to_value(&r.status.conditions)?;
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        } else {
            text(&fs, &r)
        };
        if shown != last {
            write!(io.stdout, "{shown}")?;
            io.stdout.flush()?;
            last = shown;
        }
        let current = r
            .status
            .observed_generation
            .is_some_and(|g| g >= r.metadata.generation);
        let ready = r.status.condition("Ready").is_some_and(|c| {
            c.status == ConditionStatus::True && c.observed_generation >= r.metadata.generation
        });
        let settled = current
            && fs.rollout.target.is_none()
            && (fs.phase == phase::READY || fs.phase == phase::DEGRADED);
        if !args.watch {
            return Ok(0);
        }
        if settled {
            return Ok(if fs.phase == phase::READY && ready {
                0
            } else {
                1
            });
        }
        if tokio::time::Instant::now() >= deadline {
            writeln!(
                io.stderr,
                "error: function/{} did not finish its rollout within {:?}",
                key.name, args.timeout
            )?;
            return Ok(1);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
