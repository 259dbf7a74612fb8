//! Shared helpers: temporary databases on SQLite and on a real PostgreSQL.

use af_operator::store::sql::SqlStore;
use sqlx::Connection;

/// The PostgreSQL server tests use; must be reachable unless `AF_SKIP_POSTGRES=1`.
pub fn postgres_admin_url() -> String {
    std::env::var("AF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test.
pub struct TestDb {
    /// The URL to open it with.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("af.db").display());
        TestDb {
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// A new, empty PostgreSQL database; `None` only when skipping was asked for explicitly.
    pub async fn postgres() -> Option<TestDb> {
        let admin = postgres_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("AF_SKIP_POSTGRES").as_deref() == Ok("1") {
                    eprintln!("NOTICE: PostgreSQL tests skipped (AF_SKIP_POSTGRES=1): {e}");
                    return None;
                }
                panic!("PostgreSQL at {admin} is unreachable ({e}); start it (see README) or set AF_SKIP_POSTGRES=1 to skip locally");
            }
        };
        let name = format!("af_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Some(TestDb {
            url: format!("{base}/{name}"),
            _dir: None,
            pg_name: Some(name),
        })
    }

    /// Opens the store.
    pub async fn open(&self) -> SqlStore {
        af_operator::store::open(&self.url)
            .await
            .expect("open store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = postgres_admin_url();
            // Best effort, on a thread of its own: Drop cannot be async.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await
                    .ok()
                })
            })
            .join();
        }
    }
}

/// The path of the repository's examples.
pub fn examples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}
