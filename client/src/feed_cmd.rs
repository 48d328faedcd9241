//! `tipctl feed`: events from a border system as JSON lines (docs/FEED.md) to receipted tips.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use tiprelay_client::client::{now, submit_batches, ClientError, Resent};
use tiprelay_client::conn::ConnError;
use tiprelay_client::feed::{id_for, parse_line, MAX_LINE_BYTES};
use tiprelay_client::i18n::{tr_in, Locale};
use tiprelay_client::{output, t, Client, RelayConn};
use tiprelay_common::localize::Localize as _;
use tiprelay_proto::TipId;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

/// Options of `tipctl feed`.
#[derive(clap::Args)]
pub struct FeedArgs {
    /// The events file, or `-` for standard input.
    #[arg(long)]
    input: String,
    /// Keep reading as the file (or standard input) grows, like `tail -f`, until Ctrl-C.
    #[arg(long)]
    follow: bool,
    /// Where rejected lines go (line number, reason, the line). Default: INPUT.rejects
    /// (feed.rejects in the current directory for standard input).
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Exit non-zero when any line was rejected.
    #[arg(long)]
    strict: bool,
    /// Lines signed and stored per transaction (1..=4096).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u16).range(1..=4096))]
    batch: u16,
    /// Input format: JSON lines (docs/FEED.md) or a STIX 2.1 bundle (docs/STIX.md), whose
    /// indicators, sightings, observed-data and reports become tips, each STIX id its
    /// source_ref; rejected objects are named by their position in `objects`.
    #[arg(long, value_enum, default_value_t = Format::Jsonl, ignore_case = true)]
    format: Format,
    /// STIX: the receiving jurisdiction of objects that do not name one.
    #[arg(long)]
    to: Option<String>,
    /// STIX: the category of objects that do not carry one (default: other).
    #[arg(long)]
    category: Option<String>,
    /// STIX: the TLP label of objects with no TLP marking (otherwise they are rejected).
    #[arg(long)]
    tlp: Option<String>,
    /// STIX: the urgency of objects that do not carry one (default: routine).
    #[arg(long)]
    urgency: Option<String>,
}

/// What `tipctl feed` reads.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line (docs/FEED.md).
    Jsonl,
    /// A STIX 2.1 bundle (docs/STIX.md).
    #[value(name = "stix2.1", alias = "stix")]
    Stix21,
}

/// The largest STIX bundle read (it is parsed whole).
const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;

/// Where the events come from: lines, or the objects of a STIX bundle.
enum Source {
    Lines(Box<dyn AsyncBufRead + Unpin + Send>),
    Stix {
        items: std::vec::IntoIter<(tiprelay_client::stix::ImportItem, Vec<u8>)>,
        /// The current object as given (for the rejects file).
        raw: Vec<u8>,
    },
}

/// One unit of input (a line or an object), its bytes in the caller's buffer.
enum Unit {
    /// A line to parse; true when it was too long.
    Line(bool),
    /// An object the STIX mapping refused, with the reason.
    Rejected(tiprelay_client::stix::Reject),
    /// A STIX object that is context, not a tip.
    Context,
}

impl Source {
    async fn next(&mut self, buf: &mut Vec<u8>) -> std::io::Result<Option<Unit>> {
        match self {
            Source::Lines(r) => Ok(read_line(r, buf).await?.map(Unit::Line)),
            Source::Stix { items, raw } => Ok(items.next().map(|(item, object)| {
                use tiprelay_client::stix::ImportItem;
                buf.clear();
                *raw = object;
                match item {
                    ImportItem::Event(line) => {
                        buf.extend_from_slice(&line);
                        Unit::Line(false)
                    }
                    ImportItem::Rejected(why) => Unit::Rejected(why),
                    ImportItem::Context => Unit::Context,
                }
            })),
        }
    }

    /// What the rejects file keeps of the current unit: the line, or the STIX object as given.
    fn given<'a>(&'a self, buf: &'a [u8]) -> &'a [u8] {
        match self {
            Source::Lines(_) => &buf[..buf.len().min(MAX_LINE_BYTES)],
            Source::Stix { raw, .. } => raw,
        }
    }
}

/// The reader's counts (the sender's are in [`Shared`]).
#[derive(Default)]
struct Stats {
    read: u64,
    context: u64,
    rejected: u64,
    duplicates: u64,
    queued: u64,
}

