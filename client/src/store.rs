//! The client's local store (redb, one file per principal): outbox, inbox, sequence
//! numbers seen, and cursors. Every write commits (fsync) before it is reported.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tiprelay_proto::audit::AuditEntry;
use tiprelay_proto::{parse, DeliveryAck, Jurisdiction, Receipt, Tip, TipFacts, TipId};

use crate::auditlog;

const OUTBOX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("outbox");
/// Ids of outbox tips that still need sending (no receipt, not refused): resend reads only
/// these, so its cost does not grow with the size of the outbox.
const PENDING: TableDefinition<&[u8], ()> = TableDefinition::new("pending");
const INBOX: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("inbox");
const SEQS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("seqs");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The schema version of the store this tipctl writes, in `meta` under [`SCHEMA_KEY`].
/// Version 1 is the tables of this file as of 2026-12-07; a store without the key was made
/// before versions were recorded (version 0, the same tables): opening it records the
/// version. A store of a newer version is refused unchanged.
pub const SCHEMA_VERSION: u64 = 1;

/// The `meta` key of the schema version.
pub const SCHEMA_KEY: &str = "schema_version";
/// Per-tip accounting facts ([`TipFacts::pack`]) by (from, id), kept in step with the
/// outbox, the inbox and feedback, so a ledger is one scan without parsing envelopes.
const FACTS: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("facts");
/// Feedback given and received, by (tip's from, tip id, feedback id).
/// Key of `feedback`: (tip's from, tip id, feedback id).
type FeedbackKey<'a> = (&'a str, &'a [u8], &'a [u8]);
const FEEDBACK: TableDefinition<FeedbackKey, &[u8]> = TableDefinition::new("feedback");
/// Ledger statements received from the counterpart (and made here), by statement id.
const STATEMENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("statements");

/// The audit state: the newest relay checkpoint this client verified (`checkpoint`), and
/// alerts (`alert:<ms>`) when the relay's log was inconsistent with it.
const AUDIT: TableDefinition<&str, &[u8]> = TableDefinition::new("audit");

/// Feed idempotency: `source_ref` → tip id.
const FEED_REFS: TableDefinition<&str, &[u8]> = TableDefinition::new("feed_refs");

/// Size of the local audit log, in `meta`.
const AUDIT_SIZE: &str = "audit_size";

/// Statement cursor key in `meta`.
pub const STATEMENT_CURSOR: &str = "statement_cursor";
/// Count of forwarded feedback that failed verification or named a tip not sent here.
pub const BAD_FEEDBACK: &str = "bad_feedback";
/// Meta key: `crossed` notices (federation) that did not verify or match a tip of ours.
pub const BAD_CROSSED: &str = "bad_crossed";

/// Ack cursor key in `meta`.
pub const ACK_CURSOR: &str = "ack_cursor";
/// Count of forwarded acks that failed verification or did not match our receipt.
pub const BAD_ACKS: &str = "bad_acks";

/// A tip this principal wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutRecord {
    /// The signed envelope.
    #[serde(with = "serde_bytes")]
    pub envelope: Vec<u8>,
    /// When it was written (ms).
    pub created: u64,
    /// The relay's verified receipt, once held.
    #[serde(with = "serde_bytes")]
    pub receipt: Option<Vec<u8>>,
    /// Its sequence number, once receipted.
    pub seq: Option<u64>,
    /// When the receipt arrived (ms).
    pub receipted_at: Option<u64>,
    /// The counterpart's verified DeliveryAck, once received.
    #[serde(with = "serde_bytes")]
    pub ack: Option<Vec<u8>>,
    /// Who acknowledged.
    pub acked_by: Option<String>,
    /// When the ack arrived here (ms).
    pub acked_at: Option<u64>,
    /// Set when the relay refused the tip for good (`code: reason`); it is not resent.
    #[serde(default)]
    pub rejected: Option<String>,
    /// Federation: the recipient jurisdiction's relay's verified receipt, once the tip
    /// crossed the peering link ("accepted across the border").
    #[serde(default, with = "serde_bytes", skip_serializing_if = "Option::is_none")]
    pub across: Option<Vec<u8>>,
    /// When the crossed receipt arrived here (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub across_at: Option<u64>,
}

/// A tip received from the counterpart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InRecord {
    /// The author's envelope, byte for byte.
    #[serde(with = "serde_bytes")]
    pub envelope: Vec<u8>,
    /// The relay's receipt.
    #[serde(with = "serde_bytes")]
    pub receipt: Vec<u8>,
    /// Sequence number in its direction.
    pub seq: u64,
    /// Verified author identity.
    pub signer: String,
    /// When stored here (ms).
    pub received_at: u64,
    /// Whether our DeliveryAck reached the relay.
    pub acked: bool,
    /// Whether a person has displayed it.
    pub read: bool,
}

/// A feedback given here (on a received tip) or received (on a tip sent from here).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedbackRecord {
    /// The signed Feedback envelope.
    #[serde(with = "serde_bytes")]
    pub envelope: Vec<u8>,
    /// The relay's verified receipt, once held.
    #[serde(with = "serde_bytes")]
    pub receipt: Option<Vec<u8>>,
    /// True when this principal wrote it.
    pub given: bool,
    /// Outcome (`Outcome::as_str`).
    pub outcome: String,
    /// Who wrote it.
    pub by: String,
    /// Its own id (hyphenated).
    pub id: String,
    /// When written (ms, writer clock).
    pub created: u64,
    /// When the relay accepted it (ms), once known.
    pub accepted: Option<u64>,
    /// Set when the relay refused it for good (`code: reason`); it is not resent.
    #[serde(default)]
    pub rejected: Option<String>,
}

/// A ledger statement held here: one made by this principal, or received from the counterpart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatementRecord {
    /// The signed LedgerStatement envelope.
    #[serde(with = "serde_bytes")]
    pub envelope: Vec<u8>,
    /// The relay's receipt, once sent (or as forwarded).
    #[serde(with = "serde_bytes")]
    pub receipt: Option<Vec<u8>>,
    /// True when made here.
    pub own: bool,
    /// When stored here (ms).
    pub stored_at: u64,
}

/// Store failure (its text in this process's language).
#[derive(Debug, thiserror::Error)]
#[error("{}", store_text(path, why))]
pub struct StoreError {
    path: String,
    why: Why,
    full: bool,
}

/// What went wrong in the store.
#[derive(Debug)]
enum Why {
    /// The database's or the OS's own error text.
    Failed(String),
    /// The same, when it means the disk is full.
    DiskFull(String),
    /// The configured size limit is reached.
    Limit {
        /// The store file's size.
        size: u64,
        /// `max_store_mb` in bytes.
        limit: u64,
    },
    /// A record that does not decode.
    Corrupt(String),
    /// The database cannot be opened (perhaps held by another process).
    Busy(String),
    /// The store was written by a later release (its schema version is newer).
    Newer {
        /// The store's schema version.
        found: u64,
    },
}

fn store_text(path: &str, why: &Why) -> String {
    let why = match why {
        Why::Failed(w) => w.clone(),
        Why::DiskFull(w) => crate::t!("store-disk-full", "why" => w.clone()),
        Why::Limit { size, limit } => crate::t!("store-limit", "size" => *size, "limit" => *limit),
        Why::Corrupt(w) => crate::t!("store-corrupt", "why" => w.clone()),
        Why::Busy(w) => crate::t!("store-busy", "why" => w.clone()),
        Why::Newer { found } => crate::t!("store-newer", "found" => *found, "supported" => SCHEMA_VERSION),
    };
    crate::t!("store-error", "path" => path.to_owned(), "why" => why)
}

