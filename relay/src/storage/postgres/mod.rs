//! The PostgreSQL engine: the relay's store in a database that an agency replicates, backs
//! up and audits with the tools it already runs.
//!
//! * **Durability.** A write transaction commits with `synchronous_commit` as the server is
//!   configured (keep it `on`, or `remote_apply` with a synchronous standby); the writer
//!   answers nobody before `COMMIT` returns, exactly as with redb.
//! * **One writer.** Every write transaction takes the transaction-level advisory lock
//!   [`WRITER_LOCK`] first, so writes of several relay processes on one database are
//!   serialized and the audit log and sequences keep one order (a writer that finds the log
//!   moved under it fails that batch and re-reads, see `writer`). Reads are `REPEATABLE READ
//!   READ ONLY` snapshots and never wait for the writer.
//! * **Threads.** Each connection lives on a thread of its own (the synchronous `postgres`
//!   client must not run inside the relay's async runtime); callers hand it small jobs and
//!   wait for the answer, from any thread.
//! * **Schema.** Created and migrated by the relay ([`schema::MIGRATIONS`], version in
//!   `tiprelay_schema`); a database of a newer schema is refused.

pub mod lease;
pub mod schema;
#[cfg(test)]
pub mod testing;

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use postgres::types::ToSql;
use postgres::{Row, Statement};
use tiprelay_proto::Digest;

use super::{
    decode, encode, Engine, FactsVisit, NoticeRecord, ReadTables, SeqVisit, StatementRecord, StoreError, TipRecord,
    Visit, WriteFn, WriteTables,
};

/// The advisory lock every write transaction holds (an arbitrary constant: "tiprelay").
pub const WRITER_LOCK: i64 = 0x7469_7072_656c_6179;

/// Starts a write transaction under [`WRITER_LOCK`] (written out: SQL text is static).
const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(8388359417584443769)";

/// How long a connection may go unanswered before it is given up (connect timeout, TCP
/// user timeout; keep-alives notice a silent peer in about as long).
pub const DEAD_PEER: std::time::Duration = std::time::Duration::from_secs(10);

/// Set on every session: the server notices a vanished relay by keep-alives within about
/// 11 s (TCP; ignored on a Unix socket), and ends a transaction left idle for 60 s (a dead
/// relay's transaction then releases the writer's lock).
const SESSION: &str = "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3; \
                       SET idle_in_transaction_session_timeout = '60s'";

/// Read connections kept open (a read view holds one until dropped).
const READERS: usize = 4;

/// Rows fetched per round trip when a visitor walks a range.
const PAGE: i64 = 256;

fn pg(e: postgres::Error) -> StoreError {
    // Never the connection string (it may hold a password): the server's message only.
    match e.as_db_error() {
        Some(db) if db.code() == &postgres::error::SqlState::DISK_FULL => StoreError::Full,
        Some(db) if db.code().code() == lease::LEASE_LOST => StoreError::Failed(lease::LOST_MESSAGE.into()),
        Some(db) => StoreError::Failed(format!("PostgreSQL: {} ({})", db.message(), db.code().code())),
        None => {
            // The causes too (a TLS handshake's "invalid peer certificate: UnknownIssuer").
            let mut text = format!("PostgreSQL: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            StoreError::Failed(text)
        }
    }
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Where the store is and how to reach it: connection parameters (hosts, database, user,
/// password, `target_session_attrs`) and, with `[store] tls_ca`, TLS verified against the
/// database's CA and host name.
#[derive(Clone)]
pub struct PgTarget {
    /// Connection parameters.
    pub config: postgres::Config,
    /// TLS to the database (`None`: plain, for a Unix socket or a trusted link).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(f, "{}{}", describe(&self.config), if self.tls.is_some() { " (TLS)" } else { "" })
    }
}

impl PgTarget {
    /// Plain connections with these parameters (tests, tools).
    pub fn plain(config: postgres::Config) -> Self {
        Self { config, tls: None }.with_timeouts()
    }

    /// Opens one connection (TLS when configured), with the server's side of dead-peer
    /// detection set for the session ([`SESSION`]).
    fn connect(&self) -> Result<postgres::Client, postgres::Error> {
        let mut c = match &self.tls {
            None => self.config.connect(postgres::NoTls)?,
            Some(t) => self.config.connect(tokio_postgres_rustls::MakeRustlsConnect::new((**t).clone()))?,
        };
        c.batch_execute(SESSION)?;
        Ok(c)
    }

    /// Fills in what the operator did not set: a connect timeout and TCP keep-alives on the
    /// relay's side, so no call waits long on a database host that vanished ([`DEAD_PEER`]).
    pub fn with_timeouts(mut self) -> Self {
        if self.config.get_connect_timeout().is_none() {
            self.config.connect_timeout(DEAD_PEER);
        }
        if self.config.get_keepalives_idle() == std::time::Duration::from_secs(2 * 60 * 60) {
            self.config.keepalives_idle(std::time::Duration::from_secs(5));
            self.config.keepalives_interval(std::time::Duration::from_secs(2));
            self.config.keepalives_retries(3);
        }
        if self.config.get_tcp_user_timeout().is_none() {
            self.config.tcp_user_timeout(DEAD_PEER);
        }
        self
    }
}

/// One connection's thread state: the client, its prepared statements, and which session
/// this is (bumped each time the connection is re-opened).
struct Session {
    client: postgres::Client,
    prepared: HashMap<&'static str, Statement>,
    generation: u64,
}

impl Session {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params)
    }
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// A connection on its own thread.
struct Conn {
    jobs: mpsc::Sender<Job>,
}

impl Conn {
    /// Connects on a new thread. A connection that breaks later (the server restarted, the
    /// primary failed over) is re-opened before the next job, with the same parameters (so
    /// with several hosts and `target_session_attrs=read-write`, on the new primary); the
    /// job that met the break fails, and its transaction with it.
    fn open(target: &PgTarget) -> Result<Self, StoreError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready, ready_rx) = mpsc::channel::<Result<(), StoreError>>();
        let target = target.clone();
        std::thread::Builder::new()
            .name("tiprelay-pg".into())
            .spawn(move || {
                let client = match target.connect() {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(pg(e)));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let mut session = Session { client, prepared: HashMap::new(), generation: 0 };
                while let Ok(job) = rx.recv() {
                    if session.client.is_closed() {
                        match target.connect() {
                            Ok(c) => {
                                tracing::info!(store = %describe(&target.config), "PostgreSQL connection re-established");
                                let generation = session.generation.wrapping_add(1);
                                session = Session { client: c, prepared: HashMap::new(), generation };
                            }
                            // The job runs on the closed client and fails with its error.
                            Err(e) => tracing::warn!(error = %pg(e), "PostgreSQL connection lost; reconnecting"),
                        }
                    }
                    job(&mut session);
                }
            })
            .map_err(StoreError::io)?;
        ready_rx.recv().map_err(|_| StoreError::Failed("the PostgreSQL connection thread stopped".into()))??;
        Ok(Self { jobs })
    }

    /// Runs `f` on the connection's thread and waits for its answer.
    fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |s| {
                let _ = tx.send(f(s));
            }))
            .map_err(|_| StoreError::Failed("the PostgreSQL connection is gone".into()))?;
        rx.recv().map_err(|_| StoreError::Failed("the PostgreSQL connection is gone".into()))?.map_err(pg)
    }

    fn batch(&self, sql: &'static str) -> Result<(), StoreError> {
        self.call(move |s| s.client.batch_execute(sql))
    }

    /// Runs `f` only on session `generation` (the one a transaction began on): a connection
    /// re-opened since then lost that transaction, and running the rest of it on the new
    /// session (in autocommit, or a `COMMIT` of nothing) would be wrong, so it fails.
    fn call_in<R: Send + 'static>(
        &self,
        generation: u64,
        f: impl FnOnce(&mut Session) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, StoreError> {
        let r = self.call(move |s| if s.generation == generation { f(s).map(Some) } else { Ok(None) })?;
        r.ok_or_else(|| {
            StoreError::Failed("the database connection was lost mid-transaction; nothing in it was kept".into())
        })
    }

    /// Runs `sql` and says on which session it ran.
    fn begin(&self, sql: String) -> Result<u64, StoreError> {
        self.call(move |s| s.client.batch_execute(&sql).map(|()| s.generation))
    }
}

