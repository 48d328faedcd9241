//! # tiprelay-proto
//!
//! The tiprelay wire format, pure: no I/O, no clock, no async. It defines the six signed
//! message kinds of protocol v1 ([`Tip`], [`Receipt`], [`DeliveryAck`], [`Feedback`],
//! [`LedgerStatement`], [`Checkpoint`]) as validated Rust types, their deterministic CBOR
//! encoding, COSE_Sign1 signing with Ed25519, and verification against the jurisdictions'
//! roots and revocation lists ([`TrustStore`]) at a caller-given time.
//!
//! ```text
//! bytes ──parse──▶ Parsed<T> ──chain, identity, verify_strict, time──▶ Verified<T>
//! ```
//!
//! The byte-level contract is `docs/PROTOCOL.md`; its test vectors are checked by tests.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
mod cbor;
pub mod envelope;
pub mod error;
pub mod ids;
pub mod ledger;
pub mod limits;
pub mod merkle;
pub mod messages;
pub mod pki;
pub mod time;
pub mod tip;
pub mod wire;

pub use envelope::{decode_payload, encode_payload, parse, verify, verify_parsed, Parsed, Signer, Verified};
pub use error::{ErrorCode, FieldError, IdError, ProtoError};
pub use ids::{Authority, Digest, Jurisdiction, MessageId, PrincipalId, PrincipalKind, TipId};
pub use ledger::{RecordCursor, TipFacts};
pub use messages::{
    Checkpoint, Cosignature, DeliveryAck, Feedback, LedgerRow, LedgerStatement, Message, Outcome, Receipt, Refusal,
    SignerRule, Subject,
};
pub use pki::{
    summarize_certificate, CertRole, CertSummary, CertSummaryError, CertUsage, CrlInfo, CrlScope, TrustError,
    TrustStore, VerifiedCert,
};
pub use time::Timestamp;
pub use tip::{is_hidden_char, Category, InfoCredibility, Lang, Location, SourceReliability, Tip, Tlp, Urgency};
