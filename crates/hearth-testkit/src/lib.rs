//! Hearth's test kit: a fresh database per test on either backend, and an in-process
//! [`TestApp`] driven through the real router with per-client cookie jars.
//!
//! PostgreSQL tests run when `HEARTH_TEST_POSTGRES` holds an admin URL (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`): each test creates its own uniquely named
//! database and drops it afterwards. Without the variable they report that they skipped.

mod client;
mod clock;
mod database;
mod network;
pub mod signing;
pub mod smtp;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use hearth_core::{InstanceRole, Role, Tz};
use hearth_db::{Db, GroupSettings};
use hearth_federation::FedOptions;
use hearth_web::{AppState, WebConfig, setup};

pub use client::{TestClient, TestResponse};
pub use clock::TestClock;
pub use database::{Backend, TestDb, postgres_admin_url};
pub use network::{Node, network, network_with, wait_for};

/// Runs each test body once per backend: `mod <name> { fn sqlite(); fn postgres(); }`.
/// The body sees `app: TestApp`.
#[macro_export]
macro_rules! backend_tests {
    ($( $(#[$meta:meta])* async fn $name:ident($app:ident) $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let $app = $crate::TestApp::new($crate::Backend::Sqlite).await;
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::postgres_admin_url().is_none() {
                        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
                        return;
                    }
                    let $app = $crate::TestApp::new($crate::Backend::Postgres).await;
                    $body
                }
            }
        )*
    };
}

/// Emits a test module `$name` that runs `$body(Backend)` on SQLite, and on PostgreSQL when
/// `HEARTH_TEST_POSTGRES` is set: for tests that build their own instances (networks, hubs).
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::postgres_admin_url().is_none() {
                    eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
                    return;
                }
                $body($crate::Backend::Postgres).await;
            }
        }
    };
}

