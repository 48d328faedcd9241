//! Revocation after acceptance (issue 18; PROTOCOL §7.4): a signature that a relay's signed
//! receipt proves older than its certificate's revocation stays valid (RFC 5280 §5.3.2);
//! one the relay accepted at or after the revocation does not, and the relay refuses new
//! tips signed with a revoked certificate.
//!
//! The first tests check the rule on real certificates and CRLs (the fixture PKI; `proto`
//! has no certificate generator of its own); the others run a real relay, real clients and
//! the `tipcerts` and `tipctl` binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use rcgen::{CertificateRevocationListParams, Issuer, KeyIdMethod, RevokedCertParams, SerialNumber};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use tiprelay_certs::fixture::{FixtureLeaf, FixturePki};
use tiprelay_certs::profile::LeafKind;
use tiprelay_client::{Client, ClientError};
use tiprelay_proto::{Authority, CertUsage, ErrorCode, PrincipalId, ProtoError, Receipt, Timestamp, TrustStore};

use crate::common::*;

// ---- the rule on real certificates (no network) ----

const MX: &str = "MX";

fn mx() -> Authority {
    Authority::Jurisdiction(MX.parse().unwrap())
}

fn base() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap()
}

fn ts(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_unix_seconds(t.unix_timestamp())
}

/// One revoked entry: serial, revocationDate, invalidityDate.
type Entry<'a> = (&'a [u8], OffsetDateTime, Option<OffsetDateTime>);

