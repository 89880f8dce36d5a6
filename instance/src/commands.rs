//! What each subcommand does. Every command validates its input before it writes anything.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hearth_core::{Role, Tz};
use hearth_db::{Clock, Db, GroupSettings, SystemClock};
use hearth_web::{AppState, WebConfig, setup};

use crate::cli::{Cli, Command, InitArgs, InviteArgs, RoleArg, ServeArgs};
use crate::config::{
    CONFIG_FILE, Config, DATABASE_FILE, Overrides, resolve_data_dir, starter_file,
};
use crate::keys;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let data_dir = resolve_data_dir(cli.data_dir);
    let serving = matches!(cli.command, Command::Serve(_));
    // The log format is configuration; a configuration that does not load is reported by the
    // command itself, in text.
    let json = serving
        && Config::load(&data_dir, &Overrides::default())
            .is_ok_and(|c| c.log_format == crate::config::LogFormat::Json);
    // Held to the end: dropping it writes out the log lines still queued.
    let _log = init_logging(serving, json);
    // The one clock every command, page, federation call and job reads.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Init(args) => init(&data_dir, &clock, args).await,
        Command::Serve(args) => serve(&data_dir, clock, args).await,
        Command::Migrate => migrate(&data_dir).await,
        Command::Invite(args) => invite(&data_dir, &clock, args).await,
        Command::Check => check(&data_dir, &clock).await,
        Command::Demo(args) => crate::demo::demo(args, clock).await,
        Command::Bench(args) => crate::bench::bench(args).await,
        Command::BenchHello {
            listen,
            verify_keys,
        } => crate::bench::hello(listen, verify_keys).await,
        Command::Healthcheck => healthcheck(&data_dir),
        Command::Backup(args) => backup(&data_dir, args).await,
        Command::Restore(args) => restore(&data_dir, args).await,
        Command::Export(args) => export(&data_dir, args).await,
        Command::RotateKeys => rotate_keys(&data_dir, &clock).await,
    }
}

/// Log lines a server may have queued before a request that logs waits for the writer.
const QUEUED_LOG_LINES: usize = 1024;

fn init_logging(serving: bool, json: bool) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::LevelFilter;
    let default = if serving {
        LevelFilter::INFO
    } else {
        LevelFilter::WARN
    };
    // `RUST_LOG`'s directives need `EnvFilter`; without them a fixed level says the same, and
    // spares every span entered and left (several times a request) `EnvFilter`'s lock.
    let directives = std::env::var(EnvFilter::DEFAULT_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| EnvFilter::try_new(v).unwrap_or_else(|_| EnvFilter::new(default.to_string())));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A server logs every request: its lines go through a queue to a thread that writes them
    // in batches, so no request waits on its own write to stderr. The queue is bounded and
    // never drops a line: when full, a request waits for room.
    let (writer, guard) = if serving {
        let (w, g) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .buffered_lines_limit(QUEUED_LOG_LINES)
            .lossy(false)
            .thread_name("log-writer")
            .finish(std::io::BufWriter::with_capacity(
                16 * 1024,
                std::io::stderr(),
            ));
        (
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(w),
            Some(g),
        )
    } else {
        (
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
            None,
        )
    };
    let builder = tracing_subscriber::fmt().with_writer(writer);
    // A second call (tests) keeps the first subscriber.
    let _ = match (directives, json) {
        (Some(filter), true) => builder
            .with_env_filter(filter)
            .json()
            .with_current_span(true)
            .try_init(),
        (Some(filter), false) => builder.with_env_filter(filter).with_ansi(ansi).try_init(),
        (None, true) => builder
            .with_max_level(default)
            .json()
            .with_current_span(true)
            .try_init(),
        (None, false) => builder.with_max_level(default).with_ansi(ansi).try_init(),
    };
    guard
}

/// Where this machine reaches the configured listen address (loopback for "every address").
fn local_addr(config: &Config) -> SocketAddr {
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::IpAddr::from([127, 0, 0, 1]));
    }
    addr
}

