//! Certificates and trust: who signed, and does the signer's certificate chain to the
//! right authority's root, unrevoked, with the right usage, at a given time.
//!
//! Chain building, validity, EKU and CRL checks are rustls-webpki's; this module adds the
//! tiprelay profile on top: exactly one `tiprelay://` URI SAN, an Ed25519 key,
//! digitalSignature key usage, and the rule that an authority's root certifies only that
//! authority's identities.

use std::collections::BTreeMap;

use rustls_pki_types::{CertificateDer, TrustAnchor};
use webpki::{EndEntityCert, KeyUsage, OwnedCertRevocationList};
use x509_parser::prelude::*;

use crate::error::ProtoError;
use crate::ids::{Authority, Digest, PrincipalId};
use crate::limits::OID_KP_DOCUMENT_SIGNING;
use crate::time::Timestamp;

/// OID of Ed25519 public keys (RFC 8410).
const OID_ED25519: &str = "1.3.101.112";

/// What a certificate is for, by its extended key usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertUsage {
    /// Signs tiprelay messages (EKU id-kp-documentSigning).
    Signing,
    /// Authenticates a client in TLS (EKU id-kp-clientAuth).
    TlsClient,
    /// Authenticates the relay in TLS (EKU id-kp-serverAuth).
    TlsServer,
}

impl CertUsage {
    fn webpki(self) -> KeyUsage {
        match self {
            Self::Signing => KeyUsage::required(OID_KP_DOCUMENT_SIGNING),
            Self::TlsClient => KeyUsage::client_auth(),
            Self::TlsServer => KeyUsage::server_auth(),
        }
    }
}

/// The role a certificate plays, as read from its extensions (for display).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRole {
    /// A root CA (basicConstraints cA = true).
    Ca,
    /// A message-signing certificate.
    Signing,
    /// A TLS client certificate.
    TlsClient,
    /// A TLS server certificate.
    TlsServer,
    /// A federated relay's TLS certificate: server, and client towards its peer relay.
    TlsPeerRelay,
    /// Anything else.
    Other,
}

impl CertRole {
    /// A short description.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ca => "certificate authority",
            Self::Signing => "message signing (id-kp-documentSigning)",
            Self::TlsClient => "TLS client (id-kp-clientAuth)",
            Self::TlsServer => "TLS server (id-kp-serverAuth)",
            Self::TlsPeerRelay => "TLS server and client of a federated relay (id-kp-serverAuth, id-kp-clientAuth)",
            Self::Other => "other",
        }
    }
}

/// A readable summary of a certificate.
#[derive(Debug, Clone)]
pub struct CertSummary {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// The `tiprelay://` identity, if the certificate carries exactly one valid URI SAN.
    pub identity: Option<PrincipalId>,
    /// Role by extensions.
    pub role: CertRole,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// Serial number, hex.
    pub serial_hex: String,
    /// SHA-256 of the DER.
    pub fingerprint: Digest,
    /// DNS and IP subject alternative names (relay server certificates).
    pub other_names: Vec<String>,
    /// The raw 32-byte Ed25519 public key, if the key is Ed25519.
    pub ed25519_public_key: Option<[u8; 32]>,
}

/// Why bytes could not be summarized as a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertSummaryError {
    /// Not a DER X.509 certificate.
    #[error("not an X.509 certificate: {0}")]
    NotX509(String),
    /// A certificate followed by more bytes.
    #[error("trailing bytes after the certificate")]
    TrailingBytes,
}

