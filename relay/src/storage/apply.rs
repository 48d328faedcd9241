//! The relay's write transactions other than tip acceptance (which the writer's preparer
//! decides, see [`super::writer`]): acks, feedback, statements, first deliveries, retention,
//! checkpoints and cosignatures, and the audit log they append to. Written once against
//! [`WriteTables`]; the rules themselves are in [`crate::core`].

use tiprelay_common::auditlog;
use tiprelay_proto::audit::SignedCheckpoint;
use tiprelay_proto::{
    Checkpoint, Cosignature, DeliveryAck, Digest, Feedback, Jurisdiction, LedgerStatement, Signer, Subject, Timestamp,
    TipFacts, TipId,
};

use super::counters::{NEXT_ACK, NEXT_EVENT, NEXT_STATEMENT};
use super::{Event, NoticeRecord, ReadTables, StatementRecord, StoreError, Submitted, TipKey, TipRecord, WriteTables};
use crate::core::{audit as rules, delivery, tips};

/// What one transaction did, applied to the metrics only once it is durable.
#[derive(Default, Debug)]
pub struct Tally {
    /// Audit entries appended.
    pub appended: u64,
    /// (from, to) of each newly accepted tip.
    pub accepted: Vec<(String, String)>,
    /// (from, to) of each first delivery.
    pub delivered: Vec<(String, String)>,
    /// `to` of each first acknowledgement.
    pub acked: Vec<String>,
}

/// Increments a counter; returns its value before.
pub fn next(t: &mut dyn WriteTables, counter: &str) -> Result<u64, StoreError> {
    let n = t.counter(counter)?.unwrap_or(0);
    t.set_counter(counter, n + 1)?;
    Ok(n)
}

/// Raises a counter to at least `v`.
pub fn raise(t: &mut dyn WriteTables, key: &str, v: u64) -> Result<(), StoreError> {
    if t.counter(key)?.is_none_or(|o| v > o) {
        t.set_counter(key, v)?;
    }
    Ok(())
}

/// The canonical bytes of an audit entry at `index` (see [`auditlog::entry_bytes`]).
pub fn entry_bytes(e: &Event, index: u64) -> Vec<u8> {
    auditlog::entry_bytes(e, index)
}

/// The audit log of a store, as the shared log code sees it.
pub struct Log<'a, T: ?Sized>(pub &'a mut T);

/// The audit log of a read view.
pub struct LogView<'a, T: ?Sized>(pub &'a T);

impl From<auditlog::LogError> for StoreError {
    fn from(e: auditlog::LogError) -> Self {
        StoreError::Corrupt(e.0)
    }
}

impl<T: ReadTables + ?Sized> auditlog::LogRead for LogView<'_, T> {
    type Error = StoreError;
    fn node(&self, level: u8, index: u64) -> Result<Option<Digest>, StoreError> {
        self.0.audit_node(level, index)
    }
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.audit_entry(index)
    }
}

impl<T: WriteTables + ?Sized> auditlog::LogRead for Log<'_, T> {
    type Error = StoreError;
    fn node(&self, level: u8, index: u64) -> Result<Option<Digest>, StoreError> {
        self.0.audit_node(level, index)
    }
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.audit_entry(index)
    }
}

impl<T: WriteTables + ?Sized> auditlog::LogWrite for Log<'_, T> {
    fn put_entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.0.put_audit_entry(index, bytes)
    }
    fn put_node(&mut self, level: u8, index: u64, digest: &Digest) -> Result<(), StoreError> {
        self.0.put_audit_node(level, index, digest)
    }
}

/// Stores entry `index` and its Merkle leaf, and completes every node it finishes.
pub fn put_leaf(t: &mut dyn WriteTables, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
    #[cfg(feature = "bench-no-audit")]
    if !super::writer::bench::audit_enabled() {
        return Ok(());
    }
    auditlog::append_bytes(&mut Log(t), index, bytes)
}

/// Appends an audit entry at the next index; returns the index.
pub fn append_event(t: &mut dyn WriteTables, tally: &mut Tally, e: &Event) -> Result<u64, StoreError> {
    let i = next(t, NEXT_EVENT)?;
    put_leaf(t, i, &entry_bytes(e, i))?;
    tally.appended += 1;
    Ok(i)
}

