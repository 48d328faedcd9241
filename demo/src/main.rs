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
use tiprelay_client::{Client, ClientConfig, Draft, RelayConn};
use tiprelay_proto::{Category, InfoCredibility, Location, Outcome, SourceReliability, Tlp, Urgency};

use tiprelay::config::RelayConfig;
use tiprelay::server;

fn say(step: &str, text: &str) {
    println!("\n[{step}] {text}");
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
    let cli = <Cli as clap::Parser>::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
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
            eprintln!("tiprelay-demo: {}: {e:#}", tiprelay_client::t!("error"));
            std::process::ExitCode::from(1)
        }
    }
}

/// Runs the demo in `dir` (or a temporary directory, removed unless `keep`).
async fn run(dir: Option<PathBuf>, keep: bool) -> Result<()> {
    let tmp =
        tempfile::Builder::new().prefix("tiprelay-demo-").tempdir().context("cannot create a temporary directory")?;
    let base = dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let pki = base.join("pki");
    let socket = UdpSocket::bind("127.0.0.1:0").context("cannot bind a loopback UDP port")?;
    let addr = socket.local_addr()?;

    say("1/9", "Each jurisdiction creates its own root CA; the relay operator creates its own.");
    create(&DevOptions {
        out: pki.clone(),
        jurisdictions: vec!["MX".parse()?, "US".parse()?],
        relay_addr: addr,
        force: false,
    })
    .with_context(|| format!("the demo needs a fresh directory: {} must not exist yet", pki.display()))?;
    println!("    MX root CA, US root CA, relay operator CA, CRLs, and for each side an analyst and a feed");
    println!("    (TLS and signing certificates with separate keys) in {}", pki.display());

    say("2/9", &format!("The relay starts on {addr} (QUIC, TLS 1.3, mutual TLS, ALPN tiprelay/1)."));
    let relay_cfg = RelayConfig::load(&pki.join("relay.toml"))?;
    let relay_store = relay_cfg.store.clone();
    let relay = server::start(relay_cfg, Some(socket)).await?;

    let mx = Client::open(ClientConfig::load(&pki.join("MX/analyst.toml"))?)?;
    let us = Client::open(ClientConfig::load(&pki.join("US/analyst.toml"))?)?;
    let cmx = RelayConn::connect(&mx.cfg).await?;
    let cus = RelayConn::connect(&us.cfg).await?;
    println!("    {} and {} connected and authenticated", mx.cfg.principal, us.cfg.principal);

    say("3/9", "MX analyst reports an armed group about to cross (signed, written to the outbox, then sent).");
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
    let receipt_ms = t0.elapsed().as_secs_f64() * 1000.0;
    println!("    tip {} → US, TLP:AMBER, flash", tip1.id);
    println!(
        "    receipt: seq {} (MX→US), accepted {}, signed by {} — verified in {receipt_ms:.1} ms",
        sent1.receipt.seq, sent1.receipt.accepted, sent1.receipt.relay
    );

    say(
        "4/9",
        "US analyst fetches, verifies the author's signature itself (no trust in the relay), stores, acknowledges.",
    );
    let got = us.sync_inbox(&cus).await?;
    let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
    for g in &got {
        println!("    received seq {} from {}: \"{}\"", g.receipt.seq, g.tip.from, g.tip.summary);
        println!("    verified signer: {} (chain to the MX root CA, not revoked); acknowledged", g.signer);
    }
    println!("    end-to-end latency (compose → verified and stored in US): {latency_ms:.1} ms");

    say("5/9", "US analyst reports a tunnel located near Nogales, to MX.");
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
    println!("    tip {} → MX, TLP:AMBER+STRICT, receipt seq {} (US→MX)", tip2.id, sent2.receipt.seq);
    for g in mx.sync_inbox(&cmx).await? {
        println!("    MX received seq {}: \"{}\"", g.receipt.seq, g.tip.summary);
        println!(
            "    verified signer: {}; acknowledged ({:.1} ms after compose)",
            g.signer,
            t1.elapsed().as_secs_f64() * 1000.0
        );
    }

    say("6/9", "Each author collects the counterpart's signed acknowledgement; a replay is answered with the original receipt.");
    let n1 = mx.sync_acks(&cmx).await?;
    let n2 = us.sync_acks(&cus).await?;
    for (who, c, id) in [("MX", &mx, tip1.id), ("US", &us, tip2.id)] {
        let rec = c.store.get_out(id.as_bytes())?.context("outbox entry missing")?;
        println!("    {who}: tip {id} acknowledged by {}", rec.acked_by.as_deref().unwrap_or("(nobody yet)"));
    }
    let replay = mx.send(&cmx, &tip1.id).await?;
    println!(
        "    MX re-sends tip {}: duplicate={}, same receipt seq {}",
        tip1.id, replay.duplicate, replay.receipt.seq
    );
    if n1 != 1 || n2 != 1 || !replay.duplicate || replay.receipt.seq != sent1.receipt.seq || got.len() != 1 {
        anyhow::bail!("the demo did not see what it expected (acks {n1}/{n2}, replay duplicate {})", replay.duplicate);
    }

    say("7/9", "US reports what came of the MX tip: signed feedback, relayed to its author with a receipt.");
    let (from, fb) = us.compose_feedback(&tip1.id, Outcome::UnderReview, Some("Patrulla desplegada".into()))?;
    us.send_feedback(&cus, &from, tip1.id.as_bytes(), fb).await?;
    let (from, fb) =
        us.compose_feedback(&tip1.id, Outcome::Interdicted, Some("Group turned back at the line".into()))?;
    let fb_receipt = us.send_feedback(&cus, &from, tip1.id.as_bytes(), fb).await?;
    println!("    US feedback on {}: under_review, then interdicted (receipt seq {})", tip1.id, fb_receipt.seq);
    let notices = mx.sync_notices(&cmx).await?;
    for f in &notices.feedback {
        println!("    MX received verified feedback from {}: {}", f.by, f.outcome.as_str());
    }

    say("8/9", "Reciprocity: each side's ledger from its own records, the relay's from its commits, statements, reconciliation.");
    let month = Range::parse_period(&Period::Month.key(tiprelay_client::client::now()))?;
    let (s0, s1) = (month.start.as_unix_ms(), month.end.as_unix_ms());
    for (who, c) in [("MX", &mx), ("US", &us)] {
        let l = aggregate(&c.cfg.principal.to_string(), &c.store.facts(s0, s1)?, Period::Month, month);
        println!("    {who} ledger:");
        for line in l.to_table().lines() {
            println!("      {line}");
        }
    }
    let db = tiprelay::storage::open_read_only(&relay_store)?;
    let rl = tiprelay::storage::ledger(&db, Period::Month, month)?;
    drop(db);
    println!(
        "    relay ledger (read-only while it runs): {} rows; {}",
        rl.rows.len(),
        rl.pairs
            .iter()
            .map(|p| format!("{}→{} {}, {}→{} {}", p.a, p.b, p.a_to_b, p.b, p.a, p.b_to_a))
            .collect::<Vec<_>>()
            .join("; ")
    );
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
    println!(
        "    US signs its statement for {}: {} tips, digest {}…; sent through the relay (receipt seq {})",
        Period::Month.key(created),
        st.tip_count,
        &st.tips_digest.to_hex()[..16],
        st_receipt.seq
    );
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
        println!(
            "    MX reconciles its records ({} tips), the relay's ({}) and US's signed statement: all agree",
            mine.len(),
            relay_view.len()
        );
    } else {
        for d in &diffs {
            println!("    DISCREPANCY {}: {}", d.kind, d.message);
        }
        anyhow::bail!("reconciliation found {} discrepancies", diffs.len());
    }

    say(
        "9/9",
        "Audit: both sides verify the relay's signed log head extends what they saw and cosign it; a reviewer verifies the log offline.",
    );
    let head = mx.check_log_fresh(&cmx, true, true).await?;
    let us_view = us.check_log(&cus, true).await?;
    let cp = head.checkpoint.context("the relay signed no checkpoint")?;
    println!("    relay checkpoint: {} entries, root {}…, cosigned by MX and US", cp.size, &cp.root.to_hex()[..16]);
    if us_view.checkpoint.as_ref().map(|c| c.root) != Some(cp.root) {
        anyhow::bail!("MX and US were shown different checkpoints");
    }
    let proven = mx.prove(&cmx, &tip1.id).await?;
    println!(
        "    MX proves its tip's acceptance is entry {} of that log ({} hashes, RFC 9162 inclusion proof)",
        proven.entry.index, proven.proof_len
    );
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
    .map_err(|e| anyhow::anyhow!("the exported audit bundle does not verify: {e}"))?;
    let cosigners = report.head().map(|h| h.cosigners.len()).unwrap_or(0);
    println!(
        "    exported {} entries and {} signed checkpoint(s); verified offline: VALID, head cosigned by {cosigners} jurisdictions",
        header.count,
        report.checkpoints.len()
    );
    println!("    entries: {}", kinds.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", "));
    if cosigners < 2 {
        anyhow::bail!("the log head is not cosigned by both jurisdictions");
    }

    cmx.close().await;
    cus.close().await;
    relay.shutdown().await?;
    println!("\nDone: 2 tips exchanged, both verified end to end, both receipted and acknowledged;");
    println!("feedback relayed; ledgers on both sides and at the relay agree, and US's signed statement reconciles;");
    println!("the relay's audit log verifies offline, with a head both jurisdictions cosigned.");
    if keep || dir.is_some() {
        let kept = if dir.is_some() { base } else { tmp.keep() };
        println!("Kept {}: try `tipctl --config {}/pki/US/analyst.toml inbox` after `tiprelay serve --config {}/pki/relay.toml`.", kept.display(), kept.display(), kept.display());
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
    anyhow::bail!("{what}: not within 20 s")
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
    let tmp =
        tempfile::Builder::new().prefix("tiprelay-demo-").tempdir().context("cannot create a temporary directory")?;
    let base = dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let pki = base.join("pki");
    let (smx, sus) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    let (amx, aus) = (smx.local_addr()?, sus.local_addr()?);

    say("1/8", "Each jurisdiction creates its root CA, and with it its own relay's certificates: no third party.");
    tiprelay_certs::dev::create_federated(&tiprelay_certs::dev::FederatedOptions {
        out: pki.clone(),
        relays: [("MX".parse()?, amx), ("US".parse()?, aus)],
        force: false,
    })
    .with_context(|| format!("the demo needs a fresh directory: {} must not exist yet", pki.display()))?;
    println!(
        "    tiprelay://MX/relay/mx (MX root) and tiprelay://US/relay/us (US root), principals, configs in {}",
        pki.display()
    );

    say("2/8", &format!("MX's relay starts on {amx}, the US relay on {aus}; they peer over one UDP port each."));
    let rt_mx = pki.join("MX/relay.toml");
    let rt_us = pki.join("US/relay.toml");
    // The US relay first, so that MX's relay finds its peer listening at its first dial.
    let mut relay_us = Some(server::start(RelayConfig::load(&rt_us)?, Some(sus)).await?);
    let relay_mx = server::start(RelayConfig::load(&rt_mx)?, Some(smx)).await?;
    let mx = Client::open(ClientConfig::load(&pki.join("MX/analyst.toml"))?)?;
    let us = Client::open(ClientConfig::load(&pki.join("US/analyst.toml"))?)?;
    let cmx = RelayConn::connect(&mx.cfg).await?;
    let mut cus = RelayConn::connect(&us.cfg).await?;
    println!("    {} connected to MX's relay, {} to the US relay", mx.cfg.principal, us.cfg.principal);

    say("3/8", "MX analyst reports an armed group about to cross: accepted at home by MX's relay.");
    let t0 = Instant::now();
    let (tip1, _) = mx.compose(a_tip(
        "US",
        Category::ArmedGroupCrossing,
        "Grupo armado de ~20 personas se dirige al cruce de Palomas",
        31.7625,
        -107.6225,
    )?)?;
    let sent1 = mx.send(&cmx, &tip1.id).await?;
    println!("    home receipt: seq {} signed by {}", sent1.receipt.seq, sent1.receipt.relay);

    say("4/8", "It crosses the link: the US relay verifies author and home receipt itself, stores it, receipts it; the US analyst verifies and acknowledges.");
    let mut got = Vec::new();
    until("the tip reaches the US analyst", async || {
        got.extend(us.sync_inbox(&cus).await?);
        Ok(!got.is_empty())
    })
    .await?;
    for g in &got {
        println!(
            "    US received seq {} from {} ({:.0} ms after compose), receipted by {}; signer {} verified; acknowledged",
            g.receipt.seq,
            g.tip.from,
            t0.elapsed().as_secs_f64() * 1000.0,
            g.receipt.relay,
            g.signer
        );
    }
    until("both receipts and the ack reach the author", async || {
        mx.sync_notices(&cmx).await?;
        let r = mx.store.get_out(tip1.id.as_bytes())?.context("outbox entry missing")?;
        Ok(r.across.is_some() && r.ack.is_some())
    })
    .await?;
    let out = mx.store.get_out(tip1.id.as_bytes())?.context("outbox entry missing")?;
    let across = tiprelay_proto::parse::<tiprelay_proto::Receipt>(out.across.as_deref().unwrap_or_default())?.message;
    println!(
        "    MX holds both receipts: seq {} by {} (home) and seq {} by {} (across); acknowledged by {}",
        sent1.receipt.seq,
        sent1.receipt.relay,
        across.seq,
        across.relay,
        out.acked_by.as_deref().unwrap_or("?")
    );

    say("5/8", "US reports what came of it: signed feedback crosses back to its author.");
    let (from, fb) =
        us.compose_feedback(&tip1.id, Outcome::Interdicted, Some("Group turned back at the line".into()))?;
    us.send_feedback(&cus, &from, tip1.id.as_bytes(), fb).await?;
    let mut fbs = Vec::new();
    until("the feedback reaches MX", async || {
        fbs.extend(mx.sync_notices(&cmx).await?.feedback);
        Ok(!fbs.is_empty())
    })
    .await?;
    println!("    MX received verified feedback from {}: {}", fbs[0].by, fbs[0].outcome.as_str());

    say(
        "6/8",
        "The link is cut (the US relay stops): MX keeps accepting; the tip waits, accepted at home, not yet across.",
    );
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
    println!(
        "    MX tip {} receipted at home (seq {}); MX's relay: {} tip(s) queued for the link",
        tip2.id, sent2.receipt.seq, queued.tips_queued
    );
    let mut socket = UdpSocket::bind(aus);
    for _ in 0..50 {
        if socket.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        socket = UdpSocket::bind(aus);
    }
    let socket = socket.context("the US relay's port did not free up")?;
    relay_us = Some(server::start(RelayConfig::load(&rt_us)?, Some(socket)).await?);
    cus = RelayConn::connect(&us.cfg).await?;
    until("the queued tip crosses once the link is back", async || {
        Ok(us.sync_inbox(&cus).await?.iter().any(|g| g.tip.id == tip2.id))
    })
    .await?;
    println!(
        "    the US relay is back: the link drains in order; US received seq {} and acknowledged it",
        sent2.receipt.seq
    );

    say("7/8", "Each relay keeps its own ledger: both relays' records agree tip by tip, and each side reconciles with its own relay.");
    until("the last receipts cross back", async || {
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
            println!("    DISCREPANCY {}: {}", d.kind, d.message);
        }
        anyhow::bail!("the records do not agree");
    }
    println!(
        "    MX's relay and the US relay each hold {} tips with the same numbers, all acknowledged; MX and US agree with their relays",
        mx_view.len()
    );

    say(
        "8/8",
        "Audit on both ends: each relay witnesses (cosigns) the other's log over the link, each side's analyst its own \
         relay's; each log exports and verifies offline.",
    );
    for (who, c, conn, rt, other) in
        [("MX", &mx, &cmx, &rt_mx, "tiprelay://US/relay/us"), ("US", &us, &cus, &rt_us, "tiprelay://MX/relay/mx")]
    {
        until("the other relay cosigns this relay's newest checkpoint", async || {
            Ok(c.check_log(conn, false).await?.cosigners.iter().any(|w| w == other))
        })
        .await?;
        let head = c.check_log(conn, true).await?;
        if !head.cosigners.iter().any(|w| w == other) {
            anyhow::bail!("{who}'s relay's newest checkpoint is not cosigned by {other}");
        }
        let cp = head.checkpoint.context("the relay signed no checkpoint")?;
        let bundle = base.join(format!("{who}-relay-audit.bundle"));
        let header =
            tiprelay::audit::export(&RelayConfig::load(rt)?, tiprelay::storage::ExportRange::default(), &bundle)?;
        let mut kinds: std::collections::BTreeMap<String, u64> = Default::default();
        let file = std::fs::File::open(&bundle)?;
        tiprelay_proto::audit::verify_bundle(std::io::BufReader::new(file), Some(c.trust()), |e| {
            *kinds.entry(e.kind.clone()).or_default() += 1;
        })
        .map_err(|e| anyhow::anyhow!("{who}'s relay audit bundle does not verify: {e}"))?;
        println!(
            "    {who}'s relay: checkpoint of {} entries cosigned by {other} and {}; {} entries exported, VALID offline ({})",
            cp.size,
            c.cfg.principal,
            header.count,
            kinds.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
        );
    }

    cmx.close().await;
    cus.close().await;
    relay_mx.shutdown().await?;
    if let Some(r) = relay_us {
        r.shutdown().await?;
    }
    println!("\nDone: each side's tips crossed the border exactly once through both relays, with both receipts at the");
    println!("author; ack and feedback came back; a cut link only delayed a tip; both relays' records agree.");
    if keep || dir.is_some() {
        let kept = if dir.is_some() { base } else { tmp.keep() };
        println!(
            "Kept {}: `tiprelay serve --config {0}/pki/MX/relay.toml` and `… {0}/pki/US/relay.toml`, then `tipctl --config {0}/pki/MX/analyst.toml status`.",
            kept.display()
        );
    }
    Ok(())
}
