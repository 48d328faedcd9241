//! Typed errors. Every rejection rule has its own variant, and every variant maps to a
//! stable wire [`ErrorCode`] (documented in `docs/PROTOCOL.md`). Messages name what was
//! wrong and what to do; they never include message bodies or key material.

use crate::ids::{Authority, PrincipalId};
use crate::time::Timestamp;

/// An identifier failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 2-3 upper-case ASCII letters.
    #[error("`{0}` is not a jurisdiction code: use 2 or 3 upper-case letters, e.g. MX or US")]
    Jurisdiction(String),
    /// Not a valid principal URI.
    #[error("`{uri}` is not a valid principal identity: {why}")]
    Principal {
        /// The offending text (truncated).
        uri: String,
        /// Which rule it broke.
        why: &'static str,
    },
    /// Not an RFC 9562 version-7 UUID.
    #[error("`{0}` is not a UUIDv7 (RFC 9562 version 7) id")]
    TipId(String),
}

/// A field rule of DESIGN §2 that a payload broke. One variant per rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    /// The payload is not a CBOR map, or a value has the wrong CBOR type.
    #[error("field `{field}` must be {expected}")]
    WrongType {
        /// Field name (`<payload>` for the top level).
        field: &'static str,
        /// What the type must be.
        expected: &'static str,
    },
    /// A required field is absent.
    #[error("required field `{0}` is missing")]
    Missing(&'static str),
    /// The TLP label is absent: an unlabeled tip is never accepted.
    #[error(
        "the tip has no `tlp` label; every tip must carry a TLP 2.0 label (clear, green, amber, amber+strict, red)"
    )]
    TlpMissing,
    /// A field name this version does not define.
    #[error("unknown field `{0}`: v1 payloads carry only the fields of docs/PROTOCOL.md")]
    Unknown(String),
    /// The same key appears twice in one map.
    #[error("field `{0}` appears more than once")]
    Duplicate(String),
    /// A map key that is not a text string.
    #[error("map keys must be text strings")]
    NonTextKey,
    /// `v` is not a supported format version.
    #[error("format version {0} is not supported (this implementation speaks v1)")]
    UnsupportedVersion(u64),
    /// An identifier field failed validation.
    #[error("field `{field}`: {source}")]
    Id {
        /// Field name.
        field: &'static str,
        /// The validation failure.
        source: IdError,
    },
    /// `from` and `to` name the same jurisdiction.
    #[error("`from` and `to` are both {0}: a tip goes to the other jurisdiction")]
    SameJurisdiction(String),
    /// A value outside its closed set (category, urgency, tlp, outcome, …).
    #[error("field `{field}`: `{value}` is not one of {allowed}")]
    NotInSet {
        /// Field name.
        field: &'static str,
        /// The offending value (truncated).
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// `summary` is empty.
    #[error("`summary` is empty")]
    SummaryEmpty,
    /// `summary` is longer than 500 characters.
    #[error("`summary` has {0} characters; at most 500 are allowed")]
    SummaryTooLong(usize),
    /// A text field contains control, bidirectional-formatting or invisible characters
    /// (see `tip::is_hidden_char`; `details` may contain LF and TAB).
    #[error(
        "field `{0}` contains control, bidirectional-formatting or invisible characters (only `details` may hold \
         line feeds and tabs)"
    )]
    ControlCharacters(&'static str),
    /// An optional list is present but empty (absent is its only encoding when empty).
    #[error("field `{0}` is an empty list; leave it out instead")]
    EmptyList(&'static str),
    /// `details` is longer than 16 KiB.
    #[error("`details` has {0} bytes; at most 16384 are allowed")]
    DetailsTooLong(usize),
    /// A short text field (note, place, …) is too long.
    #[error("field `{field}` has {len} characters; at most {max} are allowed")]
    TextTooLong {
        /// Field name.
        field: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `lang` is not a language tag.
    #[error("`lang` must be a language tag such as es, en or es-MX")]
    InvalidLang,
    /// Latitude outside [-90, 90] or not finite.
    #[error("latitude must be a finite number from -90 to 90")]
    LatitudeOutOfRange,
    /// Longitude outside [-180, 180] or not finite.
    #[error("longitude must be a finite number from -180 to 180")]
    LongitudeOutOfRange,
    /// Radius zero or above 500 km.
    #[error("`radius_m` must be from 1 to 500000 metres")]
    RadiusOutOfRange,
    /// `refs` has more than 32 entries.
    #[error("`refs` has {0} entries; at most 32 are allowed")]
    TooManyRefs(usize),
    /// `refs` names the same tip twice, or the tip itself.
    #[error("`refs` must name distinct other tips")]
    BadRef,
    /// `valid_until` is not after `created`.
    #[error("`valid_until` must be later than `created`")]
    ValidUntilBeforeCreated,
    /// A period whose end is not after its start.
    #[error("the period must end after it starts")]
    EmptyPeriod,
    /// A counter or size is out of range.
    #[error("field `{0}` is out of range")]
    OutOfRange(&'static str),
    /// A byte string of the wrong length.
    #[error("field `{field}` must be {len} bytes")]
    WrongLength {
        /// Field name.
        field: &'static str,
        /// Required length.
        len: usize,
    },
    /// Too many rows or entries in a list.
    #[error("field `{0}` has too many entries")]
    TooMany(&'static str),
    /// A time field past year 9999.
    #[error("field `{0}` is not a valid time")]
    BadTime(&'static str),
}

/// Why a message was rejected. Each variant maps to one [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtoError {
    /// The envelope exceeds [`crate::limits::MAX_ENVELOPE_BYTES`].
    #[error("message is {size} bytes; the limit is {max} bytes")]
    Oversized {
        /// Size received.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not a well-formed tagged COSE_Sign1 of this profile.
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(String),
    /// The payload is not well-formed CBOR.
    #[error("malformed payload CBOR: {0}")]
    MalformedCbor(String),
    /// The protected header does not say EdDSA.
    #[error("unsupported signature algorithm: only EdDSA (-8) is accepted")]
    UnsupportedAlgorithm,
    /// The content type names another message kind (or none we know).
    #[error("wrong message kind: expected {expected}, found `{found}`")]
    WrongKind {
        /// Expected content type.
        expected: &'static str,
        /// Content type found (truncated).
        found: String,
    },
    /// A payload field rule failed.
    #[error("invalid {kind}: {source}")]
    Field {
        /// Message kind.
        kind: &'static str,
        /// The rule.
        source: FieldError,
    },
    /// `kid` does not equal SHA-256 of the signing certificate.
    #[error("the `kid` header does not match the signing certificate")]
    KidMismatch,
    /// The signer's certificate could not be parsed or breaks the certificate profile.
    #[error("signing certificate rejected: {0}")]
    BadCertificate(String),
    /// The signer's certificate belongs to another authority than the message requires.
    #[error("certificate for {identity} belongs to {found}; this {kind} must be signed by a {expected} certificate")]
    WrongAuthority {
        /// Message kind.
        kind: &'static str,
        /// Identity in the certificate.
        identity: PrincipalId,
        /// Authority the certificate names.
        found: Authority,
        /// Authority the message requires.
        expected: Authority,
    },
    /// No root CA is configured for the authority.
    #[error("no root CA is configured for {0}")]
    UnknownAuthority(Authority),
    /// The chain does not verify to the authority's root.
    #[error("certificate for {identity} does not chain to the {authority} root CA: {reason}")]
    UntrustedChain {
        /// Identity in the certificate.
        identity: PrincipalId,
        /// The authority whose root was tried.
        authority: Authority,
        /// webpki's reason.
        reason: String,
    },
    /// The certificate's validity period does not include the verification time.
    #[error("certificate for {identity} is not valid at {at}: {reason}")]
    CertificateNotValidNow {
        /// Identity in the certificate.
        identity: PrincipalId,
        /// Verification time.
        at: Timestamp,
        /// `expired` or `not yet valid`.
        reason: &'static str,
    },
    /// The certificate is on its CA's revocation list.
    #[error("certificate for {0} has been revoked by its CA")]
    Revoked(PrincipalId),
    /// The certificate was revoked at or before the time a relay's receipt proves the
    /// message existed, so its signature never counted (RFC 5280 §5.3.2).
    #[error(
        "certificate for {identity} was revoked by its CA on {revoked}, at or before the relay accepted this message \
         ({accepted}); a signature counts only if a receipt proves it older than the revocation"
    )]
    RevokedBefore {
        /// Identity in the certificate.
        identity: PrincipalId,
        /// When the CRL says the certificate stopped vouching for signatures.
        revoked: Timestamp,
        /// The relay's signed acceptance time.
        accepted: Timestamp,
    },
    /// No CRL is loaded for the authority, so revocation status is unknown.
    #[error("no revocation list is loaded for {0}; load its CRL before verifying")]
    RevocationUnknown(Authority),
    /// The certificate lacks the signing key usage / EKU (e.g. a TLS key used to sign).
    #[error("certificate for {0} is not a signing certificate (it lacks id-kp-documentSigning or digitalSignature); a TLS key cannot sign messages")]
    WrongKeyUsage(PrincipalId),
    /// A TLS certificate without the key usage its side of the handshake needs.
    #[error("TLS certificate for {identity} lacks {needs}; issue a TLS certificate with tipcerts")]
    WrongTlsUsage {
        /// The certificate's identity.
        identity: PrincipalId,
        /// What it lacks (e.g. "the clientAuth extended key usage").
        needs: &'static str,
    },
    /// The authority's CRL is past its nextUpdate by more than the configured grace.
    #[error(
        "the {authority} revocation list was due to be replaced at {next_update} and the grace period of \
         {grace_hours} h has passed; its certificates are refused until the {authority} CA publishes a fresh CRL \
         and it is installed"
    )]
    CrlStale {
        /// Authority.
        authority: Authority,
        /// The CRL's nextUpdate.
        next_update: Timestamp,
        /// The grace, in hours.
        grace_hours: u64,
    },
    /// The signer's identity differs from the identity the payload claims.
    #[error("signed by {signer} but the {kind} names {claimed} as `{field}`")]
    SignerMismatch {
        /// Message kind.
        kind: &'static str,
        /// Field that names the signer.
        field: &'static str,
        /// Identity in the certificate.
        signer: PrincipalId,
        /// Identity in the payload.
        claimed: PrincipalId,
    },
    /// The signer's role may not sign this kind (e.g. a feed acknowledging a tip).
    #[error("{signer} is a {role}; a {kind} must be signed by {allowed}")]
    SignerRole {
        /// Message kind.
        kind: &'static str,
        /// Signer identity.
        signer: PrincipalId,
        /// Signer role.
        role: &'static str,
        /// Allowed roles.
        allowed: &'static str,
    },
    /// `verify_strict` rejected the signature.
    #[error("signature verification failed: the message was altered or not signed by this certificate's key")]
    BadSignature,
    /// `created` is more than the skew window after `now`.
    #[error("{kind} created at {created} is more than 5 minutes in the future (verifier time {now}); check the sender's clock")]
    CreatedInFuture {
        /// Message kind.
        kind: &'static str,
        /// The claimed creation time.
        created: Timestamp,
        /// The verifier's time.
        now: Timestamp,
    },
    /// `valid_until` has passed.
    #[error("tip expired at {valid_until} (verifier time {now})")]
    Expired {
        /// The tip's `valid_until`.
        valid_until: Timestamp,
        /// The verifier's time.
        now: Timestamp,
    },
    /// Signing failed (bad key or cert on the signer's side).
    #[error("cannot sign: {0}")]
    Signing(String),
}

/// Stable wire error codes. Numbers never change meaning; new codes are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ErrorCode {
    /// Envelope larger than 64 KiB.
    Oversized = 10,
    /// Not a tagged COSE_Sign1 of this profile.
    MalformedEnvelope = 11,
    /// Payload is not well-formed CBOR.
    MalformedCbor = 12,
    /// Algorithm other than EdDSA.
    UnsupportedAlgorithm = 13,
    /// Content type of another kind.
    WrongKind = 14,
    /// A payload field rule failed.
    InvalidField = 20,
    /// The tip carries no TLP label.
    TlpMissing = 21,
    /// Unsupported format version.
    UnsupportedVersion = 22,
    /// `from` equals `to`.
    SameJurisdiction = 23,
    /// `kid` does not match the certificate.
    KidMismatch = 30,
    /// Certificate unparsable or off-profile.
    BadCertificate = 31,
    /// Certificate from another authority than required.
    WrongAuthority = 32,
    /// No root configured for the authority.
    UnknownAuthority = 33,
    /// Chain does not verify.
    UntrustedChain = 34,
    /// Certificate expired or not yet valid.
    CertificateNotValidNow = 35,
    /// Certificate revoked.
    Revoked = 36,
    /// No CRL loaded.
    RevocationUnknown = 37,
    /// Not a signing certificate.
    WrongKeyUsage = 38,
    /// Signer differs from the claimed author.
    SignerMismatch = 39,
    /// Signer role not allowed for the kind.
    SignerRole = 40,
    /// Signature does not verify.
    BadSignature = 41,
    /// Created too far in the future.
    CreatedInFuture = 50,
    /// `valid_until` passed.
    Expired = 51,
    /// Same (`from`, `id`) as an accepted tip, but different bytes.
    Conflict = 60,
    /// The pair `from` → `to` is not configured at the relay.
    PairNotAllowed = 61,
    /// A jurisdiction the relay does not know.
    UnknownJurisdiction = 62,
    /// The signer is not the authenticated TLS identity of the connection.
    IdentityMismatch = 63,
    /// An ack or feedback for a tip the relay does not hold, or whose digest, seq or
    /// recipient differs.
    UnknownTip = 64,
    /// The principal may not do this (e.g. a feed fetching tips).
    NotPermitted = 65,
    /// A request that is not a well-formed frame of this protocol.
    BadRequest = 66,
    /// A cosignature of a size the relay signed no checkpoint of.
    UnknownCheckpoint = 67,
    /// An inclusion or consistency proof for sizes or indexes the log does not have (yet).
    ProofOutOfRange = 68,
    /// A cosignature of a checkpoint the relay signed with another root or time: the
    /// cosigner saw a different history.
    CheckpointMismatch = 69,
    /// The relay's store is full: new tips are refused, reads still work.
    StorageFull = 70,
    /// The relay cannot serve the request right now (shutting down, store error).
    Unavailable = 71,
    /// The principal exceeded its request or tip rate; retry after the `retry_after` the
    /// error carries (milliseconds).
    RateLimited = 72,
    /// The sending principal has too many bytes of tips not yet acknowledged by the
    /// recipient jurisdiction; retry once tips are acknowledged.
    QuotaExceeded = 73,
    /// Federation (PROTOCOL §14): a forwarded tip whose home sequence number is not the next
    /// one the receiving relay expects in its direction (a gap, or a number already used by
    /// another tip). Proof of omission across the border; the receiving relay raises an
    /// alarm.
    SequenceGap = 74,
    /// Local signing failure (never sent on the wire by a relay).
    Signing = 90,
}

