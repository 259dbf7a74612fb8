//! `sdl convert` and `render`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use std::collections::BTreeMap;
use std::sync::Arc;

use super::secret::MasterKeyArgs;
use super::{files, Io};
use crate::render::{
    source_from, FileSecrets, RedactingResolver, Renderer, SecretError, SecretResolver,
};
use crate::secrets::{ProjectSecrets, SecretVault};
use crate::spec::common::SecretRef;

/// `af-operator sdl ...`
#[derive(Debug, Subcommand)]
pub enum SdlCommand {
    /// Convert an SDL to {"manifest", "groups", "version"} JSON, as Akash computes them.
    /// Invalid SDL: errors on stderr, exit 2.
    Convert {
        /// The SDL file, or `-` for standard input.
        file: PathBuf,
    },
}

/// Arguments of `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Spec files (or a directory, or `-`).
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Descend into sub-directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Print the convert JSON (manifest, groups, version) instead of the SDL.
    #[arg(long)]
    pub manifest: bool,
    /// Print secret values (needs --secrets-file or a master key). Without it they show as
    /// <redacted>.
    #[arg(long)]
    pub show_secrets: bool,
    /// A YAML file of secrets: `project: {store: {KEY: value}}`. Used instead of the vault.
    #[arg(long, env = "AF_SECRETS_FILE")]
    pub secrets_file: Option<PathBuf>,
    /// The vault's master key: with it, every secretRef is resolved from the vault in the
    /// database (a missing one is an error), and printed only with --show-secrets.
    #[command(flatten)]
    pub key_args: MasterKeyArgs,
    /// A directory whose templates replace the built-in ones of the same name.
    #[arg(long, env = "AF_SDL_TEMPLATES")]
    pub sdl_templates: Option<PathBuf>,
}

/// Runs `sdl ...`.
pub fn sdl(cmd: &SdlCommand, io: &mut Io<'_>) -> i32 {
    let SdlCommand::Convert { file } = cmd;
    let name = if file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    let mut bytes = Vec::new();
    let read = if file.as_os_str() == "-" {
        io.stdin.read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
    };
    if let Err(e) = read {
        let _ = writeln!(io.stderr, "error: cannot read {}: {e}", file.display());
        return 2;
    }
    let text = match crate::spec::yaml::decode_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(io.stderr, "{name}:{e}");
            return 2;
        }
    };
    match crate::sdl::convert(text) {
        Ok(c) => match serde_json::to_string_pretty(&c) {
            Ok(json) => {
                let _ = writeln!(io.stdout, "{json}");
                0
            }
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e}");
                2
            }
        },
        Err(e) => {
            // As `apply` prints problems: file:line:column: path: message.
            for issue in e.issues() {
                let _ = write!(io.stderr, "{name}:{}: ", issue.position());
                if !issue.path.is_empty() {
                    let _ = write!(io.stderr, "{}: ", issue.path);
                }
                let _ = writeln!(io.stderr, "{}", issue.message);
            }
            2
        }
    }
}

/// Resolves through another resolver, so a missing or undecryptable secret is an error, but
/// shows only the placeholder.
struct Verified<'a>(&'a dyn SecretResolver);

impl SecretResolver for Verified<'_> {
    fn resolve(&self, project: &str, reference: &SecretRef) -> Result<String, SecretError> {
        self.0.resolve(project, reference)?;
        RedactingResolver.resolve(project, reference)
    }
}

/// Where `render` takes secret values from.
enum Secrets {
    /// Placeholders only.
    Redacted,
    /// A `--secrets-file`.
    File(FileSecrets),
    /// The vault, decrypted per project.
    Vault(BTreeMap<String, ProjectSecrets>),
}

