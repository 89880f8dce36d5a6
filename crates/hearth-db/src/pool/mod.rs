//! Connections: the SQLite or PostgreSQL pool behind `Db`, its migrations, and (in
//! `group_commit`) SQLite's batched writer with the one fork between backends for writes.

use std::time::Duration;

use diesel::{Connection, SqliteConnection};
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::{SpawnBlocking, SyncConnectionWrapper};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::DbError;

pub(crate) mod group_commit;

pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection, Inline>;

/// Runs each SQLite statement on the calling task instead of handing it to tokio's blocking
/// pool. A statement against a local file in WAL mode takes microseconds, far less than the
/// two thread wake-ups a hand-off costs (a quarter of all CPU under load when measured); and a
/// transaction's statements now run back to back. Work that may take long (a backup) opens its
/// own connection on a blocking thread instead.
pub struct Inline;

type BlockingError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl SpawnBlocking for Inline {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<R, BlockingError>> + Send + 'a>>
    where
        R: Send + 'static,
    {
        Box::pin(std::future::ready(Ok(task())))
    }

    fn get_runtime() -> Self {
        Inline
    }
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Per-connection settings for SQLite. WAL is set once per file in [`Db::connect`]. No
/// connection checkpoints on commit: [`checkpoints`] does it on its own thread. A log that
/// grew under load is cut back to 16 MiB when it starts over, so it does not stay large (a
/// restart after a crash reads all of it). Temporary data stays in memory: a batch of queued
/// writes keeps each write's undo pages (its savepoint's journal), which would otherwise
/// spill to a new temporary file past 64 KiB.
const SQLITE_SETUP: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
     PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; \
     PRAGMA journal_size_limit = 16777216; PRAGMA temp_store = MEMORY;";

/// How often the write-ahead log is copied back into the database file: often enough that
/// the log stays a few MiB even under a benchmark's write load.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the write-ahead log into the database file every [`CHECKPOINT_EVERY`] until `stop`'s
/// sender is dropped (the last clone of the [`Db`]). Left to SQLite, the commit that fills the
/// log does this, with its `fsync`s, while a request waits on it; here it runs beside them.
/// `PASSIVE` never waits for readers or writers, so it holds nobody up.
fn checkpoints(path: std::sync::Arc<str>, stop: std::sync::mpsc::Receiver<()>) {
    let wal = format!("{path}-wal");
    let mut conn: Option<SqliteConnection> = None;
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY)
    {
        if conn.is_none() {
            conn = SqliteConnection::establish(&path).ok().and_then(|mut c| {
                diesel::connection::SimpleConnection::batch_execute(&mut c, CHECKPOINTER_SETUP)
                    .ok()
                    .map(|()| c)
            });
        }
        // Under unbroken load some reader always holds the log, so a passive checkpoint
        // can copy it but never let it start over, and it grows without end (hundreds of MiB
        // in a benchmark). Past a bound, wait for the readers once and start it over; that
        // holds writers back while it runs, so it waits at most 50 ms for them and otherwise
        // tries again next time.
        let restart = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_RESTART_BYTES);
        let sql = if restart {
            "PRAGMA wal_checkpoint(RESTART);"
        } else {
            "PRAGMA wal_checkpoint(PASSIVE);"
        };
        if let Some(c) = conn.as_mut()
            && let Err(e) = diesel::connection::SimpleConnection::batch_execute(c, sql)
        {
            tracing::warn!(error = %e, "checkpointing the SQLite log failed; trying again");
            conn = None;
        }
    }
}

/// The checkpointing connection's settings: it gives up on busy readers after 50 ms (a
/// restart holds writers back while it waits), and cuts a log it starts over back to 16 MiB.
const CHECKPOINTER_SETUP: &str = "PRAGMA busy_timeout = 50; PRAGMA journal_size_limit = 16777216;";

/// The log size past which [`checkpoints`] waits for readers to start the log over.
const WAL_RESTART_BYTES: u64 = 64 * 1024 * 1024;

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to one database of either kind, and what is kept of it in memory.
/// Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pools: Pools,
    pub(crate) cache: std::sync::Arc<crate::cache::Cache>,
    /// SQLite's writes that arrive many at a time (check-ins, received reports, received
    /// activities), committed in batches: see [`Db::write_batched`].
    pub(crate) queued: std::sync::Arc<group_commit::GroupCommit>,
}

#[derive(Clone)]
enum Pools {
    Sqlite(SqlitePools),
    Postgres(Pool<AsyncPgConnection>),
}

