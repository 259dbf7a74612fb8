//! The command line: kubectl-style subcommands over the store.
//!
//! `main.rs` parses [`Cli`] and calls [`run`]; every subcommand lives in its own file and
//! writes to the writers it is given, so tests can run commands in-process.

mod akash;
mod apply;
pub mod config;
mod demo;
mod devnet;
mod dns;
mod explain;
mod files;
mod get;
mod jsonpath;
pub mod plan;
mod providers;
mod render;
mod rollout;
mod schema;
mod secret;
mod serve;
mod shell;
mod token;

pub use akash::gateway_options;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::store::{self, sql::SqlStore};

/// The database used when none is named: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://af-operator.db";

/// af-operator: keeps the Alternate Futures platform running on Akash from declarative specs.
#[derive(Debug, Parser)]
#[command(name = "af-operator", version, about, long_about = None)]
pub struct Cli {
    /// The store the command uses: the commands that open one take `--database-url` (after
    /// the command name or, for compatibility, before it) or `AF_DATABASE_URL`; resolved by
    /// [`config::parse`].
    #[arg(skip = DEFAULT_DATABASE_URL.to_string())]
    pub database_url: String,

    /// `--database-url` written before the command name (hidden; the commands that open a
    /// store list it in their own help).
    #[arg(long = "database-url", id = ROOT_DATABASE_URL, hide = true, global = false)]
    pub root_database_url: Option<String>,

