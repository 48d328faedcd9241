//! The demo binary, as the README runs it: it narrates every step and exits 0; a second run
//! into the same directory refuses to overwrite it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// The demo narrating in English, whatever the language of the environment running the tests.
fn english(mut c: Command) -> Command {
    c.env_remove("LC_ALL").env_remove("LC_MESSAGES").env("LANG", "C.UTF-8");
    c
}

#[test]
fn the_demo_runs_and_narrates() {
    let dir = tempfile::tempdir().unwrap();
    let o = english(Command::new(env!("CARGO_BIN_EXE_tiprelay-demo")))
        .arg("--dir")
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
    let o = english(Command::new(env!("CARGO_BIN_EXE_tiprelay-demo")))
        .arg("--dir")
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("must not exist yet"));
}

#[test]
fn the_federated_demo_goes_through_both_relays_and_survives_a_cut_link() {
    let dir = tempfile::tempdir().unwrap();
    let o = english(Command::new(env!("CARGO_BIN_EXE_tiprelay-demo")))
        .arg("--federated")
        .arg("--dir")
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "federated demo failed: {out}\n{}", String::from_utf8_lossy(&o.stderr));
    for expect in [
        "home receipt: seq 1 signed by tiprelay://MX/relay/mx",
        "receipted by tiprelay://US/relay/us",
        "MX holds both receipts: seq 1 by tiprelay://MX/relay/mx (home) and seq 1 by tiprelay://US/relay/us (across)",
        "MX received verified feedback from tiprelay://US/analyst/analyst-1: interdicted",
        "1 tip(s) queued for the link",
        "US received seq 2 and acknowledged it",
        "each hold 2 tips with the same numbers",
        "cosigned by tiprelay://US/relay/us and tiprelay://MX/analyst/analyst-1",
        "cosigned by tiprelay://MX/relay/mx and tiprelay://US/analyst/analyst-1",
        "Done: each side's tips crossed the border exactly once",
    ] {
        assert!(out.contains(expect), "federated demo output lacks `{expect}`:\n{out}");
    }
}
