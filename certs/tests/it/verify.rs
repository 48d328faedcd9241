//! End-to-end signing and verification against a fixture PKI: the positive path for every
//! message kind and a negative case for every rejection rule.

use ::time::{Duration, OffsetDateTime};
use ciborium::Value;
use coset::{iana, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use ed25519_dalek::Signer as _;
use tiprelay_certs::fixture::{FixtureLeaf, FixturePki};
use tiprelay_certs::profile::LeafKind;
use tiprelay_proto::*;

fn base() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_083_200).unwrap() // 2026-12-01T00:00:00Z
}
fn now() -> Timestamp {
    Timestamp::from_unix_ms(1_796_083_200_000 + 86_400_000).unwrap() // a day later
}
fn mx() -> Jurisdiction {
    "MX".parse().unwrap()
}
fn us() -> Jurisdiction {
    "US".parse().unwrap()
}
fn pid(s: &str) -> PrincipalId {
    s.parse().unwrap()
}
fn auths() -> [Authority; 3] {
    [Authority::Jurisdiction(mx()), Authority::Jurisdiction(us()), Authority::Operator]
}

struct World {
    pki: FixturePki,
    trust: TrustStore,
    ana: FixtureLeaf,
}

fn world() -> World {
    let pki = FixturePki::new("verify-tests", &auths(), base()).unwrap();
    let trust = pki.trust_store().unwrap();
    let ana = pki.leaf(&pid("tiprelay://MX/analyst/ana"), LeafKind::Signing).unwrap();
    World { pki, trust, ana }
}

pub(crate) fn tip_by(author: &str, from: Jurisdiction, to: Jurisdiction) -> Tip {
    Tip {
        id: TipId::new_v7(now(), [7; 10]),
        from,
        to,
        author: pid(author),
        created: now(),
        category: Category::TunnelLocated,
        urgency: Urgency::Immediate,
        summary: "Tunnel entrance located".into(),
        details: None,
        lang: "en".parse().unwrap(),
        location: None,
        observed_at: None,
        valid_until: None,
        source_reliability: None,
        info_credibility: None,
        tlp: Tlp::AmberStrict,
        refs: vec![],
    }
}

fn mx_tip() -> Tip {
    tip_by("tiprelay://MX/analyst/ana", mx(), us())
}

