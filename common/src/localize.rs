//! The user-facing text of typed errors, in this process's language.
//!
//! The libraries' own `Display` texts stay English: they are what logs and the wire carry
//! (a relay never sends Spanish to a peer). The binaries show errors to people through
//! [`render_chain`], which takes each cause's text from Fluent
//! (`common/locales/{en,es}/errors.ftl`) when its type implements [`Localize`].
//!
//! Every error of `tiprelay-proto` and of this crate that a person can meet has one message
//! per variant (`err-<type>-<variant>`) whose English text is exactly the variant's
//! `Display`; a nested source is localised through its own impl and passed as `$source`.
//! The fixed English fragments some variants carry (why an identity is invalid, the CBOR
//! type a field must have, the roles that may sign, …) are messages `err-why-…`; free text
//! (parser and webpki reasons, file names, values) passes through as it is.

use std::error::Error;
use std::fmt;

use tiprelay_proto::error::ErrorCode;
use tiprelay_proto::merkle::MerkleError;
use tiprelay_proto::wire::FrameError;
use tiprelay_proto::{CertSummaryError, FieldError, IdError, ProtoError, TrustError};

use crate::files::FileError;
use crate::i18n::{locale, tr_in, FluentValue, Locale};
use crate::ledger::{FactsError, RangeError, UnknownPeriod};

/// A message of errors.ftl in `l`: `m!(l, "id")` or `m!(l, "id", "name" => value, …)`.
macro_rules! m {
    ($l:expr, $id:expr) => {
        tr_in($l, $id, &[])
    };
    ($l:expr, $id:expr, $($k:literal => $v:expr),+ $(,)?) => {
        tr_in($l, $id, &[$(($k, FluentValue::from($v))),+])
    };
}

/// An error's text for a person.
pub trait Localize {
    /// The message in `l`, including the localised text of the sources its English
    /// `Display` includes. In English it equals the `Display` text.
    fn localize_in(&self, l: Locale) -> String;

    /// The message in this process's language.
    fn localize(&self) -> String {
        self.localize_in(locale())
    }
}

/// A refusal received from the relay, for a person: its wire code (language-neutral)
/// says what happened, in this process's language; `detail` is the relay's own English
/// text, kept as sent.
pub fn wire_reason(code: ErrorCode, detail: &str) -> String {
    wire_reason_in(locale(), code, detail)
}

/// [`wire_reason`] in `l`: in English the relay's `detail` unchanged; in Spanish what the
/// code means, then the relay's detail in parentheses.
pub fn wire_reason_in(l: Locale, code: ErrorCode, detail: &str) -> String {
    if l == Locale::En {
        return detail.to_owned();
    }
    let meaning = tr_in(l, &code_message_id(code), &[]);
    if detail.trim().is_empty() {
        return meaning;
    }
    m!(l, "err-code-reason", "meaning" => meaning, "detail" => detail)
}

/// The message id that says what a wire code means: `err-code-<name, kebab-case>`.
fn code_message_id(code: ErrorCode) -> String {
    format!("err-code-{}", code.name().replace('_', "-"))
}

