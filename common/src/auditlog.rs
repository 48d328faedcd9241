//! An RFC 9162 Merkle log, shared by the relay's audit log (on any storage engine) and each
//! client's local audit log (redb): canonical entries by index, and every completed Merkle
//! node by (level, index), written in the caller's transaction. Proofs and roots then cost
//! O(log² n) lookups.
//!
//! The log logic is written once against [`LogRead`] / [`LogWrite`]; [`RedbLog`] implements
//! them on two redb tables ([`ENTRIES`], [`NODES`]), the layout both stores use.

use redb::{ReadableTable, TableDefinition};
use tiprelay_proto::audit::AuditEntry;
use tiprelay_proto::merkle::{self, LeafSource, MerkleError};
use tiprelay_proto::Digest;

/// Canonical entry bytes by index.
pub const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_entries");
/// Completed Merkle nodes by (level, index); level 0 holds the leaf hashes.
pub const NODES: TableDefinition<(u8, u64), &[u8]> = TableDefinition::new("audit_nodes");

/// A failure of the log's storage, or a damaged log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit log: {0}")]
pub struct LogError(pub String, pub bool);

impl LogError {
    /// Whether the failure was a full disk (by the I/O error's kind).
    pub fn disk_full(&self) -> bool {
        self.1
    }
}

fn store_err(e: redb::StorageError) -> LogError {
    let full = matches!(&e, redb::StorageError::Io(io) if io.kind() == std::io::ErrorKind::StorageFull);
    LogError(e.to_string(), full)
}

/// Reads of a log's storage.
pub trait LogRead {
    /// The storage's error (a damaged log is reported through `From<LogError>`).
    type Error: From<LogError>;
    /// A completed node, if stored.
    fn node(&self, level: u8, index: u64) -> Result<Option<Digest>, Self::Error>;
    /// The canonical bytes of entry `index`, if stored.
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Self::Error>;
}

/// Writes of a log's storage, inside the caller's transaction.
pub trait LogWrite: LogRead {
    /// Stores entry `index`.
    fn put_entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), Self::Error>;
    /// Stores a completed node.
    fn put_node(&mut self, level: u8, index: u64, digest: &Digest) -> Result<(), Self::Error>;
}

/// A stored node (missing: the store is damaged).
pub fn node<T: LogRead + ?Sized>(t: &T, level: u8, idx: u64) -> Result<Digest, T::Error> {
    t.node(level, idx)?
        .ok_or_else(|| LogError(format!("Merkle node ({level}, {idx}) is missing; the store is damaged"), false).into())
}

/// The canonical bytes of an entry at `index`: sanitized (text bounded to 300 characters,
/// control characters replaced) and encoded.
pub fn entry_bytes(e: &AuditEntry, index: u64) -> Vec<u8> {
    let clean = |s: &Option<String>| {
        s.as_ref().map(|x| x.chars().take(300).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect::<String>())
    };
    AuditEntry {
        index,
        kind: clean(&Some(e.kind.clone())).unwrap_or_default(),
        time: e.time,
        principal: clean(&e.principal),
        from: clean(&e.from),
        to: clean(&e.to),
        tip: clean(&e.tip),
        category: clean(&e.category),
        digest: clean(&e.digest),
        seq: e.seq,
        code: clean(&e.code),
        subject: clean(&e.subject),
        outcome: clean(&e.outcome),
        detail: clean(&e.detail),
    }
    .encode()
}

/// Stores entry `index` (canonical bytes) and its leaf, and completes every node it finishes.
pub fn append_bytes<T: LogWrite + ?Sized>(t: &mut T, index: u64, bytes: &[u8]) -> Result<(), T::Error> {
    t.put_entry(index, bytes)?;
    let mut h = merkle::leaf_hash(bytes);
    t.put_node(0, index, &h)?;
    // Leaf i completes the node at level l+1 when its index at level l is odd.
    let (mut level, mut idx) = (0u8, index);
    while idx % 2 == 1 {
        let left = node(t, level, idx - 1)?;
        h = merkle::node_hash(&left, &h);
        level += 1;
        idx /= 2;
        t.put_node(level, idx, &h)?;
    }
    Ok(())
}

