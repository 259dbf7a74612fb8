//! `af-operator schema`: writes or checks the JSON Schema files.

use std::path::PathBuf;

use clap::Args;

use super::Io;

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The directory to write one `<kind>.json` per kind into.
    #[arg(long, default_value = "crds")]
    pub out: PathBuf,
    /// Only check that the files are current; exit 1 when any differs.
    #[arg(long)]
    pub check: bool,
}

/// Runs `schema`.
pub fn run(args: &SchemaArgs, io: &mut Io<'_>) -> i32 {
    let mut stale = Vec::new();
    if !args.check {
        if let Err(e) = std::fs::create_dir_all(&args.out) {
            let _ = writeln!(
                io.stderr,
                "error: cannot create {}: {e}",
                args.out.display()
            );
            return 1;
        }
    }
    for (name, text) in crate::spec::schema::generate() {
        let path = args.out.join(&name);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(text.as_str()) {
            continue;
        }
        if args.check {
            stale.push(path.display().to_string());
        } else if let Err(e) = std::fs::write(&path, text) {
            let _ = writeln!(io.stderr, "error: cannot write {}: {e}", path.display());
            return 1;
        } else {
            let _ = writeln!(io.stdout, "wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        let _ = writeln!(
            io.stderr,
            "stale schemas (run `af-operator schema --out {}`): {}",
            args.out.display(),
            stale.join(", ")
        );
        return 1;
    }
    0
}
