//! `hearth demo`: a whole network on this machine. A hub, a second hub it pairs with, and
//! group instances of realistic size (5–15 members) on loopback, each under its own host name
//! and with its own SQLite file, filled with synthetic members whose check-ins follow known
//! rates (burnout rising in the North West, steady elsewhere). The groups join the hub and
//! share every closed month both ways: a noisy report to the hub alone, and two shares through
//! the pair, which releases sums with noise added once. The hub shows both sources apart and
//! sends its summary back. Every instance's directory can be served again with
//! `hearth serve --data-dir <dir>`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use hearth_core::pair::{Dimension, PairPlan};
use hearth_core::profile::Profile;
use hearth_core::sector::Segment;
use hearth_core::sharing::{Cadence, PrivacyLevel, SharingSettings, Signal, SignalSet};
use hearth_core::{CheckinAnswers, InstanceRole, IsoWeek, Role, Tz};
use hearth_db::Clock;
use hearth_db::{Db, GroupSettings, MembershipState, NewAccount};
use hearth_web::{AppState, WebConfig, setup};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cli::DemoArgs;
use crate::config::{CONFIG_FILE, DATABASE_FILE, starter_file};
use crate::keys;

/// Every demo instance has this sign-in.
const LOGIN: &str = "demo";
const PASSWORD: &str = "hearth-demo-password";

/// One instance of the demo network.
struct Instance {
    name: String,
    role: InstanceRole,
    dir: PathBuf,
    host: String,
    port: u16,
    /// Steady groups keep their rates; worsening ones see burnout and low wellbeing climb.
    worsening: bool,
    state: Option<AppState>,
}

