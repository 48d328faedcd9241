//! `tipbench`: drives a relay on this machine and reports its throughput and latency next
//! to what the machine itself allows (Ed25519 sign/verify rates, fsync latency), measured
//! in the same process. See `tipbench --help` and docs/PERFORMANCE.md.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use tiprelay::config::RelayConfig;
use tiprelay::server::{self, RelayHandle};
use tiprelay_client::{ClientConfig, RelayConn};
use tiprelay_proto::wire::{Request, Response};
use tiprelay_proto::{Category, Signer, Tip, TipId, Tlp, Urgency};

/// Measures a tiprelay relay on this machine: each run builds a development PKI in a
/// temporary directory, starts a relay on 127.0.0.1, drives it, and prints a table (or one
/// JSON object with --json) with each throughput also as a ratio to this machine's ceiling.
#[derive(Parser)]
#[command(name = "tipbench", version)]
struct Cli {
    /// One JSON object instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// The relay's storage engine: `redb` (a file), or `postgres` (a throwaway cluster this
    /// run starts with initdb and pg_ctl, synchronous_commit on).
    #[arg(long, global = true, default_value = "redb", value_parser = ["redb", "postgres"])]
    store: String,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Presigned tips from concurrent senders; the relay verifies and commits each durably;
    /// senders wait for receipts. With `--features compare-audit`, the same run again with
    /// the audit log off, and the ratio.
    Ingest {
        /// Tips in total.
        #[arg(long, default_value_t = 20_000)]
        tips: usize,
        /// Concurrent senders (spread over the four principals of the dev PKI).
        #[arg(long, default_value_t = 8)]
        senders: usize,
        /// Requests in flight per sender.
        #[arg(long, default_value_t = 4)]
        window: usize,
        /// Tips per request: a `submit_batch` of this many (at most 64), or 1 for one
        /// `submit` per tip.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=64))]
        batch: u16,
    },
    /// End to end: senders sign, the relay verifies and commits, recipients fetch, verify,
    /// store and acknowledge; tips per second counted at the recipients. With
    /// `--federated`, each jurisdiction's own relay, peered: every tip goes through the
    /// sender's relay, across the link, then the recipient's relay.
    E2e {
        /// Tips in total (half each way).
        #[arg(long, default_value_t = 10_000)]
        tips: usize,
        /// Two relays, one per jurisdiction, peered (PROTOCOL.md §14), instead of one shared
        /// relay.
        #[arg(long)]
        federated: bool,
    },
    /// An audit log of `--entries` entries with a signed checkpoint every
    /// `--checkpoint-every` entries, exported as a bundle (the header carries a bounded
    /// number of checkpoints) and verified offline: sizes and times.
    Export {
        /// Entries in the log.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
        /// A checkpoint every this many entries (100: 10,000 checkpoints per million).
        #[arg(long, default_value_t = 100)]
        checkpoint_every: u64,
    },
    /// Tips queued for an offline recipient: relay RSS and store size, restart-to-serving
    /// time, then the drain rate when the recipient connects (the relay runs as its own
    /// process, the `tiprelay` binary next to this one).
    Backlog {
        /// Tips queued.
        #[arg(long, default_value_t = 1_000_000)]
        tips: usize,
    },
    /// A JSON-lines file through `tipctl feed` (the binary next to this one), to receipts.
    Feed {
        /// Lines in the file.
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
    },
    /// `tipctl send` of one tip, whole process (start, configuration and keys, outbox
    /// fsync, QUIC + mTLS handshake, audit check, submit, verified receipt stored, close),
    /// run `--runs` times one after another against a relay on 127.0.0.1; wall-time
    /// distribution (the first two runs warm the page cache and are not counted).
    Send {
        /// Timed runs.
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// A fixed offered rate for a while; the receipt latency distribution.
    Latency {
        /// Tips per second offered.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// For this many seconds.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

/// Single-core rates and fsync latency of this machine, measured now.
struct Ceilings {
    sign_per_sec: f64,
    verify_per_sec: f64,
    cores: usize,
    fsync_ms: f64,
}

impl Ceilings {
    fn verify_all_cores(&self) -> f64 {
        self.verify_per_sec * self.cores as f64
    }

    fn measure(dir: &Path) -> Result<Self> {
        use ed25519_dalek::{Signer as _, SigningKey};
        let key = SigningKey::from_bytes(&[7; 32]);
        let msg = vec![0x42u8; 600];
        let n = 3000;
        let t = Instant::now();
        let mut sig = key.sign(&msg);
        for _ in 0..n {
            sig = key.sign(&msg);
        }
        let sign_per_sec = n as f64 / t.elapsed().as_secs_f64();
        let vk = key.verifying_key();
        let t = Instant::now();
        for _ in 0..n {
            vk.verify_strict(&msg, &sig).context("verify_strict")?;
        }
        let verify_per_sec = n as f64 / t.elapsed().as_secs_f64();
        let path = dir.join("fsync.probe");
        let mut f = std::fs::File::create(&path)?;
        let mut lat = Vec::with_capacity(200);
        for _ in 0..200 {
            std::io::Write::write_all(&mut f, &[0u8; 4096])?;
            let t = Instant::now();
            f.sync_data()?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        std::fs::remove_file(&path)?;
        lat.sort_by(f64::total_cmp);
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Ok(Self { sign_per_sec, verify_per_sec, cores, fsync_ms: lat[lat.len() / 2] })
    }

    fn json(&self) -> Value {
        json!({"sign_per_sec_one_core": self.sign_per_sec.round(), "verify_strict_per_sec_one_core": self.verify_per_sec.round(),
               "cores": self.cores, "fsync_median_ms": (self.fsync_ms * 1000.0).round() / 1000.0})
    }
}

/// The storage engine of every relay this run starts (`--store`).
static STORE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A dev PKI and a relay on 127.0.0.1 in a temporary directory (and its PostgreSQL
/// cluster with `--store postgres`, stopped after the relay).
struct Bed {
    relay: Option<RelayHandle>,
    /// Federated: the US relay (`relay` is MX's).
    peer: Option<RelayHandle>,
    cluster: Option<tiprelay_pgtest::Cluster>,
    dir: tempfile::TempDir,
}

/// A temporary directory with a development PKI (MX and US) for a relay at `addr`.
fn dev_pki(addr: std::net::SocketAddr) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("tipbench-").tempdir()?;
    tiprelay_certs::dev::create(&tiprelay_certs::dev::DevOptions {
        out: dir.path().join("pki"),
        jurisdictions: vec!["MX".parse()?, "US".parse()?],
        relay_addr: addr,
        force: false,
    })?;
    Ok(dir)
}

impl Bed {
    /// Each jurisdiction's own relay, peered (federation), both in this process.
    async fn start_federated() -> Result<Self> {
        if STORE.get().is_some_and(|s| s == "postgres") {
            anyhow::bail!("--federated runs on redb stores only");
        }
        let (smx, sus) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
        let dir = tempfile::Builder::new().prefix("tipbench-").tempdir()?;
        tiprelay_certs::dev::create_federated(&tiprelay_certs::dev::FederatedOptions {
            out: dir.path().join("pki"),
            relays: [("MX".parse()?, smx.local_addr()?), ("US".parse()?, sus.local_addr()?)],
            force: false,
        })?;
        let mut relays = Vec::new();
        for (j, s) in [("MX", smx), ("US", sus)] {
            let mut cfg = RelayConfig::load(&dir.path().join(format!("pki/{j}/relay.toml")))?;
            cfg.metrics_listen = Some("127.0.0.1:0".parse()?);
            relays.push(server::start(cfg, Some(s)).await?);
        }
        let peer = relays.pop();
        Ok(Self { relay: relays.pop(), peer, cluster: None, dir })
    }

    async fn start() -> Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let dir = dev_pki(socket.local_addr()?)?;
        let mut cfg = RelayConfig::load(&dir.path().join("pki/relay.toml"))?;
        // The metrics endpoint on, as in production, so its cost is in every figure.
        cfg.metrics_listen = Some("127.0.0.1:0".parse()?);
        let cluster = if STORE.get().is_some_and(|s| s == "postgres") {
            let path = dir.path().to_path_buf();
            let c = tokio::task::spawn_blocking(move || tiprelay_pgtest::Cluster::start(&path)).await?;
            cfg.backend = tiprelay::config::StoreBackend::Postgres(Box::new(
                tiprelay::storage::postgres::PgTarget::plain(c.params("relay").parse()?),
            ));
            Some(c)
        } else {
            None
        };
        let relay = server::start(cfg, Some(socket)).await?;
        Ok(Self { relay: Some(relay), peer: None, cluster, dir })
    }

    /// Scrapes `/metrics` and returns the sum of `tiprelay_tips_accepted_total` over its
    /// labels (the text is parsed with a Prometheus text-format parser).
    async fn scrape_accepted(&self) -> Result<f64> {
        let scrape = self.scrape().await?;
        Ok(scrape
            .samples
            .iter()
            .filter(|s| s.metric == "tiprelay_tips_accepted_total")
            .map(|s| match s.value {
                // OpenMetrics names the family without `_total`: the parser may type it untyped.
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum())
    }

    /// Mean commit time (ms), mean group-commit size and mean `submit` handling time (ms,
    /// decoded request to answer), from the relay's histograms.
    async fn scrape_commits(&self) -> Result<(f64, f64, f64)> {
        let scrape = self.scrape().await?;
        let get = |name: &str| {
            scrape
                .samples
                .iter()
                .find(|s| s.metric == name && s.labels.get("kind").is_none_or(|k| k == "submit"))
                .map(|s| match s.value {
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Untyped(v)
                    | prometheus_parse::Value::Gauge(v) => v,
                    _ => 0.0,
                })
                .unwrap_or(0.0)
        };
        let n = get("tiprelay_commit_seconds_count").max(1.0);
        let requests = get("tiprelay_request_seconds_count").max(1.0);
        Ok((
            get("tiprelay_commit_seconds_sum") / n * 1000.0,
            get("tiprelay_commit_batch_size_sum") / n,
            get("tiprelay_request_seconds_sum") / requests * 1000.0,
        ))
    }

    /// Scrapes `/metrics` and parses it with a Prometheus text-format parser.
    async fn scrape(&self) -> Result<prometheus_parse::Scrape> {
        let addr = self.relay.as_ref().and_then(RelayHandle::metrics_addr).context("no metrics endpoint")?;
        let text = tokio::task::spawn_blocking(move || -> Result<String> {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
        })
        .await??;
        Ok(prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))?)
    }

    fn config(&self, j: &str, kind: &str) -> PathBuf {
        self.dir.path().join("pki").join(j).join(format!("{kind}.toml"))
    }

    async fn stop(mut self) -> Result<()> {
        if let Some(r) = self.relay.take() {
            r.shutdown().await?;
        }
        if let Some(r) = self.peer.take() {
            r.shutdown().await?;
        }
        drop(self.cluster.take());
        Ok(())
    }
}

const PRINCIPALS: [(&str, &str, &str); 4] =
    [("MX", "analyst", "US"), ("MX", "feed", "US"), ("US", "analyst", "MX"), ("US", "feed", "MX")];

/// Signs `n` tips for one principal (outside the timed part).
fn presign(cfg: &ClientConfig, to: &str, n: usize, tag: usize) -> Result<Vec<Vec<u8>>> {
    let signer: Signer = tiprelay_client::files::read_signer(&cfg.signing_key, &cfg.signing_cert)?;
    let now = tiprelay_client::client::now();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut rnd = [0u8; 10];
        rnd[..8].copy_from_slice(&(i as u64).to_be_bytes());
        rnd[8] = tag as u8;
        let tip = Tip {
            id: TipId::new_v7(now, rnd),
            from: cfg.jurisdiction,
            to: to.parse()?,
            author: cfg.principal.clone(),
            created: now,
            category: Category::ALL[i % Category::ALL.len()],
            urgency: Urgency::Priority,
            summary: format!("benchmark tip {tag}/{i}: vehicle with declared solvent cargo at the port of entry"),
            details: Some("x".repeat(400)),
            lang: cfg.lang.clone(),
            location: None,
            observed_at: None,
            valid_until: None,
            source_reliability: None,
            info_credibility: None,
            tlp: Tlp::Amber,
            refs: vec![],
        };
        out.push(signer.sign(&tip)?);
    }
    Ok(out)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

struct IngestResult {
    tips: usize,
    secs: f64,
    lat: Vec<f64>,
    /// `tiprelay_tips_accepted_total` scraped from `/metrics` after the run.
    metrics_accepted: f64,
}

/// Submits every envelope over `senders` connections with `window` requests in flight each.
async fn ingest_once(tips: usize, senders: usize, window: usize, batch: usize) -> Result<IngestResult> {
    let bed = Bed::start().await?;
    let per_principal = tips.div_ceil(PRINCIPALS.len());
    let mut work: Vec<(ClientConfig, Vec<Vec<u8>>)> = Vec::new();
    for (i, (j, k, to)) in PRINCIPALS.iter().enumerate() {
        let cfg = ClientConfig::load(&bed.config(j, k))?;
        let envs = presign(&cfg, to, per_principal, i)?;
        work.push((cfg, envs));
    }
    // Split each principal's tips over its share of the senders; one connection per sender.
    let senders = senders.max(PRINCIPALS.len());
    let mut jobs = Vec::new();
    for (i, (cfg, envs)) in work.into_iter().enumerate() {
        let share = senders / PRINCIPALS.len() + usize::from(i < senders % PRINCIPALS.len());
        let chunk = envs.len().div_ceil(share.max(1));
        for part in envs.chunks(chunk.max(1)) {
            let conn = RelayConn::connect(&cfg).await?;
            jobs.push((conn, part.to_vec()));
        }
    }
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (conn, envs) in jobs {
        set.spawn(async move {
            let conn = Arc::new(conn);
            let lat = submit_all(conn.clone(), envs, window, batch).await?;
            if let Ok(c) = Arc::try_unwrap(conn) {
                c.close().await;
            }
            anyhow::Ok(lat)
        });
    }
    let mut lat = Vec::with_capacity(tips);
    while let Some(r) = set.join_next().await {
        lat.extend(r??);
    }
    let secs = started.elapsed().as_secs_f64();
    let metrics_accepted = bed.scrape_accepted().await?;
    bed.stop().await?;
    lat.sort_by(f64::total_cmp);
    Ok(IngestResult { tips: lat.len(), secs, lat, metrics_accepted })
}

async fn ingest(c: &Ceilings, tips: usize, senders: usize, window: usize, batch: usize) -> Result<Value> {
    #[cfg(feature = "compare-audit")]
    tiprelay::storage::bench::set_audit_enabled(true);
    let on = ingest_once(tips, senders, window, batch).await?;
    let rate = on.tips as f64 / on.secs;
    #[cfg_attr(not(feature = "compare-audit"), allow(unused_mut))]
    let mut v = json!({
        "mode": "ingest",
        "tips": on.tips,
        "senders": senders,
        "window": window,
        "batch": batch,
        "tips_per_sec": rate.round(),
        "verify_ceiling_per_sec": c.verify_all_cores().round(),
        "ratio": (rate / c.verify_all_cores() * 1000.0).round() / 1000.0,
        "receipt_p50_ms": (percentile(&on.lat, 0.5) * 100.0).round() / 100.0,
        "receipt_p99_ms": (percentile(&on.lat, 0.99) * 100.0).round() / 100.0,
        "metrics_tips_accepted": on.metrics_accepted,
        "metrics_match_receipts": on.metrics_accepted == on.tips as f64,
    });
    #[cfg(feature = "compare-audit")]
    {
        tiprelay::storage::bench::set_audit_enabled(false);
        let off = ingest_once(tips, senders, window, batch).await?;
        tiprelay::storage::bench::set_audit_enabled(true);
        let off_rate = off.tips as f64 / off.secs;
        if let Some(o) = v.as_object_mut() {
            o.insert("audit_off_tips_per_sec".into(), json!(off_rate.round()));
            o.insert("audit_on_over_off".into(), json!((rate / off_rate * 1000.0).round() / 1000.0));
        }
    }
    Ok(v)
}

async fn latency(rate: u64, seconds: u64) -> Result<Value> {
    let bed = Bed::start().await?;
    let n = (rate * seconds) as usize;
    let mut conns = Vec::new();
    let mut envs = Vec::new();
    for (i, (j, k, to)) in PRINCIPALS.iter().enumerate() {
        let cfg = ClientConfig::load(&bed.config(j, k))?;
        envs.push(presign(&cfg, to, n.div_ceil(PRINCIPALS.len()), i)?);
        conns.push(Arc::new(RelayConn::connect(&cfg).await?));
    }
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let start = tokio::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        // Open loop: each tip is offered at its own time, whatever happened to the others.
        tokio::time::sleep_until(start + interval * i as u32).await;
        let p = i % PRINCIPALS.len();
        let Some(env) = envs[p].pop() else { break };
        let c = conns[p].clone();
        set.spawn(async move {
            let t = Instant::now();
            match c.request(&Request::Submit { envelope: env }).await? {
                Response::Submitted { .. } => Ok::<f64, anyhow::Error>(t.elapsed().as_secs_f64() * 1000.0),
                other => bail!("unexpected answer: {other:?}"),
            }
        });
    }
    let mut lat = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        lat.push(r??);
    }
    let offered_secs = start.elapsed().as_secs_f64();
    let (commit_ms, commit_size, submit_ms) = bed.scrape_commits().await?;
    for c in conns {
        if let Ok(c) = Arc::try_unwrap(c) {
            c.close().await;
        }
    }
    bed.stop().await?;
    lat.sort_by(f64::total_cmp);
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    Ok(json!({
        "mode": "latency",
        "offered_per_sec": rate,
        "tips": lat.len(),
        "achieved_per_sec": (lat.len() as f64 / offered_secs).round(),
        "receipt_p50_ms": r2(percentile(&lat, 0.5)),
        "receipt_p90_ms": r2(percentile(&lat, 0.9)),
        "receipt_p99_ms": r2(percentile(&lat, 0.99)),
        "receipt_max_ms": r2(lat.last().copied().unwrap_or(0.0)),
        "commit_mean_ms": r2(commit_ms),
        "commit_mean_items": r2(commit_size),
        "relay_submit_mean_ms": r2(submit_ms),
    }))
}

/// A binary built next to this one (`tiprelay`, `tipctl`).
fn sibling(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let p = me.with_file_name(name);
    if !p.exists() {
        bail!("{} is missing: build the workspace (cargo build --release --locked) first", p.display());
    }
    Ok(p)
}

/// Submits pre-signed envelopes over one connection, `window` requests of `batch` tips in
/// flight (`batch` 1: one `submit` per tip, else `submit_batch`); returns each tip's
/// receipt latency (a batch's tips share their request's).
async fn submit_all(conn: Arc<RelayConn>, envs: Vec<Vec<u8>>, window: usize, batch: usize) -> Result<Vec<f64>> {
    let mut lat = Vec::with_capacity(envs.len());
    let mut inflight = tokio::task::JoinSet::new();
    let mut envs = envs.into_iter().peekable();
    while envs.peek().is_some() {
        let group: Vec<Vec<u8>> = envs.by_ref().take(batch.max(1)).collect();
        if inflight.len() >= window.max(1) {
            if let Some(r) = inflight.join_next().await {
                lat.extend(r??);
            }
        }
        let c = conn.clone();
        inflight.spawn(async move {
            let t = Instant::now();
            let n = group.len();
            let req = if batch <= 1 {
                Request::Submit { envelope: group.into_iter().next().unwrap_or_default() }
            } else {
                Request::SubmitBatch { envelopes: group }
            };
            let ok = match c.request(&req).await? {
                Response::Submitted { .. } => 1,
                Response::SubmittedBatch { items } => {
                    if let Some(Err(e)) = items.iter().find(|i| i.is_err()) {
                        bail!("the relay refused a tip: {e}");
                    }
                    items.len()
                }
                other => bail!("unexpected answer: {other:?}"),
            };
            if ok != n {
                bail!("{ok} outcomes for {n} tips");
            }
            Ok::<Vec<f64>, anyhow::Error>(vec![t.elapsed().as_secs_f64() * 1000.0; n])
        });
    }
    while let Some(r) = inflight.join_next().await {
        lat.extend(r??);
    }
    Ok(lat)
}

async fn e2e(tips: usize, federated: bool) -> Result<Value> {
    let bed = if federated { Bed::start_federated().await? } else { Bed::start().await? };
    let per = tips.div_ceil(PRINCIPALS.len());
    let mx = tiprelay_client::Client::open(ClientConfig::load(&bed.config("MX", "analyst"))?)?;
    let us = tiprelay_client::Client::open(ClientConfig::load(&bed.config("US", "analyst"))?)?;
    let (cmx, cus) = (RelayConn::connect(&mx.cfg).await?, RelayConn::connect(&us.cfg).await?);
    let mut senders = Vec::new();
    for (j, k, to) in PRINCIPALS {
        let cfg = ClientConfig::load(&bed.config(j, k))?;
        let conn = Arc::new(RelayConn::connect(&cfg).await?);
        senders.push((cfg, to, conn));
    }
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (i, (cfg, to, conn)) in senders.into_iter().enumerate() {
        set.spawn(async move {
            // Signing is part of the measured path here, in chunks so sending overlaps it.
            let mut lat = Vec::new();
            for chunk in 0..per.div_ceil(256) {
                let n = 256.min(per - chunk * 256);
                // A sender is its own process in deployment: sign off the runtime's threads.
                let c = cfg.clone();
                let envs = tokio::task::spawn_blocking(move || presign(&c, to, n, i * 10_000 + chunk)).await??;
                lat.extend(submit_all(conn.clone(), envs, 4, 32).await?);
            }
            anyhow::Ok(lat)
        });
    }
    let want = per * 2;
    let recv = |c: tiprelay_client::Client, conn: RelayConn| async move {
        let mut n = 0usize;
        let deadline = Instant::now() + Duration::from_secs(600);
        while n < want && Instant::now() < deadline {
            let got = c.fetch_inbox(&conn).await?;
            n += got.received.iter().filter(|g| g.fresh).count();
            if got.received.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        conn.close().await;
        anyhow::Ok(n)
    };
    // Each recipient on its own task, as each is its own process in deployment.
    let (a, b) = (tokio::spawn(recv(mx, cmx)), tokio::spawn(recv(us, cus)));
    let received = a.await?? + b.await??;
    let secs = started.elapsed().as_secs_f64();
    while let Some(r) = set.join_next().await {
        r??;
    }
    bed.stop().await?;
    Ok(
        json!({"mode": if federated { "e2e federated" } else { "e2e" }, "tips": received, "tips_per_sec": (received as f64 / secs).round(), "seconds": (secs * 100.0).round() / 100.0}),
    )
}

fn rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn backlog(tips: usize) -> Result<Value> {
    let addr = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    let dir = dev_pki(addr)?;
    let rt = dir.path().join("pki/relay.toml");
    let relay_bin = sibling("tiprelay")?;
    let spawn = || {
        std::process::Command::new(&relay_bin)
            .args(["serve", "--config"])
            .arg(&rt)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
    };
    let mx_cfg = ClientConfig::load(&dir.path().join("pki/MX/analyst.toml"))?;
    let us_cfg = ClientConfig::load(&dir.path().join("pki/US/analyst.toml"))?;
    let wait_serving = |cfg: ClientConfig| async move {
        let t = Instant::now();
        for _ in 0..600 {
            if let Ok(c) = RelayConn::connect(&cfg).await {
                if matches!(c.request(&Request::Status).await, Ok(Response::Status { .. })) {
                    c.close().await;
                    return Ok(t.elapsed().as_secs_f64());
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("the relay did not come up")
    };
    let mut child = spawn()?;
    wait_serving(mx_cfg.clone()).await?;
    // Queue the backlog: MX's analyst and feed send to the US, which stays offline.
    let started = Instant::now();
    let feed_cfg = ClientConfig::load(&dir.path().join("pki/MX/feed.toml"))?;
    let mut set = tokio::task::JoinSet::new();
    for (i, cfg) in [mx_cfg.clone(), feed_cfg].into_iter().enumerate() {
        let n = tips / 2 + usize::from(i == 0) * (tips % 2);
        set.spawn(async move {
            let conn = Arc::new(RelayConn::connect(&cfg).await?);
            for chunk in 0..n.div_ceil(1024) {
                let k = 1024.min(n - chunk * 1024);
                let envs = presign(&cfg, "US", k, i * 100_000 + chunk)?;
                submit_all(conn.clone(), envs, 4, 32).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    let queue_secs = started.elapsed().as_secs_f64();
    let rss_loaded = rss_mib(child.id());
    let store = dir.path().join("pki/relay/relay.redb");
    let store_mib = std::fs::metadata(&store).map(|m| m.len() as f64 / 1048576.0).unwrap_or(0.0);
    // Restart: SIGTERM, then time from spawn to the first answered request.
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    let t = Instant::now();
    let mut child = spawn()?;
    wait_serving(us_cfg.clone()).await?;
    let restart_secs = t.elapsed().as_secs_f64();
    let rss_restarted = rss_mib(child.id());
    // Drain: the US analyst connects and fetches, verifies, stores and acks everything.
    let us = tiprelay_client::Client::open(us_cfg)?;
    let conn = RelayConn::connect(&us.cfg).await?;
    let t = Instant::now();
    let mut drained = 0usize;
    for _ in 0..(tips / 256 + 100) {
        let got = us.fetch_inbox(&conn).await?;
        if got.received.is_empty() {
            break;
        }
        drained += got.received.len();
    }
    let drain_secs = t.elapsed().as_secs_f64();
    let rss_drain = rss_mib(child.id());
    conn.close().await;
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    let r1 = |x: Option<f64>| x.map(|v| (v * 10.0).round() / 10.0);
    Ok(json!({
        "mode": "backlog",
        "tips": tips,
        "queue_tips_per_sec": (tips as f64 / queue_secs).round(),
        "relay_rss_mib_queued": r1(rss_loaded),
        "relay_rss_mib_after_restart": r1(rss_restarted),
        "relay_rss_mib_after_drain": r1(rss_drain),
        "store_mib": (store_mib * 10.0).round() / 10.0,
        "restart_to_serving_secs": (restart_secs * 1000.0).round() / 1000.0,
        "drained": drained,
        "drain_tips_per_sec": (drained as f64 / drain_secs).round(),
    }))
}

async fn feed(lines: usize) -> Result<Value> {
    let bed = Bed::start().await?;
    let input = bed.dir.path().join("feed.jsonl");
    let mut text = String::with_capacity(lines * 200);
    for i in 0..lines {
        text.push_str(&format!(
            "{{\"to\":\"US\",\"category\":\"fuel_theft\",\"summary\":\"sensor event {i}: tanker at pipeline valve\",\"tlp\":\"amber\",\"location\":{{\"lat\":31.7,\"lon\":-106.4,\"radius_m\":300}},\"source_ref\":\"bench-{i}\"}}\n"
        ));
    }
    std::fs::write(&input, text)?;
    let tipctl = sibling("tipctl")?;
    let t = Instant::now();
    let cfg = bed.config("MX", "feed");
    let inp = input.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&tipctl)
            .env("TIPCTL_CONFIG", cfg)
            .args(["feed", "--input"])
            .arg(&inp)
            .stderr(std::process::Stdio::null())
            .output()
    })
    .await??;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("tipctl feed failed: {}", String::from_utf8_lossy(&out.stdout));
    }
    let summary: Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    bed.stop().await?;
    let receipted = summary["receipted"].as_u64().unwrap_or(0);
    Ok(json!({"mode": "feed", "lines": lines, "receipted": receipted, "seconds": (secs * 100.0).round() / 100.0,
              "tips_per_sec": (receipted as f64 / secs).round()}))
}

async fn send(runs: usize) -> Result<Value> {
    let bed = Bed::start().await?;
    let tipctl = sibling("tipctl")?;
    let cfg = bed.config("MX", "analyst");
    let mut ms = Vec::with_capacity(runs);
    for i in 0..runs + 2 {
        let (tipctl, cfg) = (tipctl.clone(), cfg.clone());
        let (out, took) = tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            let out = std::process::Command::new(&tipctl)
                .env("TIPCTL_CONFIG", cfg)
                .args(["send", "--to", "US", "--category", "other", "--tlp", "green", "--json", "--summary"])
                .arg(format!("timing run {i}: one tip, whole process"))
                .stderr(std::process::Stdio::null())
                .output();
            (out, t.elapsed().as_secs_f64() * 1000.0)
        })
        .await?;
        let out = out?;
        if !out.status.success() {
            bail!("tipctl send failed: {}", String::from_utf8_lossy(&out.stdout));
        }
        if i >= 2 {
            ms.push(took);
        }
    }
    bed.stop().await?;
    ms.sort_by(f64::total_cmp);
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    Ok(json!({"mode": "send", "runs": ms.len(), "wall_p50_ms": r2(percentile(&ms, 0.5)),
              "wall_p90_ms": r2(percentile(&ms, 0.9)), "wall_min_ms": r2(ms.first().copied().unwrap_or(0.0)),
              "wall_max_ms": r2(ms.last().copied().unwrap_or(0.0))}))
}

fn table(v: &Value) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header(["measure", "value"]);
    let mut add = |prefix: &str, o: &serde_json::Map<String, Value>| {
        for (k, x) in o {
            if let Value::Object(inner) = x {
                for (k2, x2) in inner {
                    t.add_row([format!("{prefix}{k}.{k2}"), x2.to_string()]);
                }
            } else {
                t.add_row([format!("{prefix}{k}"), x.to_string()]);
            }
        }
    };
    if let Some(o) = v.as_object() {
        add("", o);
    }
    t.to_string()
}

/// Builds a relay store with a long audit log and many checkpoints, exports it and
/// verifies the bundle.
fn export(entries: u64, every: u64) -> Result<Value> {
    use tiprelay_certs::fixture::FixturePki;
    use tiprelay_proto::Authority;
    let dir = tempfile::tempdir()?;
    let pki = FixturePki::new("tipbench-export", &[Authority::Operator], time::OffsetDateTime::now_utc())?;
    let relay = pki.leaf(&"tiprelay://OPERATOR/relay/main".parse()?, tiprelay_certs::profile::LeafKind::Signing)?;
    let signer = relay.signer()?;
    let path = dir.path().join("relay.redb");
    let t = Instant::now();
    let signed = tiprelay::storage::bench_fill_audit(&path, &signer, entries, every)?;
    let fill_secs = t.elapsed().as_secs_f64();
    let db = tiprelay::storage::open_read_only(&path)?;
    let anchors = vec![tiprelay_proto::audit::Anchor {
        authority: Authority::Operator,
        root: pki.ca(Authority::Operator)?.cert_der.clone(),
        crl: Some(pki.crl(Authority::Operator, &[], 1)?),
    }];
    let out = dir.path().join("log.bundle");
    let t = Instant::now();
    let header = {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&out)?);
        let h = tiprelay::storage::export_bundle(&db, tiprelay::storage::ExportRange::default(), anchors, &mut w)?;
        std::io::Write::flush(&mut w)?;
        h
    };
    let export_secs = t.elapsed().as_secs_f64();
    // The header frame's length: after the 17-byte magic, a big-endian u32.
    let mut head = [0u8; 21];
    std::io::Read::read_exact(&mut std::fs::File::open(&out)?, &mut head)?;
    let header_bytes = u32::from_be_bytes([head[17], head[18], head[19], head[20]]);
    drop(header);
    let t = Instant::now();
    let mut seen = 0u64;
    let report = tiprelay_proto::audit::verify_bundle(
        std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&out)?),
        None,
        |_| seen += 1,
    )
    .map_err(|e| anyhow::anyhow!("the exported bundle does not verify: {e}"))?;
    let verify_secs = t.elapsed().as_secs_f64();
    if seen != entries || report.count != entries {
        bail!("the bundle holds {seen} entries, not {entries}");
    }
    Ok(json!({
        "mode": "export",
        "entries": entries,
        "checkpoints_signed": signed,
        "checkpoints_in_header": report.checkpoints.len(),
        "header_bytes": header_bytes,
        "bundle_bytes": std::fs::metadata(&out)?.len(),
        "fill_secs": fill_secs,
        "export_secs": export_secs,
        "verify_secs": verify_secs,
        "verified": true,
    }))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _ = STORE.set(cli.store.clone());
    let run = async {
        let probe = tempfile::tempdir()?;
        let c = Ceilings::measure(probe.path())?;
        let mut v = match cli.mode {
            Mode::Ingest { tips, senders, window, batch } => {
                ingest(&c, tips, senders, window, usize::from(batch)).await?
            }
            Mode::Latency { rate, seconds } => latency(rate, seconds).await?,
            Mode::E2e { tips, federated } => e2e(tips, federated).await?,
            Mode::Backlog { tips } => backlog(tips).await?,
            Mode::Feed { lines } => feed(lines).await?,
            Mode::Send { runs } => send(runs).await?,
            Mode::Export { entries, checkpoint_every } => {
                tokio::task::spawn_blocking(move || export(entries, checkpoint_every)).await??
            }
        };
        if let Some(o) = v.as_object_mut() {
            o.insert("machine".into(), c.json());
            o.insert("release_build".into(), json!(!cfg!(debug_assertions)));
            o.insert("store".into(), json!(cli.store));
            o.insert("time".into(), json!(tiprelay_client::client::now().to_string()));
        }
        anyhow::Ok(v)
    };
    match run.await {
        Ok(v) => {
            if cli.json {
                println!("{v}");
            } else {
                println!("{}", table(&v));
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tipbench: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
