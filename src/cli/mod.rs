//! The command line: kubectl-style subcommands over the store.
//!
//! `main.rs` parses [`Cli`] and calls [`run`]; every subcommand lives in its own file and
//! writes to the writers it is given, so tests can run commands in-process.

mod akash;
mod apply;
pub mod config;
mod demo;
mod devnet;
mod files;
mod get;
pub mod plan;
mod render;
mod schema;
mod secret;
mod serve;
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
    /// The store: `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(long, global = true, env = "AF_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// A TOML file whose settings become the defaults of `serve`'s flags (flags and `AF_*`
    /// variables still win); see `af-operator serve --help` for the names.
    #[arg(long, global = true, env = "AF_CONFIG")]
    pub config: Option<PathBuf>,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update resources from YAML/JSON files (atomic: all or nothing).
    Apply(FileArgs),
    /// Show what `apply` would change, as a unified diff. Exit 0: no changes; 1: changes; 2+: error.
    Diff(FileArgs),
    /// The on-chain actions (create, update in place, replace, close) and the money that
    /// applying the files would cause, from the daemon's own planner; writes nothing.
    /// Exit 0: no change; 2: changes; 1: error.
    Plan(plan::PlanArgs),
    /// List resources of a kind, or show one.
    Get(GetArgs),
    /// Show a resource's spec, status, conditions and recent events.
    Describe(DescribeArgs),
    /// Request deletion of resources, by kind and name or from files.
    Delete(DeleteArgs),
    /// Write the JSON Schema of every kind (the files in crds/).
    Schema(schema::SchemaArgs),
    /// Akash SDL tools.
    #[command(subcommand)]
    Sdl(render::SdlCommand),
    /// Render the Akash SDL of resources from their spec files (secrets redacted unless
    /// --show-secrets).
    Render(render::RenderArgs),
    /// Serve the GraphQL API: /graphql (POST and WebSocket), /graphiql, /healthz, /readyz.
    Serve(serve::ServeArgs),
    /// Create, list or revoke API tokens.
    Token(token::TokenArgs),
    /// Set, list or delete secret values in the built-in vault (sealed with the master key).
    Secret(secret::SecretArgs),
    /// Write the GraphQL schema of the API (schema.graphql).
    GraphqlSchema(serve::GraphqlSchemaArgs),
    /// Run a local Akash devnet (chain, RPC, providers, fault controls), or control one
    /// (`devnet ctl`).
    Devnet(devnet::DevnetArgs),
    /// Talk to Akash: account, deployments, bids, leases, close, deposit, cert publish.
    Akash(akash::AkashArgs),
    /// The whole product on this machine: a devnet, the examples applied, the controllers
    /// taking every Akash-hosted example to Ready.
    Demo(demo::DemoArgs),
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

/// Output formats of `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns.
    Table,
    /// More columns.
    Wide,
    /// YAML documents.
    Yaml,
    /// JSON.
    Json,
}

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The kind: singular, plural or short, any case (`agent`, `agents`, `ag`).
    pub kind: String,
    /// One resource's name.
    pub name: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    pub output: Output,
    /// The project.
    #[arg(long, default_value = crate::spec::DEFAULT_PROJECT)]
    pub project: String,
    /// Every project.
    #[arg(short = 'A', long, conflicts_with = "project")]
    pub all_projects: bool,
    /// Label selector, e.g. `team=core,tier!=edge`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
}

/// Arguments of `describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The kind.
    pub kind: String,
    /// The name.
    pub name: String,
    /// The project.
    #[arg(long, default_value = crate::spec::DEFAULT_PROJECT)]
    pub project: String,
}

/// Arguments of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The kind (with NAME).
    pub kind: Option<String>,
    /// The name.
    pub name: Option<String>,
    /// Delete what these files define instead.
    #[arg(short = 'f', long = "filename", conflicts_with_all = ["kind", "name"])]
    pub files: Vec<PathBuf>,
    /// Descend into sub-directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// The project.
    #[arg(long, default_value = crate::spec::DEFAULT_PROJECT)]
    pub project: String,
    /// Wait until the resources are gone (their finalizers done).
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits, e.g. `60s`, `5m`.
    #[arg(long, default_value = "120s", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,
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
    let code = match &cli.command {
        Command::Schema(args) => schema::run(args, io),
        Command::Sdl(cmd) => render::sdl(cmd, io),
        Command::Render(args) => render::render(args, &cli.database_url, io).await,
        Command::GraphqlSchema(args) => serve::graphql_schema(args, io),
        Command::Serve(args) => serve::serve(args, &cli.database_url, io).await,
        Command::Token(args) => token::run(args, &cli.database_url, io).await,
        Command::Secret(args) => secret::run(args, &cli.database_url, io).await,
        Command::Akash(args) => akash::run(args, io).await,
        Command::Devnet(args) => devnet::run(args, io).await,
        Command::Demo(args) => demo::run(args, io).await,
        _ => match open_store(&cli.database_url).await {
            Ok(store) => {
                let code = dispatch(&cli.command, &store, io).await;
                store.close().await;
                code
            }
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e}");
                match cli.command {
                    Command::Diff(_) => 2,
                    _ => 1,
                }
            }
        },
    };
    let _ = io.stdout.flush();
    code
}

async fn open_store(url: &str) -> Result<SqlStore, store::StoreError> {
    store::open(url).await
}

async fn dispatch(command: &Command, store: &SqlStore, io: &mut Io<'_>) -> i32 {
    let result = match command {
        Command::Apply(a) => apply::apply(a, store, io).await,
        Command::Diff(a) => return apply::diff(a, store, io).await,
        Command::Plan(a) => return plan::run(a, store, io).await,
        Command::Get(a) => get::get(a, store, io).await,
        Command::Describe(a) => get::describe(a, store, io).await,
        Command::Delete(a) => apply::delete(a, store, io).await,
        Command::Schema(_)
        | Command::Sdl(_)
        | Command::Render(_)
        | Command::GraphqlSchema(_)
        | Command::Serve(_)
        | Command::Token(_)
        | Command::Secret(_)
        | Command::Devnet(_)
        | Command::Demo(_)
        | Command::Akash(_) => Ok(()),
    };
    match result {
        Ok(()) => 0,
        // `af-operator get … | head`: the reader left; nothing to report.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            0
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "{e:#}");
            1
        }
    }
}