impl StoreError {
    /// True when the disk (or the configured store size limit) is full: nothing was written.
    pub fn is_full(&self) -> bool {
        self.full
    }
}

/// The local store.
pub struct LocalStore {
    db: Database,
    path: String,
    /// Largest store file allowed (`max_store_mb`), if any.
    limit: Option<u64>,
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = ciborium::ser::into_writer(v, &mut out);
    out
}

/// A failure of the local store, which knows whether it means the disk is full (by the
/// I/O error's kind, never by its text).
trait Failure: std::fmt::Display {
    fn disk_full(&self) -> bool {
        false
    }
}

fn io_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
}

impl Failure for std::io::Error {
    fn disk_full(&self) -> bool {
        io_full(self)
    }
}

impl Failure for redb::StorageError {
    fn disk_full(&self) -> bool {
        matches!(self, redb::StorageError::Io(e) if io_full(e))
    }
}

macro_rules! redb_failure {
    ($($t:ident),*) => {$(
        impl Failure for redb::$t {
            fn disk_full(&self) -> bool {
                matches!(self, redb::$t::Storage(e) if e.disk_full())
            }
        }
    )*};
}

redb_failure!(DatabaseError, TransactionError, TableError, CommitError);

impl Failure for redb::Error {
    fn disk_full(&self) -> bool {
        matches!(self, redb::Error::Io(e) if io_full(e))
    }
}

impl Failure for auditlog::LogError {
    fn disk_full(&self) -> bool {
        auditlog::LogError::disk_full(self)
    }
}

impl Failure for tiprelay_proto::IdError {}
impl Failure for tiprelay_proto::ledger::PackError {}
impl Failure for String {}
impl Failure for &str {}

impl LocalStore {
    fn err(&self, e: impl Failure) -> StoreError {
        let full = e.disk_full();
        let why = if full { Why::DiskFull(e.to_string()) } else { Why::Failed(e.to_string()) };
        StoreError { path: self.path.clone(), why, full }
    }

    /// Sets the largest size the store file may reach; writers that call
    /// [`LocalStore::check_space`] refuse to grow it further.
    pub fn set_limit(&mut self, bytes: Option<u64>) {
        self.limit = bytes;
    }

    /// Refuses (with a "full" error) when the store file has reached its size limit.
    pub fn check_space(&self) -> Result<(), StoreError> {
        let Some(limit) = self.limit else { return Ok(()) };
        let size = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if size >= limit {
            return Err(StoreError { path: self.path.clone(), why: Why::Limit { size, limit }, full: true });
        }
        Ok(())
    }

    fn dec<T: for<'de> Deserialize<'de>>(&self, b: &[u8]) -> Result<T, StoreError> {
        ciborium::de::from_reader(b).map_err(|e| StoreError {
            path: self.path.clone(),
            why: Why::Corrupt(e.to_string()),
            full: false,
        })
    }

