//! The hex test vectors of docs/PROTOCOL.md are regenerated here from fixed seeds and
//! compared with the document, so the document can never drift from the code. Run with
//! `TIPRELAY_UPDATE_VECTORS=1` to rewrite the document's vector blocks after a deliberate
//! format change.

use std::path::PathBuf;

use ::time::OffsetDateTime;
use tiprelay_certs::fixture::FixturePki;
use tiprelay_certs::profile::LeafKind;
use tiprelay_proto::audit::AuditEntry;
use tiprelay_proto::merkle::{inclusion_proof_from_leaves, leaf_hash, root_from_leaves, verify_inclusion};
use tiprelay_proto::wire::{ForwardedTip, Notice, NoticeBody, Request, Response, WireError};
use tiprelay_proto::*;

const LABEL: &str = "tiprelay test vectors v1";
/// Fixture PKI validity starts at 2026-12-01T00:00:00Z.
const BASE_SECS: i64 = 1_796_083_200;
/// Messages are created, and vectors verify, at 2026-12-01T12:00:00Z.
const AT_MS: u64 = 1_796_126_400_000;

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/PROTOCOL.md")
}

fn at() -> Timestamp {
    Timestamp::from_unix_ms(AT_MS).unwrap()
}

/// The audit vectors' checkpoint is signed at 12:00:05 (the next `checkpoint_secs` tick)…
const CHECKPOINT_MS: u64 = AT_MS + 5_000;
/// …and cosigned by the US analyst at 12:01:00.
const COSIGNED_MS: u64 = AT_MS + 60_000;

/// The audit log of the §13 vectors: the §11 tip accepted (index 0, by the MX analyst),
/// delivered to the US analyst 1 s later (index 1), acknowledged by them 2 s later (index 2).
fn audit_entries(tip: &Tip, digest: &Digest, sam: &PrincipalId) -> Vec<AuditEntry> {
    let about_tip = |kind: &str, index: u64, after_ms: u64, principal: &PrincipalId| AuditEntry {
        index,
        principal: Some(principal.to_string()),
        from: Some(tip.from.to_string()),
        to: Some(tip.to.to_string()),
        tip: Some(tip.id.to_string()),
        digest: Some(digest.to_hex()),
        seq: Some(1),
        ..AuditEntry::new(kind, at().saturating_add_ms(after_ms))
    };
    vec![
        AuditEntry { category: Some(tip.category.as_str().into()), ..about_tip("accepted", 0, 0, &tip.author) },
        about_tip("delivered", 1, 1_000, sam),
        about_tip("acked", 2, 2_000, sam),
    ]
}

