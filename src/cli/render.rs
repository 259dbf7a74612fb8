//! `sdl convert` and `render`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{files, Io};
use crate::render::{source_from, FileSecrets, RedactingResolver, Renderer, SecretResolver};

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
    /// Print secret values (needs --secrets-file). Without it they show as <redacted>.
    #[arg(long, requires = "secrets_file")]
    pub show_secrets: bool,
    /// A YAML file of secrets: `project: {store: {KEY: value}}`.
    #[arg(long, env = "AF_SECRETS_FILE")]
    pub secrets_file: Option<PathBuf>,
    /// A directory whose templates replace the built-in ones of the same name.
    #[arg(long, env = "AF_SDL_TEMPLATES")]
    pub sdl_templates: Option<PathBuf>,
}

/// Runs `sdl ...`.
pub fn sdl(cmd: &SdlCommand, io: &mut Io<'_>) -> i32 {
    let SdlCommand::Convert { file } = cmd;
    let mut text = String::new();
    let read = if file.as_os_str() == "-" {
        io.stdin.read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    if let Err(e) = read {
        let _ = writeln!(io.stderr, "error: cannot read {}: {e}", file.display());
        return 2;
    }
    match crate::sdl::convert(&text) {
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
            let name = if file.as_os_str() == "-" {
                "<stdin>".to_string()
            } else {
                file.display().to_string()
            };
            for issue in e.issues() {
                let _ = writeln!(io.stderr, "{name}: {}: {}", issue.path, issue.message);
            }
            if e.issues().is_empty() {
                let _ = writeln!(io.stderr, "{name}: {e}");
            }
            2
        }
    }
}

/// Runs `render`.
pub fn render(args: &RenderArgs, io: &mut Io<'_>) -> i32 {
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
    let file_secrets = match (&args.secrets_file, args.show_secrets) {
        (Some(path), true) => match FileSecrets::from_file(path) {
            Ok(s) => Some(s),
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e}");
                return 1;
            }
        },
        _ => None,
    };
    let resolver: &dyn SecretResolver = match &file_secrets {
        Some(s) => s,
        None => &RedactingResolver,
    };
    let renderer = Renderer::new(source_from(args.sdl_templates.as_deref()));
    let mut code = 0;
    let mut first = true;
    for d in &docs {
        let resource = d.input.preview();
        let rendered = match renderer.render(&resource, resolver) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(io.stderr, "{}:{}: {e}", d.file, d.position);
                code = 1;
                continue;
            }
        };
        if rendered.holds_secrets() && file_secrets.is_none() {
            let _ = writeln!(
                io.stderr,
                "note: {} uses secrets; they are shown as <redacted> (--show-secrets --secrets-file F prints them){}",
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
    code
}
