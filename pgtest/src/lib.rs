//! Tests only: a throwaway PostgreSQL cluster. `initdb` and `pg_ctl` in a directory the test
//! owns, listening only on a Unix socket there, stopped (by its own postmaster pid) when
//! dropped. As root, the cluster runs as `nobody` (PostgreSQL refuses to run as root).
//! Missing PostgreSQL binaries fail the test with how to install them: never a silent skip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding `initdb` and `pg_ctl`: on PATH, or Debian's versioned directory.
fn bindir() -> PathBuf {
    if let Some(p) = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    {
        // The real directory (PATH may hold symlinks to a few of the tools only).
        return std::fs::canonicalize(p.join("initdb"))
            .ok()
            .and_then(|i| i.parent().map(Path::to_path_buf))
            .unwrap_or(p);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect())
        .unwrap_or_default();
    versions.sort();
    if let Some(d) = versions.into_iter().rev().find(|d| d.join("initdb").exists()) {
        return d;
    }
    install();
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect())
        .unwrap_or_default();
    versions.sort();
    versions.into_iter().rev().find(|d| d.join("initdb").exists()).unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` package \
             (`sudo apt-get install postgresql`; .ci/run does)"
        )
    })
}

/// Installs Debian's `postgresql` when this machine can (root with apt-get), once for all
/// test processes (`flock` serialises them); elsewhere the caller explains what to install.
fn install() {
    if !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        return;
    }
    eprintln!("tiprelay-pgtest: installing Debian's postgresql package for the storage tests");
    let st = Command::new("flock")
        .args(["/tmp/tiprelay-pgtest-apt.lock", "sh", "-c"])
        .arg(
            "test -d /usr/lib/postgresql || { apt-get update -q && \
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; }",
        )
        .status();
    if !st.is_ok_and(|s| s.success()) {
        eprintln!("tiprelay-pgtest: apt-get could not install postgresql");
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL tool, as `nobody` when we are root.
fn run(tool: &Path, args: &[&str]) {
    let out = if is_root() {
        Command::new("runuser").args(["-u", "nobody", "--"]).arg(tool).args(args).output()
    } else {
        Command::new(tool).args(args).output()
    }
    .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        tool.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running cluster in `dir/pg` (created on first use, restarted on later ones).
pub struct Cluster {
    data: PathBuf,
    socket: PathBuf,
    port: u16,
    opts: String,
}

/// How a cluster is started beyond the defaults (Unix socket only, fsync and synchronous
/// commit on).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also listen on 127.0.0.1 with TLS only (`hostssl`): the server's certificate and key
    /// (PEM). Plain TCP connections are rejected.
    pub tls: Option<(String, String)>,
}

fn chown_nobody(path: &Path) {
    if is_root() {
        let st = Command::new("chown").args(["-R", "nobody:nogroup"]).arg(path).status().unwrap();
        assert!(st.success());
    }
}

fn traversable(dir: &Path) {
    if is_root() {
        // The test's directory must be traversable by `nobody`, the cluster its own.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

impl Cluster {
    /// Starts the cluster in `dir/pg`, creating it (and its database `relay`) the first time.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &Options::default())
    }

    /// As [`Cluster::start`], with `options`.
    pub fn start_with(dir: &Path, options: &Options) -> Self {
        let bin = bindir();
        let root = dir.join("pg");
        let (data, socket) = (root.join("data"), root.join("sock"));
        let fresh = !data.exists();
        if fresh {
            std::fs::create_dir_all(&socket).unwrap();
            traversable(dir);
            chown_nobody(&root);
            run(
                &bin.join("initdb"),
                &["-D", data.to_str().unwrap(), "-U", "tiprelay", "--auth=trust", "-E", "UTF8", "--no-locale", "-N"],
            );
        }
        let mut opts = String::new();
        let listen = if let Some((cert, key)) = &options.tls {
            if fresh {
                use std::os::unix::fs::PermissionsExt;
                std::fs::write(data.join("server.crt"), cert).unwrap();
                std::fs::write(data.join("server.key"), key).unwrap();
                std::fs::set_permissions(data.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
                // TLS only over TCP; the Unix socket (tools) stays trusted.
                std::fs::write(
                    data.join("pg_hba.conf"),
                    "local all all trust\nlocal replication all trust\nhostssl all all 127.0.0.1/32 trust\n",
                )
                .unwrap();
                chown_nobody(&root);
            }
            opts.push_str(" -c ssl=on");
            "127.0.0.1"
        } else {
            ""
        };
        let c = Cluster { data, socket, port: 0, opts };
        let c = c.launch(listen);
        if fresh {
            let port = c.port.to_string();
            run(&bin.join("createdb"), &["-h", c.socket.to_str().unwrap(), "-p", &port, "-U", "tiprelay", "relay"]);
        }
        c
    }

    /// Starts the postmaster on a free port.
    fn launch(mut self, listen: &str) -> Self {
        let bin = bindir();
        self.port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = format!(
            "-k {} -c listen_addresses='{listen}' -p {} -c fsync=on -c synchronous_commit=on{}",
            self.socket.display(),
            self.port,
            self.opts
        );
        let root = self.data.parent().unwrap().to_path_buf();
        run(
            &bin.join("pg_ctl"),
            &["-D", self.data.to_str().unwrap(), "-o", &opts, "-l", root.join("log").to_str().unwrap(), "-w", "start"],
        );
        self
    }

    /// A streaming standby of `primary` in `dir/pg` (a base backup), connecting as
    /// `application_name = name` (then [`Cluster::make_synchronous`] on the primary makes it
    /// synchronous); hot standby, so it answers read-only connections.
    pub fn standby_of(primary: &Cluster, dir: &Path, name: &str) -> Self {
        let bin = bindir();
        let root = dir.join("pg");
        let (data, socket) = (root.join("data"), root.join("sock"));
        std::fs::create_dir_all(&socket).unwrap();
        traversable(dir);
        chown_nobody(&root);
        let port = primary.port.to_string();
        run(
            &bin.join("pg_basebackup"),
            &[
                "-h",
                primary.socket.to_str().unwrap(),
                "-p",
                &port,
                "-U",
                "tiprelay",
                "-D",
                data.to_str().unwrap(),
                "-X",
                "stream",
                "-R",
                "-c",
                "fast",
            ],
        );
        // -R wrote standby.signal and primary_conninfo; name the standby for the primary.
        let conninfo = format!(
            "primary_conninfo = 'host={} port={} user=tiprelay application_name={name}'\n",
            primary.socket.display(),
            primary.port
        );
        let auto = data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
        text.push_str(&conninfo);
        std::fs::write(&auto, text).unwrap();
        chown_nobody(&root);
        Cluster { data, socket, port: 0, opts: " -c hot_standby=on".into() }.launch("")
    }

    /// Makes this primary's commits wait for the standby `name` (`synchronous_standby_names`,
    /// with `synchronous_commit = on`): set once the standby runs (else every commit would
    /// wait for it), applied by a configuration reload.
    pub fn make_synchronous(&self, name: &str) {
        let auto = self.data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
        text.push_str(&format!("synchronous_standby_names = '{name}'\n"));
        std::fs::write(&auto, text).unwrap();
        run(&bindir().join("pg_ctl"), &["-D", self.data.to_str().unwrap(), "reload"]);
    }

    /// Promotes a standby to primary (`pg_ctl promote`, waiting until it accepts writes).
    pub fn promote(&self) {
        run(&bindir().join("pg_ctl"), &["-D", self.data.to_str().unwrap(), "-w", "promote"]);
    }

    /// Kills the postmaster and every one of its processes with SIGKILL, as a machine that
    /// lost power: no shutdown checkpoint, connections cut.
    pub fn kill9(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args(["-STOP", &pid]).status();
            let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            for _ in 0..200 {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
        }
        let _ = std::fs::remove_file(self.data.join("postmaster.pid"));
    }

    /// Connection parameters for database `db` (over the cluster's Unix socket).
    pub fn params(&self, db: &str) -> String {
        format!("host={} port={} user=tiprelay dbname={db}", self.socket.display(), self.port)
    }

    /// The Unix socket directory and port (for multi-host parameters).
    pub fn socket_and_port(&self) -> (PathBuf, u16) {
        (self.socket.clone(), self.port)
    }

    /// Connection parameters over TCP to 127.0.0.1 (a cluster started with [`Options::tls`]).
    pub fn tcp_params(&self, db: &str) -> String {
        format!("host=127.0.0.1 port={} user=tiprelay dbname={db}", self.port)
    }

    /// The postmaster's pid, from its pid file.
    fn pid(&self) -> Option<String> {
        std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?.lines().next().map(str::to_owned)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Fast shutdown by the postmaster's own pid (SIGINT), then wait for it to go.
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args(["-INT", &pid]).status();
            for _ in 0..200 {
                if !self.data.join("postmaster.pid").exists() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}