async fn secrets_for(
    args: &RenderArgs,
    database_url: &str,
    projects: &[&str],
) -> anyhow::Result<Secrets> {
    if args.secrets_file.is_some() && args.key_args.master_key_file.is_some() {
        anyhow::bail!(
            "--secrets-file and --master-key-file both name a source of secrets; use one"
        );
    }
    if let Some(path) = &args.secrets_file {
        return Ok(if args.show_secrets {
            Secrets::File(FileSecrets::from_file(path)?)
        } else {
            Secrets::Redacted
        });
    }
    let Some(key) = args.key_args.load()? else {
        if args.show_secrets {
            anyhow::bail!("--show-secrets needs --secrets-file FILE or a master key (--master-key-file FILE or AF_MASTER_KEY)");
        }
        return Ok(Secrets::Redacted);
    };
    let store = Arc::new(crate::store::open(database_url).await?);
    let vault = SecretVault::new(store.clone(), key);
    let mut opened = BTreeMap::new();
    let mut result = Ok(());
    for project in projects {
        match vault.resolver(project).await {
            Ok(s) => {
                opened.insert(project.to_string(), s);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    store.close().await;
    result?;
    Ok(Secrets::Vault(opened))
}

/// Runs `render`.
pub async fn render(args: &RenderArgs, database_url: &str, io: &mut Io<'_>) -> i32 {
    let docs = match files::load(&args.files, args.recursive, io.stdin) {
        Ok(Ok(d)) => d,
        Ok(Err(errors)) => {
            let _ = writeln!(io.stderr, "{errors}");
            return 1;
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            return 1;
        }
    };
    let mut projects: Vec<&str> = docs.iter().map(|d| d.input.key.project.as_str()).collect();
    projects.sort_unstable();
    projects.dedup();
    let secrets = match secrets_for(args, database_url, &projects).await {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            return 1;
        }
    };
    let shown = args.show_secrets && !matches!(secrets, Secrets::Redacted);
    let renderer = Renderer::new(source_from(args.sdl_templates.as_deref()));
    let mut code = 0;
    let mut first = true;
    let mut skipped = 0;
    for d in &docs {
        let resource = d.input.preview();
        let found: &dyn SecretResolver = match &secrets {
            Secrets::Redacted => &RedactingResolver,
            Secrets::File(f) => f,
            Secrets::Vault(v) => match v.get(d.input.key.project.as_str()) {
                Some(p) => p,
                None => &RedactingResolver,
            },
        };
        let verified = Verified(found);
        let resolver: &dyn SecretResolver = if shown { found } else { &verified };
        let rendered = match renderer.render(&resource, resolver) {
            Ok(r) => r,
            Err(e @ crate::render::RenderError::NotDeployed { .. }) => {
                // A directory mixes kinds; those that run nothing on Akash are skipped.
                let _ = writeln!(io.stderr, "note: skipped {}:{}: {e}", d.file, d.position);
                skipped += 1;
                continue;
            }
            Err(e) => {
                let _ = writeln!(io.stderr, "{}:{}: {e}", d.file, d.position);
                code = 1;
                continue;
            }
        };
        if rendered.holds_secrets() && !shown {
            let _ = writeln!(
                io.stderr,
                "note: {} uses secrets; they are shown as <redacted> (--show-secrets with --secrets-file F or a master key prints them){}",
                d.input.key,
                if args.manifest { ", so this version is not the deployed one" } else { "" }
            );
        }
        if !first && !args.manifest {
            let _ = writeln!(io.stdout, "---");
        }
        first = false;
        if args.manifest {
            match rendered.convert() {
                Ok(c) => {
                    let _ = writeln!(
                        io.stdout,
                        "{}",
                        serde_json::to_string_pretty(&c).unwrap_or_default()
                    );
                }
                Err(e) => {
                    let _ = writeln!(io.stderr, "{}: {e}", d.input.key);
                    code = 1;
                }
            }
        } else {
            let _ = write!(io.stdout, "{}", rendered.expose_text());
        }
    }
    if skipped == docs.len() {
        let _ = writeln!(
            io.stderr,
            "error: nothing to render: none of the {skipped} resource(s) has an Akash deployment"
        );
        return 1;
    }
    code
}
