//! Relay side of the wire: `unframe`, `Request::decode` (framed) and `Request::decode_body`
//! (already unframed), batch requests included, then the envelopes a batch carries parsed
//! as the relay parses them (`submit_batch`: tips, `ack_batch`: delivery acks).
//! Invariants: no panic; a decoded request encodes to a frame that decodes to the same
//! request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiprelay_proto::wire::{unframe, Request, MAX_BATCH_REQUEST_BYTES, MAX_FRAME_BYTES, MAX_REQUEST_BYTES};
use tiprelay_proto::{parse, DeliveryAck, Receipt, Tip};

fn round_trip(r: &Request) {
    let framed = r.encode();
    let body = unframe(&framed, MAX_BATCH_REQUEST_BYTES).expect("an encoded request unframes");
    let again = Request::decode(&framed).unwrap_or_else(|e| panic!("an encoded request does not decode: {e}"));
    assert_eq!(&again, r, "request round trip");
    assert_eq!(Request::decode_body(body).as_ref(), Ok(r), "request body round trip");
}

fn batch_items(r: &Request) {
    match r {
        Request::SubmitBatch { envelopes } => envelopes.iter().for_each(|e| drop(parse::<Tip>(e))),
        Request::AckBatch { envelopes } => envelopes.iter().for_each(|e| drop(parse::<DeliveryAck>(e))),
        Request::Forward { items } => items.iter().for_each(|f| {
            drop(parse::<Tip>(&f.tip));
            drop(parse::<Receipt>(&f.receipt));
        }),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    for max in [MAX_REQUEST_BYTES, MAX_BATCH_REQUEST_BYTES, MAX_FRAME_BYTES] {
        if let Ok(body) = unframe(data, max) {
            assert_eq!(body.len() + 4, data.len(), "unframe returned a body of another length");
        }
    }
    if let Ok(r) = Request::decode(data) {
        round_trip(&r);
        batch_items(&r);
    }
    if let Ok(r) = Request::decode_body(data) {
        round_trip(&r);
        batch_items(&r);
    }
});
