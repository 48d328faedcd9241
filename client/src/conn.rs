//! The QUIC connection to the relay: TLS 1.3, ALPN `tiprelay/1`, the relay operator's root
//! pinned (with its CRL), this principal's TLS certificate, no resumption, no 0-RTT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{Connection, Endpoint};
use rustls::pki_types::ServerName;
use tiprelay_proto::wire::{unframe, Request, Response, WireError, MAX_FRAME_BYTES};

use crate::config::ClientConfig;
use crate::files;

/// Why talking to the relay failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnError {
    /// Configuration or key files unusable.
    #[error("{0}")]
    Setup(String),
    /// Could not connect or authenticate.
    #[error("{}", tr2("conn-connect", addr, why))]
    Connect {
        /// Relay address.
        addr: String,
        /// Why.
        why: String,
    },
    /// The TLS handshake failed on a certificate: the relay's (it failed this client's
    /// check) or this client's (the relay refused it, e.g. revoked); `why` says whose.
    #[error("{}", tr2("conn-certificate", addr, why))]
    CertificateRefused {
        /// Relay address.
        addr: String,
        /// Whose certificate, and why.
        why: String,
    },
    /// The connection broke mid-request.
    #[error("{}", tr1("conn-transport", .0))]
    Transport(String),
    /// The relay answered with a typed error.
    #[error("{}", tr1("conn-refused", &crate::output::refusal(.0)))]
    Refused(WireError),
    /// The relay refused a whole batch request (not any one tip in it): retryable.
    #[error("{}", tr1("conn-batch-refused", &crate::output::refusal(.0)))]
    BatchRefused(WireError),
    /// The relay's answer was malformed.
    #[error("{}", tr1("conn-protocol", .0))]
    Protocol(String),
}

/// A message with one argument `why`, in this process's language.
fn tr1(id: &str, why: &str) -> String {
    crate::t!(id, "why" => why.to_owned())
}

/// A message with `addr` and `why`, in this process's language.
fn tr2(id: &str, addr: &str, why: &str) -> String {
    crate::t!(id, "addr" => addr.to_owned(), "why" => why.to_owned())
}

/// An open, authenticated connection.
pub struct RelayConn {
    endpoint: Endpoint,
    conn: Connection,
}

/// With several relay addresses, the next one is tried when the previous has not answered
/// within this (and the first to complete its handshake is used).
pub const NEXT_ADDRESS_AFTER: Duration = Duration::from_millis(250);

/// Connects to the first of `addrs` that completes a handshake: the first at once, each
/// next one `NEXT_ADDRESS_AFTER` later unless one has succeeded (a dead relay costs a
/// quarter second, not a timeout). The error names every address tried.
async fn race(
    endpoint: &Endpoint,
    addrs: &[SocketAddr],
    server_name: &str,
    timeout: Duration,
) -> Result<quinn::Connection, ConnError> {
    let mut set = tokio::task::JoinSet::new();
    for (i, addr) in addrs.iter().copied().enumerate() {
        let (endpoint, server_name) = (endpoint.clone(), server_name.to_owned());
        set.spawn(async move {
            // Dialled only when its turn comes (a handshake starts with `connect`).
            let delay = NEXT_ADDRESS_AFTER * u32::try_from(i).unwrap_or(u32::MAX);
            tokio::time::sleep(delay).await;
            let r = match endpoint.connect(addr, &server_name) {
                Err(e) => Err((false, e.to_string())),
                Ok(c) => match tokio::time::timeout(timeout, c).await {
                    Err(_) => Err((
                        false,
                        crate::t!("conn-no-answer", "ms" => u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
                    )),
                    Ok(Err(e)) => Err(explain_connect(&e)),
                    Ok(Ok(conn)) => Ok(conn),
                },
            };
            (addr, r)
        });
    }
    let mut failures = Vec::new();
    let mut refused = false;
    while let Some(done) = set.join_next().await {
        match done {
            Ok((_, Ok(conn))) => return Ok(conn),
            Ok((addr, Err((r, why)))) => {
                refused |= r;
                failures.push((addr, why));
            }
            Err(_) => failures
                .push((addrs.first().copied().unwrap_or(([0, 0, 0, 0], 0).into()), crate::t!("tipctl-task-failed"))),
        }
    }
    failures.sort_by_key(|(a, _)| addrs.iter().position(|x| x == a));
    let addr = failures.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>().join(", ");
    let why = if failures.len() == 1 {
        failures.pop().map(|f| f.1).unwrap_or_default()
    } else {
        failures.iter().map(|(a, w)| format!("{a}: {w}")).collect::<Vec<_>>().join("; ")
    };
    if refused {
        return Err(ConnError::CertificateRefused { addr, why });
    }
    Err(ConnError::Connect { addr, why })
}

/// How often an idle connection is kept alive (one small packet each way).
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// A connection that hears nothing from the relay for this long is dead: a relay machine
/// that vanished is noticed within it (its keep-alives go unanswered).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(3);
/// Per-request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn setup(e: impl std::fmt::Display) -> ConnError {
    ConnError::Setup(e.to_string())
}

