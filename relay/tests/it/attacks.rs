//! The relay under attack (issue: stay up under attack), over real QUIC: pre-authentication
//! handshake floods, peers that do not read, refusals hidden by floods, feeds reading what
//! they should not, non-canonical envelopes, rolled-back CRLs, EKU-less certificates,
//! per-principal rates and quotas, and malformed request streams.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use tiprelay_client::files;
use tiprelay_client::{ClientConfig, RelayConn};
use tiprelay_proto::wire::{unframe, Request, Response, MAX_FRAME_BYTES};
use tiprelay_proto::{ErrorCode, Signer, Timestamp, Tip, TipId};

fn tip_by(author: &Signer, to: &str, details: Option<String>) -> Tip {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let now = Timestamp::from_unix_ms(ms_now()).unwrap();
    let mut r = [0u8; 10];
    r[..4].copy_from_slice(&N.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_be_bytes());
    r[4..8].copy_from_slice(&std::process::id().to_be_bytes());
    Tip {
        id: TipId::new_v7(now, r),
        from: author.identity().jurisdiction().unwrap(),
        to: to.parse().unwrap(),
        author: author.identity().clone(),
        created: now,
        category: tiprelay_proto::Category::TunnelLocated,
        urgency: tiprelay_proto::Urgency::Immediate,
        summary: "tunnel under sector 7".into(),
        details,
        lang: "en".parse().unwrap(),
        location: None,
        observed_at: None,
        valid_until: None,
        source_reliability: None,
        info_credibility: None,
        tlp: tiprelay_proto::Tlp::Amber,
        refs: vec![],
    }
}

fn error_of(r: Result<Response, tiprelay_client::conn::ConnError>) -> tiprelay_proto::wire::WireError {
    match r {
        Err(tiprelay_client::conn::ConnError::Refused(e)) => e,
        other => panic!("expected a typed refusal, got {other:?}"),
    }
}

