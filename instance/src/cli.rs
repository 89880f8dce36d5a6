use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Hearth: private weekly check-ins for user-led mental-health groups.
///
/// One binary runs a group's instance on an embedded SQLite database (or PostgreSQL). Settings
/// come from <data dir>/hearth.toml, then HEARTH_* environment variables, then these flags.
#[derive(Debug, Parser)]
#[command(name = "hearth", version, propagate_version = true)]
pub struct Cli {
    /// Directory holding the configuration file and the SQLite database.
    #[arg(long, global = true, env = "HEARTH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory, database, instance keys and configuration, and print a
    /// one-time setup link for the first facilitator.
    Init(InitArgs),
    /// Serve the instance. On an empty data directory this first does what `init` does.
    Serve(ServeArgs),
    /// Apply any pending database migrations, then exit.
    Migrate,
    /// Print a single-use invite link that expires.
    Invite(InviteArgs),
    /// Check the configuration, database, migrations and keys; exit non-zero on any problem.
    Check,
    /// Copy the SQLite database to a new file while the instance keeps serving (consistent).
    /// For PostgreSQL use pg_dump.
    Backup(BackupArgs),
    /// Everything needed to move this instance to another host, in a new directory: the
    /// configuration and a consistent copy of the database (keys and all). Serve it there with
    /// `hearth serve --data-dir DIR`. SQLite only; for PostgreSQL use pg_dump.
    Export(ExportArgs),
    /// Make a new actor key pair (the old one is kept) and queue an Update of the actor to
    /// every peer, which they take when the instance next runs. Stop the instance first.
    RotateKeys,
    /// Put a backup in place as this instance's database. Stop the instance first; an existing
    /// database is only replaced with --force.
    Restore(RestoreArgs),
    /// Ask the running instance's /healthz (on the configured listen address); exit non-zero
    /// unless it answers 200. For container health checks.
    Healthcheck,
    /// Start a whole demo network on this machine: a hub and several groups with synthetic
    /// members and months of check-ins, joined, reporting and summarised.
    Demo(DemoArgs),
    /// Measure this build on this machine against baselines measured in the same run (an axum
    /// hello world, raw RSA-2048), and print the ratios with their targets. Exits 2 if a
    /// target is missed.
    Bench(BenchArgs),
    /// The hello-world server `bench` measures against.
    #[command(hide = true)]
    BenchHello {
        #[arg(long)]
        listen: SocketAddr,
        /// Also take signed POSTs at `/inbox`, checking each against these keys (a JSON
        /// object of actor URL to public key PEM) and nothing else: P3's ceiling.
        #[arg(long)]
        verify_keys: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Seconds each throughput measurement runs.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// Instead: hold `--members` signed-in members on the site at once for `--soak-seconds`,
    /// each checking in and reading pages in turn; exits 2 on any server error.
    #[arg(long)]
    pub soak: bool,
    /// Instead: how exactly a hub sees the sector at the size of real groups (groups of 8
    /// respondents, segments of 25 and 100 groups), through the real report path.
    #[arg(long, conflicts_with = "soak")]
    pub accuracy: bool,
    /// Simulated pairs of months for `--accuracy`.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(10..=100_000))]
    pub runs: u64,
    /// Members (one connection each) for `--soak`.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub members: u64,
    /// How long `--soak` runs, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub soak_seconds: u64,
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write; it must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub to: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The directory to create; it must not exist yet.
    #[arg(long, value_name = "DIR")]
    pub to: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file made by `hearth backup`.
    #[arg(long, value_name = "FILE")]
    pub from: std::path::PathBuf,
    /// Replace the database this instance already has.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to put the instances' data (a new or empty directory); default: a new directory
    /// under the system's temporary directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// How many group instances (the hub and its partner hub come on top).
    #[arg(long, default_value_t = 30)]
    pub groups: usize,
    /// Months of weekly check-ins to make up.
    #[arg(long, default_value_t = 8)]
    pub months: u32,
    /// Seed for the synthetic members and answers (the privacy noise always comes from the
    /// operating system).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Leave the data and exit once every report and summary has arrived, printing one JSON
    /// object as the last line.
    #[arg(long)]
    pub exit_after_sync: bool,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Make a network hub, which groups join, instead of a group's instance.
    #[arg(long)]
    pub hub: bool,
    /// The group's (or hub's) name, shown on every page.
    #[arg(long, default_value = "Our group")]
    pub group_name: String,
    /// The group's time zone (IANA name); weeks start on Monday in this zone.
    #[arg(long, default_value = "Europe/London")]
    pub timezone: String,
    /// Address and port to listen on, written into the new configuration file.
    #[arg(long, env = "HEARTH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The address people use to reach this instance, written into the configuration file.
    #[arg(long, env = "HEARTH_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "HEARTH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The address people use to reach this instance.
    #[arg(long, env = "HEARTH_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Member,
    Facilitator,
}

#[derive(Debug, clap::Args)]
pub struct InviteArgs {
    /// The role the invited person gets.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Days until the link expires (1 to 30).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(i64).range(1..=30))]
    pub days: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(Cli::try_parse_from(["hearth", "invite", "--role", "admin"]).is_err());
        assert!(
            Cli::try_parse_from(["hearth", "invite", "--role", "member", "--days", "0"]).is_err()
        );
        assert!(Cli::try_parse_from(["hearth", "serve", "--listen", "nowhere"]).is_err());
        assert!(Cli::try_parse_from(["hearth", "invite", "--role", "member"]).is_ok());
    }
}
