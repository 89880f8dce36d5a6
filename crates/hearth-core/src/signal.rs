//! The signals a group may share with a hub, in one table.
//!
//! Each entry says what a signal is called on the wire, in the database and to people, how one
//! member's answers count towards it, and whether the hub shows it as a share of respondents.
//! Reports, their validation at a hub, the rollups, the pages, exports and readings all read
//! this table, so a new signal is one entry here (and its variant) plus a migration where a
//! table changes shape.
//!
//! Every report also carries the number of respondents, which is not a signal: the hub needs it
//! for every share.

use crate::checkin::CheckinAnswers;
use crate::scoring::{
    WellbeingBand, is_burnout, is_time_pressure, wellbeing_band, who5_percentage,
};

/// A signal a group may choose to share. The variants are in table order ([`TABLE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    LowWellbeing,
    Burnout,
    TimePressure,
    UnpaidHours,
    FundingPaperwork,
    HoursBands,
}

/// How the hub shows a yes/no signal: as the share of respondents counted by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareText {
    /// "burnout share", in a sentence.
    pub label: &'static str,
    /// "Burnout", as a heading.
    pub title: &'static str,
}

/// One signal's entry in the table.
#[derive(Debug, Clone, Copy)]
pub struct SignalDef {
    pub signal: Signal,
    /// In settings, stored counts, rollups and exports: `low_wellbeing`.
    pub slug: &'static str,
    /// The report's JSON term: `lowWellbeing`. A signal with one count is sent as a number,
    /// one with several as an array in count order.
    pub wire: &'static str,
    /// On the sharing page: "Low wellbeing".
    pub label: &'static str,
    /// What is counted, in plain words.
    pub counts_what: &'static str,
    /// The counts it carries, as (stored name, label): one for a yes/no signal.
    pub counts: &'static [(&'static str, &'static str)],
    /// Which of its counts one member's answers add 1 to, if any. Never more than one, so a
    /// member touches at most one count per signal (the privacy cost relies on it).
    pub tally: fn(&CheckinAnswers) -> Option<usize>,
    /// Shown by the hub as a share of respondents (yes/no signals only).
    pub share: Option<ShareText>,
}

/// The stored name of the respondents count, which every report carries.
pub const RESPONDENTS: &str = "respondents";

/// Hours bands for the histogram, by total hours (paid + unpaid) in the week.
pub const HOURS_BANDS: [(u16, u16, &str); 5] = [
    (0, 0, "0"),
    (1, 7, "1–7"),
    (8, 15, "8–15"),
    (16, 30, "16–30"),
    (31, u16::MAX, "31+"),
];

/// Heavy funding-paperwork load: a fifth or more of the week's hours, when there were hours.
pub fn is_heavy_funding_load(a: &CheckinAnswers) -> bool {
    let total = a.total_hours();
    total > 0 && u16::from(a.funding_hours()) * 5 >= total
}

/// The index in [`HOURS_BANDS`] of a check-in's total hours.
pub fn hours_band(a: &CheckinAnswers) -> usize {
    let total = a.total_hours();
    HOURS_BANDS
        .iter()
        .position(|(lo, hi, _)| (*lo..=*hi).contains(&total))
        .unwrap_or(HOURS_BANDS.len() - 1)
}

fn yes(b: bool) -> Option<usize> {
    b.then_some(0)
}

