//! `--config FILE` (or `AF_CONFIG`): one TOML file of settings, read once at start-up. Its
//! keys are `project` (the default `--project` of `get`, `describe`, `delete`, …),
//! `database-url`, and the long flags of `serve` (`network`, `workers`, `resync`, …), in kebab
//! or snake case. Precedence: a flag, then its `AF_*` variable, then
//! the file, then the built-in default — the file's values become the flags' defaults.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches};

use super::{Cli, ROOT_DATABASE_URL};

/// The subcommand whose flags a config file sets.
const SECTION: &str = "serve";

/// Finds `--config FILE` / `--config=FILE` in the arguments, else `AF_CONFIG`.
fn config_path(args: &[OsString], env: Option<OsString>) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    env.filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The settings of a config file: flag id → value text. Errors name the file, the line, the
/// key and what would be valid.
pub fn read_settings(path: &Path, valid: &[String]) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: cannot read the config file: {}",
            path.display(),
            e.kind()
        )
    })?;
    let table: BTreeMap<toml::Spanned<String>, toml::Spanned<toml::Value>> = toml::from_str(&text)
        .map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(&text, s.start));
            format!("{}:{line}: {}", path.display(), e.message())
        })?;
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let line = line_of(&text, key.span().start);
        let id = key.get_ref().replace('-', "_");
        if !valid.contains(&id) {
            let near = valid
                .iter()
                .map(|v| (strsim::jaro_winkler(v, &id), v))
                .filter(|(score, _)| *score > 0.85)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, v)| format!("; did you mean `{}`?", v.replace('_', "-")))
                .unwrap_or_default();
            let list: Vec<String> = valid.iter().map(|v| v.replace('_', "-")).collect();
            return Err(format!(
                "{}:{line}: unknown setting `{}`{near} (valid: {})",
                path.display(),
                key.get_ref(),
                list.join(", ")
            ));
        }
        let text_value = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "{}:{line}: `{}` must be a string, number or boolean, not {}",
                    path.display(),
                    key.get_ref(),
                    other.type_str()
                ))
            }
        };
        out.insert(id, text_value);
    }
    Ok(out)
}

/// Sets the default of every (sub)command argument with this id.
fn set_default_everywhere(mut cmd: clap::Command, id: &str, value: &str) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(&name, |sc| {
            let sc = if sc.get_arguments().any(|a| a.get_id() == id) {
                sc.mut_arg(id, |a| a.default_value(value.to_string()))
            } else {
                sc
            };
            set_default_everywhere(sc, id, value)
        });
    }
    cmd
}

/// The store URL of the command line: the command's `--database-url` when given on it, else
/// the one written before the command name, else the command's `AF_DATABASE_URL`, config file
/// or built-in default.
fn database_url(matches: &clap::ArgMatches) -> String {
    let root = matches.get_one::<String>(ROOT_DATABASE_URL).cloned();
    let mut m = matches;
    let mut sub = None;
    while let Some((_, next)) = m.subcommand() {
        if let Ok(Some(v)) = next.try_get_one::<String>("database_url") {
            sub = Some((v.clone(), next.value_source("database_url")));
            break;
        }
        m = next;
    }
    match (sub, root) {
        (Some((v, Some(clap::parser::ValueSource::CommandLine))), _) => v,
        (_, Some(r)) => r,
        (Some((v, _)), None) => v,
        (None, None) => super::DEFAULT_DATABASE_URL.to_string(),
    }
}

/// Parses the command line, with a config file's settings as the flags' defaults. Clap's
/// own errors (and `--help`) exit as clap does; a bad config file is an `Err` to print.
pub fn parse(args: Vec<OsString>, env_config: Option<OsString>) -> Result<Cli, String> {
    let mut cmd = Cli::command();
    if let Some(path) = config_path(&args, env_config) {
        let sub = cmd.find_subcommand(SECTION).expect("serve is a subcommand");
        let mut valid: Vec<String> = sub
            .get_arguments()
            .filter(|a| a.get_long().is_some())
            .map(|a| a.get_id().to_string())
            .filter(|id| id != "config")
            .collect();
        valid.extend(GENERAL.iter().map(|s| s.to_string()));
        valid.sort();
        valid.dedup();
        let settings = read_settings(&path, &valid)?;
        for (id, value) in settings {
            if GENERAL.contains(&id.as_str()) {
                cmd = set_default_everywhere(cmd, &id, &value);
            } else {
                cmd = cmd.mut_subcommand(SECTION, |sc| sc.mut_arg(id, |a| a.default_value(value)));
            }
        }
    }
    let matches = cmd.get_matches_from(args);
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    cli.database_url = database_url(&matches);
    Ok(cli)
}

/// Settings of a config file that are the default of every command that has the flag.
const GENERAL: [&str; 2] = ["database_url", "project"];

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("af-operator.toml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    fn args(extra: &[&str], config: &Path) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec!["af-operator".into(), "--config".into(), config.into()];
        v.extend(extra.iter().map(OsString::from));
        v
    }

    #[test]
    fn the_file_sets_defaults_and_flags_win() {
        let (_d, p) = write("network = \"devnet\"\nworkers = 4\nmax-backoff = \"2m\"\ndatabase-url = \"sqlite://x.db\"\ncontrollers = false\n");
        let cli = parse(args(&["serve"], &p), None).unwrap();
        let super::super::Command::Serve { args: s, .. } = &cli.command else {
            panic!()
        };
        assert_eq!(s.network, "devnet");
        assert_eq!(s.workers, 4);
        assert_eq!(s.max_backoff, std::time::Duration::from_secs(120));
        assert!(!s.controllers);
        assert_eq!(cli.database_url, "sqlite://x.db");
        let cli = parse(args(&["serve", "--workers", "9"], &p), None).unwrap();
        let super::super::Command::Serve { args: s, .. } = &cli.command else {
            panic!()
        };
        assert_eq!(s.workers, 9);
    }

    #[test]
    fn unknown_keys_and_bad_toml_name_file_and_line() {
        let (_d, p) = write("network = \"devnet\"\nworkerz = 4\n");
        let e = parse(args(&["serve"], &p), None).unwrap_err();
        assert!(
            e.contains("af-operator.toml:2: unknown setting `workerz`; did you mean `workers`?"),
            "{e}"
        );
        let (_d, p) = write("network = \n");
        let e = parse(args(&["serve"], &p), None).unwrap_err();
        assert!(e.contains("af-operator.toml:1:"), "{e}");
        let (_d, p) = write("network = [1]\n");
        let e = parse(args(&["serve"], &p), None).unwrap_err();
        assert!(e.contains(":1: `network` must be a string"), "{e}");
    }

    #[test]
    fn the_path_comes_from_the_flag_or_the_environment() {
        let a: Vec<OsString> = vec!["x".into(), "--config=a.toml".into()];
        assert_eq!(config_path(&a, None), Some(PathBuf::from("a.toml")));
        assert_eq!(
            config_path(&[], Some("b.toml".into())),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(config_path(&[], None), None);
    }
}