fn vectors() -> Vec<(&'static str, Vec<u8>)> {
    let mx: Jurisdiction = "MX".parse().unwrap();
    let us: Jurisdiction = "US".parse().unwrap();
    let auths = [Authority::Jurisdiction(mx), Authority::Jurisdiction(us), Authority::Operator];
    let pki = FixturePki::new(LABEL, &auths, OffsetDateTime::from_unix_timestamp(BASE_SECS).unwrap()).unwrap();
    let ana = pki.leaf(&"tiprelay://MX/analyst/ana".parse().unwrap(), LeafKind::Signing).unwrap();
    let sam = pki.leaf(&"tiprelay://US/analyst/sam".parse().unwrap(), LeafKind::Signing).unwrap();
    let relay = pki.leaf(&"tiprelay://OPERATOR/relay/main".parse().unwrap(), LeafKind::Signing).unwrap();
    let (ana_s, sam_s, relay_s) = (ana.signer().unwrap(), sam.signer().unwrap(), relay.signer().unwrap());

    let tip = Tip {
        id: TipId::new_v7(at(), [0x11; 10]),
        from: mx,
        to: us,
        author: ana.identity.clone(),
        created: at(),
        category: Category::ArmedGroupCrossing,
        urgency: Urgency::Flash,
        summary: "Grupo armado (~20) se dirige al cruce de Palomas".into(),
        details: Some("Tres camionetas blancas, rumbo norte.".into()),
        lang: "es".parse().unwrap(),
        location: Some(Location {
            lat: 31.7625,
            lon: -107.6225,
            radius_m: Some(2500),
            place: Some("Puerto Palomas".into()),
            sector: None,
            port_of_entry: Some("Columbus, NM".into()),
        }),
        observed_at: Some(Timestamp::from_unix_ms(AT_MS - 600_000).unwrap()),
        valid_until: Some(Timestamp::from_unix_ms(AT_MS + 6 * 3_600_000).unwrap()),
        source_reliability: Some(SourceReliability::B),
        info_credibility: Some(InfoCredibility::new(2).unwrap()),
        tlp: Tlp::Amber,
        refs: vec![],
    };
    let tip_env = ana_s.sign(&tip).unwrap();
    let digest = Digest::of(&tip_env);
    let receipt = Receipt {
        subject: Subject::Tip,
        tip: tip.id,
        from: mx,
        to: us,
        digest,
        seq: 1,
        accepted: at(),
        log_index: 0,
        relay: relay.identity.clone(),
    };
    let ack = DeliveryAck {
        tip: tip.id,
        from: mx,
        to: us,
        digest,
        seq: 1,
        by: sam.identity.clone(),
        received: at(),
        refused: None,
    };
    let feedback = Feedback {
        id: TipId::new_v7(at(), [0x22; 10]),
        tip: tip.id,
        from: mx,
        to: us,
        by: sam.identity.clone(),
        outcome: Outcome::Interdicted,
        note: Some("Vehicles stopped at Columbus".into()),
        created: at(),
    };
    let statement = LedgerStatement {
        id: TipId::new_v7(at(), [0x33; 10]),
        jurisdiction: us,
        counterpart: mx,
        period_start: Timestamp::from_unix_ms(1_796_083_200_000).unwrap(),
        period_end: Timestamp::from_unix_ms(1_796_169_600_000).unwrap(),
        by: sam.identity.clone(),
        created: at(),
        rows: vec![LedgerRow {
            from: mx,
            to: us,
            category: Category::ArmedGroupCrossing,
            sent: 0,
            accepted: 1,
            delivered: 1,
            acknowledged: 1,
            with_feedback: 1,
            outcomes: vec![(Outcome::Interdicted, 1)],
        }],
        tip_count: 1,
        tips_digest: LedgerStatement::digest_of_tips(&[tip.id]),
    };
    let feedback_env = sam_s.sign(&feedback).unwrap();
    let feedback_receipt = Receipt {
        subject: Subject::Feedback,
        tip: feedback.id,
        from: mx,
        to: us,
        digest: Digest::of(&feedback_env),
        seq: 1,
        accepted: at(),
        log_index: 2,
        relay: relay.identity.clone(),
    };
    let mut facts = TipFacts::new(tip.id, mx, us, tip.category, tip.author.to_string());
    facts.created = at();
    facts.accepted = Some(at());
    facts.seq = Some(1);
    facts.delivered = Some(at().saturating_add_ms(1_000));
    facts.acked = Some(at().saturating_add_ms(2_000));
    facts.add_feedback(Outcome::Interdicted, at().saturating_add_ms(3_000));
    let cursor = RecordCursor { accepted: at().as_unix_ms(), from: mx, id: tip.id };
    let checkpoint = Checkpoint {
        log: relay.identity.to_string(),
        size: 1,
        root: Digest([0xab; 32]),
        time: at(),
        relay: relay.identity.clone(),
    };

    let entries = audit_entries(&tip, &digest, &sam.identity);
    let leaves: Vec<Digest> = entries.iter().map(AuditEntry::leaf).collect();
    let root3 = root_from_leaves(&leaves);
    let proof_1_of_3 = inclusion_proof_from_leaves(&leaves, 1, 3).unwrap();
    verify_inclusion(&leaves[1], 1, 3, &proof_1_of_3, &root3).unwrap();
    let audit_checkpoint = Checkpoint {
        log: relay.identity.to_string(),
        size: 3,
        root: root3,
        time: Timestamp::from_unix_ms(CHECKPOINT_MS).unwrap(),
        relay: relay.identity.clone(),
    };
    let cosignature = Cosignature {
        log: audit_checkpoint.log.clone(),
        size: audit_checkpoint.size,
        root: audit_checkpoint.root,
        checkpoint_time: audit_checkpoint.time,
        by: sam.identity.clone(),
        created: Timestamp::from_unix_ms(COSIGNED_MS).unwrap(),
    };

    // §14 federation: the same tip accepted by MX's own relay (home number 1), forwarded to
    // the US relay, which accepts it 2 s later under the same number.
    let mx_relay = pki.leaf(&"tiprelay://MX/relay/mx".parse().unwrap(), LeafKind::Signing).unwrap();
    let us_relay = pki.leaf(&"tiprelay://US/relay/us".parse().unwrap(), LeafKind::Signing).unwrap();
    let home_receipt =
        mx_relay.signer().unwrap().sign(&Receipt { relay: mx_relay.identity.clone(), ..receipt.clone() }).unwrap();
    let crossed_receipt = us_relay
        .signer()
        .unwrap()
        .sign(&Receipt { relay: us_relay.identity.clone(), accepted: at().saturating_add_ms(2_000), ..receipt.clone() })
        .unwrap();

    let tbs = {
        use coset::TaggedCborSerializable;
        coset::CoseSign1::from_tagged_slice(&tip_env).unwrap().tbs_data(Tip::AAD)
    };

    vec![
        ("mx-root-cert", pki.ca(Authority::Jurisdiction(mx)).unwrap().cert_der.clone()),
        ("mx-crl", pki.crl(Authority::Jurisdiction(mx), &[], 1).unwrap()),
        ("us-root-cert", pki.ca(Authority::Jurisdiction(us)).unwrap().cert_der.clone()),
        ("us-crl", pki.crl(Authority::Jurisdiction(us), &[], 1).unwrap()),
        ("operator-root-cert", pki.ca(Authority::Operator).unwrap().cert_der.clone()),
        ("operator-crl", pki.crl(Authority::Operator, &[], 1).unwrap()),
        ("mx-analyst-seed", ana.seed.to_vec()),
        ("mx-analyst-signing-cert", ana.cert_der.clone()),
        ("us-analyst-seed", sam.seed.to_vec()),
        ("us-analyst-signing-cert", sam.cert_der.clone()),
        ("relay-seed", relay.seed.to_vec()),
        ("relay-signing-cert", relay.cert_der.clone()),
        ("tip-payload", encode_payload(&tip)),
        ("tip-sig-structure", tbs),
        ("tip-envelope", tip_env.clone()),
        ("tip-digest", digest.0.to_vec()),
        ("receipt-payload", encode_payload(&receipt)),
        ("receipt-envelope", relay_s.sign(&receipt).unwrap()),
        ("ack-payload", encode_payload(&ack)),
        ("ack-envelope", sam_s.sign(&ack).unwrap()),
        ("feedback-payload", encode_payload(&feedback)),
        ("feedback-envelope", feedback_env.clone()),
        ("feedback-receipt-payload", encode_payload(&feedback_receipt)),
        ("statement-payload", encode_payload(&statement)),
        ("statement-envelope", sam_s.sign(&statement).unwrap()),
        ("checkpoint-payload", encode_payload(&checkpoint)),
        ("checkpoint-envelope", relay_s.sign(&checkpoint).unwrap()),
        ("request-status-frame", Request::Status.encode()),
        ("request-fetch-frame", Request::Fetch { limit: 256 }.encode()),
        ("request-acks-frame", Request::Acks { after: 7, limit: 1024 }.encode()),
        (
            "request-records-frame",
            Request::Records {
                since: 1_796_083_200_000,
                until: 1_796_169_600_000,
                after: Some(cursor.clone()),
                limit: 1024,
            }
            .encode(),
        ),
        ("response-records-frame", Response::Records { items: vec![facts], next: Some(cursor) }.encode()),
        ("response-event-frame", Response::Event { kind: "tips".into() }.encode()),
        (
            "response-error-frame",
            Response::Error(WireError::new(ErrorCode::Conflict, "tip already accepted with different content"))
                .encode(),
        ),
        ("request-submit-batch-frame", Request::SubmitBatch { envelopes: vec![tip_env.clone()] }.encode()),
        (
            "response-submitted-batch-frame",
            Response::SubmittedBatch {
                items: vec![
                    Ok((relay_s.sign(&receipt).unwrap(), false)),
                    Err(WireError::new(ErrorCode::Conflict, "tip already accepted with different content")),
                ],
            }
            .encode(),
        ),
        (
            "response-acked-batch-frame",
            Response::AckedBatch { items: vec![Ok(()), Err(WireError::new(ErrorCode::UnknownTip, "no such tip"))] }
                .encode(),
        ),
        (
            "response-submitted-frame",
            Response::Submitted { receipt: relay_s.sign(&receipt).unwrap(), duplicate: false }.encode(),
        ),
        ("audit-entry", entries[0].encode()),
        ("audit-leaf", leaves[0].0.to_vec()),
        ("audit-root-3", root3.0.to_vec()),
        ("audit-inclusion-1-of-3", proof_1_of_3.iter().flat_map(|d| d.0).collect()),
        ("audit-checkpoint-envelope", relay_s.sign(&audit_checkpoint).unwrap()),
        ("cosignature-payload", encode_payload(&cosignature)),
        ("cosignature-envelope", sam_s.sign(&cosignature).unwrap()),
        ("request-checkpoint-frame", Request::Checkpoint { fresh: false }.encode()),
        ("response-proof-frame", Response::Proof { entry: Some(entries[1].encode()), proof: proof_1_of_3 }.encode()),
        ("mx-relay-signing-cert", mx_relay.cert_der.clone()),
        ("us-relay-signing-cert", us_relay.cert_der.clone()),
        ("home-receipt-envelope", home_receipt.clone()),
        ("crossed-receipt-envelope", crossed_receipt.clone()),
        (
            "request-forward-frame",
            Request::Forward { items: vec![ForwardedTip { tip: tip_env.clone(), receipt: home_receipt }] }.encode(),
        ),
        (
            "response-forwarded-frame",
            Response::SubmittedBatch { items: vec![Ok((crossed_receipt.clone(), false))] }.encode(),
        ),
        (
            "response-sequence-gap-frame",
            Response::SubmittedBatch {
                items: vec![Err(WireError::new(
                    ErrorCode::SequenceGap,
                    "gap in the home sequence: expected number 1, got 2",
                ))],
            }
            .encode(),
        ),
        (
            "response-acks-crossed-frame",
            Response::Acks { items: vec![Notice { index: 1, body: NoticeBody::Crossed(crossed_receipt) }] }.encode(),
        ),
    ]
}

