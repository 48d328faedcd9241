//! `tipctl audit`: checkpoint witnessing, offline bundle verification and review, proofs.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use tiprelay_client::client::now;
use tiprelay_client::client::ClientError;
use tiprelay_client::i18n::{self, Locale};
use tiprelay_client::ledger::Range;
use tiprelay_client::{t, Client, ClientConfig, RelayConn};
use tiprelay_proto::audit::{
    verify_bundle, AuditEntry, BundleError, BundleHeader, BundleReport, Place, SignedCheckpoint,
};
use tiprelay_proto::{parse, Checkpoint, Timestamp};

/// `tipctl audit …`.
#[derive(clap::Subcommand)]
pub enum AuditCmd {
    /// Verify the relay's newest checkpoint against the one verified here before
    /// (consistency proof) and cosign it as this principal. Exit 5 on a fork or rollback.
    Witness {
        /// JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The checkpoint verified here, who cosigned it, and any audit alerts recorded.
    Status {
        /// JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Verify an audit bundle offline (from `tiprelay audit export`): every entry against
    /// the signed roots, every checkpoint and cosignature. Exit 0 if valid; otherwise 5,
    /// naming the first bad entry (or checkpoint) and why.
    #[command(
        after_help = "Signatures are checked against your configured roots (--config/TIPCTL_CONFIG) when available,\notherwise against the roots carried in the bundle, whose fingerprints are printed for comparison."
    )]
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// Without a configuration, trust the roots the bundle carries (then compare the
        /// fingerprints printed with the ones each authority publishes).
        #[arg(long)]
        anchors_from_bundle: bool,
        /// JSON object: {"valid", "log", "first", "count", "checkpoints", "head", "error"}.
        #[arg(long)]
        json: bool,
    },
    /// Review a bundle's entries as a table (verified first).
    Log {
        /// The bundle file.
        bundle: PathBuf,
        /// Entries at or after this date or RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Entries before this date or RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
        /// Only tips from this jurisdiction.
        #[arg(long)]
        from: Option<String>,
        /// Only tips to this jurisdiction.
        #[arg(long)]
        to: Option<String>,
        /// Only this tip category.
        #[arg(long)]
        category: Option<String>,
        /// Only this event kind (accepted, rejected, delivered, acked, feedback, statement,
        /// auth_failed, relay_started, relay_stopped, trust_reloaded, purged; local logs: written,
        /// receipted, received, acked, ack_received, feedback_given, feedback_received).
        #[arg(long)]
        event: Option<String>,
        /// Only events of this principal (URI).
        #[arg(long)]
        principal: Option<String>,
        /// JSON array.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV with a header line.
        #[arg(long)]
        csv: bool,
    },
    /// Export this principal's own local audit log (what it wrote, sent, received,
    /// acknowledged, the feedback and the relay checkpoints it verified) as a bundle signed
    /// with its signing key; `tipctl audit verify` checks it like the relay's.
    Export {
        /// Output file (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// One JSON object: {"out", "log", "entries", "root"}.
        #[arg(long)]
        json: bool,
    },
    /// Fetch and verify the inclusion proof of one tip's acceptance in the relay's log,
    /// against a checkpoint consistent with every one verified here.
    Prove {
        /// Tip id (sent or received here).
        id: String,
        /// JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// One CSV field (RFC 4180 quoting), never starting like a spreadsheet formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn ts(ms: u64) -> String {
    Timestamp::from_unix_ms(ms).map(|t| t.to_string()).unwrap_or_else(|| ms.to_string())
}

fn open_config(config: Option<&Path>) -> Result<Option<ClientConfig>> {
    match config {
        Some(p) => Ok(Some(ClientConfig::load(p)?)),
        None => Ok(None),
    }
}

fn verify_file(
    path: &Path,
    config: Option<&ClientConfig>,
    on_entry: impl FnMut(&AuditEntry),
) -> Result<Result<BundleReport, BundleError>> {
    let f = std::fs::File::open(path).with_context(|| t!("audit-cannot-open", "path" => path.display().to_string()))?;
    let trust = match config {
        Some(c) => Some(tiprelay_client::files::load_trust(&c.trust)?),
        None => None,
    };
    Ok(verify_bundle(BufReader::with_capacity(1 << 20, f), trust.as_ref(), on_entry))
}

