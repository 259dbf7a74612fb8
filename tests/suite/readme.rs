//! The README's snippets, executed: YAML documents load and validate, GraphQL documents run
//! against the API without errors, and every `af-operator` command line parses with the real
//! CLI; the ones that run offline (store, schema and render commands) are run, in order, on a
//! fresh store from the repository root, and must succeed.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use af_operator::api::{auth, Api, ApiConfig};
use af_operator::spec::load::Loader;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use clap::CommandFactory;
use tower::ServiceExt;

use crate::common::TestDb;

struct Block {
    lang: String,
    text: String,
    line: usize,
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The fenced code blocks, with their language and first line.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                current = Some(Block {
                    lang: lang.trim().to_string(),
                    text: String::new(),
                    line: i + 2,
                })
            }
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some(b), None) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// Splits a shell line into words: quotes, backslashes and `#` comments as sh treats them.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// The `af-operator` command lines of a shell block (continuations joined; after a pipe).
fn commands(block: &str) -> Vec<String> {
    let joined = block.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .rsplit_once("| af-operator ")
                .map_or(l.to_string(), |(_, rest)| format!("af-operator {rest}"));
            l.starts_with("af-operator ").then_some(l)
        })
        .collect()
}

/// A synopsis line's placeholders: optional `[…]` groups go, `a|b` alternatives take the
/// first, and upper-case names take a sample value.
fn concrete(words: &[String]) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut placeholder = false;
    let mut depth = 0usize;
    for w in words {
        let opens = w.matches('[').count();
        let closes = w.matches(']').count();
        if w.starts_with('[') || depth > 0 {
            placeholder = true;
            depth = (depth + opens).saturating_sub(closes);
            continue;
        }
        let sample = match w.as_str() {
            "DSEQ" | "N" | "ID" => "123".to_string(),
            "STORE" => "platform-secrets".into(),
            "KEY" => "KEY".into(),
            "FILE" | "DIR" | "ADDR" | "P" | "PATH" => "x".into(),
            _ if w.contains('…') => w
                .replace("akash1…", af_operator::devnet::test_account(0).0.address())
                .replace('…', "x"),
            _ if w.contains('|') && !w.contains('=') => {
                w.split('|').next().unwrap_or_default().to_string()
            }
            _ if w.contains("USER:PASSWORD@HOST") => {
                w.replace("USER:PASSWORD@HOST", "u:p@localhost")
            }
            _ => w.clone(),
        };
        if &sample != w {
            placeholder = true;
        }
        out.push(sample);
    }
    (out, placeholder)
}

/// Commands that need no network, daemon or chain: the test runs them.
const OFFLINE: [&str; 10] = [
    "apply",
    "get",
    "describe",
    "diff",
    "delete",
    "explain",
    "render",
    "sdl",
    "completion",
    "man",
];

#[test]
fn readme_shell_snippets_parse_and_the_offline_ones_run() {
    let text = readme();
    let db = TestDb::sqlite();
    let bin = Path::new(env!("CARGO_BIN_EXE_af-operator"));
    let root = env!("CARGO_MANIFEST_DIR");
    let mut ran = 0;
    let mut parsed = 0;
    for b in blocks(&text).iter().filter(|b| b.lang == "sh") {
        let mut runnable = Vec::new();
        for line in commands(&b.text) {
            let w = words(&line);
            let (args, placeholder) = concrete(&w);
            if let Err(e) = af_operator::cli::Cli::command().try_get_matches_from(&args) {
                panic!("README.md:{}: `{line}` does not parse: {e}", b.line);
            }
            parsed += 1;
            let sub = args.get(1).map(String::as_str).unwrap_or_default();
            runnable.push((!placeholder && OFFLINE.contains(&sub)).then_some((line, w)));
        }
        // A block runs when all of it can (a block with a daemon or a secret is parsed only).
        if runnable.is_empty() || runnable.iter().any(Option::is_none) {
            continue;
        }
        for (line, w) in runnable.into_iter().flatten() {
            let out = Command::new(bin)
                .args(&w[1..])
                .current_dir(root)
                .env("AF_DATABASE_URL", &db.url)
                .env_remove("AF_PROJECT")
                .env_remove("AF_CONFIG")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "README.md:{}: `{line}` failed ({}): {}",
                b.line,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(parsed >= 20, "only {parsed} command lines found");
    assert!(ran >= 6, "only {ran} offline command lines ran");
}

#[test]
fn readme_yaml_snippets_are_valid_documents() {
    let text = readme();
    let mut checked = 0;
    for b in blocks(&text).iter().filter(|b| b.lang == "yaml") {
        let mut loader = Loader::new();
        loader.add_text(&format!("README.md:{}", b.line), &b.text);
        if let Err(e) = loader.finish() {
            panic!("README.md:{}: {e}", b.line);
        }
        checked += 1;
    }
    assert!(checked >= 1);
}

/// Every GraphQL document: ```graphql blocks and the `"query":"…"` of the curl examples.
fn graphql_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    for b in blocks(text) {
        if b.lang == "graphql" {
            docs.push((b.line, b.text.clone()));
        }
        if b.lang == "sh" {
            for w in b.text.replace("\\\n", " ").lines().flat_map(words) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&w) {
                    if let Some(q) = v["query"].as_str() {
                        docs.push((b.line, q.to_string()));
                    }
                }
            }
        }
    }
    docs
}

#[tokio::test]
async fn readme_graphql_documents_run_without_errors() {
    let db = TestDb::sqlite();
    let store = Arc::new(db.open().await);
    let mut loader = Loader::new();
    for e in std::fs::read_dir(crate::common::examples_dir()).unwrap() {
        let p = e.unwrap().path();
        if !p.is_file() {
            continue;
        }
        loader.add_text(
            &p.display().to_string(),
            &std::fs::read_to_string(&p).unwrap(),
        );
    }
    let inputs: Vec<_> = loader
        .finish()
        .unwrap()
        .into_iter()
        .map(|d| d.input)
        .collect();
    af_operator::store::Store::apply(store.as_ref(), &inputs)
        .await
        .unwrap();
    let (token, _) = auth::create_token(store.as_ref(), "platform", true, "readme")
        .await
        .unwrap();
    let api = Api::new(
        store.clone(),
        store.clone(),
        None,
        ApiConfig {
            rate_limit: None,
            ..ApiConfig::default()
        },
    );
    let docs = graphql_documents(&readme());
    assert!(docs.len() >= 2, "{docs:?}");
    for (line, query) in docs {
        let body = serde_json::json!({"query": query}).to_string();
        let req = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", token.expose_secret()),
            )
            .body(Body::from(body))
            .unwrap();
        let resp = api.router().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "README.md:{line}");
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            v.get("errors").is_none(),
            "README.md:{line}: `{query}`: {v}"
        );
        assert!(v["data"].is_object(), "README.md:{line}: {v}");
    }
}

#[test]
fn shell_words_split_like_sh() {
    assert_eq!(
        words(r#"a 'b c' "d \"e\"" f\ g # comment"#),
        ["a", "b c", "d \"e\"", "f g"]
    );
    assert_eq!(words("x=#y"), ["x=#y"]);
}
