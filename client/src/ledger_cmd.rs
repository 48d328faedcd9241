//! `tipctl ledger`: the reciprocity ledger, signed statements, reconciliation and the
//! implementation group's HTML report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::json;
use tiprelay_client::client::now;
use tiprelay_client::i18n::{self, Locale};
use tiprelay_client::ledger::{
    aggregate, build_statement, export_facts, import_facts, merge_facts, open_items, reconcile_relays,
    reconcile_statement, reconcile_with_relay, Discrepancy, Msg, Period, Range, ReconcileScope, Reconciliation,
};
use tiprelay_client::report::{render_html, ReportInput, ReportLang};
use tiprelay_client::{t, Client, RelayConn};
use tiprelay_proto::{parse, Jurisdiction, LedgerStatement, Timestamp, TipFacts, TipId};

/// Options of `tipctl ledger`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LedgerArgs {
    #[command(subcommand)]
    cmd: Option<LedgerCmd>,
    #[command(flatten)]
    range: RangeArgs,
    /// Row granularity: day, week or month.
    #[arg(long, default_value = "month", value_parser = ["day", "week", "month"])]
    period: String,
    /// Count from the relay's records (pairs your jurisdiction is part of) instead of your own.
    #[arg(long, conflicts_with = "offline")]
    relay: bool,
    /// Do not contact the relay: count what is held here now.
    #[arg(long)]
    offline: bool,
    /// One JSON object: {"view", "period", "since", "until", "rows": [...], "pairs": [...]}.
    #[arg(long, conflicts_with_all = ["csv", "html"])]
    json: bool,
    /// CSV with a header line.
    #[arg(long, conflicts_with = "html")]
    csv: bool,
    /// Write the implementation group's report (one self-contained HTML file) to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Report language: en or es (default: the interface language, from ui_lang or LANG).
    #[arg(long)]
    lang: Option<String>,
    /// Open items: tips unacknowledged for more than this many hours.
    #[arg(long, default_value_t = 24)]
    open_ack_hours: u64,
    /// Open items: acknowledged tips without feedback after this many days.
    #[arg(long, default_value_t = 7)]
    open_feedback_days: u64,
    /// Also count another principal's records of your jurisdiction (a file made by
    /// `tipctl ledger export` with that principal's config); repeatable.
    #[arg(long, value_name = "FILE")]
    merge: Vec<PathBuf>,
}

/// Which tips: one named period, or bounds.
#[derive(clap::Args, Clone)]
struct RangeArgs {
    /// One named period (UTC): 2026, 2026-11, 2026-W48 or 2026-11-30.
    #[arg(long = "for", value_name = "PERIOD", conflicts_with_all = ["since", "until"])]
    of: Option<String>,
    /// Tips accepted at or after this date or RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// Tips accepted before this date or RFC 3339 time.
    #[arg(long)]
    until: Option<String>,
}

impl RangeArgs {
    fn range(&self) -> Result<Range> {
        match &self.of {
            Some(p) => Range::parse_period(p),
            None => Range::from_bounds(self.since.as_deref(), self.until.as_deref()),
        }
        .map_err(anyhow::Error::from)
    }
    fn given(&self) -> bool {
        self.of.is_some() || self.since.is_some() || self.until.is_some()
    }
}

