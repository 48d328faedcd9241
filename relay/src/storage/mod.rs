//! The relay's durable store: a storage trait, the group-commit writer built on it, and the
//! engines that implement it (redb today).
//!
//! * [`ReadTables`] and [`WriteTables`] are the seam: small, engine-neutral reads and writes
//!   of the relay's records (tips, sequence index, cursors, notices, statements, ledger facts,
//!   the audit log). An [`Engine`] runs a closure in one durable write transaction, or hands
//!   out a consistent read view.
//! * [`writer`] is the pipelined group-commit writer (DESIGN §9): a *preparer* thread decides
//!   each tip by the rules of [`crate::core`] and signs its receipt, while the *committer*
//!   thread applies the previous batch and waits for its fsync. Nobody is answered before the
//!   commit that holds their operation is durable.
//! * [`apply`] holds the write transactions of every other operation (acks, feedback,
//!   statements, retention, checkpoints); [`query`] the reads (fetch, proofs, ledgers,
//!   export). Both are written once, against the trait.
//! * [`redb`] is the embedded engine, split into its schema, its reads and its writes.
//!
//! A second engine is a new module implementing the two traits; the behaviour suite
//! (`suite`, in tests) runs against every engine.

pub mod apply;
pub mod postgres;
pub mod query;
pub mod redb;
pub mod writer;

#[cfg(test)]
mod suite;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every store outcome maps to one stable wire code.
    #[test]
    fn each_store_error_has_its_wire_code() {
        let conflict = StoreError::Conflict { id: "i".into(), from: "MX".into(), existing: "00".into() };
        let quota = StoreError::QuotaExceeded { author: "a".into(), pending: 1, quota: 1 };
        let refused = StoreError::Refused(WireError::new(ErrorCode::ProofOutOfRange, "x"));
        let cases = [
            (conflict, ErrorCode::Conflict),
            (quota, ErrorCode::QuotaExceeded),
            (refused, ErrorCode::ProofOutOfRange),
            (StoreError::Full, ErrorCode::StorageFull),
            (StoreError::Closed, ErrorCode::Unavailable),
            (StoreError::Failed("x".into()), ErrorCode::Unavailable),
            (StoreError::Corrupt("x".into()), ErrorCode::Unavailable),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e}");
        }
    }

    /// A full disk is recognised by the I/O error's kind, whatever its text.
    #[test]
    fn a_full_disk_is_storage_full_by_its_kind_not_its_text() {
        let enospc = std::io::Error::from_raw_os_error(28);
        assert_eq!(StoreError::io(enospc), StoreError::Full);
        let other = std::io::Error::other("No space left on device (but not really)");
        assert!(matches!(StoreError::io(other), StoreError::Failed(_)));
        let e: StoreError = redb::fail(::redb::StorageError::Io(std::io::Error::from_raw_os_error(28)));
        assert_eq!(e, StoreError::Full);
    }
}

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tiprelay_proto::audit::SignedCheckpoint;
use tiprelay_proto::wire::{Delivery, ForwardedStatement, Notice, WireError};
use tiprelay_proto::{
    Cosignature, DeliveryAck, Digest, ErrorCode, Feedback, Jurisdiction, LedgerStatement, Signer, Timestamp, Tip,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;
pub use query::{ExportRange, LinkStatus, RecordQuery};
pub use writer::WriterThread;

pub use crate::core::delivery::FETCH_BYTE_BUDGET;

/// An entry of the relay's audit log (PROTOCOL §13). Metadata and digests only, never a
/// tip body.
pub use tiprelay_proto::audit::AuditEntry as Event;

/// redb's page cache for the relay: the working set is the recent tail of each table, so a
/// bounded cache keeps memory flat with a large backlog (redb's default is 1 GiB).
pub const RELAY_CACHE_BYTES: usize = 64 * 1024 * 1024;

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

/// A notice to a tip's author as stored: an ack envelope, or a feedback envelope with its receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoticeRecord {
    /// The ack or feedback envelope.
    #[serde(with = "serde_bytes")]
    pub envelope: Vec<u8>,
    /// The relay's receipt of a feedback (None for an ack).
    #[serde(with = "serde_bytes")]
    pub receipt: Option<Vec<u8>>,
    /// Federation: `envelope` is the peer relay's receipt of the author's tip, which
    /// crossed the link (`receipt` is None). Absent from the records of every other notice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub crossed: bool,
}

