//! Group commit for SQLite's one writer.
//!
//! SQLite writes one transaction at a time, and each commit appends its pages to the log. Under
//! load, writes that arrive while the writer is busy wait for it; here they wait in a queue
//! instead, and whoever gets the write connection next runs everything queued in one
//! transaction, each write in its own savepoint (a write that fails is rolled back alone and
//! its caller told). Every caller hears its own result only once the whole batch is committed,
//! so an acknowledged write is as durable as before; a quiet server commits each write on its
//! own, as it did without the queue.
//!
//! A caller that goes away before its write was taken removes it, so nothing is written later
//! for a request nobody waits on. A batch, once taken, runs on a blocking thread to its end
//! (SQLite statements run in place there, see [`super::Inline`]), whatever becomes of the
//! caller that took it, so no batch is left half done. It runs off the async workers so they go
//! on with other requests meanwhile: when each request does much work before its write (a hub
//! checks a signature), a batch on a worker left the other requests waiting behind it and the
//! batches stayed small; the one thread hand-off is paid per batch, not per statement.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel_async::{AsyncConnection, AsyncPgConnection, TransactionManager};
use tokio::sync::oneshot;

use super::{Conn, Db, SqliteConn};
use crate::DbError;

type Future_<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// One write's statements on a connection of type `C`, run inside a transaction.
pub(crate) type ConnWork<C, T> =
    Box<dyn for<'c> FnOnce(&'c mut C) -> Future_<'c, Result<T, DbError>> + Send + 'static>;

/// One write's statements, run on the write connection inside the batch's transaction.
pub(crate) type Work<T> = ConnWork<SqliteConn, T>;

/// A write's statements for the backend its [`Db`] talks to; made by [`write_body!`], run by
/// [`Db::write_batched`].
pub(crate) enum Write<T> {
    Sqlite(Work<T>),
    Postgres(ConnWork<AsyncPgConnection, T>),
}

/// Makes a [`Write`] of one write body for the backend `$db` talks to. As with
/// [`with_conn!`](crate::with_conn), `$body` is expanded once per backend, so one copy is
/// type-checked against each connection; `$c` is `&mut` that connection. The body owns what it
/// uses (it is `move`): a queued write runs on another thread.
macro_rules! write_body {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db.backend() {
            $crate::Backend::Sqlite => {
                $crate::pool::group_commit::Write::Sqlite(Box::new(move |$c| {
                    Box::pin(async move { $body })
                }))
            }
            $crate::Backend::Postgres => {
                $crate::pool::group_commit::Write::Postgres(Box::new(move |$c| {
                    Box::pin(async move { $body })
                }))
            }
        }
    };
}
pub(crate) use write_body;

impl Db {
    /// Runs a write that arrives many at a time (a check-in, a received report, a received
    /// activity's record). SQLite: queued and committed in a batch with the others, as the module
    /// docs say; PostgreSQL, whose writers do not wait for one another: in a transaction of its
    /// own. `after` (forgetting cached rows the write changed) runs once the write is committed,
    /// before the caller hears back.
    pub(crate) async fn write_batched<T: Send + 'static>(
        &self,
        write: Write<T>,
        after: impl FnOnce() + Send + 'static,
    ) -> Result<T, DbError> {
        match write {
            Write::Sqlite(work) => self.queued.run(self, work, Box::new(after)).await,
            Write::Postgres(work) => {
                let mut conn = self.write_conn().await?;
                let Conn::Postgres(c) = &mut conn else {
                    return Err(DbError::Commit("a PostgreSQL write given to SQLite".into()));
                };
                let v = c.transaction(async move |c| work(c).await).await?;
                after();
                Ok(v)
            }
        }
    }
}

/// What runs once the batch holding a write has committed (forgetting cached rows it changed),
/// before its caller hears back.
pub(crate) type AfterCommit = Box<dyn FnOnce() + Send + 'static>;

/// Tells a caller how its write ended, given how the batch's commit went.
type Answer = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A queued write of any kind: runs its statements, says whether they succeeded, and how to
/// answer its caller once the batch is over.
type Job = Box<dyn for<'c> FnOnce(&'c mut SqliteConn) -> Future_<'c, (bool, Answer)> + Send>;

struct Pending {
    id: u64,
    job: Job,
}

/// The queue of writes waiting for the write connection.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Vec<Pending>>,
    next_id: AtomicU64,
}

/// Takes a queued write back out if its caller goes away before a batch took it.
struct Withdraw<'q> {
    queue: &'q GroupCommit,
    id: u64,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.queue.lock().retain(|p| p.id != self.id);
    }
}