fn parse_timezone(s: &str) -> anyhow::Result<Tz> {
    s.parse::<Tz>().map_err(|_| {
        anyhow::anyhow!("unknown time zone {s:?}: use an IANA name such as Europe/London")
    })
}

fn parse_group_name(s: &str) -> anyhow::Result<String> {
    let name = s.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        bail!("the group name must be 1 to 80 characters on one line");
    }
    Ok(name.to_owned())
}

/// Whether `data_dir` already holds an instance (for the default SQLite file; a configured
/// database URL is trusted to exist).
fn has_instance(data_dir: &Path, config: &Config) -> bool {
    config.database_url.is_some() || data_dir.join(DATABASE_FILE).exists()
}

fn fed_options(config: &Config) -> hearth_federation::FedOptions {
    hearth_federation::FedOptions {
        insecure_local: config.federation_insecure_local,
        resolve: config
            .federation_resolve
            .iter()
            .map(|(name, addr)| (name.clone(), *addr))
            .collect(),
        inbox_requests_per_minute: Some(config.inbox_requests_per_minute),
    }
}

fn web_config(config: &Config) -> WebConfig {
    WebConfig {
        public_url: config.public_url(),
        behind_proxy: config.behind_proxy,
        login_attempts_per_minute: config.login_attempts_per_minute,
        metrics_token: config
            .metrics_token
            .as_ref()
            .map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned()),
        email: config.smtp_url.is_some(),
    }
}

/// The reminder mailer, when email is configured (checked when the configuration loaded).
fn mailer(config: &Config) -> anyhow::Result<Option<hearth_web::mail::Mailer>> {
    match (&config.smtp_url, &config.email_from) {
        (Some(url), Some(from)) => Ok(Some(hearth_web::mail::Mailer::new(
            secrecy::ExposeSecret::expose_secret(url),
            from,
        )?)),
        _ => Ok(None),
    }
}

/// Makes or completes an instance in `data_dir`: directory, config file, database, group row,
/// key pair. Returns the open database and a setup link when nobody has an account yet.
/// The file `serve` holds an exclusive lock on while it runs, so commands that must not run
/// beside it (restore, rotate-keys) can tell, whatever address it listens on.
const LOCK_FILE: &str = "hearth.lock";

/// Takes the data directory's serving lock, or says it is taken. The lock lasts as long as the
/// returned file is open, and goes with the process however it ends.
fn take_serving_lock(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("could not open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "an instance is running on {}: stop it first (for example `systemctl stop hearth`)",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("could not lock {}", path.display()))
        }
    }
}

/// Only the instance's own user may read what it keeps (notes, password hashes, sessions, the
/// private key): the data directory 0700 and every file in it 0600. SQLite gives its WAL and
/// shared-memory files the database file's own mode. Where the operator's setup does not let
/// this user change a mode (a directory someone else owns), it says so and carries on.
fn keep_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let private = |path: &Path, mode: u32| {
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            eprintln!(
                "warning: could not make {} readable by this user alone ({e}); other local users may read it",
                path.display()
            );
        }
    };
    private(dir, 0o700);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            private(&entry.path(), 0o600);
        }
    }
}

