//! A hub's sector view over stored reports: segments and periods with fewer than m groups are
//! never shown (pages, CSV, JSON, the public page), alerts show their evidence and can be
//! acknowledged, exports and the public summary follow their switches, and erasing a group's
//! reports changes every figure made from them.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use hearth_core::Role;
use hearth_core::noise::Sigma;
use hearth_core::sharing::Rho;
use hearth_db::{MembershipState, NewPeer, ReceivedReport};
use hearth_testkit::{Backend, TestApp};

/// A member group of the hub with the given region.
async fn group(hub: &TestApp, i: usize, region: &str) -> i64 {
    let m = hub
        .db
        .save_membership(
            &NewPeer {
                actor_url: format!("https://g{i}.example/actor"),
                kind: "Group".into(),
                name: format!("Group {i}"),
                inbox: format!("https://g{i}.example/inbox"),
                public_key_pem: hearth_testkit::test_key().public_pem,
                profile: format!(
                    r#"{{"region":"{region}","communityFocus":["peer-support"],"sizeBand":"6-10"}}"#
                ),
                fetched_at: hub.now(),
                shared_inbox: None,
                username: None,
            },
            MembershipState::Accepted,
            &format!("https://g{i}.example/activities/follow/1"),
            &[],
            hub.now(),
        )
        .await
        .unwrap();
    m.peer.id
}

async fn report(hub: &TestApp, peer: i64, period: &str, respondents: i64, burnout: i64) {
    hub.db
        .store_received_report(
            peer,
            &ReceivedReport {
                object_id: format!("https://x.example/reports/{peer}-{period}"),
                period: period.into(),
                schema_version: 1,
                sigma_tenths: 65,
                rho: Rho::of_report(2, Sigma::from_tenths(65).unwrap()),
                counts: vec![
                    ("respondents".into(), respondents),
                    ("burnout".into(), burnout),
                ],
                segments: hub
                    .db
                    .peer_profile(peer)
                    .await
                    .unwrap()
                    .segments()
                    .iter()
                    .map(hearth_core::sector::Segment::key)
                    .collect(),
            },
            false,
            hub.now(),
        )
        .await
        .unwrap();
}

const MONTHS: [&str; 8] = [
    "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10",
];

/// Six North West groups whose burnout jumps in October, and five elsewhere (two in London,
/// two in Wales, one in Scotland): enough that the network minus the North West is no group's
/// own report.
async fn seeded(backend: Backend) -> (TestApp, Vec<i64>) {
    let hub = TestApp::hub(backend).await;
    let mut peers = Vec::new();
    for i in 0..11 {
        let region = match i {
            0..6 => "uk-north-west",
            6 | 7 => "uk-london",
            8 | 9 => "uk-wales",
            _ => "uk-scotland",
        };
        let p = group(&hub, i, region).await;
        for (m, period) in MONTHS.iter().enumerate() {
            let burnout = if i < 6 && m == MONTHS.len() - 1 {
                28
            } else {
                6 + (i as i64 + m as i64) % 3
            };
            report(&hub, p, period, 30, burnout).await;
        }
        peers.push(p);
    }
    (hub, peers)
}

