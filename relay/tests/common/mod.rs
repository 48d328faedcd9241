//! Test support: a fresh dev PKI in a temp dir and a real relay on 127.0.0.1:0.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};

use tiprelay::config::RelayConfig;
use tiprelay::server::{self, RelayHandle};
use tiprelay_certs::dev::{create, DevOptions};
use tiprelay_client::{Client, ClientConfig, Draft, RelayConn};
use tiprelay_proto::{Category, Tlp, Urgency};

pub struct World {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub relay: Option<RelayHandle>,
}

impl World {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A dev PKI whose configs point at a port we hold, then a relay on that port.
    pub async fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        create(&DevOptions {
            out: dir.path().join("pki"),
            jurisdictions: vec!["MX".parse().unwrap(), "US".parse().unwrap()],
            relay_addr: addr,
            force: false,
        })
        .unwrap();
        let cfg = RelayConfig::load(&dir.path().join("pki/relay.toml")).unwrap();
        let relay = server::start(cfg, Some(socket)).await.unwrap();
        World { dir, addr, relay: Some(relay) }
    }

    pub fn config(&self, j: &str, kind: &str) -> PathBuf {
        self.path().join("pki").join(j).join(format!("{kind}.toml"))
    }

    pub fn client(&self, j: &str, kind: &str) -> Client {
        Client::open(ClientConfig::load(&self.config(j, kind)).unwrap()).unwrap()
    }

    pub async fn restart(&mut self) {
        if let Some(r) = self.relay.take() {
            r.shutdown().await.unwrap();
        }
        let cfg = RelayConfig::load(&self.path().join("pki/relay.toml")).unwrap();
        // The port may take a moment to be free again.
        for _ in 0..50 {
            if let Ok(s) = UdpSocket::bind(self.addr) {
                self.relay = Some(server::start(cfg, Some(s)).await.unwrap());
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("port {} did not free up", self.addr);
    }
}

pub async fn connect(c: &Client) -> RelayConn {
    RelayConn::connect(&c.cfg).await.unwrap()
}

pub fn draft(to: &str, summary: &str) -> Draft {
    Draft {
        to: to.parse().unwrap(),
        category: Category::ArmedGroupCrossing,
        urgency: Urgency::Flash,
        summary: summary.into(),
        details: None,
        lang: None,
        location: None,
        observed_at: None,
        valid_until: None,
        source_reliability: None,
        info_credibility: None,
        tlp: Tlp::Amber,
        refs: vec![],
    }
}
