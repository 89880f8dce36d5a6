//! `hearth bench`: Hearth's performance measured on this machine, as ratios to baselines
//! measured in the same run on the same cores, so the figures travel between machines.
//!
//! Every server runs as its own process (this binary: `serve`, or the hidden `bench-hello`),
//! driven by a closed-loop load generator in this process: P1 authenticated check-in page
//! GETs and P2 check-in POSTs against an axum hello-world, P3 signed reports a hub accepts
//! against raw RSA-2048 verifications, P4 outbox deliveries against raw RSA-2048 signatures,
//! P6 the group server's resident memory idle and at its peak under load, P7 the time from
//! starting the process to its first 200. `--soak` instead holds many members on the site for
//! a minute and counts server errors; `--accuracy` measures what the hub can see at the size of
//! real groups (see [`accuracy`]).

mod accuracy;
mod http;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use activitypub_federation::kinds::activity::CreateType;
use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::http::StatusCode;

use hearth_core::Role;
use hearth_core::report::{TrueCounts, make_report_with_noise};
use hearth_core::sharing::{SharingSettings, Signal};
use hearth_db::{Clock, Db, MembershipState, NewAccount, NewOutbox, NewPeer, SystemClock};
use hearth_federation::protocol::report::{CreateReport, WellbeingReport};
use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use serde::Serialize;
use url::Url;

use crate::cli::BenchArgs;
use crate::config::{CONFIG_FILE, DATABASE_FILE};
use http::{Tally, drive, get, post_form, wait_ok};

/// Connections for P1 and P2.
const CONNECTIONS: usize = 32;
/// Groups whose signed reports P3 sends to the hub.
const P3_GROUPS: usize = 16;
/// Distinct inboxes P4 delivers to (deliveries to one inbox go one at a time, in order).
const P4_INBOXES: usize = 64;

/// The figures `--json` prints, with the issue's key names.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub p1: f64,
    pub p2: f64,
    pub p2_p99_ms: f64,
    pub p3: f64,
    pub p4: f64,
    pub p6_idle_mib: f64,
    pub p6_load_mib: f64,
    pub p7_ms: f64,
}

/// A server process of this binary, stopped when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn spawn(args: &[&str], log: &Path) -> anyhow::Result<Server> {
        Self::spawn_with(args, log, &[])
    }

    fn spawn_with(args: &[&str], log: &Path, env: &[(&str, &str)]) -> anyhow::Result<Server> {
        let log = std::fs::File::create(log)?;
        let child = this_binary()?
            .args(args)
            .envs(env.iter().copied())
            // The default log level of `serve`: every request is logged, as in production.
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("could not start a server process")?;
        Ok(Server { child })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A line of `/proc/<pid>/status` (`VmRSS`, `VmHWM`) in MiB.
fn memory_mib(pid: u32, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("memory figures need Linux's /proc")?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(kib / 1024.0)
}

/// CPU time a process has used so far, user and system, in seconds (Linux counts it in
/// hundredths).
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .context("CPU figures need Linux's /proc")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok((user + system) / 100.0),
        _ => bail!("unreadable /proc/{pid}/stat"),
    }
}

/// Operations per second of `op` on every core at once, for `seconds`.
fn raw_rate(seconds: f64, op: &(dyn Fn() + Sync)) -> f64 {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let done = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    op();
                    n += 1;
                }
                done.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn say(line: &str) {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{line}");
}

/// This binary, with none of the caller's `HEARTH_*` settings: each bench instance is
/// configured by its own file alone.
fn this_binary() -> anyhow::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HEARTH_") {
            cmd.env_remove(key);
        }
    }
    Ok(cmd)
}

