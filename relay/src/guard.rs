//! Run-time limits per connection and per principal (DESIGN §12): the async side of
//! [`crate::core`]. Byte budgets are semaphores whose permits are bytes; a request body
//! holds its size from before it is read until it is handled, and an answer holds its
//! size from before it is built until the peer has read it (or its stream is reset). So
//! what one connection, or one principal over all its connections, can make the relay
//! hold is capped whatever the peer does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tiprelay_proto::wire::{Request, MAX_BATCH_TIPS, MAX_FRAME_BYTES};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{Rates, RelayConfig};
use crate::core::bucket::TokenBucket;

/// Which of a principal's rates a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateKind {
    /// Tips submitted.
    Tips,
    /// Acks.
    Acks,
    /// Reads.
    Reads,
    /// Signed reports (feedback, statements, cosignatures).
    Reports,
    /// Fresh checkpoints.
    FreshCheckpoints,
}

impl RateKind {
    /// The name used in messages and in relay.toml (`[limits.rate.NAME]`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Tips => "tips",
            Self::Acks => "acks",
            Self::Reads => "reads",
            Self::Reports => "reports",
            Self::FreshCheckpoints => "fresh_checkpoints",
        }
    }
}

/// The rate a request spends, and how many tokens.
pub fn rate_of(req: &Request) -> (RateKind, u32) {
    let n = |v: &Vec<Vec<u8>>| u32::try_from(v.len()).unwrap_or(u32::MAX).max(1);
    match req {
        Request::Submit { .. } => (RateKind::Tips, 1),
        Request::SubmitBatch { envelopes } => (RateKind::Tips, n(envelopes)),
        Request::Ack { .. } => (RateKind::Acks, 1),
        Request::AckBatch { envelopes } => (RateKind::Acks, n(envelopes)),
        Request::Forward { items } => (RateKind::Tips, u32::try_from(items.len()).unwrap_or(u32::MAX).max(1)),
        Request::Feedback { .. }
        | Request::Statement { .. }
        | Request::Cosign { .. }
        | Request::PeerStatement { .. }
        | Request::RelayStatement { .. } => (RateKind::Reports, 1),
        Request::Checkpoint { fresh: true } => (RateKind::FreshCheckpoints, 1),
        _ => (RateKind::Reads, 1),
    }
}

/// What an answer to `req` is expected to take at most, reserved before it is built: a
/// full frame for the requests that list things, 4 KiB per item of a batch, 64 KiB for
/// the others. An answer found larger once built is reserved again at its real size.
pub fn answer_estimate(req: &Request) -> usize {
    match req {
        Request::Fetch { .. }
        | Request::Records { .. }
        | Request::PeerRecords { .. }
        | Request::Acks { .. }
        | Request::Statements { .. } => MAX_FRAME_BYTES + 4,
        Request::SubmitBatch { .. } | Request::AckBatch { .. } | Request::Forward { .. } => MAX_BATCH_TIPS * 4096,
        _ => 64 * 1024,
    }
}

struct Buckets {
    tips: TokenBucket,
    acks: TokenBucket,
    reads: TokenBucket,
    reports: TokenBucket,
    fresh: TokenBucket,
}

impl Buckets {
    fn new(r: &Rates, now: Instant) -> Self {
        Self {
            tips: TokenBucket::new(r.tips, now),
            acks: TokenBucket::new(r.acks, now),
            reads: TokenBucket::new(r.reads, now),
            reports: TokenBucket::new(r.reports, now),
            fresh: TokenBucket::new(r.fresh_checkpoints, now),
        }
    }

    fn get(&mut self, k: RateKind) -> &mut TokenBucket {
        match k {
            RateKind::Tips => &mut self.tips,
            RateKind::Acks => &mut self.acks,
            RateKind::Reads => &mut self.reads,
            RateKind::Reports => &mut self.reports,
            RateKind::FreshCheckpoints => &mut self.fresh,
        }
    }

    fn all_full(&mut self, now: Instant) -> bool {
        [RateKind::Tips, RateKind::Acks, RateKind::Reads, RateKind::Reports, RateKind::FreshCheckpoints]
            .into_iter()
            .all(|k| self.get(k).is_full(now))
    }
}

/// One principal's limits, shared by its connections.
pub struct PrincipalState {
    connections: AtomicUsize,
    /// Request bytes over its connections.
    pub requests: Arc<Semaphore>,
    /// Answer bytes over its connections.
    pub answers: Arc<Semaphore>,
    buckets: Mutex<Buckets>,
}

