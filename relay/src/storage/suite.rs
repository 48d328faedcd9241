//! The storage behaviour suite: every engine must pass it. Each test runs once per engine
//! in [`engines`] (redb, and PostgreSQL on a throwaway cluster the test starts), through the writer
//! and the [`Store`] API the server uses.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tiprelay_certs::fixture::FixturePki;
use tiprelay_certs::profile::LeafKind;
use tiprelay_proto::{
    Authority, Category, DeliveryAck, Digest, ErrorCode, Jurisdiction, Signer, Timestamp, Tip, TipId, Tlp, Urgency,
};

use super::*;

type MakeEngine = fn(&Path) -> Arc<dyn Engine>;

/// Every engine under test, by name.
fn engines() -> Vec<(&'static str, MakeEngine)> {
    vec![
        ("redb", |dir| Arc::new(redb::RedbEngine::open(&dir.join("relay.redb")).unwrap())),
        ("postgres", postgres::testing::TestPg::open),
    ]
}

struct World {
    pki: FixturePki,
    relay: Signer,
    ana: Signer,
    sam: Signer,
    mx: Jurisdiction,
    us: Jurisdiction,
}

fn world() -> World {
    let (mx, us): (Jurisdiction, Jurisdiction) = ("MX".parse().unwrap(), "US".parse().unwrap());
    let base = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let pki = FixturePki::new(
        "suite",
        &[Authority::Jurisdiction(mx), Authority::Jurisdiction(us), Authority::Operator],
        base,
    )
    .unwrap();
    let leaf = |p: &str| pki.leaf(&p.parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
    let relay = leaf("tiprelay://OPERATOR/relay/r");
    let ana = leaf("tiprelay://MX/analyst/ana");
    let sam = leaf("tiprelay://US/analyst/sam");
    World { relay, ana, sam, mx, us, pki }
}

impl World {
    fn start(&self, engine: Arc<dyn Engine>, batch: usize, quota: u64) -> (Store, WriterThread) {
        let signer = self
            .pki
            .leaf(&"tiprelay://OPERATOR/relay/r".parse().unwrap(), LeafKind::Signing)
            .unwrap()
            .signer()
            .unwrap();
        Store::start(engine, signer, [self.mx, self.us], batch, quota, Default::default()).unwrap()
    }

    fn tip(&self, n: u8, summary: &str) -> (Tip, Digest, Vec<u8>) {
        let tip = Tip {
            id: TipId::new_v7(now(), [n; 10]),
            from: self.mx,
            to: self.us,
            author: self.ana.identity().clone(),
            created: now(),
            category: Category::FuelTheft,
            urgency: Urgency::Routine,
            summary: summary.into(),
            details: None,
            lang: "es".parse().unwrap(),
            location: None,
            observed_at: None,
            valid_until: None,
            source_reliability: None,
            info_credibility: None,
            tlp: Tlp::Green,
            refs: vec![],
        };
        let env = self.ana.sign(&tip).unwrap();
        (tip, Digest::of(&env), env)
    }

    fn ack(&self, by: &Signer, tip: &Tip, digest: Digest, seq: u64) -> (DeliveryAck, Vec<u8>) {
        let a = DeliveryAck {
            tip: tip.id,
            from: self.mx,
            to: self.us,
            digest,
            seq,
            by: by.identity().clone(),
            received: now(),
            refused: None,
        };
        let env = by.sign(&a).unwrap();
        (a, env)
    }
}

fn receipt_of(env: &[u8]) -> tiprelay_proto::Receipt {
    tiprelay_proto::parse::<tiprelay_proto::Receipt>(env).unwrap().message
}

/// Every receipt names the audit entry that records its tip's acceptance.
fn assert_receipts_match_the_log(store: &Store, receipts: &[Vec<u8>]) {
    let events = store.events().unwrap();
    for r in receipts {
        let r = receipt_of(r);
        let e = &events[usize::try_from(r.log_index).unwrap()];
        assert_eq!(e.kind, "accepted");
        assert_eq!(e.tip.as_deref(), Some(r.tip.to_string().as_str()), "entry {} names another tip", r.log_index);
        assert_eq!(e.seq, Some(r.seq));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_tips_get_gap_free_sequences_and_receipts_that_name_their_log_entry() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(make(dir.path()), 16, u64::MAX);
        // 20 concurrent senders of 10 tips each: many overlapping group commits.
        let mut tasks = Vec::new();
        for s in 0..20u8 {
            let store = store.clone();
            let tips: Vec<_> = (0..10u8).map(|i| w.tip(s * 10 + i, "concurrent")).collect();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for (t, d, e) in tips {
                    out.push(store.submit(t, d, e).await.unwrap());
                }
                out
            }));
        }
        let mut receipts = Vec::new();
        let mut seqs = Vec::new();
        for t in tasks {
            for s in t.await.unwrap() {
                assert!(!s.duplicate);
                seqs.push(s.seq);
                receipts.push(s.receipt);
            }
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=200).collect::<Vec<u64>>(), "{name}: sequence numbers are not 1..=200");
        assert_receipts_match_the_log(&store, &receipts);
        assert_eq!(store.direction_counts().unwrap(), vec![("MX".into(), "US".into(), 200)], "{name}");
        drop(store);
        writer.join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_signed_on_two_threads_keeps_its_order_and_its_log_indexes() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(make(dir.path()), 256, u64::MAX);
        let tips: Vec<_> = (0..64u8).map(|i| w.tip(i, "batch")).collect();
        let writes = tips.iter().map(|(t, d, e)| (Box::new(t.clone()), *d, e.clone())).collect();
        let out = store.submit_many(writes).await.unwrap();
        let mut receipts = Vec::new();
        for (i, (r, (t, _, _))) in out.into_iter().zip(&tips).enumerate() {
            let s = r.unwrap();
            assert_eq!(s.seq, i as u64 + 1, "{name}: outcomes out of order");
            assert_eq!(receipt_of(&s.receipt).tip, t.id, "{name}");
            receipts.push(s.receipt);
        }
        assert_receipts_match_the_log(&store, &receipts);
        drop(store);
        writer.join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_gets_the_original_receipt_and_other_bytes_under_the_same_id_conflict() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(make(dir.path()), 16, u64::MAX);
        let (t, d, e) = w.tip(1, "first");
        // The same tip twice in one batch, and again later: one acceptance.
        let out = store
            .submit_many(vec![(Box::new(t.clone()), d, e.clone()), (Box::new(t.clone()), d, e.clone())])
            .await
            .unwrap();
        let first = out[0].as_ref().unwrap();
        let again = out[1].as_ref().unwrap();
        assert!(!first.duplicate && again.duplicate, "{name}");
        assert_eq!(first.receipt, again.receipt, "{name}");
        let later = store.submit(t.clone(), d, e).await.unwrap();
        assert!(later.duplicate && later.receipt == first.receipt && later.seq == 1, "{name}");
        // Same id, other content.
        let mut other = t.clone();
        other.summary = "changed".into();
        let env = w.ana.sign(&other).unwrap();
        let err = store.submit(other, Digest::of(&env), env).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict, "{name}: {err}");
        assert!(matches!(err, StoreError::Conflict { ref existing, .. } if *existing == d.to_hex()), "{name}");
        assert_eq!(store.events().unwrap().iter().filter(|e| e.kind == "accepted").count(), 1, "{name}");
        drop(store);
        writer.join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pending_quota_refuses_an_author_until_its_tips_are_acknowledged() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (t1, d1, e1) = w.tip(1, "one");
        let quota = e1.len() as u64 + 10;
        let (store, writer) = w.start(make(dir.path()), 16, quota);
        let s1 = store.submit(t1.clone(), d1, e1.clone()).await.unwrap();
        let (t2, d2, e2) = w.tip(2, "two");
        let err = store.submit(t2.clone(), d2, e2.clone()).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::QuotaExceeded, "{name}: {err}");
        // A replay of the accepted one is still answered.
        assert!(store.submit(t1.clone(), d1, e1).await.unwrap().duplicate, "{name}");
        let (a, ae) = w.ack(&w.sam, &t1, d1, s1.seq);
        assert!(store.ack(a, ae).await.unwrap(), "{name}");
        let s2 = store.submit(t2, d2, e2).await.unwrap();
        assert_eq!(s2.seq, 2, "{name}: a refused tip takes no sequence number");
        drop(store);
        writer.join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_move_the_cursor_in_any_order_and_must_match_the_stored_tip() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(make(dir.path()), 16, u64::MAX);
        let mut sent = Vec::new();
        for i in 0..4u8 {
            let (t, d, e) = w.tip(i, "x");
            let s = store.submit(t.clone(), d, e).await.unwrap();
            sent.push((t, d, s.seq));
        }
        let sam = w.sam.identity().to_string();
        let waiting = |store: &Store| store.pending(&sam, w.us, &[w.mx], 100).unwrap();
        assert_eq!(waiting(&store), 4, "{name}");
        // Out of order: 3, then 1; then a second ack of 3 is not the first.
        let (t, d, seq) = &sent[2];
        let (a, e) = w.ack(&w.sam, t, *d, *seq);
        assert!(store.ack(a.clone(), e.clone()).await.unwrap());
        assert!(!store.ack(a, e).await.unwrap(), "{name}: the second ack of a tip is not its first");
        let (t, d, seq) = &sent[0];
        let (a, e) = w.ack(&w.sam, t, *d, *seq);
        store.ack(a, e).await.unwrap();
        assert_eq!(waiting(&store), 2, "{name}");
        let (deliveries, _) = store.fetch(&sam, w.us, &[w.mx], 10).unwrap();
        assert_eq!(deliveries.len(), 2, "{name}: only the unacknowledged are fetched");
        // A wrong seq or digest is refused as unknown_tip and changes nothing.
        let (t, d, seq) = &sent[1];
        let (a, e) = w.ack(&w.sam, t, *d, seq + 1);
        assert_eq!(store.ack(a, e).await.unwrap_err().code(), ErrorCode::UnknownTip, "{name}");
        let (a, e) = w.ack(&w.sam, t, Digest([0; 32]), *seq);
        assert_eq!(store.ack(a, e).await.unwrap_err().code(), ErrorCode::UnknownTip, "{name}");
        // The author hears of each first ack once.
        let notices = store.acks_for(&w.ana.identity().to_string(), 0, 100).unwrap();
        assert_eq!(notices.len(), 2, "{name}");
        drop(store);
        writer.join();
    }
}

