//! The relay's reads, written once against [`ReadTables`]: fetch, notices, statements,
//! ledger facts and ledgers, the audit log's head, proofs and export.

use tiprelay_proto::audit::SignedCheckpoint;
use tiprelay_proto::wire::{Delivery, ForwardedStatement, Notice, NoticeBody};
use tiprelay_proto::{merkle, Checkpoint, Digest, Jurisdiction, RecordCursor, Timestamp, TipFacts, TipId};

use super::apply::LogView;
use super::counters::NEXT_EVENT;
use super::{now, Event, ReadTables, StoreError, TipKey};
use crate::core::{audit as rules, delivery};
use tiprelay_common::auditlog::{self, Nodes};

fn tip_id(id: &[u8]) -> Result<([u8; 16], TipId), StoreError> {
    let key: [u8; 16] = id.try_into().map_err(|_| StoreError::Corrupt("a tip key is not 16 bytes".into()))?;
    let tid = TipId::from_bytes(key).map_err(|_| StoreError::Corrupt("a tip key is not a UUIDv7".into()))?;
    Ok((key, tid))
}

/// Tips for `principal` (of jurisdiction `to`) not yet acked by it, from `froms`, in
/// (from, seq) order, at most `limit` and within the answer budget; with the keys of those
/// not yet marked delivered.
pub fn fetch(
    r: &dyn ReadTables,
    principal: &str,
    to: Jurisdiction,
    froms: &[Jurisdiction],
    limit: usize,
) -> Result<(Vec<Delivery>, Vec<TipKey>), StoreError> {
    let mut out = Vec::new();
    let mut fresh = Vec::new();
    let mut bytes = 0usize;
    let mut full = false;
    for from in froms {
        if full {
            break;
        }
        let f = from.as_str();
        let c = r.cursor(principal, f)?;
        r.seqs(f, to.as_str(), c, &mut |seq, id| {
            if !delivery::waiting(c, seq, r.acked_above(principal, f, seq)?) {
                return Ok(true);
            }
            let Some(rec) = r.tip(f, id)? else {
                return Ok(true);
            };
            let Some(envelope) = rec.envelope else {
                return Ok(true);
            };
            let size = envelope.len() + rec.receipt.len() + 16;
            if !delivery::fits(out.len(), bytes, size, limit) {
                full = true;
                return Ok(false);
            }
            bytes += size;
            let (key, tid) = tip_id(id)?;
            let marked = r
                .facts(rec.accepted, f, id)?
                .is_some_and(|b| TipFacts::unpack(*from, tid, &b).is_ok_and(|x| x.delivered.is_some()));
            if !marked {
                fresh.push((*from, key));
            }
            out.push(Delivery { tip: envelope, receipt: rec.receipt });
            Ok(true)
        })?;
    }
    Ok((out, fresh))
}

/// Number of tips waiting for `principal`, counted up to `cap`.
pub fn waiting(
    r: &dyn ReadTables,
    principal: &str,
    to: Jurisdiction,
    froms: &[Jurisdiction],
    cap: usize,
) -> Result<usize, StoreError> {
    let mut n = 0;
    for from in froms {
        let f = from.as_str();
        let c = r.cursor(principal, f)?;
        r.seqs(f, to.as_str(), c, &mut |seq, _| {
            if delivery::waiting(c, seq, r.acked_above(principal, f, seq)?) {
                n += 1;
            }
            Ok(n < cap)
        })?;
        if n >= cap {
            break;
        }
    }
    Ok(n)
}

/// Tips not yet acknowledged by anyone, per recipient jurisdiction (a scan, once at start).
pub fn pending_per_recipient(r: &dyn ReadTables) -> Result<Vec<(String, i64)>, StoreError> {
    let mut counts: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (from, to, _) in r.dir_seqs()? {
        let mut n = 0i64;
        r.seqs(&from, &to, 0, &mut |_, id| {
            if r.first_ack(&from, id)?.is_none() {
                n += 1;
            }
            Ok(true)
        })?;
        *counts.entry(to).or_insert(0) += n;
    }
    Ok(counts.into_iter().collect())
}