/// The localised text of one cause when its type is one this crate knows; None otherwise.
pub fn localize_known(e: &(dyn Error + 'static)) -> Option<String> {
    localize_known_in(e, locale())
}

/// [`localize_known`] in `l`.
pub fn localize_known_in(e: &(dyn Error + 'static), l: Locale) -> Option<String> {
    macro_rules! known {
        ($($t:ty),+ $(,)?) => {
            $(
                if let Some(x) = e.downcast_ref::<$t>() {
                    return Some(x.localize_in(l));
                }
            )+
        };
    }
    known!(
        ProtoError,
        FieldError,
        IdError,
        CertSummaryError,
        TrustError,
        MerkleError,
        FrameError,
        RangeError,
        UnknownPeriod,
        FactsError,
        FileError,
        std::io::Error,
    );
    None
}

/// An error chain as a person reads it (anyhow's `{:#}` form, each cause after `: `), in
/// this process's language. `extra` localises the calling binary's own error types (it is
/// asked first); other causes come from [`localize_known`], else their `Display`. A cause
/// whose English text its predecessor already includes is not repeated.
pub fn render_chain<'a>(
    causes: impl IntoIterator<Item = &'a (dyn Error + 'static)>,
    extra: &dyn Fn(&(dyn Error + 'static)) -> Option<String>,
) -> String {
    let mut out = String::new();
    let mut prev_en: Option<String> = None;
    for cause in causes {
        let en = cause.to_string();
        if prev_en.as_deref().is_some_and(|p| p.contains(&en)) {
            continue;
        }
        let text = extra(cause).or_else(|| localize_known(cause)).unwrap_or_else(|| en.clone());
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        prev_en = Some(en);
    }
    out
}

/// The fixed English fragments the errors carry, and their messages.
const FRAGMENTS: &[(&str, &str)] = &[
    // IdError::Principal `why`
    ("the OPERATOR authority only certifies the kind `relay`", "err-why-operator-relay-only"),
    ("the name must be 1 to 64 characters", "err-why-name-length"),
    ("the name may hold only a-z, 0-9, '.', '_' and '-', and must start with a letter or digit", "err-why-name-chars"),
    ("a principal URI starts with tiprelay://", "err-why-uri-scheme"),
    ("the form is tiprelay://<JURISDICTION>/<analyst|feed>/<name>", "err-why-uri-form"),
    ("the authority must be a 2-3 letter upper-case jurisdiction code or OPERATOR", "err-why-uri-authority"),
    // FieldError::WrongType `expected`
    ("a map", "err-why-type-map"),
    ("an unsigned integer", "err-why-type-uint"),
    ("a text string", "err-why-type-text"),
    ("a byte string", "err-why-type-bytes"),
    ("a floating-point number", "err-why-type-float"),
    ("an array", "err-why-type-array"),
    // ProtoError::CertificateNotValidNow `reason`
    ("expired", "err-why-expired"),
    ("not yet valid", "err-why-not-yet-valid"),
    // ProtoError::WrongTlsUsage `needs`
    ("the digitalSignature key usage", "err-why-needs-digital-signature"),
    ("the clientAuth extended key usage", "err-why-needs-client-auth"),
    ("the serverAuth extended key usage", "err-why-needs-server-auth"),
    // ProtoError::SignerRole `allowed` (the signer rules of proto/src/messages.rs)
    ("an analyst or a feed", "err-why-roles-analyst-or-feed"),
    ("a relay", "err-why-roles-relay"),
    ("an analyst of the receiving jurisdiction", "err-why-roles-receiving-analyst"),
    ("an analyst of the stating jurisdiction, or (federation) its relay", "err-why-roles-stating-analyst"),
    ("the principal whose local audit log it is", "err-why-roles-log-owner"),
    ("an analyst, feed or relay of a jurisdiction", "err-why-roles-any-principal"),
    // ProtoError::BadCertificate and UntrustedChain reasons (proto/src/pki.rs)
    ("not a DER X.509 certificate", "err-why-not-der-x509"),
    ("malformed subjectAltName", "err-why-malformed-san"),
    ("no subjectAltName: a principal certificate carries one tiprelay:// URI", "err-why-no-san"),
    ("a principal certificate must carry exactly one URI SAN", "err-why-one-uri-san"),
    ("a CA certificate cannot act as a principal", "err-why-ca-as-principal"),
    ("the key is not Ed25519", "err-why-key-not-ed25519"),
    ("malformed Ed25519 public key", "err-why-malformed-ed25519"),
    ("malformed keyUsage", "err-why-malformed-key-usage"),
    ("malformed extendedKeyUsage", "err-why-malformed-eku"),
    ("the certified key is not a valid Ed25519 point", "err-why-bad-ed25519-point"),
    (
        "it comes with intermediate certificates; tiprelay v1 allows only certificates issued directly by the \
         jurisdiction's root",
        "err-why-intermediates",
    ),
    // TrustError::BadRoot and BadCrl reasons
    ("trailing bytes after the certificate", "err-why-trailing-cert"),
    ("it is not a CA certificate (basicConstraints cA is not set)", "err-why-root-not-ca"),
    ("its key is not Ed25519", "err-why-root-key-not-ed25519"),
    ("it is not self-signed", "err-why-root-not-self-signed"),
    (
        "another root of this authority has the same subject name; a rollover root needs a name of its own",
        "err-why-root-same-subject",
    ),
    ("the authority already has the most roots allowed at once (4)", "err-why-too-many-roots"),
    ("trailing bytes after the CRL", "err-why-trailing-crl"),
    // FileError::Content `why` (common/src/files.rs)
    ("no CERTIFICATE block", "err-why-no-certificate-block"),
    ("no PKCS#8 PRIVATE KEY block", "err-why-no-pkcs8-block"),
    ("no X509 CRL block", "err-why-no-crl-block"),
];

/// Fixed English beginnings followed by free text, and their messages (`$detail`).
const PREFIXES: &[(&str, &str)] = &[
    ("not a DER CRL: ", "err-why-not-der-crl"),
    ("bad PEM: ", "err-why-bad-pem"),
    (crate::files::NO_CRL_OF_ROOT, "err-why-no-crl-of-root"),
];

/// A fixed English fragment in `l`; free text as it is.
fn fragment(l: Locale, en: &str) -> String {
    if l == Locale::En {
        return en.to_owned();
    }
    if let Some((_, id)) = FRAGMENTS.iter().find(|(e, _)| *e == en) {
        return m!(l, id);
    }
    for (prefix, id) in PREFIXES {
        if let Some(rest) = en.strip_prefix(prefix) {
            return m!(l, id, "detail" => rest);
        }
    }
    en.to_owned()
}

/// The message kinds (`Message::KIND`, and `message` for a certificate check) with their
/// messages and Spanish grammatical gender.
const KINDS: &[(&str, &str, &str)] = &[
    ("tip", "err-kind-tip", "m"),
    ("receipt", "err-kind-receipt", "m"),
    ("delivery ack", "err-kind-delivery-ack", "f"),
    ("feedback", "err-kind-feedback", "f"),
    ("ledger statement", "err-kind-ledger-statement", "f"),
    ("checkpoint", "err-kind-checkpoint", "m"),
    ("cosignature", "err-kind-cosignature", "f"),
    ("message", "err-kind-message", "m"),
];

/// A message kind in `l`, and its gender (`m` or `f`) for the words that agree with it.
fn kind_in(l: Locale, kind: &str) -> (String, &'static str) {
    match KINDS.iter().find(|(k, _, _)| *k == kind) {
        Some((_, id, gender)) => (m!(l, id), gender),
        None => (kind.to_owned(), "m"),
    }
}

/// The principal kinds (`PrincipalKind::as_str`) and their messages.
const ROLES: &[(&str, &str)] =
    &[("analyst", "err-role-analyst"), ("feed", "err-role-feed"), ("relay", "err-role-relay")];

fn role_in(l: Locale, role: &str) -> String {
    match ROLES.iter().find(|(r, _)| *r == role) {
        Some((_, id)) => m!(l, id),
        None => role.to_owned(),
    }
}

impl Localize for IdError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::Jurisdiction(v) => m!(l, "err-id-jurisdiction", "value" => v.as_str()),
            Self::Principal { uri, why } => {
                m!(l, "err-id-principal", "uri" => uri.as_str(), "why" => fragment(l, why))
            }
            Self::TipId(v) => m!(l, "err-id-tip-id", "value" => v.as_str()),
        }
    }
}

impl Localize for FieldError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::WrongType { field, expected } => {
                m!(l, "err-field-wrong-type", "field" => *field, "expected" => fragment(l, expected))
            }
            Self::Missing(f) => m!(l, "err-field-missing", "field" => *f),
            Self::TlpMissing => m!(l, "err-field-tlp-missing"),
            Self::Unknown(f) => m!(l, "err-field-unknown", "field" => f.as_str()),
            Self::Duplicate(f) => m!(l, "err-field-duplicate", "field" => f.as_str()),
            Self::NonTextKey => m!(l, "err-field-non-text-key"),
            Self::UnsupportedVersion(v) => m!(l, "err-field-unsupported-version", "version" => v.to_string()),
            Self::Id { field, source } => m!(l, "err-field-id", "field" => *field, "source" => source.localize_in(l)),
            Self::SameJurisdiction(j) => m!(l, "err-field-same-jurisdiction", "jurisdiction" => j.as_str()),
            Self::NotInSet { field, value, allowed } => {
                m!(l, "err-field-not-in-set", "field" => *field, "value" => value.as_str(), "allowed" => *allowed)
            }
            Self::SummaryEmpty => m!(l, "err-field-summary-empty"),
            Self::SummaryTooLong(n) => m!(l, "err-field-summary-too-long", "len" => n.to_string()),
            Self::ControlCharacters(f) => m!(l, "err-field-control-characters", "field" => *f),
            Self::EmptyList(f) => m!(l, "err-field-empty-list", "field" => *f),
            Self::DetailsTooLong(n) => m!(l, "err-field-details-too-long", "len" => n.to_string()),
            Self::TextTooLong { field, len, max } => m!(
                l,
                "err-field-text-too-long",
                "field" => *field,
                "len" => len.to_string(),
                "max" => max.to_string()
            ),
            Self::InvalidLang => m!(l, "err-field-invalid-lang"),
            Self::LatitudeOutOfRange => m!(l, "err-field-latitude-out-of-range"),
            Self::LongitudeOutOfRange => m!(l, "err-field-longitude-out-of-range"),
            Self::RadiusOutOfRange => m!(l, "err-field-radius-out-of-range"),
            Self::TooManyRefs(n) => m!(l, "err-field-too-many-refs", "count" => n.to_string()),
            Self::BadRef => m!(l, "err-field-bad-ref"),
            Self::ValidUntilBeforeCreated => m!(l, "err-field-valid-until-before-created"),
            Self::EmptyPeriod => m!(l, "err-field-empty-period"),
            Self::OutOfRange(f) => m!(l, "err-field-out-of-range", "field" => *f),
            Self::WrongLength { field, len } => {
                m!(l, "err-field-wrong-length", "field" => *field, "len" => len.to_string())
            }
            Self::TooMany(f) => m!(l, "err-field-too-many", "field" => *f),
            Self::BadTime(f) => m!(l, "err-field-bad-time", "field" => *f),
        }
    }
}

