//! Deterministic in-memory PKIs for tests and test vectors: every key comes from a fixed
//! seed and every certificate from fixed serials and times, so the same call always
//! yields the same bytes. Not for production identities: the keys are predictable.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ed25519_dalek::pkcs8::EncodePrivateKey;
use rcgen::{CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevokedCertParams, SerialNumber};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};
use tiprelay_proto::{Authority, Digest, PrincipalId, Signer, TrustStore};

use crate::error::CertsError;
use crate::profile::{self, LeafKind, Validity};
use tiprelay_common::localize::Msg;

/// A fixture CA.
pub struct FixtureCa {
    /// Its authority.
    pub authority: Authority,
    /// The root key.
    pub key: KeyPair,
    /// The root certificate, DER.
    pub cert_der: Vec<u8>,
}

/// A fixture end-entity certificate and key.
#[derive(Clone)]
pub struct FixtureLeaf {
    /// Its identity.
    pub identity: PrincipalId,
    /// The 32-byte Ed25519 seed (the private key).
    pub seed: [u8; 32],
    /// The private key, PKCS#8 DER.
    pub key_pkcs8: Vec<u8>,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The certificate's serial number.
    pub serial: Vec<u8>,
}

impl FixtureLeaf {
    /// A [`Signer`] for this leaf (it must be a signing certificate).
    pub fn signer(&self) -> Result<Signer, tiprelay_proto::ProtoError> {
        Signer::new(&self.key_pkcs8, self.cert_der.clone())
    }
}

/// A set of fixture CAs keyed by authority, all valid from `base` for ten years.
pub struct FixturePki {
    /// The time every validity period starts at.
    pub base: OffsetDateTime,
    label: String,
    cas: BTreeMap<Authority, FixtureCa>,
}

/// A 32-byte seed derived from a label.
pub fn seed(label: &str) -> [u8; 32] {
    Digest::of(label.as_bytes()).0
}

fn serial_from(label: &str) -> Vec<u8> {
    let mut s = Digest::of(label.as_bytes()).0[..16].to_vec();
    if let Some(first) = s.first_mut() {
        *first = (*first & 0x7f) | 0x01;
    }
    s
}

impl FixturePki {
    /// CAs for `authorities`, derived from `label` (different labels give unrelated PKIs).
    pub fn new(label: &str, authorities: &[Authority], base: OffsetDateTime) -> Result<Self, CertsError> {
        let mut cas = BTreeMap::new();
        for a in authorities {
            let l = format!("{label}/ca/{a}");
            let key = profile::key_from_seed(&seed(&l))?;
            let v = Validity {
                not_before: base,
                not_after: base + Duration::days(3650),
                serial: SerialNumber::from(serial_from(&l)),
            };
            let cert_der = profile::make_root(*a, 1, &key, &v)?.der().to_vec();
            cas.insert(*a, FixtureCa { authority: *a, key, cert_der });
        }
        Ok(Self { base, label: label.to_owned(), cas })
    }

    /// The CA of `a`.
    pub fn ca(&self, a: Authority) -> Result<&FixtureCa, CertsError> {
        self.cas.get(&a).ok_or_else(|| CertsError::Invalid(Msg::raw(format!("no fixture CA for {a}"))))
    }

    /// Issues a leaf for `identity` from its own authority's CA, valid for a year from base.
    pub fn leaf(&self, identity: &PrincipalId, kind: LeafKind) -> Result<FixtureLeaf, CertsError> {
        self.leaf_with(identity.authority(), identity, kind, self.base, self.base + Duration::days(365))
    }

    /// Issues a leaf from an arbitrary CA (for wrong-CA tests) with explicit validity.
    pub fn leaf_with(
        &self,
        issuer: Authority,
        identity: &PrincipalId,
        kind: LeafKind,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<FixtureLeaf, CertsError> {
        let ca = self.ca(issuer)?;
        let l = format!("{}/leaf/{issuer}/{identity}/{kind:?}/{}", self.label, not_before.unix_timestamp());
        let s = seed(&l);
        let key = profile::key_from_seed(&s)?;
        let serial = serial_from(&l);
        let v = Validity { not_before, not_after, serial: SerialNumber::from(serial.clone()) };
        let issuer_ref = Issuer::from_ca_cert_der(&CertificateDer::from(ca.cert_der.as_slice()), &ca.key)?;
        let localhost: [IpAddr; 1] = [IpAddr::from([127, 0, 0, 1])];
        let (dns, ips): (&[String], &[IpAddr]) =
            if kind == LeafKind::TlsServer { (&[], &localhost) } else { (&[], &[]) };
        let cert = profile::make_leaf(identity, kind, &key, &issuer_ref, &v, dns, ips)?;
        let key_pkcs8 = ed25519_dalek::SigningKey::from_bytes(&s)
            .to_pkcs8_der()
            .map_err(|e| CertsError::Invalid(Msg::of_error(&e)))?
            .as_bytes()
            .to_vec();
        Ok(FixtureLeaf { identity: identity.clone(), seed: s, key_pkcs8, cert_der: cert.der().to_vec(), serial })
    }

    /// A CRL of authority `a` listing `revoked` serials, numbered `number`, issued at base
    /// and valid for 7 days.
    pub fn crl(&self, a: Authority, revoked: &[&[u8]], number: u64) -> Result<Vec<u8>, CertsError> {
        let ca = self.ca(a)?;
        let issuer = Issuer::from_ca_cert_der(&CertificateDer::from(ca.cert_der.as_slice()), &ca.key)?;
        let params = CertificateRevocationListParams {
            this_update: self.base,
            next_update: self.base + Duration::days(7),
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(s.to_vec()),
                    revocation_time: self.base,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&issuer)?.der().to_vec())
    }

    /// A trust store with every fixture root and an empty CRL for each.
    pub fn trust_store(&self) -> Result<TrustStore, CertsError> {
        let mut t = TrustStore::new();
        for (a, ca) in &self.cas {
            t.add_root(*a, &ca.cert_der).map_err(|e| CertsError::Invalid(Msg::of_error(&e)))?;
            let crl = self.crl(*a, &[], 1)?;
            t.set_crl(*a, &crl).map_err(|e| CertsError::Invalid(Msg::of_error(&e)))?;
        }
        Ok(t)
    }
}
