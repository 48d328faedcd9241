//! [`WriteTables`] on redb: one write transaction with every table open.

use redb::{ReadableTable, Table};
use tiprelay_proto::Digest;

use super::read::impl_reads;
use super::{fail, schema};
use crate::storage::{
    decode, encode, FactsVisit, NoticeRecord, ReadTables, SeqVisit, StatementRecord, StoreError, TipRecord, Visit,
    WriteTables,
};

/// A write transaction's tables.
pub struct RedbWrite<'t> {
    pub(super) tips: Table<'t, (&'static str, &'static [u8]), &'static [u8]>,
    pub(super) by_seq: Table<'t, (&'static str, &'static str, u64), &'static [u8]>,
    pub(super) dir_seq: Table<'t, (&'static str, &'static str), u64>,
    pub(super) cursor: Table<'t, (&'static str, &'static str), u64>,
    pub(super) above: Table<'t, (&'static str, &'static str, u64), u64>,
    pub(super) first_ack: Table<'t, (&'static str, &'static [u8]), u64>,
    pub(super) acked_at: Table<'t, (&'static str, &'static [u8]), u64>,
    pub(super) author_pending: Table<'t, &'static str, u64>,
    pub(super) notices: Table<'t, (&'static str, u64), &'static [u8]>,
    pub(super) feedback: Table<'t, (&'static str, &'static [u8]), &'static [u8]>,
    pub(super) statements: Table<'t, (&'static str, u64), &'static [u8]>,
    pub(super) statement_ids: Table<'t, (&'static str, &'static [u8]), u64>,
    pub(super) ledger: Table<'t, (u64, &'static str, &'static [u8]), &'static [u8]>,
    pub(super) events: Table<'t, u64, &'static [u8]>,
    pub(super) nodes: Table<'t, (u8, u64), &'static [u8]>,
    pub(super) checkpoints: Table<'t, u64, &'static [u8]>,
    pub(super) cosignatures: Table<'t, (u64, &'static str), &'static [u8]>,
    pub(super) meta: Table<'t, &'static str, u64>,
}

impl<'t> RedbWrite<'t> {
    pub(super) fn open(w: &'t redb::WriteTransaction) -> Result<Self, StoreError> {
        Ok(schema::open_tables!(w, RedbWrite))
    }
}

impl_reads!(RedbWrite<'_>);

impl WriteTables for RedbWrite<'_> {
    fn put_tip(&mut self, from: &str, id: &[u8], rec: &TipRecord) -> Result<(), StoreError> {
        self.tips.insert((from, id), encode(rec)?.as_slice()).map_err(fail)?;
        Ok(())
    }
    fn set_counter(&mut self, name: &str, value: u64) -> Result<(), StoreError> {
        self.meta.insert(name, value).map_err(fail)?;
        Ok(())
    }
    fn set_author_pending(&mut self, author: &str, bytes: u64) -> Result<(), StoreError> {
        self.author_pending.insert(author, bytes).map_err(fail)?;
        Ok(())
    }
    fn set_dir_seq(&mut self, from: &str, to: &str, seq: u64) -> Result<(), StoreError> {
        self.dir_seq.insert((from, to), seq).map_err(fail)?;
        Ok(())
    }
    fn put_seq(&mut self, from: &str, to: &str, seq: u64, id: &[u8]) -> Result<(), StoreError> {
        self.by_seq.insert((from, to, seq), id).map_err(fail)?;
        Ok(())
    }
    fn set_cursor(&mut self, principal: &str, from: &str, cursor: u64) -> Result<(), StoreError> {
        self.cursor.insert((principal, from), cursor).map_err(fail)?;
        Ok(())
    }
    fn put_acked_above(&mut self, principal: &str, from: &str, seq: u64, at: u64) -> Result<(), StoreError> {
        self.above.insert((principal, from, seq), at).map_err(fail)?;
        Ok(())
    }
    fn take_acked_above(&mut self, principal: &str, from: &str, seq: u64) -> Result<bool, StoreError> {
        Ok(self.above.remove((principal, from, seq)).map_err(fail)?.is_some())
    }
    fn put_first_ack(&mut self, from: &str, id: &[u8], index: u64, at: u64) -> Result<(), StoreError> {
        self.first_ack.insert((from, id), index).map_err(fail)?;
        self.acked_at.insert((from, id), at).map_err(fail)?;
        Ok(())
    }
    fn forget_acked_at(&mut self, from: &str, id: &[u8]) -> Result<(), StoreError> {
        self.acked_at.remove((from, id)).map_err(fail)?;
        Ok(())
    }
    fn put_notice(&mut self, author: &str, index: u64, n: &NoticeRecord) -> Result<(), StoreError> {
        self.notices.insert((author, index), encode(n)?.as_slice()).map_err(fail)?;
        Ok(())
    }
    fn put_feedback(&mut self, to: &str, id: &[u8], rec: &StatementRecord) -> Result<(), StoreError> {
        self.feedback.insert((to, id), encode(rec)?.as_slice()).map_err(fail)?;
        Ok(())
    }
    fn put_statement(
        &mut self,
        jurisdiction: &str,
        id: &[u8],
        to: &str,
        index: u64,
        rec: &StatementRecord,
    ) -> Result<(), StoreError> {
        self.statements.insert((to, index), encode(rec)?.as_slice()).map_err(fail)?;
        self.statement_ids.insert((jurisdiction, id), index).map_err(fail)?;
        Ok(())
    }
    fn put_facts(&mut self, accepted: u64, from: &str, id: &[u8], packed: &[u8]) -> Result<(), StoreError> {
        self.ledger.insert((accepted, from, id), packed).map_err(fail)?;
        Ok(())
    }
    fn put_audit_entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.events.insert(index, bytes).map_err(fail)?;
        Ok(())
    }
    fn put_audit_node(&mut self, level: u8, index: u64, digest: &Digest) -> Result<(), StoreError> {
        self.nodes.insert((level, index), digest.0.as_slice()).map_err(fail)?;
        Ok(())
    }
    fn put_checkpoint(&mut self, size: u64, envelope: &[u8]) -> Result<(), StoreError> {
        self.checkpoints.insert(size, envelope).map_err(fail)?;
        Ok(())
    }
    fn put_cosignature(&mut self, size: u64, by: &str, envelope: &[u8]) -> Result<(), StoreError> {
        self.cosignatures.insert((size, by), envelope).map_err(fail)?;
        Ok(())
    }
}