/// A signed refusal (PROTOCOL §5.3) is recorded like an ack: it moves the cursor, reaches
/// the author as its first answer, and is logged as `refused` with its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_refusal_moves_the_cursor_reaches_the_author_and_is_logged_as_refused() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(make(dir.path()), 16, u64::MAX);
        let (t, d, e) = w.tip(1, "x");
        let seq = store.submit(t.clone(), d, e).await.unwrap().seq;
        let (mut a, _) = w.ack(&w.sam, &t, d, seq);
        a.refused =
            Some(tiprelay_proto::Refusal { code: ErrorCode::Revoked, reason: "revoked before acceptance".into() });
        let env = w.sam.sign(&a).unwrap();
        assert!(store.ack(a, env.clone()).await.unwrap(), "{name}");
        let sam = w.sam.identity().to_string();
        assert_eq!(store.pending(&sam, w.us, &[w.mx], 100).unwrap(), 0, "{name}: the cursor moved");
        let notices = store.acks_for(&w.ana.identity().to_string(), 0, 100).unwrap();
        assert_eq!(notices.len(), 1, "{name}");
        assert!(matches!(&notices[0].body, tiprelay_proto::wire::NoticeBody::Ack(b) if *b == env), "{name}");
        let events = store.events().unwrap();
        let refused: Vec<_> = events.iter().filter(|e| e.kind == "refused").collect();
        assert_eq!(refused.len(), 1, "{name}: {events:?}");
        assert_eq!(refused[0].code.as_deref(), Some("revoked"), "{name}");
        assert_eq!(refused[0].tip.as_deref(), Some(t.id.to_string().as_str()), "{name}");
        assert!(!events.iter().any(|e| e.kind == "acked"), "{name}");
        drop(store);
        writer.join();
    }
}