/// A relay store in a PostgreSQL database.
pub struct PgEngine {
    writer: Mutex<Conn>,
    readers: Mutex<Vec<Conn>>,
    free: Condvar,
    target: PgTarget,
    opened_readers: Mutex<usize>,
    name: String,
    /// What begins a write transaction: the writer's lock and, once this relay holds the
    /// deployment's lease ([`lease`]), the check that it still does.
    begin_write: String,
    lease: Option<Arc<lease::LeaseState>>,
}

impl PgEngine {
    /// Connects (the writer's connection first); with `migrate`, creates or migrates the
    /// schema (else checks it is this relay's); refuses a database whose schema is newer.
    pub fn open(target: &PgTarget, migrate: bool) -> Result<Self, StoreError> {
        let engine = Self::open_unchecked(target)?;
        {
            let w = engine.writer()?;
            if migrate {
                self::migrate(&w)?;
            } else {
                check_schema(&w)?;
            }
        }
        Ok(engine)
    }

    fn open_unchecked(target: &PgTarget) -> Result<Self, StoreError> {
        let writer = Conn::open(target)?;
        let name = describe(&target.config);
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            free: Condvar::new(),
            target: target.clone(),
            opened_readers: Mutex::new(0),
            name,
            begin_write: BEGIN_WRITE.to_owned(),
            lease: None,
        })
    }

    /// For a relay that will take the lease: connects; refuses a newer schema (before taking
    /// anything, so a relay too old for the store never displaces the one serving); creates
    /// the schema of an empty database (nobody can be serving it). Returns whether an older
    /// schema is left to migrate, which [`PgEngine::migrate_now`] does once the lease is
    /// held (never under a relay that still serves).
    pub fn open_for_lease(target: &PgTarget) -> Result<(Self, bool), StoreError> {
        let engine = Self::open_unchecked(target)?;
        let version = {
            let w = engine.writer()?;
            let v = schema_version(&w)?;
            if v > schema::VERSION {
                return Err(newer(v));
            }
            if v == 0 {
                self::migrate(&w)?;
            }
            v
        };
        Ok((engine, version != 0 && version < schema::VERSION))
    }

    /// Migrates the schema to this relay's (see [`PgEngine::open_for_lease`]).
    pub fn migrate_now(&self) -> Result<(), StoreError> {
        let w = self.writer()?;
        self::migrate(&w)
    }

    /// Fences every later write transaction with this relay's lease: a transaction that
    /// finds another relay's epoch in `tiprelay_lease` fails (and marks the lease lost), so
    /// a relay that lost its lease unnoticed cannot write after the one that took it over.
    pub fn fence(&mut self, state: Arc<lease::LeaseState>) {
        self.begin_write = format!("{BEGIN_WRITE}; {}", state.fence_sql());
        self.lease = Some(state);
    }

    /// The writer's connection (held for one transaction or schema change).
    fn writer(&self) -> Result<MutexGuard<'_, Conn>, StoreError> {
        self.writer.lock().map_err(|_| StoreError::Failed("the PostgreSQL writer lock was poisoned".into()))
    }

    fn reader(&self) -> Result<Conn, StoreError> {
        let poisoned = || StoreError::Failed("a PostgreSQL reader lock was poisoned".into());
        let mut free = self.readers.lock().map_err(|_| poisoned())?;
        loop {
            if let Some(c) = free.pop() {
                return Ok(c);
            }
            {
                let mut opened = self.opened_readers.lock().map_err(|_| poisoned())?;
                if *opened < READERS {
                    *opened += 1;
                    drop(opened);
                    drop(free);
                    return Conn::open(&self.target).inspect_err(|_| {
                        if let Ok(mut o) = self.opened_readers.lock() {
                            *o = o.saturating_sub(1);
                        }
                    });
                }
            }
            free = self.free.wait(free).map_err(|_| poisoned())?;
        }
    }

    fn give_back(&self, c: Conn) {
        if let Ok(mut free) = self.readers.lock() {
            free.push(c);
            self.free.notify_one();
        }
    }
}

/// "postgres host=… port=… dbname=…": where the store is, never a password.
pub fn describe(params: &postgres::Config) -> String {
    let hosts: Vec<String> = params
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = params.get_ports().iter().map(u16::to_string).collect();
    let port = if ports.is_empty() { String::new() } else { format!(" port={}", ports.join(",")) };
    format!("postgres host={}{port} dbname={}", hosts.join(","), params.get_dbname().unwrap_or("(default)"))
}

/// Creates or migrates a database's relay schema (`tiprelay migrate`); returns the
/// version before and after.
pub fn migrate_database(target: &PgTarget) -> Result<(i32, i32), StoreError> {
    let c = Conn::open(target)?;
    let before = schema_version(&c)?;
    migrate(&c)?;
    Ok((before, schema_version(&c)?))
}