/// The cosignatures of a checkpoint with it.
fn signed(t: &dyn WriteTables, size: u64, env: Vec<u8>) -> Result<SignedCheckpoint, StoreError> {
    Ok(SignedCheckpoint { checkpoint: env, cosignatures: t.cosignatures(size)? })
}

/// Signs a checkpoint of the current log if it grew by at least `min_new` entries since
/// the last one; returns the newest checkpoint.
pub fn checkpoint(
    t: &mut dyn WriteTables,
    signer: &Signer,
    min_new: u64,
    at: Timestamp,
) -> Result<Option<SignedCheckpoint>, StoreError> {
    #[cfg(feature = "bench-no-audit")]
    if !super::writer::bench::audit_enabled() {
        return Ok(None);
    }
    let size = t.counter(NEXT_EVENT)?.unwrap_or(0);
    let last = t.last_checkpoint()?;
    if !rules::checkpoint_due(size, last.as_ref().map_or(0, |l| l.0), min_new) {
        return match last {
            Some((k, v)) => Ok(Some(signed(t, k, v)?)),
            None => Ok(None),
        };
    }
    let root = auditlog::root(&LogView(&*t), size)?;
    let cp = Checkpoint { log: signer.identity().to_string(), size, root, time: at, relay: signer.identity().clone() };
    let env = signer.sign(&cp).map_err(|e| StoreError::Failed(format!("cannot sign the checkpoint: {e}")))?;
    t.put_checkpoint(size, &env)?;
    Ok(Some(SignedCheckpoint { checkpoint: env, cosignatures: Vec::new() }))
}

/// Stores a cosignature of a checkpoint the relay signed (idempotent per cosigner and size).
pub fn cosign(t: &mut dyn WriteTables, cs: &Cosignature, envelope: &[u8]) -> Result<(), StoreError> {
    let cp = match t.checkpoint(cs.size)? {
        Some(env) => {
            Some(tiprelay_proto::parse::<Checkpoint>(&env).map_err(|e| StoreError::Corrupt(e.to_string()))?.message)
        }
        None => None,
    };
    rules::cosignature_fits(cp.as_ref(), cs)?;
    let by = cs.by.to_string();
    if t.cosigned(cs.size, &by)? {
        return Ok(());
    }
    // Not logged as an entry: a cosignature is a signed artifact of its own (exported with
    // its checkpoint), and logging it would move the log past the checkpoint that the
    // other jurisdiction is about to cosign.
    t.put_cosignature(cs.size, &by, envelope)
}

/// Rewrites one tip's ledger facts.
fn update_facts(
    t: &mut dyn WriteTables,
    from: Jurisdiction,
    id: &TipId,
    accepted: u64,
    change: impl FnOnce(&mut TipFacts),
) -> Result<(), StoreError> {
    let idb = id.as_bytes();
    let Some(packed) = t.facts(accepted, from.as_str(), idb)? else {
        return Ok(());
    };
    let mut f = TipFacts::unpack(from, *id, &packed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    change(&mut f);
    t.put_facts(accepted, from.as_str(), idb, &f.pack())
}

/// A tip record read before an operation writes anything: a damaged one refuses only this
/// operation (retryable, and logged for the operator), never the group commit around it.
fn held(r: Result<Option<TipRecord>, StoreError>, tip: &TipId) -> Result<Option<TipRecord>, StoreError> {
    match r {
        Err(StoreError::Corrupt(why)) => {
            tracing::error!(tip = %tip, %why, "a tip record does not decode");
            Err(StoreError::Refused(tiprelay_proto::wire::WireError::new(
                tiprelay_proto::ErrorCode::Unavailable,
                format!("the relay's record of tip {tip} is damaged; its operator has been alerted"),
            )))
        }
        other => other,
    }
}

fn stored(rec: &TipRecord) -> delivery::Stored<'_> {
    delivery::Stored { digest: &rec.digest, seq: rec.seq, to: &rec.to, author: &rec.author }
}