async fn segments_below_m_are_never_shown(backend: Backend) {
    let (hub, peers) = seeded(backend).await;
    let staff = hub.join(Role::Facilitator, "staff").await;
    let viewer = hub.join(Role::Member, "viewer").await;
    let page = viewer.get("/sector").await.assert_status(200);
    assert!(page.body.contains("North West (England)"));
    assert!(page.body.contains("Burnout"));
    assert!(
        !page.body.contains("London"),
        "two London groups must not be a segment"
    );
    let csv = viewer
        .get("/sector/export.csv")
        .await
        .assert_status(200)
        .body;
    assert!(csv.starts_with(
        "segment,segment_label,measure,period,share,interval_low,interval_high,groups,source"
    ));
    assert!(csv.contains("region:uk-north-west,North West (England),burnout,2026-10,"));
    assert!(csv.contains("network,the whole network,burnout,2026-10,"));
    assert!(!csv.contains("uk-london"));
    for line in csv.lines().skip(1) {
        let groups: u32 = line.rsplit(',').nth(1).unwrap().trim().parse().unwrap();
        assert!(groups >= 5, "{line}");
    }
    let json: serde_json::Value = serde_json::from_str(
        &viewer
            .get("/sector/export.json")
            .await
            .assert_status(200)
            .body,
    )
    .unwrap();
    assert_eq!(json["minGroups"], 5);
    // Published at a stated precision: whole percentage points, never full floats.
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        for v in &f[4..7] {
            assert_eq!(v.split('.').nth(1).map(str::len), Some(2), "{line}");
        }
    }
    for s in json["series"].as_array().unwrap() {
        for p in s["points"].as_array().unwrap() {
            for k in ["share", "intervalLow", "intervalHigh"] {
                let x = p[k].as_f64().unwrap() * 100.0;
                assert!((x - x.round()).abs() < 1e-9, "{p}");
            }
        }
    }
    let keys: Vec<&str> = json["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["segment"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"network") && keys.contains(&"region:uk-north-west"));
    assert!(!keys.iter().any(|k| k.contains("london")));
    viewer
        .get("/sector?segment=region:uk-london")
        .await
        .assert_status(404);

    // Raising m hides the six-group segment everywhere; m below 5 is refused.
    staff.get("/sector").await;
    staff
        .post_form(
            "/sector/settings",
            &[("min_groups", "4"), ("public_summary", "no")],
        )
        .await
        .assert_status(400);
    staff
        .post_form(
            "/sector/settings",
            &[("min_groups", "7"), ("public_summary", "no")],
        )
        .await
        .assert_redirect("/sector?done=settings");
    let csv = viewer.get("/sector/export.csv").await.body;
    assert!(!csv.contains("uk-north-west") && csv.contains("network,"));
    assert!(!viewer.get("/sector").await.body.contains("North West"));
    viewer
        .post_form("/sector/settings", &[("min_groups", "5")])
        .await
        .assert_status(403);

    // The public summary is off by default; on, it shows the same hidden-below-m figures.
    let anon = hub.client();
    anon.get("/public/sector").await.assert_status(404);
    anon.get("/sector/export.csv")
        .await
        .assert_redirect("/login");
    anon.get("/sector").await.assert_redirect("/login");
    staff
        .post_form(
            "/sector/settings",
            &[("min_groups", "5"), ("public_summary", "yes")],
        )
        .await
        .assert_redirect("/sector?done=settings");
    let public = anon.get("/public/sector").await.assert_status(200);
    assert!(public.body.contains("North West (England)") && !public.body.contains("London"));
    assert!(!public.body.contains("Alerts") && !public.body.contains("csrf_token"));
    anon.get("/sector/export.csv").await.assert_status(200);

    // Erasing two North West groups' reports drops the segment below 5 groups: recomputed.
    for p in &peers[..2] {
        hub.db.erase_received_reports(*p).await.unwrap();
    }
    let csv = viewer.get("/sector/export.csv").await.body;
    assert!(!csv.contains("uk-north-west"), "{csv}");
    assert!(csv.contains("network,the whole network,burnout,2026-10,"));
}
hearth_testkit::on_both_backends!(
    segments_and_periods_below_m_groups_are_never_shown,
    segments_below_m_are_never_shown
);

async fn alerts_show_evidence_and_are_acknowledged(backend: Backend) {
    let (hub, _) = seeded(backend).await;
    let staff = hub.join(Role::Facilitator, "staff").await;
    let viewer = hub.join(Role::Member, "viewer").await;
    let page = viewer.get("/sector").await;
    assert!(page.body.contains("Alerts"), "the October jump alerts");
    let alerts = viewer.get("/sector/alerts").await.assert_status(200);
    assert!(
        alerts
            .body
            .contains("Burnout among North West (England), October 2026")
    );
    assert!(alerts.body.contains("EARS-C2"));
    assert!(alerts.body.contains("Baseline (usual share)"));
    assert!(
        !alerts.body.contains("Acknowledge"),
        "only staff acknowledge"
    );
    viewer
        .post_form(
            "/sector/alerts/ack",
            &[
                ("segment", "region:uk-north-west"),
                ("measure", "burnout"),
                ("period", "2026-10"),
            ],
        )
        .await
        .assert_status(403);
    staff
        .get("/sector/alerts")
        .await
        .assert_contains("Acknowledge");
    staff
        .post_form(
            "/sector/alerts/ack",
            &[
                ("segment", "region:uk-london"),
                ("measure", "burnout"),
                ("period", "2026-10"),
            ],
        )
        .await
        .assert_status(404);
    staff
        .post_form(
            "/sector/alerts/ack",
            &[
                ("segment", "region:uk-north-west"),
                ("measure", "burnout"),
                ("period", "2026-10"),
            ],
        )
        .await
        .assert_redirect("/sector/alerts");
    staff
        .get("/sector/alerts")
        .await
        .assert_contains("Acknowledged on");
    assert_eq!(hub.count("SELECT COUNT(*) AS n FROM alert_acks").await, 1);
}
hearth_testkit::on_both_backends!(
    alerts_show_their_evidence_and_staff_acknowledge_them,
    alerts_show_evidence_and_are_acknowledged
);