/// Runs `hearth init` for a new instance in `dir` whose configuration is `config` (TOML).
fn init(dir: &Path, config: &str, hub: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(CONFIG_FILE), config)?;
    let mut cmd = this_binary()?;
    cmd.arg("--data-dir").arg(dir).arg("init");
    if hub {
        cmd.arg("--hub");
    }
    let out = cmd.output()?;
    if !out.status.success() {
        bail!(
            "hearth init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn base_config(addr: SocketAddr) -> String {
    format!(
        "listen = \"{addr}\"\npublic_url = \"http://localhost:{}/\"\n",
        addr.port()
    )
}

async fn open(dir: &Path) -> anyhow::Result<Db> {
    Ok(Db::open(&format!("sqlite://{}", dir.join(DATABASE_FILE).display())).await?)
}

/// Members with signed-in sessions: `(cookie, csrf token)` each.
async fn members(db: &Db, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    let now = SystemClock.now();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let account = hearth_web::setup::create_account(
            db,
            Role::Member,
            &NewAccount {
                username: format!("bench{i}"),
                display_name: format!("Bench member {i}"),
                // Nobody signs in with a password: sessions are opened directly.
                password_hash: "!bench".into(),
            },
            now,
        )
        .await?;
        let s = hearth_web::session_store::open_session(db, account.id, 1)
            .await
            .map_err(|e| anyhow::anyhow!("session: {e}"))?;
        out.push((s.cookie, s.csrf));
    }
    Ok(out)
}

fn checkin_form(csrf: &str, i: usize) -> Bytes {
    Bytes::from(format!(
        "csrf_token={csrf}&who5_1={}&who5_2=3&who5_3=2&who5_4=4&who5_5=3&burnout={}&paid_hours=10&unpaid_hours=4&funding_hours=2&time_pressure=2&note=",
        i % 6,
        1 + i % 5
    ))
}

/// A group instance with `n` signed-in members, served from `dir`.
struct Group {
    dir: PathBuf,
    addr: SocketAddr,
    host: String,
    members: Arc<Vec<(String, String)>>,
}

impl Group {
    async fn create(dir: PathBuf, n: usize, extra_config: &str) -> anyhow::Result<Group> {
        let addr = free_addr()?;
        init(&dir, &format!("{}{extra_config}", base_config(addr)), false)?;
        let db = open(&dir).await?;
        let members = Arc::new(members(&db, n).await?);
        Ok(Group {
            dir,
            addr,
            host: format!("localhost:{}", addr.port()),
            members,
        })
    }

    async fn start(&self) -> anyhow::Result<Server> {
        let dir = self.dir.to_string_lossy().into_owned();
        let server = Server::spawn(&["--data-dir", &dir, "serve"], &self.dir.join("serve.log"))?;
        wait_ok(self.addr, "/healthz", Duration::from_secs(20)).await?;
        Ok(server)
    }

    fn checkin_page(&self) -> http::NextRequest {
        let (host, members) = (self.host.clone(), self.members.clone());
        Arc::new(move |i| Some(get(&host, "/checkin", Some(&members[i % members.len()].0))))
    }

    fn checkin_post(&self) -> http::NextRequest {
        let (host, members) = (self.host.clone(), self.members.clone());
        let seq = Arc::new(AtomicUsize::new(0));
        Arc::new(move |i| {
            let (cookie, csrf) = &members[i % members.len()];
            let n = seq.fetch_add(1, Ordering::Relaxed);
            Some(post_form(&host, "/checkin", cookie, checkin_form(csrf, n)))
        })
    }
}

/// A second of the same load first (connections, caches), then the measured run.
async fn warm_then_drive(
    addr: SocketAddr,
    limit: Duration,
    next: http::NextRequest,
) -> anyhow::Result<Tally> {
    drive(addr, CONNECTIONS, Duration::from_secs(1), next.clone()).await?;
    drive(addr, CONNECTIONS, limit, next).await
}

