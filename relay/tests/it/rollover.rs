//! CA rollover (issue 18, PROTOCOL §6.4): a jurisdiction's root and the relay operator's
//! root are each succeeded by a new root trusted side by side with the old one, while a
//! recipient's `watch` stays connected: the relay takes the new roots without a restart,
//! certificates from the new roots work beside those of the old ones, the relay moves to
//! a certificate of the new operator root, then the old roots are dropped. No tip is lost
//! or delivered twice, and the audit log verifies.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::lifecycle::{
    install, ok_json, relay_and_watch, s, seen_tips, send, stop, summary, text, tipcerts, tiprelay, wait_for_relay,
    Watched,
};

/// Writes `parts` (PEM files) concatenated into `to`, atomically, as an operator installs
/// a trust bundle.
fn bundle(to: &Path, parts: &[&Path]) {
    let mut all = Vec::new();
    for p in parts {
        all.extend(std::fs::read(p).unwrap());
    }
    let tmp = to.with_extension("tmp");
    std::fs::write(&tmp, all).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

/// Waits (bounded, 15 s) until the relay's log says it reloaded its trust files `n` times.
fn wait_for_reloads(log: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let l = std::fs::read_to_string(log).unwrap_or_default();
        if l.matches("trust material reloaded").count() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the relay did not reload its trust files: {}", std::fs::read_to_string(log).unwrap_or_default());
}

#[test]
fn a_ca_rollover_with_clients_connected_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // The trust files live apart from the CA directories, as on a real host
    // (/etc/tiprelay/trust): one roots file and one CRLs file per authority.
    let rt = make_pki(dir.path(), addr, |t| {
        *t = t.replace("\"operator-ca/ca.crt\"", "\"trust/OPERATOR-roots.pem\"");
        *t = t.replace("\"operator-ca/crl.pem\"", "\"trust/OPERATOR-crls.pem\"");
        for j in ["MX", "US"] {
            *t = t.replace(&format!("\"{j}/ca/ca.crt\""), &format!("\"trust/{j}-roots.pem\""));
            *t = t.replace(&format!("\"{j}/ca/crl.pem\""), &format!("\"trust/{j}-crls.pem\""));
        }
    });
    let pki = dir.path().join("pki");
    let trust = pki.join("trust");
    std::fs::create_dir(&trust).unwrap();
    let roots = |a: &str| trust.join(format!("{a}-roots.pem"));
    let crls = |a: &str| trust.join(format!("{a}-crls.pem"));
    let ca_dir = |a: &str| if a == "OPERATOR" { pki.join("operator-ca") } else { pki.join(format!("{a}/ca")) };
    for a in ["OPERATOR", "MX", "US"] {
        bundle(&roots(a), &[&ca_dir(a).join("ca.crt")]);
        bundle(&crls(a), &[&ca_dir(a).join("crl.pem")]);
    }
    for j in ["MX", "US"] {
        let cfg = pki.join(format!("{j}/analyst.toml"));
        let mut t = std::fs::read_to_string(&cfg).unwrap();
        t = t.replace("\"../operator-ca/ca.crt\"", "\"../trust/OPERATOR-roots.pem\"");
        t = t.replace("\"../operator-ca/crl.pem\"", "\"../trust/OPERATOR-crls.pem\"");
        for k in ["MX", "US"] {
            let (ca, crl) = if k == j {
                ("\"ca/ca.crt\"".to_owned(), "\"ca/crl.pem\"".to_owned())
            } else {
                (format!("\"../{k}/ca/ca.crt\""), format!("\"../{k}/ca/crl.pem\""))
            };
            t = t.replace(&ca, &format!("\"../trust/{k}-roots.pem\""));
            t = t.replace(&crl, &format!("\"../trust/{k}-crls.pem\""));
        }
        assert_eq!(t.matches("../trust/").count(), 6, "{t}");
        std::fs::write(&cfg, t).unwrap();
    }
    let Watched { mut relay, log, mx, us, mut watcher, rx } = relay_and_watch(dir.path(), &rt);
    let mut seen = Vec::new();
    let a = send(&mx, "signed under the first MX root");
    let a_id = a["id"].as_str().unwrap().to_owned();
    seen_tips(&rx, &[&a_id], &mut seen);

    // 1. The successors of the MX root and of the operator's root, each with a name of its
    //    own; trusted beside the old ones, by the relay without a restart.
    for (a, flag) in [("MX", "MX/ca-2"), ("OPERATOR", "operator-ca-2")] {
        let out = tipcerts(&["init-ca", "--successor-of", s(&ca_dir(a)), "--out", s(&pki.join(flag)), "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!((v["authority"].as_str(), v["generation"].as_u64()), (Some(a), Some(2)), "{v}");
        let (old, new) = (summary(&ca_dir(a).join("ca.crt")), summary(&pki.join(flag).join("ca.crt")));
        assert_ne!(old.subject, new.subject, "a rollover root has a name of its own");
        bundle(&roots(a), &[&ca_dir(a).join("ca.crt"), &pki.join(flag).join("ca.crt")]);
        bundle(&crls(a), &[&ca_dir(a).join("crl.pem"), &pki.join(flag).join("crl.pem")]);
    }
    wait_for_reloads(&log, 1);
    let o = tiprelay(&["check-config", "--config", s(&rt), "--json"]);
    assert!(o.status.success(), "both roots of each file are checked: {}", text(&o));

    // 2. The MX analyst moves to certificates of the new MX root (TLS and signing), while
    //    the recipient's watch, connected since before, keeps running.
    let g2 = pki.join("MX/analyst-g2");
    tipcerts(&[
        "issue",
        "--ca",
        s(&pki.join("MX/ca-2")),
        "--principal",
        "tiprelay://MX/analyst/analyst-1",
        "--out",
        s(&g2),
    ]);
    install(&g2, &pki.join("MX/analyst"));
    assert!(summary(&pki.join("MX/analyst/sign.crt")).issuer.contains("(2)"));
    let b = send(&mx, "signed under the second MX root");
    let b_id = b["id"].as_str().unwrap().to_owned();
    seen_tips(&rx, &[&b_id], &mut seen);

    // 3. The relay moves to certificates of the new operator root and restarts on them; the
    //    watch reconnects by itself and trusts the new relay certificate.
    let r2 = pki.join("relay-g2");
    tipcerts(&[
        "issue-relay",
        "--ca",
        s(&pki.join("operator-ca-2")),
        "--name",
        "dev-relay",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
        "--out",
        s(&r2),
    ]);
    install(&r2, &pki.join("relay"));
    assert_eq!(relay.terminate(), Some(0));
    relay.start();
    wait_for_relay(&mx, &log);
    let c = send(&mx, "receipted by the relay's certificate of the second operator root");
    let c_id = c["id"].as_str().unwrap().to_owned();
    seen_tips(&rx, &[&c_id], &mut seen);

    // 4. The old roots dropped: only the new generation is trusted, again without a
    //    restart (two reloads since the restart: the relay started on the bundles).
    for (a, flag) in [("MX", "MX/ca-2"), ("OPERATOR", "operator-ca-2")] {
        bundle(&roots(a), &[&pki.join(flag).join("ca.crt")]);
        bundle(&crls(a), &[&pki.join(flag).join("crl.pem")]);
    }
    wait_for_reloads(&log, 2);
    let d = send(&mx, "after the old roots were dropped");
    let d_id = d["id"].as_str().unwrap().to_owned();
    seen_tips(&rx, &[&d_id], &mut seen);
    stop(&mut watcher);

    // Every tip once, verified; every receipt; nothing pending.
    for id in [&a_id, &b_id, &c_id, &d_id] {
        assert_eq!(seen.iter().filter(|v| v["id"] == id.as_str()).count(), 1, "{id} once: {seen:?}");
    }
    assert!(seen.iter().all(|v| v["verified"] == true), "{seen:?}");
    assert_eq!(ok_json(&us, &["status", "--json"])["pending_at_relay"], 0);
    let outbox = ok_json(&mx, &["outbox", "--json"]);
    assert_eq!(outbox.as_array().unwrap().iter().filter(|r| !r["receipt"].is_null()).count(), 4, "{outbox}");
    // The audit log verifies against the old and new roots together (an auditor keeps
    // the old roots for the records they signed).
    assert_eq!(relay.terminate(), Some(0));
    for (a, flag) in [("MX", "MX/ca-2"), ("OPERATOR", "operator-ca-2")] {
        bundle(&roots(a), &[&ca_dir(a).join("ca.crt"), &pki.join(flag).join("ca.crt")]);
        bundle(&crls(a), &[&ca_dir(a).join("crl.pem"), &pki.join(flag).join("crl.pem")]);
    }
    let exported = dir.path().join("relay.bundle");
    let o = tiprelay(&["audit", "export", "--config", s(&rt), "--out", s(&exported)]);
    assert!(o.status.success(), "{}", text(&o));
    let v = ok_json(&us, &["audit", "verify", s(&exported), "--json"]);
    assert_eq!(v["valid"], true, "{v}");
}
