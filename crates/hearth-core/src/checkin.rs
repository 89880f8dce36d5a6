//! The weekly check-in: raw form input in, validated answers (or per-field errors) out.

use std::collections::BTreeMap;

use crate::instruments::{MAX_HOURS, MAX_NOTE_CHARS};

/// What a person typed, before validation. Every field is kept as text so a form that fails
/// validation can be shown again exactly as it was filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct CheckinInput {
    #[serde(default)]
    pub who5_1: String,
    #[serde(default)]
    pub who5_2: String,
    #[serde(default)]
    pub who5_3: String,
    #[serde(default)]
    pub who5_4: String,
    #[serde(default)]
    pub who5_5: String,
    #[serde(default)]
    pub burnout: String,
    #[serde(default)]
    pub paid_hours: String,
    #[serde(default)]
    pub unpaid_hours: String,
    #[serde(default)]
    pub funding_hours: String,
    #[serde(default)]
    pub time_pressure: String,
    #[serde(default)]
    pub note: String,
}

/// Field name → a message a person can act on. Ordered so pages list errors in form order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
    pub fn insert(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }
    /// Errors in the order the fields appear on the form.
    pub fn in_form_order(&self) -> Vec<(&'static str, &str)> {
        FIELD_ORDER
            .iter()
            .filter_map(|f| self.0.get(f).map(|m| (*f, m.as_str())))
            .collect()
    }
}

const FIELD_ORDER: [&str; 11] = [
    "who5_1",
    "who5_2",
    "who5_3",
    "who5_4",
    "who5_5",
    "burnout",
    "paid_hours",
    "unpaid_hours",
    "funding_hours",
    "time_pressure",
    "note",
];

/// A complete, valid check-in. Fields are private so only [`CheckinInput::parse`] and
/// [`CheckinAnswers::new`] can make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinAnswers {
    who5: [u8; 5],
    burnout: u8,
    paid_hours: u8,
    unpaid_hours: u8,
    funding_hours: u8,
    time_pressure: u8,
    note: Option<String>,
}

/// Stored answers that no longer pass validation (a corrupted or hand-edited row). It names
/// the rules that fail, never the answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored check-in is out of range: {0}")]
pub struct InvalidStoredCheckin(pub String);

impl CheckinAnswers {
    /// Builds answers from stored values, re-checking every range.
    pub fn new(
        who5: [u8; 5],
        burnout: u8,
        paid_hours: u8,
        unpaid_hours: u8,
        funding_hours: u8,
        time_pressure: u8,
        note: Option<String>,
    ) -> Result<Self, InvalidStoredCheckin> {
        // Which rules fail, never the values: the error reaches logs.
        let failed: Vec<&str> = [
            (who5.iter().all(|v| *v <= 5), "a WHO-5 item above 5"),
            ((1..=5).contains(&burnout), "burnout outside 1 to 5"),
            (
                paid_hours <= MAX_HOURS && unpaid_hours <= MAX_HOURS,
                "hours above the most allowed",
            ),
            (
                u16::from(funding_hours) <= u16::from(paid_hours) + u16::from(unpaid_hours),
                "funding hours above paid and unpaid hours together",
            ),
            (time_pressure <= 4, "time pressure above 4"),
            (
                note.as_ref()
                    .is_none_or(|n| n.chars().count() <= MAX_NOTE_CHARS),
                "a note longer than allowed",
            ),
        ]
        .into_iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, what)| what)
        .collect();
        if failed.is_empty() {
            Ok(Self {
                who5,
                burnout,
                paid_hours,
                unpaid_hours,
                funding_hours,
                time_pressure,
                note,
            })
        } else {
            Err(InvalidStoredCheckin(failed.join(", ")))
        }
    }
    pub fn who5(&self) -> [u8; 5] {
        self.who5
    }
    pub fn burnout(&self) -> u8 {
        self.burnout
    }
    pub fn paid_hours(&self) -> u8 {
        self.paid_hours
    }
    pub fn unpaid_hours(&self) -> u8 {
        self.unpaid_hours
    }
    pub fn funding_hours(&self) -> u8 {
        self.funding_hours
    }
    pub fn time_pressure(&self) -> u8 {
        self.time_pressure
    }
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
    pub fn total_hours(&self) -> u16 {
        u16::from(self.paid_hours) + u16::from(self.unpaid_hours)
    }

    /// The same answers as form input, for editing an existing check-in.
    pub fn to_input(&self) -> CheckinInput {
        CheckinInput {
            who5_1: self.who5[0].to_string(),
            who5_2: self.who5[1].to_string(),
            who5_3: self.who5[2].to_string(),
            who5_4: self.who5[3].to_string(),
            who5_5: self.who5[4].to_string(),
            burnout: self.burnout.to_string(),
            paid_hours: self.paid_hours.to_string(),
            unpaid_hours: self.unpaid_hours.to_string(),
            funding_hours: self.funding_hours.to_string(),
            time_pressure: self.time_pressure.to_string(),
            note: self.note.clone().unwrap_or_default(),
        }
    }
}