/// Records a verified ack, or signed refusal: moves the acknowledging principal's cursor;
/// on the tip's first ack, a notice to its author, the author's quota released and an
/// `acked` (or `refused`) entry. Returns
/// whether it was the first.
pub fn ack(
    t: &mut dyn WriteTables,
    tally: &mut Tally,
    ack: &DeliveryAck,
    envelope: &[u8],
    at: Timestamp,
    home: Option<Jurisdiction>,
) -> Result<bool, StoreError> {
    let (from, id) = (ack.from.as_str(), ack.tip.as_bytes().as_slice());
    let rec = held(t.tip(from, id), &ack.tip)?;
    delivery::ack_matches(rec.as_ref().map(stored), ack)?;
    let Some(rec) = rec else {
        return Err(StoreError::Failed("ack rule passed without a tip".into()));
    };
    let p = ack.by.to_string();
    let c = t.cursor(&p, from)?;
    if delivery::ack_step(c, ack.seq, t.acked_above(&p, from, ack.seq)?) == delivery::AckStep::Record {
        t.put_acked_above(&p, from, ack.seq, at.as_unix_ms())?;
        let c = delivery::advance(c, |s| t.take_acked_above(&p, from, s))?;
        t.set_cursor(&p, from, c)?;
    }
    if t.first_ack(from, id)?.is_some() {
        return Ok(false);
    }
    let index = next(t, NEXT_ACK)? + 1;
    t.put_first_ack(from, id, index, at.as_unix_ms())?;
    // The tip no longer counts against its author's pending quota.
    let size = rec.envelope.as_ref().map_or(0, |e| e.len() as u64);
    let pending = t.author_pending(&rec.author)?;
    t.set_author_pending(&rec.author, pending.saturating_sub(size))?;
    tally.acked.push(rec.to.clone());
    let to = super::notice_key(&rec.author, from, home);
    t.put_notice(&to, index, &NoticeRecord { envelope: envelope.to_vec(), receipt: None, crossed: false })?;
    update_facts(t, ack.from, &ack.tip, rec.accepted, |f| {
        f.acked = Some(at);
        f.delivered.get_or_insert(at);
    })?;
    // A signed refusal (PROTOCOL §5.3) is logged as `refused`, with its code.
    let (kind, code) = match &ack.refused {
        Some(r) => ("refused", Some(r.code.name().to_owned())),
        None => ("acked", None),
    };
    let event = Event {
        principal: Some(p),
        from: Some(from.into()),
        to: Some(rec.to.clone()),
        tip: Some(ack.tip.to_string()),
        digest: Some(ack.digest.to_hex()),
        seq: Some(ack.seq),
        code,
        ..Event::new(kind, at)
    };
    append_event(t, tally, &event)?;
    Ok(true)
}

/// A resubmitted feedback or statement: the original receipt if the bytes are the same.
fn duplicate_or_conflict(
    old: StatementRecord,
    digest: Digest,
    id: &TipId,
    from: Jurisdiction,
) -> Result<Submitted, StoreError> {
    if old.digest == digest.0 {
        let seq = tiprelay_proto::parse::<tiprelay_proto::Receipt>(&old.receipt).map(|p| p.message.seq).unwrap_or(0);
        return Ok(Submitted { receipt: old.receipt, duplicate: true, seq });
    }
    Err(StoreError::Conflict { id: id.to_string(), from: from.to_string(), existing: tips::hex(&old.digest) })
}

/// Signs the relay's receipt for what the next audit entry will record (writes nothing).
#[allow(clippy::too_many_arguments)]
fn sign_receipt(
    t: &dyn WriteTables,
    signer: &Signer,
    subject: Subject,
    id: TipId,
    dir: (Jurisdiction, Jurisdiction),
    digest: Digest,
    seq: u64,
    accepted: Timestamp,
) -> Result<Vec<u8>, StoreError> {
    let log_index = t.counter(NEXT_EVENT)?.unwrap_or(0);
    let r = tips::receipt(subject, id, dir, digest, seq, accepted, log_index, signer.identity());
    signer.sign(&r).map_err(|e| StoreError::Failed(format!("cannot sign the receipt: {e}")))
}

