//! The Prometheus endpoints: `/metrics` parses with a Prometheus text-format parser and its
//! counters match what the relay did; `/healthz` and `/readyz` answer.

use std::io::{Read, Write};
use std::net::SocketAddr;

use crate::common::*;
use tiprelay_proto::wire::Request;

/// One HTTP GET; the status code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_owned())
}

fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.samples.iter().find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))).map(
        |s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
            prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_relay_did_and_health_answers() {
    let mut w = World::start_with(|t| t.push_str("\n[metrics]\nlisten = \"127.0.0.1:0\"\n")).await;
    let addr = w.relay.as_ref().unwrap().metrics_addr().expect("metrics configured");
    assert_eq!(get(addr, "/healthz").0, 200);
    assert_eq!(get(addr, "/readyz").0, 200);
    assert_eq!(get(addr, "/nothing").0, 404);

    // 100 MX tips in batches; the US analyst fetches and acknowledges them.
    let mx = w.client("MX", "analyst");
    for i in 0..100 {
        mx.compose(draft("US", &format!("metrics tip {i}"))).unwrap();
    }
    let c = connect(&mx).await;
    let sent = mx.resend(&c).await.unwrap();
    assert_eq!(sent.sent.len(), 100);
    let us = w.client("US", "analyst");
    let cu = connect(&us).await;
    let mut got = 0;
    for _ in 0..10 {
        let r = us.sync_inbox(&cu).await.unwrap();
        if r.is_empty() {
            break;
        }
        got += r.len();
    }
    assert_eq!(got, 100);
    // A feed asking for records is refused, and counted.
    let feed = w.client("MX", "feed");
    let cf = connect(&feed).await;
    assert!(cf.request(&Request::Records { since: 0, until: u64::MAX, after: None, limit: 1 }).await.is_err());

    let (code, body) = get(addr, "/metrics");
    assert_eq!(code, 200);
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let accepted = value(&scrape, "tiprelay_tips_accepted_total", &[("from", "MX"), ("to", "US")]);
    assert_eq!(accepted, Some(100.0), "{body}");
    assert_eq!(value(&scrape, "tiprelay_tips_delivered_total", &[("from", "MX"), ("to", "US")]), Some(100.0));
    assert_eq!(value(&scrape, "tiprelay_pending_tips", &[("to", "US")]), Some(0.0));
    assert!(value(&scrape, "tiprelay_requests_total", &[("kind", "submit_batch"), ("outcome", "ok")]) >= Some(1.0));
    assert_eq!(
        value(&scrape, "tiprelay_requests_total", &[("kind", "records"), ("outcome", "not_permitted")]),
        Some(1.0)
    );
    assert_eq!(value(&scrape, "tiprelay_connections", &[("jurisdiction", "MX")]), Some(2.0));
    assert!(value(&scrape, "tiprelay_audit_entries_total", &[]) >= Some(200.0), "accepted and acked entries");
    assert!(value(&scrape, "tiprelay_crl_next_update_seconds", &[("authority", "MX")]) > Some(0.0));
    let commits = scrape.samples.iter().find(|s| s.metric == "tiprelay_commit_seconds").expect("commit histogram");
    assert!(matches!(commits.value, prometheus_parse::Value::Histogram(_)));
    // No principal, tip id or content in any label.
    for s in &scrape.samples {
        for (k, v) in s.labels.iter() {
            assert!(!v.contains("tiprelay://") && !v.contains("metrics tip"), "label {k}={v}");
        }
    }
    for conn in [c, cu, cf] {
        conn.close().await;
    }
    w.relay.take().unwrap().shutdown().await.unwrap();
}
