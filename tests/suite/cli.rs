//! The binary, end to end, on SQLite and on PostgreSQL.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{examples_dir, TestDb};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn af(db: &str, args: &[&str]) -> Run {
    af_stdin(db, args, "")
}

fn af_stdin(db: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args(args)
        .env("AF_DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn af-operator");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into(),
        stderr: String::from_utf8_lossy(&stderr).into(),
    }
}

fn lifecycle(db: &str) {
    let ex = examples_dir();
    let ex = ex.to_str().unwrap();

    let r = af(db, &["apply", "-f", ex, "-R"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.matches(" created").count(), 8, "{}", r.stdout);
    assert!(
        r.stdout.contains("agent/defarm-api created"),
        "{}",
        r.stdout
    );

    let r = af(db, &["apply", "-f", ex]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.matches(" unchanged").count(), 8, "{}", r.stdout);

    let r = af(db, &["get", "agents", "--project", "platform"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let header = r.stdout.lines().next().unwrap();
    for col in ["NAME", "READY", "REASON", "AGE"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(r.stdout.contains("defarm-api") && r.stdout.contains("research-agent"));

    let r = af(
        db,
        &[
            "get",
            "AG",
            "defarm-api",
            "--project",
            "platform",
            "-o",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["metadata"]["generation"], 1);
    assert_eq!(v["spec"]["replicas"], 1);

    let r = af(db, &["get", "fn", "-A", "-o", "yaml", "-l", "team=core"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("name: users-api"), "{}", r.stdout);

    let r = af(
        db,
        &["describe", "agent", "defarm-api", "--project", "platform"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for part in [
        "Name:",
        "defarm-api",
        "Spec:",
        "Conditions:",
        "Events:",
        "image: ghcr.io",
    ] {
        assert!(r.stdout.contains(part), "missing {part}: {}", r.stdout);
    }

    let r = af(db, &["diff", "-f", ex]);
    assert_eq!(
        r.code, 0,
        "diff after apply must be empty: {}{}",
        r.stdout, r.stderr
    );

    // Edit a copy: diff says 1 and shows the change; apply configures; generation bumps.
    let tmp = tempfile::tempdir().unwrap();
    let edited = tmp.path().join("api.yaml");
    let text = std::fs::read_to_string(examples_dir().join("agent-api.yaml"))
        .unwrap()
        .replace("defarm-api:1.4.2", "defarm-api:1.5.0");
    std::fs::write(&edited, text).unwrap();
    let e = edited.to_str().unwrap();
    let r = af(db, &["diff", "-f", e]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("-  image: ghcr.io/alternatefutures/defarm-api:1.4.2"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("+  image: ghcr.io/alternatefutures/defarm-api:1.5.0"),
        "{}",
        r.stdout
    );
    let r = af(db, &["apply", "-f", e]);
    assert_eq!(
        r.stdout.trim(),
        "agent/defarm-api configured",
        "{}",
        r.stderr
    );
    let r = af(
        db,
        &[
            "get",
            "agent",
            "defarm-api",
            "--project",
            "platform",
            "-o",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["metadata"]["generation"], 2);

    // Bad input: precise errors, exit codes, and nothing written.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("a-good.yaml"),
        "apiVersion: alternatefutures.ai/v1alpha1\nkind: Site\nmetadata: {name: fresh-site}\nspec:\n  source: {ipfs: QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG}\n",
    )
    .unwrap();
    std::fs::write(
        bad.join("b-bad.yaml"),
        "apiVersion: alternatefutures.ai/v1alpha1\nkind: Agent\nmetadata: {name: x}\nspec:\n  image: a:1\n  resources: {cpu: 1, memory: 1GB}\n",
    )
    .unwrap();
    let b = bad.to_str().unwrap();
    let r = af(db, &["apply", "-f", b]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("b-bad.yaml:6:"), "{}", r.stderr);
    assert!(r.stderr.contains("spec.resources.memory"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was applied"), "{}", r.stderr);
    let r = af(db, &["get", "site", "fresh-site"]);
    assert_eq!(
        r.code, 1,
        "the valid document of a failed apply must not be written"
    );
    assert!(r.stderr.contains("not found"), "{}", r.stderr);
    assert_eq!(af(db, &["diff", "-f", b]).code, 2);
    assert_eq!(af(db, &["get", "wizards"]).code, 1);

    // Standard input.
    let r = af_stdin(
        db,
        &["apply", "-f", "-"],
        "apiVersion: alternatefutures.ai/v1alpha1\nkind: Site\nmetadata: {name: from-stdin}\nspec:\n  source: {arweave: bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U}\n",
    );
    assert_eq!(r.stdout.trim(), "site/from-stdin created", "{}", r.stderr);

    // Delete by name and by file, then gone.
    let r = af(db, &["delete", "site", "from-stdin", "--wait"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("site/from-stdin deleted"), "{}", r.stdout);
    let r = af(
        db,
        &[
            "delete",
            "-f",
            &Path::new(ex).join("site.yaml").display().to_string(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = af(db, &["get", "site", "docs", "--project", "platform"]);
    assert_eq!(r.code, 1);
    let r = af(db, &["delete", "site", "docs", "--project", "platform"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not found"), "{}", r.stderr);
}

#[test]
fn cli_lifecycle_on_sqlite() {
    let db = TestDb::sqlite();
    lifecycle(&db.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lifecycle_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || lifecycle(&url))
        .await
        .unwrap();
}

#[test]
fn help_is_useful_everywhere() {
    for cmd in [
        &["--help"][..],
        &["apply", "--help"],
        &["get", "--help"],
        &["diff", "--help"],
    ] {
        let r = af("sqlite://unused.db", cmd);
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("--database-url"),
            "{:?}: {}",
            cmd,
            r.stdout
        );
    }
}

fn fixtures() -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/akash/fixtures/chain-sdk");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").is_err(),
        "{} is missing; CI must have the fixtures",
        dir.display()
    );
    eprintln!(
        "NOTICE: {} missing; sdl convert CLI test skipped",
        dir.display()
    );
    None
}

#[test]
fn sdl_convert_prints_manifest_groups_and_version() {
    let Some(dir) = fixtures() else { return };
    let versions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected-versions.json")).unwrap())
            .unwrap();
    let input = dir.join("input/v2.0/ip-endpoint/input.yaml");
    let r = af(
        "sqlite://unused.db",
        &["sdl", "convert", input.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["version"], versions["v2.0/ip-endpoint"]);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("output-fixtures/v2.0/ip-endpoint/manifest.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out["manifest"], manifest);
    assert_eq!(out["groups"][0]["name"], "akash");

    // Standard input, and an invalid SDL: errors on stderr, exit 2.
    let text = std::fs::read_to_string(dir.join("input/invalid/port-zero.yaml")).unwrap();
    let r = af_stdin("sqlite://unused.db", &["sdl", "convert", "-"], &text);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("port"), "{}", r.stderr);
}

#[test]
fn render_prints_sdl_or_manifest_and_hides_secrets() {
    let f = examples_dir().join("agent-api.yaml");
    let f = f.to_str().unwrap();
    let r = af("sqlite://unused.db", &["render", "-f", f]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("DATABASE_URL=<redacted>"), "{}", r.stdout);
    assert!(r.stderr.contains("redacted"), "{}", r.stderr);
    let r = af("sqlite://unused.db", &["render", "-f", f, "--manifest"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["version"].as_str().unwrap().len(), 64);
    let tmp = tempfile::tempdir().unwrap();
    let secrets = tmp.path().join("secrets.yaml");
    std::fs::write(
        &secrets,
        "platform:\n  platform-secrets:\n    DEFARM_DATABASE_URL: postgres://x:hunter2@db/d\n    DEFARM_DB_PASSWORD: pw\n",
    )
    .unwrap();
    let s = secrets.to_str().unwrap();
    let r = af(
        "sqlite://unused.db",
        &["render", "-f", f, "--secrets-file", s],
    );
    assert!(
        !r.stdout.contains("hunter2"),
        "shown without --show-secrets"
    );
    let r = af(
        "sqlite://unused.db",
        &["render", "-f", f, "--show-secrets", "--secrets-file", s],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("hunter2"));
    let dns = examples_dir().join("dns-zone.yaml");
    let r = af(
        "sqlite://unused.db",
        &["render", "-f", dns.to_str().unwrap()],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("has no Akash deployment"), "{}", r.stderr);
}

/// Eight processes at once, each opening (and so migrating) the same new store and applying
/// its own document: every one must succeed, and the store must hold all eight.
fn concurrent_first_applies(db: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let file = tmp.path().join(format!("site-{i}.yaml"));
            std::fs::write(
                &file,
                format!("apiVersion: alternatefutures.ai/v1alpha1\nkind: Site\nmetadata: {{name: racer-{i}}}\nspec:\n  source: {{ipfs: QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG}}\n"),
            )
            .unwrap();
            Command::new(env!("CARGO_BIN_EXE_af-operator"))
                .args(["apply", "-f", file.to_str().unwrap()])
                .env("AF_DATABASE_URL", db)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn af-operator")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "process {i} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("site/racer-{i} created")
        );
    }
    let r = af(db, &["get", "sites", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for i in 0..8 {
        assert!(r.stdout.contains(&format!("\"racer-{i}\"")), "{}", r.stdout);
    }
}

#[test]
fn concurrent_processes_open_a_new_sqlite_store() {
    // The race is timing-dependent: a few rounds, each on a fresh file.
    for _ in 0..4 {
        let db = TestDb::sqlite();
        concurrent_first_applies(&db.url);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_processes_open_a_new_postgres_store() {
    for _ in 0..2 {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        let url = db.url.clone();
        tokio::task::spawn_blocking(move || concurrent_first_applies(&url))
            .await
            .unwrap();
    }
}

/// `get -o yaml`, edit, `apply`: refused with both versions once someone else wrote first.
fn stale_apply(db: &str) {
    let site = "apiVersion: alternatefutures.ai/v1alpha1\nkind: Site\nmetadata: {name: occ-site, project: web}\nspec:\n  source: {ipfs: QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG}\n";
    let r = af_stdin(db, &["apply", "-f", "-"], site);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let read = af(
        db,
        &["get", "site", "occ-site", "--project", "web", "-o", "yaml"],
    );
    assert_eq!(read.code, 0, "{}", read.stderr);
    let v: serde_json::Value = serde_yaml::from_str(&read.stdout).unwrap();
    let read_rv = v["metadata"]["resourceVersion"].as_i64().unwrap();
    let edited = |ipfs: &str| {
        read.stdout
            .replace("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", ipfs)
    };

    // Someone else writes first (without a version: unconditional).
    let r = af_stdin(
        db,
        &["apply", "-f", "-"],
        &site.replace(
            "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
        ),
    );
    assert_eq!(r.stdout.trim(), "site/occ-site configured", "{}", r.stderr);
    let now = af(
        db,
        &["get", "site", "occ-site", "--project", "web", "-o", "json"],
    );
    let now: serde_json::Value = serde_json::from_str(&now.stdout).unwrap();
    let now_rv = now["metadata"]["resourceVersion"].as_i64().unwrap();
    assert!(now_rv > read_rv);

    // Our edit of the old read is refused, naming the resource and both versions.
    let r = af_stdin(
        db,
        &["apply", "-f", "-"],
        &edited("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "conflict on site/occ-site (project web): resourceVersion {read_rv} is stale (now {now_rv})"
        )),
        "{}",
        r.stderr
    );
    let after = af(
        db,
        &["get", "site", "occ-site", "--project", "web", "-o", "json"],
    );
    assert!(after
        .stdout
        .contains("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"));

    // Read again, edit, apply: it lands.
    let read = af(
        db,
        &["get", "site", "occ-site", "--project", "web", "-o", "yaml"],
    );
    let text = read.stdout.replace(
        "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
    );
    let r = af_stdin(db, &["apply", "-f", "-"], &text);
    assert_eq!(r.stdout.trim(), "site/occ-site configured", "{}", r.stderr);
}

#[test]
fn stale_apply_is_refused_on_sqlite() {
    let db = TestDb::sqlite();
    stale_apply(&db.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_apply_is_refused_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || stale_apply(&url))
        .await
        .unwrap();
}

/// `sdl convert` and `apply` place every refusal: file:line:column (and the path), and a
/// byte offset for text that is not UTF-8.
#[test]
fn sdl_convert_and_apply_errors_name_line_column_and_byte_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let sdl = "version: \"2.0\"\nservices:\n  web:\n    imag: nginx\n";
    let r = af_stdin("sqlite://unused.db", &["sdl", "convert", "-"], sdl);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("<stdin>:4:5: services.web.imag: unknown key \"imag\""),
        "{}",
        r.stderr
    );
    let r = af_stdin(
        "sqlite://unused.db",
        &["sdl", "convert", "-"],
        "a: 1\n---\nb: 2\n",
    );
    assert!(r.stderr.starts_with("<stdin>:2:1: "), "{}", r.stderr);
    let r = af_stdin(
        "sqlite://unused.db",
        &["sdl", "convert", "-"],
        &format!("a: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    assert!(r.stderr.contains(":1:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("nesting deeper than 128 levels"),
        "{}",
        r.stderr
    );

    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, b"kind: Site\nname: \xff\n").unwrap();
    let bad = bad.to_str().unwrap();
    let r = af("sqlite://unused.db", &["sdl", "convert", bad]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "{bad}:2:7: not UTF-8 text: invalid byte at offset 17"
        )),
        "{}",
        r.stderr
    );
    let db = tmp.path().join("af.db");
    let r = af(&format!("sqlite://{}", db.display()), &["apply", "-f", bad]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(&format!(
            "{bad}:2:7: not UTF-8 text: invalid byte at offset 17"
        )),
        "{}",
        r.stderr
    );
}