/// Builds an envelope by hand (bypassing `Signer`'s own checks) with any key and chain.
fn raw_envelope(seed: &[u8; 32], cert: &[u8], content_type: &str, aad: &[u8], payload: Vec<u8>) -> Vec<u8> {
    let key = ed25519_dalek::SigningKey::from_bytes(seed);
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .content_type(content_type.to_owned())
        .key_id(Digest::of(cert).0.to_vec())
        .value(33, Value::Bytes(cert.to_vec()))
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(aad, |tbs| key.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .unwrap()
}

fn code<T: std::fmt::Debug>(r: Result<T, ProtoError>) -> ErrorCode {
    r.unwrap_err().code()
}

#[test]
fn a_signed_tip_verifies_and_names_its_author() {
    let w = world();
    let bytes = w.ana.signer().unwrap().sign(&mx_tip()).unwrap();
    let v = verify::<Tip>(&bytes, &w.trust, now()).unwrap();
    assert_eq!(v.signer, pid("tiprelay://MX/analyst/ana"));
    assert_eq!(v.message, mx_tip());
    assert_eq!(v.digest, Digest::of(&bytes));
    assert_eq!(v.signer_cert, Digest::of(&w.ana.cert_der));
    // The verified certificate is now cached; the cache still honours its validity window.
    assert!(verify::<Tip>(&bytes, &w.trust, now()).is_ok());
    let after_expiry = Timestamp::from_unix_ms(1_796_083_200_000 + 366 * 86_400_000).unwrap();
    let e = verify::<Tip>(&bytes, &w.trust, after_expiry).unwrap_err();
    assert!(matches!(e, ProtoError::CertificateNotValidNow { reason: "expired", .. }), "{e}");
}

#[test]
fn every_message_kind_signs_and_verifies() {
    let w = world();
    let relay = w.pki.leaf(&pid("tiprelay://OPERATOR/relay/main"), LeafKind::Signing).unwrap().signer().unwrap();
    let sam = w.pki.leaf(&pid("tiprelay://US/analyst/sam"), LeafKind::Signing).unwrap().signer().unwrap();
    let tip = w.ana.signer().unwrap().sign(&mx_tip()).unwrap();
    let d = Digest::of(&tip);
    let t = mx_tip();
    let r = Receipt {
        subject: Subject::Tip,
        tip: t.id,
        from: mx(),
        to: us(),
        digest: d,
        seq: 1,
        accepted: now(),
        log_index: 0,
        relay: relay.identity().clone(),
    };
    assert_eq!(verify::<Receipt>(&relay.sign(&r).unwrap(), &w.trust, now()).unwrap().message, r);
    let a = DeliveryAck {
        tip: t.id,
        from: mx(),
        to: us(),
        digest: d,
        seq: 1,
        by: sam.identity().clone(),
        received: now(),
        refused: None,
    };
    assert_eq!(verify::<DeliveryAck>(&sam.sign(&a).unwrap(), &w.trust, now()).unwrap().message, a);
    let f = Feedback {
        id: TipId::new_v7(now(), [9; 10]),
        tip: t.id,
        from: mx(),
        to: us(),
        by: sam.identity().clone(),
        outcome: Outcome::Seizure,
        note: Some("2 t seized".into()),
        created: now(),
    };
    assert_eq!(verify::<Feedback>(&sam.sign(&f).unwrap(), &w.trust, now()).unwrap().message, f);
    let s = LedgerStatement {
        id: TipId::new_v7(now(), [3; 10]),
        jurisdiction: us(),
        counterpart: mx(),
        period_start: Timestamp::from_unix_ms(0).unwrap(),
        period_end: now(),
        by: sam.identity().clone(),
        created: now(),
        rows: vec![],
        tip_count: 1,
        tips_digest: LedgerStatement::digest_of_tips(&[t.id]),
    };
    assert_eq!(verify::<LedgerStatement>(&sam.sign(&s).unwrap(), &w.trust, now()).unwrap().message, s);
    let c = Checkpoint {
        log: relay.identity().to_string(),
        size: 10,
        root: d,
        time: now(),
        relay: relay.identity().clone(),
    };
    assert_eq!(verify::<Checkpoint>(&relay.sign(&c).unwrap(), &w.trust, now()).unwrap().message, c);
}

#[test]
fn any_single_changed_byte_is_rejected() {
    let w = world();
    let bytes = w.ana.signer().unwrap().sign(&mx_tip()).unwrap();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            assert!(verify::<Tip>(&b, &w.trust, now()).is_err(), "byte {i} ^ {flip:#x} accepted");
        }
    }
}

#[test]
fn a_receipt_is_not_a_tip_and_signatures_do_not_cross_kinds() {
    let w = world();
    let relay = w.pki.leaf(&pid("tiprelay://OPERATOR/relay/main"), LeafKind::Signing).unwrap().signer().unwrap();
    let r = Receipt {
        subject: Subject::Tip,
        tip: mx_tip().id,
        from: mx(),
        to: us(),
        digest: Digest([1; 32]),
        seq: 1,
        accepted: now(),
        log_index: 0,
        relay: relay.identity().clone(),
    };
    let receipt = relay.sign(&r).unwrap();
    assert_eq!(code(verify::<Tip>(&receipt, &w.trust, now())), ErrorCode::WrongKind);
    // A tip payload signed under the receipt's aad but labelled as a tip: the signature fails.
    let payload = encode_payload(&mx_tip());
    let forged = raw_envelope(&w.ana.seed, &w.ana.cert_der, Tip::CONTENT_TYPE, Receipt::AAD, payload.clone());
    assert_eq!(code(verify::<Tip>(&forged, &w.trust, now())), ErrorCode::BadSignature);
    let honest = raw_envelope(&w.ana.seed, &w.ana.cert_der, Tip::CONTENT_TYPE, Tip::AAD, payload);
    assert!(verify::<Tip>(&honest, &w.trust, now()).is_ok());
}

