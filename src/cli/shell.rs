//! `completion bash|zsh|fish|…` (clap_complete) and `man` (clap_mangen): generated from the
//! same command definitions the parser uses, so they never drift.

use anyhow::Context;
use clap::CommandFactory;

use super::{Cli, CompletionArgs, Io, ManArgs};

/// Prints the completion script of a shell.
pub fn completion(args: &CompletionArgs, io: &mut Io<'_>) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "af-operator", &mut buf);
    io.stdout.write_all(&buf)?;
    Ok(())
}

fn render(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf)?;
    Ok(buf)
}

/// Writes `cmd`'s page and its subcommands' pages (`af-operator-get.1`, …) into `dir`.
fn write_pages(
    cmd: &clap::Command,
    prefix: &str,
    dir: &std::path::Path,
    written: &mut Vec<String>,
) -> anyhow::Result<()> {
    let file = format!("{prefix}.1");
    let page = render(cmd.clone().name(prefix.to_string()))?;
    let path = dir.join(&file);
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(file);
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        write_pages(sub, &format!("{prefix}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

/// Prints the main man page, or writes every page into `--out DIR`.
pub fn man(args: &ManArgs, io: &mut Io<'_>) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    cmd.build();
    match &args.out {
        None => {
            io.stdout.write_all(&render(cmd)?)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let mut written = Vec::new();
            write_pages(&cmd, "af-operator", dir, &mut written)?;
            writeln!(
                io.stdout,
                "wrote {} man pages into {}",
                written.len(),
                dir.display()
            )?;
        }
    }
    Ok(())
}
