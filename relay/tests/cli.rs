//! The binaries as a user runs them: `tiprelay serve`, `tipctl …`, with the JSON contracts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn tipctl_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_tiprelay")).with_file_name("tipctl");
    assert!(
        p.exists(),
        "{} is missing: run the workspace tests (`cargo test --workspace`) so it is built",
        p.display()
    );
    p
}

fn tipctl(cfg: &Path, args: &[&str]) -> Output {
    Command::new(tipctl_bin()).env("TIPCTL_CONFIG", cfg).args(args).output().unwrap()
}

fn ok_json(cfg: &Path, args: &[&str]) -> serde_json::Value {
    let o = tipctl(cfg, args);
    assert!(o.status.success(), "tipctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("tipctl {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn start(dir: &Path) -> (RelayProcess, PathBuf, PathBuf) {
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let rt = make_pki(dir, addr, |_| {});
    let relay = RelayProcess::spawn(&rt, &dir.join("relay.log"));
    let (mx, us) = (dir.join("pki/MX/analyst.toml"), dir.join("pki/US/analyst.toml"));
    // Bounded wait until it answers.
    for _ in 0..200 {
        if tipctl(&mx, &["status"]).status.success() {
            return (relay, mx, us);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("relay did not start: {}", std::fs::read_to_string(dir.join("relay.log")).unwrap_or_default());
}

#[test]
fn the_readme_flow_works_from_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, mx, us) = start(dir.path());

    let sent = ok_json(
        &mx,
        &[
            "send",
            "--to",
            "US",
            "--category",
            "armed_group_crossing",
            "--urgency",
            "flash",
            "--summary",
            "Grupo armado cerca de Palomas",
            "--tlp",
            "amber",
            "--lat",
            "31.76",
            "--lon",
            "-107.62",
            "--radius-m",
            "2000",
            "--valid-until",
            "+6h",
            "--reliability",
            "B",
            "--credibility",
            "2",
            "--json",
        ],
    );
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["receipt"]["seq"], 1);

    let inbox = ok_json(&us, &["inbox", "--json"]);
    let item = &inbox.as_array().unwrap()[0];
    for (k, v) in [
        ("id", id.as_str()),
        ("from", "MX"),
        ("to", "US"),
        ("author", "tiprelay://MX/analyst/analyst-1"),
        ("category", "armed_group_crossing"),
        ("tlp", "amber"),
    ] {
        assert_eq!(item[k], v, "inbox --json field {k}");
    }
    assert_eq!(item["summary"], "Grupo armado cerca de Palomas");
    assert_eq!(item["seq"], 1);
    assert_eq!(item["verified"], true);
    assert_eq!(ok_json(&us, &["inbox", "--unread", "--json"]).as_array().unwrap().len(), 1);

    let show = tipctl(&us, &["show", &id]);
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success());
    assert!(text.starts_with("==== TLP:AMBER ===="), "{text}");
    assert!(text.contains("verified: signed by tiprelay://MX/analyst/analyst-1"), "{text}");
    assert!(text.contains("receipt  seq 1"), "{text}");
    assert_eq!(ok_json(&us, &["inbox", "--unread", "--json"]).as_array().unwrap().len(), 0, "show marks a tip read");

    let outbox = ok_json(&mx, &["outbox", "--json"]);
    assert_eq!(outbox[0]["status"], "acknowledged");
    assert_eq!(outbox[0]["acked_by"], "tiprelay://US/analyst/analyst-1");
    let status = ok_json(&us, &["status", "--json"]);
    assert_eq!(status["connected"], true);
    assert_eq!(status["relay"], "tiprelay://OPERATOR/relay/dev-relay");

    // Graceful shutdown exits 0; then status reports the relay unreachable and exits non-zero.
    assert_eq!(relay.terminate(), Some(0), "SIGTERM must end the relay cleanly");
    let o = tipctl(&us, &["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("UNREACHABLE"));

    // A tip written while the relay is down waits in the outbox and goes out on the next command.
    let o =
        tipctl(&mx, &["send", "--to", "US", "--category", "other", "--summary", "written offline", "--tlp", "green"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("safe in the outbox"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    relay.start();
    let mut delivered = false;
    for _ in 0..200 {
        let o = tipctl(&mx, &["resend"]);
        if o.status.success() {
            delivered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(delivered);
    let inbox = ok_json(&us, &["inbox", "--json"]);
    assert_eq!(inbox.as_array().unwrap().len(), 2);
    assert_eq!(inbox[0]["summary"], "written offline", "newest first");
    assert_eq!(relay.terminate(), Some(0));
}

#[test]
fn tipctl_reports_refusals_clearly_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, mx, _) = start(dir.path());
    let cases: &[(&[&str], &str)] = &[
        (
            &["send", "--to", "FR", "--category", "other", "--summary", "x", "--tlp", "red"],
            "FR is not a jurisdiction this client exchanges tips with",
        ),
        (
            &["send", "--to", "MX", "--category", "other", "--summary", "x", "--tlp", "red"],
            "`from` and `to` are both MX",
        ),
        (&["send", "--to", "US", "--category", "gossip", "--summary", "x", "--tlp", "red"], "`gossip` is not one of"),
        (&["send", "--to", "US", "--category", "other", "--summary", "x", "--tlp", "white"], "`white` is not one of"),
        (
            &[
                "send",
                "--to",
                "US",
                "--category",
                "other",
                "--summary",
                "x",
                "--tlp",
                "red",
                "--valid-until",
                "2020-01-01T00:00:00Z",
            ],
            "`valid_until` must be later than `created`",
        ),
        (
            &["send", "--to", "US", "--category", "other", "--summary", &"x".repeat(501), "--tlp", "red"],
            "at most 500 are allowed",
        ),
        (
            &[
                "send",
                "--to",
                "US",
                "--category",
                "other",
                "--summary",
                "x",
                "--tlp",
                "red",
                "--lat",
                "95",
                "--lon",
                "0",
            ],
            "latitude must be",
        ),
        (
            &["show", "01a22e23-1e90-78ab-8313-3d0fcf1a1e10"],
            "no tip 01a22e23-1e90-78ab-8313-3d0fcf1a1e10 in the local store",
        ),
    ];
    for (args, expect) in cases {
        let o = tipctl(&mx, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "tipctl {args:?} should fail: {err}");
        assert!(err.contains(expect), "tipctl {args:?}: expected `{expect}` in: {err}");
    }
    // Nothing invalid entered the outbox.
    assert_eq!(ok_json(&mx, &["outbox", "--json"]).as_array().unwrap().len(), 0);
    assert_eq!(relay.terminate(), Some(0));
}

#[test]
fn tiprelay_refuses_an_invalid_configuration_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let rt = make_pki(dir.path(), "127.0.0.1:4433".parse().unwrap(), |t| {
        *t = t.replace(
            "[[pair]]\njurisdictions = [\n    \"MX\",\n    \"US\",\n]",
            "[[pair]]\njurisdictions = [\"MX\", \"XX\"]",
        )
    });
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay")).args(["serve", "--config"]).arg(&rt).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pair[0].jurisdictions") && err.contains("XX is not a configured [[jurisdiction]]"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay")).args(["check-config", "--config"]).arg(&rt).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn send_from_files_and_watch_live() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, mx, us) = start(dir.path());

    // `tipctl watch --json` on the US side prints each tip as it arrives.
    let mut watch = Command::new(tipctl_bin())
        .env("TIPCTL_CONFIG", &us)
        .args(["watch", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // A tip written as TOML, another as JSON.
    let toml = dir.path().join("tip.toml");
    std::fs::write(&toml, "to = \"US\"\ncategory = \"fentanyl_precursors\"\nsummary = \"Precursor shipment at Manzanillo\"\ntlp = \"amber+strict\"\nurgency = \"priority\"\nsource_reliability = \"C\"\ninfo_credibility = 3\n[location]\nlat = 19.05\nlon = -104.31\nradius_m = 800\nport_of_entry = \"Manzanillo\"\n").unwrap();
    let a = ok_json(&mx, &["send", "--file", toml.to_str().unwrap(), "--json"]);
    let json = dir.path().join("tip.json");
    std::fs::write(&json, r#"{"to": "US", "category": "fuel_theft", "summary": "Tapping on the Tula pipeline", "tlp": "green", "valid_until": "+2h"}"#).unwrap();
    let b = ok_json(&mx, &["send", "--file", json.to_str().unwrap(), "--json"]);
    assert_eq!(b["receipt"]["seq"], 2);
    // An unknown field in a tip file is an error, not silently dropped.
    std::fs::write(&json, r#"{"to": "US", "category": "other", "summary": "x", "tlp": "red", "colour": "blue"}"#)
        .unwrap();
    let o = tipctl(&mx, &["send", "--file", json.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("colour"));

    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen.len() < 2 && std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["event"] == "tip" {
                seen.push(v);
            }
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(seen.len(), 2, "watch printed {seen:?}");
    assert_eq!(seen[0]["id"], a["id"]);
    assert_eq!(seen[0]["tlp"], "amber+strict");
    assert_eq!(seen[0]["verified"], true);
    assert_eq!(seen[1]["category"], "fuel_theft");
    // Watch acknowledged as it went: nothing is pending for US any more.
    assert_eq!(ok_json(&us, &["status", "--json"])["pending_at_relay"], 0);
    assert_eq!(relay.terminate(), Some(0));
}

#[test]
fn the_demo_runs_and_narrates() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "demo failed: {out}\n{}", String::from_utf8_lossy(&o.stderr));
    for expect in [
        "MX analyst reports an armed group",
        "receipt: seq 1 (MX→US)",
        "verified signer: tiprelay://MX/analyst/analyst-1",
        "acknowledged by tiprelay://US/analyst/analyst-1",
        "duplicate=true, same receipt seq 1",
        "Done: 2 tips exchanged",
    ] {
        assert!(out.contains(expect), "demo output lacks `{expect}`:\n{out}");
    }
    // A second run into the same directory refuses instead of overwriting it.
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("must not exist yet"));
}
