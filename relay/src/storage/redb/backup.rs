//! `tiprelay backup`: a consistent copy of a redb relay store, taken while the relay serves.
//!
//! The running relay holds the store as redb's single writer; a read-only handle beside it
//! sees one MVCC snapshot per read transaction, and the writer never reuses the pages that
//! snapshot reads. One read transaction is copied, table by table, into a new redb file
//! (`FILE.partial`, created owner-only, fsynced), which is then checked on its own: every
//! table has as many rows as the snapshot had, the audit log's entries hash to the stored
//! Merkle nodes, and the root of the entries up to the newest signed checkpoint is the root
//! that checkpoint signs (its signature verified with the configured roots). Only then is
//! it renamed to `FILE` (never over an existing file unless `force`), and the directory
//! fsynced. A PostgreSQL store is refused: `pg_dump` takes its consistent snapshot.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use redb::{
    Database, MultimapTableHandle, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};
use tiprelay_common::auditlog;
use tiprelay_common::files::FileError;
use tiprelay_common::i18n::{tr_in, FluentValue, Locale};
use tiprelay_common::localize::{Localize, Msg};
use tiprelay_proto::merkle::{self, CompactTree};
use tiprelay_proto::{Checkpoint, Digest, TrustStore};

use super::{fail, schema, Handle, RedbEngine, SCHEMA_KEY};
use crate::config::{RelayConfig, StoreBackend};
use crate::storage::StoreError;

/// Why a backup was not made. Nothing is left at the output path when one fails (a
/// `.partial` file beside it is removed too).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The configured store is PostgreSQL: its own tools take a consistent snapshot.
    #[error(
        "{store} is a PostgreSQL store: back it up with the database's own tools, which take one consistent snapshot: \
         pg_dump --format=custom --file=tiprelay.dump <database> (docs/OPERATIONS.md, \"Backups and restore\"); \
         tiprelay backup copies redb stores only"
    )]
    Postgres {
        /// The store, as `tiprelay check-config` names it (never a password).
        store: String,
    },
    /// The output file exists and `--force` was not given.
    #[error("{path} exists already; choose another name, or add --force to replace it")]
    Exists {
        /// The output file.
        path: PathBuf,
    },
    /// The output path is the live store itself.
    #[error("{path} is the relay's own store; write the backup to another file")]
    IsTheStore {
        /// The output file.
        path: PathBuf,
    },
    /// The store holds a table this release does not know (a newer release wrote it): a
    /// copy without it would be incomplete.
    #[error(
        "the store holds a table `{name}` this tiprelay does not know (written by a newer release?); nothing was \
         copied: back it up with that release's tiprelay"
    )]
    UnknownTable {
        /// The table's name.
        name: String,
    },
    /// The copy, read back, does not match the snapshot or its signed checkpoint.
    #[error("the copy does not verify, so it was removed: {0}")]
    Unverified(Msg),
    /// A root or CRL file (to verify the checkpoint's signature) cannot be read or used.
    #[error(transparent)]
    Trust(#[from] FileError),
    /// The store cannot be opened or read, or the copy cannot be written as a store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Localize for BackupError {
    fn localize_in(&self, l: Locale) -> String {
        let text = |v: &dyn std::fmt::Display| FluentValue::from(v.to_string());
        match self {
            Self::Postgres { store } => tr_in(l, "relay-backup-postgres", &[("store", text(store))]),
            Self::Exists { path } => tr_in(l, "relay-backup-exists", &[("path", text(&path.display()))]),
            Self::IsTheStore { path } => tr_in(l, "relay-backup-is-the-store", &[("path", text(&path.display()))]),
            Self::UnknownTable { name } => tr_in(l, "relay-backup-unknown-table", &[("name", text(name))]),
            Self::Unverified(why) => tr_in(l, "relay-backup-unverified", &[("why", text(&why.in_locale(l)))]),
            Self::Trust(e) => match l {
                Locale::En => e.to_string(),
                _ => tiprelay_common::localize::localize_known_in(e, l).unwrap_or_else(|| e.to_string()),
            },
            Self::Store(e) => e.localize_in(l),
            Self::Io { path, source } => {
                let why = match l {
                    Locale::En => source.to_string(),
                    _ => tiprelay_common::localize::localize_known_in(source, l).unwrap_or_else(|| source.to_string()),
                };
                format!("{}: {why}", path.display())
            }
        }
    }
}

