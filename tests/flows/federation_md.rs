//! Every example in FEDERATION.md is produced here by the real serialisers, so the document
//! cannot drift. Run with `HEARTH_BLESS=1` to rewrite the examples after a deliberate change.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use activitypub_federation::kinds::activity::{
    AcceptType, CreateType, DeleteType, FollowType, RejectType, UndoType, UpdateType,
};
use activitypub_federation::protocol::public_key::PublicKey;
use hearth_core::InstanceRole;
use hearth_federation::discovery::{nodeinfo_document, webfinger_document};
use hearth_federation::protocol::report::{
    CreateReport, DeleteReports, UpdateReport, WellbeingReport, reports_collection,
};
use hearth_federation::protocol::summary::{CreateSummary, Figure, PUBLIC, SectorSummary};
use hearth_federation::protocol::{
    Accept, ActorJson, ActorKind, Endpoints, Follow, GroupProfile, Reject, Undo,
};
use hearth_federation::vocab;
use serde_json::Value;
use url::Url;

const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw…IDAQAB\n-----END PUBLIC KEY-----\n";

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn with_context<T: serde::Serialize>(t: T) -> Value {
    vocab::with_context(&t).unwrap()
}

fn actor(
    base: &str,
    kind: ActorKind,
    username: &str,
    name: &str,
    profile: Option<GroupProfile>,
) -> Value {
    with_context(actor_json(base, kind, username, name, profile))
}

fn actor_json(
    base: &str,
    kind: ActorKind,
    username: &str,
    name: &str,
    profile: Option<GroupProfile>,
) -> ActorJson {
    let id = url(&format!("{base}/actor"));
    ActorJson {
        kind,
        id: id.clone(),
        preferred_username: username.into(),
        name: name.into(),
        inbox: url(&format!("{base}/inbox")),
        outbox: Some(url(&format!("{base}/outbox"))),
        followers: Some(url(&format!("{base}/followers"))),
        public_key: PublicKey {
            id: format!("{id}#main-key"),
            owner: id.clone(),
            public_key_pem: PEM.into(),
        },
        endpoints: Some(Endpoints {
            shared_inbox: url(&format!("{base}/inbox")),
        }),
        url: Some(id),
        group_profile: profile,
        pairs: Vec::new(),
    }
}