/// Accepts a verified feedback (or finds the earlier one): its receipt, a notice to the
/// tip's author, the tip's ledger facts and a `feedback` entry.
pub fn feedback(
    t: &mut dyn WriteTables,
    tally: &mut Tally,
    signer: &Signer,
    fb: &Feedback,
    digest: Digest,
    envelope: Vec<u8>,
    accepted: Timestamp,
) -> Result<Submitted, StoreError> {
    let (w, fid) = (fb.to.as_str(), fb.id.as_bytes().as_slice());
    if let Some(old) = t.feedback_record(w, fid)? {
        return duplicate_or_conflict(old, digest, &fb.id, fb.to);
    }
    let rec = held(t.tip(fb.from.as_str(), fb.tip.as_bytes()), &fb.tip)?;
    delivery::feedback_allowed(rec.as_ref().map(stored), fb)?;
    let Some(rec) = rec else {
        return Err(StoreError::Failed("feedback rule passed without a tip".into()));
    };
    let seq = next(t, &format!("feedback_seq:{}:{}", fb.from, fb.to))? + 1;
    let receipt = sign_receipt(t, signer, Subject::Feedback, fb.id, (fb.from, fb.to), digest, seq, accepted)?;
    append_event(
        t,
        tally,
        &Event {
            principal: Some(fb.by.to_string()),
            from: Some(fb.from.to_string()),
            to: Some(fb.to.to_string()),
            tip: Some(fb.tip.to_string()),
            digest: Some(digest.to_hex()),
            seq: Some(seq),
            subject: Some(fb.id.to_string()),
            outcome: Some(fb.outcome.as_str().into()),
            ..Event::new("feedback", accepted)
        },
    )?;
    let stored = StatementRecord { digest: digest.0.to_vec(), envelope: Vec::new(), receipt: receipt.clone() };
    t.put_feedback(w, fid, &stored)?;
    let index = next(t, NEXT_ACK)? + 1;
    // A federated relay's identity names its own jurisdiction (its home).
    let to = super::notice_key(&rec.author, fb.from.as_str(), signer.identity().jurisdiction());
    t.put_notice(&to, index, &NoticeRecord { envelope, receipt: Some(receipt.clone()), crossed: false })?;
    update_facts(t, fb.from, &fb.tip, rec.accepted, |f| f.add_feedback(fb.outcome, accepted))?;
    Ok(Submitted { receipt, duplicate: false, seq })
}

/// Federation: records tips the peer relay receipted, in home sequence order. Each tip
/// above the link's cursor must be the next one: its receipt becomes a `crossed` notice to
/// the author and a `crossed` audit entry, and the cursor moves past it. A tip at or
/// below the cursor was recorded before (a resend after a lost answer): skipped.
pub fn crossed(
    t: &mut dyn WriteTables,
    tally: &mut Tally,
    peer: Jurisdiction,
    items: &[super::CrossedTip],
    at: Timestamp,
) -> Result<(), StoreError> {
    for c in items {
        let (from, to) = (c.from.as_str(), peer.as_str());
        let key = super::counters::link_tips(from, to);
        let cursor = t.counter(&key)?.unwrap_or(0);
        if c.seq <= cursor {
            continue;
        }
        let id = TipId::from_bytes(c.id).map_err(|_| StoreError::Failed("a crossed tip with a bad id".into()))?;
        let rec = held(t.tip(from, &c.id), &id)?.filter(|r| r.seq == c.seq && r.to == to);
        let (Some(rec), true) = (rec, c.seq == cursor + 1) else {
            return Err(StoreError::Refused(tiprelay_proto::wire::WireError::new(
                tiprelay_proto::ErrorCode::SequenceGap,
                format!("tip {id} is not {from} → {to} number {} held by this relay", cursor + 1),
            )));
        };
        let index = next(t, NEXT_ACK)? + 1;
        let n = NoticeRecord { envelope: c.receipt.clone(), receipt: None, crossed: true };
        t.put_notice(&rec.author, index, &n)?;
        t.set_counter(&key, c.seq)?;
        let event = Event {
            from: Some(from.into()),
            to: Some(to.into()),
            tip: Some(id.to_string()),
            digest: Some(tips::hex(&rec.digest)),
            seq: Some(c.seq),
            ..Event::new("crossed", at)
        };
        append_event(t, tally, &event)?;
    }
    Ok(())
}

