//! Encode/decode properties and field rules of every message kind, without a PKI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ciborium::Value;
use proptest::prelude::*;
use tiprelay_proto::*;

const NOW: u64 = 1_796_083_200_000; // 2026-12-01T00:00:00Z

fn ts(ms: u64) -> Timestamp {
    Timestamp::from_unix_ms(ms).unwrap()
}

fn id(n: u8) -> TipId {
    TipId::new_v7(ts(NOW), [n; 10])
}

fn mx() -> Jurisdiction {
    "MX".parse().unwrap()
}
fn us() -> Jurisdiction {
    "US".parse().unwrap()
}

fn sample_tip() -> Tip {
    Tip {
        id: id(1),
        from: mx(),
        to: us(),
        author: "tiprelay://MX/analyst/ana".parse().unwrap(),
        created: ts(NOW),
        category: Category::ArmedGroupCrossing,
        urgency: Urgency::Flash,
        summary: "Grupo armado de ~20 personas se aproxima al cruce".into(),
        details: Some("Tres camionetas.\nRumbo norte.".into()),
        lang: "es".parse().unwrap(),
        location: Some(Location {
            lat: 31.7619,
            lon: -106.485,
            radius_m: Some(2000),
            place: Some("Ciudad Juárez".into()),
            sector: Some("El Paso".into()),
            port_of_entry: None,
        }),
        observed_at: Some(ts(NOW - 60_000)),
        valid_until: Some(ts(NOW + 3_600_000)),
        source_reliability: Some(SourceReliability::B),
        info_credibility: Some(InfoCredibility::new(2).unwrap()),
        tlp: Tlp::Amber,
        refs: vec![id(2)],
    }
}

/// Re-encodes a tip's payload with one top-level key changed (None removes it).
fn with_field(tip: &Tip, key: &str, v: Option<Value>) -> Vec<u8> {
    let bytes = encode_payload(tip);
    let Value::Map(mut m) = ciborium::de::from_reader::<Value, _>(&bytes[..]).unwrap() else { unreachable!() };
    m.retain(|(k, _)| k.as_text() != Some(key));
    if let Some(v) = v {
        m.push((Value::Text(key.into()), v));
    }
    let mut out = Vec::new();
    ciborium::ser::into_writer(&Value::Map(m), &mut out).unwrap();
    out
}