/// The newest signed checkpoint in a copy, verified against the copy's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSummary {
    /// Its number of entries.
    pub size: u64,
    /// Its Merkle root (hex), equal to the root recomputed from the copy's entries.
    pub root: String,
    /// When the relay signed it.
    pub time: String,
    /// How many cosignatures the copy holds for it.
    pub cosignatures: u64,
}

/// What a backup copied and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The backup file.
    pub out: PathBuf,
    /// Rows per table, by table name (every table of the store).
    pub tables: BTreeMap<String, u64>,
    /// Tips held (records in `tips`).
    pub tips: u64,
    /// Audit log entries (all of them, including any after the newest checkpoint).
    pub audit_entries: u64,
    /// The newest signed checkpoint, or None when the relay had signed none yet.
    pub checkpoint: Option<CheckpointSummary>,
    /// The store's schema version.
    pub schema_version: u64,
    /// The file's size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file (hex), for the operators' record of the copy.
    pub sha256: String,
    /// How long the copy and its check took, in milliseconds.
    pub millis: u64,
}

/// Backs up the store `cfg` names into `out`: refuses PostgreSQL, copies one snapshot of
/// the redb store (which may be serving), checks the copy (the checkpoint's signature with
/// the configured roots), and only then puts it at `out`.
pub fn backup(cfg: &RelayConfig, out: &Path, force: bool) -> Result<BackupReport, BackupError> {
    if let StoreBackend::Postgres(_) = &cfg.backend {
        return Err(BackupError::Postgres { store: crate::storage::describe(cfg) });
    }
    let trust = tiprelay_common::files::load_trust(&cfg.trust)?;
    backup_file(&cfg.store, out, force, Some(&trust))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_path_buf(), source }
}

/// Backs up the redb relay store at `store` into `out` (see [`backup`]); the checkpoint's
/// signature is verified when `trust` is given.
pub fn backup_file(
    store: &Path,
    out: &Path,
    force: bool,
    trust: Option<&TrustStore>,
) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    check_out(store, out, force)?;
    let source = RedbEngine::open_read_only(store)?;
    let mut name = out.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".partial");
    let tmp = out.with_file_name(name);
    let made = (|| {
        let copied = copy_snapshot(&source, &tmp)?;
        drop(source);
        let report = verify_copy(&tmp, trust)?;
        if report.tables != copied {
            return Err(BackupError::Unverified(
                Msg::new("relay-backup-rows-differ")
                    .text("copied", format!("{copied:?}"))
                    .text("read", format!("{:?}", report.tables)),
            ));
        }
        // Re-checked here: `out` may have appeared (or become the store) meanwhile.
        check_out(store, out, force)?;
        if force {
            std::fs::rename(&tmp, out).map_err(io(out))?;
        } else {
            // A hard link never replaces: an `out` made meanwhile is kept.
            std::fs::hard_link(&tmp, out).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => BackupError::Exists { path: out.to_path_buf() },
                _ => BackupError::Io { path: out.to_path_buf(), source: e },
            })?;
            std::fs::remove_file(&tmp).map_err(io(&tmp))?;
        }
        sync_dir(out)?;
        let (bytes, sha256) = file_digest(out)?;
        Ok(BackupReport {
            out: out.to_path_buf(),
            bytes,
            sha256,
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ..report
        })
    })();
    if made.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    made
}

/// Refuses an `out` that exists (unless `force`) or that is the store itself.
fn check_out(store: &Path, out: &Path, force: bool) -> Result<(), BackupError> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::Io { path: out.to_path_buf(), source: e }),
        Ok(m) => {
            let same = std::fs::metadata(store).is_ok_and(|s| s.dev() == m.dev() && s.ino() == m.ino());
            let link_to_store = m.file_type().is_symlink()
                && std::fs::metadata(out)
                    .ok()
                    .zip(std::fs::metadata(store).ok())
                    .is_some_and(|(o, s)| o.dev() == s.dev() && o.ino() == s.ino());
            if same || link_to_store {
                Err(BackupError::IsTheStore { path: out.to_path_buf() })
            } else if force {
                Ok(())
            } else {
                Err(BackupError::Exists { path: out.to_path_buf() })
            }
        }
    }
}

