//! The QUIC server: accept loop, connections, request handling, CRL reload, shutdown.
//!
//! Every task is owned (a `JoinSet`) and watches one `CancellationToken`. Shutdown stops
//! accepting, lets in-flight requests finish (their commits complete), closes the
//! endpoint, and finally joins the store writer, so everything acknowledged is on disk.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use quinn::{Connection, Endpoint, RecvStream, SendStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use tiprelay_client::files;
use tiprelay_proto::wire::{
    BatchOutcome, Request, Response, WireError, MAX_BATCH_REQUEST_BYTES, MAX_FETCH, MAX_RECORDS, MAX_REQUEST_BYTES,
    MAX_STATEMENTS,
};
use tiprelay_proto::{
    summarize_certificate, verify, verify_parsed, CertUsage, DeliveryAck, Digest, ErrorCode, Feedback, Jurisdiction,
    LedgerStatement, PrincipalId, PrincipalKind, ProtoError, Tip,
};

use crate::config::RelayConfig;
use crate::store::{self, Event, RecordQuery, Store, StoreError, WriterThread};
use crate::tls::{self, SharedTrust};

/// Shared state of a running relay.
struct State {
    config: RelayConfig,
    trust: SharedTrust,
    store: Store,
    relay_id: PrincipalId,
    shutdown: CancellationToken,
    events: EventBudget,
}

/// Caps how many rejection and authentication-failure events a second may add to the store,
/// so a flood of bad requests cannot fill the disk (they are still logged).
struct EventBudget {
    window: std::sync::Mutex<(std::time::Instant, u32)>,
}

impl EventBudget {
    const PER_SECOND: u32 = 50;

    fn new() -> Self {
        Self { window: std::sync::Mutex::new((std::time::Instant::now(), 0)) }
    }

    fn allow(&self) -> bool {
        let Ok(mut w) = self.window.lock() else { return false };
        if w.0.elapsed() >= Duration::from_secs(1) {
            *w = (std::time::Instant::now(), 0);
        }
        w.1 += 1;
        w.1 <= Self::PER_SECOND
    }
}

/// A running relay.
pub struct RelayHandle {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    main: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RelayHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A token that stops the relay when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops the relay gracefully and waits until every commit is on disk.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the relay stops (after its token is cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.main.await.context("relay task")?
    }
}

/// Starts a relay. With `socket`, serves on it instead of binding `config.listen`.
pub async fn start(config: RelayConfig, socket: Option<std::net::UdpSocket>) -> anyhow::Result<RelayHandle> {
    let trust = SharedTrust::new(files::load_trust(&config.trust)?);
    let chain = files::read_certs(&config.tls_cert)?;
    let key = files::read_key(&config.tls_key)?;
    let signer = files::read_signer(&config.signing_key, &config.signing_cert)?;
    let relay_id = signer.identity().clone();
    let server_cfg = tls::server_config(trust.clone(), chain, key, config.idle_timeout, config.max_streams)?;
    let socket = match socket {
        Some(s) => s,
        None => {
            std::net::UdpSocket::bind(config.listen).with_context(|| format!("cannot listen on {}", config.listen))?
        }
    };
    let endpoint =
        Endpoint::new(quinn::EndpointConfig::default(), Some(server_cfg), socket, Arc::new(quinn::TokioRuntime))?;
    let local_addr = endpoint.local_addr()?;
    let (store, writer) = Store::open(&config.store, signer, config.jurisdictions.iter().copied(), config.commit_batch)
        .with_context(|| format!("cannot open the store {}", config.store.display()))?;
    let detail = format!(
        "listen {local_addr}; jurisdictions {}; pairs {}",
        config.jurisdictions.iter().map(|j| j.as_str()).collect::<Vec<_>>().join(","),
        config.pairs.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(",")
    );
    store.event(Event {
        principal: Some(relay_id.to_string()),
        detail: Some(detail),
        ..Event::new("relay_started", store::now())
    });
    info!(relay = %relay_id, addr = %local_addr, store = %config.store.display(), "relay listening");
    let shutdown = CancellationToken::new();
    let state =
        Arc::new(State { config, trust, store, relay_id, shutdown: shutdown.clone(), events: EventBudget::new() });
    let main = tokio::spawn(run(state, endpoint, writer));
    Ok(RelayHandle { local_addr, shutdown, main })
}