/// A QUIC client that gets as far as answering the relay's Retry and then goes silent:
/// the cheapest way to make the relay keep handshake state for a validated address.
fn silent_handshakes(server: SocketAddr, from: IpAddr, n: usize) -> usize {
    let sock = std::net::UdpSocket::bind((from, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    tls.alpn_protocols = vec![tiprelay_proto::limits::ALPN.to_vec()];
    let crypto = quinn_proto::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let cfg = quinn_proto::ClientConfig::new(Arc::new(crypto));
    let mut ep = quinn_proto::Endpoint::new(Arc::new(quinn_proto::EndpointConfig::default()), None, false, None);
    let mut conns = HashMap::new();
    let mut answered = HashSet::new();
    let mut buf = Vec::new();
    let mut rbuf = vec![0u8; 65536];
    // In chunks, so the relay's socket buffer is not what drops them.
    for chunk in 0..n.div_ceil(25) {
        let now = Instant::now();
        for _ in 0..25.min(n - chunk * 25) {
            let (h, mut c) = ep.connect(now, cfg.clone(), server, "localhost").unwrap();
            while let Some(t) = c.poll_transmit(now, 1, &mut buf) {
                let _ = sock.send_to(&buf[..t.size], t.destination);
                buf.clear();
            }
            conns.insert(h, c);
        }
        // Answer each Retry once, with the token; everything after that is ignored.
        let deadline = Instant::now() + Duration::from_secs(1);
        while answered.len() < conns.len() && Instant::now() < deadline {
            let Ok((len, addr)) = sock.recv_from(&mut rbuf) else { continue };
            let data = bytes::BytesMut::from(&rbuf[..len]);
            let mut resp = Vec::new();
            if let Some(quinn_proto::DatagramEvent::ConnectionEvent(h, ev)) =
                ep.handle(Instant::now(), addr, None, None, data, &mut resp)
            {
                if !answered.insert(h) {
                    continue;
                }
                if let Some(c) = conns.get_mut(&h) {
                    c.handle_event(ev);
                    while let Some(t) = c.poll_transmit(Instant::now(), 1, &mut buf) {
                        let _ = sock.send_to(&buf[..t.size], t.destination);
                        buf.clear();
                    }
                }
            }
        }
    }
    answered.len()
}

/// 2,000 handshakes that answer the Retry and go silent, from eight addresses, while an
/// analyst still connects, asks for its status and sends a tip; pending handshakes are
/// capped per source, and only authenticated connections take a connection slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_handshakes_after_retry_do_not_lock_principals_out() {
    // A long handshake timeout, so every admitted silent handshake is still pending while
    // the analyst works; a small connection cap, which the silent ones must not consume.
    let w = World::start_with(|t| {
        t.push_str("\n[limits]\nhandshake_timeout_secs = 30\nmax_connections = 64\n");
    })
    .await;
    let addr = w.addr;
    let flood = tokio::task::spawn_blocking(move || {
        let threads: Vec<_> = (2..10u8)
            .map(|i| std::thread::spawn(move || silent_handshakes(addr, IpAddr::from([127, 0, 0, i]), 250)))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum::<usize>()
    });
    let answered = flood.await.unwrap();
    // A few Retries may be lost on a busy loopback (UDP); the rest answered them.
    assert!(answered >= 1500, "only {answered} of 2,000 handshakes got a Retry");

    let mx = w.client("MX", "analyst");
    let started = Instant::now();
    let c = tokio::time::timeout(Duration::from_secs(10), RelayConn::connect(&mx.cfg))
        .await
        .expect("the analyst could not connect during the flood")
        .unwrap();
    assert!(matches!(c.request(&Request::Status).await.unwrap(), Response::Status { .. }));
    let (tip, _) = mx.compose(draft("US", "armed group crossing at the river")).unwrap();
    let sent = mx.resend(&c).await.unwrap();
    assert!(sent.sent.iter().any(|s| s.tip.id == tip.id), "the tip was not receipted during the flood");
    eprintln!("analyst connect + status + send during the flood: {:?}", started.elapsed());
    c.close().await;

    // The command-line client too.
    let tipctl = std::path::Path::new(env!("CARGO_BIN_EXE_tiprelay")).with_file_name("tipctl");
    let out = std::process::Command::new(tipctl)
        .args(["--config"])
        .arg(w.config("US", "analyst"))
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "tipctl status failed: {}", String::from_utf8_lossy(&out.stderr));

    // The refused handshakes are in the audit log, counted.
    let mut w = w;
    w.relay.take().unwrap().shutdown().await.unwrap();
    let entries = audit_entries(&w);
    let refused: u64 = entries
        .iter()
        .filter(|e| e.kind == "auth_failed" && e.code.as_deref() == Some("too_many_handshakes_from_source"))
        .count() as u64
        + entries.iter().filter(|e| e.kind == "auth_failed_suppressed").filter_map(|e| e.seq).sum::<u64>();
    assert!(refused >= 1000, "only {refused} refused handshakes are in the log");
}

/// Every entry of the relay's audit log (the relay must be stopped).
fn audit_entries(w: &World) -> Vec<tiprelay_proto::audit::AuditEntry> {
    let cfg = tiprelay::config::RelayConfig::load(&w.path().join("pki/relay.toml")).unwrap();
    let out = w.path().join(format!("export-{}.bundle", ms_now()));
    tiprelay::audit::export(&cfg, tiprelay::storage::ExportRange::default(), &out).unwrap();
    let mut all = Vec::new();
    let f = std::fs::File::open(&out).unwrap();
    tiprelay_proto::audit::verify_bundle(std::io::BufReader::new(f), None, |e| all.push(e.clone())).unwrap();
    all
}

