//! `hearth demo --exit-after-sync`: the whole network on this machine finishes, leaves a hub
//! whose CSV shows the planted trend (burnout rising in the North West, beyond the noise), and
//! the hub's directory serves again with `hearth serve`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_demo_network_syncs_shows_its_planted_trend_and_serves_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["demo", "--exit-after-sync", "--dir"])
        .arg(&root)
        .env_remove("HEARTH_DATA_DIR")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let instances = last["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 13, "a hub and 12 groups");
    assert_eq!(instances[0]["role"], "hub");
    assert!(instances.iter().skip(1).all(|i| i["role"] == "group"));
    for i in instances {
        assert!(
            std::path::Path::new(i["dataDir"].as_str().unwrap())
                .join("hearth.sqlite3")
                .exists()
        );
        assert!(i["baseUrl"].as_str().unwrap().starts_with("http://"));
    }

    // The planted trend: North West burnout in the last month is above the first month's,
    // with the intervals apart; steady regions have too few groups to be shown at all.
    let csv = std::fs::read_to_string(last["hubCsv"].as_str().unwrap()).unwrap();
    let nw: Vec<(f64, f64, f64)> = csv
        .lines()
        .filter(|l| l.starts_with("region:uk-north-west,") && l.contains(",burnout,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
                f[6].parse().unwrap(),
            )
        })
        .collect();
    assert!(nw.len() >= 6, "{csv}");
    let (first, last_month) = (nw[0], nw[nw.len() - 1]);
    assert!(
        last_month.1 > first.2,
        "rise beyond the intervals: {first:?} → {last_month:?}"
    );
    assert!(!csv.contains("uk-london") && !csv.contains("uk-wales"));
    for line in csv.lines().skip(1) {
        let groups: u32 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert!(groups >= 5, "{line}");
    }

    // The hub's directory serves again.
    let hub_dir = instances[0]["dataDir"].as_str().unwrap();
    let port: u16 = instances[0]["baseUrl"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--data-dir", hub_dir])
        .env_remove("HEARTH_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut body = String::new();
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            write!(s, "GET /actor HTTP/1.0\r\nHost: hub.localhost:{port}\r\nAccept: application/activity+json\r\n\r\n").unwrap();
            body.clear();
            let _ = s.read_to_string(&mut body);
            if body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(body.contains(" 200 OK"), "{body}");
    assert!(body.contains("North West Peer Network") && body.contains("\"Service\""));
}
