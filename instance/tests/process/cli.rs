//! The `hearth` binary as an operator uses it.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use crate::common::free_port;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn hearth(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("HEARTH_DATA_DIR")
        .env_remove("HEARTH_LISTEN")
        .env_remove("HEARTH_PUBLIC_URL")
        .env_remove("HEARTH_DATABASE_URL")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn help_explains_every_command() {
    let o = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--help")
        .output()
        .unwrap();
    let (out, _) = text(&o);
    for cmd in ["init", "serve", "migrate", "invite", "check"] {
        assert!(out.contains(cmd), "{cmd} missing from --help:\n{out}");
    }
}

#[test]
fn init_sets_up_an_instance_and_check_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let o = hearth(
        &dir,
        &[
            "init",
            "--group-name",
            "Riverside Peers",
            "--timezone",
            "Europe/London",
        ],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("Setup link for the first facilitator"),
        "{out}"
    );
    assert!(out.contains("http://127.0.0.1:8080/join/"), "{out}");
    assert!(dir.join("hearth.toml").exists());
    assert!(dir.join("hearth.sqlite3").exists());

    let o = hearth(&dir, &["check"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("ok      disk space: ") && out.contains("MiB free"),
        "{out}"
    );
    assert!(
        out.contains("ok      deliveries: 0 waiting, 0 delivered, 0 given up"),
        "{out}"
    );
    assert!(
        out.contains("All checks passed") && out.contains("Riverside Peers"),
        "{out}"
    );
    assert!(out.contains("RSA-2048 key pair present"), "{out}");

    let o = hearth(&dir, &["init", "--group-name", "Another"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(
        out.contains("already set up") && out.contains("Riverside Peers"),
        "{out}"
    );

    let o = hearth(&dir, &["migrate"]);
    assert!(o.status.success());
    assert!(text(&o).0.contains("up to date"));

    let o = hearth(&dir, &["invite", "--role", "member", "--days", "3"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("new member") && out.contains("for 3 days") && out.contains("/join/"),
        "{out}"
    );
}

#[test]
fn bad_input_gets_a_clear_message_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    let o = hearth(&dir, &["init", "--timezone", "Mars/Olympus_Mons"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("unknown time zone"), "{:?}", text(&o));
    assert!(!dir.exists(), "a failed init must create nothing");

    let o = hearth(&dir, &["init", "--group-name", "   "]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("group name"));
    assert!(!dir.exists());

    for args in [
        &["invite", "--role", "member"][..],
        &["migrate"],
        &["check"],
    ] {
        let o = hearth(&dir, args);
        assert!(!o.status.success(), "{args:?}");
        let (out, err) = text(&o);
        assert!(
            format!("{out}{err}").contains("hearth init"),
            "{args:?}: {out}{err}"
        );
        assert!(!dir.exists(), "{args:?} created the data directory");
    }

    let o = hearth(&dir, &["invite", "--role", "admin"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("admin"));

    // Unknown keys in the file are refused by name, by every command.
    assert!(hearth(&dir, &["init"]).status.success());
    let before = std::fs::read(dir.join("hearth.sqlite3")).unwrap().len();
    std::fs::write(
        dir.join("hearth.toml"),
        "listen = \"127.0.0.1:9\"\nlsiten = 1\n",
    )
    .unwrap();
    for args in [&["check"][..], &["serve"], &["invite", "--role", "member"]] {
        let o = hearth(&dir, args);
        assert!(!o.status.success(), "{args:?}");
        let (out, err) = text(&o);
        assert!(
            format!("{out}{err}").contains("lsiten"),
            "{args:?}: {out}{err}"
        );
    }
    assert_eq!(
        std::fs::read(dir.join("hearth.sqlite3")).unwrap().len(),
        before
    );
}

#[test]
fn serve_on_an_empty_directory_initialises_serves_and_stops_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fresh");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("HEARTH_PUBLIC_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let link = loop {
        let line = lines
            .next()
            .expect("serve ended before printing a setup link")
            .unwrap();
        seen.push(line.clone());
        if line.trim().starts_with("http://") && line.contains("/join/") {
            break line.trim().to_owned();
        }
    };
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/join/")),
        "{seen:?}"
    );
    let health = http_get(port, "/healthz");
    assert!(
        health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"),
        "{health}"
    );
    let join = http_get(
        port,
        link.trim_start_matches(&format!("http://127.0.0.1:{port}")),
    );
    assert!(
        join.contains("200 OK") && join.contains("Join Our group"),
        "{join}"
    );
    assert!(dir.join("hearth.toml").exists());
    // The container health check asks the running instance.
    let hc = hearth(&dir, &["healthcheck"]);
    assert!(hc.status.success(), "{:?}", text(&hc));

    // SIGTERM: finish in-flight requests and exit 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success());
    assert!(
        rest.iter().any(|l| l.contains("Hearth stopped")),
        "{rest:?}"
    );
    assert!(!hearth(&dir, &["healthcheck"]).status.success());
}

fn dump(db: &Path) -> String {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print('\\n'.join(sqlite3.connect(sys.argv[1]).iterdump()))",
        ])
        .arg(db)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn backup_while_serving_then_restore_gives_identical_data() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let port = free_port();
    let o = hearth(&a, &["init", "--listen", &format!("127.0.0.1:{port}")]);
    assert!(o.status.success(), "{:?}", text(&o));
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--data-dir"])
        .arg(&a)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Writes while serving, then a backup while serving.
    for _ in 0..3 {
        assert!(hearth(&a, &["invite", "--role", "member"]).status.success());
    }
    let copy = tmp.path().join("backup.sqlite3");
    let o = hearth(&a, &["backup", "--to", copy.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("Backed up group"));
    let again = hearth(&a, &["backup", "--to", copy.to_str().unwrap()]);
    assert!(!again.status.success() && text(&again).1.contains("already exists"));
    // Restoring over the running instance is refused, and changes nothing.
    let before = dump(&a.join("hearth.sqlite3"));
    let o = hearth(
        &a,
        &["restore", "--force", "--from", copy.to_str().unwrap()],
    );
    assert!(
        !o.status.success() && text(&o).1.contains("an instance is running"),
        "{:?}",
        text(&o)
    );
    assert_eq!(dump(&a.join("hearth.sqlite3")), before);
    // So is a second instance on the same data directory.
    let second = hearth(&a, &["serve", "--listen", "127.0.0.1:1"]);
    assert!(
        !second.status.success() && text(&second).1.contains("an instance is running"),
        "{:?}",
        text(&second)
    );
    let _ = child.kill();
    let _ = child.wait();
    // What the instance keeps, and the backup, only its own user may read.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&a), 0o700);
        for f in ["hearth.sqlite3", "hearth.toml", "hearth.sqlite3-wal"] {
            let p = a.join(f);
            if p.exists() {
                assert_eq!(mode(&p), 0o600, "{f}");
            }
        }
        assert_eq!(mode(&a.join("hearth.sqlite3")), 0o600);
        assert_eq!(mode(&copy), 0o600);
    }

    // Restore into a new directory: the same data, row for row.
    let b = tmp.path().join("b");
    let o = hearth(&b, &["restore", "--from", copy.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        dump(&a.join("hearth.sqlite3")),
        dump(&b.join("hearth.sqlite3"))
    );
    assert!(
        dump(&b.join("hearth.sqlite3"))
            .matches("INSERT INTO \"invites\"")
            .count()
            >= 3
    );
    // It refuses to overwrite without --force, and refuses what is not a backup.
    let o = hearth(&b, &["restore", "--from", copy.to_str().unwrap()]);
    assert!(
        !o.status.success() && text(&o).1.contains("--force"),
        "{:?}",
        text(&o)
    );
    let o = hearth(
        &b,
        &["restore", "--force", "--from", copy.to_str().unwrap()],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let junk = tmp.path().join("junk");
    std::fs::write(&junk, "not a database").unwrap();
    let c = tmp.path().join("c");
    let o = hearth(&c, &["restore", "--from", junk.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        !c.join("hearth.sqlite3").exists(),
        "nothing restored from junk"
    );
    let o = hearth(
        &c,
        &[
            "restore",
            "--from",
            tmp.path().join("missing").to_str().unwrap(),
        ],
    );
    assert!(!o.status.success() && text(&o).1.contains("does not exist"));
}

/// Starts `hearth serve` logging JSON with `RUST_LOG` as given (unset: the default), sends one
/// `GET path`, stops it, and returns the reply and the log lines.
fn one_request_logged(rust_log: Option<&str>, path: &str) -> (String, Vec<serde_json::Value>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let port = free_port();
    assert!(
        hearth(&dir, &["init", "--listen", &format!("127.0.0.1:{port}")])
            .status
            .success()
    );
    let config = dir.join("hearth.toml");
    let text_config = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_config.replace("log_format = \"text\"", "log_format = \"json\""),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    command.args(["serve", "--data-dir"]).arg(&dir);
    match rust_log {
        Some(v) => command.env("RUST_LOG", v),
        None => command.env_remove("RUST_LOG"),
    };
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reply = String::new();
    for _ in 0..100 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
            s.read_to_string(&mut reply).unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = child.wait();
    let lines = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (reply, lines)
}

#[test]
fn json_logs_carry_the_request_id_the_response_returns() {
    // The per-request line is `debug`, and turned on as the example configuration says.
    let (reply, lines) = one_request_logged(Some("info,hearth::requests=debug"), "/healthz");
    let id = reply
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap_or_else(|| panic!("no request id in {reply}"))
        .trim()
        .to_owned();
    assert!(
        lines.iter().any(|l| l["span"]["request_id"] == id.as_str()
            && l["span"]["route"] == "/healthz"
            && l["fields"]["status"] == 200),
        "{lines:?}"
    );
}

#[test]
fn requests_are_not_logged_one_by_one_by_default() {
    // Unset, and set to nothing: the default level, `info`.
    for rust_log in [None, Some("")] {
        let (reply, lines) = one_request_logged(rust_log, "/support");
        assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
        assert!(!lines.is_empty(), "the server logs its start");
        assert!(
            lines
                .iter()
                .all(|l| l["level"] == "INFO" || l["level"] == "WARN" || l["level"] == "ERROR"),
            "{lines:?}"
        );
        let text = serde_json::to_string(&lines).unwrap();
        assert!(!text.contains("/support"), "{text}");
    }
}

#[test]
fn export_makes_a_directory_another_host_can_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    assert!(
        hearth(&a, &["init", "--group-name", "Moving Group"])
            .status
            .success()
    );
    assert!(hearth(&a, &["invite", "--role", "member"]).status.success());
    let to = tmp.path().join("moved");
    let o = hearth(&a, &["export", "--to", to.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(to.join("hearth.toml").exists());
    assert_eq!(
        dump(&a.join("hearth.sqlite3")),
        dump(&to.join("hearth.sqlite3"))
    );
    let o = hearth(&to, &["check"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("Moving Group"));
    let again = hearth(&a, &["export", "--to", to.to_str().unwrap()]);
    assert!(!again.status.success() && text(&again).1.contains("already exists"));
}

#[test]
fn rotate_keys_keeps_the_old_key_and_refuses_while_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("k");
    let port = free_port();
    assert!(
        hearth(&dir, &["init", "--listen", &format!("127.0.0.1:{port}")])
            .status
            .success()
    );
    let db = dir.join("hearth.sqlite3");
    let count = |db: &Path| dump(db).matches("INSERT INTO \"instance_keys\"").count();
    assert_eq!(count(&db), 1);
    let o = hearth(&dir, &["rotate-keys"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("0 peer inbox(es)"));
    assert_eq!(count(&db), 2);
    assert!(hearth(&dir, &["check"]).status.success());
    // While serving it refuses and changes nothing.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--data-dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = hearth(&dir, &["rotate-keys"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !o.status.success() && text(&o).1.contains("stop it"),
        "{:?}",
        text(&o)
    );
    assert_eq!(count(&db), 2);
}

/// `hearth bench --soak`, small: the bench's servers, signed-in members, check-in forms and load
/// generator work end to end, and a run with no server error exits 0 with its JSON figures.
#[test]
fn a_small_soak_runs_clean() {
    let o = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args([
            "bench",
            "--soak",
            "--members",
            "6",
            "--soak-seconds",
            "2",
            "--json",
        ])
        // The bench's instances take their settings from their own files, not from these.
        .env("HEARTH_LISTEN", "127.0.0.1:1")
        .env("HEARTH_DATA_DIR", "/nonexistent")
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["members"], 6);
    assert_eq!(v["5xx"], 0);
    assert_eq!(v["4xx"], 0);
    assert_eq!(v["no_answer"], 0);
    assert!(
        v["2xx"].as_u64().unwrap() > 0 && v["3xx"].as_u64().unwrap() > 0,
        "{v}"
    );
}

/// One overwritten page of a table: `check` names the table and fails, and `serve` refuses to
/// start (and changes nothing) rather than answer members with 500s.
#[test]
fn a_damaged_table_fails_check_and_serve_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let port = free_port();
    assert!(
        hearth(&dir, &["init", "--listen", &format!("127.0.0.1:{port}")])
            .status
            .success()
    );
    for _ in 0..3 {
        assert!(
            hearth(&dir, &["invite", "--role", "member"])
                .status
                .success()
        );
    }
    let db = dir.join("hearth.sqlite3");
    let ok = hearth(&dir, &["check"]);
    assert!(ok.status.success(), "{:?}", text(&ok));
    assert!(
        text(&ok)
            .0
            .contains("integrity: every table reads back whole")
    );
    // Where the invites table's page is, with everything in the main file.
    let o = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); print(c.execute(\"SELECT rootpage FROM sqlite_schema WHERE name = 'invites'\").fetchone()[0], c.execute('PRAGMA page_size').fetchone()[0])",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut nums = out.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    let (root, page_size) = (nums.next().unwrap(), nums.next().unwrap());
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        // The page's cell pointers, overwritten: every row points outside the page.
        f.seek(SeekFrom::Start((root - 1) * page_size + 8)).unwrap();
        f.write_all(&[0xff; 16]).unwrap();
    }
    let bad = hearth(&dir, &["check"]);
    let (stdout, _) = text(&bad);
    assert!(!bad.status.success(), "{stdout}");
    assert!(
        stdout.contains("PROBLEM integrity: invites is damaged"),
        "{stdout}"
    );
    let before = std::fs::read(&db).unwrap();
    let serve = hearth(&dir, &["serve"]);
    assert!(!serve.status.success());
    assert!(
        text(&serve).1.contains("the database is damaged (invites"),
        "{:?}",
        text(&serve)
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing changed");
}

/// Messages that say what is wrong and what to do: a configuration gone missing is a problem
/// for `check`, and `serve` beside a configuration whose database is gone makes nothing new.
#[test]
fn a_missing_configuration_or_database_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    let port = free_port();
    assert!(
        hearth(&dir, &["init", "--listen", &format!("127.0.0.1:{port}")])
            .status
            .success()
    );
    let config = dir.join("hearth.toml");
    let kept = std::fs::read(&config).unwrap();
    std::fs::remove_file(&config).unwrap();
    let o = hearth(&dir, &["check"]);
    assert!(!o.status.success());
    assert!(
        text(&o).0.contains("PROBLEM configuration:") && text(&o).0.contains("is missing"),
        "{:?}",
        text(&o)
    );
    std::fs::write(&config, kept).unwrap();
    assert!(hearth(&dir, &["check"]).status.success());
    // The database goes; serve says so and makes no new instance.
    for f in ["hearth.sqlite3", "hearth.sqlite3-wal", "hearth.sqlite3-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let o = hearth(&dir, &["serve"]);
    assert!(!o.status.success());
    assert!(
        text(&o)
            .1
            .contains("but the database hearth.sqlite3 is not"),
        "{:?}",
        text(&o)
    );
    assert!(
        !dir.join("hearth.sqlite3").exists(),
        "no new instance was made"
    );
}