/// A wrong-ALPN handshake flood while an analyst makes 30 refused attempts: every one of
/// the 30 is in the exported log (individually or in a counted aggregate), and the
/// unauthenticated failures beyond their own budget are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_attempts_reach_the_log_under_a_handshake_flood() {
    let mut w = World::start().await;
    let addr = w.addr;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13])
                .unwrap()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            tls.alpn_protocols = vec![b"not-tiprelay/9".to_vec()];
            let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
            let mut ep = quinn::Endpoint::client("127.0.0.3:0".parse().unwrap()).unwrap();
            ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
            let mut attempts = 0u32;
            let mut set = tokio::task::JoinSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && attempts < 3000 {
                if let Ok(c) = ep.connect(addr, "localhost") {
                    set.spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(3), c).await;
                    });
                }
                attempts += 1;
                if set.len() >= 64 {
                    set.join_next().await;
                }
            }
            while set.join_next().await.is_some() {}
            attempts
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // 30 attempts by the MX analyst to submit the MX feed's tip as its own.
    let mx = w.client("MX", "analyst");
    let c = connect(&mx).await;
    let feed = signer(&w, "MX", "feed");
    for _ in 0..30 {
        let env = feed.sign(&tip_by(&feed, "US", None)).unwrap();
        let e = error_of(c.request(&Request::Submit { envelope: env }).await);
        assert_eq!(e.code, ErrorCode::IdentityMismatch as u16);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let attempts = flood.await.unwrap();
    assert!(attempts > 100, "the flood made only {attempts} attempts");
    c.close().await;
    w.relay.take().unwrap().shutdown().await.unwrap();

    let entries = audit_entries(&w);
    let me = mx.cfg.principal.to_string();
    let mine = |e: &&tiprelay_proto::audit::AuditEntry| {
        e.principal.as_deref() == Some(me.as_str()) && e.code.as_deref() == Some("identity_mismatch")
    };
    let individual = entries.iter().filter(|e| e.kind == "rejected").filter(mine).count() as u64;
    let aggregated: u64 =
        entries.iter().filter(|e| e.kind == "rejected_repeated").filter(mine).filter_map(|e| e.seq).sum();
    assert_eq!(individual + aggregated, 30, "{individual} individual + {aggregated} aggregated refusals in the log");
    let unauth_logged = entries.iter().filter(|e| e.kind == "auth_failed").count() as u64;
    let unauth_counted: u64 = entries.iter().filter(|e| e.kind == "auth_failed_suppressed").filter_map(|e| e.seq).sum();
    assert!(unauth_logged > 0, "no handshake failure was logged");
    // Their codes are fixed names, never text the peer chose.
    for e in entries.iter().filter(|e| e.kind == "auth_failed") {
        let code = e.code.as_deref().unwrap_or("");
        assert!(
            !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "auth_failed code `{code}`"
        );
    }
    assert!(unauth_logged + unauth_counted > 100, "handshake failures went uncounted");
}

/// Feeds send; they read nothing of the bilateral exchange but their own notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_are_refused_every_read_but_their_own_notices() {
    let w = World::start().await;
    let feed = w.client("MX", "feed");
    let c = connect(&feed).await;
    for req in [
        Request::Records { since: 0, until: u64::MAX, after: None, limit: 10 },
        Request::Statements { after: 0, limit: 1 },
        Request::Fetch { limit: 1 },
        Request::Checkpoint { fresh: false },
        Request::Inclusion { index: 0, size: 1 },
        Request::Consistency { old: 1, new: 2 },
    ] {
        let name = format!("{req:?}");
        let e = error_of(c.request(&req).await);
        assert_eq!(e.code, ErrorCode::NotPermitted as u16, "{name}: {e}");
        assert!(e.reason.contains("feed"), "{}", e.reason);
    }
    // What a feed may do still works.
    assert!(matches!(c.request(&Request::Status).await.unwrap(), Response::Status { .. }));
    assert!(matches!(c.request(&Request::Acks { after: 0, limit: 10 }).await.unwrap(), Response::Acks { .. }));
    let (tip, _) = feed.compose(draft("US", "southbound arms at port 3")).unwrap();
    let sent = feed.resend(&c).await.unwrap();
    assert!(sent.sent.iter().any(|s| s.tip.id == tip.id));
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