    /// A TOML file of settings: `project` (the default `--project`), `database-url`, and
    /// `serve`'s flags as their defaults (flags and `AF_*` variables still win); see
    /// `af-operator serve --help` for the names.
    #[arg(long, global = true, env = "AF_CONFIG")]
    pub config: Option<PathBuf>,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The id of the hidden root-level `--database-url`.
pub(crate) const ROOT_DATABASE_URL: &str = "root_database_url";

/// `--database-url` of the commands that open the store.
#[derive(Debug, Clone, Args)]
pub struct StoreArg {
    /// The store: `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "AF_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update resources from YAML/JSON files (atomic: all or nothing).
    Apply {
        #[command(flatten)]
        args: ApplyArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Show what `apply` would change, as a unified diff. Exit 0: no changes; 1: changes; 2+: error.
    Diff {
        #[command(flatten)]
        args: FileArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// The on-chain actions (create, update in place, replace, close) and the money that
    /// applying the files would cause, from the daemon's own planner; writes nothing.
    /// Exit 0: no change; 2: changes; 1: error.
    Plan {
        #[command(flatten)]
        args: plan::PlanArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// List resources of a kind (or `all`, or `events`), or show one; `-w` follows changes.
    Get {
        #[command(flatten)]
        args: GetArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Show a resource's spec, status, conditions and recent events (every resource of the
    /// kind without a name).
    Describe {
        #[command(flatten)]
        args: DescribeArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Request deletion of resources, by kind and name, by label or from files; waits until
    /// they are gone unless --wait=false.
    Delete {
        #[command(flatten)]
        args: DeleteArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Describe a kind or one of its fields, from its JSON Schema.
    Explain(ExplainArgs),
    /// Write the JSON Schema of every kind (the files in crds/).
    Schema(schema::SchemaArgs),
    /// Akash SDL tools.
    #[command(subcommand)]
    Sdl(render::SdlCommand),
    /// Render the Akash SDL of resources from their spec files (secrets redacted unless
    /// --show-secrets).
    Render {
        #[command(flatten)]
        args: render::RenderArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Serve the GraphQL API: /graphql (POST and WebSocket), /graphiql, /healthz, /readyz.
    Serve {
        #[command(flatten)]
        args: serve::ServeArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Create, list or revoke API tokens.
    Token {
        #[command(flatten)]
        args: token::TokenArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Set, list or delete secret values in the built-in vault (sealed with the master key).
    Secret {
        #[command(flatten)]
        args: secret::SecretArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Write the GraphQL schema of the API (schema.graphql).
    GraphqlSchema(serve::GraphqlSchemaArgs),
    /// Run a local Akash devnet (chain, RPC, providers, fault controls), or control one
    /// (`devnet ctl`).
    Devnet(devnet::DevnetArgs),
    /// Talk to Akash: account, deployments, bids, leases, close, deposit, cert publish.
    Akash(akash::AkashArgs),
    /// Our record of every provider leased from: leases, faults by kind, median time to
    /// healthy and price paid (with --network, their attributes and auditors).
    Providers {
        #[command(flatten)]
        args: providers::ProvidersArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// A Function's rollout: `rollout status|pause|resume|undo function/NAME`.
    Rollout {
        #[command(flatten)]
        args: rollout::RolloutArgs,
        #[command(flatten)]
        store: StoreArg,
    },
    /// The changes the DNS controller would make to a DnsZone's providers (`dns plan`), or
    /// make them (`dns apply`).
    Dns(dns::DnsArgs),
    /// The whole product on this machine: a devnet, the examples applied, the controllers
    /// taking every Akash-hosted example to Ready.
    Demo(demo::DemoArgs),
    /// Print a shell completion script: `source <(af-operator completion bash)`.
    Completion(CompletionArgs),
    /// Print the man page (roff), or write every page with --out DIR.
    Man(ManArgs),
}

impl Command {
    /// The `--database-url` of a command that opens the store.
    pub fn store_arg(&self) -> Option<&StoreArg> {
        match self {
            Command::Apply { store, .. }
            | Command::Diff { store, .. }
            | Command::Plan { store, .. }
            | Command::Get { store, .. }
            | Command::Describe { store, .. }
            | Command::Delete { store, .. }
            | Command::Render { store, .. }
            | Command::Serve { store, .. }
            | Command::Token { store, .. }
            | Command::Providers { store, .. }
            | Command::Rollout { store, .. }
            | Command::Secret { store, .. } => Some(store),
            Command::Dns(args) => Some(args.command.store_arg()),
            _ => None,
        }
    }
}

/// Where documents come from.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// A file, a directory (its .yaml/.yml/.json files) or `-` for standard input. Repeatable.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Descend into sub-directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The documents.
    #[command(flatten)]
    pub files: FileArgs,
    /// Validate and print what would be created, configured, unchanged (and pruned); write
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only the documents whose labels match, e.g. `team=core`; with --prune, also the
    /// resources to prune.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Delete the resources matching -l, in the projects the files name, that the files no
    /// longer hold (deletion requested, as `delete` does; it does not wait).
    #[arg(long, requires = "selector")]
    pub prune: bool,
}

/// Output formats of `get`: `table`, `wide`, `yaml`, `json`, `name` or `jsonpath=EXPR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Aligned columns.
    Table,
    /// More columns.
    Wide,
    /// YAML documents.
    Yaml,
    /// JSON.
    Json,
    /// `kind/name`, one a line.
    Name,
    /// A kubectl JSONPath template over the JSON output: text with `{PATH}`, `{"\t"}` and
    /// `{range PATH}…{end}` in it (`{.spec.image}`, `$.items[*].metadata.name`).
    JsonPath(String),
}

fn parse_output(s: &str) -> Result<Output, String> {
    Ok(match s {
        "table" => Output::Table,
        "wide" => Output::Wide,
        "yaml" => Output::Yaml,
        "json" => Output::Json,
        "name" => Output::Name,
        _ => match s.split_once('=') {
            Some(("jsonpath", expr)) if !expr.trim().is_empty() => {
                jsonpath::Template::parse(expr)?;
                Output::JsonPath(expr.to_string())
            }
            Some(("jsonpath", _)) => {
                return Err(
                    "jsonpath= needs a template, e.g. jsonpath='{range .items[*]}{.metadata.name}{\"\\n\"}{end}'"
                        .into(),
                )
            }
            _ => {
                return Err(format!(
                "unknown output format `{s}` (valid: table, wide, yaml, json, name, jsonpath=EXPR)"
            ))
            }
        },
    })
}

/// Output formats of the lists that are not resources (`token list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    /// Aligned columns.
    Table,
    /// The same columns.
    Wide,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// The project flag of the commands that read or delete resources.
#[derive(Debug, Clone, Args)]
pub struct ProjectArg {
    /// The project; defaults to `AF_PROJECT`, else the config file's `project`, else `default`.
    #[arg(long, env = "AF_PROJECT", default_value = crate::spec::DEFAULT_PROJECT)]
    pub project: String,
}

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The kind: singular, plural or short, any case (`agent`, `agents`, `ag`); `all` for
    /// every kind; `events` for events (of every resource, or of `events KIND NAME`).
    pub kind: String,
    /// One resource's name (with `events`: the resource's kind).
    pub name: Option<String>,
    /// With `events KIND NAME`: the resource's name.
    #[arg(value_name = "EVENTS_NAME")]
    pub event_name: Option<String>,
    /// Output format: table, wide, yaml, json, name or jsonpath=EXPR.
    #[arg(short = 'o', long, default_value = "table", value_parser = parse_output)]
    pub output: Output,
    /// The project.
    #[command(flatten)]
    pub project: ProjectArg,
    /// Every project (with a NAME: that name in every project).
    #[arg(short = 'A', long)]
    pub all_projects: bool,
    /// Label selector, e.g. `team=core,tier!=edge`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// After the list, print each change as it happens (the change feed), until interrupted.
    #[arg(short = 'w', long)]
    pub watch: bool,
}

/// Arguments of `describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The kind.
    pub kind: String,
    /// The name; without it, every resource of the kind (matching -l).
    pub name: Option<String>,
    /// The project.
    #[command(flatten)]
    pub project: ProjectArg,
    /// Every project (with a NAME: that name in every project that holds it).
    #[arg(short = 'A', long)]
    pub all_projects: bool,
    /// Label selector (without NAME).
    #[arg(short = 'l', long, conflicts_with = "name")]
    pub selector: Option<String>,
}

/// Arguments of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The kind (with NAME or -l).
    pub kind: Option<String>,
    /// The name.
    pub name: Option<String>,
    /// Delete what these files define instead.
    #[arg(short = 'f', long = "filename", conflicts_with_all = ["kind", "name", "selector"])]
    pub files: Vec<PathBuf>,
    /// Descend into sub-directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Every resource of KIND whose labels match, e.g. `team=core`.
    #[arg(short = 'l', long, conflicts_with = "name")]
    pub selector: Option<String>,
    /// The project.
    #[command(flatten)]
    pub project: ProjectArg,
    /// With `-l`: the matching resources of every project. Refused with a NAME (as kubectl
    /// does): a name is deleted in one project, named with `--project`.
    #[arg(short = 'A', long, conflicts_with = "files")]
    pub all_projects: bool,
    /// A resource that does not exist is not an error.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// Wait until the resources are gone (their finalizers done: the reconciler closes the
    /// deployment first); `--wait=false` returns once deletion is requested.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub wait: bool,
    /// How long `--wait` waits, e.g. `60s`, `5m`.
    #[arg(long, default_value = "120s", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,
}

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A kind, optionally with a field path: `agent`, `agent.spec.resources.memory`.
    pub path: String,
}

/// Arguments of `completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `af-operator.1` and a page per subcommand (`af-operator-get.1`, …) into this
    /// directory instead of printing the main page.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub(crate) fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    crate::spec::quantity::parse_duration(s)
}

/// Standard streams, injectable for tests.
pub struct Io<'a> {
    /// Standard input.
    pub stdin: &'a mut dyn std::io::Read,
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error.
    pub stderr: &'a mut dyn Write,
}

/// Runs a parsed command; returns the process exit code.
pub async fn run(cli: Cli, io: &mut Io<'_>) -> i32 {
    let db = cli.database_url.as_str();
    let code = match &cli.command {
        Command::Schema(args) => schema::run(args, io),
        Command::Sdl(cmd) => render::sdl(cmd, io),
        Command::Render { args, .. } => render::render(args, db, io).await,
        Command::GraphqlSchema(args) => serve::graphql_schema(args, io),
        Command::Serve { args, .. } => serve::serve(args, db, io).await,
        Command::Token { args, .. } => token::run(args, db, io).await,
        Command::Secret { args, .. } => secret::run(args, db, io).await,
        Command::Akash(args) => akash::run(args, io).await,
        Command::Devnet(args) => devnet::run(args, io).await,
        Command::Demo(args) => demo::run(args, io).await,
        Command::Dns(args) => dns::run(args, db, io).await,
        Command::Explain(args) => report(explain::run(args, io), io),
        Command::Completion(args) => report(shell::completion(args, io), io),
        Command::Man(args) => report(shell::man(args, io), io),
        Command::Apply { .. }
        | Command::Diff { .. }
        | Command::Plan { .. }
        | Command::Get { .. }
        | Command::Describe { .. }
        | Command::Delete { .. }
        | Command::Rollout { .. }
        | Command::Providers { .. } => {
            let failed = if matches!(cli.command, Command::Diff { .. }) {
                2
            } else {
                1
            };
            if reads_only(&cli.command) {
                if let Err(e) = existing_store(db) {
                    let _ = writeln!(io.stderr, "error: {e}");
                    return failed;
                }
            }
            match open_store(db).await {
                Ok(store) => {
                    let store = std::sync::Arc::new(store);
                    let code = dispatch(&cli.command, &store, io).await;
                    store.close().await;
                    code
                }
                Err(e) => {
                    let _ = writeln!(io.stderr, "error: {e}");
                    failed
                }
            }
        }
    };
    let _ = io.stdout.flush();
    code
}

/// True for the commands that never write resources: they must not create a store either.
fn reads_only(command: &Command) -> bool {
    match command {
        Command::Get { .. }
        | Command::Describe { .. }
        | Command::Diff { .. }
        | Command::Providers { .. }
        | Command::Rollout { .. }
        | Command::Plan { .. } => true,
        Command::Apply { args, .. } => args.dry_run,
        _ => false,
    }
}

/// The SQLite file a `sqlite:` URL names, when it names one (not `:memory:`).
pub(crate) fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    (!path.is_empty() && !path.contains(":memory:") && !url.contains("mode=memory")).then_some(path)
}

/// Refuses a SQLite store whose file does not exist (a typo would otherwise show an empty
/// store).
fn existing_store(url: &str) -> Result<(), String> {
    match sqlite_path(url) {
        Some(path) if !std::path::Path::new(path).exists() => Err(format!(
            "no store at {path}: the file does not exist (check --database-url or AF_DATABASE_URL; `apply` creates it)"
        )),
        _ => Ok(()),
    }
}

fn report(result: anyhow::Result<()>, io: &mut Io<'_>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn open_store(url: &str) -> Result<SqlStore, store::StoreError> {
    store::open(url).await
}

async fn dispatch(command: &Command, store: &std::sync::Arc<SqlStore>, io: &mut Io<'_>) -> i32 {
    let result = match command {
        Command::Apply { args, .. } => apply::apply(args, &**store, io).await,
        Command::Diff { args, .. } => return apply::diff(args, &**store, io).await,
        Command::Plan { args, .. } => return plan::run(args, store, io).await,
        Command::Get { args, .. } => get::get(args, store.clone(), io).await,
        Command::Describe { args, .. } => get::describe(args, &**store, io).await,
        Command::Delete { args, .. } => apply::delete(args, &**store, io).await,
        Command::Providers { args, .. } => return providers::run(args, &**store, io).await,
        Command::Rollout { args, .. } => return rollout::run(args, &**store, io).await,
        _ => Ok(()),
    };
    match result {
        Ok(()) => 0,
        // `af-operator get … | head`: the reader left; nothing to report.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let _ = writeln!(io.stderr, "{e:#}");
            1
        }
    }
}
