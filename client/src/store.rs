//! The client's local store (redb, one file per principal): outbox, inbox, sequence
//! numbers seen, and cursors. Every write commits (fsync) before it is reported.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

const OUTBOX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("outbox");
/// Ids of outbox tips that still need sending (no receipt, not refused): resend reads only
/// these, so its cost does not grow with the size of the outbox.
const PENDING: TableDefinition<&[u8], ()> = TableDefinition::new("pending");
const INBOX: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("inbox");
const SEQS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("seqs");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

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

/// Store failure.
#[derive(Debug, thiserror::Error)]
#[error("local store {path}: {why}")]
pub struct StoreError {
    path: String,
    why: String,
}

/// The local store.
pub struct LocalStore {
    db: Database,
    path: String,
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = ciborium::ser::into_writer(v, &mut out);
    out
}

impl LocalStore {
    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError { path: self.path.clone(), why: e.to_string() }
    }

    fn dec<T: for<'de> Deserialize<'de>>(&self, b: &[u8]) -> Result<T, StoreError> {
        ciborium::de::from_reader(b).map_err(|e| self.err(format!("corrupt record: {e}")))
    }

    /// Opens or creates the store.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let ps = path.display().to_string();
        let mk = |why: String| StoreError { path: ps.clone(), why };
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| mk(e.to_string()))?;
        }
        let db = Database::create(path).map_err(|e| mk(format!("{e} (is another tipctl using it?)")))?;
        // The store holds tip bodies: owner-only.
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| mk(e.to_string()))?;
        let s = Self { db, path: ps };
        let w = s.db.begin_write().map_err(|e| s.err(e))?;
        w.open_table(OUTBOX).map_err(|e| s.err(e))?;
        w.open_table(PENDING).map_err(|e| s.err(e))?;
        w.open_table(INBOX).map_err(|e| s.err(e))?;
        w.open_table(SEQS).map_err(|e| s.err(e))?;
        w.open_table(META).map_err(|e| s.err(e))?;
        w.commit().map_err(|e| s.err(e))?;
        Ok(s)
    }

    /// Inserts or replaces an outbox record.
    pub fn put_out(&self, id: &[u8; 16], r: &OutRecord) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
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
        w.commit().map_err(|e| self.err(e))
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
            }
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
            for (from, id, r) in items {
                let new = t.get((from.as_str(), id.as_slice())).map_err(|e| self.err(e))?.is_none();
                if new {
                    t.insert((from.as_str(), id.as_slice()), enc(r).as_slice()).map_err(|e| self.err(e))?;
                    seqs.insert((from.as_str(), r.seq), id.as_slice()).map_err(|e| self.err(e))?;
                }
                fresh.push(new);
            }
        }
        w.commit().map_err(|e| self.err(e))?;
        Ok(fresh)
    }

    /// Marks several inbox tips as acknowledged, in one transaction.
    pub fn mark_acked(&self, keys: &[(String, [u8; 16])]) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = w.open_table(INBOX).map_err(|e| self.err(e))?;
            for (from, id) in keys {
                let cur = t.get((from.as_str(), id.as_slice())).map_err(|e| self.err(e))?.map(|g| g.value().to_vec());
                if let Some(cur) = cur {
                    let mut r: InRecord = self.dec(&cur)?;
                    r.acked = true;
                    t.insert((from.as_str(), id.as_slice()), enc(&r).as_slice()).map_err(|e| self.err(e))?;
                }
            }
        }
        w.commit().map_err(|e| self.err(e))
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

#[cfg(test)]
mod tests {
    use super::*;

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
