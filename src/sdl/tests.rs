//! Tests of SDL conversion: the chain-sdk Go fixtures, refused SDLs, units, encodings.

use std::path::PathBuf;

use prost::Message;
use serde_json::{json, Value};

use super::canonical::{canonical_json, write_go_float, write_str};
use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/akash/fixtures");

/// The shared fixtures folder; in CI its absence fails the test, elsewhere it is announced.
fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(FIXTURES);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "SDL fixtures folder {FIXTURES} is missing (CI=true)"
    );
    eprintln!("NOTICE: SDL fixtures folder {FIXTURES} is missing; fixture test skipped");
    None
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Sorts every `endpoints` array inside group specs, so they compare as multisets.
fn normalize_endpoints(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "endpoints" {
                    if let Value::Array(items) = child {
                        items.sort_by_key(|e| e.to_string());
                    }
                }
                normalize_endpoints(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_endpoints),
        _ => {}
    }
}

fn go_fixture_names(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for version in ["v2.0", "v2.1"] {
        let base = dir.join("chain-sdk/output-fixtures").join(version);
        let mut entries: Vec<String> = std::fs::read_dir(&base)
            .unwrap_or_else(|e| panic!("list {}: {e}", base.display()))
            .filter_map(|e| e.ok())
            .map(|e| format!("{version}/{}", e.file_name().to_string_lossy()))
            .collect();
        entries.sort();
        names.extend(entries);
    }
    names
}

#[test]
fn go_fixtures_give_go_manifest_groups_and_version() {
    let Some(dir) = fixtures() else { return };
    let versions = read_json(&dir.join("chain-sdk/expected-versions.json"));
    let names = go_fixture_names(&dir);
    assert_eq!(names.len(), 15, "expected 15 Go fixtures, found {names:?}");
    for name in &names {
        let input = read(&dir.join("chain-sdk/input").join(name).join("input.yaml"));
        let out = dir.join("chain-sdk/output-fixtures").join(name);
        let conv = convert(&input).unwrap_or_else(|e| panic!("{name}: {e}"));

        let manifest = serde_json::to_value(&conv.manifest).expect("manifest json");
        assert_eq!(manifest, read_json(&out.join("manifest.json")), "{name}: manifest");

        let mut groups = serde_json::to_value(&conv.groups).expect("groups json");
        let mut expected = read_json(&out.join("group-specs.json"));
        normalize_endpoints(&mut groups);
        normalize_endpoints(&mut expected);
        assert_eq!(groups, expected, "{name}: group specs");

        assert_eq!(
            Some(conv.version.to_hex().as_str()),
            versions[name.as_str()].as_str(),
            "{name}: version"
        );

        // The typed canonical writer agrees with the generic encoder.
        assert_eq!(
            conv.manifest.canonical_json(),
            canonical_json(&manifest),
            "{name}: canonical json"
        );
        // Both forms read back into the same values.
        let back: Manifest = serde_json::from_value(manifest).expect("manifest back");
        assert_eq!(back, conv.manifest, "{name}: manifest round trip");
        for g in &conv.groups {
            let decoded = GroupSpec::decode(g.encode_to_vec().as_slice()).expect("decode");
            assert_eq!(&decoded, g, "{name}: protobuf round trip");
            let json = serde_json::to_value(g).expect("group json");
            let back: GroupSpec = serde_json::from_value(json).expect("group back");
            assert_eq!(&back, g, "{name}: group json round trip");
        }
    }
}

#[test]
fn ts_golden_basic_version() {
    let Some(dir) = fixtures() else { return };
    let input = read(&dir.join("ts-golden/basic.yaml"));
    let expected = read(&dir.join("ts-golden/basic.version"));
    let conv = convert(&input).unwrap_or_else(|e| panic!("basic.yaml: {e}"));
    assert_eq!(conv.version.to_hex(), expected.trim());
}

#[test]
fn zz_print_invalid() {
    let Some(dir) = fixtures() else { return };
    for sub in ["invalid", "schema-only-invalid"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("chain-sdk/input").join(sub)).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let r = convert(&read(&f));
            eprintln!("{}: {:?}", f.file_name().unwrap().to_string_lossy(), r.err().map(|e| e.to_string()));
        }
    }
}
