//! Crash safety with the real `tiprelay` binary: kill -9 at random points while four
//! senders stream tips; afterwards nothing receipted is lost, nothing is delivered twice,
//! and nothing is delivered that nobody wrote.

use std::collections::{BTreeSet, HashSet};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::common::*;
use tiprelay_client::{Client, ClientConfig, RelayConn};
use tiprelay_proto::TipId;

pub fn free_udp_port() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

pub async fn wait_ready(cfg: &ClientConfig) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(c) = RelayConn::connect(cfg).await {
            c.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("relay did not come up");
}

/// Sends `n` tips one after another, reconnecting and resending through outages.
async fn sender(client: Client, to: &'static str, n: usize, deadline: Instant) -> (Client, BTreeSet<TipId>) {
    let mut conn: Option<RelayConn> = None;
    let mut sent = BTreeSet::new();
    for i in 0..n {
        let (tip, _) = client.compose(draft(to, &format!("{} #{i}", client.cfg.principal))).unwrap();
        loop {
            assert!(Instant::now() < deadline, "sender {} stuck", client.cfg.principal);
            if conn.is_none() {
                conn = RelayConn::connect(&client.cfg).await.ok();
                if conn.is_none() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
            let c = conn.as_ref().unwrap();
            // Push anything left unreceipted by an earlier outage, then this tip.
            match client.resend(c).await {
                Ok(r) => {
                    assert!(r.refused.is_empty(), "{:?}", r.refused);
                    sent.extend(r.sent.iter().map(|s| s.tip.id));
                    if client.store.get_out(tip.id.as_bytes()).unwrap().unwrap().receipt.is_some() {
                        break;
                    }
                    // Refused for now (a retryable code: the store is failing over).
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(_) => {
                    conn = None;
                }
            }
        }
    }
    if let Some(c) = conn {
        c.close().await;
    }
    (client, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_loses_no_receipted_tip_and_delivers_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    kill_minus_nine(dir.path(), 500, |_| {}).await;
}

/// The same on PostgreSQL: a throwaway cluster, the relay's `[store]` pointing at it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_on_postgres_loses_no_receipted_tip_and_delivers_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = tiprelay_pgtest::Cluster::start(dir.path());
    let url = cluster.params("relay");
    kill_minus_nine(dir.path(), 250, move |t| {
        *t = t.replace("store = \"relay/relay.redb\"\n", "");
        t.push_str(&format!("\n[store]\nkind = \"postgres\"\nurl = \"{url}\"\n"));
    })
    .await;
    drop(cluster);
}

/// Four senders stream `per_sender` tips each while the relay is killed with -9 at random
/// points; afterwards nothing receipted is lost, nothing is delivered twice, the audit log verifies.
async fn kill_minus_nine(dir: &std::path::Path, per_sender: usize, edit: impl FnOnce(&mut String)) {
    const KILLS: usize = 5;
    let addr = free_udp_port();
    let rt = make_pki(dir, addr, edit);
    let mut relay = RelayProcess::spawn(&rt, &dir.join("relay.log"));
    let analyst = ClientConfig::load(&dir.join("pki/MX/analyst.toml")).unwrap();
    wait_ready(&analyst).await;
    let kills = async {
        // Kill the relay at pseudo-random points while the senders stream.
        let mut seed = ms_now();
        for _ in 0..KILLS {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            tokio::time::sleep(Duration::from_millis(200 + (seed >> 33) % 900)).await;
            relay.kill9();
            tokio::time::sleep(Duration::from_millis(100)).await;
            relay.start();
        }
    };
    exchange_under(dir, per_sender, &rt, kills).await;
    relay.kill9();
}

/// The four senders of a dev PKI: an analyst and a feed on each side.
pub const FOUR_SENDERS: &[(&str, &str)] = &[("MX", "analyst"), ("MX", "feed"), ("US", "analyst"), ("US", "feed")];

/// Who serves whom: `None` for the one shared relay, or a jurisdiction's own relay
/// (federation), with its configuration.
pub type Served<'a> = (Option<&'a str>, &'a std::path::Path);

/// Four senders (an analyst and a feed on each side) stream `per_sender` tips each while
/// `disrupt` runs (kills relays, fails databases over); see [`exchange_among`].
pub async fn exchange_under(
    dir: &std::path::Path,
    per_sender: usize,
    rt: &std::path::Path,
    disrupt: impl std::future::Future<Output = ()>,
) {
    exchange_among(dir, FOUR_SENDERS, per_sender, &[(None, rt)], disrupt).await;
}

/// `senders` (`(jurisdiction, config stem)` under `dir/pki/<J>/`) stream `per_sender` tips
/// each to the other side while `disrupt` runs; afterwards, with the relays of `relays`
/// serving again: every tip written has a verified receipt (and, federated, the other
/// relay's crossed receipt too), each analyst received every tip of the other side exactly
/// once with gap-free sequence numbers, every principal's ledger reconciles with its
/// relay's, the relays (federated) hold the same tips with the same numbers, and each
/// relay's audit log verifies with every receipt's log index its acceptance.
pub async fn exchange_among(
    dir: &std::path::Path,
    senders: &[(&str, &str)],
    per_sender: usize,
    relays: &[Served<'_>],
    disrupt: impl std::future::Future<Output = ()>,
) {
    let cfg = |j: &str, k: &str| ClientConfig::load(&dir.join("pki").join(j).join(format!("{k}.toml"))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let federated = relays.iter().any(|(j, _)| j.is_some());
    let total = senders.len() * per_sender;
    let per_side = |j: &str| senders.iter().filter(|(s, _)| *s == j).count() * per_sender;
    let mut tasks = tokio::task::JoinSet::new();
    for (j, k) in senders {
        let to = if *j == "MX" { "US" } else { "MX" };
        let client = Client::open(cfg(j, k)).unwrap();
        tasks.spawn(sender(client, to, per_sender, deadline));
    }
    disrupt.await;

    let mut clients = Vec::new();
    while let Some(r) = tasks.join_next().await {
        clients.push(r.unwrap());
    }
    for j in ["MX", "US"] {
        wait_ready(&cfg(j, "analyst")).await;
    }

    // Every outbox drained: each tip written has a verified receipt.
    let mut written: std::collections::HashMap<&str, HashSet<TipId>> = Default::default();
    for (c, _) in &clients {
        let out = c.store.outbox().unwrap();
        assert_eq!(out.len(), per_sender);
        for (id, rec) in out {
            assert!(rec.receipt.is_some(), "{} has an unreceipted tip", c.cfg.principal);
            written
                .entry(if c.cfg.jurisdiction.as_str() == "MX" { "MX" } else { "US" })
                .or_default()
                .insert(TipId::from_bytes(id).unwrap());
        }
    }

    // Each analyst receives every tip of the other side exactly once.
    for (c, _) in &clients {
        if c.cfg.principal.kind() != tiprelay_proto::PrincipalKind::Analyst {
            continue;
        }
        let other = if c.cfg.jurisdiction.as_str() == "MX" { "US" } else { "MX" };
        let want = per_side(other);
        let conn = RelayConn::connect(&c.cfg).await.unwrap();
        let mut fresh = 0;
        // Federated, the last tips may still be crossing the link: bounded wait.
        for _ in 0..600 {
            let got = c.sync_inbox(&conn).await.unwrap();
            fresh += got.iter().filter(|g| g.fresh).count();
            if got.is_empty() {
                if c.store.inbox().unwrap().len() >= want {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        conn.close().await;
        let inbox = c.store.inbox().unwrap();
        let ids: HashSet<TipId> = inbox.iter().map(|(_, id, _)| TipId::from_bytes(*id).unwrap()).collect();
        assert_eq!(inbox.len(), want, "{} holds a wrong number of tips", c.cfg.principal);
        assert_eq!(fresh, want, "a tip was delivered to the application twice");
        assert_eq!(&ids, &written[other], "delivered tips differ from the tips written");
        let mut seqs: Vec<u64> = inbox.iter().map(|(_, _, r)| r.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=want as u64).collect::<Vec<_>>(), "sequence numbers are not gap-free");
        assert!(c.store.gaps().unwrap().is_empty());
    }

    // The ledgers still reconcile, tip by tip: each principal's records (after collecting
    // its acks) against its relay's, and the relay's counts per direction. Federated, each
    // tip also holds the other relay's receipt (accepted across the border).
    let mut relay_views: Vec<Vec<tiprelay_proto::TipFacts>> = Vec::new();
    for (c, _) in &clients {
        let conn = RelayConn::connect(&c.cfg).await.unwrap();
        for _ in 0..100 {
            c.sync_notices(&conn).await.unwrap();
            let out = c.store.outbox().unwrap();
            if out.iter().all(|(_, r)| r.ack.is_some() && (!federated || r.across.is_some())) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        conn.close().await;
        for (_, rec) in c.store.outbox().unwrap() {
            assert!(rec.ack.is_some(), "{}: a tip of ours never acknowledged", c.cfg.principal);
            if federated {
                assert!(rec.across.is_some(), "{}: a tip receipted at home never crossed", c.cfg.principal);
            }
        }
        // Feeds read no bilateral records (PROTOCOL §10.6): their jurisdiction's analyst
        // asks the relay for them.
        let conn = RelayConn::connect(&cfg(c.cfg.jurisdiction.as_str(), "analyst")).await.unwrap();
        let relay_facts = c.relay_records(&conn, 0, u64::MAX).await.unwrap();
        conn.close().await;
        assert_eq!(relay_facts.len(), total);
        for side in ["MX", "US"] {
            let n = relay_facts.iter().filter(|f| f.from.as_str() == side && f.acked.is_some()).count();
            assert_eq!(n, per_side(side), "relay: every {side} tip accepted and acknowledged once");
        }
        let mine = c.store.facts(0, u64::MAX).unwrap();
        let authors = vec![c.cfg.principal.to_string()];
        let scope = tiprelay_client::ledger::ReconcileScope {
            me: c.cfg.jurisdiction,
            authors: &authors,
            range: tiprelay_client::ledger::Range::all(),
            now: tiprelay_client::client::now(),
            grace_ms: 0,
            receives: c.cfg.principal.kind() == tiprelay_proto::PrincipalKind::Analyst,
        };
        let d = tiprelay_client::ledger::reconcile_with_relay(&scope, &mine, &relay_facts);
        assert!(d.is_empty(), "{} does not reconcile: {:?}", c.cfg.principal, &d[..d.len().min(5)]);
        relay_views.push(relay_facts);
    }
    if federated {
        // Both relays hold the same tips under the same numbers.
        let key = |f: &tiprelay_proto::TipFacts| (f.from, f.id, f.seq);
        let mx: BTreeSet<_> = relay_views.iter().find(|v| !v.is_empty()).unwrap().iter().map(key).collect();
        for v in &relay_views {
            assert_eq!(v.iter().map(key).collect::<BTreeSet<_>>(), mx, "the two relays' records differ");
        }
    }

    // Each relay's audit log survived: it opens, a fresh checkpoint covers it, the exported
    // bundle verifies, and every receipt its principals hold names that tip's acceptance.
    for (served, rt) in relays {
        let home = |c: &Client| served.is_none_or(|j| c.cfg.jurisdiction.as_str() == j);
        let (c0, _) = clients
            .iter()
            .find(|(c, _)| home(c) && c.cfg.principal.kind() == tiprelay_proto::PrincipalKind::Analyst)
            .expect("an analyst among the senders");
        let conn = RelayConn::connect(&c0.cfg).await.unwrap();
        c0.check_log_fresh(&conn, false, true).await.unwrap();
        conn.close().await;
        let out = dir.join(format!("after-crashes-{}.bundle", served.unwrap_or("hub")));
        let relay_cfg = tiprelay::config::RelayConfig::load(rt).unwrap();
        tiprelay::audit::export(&relay_cfg, tiprelay::storage::ExportRange::default(), &out).unwrap();
        let mut accepted: std::collections::HashMap<u64, String> = Default::default();
        let f = std::fs::File::open(&out).unwrap();
        let report = tiprelay_proto::audit::verify_bundle(std::io::BufReader::new(f), Some(c0.trust()), |e| {
            if e.kind == "accepted" {
                accepted.insert(e.index, e.tip.clone().unwrap_or_default());
            }
        })
        .unwrap_or_else(|e| panic!("the audit log does not verify after the crashes: {e}"));
        assert_eq!(report.first, 0);
        assert_eq!(accepted.len(), total, "one acceptance entry per tip");
        for (c, _) in clients.iter().filter(|(c, _)| home(c)) {
            for (id, rec) in c.store.outbox().unwrap() {
                let r =
                    tiprelay_proto::parse::<tiprelay_proto::Receipt>(rec.receipt.as_deref().unwrap()).unwrap().message;
                let want = TipId::from_bytes(id).unwrap().to_string();
                assert_eq!(
                    accepted.get(&r.log_index),
                    Some(&want),
                    "receipt log index {} is not its acceptance",
                    r.log_index
                );
            }
        }
    }
}

/// A relay killed with -9: a client's request on its connection fails within the client's
/// idle timeout (3 s), not the old 30 s; and once a relay is back on that address (same
/// key, so the same stateless-reset key), a request on a connection to the dead one fails
/// at once with a stateless reset instead of waiting out the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_relay_is_noticed_within_seconds_and_a_restarted_one_resets_old_connections() {
    use tiprelay_proto::wire::Request;
    let dir = tempfile::tempdir().unwrap();
    let addr = free_udp_port();
    let rt = make_pki(dir.path(), addr, |_| {});
    let cfg = ClientConfig::load(&dir.path().join("pki/MX/analyst.toml")).unwrap();
    let mut relay = RelayProcess::spawn(&rt, &dir.path().join("relay.log"));
    wait_ready(&cfg).await;

    // 1. Killed and not restarted: only silence. The request fails with the idle timeout.
    let conn = RelayConn::connect(&cfg).await.unwrap();
    conn.request(&Request::Status).await.unwrap();
    relay.kill9();
    let t = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(25), conn.request(&Request::Status)).await;
    let silent = t.elapsed();
    eprintln!("request to a killed relay failed after {silent:?}");
    assert!(matches!(r, Ok(Err(_))), "the request must fail, not hang: {r:?}");
    assert!(silent < Duration::from_secs(10), "a silent relay took {silent:?} to notice (idle timeout 3 s)");
    drop(conn);

    // 2. Killed and restarted on the same address: the old connection is reset at once.
    relay.start();
    wait_ready(&cfg).await;
    let conn = RelayConn::connect(&cfg).await.unwrap();
    conn.request(&Request::Status).await.unwrap();
    relay.kill9();
    relay.start();
    wait_ready(&cfg).await;
    let t = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(25), conn.request(&Request::Status)).await;
    let reset = t.elapsed();
    eprintln!("request on a connection to the relay's previous process failed after {reset:?}");
    assert!(matches!(r, Ok(Err(_))), "the request must fail: {r:?}");
    // Well under the 3 s idle timeout: only a stateless reset explains it.
    assert!(reset < Duration::from_millis(2500), "no stateless reset: {reset:?}");
    drop(conn);
    assert_eq!(relay.terminate(), Some(0));
}