fn report_json(r: &BundleReport) -> serde_json::Value {
    let head = r.head().map(|h| {
        json!({"size": h.checkpoint.size, "root": h.checkpoint.root.to_hex(), "time": h.checkpoint.time.to_string(),
               "relay": h.checkpoint.relay.to_string(), "cosigners": h.cosigners})
    });
    json!({
        "valid": true,
        "log": r.log,
        "first": r.first,
        "count": r.count,
        "checkpoints": r.checkpoints.len(),
        "head": head,
        "anchors": r.anchors.iter().map(|(a, f)| json!({"authority": a, "sha256": f})).collect::<Vec<_>>(),
    })
}

fn error_json(e: &BundleError) -> serde_json::Value {
    let (place, index) = match e.place {
        Place::Header => ("header", None),
        Place::Entry(i) => ("entry", Some(i)),
        Place::Checkpoint(s) => ("checkpoint", Some(s)),
        Place::Trailer => ("trailer", None),
    };
    json!({"valid": false, "error": {"place": place, "index": index, "why": e.why, "message": e.to_string()}})
}

/// A bundle's failure for a person (its type's localised text when there is one).
fn bundle_error_text(e: &BundleError) -> String {
    tiprelay_common::localize::localize_known(e).unwrap_or_else(|| e.to_string())
}

