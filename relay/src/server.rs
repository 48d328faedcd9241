//! The QUIC server: accept loop, connections, request handling, CRL reload, shutdown.
//!
//! Every task is owned (a `JoinSet`) and watches one `CancellationToken`. Shutdown stops
//! accepting, lets in-flight requests finish (their commits complete), closes the
//! endpoint, and finally joins the store writer, so everything acknowledged is on disk.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{Connection, Endpoint, RecvStream, SendStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use tiprelay_common::files;
use tiprelay_proto::wire::{
    BatchOutcome, Request, Response, WireError, MAX_BATCH_REQUEST_BYTES, MAX_FETCH, MAX_RECORDS, MAX_REQUEST_BYTES,
    MAX_STATEMENTS,
};
use tiprelay_proto::{
    summarize_certificate, verify, verify_parsed, CertUsage, DeliveryAck, Digest, ErrorCode, Feedback, Jurisdiction,
    LedgerStatement, PrincipalId, PrincipalKind, ProtoError, Tip,
};

use crate::config::RelayConfig;
use crate::core;
use crate::core::admission::{PendingHandshakes, Refusal};
use crate::core::authz::{authorize, request_name};
use crate::core::rejections::{Entry, RejectionLog};
use crate::guard::{answer_estimate, hold, rate_of, ConnectionSlot, Held, Principals};
use crate::metrics::{self, CodeLabels, JurisdictionLabels, Metrics, OutcomeLabels};
use crate::storage::{self, Event, RecordQuery, Store, StoreError, WriterThread};
use crate::tls::{self, SharedTrust};

mod peer;

/// Shared state of a running relay.
struct State {
    config: RelayConfig,
    trust: SharedTrust,
    store: Store,
    relay_id: PrincipalId,
    shutdown: CancellationToken,
    /// Handshakes in progress, per source and in total.
    pending: std::sync::Mutex<PendingHandshakes>,
    /// Authenticated connections (only those count against `max_connections`).
    slots: Arc<tokio::sync::Semaphore>,
    /// Per-principal connection counts, byte budgets and rates.
    principals: Arc<Principals>,
    /// What refusals reach the audit log, under any flood.
    rejections: std::sync::Mutex<RejectionLog>,
    /// Prometheus metrics.
    metrics: Arc<Metrics>,
    /// Federation: one `forward` from the peer relay is decided at a time (home numbers
    /// are checked against the store).
    link_in: tokio::sync::Mutex<()>,
    /// Federation: this relay's connection to its peer while the link is up.
    link_out: std::sync::Mutex<Option<Connection>>,
    /// The relay's signing key (federation: relay statements and cosignatures of the
    /// peer's log; receipts are signed by the writer's own copy).
    signer: Arc<tiprelay_proto::Signer>,
    /// Federation: when the last `sequence_gap` audit entry was written.
    gap_alarm: std::sync::Mutex<Option<std::time::Instant>>,
}