/// Every table of a relay store, by name: the tables of [`schema`] (the audit log's two
/// are those of [`auditlog`]).
const TABLES: [&str; 18] = [
    "tips",
    "by_seq",
    "dir_seq",
    "cursor",
    "acked_above",
    "first_ack",
    "acked_at",
    "author_pending",
    "notices",
    "feedback",
    "statements",
    "statement_ids",
    "ledger",
    "audit_entries",
    "audit_nodes",
    "checkpoints",
    "cosignatures",
    "meta",
];

/// Calls `$f!(definition)` for every table of the store.
macro_rules! each_table {
    ($f:ident) => {{
        $f!(schema::TIPS);
        $f!(schema::BY_SEQ);
        $f!(schema::DIR_SEQ);
        $f!(schema::CURSOR);
        $f!(schema::ACKED_ABOVE);
        $f!(schema::FIRST_ACK);
        $f!(schema::ACKED_AT);
        $f!(schema::AUTHOR_PENDING);
        $f!(schema::NOTICES);
        $f!(schema::FEEDBACK);
        $f!(schema::STATEMENTS);
        $f!(schema::STATEMENT_IDS);
        $f!(schema::LEDGER);
        $f!(schema::EVENTS);
        $f!(schema::AUDIT_NODES);
        $f!(schema::CHECKPOINTS);
        $f!(schema::COSIGNATURES);
        $f!(schema::META);
    }};
}

/// Copies every row of `def` from the snapshot into the copy's transaction; returns how many.
fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    r: &redb::ReadTransaction,
    w: &redb::WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let mut dst = w.open_table(def).map_err(fail)?;
    let src = match r.open_table(def) {
        Ok(t) => t,
        // A table the store has not made yet is an empty one.
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(fail(e)),
    };
    let mut n = 0u64;
    for row in src.iter().map_err(fail)? {
        let (k, v) = row.map_err(fail)?;
        dst.insert(k.value(), v.value()).map_err(fail)?;
        n += 1;
    }
    Ok(n)
}

/// Copies one read transaction of `source` into a new redb file `tmp` (created 0600, never
/// through a symbolic link), committed durably; returns the rows per table.
fn copy_snapshot(source: &RedbEngine, tmp: &Path) -> Result<BTreeMap<String, u64>, BackupError> {
    // A `.partial` left by a crashed backup is ours to replace.
    match std::fs::remove_file(tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(BackupError::Io { path: tmp.into(), source: e })
        }
        _ => {}
    }
    // create_new (O_EXCL) also refuses a symbolic link planted at that name.
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(tmp).map_err(io(tmp))?;
    let r = match &source.db {
        Handle::ReadOnly(db) => db.begin_read(),
        Handle::Writable(db) => db.begin_read(),
    }
    .map_err(fail)?;
    // Everything the snapshot holds must be copied: a table this release does not know
    // (or a multimap table, which relay stores never have) is refused, not skipped.
    for t in r.list_tables().map_err(fail)? {
        if !TABLES.contains(&t.name()) {
            return Err(BackupError::UnknownTable { name: t.name().to_owned() });
        }
    }
    if let Some(t) = r.list_multimap_tables().map_err(fail)?.next() {
        return Err(BackupError::UnknownTable { name: t.name().to_owned() });
    }
    let db = Database::builder().set_cache_size(crate::storage::RELAY_CACHE_BYTES).create(tmp).map_err(fail)?;
    let w = db.begin_write().map_err(fail)?;
    let mut rows = BTreeMap::new();
    macro_rules! copy {
        ($def:expr) => {
            rows.insert($def.name().to_owned(), copy_table(&r, &w, $def)?);
        };
    }
    each_table!(copy);
    // Durability::Immediate (redb's default): on disk before commit returns.
    w.commit().map_err(fail)?;
    drop(r);
    db.close().map_err(fail)?;
    std::fs::File::open(tmp).and_then(|f| f.sync_all()).map_err(io(tmp))?;
    Ok(rows)
}

