//! [`ReadTables`] on redb, for a read transaction and (through the same macro) for a
//! write transaction's own view.

use redb::{ReadOnlyTable, ReadableTable};
use tiprelay_proto::Digest;

use super::{fail, schema};
use crate::storage::{
    decode, FactsVisit, NoticeRecord, ReadTables, SeqVisit, StatementRecord, StoreError, TipRecord, Visit,
};

/// A consistent view of the committed store.
pub struct RedbRead {
    pub(super) tips: ReadOnlyTable<(&'static str, &'static [u8]), &'static [u8]>,
    pub(super) by_seq: ReadOnlyTable<(&'static str, &'static str, u64), &'static [u8]>,
    pub(super) dir_seq: ReadOnlyTable<(&'static str, &'static str), u64>,
    pub(super) cursor: ReadOnlyTable<(&'static str, &'static str), u64>,
    pub(super) above: ReadOnlyTable<(&'static str, &'static str, u64), u64>,
    pub(super) first_ack: ReadOnlyTable<(&'static str, &'static [u8]), u64>,
    pub(super) acked_at: ReadOnlyTable<(&'static str, &'static [u8]), u64>,
    pub(super) author_pending: ReadOnlyTable<&'static str, u64>,
    pub(super) notices: ReadOnlyTable<(&'static str, u64), &'static [u8]>,
    pub(super) feedback: ReadOnlyTable<(&'static str, &'static [u8]), &'static [u8]>,
    pub(super) statements: ReadOnlyTable<(&'static str, u64), &'static [u8]>,
    pub(super) statement_ids: ReadOnlyTable<(&'static str, &'static [u8]), u64>,
    pub(super) ledger: ReadOnlyTable<(u64, &'static str, &'static [u8]), &'static [u8]>,
    pub(super) events: ReadOnlyTable<u64, &'static [u8]>,
    pub(super) nodes: ReadOnlyTable<(u8, u64), &'static [u8]>,
    pub(super) checkpoints: ReadOnlyTable<u64, &'static [u8]>,
    pub(super) cosignatures: ReadOnlyTable<(u64, &'static str), &'static [u8]>,
    pub(super) meta: ReadOnlyTable<&'static str, u64>,
}

impl RedbRead {
    pub(super) fn open(r: &redb::ReadTransaction) -> Result<Self, StoreError> {
        Ok(schema::open_tables!(r, RedbRead))
    }
}

/// The reads, for any struct with the tables as fields.
macro_rules! impl_reads {
    ($ty:ty) => {
        impl ReadTables for $ty {
            fn tip(&self, from: &str, id: &[u8]) -> Result<Option<TipRecord>, StoreError> {
                self.tips.get((from, id)).map_err(fail)?.map(|g| decode(g.value())).transpose()
            }
            fn counter(&self, name: &str) -> Result<Option<u64>, StoreError> {
                Ok(self.meta.get(name).map_err(fail)?.map(|g| g.value()))
            }
            fn author_pending(&self, author: &str) -> Result<u64, StoreError> {
                Ok(self.author_pending.get(author).map_err(fail)?.map_or(0, |g| g.value()))
            }
            fn dir_seq(&self, from: &str, to: &str) -> Result<u64, StoreError> {
                Ok(self.dir_seq.get((from, to)).map_err(fail)?.map_or(0, |g| g.value()))
            }
            fn dir_seqs(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
                self.dir_seq
                    .iter()
                    .map_err(fail)?
                    .map(|i| i.map_err(fail).map(|(k, v)| (k.value().0.to_owned(), k.value().1.to_owned(), v.value())))
                    .collect()
            }
            fn seqs(&self, from: &str, to: &str, after: u64, f: SeqVisit<'_>) -> Result<(), StoreError> {
                if after == u64::MAX {
                    return Ok(());
                }
                for item in self.by_seq.range((from, to, after + 1)..=(from, to, u64::MAX)).map_err(fail)? {
                    let (k, id) = item.map_err(fail)?;
                    if !f(k.value().2, id.value())? {
                        break;
                    }
                }
                Ok(())
            }
            fn cursor(&self, principal: &str, from: &str) -> Result<u64, StoreError> {
                Ok(self.cursor.get((principal, from)).map_err(fail)?.map_or(0, |g| g.value()))
            }
            fn cursors_of(&self, from: &str, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
                let mut out = Vec::new();
                for item in self.cursor.range((prefix, "")..).map_err(fail)? {
                    let (k, c) = item.map_err(fail)?;
                    let (p, f) = k.value();
                    if !p.starts_with(prefix) {
                        break;
                    }
                    if f == from {
                        out.push((p.to_owned(), c.value()));
                    }
                }
                Ok(out)
            }
            fn acked_above(&self, principal: &str, from: &str, seq: u64) -> Result<bool, StoreError> {
                Ok(self.above.get((principal, from, seq)).map_err(fail)?.is_some())
            }
            fn first_ack(&self, from: &str, id: &[u8]) -> Result<Option<u64>, StoreError> {
                Ok(self.first_ack.get((from, id)).map_err(fail)?.map(|g| g.value()))
            }
            fn acked_before(&self, cutoff: u64, limit: usize) -> Result<Vec<(String, Vec<u8>, u64)>, StoreError> {
                let mut due = Vec::new();
                for item in self.acked_at.iter().map_err(fail)? {
                    let (k, v) = item.map_err(fail)?;
                    if v.value() < cutoff {
                        due.push((k.value().0.to_owned(), k.value().1.to_vec(), v.value()));
                        if due.len() >= limit {
                            break;
                        }
                    }
                }
                Ok(due)
            }
            fn facts(&self, accepted: u64, from: &str, id: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(self.ledger.get((accepted, from, id)).map_err(fail)?.map(|g| g.value().to_vec()))
            }
            fn facts_range(
                &self,
                start: (u64, &str, &[u8]),
                after: bool,
                until: u64,
                f: FactsVisit<'_>,
            ) -> Result<(), StoreError> {
                use std::ops::Bound;
                let lo = if after { Bound::Excluded(start) } else { Bound::Included(start) };
                let hi = Bound::Excluded((until, "", &[][..]));
                for item in self.ledger.range::<(u64, &str, &[u8])>((lo, hi)).map_err(fail)? {
                    let (k, v) = item.map_err(fail)?;
                    let (at, from, id) = k.value();
                    if !f(at, from, id, v.value())? {
                        break;
                    }
                }
                Ok(())
            }
            fn notices(&self, author: &str, after: u64, f: Visit<'_, (u64, NoticeRecord)>) -> Result<(), StoreError> {
                if after == u64::MAX {
                    return Ok(());
                }
                for item in self.notices.range((author, after + 1)..=(author, u64::MAX)).map_err(fail)? {
                    let (k, v) = item.map_err(fail)?;
                    if !f((k.value().1, decode(v.value())?))? {
                        break;
                    }
                }
                Ok(())
            }
            fn feedback_record(&self, to: &str, id: &[u8]) -> Result<Option<StatementRecord>, StoreError> {
                self.feedback.get((to, id)).map_err(fail)?.map(|g| decode(g.value())).transpose()
            }
            fn statement_index(&self, jurisdiction: &str, id: &[u8]) -> Result<Option<u64>, StoreError> {
                Ok(self.statement_ids.get((jurisdiction, id)).map_err(fail)?.map(|g| g.value()))
            }
            fn statements(&self, to: &str, after: u64, f: Visit<'_, (u64, StatementRecord)>) -> Result<(), StoreError> {
                if after == u64::MAX {
                    return Ok(());
                }
                for item in self.statements.range((to, after + 1)..=(to, u64::MAX)).map_err(fail)? {
                    let (k, v) = item.map_err(fail)?;
                    if !f((k.value().1, decode(v.value())?))? {
                        break;
                    }
                }
                Ok(())
            }
            fn statement(&self, to: &str, index: u64) -> Result<Option<StatementRecord>, StoreError> {
                self.statements.get((to, index)).map_err(fail)?.map(|g| decode(g.value())).transpose()
            }
            fn audit_entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(self.events.get(index).map_err(fail)?.map(|g| g.value().to_vec()))
            }
            fn audit_node(&self, level: u8, index: u64) -> Result<Option<Digest>, StoreError> {
                match self.nodes.get((level, index)).map_err(fail)? {
                    None => Ok(None),
                    Some(g) => <[u8; 32]>::try_from(g.value())
                        .map(|d| Some(Digest(d)))
                        .map_err(|_| StoreError::Corrupt(format!("Merkle node ({level}, {index}) is not 32 bytes"))),
                }
            }
            fn last_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
                Ok(self.checkpoints.last().map_err(fail)?.map(|(k, v)| (k.value(), v.value().to_vec())))
            }
            fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(self.checkpoints.get(size).map_err(fail)?.map(|g| g.value().to_vec()))
            }
            fn checkpoint_sizes(&self, lo: u64, hi: u64, f: Visit<'_, u64>) -> Result<(), StoreError> {
                if lo > hi {
                    return Ok(());
                }
                for item in self.checkpoints.range(lo..=hi).map_err(fail)? {
                    if !f(item.map_err(fail)?.0.value())? {
                        break;
                    }
                }
                Ok(())
            }
            fn cosignatures(&self, size: u64) -> Result<Vec<Vec<u8>>, StoreError> {
                let mut out = Vec::new();
                for item in self.cosignatures.range((size, "")..).map_err(fail)? {
                    let (k, v) = item.map_err(fail)?;
                    if k.value().0 != size {
                        break;
                    }
                    out.push(v.value().to_vec());
                }
                Ok(out)
            }
            fn cosigned(&self, size: u64, by: &str) -> Result<bool, StoreError> {
                Ok(self.cosignatures.get((size, by)).map_err(fail)?.is_some())
            }
        }
    };
}
pub(super) use impl_reads;

impl_reads!(RedbRead);