/// Notices (first acks, feedback) about tips written by `author`, after index `after`.
pub fn notices(r: &dyn ReadTables, author: &str, after: u64, limit: usize) -> Result<Vec<Notice>, StoreError> {
    // At least one, as `fetch` and `statements` answer.
    let limit = limit.max(1);
    let mut out = Vec::new();
    let mut bytes = 0usize;
    r.notices(author, after, &mut |(index, n)| {
        // Feedback notices carry two envelopes: stay well under the 1 MiB frame.
        let size = n.envelope.len() + n.receipt.as_ref().map_or(0, Vec::len) + 16;
        if !delivery::fits(out.len(), bytes, size, limit) {
            return Ok(false);
        }
        bytes += size;
        let body = match (n.receipt, n.crossed) {
            (_, true) => NoticeBody::Crossed(n.envelope),
            (None, false) => NoticeBody::Ack(n.envelope),
            (Some(receipt), false) => NoticeBody::Feedback { feedback: n.envelope, receipt },
        };
        out.push(Notice { index, body });
        Ok(true)
    })?;
    Ok(out)
}

/// Federation: the tips of direction `from → to` after the link's cursor, in sequence
/// order, each with its envelope and this relay's receipt: at most `limit` and about
/// `max_bytes` (at least one).
pub fn link_queue(
    r: &dyn ReadTables,
    from: Jurisdiction,
    to: Jurisdiction,
    limit: usize,
    max_bytes: usize,
) -> Result<Vec<(u64, tiprelay_proto::wire::ForwardedTip)>, StoreError> {
    let (f, t) = (from.as_str(), to.as_str());
    let cursor = r.counter(&super::counters::link_tips(f, t))?.unwrap_or(0);
    let mut ids = Vec::new();
    r.seqs(f, t, cursor, &mut |seq, id| {
        ids.push((seq, id.to_vec()));
        Ok(ids.len() < limit)
    })?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for (seq, id) in ids {
        let rec = r.tip(f, &id)?.ok_or_else(|| StoreError::Corrupt(format!("{f} → {t} number {seq} has no tip")))?;
        let envelope = rec.envelope.ok_or_else(|| {
            StoreError::Corrupt(format!("{f} → {t} number {seq} lost its body before it crossed the link"))
        })?;
        let size = envelope.len() + rec.receipt.len() + 16;
        if !out.is_empty() && bytes + size > max_bytes {
            break;
        }
        bytes += size;
        out.push((seq, tiprelay_proto::wire::ForwardedTip { tip: envelope, receipt: rec.receipt }));
    }
    Ok(out)
}

/// The state of a federated relay's link to `peer`, as its store shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkStatus {
    /// The peer's jurisdiction.
    pub peer: String,
    /// Tips accepted here for the peer's jurisdiction (the last home number).
    pub tips_accepted_for_peer: u64,
    /// The last home number the peer relay receipted (every lower one too).
    pub tips_crossed: u64,
    /// Tips waiting for the link (`accepted - crossed`).
    pub tips_queued: u64,
    /// When the oldest queued tip was accepted (ms), if any.
    pub oldest_queued_accepted_ms: Option<u64>,
    /// Acks and feedback of this side on the peer's tips, waiting for the link (counted
    /// up to 10,000).
    pub notices_queued: u64,
    /// Ledger statements of this side for the peer, waiting for the link (counted up to
    /// 10,000).
    pub statements_queued: u64,
    /// Tips received over the link from the peer's relay (the last number).
    pub tips_received: u64,
}

/// The link's state to `peer` (see [`LinkStatus`]).
pub fn link_status(r: &dyn ReadTables, home: Jurisdiction, peer: Jurisdiction) -> Result<LinkStatus, StoreError> {
    use super::counters::{link_notices, link_statements, link_tips};
    let (h, p) = (home.as_str(), peer.as_str());
    let accepted = r.dir_seq(h, p)?;
    let crossed = r.counter(&link_tips(h, p))?.unwrap_or(0);
    let mut oldest = None;
    let mut first = None;
    r.seqs(h, p, crossed, &mut |_, id| {
        first = Some(id.to_vec());
        Ok(false)
    })?;
    if let Some(id) = first {
        oldest = r.tip(h, &id)?.map(|rec| rec.accepted);
    }
    const CAP: u64 = 10_000;
    let mut notices_queued = 0u64;
    let after = r.counter(&link_notices(p))?.unwrap_or(0);
    r.notices(&super::link_key(p), after, &mut |_| {
        notices_queued += 1;
        Ok(notices_queued < CAP)
    })?;
    let mut statements_queued = 0u64;
    let after = r.counter(&link_statements(p))?.unwrap_or(0);
    r.statements(p, after, &mut |_| {
        statements_queued += 1;
        Ok(statements_queued < CAP)
    })?;
    Ok(LinkStatus {
        peer: p.to_owned(),
        tips_accepted_for_peer: accepted,
        tips_crossed: crossed,
        tips_queued: accepted.saturating_sub(crossed),
        oldest_queued_accepted_ms: oldest,
        notices_queued,
        statements_queued,
        tips_received: r.dir_seq(p, h)?,
    })
}