impl State {
    fn rejections(&self) -> std::sync::MutexGuard<'_, RejectionLog> {
        match self.rejections.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, PendingHandshakes> {
        match self.pending.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A handshake's pending slot, given back when the handshake ends either way.
struct PendingTicket {
    state: Arc<State>,
    ip: std::net::IpAddr,
}

impl Drop for PendingTicket {
    fn drop(&mut self) {
        self.state.pending().release(self.ip);
    }
}

/// Why a relay could not start, or stopped abnormally. Each message says what failed; the
/// cause, when there is one, is its `source`.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A trust, certificate or key file cannot be read or used.
    #[error(transparent)]
    Files(#[from] files::FileError),
    /// The metrics endpoint cannot listen.
    #[error("cannot listen for metrics on {addr}")]
    MetricsListen {
        /// `[metrics] listen`.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS or QUIC settings cannot be built.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The UDP socket cannot be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// `relay.listen`.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The QUIC endpoint cannot be set up on the socket.
    #[error(transparent)]
    Endpoint(#[from] std::io::Error),
    /// The store cannot be opened.
    #[error("cannot open the store {path}")]
    OpenStore {
        /// The store file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// A CRL is older than one the relay already accepted, or the CRL numbers it accepted
    /// cannot be read.
    #[error("refusing to start")]
    CrlFloors {
        /// Why.
        #[source]
        source: CrlFloorError,
    },
    /// The CRL numbers now in use cannot be recorded in the store.
    #[error("cannot record the CRL numbers in the store")]
    RecordCrlFloors {
        /// Why.
        #[source]
        source: StoreError,
    },
    /// Stopped while waiting as a standby for the store's lease: nothing was served.
    #[error("stopped while waiting for the store's lease (standby); nothing was served")]
    Cancelled,
    /// Another relay took over the store's lease: this one stopped serving (a service
    /// manager restarts it as a standby).
    #[error("{}", storage::postgres::lease::LOST_MESSAGE)]
    LeaseLost,
    /// The relay's own certificate does not fit its mode: the shared relay is
    /// `tiprelay://OPERATOR/relay/…`, a federated relay `tiprelay://<home>/relay/…`.
    #[error("the relay's signing certificate names {identity}, but {expected}")]
    WrongRelayIdentity {
        /// The identity in `relay.signing_cert`.
        identity: String,
        /// What the configuration needs.
        expected: tiprelay_common::localize::Msg,
    },
    /// The signing key in a PKCS#11 token cannot be used.
    #[error(transparent)]
    SigningKey(#[from] crate::pkcs11::Pkcs11Error),
    /// The relay's main task panicked or was cancelled.
    #[error("relay task")]
    Task {
        /// The panic or cancellation.
        #[source]
        source: tokio::task::JoinError,
    },
}

/// Why the trust files' CRLs cannot be checked against the CRL numbers kept in the store.
#[derive(Debug, thiserror::Error)]
pub enum CrlFloorError {
    /// The store cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A CRL is older (lower CRL number) than one already accepted.
    #[error(transparent)]
    Older(#[from] tiprelay_proto::TrustError),
}

/// A running relay.
pub struct RelayHandle {
    local_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    main: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl RelayHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the metrics endpoints, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// A token that stops the relay when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops the relay gracefully and waits until every commit is on disk.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the relay stops (after its token is cancelled).
    pub async fn wait(self) -> Result<(), ServeError> {
        self.main.await.map_err(|source| ServeError::Task { source })?
    }
}

/// Starts a relay. With `socket`, serves on it instead of binding `config.listen`.
pub async fn start(config: RelayConfig, socket: Option<std::net::UdpSocket>) -> Result<RelayHandle, ServeError> {
    start_until(config, socket, CancellationToken::new()).await
}

/// Starts a relay that stops when `shutdown` is cancelled, also while it still waits as a
/// standby for the store's lease (PostgreSQL; [`ServeError::Cancelled`] then).
pub async fn start_until(
    config: RelayConfig,
    socket: Option<std::net::UdpSocket>,
    shutdown: CancellationToken,
) -> Result<RelayHandle, ServeError> {
    let mut loaded = files::load_trust(&config.trust)?;
    loaded.set_crl_grace(config.crl_grace);
    let metrics = Arc::new(Metrics::new());
    metrics.crls(&loaded);
    check_certificate_expiry(&config, &metrics);
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(metrics::bind(addr).await.map_err(|source| ServeError::MetricsListen { addr, source })?),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    // Served from the start: a standby answers /healthz (alive) and /readyz (503, not
    // serving) while it waits for the store's lease. Stopped with the relay, or if it fails
    // to start.
    let metrics_stop = shutdown.child_token();
    let metrics_guard = metrics_stop.clone().drop_guard();
    if let Some(l) = metrics_listener {
        if let Some(a) = metrics_addr {
            info!(addr = %a, "metrics endpoints listening (/metrics, /healthz, /readyz)");
        }
        tokio::spawn(metrics::serve(l, metrics.clone(), metrics_stop));
    }
    let chain = files::read_certs(&config.tls_cert)?;
    let key = files::read_key(&config.tls_key)?;
    // Opened once (a token key: one session, one login), shared by the store and the state.
    let signer = read_signer(&config)?;
    let relay_id = signer.identity().clone();
    check_relay_identity(&relay_id, config.federation.as_ref())?;
    let trust = SharedTrust::new(loaded);
    let server_cfg = tls::server_config(trust.clone(), chain, key, &config)?;
    let socket = match socket {
        Some(s) => s,
        None => std::net::UdpSocket::bind(config.listen)
            .map_err(|source| ServeError::Listen { addr: config.listen, source })?,
    };
    // The stateless-reset key is derived from the relay's own key: a restarted relay (or
    // another relay of the deployment, sharing that key) resets the connections of the one
    // that died, so clients' in-flight requests fail at once instead of timing out.
    // The connection-ID generator's key too: a relay answers with a reset only packets whose
    // connection ID it recognises as one of the deployment's.
    let reset_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &signer.derive_secret("quic stateless reset"));
    let cid = signer.derive_secret("quic connection ids");
    let cid_key = u64::from_be_bytes([cid[0], cid[1], cid[2], cid[3], cid[4], cid[5], cid[6], cid[7]]);
    let mut endpoint_cfg = quinn::EndpointConfig::new(Arc::new(reset_key));
    endpoint_cfg.cid_generator(move || Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key)));
    // No server configuration until this relay serves: a standby answers no handshake (so
    // clients go to the relay that serves) but does send stateless resets.
    let endpoint = Endpoint::new(endpoint_cfg, None, socket, Arc::new(quinn::TokioRuntime))?;
    let local_addr = endpoint.local_addr()?;
    let store_name = storage::describe(&config);
    let open_failed = |source| ServeError::OpenStore { path: store_name.clone().into(), source };
    let (engine, lease): (Arc<dyn storage::Engine>, _) = match &config.backend {
        crate::config::StoreBackend::Postgres(target) => {
            let t = (**target).clone();
            let (pg, older) = tokio::task::spawn_blocking(move || storage::postgres::PgEngine::open_for_lease(&t))
                .await
                .map_err(|source| ServeError::Task { source })?
                .map_err(open_failed)?;
            let holder = format!("{} pid {} listen {local_addr}", host_name(), std::process::id());
            let lease = take_lease(target, holder, &shutdown).await?;
            // Only the relay that holds the lease migrates: never under one that serves.
            let (mut pg, migrated) = tokio::task::spawn_blocking(move || {
                let r = if older { pg.migrate_now() } else { Ok(()) };
                (pg, r)
            })
            .await
            .map_err(|source| ServeError::Task { source })?;
            migrated.map_err(open_failed)?;
            pg.fence(lease.state());
            (Arc::new(pg), Some(lease))
        }
        crate::config::StoreBackend::Redb => (storage::open_engine(&config, true).map_err(open_failed)?, None),
    };
    let (store, writer) = Store::start(
        engine,
        signer.clone(),
        config.jurisdictions.iter().copied(),
        config.commit_batch,
        config.pending_quota,
        metrics.clone(),
    )
    .map_err(|source| ServeError::OpenStore { path: store_name.clone().into(), source })?;
    // A CRL older than one this relay already used would un-revoke certificates, even
    // after a restart: the highest CRL number per authority is kept in the store.
    let floors = crl_floors(&store, &trust.get()).map_err(|source| ServeError::CrlFloors { source })?;
    store.raise_meta(floors).await.map_err(|source| ServeError::RecordCrlFloors { source })?;
    warn_stale_crls(&trust.get());
    let detail = format!(
        "listen {local_addr}; jurisdictions {}; pairs {}",
        config.jurisdictions.iter().map(|j| j.as_str()).collect::<Vec<_>>().join(","),
        config.pairs.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(",")
    );
    store.event(Event {
        principal: Some(relay_id.to_string()),
        detail: Some(detail),
        ..Event::new("relay_started", storage::now())
    });
    endpoint.set_server_config(Some(server_cfg));
    info!(relay = %relay_id, addr = %local_addr, store = %store_name, "relay listening");
    let state = Arc::new(State {
        pending: std::sync::Mutex::new(PendingHandshakes::new(
            config.max_pending_handshakes_per_source,
            config.max_pending_handshakes,
        )),
        slots: Arc::new(tokio::sync::Semaphore::new(config.max_connections)),
        principals: Arc::new(Principals::new(&config)),
        rejections: std::sync::Mutex::new(RejectionLog::new(
            config.audit_rejections_per_principal,
            config.audit_unauthenticated_per_second,
            std::time::Instant::now(),
        )),
        metrics: metrics.clone(),
        link_in: tokio::sync::Mutex::new(()),
        link_out: std::sync::Mutex::new(None),
        gap_alarm: std::sync::Mutex::new(None),
        signer: Arc::new(signer),
        config,
        trust,
        store,
        relay_id,
        shutdown: shutdown.clone(),
    });
    state.metrics.set_ready(true);
    metrics_guard.disarm();
    let main = tokio::spawn(run(state, endpoint, writer, lease));
    Ok(RelayHandle { local_addr, metrics_addr, shutdown, main })
}

/// The relay's receipt and checkpoint signer from `signing_key` (a file or a key in a
/// PKCS#11 token) and `signing_cert`, each checked against the other.
pub fn read_signer(config: &RelayConfig) -> Result<tiprelay_proto::Signer, ServeError> {
    match &config.signing_key {
        crate::config::SigningKeySource::File(key) => Ok(files::read_signer(key, &config.signing_cert)?),
        crate::config::SigningKeySource::Token(t) => {
            Ok(crate::pkcs11::signer(t, files::read_cert(&config.signing_cert)?.to_vec())?)
        }
    }
}

/// The shared relay signs as `tiprelay://OPERATOR/relay/…`; a federated relay as its own
/// jurisdiction's relay, `tiprelay://<home>/relay/…`.
fn check_relay_identity(id: &PrincipalId, fed: Option<&crate::config::Federation>) -> Result<(), ServeError> {
    let expected = match fed {
        None if id.kind() == PrincipalKind::Relay && id.authority() == tiprelay_proto::Authority::Operator => {
            return Ok(())
        }
        None => tiprelay_common::localize::Msg::new("relay-identity-expected-shared"),
        Some(f) if id.kind() == PrincipalKind::Relay && id.jurisdiction() == Some(f.home) => return Ok(()),
        Some(f) => tiprelay_common::localize::Msg::new("relay-identity-expected-federated").text("home", f.home),
    };
    Err(ServeError::WrongRelayIdentity { identity: id.to_string(), expected })
}

/// This machine's name, for the lease's holder (what a standby's log names).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty() && h.len() <= 253)
        .unwrap_or_else(|| "?".into())
}

/// Takes the PostgreSQL store's lease: at once when no other relay holds it; else waits as
/// a standby, trying every `lease::RETRY`, until it is free or `shutdown` is cancelled.
async fn take_lease(
    target: &storage::postgres::PgTarget,
    holder: String,
    shutdown: &CancellationToken,
) -> Result<storage::postgres::lease::Lease, ServeError> {
    use storage::postgres::lease::{Attempt, Seeker, RETRY};
    let mut seeker = Seeker::new(target, holder);
    let mut said: Option<String> = None;
    let mut warned: Option<std::time::Instant> = None;
    loop {
        let attempt = tokio::task::spawn_blocking(move || {
            let r = seeker.attempt();
            (seeker, r)
        });
        // A signal ends the wait even while an attempt is under way (bounded by the
        // connection timeouts, it then ends on its own; a lease it took is dropped).
        let (s, r) = tokio::select! {
            _ = shutdown.cancelled() => return Err(ServeError::Cancelled),
            done = attempt => done.map_err(|source| ServeError::Task { source })?,
        };
        seeker = s;
        match r {
            Ok(Attempt::Taken(lease)) => {
                info!(epoch = lease.state().epoch(), "this relay holds the store's lease and serves");
                return Ok(lease);
            }
            Ok(Attempt::HeldBy(h)) => {
                if said.as_deref() != Some(h.holder.as_str()) {
                    info!(
                        holder = %h.holder, epoch = h.epoch, since = %h.since,
                        "standby: another relay holds the store's lease; taking over when it stops"
                    );
                    said = Some(h.holder);
                }
            }
            Err(e) => {
                if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                    warn!(error = %e, "cannot reach the store to take its lease; retrying");
                    warned = Some(std::time::Instant::now());
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Err(ServeError::Cancelled),
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// Returns when the lease is lost; never without one (redb).
async fn lease_lost(lease: Option<Arc<storage::postgres::lease::LeaseState>>) {
    match lease {
        Some(l) => l.wait_lost().await,
        None => std::future::pending().await,
    }
}

async fn run(
    state: Arc<State>,
    endpoint: Endpoint,
    writer: WriterThread,
    lease: Option<storage::postgres::lease::Lease>,
) -> Result<(), ServeError> {
    let lost = lease_lost(lease.as_ref().map(storage::postgres::lease::Lease::state));
    tokio::pin!(lost);
    let mut lease_lost_now = false;
    let mut tasks = JoinSet::new();
    tasks.spawn(reload_trust(state.clone()));
    tasks.spawn(certificate_expiry(state.clone()));
    tasks.spawn(retention(state.clone()));
    tasks.spawn(checkpoints(state.clone()));
    tasks.spawn(audit_refusals(state.clone()));
    if let Some(fed) = state.config.federation.clone() {
        tasks.spawn(peer::link(state.clone(), endpoint.clone(), fed));
    }
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            () = &mut lost => {
                warn!("another relay took over the store's lease: this relay stops serving");
                lease_lost_now = true;
                break;
            }
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                if !incoming.remote_address_validated() {
                    // Stateless Retry: the peer must prove its address before we keep state.
                    let _ = incoming.retry();
                    continue;
                }
                // Only a validated address may start a handshake, and only within its share.
                let ip = incoming.remote_address().ip();
                if let Err(why) = state.pending().admit(ip) {
                    incoming.refuse();
                    let code = match why {
                        Refusal::SourceFull => "too_many_handshakes_from_source",
                        Refusal::TotalFull => "too_many_handshakes",
                    };
                    unauthenticated(&state, "auth_failed", code.into());
                    continue;
                }
                let ticket = PendingTicket { state: state.clone(), ip };
                tasks.spawn(connection(state.clone(), incoming, ticket));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    info!("shutting down: no new connections; finishing in-flight requests");
    state.metrics.set_ready(false);
    endpoint.set_server_config(None);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain).await.is_err() {
        tasks.abort_all();
    }
    endpoint.close(0u32.into(), b"relay shutting down");
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
    // Refusals counted while the connections drained.
    flush_refusals(&state).await;
    state
        .store
        .event(Event { principal: Some(state.relay_id.to_string()), ..Event::new("relay_stopped", storage::now()) });
    // Sign the log's end, so an export after shutdown is covered.
    if let Err(e) = state.store.checkpoint().await {
        warn!(error = %e, "final audit checkpoint failed");
    }
    // Dropping the last Store handle lets the writer drain its queue and exit.
    let store = state.store.clone();
    drop(state);
    drop(store);
    tokio::task::spawn_blocking(move || writer.join()).await.ok();
    // The lease goes last: another relay takes over only once this one wrote its last.
    drop(lease);
    if lease_lost_now {
        return Err(ServeError::LeaseLost);
    }
    info!("relay stopped; every acknowledged tip is on disk");
    Ok(())
}

/// Reloads roots and CRLs when their files change, so revocation takes effect within
/// `crl_reload` (DESIGN §1: ≤ 60 s; default 5 s).
async fn reload_trust(state: Arc<State>) {
    let mut seen = files::trust_fingerprint(&state.config.trust);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(state.config.crl_reload) => {}
        }
        let now = files::trust_fingerprint(&state.config.trust);
        if now == seen {
            continue;
        }
        match files::load_trust(&state.config.trust) {
            Ok(mut t) => {
                seen = now;
                t.set_crl_grace(state.config.crl_grace);
                let reloads = |outcome: &str| {
                    state.metrics.trust_reloads.get_or_create(&OutcomeLabels { outcome: outcome.into() }).inc();
                };
                if let Some(a) = older_crl(&state.trust.get(), &t) {
                    warn!(authority = %a, "refusing a CRL older than the one in use (lower CRL number); keeping the current one");
                    reloads("refused_older");
                    continue;
                }
                let floors = match crl_floors(&state.store, &t) {
                    Ok(f) => f,
                    Err(e) => {
                        warn!(error = %e, "refusing the changed trust files; keeping the current ones");
                        reloads("refused_older");
                        continue;
                    }
                };
                if let Err(e) = state.store.raise_meta(floors).await {
                    warn!(error = %e, "cannot record the new CRL numbers; keeping the current trust files");
                    reloads("store_error");
                    continue;
                }
                warn_stale_crls(&t);
                state.metrics.crls(&t);
                check_certificate_expiry(&state.config, &state.metrics);
                reloads("ok");
                state.trust.set(t);
                info!("trust material reloaded (roots and CRLs)");
                state.store.event(Event::new("trust_reloaded", storage::now()));
            }
            Err(e) => {
                warn!(error = %e, "changed trust files are unusable; keeping the previous ones");
                state.metrics.trust_reloads.get_or_create(&OutcomeLabels { outcome: "unusable".into() }).inc();
            }
        }
    }
}

/// Checks the configuration's certificates once a day while serving (at start and at each
/// trust reload too, outside this task): a warning per certificate within 30 days of its
/// notAfter, an error per expired one, and `tiprelay_certificate_expiry_seconds`.
async fn certificate_expiry(state: Arc<State>) {
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(86_400)) => {}
        }
        check_certificate_expiry(&state.config, &state.metrics);
    }
}

/// One pass of [`certificate_expiry`]: TLS, signing, and every trusted root (jurisdictions,
/// the relay operator, a federated peer's).
fn check_certificate_expiry(config: &RelayConfig, metrics: &Metrics) {
    use tiprelay_common::expiry::{self, ExpiryState};
    let certs = expiry::configured(&config.tls_cert, &config.signing_cert, &config.trust);
    let mut checked = Vec::new();
    for r in expiry::check(&certs, storage::now(), expiry::WARN_MS) {
        match r {
            Ok(c) => {
                let (file, not_after) = (c.path.display(), c.not_after);
                match c.state {
                    ExpiryState::Valid => {}
                    ExpiryState::ExpiresSoon => warn!(certificate = %c.name, %file, identity = %c.identity, %not_after,
                        days_left = c.days_left, "certificate expires within 30 days: renew it (tipcerts renew; a root: ask its authority) and install the new files"),
                    ExpiryState::Expired => {
                        tracing::error!(certificate = %c.name, %file, identity = %c.identity, %not_after,
                        "certificate has EXPIRED: peers refuse it; renew it (tipcerts renew; a root: ask its authority) and install the new files")
                    }
                }
                checked.push(c);
            }
            Err(e) => warn!(error = %e, "cannot read a configured certificate to check its expiry"),
        }
    }
    metrics.certificates(&checked);
}

/// Signs an audit checkpoint every `checkpoint_secs` when the log grew (the writer also
/// signs one every 1,000 entries).
async fn checkpoints(state: Arc<State>) {
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(state.config.checkpoint_every) => {}
        }
        if let Err(e) = state.store.checkpoint().await {
            warn!(error = %e, "audit checkpoint failed; will retry");
        }
    }
}

