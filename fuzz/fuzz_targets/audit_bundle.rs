//! Offline audit bundles (docs/PROTOCOL.md §13.8): `read_bundle`, and `verify_bundle` both
//! with the bundle's own anchors and with the fixture trust store of the protocol vectors,
//! over a `Cursor` of the input. Invariants: no panic; a bundle that verifies is readable
//! and reads the same entries.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use tiprelay_proto::audit::{read_bundle, verify_bundle};

fuzz_target!(|data: &[u8]| {
    let mut read_entries = Vec::new();
    let read = read_bundle(Cursor::new(data), |e| read_entries.push(e));
    let mut own_entries = Vec::new();
    let own = verify_bundle(Cursor::new(data), None, |e| own_entries.push(e.clone()));
    let mut fixed_entries = Vec::new();
    let fixed = verify_bundle(Cursor::new(data), Some(tiprelay_fuzz::vector_trust()), |e| fixed_entries.push(e.clone()));
    for (verified, entries) in [(&own, &own_entries), (&fixed, &fixed_entries)] {
        if let Ok(report) = verified {
            let header = read.as_ref().unwrap_or_else(|e| panic!("a bundle that verifies does not read: {e}"));
            assert_eq!(entries, &read_entries, "verify and read see different entries");
            assert_eq!((report.first, report.count), (header.first, header.count));
        }
    }
});