/// What `tiprelay check-config` reports of a PostgreSQL store: reachable (TLS verified when
/// configured), its schema, and which relay serves it.
#[derive(Debug, Clone)]
pub struct DatabaseStatus {
    /// The database's relay schema version (0: no relay store yet).
    pub schema: i32,
    /// Whether it takes writes (a primary, not a standby in recovery).
    pub writable: bool,
    /// The lease's holder, when the schema has one.
    pub holder: Option<lease::Holder>,
}

/// Connects to the store at `target` and reads its status, changing nothing.
pub fn inspect(target: &PgTarget) -> Result<DatabaseStatus, StoreError> {
    let c = Conn::open(target)?;
    let schema = schema_version(&c)?;
    let writable = c.call(|s| Ok(!s.client.query_one("SELECT pg_is_in_recovery()", &[])?.get::<_, bool>(0)))?;
    let holder = if schema >= 1 { Some(lease::holder(&c)?) } else { None };
    Ok(DatabaseStatus { schema, writable, holder })
}

/// The schema version of the database (0: none yet).
fn schema_version(c: &Conn) -> Result<i32, StoreError> {
    c.call(|s| {
        let exists = s.client.query(
            "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'tiprelay_schema'",
            &[],
        )?;
        if exists.is_empty() {
            return Ok(0);
        }
        let rows = s.client.query("SELECT version FROM tiprelay_schema", &[])?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i32>(0)))
    })
}

/// For tools beside a running relay: the schema must be this relay's, and is not changed.
fn check_schema(c: &Conn) -> Result<(), StoreError> {
    match schema_version(c)? {
        v if v == schema::VERSION => Ok(()),
        0 => Err(StoreError::Unusable(tiprelay_common::localize::Msg::new("relay-store-db-empty"))),
        v => Err(StoreError::Unusable(
            tiprelay_common::localize::Msg::new("relay-store-db-other-schema")
                .number("version", v)
                .number("ours", schema::VERSION),
        )),
    }
}

fn newer(version: i32) -> StoreError {
    StoreError::Unusable(
        tiprelay_common::localize::Msg::new("relay-store-db-newer")
            .number("version", version)
            .number("ours", schema::VERSION),
    )
}

