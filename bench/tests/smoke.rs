//! A smoke run of tipbench (a few hundred tips): the JSON contract holds. Figures are not
//! asserted: these machines are shared and noisy; benchmarks are run by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn run(args: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_tipbench")).args(args).output().unwrap();
    assert!(o.status.success(), "tipbench {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn every_mode_reports_its_contract_fields() {
    let v = run(&["--json", "ingest", "--tips", "200", "--senders", "4", "--window", "8"]);
    assert_eq!(v["mode"], "ingest");
    assert_eq!(v["tips"], 200);
    for k in ["tips_per_sec", "verify_ceiling_per_sec", "ratio", "receipt_p50_ms", "receipt_p99_ms"] {
        assert!(v[k].is_number(), "{k} in {v}");
    }
    assert!(v["machine"]["fsync_median_ms"].is_number());
    // The relay's /metrics, scraped after the run, counts exactly the tips receipted.
    assert_eq!(v["metrics_tips_accepted"], 200.0, "{v}");
    assert_eq!(v["metrics_match_receipts"], true);
    let v = run(&["--json", "e2e", "--tips", "200"]);
    assert_eq!((v["mode"].as_str(), v["tips"].as_u64()), (Some("e2e"), Some(200)));
    let v = run(&["--json", "feed", "--lines", "200"]);
    assert_eq!((v["mode"].as_str(), v["receipted"].as_u64()), (Some("feed"), Some(200)));
    let v = run(&["--json", "backlog", "--tips", "300"]);
    assert_eq!((v["mode"].as_str(), v["drained"].as_u64()), (Some("backlog"), Some(300)));
    assert!(v["relay_rss_mib_queued"].is_number() && v["restart_to_serving_secs"].is_number(), "{v}");
    // One `submit` per tip, and batches.
    let v = run(&["--json", "ingest", "--tips", "200", "--senders", "4", "--batch", "1"]);
    assert_eq!((v["tips"].as_u64(), v["batch"].as_u64()), (Some(200), Some(1)));
    let v = run(&["--json", "send", "--runs", "2"]);
    assert_eq!((v["mode"].as_str(), v["runs"].as_u64()), (Some("send"), Some(2)));
    assert!(v["wall_p50_ms"].is_number());
    let v = run(&["--json", "export", "--entries", "3000", "--checkpoint-every", "2"]);
    assert_eq!((v["mode"].as_str(), v["entries"].as_u64()), (Some("export"), Some(3000)));
    assert_eq!(v["checkpoints_signed"], 1500);
    assert!(v["checkpoints_in_header"].as_u64().unwrap() <= 1024, "{v}");
    assert_eq!(v["verified"], true);
    let v = run(&["--json", "latency", "--rate", "100", "--seconds", "1"]);
    assert_eq!(v["mode"], "latency");
    assert_eq!(v["tips"], 100);
    assert!(v["receipt_p99_ms"].is_number());
}
