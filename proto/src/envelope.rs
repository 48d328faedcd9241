//! COSE_Sign1 envelopes (RFC 9052): signing, parsing and verification.
//!
//! Profile: a tagged COSE_Sign1 (tag 18) whose protected header holds exactly
//! `alg` (1) = EdDSA (-8), `content type` (3) naming the kind, `kid` (4) = SHA-256 of the
//! signing certificate, and `x5chain` (33, RFC 9360) with the signing certificate (and any
//! intermediates); the unprotected header is empty; the payload is attached. The
//! signature covers the kind's own `external_aad`, so a signature of one kind never
//! verifies as another. Verification works on the exact received bytes: nothing is
//! re-encoded.

use ciborium::Value;
use coset::{iana, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use ed25519_dalek::{Signature, Signer as _, SigningKey};

use crate::cbor;
use crate::error::ProtoError;
use crate::ids::{Digest, PrincipalId};
use crate::limits::*;
use crate::messages::Message;
use crate::pki::{summarize_certificate, CertUsage, TrustStore};
use crate::time::Timestamp;

/// A message that passed every check, with who signed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified<T> {
    /// The message.
    pub message: T,
    /// The signer's certified identity (equal to the message's author/by/relay field).
    pub signer: PrincipalId,
    /// SHA-256 of the signer's certificate.
    pub signer_cert: Digest,
    /// SHA-256 of the envelope's exact bytes (the tip digest receipts refer to).
    pub digest: Digest,
}

/// A parsed but not yet verified envelope.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// The decoded payload (time-independent field rules already checked).
    pub message: T,
    /// The `x5chain` certificates, signer first.
    pub chain: Vec<Vec<u8>>,
    /// The `kid` header.
    pub kid: Vec<u8>,
    /// SHA-256 of the envelope bytes.
    pub digest: Digest,
    sig: [u8; ED25519_SIGNATURE_BYTES],
    tbs: Vec<u8>,
}

/// An Ed25519 private key held outside this process — in a PKCS#11 token or an HSM — that
/// signs on request and never hands the key out. The relay implements it over PKCS#11
/// (`tiprelay::pkcs11`); proto knows nothing of tokens.
pub trait ExternalKey: Send + Sync {
    /// The key pair's Ed25519 public key (as the token reports it).
    fn public_key(&self) -> [u8; 32];
    /// A pure Ed25519 signature (RFC 8032, no context, no pre-hash) of `msg`.
    fn sign(&self, msg: &[u8]) -> Result<[u8; ED25519_SIGNATURE_BYTES], ExternalKeyError>;
}

/// Why an [`ExternalKey`] did not sign (its English message, for logs: never key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExternalKeyError(pub String);

/// Where a [`Signer`]'s private key lives.
#[derive(Clone)]
enum SignerKey {
    /// In this process's memory (a key file).
    InMemory(SigningKey),
    /// In a token, behind [`ExternalKey`]; `root` is the secret [`Signer::derive_secret`]
    /// derives from (see [`Signer::from_external`]).
    External { key: std::sync::Arc<dyn ExternalKey>, root: [u8; 32] },
}

/// A signing identity: an Ed25519 key (in memory, or in a token through [`ExternalKey`])
/// and its signing certificate. Cloning shares the key.
#[derive(Clone)]
pub struct Signer {
    key: SignerKey,
    chain: Vec<Vec<u8>>,
    identity: PrincipalId,
    kid: Digest,
}

/// What [`Signer::from_external`] signs once to prove the token's private key is the
/// certificate's, and to derive [`Signer::derive_secret`]'s root from. No COSE
/// Sig_structure (a CBOR array, first byte 0x84) starts with these bytes, so the relay
/// never makes this signature for anything it hands out.
const EXTERNAL_ROOT_MESSAGE: &[u8] = b"tiprelay/v1/external-key-root\0";

impl Signer {
    /// A 32-byte secret derived from this signer's private key for `context` (one-way:
    /// it reveals nothing of the key, and differs per context). The relay derives its QUIC
    /// stateless-reset key from it, so the key is the same across restarts and across the
    /// relay processes of one deployment, which share the relay's key. For a key in a token,
    /// the secret comes from the key's (deterministic, RFC 8032) signature of a fixed
    /// message, made once at construction: the same key gives the same secrets.
    pub fn derive_secret(&self, context: &str) -> [u8; 32] {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(b"tiprelay/v1/derive\0");
        h.update((context.len() as u64).to_be_bytes());
        h.update(context.as_bytes());
        match &self.key {
            SignerKey::InMemory(key) => h.update(key.to_bytes()),
            SignerKey::External { root, .. } => h.update(root),
        }
        h.finalize().into()
    }