/// Acks out of order within one group commit (where an engine may read ahead and keep the
/// out-of-order set in the transaction): the cursor ends where it must, a repeated ack in
/// the same batch is not a first ack, and what was recorded survives into the next batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_out_of_order_in_one_batch_move_the_cursor_as_one_by_one() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(make(dir.path()), 64, u64::MAX);
        let mut sent = Vec::new();
        for i in 0..6u8 {
            let (t, d, e) = w.tip(i, "x");
            let s = store.submit(t.clone(), d, e).await.unwrap();
            sent.push((t, d, s.seq));
        }
        let sam = w.sam.identity().to_string();
        let waiting = |store: &Store| store.pending(&sam, w.us, &[w.mx], 100).unwrap();
        let ack = |k: usize| {
            let (t, d, seq) = &sent[k];
            w.ack(&w.sam, t, *d, *seq)
        };
        // seqs 3, 1, 3 again, 2, 5 in one batch: the cursor reaches 3; 5 stays recorded above it.
        let out = store.ack_many(vec![ack(2), ack(0), ack(2), ack(1), ack(4)]).await.unwrap();
        let firsts: Vec<bool> = out.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(firsts, vec![true, true, false, true, true], "{name}");
        assert_eq!(waiting(&store), 2, "{name}: seqs 4 and 6 wait");
        // The next batch: 4 closes the gap, and the cursor runs over the recorded 5.
        let out = store.ack_many(vec![ack(3), ack(4)]).await.unwrap();
        let firsts: Vec<bool> = out.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(firsts, vec![true, false], "{name}");
        assert_eq!(waiting(&store), 1, "{name}: only seq 6 waits");
        let (deliveries, _) = store.fetch(&sam, w.us, &[w.mx], 10).unwrap();
        assert_eq!(deliveries.len(), 1, "{name}");
        let notices = store.acks_for(&w.ana.identity().to_string(), 0, 100).unwrap();
        assert_eq!(notices.len(), 5, "{name}: one notice per first ack");
        drop(store);
        writer.join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_committed_survives_a_reopen() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (t, d, e) = w.tip(9, "persist");
        let (receipt, head) = {
            let (store, writer) = w.start(make(dir.path()), 16, u64::MAX);
            let s = store.submit(t.clone(), d, e.clone()).await.unwrap();
            let head = store.checkpoint().await.unwrap().unwrap();
            drop(store);
            writer.join();
            (s.receipt, head)
        };
        let (store, writer) = w.start(make(dir.path()), 16, u64::MAX);
        let rec = store.tip(w.mx, t.id.as_bytes()).unwrap().unwrap();
        assert_eq!(rec.receipt, receipt, "{name}");
        assert_eq!(store.latest_checkpoint().unwrap().unwrap().checkpoint, head.checkpoint, "{name}");
        // The next tip continues the sequence and the log.
        let (t2, d2, e2) = w.tip(10, "next");
        let s2 = store.submit(t2, d2, e2).await.unwrap();
        assert_eq!(s2.seq, 2, "{name}");
        assert_receipts_match_the_log(&store, &[receipt, s2.receipt]);
        let proof = store.consistency(1, store.events().unwrap().len() as u64).unwrap();
        assert!(!proof.is_empty() || store.events().unwrap().len() == 1, "{name}");
        drop(store);
        writer.join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_and_cosignatures_outside_the_log_get_their_own_codes() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(make(dir.path()), 16, u64::MAX);
        let (t, d, e) = w.tip(1, "x");
        store.submit(t, d, e).await.unwrap();
        let n = store.events().unwrap().len() as u64;
        assert_eq!(store.inclusion(n, n).unwrap_err().code(), ErrorCode::ProofOutOfRange, "{name}");
        assert_eq!(store.consistency(0, n).unwrap_err().code(), ErrorCode::ProofOutOfRange, "{name}");
        assert_eq!(store.consistency(1, n + 1).unwrap_err().code(), ErrorCode::ProofOutOfRange, "{name}");
        let (entry, _) = store.inclusion(0, n).unwrap();
        assert!(!entry.is_empty());
        let head = store.checkpoint().await.unwrap().unwrap();
        let cp = tiprelay_proto::parse::<tiprelay_proto::Checkpoint>(&head.checkpoint).unwrap().message;
        let cosig = |size: u64, root: Digest| {
            let cs = tiprelay_proto::Cosignature {
                log: cp.log.clone(),
                size,
                root,
                checkpoint_time: cp.time,
                by: w.sam.identity().clone(),
                created: now(),
            };
            let env = w.sam.sign(&cs).unwrap();
            (cs, env)
        };
        let (cs, env) = cosig(cp.size + 5, cp.root);
        assert_eq!(store.cosign(cs, env).await.unwrap_err().code(), ErrorCode::UnknownCheckpoint, "{name}");
        let (cs, env) = cosig(cp.size, Digest([9; 32]));
        assert_eq!(store.cosign(cs, env).await.unwrap_err().code(), ErrorCode::CheckpointMismatch, "{name}");
        let (cs, env) = cosig(cp.size, cp.root);
        store.cosign(cs.clone(), env.clone()).await.unwrap();
        store.cosign(cs, env).await.unwrap();
        assert_eq!(store.latest_checkpoint().unwrap().unwrap().cosignatures.len(), 1, "{name}: idempotent");
        drop(store);
        writer.join();
    }
}