#[test]
fn an_mx_tip_signed_with_a_us_certificate_is_rejected_and_says_so() {
    let w = world();
    let us_sam = w.pki.leaf(&pid("tiprelay://US/analyst/sam"), LeafKind::Signing).unwrap();
    let t = tip_by("tiprelay://US/analyst/sam", mx(), us());
    let bytes = raw_envelope(&us_sam.seed, &us_sam.cert_der, Tip::CONTENT_TYPE, Tip::AAD, encode_payload(&t));
    let e = verify::<Tip>(&bytes, &w.trust, now()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::WrongAuthority);
    let msg = e.to_string();
    assert!(msg.contains("tiprelay://US/analyst/sam") && msg.contains("must be signed by a MX certificate"), "{msg}");

    // The US CA minting an MX identity: the chain does not reach the MX root.
    let forged = w
        .pki
        .leaf_with(
            Authority::Jurisdiction(us()),
            &pid("tiprelay://MX/analyst/ana"),
            LeafKind::Signing,
            base(),
            base() + Duration::days(30),
        )
        .unwrap();
    let bytes = raw_envelope(&forged.seed, &forged.cert_der, Tip::CONTENT_TYPE, Tip::AAD, encode_payload(&mx_tip()));
    let e = verify::<Tip>(&bytes, &w.trust, now()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UntrustedChain);
    assert!(e.to_string().contains("does not chain to the MX root CA"), "{e}");
}

#[test]
fn author_must_equal_the_signer() {
    let w = world();
    let other = tip_by("tiprelay://MX/analyst/bea", mx(), us());
    let e = w.ana.signer().unwrap().sign(&other).unwrap_err();
    assert_eq!(e.code(), ErrorCode::SignerMismatch);
    let bytes = raw_envelope(&w.ana.seed, &w.ana.cert_der, Tip::CONTENT_TYPE, Tip::AAD, encode_payload(&other));
    let e = verify::<Tip>(&bytes, &w.trust, now()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::SignerMismatch);
    assert!(
        e.to_string().contains("signed by tiprelay://MX/analyst/ana but the tip names tiprelay://MX/analyst/bea"),
        "{e}"
    );
}

#[test]
fn expired_not_yet_valid_and_revoked_certificates_are_rejected() {
    let mut w = world();
    let ana = pid("tiprelay://MX/analyst/ana");
    let old = w
        .pki
        .leaf_with(Authority::Jurisdiction(mx()), &ana, LeafKind::Signing, base() - Duration::days(30), base())
        .unwrap();
    let bytes = raw_envelope(&old.seed, &old.cert_der, Tip::CONTENT_TYPE, Tip::AAD, encode_payload(&mx_tip()));
    let e = verify::<Tip>(&bytes, &w.trust, now()).unwrap_err();
    assert!(matches!(e, ProtoError::CertificateNotValidNow { reason: "expired", .. }), "{e}");

    let future = w
        .pki
        .leaf_with(
            Authority::Jurisdiction(mx()),
            &ana,
            LeafKind::Signing,
            base() + Duration::days(10),
            base() + Duration::days(20),
        )
        .unwrap();
    let bytes = raw_envelope(&future.seed, &future.cert_der, Tip::CONTENT_TYPE, Tip::AAD, encode_payload(&mx_tip()));
    let e = verify::<Tip>(&bytes, &w.trust, now()).unwrap_err();
    assert!(matches!(e, ProtoError::CertificateNotValidNow { reason: "not yet valid", .. }), "{e}");

    let bytes = w.ana.signer().unwrap().sign(&mx_tip()).unwrap();
    assert!(verify::<Tip>(&bytes, &w.trust, now()).is_ok());
    let crl = w.pki.crl(Authority::Jurisdiction(mx()), &[&w.ana.serial], 2).unwrap();
    w.trust.set_crl(Authority::Jurisdiction(mx()), &crl).unwrap();
    let e = verify::<Tip>(&bytes, &w.trust, now()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Revoked);
    assert!(e.to_string().contains("tiprelay://MX/analyst/ana has been revoked"), "{e}");
    // An older CRL (which did not list it) cannot be loaded over the newer one.
    let older = w.pki.crl(Authority::Jurisdiction(mx()), &[], 1).unwrap();
    assert!(matches!(w.trust.set_crl(Authority::Jurisdiction(mx()), &older), Err(TrustError::CrlNotNewer { .. })));
}