/// Purges acknowledged tip bodies past `retention_days`, hourly (DESIGN §4).
async fn retention(state: Arc<State>) {
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
        let keep_ms = state.config.retention_days.saturating_mul(86_400_000);
        let now = storage::now().as_unix_ms();
        let cutoff = tiprelay_proto::Timestamp::from_unix_ms(now.saturating_sub(keep_ms)).unwrap_or(storage::now());
        match state.store.purge(cutoff).await {
            Ok(0) => {}
            Ok(n) => info!(purged = n, "retention: purged acknowledged tip bodies"),
            Err(e) => warn!(error = %e, "retention pass failed; will retry"),
        }
    }
}

/// Checks `trust`'s CRLs against the numbers kept in the store; returns the numbers to keep.
fn crl_floors(store: &Store, trust: &tiprelay_proto::TrustStore) -> Result<Vec<(String, u64)>, CrlFloorError> {
    Ok(files::crl_floors(trust, |k| store.meta(k))??)
}

/// Warns about CRLs past their nextUpdate, loudly about those past the grace (refused).
fn warn_stale_crls(trust: &tiprelay_proto::TrustStore) {
    let now = storage::now();
    let expired = trust.expired_crls(now);
    for (a, next) in trust.stale_crls(now) {
        if expired.iter().any(|(e, _)| *e == a) {
            tracing::error!(authority = %a, next_update = %next, "CRL is past its nextUpdate and the [revocation] grace: every {a} principal is refused until a fresh CRL is installed");
        } else {
            warn!(authority = %a, next_update = %next, "CRL is past its nextUpdate; ask that authority for a fresh one");
        }
    }
}