async fn run(state: Arc<State>, endpoint: Endpoint, writer: WriterThread) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(reload_trust(state.clone()));
    tasks.spawn(retention(state.clone()));
    tasks.spawn(checkpoints(state.clone()));
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                if tasks.len() > state.config.max_connections {
                    incoming.refuse();
                    continue;
                }
                if !incoming.remote_address_validated() {
                    // Stateless Retry: the peer must prove its address before we keep state.
                    let _ = incoming.retry();
                    continue;
                }
                tasks.spawn(connection(state.clone(), incoming));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    info!("shutting down: no new connections; finishing in-flight requests");
    endpoint.set_server_config(None);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain).await.is_err() {
        tasks.abort_all();
    }
    endpoint.close(0u32.into(), b"relay shutting down");
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
    state
        .store
        .event(Event { principal: Some(state.relay_id.to_string()), ..Event::new("relay_stopped", store::now()) });
    // Sign the log's end, so an export after shutdown is covered.
    if let Err(e) = state.store.checkpoint().await {
        warn!(error = %e, "final audit checkpoint failed");
    }
    // Dropping the last Store handle lets the writer drain its queue and exit.
    let store = state.store.clone();
    drop(state);
    drop(store);
    tokio::task::spawn_blocking(move || writer.join()).await.ok();
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
            Ok(t) => {
                seen = now;
                if let Some(a) = older_crl(&state.trust.get(), &t) {
                    warn!(authority = %a, "refusing a CRL older than the one in use (lower CRL number); keeping the current one");
                    continue;
                }
                for (a, next) in t.stale_crls(store::now()) {
                    warn!(authority = %a, next_update = %next, "CRL is past its nextUpdate; ask that authority for a fresh one");
                }
                state.trust.set(t);
                info!("trust material reloaded (roots and CRLs)");
                state.store.event(Event::new("trust_reloaded", store::now()));
            }
            Err(e) => {
                warn!(error = %e, "changed trust files are unusable; keeping the previous ones")
            }
        }
    }
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
        let now = store::now().as_unix_ms();
        let cutoff = tiprelay_proto::Timestamp::from_unix_ms(now.saturating_sub(keep_ms)).unwrap_or(store::now());
        match state.store.purge(cutoff).await {
            Ok(0) => {}
            Ok(n) => info!(purged = n, "retention: purged acknowledged tip bodies"),
            Err(e) => warn!(error = %e, "retention pass failed; will retry"),
        }
    }
}

/// The first authority whose CRL in `new` has a lower number than in `old`, if any.
fn older_crl(old: &tiprelay_proto::TrustStore, new: &tiprelay_proto::TrustStore) -> Option<tiprelay_proto::Authority> {
    new.authorities().find(|a| {
        match (old.crl_info(*a).and_then(|i| i.number), new.crl_info(*a).and_then(|i| i.number)) {
            (Some(o), Some(n)) => n < o,
            (Some(_), None) => true,
            _ => false,
        }
    })
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

async fn connection(state: Arc<State>, incoming: quinn::Incoming) {
    let remote = incoming.remote_address();
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            warn!(%remote, error = %e, "handshake failed");
            if !state.events.allow() {
                return;
            }
            let mut ev = Event::new("auth_failed", store::now());
            ev.code = Some(e.to_string().chars().take(200).collect());
            state.store.event(ev);
            return;
        }
    };
    let Some(peer) = peer_of(&conn) else {
        conn.close(1u32.into(), b"no principal identity");
        return;
    };
    let span = info_span!("conn", peer = %peer.identity, %remote);
    async move {
        info!("connected");
        let peer = Arc::new(peer);
        let big = Arc::new(tokio::sync::Semaphore::new(BIG_REQUESTS_PER_CONNECTION));
        let mut streams = JoinSet::new();
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                s = conn.accept_bi() => match s {
                    Ok((send, recv)) => { streams.spawn(stream(state.clone(), peer.clone(), conn.clone(), big.clone(), send, recv).in_current_span()); }
                    Err(_) => break,
                },
                Some(_) = streams.join_next(), if !streams.is_empty() => {}
            }
        }
        // Let requests already received finish (a commit in flight completes).
        while streams.join_next().await.is_some() {}
        info!("disconnected");
    }
    .instrument(span)
    .await;
}

/// Requests with a body over [`MAX_REQUEST_BYTES`] (batches) that one connection may have
/// in flight; the others wait. Bounds a connection's request memory at about 5 MiB.
pub const BIG_REQUESTS_PER_CONNECTION: usize = 4;

