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
        #[arg(long, default_value_t = 32)]
        window: usize,
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

/// A dev PKI and a relay on 127.0.0.1 in a temporary directory.
struct Bed {
    dir: tempfile::TempDir,
    relay: Option<RelayHandle>,
}

impl Bed {
    async fn start() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("tipbench-").tempdir()?;
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let addr = socket.local_addr()?;
        tiprelay_certs::dev::create(&tiprelay_certs::dev::DevOptions {
            out: dir.path().join("pki"),
            jurisdictions: vec!["MX".parse()?, "US".parse()?],
            relay_addr: addr,
            force: false,
        })?;
        let relay = server::start(RelayConfig::load(&dir.path().join("pki/relay.toml"))?, Some(socket)).await?;
        Ok(Self { dir, relay: Some(relay) })
    }

    fn config(&self, j: &str, kind: &str) -> PathBuf {
        self.dir.path().join("pki").join(j).join(format!("{kind}.toml"))
    }

    async fn stop(mut self) -> Result<()> {
        if let Some(r) = self.relay.take() {
            r.shutdown().await?;
        }
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
}

/// Submits every envelope over `senders` connections with `window` requests in flight each.
async fn ingest_once(tips: usize, senders: usize, window: usize) -> Result<IngestResult> {
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
            let mut lat = Vec::with_capacity(envs.len());
            let mut inflight = tokio::task::JoinSet::new();
            for env in envs {
                if inflight.len() >= window {
                    if let Some(r) = inflight.join_next().await {
                        lat.push(r??);
                    }
                }
                let c = conn.clone();
                inflight.spawn(async move {
                    let t = Instant::now();
                    match c.request(&Request::Submit { envelope: env }).await? {
                        Response::Submitted { .. } => Ok::<f64, anyhow::Error>(t.elapsed().as_secs_f64() * 1000.0),
                        other => bail!("unexpected answer: {other:?}"),
                    }
                });
            }
            while let Some(r) = inflight.join_next().await {
                lat.push(r??);
            }
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
    bed.stop().await?;
    lat.sort_by(f64::total_cmp);
    Ok(IngestResult { tips: lat.len(), secs, lat })
}

async fn ingest(c: &Ceilings, tips: usize, senders: usize, window: usize) -> Result<Value> {
    #[cfg(feature = "compare-audit")]
    tiprelay::store::bench::set_audit_enabled(true);
    let on = ingest_once(tips, senders, window).await?;
    let rate = on.tips as f64 / on.secs;
    #[cfg_attr(not(feature = "compare-audit"), allow(unused_mut))]
    let mut v = json!({
        "mode": "ingest",
        "tips": on.tips,
        "senders": senders,
        "window": window,
        "tips_per_sec": rate.round(),
        "verify_ceiling_per_sec": c.verify_all_cores().round(),
        "ratio": (rate / c.verify_all_cores() * 1000.0).round() / 1000.0,
        "receipt_p50_ms": (percentile(&on.lat, 0.5) * 100.0).round() / 100.0,
        "receipt_p99_ms": (percentile(&on.lat, 0.99) * 100.0).round() / 100.0,
    });
    #[cfg(feature = "compare-audit")]
    {
        tiprelay::store::bench::set_audit_enabled(false);
        let off = ingest_once(tips, senders, window).await?;
        tiprelay::store::bench::set_audit_enabled(true);
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
    }))
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

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let run = async {
        let probe = tempfile::tempdir()?;
        let c = Ceilings::measure(probe.path())?;
        let mut v = match cli.mode {
            Mode::Ingest { tips, senders, window } => ingest(&c, tips, senders, window).await?,
            Mode::Latency { rate, seconds } => latency(rate, seconds).await?,
        };
        if let Some(o) = v.as_object_mut() {
            o.insert("machine".into(), c.json());
            o.insert("release_build".into(), json!(!cfg!(debug_assertions)));
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