/// Every signal, in the order reports carry them.
pub const TABLE: [SignalDef; 6] = [
    SignalDef {
        signal: Signal::LowWellbeing,
        slug: "low_wellbeing",
        wire: "lowWellbeing",
        label: "Low wellbeing",
        counts_what: "how many had a WHO-5 score of 50% or less",
        counts: &[("low_wellbeing", "Low wellbeing")],
        tally: |a| yes(wellbeing_band(who5_percentage(a)) != WellbeingBand::Other),
        share: Some(ShareText {
            label: "low wellbeing share",
            title: "Low wellbeing",
        }),
    },
    SignalDef {
        signal: Signal::Burnout,
        slug: "burnout",
        wire: "burnout",
        label: "Burnout",
        counts_what: "how many rated their burnout 3 or more",
        counts: &[("burnout", "Burnout")],
        tally: |a| yes(is_burnout(a)),
        share: Some(ShareText {
            label: "burnout share",
            title: "Burnout",
        }),
    },
    SignalDef {
        signal: Signal::TimePressure,
        slug: "time_pressure",
        wire: "timePressure",
        label: "Time pressure",
        counts_what: "how many often or always lacked time to finish their tasks",
        counts: &[("time_pressure", "Time pressure")],
        tally: |a| yes(is_time_pressure(a)),
        share: Some(ShareText {
            label: "time pressure share",
            title: "Time pressure",
        }),
    },
    SignalDef {
        signal: Signal::UnpaidHours,
        slug: "unpaid_hours",
        wire: "unpaidHours",
        label: "Any unpaid hours",
        counts_what: "how many did any unpaid hours",
        counts: &[("unpaid_hours", "Any unpaid hours")],
        tally: |a| yes(a.unpaid_hours() > 0),
        share: Some(ShareText {
            label: "share doing unpaid hours",
            title: "Unpaid hours",
        }),
    },
    SignalDef {
        signal: Signal::FundingPaperwork,
        slug: "funding_paperwork",
        wire: "fundingPaperwork",
        label: "Heavy funding paperwork",
        counts_what: "how many spent a fifth or more of their hours on funding applications and reports",
        counts: &[("funding_paperwork", "Heavy funding paperwork")],
        tally: |a| yes(is_heavy_funding_load(a)),
        share: Some(ShareText {
            label: "heavy funding paperwork share",
            title: "Heavy funding paperwork",
        }),
    },
    SignalDef {
        signal: Signal::HoursBands,
        slug: "hours_bands",
        wire: "hoursBands",
        label: "Hours bands",
        counts_what: "how many worked 0, 1–7, 8–15, 16–30 or 31+ hours (one band each)",
        counts: &[
            ("hours_0", "0"),
            ("hours_1_7", "1–7"),
            ("hours_8_15", "8–15"),
            ("hours_16_30", "16–30"),
            ("hours_31_plus", "31+"),
        ],
        tally: |a| Some(hours_band(a)),
        share: None,
    },
];

/// How many numbers a report can carry: respondents, then every signal's counts.
pub const N_COUNTS: usize = {
    let mut n = 1;
    let mut i = 0;
    while i < TABLE.len() {
        n += TABLE[i].counts.len();
        i += 1;
    }
    n
};

impl Signal {
    pub fn def(self) -> &'static SignalDef {
        &TABLE[self as usize]
    }
    /// Every signal, in table order.
    pub fn all() -> impl Iterator<Item = Signal> {
        TABLE.iter().map(|d| d.signal)
    }
    pub fn slug(self) -> &'static str {
        self.def().slug
    }
    pub fn wire(self) -> &'static str {
        self.def().wire
    }
    pub fn label(self) -> &'static str {
        self.def().label
    }
    pub fn counts_what(self) -> &'static str {
        self.def().counts_what
    }
    /// The signal whose slug is `s`.
    pub fn parse(s: &str) -> Option<Signal> {
        TABLE.iter().find(|d| d.slug == s).map(|d| d.signal)
    }
    /// The signal whose JSON term is `s`.
    pub fn from_wire(s: &str) -> Option<Signal> {
        TABLE.iter().find(|d| d.wire == s).map(|d| d.signal)
    }
    /// How many counts it carries.
    pub fn width(self) -> usize {
        self.def().counts.len()
    }
    /// Where its counts start in [`Counts`].
    fn offset(self) -> usize {
        1 + TABLE[..self as usize]
            .iter()
            .map(|d| d.counts.len())
            .sum::<usize>()
    }
    /// The share the hub shows for it, if any.
    pub fn measure(self) -> Option<Measure> {
        self.def().share.map(|_| Measure(self))
    }
    /// "Hours bands (0, 1–7, 8–15, 16–30, 31+)" for a signal of several counts, else its label.
    pub fn figure_label(self) -> String {
        let d = self.def();
        if d.counts.len() == 1 {
            d.label.to_owned()
        } else {
            let parts: Vec<&str> = d.counts.iter().map(|(_, l)| *l).collect();
            format!("{} ({})", d.label, parts.join(", "))
        }
    }
    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A share of respondents the hub follows: a yes/no signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Measure(Signal);

impl Measure {
    /// Every measure, in table order.
    pub fn all() -> impl Iterator<Item = Measure> {
        Signal::all().filter_map(Signal::measure)
    }
    pub fn signal(self) -> Signal {
        self.0
    }
    /// The measure's count in stored reports and rollups, and its key in exports.
    pub fn slug(self) -> &'static str {
        self.0.slug()
    }
    pub fn parse(s: &str) -> Option<Measure> {
        Signal::parse(s).and_then(Signal::measure)
    }
    fn text(self) -> ShareText {
        self.0.def().share.unwrap_or(ShareText {
            label: self.0.def().label,
            title: self.0.def().label,
        })
    }
    /// "burnout share" in a sentence.
    pub fn label(self) -> &'static str {
        self.text().label
    }
    pub fn title(self) -> &'static str {
        self.text().title
    }
}

