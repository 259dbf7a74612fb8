//! Benchmark of SDL conversion (SDL text to manifest, deployment groups and version) over
//! the chain-sdk fixture SDLs in `../shared/akash/fixtures`.
//!
//! `cargo bench --bench sdl` (from the root or `crates/akash`; only the protocol crate is
//! built). The same work in Akash's TypeScript chain-sdk, over the same fixtures:
//! `node tools/interop/sdl-bench.js` (after `npm install` there).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use af_akash::sdl;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Used when the fixtures folder is absent, so the benchmark still measures something.
const FALLBACK_SDL: &str = r#"
version: "2.0"
services:
  web:
    image: nginx:1.27
    expose:
      - port: 80
        as: 80
        to:
          - global: true
profiles:
  compute:
    web:
      resources:
        cpu: {units: 0.5}
        memory: {size: 512Mi}
        storage: {size: 1Gi}
  placement:
    dc:
      pricing:
        web: {denom: uact, amount: 1000}
deployment:
  web:
    dc: {profile: web, count: 1}
"#;

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

/// Every valid fixture SDL: the Go fixtures (v2.0 and v2.1) and the TS golden one.
fn fixture_sdls() -> Vec<String> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/akash/fixtures");
    let mut sdls = Vec::new();
    collect(&base.join("chain-sdk/input/v2.0"), &mut sdls);
    collect(&base.join("chain-sdk/input/v2.1"), &mut sdls);
    if let Ok(text) = std::fs::read_to_string(base.join("ts-golden/basic.yaml")) {
        sdls.push(text);
    }
    if sdls.is_empty() {
        eprintln!(
            "NOTICE: no fixtures under {}; benchmarking a built-in SDL",
            base.display()
        );
        sdls.push(FALLBACK_SDL.to_owned());
    }
    sdls
}

fn bench(c: &mut Criterion) {
    let sdls = fixture_sdls();
    let mut group = c.benchmark_group("sdl");
    group.throughput(Throughput::Elements(sdls.len() as u64));
    group.bench_function("convert", |b| {
        b.iter(|| {
            for text in &sdls {
                let conversion = sdl::convert(black_box(text)).expect("fixture SDL converts");
                black_box(conversion);
            }
        })
    });
    group.bench_function("yaml-events", |b| {
        b.iter(|| {
            for text in &sdls {
                let mut p = yaml_rust2::parser::Parser::new_from_str(black_box(text));
                loop {
                    match p.next_token() {
                        Ok((yaml_rust2::parser::Event::StreamEnd, _)) | Err(_) => break,
                        Ok(e) => {
                            black_box(e);
                        }
                    }
                }
            }
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            for text in &sdls {
                black_box(sdl::parse(black_box(text)).expect("fixture SDL parses"));
            }
        })
    });
    let parsed: Vec<sdl::Sdl> = sdls
        .iter()
        .map(|t| sdl::parse(t).expect("fixture SDL parses"))
        .collect();
    group.bench_function("version", |b| {
        b.iter(|| {
            for s in &parsed {
                black_box(s.manifest().version());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
