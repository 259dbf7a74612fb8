//! Converts every fixture SDL `N` times (default 20) and exits: a fixed amount of work for
//! instruction counts that do not depend on the machine's load, e.g.
//! `valgrind --tool=callgrind target/release/examples/sdl-count 20` (compare the `Ir` total
//! before and after a change; the timed figures come from `cargo bench --bench sdl`).

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(&path, out);
        } else if path.file_name().is_some_and(|n| n == "input.yaml") {
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push(text);
            }
        }
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/akash/fixtures");
    let mut sdls = Vec::new();
    collect(&base.join("chain-sdk/input/v2.0"), &mut sdls);
    collect(&base.join("chain-sdk/input/v2.1"), &mut sdls);
    if let Ok(text) = std::fs::read_to_string(base.join("ts-golden/basic.yaml")) {
        sdls.push(text);
    }
    if sdls.is_empty() {
        eprintln!("no fixtures under {}", base.display());
        std::process::exit(1);
    }
    for _ in 0..rounds {
        for text in &sdls {
            let c = af_akash::sdl::convert(std::hint::black_box(text)).expect("fixture converts");
            std::hint::black_box(c);
        }
    }
    println!("{} SDLs x {rounds} rounds", sdls.len());
}