/// The same tip, re-encoded in the forms a holder of it could make without the author's
/// key: every one is refused as `malformed_envelope`, and the canonical bytes are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_canonical_envelopes_are_refused() {
    let w = World::start().await;
    let mx = w.client("MX", "analyst");
    let me = signer(&w, "MX", "analyst");
    let c = connect(&mx).await;
    let env = me.sign(&tip_by(&me, "US", None)).unwrap();
    assert_eq!(&env[..2], &[0xd2, 0x84], "a tagged 4-array");
    // The unprotected map is the empty map a0 right after the protected bstr.
    let prot_len = match env[2] {
        0x40..=0x57 => (env[2] - 0x40) as usize + 1,
        0x58 => env[3] as usize + 2,
        0x59 => u16::from_be_bytes([env[3], env[4]]) as usize + 3,
        other => panic!("unexpected protected header head {other:#x}"),
    };
    let unprot = 2 + prot_len;
    assert_eq!(env[unprot], 0xa0);
    let forms: Vec<(&str, Vec<u8>)> = vec![
        // Tag 18 with a one-byte argument head.
        ("non-minimal tag head", [&[0xd8, 0x12][..], &env[1..]].concat()),
        // The array with a one-byte length head.
        ("non-minimal array head", [&[0xd2, 0x98, 0x04][..], &env[2..]].concat()),
        // An indefinite-length array.
        ("indefinite-length array", [&[0xd2, 0x9f][..], &env[2..], &[0xff][..]].concat()),
        // The empty unprotected map as b8 00.
        ("b8 00 unprotected map", [&env[..unprot], &[0xb8, 0x00][..], &env[unprot + 1..]].concat()),
        // An indefinite-length empty unprotected map.
        ("bf ff unprotected map", [&env[..unprot], &[0xbf, 0xff][..], &env[unprot + 1..]].concat()),
    ];
    for (what, bytes) in forms {
        let e = error_of(c.request(&Request::Submit { envelope: bytes }).await);
        assert_eq!(e.code, ErrorCode::MalformedEnvelope as u16, "{what}: {e}");
    }
    assert!(matches!(c.request(&Request::Submit { envelope: env }).await.unwrap(), Response::Submitted { .. }));
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

/// A relay that used a newer CRL refuses to start with an older one, after a restart too:
/// the CRL number it accepted is kept in its store; so does a client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_crl_after_a_restart_is_refused() {
    let mut w = World::start().await;
    let crl_path = w.path().join("pki/MX/ca/crl.pem");
    let old_crl = std::fs::read(&crl_path).unwrap();
    // A client opens its store with the old CRL, then with the newer one.
    let mx_cfg = w.config("US", "analyst");
    drop(tiprelay_client::Client::open(ClientConfig::load(&mx_cfg).unwrap()).unwrap());
    let mut ca = tiprelay_certs::Ca::load(&w.path().join("pki/MX/ca")).unwrap();
    ca.revoke(&w.path().join("pki/MX/feed/tls.crt")).unwrap();
    w.restart().await;
    drop(tiprelay_client::Client::open(ClientConfig::load(&mx_cfg).unwrap()).unwrap());
    w.relay.take().unwrap().shutdown().await.unwrap();

    // Roll the CRL back while the relay is down.
    std::fs::write(&crl_path, &old_crl).unwrap();
    let cfg = tiprelay::config::RelayConfig::load(&w.path().join("pki/relay.toml")).unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = match tiprelay::server::start(cfg, Some(socket)).await {
        Ok(_) => panic!("the relay started with an older CRL"),
        // The whole chain ("refusing to start: <why>"), as the `tiprelay` binary prints it.
        Err(e) => format!("{:#}", anyhow::Error::new(e)),
    };
    assert!(err.contains("older than one already accepted"), "{err}");
    assert!(err.contains("MX"), "{err}");
    let err = match tiprelay_client::Client::open(ClientConfig::load(&mx_cfg).unwrap()) {
        Ok(_) => panic!("the client opened with an older CRL"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("older than one already accepted"), "{err}");
}

