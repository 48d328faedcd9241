//! The pipelined group-commit writer (DESIGN §9).
//!
//! Two threads share the work of each group commit:
//!
//! * the **preparer** takes everything waiting in the queue (up to the batch size), decides
//!   each tip by [`crate::core::tips::admit`] against the committed store plus the batches
//!   still in flight, assigns its sequence number and audit index, signs its receipt and
//!   builds its records;
//! * the **committer** applies a prepared batch in **one** write transaction (tips first, at
//!   the audit indexes their receipts name, then every other operation), tells the preparer
//!   where the log now ends, commits (fsync), and only then answers each waiter.
//!
//! So the next batch is prepared, and its receipts signed, while the previous one is in
//! fsync; nobody is answered before the commit holding their operation is on disk. When a
//! commit fails, nothing in it was answered as accepted: the committer bumps an epoch, the
//! preparer forgets its in-flight state and re-reads the store, and a batch prepared on top
//! of the failed one is refused whole (its waiters get the same error and may retry).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc as smpsc, Arc};

use tiprelay_proto::audit::SignedCheckpoint;
use tiprelay_proto::{
    Cosignature, DeliveryAck, Digest, Feedback, Jurisdiction, LedgerStatement, Signer, Subject, Timestamp, TipFacts,
};
use tokio::sync::{mpsc, oneshot};

use super::apply::{self, Tally};
use super::counters::NEXT_EVENT;
use super::{now, Engine, Event, Notifier, StoreError, Submitted, TipKey, TipRecord, TipToWrite, WriteTables};
use crate::core::tips::{self, Admission, Held};
use crate::metrics::Metrics;

