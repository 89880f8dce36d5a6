//! Property test: whatever the group and its answers, the report a hub receives holds no member
//! id, name, handle, free text, note, exact time or exact count, and each member adds at most
//! one to each count.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::{BTreeSet, HashMap};

use activitypub_federation::kinds::activity::CreateType;
use hearth_core::report::{Contribution, TrueCounts, make_report_with_noise};
use hearth_core::sharing::{Cadence, PrivacyLevel, SharingSettings, Signal, SignalSet};
use hearth_core::{CheckinAnswers, IsoWeek};
use hearth_federation::protocol::report::{CreateReport, WellbeingReport};
use hearth_federation::vocab;
use proptest::prelude::*;
use serde_json::Value;
use url::Url;

/// The keys a sent report may have, at any depth.
const ALLOWED_KEYS: [&str; 20] = [
    "@context",
    "id",
    "type",
    "actor",
    "to",
    "object",
    "attributedTo",
    "schemaVersion",
    "period",
    "noiseMechanism",
    "noiseSigma",
    "privacyCostRho",
    "respondents",
    "lowWellbeing",
    "burnout",
    "timePressure",
    "unpaidHours",
    "fundingPaperwork",
    "hoursBands",
    // Reserved for the object's own type name.
    "WellbeingReport",
];

/// A known offset added as "noise", so every count in the payload can be traced: each must be
/// exactly its true value plus the offset, which proves no count escapes the noise.
const OFFSET: i64 = 1_000_003;

#[derive(Debug, Clone)]
struct Member {
    id: i64,
    username: String,
    display_name: String,
    checkins: Vec<(u32, CheckinAnswers)>,
}

fn answers() -> impl Strategy<Value = CheckinAnswers> {
    (
        prop::array::uniform5(0u8..=5),
        1u8..=5,
        0u8..=60,
        0u8..=40,
        0u8..=100,
        0u8..=4,
        "[a-z ]{0,20}",
    )
        .prop_map(|(who5, burnout, paid, unpaid, funding, tp, note)| {
            let funding = funding.min(paid.saturating_add(unpaid));
            CheckinAnswers::new(
                who5,
                burnout,
                paid,
                unpaid,
                funding,
                tp,
                Some(format!("NOTE-{note}")),
            )
            .unwrap()
        })
}

fn members() -> impl Strategy<Value = Vec<Member>> {
    prop::collection::vec(
        (
            // Ids far from any count, so a leaked id could not pass for a count.
            10_000_000_000i64..20_000_000_000,
            "[a-z]{3,10}",
            prop::collection::vec((45u32..=48, answers()), 1..4),
        ),
        0..40,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (id, name, checkins))| Member {
                id: id + i as i64,
                username: format!("user-{name}-{i}"),
                display_name: format!("Display {name} {i}"),
                checkins,
            })
            .collect()
    })
}

fn signals() -> impl Strategy<Value = SignalSet> {
    prop::collection::vec(any::<bool>(), 6).prop_map(|on| {
        Signal::all()
            .zip(on)
            .filter(|(_, o)| *o)
            .map(|(s, _)| s)
            .collect()
    })
}

fn keys_and_strings(v: &Value, keys: &mut BTreeSet<String>, strings: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                keys.insert(k.clone());
                keys_and_strings(x, keys, strings);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys_and_strings(x, keys, strings)),
        Value::String(s) => strings.push(s.clone()),
        _ => {}
    }
}