/// A tip the peer relay receipted (federation): what the home relay records once the
/// receipt is checked.
#[derive(Debug, Clone)]
pub struct CrossedTip {
    /// Sending (home) jurisdiction.
    pub from: Jurisdiction,
    /// Tip id.
    pub id: [u8; 16],
    /// Its home sequence number (the peer's receipt names the same).
    pub seq: u64,
    /// The peer relay's receipt envelope.
    pub receipt: Vec<u8>,
}

/// Where the notices about a tip go: to its author, or, on a federated relay for a tip
/// that came over the link (its `from` is not `home`), to the link's outgoing queue of
/// that jurisdiction ([`link_key`]), from which they cross back to the author's relay.
pub fn notice_key(author: &str, from: &str, home: Option<Jurisdiction>) -> String {
    match home {
        Some(h) if h.as_str() != from => link_key(from),
        _ => author.to_owned(),
    }
}

/// The notice queue of the link to jurisdiction `j`'s relay (never a principal URI).
pub fn link_key(j: &str) -> String {
    format!("link:{j}")
}

/// Accepted feedback or statement: its digest and receipt (and the statement's envelope).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatementRecord {
    /// Digest of the envelope.
    #[serde(with = "serde_bytes")]
    pub digest: Vec<u8>,
    /// The statement's envelope (empty for feedback: it lives in the author's notice).
    #[serde(with = "serde_bytes")]
    pub envelope: Vec<u8>,
    /// The relay's receipt.
    #[serde(with = "serde_bytes")]
    pub receipt: Vec<u8>,
}

/// Why the store refused or failed an operation; each maps to one wire code.
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
    /// A rule of [`crate::core`] refused it (unknown tip, not permitted, unknown checkpoint,
    /// proof out of range, checkpoint mismatch): the code and reason it gave.
    #[error("{}", .0.reason)]
    Refused(WireError),
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
    /// The stored data is damaged (a record that does not decode, a missing node).
    #[error("the store is damaged: {0}")]
    Corrupt(String),
    /// Any other storage failure.
    #[error("storage failure: {0}")]
    Failed(String),
    /// The writer has stopped (shutdown).
    #[error("the relay is shutting down")]
    Closed,
    /// The store cannot be used as it is (absent, in use, read-only, another schema,
    /// nothing to export); the message says what to do.
    #[error("{0}")]
    Unusable(tiprelay_common::localize::Msg),
}

impl StoreError {
    /// Wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::Refused(w) => ErrorCode::from_u16(w.code).unwrap_or(ErrorCode::Unavailable),
            Self::Full => ErrorCode::StorageFull,
            Self::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            Self::Corrupt(_) | Self::Failed(_) | Self::Closed | Self::Unusable(_) => ErrorCode::Unavailable,
        }
    }

    /// An I/O failure: `storage_full` when the disk is full (by its error kind, never by text).
    pub fn io(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            Self::Full
        } else {
            Self::Failed(e.to_string())
        }
    }
}