/// An engine whose commits fail while `fail` is set (as a full disk would).
struct Flaky {
    inner: Arc<dyn Engine>,
    fail: Arc<AtomicBool>,
    failed: Arc<AtomicU64>,
}

impl Engine for Flaky {
    fn write(&self, f: WriteFn<'_>) -> Result<(), StoreError> {
        let fail = self.fail.load(Ordering::SeqCst);
        self.inner.write(&mut |t| {
            f(t)?;
            if fail {
                self.failed.fetch_add(1, Ordering::SeqCst);
                return Err(StoreError::Full);
            }
            Ok(())
        })
    }
    fn read(&self) -> Result<Box<dyn ReadTables + '_>, StoreError> {
        self.inner.read()
    }
    fn describe(&self) -> String {
        format!("flaky {}", self.inner.describe())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_answers_nothing_as_accepted_and_the_writer_recovers_in_step() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let fail = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicU64::new(0));
        let engine = Arc::new(Flaky { inner: make(dir.path()), fail: fail.clone(), failed: failed.clone() });
        let (store, writer) = w.start(engine, 4, u64::MAX);
        let mut accepted = Vec::new();
        let mut refused = 0;
        // Rounds of concurrent submits; the disk is "full" during the middle rounds.
        let mut probes = 0u64;
        for round in 0..6u8 {
            fail.store((2..4).contains(&round), Ordering::SeqCst);
            for _ in 0..3 {
                // Best-effort audit events: kept, or counted as dropped, never lost silently.
                store.event(Event::new("probe", now()));
                probes += 1;
            }
            let mut tasks = Vec::new();
            for k in 0..8u8 {
                let (t, d, e) = w.tip(round * 8 + k, "flaky");
                let store = store.clone();
                tasks.push(tokio::spawn(async move { (t.id, store.submit(t, d, e).await) }));
            }
            for task in tasks {
                match task.await.unwrap() {
                    (id, Ok(s)) => accepted.push((id, s)),
                    (_, Err(e)) => {
                        assert!(matches!(e, StoreError::Full | StoreError::Failed(_)), "{name}: {e}");
                        refused += 1;
                    }
                }
            }
        }
        assert!(failed.load(Ordering::SeqCst) > 0 && refused > 0, "{name}: no commit failed");
        // Everything answered as accepted is there, gap-free, and named by its log entry.
        let mut seqs: Vec<u64> = accepted.iter().map(|(_, s)| s.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=accepted.len() as u64).collect::<Vec<_>>(), "{name}: gaps after a failed commit");
        for (id, s) in &accepted {
            assert_eq!(store.tip(w.mx, id.as_bytes()).unwrap().unwrap().receipt, s.receipt, "{name}");
        }
        let receipts: Vec<Vec<u8>> = accepted.iter().map(|(_, s)| s.receipt.clone()).collect();
        assert_receipts_match_the_log(&store, &receipts);
        assert_eq!(store.events().unwrap().iter().filter(|e| e.kind == "accepted").count(), accepted.len(), "{name}");
        // One more commit records what was dropped.
        store.checkpoint().await.unwrap();
        let events = store.events().unwrap();
        let kept = events.iter().filter(|e| e.kind == "probe").count() as u64;
        let lost: u64 = events.iter().filter(|e| e.kind == "events_dropped").filter_map(|e| e.seq).sum();
        assert!(kept + lost >= probes && kept < probes, "{name}: {kept} kept + {lost} dropped of {probes} probes");
        drop(store);
        writer.join();
    }
}

