//! Federation (PROTOCOL §14): each jurisdiction's own relay, the two peered across the
//! border. Real relays on 127.0.0.1 (each with its own store), real clients, real QUIC.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::crash::{exchange_among, free_udp_port, wait_ready};
use crate::rejections::refused_at_connect;
use tiprelay::config::RelayConfig;
use tiprelay::server;
use tiprelay_client::{Client, ClientConfig};
use tiprelay_proto::{Outcome, PrincipalKind, Receipt};

/// Two federated relays in this process, each on a socket it holds.
struct Pair {
    dir: tempfile::TempDir,
    relays: Vec<server::RelayHandle>,
}

impl Pair {
    async fn start() -> Pair {
        let dir = tempfile::tempdir().unwrap();
        let (smx, sus) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
        let rts = make_federated_pki(dir.path(), smx.local_addr().unwrap(), sus.local_addr().unwrap());
        let mut relays = Vec::new();
        for (rt, s) in rts.iter().zip([smx, sus]) {
            relays.push(server::start(RelayConfig::load(rt).unwrap(), Some(s)).await.unwrap());
        }
        Pair { dir, relays }
    }

    fn config(&self, j: &str, kind: &str) -> std::path::PathBuf {
        self.dir.path().join("pki").join(j).join(format!("{kind}.toml"))
    }

    fn client(&self, j: &str, kind: &str) -> Client {
        Client::open(ClientConfig::load(&self.config(j, kind)).unwrap()).unwrap()
    }

    async fn stop(self) {
        for r in self.relays {
            r.shutdown().await.unwrap();
        }
    }
}

/// Waits (bounded) until `f` holds.
async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 20 s");
}