impl From<WireError> for StoreError {
    fn from(w: WireError) -> Self {
        Self::Refused(w)
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

/// A tip's key: (sending jurisdiction, id bytes).
pub type TipKey = (Jurisdiction, [u8; 16]);

/// One verified tip for the writer: the tip, its envelope digest and its bytes.
pub type TipToWrite = (Box<Tip>, Digest, Vec<u8>);

/// Names of the counters kept by every engine.
pub mod counters {
    /// The number of audit entries (the next entry's index).
    pub const NEXT_EVENT: &str = "next_event";
    /// The last notice index (acks and feedback to authors).
    pub const NEXT_ACK: &str = "next_ack";
    /// The last forwarded-statement index.
    pub const NEXT_STATEMENT: &str = "next_statement";
    /// Federation: the highest home sequence number of direction `from → to` the peer
    /// relay receipted (every lower one too).
    pub fn link_tips(from: &str, to: &str) -> String {
        format!("link_tips:{from}:{to}")
    }
    /// Federation: the last notice index of the link queue to `peer` that crossed.
    pub fn link_notices(peer: &str) -> String {
        format!("link_notices:{peer}")
    }
    /// Federation: the last index of the statements for `peer` that crossed.
    pub fn link_statements(peer: &str) -> String {
        format!("link_statements:{peer}")
    }
}

/// A visitor's answer: go on or stop.
pub type Visit<'v, T> = &'v mut dyn FnMut(T) -> Result<bool, StoreError>;

/// A visitor of the sequence index: (seq, tip id) → go on or stop.
pub type SeqVisit<'v> = &'v mut dyn FnMut(u64, &[u8]) -> Result<bool, StoreError>;

/// A visitor of ledger facts: (accepted ms, from, tip id, packed facts) → go on or stop.
pub type FactsVisit<'v> = &'v mut dyn FnMut(u64, &str, &[u8], &[u8]) -> Result<bool, StoreError>;

/// A consistent read view of a store (committed data, or a write transaction's own view).
pub trait ReadTables {
    /// The record of tip (from, id).
    fn tip(&self, from: &str, id: &[u8]) -> Result<Option<TipRecord>, StoreError>;
    /// The records of several tips, in order (an engine with round trips answers in one).
    fn tips(&self, keys: &[(String, Vec<u8>)]) -> Result<Vec<Option<TipRecord>>, StoreError> {
        keys.iter().map(|(from, id)| self.tip(from, id)).collect()
    }
    /// A counter (None when never set).
    fn counter(&self, name: &str) -> Result<Option<u64>, StoreError>;
    /// Bytes of the author's tips not yet acknowledged.
    fn author_pending(&self, author: &str) -> Result<u64, StoreError>;
    /// The last sequence number of a direction (0: none yet).
    fn dir_seq(&self, from: &str, to: &str) -> Result<u64, StoreError>;
    /// Every direction with its last sequence number.
    fn dir_seqs(&self) -> Result<Vec<(String, String, u64)>, StoreError>;
    /// Tip ids of direction (from, to) with seq > `after`, in seq order, until `f` says stop.
    fn seqs(&self, from: &str, to: &str, after: u64, f: SeqVisit<'_>) -> Result<(), StoreError>;
    /// A principal's delivery cursor for tips from `from` (0: none).
    fn cursor(&self, principal: &str, from: &str) -> Result<u64, StoreError>;
    /// Every (principal, cursor) for tips from `from` whose principal begins with `prefix`.
    fn cursors_of(&self, from: &str, prefix: &str) -> Result<Vec<(String, u64)>, StoreError>;
    /// Whether the principal acknowledged `seq` out of order (above its cursor).
    fn acked_above(&self, principal: &str, from: &str, seq: u64) -> Result<bool, StoreError>;
    /// The notice index of a tip's first acknowledgement.
    fn first_ack(&self, from: &str, id: &[u8]) -> Result<Option<u64>, StoreError>;
    /// Tips first acknowledged before `cutoff` whose bodies are still held: (from, id, at), at most `limit`.
    fn acked_before(&self, cutoff: u64, limit: usize) -> Result<Vec<(String, Vec<u8>, u64)>, StoreError>;
    /// Packed ledger facts of a tip (keyed by acceptance time).
    fn facts(&self, accepted: u64, from: &str, id: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Ledger facts in key order from `start` (exclusive when `after`) to accepted < `until`.
    fn facts_range(
        &self,
        start: (u64, &str, &[u8]),
        after: bool,
        until: u64,
        f: FactsVisit<'_>,
    ) -> Result<(), StoreError>;
    /// Notices to `author` with index > `after`, in order.
    fn notices(&self, author: &str, after: u64, f: Visit<'_, (u64, NoticeRecord)>) -> Result<(), StoreError>;
    /// A stored feedback by (recipient jurisdiction, feedback id).
    fn feedback_record(&self, to: &str, id: &[u8]) -> Result<Option<StatementRecord>, StoreError>;
    /// The index of a statement by (jurisdiction, statement id).
    fn statement_index(&self, jurisdiction: &str, id: &[u8]) -> Result<Option<u64>, StoreError>;
    /// Statements addressed to `to` with index > `after`, in order.
    fn statements(&self, to: &str, after: u64, f: Visit<'_, (u64, StatementRecord)>) -> Result<(), StoreError>;
    /// A statement by (addressee, index).
    fn statement(&self, to: &str, index: u64) -> Result<Option<StatementRecord>, StoreError>;
    /// The canonical bytes of audit entry `index`.
    fn audit_entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// A completed Merkle node of the audit log.
    fn audit_node(&self, level: u8, index: u64) -> Result<Option<Digest>, StoreError>;
    /// The newest signed checkpoint: (size, envelope).
    fn last_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError>;
    /// The signed checkpoint of `size`.
    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Sizes of the checkpoints in `lo..=hi`, ascending, until `f` says stop.
    fn checkpoint_sizes(&self, lo: u64, hi: u64, f: Visit<'_, u64>) -> Result<(), StoreError>;
    /// The cosignatures of checkpoint `size`, in cosigner order.
    fn cosignatures(&self, size: u64) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Whether `by` cosigned checkpoint `size`.
    fn cosigned(&self, size: u64, by: &str) -> Result<bool, StoreError>;
}

/// Writes inside one transaction of an engine; reads see the transaction's own writes.
pub trait WriteTables: ReadTables {
    /// Stores a tip's record.
    fn put_tip(&mut self, from: &str, id: &[u8], rec: &TipRecord) -> Result<(), StoreError>;
    /// Sets a counter.
    fn set_counter(&mut self, name: &str, value: u64) -> Result<(), StoreError>;
    /// Sets an author's pending bytes.
    fn set_author_pending(&mut self, author: &str, bytes: u64) -> Result<(), StoreError>;
    /// Sets a direction's last sequence number.
    fn set_dir_seq(&mut self, from: &str, to: &str, seq: u64) -> Result<(), StoreError>;
    /// Indexes a tip by its sequence number.
    fn put_seq(&mut self, from: &str, to: &str, seq: u64, id: &[u8]) -> Result<(), StoreError>;
    /// Sets a principal's delivery cursor.
    fn set_cursor(&mut self, principal: &str, from: &str, cursor: u64) -> Result<(), StoreError>;
    /// Records an out-of-order acknowledgement.
    fn put_acked_above(&mut self, principal: &str, from: &str, seq: u64, at: u64) -> Result<(), StoreError>;
    /// Removes an out-of-order acknowledgement; whether it was there.
    fn take_acked_above(&mut self, principal: &str, from: &str, seq: u64) -> Result<bool, StoreError>;
    /// A hint before a group of acks is applied: the engine may read what those acks will
    /// read (the tips, their first acks and ledger facts) in a few round trips instead of
    /// one per ack. Reads afterwards answer exactly as without it.
    fn prefetch_acks(&mut self, _keys: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        Ok(())
    }
    /// Records a tip's first acknowledgement (its notice index) and when.
    fn put_first_ack(&mut self, from: &str, id: &[u8], index: u64, at: u64) -> Result<(), StoreError>;
    /// Forgets a tip's first-ack time once its body is purged (the first ack itself stays).
    fn forget_acked_at(&mut self, from: &str, id: &[u8]) -> Result<(), StoreError>;
    /// Stores a notice to an author.
    fn put_notice(&mut self, author: &str, index: u64, n: &NoticeRecord) -> Result<(), StoreError>;
    /// Stores a feedback's record.
    fn put_feedback(&mut self, to: &str, id: &[u8], rec: &StatementRecord) -> Result<(), StoreError>;
    /// Stores a statement and its id index.
    fn put_statement(
        &mut self,
        jurisdiction: &str,
        id: &[u8],
        to: &str,
        index: u64,
        rec: &StatementRecord,
    ) -> Result<(), StoreError>;
    /// Stores a tip's packed ledger facts.
    fn put_facts(&mut self, accepted: u64, from: &str, id: &[u8], packed: &[u8]) -> Result<(), StoreError>;
    /// Stores audit entry `index` (canonical bytes).
    fn put_audit_entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), StoreError>;
    /// Stores a completed Merkle node.
    fn put_audit_node(&mut self, level: u8, index: u64, digest: &Digest) -> Result<(), StoreError>;
    /// Stores a signed checkpoint.
    fn put_checkpoint(&mut self, size: u64, envelope: &[u8]) -> Result<(), StoreError>;
    /// Stores a cosignature.
    fn put_cosignature(&mut self, size: u64, by: &str, envelope: &[u8]) -> Result<(), StoreError>;
}

/// A write transaction's body: runs against the transaction's tables.
pub type WriteFn<'f> = &'f mut dyn FnMut(&mut dyn WriteTables) -> Result<(), StoreError>;

/// A storage engine.
pub trait Engine: Send + Sync + 'static {
    /// Runs `f` in one write transaction and commits it **durably** (on disk, or on the
    /// database's synchronous replicas) when `f` returns Ok; nothing is kept when it fails.
    fn write(&self, f: WriteFn<'_>) -> Result<(), StoreError>;
    /// A consistent view of everything committed.
    fn read(&self) -> Result<Box<dyn ReadTables + '_>, StoreError>;
    /// A name for logs ("redb /var/lib/tiprelay/relay.redb").
    fn describe(&self) -> String;
}

/// Encodes a record as CBOR.
pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(512);
    ciborium::ser::into_writer(v, &mut out).map_err(|e| StoreError::Failed(format!("cannot encode a record: {e}")))?;
    Ok(out)
}

/// Decodes a CBOR record.
pub fn decode<T: for<'de> Deserialize<'de>>(b: &[u8]) -> Result<T, StoreError> {
    ciborium::de::from_reader(b).map_err(|e| StoreError::Corrupt(format!("a record does not decode: {e}")))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The current time as a [`Timestamp`] (the writer's clock: passed into the rules).
pub fn now() -> Timestamp {
    Timestamp::from_unix_ms(now_ms()).unwrap_or_else(|| Timestamp::from_unix_seconds(0))
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
    fn tip_committed(&self, j: Jurisdiction) {
        if let Some(s) = self.tips.get(&j) {
            s.send_modify(|v| *v += 1);
        }
    }
    fn ack_committed(&self, j: Jurisdiction) {
        if let Some(s) = self.acks.get(&j) {
            s.send_modify(|v| *v += 1);
        }
    }
}

/// Handle to the store: writes go to the writer, reads run on the caller's thread.
#[derive(Clone)]
pub struct Store {
    engine: Arc<dyn Engine>,
    tx: mpsc::Sender<writer::WriteOp>,
    /// Tips and acks queued for the writer, bounded by count (an operation may carry up to
    /// 64): each holds a permit until the writer takes it off the queue.
    queued: Arc<tokio::sync::Semaphore>,
    /// Best-effort events (and first-delivery marks) dropped because the writer was busy.
    dropped: Arc<AtomicU64>,
    /// Change notifications.
    pub notifier: Arc<Notifier>,
}

impl Store {
    /// Opens (or creates) a redb store at `path` and starts its writer.
    pub fn open(
        path: &Path,
        signer: Signer,
        jurisdictions: impl IntoIterator<Item = Jurisdiction>,
        batch: usize,
        pending_quota: u64,
        metrics: Arc<Metrics>,
    ) -> Result<(Store, WriterThread), StoreError> {
        let engine = Arc::new(redb::RedbEngine::open(path)?);
        Self::start(engine, signer, jurisdictions, batch, pending_quota, metrics)
    }

    /// Starts the writer on an opened engine.
    pub fn start(
        engine: Arc<dyn Engine>,
        signer: Signer,
        jurisdictions: impl IntoIterator<Item = Jurisdiction>,
        batch: usize,
        pending_quota: u64,
        metrics: Arc<Metrics>,
    ) -> Result<(Store, WriterThread), StoreError> {
        for (to, n) in query::pending_per_recipient(&*engine.read()?)? {
            metrics.pending_tips.get_or_create(&crate::metrics::ToLabels { to }).set(n);
        }
        let notifier = Arc::new(Notifier::new(jurisdictions));
        let dropped = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel(batch.max(1) * 4);
        let config = writer::WriterConfig {
            signer,
            batch: batch.max(1),
            checkpoint_entries: crate::core::audit::CHECKPOINT_ENTRIES,
            pending_quota,
        };
        let handle = writer::spawn(engine.clone(), config, notifier.clone(), dropped.clone(), metrics, rx)?;
        let queued = Arc::new(tokio::sync::Semaphore::new(writer::queue_items(batch)));
        Ok((Store { engine, tx, queued, notifier, dropped }, handle))
    }

    /// The engine (for reads and tools).
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    async fn call<T>(&self, op: writer::WriteOp, rx: oneshot::Receiver<T>) -> Result<T, StoreError> {
        self.tx.send(op).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)
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
        self.call(writer::WriteOp::Submit { tips, forwarded: None, reply, permit }, rx).await
    }

    /// Federation: commits tips forwarded by the peer relay, each under exactly its home
    /// number `seqs[i]` (never another: `sequence_gap`); one outcome per tip, in order.
    pub async fn forward_many(
        &self,
        tips: Vec<TipToWrite>,
        seqs: Vec<u64>,
    ) -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
        let (reply, rx) = oneshot::channel();
        let permit = self.queue_permit(tips.len()).await?;
        self.call(writer::WriteOp::Submit { tips, forwarded: Some(seqs), reply, permit }, rx).await
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
        self.call(writer::WriteOp::Ack { acks, reply, permit }, rx).await
    }

    /// Waits until `n` more items may queue for the writer.
    async fn queue_permit(&self, n: usize) -> Result<tokio::sync::OwnedSemaphorePermit, StoreError> {
        let n = u32::try_from(n.clamp(1, writer::queue_items(0))).unwrap_or(1);
        self.queued.clone().acquire_many_owned(n).await.map_err(|_| StoreError::Closed)
    }

    /// Commits a verified Feedback (or finds the earlier commit) and returns its receipt.
    pub async fn feedback(&self, fb: Feedback, digest: Digest, envelope: Vec<u8>) -> Result<Submitted, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.call(writer::WriteOp::Feedback { fb: Box::new(fb), digest, envelope, reply }, rx).await?
    }

    /// Commits a verified LedgerStatement (or finds the earlier commit) and returns its receipt.
    pub async fn statement(
        &self,
        st: LedgerStatement,
        digest: Digest,
        envelope: Vec<u8>,
    ) -> Result<Submitted, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.call(writer::WriteOp::Statement { st: Box::new(st), digest, envelope, reply }, rx).await?
    }

    /// Records (best effort, off the answer's path) that `principal` was handed these tips;
    /// the first delivery of each tip is kept in its ledger facts and the event log.
    pub fn delivered(&self, principal: String, tips: Vec<TipKey>) {
        if !tips.is_empty() && self.tx.try_send(writer::WriteOp::Delivered { principal, tips }).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Purges the bodies of tips first acknowledged before `cutoff` (at most 10,000 per
    /// call); returns how many were purged. Digest, metadata, receipt and events remain.
    pub async fn purge(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.call(writer::WriteOp::Purge { cutoff: cutoff.as_unix_ms(), reply }, rx).await?
    }

    /// Queues an event if the writer has room now; false if not (the caller counts it).
    pub fn try_event(&self, e: Event) -> bool {
        self.tx.try_send(writer::WriteOp::Event(Box::new(e))).is_ok()
    }

    /// Queues an event, waiting for room in the writer's queue (never dropped unless the
    /// writer has stopped).
    pub async fn event_wait(&self, e: Event) -> Result<(), StoreError> {
        self.tx.send(writer::WriteOp::Event(Box::new(e))).await.map_err(|_| StoreError::Closed)
    }

    /// Appends an event (best effort: dropped if the writer is saturated or gone).
    pub fn event(&self, e: Event) {
        if self.tx.try_send(writer::WriteOp::Event(Box::new(e))).is_err() {
            // Never silently: the writer logs how many were dropped at its next commit.
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A counter (None when never set).
    pub fn meta(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.engine.read()?.counter(key)
    }

    /// Sets counters to the given values, durably, in one transaction.
    pub async fn set_meta(&self, entries: Vec<(String, u64)>) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.call(writer::WriteOp::SetMeta { entries, reply }, rx).await?
    }

    /// Raises counters to at least the given values, durably.
    pub async fn raise_meta(&self, entries: Vec<(String, u64)>) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.call(writer::WriteOp::RaiseMeta { entries, reply }, rx).await?
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
        query::fetch(&*self.engine.read()?, principal, to, froms, limit)
    }

    /// Number of tips waiting for `principal` (counted up to `cap`).
    pub fn pending(
        &self,
        principal: &str,
        to: Jurisdiction,
        froms: &[Jurisdiction],
        cap: usize,
    ) -> Result<u64, StoreError> {
        query::waiting(&*self.engine.read()?, principal, to, froms, cap).map(|n| n as u64)
    }

    /// Notices (first acks, feedback) about tips written by `author`, after index `after`.
    pub fn acks_for(&self, author: &str, after: u64, limit: usize) -> Result<Vec<Notice>, StoreError> {
        query::notices(&*self.engine.read()?, author, after, limit)
    }

    /// Statements addressed to `to`, after index `after`.
    pub fn statements_for(
        &self,
        to: Jurisdiction,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ForwardedStatement>, StoreError> {
        query::statements(&*self.engine.read()?, to, after, limit)
    }

    /// Ledger facts of tips accepted in `[since, until)` (see [`query::records`]).
    pub fn records(
        &self,
        q: &RecordQuery,
    ) -> Result<(Vec<tiprelay_proto::TipFacts>, Option<tiprelay_proto::RecordCursor>), StoreError> {
        query::records(&*self.engine.read()?, q)
    }

    /// The stored record of a tip.
    pub fn tip(&self, from: Jurisdiction, id: &[u8; 16]) -> Result<Option<TipRecord>, StoreError> {
        self.engine.read()?.tip(from.as_str(), id)
    }

    /// Every event, in order (for tests and audit export).
    pub fn events(&self) -> Result<Vec<Event>, StoreError> {
        query::events(&*self.engine.read()?)
    }

    /// The newest signed checkpoint with its cosignatures.
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        query::audit_head(&*self.engine.read()?)
    }

    /// An inclusion proof of entry `index` in the tree of `size` entries, with the entry.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<(Vec<u8>, Vec<Digest>), StoreError> {
        query::inclusion(&*self.engine.read()?, index, size)
    }

    /// A consistency proof between tree sizes `old` and `new`.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, StoreError> {
        query::consistency(&*self.engine.read()?, old, new)
    }

    /// Makes a signed checkpoint now if the log grew since the last one; returns the newest.
    pub async fn checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        // Nothing new: answer from the latest without a write (no fsync on demand).
        {
            let r = self.engine.read()?;
            let size = r.counter(counters::NEXT_EVENT)?.unwrap_or(0);
            if r.last_checkpoint()?.map(|(k, _)| k) == Some(size) {
                return query::audit_head(&*r);
            }
        }
        let (reply, rx) = oneshot::channel();
        self.call(writer::WriteOp::Checkpoint { reply }, rx).await?
    }

    /// Federation: records tips the peer relay receipted, in home sequence order: each
    /// receipt becomes a `crossed` notice to the tip's author, and the link's cursor moves
    /// past it, in one durable transaction (a tip recorded before is skipped).
    pub async fn crossed(&self, peer: Jurisdiction, items: Vec<CrossedTip>) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.call(writer::WriteOp::Crossed { peer, items, reply }, rx).await?
    }

    /// Stores a verified cosignature of an existing checkpoint.
    pub async fn cosign(&self, cs: Cosignature, envelope: Vec<u8>) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.call(writer::WriteOp::Cosign { cs: Box::new(cs), envelope, reply }, rx).await?
    }

