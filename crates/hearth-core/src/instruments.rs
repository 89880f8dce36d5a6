//! The wording and scales of the weekly check-in, exactly as published.
//!
//! Changing a word here changes what the instrument measures; don't.

/// WHO-5 Well-Being Index (Psychiatric Centre North Zealand, public domain).
pub const WHO5_STEM: &str = "Over the last two weeks…";
pub const WHO5_ITEMS: [&str; 5] = [
    "I have felt cheerful and in good spirits",
    "I have felt calm and relaxed",
    "I have felt active and vigorous",
    "I woke up feeling fresh and rested",
    "My daily life has been filled with things that interest me",
];
/// Response options, scored 0–5 in this order (index = score), listed highest first on forms as
/// in the published instrument.
pub const WHO5_OPTIONS: [&str; 6] = [
    "At no time",
    "Some of the time",
    "Less than half of the time",
    "More than half of the time",
    "Most of the time",
    "All of the time",
];
pub const WHO5_CITATION: &str = "WHO-5 Well-Being Index, Psychiatric Centre North Zealand.";

/// Single-item burnout measure (Mini-Z; Dolan et al. 2015).
pub const BURNOUT_QUESTION: &str =
    "Overall, based on your definition of burnout, how would you rate your level of burnout?";
pub const BURNOUT_HELP: &str = "\"Work\" means any work for the group, paid or unpaid.";
/// Options scored 1–5 in this order (index + 1 = score).
pub const BURNOUT_OPTIONS: [&str; 5] = [
    "I enjoy my work. I have no symptoms of burnout.",
    "Occasionally I am under stress, and I don't always have as much energy as I once did, but I don't feel burned out.",
    "I am definitely burning out and have one or more symptoms of burnout, such as physical and emotional exhaustion.",
    "The symptoms of burnout that I'm experiencing won't go away. I think about frustration at work a lot.",
    "I feel completely burned out and often wonder if I can go on. I am at the point where I may need some changes or may need to seek some sort of help.",
];

/// COPSOQ II time-pressure item, five-point frequency scale scored 0–4.
pub const TIME_PRESSURE_QUESTION: &str =
    "How often did you not have time to complete all your tasks?";
pub const TIME_PRESSURE_OPTIONS: [&str; 5] = [
    "Never/hardly ever",
    "Seldom",
    "Sometimes",
    "Often",
    "Always",
];

pub const PAID_HOURS_LABEL: &str = "Paid hours for the group this week";
pub const UNPAID_HOURS_LABEL: &str = "Unpaid or volunteer hours for the group this week";
pub const FUNDING_HOURS_LABEL: &str =
    "Of those hours, how many went on funding applications, reports to funders or monitoring?";
pub const NOTE_LABEL: &str = "Private note (optional)";
pub const NOTE_HELP: &str =
    "Only you can ever read this. It is never added to any group figure and never sent anywhere.";

/// Largest number of hours accepted in each hours answer.
pub const MAX_HOURS: u8 = 100;
/// Longest private note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