    /// Opens or creates the store.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let ps = path.display().to_string();
        let mk = |why: String| StoreError { path: ps.clone(), why: Why::Failed(why), full: false };
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| mk(e.to_string()))?;
        }
        crate::files::create_private(path).map_err(|e| mk(e.to_string()))?;
        // SingleWriter: one tipctl writes at a time (another gets "busy", as before), and
        // `tipctl backup` may open it read-only beside a running `tipctl watch`.
        let db = Database::builder()
            .set_cache_size(32 * 1024 * 1024)
            .set_concurrency_mode(redb::ConcurrencyMode::SingleWriter)
            .create(path)
            .map_err(|e| StoreError { path: ps.clone(), why: Why::Busy(e.to_string()), full: false })?;
        // The store holds tip bodies: owner-only.
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| mk(e.to_string()))?;
        let s = Self { db, path: ps, limit: None };
        let w = s.db.begin_write().map_err(|e| s.err(e))?;
        // The schema version: none in a new store or one made before versions were
        // recorded (version 0, whose tables are version 1's); a newer one is refused
        // before anything is written.
        let found = w.open_table(META).map_err(|e| s.err(e))?.get(SCHEMA_KEY).map_err(|e| s.err(e))?.map(|g| g.value());
        if let Some(found) = found.filter(|v| *v > SCHEMA_VERSION) {
            w.abort().map_err(|e| s.err(e))?;
            return Err(StoreError { path: s.path.clone(), why: Why::Newer { found }, full: false });
        }
        w.open_table(OUTBOX).map_err(|e| s.err(e))?;
        w.open_table(PENDING).map_err(|e| s.err(e))?;
        w.open_table(INBOX).map_err(|e| s.err(e))?;
        w.open_table(SEQS).map_err(|e| s.err(e))?;
        w.open_table(META).map_err(|e| s.err(e))?;
        w.open_table(FACTS).map_err(|e| s.err(e))?;
        w.open_table(FEEDBACK).map_err(|e| s.err(e))?;
        w.open_table(STATEMENTS).map_err(|e| s.err(e))?;
        w.open_table(AUDIT).map_err(|e| s.err(e))?;
        w.open_table(FEED_REFS).map_err(|e| s.err(e))?;
        // Migrations from each older version to the next go here, in order; 0 → 1 only
        // records the version.
        w.open_table(META).map_err(|e| s.err(e))?.insert(SCHEMA_KEY, SCHEMA_VERSION).map_err(|e| s.err(e))?;
        w.commit().map_err(|e| s.err(e))?;
        Ok(s)
    }

    /// The schema version recorded in the store.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(META).map_err(|e| self.err(e))?;
        let v = t.get(SCHEMA_KEY).map_err(|e| self.err(e))?.map(|g| g.value());
        Ok(v.unwrap_or(0))
    }

    /// Appends to this principal's local audit log, in the caller's transaction.
    fn log(&self, w: &redb::WriteTransaction, e: AuditEntry) -> Result<(), StoreError> {
        let mut meta = w.open_table(META).map_err(|e| self.err(e))?;
        let i = meta.get(AUDIT_SIZE).map_err(|e| self.err(e))?.map(|g| g.value()).unwrap_or(0);
        meta.insert(AUDIT_SIZE, i + 1).map_err(|e| self.err(e))?;
        let mut log = auditlog::RedbLog {
            entries: w.open_table(auditlog::ENTRIES).map_err(|e| self.err(e))?,
            nodes: w.open_table(auditlog::NODES).map_err(|e| self.err(e))?,
        };
        auditlog::append(&mut log, i, &e).map_err(|e| self.err(e))
    }

    /// The local audit log as (size, root, entries+leaves writer): writes a bundle of all
    /// of it to `out`, with `checkpoint` (signed by the caller over `(size, root)`).
    pub fn local_audit_head(&self) -> Result<(u64, tiprelay_proto::Digest), StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let size = r
            .open_table(META)
            .map_err(|e| self.err(e))?
            .get(AUDIT_SIZE)
            .map_err(|e| self.err(e))?
            .map(|g| g.value())
            .unwrap_or(0);
        let log = auditlog::RedbLog {
            entries: r.open_table(auditlog::ENTRIES).map_err(|e| self.err(e))?,
            nodes: r.open_table(auditlog::NODES).map_err(|e| self.err(e))?,
        };
        Ok((size, auditlog::root(&log, size).map_err(|e| self.err(e))?))
    }

    /// Writes the local audit log's first `size` entries as a bundle.
    pub fn write_local_bundle(
        &self,
        header: &tiprelay_proto::audit::BundleHeader,
        w: &mut impl std::io::Write,
    ) -> Result<(), StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let log = auditlog::RedbLog {
            entries: r.open_table(auditlog::ENTRIES).map_err(|e| self.err(e))?,
            nodes: r.open_table(auditlog::NODES).map_err(|e| self.err(e))?,
        };
        let items = auditlog::bundle_items(&log, header.first, header.first + header.count);
        tiprelay_proto::audit::write_bundle(w, header, items).map_err(|e| self.err(e))
    }

    /// Inserts or replaces an outbox record.
    pub fn put_out(&self, id: &[u8; 16], r: &OutRecord) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        self.put_out_in(&w, id, r)?;
        w.commit().map_err(|e| self.err(e))
    }

    /// Several outbox records in one transaction (one fsync): receipts of a pipelined batch.
    pub fn put_out_batch(&self, items: &[([u8; 16], OutRecord)]) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        for (id, r) in items {
            self.put_out_in(&w, id, r)?;
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// A batch of new feed tips, in one transaction with what makes the feed resumable: the
    /// `source_ref → id` of each, and the input position reached (`cursor`: key, line).
    pub fn put_feed_batch(
        &self,
        items: &[([u8; 16], OutRecord, Option<String>)],
        cursor: Option<(&str, u64)>,
    ) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        for (id, r, source_ref) in items {
            self.put_out_in(&w, id, r)?;
            if let Some(sr) = source_ref {
                w.open_table(FEED_REFS)
                    .map_err(|e| self.err(e))?
                    .insert(sr.as_str(), id.as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        if let Some((key, line)) = cursor {
            w.open_table(META).map_err(|e| self.err(e))?.insert(key, line).map_err(|e| self.err(e))?;
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// The tip id recorded for a feed `source_ref`, if any.
    pub fn feed_ref(&self, source_ref: &str) -> Result<Option<[u8; 16]>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(FEED_REFS).map_err(|e| self.err(e))?;
        let v = t.get(source_ref).map_err(|e| self.err(e))?;
        v.map(|g| g.value().try_into().map_err(|_| self.err("bad feed ref"))).transpose()
    }

    fn put_out_in(&self, w: &redb::WriteTransaction, id: &[u8; 16], r: &OutRecord) -> Result<(), StoreError> {
        let old: Option<OutRecord> = {
            let t = w.open_table(OUTBOX).map_err(|e| self.err(e))?;
            let g = t.get(id.as_slice()).map_err(|e| self.err(e))?;
            g.map(|g| self.dec(g.value())).transpose()?
        };
        for e in out_events(old.as_ref(), r) {
            self.log(w, e)?;
        }
        w.open_table(OUTBOX)
            .map_err(|e| self.err(e))?
            .insert(id.as_slice(), enc(r).as_slice())
            .map_err(|e| self.err(e))?;
        {
            let mut p = w.open_table(PENDING).map_err(|e| self.err(e))?;
            if r.receipt.is_none() && r.rejected.is_none() {
                p.insert(id.as_slice(), ()).map_err(|e| self.err(e))?;
            } else {
                p.remove(id.as_slice()).map_err(|e| self.err(e))?;
            }
        }
        if let Some(f) = out_facts(r) {
            let mut t = w.open_table(FACTS).map_err(|e| self.err(e))?;
            let from = f.from;
            let key = (from.as_str(), id.as_slice());
            let old = t.get(key).map_err(|e| self.err(e))?.and_then(|g| TipFacts::unpack(f.from, f.id, g.value()).ok());
            let f = keep_feedback(f, old);
            t.insert(key, f.pack().as_slice()).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Ids of outbox tips still to send, oldest first.
    pub fn pending_out(&self) -> Result<Vec<[u8; 16]>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(PENDING).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for i in t.iter().map_err(|e| self.err(e))? {
            let (k, _) = i.map_err(|e| self.err(e))?;
            out.push(k.value().try_into().map_err(|_| self.err("bad key"))?);
        }
        Ok(out)
    }

    /// One outbox record.
    pub fn get_out(&self, id: &[u8; 16]) -> Result<Option<OutRecord>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(OUTBOX).map_err(|e| self.err(e))?;
        let v = t.get(id.as_slice()).map_err(|e| self.err(e))?;
        v.map(|g| self.dec(g.value())).transpose()
    }

    /// Every outbox record (id order: UUIDv7, so creation order).
    pub fn outbox(&self) -> Result<Vec<([u8; 16], OutRecord)>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(OUTBOX).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for i in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = i.map_err(|e| self.err(e))?;
            let id: [u8; 16] = k.value().try_into().map_err(|_| self.err("bad key"))?;
            out.push((id, self.dec(v.value())?));
        }
        Ok(out)
    }

    /// Stores a received tip and its sequence number (idempotent). Returns false if it
    /// was already held (a redelivery), in which case nothing changes.
    pub fn put_in(&self, from: &str, id: &[u8; 16], r: &InRecord) -> Result<bool, StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        let fresh;
        {
            let mut t = w.open_table(INBOX).map_err(|e| self.err(e))?;
            fresh = t.get((from, id.as_slice())).map_err(|e| self.err(e))?.is_none();
            if fresh {
                t.insert((from, id.as_slice()), enc(r).as_slice()).map_err(|e| self.err(e))?;
                w.open_table(SEQS)
                    .map_err(|e| self.err(e))?
                    .insert((from, r.seq), id.as_slice())
                    .map_err(|e| self.err(e))?;
                if let Some(f) = in_facts(r) {
                    let mut facts = w.open_table(FACTS).map_err(|e| self.err(e))?;
                    facts.insert((from, id.as_slice()), f.pack().as_slice()).map_err(|e| self.err(e))?;
                }
            }
        }
        if fresh {
            self.log(&w, in_event(r))?;
        }
        w.commit().map_err(|e| self.err(e))?;
        Ok(fresh)
    }

    /// Stores several received tips in one transaction (one fsync). Returns, per item,
    /// whether it was new (false for a redelivery, which changes nothing).
    pub fn put_in_batch(&self, items: &[(String, [u8; 16], InRecord)]) -> Result<Vec<bool>, StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut fresh = Vec::with_capacity(items.len());
        {
            let mut t = w.open_table(INBOX).map_err(|e| self.err(e))?;
            let mut seqs = w.open_table(SEQS).map_err(|e| self.err(e))?;
            let mut facts = w.open_table(FACTS).map_err(|e| self.err(e))?;
            for (from, id, r) in items {
                let new = t.get((from.as_str(), id.as_slice())).map_err(|e| self.err(e))?.is_none();
                if new {
                    t.insert((from.as_str(), id.as_slice()), enc(r).as_slice()).map_err(|e| self.err(e))?;
                    seqs.insert((from.as_str(), r.seq), id.as_slice()).map_err(|e| self.err(e))?;
                    if let Some(f) = in_facts(r) {
                        facts.insert((from.as_str(), id.as_slice()), f.pack().as_slice()).map_err(|e| self.err(e))?;
                    }
                }
                fresh.push(new);
            }
        }
        for ((_, _, r), new) in items.iter().zip(&fresh) {
            if *new {
                self.log(&w, in_event(r))?;
            }
        }
        w.commit().map_err(|e| self.err(e))?;
        Ok(fresh)
    }

    /// Marks several inbox tips as acknowledged, in one transaction.
    pub fn mark_acked(&self, keys: &[(String, [u8; 16])]) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut acked = Vec::new();
        {
            let mut t = w.open_table(INBOX).map_err(|e| self.err(e))?;
            let mut facts = w.open_table(FACTS).map_err(|e| self.err(e))?;
            let at = tiprelay_proto::Timestamp::from_unix_ms(now_ms());
            for (from, id) in keys {
                let cur = t.get((from.as_str(), id.as_slice())).map_err(|e| self.err(e))?.map(|g| g.value().to_vec());
                if let Some(cur) = cur {
                    let mut r: InRecord = self.dec(&cur)?;
                    if r.acked {
                        continue;
                    }
                    r.acked = true;
                    t.insert((from.as_str(), id.as_slice()), enc(&r).as_slice()).map_err(|e| self.err(e))?;
                    acked.push((from.clone(), *id, r.seq));
                    let key = (from.as_str(), id.as_slice());
                    let old = facts.get(key).map_err(|e| self.err(e))?.map(|g| g.value().to_vec());
                    if let (Some(old), Ok(j), Ok(tid)) = (old, from.parse::<Jurisdiction>(), TipId::from_bytes(*id)) {
                        if let Ok(mut f) = TipFacts::unpack(j, tid, &old) {
                            f.acked = f.acked.or(at);
                            facts.insert(key, f.pack().as_slice()).map_err(|e| self.err(e))?;
                        }
                    }
                }
            }
        }
        for (from, id, seq) in acked {
            let tip = TipId::from_bytes(id).map(|t| t.to_string()).ok();
            self.log(&w, AuditEntry { from: Some(from), tip, seq: Some(seq), ..AuditEntry::new("acked", now_ts()) })?;
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// One inbox record.
    pub fn get_in(&self, from: &str, id: &[u8; 16]) -> Result<Option<InRecord>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(INBOX).map_err(|e| self.err(e))?;
        let v = t.get((from, id.as_slice())).map_err(|e| self.err(e))?;
        v.map(|g| self.dec(g.value())).transpose()
    }

    /// Updates a held inbox record.
    pub fn update_in(&self, from: &str, id: &[u8; 16], f: impl FnOnce(&mut InRecord)) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = w.open_table(INBOX).map_err(|e| self.err(e))?;
            let cur = t.get((from, id.as_slice())).map_err(|e| self.err(e))?.map(|g| g.value().to_vec());
            if let Some(cur) = cur {
                let mut r: InRecord = self.dec(&cur)?;
                f(&mut r);
                t.insert((from, id.as_slice()), enc(&r).as_slice()).map_err(|e| self.err(e))?;
            }
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// Every inbox record with its (from, id).
    pub fn inbox(&self) -> Result<Vec<(String, [u8; 16], InRecord)>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(INBOX).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for i in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = i.map_err(|e| self.err(e))?;
            let (from, id) = k.value();
            let id: [u8; 16] = id.try_into().map_err(|_| self.err("bad key"))?;
            out.push((from.to_owned(), id, self.dec(v.value())?));
        }
        Ok(out)
    }

    /// The id held under (from, seq), if any.
    pub fn seq_owner(&self, from: &str, seq: u64) -> Result<Option<[u8; 16]>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(SEQS).map_err(|e| self.err(e))?;
        let v = t.get((from, seq)).map_err(|e| self.err(e))?;
        v.map(|g| g.value().try_into().map_err(|_| self.err("bad seq record"))).transpose()
    }

    /// Missing sequence numbers per sending jurisdiction (below the highest seen).
    pub fn gaps(&self) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(SEQS).map_err(|e| self.err(e))?;
        let mut out: Vec<(String, Vec<u64>)> = Vec::new();
        let mut cur: Option<(String, u64)> = None;
        for i in t.iter().map_err(|e| self.err(e))? {
            let (k, _) = i.map_err(|e| self.err(e))?;
            let (from, seq) = k.value();
            let expected = match &cur {
                Some((f, last)) if f == from => last + 1,
                _ => 1,
            };
            if seq > expected {
                let missing: Vec<u64> = (expected..seq).take(1000).collect();
                match out.iter_mut().find(|(f, _)| f == from) {
                    Some((_, m)) => m.extend(missing),
                    None => out.push((from.to_owned(), missing)),
                }
            }
            cur = Some((from.to_owned(), seq));
        }
        Ok(out)
    }

    /// Stores a feedback record and, when it carries a receipt for the first time, counts
    /// it in the tip's ledger facts (one transaction).
    pub fn put_feedback(&self, tip_from: &str, tip: &[u8; 16], r: &FeedbackRecord) -> Result<(), StoreError> {
        let fid: TipId = r.id.parse().map_err(|e| self.err(e))?;
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = w.open_table(FEEDBACK).map_err(|e| self.err(e))?;
            let key = (tip_from, tip.as_slice(), fid.as_bytes().as_slice());
            let old: Option<FeedbackRecord> =
                t.get(key).map_err(|e| self.err(e))?.map(|g| self.dec(g.value())).transpose()?;
            let newly_accepted = r.accepted.is_some() && old.as_ref().is_none_or(|o| o.accepted.is_none());
            t.insert(key, enc(r).as_slice()).map_err(|e| self.err(e))?;
            if newly_accepted {
                self.log(
                    &w,
                    AuditEntry {
                        principal: Some(r.by.clone()),
                        from: Some(tip_from.to_owned()),
                        tip: TipId::from_bytes(*tip).map(|t| t.to_string()).ok(),
                        subject: Some(r.id.clone()),
                        outcome: Some(r.outcome.clone()),
                        digest: Some(tiprelay_proto::Digest::of(&r.envelope).to_hex()),
                        ..AuditEntry::new(if r.given { "feedback_given" } else { "feedback_received" }, now_ts())
                    },
                )?;
            }
            if newly_accepted {
                let mut facts = w.open_table(FACTS).map_err(|e| self.err(e))?;
                let fkey = (tip_from, tip.as_slice());
                let cur = facts.get(fkey).map_err(|e| self.err(e))?.map(|g| g.value().to_vec());
                let parsed = (tip_from.parse::<Jurisdiction>(), TipId::from_bytes(*tip), r.outcome.parse());
                if let (Some(cur), (Ok(j), Ok(tid), Ok(outcome))) = (cur, parsed) {
                    if let Ok(mut f) = TipFacts::unpack(j, tid, &cur) {
                        let at = r.accepted.and_then(tiprelay_proto::Timestamp::from_unix_ms);
                        if let Some(at) = at {
                            f.add_feedback(outcome, at);
                            facts.insert(fkey, f.pack().as_slice()).map_err(|e| self.err(e))?;
                        }
                    }
                }
            }
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// Feedback on one tip, oldest first.
    pub fn feedback_for(&self, tip_from: &str, tip: &[u8; 16]) -> Result<Vec<FeedbackRecord>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(FEEDBACK).map_err(|e| self.err(e))?;
        let lo: (&str, &[u8], &[u8]) = (tip_from, tip.as_slice(), &[]);
        let hi: (&str, &[u8], &[u8]) = (tip_from, tip.as_slice(), &[0xff; 17]);
        let mut out = Vec::new();
        for i in t.range(lo..hi).map_err(|e| self.err(e))? {
            let (_, v) = i.map_err(|e| self.err(e))?;
            out.push(self.dec(v.value())?);
        }
        out.sort_by_key(|f: &FeedbackRecord| f.created);
        Ok(out)
    }

    /// Feedback written here that has no receipt yet and was not refused: (tip from, tip id, record).
    pub fn pending_feedback(&self) -> Result<Vec<(String, [u8; 16], FeedbackRecord)>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(FEEDBACK).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for i in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = i.map_err(|e| self.err(e))?;
            let f: FeedbackRecord = self.dec(v.value())?;
            if f.given && f.receipt.is_none() && f.rejected.is_none() {
                let (from, tip, _) = k.value();
                out.push((from.to_owned(), tip.try_into().map_err(|_| self.err("bad key"))?, f));
            }
        }
        Ok(out)
    }

    /// Every tip's ledger facts whose ledger time (acceptance, else creation) is in `[since, until)`.
    pub fn facts(&self, since: u64, until: u64) -> Result<Vec<TipFacts>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(FACTS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for i in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = i.map_err(|e| self.err(e))?;
            let (from, id) = k.value();
            let j: Jurisdiction = from.parse().map_err(|_| self.err("bad facts key"))?;
            let id = TipId::from_bytes(id.try_into().map_err(|_| self.err("bad facts key"))?)
                .map_err(|_| self.err("bad facts key"))?;
            let f = TipFacts::unpack(j, id, v.value()).map_err(|e| self.err(e))?;
            let t = f.period_time().as_unix_ms();
            if t >= since && t < until {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Writes facts directly (imports and benchmarks; normal operation derives them from records).
    pub fn put_facts(&self, facts: &[TipFacts]) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = w.open_table(FACTS).map_err(|e| self.err(e))?;
            for f in facts {
                t.insert((f.from.as_str(), f.id.as_bytes().as_slice()), f.pack().as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// Removes every local trace of one tip (outbox, inbox, facts). For tests that inject a
    /// discrepancy and for operators correcting a store by hand; never called otherwise.
    pub fn forget_tip(&self, from: &str, id: &[u8; 16]) -> Result<bool, StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut any = false;
        {
            any |= w
                .open_table(OUTBOX)
                .map_err(|e| self.err(e))?
                .remove(id.as_slice())
                .map_err(|e| self.err(e))?
                .is_some();
            w.open_table(PENDING).map_err(|e| self.err(e))?.remove(id.as_slice()).map_err(|e| self.err(e))?;
            any |= w
                .open_table(INBOX)
                .map_err(|e| self.err(e))?
                .remove((from, id.as_slice()))
                .map_err(|e| self.err(e))?
                .is_some();
            w.open_table(FACTS).map_err(|e| self.err(e))?.remove((from, id.as_slice())).map_err(|e| self.err(e))?;
        }
        w.commit().map_err(|e| self.err(e))?;
        Ok(any)
    }

    /// Stores a ledger statement under its id (replacing an earlier copy).
    pub fn put_statement(&self, id: &[u8; 16], r: &StatementRecord) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let t = w.open_table(STATEMENTS).map_err(|e| self.err(e))?;
            let old: Option<StatementRecord> =
                t.get(id.as_slice()).map_err(|e| self.err(e))?.map(|g| self.dec(g.value())).transpose()?;
            // A counterpart's statement never replaces one made here under the same id.
            if old.is_some_and(|o| o.own && !r.own) {
                return Ok(());
            }
        }
        w.open_table(STATEMENTS)
            .map_err(|e| self.err(e))?
            .insert(id.as_slice(), enc(r).as_slice())
            .map_err(|e| self.err(e))?;
        w.commit().map_err(|e| self.err(e))
    }

    /// Every statement held here (id order: creation order).
    pub fn statements(&self) -> Result<Vec<StatementRecord>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(STATEMENTS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for i in t.iter().map_err(|e| self.err(e))? {
            let (_, v) = i.map_err(|e| self.err(e))?;
            out.push(self.dec(v.value())?);
        }
        Ok(out)
    }

    /// The newest relay checkpoint envelope verified here, if any.
    pub fn audit_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(AUDIT).map_err(|e| self.err(e))?;
        Ok(t.get("checkpoint").map_err(|e| self.err(e))?.map(|g| g.value().to_vec()))
    }

    /// Records a verified checkpoint as the newest.
    pub fn set_audit_checkpoint(&self, envelope: &[u8]) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        // Only forward: a slower concurrent check must not put an older checkpoint back.
        let size_of = |b: &[u8]| parse::<tiprelay_proto::Checkpoint>(b).map(|c| c.message.size).unwrap_or(0);
        let current = w
            .open_table(AUDIT)
            .map_err(|e| self.err(e))?
            .get("checkpoint")
            .map_err(|e| self.err(e))?
            .map(|g| size_of(g.value()));
        if current.is_some_and(|s| s > size_of(envelope)) {
            return Ok(());
        }
        let old = w
            .open_table(AUDIT)
            .map_err(|e| self.err(e))?
            .insert("checkpoint", envelope)
            .map_err(|e| self.err(e))?
            .map(|g| g.value().to_vec());
        if old.as_deref() != Some(envelope) {
            if let Ok(c) = parse::<tiprelay_proto::Checkpoint>(envelope) {
                let c = c.message;
                self.log(
                    &w,
                    AuditEntry {
                        principal: Some(c.relay.to_string()),
                        seq: Some(c.size),
                        digest: Some(c.root.to_hex()),
                        ..AuditEntry::new("relay_checkpoint_verified", now_ts())
                    },
                )?;
            }
        }
        w.commit().map_err(|e| self.err(e))
    }

    /// Records an audit alert (an inconsistent or rolled-back relay log), durably.
    pub fn add_audit_alert(&self, at_ms: u64, text: &str) -> Result<(), StoreError> {
        let key = format!("alert:{at_ms:020}");
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        w.open_table(AUDIT).map_err(|e| self.err(e))?.insert(key.as_str(), text.as_bytes()).map_err(|e| self.err(e))?;
        let detail: String = text.chars().take(300).collect();
        self.log(&w, AuditEntry { detail: Some(detail), ..AuditEntry::new("log_alert", now_ts()) })?;
        w.commit().map_err(|e| self.err(e))
    }

    /// Every audit alert recorded here: (ms, text), oldest first.
    pub fn audit_alerts(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(AUDIT).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for i in t.range("alert:".."alert;").map_err(|e| self.err(e))? {
            let (k, v) = i.map_err(|e| self.err(e))?;
            let ms = k.value().trim_start_matches("alert:").parse().unwrap_or(0);
            out.push((ms, String::from_utf8_lossy(v.value()).into_owned()));
        }
        Ok(out)
    }

    /// A counter from `meta`.
    pub fn meta(&self, key: &str) -> Result<u64, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(META).map_err(|e| self.err(e))?;
        Ok(t.get(key).map_err(|e| self.err(e))?.map(|g| g.value()).unwrap_or(0))
    }

    /// Sets a counter in `meta`.
    pub fn set_meta(&self, key: &str, v: u64) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        w.open_table(META).map_err(|e| self.err(e))?.insert(key, v).map_err(|e| self.err(e))?;
        w.commit().map_err(|e| self.err(e))
    }
}