fn to_hex_block(bytes: &[u8]) -> String {
    let h = hex::encode(bytes);
    h.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n")
}

const OPEN: &str = "<!-- vector:";

/// The vector blocks of the document: name -> hex bytes, in order.
fn doc_vectors(doc: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(OPEN) {
        rest = &rest[i + OPEN.len()..];
        let end = rest.find(" -->").unwrap();
        let name = rest[..end].to_owned();
        let body_start = rest.find("```hex\n").unwrap() + 7;
        let body_end = body_start + rest[body_start..].find("```").unwrap();
        let hexs: String = rest[body_start..body_end].split_whitespace().collect();
        out.push((name, hex::decode(hexs).unwrap()));
        rest = &rest[body_end..];
    }
    out
}

fn rewrite(doc: &str, vectors: &[(&str, Vec<u8>)]) -> String {
    let mut out = String::new();
    let mut rest = doc;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(" -->").unwrap();
        let name = &rest[OPEN.len()..end];
        let body_start = rest.find("```hex\n").unwrap() + 7;
        let body_end = body_start + rest[body_start..].find("```").unwrap();
        out.push_str(&rest[..body_start]);
        let v = vectors.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("unknown vector {name}"));
        out.push_str(&to_hex_block(&v.1));
        out.push('\n');
        rest = &rest[body_end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn vectors_are_deterministic() {
    assert_eq!(vectors(), vectors());
}

#[test]
fn protocol_md_vectors_match_the_code() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).unwrap();
    let v = vectors();
    if std::env::var_os("TIPRELAY_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, rewrite(&doc, &v)).unwrap();
        return;
    }
    let in_doc = doc_vectors(&doc);
    let names: Vec<&str> = in_doc.iter().map(|(n, _)| n.as_str()).collect();
    for (name, bytes) in &v {
        let found = in_doc
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("docs/PROTOCOL.md lacks vector {name} (has {names:?})"));
        assert_eq!(&found.1, bytes, "vector {name} in docs/PROTOCOL.md differs from the code; if the change is deliberate, rerun with TIPRELAY_UPDATE_VECTORS=1");
    }
    assert_eq!(in_doc.len(), v.len(), "docs/PROTOCOL.md has vectors the code does not produce");
}

