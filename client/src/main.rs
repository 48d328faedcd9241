//! `tipctl`: the analyst CLI of tiprelay. See `tipctl --help`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use serde_json::json;
use tiprelay_client::feed::TipFields;
use tiprelay_client::{exit, output, t};
use tiprelay_client::{Client, ClientConfig, Draft, RelayConn};
use tiprelay_common::localize::Localize as _;
use tiprelay_proto::wire::{Request, Response};
use tiprelay_proto::{
    parse, Category, InfoCredibility, Location, Outcome, Receipt, SourceReliability, Timestamp, Tip, TipId, Tlp,
    Urgency,
};

mod audit_cmd;
mod export_cmd;
mod feed_cmd;
mod ledger_cmd;

/// The analyst CLI of tiprelay: send tips to the counterpart jurisdiction, receive and
/// acknowledge theirs, and see what happened to each one.
///
/// Every tip is signed with your signing key and verified by the recipient end to end.
/// Tips are written to a local outbox before they are sent: after a crash or an outage,
/// any command that connects (or `tipctl resend`) sends what has no receipt yet.
#[derive(Parser)]
#[command(
    name = "tipctl",
    version,
    after_help = "Configuration: --config FILE or TIPCTL_CONFIG (a file made by `tipcerts dev`, e.g. dev-pki/MX/analyst.toml).\nLanguage: ui_lang in the configuration, else LC_ALL / LC_MESSAGES / LANG (es or en).\nExit codes: 0 done, 1 failed here, 2 usage, 3 relay unreachable, 4 refused, 5 verification failed,\n6 differences found, 130 interrupted."
)]
struct Cli {
    /// Configuration file of this principal.
    #[arg(long, short, env = "TIPCTL_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write, sign and send a tip; exits 0 once the relay's signed receipt is verified and stored.
    #[command(
        after_help = "Example: tipctl send --to US --category armed_group_crossing --urgency flash \\\n    --summary 'Armed group of ~20 heading to Palomas crossing' --tlp amber --lat 31.76 --lon -107.62 --radius-m 2000"
    )]
    Send(Box<SendArgs>),
    /// Fetch new tips (verify, store, acknowledge), then list the tips held here, newest first.
    Inbox {
        /// Only tips not yet displayed with `show`.
        #[arg(long)]
        unread: bool,
        /// At most N tips.
        #[arg(long)]
        limit: Option<usize>,
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One tip in full (received or sent), with its TLP banner, signer, receipt and delivery status.
    Show {
        /// The tip id, or a prefix of it (at least 4 characters) as shown in tables.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stay connected and print each tip as it arrives (acknowledging it), and acks of your tips.
    Watch {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Tips you sent, with receipt and acknowledgement status.
    #[command(
        after_help = "Status: pending (no receipt yet), rejected (refused by the relay), accepted (receipted),\n\
        crossed (federation: accepted across the border), acknowledged (the recipient acked it),\n\
        refused (the recipient refused it for good with a signed refusal: shown under the table\n\
        with who refused it and why; `--json`: `refused` {code, reason, by})."
    )]
    Outbox {
        /// JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Report what came of a tip you received: a signed Feedback, relayed to its author.
    ///
    /// Several feedbacks per tip are normal (e.g. under_review, then seizure); each is kept.
    /// The feedback is stored locally first: if the relay is unreachable it is sent by the
    /// next connecting command.
    #[command(
        after_help = "Example: tipctl feedback 0193a5b4-7c1e-7d2f-8a3b-1c2d3e4f5a6b --outcome seizure --note '340 kg seized at Nogales'"
    )]
    Feedback {
        /// The id of a tip you received, or a prefix of it (at least 4 characters).
        id: String,
        /// under_review, actioned, interdicted, arrest, seizure, unfounded, duplicate, outside_jurisdiction.
        #[arg(long)]
        outcome: String,
        /// A short note (one line, at most 500 characters).
        #[arg(long)]
        note: Option<String>,
        /// One JSON object: {"id", "tip", "outcome", "receipt": {...}}.
        #[arg(long)]
        json: bool,
    },
    /// Reciprocity ledger from your own records (and the relay's): what was given and
    /// received, acknowledged and acted on, per direction, category and period.
    #[command(
        after_help = "Examples:\n  tipctl ledger                                   table of all time, by month\n  tipctl ledger --period week --for 2026-11 --json\n  tipctl ledger --html report.html --lang es       report for the implementation group\n  tipctl ledger statement --for 2026-11 --send     sign this side's statement and send it\n  tipctl ledger reconcile --for 2026-11            compare with the relay and the counterpart's statement"
    )]
    Ledger(Box<ledger_cmd::LedgerArgs>),
    /// The relay's tamper-evident audit log: witness (cosign) checkpoints, verify and
    /// review exported bundles offline, prove a tip's acceptance.
    #[command(
        after_help = "Examples:\n  tipctl audit witness                 verify the relay's newest checkpoint extends the last one, cosign it\n  tipctl audit verify relay-2026-11.bundle\n  tipctl audit log relay-2026-11.bundle --event rejected --since 2026-11-01\n  tipctl audit prove 0193a5b4-7c1e-7d2f-8a3b-1c2d3e4f5a6b"
    )]
    Audit {
        #[command(subcommand)]
        cmd: audit_cmd::AuditCmd,
    },
    /// Automated feed: events from a border system as JSON lines (docs/FEED.md), each
    /// validated, signed with this (feed) principal's key, stored in the outbox and sent
    /// pipelined; bad lines go to a rejects file and the rest goes on. Resumes where it was
    /// after a crash or an outage; a `source_ref` makes re-reading a file harmless.
    #[command(
        after_help = "Examples:\n  tipctl --config dev-pki/MX/feed.toml feed --input plates-2026-11-30.jsonl\n  sensor-bridge | tipctl --config feed.toml feed --input - --follow\n\nExit: 0 when every valid line has its receipt (rejected lines are in the summary and the rejects file);\n4 if the relay refused a tip; 1 with --strict if any line was rejected; 130 on Ctrl-C (nothing is lost)."
    )]
    Feed(Box<feed_cmd::FeedArgs>),
    /// The tips held here as a STIX 2.1 bundle for a threat-intelligence platform (MISP,
    /// OpenCTI): each tip a report with its location, TLP 2.0 marking, author jurisdiction,
    /// signature check and feedback (docs/STIX.md). Ids are stable: a re-export updates.
    #[command(
        after_help = "Examples:\n  tipctl export --format stix2.1 --out tips.json\n  tipctl export --direction in --since -7d --out last-week.json\n  tipctl export --since 2026-11-01 --until 2026-12-01 | curl -H 'Content-Type: application/json' --data-binary @- …"
    )]
    Export(Box<export_cmd::ExportArgs>),
    /// Back up this principal's local store (outbox with receipts, inbox, feedback,
    /// statements, the relay checkpoint verified here, the local audit log), also while
    /// another tipctl such as `tipctl watch` has it open: one consistent snapshot copied to
    /// a new file (owner-only, fsynced) and checked before it is kept.
    #[command(
        after_help = "Examples:\n  tipctl backup --out ~/backups/tipctl-$(date -u +%F).redb\n  tipctl backup --out tipctl.redb.bak --force --json\n\nRestore: stop every tipctl of this principal, then put the copy in place of the store file named by `store` in the configuration."
    )]
    Backup {
        /// The backup file (refused if it exists, unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing --out file (never the store itself).
        #[arg(long)]
        force: bool,
        /// One JSON object: {"out", "bytes", "sha256", "millis", "schema_version", "outbox", "inbox", "audit_entries", "tables"}.
        #[arg(long)]
        json: bool,
    },
    /// Send every tip in the outbox that has no receipt yet.
    Resend {
        /// One JSON object: {"sent": [{"id", "seq"}], "refused": [{"id", "reason"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Shell completion script for bash, zsh, fish, elvish or powershell, on standard output.
    #[command(
        after_help = "Examples:\n  tipctl completions bash > /etc/bash_completion.d/tipctl\n  tipctl completions zsh > \"${fpath[1]}/_tipctl\"\n  tipctl completions fish > ~/.config/fish/completions/tipctl.fish"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum, ignore_case = true)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (tipctl.1, tipctl-send.1, …) to a directory, in the current language.
    Man {
        /// The directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Relay identity, connection health and pending counts; exit 3 if the relay cannot be reached.
    Status {
        /// JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct SendArgs {
    /// Receiving jurisdiction (e.g. US).
    #[arg(long, required_unless_present = "file")]
    to: Option<String>,
    /// armed_group_crossing, tunnel_located, fentanyl_precursors, drug_shipment, arms_trafficking, fuel_theft, illicit_finance, human_smuggling, irregular_migration, other.
    #[arg(long, required_unless_present = "file")]
    category: Option<String>,
    /// One line, at most 500 characters.
    #[arg(long, required_unless_present = "file")]
    summary: Option<String>,
    /// TLP 2.0 label: clear, green, amber, amber+strict, red (mandatory).
    #[arg(long, required_unless_present = "file")]
    tlp: Option<String>,
    /// flash, immediate, priority, routine.
    #[arg(long, default_value = "routine")]
    urgency: String,
    /// Latitude (WGS84 degrees).
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    lat: Option<f64>,
    /// Longitude (WGS84 degrees).
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    lon: Option<f64>,
    /// Uncertainty radius in metres (1-500000); without it the radius is unknown, and shown so.
    #[arg(long, requires = "lat")]
    radius_m: Option<u64>,
    /// Place name.
    #[arg(long)]
    place: Option<String>,
    /// Border sector.
    #[arg(long)]
    sector: Option<String>,
    /// Port of entry.
    #[arg(long)]
    port_of_entry: Option<String>,
    /// File with the details text (at most 16 KiB).
    #[arg(long)]
    details_file: Option<PathBuf>,
    /// Expiry: RFC 3339 time or +DURATION (e.g. +6h, +30m, +2d).
    #[arg(long, allow_hyphen_values = true)]
    valid_until: Option<String>,
    /// When observed: RFC 3339 time or -DURATION (e.g. -15m).
    #[arg(long, allow_hyphen_values = true)]
    observed_at: Option<String>,
    /// Source reliability A-F.
    #[arg(long)]
    reliability: Option<String>,
    /// Information credibility 1-6.
    #[arg(long)]
    credibility: Option<u64>,
    /// Language of the text (default: the configured one).
    #[arg(long)]
    lang: Option<String>,
    /// Related tip id (repeatable).
    #[arg(long = "ref")]
    refs: Vec<String>,
    /// Read the whole tip from a TOML or JSON file instead (same field names as the tip).
    #[arg(long, conflicts_with_all = ["to", "category", "summary", "tlp"])]
    file: Option<PathBuf>,
    /// Print one JSON object: {"id", "receipt": {"seq", ...}, ...}.
    #[arg(long)]
    json: bool,
}

/// Parses an RFC 3339 time or a signed duration relative to now (+6h, -15m, +2d, +90s).
fn parse_time(s: &str, field: &str) -> Result<Timestamp> {
    let now = tiprelay_client::client::now();
    if let Some(rest) = s.strip_prefix('+').map(|r| (1i64, r)).or_else(|| s.strip_prefix('-').map(|r| (-1i64, r))) {
        let (sign, r) = rest;
        let (num, unit) = r.split_at(r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len()));
        let n: i64 = num
            .parse()
            .with_context(|| t!("tipctl-not-a-duration", "field" => field.to_owned(), "value" => s.to_owned()))?;
        let secs = match unit {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86400,
            _ => bail!("{}", t!("tipctl-duration-unit", "field" => field.to_owned())),
        };
        let ms = now.as_unix_ms() as i64 + sign * secs * 1000;
        return Timestamp::from_unix_ms(u64::try_from(ms).unwrap_or(0)).with_context(|| t!("tipctl-time-out-of-range"));
    }
    // A bare date is its first instant, UTC.
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &day) {
        let ms = d.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000;
        return Timestamp::from_unix_ms(u64::try_from(ms).unwrap_or(0)).with_context(|| t!("tipctl-time-out-of-range"));
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| t!("tipctl-not-a-time", "field" => field.to_owned(), "value" => s.to_owned()))?;
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    Timestamp::from_unix_ms(u64::try_from(ms).unwrap_or(0)).with_context(|| t!("tipctl-time-out-of-range"))
}

