//! `hearth demo --exit-after-sync`: the whole network on this machine finishes with groups of
//! 5–15 and a hub pair, leaves a hub whose CSV shows the North West from both sources (the
//! pair's far narrower, with the planted rise), and the hub's directory serves again.

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
    assert_eq!(instances.len(), 32, "a hub, its partner hub and 30 groups");
    assert_eq!(instances[0]["role"], "hub");
    assert_eq!(instances[1]["role"], "hub");
    assert!(instances.iter().skip(2).all(|i| i["role"] == "group"));
    for i in instances {
        assert!(
            std::path::Path::new(i["dataDir"].as_str().unwrap())
                .join("hearth.sqlite3")
                .exists()
        );
        assert!(i["baseUrl"].as_str().unwrap().starts_with("http://"));
    }
    assert!(
        stdout.contains("North West burnout") && stdout.contains("The hub pair with"),
        "{stdout}"
    );

    // Groups of 5–15: the same North West burnout from the hub's own noisy reports and from
    // the pair, each its own source in the CSV. The pair's intervals are far narrower, and the
    // planted rise shows in it; steady regions have too few groups to be shown at all.
    let csv = std::fs::read_to_string(last["hubCsv"].as_str().unwrap()).unwrap();
    let rows = |source: &str| -> Vec<(f64, f64, f64)> {
        csv.lines()
            .filter(|l| l.starts_with("region:uk-north-west,") && l.contains(",burnout,"))
            .filter(|l| l.rsplit(',').next().unwrap().starts_with(source))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (
                    f[4].parse().unwrap(),
                    f[5].parse().unwrap(),
                    f[6].parse().unwrap(),
                )
            })
            .collect()
    };
    let (hub, pair) = (rows("hub"), rows("pair-"));
    assert!(hub.len() >= 6 && pair.len() >= 6, "{csv}");
    let mean_width =
        |r: &[(f64, f64, f64)]| r.iter().map(|x| x.2 - x.1).sum::<f64>() / r.len() as f64;
    assert!(
        mean_width(&hub) > 1.3 * mean_width(&pair),
        "the pair's intervals are narrower: {hub:?} against {pair:?}"
    );
    let mean_share = |r: &[(f64, f64, f64)]| r.iter().map(|x| x.0).sum::<f64>() / r.len() as f64;
    let n = pair.len();
    assert!(
        mean_share(&pair[n - 2..]) > mean_share(&pair[..2]) + 0.10,
        "the planted rise shows through the pair: {pair:?}"
    );
    assert!(!csv.contains("uk-london") && !csv.contains("uk-wales"));
    // Every demo group is a peer-support group: that segment is the whole network again, and
    // is shown once, as the network.
    assert!(!csv.contains("focus:peer-support"), "{csv}");
    for line in csv.lines().skip(1) {
        let groups: u32 = line.rsplit(',').nth(1).unwrap().parse().unwrap();
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
