//! `tiprelay_proto::decode_payload::<M>` (a payload without its envelope) for every kind.
//! Invariants: no panic; decode → encode → decode gives the same message, and the
//! encoding is stable (encoding the re-decoded message gives the same bytes).
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use tiprelay_proto::{
    decode_payload, encode_payload, Checkpoint, Cosignature, DeliveryAck, Feedback, LedgerStatement, Message, Receipt,
    Tip,
};

fn check<M: Message + PartialEq + Debug>(data: &[u8]) {
    let Ok(m) = decode_payload::<M>(data) else { return };
    let bytes = encode_payload(&m);
    let again = decode_payload::<M>(&bytes).unwrap_or_else(|e| panic!("a decoded {} does not re-decode: {e}", M::KIND));
    assert_eq!(again, m, "{} payload round trip", M::KIND);
    assert_eq!(encode_payload(&again), bytes, "{} encoding is not stable", M::KIND);
}

fuzz_target!(|data: &[u8]| {
    check::<Tip>(data);
    check::<Receipt>(data);
    check::<DeliveryAck>(data);
    check::<Feedback>(data);
    check::<LedgerStatement>(data);
    check::<Checkpoint>(data);
    check::<Cosignature>(data);
});