impl Instance {
    fn base(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
    fn state(&self) -> anyhow::Result<&AppState> {
        self.state.as_ref().context("instance not started")
    }
}

fn region_of(i: usize, groups: usize) -> (&'static str, bool) {
    // Two thirds of the groups, and at least five, in the North West (so its figures can be
    // shown and its trend stands out from the privacy noise); the rest elsewhere.
    let north_west = (groups * 2).div_ceil(3).max(5.min(groups));
    if i < north_west {
        ("uk-north-west", true)
    } else {
        (["uk-london", "uk-wales", "uk-scotland"][i % 3], false)
    }
}

/// One synthetic check-in: burnt out with probability `burnout`, low wellbeing with `low`.
fn answers(rng: &mut StdRng, burnout: f64, low: f64) -> anyhow::Result<CheckinAnswers> {
    let who5 = if rng.gen_bool(low.clamp(0.0, 1.0)) {
        [0; 5].map(|_| rng.gen_range(0..=2))
    } else {
        [0; 5].map(|_| rng.gen_range(3..=5))
    };
    let burnt = if rng.gen_bool(burnout.clamp(0.0, 1.0)) {
        rng.gen_range(3..=5)
    } else {
        rng.gen_range(1..=2)
    };
    let paid: u8 = rng.gen_range(0..=20);
    let unpaid: u8 = rng.gen_range(0..=15);
    let funding = rng.gen_range(0..=(u16::from(paid) + u16::from(unpaid)) / 3) as u8;
    let pressure = if burnt >= 3 {
        rng.gen_range(2..=4)
    } else {
        rng.gen_range(0..=3)
    };
    CheckinAnswers::new(who5, burnt, paid, unpaid, funding, pressure, None)
        .map_err(|e| anyhow::anyhow!("synthetic answers out of range: {e}"))
}

fn write_config(i: &Instance, resolve: &BTreeMap<String, SocketAddr>) -> anyhow::Result<()> {
    let listen = SocketAddr::from(([127, 0, 0, 1], i.port));
    let public = url::Url::parse(&format!("{}/", i.base()))?;
    let mut text = starter_file(listen, Some(&public)).replace(
        "federation_insecure_local = false",
        "# A demo on one machine: plain http between instances on loopback.\nfederation_insecure_local = true",
    );
    text.push_str("\n[federation_resolve]\n");
    for (name, addr) in resolve {
        text.push_str(&format!("\"{name}\" = \"{addr}\"\n"));
    }
    std::fs::write(i.dir.join(CONFIG_FILE), text)
        .with_context(|| format!("could not write the configuration in {}", i.dir.display()))
}

/// Creates the instance's database, settings, keys and the demo sign-in, and starts serving.
async fn start(
    i: &mut Instance,
    clock: &Arc<dyn Clock>,
    listener: tokio::net::TcpListener,
    resolve: &BTreeMap<String, SocketAddr>,
    created: DateTime<Utc>,
    profile: Profile,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&i.dir)?;
    write_config(i, resolve)?;
    let db = Db::open(&format!("sqlite://{}", i.dir.join(DATABASE_FILE).display())).await?;
    let mut group = match i.role {
        InstanceRole::Hub => GroupSettings::hub(i.name.clone(), Tz::Europe__London),
        InstanceRole::Group => GroupSettings::new(i.name.clone(), Tz::Europe__London),
    };
    setup::ensure_group(&db, &group, created).await?;
    group.profile = profile;
    group.hub_auto_accept = i.role == InstanceRole::Hub;
    db.update_group_settings(&group).await?;
    db.store_instance_key(&keys::generate()?, created).await?;
    let public = url::Url::parse(&format!("{}/", i.base()))?;
    let web = WebConfig::for_url(public.clone());
    setup::create_account(
        &db,
        Role::Facilitator,
        &NewAccount {
            username: LOGIN.into(),
            display_name: "Demo facilitator".into(),
            password_hash: hearth_web::auth::hash_password(PASSWORD.into()).await?,
        },
        created,
    )
    .await?;
    let options = hearth_federation::FedOptions {
        insecure_local: true,
        resolve: resolve.iter().map(|(n, a)| (n.clone(), *a)).collect(),
        // Every demo instance sends from 127.0.0.1, so one address carries all their deliveries.
        inbox_requests_per_minute: Some(100_000),
    };
    let federation =
        hearth_federation::config(db.clone(), clock.clone(), public, i.role, &options).await?;
    // Only deliveries run in the demo (its reports and summaries are made by hand); they stop
    // with the process.
    tokio::spawn(hearth_federation::outbox::run(
        federation.clone(),
        hearth_federation::outbox::RetryPolicy {
            base: Duration::from_millis(200),
            ..Default::default()
        },
        Duration::from_millis(200),
        tokio_util::sync::CancellationToken::new(),
    ));
    let state = AppState::new(db, web, federation);
    let app = hearth_web::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    i.state = Some(state);
    Ok(())
}

/// Members and weeks of check-ins drawn from the group's rates.
async fn fill(
    i: &Instance,
    rng: &mut StdRng,
    weeks: &[IsoWeek],
    members: usize,
) -> anyhow::Result<usize> {
    let state = i.state()?;
    let (db, now) = (&state.db, state.clock.now());
    let mut ids = Vec::new();
    for m in 0..members {
        let account = setup::create_account(
            db,
            Role::Member,
            &NewAccount {
                username: format!("member{m}"),
                display_name: format!("Member {m}"),
                // Synthetic members never sign in.
                password_hash: "!demo".into(),
            },
            now,
        )
        .await?;
        // Most agree to share.
        if rng.gen_bool(0.9) {
            db.set_consent(account.id, true, now).await?;
        }
        ids.push(account.id);
    }
    let mut written = 0;
    for (w, week) in weeks.iter().enumerate() {
        // In worsening groups the rates climb through the second half of the period.
        let progress = (w as f64 / weeks.len().max(1) as f64 - 0.5).max(0.0) * 2.0;
        let (burnout, low) = if i.worsening {
            (0.2 + 0.5 * progress, 0.3 + 0.4 * progress)
        } else {
            (0.2, 0.3)
        };
        for id in &ids {
            if rng.gen_bool(0.85) {
                db.save_checkin(*id, *week, &answers(rng, burnout, low)?, now)
                    .await?;
                written += 1;
            }
        }
    }
    Ok(written)
}

