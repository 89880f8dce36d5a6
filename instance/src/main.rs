//! The `hearth` binary: command-line parsing, configuration and start-up. Thin by design:
//! everything it does is a call into `hearth-web`, `hearth-db` or `hearth-core`.

mod bench;
mod cli;
mod commands;
mod config;
mod demo;
mod keys;

use std::process::ExitCode;

use clap::Parser;

/// Small allocations are most of a request's allocations; mimalloc serves them from per-thread
/// pages without the locking and consolidation glibc's malloc does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