/// The first authority one of whose CRLs in `new` has a lower number than the same root's
/// CRL in `old`, if any.
fn older_crl(old: &tiprelay_proto::TrustStore, new: &tiprelay_proto::TrustStore) -> Option<tiprelay_proto::Authority> {
    let had: std::collections::BTreeMap<_, _> =
        old.crl_numbers().into_iter().map(|(s, n)| ((s.authority, s.root), n)).collect();
    new.crl_numbers()
        .into_iter()
        .find(|(s, n)| match (had.get(&(s.authority, s.root)).copied().flatten(), n) {
            (Some(o), Some(n)) => *n < o,
            (Some(_), None) => true,
            _ => false,
        })
        .map(|(s, _)| s.authority)
}

struct Peer {
    identity: PrincipalId,
    jurisdiction: Jurisdiction,
    tls_cert: Vec<u8>,
}

fn peer_of(conn: &Connection) -> Option<Peer> {
    let certs = conn.peer_identity()?.downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>().ok()?;
    let cert = certs.first()?.to_vec();
    let identity = summarize_certificate(&cert).ok()?.identity?;
    let jurisdiction = identity.jurisdiction()?;
    Some(Peer { identity, jurisdiction, tls_cert: cert })
}

/// A fixed name for a failed handshake (the audit log never carries text a peer chose,
/// such as the reason of its CONNECTION_CLOSE).
fn handshake_failure(e: &quinn::ConnectionError) -> String {
    use quinn::ConnectionError as E;
    match e {
        E::VersionMismatch => "version_mismatch".into(),
        // The QUIC or TLS error code (a TLS alert is 0x100 + its number), not its text.
        E::TransportError(t) => format!("transport_error_{:#x}", u64::from(t.code)),
        E::ConnectionClosed(_) => "closed_by_peer".into(),
        E::ApplicationClosed(_) => "closed_by_peer_application".into(),
        E::Reset => "reset".into(),
        E::TimedOut => "handshake_timeout".into(),
        E::LocallyClosed => "locally_closed".into(),
        E::CidsExhausted => "cids_exhausted".into(),
    }
}

/// Records an unauthenticated failure in the audit log within its own budget; beyond it,
/// the failure is counted and the count logged each second.
fn unauthenticated(state: &State, kind: &str, code: String) {
    let mut log = state.rejections();
    if log.unauthenticated(std::time::Instant::now()) {
        let mut ev = Event::new(kind, storage::now());
        ev.code = Some(code.chars().take(200).collect());
        if !state.store.try_event(ev) {
            log.suppress_unauthenticated();
        }
    }
}

/// Writes the refusals counted beyond the per-window budgets, once a second (and once
/// more at shutdown), waiting for room in the writer's queue: none is lost.
async fn audit_refusals(state: Arc<State>) {
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(crate::core::rejections::WINDOW) => {}
        }
        flush_refusals(&state).await;
    }
}

/// Writes the counted refusals (see [`audit_refusals`]); `run` calls it once more after
/// the connections drained at shutdown.
async fn flush_refusals(state: &State) {
    {
        let flush = state.rejections().flush();
        for (principal, code, n) in flush.repeated {
            let ev = Event {
                principal: Some(principal),
                code: Some(code),
                seq: Some(n),
                ..Event::new("rejected_repeated", storage::now())
            };
            let _ = state.store.event_wait(ev).await;
        }
        if flush.unauthenticated_suppressed > 0 {
            let ev = Event {
                seq: Some(flush.unauthenticated_suppressed),
                ..Event::new("auth_failed_suppressed", storage::now())
            };
            let _ = state.store.event_wait(ev).await;
        }
    }
}

/// Per-connection byte budgets and the principal's limits.
struct Budget {
    requests: Arc<tokio::sync::Semaphore>,
    answers: Arc<tokio::sync::Semaphore>,
    slot: ConnectionSlot,
}

async fn connection(state: Arc<State>, incoming: quinn::Incoming, ticket: PendingTicket) {
    let remote = incoming.remote_address();
    // A handshake that does not complete in time is dropped, which closes it: a silent
    // peer holds its pending slot for at most `handshake_timeout`.
    let conn = match tokio::time::timeout(state.config.handshake_timeout, incoming).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            warn!(%remote, error = %e, "handshake failed");
            unauthenticated(&state, "auth_failed", handshake_failure(&e));
            return;
        }
        Err(_) => {
            info!(%remote, "handshake timed out");
            unauthenticated(&state, "auth_failed", "handshake_timeout".into());
            return;
        }
    };
    drop(ticket);
    let Some(peer) = peer_of(&conn) else {
        conn.close(1u32.into(), b"no principal identity");
        return;
    };
    let span = info_span!("conn", peer = %peer.identity, %remote);
    async move {
        // Only authenticated connections count against the connection cap.
        let Ok(_slot) = state.slots.clone().try_acquire_owned() else {
            let e = WireError::new(ErrorCode::Unavailable, "the relay is at its connection limit; try again later");
            reject(&state, &peer, None, &e);
            conn.close(4u32.into(), b"relay at its connection limit");
            return;
        };
        let Some(slot) = state.principals.connect(&peer.identity.to_string()) else {
            let e = WireError::new(
                ErrorCode::NotPermitted,
                format!(
                    "{} already has {} connections, the most one principal may have",
                    peer.identity, state.config.max_connections_per_principal
                ),
            );
            reject(&state, &peer, None, &e);
            conn.close(5u32.into(), b"too many connections for this principal");
            return;
        };
        info!("connected");
        // A clone shares the gauge's value (and holds no lock across the awaits below).
        let gauge = state
            .metrics
            .connections
            .get_or_create(&JurisdictionLabels { jurisdiction: peer.jurisdiction.as_str().into() })
            .clone();
        gauge.inc();
        let peer = Arc::new(peer);
        let budget = Arc::new(Budget {
            requests: Arc::new(tokio::sync::Semaphore::new(state.config.request_buffer_per_connection)),
            answers: Arc::new(tokio::sync::Semaphore::new(state.config.answer_buffer_per_connection)),
            slot,
        });
        let mut streams = JoinSet::new();
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                s = conn.accept_bi() => match s {
                    Ok((send, recv)) => { streams.spawn(stream(state.clone(), peer.clone(), conn.clone(), budget.clone(), send, recv).in_current_span()); }
                    Err(_) => break,
                },
                Some(_) = streams.join_next(), if !streams.is_empty() => {}
            }
        }
        // Let requests already received finish (a commit in flight completes).
        while streams.join_next().await.is_some() {}
        gauge.dec();
        info!("disconnected");
    }
    .instrument(span)
    .await;
}

/// How reading a request body ended.
enum Read {
    /// The body, and the bytes it holds from the connection's and principal's budgets.
    Body(Vec<u8>, Held),
    /// A refusal to answer (the peer is told why).
    Refuse(WireError),
    /// The stream broke: nothing to answer.
    Gone,
    /// The length, or the body once its bytes were reserved, did not arrive in time.
    TimedOut,
}

/// Reads one request frame: the length first, refused at once if over
/// [`MAX_BATCH_REQUEST_BYTES`] (or over [`MAX_REQUEST_BYTES`] for anything but a batch,
/// which the decoder checks); the body's bytes are reserved from the request budgets
/// before it is read, waiting at most `wait`. The length, and the body once reserved, must
/// each arrive within `wait`: time spent waiting for budget is the relay's, not the peer's.
async fn read_request(recv: &mut RecvStream, budget: &Budget, wait: Duration) -> Read {
    let mut prefix = [0u8; 4];
    let Ok(read) = tokio::time::timeout(wait, recv.read_exact(&mut prefix)).await else {
        return Read::TimedOut;
    };
    match read {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(got)) => {
            return Read::Refuse(WireError::new(
                ErrorCode::BadRequest,
                format!("the stream ended after {got} bytes, inside the 4-byte length prefix of the request frame"),
            ))
        }
        Err(quinn::ReadExactError::ReadError(_)) => return Read::Gone,
    }
    let n = u32::from_be_bytes(prefix) as usize;
    if n > MAX_BATCH_REQUEST_BYTES {
        return Read::Refuse(WireError::new(
            ErrorCode::Oversized,
            format!(
                "a request body is at most {MAX_REQUEST_BYTES} bytes ({MAX_BATCH_REQUEST_BYTES} for submit_batch and \
                 ack_batch); this one announces {n}"
            ),
        ));
    }
    let Some(held) = hold(&budget.requests, &budget.slot.principal.requests, n, wait).await else {
        return Read::Refuse(WireError::new(
            ErrorCode::Unavailable,
            "this connection (or principal) has too many request bytes in flight; send fewer at once",
        ));
    };
    let Ok(read) = tokio::time::timeout(wait, recv.read_to_end(n)).await else {
        return Read::TimedOut;
    };
    match read {
        Ok(body) if body.len() == n => Read::Body(body, held),
        Ok(_) => Read::Refuse(WireError::new(ErrorCode::BadRequest, "the stream ended before the frame did")),
        Err(quinn::ReadToEndError::TooLong) => {
            Read::Refuse(WireError::new(ErrorCode::BadRequest, "bytes after the request frame"))
        }
        Err(_) => Read::Gone,
    }
}

