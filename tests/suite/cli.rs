//! The binary, end to end, on SQLite and on PostgreSQL.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{examples_dir, postgres_admin_url, TestDb};

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
    // `--database-url` shows on the commands that open the store, and only there.
    for cmd in [
        &["apply", "--help"][..],
        &["get", "--help"],
        &["diff", "--help"],
        &["describe", "--help"],
        &["delete", "--help"],
        &["serve", "--help"],
        &["token", "--help"],
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
    for cmd in [
        &["--help"][..],
        &["schema", "--help"],
        &["explain", "--help"],
        &["devnet", "--help"],
        &["akash", "--help"],
        &["sdl", "convert", "--help"],
        &["completion", "--help"],
    ] {
        let r = af("sqlite://unused.db", cmd);
        assert_eq!(r.code, 0, "{cmd:?}: {}", r.stderr);
        assert!(
            !r.stdout.contains("--database-url"),
            "{:?} never opens the store: {}",
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

/// Runs the binary with extra environment variables (and no AF_DATABASE_URL when `db` is
/// empty).
fn af_env(db: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_af-operator"));
    cmd.args(args)
        .env_remove("AF_PROJECT")
        .env_remove("AF_CONFIG")
        .stdin(Stdio::null());
    if db.is_empty() {
        cmd.env_remove("AF_DATABASE_URL");
    } else {
        cmd.env("AF_DATABASE_URL", db);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run af-operator");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into(),
        stderr: String::from_utf8_lossy(&stderr).into(),
    }
}

fn site_doc(name: &str, project: &str, labels: &str) -> String {
    format!("apiVersion: alternatefutures.ai/v1alpha1\nkind: Site\nmetadata: {{name: {name}, project: {project}, labels: {{{labels}}}}}\nspec:\n  source: {{ipfs: QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG}}\n")
}

/// apply --dry-run, apply --prune -l, get -o name / jsonpath / all / -A NAME, describe without
/// a name, delete -l / --ignore-not-found.
fn habits(db: &str) {
    let ex = examples_dir();
    let ex = ex.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // --dry-run before anything: refused like every read, and no store file appears.
    if let Some(path) = db.strip_prefix("sqlite://") {
        let r = af(db, &["apply", "--dry-run", "-f", ex]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
        assert!(!Path::new(path).exists());
    }
    let r = af(db, &["apply", "-f", ex]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = af(db, &["apply", "--dry-run", "-f", ex]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.matches(" unchanged (dry run)").count(),
        8,
        "{}",
        r.stdout
    );
    let edited = tmp.path().join("api.yaml");
    std::fs::write(
        &edited,
        std::fs::read_to_string(examples_dir().join("agent-api.yaml"))
            .unwrap()
            .replace("defarm-api:1.4.2", "defarm-api:9.9.9"),
    )
    .unwrap();
    let r = af(db, &["apply", "--dry-run", "-f", edited.to_str().unwrap()]);
    assert_eq!(
        r.stdout.trim(),
        "agent/defarm-api configured (dry run)",
        "{}",
        r.stderr
    );
    let r = af_stdin(
        db,
        &["apply", "--dry-run", "-f", "-"],
        &site_doc("ghost", "web", ""),
    );
    assert_eq!(
        r.stdout.trim(),
        "site/ghost created (dry run)",
        "{}",
        r.stderr
    );
    // Nothing was written.
    let r = af(
        db,
        &[
            "get",
            "agent",
            "defarm-api",
            "--project",
            "platform",
            "-o",
            "jsonpath={.spec.image}",
        ],
    );
    assert_eq!(
        r.stdout.trim(),
        "ghcr.io/alternatefutures/defarm-api:1.4.2",
        "{}",
        r.stderr
    );
    assert_eq!(
        af(db, &["get", "site", "ghost", "--project", "web"]).code,
        1
    );

    // -o name, -o jsonpath (kubectl's braces and RFC 9535), a bad expression.
    let r = af(
        db,
        &["get", "agents", "--project", "platform", "-o", "name"],
    );
    assert_eq!(
        r.stdout, "agent/defarm-api\nagent/research-agent\n",
        "{}",
        r.stderr
    );
    let r = af(
        db,
        &[
            "get",
            "agents",
            "--project",
            "platform",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
    );
    assert_eq!(r.stdout, "defarm-api research-agent\n", "{}", r.stderr);
    let r = af(
        db,
        &[
            "get",
            "agent",
            "defarm-api",
            "--project",
            "platform",
            "-o",
            "jsonpath=$.spec.replicas",
        ],
    );
    assert_eq!(r.stdout, "1\n", "{}", r.stderr);
    // Templates: text, several expressions, strings, range/end; no newline added after one.
    let r = af(
        db,
        &[
            "get",
            "agents",
            "--project",
            "platform",
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.image}{"\n"}{end}"#,
        ],
    );
    assert_eq!(
        r.stdout,
        "defarm-api\tghcr.io/alternatefutures/defarm-api:1.4.2\n\
         research-agent\tghcr.io/alternatefutures/research-agent:0.7.1\n",
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
            "jsonpath=name={.metadata.name} project={.metadata.project}",
        ],
    );
    assert_eq!(
        r.stdout, "name=defarm-api project=platform\n",
        "{}",
        r.stderr
    );
    let r = af(
        db,
        &[
            "get",
            "agents",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("without {end}"), "{}", r.stderr);
    let r = af(db, &["get", "agents", "-o", "jsonpath={.items[}"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("invalid jsonpath"), "{}", r.stderr);
    let r = af(db, &["get", "agents", "-o", "xml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("jsonpath=EXPR"), "{}", r.stderr);

    // get all: every kind, kind/name; no "did you mean `ag`".
    let r = af(db, &["get", "all", "--project", "platform"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for n in ["agent/defarm-api", "site/docs", "dnszone/", "proxy/"] {
        assert!(r.stdout.contains(n), "missing {n}: {}", r.stdout);
    }
    let all_names = af(db, &["get", "all", "-A", "-o", "name"]);
    assert_eq!(all_names.stdout.lines().count(), 8, "{}", all_names.stdout);
    let r = af(db, &["get", "all", "x"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("takes no NAME"), "{}", r.stderr);
    let r = af(db, &["get", "alll"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("`all`"), "{}", r.stderr);

    // -A with a name: found in whatever project holds it.
    let r = af(db, &["get", "agent", "defarm-api", "-A"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("PROJECT"), "{}", r.stdout);
    assert!(
        r.stdout.contains("platform") && r.stdout.contains("defarm-api"),
        "{}",
        r.stdout
    );
    let r = af(db, &["get", "agent", "nobody", "-A"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("not found in any project"),
        "{}",
        r.stderr
    );

    // describe KIND: every one of the kind.
    let r = af(db, &["describe", "agents", "--project", "platform"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.matches("\nSpec:\n").count(), 2, "{}", r.stdout);
    assert!(r.stdout.contains("research-agent") && r.stdout.contains("defarm-api"));

    // --prune -l: what the files no longer hold goes; other labels and projects stay.
    let dir = tmp.path().join("prune");
    std::fs::create_dir(&dir).unwrap();
    for n in ["keep", "drop"] {
        std::fs::write(dir.join(format!("{n}.yaml")), site_doc(n, "web", "app: pr")).unwrap();
    }
    std::fs::write(
        dir.join("other.yaml"),
        site_doc("other", "web", "app: else"),
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let r = af(db, &["apply", "-f", d]);
    assert_eq!(r.stdout.matches(" created").count(), 3, "{}", r.stderr);
    std::fs::remove_file(dir.join("drop.yaml")).unwrap();
    std::fs::remove_file(dir.join("other.yaml")).unwrap();
    let r = af(
        db,
        &["apply", "-f", d, "-l", "app=pr", "--prune", "--dry-run"],
    );
    assert_eq!(
        r.stdout, "site/keep unchanged (dry run)\nsite/drop pruned (dry run)\n",
        "{}",
        r.stderr
    );
    let r = af(db, &["apply", "-f", d, "-l", "app=pr", "--prune"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "site/keep unchanged\nsite/drop pruned\n");
    assert_eq!(af(db, &["get", "site", "drop", "--project", "web"]).code, 1);
    assert_eq!(
        af(db, &["get", "site", "other", "--project", "web"]).code,
        0
    );
    assert_eq!(
        af(
            db,
            &["get", "agents", "--project", "platform", "-o", "name"]
        )
        .stdout
        .lines()
        .count(),
        2
    );
    let r = af(db, &["apply", "-f", d, "--prune"]);
    assert_eq!(r.code, 2, "--prune needs -l: {}", r.stderr);

    // delete -l, --ignore-not-found.
    let r = af_stdin(
        db,
        &["apply", "-f", "-"],
        &format!(
            "{}---\n{}",
            site_doc("l1", "web", "tier: tmp"),
            site_doc("l2", "web", "tier: tmp")
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = af(
        db,
        &["delete", "site", "-l", "tier=tmp", "--project", "web"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "site/l1 deleted\nsite/l2 deleted\n");
    assert_eq!(
        af(db, &["get", "sites", "-l", "tier=tmp", "-A", "-o", "name"]).stdout,
        ""
    );
    let r = af(db, &["delete", "site", "nope", "--project", "web"]);
    assert_eq!(r.code, 1);
    let r = af(
        db,
        &[
            "delete",
            "site",
            "nope",
            "--project",
            "web",
            "--ignore-not-found",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.is_empty() && r.stderr.is_empty(),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let r = af(db, &["delete", "site", "--project", "web"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("-l"), "{}", r.stderr);
}

#[test]
fn kubectl_habits_on_sqlite() {
    let db = TestDb::sqlite();
    habits(&db.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_habits_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || habits(&url))
        .await
        .unwrap();
}

/// `-A` with a name: `describe` shows the name in every project that holds it; `delete`
/// refuses (as kubectl does), naming the projects, and deletes nothing; `delete -l -A`
/// deletes the matching resources of every project and says which project each was in.
#[test]
fn all_projects_with_a_name_for_describe_and_delete() {
    let db = TestDb::sqlite();
    let db = db.url.as_str();
    let docs = [
        site_doc("twin", "web", "tier: tmp"),
        site_doc("twin", "blog", "tier: tmp"),
        site_doc("solo", "web", "tier: keep"),
    ]
    .join("---\n");
    let r = af_stdin(db, &["apply", "-f", "-"], &docs);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = af(db, &["describe", "site", "twin", "-A"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.matches("\nSpec:\n").count(), 2, "{}", r.stdout);
    assert!(
        r.stdout.contains("Project:               blog\n")
            && r.stdout.contains("Project:               web\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("solo"), "{}", r.stdout);
    let r = af(db, &["describe", "site", "solo", "-A"]);
    assert_eq!(r.stdout.matches("\nSpec:\n").count(), 1, "{}", r.stdout);
    let r = af(db, &["describe", "site", "nobody", "-A"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("site/nobody not found in any project"),
        "{}",
        r.stderr
    );
    let r = af(db, &["describe", "sites", "-A"]);
    assert_eq!(r.stdout.matches("\nSpec:\n").count(), 3, "{}", r.stdout);
    let r = af(db, &["describe", "sites", "-A", "-l", "tier=keep"]);
    assert_eq!(r.stdout.matches("\nSpec:\n").count(), 1, "{}", r.stdout);
    assert!(r.stdout.contains("solo"), "{}", r.stdout);

    let r = af(db, &["delete", "site", "twin", "-A"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("does not take a NAME with -A")
            && r.stderr.contains("projects blog, web")
            && r.stderr.contains("--project blog"),
        "{}",
        r.stderr
    );
    let r = af(
        db,
        &["delete", "site", "nobody", "-A", "--ignore-not-found"],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no project holds it"), "{}", r.stderr);
    assert_eq!(
        af(db, &["get", "site", "twin", "-A", "-o", "name"]).stdout,
        "site/twin\nsite/twin\n"
    );

    let r = af(db, &["delete", "site", "-l", "tier=tmp", "-A"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "site/twin (project blog) deleted\nsite/twin (project web) deleted\n"
    );
    assert_eq!(
        af(db, &["get", "sites", "-A", "-o", "name"]).stdout,
        "site/solo\n"
    );
    let r = af(db, &["delete", "site", "-l", "tier=tmp", "-A"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("No sites matching tier=tmp found."),
        "{}",
        r.stderr
    );
}

/// `delete` waits for finalizers by default (with a timeout); `--wait=false` returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_waits_for_finalizers_by_default() {
    use af_operator::spec::{Kind, ResourceKey};
    use af_operator::store::Store;
    let db = TestDb::sqlite();
    let url = db.url.clone();
    let store = db.open().await;
    let run = |args: Vec<&'static str>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || af(&url, &args))
    };
    let r = tokio::task::spawn_blocking({
        let url = url.clone();
        move || af_stdin(&url, &["apply", "-f", "-"], &site_doc("held", "web", ""))
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key = ResourceKey::new(Kind::Site, "web", "held");
    store.add_finalizer(&key, "test/hold").await.unwrap();

    let r = run(vec![
        "delete",
        "site",
        "held",
        "--project",
        "web",
        "--timeout",
        "1s",
    ])
    .await
    .unwrap();
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("deletion requested"), "{}", r.stdout);
    assert!(
        r.stderr.contains("timed out waiting for site/held"),
        "{}",
        r.stderr
    );

    let started = std::time::Instant::now();
    let r = run(vec![
        "delete",
        "site",
        "held",
        "--project",
        "web",
        "--wait=false",
    ])
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "site/held deletion requested\n");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // The finalizer goes while `delete` waits (it has printed its first line): it reports
    // the resource gone.
    let mut child = Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args([
            "delete",
            "site",
            "held",
            "--project",
            "web",
            "--timeout",
            "60s",
        ])
        .env("AF_DATABASE_URL", &url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = tokio::task::spawn_blocking(move || {
        let first = rx.recv_timeout(std::time::Duration::from_secs(20));
        (first, rx)
    })
    .await
    .unwrap();
    let (first, rx) = first;
    assert_eq!(first.unwrap(), "site/held deletion requested");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "delete returned before the finalizer went"
    );
    store.remove_finalizer(&key, "test/hold").await.unwrap();
    let (status, second) = tokio::task::spawn_blocking(move || {
        let second = rx.recv_timeout(std::time::Duration::from_secs(20));
        (child.wait().unwrap(), second)
    })
    .await
    .unwrap();
    assert_eq!(second.unwrap(), "site/held deleted");
    assert!(status.success());
}

/// `get -w` prints the list, then a row per change (an apply, a deletion) from the change feed.
#[test]
fn get_watch_follows_the_change_feed() {
    use std::io::BufRead;
    let db = TestDb::sqlite();
    let url = db.url.clone();
    let r = af_stdin(&url, &["apply", "-f", "-"], &site_doc("first", "web", ""));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut child = Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args(["get", "sites", "--project", "web", "-w"])
        .env("AF_DATABASE_URL", &url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(std::time::Duration::from_secs(20))
            .expect("a line from get -w")
    };
    assert!(next().starts_with("NAME"));
    assert!(next().starts_with("first"));
    let r = af_stdin(&url, &["apply", "-f", "-"], &site_doc("second", "web", ""));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = next();
    assert!(line.starts_with("second"), "{line}");
    // Another project's change is not printed; this one's deletion is.
    let r = af_stdin(
        &url,
        &["apply", "-f", "-"],
        &site_doc("elsewhere", "other", ""),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = af(&url, &["delete", "site", "first", "--project", "web"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = next();
    assert!(
        line.starts_with("first") && line.contains("Deleted"),
        "{line}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// `get events` (every resource's, one resource's) and `explain`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_events_and_explain() {
    use af_operator::spec::{Kind, ResourceKey};
    use af_operator::store::{EventType, NewEvent, Store};
    let db = TestDb::sqlite();
    let url = db.url.clone();
    let ex = examples_dir().display().to_string();
    let r = tokio::task::spawn_blocking({
        let url = url.clone();
        move || af(&url, &["apply", "-f", &ex])
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let store = db.open().await;
    let api = ResourceKey::new(Kind::Agent, "platform", "defarm-api");
    let docs = ResourceKey::new(Kind::Site, "platform", "docs");
    for (key, reason) in [(&api, "LeaseCreated"), (&docs, "Pinned"), (&api, "Ready")] {
        store
            .append_event(
                key,
                &NewEvent {
                    type_: EventType::Normal,
                    reason: reason.into(),
                    message: format!("{reason} happened"),
                },
            )
            .await
            .unwrap();
    }
    let u = url.clone();
    let r = tokio::task::spawn_blocking(move || {
        (
            af(&u, &["get", "events", "--project", "platform"]),
            af(
                &u,
                &[
                    "get",
                    "events",
                    "agent",
                    "defarm-api",
                    "--project",
                    "platform",
                    "-o",
                    "jsonpath={.items[*].reason}",
                ],
            ),
            af(
                &u,
                &["get", "events", "agent", "nobody", "--project", "platform"],
            ),
            af(&u, &["get", "events", "agent"]),
        )
    })
    .await
    .unwrap();
    let (all, one, missing, half) = r;
    assert_eq!(all.code, 0, "{}", all.stderr);
    let lines: Vec<&str> = all.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", all.stdout);
    for col in ["AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"] {
        assert!(lines[0].contains(col), "{}", lines[0]);
    }
    assert!(lines[1].contains("agent/defarm-api") && lines[1].contains("LeaseCreated"));
    assert!(lines[2].contains("site/docs") && lines[2].contains("Pinned happened"));
    assert_eq!(one.stdout, "LeaseCreated Ready\n", "{}", one.stderr);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
    assert_eq!(half.code, 1);

    let r = af("", &["explain", "agent"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("KIND:     Agent\n"), "{}", r.stdout);
    assert!(r.stdout.contains("FIELDS:\n  apiVersion"), "{}", r.stdout);
    let r = af("", &["explain", "ag.spec.resources.memory"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("FIELD:    spec.resources.memory <ByteSize>"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Memory, e.g. `512Mi`"), "{}", r.stdout);
    let r = af("", &["explain", "agent.spec.resources"]);
    assert!(r.stdout.contains("  cpu\t<Cpu> -required-"), "{}", r.stdout);
    assert!(r.stdout.contains("  gpu\t<Gpu>\n"), "{}", r.stdout);
    let r = af("", &["explain", "agent.spec.env.name"]);
    assert_eq!(r.code, 0, "lists descend into their items: {}", r.stderr);
    let r = af("", &["explain", "agent.spec.imgae"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("did you mean `image`?"), "{}", r.stderr);
    let r = af("", &["explain", "wizard"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("unknown kind"), "{}", r.stderr);
}

/// The default project: the flag, else AF_PROJECT, else the config file's `project`, else
/// `default`.
#[test]
fn the_default_project_comes_from_af_project_or_the_config_file() {
    let db = TestDb::sqlite();
    let ex = examples_dir();
    assert_eq!(af(&db.url, &["apply", "-f", ex.to_str().unwrap()]).code, 0);
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("af.toml");
    std::fs::write(&config, "project = \"platform\"\n").unwrap();
    let c = config.to_str().unwrap();
    let names = |r: Run| {
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let r = af_env(&db.url, &["get", "agents", "-o", "name"], &[]);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains("No agents found in project default"),
        "{}",
        r.stderr
    );
    let two = "agent/defarm-api\nagent/research-agent\n";
    assert_eq!(
        names(af_env(
            &db.url,
            &["get", "agents", "-o", "name"],
            &[("AF_PROJECT", "platform")]
        )),
        two
    );
    assert_eq!(
        names(af_env(
            &db.url,
            &["--config", c, "get", "agents", "-o", "name"],
            &[]
        )),
        two
    );
    assert_eq!(
        names(af_env(
            &db.url,
            &["get", "agents", "-o", "name"],
            &[("AF_CONFIG", c)]
        )),
        two
    );
    // The flag beats both.
    let r = af_env(
        &db.url,
        &[
            "--config",
            c,
            "get",
            "agents",
            "--project",
            "web",
            "-o",
            "name",
        ],
        &[("AF_PROJECT", "platform")],
    );
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("project web"), "{}", r.stderr);
    // describe and delete take it too.
    let r = af_env(
        &db.url,
        &["describe", "site", "docs"],
        &[("AF_PROJECT", "platform")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // `--database-url` before the command name still works, and beats AF_DATABASE_URL.
    let r = af_env(
        "sqlite:///nonexistent/x.db",
        &[
            "--database-url",
            &db.url,
            "get",
            "sites",
            "-A",
            "-o",
            "name",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("site/docs"), "{}", r.stdout);
    std::fs::write(&config, "projekt = \"platform\"\n").unwrap();
    let r = af_env(&db.url, &["--config", c, "get", "agents"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("unknown setting `projekt`; did you mean `project`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn completion_scripts_and_man_pages() {
    for (shell, marker) in [
        ("bash", "complete -F _af__operator"),
        ("zsh", "#compdef af-operator"),
        ("fish", "complete -c af-operator"),
    ] {
        let r = af("", &["completion", shell]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains(marker),
            "{shell}: {}",
            &r.stdout[..r.stdout.len().min(300)]
        );
        assert!(
            r.stdout.contains("explain"),
            "{shell} completes subcommands"
        );
    }
    assert_eq!(af("", &["completion", "tcsh"]).code, 2);
    let r = af("", &["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH af-operator"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("man1");
    let r = af("", &["man", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in [
        "af-operator.1",
        "af-operator-get.1",
        "af-operator-akash-close.1",
    ] {
        let text =
            std::fs::read_to_string(out.join(page)).unwrap_or_else(|_| panic!("{page} missing"));
        assert!(text.contains(".TH"), "{page}");
    }
    let get = std::fs::read_to_string(out.join("af-operator-get.1")).unwrap();
    assert!(get.contains("watch"), "the get page documents -w");
}

/// Read commands refuse a SQLite file that does not exist; `sqlite://` alone is refused; a
/// missing PostgreSQL database is one sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_urls_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let typo = tmp.path().join("af-opertor.db");
    let url = format!("sqlite://{}", typo.display());
    let u = url.clone();
    let runs = tokio::task::spawn_blocking(move || {
        [
            af(&u, &["get", "agents"]),
            af(&u, &["describe", "agent", "x"]),
            af(
                &u,
                &[
                    "diff",
                    "-f",
                    examples_dir().join("site.yaml").to_str().unwrap(),
                ],
            ),
            af("sqlite://", &["get", "agents"]),
            af(
                "sqlite://",
                &[
                    "apply",
                    "-f",
                    examples_dir().join("site.yaml").to_str().unwrap(),
                ],
            ),
        ]
    })
    .await
    .unwrap();
    for (i, r) in runs[..3].iter().enumerate() {
        assert_eq!(r.code, if i == 2 { 2 } else { 1 }, "{}", r.stderr);
        assert!(
            r.stderr.contains("no store at") && r.stderr.contains("does not exist"),
            "{}",
            r.stderr
        );
    }
    assert!(!typo.exists(), "a read created the store");
    for r in &runs[3..] {
        assert_eq!(r.code, 1);
        assert!(
            r.stderr.contains("unsupported database url `sqlite://`"),
            "{}",
            r.stderr
        );
    }
    if std::env::var("AF_SKIP_POSTGRES").as_deref() == Ok("1") {
        return;
    }
    let admin = postgres_admin_url();
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin)
        .to_string();
    let r = tokio::task::spawn_blocking(move || {
        af(&format!("{base}/af_no_such_db_here"), &["get", "agents"])
    })
    .await
    .unwrap();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    assert!(!r.stderr.contains(" at line"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

/// A mistyped kind is matched against the full kind names and `get`'s own words, never
/// against the two-letter short names (`al` was answered with `ag`).
#[test]
fn mistyped_kinds_suggest_full_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let site = examples_dir().join("site.yaml");
    let r = af(&db, &["apply", "-f", site.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (typed, want) in [
        ("al", "all"),
        ("evnets", "events"),
        ("agnet", "agent"),
        ("stes", "sites"),
    ] {
        let r = af(&db, &["get", typed]);
        assert_eq!(r.code, 1, "{typed}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("did you mean `{want}`?")),
            "{typed}: {}",
            r.stderr
        );
    }
    let r = af(&db, &["get", "xy"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("unknown kind `xy`"), "{}", r.stderr);
    assert!(!r.stderr.contains("did you mean"), "{}", r.stderr);
    let r = af(&db, &["describe", "agnet"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("did you mean `agent`?"), "{}", r.stderr);
}

#[test]
fn render_a_directory_skips_kinds_without_sdl() {
    let ex = examples_dir();
    let r = af("", &["render", "-f", ex.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("note: skipped") && r.stderr.contains("Function"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("DnsZone"), "{}", r.stderr);
    assert!(r.stdout.contains("version: \"2."), "{}", r.stdout);
}

/// Nothing listening: one line naming what failed and what to try, within seconds, with no
/// WARN blocks or backtraces even under RUST_BACKTRACE.
#[test]
fn akash_without_a_chain_fails_fast_in_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mnemonic = af_operator::devnet::test_account(0).1;
    let started = std::time::Instant::now();
    let r = af_env(
        "",
        &[
            "akash",
            "--network",
            &format!("http://127.0.0.1:{port}"),
            "account",
        ],
        &[
            ("AF_AKASH_MNEMONIC", mnemonic.as_str()),
            ("RUST_BACKTRACE", "1"),
            ("AF_LOG", "warn"),
        ],
    );
    let took = started.elapsed();
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: cannot reach the Akash RPC at http://127.0.0.1:"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--network URL"), "{}", r.stderr);
    assert!(
        !r.stderr.contains(".rs:") && !r.stderr.contains("WARN"),
        "{}",
        r.stderr
    );
    assert!(took < std::time::Duration::from_secs(8), "took {took:?}");
}

/// `akash close --dry-run` of a deployment the chain does not have still prints the tx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_close_dry_run_of_an_unknown_deployment_prints_the_tx() {
    let dn = af_operator::devnet::Devnet::start(af_operator::devnet::DevnetConfig {
        providers: 0,
        block_time: std::time::Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    let rpc = dn.rpc_url();
    let mnemonic = dn.mnemonic().to_string();
    let r = tokio::task::spawn_blocking(move || {
        af_env(
            "",
            &["akash", "--network", &rpc, "close", "987654", "--dry-run"],
            &[("AF_AKASH_MNEMONIC", mnemonic.as_str())],
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["simulated"], false);
    assert_eq!(
        v["messages"][0]["value"]["id"]["dseq"], "987654",
        "{}",
        r.stdout
    );
    assert!(!v["tx_bytes_base64"].as_str().unwrap().is_empty());
    assert!(r.stderr.contains("refused to simulate"), "{}", r.stderr);
}

#[test]
fn plan_shows_chain_actions_with_cost_and_detailed_exit_codes() {
    let db = TestDb::sqlite();
    let ex = examples_dir();
    let ex = ex.to_str().unwrap();

    // A store that does not exist is refused (a typo would plan everything as new).
    let r = af(&db.url, &["plan", "-f", ex]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no store at"), "{}", r.stderr);
    let r = af(&db.url, &["apply", "-f", &format!("{ex}/dns-zone.yaml")]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // No Akash-hosted example applied: each is a create, with its groups and money.
    let r = af(&db.url, &["plan", "-f", ex]);
    assert_eq!(r.code, 2, "changes: exit 2\n{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("+ agent/defarm-api (platform): create deployment"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("    group "), "{}", r.stdout);
    assert!(
        r.stdout.contains("deposit 5 ACT (5000000 uact)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Plan: 6 to create, 0 to update in place, 0 to replace, 0 to close."),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("not on Akash (no deployment): "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("function/"), "{}", r.stdout);

    let r = af(&db.url, &["plan", "-f", ex, "--akt-price", "0.5"]);
    assert!(
        r.stdout.contains("deposit 5 ACT (5000000 uact, ≈ 10 AKT)"),
        "{}",
        r.stdout
    );
    let r = af(&db.url, &["plan", "-f", ex, "--akt-price=-1"]);
    assert_eq!(r.code, 2, "clap's usage error");
    assert!(
        r.stderr.contains("expected a positive number"),
        "{}",
        r.stderr
    );

    let r = af(&db.url, &["plan", "-f", ex, "-o", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["summary"]["create"], 6, "{v}");
    assert_eq!(v["resources"].as_array().unwrap().len(), 6);
    assert_eq!(v["resources"][0]["action"], "create");
    assert!(v["resources"][0]["cost"]["monthlyMax"].as_f64().unwrap() > 0.0);
    assert!(
        v["deposits"]["uact"].as_f64().unwrap() >= 6.0 * 5e6 - 1.0,
        "{v}"
    );

    // Nothing on chain changes: exit 0.
    let r = af(&db.url, &["plan", "-f", &format!("{ex}/function.yaml")]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("No changes on chain."), "{}", r.stdout);

    // Invalid input: exit 1, with the file and line; nothing was written.
    let r = af_stdin(
        &db.url,
        &["plan", "-f", "-"],
        "apiVersion: alternatefutures.ai/v1alpha1\nkind: Agent\nmetadata: {name: x}\nspec: {image: a, resources: {cpu: 1, memroy: 1Gi}}\n",
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("<stdin>:4:"), "{}", r.stderr);
    let r = af(&db.url, &["get", "agents", "-A"]);
    assert!(
        !r.stdout.contains("defarm-api"),
        "plan wrote nothing: {}",
        r.stdout
    );
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
