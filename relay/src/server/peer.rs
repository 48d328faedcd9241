//! Federation (PROTOCOL §14): the peering link between two jurisdictions' relays.
//!
//! * **Out**: [`link`] dials the peer relay from this relay's own UDP socket (one port
//!   between the two relays), authenticating with this relay's TLS certificate, and pushes
//!   what this side owes the other, each stream from a durable cursor: the tips of
//!   direction home → peer in home sequence order (`forward`), then this side's acks and
//!   feedback on the peer's tips (`ack_batch`, `feedback`) and its ledger statements for the
//!   peer (`statement`). A tip counts as crossed only once the peer relay's receipt is
//!   checked and stored here, with the cursor, in one transaction: resends after a crash or
//!   a cut are idempotent on both sides, so every tip crosses exactly once.
//! * **In**: [`forward_in`] answers the peer's `forward`: the author's signature and chain
//!   and the home relay's receipt are verified here, and the home number must be exactly
//!   the next of its direction (a gap is refused with `sequence_gap`, logged and counted:
//!   proof of omission across the border).
//! * While the link is down nothing stops: principals keep sending and receiving at home,
//!   and the queue (its length and age in the metrics and `tiprelay peers`) drains in
//!   order when the link returns. Reconnection backs off from 200 ms to 5 s.

use std::sync::Arc;
use std::time::Duration;

use quinn::{Connection, Endpoint};
use tiprelay_common::files;
use tiprelay_proto::wire::{BatchOutcome, ForwardedTip, NoticeBody, Request, Response, WireError, MAX_FRAME_BYTES};
use tiprelay_proto::{verify, Authority, ErrorCode, Jurisdiction, Receipt, Tip};
use tracing::{error, info, warn};

use super::{proto_error, reject, store_error, Peer, Rejection, State};
use crate::config::Federation;
use crate::core::federation::{self as rules, HeldHere, Step};
use crate::metrics::PeerLabels;
use crate::storage::{self, counters, CrossedTip, Event, StoreError};

/// Most tips per `forward` request.
const FORWARD_TIPS: usize = tiprelay_proto::wire::MAX_BATCH_TIPS;
/// About the most bytes of envelopes per `forward` request (under the 256 KiB bound).
const FORWARD_BYTES: usize = 200 * 1024;
/// How long one request over the link may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Reconnection backoff: first and longest wait.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long a stream waits for news before it looks again anyway.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Why the link stopped (it is re-dialled).
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("cannot build the link's TLS configuration: {0}")]
    Setup(String),
    #[error("cannot connect to {addr}: {why}")]
    Connect { addr: std::net::SocketAddr, why: String },
    #[error("the peer relay presented {0}, not a relay of the peer jurisdiction")]
    WrongPeer(String),
    #[error("connection lost: {0}")]
    Lost(String),
    #[error("the peer's answer is not a frame of this protocol: {0}")]
    Protocol(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the relay is shutting down")]
    Stopping,
}

fn labels(peer: Jurisdiction) -> PeerLabels {
    PeerLabels { peer: peer.as_str().to_owned() }
}