fn check_all(what: &str, t: &Tally, expected: StatusCode) -> anyhow::Result<()> {
    if !t.all(expected) {
        bail!(
            "{what}: expected every answer to be {expected}, got 2xx/3xx/4xx/5xx = {:?} and {} without an answer; first error: {:?}",
            t.classes,
            t.failed,
            t.first_error
        );
    }
    Ok(())
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::Builder::new().prefix("hearth-bench-").tempdir()?;
    if args.soak {
        return soak(dir.path(), &args).await;
    }
    if args.accuracy {
        let runs = usize::try_from(args.runs)?;
        // Pure computation: off the async workers.
        tokio::task::spawn_blocking(move || accuracy::run(args.json, runs)).await??;
        return Ok(ExitCode::SUCCESS);
    }
    let secs = Duration::from_secs(args.seconds);
    say(&format!(
        "hearth bench: {} s per measurement on {} cores",
        args.seconds,
        std::thread::available_parallelism().map_or(1, usize::from)
    ));

    // Baseline: axum's hello world.
    let hello_addr = free_addr()?;
    let hello_arg = hello_addr.to_string();
    let hello = Server::spawn(
        &["bench-hello", "--listen", &hello_arg],
        &dir.path().join("hello.log"),
    )?;
    wait_ok(hello_addr, "/", Duration::from_secs(10)).await?;
    let host = format!("localhost:{}", hello_addr.port());
    let hello_t = warm_then_drive(
        hello_addr,
        secs,
        Arc::new(move |_| Some(get(&host, "/", None))),
    )
    .await?;
    check_all("hello world", &hello_t, StatusCode::OK)?;
    let hello_rps = hello_t.rate(StatusCode::OK);
    hello.stop();
    say(&format!("  hello world GET: {hello_rps:.0}/s"));

    // P1, P2, P6 on a group instance.
    let group = Group::create(
        dir.path().join("group"),
        CONNECTIONS,
        "federation_insecure_local = true\ndelivery_retry_base_ms = 100\n",
    )
    .await?;
    let server = group.start().await?;
    let _ = drive(
        group.addr,
        1,
        Duration::from_millis(200),
        group.checkin_page(),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_mib = memory_mib(server.pid(), "VmRSS")?;
    let p1_t = warm_then_drive(group.addr, secs, group.checkin_page()).await?;
    check_all("check-in page", &p1_t, StatusCode::OK)?;
    let p1_rps = p1_t.rate(StatusCode::OK);
    say(&format!("  check-in page GET: {p1_rps:.0}/s"));
    let mut p2_t = drive(group.addr, CONNECTIONS, secs, group.checkin_post()).await?;
    check_all("check-in POST", &p2_t, StatusCode::SEE_OTHER)?;
    let p2_rps = p2_t.rate(StatusCode::SEE_OTHER);
    let p2_p99 = p2_t.quantile_ms(0.99);
    let load_mib = memory_mib(server.pid(), "VmHWM")?;
    say(&format!(
        "  check-in POST: {p2_rps:.0}/s, p50 {:.2} ms, p99 {p2_p99:.2} ms",
        p2_t.quantile_ms(0.5)
    ));
    server.stop();

    // P7: process start to the first 200, five times.
    let mut starts = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let s = group.start().await?;
        starts.push(t0.elapsed().as_secs_f64() * 1000.0);
        s.stop();
    }
    starts.sort_by(f64::total_cmp);
    let p7_ms = starts[starts.len() / 2];
    say(&format!(
        "  cold start to first 200: median {p7_ms:.1} ms of {starts:.1?}"
    ));

    // Raw RSA-2048 on every core: the baselines of P3 and P4.
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&crate::keys::generate()?.private_pem)?;
    let signer = SigningKey::<sha2::Sha256>::new(key.clone());
    let verifier = VerifyingKey::<sha2::Sha256>::new(key.to_public_key());
    let message = b"(request-target): post /inbox\nhost: hub.example\ndate: Sun, 29 Nov 2026 10:00:00 GMT\ndigest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let signature = signer.sign(message);
    let verifies = raw_rate(2.0, &|| {
        let _ = verifier.verify(message, &signature);
    });
    let signs = raw_rate(2.0, &|| {
        let _ = signer.sign(message).to_bytes();
    });
    say(&format!(
        "  raw RSA-2048: {verifies:.0} verifications/s, {signs:.0} signatures/s"
    ));

    let (p3_rate, p3_ceiling) = p3(dir.path(), secs).await?;
    say(&format!(
        "  hub inbox: {p3_rate:.0} signed reports accepted/s"
    ));
    say(&format!(
        "  the same requests, checked and then dropped: {p3_ceiling:.0}/s \
         (P3's ceiling here: {:.3})",
        p3_ceiling / verifies
    ));
    let p4_rate = p4(&group, signs).await?;
    say(&format!("  outbox: {p4_rate:.0} deliveries/s"));

    let figures = Figures {
        p1: p1_rps / hello_rps,
        p2: p2_rps / hello_rps,
        p2_p99_ms: p2_p99,
        p3: p3_rate / verifies,
        p4: p4_rate / signs,
        p6_idle_mib: idle_mib,
        p6_load_mib: load_mib,
        p7_ms,
    };
    let met = print(&figures, args.json)?;
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Prints the table (or JSON) and says whether every target is met.
fn print(f: &Figures, json: bool) -> anyhow::Result<bool> {
    let rows: [(&str, &str, f64, String, bool); 8] = [
        (
            "P1",
            "check-in page GETs/s ÷ hello world",
            f.p1,
            "≥ 0.30".into(),
            f.p1 >= 0.30,
        ),
        (
            "P2",
            "check-in POSTs/s ÷ hello world",
            f.p2,
            "≥ 0.15".into(),
            f.p2 >= 0.15,
        ),
        (
            "P2",
            "check-in POST p99 at 32 connections (ms)",
            f.p2_p99_ms,
            "≤ 10".into(),
            f.p2_p99_ms <= 10.0,
        ),
        (
            "P3",
            "signed reports accepted/s ÷ RSA verifications/s",
            f.p3,
            "≥ 0.20".into(),
            f.p3 >= 0.20,
        ),
        (
            "P4",
            "outbox deliveries/s ÷ RSA signatures/s",
            f.p4,
            "≥ 0.70".into(),
            f.p4 >= 0.70,
        ),
        (
            "P6",
            "resident memory idle (MiB)",
            f.p6_idle_mib,
            "≤ 20".into(),
            f.p6_idle_mib <= 20.0,
        ),
        (
            "P6",
            "resident memory peak under load (MiB)",
            f.p6_load_mib,
            "≤ 64".into(),
            f.p6_load_mib <= 64.0,
        ),
        (
            "P7",
            "cold start to first 200 (ms)",
            f.p7_ms,
            "≤ 200".into(),
            f.p7_ms <= 200.0,
        ),
    ];
    let met = rows.iter().all(|r| r.4);
    if json {
        println!("{}", serde_json::to_string(f)?);
    } else {
        println!("{:<4} {:<50} {:>9}  target", "", "measure", "value");
        for (id, what, value, target, ok) in &rows {
            println!(
                "{id:<4} {what:<50} {value:>9.3}  {target:<8} {}",
                if *ok { "met" } else { "MISSED" }
            );
        }
    }
    Ok(met)
}