#[derive(clap::Subcommand)]
enum LedgerCmd {
    /// Sign this side's statement for a period (counts and a digest over the tip ids it
    /// covers); write it to a file and/or send it to the counterpart through the relay.
    Statement {
        /// The period (UTC): 2026-11, 2026-W48, 2026-11-30 or 2026 (default: the last closed month).
        #[arg(long = "for", value_name = "PERIOD")]
        of: Option<String>,
        /// Sign a period that has not ended yet (its counts can still grow, and the
        /// counterpart's reconciliation will then differ).
        #[arg(long)]
        allow_open: bool,
        /// Sign even when the statement covers no tip (it asserts nothing was exchanged).
        #[arg(long)]
        yes: bool,
        /// The counterpart (default: the only one configured).
        #[arg(long)]
        to: Option<String>,
        /// Write the signed statement (COSE_Sign1 bytes) to FILE.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Send it to the counterpart through the relay.
        #[arg(long)]
        send: bool,
        /// JSON summary.
        #[arg(long)]
        json: bool,
        /// Also cover other principals' records of your jurisdiction (`tipctl ledger export` files).
        #[arg(long, value_name = "FILE")]
        merge: Vec<PathBuf>,
    },
    /// Write this principal's records (per-tip facts, no tip content) to a file, so a
    /// colleague's ledger, statement or reconciliation can cover the whole jurisdiction
    /// with `--merge FILE`.
    Export {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// One JSON object: {"out", "principal", "records"}.
        #[arg(long)]
        json: bool,
    },
    /// Compare this side's records with the relay's, tip by tip, and the relay's with the
    /// counterpart's signed statement (default period: the current month). Exit 0 when all
    /// agree, 6 when something differs, 5 when the statement itself does not verify.
    Reconcile {
        #[command(flatten)]
        range: RangeArgs,
        /// The counterpart's statement file (default: the latest one received through the
        /// relay for exactly this period, if any).
        #[arg(long)]
        statement: Option<PathBuf>,
        /// Tips accepted less than this long ago are in flight, not discrepancies (s, m, h, d).
        #[arg(long, default_value = "1h")]
        grace: String,
        /// One JSON object: {"compared", "agree", "discrepancies": [{"tip", "kind", "message"}]}.
        #[arg(long)]
        json: bool,
        /// Also compare other principals' records of your jurisdiction (`tipctl ledger export` files).
        #[arg(long, value_name = "FILE")]
        merge: Vec<PathBuf>,
    },
    /// Statements received from the counterpart (fetched from the relay first).
    Statements {
        /// JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// Brings local records up to date: pending sends, new tips, acks, feedback, statements.
async fn sync(c: &Client) -> Result<RelayConn> {
    let conn = RelayConn::connect(&c.cfg).await?;
    if let Err(e @ tiprelay_client::ClientError::LogInconsistent(_)) = c.check_log(&conn, c.cfg.witness).await {
        conn.close().await;
        return Err(e.into());
    }
    let resent = c.resend(&conn).await?;
    if !resent.sent.is_empty() {
        eprintln!("tipctl: {}", t!("outbox-sent", "count" => resent.sent.len()));
    }
    let inbox = c.fetch_inbox(&conn).await?;
    for f in &inbox.failed {
        eprintln!("tipctl: {}: {}", t!("warning"), t!("delivery-failed", "reason" => f.to_string()));
    }
    c.sync_notices(&conn).await?;
    c.sync_statements(&conn).await?;
    Ok(conn)
}

fn parse_duration_ms(s: &str) -> Result<u64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().with_context(|| t!("ledger-grace-not-duration", "given" => s.to_owned()))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("{}", t!("ledger-grace-unit", "given" => s.to_owned())),
    };
    Ok(n.saturating_mul(unit_ms))
}

/// This principal's facts in `range`, merged with exported records of colleagues of the
/// same jurisdiction; with the principals they cover.
fn local_facts(c: &Client, range: Range, merge: &[PathBuf]) -> Result<(Vec<TipFacts>, Vec<String>)> {
    let mine = c.store.facts(range.start.as_unix_ms(), range.end.as_unix_ms())?;
    let mut authors = vec![c.principal().to_string()];
    if merge.is_empty() {
        return Ok((mine, authors));
    }
    let mut views = vec![mine];
    for p in merge {
        let bytes = std::fs::read(p).with_context(|| t!("ledger-cannot-read", "path" => p.display().to_string()))?;
        // The export's own error stays a cause of its own (people see it localised).
        let (who, facts) = import_facts(&bytes).with_context(|| p.display().to_string())?;
        let whose: tiprelay_proto::PrincipalId =
            who.parse().with_context(|| t!("ledger-merge-bad-principal", "path" => p.display().to_string()))?;
        if whose.jurisdiction() != Some(c.cfg.jurisdiction) {
            bail!(
                "{}",
                t!("ledger-merge-other-jurisdiction", "path" => p.display().to_string(), "who" => who,
                   "jurisdiction" => c.cfg.jurisdiction.to_string())
            );
        }
        authors.push(who);
        views.push(facts.into_iter().filter(|f| range.contains(f.period_time())).collect());
    }
    Ok((merge_facts(views), authors))
}

