//! Protocol constants: versions, labels and hard limits. Every other module takes its
//! numbers from here, so the wire contract lives in one place (see `docs/PROTOCOL.md`).

/// Format version carried in the `v` field of every v1 message.
pub const FORMAT_VERSION: u64 = 1;

/// ALPN protocol identifier for the QUIC transport.
pub const ALPN: &[u8] = b"tiprelay/1";

/// Largest encoded envelope (COSE_Sign1 bytes) accepted anywhere: 64 KiB.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024;

/// Most Unicode scalar values in a tip `summary`.
pub const MAX_SUMMARY_CHARS: usize = 500;

/// Most UTF-8 bytes in a tip `details`: 16 KiB.
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;

/// Most Unicode scalar values in a feedback `note`.
pub const MAX_NOTE_CHARS: usize = 500;

/// Most Unicode scalar values in a location's `place`, `sector` or `port_of_entry`.
pub const MAX_PLACE_CHARS: usize = 200;

/// Largest location radius in metres (500 km).
pub const MAX_RADIUS_M: u64 = 500_000;

/// Most related tip ids in a tip's `refs`.
pub const MAX_REFS: usize = 32;

/// Most bytes in a `lang` tag.
pub const MAX_LANG_BYTES: usize = 35;

/// Most certificates in an `x5chain` header (the signer's plus intermediates).
pub const MAX_CHAIN_CERTS: usize = 4;

/// Most rows in a ledger statement.
pub const MAX_STATEMENT_ROWS: usize = 4096;

/// Allowed clock skew: a message `created` more than this far after the verifier's
/// `now` is rejected (5 minutes, in milliseconds).
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// Most bytes in the name part of a principal URI.
pub const MAX_PRINCIPAL_NAME_BYTES: usize = 64;

/// Maximum CBOR nesting depth accepted by the payload decoder.
pub const MAX_CBOR_DEPTH: usize = 16;

/// Scheme prefix of every principal identity URI.
pub const PRINCIPAL_URI_SCHEME: &str = "tiprelay://";

/// The authority name reserved for the relay operator (never a jurisdiction code).
pub const OPERATOR_AUTHORITY: &str = "OPERATOR";

/// DER body (without tag and length) of the OID id-kp-documentSigning,
/// 1.3.6.1.5.5.7.3.36 (RFC 9336): the extended key usage of every content-signing
/// certificate. TLS certificates carry id-kp-clientAuth / id-kp-serverAuth instead, so a
/// TLS key can never sign a message and a signing key can never authenticate a connection.
pub const OID_KP_DOCUMENT_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x24];

/// Dotted form of [`OID_KP_DOCUMENT_SIGNING`].
pub const OID_KP_DOCUMENT_SIGNING_DOTTED: &str = "1.3.6.1.5.5.7.3.36";

/// COSE header label of `x5chain` (RFC 9360).
pub const COSE_HEADER_X5CHAIN: i64 = 33;

/// Length of an Ed25519 signature.
pub const ED25519_SIGNATURE_BYTES: usize = 64;
