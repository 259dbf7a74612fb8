//! The secret vault: through the binary and through the library, on SQLite and on PostgreSQL.
//! Values never reach the database, the output of `list`, or the logs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use af_operator::render::SecretResolver;
use af_operator::secrets::{MasterKey, SecretVault, VaultError};
use af_operator::spec::common::SecretRef;
use af_operator::store::{SecretRecord, SecretRecords};
use sqlx::{Connection, Row};

use crate::common::{examples_dir, TestDb};

/// Distinctive values: any occurrence outside `render --show-secrets` is a leak.
const DB_URL: &str = "postgres://defarm:Zq7unmistakable-hunter2@db:5432/defarm";
const DB_PASSWORD: &str = "pw-Xk9-distinctive-secret-value";
const OTHER: &str = "other-Wv3-distinctive-token";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with trace logging and only the environment given (no inherited key).
fn af(db: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_af-operator"));
    cmd.args(args)
        .env("AF_DATABASE_URL", db)
        .env("AF_LOG", "trace")
        .env_remove("AF_MASTER_KEY")
        .env_remove("AF_MASTER_KEY_FILE")
        .env_remove("AF_SECRETS_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn af-operator");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn assert_no_values(what: &str, text: &str) {
    for v in [
        DB_URL,
        DB_PASSWORD,
        OTHER,
        "Zq7unmistakable",
        "Xk9-distinctive",
    ] {
        assert!(!text.contains(v), "{what} shows a secret value:\n{text}");
    }
}

/// The whole CLI story on one database; `check_at_rest` then inspects what is stored.
fn vault_cli(db: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("master.key");
    let other = tmp.path().join("other.key");
    let k = key.to_str().unwrap();
    let o = other.to_str().unwrap();
    let api = examples_dir().join("agent-api.yaml");
    let api = api.to_str().unwrap();
    // Everything but `render --show-secrets`'s stdout must be free of values.
    let quiet = |r: &Run, what: &str| {
        assert_no_values(&format!("{what} (stdout)"), &r.stdout);
        assert_no_values(&format!("{what} (stderr)"), &r.stderr);
    };

    // Keys: created once, never overwritten.
    let r = af(db, &["secret", "keygen", k], &[], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(k), "{}", r.stdout);
    let first = std::fs::read_to_string(&key).unwrap();
    let r = af(db, &["secret", "keygen", k], &[], "");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), first);
    assert_eq!(af(db, &["secret", "keygen", o], &[], "").code, 0);

    // No key, or a malformed one: a clear error that never echoes the value.
    let r = af(db, &["secret", "list"], &[], "");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("no master key: pass --master-key-file FILE or set AF_MASTER_KEY"),
        "{}",
        r.stderr
    );
    let r = af(
        db,
        &["secret", "list"],
        &[("AF_MASTER_KEY", "Zq7unmistakable-not-a-key")],
        "",
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("the master key in $AF_MASTER_KEY is not valid"),
        "{}",
        r.stderr
    );
    quiet(&r, "a malformed key");

    // Set: from stdin (one trailing newline removed), from a file, with the key in a file or
    // in $AF_MASTER_KEY.
    let r = af(
        db,
        &[
            "secret",
            "set",
            "platform-secrets",
            "DEFARM_DATABASE_URL",
            "--project",
            "platform",
            "--master-key-file",
            k,
        ],
        &[],
        &format!("{DB_URL}\n"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("secret platform-secrets/DEFARM_DATABASE_URL set in project platform"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("secret sealed"),
        "AF_LOG=trace should log: {}",
        r.stderr
    );
    quiet(&r, "secret set");
    let pw_file = tmp.path().join("pw");
    std::fs::write(&pw_file, DB_PASSWORD).unwrap();
    let r = af(
        db,
        &[
            "secret",
            "set",
            "platform-secrets",
            "DEFARM_DB_PASSWORD",
            "--project",
            "platform",
            "--from-file",
            pw_file.to_str().unwrap(),
        ],
        &[("AF_MASTER_KEY", first.trim())],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    quiet(&r, "secret set --from-file");
    let r = af(
        db,
        &[
            "secret",
            "set",
            "other-store",
            "TOKEN",
            "--project",
            "platform",
            "--master-key-file",
            k,
        ],
        &[],
        OTHER,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = af(
        db,
        &["secret", "set", "s", "EMPTY", "--master-key-file", k],
        &[],
        "\n",
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("the value is empty"), "{}", r.stderr);

    // A wrong master key writes nothing and decrypts nothing.
    let r = af(
        db,
        &[
            "secret",
            "set",
            "platform-secrets",
            "DEFARM_DATABASE_URL",
            "--project",
            "platform",
            "--master-key-file",
            o,
        ],
        &[],
        "replaced-by-the-wrong-key",
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("not the one that sealed the stored secrets"),
        "{}",
        r.stderr
    );
    let r = af(
        db,
        &[
            "render",
            "-f",
            api,
            "--show-secrets",
            "--master-key-file",
            o,
        ],
        &[],
        "",
    );
    assert_eq!(r.code, 1);
    assert!(
        // Every value of the project is opened; the first in (store, key) order fails.
        r.stderr.contains(
            "error: cannot decrypt secret other-store/TOKEN: wrong master key or corrupted value"
        ),
        "{}",
        r.stderr
    );
    quiet(&r, "render with a wrong key");

    // List: store, key, digest, time; never values.
    let r = af(
        db,
        &[
            "secret",
            "list",
            "--project",
            "platform",
            "--master-key-file",
            k,
        ],
        &[],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    quiet(&r, "secret list");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    let head: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(head, ["STORE", "KEY", "DIGEST", "UPDATED"]);
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cells[..2], ["other-store", "TOKEN"]);
    assert_eq!(cells[2].len(), 12);
    assert!(cells[2].bytes().all(|b| b.is_ascii_hexdigit()));
    let r = af(
        db,
        &[
            "secret",
            "list",
            "platform-secrets",
            "--project",
            "platform",
            "-o",
            "json",
        ],
        &[("AF_MASTER_KEY_FILE", k)],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    quiet(&r, "secret list -o json");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let keys: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["DEFARM_DATABASE_URL", "DEFARM_DB_PASSWORD"]);
    assert_eq!(v[0]["store"], "platform-secrets");
    assert_eq!(v[0]["digest"].as_str().unwrap().len(), 12);
    assert!(v[0]["updatedAt"].as_str().unwrap().ends_with('Z'));
    assert!(v[0].get("value").is_none());
    let r = af(db, &["secret", "list", "--master-key-file", k], &[], "");
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains("No secrets found in project default"),
        "{}",
        r.stderr
    );

    // Render: the vault's values only with --show-secrets.
    let r = af(db, &["render", "-f", api, "--master-key-file", k], &[], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("DATABASE_URL=<redacted>"), "{}", r.stdout);
    quiet(&r, "render without --show-secrets");
    let r = af(
        db,
        &[
            "render",
            "-f",
            api,
            "--show-secrets",
            "--master-key-file",
            k,
        ],
        &[],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("- \"DATABASE_URL={DB_URL}\"\n")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("- \"POSTGRES_PASSWORD={DB_PASSWORD}\"\n")),
        "{}",
        r.stdout
    );
    assert_no_values("render --show-secrets (stderr)", &r.stderr);
    let r = af(db, &["render", "-f", api, "--show-secrets"], &[], "");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("--show-secrets needs --secrets-file FILE or a master key"),
        "{}",
        r.stderr
    );

    // Delete; then the missing secret is named, with or without --show-secrets.
    let del = [
        "secret",
        "delete",
        "platform-secrets",
        "DEFARM_DB_PASSWORD",
        "--project",
        "platform",
        "--master-key-file",
        k,
    ];
    let r = af(db, &del, &[], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("deleted"), "{}", r.stdout);
    let r = af(db, &del, &[], "");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("secret platform-secrets/DEFARM_DB_PASSWORD not found in project platform"),
        "{}",
        r.stderr
    );
    for show in [true, false] {
        let mut args = vec!["render", "-f", api, "--master-key-file", k];
        if show {
            args.push("--show-secrets");
        }
        let r = af(db, &args, &[], "");
        assert_eq!(r.code, 1, "{}", r.stdout);
        assert!(
            r.stderr.contains(
                "secret platform-secrets/DEFARM_DB_PASSWORD not found in project platform"
            ),
            "{}",
            r.stderr
        );
        assert_no_values("render of a missing secret (stderr)", &r.stderr);
    }

    // The secrets file still works, and wins over a key in the environment.
    let file = tmp.path().join("secrets.yaml");
    std::fs::write(
        &file,
        "platform:\n  platform-secrets:\n    DEFARM_DATABASE_URL: from-the-file\n    DEFARM_DB_PASSWORD: pw\n",
    )
    .unwrap();
    let r = af(
        db,
        &[
            "render",
            "-f",
            api,
            "--show-secrets",
            "--secrets-file",
            file.to_str().unwrap(),
        ],
        &[("AF_MASTER_KEY", first.trim())],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("DATABASE_URL=from-the-file"),
        "{}",
        r.stdout
    );
}

