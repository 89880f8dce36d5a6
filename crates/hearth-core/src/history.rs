//! A plain-language reading of one person's own history. Never a diagnosis: it compares a person
//! with their own usual, and says so.

use crate::checkin::CheckinAnswers;
use crate::period::IsoWeek;
use crate::scoring::{WHO5_MEANINGFUL_CHANGE, who5_percentage};

/// How many earlier weeks make "your usual".
pub const USUAL_WINDOW: usize = 8;
/// Fewer earlier weeks than this and there is no usual to compare with yet.
pub const MIN_WEEKS_FOR_USUAL: usize = 3;

/// How the latest week compares with the person's usual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    NotEnoughHistory,
    LowerThanUsual,
    AboutUsual,
    HigherThanUsual,
}

/// The reading shown on a person's history page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub wellbeing: Comparison,
    /// WHO-5 percentage of the latest week, and the usual (median) it was compared with.
    pub latest_percentage: Option<u8>,
    pub usual_percentage: Option<u8>,
    /// Burnout level (1–5) of the latest week compared with the one before.
    pub burnout_change: Option<i8>,
    pub sentences: Vec<String>,
}

fn median(values: &mut [u8]) -> u8 {
    values.sort_unstable();
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        // Round half up; integer maths keeps the reading deterministic.
        (u16::from(values[n / 2 - 1]) + u16::from(values[n / 2])).div_ceil(2) as u8
    }
}

/// Reads `weeks` (any order; one entry per week) and describes the latest against the usual.
pub fn read(weeks: &[(IsoWeek, CheckinAnswers)]) -> Reading {
    let mut sorted: Vec<_> = weeks.iter().collect();
    sorted.sort_by_key(|(w, _)| *w);
    let Some(((_, latest), earlier)) = sorted.split_last() else {
        return Reading {
            wellbeing: Comparison::NotEnoughHistory,
            latest_percentage: None,
            usual_percentage: None,
            burnout_change: None,
            sentences: vec![
                "You have no check-ins yet. Your history starts with your first one.".into(),
            ],
        };
    };
    let latest_pct = who5_percentage(latest);
    let mut sentences = Vec::new();
    let recent: Vec<_> = earlier.iter().rev().take(USUAL_WINDOW).collect();
    let (wellbeing, usual) = if recent.len() < MIN_WEEKS_FOR_USUAL {
        sentences.push(format!(
            "Your wellbeing score this time was {latest_pct} out of 100. After {MIN_WEEKS_FOR_USUAL} more check-ins we can compare each week with your usual."
        ));
        (Comparison::NotEnoughHistory, None)
    } else {
        let mut pcts: Vec<u8> = recent.iter().map(|(_, a)| who5_percentage(a)).collect();
        let usual = median(&mut pcts);
        let diff = i16::from(latest_pct) - i16::from(usual);
        let cmp = if diff <= -WHO5_MEANINGFUL_CHANGE {
            Comparison::LowerThanUsual
        } else if diff >= WHO5_MEANINGFUL_CHANGE {
            Comparison::HigherThanUsual
        } else {
            Comparison::AboutUsual
        };
        sentences.push(match cmp {
            Comparison::LowerThanUsual => format!(
                "Your wellbeing score this time ({latest_pct}) is lower than your usual ({usual})."
            ),
            Comparison::HigherThanUsual => format!(
                "Your wellbeing score this time ({latest_pct}) is higher than your usual ({usual})."
            ),
            _ => format!(
                "Your wellbeing score this time ({latest_pct}) is about your usual ({usual})."
            ),
        });
        (cmp, Some(usual))
    };
    let burnout_change = earlier.last().map(|(_, prev)| {
        let d = latest.burnout() as i8 - prev.burnout() as i8;
        sentences.push(match d {
            d if d > 0 => "Your burnout rating went up since your last check-in.".to_owned(),
            d if d < 0 => "Your burnout rating went down since your last check-in.".to_owned(),
            _ => "Your burnout rating is the same as at your last check-in.".to_owned(),
        });
        d
    });
    sentences.push(
        "This compares you only with yourself. It is not a diagnosis, and nobody watches these answers."
            .to_owned(),
    );
    Reading {
        wellbeing,
        latest_percentage: Some(latest_pct),
        usual_percentage: usual,
        burnout_change,
        sentences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(n: u32) -> IsoWeek {
        IsoWeek::new(2026, n).unwrap()
    }

    fn with_raw(raw: u8, burnout: u8) -> CheckinAnswers {
        // Spread a raw WHO-5 sum over the five items.
        let mut items = [0u8; 5];
        let mut left = raw;
        for item in &mut items {
            *item = left.min(5);
            left -= *item;
        }
        CheckinAnswers::new(items, burnout, 0, 0, 0, 0, None).unwrap()
    }

    #[test]
    fn readings_compare_the_latest_week_with_the_median_of_earlier_ones() {
        // (earlier raw scores, latest raw score, expected)
        let table: &[(&[u8], u8, Comparison)] = &[
            (&[], 15, Comparison::NotEnoughHistory),
            (&[15, 15], 5, Comparison::NotEnoughHistory),
            (&[15, 16, 15], 12, Comparison::LowerThanUsual), // 48 vs 60
            (&[15, 16, 15], 14, Comparison::AboutUsual),     // 56 vs 60
            (&[15, 16, 15], 18, Comparison::HigherThanUsual), // 72 vs 60
            (
                &[5, 5, 5, 5, 5, 5, 5, 5, 20, 20, 20],
                12,
                Comparison::HigherThanUsual,
            ),
        ];
        for (earlier, latest, expected) in table {
            let mut weeks: Vec<_> = earlier
                .iter()
                .enumerate()
                .map(|(i, r)| (week(i as u32 + 1), with_raw(*r, 2)))
                .collect();
            weeks.push((week(30), with_raw(*latest, 2)));
            weeks.reverse(); // order must not matter
            assert_eq!(read(&weeks).wellbeing, *expected, "{earlier:?} -> {latest}");
        }
    }

    #[test]
    fn only_the_last_eight_earlier_weeks_count_as_usual() {
        // Old high weeks fall out of the window; the last eight are low.
        let mut weeks: Vec<_> = (1..=4).map(|i| (week(i), with_raw(25, 1))).collect();
        weeks.extend((5..=12).map(|i| (week(i), with_raw(5, 1))));
        weeks.push((week(13), with_raw(5, 1)));
        let r = read(&weeks);
        assert_eq!(r.usual_percentage, Some(20));
        assert_eq!(r.wellbeing, Comparison::AboutUsual);
    }

    #[test]
    fn readings_never_use_diagnostic_words() {
        let weeks = vec![
            (week(1), with_raw(20, 1)),
            (week(2), with_raw(20, 1)),
            (week(3), with_raw(20, 1)),
            (week(4), with_raw(2, 5)),
        ];
        let r = read(&weeks);
        assert_eq!(r.wellbeing, Comparison::LowerThanUsual);
        assert_eq!(r.burnout_change, Some(4));
        let text = r.sentences.join(" ").to_lowercase();
        for word in ["depress", "disorder", "diagnos", "illness", "symptom"] {
            if word == "diagnos" {
                assert!(text.contains("not a diagnosis"));
                continue;
            }
            assert!(!text.contains(word), "{word} in {text}");
        }
    }

    #[test]
    fn median_of_an_even_count_rounds_half_up() {
        assert_eq!(median(&mut [40, 44]), 42);
        assert_eq!(median(&mut [40, 41]), 41);
    }
}