/// Statements addressed to `to`, after index `after`.
pub fn statements(
    r: &dyn ReadTables,
    to: Jurisdiction,
    after: u64,
    limit: usize,
) -> Result<Vec<ForwardedStatement>, StoreError> {
    let mut out = Vec::new();
    r.statements(to.as_str(), after, &mut |(index, s)| {
        out.push(ForwardedStatement { index, statement: s.envelope, receipt: s.receipt });
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

/// A query of the relay's per-tip ledger facts.
#[derive(Debug, Clone)]
pub struct RecordQuery {
    /// Accepted at or after (ms).
    pub since: u64,
    /// Accepted before (ms).
    pub until: u64,
    /// Resume after this item.
    pub after: Option<RecordCursor>,
    /// Only tips from or to this jurisdiction (None: all).
    pub party: Option<Jurisdiction>,
    /// At most this many.
    pub limit: usize,
}

/// Whether packed facts (from their third byte: the `to` length-prefixed string) name `j`.
fn to_is(b: &[u8], j: Jurisdiction) -> bool {
    let s = j.as_str().as_bytes();
    b.first().is_some_and(|n| usize::from(*n) == s.len()) && b.get(1..1 + s.len()) == Some(s)
}

fn unpack(from: &str, id: &[u8], packed: &[u8]) -> Result<TipFacts, StoreError> {
    let from: Jurisdiction =
        from.parse().map_err(|_| StoreError::Corrupt("a ledger key names no jurisdiction".into()))?;
    let (_, id) = tip_id(id)?;
    TipFacts::unpack(from, id, packed).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Ledger facts of tips accepted in `[since, until)`, in (accepted, from, id) order, at most
/// `limit`; the cursor to resume from when the limit was reached.
pub fn records(r: &dyn ReadTables, q: &RecordQuery) -> Result<(Vec<TipFacts>, Option<RecordCursor>), StoreError> {
    let after_from = q.after.as_ref().map(|a| a.from.as_str().to_owned()).unwrap_or_default();
    let after_id = q.after.as_ref().map(|a| a.id.as_bytes().to_vec()).unwrap_or_default();
    let start = match &q.after {
        Some(a) => (a.accepted, after_from.as_str(), after_id.as_slice()),
        None => (q.since, "", &[][..]),
    };
    let mut out = Vec::new();
    let mut next = None;
    r.facts_range(start, q.after.is_some(), q.until, &mut |_, from, id, packed| {
        if let Some(p) = q.party {
            if p.as_str() != from && !packed.get(2..).is_some_and(|b| to_is(b, p)) {
                return Ok(true);
            }
        }
        out.push(unpack(from, id, packed)?);
        if out.len() >= q.limit {
            next = out.last().map(|f: &TipFacts| RecordCursor {
                accepted: f.accepted.map_or(0, Timestamp::as_unix_ms),
                from: f.from,
                id: f.id,
            });
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok((out, next))
}

/// The relay's ledger over `range`: one streaming pass over the ledger facts.
pub fn ledger(
    r: &dyn ReadTables,
    period: tiprelay_common::ledger::Period,
    range: tiprelay_common::ledger::Range,
) -> Result<tiprelay_common::ledger::Ledger, StoreError> {
    let mut agg = tiprelay_common::ledger::Aggregator::new(period, range);
    r.facts_range((range.start.as_unix_ms(), "", &[]), false, range.end.as_unix_ms(), &mut |_, from, id, packed| {
        agg.add(&unpack(from, id, packed)?);
        Ok(true)
    })?;
    Ok(agg.finish("relay"))
}

/// Every audit entry, in order.
pub fn events(r: &dyn ReadTables) -> Result<Vec<Event>, StoreError> {
    let n = r.counter(NEXT_EVENT)?.unwrap_or(0);
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(1 << 20));
    for i in 0..n {
        #[cfg(feature = "bench-no-audit")]
        if !super::writer::bench::audit_enabled() {
            break;
        }
        let b = r.audit_entry(i)?.ok_or_else(|| StoreError::Corrupt(format!("audit entry {i} is missing")))?;
        out.push(Event::decode(&b).map_err(|e| StoreError::Corrupt(format!("audit entry {i}: {e}")))?);
    }
    Ok(out)
}

/// The newest checkpoint with its cosignatures.
pub fn audit_head(r: &dyn ReadTables) -> Result<Option<SignedCheckpoint>, StoreError> {
    let Some((size, env)) = r.last_checkpoint()? else {
        return Ok(None);
    };
    Ok(Some(SignedCheckpoint { checkpoint: env, cosignatures: r.cosignatures(size)? }))
}

/// An inclusion proof of entry `index` in the tree of `size` entries, with the entry.
pub fn inclusion(r: &dyn ReadTables, index: u64, size: u64) -> Result<(Vec<u8>, Vec<Digest>), StoreError> {
    rules::inclusion_in_range(index, size, r.counter(NEXT_EVENT)?.unwrap_or(0))?;
    let entry = r.audit_entry(index)?.unwrap_or_default();
    let proof =
        merkle::inclusion_proof(&Nodes(&LogView(r)), index, size).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((entry, proof))
}

/// A consistency proof between tree sizes `old` and `new`.
pub fn consistency(r: &dyn ReadTables, old: u64, new: u64) -> Result<Vec<Digest>, StoreError> {
    rules::consistency_in_range(old, new, r.counter(NEXT_EVENT)?.unwrap_or(0))?;
    merkle::consistency_proof(&Nodes(&LogView(r)), old, new).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// What `tiprelay audit export` selects.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportRange {
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
    /// Most checkpoints in the header (None: [`crate::core::export::MAX_BUNDLE_CHECKPOINTS`]).
    pub max_checkpoints: Option<usize>,
}

/// Writes an audit bundle to `w`: the entries in the range (a contiguous index range, from
/// the first entry at or after `since` to the first checkpoint at or after `until`, so its
/// end is signed), the compact tree of everything before, a bounded number of checkpoints
/// within with their cosignatures, and `anchors`.
pub fn export_bundle(
    r: &dyn ReadTables,
    range: ExportRange,
    anchors: Vec<tiprelay_proto::audit::Anchor>,
    w: &mut dyn std::io::Write,
) -> Result<tiprelay_proto::audit::BundleHeader, StoreError> {
    let Some((head, head_env)) = r.last_checkpoint()? else {
        return Err(StoreError::Unusable(tiprelay_common::localize::Msg::new("relay-store-no-checkpoint")));
    };
    let log =
        tiprelay_proto::parse::<Checkpoint>(&head_env).map_err(|e| StoreError::Corrupt(e.to_string()))?.message.log;
    // Entries are appended in time order: binary search by time.
    let time_of = |i: u64| -> Result<u64, StoreError> {
        let b = r.audit_entry(i)?.ok_or_else(|| StoreError::Corrupt(format!("audit entry {i} is missing")))?;
        Event::decode(&b).map(|e| e.time).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    let first_at_or_after = |t: Timestamp, lo: u64| -> Result<u64, StoreError> {
        let (mut lo, mut hi) = (lo, head);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if time_of(mid)? < t.as_unix_ms() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    };
    let mut first = match range.since {
        Some(s) => first_at_or_after(s, 0)?,
        None => 0,
    };
    let end = match range.until {
        Some(u) => {
            let stop = first_at_or_after(u, first)?;
            // Extend to the first checkpoint at or after that point, so the end is signed.
            let mut next = None;
            r.checkpoint_sizes(stop.max(first + 1), u64::MAX, &mut |s| {
                next = Some(s);
                Ok(false)
            })?;
            next.unwrap_or(head)
        }
        None => head,
    };
    if first >= end {
        first = end.saturating_sub(1);
    }
    // The header carries a bounded number of checkpoints, whatever the history's length.
    let mut sizes = Vec::new();
    r.checkpoint_sizes(first + 1, end, &mut |s| {
        sizes.push(s);
        Ok(true)
    })?;
    let mut candidates = Vec::with_capacity(sizes.len());
    for size in sizes {
        candidates.push((size, r.cosignatures(size)?.len()));
    }
    let max = range.max_checkpoints.unwrap_or(crate::core::export::MAX_BUNDLE_CHECKPOINTS);
    let picked = crate::core::export::thin_checkpoints(&candidates, first, end, max);
    drop(candidates);
    let mut checkpoints = Vec::with_capacity(picked.len());
    for size in picked {
        let v = r.checkpoint(size)?.ok_or_else(|| StoreError::Corrupt(format!("checkpoint {size} is missing")))?;
        checkpoints.push(SignedCheckpoint { checkpoint: v, cosignatures: r.cosignatures(size)? });
    }
    let header = tiprelay_proto::audit::BundleHeader {
        log,
        created: now(),
        first,
        count: end - first,
        prefix: auditlog::prefix(&LogView(r), first)?,
        checkpoints,
        anchors,
        since: range.since,
        until: range.until,
    };
    let view = LogView(r);
    let items = auditlog::bundle_items(&view, first, end);
    tiprelay_proto::audit::write_bundle(&mut &mut *w, &header, items).map_err(StoreError::io)?;
    Ok(header)
}