fn sqlite_path(url: &str) -> &Path {
    Path::new(url.strip_prefix("sqlite://").unwrap())
}

#[test]
fn secret_cli_on_sqlite_never_stores_plaintext() {
    let db = TestDb::sqlite();
    vault_cli(&db.url);
    // The database file and its WAL: key names are there in clear, values never.
    let path = sqlite_path(&db.url);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"DEFARM_DATABASE_URL"), "the scan must see the rows");
    for v in [DB_URL, DB_PASSWORD, OTHER, "Zq7unmistakable"] {
        assert!(!has(v.as_bytes()), "`{v}` is stored in clear");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_cli_on_postgres_never_stores_plaintext() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || vault_cli(&url))
        .await
        .unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let rows = sqlx::query("SELECT s::text AS row, length(nonce) AS n FROM secrets s")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "two values are left");
    for row in &rows {
        let text: String = row.get("row");
        assert!(text.contains("platform"), "{text}");
        assert_no_values("the secrets table", &text);
        assert!(!text.contains(&hex::encode(DB_URL)), "{text}");
        assert_eq!(row.get::<i32, _>("n"), 24);
    }
    conn.close().await.unwrap();
}

fn reference(store: &str, key: &str) -> SecretRef {
    SecretRef {
        store: store.into(),
        key: key.into(),
    }
}

