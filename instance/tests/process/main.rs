//! The `hearth` binary run as processes, as an operator would: one test binary, each file a
//! module, so the whole stack links once for all of them. `CARGO_BIN_EXE_hearth` is set for
//! this package's integration tests only, so this binary stays in the `instance` package.

mod cli;
mod common;
mod crash;
mod demo;
mod deploy;
mod outage;
