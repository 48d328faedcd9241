//! Active–standby relays on one database: the lease.
//!
//! Several `tiprelay serve` processes may point at one PostgreSQL store; **one** serves at a
//! time. It holds the session-level advisory lock [`LEASE_LOCK`] on a connection of its own
//! and has bumped the lease's epoch (`tiprelay_lease`); the others wait as standbys (their
//! QUIC port open only for stateless resets) and try the lock every [`RETRY`].
//!
//! * **Takeover.** PostgreSQL releases a session lock as soon as the holder's connection
//!   ends: a relay killed with -9 closes its sockets, its backend exits, and a standby holds
//!   the lease within one [`RETRY`]. It bumps the epoch (under the writer's lock, so after
//!   any write transaction of the old holder), reads the store afresh, and serves.
//! * **Fencing.** Every write transaction checks, under the writer's lock, that the epoch is
//!   still its relay's ([`fence_sql`]). A relay that lost its lease without noticing (a
//!   partition, a paused process) cannot write after the new holder bumped the epoch: its
//!   transaction fails, nothing in it is answered, and the relay stops
//!   ([`LeaseState::wait_lost`]); the service manager restarts it as a standby.
//! * **A broken lease connection** (database restart, primary failover) is re-opened: when
//!   the lock can be taken again and the epoch is still ours, nobody took over and the relay
//!   goes on; a changed epoch means another relay did, and this one stops.
//!
//! Why active–standby rather than active–active: the relay's writer keeps sequence numbers,
//! the audit log's end and in-flight tips in memory between batches, and its delivery
//! notifications are in-process. Two active writers would fail each other's batches on
//! every interleaving (the writer re-reads after each failure, so they would stay correct,
//! but slow), and a recipient connected to one relay would not hear of tips accepted by the
//! other. One database serialises every write anyway, so a second active relay adds no
//! write throughput; a standby costs nothing but a connection, and takes over in about a
//! second (docs/OPERATIONS.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{Conn, PgTarget};
use crate::storage::StoreError;

/// The session-level advisory lock the serving relay holds ("tiprelay" + 1).
pub const LEASE_LOCK: i64 = super::WRITER_LOCK + 1;

/// The SQLSTATE a fenced write transaction raises when the epoch is not its relay's.
pub const LEASE_LOST: &str = "TRL01";

/// The error of a write refused by the fence.
pub const LOST_MESSAGE: &str =
    "this relay no longer holds the store's lease: another relay took over; this one stops (retry: the next relay answers)";

/// How often a standby tries the lease, and a holder re-opens a broken lease connection.
pub const RETRY: Duration = Duration::from_millis(200);

/// How often the holder checks its lease connection and epoch.
pub const CHECK: Duration = Duration::from_secs(1);

/// The statement that ends a write transaction's BEGIN when the relay holds lease `epoch`.
pub fn fence_sql(epoch: i64) -> String {
    format!(
        "DO $$BEGIN IF (SELECT epoch FROM tiprelay_lease WHERE id = 1) IS DISTINCT FROM {epoch} THEN \
         RAISE EXCEPTION USING ERRCODE = '{LEASE_LOST}', MESSAGE = 'tiprelay lease lost'; END IF; END$$"
    )
}

/// The lease as the serving relay sees it: its epoch, and whether it was lost.
#[derive(Debug)]
pub struct LeaseState {
    epoch: i64,
    lost: AtomicBool,
    notify: tokio::sync::Notify,
}

impl LeaseState {
    fn new(epoch: i64) -> Self {
        Self { epoch, lost: AtomicBool::new(false), notify: tokio::sync::Notify::new() }
    }

    /// The epoch this relay took.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Whether the lease is lost (another relay took over).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Marks the lease lost and wakes whoever waits for it.
    pub fn mark_lost(&self, why: &str) {
        if !self.lost.swap(true, Ordering::SeqCst) {
            tracing::error!(epoch = self.epoch, why, "the store's lease is lost: another relay took over");
        }
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Returns once the lease is lost.
    pub async fn wait_lost(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_lost() {
                return;
            }
            notified.await;
        }
    }
}

/// Who holds the lease now (for a standby's log), as stored in `tiprelay_lease`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The holder's description (host, pid, listen address).
    pub holder: String,
    /// Its epoch.
    pub epoch: i64,
    /// Since when (RFC 3339, the database's clock).
    pub since: String,
}