async fn prepare(
    data_dir: &Path,
    clock: &Arc<dyn Clock>,
    config: &Config,
    group: &GroupSettings,
    file_overrides: &Overrides,
) -> anyhow::Result<(Db, Option<String>)> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("could not create the data directory {}", data_dir.display()))?;
    let file = data_dir.join(CONFIG_FILE);
    if !file.exists() {
        let listen = file_overrides.listen.unwrap_or(config.listen);
        std::fs::write(
            &file,
            starter_file(listen, file_overrides.public_url.as_ref()),
        )
        .with_context(|| format!("could not write {}", file.display()))?;
    }
    let url = config.database_url(data_dir);
    let db = Db::open(&url)
        .await
        .context("could not open the database")?;
    keep_private(data_dir);
    // A damaged SQLite file would serve 500s to members while /healthz says all is well.
    if db.backend() == hearth_db::Backend::Sqlite
        && let Some((table, why)) = db.integrity().await?.into_iter().next()
    {
        bail!(
            "the database is damaged ({table}: {why}): nothing was changed; restore the latest \
             backup with `hearth restore --force --from FILE`, then start again"
        );
    }
    let now = clock.now();
    setup::ensure_group(&db, group, now).await?;
    if db.instance_key().await?.is_none() {
        let key = tokio::task::spawn_blocking(keys::generate).await??;
        db.store_instance_key(&key, now).await?;
    }
    let link = setup::setup_link_if_needed(&db, &web_config(config), now).await?;
    Ok((db, link))
}

fn print_setup_link(link: &Option<String>) {
    if let Some(link) = link {
        println!(
            "Setup link for the first facilitator (works once, for {} days):",
            setup::SETUP_LINK_DAYS
        );
        println!("  {link}");
    }
}

async fn init(data_dir: &Path, clock: &Arc<dyn Clock>, args: InitArgs) -> anyhow::Result<ExitCode> {
    let name = parse_group_name(&args.group_name)?;
    let tz = parse_timezone(&args.timezone)?;
    let group = if args.hub {
        GroupSettings::hub(name, tz)
    } else {
        GroupSettings::new(name, tz)
    };
    let overrides = Overrides {
        listen: args.listen,
        public_url: args.public_url,
    };
    let config = Config::load(data_dir, &overrides)?;
    let existed = has_instance(data_dir, &config);
    let (db, link) = prepare(data_dir, clock, &config, &group, &overrides).await?;
    let current = db.group_settings().await?;
    if existed {
        let (name, role) = current
            .map(|s| (s.name, s.role))
            .unwrap_or((String::new(), group.role));
        println!(
            "Hearth is already set up in {} as a {role} for {name:?}; nothing was changed.",
            data_dir.display()
        );
    } else {
        println!(
            "Hearth is set up in {} as a {} for {:?}.",
            data_dir.display(),
            group.role,
            group.name
        );
    }
    print_setup_link(&link);
    if link.is_none() && !existed {
        println!("Make invite links with: hearth invite --role member");
    }
    println!(
        "Start it with: hearth serve --data-dir {}",
        data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    data_dir: &Path,
    clock: Arc<dyn Clock>,
    args: ServeArgs,
) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        listen: args.listen,
        public_url: args.public_url,
    };
    let config = Config::load(data_dir, &overrides)?;
    let group = GroupSettings::new("Our group", Tz::Europe__London);
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("could not create the data directory {}", data_dir.display()))?;
    // Held until serve returns: restore and rotate-keys refuse meanwhile.
    let _serving = take_serving_lock(data_dir)?;
    // A configuration with no database beside it is an instance whose data went missing more
    // often than a new one: making a fresh instance would hide that.
    if config.database_url.is_none()
        && data_dir.join(CONFIG_FILE).exists()
        && !data_dir.join(DATABASE_FILE).exists()
    {
        bail!(
            "{} is here but the database {DATABASE_FILE} is not. If the database was moved or \
             deleted, put it back or restore a backup (`hearth restore --from FILE`); to start a \
             new instance with this configuration, run `hearth init` first",
            data_dir.join(CONFIG_FILE).display()
        );
    }
    // Only the first start writes flags into a new configuration file.
    let (db, link) = prepare(data_dir, &clock, &config, &group, &overrides).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "could not listen on {} (is another program using it?)",
                config.listen
            )
        })?;
    let settings = db
        .group_settings()
        .await?
        .context("the instance has no settings row")?;
    let federation = hearth_federation::config(
        db.clone(),
        clock,
        config.public_url(),
        settings.role,
        &fed_options(&config),
    )
    .await
    .context("could not set up federation")?;
    let state = AppState::new(db.clone(), web_config(&config), federation);
    let is_group = settings.role == hearth_core::InstanceRole::Group;
    let jobs = hearth_web::jobs::JobRunner::start(
        &state,
        hearth_web::jobs::JobOptions {
            mailer: if is_group { mailer(&config)? } else { None },
            delivery: hearth_federation::outbox::RetryPolicy {
                base: Duration::from_millis(config.delivery_retry_base_ms),
                ..Default::default()
            },
            delivery_idle: Duration::from_millis(config.delivery_retry_base_ms.clamp(100, 5000)),
        },
    );
    let name = settings.name;
    println!(
        "Hearth is serving {} {name:?} at {} (listening on {})",
        settings.role,
        config.public_url(),
        config.listen
    );
    print_setup_link(&link);
    let app = hearth_web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let stop_jobs = jobs.shutdown_token();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // The jobs stop while the requests in flight finish.
            stop_jobs.cancel();
        })
        .await;
    // Whether the server ended by the signal or by an error, no job outlives it.
    let stopped = jobs.shutdown().await;
    served.context("the server stopped with an error")?;
    if !stopped.aborted.is_empty() {
        tracing::warn!(jobs = ?stopped.aborted, "stopped in the middle of a pass");
    }
    println!("Hearth stopped.");
    Ok(ExitCode::SUCCESS)
}