    /// Whether the private key lives outside this process (a token).
    pub fn is_external(&self) -> bool {
        matches!(self.key, SignerKey::External { .. })
    }

    /// The Ed25519 signature of `tbs`.
    fn raw_sign(&self, tbs: &[u8]) -> Result<Vec<u8>, ProtoError> {
        match &self.key {
            SignerKey::InMemory(key) => Ok(key.sign(tbs).to_bytes().to_vec()),
            SignerKey::External { key, .. } => key
                .sign(tbs)
                .map(|s| s.to_vec())
                .map_err(|e| ProtoError::Signing(format!("the key's token did not sign: {e}"))),
        }
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Signer")
            .field("identity", &self.identity)
            .field("kid", &self.kid)
            .field("external", &self.is_external())
            .finish()
    }
}

impl Signer {
    /// From a PKCS#8 DER Ed25519 private key and the signing certificate (DER) for it.
    /// Checks the certificate is a signing certificate for that key.
    pub fn new(key_pkcs8_der: &[u8], cert_der: Vec<u8>) -> Result<Self, ProtoError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let key = SigningKey::from_pkcs8_der(key_pkcs8_der)
            .map_err(|_| ProtoError::Signing("the private key is not a PKCS#8 Ed25519 key".into()))?;
        Self::from_key(key, cert_der)
    }

    /// From a PEM private key (PKCS#8) and PEM certificate.
    pub fn from_pem(key_pem: &[u8], cert_pem: &[u8]) -> Result<Self, ProtoError> {
        use rustls_pki_types::pem::PemObject;
        let key = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(key_pem)
            .map_err(|_| ProtoError::Signing("no PKCS#8 PRIVATE KEY block in the key file".into()))?;
        let cert = rustls_pki_types::CertificateDer::from_pem_slice(cert_pem)
            .map_err(|_| ProtoError::Signing("no CERTIFICATE block in the certificate file".into()))?;
        Self::new(key.secret_pkcs8_der(), cert.to_vec())
    }

    /// From an in-memory key and the signing certificate (DER) for it.
    pub fn from_key(key: SigningKey, cert_der: Vec<u8>) -> Result<Self, ProtoError> {
        let (identity, kid) = check_signing_cert(&cert_der, key.verifying_key().to_bytes())?;
        Ok(Self { key: SignerKey::InMemory(key), chain: vec![cert_der], identity, kid })
    }

    /// From a key held in a token and the signing certificate (DER) for it. Checks the
    /// certificate is a signing certificate for the token's public key, then has the token
    /// sign once and verifies that signature with the certificate's key, so a token whose
    /// private key is not the certificate's (or that cannot sign Ed25519) is refused here,
    /// not at the first receipt.
    pub fn from_external(key: std::sync::Arc<dyn ExternalKey>, cert_der: Vec<u8>) -> Result<Self, ProtoError> {
        let public = key.public_key();
        let (identity, kid) = check_signing_cert(&cert_der, public)?;
        let probe = key
            .sign(EXTERNAL_ROOT_MESSAGE)
            .map_err(|e| ProtoError::Signing(format!("the key's token did not sign: {e}")))?;
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| ProtoError::Signing("the token's public key is not an Ed25519 point".into()))?;
        verifying.verify_strict(EXTERNAL_ROOT_MESSAGE, &Signature::from_bytes(&probe)).map_err(|_| {
            ProtoError::Signing(format!(
                "the token's private key made a signature that the certificate of {identity} does not verify: the \
                 private and public key objects are not one pair"
            ))
        })?;
        let root = {
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            h.update(b"tiprelay/v1/external-root\0");
            h.update(probe);
            h.finalize().into()
        };
        Ok(Self { key: SignerKey::External { key, root }, chain: vec![cert_der], identity, kid })
    }

    /// The certified identity this signer signs as.
    pub fn identity(&self) -> &PrincipalId {
        &self.identity
    }

    /// Validates and signs `msg`, returning the envelope bytes. Refuses a message whose
    /// author/by/relay field is not this signer; fails if a token key does not sign.
    pub fn sign<M: Message>(&self, msg: &M) -> Result<Vec<u8>, ProtoError> {
        msg.validate().map_err(|source| ProtoError::Field { kind: M::KIND, source })?;
        let rule = msg.signer_rule();
        if rule.claimed != self.identity {
            return Err(ProtoError::SignerMismatch {
                kind: M::KIND,
                field: rule.field,
                signer: self.identity.clone(),
                claimed: rule.claimed,
            });
        }
        let payload = cbor::encode_value(&msg.encode());
        self.envelope(M::CONTENT_TYPE, M::AAD, payload)
    }

    /// Signs raw payload bytes under a content type and aad. Test and vector use only:
    /// it does not check the payload. A token key that fails to sign gives an empty
    /// envelope (which no parser accepts).
    #[doc(hidden)]
    pub fn sign_payload(&self, content_type: &str, aad: &[u8], payload: Vec<u8>) -> Vec<u8> {
        self.envelope(content_type, aad, payload).unwrap_or_default()
    }

    fn envelope(&self, content_type: &str, aad: &[u8], payload: Vec<u8>) -> Result<Vec<u8>, ProtoError> {
        let chain = match self.chain.as_slice() {
            [one] => Value::Bytes(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::Bytes).collect()),
        };
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .content_type(content_type.to_owned())
            .key_id(self.kid.0.to_vec())
            .value(COSE_HEADER_X5CHAIN, chain)
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(payload)
            .try_create_signature(aad, |tbs| self.raw_sign(tbs))?
            .build();
        sign1.to_tagged_vec().map_err(|e| ProtoError::Signing(format!("cannot encode the envelope: {e}")))
    }
}

