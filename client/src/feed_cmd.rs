//! `tipctl feed`: events from a border system as JSON lines (docs/FEED.md) to receipted tips.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use tiprelay_client::client::{now, ClientError};
use tiprelay_client::conn::ConnError;
use tiprelay_client::feed::{id_for, parse_line, MAX_LINE_BYTES};
use tiprelay_client::{Client, RelayConn};
use tiprelay_proto::TipId;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

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
    #[arg(long, default_value_t = 512)]
    batch: usize,
}

#[derive(Default)]
struct Stats {
    read: u64,
    rejected: u64,
    duplicates: u64,
    queued: u64,
    receipted: u64,
    refused: u64,
}

impl Stats {
    fn json(&self, event: &str, started: Instant) -> serde_json::Value {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        json!({"event": event, "read": self.read, "rejected": self.rejected, "duplicates": self.duplicates,
               "queued": self.queued, "receipted": self.receipted, "refused": self.refused,
               "seconds": (secs * 1000.0).round() / 1000.0, "receipted_per_sec": (self.receipted as f64 / secs).round()})
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

struct Sender<'a> {
    c: &'a Client,
    conn: Option<RelayConn>,
    backoff: Duration,
}

impl Sender<'_> {
    /// Sends everything pending, waiting out outages with backoff. Returns (receipted, refused).
    async fn drain(&mut self) -> Result<(u64, u64)> {
        let (mut ok, mut refused) = (0u64, 0u64);
        loop {
            let pending = self.c.store.pending_out()?;
            if pending.is_empty() {
                return Ok((ok, refused));
            }
            if self.conn.is_none() {
                match RelayConn::connect(&self.c.cfg).await {
                    Ok(c) => {
                        self.conn = Some(c);
                        self.backoff = Duration::from_millis(250);
                    }
                    Err(e) => {
                        eprintln!(
                            "tipctl: relay unreachable ({e}); {} tip(s) wait in the outbox; retrying in {} ms",
                            pending.len(),
                            self.backoff.as_millis()
                        );
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(Duration::from_secs(15));
                        continue;
                    }
                }
            }
            let Some(conn) = self.conn.as_ref() else { continue };
            let mut failed = false;
            for chunk in pending.chunks(256) {
                match self.c.send_batch(conn, chunk).await {
                    Ok(r) => {
                        ok += r.sent.len() as u64;
                        refused += r.refused.len() as u64;
                        for (id, e) in &r.refused {
                            eprintln!("tipctl: the relay refused tip {id} for good: {e}");
                        }
                    }
                    Err(ClientError::Conn(ConnError::Refused(e))) => {
                        eprintln!("tipctl: the relay refused a batch ({e}); retrying");
                        failed = true;
                        break;
                    }
                    Err(ClientError::Conn(e)) => {
                        eprintln!("tipctl: connection lost ({e}); reconnecting");
                        failed = true;
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
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

/// Runs the feed; returns the exit code.
pub async fn run(c: &Client, a: &FeedArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let stdin = a.input == "-";
    let batch = a.batch.clamp(1, 4096);
    let (mut reader, cursor_key): (Box<dyn AsyncBufRead + Unpin + Send>, Option<String>) = if stdin {
        (Box::new(tokio::io::BufReader::new(tokio::io::stdin())), None)
    } else {
        let path = std::fs::canonicalize(&a.input).with_context(|| format!("cannot open {}", a.input))?;
        // The position belongs to this file's content, not just its name: a file replaced
        // at the same path (rotation) starts from its first line again (source_refs still
        // deduplicate), while a file that only grew resumes where it was.
        let mut first = Vec::new();
        {
            let f = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
            let mut r = std::io::Read::take(std::io::BufReader::new(f), MAX_LINE_BYTES as u64);
            std::io::BufRead::read_until(&mut r, b'\n', &mut first)?;
        }
        let identity = tiprelay_proto::Digest::of(&first).to_hex();
        let f = tokio::fs::File::open(&path).await.with_context(|| format!("cannot open {}", path.display()))?;
        let key = format!("feed_cursor:{}:{}", path.display(), &identity[..16]);
        (Box::new(tokio::io::BufReader::with_capacity(1 << 20, f)), Some(key))
    };
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
        eprintln!("tipctl: resuming {} after line {resume_after} (already signed and stored)", a.input);
    }
    let mut stats = Stats::default();
    let mut sender = Sender { c, conn: None, backoff: Duration::from_millis(250) };
    let mut last_stats = Instant::now();
    let mut line_no: u64 = 0;
    let mut committed: u64 = resume_after;
    let mut buf = Vec::with_capacity(4096);
    let principal = c.principal().to_string();

    let work = async {
        // Anything left unsent by an earlier run goes first.
        let (ok, bad) = sender.drain().await?;
        stats.receipted += ok;
        stats.refused += bad;
        loop {
            let mut items = Vec::new();
            let mut seen: HashSet<String> = HashSet::new();
            let mut eof = false;
            let mut last_line = line_no;
            while items.len() < batch {
                let Some(too_long) = read_line(&mut reader, &mut buf).await? else {
                    eof = true;
                    break;
                };
                line_no += 1;
                last_line = line_no;
                if line_no <= resume_after || buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                stats.read += 1;
                let parsed = if too_long {
                    Err(format!("line too long (more than {MAX_LINE_BYTES} bytes)"))
                } else {
                    parse_line(&buf)
                };
                let ev = match parsed {
                    Ok(ev) => ev,
                    Err(reason) => {
                        stats.rejected += 1;
                        eprintln!("tipctl: line {line_no}: rejected: {reason}");
                        if rejects.is_none() {
                            rejects = Some(
                                tokio::fs::OpenOptions::new()
                                    .create(true)
                                    .append(true)
                                    .open(&rejects_path)
                                    .await
                                    .with_context(|| format!("cannot open {}", rejects_path.display()))?,
                            );
                        }
                        if let Some(f) = rejects.as_mut() {
                            let mut rec = format!("{line_no}\t{reason}\t").into_bytes();
                            rec.extend_from_slice(&buf[..buf.len().min(MAX_LINE_BYTES)]);
                            rec.push(b'\n');
                            f.write_all(&rec).await?;
                        }
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
                match c.sign_tip(ev.draft, id, created) {
                    Ok((_, rec)) => items.push((*id.as_bytes(), rec, ev.source_ref)),
                    Err(e) => {
                        stats.rejected += 1;
                        eprintln!("tipctl: line {line_no}: rejected: {e}");
                        if let Some(f) = rejects.as_mut() {
                            f.write_all(format!("{line_no}\t{e}\t(see the input)\n").as_bytes()).await?;
                        }
                    }
                }
            }
            if let Some(f) = rejects.as_mut() {
                f.flush().await?;
            }
            // Durable before anything is sent: the batch, its source_refs and the position.
            // A full disk (or store limit) refuses the whole batch: nothing of it is
            // half-written, the position stays before it, and reading stops.
            if let Err(e) = c
                .store
                .check_space()
                .and_then(|()| c.store.put_feed_batch(&items, cursor_key.as_deref().map(|k| (k, last_line))))
            {
                if e.is_full() {
                    let (ok, bad) = sender.drain().await?;
                    stats.receipted += ok;
                    stats.refused += bad;
                    return Err(anyhow::Error::new(e).context(format!(
                        "stopped reading after line {committed}: every line up to it is signed, stored and \
                         sent; free space (or raise max_store_mb) and run the feed again to continue"
                    )));
                }
                return Err(e.into());
            }
            committed = last_line;
            stats.queued += items.len() as u64;
            let (ok, bad) = sender.drain().await?;
            stats.receipted += ok;
            stats.refused += bad;
            let msg = format!(
                "read {} · rejected {} · receipted {} · {:.0}/s",
                stats.read,
                stats.rejected,
                stats.receipted,
                stats.receipted as f64 / started.elapsed().as_secs_f64().max(1e-9)
            );
            match &bar {
                Some(b) => b.set_message(msg),
                None if last_stats.elapsed() >= Duration::from_secs(5) => {
                    println!("{}", stats.json("stats", started));
                    last_stats = Instant::now();
                }
                None => {}
            }
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
    let interrupted = tokio::select! {
        r = work => { r?; false }
        _ = tokio::signal::ctrl_c() => true,
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(conn) = sender.conn.take() {
        conn.close().await;
    }
    let waiting = c.store.pending_out()?.len();
    if tty {
        eprintln!(
            "{}: read {} lines, rejected {} (in {}), {} duplicate source_ref, {} signed, {} receipted, {} refused, {:.0} receipted/s; {waiting} waiting in the outbox",
            if interrupted { "stopped" } else { "done" },
            stats.read,
            stats.rejected,
            rejects_path.display(),
            stats.duplicates,
            stats.queued,
            stats.receipted,
            stats.refused,
            stats.receipted as f64 / started.elapsed().as_secs_f64().max(1e-9)
        );
    } else {
        let mut v = stats.json(if interrupted { "stopped" } else { "summary" }, started);
        if let Some(o) = v.as_object_mut() {
            o.insert("waiting".into(), json!(waiting));
            o.insert("rejects_file".into(), json!(rejects_path.display().to_string()));
        }
        println!("{v}");
    }
    Ok(if interrupted {
        ExitCode::from(130)
    } else if stats.refused > 0 || (a.strict && stats.rejected > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
