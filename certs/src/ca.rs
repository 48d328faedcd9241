//! A CA directory: one authority's root key, certificate, issuance record and revocations.
//!
//! ```text
//! DIR/ca.crt       root certificate (PEM): public, the only thing that crosses the border
//! DIR/ca.key       root private key (PKCS#8 PEM, mode 0600): never leaves this machine
//! DIR/ca.toml      authority, CRL number, issued certificates, revoked serials
//! DIR/crl.pem      the current CRL (rewritten by init-ca, revoke and crl)
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevokedCertParams, SerialNumber};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tiprelay_common::pkcs11::{KeyUri, TokenKey, TokenKeyConfig};
use tiprelay_proto::{Authority, PrincipalId, PrincipalKind};

use crate::error::CertsError;
use crate::fsutil::{self, Staging, PUBLIC_MODE, SECRET_MODE};
use crate::profile::{self, LeafKind, Validity};
use tiprelay_common::localize::Msg;

/// Default lifetime of a root CA: 10 years.
pub const DEFAULT_CA_DAYS: i64 = 3650;
/// Default lifetime of an end-entity certificate: 1 year.
pub const DEFAULT_LEAF_DAYS: i64 = 365;
/// Default CRL lifetime (nextUpdate − thisUpdate): 7 days.
pub const DEFAULT_CRL_DAYS: i64 = 7;

/// The state file `ca.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaState {
    /// `MX`, `US`, … or `OPERATOR`.
    pub authority: String,
    /// Number of the last CRL written (0 before the first).
    pub crl_number: u64,
    /// Every certificate issued, oldest first.
    #[serde(default)]
    pub issued: Vec<IssuedRecord>,
    /// Every revocation, oldest first.
    #[serde(default)]
    pub revoked: Vec<RevokedRecord>,
    /// The root's generation: 1 for an authority's first root, one more for each rollover
    /// root (`init-ca --successor-of`). Absent in CAs made before rollovers: 1.
    #[serde(default = "first_generation")]
    pub generation: u32,
    /// The root key lives in a PKCS#11 token (`init-ca --key-uri`); there is no `ca.key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<CaToken>,
}

/// Where a CA's root key is when it lives in a PKCS#11 token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaToken {
    /// The key's PKCS#11 URI (RFC 7512): `pkcs11:token=…;object=…`.
    pub key_uri: String,
    /// The token's PKCS#11 library.
    pub module: PathBuf,
    /// The file with the token's user PIN (owner-only); none for a token without login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_file: Option<PathBuf>,
}

impl CaToken {
    fn config(&self) -> Result<TokenKeyConfig, CertsError> {
        let uri = KeyUri::parse(&self.key_uri).map_err(CertsError::Invalid)?;
        Ok(TokenKeyConfig { uri, module: self.module.clone(), pin_file: self.pin_file.clone() })
    }
}

/// The subject key of a certificate being issued: a new key pair, or a public key alone.
enum SubjectKey {
    New(Box<KeyPair>),
    Public(rcgen::SubjectPublicKeyInfo),
}

impl rcgen::PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        match self {
            SubjectKey::New(k) => k.der_bytes(),
            SubjectKey::Public(p) => p.der_bytes(),
        }
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            SubjectKey::New(k) => k.algorithm(),
            SubjectKey::Public(p) => p.algorithm(),
        }
    }
}

/// A CA's root signing key: a key file (`ca.key`), or a key in a PKCS#11 token that never
/// leaves it (every certificate and CRL is signed by the token).
pub enum CaKey {
    /// From `ca.key`.
    File(KeyPair),
    /// In a token.
    Token {
        /// The open key.
        key: TokenKey,
        /// Its public key (raw Ed25519).
        public: [u8; 32],
    },
}

impl CaKey {
    fn open_token(token: &CaToken) -> Result<Self, CertsError> {
        let key = TokenKey::open(&token.config()?).map_err(|e| CertsError::Invalid(e.msg()))?;
        let public = tiprelay_proto::envelope::ExternalKey::public_key(&key);
        Ok(CaKey::Token { key, public })
    }

    /// The raw Ed25519 public key.
    pub fn public_key_raw(&self) -> &[u8] {
        match self {
            CaKey::File(k) => k.public_key_raw(),
            CaKey::Token { public, .. } => public,
        }
    }
}

