//! The hub's sector view at scale: 5,000 groups reporting weekly for 1, 2 and 5 years, on
//! SQLite and (when HEARTH_TEST_POSTGRES is set) PostgreSQL. Prints the p50/p95 of what the
//! sector page computes per request (read the rollups, build every series, run the alerts) and
//! of storing one more report (with its rollup updates) into that history.
//!
//! The sector pages read only `sector_rollups`, whose size is segments × measures × periods and
//! does not grow with the number of groups; the rollups here are the exact sums of 5,000
//! simulated groups' noisy counts. Raw `received_reports` rows are not generated for the whole
//! history (no page reads them); storing a report touches them only by primary key and unique
//! index. Run with `cargo bench -p hearth-db --bench sector`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hearth_core::alerts::detect;
use hearth_core::noise::Sigma;
use hearth_core::report::ReportPeriod;
use hearth_core::sector::{MinGroups, series_from_sums};
use hearth_core::sharing::Rho;
use hearth_db::{Clock, Db, MembershipState, NewPeer, ReceivedReport, SystemClock};
use hearth_testkit::{Backend, TestDb};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const GROUPS: usize = 5_000;
/// The measures the rollups keep, from the signal table.
static MEASURES: std::sync::LazyLock<Vec<&str>> = std::sync::LazyLock::new(|| {
    hearth_core::sector::Measure::all()
        .map(hearth_core::sector::Measure::slug)
        .collect()
});
const REGIONS: [&str; 13] = [
    "uk-north-east",
    "uk-north-west",
    "uk-yorkshire-humber",
    "uk-east-midlands",
    "uk-west-midlands",
    "uk-east",
    "uk-london",
    "uk-south-east",
    "uk-south-west",
    "uk-wales",
    "uk-scotland",
    "uk-northern-ireland",
    "outside-uk",
];
const FOCUSES: [&str; 14] = [
    "peer-support",
    "survivor-led",
    "black-minoritised",
    "lgbtq",
    "young-people",
    "older-people",
    "women",
    "men",
    "disabled-neurodivergent",
    "refugees-migrants",
    "rural",
    "faith",
    "arts-creative",
    "hearing-voices",
];
const SIZES: [&str; 5] = ["1-5", "6-10", "11-25", "26-50", "51-plus"];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Each group's segments, fixed for the run.
fn segments(rng: &mut StdRng) -> Vec<Vec<String>> {
    (0..GROUPS)
        .map(|_| {
            let mut s = vec![
                "network".to_owned(),
                format!("region:{}", REGIONS[rng.gen_range(0..REGIONS.len())]),
                format!("size:{}", SIZES[rng.gen_range(0..SIZES.len())]),
            ];
            for _ in 0..rng.gen_range(1..=2) {
                s.push(format!(
                    "focus:{}",
                    FOCUSES[rng.gen_range(0..FOCUSES.len())]
                ));
            }
            s.sort();
            s.dedup();
            s
        })
        .collect()
}

/// The rollup rows for `weeks` weeks of reports from every group.
fn rollups(
    groups: &[Vec<String>],
    weeks: &[ReportPeriod],
    rng: &mut StdRng,
) -> BTreeMap<(String, &'static str, String), [i64; 4]> {
    let mut names: Vec<String> = groups.iter().flatten().cloned().collect();
    names.sort();
    names.dedup();
    let index: Vec<Vec<usize>> = groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|s| names.binary_search(s).unwrap_or(0))
                .collect()
        })
        .collect();
    let mut out = BTreeMap::new();
    for w in weeks {
        let mut sums = vec![[0i64; 4]; names.len() * MEASURES.len()];
        for segs in &index {
            let n: i64 = rng.gen_range(5..=25);
            for m in 0..MEASURES.len() {
                let v: i64 = rng.gen_range(-3..=n);
                for s in segs {
                    let r = &mut sums[s * MEASURES.len() + m];
                    r[0] += 1;
                    r[1] += n;
                    r[2] += v;
                    r[3] += 65 * 65;
                }
            }
        }
        let label = w.to_string();
        for (i, r) in sums.into_iter().enumerate() {
            if r[0] > 0 {
                out.insert(
                    (
                        names[i / MEASURES.len()].clone(),
                        MEASURES[i % MEASURES.len()],
                        label.clone(),
                    ),
                    r,
                );
            }
        }
    }
    out
}