/// Accepts a verified ledger statement (or finds the earlier one), forwarded to the counterpart.
pub fn statement(
    t: &mut dyn WriteTables,
    tally: &mut Tally,
    signer: &Signer,
    st: &LedgerStatement,
    digest: Digest,
    envelope: Vec<u8>,
    accepted: Timestamp,
) -> Result<Submitted, StoreError> {
    let (sj, cp, sid) = (st.jurisdiction.as_str(), st.counterpart.as_str(), st.id.as_bytes().as_slice());
    if let Some(index) = t.statement_index(sj, sid)? {
        let old = t
            .statement(cp, index)?
            .ok_or_else(|| StoreError::Corrupt("a statement index without its statement".into()))?;
        return duplicate_or_conflict(old, digest, &st.id, st.jurisdiction);
    }
    let seq = next(t, &format!("statement_seq:{sj}:{cp}"))? + 1;
    let receipt =
        sign_receipt(t, signer, Subject::Statement, st.id, (st.jurisdiction, st.counterpart), digest, seq, accepted)?;
    append_event(
        t,
        tally,
        &Event {
            principal: Some(st.by.to_string()),
            from: Some(sj.into()),
            to: Some(cp.into()),
            digest: Some(digest.to_hex()),
            seq: Some(seq),
            subject: Some(st.id.to_string()),
            ..Event::new("statement", accepted)
        },
    )?;
    let index = next(t, NEXT_STATEMENT)? + 1;
    let stored = StatementRecord { digest: digest.0.to_vec(), envelope, receipt: receipt.clone() };
    t.put_statement(sj, sid, cp, index, &stored)?;
    Ok(Submitted { receipt, duplicate: false, seq })
}

/// Marks first deliveries (tips already marked are skipped).
pub fn delivered(
    t: &mut dyn WriteTables,
    tally: &mut Tally,
    principal: &str,
    keys: &[TipKey],
    at: Timestamp,
) -> Result<(), StoreError> {
    for (from, id) in keys {
        let Some(rec) = t.tip(from.as_str(), id)? else {
            continue;
        };
        let Ok(tip_id) = TipId::from_bytes(*id) else {
            continue;
        };
        let mut first = false;
        update_facts(t, *from, &tip_id, rec.accepted, |f| {
            if f.delivered.is_none() {
                f.delivered = Some(at);
                first = true;
            }
        })?;
        if first {
            tally.delivered.push((from.to_string(), rec.to.clone()));
            append_event(
                t,
                tally,
                &Event {
                    principal: Some(principal.into()),
                    from: Some(from.to_string()),
                    to: Some(rec.to.clone()),
                    tip: Some(tip_id.to_string()),
                    digest: Some(tips::hex(&rec.digest)),
                    seq: Some(rec.seq),
                    ..Event::new("delivered", at)
                },
            )?;
        }
    }
    Ok(())
}

/// Purges the bodies of tips first acknowledged before `cutoff` whose every known receiver
/// acknowledged them (at most 10,000 per call); returns how many.
pub fn purge(t: &mut dyn WriteTables, tally: &mut Tally, cutoff: u64, at: Timestamp) -> Result<u64, StoreError> {
    let mut n = 0;
    for (from, id, first_acked) in t.acked_before(cutoff, 10_000)? {
        let mut rec = match t.tip(&from, &id) {
            Ok(Some(rec)) => rec,
            Ok(None) => {
                t.forget_acked_at(&from, &id)?;
                continue;
            }
            Err(StoreError::Corrupt(why)) => {
                // One damaged record must not stop retention (or the commit it runs in).
                tracing::error!(from = %from, tip = %tips::hex(&id), %why, "a tip record does not decode; retention skips it");
                continue;
            }
            Err(e) => return Err(e),
        };
        let prefix = format!("tiprelay://{}/", rec.to);
        let mut acked = Vec::new();
        for (p, c) in t.cursors_of(&from, &prefix)? {
            acked.push(delivery::has_acked(c, rec.seq, t.acked_above(&p, &from, rec.seq)?));
        }
        if !delivery::purgeable(first_acked, cutoff, acked.into_iter()) {
            // Kept (with its first-ack time) until every analyst of the recipient
            // jurisdiction the relay has seen has acknowledged it.
            continue;
        }
        if rec.envelope.take().is_some() {
            t.put_tip(&from, &id, &rec)?;
            let event = Event {
                from: Some(from.clone()),
                to: Some(rec.to.clone()),
                digest: Some(tips::hex(&rec.digest)),
                seq: Some(rec.seq),
                ..Event::new("purged", at)
            };
            append_event(t, tally, &event)?;
            n += 1;
        }
        t.forget_acked_at(&from, &id)?;
    }
    Ok(n)
}
