//! Per-test databases: a temporary SQLite file, or a uniquely named PostgreSQL database that is
//! dropped when the test ends.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL admin URL from `HEARTH_TEST_POSTGRES`, if set and non-empty.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("HEARTH_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

static SEQ: AtomicU32 = AtomicU32::new(0);

fn database_url(admin_url: &str, name: &str) -> String {
    match url::Url::parse(admin_url) {
        Ok(mut u) => {
            u.set_path(name);
            u.to_string()
        }
        Err(e) => panic!("HEARTH_TEST_POSTGRES is not a URL: {e}"),
    }
}

impl TestDb {
    pub async fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
                let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
                TestDb::Sqlite { _dir: dir, url }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url().unwrap_or_else(|| {
                    panic!("HEARTH_TEST_POSTGRES must be set for PostgreSQL tests")
                });
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let name = format!(
                    "hearth_t_{}_{}_{}",
                    std::process::id(),
                    SEQ.fetch_add(1, Ordering::Relaxed),
                    nanos
                );
                let mut admin = AsyncPgConnection::establish(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("connect to {admin_url}: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|e| panic!("create database {name}: {e}"));
                let url = database_url(&admin_url, &name);
                TestDb::Postgres {
                    admin_url,
                    name,
                    url,
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            TestDb::Sqlite { .. } => Backend::Sqlite,
            TestDb::Postgres { .. } => Backend::Postgres,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop cannot await, and may run inside a runtime: use a thread with its own.
            let handle = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        if let Err(e) = diesel::sql_query(sql).execute(&mut admin).await {
                            eprintln!("could not drop test database {name}: {e}");
                        }
                    }
                });
            });
            let _ = handle.join();
        }
    }
}
