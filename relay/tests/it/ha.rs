//! High availability on PostgreSQL: two relay processes on one database (active–standby,
//! the lease in PostgreSQL), killed with -9 in turn while senders stream; a client whose
//! relay dies mid-request; the database's primary killed and its synchronous standby
//! promoted. In every case: no receipted tip lost, none delivered twice, sequences
//! gap-free, the audit log verifies (`crash::exchange_under`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::crash::{exchange_under, free_udp_port, wait_ready};
use tiprelay::storage::postgres::{lease, PgTarget};
use tiprelay_client::{Client, ClientConfig, RelayConn};
use tiprelay_pgtest::{Cluster, Options};

/// A dev PKI in `dir/pki` for two relays sharing one PostgreSQL store at `url` (and the
/// relay's keys): `relay.toml` (A) and `relay-b.toml` (B); every client config lists both
/// addresses, A first.
fn pair(dir: &Path, url: &str) -> ([PathBuf; 2], [SocketAddr; 2]) {
    let (a, b) = (free_udp_port(), free_udp_port());
    let rt = make_pki(dir, a, |t| {
        *t = t.replace("store = \"relay/relay.redb\"\n", "");
        t.push_str(&format!("\n[store]\nkind = \"postgres\"\nurl = \"{url}\"\n"));
    });
    let text = std::fs::read_to_string(&rt).unwrap();
    let text_b = text.replace(&format!("listen = \"{a}\""), &format!("listen = \"{b}\""))
        + "\n[metrics]\nlisten = \"127.0.0.1:0\"\n";
    assert_ne!(text, text_b, "relay.toml names its listen address");
    let rt_b = dir.join("pki/relay-b.toml");
    std::fs::write(&rt_b, text_b).unwrap();
    for j in ["MX", "US"] {
        for k in ["analyst", "feed"] {
            let p = dir.join("pki").join(j).join(format!("{k}.toml"));
            let t = std::fs::read_to_string(&p).unwrap();
            let t2 = t.replace(&format!("address = \"{a}\""), &format!("address = [\"{a}\", \"{b}\"]"));
            assert_ne!(t, t2, "{} names the relay's address", p.display());
            std::fs::write(&p, t2).unwrap();
        }
    }
    ([rt, rt_b], [a, b])
}

/// The metrics address a relay logged (`[metrics] listen = "127.0.0.1:0"`).
fn metrics_of(log: &Path) -> SocketAddr {
    let text = std::fs::read_to_string(log).unwrap();
    let line =
        text.lines().find(|l| l.contains("metrics endpoints listening")).expect("the relay logs its metrics address");
    let at = line.find("addr=").expect("addr field") + 5;
    line[at..].split_whitespace().next().unwrap().trim_matches('"').parse().unwrap()
}

/// The HTTP status of GET `path` (a bounded blocking exchange).
fn http_status(addr: SocketAddr, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Which of `relays` holds the store's lease now (by the pid in the lease's holder).
fn serving(target: &PgTarget, relays: &[RelayProcess]) -> Option<usize> {
    let h = lease::current_holder(target).ok()?;
    relays.iter().position(|r| r.pid() != 0 && h.holder.contains(&format!(" pid {} ", r.pid())))
}