impl Localize for ProtoError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::Oversized { size, max } => {
                m!(l, "err-proto-oversized", "size" => size.to_string(), "max" => max.to_string())
            }
            Self::MalformedEnvelope(d) => m!(l, "err-proto-malformed-envelope", "detail" => d.as_str()),
            Self::MalformedCbor(d) => m!(l, "err-proto-malformed-cbor", "detail" => d.as_str()),
            Self::UnsupportedAlgorithm => m!(l, "err-proto-unsupported-algorithm"),
            Self::WrongKind { expected, found } => {
                m!(l, "err-proto-wrong-kind", "expected" => *expected, "found" => found.as_str())
            }
            Self::Field { kind, source } => {
                let (kind, gender) = kind_in(l, kind);
                m!(l, "err-proto-field", "kind" => kind, "gender" => gender, "source" => source.localize_in(l))
            }
            Self::KidMismatch => m!(l, "err-proto-kid-mismatch"),
            Self::BadCertificate(r) => m!(l, "err-proto-bad-certificate", "reason" => fragment(l, r)),
            Self::WrongAuthority { kind, identity, found, expected } => {
                let (kind, gender) = kind_in(l, kind);
                m!(
                    l,
                    "err-proto-wrong-authority",
                    "kind" => kind,
                    "gender" => gender,
                    "identity" => identity.to_string(),
                    "found" => found.to_string(),
                    "expected" => expected.to_string()
                )
            }
            Self::UnknownAuthority(a) => m!(l, "err-proto-unknown-authority", "authority" => a.to_string()),
            Self::UntrustedChain { identity, authority, reason } => {
                let reason = if l != Locale::En && *reason == format!("it was not issued by the {authority} root CA") {
                    m!(l, "err-why-not-issued-by-root", "authority" => authority.to_string())
                } else {
                    fragment(l, reason)
                };
                m!(
                    l,
                    "err-proto-untrusted-chain",
                    "identity" => identity.to_string(),
                    "authority" => authority.to_string(),
                    "reason" => reason
                )
            }
            Self::CertificateNotValidNow { identity, at, reason } => m!(
                l,
                "err-proto-certificate-not-valid-now",
                "identity" => identity.to_string(),
                "at" => at.to_string(),
                "reason" => fragment(l, reason)
            ),
            Self::Revoked(id) => m!(l, "err-proto-revoked", "identity" => id.to_string()),
            Self::RevokedBefore { identity, revoked, accepted } => m!(
                l,
                "err-proto-revoked-before",
                "identity" => identity.to_string(),
                "revoked" => revoked.to_string(),
                "accepted" => accepted.to_string()
            ),
            Self::RevocationUnknown(a) => m!(l, "err-proto-revocation-unknown", "authority" => a.to_string()),
            Self::WrongKeyUsage(id) => m!(l, "err-proto-wrong-key-usage", "identity" => id.to_string()),
            Self::WrongTlsUsage { identity, needs } => m!(
                l,
                "err-proto-wrong-tls-usage",
                "identity" => identity.to_string(),
                "needs" => fragment(l, needs)
            ),
            Self::CrlStale { authority, next_update, grace_hours } => m!(
                l,
                "err-proto-crl-stale",
                "authority" => authority.to_string(),
                "next_update" => next_update.to_string(),
                "grace_hours" => grace_hours.to_string()
            ),
            Self::SignerMismatch { kind, field, signer, claimed } => {
                let (kind, gender) = kind_in(l, kind);
                m!(
                    l,
                    "err-proto-signer-mismatch",
                    "kind" => kind,
                    "gender" => gender,
                    "field" => *field,
                    "signer" => signer.to_string(),
                    "claimed" => claimed.to_string()
                )
            }
            Self::SignerRole { kind, signer, role, allowed } => {
                let (kind, gender) = kind_in(l, kind);
                m!(
                    l,
                    "err-proto-signer-role",
                    "kind" => kind,
                    "gender" => gender,
                    "signer" => signer.to_string(),
                    "role" => role_in(l, role),
                    "allowed" => fragment(l, allowed)
                )
            }
            Self::BadSignature => m!(l, "err-proto-bad-signature"),
            Self::CreatedInFuture { kind, created, now } => {
                let (kind, gender) = kind_in(l, kind);
                m!(
                    l,
                    "err-proto-created-in-future",
                    "kind" => kind,
                    "gender" => gender,
                    "created" => created.to_string(),
                    "now" => now.to_string()
                )
            }
            Self::Expired { valid_until, now } => {
                m!(l, "err-proto-expired", "valid_until" => valid_until.to_string(), "now" => now.to_string())
            }
            Self::Signing(d) => m!(l, "err-proto-signing", "detail" => d.as_str()),
        }
    }
}

impl Localize for CertSummaryError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::NotX509(d) => m!(l, "err-cert-summary-not-x509", "detail" => d.as_str()),
            Self::TrailingBytes => m!(l, "err-cert-summary-trailing-bytes"),
        }
    }
}