async fn load(db: &Db, rows: &BTreeMap<(String, &'static str, String), [i64; 4]>) {
    let mut conn = db.conn().await.unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<String> = rows
        .iter()
        .map(|((s, m, p), [g, n, t, v])| format!("('{s}','{m}','{p}',{g},{n},{t},{v})"))
        .collect();
    for chunk in values.chunks(500) {
        let sql = format!(
            "INSERT INTO sector_rollups (segment, measure, period, groups, respondents, total, sigma_sq_hundredths) VALUES {}",
            chunk.join(",")
        );
        hearth_db::with_conn!(&mut conn, |c| {
            diesel_async::RunQueryDsl::execute(diesel::sql_query(&sql), c).await
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// p50 and p95 of what the sector page computes per request.
async fn page(db: &Db, runs: usize) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut series_count = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let sums = db.sector_sums().await.unwrap_or_else(|e| panic!("{e}"));
        let series = series_from_sums(&sums, MinGroups::default());
        let tests = detect(&series);
        series_count = series.len();
        std::hint::black_box(tests);
        times.push(start.elapsed());
    }
    times.sort();
    (
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        series_count,
    )
}

/// p50 and p95 of storing one report with its rollup updates.
async fn ingest(db: &Db, peers: &[(i64, Vec<String>)], period: &str) -> (Duration, Duration) {
    let mut times = Vec::new();
    for (i, (peer, segs)) in peers.iter().enumerate() {
        let r = ReceivedReport {
            object_id: format!("https://g{i}.example/reports/{period}"),
            period: period.to_owned(),
            schema_version: 1,
            sigma_tenths: 65,
            rho: Rho::of_report(6, Sigma::from_tenths(65).unwrap_or_else(|e| panic!("{e}"))),
            counts: std::iter::once(("respondents".to_owned(), 12))
                .chain(MEASURES.iter().map(|m| ((*m).to_owned(), 4)))
                .collect(),
            segments: segs.clone(),
        };
        let start = Instant::now();
        db.store_received_report(*peer, &r, false, SystemClock.now())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        times.push(start.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95))
}

async fn run(backend: Backend) {
    let mut rng = StdRng::seed_from_u64(5_000);
    let groups = segments(&mut rng);
    println!("\n{backend:?}: {GROUPS} groups, weekly reports, 5 measures");
    println!(
        "{:>6} {:>8} {:>14} {:>14} {:>9} {:>16} {:>16}",
        "years", "periods", "page p50 ms", "page p95 ms", "series", "store p50 ms", "store p95 ms"
    );
    let mut first =
        ReportPeriod::Week(hearth_core::IsoWeek::new(2021, 1).unwrap_or_else(|| unreachable!()));
    let mut loaded = 0usize;
    let database = TestDb::create(backend).await;
    let db = Db::open(database.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // 200 member groups to store new reports for, with their segments.
    let mut peers = Vec::new();
    for (i, segs) in groups.iter().take(200).enumerate() {
        let now = SystemClock.now();
        let m = db
            .save_membership(
                &NewPeer {
                    actor_url: format!("https://g{i}.example/actor"),
                    kind: "Group".into(),
                    name: format!("g{i}"),
                    inbox: format!("https://g{i}.example/inbox"),
                    public_key_pem: "none".into(),
                    profile: "{}".into(),
                    fetched_at: now,
                    shared_inbox: None,
                    username: None,
                },
                MembershipState::Accepted,
                &format!("https://g{i}.example/follow"),
                &[],
                now,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        peers.push((m.peer.id, segs.clone()));
    }
    for years in [1usize, 2, 5] {
        let target = years * 52;
        let mut weeks = Vec::new();
        while loaded < target {
            weeks.push(first);
            first = first.next();
            loaded += 1;
        }
        let rows = rollups(&groups, &weeks, &mut rng);
        load(&db, &rows).await;
        let (p50, p95, n) = page(&db, 40).await;
        let (s50, s95) = ingest(&db, &peers, &format!("2030-W{:02}", years)).await;
        println!(
            "{years:>6} {loaded:>8} {:>14.1} {:>14.1} {n:>9} {:>16.2} {:>16.2}",
            ms(p50),
            ms(p95),
            ms(s50),
            ms(s95)
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        run(Backend::Sqlite).await;
        if hearth_testkit::postgres_admin_url().is_some() {
            run(Backend::Postgres).await;
        } else {
            println!("\nPostgreSQL skipped: set HEARTH_TEST_POSTGRES to include it");
        }
    });
}