/// An engine that answers Ok without running the transaction (a broken engine).
struct Skips(Arc<dyn Engine>);

impl Engine for Skips {
    fn write(&self, _f: WriteFn<'_>) -> Result<(), StoreError> {
        Ok(())
    }
    fn read(&self) -> Result<Box<dyn ReadTables + '_>, StoreError> {
        self.0.read()
    }
    fn describe(&self) -> String {
        "skips".into()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_that_skips_the_transaction_accepts_nothing_and_does_not_hang_the_writer() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(Arc::new(Skips(make(dir.path()))), 16, u64::MAX);
        for i in 0..3u8 {
            let (t, d, e) = w.tip(i, "lost");
            let r = tokio::time::timeout(std::time::Duration::from_secs(10), store.submit(t, d, e)).await;
            assert!(matches!(r, Ok(Err(StoreError::Failed(_)))), "{name}: {r:?}");
        }
        drop(store);
        writer.join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_effort_events_lost_to_a_full_queue_are_counted_in_the_log() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        // Batch 1: a queue of 4, so a burst of 300 overflows it.
        let (store, writer) = w.start(make(dir.path()), 1, u64::MAX);
        for _ in 0..300 {
            store.event(Event::new("rejected", now()));
        }
        let mut done = false;
        // Anything that commits after the burst records the count.
        for _ in 0..50 {
            store.checkpoint().await.unwrap();
            let events = store.events().unwrap();
            let kept = events.iter().filter(|e| e.kind == "rejected").count() as u64;
            let lost: u64 = events.iter().filter(|e| e.kind == "events_dropped").filter_map(|e| e.seq).sum();
            if kept + lost == 300 {
                assert!(lost > 0, "{name}: the burst was expected to overflow a queue of 4");
                done = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(done, "{name}: events were lost without being counted");
        drop(store);
        writer.join();
    }
}

/// Any principal can mint checkpoints; an export's header stays bounded anyway, and the
/// bundle verifies (3,000 checkpoints here; the header carries at most 1,024).
#[test]
fn an_export_of_a_log_with_many_checkpoints_has_a_bounded_header_and_verifies() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let engine = make(dir.path());
        // 3,000 entries, each followed by a checkpoint, in one transaction.
        engine
            .write(&mut |t| {
                let mut tally = apply::Tally::default();
                for i in 0..3_000u64 {
                    apply::append_event(t, &mut tally, &Event { seq: Some(i), ..Event::new("rejected", now()) })?;
                    apply::checkpoint(t, &w.relay, 1, now())?;
                }
                Ok(())
            })
            .unwrap();
        let anchors = vec![tiprelay_proto::audit::Anchor {
            authority: Authority::Operator,
            root: w.pki.ca(Authority::Operator).unwrap().cert_der.clone(),
            crl: Some(w.pki.crl(Authority::Operator, &[], 1).unwrap()),
        }];
        let mut all = 0;
        engine
            .read()
            .unwrap()
            .checkpoint_sizes(0, u64::MAX, &mut |_| {
                all += 1;
                Ok(true)
            })
            .unwrap();
        assert!(all >= 3_000, "{name}: only {all} checkpoints were signed");
        let mut bundle = Vec::new();
        let header = export_bundle(&*engine, ExportRange::default(), anchors, &mut bundle).unwrap();
        assert!(header.count >= 3_000, "{name}: {} entries", header.count);
        assert!(header.checkpoints.len() <= crate::core::export::MAX_BUNDLE_CHECKPOINTS, "{name}");
        let mut seen = 0u64;
        let report = tiprelay_proto::audit::verify_bundle(&bundle[..], None, |_| seen += 1).unwrap();
        assert_eq!(seen, header.count, "{name}");
        assert_eq!(report.head().map(|c| c.checkpoint.size), Some(header.count), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_acknowledged_bodies_and_keeps_the_record() {
    for (name, make) in engines() {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = w.start(make(dir.path()), 16, u64::MAX);
        let (tip, digest, env) = w.tip(5, "fuel");
        let s = store.submit(tip.clone(), digest, env).await.unwrap();
        // Not acknowledged yet: nothing to purge, even with a cutoff in the future.
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 0, "{name}");
        let (a, e) = w.ack(&w.sam, &tip, digest, s.seq);
        assert!(store.ack(a, e).await.unwrap());
        // Acknowledged, but within the retention period: kept.
        assert_eq!(store.purge(Timestamp::from_unix_ms(0).unwrap()).await.unwrap(), 0, "{name}");
        assert!(store.tip(w.mx, tip.id.as_bytes()).unwrap().unwrap().envelope.is_some());
        // Past it: the body goes, the record stays.
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 1, "{name}");
        let rec = store.tip(w.mx, tip.id.as_bytes()).unwrap().unwrap();
        assert!(rec.envelope.is_none());
        assert_eq!(rec.digest, digest.0.to_vec());
        assert!(!rec.receipt.is_empty());
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 0, "{name}: purging twice is harmless");
        assert!(store
            .events()
            .unwrap()
            .iter()
            .any(|e| e.kind == "purged" && e.digest.as_deref() == Some(digest.to_hex().as_str())));

        // A second analyst of the recipient side who has acked only the first of two tips
        // keeps the second one's body alive.
        let bea =
            w.pki.leaf(&"tiprelay://US/analyst/bea".parse().unwrap(), LeafKind::Signing).unwrap().signer().unwrap();
        let (t2, d2, env2) = w.tip(6, "fuel 2");
        let s2 = store.submit(t2.clone(), d2, env2).await.unwrap();
        let (a, e) = w.ack(&bea, &tip, digest, s.seq);
        store.ack(a, e).await.unwrap();
        let (a, e) = w.ack(&w.sam, &t2, d2, s2.seq);
        assert!(store.ack(a, e).await.unwrap());
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 0, "{name}: bea has not acked tip 2");
        assert!(store.tip(w.mx, t2.id.as_bytes()).unwrap().unwrap().envelope.is_some());
        let (a, e) = w.ack(&bea, &t2, d2, s2.seq);
        store.ack(a, e).await.unwrap();
        assert_eq!(store.purge(now().saturating_add_ms(1000)).await.unwrap(), 1, "{name}");
        drop(store);
        writer.join();
    }
}