/// Application error code of a stream reset by the relay (PROTOCOL §10.2).
const RESET_TIMEOUT: u32 = 1;

/// Sends one answer frame and waits until the peer has read all of it, within the drain
/// deadline; a peer that does not read in time gets its stream reset. True when read.
async fn deliver(state: &State, send: &mut SendStream, frame: &[u8]) -> bool {
    let done = tokio::time::timeout(state.config.drain_timeout, async {
        send.write_all(frame).await.ok()?;
        send.finish().ok()?;
        send.stopped().await.ok()
    })
    .await;
    match done {
        Ok(Some(None)) => true,
        _ => {
            let _ = send.reset(RESET_TIMEOUT.into());
            false
        }
    }
}

/// Answers a request of `kind` with an error frame (small, and bounded in time like every
/// answer), and counts it.
async fn refuse(state: &State, send: &mut SendStream, kind: &str, e: WireError) {
    state.metrics.request(kind, &e.name);
    deliver(state, send, &Response::Error(e).encode()).await;
}

/// The kind of a request that did not decode, in metrics.
const UNDECODED: &str = "invalid";

async fn stream(
    state: Arc<State>,
    peer: Arc<Peer>,
    conn: Connection,
    budget: Arc<Budget>,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let wait = state.config.request_timeout;
    let (bytes, held_request) = match read_request(&mut recv, &budget, wait).await {
        Read::Body(b, held) => (b, held),
        Read::Refuse(e) => {
            reject(&state, &peer, None, &e);
            let _ = recv.stop(RESET_TIMEOUT.into());
            refuse(&state, &mut send, UNDECODED, e).await;
            return;
        }
        Read::Gone => return,
        Read::TimedOut => {
            // Retryable: a slow link or a busy relay is no reason to give a tip up.
            let e = WireError::new(
                ErrorCode::Unavailable,
                format!("request timed out: it was not received within {} s; send it again", wait.as_secs()),
            );
            reject(&state, &peer, None, &e);
            let _ = recv.stop(RESET_TIMEOUT.into());
            refuse(&state, &mut send, UNDECODED, e).await;
            return;
        }
    };
    let decoded = Request::decode_body(&bytes);
    // The envelopes were copied out: the raw body need not stay for the whole request.
    drop(bytes);
    let req = match decoded {
        Ok(r) => r,
        Err(e) => {
            let code = match e {
                tiprelay_proto::wire::FrameError::TooLarge(_) => ErrorCode::Oversized,
                _ => ErrorCode::BadRequest,
            };
            let e = WireError::new(code, e.to_string());
            reject(&state, &peer, None, &e);
            refuse(&state, &mut send, UNDECODED, e).await;
            return;
        }
    };
    // The connection's own certificate is re-checked on every request against the current
    // trust store (cached), so a CRL update also cuts off existing connections.
    if let Err(e) = state.trust.get().verify_cert(
        &peer.tls_cert,
        &[],
        peer.identity.authority(),
        CertUsage::TlsClient,
        storage::now(),
    ) {
        let w = proto_error(&e);
        reject(&state, &peer, None, &w);
        // Let the peer read why before the connection goes (bounded).
        refuse(&state, &mut send, request_name(&req), w).await;
        conn.close(2u32.into(), b"certificate no longer valid");
        return;
    }
    let kind = request_name(&req);
    if let Err(e) = authorize(peer.identity.kind(), &req) {
        reject(&state, &peer, None, &e);
        refuse(&state, &mut send, kind, e).await;
        return;
    }
    let (rate, n) = rate_of(&req);
    // The peer relay (federation) carries a whole jurisdiction's tips and acks, already
    // limited per principal at its own relay: those are not rate-limited on the link; its
    // other requests (feedback, statements, records, checkpoints, proofs) are.
    let limited = peer.identity.kind() != PrincipalKind::Relay
        || !matches!(req, Request::Forward { .. } | Request::AckBatch { .. });
    if let Err(wait) = budget.slot.principal.take(rate, if limited { n } else { 0 }, std::time::Instant::now()) {
        let e = core::bucket::rate_limited(&peer.identity, rate.name(), request_name(&req), wait);
        reject(&state, &peer, None, &e);
        refuse(&state, &mut send, kind, e).await;
        return;
    }
    if matches!(req, Request::Subscribe) {
        state.metrics.request(kind, "ok");
        drop(held_request);
        subscribe(state, peer, send).await;
        return;
    }
    // The answer's bytes are reserved before it is built, so a peer that does not read
    // cannot make the relay build more than its budgets.
    let estimate = answer_estimate(&req);
    let Some(mut held) = hold(&budget.answers, &budget.slot.principal.answers, estimate, wait).await else {
        let e = WireError::new(
            ErrorCode::Unavailable,
            "this connection (or principal) has too many unread answers; read them before asking for more",
        );
        reject(&state, &peer, None, &e);
        state.metrics.request(kind, &e.name);
        let _ = send.reset(RESET_TIMEOUT.into());
        return;
    };
    let started = std::time::Instant::now();
    let response = handle(&state, &peer, req).await;
    state.metrics.request(kind, if let Response::Error(e) = &response { &e.name } else { "ok" });
    state
        .metrics
        .request_seconds
        .get_or_create(&metrics::KindLabels { kind: kind.into() })
        .observe(started.elapsed().as_secs_f64());
    let frame = response.encode();
    drop(response);
    drop(held_request);
    if frame.len() > held.len() {
        drop(held);
        match hold(&budget.answers, &budget.slot.principal.answers, frame.len(), wait).await {
            Some(h) => held = h,
            None => {
                let _ = send.reset(RESET_TIMEOUT.into());
                return;
            }
        }
    }
    held.shrink_to(frame.len());
    deliver(&state, &mut send, &frame).await;
    drop(held);
}

fn proto_error(e: &ProtoError) -> WireError {
    WireError::new(e.code(), e.to_string())
}

fn store_error(e: &StoreError) -> WireError {
    match e {
        // The details (a database's errors, hosts) are the operator's, in the log.
        StoreError::Failed(_) => {
            warn!(error = %e, "storage failure; answered as unavailable");
            WireError::new(e.code(), "the relay's store is unavailable; retry")
        }
        _ => WireError::new(e.code(), e.to_string()),
    }
}

/// Logs an authenticated refusal, and records it in the audit log: individually within
/// the principal's budget per second, else counted in an aggregate entry (never dropped).
fn reject(state: &State, peer: &Peer, tip: Option<String>, e: &WireError) {
    warn!(code = %e.name, reason = %e.reason, tip = tip.as_deref().unwrap_or("-"), "request rejected");
    let identity = peer.identity.to_string();
    let mut log = state.rejections();
    if log.authenticated(&identity, &e.name, std::time::Instant::now()) == Entry::Aggregated {
        return;
    }
    let mut ev = Event::new("rejected", storage::now());
    ev.principal = Some(identity.clone());
    ev.tip = tip;
    ev.code = Some(e.name.clone());
    if !state.store.try_event(ev) {
        log.aggregate(&identity, &e.name);
    }
}

/// `status` counts a principal's pending tips up to this many (PROTOCOL §10: the count is
/// exact below it and means "this many or more" at it), so the answer stays cheap.
pub const STATUS_PENDING_CAP: usize = 10_000;

fn counterparts(state: &State, j: Jurisdiction) -> Vec<Jurisdiction> {
    state.config.jurisdictions.iter().copied().filter(|o| *o != j && state.config.pair_allowed(*o, j)).collect()
}

