//! Certificates and trust: who signed, and does the signer's certificate chain to the
//! right authority's root, unrevoked, with the right usage, at a given time.
//!
//! Chain building, validity, EKU and CRL checks are rustls-webpki's; this module adds the
//! tiprelay profile on top: exactly one `tiprelay://` URI SAN, an Ed25519 key,
//! digitalSignature key usage, and the rule that an authority's root certifies only that
//! authority's identities.
//!
//! Revocation is judged as RFC 5280 §5.3.2 has it: a certificate stops vouching for
//! signatures from its revocation time on. A signature proven to exist earlier, by a
//! relay's signed receipt of the message, stays valid (see [`TrustStore::as_of_receipt`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
    /// The serial number's DER content octets, as a CRL lists them.
    serial: Vec<u8>,
    /// The issuer name (raw DER), to pick the root among an authority's roots.
    issuer: Vec<u8>,
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
        serial: cert.raw_serial().to_vec(),
        issuer: cert.issuer().as_raw().to_vec(),
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
    /// When the certificate was revoked, for one that verified only as of a receipt's
    /// proven time before that (never served to a verification without one).
    revoked_at: Option<Timestamp>,
    /// Which of its authority's roots issued it (the index is stable until the roots
    /// change, and every change empties the cache).
    root: usize,
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

/// Most roots one authority may have at once: the one in use and its successor during a
/// rollover (PROTOCOL §6.4), with room for a rollover that overlaps another.
pub const MAX_ROOTS_PER_AUTHORITY: usize = 4;

/// One root CA certificate of an authority and its revocation list.
#[derive(Clone)]
struct RootTrust {
    root_der: CertificateDer<'static>,
    anchor: TrustAnchor<'static>,
    /// The subject name (raw DER): the issuer name of what it certifies, and of its CRL.
    subject: Vec<u8>,
    fingerprint: Digest,
    crl: Option<(Arc<webpki::CertRevocationList<'static>>, CrlInfo)>,
    /// The loaded CRL as it came (DER), for [`TrustStore::anchors`].
    crl_der: Option<Arc<[u8]>>,
    /// The loaded CRL's entries: serial (DER content octets) → when the certificate stopped
    /// vouching for signatures ([`revocation_time`]).
    revoked: Arc<HashMap<Vec<u8>, Timestamp>>,
}

/// An authority's roots: one, or two side by side during a CA rollover, each with its own
/// subject name and its own CRL.
#[derive(Clone, Default)]
struct AuthorityTrust {
    roots: Vec<RootTrust>,
}

/// Which root's CRL a CRL number belongs to: CRL numbers are monotonic per CA, so an
/// authority with two roots has two sequences.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrlScope {
    /// The authority.
    pub authority: Authority,
    /// SHA-256 of the root certificate that signs the CRL.
    pub root: Digest,
    /// Whether it is the authority's only root (a CRL number kept from before roots were
    /// told apart belongs to it).
    pub sole: bool,
}

/// When a CRL entry says its certificate stopped vouching for signatures: its
/// revocationDate (RFC 5280 §5.3.2), or the invalidityDate extension when that is earlier
/// (the key is known or suspected compromised since), and never later than the CRL's
/// thisUpdate (a CA cannot date a revocation after the list that publishes it).
pub fn revocation_time(
    revocation_date: Timestamp,
    invalidity_date: Option<Timestamp>,
    this_update: Timestamp,
) -> Timestamp {
    invalidity_date.map_or(revocation_date, |i| i.min(revocation_date)).min(this_update)
}