/// How reading a request body ended.
enum Read {
    /// The body, and the permit a large body holds until it is answered.
    Body(Vec<u8>, Option<tokio::sync::OwnedSemaphorePermit>),
    /// A refusal to answer (the peer is told why).
    Refuse(WireError),
    /// The stream broke or the peer was too slow: nothing to answer.
    Gone,
}

/// Reads one request frame: the length first, refused at once if over
/// [`MAX_BATCH_REQUEST_BYTES`]; a body over [`MAX_REQUEST_BYTES`] waits for one of the
/// connection's [`BIG_REQUESTS_PER_CONNECTION`] permits before it is read.
async fn read_request(recv: &mut RecvStream, big: &Arc<tokio::sync::Semaphore>) -> Read {
    let mut prefix = [0u8; 4];
    if recv.read_exact(&mut prefix).await.is_err() {
        return Read::Gone;
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
    let permit = if n > MAX_REQUEST_BYTES {
        match big.clone().acquire_owned().await {
            Ok(p) => Some(p),
            Err(_) => return Read::Gone,
        }
    } else {
        None
    };
    match recv.read_to_end(n).await {
        Ok(body) if body.len() == n => Read::Body(body, permit),
        Ok(_) => Read::Refuse(WireError::new(ErrorCode::BadRequest, "the stream ended before the frame did")),
        Err(quinn::ReadToEndError::TooLong) => {
            Read::Refuse(WireError::new(ErrorCode::BadRequest, "bytes after the request frame"))
        }
        Err(_) => Read::Gone,
    }
}

async fn stream(
    state: Arc<State>,
    peer: Arc<Peer>,
    conn: Connection,
    big: Arc<tokio::sync::Semaphore>,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let read = tokio::time::timeout(state.config.request_timeout, read_request(&mut recv, &big)).await;
    let (bytes, _permit) = match read {
        Ok(Read::Body(b, permit)) => (b, permit),
        Ok(Read::Refuse(e)) => {
            reject(&state, &peer, None, &e);
            let _ = send.write_all(&Response::Error(e).encode()).await;
            let _ = send.finish();
            return;
        }
        _ => return,
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
            let _ = send.write_all(&Response::Error(e).encode()).await;
            let _ = send.finish();
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
        store::now(),
    ) {
        let w = proto_error(&e);
        reject(&state, &peer, None, &w);
        let _ = send.write_all(&Response::Error(w).encode()).await;
        let _ = send.finish();
        // Let the peer read why before the connection goes (bounded).
        let _ = tokio::time::timeout(Duration::from_secs(2), send.stopped()).await;
        conn.close(2u32.into(), b"certificate no longer valid");
        return;
    }
    if matches!(req, Request::Subscribe) {
        subscribe(state, peer, send).await;
        return;
    }
    let resp = handle(&state, &peer, req).await;
    // A peer that never opens its flow-control window must not pin this task forever.
    let write = tokio::time::timeout(state.config.request_timeout * 3, send.write_all(&resp.encode())).await;
    if !matches!(write, Ok(Ok(()))) {
        let _ = send.reset(0u32.into());
        return;
    }
    let _ = send.finish();
    // Wait (bounded) for the peer to read the answer before the stream is dropped.
    let _ = tokio::time::timeout(Duration::from_secs(5), send.stopped()).await;
}

fn proto_error(e: &ProtoError) -> WireError {
    WireError::new(e.code(), e.to_string())
}

fn store_error(e: &StoreError) -> WireError {
    WireError::new(e.code(), e.to_string())
}

fn reject(state: &State, peer: &Peer, tip: Option<String>, e: &WireError) {
    warn!(code = %e.name, reason = %e.reason, tip = tip.as_deref().unwrap_or("-"), "request rejected");
    if !state.events.allow() {
        return;
    }
    let mut ev = Event::new("rejected", store::now());
    ev.principal = Some(peer.identity.to_string());
    ev.tip = tip;
    ev.code = Some(e.name.clone());
    state.store.event(ev);
}

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
                    st.store.pending(&p.identity.to_string(), p.jurisdiction, &froms, 1_000_000)
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
                time: store::now().as_unix_ms(),
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
    if v.signer != peer.identity {
        return Err((None, not_yours("cosignature", &v.signer, peer)));
    }
    let (size, root) = (v.message.size, v.message.root);
    match state.store.cosign(v.message, envelope).await {
        Ok(()) => {
            info!(size, root = %root.to_hex(), "checkpoint cosigned");
            Ok(Response::Acked)
        }
        Err(e) => Err((None, store_error(&e))),
    }
}