async fn rollups_follow_every_store_replace_and_erase(backend: Backend) {
    use hearth_core::sector::Segment;
    let hub = TestApp::hub(backend).await;
    let mut peers = Vec::new();
    for i in 0..6 {
        let p = group(&hub, i, "uk-wales").await;
        report(&hub, p, "2026-10", 20, 5).await;
        peers.push(p);
    }
    let network = |sums: &std::collections::BTreeMap<_, hearth_core::sector::Sums>| {
        sums.get(&(Segment::Network, burnout(), "2026-10".parse().unwrap()))
            .copied()
    };
    let s = network(&hub.db.sector_sums().await.unwrap()).unwrap();
    assert_eq!((s.groups, s.respondents, s.count), (6, 120, 30));
    assert!((s.noise_variance - 6.0 * 42.25).abs() < 1e-9);
    let wales = hub.db.sector_sums().await.unwrap();
    assert!(wales.contains_key(&(
        Segment::Region("uk-wales".into()),
        burnout(),
        "2026-10".parse().unwrap()
    )));
    assert!(wales.contains_key(&(
        Segment::SizeBand("6-10".into()),
        burnout(),
        "2026-10".parse().unwrap()
    )));

    // An Update replaces: the old report's counts leave the sums, the new ones enter.
    let update = ReceivedReport {
        object_id: format!("https://x.example/reports/{}-2026-10", peers[0]),
        period: "2026-10".into(),
        schema_version: 1,
        sigma_tenths: 65,
        rho: Rho::of_report(2, Sigma::from_tenths(65).unwrap()),
        counts: vec![("respondents".into(), 22), ("burnout".into(), 11)],
        segments: vec!["network".into(), "region:uk-wales".into()],
    };
    assert_eq!(
        hub.db
            .store_received_report(peers[0], &update, true, hub.now())
            .await
            .unwrap(),
        hearth_db::Stored::Replaced
    );
    let s = network(&hub.db.sector_sums().await.unwrap()).unwrap();
    assert_eq!((s.groups, s.respondents, s.count), (6, 122, 36));
    // The same Create again changes nothing; another report for the period is refused.
    let again = ReceivedReport {
        object_id: format!("https://x.example/reports/{}-2026-10", peers[1]),
        segments: vec!["network".into()],
        ..update.clone()
    };
    assert_eq!(
        hub.db
            .store_received_report(peers[1], &again, false, hub.now())
            .await
            .unwrap(),
        hearth_db::Stored::Unchanged
    );
    let clash = ReceivedReport {
        object_id: "https://x.example/reports/other".into(),
        ..again
    };
    assert!(matches!(
        hub.db
            .store_received_report(peers[1], &clash, false, hub.now())
            .await,
        Err(hearth_db::DbError::Conflict(_))
    ));
    assert_eq!(
        network(&hub.db.sector_sums().await.unwrap()).unwrap().count,
        36
    );

    // Erasure takes a group's reports out of every sum; the last erasure empties the rollups.
    hub.db.erase_received_reports(peers[1]).await.unwrap();
    let s = network(&hub.db.sector_sums().await.unwrap()).unwrap();
    assert_eq!((s.groups, s.respondents, s.count), (5, 102, 31));
    for p in &peers {
        hub.db.erase_received_reports(*p).await.unwrap();
    }
    assert!(hub.db.sector_sums().await.unwrap().is_empty());
    assert_eq!(
        hub.count("SELECT COUNT(*) AS n FROM sector_rollups").await,
        0
    );
}
hearth_testkit::on_both_backends!(
    the_rollups_follow_every_report_stored_replaced_and_erased,
    rollups_follow_every_store_replace_and_erase
);

