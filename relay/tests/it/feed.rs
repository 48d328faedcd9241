//! `tipctl feed` as an operator runs it (issue 7): bad lines, kill -9 mid-file, a relay
//! restart mid-feed. Every valid line must reach the counterpart exactly once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn tipctl_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_tiprelay")).with_file_name("tipctl");
    assert!(p.exists(), "{} is missing: run the workspace tests so it is built", p.display());
    p
}

fn tipctl(cfg: &Path, args: &[&str]) -> Output {
    Command::new(tipctl_bin()).env("TIPCTL_CONFIG", cfg).args(args).output().unwrap()
}

fn feed_child(cfg: &Path, input: &Path) -> Child {
    Command::new(tipctl_bin())
        .env("TIPCTL_CONFIG", cfg)
        .args(["feed", "--input"])
        .arg(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn start(dir: &Path) -> (RelayProcess, PathBuf, PathBuf, PathBuf) {
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let rt = make_pki(dir, addr, |_| {});
    let relay = RelayProcess::spawn(&rt, &dir.join("relay.log"));
    let (feed, us) = (dir.join("pki/MX/feed.toml"), dir.join("pki/US/analyst.toml"));
    for _ in 0..200 {
        if tipctl(&us, &["status"]).status.success() {
            return (relay, rt, feed, us);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("relay did not start");
}

fn line(i: usize, with_ref: bool) -> String {
    let r = if with_ref { format!(r#","source_ref":"cam-{i}""#) } else { String::new() };
    format!(r#"{{"to":"US","category":"fuel_theft","summary":"feed event {i}","tlp":"amber"{r}}}"#)
}

/// Every summary the US analyst holds, with how many times.
fn received(us: &Path) -> HashMap<String, usize> {
    let o = tipctl(us, &["inbox", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut m = HashMap::new();
    for t in v.as_array().unwrap() {
        *m.entry(t["summary"].as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    m
}

fn summary(o: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&o.stdout);
    let last = text.lines().last().unwrap_or_else(|| panic!("no summary: {text}"));
    serde_json::from_str(last).unwrap()
}

#[test]
fn bad_lines_are_rejected_with_their_number_and_the_rest_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, _, feed, us) = start(dir.path());
    let input = dir.path().join("events.jsonl");
    let mut bytes = Vec::new();
    let mut good = 0;
    for i in 0..20 {
        bytes.extend_from_slice(line(i, i % 2 == 0).as_bytes());
        bytes.push(b'\n');
        good += 1;
    }
    let bad: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        br#"{"to":"US","category":"weather","summary":"x","tlp":"green"}"#.to_vec(),
        br#"{"to":"US","category":"other","summary":"no label"}"#.to_vec(),
        format!(r#"{{"to":"US","category":"other","summary":"{}","tlp":"green"}}"#, "s".repeat(600)).into_bytes(),
        b"{\"to\":\"US\",\"category\":\"other\",\"summary\":\"\xff\xfe\",\"tlp\":\"green\"}".to_vec(),
    ];
    let mut bad_lines = Vec::new();
    for b in &bad {
        bytes.extend_from_slice(b);
        bytes.push(b'\n');
        bad_lines.push(good + bad_lines.len() + 1);
    }
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(line(99, true).as_bytes());
    bytes.push(b'\n');
    good += 1;
    std::fs::write(&input, &bytes).unwrap();

    let o = tipctl(&feed, &["feed", "--input", input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "rejected lines do not fail the run: {}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&o);
    assert_eq!(
        (s["event"].as_str(), s["rejected"].as_u64(), s["receipted"].as_u64()),
        (Some("summary"), Some(5), Some(good as u64))
    );
    let err = String::from_utf8_lossy(&o.stderr);
    for n in &bad_lines {
        assert!(err.contains(&format!("line {n}: rejected")), "line {n} not named: {err}");
    }
    assert!(!err.contains("no label"), "reasons never echo content");
    let rejects = std::fs::read(dir.path().join("events.jsonl.rejects")).unwrap();
    let rejects = String::from_utf8_lossy(&rejects);
    assert_eq!(rejects.lines().count(), 5);
    for (n, l) in bad_lines.iter().zip(rejects.lines()) {
        assert!(l.starts_with(&format!("{n}\t")), "{l}");
    }
    let got = received(&us);
    assert_eq!(got.len(), good);
    assert!(got.values().all(|n| *n == 1));

    // Re-reading the same file sends nothing again; --strict on a file with a bad line fails.
    let o = tipctl(&feed, &["feed", "--input", input.to_str().unwrap()]);
    assert_eq!(summary(&o)["queued"], 0);
    let strict_input = dir.path().join("strict.jsonl");
    std::fs::write(&strict_input, format!("{}\n{{oops\n", line(500, true))).unwrap();
    let o = tipctl(&feed, &["feed", "--input", strict_input.to_str().unwrap(), "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(received(&us).len(), good + 1, "the valid line of the strict run is still delivered");
    relay.terminate();
}

#[test]
fn a_feed_killed_mid_file_and_restarted_delivers_every_line_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, _, feed, us) = start(dir.path());
    let input = dir.path().join("big.jsonl");
    const N: usize = 6000;
    let text: String = (0..N).map(|i| line(i, i % 3 != 0) + "\n").collect();
    std::fs::write(&input, text).unwrap();
    // Kill it twice at different points, then let it finish.
    let mut killed_running = 0;
    for delay in [300u64, 700] {
        let mut child = feed_child(&feed, &input);
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert!(killed_running > 0, "the feed finished before any kill: the test would prove nothing");
    let o = tipctl(&feed, &["feed", "--input", input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(summary(&o)["waiting"], 0);
    let got = received(&us);
    assert_eq!(got.len(), N, "every valid line delivered");
    let dup: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "delivered twice: {dup:?}");
    relay.terminate();
}

#[test]
fn a_relay_restart_during_a_feed_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, _, feed, us) = start(dir.path());
    let input = dir.path().join("restart.jsonl");
    const N: usize = 2000;
    let text: String = (0..N).map(|i| line(i, true) + "\n").collect();
    std::fs::write(&input, text).unwrap();
    let mut child = feed_child(&feed, &input);
    std::thread::sleep(Duration::from_millis(300));
    relay.terminate();
    assert!(child.try_wait().unwrap().is_none(), "the feed finished before the relay went down");
    std::thread::sleep(Duration::from_millis(1200));
    relay.start();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the feed did not finish after the relay came back");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success());
    let got = received(&us);
    assert_eq!(got.len(), N);
    assert!(got.values().all(|n| *n == 1));
    relay.terminate();
}

#[test]
fn a_full_store_stops_the_feed_clearly_and_loses_nothing_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, _, feed, us) = start(dir.path());
    // A 1 MiB cap on the feed's local store stands in for a full disk (same code path: the
    // batch is refused whole, reading stops).
    let text = std::fs::read_to_string(&feed).unwrap();
    let capped = dir.path().join("pki/MX/feed-capped.toml");
    std::fs::write(&capped, format!("max_store_mb = 1\n{text}")).unwrap();
    let input = dir.path().join("many.jsonl");
    const N: usize = 3_000;
    let body: String = (0..N).map(|i| line(i, true) + "\n").collect();
    std::fs::write(&input, body).unwrap();
    let o = tipctl(&capped, &["feed", "--input", input.to_str().unwrap(), "--batch", "256"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("size limit") && err.contains("stopped reading after line"), "{err}");
    let first = received(&us);
    assert!(!first.is_empty() && first.len() < N, "{} delivered before the store filled", first.len());
    assert!(first.values().all(|n| *n == 1));
    // Room again: the feed continues where it stopped; every line exactly once.
    let o = tipctl(&feed, &["feed", "--input", input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all = received(&us);
    assert_eq!(all.len(), N);
    assert!(all.values().all(|n| *n == 1));
    relay.terminate();
}

#[test]
fn a_file_replaced_at_the_same_path_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, _, feed, us) = start(dir.path());
    let input = dir.path().join("daily.jsonl");
    // Lines without source_ref: only the stored position prevents re-sending them.
    let day = |d: usize| -> String {
        (0..5)
            .map(|i| format!(r#"{{"to":"US","category":"other","summary":"day {d} event {i}","tlp":"green"}}"#) + "\n")
            .collect()
    };
    std::fs::write(&input, day(1)).unwrap();
    assert!(tipctl(&feed, &["feed", "--input", input.to_str().unwrap()]).status.success());
    // The same file grows: only the new lines are sent.
    std::fs::write(&input, day(1) + &day(2)).unwrap();
    assert!(tipctl(&feed, &["feed", "--input", input.to_str().unwrap()]).status.success());
    // Rotated: a new file at the same path starts from its first line.
    std::fs::write(&input, day(3)).unwrap();
    let o = tipctl(&feed, &["feed", "--input", input.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(summary(&o)["queued"], 5);
    let got = received(&us);
    assert_eq!(got.len(), 15, "{got:?}");
    assert!(got.values().all(|n| *n == 1));
    relay.terminate();
}
