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
}

impl Cluster {
    /// Starts the cluster in `dir/pg`, creating it (and its database `relay`) the first time.
    pub fn start(dir: &Path) -> Self {
        let bin = bindir();
        let root = dir.join("pg");
        let (data, socket) = (root.join("data"), root.join("sock"));
        let fresh = !data.exists();
        if fresh {
            std::fs::create_dir_all(&socket).unwrap();
            if is_root() {
                // The test's directory must be traversable by `nobody`, the cluster its own.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
                let st = Command::new("chown").args(["-R", "nobody:nogroup"]).arg(&root).status().unwrap();
                assert!(st.success());
            }
            run(
                &bin.join("initdb"),
                &["-D", data.to_str().unwrap(), "-U", "tiprelay", "--auth=trust", "-E", "UTF8", "--no-locale", "-N"],
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts =
            format!("-k {} -c listen_addresses='' -p {port} -c fsync=on -c synchronous_commit=on", socket.display());
        run(
            &bin.join("pg_ctl"),
            &["-D", data.to_str().unwrap(), "-o", &opts, "-l", root.join("log").to_str().unwrap(), "-w", "start"],
        );
        let c = Cluster { data, socket, port };
        if fresh {
            let port = port.to_string();
            run(&bin.join("createdb"), &["-h", c.socket.to_str().unwrap(), "-p", &port, "-U", "tiprelay", "relay"]);
        }
        c
    }

    /// Connection parameters for database `db` (over the cluster's Unix socket).
    pub fn params(&self, db: &str) -> String {
        format!("host={} port={} user=tiprelay dbname={db}", self.socket.display(), self.port)
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
