//! Test harness: starts the real server (the same `start` the binary runs) on 127.0.0.1:0 over
//! the bundled demo data, and connects real clients to it.

pub mod aws_stub;
pub mod cluster;
pub mod frames;
pub mod moto;
pub mod oracle;
pub mod pki;
pub mod replica_process;

use std::net::SocketAddr;
use std::process::Output;

use stagesql_server::{Config, Server};
use tokio_postgres::{Client, NoTls};

/// A server running for one test; stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    server: Option<Server>,
    addr: SocketAddr,
    http: Option<SocketAddr>,
}

impl TestServer {
    /// Starts a server on the bundled demo data with default names (`stagesql`/`stagesql`),
    /// `trust` authentication on loopback.
    pub async fn start() -> TestServer {
        TestServer::start_with(trust_config()).await
    }

    /// Starts a server with `config`, listening on 127.0.0.1:0.
    pub async fn start_with(mut config: Config) -> TestServer {
        config.server.listen = "127.0.0.1:0".to_owned();
        config.http.listen = "127.0.0.1:0".to_owned();
        // A short drain unless the test chose one.
        if config.server.shutdown_drain_seconds
            == stagesql_server::config::ServerConfig::default().shutdown_drain_seconds
        {
            config.server.shutdown_drain_seconds = 1;
        }
        TestServer::start_exact(config).await
    }

    /// Starts a server with `config` as it is, listen addresses included (to restart one on
    /// the same ports).
    pub async fn start_exact(config: Config) -> TestServer {
        let server = stagesql_server::start(config)
            .await
            .unwrap_or_else(|e| panic!("server did not start: {e}"));
        let addr = server.local_addr();
        let http = server.http_addr();
        TestServer {
            server: Some(server),
            addr,
            http,
        }
    }

    /// The operator endpoints' address (`/healthz`, `/readyz`, `/metrics`).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A libpq-style connection string for `user` and `dbname`.
    pub fn conn_str_as(&self, user: &str, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname={dbname}",
            self.port()
        )
    }

    /// The connection string for the default user and database.
    pub fn conn_str(&self) -> String {
        self.conn_str_as("stagesql", "stagesql")
    }

    /// A connected tokio-postgres client; its connection task runs until the client drops.
    pub async fn client(&self) -> Client {
        let (client, connection) = tokio_postgres::connect(&self.conn_str(), NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect failed: {e}"));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// Runs the `psql` binary against the server with `args` (after the connection string).
    pub async fn psql(&self, args: &[&str]) -> Output {
        tokio::process::Command::new("psql")
            .arg(self.conn_str())
            .args(["-X", "-q"])
            .args(args)
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .await
            .unwrap_or_else(|e| {
                panic!("cannot run psql ({e}); the test command installs postgresql-client")
            })
    }

    /// Reloads the users and TLS certificate from `config` (what SIGHUP does), keeping the
    /// addresses this harness chose so they are not reported as changed.
    pub fn reload(
        &self,
        mut config: Config,
    ) -> Result<stagesql_server::reload::ReloadReport, stagesql_server::StartError> {
        let server = self.server.as_ref().expect("running");
        config.server.listen = "127.0.0.1:0".to_owned();
        config.http.listen = "127.0.0.1:0".to_owned();
        config.server.shutdown_drain_seconds = server.drain_seconds();
        server.reload(config)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server
                .stop()
                .await
                .unwrap_or_else(|e| panic!("stop failed: {e}"));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.shutdown_token().cancel();
        }
    }
}

/// The default config with `trust` authentication (what most tests use; the security tests
/// configure SCRAM and TLS).
pub fn trust_config() -> Config {
    let mut config = Config::default();
    config.auth.method = stagesql_server::config::AuthMethodConfig::Trust;
    config
}

/// A `trust` config whose source is AWS at `endpoint` (a stub, moto, or nothing at all)
/// with the emulator's dummy keys, crawling `regions`.
pub fn aws_source_config(endpoint: String, regions: &[&str]) -> Config {
    let mut config = trust_config();
    config.source.kind = stagesql_server::SourceKind::Aws;
    config.source.endpoint_url = Some(endpoint);
    config.source.regions = regions.iter().map(|r| (*r).to_owned()).collect();
    config.source.emulator_credentials = Some(["testing".to_owned(), "testing".to_owned()]);
    config
}

/// A SCRAM config with `users` as (name, verifier) pairs; failed logins wait 300 ms.
pub fn scram_config(users: &[(&str, &str)]) -> Config {
    let mut config = trust_config();
    config.auth.method = stagesql_server::config::AuthMethodConfig::ScramSha256;
    config.auth.failure_delay_ms = 300;
    config.auth.users = users
        .iter()
        .map(|(name, verifier)| stagesql_server::config::UserConfig {
            name: (*name).to_owned(),
            verifier: Some((*verifier).to_owned()),
            password_env: None,
        })
        .collect();
    config
}

/// The rows of a simple-query answer, every value as text (`None` for NULL).
pub fn simple_rows(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

/// The SQLSTATE of a failed tokio-postgres call.
pub fn sqlstate(err: &tokio_postgres::Error) -> String {
    err.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE: {err}"))
}