fn draft_from_args(a: &SendArgs) -> Result<Draft> {
    if let Some(f) = &a.file {
        let text =
            std::fs::read_to_string(f).with_context(|| t!("tipctl-cannot-read", "path" => f.display().to_string()))?;
        let tf: TipFields = if f.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).with_context(|| format!("{}", f.display()))?
        } else {
            toml::from_str(&text).with_context(|| format!("{}", f.display()))?
        };
        let ev = tf
            .into_event(|s, field| parse_time(s, field).map_err(|e| render_error(&e)))
            .map_err(|e| anyhow::anyhow!("{}: {}", f.display(), e.localize()))?;
        if ev.source_ref.is_some() {
            bail!("{}", t!("tipctl-no-source-ref", "path" => f.display().to_string()));
        }
        return Ok(ev.draft);
    }
    let req = |v: &Option<String>, n: &str| v.clone().with_context(|| t!("tipctl-required", "flag" => n.to_owned()));
    let details = match &a.details_file {
        Some(p) => {
            // Lines end in LF in a signed tip (a CR is refused): CRLF is normalised.
            Some(
                std::fs::read_to_string(p)
                    .with_context(|| t!("tipctl-cannot-read-details", "path" => p.display().to_string()))?
                    .replace("\r\n", "\n"),
            )
        }
        None => None,
    };
    Ok(Draft {
        to: req(&a.to, "to")?.to_ascii_uppercase().parse()?,
        category: req(&a.category, "category")?.to_ascii_lowercase().parse::<Category>()?,
        urgency: a.urgency.to_ascii_lowercase().parse::<Urgency>()?,
        summary: req(&a.summary, "summary")?,
        details,
        lang: a.lang.as_deref().map(|l| l.to_ascii_lowercase().parse()).transpose()?,
        location: match (a.lat, a.lon) {
            (Some(lat), Some(lon)) => Some(Location {
                lat,
                lon,
                radius_m: a.radius_m,
                place: a.place.clone(),
                sector: a.sector.clone(),
                port_of_entry: a.port_of_entry.clone(),
            }),
            _ => None,
        },
        observed_at: a.observed_at.as_deref().map(|s| parse_time(s, "observed-at")).transpose()?,
        valid_until: a.valid_until.as_deref().map(|s| parse_time(s, "valid-until")).transpose()?,
        source_reliability: a
            .reliability
            .as_deref()
            .map(|r| r.to_ascii_uppercase().parse::<SourceReliability>())
            .transpose()?,
        info_credibility: a.credibility.map(InfoCredibility::new).transpose()?,
        tlp: req(&a.tlp, "tlp")?.to_ascii_lowercase().parse::<Tlp>()?,
        refs: a.refs.iter().map(|r| r.parse::<TipId>()).collect::<Result<_, _>>()?,
    })
}