async fn handle(state: &Arc<State>, peer: &Arc<Peer>, req: Request) -> Response {
    match req {
        Request::Submit { envelope } => match submit_tips(state, peer, vec![envelope]).await.pop() {
            Some(Ok((receipt, duplicate))) => Response::Submitted { receipt, duplicate },
            Some(Err(e)) => Response::Error(e),
            None => Response::Error(WireError::new(ErrorCode::Unavailable, "no outcome")),
        },
        Request::SubmitBatch { envelopes } => {
            Response::SubmittedBatch { items: submit_tips(state, peer, envelopes).await }
        }
        Request::Ack { envelope } => match ack_tips(state, peer, vec![envelope]).await.pop() {
            Some(Ok(())) => Response::Acked,
            Some(Err(e)) => Response::Error(e),
            None => Response::Error(WireError::new(ErrorCode::Unavailable, "no outcome")),
        },
        Request::AckBatch { envelopes } => Response::AckedBatch { items: ack_tips(state, peer, envelopes).await },
        Request::Fetch { limit } => {
            if peer.identity.kind() != PrincipalKind::Analyst {
                return Response::Error(WireError::new(
                    ErrorCode::NotPermitted,
                    "feeds send tips only; they do not receive",
                ));
            }
            let (st, p) = (state.clone(), peer.clone());
            let limit = usize::try_from(limit.min(MAX_FETCH)).unwrap_or(1);
            let froms = counterparts(state, peer.jurisdiction);
            let r = tokio::task::spawn_blocking(move || {
                st.store.fetch(&p.identity.to_string(), p.jurisdiction, &froms, limit)
            })
            .await;
            match r {
                Ok(Ok((items, fresh))) => {
                    state.store.delivered(peer.identity.to_string(), fresh);
                    Response::Deliveries { items }
                }
                Ok(Err(e)) => Response::Error(store_error(&e)),
                Err(_) => Response::Error(WireError::new(ErrorCode::Unavailable, "fetch failed")),
            }
        }
        Request::Acks { after, limit } => {
            let (st, p) = (state.clone(), peer.clone());
            let limit = usize::try_from(limit).unwrap_or(1);
            match tokio::task::spawn_blocking(move || st.store.acks_for(&p.identity.to_string(), after, limit)).await {
                Ok(Ok(items)) => Response::Acks { items },
                Ok(Err(e)) => Response::Error(store_error(&e)),
                Err(_) => Response::Error(WireError::new(ErrorCode::Unavailable, "acks query failed")),
            }
        }
        Request::Status => {
            let (st, p) = (state.clone(), peer.clone());
            let froms = counterparts(state, peer.jurisdiction);
            let pending = if peer.identity.kind() == PrincipalKind::Analyst {
                tokio::task::spawn_blocking(move || {
                    st.store.pending(&p.identity.to_string(), p.jurisdiction, &froms, STATUS_PENDING_CAP)
                })
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0)
            } else {
                0
            };
            Response::Status {
                relay: state.relay_id.to_string(),
                you: peer.identity.to_string(),
                time: storage::now().as_unix_ms(),
                pending,
            }
        }
        Request::Subscribe => {
            Response::Error(WireError::new(ErrorCode::BadRequest, "subscribe is handled on its own stream"))
        }
        Request::Feedback { envelope } => match feedback(state, peer, envelope).await {
            Ok(r) => r,
            Err((tip, e)) => {
                reject(state, peer, tip, &e);
                Response::Error(e)
            }
        },
        Request::Statement { envelope } => match statement(state, peer, envelope).await {
            Ok(r) => r,
            Err((id, e)) => {
                reject(state, peer, id, &e);
                Response::Error(e)
            }
        },
        Request::Records { since, until, after, limit } => {
            let q = RecordQuery {
                since,
                until,
                after,
                party: Some(peer.jurisdiction),
                limit: usize::try_from(limit.min(MAX_RECORDS)).unwrap_or(1),
            };
            let st = state.clone();
            match tokio::task::spawn_blocking(move || st.store.records(&q)).await {
                Ok(Ok((items, next))) => Response::Records { items, next },
                Ok(Err(e)) => Response::Error(store_error(&e)),
                Err(_) => Response::Error(WireError::new(ErrorCode::Unavailable, "records query failed")),
            }
        }
        Request::Checkpoint { fresh } => {
            let r = if fresh { state.store.checkpoint().await } else { state.store.latest_checkpoint() };
            match r {
                Ok(checkpoint) => Response::Checkpoint { checkpoint },
                Err(e) => Response::Error(store_error(&e)),
            }
        }
        Request::Inclusion { index, size } => {
            let st = state.clone();
            match tokio::task::spawn_blocking(move || st.store.inclusion(index, size)).await {
                Ok(Ok((entry, proof))) => {
                    // The entry itself only when it concerns the asker's jurisdiction.
                    let visible = tiprelay_proto::audit::AuditEntry::decode(&entry).is_ok_and(|e| concerns(&e, peer));
                    Response::Proof { entry: visible.then_some(entry), proof }
                }
                Ok(Err(e)) => Response::Error(store_error(&e)),
                Err(_) => Response::Error(WireError::new(ErrorCode::Unavailable, "proof failed")),
            }
        }
        Request::Consistency { old, new } => {
            let st = state.clone();
            match tokio::task::spawn_blocking(move || st.store.consistency(old, new)).await {
                Ok(Ok(proof)) => Response::Proof { entry: None, proof },
                Ok(Err(e)) => Response::Error(store_error(&e)),
                Err(_) => Response::Error(WireError::new(ErrorCode::Unavailable, "proof failed")),
            }
        }
        Request::Forward { items } => Response::SubmittedBatch { items: peer::forward_in(state, peer, items).await },
        Request::PeerStatement { since, until } => {
            peer::peer_records(state, Request::RelayStatement { since, until }).await
        }
        Request::RelayStatement { since, until } => {
            let st = state.clone();
            match tokio::task::spawn_blocking(move || peer::relay_statement(&st, since, until)).await {
                Ok(Ok(envelope)) => Response::RelayStatement { envelope },
                Ok(Err(e)) => Response::Error(e),
                Err(_) => Response::Error(WireError::new(ErrorCode::Unavailable, "statement task failed")),
            }
        }
        Request::PeerRecords { since, until, after, limit } => {
            peer::peer_records(state, Request::Records { since, until, after, limit: limit.min(MAX_RECORDS) }).await
        }
        Request::Cosign { envelope } => match cosign(state, peer, envelope).await {
            Ok(r) => r,
            Err((_, e)) => {
                reject(state, peer, None, &e);
                Response::Error(e)
            }
        },
        Request::Statements { after, limit } => {
            let (st, j) = (state.clone(), peer.jurisdiction);
            let limit = usize::try_from(limit.min(MAX_STATEMENTS)).unwrap_or(1);
            match tokio::task::spawn_blocking(move || st.store.statements_for(j, after, limit)).await {
                Ok(Ok(items)) => Response::Statements { items },
                Ok(Err(e)) => Response::Error(store_error(&e)),
                Err(_) => Response::Error(WireError::new(ErrorCode::Unavailable, "statements query failed")),
            }
        }
    }
}

/// Whether an audit entry is about the peer's jurisdiction (its tips, or its principals).
fn concerns(e: &tiprelay_proto::audit::AuditEntry, peer: &Peer) -> bool {
    let j = peer.jurisdiction.as_str();
    let prefix = format!("tiprelay://{j}/");
    e.from.as_deref() == Some(j)
        || e.to.as_deref() == Some(j)
        || e.principal.as_deref().is_some_and(|p| p.starts_with(&prefix))
}

async fn cosign(state: &Arc<State>, peer: &Arc<Peer>, envelope: Vec<u8>) -> Result<Response, Rejection> {
    let (v, envelope) = verify_off_thread::<tiprelay_proto::Cosignature>(state, envelope).await?;
    core::tips::bound("cosignature", &v.signer, &peer.identity).map_err(|e| (None, e))?;
    let (size, root) = (v.message.size, v.message.root);
    match state.store.cosign(v.message, envelope).await {
        Ok(()) => {
            info!(size, root = %root.to_hex(), "checkpoint cosigned");
            Ok(Response::Acked)
        }
        Err(e) => Err((None, store_error(&e))),
    }
}