/// P3: a hub whose inbox takes pre-signed `Create`s of reports from its member groups.
/// A pre-signed inbox request: its headers and body.
type SignedRequest = (Vec<(String, String)>, Bytes);

/// Returns the hub's rate, and that of a server that only checks the same requests'
/// signatures (the most P3 could be on this machine with this HTTP stack and RSA).
async fn p3(root: &Path, limit: Duration) -> anyhow::Result<(f64, f64)> {
    let dir = root.join("hub");
    let addr = free_addr()?;
    init(
        &dir,
        &format!(
            "{}inbox_requests_per_minute = 100000000\n",
            base_config(addr)
        ),
        true,
    )?;
    let hub_actor = Url::parse(&format!("http://localhost:{}/actor", addr.port()))?;
    let hub_inbox = Url::parse(&format!("http://localhost:{}/inbox", addr.port()))?;
    let host = format!("localhost:{}", addr.port());
    let db = open(&dir).await?;
    // Groups that joined before: known actors (fetched now) with accepted memberships.
    let keys = futures::future::join_all((0..P3_GROUPS).map(|_| {
        tokio::task::spawn_blocking(|| -> anyhow::Result<rsa::RsaPrivateKey> {
            Ok(rsa::RsaPrivateKey::from_pkcs8_pem(
                &crate::keys::generate()?.private_pem,
            )?)
        })
    }))
    .await;
    let mut groups = Vec::new();
    let mut public_keys = std::collections::HashMap::new();
    let now = SystemClock.now();
    for (g, key) in keys.into_iter().enumerate() {
        let key = key??;
        // Every group on `localhost` (the library resolves each sender's domain): one domain,
        // sixteen actors.
        let origin = format!("https://localhost/g{g}");
        let actor = Url::parse(&format!("{origin}/actor"))?;
        let public_key_pem = rsa::pkcs8::EncodePublicKey::to_public_key_pem(
            &key.to_public_key(),
            rsa::pkcs8::LineEnding::LF,
        )?;
        let region = hearth_core::profile::REGIONS[g % hearth_core::profile::REGIONS.len()].0;
        db.save_membership(
            &NewPeer {
                actor_url: actor.to_string(),
                kind: "Group".into(),
                name: format!("Bench group {g}"),
                inbox: format!("{origin}/inbox"),
                public_key_pem: public_key_pem.clone(),
                profile: format!(r#"{{"region":"{region}","communityFocus":["peer-support"],"sizeBand":"11-25"}}"#),
                fetched_at: now,
                shared_inbox: None,
                username: None,
            },
            MembershipState::Accepted,
            &format!("{origin}/activities/follow/1"),
            &[],
            now,
        )
        .await?;
        public_keys.insert(actor.to_string(), public_key_pem);
        groups.push((origin, actor, key));
    }
    drop(db);
    // Weekly reports going back in time: distinct periods, so each is a new report.
    let settings = SharingSettings {
        enabled: true,
        automatic: true,
        ..SharingSettings::default()
    };
    let weeks: Vec<hearth_core::IsoWeek> = {
        let mut w = hearth_core::IsoWeek::containing(now, hearth_core::Tz::UTC);
        let mut v = Vec::new();
        for _ in 0..400 {
            w = w.previous();
            v.push(w);
        }
        v
    };
    let mut bodies = Vec::new();
    for (g, (origin, actor, _)) in groups.iter().enumerate() {
        for (w, week) in weeks.iter().enumerate() {
            let truth = TrueCounts::new(12 + (g as i64 % 5))
                .with(Signal::LowWellbeing, &[4])
                .with(Signal::Burnout, &[3 + (w as i64 % 3)])
                .with(Signal::TimePressure, &[5])
                .with(Signal::UnpaidHours, &[6])
                .with(Signal::FundingPaperwork, &[2])
                .with(Signal::HoursBands, &[2, 4, 3, 2, 1]);
            let report = make_report_with_noise(
                hearth_core::report::ReportPeriod::Week(*week),
                &settings,
                truth,
                &mut || 0,
            );
            let id = Url::parse(&format!("{origin}/activities/create/{w}"))?;
            let object = WellbeingReport::from_report(
                Url::parse(&format!("{origin}/reports/{w}"))?,
                actor.clone(),
                hub_actor.clone(),
                &report,
            );
            let create = CreateReport {
                id: id.clone(),
                kind: CreateType::Create,
                actor: actor.clone(),
                to: vec![hub_actor.clone()],
                object,
            };
            let payload =
                hearth_federation::sending::outbox_item(&create, &id, "Create", &hub_inbox)?
                    .payload;
            bodies.push((g, Bytes::from(payload)));
        }
    }
    // Sign them all first (on every core), so the run measures the hub alone.
    let groups = Arc::new(groups);
    let signed: Vec<_> = {
        let chunks: Vec<Vec<(usize, Bytes)>> = bodies
            .chunks(bodies.len().div_ceil(4).max(1))
            .map(<[_]>::to_vec)
            .collect();
        let tasks = chunks.into_iter().map(|chunk| {
            let (groups, host) = (groups.clone(), host.clone());
            tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|(g, body)| {
                        let key_id = format!("{}#main-key", groups[g].1);
                        let headers = hearth_federation::signing::sign_post(
                            &hearth_federation::signing::SignedPost {
                                host: &host,
                                path: "/inbox",
                                body: &body,
                                key_id: &key_id,
                                date: SystemClock.now(),
                                digest_of: None,
                            },
                            &groups[g].2,
                        );
                        (headers, body)
                    })
                    .collect::<Vec<_>>()
            })
        });
        futures::future::join_all(tasks)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect()
    };
    let signed = Arc::new(signed);
    let dir_arg = dir.to_string_lossy().into_owned();
    // The library refuses senders whose domain resolves to a loopback address unless told
    // this is intended: here every sender is on this machine.
    let server = Server::spawn_with(
        &["--data-dir", &dir_arg, "serve"],
        &dir.join("serve.log"),
        &[("DANGER_FEDERATION_ALLOW_LOCAL_IP", "1")],
    )?;
    wait_ok(addr, "/healthz", Duration::from_secs(20)).await?;
    // Each request once (the hub would take one sent again as a duplicate), or, with `again`,
    // round and round for the whole measurement.
    let requests = |signed: Arc<Vec<SignedRequest>>, again: bool| -> http::NextRequest {
        let next_index = Arc::new(AtomicUsize::new(0));
        Arc::new(move |_| {
            let mut i = next_index.fetch_add(1, Ordering::Relaxed);
            if again {
                i %= signed.len().max(1);
            }
            let (headers, body) = signed.get(i)?;
            let mut b = axum::http::Request::post("/inbox");
            for (k, v) in headers {
                b = b.header(k.as_str(), v.as_str());
            }
            b.body(http::Body::new(body.clone())).ok()
        })
    };
    let cpu_before = cpu_seconds(server.pid())?;
    let t = drive(addr, CONNECTIONS, limit, requests(signed.clone(), false)).await?;
    let hub_cpu = cpu_seconds(server.pid())? - cpu_before;
    server.stop();
    check_all("hub inbox", &t, StatusCode::ACCEPTED)?;
    say(&format!(
        "  hub inbox: {:.0} µs of CPU per accepted report",
        hub_cpu * 1e6 / t.count(StatusCode::ACCEPTED).max(1) as f64
    ));

    // The same requests to a server that checks each one's digest and signature as the hub
    // does, and does nothing else. It keeps nothing, so the requests can go round again.
    let keys_file = root.join("p3-keys.json");
    std::fs::write(&keys_file, serde_json::to_vec(&public_keys)?)?;
    let ceiling_addr = free_addr()?;
    let ceiling = Server::spawn(
        &[
            "bench-hello",
            "--listen",
            &ceiling_addr.to_string(),
            "--verify-keys",
            &keys_file.to_string_lossy(),
        ],
        &root.join("ceiling.log"),
    )?;
    wait_ok(ceiling_addr, "/", Duration::from_secs(10)).await?;
    let cpu_before = cpu_seconds(ceiling.pid())?;
    let c = drive(ceiling_addr, CONNECTIONS, limit, requests(signed, true)).await?;
    let ceiling_cpu = cpu_seconds(ceiling.pid())? - cpu_before;
    ceiling.stop();
    check_all("verify-only inbox", &c, StatusCode::ACCEPTED)?;
    say(&format!(
        "  checked and dropped: {:.0} µs of CPU per request",
        ceiling_cpu * 1e6 / c.count(StatusCode::ACCEPTED).max(1) as f64
    ));
    Ok((t.rate(StatusCode::ACCEPTED), c.rate(StatusCode::ACCEPTED)))
}