/// Stored names of every count, respondents first, in [`Counts`] order.
pub fn count_names() -> impl Iterator<Item = &'static str> {
    std::iter::once(RESPONDENTS).chain(TABLE.iter().flat_map(|d| d.counts.iter().map(|c| c.0)))
}

/// One number for every count of the table, respondents first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts([i64; N_COUNTS]);

impl Default for Counts {
    fn default() -> Self {
        Counts([0; N_COUNTS])
    }
}

impl Counts {
    pub fn respondents(&self) -> i64 {
        self.0[0]
    }
    pub fn set_respondents(&mut self, n: i64) {
        self.0[0] = n;
    }
    /// A signal's counts, in its count order.
    pub fn of(&self, s: Signal) -> &[i64] {
        let at = s.offset();
        &self.0[at..at + s.width()]
    }
    pub fn of_mut(&mut self, s: Signal) -> &mut [i64] {
        let at = s.offset();
        &mut self.0[at..at + s.width()]
    }
    /// Adds one member's answers: 1 to respondents and to each signal's count they fall in.
    pub fn tally(&mut self, a: &CheckinAnswers) {
        self.0[0] += 1;
        for d in &TABLE {
            if let Some(i) = (d.tally)(a).filter(|i| *i < d.counts.len()) {
                self.0[d.signal.offset() + i] += 1;
            }
        }
    }
    /// Every count with its stored name, respondents first.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, i64)> + '_ {
        count_names().zip(self.0.iter().copied())
    }
    /// Every number, in [`count_names`] order.
    pub fn as_slice(&self) -> &[i64] {
        &self.0
    }
    pub fn map(self, f: impl FnMut(i64) -> i64) -> Counts {
        Counts(self.0.map(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_variant_order_with_unique_names() {
        for (i, d) in TABLE.iter().enumerate() {
            assert_eq!(d.signal as usize, i, "{}", d.slug);
            assert!(!d.counts.is_empty(), "{}", d.slug);
            assert_eq!(Signal::parse(d.slug), Some(d.signal));
            assert_eq!(Signal::from_wire(d.wire), Some(d.signal));
            // A share is a yes/no signal: one count.
            assert!(d.share.is_none() || d.counts.len() == 1, "{}", d.slug);
        }
        let names: Vec<&str> = count_names().collect();
        assert_eq!(names.len(), N_COUNTS);
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), N_COUNTS);
        assert_eq!(names[0], RESPONDENTS);
        assert_eq!(Signal::all().count(), TABLE.len());
        assert!(TABLE.len() < 32, "SignalSet keeps a bit per signal");
    }

    #[test]
    fn a_member_counts_once_in_respondents_and_at_most_once_per_signal() {
        let low_burnt = crate::checkin::tests::answers([1, 1, 1, 1, 1], 4, 4);
        let mut c = Counts::default();
        c.tally(&low_burnt);
        assert_eq!(c.respondents(), 1);
        for s in Signal::all() {
            assert!(c.of(s).iter().sum::<i64>() <= 1, "{s:?}");
        }
        assert_eq!(c.of(Signal::HoursBands).iter().sum::<i64>(), 1);
        assert_eq!(c.of(Signal::Burnout), &[1]);
        assert_eq!(c.of(Signal::LowWellbeing), &[1]);
    }

    #[test]
    fn measures_are_the_yes_no_signals() {
        let m: Vec<&str> = Measure::all().map(Measure::slug).collect();
        assert_eq!(
            m,
            [
                "low_wellbeing",
                "burnout",
                "time_pressure",
                "unpaid_hours",
                "funding_paperwork"
            ]
        );
        assert_eq!(Measure::parse("hours_bands"), None);
        assert_eq!(
            Signal::HoursBands.figure_label(),
            "Hours bands (0, 1–7, 8–15, 16–30, 31+)"
        );
        assert_eq!(Signal::Burnout.figure_label(), "Burnout");
    }

    #[test]
    fn funding_load_and_hours_bands_follow_their_cut_offs() {
        let with = |paid, unpaid, funding| {
            CheckinAnswers::new([3; 5], 2, paid, unpaid, funding, 1, None).unwrap()
        };
        assert!(!is_heavy_funding_load(&with(0, 0, 0)));
        assert!(is_heavy_funding_load(&with(10, 0, 2)));
        assert!(!is_heavy_funding_load(&with(10, 1, 2)));
        let bands: Vec<usize> = [
            (0, 0),
            (1, 0),
            (7, 0),
            (4, 4),
            (15, 0),
            (16, 0),
            (20, 10),
            (30, 1),
        ]
        .iter()
        .map(|(p, u)| hours_band(&with(*p, *u, 0)))
        .collect();
        assert_eq!(bands, vec![0, 1, 1, 2, 2, 3, 3, 4]);
    }
}
