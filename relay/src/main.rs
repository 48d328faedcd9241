//! `tiprelay`: the relay binary. See `tiprelay --help`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use tiprelay::config::RelayConfig;
use tiprelay_common::localize::Msg;
use tiprelay_common::t;

/// The tiprelay relay: stores and forwards signed intelligence tips between two
/// jurisdictions over QUIC with mutual TLS, with signed receipts.
#[derive(Parser)]
#[command(name = "tiprelay", version)]
struct Cli {
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Write a self-contained audit bundle for offline review (`tipctl audit verify`):
    /// entries, signed checkpoints with cosignatures, the compact tree of earlier entries,
    /// and the roots and CRLs needed to verify. Reads the store read-only (works while the
    /// relay runs).
    #[command(
        after_help = "Example: tiprelay audit export --config relay.toml --out relay-2026-11.bundle --since 2026-11-01 --until 2026-12-01"
    )]
    Export {
        /// Relay configuration (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// Output file (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Entries at or after this date or RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Entries before this date or RFC 3339 time (extended to the next signed checkpoint).
        #[arg(long)]
        until: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the relay until SIGINT or SIGTERM (then finish in-flight commits and exit 0).
    #[command(
        after_help = "Example: tiprelay serve --config dev-pki/relay.toml   (make one with `tipcerts dev --out dev-pki`)"
    )]
    Serve {
        /// Relay configuration (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Create or migrate the configured store's schema, then exit (PostgreSQL: run it
    /// before starting an upgraded relay; the relay also migrates on start).
    Migrate {
        /// Relay configuration (TOML).
        #[arg(long)]
        config: PathBuf,
        /// One JSON object: store, version before and after.
        #[arg(long)]
        json: bool,
    },
    /// Check a configuration file and print what it says, without serving.
    CheckConfig {
        /// Relay configuration (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// One JSON object: {"ok", "listen", "jurisdictions", "pairs", "store", "federation", "notes"}.
        #[arg(long)]
        json: bool,
    },
    /// The relay's reciprocity ledger, from its own commits: tips accepted, delivered,
    /// acknowledged and with feedback per direction, category and period, with latencies.
    ///
    /// Reads the store read-only, so it works while the relay runs.
    #[command(
        after_help = "Examples:\n  tiprelay ledger --config relay.toml\n  tiprelay ledger --config relay.toml --period day --since 2026-11-01 --until 2026-12-01 --csv > nov.csv\n  tiprelay ledger --config relay.toml --for 2026-11 --json"
    )]
    Ledger {
        /// Relay configuration (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// Row granularity.
        #[arg(long, default_value = "month", value_parser = ["day", "week", "month"])]
        period: String,
        /// Only one named period: 2026, 2026-11, 2026-W48 or 2026-11-30 (UTC).
        #[arg(long = "for", conflicts_with_all = ["since", "until"])]
        of: Option<String>,
        /// Tips accepted at or after this date or RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Tips accepted before this date or RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
        /// One JSON object (`rows`, `pairs`).
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV with a header line.
        #[arg(long)]
        csv: bool,
    },
    /// Federation: the link to the peer jurisdiction's relay: whether it is up (asked of
    /// the running relay's metrics endpoint, when `[metrics] listen` is set), the tips
    /// queued for it and the age of the oldest, acks, feedback and statements waiting, and
    /// what crossed each way. Reads the store read-only, so it works while the relay runs.
    #[command(
        after_help = "Examples:\n  tiprelay peers --config MX/relay.toml\n  tiprelay peers --config MX/relay.toml --json"
    )]
    Peers {
        /// Relay configuration (TOML) of a federated relay.
        #[arg(long, short)]
        config: PathBuf,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Back up the store while the relay serves: one consistent snapshot of the redb store,
    /// copied into a new file (owner-only, fsynced) and checked before it is kept: every
    /// table's rows, the audit log's entries against the newest signed checkpoint's root and
    /// signature. PostgreSQL stores are refused: use pg_dump. Restore: docs/OPERATIONS.md.
    #[command(
        after_help = "Examples:\n  tiprelay backup --config /etc/tiprelay/relay.toml --out /var/backups/tiprelay/relay-$(date -u +%F).redb\n  tiprelay backup --config relay.toml --out relay.redb.bak --force --json"
    )]
    Backup {
        /// Relay configuration (TOML).
        #[arg(long, short)]
        config: PathBuf,
        /// The backup file (a redb store; refused if it exists, unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing --out file (never the store itself).
        #[arg(long)]
        force: bool,
        /// One JSON object: {"out", "bytes", "sha256", "millis", "schema_version", "tips", "audit_entries", "checkpoint", "tables"}.
        #[arg(long)]
        json: bool,
    },
    /// The relay's tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
}