impl Localize for TrustError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::BadRoot { authority, reason } => {
                m!(l, "err-trust-bad-root", "authority" => authority.to_string(), "reason" => fragment(l, reason))
            }
            Self::BadCrl { authority, reason } => {
                m!(l, "err-trust-bad-crl", "authority" => authority.to_string(), "reason" => fragment(l, reason))
            }
            Self::CrlWrongIssuer(a) => m!(l, "err-trust-crl-wrong-issuer", "authority" => a.to_string()),
            Self::NoRoot(a) => m!(l, "err-trust-no-root", "authority" => a.to_string()),
            Self::CrlNotNewer { authority, offered, loaded } => m!(
                l,
                "err-trust-crl-not-newer",
                "authority" => authority.to_string(),
                "offered" => offered.to_string(),
                "loaded" => loaded.to_string()
            ),
        }
    }
}

impl Localize for MerkleError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::IndexOutOfRange { index, size } => {
                m!(l, "err-merkle-index-out-of-range", "index" => index.to_string(), "size" => size.to_string())
            }
            // `actual` is a number (a proof has at most 64 hashes) for the Spanish plural.
            Self::BadProofLength { expected, actual } => {
                m!(l, "err-merkle-bad-proof-length", "expected" => expected.to_string(), "actual" => *actual)
            }
            Self::RootMismatch { tree_size, expected, computed } => m!(
                l,
                "err-merkle-root-mismatch",
                "tree_size" => tree_size.to_string(),
                "expected" => expected.to_string(),
                "computed" => computed.to_string()
            ),
            Self::InvalidSizes { old_size, new_size } => m!(
                l,
                "err-merkle-invalid-sizes",
                "old_size" => old_size.to_string(),
                "new_size" => new_size.to_string()
            ),
            Self::BadCompactTree { size, expected, actual } => m!(
                l,
                "err-merkle-bad-compact-tree",
                "size" => size.to_string(),
                "expected" => expected.to_string(),
                "actual" => actual.to_string()
            ),
            Self::TreeFull => m!(l, "err-merkle-tree-full", "max" => u64::MAX.to_string()),
            Self::Source(d) => m!(l, "err-merkle-source", "detail" => d.as_str()),
        }
    }
}

impl Localize for FrameError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::Truncated => m!(l, "err-frame-truncated"),
            Self::TooLarge(n) => m!(l, "err-frame-too-large", "size" => n.to_string()),
            Self::Trailing => m!(l, "err-frame-trailing"),
            Self::Cbor(d) => m!(l, "err-frame-cbor", "detail" => d.as_str()),
            Self::Field(source) => m!(l, "err-frame-field", "source" => source.localize_in(l)),
            Self::UnknownOp(op) => m!(l, "err-frame-unknown-op", "op" => op.as_str()),
        }
    }
}

impl Localize for RangeError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::NotAPeriod(v) => m!(l, "err-range-not-a-period", "value" => v.as_str()),
            Self::NotAnInstant(v) => m!(l, "err-range-not-an-instant", "value" => v.as_str()),
            Self::UntilNotAfterSince => m!(l, "err-range-until-not-after-since"),
        }
    }
}

impl Localize for UnknownPeriod {
    fn localize_in(&self, l: Locale) -> String {
        m!(l, "err-unknown-period", "value" => self.0.as_str())
    }
}

impl Localize for FactsError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::Cbor(e) => m!(l, "err-facts-cbor", "detail" => e.to_string()),
            Self::NotAMap => m!(l, "err-facts-not-a-map"),
            Self::UnexpectedKey => m!(l, "err-facts-unexpected-key"),
            Self::NoPrincipal => m!(l, "err-facts-no-principal"),
            Self::FactNotAMap => m!(l, "err-facts-fact-not-a-map"),
            Self::Fact(source) => m!(l, "err-facts-fact", "source" => source.localize_in(l)),
        }
    }
}

impl Localize for FileError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::Io { path, source } => m!(
                l,
                "err-file-io",
                "path" => path.display().to_string(),
                "source" => source.localize_in(l)
            ),
            Self::Content { path, why } => {
                m!(l, "err-file-content", "path" => path.display().to_string(), "why" => fragment(l, why))
            }
            Self::KeyEncrypted { path } => m!(l, "err-file-key-encrypted", "path" => path.display().to_string()),
            Self::KeyPassphrase { path } => m!(l, "err-file-key-passphrase", "path" => path.display().to_string()),
            Self::KeyExposed { path, mode } => m!(
                l,
                "err-file-key-exposed",
                "path" => path.display().to_string(),
                "mode" => format!("{mode:04o}")
            ),
            Self::KeyNotOwned { path, owner, user } => m!(
                l,
                "err-file-key-not-owned",
                "path" => path.display().to_string(),
                "owner" => owner.to_string(),
                "user" => user.to_string()
            ),
        }
    }
}

/// An operating-system error in `l`: English is the system's own text (as `Display`
/// shows it); Spanish is the message of the common `errno` values, with the number. An
/// I/O error that wraps another error is that error's text; any other is its `Display`.
impl Localize for std::io::Error {
    fn localize_in(&self, l: Locale) -> String {
        if l == Locale::En {
            return self.to_string();
        }
        if let Some(inner) = self.get_ref() {
            return localize_known_in(inner, l).unwrap_or_else(|| self.to_string());
        }
        match self.raw_os_error().and_then(|code| errno_message_id(code).map(|id| (code, id))) {
            Some((code, id)) => m!(l, "err-io-os", "text" => m!(l, id), "code" => code.to_string()),
            None => self.to_string(),
        }
    }
}