fn choice(raw: &str, range: std::ops::RangeInclusive<u8>) -> Option<u8> {
    raw.trim().parse::<u8>().ok().filter(|v| range.contains(v))
}

fn hours(errors: &mut FieldErrors, field: &'static str, raw: &str, what: &str) -> Option<u8> {
    let raw = raw.trim();
    if raw.is_empty() {
        errors.insert(field, format!("Enter your {what}, or 0 if none"));
        return None;
    }
    match raw.parse::<u32>() {
        Ok(v) if v <= u32::from(MAX_HOURS) => u8::try_from(v).ok(),
        Ok(_) => {
            errors.insert(field, format!("{what} must be between 0 and {MAX_HOURS}"));
            None
        }
        Err(_) => {
            errors.insert(
                field,
                format!("{what} must be a whole number of hours, like 4"),
            );
            None
        }
    }
}

impl CheckinInput {
    /// Validates every field, collecting all problems at once so a person fixes them in one go.
    pub fn parse(&self) -> Result<CheckinAnswers, FieldErrors> {
        let mut errors = FieldErrors::default();
        let raw_who5 = [
            (&self.who5_1, "who5_1"),
            (&self.who5_2, "who5_2"),
            (&self.who5_3, "who5_3"),
            (&self.who5_4, "who5_4"),
            (&self.who5_5, "who5_5"),
        ];
        let mut who5 = [0u8; 5];
        for (i, (raw, field)) in raw_who5.iter().enumerate() {
            match choice(raw, 0..=5) {
                Some(v) => who5[i] = v,
                None => errors.insert(
                    field,
                    format!(
                        "Choose how often: \"{}\"",
                        crate::instruments::WHO5_ITEMS[i]
                    ),
                ),
            }
        }
        let burnout = choice(&self.burnout, 1..=5);
        if burnout.is_none() {
            errors.insert("burnout", "Choose the statement closest to how you feel");
        }
        let paid = hours(&mut errors, "paid_hours", &self.paid_hours, "Paid hours");
        let unpaid = hours(
            &mut errors,
            "unpaid_hours",
            &self.unpaid_hours,
            "Unpaid hours",
        );
        let funding = hours(
            &mut errors,
            "funding_hours",
            &self.funding_hours,
            "Funding-paperwork hours",
        );
        if let (Some(p), Some(u), Some(f)) = (paid, unpaid, funding)
            && u16::from(f) > u16::from(p) + u16::from(u)
        {
            errors.insert(
                "funding_hours",
                format!(
                    "Funding-paperwork hours ({f}) cannot be more than your paid and unpaid hours together ({})",
                    u16::from(p) + u16::from(u)
                ),
            );
        }
        let time_pressure = choice(&self.time_pressure, 0..=4);
        if time_pressure.is_none() {
            errors.insert("time_pressure", "Choose how often you ran out of time");
        }
        let note = self.note.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            errors.insert(
                "note",
                format!("Your note is too long: keep it under {MAX_NOTE_CHARS} characters"),
            );
        }
        match (burnout, paid, unpaid, funding, time_pressure) {
            (
                Some(burnout),
                Some(paid_hours),
                Some(unpaid_hours),
                Some(funding_hours),
                Some(tp),
            ) if errors.is_empty() => Ok(CheckinAnswers {
                who5,
                burnout,
                paid_hours,
                unpaid_hours,
                funding_hours,
                time_pressure: tp,
                note: (!note.is_empty()).then(|| note.to_owned()),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stored row that fails says which rule, never the answers: the error reaches logs.
    #[test]
    fn a_failing_stored_row_names_the_rule_and_not_the_values() {
        let e = CheckinAnswers::new([4, 3, 2, 1, 0], 5, 0, 0, 37, 3, Some("private".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("funding hours above paid and unpaid"), "{e}");
        assert!(!e.contains("37") && !e.contains("[4"), "{e}");
        assert!(!e.contains("private"));
    }

    /// Valid answers for tests elsewhere in the crate.
    pub(crate) fn answers(who5: [u8; 5], burnout: u8, time_pressure: u8) -> CheckinAnswers {
        CheckinAnswers::new(who5, burnout, 10, 5, 2, time_pressure, None).unwrap()
    }

    fn valid_input() -> CheckinInput {
        CheckinInput {
            who5_1: "3".into(),
            who5_2: "4".into(),
            who5_3: "2".into(),
            who5_4: "3".into(),
            who5_5: "5".into(),
            burnout: "2".into(),
            paid_hours: "10".into(),
            unpaid_hours: "6".into(),
            funding_hours: "4".into(),
            time_pressure: "3".into(),
            note: "  tired but ok  ".into(),
        }
    }

    #[test]
    fn valid_input_parses_and_trims_the_note() {
        let a = valid_input().parse().unwrap();
        assert_eq!(a.who5(), [3, 4, 2, 3, 5]);
        assert_eq!(a.burnout(), 2);
        assert_eq!(a.total_hours(), 16);
        assert_eq!(a.note(), Some("tired but ok"));
        assert_eq!(a.to_input().parse().unwrap(), a);
    }

    #[test]
    fn blank_note_is_no_note() {
        let mut i = valid_input();
        i.note = "   ".into();
        assert_eq!(i.parse().unwrap().note(), None);
    }

    #[test]
    fn each_bad_field_gets_its_own_message() {
        type Case = (&'static str, fn(&mut CheckinInput), &'static str);
        let table: &[Case] = &[
            ("who5_1", |i| i.who5_1.clear(), "Choose how often"),
            ("who5_3", |i| i.who5_3 = "6".into(), "Choose how often"),
            ("who5_5", |i| i.who5_5 = "-1".into(), "Choose how often"),
            ("burnout", |i| i.burnout = "0".into(), "closest"),
            ("burnout", |i| i.burnout = "x".into(), "closest"),
            (
                "paid_hours",
                |i| i.paid_hours = "101".into(),
                "between 0 and 100",
            ),
            ("paid_hours", |i| i.paid_hours = "".into(), "or 0 if none"),
            (
                "unpaid_hours",
                |i| i.unpaid_hours = "2.5".into(),
                "whole number",
            ),
            (
                "unpaid_hours",
                |i| i.unpaid_hours = "-3".into(),
                "whole number",
            ),
            (
                "funding_hours",
                |i| i.funding_hours = "17".into(),
                "cannot be more than",
            ),
            (
                "time_pressure",
                |i| i.time_pressure = "5".into(),
                "ran out of time",
            ),
            ("note", |i| i.note = "x".repeat(2001), "too long"),
        ];
        for (field, spoil, needle) in table {
            let mut input = valid_input();
            spoil(&mut input);
            let errors = input.parse().unwrap_err();
            let msg = errors
                .get(field)
                .unwrap_or_else(|| panic!("no error for {field}"));
            assert!(msg.contains(needle), "{field}: {msg}");
            assert_eq!(errors.in_form_order().len(), 1, "{field}: {errors:?}");
        }
    }

    #[test]
    fn an_empty_form_reports_every_required_field() {
        let errors = CheckinInput::default().parse().unwrap_err();
        let fields: Vec<_> = errors.in_form_order().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, &FIELD_ORDER[..10]);
    }

    #[test]
    fn funding_hours_may_equal_total_hours() {
        let mut i = valid_input();
        i.funding_hours = "16".into();
        assert!(i.parse().is_ok());
    }

    #[test]
    fn stored_values_are_rechecked() {
        assert!(CheckinAnswers::new([6, 0, 0, 0, 0], 1, 0, 0, 0, 0, None).is_err());
        assert!(CheckinAnswers::new([0; 5], 0, 0, 0, 0, 0, None).is_err());
        assert!(CheckinAnswers::new([0; 5], 1, 1, 1, 3, 0, None).is_err());
        assert!(CheckinAnswers::new([0; 5], 1, 1, 1, 2, 4, None).is_ok());
    }
}