impl Stats {
    fn json(&self, event: &str, started: Instant, s: &Shared) -> serde_json::Value {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let (receipted, refused) = (s.receipted.load(Ordering::Acquire), s.refused.load(Ordering::Acquire));
        json!({"event": event, "read": self.read, "context": self.context, "rejected": self.rejected, "duplicates": self.duplicates,
               "queued": self.queued, "receipted": receipted, "refused": refused,
               "seconds": (secs * 1000.0).round() / 1000.0, "receipted_per_sec": (receipted as f64 / secs).round()})
    }
}

/// Reads one line of at most MAX_LINE_BYTES (+ newline); a longer one is consumed to its
/// end and reported as too long. None at end of input.
async fn read_line(r: &mut (impl AsyncBufRead + Unpin), buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let n = (&mut *r).take(MAX_LINE_BYTES as u64 + 2).read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(None);
    }
    let mut too_long = false;
    if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE_BYTES {
        too_long = true;
        let mut rest = Vec::new();
        loop {
            rest.clear();
            let m = (&mut *r).take(64 * 1024).read_until(b'\n', &mut rest).await?;
            if m == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(too_long))
}

struct Sender {
    c: Arc<Client>,
    conn: Option<RelayConn>,
    backoff: Duration,
}

/// What the reader (signing and storing) and the sender task share.
#[derive(Default)]
struct Shared {
    /// Tips this run stored in the outbox.
    queued: AtomicU64,
    /// Tips receipted (this run's and any left by an earlier one).
    receipted: AtomicU64,
    /// Tips the relay refused for good.
    refused: AtomicU64,
    /// The reader stored its last batch.
    reading_done: AtomicBool,
    /// Ctrl-C: stop after the request in flight.
    stop: AtomicBool,
    /// Reader → sender: a batch was stored.
    more: Notify,
    /// Sender → reader: receipts arrived (the reader waits when it is far ahead).
    sent: Notify,
}

impl Sender {
    /// Sends everything pending, waiting out outages with backoff, counting receipts and
    /// refusals into `s` as they arrive. Returns when the outbox is empty (or on stop).
    async fn drain(&mut self, s: &Shared) -> Result<()> {
        loop {
            let pending = self.c.store.pending_out()?;
            if pending.is_empty() || s.stop.load(Ordering::Acquire) {
                return Ok(());
            }
            if self.conn.is_none() {
                match RelayConn::connect(&self.c.cfg).await {
                    Ok(c) => {
                        self.conn = Some(c);
                        self.backoff = Duration::from_millis(250);
                    }
                    Err(e) => {
                        eprintln!(
                            "tipctl: {}",
                            t!("feed-unreachable", "reason" => e.to_string(), "count" => pending.len(),
                               "ms" => u64::try_from(self.backoff.as_millis()).unwrap_or(u64::MAX))
                        );
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(Duration::from_secs(15));
                        continue;
                    }
                }
            }
            let Some(conn) = self.conn.as_ref() else { continue };
            let mut failed = false;
            // Two chunks overlap: while the answers of one are verified and stored on the
            // blocking pool, the next one is with the relay.
            let mut settling: Option<tokio::task::JoinHandle<Settled>> = None;
            for chunk in pending.chunks(256) {
                if s.stop.load(Ordering::Acquire) || failed {
                    break;
                }
                let recs = match self.c.unsent(chunk) {
                    Ok(r) => r,
                    Err(e) => {
                        // Account for the chunk already answered before giving up.
                        if let Some(h) = settling.take() {
                            let _ = settled(h.await, s);
                        }
                        return Err(e.into());
                    }
                };
                let answers = submit_batches(conn, recs.iter().map(|(_, r)| r.envelope.clone()).collect()).await;
                if let Some(h) = settling.take() {
                    failed |= settled(h.await, s)?;
                }
                let c = self.c.clone();
                settling = Some(tokio::task::spawn_blocking(move || c.settle(recs, answers)));
            }
            if let Some(h) = settling.take() {
                failed |= settled(h.await, s)?;
            }
            if s.stop.load(Ordering::Acquire) {
                return Ok(());
            }
            if failed {
                if let Some(c) = self.conn.take() {
                    c.close().await;
                }
                tokio::time::sleep(self.backoff).await;
                self.backoff = (self.backoff * 2).min(Duration::from_secs(15));
            }
        }
    }
}