/// The rollups, kept up incrementally, equal the sums worked out from scratch from the reports
/// the hub holds, after every step of a seeded run of stores, replacements and erasures.
async fn rollups_equal_sums_from_scratch(backend: Backend) {
    use hearth_core::sector::{GroupReport, sums};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    let hub = TestApp::hub(backend).await;
    let regions = ["uk-north-west", "uk-london", "uk-wales"];
    let mut peers = Vec::new();
    let mut profiles = BTreeMap::new();
    for i in 0..7 {
        let p = group(&hub, i, regions[i % 3]).await;
        profiles.insert(p, hub.db.peer_profile(p).await.unwrap());
        peers.push(p);
    }
    let mut held: BTreeMap<(i64, String), GroupReport> = BTreeMap::new();
    let mut rng = StdRng::seed_from_u64(7);
    let names = [
        "low_wellbeing",
        "burnout",
        "time_pressure",
        "unpaid_hours",
        "funding_paperwork",
    ];
    for step in 0..40 {
        let peer = peers[rng.gen_range(0..peers.len())];
        if rng.gen_bool(0.1) {
            hub.db.erase_received_reports(peer).await.unwrap();
            held.retain(|(p, _), _| *p != peer);
        } else {
            let period = MONTHS[rng.gen_range(0..4)].to_owned();
            let sigma_tenths = [65, 90, 130][rng.gen_range(0..3)];
            let mut counts = vec![("respondents".to_owned(), rng.gen_range(5..40))];
            for n in names {
                if rng.gen_bool(0.7) {
                    counts.push((n.to_owned(), rng.gen_range(-3..30)));
                }
            }
            let replace = held.contains_key(&(peer, period.clone()));
            hub.db
                .store_received_report(
                    peer,
                    &ReceivedReport {
                        object_id: format!("https://x.example/reports/{peer}-{period}-{step}"),
                        period: period.clone(),
                        schema_version: 1,
                        sigma_tenths,
                        rho: Rho::of_report(
                            1,
                            Sigma::from_tenths(sigma_tenths.unsigned_abs()).unwrap(),
                        ),
                        counts: counts.clone(),
                        segments: profiles[&peer]
                            .segments()
                            .iter()
                            .map(hearth_core::sector::Segment::key)
                            .collect(),
                    },
                    replace,
                    hub.now(),
                )
                .await
                .unwrap();
            held.insert(
                (peer, period.clone()),
                GroupReport {
                    group: peer,
                    period: period.parse().unwrap(),
                    sigma: f64::from(sigma_tenths) / 10.0,
                    counts: counts.into_iter().collect(),
                },
            );
        }
        let expected = sums(&held.values().cloned().collect::<Vec<_>>(), &profiles);
        let got = hub.db.sector_sums().await.unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "step {step}"
        );
        for (k, e) in &expected {
            let g = got[k];
            assert_eq!(
                (g.groups, g.respondents, g.count),
                (e.groups, e.respondents, e.count)
            );
            assert!(
                (g.noise_variance - e.noise_variance).abs() < 1e-6,
                "step {step} {k:?}"
            );
        }
    }
}
hearth_testkit::on_both_backends!(
    the_rollups_equal_sums_from_scratch,
    rollups_equal_sums_from_scratch
);

fn burnout() -> hearth_core::sector::Measure {
    hearth_core::sharing::Signal::Burnout.measure().unwrap()
}

/// The subtraction attack: six North West groups and two in London. The network minus the
/// North West would be the two London groups' sums, so the North West is never shown beside
/// the network: not on the page, the public page, the CSV, the JSON or the summary.
async fn subtraction(backend: Backend) {
    let hub = TestApp::hub(backend).await;
    for i in 0..8 {
        let region = if i < 6 { "uk-north-west" } else { "uk-london" };
        let p = group(&hub, i, region).await;
        for period in MONTHS {
            report(&hub, p, period, 30, 6).await;
        }
    }
    hub.db
        .set_hub_settings(&hearth_db::HubSettings {
            public_summary: true,
            ..hub.db.hub_settings().await.unwrap()
        })
        .await
        .unwrap();
    let viewer = hub.join(Role::Member, "viewer").await;
    let anon = hub.client();
    for page in [
        viewer.get("/sector").await.assert_status(200).body,
        anon.get("/public/sector").await.assert_status(200).body,
        viewer
            .get("/sector/export.csv")
            .await
            .assert_status(200)
            .body,
        viewer
            .get("/sector/export.json")
            .await
            .assert_status(200)
            .body,
    ] {
        assert!(
            page.contains("network") || page.contains("whole network"),
            "{page}"
        );
        assert!(
            !page.contains("North West") && !page.contains("uk-north-west"),
            "{page}"
        );
    }
    let (figures, _) =
        hearth_federation::summaries::figures_for(&hub.state.fed(), "2026-10".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert!(figures.iter().any(|f| f.segment == "network"));
    assert!(
        figures.iter().all(|f| f.segment == "network"),
        "{figures:?}"
    );
}
hearth_testkit::on_both_backends!(
    the_network_minus_a_region_never_gives_away_a_few_groups,
    subtraction
);