/// What `tipctl backup` copied and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The backup file.
    pub out: std::path::PathBuf,
    /// Rows per table, by table name (every table of the store).
    pub tables: std::collections::BTreeMap<String, u64>,
    /// Tips written here (outbox records).
    pub outbox: u64,
    /// Tips received here (inbox records).
    pub inbox: u64,
    /// Entries of this principal's local audit log.
    pub audit_entries: u64,
    /// The local audit log's Merkle root (hex), recomputed from the copy's entries.
    pub audit_root: String,
    /// The store's schema version.
    pub schema_version: u64,
    /// The file's size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file (hex).
    pub sha256: String,
    /// How long the copy and its check took, in milliseconds.
    pub millis: u64,
}

/// Every table of a local store, by name (the audit log's two are those of [`auditlog`]).
const BACKUP_TABLES: [&str; 12] = [
    "outbox",
    "pending",
    "inbox",
    "seqs",
    "meta",
    "facts",
    "feedback",
    "statements",
    "audit",
    "feed_refs",
    "audit_entries",
    "audit_nodes",
];

/// Calls `$f!(definition)` for every table of the local store.
macro_rules! each_local_table {
    ($f:ident) => {{
        $f!(OUTBOX);
        $f!(PENDING);
        $f!(INBOX);
        $f!(SEQS);
        $f!(META);
        $f!(FACTS);
        $f!(FEEDBACK);
        $f!(STATEMENTS);
        $f!(AUDIT);
        $f!(FEED_REFS);
        $f!(auditlog::ENTRIES);
        $f!(auditlog::NODES);
    }};
}