async fn wait_until<F, Fut>(what: &str, seconds: u64, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while !check().await? {
        if tokio::time::Instant::now() > deadline {
            bail!("the demo network did not finish: {what} (waited {seconds} s)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

pub async fn demo(args: DemoArgs, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    if args.groups < 1 || args.groups > 60 {
        bail!("--groups must be from 1 to 60");
    }
    if args.months < 2 || args.months > 36 {
        bail!("--months must be from 2 to 36");
    }
    let root = match args.dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(&d)?.next().is_some() {
                bail!(
                    "{} is not empty: give a new or empty directory",
                    d.display()
                );
            }
            d
        }
        None => std::env::temp_dir().join(format!("hearth-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&root)?;
    let mut rng = StdRng::seed_from_u64(args.seed);

    let mut instances = vec![Instance {
        name: "North West Peer Network".into(),
        role: InstanceRole::Hub,
        dir: root.join("hub"),
        host: "hub.localhost".into(),
        port: 0,
        worsening: false,
        state: None,
    }];
    // The hub's partner in its pair: another organisation's hub, with no groups of its own.
    instances.push(Instance {
        name: "Partner Hub".into(),
        role: InstanceRole::Hub,
        dir: root.join("helper"),
        host: "helper.localhost".into(),
        port: 0,
        worsening: false,
        state: None,
    });
    for g in 0..args.groups {
        let (region, worsening) = region_of(g, args.groups);
        instances.push(Instance {
            name: format!(
                "Demo group {} ({})",
                g + 1,
                region.trim_start_matches("uk-")
            ),
            role: InstanceRole::Group,
            dir: root.join(format!("group-{}", g + 1)),
            host: format!("group-{}.localhost", g + 1),
            port: 0,
            worsening,
            state: None,
        });
    }
    let mut listeners = Vec::new();
    for i in &mut instances {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        i.port = l.local_addr()?.port();
        listeners.push(l);
    }
    let resolve: BTreeMap<String, SocketAddr> = instances
        .iter()
        .map(|i| (i.host.clone(), SocketAddr::from(([127, 0, 0, 1], i.port))))
        .collect();

    // History: the groups began `months` months ago.
    let now = clock.now();
    let created = now - chrono::Duration::days(i64::from(args.months) * 31 + 7);
    let mut weeks = Vec::new();
    let mut w = IsoWeek::containing(created, Tz::Europe__London);
    let current = IsoWeek::containing(now, Tz::Europe__London);
    while w < current {
        weeks.push(w);
        w = w.next();
    }
    eprintln!(
        "Starting a hub, its partner hub and {} groups under {} …",
        args.groups,
        root.display()
    );
    // User-led groups are small: five to fifteen people, each group's size band its own.
    let sizes: Vec<usize> = (0..args.groups).map(|_| rng.gen_range(5..=15)).collect();
    for (g, (i, l)) in instances.iter_mut().zip(listeners).enumerate() {
        let profile = if i.role == InstanceRole::Group {
            let (region, _) = region_of(g - 2, args.groups);
            let band = match sizes[g - 2] {
                0..=5 => "1-5",
                6..=10 => "6-10",
                _ => "11-25",
            };
            Profile::parse(region, &["peer-support".to_owned()], band)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
        } else {
            Profile::default()
        };
        start(i, &clock, l, &resolve, created, profile).await?;
    }
    let mut checkins = 0;
    for (i, members) in instances[2..].iter().zip(&sizes) {
        checkins += fill(i, &mut rng, &weeks, *members).await?;
    }
    eprintln!("{checkins} synthetic check-ins over {} weeks", weeks.len());

    // The hub proposes the pair (monthly, the network and each region, the standard level);
    // the partner's staff accept.
    let hub_fed = instances[0].state()?.fed();
    let helper_fed = instances[1].state()?.fed();
    let helper_actor = url::Url::parse(&format!("{}/actor", instances[1].base()))?;
    hub_fed.allow_domain(&helper_actor);
    let helper: hearth_federation::actor::Peer =
        activitypub_federation::fetch::object_id::ObjectId::from(helper_actor.clone())
            .dereference(&hub_fed)
            .await
            .context("could not reach the partner hub")?;
    let plan = PairPlan::new(
        Cadence::Month,
        vec![Dimension::Network, Dimension::Region],
        PrivacyLevel::Standard,
    );
    let pair = hearth_federation::hub_pairs::propose(&hub_fed, &helper, plan, 5).await?;
    wait_until("the partner hub receives the offer", 60, || async {
        Ok(!helper_fed.db.pairs().await?.is_empty())
    })
    .await?;
    let offered = helper_fed.db.pairs().await?.remove(0);
    hearth_federation::hub_pairs::decide(&helper_fed, offered.id, true).await?;
    wait_until("the pair is agreed", 60, || async {
        Ok(hub_fed
            .db
            .pair(pair.id)
            .await?
            .is_some_and(|p| p.state == hearth_db::PairState::Accepted))
    })
    .await?;

    // Every group joins the hub and shares everything, monthly, automatically.
    let hub_actor = url::Url::parse(&format!("{}/actor", instances[0].base()))?;
    for i in &instances[2..] {
        let fed = i.state()?.fed();
        fed.allow_domain(&hub_actor);
        let hub: hearth_federation::actor::Peer =
            activitypub_federation::fetch::object_id::ObjectId::from(hub_actor.clone())
                .dereference(&fed)
                .await
                .context("could not reach the demo hub")?;
        hearth_federation::membership::request_to_join(&fed, &hub).await?;
    }
    wait_until("every group joins the hub", 120, || async {
        for i in &instances[2..] {
            let m = i
                .state()?
                .db
                .membership_by_actor(hub_actor.as_str())
                .await?;
            if !m.is_some_and(|m| m.state == MembershipState::Accepted) {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    let mut sent = 0;
    for i in &instances[2..] {
        let state = i.state()?;
        let m = state
            .db
            .membership_by_actor(hub_actor.as_str())
            .await?
            .context("membership")?;
        let sharing = SharingSettings {
            enabled: true,
            automatic: true,
            ..SharingSettings::default()
        };
        state.db.set_sharing(m.peer.id, &sharing, created).await?;
        // And through the pair, with the same signals, from the same start.
        hearth_federation::group_pairs::refresh(&state.fed(), m.peer.id).await?;
        let offer = state
            .db
            .group_pairs_of(m.peer.id)
            .await?
            .into_iter()
            .next()
            .context("the hub lists no pair")?;
        hearth_federation::group_pairs::enable(
            &state.fed(),
            offer.id,
            (true, SignalSet::all(), true),
            created,
        )
        .await?;
        hearth_web::jobs::weeks::close_due_weeks(&state.db, now).await?;
        hearth_federation::group_sharing::make_due_reports(
            &state.fed(),
            now,
            &mut rand::rngs::OsRng,
        )
        .await?;
        // The hub alone holds the noisy reports; the pair's shares are counted at both hubs.
        sent += state
            .db
            .shared_reports()
            .await?
            .iter()
            .filter(|r| !r.through_pair && r.state == hearth_db::ReportState::Sent)
            .count();
    }
    let hub = instances[0].state()?.clone();
    wait_until("every report reaches the hub", 300, || async {
        let held: i64 = hub
            .db
            .report_activity()
            .await?
            .values()
            .map(|a| a.reports)
            .sum();
        Ok(usize::try_from(held).unwrap_or(0) >= sent)
    })
    .await?;
    eprintln!(
        "{sent} noisy monthly reports delivered to the hub, and every group's shares to both hubs of the pair"
    );

    // Both hubs hold every share; the hub starts the checks of each month past its deadline,
    // and the pair releases each batch of at least five groups.
    let groups = instances.len() - 2;
    wait_until("both hubs hold every share", 300, || async {
        for fed in [&hub_fed, &helper_fed] {
            let Some(p) = fed.db.pairs().await?.into_iter().next() else {
                return Ok(false);
            };
            for period in fed.db.pair_periods_waiting(p.id).await? {
                if fed.db.pair_shares(p.id, &period).await?.len() < groups {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    })
    .await?;
    let due: Vec<String> = {
        let mut d = Vec::new();
        for period in hub_fed.db.pair_periods_waiting(pair.id).await? {
            if period
                .parse::<hearth_core::report::ReportPeriod>()
                .is_ok_and(|p| hearth_federation::summaries::due_at(p) <= now)
            {
                d.push(period);
            }
        }
        d
    };
    hearth_federation::hub_pairs::run_due(&hub_fed, now).await?;
    wait_until(
        "the pair releases every month past its deadline",
        300,
        || async {
            let released: std::collections::BTreeSet<String> = hub_fed
                .db
                .pair_releases(pair.id)
                .await?
                .into_iter()
                .filter(|r| r.segment == "network")
                .map(|r| r.period)
                .collect();
            Ok(due.iter().all(|p| released.contains(p)))
        },
    )
    .await?;
    eprintln!("The pair released {} months", due.len());

    // The hub summarises the newest month and sends it back.
    let latest = hub
        .db
        .sector_sums()
        .await?
        .keys()
        .map(|(_, _, p)| *p)
        .max()
        .context("the hub has no figures: too few groups reported")?;
    hearth_federation::summaries::publish(&hub.fed(), latest).await?;
    wait_until("every group receives the summary", 120, || async {
        for i in &instances[2..] {
            if i.state()?.db.latest_sector_summaries().await?.is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    let csv_path = instances[0].dir.join("sector.csv");
    let csv = hearth_web::pages::sector::sector_csv(&hub).await?;
    std::fs::write(&csv_path, csv)?;

    println!(
        "The demo network is ready. Sign in anywhere as {LOGIN:?} with password {PASSWORD:?}."
    );
    // What the hub sees of the North West's burnout, the same month from both sources.
    let hub_settings = hub.db.hub_settings().await?;
    let sources = hearth_web::pages::sector::sources(&hub, hub_settings.min_groups).await?;
    let nw = Segment::Region("uk-north-west".into());
    let newest = |src: &hearth_web::pages::sector::Source| {
        src.series
            .iter()
            .find(|s| s.segment == nw && s.measure.signal() == Signal::Burnout)
            .and_then(|s| s.points.last().copied())
    };
    for src in &sources {
        match newest(src) {
            Some(p) => println!(
                "  North West burnout, {}, {}: {:.0} % (95 % interval {:.0} to {:.0} %, {} groups)",
                p.period.human_label(),
                src.label,
                p.share * 100.0,
                p.low * 100.0,
                p.high * 100.0,
                p.sums.groups
            ),
            None => println!(
                "  North West burnout, {}: too few groups to show",
                src.label
            ),
        }
    }
    for i in &instances {
        println!(
            "  {:<5} {:<34} {}/  ({})",
            if i.role == InstanceRole::Hub {
                "hub"
            } else {
                "group"
            },
            i.name,
            i.base(),
            i.dir.display()
        );
    }
    println!(
        "The hub's sector page is {}/sector; its CSV export is in {}.",
        instances[0].base(),
        csv_path.display()
    );
    println!(
        "Serve any instance again later with: hearth serve --data-dir {}",
        instances[0].dir.display()
    );
    if args.exit_after_sync {
        let summary = serde_json::json!({
            "instances": instances.iter().map(|i| serde_json::json!({
                "role": i.role.as_str(),
                "name": i.name,
                "dataDir": i.dir,
                "baseUrl": i.base(),
            })).collect::<Vec<_>>(),
            "hubCsv": csv_path,
        });
        println!("{summary}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitCode::SUCCESS)
}