/// One attempt's outcome.
pub enum Attempt {
    /// This relay holds the lease now.
    Taken(Lease),
    /// Another relay does.
    HeldBy(Holder),
}

/// A relay trying to take the lease (a standby, or a relay starting).
pub struct Seeker {
    target: PgTarget,
    holder: String,
    conn: Option<Conn>,
}

impl Seeker {
    /// A seeker that will record `holder` (host, pid, listen address) in the lease.
    pub fn new(target: &PgTarget, holder: String) -> Self {
        Self { target: target.clone(), holder, conn: None }
    }

    /// Tries once: takes the lock (without waiting) and bumps the epoch, or says who holds
    /// it. A connection failure is an error (the caller tries again).
    pub fn attempt(&mut self) -> Result<Attempt, StoreError> {
        let conn = match self.conn.take() {
            Some(c) => c,
            None => Conn::open(&self.target)?,
        };
        let got = conn.call(|s| {
            let row = s.client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEASE_LOCK])?;
            Ok(row.get::<_, bool>(0))
        })?;
        if !got {
            let now = holder(&conn)?;
            self.conn = Some(conn);
            return Ok(Attempt::HeldBy(now));
        }
        let name = self.holder.clone();
        let epoch = conn.call(move |s| {
            let mut tx = s.client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&super::WRITER_LOCK])?;
            let row = tx.query_one(
                "INSERT INTO tiprelay_lease (id, epoch, holder, since) VALUES (1, 1, $1, now())
                 ON CONFLICT (id) DO UPDATE SET epoch = tiprelay_lease.epoch + 1, holder = $1, since = now()
                 RETURNING epoch",
                &[&name],
            )?;
            let epoch: i64 = row.get(0);
            tx.commit()?;
            Ok(epoch)
        })?;
        Ok(Attempt::Taken(Lease::hold(self.target.clone(), conn, epoch)))
    }
}

/// Who holds the lease, as recorded.
pub(super) fn holder(conn: &Conn) -> Result<Holder, StoreError> {
    conn.call(|s| {
        let rows = s.client.query(
            "SELECT holder, epoch, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM tiprelay_lease WHERE id = 1",
            &[],
        )?;
        Ok(rows.first().map_or_else(
            || Holder { holder: "(nobody yet)".into(), epoch: 0, since: String::new() },
            |r| Holder { holder: r.get(0), epoch: r.get(1), since: r.get(2) },
        ))
    })
}

/// Who holds the lease of the store at `target`, read without taking anything
/// (`tiprelay check-config`, operators).
pub fn current_holder(target: &PgTarget) -> Result<Holder, StoreError> {
    holder(&Conn::open(target)?)
}

/// The lease, held: a watchdog thread keeps its connection (and so the lock) and checks it
/// every [`CHECK`]. Dropping it releases the lease (the connection closes).
pub struct Lease {
    state: Arc<LeaseState>,
    stop: Arc<AtomicBool>,
    watchdog: Option<std::thread::JoinHandle<()>>,
}

impl Lease {
    fn hold(target: PgTarget, conn: Conn, epoch: i64) -> Self {
        let state = Arc::new(LeaseState::new(epoch));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let watchdog = std::thread::Builder::new()
            .name("tiprelay-lease".into())
            .spawn(move || watch(&target, conn, &st, &sp))
            .ok();
        if watchdog.is_none() {
            state.mark_lost("cannot start the lease watchdog thread");
        }
        Self { state, stop, watchdog }
    }

    /// The shared state (epoch, lost).
    pub fn state(&self) -> Arc<LeaseState> {
        self.state.clone()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.watchdog.take() {
            let _ = t.join();
        }
    }
}

/// Sleeps `d` in short steps; false when asked to stop.
fn nap(d: Duration, stop: &AtomicBool) -> bool {
    let step = Duration::from_millis(50);
    let mut left = d;
    while !left.is_zero() {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        let s = left.min(step);
        std::thread::sleep(s);
        left = left.saturating_sub(s);
    }
    !stop.load(Ordering::SeqCst)
}

fn epoch_now(conn: &Conn) -> Result<i64, StoreError> {
    conn.call(|s| Ok(s.client.query_one("SELECT epoch FROM tiprelay_lease WHERE id = 1", &[])?.get::<_, i64>(0)))
}

