//! Typed configuration: defaults, then `<data dir>/hearth.toml`, then `HEARTH_*` variables,
//! then command-line flags. Unknown keys in the file are refused; secrets never print.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "hearth.toml";
pub const DATABASE_FILE: &str = "hearth.sqlite3";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Keys that `HEARTH_*` environment variables may set. Other `HEARTH_*` names (such as the
/// data directory, or variables of the test suite) are not configuration keys.
const ENV_KEYS: [&str; 12] = [
    "listen",
    "public_url",
    "database_url",
    "behind_proxy",
    "login_attempts_per_minute",
    "federation_insecure_local",
    "inbox_requests_per_minute",
    "delivery_retry_base_ms",
    "metrics_token",
    "log_format",
    "smtp_url",
    "email_from",
];

/// How `serve` writes its log to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting, with its default. The data directory itself comes from `--data-dir` or
/// `HEARTH_DATA_DIR`, since the file lives inside it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The address people use to reach this instance. Defaults to `http://` + `listen`.
    /// Use an `https://` URL behind a TLS proxy: cookies are then marked `Secure`.
    pub public_url: Option<url::Url>,
    /// `sqlite://PATH` (default: the data directory's `hearth.sqlite3`) or `postgres://…`.
    #[serde(serialize_with = "redacted")]
    pub database_url: Option<SecretString>,
    /// Trust the last `X-Forwarded-For` hop as the client address (only behind a proxy).
    pub behind_proxy: bool,
    /// Sign-in and join attempts allowed per minute, per client address and per username.
    pub login_attempts_per_minute: u32,
    /// Federate over plain http, with ports and local addresses. Only for tests and demos that
    /// run several instances on one machine: never in production.
    pub federation_insecure_local: bool,
    /// Fixed addresses for peer host names, e.g. `{ "hub.localhost" = "127.0.0.1:8090" }`, so
    /// instances on one machine can reach each other by name without touching /etc/hosts.
    pub federation_resolve: std::collections::BTreeMap<String, SocketAddr>,
    /// Inbox requests accepted per minute from one sending domain, and from one address.
    pub inbox_requests_per_minute: u32,
    /// Wait before the first retry of a failed delivery, in milliseconds; it doubles each time.
    pub delivery_retry_base_ms: u64,
    /// Bearer token for `/metrics` (Prometheus). Unset: `/metrics` does not exist.
    #[serde(serialize_with = "redacted")]
    pub metrics_token: Option<SecretString>,
    /// `text` (default) or `json`, one object per line.
    pub log_format: LogFormat,
    /// The mail server for weekly reminders, e.g. `smtps://user:password@mail.example.org`.
    /// Unset: no email is ever sent and reminders are not offered.
    #[serde(serialize_with = "redacted")]
    pub smtp_url: Option<SecretString>,
    /// The sender of reminders, e.g. `Our group <hearth@example.org>`; needed with `smtp_url`.
    pub email_from: Option<String>,
}

fn redacted<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("[redacted]"),
        None => s.serialize_none(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            public_url: None,
            database_url: None,
            behind_proxy: false,
            login_attempts_per_minute: 10,
            federation_insecure_local: false,
            federation_resolve: std::collections::BTreeMap::new(),
            inbox_requests_per_minute: hearth_federation::REQUESTS_PER_MINUTE,
            delivery_retry_base_ms: 2000,
            metrics_token: None,
            log_format: LogFormat::Text,
            smtp_url: None,
            email_from: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration problem: {0}")]
    Invalid(String),
}

/// Values given on the command line, which win over everything else.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<url::Url>,
}