/// A reader of the document alone can verify every envelope with the document's roots and
/// CRLs at the documented time.
#[test]
fn protocol_md_envelopes_verify_from_the_document_alone() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let d: std::collections::HashMap<String, Vec<u8>> = doc_vectors(&doc).into_iter().collect();
    let mut t = TrustStore::new();
    for (a, p) in [("MX", "mx"), ("US", "us"), ("OPERATOR", "operator")] {
        let a: Authority = a.parse().unwrap();
        t.add_root(a, &d[&format!("{p}-root-cert")]).unwrap();
        t.set_crl(a, &d[&format!("{p}-crl")]).unwrap();
    }
    let tip = verify::<Tip>(&d["tip-envelope"], &t, at()).unwrap();
    assert_eq!(tip.digest.0.to_vec(), d["tip-digest"]);
    assert_eq!(encode_payload(&tip.message), d["tip-payload"]);
    verify::<Receipt>(&d["receipt-envelope"], &t, at()).unwrap();
    verify::<DeliveryAck>(&d["ack-envelope"], &t, at()).unwrap();
    verify::<Feedback>(&d["feedback-envelope"], &t, at()).unwrap();
    verify::<LedgerStatement>(&d["statement-envelope"], &t, at()).unwrap();
    verify::<Checkpoint>(&d["checkpoint-envelope"], &t, at()).unwrap();
    // The documented seed is the signing key of the documented certificate.
    let seed: [u8; 32] = d["mx-analyst-seed"].clone().try_into().unwrap();
    let pk = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    assert_eq!(summarize_certificate(&d["mx-analyst-signing-cert"]).unwrap().ed25519_public_key, Some(pk));
}

