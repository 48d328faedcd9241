//! An RFC 9162 Merkle log kept in redb tables, shared by the relay's audit log and each
//! client's local audit log: canonical entries by index, and every completed Merkle node by
//! (level, index), written in the caller's transaction. Proofs and roots then cost
//! O(log² n) lookups.

use redb::{ReadableTable, TableDefinition};
use tiprelay_proto::audit::AuditEntry;
use tiprelay_proto::merkle::{self, LeafSource, MerkleError};
use tiprelay_proto::Digest;

/// Canonical entry bytes by index.
pub const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_entries");
/// Merkle nodes by (level, index): level 0 holds leaf hashes; the node at level l covers
/// leaves [index·2^l, (index+1)·2^l) and is written once complete.
pub const NODES: TableDefinition<(u8, u64), &[u8]> = TableDefinition::new("audit_nodes");

/// A damaged log (a node or an entry missing or malformed).
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

/// A Merkle node.
pub fn node(t: &impl ReadableTable<(u8, u64), &'static [u8]>, level: u8, idx: u64) -> Result<Digest, LogError> {
    let g = t
        .get((level, idx))
        .map_err(store_err)?
        .ok_or_else(|| LogError(format!("Merkle node ({level}, {idx}) is missing; the store is damaged"), false))?;
    <[u8; 32]>::try_from(g.value()).map(Digest).map_err(|_| LogError("a Merkle node is corrupt".into(), false))
}

/// Appends `e` as entry `index` (which must be the log's size) and completes every node
/// its leaf finishes. The caller numbers entries and commits.
pub fn append(
    entries: &mut redb::Table<'_, u64, &'static [u8]>,
    nodes: &mut redb::Table<'_, (u8, u64), &'static [u8]>,
    index: u64,
    e: &AuditEntry,
) -> Result<(), LogError> {
    let mut e = sanitized(e);
    e.index = index;
    let bytes = e.encode();
    entries.insert(index, bytes.as_slice()).map_err(store_err)?;
    let mut h = merkle::leaf_hash(&bytes);
    nodes.insert((0u8, index), h.0.as_slice()).map_err(store_err)?;
    // Leaf i completes the node at level l+1 when its index at level l is odd.
    let (mut level, mut idx) = (0u8, index);
    while idx % 2 == 1 {
        let left = node(nodes, level, idx - 1)?;
        h = merkle::node_hash(&left, &h);
        level += 1;
        idx /= 2;
        nodes.insert((level, idx), h.0.as_slice()).map_err(store_err)?;
    }
    Ok(())
}

/// An entry as it may be logged: text fields cut to 300 characters, control characters
/// replaced, so every entry decodes (and prints) safely.
fn sanitized(e: &AuditEntry) -> AuditEntry {
    let clean = |s: &Option<String>| {
        s.as_ref().map(|x| x.chars().take(300).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect::<String>())
    };
    AuditEntry {
        index: e.index,
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
}

/// The nodes table as a proof source: aligned power-of-two subtrees are one lookup.
pub struct NodeSource<'a, T: ReadableTable<(u8, u64), &'static [u8]>>(pub &'a T);

impl<T: ReadableTable<(u8, u64), &'static [u8]>> LeafSource for NodeSource<'_, T> {
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
pub fn root(t: &impl ReadableTable<(u8, u64), &'static [u8]>, size: u64) -> Result<Digest, LogError> {
    merkle::LeafSource::subtree(&NodeSource(t), 0, size).map_err(|e| LogError(e.to_string(), false))
}

/// The compact tree of entries `[0, first)`: one aligned subtree root per set bit of
/// `first`, largest first (a bundle's `prefix`).
pub fn prefix(t: &impl ReadableTable<(u8, u64), &'static [u8]>, first: u64) -> Result<Vec<Digest>, LogError> {
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
pub fn bundle_items<'a>(
    entries: &'a impl ReadableTable<u64, &'static [u8]>,
    nodes: &'a impl ReadableTable<(u8, u64), &'static [u8]>,
    first: u64,
    end: u64,
) -> impl Iterator<Item = std::io::Result<(Vec<u8>, Digest)>> + 'a {
    (first..end).map(move |i| {
        let bytes = entries
            .get(i)
            .map_err(std::io::Error::other)?
            .map(|g| g.value().to_vec())
            .ok_or_else(|| std::io::Error::other(format!("audit entry {i} is missing")))?;
        let leaf = node(nodes, 0, i).map_err(std::io::Error::other)?;
        Ok((bytes, leaf))
    })
}