/// A CRL of the MX fixture CA issued at `this_update`, listing `entries`.
fn crl(pki: &FixturePki, this_update: OffsetDateTime, entries: &[Entry<'_>], number: u64) -> Vec<u8> {
    let ca = pki.ca(mx()).unwrap();
    let issuer = Issuer::from_ca_cert_der(&CertificateDer::from(ca.cert_der.as_slice()), &ca.key).unwrap();
    CertificateRevocationListParams {
        this_update,
        next_update: this_update + time::Duration::days(7),
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: entries
            .iter()
            .map(|(serial, at, invalid)| RevokedCertParams {
                serial_number: SerialNumber::from(serial.to_vec()),
                revocation_time: *at,
                reason_code: None,
                invalidity_date: *invalid,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap()
    .der()
    .to_vec()
}

struct Fixture {
    pki: FixturePki,
    leaf: FixtureLeaf,
}

fn fixture() -> Fixture {
    let pki = FixturePki::new("revocation", &[mx()], base()).unwrap();
    let id: PrincipalId = "tiprelay://MX/analyst/ana".parse().unwrap();
    let leaf = pki.leaf(&id, LeafKind::Signing).unwrap();
    Fixture { pki, leaf }
}

fn store(f: &Fixture, crl_der: &[u8]) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_root(mx(), &f.pki.ca(mx()).unwrap().cert_der).unwrap();
    t.set_crl(mx(), crl_der).unwrap();
    t
}

fn check(t: &TrustStore, f: &Fixture, at: Timestamp) -> Result<(), ProtoError> {
    t.verify_cert(&f.leaf.cert_der, &[], mx(), CertUsage::Signing, at).map(|_| ())
}

#[test]
fn a_certificate_revoked_after_the_proven_time_vouches_as_of_that_time_only() {
    let f = fixture();
    let revoked = base() + time::Duration::days(10);
    let t = store(&f, &crl(&f.pki, revoked + time::Duration::hours(1), &[(&f.leaf.serial, revoked, None)], 2));
    assert_eq!(t.revoked_at(&f.leaf.cert_der, mx()), Some(ts(revoked)));

    // Proven one second before the revocation: valid, and it says when it was revoked.
    let before = ts(revoked - time::Duration::seconds(1));
    check(&t.as_of_receipt(before), &f, before).unwrap();
    // The store itself (TLS, signing, a relay's acceptance) still refuses it, at any time,
    // also after the view above verified (and cached) it.
    assert!(matches!(check(&t, &f, before), Err(ProtoError::Revoked(_))));
    let now = ts(revoked + time::Duration::days(1));
    assert!(matches!(check(&t, &f, now), Err(ProtoError::Revoked(_))));
    assert!(matches!(
        t.verify_cert(&f.leaf.cert_der, &[], mx(), CertUsage::Signing, before),
        Err(ProtoError::Revoked(_))
    ));

    // Proven at the very instant of the revocation, or after it: refused, naming both times.
    for at in [ts(revoked), ts(revoked).saturating_add_ms(1), now] {
        match check(&t.as_of_receipt(at), &f, at) {
            Err(ProtoError::RevokedBefore { revoked: r, accepted, .. }) => {
                assert_eq!((r, accepted), (ts(revoked), at));
            }
            other => panic!("proven at {at}: expected RevokedBefore, got {other:?}"),
        }
    }
    let e = check(&t.as_of_receipt(now), &f, now).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Revoked);
    assert!(e.to_string().contains("was revoked by its CA on"), "{e}");
}

#[test]
fn a_certificate_not_on_the_crl_verifies_either_way() {
    let f = fixture();
    let other = [0x42u8; 16];
    let t = store(&f, &crl(&f.pki, base() + time::Duration::days(1), &[(&other, base(), None)], 2));
    let at = ts(base() + time::Duration::days(2));
    assert_eq!(t.revoked_at(&f.leaf.cert_der, mx()), None);
    check(&t, &f, at).unwrap();
    check(&t.as_of_receipt(at), &f, at).unwrap();
}

#[test]
fn an_earlier_invalidity_date_or_the_crl_date_moves_the_revocation_back() {
    let f = fixture();
    let revoked = base() + time::Duration::days(10);
    let compromised = base() + time::Duration::days(5);
    let between = ts(base() + time::Duration::days(7));
    // Key compromised on day 5, revoked on day 10: a signature proven on day 7 does not count.
    let t = store(&f, &crl(&f.pki, revoked, &[(&f.leaf.serial, revoked, Some(compromised))], 2));
    assert_eq!(t.revoked_at(&f.leaf.cert_der, mx()), Some(ts(compromised)));
    assert!(matches!(check(&t.as_of_receipt(between), &f, between), Err(ProtoError::RevokedBefore { .. })));
    // A revocationDate after the CRL's own thisUpdate counts from thisUpdate.
    let t = store(&f, &crl(&f.pki, compromised, &[(&f.leaf.serial, revoked, None)], 3));
    assert_eq!(t.revoked_at(&f.leaf.cert_der, mx()), Some(ts(compromised)));
    assert!(matches!(check(&t.as_of_receipt(between), &f, between), Err(ProtoError::RevokedBefore { .. })));
}

#[test]
fn the_chain_must_have_been_valid_at_the_proven_time() {
    let pki = FixturePki::new("revocation-expired", &[mx()], base()).unwrap();
    let id: PrincipalId = "tiprelay://MX/analyst/ana".parse().unwrap();
    let not_after = base() + time::Duration::days(30);
    let leaf = pki.leaf_with(mx(), &id, LeafKind::Signing, base(), not_after).unwrap();
    let f = Fixture { pki, leaf };
    let revoked = base() + time::Duration::days(60);
    let t = store(&f, &crl(&f.pki, revoked, &[(&f.leaf.serial, revoked, None)], 2));
    // Proven on day 40: before the revocation, but the certificate had expired on day 30.
    let at = ts(base() + time::Duration::days(40));
    assert!(matches!(
        check(&t.as_of_receipt(at), &f, at),
        Err(ProtoError::CertificateNotValidNow { reason: "expired", .. })
    ));
    // And before it was valid.
    let early = ts(base() - time::Duration::days(1));
    assert!(matches!(
        check(&t.as_of_receipt(early), &f, early),
        Err(ProtoError::CertificateNotValidNow { reason: "not yet valid", .. })
    ));
    // On day 20 it was valid and not yet revoked.
    let fine = ts(base() + time::Duration::days(20));
    check(&t.as_of_receipt(fine), &f, fine).unwrap();
}

// ---- end to end ----

fn bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_tiprelay")).with_file_name(name);
    assert!(p.exists(), "{} is missing: run `cargo build --workspace` first", p.display());
    p
}

/// Runs a binary off the async threads (the relay under test shares them).
async fn run(program: PathBuf, env: Option<(&'static str, PathBuf)>, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(program);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        c.env("LANG", "C").args(args).output().unwrap()
    })
    .await
    .unwrap()
}

