//! A report on the wire: the `WellbeingReport` object, its counts read by the signal table, the
//! activities that carry it, and the checks a hub makes of what arrives.

use std::collections::BTreeMap;

use activitypub_federation::kinds::activity::{CreateType, DeleteType, UpdateType};
use hearth_core::report::{NoisyCounts, NoisyReport, ReportPeriod, SCHEMA_VERSION};
use hearth_core::sharing::{Rho, Signal, SignalSet};
use hearth_core::signal::RESPONDENTS;
use hearth_db::ReceivedReport;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::FedError;

/// The one object type a report has.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum WellbeingReportType {
    WellbeingReport,
}

/// How the counts were noised.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum NoiseMechanism {
    DiscreteGaussian,
}

/// A group's report for one period: noisy counts and how they were noised, nothing else.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WellbeingReport {
    #[serde(rename = "type")]
    pub kind: WellbeingReportType,
    pub id: Url,
    pub attributed_to: Url,
    pub to: Vec<Url>,
    pub schema_version: u32,
    /// `YYYY-MM` or `YYYY-Www`.
    pub period: String,
    pub noise_mechanism: NoiseMechanism,
    pub noise_sigma: f64,
    /// What this report cost in zero-concentrated DP.
    pub privacy_cost_rho: f64,
    /// `respondents`, then each shared signal under its JSON term.
    #[serde(flatten)]
    pub counts: ReportCounts,
}

/// A report's counts as they travel: `respondents`, then each shared signal under its JSON
/// term ([`Signal::wire`]), a number for a signal of one count and an array in count order for
/// one of several. Values are kept as they arrived; [`WellbeingReport::validate`] checks them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportCounts {
    pub respondents: i64,
    pub signals: BTreeMap<Signal, Vec<i64>>,
}

impl Serialize for ReportCounts {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(Some(1 + self.signals.len()))?;
        m.serialize_entry(RESPONDENTS, &self.respondents)?;
        for (signal, values) in &self.signals {
            match values.as_slice() {
                [one] if signal.width() == 1 => m.serialize_entry(signal.wire(), one)?,
                many => m.serialize_entry(signal.wire(), many)?,
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ReportCounts {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ReportCounts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a report's counts")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ReportCounts, A::Error> {
                use serde::de::Error;
                let mut respondents = None;
                let mut signals = BTreeMap::new();
                let mut seen = SignalSet::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == RESPONDENTS {
                        if respondents.is_some() {
                            return Err(A::Error::duplicate_field(RESPONDENTS));
                        }
                        respondents = Some(map.next_value::<i64>()?);
                        continue;
                    }
                    let Some(signal) = Signal::from_wire(&key) else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    };
                    if seen.contains(signal) {
                        return Err(A::Error::duplicate_field(signal.wire()));
                    }
                    seen.insert(signal);
                    // A null is an absent signal, as an optional field would read it.
                    let values = if signal.width() == 1 {
                        map.next_value::<Option<i64>>()?.map(|v| vec![v])
                    } else {
                        map.next_value::<Option<Vec<i64>>>()?
                    };
                    if let Some(v) = values {
                        signals.insert(signal, v);
                    }
                }
                Ok(ReportCounts {
                    respondents: respondents.ok_or_else(|| A::Error::missing_field(RESPONDENTS))?,
                    signals,
                })
            }
        }
        de.deserialize_map(Visit)
    }
}

impl ReportCounts {
    /// The wire form of a report's noisy counts.
    pub fn of(c: &NoisyCounts) -> Self {
        ReportCounts {
            respondents: c.respondents(),
            signals: c.iter().map(|(s, v)| (s, v.to_vec())).collect(),
        }
    }
}

/// A new report for a hub.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateReport {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: CreateType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: WellbeingReport,
}

/// The same period's report again: the hub replaces what it holds.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateReport {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: WellbeingReport,
}

/// Erase every report from the sending group: the object is the group's reports collection.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteReports {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: DeleteType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: Url,
}

/// Largest |count| a hub accepts: far beyond any group, small enough to sum safely.
const MAX_ABS_COUNT: i64 = 1_000_000;

