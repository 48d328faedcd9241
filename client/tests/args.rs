//! `tipctl` argument handling without a relay (this also makes `cargo test --workspace`
//! build the `tipctl` binary that the relay's end-to-end CLI tests drive).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn tipctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tipctl")).args(args).env_remove("TIPCTL_CONFIG").output().unwrap()
}

#[test]
fn help_teaches_the_commands() {
    let o = tipctl(&["--help"]);
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    for c in ["send", "inbox", "show", "watch", "outbox", "resend", "status", "TIPCTL_CONFIG"] {
        assert!(s.contains(c), "--help does not mention {c}");
    }
}

#[test]
fn missing_configuration_is_a_clear_error() {
    let o = tipctl(&["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--config FILE or set TIPCTL_CONFIG"));
    let o = tipctl(&["--config", "/nonexistent/x.toml", "inbox"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read the configuration /nonexistent/x.toml"));
}

#[test]
fn send_requires_the_mandatory_fields() {
    let o = tipctl(&["--config", "x.toml", "send", "--to", "US", "--category", "other", "--summary", "s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--tlp"), "an unlabeled tip must be refused at the CLI");
}