async fn feedback(state: &Arc<State>, peer: &Arc<Peer>, envelope: Vec<u8>) -> Result<Response, Rejection> {
    let relayed = peer.identity.kind() == PrincipalKind::Relay;
    let claimed: Option<fn(&Feedback) -> tiprelay_proto::Timestamp> = relayed.then_some(|f: &Feedback| f.created);
    let (v, envelope) = verify_at_off_thread::<Feedback>(state, envelope, claimed).await?;
    let fb = v.message;
    let tip = Some(fb.tip.to_string());
    let span = info_span!("feedback", id = %fb.id, tip = %fb.tip, outcome = %fb.outcome.as_str(), digest = %v.digest);
    core::tips::speaks_for("feedback", &v.signer, &peer.identity).map_err(|e| (tip.clone(), e))?;
    if !state.config.pair_allowed(fb.from, fb.to) {
        return Err((
            tip,
            WireError::new(ErrorCode::PairNotAllowed, format!("{} → {} is not a configured pair", fb.from, fb.to)),
        ));
    }
    if relayed {
        let seq =
            state.store.tip(fb.from, fb.tip.as_bytes()).map_err(|e| (tip.clone(), store_error(&e)))?.map(|r| r.seq);
        let crossed = match seq {
            Some(seq) => crossed_yet(state, fb.from, fb.to, seq).map_err(|e| (tip.clone(), store_error(&e)))?,
            None => true,
        };
        if !crossed {
            return Err((tip, not_crossed_yet(&fb.tip)));
        }
    }
    match state.store.feedback(fb, v.digest, envelope).instrument(span.clone()).await {
        Ok(s) => {
            let _g = span.enter();
            info!(seq = s.seq, duplicate = s.duplicate, "feedback accepted");
            Ok(Response::Submitted { receipt: s.receipt, duplicate: s.duplicate })
        }
        Err(e) => Err((tip, store_error(&e))),
    }
}

async fn statement(state: &Arc<State>, peer: &Arc<Peer>, envelope: Vec<u8>) -> Result<Response, Rejection> {
    let claimed: Option<fn(&LedgerStatement) -> tiprelay_proto::Timestamp> =
        (peer.identity.kind() == PrincipalKind::Relay).then_some(|s: &LedgerStatement| s.created);
    let (v, envelope) = verify_at_off_thread::<LedgerStatement>(state, envelope, claimed).await?;
    let st = v.message;
    let id = Some(st.id.to_string());
    let span = info_span!("statement", id = %st.id, from = %st.jurisdiction, to = %st.counterpart, digest = %v.digest);
    core::tips::speaks_for("statement", &v.signer, &peer.identity).map_err(|e| (id.clone(), e))?;
    if !state.config.jurisdictions.contains(&st.counterpart) {
        return Err((
            id,
            WireError::new(
                ErrorCode::UnknownJurisdiction,
                format!("{} is not a jurisdiction served by this relay", st.counterpart),
            ),
        ));
    }
    if !state.config.pair_allowed(st.jurisdiction, st.counterpart)
        && !state.config.pair_allowed(st.counterpart, st.jurisdiction)
    {
        return Err((
            id,
            WireError::new(
                ErrorCode::PairNotAllowed,
                format!("{} and {} exchange no tips here", st.jurisdiction, st.counterpart),
            ),
        ));
    }
    match state.store.statement(st, v.digest, envelope).instrument(span.clone()).await {
        Ok(s) => {
            let _g = span.enter();
            info!(seq = s.seq, duplicate = s.duplicate, "statement accepted");
            Ok(Response::Submitted { receipt: s.receipt, duplicate: s.duplicate })
        }
        Err(e) => Err((id, store_error(&e))),
    }
}

type Rejection = (Option<String>, WireError);

/// Runs the full verification of an envelope on the blocking pool (signature and chain
/// checks must not stall the async threads) and hands the bytes back.
async fn verify_off_thread<M: tiprelay_proto::Message + Send + 'static>(
    state: &Arc<State>,
    envelope: Vec<u8>,
) -> Result<(tiprelay_proto::Verified<M>, Vec<u8>), Rejection> {
    verify_at_off_thread::<M>(state, envelope, None).await
}

/// As [`verify_off_thread`]; with `claimed`, judged at the time the message claims
/// (bounded by this relay's clock, see [`judge_time`]) instead of now.
async fn verify_at_off_thread<M: tiprelay_proto::Message + Send + 'static>(
    state: &Arc<State>,
    envelope: Vec<u8>,
    claimed: Option<fn(&M) -> tiprelay_proto::Timestamp>,
) -> Result<(tiprelay_proto::Verified<M>, Vec<u8>), Rejection> {
    let trust = state.trust.get();
    let (verified, envelope) = tokio::task::spawn_blocking(move || {
        let now = storage::now();
        let at = match claimed {
            Some(f) => judge_time(&trust, tiprelay_proto::parse::<M>(&envelope).ok().map(|p| f(&p.message)), now),
            None => now,
        };
        (verify::<M>(&envelope, &trust, at), envelope)
    })
    .await
    .map_err(|_| (None, WireError::new(ErrorCode::Unavailable, "verification task failed")))?;
    Ok((verified.map_err(|e| (None, proto_error(&e)))?, envelope))
}

/// When a message a peer relay forwards is judged (federation): at the time it claims,
/// bounded by this relay's clock plus the allowed skew, as a recipient judges it (§14.2),
/// so a certificate that reached its end while the link was down does not void it. While
/// a CRL is past its grace the message is judged now: a claimed (peer-signed, so
/// backdatable) time never hides a stale CRL.
pub(crate) fn judge_time(
    trust: &tiprelay_proto::TrustStore,
    claimed: Option<tiprelay_proto::Timestamp>,
    now: tiprelay_proto::Timestamp,
) -> tiprelay_proto::Timestamp {
    if !trust.expired_crls(now).is_empty() {
        return now;
    }
    claimed.map_or(now, |t| t.min(now.saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS)))
}

/// Federation: whether the peer relay receipted home number `seq` of `from → to` (its
/// acks and feedback on a tip are taken only then: the tip's body is kept until it crossed).
fn crossed_yet(state: &State, from: Jurisdiction, to: Jurisdiction, seq: u64) -> Result<bool, StoreError> {
    let cursor = state.store.meta(&storage::counters::link_tips(from.as_str(), to.as_str()))?.unwrap_or(0);
    Ok(seq <= cursor)
}

/// The refusal of an ack or feedback the peer relay forwarded for a tip not yet recorded
/// here as crossed (retryable: the receipt is on its way).
fn not_crossed_yet(tip: &tiprelay_proto::TipId) -> WireError {
    WireError::new(
        ErrorCode::Unavailable,
        format!("tip {tip} is not yet recorded here as having crossed the link; send this again shortly"),
    )
}

/// What the request path decided for one tip envelope, before the writer.
enum Checked {
    /// A byte-identical resend of a tip this principal already has a receipt for, whose
    /// checks fail now (expired, revoked since): answered with the original receipt.
    Replay(Vec<u8>),
    /// Verified and allowed: for the writer.
    Write(Box<Tip>, Digest, Vec<u8>),
}

/// Parses (once), verifies and checks one tip envelope against the connection: §6, then
/// identity, jurisdiction and pair. Blocking (signature check, and a store read when the
/// checks fail). A byte-identical resend of a tip this principal already got a receipt for
/// is answered with that receipt even when a check now fails: it was verified when
/// accepted, and a resend after a lost answer must not turn into "expired" or "revoked".
/// When every check passes, the writer's own deduplication answers a resend.
fn check_tip(
    state: &State,
    peer: &Peer,
    trust: &tiprelay_proto::TrustStore,
    now: tiprelay_proto::Timestamp,
    envelope: Vec<u8>,
) -> Result<Checked, Rejection> {
    let parsed = tiprelay_proto::parse::<Tip>(&envelope).map_err(|e| (None, proto_error(&e)))?;
    let (from, id, digest) = (parsed.message.from, parsed.message.id, parsed.digest);
    let own = parsed.message.author == peer.identity;
    let checked = verify_parsed(parsed, trust, now).map_err(|e| (None, proto_error(&e))).and_then(|v| {
        let tip = v.message;
        let id = Some(tip.id.to_string());
        let checks = core::tips::bound("tip", &v.signer, &peer.identity).and_then(|()| {
            core::tips::routed(
                &tip,
                |j| state.config.jurisdictions.contains(&j),
                |f, t| state.config.pair_allowed(f, t),
            )
        });
        match checks {
            Ok(()) => Ok(Checked::Write(Box::new(tip), v.digest, envelope)),
            Err(e) => Err((id, e)),
        }
    });
    match checked {
        Err(rejection) if own => match state.store.tip(from, id.as_bytes()) {
            Ok(Some(rec)) if core::tips::replay_answers(own, Some(&rec.digest), &digest) => {
                Ok(Checked::Replay(rec.receipt))
            }
            _ => Err(rejection),
        },
        other => other,
    }
}

