//! `tiprelay-demo`: a relay and two jurisdictions on this machine exchanging tips.
//!
//! A package of its own (not part of the relay library), because it drives clients too:
//! the relay does not depend on the client crate.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use tiprelay_certs::dev::{create, DevOptions};
use tiprelay_client::ledger::{
    aggregate, build_statement, reconcile_statement, reconcile_with_relay, Period, Range, ReconcileScope,
};
use tiprelay_client::{t, Client, ClientConfig, Draft, RelayConn};
use tiprelay_proto::{Category, InfoCredibility, Location, Outcome, SourceReliability, Tlp, Urgency};

use tiprelay::config::RelayConfig;
use tiprelay::server;

/// A step's heading: its number and what happens in it.
fn say(step: &str, text: &str) {
    println!("\n[{step}] {text}");
}

/// A step's detail, indented under it, one or more lines.
fn detail(text: &str) {
    for line in text.lines() {
        println!("    {line}");
    }
}

/// The milliseconds since `t`, with one decimal.
fn ms_since(t: Instant) -> String {
    format!("{:.1}", t.elapsed().as_secs_f64() * 1000.0)
}

/// A relay and two jurisdictions (MX and US) on this machine exchanging signed tips, with
/// receipts, acknowledgements, feedback, ledgers, reconciliation and the audit log.
#[derive(Debug, clap::Parser)]
#[command(name = "tiprelay-demo", version)]
struct Cli {
    /// Directory for the demo's PKI and stores (must not exist; default: a temporary one).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the temporary directory.
    #[arg(long)]
    keep: bool,
    /// Each jurisdiction runs its own relay, and the two relays peer across the border
    /// (PROTOCOL.md §14) instead of sharing one.
    #[arg(long)]
    federated: bool,
}

fn main() -> std::process::ExitCode {
    let cli: Cli = match tiprelay_client::i18n::parse_args("tiprelay-demo") {
        Ok(c) => c,
        Err(code) => return std::process::ExitCode::from(code),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .with_context(|| t!("demo-err-runtime"))
        .and_then(|rt| {
            if cli.federated {
                rt.block_on(run_federated(cli.dir, cli.keep))
            } else {
                rt.block_on(run(cli.dir, cli.keep))
            }
        });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "tiprelay-demo: {}: {}",
                t!("error"),
                tiprelay_client::localize::render_chain(e.chain(), &|_| None)
            );
            std::process::ExitCode::from(1)
        }
    }
}

