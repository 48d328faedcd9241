//! The demo binary, as the README runs it: it narrates every step and exits 0; a second run
//! into the same directory refuses to overwrite it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn the_demo_runs_and_narrates() {
    let dir = tempfile::tempdir().unwrap();
    let o =
        Command::new(env!("CARGO_BIN_EXE_tiprelay-demo")).arg("--dir").arg(dir.path().join("demo")).output().unwrap();
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
    let o =
        Command::new(env!("CARGO_BIN_EXE_tiprelay-demo")).arg("--dir").arg(dir.path().join("demo")).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("must not exist yet"));
}