/// What `audit verify` prints for a valid bundle, in `l`: which log, its entries and
/// checkpoints, its head and who cosigned it, and which roots the signatures were checked
/// against (`principal`: the configured principal; None: the bundle's own roots, with their
/// fingerprints to compare).
fn verify_text(r: &BundleReport, secs: f64, principal: Option<&str>, l: Locale) -> String {
    use i18n::FluentValue as V;
    let tr = |id: &str, args: &[(&str, V<'_>)]| i18n::tr_in(l, id, args) + "\n";
    let whose = match r.head().map(|h| h.checkpoint.relay.kind()) {
        Some(tiprelay_proto::PrincipalKind::Relay) => "audit-valid-relay",
        _ => "audit-valid-local",
    };
    let mut s = tr(
        whose,
        &[
            ("log", V::from(r.log.as_str())),
            ("first", V::from(r.first.to_string())),
            ("end", V::from((r.first + r.count).to_string())),
            ("count", V::from(r.count.to_string())),
            ("checkpoints", V::from(r.checkpoints.len())),
            ("secs", V::from(format!("{secs:.2}"))),
        ],
    );
    if let Some(h) = r.head() {
        s += &tr(
            "audit-head",
            &[
                ("size", V::from(h.checkpoint.size.to_string())),
                ("root", V::from(h.checkpoint.root.to_hex())),
                ("time", V::from(h.checkpoint.time.to_string())),
                ("by", V::from(h.checkpoint.relay.to_string())),
            ],
        );
        s += &if h.cosigners.is_empty() {
            tr("audit-cosigned-nobody", &[])
        } else {
            tr("audit-cosigned-by", &[("list", V::from(h.cosigners.join(", ")))])
        };
    }
    match principal {
        Some(p) => s += &tr("audit-roots-configured", &[("principal", V::from(p))]),
        None => {
            s += &tr("audit-roots-bundle", &[]);
            for (a, f) in &r.anchors {
                s += &format!("  {a}: sha256 {f}\n");
            }
        }
    }
    s
}

/// Runs `tipctl audit …`. `config` is the principal's configuration, if given.
pub async fn run(cmd: &AuditCmd, config: Option<&Path>) -> Result<ExitCode> {
    match cmd {
        AuditCmd::Verify { bundle, json, anchors_from_bundle } => {
            let cfg = open_config(config)?;
            if cfg.is_none() && !anchors_from_bundle {
                anyhow::bail!("{}", t!("audit-no-roots"));
            }
            let started = std::time::Instant::now();
            match verify_file(bundle, cfg.as_ref(), |_| {})? {
                Ok(r) => {
                    if *json {
                        println!("{}", report_json(&r));
                    } else {
                        let secs = started.elapsed().as_secs_f64();
                        let principal = cfg.as_ref().map(|c| c.principal.to_string());
                        print!("{}", verify_text(&r, secs, principal.as_deref(), i18n::locale()));
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if *json {
                        println!("{}", error_json(&e));
                    } else {
                        println!("{}", t!("audit-invalid", "reason" => bundle_error_text(&e)));
                    }
                    Ok(ExitCode::from(tiprelay_client::exit::UNVERIFIED))
                }
            }
        }
        AuditCmd::Log { bundle, since, until, from, to, category, event, principal, json, csv } => {
            let cfg = open_config(config)?;
            let range = Range::from_bounds(since.as_deref(), until.as_deref())?;
            let keep = |e: &AuditEntry| {
                range.contains(Timestamp::from_unix_ms(e.time).unwrap_or(range.start))
                    && from.as_ref().is_none_or(|f| e.from.as_ref() == Some(f))
                    && to.as_ref().is_none_or(|t| e.to.as_ref() == Some(t))
                    && category.as_ref().is_none_or(|c| e.category.as_ref() == Some(c))
                    && event.as_ref().is_none_or(|k| &e.kind == k)
                    && principal.as_ref().is_none_or(|p| e.principal.as_ref() == Some(p))
            };
            let mut rows: Vec<AuditEntry> = Vec::new();
            if let Err(e) = verify_file(bundle, cfg.as_ref(), |e| {
                if keep(e) {
                    rows.push(e.clone());
                }
            })? {
                eprintln!(
                    "tipctl: {}: {}",
                    t!("error"),
                    t!("audit-bundle-unverified", "reason" => bundle_error_text(&e))
                );
                return Ok(ExitCode::from(tiprelay_client::exit::UNVERIFIED));
            }
            let opt = |s: &Option<String>| s.clone().unwrap_or_default();
            if *json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|e| {
                        json!({"index": e.index, "kind": e.kind, "time": ts(e.time), "principal": e.principal, "from": e.from,
                               "to": e.to, "tip": e.tip, "category": e.category, "digest": e.digest, "seq": e.seq,
                               "code": e.code, "subject": e.subject, "outcome": e.outcome, "detail": e.detail})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if *csv {
                println!("index,time,kind,principal,from,to,tip,category,seq,code,subject,outcome,digest");
                for e in &rows {
                    let fields = [
                        e.index.to_string(),
                        ts(e.time),
                        e.kind.clone(),
                        opt(&e.principal),
                        opt(&e.from),
                        opt(&e.to),
                        opt(&e.tip),
                        opt(&e.category),
                        e.seq.map(|s| s.to_string()).unwrap_or_default(),
                        opt(&e.code),
                        opt(&e.subject),
                        opt(&e.outcome),
                        opt(&e.digest),
                    ];
                    println!("{}", fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
                }
            } else {
                let mut t = comfy_table::Table::new();
                t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
                t.set_header(
                    [
                        "audit-col-index",
                        "audit-col-time",
                        "audit-col-event",
                        "audit-col-principal",
                        "audit-col-direction",
                        "audit-col-tip",
                        "audit-col-category",
                        "audit-col-seq",
                        "audit-col-code",
                    ]
                    .map(|id| t!(id)),
                );
                for e in &rows {
                    t.add_row([
                        e.index.to_string(),
                        ts(e.time).chars().take(23).collect(),
                        e.kind.clone(),
                        opt(&e.principal),
                        match (&e.from, &e.to) {
                            (Some(f), Some(t)) => format!("{f}→{t}"),
                            _ => String::new(),
                        },
                        opt(&e.tip),
                        opt(&e.category),
                        e.seq.map(|s| s.to_string()).unwrap_or_default(),
                        e.code.clone().or_else(|| e.outcome.clone()).unwrap_or_default(),
                    ]);
                }
                println!("{t}\n{}", t!("audit-log-count", "count" => rows.len()));
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Witness { json } | AuditCmd::Status { json } => {
            let path = config.with_context(|| t!("no-config"))?;
            let c = Client::open(ClientConfig::load(path)?)?;
            let witness = matches!(cmd, AuditCmd::Witness { .. });
            let status = if witness {
                let conn = RelayConn::connect(&c.cfg).await?;
                // Ask for a checkpoint of everything so far (the relay signs one only if the
                // log grew, so both sides witnessing in turn cosign the same head).
                let r = c.check_log_fresh(&conn, true, true).await;
                conn.close().await;
                match r {
                    Ok(s) => Some(s),
                    Err(e @ ClientError::LogInconsistent(_)) => {
                        eprintln!("tipctl: {e}");
                        return Ok(ExitCode::from(tiprelay_client::exit::UNVERIFIED));
                    }
                    Err(e) => return Err(e.into()),
                }
            } else {
                None
            };
            let held = c.store.audit_checkpoint()?.and_then(|b| parse::<Checkpoint>(&b).ok()).map(|p| p.message);
            let alerts = c.store.audit_alerts()?;
            if *json {
                println!(
                    "{}",
                    json!({
                        "checkpoint": held.as_ref().map(|h| json!({"size": h.size, "root": h.root.to_hex(), "time": h.time.to_string(), "log": h.log})),
                        "cosigners": status.as_ref().map(|s| s.cosigners.clone()),
                        "witnessed": status.as_ref().map(|s| s.witnessed),
                        "alerts": alerts.iter().map(|(t, a)| json!({"time": ts(*t), "alert": a})).collect::<Vec<_>>(),
                    })
                );
            } else {
                match &held {
                    Some(h) => println!(
                        "{}",
                        t!("audit-checkpoint-held", "size" => h.size.to_string(), "root" => h.root.to_hex(),
                           "time" => h.time.to_string(), "log" => h.log.clone())
                    ),
                    None => println!("{}", t!("audit-no-checkpoint")),
                }
                if let Some(s) = &status {
                    if s.witnessed {
                        println!("{}", t!("audit-cosigned-now", "principal" => c.cfg.principal.to_string()));
                    }
                    if !s.cosigners.is_empty() {
                        println!("{}", t!("audit-cosigned-by", "list" => s.cosigners.join(", ")));
                    }
                }
                // An alert is shown as recorded (the store keeps its English text).
                for (time, a) in &alerts {
                    println!("{}", t!("audit-alert", "time" => ts(*time), "alert" => a.clone()));
                }
            }
            Ok(if alerts.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(tiprelay_client::exit::UNVERIFIED) })
        }
        AuditCmd::Export { out, json } => {
            let path = config.with_context(|| t!("no-config"))?;
            let c = Client::open(ClientConfig::load(path)?)?;
            if out.exists() {
                anyhow::bail!("{}", t!("audit-out-exists", "path" => out.display().to_string()));
            }
            let (size, root) = c.store.local_audit_head()?;
            if size == 0 {
                anyhow::bail!("{}", t!("audit-local-empty"));
            }
            let me = c.principal().clone();
            let cp = Checkpoint { log: me.to_string(), size, root, time: now(), relay: me.clone() };
            let checkpoint = c.sign_message(&cp)?;
            let anchors = tiprelay_client::files::anchors(&c.cfg.trust)?;
            let header = BundleHeader {
                log: me.to_string(),
                created: now(),
                first: 0,
                count: size,
                prefix: Vec::new(),
                checkpoints: vec![SignedCheckpoint { checkpoint, cosignatures: Vec::new() }],
                anchors,
                since: None,
                until: None,
            };
            tiprelay_client::files::write_new(out, |w| {
                c.store.write_local_bundle(&header, w).map_err(anyhow::Error::from)
            })?;
            if *json {
                println!(
                    "{}",
                    serde_json::json!({"out": out.display().to_string(), "log": me.to_string(), "entries": size, "root": root.to_hex()})
                );
            } else {
                println!(
                    "{}",
                    t!("audit-export-written", "path" => out.display().to_string(), "principal" => me.to_string(),
                       "count" => size, "root" => root.to_hex())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Prove { id, json } => {
            let path = config.with_context(|| t!("no-config"))?;
            let c = Client::open(ClientConfig::load(path)?)?;
            let id = id.parse()?;
            let conn = RelayConn::connect(&c.cfg).await?;
            let r = c.prove(&conn, &id).await;
            conn.close().await;
            let p = match r {
                Ok(p) => p,
                Err(e @ (ClientError::LogInconsistent(_) | ClientError::Untrusted { .. })) => {
                    eprintln!("tipctl: {e}");
                    return Ok(ExitCode::from(tiprelay_client::exit::UNVERIFIED));
                }
                Err(e) => return Err(e.into()),
            };
            if *json {
                println!(
                    "{}",
                    json!({"tip": id.to_string(), "proven": true, "log_index": p.entry.index, "seq": p.receipt.seq,
                           "checkpoint": {"size": p.checkpoint.size, "root": p.checkpoint.root.to_hex(), "time": p.checkpoint.time.to_string()},
                           "proof_hashes": p.proof_len, "cosigners": p.cosigners})
                );
            } else {
                println!(
                    "{}",
                    t!("audit-proven", "tip" => id.to_string(), "index" => p.entry.index.to_string(),
                       "seq" => p.receipt.seq.to_string(), "time" => ts(p.entry.time), "size" => p.checkpoint.size,
                       "root" => p.checkpoint.root.to_hex())
                );
                let cosigners = if p.cosigners.is_empty() { t!("audit-nobody-yet") } else { p.cosigners.join(", ") };
                println!(
                    "{}",
                    t!("audit-proof-checkpoint", "time" => p.checkpoint.time.to_string(),
                       "by" => p.checkpoint.relay.to_string(), "cosigners" => cosigners)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiprelay_proto::audit::VerifiedCheckpoint;

    fn report(relay: &str, cosigners: &[&str]) -> BundleReport {
        let checkpoint = Checkpoint {
            log: "tiprelay://MX/relay/relay-1".into(),
            size: 42,
            root: tiprelay_proto::Digest([0xab; 32]),
            time: Timestamp::from_unix_ms(1_767_225_600_000).unwrap(),
            relay: relay.parse().unwrap(),
        };
        BundleReport {
            log: checkpoint.log.clone(),
            first: 0,
            count: 42,
            checkpoints: vec![VerifiedCheckpoint {
                checkpoint,
                cosigners: cosigners.iter().map(|c| c.to_string()).collect(),
            }],
            anchors: vec![("MX".into(), "00ff".into())],
        }
    }

    #[test]
    fn a_valid_bundle_is_reported_in_spanish_or_english() {
        let r = report("tiprelay://MX/relay/relay-1", &[]);
        let es = verify_text(&r, 0.5, None, Locale::Es);
        assert!(
            es.starts_with(
                "VÁLIDO: el registro del relé tiprelay://MX/relay/relay-1, entradas 0..42 (42), 1 punto de control \
                 firmado, verificado en 0.50 s\n"
            ),
            "{es}"
        );
        assert!(
            es.contains("cofirmado por: nadie todavía\n") && es.contains("compare sus huellas:\n  MX: sha256 00ff\n")
        );
        let en = verify_text(&r, 0.5, None, Locale::En);
        assert!(en.starts_with(
            "VALID: the relay's log tiprelay://MX/relay/relay-1, entries 0..42 (42), 1 signed checkpoint"
        ));
        assert!(en.contains("head: size 42 root abab") && en.contains("fingerprints"), "{en}");
        let local = report("tiprelay://MX/analyst/a-1", &["tiprelay://US/analyst/b"]);
        let en = verify_text(&local, 1.0, Some("tiprelay://US/analyst/b"), Locale::En);
        assert!(en.starts_with("VALID: the local audit log of "), "{en}");
        assert!(en.ends_with("cosigned by: tiprelay://US/analyst/b\nsignatures checked against the roots configured for tiprelay://US/analyst/b\n"));
        assert_eq!(
            i18n::tr_in(Locale::Es, "audit-log-count", &[("count", i18n::FluentValue::from(3))]),
            "3 entradas (paquete verificado)"
        );
    }
}