/// Runs the demo in `dir` (or a temporary directory, removed unless `keep`).
async fn run(dir: Option<PathBuf>, keep: bool) -> Result<()> {
    let tmp = tempfile::Builder::new().prefix("tiprelay-demo-").tempdir().with_context(|| t!("demo-err-tempdir"))?;
    let base = dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let pki = base.join("pki");
    let socket = UdpSocket::bind("127.0.0.1:0").with_context(|| t!("demo-err-bind"))?;
    let addr = socket.local_addr()?;

    say("1/9", &t!("demo-step-pki"));
    create(&DevOptions {
        out: pki.clone(),
        jurisdictions: vec!["MX".parse()?, "US".parse()?],
        relay_addr: addr,
        force: false,
    })
    .with_context(|| t!("demo-err-fresh-dir", "dir" => pki.display().to_string()))?;
    detail(&t!("demo-pki-made", "dir" => pki.display().to_string()));

    say("2/9", &t!("demo-step-relay", "addr" => addr.to_string()));
    let relay_cfg = RelayConfig::load(&pki.join("relay.toml"))?;
    let relay_store = relay_cfg.store.clone();
    let relay = server::start(relay_cfg, Some(socket)).await?;

    let mx = Client::open(ClientConfig::load(&pki.join("MX/analyst.toml"))?)?;
    let us = Client::open(ClientConfig::load(&pki.join("US/analyst.toml"))?)?;
    let cmx = RelayConn::connect(&mx.cfg).await?;
    let cus = RelayConn::connect(&us.cfg).await?;
    detail(&t!("demo-connected", "mx" => mx.cfg.principal.to_string(), "us" => us.cfg.principal.to_string()));

    say("3/9", &t!("demo-step-mx-tip"));
    let draft = Draft {
        to: "US".parse()?,
        category: Category::ArmedGroupCrossing,
        urgency: Urgency::Flash,
        summary: "Grupo armado de ~20 personas en 3 camionetas se dirige al cruce de Palomas".into(),
        details: Some("Observado por patrulla estatal; armas largas visibles. Rumbo norte por la carretera 2.".into()),
        lang: None,
        location: Some(Location {
            lat: 31.7625,
            lon: -107.6225,
            radius_m: Some(2500),
            place: Some("Puerto Palomas".into()),
            sector: None,
            port_of_entry: Some("Columbus, NM".into()),
        }),
        observed_at: None,
        valid_until: None,
        source_reliability: Some(SourceReliability::B),
        info_credibility: Some(InfoCredibility::new(2)?),
        tlp: Tlp::Amber,
        refs: vec![],
    };
    let t0 = Instant::now();
    let (tip1, _) = mx.compose(draft)?;
    let sent1 = mx.send(&cmx, &tip1.id).await?;
    let receipt_ms = ms_since(t0);
    detail(&t!("demo-tip-sent", "id" => tip1.id.to_string(), "to" => "US", "tlp" => "TLP:AMBER", "urgency" => "flash"));
    detail(&t!(
        "demo-receipt",
        "seq" => sent1.receipt.seq,
        "accepted" => sent1.receipt.accepted.to_string(),
        "relay" => sent1.receipt.relay.to_string(),
        "ms" => receipt_ms,
    ));

    say("4/9", &t!("demo-step-us-fetches"));
    let got = us.sync_inbox(&cus).await?;
    let latency_ms = ms_since(t0);
    for g in &got {
        detail(&t!(
            "demo-received",
            "seq" => g.receipt.seq,
            "from" => g.tip.from.to_string(),
            "summary" => g.tip.summary.clone(),
        ));
        detail(&t!("demo-verified-signer", "signer" => g.signer.to_string()));
    }
    detail(&t!("demo-latency", "ms" => latency_ms));

    say("5/9", &t!("demo-step-us-tip"));
    let d2 = Draft {
        to: "MX".parse()?,
        category: Category::TunnelLocated,
        urgency: Urgency::Immediate,
        summary: "Tunnel entrance located in a warehouse 300 m north of the line, Nogales".into(),
        details: None,
        lang: None,
        location: Some(Location {
            lat: 31.3340,
            lon: -110.9400,
            radius_m: Some(300),
            place: Some("Nogales, AZ".into()),
            sector: Some("Tucson".into()),
            port_of_entry: None,
        }),
        observed_at: None,
        valid_until: None,
        source_reliability: Some(SourceReliability::A),
        info_credibility: Some(InfoCredibility::new(1)?),
        tlp: Tlp::AmberStrict,
        refs: vec![],
    };
    let t1 = Instant::now();
    let (tip2, _) = us.compose(d2)?;
    let sent2 = us.send(&cus, &tip2.id).await?;
    detail(&t!(
        "demo-tip-sent-receipt",
        "id" => tip2.id.to_string(),
        "to" => "MX",
        "tlp" => "TLP:AMBER+STRICT",
        "seq" => sent2.receipt.seq,
    ));
    for g in mx.sync_inbox(&cmx).await? {
        detail(&t!("demo-mx-received", "seq" => g.receipt.seq, "summary" => g.tip.summary.clone()));
        detail(&t!("demo-verified-acked", "signer" => g.signer.to_string(), "ms" => ms_since(t1)));
    }

    say("6/9", &t!("demo-step-acks"));
    let n1 = mx.sync_acks(&cmx).await?;
    let n2 = us.sync_acks(&cus).await?;
    for (who, c, id) in [("MX", &mx, tip1.id), ("US", &us, tip2.id)] {
        let rec = c.store.get_out(id.as_bytes())?.with_context(|| t!("demo-err-outbox-missing"))?;
        let by = rec.acked_by.unwrap_or_else(|| t!("demo-nobody-yet"));
        detail(&t!("demo-acked-by", "who" => who, "id" => id.to_string(), "by" => by));
    }
    let replay = mx.send(&cmx, &tip1.id).await?;
    detail(&t!(
        "demo-replay",
        "id" => tip1.id.to_string(),
        "duplicate" => replay.duplicate.to_string(),
        "seq" => replay.receipt.seq,
    ));
    if n1 != 1 || n2 != 1 || !replay.duplicate || replay.receipt.seq != sent1.receipt.seq || got.len() != 1 {
        anyhow::bail!(t!(
            "demo-err-unexpected",
            "mx" => n1,
            "us" => n2,
            "duplicate" => replay.duplicate.to_string(),
        ));
    }

    say("7/9", &t!("demo-step-feedback"));
    let (from, fb) = us.compose_feedback(&tip1.id, Outcome::UnderReview, Some("Patrulla desplegada".into()))?;
    us.send_feedback(&cus, &from, tip1.id.as_bytes(), fb).await?;
    let (from, fb) =
        us.compose_feedback(&tip1.id, Outcome::Interdicted, Some("Group turned back at the line".into()))?;
    let fb_receipt = us.send_feedback(&cus, &from, tip1.id.as_bytes(), fb).await?;
    detail(&t!(
        "demo-feedback-sent",
        "id" => tip1.id.to_string(),
        "first" => Outcome::UnderReview.as_str(),
        "then" => Outcome::Interdicted.as_str(),
        "seq" => fb_receipt.seq,
    ));
    let notices = mx.sync_notices(&cmx).await?;
    for f in &notices.feedback {
        detail(&t!("demo-feedback-received", "by" => f.by.to_string(), "outcome" => f.outcome.as_str()));
    }

    say("8/9", &t!("demo-step-ledgers"));
    let month = Range::parse_period(&Period::Month.key(tiprelay_client::client::now()))?;
    let (s0, s1) = (month.start.as_unix_ms(), month.end.as_unix_ms());
    for (who, c) in [("MX", &mx), ("US", &us)] {
        let l = aggregate(&c.cfg.principal.to_string(), &c.store.facts(s0, s1)?, Period::Month, month);
        detail(&t!("demo-ledger-of", "who" => who));
        for line in l.to_table().lines() {
            println!("      {line}");
        }
    }
    let db = tiprelay::storage::open_read_only(&relay_store)?;
    let rl = tiprelay::storage::ledger(&db, Period::Month, month)?;
    drop(db);
    let pairs = rl
        .pairs
        .iter()
        .map(|p| format!("{}→{} {}, {}→{} {}", p.a, p.b, p.a_to_b, p.b, p.a, p.b_to_a))
        .collect::<Vec<_>>()
        .join("; ");
    detail(&t!("demo-relay-ledger", "rows" => rl.rows.len(), "pairs" => pairs));
    let created = tiprelay_client::client::now();
    let st = build_statement(
        &us.store.facts(s0, s1)?,
        "US".parse()?,
        "MX".parse()?,
        month,
        us.cfg.principal.clone(),
        tiprelay_proto::TipId::new_v7(created, [7; 10]),
        created,
    );
    let env = us.sign_statement(&st)?;
    let st_receipt = us.send_statement(&cus, &env).await?;
    detail(&t!(
        "demo-statement-sent",
        "period" => Period::Month.key(created).to_string(),
        "count" => st.tip_count,
        "digest" => st.tips_digest.to_hex()[..16].to_owned(),
        "seq" => st_receipt.seq,
    ));
    let got_st = mx.sync_statements(&cmx).await?;
    let mine = mx.store.facts(s0, s1)?;
    let relay_view = mx.relay_records(&cmx, s0, s1).await?;
    let authors = vec![mx.cfg.principal.to_string()];
    let scope = ReconcileScope {
        me: "MX".parse()?,
        authors: &authors,
        range: month,
        now: tiprelay_client::client::now(),
        grace_ms: 3_600_000,
        receives: true,
    };
    let mut diffs = reconcile_with_relay(&scope, &mine, &relay_view);
    for s in &got_st {
        diffs.extend(reconcile_statement(&s.statement, &relay_view));
    }
    if diffs.is_empty() && got_st.len() == 1 {
        detail(&t!("demo-reconciled", "mine" => mine.len(), "relay" => relay_view.len()));
    } else {
        for d in &diffs {
            detail(&t!("demo-discrepancy", "kind" => d.kind.to_string(), "message" => d.message.to_string()));
        }
        anyhow::bail!(t!("demo-err-discrepancies", "count" => diffs.len()));
    }

    say("9/9", &t!("demo-step-audit"));
    let head = mx.check_log_fresh(&cmx, true, true).await?;
    let us_view = us.check_log(&cus, true).await?;
    let cp = head.checkpoint.with_context(|| t!("demo-err-no-checkpoint"))?;
    detail(&t!("demo-checkpoint", "size" => cp.size, "root" => cp.root.to_hex()[..16].to_owned()));
    if us_view.checkpoint.as_ref().map(|c| c.root) != Some(cp.root) {
        anyhow::bail!(t!("demo-err-different-checkpoints"));
    }
    let proven = mx.prove(&cmx, &tip1.id).await?;
    detail(&t!("demo-proved", "index" => proven.entry.index, "hashes" => proven.proof_len));
    let bundle = base.join("relay-audit.bundle");
    let header = tiprelay::audit::export(
        &RelayConfig::load(&pki.join("relay.toml"))?,
        tiprelay::storage::ExportRange::default(),
        &bundle,
    )?;
    let mut kinds: std::collections::BTreeMap<String, u64> = Default::default();
    let file = std::fs::File::open(&bundle)?;
    let report = tiprelay_proto::audit::verify_bundle(std::io::BufReader::new(file), Some(mx.trust()), |e| {
        *kinds.entry(e.kind.clone()).or_default() += 1;
    })
    .map_err(|e| anyhow::anyhow!(t!("demo-err-bundle-invalid", "reason" => e.to_string())))?;
    let cosigners = report.head().map(|h| h.cosigners.len()).unwrap_or(0);
    detail(&t!(
        "demo-exported",
        "count" => header.count,
        "checkpoints" => report.checkpoints.len(),
        "cosigners" => cosigners,
    ));
    let kinds = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ");
    detail(&t!("demo-entries", "kinds" => kinds));
    if cosigners < 2 {
        anyhow::bail!(t!("demo-err-not-cosigned"));
    }

    cmx.close().await;
    cus.close().await;
    relay.shutdown().await?;
    println!("\n{}", t!("demo-done"));
    if keep || dir.is_some() {
        let kept = if dir.is_some() { base } else { tmp.keep() };
        println!("{}", t!("demo-kept", "dir" => kept.display().to_string()));
    }
    Ok(())
}

