//! Backups while serving (issue 18): `tiprelay backup` beside a relay that four senders are
//! streaming to, restored into a second relay that serves and whose store verifies; the
//! refusals (an existing file, a PostgreSQL store); `tipctl backup` beside `tipctl watch`.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::tipctl;
use crate::common::*;
use crate::crash::{free_udp_port, wait_ready};
use tiprelay::config::RelayConfig;
use tiprelay_client::{Client, ClientConfig, RelayConn};
use tiprelay_proto::{Receipt, TipId};

/// `tiprelay ARGS`, in English.
fn tiprelay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(args)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap()
}

/// The tipctl binary beside tiprelay.
fn tipctl_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_BIN_EXE_tiprelay")).with_file_name("tipctl")
}

fn json_of(o: &Output, what: &str) -> serde_json::Value {
    assert!(o.status.success(), "{what}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

/// Receipted tips, in the order their receipts arrived: (from, id).
type Receipted = Arc<Mutex<Vec<(String, TipId)>>>;

/// Sends tips one after another until `stop` (at most 5,000), recording each receipt.
async fn stream(client: Client, to: &'static str, stop: Arc<AtomicBool>, receipted: Receipted) -> Client {
    let conn = RelayConn::connect(&client.cfg).await.unwrap();
    for i in 0..5_000 {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (tip, _) = client.compose(draft(to, &format!("{} #{i}", client.cfg.principal))).unwrap();
        let sent = client.send(&conn, &tip.id).await.unwrap();
        receipted.lock().unwrap().push((sent.receipt.from.to_string(), tip.id));
    }
    conn.close().await;
    client
}

/// Waits (bounded: 60 s) until at least `n` tips are receipted.
async fn until_receipted(receipted: &Receipted, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while receipted.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "the senders did not reach {n} receipts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every tip of a relay store, by (from, id), with its record.
fn tips_in(path: &Path) -> BTreeMap<(String, TipId), tiprelay::storage::TipRecord> {
    let e = tiprelay::storage::open_read_only(path).unwrap();
    let r = tiprelay::storage::Engine::read(&e).unwrap();
    let mut out = BTreeMap::new();
    for (from, to, last) in r.dir_seqs().unwrap() {
        let mut ids = Vec::new();
        r.seqs(&from, &to, 0, &mut |_, id| {
            ids.push(id.to_vec());
            Ok(true)
        })
        .unwrap();
        assert_eq!(ids.len() as u64, last, "direction {from}->{to} has a gap");
        for id in ids {
            let rec = r.tip(&from, &id).unwrap().unwrap();
            out.insert((from.clone(), TipId::from_bytes(id.as_slice().try_into().unwrap()).unwrap()), rec);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_four_senders_stream_restores_to_a_store_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_udp_port();
    let rt = make_pki(dir.path(), addr, |t| *t = t.replace("[relay]\n", "[relay]\ncheckpoint_secs = 1\n"));
    let mut relay = RelayProcess::spawn(&rt, &dir.path().join("relay.log"));
    let pki = dir.path().join("pki");
    let senders = [("MX", "analyst", "US"), ("US", "analyst", "MX"), ("MX", "feed", "US"), ("US", "feed", "MX")];
    let cfg = |j: &str, kind: &str| ClientConfig::load(&pki.join(j).join(format!("{kind}.toml"))).unwrap();
    wait_ready(&cfg("MX", "analyst")).await;

    let stop = Arc::new(AtomicBool::new(false));
    let receipted: Receipted = Arc::default();
    let mut tasks = Vec::new();
    for (j, kind, to) in senders {
        let client = Client::open(cfg(j, kind)).unwrap();
        tasks.push(tokio::spawn(stream(client, to, stop.clone(), receipted.clone())));
    }
    until_receipted(&receipted, 40).await;

    // The backup, while the four stream.
    let out = dir.path().join("backups/relay.redb");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let before: Vec<(String, TipId)> = receipted.lock().unwrap().clone();
    let (rt2, out2) = (rt.clone(), out.clone());
    let o = tokio::task::spawn_blocking(move || {
        tiprelay(&["backup", "--config", rt2.to_str().unwrap(), "--out", out2.to_str().unwrap(), "--json"])
    })
    .await
    .unwrap();
    let after = receipted.lock().unwrap().len();
    let report = json_of(&o, "tiprelay backup");
    // More tips after it, so the relay's log runs on past what the backup holds.
    until_receipted(&receipted, after + 40).await;
    stop.store(true, Ordering::SeqCst);
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }

    // What the backup reports is the file it wrote.
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(report["sha256"], tiprelay_proto::Digest::of(&bytes).to_hex(), "{report}");
    assert_eq!(report["bytes"], bytes.len() as u64);
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&out).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "a backup holds tip bodies");
    let n = report["tips"].as_u64().unwrap();
    // Every tip receipted before it started is in it; at most one more per sender than
    // were receipted when it ended (a receipt still on its way back).
    assert!(before.len() as u64 <= n && n <= (after + senders.len()) as u64, "{} <= {n} <= {after} + 4", before.len());
    let cp = &report["checkpoint"];
    assert!(cp["size"].as_u64().unwrap() > 0 && cp["size"].as_u64() <= report["audit_entries"].as_u64(), "{report}");

    // Every tip in it has its receipt, signed by the relay for that tip, and it is the
    // receipt its author holds.
    let relay_cfg = RelayConfig::load(&rt).unwrap();
    let trust = tiprelay_common::files::load_trust(&relay_cfg.trust).unwrap();
    let held = tips_in(&out);
    assert_eq!(held.len() as u64, n);
    let mut author_receipts = BTreeMap::new();
    for c in &clients {
        for (id, r) in c.store.outbox().unwrap() {
            if let Some(receipt) = r.receipt {
                author_receipts.insert(TipId::from_bytes(id).unwrap(), receipt);
            }
        }
    }
    for ((from, id), rec) in &held {
        let at = tiprelay_proto::parse::<Receipt>(&rec.receipt).unwrap().message.accepted;
        let v = tiprelay_proto::verify::<Receipt>(&rec.receipt, &trust, at).unwrap().message;
        assert_eq!(
            (&v.tip, v.from.as_str(), v.seq, v.digest.0.as_slice()),
            (id, from.as_str(), rec.seq, rec.digest.as_slice())
        );
        if let Some(theirs) = author_receipts.get(id) {
            assert_eq!(theirs, &rec.receipt, "tip {id}: the author holds another receipt");
        }
    }
    for (from, id) in &before {
        assert!(held.contains_key(&(from.clone(), *id)), "tip {id}, receipted before the backup, is not in it");
    }
    // Their stores are closed before tipctl opens one of them.
    drop(clients);

    // The US analyst cosigns the running relay's newest checkpoint, past the backup.
    let us = pki.join("US/analyst.toml");
    let w = tipctl(&us, &["audit", "witness", "--json"]);
    assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
    assert_eq!(relay.terminate(), Some(0));

    // Restore: the copy in place of a store, check-config, start.
    let restored = pki.join("restored/relay.redb");
    std::fs::create_dir_all(restored.parent().unwrap()).unwrap();
    std::fs::copy(&out, &restored).unwrap();
    let addr2 = free_udp_port();
    let text = std::fs::read_to_string(&rt)
        .unwrap()
        .replace(&addr.to_string(), &addr2.to_string())
        .replace("relay/relay.redb", "restored/relay.redb");
    let rt_restored = pki.join("relay-restored.toml");
    std::fs::write(&rt_restored, text).unwrap();
    let o = tiprelay(&["check-config", "--config", rt_restored.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _relay2 = RelayProcess::spawn(&rt_restored, &dir.path().join("relay2.log"));

    // It serves: a principal with a fresh store connects and sends.
    let fresh = pki.join("US/analyst-fresh.toml");
    std::fs::write(
        &fresh,
        std::fs::read_to_string(&us)
            .unwrap()
            .replace(&addr.to_string(), &addr2.to_string())
            .replace("analyst/tipctl.redb", "analyst/fresh.redb"),
    )
    .unwrap();
    wait_ready(&ClientConfig::load(&fresh).unwrap()).await;
    let st = json_of(&tipctl(&fresh, &["status", "--json"]), "tipctl status");
    assert_eq!(st["connected"], true, "{st}");
    let sent = json_of(
        &tipctl(
            &fresh,
            &[
                "send",
                "--to",
                "MX",
                "--category",
                "fuel_theft",
                "--summary",
                "after the restore",
                "--tlp",
                "green",
                "--json",
            ],
        ),
        "tipctl send",
    );
    // The restored relay numbers on from the backup's last US→MX tip.
    let us_tips = held.keys().filter(|(f, _)| f == "US").count() as u64;
    assert_eq!(sent["receipt"]["seq"].as_u64(), Some(us_tips + 1), "{sent}");

    // Its audit log, exported beside it, verifies offline.
    let bundle = dir.path().join("restored.bundle");
    let o =
        tiprelay(&["audit", "export", "--config", rt_restored.to_str().unwrap(), "--out", bundle.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = tipctl(&fresh, &["audit", "verify", bundle.to_str().unwrap(), "--json"]);
    let v = json_of(&v, "tipctl audit verify");
    assert_eq!(v["valid"], true, "{v}");

    // The analyst who cosigned the lost head sees the rollback (PROTOCOL §13.7), and it
    // stops the command (exit 5, "verification failed").
    let moved = pki.join("US/analyst-moved.toml");
    std::fs::write(&moved, std::fs::read_to_string(&us).unwrap().replace(&addr.to_string(), &addr2.to_string()))
        .unwrap();
    let o = Command::new(tipctl_path())
        .env("TIPCTL_CONFIG", &moved)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8")
        .args(["audit", "witness"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(err.contains("rolled back"), "{err}");
}

#[test]
fn an_existing_backup_file_is_kept_without_force_and_a_postgres_store_is_refused_with_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let rt = make_pki(dir.path(), free_udp_port(), |_| {});
    // A store to copy (the relay creates it on its first start; `migrate` does too).
    let o = tiprelay(&["migrate", "--config", rt.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("relay.bak");
    std::fs::write(&out, b"last week's backup").unwrap();
    let o = tiprelay(&["backup", "--config", rt.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("exists already") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"last week's backup", "an existing file is left as it was");
    let o = tiprelay(&["backup", "--config", rt.to_str().unwrap(), "--out", out.to_str().unwrap(), "--force"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("Backup written to") && text.contains("SHA-256: "), "{text}");
    assert!(text.contains("no checkpoint yet"), "{text}");
    // The store itself, even with --force.
    let store = dir.path().join("pki/relay/relay.redb");
    let o = tiprelay(&["backup", "--config", rt.to_str().unwrap(), "--out", store.to_str().unwrap(), "--force"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the relay's own store"));

    // PostgreSQL: refused before any connection (nothing listens there), with pg_dump.
    let text = std::fs::read_to_string(&rt).unwrap().replace("store = \"relay/relay.redb\"\n", "")
        + "\n[store]\nkind = \"postgres\"\nurl = \"postgresql://tiprelay@127.0.0.1:9/tiprelay\"\n";
    let pg = dir.path().join("pki/relay-pg.toml");
    std::fs::write(&pg, text).unwrap();
    let pg_out = dir.path().join("pg.bak");
    let o = tiprelay(&["backup", "--config", pg.to_str().unwrap(), "--out", pg_out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("PostgreSQL store") && err.contains("pg_dump --format=custom"), "{err}");
    assert!(err.contains("docs/OPERATIONS.md, \"Backups and restore\""), "{err}");
    assert!(!pg_out.exists());
    let o = Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(["backup", "--config", pg.to_str().unwrap(), "--out", pg_out.to_str().unwrap()])
        .env("LC_ALL", "es_MX.UTF-8")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("almacén PostgreSQL") && err.contains("pg_dump --format=custom"), "{err}");
}

#[test]
fn tipctl_backup_works_while_tipctl_watch_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let rt = make_pki(dir.path(), free_udp_port(), |_| {});
    let _relay = RelayProcess::spawn(&rt, &dir.path().join("relay.log"));
    let (mx, us) = (dir.path().join("pki/MX/analyst.toml"), dir.path().join("pki/US/analyst.toml"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !tipctl(&us, &["status"]).status.success() {
        assert!(Instant::now() < deadline, "the relay did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut watch = Command::new(tipctl_path())
        .env("TIPCTL_CONFIG", &us)
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(watch.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for l in lines.lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let sent =
        tipctl(&mx, &["send", "--to", "US", "--category", "fuel_theft", "--summary", "x", "--tlp", "green", "--json"]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    // The watcher has the store open and the tip in it.
    let got = rx.recv_timeout(Duration::from_secs(30)).expect("tipctl watch printed nothing");
    assert!(got.contains("\"event\":\"tip\""), "{got}");

    let out = dir.path().join("us-backup.redb");
    let o = tipctl(&us, &["backup", "--out", out.to_str().unwrap(), "--json"]);
    let r = json_of(&o, "tipctl backup");
    assert_eq!(r["inbox"], 1, "{r}");
    assert!(r["audit_entries"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(r["sha256"], tiprelay_proto::Digest::of(&std::fs::read(&out).unwrap()).to_hex());
    // Again, onto the same file: refused without --force, and the watcher still runs.
    let o = tipctl(&us, &["backup", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(watch.try_wait().unwrap().is_none(), "tipctl watch must keep running");
    let o = tipctl(&us, &["backup", "--out", out.to_str().unwrap(), "--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = watch.kill();
    let _ = watch.wait();
    reader.join().unwrap();

    // The copy is a store tipctl opens, with the tip.
    let restored = dir.path().join("pki/US/analyst-restored.toml");
    std::fs::write(
        &restored,
        std::fs::read_to_string(&us).unwrap().replace("analyst/tipctl.redb", out.to_str().unwrap()),
    )
    .unwrap();
    let inbox =
        tiprelay_client::store::LocalStore::open(&ClientConfig::load(&restored).unwrap().store).unwrap().inbox();
    assert_eq!(inbox.unwrap().len(), 1);
}