/// Parses a certificate into a [`CertSummary`]; never panics on any input.
pub fn summarize_certificate(der: &[u8]) -> Result<CertSummary, CertSummaryError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| CertSummaryError::NotX509(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertSummaryError::TrailingBytes);
    }
    let mut uris = Vec::new();
    let mut other_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::URI(u) => uris.push(*u),
                GeneralName::DNSName(d) => other_names.push(format!("DNS:{d}")),
                GeneralName::IPAddress(ip) => other_names.push(match ip.len() {
                    4 => format!("IP:{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]),
                    _ => format!("IP:{}", hex_lower(ip)),
                }),
                _ => {}
            }
        }
    }
    let identity = match uris.as_slice() {
        [one] => one.parse().ok(),
        _ => None,
    };
    let is_ca = cert.is_ca();
    let eku = cert.extended_key_usage().ok().flatten().map(|e| e.value.clone());
    let role = if is_ca {
        CertRole::Ca
    } else if let Some(eku) = &eku {
        if eku.other.iter().any(|o| o.to_id_string() == crate::limits::OID_KP_DOCUMENT_SIGNING_DOTTED) {
            CertRole::Signing
        } else if eku.client_auth && eku.server_auth {
            CertRole::TlsPeerRelay
        } else if eku.client_auth {
            CertRole::TlsClient
        } else if eku.server_auth {
            CertRole::TlsServer
        } else {
            CertRole::Other
        }
    } else {
        CertRole::Other
    };
    let spki = cert.public_key();
    let ed25519_public_key = (spki.algorithm.algorithm.to_id_string() == OID_ED25519)
        .then(|| <[u8; 32]>::try_from(&*spki.subject_public_key.data).ok())
        .flatten();
    Ok(CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        identity,
        role,
        not_before: Timestamp::from_unix_seconds(cert.validity().not_before.timestamp()),
        not_after: Timestamp::from_unix_seconds(cert.validity().not_after.timestamp()),
        serial_hex: hex_lower(cert.raw_serial()),
        fingerprint: Digest::of(der),
        other_names,
        ed25519_public_key,
    })
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What the profile check learns about an end-entity certificate.
struct Profiled {
    identity: PrincipalId,
    key: [u8; 32],
    not_before: Timestamp,
    not_after: Timestamp,
}

/// Checks the tiprelay end-entity profile for `usage` and returns the identity and key.
fn check_profile(der: &[u8], usage: CertUsage) -> Result<Profiled, ProtoError> {
    let bad = |s: &str| ProtoError::BadCertificate(s.to_owned());
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| bad("not a DER X.509 certificate"))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|_| bad("malformed subjectAltName"))?
        .ok_or_else(|| bad("no subjectAltName: a principal certificate carries one tiprelay:// URI"))?;
    let uris: Vec<&str> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(u) => Some(*u),
            _ => None,
        })
        .collect();
    let [uri] = uris.as_slice() else {
        return Err(bad("a principal certificate must carry exactly one URI SAN"));
    };
    let identity: PrincipalId = uri.parse().map_err(|e| ProtoError::BadCertificate(format!("{e}")))?;
    if cert.is_ca() {
        return Err(bad("a CA certificate cannot act as a principal"));
    }
    let spki = cert.public_key();
    if spki.algorithm.algorithm.to_id_string() != OID_ED25519 {
        return Err(bad("the key is not Ed25519"));
    }
    let key: [u8; 32] = (&*spki.subject_public_key.data).try_into().map_err(|_| bad("malformed Ed25519 public key"))?;
    // keyUsage digitalSignature (and not keyCertSign) for every use, and the EKU of the
    // use present: webpki alone would accept a certificate with no EKU extension at all.
    let ku = cert.key_usage().map_err(|_| bad("malformed keyUsage"))?;
    let ku_ok = ku.is_some_and(|k| k.value.digital_signature() && !k.value.key_cert_sign());
    let eku = cert.extended_key_usage().map_err(|_| bad("malformed extendedKeyUsage"))?.map(|e| e.value);
    match usage {
        CertUsage::Signing => {
            let eku_ok = eku.is_some_and(|e| {
                e.other.iter().any(|o| o.to_id_string() == crate::limits::OID_KP_DOCUMENT_SIGNING_DOTTED)
            });
            if !ku_ok || !eku_ok {
                return Err(ProtoError::WrongKeyUsage(identity));
            }
        }
        CertUsage::TlsClient | CertUsage::TlsServer => {
            let (eku_ok, needs_eku) = match usage {
                CertUsage::TlsClient => (eku.is_some_and(|e| e.client_auth), "the clientAuth extended key usage"),
                _ => (eku.is_some_and(|e| e.server_auth), "the serverAuth extended key usage"),
            };
            if !ku_ok {
                return Err(ProtoError::WrongTlsUsage { identity, needs: "the digitalSignature key usage" });
            }
            if !eku_ok {
                return Err(ProtoError::WrongTlsUsage { identity, needs: needs_eku });
            }
        }
    }
    let validity = cert.validity();
    Ok(Profiled {
        identity,
        key,
        not_before: Timestamp::from_unix_seconds(validity.not_before.timestamp()),
        not_after: Timestamp::from_unix_seconds(validity.not_after.timestamp()),
    })
}

/// Most verified certificates remembered by a [`TrustStore`].
const CERT_CACHE_CAPACITY: usize = 4096;

/// A certificate that passed full verification, remembered with its validity window.
#[derive(Clone)]
struct CachedCert {
    cert: VerifiedCert,
    not_before: Timestamp,
    not_after: Timestamp,
}

