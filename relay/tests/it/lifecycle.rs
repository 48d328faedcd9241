//! Key lifecycle (issue 18): warnings before certificates expire (`tipctl status`,
//! `tiprelay check-config`, the relay's log and its expiry metric), and `tipcerts renew`
//! of principal and relay certificates while clients stay connected, with tips and
//! receipts signed before the renewal still verifying after it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::common::*;

pub(crate) fn bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_tiprelay")).with_file_name(name);
    assert!(p.exists(), "{} is missing: `cargo build --workspace` first", p.display());
    p
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) fn tipctl(cfg: &Path, args: &[&str]) -> Output {
    Command::new(bin("tipctl"))
        .env("TIPCTL_CONFIG", cfg)
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .args(args)
        .output()
        .unwrap()
}

fn tipctl_es(cfg: &Path, args: &[&str]) -> Output {
    Command::new(bin("tipctl"))
        .env("TIPCTL_CONFIG", cfg)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "es_MX.UTF-8")
        .args(args)
        .output()
        .unwrap()
}

pub(crate) fn ok_json(cfg: &Path, args: &[&str]) -> serde_json::Value {
    let o = tipctl(cfg, args);
    assert!(o.status.success(), "tipctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("tipctl {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

pub(crate) fn tipcerts(args: &[&str]) -> String {
    tipcerts_with(&[], args)
}

/// `tipcerts` with extra environment variables (e.g. `SOFTHSM2_CONF`); its stdout.
pub(crate) fn tipcerts_with(env: &[(&str, &Path)], args: &[&str]) -> String {
    let mut c = Command::new(bin("tipcerts"));
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.env("LANG", "C").env_remove("LC_ALL").args(args).output().unwrap();
    assert!(o.status.success(), "tipcerts {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

pub(crate) fn tiprelay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiprelay")).env("LANG", "C").env_remove("LC_ALL").args(args).output().unwrap()
}

pub(crate) fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Waits (bounded, 10 s) until `cfg`'s principal reaches the relay.
pub(crate) fn wait_for_relay(cfg: &Path, log: &Path) {
    for _ in 0..200 {
        if tipctl(cfg, &["status"]).status.success() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("relay did not start: {}", std::fs::read_to_string(log).unwrap_or_default());
}

/// A tipctl configuration for `tiprelay://MX/analyst/<name>` whose certificates are in
/// `pki/MX/<name>`: a copy of the MX analyst's with its own identity, keys and store.
fn principal_config(pki: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(pki.join("MX/analyst.toml")).unwrap();
    let text = text.replace("tiprelay://MX/analyst/analyst-1", &format!("tiprelay://MX/analyst/{name}"));
    let text = text.replace("\"analyst/", &format!("\"{name}/"));
    let cfg = pki.join(format!("MX/{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// The first certificate of a PEM file, summarized.
pub(crate) fn summary(p: &Path) -> tiprelay_proto::CertSummary {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_file(p).unwrap();
    tiprelay_proto::summarize_certificate(&der).unwrap()
}

/// Moves the renewed files of `new` over the ones in `old` (each rename atomic), as an
/// operator installs them.
pub(crate) fn install(new: &Path, old: &Path) {
    for f in ["tls.crt", "tls.key", "sign.crt", "sign.key"] {
        std::fs::rename(new.join(f), old.join(f)).unwrap();
    }
}

/// A relay process on `rt` (the dev PKI in `dir/pki`, logging to `dir/relay.log`), the
/// MX and US analysts' configurations, and the US analyst's `watch` connected to it.
pub(crate) struct Watched {
    pub relay: RelayProcess,
    pub log: PathBuf,
    pub mx: PathBuf,
    pub us: PathBuf,
    pub watcher: Child,
    pub rx: Receiver<String>,
}

/// Starts the relay of `rt`, waits until the MX analyst reaches it, and starts the US
/// analyst's `watch`.
pub(crate) fn relay_and_watch(dir: &Path, rt: &Path) -> Watched {
    let pki = dir.join("pki");
    let log = dir.join("relay.log");
    let relay = RelayProcess::spawn(rt, &log);
    let (mx, us) = (pki.join("MX/analyst.toml"), pki.join("US/analyst.toml"));
    wait_for_relay(&mx, &log);
    let (watcher, rx) = watch(&us);
    Watched { relay, log, mx, us, watcher, rx }
}

/// `tipctl watch --json` as a child process, its lines on a channel.
pub(crate) fn watch(cfg: &Path) -> (Child, Receiver<String>) {
    let mut child = Command::new(bin("tipctl"))
        .env("TIPCTL_CONFIG", cfg)
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The `tip` events `watch` prints until `ids` have all been seen (bounded: 30 s).
pub(crate) fn seen_tips(rx: &Receiver<String>, ids: &[&str], seen: &mut Vec<serde_json::Value>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ids.iter().all(|id| seen.iter().any(|v| v["id"] == *id)) && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["event"] == "tip" {
                seen.push(v);
            }
        }
    }
    for id in ids {
        assert!(seen.iter().any(|v| v["id"] == *id), "watch did not print {id}: {seen:?}");
    }
}

pub(crate) fn send(cfg: &Path, summary: &str) -> serde_json::Value {
    ok_json(cfg, &["send", "--to", "US", "--category", "other", "--summary", summary, "--tlp", "green", "--json"])
}

pub(crate) fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn certificates_expiring_within_30_days_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let rt = make_pki(dir.path(), addr, |_| {});
    let pki = dir.path().join("pki");

    // A principal whose certificates end in 10 days, and relay certificates that do too.
    let short = pki.join("MX/short");
    tipcerts(&[
        "issue",
        "--ca",
        s(&pki.join("MX/ca")),
        "--principal",
        "tiprelay://MX/analyst/short",
        "--out",
        s(&short),
        "--days",
        "10",
    ]);
    let short_cfg = principal_config(&pki, "short");
    tipcerts(&[
        "issue-relay",
        "--ca",
        s(&pki.join("operator-ca")),
        "--name",
        "dev-relay",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
        "--out",
        s(&pki.join("relay-short")),
        "--days",
        "10",
    ]);
    let short_rt = pki.join("relay-short.toml");
    std::fs::write(
        &short_rt,
        std::fs::read_to_string(&rt)
            .unwrap()
            .replace("\"relay/tls.", "\"relay-short/tls.")
            .replace("\"relay/sign.", "\"relay-short/sign."),
    )
    .unwrap();

    // check-config: every certificate with its date; nothing to warn about in the dev PKI.
    let o = tiprelay(&["check-config", "--config", s(&rt)]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for name in ["tls", "signing", "root:MX", "root:US", "root:OPERATOR"] {
        assert!(out.contains(&format!("certificate {name} (")), "{name} missing: {out}");
    }
    assert!(out.contains("valid until") && !out.contains("WARNING"), "{out}");
    // With the short-lived relay certificates: a warning for each, naming file, identity and date.
    let o = tiprelay(&["check-config", "--config", s(&short_rt)]);
    let out = text(&o);
    assert!(o.status.success(), "a warning, not a refusal: {out}");
    let until = tiprelay_common::expiry::date(summary(&pki.join("relay-short/tls.crt")).not_after);
    for f in ["relay-short/tls.crt", "relay-short/sign.crt"] {
        let line = out.lines().find(|l| l.contains(f)).unwrap_or_else(|| panic!("{f} missing: {out}"));
        assert!(line.contains("WARNING: certificate") && line.contains("expires on"), "{line}");
        assert!(line.contains("tiprelay://OPERATOR/relay/dev-relay") && line.contains(&until), "{line}");
        assert!(line.contains("in 9 days") && line.contains("tipcerts renew"), "{line}");
    }
    assert!(out.contains("certificate root:MX (") && out.contains("valid until"), "{out}");
    let v: serde_json::Value =
        serde_json::from_slice(&tiprelay(&["check-config", "--json", "--config", s(&short_rt)]).stdout).unwrap();
    let notes: Vec<&str> = v["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(notes.iter().filter(|n| n.starts_with("WARNING: certificate")).count(), 2, "{notes:?}");

    // The relay serving on those certificates logs a warning at start.
    let log = dir.path().join("relay.log");
    let mut relay = RelayProcess::spawn(&short_rt, &log);
    wait_for_relay(&short_cfg, &log);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.matches("certificate expires within 30 days").count(), 2, "{logged}");
    assert!(logged.contains("relay-short/tls.crt") && logged.contains("relay-short/sign.crt"), "{logged}");

    // tipctl status: a warning per certificate of the short-lived principal.
    let o = tipctl(&short_cfg, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{out}");
    let until = tiprelay_common::expiry::date(summary(&short.join("sign.crt")).not_after);
    for f in ["MX/short/tls.crt", "MX/short/sign.crt"] {
        let line = out.lines().find(|l| l.contains(f)).unwrap_or_else(|| panic!("{f} missing: {out}"));
        assert!(line.starts_with("certificates:") && line.contains("WARNING: certificate"), "{line}");
        assert!(line.contains("tiprelay://MX/analyst/short") && line.contains(&until), "{line}");
        assert!(line.contains("in 9 days") && line.contains("tipcerts renew"), "{line}");
    }
    let v = ok_json(&short_cfg, &["status", "--json"]);
    let expiring = v["expiring"].as_array().unwrap();
    assert_eq!(expiring.len(), 2, "{v}");
    assert_eq!(expiring[0]["certificate"], "tls");
    assert_eq!(expiring[1]["certificate"], "signing");
    assert_eq!(expiring[1]["identity"], "tiprelay://MX/analyst/short");
    assert_eq!(expiring[1]["state"], "expires_soon");
    assert_eq!(expiring[1]["days_left"], 9);
    // In Spanish.
    let o = tipctl_es(&short_cfg, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = out.lines().find(|l| l.contains("MX/short/sign.crt")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with("certificados:") && line.contains("AVISO: el certificado signing"), "{line}");
    assert!(line.contains("caduca el") && line.contains("dentro de 9 días") && line.contains("renuévelo"), "{line}");
    // A principal with a year left: no warning, and an empty list.
    let mx = pki.join("MX/analyst.toml");
    let o = tipctl(&mx, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("certificates: none expires within 30 days") && !out.contains("WARNING"), "{out}");
    assert_eq!(ok_json(&mx, &["status", "--json"])["expiring"], serde_json::json!([]));
    assert_eq!(relay.terminate(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_exports_each_certificates_expiry_as_a_metric() {
    let mut w = World::start_with(|t| t.push_str("\n[metrics]\nlisten = \"127.0.0.1:0\"\n")).await;
    let addr = w.relay.as_ref().unwrap().metrics_addr().expect("metrics configured");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: relay\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let pki = w.path().join("pki");
    for (label, file) in [
        ("tls", "relay/tls.crt"),
        ("signing", "relay/sign.crt"),
        ("root:MX", "MX/ca/ca.crt"),
        ("root:US", "US/ca/ca.crt"),
        ("root:OPERATOR", "operator-ca/ca.crt"),
    ] {
        let secs = summary(&pki.join(file)).not_after.as_unix_ms() / 1000;
        let line = format!("tiprelay_certificate_expiry_seconds{{certificate=\"{label}\"}} {secs}");
        assert!(body.lines().any(|l| l == line), "{line} missing: {body}");
    }
    w.relay.take().unwrap().shutdown().await.unwrap();
}

/// A principal's certificates renewed while its client and the recipient's `watch` stay
/// connected: tips signed with the old key before and with the new key after both arrive
/// verified, none lost, and the relay's audit log (old receipts included) verifies.
#[test]
fn renewing_a_principal_while_connected_keeps_old_and_new_tips_verifying() {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let rt = make_pki(dir.path(), addr, |_| {});
    let pki = dir.path().join("pki");
    let Watched { mut relay, log: _, mx, us, mut watcher, rx } = relay_and_watch(dir.path(), &rt);
    let mut seen = Vec::new();

    let a = send(&mx, "signed with the old key");
    let a_id = a["id"].as_str().unwrap();
    seen_tips(&rx, &[a_id], &mut seen);
    let old_sign = summary(&pki.join("MX/analyst/sign.crt"));

    // Renew both principals (the sender's and the watching recipient's) and install the
    // new files; the old certificates are left valid.
    for j in ["MX", "US"] {
        let new = pki.join(format!("{j}/analyst-new"));
        let out = tipcerts(&[
            "renew",
            "--ca",
            s(&pki.join(format!("{j}/ca"))),
            "--cert",
            s(&pki.join(format!("{j}/analyst/sign.crt"))),
            "--out",
            s(&new),
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["renewed"], format!("tiprelay://{j}/analyst/analyst-1"));
        assert_eq!(v["old_revoked"], false);
        install(&new, &pki.join(format!("{j}/analyst")));
    }
    let new_sign = summary(&pki.join("MX/analyst/sign.crt"));
    assert_eq!(new_sign.identity, old_sign.identity);
    assert_ne!(new_sign.ed25519_public_key, old_sign.ed25519_public_key);

    // The next tip is signed with the new key; the watch that connected before the renewal
    // (still on the recipient's old TLS certificate) receives it verified.
    let b = send(&mx, "signed with the new key");
    let b_id = b["id"].as_str().unwrap();
    seen_tips(&rx, &[b_id], &mut seen);
    stop(&mut watcher);
    for v in &seen {
        assert_eq!(v["verified"], true, "{v}");
    }
    // A third one fetched on a new connection with the recipient's new certificates.
    let c = send(&mx, "fetched after the renewal");
    let c_id = c["id"].as_str().unwrap();
    let inbox = ok_json(&us, &["inbox", "--json"]);
    let ids: Vec<&str> = inbox.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    for id in [a_id, b_id, c_id] {
        assert_eq!(ids.iter().filter(|i| **i == id).count(), 1, "{id} once in the inbox: {inbox}");
        let shown = ok_json(&us, &["show", id, "--json"]);
        assert_eq!(shown["signer"], "tiprelay://MX/analyst/analyst-1", "{shown}");
    }
    assert_eq!(ids.len(), 3, "nothing more, nothing lost: {inbox}");
    // The sender sees every receipt, the first one from before its renewal.
    let outbox = ok_json(&mx, &["outbox", "--json"]);
    for id in [a_id, b_id, c_id] {
        let rec = outbox.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{outbox}"));
        assert!(!rec["receipt"].is_null(), "{rec}");
    }
    assert_eq!(ok_json(&us, &["status", "--json"])["pending_at_relay"], 0);

    // The relay's audit log, with the tips signed by the old key and their receipts,
    // verifies offline against the configured roots (exported once the relay has signed
    // its final checkpoint).
    assert_eq!(relay.terminate(), Some(0));
    let bundle = dir.path().join("relay.bundle");
    let o = tiprelay(&["audit", "export", "--config", s(&rt), "--out", s(&bundle)]);
    assert!(o.status.success(), "{}", text(&o));
    let v = ok_json(&us, &["audit", "verify", s(&bundle), "--json"]);
    assert_eq!(v["valid"], true, "{v}");
}

/// The relay's certificates renewed and the relay restarted on them while a `watch` stays
/// running: the client reconnects by itself (same name, same CA), tips across the restart
/// arrive once each, and receipts signed with the relay's old key keep verifying.
#[test]
fn renewing_the_relay_with_clients_connected_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let rt = make_pki(dir.path(), addr, |_| {});
    let pki = dir.path().join("pki");
    let Watched { mut relay, log, mx, us, mut watcher, rx } = relay_and_watch(dir.path(), &rt);
    let mut seen = Vec::new();
    let a = send(&mx, "receipted by the relay's old key");
    let a_id = a["id"].as_str().unwrap().to_owned();
    seen_tips(&rx, &[&a_id], &mut seen);
    let old_relay = summary(&pki.join("relay/sign.crt"));

    let new = pki.join("relay-new");
    let out = tipcerts(&[
        "renew",
        "--ca",
        s(&pki.join("operator-ca")),
        "--cert",
        s(&pki.join("relay/tls.crt")),
        "--out",
        s(&new),
    ]);
    assert!(out.contains("renewed tiprelay://OPERATOR/relay/dev-relay") && out.contains("restart the relay"), "{out}");
    install(&new, &pki.join("relay"));
    assert_eq!(relay.terminate(), Some(0));
    relay.start();
    wait_for_relay(&mx, &log);
    let new_relay = summary(&pki.join("relay/sign.crt"));
    assert_eq!(new_relay.identity, old_relay.identity);
    assert_ne!(new_relay.ed25519_public_key, old_relay.ed25519_public_key);

    let b = send(&mx, "receipted by the relay's new key");
    let b_id = b["id"].as_str().unwrap().to_owned();
    seen_tips(&rx, &[&b_id], &mut seen);
    stop(&mut watcher);
    assert_eq!(seen.iter().filter(|v| v["id"] == a_id.as_str()).count(), 1, "{seen:?}");
    assert_eq!(seen.iter().filter(|v| v["id"] == b_id.as_str()).count(), 1, "{seen:?}");
    assert!(seen.iter().all(|v| v["verified"] == true), "{seen:?}");
    assert_eq!(ok_json(&us, &["status", "--json"])["pending_at_relay"], 0);
    let outbox = ok_json(&mx, &["outbox", "--json"]);
    assert_eq!(outbox.as_array().unwrap().iter().filter(|r| !r["receipt"].is_null()).count(), 2, "{outbox}");
    let bundle = dir.path().join("relay.bundle");
    let o = tiprelay(&["audit", "export", "--config", s(&rt), "--out", s(&bundle)]);
    assert!(o.status.success(), "{}", text(&o));
    let v = ok_json(&mx, &["audit", "verify", s(&bundle), "--json"]);
    assert_eq!(v["valid"], true, "receipts and checkpoints of the old relay key still verify: {v}");
    assert_eq!(relay.terminate(), Some(0));
}
