//! Cross-crate flows live in this package's test targets.
