//! The relay's durable store (redb, one file) and its single writer.
//!
//! One writer thread owns every write (DESIGN §9). It takes everything waiting in its
//! bounded channel (up to the configured batch), applies it in **one** write transaction,
//! commits (redb fsyncs on commit), and only then answers each waiter. Receipts are
//! signed inside the transaction and stored with the tip, so a replay returns the very same
//! receipt; nobody is answered before the commit, so nothing acknowledged can be lost.
//! Reads use redb's MVCC read transactions and never block the writer.
//!
//! Tables (keys → values):
//! * `tips`: (from, id) → [`TipRecord`] (CBOR): envelope, receipt, digest, seq, metadata
//! * `by_seq`: (from, to, seq) → id: the gap-free sequence of each direction
//! * `dir_seq`: (from, to) → last seq
//! * `cursor`: (principal, from) → highest seq such that the principal acked every seq ≤ it
//! * `acked_above`: (principal, from, seq) → time: acks above the cursor (out of order)
//! * `first_ack`: (from, id) → ack index: the tip's first acknowledgement
//! * `acks_by_author`: (author, ack index) → DeliveryAck envelope, forwarded to authors
//! * `acked_at`: (from, id) → time of the first ack, until retention purges the body
//! * `events`: index → [`Event`] (CBOR): the relay's event log (never a tip body)
//! * `meta`: name → counter

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use redb::{ConcurrencyMode, Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tiprelay_common::auditlog;

use crate::metrics::Metrics;
use tiprelay_proto::audit::SignedCheckpoint;
use tiprelay_proto::wire::{Delivery, ForwardedStatement, Notice, NoticeBody};
use tiprelay_proto::{
    merkle, Checkpoint, Cosignature, DeliveryAck, Digest, ErrorCode, Feedback, Jurisdiction, LedgerStatement, Receipt,
    RecordCursor, Signer, Subject, Timestamp, Tip, TipFacts, TipId,
};
use tokio::sync::{mpsc, oneshot, watch};

const TIPS: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("tips");
const BY_SEQ: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("by_seq");
const DIR_SEQ: TableDefinition<(&str, &str), u64> = TableDefinition::new("dir_seq");
const CURSOR: TableDefinition<(&str, &str), u64> = TableDefinition::new("cursor");
const ACKED_ABOVE: TableDefinition<(&str, &str, u64), u64> = TableDefinition::new("acked_above");
const FIRST_ACK: TableDefinition<(&str, &[u8]), u64> = TableDefinition::new("first_ack");
/// Notices (first acks and feedback) per tip author, by notice index.
const NOTICES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("notices");
/// Accepted feedback by (writing jurisdiction, feedback id).
const FEEDBACK: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("feedback");
/// Accepted ledger statements by (addressed jurisdiction, statement index).
const STATEMENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("statements");
/// Statement index by (stating jurisdiction, statement id), for deduplication.
const STATEMENT_IDS: TableDefinition<(&str, &[u8]), u64> = TableDefinition::new("statement_ids");
/// Per-tip accounting facts ([`TipFacts::pack`]) by (accepted ms, from, id): a ledger over a
/// period is one range scan.
const LEDGER: TableDefinition<(u64, &str, &[u8]), &[u8]> = TableDefinition::new("ledger");
/// The audit log: canonical entry bytes by index, and its Merkle nodes (shared layout).
const EVENTS: TableDefinition<u64, &[u8]> = auditlog::ENTRIES;
const AUDIT_NODES: TableDefinition<(u8, u64), &[u8]> = auditlog::NODES;
/// Signed checkpoints by size.
const CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("checkpoints");
/// Cosignatures by (checkpoint size, cosigner).
const COSIGNATURES: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("cosignatures");
const ACKED_AT: TableDefinition<(&str, &[u8]), u64> = TableDefinition::new("acked_at");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Bytes of tip envelopes each author has stored that no principal of the recipient
/// jurisdiction has acknowledged yet (the pending quota, DESIGN §12).
const AUTHOR_PENDING: TableDefinition<&str, u64> = TableDefinition::new("author_pending");

/// Most envelope bytes in one `fetch` answer, so it stays well under the 1 MiB frame
/// limit (one 64 KiB envelope plus its receipt always fits).
pub const FETCH_BYTE_BUDGET: usize = 768 * 1024;

const NEXT_EVENT: &str = "next_event";
const NEXT_ACK: &str = "next_ack";
const NEXT_STATEMENT: &str = "next_statement";
/// The relay's redb page cache.
pub const RELAY_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// A signed checkpoint at least every this many audit entries (and every few seconds when
/// the log grew; see the server).
pub const CHECKPOINT_ENTRIES: u64 = 1000;

/// A stored tip.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TipRecord {
    /// Receiving jurisdiction.
    pub to: String,
    /// Author identity.
    pub author: String,
    /// Category.
    pub category: String,
    /// SHA-256 of the envelope.
    #[serde(with = "serde_bytes")]
    pub digest: Vec<u8>,
    /// Sequence number in its direction.
    pub seq: u64,
    /// Acceptance time (ms).
    pub accepted: u64,
    /// Event index of the acceptance.
    pub log_index: u64,
    /// The envelope (None once purged by retention).
    #[serde(with = "serde_bytes")]
    pub envelope: Option<Vec<u8>>,
    /// The signed receipt.
    #[serde(with = "serde_bytes")]
    pub receipt: Vec<u8>,
}

/// An entry of the relay's audit log (PROTOCOL §13). Metadata and digests only, never a
/// tip body.
pub use tiprelay_proto::audit::AuditEntry as Event;

/// Why the store refused or failed an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Same (from, id), different digest.
    #[error("tip {id} from {from} was already accepted with different content (digest {existing}); choose a new id")]
    Conflict {
        /// Tip id.
        id: String,
        /// Sender.
        from: String,
        /// Digest of the accepted one.
        existing: String,
    },
    /// An ack for a tip the relay does not hold (or digest/seq mismatch).
    #[error("{0}")]
    UnknownTip(String),
    /// Not allowed for this principal.
    #[error("{0}")]
    NotPermitted(String),
    /// The disk is full.
    #[error("the relay's store is full; new tips are refused until space is freed")]
    Full,
    /// The author's tips not yet acknowledged exceed its pending quota.
    #[error(
        "{author} has {pending} bytes of tips not yet acknowledged by the recipient jurisdiction; its quota is \
         {quota} bytes; retry once tips are acknowledged"
    )]
    QuotaExceeded {
        /// The sending principal.
        author: String,
        /// Its pending bytes.
        pending: u64,
        /// Its quota.
        quota: u64,
    },
    /// Any other storage failure.
    #[error("storage failure: {0}")]
    Failed(String),
    /// The writer has stopped (shutdown).
    #[error("the relay is shutting down")]
    Closed,
}

impl StoreError {
    /// Wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::UnknownTip(_) => ErrorCode::UnknownTip,
            Self::NotPermitted(_) => ErrorCode::NotPermitted,
            Self::Full => ErrorCode::StorageFull,
            Self::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            Self::Failed(_) | Self::Closed => ErrorCode::Unavailable,
        }
    }
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    let s = e.to_string();
    if s.contains("No space left") || s.contains("StorageFull") || s.contains("os error 28") {
        StoreError::Full
    } else {
        StoreError::Failed(s)
    }
}

/// Outcome of a submit.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The receipt envelope.
    pub receipt: Vec<u8>,
    /// A replay of an accepted tip.
    pub duplicate: bool,
    /// Its sequence number.
    pub seq: u64,
}

/// One verified tip for the writer: the tip, its envelope digest and its bytes.
pub type TipToWrite = (Box<Tip>, Digest, Vec<u8>);

