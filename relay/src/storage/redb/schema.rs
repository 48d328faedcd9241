//! The redb schema of the relay's store: one table per record kind (keys → values).
//!
//! | table | key | value |
//! |---|---|---|
//! | `tips` | (from, id) | [`TipRecord`](crate::storage::TipRecord) (CBOR): envelope, receipt, digest, seq, metadata |
//! | `by_seq` | (from, to, seq) | id: the gap-free sequence of each direction |
//! | `dir_seq` | (from, to) | last seq |
//! | `cursor` | (principal, from) | highest seq such that the principal acked every seq ≤ it |
//! | `acked_above` | (principal, from, seq) | time: acks above the cursor (out of order) |
//! | `first_ack` | (from, id) | notice index of the tip's first acknowledgement |
//! | `acked_at` | (from, id) | time of the first ack, until retention purges the body |
//! | `author_pending` | author | bytes of its tips not yet acknowledged (the pending quota) |
//! | `notices` | (author, index) | first acks and feedback for the tip's author |
//! | `feedback` | (recipient jurisdiction, feedback id) | digest and receipt |
//! | `statements` | (addressee, index) | ledger statement, digest and receipt |
//! | `statement_ids` | (jurisdiction, statement id) | statement index (deduplication) |
//! | `ledger` | (accepted ms, from, id) | packed [`TipFacts`](tiprelay_proto::TipFacts): a ledger over a period is one range scan |
//! | `audit_entries` | index | canonical audit entry (PROTOCOL §13.1) |
//! | `audit_nodes` | (level, index) | every completed Merkle node of the audit log |
//! | `checkpoints` | size | signed checkpoint |
//! | `cosignatures` | (size, cosigner) | cosignature envelope |
//! | `meta` | name | counters: `next_event`, `next_ack`, `next_statement`, per-direction feedback and statement seqs, CRL-number floors |

use redb::TableDefinition;
use tiprelay_common::auditlog;

pub(super) const TIPS: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("tips");
pub(super) const BY_SEQ: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("by_seq");
pub(super) const DIR_SEQ: TableDefinition<(&str, &str), u64> = TableDefinition::new("dir_seq");
pub(super) const CURSOR: TableDefinition<(&str, &str), u64> = TableDefinition::new("cursor");
pub(super) const ACKED_ABOVE: TableDefinition<(&str, &str, u64), u64> = TableDefinition::new("acked_above");
pub(super) const FIRST_ACK: TableDefinition<(&str, &[u8]), u64> = TableDefinition::new("first_ack");
pub(super) const ACKED_AT: TableDefinition<(&str, &[u8]), u64> = TableDefinition::new("acked_at");
pub(super) const AUTHOR_PENDING: TableDefinition<&str, u64> = TableDefinition::new("author_pending");
pub(super) const NOTICES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("notices");
pub(super) const FEEDBACK: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("feedback");
pub(super) const STATEMENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("statements");
pub(super) const STATEMENT_IDS: TableDefinition<(&str, &[u8]), u64> = TableDefinition::new("statement_ids");
pub(super) const LEDGER: TableDefinition<(u64, &str, &[u8]), &[u8]> = TableDefinition::new("ledger");
pub(super) const EVENTS: TableDefinition<u64, &[u8]> = auditlog::ENTRIES;
pub(super) const AUDIT_NODES: TableDefinition<(u8, u64), &[u8]> = auditlog::NODES;
pub(super) const CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("checkpoints");
pub(super) const COSIGNATURES: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("cosignatures");
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Every table, opened from a transaction (`open_table` creates it in a write transaction).
macro_rules! open_tables {
    ($txn:expr, $ty:ident) => {
        $ty {
            tips: $txn.open_table(schema::TIPS).map_err(fail)?,
            by_seq: $txn.open_table(schema::BY_SEQ).map_err(fail)?,
            dir_seq: $txn.open_table(schema::DIR_SEQ).map_err(fail)?,
            cursor: $txn.open_table(schema::CURSOR).map_err(fail)?,
            above: $txn.open_table(schema::ACKED_ABOVE).map_err(fail)?,
            first_ack: $txn.open_table(schema::FIRST_ACK).map_err(fail)?,
            acked_at: $txn.open_table(schema::ACKED_AT).map_err(fail)?,
            author_pending: $txn.open_table(schema::AUTHOR_PENDING).map_err(fail)?,
            notices: $txn.open_table(schema::NOTICES).map_err(fail)?,
            feedback: $txn.open_table(schema::FEEDBACK).map_err(fail)?,
            statements: $txn.open_table(schema::STATEMENTS).map_err(fail)?,
            statement_ids: $txn.open_table(schema::STATEMENT_IDS).map_err(fail)?,
            ledger: $txn.open_table(schema::LEDGER).map_err(fail)?,
            events: $txn.open_table(schema::EVENTS).map_err(fail)?,
            nodes: $txn.open_table(schema::AUDIT_NODES).map_err(fail)?,
            checkpoints: $txn.open_table(schema::CHECKPOINTS).map_err(fail)?,
            cosignatures: $txn.open_table(schema::COSIGNATURES).map_err(fail)?,
            meta: $txn.open_table(schema::META).map_err(fail)?,
        }
    };
}
pub(super) use open_tables;