/// Keeps the link to the peer relay up and pushes this side's queues over it, until
/// shutdown; also keeps the link's gauges current.
pub(super) async fn link(state: Arc<State>, endpoint: Endpoint, fed: Federation) {
    let peer = fed.peer.jurisdiction;
    tokio::spawn(gauges(state.clone(), fed.clone()));
    let mut backoff = BACKOFF_MIN;
    let mut said_down: Option<String> = None;
    loop {
        if state.shutdown.is_cancelled() {
            return;
        }
        let connected = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            c = connect(&state, &endpoint, &fed) => c,
        };
        match connected {
            Ok(conn) => {
                info!(peer = %peer, addr = %fed.peer.address, "link to the peer relay is up");
                state.metrics.peer_up.get_or_create(&labels(peer)).set(1);
                set_link(&state, Some(conn.clone()));
                backoff = BACKOFF_MIN;
                said_down = None;
                let why = drive(&state, &conn, &fed).await;
                set_link(&state, None);
                state.metrics.peer_up.get_or_create(&labels(peer)).set(0);
                conn.close(0u32.into(), b"link restarts");
                match why {
                    LinkError::Stopping => return,
                    e => warn!(peer = %peer, error = %e, "link to the peer relay is down; tips queue here"),
                }
            }
            Err(e) => {
                let text = e.to_string();
                if said_down.as_deref() != Some(text.as_str()) {
                    warn!(peer = %peer, error = %text, "cannot reach the peer relay; tips queue here, retrying");
                    said_down = Some(text);
                }
            }
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn set_link(state: &State, conn: Option<Connection>) {
    match state.link_out.lock() {
        Ok(mut g) => *g = conn,
        Err(poisoned) => *poisoned.into_inner() = conn,
    }
}

fn current_link(state: &State) -> Option<Connection> {
    match state.link_out.lock() {
        Ok(g) => g.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// `peer_records` and `peer_statement` (PROTOCOL §14.7): the peer relay's records, or its
/// signed statement of them, asked over the link and passed on unchanged (the principal
/// checks and reconciles them).
pub(super) async fn peer_records(state: &Arc<State>, records: Request) -> Response {
    let Some(fed) = state.config.federation.as_ref() else {
        return Response::Error(WireError::new(
            ErrorCode::NotPermitted,
            "this relay is shared by the jurisdictions (hub mode): it has no peer relay; its own `records` cover both sides",
        ));
    };
    let peer = fed.peer.jurisdiction;
    let unavailable = |why: String| {
        Response::Error(WireError::new(ErrorCode::Unavailable, format!("{peer}'s relay cannot be asked now: {why}")))
    };
    let Some(conn) = current_link(state) else {
        return unavailable("the link is down".into());
    };
    match request(&conn, &records).await {
        Ok(r @ (Response::Records { .. } | Response::RelayStatement { .. })) => r,
        Ok(Response::Error(e)) => {
            unavailable(format!("it answered {}", ErrorCode::from_u16(e.code).map_or("unknown", ErrorCode::name)))
        }
        Ok(_) => unavailable("it answered with something else than records".into()),
        Err(e) => unavailable(e.to_string()),
    }
}

/// `relay_statement` (PROTOCOL §14.7, blocking): this relay's LedgerStatement of its own
/// records of the pair for `[since, until)`, signed with its key.
pub(super) fn relay_statement(state: &State, since: u64, until: u64) -> Result<Vec<u8>, WireError> {
    let Some(fed) = state.config.federation.as_ref() else {
        return Err(WireError::new(ErrorCode::NotPermitted, "this relay is not federated"));
    };
    let (start, end) =
        match (tiprelay_proto::Timestamp::from_unix_ms(since), tiprelay_proto::Timestamp::from_unix_ms(until)) {
            (Some(s), Some(e)) if s < e => (s, e),
            _ => return Err(WireError::new(ErrorCode::BadRequest, "the period must have since < until")),
        };
    let mut facts = Vec::new();
    let mut after = None;
    // Bounded: at most 20 million records of the pair in one period.
    for _ in 0..20_000 {
        let q = storage::RecordQuery {
            since,
            until,
            after: after.take(),
            party: Some(fed.peer.jurisdiction),
            limit: usize::try_from(tiprelay_proto::wire::MAX_RECORDS).unwrap_or(1024),
        };
        let (items, next) = state.store.records(&q).map_err(|e| super::store_error(&e))?;
        facts.extend(items);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let now = storage::now();
    let mut r = [0u8; 10];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut r)
        .map_err(|_| WireError::new(ErrorCode::Unavailable, "no randomness for a statement id"))?;
    let st = tiprelay_common::ledger::build_statement(
        &facts,
        fed.home,
        fed.peer.jurisdiction,
        tiprelay_common::ledger::Range { start, end },
        state.relay_id.clone(),
        tiprelay_proto::TipId::new_v7(now, r),
        now,
    );
    state
        .signer
        .sign(&st)
        .map_err(|e| WireError::new(ErrorCode::Unavailable, format!("cannot sign the statement: {e}")))
}

/// Dials the peer relay and checks who answered.
async fn connect(state: &State, endpoint: &Endpoint, fed: &Federation) -> Result<Connection, LinkError> {
    let setup = |e: &dyn std::fmt::Display| LinkError::Setup(e.to_string());
    let peer_files = state
        .config
        .trust
        .iter()
        .find(|t| t.authority == Authority::Jurisdiction(fed.peer.jurisdiction))
        .ok_or_else(|| LinkError::Setup(format!("no root configured for {}", fed.peer.jurisdiction)))?;
    // Read at each dial, so a renewed root or CRL takes effect at the next connection.
    // Every root of the file (two during a CA rollover) and every CRL.
    let root = files::read_certs(&peer_files.ca).map_err(|e| setup(&e))?;
    let crl = files::read_crls(&peer_files.crl).map_err(|e| setup(&e))?;
    let chain = files::read_certs(&state.config.tls_cert).map_err(|e| setup(&e))?;
    let key = files::read_key(&state.config.tls_key).map_err(|e| setup(&e))?;
    let cfg = crate::tls::peer_client_config(root, crl, chain, key, &state.config).map_err(|e| setup(&e))?;
    let addr = fed.peer.address;
    let connecting = endpoint
        .connect_with(cfg, addr, &fed.peer.server_name)
        .map_err(|e| LinkError::Connect { addr, why: e.to_string() })?;
    let conn = tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .map_err(|_| LinkError::Connect { addr, why: "handshake timed out".into() })?
        .map_err(|e| LinkError::Connect { addr, why: e.to_string() })?;
    let who = super::peer_of(&conn).map(|p| p.identity);
    match who {
        Some(id) if id == fed.peer.identity => Ok(conn),
        other => {
            conn.close(1u32.into(), b"not the peer relay");
            Err(LinkError::WrongPeer(other.map_or_else(|| "no tiprelay identity".into(), |i| i.to_string())))
        }
    }
}

/// Runs the three outgoing streams over one connection until one fails.
async fn drive(state: &Arc<State>, conn: &Connection, fed: &Federation) -> LinkError {
    let r = tokio::select! {
        _ = state.shutdown.cancelled() => Err(LinkError::Stopping),
        r = push_tips(state, conn, fed) => r,
        r = push_notices(state, conn, fed.peer.jurisdiction) => r,
        r = push_statements(state, conn, fed.peer.jurisdiction) => r,
        r = witness(state, conn, fed) => r,
        e = conn.closed() => Err(LinkError::Lost(e.to_string())),
    };
    match r {
        Ok(()) => LinkError::Stopping,
        Err(e) => e,
    }
}

/// One request over the link and its answer.
async fn request(conn: &Connection, req: &Request) -> Result<Response, LinkError> {
    let exchange = async {
        let (mut send, mut recv) = conn.open_bi().await.map_err(|e| LinkError::Lost(e.to_string()))?;
        send.write_all(&req.encode()).await.map_err(|e| LinkError::Lost(e.to_string()))?;
        send.finish().map_err(|e| LinkError::Lost(e.to_string()))?;
        let bytes = recv.read_to_end(MAX_FRAME_BYTES + 4).await.map_err(|e| LinkError::Lost(e.to_string()))?;
        Response::decode(&bytes).map_err(|e| LinkError::Protocol(e.to_string()))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange).await.map_err(|_| LinkError::Lost("request timed out".into()))?
}

/// Waits for news on `rx` (or `IDLE_POLL`, or shutdown).
async fn wait_news(state: &State, rx: Option<&mut tokio::sync::watch::Receiver<u64>>) -> Result<(), LinkError> {
    let news = async {
        match rx {
            Some(rx) => {
                let _ = rx.changed().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = state.shutdown.cancelled() => Err(LinkError::Stopping),
        _ = news => Ok(()),
        _ = tokio::time::sleep(IDLE_POLL) => Ok(()),
    }
}

/// Whether a refusal by the peer may pass if the same thing is sent again later (§7).
fn retryable(e: &WireError) -> bool {
    matches!(
        ErrorCode::from_u16(e.code),
        Some(
            ErrorCode::StorageFull
                | ErrorCode::Unavailable
                | ErrorCode::RateLimited
                | ErrorCode::QuotaExceeded
                | ErrorCode::RevocationUnknown
                | ErrorCode::CreatedInFuture
        )
    )
}

/// Pushes the tips of direction home → peer after the link's cursor, in order.
async fn push_tips(state: &Arc<State>, conn: &Connection, fed: &Federation) -> Result<(), LinkError> {
    let (home, peer) = (fed.home, fed.peer.jurisdiction);
    let mut news = state.store.notifier.tips(peer);
    let mut pause = Duration::ZERO;
    loop {
        if !pause.is_zero() {
            tokio::select! {
                _ = state.shutdown.cancelled() => return Err(LinkError::Stopping),
                _ = tokio::time::sleep(pause) => {}
            }
        }
        let st = state.clone();
        let queue = tokio::task::spawn_blocking(move || st.store.link_queue(home, peer, FORWARD_TIPS, FORWARD_BYTES))
            .await
            .map_err(|e| LinkError::Store(StoreError::Failed(e.to_string())))??;
        if queue.is_empty() {
            pause = Duration::ZERO;
            wait_news(state, news.as_mut()).await?;
            continue;
        }
        let seqs: Vec<u64> = queue.iter().map(|(s, _)| *s).collect();
        let items: Vec<ForwardedTip> = queue.into_iter().map(|(_, f)| f).collect();
        let answer = request(conn, &Request::Forward { items: items.clone() }).await?;
        let outcomes = match answer {
            Response::SubmittedBatch { items } if items.len() == seqs.len() => items,
            Response::Error(e) => {
                let code = ErrorCode::from_u16(e.code).map_or("unknown", ErrorCode::name);
                warn!(peer = %peer, code, "the peer relay refused a forward; retrying");
                pause = Duration::from_secs(1);
                continue;
            }
            other => return Err(LinkError::Protocol(format!("unexpected answer to forward: {}", other.kind()))),
        };
        let st = state.clone();
        let checked = tokio::task::spawn_blocking(move || crossed_items(&st, peer, &items, &seqs, outcomes))
            .await
            .map_err(|e| LinkError::Store(StoreError::Failed(e.to_string())))?;
        let (crossed, stop) = checked;
        let n = crossed.len() as u64;
        if !crossed.is_empty() {
            state.store.crossed(peer, crossed).await?;
            state.metrics.peer_tips_crossed.get_or_create(&labels(peer)).inc_by(n);
        }
        pause = match stop {
            None => Duration::ZERO,
            Some((seq, e)) => {
                // The code's own name, never the peer's text.
                let code = ErrorCode::from_u16(e.code).map_or("unknown", ErrorCode::name);
                if e.code == ErrorCode::SequenceGap as u16 {
                    state.metrics.peer_sequence_gaps.get_or_create(&labels(peer)).inc();
                    error!(peer = %peer, seq, "ALARM: the peer relay reports a gap in the home sequence {home} → {peer}");
                } else if retryable(&e) {
                    info!(peer = %peer, seq, code, "the peer relay asks to retry a forwarded tip later");
                } else {
                    error!(
                        peer = %peer, seq, code,
                        "the peer relay refuses tip number {seq} {home} → {peer}; the link's tips wait behind it"
                    );
                }
                if retryable(&e) {
                    Duration::from_secs(1)
                } else {
                    Duration::from_secs(5)
                }
            }
        };
    }
}

/// The tips of a `forward` the peer receipted, each receipt checked, up to the first that
/// was refused or does not check (returned with its home number).
fn crossed_items(
    state: &State,
    peer: Jurisdiction,
    items: &[ForwardedTip],
    seqs: &[u64],
    outcomes: Vec<BatchOutcome>,
) -> (Vec<CrossedTip>, Option<(u64, WireError)>) {
    let trust = state.trust.get();
    let now = storage::now();
    let mut out = Vec::new();
    for ((item, seq), outcome) in items.iter().zip(seqs).zip(outcomes) {
        let receipt = match outcome {
            Ok((receipt, _duplicate)) => receipt,
            Err(e) => return (out, Some((*seq, e))),
        };
        let home = match tiprelay_proto::parse::<Receipt>(&item.receipt) {
            Ok(p) => p.message,
            Err(e) => return (out, Some((*seq, proto_error(&e)))),
        };
        let checked = verify::<Receipt>(&receipt, &trust, now)
            .map_err(|e| e.to_string())
            .and_then(|v| rules::peer_receipt_matches(&v.message, &v.signer, peer, &home));
        if let Err(why) = checked {
            error!(peer = %peer, seq, %why, "ALARM: the peer relay's receipt does not check; the tip is not recorded as crossed");
            let e = WireError::new(ErrorCode::BadRequest, format!("the peer's receipt does not check: {why}"));
            return (out, Some((*seq, e)));
        }
        out.push(CrossedTip { from: home.from, id: *home.tip.as_bytes(), seq: *seq, receipt });
    }
    (out, None)
}

/// Pushes this side's acks and feedback on the peer's tips (the link's notice queue).
async fn push_notices(state: &Arc<State>, conn: &Connection, peer: Jurisdiction) -> Result<(), LinkError> {
    let queue = storage::link_key(peer.as_str());
    let cursor_key = counters::link_notices(peer.as_str());
    let mut news = state.store.notifier.acks(peer);
    loop {
        let after = state.store.meta(&cursor_key)?.unwrap_or(0);
        let (st, q) = (state.clone(), queue.clone());
        let notices = tokio::task::spawn_blocking(move || st.store.acks_for(&q, after, 64))
            .await
            .map_err(|e| LinkError::Store(StoreError::Failed(e.to_string())))??;
        if notices.is_empty() {
            wait_news(state, news.as_mut()).await?;
            continue;
        }
        let mut done = after;
        let mut acks: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut retry = false;
        let batch_end = notices.last().map_or(after, |n| n.index);
        for n in notices {
            match n.body {
                NoticeBody::Ack(a) => acks.push((n.index, a)),
                NoticeBody::Feedback { feedback, .. } => {
                    match send_acks(state, conn, peer, std::mem::take(&mut acks)).await? {
                        Some(last) => done = done.max(last),
                        None => {
                            retry = true;
                            break;
                        }
                    }
                    if !send_one(state, conn, peer, "feedback", Request::Feedback { envelope: feedback }).await? {
                        retry = true;
                        break;
                    }
                    done = n.index;
                }
                // Never queued for the link (crossed receipts go to authors here): passed
                // over once everything before it in this batch went through.
                NoticeBody::Crossed(_) => {}
            }
        }
        if !retry {
            match send_acks(state, conn, peer, acks).await? {
                Some(_) => done = done.max(batch_end),
                None => retry = true,
            }
        }
        settle(state, &cursor_key, after, done, retry).await?;
    }
}

/// Sends acks as one `ack_batch`; the last notice index done, or None to retry them all
/// later (a retryable refusal). A final refusal is logged and the ack passed over.
async fn send_acks(
    state: &State,
    conn: &Connection,
    peer: Jurisdiction,
    acks: Vec<(u64, Vec<u8>)>,
) -> Result<Option<u64>, LinkError> {
    let Some(last) = acks.last().map(|(i, _)| *i) else {
        return Ok(Some(0));
    };
    let envelopes: Vec<Vec<u8>> = acks.into_iter().map(|(_, a)| a).collect();
    let sent = envelopes.len();
    match request(conn, &Request::AckBatch { envelopes }).await? {
        Response::AckedBatch { items } if items.len() != sent => {
            Err(LinkError::Protocol(format!("{} outcomes for {sent} acks", items.len())))
        }
        Response::AckedBatch { items } => {
            if items.iter().any(|r| matches!(r, Err(e) if retryable(e))) {
                return Ok(None);
            }
            for e in items.iter().filter_map(|r| r.as_ref().err()) {
                refused_across(state, peer, "ack", e);
            }
            Ok(Some(last))
        }
        Response::Error(e) if retryable(&e) => Ok(None),
        Response::Error(e) => {
            refused_across(state, peer, "ack_batch", &e);
            Ok(Some(last))
        }
        other => Err(LinkError::Protocol(format!("unexpected answer to ack_batch: {}", other.kind()))),
    }
}

/// Ends a round of a stream: moves its durable cursor from `after` to `done` (when it
/// moved), then, when something is to be sent again, waits a second (or for shutdown).
async fn settle(state: &State, cursor_key: &str, after: u64, done: u64, retry: bool) -> Result<(), LinkError> {
    if done > after {
        state.store.raise_meta(vec![(cursor_key.to_owned(), done)]).await?;
    }
    if retry {
        tokio::select! {
            _ = state.shutdown.cancelled() => return Err(LinkError::Stopping),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    Ok(())
}

/// Sends one feedback or statement across: true when it is done with (accepted, or refused
/// for good and recorded by [`refused_across`]), false to send it again later.
async fn send_one(
    state: &State,
    conn: &Connection,
    peer: Jurisdiction,
    what: &str,
    req: Request,
) -> Result<bool, LinkError> {
    match request(conn, &req).await? {
        Response::Submitted { .. } => Ok(true),
        Response::Error(e) if retryable(&e) => Ok(false),
        Response::Error(e) => {
            refused_across(state, peer, what, &e);
            Ok(true)
        }
        other => Err(LinkError::Protocol(format!("unexpected answer to {what}: {}", other.kind()))),
    }
}

/// A final refusal by the peer of something this side forwarded: logged and recorded in
/// the audit log (never silently dropped).
fn refused_across(state: &State, peer: Jurisdiction, what: &str, e: &WireError) {
    // The code's own name, never text the peer chose.
    let code = ErrorCode::from_u16(e.code).map_or("unknown", ErrorCode::name);
    error!(peer = %peer, what, code, "the peer relay refused a forwarded {what}");
    state.store.event(Event {
        to: Some(peer.to_string()),
        code: Some(code.to_owned()),
        subject: Some(what.to_owned()),
        ..Event::new("refused_across", storage::now())
    });
}

/// Pushes this side's ledger statements for the peer's jurisdiction.
async fn push_statements(state: &Arc<State>, conn: &Connection, peer: Jurisdiction) -> Result<(), LinkError> {
    let cursor_key = counters::link_statements(peer.as_str());
    loop {
        let after = state.store.meta(&cursor_key)?.unwrap_or(0);
        let st = state.clone();
        let items = tokio::task::spawn_blocking(move || st.store.statements_for(peer, after, 8))
            .await
            .map_err(|e| LinkError::Store(StoreError::Failed(e.to_string())))??;
        if items.is_empty() {
            wait_news(state, None).await?;
            continue;
        }
        let mut done = after;
        let mut retry = false;
        for s in items {
            if !send_one(state, conn, peer, "statement", Request::Statement { envelope: s.statement }).await? {
                retry = true;
                break;
            }
            done = s.index;
        }
        settle(state, &cursor_key, after, done, retry).await?;
    }
}

/// Counters holding the peer log this relay last cosigned, per peer identity: its size, and
/// its root as eight big-endian 32-bit words (every engine keeps them exactly: a
/// database's signed 64-bit integers hold any 32-bit word).
fn witness_keys(peer: &tiprelay_proto::PrincipalId) -> [String; 9] {
    let word = |i: usize| format!("witness:{peer}:root{i}");
    [format!("witness:{peer}:size"), word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7)]
}

/// The counters for a cosigned `(size, root)`.
fn witness_entries(peer: &tiprelay_proto::PrincipalId, size: u64, root: &tiprelay_proto::Digest) -> Vec<(String, u64)> {
    let keys = witness_keys(peer);
    let mut out = vec![(keys[0].clone(), size)];
    for (i, k) in keys[1..].iter().enumerate() {
        let mut w = [0u8; 4];
        w.copy_from_slice(&root.0[i * 4..i * 4 + 4]);
        out.push((k.clone(), u64::from(u32::from_be_bytes(w))));
    }
    out
}

/// The peer log this relay last cosigned, read in one snapshot; an incomplete or damaged
/// record is an error (never read as another root).
fn witnessed(
    state: &State,
    peer: &tiprelay_proto::PrincipalId,
) -> Result<Option<(u64, tiprelay_proto::Digest)>, StoreError> {
    let keys = witness_keys(peer);
    let r = state.store.engine().read()?;
    let Some(size) = r.counter(&keys[0])?.filter(|s| *s > 0) else {
        return Ok(None);
    };
    let mut root = [0u8; 32];
    for (i, k) in keys[1..].iter().enumerate() {
        let w = r
            .counter(k)?
            .and_then(|w| u32::try_from(w).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("the witness record of {peer} is incomplete ({k})")))?;
        root[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    Ok(Some((size, tiprelay_proto::Digest(root))))
}

/// A witness check of the peer's log failed: logged, counted, recorded (never cosigned).
fn log_alarm(state: &State, fed: &Federation, what: &str, size: u64) {
    error!(peer = %fed.peer.identity, size, what, "ALARM: the peer relay's audit log fails its witness check; not cosigned");
    state.metrics.peer_log_alarms.get_or_create(&labels(fed.peer.jurisdiction)).inc();
    state.store.event(Event {
        principal: Some(fed.peer.identity.to_string()),
        seq: Some(size),
        code: Some(what.to_owned()),
        ..Event::new("witness_alarm", storage::now())
    });
}

/// Witnesses the peer relay's audit log (PROTOCOL §14.5): every `checkpoint_secs`, takes
/// its newest checkpoint, checks its signature and that it extends the last one this
/// relay cosigned (an RFC 9162 consistency proof), then cosigns it. A fork, a rollback or
/// a proof that does not verify is an alarm and is never cosigned.
async fn witness(state: &Arc<State>, conn: &Connection, fed: &Federation) -> Result<(), LinkError> {
    let peer = fed.peer.jurisdiction;
    loop {
        // A failed round (a slow answer, a store error) is logged and retried at the next
        // tick: witnessing never takes the link down.
        let round = async {
            match request(conn, &Request::Checkpoint { fresh: false }).await? {
                Response::Checkpoint { checkpoint: Some(sc) } => witness_once(state, conn, fed, &sc.checkpoint).await,
                Response::Checkpoint { checkpoint: None } => Ok(()),
                Response::Error(e) => {
                    let code = ErrorCode::from_u16(e.code).map_or("unknown", ErrorCode::name);
                    warn!(peer = %peer, code, "the peer relay refused its checkpoint; witnessing later");
                    Ok(())
                }
                other => Err(LinkError::Protocol(format!("unexpected answer to checkpoint: {}", other.kind()))),
            }
        };
        if let Err(e) = round.await {
            warn!(peer = %peer, error = %e, "witnessing the peer relay's log failed; retrying at the next tick");
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => return Err(LinkError::Stopping),
            _ = tokio::time::sleep(state.config.checkpoint_every) => {}
        }
    }
}

async fn witness_once(
    state: &Arc<State>,
    conn: &Connection,
    fed: &Federation,
    envelope: &[u8],
) -> Result<(), LinkError> {
    let now = storage::now();
    let checked = tiprelay_proto::parse::<tiprelay_proto::Checkpoint>(envelope)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            if p.message.time > now.saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) {
                return Err("it is dated in the future".to_owned());
            }
            verify::<tiprelay_proto::Checkpoint>(envelope, &state.trust.get(), p.message.time)
                .map_err(|e| e.to_string())
        })
        .and_then(|v| {
            if v.signer == fed.peer.identity {
                Ok(v.message)
            } else {
                Err(format!("it is signed by {}, not by the peer relay", v.signer))
            }
        });
    let cp = match checked {
        Ok(cp) => cp,
        Err(why) => {
            warn!(peer = %fed.peer.identity, %why, "the peer relay's checkpoint does not verify");
            // This relay's own CRL of the peer's jurisdiction being past its grace is no
            // fault of the peer: only warned about (the CRL reload warns too).
            if state.trust.get().expired_crls(now).is_empty() {
                log_alarm(state, fed, "bad_checkpoint", 0);
            }
            return Ok(());
        }
    };
    let last = witnessed(state, &fed.peer.identity)?;
    match rules::witness_step(last, cp.size, &cp.root) {
        rules::Witness::Same => return Ok(()),
        rules::Witness::Fork => {
            log_alarm(state, fed, "fork", cp.size);
            return Ok(());
        }
        rules::Witness::Rollback => {
            log_alarm(state, fed, "rollback", cp.size);
            return Ok(());
        }
        rules::Witness::First => {}
        rules::Witness::Extends { old_size, old_root } => {
            let proof = match request(conn, &Request::Consistency { old: old_size, new: cp.size }).await? {
                Response::Proof { proof, .. } => proof,
                Response::Error(e) => {
                    let code = ErrorCode::from_u16(e.code).map_or("unknown", ErrorCode::name);
                    warn!(
                        peer = %fed.peer.identity, old_size, size = cp.size, code,
                        "the peer relay refused a consistency proof of its log; not cosigned"
                    );
                    return Ok(());
                }
                other => {
                    return Err(LinkError::Protocol(format!("unexpected answer to consistency: {}", other.kind())))
                }
            };
            if tiprelay_proto::merkle::verify_consistency(old_size, cp.size, &old_root, &cp.root, &proof).is_err() {
                log_alarm(state, fed, "inconsistent", cp.size);
                return Ok(());
            }
        }
    }
    let cs = tiprelay_proto::Cosignature {
        log: cp.log.clone(),
        size: cp.size,
        root: cp.root,
        checkpoint_time: cp.time,
        by: state.relay_id.clone(),
        created: storage::now(),
    };
    let envelope = state.signer.sign(&cs).map_err(|e| LinkError::Setup(format!("cannot sign a cosignature: {e}")))?;
    // Recorded before it leaves: once signed, this relay stands by this history, and any
    // other at this size is a fork, whatever becomes of this cosignature on the way.
    state.store.set_meta(witness_entries(&fed.peer.identity, cp.size, &cp.root)).await?;
    match request(conn, &Request::Cosign { envelope }).await? {
        Response::Acked => {}
        Response::Error(e) => {
            let code = ErrorCode::from_u16(e.code).map_or("unknown", ErrorCode::name);
            warn!(peer = %fed.peer.identity, code, size = cp.size, "the peer relay refused this relay's cosignature");
            return Ok(());
        }
        other => return Err(LinkError::Protocol(format!("unexpected answer to cosign: {}", other.kind()))),
    }
    state
        .metrics
        .peer_witnessed_size
        .get_or_create(&labels(fed.peer.jurisdiction))
        .set(i64::try_from(cp.size).unwrap_or(i64::MAX));
    info!(peer = %fed.peer.identity, size = cp.size, "cosigned the peer relay's checkpoint");
    Ok(())
}

/// Keeps the link's queue gauges current from the store, once a second, whether the link
/// is up or not.
async fn gauges(state: Arc<State>, fed: Federation) {
    let peer = fed.peer.jurisdiction;
    loop {
        let st = state.clone();
        let status = tokio::task::spawn_blocking(move || st.store.link_status(fed.home, peer)).await;
        if let Ok(Ok(s)) = status {
            let l = labels(peer);
            state.metrics.peer_queued_tips.get_or_create(&l).set(i64::try_from(s.tips_queued).unwrap_or(i64::MAX));
            let age = s.oldest_queued_accepted_ms.map_or(0, |a| storage::now().as_unix_ms().saturating_sub(a) / 1000);
            state.metrics.peer_oldest_queued_seconds.get_or_create(&l).set(i64::try_from(age).unwrap_or(i64::MAX));
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(IDLE_POLL) => {}
        }
    }
}

/// One forwarded tip after verification: the tip, its digest and bytes, its home number.
type Forwarded = (Box<Tip>, tiprelay_proto::Digest, Vec<u8>, u64);

/// Verifies one forwarded tip (blocking): the home relay's receipt (signed by the
/// connected peer relay), then the tip itself as it stood when the home relay accepted it
/// (the author's signature and chain against its jurisdiction's root), and that the two
/// match.
fn check_forwarded(
    state: &State,
    peer: &Peer,
    fed: &Federation,
    trust: &tiprelay_proto::TrustStore,
    now: tiprelay_proto::Timestamp,
    f: ForwardedTip,
) -> Result<Forwarded, Rejection> {
    // Receipt and tip are judged at the home relay's acceptance time (bounded by this
    // relay's clock): a tip that waited for the link is not refused for a validity (the
    // tip's, its author's or the home relay's certificate) that ended meanwhile.
    let claimed = tiprelay_proto::parse::<Receipt>(&f.receipt).map_err(|e| (None, proto_error(&e)))?.message.accepted;
    let at = super::judge_time(trust, Some(claimed), now);
    let rv = verify::<Receipt>(&f.receipt, trust, at).map_err(|e| (None, proto_error(&e)))?;
    let home = rv.message;
    let id = Some(home.tip.to_string());
    // An author revoked after the home relay accepted the tip still vouches for it
    // (PROTOCOL §6.3), as of that acceptance; not when a stale CRL moved the judging time.
    let tv = match verify::<Tip>(&f.tip, trust, at) {
        Err(tiprelay_proto::ProtoError::Revoked(_)) if at == claimed => {
            verify::<Tip>(&f.tip, &trust.as_of_receipt(claimed), claimed)
        }
        other => other,
    }
    .map_err(|e| (id.clone(), proto_error(&e)))?;
    rules::home_receipt_matches(&home, &rv.signer, &tv.message, &tv.digest, &peer.identity, fed.home)
        .map_err(|e| (id.clone(), e))?;
    if !state.config.pair_allowed(tv.message.from, tv.message.to) {
        let e = WireError::new(
            ErrorCode::PairNotAllowed,
            format!("{} → {} is not a configured pair", tv.message.from, tv.message.to),
        );
        return Err((id, e));
    }
    Ok((Box::new(tv.message), tv.digest, f.tip, home.seq))
}

/// Answers the peer relay's `forward`: each tip verified, numbered exactly as at home
/// (gap-free), stored, and receipted by this relay; one outcome per tip, in order.
pub(super) async fn forward_in(state: &Arc<State>, peer: &Arc<Peer>, items: Vec<ForwardedTip>) -> Vec<BatchOutcome> {
    let n = items.len();
    let refuse_all = |e: WireError| (0..n).map(|_| Err(e.clone())).collect::<Vec<_>>();
    let Some(fed) = state.config.federation.clone() else {
        return refuse_all(WireError::new(ErrorCode::NotPermitted, "this relay is not federated"));
    };
    // One forward at a time: the next number of a direction is decided against the store.
    let _turn = state.link_in.lock().await;
    let (st, p, f) = (state.clone(), peer.clone(), fed.clone());
    let checked = tokio::task::spawn_blocking(move || {
        let (trust, now) = (st.trust.get(), storage::now());
        items.into_iter().map(|i| check_forwarded(&st, &p, &f, &trust, now, i)).collect::<Vec<_>>()
    })
    .await;
    let Ok(checked) = checked else {
        return refuse_all(WireError::new(ErrorCode::Unavailable, "verification task failed"));
    };
    let (from, to) = (fed.peer.jurisdiction, fed.home);
    let mut last = match state.store.engine().read().and_then(|r| r.dir_seq(from.as_str(), to.as_str())) {
        Ok(s) => s,
        Err(e) => return refuse_all(store_error(&e)),
    };
    let mut out: Vec<Option<BatchOutcome>> = Vec::with_capacity(n);
    let mut writes = Vec::new();
    let mut slots = Vec::new();
    let mut blocked = false;
    for c in checked {
        let (tip, digest, envelope, seq) = match c {
            Ok(x) => x,
            Err((tip, e)) => {
                reject(state, peer, tip, &e);
                out.push(Some(Err(e)));
                blocked = true;
                continue;
            }
        };
        let held = match state.store.tip(tip.from, tip.id.as_bytes()) {
            Ok(h) => h,
            Err(e) => {
                out.push(Some(Err(store_error(&e))));
                blocked = true;
                continue;
            }
        };
        let step =
            rules::forwarded(seq, last, held.as_ref().map(|h| HeldHere { digest: &h.digest, seq: h.seq }), &digest);
        match (step, held) {
            (Ok(Step::Resend), Some(h)) => out.push(Some(Ok((h.receipt, true)))),
            // After a refusal in this forward, a new tip (or the gap it now seems to leave)
            // waits: the sender forwards it again after the refused one.
            (Ok(Step::New), _) | (Err(_), None) if blocked => {
                out.push(Some(Err(WireError::new(
                    ErrorCode::Unavailable,
                    "an earlier tip of this forward was refused; forward this one again after it",
                ))));
            }
            (Ok(Step::New), _) => {
                last = seq;
                out.push(None);
                slots.push((out.len() - 1, seq, tip.id));
                writes.push((tip, digest, envelope));
            }
            (Ok(Step::Resend), None) => {
                out.push(Some(Err(WireError::new(ErrorCode::Unavailable, "the tip went missing; forward it again"))));
                blocked = true;
            }
            (Err(e), _) => {
                if e.code == ErrorCode::SequenceGap as u16 {
                    alarm_gap(state, peer, from, to, seq, &e);
                }
                reject(state, peer, Some(tip.id.to_string()), &e);
                out.push(Some(Err(e)));
                blocked = true;
            }
        }
    }
    if !writes.is_empty() {
        let seqs = slots.iter().map(|(_, seq, _)| *seq).collect();
        let results = match state.store.forward_many(writes, seqs).await {
            Ok(r) => r,
            Err(e) => slots.iter().map(|_| Err(e.clone())).collect(),
        };
        for ((i, seq, id), r) in slots.into_iter().zip(results) {
            let answer = match r {
                Ok(s) if s.seq == seq => {
                    info!(tip = %id, seq, from = %from, "accepted across the link");
                    Ok((s.receipt, s.duplicate))
                }
                Ok(s) => {
                    // The writer refuses another number: cannot happen; alarm if it does.
                    error!(tip = %id, home = seq, here = s.seq, "ALARM: a forwarded tip was numbered differently here");
                    Err(WireError::new(ErrorCode::SequenceGap, format!("numbered {} here, {seq} at home", s.seq)))
                }
                Err(e) => Err(store_error(&e)),
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(answer);
            }
        }
    }
    super::every_outcome(out)
}

/// A gap in a forwarded direction: logged as an alarm, counted, and recorded in the
/// audit log (proof of omission across the border).
fn alarm_gap(state: &State, peer: &Peer, from: Jurisdiction, to: Jurisdiction, seq: u64, e: &WireError) {
    error!(peer = %peer.identity, %from, %to, seq, reason = %e.reason, "ALARM: gap in a forwarded home sequence");
    state.metrics.peer_sequence_gaps.get_or_create(&labels(from)).inc();
    // At most one audit entry per 10 s (the metric and the log count every one): a peer
    // repeating a gapped forward cannot grow the log without bound.
    {
        let mut last = match state.gap_alarm.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if last.is_some_and(|t: std::time::Instant| t.elapsed() < Duration::from_secs(10)) {
            return;
        }
        *last = Some(std::time::Instant::now());
    }
    state.store.event(Event {
        principal: Some(peer.identity.to_string()),
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        seq: Some(seq),
        code: Some(e.name.clone()),
        ..Event::new("sequence_gap", storage::now())
    });
}