/// Waits (bounded) until one of `relays` serves; its index.
async fn wait_serving(target: &PgTarget, relays: &[RelayProcess]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(i) = serving(target, relays) {
            return i;
        }
        assert!(Instant::now() < deadline, "no relay took the lease within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (bounded) until `log` says its relay is a standby.
async fn wait_standby(log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(log).unwrap_or_default().contains("standby: another relay holds the store's lease") {
        assert!(Instant::now() < deadline, "{} never became a standby", log.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts relay A, waits until it serves, then relay B, until it is a standby.
async fn start_pair(dir: &Path, rts: &[PathBuf; 2]) -> Vec<RelayProcess> {
    let analyst = ClientConfig::load(&dir.join("pki/MX/analyst.toml")).unwrap();
    let mut relays = vec![RelayProcess::spawn(&rts[0], &dir.join("relay-a.log"))];
    wait_ready(&analyst).await;
    relays.push(RelayProcess::spawn(&rts[1], &dir.join("relay-b.log")));
    wait_standby(&dir.join("relay-b.log")).await;
    relays
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_database_survive_ten_kills_of_the_serving_one() {
    const KILLS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path());
    let url = cluster.params("relay");
    let target = PgTarget::plain(url.parse().unwrap());
    let (rts, _) = pair(dir.path(), &url);
    let mut relays = start_pair(dir.path(), &rts).await;
    let first_epoch = lease::current_holder(&target).unwrap().epoch;

    let mut took_over = Vec::new();
    let kills = async {
        let mut seed = ms_now();
        for _ in 0..KILLS {
            let i = wait_serving(&target, &relays).await;
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            tokio::time::sleep(Duration::from_millis(200 + (seed >> 33) % 900)).await;
            relays[i].kill9();
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(100)).await;
            // Back as a standby, as a service manager would restart it.
            relays[i].start();
            let j = wait_serving(&target, &relays).await;
            took_over.push(t.elapsed());
            assert!(relays[j].pid() != 0);
        }
    };
    exchange_under(dir.path(), 500, &rts[0], kills).await;
    eprintln!("takeover after kill -9 (lease held by the other relay): {took_over:?}");
    let last = lease::current_holder(&target).unwrap();
    assert!(last.epoch >= first_epoch + KILLS as i64, "every kill handed the lease over: {last:?}");
    drop(relays);
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_relay_dies_mid_request_gets_its_receipt_from_the_next_address_within_5_s() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path());
    let url = cluster.params("relay");
    let (rts, addrs) = pair(dir.path(), &url);
    let cfg = ClientConfig::load(&dir.path().join("pki/MX/analyst.toml")).unwrap();
    let mut a = RelayProcess::spawn(&rts[0], &dir.path().join("relay-a.log"));
    wait_ready(&cfg).await;
    let b = RelayProcess::spawn(&rts[1], &dir.path().join("relay-b.log"));
    wait_standby(&dir.path().join("relay-b.log")).await;

    // The standby is alive but not ready; it serves after the takeover.
    let b_metrics = metrics_of(&dir.path().join("relay-b.log"));
    assert_eq!(http_status(b_metrics, "/healthz"), 200);
    assert_eq!(http_status(b_metrics, "/readyz"), 503, "a standby is not ready");

    let client = Client::open(cfg).unwrap();
    let mut conn = RelayConn::connect(&client.cfg).await.unwrap();
    assert_eq!(conn.remote_address(), addrs[0], "the first address serves");
    let (tip, _) = client.compose(draft("US", "mid-request failover")).unwrap();
    // A hangs with the submit in flight, then dies; B takes the lease.
    a.stop();
    let t = Instant::now();
    let (sent, ()) = tokio::join!(client.send_failover(&mut conn, &tip.id, Duration::from_secs(15)), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.kill9();
    });
    let took = t.elapsed();
    let sent = sent.unwrap();
    eprintln!("receipt from the second relay {took:?} after the first stopped answering");
    assert_eq!(conn.remote_address(), addrs[1], "the receipt came from the second relay");
    assert!(took < Duration::from_secs(5), "failover took {took:?}");
    let rec = client.store.get_out(tip.id.as_bytes()).unwrap().unwrap();
    assert_eq!(rec.receipt.as_deref().map(|r| !r.is_empty()), Some(true));
    assert_eq!(sent.receipt.seq, 1);
    assert_eq!(http_status(b_metrics, "/readyz"), 200, "the relay that took over is ready");
    conn.close().await;
    drop(b);
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_primary_killed_and_its_synchronous_standby_promoted_loses_no_receipted_tip() {
    const PER_SENDER: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let (pdir, sdir) = (dir.path().join("primary"), dir.path().join("standby"));
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::create_dir_all(&sdir).unwrap();
    let primary = Cluster::start(&pdir);
    let standby = Cluster::standby_of(&primary, &sdir, "standby1");
    primary.make_synchronous("standby1");
    // Bounded: the primary reports its standby synchronous.
    let on_primary = primary.params("relay");
    let deadline = Instant::now() + Duration::from_secs(30);
    while query_text(&on_primary, "SELECT coalesce(max(sync_state), '') FROM pg_stat_replication") != "sync" {
        assert!(Instant::now() < deadline, "the standby never became synchronous");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ((ps, pp), (ss, sp)) = (primary.socket_and_port(), standby.socket_and_port());
    // Both servers; the relays pick the one that takes writes.
    let url = format!(
        "host={},{} port={pp},{sp} user=tiprelay dbname=relay target_session_attrs=read-write",
        ps.display(),
        ss.display()
    );
    let (rts, _) = pair(dir.path(), &url);
    let mut relays = start_pair(dir.path(), &rts).await;

    let mut at_kill = 0;
    let failover = async {
        // Mid-stream: once a few hundred tips are in.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let n = tips_in(&on_primary);
            if n >= 200 {
                at_kill = n;
                break;
            }
            assert!(Instant::now() < deadline, "the senders did not get going");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        primary.kill9();
        tokio::time::sleep(Duration::from_millis(500)).await;
        standby.promote();
        // A relay that lost the lease to the other in the turmoil stops; restart it as a
        // service manager would, for a while.
        for _ in 0..100 {
            for r in relays.iter_mut() {
                r.ensure_running();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    exchange_under(dir.path(), PER_SENDER, &rts[0], failover).await;
    eprintln!("primary killed with {at_kill} tips in; {} after the failover", 4 * PER_SENDER);
    assert!(at_kill < 4 * PER_SENDER as i64, "the primary was killed mid-stream");
    drop(relays);
    drop(standby);
}

/// One text value from the database at `params` ("" when it does not answer).
/// (On a thread of its own: the synchronous client must not run inside the test's runtime.)
fn query_text(params: &str, sql: &str) -> String {
    let (params, sql) = (params.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let Ok(mut c) = params.parse::<postgres::Config>().unwrap().connect(postgres::NoTls) else {
            return String::new();
        };
        c.query_one(sql.as_str(), &[]).map(|r| r.get::<_, String>(0)).unwrap_or_default()
    })
    .join()
    .unwrap()
}

/// How many tips the database at `params` holds.
fn tips_in(params: &str) -> i64 {
    query_text(params, "SELECT count(*)::text FROM tips").parse().unwrap_or(0)
}

/// `[store] tls_ca`: the relay talks TLS to the database and verifies its certificate
/// (chain and host name); another CA's certificate, or plain TCP to a TLS-only server, is
/// refused; a url asking for TLS without a CA to verify it is a configuration error.
#[test]
fn the_store_over_tls_verifies_the_database_certificate() {
    use tiprelay::config::{RelayConfig, StoreBackend};
    use tiprelay::storage::postgres::PgEngine;
    let dir = tempfile::tempdir().unwrap();
    let ca = |name: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        let cert = p.self_signed(&key).unwrap();
        let path = dir.path().join(format!("{name}.pem"));
        std::fs::write(&path, cert.pem()).unwrap();
        (cert.pem(), key, path)
    };
    let (ca_pem, ca_key, db_ca) = ca("database-ca");
    let (_, _, other_ca) = ca("other-ca");
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, &ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().signed_by(&key, &issuer).unwrap();
    let db_dir = dir.path().join("db");
    std::fs::create_dir_all(&db_dir).unwrap();
    let cluster = Cluster::start_with(&db_dir, &Options { tls: Some((cert.pem(), key.serialize_pem())) });
    let url = cluster.tcp_params("relay");
    let pki = dir.path().join("pki-dir");
    std::fs::create_dir_all(&pki).unwrap();
    let rt = make_pki(&pki, free_udp_port(), |t| *t = t.replace("store = \"relay/relay.redb\"\n", ""));
    let base = std::fs::read_to_string(&rt).unwrap();
    let load = |store: String| {
        std::fs::write(&rt, format!("{base}\n[store]\nkind = \"postgres\"\n{store}")).unwrap();
        RelayConfig::load(&rt)
    };
    let target = |c: RelayConfig| match c.backend {
        StoreBackend::Postgres(t) => t,
        StoreBackend::Redb => panic!("not postgres"),
    };

    let good = target(load(format!("url = \"{url}\"\ntls_ca = \"{}\"\n", db_ca.display())).unwrap());
    assert!(good.tls.is_some());
    assert!(format!("{good:?}").ends_with("(TLS)"), "{good:?}");
    let engine = PgEngine::open(&good, true).unwrap_or_else(|e| panic!("TLS to the database failed: {e}"));
    drop(engine);

    let wrong = target(load(format!("url = \"{url}\"\ntls_ca = \"{}\"\n", other_ca.display())).unwrap());
    let e = PgEngine::open(&wrong, true).err().expect("a certificate of another CA must be refused");
    assert!(e.to_string().contains("certificate"), "{e}");

    let plain = target(load(format!("url = \"{url}\"\n")).unwrap());
    assert!(plain.tls.is_none());
    assert!(PgEngine::open(&plain, true).is_err(), "plain TCP to a TLS-only server must fail");

    let e = load(format!("url = \"{url} sslmode=require\"\n")).unwrap_err();
    assert!(e.to_string().contains("tls_ca"), "{e}");
    drop(cluster);
}