/// Creates or migrates the schema in one transaction, under the writer's lock (one job on
/// the connection, so the whole transaction runs on one session).
fn migrate(c: &Conn) -> Result<(), StoreError> {
    let result = c.call(|s| {
        s.client.batch_execute(
            "BEGIN; SELECT pg_advisory_xact_lock(8388359417584443769);
             CREATE TABLE IF NOT EXISTS tiprelay_schema (version integer NOT NULL);",
        )?;
        let rows = s.client.query("SELECT version FROM tiprelay_schema", &[])?;
        let version = rows.first().map_or(0, |r| r.get::<_, i32>(0));
        if version > schema::VERSION {
            s.client.batch_execute("ROLLBACK")?;
            return Ok(Err(newer(version)));
        }
        for sql in schema::MIGRATIONS.iter().skip(usize::try_from(version).unwrap_or(0)) {
            s.client.batch_execute(sql)?;
        }
        s.client.execute("DELETE FROM tiprelay_schema", &[])?;
        s.client.execute("INSERT INTO tiprelay_schema (version) VALUES ($1)", &[&schema::VERSION])?;
        s.client.batch_execute("COMMIT")?;
        Ok(Ok(()))
    });
    match result {
        Ok(r) => r,
        Err(e) => {
            let _ = c.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// A transaction on one connection: the writer's, or a reader's snapshot.
pub struct PgTx<'a> {
    conn: ConnRef<'a>,
    /// Rows written in this transaction and not yet sent: flushed as one multi-row
    /// statement per table at commit, or before a range read of those tables. Point reads
    /// look here first, so the transaction always reads its own writes.
    buf: std::cell::RefCell<Buffer>,
    /// The session the transaction began on (every statement must run on it).
    generation: u64,
    /// Reads done ahead for a group of acks (`prefetch_acks`), and the write transaction's
    /// view of `acked_above`; consulted after the write buffer.
    cache: std::cell::RefCell<Cache>,
}

/// Rows read ahead in a write transaction: `None` records "read, and absent".
#[derive(Default)]
struct Cache {
    tips: HashMap<(String, Vec<u8>), Option<Vec<u8>>>,
    first_acks: HashMap<(String, Vec<u8>), Option<i64>>,
    facts: HashMap<(i64, String, Vec<u8>), Option<Vec<u8>>>,
    /// Per (principal, from): every recorded seq above the cursor, loaded once, then kept
    /// current; with what to insert and delete at commit.
    acked: HashMap<(String, String), Acked>,
}

#[derive(Default)]
struct Acked {
    seqs: std::collections::BTreeSet<i64>,
    inserted: std::collections::BTreeMap<i64, i64>,
    deleted: std::collections::BTreeSet<i64>,
}

/// The buffered rows, by primary key (a key written twice keeps its last value).
#[derive(Default)]
struct Buffer {
    tips: std::collections::BTreeMap<(String, Vec<u8>), Vec<u8>>,
    facts: std::collections::BTreeMap<(i64, String, Vec<u8>), Vec<u8>>,
    seqs: std::collections::BTreeMap<(String, String, i64), Vec<u8>>,
    entries: std::collections::BTreeMap<i64, Vec<u8>>,
    nodes: std::collections::BTreeMap<(i16, i64), Vec<u8>>,
    // The small tables every ack and batch touches (upserts, so the last value wins).
    meta: std::collections::BTreeMap<String, i64>,
    pending: std::collections::BTreeMap<String, i64>,
    dirs: std::collections::BTreeMap<(String, String), i64>,
    cursors: std::collections::BTreeMap<(String, String), i64>,
    first_acks: std::collections::BTreeMap<(String, Vec<u8>), i64>,
    acked_at: std::collections::BTreeMap<(String, Vec<u8>), i64>,
    notices: std::collections::BTreeMap<(String, i64), Vec<u8>>,
}

enum ConnRef<'a> {
    Writer(MutexGuard<'a, Conn>),
    Reader(Option<Conn>, &'a PgEngine),
}

impl ConnRef<'_> {
    fn get(&self) -> Result<&Conn, StoreError> {
        match self {
            ConnRef::Writer(g) => Ok(g),
            ConnRef::Reader(Some(c), _) => Ok(c),
            ConnRef::Reader(None, _) => Err(StoreError::Failed("a read view without its connection".into())),
        }
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if let ConnRef::Reader(c, engine) = &mut self.conn {
            if let Some(c) = c.take() {
                if c.batch("ROLLBACK").is_ok() {
                    engine.give_back(c);
                } else if let Ok(mut o) = engine.opened_readers.lock() {
                    // A broken connection is dropped; a new one is opened on demand.
                    *o = o.saturating_sub(1);
                    engine.free.notify_one();
                }
            }
        }
    }
}

impl Engine for PgEngine {
    fn write(&self, f: WriteFn<'_>) -> Result<(), StoreError> {
        let guard = self.writer()?;
        let generation = match guard.begin(self.begin_write.clone()) {
            Ok(g) => g,
            Err(e) => {
                let _ = guard.batch("ROLLBACK");
                if let (StoreError::Failed(m), Some(l)) = (&e, &self.lease) {
                    if m == lease::LOST_MESSAGE {
                        l.mark_lost("a write transaction found another relay's lease epoch");
                    }
                }
                return Err(e);
            }
        };
        let mut tx =
            PgTx { conn: ConnRef::Writer(guard), buf: Default::default(), generation, cache: Default::default() };
        let r = f(&mut tx).and_then(|()| tx.flush());
        let conn = tx.conn.get()?;
        match r {
            // Only on the session that began it: a COMMIT on a re-opened one commits nothing.
            Ok(()) => conn.call_in(generation, |s| s.client.batch_execute("COMMIT")).inspect_err(|_| {
                let _ = conn.batch("ROLLBACK");
            }),
            Err(e) => {
                let _ = conn.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn read(&self) -> Result<Box<dyn ReadTables + '_>, StoreError> {
        let c = self.reader()?;
        let generation = match c.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".into()) {
            Ok(g) => g,
            Err(e) => {
                if let Ok(mut o) = self.opened_readers.lock() {
                    *o = o.saturating_sub(1);
                    self.free.notify_one();
                }
                return Err(e);
            }
        };
        Ok(Box::new(PgTx {
            conn: ConnRef::Reader(Some(c), self),
            buf: Default::default(),
            generation,
            cache: Default::default(),
        }))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

fn bytes32(b: &[u8], what: &str) -> Result<Digest, StoreError> {
    <[u8; 32]>::try_from(b).map(Digest).map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

macro_rules! p {
    ($($x:expr),* $(,)?) => { vec![$(Box::new($x) as Box<dyn ToSql + Sync + Send>),*] };
}

impl PgTx<'_> {
    /// Sends the buffered rows: one `INSERT … SELECT FROM UNNEST` per table.
    fn flush(&self) -> Result<(), StoreError> {
        let b = std::mem::take(&mut *self.buf.borrow_mut());
        self.upsert3(
            "INSERT INTO tips (from_j, id, rec) SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::bytea[])
             ON CONFLICT (from_j, id) DO UPDATE SET rec = EXCLUDED.rec",
            b.tips,
        )?;
        if !b.facts.is_empty() {
            let (mut at, mut f, mut id, mut packed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for ((a, b2, c), v) in b.facts {
                at.push(a);
                f.push(b2);
                id.push(c);
                packed.push(v);
            }
            self.exec(
                "INSERT INTO ledger (accepted, from_j, id, packed)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bytea[], $4::bytea[])
                 ON CONFLICT (accepted, from_j, id) DO UPDATE SET packed = EXCLUDED.packed",
                p![at, f, id, packed],
            )?;
        }
        if !b.seqs.is_empty() {
            let (mut f, mut t, mut seq, mut id) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for ((a, b2, c), v) in b.seqs {
                f.push(a);
                t.push(b2);
                seq.push(c);
                id.push(v);
            }
            self.exec(
                "INSERT INTO by_seq (from_j, to_j, seq, id) SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bytea[])",
                p![f, t, seq, id],
            )?;
        }
        self.upsert2(
            "INSERT INTO audit_entries (idx, bytes) SELECT * FROM UNNEST($1::bigint[], $2::bytea[])",
            b.entries,
        )?;
        self.upsert3(
            "INSERT INTO audit_nodes (level, idx, digest) SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[])
             ON CONFLICT (level, idx) DO UPDATE SET digest = EXCLUDED.digest",
            b.nodes,
        )?;
        self.upsert2(
            "INSERT INTO meta (name, value) SELECT * FROM UNNEST($1::text[], $2::bigint[])
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            b.meta,
        )?;
        self.upsert2(
            "INSERT INTO author_pending (author, bytes) SELECT * FROM UNNEST($1::text[], $2::bigint[])
                 ON CONFLICT (author) DO UPDATE SET bytes = EXCLUDED.bytes",
            b.pending,
        )?;
        self.upsert3(
            "INSERT INTO dir_seq (from_j, to_j, seq) SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
                 ON CONFLICT (from_j, to_j) DO UPDATE SET seq = EXCLUDED.seq",
            b.dirs,
        )?;
        self.upsert3(
            "INSERT INTO cursors (principal, from_j, cursor) SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
                 ON CONFLICT (principal, from_j) DO UPDATE SET cursor = EXCLUDED.cursor",
            b.cursors,
        )?;
        self.upsert3(
            "INSERT INTO first_ack (from_j, id, idx) SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::bigint[])
                 ON CONFLICT (from_j, id) DO UPDATE SET idx = EXCLUDED.idx",
            b.first_acks,
        )?;
        self.upsert3(
            "INSERT INTO acked_at (from_j, id, at) SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::bigint[])
                 ON CONFLICT (from_j, id) DO UPDATE SET at = EXCLUDED.at",
            b.acked_at,
        )?;
        // What was read ahead may be older than what is now sent: read it again if needed.
        let acked = {
            let mut c = self.cache.borrow_mut();
            c.tips.clear();
            c.first_acks.clear();
            c.facts.clear();
            std::mem::take(&mut c.acked)
        };
        let (mut ip, mut if_, mut is, mut ia, mut dp, mut df, mut ds) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((principal, from), a) in acked {
            for (seq, at) in a.inserted {
                ip.push(principal.clone());
                if_.push(from.clone());
                is.push(seq);
                ia.push(at);
            }
            for seq in a.deleted {
                dp.push(principal.clone());
                df.push(from.clone());
                ds.push(seq);
            }
        }
        if !dp.is_empty() {
            self.exec(
                "DELETE FROM acked_above a USING UNNEST($1::text[], $2::text[], $3::bigint[]) AS k(principal, from_j, seq)
                 WHERE a.principal = k.principal AND a.from_j = k.from_j AND a.seq = k.seq",
                p![dp, df, ds],
            )?;
        }
        if !ip.is_empty() {
            self.exec(
                "INSERT INTO acked_above (principal, from_j, seq, at)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])
                 ON CONFLICT (principal, from_j, seq) DO UPDATE SET at = EXCLUDED.at",
                p![ip, if_, is, ia],
            )?;
        }
        self.upsert3(
            "INSERT INTO notices (author, idx, rec) SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bytea[])
                 ON CONFLICT (author, idx) DO UPDATE SET rec = EXCLUDED.rec",
            b.notices,
        )?;
        Ok(())
    }

    /// Sends a buffered two-column table as one `UNNEST` statement (`sql` takes the columns
    /// as `$1`, `$2` arrays; "upsert": plain inserts too, where keys are new by design).
    fn upsert2<A, B>(&self, sql: &'static str, m: std::collections::BTreeMap<A, B>) -> Result<(), StoreError>
    where
        Vec<A>: ToSql + Sync + Send + 'static,
        Vec<B>: ToSql + Sync + Send + 'static,
    {
        if m.is_empty() {
            return Ok(());
        }
        let (a, b): (Vec<A>, Vec<B>) = m.into_iter().unzip();
        self.exec(sql, p![a, b]).map(drop)
    }

    /// As [`PgTx::upsert2`], for a table keyed by two columns (`$1`, `$2`, value `$3`).
    fn upsert3<A, B, C>(&self, sql: &'static str, m: std::collections::BTreeMap<(A, B), C>) -> Result<(), StoreError>
    where
        Vec<A>: ToSql + Sync + Send + 'static,
        Vec<B>: ToSql + Sync + Send + 'static,
        Vec<C>: ToSql + Sync + Send + 'static,
    {
        if m.is_empty() {
            return Ok(());
        }
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        for ((x, y), z) in m {
            a.push(x);
            b.push(y);
            c.push(z);
        }
        self.exec(sql, p![a, b, c]).map(drop)
    }

    /// Runs `f` on this write transaction's view of (principal, from)'s seqs recorded above
    /// the cursor, loading it first (one round trip per pair and transaction).
    fn acked_set<R>(&self, principal: &str, from: &str, f: impl FnOnce(&mut Acked) -> R) -> Result<R, StoreError> {
        let key = (principal.to_owned(), from.to_owned());
        if !self.cache.borrow().acked.contains_key(&key) {
            let rows = self.rows(
                "SELECT seq FROM acked_above WHERE principal = $1 AND from_j = $2",
                p![principal.to_owned(), from.to_owned()],
            )?;
            let seqs = rows.iter().map(|r| r.get::<_, i64>(0)).collect();
            self.cache.borrow_mut().acked.insert(key.clone(), Acked { seqs, ..Default::default() });
        }
        let mut c = self.cache.borrow_mut();
        let a = c.acked.get_mut(&key).ok_or_else(|| StoreError::Failed("acked_above view missing".into()))?;
        Ok(f(a))
    }

    fn rows(&self, sql: &'static str, params: Vec<Box<dyn ToSql + Sync + Send>>) -> Result<Vec<Row>, StoreError> {
        self.conn.get()?.call_in(self.generation, move |s| {
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            s.query(sql, &refs)
        })
    }

    fn exec(&self, sql: &'static str, params: Vec<Box<dyn ToSql + Sync + Send>>) -> Result<u64, StoreError> {
        self.conn.get()?.call_in(self.generation, move |s| {
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            s.execute(sql, &refs)
        })
    }

    fn one_bytes(
        &self,
        sql: &'static str,
        params: Vec<Box<dyn ToSql + Sync + Send>>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.rows(sql, params)?.first().map(|r| r.get::<_, Vec<u8>>(0)))
    }

    fn one_i64(&self, sql: &'static str, params: Vec<Box<dyn ToSql + Sync + Send>>) -> Result<Option<i64>, StoreError> {
        Ok(self.rows(sql, params)?.first().map(|r| r.get::<_, i64>(0)))
    }
}

impl ReadTables for PgTx<'_> {
    fn tip(&self, from: &str, id: &[u8]) -> Result<Option<TipRecord>, StoreError> {
        let key = (from.to_owned(), id.to_vec());
        if let Some(b) = self.buf.borrow().tips.get(&key) {
            return decode(b).map(Some);
        }
        if let Some(c) = self.cache.borrow().tips.get(&key) {
            return c.as_deref().map(decode).transpose();
        }
        self.one_bytes("SELECT rec FROM tips WHERE from_j = $1 AND id = $2", p![from.to_owned(), id.to_vec()])?
            .map(|b| decode(&b))
            .transpose()
    }
    fn tips(&self, keys: &[(String, Vec<u8>)]) -> Result<Vec<Option<TipRecord>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.flush()?;
        let (froms, ids): (Vec<String>, Vec<Vec<u8>>) = keys.iter().cloned().unzip();
        let rows = self.rows(
            "SELECT t.from_j, t.id, t.rec FROM tips t JOIN UNNEST($1::text[], $2::bytea[]) AS k(from_j, id)
             ON t.from_j = k.from_j AND t.id = k.id",
            p![froms, ids],
        )?;
        let mut found: HashMap<(String, Vec<u8>), Vec<u8>> = HashMap::with_capacity(rows.len());
        for r in &rows {
            found.insert((r.get::<_, String>(0), r.get::<_, Vec<u8>>(1)), r.get::<_, Vec<u8>>(2));
        }
        keys.iter().map(|k| found.get(k).map(|b| decode(b)).transpose()).collect()
    }
    fn counter(&self, name: &str) -> Result<Option<u64>, StoreError> {
        if let Some(v) = self.buf.borrow().meta.get(name) {
            return Ok(Some(u(*v)));
        }
        Ok(self.one_i64("SELECT value FROM meta WHERE name = $1", p![name.to_owned()])?.map(u))
    }
    fn author_pending(&self, author: &str) -> Result<u64, StoreError> {
        if let Some(v) = self.buf.borrow().pending.get(author) {
            return Ok(u(*v));
        }
        Ok(self.one_i64("SELECT bytes FROM author_pending WHERE author = $1", p![author.to_owned()])?.map_or(0, u))
    }
    fn dir_seq(&self, from: &str, to: &str) -> Result<u64, StoreError> {
        if let Some(v) = self.buf.borrow().dirs.get(&(from.to_owned(), to.to_owned())) {
            return Ok(u(*v));
        }
        Ok(self
            .one_i64("SELECT seq FROM dir_seq WHERE from_j = $1 AND to_j = $2", p![from.to_owned(), to.to_owned()])?
            .map_or(0, u))
    }
    fn dir_seqs(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.flush()?;
        Ok(self
            .rows("SELECT from_j, to_j, seq FROM dir_seq ORDER BY from_j, to_j", p![])?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), u(r.get::<_, i64>(2))))
            .collect())
    }
    fn seqs(&self, from: &str, to: &str, after: u64, f: SeqVisit<'_>) -> Result<(), StoreError> {
        self.flush()?;
        let mut last = after;
        loop {
            if last >= i64::MAX as u64 {
                return Ok(());
            }
            let rows = self.rows(
                "SELECT seq, id FROM by_seq WHERE from_j = $1 AND to_j = $2 AND seq > $3 ORDER BY seq LIMIT $4",
                p![from.to_owned(), to.to_owned(), i(last), PAGE],
            )?;
            for r in &rows {
                last = u(r.get::<_, i64>(0));
                if !f(last, &r.get::<_, Vec<u8>>(1))? {
                    return Ok(());
                }
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }
    fn cursor(&self, principal: &str, from: &str) -> Result<u64, StoreError> {
        if let Some(v) = self.buf.borrow().cursors.get(&(principal.to_owned(), from.to_owned())) {
            return Ok(u(*v));
        }
        Ok(self
            .one_i64(
                "SELECT cursor FROM cursors WHERE principal = $1 AND from_j = $2",
                p![principal.to_owned(), from.to_owned()],
            )?
            .map_or(0, u))
    }
    fn cursors_of(&self, from: &str, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        self.flush()?;
        let rows = self.rows(
            "SELECT principal, cursor FROM cursors WHERE from_j = $1 AND starts_with(principal, $2) ORDER BY principal",
            p![from.to_owned(), prefix.to_owned()],
        )?;
        Ok(rows.iter().map(|r| (r.get::<_, String>(0), u(r.get::<_, i64>(1)))).collect())
    }
    fn acked_above(&self, principal: &str, from: &str, seq: u64) -> Result<bool, StoreError> {
        if matches!(self.conn, ConnRef::Writer(_)) {
            return self.acked_set(principal, from, |a| a.seqs.contains(&i(seq)));
        }
        Ok(!self
            .rows(
                "SELECT 1 FROM acked_above WHERE principal = $1 AND from_j = $2 AND seq = $3",
                p![principal.to_owned(), from.to_owned(), i(seq)],
            )?
            .is_empty())
    }
    fn first_ack(&self, from: &str, id: &[u8]) -> Result<Option<u64>, StoreError> {
        let key = (from.to_owned(), id.to_vec());
        if let Some(v) = self.buf.borrow().first_acks.get(&key) {
            return Ok(Some(u(*v)));
        }
        if let Some(c) = self.cache.borrow().first_acks.get(&key) {
            return Ok(c.map(u));
        }
        Ok(self
            .one_i64("SELECT idx FROM first_ack WHERE from_j = $1 AND id = $2", p![from.to_owned(), id.to_vec()])?
            .map(u))
    }
    fn acked_before(&self, cutoff: u64, limit: usize) -> Result<Vec<(String, Vec<u8>, u64)>, StoreError> {
        self.flush()?;
        let rows = self.rows(
            "SELECT from_j, id, at FROM acked_at WHERE at < $1 ORDER BY from_j, id LIMIT $2",
            p![i(cutoff), i64::try_from(limit).unwrap_or(i64::MAX)],
        )?;
        Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, Vec<u8>>(1), u(r.get::<_, i64>(2)))).collect())
    }
    fn facts(&self, accepted: u64, from: &str, id: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let key = (i(accepted), from.to_owned(), id.to_vec());
        if let Some(b) = self.buf.borrow().facts.get(&key) {
            return Ok(Some(b.clone()));
        }
        if let Some(c) = self.cache.borrow().facts.get(&key) {
            return Ok(c.clone());
        }
        self.one_bytes(
            "SELECT packed FROM ledger WHERE accepted = $1 AND from_j = $2 AND id = $3",
            p![i(accepted), from.to_owned(), id.to_vec()],
        )
    }
    fn facts_range(
        &self,
        start: (u64, &str, &[u8]),
        after: bool,
        until: u64,
        f: FactsVisit<'_>,
    ) -> Result<(), StoreError> {
        self.flush()?;
        let (mut at, mut from, mut id, mut strict) = (i(start.0), start.1.to_owned(), start.2.to_vec(), after);
        loop {
            let rows = if strict {
                self.rows(
                    "SELECT accepted, from_j, id, packed FROM ledger WHERE (accepted, from_j, id) > ($1, $2, $3)
                     AND accepted < $4 ORDER BY accepted, from_j, id LIMIT $5",
                    p![at, from.clone(), id.clone(), i(until), PAGE],
                )?
            } else {
                self.rows(
                    "SELECT accepted, from_j, id, packed FROM ledger WHERE (accepted, from_j, id) >= ($1, $2, $3)
                     AND accepted < $4 ORDER BY accepted, from_j, id LIMIT $5",
                    p![at, from.clone(), id.clone(), i(until), PAGE],
                )?
            };
            for r in &rows {
                at = r.get::<_, i64>(0);
                from = r.get::<_, String>(1);
                id = r.get::<_, Vec<u8>>(2);
                if !f(u(at), &from, &id, &r.get::<_, Vec<u8>>(3))? {
                    return Ok(());
                }
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
            strict = true;
        }
    }
    fn notices(&self, author: &str, after: u64, f: Visit<'_, (u64, NoticeRecord)>) -> Result<(), StoreError> {
        self.flush()?;
        let mut last = after;
        loop {
            if last >= i64::MAX as u64 {
                return Ok(());
            }
            let rows = self.rows(
                "SELECT idx, rec FROM notices WHERE author = $1 AND idx > $2 ORDER BY idx LIMIT $3",
                p![author.to_owned(), i(last), PAGE],
            )?;
            for r in &rows {
                last = u(r.get::<_, i64>(0));
                if !f((last, decode(&r.get::<_, Vec<u8>>(1))?))? {
                    return Ok(());
                }
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }
    fn feedback_record(&self, to: &str, id: &[u8]) -> Result<Option<StatementRecord>, StoreError> {
        self.one_bytes("SELECT rec FROM feedback WHERE to_j = $1 AND id = $2", p![to.to_owned(), id.to_vec()])?
            .map(|b| decode(&b))
            .transpose()
    }
    fn statement_index(&self, jurisdiction: &str, id: &[u8]) -> Result<Option<u64>, StoreError> {
        Ok(self
            .one_i64(
                "SELECT idx FROM statement_ids WHERE j = $1 AND id = $2",
                p![jurisdiction.to_owned(), id.to_vec()],
            )?
            .map(u))
    }
    fn statements(&self, to: &str, after: u64, f: Visit<'_, (u64, StatementRecord)>) -> Result<(), StoreError> {
        let mut last = after;
        loop {
            if last >= i64::MAX as u64 {
                return Ok(());
            }
            let rows = self.rows(
                "SELECT idx, rec FROM statements WHERE to_j = $1 AND idx > $2 ORDER BY idx LIMIT $3",
                p![to.to_owned(), i(last), PAGE],
            )?;
            for r in &rows {
                last = u(r.get::<_, i64>(0));
                if !f((last, decode(&r.get::<_, Vec<u8>>(1))?))? {
                    return Ok(());
                }
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }
    fn statement(&self, to: &str, index: u64) -> Result<Option<StatementRecord>, StoreError> {
        self.one_bytes("SELECT rec FROM statements WHERE to_j = $1 AND idx = $2", p![to.to_owned(), i(index)])?
            .map(|b| decode(&b))
            .transpose()
    }
    fn audit_entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(b) = self.buf.borrow().entries.get(&i(index)) {
            return Ok(Some(b.clone()));
        }
        self.one_bytes("SELECT bytes FROM audit_entries WHERE idx = $1", p![i(index)])
    }
    fn audit_node(&self, level: u8, index: u64) -> Result<Option<Digest>, StoreError> {
        if let Some(b) = self.buf.borrow().nodes.get(&(i16::from(level), i(index))) {
            return bytes32(b, "a Merkle node").map(Some);
        }
        self.one_bytes("SELECT digest FROM audit_nodes WHERE level = $1 AND idx = $2", p![i16::from(level), i(index)])?
            .map(|b| bytes32(&b, "a Merkle node"))
            .transpose()
    }
    fn last_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Ok(self
            .rows("SELECT size, env FROM checkpoints ORDER BY size DESC LIMIT 1", p![])?
            .first()
            .map(|r| (u(r.get::<_, i64>(0)), r.get::<_, Vec<u8>>(1))))
    }
    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.one_bytes("SELECT env FROM checkpoints WHERE size = $1", p![i(size)])
    }
    fn checkpoint_sizes(&self, lo: u64, hi: u64, f: Visit<'_, u64>) -> Result<(), StoreError> {
        let (mut next, hi) = (i(lo), i(hi));
        loop {
            let rows = self.rows(
                "SELECT size FROM checkpoints WHERE size >= $1 AND size <= $2 ORDER BY size LIMIT $3",
                p![next, hi, PAGE],
            )?;
            for r in &rows {
                let size = r.get::<_, i64>(0);
                if !f(u(size))? {
                    return Ok(());
                }
                next = size.saturating_add(1);
            }
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }
    fn cosignatures(&self, size: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .rows("SELECT env FROM cosignatures WHERE size = $1 ORDER BY by_p", p![i(size)])?
            .iter()
            .map(|r| r.get::<_, Vec<u8>>(0))
            .collect())
    }
    fn cosigned(&self, size: u64, by: &str) -> Result<bool, StoreError> {
        Ok(!self
            .rows("SELECT 1 FROM cosignatures WHERE size = $1 AND by_p = $2", p![i(size), by.to_owned()])?
            .is_empty())
    }
}

impl WriteTables for PgTx<'_> {
    fn put_tip(&mut self, from: &str, id: &[u8], rec: &TipRecord) -> Result<(), StoreError> {
        let rec = encode(rec)?;
        self.buf.borrow_mut().tips.insert((from.to_owned(), id.to_vec()), rec);
        Ok(())
    }
    fn set_counter(&mut self, name: &str, value: u64) -> Result<(), StoreError> {
        self.buf.borrow_mut().meta.insert(name.to_owned(), i(value));
        Ok(())
    }
    fn set_author_pending(&mut self, author: &str, bytes: u64) -> Result<(), StoreError> {
        self.buf.borrow_mut().pending.insert(author.to_owned(), i(bytes));
        Ok(())
    }
    fn set_dir_seq(&mut self, from: &str, to: &str, seq: u64) -> Result<(), StoreError> {
        self.buf.borrow_mut().dirs.insert((from.to_owned(), to.to_owned()), i(seq));
        Ok(())
    }
    fn put_seq(&mut self, from: &str, to: &str, seq: u64, id: &[u8]) -> Result<(), StoreError> {
        self.buf.borrow_mut().seqs.insert((from.to_owned(), to.to_owned(), i(seq)), id.to_vec());
        Ok(())
    }
    fn set_cursor(&mut self, principal: &str, from: &str, cursor: u64) -> Result<(), StoreError> {
        self.buf.borrow_mut().cursors.insert((principal.to_owned(), from.to_owned()), i(cursor));
        Ok(())
    }
    fn put_acked_above(&mut self, principal: &str, from: &str, seq: u64, at: u64) -> Result<(), StoreError> {
        self.acked_set(principal, from, |a| {
            a.seqs.insert(i(seq));
            a.deleted.remove(&i(seq));
            a.inserted.insert(i(seq), i(at));
        })
    }
    fn take_acked_above(&mut self, principal: &str, from: &str, seq: u64) -> Result<bool, StoreError> {
        self.acked_set(principal, from, |a| {
            if !a.seqs.remove(&i(seq)) {
                return false;
            }
            // A row only this transaction added is simply not written; a stored one is deleted.
            if a.inserted.remove(&i(seq)).is_none() {
                a.deleted.insert(i(seq));
            }
            true
        })
    }
    fn prefetch_acks(&mut self, keys: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let keys: Vec<(String, Vec<u8>)> = {
            let c = self.cache.borrow();
            let mut seen = std::collections::HashSet::new();
            keys.iter().filter(|k| !c.tips.contains_key(*k) && seen.insert((*k).clone())).cloned().collect()
        };
        if keys.is_empty() {
            return Ok(());
        }
        let tips = self.tips(&keys)?;
        let (froms, ids): (Vec<String>, Vec<Vec<u8>>) = keys.iter().cloned().unzip();
        let rows = self.rows(
            "SELECT f.from_j, f.id, f.idx FROM first_ack f JOIN UNNEST($1::text[], $2::bytea[]) AS k(from_j, id)
             ON f.from_j = k.from_j AND f.id = k.id",
            p![froms, ids],
        )?;
        let mut first: HashMap<(String, Vec<u8>), i64> = HashMap::with_capacity(rows.len());
        for r in &rows {
            first.insert((r.get::<_, String>(0), r.get::<_, Vec<u8>>(1)), r.get::<_, i64>(2));
        }
        let mut fact_keys = (Vec::new(), Vec::new(), Vec::new());
        for ((from, id), rec) in keys.iter().zip(&tips) {
            if let Some(rec) = rec {
                fact_keys.0.push(i(rec.accepted));
                fact_keys.1.push(from.clone());
                fact_keys.2.push(id.clone());
            }
        }
        let wanted: Vec<(i64, String, Vec<u8>)> = fact_keys
            .0
            .iter()
            .zip(&fact_keys.1)
            .zip(&fact_keys.2)
            .map(|((a, f), id)| (*a, f.clone(), id.clone()))
            .collect();
        let rows = self.rows(
            "SELECT l.accepted, l.from_j, l.id, l.packed FROM ledger l
             JOIN UNNEST($1::bigint[], $2::text[], $3::bytea[]) AS k(accepted, from_j, id)
             ON l.accepted = k.accepted AND l.from_j = k.from_j AND l.id = k.id",
            p![fact_keys.0, fact_keys.1, fact_keys.2],
        )?;
        let mut facts: HashMap<(i64, String, Vec<u8>), Vec<u8>> = HashMap::with_capacity(rows.len());
        for r in &rows {
            facts.insert((r.get::<_, i64>(0), r.get::<_, String>(1), r.get::<_, Vec<u8>>(2)), r.get::<_, Vec<u8>>(3));
        }
        let mut c = self.cache.borrow_mut();
        for (k, rec) in keys.into_iter().zip(tips) {
            let bytes = rec.as_ref().map(encode).transpose()?;
            c.first_acks.insert(k.clone(), first.get(&k).copied());
            c.tips.insert(k, bytes);
        }
        for k in wanted {
            let v = facts.remove(&k);
            c.facts.insert(k, v);
        }
        Ok(())
    }
    fn put_first_ack(&mut self, from: &str, id: &[u8], index: u64, at: u64) -> Result<(), StoreError> {
        let mut b = self.buf.borrow_mut();
        b.first_acks.insert((from.to_owned(), id.to_vec()), i(index));
        b.acked_at.insert((from.to_owned(), id.to_vec()), i(at));
        Ok(())
    }
    fn forget_acked_at(&mut self, from: &str, id: &[u8]) -> Result<(), StoreError> {
        self.buf.borrow_mut().acked_at.remove(&(from.to_owned(), id.to_vec()));
        self.exec("DELETE FROM acked_at WHERE from_j = $1 AND id = $2", p![from.to_owned(), id.to_vec()]).map(drop)
    }
    fn put_notice(&mut self, author: &str, index: u64, n: &NoticeRecord) -> Result<(), StoreError> {
        self.buf.borrow_mut().notices.insert((author.to_owned(), i(index)), encode(n)?);
        Ok(())
    }
    fn put_feedback(&mut self, to: &str, id: &[u8], rec: &StatementRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO feedback (to_j, id, rec) VALUES ($1, $2, $3)
             ON CONFLICT (to_j, id) DO UPDATE SET rec = EXCLUDED.rec",
            p![to.to_owned(), id.to_vec(), encode(rec)?],
        )
        .map(drop)
    }
    fn put_statement(
        &mut self,
        jurisdiction: &str,
        id: &[u8],
        to: &str,
        index: u64,
        rec: &StatementRecord,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO statements (to_j, idx, rec) VALUES ($1, $2, $3)
             ON CONFLICT (to_j, idx) DO UPDATE SET rec = EXCLUDED.rec",
            p![to.to_owned(), i(index), encode(rec)?],
        )?;
        self.exec(
            "INSERT INTO statement_ids (j, id, idx) VALUES ($1, $2, $3)
             ON CONFLICT (j, id) DO UPDATE SET idx = EXCLUDED.idx",
            p![jurisdiction.to_owned(), id.to_vec(), i(index)],
        )
        .map(drop)
    }
    fn put_facts(&mut self, accepted: u64, from: &str, id: &[u8], packed: &[u8]) -> Result<(), StoreError> {
        self.buf.borrow_mut().facts.insert((i(accepted), from.to_owned(), id.to_vec()), packed.to_vec());
        Ok(())
    }
    fn put_audit_entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.buf.borrow_mut().entries.insert(i(index), bytes.to_vec());
        Ok(())
    }
    fn put_audit_node(&mut self, level: u8, index: u64, digest: &Digest) -> Result<(), StoreError> {
        self.buf.borrow_mut().nodes.insert((i16::from(level), i(index)), digest.0.to_vec());
        Ok(())
    }
    fn put_checkpoint(&mut self, size: u64, envelope: &[u8]) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO checkpoints (size, env) VALUES ($1, $2) ON CONFLICT (size) DO UPDATE SET env = EXCLUDED.env",
            p![i(size), envelope.to_vec()],
        )
        .map(drop)
    }
    fn put_cosignature(&mut self, size: u64, by: &str, envelope: &[u8]) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO cosignatures (size, by_p, env) VALUES ($1, $2, $3)
             ON CONFLICT (size, by_p) DO UPDATE SET env = EXCLUDED.env",
            p![i(size), by.to_owned(), envelope.to_vec()],
        )
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::{PgEngine, PgTarget};
    use crate::storage::{Engine, StoreError, WriteTables};

    /// A connection lost inside a write transaction fails the transaction, even when it was
    /// re-opened before the COMMIT (which would otherwise "commit" on a fresh session, and
    /// answer as durable a batch the server never kept).
    #[test]
    fn a_connection_lost_mid_transaction_fails_it_and_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = tiprelay_pgtest::Cluster::start(dir.path());
        let target = PgTarget::plain(cluster.params("relay").parse().unwrap());
        let engine = PgEngine::open(&target, true).unwrap();
        let killer = target.clone();
        let r = engine.write(&mut |t: &mut dyn WriteTables| {
            t.set_counter("mid-transaction", 7)?;
            // Every other session of the database ends, the writer's too.
            let mut c = killer.connect().unwrap();
            c.batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = 'relay' AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            )
            .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok::<(), StoreError>(())
        });
        assert!(r.is_err(), "a transaction whose connection was lost must not be reported committed");
        assert_eq!(engine.read().unwrap().counter("mid-transaction").unwrap(), None);
        // The engine goes on, on a new session.
        engine.write(&mut |t: &mut dyn WriteTables| t.set_counter("mid-transaction", 8)).unwrap();
        assert_eq!(engine.read().unwrap().counter("mid-transaction").unwrap(), Some(8));
    }

    #[test]
    fn the_sql_names_the_writer_lock() {
        assert!(super::BEGIN_WRITE.ends_with(&format!("pg_advisory_xact_lock({})", super::WRITER_LOCK)));
        let cfg: postgres::Config = "host=/tmp/x port=5 user=u password=secret dbname=d".parse().unwrap();
        assert_eq!(super::describe(&cfg), "postgres host=/tmp/x port=5 dbname=d");
    }
}
