//! Shared fixtures of the tiprelay fuzz targets (`fuzz_targets/*.rs`).
//!
//! The trust store is the fixture PKI of the `docs/PROTOCOL.md` test vectors (same label,
//! same start of validity), so the envelopes of the seed corpus verify in full and the
//! fuzzer starts from inputs that reach every verification step.

use std::sync::OnceLock;

use tiprelay_certs::fixture::FixturePki;
use tiprelay_proto::{Authority, Timestamp, TrustStore};

/// Label of the fixture PKI of the protocol test vectors (certs/tests/vectors.rs).
pub const VECTOR_LABEL: &str = "tiprelay test vectors v1";
/// Start of the fixture certificates' validity: 2026-12-01T00:00:00Z.
pub const BASE_SECS: i64 = 1_796_083_200;
/// When the vector messages are created and verify: 2026-12-01T12:00:00Z.
pub const AT_MS: u64 = 1_796_126_400_000;

/// The authorities of the vectors: MX, US and the relay operator.
pub fn vector_authorities() -> [Authority; 3] {
    let mx = "MX".parse().expect("MX is a jurisdiction");
    let us = "US".parse().expect("US is a jurisdiction");
    [Authority::Jurisdiction(mx), Authority::Jurisdiction(us), Authority::Operator]
}

/// The fixture PKI of the vectors, built once per process.
pub fn vector_pki() -> &'static FixturePki {
    static PKI: OnceLock<FixturePki> = OnceLock::new();
    PKI.get_or_init(|| {
        let base = time::OffsetDateTime::from_unix_timestamp(BASE_SECS).expect("valid base time");
        FixturePki::new(VECTOR_LABEL, &vector_authorities(), base).expect("fixture PKI")
    })
}

/// A trust store with the three vector roots and their empty CRLs (number 1).
pub fn new_vector_trust() -> TrustStore {
    vector_pki().trust_store().expect("fixture trust store")
}

/// The vector trust store, built once per process (read-only use).
pub fn vector_trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(new_vector_trust)
}

/// The verification time of the vectors.
pub fn at() -> Timestamp {
    Timestamp::from_unix_ms(AT_MS).expect("valid vector time")
}