impl rcgen::PublicKeyData for CaKey {
    fn der_bytes(&self) -> &[u8] {
        self.public_key_raw()
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

impl rcgen::SigningKey for CaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            CaKey::File(k) => rcgen::SigningKey::sign(k, msg),
            CaKey::Token { key, .. } => tiprelay_proto::envelope::ExternalKey::sign(key, msg)
                .map(|s| s.to_vec())
                .map_err(|_| rcgen::Error::RemoteKeyError),
        }
    }
}

fn first_generation() -> u32 {
    1
}

/// One issued certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedRecord {
    /// Serial, hex.
    pub serial: String,
    /// Identity URI.
    pub identity: String,
    /// `tls-client`, `signing` or `tls-server`.
    pub role: String,
    /// SHA-256 of the DER, hex.
    pub fingerprint: String,
    /// RFC 3339.
    pub not_after: String,
}

/// One revocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedRecord {
    /// Serial, hex.
    pub serial: String,
    /// Identity URI.
    pub identity: String,
    /// When (RFC 3339).
    pub revoked_at: String,
}

/// One certificate a renewal replaces (left as it is: not revoked).
#[derive(Debug, Clone)]
pub struct OldCert {
    /// Its file.
    pub path: PathBuf,
    /// Serial, hex.
    pub serial: String,
    /// notAfter: until then it keeps verifying (and old signatures with it).
    pub not_after: tiprelay_proto::Timestamp,
}

/// What [`Ca::renew`] made.
#[derive(Debug, Clone)]
pub struct Renewed {
    /// The identity, the same as the old certificates'.
    pub identity: PrincipalId,
    /// Whether it is a relay's (TLS server certificate with DNS and IP names).
    pub relay: bool,
    /// The new directory: tls.crt, tls.key, sign.crt, sign.key, ca.crt.
    pub dir: PathBuf,
    /// The directory of the old certificate given (where the new files are to go).
    pub old_dir: PathBuf,
    /// The old certificates found there for this identity (the one given first).
    pub old: Vec<OldCert>,
    /// notAfter of the new certificates.
    pub not_after: tiprelay_proto::Timestamp,
    /// The DNS names carried over (relays).
    pub dns: Vec<String>,
    /// The IP addresses carried over (relays).
    pub ips: Vec<IpAddr>,
}

/// The DNS and IP subject alternative names of a certificate.
fn dns_and_ips(cert: &x509_parser::certificate::X509Certificate<'_>) -> (Vec<String>, Vec<IpAddr>) {
    use x509_parser::extensions::GeneralName;
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns.push((*d).to_owned()),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        ips.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        ips.push(IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }
    (dns, ips)
}