fn counterpart(c: &Client, to: Option<&str>) -> Result<Jurisdiction> {
    if let Some(t) = to {
        return Ok(t.parse()?);
    }
    match c.counterparts().as_slice() {
        [one] => Ok(*one),
        [] => bail!("{}", t!("ledger-no-counterpart")),
        many => bail!(
            "{}",
            t!("ledger-several-counterparts", "list" => many.iter().map(|j| j.to_string()).collect::<Vec<_>>().join(", "))
        ),
    }
}

/// Runs `tipctl ledger …`.
pub async fn run(c: &Client, a: &LedgerArgs) -> Result<ExitCode> {
    match &a.cmd {
        None => ledger(c, a).await,
        Some(LedgerCmd::Statement { of, allow_open, yes, to, out, send, json, merge }) => {
            let of = match of {
                Some(p) => p.clone(),
                None => {
                    let p = month_key(now(), -1);
                    eprintln!("{}", t!("statement-default-period", "period" => p.clone()));
                    p
                }
            };
            let range = Range::parse_period(&of)?;
            if range.end > now() && !allow_open {
                bail!("{}", t!("statement-open-period", "period" => of.clone()));
            }
            let opts = StatementOpts { yes: *yes, to: to.as_deref(), out, send: *send, json: *json, merge };
            statement(c, &of, opts).await
        }
        Some(LedgerCmd::Export { out, json }) => {
            if let Ok(conn) = sync(c).await {
                conn.close().await;
            }
            let facts = c.store.facts(0, u64::MAX)?;
            tiprelay_client::files::write_private(out, &export_facts(&c.principal().to_string(), &facts))
                .with_context(|| t!("ledger-cannot-write", "path" => out.display().to_string()))?;
            if *json {
                println!(
                    "{}",
                    json!({"out": out.display().to_string(), "principal": c.principal().to_string(), "records": facts.len()})
                );
            } else {
                println!(
                    "{}",
                    t!("ledger-export-written", "count" => facts.len(), "principal" => c.principal().to_string(),
                       "path" => out.display().to_string())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(LedgerCmd::Reconcile { range, statement, grace, json, merge }) => {
            let grace = parse_duration_ms(grace)?;
            let (rec, _) = reconcile(c, range, statement.as_ref(), grace, merge).await?;
            match rec {
                Err(why) => {
                    eprintln!("tipctl: {}: {}", t!("error"), t!("ledger-statement-unacceptable", "why" => why));
                    Ok(ExitCode::from(tiprelay_client::exit::UNVERIFIED))
                }
                Ok(r) => {
                    if *json {
                        println!("{}", r.json());
                    } else {
                        print!("{}", reconciliation_text(&r, i18n::locale()));
                    }
                    Ok(if r.discrepancies.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(tiprelay_client::exit::DIFFERENCES)
                    })
                }
            }
        }
        Some(LedgerCmd::Statements { json }) => {
            match sync(c).await {
                Ok(conn) => conn.close().await,
                Err(e) => eprintln!(
                    "tipctl: {}: {}",
                    t!("warning"),
                    t!("ledger-unreachable-statements", "reason" => format!("{e:#}"))
                ),
            }
            let mut list = Vec::new();
            for s in c.store.statements()?.into_iter().filter(|s| !s.own) {
                if let Ok(p) = parse::<LedgerStatement>(&s.envelope) {
                    list.push(p.message);
                }
            }
            if *json {
                let v: Vec<_> = list.iter().map(statement_json).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if list.is_empty() {
                println!("{}", t!("ledger-no-statements"));
            } else {
                for s in &list {
                    let line = Msg::new("ledger-statement-line")
                        .text("id", s.id)
                        .text("jurisdiction", s.jurisdiction)
                        .text("start", s.period_start)
                        .text("end", s.period_end)
                        .text("by", &s.by)
                        .number("count", s.tip_count)
                        .text("digest", s.tips_digest.to_hex());
                    println!("{}", line.in_locale(i18n::locale()));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn statement_json(s: &LedgerStatement) -> serde_json::Value {
    json!({
        "id": s.id.to_string(),
        "jurisdiction": s.jurisdiction.as_str(),
        "counterpart": s.counterpart.as_str(),
        "period_start": s.period_start.to_string(),
        "period_end": s.period_end.to_string(),
        "by": s.by.to_string(),
        "created": s.created.to_string(),
        "tip_count": s.tip_count,
        "tips_digest": s.tips_digest.to_hex(),
        "rows": s.rows.iter().map(|r| json!({
            "from": r.from.as_str(), "to": r.to.as_str(), "category": r.category.as_str(), "sent": r.sent,
            "accepted": r.accepted, "delivered": r.delivered, "acknowledged": r.acknowledged,
            "with_feedback": r.with_feedback,
            "outcomes": r.outcomes.iter().map(|(o, n)| (o.as_str().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
    })
}

async fn ledger(c: &Client, a: &LedgerArgs) -> Result<ExitCode> {
    let period: Period = a.period.parse()?;
    let range = a.range.range()?;
    let ui = match i18n::locale() {
        i18n::Locale::Es => "es",
        i18n::Locale::En => "en",
    };
    let lang: Option<ReportLang> =
        a.html.as_ref().map(|_| a.lang.as_deref().unwrap_or(ui).parse::<ReportLang>()).transpose()?;
    let conn = if a.offline {
        None
    } else {
        match sync(c).await {
            Ok(conn) => Some(conn),
            Err(e) if !a.relay && a.html.is_none() => {
                eprintln!(
                    "tipctl: {}: {}",
                    t!("warning"),
                    t!("ledger-unreachable-counting", "reason" => format!("{e:#}"))
                );
                None
            }
            Err(e) => return Err(e.context(t!("ledger-relay-needed"))),
        }
    };
    let facts: Vec<TipFacts> = match (&conn, a.relay) {
        (Some(conn), true) => c.relay_records(conn, range.start.as_unix_ms(), range.end.as_unix_ms()).await?,
        _ => local_facts(c, range, &a.merge)?.0,
    };
    let view = if a.relay { "relay".to_owned() } else { c.principal().to_string() };
    let l = aggregate(&view, &facts, period, range);
    if let (Some(path), Some(lang)) = (&a.html, lang) {
        let reconciliation = match &conn {
            Some(_) => {
                let (r, _) = reconcile_now(c, conn.as_ref(), range, None, 3_600_000, &a.merge).await?;
                r.ok()
            }
            None => None,
        };
        let open = open_items(&facts, range, now(), a.open_ack_hours * 3_600_000, a.open_feedback_days * 86_400_000);
        let html = render_html(&ReportInput {
            ledger: &l,
            open: &open,
            reconciliation: reconciliation.as_ref(),
            generated: now(),
            prepared_by: &view,
            ack_threshold_ms: a.open_ack_hours * 3_600_000,
            feedback_days: a.open_feedback_days,
            lang,
        });
        tiprelay_client::files::write_private(path, html.as_bytes())
            .with_context(|| t!("ledger-cannot-write", "path" => path.display().to_string()))?;
        let verdict = match &reconciliation {
            Some(r) if r.discrepancies.is_empty() => t!("ledger-all-agree"),
            Some(r) => t!("ledger-discrepancies", "count" => r.discrepancies.len()),
            None => t!("ledger-report-not-run"),
        };
        eprintln!(
            "{}",
            t!("ledger-report-written", "path" => path.display().to_string(), "rows" => l.rows.len(),
               "open" => open.len(), "reconciliation" => verdict)
        );
    } else if a.json {
        println!("{}", l.to_json());
    } else if a.csv {
        print!("{}", l.to_csv());
    } else {
        print!("{}", l.to_table());
    }
    if let Some(conn) = conn {
        conn.close().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `ledger statement` does besides its period.
struct StatementOpts<'a> {
    yes: bool,
    to: Option<&'a str>,
    out: &'a Option<PathBuf>,
    send: bool,
    json: bool,
    merge: &'a [PathBuf],
}

async fn statement(c: &Client, of: &str, o: StatementOpts<'_>) -> Result<ExitCode> {
    let StatementOpts { yes, to, out, send, json, merge } = o;
    let range = Range::parse_period(of)?;
    let cp = counterpart(c, to)?;
    if out.is_none() && !send {
        bail!("{}", t!("ledger-statement-where"));
    }
    let conn = match sync(c).await {
        Ok(conn) => Some(conn),
        Err(e) if !send => {
            eprintln!(
                "tipctl: {}: {}",
                t!("warning"),
                t!("ledger-unreachable-statement", "reason" => format!("{e:#}"))
            );
            None
        }
        Err(e) => return Err(e),
    };
    let (facts, _) = local_facts(c, range, merge)?;
    if facts.is_empty() && !yes {
        if let Some(conn) = conn {
            conn.close().await;
        }
        bail!("{}", t!("statement-empty", "period" => of.to_owned()));
    }
    let created = now();
    let mut rnd = [0u8; 10];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rnd);
    let st = build_statement(
        &facts,
        c.cfg.jurisdiction,
        cp,
        range,
        c.principal().clone(),
        TipId::new_v7(created, rnd),
        created,
    );
    let envelope = c.sign_statement(&st)?;
    if let Some(path) = out {
        tiprelay_client::files::write_private(path, &envelope)
            .with_context(|| t!("ledger-cannot-write", "path" => path.display().to_string()))?;
    }
    let receipt = match (&conn, send) {
        (Some(conn), true) => Some(c.send_statement(conn, &envelope).await?),
        _ => None,
    };
    if let Some(conn) = conn {
        conn.close().await;
    }
    if json {
        let mut v = statement_json(&st);
        if let Some(o) = v.as_object_mut() {
            o.insert("file".into(), json!(out.as_ref().map(|p| p.display().to_string())));
            o.insert("receipt".into(), receipt.as_ref().map(tiprelay_client::output::receipt_json).unwrap_or_default());
        }
        println!("{v}");
    } else {
        let signed = Msg::new("ledger-statement-signed")
            .text("id", st.id)
            .text("by", &st.by)
            .text("start", st.period_start)
            .text("end", st.period_end)
            .number("count", st.tip_count)
            .text("digest", st.tips_digest.to_hex());
        println!("{}", signed.in_locale(i18n::locale()));
        if let Some(p) = out {
            println!("{}", t!("ledger-statement-file", "path" => p.display().to_string()));
        }
        if let Some(r) = receipt {
            println!(
                "{}",
                t!("ledger-statement-sent", "to" => cp.to_string(), "seq" => r.seq.to_string(),
                   "at" => r.accepted.to_string())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reconciliation over `range`; the inner error is a statement that cannot be used.
async fn reconcile(
    c: &Client,
    range: &RangeArgs,
    statement_file: Option<&PathBuf>,
    grace_ms: u64,
    merge: &[PathBuf],
) -> Result<(std::result::Result<Reconciliation, String>, Range)> {
    let file_statement = match statement_file {
        Some(p) => {
            let bytes =
                std::fs::read(p).with_context(|| t!("ledger-cannot-read", "path" => p.display().to_string()))?;
            match c.check_statement(&bytes) {
                Ok(s) => Some(s.statement),
                Err(e) => return Ok((Err(e.to_string()), Range::all())),
            }
        }
        None => None,
    };
    let r = match (&file_statement, range.given()) {
        (_, true) => range.range()?,
        (Some(s), false) => Range { start: s.period_start, end: s.period_end },
        (None, false) => {
            let p = month_key(now(), 0);
            eprintln!("{}", t!("reconcile-default-period", "period" => p.clone()));
            Range::parse_period(&p)?
        }
    };
    if let Some(s) = &file_statement {
        if s.period_start != r.start || s.period_end != r.end {
            return Ok((
                Err(t!("ledger-statement-other-period", "start" => s.period_start.to_string(),
                       "end" => s.period_end.to_string(), "from" => r.start.to_string(), "until" => r.end.to_string())),
                r,
            ));
        }
    }
    let conn = sync(c).await.with_context(|| t!("ledger-reconcile-needs-records"))?;
    let out = reconcile_now(c, Some(&conn), r, file_statement, grace_ms, merge).await;
    conn.close().await;
    out
}

async fn reconcile_now(
    c: &Client,
    conn: Option<&RelayConn>,
    r: Range,
    statement: Option<LedgerStatement>,
    grace_ms: u64,
    merge: &[PathBuf],
) -> Result<(std::result::Result<Reconciliation, String>, Range)> {
    let Some(conn) = conn else {
        bail!("{}", t!("ledger-reconcile-needs-relay"));
    };
    let me = c.cfg.jurisdiction;
    let (mine, authors) = local_facts(c, r, merge)?;
    let relay = c.relay_records(conn, r.start.as_unix_ms(), r.end.as_unix_ms()).await?;
    let scope = ReconcileScope {
        me,
        authors: &authors,
        range: r,
        now: now(),
        grace_ms,
        receives: c.principal().kind() == tiprelay_proto::PrincipalKind::Analyst,
    };
    let mut discrepancies = reconcile_with_relay(&scope, &mine, &relay);
    // The relay also holds tips of this jurisdiction's other principals (its feeds, other
    // analysts): say how many, so "agree" is not read as "the same count".
    let others = relay.iter().filter(|f| f.from == me && !authors.contains(&f.author)).count();
    let mut compared = vec![
        Msg::new("ledger-compared-local").text("authors", authors.join(" + ")).number("count", mine.len()),
        if others > 0 {
            Msg::new("ledger-compared-relay-others")
                .number("count", relay.len())
                .number("others", others)
                .text("me", me)
        } else {
            Msg::new("ledger-compared-relay").number("count", relay.len())
        },
    ];
    // Federation: this side's relay against the counterpart's, over the link.
    let counterpart = c.cfg.trust.iter().find_map(|t| match t.authority {
        tiprelay_proto::Authority::Jurisdiction(j) if j != me => Some(j),
        _ => None,
    });
    if let (true, Some(peer_j)) = (c.cfg.federated(), counterpart) {
        // A day's slack on each side: a tip accepted at home just before a boundary is
        // accepted across just after it (only what both sides' numbers span is compared).
        const SLACK_MS: u64 = 86_400_000;
        let since = r.start.as_unix_ms().saturating_sub(SLACK_MS);
        let until = r.end.as_unix_ms().saturating_add(SLACK_MS);
        // A tip or an ack landing at the peer between the two requests changes its counts:
        // asked once more before a difference is reported.
        let asked = async {
            let mut last = None;
            for _ in 0..2 {
                let st = c.peer_statement(conn, peer_j, since, until).await?;
                let records = c.peer_records(conn, since, until).await?;
                let unsigned = reconcile_statement(&st, &records);
                let agree = unsigned.is_empty();
                last = Some((records, unsigned));
                if agree {
                    break;
                }
            }
            last.ok_or_else(|| anyhow::anyhow!("{}", t!("ledger-no-answer")))
        };
        match asked.await {
            Ok((peer, unsigned)) => {
                // The records are the peer relay's own, signed: its statement of them agrees.
                let id = if unsigned.is_empty() { "ledger-compared-peer-signed" } else { "ledger-compared-peer" };
                compared.push(Msg::new(id).text("peer", peer_j).number("count", peer.len()));
                for d in unsigned {
                    discrepancies.push(Discrepancy::new(
                        d.tip,
                        "peer_records_unsigned",
                        Msg::new("ledger-diff-peer-unsigned").text("peer", peer_j).msg("detail", d.text),
                    ));
                }
                discrepancies.extend(reconcile_relays(&scope, (me, &relay), (peer_j, &peer)));
            }
            Err(e) => {
                compared.push(Msg::new("ledger-compared-peer-unavailable").text("peer", peer_j));
                discrepancies.push(Discrepancy::new(
                    None,
                    "peer_unavailable",
                    Msg::new("ledger-diff-peer-unavailable").text("peer", peer_j).text("reason", e),
                ));
            }
        }
    }
    // The counterpart's statement: the file given, else the latest received for exactly this period.
    let statement = match statement {
        Some(s) => Some(s),
        None => {
            let mut held: Vec<LedgerStatement> = c
                .store
                .statements()?
                .into_iter()
                .filter(|s| !s.own)
                .filter_map(|s| c.check_statement(&s.envelope).ok())
                .map(|s| s.statement)
                .filter(|s| s.period_start == r.start && s.period_end == r.end)
                .collect();
            held.sort_by_key(|s| s.created);
            held.pop()
        }
    };
    match &statement {
        Some(s) => {
            compared.push(
                Msg::new("ledger-compared-statement")
                    .text("side", s.jurisdiction)
                    .text("id", s.id)
                    .text("by", &s.by)
                    .number("count", s.tip_count),
            );
            discrepancies.extend(reconcile_statement(s, &relay));
        }
        None => compared.push(Msg::new("ledger-compared-none")),
    }
    Ok((Ok(Reconciliation { compared, discrepancies }), r))
}

/// A reconciliation as printed, in `l`: what was compared, then the verdict or a table of
/// differences (`kind` stays the machine-readable code `--json` carries).
fn reconciliation_text(r: &Reconciliation, l: Locale) -> String {
    let tr = |id: &str| i18n::tr_in(l, id, &[]);
    let list = r.compared.iter().map(|c| c.in_locale(l)).collect::<Vec<_>>().join("; ");
    let mut s = Msg::new("ledger-compared").text("list", list).in_locale(l) + "\n";
    if r.discrepancies.is_empty() {
        return s + &tr("ledger-all-agree") + "\n";
    }
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header(["ledger-col-tip", "ledger-col-kind", "ledger-col-difference"].map(tr));
    for d in &r.discrepancies {
        t.add_row([d.tip.map(|t| t.to_string()).unwrap_or_else(|| "-".into()), d.kind.to_owned(), d.text_in(l)]);
    }
    let count = Msg::new("ledger-discrepancies").number("count", r.discrepancies.len()).in_locale(l);
    s += &format!("{t}\n{count}\n");
    s
}

/// The month (`2026-11`) of `t` moved by `delta` months (UTC).
fn month_key(t: Timestamp, delta: i32) -> String {
    let secs = i64::try_from(t.as_unix_ms() / 1000).unwrap_or(0);
    let d = time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let months = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + delta;
    format!("{:04}-{:02}", months.div_euclid(12), months.rem_euclid(12) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_keys_step_across_years() {
        let t = Timestamp::from_unix_ms(1_767_225_600_000).unwrap(); // 2026-01-01T00:00:00Z
        assert_eq!(month_key(t, 0), "2026-01");
        assert_eq!(month_key(t, -1), "2025-12");
        assert_eq!(month_key(t, 12), "2027-01");
    }

    #[test]
    fn a_reconciliation_prints_in_spanish_and_keeps_english_json() {
        let tip = TipId::new_v7(Timestamp::from_unix_ms(1_767_225_600_000).unwrap(), [7; 10]);
        let r = Reconciliation {
            compared: vec![
                Msg::new("ledger-compared-local").text("authors", "tiprelay://MX/analyst/a-1").number("count", 2u64),
                Msg::new("ledger-compared-relay").number("count", 1u64),
                Msg::new("ledger-compared-none"),
            ],
            discrepancies: vec![Discrepancy::new(
                Some(tip),
                "not_accepted",
                Msg::new("ledger-diff-not-accepted").text("me", "MX").text("tip", tip).text("to", "US"),
            )],
        };
        let es = reconciliation_text(&r, Locale::Es);
        let compared = "se comparó: registros de tiprelay://MX/analyst/a-1 (2 avisos); registros del relé (1 aviso); \
                        no hay declaración de la contraparte para este periodo";
        assert!(es.starts_with(compared), "{es}");
        assert!(es.contains("diferencia") && es.contains("not_accepted"), "the kind stays a code: {es}");
        assert!(es.contains(&format!("MX dice que envió el aviso {tip} a US; el relé no tiene su recibo")), "{es}");
        assert!(es.ends_with("1 discrepancia\n"), "{es}");
        assert_eq!(
            i18n::tr_in(Locale::Es, "ledger-discrepancies", &[("count", i18n::FluentValue::from(3))]),
            "3 discrepancias"
        );
        let en = reconciliation_text(&r, Locale::En);
        assert!(
            en.starts_with("compared: tiprelay://MX/analyst/a-1 records (2 tips); relay records (1 tip); "),
            "{en}"
        );
        assert!(en.ends_with("1 discrepancy\n"), "{en}");
        let json = r.json();
        assert_eq!(json["compared"][2], "no counterpart statement for this period");
        assert_eq!(
            json["discrepancies"][0]["message"],
            format!("MX says it sent tip {tip} to US; the relay has no receipt for it").as_str()
        );
        let agree = Reconciliation {
            compared: vec![Msg::new("ledger-compared-relay").number("count", 0u64)],
            discrepancies: vec![],
        };
        assert_eq!(
            reconciliation_text(&agree, Locale::Es),
            "se comparó: registros del relé (0 avisos)\ntodas las vistas coinciden\n"
        );
        assert_eq!(reconciliation_text(&agree, Locale::En), "compared: relay records (0 tips)\nall views agree\n");
    }
}
