//! Receipt latency: one client, one warm connection, N tips sent one after another; the
//! time from submit to a verified, stored receipt. Release build:
//! `cargo run --release --locked -p tiprelay --example receipt_latency -- 500`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use tiprelay::config::RelayConfig;
use tiprelay_client::{Client, ClientConfig, Draft, RelayConn};
use tiprelay_proto::{Category, Tlp, Urgency};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(500);
    let dir = tempfile::tempdir()?;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let addr = socket.local_addr()?;
    tiprelay_certs::dev::create(&tiprelay_certs::dev::DevOptions {
        out: dir.path().join("pki"),
        jurisdictions: vec!["MX".parse()?, "US".parse()?],
        relay_addr: addr,
        force: false,
    })?;
    let relay = tiprelay::server::start(RelayConfig::load(&dir.path().join("pki/relay.toml"))?, Some(socket)).await?;
    let mx = Client::open(ClientConfig::load(&dir.path().join("pki/MX/analyst.toml"))?)?;
    let conn = RelayConn::connect(&mx.cfg).await?;
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let d = Draft {
            to: "US".parse()?,
            category: Category::DrugShipment,
            urgency: Urgency::Priority,
            summary: format!("latency probe {i}"),
            details: None,
            lang: None,
            location: None,
            observed_at: None,
            valid_until: None,
            source_reliability: None,
            info_credibility: None,
            tlp: Tlp::Green,
            refs: vec![],
        };
        let (tip, _) = mx.compose(d)?;
        let t = Instant::now();
        mx.send(&conn, &tip.id).await?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    conn.close().await;
    relay.shutdown().await?;
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "receipt latency over {n} sequential tips (submit → verified receipt stored): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p(0.5),
        p(0.9),
        p(0.99),
        lat[lat.len() - 1]
    );
    Ok(())
}