/// Opens a backup (or any relay store) read-only and checks it: rows per table, the audit
/// log's entries against its stored leaves and nodes, and the newest checkpoint's root
/// against the root recomputed from the entries (and its signature, with `trust`).
/// `out`, `bytes`, `sha256` and `millis` of the report are left empty.
pub fn verify_copy(path: &Path, trust: Option<&TrustStore>) -> Result<BackupReport, BackupError> {
    let unverified = |m: Msg| BackupError::Unverified(m);
    let engine = RedbEngine::open_read_only(path)?;
    let Handle::ReadOnly(db) = &engine.db else {
        return Err(unverified(Msg::new("relay-backup-not-read-only")));
    };
    let r = db.begin_read().map_err(fail)?;
    let mut tables = BTreeMap::new();
    macro_rules! count {
        ($def:expr) => {{
            let n = match r.open_table($def) {
                Ok(t) => t.len().map_err(fail)?,
                Err(redb::TableError::TableDoesNotExist(_)) => 0,
                Err(e) => return Err(fail(e).into()),
            };
            tables.insert($def.name().to_owned(), n);
        }};
    }
    each_table!(count);
    let schema_version = match r.open_table(schema::META) {
        Ok(t) => t.get(SCHEMA_KEY).map_err(fail)?.map(|g| g.value()).unwrap_or(0),
        Err(_) => 0,
    };
    let audit_entries = tables.get("audit_entries").copied().unwrap_or(0);
    let log = auditlog::RedbLog {
        entries: r.open_table(schema::EVENTS).map_err(fail)?,
        nodes: r.open_table(schema::AUDIT_NODES).map_err(fail)?,
    };
    let checkpoints = r.open_table(schema::CHECKPOINTS).map_err(fail)?;
    let head = checkpoints.last().map_err(fail)?.map(|(k, v)| (k.value(), v.value().to_vec()));
    // Every entry in index order, each hashed to the leaf stored for it, folded into the
    // root of the first `size` entries of the newest checkpoint.
    let cp_size = head.as_ref().map_or(0, |(s, _)| *s);
    let mut tree = CompactTree::new();
    let mut at_checkpoint = None;
    let mut next = 0u64;
    for row in log.entries.iter().map_err(fail)? {
        let (k, v) = row.map_err(fail)?;
        let index = k.value();
        if index != next {
            return Err(unverified(Msg::new("relay-backup-entry-missing").number("index", next)));
        }
        let leaf = merkle::leaf_hash(v.value());
        let stored = auditlog::node(&log, 0, index).map_err(|e| unverified(Msg::raw(e.to_string())))?;
        if stored != leaf {
            return Err(unverified(Msg::new("relay-backup-leaf-differs").number("index", index)));
        }
        tree.append(leaf).map_err(|e| unverified(Msg::raw(e.to_string())))?;
        next += 1;
        if next == cp_size {
            at_checkpoint = Some(tree.root());
        }
    }
    let checkpoint = match head {
        None => None,
        Some((size, env)) => {
            let c = match trust {
                Some(t) => {
                    let at = tiprelay_proto::parse::<Checkpoint>(&env)
                        .map_err(|e| unverified(Msg::raw(e.to_string())))?
                        .message
                        .time;
                    tiprelay_proto::verify::<Checkpoint>(&env, t, at)
                        .map_err(|e| {
                            unverified(Msg::new("relay-backup-bad-signature").text("size", size).error("error", &e))
                        })?
                        .message
                }
                None => {
                    tiprelay_proto::parse::<Checkpoint>(&env).map_err(|e| unverified(Msg::raw(e.to_string())))?.message
                }
            };
            if c.size != size || size > audit_entries {
                return Err(unverified(
                    Msg::new("relay-backup-checkpoint-size").number("size", c.size).number("entries", audit_entries),
                ));
            }
            let from_nodes = auditlog::root(&log, size).map_err(|e| unverified(Msg::raw(e.to_string())))?;
            let from_entries = if size == 0 { Some(merkle::empty_root()) } else { at_checkpoint };
            if from_entries != Some(c.root) || from_nodes != c.root {
                return Err(unverified(
                    Msg::new("relay-backup-root-differs")
                        .number("size", size)
                        .text("root", c.root.to_hex())
                        .text("computed", from_entries.unwrap_or(Digest([0; 32])).to_hex()),
                ));
            }
            let cosignatures = r
                .open_table(schema::COSIGNATURES)
                .map_err(fail)?
                .range((size, "")..(size + 1, ""))
                .map_err(fail)?
                .count();
            Some(CheckpointSummary {
                size,
                root: c.root.to_hex(),
                time: c.time.to_string(),
                cosignatures: cosignatures as u64,
            })
        }
    };
    Ok(BackupReport {
        out: path.to_path_buf(),
        tips: tables.get("tips").copied().unwrap_or(0),
        tables,
        audit_entries,
        checkpoint,
        schema_version,
        bytes: 0,
        sha256: String::new(),
        millis: 0,
    })
}

