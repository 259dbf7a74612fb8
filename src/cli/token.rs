//! `token create | list | revoke`: API tokens. A token is printed once, at creation; the
//! store keeps only its BLAKE3 digest.

use clap::{Args, Subcommand};

use super::{Io, ListOutput as Output};
use crate::api::auth;
use crate::store::{TokenRecord, TokenStore};

/// Arguments of `token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// Token subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once: it cannot be shown again).
    Create {
        /// The project the token may see and change (its default for documents without one).
        #[arg(long)]
        project: String,
        /// Let the token see and change every project.
        #[arg(long)]
        admin: bool,
        /// A note for humans, e.g. who holds the token.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List tokens (ids and scopes, never the tokens).
    List {
        /// Output format: table or json.
        #[arg(short = 'o', long, value_enum, default_value = "table")]
        output: Output,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke {
        /// The token's id (`tok_…`, from `token list`).
        id: String,
    },
}

fn json_of(r: &TokenRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "project": r.project,
        "admin": r.admin,
        "description": r.description,
        "createdAt": r.created_at,
        "revokedAt": r.revoked_at,
    })
}

async fn run_with(
    args: &TokenArgs,
    tokens: &dyn TokenStore,
    io: &mut Io<'_>,
) -> anyhow::Result<()> {
    match &args.command {
        TokenCommand::Create {
            project,
            admin,
            description,
        } => {
            if !crate::spec::validate::is_dns_label(project) {
                anyhow::bail!("error: `{project}` is not a project name: expected a DNS-1123 label such as `defarm`");
            }
            let (token, record) = auth::create_token(tokens, project, *admin, description)
                .await
                .map_err(|e| anyhow::anyhow!("error: {e}"))?;
            writeln!(io.stdout, "{}", token.expose_secret())?;
            writeln!(
                io.stderr,
                "created token {} for project {}{}; it is shown only once: store it now",
                record.id,
                record.project,
                if record.admin {
                    " (admin: every project)"
                } else {
                    ""
                }
            )?;
        }
        TokenCommand::List { output } => {
            let list = tokens
                .list_tokens()
                .await
                .map_err(|e| anyhow::anyhow!("error: {e}"))?;
            match output {
                Output::Json | Output::Yaml => {
                    let v: Vec<_> = list.iter().map(json_of).collect();
                    if *output == Output::Json {
                        writeln!(io.stdout, "{}", serde_json::to_string_pretty(&v)?)?;
                    } else {
                        write!(io.stdout, "{}", serde_yaml::to_string(&v)?)?;
                    }
                }
                Output::Table | Output::Wide => {
                    let rows: Vec<[String; 6]> = list
                        .iter()
                        .map(|r| {
                            [
                                r.id.clone(),
                                r.project.clone(),
                                if r.admin { "yes" } else { "no" }.into(),
                                r.created_at.clone(),
                                r.revoked_at.clone().unwrap_or_else(|| "-".into()),
                                r.description.clone(),
                            ]
                        })
                        .collect();
                    let head = [
                        "ID",
                        "PROJECT",
                        "ADMIN",
                        "CREATED",
                        "REVOKED",
                        "DESCRIPTION",
                    ];
                    let mut widths = head.map(str::len);
                    for row in &rows {
                        for (w, c) in widths.iter_mut().zip(row) {
                            *w = (*w).max(c.len());
                        }
                    }
                    let line = |cells: &[String]| {
                        let parts: Vec<String> = cells
                            .iter()
                            .zip(widths)
                            .map(|(c, w)| format!("{c:<w$}"))
                            .collect();
                        parts.join("   ").trim_end().to_string()
                    };
                    writeln!(io.stdout, "{}", line(&head.map(String::from)))?;
                    for row in &rows {
                        writeln!(io.stdout, "{}", line(row))?;
                    }
                }
            }
        }
        TokenCommand::Revoke { id } => {
            match tokens
                .revoke_token(id)
                .await
                .map_err(|e| anyhow::anyhow!("error: {e}"))?
            {
                Some(r) => writeln!(
                    io.stdout,
                    "token {} revoked at {}",
                    r.id,
                    r.revoked_at.unwrap_or_default()
                )?,
                None => {
                    anyhow::bail!("error: no token has id `{id}` (see `af-operator token list`)")
                }
            }
        }
    }
    Ok(())
}

/// Runs `token`.
pub async fn run(args: &TokenArgs, database_url: &str, io: &mut Io<'_>) -> i32 {
    let store = match crate::store::open(database_url).await {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return 1;
        }
    };
    let result = run_with(args, &store, io).await;
    store.close().await;
    match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(io.stderr, "{e:#}");
            1
        }
    }
}
