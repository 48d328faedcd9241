//! Test support: a fresh dev PKI in a temp dir and a real relay on 127.0.0.1:0.

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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

/// A dev PKI in `dir/pki` whose configs point at `addr`; returns relay.toml's path.
pub fn make_pki(dir: &Path, addr: SocketAddr, edit: impl FnOnce(&mut String)) -> PathBuf {
    let jurisdictions = vec!["MX".parse().unwrap(), "US".parse().unwrap()];
    create(&DevOptions { out: dir.join("pki"), jurisdictions, relay_addr: addr, force: false }).unwrap();
    let rt = dir.join("pki/relay.toml");
    let mut text = std::fs::read_to_string(&rt).unwrap();
    edit(&mut text);
    std::fs::write(&rt, text).unwrap();
    rt
}

/// A federated dev PKI in `dir/pki` (`tipcerts dev --federated`): MX's relay on `mx`, the
/// US relay on `us`; returns the two relay.toml paths, MX's first.
pub fn make_federated_pki(dir: &Path, mx: SocketAddr, us: SocketAddr) -> [PathBuf; 2] {
    let relays = [("MX".parse().unwrap(), mx), ("US".parse().unwrap(), us)];
    tiprelay_certs::dev::create_federated(&tiprelay_certs::dev::FederatedOptions {
        out: dir.join("pki"),
        relays,
        force: false,
    })
    .unwrap();
    [dir.join("pki/MX/relay.toml"), dir.join("pki/US/relay.toml")]
}

/// Issues one more principal of jurisdiction `j` in a dev PKI (`dir/pki`) and writes its
/// tipctl configuration `dir/pki/<J>/<name>.toml`, a copy of `<kind>.toml` with its own
/// identity, keys and store; returns `name` (the configuration's stem).
pub fn add_principal(dir: &Path, j: &str, kind: &str, name: &str) -> String {
    let jdir = dir.join("pki").join(j);
    let mut ca = tiprelay_certs::ca::Ca::load(&jdir.join("ca")).unwrap();
    let id: tiprelay_proto::PrincipalId = format!("tiprelay://{j}/{kind}/{name}").parse().unwrap();
    ca.issue_principal(&id, &jdir.join(name), 30).unwrap();
    let text = std::fs::read_to_string(jdir.join(format!("{kind}.toml"))).unwrap();
    let text = text
        .replace(&format!("tiprelay://{j}/{kind}/{kind}-1"), &id.to_string())
        .replace(&format!("\"{kind}/"), &format!("\"{name}/"));
    std::fs::write(jdir.join(format!("{name}.toml")), text).unwrap();
    name.to_owned()
}

impl World {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A dev PKI whose configs point at a port we hold, then a relay on that port.
    pub async fn start() -> World {
        Self::start_with(|_| {}).await
    }

    /// Like [`World::start`], letting the caller edit relay.toml's text first.
    pub async fn start_with(edit: impl FnOnce(&mut String)) -> World {
        let dir = tempfile::tempdir().unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let rt = make_pki(dir.path(), addr, edit);
        let relay = server::start(RelayConfig::load(&rt).unwrap(), Some(socket)).await.unwrap();
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
        // The port may take a moment to be free again (bounded: 5 s).
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

/// The message signer of principal `kind` of jurisdiction `j` in `w`'s dev PKI.
pub fn signer(w: &World, j: &str, kind: &str) -> tiprelay_proto::Signer {
    let d = w.path().join("pki").join(j).join(kind);
    tiprelay_client::files::read_signer(&d.join("sign.key"), &d.join("sign.crt")).unwrap()
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

pub fn ms_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// The code of a refused request.
pub fn refused_code<T: std::fmt::Debug>(r: Result<T, tiprelay_client::conn::ConnError>) -> u16 {
    match r {
        Err(tiprelay_client::conn::ConnError::Refused(e)) => e.code,
        other => panic!("expected a typed refusal, got {other:?}"),
    }
}

/// The relay as a child process, killed by its own pid when dropped.
pub struct RelayProcess {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
}

impl RelayProcess {
    pub fn spawn(config: &Path, log: &Path) -> Self {
        let mut p = Self { child: None, config: config.to_path_buf(), log: log.to_path_buf() };
        p.start();
        p
    }

    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tiprelay"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// The running relay's pid (0 when not running).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Starts the relay again if its process exited (as a service manager would).
    pub fn ensure_running(&mut self) {
        let exited = self.child.as_mut().is_none_or(|c| c.try_wait().ok().flatten().is_some());
        if exited {
            self.child = None;
            self.start();
        }
    }

    /// SIGSTOP: the process stays, silent (a hung machine).
    pub fn stop(&self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill").args(["-STOP", &c.id().to_string()]).status();
        }
    }

    /// SIGCONT after [`RelayProcess::stop`].
    pub fn cont(&self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill").args(["-CONT", &c.id().to_string()]).status();
        }
    }

    /// SIGKILL, then wait for the pid to be reaped.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

impl RelayProcess {
    /// SIGTERM (graceful shutdown) and the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let c = self.child.as_mut()?;
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                return st.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}