/// Copies every row of `def` from a snapshot into a write transaction; returns how many.
fn copy_rows<K: redb::Key + 'static, V: redb::Value + 'static>(
    r: &redb::ReadTransaction,
    w: &redb::WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, String> {
    let mut dst = w.open_table(def).map_err(|e| e.to_string())?;
    let src = match r.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.to_string()),
    };
    let mut n = 0u64;
    for row in src.iter().map_err(|e| e.to_string())? {
        let (k, v) = row.map_err(|e| e.to_string())?;
        dst.insert(k.value(), v.value()).map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(n)
}

/// `tipctl backup`: copies one consistent snapshot of the local store at `store` into a
/// new file `out`, also while another tipctl (`tipctl watch`) has the store open: redb
/// read-only, one read transaction, every table. The copy is written to `OUT.partial`
/// (created 0600), committed durably, read back and checked (rows per table, the local
/// audit log's entries against their stored leaves and root), then put at `out`: never
/// over an existing file unless `force`, never over the store itself. On any failure
/// nothing is left at `out`.
pub fn backup_to(store: &Path, out: &Path, force: bool) -> Result<BackupReport, StoreError> {
    use redb::{MultimapTableHandle, ReadableTableMetadata, TableHandle};
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let started = std::time::Instant::now();
    let fail =
        |path: &Path, why: String| StoreError { path: path.display().to_string(), why: Why::Failed(why), full: false };
    let io = |path: &Path, e: std::io::Error| {
        let full = io_full(&e);
        let why = if full { Why::DiskFull(e.to_string()) } else { Why::Failed(e.to_string()) };
        StoreError { path: path.display().to_string(), why, full }
    };
    let check_out = || -> Result<(), StoreError> {
        match std::fs::symlink_metadata(out) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(out, e)),
            Ok(_) => {
                let same = std::fs::metadata(out)
                    .ok()
                    .zip(std::fs::metadata(store).ok())
                    .is_some_and(|(o, s)| o.dev() == s.dev() && o.ino() == s.ino());
                if same {
                    Err(fail(out, crate::t!("tipctl-backup-is-the-store")))
                } else if force {
                    Ok(())
                } else {
                    Err(fail(out, crate::t!("tipctl-backup-exists")))
                }
            }
        }
    };
    check_out()?;
    if !store.exists() {
        return Err(fail(store, crate::t!("tipctl-backup-no-store")));
    }
    let src = Database::builder()
        .set_concurrency_mode(redb::ConcurrencyMode::SingleWriter)
        .open_read_only(store)
        .map_err(|e| StoreError { path: store.display().to_string(), why: Why::Busy(e.to_string()), full: false })?;
    let mut name = out.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".partial");
    let tmp = out.with_file_name(name);
    let made = (|| -> Result<BackupReport, StoreError> {
        let r = src.begin_read().map_err(|e| fail(store, e.to_string()))?;
        // A newer release's store (a newer schema, or a table this tipctl does not know)
        // is refused rather than copied in part.
        let version = match r.open_table(META) {
            Ok(t) => t.get(SCHEMA_KEY).map_err(|e| fail(store, e.to_string()))?.map(|g| g.value()).unwrap_or(0),
            Err(_) => 0,
        };
        if version > SCHEMA_VERSION {
            return Err(StoreError {
                path: store.display().to_string(),
                why: Why::Newer { found: version },
                full: false,
            });
        }
        for t in r.list_tables().map_err(|e| fail(store, e.to_string()))? {
            if !BACKUP_TABLES.contains(&t.name()) {
                return Err(fail(store, crate::t!("tipctl-backup-unknown-table", "name" => t.name().to_owned())));
            }
        }
        if let Some(t) = r.list_multimap_tables().map_err(|e| fail(store, e.to_string()))?.next() {
            return Err(fail(store, crate::t!("tipctl-backup-unknown-table", "name" => t.name().to_owned())));
        }
        // A `.partial` left by a crashed backup is ours to replace; create_new (O_EXCL)
        // refuses a symbolic link planted at that name.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tmp, e)),
            _ => {}
        }
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).map_err(|e| io(&tmp, e))?;
        let mut copied = std::collections::BTreeMap::new();
        {
            let db = Database::builder()
                .set_cache_size(32 * 1024 * 1024)
                .create(&tmp)
                .map_err(|e| fail(&tmp, e.to_string()))?;
            let w = db.begin_write().map_err(|e| fail(&tmp, e.to_string()))?;
            macro_rules! copy {
                ($def:expr) => {
                    copied.insert($def.name().to_owned(), copy_rows(&r, &w, $def).map_err(|e| fail(&tmp, e))?);
                };
            }
            each_local_table!(copy);
            // Durable (redb's default): on disk before commit returns.
            w.commit().map_err(|e| fail(&tmp, e.to_string()))?;
            db.close().map_err(|e| fail(&tmp, e.to_string()))?;
        }
        drop(r);
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| io(&tmp, e))?;

        // Read back and checked on its own.
        let unverified = |why: String| fail(&tmp, crate::t!("tipctl-backup-unverified", "why" => why));
        let copy = Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::SingleWriter)
            .open_read_only(&tmp)
            .map_err(|e| unverified(e.to_string()))?;
        let cr = copy.begin_read().map_err(|e| unverified(e.to_string()))?;
        let mut tables = std::collections::BTreeMap::new();
        macro_rules! count {
            ($def:expr) => {{
                let n = cr
                    .open_table($def)
                    .map_err(|e| unverified(e.to_string()))?
                    .len()
                    .map_err(|e| unverified(e.to_string()))?;
                tables.insert($def.name().to_owned(), n);
            }};
        }
        each_local_table!(count);
        if tables != copied {
            return Err(unverified(format!("rows {tables:?} != {copied:?}")));
        }
        let size = cr
            .open_table(META)
            .map_err(|e| unverified(e.to_string()))?
            .get(AUDIT_SIZE)
            .map_err(|e| unverified(e.to_string()))?
            .map(|g| g.value())
            .unwrap_or(0);
        let log = auditlog::RedbLog {
            entries: cr.open_table(auditlog::ENTRIES).map_err(|e| unverified(e.to_string()))?,
            nodes: cr.open_table(auditlog::NODES).map_err(|e| unverified(e.to_string()))?,
        };
        let mut tree = tiprelay_proto::merkle::CompactTree::new();
        let mut next = 0u64;
        for row in log.entries.iter().map_err(|e| unverified(e.to_string()))? {
            let (k, v) = row.map_err(|e| unverified(e.to_string()))?;
            let leaf = tiprelay_proto::merkle::leaf_hash(v.value());
            if k.value() != next || auditlog::node(&log, 0, next).map_err(|e| unverified(e.to_string()))? != leaf {
                return Err(unverified(crate::t!("tipctl-backup-entry", "index" => next)));
            }
            tree.append(leaf).map_err(|e| unverified(e.to_string()))?;
            next += 1;
        }
        let root = auditlog::root(&log, size).map_err(|e| unverified(e.to_string()))?;
        if next != size || tree.root() != root {
            return Err(unverified(crate::t!("tipctl-backup-root", "size" => size)));
        }
        drop(log);
        drop(cr);
        drop(copy);

        check_out()?;
        if force {
            std::fs::rename(&tmp, out).map_err(|e| io(out, e))?;
        } else {
            // A hard link never replaces: an `out` made meanwhile is kept.
            std::fs::hard_link(&tmp, out).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => fail(out, crate::t!("tipctl-backup-exists")),
                _ => io(out, e),
            })?;
            std::fs::remove_file(&tmp).map_err(|e| io(&tmp, e))?;
        }
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))?;
        // The whole file in memory: a local store is small (max_store_mb bounds it).
        let bytes = std::fs::read(out).map_err(|e| io(out, e))?;
        Ok(BackupReport {
            out: out.to_path_buf(),
            outbox: tables.get("outbox").copied().unwrap_or(0),
            inbox: tables.get("inbox").copied().unwrap_or(0),
            tables,
            audit_entries: size,
            audit_root: root.to_hex(),
            schema_version: version,
            bytes: bytes.len() as u64,
            sha256: tiprelay_proto::Digest::of(&bytes).to_hex(),
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    })();
    if made.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    made
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn now_ts() -> tiprelay_proto::Timestamp {
    tiprelay_proto::Timestamp::from_unix_ms(now_ms()).unwrap_or_else(|| tiprelay_proto::Timestamp::from_unix_seconds(0))
}