async fn tipctl_json(cfg: PathBuf, args: &[&str]) -> serde_json::Value {
    let o = run(bin("tipctl"), Some(("TIPCTL_CONFIG", cfg)), args.iter().map(|s| s.to_string()).collect()).await;
    assert!(o.status.success(), "tipctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("tipctl {args:?}: no JSON ({e})"))
}

/// `tipcerts revoke` of jurisdiction `j`'s analyst's signing certificate (rewrites that
/// CA's crl.pem, which the dev PKI's relay and clients all read).
async fn revoke_signing_cert(w: &World, j: &str) {
    let ca = w.path().join("pki").join(j).join("ca");
    let cert = w.path().join("pki").join(j).join("analyst/sign.crt");
    let args =
        vec!["revoke".into(), "--ca".into(), ca.display().to_string(), "--cert".into(), cert.display().to_string()];
    let o = run(bin("tipcerts"), None, args).await;
    assert!(o.status.success(), "tipcerts revoke: {}", String::from_utf8_lossy(&o.stderr));
}

/// Sends `n` tips from the MX analyst; returns their ids, all receipted.
async fn send_tips(w: &World, n: usize) -> Vec<[u8; 16]> {
    let mx = w.client("MX", "analyst");
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let (tip, _) = mx.compose(draft("US", &format!("sent before the revocation #{i}"))).unwrap();
        ids.push(*tip.id.as_bytes());
    }
    let c = connect(&mx).await;
    let r = mx.send_batch(&c, &ids).await.unwrap();
    assert_eq!(r.sent.len(), n, "refused: {:?}", r.refused);
    c.close().await;
    ids
}

