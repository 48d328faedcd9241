//! `tiprelay_proto::parse::<M>` for every signed message kind, then the rest of
//! verification (`verify_parsed`) against the fixture trust store of the protocol vectors.
//! Invariants: no panic; a parsed message's payload re-encodes to bytes that decode to the
//! same message.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use tiprelay_proto::{
    decode_payload, encode_payload, parse, verify_parsed, Checkpoint, Cosignature, DeliveryAck, Feedback,
    LedgerStatement, Message, Receipt, Tip, Timestamp, TrustStore,
};

fn check<M: Message + PartialEq + Debug>(data: &[u8], trust: &TrustStore, now: Timestamp) {
    let Ok(parsed) = parse::<M>(data) else { return };
    let again = decode_payload::<M>(&encode_payload(&parsed.message))
        .unwrap_or_else(|e| panic!("a parsed {} does not re-decode: {e}", M::KIND));
    assert_eq!(again, parsed.message, "{} payload round trip", M::KIND);
    let _ = verify_parsed(parsed, trust, now);
}

fuzz_target!(|data: &[u8]| {
    let trust = tiprelay_fuzz::vector_trust();
    let now = tiprelay_fuzz::at();
    check::<Tip>(data, trust, now);
    check::<Receipt>(data, trust, now);
    check::<DeliveryAck>(data, trust, now);
    check::<Feedback>(data, trust, now);
    check::<LedgerStatement>(data, trust, now);
    check::<Checkpoint>(data, trust, now);
    check::<Cosignature>(data, trust, now);
});