/// Whether a certificate that stopped vouching at `revoked` still vouches for a signature
/// proven to exist at `proven`: only if it was revoked strictly after that time.
pub fn vouches_at(revoked: Timestamp, proven: Timestamp) -> bool {
    proven < revoked
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
    /// Shared with the stores [`TrustStore::as_of_receipt`] makes (copied on change).
    authorities: Arc<BTreeMap<Authority, AuthorityTrust>>,
    cache: std::sync::Mutex<HashMap<CacheKey, CachedCert>>,
    /// With `Some(g)`, an authority whose CRL is past nextUpdate + g verifies nothing.
    crl_grace_ms: Option<u64>,
    /// `Some(t)`: what this store verifies was proven, by a relay's signed receipt, to exist
    /// at `t`, so a certificate revoked strictly after `t` still vouches for it.
    proven_at: Option<Timestamp>,
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

    /// Trusts `root_der` as a root CA of `authority`, beside any it already has (a CA
    /// rollover trusts the old and the new root side by side, PROTOCOL §6.4). Adding a root
    /// already trusted changes nothing. Two roots of one authority must have different
    /// subject names (what a certificate or a CRL names as its issuer picks the root), and
    /// an authority has at most [`MAX_ROOTS_PER_AUTHORITY`].
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
        let subject = cert.subject().as_raw().to_vec();
        let fingerprint = Digest::of(root_der);
        let roots = &Arc::make_mut(&mut self.authorities).entry(authority).or_default().roots;
        if roots.iter().any(|r| r.fingerprint == fingerprint) {
            return Ok(());
        }
        if roots.iter().any(|r| r.subject == subject) {
            return Err(bad(
                "another root of this authority has the same subject name; a rollover root needs a name of its own",
            ));
        }
        if roots.len() >= MAX_ROOTS_PER_AUTHORITY {
            return Err(bad("the authority already has the most roots allowed at once (4)"));
        }
        let root_der = CertificateDer::from(root_der.to_vec());
        let anchor = webpki::anchor_from_trusted_cert(&root_der).map_err(|e| bad(&format!("{e:?}")))?.to_owned();
        let entry =
            RootTrust { root_der, anchor, subject, fingerprint, crl: None, crl_der: None, revoked: Arc::default() };
        if let Some(t) = Arc::make_mut(&mut self.authorities).get_mut(&authority) {
            t.roots.push(entry);
        }
        self.clear_cache();
        Ok(())
    }

    /// Loads a CRL of `authority`: it must be signed by one of that authority's roots (the
    /// one it names as issuer), and not be older (by CRL number) than the one loaded for
    /// that root. Returns its facts.
    pub fn set_crl(&mut self, authority: Authority, crl_der: &[u8]) -> Result<CrlInfo, TrustError> {
        let trust = Arc::make_mut(&mut self.authorities).get_mut(&authority).ok_or(TrustError::NoRoot(authority))?;
        let bad = |reason: String| TrustError::BadCrl { authority, reason };
        let (rest, crl) =
            CertificateRevocationList::from_der(crl_der).map_err(|e| bad(format!("not a DER CRL: {e}")))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the CRL".into()));
        }
        let entry = trust
            .roots
            .iter_mut()
            .find(|r| r.subject == crl.issuer().as_raw())
            .ok_or(TrustError::CrlWrongIssuer(authority))?;
        let (_, root) =
            X509Certificate::from_der(&entry.root_der).map_err(|_| TrustError::CrlWrongIssuer(authority))?;
        if crl.verify_signature(root.public_key()).is_err() {
            return Err(TrustError::CrlWrongIssuer(authority));
        }
        let number = crl.crl_number().and_then(|n| u64::try_from(n).ok());
        let this_update = Timestamp::from_unix_seconds(crl.last_update().timestamp());
        let mut revoked = HashMap::new();
        for r in crl.iter_revoked_certificates() {
            let at = revocation_time(
                Timestamp::from_unix_seconds(r.revocation_date.timestamp()),
                r.invalidity_date().map(|(_, t)| Timestamp::from_unix_seconds(t.timestamp())),
                this_update,
            );
            // A serial listed twice counts from its earliest date.
            revoked.entry(r.raw_serial().to_vec()).and_modify(|e: &mut Timestamp| *e = (*e).min(at)).or_insert(at);
        }
        let info = CrlInfo {
            number,
            this_update,
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
        entry.crl = Some((Arc::new(webpki::CertRevocationList::from(owned)), info.clone()));
        entry.revoked = Arc::new(revoked);
        entry.crl_der = Some(Arc::from(crl_der));
        self.clear_cache();
        Ok(info)
    }

    /// The common names (or, lacking one, the whole subjects) of the roots of `authority`
    /// that have no CRL loaded: a certificate they issued cannot be checked for revocation,
    /// so loaders refuse such a configuration.
    pub fn roots_without_crl(&self, authority: Authority) -> Vec<String> {
        let Some(t) = self.authorities.get(&authority) else { return Vec::new() };
        t.roots
            .iter()
            .filter(|r| r.crl.is_none())
            .map(|r| {
                X509Certificate::from_der(&r.root_der).map_or_else(
                    |_| r.fingerprint.to_hex(),
                    |(_, c)| {
                        c.subject()
                            .iter_common_name()
                            .next()
                            .and_then(|cn| cn.as_str().ok().map(str::to_owned))
                            .unwrap_or_else(|| c.subject().to_string())
                    },
                )
            })
            .collect()
    }

    /// Every root (DER) with its CRL (DER) if one is loaded, by authority, in the order
    /// they were added: what an audit bundle carries as its anchors.
    pub fn anchors(&self) -> Vec<(Authority, Vec<u8>, Option<Vec<u8>>)> {
        self.authorities
            .iter()
            .flat_map(|(a, t)| {
                t.roots.iter().map(move |r| (*a, r.root_der.to_vec(), r.crl_der.as_deref().map(<[u8]>::to_vec)))
            })
            .collect()
    }

    /// The root certificates (DER) of `authority`, in the order they were added.
    pub fn roots(&self, authority: Authority) -> Vec<&[u8]> {
        self.authorities
            .get(&authority)
            .map(|t| t.roots.iter().map(|r| r.root_der.as_ref()).collect())
            .unwrap_or_default()
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

    /// The CRL numbers of every loaded CRL that has one, each with its scope (authority
    /// and root).
    pub fn crl_numbers(&self) -> Vec<(CrlScope, Option<u64>)> {
        let mut out = Vec::new();
        for (a, t) in self.authorities.iter() {
            for r in &t.roots {
                if let Some((_, info)) = &r.crl {
                    out.push((CrlScope { authority: *a, root: r.fingerprint, sole: t.roots.len() == 1 }, info.number));
                }
            }
        }
        out
    }

    /// Checks every loaded CRL against `floor`, the highest CRL number this party has
    /// already accepted for that root's CRLs (kept in its store across restarts): a CRL
    /// with a lower number, or with no number where one was seen, would un-revoke
    /// certificates. Returns the CRL numbers to keep as the new floors.
    pub fn check_crl_floors(
        &self,
        floor: impl Fn(&CrlScope) -> Option<u64>,
    ) -> Result<Vec<(CrlScope, u64)>, TrustError> {
        let mut numbers = Vec::new();
        for (scope, number) in self.crl_numbers() {
            let authority = scope.authority;
            match (number, floor(&scope)) {
                (Some(n), Some(f)) if n < f => {
                    return Err(TrustError::CrlNotNewer { authority, offered: n, loaded: f })
                }
                (None, Some(f)) => return Err(TrustError::CrlNotNewer { authority, offered: 0, loaded: f }),
                (Some(n), _) => numbers.push((scope, n)),
                (None, None) => {}
            }
        }
        Ok(numbers)
    }

    /// The same roots, CRLs and grace, for verifying a message a relay's signed receipt
    /// proves existed at `accepted` (the receipt's acceptance time, verified by the caller):
    /// a certificate revoked strictly after `accepted` still vouches for it (RFC 5280
    /// §5.3.2); one revoked at or before `accepted` is refused with
    /// [`ProtoError::RevokedBefore`], and one the CRL lists with no usable date stays
    /// refused. Chain and validity are judged at the time the caller verifies at, which
    /// should be `accepted`. Everything else (TLS, signing, a relay's acceptance) uses the
    /// store itself, where a listed certificate is refused whatever the time.
    pub fn as_of_receipt(&self, accepted: Timestamp) -> TrustStore {
        TrustStore {
            authorities: Arc::clone(&self.authorities),
            cache: std::sync::Mutex::default(),
            crl_grace_ms: self.crl_grace_ms,
            proven_at: Some(accepted),
        }
    }

    /// The proven time of a store made by [`TrustStore::as_of_receipt`].
    pub fn proven_at(&self) -> Option<Timestamp> {
        self.proven_at
    }

    /// When the loaded CRL of `authority` says the certificate `der` stopped vouching for
    /// signatures ([`revocation_time`]); None when it is not listed (or does not parse). The
    /// CRL is that of the root that issued it.
    pub fn revoked_at(&self, der: &[u8], authority: Authority) -> Option<Timestamp> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let t = self.authorities.get(&authority)?;
        let root = t.roots.iter().find(|r| r.subject == cert.issuer().as_raw())?;
        root.revoked.get(cert.raw_serial()).copied()
    }

    /// The authorities with a root.
    pub fn authorities(&self) -> impl Iterator<Item = Authority> + '_ {
        self.authorities.keys().copied()
    }

    /// The loaded CRLs' facts for `authority`, one per root that has its CRL.
    pub fn crl_infos(&self, authority: Authority) -> Vec<&CrlInfo> {
        self.authorities
            .get(&authority)
            .map(|t| t.roots.iter().filter_map(|r| r.crl.as_ref().map(|(_, i)| i)).collect())
            .unwrap_or_default()
    }

    /// The CRLs past their nextUpdate at `now`, by authority (callers warn about these; an
    /// authority with two roots may appear twice).
    pub fn stale_crls(&self, now: Timestamp) -> Vec<(Authority, Timestamp)> {
        self.authorities
            .iter()
            .flat_map(|(a, t)| t.roots.iter().map(move |r| (*a, r)))
            .filter_map(|(a, r)| {
                let next = r.crl.as_ref()?.1.next_update?;
                (next < now).then_some((a, next))
            })
            .collect()
    }

    /// `Err(CrlStale)` when a grace is set and `root`'s CRL is past nextUpdate + grace.
    fn check_crl_grace(&self, authority: Authority, root: &RootTrust, now: Timestamp) -> Result<(), ProtoError> {
        if let (Some(grace), Some(next)) = (self.crl_grace_ms, root.crl.as_ref().and_then(|(_, i)| i.next_update)) {
            if next.as_unix_ms().saturating_add(grace) < now.as_unix_ms() {
                return Err(ProtoError::CrlStale { authority, next_update: next, grace_hours: grace / 3_600_000 });
            }
        }
        Ok(())
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
                if let Some(root) = self.authorities.get(&authority).and_then(|t| t.roots.get(hit.root)) {
                    self.check_crl_grace(authority, root, now)?;
                }
                let vouches = hit.revoked_at.is_none_or(|r| self.proven_at.is_some_and(|p| vouches_at(r, p)));
                if hit.not_before <= now && now <= hit.not_after && vouches {
                    return Ok(hit.cert.clone());
                }
            }
        }
        let Profiled { identity, key: public_key, not_before, not_after, serial, issuer } = check_profile(der, usage)?;
        if identity.authority() != authority {
            return Err(ProtoError::WrongAuthority {
                kind: "message",
                found: identity.authority(),
                identity,
                expected: authority,
            });
        }
        let authority_trust = self.authorities.get(&authority).ok_or(ProtoError::UnknownAuthority(authority))?;
        // The root it names as issuer: an authority's roots have distinct subject names.
        let Some((root_index, trust)) = authority_trust.roots.iter().enumerate().find(|(_, r)| r.subject == issuer)
        else {
            return Err(map_webpki_error(webpki::Error::UnknownIssuer, identity, authority, now));
        };
        self.check_crl_grace(authority, trust, now)?;
        let Some((crl, _)) = &trust.crl else {
            return Err(ProtoError::RevocationUnknown(authority));
        };
        let ee_der = CertificateDer::from(der);
        let ee = EndEntityCert::try_from(&ee_der).map_err(|e| ProtoError::BadCertificate(format!("{e}")))?;
        let inter: Vec<CertificateDer<'_>> = intermediates.iter().map(|d| CertificateDer::from(*d)).collect();
        let crls = [crl.as_ref()];
        let revocation = webpki::RevocationOptionsBuilder::new(&crls)
            .map_err(|_| ProtoError::RevocationUnknown(authority))?
            .with_depth(webpki::RevocationCheckDepth::Chain)
            .with_status_policy(webpki::UnknownStatusPolicy::Deny)
            .with_expiration_policy(webpki::ExpirationPolicy::Ignore)
            .build();
        let anchors = [trust.anchor.clone()];
        let verify = |revocation| {
            ee.verify_for_usage(
                &[webpki::ring::ED25519],
                &anchors,
                &inter,
                now.to_unix_time(),
                usage.webpki(),
                revocation,
                None,
            )
            .map(|_| ())
        };
        let mut revoked_at = None;
        match verify(Some(revocation)) {
            Ok(()) => {}
            // Listed on the CRL: refused, unless a receipt proves the signature older than
            // the revocation; then the chain, validity and usage are checked once more
            // without the CRL (v1 chains have no intermediates: the end entity is the only
            // certificate a CRL can list).
            Err(webpki::Error::CertRevoked) => {
                let Some(proven) = self.proven_at else {
                    return Err(ProtoError::Revoked(identity));
                };
                match trust.revoked.get(&serial).copied() {
                    Some(r) if vouches_at(r, proven) => {
                        verify(None).map_err(|e| map_webpki_error(e, identity.clone(), authority, now))?;
                        revoked_at = Some(r);
                    }
                    Some(r) => return Err(ProtoError::RevokedBefore { identity, revoked: r, accepted: proven }),
                    None => return Err(ProtoError::Revoked(identity)),
                }
            }
            Err(e) => return Err(map_webpki_error(e, identity, authority, now)),
        }
        let key_point = ed25519_dalek::VerifyingKey::from_bytes(&public_key)
            .map_err(|_| ProtoError::BadCertificate("the certified key is not a valid Ed25519 point".into()))?;
        let cert = VerifiedCert { identity, public_key, key: key_point, fingerprint: Digest::of(der) };
        if let (Some(k), Ok(mut cache)) = (key, self.cache.lock()) {
            if cache.len() >= CERT_CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(k, CachedCert { cert: cert.clone(), not_before, not_after, revoked_at, root: root_index });
        }
        Ok(cert)
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_unix_ms(ms).unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn a_signature_proven_before_the_revocation_still_counts_and_one_at_or_after_does_not() {
        let revoked = t(1_800_000_000_000);
        assert!(vouches_at(revoked, t(1_799_999_999_999)));
        assert!(!vouches_at(revoked, revoked), "revoked at the proven instant: refused");
        assert!(!vouches_at(revoked, t(1_800_000_000_001)));
    }

    #[test]
    fn the_revocation_time_is_the_earliest_of_its_dates() {
        let (rev, inv, this) = (t(2_000_000), t(1_000_000), t(3_000_000));
        assert_eq!(revocation_time(rev, None, this), rev);
        // An invalidityDate (key compromised since) earlier than the revocationDate wins.
        assert_eq!(revocation_time(rev, Some(inv), this), inv);
        // One later than the revocationDate changes nothing.
        assert_eq!(revocation_time(rev, Some(t(2_500_000)), this), rev);
        // A revocationDate after the CRL's own thisUpdate is capped at thisUpdate.
        assert_eq!(revocation_time(t(4_000_000), None, this), this);
    }

    #[test]
    fn a_store_as_of_a_receipt_keeps_the_roots_and_says_its_time() {
        let plain = TrustStore::new();
        assert_eq!(plain.proven_at(), None);
        let at = plain.as_of_receipt(t(5_000));
        assert_eq!(at.proven_at(), Some(t(5_000)));
        assert_eq!(at.authorities().count(), 0);
        assert_eq!(plain.revoked_at(b"not a certificate", Authority::Operator), None);
    }

    proptest! {
        #[test]
        fn vouching_is_exactly_proven_strictly_before_the_earliest_date(
            rev in 0u64..=Timestamp::MAX_MS,
            inv in proptest::option::of(0u64..=Timestamp::MAX_MS),
            this in 0u64..=Timestamp::MAX_MS,
            proven in 0u64..=Timestamp::MAX_MS,
        ) {
            let r = revocation_time(t(rev), inv.map(t), t(this));
            let earliest = inv.map_or(rev, |i| i.min(rev)).min(this);
            prop_assert_eq!(r.as_unix_ms(), earliest);
            prop_assert_eq!(vouches_at(r, t(proven)), proven < earliest);
        }
    }
}