/// Wednesday 25 Nov 2026, 12:00 UTC: week 2026-W48 in Europe/London.
pub fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// An initialised group instance on its own database, with a clock the test controls: its
/// pages, federation and jobs all read it.
pub struct TestApp {
    pub db: Db,
    pub clock: Arc<TestClock>,
    pub state: AppState,
    router: axum::Router,
    options: FedOptions,
    // Dropped last: the database outlives the pool that uses it.
    _database: TestDb,
}

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        Self::with_public_url(backend, "http://hearth.test/").await
    }

    /// An instance that believes it is reached at `public_url` (for example over https).
    pub async fn with_public_url(backend: Backend, public_url: &str) -> TestApp {
        Self::build(
            backend,
            public_url,
            InstanceRole::Group,
            &FedOptions::default(),
        )
        .await
    }

    /// A network hub instead of a group instance.
    pub async fn hub(backend: Backend) -> TestApp {
        Self::build(
            backend,
            "http://hub.test/",
            InstanceRole::Hub,
            &FedOptions::default(),
        )
        .await
    }

    /// An instance of `role` at `public_url`, federating with `options`.
    pub async fn build(
        backend: Backend,
        public_url: &str,
        role: InstanceRole,
        options: &FedOptions,
    ) -> TestApp {
        let database = TestDb::create(backend).await;
        let db = Db::open(database.url())
            .await
            .unwrap_or_else(|e| panic!("open test db: {e}"));
        // Instances that really federate run on real time from the default instant (see
        // `TestClock`); the others stand still there.
        let federates = !options.resolve.is_empty();
        let clock = Arc::new(if federates {
            TestClock::running(default_now())
        } else {
            TestClock::fixed(default_now())
        });
        let group = match role {
            InstanceRole::Group => GroupSettings::new("Test group", Tz::Europe__London),
            InstanceRole::Hub => GroupSettings::hub("Test hub", Tz::Europe__London),
        };
        setup::ensure_group(&db, &group, default_now())
            .await
            .unwrap_or_else(|e| panic!("group: {e}"));
        let config =
            WebConfig::for_url(url::Url::parse(public_url).unwrap_or_else(|e| panic!("{e}")));
        // Instances that really federate need keys of their own, or one could sign as another.
        let key = if !federates { test_key() } else { new_key() };
        if db.instance_key().await.ok().flatten().is_none() {
            db.store_instance_key(&key, default_now())
                .await
                .unwrap_or_else(|e| panic!("key: {e}"));
        }
        let options = FedOptions {
            insecure_local: true,
            ..options.clone()
        };
        let federation = hearth_federation::config(
            db.clone(),
            clock.clone(),
            config.public_url.clone(),
            role,
            &options,
        )
        .await
        .unwrap_or_else(|e| panic!("federation: {e}"));
        let state = AppState::new(db.clone(), config, federation);
        let router = hearth_web::router(state.clone());
        TestApp {
            db,
            clock,
            state,
            router,
            options,
            _database: database,
        }
    }

    /// Builds the federation configuration and router again from the database, as a
    /// restarted process would (for example after a key rotation: the library keeps the
    /// signing key it loaded for as long as a configuration lives).
    pub async fn reload(&mut self) {
        let config = (*self.state.config).clone();
        let federation = hearth_federation::config(
            self.db.clone(),
            self.clock.clone(),
            config.public_url.clone(),
            self.state.role,
            &self.options,
        )
        .await
        .unwrap_or_else(|e| panic!("federation: {e}"));
        self.install(AppState::new(self.db.clone(), config, federation));
    }

    /// Serves `state` from now on.
    fn install(&mut self, state: AppState) {
        self.router = hearth_web::router(state.clone());
        self.state = state;
    }

    /// The same instance, now set up to send email (reminders are offered).
    pub fn enable_email(&mut self) {
        let mut config = (*self.state.config).clone();
        config.email = true;
        let state = self.state.with_config(config);
        self.install(state);
    }

    /// The app's current (test) time.
    pub fn now(&self) -> DateTime<Utc> {
        hearth_web::Clock::now(self.clock.as_ref())
    }

    /// The database's URL, for opening it again as a restarted process would.
    pub fn database_url(&self) -> &str {
        self._database.url()
    }

    pub fn backend(&self) -> Backend {
        self._database.backend()
    }

    /// The application router, for serving over real HTTP in network tests.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// A new browser: its own cookie jar and CSRF token.
    pub fn client(&self) -> TestClient {
        TestClient::new(self.router.clone())
    }

    /// A fresh single-use invite; returns the path of its link (`/join/…`).
    pub async fn invite_path(&self, role: Role) -> String {
        let link = setup::invite_link(&self.db, &self.state.config, role, 7, None, self.now())
            .await
            .unwrap_or_else(|e| panic!("invite: {e}"));
        let base = self.state.config.public_url.as_str().trim_end_matches('/');
        link.trim_start_matches(base).to_owned()
    }

    /// Joins through a new invite and returns the signed-in client.
    pub async fn join(&self, role: Role, username: &str) -> TestClient {
        let path = self.invite_path(role).await;
        let client = self.client();
        let display = format!("{username} display");
        client.get(&path).await.assert_status(200);
        client
            .post_form(
                &path,
                &[
                    ("display_name", display.as_str()),
                    ("username", username),
                    ("password", "a long enough password"),
                    ("password_confirm", "a long enough password"),
                ],
            )
            .await
            .assert_redirect("/");
        client
    }

    /// Runs `SELECT COUNT(*) AS n …` written for both backends and returns `n`.
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.db.conn().await.unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<Count> = hearth_db::with_conn!(&mut conn, |c| {
            diesel_async::RunQueryDsl::load(diesel::sql_query(sql), c).await
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.first()
            .map(|r| r.n)
            .unwrap_or_else(|| panic!("{sql}: no row"))
    }

    /// Runs one SQL statement (to put the database in a state no request can, such as an
    /// old timestamp); returns the rows it changed.
    pub async fn execute(&self, sql: &str) -> usize {
        let mut conn = self.db.write_conn().await.unwrap_or_else(|e| panic!("{e}"));
        let n = hearth_db::with_conn!(&mut conn, |c| {
            diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), c).await
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        self.db.forget_cached();
        n
    }

    /// The same, returning the database's refusal instead of failing the test.
    pub async fn try_execute(&self, sql: &str) -> Result<usize, String> {
        let mut conn = self.db.write_conn().await.map_err(|e| e.to_string())?;
        let n = hearth_db::with_conn!(&mut conn, |c| {
            diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), c).await
        })
        .map_err(|e| e.to_string());
        self.db.forget_cached();
        n
    }

    /// A member created straight in the database (no password hashing, no HTTP), who consents
    /// to sharing when `consent` is set: for tests that need many people quickly.
    pub async fn seed_member(&self, username: &str, consent: bool) -> i64 {
        let account = hearth_web::setup::create_account(
            &self.db,
            Role::Member,
            &hearth_db::NewAccount {
                username: username.to_owned(),
                display_name: format!("{username} display"),
                password_hash: "seeded: cannot sign in".to_owned(),
            },
            self.now(),
        )
        .await
        .unwrap_or_else(|e| panic!("seed {username}: {e}"));
        if consent {
            self.db
                .set_consent(account.id, true, self.now())
                .await
                .unwrap_or_else(|e| panic!("consent: {e}"));
        }
        account.id
    }

    /// Stores a check-in for `account_id` in `week`.
    pub async fn seed_checkin(
        &self,
        account_id: i64,
        week: hearth_core::IsoWeek,
        answers: &hearth_core::CheckinAnswers,
    ) {
        self.db
            .save_checkin(account_id, week, answers, self.now())
            .await
            .unwrap_or_else(|e| panic!("check-in: {e}"));
    }

    /// The id of the account with `username`.
    pub async fn account_id(&self, username: &str) -> i64 {
        match self.db.credentials(username).await {
            Ok(Some((a, _))) => a.id,
            other => panic!("no account {username}: {other:?}"),
        }
    }
}

/// A complete, valid check-in form. `who5` is the same answer for all five items.
pub fn checkin_form(who5: u8, burnout: u8, note: &str) -> Vec<(&'static str, String)> {
    let w = who5.to_string();
    vec![
        ("who5_1", w.clone()),
        ("who5_2", w.clone()),
        ("who5_3", w.clone()),
        ("who5_4", w.clone()),
        ("who5_5", w),
        ("burnout", burnout.to_string()),
        ("paid_hours", "6".into()),
        ("unpaid_hours", "4".into()),
        ("funding_hours", "3".into()),
        ("time_pressure", "3".into()),
        ("note", note.into()),
    ]
}

/// One RSA-2048 key pair per test process: generating keys is slow, and tests need not differ.
pub fn test_key() -> hearth_db::InstanceKey {
    static KEY: std::sync::OnceLock<hearth_db::InstanceKey> = std::sync::OnceLock::new();
    KEY.get_or_init(new_key).clone()
}

/// A fresh RSA-2048 key pair.
pub fn new_key() -> hearth_db::InstanceKey {
    {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .unwrap_or_else(|e| panic!("key: {e}"));
        hearth_db::InstanceKey {
            private_pem: private
                .to_pkcs8_pem(LineEnding::LF)
                .unwrap_or_else(|e| panic!("{e}"))
                .to_string(),
            public_pem: private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap_or_else(|e| panic!("{e}")),
        }
    }
}
