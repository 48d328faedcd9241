//! The binaries as a user runs them: `tiprelay serve`, `tipctl …`, with the JSON contracts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

fn tipctl_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_tiprelay")).with_file_name("tipctl");
    assert!(
        p.exists(),
        "{} is missing: run the workspace tests (`cargo test --workspace`) so it is built",
        p.display()
    );
    p
}

pub fn tipctl(cfg: &Path, args: &[&str]) -> Output {
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
    // The principal's own counters, from its local store.
    let counters = &status["counters"];
    assert_eq!(counters["tips_received"], 1, "{status}");
    assert_eq!(counters["tips_received_acknowledged"], 1, "{status}");
    assert_eq!(counters["tips_received_unread"], 0, "{status}");
    let sender = ok_json(&mx, &["status", "--json"]);
    assert_eq!(sender["counters"]["tips_sent_receipted"], 1, "{sender}");
    assert_eq!(sender["counters"]["tips_sent_acknowledged"], 1, "{sender}");
    assert_eq!(sender["counters"]["tips_sent_unreceipted"], 0, "{sender}");

    // Graceful shutdown exits 0; then status reports the relay unreachable and exits non-zero.
    assert_eq!(relay.terminate(), Some(0), "SIGTERM must end the relay cleanly");
    let o = tipctl(&us, &["status"]);
    assert_eq!(o.status.code(), Some(3), "exit 3: relay unreachable");
    assert!(String::from_utf8_lossy(&o.stdout).contains("UNREACHABLE"));

    // A tip written while the relay is down waits in the outbox and goes out on the next command.
    let o =
        tipctl(&mx, &["send", "--to", "US", "--category", "other", "--summary", "written offline", "--tlp", "green"]);
    assert_eq!(o.status.code(), Some(3));
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
    // A signing key others may read: tipctl signs nothing with it and says how to fix it.
    let key = dir.path().join("pki/MX/analyst/sign.key");
    let mode = |m: u32| std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap();
    mode(0o644);
    let o = tipctl(&mx, &["send", "--to", "US", "--category", "other", "--summary", "x", "--tlp", "red"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("mode 0644") && err.contains(&format!("chmod 600 {}", key.display())), "{err}");
    mode(0o600);
    assert_eq!(ok_json(&mx, &["outbox", "--json"]).as_array().unwrap().len(), 0, "nothing signed with it");
    assert_eq!(relay.terminate(), Some(0));
    // The relay refuses to start with a TLS key others may read.
    let tls = dir.path().join("pki/relay/tls.key");
    std::fs::set_permissions(&tls, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(["serve", "--config"])
        .arg(dir.path().join("pki/relay.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("mode 0640") && err.contains("chmod 600"), "{err}");
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

fn send_json(cfg: &Path, to: &str, category: &str) -> String {
    let v = ok_json(
        cfg,
        &["send", "--to", to, "--category", category, "--summary", "cli ledger test", "--tlp", "green", "--json"],
    );
    v["id"].as_str().unwrap().to_owned()
}

#[test]
fn feedback_ledgers_statements_and_reconcile_from_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, mx, us) = start(dir.path());
    let a = send_json(&mx, "US", "fentanyl_precursors");
    let b = send_json(&mx, "US", "arms_trafficking");
    let c = send_json(&us, "MX", "tunnel_located");
    assert!(tipctl(&us, &["inbox"]).status.success());
    assert!(tipctl(&mx, &["inbox"]).status.success());

    // Feedback: JSON contract, several per tip, seen by the author in show/outbox.
    let f = ok_json(&us, &["feedback", &a, "--outcome", "under_review", "--json"]);
    assert_eq!((f["tip"].as_str(), f["outcome"].as_str()), (Some(a.as_str()), Some("under_review")));
    assert!(f["receipt"]["seq"].is_u64());
    ok_json(&us, &["feedback", &a, "--outcome", "seizure", "--note", "340 kg seized", "--json"]);
    let o = tipctl(&us, &["feedback", &a, "--outcome", "victory"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("under_review"), "the error lists the outcomes");
    let o = tipctl(&mx, &["feedback", &a, "--outcome", "actioned"]);
    assert!(!o.status.success(), "the author cannot give feedback on its own tip");
    assert!(String::from_utf8_lossy(&o.stderr).contains("sent from here"));
    // `outbox` collects notices (acks and feedback); `show` then displays them.
    let outbox = ok_json(&mx, &["outbox", "--json"]);
    let row = outbox.as_array().unwrap().iter().find(|r| r["id"] == a.as_str()).unwrap();
    assert_eq!(row["feedback"].as_array().unwrap().len(), 2);
    let shown = ok_json(&mx, &["show", &a, "--json"]);
    let outcomes: Vec<&str> =
        shown["feedback"].as_array().unwrap().iter().map(|x| x["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, vec!["under_review", "seizure"]);
    assert_eq!(shown["feedback"][1]["note"], "340 kg seized");
    let text = String::from_utf8(tipctl(&mx, &["show", &a]).stdout).unwrap();
    assert!(text.contains("seizure by tiprelay://US/analyst/analyst-1"), "{text}");

    // Ledgers: the JSON contract, on both sides and at the relay.
    let l = ok_json(&mx, &["ledger", "--json"]);
    let rows = l["rows"].as_array().unwrap();
    for r in rows {
        for k in ["from", "to", "category", "period"] {
            assert!(r[k].is_string(), "{k} in {r}");
        }
        for k in ["accepted", "delivered", "acknowledged", "feedback"] {
            assert!(r[k].is_u64(), "{k} in {r}");
        }
    }
    let fent = rows.iter().find(|r| r["category"] == "fentanyl_precursors").unwrap();
    assert_eq!(
        (fent["from"].as_str(), fent["sent"].as_u64(), fent["feedback"].as_u64()),
        (Some("MX"), Some(1), Some(1))
    );
    assert_eq!(fent["outcomes"]["seizure"], 1);
    assert_eq!(l["pairs"][0]["tips"]["MX->US"], 2);
    assert_eq!(l["pairs"][0]["tips"]["US->MX"], 1);
    let rl = ok_json(&mx, &["ledger", "--relay", "--json"]);
    assert_eq!(rl["view"], "relay");
    let csv = String::from_utf8(tipctl(&us, &["ledger", "--csv", "--period", "day"]).stdout).unwrap();
    assert!(csv.starts_with("from,to,category,period,sent,accepted"));
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let rt = dir.path().join("pki/relay.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(["ledger", "--config"])
        .arg(&rt)
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "tiprelay ledger while the relay runs: {}", String::from_utf8_lossy(&o.stderr));
    let relay_view: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(relay_view["rows"], rl["rows"], "the relay's CLI and its protocol answer agree");

    // Statements and reconciliation: US states, MX reconciles clean (exit 0).
    let month = l["rows"][0]["period"].as_str().unwrap().to_owned();
    let st_file = dir.path().join("us-statement.cose");
    let st = ok_json(
        &us,
        &[
            "ledger",
            "statement",
            "--for",
            &month,
            "--allow-open",
            "--out",
            st_file.to_str().unwrap(),
            "--send",
            "--json",
        ],
    );
    assert_eq!(st["tip_count"], 3);
    assert!(st["receipt"]["seq"].is_u64());
    let listed = ok_json(&mx, &["ledger", "statements", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let rec = tipctl(&mx, &["ledger", "reconcile", "--for", &month, "--grace", "0s", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&rec.stdout).unwrap();
    assert_eq!(rec.status.code(), Some(0), "{v}");
    assert_eq!(v["agree"], true);
    assert!(v["compared"].as_array().unwrap().iter().any(|c| c.as_str().unwrap().contains("US's statement")));
    // Without a period, reconcile takes the current month, and says so.
    let rec = tipctl(&mx, &["ledger", "reconcile", "--grace", "0s", "--json"]);
    assert_eq!(rec.status.code(), Some(0), "{}", String::from_utf8_lossy(&rec.stderr));
    assert!(String::from_utf8_lossy(&rec.stderr).contains(&format!("the current period, {month}")));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&rec.stdout).unwrap()["agree"], true);
    // A statement of the month still open is refused without --allow-open; one covering no
    // tip needs --yes; with no period, the last closed month is stated.
    let o = tipctl(&us, &["ledger", "statement", "--for", &month, "--out", "/dev/null"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has not ended yet"));
    let empty = dir.path().join("empty.cose");
    let o = tipctl(&us, &["ledger", "statement", "--for", "2020-01", "--out", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("covers no tip") && !empty.exists());
    let o = tipctl(&us, &["ledger", "statement", "--out", empty.to_str().unwrap(), "--yes", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the last closed month"));
    assert!(empty.exists());
    // The statement file, for another period: refused (exit 5); its own side's: refused.
    let o = tipctl(&mx, &["ledger", "reconcile", "--for", "2020-01", "--statement", st_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not the period reconciled"));
    let o = tipctl(&us, &["ledger", "reconcile", "--statement", st_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5));
    let mut bytes = std::fs::read(&st_file).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x40;
    std::fs::write(&st_file, &bytes).unwrap();
    let o = tipctl(&mx, &["ledger", "reconcile", "--statement", st_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5), "a tampered statement is refused");

    // HTML report, both languages.
    let html = dir.path().join("report.html");
    let o = tipctl(&mx, &["ledger", "--html", html.to_str().unwrap(), "--lang", "es"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("lang=\"es\""));
    // Reports, bundles and stores hold tip metadata: owner-only, from creation.
    let mode = |p: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o777;
    assert_eq!(mode(&html), 0o600, "the HTML report");
    assert_eq!(mode(&dir.path().join("pki/US/analyst/tipctl.redb")), 0o600, "a tipctl store");
    assert!(!page.contains("<script"));

    // Inject a discrepancy: US loses tip b from its store; reconcile names it (exit 6).
    let store = tiprelay_client::store::LocalStore::open(&dir.path().join("pki/US/analyst/tipctl.redb")).unwrap();
    let id: tiprelay_proto::TipId = b.parse().unwrap();
    assert!(store.forget_tip("MX", id.as_bytes()).unwrap());
    drop(store);
    let rec = tipctl(&us, &["ledger", "reconcile", "--for", &month, "--grace", "0s", "--json"]);
    assert_eq!(rec.status.code(), Some(6));
    let v: serde_json::Value = serde_json::from_slice(&rec.stdout).unwrap();
    let d = v["discrepancies"].as_array().unwrap();
    assert!(d.iter().any(|x| x["tip"] == b.as_str()), "{v}");
    assert!(ok_json(&mx, &["show", &c, "--json"])["verified"].as_bool().unwrap());
    relay.terminate();
}

#[test]
fn audit_export_verify_log_and_prove_from_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, mx, us) = start(dir.path());
    let a = send_json(&mx, "US", "fuel_theft");
    assert!(tipctl(&us, &["inbox"]).status.success());
    let w = ok_json(&mx, &["audit", "witness", "--json"]);
    assert_eq!(w["witnessed"], true, "{w}");
    let w = ok_json(&us, &["audit", "witness", "--json"]);
    assert!(w["checkpoint"]["size"].is_u64(), "{w}");
    let p = ok_json(&mx, &["audit", "prove", &a, "--json"]);
    assert_eq!(p["proven"], true);
    assert!(p["log_index"].is_u64());
    let p = ok_json(&us, &["audit", "prove", &a, "--json"]);
    assert_eq!(p["tip"], a.as_str());

    // The operator exports while the relay runs; a reviewer verifies offline, with their
    // own roots or the bundle's.
    let bundle = dir.path().join("relay.bundle");
    let rt = dir.path().join("pki/relay.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(["audit", "export", "--config"])
        .arg(&rt)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&bundle).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "an exported bundle is owner-only");
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(["audit", "export", "--config"])
        .arg(&rt)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(!o.status.success(), "an existing bundle is not overwritten");
    let v = ok_json(&mx, &["audit", "verify", bundle.to_str().unwrap(), "--json"]);
    assert_eq!(v["valid"], true, "{v}");
    let o = Command::new(tipctl_bin()).args(["audit", "verify", bundle.to_str().unwrap()]).output().unwrap();
    assert!(!o.status.success(), "without roots, verify refuses rather than trust the bundle's own");
    let o = Command::new(tipctl_bin())
        .args(["audit", "verify", bundle.to_str().unwrap(), "--anchors-from-bundle"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("VALID") && text.contains("fingerprints"), "{text}");
    let log = ok_json(&mx, &["audit", "log", bundle.to_str().unwrap(), "--event", "accepted", "--json"]);
    let rows = log.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["tip"].as_str(), rows[0]["category"].as_str()), (Some(a.as_str()), Some("fuel_theft")));
    let csv = String::from_utf8(tipctl(&mx, &["audit", "log", bundle.to_str().unwrap(), "--csv"]).stdout).unwrap();
    assert!(csv.starts_with("index,time,kind"));

    // A damaged bundle: exit 1, the place named.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let n = bytes.len();
    bytes[n - 200] ^= 0x04;
    let bad = dir.path().join("bad.bundle");
    std::fs::write(&bad, &bytes).unwrap();
    let o = tipctl(&mx, &["audit", "verify", bad.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["error"]["place"].is_string() && v["error"]["why"].is_string(), "{v}");
    let o = tipctl(&mx, &["audit", "log", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5), "a bundle that does not verify is not shown as a log");

    // Each client's own local audit log: exported, signed by the principal, verified the same way.
    let local = dir.path().join("mx-local.bundle");
    assert!(tipctl(&mx, &["outbox"]).status.success(), "collects US's ack");
    let o = tipctl(&mx, &["audit", "export", "--out", local.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = ok_json(&us, &["audit", "verify", local.to_str().unwrap(), "--json"]);
    assert_eq!(v["valid"], true, "the counterpart verifies MX's local log: {v}");
    assert_eq!(v["head"]["relay"], "tiprelay://MX/analyst/analyst-1");
    let kinds: Vec<String> = ok_json(&mx, &["audit", "log", local.to_str().unwrap(), "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    for k in ["written", "receipted", "ack_received", "relay_checkpoint_verified"] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from MX's local log: {kinds:?}");
    }
    let us_local = dir.path().join("us-local.bundle");
    assert!(tipctl(&us, &["audit", "export", "--out", us_local.to_str().unwrap()]).status.success());
    let kinds = ok_json(&us, &["audit", "log", us_local.to_str().unwrap(), "--event", "received", "--json"]);
    assert_eq!(kinds.as_array().unwrap().len(), 1);
    let mut bytes = std::fs::read(&local).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x10;
    std::fs::write(&local, &bytes).unwrap();
    assert_eq!(tipctl(&mx, &["audit", "verify", local.to_str().unwrap()]).status.code(), Some(5));
    relay.terminate();
}

/// `[relay] address` may list several relays. With the first killed, `tipctl send` reaches
/// the second (a quarter second later, not after a timeout) and gets its receipt; `status`
/// says which address answered; with none alive, the error names every address.
#[test]
fn a_client_with_two_relay_addresses_moves_to_the_second_when_the_first_dies() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mx, _) = start(dir.path());
    let rt = dir.path().join("pki/relay.toml");
    let text = std::fs::read_to_string(&rt).unwrap();
    let addr_a = std::fs::read_to_string(&mx)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("address = ").map(|v| v.trim_matches('"').to_owned()))
        .unwrap();
    // A second relay of the same deployment (same identity and PKI, its own store and port).
    let addr_b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let rt_b = dir.path().join("pki/relay-b.toml");
    std::fs::write(
        &rt_b,
        text.replace(&format!("listen = \"{addr_a}\""), &format!("listen = \"{addr_b}\""))
            .replace("relay/relay.redb", "relay/relay-b.redb"),
    )
    .unwrap();
    let mut b = RelayProcess::spawn(&rt_b, &dir.path().join("relay-b.log"));
    let both = dir.path().join("pki/MX/analyst-both.toml");
    std::fs::write(
        &both,
        std::fs::read_to_string(&mx)
            .unwrap()
            .replace(&format!("address = \"{addr_a}\""), &format!("address = [\"{addr_a}\", \"{addr_b}\"]")),
    )
    .unwrap();
    let status = ok_json(&both, &["status", "--json"]);
    assert_eq!(status["relay_address"], addr_a, "the first listed relay answers first: {status}");

    a.kill9();
    let t = std::time::Instant::now();
    let sent = ok_json(
        &both,
        &["send", "--to", "US", "--category", "other", "--summary", "via b", "--tlp", "green", "--json"],
    );
    eprintln!("send with the first relay dead took {:?}", t.elapsed());
    assert!(sent["receipt"]["seq"].as_u64().is_some(), "no receipt: {sent}");
    let status = ok_json(&both, &["status", "--json"]);
    assert_eq!(status["relay_address"], addr_b, "{status}");

    b.kill9();
    let o = tipctl(&both, &["status"]);
    assert_eq!(o.status.code(), Some(3));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&addr_a) && out.contains(&addr_b), "{out}");
}

/// `tiprelay migrate` creates the PostgreSQL schema once and then finds nothing to do;
/// `check-config` names the database without its password.
#[test]
fn tiprelay_migrate_creates_the_postgres_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = tiprelay_pgtest::Cluster::start(dir.path());
    let url = cluster.params("relay");
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let rt = make_pki(dir.path(), addr, |t| {
        *t = t.replace("store = \"relay/relay.redb\"\n", "");
        t.push_str(&format!("\n[store]\nkind = \"postgres\"\nurl = \"{url}\"\n"));
    });
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_tiprelay")).args(args).arg("--config").arg(&rt).output().unwrap();
        assert!(o.status.success(), "tiprelay {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let before = run(&["check-config"]);
    assert!(before.contains("no relay store yet"), "{before}");
    let first: serde_json::Value = serde_json::from_str(&run(&["migrate", "--json"])).unwrap();
    let current = i64::from(tiprelay::storage::postgres::schema::VERSION);
    assert_eq!((first["schema_before"].as_i64(), first["schema"].as_i64()), (Some(0), Some(current)), "{first}");
    let again = run(&["migrate"]);
    assert!(again.contains("nothing to migrate"), "{again}");
    let check = run(&["check-config"]);
    assert!(check.contains("store postgres host=") && check.contains("dbname=relay"), "{check}");
    assert!(check.contains(&format!("relay schema version {current} (current)")), "{check}");
    // A database that does not answer fails the check, naming it.
    drop(cluster);
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay")).args(["check-config", "--config"]).arg(&rt).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the database cannot be reached"), "{err}");
}

/// Issue 17's conventions, from the binary: Spanish help and errors, case-insensitive
/// values, negative durations, id prefixes, exit codes by class, whose certificate failed,
/// completions and man pages.
#[test]
fn the_cli_conventions_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (mut relay, mx, us) = start(dir.path());
    let es = |cfg: &Path, args: &[&str]| {
        Command::new(tipctl_bin()).env("TIPCTL_CONFIG", cfg).env("LANG", "es_MX.UTF-8").args(args).output().unwrap()
    };

    // Spanish help and usage errors (exit 2).
    let o = Command::new(tipctl_bin()).env("LANG", "es_MX.UTF-8").arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && help.contains("Uso: tipctl [OPCIONES] <COMANDO>") && help.contains("Comandos:"),
        "{help}"
    );
    assert!(help.contains("Escribir, firmar y enviar un aviso"), "{help}");
    let o = es(&mx, &["sned"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("comando desconocido"));

    // Enumerated values in any case; a negative duration is a value, not a flag.
    let sent = ok_json(
        &mx,
        &[
            "send",
            "--to",
            "us",
            "--category",
            "FUEL_THEFT",
            "--summary",
            "Toma clandestina km 212",
            "--tlp",
            "AMBER",
            "--urgency",
            "Priority",
            "--observed-at",
            "-15m",
            "--valid-until",
            "+6h",
            "--reliability",
            "b",
            "--json",
        ],
    );
    assert_eq!(sent["tlp"], "amber");
    let second = ok_json(
        &mx,
        &["send", "--to", "US", "--category", "other", "--summary", "segundo", "--tlp", "green", "--json"],
    );

    // The inbox table shows short ids and fits the terminal; `show` takes any unique prefix
    // and lists ambiguous ones.
    let o = Command::new(tipctl_bin()).env("TIPCTL_CONFIG", &us).env("COLUMNS", "100").arg("inbox").output().unwrap();
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(table.lines().all(|l| l.chars().count() <= 100), "wider than 100 columns:\n{table}");
    let (a, b) = (sent["id"].as_str().unwrap().to_owned(), second["id"].as_str().unwrap().to_owned());
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let unique: String = a.chars().take(common.max(7) + 1).collect();
    assert!(table.contains(&unique[..8]), "{table}");
    let shown = String::from_utf8_lossy(&tipctl(&us, &["show", &unique]).stdout).into_owned();
    assert!(shown.contains(&a) && shown.contains("Toma clandestina"), "{shown}");
    if common >= 4 {
        let o = tipctl(&us, &["show", &a[..common]]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&a) && err.contains(&b), "an ambiguous prefix lists the candidates: {err}");
    }
    let o = es(&us, &["show", "zz"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no es un identificador"), "errors in Spanish");
    // A feed's rejected line is reported in Spanish on stderr; the rejects file (a
    // machine-readable record) keeps the English reason.
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, "{\"to\":\"US\",\"category\":\"weather\",\"summary\":\"x\",\"tlp\":\"green\"}\n").unwrap();
    let o = es(&dir.path().join("pki/MX/feed.toml"), &["feed", "--input", events.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("línea 1: rechazada: category:") && err.contains("no es uno de"), "{err}");
    let rejects = std::fs::read_to_string(dir.path().join("events.jsonl.rejects")).unwrap();
    assert!(rejects.starts_with("1\tcategory: field `category`: `weather` is not one of"), "{rejects}");
    // A proto validation error, in Spanish.
    let o = es(&mx, &["send", "--to", "US", "--category", "other", "--summary", "", "--tlp", "green"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("`summary` está vacío"), "{err}");
    // Spanish tables and status.
    let o = es(&us, &["status"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("entrada:"), "{}", String::from_utf8_lossy(&o.stdout));
    let v = ok_json(&mx, &["resend", "--json"]);
    assert!(v["sent"].is_array() && v["refused"].is_array(), "{v}");

    // A client of another PKI: the relay's certificate is the one that failed, exit 4.
    let other = tempfile::tempdir().unwrap();
    let addr = std::fs::read_to_string(&mx).unwrap();
    let addr = addr.lines().find(|l| l.starts_with("address")).unwrap().split('"').nth(1).unwrap().parse().unwrap();
    make_pki(other.path(), addr, |_| {});
    let o = tipctl(&other.path().join("pki/US/analyst.toml"), &["status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(4), "a certificate refusal is exit 4: {out}");
    assert!(out.contains("RELAY's certificate failed this client's check"), "{out}");
    let o = tipctl(&other.path().join("pki/US/analyst.toml"), &["inbox"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("RELAY's certificate"));
    let o = tipctl(&other.path().join("pki/US/analyst.toml"), &["resend"]);
    assert_eq!(o.status.code(), Some(4), "a certificate refusal is exit 4");

    // Completions and man pages, in the current language.
    let o = Command::new(tipctl_bin()).args(["completions", "bash"]).output().unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("_tipctl"));
    let man = dir.path().join("man");
    let o = Command::new(tipctl_bin())
        .env("LANG", "es_MX.UTF-8")
        .args(["man", "--out", man.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(man.join("tipctl-send.1")).unwrap();
    assert!(page.contains("firmar y enviar"), "{page}");
    assert!(man.join("tipctl-ledger-reconcile.1").exists());

    // A stopped relay is reported within the configured 2 s, saying so.
    relay.terminate();
    let o = tipctl(&us, &["status"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no answer within 2000 ms"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
