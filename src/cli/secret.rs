//! `secret set | list | delete | keygen`: the built-in secret vault. Values are sealed with the
//! master key (`--master-key-file FILE` or `$AF_MASTER_KEY`) before they reach the store, and
//! no command ever prints one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use zeroize::Zeroizing;

use super::Io;
use crate::secrets::{MasterKey, SecretVault, MASTER_KEY_ENV};

/// Where the master key comes from.
#[derive(Debug, Clone, Args)]
pub struct MasterKeyArgs {
    /// A file holding the vault's master key (64 hex characters, or the base64 of 32 bytes).
    /// Without it, the key itself is read from $AF_MASTER_KEY.
    #[arg(long, env = "AF_MASTER_KEY_FILE", value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
}

impl MasterKeyArgs {
    /// The key, when one is given: the file first, then `$AF_MASTER_KEY`.
    pub fn load(&self) -> anyhow::Result<Option<MasterKey>> {
        if let Some(path) = &self.master_key_file {
            return Ok(Some(MasterKey::from_file(path)?));
        }
        match std::env::var_os(MASTER_KEY_ENV) {
            Some(value) => {
                let text = Zeroizing::new(value.into_string().unwrap_or_default());
                Ok(Some(MasterKey::parse(
                    &text,
                    &format!("${MASTER_KEY_ENV}"),
                )?))
            }
            None => Ok(None),
        }
    }

    /// The key; a clear error when none is given.
    pub fn require(&self) -> anyhow::Result<MasterKey> {
        self.load()?.ok_or_else(|| {
            anyhow!("no master key: pass --master-key-file FILE or set {MASTER_KEY_ENV} (create a key with `af-operator secret keygen FILE`)")
        })
    }
}

/// Arguments of `secret`.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SecretCommand,
}

/// Output formats of `secret list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    /// Aligned columns.
    Table,
    /// JSON.
    Json,
}

/// Secret subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Set a value (from standard input, one trailing newline removed, or from a file as is).
    Set {
        /// The SecretStore's name, e.g. `platform-secrets`.
        store: String,
        /// The key, e.g. `DATABASE_URL`.
        key: String,
        /// The project.
        #[arg(long, default_value = crate::spec::DEFAULT_PROJECT)]
        project: String,
        /// Read the value from this file, byte for byte, instead of standard input.
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
        /// The master key.
        #[command(flatten)]
        key_args: MasterKeyArgs,
    },
    /// List secrets: store, key, digest and update time, never values.
    List {
        /// Only this SecretStore.
        store: Option<String>,
        /// The project.
        #[arg(long, default_value = crate::spec::DEFAULT_PROJECT)]
        project: String,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value = "table")]
        output: ListOutput,
        /// The master key.
        #[command(flatten)]
        key_args: MasterKeyArgs,
    },
    /// Delete a value.
    Delete {
        /// The SecretStore's name.
        store: String,
        /// The key.
        key: String,
        /// The project.
        #[arg(long, default_value = crate::spec::DEFAULT_PROJECT)]
        project: String,
        /// The master key.
        #[command(flatten)]
        key_args: MasterKeyArgs,
    },
    /// Create a new random master key in FILE (mode 0600; an existing file is never replaced).
    Keygen {
        /// The file to create.
        file: PathBuf,
    },
}

fn read_value(from_file: Option<&Path>, io: &mut Io<'_>) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut value = Zeroizing::new(Vec::new());
    match from_file {
        Some(path) => {
            *value = std::fs::read(path)
                .map_err(|e| anyhow!("cannot read {}: {}", path.display(), e.kind()))?;
        }
        None => {
            io.stdin
                .read_to_end(&mut value)
                .map_err(|e| anyhow!("cannot read the value from standard input: {e}"))?;
            if value.last() == Some(&b'\n') {
                value.pop();
                if value.last() == Some(&b'\r') {
                    value.pop();
                }
            }
        }
    }
    if value.is_empty() {
        bail!("the value is empty: pipe it on standard input or use --from-file FILE");
    }
    Ok(value)
}

async fn run_with(
    command: &SecretCommand,
    vault: &SecretVault,
    io: &mut Io<'_>,
) -> anyhow::Result<()> {
    match command {
        SecretCommand::Set {
            store,
            key,
            project,
            from_file,
            ..
        } => {
            let value = read_value(from_file.as_deref(), io)?;
            vault.set(project, store, key, &value).await?;
            let digest = vault
                .list(project, Some(store))
                .await?
                .into_iter()
                .find(|s| s.key == *key)
                .map(|s| s.digest)
                .unwrap_or_default();
            writeln!(
                io.stdout,
                "secret {store}/{key} set in project {project} (digest {digest})"
            )?;
        }
        SecretCommand::List {
            store,
            project,
            output,
            ..
        } => {
            let list = vault.list(project, store.as_deref()).await?;
            match output {
                ListOutput::Json => {
                    let v: Vec<_> = list
                        .iter()
                        .map(|s| {
                            serde_json::json!({
                                "project": project,
                                "store": s.store,
                                "key": s.key,
                                "digest": s.digest,
                                "updatedAt": s.updated_at,
                            })
                        })
                        .collect();
                    writeln!(io.stdout, "{}", serde_json::to_string_pretty(&v)?)?;
                }
                ListOutput::Table if list.is_empty() => {
                    writeln!(io.stderr, "No secrets found in project {project}.")?;
                }
                ListOutput::Table => {
                    let mut rows = vec![["STORE", "KEY", "DIGEST", "UPDATED"]
                        .map(String::from)
                        .to_vec()];
                    rows.extend(
                        list.into_iter()
                            .map(|s| vec![s.store, s.key, s.digest, s.updated_at]),
                    );
                    super::get::write_table(io.stdout, &rows)?;
                }
            }
        }
        SecretCommand::Delete {
            store,
            key,
            project,
            ..
        } => {
            if !vault.delete(project, store, key).await? {
                bail!("secret {store}/{key} not found in project {project}");
            }
            writeln!(
                io.stdout,
                "secret {store}/{key} deleted from project {project}"
            )?;
        }
        SecretCommand::Keygen { .. } => {}
    }
    Ok(())
}

fn keygen(file: &Path, io: &mut Io<'_>) -> anyhow::Result<()> {
    let key = MasterKey::generate()?;
    key.write_new(file)?;
    writeln!(
        io.stdout,
        "master key {} written to {} (mode 0600)",
        key.id(),
        file.display()
    )?;
    writeln!(
        io.stderr,
        "keep a copy somewhere safe: without this key the secrets sealed with it cannot be decrypted"
    )?;
    Ok(())
}

async fn run_command(args: &SecretArgs, database_url: &str, io: &mut Io<'_>) -> anyhow::Result<()> {
    let key_args = match &args.command {
        SecretCommand::Keygen { file } => return keygen(file, io),
        SecretCommand::Set { key_args, .. }
        | SecretCommand::List { key_args, .. }
        | SecretCommand::Delete { key_args, .. } => key_args,
    };
    // The key first: a missing or malformed key fails before the database is touched.
    let key = key_args.require()?;
    let store = Arc::new(crate::store::open(database_url).await?);
    let vault = SecretVault::new(store.clone(), key);
    let result = run_with(&args.command, &vault, io).await;
    store.close().await;
    result
}

/// Runs `secret`.
pub async fn run(args: &SecretArgs, database_url: &str, io: &mut Io<'_>) -> i32 {
    match run_command(args, database_url, io).await {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    }
}
