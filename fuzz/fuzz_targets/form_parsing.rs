//! Any bytes as a posted check-in form (the same urlencoded parser axum's `Form` uses), and
//! as the free-text fields people type: never a panic, and a check-in that parses is in range
//! and survives a round trip through the form.
#![no_main]

use hearth_core::{CheckinInput, scoring};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = serde_urlencoded::from_bytes::<CheckinInput>(data)
        && let Ok(answers) = input.parse()
    {
        assert!(scoring::who5_percentage(&answers) <= 100);
        let _ = scoring::signpost_reasons(&answers);
        assert_eq!(answers.to_input().parse().ok(), Some(answers));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(address) = hearth_core::reminder::parse_address(text) {
            assert!(address.contains('@') && address.len() <= 1016);
        }
        let _ = text.parse::<hearth_core::report::ReportPeriod>();
        let _ = hearth_core::period::WeekClose::new(
            text.len() as i64 % 9,
            i64::from(data.first().copied().unwrap_or(0)),
        );
    }
});