/// Sends tips, waits past the revocation's one-second resolution, revokes the author's
/// signing certificate and restarts the relay (so it holds the new CRL for certain).
async fn tips_then_revocation(n: usize) -> (World, Vec<[u8; 16]>, u64) {
    let mut w = World::start().await;
    let ids = send_tips(&w, n).await;
    // revocationDate has whole seconds: wait until it falls strictly after every receipt.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let before_revocation = ms_now();
    revoke_signing_cert(&w, MX).await;
    w.restart().await;
    (w, ids, before_revocation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tips_accepted_before_their_authors_revocation_are_delivered_verified_and_acknowledged() {
    let (w, ids, revoked_after) = tips_then_revocation(3).await;

    // A tip signed after the revocation is refused at the relay.
    let mx = w.client("MX", "analyst");
    let (late, _) = mx.compose(draft("US", "signed after the revocation")).unwrap();
    let c = connect(&mx).await;
    // The author's client names the cause: its own certificate, revoked.
    match mx.send(&c, &late.id).await {
        Err(e @ ClientError::OwnCertificateRevoked { .. }) => {
            let text = e.to_string();
            assert!(text.contains("YOUR signing certificate") && text.contains("REVOKED"), "{text}");
        }
        other => panic!("a tip signed with a revoked certificate was not refused as revoked: {other:?}"),
    }
    assert!(mx.own_certificate_revoked());
    c.close().await;

    // The US analyst (whose trust now holds the new CRL) gets the earlier ones, verified.
    let us = w.client("US", "analyst");
    let cu = connect(&us).await;
    let report = us.fetch_inbox(&cu).await.unwrap();
    assert!(report.failed.is_empty(), "refused: {:?}", report.failed);
    assert_eq!(report.received.len(), ids.len());
    for got in &report.received {
        assert!(ids.contains(got.tip.id.as_bytes()));
        assert_eq!(got.signer, "tiprelay://MX/analyst/analyst-1");
        let revoked = got.author_revoked.expect("the author's revocation is reported with the tip");
        assert!(revoked > got.receipt.accepted && revoked.as_unix_ms() + 1000 >= revoked_after);
        let note = got.revocation_note().unwrap();
        assert!(note.contains("its certificate was revoked on") && note.contains(&revoked.to_string()), "{note}");
        assert!(note.contains(&got.receipt.accepted.to_string()), "{note}");
        // The stored copy explains itself the same way (for `show`).
        let (_, rec) = us.find_received(&got.tip.id).unwrap().unwrap();
        assert!(rec.acked);
        assert_eq!(us.revocation_note_of(&rec.envelope, &rec.receipt).as_deref(), Some(note.as_str()));
    }
    assert!(us.fetch_inbox(&cu).await.unwrap().received.is_empty(), "acknowledged, so not delivered again");
    cu.close().await;

    // A receipt saying the relay accepted one of them after the revocation would not do:
    // the recipient refuses it, naming the revocation.
    let got = &report.received[0];
    let (_, rec) = us.find_received(&got.tip.id).unwrap().unwrap();
    let late_receipt = Receipt { accepted: Timestamp::from_unix_ms(ms_now()).unwrap(), ..got.receipt.clone() };
    let relay_signer = {
        let d = w.path().join("pki/relay");
        tiprelay_client::files::read_signer(&d.join("sign.key"), &d.join("sign.crt")).unwrap()
    };
    let forged = relay_signer.sign(&late_receipt).unwrap();
    let why = us.accept_delivery(&rec.envelope, &forged).unwrap_err().to_string();
    assert!(why.contains("was revoked by its CA on") && why.contains("at or before the relay accepted"), "{why}");

    // The MX outbox says acknowledged, read through the library: the MX analyst's TLS
    // certificate is still valid (only its signing certificate was revoked), but `tipctl`
    // would cosign the relay's checkpoint with the revoked signing key at connect, which
    // the relay rightly refuses.
    let c = connect(&mx).await;
    assert_eq!(mx.sync_acks(&c).await.unwrap(), ids.len());
    c.close().await;
    for id in &ids {
        let out = mx.store.get_out(id).unwrap().unwrap();
        assert_eq!(tiprelay_client::output::out_status(&out), "acknowledged");
        assert_eq!(out.acked_by.as_deref(), Some("tiprelay://US/analyst/analyst-1"));
    }
    let late_out = mx.store.get_out(late.id.as_bytes()).unwrap().unwrap();
    assert_eq!(tiprelay_client::output::out_status(&late_out), "rejected");

    // tipctl, as the revoked author: `send` and `status` name the revocation (exit 4,
    // refused), never an audit alert about the refused cosignature.
    drop(mx);
    let mx_cfg = w.config("MX", "analyst");
    let o = run(
        bin("tipctl"),
        Some(("TIPCTL_CONFIG", mx_cfg.clone())),
        ["send", "--to", "US", "--category", "other", "--summary", "x", "--tlp", "green"].map(String::from).to_vec(),
    )
    .await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("refused for good") && err.contains("YOUR signing certificate") && err.contains("REVOKED"),
        "{err}"
    );
    assert!(!err.contains("AUDIT ALERT") && !err.contains("will be sent"), "{err}");
    let o = run(bin("tipctl"), Some(("TIPCTL_CONFIG", mx_cfg)), vec!["status".into()]).await;
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(4), "{out}{err}");
    assert!(out.contains("is REVOKED") && !out.contains("UNREACHABLE"), "{out}");
    assert!(!format!("{out}{err}").contains("AUDIT ALERT"), "{out}{err}");

    // tipctl: nothing waits for the US analyst (the store is the binary's now).
    drop(us);
    let status = tipctl_json(w.config("US", "analyst"), &["status", "--json"]).await;
    assert_eq!(status["connected"], true, "{status}");
    assert_eq!(status["pending_at_relay"], 0, "{status}");
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_tips_of_a_since_revoked_author_no_longer_block_the_inbox() {
    // More than one fetch (256) of them at the head of MX → US.
    let (w, ids, _) = tips_then_revocation(300).await;
    // And one from another MX principal behind them.
    let other = add_principal(w.path(), MX, "analyst", "analyst-2");
    let mx2 = Client::open(tiprelay_client::ClientConfig::load(&w.config(MX, &other)).unwrap()).unwrap();
    let (behind, _) = mx2.compose(draft("US", "behind the revoked author's tips")).unwrap();
    let c = connect(&mx2).await;
    mx2.send(&c, &behind.id).await.unwrap();
    c.close().await;

    let us = w.client("US", "analyst");
    let cu = connect(&us).await;
    let report = us.fetch_inbox(&cu).await.unwrap();
    assert!(report.failed.is_empty(), "refused: {:?}", report.failed);
    assert_eq!(report.received.len(), ids.len() + 1);
    assert_eq!(report.received.iter().filter(|g| g.author_revoked.is_some()).count(), ids.len());
    assert!(report.received.iter().any(|g| g.tip.id == behind.id && g.author_revoked.is_none()));
    cu.close().await;
    drop((us, mx2));
    let status = tipctl_json(w.config("US", "analyst"), &["status", "--json"]).await;
    assert_eq!(status["pending_at_relay"], 0, "{status}");
    w.relay.unwrap().shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_accepted_before_its_authors_revocation_reaches_the_tips_author() {
    let mut w = World::start().await;
    let (mx, us) = (w.client("MX", "analyst"), w.client("US", "analyst"));
    let (tip, _) = mx.compose(draft("US", "feedback before the revocation")).unwrap();
    let (c, cu) = (connect(&mx).await, connect(&us).await);
    mx.send(&c, &tip.id).await.unwrap();
    assert_eq!(us.sync_inbox(&cu).await.unwrap().len(), 1);
    // MX takes the ack now: a DeliveryAck has no receipt, so once its signer is revoked it
    // no longer verifies (PROTOCOL §6.3).
    assert_eq!(mx.sync_notices(&c).await.unwrap().acks, vec![tip.id]);
    let (from, rec) = us.compose_feedback(&tip.id, tiprelay_proto::Outcome::Arrest, None).unwrap();
    us.send_feedback(&cu, &from, tip.id.as_bytes(), rec).await.unwrap();
    for conn in [c, cu] {
        conn.close().await;
    }
    drop((mx, us));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    revoke_signing_cert(&w, "US").await;
    w.restart().await;

    // The revoked US analyst can no longer give feedback...
    let us = w.client("US", "analyst");
    let cu = connect(&us).await;
    let (from, rec) = us.compose_feedback(&tip.id, tiprelay_proto::Outcome::Seizure, None).unwrap();
    match us.send_feedback(&cu, &from, tip.id.as_bytes(), rec).await {
        Err(ClientError::OwnCertificateRevoked { what, .. }) => assert!(what.starts_with("feedback "), "{what}"),
        other => panic!("feedback signed with a revoked certificate was not refused as revoked: {other:?}"),
    }
    cu.close().await;
    // ...but what the relay accepted before reaches the author, verified.
    let mx = w.client("MX", "analyst");
    let c = connect(&mx).await;
    let notices = mx.sync_notices(&c).await.unwrap();
    assert_eq!(notices.feedback.len(), 1, "{notices:?}");
    assert_eq!(notices.feedback[0].outcome, tiprelay_proto::Outcome::Arrest);
    assert_eq!(mx.store.meta(tiprelay_client::store::BAD_FEEDBACK).unwrap(), 0);
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

/// A tip the relay accepted although its author's certificate had already been revoked
/// (the relay's CRL was older than the recipient's): the recipient refuses it for good with
/// a signed refusal (PROTOCOL §5.3), which moves its cursor, so the refused tips no longer
/// hold up its inbox; the author sees them as refused by US, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tip_refused_by_its_recipient_reaches_its_author_as_refused_and_unblocks_the_inbox() {
    let mut w = World::start().await;
    // The relay and the MX analyst keep MX's CRL from before the revocation; the US
    // analyst reads the CA's current one.
    let ca = w.path().join("pki/MX/ca");
    std::fs::copy(ca.join("crl.pem"), ca.join("crl-old.pem")).unwrap();
    for (file, from, to) in [
        ("pki/relay.toml", "\"MX/ca/crl.pem\"", "\"MX/ca/crl-old.pem\""),
        ("pki/MX/analyst.toml", "\"ca/crl.pem\"", "\"ca/crl-old.pem\""),
    ] {
        let p = w.path().join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file}");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }
    w.restart().await;
    let bea = add_principal(w.path(), "MX", "analyst", "bea");
    revoke_signing_cert(&w, MX).await;

    // Two tips of the (already revoked) analyst, then one of a colleague, all accepted.
    let refused_ids = send_tips(&w, 2).await;
    let bea = w.client("MX", &bea);
    let (fine, _) = bea.compose(draft("US", "from an analyst in good standing")).unwrap();
    let cb = connect(&bea).await;
    bea.send(&cb, &fine.id).await.unwrap();
    cb.close().await;

    // The recipient refuses the two for good and receives the third: nothing blocks.
    let us = w.client("US", "analyst");
    let cu = connect(&us).await;
    let report = us.fetch_inbox(&cu).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.received.iter().map(|r| r.tip.id).collect::<Vec<_>>(), vec![fine.id]);
    assert_eq!(report.refused.len(), 2, "{:?}", report.refused);
    for r in &report.refused {
        assert!(refused_ids.contains(r.tip.as_bytes()), "{r:?}");
        assert_eq!(r.refusal.code, ErrorCode::Revoked, "{r:?}");
        assert!(r.refusal.reason.contains("revoked"), "{r:?}");
    }
    let again = us.fetch_inbox(&cu).await.unwrap();
    assert!(again.received.is_empty() && again.refused.is_empty() && again.failed.is_empty(), "{again:?}");
    cu.close().await;
    drop(us);
    let status = tipctl_json(w.config("US", "analyst"), &["status", "--json"]).await;
    assert_eq!(status["pending_at_relay"], 0, "{status}");

    // The author learns it: "refused by US", with the code and the recipient's reason.
    let mx = w.client("MX", "analyst");
    let c = connect(&mx).await;
    let notices = mx.sync_notices(&c).await.unwrap();
    c.close().await;
    assert!(notices.acks.is_empty(), "{notices:?}");
    assert_eq!(notices.refused.len(), 2, "{notices:?}");
    for (tip, by, r) in &notices.refused {
        assert!(refused_ids.contains(tip.as_bytes()));
        assert_eq!(by, "tiprelay://US/analyst/analyst-1");
        assert_eq!(r.code, ErrorCode::Revoked);
    }
    drop(mx);
    let outbox = tipctl_json(w.config("MX", "analyst"), &["outbox", "--json"]).await;
    let rows = outbox.as_array().unwrap();
    assert_eq!(rows.iter().filter(|r| r["status"] == "refused").count(), 2, "{outbox}");
    for r in rows.iter().filter(|r| r["status"] == "refused") {
        assert_eq!(r["refused"]["code"], "revoked", "{r}");
        assert_eq!(r["refused"]["by"], "tiprelay://US/analyst/analyst-1", "{r}");
    }
    let o = run(bin("tipctl"), Some(("TIPCTL_CONFIG", w.config("MX", "analyst"))), vec!["outbox".into()]).await;
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.matches("REFUSED by US (tiprelay://US/analyst/analyst-1)").count(), 2, "{text}");
    // And the colleague's tip is acknowledged as usual.
    let c = connect(&bea).await;
    assert_eq!(bea.sync_notices(&c).await.unwrap().acks, vec![fine.id]);
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}
