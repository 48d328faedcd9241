//! Active–standby relays on one database: the lease.
//!
//! Several `tiprelay serve` processes may point at one PostgreSQL store; **one** serves at a
//! time. It holds the session-level advisory lock [`LEASE_LOCK`] on a connection of its own
//! and has bumped the lease's epoch (`tiprelay_lease`); the others wait as standbys (their
//! QUIC port open only for stateless resets) and try the lock every [`RETRY`].
//!
//! * **Takeover.** PostgreSQL releases a session lock as soon as the holder's connection
//!   ends: a relay killed with -9 closes its sockets, its backend exits, and a standby holds
//!   the lease within one [`RETRY`]. It bumps the epoch and draws a fresh random token
//!   (under the writer's lock, so after any write transaction of the old holder), reads the
//!   store afresh, and serves.
//! * **A holder that vanished without closing its connection** (power cut, partition): the
//!   holder refreshes `heartbeat` every [`CHECK`]; a standby that finds it older than
//!   [`STALE`] ends the holder's database session (`pg_terminate_backend` of the pid the
//!   holder recorded), which releases the lock. Connections also carry TCP keep-alives and
//!   timeouts (`PgTarget`), so no call waits on a dead peer for long.
//! * **Fencing.** Every write transaction checks, under the writer's lock, that the epoch
//!   and token are still its relay's ([`fence_sql`]; the token makes a repeated epoch, after
//!   a restore or a failover to a lagging replica, harmless). A relay that lost its lease without noticing (a
//!   partition, a paused process) cannot write after the new holder bumped the epoch: its
//!   transaction fails, nothing in it is answered, and the relay stops
//!   ([`LeaseState::wait_lost`]); the service manager restarts it as a standby.
//! * **A broken lease connection** (database restart, primary failover) is re-opened: when
//!   the lock can be taken again and the epoch is still ours, nobody took over and the relay
//!   goes on (ending its own old session if the server has not noticed it is gone); a
//!   changed epoch or token means another relay did, and this one stops.
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

/// The SQLSTATE a fenced write transaction raises when the lease is not its relay's.
pub const LEASE_LOST: &str = "TRL01";

/// The error of a write refused by the fence.
pub const LOST_MESSAGE: &str =
    "this relay no longer holds the store's lease: another relay took over; this one stops (retry: the next relay answers)";

/// How often a standby tries the lease, and a holder re-opens a broken lease connection.
pub const RETRY: Duration = Duration::from_millis(200);

/// How often the holder refreshes its heartbeat (and so checks its lease).
pub const CHECK: Duration = Duration::from_secs(1);

/// A heartbeat older than this means the holder is gone: a standby ends its session.
pub const STALE: Duration = Duration::from_secs(10);

/// The statement that ends a write transaction's BEGIN when the relay holds the lease
/// (`epoch`, `token`; the token is hex, so it is safe inline).
pub fn fence_sql(epoch: i64, token: &str) -> String {
    let token: String = token.chars().filter(|c| c.is_ascii_digit() || ('a'..='f').contains(c)).collect();
    format!(
        "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM tiprelay_lease WHERE id = 1 AND epoch = {epoch} AND token = '{token}') \
         THEN RAISE EXCEPTION USING ERRCODE = '{LEASE_LOST}', MESSAGE = 'tiprelay lease lost'; END IF; END$$"
    )
}

