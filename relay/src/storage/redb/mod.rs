//! The embedded engine: the whole store in one redb file, fsynced on every commit.
//!
//! One write transaction at a time (redb's rule, and the writer's design); reads use MVCC
//! snapshots and never block it. [`schema`] lists the tables, [`read`](mod@read) and [`write`](mod@write)
//! implement the storage traits on them.

pub mod read;
pub mod schema;
pub mod write;

use std::path::{Path, PathBuf};

use redb::{ConcurrencyMode, Database, ReadableDatabase};

pub use read::RedbRead;
pub use write::RedbWrite;

use super::{Engine, ReadTables, StoreError, WriteFn, RELAY_CACHE_BYTES};

/// A redb failure: `storage_full` when the disk is full (by its I/O error kind).
pub(super) fn fail(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(io) => StoreError::io(io),
        redb::Error::PreviousIo => StoreError::Failed(
            "an earlier write failed (disk full or I/O error); the relay must be restarted once the cause is fixed"
                .into(),
        ),
        redb::Error::Corrupted(why) => StoreError::Corrupt(why),
        other => StoreError::Failed(other.to_string()),
    }
}

/// A relay store in a redb file.
pub struct RedbEngine {
    db: Handle,
    path: PathBuf,
}

/// The relay's own writable handle, or a read-only one beside a running relay.
enum Handle {
    Writable(Database),
    ReadOnly(redb::ReadOnlyDatabase),
}

impl RedbEngine {
    /// Opens (or creates, owner-only) the store at `path` for the relay, which is its only writer.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(StoreError::io)?;
        }
        // Created owner-only before redb opens it (the store holds tip bodies).
        tiprelay_common::files::create_private(path).map_err(StoreError::io)?;
        let db = Database::builder()
            .set_concurrency_mode(ConcurrencyMode::SingleWriter)
            .set_cache_size(RELAY_CACHE_BYTES)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Failed(format!(
                    "{} is in use by another process (is a relay already running?)",
                    path.display()
                )),
                other => fail(other),
            })?;
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(StoreError::io)?;
        create_tables(&db)?;
        Ok(Self { db: Handle::Writable(db), path: path.to_owned() })
    }

    /// Opens a relay store read-only, alongside a running relay (`tiprelay ledger`, `audit export`).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Failed(format!("{} does not exist (has this relay ever run?)", path.display())));
        }
        let db = redb::Builder::new()
            .set_concurrency_mode(ConcurrencyMode::SingleWriter)
            .open_read_only(path)
            .map_err(fail)?;
        Ok(Self { db: Handle::ReadOnly(db), path: path.to_owned() })
    }
}

fn create_tables(db: &Database) -> Result<(), StoreError> {
    let w = db.begin_write().map_err(fail)?;
    drop(RedbWrite::open(&w)?);
    w.commit().map_err(fail)
}

impl Engine for RedbEngine {
    fn write(&self, f: WriteFn<'_>) -> Result<(), StoreError> {
        let Handle::Writable(db) = &self.db else {
            return Err(StoreError::Failed(format!("{} is open read-only", self.path.display())));
        };
        let w = db.begin_write().map_err(fail)?;
        {
            let mut t = RedbWrite::open(&w)?;
            f(&mut t)?;
        }
        // Durability::Immediate (redb's default): fsynced before commit returns.
        w.commit().map_err(fail)
    }

    fn read(&self) -> Result<Box<dyn ReadTables + '_>, StoreError> {
        let r = match &self.db {
            Handle::Writable(db) => db.begin_read(),
            Handle::ReadOnly(db) => db.begin_read(),
        }
        .map_err(fail)?;
        Ok(Box::new(RedbRead::open(&r)?))
    }

    fn describe(&self) -> String {
        format!("redb {}", self.path.display())
    }
}

/// Writes ledger facts without tips into a new store (benchmarks of ledger queries at scale
/// only; a relay never calls it).
#[doc(hidden)]
pub fn bench_fill_ledger(path: &Path, facts: &[tiprelay_proto::TipFacts]) -> Result<(), StoreError> {
    let e = RedbEngine::open(path)?;
    e.write(&mut |t| {
        for f in facts {
            let at = f.accepted.map_or(0, tiprelay_proto::Timestamp::as_unix_ms);
            t.put_facts(at, f.from.as_str(), f.id.as_bytes(), &f.pack())?;
        }
        Ok(())
    })
}

/// Writes `entries` audit entries with a signed checkpoint every `checkpoint_every` (and
/// one at the end), in transactions of 10,000 entries, to a new store at `path`; returns
/// the number of checkpoints (benchmarks of audit export at scale only).
#[doc(hidden)]
pub fn bench_fill_audit(
    path: &Path,
    signer: &tiprelay_proto::Signer,
    entries: u64,
    checkpoint_every: u64,
) -> Result<u64, StoreError> {
    use crate::storage::apply;
    let e = RedbEngine::open(path)?;
    let mut checkpoints = 0;
    let mut i = 0u64;
    while i < entries {
        e.write(&mut |t| {
            let mut tally = apply::Tally::default();
            let end = (i + 10_000).min(entries);
            while i < end {
                let ev = super::Event {
                    principal: Some(format!("tiprelay://MX/analyst/analyst-{:02}", i % 20)),
                    from: Some("MX".into()),
                    to: Some("US".into()),
                    seq: Some(i + 1),
                    ..super::Event::new("accepted", super::now())
                };
                apply::append_event(t, &mut tally, &ev)?;
                i += 1;
                if i % checkpoint_every.max(1) == 0 || i == entries {
                    apply::checkpoint(t, signer, 1, super::now())?;
                    checkpoints += 1;
                }
            }
            Ok(())
        })?;
    }
    Ok(checkpoints)
}