fn open(cli: &Cli) -> Result<Client> {
    let path = cli.config.clone().with_context(|| t!("no-config"))?;
    let cfg = ClientConfig::load(&path)?;
    set_ui_locale(&cfg);
    let c = Client::open(cfg)?;
    for (authority, next) in c.trust().stale_crls(tiprelay_client::client::now()) {
        eprintln!(
            "tipctl: {}: {}",
            t!("warning"),
            t!("crl-stale", "authority" => authority.to_string(), "next" => next.to_string())
        );
    }
    Ok(c)
}

/// The interface language: ui_lang, else the environment's, else the tips' language.
fn set_ui_locale(cfg: &ClientConfig) {
    use tiprelay_client::i18n::{env_locale, set_locale, Locale};
    let fallback = if cfg.lang.as_str() == "es" { Locale::Es } else { Locale::En };
    set_locale(cfg.ui_lang.or_else(env_locale).unwrap_or(fallback));
}

/// `tipctl backup`: the store is opened read-only (never as a [`Client`], which would
/// need it writable), so this works beside a running `tipctl watch`.
fn backup(cli: &Cli, out: &std::path::Path, force: bool, json: bool) -> Result<()> {
    let path = cli.config.clone().with_context(|| t!("no-config"))?;
    let cfg = ClientConfig::load(&path)?;
    set_ui_locale(&cfg);
    let r = tiprelay_client::store::backup_to(&cfg.store, out, force)?;
    if json {
        println!(
            "{}",
            json!({"ok": true, "store": cfg.store.display().to_string(), "out": r.out.display().to_string(),
                   "bytes": r.bytes, "sha256": r.sha256, "millis": r.millis, "schema_version": r.schema_version,
                   "outbox": r.outbox, "inbox": r.inbox, "audit_entries": r.audit_entries, "audit_root": r.audit_root,
                   "tables": r.tables})
        );
        return Ok(());
    }
    println!(
        "{}",
        t!("tipctl-backup-done", "store" => cfg.store.display().to_string(), "file" => r.out.display().to_string(),
           "bytes" => r.bytes, "ms" => r.millis)
    );
    println!("  {}", t!("tipctl-backup-sha256", "sha256" => r.sha256.as_str()));
    println!(
        "  {}",
        t!("tipctl-backup-counts", "outbox" => r.outbox, "inbox" => r.inbox, "entries" => r.audit_entries,
           "root" => r.audit_root.as_str(), "version" => r.schema_version)
    );
    println!("  {}", t!("tipctl-backup-keep"));
    Ok(())
}

/// How long `tipctl send` keeps trying when the relay is lost mid-request (a dead relay is
/// noticed within the 3 s idle timeout; the next relay address answers at once).
const SEND_FAILOVER: std::time::Duration = std::time::Duration::from_secs(15);

/// Connects and pushes anything unreceipted first.
/// Whether a send failed because the relay refused the tip for good (it is kept in the
/// outbox as rejected, never resent).
fn refused_for_good(e: &tiprelay_client::ClientError) -> bool {
    match e {
        tiprelay_client::ClientError::OwnCertificateRevoked { .. } => true,
        tiprelay_client::ClientError::Conn(tiprelay_client::conn::ConnError::Refused(w)) => {
            tiprelay_client::client::is_permanent(w)
        }
        _ => false,
    }
}