/// A TLS client certificate from the right CA but without the clientAuth EKU (or without
/// digitalSignature) is refused in the handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_certificates_without_client_auth_eku_are_refused() {
    let w = World::start().await;
    let ca_dir = w.path().join("pki/MX/ca");
    let ca_key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca_dir.join("ca.key")).unwrap()).unwrap();
    let issuer =
        rcgen::Issuer::from_ca_cert_pem(&std::fs::read_to_string(ca_dir.join("ca.crt")).unwrap(), &ca_key).unwrap();
    let now = time::OffsetDateTime::now_utc();
    for (name, eku, ku) in [
        ("no-eku", vec![], vec![rcgen::KeyUsagePurpose::DigitalSignature]),
        ("no-ku", vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth], vec![]),
    ] {
        let key = tiprelay_certs::profile::random_key().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.not_before = now - time::Duration::hours(1);
        p.not_after = now + time::Duration::days(1);
        p.serial_number = Some(tiprelay_certs::profile::random_serial());
        p.is_ca = rcgen::IsCa::ExplicitNoCa;
        p.use_authority_key_identifier_extension = true;
        p.subject_alt_names
            .push(rcgen::SanType::URI(format!("tiprelay://MX/analyst/{name}").as_str().try_into().unwrap()));
        p.key_usages = ku;
        p.extended_key_usages = eku;
        let cert = p.signed_by(&key, &issuer).unwrap();
        let (crt, k) = (w.path().join(format!("{name}.crt")), w.path().join(format!("{name}.key")));
        std::fs::write(&crt, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let mut cfg = ClientConfig::load(&w.config("MX", "analyst")).unwrap();
        cfg.tls_cert = crt;
        cfg.tls_key = k;
        let refused = match RelayConn::connect(&cfg).await {
            Err(_) => true,
            Ok(c) => c.request(&Request::Status).await.is_err(),
        };
        assert!(refused, "a client certificate with {name} was served");
    }
    // The relay keeps serving good certificates.
    let c = connect(&w.client("MX", "analyst")).await;
    assert!(matches!(c.request(&Request::Status).await.unwrap(), Response::Status { .. }));
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

/// Per-principal rates and the pending quota, with small limits: typed, retryable refusals
/// that clear when the rate allows again or the recipient acknowledges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rates_and_quotas_refuse_with_retryable_codes() {
    let w = World::start_with(|t| {
        t.push_str(
            "\n[limits]\npending_quota_mib = 1\n\n[limits.rate]\ntips = { per_second = 64, burst = 64 }\n\
             fresh_checkpoints = { per_second = 1, burst = 2 }\n",
        );
    })
    .await;
    let mx = w.client("MX", "analyst");
    let me = signer(&w, "MX", "analyst");
    let c = connect(&mx).await;
    // The tip rate: one full batch passes, the next is refused as a whole with a retry-after.
    let batch = |n: usize| (0..n).map(|_| me.sign(&tip_by(&me, "US", None)).unwrap()).collect::<Vec<_>>();
    let first = c.request(&Request::SubmitBatch { envelopes: batch(64) }).await.unwrap();
    assert!(matches!(first, Response::SubmittedBatch { ref items } if items.iter().all(Result::is_ok)));
    let e = error_of(c.request(&Request::SubmitBatch { envelopes: batch(64) }).await);
    assert_eq!(e.code, ErrorCode::RateLimited as u16, "{e}");
    let wait = e.retry_after.expect("rate_limited carries retry_after");
    assert!((1..=1000).contains(&wait), "retry_after {wait} ms");
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let again = c.request(&Request::SubmitBatch { envelopes: batch(64) }).await.unwrap();
    assert!(matches!(again, Response::SubmittedBatch { ref items } if items.iter().all(Result::is_ok)));

    // Fresh checkpoints: a burst of two, then refused.
    assert!(c.request(&Request::Checkpoint { fresh: true }).await.is_ok());
    assert!(c.request(&Request::Checkpoint { fresh: true }).await.is_ok());
    let e = error_of(c.request(&Request::Checkpoint { fresh: true }).await);
    assert_eq!(e.code, ErrorCode::RateLimited as u16);
    // Plain checkpoint reads are a different rate.
    assert!(c.request(&Request::Checkpoint { fresh: false }).await.is_ok());

    // The pending quota (1 MiB): large tips until the quota refuses one.
    let big = || Some("x".repeat(15_000));
    let mut accepted = 0;
    let refused = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let env = me.sign(&tip_by(&me, "US", big())).unwrap();
        match c.request(&Request::Submit { envelope: env }).await {
            Ok(Response::Submitted { .. }) => accepted += 1,
            Err(tiprelay_client::conn::ConnError::Refused(e)) if e.code == ErrorCode::RateLimited as u16 => {}
            other => break error_of(other),
        }
        assert!(accepted < 200, "the quota never refused");
    };
    assert_eq!(refused.code, ErrorCode::QuotaExceeded as u16, "{refused}");
    assert!(refused.reason.contains("quota"), "{}", refused.reason);
    // The recipient acknowledges: the author may send again.
    let us = w.client("US", "analyst");
    let cu = connect(&us).await;
    for _ in 0..20 {
        if us.sync_inbox(&cu).await.unwrap().is_empty() {
            break;
        }
    }
    let env = me.sign(&tip_by(&me, "US", big())).unwrap();
    assert!(matches!(c.request(&Request::Submit { envelope: env }).await.unwrap(), Response::Submitted { .. }));
    cu.close().await;
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