impl Config {
    pub fn load(data_dir: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
        let file = data_dir.join(CONFIG_FILE);
        let figment = Figment::new()
            .merge(Serialized::defaults(Config::default()))
            .merge(Toml::file(&file))
            .merge(Env::prefixed("HEARTH_").only(&ENV_KEYS))
            .merge(Serialized::defaults(overrides));
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(describe(&e, &file)))?;
        config.validate()?;
        if config.public_url.is_none() {
            config.public_url = Some(default_public_url(config.listen));
        }
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(u) = &self.public_url {
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(ConfigError::Invalid(format!(
                    "public_url must be an http:// or https:// address, not {u}"
                )));
            }
            if u.path() != "/" || u.query().is_some() {
                return Err(ConfigError::Invalid(format!(
                    "public_url must not have a path or query (Hearth is served from the root): {u}"
                )));
            }
        }
        if self.delivery_retry_base_ms == 0 {
            return Err(ConfigError::Invalid(
                "delivery_retry_base_ms must be at least 1".into(),
            ));
        }
        if self.smtp_url.is_some() != self.email_from.is_some() {
            return Err(ConfigError::Invalid(
                "smtp_url and email_from go together: set both to send reminders, or neither"
                    .into(),
            ));
        }
        if let (Some(url), Some(from)) = (&self.smtp_url, &self.email_from) {
            hearth_web::mail::Mailer::check(url.expose_secret(), from)
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        if self.inbox_requests_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "inbox_requests_per_minute must be at least 1".into(),
            ));
        }
        if self.login_attempts_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "login_attempts_per_minute must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub fn public_url(&self) -> url::Url {
        self.public_url
            .clone()
            .unwrap_or_else(|| default_public_url(self.listen))
    }

    /// The database URL: configured, or the SQLite file in the data directory.
    pub fn database_url(&self, data_dir: &Path) -> String {
        match &self.database_url {
            Some(s) => s.expose_secret().to_owned(),
            None => format!("sqlite://{}", data_dir.join(DATABASE_FILE).display()),
        }
    }

    /// The configuration as TOML with secrets replaced, for `hearth check`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# could not show configuration: {e}\n"))
    }
}

#[expect(
    clippy::expect_used,
    reason = "an IP address and port always form a valid URL"
)]
fn default_public_url(listen: SocketAddr) -> url::Url {
    // An unspecified address (0.0.0.0, ::) is not somewhere a browser can go.
    let host = if listen.ip().is_unspecified() {
        "localhost".to_owned()
    } else if listen.is_ipv6() {
        format!("[{}]", listen.ip())
    } else {
        listen.ip().to_string()
    };
    url::Url::parse(&format!("http://{host}:{}/", listen.port())).expect("valid URL")
}

fn describe(e: &figment::Error, file: &Path) -> String {
    let mut out = Vec::new();
    for err in e.clone() {
        let place = match &err.metadata {
            Some(m) if m.name.contains("TOML") => format!(" in {}", file.display()),
            Some(m) if m.name.contains("environment") => " in the environment".to_owned(),
            _ => String::new(),
        };
        let key = if err.path.is_empty() {
            String::new()
        } else {
            format!(" (key `{}`)", err.path.join("."))
        };
        out.push(format!("{}{key}{place}", err.kind));
    }
    out.join("; ")
}

/// The starting `hearth.toml` written by `init`: every key, commented, with its default.
pub fn starter_file(listen: SocketAddr, public_url: Option<&url::Url>) -> String {
    let public = match public_url {
        Some(u) => format!("public_url = \"{u}\""),
        None => "# public_url = \"https://hearth.example.org/\"".to_owned(),
    };
    format!(
        r#"# Hearth configuration. Environment variables HEARTH_<KEY> (for example HEARTH_LISTEN)
# override this file, and command-line flags override both. Unknown keys are refused.

# Address and port to listen on.
listen = "{listen}"

# The address people use to reach this instance; invite links use it. Defaults to
# http:// plus the listen address. With an https:// address, cookies are marked Secure.
{public}

# Database: by default the SQLite file hearth.sqlite3 in this directory.
# For PostgreSQL: database_url = "postgres://user:password@host/dbname"
# database_url = "sqlite:///var/lib/hearth/hearth.sqlite3"

# Trust the last X-Forwarded-For hop as the client address (only behind a reverse proxy).
behind_proxy = false

# Sign-in and join attempts allowed per minute, per client address and per username.
login_attempts_per_minute = 10

# Federation with network hubs and groups. Plain http, ports and local addresses are refused
# unless this is true: only for tests and demos that run several instances on one machine.
federation_insecure_local = false

# Inbox requests accepted per minute from one sending domain, and from one address. A hub
# whose groups share one address (or that takes a backlog at once) may need more.
inbox_requests_per_minute = {inbox}

# Wait before the first retry of a failed delivery, in milliseconds (it doubles each time, up
# to an hour between attempts).
delivery_retry_base_ms = 2000

# The log on standard error: "text", or "json" (one object per line, for log collectors).
# What Hearth does and what needs attention is logged (deliveries, refusals, errors), each line
# made during a request with its method, route template and request id (also returned in the
# x-request-id header); never a full address, answers or notes. Requests are not logged one by
# one (who visits which page when is left out); RUST_LOG=info,hearth::requests=debug adds that line.
log_format = "text"

# Bearer token a Prometheus scraper must send for /metrics (counts only, nothing personal).
# Without it /metrics does not exist. Prefer the HEARTH_METRICS_TOKEN environment variable.
# metrics_token = "a-long-random-string"

# Weekly email reminders (optional). Without these two, no email is ever sent and members
# are not offered reminders. The mail server as a URL: smtps://user:password@host (TLS),
# smtp://user:password@host:587?tls=required (STARTTLS), or smtp://localhost:25 for a relay on
# this machine. Prefer the HEARTH_SMTP_URL environment variable, as it holds a password.
# smtp_url = "smtps://hearth%40example.org:app-password@mail.example.org"
# email_from = "Our group <hearth@example.org>"

# Fixed addresses for peer host names (tests and demos only), for example:
# [federation_resolve]
# "hub.localhost" = "127.0.0.1:8090"
"#,
        inbox = hearth_federation::REQUESTS_PER_MINUTE,
    )
}