async fn connect(c: &Client) -> Result<RelayConn> {
    let conn = RelayConn::connect(&c.cfg).await?;
    let resent = c.resend(&conn).await?;
    if !resent.sent.is_empty() {
        eprintln!("tipctl: {}", t!("outbox-sent", "count" => resent.sent.len()));
    }
    for (id, e) in &resent.refused {
        eprintln!(
            "tipctl: {}: {}",
            t!("warning"),
            t!("outbox-refused", "id" => id.to_string(), "reason" => output::refusal(e))
        );
    }
    check_log(c, &conn).await?;
    Ok(conn)
}

/// Verifies the relay's audit log extends what this client saw before (and cosigns it when
/// configured). A fork or rollback stops the command; a transport problem only warns.
async fn check_log(c: &Client, conn: &RelayConn) -> Result<()> {
    // Feeds only send: the relay answers them no audit-log requests (PROTOCOL §10.6); their
    // jurisdiction's analysts check the log.
    if c.cfg.principal.kind() == tiprelay_proto::PrincipalKind::Feed {
        return Ok(());
    }
    match c.check_log(conn, c.cfg.witness).await {
        Ok(_) => Ok(()),
        Err(e @ tiprelay_client::ClientError::LogInconsistent(_)) => Err(e.into()),
        Err(e) => {
            eprintln!("tipctl: {}: {}", t!("warning"), t!("log-unchecked", "reason" => e.to_string()));
            Ok(())
        }
    }
}

/// The certificates of this principal's configuration (TLS, signing, every trusted root,
/// the relay operator's) that expire within 30 days or have expired, and a message for
/// each one that cannot be read.
fn expiring_certificates(
    cfg: &ClientConfig,
) -> (Vec<tiprelay_common::expiry::CertExpiry>, Vec<tiprelay_common::localize::Msg>) {
    use tiprelay_common::expiry::{self, ExpiryState};
    let certs = expiry::configured(&cfg.tls_cert, &cfg.signing_cert, &cfg.trust);
    let (mut expiring, mut unreadable) = (Vec::new(), Vec::new());
    for (named, r) in certs.iter().zip(expiry::check(&certs, expiry::now(), expiry::WARN_MS)) {
        match r {
            Ok(e) if e.state != ExpiryState::Valid => expiring.push(e),
            Ok(_) => {}
            Err(err) => unreadable.push(
                tiprelay_common::localize::Msg::new("expiry-unreadable").text("name", &named.name).error("error", &err),
            ),
        }
    }
    (expiring, unreadable)
}

fn warn_gaps(c: &Client) -> Result<Vec<(String, Vec<u64>)>> {
    let gaps = c.store.gaps()?;
    for (from, missing) in &gaps {
        let missing = format!("{:?}", missing.iter().take(20).collect::<Vec<_>>());
        eprintln!("tipctl: {}: {}", t!("warning"), t!("sequence-gap", "from" => from.clone(), "missing" => missing));
    }
    Ok(gaps)
}

