//! The examples and the committed schemas.

use af_operator::spec::load::Loader;
use af_operator::spec::Kind;

use crate::common::examples_dir;

#[test]
fn every_example_parses_validates_and_names_its_schema() {
    let mut loader = Loader::new();
    let mut kinds = Vec::new();
    // The spec files (not `bundles/`, the functions' code).
    let mut files: Vec<_> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 8, "examples missing: {files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let schema = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} must start with a $schema line", f.display()));
        assert!(
            f.parent().unwrap().join(schema).is_file(),
            "{}: schema {schema} does not exist",
            f.display()
        );
        loader.add_text(&f.display().to_string(), &text);
    }
    let docs = loader.finish().unwrap_or_else(|e| panic!("{e}"));
    for d in &docs {
        kinds.push(d.input.key.kind);
    }
    for k in Kind::ALL {
        assert!(kinds.contains(&k), "no example of {k}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == Kind::Agent).count(), 2);
}

#[test]
fn committed_schemas_equal_the_generator_output() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    for (name, text) in af_operator::spec::schema::generate() {
        let committed = std::fs::read_to_string(dir.join(&name)).unwrap_or_else(|_| {
            panic!("crds/{name} is missing: run `af-operator schema --out crds`")
        });
        assert!(
            committed == text,
            "crds/{name} is stale: run `af-operator schema --out crds`"
        );
    }
}

#[test]
fn schemas_describe_fields_from_doc_comments() {
    let s = af_operator::spec::schema::for_kind(Kind::Agent);
    let text = s.to_string();
    assert!(text.contains("The container image"), "descriptions missing");
    assert_eq!(s["properties"]["kind"]["const"], "Agent");
    assert_eq!(s["additionalProperties"], false);
}

/// The example Function names the bundle shipped beside it (`examples/bundles/users-api.js`):
/// its CID as `ipfs add --cid-version 1` computes it, and its BLAKE3.
#[test]
fn the_example_function_names_its_shipped_bundle() {
    let bundle = std::fs::read(examples_dir().join("bundles/users-api.js")).unwrap();
    let text = std::fs::read_to_string(examples_dir().join("function.yaml")).unwrap();
    let docs = af_operator::spec::load::load_str("function.yaml", &text).unwrap();
    let af_operator::spec::Spec::Function(f) = &docs[0].input.spec else {
        panic!("function.yaml holds a Function");
    };
    let store = af_operator::devnet::ipfs::BlockStore::default();
    assert_eq!(f.code.cid, store.add(&bundle, 1).to_string());
    assert_eq!(f.code.blake3, blake3::hash(&bundle).to_hex().to_string());
}