/// fsyncs the directory holding `file`, so its new name survives a crash.
fn sync_dir(file: &Path) -> Result<(), BackupError> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// The size and SHA-256 (hex) of a file, read in 1 MiB blocks.
fn file_digest(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        total += n as u64;
    }
    let hex: String = ctx.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Ok((total, hex))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::os::unix::fs::PermissionsExt;

    use tiprelay_certs::fixture::FixturePki;
    use tiprelay_certs::profile::LeafKind;
    use tiprelay_proto::{Authority, Signer};

    use super::*;
    use crate::storage::{apply, Engine, Event, NoticeRecord, StatementRecord, TipRecord};

    fn pki() -> (FixturePki, Signer) {
        let start = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        let pki = FixturePki::new("backup", &[Authority::Operator], start).unwrap();
        let relay =
            pki.leaf(&"tiprelay://OPERATOR/relay/r".parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
        (pki, relay)
    }

    /// A store with rows in every table, `events` audit entries and a checkpoint of them
    /// (cosigned), then `after` more entries past the checkpoint.
    fn filled_store(path: &Path, relay: &Signer, events: u64, after: u64) {
        let e = RedbEngine::open(path).unwrap();
        e.write(&mut |t| {
            let rec = TipRecord {
                to: "US".into(),
                author: "tiprelay://MX/analyst/a".into(),
                category: "fuel_theft".into(),
                digest: vec![7; 32],
                seq: 1,
                accepted: 1_000,
                log_index: 0,
                envelope: Some(vec![1, 2, 3]),
                receipt: vec![4, 5, 6],
            };
            for i in 0..3u8 {
                t.put_tip("MX", &[i; 16], &TipRecord { seq: u64::from(i) + 1, ..rec.clone() })?;
                t.put_seq("MX", "US", u64::from(i) + 1, &[i; 16])?;
                t.put_facts(1_000 + u64::from(i), "MX", &[i; 16], &[9, 9])?;
            }
            t.set_dir_seq("MX", "US", 3)?;
            t.set_cursor("tiprelay://US/analyst/b", "MX", 1)?;
            t.put_acked_above("tiprelay://US/analyst/b", "MX", 3, 2_000)?;
            t.put_first_ack("MX", &[0; 16], 1, 2_000)?;
            t.set_author_pending("tiprelay://MX/analyst/a", 42)?;
            t.put_notice(
                "tiprelay://MX/analyst/a",
                1,
                &NoticeRecord { envelope: vec![8], receipt: None, crossed: false },
            )?;
            let st = StatementRecord { digest: vec![3; 32], envelope: vec![], receipt: vec![5] };
            t.put_feedback("MX", &[5; 16], &st)?;
            t.put_statement("US", &[6; 16], "MX", 1, &st)?;
            let mut tally = apply::Tally::default();
            for i in 0..events {
                apply::append_event(
                    t,
                    &mut tally,
                    &Event { seq: Some(i), ..Event::new("accepted", crate::storage::now()) },
                )?;
            }
            apply::checkpoint(t, relay, 1, crate::storage::now())?;
            t.put_cosignature(events, "tiprelay://US/analyst/b", &[1, 1])?;
            for i in 0..after {
                apply::append_event(
                    t,
                    &mut tally,
                    &Event { seq: Some(i), ..Event::new("delivered", crate::storage::now()) },
                )?;
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn every_table_is_copied_and_the_copy_verifies_against_its_signed_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let (pki, relay) = pki();
        let store = dir.path().join("relay.redb");
        filled_store(&store, &relay, 37, 5);
        let out = dir.path().join("backup.redb");
        let trust = pki.trust_store().unwrap();
        let r = backup_file(&store, &out, false, Some(&trust)).unwrap();
        // Every table, with every row of the source.
        assert_eq!(r.tables.keys().map(String::as_str).collect::<Vec<_>>().len(), TABLES.len());
        for t in TABLES {
            assert!(r.tables[t] > 0, "table {t} was not copied: {:?}", r.tables);
        }
        let source = verify_copy(&store, Some(&trust)).unwrap();
        assert_eq!(source.tables, r.tables);
        assert_eq!(r.tips, 3);
        assert_eq!(r.audit_entries, 42);
        assert_eq!(r.schema_version, super::super::SCHEMA_VERSION);
        let cp = r.checkpoint.clone().unwrap();
        assert_eq!(cp.size, 37);
        assert_eq!(cp.cosignatures, 1);
        assert_eq!(source.checkpoint, r.checkpoint);
        // Its root is that of the entries, as the relay's own reads give it.
        let copy = RedbEngine::open_read_only(&out).unwrap();
        let rd = copy.read().unwrap();
        let (size, env) = rd.last_checkpoint().unwrap().unwrap();
        let signed = tiprelay_proto::parse::<Checkpoint>(&env).unwrap().message;
        assert_eq!((size, signed.root.to_hex()), (37, cp.root.clone()));
        drop(rd);
        drop(copy);
        // The file: owner-only, no partial left, its digest the one reported.
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!dir.path().join("backup.redb.partial").exists());
        assert_eq!(file_digest(&out).unwrap(), (r.bytes, r.sha256.clone()));
        // A relay opens the copy as its store.
        let e = RedbEngine::open(&out).unwrap();
        assert_eq!(e.read().unwrap().dir_seq("MX", "US").unwrap(), 3);
    }

    #[test]
    fn an_existing_output_is_refused_without_force_and_the_store_itself_always() {
        let dir = tempfile::tempdir().unwrap();
        let (_pki, relay) = pki();
        let store = dir.path().join("relay.redb");
        filled_store(&store, &relay, 4, 0);
        let out = dir.path().join("backup.redb");
        std::fs::write(&out, b"an older backup").unwrap();
        match backup_file(&store, &out, false, None) {
            Err(e @ BackupError::Exists { .. }) => assert!(e.to_string().contains("--force"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&out).unwrap(), b"an older backup");
        let r = backup_file(&store, &out, true, None).unwrap();
        assert_eq!(r.audit_entries, 4);
        assert!(verify_copy(&out, None).is_ok());
        for force in [false, true] {
            assert!(matches!(backup_file(&store, &store, force, None), Err(BackupError::IsTheStore { .. })));
        }
        let link = dir.path().join("link.redb");
        std::os::unix::fs::symlink(&store, &link).unwrap();
        assert!(matches!(backup_file(&store, &link, true, None), Err(BackupError::IsTheStore { .. })));
        assert!(RedbEngine::open(&store).is_ok(), "the store is untouched");
    }

    #[test]
    fn a_damaged_log_or_a_foreign_checkpoint_does_not_verify() {
        let dir = tempfile::tempdir().unwrap();
        let (_pki, relay) = pki();
        let store = dir.path().join("relay.redb");
        filled_store(&store, &relay, 9, 2);
        // Signed by another PKI's relay: the signature does not verify with these roots.
        let stranger = FixturePki::new("stranger", &[Authority::Operator], time::OffsetDateTime::now_utc()).unwrap();
        let e = verify_copy(&store, Some(&stranger.trust_store().unwrap())).unwrap_err();
        assert!(matches!(e, BackupError::Unverified(_)), "{e}");
        // An entry changed after its leaf was stored.
        {
            let db =
                Database::builder().set_concurrency_mode(redb::ConcurrencyMode::SingleWriter).open(&store).unwrap();
            let w = db.begin_write().unwrap();
            w.open_table(schema::EVENTS).unwrap().insert(3u64, b"tampered".as_slice()).unwrap();
            w.commit().unwrap();
        }
        let e = verify_copy(&store, None).unwrap_err();
        assert!(e.to_string().contains("entry 3 does not hash"), "{e}");
        let out = dir.path().join("backup.redb");
        assert!(backup_file(&store, &out, false, None).is_err());
        assert!(!out.exists() && !dir.path().join("backup.redb.partial").exists(), "nothing is left of a bad copy");
    }

    #[test]
    fn a_postgres_store_is_refused_with_pg_dump() {
        let e = BackupError::Postgres { store: "postgresql://tiprelay@db/tiprelay".into() };
        let en = e.localize_in(Locale::En);
        assert_eq!(en, e.to_string());
        assert!(en.contains("pg_dump --format=custom") && en.contains("Backups and restore"), "{en}");
        let es = e.localize_in(Locale::Es);
        assert!(es.contains("pg_dump --format=custom") && es.contains("copia de seguridad"), "{es}");
    }
}