fn numbers(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Object(m) => m.values().for_each(|x| numbers(x, out)),
        Value::Array(a) => a.iter().for_each(|x| numbers(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        _ => {}
    }
}

fn payload(r: &hearth_core::report::NoisyReport) -> String {
    let object = WellbeingReport::from_report(
        Url::parse("https://group.example/reports/0123456789abcdef0123456789abcdef").unwrap(),
        Url::parse("https://group.example/actor").unwrap(),
        Url::parse("https://hub.example/actor").unwrap(),
        r,
    );
    let create = CreateReport {
        id: Url::parse("https://group.example/activities/create/00ff").unwrap(),
        kind: CreateType::Create,
        actor: Url::parse("https://group.example/actor").unwrap(),
        to: vec![Url::parse("https://hub.example/actor").unwrap()],
        object,
    };
    serde_json::to_string(&vocab::with_context(&create).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn reports_never_carry_anything_that_identifies_a_member(
        members in members(),
        signals in signals(),
        weekly in any::<bool>(),
    ) {
        let settings = SharingSettings {
            enabled: true,
            signals,
            cadence: if weekly { Cadence::Week } else { Cadence::Month },
            level: PrivacyLevel::Standard,
            automatic: false,
        };
        let contributions: Vec<Contribution> = members
            .iter()
            .flat_map(|m| {
                m.checkins.iter().map(move |(w, a)| Contribution {
                    member: m.id,
                    week: IsoWeek::new(2026, *w).unwrap(),
                    answers: a.clone(),
                })
            })
            .collect();
        let truth = TrueCounts::of(&contributions);
        let report = make_report_with_noise(
            "2026-11".parse().unwrap(),
            &settings,
            truth,
            &mut || OFFSET,
        );
        let text = payload(&report);
        let mut json: Value = serde_json::from_str(&text).unwrap();
        // The context is made from the document's own keys and nothing else, so it can carry
        // nothing the rest does not.
        let context = json.as_object_mut().and_then(|o| o.remove("@context")).unwrap();
        prop_assert_eq!(context, vocab::context_for(&json));

        // Only known keys, and strings that are URLs, the period or fixed names.
        let (mut keys, mut strings) = (BTreeSet::new(), Vec::new());
        keys_and_strings(&json, &mut keys, &mut strings);
        for k in &keys {
            prop_assert!(ALLOWED_KEYS.contains(&k.as_str()), "unexpected key {k}");
        }
        for s in &strings {
            let allowed = s.starts_with("https://")
                || s == "2026-11"
                || ["Create", "WellbeingReport", "DiscreteGaussian"].contains(&s.as_str());
            prop_assert!(allowed, "unexpected string {s:?}");
            prop_assert!(!s.contains("T0") && !s.contains("T1") && !s.contains("T2"), "a timestamp: {s}");
        }
        // No names, handles, notes or ids anywhere in the bytes.
        prop_assert!(!text.contains("NOTE-"), "a note leaked");
        for m in &members {
            prop_assert!(!text.contains(&m.username), "a username leaked");
            prop_assert!(!text.contains(&m.display_name), "a name leaked");
            prop_assert!(!text.contains(&m.id.to_string()), "a member id leaked");
        }

        // Every count is its true value plus the noise: no exact count leaves.
        let c = &report.counts;
        prop_assert_eq!(c.respondents(), truth.respondents() + OFFSET);
        for signal in Signal::all() {
            let expected: Option<Vec<i64>> = signals
                .contains(signal)
                .then(|| truth.get(signal).iter().map(|v| v + OFFSET).collect());
            prop_assert_eq!(c.get(signal).map(<[i64]>::to_vec), expected);
        }
        let mut nums = Vec::new();
        numbers(&json, &mut nums);
        for n in nums {
            // Counts were checked above (all ≥ OFFSET); the rest are the version, σ and ρ.
            if n >= OFFSET as f64 {
                continue;
            }
            prop_assert!(
                n == 1.0 || n == report.sigma.as_f64() || n == report.rho.as_f64(),
                "unexpected number {n}"
            );
        }

        // One contribution per member: the exact counts never exceed the number of distinct
        // members, and each member lands in exactly one hours band.
        let distinct: HashMap<i64, ()> = members.iter().map(|m| (m.id, ())).collect();
        prop_assert_eq!(truth.respondents(), distinct.len() as i64);
        for signal in Signal::all() {
            prop_assert!(truth.get(signal).iter().sum::<i64>() <= truth.respondents());
        }
        prop_assert_eq!(truth.get(Signal::HoursBands).iter().sum::<i64>(), truth.respondents());
    }
}
