//! A throwaway PostgreSQL 15 cluster for the oracle test.

use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Where Debian's PostgreSQL 15 server binaries live.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL 15 cluster in a temporary directory, stopped and removed when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Postgres(port {})", self.port)
    }
}

/// Runs a server binary as `postgres` when we are root (initdb refuses root).
fn as_postgres(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// Whether the server binaries are installed (`tests/run.sh` installs them).
    pub fn installed() -> bool {
        Path::new(PG_BIN).join("initdb").exists()
    }

    /// Creates and starts a cluster on a free loopback port: UTF8, C locale, trust, UTC.
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("stagesql-oracle")
            .tempdir()
            .expect("tempdir");
        let owner = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        // Not root: chown fails and we run as ourselves, which initdb accepts.
        let _ = owner;
        let data = dir.path().join("data");
        let status = as_postgres(&format!("{PG_BIN}/initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .stdout(Stdio::null())
            .status()
            .expect("run initdb");
        assert!(status.success(), "initdb failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c timezone=UTC -c fsync=off",
            dir.path().display()
        );
        let status = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-o", &options, "-w", "start"])
            .stdout(Stdio::null())
            .status()
            .expect("run pg_ctl");
        assert!(status.success(), "pg_ctl start failed");
        Postgres { dir, port }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A tokio-postgres connection string as the superuser `postgres`.
    pub fn conn_str(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}
