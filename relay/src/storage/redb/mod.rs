//! The embedded engine: the whole store in one redb file, fsynced on every commit.
//!
//! One write transaction at a time (redb's rule, and the writer's design); reads use MVCC
//! snapshots and never block it. [`schema`] lists the tables, [`read`](mod@read) and [`write`](mod@write)
//! implement the storage traits on them.

pub mod backup;
pub mod read;
pub mod schema;
pub mod write;

use std::path::{Path, PathBuf};

use redb::{ConcurrencyMode, Database, ReadableDatabase, ReadableTable};

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

/// The schema version of the redb store this relay writes, kept in the `meta` table under
/// [`SCHEMA_KEY`]. Version 1 is the tables of [`schema`] as of 2026-12-07. A store without
/// the key was made by a release before versions were recorded (version 0): its tables are
/// those of version 1, so migrating it records the version and changes nothing else.
pub const SCHEMA_VERSION: u64 = 1;

/// The `meta` key of the schema version.
pub const SCHEMA_KEY: &str = "schema_version";

fn newer_schema(path: &Path, found: u64) -> StoreError {
    StoreError::Unusable(
        tiprelay_common::localize::Msg::new("relay-store-newer")
            .text("path", path.display())
            .number("found", found)
            .number("ours", SCHEMA_VERSION),
    )
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
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Unusable(
                    tiprelay_common::localize::Msg::new("relay-store-in-use").text("path", path.display()),
                ),
                other => fail(other),
            })?;
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(StoreError::io)?;
        create_or_migrate(&db, path)?;
        Ok(Self { db: Handle::Writable(db), path: path.to_owned() })
    }

    /// Opens a relay store read-only, alongside a running relay (`tiprelay ledger`, `audit export`).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Unusable(
                tiprelay_common::localize::Msg::new("relay-store-absent").text("path", path.display()),
            ));
        }
        let db = redb::Builder::new()
            .set_concurrency_mode(ConcurrencyMode::SingleWriter)
            .open_read_only(path)
            .map_err(fail)?;
        // A tool beside the relay reads an older store as it is (version 0 has version 1's
        // tables) and refuses a newer one.
        let r = db.begin_read().map_err(fail)?;
        let found = match r.open_table(schema::META) {
            Ok(meta) => meta.get(SCHEMA_KEY).map_err(fail)?.map(|v| v.value()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(fail(e)),
        };
        if let Some(v) = found.filter(|v| *v > SCHEMA_VERSION) {
            return Err(newer_schema(path, v));
        }
        drop(r);
        Ok(Self { db: Handle::ReadOnly(db), path: path.to_owned() })
    }

    /// The schema version recorded in the store.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        Ok(self.read()?.counter(SCHEMA_KEY)?.unwrap_or(0))
    }
}

/// Creates the tables of a new store, or migrates an older one, in one transaction; refuses
/// a store of a newer schema without changing it. Returns the version found (0 for a
/// store made before versions were recorded, None for a new store).
fn create_or_migrate(db: &Database, path: &Path) -> Result<Option<u64>, StoreError> {
    let w = db.begin_write().map_err(fail)?;
    let existing = w.list_tables().map_err(fail)?.next().is_some();
    let found = {
        let meta = w.open_table(schema::META).map_err(fail)?;
        let v = meta.get(SCHEMA_KEY).map_err(fail)?.map(|v| v.value());
        v
    };
    let found = match (found, existing) {
        (Some(v), _) if v > SCHEMA_VERSION => {
            w.abort().map_err(fail)?;
            return Err(newer_schema(path, v));
        }
        (Some(v), _) => Some(v),
        (None, true) => Some(0),
        (None, false) => None,
    };
    drop(RedbWrite::open(&w)?);
    // Migrations from each older version to the next go here, in order; 0 → 1 only
    // records the version.
    w.open_table(schema::META).map_err(fail)?.insert(SCHEMA_KEY, SCHEMA_VERSION).map_err(fail)?;
    w.commit().map_err(fail)?;
    if let Some(v) = found.filter(|v| *v < SCHEMA_VERSION) {
        tracing::info!(store = %path.display(), from = v, to = SCHEMA_VERSION, "store schema migrated");
    }
    Ok(found)
}

impl Engine for RedbEngine {
    fn write(&self, f: WriteFn<'_>) -> Result<(), StoreError> {
        let Handle::Writable(db) = &self.db else {
            return Err(StoreError::Unusable(
                tiprelay_common::localize::Msg::new("relay-store-read-only").text("path", self.path.display()),
            ));
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use redb::ReadableTableMetadata;

    /// A copy of the relay store the previous release made (tests/fixtures/previous-release).
    fn previous_release_store(dir: &Path) -> PathBuf {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/previous-release/relay.redb");
        let to = dir.join("relay.redb");
        std::fs::copy(from, &to).unwrap();
        to
    }

    fn uuid(s: &str) -> Vec<u8> {
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn a_store_of_the_previous_release_is_migrated_and_keeps_every_tip() {
        let dir = tempfile::tempdir().unwrap();
        let path = previous_release_store(dir.path());
        // Read-only beside a relay: read as it is, not changed.
        let ro = RedbEngine::open_read_only(&path).unwrap();
        assert_eq!(ro.schema_version().unwrap(), 0);
        drop(ro);
        let e = RedbEngine::open(&path).unwrap();
        assert_eq!(e.schema_version().unwrap(), SCHEMA_VERSION);
        let r = e.read().unwrap();
        assert_eq!(r.dir_seq("MX", "US").unwrap(), 3);
        assert_eq!(r.dir_seq("US", "MX").unwrap(), 1);
        for id in [
            "01a25250-387e-73ef-89ad-7a3db6fe4fce",
            "01a25250-38c1-7014-9fa1-ed5ad2c227d6",
            "01a25250-3930-76e2-bff9-b93cddbf5298",
        ] {
            let rec = r.tip("MX", &uuid(id)).unwrap().unwrap_or_else(|| panic!("tip {id} lost"));
            assert!(r.first_ack("MX", &uuid(id)).unwrap().is_some(), "{id} lost its acknowledgement ({})", rec.seq);
        }
        // Its audit log is there.
        let entries = r.counter(crate::storage::counters::NEXT_EVENT).unwrap().unwrap_or(0);
        assert!(entries > 0);
        drop(r);
        drop(e);
        // Opening again is a no-op.
        let e = RedbEngine::open(&path).unwrap();
        assert_eq!(e.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_store_of_a_newer_schema_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = previous_release_store(dir.path());
        let newer = SCHEMA_VERSION + 1;
        {
            let e = RedbEngine::open(&path).unwrap();
            e.write(&mut |t| t.set_counter(SCHEMA_KEY, newer)).unwrap();
        }
        for e in [RedbEngine::open(&path).err(), RedbEngine::open_read_only(&path).err()] {
            let text = e.expect("a newer store must be refused").to_string();
            assert!(
                text.contains(&format!("schema version {newer}, newer than this tiprelay's {SCHEMA_VERSION}")),
                "{text}"
            );
        }
        // Left as it was: its version and its data (redb itself may rewrite its header).
        let db = Database::open(&path).unwrap();
        let r = db.begin_read().unwrap();
        assert_eq!(r.open_table(schema::META).unwrap().get(SCHEMA_KEY).unwrap().map(|v| v.value()), Some(newer));
        assert_eq!(r.open_table(schema::TIPS).unwrap().len().unwrap(), 4);
    }
}