/// §13 from the document alone: the entry is the acceptance named by the §11 receipt, the
/// inclusion proof leads from entry 1 (carried in the `proof` answer) to the signed root of
/// the 3-entry log, and the US analyst's cosignature covers exactly that checkpoint.
#[test]
fn protocol_md_audit_vectors_verify_from_the_document_alone() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let d: std::collections::HashMap<String, Vec<u8>> = doc_vectors(&doc).into_iter().collect();
    let mut t = TrustStore::new();
    for (a, p) in [("MX", "mx"), ("US", "us"), ("OPERATOR", "operator")] {
        let a: Authority = a.parse().unwrap();
        t.add_root(a, &d[&format!("{p}-root-cert")]).unwrap();
        t.set_crl(a, &d[&format!("{p}-crl")]).unwrap();
    }
    let digest = |name: &str| Digest(d[name].clone().try_into().unwrap());

    // The entry: canonical, and the acceptance the receipt names (what `tipctl audit prove` checks).
    let entry = AuditEntry::decode(&d["audit-entry"]).unwrap();
    assert_eq!(entry.encode(), d["audit-entry"]);
    let receipt = verify::<Receipt>(&d["receipt-envelope"], &t, at()).unwrap().message;
    assert_eq!(entry.index, receipt.log_index);
    assert_eq!(entry.kind, "accepted");
    assert_eq!(entry.time, receipt.accepted.as_unix_ms());
    assert_eq!(entry.tip.as_deref(), Some(receipt.tip.to_string().as_str()));
    assert_eq!(entry.digest.as_deref(), Some(hex::encode(&d["tip-digest"]).as_str()));
    assert_eq!(entry.seq, Some(receipt.seq));
    assert_eq!(entry.principal.as_deref(), Some("tiprelay://MX/analyst/ana"));
    assert_eq!(leaf_hash(&d["audit-entry"]), digest("audit-leaf"));

    // The relay's checkpoint of the 3-entry log, verified at its own time.
    let cp_time = parse::<Checkpoint>(&d["audit-checkpoint-envelope"]).unwrap().message.time;
    let cp = verify::<Checkpoint>(&d["audit-checkpoint-envelope"], &t, cp_time).unwrap().message;
    assert_eq!((cp.size, cp.root, cp.log.as_str()), (3, digest("audit-root-3"), "tiprelay://OPERATOR/relay/main"));

    // The inclusion proof of entry 1, as the relay answers it, against the vector root.
    assert_eq!(Request::decode(&d["request-checkpoint-frame"]).unwrap(), Request::Checkpoint { fresh: false });
    let Response::Proof { entry: Some(entry1), proof } = Response::decode(&d["response-proof-frame"]).unwrap() else {
        panic!("response-proof-frame is not a proof answer with an entry");
    };
    assert_eq!(proof.iter().flat_map(|h| h.0).collect::<Vec<u8>>(), d["audit-inclusion-1-of-3"]);
    assert_eq!(AuditEntry::decode(&entry1).unwrap().index, 1);
    assert_eq!(proof[0], digest("audit-leaf"), "entry 1's sibling is entry 0's leaf");
    verify_inclusion(&leaf_hash(&entry1), 1, cp.size, &proof, &cp.root).unwrap();
    verify_inclusion(&leaf_hash(&entry1), 1, 3, &proof, &digest("audit-root-3")).unwrap();
    // The same hashes prove nothing for another index, entry or root.
    assert!(verify_inclusion(&leaf_hash(&entry1), 0, 3, &proof, &cp.root).is_err());
    assert!(verify_inclusion(&digest("audit-leaf"), 1, 3, &proof, &cp.root).is_err());
    assert!(verify_inclusion(&leaf_hash(&entry1), 1, 3, &proof, &Digest([0xab; 32])).is_err());

    // The US analyst's cosignature of exactly that checkpoint, verified at its own time.
    let cs = parse::<Cosignature>(&d["cosignature-envelope"]).unwrap().message;
    let v = verify::<Cosignature>(&d["cosignature-envelope"], &t, cs.created).unwrap();
    assert_eq!(encode_payload(&v.message), d["cosignature-payload"]);
    assert_eq!(v.signer.to_string(), "tiprelay://US/analyst/sam");
    assert!(v.message.covers(&cp));
    // A cosignature is no checkpoint, and the reverse (distinct external_aad and content type).
    assert!(verify::<Checkpoint>(&d["cosignature-envelope"], &t, cs.created).is_err());
    assert!(verify::<Cosignature>(&d["audit-checkpoint-envelope"], &t, cs.created).is_err());
}