fn not_yours(what: &str, signer: &PrincipalId, peer: &Peer) -> WireError {
    WireError::new(
        ErrorCode::IdentityMismatch,
        format!("the {what} is signed by {signer} but this connection is authenticated as {}", peer.identity),
    )
}

async fn feedback(state: &Arc<State>, peer: &Arc<Peer>, envelope: Vec<u8>) -> Result<Response, Rejection> {
    let (v, envelope) = verify_off_thread::<Feedback>(state, envelope).await?;
    let fb = v.message;
    let tip = Some(fb.tip.to_string());
    let span = info_span!("feedback", id = %fb.id, tip = %fb.tip, outcome = %fb.outcome.as_str(), digest = %v.digest);
    if v.signer != peer.identity {
        return Err((tip, not_yours("feedback", &v.signer, peer)));
    }
    if !state.config.pair_allowed(fb.from, fb.to) {
        return Err((
            tip,
            WireError::new(ErrorCode::PairNotAllowed, format!("{} → {} is not a configured pair", fb.from, fb.to)),
        ));
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
    let (v, envelope) = verify_off_thread::<LedgerStatement>(state, envelope).await?;
    let st = v.message;
    let id = Some(st.id.to_string());
    let span = info_span!("statement", id = %st.id, from = %st.jurisdiction, to = %st.counterpart, digest = %v.digest);
    if v.signer != peer.identity {
        return Err((id, not_yours("statement", &v.signer, peer)));
    }
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
    let trust = state.trust.get();
    let (verified, envelope) =
        tokio::task::spawn_blocking(move || (verify::<M>(&envelope, &trust, store::now()), envelope))
            .await
            .map_err(|_| (None, WireError::new(ErrorCode::Unavailable, "verification task failed")))?;
    Ok((verified.map_err(|e| (None, proto_error(&e)))?, envelope))
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
        if v.signer != peer.identity {
            return Err((
                id,
                WireError::new(
                    ErrorCode::IdentityMismatch,
                    format!(
                        "the tip is signed by {} but this connection is authenticated as {}; principals submit \
                         only their own tips",
                        v.signer, peer.identity
                    ),
                ),
            ));
        }
        if !state.config.jurisdictions.contains(&tip.to) {
            return Err((
                id,
                WireError::new(
                    ErrorCode::UnknownJurisdiction,
                    format!("{} is not a jurisdiction served by this relay", tip.to),
                ),
            ));
        }
        if !state.config.pair_allowed(tip.from, tip.to) {
            return Err((
                id,
                WireError::new(
                    ErrorCode::PairNotAllowed,
                    format!("{} → {} is not a configured pair", tip.from, tip.to),
                ),
            ));
        }
        Ok(Checked::Write(Box::new(tip), v.digest, envelope))
    });
    match checked {
        Err(rejection) if own => match state.store.tip(from, id.as_bytes()) {
            Ok(Some(rec)) if rec.digest == digest.0 => Ok(Checked::Replay(rec.receipt)),
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
        let (trust, now) = (st.trust.get(), store::now());
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
    let v = verify::<DeliveryAck>(&envelope, trust, now).map_err(|e| (None, proto_error(&e)))?;
    if v.signer != peer.identity {
        return Err((
            Some(v.message.tip.to_string()),
            WireError::new(
                ErrorCode::IdentityMismatch,
                format!("the ack is signed by {} but this connection is authenticated as {}", v.signer, peer.identity),
            ),
        ));
    }
    Ok((v.message, envelope))
}

/// `ack` and `ack_batch`: verifies every envelope in one blocking task, records the valid
/// ones in one writer operation, and answers one outcome per envelope, in order.
async fn ack_tips(state: &Arc<State>, peer: &Arc<Peer>, envelopes: Vec<Vec<u8>>) -> Vec<Result<(), WireError>> {
    let n = envelopes.len();
    let (st, p) = (state.clone(), peer.clone());
    let checked = tokio::task::spawn_blocking(move || {
        let (trust, now) = (st.trust.get(), store::now());
        envelopes.into_iter().map(|e| check_ack(&p, &trust, now, e)).collect::<Vec<_>>()
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
                slots.push((i, ack.tip));
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
        for ((i, tip), r) in slots.into_iter().zip(results) {
            let answer = match r {
                Ok(first) => {
                    info!(tip = %tip, first, "acknowledged");
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
            .verify_cert(&peer.tls_cert, &[], peer.identity.authority(), CertUsage::TlsClient, store::now())
            .is_err()
        {
            break;
        }
    }
    let _ = send.finish();
}