/// SQLite takes one writer at a time. Writers in this process queue for the single write
/// connection instead of meeting SQLite's lock, whose busy handler sleeps 1 to 100 ms between
/// tries; reads run beside them on their own connections (WAL).
#[derive(Clone)]
pub struct SqlitePools {
    read: Pool<SqliteConn>,
    write: Pool<SqliteConn>,
    /// The file, for work that opens its own connection.
    path: std::sync::Arc<str>,
    /// Dropped with the last clone, which stops the checkpointing thread.
    _checkpoints: std::sync::Arc<Checkpointer>,
}

/// The checkpointing thread: dropping this stops it and waits for it, so once the last clone
/// of a [`Db`] is gone nothing has the file open any more (`restore` copies it next).
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({:?})", self.backend())
    }
}

/// One pooled connection, owned so it can be held across `.await`.
#[expect(
    clippy::large_enum_variant,
    reason = "short-lived, one per query; boxing would add an allocation to every query"
)]
pub enum Conn {
    Sqlite(PooledConnection<'static, SqliteConn>),
    Postgres(PooledConnection<'static, AsyncPgConnection>),
}

/// Runs the same diesel-async expression on whichever connection `$conn` (a `&mut Conn`) holds.
/// `$c` is bound to `&mut` the concrete connection in each arm.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::Conn::Sqlite(pooled) => {
                let $c = &mut **pooled;
                $body
            }
            $crate::Conn::Postgres(pooled) => {
                let $c = &mut **pooled;
                $body
            }
        }
    };
}

/// What `hearth check` reports about the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbHealth {
    pub backend: Backend,
    pub pending_migrations: usize,
}

enum Target {
    Sqlite(String),
    Postgres(String),
}

fn parse_url(url: &str) -> Result<Target, DbError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains("://") {
        return Err(DbError::UnsupportedUrl(url.to_owned()));
    }
    Ok(Target::Sqlite(path.to_owned()))
}

/// What a failed PostgreSQL connection means, and what to do about it.
fn postgres_words(error: &str) -> String {
    let error = error.trim();
    if error.contains("does not exist") {
        format!(
            "{error}: create the database (for example `createdb -O USER NAME`) or correct database_url"
        )
    } else if error.contains("Connection refused") || error.contains("No such file or directory") {
        format!(
            "nothing answers at the PostgreSQL address in database_url ({error}): is PostgreSQL running, and is the host and port right?"
        )
    } else if error.contains("password authentication failed") || error.contains("no password") {
        format!("{error}: check the user name and password in database_url")
    } else {
        error.to_owned()
    }
}

fn migration_err(e: impl std::fmt::Display) -> DbError {
    DbError::Migration(e.to_string())
}

impl Db {
    fn new(pools: Pools) -> Db {
        Db {
            pools,
            cache: std::sync::Arc::default(),
            queued: std::sync::Arc::default(),
        }
    }

