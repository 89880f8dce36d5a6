//! Crash safety: 200 members submit their check-ins at once and the server is killed with
//! SIGKILL in the middle. The SQLite database then passes its integrity check, every
//! submission the server acknowledged (303) is there, and the instance starts again.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use crate::common::free_port;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MEMBERS: usize = 200;

fn hearth(dir: &Path, args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("HEARTH_DATA_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn serve(dir: &Path, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .env_remove("HEARTH_DATA_DIR")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http(port, "GET", "/healthz", None, None)
            && r.0 == 200
        {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start");
}

/// One HTTP/1.0 request: (status, Set-Cookie value if any, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> std::io::Result<(u16, Option<String>, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: localhost\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(f) = form {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{f}",
            f.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes())?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let cookie = reply
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned());
    let body = reply
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    Ok((status, cookie, body))
}

fn csrf(body: &str) -> String {
    let i = body.find("name=\"csrf_token\" value=\"").unwrap() + 25;
    body[i..].split('"').next().unwrap().to_owned()
}

fn python(db: &Path, sql: &str) -> String {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print('\\n'.join('|'.join(map(str,r)) for r in c.execute(sys.argv[2])))",
        ])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

#[test]
fn kill_9_during_200_concurrent_check_ins_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("crash");
    let port = free_port();
    hearth(&dir, &["init", "--listen", &format!("127.0.0.1:{port}")]);
    // Two hundred sign-ups from one address: lift the per-address allowance for this test.
    let config = dir.join("hearth.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "login_attempts_per_minute = 10",
            "login_attempts_per_minute = 100000",
        ),
    )
    .unwrap();
    let mut server = serve(&dir, port);

    // Every member joins through an invite and opens the check-in form.
    let mut members = Vec::new();
    for i in 0..MEMBERS {
        let link = hearth(&dir, &["invite", "--role", "member"]);
        let path = link
            .split_whitespace()
            .find(|w| w.contains("/join/"))
            .unwrap()
            .split("127.0.0.1")
            .nth(1)
            .unwrap()
            .trim_start_matches(&format!(":{port}"))
            .to_owned();
        let (_, cookie, body) = http(port, "GET", &path, None, None).unwrap();
        let cookie = cookie.unwrap();
        let form = format!(
            "csrf_token={}&display_name=Member+{i}&username=member{i}&password=a+long+enough+password&password_confirm=a+long+enough+password",
            csrf(&body)
        );
        let (status, new_cookie, _) =
            http(port, "POST", &path, Some(&cookie), Some(&form)).unwrap();
        assert_eq!(status, 303, "join {i}");
        let cookie = new_cookie.unwrap_or(cookie);
        let (status, _, body) = http(port, "GET", "/checkin", Some(&cookie), None).unwrap();
        assert_eq!(status, 200);
        members.push((format!("member{i}"), cookie, csrf(&body)));
    }

    // All submit at once; the server is killed while they are in flight.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let start = Arc::new(std::sync::Barrier::new(MEMBERS + 1));
    let mut threads = Vec::new();
    for (name, cookie, token) in members {
        let acknowledged = acknowledged.clone();
        let start = start.clone();
        threads.push(std::thread::spawn(move || {
            let form = format!(
                "csrf_token={token}&who5_1=3&who5_2=3&who5_3=2&who5_4=4&who5_5=3&burnout=2&paid_hours=5&unpaid_hours=3&funding_hours=1&time_pressure=2&note=n"
            );
            start.wait();
            if let Ok((303, _, _)) = http(port, "POST", "/checkin", Some(&cookie), Some(&form)) {
                acknowledged.lock().unwrap().push(name);
            }
        }));
    }
    start.wait();
    // Kill once a quarter have been answered: the rest are in flight or queued.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < MEMBERS / 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill().unwrap();
    let _ = server.wait();
    for t in threads {
        t.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!(
        "{} of {MEMBERS} submissions acknowledged before SIGKILL",
        acknowledged.len()
    );

    // The database is intact and holds every acknowledged check-in.
    let db = dir.join("hearth.sqlite3");
    assert_eq!(python(&db, "PRAGMA integrity_check"), "ok");
    let stored = python(
        &db,
        "SELECT a.username FROM checkins c JOIN accounts a ON a.id = c.account_id",
    );
    let stored: std::collections::HashSet<&str> = stored.lines().collect();
    for name in &acknowledged {
        assert!(
            stored.contains(name.as_str()),
            "{name}'s acknowledged check-in is missing"
        );
    }
    assert!(stored.len() >= acknowledged.len());
    eprintln!(
        "after restart: integrity ok, {} check-ins stored, all {} acknowledged among them",
        stored.len(),
        acknowledged.len()
    );
    // And the instance starts again on it.
    let mut again = serve(&dir, port);
    let _ = again.kill();
    let _ = again.wait();
}