type CacheKey = (Digest, Authority, u8);

/// A certificate that verified: its identity, key and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCert {
    /// The URI SAN identity, certified by its authority's root.
    pub identity: PrincipalId,
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
    /// The same key, decompressed once when the certificate verified (and cached with it),
    /// so a signature check does not decompress it again.
    pub key: ed25519_dalek::VerifyingKey,
    /// SHA-256 of the certificate DER.
    pub fingerprint: Digest,
}

/// Facts about a loaded CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlInfo {
    /// CRL number (monotonic per CA), if present.
    pub number: Option<u64>,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate: after it the CRL is stale (still used, but callers should warn).
    pub next_update: Option<Timestamp>,
    /// Number of revoked serials listed.
    pub revoked: usize,
}

/// Why a root or CRL could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The root is not a usable self-signed Ed25519 CA certificate.
    #[error("root CA certificate for {authority} rejected: {reason}")]
    BadRoot {
        /// Authority.
        authority: Authority,
        /// Why.
        reason: String,
    },
    /// The CRL does not parse.
    #[error("revocation list for {authority} rejected: {reason}")]
    BadCrl {
        /// Authority.
        authority: Authority,
        /// Why.
        reason: String,
    },
    /// The CRL is for another CA, or its signature does not verify with the root's key.
    #[error("revocation list is not signed by the {0} root CA")]
    CrlWrongIssuer(Authority),
    /// No root for that authority has been added.
    #[error("no root CA is configured for {0}; add it before its CRL")]
    NoRoot(Authority),
    /// The CRL is older than the one already loaded.
    #[error(
        "revocation list for {authority} (number {offered}) is older than one already accepted (number {loaded}); an \
         older CRL could un-revoke certificates: install the newest CRL of that authority"
    )]
    CrlNotNewer {
        /// Authority.
        authority: Authority,
        /// Number offered.
        offered: u64,
        /// Number loaded.
        loaded: u64,
    },
}

struct AuthorityTrust {
    root_der: CertificateDer<'static>,
    anchor: TrustAnchor<'static>,
    crl: Option<(webpki::CertRevocationList<'static>, CrlInfo)>,
}

/// The roots and revocation lists a verifier trusts, per authority. Pure data: loading
/// files is the caller's job.
///
/// Full chain verification (webpki path building plus CRL signature) costs far more than
/// a message signature, so certificates that verified are remembered by digest, authority
/// and usage (DESIGN §9), within their own validity window. Any change of root or CRL
/// empties the cache, so a revocation takes effect on the next verification.
#[derive(Default)]
pub struct TrustStore {
    authorities: BTreeMap<Authority, AuthorityTrust>,
    cache: std::sync::Mutex<std::collections::HashMap<CacheKey, CachedCert>>,
    /// With `Some(g)`, an authority whose CRL is past nextUpdate + g verifies nothing.
    crl_grace_ms: Option<u64>,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.authorities.keys()).finish()
    }
}