fn errno_message_id(code: i32) -> Option<&'static str> {
    Some(match code {
        libc::ENOENT => "err-io-not-found",
        libc::EACCES => "err-io-permission-denied",
        libc::EPERM => "err-io-not-permitted",
        libc::EEXIST => "err-io-exists",
        libc::EISDIR => "err-io-is-a-directory",
        libc::ENOTDIR => "err-io-not-a-directory",
        libc::ENOSPC => "err-io-no-space",
        libc::EROFS => "err-io-read-only",
        libc::ENAMETOOLONG => "err-io-name-too-long",
        libc::ELOOP => "err-io-too-many-links",
        libc::EMFILE => "err-io-too-many-files",
        libc::ENOTEMPTY => "err-io-not-empty",
        libc::EBUSY => "err-io-busy",
        libc::EIO => "err-io-io",
        libc::EXDEV => "err-io-cross-device",
        libc::ECONNREFUSED => "err-io-connection-refused",
        libc::ECONNRESET => "err-io-connection-reset",
        libc::ETIMEDOUT => "err-io-timed-out",
        libc::EADDRINUSE => "err-io-address-in-use",
        libc::EADDRNOTAVAIL => "err-io-address-not-available",
        libc::ENETUNREACH => "err-io-network-unreachable",
        libc::EHOSTUNREACH => "err-io-host-unreachable",
        libc::EPIPE => "err-io-broken-pipe",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Msg: a message for a person that an error or a report carries until it is shown.
// ---------------------------------------------------------------------------------------

/// One argument of a [`Msg`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    /// Text shown as it is (a path, an identity, another library's English message).
    Text(String),
    /// A number (plural forms select on it).
    Number(i64),
    /// Another message, in the same language.
    Msg(Box<Msg>),
    /// Another error: its English text, and its text in the process's language when
    /// [`localize_known`] knows its type.
    Error {
        /// `Display`.
        en: String,
        /// Localised, when known.
        local: Option<String>,
    },
}

/// A message id and its arguments, or a text that has no message of its own (id "", its
/// one argument the text). Small: errors carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    id: &'static str,
    args: Vec<(&'static str, Arg)>,
}

impl Msg {
    /// The message `id` (arguments follow with [`Msg::text`], [`Msg::number`], …).
    pub fn new(id: &'static str) -> Self {
        Self { id, args: Vec::new() }
    }

    /// A text with no message of its own (another library's English text), shown as it is.
    pub fn raw(text: impl Into<String>) -> Self {
        Self { id: "", args: vec![("", Arg::Text(text.into()))] }
    }

    /// Another library's error as the whole message: its localised text when
    /// [`localize_known`] knows its type, else its English `Display`.
    pub fn of_error<E: std::error::Error + 'static>(e: &E) -> Self {
        let local = localize_known(e);
        Self { id: "", args: vec![("", Arg::Error { en: e.to_string(), local })] }
    }

    /// Adds a text argument.
    pub fn text(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.args.push((name, Arg::Text(value.to_string())));
        self
    }

    /// Adds a number argument.
    pub fn number(mut self, name: &'static str, value: impl TryInto<i64>) -> Self {
        self.args.push((name, Arg::Number(value.try_into().unwrap_or(i64::MAX))));
        self
    }

    /// Adds another message as an argument (shown in the same language).
    pub fn msg(mut self, name: &'static str, value: Msg) -> Self {
        self.args.push((name, Arg::Msg(Box::new(value))));
        self
    }

    /// Adds an error as an argument: its localised text when its type is known, else its
    /// English `Display`.
    pub fn error<E: std::error::Error + 'static>(mut self, name: &'static str, e: &E) -> Self {
        let local = localize_known(e);
        self.args.push((name, Arg::Error { en: e.to_string(), local }));
        self
    }

    /// The message id ("" for a raw text).
    pub fn id(&self) -> &str {
        self.id
    }

    /// The text in `l`.
    pub fn in_locale(&self, l: Locale) -> String {
        let text = |v: &Arg| match v {
            Arg::Text(s) => s.clone(),
            Arg::Number(n) => n.to_string(),
            Arg::Msg(m) => m.in_locale(l),
            Arg::Error { en, local } => match (l, local) {
                (Locale::Es, Some(t)) => t.clone(),
                _ => en.clone(),
            },
        };
        if self.id.is_empty() {
            return self.args.iter().map(|(_, v)| text(v)).collect();
        }
        let args: Vec<(&str, FluentValue<'_>)> = self
            .args
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Arg::Number(n) => FluentValue::from(*n),
                    other => FluentValue::from(text(other)),
                };
                (*k, v)
            })
            .collect();
        tr_in(l, self.id, &args)
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.in_locale(Locale::En))
    }
}

impl From<String> for Msg {
    fn from(s: String) -> Self {
        Self::raw(s)
    }
}