fn field_err(bytes: &[u8]) -> FieldError {
    match decode_payload::<Tip>(bytes) {
        Err(ProtoError::Field { source, .. }) => source,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn sample_tip_round_trips_and_encoding_is_deterministic() {
    let t = sample_tip();
    let a = encode_payload(&t);
    assert_eq!(decode_payload::<Tip>(&a).unwrap(), t);
    assert_eq!(encode_payload(&decode_payload::<Tip>(&a).unwrap()), a);
}

#[test]
fn every_field_rule_has_its_own_error() {
    let t = sample_tip();
    let text = |s: &str| Some(Value::Text(s.into()));
    assert_eq!(field_err(&with_field(&t, "tlp", None)), FieldError::TlpMissing);
    assert_eq!(field_err(&with_field(&t, "summary", None)), FieldError::Missing("summary"));
    assert_eq!(field_err(&with_field(&t, "id", None)), FieldError::Missing("id"));
    assert_eq!(field_err(&with_field(&t, "v", Some(Value::Integer(2.into())))), FieldError::UnsupportedVersion(2));
    assert_eq!(field_err(&with_field(&t, "extra", text("x"))), FieldError::Unknown("extra".into()));
    assert_eq!(field_err(&with_field(&t, "summary", text(&"x".repeat(501)))), FieldError::SummaryTooLong(501));
    assert!(decode_payload::<Tip>(&with_field(&t, "summary", text(&"é".repeat(500)))).is_ok());
    assert_eq!(field_err(&with_field(&t, "summary", text(""))), FieldError::SummaryEmpty);
    assert_eq!(field_err(&with_field(&t, "summary", text("a\u{7}b"))), FieldError::ControlCharacters("summary"));
    assert_eq!(
        field_err(&with_field(&t, "details", text(&"x".repeat(16 * 1024 + 1)))),
        FieldError::DetailsTooLong(16385)
    );
    assert_eq!(field_err(&with_field(&t, "to", text("MX"))), FieldError::SameJurisdiction("MX".into()));
    assert!(matches!(field_err(&with_field(&t, "to", text("mx"))), FieldError::Id { field: "to", .. }));
    assert!(matches!(
        field_err(&with_field(&t, "author", text("tiprelay://MX/boss/x"))),
        FieldError::Id { field: "author", .. }
    ));
    assert!(matches!(
        field_err(&with_field(&t, "category", text("gossip"))),
        FieldError::NotInSet { field: "category", .. }
    ));
    assert!(matches!(
        field_err(&with_field(&t, "urgency", text("whenever"))),
        FieldError::NotInSet { field: "urgency", .. }
    ));
    assert!(matches!(field_err(&with_field(&t, "tlp", text("white"))), FieldError::NotInSet { field: "tlp", .. }));
    assert!(matches!(field_err(&with_field(&t, "source_reliability", text("G"))), FieldError::NotInSet { .. }));
    assert_eq!(
        field_err(&with_field(&t, "info_credibility", Some(Value::Integer(7.into())))),
        FieldError::OutOfRange("info_credibility")
    );
    assert_eq!(field_err(&with_field(&t, "lang", text("Spanish"))), FieldError::InvalidLang);
    assert_eq!(
        field_err(&with_field(&t, "id", Some(Value::Bytes(vec![0; 15])))),
        FieldError::WrongLength { field: "id", len: 16 }
    );
    assert!(matches!(
        field_err(&with_field(&t, "id", Some(Value::Bytes(vec![0; 16])))),
        FieldError::Id { field: "id", .. }
    ));
    assert_eq!(
        field_err(&with_field(&t, "created", text("yesterday"))),
        FieldError::WrongType { field: "created", expected: "an unsigned integer" }
    );
    assert_eq!(
        field_err(&with_field(&t, "valid_until", Some(Value::Integer(NOW.into())))),
        FieldError::ValidUntilBeforeCreated
    );
    assert_eq!(
        field_err(&with_field(&t, "refs", Some(Value::Array(vec![Value::Bytes(t.id.as_bytes().to_vec())])))),
        FieldError::BadRef
    );
    let many: Vec<Value> = (0..33).map(|i| Value::Bytes(id(i + 10).as_bytes().to_vec())).collect();
    assert_eq!(field_err(&with_field(&t, "refs", Some(Value::Array(many)))), FieldError::TooManyRefs(33));

    let loc = |lat: f64, lon: f64, r: u64| {
        let mut t = t.clone();
        t.location = Some(Location { lat, lon, radius_m: Some(r), place: None, sector: None, port_of_entry: None });
        t.validate()
    };
    assert_eq!(loc(90.5, 0.0, 1), Err(FieldError::LatitudeOutOfRange));
    assert_eq!(loc(f64::NAN, 0.0, 1), Err(FieldError::LatitudeOutOfRange));
    assert_eq!(loc(0.0, -180.1, 1), Err(FieldError::LongitudeOutOfRange));
    assert_eq!(loc(0.0, f64::INFINITY, 1), Err(FieldError::LongitudeOutOfRange));
    assert_eq!(loc(0.0, 0.0, 0), Err(FieldError::RadiusOutOfRange));
    assert_eq!(loc(0.0, 0.0, 500_001), Err(FieldError::RadiusOutOfRange));
    assert_eq!(loc(-90.0, 180.0, 500_000), Ok(()));
}

/// Characters that could show a reader something other than what was signed are refused
/// in every text field (`details` keeps LF and TAB, not CR); an empty `refs` list is a
/// second encoding of "no refs" and is refused.
#[test]
fn hidden_characters_and_empty_lists_are_refused() {
    let t = sample_tip();
    let text = |s: &str| Some(Value::Text(s.into()));
    for c in [
        '\u{202e}',
        '\u{2066}',
        '\u{200b}',
        '\u{200f}',
        '\u{feff}',
        '\u{2028}',
        '\u{61c}',
        '\u{ad}',
        '\u{85}',
        '\u{e0041}',
        '\u{3164}',
        '\u{34f}',
        '\u{206b}',
        '\u{fffa}',
    ] {
        let s = format!("armed group{c}crossing");
        assert!(tiprelay_proto::is_hidden_char(c), "{:x}", u32::from(c));
        assert_eq!(field_err(&with_field(&t, "summary", text(&s))), FieldError::ControlCharacters("summary"));
        assert_eq!(field_err(&with_field(&t, "details", text(&s))), FieldError::ControlCharacters("details"));
    }
    assert_eq!(
        field_err(&with_field(&t, "details", text("line one\r\nline two"))),
        FieldError::ControlCharacters("details")
    );
    assert!(decode_payload::<Tip>(&with_field(&t, "details", text("line one\n\tline two"))).is_ok());
    // Ordinary letters of the analysts' languages pass.
    assert!(decode_payload::<Tip>(&with_field(&t, "summary", text("Cruce en Palomas: ñ, ü, é, «¿?»"))).is_ok());
    assert_eq!(field_err(&with_field(&t, "refs", Some(Value::Array(vec![])))), FieldError::EmptyList("refs"));
}

#[test]
fn duplicate_keys_and_trailing_bytes_are_rejected() {
    let t = sample_tip();
    let mut bytes = encode_payload(&t);
    bytes.push(0x00);
    assert!(matches!(decode_payload::<Tip>(&bytes), Err(ProtoError::MalformedCbor(_))));
    let Value::Map(mut m) = ciborium::de::from_reader::<Value, _>(&encode_payload(&t)[..]).unwrap() else {
        unreachable!()
    };
    m.push((Value::Text("summary".into()), Value::Text("second".into())));
    let mut out = Vec::new();
    ciborium::ser::into_writer(&Value::Map(m), &mut out).unwrap();
    assert_eq!(field_err(&out), FieldError::Duplicate("summary".into()));
}

#[test]
fn time_rules_depend_only_on_the_given_now() {
    let mut t = sample_tip();
    assert!(t.check_time(ts(NOW)).is_ok());
    // Created 5 minutes ahead of the verifier is within the skew window; 1 ms more is not.
    t.created = ts(NOW + 5 * 60_000);
    t.observed_at = None;
    assert!(t.check_time(ts(NOW)).is_ok());
    t.created = ts(NOW + 5 * 60_000 + 1);
    assert_eq!(t.check_time(ts(NOW)).unwrap_err().code(), ErrorCode::CreatedInFuture);
    let mut t = sample_tip();
    assert_eq!(t.check_time(ts(NOW + 3_600_000)).unwrap_err().code(), ErrorCode::Expired);
    t.valid_until = None;
    assert!(t.check_time(ts(NOW + 3_600_000)).is_ok());
}

#[test]
fn error_codes_are_distinct_and_named() {
    let mut nums: Vec<u16> = ErrorCode::ALL.iter().map(|c| *c as u16).collect();
    nums.sort_unstable();
    nums.dedup();
    assert_eq!(nums.len(), ErrorCode::ALL.len());
    let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ErrorCode::ALL.len());
}

// ---- property tests ----

fn jur() -> impl Strategy<Value = Jurisdiction> {
    "[A-Z]{2,3}".prop_map(|s| s.parse().unwrap())
}

fn pair() -> impl Strategy<Value = (Jurisdiction, Jurisdiction)> {
    (jur(), jur()).prop_filter("distinct", |(a, b)| a != b)
}

fn tip_id() -> impl Strategy<Value = TipId> {
    (0u64..=Timestamp::MAX_MS, any::<[u8; 10]>()).prop_map(|(ms, r)| TipId::new_v7(ts(ms), r))
}

fn principal(j: Jurisdiction) -> impl Strategy<Value = PrincipalId> {
    (prop_oneof![Just(PrincipalKind::Analyst), Just(PrincipalKind::Feed)], "[a-z0-9][a-z0-9._-]{0,20}")
        .prop_map(move |(k, n)| PrincipalId::new(Authority::Jurisdiction(j), k, &n).unwrap())
}

fn line(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        any::<char>().prop_filter("no hidden character", |c| !tiprelay_proto::is_hidden_char(*c)),
        1..max,
    )
    .prop_map(|v| v.into_iter().collect::<String>())
    .prop_filter("not blank", |s| !s.trim().is_empty())
}