/// Waits (at most 20 s) until `f` says done.
async fn until(what: &str, mut f: impl AsyncFnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while Instant::now() < deadline {
        if f().await? {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    anyhow::bail!(t!("demo-err-timeout", "what" => what, "seconds" => 20))
}

fn a_tip(to: &str, category: Category, summary: &str, lat: f64, lon: f64) -> Result<Draft> {
    Ok(Draft {
        to: to.parse()?,
        category,
        urgency: Urgency::Immediate,
        summary: summary.into(),
        details: None,
        lang: None,
        location: Some(Location { lat, lon, radius_m: Some(500), place: None, sector: None, port_of_entry: None }),
        observed_at: None,
        valid_until: None,
        source_reliability: Some(SourceReliability::B),
        info_credibility: Some(InfoCredibility::new(2)?),
        tlp: Tlp::Amber,
        refs: vec![],
    })
}

/// The federated demo: MX's relay and the US relay, each certified by its own jurisdiction,
/// peered; a tip through both, both receipts at the author, ack and feedback back, the link
/// cut and restored, each log verified, and the two relays' records reconciled.
async fn run_federated(dir: Option<PathBuf>, keep: bool) -> Result<()> {
    let tmp = tempfile::Builder::new().prefix("tiprelay-demo-").tempdir().with_context(|| t!("demo-err-tempdir"))?;
    let base = dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let pki = base.join("pki");
    let (smx, sus) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    let (amx, aus) = (smx.local_addr()?, sus.local_addr()?);

    say("1/8", &t!("demo-fed-step-pki"));
    tiprelay_certs::dev::create_federated(&tiprelay_certs::dev::FederatedOptions {
        out: pki.clone(),
        relays: [("MX".parse()?, amx), ("US".parse()?, aus)],
        force: false,
    })
    .with_context(|| t!("demo-err-fresh-dir", "dir" => pki.display().to_string()))?;
    detail(&t!(
        "demo-fed-pki-made",
        "mx" => "tiprelay://MX/relay/mx",
        "us" => "tiprelay://US/relay/us",
        "dir" => pki.display().to_string(),
    ));

    say("2/8", &t!("demo-fed-step-relays", "mx" => amx.to_string(), "us" => aus.to_string()));
    let rt_mx = pki.join("MX/relay.toml");
    let rt_us = pki.join("US/relay.toml");
    // The US relay first, so that MX's relay finds its peer listening at its first dial.
    let mut relay_us = Some(server::start(RelayConfig::load(&rt_us)?, Some(sus)).await?);
    let relay_mx = server::start(RelayConfig::load(&rt_mx)?, Some(smx)).await?;
    let mx = Client::open(ClientConfig::load(&pki.join("MX/analyst.toml"))?)?;
    let us = Client::open(ClientConfig::load(&pki.join("US/analyst.toml"))?)?;
    let cmx = RelayConn::connect(&mx.cfg).await?;
    let mut cus = RelayConn::connect(&us.cfg).await?;
    detail(&t!("demo-fed-connected", "mx" => mx.cfg.principal.to_string(), "us" => us.cfg.principal.to_string()));

    say("3/8", &t!("demo-fed-step-mx-tip"));
    let t0 = Instant::now();
    let (tip1, _) = mx.compose(a_tip(
        "US",
        Category::ArmedGroupCrossing,
        "Grupo armado de ~20 personas se dirige al cruce de Palomas",
        31.7625,
        -107.6225,
    )?)?;
    let sent1 = mx.send(&cmx, &tip1.id).await?;
    detail(&t!("demo-fed-home-receipt", "seq" => sent1.receipt.seq, "relay" => sent1.receipt.relay.to_string()));

    say("4/8", &t!("demo-fed-step-crosses"));
    let mut got = Vec::new();
    until(&t!("demo-fed-wait-tip"), async || {
        got.extend(us.sync_inbox(&cus).await?);
        Ok(!got.is_empty())
    })
    .await?;
    for g in &got {
        detail(&t!(
            "demo-fed-us-received",
            "seq" => g.receipt.seq,
            "from" => g.tip.from.to_string(),
            "ms" => format!("{:.0}", t0.elapsed().as_secs_f64() * 1000.0),
            "relay" => g.receipt.relay.to_string(),
            "signer" => g.signer.to_string(),
        ));
    }
    until(&t!("demo-fed-wait-receipts"), async || {
        mx.sync_notices(&cmx).await?;
        let r = mx.store.get_out(tip1.id.as_bytes())?.with_context(|| t!("demo-err-outbox-missing"))?;
        Ok(r.across.is_some() && r.ack.is_some())
    })
    .await?;
    let out = mx.store.get_out(tip1.id.as_bytes())?.with_context(|| t!("demo-err-outbox-missing"))?;
    let across = tiprelay_proto::parse::<tiprelay_proto::Receipt>(out.across.as_deref().unwrap_or_default())?.message;
    detail(&t!(
        "demo-fed-both-receipts",
        "home-seq" => sent1.receipt.seq,
        "home" => sent1.receipt.relay.to_string(),
        "across-seq" => across.seq,
        "across" => across.relay.to_string(),
        "by" => out.acked_by.unwrap_or_else(|| "?".to_owned()),
    ));

    say("5/8", &t!("demo-fed-step-feedback"));
    let (from, fb) =
        us.compose_feedback(&tip1.id, Outcome::Interdicted, Some("Group turned back at the line".into()))?;
    us.send_feedback(&cus, &from, tip1.id.as_bytes(), fb).await?;
    let mut fbs = Vec::new();
    until(&t!("demo-fed-wait-feedback"), async || {
        fbs.extend(mx.sync_notices(&cmx).await?.feedback);
        Ok(!fbs.is_empty())
    })
    .await?;
    for f in fbs.iter().take(1) {
        detail(&t!("demo-feedback-received", "by" => f.by.to_string(), "outcome" => f.outcome.as_str()));
    }

    say("6/8", &t!("demo-fed-step-cut"));
    cus.close().await;
    if let Some(r) = relay_us.take() {
        r.shutdown().await?;
    }
    let (tip2, _) =
        mx.compose(a_tip("US", Category::TunnelLocated, "Túnel en bodega al norte de la línea", 31.334, -110.94)?)?;
    let sent2 = mx.send(&cmx, &tip2.id).await?;
    let home: tiprelay_proto::Jurisdiction = "MX".parse()?;
    let peer: tiprelay_proto::Jurisdiction = "US".parse()?;
    let queued = {
        let db = tiprelay::storage::open_read_only(&RelayConfig::load(&rt_mx)?.store)?;
        tiprelay::storage::link_status(&db, home, peer)?
    };
    detail(&t!(
        "demo-fed-queued",
        "id" => tip2.id.to_string(),
        "seq" => sent2.receipt.seq,
        "count" => queued.tips_queued,
    ));
    let mut socket = UdpSocket::bind(aus);
    for _ in 0..50 {
        if socket.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        socket = UdpSocket::bind(aus);
    }
    let socket = socket.with_context(|| t!("demo-fed-err-port"))?;
    relay_us = Some(server::start(RelayConfig::load(&rt_us)?, Some(socket)).await?);
    cus = RelayConn::connect(&us.cfg).await?;
    until(&t!("demo-fed-wait-drain"), async || Ok(us.sync_inbox(&cus).await?.iter().any(|g| g.tip.id == tip2.id)))
        .await?;
    detail(&t!("demo-fed-drained", "seq" => sent2.receipt.seq));

    say("7/8", &t!("demo-fed-step-ledgers"));
    until(&t!("demo-fed-wait-last"), async || {
        mx.sync_notices(&cmx).await?;
        Ok(mx.store.outbox()?.iter().all(|(_, r)| r.across.is_some() && r.ack.is_some()))
    })
    .await?;
    let mx_view = mx.relay_records(&cmx, 0, u64::MAX).await?;
    let us_view = us.relay_records(&cus, 0, u64::MAX).await?;
    let key = |f: &tiprelay_proto::TipFacts| (f.from, f.id, f.seq, f.acked.is_some());
    let same = mx_view.iter().map(key).collect::<std::collections::BTreeSet<_>>()
        == us_view.iter().map(key).collect::<std::collections::BTreeSet<_>>();
    let mut diffs = Vec::new();
    for (c, view) in [(&mx, &mx_view), (&us, &us_view)] {
        let authors = vec![c.cfg.principal.to_string()];
        let scope = ReconcileScope {
            me: c.cfg.jurisdiction,
            authors: &authors,
            range: Range::all(),
            now: tiprelay_client::client::now(),
            grace_ms: 3_600_000,
            receives: true,
        };
        diffs.extend(reconcile_with_relay(&scope, &c.store.facts(0, u64::MAX)?, view));
    }
    if !same || !diffs.is_empty() {
        for d in &diffs {
            detail(&t!("demo-discrepancy", "kind" => d.kind.to_string(), "message" => d.message.to_string()));
        }
        anyhow::bail!(t!("demo-fed-err-disagree"));
    }
    detail(&t!("demo-fed-agree", "count" => mx_view.len()));

    say("8/8", &t!("demo-fed-step-audit"));
    for (who, c, conn, rt, other) in
        [("MX", &mx, &cmx, &rt_mx, "tiprelay://US/relay/us"), ("US", &us, &cus, &rt_us, "tiprelay://MX/relay/mx")]
    {
        until(&t!("demo-fed-wait-cosign"), async || {
            Ok(c.check_log(conn, false).await?.cosigners.iter().any(|w| w == other))
        })
        .await?;
        let head = c.check_log(conn, true).await?;
        if !head.cosigners.iter().any(|w| w == other) {
            anyhow::bail!(t!("demo-fed-err-not-cosigned", "who" => who, "other" => other));
        }
        let cp = head.checkpoint.with_context(|| t!("demo-err-no-checkpoint"))?;
        let bundle = base.join(format!("{who}-relay-audit.bundle"));
        let header =
            tiprelay::audit::export(&RelayConfig::load(rt)?, tiprelay::storage::ExportRange::default(), &bundle)?;
        let mut kinds: std::collections::BTreeMap<String, u64> = Default::default();
        let file = std::fs::File::open(&bundle)?;
        tiprelay_proto::audit::verify_bundle(std::io::BufReader::new(file), Some(c.trust()), |e| {
            *kinds.entry(e.kind.clone()).or_default() += 1;
        })
        .map_err(|e| anyhow::anyhow!(t!("demo-fed-err-bundle-invalid", "who" => who, "reason" => e.to_string())))?;
        detail(&t!(
            "demo-fed-audit",
            "who" => who,
            "size" => cp.size,
            "other" => other,
            "analyst" => c.cfg.principal.to_string(),
            "count" => header.count,
            "kinds" => kinds.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", "),
        ));
    }

    cmx.close().await;
    cus.close().await;
    relay_mx.shutdown().await?;
    if let Some(r) = relay_us {
        r.shutdown().await?;
    }
    println!("\n{}", t!("demo-fed-done"));
    if keep || dir.is_some() {
        let kept = if dir.is_some() { base } else { tmp.keep() };
        println!("{}", t!("demo-fed-kept", "dir" => kept.display().to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_has_its_spanish_help() {
        let missing = tiprelay_client::i18n::missing_spanish_help(&<Cli as clap::CommandFactory>::command());
        assert!(missing.is_empty(), "add to common/locales/es/demo.ftl:\n{}", missing.join("\n"));
    }
}