/// Runs [`check_tip`] on each envelope on the blocking pool; one outcome per envelope.
async fn check_tips(state: &Arc<State>, peer: &Arc<Peer>, envelopes: Vec<Vec<u8>>) -> Vec<Result<Checked, Rejection>> {
    let n = envelopes.len();
    let (st, p) = (state.clone(), peer.clone());
    let checked = tokio::task::spawn_blocking(move || {
        let (trust, now) = (st.trust.get(), storage::now());
        envelopes.into_iter().map(|e| check_tip(&st, &p, &trust, now, e)).collect::<Vec<_>>()
    })
    .await;
    checked.unwrap_or_else(|_| {
        (0..n).map(|_| Err((None, WireError::new(ErrorCode::Unavailable, "verification task failed")))).collect()
    })
}

fn tip_span(tip: &Tip, digest: &Digest) -> tracing::Span {
    info_span!("tip", id = %tip.id, category = %tip.category, from = %tip.from, to = %tip.to, digest = %digest)
}

/// `submit` and `submit_batch`: checks every envelope, commits the accepted ones in one
/// writer operation, and answers one outcome per envelope, in order.
async fn submit_tips(state: &Arc<State>, peer: &Arc<Peer>, envelopes: Vec<Vec<u8>>) -> Vec<BatchOutcome> {
    let checked = check_tips(state, peer, envelopes).await;
    let mut out: Vec<Option<BatchOutcome>> = Vec::with_capacity(checked.len());
    let mut writes = Vec::new();
    let mut slots = Vec::new();
    for (i, c) in checked.into_iter().enumerate() {
        match c {
            Ok(Checked::Replay(receipt)) => out.push(Some(Ok((receipt, true)))),
            Ok(Checked::Write(tip, digest, envelope)) => {
                out.push(None);
                slots.push((i, tip_span(&tip, &digest), tip.id));
                writes.push((tip, digest, envelope));
            }
            Err((tip, e)) => {
                reject(state, peer, tip, &e);
                out.push(Some(Err(e)));
            }
        }
    }
    if !writes.is_empty() {
        let results = match state.store.submit_many(writes).await {
            Ok(r) => r,
            Err(e) => slots.iter().map(|_| Err(e.clone())).collect(),
        };
        for ((i, span, id), r) in slots.into_iter().zip(results) {
            let _g = span.enter();
            let answer = match r {
                Ok(s) => {
                    info!(seq = s.seq, duplicate = s.duplicate, "accepted");
                    Ok((s.receipt, s.duplicate))
                }
                Err(e) => {
                    let w = store_error(&e);
                    reject(state, peer, Some(id.to_string()), &w);
                    Err(w)
                }
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(answer);
            }
        }
    }
    every_outcome(out)
}

/// The outcomes of a batch, each slot filled (a slot the writer left empty, which it never
/// should, becomes `unavailable`).
fn every_outcome<T>(out: Vec<Option<Result<T, WireError>>>) -> Vec<Result<T, WireError>> {
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(WireError::new(ErrorCode::Unavailable, "the writer returned no outcome"))))
        .collect()
}

/// Verifies one DeliveryAck (§6) and that the connection's principal signed it. Blocking.
fn check_ack(
    peer: &Peer,
    trust: &tiprelay_proto::TrustStore,
    now: tiprelay_proto::Timestamp,
    envelope: Vec<u8>,
) -> Result<(DeliveryAck, Vec<u8>), Rejection> {
    let at = if peer.identity.kind() == PrincipalKind::Relay {
        judge_time(trust, tiprelay_proto::parse::<DeliveryAck>(&envelope).ok().map(|p| p.message.received), now)
    } else {
        now
    };
    let v = verify::<DeliveryAck>(&envelope, trust, at).map_err(|e| (None, proto_error(&e)))?;
    core::tips::speaks_for("ack", &v.signer, &peer.identity).map_err(|e| (Some(v.message.tip.to_string()), e))?;
    Ok((v.message, envelope))
}

/// `ack` and `ack_batch`: verifies every envelope in one blocking task, records the valid
/// ones in one writer operation, and answers one outcome per envelope, in order.
async fn ack_tips(state: &Arc<State>, peer: &Arc<Peer>, envelopes: Vec<Vec<u8>>) -> Vec<Result<(), WireError>> {
    let n = envelopes.len();
    let (st, p) = (state.clone(), peer.clone());
    let checked = tokio::task::spawn_blocking(move || {
        let (trust, now) = (st.trust.get(), storage::now());
        let relayed = p.identity.kind() == PrincipalKind::Relay;
        envelopes
            .into_iter()
            .map(|e| {
                let (ack, e) = check_ack(&p, &trust, now, e)?;
                // Federation: the peer's ack of a tip is taken only once it crossed here.
                if relayed && !crossed_yet(&st, ack.from, ack.to, ack.seq).map_err(|x| (None, store_error(&x)))? {
                    return Err((Some(ack.tip.to_string()), not_crossed_yet(&ack.tip)));
                }
                Ok((ack, e))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_else(|_| {
        (0..n).map(|_| Err((None, WireError::new(ErrorCode::Unavailable, "verification task failed")))).collect()
    });
    let mut out: Vec<Option<Result<(), WireError>>> = Vec::with_capacity(n);
    let mut writes = Vec::new();
    let mut slots = Vec::new();
    for (i, c) in checked.into_iter().enumerate() {
        match c {
            Ok((ack, envelope)) => {
                out.push(None);
                slots.push((i, ack.tip, ack.refused.clone(), ack.by.to_string()));
                writes.push((ack, envelope));
            }
            Err((tip, e)) => {
                reject(state, peer, tip, &e);
                out.push(Some(Err(e)));
            }
        }
    }
    if !writes.is_empty() {
        let results = match state.store.ack_many(writes).await {
            Ok(r) => r,
            Err(e) => slots.iter().map(|_| Err(e.clone())).collect(),
        };
        for ((i, tip, refused, by), r) in slots.into_iter().zip(results) {
            let answer = match r {
                Ok(first) => {
                    match refused {
                        // The recipient's own words about the tip: its code and one line,
                        // never tip content.
                        Some(r) => {
                            warn!(tip = %tip, first, code = r.code.name(), by = %by, reason = %r.reason, "delivery refused by its recipient (signed refusal)");
                            state.metrics.refusals.get_or_create(&CodeLabels { code: r.code.name().into() }).inc();
                        }
                        None => info!(tip = %tip, first, "acknowledged"),
                    }
                    Ok(())
                }
                Err(e) => {
                    let w = store_error(&e);
                    reject(state, peer, Some(tip.to_string()), &w);
                    Err(w)
                }
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(answer);
            }
        }
    }
    every_outcome(out)
}

async fn subscribe(state: Arc<State>, peer: Arc<Peer>, mut send: SendStream) {
    let mut tips = state.store.notifier.tips(peer.jurisdiction);
    let mut acks = state.store.notifier.acks(peer.jurisdiction);
    let receives = peer.identity.kind() == PrincipalKind::Analyst;
    // Tell the subscriber to look once at the start: tips may be waiting already.
    let mut pending: Option<&str> = Some(if receives { "tips" } else { "acks" });
    loop {
        if let Some(kind) = pending.take() {
            let frame = Response::Event { kind: kind.into() }.encode();
            if send.write_all(&frame).await.is_err() {
                return;
            }
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            r = async { match tips.as_mut() { Some(t) if receives => t.changed().await, _ => std::future::pending().await } } => {
                if r.is_err() { break; }
                pending = Some("tips");
            }
            r = async { match acks.as_mut() { Some(a) => a.changed().await, None => std::future::pending().await } } => {
                if r.is_err() { break; }
                pending = Some("acks");
            }
            _ = send.stopped() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        // A principal revoked while subscribed loses its subscription too.
        if state
            .trust
            .get()
            .verify_cert(&peer.tls_cert, &[], peer.identity.authority(), CertUsage::TlsClient, storage::now())
            .is_err()
        {
            break;
        }
    }
    let _ = send.finish();
}