fn location() -> impl Strategy<Value = Location> {
    (-90.0f64..=90.0, -180.0f64..=180.0, proptest::option::of(1u64..=500_000), proptest::option::of(line(50))).prop_map(
        |(lat, lon, radius_m, place)| Location { lat, lon, radius_m, place, sector: None, port_of_entry: None },
    )
}

fn tip() -> impl Strategy<Value = Tip> {
    (
        pair(),
        tip_id(),
        0u64..Timestamp::MAX_MS / 2,
        line(40),
        proptest::option::of("[ -~\n]{0,200}"),
        proptest::option::of(location()),
    )
        .prop_flat_map(|((from, to), id, created, summary, details, location)| {
            (
                principal(from),
                proptest::sample::select(Category::ALL),
                proptest::sample::select(Urgency::ALL),
                proptest::sample::select(Tlp::ALL),
                proptest::option::of(proptest::sample::select(SourceReliability::ALL)),
                proptest::option::of(1u64..=6),
                proptest::option::of(1u64..1_000_000_000),
                proptest::collection::vec(tip_id(), 0..4),
            )
                .prop_map(move |(author, category, urgency, tlp, rel, cred, valid_for, refs)| Tip {
                    id,
                    from,
                    to,
                    author,
                    created: ts(created),
                    category,
                    urgency,
                    summary: summary.clone(),
                    details: details.clone(),
                    lang: "en".parse().unwrap(),
                    location: location.clone(),
                    observed_at: None,
                    valid_until: valid_for.map(|d| ts(created + d)),
                    source_reliability: rel,
                    info_credibility: cred.map(|c| InfoCredibility::new(c).unwrap()),
                    tlp,
                    refs: refs.into_iter().filter(|r| *r != id).fold(Vec::new(), |mut v, r| {
                        if !v.contains(&r) {
                            v.push(r)
                        }
                        v
                    }),
                })
        })
}

