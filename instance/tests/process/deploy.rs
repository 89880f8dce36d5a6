//! The deployment files name only things that exist: the binary and its subcommands, the
//! configuration keys, the ports and the user the image runs as. (`docker build` cannot run on
//! this machine; these checks stand in for it.) The systemd unit passes `systemd-analyze
//! verify` where that tool exists.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::path::Path;
use std::process::Command;

fn deploy(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy")
            .join(file),
    )
    .unwrap_or_else(|e| panic!("deploy/{file}: {e}"))
}

fn help() -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--help")
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `KEY=value` pairs of every ENV instruction (backslash-continued lines joined).
fn env_of(dockerfile: &str) -> Vec<(String, String)> {
    let joined = dockerfile.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ENV "))
        .flat_map(|rest| {
            rest.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_dockerfile_names_what_the_build_makes() {
    let d = deploy("Dockerfile");
    let help = help();
    // The binary the build stage makes is the one copied, and it is this package's binary.
    assert!(d.contains("cargo build --release --locked -p hearth"));
    assert!(d.contains("COPY --from=build /src/target/release/hearth /usr/local/bin/hearth"));
    assert!(Path::new(env!("CARGO_BIN_EXE_hearth")).file_name().unwrap() == "hearth");
    // The user it runs as is created in the image, and is not root.
    assert!(d.contains("useradd --system --uid 10001"));
    let user = d
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .unwrap()
        .trim();
    assert_eq!(user, "hearth");
    assert!(d.contains(&format!("--create-home {user}")));
    // Data in the volume the configuration points at; the port exposed is the one listened on.
    let env = env_of(&d);
    let get = |k: &str| {
        env.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let data = get("HEARTH_DATA_DIR");
    assert!(d.contains(&format!("VOLUME [\"{data}\"]")), "{data}");
    assert!(d.contains(&format!("--home-dir {data}")));
    let port = get("HEARTH_LISTEN").rsplit(':').next().unwrap().to_owned();
    assert!(d.contains(&format!("EXPOSE {port}")));
    // The health check and the default command are real subcommands.
    assert!(d.contains("CMD [\"hearth\", \"healthcheck\"]"));
    assert!(help.contains("healthcheck") && help.contains("serve"));
    assert!(d.contains("CMD [\"serve\"]"));
    // Every HEARTH_ variable set is a configuration key or the data directory.
    for (k, _) in &env {
        assert!(
            ["HEARTH_DATA_DIR", "HEARTH_LISTEN"].contains(&k.as_str()),
            "{k}"
        );
    }
}

#[test]
fn the_compose_file_names_what_exists() {
    let c = deploy("compose.yaml");
    let help = help();
    // Builds use this Dockerfile from the repository root.
    assert!(c.contains("context: ..") && c.contains("dockerfile: deploy/Dockerfile"));
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/Dockerfile")
            .exists()
    );
    // Commands are subcommands; variables are configuration keys.
    for line in c
        .lines()
        .filter_map(|l| l.trim().strip_prefix("command: [\""))
    {
        let sub = line.split('"').next().unwrap();
        assert!(help.contains(sub), "{sub} is not a hearth subcommand");
    }
    for key in c.lines().filter_map(|l| l.trim().strip_prefix("HEARTH_")) {
        let key = key.split(':').next().unwrap().to_lowercase();
        assert!(
            ["database_url", "public_url", "listen"].contains(&key.as_str()),
            "{key} is not a configuration key"
        );
    }
    // Each service maps a host port to the port the image listens on, and keeps its data in
    // the image's data directory.
    let d = deploy("Dockerfile");
    let inner = env_of(&d)
        .into_iter()
        .find(|(k, _)| k == "HEARTH_LISTEN")
        .unwrap()
        .1
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    for p in ["8080", "8081"] {
        assert!(c.contains(&format!("\"{p}:{inner}\"")), "{p}");
    }
    assert_eq!(c.matches(":/var/lib/hearth").count(), 3);
    // The hub is made a hub before it serves; the group is SQLite (no database URL).
    assert!(c.contains("command: [\"init\", \"--hub\""));
    assert!(c.contains("condition: service_completed_successfully"));
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    let unit = deploy("hearth.service");
    for line in [
        "ExecStart=/usr/local/bin/hearth serve",
        "Environment=HEARTH_DATA_DIR=/var/lib/hearth",
        "StateDirectory=hearth",
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=",
        "MemoryDenyWriteExecute=yes",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line}");
    }
    let Ok(o) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze not found: verify skipped");
        return;
    };
    if !o.status.success() {
        return;
    }
    // Verify the unit as installed, with this build standing in for /usr/local/bin/hearth.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("hearth.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/hearth", env!("CARGO_BIN_EXE_hearth")),
    )
    .unwrap();
    let v = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        v.status.success() && v.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&v.stderr)
    );
}

#[test]
fn the_caddy_example_proxies_to_the_listen_address() {
    let caddy = deploy("Caddyfile");
    assert!(caddy.contains("reverse_proxy 127.0.0.1:8080"));
    let unit = deploy("hearth.service");
    assert!(unit.contains("HEARTH_LISTEN=127.0.0.1:8080"));
    assert!(caddy.contains("behind_proxy = true"));
}
