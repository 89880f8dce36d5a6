//! Any bytes as an inbox body: the envelope, the typed activity and a report's or summary's
//! own rules must refuse or accept without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
    let _ = hearth_federation::inbox::check_body(data, today);
});
