//! Client side of the wire: `Response::decode` (framed) and `Response::decode_body`, batch
//! outcomes included, then what the client parses out of an answer: receipts, tips, acks,
//! feedback, statements, checkpoints with cosignatures, and audit entries of proofs.
//! Invariants: no panic; a decoded response encodes to a frame that decodes to the same
//! response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiprelay_proto::audit::AuditEntry;
use tiprelay_proto::wire::{unframe, NoticeBody, Response, MAX_FRAME_BYTES};
use tiprelay_proto::{parse, Checkpoint, Cosignature, DeliveryAck, Feedback, LedgerStatement, Receipt, Tip};

fn round_trip(r: &Response) {
    let framed = r.encode();
    let body = unframe(&framed, MAX_FRAME_BYTES).expect("an encoded response unframes");
    let again = Response::decode(&framed).unwrap_or_else(|e| panic!("an encoded response does not decode: {e}"));
    assert_eq!(&again, r, "response round trip");
    assert_eq!(Response::decode_body(body).as_ref(), Ok(r), "response body round trip");
}

fn contents(r: &Response) {
    match r {
        Response::Submitted { receipt, .. } => drop(parse::<Receipt>(receipt)),
        Response::SubmittedBatch { items } => {
            items.iter().flatten().for_each(|(receipt, _)| drop(parse::<Receipt>(receipt)));
        }
        Response::Deliveries { items } => items.iter().for_each(|d| {
            drop(parse::<Tip>(&d.tip));
            drop(parse::<Receipt>(&d.receipt));
        }),
        Response::Acks { items } => items.iter().for_each(|n| match &n.body {
            NoticeBody::Ack(a) => drop(parse::<DeliveryAck>(a)),
            NoticeBody::Feedback { feedback, receipt } => {
                drop(parse::<Feedback>(feedback));
                drop(parse::<Receipt>(receipt));
            }
            NoticeBody::Crossed(receipt) => drop(parse::<Receipt>(receipt)),
        }),
        Response::Statements { items } => items.iter().for_each(|s| {
            drop(parse::<LedgerStatement>(&s.statement));
            drop(parse::<Receipt>(&s.receipt));
        }),
        Response::RelayStatement { envelope } => drop(parse::<LedgerStatement>(envelope)),
        Response::Checkpoint { checkpoint: Some(c) } => {
            drop(parse::<Checkpoint>(&c.checkpoint));
            c.cosignatures.iter().for_each(|s| drop(parse::<Cosignature>(s)));
        }
        Response::Proof { entry: Some(e), .. } => drop(AuditEntry::decode(e)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Response::decode(data) {
        round_trip(&r);
        contents(&r);
    }
    if let Ok(r) = Response::decode_body(data) {
        round_trip(&r);
        contents(&r);
    }
});