/// §14 from the document alone: the home receipt (MX's own relay) and the crossed receipt
/// (the US relay) verify with the jurisdictions' roots, name the same tip, digest and
/// number, and the `forward` frame carries the §11 tip with the home receipt.
#[test]
fn protocol_md_federation_vectors_verify_from_the_document_alone() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let d: std::collections::HashMap<String, Vec<u8>> = doc_vectors(&doc).into_iter().collect();
    let mut t = TrustStore::new();
    // A federated verifier needs no operator root.
    for (a, p) in [("MX", "mx"), ("US", "us")] {
        let a: Authority = a.parse().unwrap();
        t.add_root(a, &d[&format!("{p}-root-cert")]).unwrap();
        t.set_crl(a, &d[&format!("{p}-crl")]).unwrap();
    }
    let home = verify::<Receipt>(&d["home-receipt-envelope"], &t, at()).unwrap();
    let across = verify::<Receipt>(&d["crossed-receipt-envelope"], &t, at()).unwrap();
    assert_eq!(home.signer.to_string(), "tiprelay://MX/relay/mx");
    assert_eq!(across.signer.to_string(), "tiprelay://US/relay/us");
    let (h, a) = (home.message, across.message);
    assert_eq!((h.tip, h.from, h.to, h.digest, h.seq), (a.tip, a.from, a.to, a.digest, a.seq));
    assert_eq!(h.digest.0.to_vec(), d["tip-digest"]);
    // Each relay certifies only its own jurisdiction's relay: the MX receipt does not verify
    // as the US relay's, nor with the operator's root alone.
    assert!(
        summarize_certificate(&d["mx-relay-signing-cert"]).unwrap().identity.unwrap().jurisdiction()
            == Some("MX".parse().unwrap())
    );
    let Request::Forward { items } = Request::decode(&d["request-forward-frame"]).unwrap() else {
        panic!("request-forward-frame is not a forward");
    };
    assert_eq!((items.len(), &items[0].tip, &items[0].receipt), (1, &d["tip-envelope"], &d["home-receipt-envelope"]));
    let Response::SubmittedBatch { items } = Response::decode(&d["response-forwarded-frame"]).unwrap() else {
        panic!("response-forwarded-frame is not a submitted_batch");
    };
    assert_eq!(items, vec![Ok((d["crossed-receipt-envelope"].clone(), false))]);
    let Response::SubmittedBatch { items } = Response::decode(&d["response-sequence-gap-frame"]).unwrap() else {
        panic!("response-sequence-gap-frame is not a submitted_batch");
    };
    assert_eq!(items[0].as_ref().unwrap_err().code, ErrorCode::SequenceGap as u16);
    let Response::Acks { items } = Response::decode(&d["response-acks-crossed-frame"]).unwrap() else {
        panic!("response-acks-crossed-frame is not an acks answer");
    };
    assert_eq!(items[0].body, NoticeBody::Crossed(d["crossed-receipt-envelope"].clone()));
}

#[test]
fn protocol_md_names_the_vector_tip_id_and_every_error_code() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let id = TipId::new_v7(at(), [0x11; 10]).to_string();
    assert!(doc.contains(&format!("`{id}`")), "PROTOCOL.md must name the vector tip id {id}");
    for c in ErrorCode::ALL {
        let row = format!("| {} | `{}` |", c as u16, c.name());
        assert!(doc.contains(&row), "PROTOCOL.md lacks the error code row {row}");
    }
}