impl ErrorCode {
    /// The snake_case name used in logs and JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Oversized => "oversized",
            Self::MalformedEnvelope => "malformed_envelope",
            Self::MalformedCbor => "malformed_cbor",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::WrongKind => "wrong_kind",
            Self::InvalidField => "invalid_field",
            Self::TlpMissing => "tlp_missing",
            Self::UnsupportedVersion => "unsupported_version",
            Self::SameJurisdiction => "same_jurisdiction",
            Self::KidMismatch => "kid_mismatch",
            Self::BadCertificate => "bad_certificate",
            Self::WrongAuthority => "wrong_authority",
            Self::UnknownAuthority => "unknown_authority",
            Self::UntrustedChain => "untrusted_chain",
            Self::CertificateNotValidNow => "certificate_not_valid_now",
            Self::Revoked => "revoked",
            Self::RevocationUnknown => "revocation_unknown",
            Self::WrongKeyUsage => "wrong_key_usage",
            Self::SignerMismatch => "signer_mismatch",
            Self::SignerRole => "signer_role",
            Self::BadSignature => "bad_signature",
            Self::CreatedInFuture => "created_in_future",
            Self::Expired => "expired",
            Self::Conflict => "conflict",
            Self::PairNotAllowed => "pair_not_allowed",
            Self::UnknownJurisdiction => "unknown_jurisdiction",
            Self::IdentityMismatch => "identity_mismatch",
            Self::UnknownTip => "unknown_tip",
            Self::NotPermitted => "not_permitted",
            Self::BadRequest => "bad_request",
            Self::UnknownCheckpoint => "unknown_checkpoint",
            Self::ProofOutOfRange => "proof_out_of_range",
            Self::CheckpointMismatch => "checkpoint_mismatch",
            Self::StorageFull => "storage_full",
            Self::Unavailable => "unavailable",
            Self::RateLimited => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::SequenceGap => "sequence_gap",
            Self::Signing => "signing",
        }
    }

    /// Every code, in numeric order (for documentation and tests).
    pub const ALL: [ErrorCode; 39] = [
        Self::Oversized,
        Self::MalformedEnvelope,
        Self::MalformedCbor,
        Self::UnsupportedAlgorithm,
        Self::WrongKind,
        Self::InvalidField,
        Self::TlpMissing,
        Self::UnsupportedVersion,
        Self::SameJurisdiction,
        Self::KidMismatch,
        Self::BadCertificate,
        Self::WrongAuthority,
        Self::UnknownAuthority,
        Self::UntrustedChain,
        Self::CertificateNotValidNow,
        Self::Revoked,
        Self::RevocationUnknown,
        Self::WrongKeyUsage,
        Self::SignerMismatch,
        Self::SignerRole,
        Self::BadSignature,
        Self::CreatedInFuture,
        Self::Expired,
        Self::Conflict,
        Self::PairNotAllowed,
        Self::UnknownJurisdiction,
        Self::IdentityMismatch,
        Self::UnknownTip,
        Self::NotPermitted,
        Self::BadRequest,
        Self::UnknownCheckpoint,
        Self::ProofOutOfRange,
        Self::CheckpointMismatch,
        Self::StorageFull,
        Self::Unavailable,
        Self::RateLimited,
        Self::QuotaExceeded,
        Self::SequenceGap,
        Self::Signing,
    ];

    /// The code with this number, if any.
    pub fn from_u16(n: u16) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| *c as u16 == n)
    }
}