/// The local audit entries an outbox change makes: written, receipted, ack received, rejected.
fn out_events(old: Option<&OutRecord>, r: &OutRecord) -> Vec<AuditEntry> {
    let Ok(tip) = parse::<Tip>(&r.envelope) else { return Vec::new() };
    let t = tip.message;
    let base = AuditEntry {
        principal: Some(t.author.to_string()),
        from: Some(t.from.to_string()),
        to: Some(t.to.to_string()),
        tip: Some(t.id.to_string()),
        category: Some(t.category.as_str().into()),
        digest: Some(tip.digest.to_hex()),
        ..AuditEntry::default()
    };
    let mut out = Vec::new();
    let now = now_ms();
    let mut ev = |kind: &str, f: &dyn Fn(&mut AuditEntry)| {
        let mut e = AuditEntry { kind: kind.into(), time: now, ..base.clone() };
        f(&mut e);
        out.push(e);
    };
    if old.is_none() {
        ev("written", &|_| {});
    }
    if r.receipt.is_some() && old.is_none_or(|o| o.receipt.is_none()) {
        ev("receipted", &|e| e.seq = r.seq);
    }
    if r.ack.is_some() && old.is_none_or(|o| o.ack.is_none()) {
        ev("ack_received", &|e| e.principal = r.acked_by.clone());
    }
    if r.rejected.is_some() && old.is_none_or(|o| o.rejected.is_none()) {
        ev("rejected", &|e| e.code = r.rejected.as_deref().and_then(|x| x.split(':').next()).map(str::to_owned));
    }
    out
}