/// A fresh random token (128 bits, hex).
fn new_token() -> Result<String, StoreError> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| StoreError::Failed("no randomness for the lease token".into()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The lease as the serving relay sees it: its epoch and token, and whether it was lost.
#[derive(Debug)]
pub struct LeaseState {
    epoch: i64,
    token: String,
    lost: AtomicBool,
    notify: tokio::sync::Notify,
}

impl LeaseState {
    fn new(epoch: i64, token: String) -> Self {
        Self { epoch, token, lost: AtomicBool::new(false), notify: tokio::sync::Notify::new() }
    }

    /// The epoch this relay took.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// The fence of this relay's write transactions.
    pub fn fence_sql(&self) -> String {
        fence_sql(self.epoch, &self.token)
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

/// Who holds the lease now (for a standby's log and `check-config`), as stored in
/// `tiprelay_lease`.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    /// The holder's description (host, pid, listen address).
    pub holder: String,
    /// Its epoch.
    pub epoch: i64,
    /// Since when (RFC 3339, the database's clock).
    pub since: String,
    /// Seconds since its last heartbeat.
    pub heartbeat_age: f64,
    /// Its lease connection's backend pid.
    pub backend: i32,
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
    /// it, ending the holder's session when its heartbeat is older than [`STALE`]. A
    /// connection failure is an error (the caller tries again).
    pub fn attempt(&mut self) -> Result<Attempt, StoreError> {
        let conn = match self.conn.take() {
            Some(c) => c,
            None => Conn::open(&self.target)?,
        };
        if !try_lock(&conn)? {
            let now = holder(&conn)?;
            if now.heartbeat_age > STALE.as_secs_f64() && now.backend != 0 {
                tracing::warn!(
                    holder = %now.holder, heartbeat_age_s = now.heartbeat_age,
                    "the serving relay's heartbeat stopped: ending its database session to take over"
                );
                end_session(&conn, now.backend)?;
            }
            self.conn = Some(conn);
            return Ok(Attempt::HeldBy(now));
        }
        let (name, token) = (self.holder.clone(), new_token()?);
        let t = token.clone();
        let epoch = conn.call(move |s| {
            let mut tx = s.client.transaction()?;
            // Bounded: a dead holder's transaction is ended by the server's timeouts.
            tx.batch_execute("SET LOCAL lock_timeout = '5s'")?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&super::WRITER_LOCK])?;
            let row = tx.query_one(
                "UPDATE tiprelay_lease SET epoch = epoch + 1, token = $1, holder = $2, backend = pg_backend_pid(),
                 since = now(), heartbeat = now() WHERE id = 1 RETURNING epoch",
                &[&t, &name],
            )?;
            let epoch: i64 = row.get(0);
            tx.commit()?;
            Ok(epoch)
        })?;
        Ok(Attempt::Taken(Lease::hold(self.target.clone(), conn, LeaseState::new(epoch, token))))
    }
}

/// Ends the database session `pid` (a lease holder's), which releases its locks.
fn end_session(conn: &Conn, pid: i32) -> Result<(), StoreError> {
    conn.call(move |s| s.client.execute("SELECT pg_terminate_backend($1)", &[&pid]).map(drop))
}

fn try_lock(conn: &Conn) -> Result<bool, StoreError> {
    conn.call(|s| Ok(s.client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEASE_LOCK])?.get::<_, bool>(0)))
}

/// Who holds the lease, as recorded.
pub(super) fn holder(conn: &Conn) -> Result<Holder, StoreError> {
    conn.call(|s| {
        let rows = s.client.query(
            "SELECT holder, epoch, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    extract(epoch FROM now() - heartbeat)::float8, backend
             FROM tiprelay_lease WHERE id = 1",
            &[],
        )?;
        Ok(rows.first().map_or_else(
            || Holder { holder: String::new(), epoch: 0, since: String::new(), heartbeat_age: 0.0, backend: 0 },
            |r| Holder {
                holder: r.get(0),
                epoch: r.get(1),
                since: r.get(2),
                heartbeat_age: r.get(3),
                backend: r.get(4),
            },
        ))
    })
}

/// Who holds the lease of the store at `target`, read without taking anything
/// (`tiprelay check-config`, operators).
pub fn current_holder(target: &PgTarget) -> Result<Holder, StoreError> {
    holder(&Conn::open(target)?)
}

/// The lease, held: a watchdog thread keeps its connection (and so the lock), refreshes the
/// heartbeat every [`CHECK`] and checks the lease is still this relay's. Dropping it stops
/// the watchdog (without waiting for it), which closes the connection and so releases the
/// lease.
pub struct Lease {
    state: Arc<LeaseState>,
    stop: Arc<AtomicBool>,
}

impl Lease {
    fn hold(target: PgTarget, conn: Conn, state: LeaseState) -> Self {
        let state = Arc::new(state);
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let started =
            std::thread::Builder::new().name("tiprelay-lease".into()).spawn(move || watch(&target, conn, &st, &sp));
        if started.is_err() {
            state.mark_lost("cannot start the lease watchdog thread");
        }
        Self { state, stop }
    }