impl TrustStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `root_der` as the root CA of `authority` (replacing any earlier root).
    pub fn add_root(&mut self, authority: Authority, root_der: &[u8]) -> Result<(), TrustError> {
        let bad = |reason: &str| TrustError::BadRoot { authority, reason: reason.to_owned() };
        let (rest, cert) = X509Certificate::from_der(root_der).map_err(|_| bad("not a DER X.509 certificate"))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the certificate"));
        }
        if !cert.is_ca() {
            return Err(bad("it is not a CA certificate (basicConstraints cA is not set)"));
        }
        if cert.public_key().algorithm.algorithm.to_id_string() != OID_ED25519 {
            return Err(bad("its key is not Ed25519"));
        }
        if cert.verify_signature(None).is_err() {
            return Err(bad("it is not self-signed"));
        }
        let root_der = CertificateDer::from(root_der.to_vec());
        let anchor = webpki::anchor_from_trusted_cert(&root_der).map_err(|e| bad(&format!("{e:?}")))?.to_owned();
        self.authorities.insert(authority, AuthorityTrust { root_der, anchor, crl: None });
        self.clear_cache();
        Ok(())
    }

    /// Loads the CRL of `authority`: it must be signed by that authority's root, and not be
    /// older (by CRL number) than the one loaded. Returns its facts.
    pub fn set_crl(&mut self, authority: Authority, crl_der: &[u8]) -> Result<CrlInfo, TrustError> {
        let entry = self.authorities.get_mut(&authority).ok_or(TrustError::NoRoot(authority))?;
        let bad = |reason: String| TrustError::BadCrl { authority, reason };
        let (rest, crl) =
            CertificateRevocationList::from_der(crl_der).map_err(|e| bad(format!("not a DER CRL: {e}")))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the CRL".into()));
        }
        let (_, root) =
            X509Certificate::from_der(&entry.root_der).map_err(|_| TrustError::CrlWrongIssuer(authority))?;
        if crl.issuer().as_raw() != root.subject().as_raw() || crl.verify_signature(root.public_key()).is_err() {
            return Err(TrustError::CrlWrongIssuer(authority));
        }
        let number = crl.crl_number().and_then(|n| u64::try_from(n).ok());
        let info = CrlInfo {
            number,
            this_update: Timestamp::from_unix_seconds(crl.last_update().timestamp()),
            next_update: crl.next_update().map(|t| Timestamp::from_unix_seconds(t.timestamp())),
            revoked: crl.iter_revoked_certificates().count(),
        };
        if let Some((_, loaded)) = &entry.crl {
            if let (Some(offered), Some(loaded)) = (info.number, loaded.number) {
                if offered < loaded {
                    return Err(TrustError::CrlNotNewer { authority, offered, loaded });
                }
            }
        }
        let owned = OwnedCertRevocationList::from_der(crl_der).map_err(|e| bad(format!("{e:?}")))?;
        entry.crl = Some((webpki::CertRevocationList::from(owned), info.clone()));
        self.clear_cache();
        Ok(info)
    }

    fn clear_cache(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// Refuses every certificate of an authority whose CRL is past its nextUpdate by more
    /// than `grace` (`None`: a stale CRL is still used; callers warn).
    pub fn set_crl_grace(&mut self, grace: Option<std::time::Duration>) {
        self.crl_grace_ms = grace.map(|g| u64::try_from(g.as_millis()).unwrap_or(u64::MAX));
        self.clear_cache();
    }

    /// Authorities whose CRL is past nextUpdate + the grace at `now` (refused, when a grace
    /// is set).
    pub fn expired_crls(&self, now: Timestamp) -> Vec<(Authority, Timestamp)> {
        let Some(grace) = self.crl_grace_ms else { return Vec::new() };
        self.stale_crls(now)
            .into_iter()
            .filter(|(_, next)| next.as_unix_ms().saturating_add(grace) < now.as_unix_ms())
            .collect()
    }

    /// Checks every loaded CRL against `floor`, the highest CRL number this party has
    /// already accepted for an authority (kept in its store across restarts): a CRL with a
    /// lower number, or with no number where one was seen, would un-revoke certificates.
    /// Returns the CRL numbers to keep as the new floors.
    pub fn check_crl_floors(
        &self,
        floor: impl Fn(Authority) -> Option<u64>,
    ) -> Result<Vec<(Authority, u64)>, TrustError> {
        let mut numbers = Vec::new();
        for (a, t) in &self.authorities {
            let Some((_, info)) = &t.crl else { continue };
            match (info.number, floor(*a)) {
                (Some(n), Some(f)) if n < f => {
                    return Err(TrustError::CrlNotNewer { authority: *a, offered: n, loaded: f })
                }
                (None, Some(f)) => return Err(TrustError::CrlNotNewer { authority: *a, offered: 0, loaded: f }),
                (Some(n), _) => numbers.push((*a, n)),
                (None, None) => {}
            }
        }
        Ok(numbers)
    }

    /// The authorities with a root.
    pub fn authorities(&self) -> impl Iterator<Item = Authority> + '_ {
        self.authorities.keys().copied()
    }

    /// The loaded CRL's facts for `authority`.
    pub fn crl_info(&self, authority: Authority) -> Option<&CrlInfo> {
        self.authorities.get(&authority)?.crl.as_ref().map(|(_, i)| i)
    }

    /// Authorities whose CRL is past its nextUpdate at `now` (callers warn about these).
    pub fn stale_crls(&self, now: Timestamp) -> Vec<(Authority, Timestamp)> {
        self.authorities
            .iter()
            .filter_map(|(a, t)| {
                let next = t.crl.as_ref()?.1.next_update?;
                (next < now).then_some((*a, next))
            })
            .collect()
    }

    /// Verifies an end-entity certificate (with optional intermediates) for `usage`, as an
    /// identity of `authority`, at `now`: profile, authority binding, chain to that
    /// authority's root, validity, EKU, and revocation (a CRL must be loaded).
    pub fn verify_cert(
        &self,
        der: &[u8],
        intermediates: &[&[u8]],
        authority: Authority,
        usage: CertUsage,
        now: Timestamp,
    ) -> Result<VerifiedCert, ProtoError> {
        if let (Some(grace), Some(next)) = (self.crl_grace_ms, self.crl_info(authority).and_then(|i| i.next_update)) {
            if next.as_unix_ms().saturating_add(grace) < now.as_unix_ms() {
                return Err(ProtoError::CrlStale { authority, next_update: next, grace_hours: grace / 3_600_000 });
            }
        }
        if !intermediates.is_empty() {
            // v1 issues no intermediates: every principal is certified by its root directly.
            // (Refusing them also keeps each verification one cached chain check.)
            let identity = check_profile(der, usage)?.identity;
            return Err(ProtoError::UntrustedChain {
                identity,
                authority,
                reason: "it comes with intermediate certificates; tiprelay v1 allows only certificates issued \
                         directly by the jurisdiction's root"
                    .into(),
            });
        }
        let key: Option<CacheKey> = Some((Digest::of(der), authority, usage as u8));
        if let (Some(k), Ok(cache)) = (&key, self.cache.lock()) {
            if let Some(hit) = cache.get(k) {
                if hit.not_before <= now && now <= hit.not_after {
                    return Ok(hit.cert.clone());
                }
            }
        }
        let Profiled { identity, key: public_key, not_before, not_after } = check_profile(der, usage)?;
        if identity.authority() != authority {
            return Err(ProtoError::WrongAuthority {
                kind: "message",
                found: identity.authority(),
                identity,
                expected: authority,
            });
        }
        let trust = self.authorities.get(&authority).ok_or(ProtoError::UnknownAuthority(authority))?;
        let Some((crl, _)) = &trust.crl else {
            return Err(ProtoError::RevocationUnknown(authority));
        };
        let ee_der = CertificateDer::from(der);
        let ee = EndEntityCert::try_from(&ee_der).map_err(|e| ProtoError::BadCertificate(format!("{e}")))?;
        let inter: Vec<CertificateDer<'_>> = intermediates.iter().map(|d| CertificateDer::from(*d)).collect();
        let crls = [crl];
        let revocation = webpki::RevocationOptionsBuilder::new(&crls)
            .map_err(|_| ProtoError::RevocationUnknown(authority))?
            .with_depth(webpki::RevocationCheckDepth::Chain)
            .with_status_policy(webpki::UnknownStatusPolicy::Deny)
            .with_expiration_policy(webpki::ExpirationPolicy::Ignore)
            .build();
        let anchors = [trust.anchor.clone()];
        let result = ee.verify_for_usage(
            &[webpki::ring::ED25519],
            &anchors,
            &inter,
            now.to_unix_time(),
            usage.webpki(),
            Some(revocation),
            None,
        );
        match result {
            Ok(_) => {
                let key_point = ed25519_dalek::VerifyingKey::from_bytes(&public_key)
                    .map_err(|_| ProtoError::BadCertificate("the certified key is not a valid Ed25519 point".into()))?;
                let cert = VerifiedCert { identity, public_key, key: key_point, fingerprint: Digest::of(der) };
                if let (Some(k), Ok(mut cache)) = (key, self.cache.lock()) {
                    if cache.len() >= CERT_CACHE_CAPACITY {
                        cache.clear();
                    }
                    cache.insert(k, CachedCert { cert: cert.clone(), not_before, not_after });
                }
                Ok(cert)
            }
            Err(e) => Err(map_webpki_error(e, identity, authority, now)),
        }
    }
}

fn map_webpki_error(e: webpki::Error, identity: PrincipalId, authority: Authority, at: Timestamp) -> ProtoError {
    use webpki::Error as W;
    match e {
        W::CertExpired { .. } => ProtoError::CertificateNotValidNow { identity, at, reason: "expired" },
        W::CertNotValidYet { .. } => ProtoError::CertificateNotValidNow { identity, at, reason: "not yet valid" },
        W::CertRevoked => ProtoError::Revoked(identity),
        W::UnknownRevocationStatus => ProtoError::RevocationUnknown(authority),
        W::RequiredEkuNotFoundContext(_) => ProtoError::WrongKeyUsage(identity),
        W::UnknownIssuer => ProtoError::UntrustedChain {
            identity,
            authority,
            reason: format!("it was not issued by the {authority} root CA"),
        },
        other => ProtoError::UntrustedChain { identity, authority, reason: format!("{other}") },
    }
}