/// P4: the group's outbox worker delivering queued activities to many inboxes of a sink that
/// answers 202 at once.
async fn p4(group: &Group, signs_per_second: f64) -> anyhow::Result<f64> {
    // About five seconds of deliveries at the raw signing rate.
    let total = ((signs_per_second * 5.0) as usize).clamp(500, 20_000);
    let arrived = Arc::new(AtomicU64::new(0));
    let times = Arc::new(std::sync::Mutex::new((None::<Instant>, None::<Instant>)));
    let sink = {
        let (arrived, times) = (arrived.clone(), times.clone());
        axum::Router::new().route(
            "/inbox/{n}",
            axum::routing::post(move || {
                let (arrived, times) = (arrived.clone(), times.clone());
                async move {
                    let now = Instant::now();
                    if let Ok(mut t) = times.lock() {
                        t.0.get_or_insert(now);
                        t.1 = Some(now);
                    }
                    arrived.fetch_add(1, Ordering::Relaxed);
                    StatusCode::ACCEPTED
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sink_port = listener.local_addr()?.port();
    let sink_task = tokio::spawn(async move {
        let _ = axum::serve(listener, sink).await;
    });
    let db = open(&group.dir).await?;
    let actor = format!("http://{}/actor", group.host);
    let rows: Vec<NewOutbox> = (0..total)
        .map(|i| {
            let id = format!("http://{}/activities/bench/{i}", group.host);
            NewOutbox {
                activity_id: id.clone(),
                activity_type: "Create".into(),
                inbox: format!("http://localhost:{sink_port}/inbox/{}", i % P4_INBOXES),
                payload: serde_json::json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": id,
                    "type": "Create",
                    "actor": actor,
                    "to": [format!("http://localhost:{sink_port}/actor")],
                    "object": {"type": "Note", "content": "A benchmark delivery."},
                })
                .to_string(),
            }
        })
        .collect();
    for chunk in rows.chunks(1000) {
        db.enqueue(chunk, SystemClock.now()).await?;
    }
    drop(db);
    let server = group.start().await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrived.load(Ordering::Relaxed) < total as u64 {
        if Instant::now() > deadline {
            bail!(
                "only {} of {total} deliveries arrived in two minutes",
                arrived.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop();
    sink_task.abort();
    let (first, last) = times
        .lock()
        .map(|t| *t)
        .map_err(|_| anyhow::anyhow!("sink lock"))?;
    let span = match (first, last) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => bail!("nothing arrived"),
    };
    Ok((total - 1) as f64 / span.max(1e-9))
}

/// `--soak`: many members at once on the check-in, history, group and account pages, posting
/// check-ins, for a while; any 5xx fails the run.
async fn soak(root: &Path, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let n = usize::try_from(args.members)?;
    say(&format!(
        "hearth bench --soak: {n} members for {} s",
        args.soak_seconds
    ));
    let group = Group::create(root.join("group"), n, "").await?;
    let server = group.start().await?;
    let (host, members) = (group.host.clone(), group.members.clone());
    let step = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    let next: http::NextRequest = Arc::new(move |i| {
        let (cookie, csrf) = &members[i % members.len()];
        let k = step[i % step.len()].fetch_add(1, Ordering::Relaxed);
        Some(match k % 5 {
            0 => get(&host, "/checkin", Some(cookie)),
            1 => post_form(&host, "/checkin", cookie, checkin_form(csrf, k)),
            2 => get(&host, "/history", Some(cookie)),
            3 => get(&host, "/group", Some(cookie)),
            _ => get(&host, "/account", Some(cookie)),
        })
    });
    let mut t = drive(group.addr, n, Duration::from_secs(args.soak_seconds), next).await?;
    let peak = memory_mib(server.pid(), "VmHWM")?;
    server.stop();
    let (p50, p99) = (t.quantile_ms(0.5), t.quantile_ms(0.99));
    let rate = t.answered() as f64 / t.elapsed.as_secs_f64();
    let ok = t.classes[3] == 0 && t.failed == 0;
    let report = serde_json::json!({
        "members": n,
        "seconds": t.elapsed.as_secs_f64(),
        "requests": t.answered(),
        "per_second": rate,
        "2xx": t.classes[0],
        "3xx": t.classes[1],
        "4xx": t.classes[2],
        "5xx": t.classes[3],
        "no_answer": t.failed,
        "p50_ms": p50,
        "p99_ms": p99,
        "peak_rss_mib": peak,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} requests from {n} members in {:.1} s ({rate:.0}/s): 2xx {}, 3xx {}, 4xx {}, 5xx {}, no answer {}; p50 {p50:.1} ms, p99 {p99:.1} ms; peak memory {peak:.1} MiB",
            t.answered(),
            t.elapsed.as_secs_f64(),
            t.classes[0],
            t.classes[1],
            t.classes[2],
            t.classes[3],
            t.failed
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The hidden `bench-hello` server: axum's hello world, the baseline for P1 and P2. Given
/// `verify_keys`, it also answers signed POSTs to `/inbox` with 202 once their digest and
/// signature check out and does nothing else with them: what a hub could reach at best.
pub async fn hello(listen: SocketAddr, verify_keys: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let mut app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
    if let Some(path) = verify_keys {
        let keys: std::collections::HashMap<String, String> =
            serde_json::from_slice(&std::fs::read(&path)?)?;
        let keys = Arc::new(keys);
        app = app.route(
            "/inbox",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: Bytes| async move {
                    let signer = headers
                        .get("signature")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.split("keyId=\"").nth(1))
                        .and_then(|v| v.split(['#', '"']).next())
                        .unwrap_or_default();
                    let ok = hearth_federation::signing::digest_matches(&headers, &body)
                        && keys.get(signer).is_some_and(|pem| {
                            hearth_federation::signing::verify_request_at(
                                "POST",
                                "/inbox",
                                &headers,
                                signer,
                                pem,
                                SystemClock.now(),
                            )
                            .is_ok()
                        });
                    if ok {
                        StatusCode::ACCEPTED
                    } else {
                        StatusCode::UNAUTHORIZED
                    }
                },
            ),
        );
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(ExitCode::SUCCESS)
}