impl RelayConn {
    /// Connects and authenticates to the relay of `cfg`.
    pub async fn connect(cfg: &ClientConfig) -> Result<Self, ConnError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // The relay's certificate chains to the operator's root (the shared relay), or, with
        // no operator root configured, to this principal's own jurisdiction's root (its
        // jurisdiction's own relay, federation).
        let op = cfg
            .trust
            .iter()
            .find(|t| t.authority == tiprelay_proto::Authority::Operator)
            .or_else(|| {
                cfg.trust.iter().find(|t| t.authority == tiprelay_proto::Authority::Jurisdiction(cfg.jurisdiction))
            })
            .ok_or_else(|| setup(crate::t!("tipctl-no-relay-root")))?;
        // Every root of the file (two during a CA rollover) and every CRL.
        let mut roots = rustls::RootCertStore::empty();
        for root in files::read_certs(&op.ca).map_err(setup)? {
            roots.add(root).map_err(setup)?;
        }
        let crls = files::read_crls(&op.crl).map_err(setup)?;
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .with_crls(crls)
            .allow_unknown_revocation_status()
            .build()
            .map_err(setup)?;
        let chain = files::read_certs(&cfg.tls_cert).map_err(setup)?;
        let key = files::read_key(&cfg.tls_key).map_err(setup)?;
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(setup)?
            .with_webpki_verifier(verifier)
            .with_client_auth_cert(chain, key)
            .map_err(setup)?;
        tls.alpn_protocols = vec![tiprelay_proto::limits::ALPN.to_vec()];
        tls.resumption = rustls::client::Resumption::disabled();
        tls.enable_early_data = false;
        let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(setup)?;
        let mut qc = quinn::ClientConfig::new(Arc::new(quic));
        let mut transport = quinn::TransportConfig::default();
        // A relay that goes silent (dead machine, cut link) is noticed within IDLE_TIMEOUT;
        // a relay that restarted resets the connection at once (stateless reset).
        transport.keep_alive_interval(Some(KEEP_ALIVE));
        if let Ok(idle) = quinn::IdleTimeout::try_from(IDLE_TIMEOUT) {
            transport.max_idle_timeout(Some(idle));
        }
        qc.transport_config(Arc::new(transport));
        let addrs = if cfg.relay_addrs.is_empty() { vec![cfg.relay_addr] } else { cfg.relay_addrs.clone() };
        let bind: std::net::SocketAddr =
            if addrs.iter().any(SocketAddr::is_ipv6) { "[::]:0" } else { "0.0.0.0:0" }.parse().map_err(setup)?;
        let mut endpoint = Endpoint::client(bind).map_err(setup)?;
        endpoint.set_default_client_config(qc);
        ServerName::try_from(cfg.server_name.clone()).map_err(setup)?;
        let conn = race(&endpoint, &addrs, &cfg.server_name, cfg.connect_timeout).await?;
        Ok(Self { endpoint, conn })
    }

    /// The address of the relay this connection reached.
    pub fn remote_address(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// Sends one request and returns the relay's answer (typed errors become `Refused`).
    pub async fn request(&self, req: &Request) -> Result<Response, ConnError> {
        request_on(&self.conn, req.encode()).await
    }

    /// Sends several requests concurrently (at most 32 in flight; each on its own stream)
    /// and returns the answers in request order.
    pub async fn request_many(&self, reqs: Vec<Request>) -> Vec<Result<Response, ConnError>> {
        let mut out: Vec<Option<Result<Response, ConnError>>> = (0..reqs.len()).map(|_| None).collect();
        let mut set = tokio::task::JoinSet::new();
        for (i, r) in reqs.into_iter().enumerate() {
            if set.len() >= 32 {
                if let Some(Ok((k, res))) = set.join_next().await {
                    if let Some(slot) = out.get_mut(k) {
                        *slot = Some(res);
                    }
                }
            }
            let conn = self.conn.clone();
            let bytes = r.encode();
            set.spawn(async move { (i, request_on(&conn, bytes).await) });
        }
        while let Some(done) = set.join_next().await {
            if let Ok((k, res)) = done {
                if let Some(slot) = out.get_mut(k) {
                    *slot = Some(res);
                }
            }
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ConnError::Transport(crate::t!("tipctl-task-failed")))))
            .collect()
    }

    /// Opens a subscription; returns a receiver of event kinds (`tips`, `acks`).
    pub async fn subscribe(&self) -> Result<quinn::RecvStream, ConnError> {
        let (mut send, recv) = self.conn.open_bi().await.map_err(|e| ConnError::Transport(e.to_string()))?;
        send.write_all(&Request::Subscribe.encode()).await.map_err(|e| ConnError::Transport(e.to_string()))?;
        send.finish().map_err(|e| ConnError::Transport(e.to_string()))?;
        Ok(recv)
    }

    /// The underlying QUIC connection (diagnostics and tests).
    pub fn raw(&self) -> &Connection {
        &self.conn
    }

    /// Closes the connection politely. The CONNECTION_CLOSE frame goes out on the endpoint
    /// driver's next poll; waiting for QUIC's whole draining period (3 PTO, about 90 ms
    /// even on loopback) would only delay the command's exit, so the wait is capped.
    pub async fn close(self) {
        self.conn.close(0u32.into(), b"bye");
        let _ = tokio::time::timeout(Duration::from_millis(10), self.endpoint.wait_idle()).await;
    }
}