    /// Federation: the next tips to forward to `to`'s relay (see [`query::link_queue`]).
    pub fn link_queue(
        &self,
        from: Jurisdiction,
        to: Jurisdiction,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<(u64, tiprelay_proto::wire::ForwardedTip)>, StoreError> {
        query::link_queue(&*self.engine.read()?, from, to, limit, max_bytes)
    }

    /// Federation: the link's state (see [`query::link_status`]).
    pub fn link_status(&self, home: Jurisdiction, peer: Jurisdiction) -> Result<query::LinkStatus, StoreError> {
        query::link_status(&*self.engine.read()?, home, peer)
    }

    /// Number of accepted tips per direction.
    pub fn direction_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.engine.read()?.dir_seqs()
    }
}

/// The engine a relay's configuration names (`[store]`): for the relay itself
/// (`for_relay`: created, or migrated to this relay's schema), or for tools beside a running
/// relay (`tiprelay ledger`, `audit export`: redb read-only, PostgreSQL without migrating).
pub fn open_engine(cfg: &crate::config::RelayConfig, for_relay: bool) -> Result<Arc<dyn Engine>, StoreError> {
    use crate::config::StoreBackend;
    Ok(match (&cfg.backend, for_relay) {
        (StoreBackend::Redb, true) => Arc::new(redb::RedbEngine::open(&cfg.store)?),
        (StoreBackend::Redb, false) => Arc::new(redb::RedbEngine::open_read_only(&cfg.store)?),
        (StoreBackend::Postgres(pg), migrate) => Arc::new(postgres::PgEngine::open(pg, migrate)?),
    })
}