enum WriteOp {
    /// One or more verified tips (one `submit`, or the accepted part of a `submit_batch`);
    /// one outcome per tip, in order.
    Submit {
        tips: Vec<TipToWrite>,
        reply: oneshot::Sender<Vec<Result<Submitted, StoreError>>>,
        permit: tokio::sync::OwnedSemaphorePermit,
    },
    /// One or more verified acks (one `ack`, or the verified part of an `ack_batch`); one
    /// outcome per ack, in order: true when it was the tip's first.
    Ack {
        acks: Vec<(DeliveryAck, Vec<u8>)>,
        reply: oneshot::Sender<Vec<Result<bool, StoreError>>>,
        permit: tokio::sync::OwnedSemaphorePermit,
    },
    Feedback {
        fb: Box<Feedback>,
        digest: Digest,
        envelope: Vec<u8>,
        reply: oneshot::Sender<Result<Submitted, StoreError>>,
    },
    Statement {
        st: Box<LedgerStatement>,
        digest: Digest,
        envelope: Vec<u8>,
        reply: oneshot::Sender<Result<Submitted, StoreError>>,
    },
    Delivered {
        principal: String,
        tips: Vec<TipKey>,
    },
    Checkpoint {
        reply: oneshot::Sender<Result<Option<SignedCheckpoint>, StoreError>>,
    },
    Cosign {
        cs: Box<Cosignature>,
        envelope: Vec<u8>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Event(Box<Event>),
    /// Raises counters in `meta` to at least the given values (CRL-number floors).
    RaiseMeta {
        entries: Vec<(String, u64)>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Purge {
        cutoff: u64,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
}

/// Wakes subscribers when tips for a jurisdiction, or acks of a jurisdiction's tips, were
/// committed. Keyed by jurisdiction, so one side learns nothing about the timing of the
/// other side's traffic.
#[derive(Debug)]
pub struct Notifier {
    tips: HashMap<Jurisdiction, watch::Sender<u64>>,
    acks: HashMap<Jurisdiction, watch::Sender<u64>>,
}

impl Notifier {
    /// Channels for each jurisdiction.
    pub fn new(js: impl IntoIterator<Item = Jurisdiction>) -> Self {
        let js: Vec<Jurisdiction> = js.into_iter().collect();
        let chans = || js.iter().map(|j| (*j, watch::channel(0).0)).collect();
        Self { tips: chans(), acks: chans() }
    }
    /// Subscribe to tips for `j`.
    pub fn tips(&self, j: Jurisdiction) -> Option<watch::Receiver<u64>> {
        self.tips.get(&j).map(watch::Sender::subscribe)
    }
    /// Subscribe to first acks of tips sent by `j`.
    pub fn acks(&self, j: Jurisdiction) -> Option<watch::Receiver<u64>> {
        self.acks.get(&j).map(watch::Sender::subscribe)
    }
}

/// Handle to the store: writes go to the writer thread, reads run on the caller's thread.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    tx: mpsc::Sender<WriteOp>,
    /// Tips and acks queued for the writer, bounded by count (an operation may carry up to
    /// 64): each holds a permit until the writer takes it off the queue.
    queued: Arc<tokio::sync::Semaphore>,
    /// Best-effort events (and first-delivery marks) dropped because the writer was busy.
    dropped: Arc<std::sync::atomic::AtomicU64>,
    /// Change notifications.
    pub notifier: Arc<Notifier>,
}

/// The writer thread; join it after dropping every [`Store`] to finish in-flight commits.
pub struct WriterThread(std::thread::JoinHandle<()>);

impl WriterThread {
    /// Waits until the writer has committed everything sent to it.
    pub fn join(self) {
        let _ = self.0.join();
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The current time as a [`Timestamp`].
pub fn now() -> Timestamp {
    Timestamp::from_unix_ms(now_ms()).unwrap_or_else(|| Timestamp::from_unix_seconds(0))
}

impl Store {
    /// Opens (or creates) the store and starts its writer.
    pub fn open(
        path: &Path,
        signer: Signer,
        jurisdictions: impl IntoIterator<Item = Jurisdiction>,
        batch: usize,
        pending_quota: u64,
        metrics: Arc<Metrics>,
    ) -> Result<(Store, WriterThread), StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        // Created owner-only before redb opens it (the store holds tip bodies).
        tiprelay_common::files::create_private(path).map_err(failed)?;
        // One writer (this process); `tiprelay ledger` and other tools may open it read-only
        // meanwhile.
        let db = Arc::new(
            Database::builder()
                .set_concurrency_mode(ConcurrencyMode::SingleWriter)
                // redb's default cache is 1 GiB; the relay's working set is the recent tail of
                // each table, so a bounded cache keeps its memory flat with a large backlog.
                .set_cache_size(RELAY_CACHE_BYTES)
                .create(path)
                .map_err(|e| {
                    if matches!(e, redb::DatabaseError::DatabaseAlreadyOpen) {
                        StoreError::Failed(format!(
                            "{} is in use by another process (is a relay already running?)",
                            path.display()
                        ))
                    } else {
                        failed(e)
                    }
                })?,
        );
        // The store holds tip bodies: owner-only.
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(failed)?;
        {
            let w = db.begin_write().map_err(failed)?;
            w.open_table(TIPS).map_err(failed)?;
            w.open_table(BY_SEQ).map_err(failed)?;
            w.open_table(DIR_SEQ).map_err(failed)?;
            w.open_table(CURSOR).map_err(failed)?;
            w.open_table(ACKED_ABOVE).map_err(failed)?;
            w.open_table(FIRST_ACK).map_err(failed)?;
            w.open_table(NOTICES).map_err(failed)?;
            w.open_table(FEEDBACK).map_err(failed)?;
            w.open_table(STATEMENTS).map_err(failed)?;
            w.open_table(STATEMENT_IDS).map_err(failed)?;
            w.open_table(LEDGER).map_err(failed)?;
            w.open_table(EVENTS).map_err(failed)?;
            w.open_table(AUDIT_NODES).map_err(failed)?;
            w.open_table(CHECKPOINTS).map_err(failed)?;
            w.open_table(COSIGNATURES).map_err(failed)?;
            w.open_table(ACKED_AT).map_err(failed)?;
            w.open_table(META).map_err(failed)?;
            w.open_table(AUTHOR_PENDING).map_err(failed)?;
            w.commit().map_err(failed)?;
        }
        for (to, n) in pending_per_recipient(&db)? {
            metrics.pending_tips.get_or_create(&crate::metrics::ToLabels { to }).set(n);
        }
        let notifier = Arc::new(Notifier::new(jurisdictions));
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (tx, rx) = mpsc::channel(batch.max(1) * 4);
        let writer = Writer {
            db: db.clone(),
            signer,
            notifier: notifier.clone(),
            batch: batch.max(1),
            checkpoint_entries: CHECKPOINT_ENTRIES,
            dropped: dropped.clone(),
            pending_quota,
            metrics,
        };
        let handle =
            std::thread::Builder::new().name("tiprelay-writer".into()).spawn(move || writer.run(rx)).map_err(failed)?;
        let queued = Arc::new(tokio::sync::Semaphore::new(queue_items(batch)));
        Ok((Store { db, tx, queued, notifier, dropped }, WriterThread(handle)))
    }

    /// Commits an accepted tip (or finds the earlier commit) and returns its receipt.
    pub async fn submit(&self, tip: Tip, digest: Digest, envelope: Vec<u8>) -> Result<Submitted, StoreError> {
        self.submit_many(vec![(Box::new(tip), digest, envelope)])
            .await?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Failed("the writer returned no outcome".into())))
    }

    /// Commits several verified tips in one group commit; one outcome per tip, in order
    /// (one tip's `conflict` does not affect the others).
    pub async fn submit_many(&self, tips: Vec<TipToWrite>) -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
        let (reply, rx) = oneshot::channel();
        let permit = self.queue_permit(tips.len()).await?;
        self.tx.send(WriteOp::Submit { tips, reply, permit }).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)
    }

    /// Records a verified DeliveryAck; returns true if it was the tip's first.
    pub async fn ack(&self, ack: DeliveryAck, envelope: Vec<u8>) -> Result<bool, StoreError> {
        self.ack_many(vec![(ack, envelope)])
            .await?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Failed("the writer returned no outcome".into())))
    }

    /// Records several verified DeliveryAcks in one group commit; one outcome per ack, in
    /// order (true when it was the tip's first).
    pub async fn ack_many(
        &self,
        acks: Vec<(DeliveryAck, Vec<u8>)>,
    ) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        let (reply, rx) = oneshot::channel();
        let permit = self.queue_permit(acks.len()).await?;
        self.tx.send(WriteOp::Ack { acks, reply, permit }).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)
    }

    /// Waits until `n` more items may queue for the writer.
    async fn queue_permit(&self, n: usize) -> Result<tokio::sync::OwnedSemaphorePermit, StoreError> {
        let n = u32::try_from(n.clamp(1, queue_items(0))).unwrap_or(1);
        self.queued.clone().acquire_many_owned(n).await.map_err(|_| StoreError::Closed)
    }

    /// Commits a verified Feedback (or finds the earlier commit) and returns its receipt.
    pub async fn feedback(&self, fb: Feedback, digest: Digest, envelope: Vec<u8>) -> Result<Submitted, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(WriteOp::Feedback { fb: Box::new(fb), digest, envelope, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Commits a verified LedgerStatement (or finds the earlier commit) and returns its receipt.
    pub async fn statement(
        &self,
        st: LedgerStatement,
        digest: Digest,
        envelope: Vec<u8>,
    ) -> Result<Submitted, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(WriteOp::Statement { st: Box::new(st), digest, envelope, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Records (best effort, off the answer's path) that `principal` was handed these tips;
    /// the first delivery of each tip is kept in its ledger facts and the event log.
    pub fn delivered(&self, principal: String, tips: Vec<TipKey>) {
        if !tips.is_empty() && self.tx.try_send(WriteOp::Delivered { principal, tips }).is_err() {
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Purges the bodies of tips first acknowledged before `cutoff` (at most 10,000 per
    /// call); returns how many were purged. Digest, metadata, receipt and events remain.
    pub async fn purge(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(WriteOp::Purge { cutoff: cutoff.as_unix_ms(), reply }).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues an event if the writer has room now; false if not (the caller counts it).
    pub fn try_event(&self, e: Event) -> bool {
        self.tx.try_send(WriteOp::Event(Box::new(e))).is_ok()
    }

    /// Queues an event, waiting for room in the writer's queue (never dropped unless the
    /// writer has stopped).
    pub async fn event_wait(&self, e: Event) -> Result<(), StoreError> {
        self.tx.send(WriteOp::Event(Box::new(e))).await.map_err(|_| StoreError::Closed)
    }

    /// A counter of the `meta` table (None when never set).
    pub fn meta(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let t = r.open_table(META).map_err(failed)?;
        Ok(t.get(key).map_err(failed)?.map(|g| g.value()))
    }

    /// Raises `meta` counters to at least the given values, durably.
    pub async fn raise_meta(&self, entries: Vec<(String, u64)>) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(WriteOp::RaiseMeta { entries, reply }).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Appends an event (best effort: dropped if the writer is saturated or gone).
    pub fn event(&self, e: Event) {
        if self.tx.try_send(WriteOp::Event(Box::new(e))).is_err() {
            // Never silently: the writer logs how many were dropped at its next commit.
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Tips for `principal` (of jurisdiction `to`) not yet acked by it, from `froms`, in
    /// (from, seq) order, at most `limit`; with the keys of those not yet marked delivered.
    pub fn fetch(
        &self,
        principal: &str,
        to: Jurisdiction,
        froms: &[Jurisdiction],
        limit: usize,
    ) -> Result<(Vec<Delivery>, Vec<TipKey>), StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let tips = r.open_table(TIPS).map_err(failed)?;
        let ledger = r.open_table(LEDGER).map_err(failed)?;
        let mut fresh = Vec::new();
        let by_seq = r.open_table(BY_SEQ).map_err(failed)?;
        let cursor = r.open_table(CURSOR).map_err(failed)?;
        let above = r.open_table(ACKED_ABOVE).map_err(failed)?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for from in froms {
            let (f, t) = (from.as_str(), to.as_str());
            let c = cursor.get((principal, f)).map_err(failed)?.map(|g| g.value()).unwrap_or(0);
            for item in by_seq.range((f, t, c + 1)..=(f, t, u64::MAX)).map_err(failed)? {
                if out.len() >= limit || bytes >= FETCH_BYTE_BUDGET {
                    return Ok((out, fresh));
                }
                let (k, id) = item.map_err(failed)?;
                let seq = k.value().2;
                if above.get((principal, f, seq)).map_err(failed)?.is_some() {
                    continue;
                }
                let Some(rec) = tips.get((f, id.value())).map_err(failed)? else {
                    continue;
                };
                let rec: TipRecord = decode(rec.value())?;
                if let Some(envelope) = rec.envelope {
                    let size = envelope.len() + rec.receipt.len() + 16;
                    // Always at least one; otherwise stay under the budget.
                    if !out.is_empty() && bytes + size > FETCH_BYTE_BUDGET {
                        return Ok((out, fresh));
                    }
                    bytes += size;
                    let mut key = [0u8; 16];
                    key.copy_from_slice(id.value().get(..16).unwrap_or(&[0; 16]));
                    let marked = ledger.get((rec.accepted, f, id.value())).map_err(failed)?.is_some_and(|g| {
                        TipId::from_bytes(key)
                            .ok()
                            .and_then(|i| TipFacts::unpack(*from, i, g.value()).ok())
                            .is_some_and(|x| x.delivered.is_some())
                    });
                    if !marked {
                        fresh.push((*from, key));
                    }
                    out.push(Delivery { tip: envelope, receipt: rec.receipt });
                }
            }
        }
        Ok((out, fresh))
    }

    /// Number of tips waiting for `principal` (counted up to `cap`).
    pub fn pending(
        &self,
        principal: &str,
        to: Jurisdiction,
        froms: &[Jurisdiction],
        cap: usize,
    ) -> Result<u64, StoreError> {
        Ok(self.fetch_ids(principal, to, froms, cap)? as u64)
    }

    fn fetch_ids(
        &self,
        principal: &str,
        to: Jurisdiction,
        froms: &[Jurisdiction],
        cap: usize,
    ) -> Result<usize, StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let by_seq = r.open_table(BY_SEQ).map_err(failed)?;
        let cursor = r.open_table(CURSOR).map_err(failed)?;
        let above = r.open_table(ACKED_ABOVE).map_err(failed)?;
        let mut n = 0;
        for from in froms {
            let (f, t) = (from.as_str(), to.as_str());
            let c = cursor.get((principal, f)).map_err(failed)?.map(|g| g.value()).unwrap_or(0);
            for item in by_seq.range((f, t, c + 1)..=(f, t, u64::MAX)).map_err(failed)? {
                let (k, _) = item.map_err(failed)?;
                if above.get((principal, f, k.value().2)).map_err(failed)?.is_none() {
                    n += 1;
                }
                if n >= cap {
                    return Ok(n);
                }
            }
        }
        Ok(n)
    }

    /// Notices (first acks, feedback) about tips written by `author`, after index `after`.
    pub fn acks_for(&self, author: &str, after: u64, limit: usize) -> Result<Vec<Notice>, StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let t = r.open_table(NOTICES).map_err(failed)?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for item in t.range((author, after.saturating_add(1))..=(author, u64::MAX)).map_err(failed)? {
            let (k, v) = item.map_err(failed)?;
            // Feedback notices carry two envelopes: stay well under the 1 MiB frame.
            bytes += v.value().len() + 16;
            if !out.is_empty() && bytes > FETCH_BYTE_BUDGET {
                break;
            }
            let n: NoticeRecord = decode(v.value())?;
            let body = match n.receipt {
                None => NoticeBody::Ack(n.envelope),
                Some(receipt) => NoticeBody::Feedback { feedback: n.envelope, receipt },
            };
            out.push(Notice { index: k.value().1, body });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Statements addressed to `to`, after index `after`.
    pub fn statements_for(
        &self,
        to: Jurisdiction,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ForwardedStatement>, StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let t = r.open_table(STATEMENTS).map_err(failed)?;
        let mut out = Vec::new();
        for item in t.range((to.as_str(), after.saturating_add(1))..=(to.as_str(), u64::MAX)).map_err(failed)? {
            let (k, v) = item.map_err(failed)?;
            let s: StatementRecord = decode(v.value())?;
            out.push(ForwardedStatement { index: k.value().1, statement: s.envelope, receipt: s.receipt });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Ledger facts of tips accepted in `[since, until)` (see [`records`]).
    pub fn records(&self, q: &RecordQuery) -> Result<(Vec<TipFacts>, Option<RecordCursor>), StoreError> {
        records(&*self.db, q)
    }

    /// The stored record of a tip.
    pub fn tip(&self, from: Jurisdiction, id: &[u8; 16]) -> Result<Option<TipRecord>, StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let t = r.open_table(TIPS).map_err(failed)?;
        t.get((from.as_str(), id.as_slice())).map_err(failed)?.map(|g| decode(g.value())).transpose()
    }

    /// Every event, in order (for tests and audit export).
    pub fn events(&self) -> Result<Vec<Event>, StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let t = r.open_table(EVENTS).map_err(failed)?;
        t.iter()
            .map_err(failed)?
            .map(|i| {
                i.map_err(failed).and_then(|(_, v)| {
                    Event::decode(v.value()).map_err(|e| StoreError::Failed(format!("corrupt audit entry: {e}")))
                })
            })
            .collect()
    }

    /// The newest signed checkpoint with its cosignatures.
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        audit_head(&*self.db)
    }

    /// An inclusion proof of entry `index` in the tree of `size` entries, with the entry.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<(Vec<u8>, Vec<Digest>), StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let nodes = r.open_table(AUDIT_NODES).map_err(failed)?;
        let entries = r.open_table(EVENTS).map_err(failed)?;
        let n = audit_size(&r)?;
        if size > n || index >= size {
            return Err(StoreError::UnknownTip(format!(
                "the log has {n} entries; no entry {index} in a tree of {size}"
            )));
        }
        let entry = entries.get(index).map_err(failed)?.map(|g| g.value().to_vec()).unwrap_or_default();
        let proof = merkle::inclusion_proof(&auditlog::NodeSource(&nodes), index, size)
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok((entry, proof))
    }

    /// A consistency proof between tree sizes `old` and `new`.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let nodes = r.open_table(AUDIT_NODES).map_err(failed)?;
        let n = audit_size(&r)?;
        if new > n || old == 0 || old > new {
            return Err(StoreError::UnknownTip(format!(
                "no consistency proof from {old} to {new}: the log has {n} entries"
            )));
        }
        merkle::consistency_proof(&auditlog::NodeSource(&nodes), old, new)
            .map_err(|e| StoreError::Failed(e.to_string()))
    }

    /// Makes a signed checkpoint now if the log grew since the last one; returns the newest.
    pub async fn checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        // Nothing new: answer from the latest without a write (no fsync on demand).
        {
            let r = self.db.begin_read().map_err(failed)?;
            let size = audit_size(&r)?;
            let latest = r.open_table(CHECKPOINTS).map_err(failed)?.last().map_err(failed)?.map(|(k, _)| k.value());
            if latest == Some(size) {
                drop(r);
                return self.latest_checkpoint();
            }
        }
        let (reply, rx) = oneshot::channel();
        self.tx.send(WriteOp::Checkpoint { reply }).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Stores a verified cosignature of an existing checkpoint (and logs it).
    pub async fn cosign(&self, cs: Cosignature, envelope: Vec<u8>) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(WriteOp::Cosign { cs: Box::new(cs), envelope, reply }).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Number of accepted tips per direction.
    pub fn direction_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let r = self.db.begin_read().map_err(failed)?;
        let t = r.open_table(DIR_SEQ).map_err(failed)?;
        t.iter()
            .map_err(failed)?
            .map(|i| i.map_err(failed).map(|(k, v)| (k.value().0.to_owned(), k.value().1.to_owned(), v.value())))
            .collect()
    }
}

/// A tip's key: (sending jurisdiction, id bytes).
pub type TipKey = (Jurisdiction, [u8; 16]);

/// A query of the relay's per-tip ledger facts.
#[derive(Debug, Clone)]
pub struct RecordQuery {
    /// Accepted at or after (ms).
    pub since: u64,
    /// Accepted before (ms).
    pub until: u64,
    /// Resume after this item.
    pub after: Option<RecordCursor>,
    /// Only tips from or to this jurisdiction (None: all).
    pub party: Option<Jurisdiction>,
    /// At most this many.
    pub limit: usize,
}

/// Ledger facts of tips accepted in `[since, until)`, in (accepted, from, id) order, at most
/// `limit`; the cursor to resume from when the limit was reached. Works on the relay's open
/// store and on a read-only handle of it (`tiprelay ledger` while the relay runs).
pub fn records(
    db: &impl ReadableDatabase,
    q: &RecordQuery,
) -> Result<(Vec<TipFacts>, Option<RecordCursor>), StoreError> {
    use std::ops::Bound;
    let r = db.begin_read().map_err(failed)?;
    let t = match r.open_table(LEDGER) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((Vec::new(), None)),
        Err(e) => return Err(failed(e)),
    };
    let after_from = q.after.as_ref().map(|a| a.from.as_str().to_owned()).unwrap_or_default();
    let after_id = q.after.as_ref().map(|a| a.id.as_bytes().to_vec()).unwrap_or_default();
    let start = match &q.after {
        Some(a) => Bound::Excluded((a.accepted, after_from.as_str(), after_id.as_slice())),
        None => Bound::Included((q.since, "", &[][..])),
    };
    let end = Bound::Excluded((q.until, "", &[][..]));
    let mut out = Vec::new();
    for item in t.range::<(u64, &str, &[u8])>((start, end)).map_err(failed)? {
        let (k, v) = item.map_err(failed)?;
        let (_, from, id) = k.value();
        let from: Jurisdiction = from.parse().map_err(|_| StoreError::Failed("corrupt ledger key".into()))?;
        if q.party.is_some_and(|p| p != from && !v.value().get(2..).is_some_and(|b| to_is(b, p))) {
            continue;
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(id.get(..16).ok_or_else(|| StoreError::Failed("corrupt ledger key".into()))?);
        let id = TipId::from_bytes(key).map_err(|_| StoreError::Failed("corrupt ledger key".into()))?;
        let f = TipFacts::unpack(from, id, v.value()).map_err(|e| StoreError::Failed(e.to_string()))?;
        out.push(f);
        if out.len() >= q.limit {
            let next = out.last().map(|f| RecordCursor {
                accepted: f.accepted.map_or(0, Timestamp::as_unix_ms),
                from: f.from,
                id: f.id,
            });
            return Ok((out, next));
        }
    }
    Ok((out, None))
}

/// The relay's ledger over `range`: one streaming pass over the ledger table.
pub fn ledger(
    db: &impl ReadableDatabase,
    period: tiprelay_common::ledger::Period,
    range: tiprelay_common::ledger::Range,
) -> Result<tiprelay_common::ledger::Ledger, StoreError> {
    let mut agg = tiprelay_common::ledger::Aggregator::new(period, range);
    let r = db.begin_read().map_err(failed)?;
    let t = match r.open_table(LEDGER) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(agg.finish("relay")),
        Err(e) => return Err(failed(e)),
    };
    let (lo, hi) = (range.start.as_unix_ms(), range.end.as_unix_ms());
    for item in t.range((lo, "", &[][..])..(hi, "", &[][..])).map_err(failed)? {
        let (k, v) = item.map_err(failed)?;
        let (_, from, id) = k.value();
        let from: Jurisdiction = from.parse().map_err(|_| StoreError::Failed("corrupt ledger key".into()))?;
        let mut key = [0u8; 16];
        key.copy_from_slice(id.get(..16).ok_or_else(|| StoreError::Failed("corrupt ledger key".into()))?);
        let id = TipId::from_bytes(key).map_err(|_| StoreError::Failed("corrupt ledger key".into()))?;
        agg.add(&TipFacts::unpack(from, id, v.value()).map_err(|e| StoreError::Failed(e.to_string()))?);
    }
    Ok(agg.finish("relay"))
}

/// Opens a relay store read-only, alongside a running relay (`tiprelay ledger`).
pub fn open_read_only(path: &Path) -> Result<redb::ReadOnlyDatabase, StoreError> {
    if !path.exists() {
        return Err(StoreError::Failed(format!("{} does not exist (has this relay ever run?)", path.display())));
    }
    redb::Builder::new().set_concurrency_mode(ConcurrencyMode::SingleWriter).open_read_only(path).map_err(failed)
}

/// Writes ledger facts without tips (benchmarks of ledger queries at scale only; a relay
/// never calls it).
#[doc(hidden)]
pub fn bench_fill_ledger(path: &Path, facts: &[TipFacts]) -> Result<(), StoreError> {
    let db = Database::builder().set_concurrency_mode(ConcurrencyMode::SingleWriter).create(path).map_err(failed)?;
    let w = db.begin_write().map_err(failed)?;
    {
        let mut t = w.open_table(LEDGER).map_err(failed)?;
        for f in facts {
            let at = f.accepted.map_or(0, Timestamp::as_unix_ms);
            t.insert((at, f.from.as_str(), f.id.as_bytes().as_slice()), f.pack().as_slice()).map_err(failed)?;
        }
    }
    w.commit().map_err(failed)
}

/// Writes `entries` audit entries with a signed checkpoint every `checkpoint_every` (and
/// one at the end), in transactions of 10,000 entries, to a new store at `path`; returns
/// the number of checkpoints (benchmarks of audit export at scale only; a relay never
/// calls it).
#[doc(hidden)]
pub fn bench_fill_audit(path: &Path, signer: &Signer, entries: u64, checkpoint_every: u64) -> Result<u64, StoreError> {
    let db = Database::builder().set_concurrency_mode(ConcurrencyMode::SingleWriter).create(path).map_err(failed)?;
    let mut checkpoints = 0;
    let mut i = 0u64;
    while i < entries {
        let w = db.begin_write().map_err(failed)?;
        {
            let mut tx = Tx::open(&w)?;
            let end = (i + 10_000).min(entries);
            while i < end {
                let e = Event {
                    principal: Some(format!("tiprelay://MX/analyst/analyst-{:02}", i % 20)),
                    from: Some("MX".into()),
                    to: Some("US".into()),
                    seq: Some(i + 1),
                    ..Event::new("accepted", now())
                };
                tx.append_event(&e)?;
                i += 1;
                if i % checkpoint_every.max(1) == 0 || i == entries {
                    tx.checkpoint(signer, 1)?;
                    checkpoints += 1;
                }
            }
        }
        w.commit().map_err(failed)?;
    }
    Ok(checkpoints)
}

/// Tips not yet acknowledged, per recipient jurisdiction (a scan of the sequence index and
/// the first acks, once at start).
fn pending_per_recipient(db: &Database) -> Result<Vec<(String, i64)>, StoreError> {
    let r = db.begin_read().map_err(failed)?;
    let by_seq = r.open_table(BY_SEQ).map_err(failed)?;
    let first = r.open_table(FIRST_ACK).map_err(failed)?;
    let mut counts: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for item in by_seq.iter().map_err(failed)? {
        let (k, id) = item.map_err(failed)?;
        let (from, to, _) = k.value();
        let entry = counts.entry(to.to_owned()).or_insert(0);
        if first.get((from, id.value())).map_err(failed)?.is_none() {
            *entry += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

impl Writer {
    /// Applies a committed batch to the metrics.
    fn record(&self, t: &Tally, weight: usize, dropped: u64, took: std::time::Duration) {
        use crate::metrics::{DirectionLabels, ToLabels};
        let m = &self.metrics;
        m.commit_seconds.observe(took.as_secs_f64());
        m.commit_batch_size.observe(weight as f64);
        m.audit_entries.inc_by(t.appended);
        m.audit_events_dropped.inc_by(dropped);
        for (from, to) in &t.accepted {
            m.tips_accepted.get_or_create(&DirectionLabels { from: from.clone(), to: to.clone() }).inc();
            m.pending_tips.get_or_create(&ToLabels { to: to.clone() }).inc();
        }
        for (from, to) in &t.delivered {
            m.tips_delivered.get_or_create(&DirectionLabels { from: from.clone(), to: to.clone() }).inc();
        }
        for to in &t.acked {
            m.pending_tips.get_or_create(&ToLabels { to: to.clone() }).dec();
        }
    }
}

/// Whether packed facts (from their third byte: the `to` length-prefixed string) name `j`.
fn to_is(b: &[u8], j: Jurisdiction) -> bool {
    let s = j.as_str().as_bytes();
    b.first().is_some_and(|n| usize::from(*n) == s.len()) && b.get(1..1 + s.len()) == Some(s)
}

/// A notice to a tip's author as stored: an ack envelope, or a feedback envelope with its receipt.
#[derive(Debug, Serialize, Deserialize)]
struct NoticeRecord {
    #[serde(with = "serde_bytes")]
    envelope: Vec<u8>,
    #[serde(with = "serde_bytes")]
    receipt: Option<Vec<u8>>,
}

/// Accepted feedback or statement: its digest and receipt (and the statement's envelope).
#[derive(Debug, Serialize, Deserialize)]
struct StatementRecord {
    #[serde(with = "serde_bytes")]
    digest: Vec<u8>,
    #[serde(with = "serde_bytes")]
    envelope: Vec<u8>,
    #[serde(with = "serde_bytes")]
    receipt: Vec<u8>,
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(512);
    ciborium::ser::into_writer(v, &mut out).map_err(failed)?;
    Ok(out)
}

fn decode<T: for<'de> Deserialize<'de>>(b: &[u8]) -> Result<T, StoreError> {
    ciborium::de::from_reader(b).map_err(|e| StoreError::Failed(format!("corrupt record: {e}")))
}

struct Writer {
    db: Arc<Database>,
    signer: Signer,
    notifier: Arc<Notifier>,
    batch: usize,
    checkpoint_entries: u64,
    dropped: Arc<std::sync::atomic::AtomicU64>,
    /// Most pending bytes per author.
    pending_quota: u64,
    /// Commit timings, batch sizes, queue depth, and what each commit made durable.
    metrics: Arc<Metrics>,
}

/// What one transaction did, applied to the metrics only once it is durable.
#[derive(Default)]
struct Tally {
    /// Audit entries appended.
    appended: u64,
    /// (from, to) of each newly accepted tip.
    accepted: Vec<(String, String)>,
    /// (from, to) of each first delivery.
    delivered: Vec<(String, String)>,
    /// `to` of each first acknowledgement.
    acked: Vec<String>,
}

enum Reply {
    /// Outcomes of a submit, and the jurisdictions that got a new tip.
    Submit(oneshot::Sender<Vec<Result<Submitted, StoreError>>>, Vec<Result<Submitted, StoreError>>, Vec<Jurisdiction>),
    /// Outcomes of acks, and the jurisdictions whose authors got a first ack.
    Ack(oneshot::Sender<Vec<Result<bool, StoreError>>>, Vec<Result<bool, StoreError>>, Vec<Jurisdiction>),
    /// A checkpoint request.
    Checkpoint(
        oneshot::Sender<Result<Option<SignedCheckpoint>, StoreError>>,
        Result<Option<SignedCheckpoint>, StoreError>,
    ),
    /// A cosignature.
    Cosign(oneshot::Sender<Result<(), StoreError>>, Result<(), StoreError>),
    /// A feedback or statement; with the jurisdiction whose authors get a notice.
    Other(oneshot::Sender<Result<Submitted, StoreError>>, Result<Submitted, StoreError>, Option<Jurisdiction>),
    Purge(oneshot::Sender<Result<u64, StoreError>>, Result<u64, StoreError>),
    Meta(oneshot::Sender<Result<(), StoreError>>, Result<(), StoreError>),
}

/// How many tips and acks may wait for the writer: four group commits' worth, and never
/// fewer than four full batch requests (so one batch always fits).
fn queue_items(batch: usize) -> usize {
    (batch.max(1) * 4).max(4 * tiprelay_proto::wire::MAX_BATCH_TIPS)
}

impl WriteOp {
    /// How much this operation counts towards the group-commit batch size.
    fn weight(&self) -> usize {
        match self {
            Self::Submit { tips, .. } => tips.len().max(1),
            Self::Ack { acks, .. } => acks.len().max(1),
            Self::Delivered { tips, .. } => tips.len().div_ceil(64).max(1),
            _ => 1,
        }
    }
}

impl Writer {
    fn run(self, mut rx: mpsc::Receiver<WriteOp>) {
        let mut ops = Vec::with_capacity(self.batch);
        loop {
            ops.clear();
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let mut weight = first.weight();
            ops.push(first);
            while weight < self.batch {
                match rx.try_recv() {
                    Ok(op) => {
                        weight += op.weight();
                        ops.push(op);
                    }
                    Err(_) => break,
                }
            }
            self.metrics.writer_queue_depth.set(i64::try_from(rx.len()).unwrap_or(i64::MAX));
            self.commit_batch(std::mem::take(&mut ops));
        }
        tracing::debug!("store writer stopped: every queued operation committed");
    }

    fn commit_batch(&self, ops: Vec<WriteOp>) {
        let n = ops.len();
        let mut replies = Vec::with_capacity(n);
        let mut dropped_now = 0u64;
        let started = std::time::Instant::now();
        let weight: usize = ops.iter().map(WriteOp::weight).sum();
        let mut tally = Tally::default();
        let result = (|| -> Result<(), StoreError> {
            let w = self.db.begin_write().map_err(failed)?;
            {
                let mut tx = Tx::open(&w)?;
                for op in ops {
                    match op {
                        WriteOp::Submit { tips, reply, permit } => {
                            drop(permit);
                            let mut out = Vec::with_capacity(tips.len());
                            let mut fresh_to = Vec::new();
                            for (tip, digest, envelope) in tips {
                                let r = tx.submit(&self.signer, &tip, digest, envelope, self.pending_quota);
                                if matches!(&r, Ok(s) if !s.duplicate) && !fresh_to.contains(&tip.to) {
                                    fresh_to.push(tip.to);
                                }
                                out.push(r);
                            }
                            replies.push(Reply::Submit(reply, out, fresh_to));
                        }
                        WriteOp::Ack { acks, reply, permit } => {
                            drop(permit);
                            let mut out = Vec::with_capacity(acks.len());
                            let mut first_from = Vec::new();
                            for (ack, envelope) in &acks {
                                let r = tx.ack(ack, envelope);
                                if matches!(r, Ok(true)) && !first_from.contains(&ack.from) {
                                    first_from.push(ack.from);
                                }
                                out.push(r);
                            }
                            replies.push(Reply::Ack(reply, out, first_from));
                        }
                        WriteOp::Purge { cutoff, reply } => {
                            let r = tx.purge(cutoff);
                            replies.push(Reply::Purge(reply, r));
                        }
                        WriteOp::RaiseMeta { entries, reply } => {
                            let r = entries.iter().try_for_each(|(k, v)| tx.raise_meta(k, *v));
                            replies.push(Reply::Meta(reply, r));
                        }
                        WriteOp::Feedback { fb, digest, envelope, reply } => {
                            let r = tx.feedback(&self.signer, &fb, digest, envelope);
                            let fresh = matches!(&r, Ok(s) if !s.duplicate);
                            replies.push(Reply::Other(reply, r, fresh.then_some(fb.from)));
                        }
                        WriteOp::Statement { st, digest, envelope, reply } => {
                            let r = tx.statement(&self.signer, &st, digest, envelope);
                            replies.push(Reply::Other(reply, r, None));
                        }
                        WriteOp::Delivered { principal, tips } => {
                            tx.delivered(&principal, &tips)?;
                        }
                        WriteOp::Checkpoint { reply } => {
                            let r = tx.checkpoint(&self.signer, 1);
                            replies.push(Reply::Checkpoint(reply, r));
                        }
                        WriteOp::Cosign { cs, envelope, reply } => {
                            let r = tx.cosign(&cs, &envelope);
                            replies.push(Reply::Cosign(reply, r));
                        }
                        WriteOp::Event(e) => {
                            tx.append_event(&e)?;
                        }
                    }
                }
                // Best-effort events lost to a full queue are counted in the log itself.
                let lost = self.dropped.swap(0, std::sync::atomic::Ordering::Relaxed);
                if lost > 0 {
                    dropped_now = lost;
                    tx.append_event(&Event { seq: Some(lost), ..Event::new("events_dropped", now()) })?;
                }
                // Every `checkpoint_entries` entries, a signed checkpoint in the same commit.
                tx.checkpoint(&self.signer, self.checkpoint_entries)?;
                tally = std::mem::take(&mut tx.tally);
            }
            w.commit().map_err(failed)
        })();
        match result {
            Ok(()) => {
                self.record(&tally, weight, dropped_now, started.elapsed());
                let mut acked_from: Vec<Jurisdiction> = Vec::new();
                for r in replies {
                    match r {
                        Reply::Submit(tx, res, fresh_to) => {
                            for to in fresh_to {
                                if let Some(s) = self.notifier.tips.get(&to) {
                                    s.send_modify(|v| *v += 1);
                                }
                            }
                            let _ = tx.send(res);
                        }
                        Reply::Ack(tx, res, first_from) => {
                            for from in first_from {
                                if !acked_from.contains(&from) {
                                    acked_from.push(from);
                                }
                            }
                            let _ = tx.send(res);
                        }
                        Reply::Purge(tx, res) => {
                            let _ = tx.send(res);
                        }
                        Reply::Meta(tx, res) => {
                            let _ = tx.send(res);
                        }
                        Reply::Checkpoint(tx, res) => {
                            let _ = tx.send(res);
                        }
                        Reply::Cosign(tx, res) => {
                            let _ = tx.send(res);
                        }
                        Reply::Other(tx, res, notify) => {
                            if let Some(j) = notify {
                                if !acked_from.contains(&j) {
                                    acked_from.push(j);
                                }
                            }
                            let _ = tx.send(res);
                        }
                    }
                }
                for from in acked_from {
                    if let Some(s) = self.notifier.acks.get(&from) {
                        s.send_modify(|v| *v += 1);
                    }
                }
            }
            Err(e) => {
                self.dropped.fetch_add(dropped_now, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(error = %e, ops = n, "group commit failed; nothing in it was acknowledged");
                for r in replies {
                    match r {
                        Reply::Submit(tx, res, _) => {
                            let _ = tx.send(res.iter().map(|_| Err(e.clone())).collect());
                        }
                        Reply::Ack(tx, res, _) => {
                            let _ = tx.send(res.iter().map(|_| Err(e.clone())).collect());
                        }
                        Reply::Purge(tx, _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                        Reply::Meta(tx, _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                        Reply::Other(tx, _, _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                        Reply::Checkpoint(tx, _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                        Reply::Cosign(tx, _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                    }
                }
            }
        }
    }
}

struct Tx<'a> {
    tips: redb::Table<'a, (&'static str, &'static [u8]), &'static [u8]>,
    by_seq: redb::Table<'a, (&'static str, &'static str, u64), &'static [u8]>,
    dir_seq: redb::Table<'a, (&'static str, &'static str), u64>,
    cursor: redb::Table<'a, (&'static str, &'static str), u64>,
    above: redb::Table<'a, (&'static str, &'static str, u64), u64>,
    first_ack: redb::Table<'a, (&'static str, &'static [u8]), u64>,
    notices: redb::Table<'a, (&'static str, u64), &'static [u8]>,
    feedback: redb::Table<'a, (&'static str, &'static [u8]), &'static [u8]>,
    statements: redb::Table<'a, (&'static str, u64), &'static [u8]>,
    statement_ids: redb::Table<'a, (&'static str, &'static [u8]), u64>,
    ledger: redb::Table<'a, (u64, &'static str, &'static [u8]), &'static [u8]>,
    events: redb::Table<'a, u64, &'static [u8]>,
    nodes: redb::Table<'a, (u8, u64), &'static [u8]>,
    checkpoints: redb::Table<'a, u64, &'static [u8]>,
    cosignatures: redb::Table<'a, (u64, &'static str), &'static [u8]>,
    acked_at: redb::Table<'a, (&'static str, &'static [u8]), u64>,
    meta: redb::Table<'a, &'static str, u64>,
    author_pending: redb::Table<'a, &'static str, u64>,
    /// What this transaction did (for the metrics, once committed).
    tally: Tally,
}

impl<'a> Tx<'a> {
    fn open(w: &'a redb::WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            tally: Tally::default(),
            tips: w.open_table(TIPS).map_err(failed)?,
            by_seq: w.open_table(BY_SEQ).map_err(failed)?,
            dir_seq: w.open_table(DIR_SEQ).map_err(failed)?,
            cursor: w.open_table(CURSOR).map_err(failed)?,
            above: w.open_table(ACKED_ABOVE).map_err(failed)?,
            first_ack: w.open_table(FIRST_ACK).map_err(failed)?,
            notices: w.open_table(NOTICES).map_err(failed)?,
            feedback: w.open_table(FEEDBACK).map_err(failed)?,
            statements: w.open_table(STATEMENTS).map_err(failed)?,
            statement_ids: w.open_table(STATEMENT_IDS).map_err(failed)?,
            ledger: w.open_table(LEDGER).map_err(failed)?,
            events: w.open_table(EVENTS).map_err(failed)?,
            nodes: w.open_table(AUDIT_NODES).map_err(failed)?,
            checkpoints: w.open_table(CHECKPOINTS).map_err(failed)?,
            cosignatures: w.open_table(COSIGNATURES).map_err(failed)?,
            acked_at: w.open_table(ACKED_AT).map_err(failed)?,
            meta: w.open_table(META).map_err(failed)?,
            author_pending: w.open_table(AUTHOR_PENDING).map_err(failed)?,
        })
    }

    fn raise_meta(&mut self, key: &str, v: u64) -> Result<(), StoreError> {
        let old = self.meta.get(key).map_err(failed)?.map(|g| g.value());
        if old.is_none_or(|o| v > o) {
            self.meta.insert(key, v).map_err(failed)?;
        }
        Ok(())
    }

    fn next(&mut self, counter: &str) -> Result<u64, StoreError> {
        let n = self.meta.get(counter).map_err(failed)?.map(|g| g.value()).unwrap_or(0);
        self.meta.insert(counter, n + 1).map_err(failed)?;
        Ok(n)
    }

    /// Appends an audit entry and its Merkle leaf; completes every node it finishes.
    fn append_event(&mut self, e: &Event) -> Result<u64, StoreError> {
        let i = self.next(NEXT_EVENT)?;
        #[cfg(feature = "bench-no-audit")]
        if !bench::audit_enabled() {
            return Ok(i);
        }
        auditlog::append(&mut self.events, &mut self.nodes, i, e).map_err(log_failed)?;
        self.tally.appended += 1;
        Ok(i)
    }

    /// Signs a checkpoint of the current log if it grew by at least `min_new` entries since
    /// the last one; returns the newest checkpoint.
    fn checkpoint(&mut self, signer: &Signer, min_new: u64) -> Result<Option<SignedCheckpoint>, StoreError> {
        #[cfg(feature = "bench-no-audit")]
        if !bench::audit_enabled() {
            return Ok(None);
        }
        let size = self.meta.get(NEXT_EVENT).map_err(failed)?.map(|g| g.value()).unwrap_or(0);
        let last = self.checkpoints.last().map_err(failed)?.map(|(k, v)| (k.value(), v.value().to_vec()));
        let last_size = last.as_ref().map_or(0, |l| l.0);
        if size == 0 || size < last_size.saturating_add(min_new.max(1)) {
            return match last {
                Some((k, v)) => Ok(Some(SignedCheckpoint { checkpoint: v, cosignatures: self.cosigs_of(k)? })),
                None => Ok(None),
            };
        }
        let root = auditlog::root(&self.nodes, size).map_err(log_failed)?;
        let cp = Checkpoint {
            log: signer.identity().to_string(),
            size,
            root,
            time: now(),
            relay: signer.identity().clone(),
        };
        let env = signer.sign(&cp).map_err(|e| StoreError::Failed(format!("cannot sign the checkpoint: {e}")))?;
        self.checkpoints.insert(size, env.as_slice()).map_err(failed)?;
        Ok(Some(SignedCheckpoint { checkpoint: env, cosignatures: Vec::new() }))
    }

    fn cosigs_of(&self, size: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        cosignatures_of(&self.cosignatures, size)
    }

    /// Stores a cosignature of a checkpoint the relay signed.
    fn cosign(&mut self, cs: &Cosignature, envelope: &[u8]) -> Result<(), StoreError> {
        let Some(cp) = self.checkpoints.get(cs.size).map_err(failed)?.map(|g| g.value().to_vec()) else {
            return Err(StoreError::UnknownTip(format!("the relay signed no checkpoint of size {}", cs.size)));
        };
        let cp = tiprelay_proto::parse::<Checkpoint>(&cp).map_err(|e| StoreError::Failed(e.to_string()))?.message;
        if !cs.covers(&cp) {
            return Err(StoreError::NotPermitted(format!(
                "this cosignature is not for the relay's checkpoint of size {} (root or time differ): \
                 the cosigner saw a different history",
                cs.size
            )));
        }
        let by = cs.by.to_string();
        if self.cosignatures.get((cs.size, by.as_str())).map_err(failed)?.is_some() {
            return Ok(());
        }
        // Not logged as an entry: a cosignature is a signed artifact of its own (exported with
        // its checkpoint), and logging it would move the log past the checkpoint that the
        // other jurisdiction is about to cosign.
        self.cosignatures.insert((cs.size, by.as_str()), envelope).map_err(failed)?;
        Ok(())
    }

    fn submit(
        &mut self,
        signer: &Signer,
        tip: &Tip,
        digest: Digest,
        envelope: Vec<u8>,
        pending_quota: u64,
    ) -> Result<Submitted, StoreError> {
        let (from, to) = (tip.from.as_str(), tip.to.as_str());
        let id = tip.id.as_bytes().as_slice();
        if let Some(existing) = self.tips.get((from, id)).map_err(failed)? {
            let rec: TipRecord = decode(existing.value())?;
            if rec.digest == digest.0 {
                return Ok(Submitted { receipt: rec.receipt, duplicate: true, seq: rec.seq });
            }
            return Err(StoreError::Conflict { id: tip.id.to_string(), from: from.into(), existing: hex(&rec.digest) });
        }
        let author = tip.author.to_string();
        let pending = self.author_pending.get(author.as_str()).map_err(failed)?.map(|g| g.value()).unwrap_or(0);
        let size = envelope.len() as u64;
        if pending.saturating_add(size) > pending_quota {
            return Err(StoreError::QuotaExceeded { author, pending, quota: pending_quota });
        }
        let seq = self.dir_seq.get((from, to)).map_err(failed)?.map(|g| g.value()).unwrap_or(0) + 1;
        let accepted = now();
        let event = Event {
            principal: Some(tip.author.to_string()),
            from: Some(from.into()),
            to: Some(to.into()),
            tip: Some(tip.id.to_string()),
            category: Some(tip.category.as_str().into()),
            digest: Some(digest.to_hex()),
            seq: Some(seq),
            ..Event::new("accepted", accepted)
        };
        // Everything fallible that writes nothing comes first (the receipt signature), so a
        // failure here leaves no partial state in the batch.
        let (receipt, log_index) =
            self.sign_receipt(signer, Subject::Tip, tip.id, (tip.from, tip.to), digest, seq, accepted)?;
        let written = self.append_event(&event)?;
        debug_assert_eq!(written, log_index);
        let rec = TipRecord {
            to: to.into(),
            author: tip.author.to_string(),
            category: tip.category.as_str().into(),
            digest: digest.0.to_vec(),
            seq,
            accepted: accepted.as_unix_ms(),
            log_index,
            envelope: Some(envelope),
            receipt: receipt.clone(),
        };
        self.tips.insert((from, id), encode(&rec)?.as_slice()).map_err(failed)?;
        self.author_pending.insert(author.as_str(), pending.saturating_add(size)).map_err(failed)?;
        self.tally.accepted.push((from.to_owned(), to.to_owned()));
        let mut facts = TipFacts::new(tip.id, tip.from, tip.to, tip.category, tip.author.to_string());
        facts.created = tip.created;
        facts.accepted = Some(accepted);
        facts.seq = Some(seq);
        self.ledger.insert((accepted.as_unix_ms(), from, id), facts.pack().as_slice()).map_err(failed)?;
        self.by_seq.insert((from, to, seq), id).map_err(failed)?;
        self.dir_seq.insert((from, to), seq).map_err(failed)?;
        Ok(Submitted { receipt, duplicate: false, seq })
    }

    fn purge(&mut self, cutoff: u64) -> Result<u64, StoreError> {
        let mut due: Vec<(String, Vec<u8>)> = Vec::new();
        for item in self.acked_at.iter().map_err(failed)? {
            let (k, v) = item.map_err(failed)?;
            if v.value() < cutoff {
                due.push((k.value().0.to_owned(), k.value().1.to_vec()));
                if due.len() >= 10_000 {
                    break;
                }
            }
        }
        let mut n = 0;
        for (from, id) in due {
            let key = (from.as_str(), id.as_slice());
            let rec = self.tips.get(key).map_err(failed)?.map(|g| g.value().to_vec());
            if let Some(rec) = rec {
                let mut rec: TipRecord = decode(&rec)?;
                if !self.all_known_receivers_acked(&from, &rec)? {
                    // Keep it (and its acked_at entry) until every analyst of the recipient
                    // jurisdiction the relay has seen has acknowledged it.
                    continue;
                }
                if rec.envelope.take().is_some() {
                    self.tips.insert(key, encode(&rec)?.as_slice()).map_err(failed)?;
                    let event = Event {
                        from: Some(from.clone()),
                        to: Some(rec.to.clone()),
                        digest: Some(hex(&rec.digest)),
                        seq: Some(rec.seq),
                        ..Event::new("purged", now())
                    };
                    self.append_event(&event)?;
                    n += 1;
                }
            }
            self.acked_at.remove(key).map_err(failed)?;
        }
        Ok(n)
    }

    /// Whether every principal of `rec.to` with a delivery cursor has acknowledged the tip.
    fn all_known_receivers_acked(&self, from: &str, rec: &TipRecord) -> Result<bool, StoreError> {
        let prefix = format!("tiprelay://{}/", rec.to);
        for item in self.cursor.iter().map_err(failed)? {
            let (k, c) = item.map_err(failed)?;
            let (p, f) = k.value();
            if f != from || !p.starts_with(&prefix) {
                continue;
            }
            if c.value() < rec.seq && self.above.get((p, f, rec.seq)).map_err(failed)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn ack(&mut self, ack: &DeliveryAck, envelope: &[u8]) -> Result<bool, StoreError> {
        let (from, id) = (ack.from.as_str(), ack.tip.as_bytes().as_slice());
        let rec: TipRecord = match self.tips.get((from, id)).map_err(failed)? {
            Some(g) => decode(g.value())?,
            None => return Err(StoreError::UnknownTip(format!("no tip {} from {from} is held by the relay", ack.tip))),
        };
        if rec.digest != ack.digest.0 || rec.seq != ack.seq || rec.to != ack.to.as_str() {
            return Err(StoreError::UnknownTip(format!(
                "the ack for tip {} does not match the stored tip (digest, seq or recipient differ)",
                ack.tip
            )));
        }
        let p = ack.by.to_string();
        let p = p.as_str();
        let mut c = self.cursor.get((p, from)).map_err(failed)?.map(|g| g.value()).unwrap_or(0);
        if ack.seq > c && self.above.get((p, from, ack.seq)).map_err(failed)?.is_none() {
            self.above.insert((p, from, ack.seq), now().as_unix_ms()).map_err(failed)?;
            while self.above.remove((p, from, c + 1)).map_err(failed)?.is_some() {
                c += 1;
            }
            self.cursor.insert((p, from), c).map_err(failed)?;
        }
        if self.first_ack.get((from, id)).map_err(failed)?.is_some() {
            return Ok(false);
        }
        let index = self.next(NEXT_ACK)? + 1;
        let at = now();
        self.first_ack.insert((from, id), index).map_err(failed)?;
        // The tip no longer counts against its author's pending quota.
        let size = rec.envelope.as_ref().map_or(0, |e| e.len() as u64);
        let author = rec.author.as_str();
        let pending = self.author_pending.get(author).map_err(failed)?.map(|g| g.value());
        if let Some(p) = pending {
            self.author_pending.insert(author, p.saturating_sub(size)).map_err(failed)?;
        }
        self.tally.acked.push(rec.to.clone());
        self.acked_at.insert((from, id), at.as_unix_ms()).map_err(failed)?;
        let notice = NoticeRecord { envelope: envelope.to_vec(), receipt: None };
        self.notices.insert((rec.author.as_str(), index), encode(&notice)?.as_slice()).map_err(failed)?;
        self.update_facts(ack.from, &ack.tip, rec.accepted, |f| {
            f.acked = Some(at);
            f.delivered.get_or_insert(at);
        })?;
        let event = Event {
            principal: Some(p.into()),
            from: Some(from.into()),
            to: Some(rec.to.clone()),
            tip: Some(ack.tip.to_string()),
            digest: Some(ack.digest.to_hex()),
            seq: Some(ack.seq),
            ..Event::new("acked", now())
        };
        self.append_event(&event)?;
        Ok(true)
    }
}

impl Tx<'_> {
    /// Signs the relay's receipt for what the next audit entry will record (writes nothing,
    /// so a failure leaves no partial state); returns it with that entry's log index.
    #[allow(clippy::too_many_arguments)]
    fn sign_receipt(
        &self,
        signer: &Signer,
        subject: Subject,
        id: TipId,
        (from, to): (Jurisdiction, Jurisdiction),
        digest: Digest,
        seq: u64,
        accepted: Timestamp,
    ) -> Result<(Vec<u8>, u64), StoreError> {
        let log_index = self.meta.get(NEXT_EVENT).map_err(failed)?.map(|g| g.value()).unwrap_or(0);
        let r =
            Receipt { subject, tip: id, from, to, digest, seq, accepted, log_index, relay: signer.identity().clone() };
        let envelope = signer.sign(&r).map_err(|e| StoreError::Failed(format!("cannot sign the receipt: {e}")))?;
        Ok((envelope, log_index))
    }

    /// Rewrites one tip's ledger facts.
    fn update_facts(
        &mut self,
        from: Jurisdiction,
        id: &TipId,
        accepted: u64,
        change: impl FnOnce(&mut TipFacts),
    ) -> Result<(), StoreError> {
        let key = (accepted, from.as_str(), id.as_bytes().as_slice());
        let Some(packed) = self.ledger.get(key).map_err(failed)?.map(|g| g.value().to_vec()) else {
            return Ok(());
        };
        let mut f = TipFacts::unpack(from, *id, &packed).map_err(|e| StoreError::Failed(e.to_string()))?;
        change(&mut f);
        self.ledger.insert(key, f.pack().as_slice()).map_err(failed)?;
        Ok(())
    }

    /// The tip a feedback is about, checked against the feedback's direction and writer.
    fn tip_for_feedback(&self, fb: &Feedback) -> Result<TipRecord, StoreError> {
        let rec: TipRecord = match self.tips.get((fb.from.as_str(), fb.tip.as_bytes().as_slice())).map_err(failed)? {
            Some(g) => decode(g.value())?,
            None => {
                return Err(StoreError::UnknownTip(format!(
                    "no tip {} from {} is held by the relay; feedback is given on tips received",
                    fb.tip, fb.from
                )))
            }
        };
        if rec.to != fb.to.as_str() {
            return Err(StoreError::UnknownTip(format!("tip {} was not addressed to {}", fb.tip, fb.to)));
        }
        if rec.author == fb.by.to_string() {
            return Err(StoreError::NotPermitted(format!(
                "{} wrote tip {}; feedback comes from the recipient",
                fb.by, fb.tip
            )));
        }
        Ok(rec)
    }

    fn feedback(
        &mut self,
        signer: &Signer,
        fb: &Feedback,
        digest: Digest,
        envelope: Vec<u8>,
    ) -> Result<Submitted, StoreError> {
        let (w, fid) = (fb.to.as_str(), fb.id.as_bytes().as_slice());
        if let Some(g) = self.feedback.get((w, fid)).map_err(failed)? {
            let old: StatementRecord = decode(g.value())?;
            return duplicate_or_conflict(old, digest, &fb.id, fb.to);
        }
        let rec = self.tip_for_feedback(fb)?;
        let counter = format!("feedback_seq:{}:{}", fb.from, fb.to);
        let seq = self.next(&counter)? + 1;
        let accepted = now();
        let (receipt, _) =
            self.sign_receipt(signer, Subject::Feedback, fb.id, (fb.from, fb.to), digest, seq, accepted)?;
        self.append_event(&Event {
            principal: Some(fb.by.to_string()),
            from: Some(fb.from.to_string()),
            to: Some(fb.to.to_string()),
            tip: Some(fb.tip.to_string()),
            digest: Some(digest.to_hex()),
            seq: Some(seq),
            subject: Some(fb.id.to_string()),
            outcome: Some(fb.outcome.as_str().into()),
            ..Event::new("feedback", accepted)
        })?;
        let stored = StatementRecord { digest: digest.0.to_vec(), envelope: Vec::new(), receipt: receipt.clone() };
        self.feedback.insert((w, fid), encode(&stored)?.as_slice()).map_err(failed)?;
        let index = self.next(NEXT_ACK)? + 1;
        let notice = NoticeRecord { envelope, receipt: Some(receipt.clone()) };
        self.notices.insert((rec.author.as_str(), index), encode(&notice)?.as_slice()).map_err(failed)?;
        self.update_facts(fb.from, &fb.tip, rec.accepted, |f| f.add_feedback(fb.outcome, accepted))?;
        Ok(Submitted { receipt, duplicate: false, seq })
    }

    fn statement(
        &mut self,
        signer: &Signer,
        st: &LedgerStatement,
        digest: Digest,
        envelope: Vec<u8>,
    ) -> Result<Submitted, StoreError> {
        let (sj, cp, sid) = (st.jurisdiction.as_str(), st.counterpart.as_str(), st.id.as_bytes().as_slice());
        if let Some(index) = self.statement_ids.get((sj, sid)).map_err(failed)?.map(|g| g.value()) {
            let old: StatementRecord = match self.statements.get((cp, index)).map_err(failed)? {
                Some(g) => decode(g.value())?,
                None => return Err(StoreError::Failed("statement index without its statement".into())),
            };
            return duplicate_or_conflict(old, digest, &st.id, st.jurisdiction);
        }
        let seq = self.next(&format!("statement_seq:{sj}:{cp}"))? + 1;
        let accepted = now();
        let (receipt, _) = self.sign_receipt(
            signer,
            Subject::Statement,
            st.id,
            (st.jurisdiction, st.counterpart),
            digest,
            seq,
            accepted,
        )?;
        self.append_event(&Event {
            principal: Some(st.by.to_string()),
            from: Some(sj.into()),
            to: Some(cp.into()),
            digest: Some(digest.to_hex()),
            seq: Some(seq),
            subject: Some(st.id.to_string()),
            ..Event::new("statement", accepted)
        })?;
        let index = self.next(NEXT_STATEMENT)? + 1;
        let stored = StatementRecord { digest: digest.0.to_vec(), envelope, receipt: receipt.clone() };
        self.statements.insert((cp, index), encode(&stored)?.as_slice()).map_err(failed)?;
        self.statement_ids.insert((sj, sid), index).map_err(failed)?;
        Ok(Submitted { receipt, duplicate: false, seq })
    }

    /// Marks first deliveries (tips already marked are skipped).
    fn delivered(&mut self, principal: &str, tips: &[TipKey]) -> Result<(), StoreError> {
        for (from, id) in tips {
            let Some(rec) = self.tips.get((from.as_str(), id.as_slice())).map_err(failed)?.map(|g| g.value().to_vec())
            else {
                continue;
            };
            let rec: TipRecord = decode(&rec)?;
            let Ok(tip_id) = TipId::from_bytes(*id) else {
                continue;
            };
            let at = now();
            let mut first = false;
            self.update_facts(*from, &tip_id, rec.accepted, |f| {
                if f.delivered.is_none() {
                    f.delivered = Some(at);
                    first = true;
                }
            })?;
            if first {
                self.tally.delivered.push((from.to_string(), rec.to.clone()));
                self.append_event(&Event {
                    principal: Some(principal.into()),
                    from: Some(from.to_string()),
                    to: Some(rec.to.clone()),
                    tip: Some(tip_id.to_string()),
                    digest: Some(hex(&rec.digest)),
                    seq: Some(rec.seq),
                    ..Event::new("delivered", at)
                })?;
            }
        }
        Ok(())
    }
}

/// A resubmitted feedback or statement: the original receipt if the bytes are the same.
fn duplicate_or_conflict(
    old: StatementRecord,
    digest: Digest,
    id: &TipId,
    from: Jurisdiction,
) -> Result<Submitted, StoreError> {
    if old.digest == digest.0 {
        let seq = tiprelay_proto::parse::<Receipt>(&old.receipt).map(|p| p.message.seq).unwrap_or(0);
        return Ok(Submitted { receipt: old.receipt, duplicate: true, seq });
    }
    Err(StoreError::Conflict { id: id.to_string(), from: from.to_string(), existing: hex(&old.digest) })
}

/// Benchmark-only switch (feature `bench-no-audit`): the audit log can be turned off to
/// measure its cost. Never compiled into a release build of the relay.
#[cfg(feature = "bench-no-audit")]
pub mod bench {
    use std::sync::atomic::{AtomicBool, Ordering};

    static AUDIT: AtomicBool = AtomicBool::new(true);

    /// Turns the audit log on or off for every store in this process.
    pub fn set_audit_enabled(on: bool) {
        AUDIT.store(on, Ordering::SeqCst);
    }

    /// Whether the audit log is on.
    pub fn audit_enabled() -> bool {
        AUDIT.load(Ordering::SeqCst)
    }
}

fn log_failed(e: auditlog::LogError) -> StoreError {
    StoreError::Failed(e.to_string())
}

fn audit_size(r: &redb::ReadTransaction) -> Result<u64, StoreError> {
    match r.open_table(META) {
        Ok(t) => Ok(t.get(NEXT_EVENT).map_err(failed)?.map(|g| g.value()).unwrap_or(0)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(failed(e)),
    }
}

fn cosignatures_of(
    t: &impl ReadableTable<(u64, &'static str), &'static [u8]>,
    size: u64,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    for item in t.range((size, "")..(size + 1, "")).map_err(failed)? {
        out.push(item.map_err(failed)?.1.value().to_vec());
    }
    Ok(out)
}

/// The newest checkpoint of a store (open or read-only) with its cosignatures.
pub fn audit_head(db: &impl ReadableDatabase) -> Result<Option<SignedCheckpoint>, StoreError> {
    let r = db.begin_read().map_err(failed)?;
    let cps = r.open_table(CHECKPOINTS).map_err(failed)?;
    let Some((k, v)) = cps.last().map_err(failed)?.map(|(k, v)| (k.value(), v.value().to_vec())) else {
        return Ok(None);
    };
    let cos = r.open_table(COSIGNATURES).map_err(failed)?;
    Ok(Some(SignedCheckpoint { checkpoint: v, cosignatures: cosignatures_of(&cos, k)? }))
}

/// What `tiprelay audit export` selects.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportRange {
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
    /// Most checkpoints in the header (None: [`crate::core::export::MAX_BUNDLE_CHECKPOINTS`]).
    pub max_checkpoints: Option<usize>,
}

/// Writes an audit bundle of a store to `w`: the entries in the range (a contiguous index
/// range, from the first entry at or after `since` to the first checkpoint at or after
/// `until`, so its end is signed), the compact tree of everything before, the checkpoints
/// within with their cosignatures, and `anchors`.
pub fn export_bundle(
    db: &impl ReadableDatabase,
    range: ExportRange,
    anchors: Vec<tiprelay_proto::audit::Anchor>,
    w: &mut impl std::io::Write,
) -> Result<tiprelay_proto::audit::BundleHeader, StoreError> {
    let r = db.begin_read().map_err(failed)?;
    let entries = r.open_table(EVENTS).map_err(failed)?;
    let nodes = r.open_table(AUDIT_NODES).map_err(failed)?;
    let cps = r.open_table(CHECKPOINTS).map_err(failed)?;
    let cos = r.open_table(COSIGNATURES).map_err(failed)?;
    let Some((head, head_env)) = cps.last().map_err(failed)?.map(|(k, v)| (k.value(), v.value().to_vec())) else {
        return Err(StoreError::Failed("the relay has signed no checkpoint yet; nothing can be exported".into()));
    };
    let log =
        tiprelay_proto::parse::<Checkpoint>(&head_env).map_err(|e| StoreError::Failed(e.to_string()))?.message.log;
    // Entries are appended in time order: binary search by time.
    let time_of = |i: u64| -> Result<u64, StoreError> {
        let g = entries.get(i).map_err(failed)?.ok_or_else(|| StoreError::Failed(format!("entry {i} missing")))?;
        Event::decode(g.value()).map(|e| e.time).map_err(|e| StoreError::Failed(e.to_string()))
    };
    let first_at_or_after = |t: Timestamp, lo: u64| -> Result<u64, StoreError> {
        let (mut lo, mut hi) = (lo, head);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if time_of(mid)? < t.as_unix_ms() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    };
    let mut first = match range.since {
        Some(s) => first_at_or_after(s, 0)?,
        None => 0,
    };
    let end = match range.until {
        Some(u) => {
            let stop = first_at_or_after(u, first)?;
            // Extend to the first checkpoint at or after that point, so the end is signed.
            let next = cps.range(stop.max(first + 1)..).map_err(failed)?.next().transpose().map_err(failed)?;
            next.map_or(head, |(k, _)| k.value())
        }
        None => head,
    };
    if first >= end {
        first = end.saturating_sub(1);
    }
    // The header carries a bounded number of checkpoints, whatever the history's length.
    let mut candidates = Vec::new();
    for item in cps.range(first + 1..=end).map_err(failed)? {
        let size = item.map_err(failed)?.0.value();
        let cosigned = cos.range((size, "")..(size + 1, "")).map_err(failed)?.count();
        candidates.push((size, cosigned));
    }
    let max = range.max_checkpoints.unwrap_or(crate::core::export::MAX_BUNDLE_CHECKPOINTS);
    let picked = crate::core::export::thin_checkpoints(&candidates, first, end, max);
    drop(candidates);
    let mut checkpoints = Vec::with_capacity(picked.len());
    for size in picked {
        let v =
            cps.get(size).map_err(failed)?.ok_or_else(|| StoreError::Failed(format!("checkpoint {size} missing")))?;
        checkpoints
            .push(SignedCheckpoint { checkpoint: v.value().to_vec(), cosignatures: cosignatures_of(&cos, size)? });
    }
    let prefix = auditlog::prefix(&nodes, first).map_err(log_failed)?;
    let header = tiprelay_proto::audit::BundleHeader {
        log,
        created: now(),
        first,
        count: end - first,
        prefix,
        checkpoints,
        anchors,
        since: range.since,
        until: range.until,
    };
    let items = auditlog::bundle_items(&entries, &nodes, first, end);
    tiprelay_proto::audit::write_bundle(w, &header, items).map_err(failed)?;
    Ok(header)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiprelay_certs::fixture::FixturePki;
    use tiprelay_certs::profile::LeafKind;
    use tiprelay_proto::{Authority, Category, TipId, Tlp, Urgency};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn best_effort_events_lost_to_a_full_queue_are_counted_in_the_log() {
        let pki = FixturePki::new("dropped", &[Authority::Operator], time::OffsetDateTime::now_utc()).unwrap();
        let relay =
            pki.leaf(&"tiprelay://OPERATOR/relay/r".parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // Batch 1: a queue of 4, so a burst of 300 overflows it.
        let (store, writer) =
            Store::open(&dir.path().join("d.redb"), relay, [], 1, u64::MAX, Default::default()).unwrap();
        for _ in 0..300 {
            store.event(Event::new("rejected", now()));
        }
        // Anything that commits after the burst records the count.
        for _ in 0..50 {
            store.checkpoint().await.unwrap();
            let events = store.events().unwrap();
            let kept = events.iter().filter(|e| e.kind == "rejected").count() as u64;
            let lost: u64 = events.iter().filter(|e| e.kind == "events_dropped").filter_map(|e| e.seq).sum();
            if kept + lost == 300 {
                assert!(lost > 0, "the burst was expected to overflow a queue of 4");
                drop(store);
                writer.join();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("events were lost without being counted");
    }

    /// Any principal can mint checkpoints; an export's header stays bounded anyway, and the
    /// bundle verifies (10,500 checkpoints here; the header carries at most 1,024).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_export_of_a_log_with_many_checkpoints_has_a_bounded_header_and_verifies() {
        let pki = FixturePki::new("thin", &[Authority::Operator], time::OffsetDateTime::now_utc()).unwrap();
        let relay =
            pki.leaf(&"tiprelay://OPERATOR/relay/r".parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let leaf = pki.leaf(&"tiprelay://OPERATOR/relay/r".parse().unwrap(), LeafKind::Signing).unwrap();
        let path = dir.path().join("t.redb");
        let (store, writer) = Store::open(&path, leaf.signer().unwrap(), [], 64, u64::MAX, Default::default()).unwrap();
        drop(store);
        writer.join();
        // 10,500 entries, each followed by a checkpoint, written in one transaction (as the
        // writer would over many commits; one fsync keeps the test quick).
        {
            let db = Database::create(&path).unwrap();
            let w = db.begin_write().unwrap();
            {
                let mut tx = Tx::open(&w).unwrap();
                for i in 0..10_500u64 {
                    tx.append_event(&Event { seq: Some(i), ..Event::new("rejected", now()) }).unwrap();
                    tx.checkpoint(&relay, 1).unwrap();
                }
            }
            w.commit().unwrap();
        }
        let db = open_read_only(&dir.path().join("t.redb")).unwrap();
        let anchors = vec![tiprelay_proto::audit::Anchor {
            authority: Authority::Operator,
            root: pki.ca(Authority::Operator).unwrap().cert_der.clone(),
            crl: Some(pki.crl(Authority::Operator, &[], 1).unwrap()),
        }];
        let all = redb::ReadableTableMetadata::len(&db.begin_read().unwrap().open_table(CHECKPOINTS).unwrap()).unwrap();
        assert!(all >= 10_500, "only {all} checkpoints were signed");
        let mut bundle = Vec::new();
        let header = export_bundle(&db, ExportRange::default(), anchors, &mut bundle).unwrap();
        assert!(header.count >= 10_500, "{} entries", header.count);
        assert!(
            header.checkpoints.len() <= crate::core::export::MAX_BUNDLE_CHECKPOINTS,
            "{} checkpoints in the header",
            header.checkpoints.len()
        );
        let mut seen = 0u64;
        let report = tiprelay_proto::audit::verify_bundle(&bundle[..], None, |_| seen += 1).unwrap();
        assert_eq!(seen, header.count);
        assert_eq!(report.head().map(|c| c.checkpoint.size), Some(header.count));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retention_purges_acknowledged_bodies_and_keeps_the_record() {
        let (mx, us): (Jurisdiction, Jurisdiction) = ("MX".parse().unwrap(), "US".parse().unwrap());
        let base = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        let pki = FixturePki::new(
            "retention",
            &[Authority::Jurisdiction(mx), Authority::Jurisdiction(us), Authority::Operator],
            base,
        )
        .unwrap();
        let relay =
            pki.leaf(&"tiprelay://OPERATOR/relay/r".parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
        let ana = pki.leaf(&"tiprelay://MX/analyst/ana".parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
        let sam = pki.leaf(&"tiprelay://US/analyst/sam".parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) =
            Store::open(&dir.path().join("r.redb"), relay, [mx, us], 16, u64::MAX, Default::default()).unwrap();
        let tip = Tip {
            id: TipId::new_v7(now(), [5; 10]),
            from: mx,
            to: us,
            author: ana.identity().clone(),
            created: now(),
            category: Category::FuelTheft,
            urgency: Urgency::Routine,
            summary: "fuel".into(),
            details: None,
            lang: "es".parse().unwrap(),
            location: None,
            observed_at: None,
            valid_until: None,
            source_reliability: None,
            info_credibility: None,
            tlp: Tlp::Green,
            refs: vec![],
        };
        let env = ana.sign(&tip).unwrap();
        let digest = Digest::of(&env);
        let s = store.submit(tip.clone(), digest, env).await.unwrap();
        // Not acknowledged yet: nothing to purge, even with a cutoff in the future.
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 0);
        let ack = DeliveryAck {
            tip: tip.id,
            from: mx,
            to: us,
            digest,
            seq: s.seq,
            by: sam.identity().clone(),
            received: now(),
        };
        let ack_env = sam.sign(&ack).unwrap();
        assert!(store.ack(ack, ack_env).await.unwrap());
        // Acknowledged, but within the retention period: kept.
        assert_eq!(store.purge(Timestamp::from_unix_ms(0).unwrap()).await.unwrap(), 0);
        assert!(store.tip(mx, tip.id.as_bytes()).unwrap().unwrap().envelope.is_some());
        // Past it: the body goes, the record stays.
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 1);
        let rec = store.tip(mx, tip.id.as_bytes()).unwrap().unwrap();
        assert!(rec.envelope.is_none());
        assert_eq!(rec.digest, digest.0.to_vec());
        assert!(!rec.receipt.is_empty());
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 0, "purging twice is harmless");
        assert!(store
            .events()
            .unwrap()
            .iter()
            .any(|e| e.kind == "purged" && e.digest.as_deref() == Some(digest.to_hex().as_str())));

        // A second analyst of the recipient side who has acked only the first of two tips
        // keeps the second one's body alive.
        let bea = pki.leaf(&"tiprelay://US/analyst/bea".parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
        let mut t2 = tip.clone();
        t2.id = TipId::new_v7(now(), [6; 10]);
        let env2 = ana.sign(&t2).unwrap();
        let d2 = Digest::of(&env2);
        let s2 = store.submit(t2.clone(), d2, env2).await.unwrap();
        let ack_by = |by: &Signer, t: &Tip, d: Digest, seq: u64| {
            let a =
                DeliveryAck { tip: t.id, from: mx, to: us, digest: d, seq, by: by.identity().clone(), received: now() };
            (a.clone(), by.sign(&a).unwrap())
        };
        let (a, e) = ack_by(&bea, &tip, digest, s.seq);
        store.ack(a, e).await.unwrap();
        let (a, e) = ack_by(&sam, &t2, d2, s2.seq);
        assert!(store.ack(a, e).await.unwrap());
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 0, "bea has not acked tip 2");
        assert!(store.tip(mx, t2.id.as_bytes()).unwrap().unwrap().envelope.is_some());
        let (a, e) = ack_by(&bea, &t2, d2, s2.seq);
        store.ack(a, e).await.unwrap();
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 1);
        drop(store);
        writer.join();
    }
}