impl GroupCommit {
    /// Queues `work`, commits it (with whatever else is queued) and returns its result.
    /// SQLite only: the caller has checked the backend.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        db: &Db,
        work: Work<T>,
        after: AfterCommit,
    ) -> Result<T, DbError> {
        let (reply, answer) = oneshot::channel::<Result<T, DbError>>();
        let job: Job = Box::new(move |c| {
            Box::pin(async move {
                match work(c).await {
                    Ok(v) => {
                        let answer: Answer = Box::new(move |commit| {
                            let _ = reply.send(match commit {
                                Ok(()) => {
                                    after();
                                    Ok(v)
                                }
                                Err(msg) => Err(DbError::Commit(msg.to_owned())),
                            });
                        });
                        (true, answer)
                    }
                    Err(e) => {
                        let answer: Answer = Box::new(move |_| {
                            let _ = reply.send(Err(e));
                        });
                        (false, answer)
                    }
                }
            })
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push(Pending { id, job });
        let withdraw = Withdraw { queue: self, id };
        let mut conn = db.write_conn().await?;
        let batch = std::mem::take(&mut *self.lock());
        drop(withdraw);
        if !batch.is_empty() {
            let handle = tokio::runtime::Handle::current();
            // Runs to its end even if this caller goes away meanwhile; if the runtime is
            // shutting down and it never starts, dropping the jobs tells their callers.
            let _ = tokio::task::spawn_blocking(move || {
                match &mut conn {
                    Conn::Sqlite(c) => handle.block_on(commit(c, batch)),
                    Conn::Postgres(_) => {
                        // Never queued on PostgreSQL; dropping the jobs answers their callers.
                        drop(batch);
                    }
                }
                drop(conn);
            })
            .await;
        } else {
            drop(conn);
        }
        // Either this call's batch answered it above, or an earlier holder of the write
        // connection took it and answered before letting the connection go.
        answer
            .await
            .unwrap_or_else(|_| Err(DbError::Commit("the write could not be started".into())))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        // A panic while holding this lock can only come from Vec itself; the queue stays valid.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Tm = <SqliteConn as AsyncConnection>::TransactionManager;

async fn commit(c: &mut SqliteConn, batch: Vec<Pending>) {
    if let Err(e) = Tm::begin_transaction(c).await {
        // Dropping the writes unrun tells each caller that its write was not made.
        tracing::error!(error = %e, writes = batch.len(), "could not begin a batch of writes");
        return;
    }
    let mut answers = Vec::with_capacity(batch.len());
    // Until a write succeeds the transaction holds nothing else, so a write then runs without
    // a savepoint (which copies every page the write changes): if it fails, the transaction is
    // rolled back and begun again.
    let mut empty = true;
    let mut batch = batch.into_iter();
    while let Some(p) = batch.next() {
        if empty {
            let (ok, answer) = (p.job)(c).await;
            answers.push((None, answer));
            if ok {
                empty = false;
                continue;
            }
            let again = match Tm::rollback_transaction(c).await {
                Ok(()) => Tm::begin_transaction(c).await,
                Err(e) => Err(e),
            };
            if let Err(e) = again {
                tracing::error!(error = %e, "could not begin a batch of writes again");
                // Only failed writes have run; the rest are dropped unrun, which tells their
                // callers that their writes were not made.
                drop(batch);
                let msg = e.to_string();
                for (_, answer) in answers {
                    answer(Err(&msg));
                }
                return;
            }
            continue;
        }
        // Each later write in its own savepoint, so one that fails is undone alone.
        if let Err(e) = Tm::begin_transaction(c).await {
            tracing::error!(error = %e, "could not begin a write in a batch");
            continue;
        }
        let (ok, answer) = (p.job)(c).await;
        let ended = if ok {
            Tm::commit_transaction(c).await
        } else {
            Tm::rollback_transaction(c).await
        };
        // A savepoint that could not be ended leaves the transaction unusable; the commit
        // below then fails and says so to everyone.
        answers.push((ended.err().map(|e| e.to_string()), answer));
    }
    let committed = match Tm::commit_transaction(c).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = Tm::rollback_transaction(c).await;
            Err(e.to_string())
        }
    };
    for (own_error, answer) in answers {
        match (&committed, own_error) {
            (Err(msg), _) => answer(Err(msg)),
            (Ok(()), Some(msg)) => answer(Err(&msg)),
            (Ok(()), None) => answer(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

    use super::*;

    async fn db() -> (Db, std::path::PathBuf) {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "hearth-group-commit-{}-{}.db",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let db = Db::connect(&path.to_string_lossy()).await.unwrap();
        let mut conn = db.write_conn().await.unwrap();
        let Conn::Sqlite(c) = &mut conn else {
            panic!("a file path opens SQLite")
        };
        c.batch_execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        drop(conn);
        (db, path)
    }

    fn insert(x: i64) -> Work<()> {
        Box::new(move |c| {
            Box::pin(async move {
                diesel::sql_query(format!("INSERT INTO t (x) VALUES ({x})"))
                    .execute(c)
                    .await?;
                Ok(())
            })
        })
    }

    async fn rows(db: &Db) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = db.conn().await.unwrap();
        let Conn::Sqlite(c) = &mut conn else {
            panic!("SQLite")
        };
        diesel::sql_query("SELECT count(*) AS n FROM t")
            .get_result::<N>(c)
            .await
            .unwrap()
            .n
    }

    fn cleanup(db: Db, path: &std::path::Path) {
        drop(db);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test]
    async fn writes_that_queue_commit_together_and_a_failure_stays_its_own() {
        let (db, path) = db().await;
        let queue = Arc::new(GroupCommit::default());
        let after = Arc::new(AtomicU64::new(0));
        // Hold the writer so every write below queues behind it.
        let held = db.write_conn().await.unwrap();
        let tasks: Vec<_> = [1, 2, 3, 2, 4]
            .into_iter()
            .map(|x| {
                let (db, queue, after) = (db.clone(), queue.clone(), after.clone());
                tokio::spawn(async move {
                    let count = Box::new(move || {
                        after.fetch_add(1, Ordering::Relaxed);
                    });
                    queue.run(&db, insert(x), count).await
                })
            })
            .collect();
        while queue.lock().len() < 5 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(held);
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        // The second 2 breaks the key: it alone fails, the batch still commits.
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
        assert!(results[3].is_err());
        assert_eq!(rows(&db).await, 4);
        assert_eq!(
            AtomicU64::load(&after, Ordering::Relaxed),
            4,
            "run after each saved write"
        );
        assert!(queue.lock().is_empty());
        cleanup(db, &path);
    }

    /// Inserts `first`, then `then`: a write that fails half way when `then` is taken.
    fn insert_two(first: i64, then: i64) -> Work<()> {
        Box::new(move |c| {
            Box::pin(async move {
                for x in [first, then] {
                    diesel::sql_query(format!("INSERT INTO t (x) VALUES ({x})"))
                        .execute(c)
                        .await?;
                }
                Ok(())
            })
        })
    }

    #[tokio::test]
    async fn writes_that_fail_before_any_succeeds_are_undone_whole() {
        let (db, path) = db().await;
        let queue = Arc::new(GroupCommit::default());
        queue.run(&db, insert(1), Box::new(|| {})).await.unwrap();
        let held = db.write_conn().await.unwrap();
        // The first two fail half way (1 is taken), with nothing before them in the batch;
        // the third fails after a success; the rest succeed.
        let writes: Vec<Work<()>> = vec![
            insert_two(10, 1),
            insert_two(11, 1),
            insert(2),
            insert_two(12, 1),
            insert(3),
        ];
        let mut tasks = Vec::new();
        for w in writes {
            let (db, q) = (db.clone(), queue.clone());
            tasks.push(tokio::spawn(
                async move { q.run(&db, w, Box::new(|| {})).await },
            ));
            // In this order in the queue.
            while queue.lock().len() < tasks.len() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        drop(held);
        let mut ok = Vec::new();
        for t in tasks {
            ok.push(t.await.unwrap().is_ok());
        }
        assert_eq!(ok, [false, false, true, false, true]);
        // 1, 2 and 3: nothing of the failed writes' first halves.
        assert_eq!(rows(&db).await, 3);
        cleanup(db, &path);
    }

    #[tokio::test]
    async fn a_write_whose_caller_left_before_its_turn_is_never_made() {
        let (db, path) = db().await;
        let queue = GroupCommit::default();
        let held = db.write_conn().await.unwrap();
        let gone = tokio::time::timeout(
            Duration::from_millis(20),
            queue.run(&db, insert(7), Box::new(|| {})),
        )
        .await;
        assert!(gone.is_err(), "the write waited for the held connection");
        assert!(
            queue.lock().is_empty(),
            "the abandoned write left the queue"
        );
        drop(held);
        // The next write commits alone; the abandoned one is not in it.
        queue.run(&db, insert(8), Box::new(|| {})).await.unwrap();
        assert_eq!(rows(&db).await, 1);
        cleanup(db, &path);
    }
}
