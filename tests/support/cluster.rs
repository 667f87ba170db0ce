//! A Postgres cluster of a test's own, for what the shared server must not be put through:
//! TLS settings, a restart. Started on a free loopback port in a temp folder (as the postgres
//! user when the tests run as root, since initdb refuses root), stopped and deleted on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Postgres binaries: `PG_BIN`, else Debian's Postgres 15.
fn pg_bin() -> PathBuf {
    let bin = PathBuf::from(
        std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()),
    );
    assert!(
        bin.join("pg_ctl").exists(),
        "no Postgres binaries in {}: install postgresql (scripts/test does) or set PG_BIN",
        bin.display()
    );
    bin
}

fn as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs a Postgres program as the user that owns the cluster.
fn pg(program: &str) -> Command {
    let path = pg_bin().join(program);
    if as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn run(command: &mut Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running throw-away cluster whose `postgres` user needs no password.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Cluster {
    /// Creates a cluster, lets `configure` add files and settings to its data folder (written
    /// as the current user; they are handed to the cluster's owner), and starts it.
    pub fn start(configure: impl FnOnce(&Path) -> Vec<String>) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        if as_root() {
            run(
                Command::new("chown").arg("postgres").arg(dir.path()),
                "chown",
            );
        }
        run(
            pg("initdb").arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ]),
            "initdb",
        );
        let settings = {
            let staging = tempfile::tempdir().expect("temp dir");
            let settings = configure(staging.path());
            for entry in std::fs::read_dir(staging.path()).expect("staged files") {
                let entry = entry.expect("entry");
                std::fs::copy(entry.path(), data.join(entry.file_name())).expect("copy");
            }
            settings
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\n",
            dir.path().display()
        );
        for setting in settings {
            conf += &setting;
            conf.push('\n');
        }
        let conf_path = data.join("postgresql.auto.conf");
        let mut existing = std::fs::read_to_string(&conf_path).unwrap_or_default();
        existing += &conf;
        std::fs::write(&conf_path, existing).expect("write settings");
        if as_root() {
            run(
                Command::new("chown").args(["-R", "postgres"]).arg(&data),
                "chown",
            );
        }
        for key in std::fs::read_dir(&data).expect("data folder") {
            let path = key.expect("entry").path();
            if path.extension().is_some_and(|e| e == "key") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .expect("key mode");
            }
        }
        let cluster = Cluster { dir, port };
        cluster.pg_ctl(&["start", "-w", "-l"], true);
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, action: &[&str], with_log: bool) {
        let mut command = pg("pg_ctl");
        command.arg("-D").arg(self.data());
        command.args(action);
        if with_log {
            command.arg(self.dir.path().join("postgres.log"));
        }
        run(&mut command, &format!("pg_ctl {}", action[0]));
    }

    /// Restarts the server (every connection is dropped).
    pub fn restart(&self) {
        self.pg_ctl(&["restart", "-w", "-m", "fast", "-l"], true);
    }

    /// A URL to database `db` as `user` on 127.0.0.1, with `params` (`sslmode=…`).
    pub fn url(&self, user: &str, db: &str, params: &str) -> String {
        let query = if params.is_empty() {
            String::new()
        } else {
            format!("?{params}")
        };
        format!("postgres://{user}@127.0.0.1:{}/{db}{query}", self.port)
    }

    /// Runs `sql` as the postgres user through the cluster's socket.
    pub fn psql(&self, sql: &str) {
        run(
            Command::new(pg_bin().join("psql"))
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres"])
                .arg("-h")
                .arg(self.dir.path())
                .arg("-p")
                .arg(self.port.to_string())
                .args(["-d", "postgres", "-c", sql]),
            "psql",
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "immediate"])
            .output();
    }
}