/// The data directory: flag, then `HEARTH_DATA_DIR`, then `./hearth-data`.
pub fn resolve_data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| PathBuf::from("hearth-data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(contents: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(CONFIG_FILE), contents).unwrap();
        d
    }

    #[test]
    fn defaults_apply_without_a_file() {
        let d = tempfile::tempdir().unwrap();
        let c = Config::load(d.path(), &Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.public_url().as_str(), "http://127.0.0.1:8080/");
        assert!(c.database_url(d.path()).starts_with("sqlite://"));
    }

    #[test]
    fn the_starter_file_loads_as_written() {
        let d = dir_with(&starter_file("0.0.0.0:9000".parse().unwrap(), None));
        let c = Config::load(d.path(), &Overrides::default()).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.public_url().as_str(), "http://localhost:9000/");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let d = dir_with("listen = \"127.0.0.1:1\"\nlisten_port = 3\n");
        let e = Config::load(d.path(), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("listen_port"), "{e}");
        assert!(e.contains(CONFIG_FILE), "{e}");
    }

    #[test]
    fn bad_values_get_clear_messages() {
        for (file, needle) in [
            ("listen = \"not an address\"", "listen"),
            ("public_url = \"ftp://x\"", "http:// or https://"),
            ("public_url = \"https://x.org/hearth\"", "path"),
            ("login_attempts_per_minute = 0", "at least 1"),
            ("behind_proxy = \"yes\"", "behind_proxy"),
            ("inbox_requests_per_minute = 0", "at least 1"),
            ("smtp_url = \"smtp://localhost:25\"", "go together"),
            ("email_from = \"a@example.org\"", "go together"),
            (
                "smtp_url = \"smtp://localhost:25\"\nemail_from = \"nobody\"",
                "email_from",
            ),
            (
                "smtp_url = \"gopher://x\"\nemail_from = \"a@example.org\"",
                "smtp_url",
            ),
        ] {
            let d = dir_with(file);
            let e = Config::load(d.path(), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{file}: {e}");
        }
    }

    #[test]
    fn command_line_overrides_the_file() {
        let d = dir_with("listen = \"127.0.0.1:1000\"");
        let o = Overrides {
            listen: Some("127.0.0.1:2000".parse().unwrap()),
            public_url: None,
        };
        assert_eq!(Config::load(d.path(), &o).unwrap().listen.port(), 2000);
    }

    #[test]
    fn the_example_in_deploy_matches_what_init_writes() {
        let example = include_str!("../../deploy/hearth.example.toml");
        let written = starter_file(DEFAULT_LISTEN.parse().unwrap(), None);
        assert_eq!(
            example, written,
            "deploy/hearth.example.toml drifted: regenerate it from config::starter_file"
        );
    }

    #[test]
    fn secrets_never_print() {
        let d = dir_with("database_url = \"postgres://u:hunter2@h/db\"");
        let c = Config::load(d.path(), &Overrides::default()).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!c.to_redacted_toml().contains("hunter2"));
        assert!(c.database_url(d.path()).contains("hunter2"));
    }
}