fn init_logs(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => b.init(),
        LogFormat::Json => b.json().init(),
    }
}

async fn serve(config: PathBuf) -> Result<()> {
    let cfg = RelayConfig::load(&config)?;
    // Signals stop the relay also while it waits as a standby for the store's lease.
    let token = tokio_util::sync::CancellationToken::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let on_signal = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
            _ = term.recv() => tracing::info!("SIGTERM received"),
        }
        on_signal.cancel();
    });
    let relay = match tiprelay::server::start_until(cfg, None, token).await {
        Err(tiprelay::server::ServeError::Cancelled) => {
            tracing::info!("stopped while a standby; nothing was served");
            return Ok(());
        }
        other => other?,
    };
    Ok(relay.wait().await?)
}

fn relay_ledger(
    config: &std::path::Path,
    period: &str,
    of: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
    json: bool,
    csv: bool,
) -> Result<()> {
    use tiprelay_common::ledger::{Period, Range};
    let cfg = RelayConfig::load(config)?;
    let period: Period = period.parse()?;
    let range = match of {
        Some(p) => Range::parse_period(p),
        None => Range::from_bounds(since, until),
    }?;
    let db = tiprelay::storage::open_engine(&cfg, false)?;
    let ledger = tiprelay::storage::ledger(&*db, period, range)?;
    if json {
        println!("{}", ledger.to_json());
    } else if csv {
        print!("{}", ledger.to_csv());
    } else {
        print!("{}", ledger.to_table());
    }
    Ok(())
}

/// Checks the configuration and, for a PostgreSQL store, that the database answers (TLS
/// verified when configured), takes writes, and holds this relay's schema.
fn check_config(config: &std::path::Path, json: bool) -> Result<()> {
    let c = RelayConfig::load(config)?;
    let store = tiprelay::storage::describe(&c);
    let mut notes = c.check_material(config, tiprelay::storage::now())?;
    if let tiprelay::config::StoreBackend::Postgres(t) = &c.backend {
        let st = tiprelay::storage::postgres::inspect(t)
            .with_context(|| t!("relay-db-unreachable", "store" => store.as_str()))?;
        let current = tiprelay::storage::postgres::schema::VERSION;
        notes.push(match st.schema {
            0 => Msg::new("relay-db-no-store"),
            v if v == current => Msg::new("relay-db-current").number("version", v),
            v if v < current => Msg::new("relay-db-older").number("version", v).number("current", current),
            v => anyhow::bail!(t!("relay-db-newer", "store" => store.as_str(), "version" => v, "current" => current)),
        });
        if !st.writable {
            notes.push(Msg::new("relay-db-standby"));
        }
        if let Some(h) = st.holder.filter(|h| !h.holder.is_empty()) {
            notes.push(
                Msg::new("relay-db-lease").text("epoch", h.epoch).text("holder", &h.holder).text("since", &h.since),
            );
        }
    }
    notes.extend(certificate_expiry_notes(&c));
    let jurisdictions: Vec<&str> = c.jurisdictions.iter().map(|j| j.as_str()).collect();
    let pairs: Vec<String> = c.pairs.iter().map(|(a, b)| format!("{a}-{b}")).collect();
    if json {
        // JSON stays language-neutral: the notes in English.
        let notes: Vec<String> = notes.iter().map(|n| n.to_string()).collect();
        let federation = c.federation.as_ref().map(|f| {
            serde_json::json!({"home": f.home.as_str(), "peer": f.peer.jurisdiction.as_str(),
                               "address": f.peer.address.to_string(), "server_name": f.peer.server_name})
        });
        println!(
            "{}",
            serde_json::json!({"ok": true, "listen": c.listen.to_string(), "jurisdictions": jurisdictions, "pairs": pairs,
                               "store": store, "federation": federation, "notes": notes})
        );
        return Ok(());
    }
    println!(
        "{}",
        t!(
            "relay-config-ok",
            "listen" => c.listen.to_string(),
            "jurisdictions" => jurisdictions.join(", "),
            "pairs" => pairs.join(", "),
            "store" => store.as_str()
        )
    );
    if let Some(f) = &c.federation {
        println!(
            "  {}",
            t!(
                "relay-config-federation",
                "home" => f.home.to_string(),
                "peer" => f.peer.jurisdiction.to_string(),
                "address" => f.peer.address.to_string(),
                "server_name" => f.peer.server_name.as_str()
            )
        );
    }
    for n in notes {
        println!("  {}", n.in_locale(tiprelay_common::i18n::locale()));
    }
    Ok(())
}