async fn backup(data_dir: &Path, args: crate::cli::BackupArgs) -> anyhow::Result<ExitCode> {
    if args.to.exists() {
        bail!("{} already exists: give a new file name", args.to.display());
    }
    let (_, db) = open_existing(data_dir).await?;
    db.backup_to(&args.to).await?;
    {
        use std::os::unix::fs::PermissionsExt;
        // A backup holds everything the instance does: as private as the database.
        std::fs::set_permissions(&args.to, std::fs::Permissions::from_mode(0o600))?;
    }
    // Check the copy opens as a Hearth database before saying it is good.
    let copy = Db::connect(&format!("sqlite://{}", args.to.display())).await?;
    let settings = copy
        .group_settings()
        .await?
        .context("the copy has no instance settings")?;
    let bytes = std::fs::metadata(&args.to)?.len();
    println!(
        "Backed up {} {:?} to {} ({bytes} bytes).",
        settings.role,
        settings.name,
        args.to.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn rotate_keys(data_dir: &Path, clock: &Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    let (config, db) = open_existing(data_dir).await?;
    // A running instance keeps signing with the key it loaded: it must restart to use a new one.
    let _not_serving = take_serving_lock(data_dir)
        .map_err(|e| anyhow::anyhow!("{e:#}, rotate the keys, then start it again"))?;
    let probe = local_addr(&config);
    if std::net::TcpStream::connect_timeout(&probe, Duration::from_millis(500)).is_ok() {
        bail!("the instance is running on {probe}: stop it, rotate the keys, then start it again");
    }
    let settings = db
        .group_settings()
        .await?
        .context("this instance is not set up: run `hearth init` first")?;
    db.store_instance_key(&keys::generate()?, clock.now())
        .await?;
    let federation = hearth_federation::config(
        db.clone(),
        clock.clone(),
        config.public_url(),
        settings.role,
        &fed_options(&config),
    )
    .await
    .context("could not set up federation")?;
    let n = hearth_federation::keys::announce_actor(&federation.to_request_data()).await?;
    println!(
        "A new key pair is stored (the old one is kept). {n} peer inbox(es) will be sent the new \
         public key when the instance next runs: start it now."
    );
    Ok(ExitCode::SUCCESS)
}

async fn export(data_dir: &Path, args: crate::cli::ExportArgs) -> anyhow::Result<ExitCode> {
    if args.to.exists() {
        bail!("{} already exists: give a new directory", args.to.display());
    }
    let (config, db) = open_existing(data_dir).await?;
    if config.database_url.is_some() {
        bail!("this instance uses PostgreSQL: move it with pg_dump and copy hearth.toml");
    }
    std::fs::create_dir_all(&args.to)?;
    let result = async {
        db.backup_to(&args.to.join(DATABASE_FILE)).await?;
        std::fs::copy(data_dir.join(CONFIG_FILE), args.to.join(CONFIG_FILE))
            .context("could not copy the configuration")?;
        keep_private(&args.to);
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = result {
        // Leave nothing half-made behind.
        let _ = std::fs::remove_dir_all(&args.to);
        return Err(e);
    }
    println!(
        "Exported to {}: the configuration and the whole database (accounts, check-ins, keys, \
         hubs, reports). On the new host: hearth serve --data-dir <that directory> (change \
         listen and public_url in its hearth.toml if the address changes).",
        args.to.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn restore(data_dir: &Path, args: crate::cli::RestoreArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(data_dir, &Overrides::default())?;
    if config.database_url.is_some() {
        bail!("this instance uses PostgreSQL: restore it with pg_restore (see deploy/README.md)");
    }
    // The backup must be a Hearth database before anything is touched.
    if !args.from.is_file() {
        bail!("{} does not exist", args.from.display());
    }
    let backup = Db::connect(&format!("sqlite://{}", args.from.display()))
        .await
        .with_context(|| format!("{} is not a database", args.from.display()))?;
    let settings = backup
        .group_settings()
        .await
        .ok()
        .flatten()
        .with_context(|| format!("{} is not a Hearth backup", args.from.display()))?;
    drop(backup);
    let target = data_dir.join(DATABASE_FILE);
    // Replacing the database under a running instance loses what it writes afterwards.
    let _not_serving = if data_dir.exists() {
        Some(take_serving_lock(data_dir)?)
    } else {
        None
    };
    if target.exists() && !args.force {
        bail!(
            "{} already has a database; stop the instance and add --force to replace it",
            data_dir.display()
        );
    }
    std::fs::create_dir_all(data_dir)?;
    // Copy beside, then rename over: the database is never half-written.
    let partial = data_dir.join(format!("{DATABASE_FILE}.restoring"));
    std::fs::copy(&args.from, &partial)?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data_dir.join(format!("{DATABASE_FILE}{suffix}")));
    }
    std::fs::rename(&partial, &target)?;
    keep_private(data_dir);
    println!(
        "Restored {} {:?} into {}.",
        settings.role,
        settings.name,
        data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// One GET of /healthz on the listen address (an unspecified address means this machine).
fn healthcheck(data_dir: &Path) -> anyhow::Result<ExitCode> {
    use std::io::{Read, Write};
    let config = Config::load(data_dir, &Overrides::default())?;
    let addr = local_addr(&config);
    let timeout = Duration::from_secs(3);
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("nothing answers on {addr}"))?;
    s.set_read_timeout(Some(timeout))?;
    write!(s, "GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    let status = reply.lines().next().unwrap_or_default().to_owned();
    if status.contains(" 200 ") {
        println!("healthy: {status}");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("unhealthy: {status}");
        Ok(ExitCode::FAILURE)
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Opens an existing instance; refuses (and creates nothing) where there is none.
async fn open_existing(data_dir: &Path) -> anyhow::Result<(Config, Db)> {
    let config = Config::load(data_dir, &Overrides::default())?;
    if !has_instance(data_dir, &config) {
        bail!(
            "no Hearth instance in {}: run `hearth init --data-dir {}` first",
            data_dir.display(),
            data_dir.display()
        );
    }
    let db = Db::connect(&config.database_url(data_dir))
        .await
        .context("could not open the database")?;
    Ok((config, db))
}

async fn migrate(data_dir: &Path) -> anyhow::Result<ExitCode> {
    let (config, db) = open_existing(data_dir).await?;
    let n = db.migrate(&config.database_url(data_dir)).await?;
    if n == 0 {
        println!("The database is up to date.");
    } else {
        println!("Applied {n} migration(s).");
    }
    Ok(ExitCode::SUCCESS)
}

async fn invite(
    data_dir: &Path,
    clock: &Arc<dyn Clock>,
    args: InviteArgs,
) -> anyhow::Result<ExitCode> {
    let (config, db) = open_existing(data_dir).await?;
    let health = db.health(&config.database_url(data_dir)).await?;
    if health.pending_migrations > 0 {
        bail!("the database needs migrating first: run `hearth migrate`");
    }
    if db.group_settings().await?.is_none() {
        bail!("this instance is not set up: run `hearth init` first");
    }
    let role = match args.role {
        RoleArg::Member => Role::Member,
        RoleArg::Facilitator => Role::Facilitator,
    };
    let link = setup::invite_link(
        &db,
        &web_config(&config),
        role,
        args.days,
        None,
        clock.now(),
    )
    .await?;
    println!(
        "Invite link for a new {role} (works once, for {} days):",
        args.days
    );
    println!("  {link}");
    Ok(ExitCode::SUCCESS)
}

/// `check` reports a problem below this much free disk.
const MIN_FREE_MIB: u64 = 200;
/// `check` asks at most this many peers (a hub may have thousands of groups).
const MAX_PEERS_CHECKED: usize = 20;

async fn check(data_dir: &Path, clock: &Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    let mut problems = 0;
    let mut report = |ok: bool, what: &str, detail: String| {
        if !ok {
            problems += 1;
        }
        println!(
            "{} {what}: {detail}",
            if ok { "ok     " } else { "PROBLEM" }
        );
    };
    let config = match Config::load(data_dir, &Overrides::default()) {
        Ok(c) if !data_dir.join(CONFIG_FILE).exists() => {
            report(
                false,
                "configuration",
                format!(
                    "{} is missing, so the instance would run on defaults (listening on {}, public URL {}): put it back from a backup, or write it again from hearth.example.toml",
                    data_dir.join(CONFIG_FILE).display(),
                    c.listen,
                    c.public_url()
                ),
            );
            c
        }
        Ok(c) => {
            report(
                true,
                "configuration",
                format!("{}", data_dir.join(CONFIG_FILE).display()),
            );
            c
        }
        Err(e) => {
            report(false, "configuration", e.to_string());
            return Ok(ExitCode::FAILURE);
        }
    };
    if !has_instance(data_dir, &config) {
        report(
            false,
            "database",
            format!("no database in {}: run `hearth init`", data_dir.display()),
        );
        return Ok(ExitCode::FAILURE);
    }
    let url = config.database_url(data_dir);
    let db = match Db::connect(&url).await {
        Ok(db) => db,
        Err(e) => {
            report(false, "database", e.to_string());
            return Ok(ExitCode::FAILURE);
        }
    };
    match db.health(&url).await {
        Ok(h) => {
            report(true, "database", format!("{:?} answers", h.backend));
            report(
                h.pending_migrations == 0,
                "migrations",
                if h.pending_migrations == 0 {
                    "up to date".into()
                } else {
                    format!("{} pending: run `hearth migrate`", h.pending_migrations)
                },
            );
        }
        Err(e) => report(false, "database", e.to_string()),
    }
    match db.integrity().await {
        Ok(damaged) if damaged.is_empty() => {
            report(true, "integrity", "every table reads back whole".into())
        }
        Ok(damaged) => {
            for (table, why) in damaged {
                report(
                    false,
                    "integrity",
                    format!(
                        "{table} is damaged ({why}): restore the latest backup with `hearth restore --force --from FILE`"
                    ),
                );
            }
        }
        Err(e) => report(false, "integrity", e.to_string()),
    }
    match db.group_settings().await {
        Ok(Some(g)) => report(
            true,
            "group",
            format!("{:?}, time zone {}", g.name, g.timezone),
        ),
        Ok(None) => report(false, "group", "not set up: run `hearth init`".into()),
        Err(e) => report(false, "group", e.to_string()),
    }
    match db.instance_key().await {
        Ok(Some(k)) => {
            let valid = keys::is_valid(&k);
            report(
                valid,
                "instance key",
                if valid {
                    "RSA-2048 key pair present".into()
                } else {
                    "stored key pair does not parse or match".into()
                },
            );
        }
        Ok(None) => report(false, "instance key", "missing: run `hearth init`".into()),
        Err(e) => report(false, "instance key", e.to_string()),
    }
    report(true, "public URL", config.public_url().to_string());
    match mailer(&config) {
        Ok(None) => report(true, "email", "not set up (no reminders are sent)".into()),
        Ok(Some(m)) => match m.test_connection().await {
            Ok(true) => report(true, "email", "the mail server answers".into()),
            Ok(false) => report(
                false,
                "email",
                "the mail server did not accept a connection".into(),
            ),
            Err(e) => report(false, "email", e.to_string()),
        },
        Err(e) => report(false, "email", e.to_string()),
    }
    // Disk: SQLite and the logs need room to grow.
    match fs4::available_space(data_dir) {
        Ok(bytes) => {
            let mib = bytes / (1024 * 1024);
            report(
                mib >= MIN_FREE_MIB,
                "disk space",
                format!("{mib} MiB free where {} lives", data_dir.display()),
            );
        }
        Err(e) => report(false, "disk space", e.to_string()),
    }
    // Deliveries: a backlog that has waited a day, or any given up this past week, needs a
    // look (an old refusal, already seen, does not keep `check` failing for ever).
    let now = clock.now();
    let week_ago = now - chrono::Duration::days(7);
    match (
        db.outbox_counts().await,
        db.pending_outbox(1).await,
        db.failed_since(week_ago).await,
    ) {
        (Ok((pending, delivered, failed)), Ok(oldest), Ok(recent)) => {
            let stuck = oldest
                .first()
                .is_some_and(|r| now - r.created_at > chrono::Duration::days(1));
            report(
                recent == 0 && !stuck,
                "deliveries",
                format!(
                    "{pending} waiting{}, {delivered} delivered, {failed} given up ({recent} this past week){}",
                    if stuck {
                        " (the oldest for over a day)"
                    } else {
                        ""
                    },
                    if recent > 0 {
                        ": see the Hubs or Groups page"
                    } else {
                        ""
                    }
                ),
            );
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            report(false, "deliveries", e.to_string())
        }
    }
    // Peers: can this machine reach the instances it federates with?
    if let Ok(memberships) = db.memberships().await {
        let peers: Vec<String> = memberships
            .iter()
            .filter(|m| m.state == hearth_db::MembershipState::Accepted)
            .map(|m| m.peer.actor_url.clone())
            .collect();
        if !peers.is_empty() {
            let client = hearth_federation::http_client(&fed_options(&config))?;
            let mut reachable = 0;
            let mut unreachable = Vec::new();
            for url in peers.iter().take(MAX_PEERS_CHECKED) {
                let ok = client
                    .get(url)
                    .header("accept", "application/activity+json")
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    reachable += 1;
                } else {
                    unreachable.push(url.clone());
                }
            }
            let checked = peers.len().min(MAX_PEERS_CHECKED);
            report(
                unreachable.is_empty(),
                "peers",
                if unreachable.is_empty() {
                    format!(
                        "{reachable} of {checked} checked answer (of {} in all)",
                        peers.len()
                    )
                } else {
                    format!("no answer from {}", unreachable.join(", "))
                },
            );
        }
    }
    println!(
        "\nEffective configuration (secrets hidden):\n{}",
        config.to_redacted_toml()
    );
    if problems == 0 {
        println!("All checks passed.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{problems} problem(s) found.");
        Ok(ExitCode::FAILURE)
    }
}