/// A ciphertext moved to another key fails; replacing a value keeps one row.
async fn swapped_ciphertexts_fail(store: Arc<af_operator::store::sql::SqlStore>) {
    let vault = SecretVault::new(store.clone(), MasterKey::from_bytes([9; 32]));
    vault.set("p", "vault", "A", b"value-a").await.unwrap();
    vault.set("p", "vault", "B", b"value-b").await.unwrap();
    vault.set("p", "vault", "B", b"value-b2").await.unwrap();
    let secrets = vault.resolver("p").await.unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(
        secrets.resolve("p", &reference("vault", "B")).unwrap(),
        "value-b2"
    );
    let e = secrets
        .resolve("p", &reference("vault", "MISSING"))
        .unwrap_err();
    assert_eq!(e.to_string(), "secret vault/MISSING not found in project p");

    let rows = store.list_secrets("p", None).await.unwrap();
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!((a.key.as_str(), b.key.as_str()), ("A", "B"));
    assert_ne!(a.nonce, b.nonce);
    let swapped = |to: &SecretRecord, from: &SecretRecord| SecretRecord {
        nonce: from.nonce.clone(),
        ciphertext: from.ciphertext.clone(),
        digest: from.digest.clone(),
        ..to.clone()
    };
    store.put_secret(&swapped(a, b)).await.unwrap();
    store.put_secret(&swapped(b, a)).await.unwrap();
    let e = vault.resolver("p").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot decrypt secret vault/A: wrong master key or corrupted value"
    );
    store.put_secret(a).await.unwrap();
    let e = vault.resolver("p").await.unwrap_err();
    assert!(
        matches!(&e, VaultError::Decrypt { key, .. } if key == "B"),
        "{e}"
    );
    store.put_secret(b).await.unwrap();
    assert_eq!(vault.resolver("p").await.unwrap().len(), 2);

    // Another master key: refused before anything is written.
    let wrong = SecretVault::new(store.clone(), MasterKey::from_bytes([8; 32]));
    assert!(matches!(
        wrong.set("p", "vault", "C", b"x").await,
        Err(VaultError::KeyMismatch)
    ));
    assert_eq!(store.list_secrets("p", None).await.unwrap().len(), 2);
    assert_eq!(store.sealing_key_ids().await.unwrap().len(), 1);
    assert!(vault.delete("p", "vault", "A").await.unwrap());
    assert_eq!(vault.list("p", Some("vault")).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_records_on_sqlite_bind_ciphertexts_to_their_key() {
    let db = TestDb::sqlite();
    swapped_ciphertexts_fail(Arc::new(db.open().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_records_on_postgres_bind_ciphertexts_to_their_key() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    swapped_ciphertexts_fail(Arc::new(db.open().await)).await;
}