/// The identity and kid of `cert_der` after checking it certifies `public` for signing.
fn check_signing_cert(cert_der: &[u8], public: [u8; 32]) -> Result<(PrincipalId, Digest), ProtoError> {
    let summary = summarize_certificate(cert_der).map_err(|e| ProtoError::BadCertificate(e.to_string()))?;
    let identity =
        summary.identity.ok_or_else(|| ProtoError::BadCertificate("no single tiprelay:// URI SAN".into()))?;
    if summary.ed25519_public_key != Some(public) {
        return Err(ProtoError::Signing(format!("the private key does not belong to the certificate of {identity}")));
    }
    if summary.role != crate::pki::CertRole::Signing {
        return Err(ProtoError::WrongKeyUsage(identity));
    }
    Ok((identity, Digest::of(cert_der)))
}

fn malformed(s: &str) -> ProtoError {
    ProtoError::MalformedEnvelope(s.to_owned())
}

/// Parses an envelope of kind `M` without any cryptography: size, COSE structure, the
/// header profile, and the payload's field rules.
pub fn parse<M: Message>(bytes: &[u8]) -> Result<Parsed<M>, ProtoError> {
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(ProtoError::Oversized { size: bytes.len(), max: MAX_ENVELOPE_BYTES });
    }
    // Structural pre-check with our own depth-limited decoder before handing to coset.
    cbor::decode_value(bytes).map_err(ProtoError::MalformedEnvelope)?;
    let sign1 = CoseSign1::from_tagged_slice(bytes).map_err(|e| ProtoError::MalformedEnvelope(e.to_string()))?;
    if !sign1.unprotected.is_empty() {
        return Err(malformed("the unprotected header must be empty"));
    }
    // One encoding per envelope: the unsigned outer structure (tag, array, unprotected map,
    // byte-string heads) must be the canonical one, so nobody holding a tip can make a
    // second valid copy with another digest. The protected header and payload are signed.
    if sign1.clone().to_tagged_vec().ok().as_deref() != Some(bytes) {
        return Err(malformed(
            "the envelope is not canonically encoded (definite lengths, shortest heads, an empty unprotected \
             map as a0)",
        ));
    }
    let h = &sign1.protected.header;
    if h.alg != Some(coset::RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA)) {
        return Err(ProtoError::UnsupportedAlgorithm);
    }
    if !h.crit.is_empty() || !h.iv.is_empty() || !h.partial_iv.is_empty() || !h.counter_signatures.is_empty() {
        return Err(malformed("the protected header carries parameters this profile does not allow"));
    }
    match &h.content_type {
        Some(coset::ContentType::Text(t)) if t == M::CONTENT_TYPE => {}
        Some(coset::ContentType::Text(t)) => {
            return Err(ProtoError::WrongKind { expected: M::CONTENT_TYPE, found: t.chars().take(60).collect() })
        }
        _ => return Err(ProtoError::WrongKind { expected: M::CONTENT_TYPE, found: "<none>".into() }),
    }
    let chain = match h.rest.as_slice() {
        [(coset::Label::Int(COSE_HEADER_X5CHAIN), v)] => match v {
            Value::Bytes(b) => vec![b.clone()],
            Value::Array(a) if (2..=MAX_CHAIN_CERTS).contains(&a.len()) => a
                .iter()
                .map(|c| c.as_bytes().cloned().ok_or_else(|| malformed("x5chain entries must be byte strings")))
                .collect::<Result<_, _>>()?,
            _ => return Err(malformed("x5chain must be a certificate or an array of 2 to 4 certificates")),
        },
        _ => {
            return Err(malformed(
                "the protected header must carry x5chain (33) and nothing else beyond alg, content type and kid",
            ))
        }
    };
    let signer_cert = chain.first().ok_or_else(|| malformed("empty x5chain"))?;
    if h.key_id.as_slice() != Digest::of(signer_cert).0.as_slice() {
        return Err(ProtoError::KidMismatch);
    }
    let payload = sign1.payload.as_deref().ok_or_else(|| malformed("the payload must be attached"))?;
    let sig: [u8; ED25519_SIGNATURE_BYTES] =
        sign1.signature.as_slice().try_into().map_err(|_| malformed("an Ed25519 signature is 64 bytes"))?;
    let value = cbor::decode_value(payload).map_err(ProtoError::MalformedCbor)?;
    let message = M::decode(value).map_err(|source| ProtoError::Field { kind: M::KIND, source })?;
    Ok(Parsed { message, kid: h.key_id.clone(), digest: Digest::of(bytes), tbs: sign1.tbs_data(M::AAD), sig, chain })
}