fn print_received(r: &tiprelay_client::client::Received, json: bool) {
    if json {
        println!(
            "{}",
            json!({"event": "tip", "id": r.tip.id.to_string(), "from": r.tip.from.as_str(), "to": r.tip.to.as_str(),
                   "author": r.tip.author.to_string(), "category": r.tip.category.as_str(), "urgency": r.tip.urgency.as_str(),
                   "summary": r.tip.summary, "tlp": r.tip.tlp.as_str(), "seq": r.receipt.seq, "verified": true,
                   "author_revoked_at": r.author_revoked.map(|t| t.to_string())})
        );
    } else {
        println!("{}", output::tlp_banner(r.tip.tlp));
        println!(
            "  {}\n  {}",
            t!("tipctl-received-head", "from" => r.tip.from.to_string(), "seq" => r.receipt.seq,
               "urgency" => r.tip.urgency.as_str(), "category" => r.tip.category.as_str(),
               "summary" => output::printable(&r.tip.summary, false)),
            t!("tipctl-received-signed", "signer" => r.signer.clone(), "id" => r.tip.id.to_string())
        );
        if let Some(note) = r.revocation_note() {
            println!("  {note}");
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.cmd {
        Cmd::Send(a) => {
            let draft = draft_from_args(a)?;
            let c = open(&cli)?;
            let (tip, _) = c.compose(draft)?;
            let safe = || t!("send-safe", "id" => tip.id.to_string());
            let mut conn = RelayConn::connect(&c.cfg).await.with_context(safe)?;
            // A relay that dies mid-request: the next address answers (several relays).
            let sent = match c.send_failover(&mut conn, &tip.id, SEND_FAILOVER).await {
                Ok(s) => s,
                // Refused for good: kept in the outbox as rejected, never resent.
                Err(e) if refused_for_good(&e) => {
                    conn.close().await;
                    return Err(anyhow::Error::from(e).context(t!("send-refused-kept", "id" => tip.id.to_string())));
                }
                Err(e) => return Err(anyhow::Error::from(e).context(safe())),
            };
            let _ = c.resend(&conn).await;
            let checked = check_log(&c, &conn).await;
            conn.close().await;
            checked?;
            if a.json {
                println!(
                    "{}",
                    json!({"id": tip.id.to_string(), "to": tip.to.as_str(), "tlp": tip.tlp.as_str(), "duplicate": sent.duplicate,
                           "receipt": output::receipt_json(&sent.receipt)})
                );
            } else {
                println!(
                    "{}",
                    t!("send-accepted", "id" => tip.id.to_string(), "to" => tip.to.to_string(), "seq" => sent.receipt.seq,
                       "at" => sent.receipt.accepted.to_string(), "relay" => sent.receipt.relay.to_string())
                );
            }
        }
        Cmd::Inbox { unread, limit, json } => {
            let c = open(&cli)?;
            match connect(&c).await {
                Ok(conn) => {
                    let report = c.fetch_inbox(&conn).await?;
                    let _ = c.sync_acks(&conn).await;
                    conn.close().await;
                    for f in &report.failed {
                        eprintln!("tipctl: {}: {}", t!("warning"), t!("delivery-failed", "reason" => f.to_string()));
                    }
                    print_refused_here(&report.refused, false);
                    let fresh = report.received.iter().filter(|g| g.fresh).count();
                    if fresh > 0 && !json {
                        eprintln!("tipctl: {}", t!("new-tips", "count" => fresh));
                    }
                    for note in report.received.iter().filter(|g| g.fresh).filter_map(|g| g.revocation_note()) {
                        eprintln!("tipctl: {note}");
                    }
                }
                Err(e) => {
                    eprintln!("tipctl: {}: {}", t!("warning"), t!("unreachable-local", "reason" => render_error(&e)))
                }
            }
            warn_gaps(&c)?;
            let mut rows = c.store.inbox()?;
            rows.sort_by(|a, b| b.2.received_at.cmp(&a.2.received_at).then(b.2.seq.cmp(&a.2.seq)));
            if *unread {
                rows.retain(|r| !r.2.read);
            }
            if let Some(n) = limit {
                rows.truncate(*n);
            }
            if *json {
                let v: Vec<_> = rows.iter().filter_map(|r| output::inbox_json(&r.2)).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if rows.is_empty() {
                println!("{}", t!("no-tips"));
            } else {
                println!("{}", output::inbox_table(&rows));
            }
        }
        Cmd::Show { id, json } => {
            let c = open(&cli)?;
            let id: TipId = resolve_id(&c, id)?;
            if let Some((from, _, rec)) = c.store.inbox()?.into_iter().find(|(_, i, _)| i == id.as_bytes()) {
                let tip = parse::<Tip>(&rec.envelope)?.message;
                let receipt = parse::<Receipt>(&rec.receipt)?.message;
                c.store.update_in(&from, id.as_bytes(), |r| r.read = true)?;
                let fb = c.store.feedback_for(&from, id.as_bytes())?;
                let note = c.revocation_note_of(&rec.envelope, &rec.receipt);
                if *json {
                    let mut v = output::inbox_json(&rec).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("feedback".into(), fb.iter().map(output::feedback_json).collect());
                        // Language-neutral: when the author's certificate was revoked (after
                        // the relay accepted the tip; PROTOCOL §6.3), not the note's text.
                        let revoked = c.verify_tip_as_of(&rec.envelope, receipt.accepted).ok().and_then(|(_, r)| r);
                        o.insert("author_revoked_at".into(), json!(revoked.map(|t| t.to_string())));
                    }
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    let delivery = if rec.acked { t!("delivery-in-acked") } else { t!("delivery-in-pending") };
                    let text = output::show_text(&tip, &rec.signer, Some(&receipt), &delivery);
                    print!("{}", with_feedback(&text, &fb));
                    if let Some(note) = note {
                        println!("{note}");
                    }
                }
            } else if let Some(rec) = c.store.get_out(id.as_bytes())? {
                let tip = parse::<Tip>(&rec.envelope)?.message;
                let receipt = rec.receipt.as_deref().map(parse::<Receipt>).transpose()?.map(|p| p.message);
                let fb = c.store.feedback_for(tip.from.as_str(), id.as_bytes())?;
                if *json {
                    let mut v = output::outbox_json(&rec).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("feedback".into(), fb.iter().map(output::feedback_json).collect());
                    }
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    let across = rec.across.as_deref().and_then(|a| parse::<Receipt>(a).ok()).map(|p| p.message.relay);
                    let delivery = match (&rec.acked_by, across) {
                        (Some(by), _) => match output::refusal_of(&rec) {
                            Some(r) => t!("delivery-refused", "to" => tip.to.to_string(), "by" => by.clone(),
                                          "code" => r.code.name(), "reason" => output::printable(&r.reason, false)),
                            None => t!("delivery-acked", "by" => by.clone()),
                        },
                        (None, Some(relay)) => t!("delivery-across", "relay" => relay.to_string()),
                        (None, None) if output::not_yet_across(&rec) => t!("delivery-home"),
                        (None, None) if receipt.is_some() => t!("delivery-relay"),
                        (None, None) => t!("delivery-unsent"),
                    };
                    let text = output::show_text(&tip, &tip.author.to_string(), receipt.as_ref(), &delivery);
                    print!("{}", with_feedback(&text, &fb));
                }
            } else {
                bail!("{}", t!("no-such-tip", "id" => id.to_string()));
            }
        }
        Cmd::Watch { json } => {
            let mut c = open(&cli)?;
            watch(&mut c, *json).await?;
        }
        Cmd::Outbox { json } => {
            let c = open(&cli)?;
            match connect(&c).await {
                Ok(conn) => {
                    let _ = c.sync_acks(&conn).await;
                    conn.close().await;
                }
                Err(e) => {
                    eprintln!("tipctl: {}: {}", t!("warning"), t!("unreachable-state", "reason" => render_error(&e)))
                }
            }
            let rows = c.store.outbox()?;
            let from = c.cfg.jurisdiction.to_string();
            let mut feedback = Vec::with_capacity(rows.len());
            for (id, _) in &rows {
                feedback.push(c.store.feedback_for(&from, id)?);
            }
            if *json {
                let v: Vec<_> = rows
                    .iter()
                    .zip(&feedback)
                    .filter_map(|(r, fb)| {
                        let mut v = output::outbox_json(&r.1)?;
                        v.as_object_mut()?.insert("feedback".into(), fb.iter().map(output::feedback_json).collect());
                        Some(v)
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if rows.is_empty() {
                println!("{}", t!("no-tips-sent"));
            } else {
                println!("{}", output::outbox_table(&rows, &feedback));
                // "refused by US: reason", under the table, for each tip refused for good.
                let refused: Vec<_> = rows
                    .iter()
                    .filter_map(|(id, r)| {
                        Some((TipId::from_bytes(*id).ok()?, r.acked_by.clone()?, output::refusal_of(r)?))
                    })
                    .collect();
                print_refused_ours(&refused, false);
            }
        }
        Cmd::Feedback { id, outcome, note, json } => {
            let outcome: Outcome = outcome.to_ascii_lowercase().parse()?;
            let c = open(&cli)?;
            let id: TipId = resolve_id_in(&c, id, true)?;
            let (from, rec) = c.compose_feedback(&id, outcome, note.clone())?;
            let conn = RelayConn::connect(&c.cfg).await.with_context(|| t!("feedback-safe", "id" => rec.id.clone()))?;
            let fid = rec.id.clone();
            let receipt = c.send_feedback(&conn, &from, id.as_bytes(), rec).await?;
            let _ = c.resend(&conn).await;
            conn.close().await;
            if *json {
                println!(
                    "{}",
                    json!({"id": fid, "tip": id.to_string(), "outcome": outcome.as_str(), "receipt": output::receipt_json(&receipt)})
                );
            } else {
                println!(
                    "{}",
                    t!("feedback-accepted", "id" => fid, "outcome" => outcome.as_str(), "tip" => id.to_string(),
                       "seq" => receipt.seq, "at" => receipt.accepted.to_string())
                );
            }
        }
        Cmd::Feed(a) => {
            let c = std::sync::Arc::new(open(&cli)?);
            return feed_cmd::run(c, a).await;
        }
        Cmd::Audit { cmd } => {
            return audit_cmd::run(cmd, cli.config.as_deref()).await;
        }
        Cmd::Ledger(a) => {
            let c = open(&cli)?;
            return ledger_cmd::run(&c, a).await;
        }
        Cmd::Export(a) => {
            let c = open(&cli)?;
            return export_cmd::run(&c, a, parse_time);
        }
        Cmd::Backup { out, force, json } => backup(&cli, out, *force, *json)?,
        Cmd::Resend { json } => {
            let c = open(&cli)?;
            let conn = RelayConn::connect(&c.cfg).await?;
            let r = c.resend(&conn).await?;
            conn.close().await;
            if *json {
                println!(
                    "{}",
                    json!({"sent": r.sent.iter().map(|s| json!({"id": s.tip.id.to_string(), "seq": s.receipt.seq})).collect::<Vec<_>>(),
                           "refused": r.refused.iter().map(|(id, e)| json!({"id": id.to_string(), "reason": e.to_string()})).collect::<Vec<_>>()})
                );
            } else {
                for s in &r.sent {
                    println!("{}", t!("resend-accepted", "id" => s.tip.id.to_string(), "seq" => s.receipt.seq));
                }
                for (id, e) in &r.refused {
                    println!("{}", t!("resend-refused", "id" => id.to_string(), "reason" => output::refusal(e)));
                }
                println!("{}", t!("resend-summary", "sent" => r.sent.len(), "refused" => r.refused.len()));
            }
            if !r.refused.is_empty() {
                return Ok(ExitCode::from(exit::REFUSED));
            }
        }
        Cmd::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "tipctl", &mut std::io::stdout());
        }
        Cmd::Man { out } => {
            std::fs::create_dir_all(out)
                .with_context(|| t!("tipctl-cannot-create", "path" => out.display().to_string()))?;
            let n = write_man(&tiprelay_client::i18n::localize_help(Cli::command()), "tipctl", out)?;
            println!("{}", t!("man-written", "count" => n, "dir" => out.display().to_string()));
        }
        Cmd::Status { json } => {
            let c = open(&cli)?;
            let started = std::time::Instant::now();
            let res = async {
                let conn = connect(&c).await?;
                let at = conn.remote_address();
                let r = conn.request(&Request::Status).await?;
                // Crossed receipts (federation) and acks since the last look.
                c.sync_notices(&conn).await?;
                conn.close().await;
                anyhow::Ok((r, at))
            }
            .await;
            let rtt = started.elapsed().as_millis();
            let outbox = c.store.outbox()?;
            let federated = outbox.iter().any(|(_, r)| r.receipt.as_deref().is_some_and(output::home_relay_receipt));
            let not_across: Vec<&tiprelay_client::store::OutRecord> =
                outbox.iter().map(|(_, r)| r).filter(|r| output::not_yet_across(r)).collect();
            let oldest_not_across = not_across.iter().filter_map(|r| r.receipted_at).min();
            let unreceipted = outbox.iter().filter(|(_, r)| r.receipt.is_none() && r.rejected.is_none()).count();
            let inbox = c.store.inbox()?;
            // The principal's own counters (the relay's are on its /metrics endpoint).
            let counters = json!({
                "tips_sent_receipted": outbox.iter().filter(|(_, r)| r.receipt.is_some()).count(),
                "tips_sent_refused": outbox.iter().filter(|(_, r)| r.rejected.is_some()).count(),
                "tips_sent_unreceipted": unreceipted,
                "tips_sent_acknowledged": outbox.iter().filter(|(_, r)| r.ack.is_some() && output::refusal_of(r).is_none()).count(),
                "tips_sent_refused_by_recipient": outbox.iter().filter(|(_, r)| output::refusal_of(r).is_some()).count(),
                "tips_sent_across": outbox.iter().filter(|(_, r)| r.across.is_some()).count(),
                "tips_received": inbox.len(),
                "tips_received_acknowledged": inbox.iter().filter(|r| r.2.acked).count(),
                "tips_received_unread": inbox.iter().filter(|r| !r.2.read).count(),
            });
            let gaps = warn_gaps(&c)?;
            let (expiring, unreadable) = expiring_certificates(&c.cfg);
            // This principal's own signing certificate on its CRL: nothing it signs is taken.
            let own_revoked = c.own_certificate_revoked();
            // The address that answered, or every configured one when none did.
            let every = c.cfg.relay_addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let mut code = exit::UNVERIFIED;
            let (ok, relay, pending, err, address) = match res {
                Ok((Response::Status { relay, pending, .. }, at)) => (true, relay, pending, None, at.to_string()),
                Ok((_, at)) => (false, String::new(), 0, Some(t!("tipctl-status-unexpected")), at.to_string()),
                Err(e) => {
                    code = exit_class(&e);
                    (false, String::new(), 0, Some(render_error(&e)), every)
                }
            };
            if *json {
                println!(
                    "{}",
                    json!({"principal": c.cfg.principal.to_string(), "relay_address": address, "connected": ok,
                           "relay": relay, "connect_ms": rtt, "pending_at_relay": pending, "outbox_unreceipted": unreceipted,
                           "federated": federated, "accepted_at_home_not_yet_across": not_across.len(),
                           "oldest_not_yet_across_ms": oldest_not_across,
                           "inbox": inbox.len(), "unread": inbox.iter().filter(|r| !r.2.read).count(),
                           "gaps": gaps.iter().map(|(f, m)| json!({"from": f, "missing": m})).collect::<Vec<_>>(), "error": err,
                           "counters": counters, "expiring": expiring.iter().map(|e| e.json()).collect::<Vec<_>>(),
                           "own_certificate_revoked": own_revoked})
                );
            } else {
                let label = |id: &str| format!("{:<11}", format!("{}:", t!(id)));
                println!("{} {}", label("status-principal"), c.cfg.principal);
                match &err {
                    None => println!(
                        "{} {}",
                        label("status-relay"),
                        t!("status-relay-ok", "relay" => relay.clone(), "address" => address.clone(), "ms" => rtt as u64)
                    ),
                    Some(e) => println!(
                        "{} {}",
                        label("status-relay"),
                        t!("status-relay-down", "address" => address.clone(), "reason" => e.clone())
                    ),
                }
                println!("{} {}", label("status-waiting"), t!("status-waiting-value", "count" => pending));
                println!("{} {}", label("status-outbox"), t!("status-outbox-value", "count" => unreceipted));
                if federated {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                    let age = oldest_not_across.map(|t| now.saturating_sub(t) / 1000);
                    println!(
                        "{} {}{}",
                        label("status-across"),
                        t!("status-across-value", "count" => not_across.len()),
                        age.map(|a| format!(" {}", t!("status-across-oldest", "secs" => a))).unwrap_or_default()
                    );
                }
                println!(
                    "{} {}",
                    label("status-inbox"),
                    t!("status-inbox-value", "count" => inbox.len(), "unread" => inbox.iter().filter(|r| !r.2.read).count())
                );
                println!(
                    "{} {}",
                    label("status-sequence"),
                    if gaps.is_empty() {
                        t!("status-no-gaps")
                    } else {
                        t!("status-gaps", "from" => gaps.iter().map(|g| g.0.as_str()).collect::<Vec<_>>().join(", "))
                    }
                );
                let locale = tiprelay_common::i18n::locale();
                if own_revoked {
                    let f = c.cfg.signing_cert.display().to_string();
                    println!("{} {}", label("expiry-status-label"), t!("status-own-revoked", "file" => f));
                }
                if expiring.is_empty() && unreadable.is_empty() && !own_revoked {
                    let ok = t!("expiry-status-ok", "days" => tiprelay_common::expiry::WARN_DAYS);
                    println!("{} {ok}", label("expiry-status-label"));
                }
                for w in expiring.iter().filter_map(|e| e.warning()).chain(unreadable) {
                    println!("{} {}: {}", label("expiry-status-label"), t!("warning"), w.in_locale(locale));
                }
            }
            if !ok {
                return Ok(ExitCode::from(code));
            }
            if own_revoked {
                return Ok(ExitCode::from(exit::REFUSED));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How long `watch` waits for the relay's next event before it looks again by itself.
const WATCH_IDLE_RECHECK: Duration = Duration::from_secs(30);
/// The same after a delivery failed verification (trust files may be about to change).
const WATCH_FAILED_RECHECK: Duration = Duration::from_secs(5);

async fn watch(c: &mut Client, json: bool) -> Result<()> {
    let mut backoff = Duration::from_millis(500);
    loop {
        let session = async {
            let conn = connect(c).await?;
            let mut events = conn.subscribe().await?;
            if !json {
                eprintln!("tipctl: {}", t!("watching", "principal" => c.cfg.principal.to_string()));
            }
            loop {
                // New CRLs, or a CA rollover's roots, are taken while watching.
                match c.reload_trust() {
                    Ok(true) => eprintln!("tipctl: {}", t!("watch-trust-reloaded")),
                    Ok(false) => {}
                    Err(e) => eprintln!(
                        "tipctl: {}: {}",
                        t!("warning"),
                        t!("watch-trust-unusable", "reason" => render_error(&anyhow::Error::from(e)))
                    ),
                }
                let report = c.fetch_inbox(&conn).await?;
                for f in &report.failed {
                    eprintln!("tipctl: {}: {}", t!("warning"), t!("delivery-failed", "reason" => f.to_string()));
                }
                for r in report.received.iter().filter(|r| r.fresh) {
                    print_received(r, json);
                }
                print_refused_here(&report.refused, json);
                let notices = c.sync_notices(&conn).await?;
                let n = notices.acks.len();
                if n > 0 {
                    if json {
                        println!(
                            "{}",
                            json!({"event": "acks", "count": n, "tips": notices.acks.iter().map(|t| t.to_string()).collect::<Vec<_>>()})
                        );
                    } else {
                        println!("  {}", t!("watch-acks", "count" => n));
                    }
                }
                print_refused_ours(&notices.refused, json);
                for f in &notices.feedback {
                    if json {
                        println!(
                            "{}",
                            json!({"event": "feedback", "id": f.id.to_string(), "tip": f.tip.to_string(), "outcome": f.outcome.as_str(),
                                   "by": f.by.to_string(), "note": f.note, "created": f.created.to_string()})
                        );
                    } else {
                        println!(
                            "  {}{}",
                            t!("watch-feedback", "tip" => f.tip.to_string(), "outcome" => f.outcome.as_str(), "by" => f.by.to_string()),
                            f.note
                                .as_deref()
                                .map(|n| format!(" — {}", output::printable(n, false)))
                                .unwrap_or_default()
                        );
                    }
                }
                warn_gaps(c)?;
                // Woken by the relay's next event; also after a while with none, to take
                // changed trust files and retry deliveries that failed verification
                // (sooner when some did).
                let idle = if report.failed.is_empty() { WATCH_IDLE_RECHECK } else { WATCH_FAILED_RECHECK };
                if let Ok(None) = tokio::time::timeout(idle, tiprelay_client::conn::next_event(&mut events)).await {
                    anyhow::bail!("{}", t!("tipctl-subscription-closed"));
                }
            }
            #[allow(unreachable_code)]
            anyhow::Ok(())
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            r = session => {
                if let Err(e) = r {
                    eprintln!(
                        "tipctl: {}",
                        t!("watch-reconnect", "reason" => render_error(&e), "ms" => u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX))
                    );
                }
            }
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Deliveries this principal refused for good (a signed refusal went to their authors):
/// JSON event lines on stdout (`watch --json`), else lines on stderr.
fn print_refused_here(refused: &[tiprelay_client::client::RefusedDelivery], json: bool) {
    for r in refused {
        if json {
            println!(
                "{}",
                json!({"event": "refused_here", "id": r.tip.to_string(), "from": r.from.to_string(), "seq": r.seq,
                       "code": r.refusal.code.name(), "reason": r.refusal.reason})
            );
        } else {
            eprintln!(
                "tipctl: {}",
                t!("refused-here", "id" => r.tip.to_string(), "from" => r.from.to_string(), "seq" => r.seq,
                   "reason" => output::printable(&r.refusal.reason, false))
            );
        }
    }
}

/// Tips of ours their recipient refused for good ("refused by US: reason").
fn print_refused_ours(refused: &[(TipId, String, tiprelay_proto::Refusal)], json: bool) {
    for (tip, by, r) in refused {
        let to = by.parse::<tiprelay_proto::PrincipalId>().ok().and_then(|p| p.jurisdiction()).map(|j| j.to_string());
        let to = to.unwrap_or_else(|| by.clone());
        if json {
            println!(
                "{}",
                json!({"event": "refused", "tip": tip.to_string(), "to": to, "by": by, "code": r.code.name(), "reason": r.reason})
            );
        } else {
            println!(
                "  {}",
                t!("refused-by", "id" => tip.to_string(), "to" => to, "by" => by.clone(), "code" => r.code.name(),
                   "reason" => output::printable(&r.reason, false))
            );
        }
    }
}

/// `show` text with the feedback lines inserted before the closing TLP banner.
fn with_feedback(text: &str, fb: &[tiprelay_client::store::FeedbackRecord]) -> String {
    if fb.is_empty() {
        return text.to_owned();
    }
    let lines = output::feedback_text(fb);
    match text.trim_end_matches('\n').rfind('\n') {
        Some(i) => format!("{}{}{}", &text[..=i], lines, &text[i + 1..]),
        None => format!("{text}{lines}"),
    }
}

/// Resolves a tip id: the full UUID, or a prefix (at least 4 characters, hyphens optional)
/// of exactly one tip held here; an ambiguous prefix lists the candidates.
fn resolve_id(c: &Client, given: &str) -> Result<TipId> {
    resolve_id_in(c, given, false)
}

/// [`resolve_id`]; with `received_only` (feedback, which cannot be taken back) only tips
/// received here count and a prefix needs the 8 characters tables show.
fn resolve_id_in(c: &Client, given: &str, received_only: bool) -> Result<TipId> {
    if let Ok(id) = given.parse::<TipId>() {
        return Ok(id);
    }
    let want: String = given.chars().filter(|c| *c != '-').collect::<String>().to_ascii_lowercase();
    let min = if received_only { 8 } else { 4 };
    if want.len() < min || !want.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("{}", t!("id-not-an-id", "given" => output::printable(given, false), "min" => min));
    }
    let mut found: Vec<TipId> = Vec::new();
    let sent = if received_only { Vec::new() } else { c.store.outbox()? };
    let held = c.store.inbox()?.into_iter().map(|(_, i, _)| i).chain(sent.into_iter().map(|(i, _)| i));
    for raw in held {
        let Ok(id) = TipId::from_bytes(raw) else { continue };
        if id.to_string().replace('-', "").starts_with(&want) && !found.contains(&id) {
            found.push(id);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("{}", t!("id-no-match", "given" => given.to_owned())),
        n => bail!(
            "{}",
            t!("id-ambiguous", "given" => given.to_owned(), "count" => n,
               "candidates" => found.iter().take(10).map(ToString::to_string).collect::<Vec<_>>().join(", "))
        ),
    }
}

/// Writes one manual page per command (tipctl.1, tipctl-send.1, …); returns how many.
fn write_man(cmd: &clap::Command, name: &str, dir: &std::path::Path) -> Result<usize> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_owned())).render(&mut buf)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf).with_context(|| t!("tipctl-cannot-write", "path" => path.display().to_string()))?;
    let mut n = 1;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        n += write_man(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(n)
}

/// A failure as a person reads it (anyhow's `{:#}` form), in this process's language: each
/// cause localised, the client's own errors (which say their causes) ending the chain.
fn render_error(e: &anyhow::Error) -> String {
    let mut causes: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    for c in e.chain() {
        causes.push(c);
        if output::says_its_causes(c) {
            break;
        }
    }
    tiprelay_common::localize::render_chain(causes, &output::localize_client)
}

/// The exit code of a failure: the class of the first typed error in its chain.
fn exit_class(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<tiprelay_client::ClientError>() {
            return exit::of_client(c);
        }
        if let Some(c) = cause.downcast_ref::<tiprelay_client::conn::ConnError>() {
            return exit::of_conn(c);
        }
    }
    exit::FAILED
}

fn main() -> ExitCode {
    // A closed standard output (`tipctl inbox --json | head -5`) ends the command quietly:
    // printing to it is the only way there to fail, and the reader has what it wanted.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p.downcast_ref::<String>().map(String::as_str).or_else(|| p.downcast_ref::<&str>().copied());
        if msg.is_some_and(|m| m.contains("failed printing to stdout") && m.contains("Broken pipe")) {
            // Quietly, with the status of a process ended by SIGPIPE (128 + 13): a
            // supervisor of `feed` does not read a cut-off run as a finished one.
            std::process::exit(141);
        }
        default_hook(info);
    }));
    let cli: Cli = match tiprelay_client::i18n::parse_args("tipctl") {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tipctl: {}: {e}", t!("error"));
            return ExitCode::from(exit::FAILED);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tipctl: {}: {}", t!("error"), render_error(&e));
            ExitCode::from(exit_class(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_option_has_its_spanish_help() {
        let missing = tiprelay_client::i18n::missing_spanish_help(&Cli::command());
        assert!(missing.is_empty(), "add to common/locales/es/main.ftl:\n{}", missing.join("\n"));
    }
}