fn relay() -> PrincipalId {
    "tiprelay://OPERATOR/relay/main".parse().unwrap()
}

proptest! {
    #[test]
    fn tip_round_trips(t in tip()) {
        let bytes = encode_payload(&t);
        let back = decode_payload::<Tip>(&bytes).unwrap();
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(encode_payload(&back), bytes);
    }

    #[test]
    fn receipt_round_trips((from, to) in pair(), tip in tip_id(), seq in 1u64.., acc in 0u64..=Timestamp::MAX_MS, li in any::<u64>(), d in any::<[u8; 32]>()) {
        let r = Receipt { subject: Subject::Tip, tip, from, to, digest: Digest(d), seq, accepted: ts(acc), log_index: li, relay: relay() };
        prop_assert_eq!(decode_payload::<Receipt>(&encode_payload(&r)).unwrap(), r);
    }

    #[test]
    fn ack_and_feedback_round_trip((from, to) in pair(), tip in tip_id(), fid in tip_id(), seq in 1u64.., at in 0u64..=Timestamp::MAX_MS, o in proptest::sample::select(Outcome::ALL), note in proptest::option::of(line(100)), d in any::<[u8; 32]>()) {
        let by = PrincipalId::new(Authority::Jurisdiction(to), PrincipalKind::Analyst, "x").unwrap();
        let a = DeliveryAck { tip, from, to, digest: Digest(d), seq, by: by.clone(), received: ts(at), refused: None };
        prop_assert_eq!(decode_payload::<DeliveryAck>(&encode_payload(&a)).unwrap(), a);
        let f = Feedback { id: fid, tip, from, to, by, outcome: o, note, created: ts(at) };
        prop_assert_eq!(decode_payload::<Feedback>(&encode_payload(&f)).unwrap(), f);
    }

    #[test]
    fn statement_and_checkpoint_round_trip((j, c) in pair(), sid in tip_id(), start in 0u64..1_000_000, len in 1u64..1_000_000, counts in proptest::collection::vec((any::<u32>(), proptest::sample::select(Category::ALL), any::<bool>()), 0..20), ids in proptest::collection::vec(tip_id(), 0..50), size in any::<u64>(), root in any::<[u8; 32]>()) {
        let rows = counts.iter().map(|(n, cat, dir)| LedgerRow {
            from: if *dir { j } else { c }, to: if *dir { c } else { j }, category: *cat,
            sent: u64::from(*n), accepted: u64::from(*n / 2), delivered: u64::from(*n / 3), acknowledged: u64::from(*n / 4), with_feedback: u64::from(*n / 5),
            outcomes: vec![(Outcome::Seizure, u64::from(*n / 7)), (Outcome::Unfounded, 1)],
        }).collect();
        let s = LedgerStatement {
            id: sid, jurisdiction: j, counterpart: c, period_start: ts(start), period_end: ts(start + len),
            by: PrincipalId::new(Authority::Jurisdiction(j), PrincipalKind::Analyst, "a").unwrap(), created: ts(start),
            rows, tip_count: ids.len() as u64, tips_digest: LedgerStatement::digest_of_tips(&ids),
        };
        prop_assert_eq!(decode_payload::<LedgerStatement>(&encode_payload(&s)).unwrap(), s);
        let cp = Checkpoint { log: relay().to_string(), size, root: Digest(root), time: ts(start), relay: relay() };
        prop_assert_eq!(decode_payload::<Checkpoint>(&encode_payload(&cp)).unwrap(), cp);
    }

    #[test]
    fn statement_tip_digest_is_order_independent(mut ids in proptest::collection::vec(tip_id(), 0..30)) {
        let a = LedgerStatement::digest_of_tips(&ids);
        ids.reverse();
        prop_assert_eq!(a, LedgerStatement::digest_of_tips(&ids));
    }

    #[test]
    fn principal_ids_round_trip(j in jur(), n in "[a-z0-9][a-z0-9._-]{0,63}", feed in any::<bool>()) {
        let k = if feed { PrincipalKind::Feed } else { PrincipalKind::Analyst };
        let p = PrincipalId::new(Authority::Jurisdiction(j), k, &n).unwrap();
        prop_assert_eq!(p.to_string().parse::<PrincipalId>().unwrap(), p);
    }

    #[test]
    fn arbitrary_text_never_panics_as_identifier(s in ".{0,100}") {
        let _ = s.parse::<PrincipalId>();
        let _ = s.parse::<Jurisdiction>();
        let _ = s.parse::<TipId>();
        let _ = s.parse::<Lang>();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    /// Arbitrary bytes given to every parser: a typed error or a value, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(parse::<Tip>(&bytes).is_err());
        let _ = parse::<Receipt>(&bytes);
        let _ = parse::<DeliveryAck>(&bytes);
        let _ = parse::<Feedback>(&bytes);
        let _ = parse::<LedgerStatement>(&bytes);
        let _ = parse::<Checkpoint>(&bytes);
        let _ = decode_payload::<Tip>(&bytes);
        let _ = decode_payload::<Receipt>(&bytes);
        let _ = decode_payload::<LedgerStatement>(&bytes);
        let _ = summarize_certificate(&bytes);
    }

    /// Mutations of a valid payload: a typed error or a valid tip, never a panic.
    #[test]
    fn mutated_payloads_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = encode_payload(&sample_tip());
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = decode_payload::<Tip>(&bytes);
        bytes.truncate(cut.index(bytes.len()));
        prop_assert!(decode_payload::<Tip>(&bytes).is_err());
    }
}