fn receipt(bytes: &[u8]) -> Receipt {
    tiprelay_proto::parse::<Receipt>(bytes).unwrap().message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mx_tip_reaches_the_us_analyst_through_both_relays_with_both_receipts_and_answers_cross_back() {
    let p = Pair::start().await;
    let (mx, us) = (p.client("MX", "analyst"), p.client("US", "analyst"));
    assert_eq!(mx.cfg.relay_addr, p.relays[0].local_addr(), "MX's principals use MX's relay");
    assert_eq!(us.cfg.relay_addr, p.relays[1].local_addr(), "US principals use the US relay");
    let (cm, cu) = (connect(&mx).await, connect(&us).await);

    // MX → MX's relay: accepted at home, receipted by MX's relay.
    let (tip, _) = mx.compose(draft("US", "tunnel under the fence")).unwrap();
    let sent = mx.send(&cm, &tip.id).await.unwrap();
    let home = receipt(mx.store.get_out(tip.id.as_bytes()).unwrap().unwrap().receipt.as_deref().unwrap());
    assert_eq!((home.relay.to_string().as_str(), home.seq), ("tiprelay://MX/relay/mx", 1));
    assert_eq!(sent.receipt.seq, 1);

    // → the US relay → the US analyst: verified, receipted there with the same number.
    let mut got = Vec::new();
    eventually("the tip reaches the US analyst", async || {
        got.extend(us.sync_inbox(&cu).await.unwrap());
        !got.is_empty()
    })
    .await;
    assert_eq!((got.len(), got[0].tip.id, got[0].fresh), (1, tip.id, true));
    let (_, _, rec) = us.store.inbox().unwrap().into_iter().next().unwrap();
    let there = receipt(&rec.receipt);
    assert_eq!((there.relay.to_string().as_str(), there.seq), ("tiprelay://US/relay/us", 1));

    // Both receipts at the author: the US relay's crossed back, then the US analyst's ack.
    eventually("the crossed receipt and the ack reach the author", async || {
        mx.sync_notices(&cm).await.unwrap();
        let r = mx.store.get_out(tip.id.as_bytes()).unwrap().unwrap();
        r.across.is_some() && r.ack.is_some()
    })
    .await;
    let out = mx.store.get_out(tip.id.as_bytes()).unwrap().unwrap();
    let across = receipt(out.across.as_deref().unwrap());
    assert_eq!((across.relay, across.seq, across.digest), (there.relay.clone(), 1, home.digest));
    assert_eq!(out.acked_by.as_deref(), Some("tiprelay://US/analyst/analyst-1"));

    // The other way: a US tip, and MX's feedback on it back to the US author.
    let (tip2, _) = us.compose(draft("MX", "rifles southbound")).unwrap();
    us.send(&cu, &tip2.id).await.unwrap();
    eventually("the US tip reaches MX", async || !mx.sync_inbox(&cm).await.unwrap().is_empty()).await;
    let (from, fb) = mx.compose_feedback(&tip2.id, Outcome::Seizure, Some("seized".into())).unwrap();
    mx.send_feedback(&cm, &from, tip2.id.as_bytes(), fb).await.unwrap();
    eventually("MX's feedback reaches the US author", async || {
        us.sync_notices(&cu).await.unwrap().feedback.iter().any(|f| f.tip == tip2.id)
    })
    .await;

    // Each relay witnesses the other's log: the newest checkpoint each side's analyst sees
    // of its own relay carries the other relay's cosignature.
    for (c, conn, other) in [(&mx, &cm, "tiprelay://US/relay/us"), (&us, &cu, "tiprelay://MX/relay/mx")] {
        eventually("the peer relay cosigns this relay's checkpoint", async || {
            c.check_log(conn, false).await.unwrap().cosigners.iter().any(|w| w == other)
        })
        .await;
    }
    for c in [cm, cu] {
        c.close().await;
    }
    let dir = p.dir.path().to_path_buf();
    let _keep = p.dir;
    for r in p.relays {
        r.shutdown().await.unwrap();
    }
    // Each relay's own log: MX's records the acceptance and the crossing of the MX tip, the
    // US relay's its own acceptance of it; each holds both tips (its side's traffic only).
    use tiprelay::storage::Engine;
    for (j, kinds) in [("MX", ["accepted", "crossed"]), ("US", ["accepted", "accepted"])] {
        let db = tiprelay::storage::open_read_only(&dir.join(format!("pki/{j}/relay/relay.redb"))).unwrap();
        let events = tiprelay::storage::query::events(&*db.read().unwrap()).unwrap();
        for k in kinds {
            assert!(
                events.iter().any(|e| e.kind == k && e.tip.as_deref() == Some(tip.id.to_string().as_str())),
                "{j}'s relay has no `{k}` entry for the MX tip"
            );
        }
        let accepted = events.iter().filter(|e| e.kind == "accepted").count();
        assert_eq!(accepted, 2, "{j}'s relay holds exactly the two tips of the pair");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_us_principal_connecting_to_the_mx_relay_is_refused() {
    let p = Pair::start().await;
    let mut cfg = ClientConfig::load(&p.config("US", "analyst")).unwrap();
    cfg.relay_addr = p.relays[0].local_addr();
    cfg.relay_addrs = vec![cfg.relay_addr];
    // Made to accept MX's relay certificate (as a relay root), so only the MX relay's
    // refusal can stop it.
    let mx_ca = p.dir.path().join("pki/MX/ca");
    cfg.trust.insert(
        0,
        tiprelay_common::files::TrustFiles {
            authority: tiprelay_proto::Authority::Operator,
            ca: mx_ca.join("ca.crt"),
            crl: mx_ca.join("crl.pem"),
        },
    );
    refused_at_connect(&cfg).await;
    // The same configuration pointed at its own relay is served: the refusal was MX's.
    cfg.relay_addr = p.relays[1].local_addr();
    cfg.relay_addrs = vec![cfg.relay_addr];
    cfg.trust.remove(0);
    tiprelay_client::RelayConn::connect(&cfg).await.unwrap().close().await;
    // MX's own analyst is served there.
    let mx = p.client("MX", "analyst");
    connect(&mx).await.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_certificate_of_the_wrong_jurisdiction_cannot_peer() {
    let p = Pair::start().await;
    // A relay certified by MX's CA dialling MX's relay as if it were its peer: only the US
    // relay peers with MX's.
    let pki = p.dir.path().join("pki");
    let mut ca = tiprelay_certs::ca::Ca::load(&pki.join("MX/ca")).unwrap();
    ca.issue_relay("impostor", &["localhost".into()], &[], &pki.join("MX/impostor"), 30).unwrap();
    let text = std::fs::read_to_string(pki.join("MX/analyst.toml"))
        .unwrap()
        .replace("tiprelay://MX/analyst/analyst-1", "tiprelay://MX/relay/impostor")
        .replace("\"analyst/", "\"impostor/");
    std::fs::write(pki.join("MX/impostor.toml"), text).unwrap();
    let cfg = ClientConfig::load(&pki.join("MX/impostor.toml")).unwrap();
    assert_eq!(cfg.principal.kind(), PrincipalKind::Relay);
    refused_at_connect(&cfg).await;
    // A US principal's certificate is no relay certificate: it cannot peer either (it is
    // refused at MX's relay as a foreign principal, see above), and the peer's requests
    // are a relay's only (core::authz). MX's own analyst is still served.
    connect(&p.client("MX", "analyst")).await.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_us_relay_killed_five_times_and_cut_for_12_s_loses_nothing_across_the_link() {
    const PER_SENDER: usize = 250;
    let dir = tempfile::tempdir().unwrap();
    let (amx, aus) = (free_udp_port(), free_udp_port());
    let [rmx, rus] = make_federated_pki(dir.path(), amx, aus);
    // Four senders on each side: two analysts and two feeds.
    let mut senders: Vec<(&str, String)> = Vec::new();
    for j in ["MX", "US"] {
        senders.push((j, "analyst".into()));
        senders.push((j, "feed".into()));
        senders.push((j, add_principal(dir.path(), j, "analyst", "analyst-2")));
        senders.push((j, add_principal(dir.path(), j, "feed", "feed-2")));
    }
    let senders: Vec<(&str, &str)> = senders.iter().map(|(j, k)| (*j, k.as_str())).collect();
    let mut mx = RelayProcess::spawn(&rmx, &dir.path().join("mx.log"));
    let mut us = RelayProcess::spawn(&rus, &dir.path().join("us.log"));
    for j in ["MX", "US"] {
        wait_ready(&ClientConfig::load(&dir.path().join(format!("pki/{j}/analyst.toml"))).unwrap()).await;
    }
    let queued = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let q = queued.clone();
    let rmx2 = rmx.clone();
    let disrupt = async move {
        // The link cut: the US relay frozen (silent) for 12 s while MX keeps accepting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        us.stop();
        tokio::time::sleep(Duration::from_secs(10)).await;
        // Queued at home meanwhile, with its age, as `tiprelay peers` reports it.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tiprelay"))
            .args(["peers", "--json", "--config"])
            .arg(&rmx2)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        q.store(v["tips_queued"].as_u64().unwrap(), std::sync::atomic::Ordering::Relaxed);
        assert!(v["oldest_queued_seconds"].as_u64().unwrap() >= 8, "{v}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        us.cont();
        // Then five kill -9s of the US relay at pseudo-random points.
        let mut seed = ms_now();
        for _ in 0..5 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            tokio::time::sleep(Duration::from_millis(200 + (seed >> 33) % 900)).await;
            us.kill9();
            tokio::time::sleep(Duration::from_millis(100)).await;
            us.start();
        }
        us
    };
    let started = Instant::now();
    let mut us_process = None;
    exchange_among(dir.path(), &senders, PER_SENDER, &[(Some("MX"), &rmx), (Some("US"), &rus)], async {
        us_process = Some(disrupt.await);
    })
    .await;
    eprintln!(
        "federated exchange of {} tips under a 12 s cut and five kills: {:?}; {} tips were queued at MX during the cut",
        senders.len() * PER_SENDER,
        started.elapsed(),
        queued.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(queued.load(std::sync::atomic::Ordering::Relaxed) > 0, "nothing queued during the cut");
    // No gap was ever reported either way.
    for log in ["mx.log", "us.log"] {
        let text = std::fs::read_to_string(dir.path().join(log)).unwrap();
        assert!(
            !text.contains("ALARM"),
            "{log}: {}",
            text.lines().filter(|l| l.contains("ALARM")).collect::<Vec<_>>().join("\n")
        );
    }
    mx.kill9();
    if let Some(mut u) = us_process {
        u.kill9();
    }
}

/// Test-only surgery: removes tip `(from, id)` from a stopped relay's redb store (its
/// record, its place in the sequence index and its ledger facts), as a relay that lost
/// or hid it would.
fn delete_tip(store: &std::path::Path, from: &str, to: &str, seq: u64, id: &[u8; 16]) {
    use redb::{ReadableTable, TableDefinition};
    const TIPS: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("tips");
    const BY_SEQ: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("by_seq");
    const LEDGER: TableDefinition<(u64, &str, &[u8]), &[u8]> = TableDefinition::new("ledger");
    let db = redb::Database::open(store).unwrap();
    let w = db.begin_write().unwrap();
    {
        assert!(w.open_table(TIPS).unwrap().remove((from, id.as_slice())).unwrap().is_some());
        assert!(w.open_table(BY_SEQ).unwrap().remove((from, to, seq)).unwrap().is_some());
        let mut ledger = w.open_table(LEDGER).unwrap();
        let key = ledger
            .iter()
            .unwrap()
            .find_map(|e| {
                let (k, _) = e.unwrap();
                let (accepted, f, i) = k.value();
                (f == from && i == id.as_slice()).then_some(accepted)
            })
            .unwrap();
        assert!(ledger.remove((key, from, id.as_slice())).unwrap().is_some());
    }
    w.commit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tip_deleted_from_the_us_relays_store_is_named_by_the_mx_reconcile() {
    let p = Pair::start().await;
    let (mx, us) = (p.client("MX", "analyst"), p.client("US", "analyst"));
    let (cm, cu) = (connect(&mx).await, connect(&us).await);
    let mut ids = Vec::new();
    for i in 0..3 {
        let (tip, _) = mx.compose(draft("US", &format!("tip {i}"))).unwrap();
        mx.send(&cm, &tip.id).await.unwrap();
        ids.push(tip.id);
    }
    let (back, _) = us.compose(draft("MX", "the other way")).unwrap();
    us.send(&cu, &back.id).await.unwrap();
    let mut n = 0;
    eventually("the US analyst receives the three MX tips", async || {
        n += us.sync_inbox(&cu).await.unwrap().len();
        n >= 3
    })
    .await;
    eventually("everything crossed and was acknowledged", async || {
        mx.sync_inbox(&cm).await.unwrap();
        mx.sync_notices(&cm).await.unwrap();
        mx.store.outbox().unwrap().iter().all(|(_, r)| r.across.is_some() && r.ack.is_some())
    })
    .await;
    cm.close().await;
    cu.close().await;
    drop((mx, us));
    let month = tiprelay_client::ledger::Period::Month.key(tiprelay_client::client::now());
    let reconcile = |cfg: &std::path::Path| {
        crate::cli::tipctl(cfg, &["ledger", "reconcile", "--for", &month, "--grace", "0s", "--json"])
    };
    // Before: the MX analyst, MX's relay and the US relay agree.
    let o = reconcile(&p.config("MX", "analyst"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(o.status.success(), "{v}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(v["compared"].to_string().contains("US's relay's records (4 tips, as its signed statement states)"), "{v}");

    // The US relay loses MX's tip number 2 (surgery on its stopped store).
    let (dir, mut relays) = (p.dir, p.relays);
    let us_addr = relays[1].local_addr();
    relays.pop().unwrap().shutdown().await.unwrap();
    delete_tip(&dir.path().join("pki/US/relay/relay.redb"), "MX", "US", 2, ids[1].as_bytes());
    let mut socket = None;
    for _ in 0..50 {
        if let Ok(s) = UdpSocket::bind(us_addr) {
            socket = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cfg = RelayConfig::load(&dir.path().join("pki/US/relay.toml")).unwrap();
    relays.push(server::start(cfg, socket).await.unwrap());

    // MX's reconcile names it: MX's relay numbered it 2; the US relay holds 3 but not 2.
    let mut named = serde_json::Value::Null;
    for _ in 0..100 {
        let o = reconcile(&dir.path().join("pki/MX/analyst.toml"));
        named = serde_json::from_slice(&o.stdout).unwrap_or_default();
        if o.status.code() == Some(6) && named["discrepancies"].to_string().contains("missing_at_peer") {
            break;
        }
        // The link may still be coming back up.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = named["discrepancies"].as_array().unwrap_or_else(|| panic!("{named}"));
    assert_eq!(d.len(), 1, "{named}");
    assert_eq!(
        (d[0]["kind"].as_str(), d[0]["tip"].as_str()),
        (Some("missing_at_peer"), Some(ids[1].to_string().as_str()))
    );
    assert!(d[0]["message"].as_str().unwrap().contains("never received"), "{named}");
    // The US relay's records are its own: its signed statement states the same three tips.
    assert!(named["compared"].to_string().contains("(3 tips, as its signed statement states)"), "{named}");
    for r in relays {
        r.shutdown().await.unwrap();
    }
}