/// Parses and fully verifies an envelope of kind `M` at time `now`:
/// 1. [`parse`] (size, structure, header profile, field rules);
/// 2. the signer certificate's identity belongs to the authority the message requires
///    (`from` for a tip, `to` for acks and feedback, the operator for receipts) and has an
///    allowed role;
/// 3. the certificate chains to that authority's root, is valid at `now`, is a signing
///    certificate, and is not on the authority's CRL;
/// 4. its identity equals the message's author/by/relay field;
/// 5. `verify_strict` over the Sig_structure with the kind's `external_aad`;
/// 6. time rules at `now` (clock skew, expiry).
pub fn verify<M: Message>(bytes: &[u8], trust: &TrustStore, now: Timestamp) -> Result<Verified<M>, ProtoError> {
    verify_parsed(parse::<M>(bytes)?, trust, now)
}

/// Steps 2 to 6 of [`verify`] on an envelope already [`parse`]d (so a caller that needs
/// the parsed fields first does not decode the envelope twice).
pub fn verify_parsed<M: Message>(
    parsed: Parsed<M>,
    trust: &TrustStore,
    now: Timestamp,
) -> Result<Verified<M>, ProtoError> {
    let rule = parsed.message.signer_rule();
    let (cert, intermediates) = parsed.chain.split_first().ok_or_else(|| malformed("empty x5chain"))?;
    let inter: Vec<&[u8]> = intermediates.iter().map(Vec::as_slice).collect();
    let vc = trust.verify_cert(cert, &inter, rule.authority, CertUsage::Signing, now).map_err(|e| match e {
        ProtoError::WrongAuthority { identity, found, expected, .. } => {
            ProtoError::WrongAuthority { kind: M::KIND, identity, found, expected }
        }
        other => other,
    })?;
    if !rule.roles.contains(&vc.identity.kind()) {
        return Err(ProtoError::SignerRole {
            kind: M::KIND,
            role: vc.identity.kind().as_str(),
            signer: vc.identity,
            allowed: rule.roles_text,
        });
    }
    if vc.identity != rule.claimed {
        return Err(ProtoError::SignerMismatch {
            kind: M::KIND,
            field: rule.field,
            signer: vc.identity,
            claimed: rule.claimed,
        });
    }
    vc.key.verify_strict(&parsed.tbs, &Signature::from_bytes(&parsed.sig)).map_err(|_| ProtoError::BadSignature)?;
    parsed.message.check_time(now)?;
    Ok(Verified { message: parsed.message, signer: vc.identity, signer_cert: vc.fingerprint, digest: parsed.digest })
}

/// Encodes a message's payload alone (deterministic CBOR), for test vectors and digests.
pub fn encode_payload<M: Message>(msg: &M) -> Vec<u8> {
    cbor::encode_value(&msg.encode())
}

/// Decodes a payload alone (no envelope), checking field rules.
pub fn decode_payload<M: Message>(bytes: &[u8]) -> Result<M, ProtoError> {
    let v = cbor::decode_value(bytes).map_err(ProtoError::MalformedCbor)?;
    M::decode(v).map_err(|source| ProtoError::Field { kind: M::KIND, source })
}