/// A loaded CA: its key, certificate and state.
pub struct Ca {
    dir: PathBuf,
    authority: Authority,
    key: CaKey,
    cert_der: Vec<u8>,
    state: CaState,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

/// Reads the first certificate of a PEM (or DER) file.
pub fn read_cert(path: &Path) -> Result<Vec<u8>, CertsError> {
    let bytes = fsutil::read(path)?;
    if bytes.starts_with(b"-----") {
        CertificateDer::from_pem_slice(&bytes)
            .map(|c| c.to_vec())
            .map_err(|_| CertsError::BadCertificate { path: path.to_path_buf(), why: Msg::new("certs-no-cert-block") })
    } else {
        Ok(bytes)
    }
}

/// The CA's key: owner-only and owned by this user, encrypted or not (a passphrase from
/// TIPRELAY_KEY_PASSPHRASE_FILE or asked at the terminal), as the relay and tipctl read theirs.
fn read_key(path: &Path) -> Result<KeyPair, CertsError> {
    let der = tiprelay_common::files::read_key(path).map_err(|e| match e {
        tiprelay_common::files::FileError::Content { .. } => {
            CertsError::BadCaDir { path: path.to_path_buf(), why: Msg::new("certs-ca-key-no-pkcs8") }
        }
        // Its permissions, owner or passphrase: the file's own message says what to do.
        other => CertsError::Invalid(Msg::of_error(&other)),
    })?;
    Ok(KeyPair::try_from(der.secret_der())?)
}

fn now_utc() -> OffsetDateTime {
    // Whole seconds: X.509 times have no fraction.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

impl Ca {
    /// Creates a new CA directory at `out` for `authority` (fails if `out` exists), of root
    /// `generation` (1, or the next one for a rollover root: see [`Ca::successor`]), with a
    /// new key in `ca.key`, or with the key `token` names in a PKCS#11 token.
    pub fn init(
        out: &Path,
        authority: Authority,
        days: i64,
        generation: u32,
        token: Option<CaToken>,
    ) -> Result<PathBuf, CertsError> {
        let staging = Staging::new(out, false)?;
        Self::init_into_generation(staging.path(), authority, days, generation, token)?;
        staging.commit()
    }

    /// The authority and generation of a rollover root that succeeds the CA in `old`: the
    /// same authority, the next generation (so its name differs from the old root's).
    pub fn successor(old: &Path) -> Result<(Authority, u32), CertsError> {
        let ca = Self::load(old)?;
        Ok((ca.authority, ca.state.generation.max(1).saturating_add(1)))
    }

    /// Writes a new CA (root generation 1) into an existing empty directory.
    pub(crate) fn init_into(dir: &Path, authority: Authority, days: i64) -> Result<Ca, CertsError> {
        Self::init_into_generation(dir, authority, days, 1, None)
    }

    fn init_into_generation(
        dir: &Path,
        authority: Authority,
        days: i64,
        generation: u32,
        token: Option<CaToken>,
    ) -> Result<Ca, CertsError> {
        if days <= 0 {
            return Err(CertsError::Invalid(Msg::new("certs-days-positive")));
        }
        let key = match &token {
            Some(t) => CaKey::open_token(t)?,
            None => CaKey::File(profile::random_key()?),
        };
        let now = now_utc();
        let v = Validity {
            not_before: now - Duration::minutes(5),
            not_after: now + Duration::days(days),
            serial: profile::random_serial(),
        };
        let cert = profile::make_root(authority, generation, &key, &v)?;
        if let CaKey::File(k) = &key {
            fsutil::write_new(&dir.join("ca.key"), crate::keys::pkcs8_v1_pem(k)?.as_bytes(), SECRET_MODE)?;
        }
        fsutil::write_new(&dir.join("ca.crt"), cert.pem().as_bytes(), PUBLIC_MODE)?;
        let cert_der = cert.der().to_vec();
        let mut ca = Ca {
            dir: dir.to_path_buf(),
            authority,
            key,
            cert_der,
            state: CaState {
                authority: authority.to_string(),
                crl_number: 0,
                issued: vec![],
                revoked: vec![],
                generation,
                token,
            },
        };
        ca.write_crl(&dir.join("crl.pem"), DEFAULT_CRL_DAYS)?;
        Ok(ca)
    }

    /// Whether the root key is in a PKCS#11 token.
    pub fn key_in_token(&self) -> bool {
        matches!(self.key, CaKey::Token { .. })
    }

    /// Loads a CA directory, checking that key, certificate and state agree.
    pub fn load(dir: &Path) -> Result<Ca, CertsError> {
        let bad = |why: Msg| CertsError::BadCaDir { path: dir.to_path_buf(), why };
        if !dir.is_dir() {
            return Err(bad(Msg::new("certs-ca-dir-missing")));
        }
        let state_text = std::fs::read_to_string(dir.join("ca.toml"))
            .map_err(|e| bad(Msg::new("certs-ca-toml-unreadable").error("error", &e)))?;
        let state: CaState =
            toml::from_str(&state_text).map_err(|e| bad(Msg::new("certs-ca-toml-bad").error("error", &e)))?;
        let authority: Authority =
            state.authority.parse().map_err(|e| bad(Msg::new("certs-ca-toml-authority").error("error", &e)))?;
        let key = match &state.token {
            Some(t) => CaKey::open_token(t)?,
            None => CaKey::File(read_key(&dir.join("ca.key"))?),
        };
        let cert_der = read_cert(&dir.join("ca.crt"))?;
        let summary = tiprelay_proto::summarize_certificate(&cert_der)
            .map_err(|e| bad(Msg::new("certs-ca-crt-bad").error("error", &e)))?;
        if summary.ed25519_public_key.as_ref().map(|k| k.as_slice()) != Some(key.public_key_raw()) {
            return Err(bad(Msg::new("certs-ca-key-mismatch")));
        }
        Ok(Ca { dir: dir.to_path_buf(), authority, key, cert_der, state })
    }

    /// The authority this CA certifies.
    pub fn authority(&self) -> Authority {
        self.authority
    }

    /// The root certificate (DER).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The state record.
    pub fn state(&self) -> &CaState {
        &self.state
    }

    fn issuer(&self) -> Result<Issuer<'_, &CaKey>, CertsError> {
        Ok(Issuer::from_ca_cert_der(&CertificateDer::from(self.cert_der.as_slice()), &self.key)?)
    }

    /// Writes `ca.toml`.
    pub(crate) fn save(&self) -> Result<(), CertsError> {
        let text = toml::to_string_pretty(&self.state).map_err(|e| CertsError::Invalid(Msg::of_error(&e)))?;
        let header = "# tiprelay CA state: written by tipcerts; do not edit by hand.\n";
        fsutil::write_atomic(&self.dir.join("ca.toml"), format!("{header}{text}").as_bytes(), PUBLIC_MODE)
    }

    fn check_may_issue(&self, identity: &PrincipalId) -> Result<(), CertsError> {
        if identity.authority() != self.authority {
            return Err(CertsError::NotAuthorized(
                Msg::new("certs-not-own-authority")
                    .text("ca", self.authority)
                    .text("identity", identity)
                    .text("owner", identity.authority()),
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn issue_leaf(
        &mut self,
        dir: &Path,
        identity: &PrincipalId,
        kind: LeafKind,
        days: i64,
        dns: &[String],
        ips: &[IpAddr],
        public: Option<[u8; 32]>,
    ) -> Result<Vec<u8>, CertsError> {
        if days <= 0 {
            return Err(CertsError::Invalid(Msg::new("certs-days-positive")));
        }
        let now = now_utc();
        let (from, to) = (now - Duration::minutes(5), now + Duration::days(days));
        self.issue_leaf_between(dir, identity, kind, from, to, dns, ips, public)
    }

    #[allow(clippy::too_many_arguments)]
    fn issue_leaf_between(
        &mut self,
        dir: &Path,
        identity: &PrincipalId,
        kind: LeafKind,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        dns: &[String],
        ips: &[IpAddr],
        public: Option<[u8; 32]>,
    ) -> Result<Vec<u8>, CertsError> {
        if not_after <= not_before {
            return Err(CertsError::Invalid(Msg::new("certs-validity-order")));
        }
        // A new key pair, or (a key that lives in a PKCS#11 token) its public key alone.
        let key = match public {
            Some(p) => SubjectKey::Public(profile::ed25519_spki(&p)?),
            None => SubjectKey::New(Box::new(profile::random_key()?)),
        };
        let ca_end =
            tiprelay_proto::summarize_certificate(&self.cert_der).map(|s| s.not_after.as_unix_ms() / 1000).unwrap_or(0);
        let mut not_after = not_after;
        if let Ok(ca_end) = OffsetDateTime::from_unix_timestamp(i64::try_from(ca_end).unwrap_or(i64::MAX)) {
            not_after = not_after.min(ca_end);
        }
        let v = Validity { not_before, not_after, serial: profile::random_serial() };
        let cert = profile::make_leaf(identity, kind, &key, &self.issuer()?, &v, dns, ips)?;
        let der = cert.der().to_vec();
        let (stem, role) = match kind {
            LeafKind::Signing => ("sign", "signing"),
            LeafKind::TlsClient => ("tls", "tls-client"),
            LeafKind::TlsServer => ("tls", "tls-server"),
            LeafKind::TlsPeerRelay => ("tls", "tls-server-and-peer-client"),
        };
        if let SubjectKey::New(k) = &key {
            fsutil::write_new(&dir.join(format!("{stem}.key")), crate::keys::pkcs8_v1_pem(k)?.as_bytes(), SECRET_MODE)?;
        }
        fsutil::write_new(&dir.join(format!("{stem}.crt")), cert.pem().as_bytes(), PUBLIC_MODE)?;
        self.state.issued.push(IssuedRecord {
            serial: hex(v.serial.as_ref()),
            identity: identity.to_string(),
            role: role.into(),
            fingerprint: tiprelay_proto::Digest::of(&der).to_hex(),
            not_after: rfc3339(v.not_after),
        });
        Ok(der)
    }

    /// Issues a principal's two certificates into a new directory `out`: `tls.crt`/`tls.key`
    /// (TLS client) and `sign.crt`/`sign.key` (message signing), plus `ca.crt`.
    pub fn issue_principal(&mut self, identity: &PrincipalId, out: &Path, days: i64) -> Result<PathBuf, CertsError> {
        let staging = Staging::new(out, false)?;
        self.issue_principal_into(identity, staging.path(), days)?;
        self.save()?;
        staging.commit()
    }

    /// Issues a principal's certificates with an explicit validity period (scheduled
    /// rotations, drills and tests of expiry handling). Same layout as
    /// [`Ca::issue_principal`].
    pub fn issue_principal_valid(
        &mut self,
        identity: &PrincipalId,
        out: &Path,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<PathBuf, CertsError> {
        self.check_may_issue(identity)?;
        let staging = Staging::new(out, false)?;
        for kind in [LeafKind::TlsClient, LeafKind::Signing] {
            self.issue_leaf_between(staging.path(), identity, kind, not_before, not_after, &[], &[], None)?;
        }
        self.copy_root_into(staging.path())?;
        self.save()?;
        staging.commit()
    }

    pub(crate) fn issue_principal_into(
        &mut self,
        identity: &PrincipalId,
        dir: &Path,
        days: i64,
    ) -> Result<(), CertsError> {
        self.check_may_issue(identity)?;
        if identity.kind() == PrincipalKind::Relay {
            return Err(CertsError::NotAuthorized(Msg::new("certs-relay-via-issue-relay")));
        }
        self.issue_leaf(dir, identity, LeafKind::TlsClient, days, &[], &[], None)?;
        self.issue_leaf(dir, identity, LeafKind::Signing, days, &[], &[], None)?;
        self.copy_root_into(dir)?;
        Ok(())
    }

    /// Issues the relay's TLS server certificate (`tls.crt`/`tls.key`, with the DNS and IP
    /// names clients dial) and its receipt/checkpoint signing certificate
    /// (`sign.crt`/`sign.key`) into a new directory `out`; returns the directory and the
    /// relay's identity. The operator CA issues the shared relay `tiprelay://OPERATOR/relay/NAME`
    /// (hub mode); a jurisdiction's CA issues that jurisdiction's own relay
    /// `tiprelay://J/relay/NAME` (federation), whose TLS certificate also carries clientAuth
    /// for dialling its peer relay.
    pub fn issue_relay(
        &mut self,
        name: &str,
        dns: &[String],
        ips: &[IpAddr],
        out: &Path,
        days: i64,
    ) -> Result<(PathBuf, PrincipalId), CertsError> {
        self.issue_relay_out(name, dns, ips, out, days, None)
    }

    /// Like [`Ca::issue_relay`], for a relay whose receipt and checkpoint signing key lives
    /// in a PKCS#11 token: `sign.crt` certifies `signing_public` (its raw Ed25519 public
    /// key, from `tipcerts keys token-public`) and no `sign.key` is written.
    pub fn issue_relay_for_token_key(
        &mut self,
        name: &str,
        dns: &[String],
        ips: &[IpAddr],
        signing_public: [u8; 32],
        out: &Path,
        days: i64,
    ) -> Result<(PathBuf, PrincipalId), CertsError> {
        self.issue_relay_out(name, dns, ips, out, days, Some(signing_public))
    }

    /// Issues a relay's certificates into the new directory `out` and records them.
    fn issue_relay_out(
        &mut self,
        name: &str,
        dns: &[String],
        ips: &[IpAddr],
        out: &Path,
        days: i64,
        signing_public: Option<[u8; 32]>,
    ) -> Result<(PathBuf, PrincipalId), CertsError> {
        let staging = Staging::new(out, false)?;
        let id = self.issue_relay_with(name, dns, ips, staging.path(), days, signing_public)?;
        self.save()?;
        Ok((staging.commit()?, id))
    }

    pub(crate) fn issue_relay_into(
        &mut self,
        name: &str,
        dns: &[String],
        ips: &[IpAddr],
        dir: &Path,
        days: i64,
    ) -> Result<PrincipalId, CertsError> {
        self.issue_relay_with(name, dns, ips, dir, days, None)
    }

    fn issue_relay_with(
        &mut self,
        name: &str,
        dns: &[String],
        ips: &[IpAddr],
        dir: &Path,
        days: i64,
        signing_public: Option<[u8; 32]>,
    ) -> Result<PrincipalId, CertsError> {
        if dns.is_empty() && ips.is_empty() {
            return Err(CertsError::Invalid(Msg::new("certs-relay-needs-name")));
        }
        let identity = PrincipalId::new(self.authority, PrincipalKind::Relay, name)
            .map_err(|e| CertsError::Invalid(Msg::of_error(&e)))?;
        let tls = match self.authority {
            Authority::Operator => LeafKind::TlsServer,
            Authority::Jurisdiction(_) => LeafKind::TlsPeerRelay,
        };
        self.issue_leaf(dir, &identity, tls, days, dns, ips, None)?;
        self.issue_leaf(dir, &identity, LeafKind::Signing, days, &[], &[], signing_public)?;
        self.copy_root_into(dir)?;
        Ok(identity)
    }

    /// Copies the root certificate (PEM, as on disk) into `dir/ca.crt`.
    fn copy_root_into(&self, dir: &Path) -> Result<(), CertsError> {
        let pem = fsutil::read(&self.dir.join("ca.crt"))?;
        fsutil::write_new(&dir.join("ca.crt"), &pem, PUBLIC_MODE)
    }

    /// Checks that `der` (read from `path`) was issued by this CA; returns its serial (hex).
    fn issued_here(&self, path: &Path, der: &[u8]) -> Result<String, CertsError> {
        let bad = |why: Msg| CertsError::BadCertificate { path: path.to_path_buf(), why };
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| bad(Msg::new("certs-not-x509")))?;
        let (_, root) = x509_parser::parse_x509_certificate(&self.cert_der)
            .map_err(|_| bad(Msg::new("certs-ca-cert-unreadable")))?;
        if cert.issuer().as_raw() != root.subject().as_raw() || cert.verify_signature(Some(root.public_key())).is_err()
        {
            return Err(bad(Msg::new("certs-not-issued-here")
                .text("ca", self.authority)
                .text("dir", self.dir.display())));
        }
        Ok(hex(cert.raw_serial()))
    }

    /// Renews the certificates of the principal or relay whose certificate is `old_cert`
    /// (its `tls.crt` or `sign.crt`; the other one is looked for beside it): new keys, the
    /// same identity (a relay's TLS certificate: the same DNS and IP names), valid from now
    /// for `days`, written to a new directory `out` as `issue`/`issue-relay` would. The old
    /// certificates are not revoked: they stay valid until their notAfter, so receipts and
    /// tips signed with the old keys keep verifying (the overlap). Refused for a certificate
    /// of another CA, a root, a certificate without a `tiprelay://` identity and a revoked
    /// one (renewing would reinstate a revoked principal).
    pub fn renew(&mut self, old_cert: &Path, out: &Path, days: i64) -> Result<Renewed, CertsError> {
        let bad = |why: Msg| CertsError::BadCertificate { path: old_cert.to_path_buf(), why };
        let der = read_cert(old_cert)?;
        let serial = self.issued_here(old_cert, &der)?;
        let summary = tiprelay_proto::summarize_certificate(&der).map_err(|e| bad(Msg::of_error(&e)))?;
        if summary.role == tiprelay_proto::CertRole::Ca {
            return Err(bad(Msg::new("certs-renew-root")));
        }
        let identity = summary.identity.ok_or_else(|| bad(Msg::new("certs-renew-no-identity")))?;
        self.check_may_issue(&identity)?;
        if let Some(r) = self.state.revoked.iter().find(|r| r.serial == serial) {
            return Err(bad(Msg::new("certs-renew-revoked").text("identity", &identity).text("at", &r.revoked_at)));
        }
        let old_dir = old_cert.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut old = vec![OldCert { path: old_cert.to_path_buf(), serial, not_after: summary.not_after }];
        let mut tls_sans = None;
        if matches!(summary.role, tiprelay_proto::CertRole::TlsServer | tiprelay_proto::CertRole::TlsPeerRelay) {
            tls_sans = x509_parser::parse_x509_certificate(&der).ok().map(|(_, c)| dns_and_ips(&c));
        }
        // The other certificate of the pair, when it is beside the one given and is the
        // same identity's from this CA.
        for sibling in ["tls.crt", "sign.crt"].map(|f| old_dir.join(f)) {
            let same_file = match (sibling.canonicalize(), old_cert.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if same_file || !sibling.is_file() {
                continue;
            }
            let Ok(d) = read_cert(&sibling) else { continue };
            let Ok(s) = tiprelay_proto::summarize_certificate(&d) else { continue };
            if s.identity.as_ref() != Some(&identity) {
                continue;
            }
            let Ok(serial) = self.issued_here(&sibling, &d) else { continue };
            if tls_sans.is_none()
                && matches!(s.role, tiprelay_proto::CertRole::TlsServer | tiprelay_proto::CertRole::TlsPeerRelay)
            {
                tls_sans = x509_parser::parse_x509_certificate(&d).ok().map(|(_, c)| dns_and_ips(&c));
            }
            old.push(OldCert { path: sibling, serial, not_after: s.not_after });
        }
        let relay = identity.kind() == PrincipalKind::Relay;
        let (dns, ips) = if relay {
            let sans =
                tls_sans.ok_or_else(|| bad(Msg::new("certs-renew-relay-needs-tls").text("identity", &identity)))?;
            if sans.0.is_empty() && sans.1.is_empty() {
                return Err(bad(Msg::new("certs-renew-relay-needs-tls").text("identity", &identity)));
            }
            sans
        } else {
            (Vec::new(), Vec::new())
        };
        let staging = Staging::new(out, false)?;
        if relay {
            let id = self.issue_relay_into(identity.name(), &dns, &ips, staging.path(), days)?;
            if id != identity {
                return Err(bad(Msg::new("certs-not-own-authority")
                    .text("ca", self.authority)
                    .text("identity", &identity)
                    .text("owner", identity.authority())));
            }
        } else {
            self.issue_principal_into(&identity, staging.path(), days)?;
        }
        let new_sign = read_cert(&staging.path().join("sign.crt"))?;
        let not_after = tiprelay_proto::summarize_certificate(&new_sign)
            .map(|s| s.not_after)
            .map_err(|e| CertsError::Invalid(Msg::of_error(&e)))?;
        self.save()?;
        let dir = staging.commit()?;
        Ok(Renewed { identity, relay, dir, old_dir, old, not_after, dns, ips })
    }

    /// Revokes the certificate in `cert_file` (it must have been issued by this CA) and
    /// rewrites `crl.pem`. Revoking twice is harmless. Returns the identity revoked.
    pub fn revoke(&mut self, cert_file: &Path) -> Result<String, CertsError> {
        let der = read_cert(cert_file)?;
        let serial = self.issued_here(cert_file, &der)?;
        let identity = match tiprelay_proto::summarize_certificate(&der) {
            Ok(s) => s.identity.map_or(s.subject, |i| i.to_string()),
            Err(_) => String::new(),
        };
        if !self.state.revoked.iter().any(|r| r.serial == serial) {
            self.state.revoked.push(RevokedRecord {
                serial,
                identity: identity.clone(),
                revoked_at: rfc3339(now_utc()),
            });
        }
        let crl = self.dir.join("crl.pem");
        self.write_crl(&crl, DEFAULT_CRL_DAYS)?;
        Ok(identity)
    }

    /// Writes a fresh CRL (next number, valid `days`) to `out`, and records the number.
    pub fn write_crl(&mut self, out: &Path, days: i64) -> Result<PathBuf, CertsError> {
        if days <= 0 {
            return Err(CertsError::Invalid(Msg::new("certs-days-positive")));
        }
        let now = now_utc();
        let mut revoked_certs = Vec::with_capacity(self.state.revoked.len());
        for r in &self.state.revoked {
            let serial = hex::decode(&r.serial).map_err(|_| CertsError::BadCaDir {
                path: self.dir.clone(),
                why: Msg::new("certs-ca-toml-bad-serial").text("serial", &r.serial),
            })?;
            revoked_certs.push(RevokedCertParams {
                serial_number: SerialNumber::from(serial),
                revocation_time: parse_rfc3339(&r.revoked_at).unwrap_or(now),
                reason_code: None,
                invalidity_date: None,
            });
        }
        let number = self.state.crl_number + 1;
        let params = CertificateRevocationListParams {
            this_update: now,
            next_update: now + Duration::days(days),
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer()?)?;
        fsutil::write_atomic(out, crl.pem()?.as_bytes(), PUBLIC_MODE)?;
        self.state.crl_number = number;
        self.save()?;
        Ok(out.to_path_buf())
    }
}