impl From<&str> for Msg {
    fn from(s: &str) -> Self {
        Self::raw(s)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use tiprelay_proto::{Authority, Digest, PrincipalId, PrincipalKind, Timestamp, Tlp};

    use super::*;
    use crate::i18n::has;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn a_cause_the_previous_text_includes_is_not_repeated() {
        let e = Outer(Inner);
        let causes: Vec<&(dyn Error + 'static)> = vec![&e, &Inner];
        assert_eq!(render_chain(causes, &|_| None), "outer: inner");
        let causes: Vec<&(dyn Error + 'static)> = vec![&Inner, &e];
        assert_eq!(render_chain(causes, &|c| c.is::<Inner>().then(|| "dentro".to_owned())), "dentro: outer: inner");
    }

    fn who(s: &str) -> PrincipalId {
        s.parse().unwrap()
    }

    fn mx() -> Authority {
        "MX".parse().unwrap()
    }

    fn us() -> Authority {
        "US".parse().unwrap()
    }

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_unix_ms(ms).unwrap()
    }

    /// Checks that the samples of one type hold every variant: `index` is an exhaustive
    /// match (a new variant stops it compiling) numbering the variants 0..count.
    fn covers<E>(name: &str, samples: &[E], index: fn(&E) -> usize, count: usize) {
        let seen: BTreeSet<usize> = samples.iter().map(index).collect();
        assert_eq!(seen, (0..count).collect(), "{name}: every variant needs a sample");
    }

    /// English equals `Display`; Spanish exists and differs from it.
    fn check<E: Localize + std::fmt::Display>(name: &str, samples: &[E]) {
        for e in samples {
            let en = e.to_string();
            assert_eq!(e.localize_in(Locale::En), en, "{name}: English must be the Display text");
            let es = e.localize_in(Locale::Es);
            assert!(!es.is_empty() && !es.starts_with("err-"), "{name}: no Spanish message for {en}");
            assert_ne!(es, en, "{name}: the Spanish text is the English one");
            assert!(!es.contains("{"), "{name}: an argument is missing in {es}");
        }
    }

    fn id_errors() -> Vec<IdError> {
        let mut v = vec![IdError::Jurisdiction("mx".into()), IdError::TipId("0193".into())];
        // Every `why` the identity rules produce.
        for bad in [
            "mx/analyst/ana",
            "tiprelay://MX/analyst",
            "tiprelay://mx/analyst/ana",
            "tiprelay://MX/analyst/",
            "tiprelay://MX/analyst/Ana",
        ] {
            v.push(bad.parse::<PrincipalId>().unwrap_err());
        }
        v.push(PrincipalId::new(Authority::Operator, PrincipalKind::Analyst, "ana").unwrap_err());
        v
    }

    fn id_index(e: &IdError) -> usize {
        match e {
            IdError::Jurisdiction(_) => 0,
            IdError::Principal { .. } => 1,
            IdError::TipId(_) => 2,
        }
    }

    fn field_errors() -> Vec<FieldError> {
        let mut v: Vec<FieldError> =
            ["a map", "an unsigned integer", "a text string", "a byte string", "a floating-point number", "an array"]
                .into_iter()
                .map(|expected| FieldError::WrongType { field: "refs", expected })
                .collect();
        v.extend([
            FieldError::Missing("from"),
            FieldError::TlpMissing,
            FieldError::Unknown("colour".into()),
            FieldError::Duplicate("to".into()),
            FieldError::NonTextKey,
            FieldError::UnsupportedVersion(2),
            FieldError::Id { field: "from", source: IdError::Jurisdiction("mx".into()) },
            FieldError::SameJurisdiction("MX".into()),
            "purple".parse::<Tlp>().unwrap_err(),
            FieldError::SummaryEmpty,
            FieldError::SummaryTooLong(501),
            FieldError::ControlCharacters("summary"),
            FieldError::EmptyList("refs"),
            FieldError::DetailsTooLong(20_000),
            FieldError::TextTooLong { field: "note", len: 600, max: 500 },
            FieldError::InvalidLang,
            FieldError::LatitudeOutOfRange,
            FieldError::LongitudeOutOfRange,
            FieldError::RadiusOutOfRange,
            FieldError::TooManyRefs(33),
            FieldError::BadRef,
            FieldError::ValidUntilBeforeCreated,
            FieldError::EmptyPeriod,
            FieldError::OutOfRange("seq"),
            FieldError::WrongLength { field: "digest", len: 32 },
            FieldError::TooMany("rows"),
            FieldError::BadTime("created"),
        ]);
        v
    }

    fn field_index(e: &FieldError) -> usize {
        match e {
            FieldError::WrongType { .. } => 0,
            FieldError::Missing(_) => 1,
            FieldError::TlpMissing => 2,
            FieldError::Unknown(_) => 3,
            FieldError::Duplicate(_) => 4,
            FieldError::NonTextKey => 5,
            FieldError::UnsupportedVersion(_) => 6,
            FieldError::Id { .. } => 7,
            FieldError::SameJurisdiction(_) => 8,
            FieldError::NotInSet { .. } => 9,
            FieldError::SummaryEmpty => 10,
            FieldError::SummaryTooLong(_) => 11,
            FieldError::ControlCharacters(_) => 12,
            FieldError::EmptyList(_) => 13,
            FieldError::DetailsTooLong(_) => 14,
            FieldError::TextTooLong { .. } => 15,
            FieldError::InvalidLang => 16,
            FieldError::LatitudeOutOfRange => 17,
            FieldError::LongitudeOutOfRange => 18,
            FieldError::RadiusOutOfRange => 19,
            FieldError::TooManyRefs(_) => 20,
            FieldError::BadRef => 21,
            FieldError::ValidUntilBeforeCreated => 22,
            FieldError::EmptyPeriod => 23,
            FieldError::OutOfRange(_) => 24,
            FieldError::WrongLength { .. } => 25,
            FieldError::TooMany(_) => 26,
            FieldError::BadTime(_) => 27,
        }
    }

    fn proto_errors() -> Vec<ProtoError> {
        let ana = who("tiprelay://MX/analyst/ana");
        let bob = who("tiprelay://US/analyst/bob");
        let mut v = vec![
            ProtoError::Oversized { size: 70_000, max: 65_536 },
            ProtoError::MalformedEnvelope("not a COSE_Sign1 tag".into()),
            ProtoError::MalformedCbor("trailing bytes".into()),
            ProtoError::UnsupportedAlgorithm,
            ProtoError::WrongKind { expected: "application/tiprelay-tip+cbor", found: "text/plain".into() },
            ProtoError::KidMismatch,
            ProtoError::BadCertificate("not a DER X.509 certificate".into()),
            ProtoError::WrongAuthority { kind: "message", identity: ana.clone(), found: mx(), expected: us() },
            ProtoError::UnknownAuthority(us()),
            ProtoError::UntrustedChain {
                identity: ana.clone(),
                authority: us(),
                reason: "it was not issued by the US root CA".into(),
            },
            ProtoError::UntrustedChain {
                identity: ana.clone(),
                authority: mx(),
                reason: "it comes with intermediate certificates; tiprelay v1 allows only certificates issued \
                         directly by the jurisdiction's root"
                    .into(),
            },
            ProtoError::CertificateNotValidNow { identity: ana.clone(), at: at(1_795_000_000_000), reason: "expired" },
            ProtoError::CertificateNotValidNow { identity: ana.clone(), at: at(0), reason: "not yet valid" },
            ProtoError::Revoked(ana.clone()),
            ProtoError::RevokedBefore {
                identity: ana.clone(),
                revoked: at(1_795_000_000_000),
                accepted: at(1_795_000_060_000),
            },
            ProtoError::RevocationUnknown(mx()),
            ProtoError::WrongKeyUsage(ana.clone()),
            ProtoError::CrlStale { authority: us(), next_update: at(1_795_000_000_000), grace_hours: 72 },
            ProtoError::BadSignature,
            ProtoError::Expired { valid_until: at(1_000), now: at(2_000) },
            ProtoError::Signing("the key does not match the certificate".into()),
        ];
        for needs in
            ["the digitalSignature key usage", "the clientAuth extended key usage", "the serverAuth extended key usage"]
        {
            v.push(ProtoError::WrongTlsUsage { identity: ana.clone(), needs });
        }
        for (kind, _, _) in KINDS {
            v.push(ProtoError::Field { kind, source: FieldError::Missing("id") });
            v.push(ProtoError::SignerMismatch { kind, field: "author", signer: ana.clone(), claimed: bob.clone() });
            v.push(ProtoError::CreatedInFuture { kind, created: at(2_000_000), now: at(1_000_000) });
        }
        for (allowed, role) in [
            ("an analyst or a feed", "relay"),
            ("a relay", "analyst"),
            ("an analyst of the receiving jurisdiction", "feed"),
            ("an analyst of the stating jurisdiction, or (federation) its relay", "feed"),
            ("the principal whose local audit log it is", "relay"),
            ("an analyst, feed or relay of a jurisdiction", "analyst"),
        ] {
            for (kind, _, _) in KINDS {
                v.push(ProtoError::SignerRole { kind, signer: ana.clone(), role, allowed });
            }
        }
        v
    }

    fn proto_index(e: &ProtoError) -> usize {
        match e {
            ProtoError::Oversized { .. } => 0,
            ProtoError::MalformedEnvelope(_) => 1,
            ProtoError::MalformedCbor(_) => 2,
            ProtoError::UnsupportedAlgorithm => 3,
            ProtoError::WrongKind { .. } => 4,
            ProtoError::Field { .. } => 5,
            ProtoError::KidMismatch => 6,
            ProtoError::BadCertificate(_) => 7,
            ProtoError::WrongAuthority { .. } => 8,
            ProtoError::UnknownAuthority(_) => 9,
            ProtoError::UntrustedChain { .. } => 10,
            ProtoError::CertificateNotValidNow { .. } => 11,
            ProtoError::Revoked(_) => 12,
            ProtoError::RevocationUnknown(_) => 13,
            ProtoError::WrongKeyUsage(_) => 14,
            ProtoError::WrongTlsUsage { .. } => 15,
            ProtoError::CrlStale { .. } => 16,
            ProtoError::SignerMismatch { .. } => 17,
            ProtoError::SignerRole { .. } => 18,
            ProtoError::BadSignature => 19,
            ProtoError::CreatedInFuture { .. } => 20,
            ProtoError::Expired { .. } => 21,
            ProtoError::Signing(_) => 22,
            ProtoError::RevokedBefore { .. } => 23,
        }
    }

    fn cert_summary_errors() -> Vec<CertSummaryError> {
        vec![CertSummaryError::NotX509("Parsing Error: DER error".into()), CertSummaryError::TrailingBytes]
    }

    fn cert_summary_index(e: &CertSummaryError) -> usize {
        match e {
            CertSummaryError::NotX509(_) => 0,
            CertSummaryError::TrailingBytes => 1,
        }
    }

    fn trust_errors() -> Vec<TrustError> {
        let mut v = vec![
            TrustError::BadCrl { authority: mx(), reason: "not a DER CRL: Parsing Error".into() },
            TrustError::BadCrl { authority: mx(), reason: "trailing bytes after the CRL".into() },
            TrustError::CrlWrongIssuer(us()),
            TrustError::NoRoot(us()),
            TrustError::CrlNotNewer { authority: mx(), offered: 3, loaded: 4 },
        ];
        for reason in [
            "not a DER X.509 certificate",
            "trailing bytes after the certificate",
            "it is not a CA certificate (basicConstraints cA is not set)",
            "its key is not Ed25519",
            "it is not self-signed",
        ] {
            v.push(TrustError::BadRoot { authority: us(), reason: reason.into() });
        }
        v
    }

    fn trust_index(e: &TrustError) -> usize {
        match e {
            TrustError::BadRoot { .. } => 0,
            TrustError::BadCrl { .. } => 1,
            TrustError::CrlWrongIssuer(_) => 2,
            TrustError::NoRoot(_) => 3,
            TrustError::CrlNotNewer { .. } => 4,
        }
    }

    fn merkle_errors() -> Vec<MerkleError> {
        vec![
            MerkleError::IndexOutOfRange { index: 7, size: 7 },
            MerkleError::BadProofLength { expected: 3, actual: 1 },
            MerkleError::BadProofLength { expected: 1, actual: 4 },
            MerkleError::RootMismatch { tree_size: 8, expected: Digest([1; 32]), computed: Digest([2; 32]) },
            MerkleError::InvalidSizes { old_size: 0, new_size: 4 },
            MerkleError::BadCompactTree { size: 7, expected: 3, actual: 2 },
            MerkleError::TreeFull,
            MerkleError::Source("redb: storage error".into()),
        ]
    }

    fn merkle_index(e: &MerkleError) -> usize {
        match e {
            MerkleError::IndexOutOfRange { .. } => 0,
            MerkleError::BadProofLength { .. } => 1,
            MerkleError::RootMismatch { .. } => 2,
            MerkleError::InvalidSizes { .. } => 3,
            MerkleError::BadCompactTree { .. } => 4,
            MerkleError::TreeFull => 5,
            MerkleError::Source(_) => 6,
        }
    }

    fn frame_errors() -> Vec<FrameError> {
        vec![
            FrameError::Truncated,
            FrameError::TooLarge(2_000_000),
            FrameError::Trailing,
            FrameError::Cbor("unexpected end of input".into()),
            FrameError::Field(FieldError::Missing("op")),
            FrameError::UnknownOp("teleport".into()),
        ]
    }

    fn frame_index(e: &FrameError) -> usize {
        match e {
            FrameError::Truncated => 0,
            FrameError::TooLarge(_) => 1,
            FrameError::Trailing => 2,
            FrameError::Cbor(_) => 3,
            FrameError::Field(_) => 4,
            FrameError::UnknownOp(_) => 5,
        }
    }

    fn range_errors() -> Vec<RangeError> {
        vec![
            RangeError::NotAPeriod("2026-13".into()),
            RangeError::NotAnInstant("yesterday".into()),
            RangeError::UntilNotAfterSince,
        ]
    }

    fn range_index(e: &RangeError) -> usize {
        match e {
            RangeError::NotAPeriod(_) => 0,
            RangeError::NotAnInstant(_) => 1,
            RangeError::UntilNotAfterSince => 2,
        }
    }

    fn facts_errors() -> Vec<FactsError> {
        vec![
            FactsError::Cbor(ciborium::de::Error::Syntax(3)),
            FactsError::NotAMap,
            FactsError::UnexpectedKey,
            FactsError::NoPrincipal,
            FactsError::FactNotAMap,
            FactsError::Fact(FieldError::Missing("tip")),
        ]
    }

    fn facts_index(e: &FactsError) -> usize {
        match e {
            FactsError::Cbor(_) => 0,
            FactsError::NotAMap => 1,
            FactsError::UnexpectedKey => 2,
            FactsError::NoPrincipal => 3,
            FactsError::FactNotAMap => 4,
            FactsError::Fact(_) => 5,
        }
    }

    fn file_errors() -> Vec<FileError> {
        let path = PathBuf::from("/etc/tiprelay/mx-root.pem");
        let mut v = vec![FileError::Io { path: path.clone(), source: std::io::Error::from_raw_os_error(libc::ENOENT) }];
        for why in
            ["no CERTIFICATE block", "no PKCS#8 PRIVATE KEY block", "no X509 CRL block", "bad PEM: invalid base64"]
        {
            v.push(FileError::Content { path: path.clone(), why: why.into() });
        }
        v.push(FileError::KeyEncrypted { path: path.clone() });
        v.push(FileError::KeyPassphrase { path: path.clone() });
        v.push(FileError::KeyExposed { path: path.clone(), mode: 0o644 });
        v.push(FileError::KeyNotOwned { path: path.clone(), owner: 10001, user: 0 });
        v
    }

    fn file_index(e: &FileError) -> usize {
        match e {
            FileError::Io { .. } => 0,
            FileError::Content { .. } => 1,
            FileError::KeyExposed { .. } => 2,
            FileError::KeyNotOwned { .. } => 3,
            FileError::KeyEncrypted { .. } => 4,
            FileError::KeyPassphrase { .. } => 5,
        }
    }

    #[test]
    fn every_variant_reads_as_its_display_in_english_and_differs_in_spanish() {
        let ids = id_errors();
        covers("IdError", &ids, id_index, 3);
        check("IdError", &ids);
        let fields = field_errors();
        covers("FieldError", &fields, field_index, 28);
        check("FieldError", &fields);
        let protos = proto_errors();
        covers("ProtoError", &protos, proto_index, 24);
        check("ProtoError", &protos);
        let summaries = cert_summary_errors();
        covers("CertSummaryError", &summaries, cert_summary_index, 2);
        check("CertSummaryError", &summaries);
        let trust = trust_errors();
        covers("TrustError", &trust, trust_index, 5);
        check("TrustError", &trust);
        let merkle = merkle_errors();
        covers("MerkleError", &merkle, merkle_index, 7);
        check("MerkleError", &merkle);
        let frames = frame_errors();
        covers("FrameError", &frames, frame_index, 6);
        check("FrameError", &frames);
        let ranges = range_errors();
        covers("RangeError", &ranges, range_index, 3);
        check("RangeError", &ranges);
        check("UnknownPeriod", &[UnknownPeriod("fortnight".into())]);
        let facts = facts_errors();
        covers("FactsError", &facts, facts_index, 6);
        check("FactsError", &facts);
        let files = file_errors();
        covers("FileError", &files, file_index, 6);
        check("FileError", &files);
    }

    #[test]
    fn fixed_fragments_are_translated_and_their_english_is_the_original() {
        for (en, id) in FRAGMENTS {
            assert_eq!(tr_in(Locale::En, id, &[]), *en, "{id}");
            let es = fragment(Locale::Es, en);
            assert!(has(Locale::Es, id) && es != *en, "{id}: no Spanish");
        }
        for (prefix, id) in PREFIXES {
            let en = format!("{prefix}detail");
            assert_eq!(tr_in(Locale::En, id, &[("detail", FluentValue::from("detail"))]), en, "{id}");
            let es = fragment(Locale::Es, &en);
            assert!(es.ends_with("detail") && !es.starts_with(prefix), "{id}: {es}");
        }
        for (kind, id, gender) in KINDS {
            assert_eq!(tr_in(Locale::En, id, &[]), *kind);
            assert!(has(Locale::Es, id) && ["m", "f"].contains(gender));
        }
        for (role, id) in ROLES {
            assert_eq!(tr_in(Locale::En, id, &[]), *role);
            assert!(has(Locale::Es, id));
        }
        // The identity rules' own reasons (produced by the proto crate) are all known.
        for e in id_errors() {
            if let IdError::Principal { why, .. } = &e {
                assert!(FRAGMENTS.iter().any(|(f, _)| f == why), "unknown reason: {why}");
                assert!(!e.localize_in(Locale::Es).contains(why), "{why}");
            }
        }
        // Free text passes through.
        assert_eq!(
            fragment(Locale::Es, "webpki: UnsupportedSignatureAlgorithm"),
            "webpki: UnsupportedSignatureAlgorithm"
        );
        // Gender agreement.
        let e = ProtoError::Field { kind: "feedback", source: FieldError::SummaryEmpty };
        assert_eq!(e.localize_in(Locale::Es), "respuesta no válida: `summary` está vacío");
        let e = ProtoError::SignerRole {
            kind: "delivery ack",
            signer: who("tiprelay://MX/feed/placas"),
            role: "feed",
            allowed: "an analyst of the receiving jurisdiction",
        };
        assert_eq!(
            e.localize_in(Locale::Es),
            "tiprelay://MX/feed/placas es una alimentación (feed); una confirmación de entrega debe estar firmada por \
             un analista de la jurisdicción receptora"
        );
    }

    fn chain<'a>(e: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
        let mut out = Vec::new();
        let mut next = Some(e);
        while let Some(c) = next {
            out.push(c);
            next = c.source();
        }
        out
    }

    #[test]
    fn a_nested_chain_reads_in_spanish_without_repeating_its_cause() {
        let e = ProtoError::Field {
            kind: "tip",
            source: FieldError::Id { field: "to", source: IdError::Jurisdiction("mx".into()) },
        };
        let causes = chain(&e);
        assert_eq!(causes.len(), 3, "ProtoError → FieldError → IdError");
        let es = render_chain(causes.clone(), &|c| localize_known_in(c, Locale::Es));
        assert_eq!(
            es,
            "aviso no válido: campo `to`: «mx» no es un código de jurisdicción: use 2 o 3 letras mayúsculas, p. ej. MX \
             o US"
        );
        assert_eq!(es.matches("no es un código de jurisdicción").count(), 1);
        let en = render_chain(causes, &|c| localize_known_in(c, Locale::En));
        assert_eq!(en, e.to_string());

        // Behind a file error and an I/O error, the same.
        let io = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(io.localize_in(Locale::En), io.to_string());
        assert_eq!(io.localize_in(Locale::Es), format!("permiso denegado (error del sistema {})", libc::EACCES));
        let wrapped = std::io::Error::other(RangeError::UntilNotAfterSince);
        assert_eq!(wrapped.localize_in(Locale::Es), "--until debe ser posterior a --since");
        let f = FileError::Io { path: "/x/key.pem".into(), source: io };
        let es = render_chain(chain(&f), &|c| localize_known_in(c, Locale::Es));
        assert!(es.starts_with("/x/key.pem: permiso denegado") && !es.contains("Permission"), "{es}");
    }

    #[test]
    fn wire_reasons_are_the_relay_detail_in_english_and_the_code_meaning_in_spanish() {
        let mut meanings = BTreeSet::new();
        for code in ErrorCode::ALL {
            let id = code_message_id(code);
            assert!(has(Locale::En, &id) && has(Locale::Es, &id), "{id} missing");
            let detail = format!("{} detail", code.name());
            assert_eq!(wire_reason_in(Locale::En, code, &detail), detail);
            let meaning = tr_in(Locale::Es, &id, &[]);
            assert_ne!(meaning, tr_in(Locale::En, &id, &[]), "{id}");
            assert!(meanings.insert(meaning.clone()), "{id}: same meaning as another code");
            let es = wire_reason_in(Locale::Es, code, &detail);
            assert_eq!(es, format!("{meaning} (relé: «{detail}»)"));
            assert_eq!(wire_reason_in(Locale::Es, code, ""), meaning);
        }
        assert_eq!(
            wire_reason_in(Locale::Es, ErrorCode::BadSignature, "signature verification failed"),
            "firma no válida (relé: «signature verification failed»)"
        );
    }
}