/// Malformed request streams get the `{error}` frame PROTOCOL §10.2 promises: an empty
/// stream, a stream that ends inside the length prefix, and a stalled request (with the
/// stream then reset with code 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_stalled_requests_get_an_error_frame() {
    let w = World::start_with(|t| t.push_str("\n[limits]\nrequest_timeout_secs = 1\n")).await;
    let c = connect(&w.client("MX", "analyst")).await;
    let q = c.raw().clone();
    for (what, bytes) in [("empty stream", vec![]), ("2-byte prefix", vec![0, 0])] {
        let (mut s, mut r) = q.open_bi().await.unwrap();
        if !bytes.is_empty() {
            s.write_all(&bytes).await.unwrap();
        }
        s.finish().unwrap();
        let answer =
            tokio::time::timeout(Duration::from_secs(10), r.read_to_end(MAX_FRAME_BYTES)).await.unwrap().unwrap();
        let body = unframe(&answer, MAX_FRAME_BYTES).unwrap_or_else(|e| panic!("{what}: no frame: {e}"));
        match Response::decode_body(body).unwrap() {
            Response::Error(e) => assert_eq!(e.code, ErrorCode::BadRequest as u16, "{what}: {e}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // A stalled request: half a length prefix, then silence.
    let (mut s, mut r) = q.open_bi().await.unwrap();
    s.write_all(&[0, 0]).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), r.read_to_end(MAX_FRAME_BYTES)).await.unwrap().unwrap();
    match Response::decode_body(unframe(&answer, MAX_FRAME_BYTES).unwrap()).unwrap() {
        Response::Error(e) => {
            // Retryable: the client keeps the tip and sends it again.
            assert_eq!(e.code, ErrorCode::Unavailable as u16);
            assert!(e.reason.contains("timed out"), "{}", e.reason);
        }
        other => panic!("{other:?}"),
    }
    // The relay stopped reading the stalled request with code 1.
    let stopped = tokio::time::timeout(Duration::from_secs(5), s.stopped()).await.unwrap();
    assert_eq!(stopped.unwrap(), Some(quinn::VarInt::from_u32(1)));
    c.close().await;
    w.relay.unwrap().shutdown().await.unwrap();
}