impl WellbeingReport {
    /// The wire object for a report made on this instance for `hub`.
    pub fn from_report(id: Url, group: Url, hub: Url, r: &NoisyReport) -> Self {
        WellbeingReport {
            kind: WellbeingReportType::WellbeingReport,
            id,
            attributed_to: group,
            to: vec![hub],
            schema_version: SCHEMA_VERSION,
            period: r.period.to_string(),
            noise_mechanism: NoiseMechanism::DiscreteGaussian,
            noise_sigma: r.sigma.as_f64(),
            privacy_cost_rho: r.rho.as_f64(),
            counts: ReportCounts::of(&r.counts),
        }
    }

    /// The signals this report carries.
    pub fn signals(&self) -> SignalSet {
        self.counts.signals.keys().copied().collect()
    }

    /// Checks a received report against the format and the rules a sender must keep, and
    /// turns it into what the hub stores. `today` bounds the period: no report for a period
    /// that has not begun.
    pub fn validate(&self, today: chrono::NaiveDate) -> Result<ReceivedReport, FedError> {
        let bad = |m: String| Err(FedError::Invalid(m));
        if self.schema_version != SCHEMA_VERSION {
            return bad(format!(
                "schemaVersion {} is not supported (this hub reads {SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        let period: ReportPeriod = self
            .period
            .parse()
            .map_err(|e: hearth_core::report::BadPeriod| FedError::Invalid(e.to_string()))?;
        let starts = period
            .weeks()
            .first()
            .map(|w| w.monday())
            .unwrap_or(chrono::NaiveDate::MAX);
        if starts > today {
            return bad(format!("period {period} has not begun"));
        }
        let tenths = (self.noise_sigma * 10.0).round();
        if !(10.0..=10_000.0).contains(&tenths) || (tenths / 10.0 - self.noise_sigma).abs() > 1e-9 {
            return bad(format!(
                "noiseSigma {} is not a σ from 1.0 to 1000.0",
                self.noise_sigma
            ));
        }
        let sigma = hearth_core::noise::Sigma::from_tenths(tenths as u32)
            .map_err(|e| FedError::Invalid(e.to_string()))?;
        let rho = Rho::of_report(self.signals().touched_counts(), sigma);
        if (self.privacy_cost_rho - rho.as_f64()).abs() > 1e-6 {
            return bad(format!(
                "privacyCostRho {} does not match σ and the signals sent ({rho})",
                self.privacy_cost_rho
            ));
        }
        // Any number of respondents, negative included: noise alone protects members, and a
        // rule on the count would bias the sector's sums.
        let mut counts: Vec<(String, i64)> = vec![(RESPONDENTS.into(), self.counts.respondents)];
        for (signal, values) in &self.counts.signals {
            let names = signal.def().counts;
            if values.len() != names.len() {
                return bad(format!(
                    "{} has {} values, not {}",
                    signal.wire(),
                    values.len(),
                    names.len()
                ));
            }
            counts.extend(
                names
                    .iter()
                    .map(|(name, _)| (*name).to_owned())
                    .zip(values.iter().copied()),
            );
        }
        if let Some((name, v)) = counts.iter().find(|(_, v)| v.abs() > MAX_ABS_COUNT) {
            return bad(format!("{name} {v} is out of range"));
        }
        Ok(ReceivedReport {
            object_id: self.id.to_string(),
            period: period.to_string(),
            schema_version: i32::try_from(self.schema_version).unwrap_or(i32::MAX),
            sigma_tenths: i32::try_from(sigma.tenths()).unwrap_or(i32::MAX),
            rho,
            counts,
            segments: Vec::new(),
        })
    }
}

/// The collection of a group's reports, which a `Delete` names to erase them all.
pub fn reports_collection(actor: &Url) -> Url {
    let mut u = actor.clone();
    u.set_path("/reports");
    u.set_query(None);
    u
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::sharing::SharingSettings;

    fn report() -> WellbeingReport {
        let s = SharingSettings::default();
        let r = NoisyReport {
            period: "2026-11".parse().unwrap_or_else(|_| unreachable!()),
            signals: SignalSet::all(),
            sigma: s.sigma(),
            rho: s.rho_per_report(),
            counts: NoisyCounts::new(
                12,
                &[
                    (Signal::LowWellbeing, &[-3]),
                    (Signal::Burnout, &[4]),
                    (Signal::TimePressure, &[7]),
                    (Signal::UnpaidHours, &[9]),
                    (Signal::FundingPaperwork, &[1]),
                    (Signal::HoursBands, &[1, 2, 3, 4, 5]),
                ],
            ),
        };
        let u = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!());
        WellbeingReport::from_report(
            u("https://g.example/reports/1"),
            u("https://g.example/actor"),
            u("https://h.example/actor"),
            &r,
        )
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap_or_default()
    }

    #[test]
    fn a_valid_report_becomes_eleven_counts() {
        let r = report().validate(today()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.counts.len(), 11);
        assert_eq!(r.period, "2026-11");
        assert_eq!(r.sigma_tenths, 65);
        assert!(r.counts.contains(&("low_wellbeing".to_owned(), -3)));
        assert!(r.counts.contains(&("hours_31_plus".to_owned(), 5)));
        // A small group's report counts whatever its noisy number of respondents.
        let mut small = report();
        small.counts.respondents = -2;
        let r = small.validate(today()).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.counts.contains(&("respondents".to_owned(), -2)));
    }

    #[test]
    fn counts_are_read_by_their_terms_from_the_table() {
        let json = serde_json::to_value(report()).unwrap_or_default();
        let mut o = json.as_object().cloned().unwrap_or_default();
        // A null is an absent signal; an unknown term is ignored.
        o.insert("burnout".into(), serde_json::Value::Null);
        o.insert("someFutureTerm".into(), 3.into());
        let back: WellbeingReport = serde_json::from_value(serde_json::Value::Object(o.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!back.signals().contains(Signal::Burnout));
        assert_eq!(back.counts.signals.len(), 5);
        // A yes/no signal sent as an array, or bands as a number, is refused.
        o.insert("burnout".into(), serde_json::json!([1]));
        assert!(
            serde_json::from_value::<WellbeingReport>(serde_json::Value::Object(o.clone()))
                .is_err()
        );
        o.remove("burnout");
        o.insert("hoursBands".into(), 4.into());
        assert!(
            serde_json::from_value::<WellbeingReport>(serde_json::Value::Object(o.clone()))
                .is_err()
        );
        o.remove("hoursBands");
        o.remove("respondents");
        assert!(serde_json::from_value::<WellbeingReport>(serde_json::Value::Object(o)).is_err());
        // A repeated term is refused, as a repeated field is.
        let text = serde_json::to_string(&report()).unwrap_or_default();
        let twice = text.replacen("\"burnout\":4", "\"burnout\":4,\"burnout\":5", 1);
        assert_ne!(twice, text);
        assert!(serde_json::from_str::<WellbeingReport>(&twice).is_err());
    }

    #[test]
    fn invalid_reports_are_refused_with_a_reason() {
        type Change = Box<dyn Fn(&mut WellbeingReport)>;
        let cases: Vec<(&str, Change)> = vec![
            ("schemaVersion", Box::new(|r| r.schema_version = 2)),
            (
                "not a report period",
                Box::new(|r| r.period = "2026-13".into()),
            ),
            ("has not begun", Box::new(|r| r.period = "2027-01".into())),
            ("noiseSigma", Box::new(|r| r.noise_sigma = 6.55)),
            ("noiseSigma", Box::new(|r| r.noise_sigma = 0.5)),
            ("privacyCostRho", Box::new(|r| r.privacy_cost_rho = 0.01)),
            // Dropping a signal changes what ρ must be.
            (
                "privacyCostRho",
                Box::new(|r| {
                    r.counts.signals.remove(&Signal::Burnout);
                }),
            ),
            (
                "hoursBands",
                Box::new(|r| {
                    r.counts.signals.insert(Signal::HoursBands, vec![1, 2, 3]);
                }),
            ),
            (
                "out of range",
                Box::new(|r| {
                    r.counts
                        .signals
                        .insert(Signal::TimePressure, vec![2_000_000]);
                }),
            ),
        ];
        for (needle, change) in cases {
            let mut r = report();
            change(&mut r);
            match r.validate(today()) {
                Err(FedError::Invalid(m)) => assert!(m.contains(needle), "{needle}: {m}"),
                other => panic!("{needle}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_wire_format_round_trips() {
        let json = serde_json::to_value(report()).unwrap_or_default();
        assert_eq!(json["type"], "WellbeingReport");
        assert_eq!(json["noiseMechanism"], "DiscreteGaussian");
        assert_eq!(json["hoursBands"], serde_json::json!([1, 2, 3, 4, 5]));
        let back: WellbeingReport = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report());
        assert_eq!(back.signals(), SignalSet::all());
    }
}