/// Accounts for one settled chunk; true when the connection failed (reconnect), an error
/// when the run must stop.
/// What [`Client::settle`] returns: what was stored, and the failure that stopped the rest.
type Settled = Result<(Resent, Option<ClientError>), ClientError>;

fn settled(r: Result<Settled, tokio::task::JoinError>, s: &Shared) -> Result<bool> {
    let (r, failure) = r.with_context(|| t!("feed-task-failed", "task" => "verify"))??;
    s.receipted.fetch_add(r.sent.len() as u64, Ordering::AcqRel);
    s.refused.fetch_add(r.refused.len() as u64, Ordering::AcqRel);
    s.sent.notify_one();
    for (id, e) in &r.refused {
        eprintln!("tipctl: {}", t!("feed-refused-tip", "id" => id.to_string(), "reason" => output::refusal(e)));
    }
    match failure {
        None => Ok(false),
        Some(ClientError::Conn(e @ ConnError::BatchRefused(_))) => {
            eprintln!("tipctl: {}", t!("feed-retrying", "reason" => e.to_string()));
            Ok(true)
        }
        Some(ClientError::Conn(ConnError::Refused(e))) => {
            eprintln!("tipctl: {}", t!("feed-batch-refused", "reason" => output::refusal(&e)));
            Ok(true)
        }
        Some(ClientError::Conn(e)) => {
            eprintln!("tipctl: {}", t!("feed-connection-lost", "reason" => e.to_string()));
            Ok(true)
        }
        Some(e) => Err(e.into()),
    }
}

/// The sender task: drains the outbox whenever the reader stored a batch, until the reader
/// is done and the outbox is empty (or Ctrl-C).
async fn send_loop(c: Arc<Client>, s: Arc<Shared>) -> Result<()> {
    let mut sender = Sender { c: c.clone(), conn: None, backoff: Duration::from_millis(250) };
    let r = async {
        loop {
            // Read before draining: whatever was stored before `reading_done` is drained.
            let done = s.reading_done.load(Ordering::Acquire);
            sender.drain(&s).await?;
            if done || s.stop.load(Ordering::Acquire) {
                return anyhow::Ok(());
            }
            // A stored permit means a batch arrived while draining; the timeout only bounds
            // the cost of a missed wake-up.
            let _ = tokio::time::timeout(Duration::from_millis(250), s.more.notified()).await;
        }
    }
    .await;
    s.sent.notify_one();
    if let Some(conn) = sender.conn.take() {
        conn.close().await;
    }
    r
}

/// One valid line waiting for its signature.
struct ToSign {
    line: u64,
    draft: tiprelay_client::client::Draft,
    id: TipId,
    created: tiprelay_proto::Timestamp,
    source_ref: Option<String>,
}

/// A signed line, or why it could not be signed (in English for the rejects file, and for
/// the person).
type SignedLine = (u64, Option<String>, Result<([u8; 16], tiprelay_client::store::OutRecord), (String, String)>);

/// Signs a batch on the blocking pool, in two halves (one per core).
async fn sign_all(c: &Arc<Client>, mut items: Vec<ToSign>) -> Result<Vec<SignedLine>> {
    let second = items.split_off(items.len() / 2);
    let run = |c: Arc<Client>, part: Vec<ToSign>| {
        tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|t| {
                    let r = c.sign_tip(t.draft, t.id, t.created).map(|(_, rec)| (*t.id.as_bytes(), rec));
                    (t.line, t.source_ref, r.map_err(|e| (e.english(), e.to_string())))
                })
                .collect::<Vec<_>>()
        })
    };
    let (a, b) = tokio::join!(run(c.clone(), items), run(c.clone(), second));
    let failed = || t!("feed-task-failed", "task" => "sign");
    let mut out = a.with_context(failed)?;
    out.extend(b.with_context(failed)?);
    Ok(out)
}