    /// Opens a pool, creating the SQLite file if needed. Does not run migrations.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        match parse_url(url)? {
            Target::Sqlite(path) => {
                let p = path.clone();
                // WAL is a property of the file; set it once, outside the pool.
                tokio::task::spawn_blocking(move || -> Result<(), DbError> {
                    let mut c = SqliteConnection::establish(&p)
                        .map_err(|e| DbError::Connect(e.to_string()))?;
                    diesel::connection::SimpleConnection::batch_execute(
                        &mut c,
                        "PRAGMA journal_mode = WAL;",
                    )
                    .map_err(|e| DbError::Connect(e.to_string()))
                })
                .await
                .map_err(|e| DbError::Connect(e.to_string()))??;
                // Connections are opened as load needs them (and closed after ten idle
                // minutes): an idle instance holds one of each, which keeps its memory small.
                let pool = |size: u32| {
                    let mut config = ManagerConfig::<SqliteConn>::default();
                    config.recycling_method = RecyclingMethod::Fast;
                    config.custom_setup = Box::new(|url| {
                        let url = url.to_owned();
                        Box::pin(async move {
                            let mut c =
                                <SqliteConn as diesel_async::AsyncConnection>::establish(&url)
                                    .await?;
                            c.batch_execute(SQLITE_SETUP)
                                .await
                                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                            Ok(c)
                        })
                    });
                    Pool::builder()
                        .max_size(size)
                        .min_idle(Some(1))
                        .connection_timeout(Duration::from_secs(30))
                        .build(AsyncDieselConnectionManager::new_with_config(
                            path.clone(),
                            config,
                        ))
                };
                let read = pool(8).await.map_err(|e| DbError::Connect(e.to_string()))?;
                let write = pool(1).await.map_err(|e| DbError::Connect(e.to_string()))?;
                let path: std::sync::Arc<str> = path.into();
                let (stop, stopped) = std::sync::mpsc::channel();
                let for_thread = path.clone();
                let thread = std::thread::Builder::new()
                    .name("sqlite-checkpoint".into())
                    .spawn(move || checkpoints(for_thread, stopped))
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                Ok(Db::new(Pools::Sqlite(SqlitePools {
                    read,
                    write,
                    path,
                    _checkpoints: std::sync::Arc::new(Checkpointer {
                        stop: Some(stop),
                        thread: Some(thread),
                    }),
                })))
            }
            Target::Postgres(url) => {
                // Connect once directly first: the pool only ever says it timed out, whatever
                // the server answered.
                if let Err(e) =
                    <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&url).await
                {
                    return Err(DbError::Connect(postgres_words(&e.to_string())));
                }
                let mut config = ManagerConfig::<AsyncPgConnection>::default();
                config.recycling_method = RecyclingMethod::Fast;
                let manager = AsyncDieselConnectionManager::new_with_config(url, config);
                let pool = Pool::builder()
                    .max_size(16)
                    .connection_timeout(Duration::from_secs(10))
                    .build(manager)
                    .await
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                // Fail now, with a clear message, rather than on the first request.
                drop(
                    pool.get()
                        .await
                        .map_err(|e| DbError::Connect(e.to_string()))?,
                );
                Ok(Db::new(Pools::Postgres(pool)))
            }
        }
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Db, DbError> {
        let db = Db::connect(url).await?;
        db.migrate(url).await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection for reading (or for a write whose caller knows it is alone).
    pub async fn conn(&self) -> Result<Conn, DbError> {
        self.pooled(|p| &p.read).await
    }

    /// A connection for a query that writes: SQLite's one write connection (so writers queue
    /// here, not in SQLite's busy handler); any pooled connection on PostgreSQL.
    pub async fn write_conn(&self) -> Result<Conn, DbError> {
        self.pooled(|p| &p.write).await
    }

    async fn pooled(&self, sqlite: fn(&SqlitePools) -> &Pool<SqliteConn>) -> Result<Conn, DbError> {
        match &self.pools {
            Pools::Sqlite(p) => sqlite(p)
                .get_owned()
                .await
                .map(Conn::Sqlite)
                .map_err(|e| DbError::Pool(e.to_string())),
            Pools::Postgres(p) => p
                .get_owned()
                .await
                .map(Conn::Postgres)
                .map_err(|e| DbError::Pool(e.to_string())),
        }
    }

    /// Runs pending migrations; returns how many ran. Migrations run on a blocking thread
    /// through a dedicated connection, so this works on any tokio runtime.
    pub async fn migrate(&self, url: &str) -> Result<usize, DbError> {
        let target = parse_url(url)?;
        tokio::task::spawn_blocking(move || match target {
            Target::Sqlite(path) => {
                let mut c = SqliteConnection::establish(&path)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                c.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(migration_err)
            }
            Target::Postgres(url) => {
                let mut c = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                c.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(migration_err)
            }
        })
        .await
        .map_err(migration_err)?
    }

    /// Checks the database answers and reports migrations not yet applied.
    /// A consistent copy of a SQLite database to `to` (a new file), taken while the instance
    /// keeps serving: `VACUUM INTO` reads one snapshot inside a read transaction, so writers
    /// are not blocked and the copy is a valid, compacted database. PostgreSQL: use `pg_dump`.
    pub async fn backup_to(&self, to: &std::path::Path) -> Result<(), DbError> {
        let Pools::Sqlite(pools) = &self.pools else {
            return Err(DbError::NotSupported(
                "back up a PostgreSQL database with pg_dump (see deploy/README.md)",
            ));
        };
        let target = to.to_string_lossy().into_owned();
        let path = pools.path.clone();
        // Copying a whole file takes long: its own connection, on a blocking thread, so the
        // statements served beside it are not held up.
        tokio::task::spawn_blocking(move || -> Result<(), DbError> {
            let mut c =
                SqliteConnection::establish(&path).map_err(|e| DbError::Connect(e.to_string()))?;
            diesel::connection::SimpleConnection::batch_execute(
                &mut c,
                "PRAGMA busy_timeout = 5000;",
            )?;
            diesel::RunQueryDsl::execute(
                diesel::sql_query("VACUUM INTO ?").bind::<diesel::sql_types::Text, _>(&target),
                &mut c,
            )?;
            Ok(())
        })
        .await
        .map_err(|e| DbError::Connect(e.to_string()))??;
        Ok(())
    }

    pub async fn health(&self, url: &str) -> Result<DbHealth, DbError> {
        let mut conn = self.conn().await?;
        with_conn!(&mut conn, |c| diesel::sql_query("SELECT 1")
            .execute(c)
            .await)?;
        let target = parse_url(url)?;
        let pending = tokio::task::spawn_blocking(move || match target {
            Target::Sqlite(path) => {
                let mut c = SqliteConnection::establish(&path)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                c.pending_migrations(SQLITE_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(migration_err)
            }
            Target::Postgres(url) => {
                let mut c = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                c.pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(migration_err)
            }
        })
        .await
        .map_err(migration_err)??;
        Ok(DbHealth {
            backend: self.backend(),
            pending_migrations: pending,
        })
    }

    /// What an integrity check finds damaged: each table with what the check said, or
    /// `(database)` for damage outside any one table. Empty when all is well. SQLite runs its
    /// quick check (every page, every row's format), then again table by table to say which;
    /// PostgreSQL, which has no such check without extensions, reads every table through.
    pub async fn integrity(&self) -> Result<Vec<(String, String)>, DbError> {
        #[derive(diesel::QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text)]
            result: String,
        }
        let mut conn = self.conn().await?;
        let mut damaged = Vec::new();
        match &mut conn {
            Conn::Sqlite(c) => {
                let whole: Result<Vec<Line>, _> =
                    diesel::sql_query("SELECT quick_check AS result FROM pragma_quick_check")
                        .load(&mut **c)
                        .await;
                let problem = match whole {
                    Ok(lines) if lines.len() == 1 && lines[0].result == "ok" => return Ok(damaged),
                    Ok(lines) => lines
                        .into_iter()
                        .next()
                        .map(|l| l.result)
                        .unwrap_or_default(),
                    Err(e) => e.to_string(),
                };
                let tables: Vec<Line> = diesel::sql_query(
                    "SELECT name AS result FROM sqlite_schema WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .load(&mut **c)
                .await
                .unwrap_or_default();
                for t in tables {
                    let lines: Result<Vec<Line>, _> = diesel::sql_query(
                        "SELECT quick_check AS result FROM pragma_quick_check(?)",
                    )
                    .bind::<diesel::sql_types::Text, _>(&t.result)
                    .load(&mut **c)
                    .await;
                    match lines {
                        Ok(l) if l.len() == 1 && l[0].result == "ok" => {}
                        Ok(l) => damaged.push((
                            t.result,
                            l.into_iter().next().map(|l| l.result).unwrap_or_default(),
                        )),
                        Err(e) => damaged.push((t.result, e.to_string())),
                    }
                }
                if damaged.is_empty() {
                    damaged.push(("(database)".into(), problem));
                }
            }
            Conn::Postgres(c) => {
                let tables: Vec<Line> = diesel::sql_query(
                    "SELECT tablename::text AS result FROM pg_tables \
                     WHERE schemaname = current_schema() ORDER BY tablename",
                )
                .load(&mut **c)
                .await?;
                for t in tables {
                    let sql = format!(
                        "SELECT COUNT(*)::text AS result FROM \"{}\"",
                        t.result.replace('"', "\"\"")
                    );
                    if let Err(e) = diesel::sql_query(sql).load::<Line>(&mut **c).await {
                        damaged.push((t.result, e.to_string()));
                    }
                }
            }
        }
        Ok(damaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that does not exist is named as such, not as a pool that timed out.
    #[tokio::test]
    async fn a_missing_postgres_database_says_so() {
        let Ok(admin) = std::env::var("HEARTH_TEST_POSTGRES") else {
            eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
            return;
        };
        let (server, _) = admin.rsplit_once('/').unwrap();
        let Err(e) = Db::connect(&format!("{server}/hearth_no_such_database")).await else {
            panic!("connected to a database that does not exist");
        };
        let text = e.to_string();
        assert!(
            text.contains("does not exist") && text.contains("createdb"),
            "{text}"
        );
        assert!(!text.contains("Timed out"), "{text}");
    }

    #[test]
    fn database_urls_choose_the_backend() {
        assert!(matches!(
            parse_url("postgres://u@h/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(matches!(
            parse_url("postgresql://u@h/db"),
            Ok(Target::Postgres(_))
        ));
        for (url, path) in [
            ("sqlite:///tmp/a.db", "/tmp/a.db"),
            ("sqlite:data/a.db", "data/a.db"),
            ("data/a.db", "data/a.db"),
        ] {
            match parse_url(url) {
                Ok(Target::Sqlite(p)) => assert_eq!(p, path),
                _ => panic!("{url}"),
            }
        }
        assert!(matches!(
            parse_url("mysql://x"),
            Err(DbError::UnsupportedUrl(_))
        ));
        assert!(matches!(parse_url(""), Err(DbError::UnsupportedUrl(_))));
    }
}