/// `check-config`: each configured certificate (TLS, signing, every trusted root) with its
/// notAfter; a warning instead for one that expires within 30 days or has expired, and a
/// line for one that cannot be read.
fn certificate_expiry_notes(c: &RelayConfig) -> Vec<Msg> {
    use tiprelay_common::expiry;
    let certs = expiry::configured(&c.tls_cert, &c.signing_cert, &c.trust);
    let checked = expiry::check(&certs, expiry::now(), expiry::WARN_MS);
    certs
        .iter()
        .zip(checked)
        .map(|(named, r)| match r {
            Ok(e) => e.warning().map_or_else(|| e.line(), |w| Msg::new("expiry-flagged").msg("text", w)),
            Err(err) => Msg::new("expiry-flagged")
                .msg("text", Msg::new("expiry-unreadable").text("name", &named.name).error("error", &err)),
        })
        .collect()
}

/// Whether the running relay reports its link up: `Some(true/false)` from its metrics
/// endpoint, None when it cannot be asked.
fn link_up(metrics: Option<std::net::SocketAddr>, peer: &str) -> Option<bool> {
    use std::io::{Read, Write};
    let addr = metrics?;
    let t = std::time::Duration::from_secs(2);
    let mut s = std::net::TcpStream::connect_timeout(&addr, t).ok()?;
    s.set_read_timeout(Some(t)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut body = String::new();
    s.take(4 * 1024 * 1024).read_to_string(&mut body).ok()?;
    let line = format!("tiprelay_peer_up{{peer=\"{peer}\"}} ");
    body.lines().find_map(|l| l.strip_prefix(&line)).map(|v| v.trim() == "1")
}

fn peers(config: &std::path::Path, json: bool) -> Result<()> {
    let cfg = RelayConfig::load(config)?;
    let Some(fed) = cfg.federation.clone() else {
        anyhow::bail!(t!("relay-peers-hub", "config" => config.display().to_string()));
    };
    let db = tiprelay::storage::open_engine(&cfg, false)?;
    let st = tiprelay::storage::link_status(&*db, fed.home, fed.peer.jurisdiction)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let age = st.oldest_queued_accepted_ms.map(|a| (u64::try_from(now).unwrap_or(u64::MAX).saturating_sub(a)) / 1000);
    let up = link_up(cfg.metrics_listen, fed.peer.jurisdiction.as_str());
    let (home, peer) = (fed.home, fed.peer.jurisdiction);
    if json {
        let mut v = serde_json::to_value(&st)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("home".into(), home.as_str().into());
            o.insert("address".into(), fed.peer.address.to_string().into());
            o.insert("link".into(), up.map_or("unknown", |u| if u { "up" } else { "down" }).into());
            o.insert("oldest_queued_seconds".into(), age.into());
        }
        println!("{v}");
        return Ok(());
    }
    let (home, peer) = (home.to_string(), peer.to_string());
    println!(
        "{}",
        t!(
            "relay-peers-link",
            "home" => home.as_str(),
            "peer" => peer.as_str(),
            "address" => fed.peer.address.to_string(),
            "server_name" => fed.peer.server_name.as_str()
        )
    );
    let state = match up {
        Some(true) => t!("relay-peers-up"),
        Some(false) => t!("relay-peers-down"),
        None => t!("relay-peers-unknown"),
    };
    println!("  {}", t!("relay-peers-state", "state" => state));
    let tips_to = match age {
        Some(a) => t!(
            "relay-peers-tips-to-oldest",
            "peer" => peer.as_str(),
            "accepted" => st.tips_accepted_for_peer,
            "crossed" => st.tips_crossed,
            "queued" => st.tips_queued,
            "seconds" => a
        ),
        None => t!(
            "relay-peers-tips-to",
            "peer" => peer.as_str(),
            "accepted" => st.tips_accepted_for_peer,
            "crossed" => st.tips_crossed,
            "queued" => st.tips_queued
        ),
    };
    println!("  {tips_to}");
    println!("  {}", t!("relay-peers-notices", "count" => st.notices_queued));
    println!("  {}", t!("relay-peers-statements", "count" => st.statements_queued));
    println!("  {}", t!("relay-peers-tips-from", "peer" => peer.as_str(), "count" => st.tips_received));
    Ok(())
}

fn migrate(config: &std::path::Path, json: bool) -> Result<()> {
    let cfg = RelayConfig::load(config)?;
    let store = tiprelay::storage::describe(&cfg);
    let (before, after) = match &cfg.backend {
        tiprelay::config::StoreBackend::Postgres(pg) => tiprelay::storage::postgres::migrate_database(pg)?,
        tiprelay::config::StoreBackend::Redb => {
            // Opening creates the tables; redb stores have had one schema so far.
            drop(tiprelay::storage::redb::RedbEngine::open(&cfg.store)?);
            (1, 1)
        }
    };
    if json {
        println!("{}", serde_json::json!({"store": store, "schema_before": before, "schema": after}));
    } else if before == after {
        println!("{}", t!("relay-migrate-nothing", "store" => store.as_str(), "version" => after));
    } else {
        println!("{}", t!("relay-migrate-done", "store" => store.as_str(), "before" => before, "after" => after));
    }
    Ok(())
}