fn examples() -> Vec<(&'static str, Value)> {
    let group = "https://riverside.example";
    let hub = "https://hub.example";
    let follow = Follow {
        id: url(&format!(
            "{group}/activities/follow/6f1c0d6e2b7a4c35a1e0f3b9d2c48a17"
        )),
        kind: FollowType::Follow,
        actor: url(&format!("{group}/actor")),
        object: url(&format!("{hub}/actor")),
    };
    let report = example_report(group, hub);
    let mut out = vec![
        (
            "webfinger",
            serde_json::to_value(webfinger_document(
                "acct:group@riverside.example",
                url(&format!("{group}/actor")),
                InstanceRole::Group,
            ))
            .unwrap(),
        ),
        ("nodeinfo", nodeinfo_document(InstanceRole::Group)),
        (
            "group-actor",
            actor(
                group,
                ActorKind::Group,
                "group",
                "Riverside Peers",
                Some(GroupProfile {
                    region: Some("uk-north-west".into()),
                    community_focus: vec!["peer-support".into(), "women".into()],
                    size_band: Some("6-10".into()),
                }),
            ),
        ),
        ("hub-actor", {
            // A hub lists the pairs it leads, for its groups to choose (never the verify key).
            use hearth_core::noise::Sigma;
            use hearth_core::pair::{Dimension, PairPlan};
            use hearth_core::sharing::Cadence;
            use hearth_federation::protocol::pair::HubPairObject;
            let mut a = actor_json(
                hub,
                ActorKind::Service,
                "hub",
                "North West Peer Network",
                None,
            );
            a.pairs = vec![HubPairObject::new(
                url(&format!("{hub}/pairs/Xq3v9Lr2Tn8wKd1a")),
                url(&format!("{hub}/actor")),
                url("https://helper.example/actor"),
                &PairPlan {
                    cadence: Cadence::Month,
                    dimensions: vec![Dimension::Network, Dimension::Region],
                    sigma: Sigma::from_tenths(92).unwrap(),
                },
                5,
            )];
            with_context(a)
        }),
        ("context", vocab::context_document()),
        ("follow", with_context(follow.clone())),
        (
            "accept",
            with_context(Accept {
                id: url(&format!(
                    "{hub}/activities/accept/0b8e5a7c93d14f2e8c6a1d0f7b3e9a52"
                )),
                kind: AcceptType::Accept,
                actor: url(&format!("{hub}/actor")),
                object: follow.clone().into(),
            }),
        ),
        (
            "reject",
            with_context(Reject {
                id: url(&format!(
                    "{hub}/activities/reject/9d2f4b6a1c8e4a07b5f3e2d1c0a9b8e7"
                )),
                kind: RejectType::Reject,
                actor: url(&format!("{hub}/actor")),
                object: follow.clone().into(),
            }),
        ),
        (
            "undo",
            with_context(Undo {
                id: url(&format!(
                    "{group}/activities/undo/3c7a9e1f5b2d4c68a0e4f6b8d1c3a5e7"
                )),
                kind: UndoType::Undo,
                actor: url(&format!("{group}/actor")),
                object: follow.into(),
            }),
        ),
        (
            "report-create",
            with_context(CreateReport {
                id: url(&format!(
                    "{group}/activities/create/5e2a8c1d7f3b4e69a0c2d4f6b8e1a3c5"
                )),
                kind: CreateType::Create,
                actor: url(&format!("{group}/actor")),
                to: vec![url(&format!("{hub}/actor"))],
                object: report.clone(),
            }),
        ),
        (
            "report-update",
            with_context(UpdateReport {
                id: url(&format!(
                    "{group}/activities/update/8b4d2f6a0c1e4a37b9d5e7f1a3c5b7d9"
                )),
                kind: UpdateType::Update,
                actor: url(&format!("{group}/actor")),
                to: vec![url(&format!("{hub}/actor"))],
                object: report,
            }),
        ),
        (
            "report-delete",
            with_context(DeleteReports {
                id: url(&format!(
                    "{group}/activities/delete/2f6b8d0a4c1e4f57a3b5c7d9e1f3a5b7"
                )),
                kind: DeleteType::Delete,
                actor: url(&format!("{group}/actor")),
                to: vec![url(&format!("{hub}/actor"))],
                object: reports_collection(&url(&format!("{group}/actor"))),
            }),
        ),
        (
            "actor-update",
            with_context(hearth_federation::protocol::keys::UpdateActor {
                id: url(&format!(
                    "{group}/activities/update/1e3a5c7e9b0d4f26a8c0e2b4d6f8a0c2"
                )),
                kind: UpdateType::Update,
                actor: url(&format!("{group}/actor")),
                object: actor_json(
                    group,
                    ActorKind::Group,
                    "group",
                    "Riverside Peers",
                    Some(GroupProfile {
                        region: Some("uk-north-west".into()),
                        community_focus: vec!["peer-support".into(), "women".into()],
                        size_band: Some("6-10".into()),
                    }),
                ),
            }),
        ),
        (
            "summary-create",
            with_context(CreateSummary {
                id: url(&format!(
                    "{hub}/activities/create/7a1c3e5f9b2d4f68b0d2e4a6c8f0b1d3"
                )),
                kind: CreateType::Create,
                actor: url(&format!("{hub}/actor")),
                to: vec![url(PUBLIC)],
                cc: vec![url(&format!("{hub}/followers"))],
                object: SectorSummary {
                    kind: activitypub_federation::kinds::object::NoteType::Note,
                    id: url(&format!("{hub}/summaries/2026-11")),
                    attributed_to: url(&format!("{hub}/actor")),
                    to: vec![url(PUBLIC)],
                    cc: vec![url(&format!("{hub}/followers"))],
                    content: "<p>North West Peer Network: how user-led groups were doing in November 2026, from 42 groups’ anonymised reports.</p><p>Low wellbeing: 46% (95% interval 38% to 54%); Burnout: 31% (95% interval 24% to 38%).</p><p>Figures for the whole network and 1 part of it are attached; every figure has at least 5 groups behind it and carries the privacy noise in its interval.</p>".into(),
                    published: Some(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 8, 0, 5, 0).unwrap()),
                    updated: None,
                    url: Some(url(&format!("{hub}/summaries/2026-11"))),
                    schema_version: 1,
                    period: "2026-11".into(),
                    sector_figures: vec![
                        Figure {
                            segment: "network".into(),
                            measure: "burnout".into(),
                            share: 0.31,
                            interval_low: 0.24,
                            interval_high: 0.38,
                            groups: 42,
                            aggregation: Some("pair".into()),
                        },
                        Figure {
                            segment: "region:uk-north-west".into(),
                            measure: "burnout".into(),
                            share: 0.37,
                            interval_low: 0.22,
                            interval_high: 0.52,
                            groups: 9,
                            aggregation: None,
                        },
                    ],
                },
            }),
        ),
        (
            "summary-update",
            with_context(hearth_federation::protocol::summary::UpdateSummary {
                id: url(&format!(
                    "{hub}/activities/update/4d2b6f8a0c1e3a5b7d9f1b3d5f7a9c2e"
                )),
                kind: activitypub_federation::kinds::activity::UpdateType::Update,
                actor: url(&format!("{hub}/actor")),
                to: vec![url(PUBLIC)],
                cc: vec![url(&format!("{hub}/followers"))],
                object: SectorSummary {
                    kind: activitypub_federation::kinds::object::NoteType::Note,
                    id: url(&format!("{hub}/summaries/2026-11")),
                    attributed_to: url(&format!("{hub}/actor")),
                    to: vec![url(PUBLIC)],
                    cc: vec![url(&format!("{hub}/followers"))],
                    content: "<p>North West Peer Network: how user-led groups were doing in November 2026, from 43 groups’ anonymised reports.</p><p>Burnout: 32% (95% interval 25% to 39%).</p><p>Figures for the whole network are attached; every figure has at least 5 groups behind it and carries the privacy noise in its interval.</p>".into(),
                    published: Some(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 8, 0, 5, 0).unwrap()),
                    updated: Some(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 10, 9, 30, 0).unwrap()),
                    url: Some(url(&format!("{hub}/summaries/2026-11"))),
                    schema_version: 1,
                    period: "2026-11".into(),
                    sector_figures: vec![Figure {
                        segment: "network".into(),
                        measure: "burnout".into(),
                        share: 0.32,
                        interval_low: 0.25,
                        interval_high: 0.39,
                        groups: 43,
                        aggregation: None,
                    }],
                },
            }),
        ),
    ];
    out.extend(pair_examples());
    out
}

