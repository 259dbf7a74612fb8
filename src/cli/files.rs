//! Reading documents from files, directories and standard input.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::spec::load::{LoadErrors, LoadedDocument, Loader};

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn walk(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if recursive {
                walk(&p, recursive, out)?;
            }
        } else if is_manifest(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Loads and validates every document the paths name. `-` reads standard input.
/// The outer error is an I/O problem; the inner one lists every invalid document.
pub fn load(
    paths: &[PathBuf],
    recursive: bool,
    stdin: &mut dyn std::io::Read,
) -> anyhow::Result<Result<Vec<LoadedDocument>, LoadErrors>> {
    load_with(Loader::new(), paths, recursive, stdin)
}

/// As [`load`], through a given loader (e.g. one that also checks deployability).
pub fn load_with(
    mut loader: Loader,
    paths: &[PathBuf],
    recursive: bool,
    stdin: &mut dyn std::io::Read,
) -> anyhow::Result<Result<Vec<LoadedDocument>, LoadErrors>> {
    let mut count = 0;
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            stdin
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            let text = crate::spec::yaml::decode_utf8(&bytes)
                .map_err(|e| anyhow::anyhow!("<stdin>:{e}"))?;
            loader.add_text("<stdin>", text);
            count += 1;
            continue;
        }
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        let files = if meta.is_dir() {
            let mut v = Vec::new();
            walk(path, recursive, &mut v)?;
            v
        } else {
            vec![path.clone()]
        };
        for f in files {
            let bytes =
                std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
            let text = crate::spec::yaml::decode_utf8(&bytes)
                .map_err(|e| anyhow::anyhow!("{}:{e}", f.display()))?;
            loader.add_text(&f.display().to_string(), text);
            count += 1;
        }
    }
    if count == 0 {
        bail!(
            "no .yaml, .yml or .json files found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(loader.finish())
}