/// The relay's resident memory: current and peak (KiB), from /proc.
fn rss_kib(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A QUIC connection authenticated as `cfg`'s principal whose receive windows are almost
/// closed: it asks and never reads.
async fn non_reading_connection(cfg: &ClientConfig) -> Option<quinn::Connection> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let op = cfg.trust.iter().find(|t| t.authority == tiprelay_proto::Authority::Operator).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(files::read_cert(&op.ca).unwrap()).unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(files::read_certs(&cfg.tls_cert).unwrap(), files::read_key(&cfg.tls_key).unwrap())
        .unwrap();
    tls.alpn_protocols = vec![tiprelay_proto::limits::ALPN.to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut qc = quinn::ClientConfig::new(Arc::new(quic));
    let mut t = quinn::TransportConfig::default();
    t.stream_receive_window(quinn::VarInt::from_u32(64));
    t.receive_window(quinn::VarInt::from_u32(1024));
    t.keep_alive_interval(Some(Duration::from_secs(1)));
    qc.transport_config(Arc::new(t));
    let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    ep.set_default_client_config(qc);
    let conn = ep.connect(cfg.relay_addr, &cfg.server_name).ok()?;
    tokio::time::timeout(Duration::from_secs(5), conn).await.ok()?.ok()
}

/// One analyst credential, 24 connections, 64 `fetch` streams each that never read, over
/// a 50,000-tip backlog: the relay's memory stays bounded (answers are built only within
/// the connection's and the principal's byte budgets, and streams that do not drain are
/// reset), connections beyond the per-principal cap are refused, and others are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_reading_fetch_streams_keep_relay_memory_bounded() {
    const BACKLOG: usize = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    let rt = make_pki(dir.path(), addr, |_| {});
    let cfg = tiprelay::config::RelayConfig::load(&rt).unwrap();

    // The backlog, written straight into the relay's store (signed tips, real receipts).
    {
        let relay_signer = tiprelay::server::read_signer(&cfg).unwrap();
        let (store, writer) = tiprelay::storage::Store::open(
            &cfg.store,
            relay_signer,
            cfg.jurisdictions.iter().copied(),
            256,
            u64::MAX,
            Default::default(),
        )
        .unwrap();
        let d = dir.path().join("pki/MX/feed");
        let feed = files::read_signer(&d.join("sign.key"), &d.join("sign.crt")).unwrap();
        for _ in 0..BACKLOG / 500 {
            let tips = (0..500)
                .map(|_| {
                    let tip = tip_by(&feed, "US", None);
                    let env = feed.sign(&tip).unwrap();
                    (Box::new(tip), tiprelay_proto::Digest::of(&env), env)
                })
                .collect::<Vec<_>>();
            for r in store.submit_many(tips).await.unwrap() {
                r.unwrap();
            }
        }
        drop(store);
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
    }
    let log = dir.path().join("relay.log");
    let relay = RelayProcess::spawn(&rt, &log);
    let us = ClientConfig::load(&dir.path().join("pki/US/analyst.toml")).unwrap();
    let mx = ClientConfig::load(&dir.path().join("pki/MX/analyst.toml")).unwrap();
    for _ in 0..100 {
        if RelayConn::connect(&mx).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = relay.pid();
    let (before, _) = rss_kib(pid);

    // 24 connections of the US analyst, each keeping 64 fetch streams open unread.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut attackers = tokio::task::JoinSet::new();
    let mut connected = 0;
    for _ in 0..24 {
        let Some(conn) = non_reading_connection(&us).await else { continue };
        // A connection over the per-principal cap is closed by the relay at once.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if conn.close_reason().is_some() {
            continue;
        }
        connected += 1;
        let stop = stop.clone();
        attackers.spawn(async move {
            let mut held: Vec<(quinn::SendStream, quinn::RecvStream)> = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Keep streams asking: the relay resets those it gives up on, and the
                // stream limit lets a new one open only when an old one is gone.
                match tokio::time::timeout(Duration::from_millis(200), conn.open_bi()).await {
                    Ok(Ok((mut s, r))) => {
                        let _ = s.write_all(&Request::Fetch { limit: 256 }.encode()).await;
                        let _ = s.finish();
                        held.push((s, r));
                        if held.len() > 256 {
                            held.remove(0);
                        }
                    }
                    Ok(Err(_)) => return,
                    Err(_) => {}
                }
            }
        });
    }
    assert!(connected <= 16, "{connected} connections of one principal were kept; the cap is 16");
    assert!(connected >= 8, "only {connected} attacking connections got through");

    // Meanwhile another principal is served.
    let mut peak = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        let c = RelayConn::connect(&mx).await.expect("another principal could not connect during the attack");
        assert!(matches!(c.request(&Request::Status).await.unwrap(), Response::Status { .. }));
        c.close().await;
        peak = peak.max(rss_kib(pid).0);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while attackers.join_next().await.is_some() {}
    let (_, hwm) = rss_kib(pid);
    eprintln!("relay RSS before {before} KiB, peak sampled {peak} KiB, high-water {hwm} KiB; {connected} connections");
    assert!(hwm < 256 * 1024, "relay RSS reached {hwm} KiB under the attack (limit 256 MiB)");
    drop(relay);
}
