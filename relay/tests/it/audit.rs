//! The audit log over real QUIC on 127.0.0.1 (issue 6): checkpoints, proofs, witnessing,
//! forks and rollbacks, bundles and their tampering.

use std::net::UdpSocket;

use crate::common::*;
use tiprelay::config::RelayConfig;
use tiprelay::server;
use tiprelay::storage::ExportRange;
use tiprelay_client::{Client, ClientConfig, ClientError};
use tiprelay_proto::audit::{verify_bundle, Place};
use tiprelay_proto::wire::{Request, Response};
use tiprelay_proto::ErrorCode;

fn export(w: &World, name: &str) -> Vec<u8> {
    let out = w.path().join(name);
    let cfg = RelayConfig::load(&w.path().join("pki/relay.toml")).unwrap();
    tiprelay::audit::export(&cfg, ExportRange::default(), &out).unwrap();
    std::fs::read(out).unwrap()
}

fn check(bytes: &[u8], c: &Client) -> Result<tiprelay_proto::audit::BundleReport, tiprelay_proto::audit::BundleError> {
    verify_bundle(bytes, Some(c.trust()), |_| {})
}

/// A world with some traffic: 3 tips each way, acknowledged, a feedback, a fresh checkpoint.
async fn busy_world() -> (World, Client, Client) {
    let w = World::start().await;
    let mx = w.client("MX", "analyst");
    let us = w.client("US", "analyst");
    let (c, cu) = (connect(&mx).await, connect(&us).await);
    for i in 0..3 {
        let (t, _) = mx.compose(draft("US", &format!("to US {i}"))).unwrap();
        mx.send(&c, &t.id).await.unwrap();
        let (t, _) = us.compose(draft("MX", &format!("to MX {i}"))).unwrap();
        us.send(&cu, &t.id).await.unwrap();
    }
    let got = us.sync_inbox(&cu).await.unwrap();
    mx.sync_inbox(&c).await.unwrap();
    let (from, fb) = us.compose_feedback(&got[0].tip.id, tiprelay_proto::Outcome::Arrest, None).unwrap();
    us.send_feedback(&cu, &from, got[0].tip.id.as_bytes(), fb).await.unwrap();
    mx.check_log_fresh(&c, true, true).await.unwrap();
    us.check_log(&cu, true).await.unwrap();
    c.close().await;
    cu.close().await;
    (w, mx, us)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_are_provable_and_both_sides_cosign_one_head() {
    let (w, mx, us) = busy_world().await;
    let c = connect(&mx).await;
    let id = tiprelay_proto::TipId::from_bytes(mx.store.outbox().unwrap()[0].0).unwrap();
    let p = mx.prove(&c, &id).await.unwrap();
    assert_eq!(p.entry.kind, "accepted");
    assert_eq!(p.entry.tip.as_deref(), Some(id.to_string().as_str()));
    let mut cosigners = p.cosigners.clone();
    cosigners.sort();
    assert_eq!(cosigners, vec!["tiprelay://MX/analyst/analyst-1", "tiprelay://US/analyst/analyst-1"]);
    // The recipient can prove it too.
    let cu = connect(&us).await;
    assert_eq!(us.prove(&cu, &id).await.unwrap().entry.index, p.entry.index);
    // An inclusion proof of an entry about the other side's principal carries no entry.
    let r = c.request(&Request::Inclusion { index: 0, size: p.checkpoint.size }).await.unwrap();
    let Response::Proof { entry, .. } = r else { panic!("{r:?}") };
    assert!(entry.is_none(), "relay_started concerns no jurisdiction");
    // A consistency proof from 0 is refused with a typed error.
    assert_eq!(
        refused_code(c.request(&Request::Consistency { old: 0, new: 3 }).await),
        ErrorCode::ProofOutOfRange as u16
    );
    assert_eq!(
        refused_code(c.request(&Request::Inclusion { index: 5, size: 1_000_000 }).await),
        ErrorCode::ProofOutOfRange as u16
    );
    c.close().await;
    cu.close().await;

    // The export verifies offline, with the head cosigned by both, and holds every event.
    let bundle = export(&w, "all.bundle");
    let report = check(&bundle, &mx).unwrap();
    assert_eq!(report.head().unwrap().cosigners.len(), 2);
    let mut kinds = std::collections::BTreeSet::new();
    verify_bundle(bundle.as_slice(), None, |e| {
        kinds.insert(e.kind.clone());
    })
    .unwrap();
    for k in ["relay_started", "accepted", "delivered", "acked", "feedback"] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_entries_never_hold_tip_content() {
    let w = World::start().await;
    let mx = w.client("MX", "analyst");
    let c = connect(&mx).await;
    let mut d = draft("US", "SUMMARY-CANARY-7f3a9 armed group near Sasabe");
    d.details = Some("DETAILS-CANARY-b21e informant says 14 rifles".into());
    let (t, _) = mx.compose(d).unwrap();
    mx.send(&c, &t.id).await.unwrap();
    mx.check_log_fresh(&c, false, true).await.unwrap();
    c.close().await;
    let bundle = export(&w, "canary.bundle");
    let text = String::from_utf8_lossy(&bundle);
    assert!(text.contains(&t.id.to_string()), "the tip's id is logged");
    for canary in ["SUMMARY-CANARY", "DETAILS-CANARY", "Sasabe", "rifles"] {
        assert!(!text.contains(canary), "{canary} leaked into the audit log");
    }
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_bit_flipped_truncated_reordered_dropped_or_duplicated_is_detected() {
    let (w, mx, _us) = busy_world().await;
    let bundle = export(&w, "tamper.bundle");
    let good = check(&bundle, &mx).unwrap();
    assert!(good.count >= 10, "{}", good.count);

    // 1,200 random single-bit flips (deterministic seed): every one fails, naming a place.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..1200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let pos = (seed % bundle.len() as u64) as usize;
        let bit = (seed >> 40) % 8;
        let mut b = bundle.clone();
        b[pos] ^= 1 << bit;
        let e = check(&b, &mx).expect_err(&format!(
            "flip at byte {pos} bit {bit} went unnoticed: {:02x?} | {}",
            &bundle[pos.saturating_sub(24)..(pos + 8).min(bundle.len())],
            String::from_utf8_lossy(&bundle[pos.saturating_sub(60)..(pos + 8).min(bundle.len())])
        ));
        assert!(!e.why.is_empty());
    }

    // Locate entry frames to move them around: parse the framing ourselves.
    let magic = tiprelay_proto::audit::BUNDLE_MAGIC.len();
    let frame_at = |b: &[u8], at: usize| -> (usize, usize) {
        let n = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        (at, at + 4 + n)
    };
    let (_, header_end) = frame_at(&bundle, magic);
    let mut frames = Vec::new();
    let mut at = header_end;
    for _ in 0..good.count {
        let f = frame_at(&bundle, at);
        frames.push(f);
        at = f.1;
    }
    let rebuild = |order: &[usize]| -> Vec<u8> {
        let mut b = bundle[..header_end].to_vec();
        for i in order {
            let (s, e) = frames[*i];
            b.extend_from_slice(&bundle[s..e]);
        }
        b.extend_from_slice(&bundle[at..]);
        b
    };
    let n = frames.len();
    let first = good.first;
    // Reorder two entries: named at the first swapped position.
    let mut order: Vec<usize> = (0..n).collect();
    order.swap(3, 4);
    let e = check(&rebuild(&order), &mx).unwrap_err();
    assert_eq!(e.place, Place::Entry(first + 3), "{e}");
    // Drop one.
    let order: Vec<usize> = (0..n).filter(|i| *i != 5).collect();
    let e = check(&rebuild(&order), &mx).unwrap_err();
    assert_eq!(e.place, Place::Entry(first + 5), "{e}");
    // Duplicate one.
    let mut order: Vec<usize> = (0..n).collect();
    order.insert(6, 5);
    let e = check(&rebuild(&order), &mx).unwrap_err();
    assert_eq!(e.place, Place::Entry(first + 6), "{e}");
    // Truncate anywhere: fails.
    for cut in [bundle.len() - 1, at, frames[n / 2].0 + 3, header_end, magic + 2, 3] {
        assert!(check(&bundle[..cut], &mx).is_err(), "truncation at {cut} went unnoticed");
    }
    // Altering an entry's content names that entry; altering its logged leaf names it too.
    let (s, e2) = frames[2];
    let mut b = bundle.clone();
    let kind_pos = s + 4 + bundle[s + 4..e2].windows(4).position(|w| w == b"kind").unwrap() + 6;
    b[kind_pos] ^= 0x20; // change a letter's case: still readable, different content
    let err = check(&b, &mx).unwrap_err();
    assert_eq!(err.place, Place::Entry(first + 2), "{err}");
    let mut b = bundle.clone();
    b[e2 - 1] ^= 1;
    let err = check(&b, &mx).unwrap_err();
    assert_eq!(err.place, Place::Entry(first + 2), "{err}");
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_relay_is_detected_on_the_next_connection() {
    let (mut w, mx, _us) = busy_world().await;
    // Keep a copy of the store as it is now, then let the log grow and be seen.
    w.relay.take().unwrap().shutdown().await.unwrap();
    let store = w.path().join("pki/relay/relay.redb");
    let old = w.path().join("old.redb");
    std::fs::copy(&store, &old).unwrap();
    w.restart().await;
    let c = connect(&mx).await;
    let (t, _) = mx.compose(draft("US", "after the copy")).unwrap();
    mx.send(&c, &t.id).await.unwrap();
    mx.check_log_fresh(&c, true, true).await.unwrap();
    c.close().await;
    // The operator (or an attacker) restores the older store.
    w.relay.take().unwrap().shutdown().await.unwrap();
    std::fs::copy(&old, &store).unwrap();
    w.restart().await;
    let c = connect(&mx).await;
    let err = mx.check_log_fresh(&c, true, true).await.unwrap_err();
    assert!(matches!(err, ClientError::LogInconsistent(_)), "{err}");
    assert!(!mx.store.audit_alerts().unwrap().is_empty(), "the alert is recorded locally");
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_histories_shown_to_mx_and_us_are_caught_by_cosigning() {
    // Relay A serves MX; a second relay B with the same keys but its own store serves US:
    // a relay operator showing each side a different history.
    let w = World::start().await;
    let socket_b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr_b = socket_b.local_addr().unwrap();
    let rt = w.path().join("pki/relay.toml");
    let text = std::fs::read_to_string(&rt).unwrap().replace("relay/relay.redb", "relay/fork.redb");
    let rt_b = w.path().join("pki/relay-b.toml");
    std::fs::write(&rt_b, text).unwrap();
    let relay_b = server::start(RelayConfig::load(&rt_b).unwrap(), Some(socket_b)).await.unwrap();
    let us_cfg_text = std::fs::read_to_string(w.config("US", "analyst")).unwrap();
    let us_b_path = w.path().join("pki/US/analyst-b.toml");
    let us_b_text =
        us_cfg_text.replace(&w.addr.to_string(), &addr_b.to_string()).replace("analyst/tipctl.redb", "analyst/b.redb");
    assert_ne!(us_b_text, us_cfg_text);
    std::fs::write(&us_b_path, us_b_text).unwrap();
    let mx = w.client("MX", "analyst");
    let us_b = Client::open(ClientConfig::load(&us_b_path).unwrap()).unwrap();

    let c = connect(&mx).await;
    let (t, _) = mx.compose(draft("US", "seen only by A")).unwrap();
    mx.send(&c, &t.id).await.unwrap();
    let a = mx.check_log_fresh(&c, true, true).await.unwrap();
    let cb = connect(&us_b).await;
    let b = us_b.check_log_fresh(&cb, true, true).await.unwrap();
    assert_ne!(a.checkpoint.as_ref().unwrap().root, b.checkpoint.as_ref().unwrap().root);
    cb.close().await;

    // US's cosignature of B's head is refused by A: it is not A's history.
    let bc = b.checkpoint.unwrap();
    let cs = tiprelay_proto::Cosignature {
        log: bc.log.clone(),
        size: bc.size,
        root: bc.root,
        checkpoint_time: bc.time,
        by: us_b.cfg.principal.clone(),
        created: tiprelay_client::client::now(),
    };
    let env = us_b.sign_message(&cs).unwrap();
    let us_a = w.client("US", "analyst");
    let ca = connect(&us_a).await;
    let code = refused_code(ca.request(&Request::Cosign { envelope: env }).await);
    assert!([ErrorCode::CheckpointMismatch as u16, ErrorCode::UnknownCheckpoint as u16].contains(&code), "code {code}");
    ca.close().await;

    // And when the US client (which verified and cosigned B) meets A, it raises the alarm.
    let mut cfg = us_b.cfg.clone();
    drop(us_b);
    cfg.relay_addr = w.addr;
    cfg.relay_addrs = vec![w.addr];
    let us_to_a = Client::open(cfg).unwrap();
    let ca = connect(&us_to_a).await;
    let err = us_to_a.check_log(&ca, true).await.unwrap_err();
    assert!(matches!(err, ClientError::LogInconsistent(_)), "{err}");
    ca.close().await;
    c.close().await;
    relay_b.shutdown().await.unwrap();
    w.relay.unwrap().shutdown().await.unwrap();
}