/// The local audit entry of a tip received here.
fn in_event(r: &InRecord) -> AuditEntry {
    let tip = parse::<Tip>(&r.envelope).ok();
    AuditEntry {
        principal: Some(r.signer.clone()),
        from: tip.as_ref().map(|t| t.message.from.to_string()),
        to: tip.as_ref().map(|t| t.message.to.to_string()),
        tip: tip.as_ref().map(|t| t.message.id.to_string()),
        category: tip.as_ref().map(|t| t.message.category.as_str().into()),
        digest: tip.as_ref().map(|t| t.digest.to_hex()),
        seq: Some(r.seq),
        ..AuditEntry::new("received", now_ts())
    }
}

/// Ledger facts of a tip written here, from its outbox record.
fn out_facts(r: &OutRecord) -> Option<TipFacts> {
    let tip = parse::<Tip>(&r.envelope).ok()?.message;
    let mut f = TipFacts::new(tip.id, tip.from, tip.to, tip.category, tip.author.to_string());
    f.created = tip.created;
    f.sent = true;
    f.rejected = r.rejected.is_some();
    if let Some(rc) = r.receipt.as_deref().and_then(|b| parse::<Receipt>(b).ok()) {
        f.accepted = Some(rc.message.accepted);
        f.seq = Some(rc.message.seq);
    }
    if let Some(a) = r.ack.as_deref().and_then(|b| parse::<DeliveryAck>(b).ok()) {
        // The sender learns of delivery only through the ack.
        f.acked = Some(a.message.received);
        f.delivered = Some(a.message.received);
    }
    Some(f)
}

/// Ledger facts of a tip received here, from its inbox record.
fn in_facts(r: &InRecord) -> Option<TipFacts> {
    let tip = parse::<Tip>(&r.envelope).ok()?.message;
    let rc = parse::<Receipt>(&r.receipt).ok()?.message;
    let mut f = TipFacts::new(tip.id, tip.from, tip.to, tip.category, tip.author.to_string());
    f.created = tip.created;
    f.accepted = Some(rc.accepted);
    f.seq = Some(rc.seq);
    f.delivered = tiprelay_proto::Timestamp::from_unix_ms(r.received_at);
    if r.acked {
        f.acked = f.delivered;
    }
    Some(f)
}