    /// The shared state (epoch, token, lost).
    pub fn state(&self) -> Arc<LeaseState> {
        self.state.clone()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Never blocks (it may be dropped on the async runtime): the watchdog sees the flag
        // within 50 ms, or when its current call returns (bounded by the timeouts).
        self.stop.store(true, Ordering::SeqCst);
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

/// Refreshes the heartbeat when the lease is still `state`'s: true when it is.
fn beat(conn: &Conn, state: &LeaseState) -> Result<bool, StoreError> {
    let (epoch, token) = (state.epoch, state.token.clone());
    conn.call(move |s| {
        let n = s.client.execute(
            "UPDATE tiprelay_lease SET heartbeat = now(), backend = pg_backend_pid()
             WHERE id = 1 AND epoch = $1 AND token = $2",
            &[&epoch, &token],
        )?;
        Ok(n == 1)
    })
}

/// Whether the recorded lease is still `state`'s.
fn still_mine(conn: &Conn, state: &LeaseState) -> Result<bool, StoreError> {
    let (epoch, token) = (state.epoch, state.token.clone());
    conn.call(move |s| {
        let rows = s
            .client
            .query("SELECT 1 FROM tiprelay_lease WHERE id = 1 AND epoch = $1 AND token = $2", &[&epoch, &token])?;
        Ok(!rows.is_empty())
    })
}

/// The watchdog: the lease must stay ours; a broken connection is re-opened and the lock
/// taken again, which is only ours to keep while the epoch and token are unchanged.
fn watch(target: &PgTarget, mut conn: Conn, state: &LeaseState, stop: &AtomicBool) {
    loop {
        if !nap(CHECK, stop) || state.is_lost() {
            return;
        }
        match beat(&conn, state) {
            Ok(true) => continue,
            Ok(false) => {
                state.mark_lost("the lease's epoch or token changed");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "the lease connection broke; re-taking the lease"),
        }
        // Re-open and re-take. While the lock is busy and the lease still ours, the holder
        // is our own old session, which the server has not yet seen end: end it.
        loop {
            if !nap(RETRY, stop) {
                return;
            }
            let Ok(fresh) = Conn::open(target) else { continue };
            match (still_mine(&fresh, state), try_lock(&fresh)) {
                (Ok(false), _) => {
                    state.mark_lost("another relay took the lease while its connection was broken");
                    return;
                }
                (Ok(true), Ok(true)) => match beat(&fresh, state) {
                    Ok(true) => {
                        tracing::info!(
                            epoch = state.epoch,
                            "lease connection re-established; this relay still holds the lease"
                        );
                        conn = fresh;
                        break;
                    }
                    Ok(false) => {
                        state.mark_lost("another relay took the lease while its connection was broken");
                        return;
                    }
                    Err(_) => {}
                },
                (Ok(true), Ok(false)) => {
                    if let Ok(old) = holder(&fresh) {
                        let _ = end_session(&fresh, old.backend);
                    }
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

    /// Tries the lease every RETRY / 4 for 5 s.
    fn take_within(seeker: &mut Seeker) -> Option<Lease> {
        for _ in 0..100 {
            if let Attempt::Taken(l) = seeker.attempt().unwrap() {
                return Some(l);
            }
            std::thread::sleep(RETRY / 4);
        }
        None
    }

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
        let lease_b = take_within(&mut b_seeker).expect("B did not take the free lease within 5 s");
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

    /// Runs one statement on a connection of its own.
    fn exec(target: &PgTarget, sql: &str) {
        let sql = sql.to_owned();
        Conn::open(target).unwrap().call(move |s| s.client.batch_execute(&sql)).unwrap();
    }

    #[test]
    fn a_holder_whose_heartbeat_stopped_is_displaced_and_a_too_old_relay_displaces_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = tiprelay_pgtest::Cluster::start(dir.path());
        let target = PgTarget::plain(cluster.params("relay").parse().unwrap());
        drop(PgEngine::open(&target, true).unwrap());
        let Attempt::Taken(a) = Seeker::new(&target, "relay A pid 1 listen x".into()).attempt().unwrap() else {
            panic!("nobody held the lease")
        };
        // A's machine froze: its session stays open, its heartbeat stops.
        exec(&target, "UPDATE tiprelay_lease SET heartbeat = now() - interval '1 minute'");
        let mut b = Seeker::new(&target, "relay B pid 2 listen y".into());
        let b_lease = take_within(&mut b).expect("B did not displace a holder whose heartbeat stopped");
        assert_eq!(b_lease.state().epoch(), a.state().epoch() + 1);
        // A, when it comes back, finds its lease taken and stops.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !a.state().is_lost() {
            assert!(std::time::Instant::now() < deadline, "A never noticed it lost the lease");
            std::thread::sleep(RETRY);
        }
        assert!(!b_lease.state().is_lost());

        // A relay older than the store's schema is refused before it takes anything.
        exec(&target, "UPDATE tiprelay_schema SET version = 99");
        let e = PgEngine::open_for_lease(&target).err().expect("a newer schema must be refused");
        assert!(e.to_string().contains("newer than this relay"), "{e}");
        assert_eq!(current_holder(&target).unwrap().holder, "relay B pid 2 listen y");
        exec(&target, &format!("UPDATE tiprelay_schema SET version = {}", super::super::schema::VERSION));
        drop((a, b_lease));
    }

    #[test]
    fn the_fence_names_the_epoch_and_the_error_code() {
        let sql = fence_sql(42, "00ff");
        assert!(sql.contains("epoch = 42"));
        assert!(fence_sql(1, "ab'; DROP TABLE tips; --").contains("token = 'ab')"), "only hex reaches the SQL");
        assert!(sql.contains(LEASE_LOST));
        assert_ne!(LEASE_LOCK, super::super::WRITER_LOCK);
    }
}
