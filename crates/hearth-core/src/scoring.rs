//! Scores, bands and signposting triggers, as PRODUCT.md defines them.

use crate::checkin::CheckinAnswers;

/// WHO-5 raw sum 0–25.
pub fn who5_raw(answers: &CheckinAnswers) -> u8 {
    answers.who5().iter().sum()
}

/// WHO-5 percentage 0–100 (raw × 4).
pub fn who5_percentage(answers: &CheckinAnswers) -> u8 {
    who5_raw(answers) * 4
}

/// Wellbeing bands from the WHO-5 percentage. Named for what they are, never as a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WellbeingBand {
    /// ≤ 28 %: shows the signposting panel.
    VeryLow,
    /// ≤ 50 %.
    Low,
    Other,
}

pub fn wellbeing_band(percentage: u8) -> WellbeingBand {
    match percentage {
        0..=28 => WellbeingBand::VeryLow,
        29..=50 => WellbeingBand::Low,
        _ => WellbeingBand::Other,
    }
}

impl WellbeingBand {
    /// Plain, non-diagnostic words for the band.
    pub fn describe(self) -> &'static str {
        match self {
            WellbeingBand::VeryLow => "very low wellbeing",
            WellbeingBand::Low => "low wellbeing",
            WellbeingBand::Other => "wellbeing above the low range",
        }
    }
}

/// WHO-5 percentage change that counts as meaningful.
pub const WHO5_MEANINGFUL_CHANGE: i16 = 10;

/// Burnout single item ≥ 3 counts as burnout.
pub fn is_burnout(answers: &CheckinAnswers) -> bool {
    answers.burnout() >= 3
}

/// Time pressure "Often" (3) or "Always" (4).
pub fn is_time_pressure(answers: &CheckinAnswers) -> bool {
    answers.time_pressure() >= 3
}

/// Why the signposting panel is shown after a check-in, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignpostReason {
    VeryLowWellbeing,
    WellbeingItemAtZero,
    CompleteBurnout,
}

/// The signposting triggers: WHO-5 ≤ 28 %, any WHO-5 item at 0, or burnout 5.
pub fn signpost_reasons(answers: &CheckinAnswers) -> Vec<SignpostReason> {
    let mut reasons = Vec::new();
    if who5_percentage(answers) <= 28 {
        reasons.push(SignpostReason::VeryLowWellbeing);
    }
    if answers.who5().contains(&0) {
        reasons.push(SignpostReason::WellbeingItemAtZero);
    }
    if answers.burnout() == 5 {
        reasons.push(SignpostReason::CompleteBurnout);
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkin::tests::answers;

    #[test]
    fn who5_scores_and_bands_follow_the_published_cut_offs() {
        // (items, raw, percentage, band)
        let table: &[([u8; 5], u8, u8, WellbeingBand)] = &[
            ([0, 0, 0, 0, 0], 0, 0, WellbeingBand::VeryLow),
            ([1, 1, 1, 2, 2], 7, 28, WellbeingBand::VeryLow),
            ([1, 1, 2, 2, 2], 8, 32, WellbeingBand::Low),
            ([2, 2, 3, 3, 2], 12, 48, WellbeingBand::Low),
            ([3, 2, 2, 3, 3], 13, 52, WellbeingBand::Other),
            ([5, 5, 5, 5, 5], 25, 100, WellbeingBand::Other),
        ];
        for (items, raw, pct, band) in table {
            let a = answers(*items, 1, 0);
            assert_eq!(who5_raw(&a), *raw, "{items:?}");
            assert_eq!(who5_percentage(&a), *pct, "{items:?}");
            assert_eq!(wellbeing_band(*pct), *band, "{items:?}");
        }
    }

    #[test]
    fn burnout_is_three_or_more_and_time_pressure_is_often_or_always() {
        for (level, burnt) in [(1, false), (2, false), (3, true), (4, true), (5, true)] {
            assert_eq!(is_burnout(&answers([3; 5], level, 0)), burnt, "{level}");
        }
        for (tp, pressed) in [(0, false), (1, false), (2, false), (3, true), (4, true)] {
            assert_eq!(is_time_pressure(&answers([3; 5], 1, tp)), pressed, "{tp}");
        }
    }

    #[test]
    fn signposting_triggers_match_product_rules() {
        use SignpostReason::*;
        let table: &[([u8; 5], u8, &[SignpostReason])] = &[
            ([3, 3, 3, 3, 3], 1, &[]),
            ([2, 2, 1, 1, 1], 2, &[VeryLowWellbeing]),
            ([5, 5, 5, 5, 0], 2, &[WellbeingItemAtZero]),
            ([4, 4, 4, 4, 4], 5, &[CompleteBurnout]),
            (
                [0, 1, 1, 1, 1],
                5,
                &[VeryLowWellbeing, WellbeingItemAtZero, CompleteBurnout],
            ),
            // 32 % is the first score above the very-low cut-off.
            ([2, 2, 2, 1, 1], 4, &[]),
        ];
        for (items, burnout, expected) in table {
            assert_eq!(
                &signpost_reasons(&answers(*items, *burnout, 0)),
                expected,
                "{items:?}"
            );
        }
    }
}