fn audit_export(
    config: &std::path::Path,
    out: &std::path::Path,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<()> {
    use tiprelay_common::ledger::Range;
    let cfg = RelayConfig::load(config)?;
    let parse = |s: Option<&str>| s.map(Range::parse_instant).transpose();
    let range = tiprelay::storage::ExportRange { since: parse(since)?, until: parse(until)?, max_checkpoints: None };
    let header = tiprelay::audit::export(&cfg, range, out)?;
    println!(
        "{}",
        t!(
            "relay-export-written",
            "file" => out.display().to_string(),
            "log" => header.log.to_string(),
            "first" => header.first.to_string(),
            "end" => (header.first + header.count).to_string(),
            "count" => header.count,
            "checkpoints" => header.checkpoints.len()
        )
    );
    Ok(())
}

/// `tiprelay backup`: a checked copy of the redb store beside the running relay.
fn relay_backup(config: &std::path::Path, out: &std::path::Path, force: bool, json: bool) -> Result<()> {
    use tiprelay::storage::redb::backup;
    let cfg = RelayConfig::load(config)?;
    // The backup's errors say their causes, in this process's language.
    let r = backup::backup(&cfg, out, force)?;
    if json {
        let checkpoint = r.checkpoint.as_ref().map(
            |c| serde_json::json!({"size": c.size, "root": c.root, "time": c.time, "cosignatures": c.cosignatures}),
        );
        println!(
            "{}",
            serde_json::json!({"ok": true, "out": r.out.display().to_string(), "bytes": r.bytes, "sha256": r.sha256,
                               "millis": r.millis, "schema_version": r.schema_version, "tips": r.tips,
                               "audit_entries": r.audit_entries, "checkpoint": checkpoint, "tables": r.tables})
        );
        return Ok(());
    }
    println!(
        "{}",
        t!("relay-backup-done", "file" => r.out.display().to_string(), "bytes" => r.bytes, "ms" => r.millis)
    );
    println!("  {}", t!("relay-backup-sha256", "sha256" => r.sha256.as_str()));
    println!(
        "  {}",
        t!("relay-backup-counts", "tips" => r.tips, "entries" => r.audit_entries, "version" => r.schema_version)
    );
    match &r.checkpoint {
        Some(c) => println!(
            "  {}",
            t!(
                "relay-backup-checkpoint",
                "size" => c.size,
                "root" => c.root.as_str(),
                "time" => c.time.as_str(),
                "cosignatures" => c.cosignatures
            )
        ),
        None => println!("  {}", t!("relay-backup-no-checkpoint")),
    }
    println!("  {}", t!("relay-backup-keep"));
    Ok(())
}

fn main() -> ExitCode {
    let cli: Cli = match tiprelay_common::i18n::parse_args("tiprelay") {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tiprelay: {}: {}", t!("error"), t!("relay-runtime", "error" => e.to_string()));
            return ExitCode::from(1);
        }
    };
    let result = match cli.cmd {
        Cmd::Serve { config } => {
            init_logs(cli.log_format, "info");
            rt.block_on(serve(config))
        }
        Cmd::CheckConfig { config, json } => check_config(&config, json),
        Cmd::Peers { config, json } => peers(&config, json),
        Cmd::Migrate { config, json } => migrate(&config, json),
        Cmd::Ledger { config, period, of, since, until, json, csv } => {
            relay_ledger(&config, &period, of.as_deref(), since.as_deref(), until.as_deref(), json, csv)
        }
        Cmd::Backup { config, out, force, json } => relay_backup(&config, &out, force, json),
        Cmd::Audit { cmd: AuditCmd::Export { config, out, since, until } } => {
            audit_export(&config, &out, since.as_deref(), until.as_deref())
        }
    };
    // A blocking task still under way (a standby's lease attempt on a dead database) does
    // not hold the exit up for longer than this.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = tiprelay_common::localize::render_chain(e.chain(), &tiprelay::localize::localize_error);
            eprintln!("tiprelay: {}: {text}", t!("error"));
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_option_has_its_spanish_help() {
        use clap::CommandFactory;
        let missing = tiprelay_common::i18n::missing_spanish_help(&Cli::command());
        assert!(missing.is_empty(), "add to common/locales/es/main.ftl:\n{}", missing.join("\n"));
    }
}
