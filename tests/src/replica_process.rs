//! The real `stagesql` binary as a replica following a snapshot store, for the benchmarks
//! that measure it from outside (`replica_bench`, `refresh_latency`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `stagesql` replica process; killed when dropped.
pub struct ReplicaProcess {
    /// The process.
    pub child: Child,
    /// Its PostgreSQL port.
    pub port: u16,
}

impl Drop for ReplicaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` as a replica of the store at `url`, polling every second, on a free port.
pub fn start(binary: &str, url: &str) -> ReplicaProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let child = Command::new(binary)
        .args(["--set", "source.kind=\"replica\""])
        .args(["--set", &format!("source.url=\"{url}\"")])
        .args(["--set", "source.poll_interval_seconds=1"])
        .args(["--set", "auth.method=\"trust\""])
        .args(["--set", "log.level=\"warn\""])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--http-listen", ""])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the stagesql binary");
    ReplicaProcess { child, port }
}

/// A client of the server on `port`, retrying for up to a minute while it starts.
pub async fn connect(port: u16) -> tokio_postgres::Client {
    let conn = format!("host=127.0.0.1 port={port} user=stagesql dbname=stagesql");
    for _ in 0..600 {
        if let Ok((client, connection)) =
            tokio_postgres::connect(&conn, tokio_postgres::NoTls).await
        {
            tokio::spawn(connection);
            return client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server on {port} never accepted");
}