impl PrincipalState {
    /// Spends `n` tokens of rate `k`, or says how long to wait.
    pub fn take(&self, k: RateKind, n: u32, now: Instant) -> Result<(), Duration> {
        match self.buckets.lock() {
            Ok(mut b) => b.get(k).take(n, now),
            Err(poisoned) => poisoned.into_inner().get(k).take(n, now),
        }
    }
}

/// Every principal with a connection (or a recent one), by identity.
pub struct Principals {
    map: Mutex<HashMap<String, Arc<PrincipalState>>>,
    rates: Rates,
    requests: usize,
    answers: usize,
    max_connections: usize,
}

/// A principal's connection slot; given back when dropped.
pub struct ConnectionSlot {
    principals: Arc<Principals>,
    identity: String,
    /// The principal's limits.
    pub principal: Arc<PrincipalState>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.principal.connections.fetch_sub(1, Ordering::AcqRel);
        self.principals.forget_if_idle(&self.identity);
    }
}

impl Principals {
    /// From the relay's limits.
    pub fn new(c: &RelayConfig) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            rates: c.rates,
            requests: c.request_buffer_per_principal,
            answers: c.answer_buffer_per_principal,
            max_connections: c.max_connections_per_principal,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<PrincipalState>>> {
        match self.map.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Takes one of `identity`'s connection slots, or None when it has its maximum.
    pub fn connect(self: &Arc<Self>, identity: &str) -> Option<ConnectionSlot> {
        // Counted under the map's lock, so a concurrent `forget_if_idle` cannot drop the
        // state this connection is about to share.
        let (principal, before) = {
            let mut map = self.lock();
            let principal = map
                .entry(identity.to_owned())
                .or_insert_with(|| {
                    Arc::new(PrincipalState {
                        connections: AtomicUsize::new(0),
                        requests: Arc::new(Semaphore::new(self.requests)),
                        answers: Arc::new(Semaphore::new(self.answers)),
                        buckets: Mutex::new(Buckets::new(&self.rates, Instant::now())),
                    })
                })
                .clone();
            let before = principal.connections.fetch_add(1, Ordering::AcqRel);
            (principal, before)
        };
        let slot = ConnectionSlot { principals: self.clone(), identity: identity.to_owned(), principal };
        // Dropping the slot gives the count back.
        (before < self.max_connections).then_some(slot)
    }

    /// Forgets a principal with no connection whose buckets are full again (its state is
    /// then the same as a new one's), so the map holds only active principals.
    fn forget_if_idle(&self, identity: &str) {
        let mut map = self.lock();
        let idle = map.get(identity).is_some_and(|p| {
            p.connections.load(Ordering::Acquire) == 0
                && match p.buckets.lock() {
                    Ok(mut b) => b.all_full(Instant::now()),
                    Err(_) => true,
                }
        });
        if idle {
            map.remove(identity);
        }
    }
}

/// Bytes held from a connection's budget and its principal's.
pub struct Held {
    conn: OwnedSemaphorePermit,
    principal: OwnedSemaphorePermit,
}

impl Held {
    /// Bytes held.
    pub fn len(&self) -> usize {
        self.conn.num_permits()
    }

    /// Whether nothing is held (never: at least one byte is).
    pub fn is_empty(&self) -> bool {
        self.conn.num_permits() == 0
    }

    /// Gives back all but `n` bytes (once an answer's real size is known).
    pub fn shrink_to(&mut self, n: usize) {
        let keep = n.max(1);
        for p in [&mut self.conn, &mut self.principal] {
            let extra = p.num_permits().saturating_sub(keep);
            if extra > 0 {
                drop(p.split(extra));
            }
        }
    }
}

/// Takes `n` bytes from the connection's budget, then from the principal's (always in that
/// order, so two holders never wait on each other), waiting at most `wait`.
pub async fn hold(conn: &Arc<Semaphore>, principal: &Arc<Semaphore>, n: usize, wait: Duration) -> Option<Held> {
    let n = u32::try_from(n.max(1)).ok()?;
    tokio::time::timeout(wait, async {
        let conn = conn.clone().acquire_many_owned(n).await.ok()?;
        let principal = principal.clone().acquire_many_owned(n).await.ok()?;
        Some(Held { conn, principal })
    })
    .await
    .ok()
    .flatten()
}