/// Appends entry `index` (sanitized and encoded, see [`entry_bytes`]).
pub fn append<T: LogWrite + ?Sized>(t: &mut T, index: u64, e: &AuditEntry) -> Result<(), T::Error> {
    append_bytes(t, index, &entry_bytes(e, index))
}

/// The log's nodes as a [`LeafSource`] for proofs and roots.
pub struct Nodes<'a, T: LogRead + ?Sized>(pub &'a T);

impl<T: LogRead + ?Sized> LeafSource for Nodes<'_, T>
where
    T::Error: std::fmt::Display,
{
    fn leaf(&self, index: u64) -> Result<Digest, MerkleError> {
        node(self.0, 0, index).map_err(|e| MerkleError::Source(e.to_string()))
    }

    fn subtree(&self, start: u64, len: u64) -> Result<Digest, MerkleError> {
        if len == 0 {
            return Ok(merkle::empty_root());
        }
        if len.is_power_of_two() && start % len == 0 {
            let level = len.trailing_zeros() as u8;
            return node(self.0, level, start >> level).map_err(|e| MerkleError::Source(e.to_string()));
        }
        // Split like RFC 9162: the largest power of two smaller than len.
        let k = 1u64 << (63 - (len - 1).leading_zeros());
        let left = self.subtree(start, k)?;
        let right = self.subtree(start + k, len - k)?;
        Ok(merkle::node_hash(&left, &right))
    }
}

/// The root of the first `size` entries.
/// O(log size) node reads: stored aligned subtrees are read, not recomputed from leaves
/// (a checkpoint of a long log must not cost a pass over the whole log).
pub fn root<T: LogRead + ?Sized>(t: &T, size: u64) -> Result<Digest, T::Error>
where
    T::Error: std::fmt::Display,
{
    Nodes(t).subtree(0, size).map_err(|e| LogError(e.to_string(), false).into())
}

/// The compact tree of entries `[0, first)`: one aligned subtree root per set bit of
/// `first`, largest first (a bundle's `prefix`).
pub fn prefix<T: LogRead + ?Sized>(t: &T, first: u64) -> Result<Vec<Digest>, T::Error> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for bit in (0..64u32).rev() {
        let len = 1u64 << bit;
        if first & len != 0 {
            out.push(node(t, bit as u8, start >> bit)?);
            start += len;
        }
    }
    Ok(out)
}

/// The entries `[first, end)` with their logged leaves, for a bundle.
pub fn bundle_items<'a, T: LogRead + ?Sized>(
    t: &'a T,
    first: u64,
    end: u64,
) -> impl Iterator<Item = std::io::Result<(Vec<u8>, Digest)>> + 'a
where
    T::Error: std::fmt::Display,
{
    (first..end).map(move |i| {
        let bytes = t
            .entry(i)
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .ok_or_else(|| std::io::Error::other(format!("audit entry {i} is missing")))?;
        let leaf = node(t, 0, i).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok((bytes, leaf))
    })
}

/// The log on two redb tables (either read-only or in a write transaction).
pub struct RedbLog<E, N> {
    /// [`ENTRIES`].
    pub entries: E,
    /// [`NODES`].
    pub nodes: N,
}

impl<E, N> LogRead for RedbLog<E, N>
where
    E: ReadableTable<u64, &'static [u8]>,
    N: ReadableTable<(u8, u64), &'static [u8]>,
{
    type Error = LogError;

    fn node(&self, level: u8, index: u64) -> Result<Option<Digest>, LogError> {
        match self.nodes.get((level, index)).map_err(store_err)? {
            None => Ok(None),
            Some(g) => <[u8; 32]>::try_from(g.value())
                .map(|d| Some(Digest(d)))
                .map_err(|_| LogError("a Merkle node is corrupt".into(), false)),
        }
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.entries.get(index).map_err(store_err)?.map(|g| g.value().to_vec()))
    }
}

impl LogWrite for RedbLog<redb::Table<'_, u64, &'static [u8]>, redb::Table<'_, (u8, u64), &'static [u8]>> {
    fn put_entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), LogError> {
        self.entries.insert(index, bytes).map_err(store_err)?;
        Ok(())
    }

    fn put_node(&mut self, level: u8, index: u64, digest: &Digest) -> Result<(), LogError> {
        self.nodes.insert((level, index), digest.0.as_slice()).map_err(store_err)?;
        Ok(())
    }
}