#[test]
fn oversized_envelopes_are_refused_before_parsing() {
    let big = vec![0u8; limits::MAX_ENVELOPE_BYTES + 1];
    assert_eq!(parse::<Tip>(&big).unwrap_err().code(), ErrorCode::Oversized);
}

/// A signed refusal (PROTOCOL §5.3): a DeliveryAck with `refused` (a final code) and
/// `reason`, both or neither; anything else is refused with its own field error.
#[test]
fn a_refusal_round_trips_and_its_rules_hold() {
    let (from, to): (Jurisdiction, Jurisdiction) = ("MX".parse().unwrap(), "US".parse().unwrap());
    let by = PrincipalId::new(Authority::Jurisdiction(to), PrincipalKind::Analyst, "sam").unwrap();
    let tip = TipId::new_v7(ts(1_800_000_000_000), [1; 10]);
    let ack = |refused: Option<Refusal>| DeliveryAck {
        tip,
        from,
        to,
        digest: Digest([5; 32]),
        seq: 7,
        by: by.clone(),
        received: ts(1_800_000_000_000),
        refused,
    };
    let r = Refusal { code: ErrorCode::Revoked, reason: "revoked before the relay accepted the tip".into() };
    let a = ack(Some(r.clone()));
    let bytes = encode_payload(&a);
    assert_eq!(decode_payload::<DeliveryAck>(&bytes).unwrap(), a);
    // A positive ack has neither key (the encoding of acks before refusals existed).
    let plain = encode_payload(&ack(None));
    let Value::Map(m) = ciborium::de::from_reader::<Value, _>(&plain[..]).unwrap() else { unreachable!() };
    assert!(m.iter().all(|(k, _)| !matches!(k.as_text(), Some("refused" | "reason"))));

    let err = |a: &DeliveryAck| match decode_payload::<DeliveryAck>(&encode_payload(a)) {
        Err(ProtoError::Field { source, .. }) => source,
        other => panic!("expected a field error, got {other:?}"),
    };
    // Only failures of the tip itself are reasons to refuse for good.
    for code in [ErrorCode::UntrustedChain, ErrorCode::RevocationUnknown, ErrorCode::Expired, ErrorCode::Conflict] {
        assert!(!Refusal::is_final(code));
        assert_eq!(err(&ack(Some(Refusal { code, ..r.clone() }))), FieldError::OutOfRange("refused"), "{code:?}");
    }
    assert_eq!(err(&ack(Some(Refusal { reason: " ".into(), ..r.clone() }))), FieldError::Missing("reason"));
    assert!(matches!(
        err(&ack(Some(Refusal { reason: "x".repeat(301), ..r.clone() }))),
        FieldError::TextTooLong { field: "reason", .. }
    ));
    assert_eq!(
        err(&ack(Some(Refusal { reason: "a\u{1b}[2Jb".into(), ..r.clone() }))),
        FieldError::ControlCharacters("reason")
    );
    // One key without the other.
    let Value::Map(mut m) = ciborium::de::from_reader::<Value, _>(&bytes[..]).unwrap() else { unreachable!() };
    m.retain(|(k, _)| k.as_text() != Some("reason"));
    let mut half = Vec::new();
    ciborium::ser::into_writer(&Value::Map(m), &mut half).unwrap();
    assert!(matches!(
        decode_payload::<DeliveryAck>(&half),
        Err(ProtoError::Field { source: FieldError::Missing("reason"), .. })
    ));
}