impl ProtoError {
    /// The wire code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Oversized { .. } => ErrorCode::Oversized,
            Self::MalformedEnvelope(_) => ErrorCode::MalformedEnvelope,
            Self::MalformedCbor(_) => ErrorCode::MalformedCbor,
            Self::UnsupportedAlgorithm => ErrorCode::UnsupportedAlgorithm,
            Self::WrongKind { .. } => ErrorCode::WrongKind,
            Self::Field { source, .. } => match source {
                FieldError::TlpMissing => ErrorCode::TlpMissing,
                FieldError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
                FieldError::SameJurisdiction(_) => ErrorCode::SameJurisdiction,
                _ => ErrorCode::InvalidField,
            },
            Self::KidMismatch => ErrorCode::KidMismatch,
            Self::BadCertificate(_) => ErrorCode::BadCertificate,
            Self::WrongAuthority { .. } => ErrorCode::WrongAuthority,
            Self::UnknownAuthority(_) => ErrorCode::UnknownAuthority,
            Self::UntrustedChain { .. } => ErrorCode::UntrustedChain,
            Self::CertificateNotValidNow { .. } => ErrorCode::CertificateNotValidNow,
            Self::Revoked(_) | Self::RevokedBefore { .. } => ErrorCode::Revoked,
            Self::RevocationUnknown(_) => ErrorCode::RevocationUnknown,
            Self::WrongKeyUsage(_) | Self::WrongTlsUsage { .. } => ErrorCode::WrongKeyUsage,
            Self::CrlStale { .. } => ErrorCode::RevocationUnknown,
            Self::SignerMismatch { .. } => ErrorCode::SignerMismatch,
            Self::SignerRole { .. } => ErrorCode::SignerRole,
            Self::BadSignature => ErrorCode::BadSignature,
            Self::CreatedInFuture { .. } => ErrorCode::CreatedInFuture,
            Self::Expired { .. } => ErrorCode::Expired,
            Self::Signing(_) => ErrorCode::Signing,
        }
    }
}