/// A name of the configured store for logs and errors (never a password).
pub fn describe(cfg: &crate::config::RelayConfig) -> String {
    match &cfg.backend {
        crate::config::StoreBackend::Redb => format!("redb {}", cfg.store.display()),
        crate::config::StoreBackend::Postgres(pg) => format!("{pg:?}"),
    }
}

/// Opens a relay's redb store read-only, beside the running relay (`tiprelay ledger`,
/// `tiprelay audit export`).
pub fn open_read_only(path: &Path) -> Result<redb::RedbEngine, StoreError> {
    redb::RedbEngine::open_read_only(path)
}

/// The relay's ledger over `range` (see [`query::ledger`]).
pub fn ledger(
    engine: &dyn Engine,
    period: tiprelay_common::ledger::Period,
    range: tiprelay_common::ledger::Range,
) -> Result<tiprelay_common::ledger::Ledger, StoreError> {
    query::ledger(&*engine.read()?, period, range)
}

/// Federation: the link's state as `engine` shows it (see [`query::link_status`]).
pub fn link_status(engine: &dyn Engine, home: Jurisdiction, peer: Jurisdiction) -> Result<LinkStatus, StoreError> {
    query::link_status(&*engine.read()?, home, peer)
}

/// Writes an audit bundle of the store to `w` (see [`query::export_bundle`]).
pub fn export_bundle(
    engine: &dyn Engine,
    range: ExportRange,
    anchors: Vec<tiprelay_proto::audit::Anchor>,
    w: &mut dyn std::io::Write,
) -> Result<tiprelay_proto::audit::BundleHeader, StoreError> {
    query::export_bundle(&*engine.read()?, range, anchors, w)
}

#[doc(hidden)]
pub use redb::{bench_fill_audit, bench_fill_ledger};

#[cfg(feature = "bench-no-audit")]
pub use writer::bench;