/// The hub pair's messages. Shares and keys are random bytes on the wire; these are fixed
/// bytes, the long ones shortened (a helper's input share is 64 bytes as shown; a leader's is
/// a few kilobytes, a verifier share some hundreds of bytes).
fn pair_examples() -> Vec<(&'static str, Value)> {
    use hearth_core::noise::Sigma;
    use hearth_core::pair::{Dimension, PairPlan};
    use hearth_core::sharing::Cadence;
    use hearth_federation::protocol::pair::{
        CreatePair, HubPairObject, OfferPair, PairAggregateShare, PairAggregateShareObject,
        PairAggregation, PairAggregationObject, PairCollection, PairCollectionObject, PairShare,
        PairShareObject, PairVerdicts, PairVerdictsObject, ReportToCheck, Verdict, encode,
    };
    let (lead, help, group) = (
        "https://hub.example",
        "https://helper.example",
        "https://riverside.example",
    );
    let pair = url(&format!("{lead}/pairs/Xq3v9Lr2Tn8wKd1a"));
    let nonce = encode(&[0x4e; 16]);
    let plan = PairPlan {
        cadence: Cadence::Month,
        dimensions: vec![Dimension::Network, Dimension::Region],
        sigma: Sigma::from_tenths(92).unwrap(),
    };
    let mut object = HubPairObject::new(
        pair.clone(),
        url(&format!("{lead}/actor")),
        url(&format!("{help}/actor")),
        &plan,
        5,
    );
    object.verify_key = Some(encode(&[0x6b; 32]));
    let create = |from: &str, to: &str, tail: &str| {
        (
            url(&format!("{from}/activities/create/{tail}")),
            url(&format!("{from}/actor")),
            vec![url(&format!("{to}/actor"))],
        )
    };
    let (share_id, share_actor, share_to) = create(group, help, "1f2e3d4c5b6a79880f1e2d3c4b5a6978");
    let (agg_id, agg_actor, agg_to) = create(lead, help, "2a3b4c5d6e7f80910a1b2c3d4e5f6071");
    let (ver_id, ver_actor, ver_to) = create(help, lead, "3b4c5d6e7f8091a20b1c2d3e4f506172");
    let (col_id, col_actor, col_to) = create(lead, help, "4c5d6e7f8091a2b30c1d2e3f40516273");
    let (sh_id, sh_actor, sh_to) = create(help, lead, "5d6e7f8091a2b3c40d1e2f3041526374");
    vec![
        (
            "pair-offer",
            with_context(OfferPair {
                id: url(&format!(
                    "{lead}/activities/offer/6e7f8091a2b3c4d50e1f203142536475"
                )),
                kind: activitypub_federation::kinds::activity::OfferType::Offer,
                actor: url(&format!("{lead}/actor")),
                to: vec![url(&format!("{help}/actor"))],
                object,
            }),
        ),
        (
            "pair-share-create",
            with_context(CreatePair {
                id: share_id,
                kind: CreateType::Create,
                actor: share_actor.clone(),
                to: share_to.clone(),
                object: PairShareObject {
                    kind: PairShare::PairShare,
                    id: url(&format!("{group}/pair-shares/{nonce}/helper")),
                    attributed_to: share_actor,
                    to: share_to,
                    pair: pair.clone(),
                    period: "2026-11".into(),
                    nonce: nonce.clone(),
                    public_share: encode(&[0x21; 64]),
                    input_share: encode(&[0x37; 64]),
                },
            }),
        ),
        (
            "pair-aggregation",
            with_context(CreatePair {
                id: agg_id,
                kind: CreateType::Create,
                actor: agg_actor,
                to: agg_to,
                object: PairAggregationObject {
                    kind: PairAggregation::PairAggregation,
                    id: url(&format!("{lead}/pairs/steps/Gh7kP2sQ9vX4mN1c")),
                    pair: pair.clone(),
                    period: "2026-11".into(),
                    reports: vec![ReportToCheck {
                        nonce: nonce.clone(),
                        verifier_share: encode(&[0x5a; 48]),
                    }],
                },
            }),
        ),
        (
            "pair-verdicts",
            with_context(CreatePair {
                id: ver_id,
                kind: CreateType::Create,
                actor: ver_actor,
                to: ver_to,
                object: PairVerdictsObject {
                    kind: PairVerdicts::PairVerdicts,
                    id: url(&format!("{help}/pairs/steps/Jm3nR8tW2yZ6bC5d")),
                    pair: pair.clone(),
                    period: "2026-11".into(),
                    verdicts: vec![Verdict {
                        nonce: nonce.clone(),
                        message: Some(encode(&[0x11; 32])),
                    }],
                },
            }),
        ),
        (
            "pair-collection",
            with_context(CreatePair {
                id: col_id,
                kind: CreateType::Create,
                actor: col_actor,
                to: col_to,
                object: PairCollectionObject {
                    kind: PairCollection::PairCollection,
                    id: url(&format!("{lead}/pairs/steps/Kp4qS9uX3zA7cD6e")),
                    pair: pair.clone(),
                    period: "2026-11".into(),
                    segment: "region:uk-north-west".into(),
                    nonces: vec![nonce.clone()],
                },
            }),
        ),
        (
            "pair-aggregate-share",
            with_context(CreatePair {
                id: sh_id,
                kind: CreateType::Create,
                actor: sh_actor,
                to: sh_to,
                object: PairAggregateShareObject {
                    kind: PairAggregateShare::PairAggregateShare,
                    id: url(&format!("{help}/pairs/steps/Lq5rT1vY4aB8dE7f")),
                    pair,
                    period: "2026-11".into(),
                    segment: "region:uk-north-west".into(),
                    reports: 9,
                    aggregate_share: encode(&[0x73; 48]),
                },
            }),
        ),
    ]
}