async fn request_on(conn: &Connection, frame: Vec<u8>) -> Result<Response, ConnError> {
    let fut = async {
        let (mut send, mut recv) = conn.open_bi().await.map_err(|e| lost(conn, e.to_string()))?;
        // The relay may refuse a request from its length alone and stop reading it: its
        // answer is still on the way, so a failed write is reported only if none comes.
        let wrote = match send.write_all(&frame).await {
            Ok(()) => send.finish().map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let bytes = recv.read_to_end(MAX_FRAME_BYTES + 4).await.map_err(|e| match &wrote {
            Err(w) => lost(conn, w.clone()),
            Ok(()) => lost(conn, e.to_string()),
        })?;
        let body = unframe(&bytes, MAX_FRAME_BYTES).map_err(|e| ConnError::Protocol(e.to_string()))?;
        match Response::decode_body(body).map_err(|e| ConnError::Protocol(e.to_string()))? {
            Response::Error(e) => Err(ConnError::Refused(e)),
            r => Ok(r),
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT, fut)
        .await
        .map_err(|_| ConnError::Transport(crate::t!("tipctl-request-timed-out")))?
}

/// Reads the next event frame of a subscription (None when it ends).
pub async fn next_event(recv: &mut quinn::RecvStream) -> Option<String> {
    let mut len = [0u8; 4];
    recv.read_exact(&mut len).await.ok()?;
    let n = u32::from_be_bytes(len) as usize;
    if n > 4096 {
        return None;
    }
    let mut body = vec![0u8; n];
    recv.read_exact(&mut body).await.ok()?;
    match Response::decode_body(&body).ok()? {
        Response::Event { kind } => Some(kind),
        _ => None,
    }
}

/// A request that failed because the connection ended: in QUIC the relay checks this
/// client's certificate after the client's side of the handshake is done, so a refusal
/// (revoked, expired, unknown CA) arrives as the connection closing with a TLS alert.
fn lost(conn: &Connection, fallback: String) -> ConnError {
    if let Some(reason) = conn.close_reason() {
        let (refused, why) = explain_connect(&reason);
        if refused {
            return ConnError::CertificateRefused { addr: conn.remote_address().to_string(), why };
        }
    }
    ConnError::Transport(fallback)
}

/// Why a handshake failed, naming whose certificate failed; true when it is a
/// certificate problem (refused), false for the network.
fn explain_connect(e: &quinn::ConnectionError) -> (bool, String) {
    let s = e.to_string();
    match e {
        // Our own TLS stack refused the relay's certificate.
        quinn::ConnectionError::TransportError(t) if s.contains("certificate") => {
            (true, crate::t!("cert-relay-failed", "reason" => t.reason.clone()))
        }
        // The relay closed the handshake with a TLS alert: it refused our certificate.
        quinn::ConnectionError::ConnectionClosed(c) => {
            let code = u64::from(c.error_code);
            match code.checked_sub(0x100).filter(|a| *a < 0x100) {
                Some(44) => (true, crate::t!("cert-client-revoked")),
                Some(45) => (true, crate::t!("cert-client-expired")),
                // handshake_failure, bad/unsupported certificate, unknown CA, access denied,
                // certificate required: a refusal of this client's certificate.
                Some(alert @ (40 | 42 | 43 | 46 | 48 | 49 | 116)) => {
                    (true, crate::t!("cert-client-refused", "alert" => alert))
                }
                _ => (false, s),
            }
        }
        // The relay closed a live connection because the certificate stopped being valid.
        quinn::ConnectionError::ApplicationClosed(a) if String::from_utf8_lossy(&a.reason).contains("certificate") => (
            true,
            crate::t!(
                "cert-closed",
                "reason" => String::from_utf8_lossy(&a.reason).chars().filter(|c| !c.is_control()).take(200).collect::<String>()
            ),
        ),
        _ => (false, s),
    }
}