/// Runs the feed; returns the exit code.
pub async fn run(c: Arc<Client>, a: &FeedArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let stdin = a.input == "-";
    let batch = usize::from(a.batch);
    let stix = a.format == Format::Stix21;
    if stix && a.follow {
        anyhow::bail!("{}", t!("feed-stix-follow"));
    }
    if !stix && (a.to.is_some() || a.category.is_some() || a.tlp.is_some() || a.urgency.is_some()) {
        anyhow::bail!("{}", t!("feed-stix-defaults"));
    }
    let (mut source, cursor_key): (Source, Option<String>) = if stix {
        let mut bytes = Vec::new();
        if stdin {
            tokio::io::AsyncReadExt::take(tokio::io::stdin(), MAX_BUNDLE_BYTES + 1).read_to_end(&mut bytes).await?;
        } else {
            let f = tokio::fs::File::open(&a.input)
                .await
                .with_context(|| t!("tipctl-cannot-open", "path" => a.input.clone()))?;
            tokio::io::AsyncReadExt::take(f, MAX_BUNDLE_BYTES + 1).read_to_end(&mut bytes).await?;
        }
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            anyhow::bail!("{}", t!("feed-stix-too-big", "path" => a.input.clone(), "mib" => MAX_BUNDLE_BYTES >> 20));
        }
        let defaults = tiprelay_client::stix::ImportDefaults {
            to: a.to.clone(),
            category: a.category.clone(),
            urgency: a.urgency.clone(),
            tlp: a.tlp.as_deref().map(str::to_ascii_lowercase),
        };
        let items = tiprelay_client::stix::import(&bytes, &defaults).with_context(|| a.input.clone())?;
        let t = tiprelay_client::stix::tally(&items);
        eprintln!(
            "tipctl: {}",
            t!("feed-stix-tally", "path" => a.input.clone(), "count" => items.len(),
               "events" => *t.get("events").unwrap_or(&0), "rejected" => *t.get("rejected").unwrap_or(&0),
               "context" => *t.get("context").unwrap_or(&0))
        );
        // The position belongs to this bundle read with these defaults: a rerun with the
        // --tlp or --to a rejection asked for reads the bundle again (source_refs dedupe).
        let mut keyed = bytes.clone();
        for v in [&a.to, &a.category, &a.tlp, &a.urgency] {
            keyed.push(0);
            keyed.extend_from_slice(v.as_deref().unwrap_or("").as_bytes());
        }
        let key = (!stdin).then(|| format!("feed_cursor:stix:{}", &tiprelay_proto::Digest::of(&keyed).to_hex()[..32]));
        let paired = items;
        (Source::Stix { items: paired.into_iter(), raw: Vec::new() }, key)
    } else if stdin {
        (Source::Lines(Box::new(tokio::io::BufReader::new(tokio::io::stdin()))), None)
    } else {
        let path =
            std::fs::canonicalize(&a.input).with_context(|| t!("tipctl-cannot-open", "path" => a.input.clone()))?;
        // The position belongs to this file's content, not just its name: a file replaced
        // at the same path (rotation) starts from its first line again (source_refs still
        // deduplicate), while a file that only grew resumes where it was.
        let mut first = Vec::new();
        {
            let f = std::fs::File::open(&path)
                .with_context(|| t!("tipctl-cannot-open", "path" => path.display().to_string()))?;
            let mut r = std::io::Read::take(std::io::BufReader::new(f), MAX_LINE_BYTES as u64);
            std::io::BufRead::read_until(&mut r, b'\n', &mut first)?;
        }
        let identity = tiprelay_proto::Digest::of(&first).to_hex();
        let f = tokio::fs::File::open(&path)
            .await
            .with_context(|| t!("tipctl-cannot-open", "path" => path.display().to_string()))?;
        let key = format!("feed_cursor:{}:{}", path.display(), &identity[..16]);
        (Source::Lines(Box::new(tokio::io::BufReader::with_capacity(1 << 20, f))), Some(key))
    };
    let unit = if stix { "object" } else { "line" };
    let resume_after = match &cursor_key {
        Some(k) => c.store.meta(k)?,
        None => 0,
    };
    let rejects_path = a.rejects.clone().unwrap_or_else(|| {
        if stdin {
            PathBuf::from("feed.rejects")
        } else {
            PathBuf::from(format!("{}.rejects", a.input))
        }
    });
    let mut rejects: Option<tokio::fs::File> = None;
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = indicatif::ProgressBar::new_spinner();
        if let Ok(st) = indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}") {
            b.set_style(st);
        }
        b.enable_steady_tick(Duration::from_millis(200));
        Some(b)
    } else {
        None
    };
    if resume_after > 0 {
        eprintln!(
            "tipctl: {}",
            t!("feed-resuming", "path" => a.input.clone(), "unit" => unit, "after" => resume_after)
        );
    }
    let mut stats = Stats::default();
    let shared = Arc::new(Shared::default());
    // Anything left unsent by an earlier run goes first; then each stored batch is sent
    // while the next one is read and signed.
    let mut sending = tokio::spawn(send_loop(c.clone(), shared.clone()));
    let mut last_stats = Instant::now();
    let mut line_no: u64 = 0;
    let mut committed: u64 = resume_after;
    let mut buf = Vec::with_capacity(4096);
    let principal = c.principal().to_string();
    // How far the reader may run ahead of the receipts (tips stored but not yet answered).
    let ahead = (batch as u64).max(256) * 4;

    let work = async {
        let mut report = |stats: &Stats, force: bool| {
            let (receipted, _) = (shared.receipted.load(Ordering::Acquire), ());
            let msg = t!(
                "feed-progress",
                "read" => stats.read, "rejected" => stats.rejected, "receipted" => receipted,
                "rate" => format!("{:.0}", receipted as f64 / started.elapsed().as_secs_f64().max(1e-9))
            );
            match &bar {
                Some(b) => b.set_message(msg),
                None if force || last_stats.elapsed() >= Duration::from_secs(5) => {
                    println!("{}", stats.json("stats", started, &shared));
                    last_stats = Instant::now();
                }
                None => {}
            }
        };
        loop {
            // Wait while far ahead of the receipts (an outage, a slow relay).
            while shared.queued.load(Ordering::Acquire)
                > shared.receipted.load(Ordering::Acquire) + shared.refused.load(Ordering::Acquire) + ahead
                && !sending.is_finished()
            {
                let _ = tokio::time::timeout(Duration::from_millis(250), shared.sent.notified()).await;
                report(&stats, false);
            }
            if sending.is_finished() {
                // The sender stopped on its own: only an error does that before the end.
                break;
            }
            let mut to_sign = Vec::new();
            // Rejected lines of this batch (line, reason for the person, record with the
            // English reason), reported in line order.
            let mut bad: Vec<(u64, String, Vec<u8>)> = Vec::new();
            let mut seen: HashSet<String> = HashSet::new();
            let mut eof = false;
            let mut last_line = line_no;
            while to_sign.len() < batch {
                let Some(got) = source.next(&mut buf).await? else {
                    eof = true;
                    break;
                };
                line_no += 1;
                last_line = line_no;
                if line_no <= resume_after || (!stix && buf.iter().all(u8::is_ascii_whitespace)) {
                    continue;
                }
                let parsed = match got {
                    Unit::Context => {
                        stats.context += 1;
                        continue;
                    }
                    Unit::Rejected(why) => Err((why.to_string(), why.localize())),
                    Unit::Line(true) => Err((
                        tr_in(Locale::En, "feed-line-too-long-more", &[("max", MAX_LINE_BYTES.into())]),
                        t!("feed-line-too-long-more", "max" => MAX_LINE_BYTES),
                    )),
                    Unit::Line(false) => parse_line(&buf).map_err(|e| (e.to_string(), e.localize())),
                };
                stats.read += 1;
                let ev = match parsed {
                    Ok(ev) => ev,
                    Err((english, reason)) => {
                        let mut rec = format!("{line_no}\t{english}\t").into_bytes();
                        rec.extend_from_slice(source.given(&buf));
                        rec.push(b'\n');
                        bad.push((line_no, reason, rec));
                        continue;
                    }
                };
                let created = now();
                let id = match &ev.source_ref {
                    Some(sr) => {
                        if !seen.insert(sr.clone()) || c.store.feed_ref(sr)?.is_some() {
                            stats.duplicates += 1;
                            continue;
                        }
                        id_for(&principal, sr, created)
                    }
                    None => {
                        let mut r = [0u8; 10];
                        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut r);
                        TipId::new_v7(created, r)
                    }
                };
                to_sign.push(ToSign { line: line_no, draft: ev.draft, id, created, source_ref: ev.source_ref });
            }
            let mut items = Vec::with_capacity(to_sign.len());
            for (line, source_ref, r) in sign_all(&c, to_sign).await? {
                match r {
                    Ok((id, rec)) => items.push((id, rec, source_ref)),
                    Err((english, reason)) => {
                        let rec = format!("{line}\t{english}\t(see the input)\n").into_bytes();
                        bad.push((line, reason, rec));
                    }
                }
            }
            bad.sort_by_key(|b| b.0);
            for (line, reason, rec) in &bad {
                stats.rejected += 1;
                eprintln!(
                    "tipctl: {}",
                    t!("feed-rejected", "unit" => unit, "line" => *line,
                       "reason" => tiprelay_client::output::printable(reason, false))
                );
                write_reject(&mut rejects, &rejects_path, rec).await?;
            }
            if let Some(f) = rejects.as_mut() {
                f.flush().await?;
            }
            // Durable before anything is sent: the batch, its source_refs and the position.
            // A full disk (or store limit) refuses the whole batch: nothing of it is
            // half-written, the position stays before it, and reading stops (what is
            // stored is still sent).
            if let Err(e) = c
                .store
                .check_space()
                .and_then(|()| c.store.put_feed_batch(&items, cursor_key.as_deref().map(|k| (k, last_line))))
            {
                if e.is_full() {
                    return Err(anyhow::Error::new(e).context(t!("feed-stopped-full", "line" => committed)));
                }
                return Err(e.into());
            }
            committed = last_line;
            stats.queued += items.len() as u64;
            shared.queued.fetch_add(items.len() as u64, Ordering::AcqRel);
            shared.more.notify_one();
            report(&stats, false);
            if eof {
                if a.follow {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
                break;
            }
        }
        anyhow::Ok(())
    };
    let (interrupted, read_result) = tokio::select! {
        r = work => (false, r),
        _ = tokio::signal::ctrl_c() => {
            shared.stop.store(true, Ordering::Release);
            (true, Ok(()))
        }
    };
    // Whatever was stored is sent before the end (unless interrupted: then it waits in
    // the outbox for the next run).
    shared.reading_done.store(true, Ordering::Release);
    shared.more.notify_one();
    let mut stopping = interrupted;
    let sent_result = loop {
        tokio::select! {
            r = &mut sending => break r.with_context(|| t!("feed-task-failed", "task" => "send")).and_then(|r| r),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if let Some(b) = &bar {
                    let receipted = shared.receipted.load(Ordering::Acquire);
                    b.set_message(t!("feed-progress-rest", "read" => stats.read, "rejected" => stats.rejected, "receipted" => receipted));
                }
            }
            _ = tokio::signal::ctrl_c() => {
                if stopping {
                    // A second Ctrl-C: leave now; everything stored waits in the outbox.
                    if let Some(b) = &bar {
                        b.finish_and_clear();
                    }
                    eprintln!("tipctl: {}", t!("feed-stopped-at-once"));
                    return Ok(ExitCode::from(tiprelay_client::exit::INTERRUPTED));
                }
                stopping = true;
                shared.stop.store(true, Ordering::Release);
            }
        }
    };
    let interrupted = stopping;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    read_result?;
    sent_result?;
    let waiting = c.store.pending_out()?.len();
    let (receipted, refused) = (shared.receipted.load(Ordering::Acquire), shared.refused.load(Ordering::Acquire));
    if tty {
        eprintln!(
            "{}",
            t!("feed-summary", "state" => if interrupted { "stopped" } else { "done" }, "read" => stats.read,
               "unit" => unit, "rejected" => stats.rejected, "rejects" => rejects_path.display().to_string(),
               "duplicates" => stats.duplicates, "signed" => stats.queued, "receipted" => receipted,
               "refused" => refused,
               "rate" => format!("{:.0}", receipted as f64 / started.elapsed().as_secs_f64().max(1e-9)),
               "waiting" => waiting)
        );
    } else {
        let mut v = stats.json(if interrupted { "stopped" } else { "summary" }, started, &shared);
        if let Some(o) = v.as_object_mut() {
            o.insert("waiting".into(), json!(waiting));
            o.insert("rejects_file".into(), json!(rejects_path.display().to_string()));
        }
        println!("{v}");
    }
    Ok(if interrupted {
        ExitCode::from(tiprelay_client::exit::INTERRUPTED)
    } else if refused > 0 {
        ExitCode::from(tiprelay_client::exit::REFUSED)
    } else if a.strict && stats.rejected > 0 {
        ExitCode::from(tiprelay_client::exit::FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Appends one record to the rejects file, opening it on first use.
async fn write_reject(f: &mut Option<tokio::fs::File>, path: &std::path::Path, rec: &[u8]) -> Result<()> {
    if f.is_none() {
        *f = Some(
            tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .with_context(|| t!("tipctl-cannot-open", "path" => path.display().to_string()))?,
        );
    }
    if let Some(f) = f.as_mut() {
        f.write_all(rec).await?;
    }
    Ok(())
}