/// Recomputed facts keep the feedback already counted.
fn keep_feedback(mut f: TipFacts, old: Option<TipFacts>) -> TipFacts {
    if let Some(o) = old {
        f.outcomes = o.outcomes;
        f.first_feedback = o.first_feedback;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previous_release(name: &str, dir: &Path) -> std::path::PathBuf {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/previous-release").join(name);
        let to = dir.join(name);
        std::fs::copy(from, &to).unwrap();
        to
    }

    #[test]
    fn stores_of_the_previous_release_are_migrated_and_keep_every_tip() {
        let dir = tempfile::tempdir().unwrap();
        let mx = LocalStore::open(&previous_release("mx-analyst-tipctl.redb", dir.path())).unwrap();
        assert_eq!(mx.schema_version().unwrap(), SCHEMA_VERSION);
        let out = mx.outbox().unwrap();
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|(_, r)| r.acked_by.as_deref() == Some("tiprelay://US/analyst/analyst-1")));
        drop(mx);
        let us = LocalStore::open(&previous_release("us-analyst-tipctl.redb", dir.path())).unwrap();
        assert_eq!(us.schema_version().unwrap(), SCHEMA_VERSION);
        let inbox = us.inbox().unwrap();
        assert_eq!(inbox.len(), 3);
        assert!(inbox.iter().all(|(from, _, r)| from == "MX" && r.acked));
        assert_eq!(us.outbox().unwrap().len(), 1);
    }

    #[test]
    fn a_store_of_a_newer_schema_is_refused_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = previous_release("us-analyst-tipctl.redb", dir.path());
        {
            let s = LocalStore::open(&path).unwrap();
            let w = s.db.begin_write().unwrap();
            w.open_table(META).unwrap().insert(SCHEMA_KEY, SCHEMA_VERSION + 1).unwrap();
            w.commit().unwrap();
        }
        let e = LocalStore::open(&path).err().expect("a newer store must be refused");
        // In the process's language (the tests do not set one).
        let text = e.to_string();
        let said = [crate::i18n::Locale::En, crate::i18n::Locale::Es].iter().any(|l| {
            text.contains(&crate::i18n::tr_in(
                *l,
                "store-newer",
                &[("found", (SCHEMA_VERSION + 1).into()), ("supported", SCHEMA_VERSION.into())],
            ))
        });
        assert!(said, "{text}");
        let db = Database::open(&path).unwrap();
        let r = db.begin_read().unwrap();
        assert_eq!(r.open_table(META).unwrap().get(SCHEMA_KEY).unwrap().map(|g| g.value()), Some(SCHEMA_VERSION + 1));
        assert_eq!(r.open_table(INBOX).unwrap().iter().unwrap().count(), 3);
    }

    /// Rows of a table as (key, value) bytes, by table name.
    type Dump = std::collections::BTreeMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

    /// Every row of every table of a local store, as bytes, by table.
    fn dump(path: &Path) -> Dump {
        let db =
            Database::builder().set_concurrency_mode(redb::ConcurrencyMode::SingleWriter).open_read_only(path).unwrap();
        let r = db.begin_read().unwrap();
        let mut out = std::collections::BTreeMap::new();
        macro_rules! rows {
            ($def:expr) => {{
                use redb::{Key, TableHandle, Value};
                fn bytes<K: Key + 'static, V: Value + 'static>(
                    t: &redb::ReadOnlyTable<K, V>,
                ) -> Vec<(Vec<u8>, Vec<u8>)> {
                    t.iter()
                        .unwrap()
                        .map(|row| {
                            let (k, v) = row.unwrap();
                            let key = K::as_bytes(&k.value()).as_ref().to_vec();
                            let value = V::as_bytes(&v.value()).as_ref().to_vec();
                            (key, value)
                        })
                        .collect()
                }
                out.insert($def.name().to_owned(), bytes(&r.open_table($def).unwrap()));
            }};
        }
        each_local_table!(rows);
        out
    }

    #[test]
    fn a_backup_copies_every_table_row_for_row_while_the_store_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tipctl.redb");
        let s = LocalStore::open(&path).unwrap();
        // A row in every table (their contents are copied as bytes, whatever they mean).
        let w = s.db.begin_write().unwrap();
        w.open_table(OUTBOX).unwrap().insert([1u8; 16].as_slice(), [2u8; 3].as_slice()).unwrap();
        w.open_table(PENDING).unwrap().insert([1u8; 16].as_slice(), ()).unwrap();
        w.open_table(INBOX).unwrap().insert(("MX", [3u8; 16].as_slice()), [4u8; 5].as_slice()).unwrap();
        w.open_table(SEQS).unwrap().insert(("MX", 7u64), [3u8; 16].as_slice()).unwrap();
        w.open_table(FACTS).unwrap().insert(("MX", [3u8; 16].as_slice()), [5u8; 2].as_slice()).unwrap();
        w.open_table(FEEDBACK)
            .unwrap()
            .insert(("MX", [3u8; 16].as_slice(), [6u8; 16].as_slice()), [7u8].as_slice())
            .unwrap();
        w.open_table(STATEMENTS).unwrap().insert([8u8; 16].as_slice(), [9u8].as_slice()).unwrap();
        w.open_table(FEED_REFS).unwrap().insert("plate-1", [1u8; 16].as_slice()).unwrap();
        w.commit().unwrap();
        // The audit table, the local log (entries, nodes) and its size in meta.
        for i in 0..5 {
            s.add_audit_alert(1_000 + i, &format!("alert {i}")).unwrap();
        }
        let out = dir.path().join("backup.redb");
        // The store stays open (as under `tipctl watch`) while it is copied.
        let r = backup_to(&path, &out, false).unwrap();
        let (want, got) = (dump(&path), dump(&out));
        assert_eq!(want.len(), BACKUP_TABLES.len());
        for (table, rows) in &want {
            assert!(!rows.is_empty(), "table {table} has no row to copy");
            assert_eq!(got.get(table), Some(rows), "table {table}");
        }
        assert_eq!(r.tables.len(), BACKUP_TABLES.len());
        assert_eq!((r.outbox, r.inbox, r.audit_entries), (1, 1, 5));
        assert_eq!(r.audit_root, s.local_audit_head().unwrap().1.to_hex());
        assert_eq!(r.sha256, tiprelay_proto::Digest::of(&std::fs::read(&out).unwrap()).to_hex());
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&out).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "the copy holds tip bodies");
        assert!(!dir.path().join("backup.redb.partial").exists());

        // An existing file is kept unless --force; the store itself never replaced.
        std::fs::write(&out, b"older").unwrap();
        assert!(backup_to(&path, &out, false).unwrap_err().to_string().contains("--force"));
        assert_eq!(std::fs::read(&out).unwrap(), b"older");
        backup_to(&path, &out, true).unwrap();
        assert_eq!(dump(&out), want);
        assert!(backup_to(&path, &path, true).is_err());
        drop(s);
        // The copy opens as a store, with what was copied.
        let copy = LocalStore::open(&out).unwrap();
        assert_eq!(copy.audit_alerts().unwrap().len(), 5);
    }

    fn rec(seq: u64) -> InRecord {
        InRecord {
            envelope: vec![],
            receipt: vec![],
            seq,
            signer: String::new(),
            received_at: 0,
            acked: false,
            read: false,
        }
    }

    #[test]
    fn gaps_name_every_missing_sequence_number_per_direction() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(&dir.path().join("s.redb")).unwrap();
        assert!(s.gaps().unwrap().is_empty());
        let items: Vec<_> = [1u64, 2, 5, 7].iter().map(|q| ("MX".to_string(), [*q as u8; 16], rec(*q))).collect();
        assert_eq!(s.put_in_batch(&items).unwrap(), vec![true; 4]);
        assert_eq!(s.put_in_batch(&items[..1]).unwrap(), vec![false], "a redelivery is not new");
        s.put_in("GT", &[9; 16], &rec(2)).unwrap();
        assert_eq!(s.gaps().unwrap(), vec![("GT".to_string(), vec![1]), ("MX".to_string(), vec![3, 4, 6])]);
        assert_eq!(s.seq_owner("MX", 5).unwrap(), Some([5; 16]));
        assert_eq!(s.seq_owner("MX", 3).unwrap(), None);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("s.redb")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "the store holds tip bodies");
    }
}
