//! The certificate profiles of tiprelay (documented in docs/PROTOCOL.md §2). Every function
//! here is deterministic given its keys, serials and times, so test vectors can be rebuilt.

use std::net::IpAddr;

use ed25519_dalek::pkcs8::EncodePrivateKey;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;
use tiprelay_proto::{Authority, PrincipalId};

use crate::error::CertsError;
use tiprelay_common::localize::Msg;

/// The id-kp-documentSigning arcs (RFC 9336), for rcgen.
pub const DOCUMENT_SIGNING_ARCS: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 36];

/// An Ed25519 key for rcgen, built from a 32-byte seed.
pub fn key_from_seed(seed: &[u8; 32]) -> Result<KeyPair, CertsError> {
    let sk = ed25519_dalek::SigningKey::from_bytes(seed);
    let der = sk.to_pkcs8_der().map_err(|e| CertsError::Invalid(Msg::new("certs-key-encode").text("why", e)))?;
    Ok(KeyPair::try_from(der.as_bytes())?)
}

/// A fresh random Ed25519 key.
pub fn random_key() -> Result<KeyPair, CertsError> {
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    key_from_seed(&seed)
}

/// A fresh random positive 16-byte serial number.
pub fn random_serial() -> SerialNumber {
    let mut s = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut s);
    s[0] = (s[0] & 0x7f) | 0x01;
    SerialNumber::from(s.to_vec())
}

/// Validity and serial of a certificate to issue.
#[derive(Debug, Clone)]
pub struct Validity {
    /// Start.
    pub not_before: OffsetDateTime,
    /// End.
    pub not_after: OffsetDateTime,
    /// Serial number.
    pub serial: SerialNumber,
}

fn uri_san(p: &PrincipalId) -> Result<SanType, CertsError> {
    Ok(SanType::URI(p.to_string().try_into()?))
}

fn base_params(v: &Validity, dn: DistinguishedName) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.not_before = v.not_before;
    p.not_after = v.not_after;
    p.serial_number = Some(v.serial.clone());
    p.distinguished_name = dn;
    p
}

/// The distinguished name of an authority's root CA of `generation` (1 for the first; each
/// rollover root the next): two roots of one authority trusted side by side must have
/// different names (PROTOCOL §6.4), so a later generation's common name ends in `(N)`.
pub fn root_dn(authority: Authority, generation: u32) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "tiprelay");
    let suffix = if generation > 1 { format!(" ({generation})") } else { String::new() };
    match authority {
        Authority::Jurisdiction(j) => {
            dn.push(DnType::OrganizationalUnitName, format!("jurisdiction {j}"));
            dn.push(DnType::CommonName, format!("tiprelay {j} root CA{suffix}"));
        }
        Authority::Operator => {
            dn.push(DnType::OrganizationalUnitName, "relay operator");
            dn.push(DnType::CommonName, format!("tiprelay relay operator root CA{suffix}"));
        }
    }
    dn
}

/// Root CA parameters: self-signed, cA with pathLen 0, keyCertSign + cRLSign.
pub fn root_params(authority: Authority, generation: u32, v: &Validity) -> CertificateParams {
    let mut p = base_params(v, root_dn(authority, generation));
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// The SubjectPublicKeyInfo of a raw Ed25519 public key (RFC 8410), to certify a key
/// whose private half lives elsewhere (a PKCS#11 token).
pub fn ed25519_spki(public: &[u8; 32]) -> Result<rcgen::SubjectPublicKeyInfo, CertsError> {
    let mut spki = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    spki.extend_from_slice(public);
    Ok(rcgen::SubjectPublicKeyInfo::from_der(&spki)?)
}

/// A self-signed root CA certificate of `generation` (see [`root_dn`]).
pub fn make_root(
    authority: Authority,
    generation: u32,
    key: &impl rcgen::SigningKey,
    v: &Validity,
) -> Result<Certificate, CertsError> {
    Ok(root_params(authority, generation, v).self_signed(key)?)
}

fn leaf_dn(p: &PrincipalId) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "tiprelay");
    dn.push(DnType::OrganizationalUnitName, p.authority().to_string());
    dn.push(DnType::CommonName, p.name());
    dn
}

/// Which end-entity profile to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// TLS client: digitalSignature, EKU clientAuth.
    TlsClient,
    /// Message signing: digitalSignature + contentCommitment, EKU documentSigning.
    Signing,
    /// TLS server (relay): digitalSignature, EKU serverAuth, plus DNS/IP SANs.
    TlsServer,
    /// TLS of a jurisdiction's own relay in a federated deployment: as [`LeafKind::TlsServer`],
    /// plus EKU clientAuth, because the relay also dials its peer relay with it.
    TlsPeerRelay,
}

/// Issues an end-entity certificate for `identity` with `key`, signed by `issuer`. `key`
/// is the subject's public key: a [`KeyPair`], or a public key alone (e.g. an
/// `rcgen::SubjectPublicKeyInfo` of a key that lives in a PKCS#11 token).
pub fn make_leaf(
    identity: &PrincipalId,
    kind: LeafKind,
    key: &impl rcgen::PublicKeyData,
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
    v: &Validity,
    dns: &[String],
    ips: &[IpAddr],
) -> Result<Certificate, CertsError> {
    let mut p = base_params(v, leaf_dn(identity));
    p.is_ca = IsCa::ExplicitNoCa;
    p.use_authority_key_identifier_extension = true;
    p.subject_alt_names.push(uri_san(identity)?);
    match kind {
        LeafKind::TlsClient => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        LeafKind::Signing => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(DOCUMENT_SIGNING_ARCS.to_vec())];
        }
        LeafKind::TlsServer | LeafKind::TlsPeerRelay => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = if kind == LeafKind::TlsPeerRelay {
                vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth]
            } else {
                vec![ExtendedKeyUsagePurpose::ServerAuth]
            };
            for d in dns {
                p.subject_alt_names.push(SanType::DnsName(d.as_str().try_into()?));
            }
            for ip in ips {
                p.subject_alt_names.push(SanType::IpAddress(*ip));
            }
        }
    }
    Ok(p.signed_by(key, issuer)?)
}