/// An operation for the writer.
pub enum WriteOp {
    /// One or more verified tips; one outcome per tip, in order.
    Submit {
        /// The tips.
        tips: Vec<TipToWrite>,
        /// Federation: tips forwarded by the peer relay, with the home number each must get
        /// here (one per tip); such a tip is not held to the pending quota, and one that
        /// would get any other number is refused with `sequence_gap` and nothing is written
        /// for it.
        forwarded: Option<Vec<u64>>,
        /// Where the outcomes go.
        reply: oneshot::Sender<Vec<Result<Submitted, StoreError>>>,
        /// Its place in the queue.
        permit: tokio::sync::OwnedSemaphorePermit,
    },
    /// One or more verified acks; one outcome per ack (true when it was the tip's first).
    Ack {
        /// The acks with their envelopes.
        acks: Vec<(DeliveryAck, Vec<u8>)>,
        /// Where the outcomes go.
        reply: oneshot::Sender<Vec<Result<bool, StoreError>>>,
        /// Its place in the queue.
        permit: tokio::sync::OwnedSemaphorePermit,
    },
    /// A verified feedback.
    Feedback {
        /// The feedback.
        fb: Box<Feedback>,
        /// Its envelope's digest.
        digest: Digest,
        /// Its envelope.
        envelope: Vec<u8>,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<Submitted, StoreError>>,
    },
    /// A verified ledger statement.
    Statement {
        /// The statement.
        st: Box<LedgerStatement>,
        /// Its envelope's digest.
        digest: Digest,
        /// Its envelope.
        envelope: Vec<u8>,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<Submitted, StoreError>>,
    },
    /// First-delivery marks (best effort).
    Delivered {
        /// Who fetched.
        principal: String,
        /// What it was handed.
        tips: Vec<TipKey>,
    },
    /// A checkpoint now, if the log grew.
    Checkpoint {
        /// Where the newest checkpoint goes.
        reply: oneshot::Sender<Result<Option<SignedCheckpoint>, StoreError>>,
    },
    /// A verified cosignature.
    Cosign {
        /// The cosignature.
        cs: Box<Cosignature>,
        /// Its envelope.
        envelope: Vec<u8>,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Federation: tips the peer relay receipted.
    Crossed {
        /// The peer's jurisdiction.
        peer: Jurisdiction,
        /// The tips, in home sequence order.
        items: Vec<super::CrossedTip>,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// An audit event (best effort).
    Event(Box<Event>),
    /// Sets counters to the given values, in one transaction (a witness's view of the
    /// peer's log).
    SetMeta {
        /// (counter, value).
        entries: Vec<(String, u64)>,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Raises counters to at least the given values (CRL-number floors).
    RaiseMeta {
        /// (counter, value).
        entries: Vec<(String, u64)>,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Retention.
    Purge {
        /// Purge bodies first acknowledged before this (ms).
        cutoff: u64,
        /// Where the count goes.
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
}

impl WriteOp {
    /// How much this operation counts towards the group-commit batch size.
    fn weight(&self) -> usize {
        match self {
            Self::Submit { tips, .. } => tips.len().max(1),
            Self::Ack { acks, .. } => acks.len().max(1),
            Self::Delivered { tips, .. } => tips.len().div_ceil(64).max(1),
            _ => 1,
        }
    }
}

/// How many tips and acks may wait for the writer: four group commits' worth, and never
/// fewer than four full batch requests (so one batch always fits).
pub fn queue_items(batch: usize) -> usize {
    (batch.max(1) * 4).max(4 * tiprelay_proto::wire::MAX_BATCH_TIPS)
}

/// The writer's settings.
pub struct WriterConfig {
    /// The relay's signing key (receipts, checkpoints).
    pub signer: Signer,
    /// Most tips and acks per group commit.
    pub batch: usize,
    /// A checkpoint in the commit that takes the log this many entries past the last one.
    pub checkpoint_entries: u64,
    /// Most pending bytes per author.
    pub pending_quota: u64,
}

/// The writer's two threads; join them after dropping every [`super::Store`] to finish
/// in-flight commits.
pub struct WriterThread {
    preparer: std::thread::JoinHandle<()>,
    committer: std::thread::JoinHandle<()>,
}

impl WriterThread {
    /// Waits until the writer has committed everything sent to it.
    pub fn join(self) {
        let _ = self.preparer.join();
        let _ = self.committer.join();
    }
}

/// Starts the preparer and the committer.
pub fn spawn(
    engine: Arc<dyn Engine>,
    config: WriterConfig,
    notifier: Arc<Notifier>,
    dropped: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
    rx: mpsc::Receiver<WriteOp>,
) -> Result<WriterThread, StoreError> {
    let signer = Arc::new(config.signer);
    // One prepared batch waits while the previous one commits.
    let (batches, prepared) = smpsc::sync_channel::<Batch>(1);
    let (progress_tx, progress) = smpsc::channel::<Progress>();
    let committer = Committer {
        engine: engine.clone(),
        home: signer.identity().jurisdiction(),
        signer: signer.clone(),
        notifier,
        checkpoint_entries: config.checkpoint_entries,
        dropped,
        metrics: metrics.clone(),
        epoch: 0,
        progress: progress_tx,
    };
    let committer = std::thread::Builder::new()
        .name("tiprelay-commit".into())
        .spawn(move || committer.run(prepared))
        .map_err(StoreError::io)?;
    let preparer = Preparer {
        engine,
        signer,
        batch: config.batch,
        pending_quota: config.pending_quota,
        metrics,
        epoch: 0,
        next_no: 0,
        awaiting: None,
        next_event: None,
        dirs: HashMap::new(),
        overlay: HashMap::new(),
        inflight: Vec::new(),
        progress,
    };
    let preparer = std::thread::Builder::new()
        .name("tiprelay-prepare".into())
        .spawn(move || preparer.run(rx, batches))
        .map_err(StoreError::io)?;
    Ok(WriterThread { preparer, committer })
}

/// An accepted tip to build: its sequence number and audit index are decided.
struct Job {
    tip: Box<tiprelay_proto::Tip>,
    digest: Digest,
    envelope: Vec<u8>,
    seq: u64,
    index: u64,
    accepted: Timestamp,
}

/// A tip the preparer accepted: everything the committer writes for it.
struct PreparedTip {
    digest: [u8; 32],
    from: Jurisdiction,
    id: [u8; 16],
    to: Jurisdiction,
    record: TipRecord,
    facts: Vec<u8>,
    /// The canonical `accepted` audit entry at the index its receipt names.
    entry: Vec<u8>,
}

/// One outcome slot of a submit.
enum Slot {
    /// Decided (duplicate, conflict, over quota, signing failure).
    Done(Result<Submitted, StoreError>),
    /// Accepted: index into the batch's prepared tips.
    New(usize),
    /// A replay, in the same batch, of the prepared tip at this index.
    Again(usize),
}

/// Where a submit's outcomes go.
type SubmitReply = oneshot::Sender<Vec<Result<Submitted, StoreError>>>;

/// A batch not yet durable: its number, its tips, the pending bytes it adds per author.
type InFlightBatch = (u64, Vec<(Jurisdiction, [u8; 16])>, HashMap<String, u64>);

/// A prepared group commit.
struct Batch {
    no: u64,
    epoch: u64,
    /// The audit index of the first prepared tip (the log's size before this batch).
    first_index: u64,
    tips: Vec<PreparedTip>,
    /// Last sequence number per direction after this batch.
    dirs: Vec<((Jurisdiction, Jurisdiction), u64)>,
    /// Pending bytes this batch adds per author.
    pending: Vec<(String, u64)>,
    submits: Vec<(SubmitReply, Vec<Slot>)>,
    /// Every other operation, applied after the tips, in arrival order.
    others: Vec<WriteOp>,
    weight: usize,
}

/// What the committer tells the preparer.
enum Progress {
    /// Batch `no` is applied (not yet durable); the log now has `next_event` entries.
    Applied { no: u64, next_event: u64 },
    /// Batch `no` is durable.
    Durable { no: u64 },
    /// Batch `no` failed; in-flight state is void; batches must carry `epoch` from now on.
    Failed { no: u64, epoch: u64 },
    /// Batch `no` was prepared on top of a failed one and refused whole.
    Refused { no: u64 },
}

/// A tip accepted in a batch not yet durable.
struct InFlight {
    digest: [u8; 32],
    seq: u64,
    receipt: Vec<u8>,
}

struct Preparer {
    engine: Arc<dyn Engine>,
    signer: Arc<Signer>,
    batch: usize,
    pending_quota: u64,
    metrics: Arc<Metrics>,
    epoch: u64,
    next_no: u64,
    /// The batch whose `Applied` (or failure) the next preparation waits for.
    awaiting: Option<u64>,
    /// The log's size after the last applied batch (None: read it from the store).
    next_event: Option<u64>,
    /// Last sequence number per direction (authoritative: only the preparer assigns them).
    dirs: HashMap<(Jurisdiction, Jurisdiction), u64>,
    /// Tips accepted in batches not yet durable.
    overlay: HashMap<(Jurisdiction, [u8; 16]), InFlight>,
    /// Per batch not yet durable: its tips and the pending bytes it adds per author.
    inflight: Vec<InFlightBatch>,
    progress: smpsc::Receiver<Progress>,
}

impl Preparer {
    fn run(mut self, mut rx: mpsc::Receiver<WriteOp>, batches: smpsc::SyncSender<Batch>) {
        let mut ops = Vec::with_capacity(self.batch);
        loop {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            // The next batch's audit indexes follow the previous batch's last entry.
            while self.awaiting.is_some() {
                match self.progress.recv() {
                    Ok(p) => self.on(p),
                    Err(_) => return,
                }
            }
            while let Ok(p) = self.progress.try_recv() {
                self.on(p);
            }
            let mut weight = first.weight();
            ops.push(first);
            while weight < self.batch {
                match rx.try_recv() {
                    Ok(op) => {
                        weight += op.weight();
                        ops.push(op);
                    }
                    Err(_) => break,
                }
            }
            self.metrics.writer_queue_depth.set(i64::try_from(rx.len()).unwrap_or(i64::MAX));
            let batch = self.prepare(std::mem::take(&mut ops), weight);
            self.awaiting = Some(batch.no);
            if batches.send(batch).is_err() {
                return;
            }
        }
        tracing::debug!("store preparer stopped: every queued operation was handed to the committer");
    }

    fn on(&mut self, p: Progress) {
        match p {
            Progress::Applied { no, next_event } => {
                if self.awaiting == Some(no) {
                    self.awaiting = None;
                }
                self.next_event = Some(next_event);
            }
            Progress::Durable { no } => {
                if let Some(i) = self.inflight.iter().position(|b| b.0 == no) {
                    let (_, keys, _) = self.inflight.remove(i);
                    for k in keys {
                        self.overlay.remove(&k);
                    }
                }
            }
            Progress::Failed { no, epoch } => {
                self.epoch = epoch;
                self.overlay.clear();
                self.inflight.clear();
                self.dirs.clear();
                self.next_event = None;
                if self.awaiting == Some(no) {
                    self.awaiting = None;
                }
            }
            Progress::Refused { no } => {
                if self.awaiting == Some(no) {
                    self.awaiting = None;
                }
            }
        }
    }

    fn prepare(&mut self, ops: Vec<WriteOp>, weight: usize) -> Batch {
        let no = self.next_no;
        self.next_no += 1;
        let mut batch = Batch {
            no,
            epoch: self.epoch,
            first_index: 0,
            tips: Vec::new(),
            dirs: Vec::new(),
            pending: Vec::new(),
            submits: Vec::new(),
            others: Vec::new(),
            weight,
        };
        let mut submits = Vec::new();
        for op in ops {
            match op {
                WriteOp::Submit { tips, forwarded, reply, permit } => {
                    drop(permit);
                    submits.push((tips, forwarded, reply));
                }
                other => batch.others.push(other),
            }
        }
        if submits.is_empty() {
            return batch;
        }
        let engine = self.engine.clone();
        let view = match engine.read() {
            Ok(v) => {
                self.forget_visible(&*v);
                v
            }
            Err(e) => {
                for (tips, _, reply) in submits {
                    batch.submits.push((reply, tips.iter().map(|_| Slot::Done(Err(e.clone()))).collect()));
                }
                return batch;
            }
        };
        let first_index = match self.next_event {
            Some(n) => Ok(n),
            None => view.counter(NEXT_EVENT).map(|n| n.unwrap_or(0)),
        };
        let first_index = match first_index {
            Ok(n) => n,
            Err(e) => {
                for (tips, _, reply) in submits {
                    batch.submits.push((reply, tips.iter().map(|_| Slot::Done(Err(e.clone()))).collect()));
                }
                return batch;
            }
        };
        batch.first_index = first_index;
        // The preparer's clock, read once per batch: every tip of it is accepted at this time.
        let at = now();
        // 1. Decide every tip in order (replays, conflicts, quota, sequence numbers, audit indexes).
        let dirs_before = self.dirs.clone();
        let mut added: HashMap<String, u64> = HashMap::new();
        let mut jobs: Vec<Job> = Vec::new();
        let mut in_batch: HashMap<(Jurisdiction, [u8; 16]), (usize, [u8; 32])> = HashMap::new();
        // The stored records of every tip of the batch in one read (one round trip for a
        // database engine), and each author's stored pending bytes once.
        let wanted: Vec<(String, Vec<u8>)> = submits
            .iter()
            .flat_map(|(tips, _, _)| tips.iter())
            .filter(|(t, _, _)| !self.overlay.contains_key(&(t.from, *t.id.as_bytes())))
            .map(|(t, _, _)| (t.from.as_str().to_owned(), t.id.as_bytes().to_vec()))
            .collect();
        let known: HashMap<(Jurisdiction, [u8; 16]), TipRecord> = match view.tips(&wanted) {
            Ok(found) => wanted
                .iter()
                .zip(found)
                .filter_map(|((f, id), r)| {
                    let from: Jurisdiction = f.parse().ok()?;
                    Some(((from, <[u8; 16]>::try_from(id.as_slice()).ok()?), r?))
                })
                .collect(),
            Err(e) => {
                for (tips, _, reply) in submits {
                    batch.submits.push((reply, tips.iter().map(|_| Slot::Done(Err(e.clone()))).collect()));
                }
                return batch;
            }
        };
        let mut pending_of: HashMap<String, u64> = HashMap::new();
        let mut replies = Vec::with_capacity(submits.len());
        for (tips, forwarded, reply) in submits {
            let mut slots = Vec::with_capacity(tips.len());
            for (i, (tip, digest, envelope)) in tips.into_iter().enumerate() {
                let expected = forwarded.as_ref().map(|f| f.get(i).copied().unwrap_or(0));
                let key = (tip.from, *tip.id.as_bytes());
                if let Some((i, d)) = in_batch.get(&key) {
                    // The same tip twice in one batch: the first is accepted, this is its replay.
                    slots.push(if *d == digest.0 {
                        Slot::Again(*i)
                    } else {
                        Slot::Done(Err(StoreError::Conflict {
                            id: tip.id.to_string(),
                            from: tip.from.to_string(),
                            existing: tips::hex(d),
                        }))
                    });
                    continue;
                }
                let slot =
                    match self.decide(&*view, &known, &mut pending_of, (&tip, &digest, &envelope), &added, expected) {
                        Err(e) => Slot::Done(Err(e)),
                        Ok(Decision::Answer(s)) => Slot::Done(Ok(s)),
                        Ok(Decision::Accept { seq }) => {
                            *added.entry(tip.author.to_string()).or_insert(0) += envelope.len() as u64;
                            self.dirs.insert((tip.from, tip.to), seq);
                            in_batch.insert(key, (jobs.len(), digest.0));
                            let index = first_index + jobs.len() as u64;
                            jobs.push(Job { tip, digest, envelope, seq, index, accepted: at });
                            Slot::New(jobs.len() - 1)
                        }
                    };
                slots.push(slot);
            }
            replies.push((reply, slots));
        }
        // 2. Sign the receipts and build the records, on two threads for a large batch.
        let built = self.build_all(jobs);
        // 3. Keep the tips up to the first that could not be built, so indexes stay gap-free
        //    (signing fails only with a broken key; then the rest of the batch is refused).
        let n = built.len();
        let ok = built.iter().take_while(|b| b.is_ok()).count();
        if ok < n {
            self.dirs = dirs_before;
            added.clear();
        }
        let mut keys = Vec::new();
        let mut dirs_touched: Vec<(Jurisdiction, Jurisdiction)> = Vec::new();
        let mut failure = None;
        for b in built {
            match b {
                Ok((p, receipt)) if batch.tips.len() < ok => {
                    if ok < n {
                        *added.entry(p.record.author.clone()).or_insert(0) +=
                            p.record.envelope.as_ref().map_or(0, |e| e.len() as u64);
                    }
                    let key = (p.from, p.id);
                    if !dirs_touched.contains(&(p.from, p.to)) {
                        dirs_touched.push((p.from, p.to));
                    }
                    self.dirs.insert((p.from, p.to), p.record.seq);
                    self.overlay.insert(key, InFlight { digest: p.digest, seq: p.record.seq, receipt });
                    keys.push(key);
                    batch.tips.push(p);
                }
                Ok(_) => {}
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        let cut = failure.unwrap_or_else(|| StoreError::Failed("a tip before this one could not be signed".into()));
        for (reply, slots) in replies {
            let slots = slots
                .into_iter()
                .map(|s| match s {
                    Slot::New(i) | Slot::Again(i) if i >= ok => Slot::Done(Err(cut.clone())),
                    other => other,
                })
                .collect();
            batch.submits.push((reply, slots));
        }
        batch.dirs = dirs_touched.into_iter().map(|d| (d, self.dirs.get(&d).copied().unwrap_or(0))).collect();
        batch.pending = added.iter().map(|(a, n)| (a.clone(), *n)).collect();
        self.inflight.push((no, keys, added));
        batch
    }

    /// Builds every accepted tip, in order; for 16 or more, the first half on a scoped
    /// helper thread meanwhile (the preparer's time is on the writer's critical path).
    fn build_all(&self, mut jobs: Vec<Job>) -> Vec<Result<(PreparedTip, Vec<u8>), StoreError>> {
        let signer: &Signer = &self.signer;
        let build = |j: Job| Self::build(signer, &j.tip, j.digest, j.envelope, j.seq, j.index, j.accepted);
        if jobs.len() < 16 {
            return jobs.into_iter().map(build).collect();
        }
        let n = jobs.len();
        let second = jobs.split_off(n / 2);
        let jobs = std::sync::Mutex::new(Some(jobs));
        let take = || jobs.lock().ok().and_then(|mut j| j.take()).unwrap_or_default();
        std::thread::scope(|s| {
            let first = std::thread::Builder::new()
                .name("tiprelay-sign".into())
                .spawn_scoped(s, || take().into_iter().map(build).collect::<Vec<_>>());
            let second: Vec<_> = second.into_iter().map(build).collect();
            match first {
                Ok(h) => match h.join() {
                    Ok(mut out) => {
                        out.extend(second);
                        out
                    }
                    Err(_) => (0..n).map(|_| Err(StoreError::Failed("receipt signing failed".into()))).collect(),
                },
                // No thread to be had (resource limits): sign the first half here too.
                Err(_) => {
                    let mut out: Vec<_> = take().into_iter().map(build).collect();
                    out.extend(second);
                    out
                }
            }
        })
    }

    /// Forgets the in-flight batches that `view` already shows (their commit finished after
    /// the last `Durable` was read): their tips and pending bytes are counted by the view.
    /// A batch's tips commit together, so its first tip tells.
    fn forget_visible(&mut self, view: &dyn super::ReadTables) {
        let overlay = &mut self.overlay;
        self.inflight.retain(|(_, keys, _)| {
            let visible = match keys.first() {
                None => true,
                Some((from, id)) => view.tip(from.as_str(), id).is_ok_and(|r| r.is_some()),
            };
            if visible {
                for k in keys {
                    overlay.remove(k);
                }
            }
            !visible
        });
    }

    /// Pending bytes of `author` in batches not yet durable (and this one so far).
    fn pending_in_flight(&self, author: &str, added: &HashMap<String, u64>) -> u64 {
        let earlier: u64 = self.inflight.iter().filter_map(|b| b.2.get(author)).sum();
        earlier.saturating_add(added.get(author).copied().unwrap_or(0))
    }

    fn decide(
        &mut self,
        view: &dyn super::ReadTables,
        known: &HashMap<(Jurisdiction, [u8; 16]), TipRecord>,
        pending_of: &mut HashMap<String, u64>,
        (tip, digest, envelope): (&tiprelay_proto::Tip, &Digest, &[u8]),
        added: &HashMap<String, u64>,
        expected: Option<u64>,
    ) -> Result<Decision, StoreError> {
        let (from, to) = (tip.from, tip.to);
        let key = (from, *tip.id.as_bytes());
        let (held, receipt) = if let Some(f) = self.overlay.get(&key) {
            (Some((f.digest.to_vec(), f.seq)), Some(f.receipt.clone()))
        } else {
            match known.get(&key) {
                Some(r) => (Some((r.digest.clone(), r.seq)), Some(r.receipt.clone())),
                None => (None, None),
            }
        };
        let author = tip.author.to_string();
        let stored = match pending_of.get(&author) {
            Some(p) => *p,
            None => {
                let p = view.author_pending(&author)?;
                pending_of.insert(author.clone(), p);
                p
            }
        };
        let pending = stored.saturating_add(self.pending_in_flight(&author, added));
        let last = match self.dirs.get(&(from, to)) {
            Some(s) => *s,
            None => {
                let s = view.dir_seq(from.as_str(), to.as_str())?;
                self.dirs.insert((from, to), s);
                s
            }
        };
        let held_ref = held.as_ref().map(|(d, seq)| Held { digest: d, seq: *seq });
        // A forwarded tip is held to its author's quota here too (retryable: the link waits
        // until the recipients acknowledge), so a peer cannot fill this relay's store.
        let admission = tips::admit(held_ref, digest, envelope.len() as u64, pending, self.pending_quota, last);
        if let (Some(want), Admission::Duplicate { seq } | Admission::Accept { seq, .. }) = (expected, &admission) {
            if want != *seq {
                return Err(StoreError::Refused(tiprelay_proto::wire::WireError::new(
                    tiprelay_proto::ErrorCode::SequenceGap,
                    format!("tip {} is number {want} at home but would be number {seq} here", tip.id),
                )));
            }
        }
        match admission {
            Admission::Duplicate { seq } => {
                Ok(Decision::Answer(Submitted { receipt: receipt.unwrap_or_default(), duplicate: true, seq }))
            }
            Admission::Conflict { existing } => {
                Err(StoreError::Conflict { id: tip.id.to_string(), from: from.to_string(), existing })
            }
            Admission::OverQuota { pending } => {
                Err(StoreError::QuotaExceeded { author, pending, quota: self.pending_quota })
            }
            Admission::Accept { seq, .. } => Ok(Decision::Accept { seq }),
        }
    }

    /// Signs the receipt and builds the records of an accepted tip.
    #[allow(clippy::too_many_arguments)]
    fn build(
        signer: &Signer,
        tip: &tiprelay_proto::Tip,
        digest: Digest,
        envelope: Vec<u8>,
        seq: u64,
        index: u64,
        accepted: Timestamp,
    ) -> Result<(PreparedTip, Vec<u8>), StoreError> {
        let r =
            tips::receipt(Subject::Tip, tip.id, (tip.from, tip.to), digest, seq, accepted, index, signer.identity());
        let receipt = signer.sign(&r).map_err(|e| StoreError::Failed(format!("cannot sign the receipt: {e}")))?;
        let event = Event {
            principal: Some(tip.author.to_string()),
            from: Some(tip.from.to_string()),
            to: Some(tip.to.to_string()),
            tip: Some(tip.id.to_string()),
            category: Some(tip.category.as_str().into()),
            digest: Some(digest.to_hex()),
            seq: Some(seq),
            ..Event::new("accepted", accepted)
        };
        let mut facts = TipFacts::new(tip.id, tip.from, tip.to, tip.category, tip.author.to_string());
        facts.created = tip.created;
        facts.accepted = Some(accepted);
        facts.seq = Some(seq);
        let record = TipRecord {
            to: tip.to.to_string(),
            author: tip.author.to_string(),
            category: tip.category.as_str().into(),
            digest: digest.0.to_vec(),
            seq,
            accepted: accepted.as_unix_ms(),
            log_index: index,
            envelope: Some(envelope),
            receipt: receipt.clone(),
        };
        Ok((
            PreparedTip {
                digest: digest.0,
                from: tip.from,
                id: *tip.id.as_bytes(),
                to: tip.to,
                record,
                facts: facts.pack(),
                entry: apply::entry_bytes(&event, index),
            },
            receipt,
        ))
    }
}

enum Decision {
    /// Answered without a write (a replay).
    Answer(Submitted),
    /// New: this sequence number.
    Accept { seq: u64 },
}

struct Committer {
    engine: Arc<dyn Engine>,
    signer: Arc<Signer>,
    /// Federation: the relay's own jurisdiction (its signing identity's authority); None
    /// for the operator's shared relay.
    home: Option<Jurisdiction>,
    notifier: Arc<Notifier>,
    checkpoint_entries: u64,
    dropped: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
    epoch: u64,
    progress: smpsc::Sender<Progress>,
}

/// The answer owed to one waiter once the commit is durable.
enum Reply {
    Submit(oneshot::Sender<Vec<Result<Submitted, StoreError>>>, Vec<Result<Submitted, StoreError>>),
    Ack(oneshot::Sender<Vec<Result<bool, StoreError>>>, Vec<Result<bool, StoreError>>, Vec<Jurisdiction>),
    Checkpoint(
        oneshot::Sender<Result<Option<SignedCheckpoint>, StoreError>>,
        Result<Option<SignedCheckpoint>, StoreError>,
    ),
    Unit(oneshot::Sender<Result<(), StoreError>>, Result<(), StoreError>),
    /// Crossed tips; with the jurisdiction whose authors get a notice.
    Crossed(oneshot::Sender<Result<(), StoreError>>, Result<(), StoreError>, Jurisdiction),
    /// A feedback or statement; with the jurisdiction whose authors get a notice.
    Other(oneshot::Sender<Result<Submitted, StoreError>>, Result<Submitted, StoreError>, Option<Jurisdiction>),
    Purge(oneshot::Sender<Result<u64, StoreError>>, Result<u64, StoreError>),
}

impl Reply {
    fn fail(self, e: &StoreError) {
        match self {
            Reply::Submit(tx, res) => {
                let _ = tx.send(res.iter().map(|_| Err(e.clone())).collect());
            }
            Reply::Ack(tx, res, _) => {
                let _ = tx.send(res.iter().map(|_| Err(e.clone())).collect());
            }
            Reply::Checkpoint(tx, _) => {
                let _ = tx.send(Err(e.clone()));
            }
            Reply::Unit(tx, _) | Reply::Crossed(tx, _, _) => {
                let _ = tx.send(Err(e.clone()));
            }
            Reply::Other(tx, _, _) => {
                let _ = tx.send(Err(e.clone()));
            }
            Reply::Purge(tx, _) => {
                let _ = tx.send(Err(e.clone()));
            }
        }
    }
}

/// Fails every waiter of a batch that was never applied; returns how many best-effort
/// events (audit events, first-delivery marks) it held, to be counted as dropped.
fn refuse(batch: Batch, e: &StoreError) -> u64 {
    for (reply, slots) in batch.submits {
        let _ = reply.send(slots.iter().map(|_| Err(e.clone())).collect());
    }
    let lost = best_effort(&batch.others);
    for op in batch.others {
        refuse_op(op, e);
    }
    lost
}

/// The best-effort operations (audit events, first-delivery marks) among `ops`.
fn best_effort(ops: &[WriteOp]) -> u64 {
    ops.iter().filter(|op| matches!(op, WriteOp::Event(_) | WriteOp::Delivered { .. })).count() as u64
}

/// Fails one operation's waiter.
fn refuse_op(op: WriteOp, e: &StoreError) {
    match op {
        WriteOp::Submit { tips, reply, .. } => {
            let _ = reply.send(tips.iter().map(|_| Err(e.clone())).collect());
        }
        WriteOp::Ack { acks, reply, .. } => {
            let _ = reply.send(acks.iter().map(|_| Err(e.clone())).collect());
        }
        WriteOp::Feedback { reply, .. } | WriteOp::Statement { reply, .. } => {
            let _ = reply.send(Err(e.clone()));
        }
        WriteOp::Checkpoint { reply } => {
            let _ = reply.send(Err(e.clone()));
        }
        WriteOp::Cosign { reply, .. }
        | WriteOp::RaiseMeta { reply, .. }
        | WriteOp::SetMeta { reply, .. }
        | WriteOp::Crossed { reply, .. } => {
            let _ = reply.send(Err(e.clone()));
        }
        WriteOp::Purge { reply, .. } => {
            let _ = reply.send(Err(e.clone()));
        }
        WriteOp::Delivered { .. } | WriteOp::Event(_) => {}
    }
}

impl Committer {
    fn run(mut self, prepared: smpsc::Receiver<Batch>) {
        let mut last_failure = StoreError::Failed("an earlier commit failed".into());
        while let Ok(batch) = prepared.recv() {
            if batch.epoch != self.epoch {
                let no = batch.no;
                let lost = refuse(batch, &last_failure);
                self.dropped.fetch_add(lost, Ordering::Relaxed);
                let _ = self.progress.send(Progress::Refused { no });
                continue;
            }
            if let Err(e) = self.commit(batch) {
                last_failure = e;
            }
        }
        tracing::debug!("store committer stopped: every queued operation committed");
    }

    fn commit(&mut self, batch: Batch) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let (no, weight) = (batch.no, batch.weight);
        let best_effort_ops = best_effort(&batch.others);
        let mut replies: Vec<Reply> = Vec::new();
        let mut fresh_to: Vec<Jurisdiction> = Vec::new();
        let mut tally = Tally::default();
        let mut dropped_now = 0u64;
        let mut applied = false;
        let mut batch = Some(batch);
        let result = self.engine.write(&mut |t| {
            let Some(b) = batch.take() else {
                return Err(StoreError::Failed("a write transaction ran twice".into()));
            };
            // The writer's clock, read once per commit and passed to every rule.
            let at = now();
            self.apply(t, b, at, &mut replies, &mut fresh_to, &mut tally)?;
            // Best-effort events lost to a full queue are counted in the log itself.
            let lost = self.dropped.swap(0, Ordering::Relaxed);
            if lost > 0 {
                dropped_now = lost;
                apply::append_event(t, &mut tally, &Event { seq: Some(lost), ..Event::new("events_dropped", at) })?;
            }
            // Every `checkpoint_entries` entries, a signed checkpoint in the same commit.
            apply::checkpoint(t, &self.signer, self.checkpoint_entries, at)?;
            let next_event = t.counter(NEXT_EVENT)?.unwrap_or(0);
            // The preparer may now sign the next batch's receipts (it runs during our fsync).
            let _ = self.progress.send(Progress::Applied { no, next_event });
            applied = true;
            Ok(())
        });
        // An engine that returned Ok without running the transaction committed nothing.
        let result = match result {
            Ok(()) if !applied => Err(StoreError::Failed("the storage engine did not run the transaction".into())),
            other => other,
        };
        match result {
            Ok(()) => {
                let _ = self.progress.send(Progress::Durable { no });
                self.record(&tally, weight, dropped_now, started.elapsed());
                self.answer(replies, fresh_to);
                Ok(())
            }
            Err(e) => {
                // Nothing of this transaction is kept: its audit events are counted as dropped.
                self.dropped.fetch_add(dropped_now + best_effort_ops, Ordering::Relaxed);
                tracing::error!(error = %e, "group commit failed; nothing in it was acknowledged");
                self.epoch += 1;
                let _ = self.progress.send(Progress::Failed { no, epoch: self.epoch });
                for r in replies {
                    r.fail(&e);
                }
                // A batch that failed before it was applied still has its waiters here.
                if let Some(b) = batch.take() {
                    refuse(b, &e);
                }
                Err(e)
            }
        }
    }

    /// Applies a batch: its tips first, at the audit indexes their receipts name, then
    /// every other operation in order.
    fn apply(
        &self,
        t: &mut dyn WriteTables,
        b: Batch,
        at: Timestamp,
        replies: &mut Vec<Reply>,
        fresh_to: &mut Vec<Jurisdiction>,
        tally: &mut Tally,
    ) -> Result<(), StoreError> {
        if !b.tips.is_empty() {
            let size = t.counter(NEXT_EVENT)?.unwrap_or(0);
            if size != b.first_index {
                return Err(StoreError::Failed(format!(
                    "the writer's audit index is out of step (log {size}, batch {}); retry",
                    b.first_index
                )));
            }
            for (k, p) in b.tips.iter().enumerate() {
                let (from, id) = (p.from.as_str(), p.id.as_slice());
                t.put_tip(from, id, &p.record)?;
                t.put_facts(p.record.accepted, from, id, &p.facts)?;
                t.put_seq(from, p.to.as_str(), p.record.seq, id)?;
                apply::put_leaf(t, b.first_index + k as u64, &p.entry)?;
                tally.appended += 1;
                tally.accepted.push((from.to_owned(), p.to.as_str().to_owned()));
                if !fresh_to.contains(&p.to) {
                    fresh_to.push(p.to);
                }
            }
            t.set_counter(NEXT_EVENT, b.first_index + b.tips.len() as u64)?;
            for ((from, to), seq) in &b.dirs {
                t.set_dir_seq(from.as_str(), to.as_str(), *seq)?;
            }
            for (author, n) in &b.pending {
                let p = t.author_pending(author)?;
                t.set_author_pending(author, p.saturating_add(*n))?;
            }
        }
        for (reply, slots) in b.submits {
            let out = slots
                .into_iter()
                .map(|s| match s {
                    Slot::Done(r) => r,
                    Slot::New(i) | Slot::Again(i) => b
                        .tips
                        .get(i)
                        .map(|p| Submitted {
                            receipt: p.record.receipt.clone(),
                            duplicate: matches!(s, Slot::Again(_)),
                            seq: p.record.seq,
                        })
                        .ok_or_else(|| StoreError::Failed("a prepared tip went missing".into())),
                })
                .collect();
            replies.push(Reply::Submit(reply, out));
        }
        // What every ack of this batch will read, read at once (engines with round trips).
        let ack_keys: Vec<(String, Vec<u8>)> = b
            .others
            .iter()
            .filter_map(|op| match op {
                WriteOp::Ack { acks, .. } => Some(acks),
                _ => None,
            })
            .flatten()
            .map(|(a, _)| (a.from.as_str().to_owned(), a.tip.as_bytes().to_vec()))
            .collect();
        if !ack_keys.is_empty() {
            t.prefetch_acks(&ack_keys)?;
        }
        let mut others = b.others.into_iter();
        while let Some(op) = others.next() {
            if let Err(e) = self.apply_one(t, op, at, replies, tally) {
                for rest in others {
                    refuse_op(rest, &e);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Applies one operation other than a submit; a storage failure aborts the transaction,
    /// a rule's refusal is only that operation's answer.
    fn apply_one(
        &self,
        t: &mut dyn WriteTables,
        op: WriteOp,
        at: Timestamp,
        replies: &mut Vec<Reply>,
        tally: &mut Tally,
    ) -> Result<(), StoreError> {
        {
            match op {
                op @ WriteOp::Submit { .. } => {
                    // Never queued here (the preparer takes every submit); refuse rather than drop.
                    refuse_op(op, &StoreError::Failed("a submit reached the committer unprepared".into()));
                }
                WriteOp::Ack { acks, reply, permit } => {
                    drop(permit);
                    let mut out = Vec::with_capacity(acks.len());
                    let mut first_from = Vec::new();
                    for (ack, envelope) in &acks {
                        let r = apply::ack(t, tally, ack, envelope, at, self.home);
                        if matches!(r, Ok(true)) && !first_from.contains(&ack.from) {
                            first_from.push(ack.from);
                        }
                        if let Err(e) = fatal(&r) {
                            // The acks before this one are failed with the transaction.
                            let _ = reply.send(acks.iter().map(|_| Err(e.clone())).collect());
                            return Err(e);
                        }
                        out.push(r);
                    }
                    replies.push(Reply::Ack(reply, out, first_from));
                }
                WriteOp::Purge { cutoff, reply } => {
                    let r = apply::purge(t, tally, cutoff, at);
                    if let Err(e) = fatal(&r) {
                        let _ = reply.send(Err(e.clone()));
                        return Err(e);
                    }
                    replies.push(Reply::Purge(reply, r));
                }
                WriteOp::SetMeta { entries, reply } => {
                    let r = entries.iter().try_for_each(|(k, v)| t.set_counter(k, *v));
                    if let Err(e) = fatal(&r) {
                        let _ = reply.send(Err(e.clone()));
                        return Err(e);
                    }
                    replies.push(Reply::Unit(reply, r));
                }
                WriteOp::RaiseMeta { entries, reply } => {
                    let r = entries.iter().try_for_each(|(k, v)| apply::raise(t, k, *v));
                    if let Err(e) = fatal(&r) {
                        let _ = reply.send(Err(e.clone()));
                        return Err(e);
                    }
                    replies.push(Reply::Unit(reply, r));
                }
                WriteOp::Feedback { fb, digest, envelope, reply } => {
                    let r = apply::feedback(t, tally, &self.signer, &fb, digest, envelope, at);
                    if let Err(e) = fatal(&r) {
                        let _ = reply.send(Err(e.clone()));
                        return Err(e);
                    }
                    let fresh = matches!(&r, Ok(s) if !s.duplicate);
                    replies.push(Reply::Other(reply, r, fresh.then_some(fb.from)));
                }
                WriteOp::Statement { st, digest, envelope, reply } => {
                    let r = apply::statement(t, tally, &self.signer, &st, digest, envelope, at);
                    if let Err(e) = fatal(&r) {
                        let _ = reply.send(Err(e.clone()));
                        return Err(e);
                    }
                    replies.push(Reply::Other(reply, r, None));
                }
                WriteOp::Delivered { principal, tips } => {
                    apply::delivered(t, tally, &principal, &tips, at)?;
                }
                WriteOp::Checkpoint { reply } => {
                    let r = apply::checkpoint(t, &self.signer, 1, at);
                    if let Err(e) = fatal(&r) {
                        let _ = reply.send(Err(e.clone()));
                        return Err(e);
                    }
                    replies.push(Reply::Checkpoint(reply, r));
                }
                WriteOp::Cosign { cs, envelope, reply } => {
                    let r = apply::cosign(t, &cs, &envelope);
                    if let Err(e) = fatal(&r) {
                        let _ = reply.send(Err(e.clone()));
                        return Err(e);
                    }
                    replies.push(Reply::Unit(reply, r));
                }
                WriteOp::Crossed { peer, items, reply } => {
                    let r = apply::crossed(t, tally, peer, &items, at);
                    if let Err(e) = fatal(&r) {
                        let _ = reply.send(Err(e.clone()));
                        return Err(e);
                    }
                    let from = items.first().map_or(peer, |c| c.from);
                    replies.push(Reply::Crossed(reply, r, from));
                }
                WriteOp::Event(e) => {
                    apply::append_event(t, tally, &e)?;
                }
            }
        }
        Ok(())
    }

    /// Applies a committed batch to the metrics.
    fn record(&self, t: &Tally, weight: usize, dropped: u64, took: std::time::Duration) {
        use crate::metrics::{DirectionLabels, ToLabels};
        let m = &self.metrics;
        m.commit_seconds.observe(took.as_secs_f64());
        m.commit_batch_size.observe(weight as f64);
        m.audit_entries.inc_by(t.appended);
        m.audit_events_dropped.inc_by(dropped);
        for (from, to) in &t.accepted {
            m.tips_accepted.get_or_create(&DirectionLabels { from: from.clone(), to: to.clone() }).inc();
            m.pending_tips.get_or_create(&ToLabels { to: to.clone() }).inc();
        }
        for (from, to) in &t.delivered {
            m.tips_delivered.get_or_create(&DirectionLabels { from: from.clone(), to: to.clone() }).inc();
        }
        for to in &t.acked {
            m.pending_tips.get_or_create(&ToLabels { to: to.clone() }).dec();
        }
    }

    /// Answers every waiter of a durable commit and wakes subscribers.
    fn answer(&self, replies: Vec<Reply>, fresh_to: Vec<Jurisdiction>) {
        for to in fresh_to {
            self.notifier.tip_committed(to);
        }
        let mut acked_from: Vec<Jurisdiction> = Vec::new();
        for r in replies {
            match r {
                Reply::Submit(tx, res) => {
                    let _ = tx.send(res);
                }
                Reply::Ack(tx, res, first_from) => {
                    for from in first_from {
                        if !acked_from.contains(&from) {
                            acked_from.push(from);
                        }
                    }
                    let _ = tx.send(res);
                }
                Reply::Purge(tx, res) => {
                    let _ = tx.send(res);
                }
                Reply::Unit(tx, res) => {
                    let _ = tx.send(res);
                }
                Reply::Crossed(tx, res, from) => {
                    if res.is_ok() && !acked_from.contains(&from) {
                        acked_from.push(from);
                    }
                    let _ = tx.send(res);
                }
                Reply::Checkpoint(tx, res) => {
                    let _ = tx.send(res);
                }
                Reply::Other(tx, res, notify) => {
                    if let Some(j) = notify {
                        if !acked_from.contains(&j) {
                            acked_from.push(j);
                        }
                    }
                    let _ = tx.send(res);
                }
            }
        }
        for from in acked_from {
            self.notifier.ack_committed(from);
        }
    }
}

/// A storage failure aborts the whole transaction; a rule's refusal is only that operation's answer.
fn fatal<T>(r: &Result<T, StoreError>) -> Result<(), StoreError> {
    match r {
        Err(e @ (StoreError::Failed(_) | StoreError::Full | StoreError::Corrupt(_))) => Err(e.clone()),
        _ => Ok(()),
    }
}

/// Benchmark-only switch (feature `bench-no-audit`): the audit log can be turned off to
/// measure its cost. Never compiled into a release build of the relay.
#[cfg(feature = "bench-no-audit")]
pub mod bench {
    use std::sync::atomic::{AtomicBool, Ordering};

    static AUDIT: AtomicBool = AtomicBool::new(true);

    /// Turns the audit log on or off.
    pub fn set_audit_enabled(on: bool) {
        AUDIT.store(on, Ordering::Relaxed);
    }

    /// Whether the audit log is on.
    pub fn audit_enabled() -> bool {
        AUDIT.load(Ordering::Relaxed)
    }
}