/// The watchdog: the epoch must stay ours; a broken connection is re-opened and the lock
/// taken again, which is only ours to keep while the epoch is unchanged.
fn watch(target: &PgTarget, mut conn: Conn, state: &LeaseState, stop: &AtomicBool) {
    let mine = state.epoch();
    loop {
        if !nap(CHECK, stop) || state.is_lost() {
            return;
        }
        match epoch_now(&conn) {
            Ok(e) if e == mine => continue,
            Ok(_) => {
                state.mark_lost("the lease's epoch changed");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "the lease connection broke; re-taking the lease"),
        }
        // Re-open and re-take; while the lock is busy (maybe still our own old session,
        // until the server notices it is gone), the epoch decides: ours, keep trying.
        loop {
            if !nap(RETRY, stop) {
                return;
            }
            let fresh = match Conn::open(target) {
                Ok(c) => c,
                Err(_) => continue,
            };
            let got = fresh
                .call(|s| Ok(s.client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEASE_LOCK])?.get::<_, bool>(0)));
            match (got, epoch_now(&fresh)) {
                (_, Ok(e)) if e != mine => {
                    state.mark_lost("another relay took the lease while its connection was broken");
                    return;
                }
                (Ok(true), Ok(_)) => {
                    tracing::info!(epoch = mine, "lease connection re-established; this relay still holds the lease");
                    conn = fresh;
                    break;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::storage::postgres::PgEngine;
    use crate::storage::{Engine, WriteTables};

    fn write_counter(e: &PgEngine, v: u64) -> Result<(), StoreError> {
        e.write(&mut |t: &mut dyn WriteTables| t.set_counter("lease-test", v))
    }

    #[test]
    fn one_relay_holds_the_lease_and_one_that_lost_it_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = tiprelay_pgtest::Cluster::start(dir.path());
        let target = PgTarget::plain(cluster.params("relay").parse().unwrap());
        let mut a = PgEngine::open(&target, true).unwrap();
        let Attempt::Taken(lease_a) = Seeker::new(&target, "relay A pid 1 listen x".into()).attempt().unwrap() else {
            panic!("nobody held the lease")
        };
        a.fence(lease_a.state());
        write_counter(&a, 1).unwrap();

        // B waits while A holds it, and sees who does.
        let mut b_seeker = Seeker::new(&target, "relay B pid 2 listen y".into());
        match b_seeker.attempt().unwrap() {
            Attempt::HeldBy(h) => {
                assert_eq!(h.holder, "relay A pid 1 listen x");
                assert_eq!(h.epoch, lease_a.state().epoch());
            }
            Attempt::Taken(_) => panic!("two relays hold the lease"),
        }
        assert_eq!(current_holder(&target).unwrap().holder, "relay A pid 1 listen x");

        // A's lease connection goes (as when its process dies) but its writer does not
        // notice: B takes over, and A's next write is refused by the fence.
        let state_a = lease_a.state();
        drop(lease_a);
        // (The server releases the lock once it has seen the connection end: soon.)
        let mut taken = None;
        for _ in 0..100 {
            if let Attempt::Taken(l) = b_seeker.attempt().unwrap() {
                taken = Some(l);
                break;
            }
            std::thread::sleep(RETRY / 4);
        }
        let lease_b = taken.expect("B did not take the free lease within 5 s");
        assert_eq!(lease_b.state().epoch(), state_a.epoch() + 1);
        let mut b = PgEngine::open(&target, true).unwrap();
        b.fence(lease_b.state());
        let e = write_counter(&a, 2).unwrap_err();
        assert!(e.to_string().contains("no longer holds the store's lease"), "{e}");
        assert!(state_a.is_lost());
        write_counter(&b, 3).unwrap();
        assert_eq!(b.read().unwrap().counter("lease-test").unwrap(), Some(3), "A's fenced write left nothing");
        assert!(!lease_b.state().is_lost());
        drop((a, b, lease_b));
    }

    #[test]
    fn the_fence_names_the_epoch_and_the_error_code() {
        let sql = fence_sql(42);
        assert!(sql.contains("IS DISTINCT FROM 42"));
        assert!(sql.contains(LEASE_LOST));
        assert_ne!(LEASE_LOCK, super::super::WRITER_LOCK);
    }
}
