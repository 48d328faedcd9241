//! `AuditEntry::decode` (strict, canonical). Invariants: no panic; an accepted entry is its
//! own canonical encoding, and re-decodes to the same entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiprelay_proto::audit::AuditEntry;
use tiprelay_proto::merkle::leaf_hash;

fuzz_target!(|data: &[u8]| {
    let Ok(e) = AuditEntry::decode(data) else { return };
    let bytes = e.encode();
    assert_eq!(bytes, data, "an accepted entry is not its own canonical encoding");
    assert_eq!(AuditEntry::decode(&bytes).as_ref(), Ok(&e), "entry round trip");
    assert_eq!(e.leaf(), leaf_hash(data), "leaf of the entry");
});