#[test]
fn a_tls_key_cannot_sign_a_tip() {
    let w = world();
    let tls = w.pki.leaf(&pid("tiprelay://MX/analyst/ana"), LeafKind::TlsClient).unwrap();
    assert_eq!(code(Signer::new(&tls.key_pkcs8, tls.cert_der.clone())), ErrorCode::WrongKeyUsage);
    let bytes = raw_envelope(&tls.seed, &tls.cert_der, Tip::CONTENT_TYPE, Tip::AAD, encode_payload(&mx_tip()));
    let e = verify::<Tip>(&bytes, &w.trust, now()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::WrongKeyUsage);
    assert!(e.to_string().contains("a TLS key cannot sign"), "{e}");
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_caught() {
    let w = world();
    let bea = w.pki.leaf(&pid("tiprelay://MX/analyst/bea"), LeafKind::Signing).unwrap();
    // Signer refuses a mismatched key…
    assert_eq!(code(Signer::new(&bea.key_pkcs8, w.ana.cert_der.clone())), ErrorCode::Signing);
    // …and a verifier rejects a signature by another key under ana's certificate.
    let bytes = raw_envelope(&bea.seed, &w.ana.cert_der, Tip::CONTENT_TYPE, Tip::AAD, encode_payload(&mx_tip()));
    assert_eq!(code(verify::<Tip>(&bytes, &w.trust, now())), ErrorCode::BadSignature);
}

#[test]
fn roles_are_enforced() {
    let w = world();
    let feed = w.pki.leaf(&pid("tiprelay://US/feed/sensors"), LeafKind::Signing).unwrap();
    let a = DeliveryAck {
        tip: mx_tip().id,
        from: mx(),
        to: us(),
        digest: Digest([0; 32]),
        seq: 1,
        by: feed.identity.clone(),
        received: now(),
        refused: None,
    };
    let bytes =
        raw_envelope(&feed.seed, &feed.cert_der, DeliveryAck::CONTENT_TYPE, DeliveryAck::AAD, encode_payload(&a));
    assert_eq!(code(verify::<DeliveryAck>(&bytes, &w.trust, now())), ErrorCode::SignerRole);
    // A receipt signed by an analyst: wrong authority.
    let r = Receipt {
        subject: Subject::Tip,
        tip: mx_tip().id,
        from: mx(),
        to: us(),
        digest: Digest([0; 32]),
        seq: 1,
        accepted: now(),
        log_index: 0,
        relay: pid("tiprelay://OPERATOR/relay/main"),
    };
    let bytes = raw_envelope(&w.ana.seed, &w.ana.cert_der, Receipt::CONTENT_TYPE, Receipt::AAD, encode_payload(&r));
    assert_eq!(code(verify::<Receipt>(&bytes, &w.trust, now())), ErrorCode::WrongAuthority);
    // Feedback on an MX->US tip given by an MX analyst: the recipient side must give it.
    let f = Feedback {
        id: TipId::new_v7(now(), [1; 10]),
        tip: mx_tip().id,
        from: mx(),
        to: us(),
        by: w.ana.identity.clone(),
        outcome: Outcome::Actioned,
        note: None,
        created: now(),
    };
    let bytes = raw_envelope(&w.ana.seed, &w.ana.cert_der, Feedback::CONTENT_TYPE, Feedback::AAD, encode_payload(&f));
    assert_eq!(code(verify::<Feedback>(&bytes, &w.trust, now())), ErrorCode::WrongAuthority);
}

#[test]
fn time_rules_apply_at_verification() {
    let w = world();
    let s = w.ana.signer().unwrap();
    let mut t = mx_tip();
    t.created = now().saturating_add_ms(5 * 60_000 + 1);
    assert_eq!(code(verify::<Tip>(&s.sign(&t).unwrap(), &w.trust, now())), ErrorCode::CreatedInFuture);
    let mut t = mx_tip();
    t.valid_until = Some(now().saturating_add_ms(1000));
    let bytes = s.sign(&t).unwrap();
    assert!(verify::<Tip>(&bytes, &w.trust, now()).is_ok());
    assert_eq!(code(verify::<Tip>(&bytes, &w.trust, now().saturating_add_ms(1000))), ErrorCode::Expired);
}

#[test]
fn trust_store_requires_roots_and_crls_from_the_right_ca() {
    let w = world();
    let bytes = w.ana.signer().unwrap().sign(&mx_tip()).unwrap();
    let mut t = TrustStore::new();
    assert_eq!(code(verify::<Tip>(&bytes, &t, now())), ErrorCode::UnknownAuthority);
    t.add_root(Authority::Jurisdiction(mx()), &w.pki.ca(Authority::Jurisdiction(mx())).unwrap().cert_der).unwrap();
    assert_eq!(code(verify::<Tip>(&bytes, &t, now())), ErrorCode::RevocationUnknown);
    let us_crl = w.pki.crl(Authority::Jurisdiction(us()), &[], 1).unwrap();
    assert!(matches!(t.set_crl(Authority::Jurisdiction(mx()), &us_crl), Err(TrustError::CrlWrongIssuer(_))));
    assert!(matches!(t.set_crl(Authority::Jurisdiction(us()), &us_crl), Err(TrustError::NoRoot(_))));
    t.set_crl(Authority::Jurisdiction(mx()), &w.pki.crl(Authority::Jurisdiction(mx()), &[], 1).unwrap()).unwrap();
    assert!(verify::<Tip>(&bytes, &t, now()).is_ok());
    // A leaf is not a root; garbage is not a root.
    assert!(t.add_root(Authority::Jurisdiction(us()), &w.ana.cert_der).is_err());
    assert!(t.add_root(Authority::Jurisdiction(us()), b"not a certificate").is_err());
    // CRL staleness is reported, not fatal.
    assert!(t.stale_crls(now()).is_empty());
    let later = now().saturating_add_ms(8 * 86_400_000);
    assert_eq!(t.stale_crls(later).len(), 1);
}

#[test]
fn header_profile_is_enforced() {
    let w = world();
    let key = ed25519_dalek::SigningKey::from_bytes(&w.ana.seed);
    let payload = encode_payload(&mx_tip());
    let build = |h: coset::Header, u: coset::Header| {
        CoseSign1Builder::new()
            .protected(h)
            .unprotected(u)
            .payload(payload.clone())
            .create_signature(Tip::AAD, |tbs| key.sign(tbs).to_bytes().to_vec())
            .build()
            .to_tagged_vec()
            .unwrap()
    };
    let good = || {
        HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .content_type(Tip::CONTENT_TYPE.into())
            .key_id(Digest::of(&w.ana.cert_der).0.to_vec())
            .value(33, Value::Bytes(w.ana.cert_der.clone()))
    };
    assert!(verify::<Tip>(&build(good().build(), Default::default()), &w.trust, now()).is_ok());
    let wrong_alg = good().algorithm(iana::Algorithm::ES256).build();
    assert_eq!(
        code(verify::<Tip>(&build(wrong_alg, Default::default()), &w.trust, now())),
        ErrorCode::UnsupportedAlgorithm
    );
    let bad_kid = good().key_id(vec![0; 32]).build();
    assert_eq!(code(verify::<Tip>(&build(bad_kid, Default::default()), &w.trust, now())), ErrorCode::KidMismatch);
    let unprot = HeaderBuilder::new().key_id(vec![1]).build();
    assert_eq!(code(verify::<Tip>(&build(good().build(), unprot), &w.trust, now())), ErrorCode::MalformedEnvelope);
    let no_chain = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .content_type(Tip::CONTENT_TYPE.into())
        .key_id(Digest::of(&w.ana.cert_der).0.to_vec())
        .build();
    assert_eq!(
        code(verify::<Tip>(&build(no_chain, Default::default()), &w.trust, now())),
        ErrorCode::MalformedEnvelope
    );
    // Untagged COSE_Sign1 is not accepted.
    let untagged = {
        use coset::CborSerializable;
        CoseSign1Builder::new()
            .protected(good().build())
            .payload(payload.clone())
            .create_signature(Tip::AAD, |tbs| key.sign(tbs).to_bytes().to_vec())
            .build()
            .to_vec()
            .unwrap()
    };
    assert_eq!(code(verify::<Tip>(&untagged, &w.trust, now())), ErrorCode::MalformedEnvelope);
}

/// A CRL past its nextUpdate is used with a warning until the grace runs out; then every
/// certificate of that authority is refused (`revocation_unknown`) until a fresh CRL is
/// loaded. Without a grace (`stale = "warn"`), it is used on.
#[test]
fn a_crl_past_next_update_and_the_grace_refuses_its_authority() {
    let mut w = world();
    let cert = w.ana.cert_der.clone();
    let at = |days: i64| Timestamp::from_unix_ms(1_796_083_200_000 + days as u64 * 86_400_000).unwrap();
    let verify_at = |trust: &TrustStore, days: i64| {
        trust.verify_cert(&cert, &[], Authority::Jurisdiction(mx()), CertUsage::Signing, at(days))
    };
    // The fixture CRLs are issued at base with nextUpdate 7 days later.
    w.trust.set_crl_grace(Some(std::time::Duration::from_secs(7 * 86_400)));
    assert!(verify_at(&w.trust, 1).is_ok());
    assert!(verify_at(&w.trust, 10).is_ok(), "within the grace");
    assert_eq!(w.trust.expired_crls(at(10)), vec![]);
    let e = verify_at(&w.trust, 15).unwrap_err();
    assert_eq!(e.code(), ErrorCode::RevocationUnknown);
    assert!(e.to_string().contains("grace"), "{e}");
    assert_eq!(w.trust.expired_crls(at(15)).len(), 3);
    // With `stale = "warn"` (no grace) a stale CRL is used on, with a warning.
    w.trust.set_crl_grace(None);
    assert!(verify_at(&w.trust, 15).is_ok());
    assert!(w.trust.expired_crls(at(15)).is_empty());
}

/// v1 issues no intermediates: a chain with one is refused, in verify_cert and in an
/// envelope whose x5chain carries two certificates.
#[test]
fn intermediate_certificates_are_refused() {
    let w = world();
    let other = w.pki.leaf(&pid("tiprelay://MX/analyst/bob"), LeafKind::Signing).unwrap();
    let e = w
        .trust
        .verify_cert(&w.ana.cert_der, &[&other.cert_der], Authority::Jurisdiction(mx()), CertUsage::Signing, now())
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UntrustedChain);
    assert!(e.to_string().contains("intermediate"), "{e}");
}

/// A TLS client certificate needs digitalSignature and the clientAuth EKU (webpki alone
/// would take a certificate with no EKU at all); a TLS server certificate needs serverAuth.
#[test]
fn tls_certificates_need_their_key_usages() {
    let w = world();
    let tls = w.pki.leaf(&pid("tiprelay://MX/analyst/ana"), LeafKind::TlsClient).unwrap();
    let mx_auth = Authority::Jurisdiction(mx());
    assert!(w.trust.verify_cert(&tls.cert_der, &[], mx_auth, CertUsage::TlsClient, now()).is_ok());
    // The client certificate is not a server certificate, nor a signing one.
    let e = w.trust.verify_cert(&tls.cert_der, &[], mx_auth, CertUsage::TlsServer, now()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::WrongKeyUsage);
    assert!(e.to_string().contains("serverAuth"), "{e}");
    // A signing certificate (no clientAuth) is not a TLS client certificate.
    let e = w.trust.verify_cert(&w.ana.cert_der, &[], mx_auth, CertUsage::TlsClient, now()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::WrongKeyUsage);
    assert!(e.to_string().contains("clientAuth"), "{e}");
}
