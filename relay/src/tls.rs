//! TLS and QUIC settings of the relay (DESIGN §3): TLS 1.3 only, ALPN `tiprelay/1`, mutual
//! TLS against the jurisdictions' roots, 0-RTT off, resumption off, bounded windows.
//!
//! Client certificates are checked by [`TrustVerifier`], which delegates to the same
//! [`TrustStore`] that verifies tips: the certificate's URI identity names a jurisdiction,
//! and the chain must lead to *that* jurisdiction's root, unrevoked, with clientAuth. So a
//! US-issued certificate claiming an MX identity fails in the handshake itself. The trust
//! store is swapped when CRL files change, and the next handshake uses the new one.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tiprelay_proto::{summarize_certificate, CertUsage, Timestamp, TrustStore};

/// A trust store that can be replaced while connections use it.
#[derive(Debug, Clone)]
pub struct SharedTrust(Arc<RwLock<Arc<TrustStore>>>);

impl SharedTrust {
    /// Wraps a store.
    pub fn new(t: TrustStore) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(t))))
    }

    /// The current store.
    pub fn get(&self) -> Arc<TrustStore> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the store.
    pub fn set(&self, t: TrustStore) {
        match self.0.write() {
            Ok(mut g) => *g = Arc::new(t),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(t),
        }
    }
}

/// The ring crypto provider, the one provider tiprelay uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Verifies client certificates with the shared trust store (see the module docs).
#[derive(Debug)]
pub struct TrustVerifier {
    trust: SharedTrust,
    provider: Arc<CryptoProvider>,
    hints: Vec<DistinguishedName>,
    federation: Option<(tiprelay_proto::Jurisdiction, tiprelay_proto::PrincipalId)>,
}

impl TrustVerifier {
    /// A verifier over `trust`; `federation` is `(home, peer)` on a federated relay
    /// (see [`crate::core::authz::admitted`]).
    pub fn new(
        trust: SharedTrust,
        provider: Arc<CryptoProvider>,
        federation: Option<(tiprelay_proto::Jurisdiction, tiprelay_proto::PrincipalId)>,
    ) -> Self {
        Self { trust, provider, hints: Vec::new(), federation }
    }
}

impl ClientCertVerifier for TrustVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let reject = |why: String| {
            tracing::warn!(reason = %why, "client certificate refused");
            rustls::Error::General(why)
        };
        let summary = summarize_certificate(end_entity).map_err(|e| reject(e.to_string()))?;
        let identity =
            summary.identity.ok_or_else(|| reject("no tiprelay:// identity in the client certificate".into()))?;
        let now = Timestamp::from_unix_seconds(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
        let inter: Vec<&[u8]> = intermediates.iter().map(|c| c.as_ref()).collect();
        self.trust.get().verify_cert(end_entity, &inter, identity.authority(), CertUsage::TlsClient, now).map_err(
            |e| {
                // The alert tells the client what failed (certificate_revoked, certificate_expired),
                // so its user reads "your certificate is revoked", not "connection lost".
                let kind = match &e {
                    tiprelay_proto::ProtoError::Revoked(_) => Some(rustls::CertificateError::Revoked),
                    tiprelay_proto::ProtoError::CertificateNotValidNow { .. } => {
                        Some(rustls::CertificateError::Expired)
                    }
                    _ => None,
                };
                let general = reject(e.to_string());
                kind.map_or(general, rustls::Error::InvalidCertificate)
            },
        )?;
        crate::core::authz::admitted(&identity, self.federation.as_ref().map(|(h, p)| (*h, p))).map_err(reject)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not allowed".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// Bytes a peer may send on one stream before the relay reads them (one batch request).
pub const STREAM_RECEIVE_WINDOW: u32 = 256 * 1024;
/// Bytes a peer may send on one connection before the relay reads them.
pub const CONNECTION_RECEIVE_WINDOW: u32 = 1024 * 1024;

/// Limits of a QUIC connection (DESIGN §3: memory per peer is capped). What the relay has
/// written but the peer not yet acknowledged is held in the answer budgets (see `guard`),
/// so the send window needs no tighter bound than that.
pub fn transport(idle: Duration, max_streams: u64) -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(u32::try_from(max_streams).unwrap_or(64)));
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(0));
    t.stream_receive_window(quinn::VarInt::from_u32(STREAM_RECEIVE_WINDOW));
    t.receive_window(quinn::VarInt::from_u32(CONNECTION_RECEIVE_WINDOW));
    t.send_window(8 * 1024 * 1024);
    t.datagram_receive_buffer_size(None);
    if let Ok(idle) = quinn::IdleTimeout::try_from(idle) {
        t.max_idle_timeout(Some(idle));
    }
    t
}

/// Why the relay's TLS and QUIC settings could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rustls refused the settings, or the certificate chain and key (e.g. a key that does
    /// not match the certificate).
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    /// The crypto provider has no cipher suite QUIC can start a handshake with.
    #[error(transparent)]
    Quic(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
}

/// Federation: the QUIC client configuration with which a relay dials its peer relay. The
/// peer's TLS certificate must chain to one of the peer jurisdiction's roots (`peer_roots`,
/// with their CRLs) and name `server_name`; this relay presents its own TLS certificate, which the peer
/// verifies against this jurisdiction's root. Same TLS 1.3 profile, ALPN and transport as
/// principals use.
pub fn peer_client_config(
    peer_roots: Vec<CertificateDer<'static>>,
    peer_crls: Vec<rustls::pki_types::CertificateRevocationListDer<'static>>,
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    limits: &crate::config::RelayConfig,
) -> Result<quinn::ClientConfig, TlsError> {
    let provider = provider();
    let mut roots = rustls::RootCertStore::empty();
    for root in peer_roots {
        roots.add(root)?;
    }
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(peer_crls)
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(cert_chain, key)?;
    tls.alpn_protocols = vec![tiprelay_proto::limits::ALPN.to_vec()];
    tls.resumption = rustls::client::Resumption::disabled();
    tls.enable_early_data = false;
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls)?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(quic));
    let mut t = transport(limits.idle_timeout, limits.max_streams);
    // A peer that vanished is noticed within seconds, as principals notice their relay.
    t.keep_alive_interval(Some(Duration::from_secs(1)));
    if let Ok(idle) = quinn::IdleTimeout::try_from(Duration::from_secs(3)) {
        t.max_idle_timeout(Some(idle));
    }
    cfg.transport_config(Arc::new(t));
    Ok(cfg)
}

/// The relay's QUIC server configuration.
pub fn server_config(
    trust: SharedTrust,
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    limits: &crate::config::RelayConfig,
) -> Result<quinn::ServerConfig, TlsError> {
    let provider = provider();
    let federation = limits.federation.as_ref().map(|f| (f.home, f.peer.identity.clone()));
    let verifier = Arc::new(TrustVerifier::new(trust, provider.clone(), federation));
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(cert_chain, key)?;
    tls.alpn_protocols = vec![tiprelay_proto::limits::ALPN.to_vec()];
    // Resumption off: every connection re-checks the client certificate and the CRL.
    tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    tls.max_early_data_size = 0;
    let quic = quinn::crypto::rustls::QuicServerConfig::try_from(tls)?;
    let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(quic));
    cfg.transport_config(Arc::new(transport(limits.idle_timeout, limits.max_streams)));
    cfg.migration(false);
    // Connection attempts quinn buffers before the accept loop sees them: the accept loop
    // answers each at once (Retry, refuse or a pending slot), so this only absorbs bursts.
    cfg.max_incoming(limits.max_pending_handshakes.saturating_mul(4).max(1024));
    Ok(cfg)
}