/// A November report with every signal, as a group with about a dozen consenting members
/// might send it (numbers are noisy; one is negative, as noisy counts may be).
fn example_report(group: &str, hub: &str) -> WellbeingReport {
    use hearth_core::report::{NoisyCounts, NoisyReport};
    use hearth_core::sharing::{SharingSettings, Signal, SignalSet};
    let settings = SharingSettings::default();
    let report = NoisyReport {
        period: "2026-11".parse().unwrap(),
        signals: SignalSet::all(),
        sigma: settings.sigma(),
        rho: settings.rho_per_report(),
        counts: NoisyCounts::new(
            14,
            &[
                (Signal::LowWellbeing, &[9]),
                (Signal::Burnout, &[3]),
                (Signal::TimePressure, &[11]),
                (Signal::UnpaidHours, &[13]),
                (Signal::FundingPaperwork, &[-2]),
                (Signal::HoursBands, &[4, 6, 1, 3, 8]),
            ],
        ),
    };
    WellbeingReport::from_report(
        url(&format!("{group}/reports/c0a8e4b2d6f14a3e9b7c5d1f3a2e4b6c")),
        url(&format!("{group}/actor")),
        url(&format!("{hub}/actor")),
        &report,
    )
}

/// (name, start, end) of each example's JSON text in the document.
fn blocks(doc: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = doc[from..].find("<!-- example:") {
        let start_marker = from + i;
        let name_end = doc[start_marker..].find(" -->").unwrap() + start_marker;
        let name = doc[start_marker + "<!-- example:".len()..name_end].to_owned();
        let fence = doc[name_end..].find("```json\n").unwrap() + name_end + "```json\n".len();
        let end = doc[fence..].find("```").unwrap() + fence;
        out.push((name, fence, end));
        from = end;
    }
    out
}

#[test]
fn federation_md_examples_come_from_the_serialisers() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../FEDERATION.md");
    let mut doc = std::fs::read_to_string(path).unwrap();
    let found = blocks(&doc);
    let examples = examples();
    let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
    let expected: Vec<&str> = examples.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names, expected,
        "FEDERATION.md must show every example, in this order"
    );
    if std::env::var("HEARTH_BLESS").is_ok() {
        for ((_, start, end), (_, value)) in found.iter().zip(&examples).rev() {
            let text = serde_json::to_string_pretty(value).unwrap() + "\n";
            doc.replace_range(start..end, &text);
        }
        std::fs::write(path, doc).unwrap();
        return;
    }
    for ((name, start, end), (_, value)) in found.iter().zip(&examples) {
        let shown: Value = serde_json::from_str(&doc[*start..*end])
            .unwrap_or_else(|e| panic!("example {name} is not JSON: {e}"));
        assert_eq!(
            &shown, value,
            "example {name} drifted: run with HEARTH_BLESS=1 and review the diff"
        );
    }
}
