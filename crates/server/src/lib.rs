//! The stagesql server process: configuration, telemetry, wiring and shutdown.
//!
//! Map of the crate:
//! - [`config`]: the typed configuration, its layers (file < environment < flags) and validation.
//! - [`http`]: the operator endpoints `/healthz`, `/readyz` and `/metrics`, and the client
//!   `stagesql healthcheck` uses.
//! - [`replication`]: scaling out: a crawler publishes snapshots to an object store
//!   (`[publish]`), replicas follow it (`source.kind = "replica"`).
//! - `memory`: returning the memory a refresh freed to the system after each publish.
//! - [`reload`]: SIGHUP: new users and TLS certificate for the connections that follow.
//! - [`snapshot_file`]: the persisted snapshot, read at startup and written after refreshes
//!   and at shutdown.
//! - [`telemetry`]: logging setup.
//! - `feed`: what feeds the snapshot store: the demo fixture, the crawler (and its publisher),
//!   or a replica's follower.
//! - `signals`: SIGINT/SIGTERM (stop) and SIGHUP (reload).
//! - [`start`] / [`run`]: build the catalog, engine and listener, serve until told to stop.
//!
//! `main.rs` only parses arguments and calls [`run`]; tests call [`start`] with a config that
//! listens on `127.0.0.1:0` and read the bound address from the returned [`Server`].

pub mod config;
mod feed;
pub mod http;
mod memory;
pub mod reload;
pub mod replication;
mod signals;
pub mod snapshot_file;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use stagesql_catalog::SnapshotStore;
use stagesql_engine::{Engine, EngineConfig};
use stagesql_wire::{Credentials, Shared, WireConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{Config, ConfigError, SourceKind};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The demo fixture cannot be loaded.
    #[error(transparent)]
    Demo(#[from] stagesql_catalog::DemoError),
    /// The engine could not be built.
    #[error("engine setup failed: {0}")]
    Engine(#[from] stagesql_engine::EngineError),
    /// The TLS certificate or key cannot be used (the message names the file).
    #[error("TLS: {0}")]
    Tls(#[from] stagesql_wire::TlsError),
    /// The snapshot store cannot be opened (the message names the key).
    // The cause is in the message and not a `source`, so an error chain prints it once.
    #[error("cannot open the snapshot store ({key}): {cause}")]
    Store {
        /// `publish.url` or `source.url`.
        key: &'static str,
        /// Why.
        cause: replication::StoreError,
    },
    /// A listen address cannot be bound (the message names its key).
    #[error("cannot listen on {address} ({key}): {cause}")]
    Bind {
        /// `server.listen` or `http.listen`.
        key: &'static str,
        /// The configured address.
        address: String,
        /// Why.
        cause: std::io::Error,
    },
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    /// The background tasks that feed the store (the refresher, the publisher, a replica's
    /// follower), by name; stopped by the same token.
    background: Vec<(&'static str, JoinHandle<()>)>,
    /// The operator HTTP listener's address and task, when it is on.
    http: Option<(SocketAddr, JoinHandle<()>)>,
    /// The persisted snapshot, when `source.snapshot_path` is set: written once more at stop.
    snapshot_file: Option<Arc<snapshot_file::SnapshotFile>>,
    /// What a reload swaps: the wire's credentials and the engine's roles.
    pub(crate) shared: Arc<Shared>,
    pub(crate) engine: Arc<Engine>,
    /// The config in force (a std Mutex: read and replaced by a reload, never across an await).
    pub(crate) running: std::sync::Mutex<Config>,
}

impl Server {
    /// The address the server is listening on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, drains connections and waits for the accept loop to end.
    pub async fn stop(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the server ends (after its token is cancelled): connections drained, the
    /// refresher and the operator listener stopped, and the snapshot written if the file does
    /// not hold the one being served.
    pub async fn wait(self) -> std::io::Result<()> {
        let served = match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        };
        // Every connection is closed (the drain deadline ended the stragglers); a query they
        // left computing stops here rather than keeping the process busy.
        self.engine.stop_queries();
        for (name, task) in self.background {
            if let Err(e) = task.await {
                tracing::warn!(cause = %e, task = name, "background task ended abnormally");
            }
        }
        if let Some((_, http)) = self.http
            && let Err(e) = http.await
        {
            tracing::warn!(cause = %e, "metrics listener ended abnormally");
        }
        if let (Some(file), Some(snapshot)) = (&self.snapshot_file, self.engine.store().current()) {
            let file = Arc::clone(file);
            let version = snapshot.version();
            // A file write: off the async workers.
            match tokio::task::spawn_blocking(move || file.write(&snapshot)).await {
                Ok(true) => tracing::info!(version, "the snapshot file holds the served snapshot"),
                Ok(false) => tracing::warn!(version, "the snapshot could not be saved at shutdown"),
                Err(e) => tracing::warn!(cause = %e, "snapshot writer ended abnormally"),
            }
        }
        served
    }

    /// The address of the operator endpoints (`/healthz`, `/readyz`, `/metrics`), if on.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|(a, _)| *a)
    }

    /// How long running statements may finish after a stop (`server.shutdown_drain_seconds`).
    pub fn drain_seconds(&self) -> u64 {
        self.running
            .lock()
            .map_or(0, |c| c.server.shutdown_drain_seconds)
    }

    /// The token that stops the server.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Validates `config`, loads the catalog, binds the listener and starts serving.
pub async fn start(config: Config) -> Result<Server, StartError> {
    config.validate()?;
    if !config.http.listen.is_empty() {
        // Installed before anything runs, so the refresher's first AWS calls are counted.
        let _ = http::recorder();
    }
    // Everything that can refuse to start is checked before anything runs.
    let users = Arc::new(config.users()?);
    let tls = load_tls(&config.tls)?;
    let store = Arc::new(SnapshotStore::new());
    store.set_after_publish(Arc::new(memory::release_freed));
    let shutdown = CancellationToken::new();
    let (background, snapshot_file) = feed::start(&config, &store, &shutdown).await?;
    let engine = Arc::new(Engine::new(
        EngineConfig {
            database: config.server.database.clone(),
            user: config.owner(),
            other_users: config.other_users(),
            memory: stagesql_engine::MemoryLimits {
                per_query: config.limits.query_memory_mb.saturating_mul(1024 * 1024),
                total: config.limits.total_memory_mb.saturating_mul(1024 * 1024),
            },
            session_defaults: vec![
                (
                    "statement_timeout".to_owned(),
                    config.limits.statement_timeout.clone(),
                ),
                (
                    "idle_in_transaction_session_timeout".to_owned(),
                    config.limits.idle_in_transaction_session_timeout.clone(),
                ),
                (
                    "idle_session_timeout".to_owned(),
                    config.limits.idle_session_timeout.clone(),
                ),
            ],
        },
        store,
    )?);
    let listener = TcpListener::bind(&config.server.listen)
        .await
        .map_err(|cause| StartError::Bind {
            key: "server.listen",
            address: config.server.listen.clone(),
            cause,
        })?;
    let addr = listener.local_addr().map_err(|cause| StartError::Bind {
        key: "server.listen",
        address: config.server.listen.clone(),
        cause,
    })?;
    let http_store = Arc::clone(engine.store());
    let shared = Shared::new(
        Arc::clone(&engine),
        WireConfig {
            auth_failure_delay: Duration::from_millis(config.auth.failure_delay_ms),
            max_connections: config.limits.max_connections,
            startup_timeout: Duration::from_secs(config.limits.startup_timeout_seconds),
            inbound: stagesql_wire::InboundLimits {
                max_message: config.limits.max_message_mb * 1024 * 1024,
                budget: stagesql_wire::InputBudget::new(
                    config.limits.input_buffer_total_mb * 1024 * 1024,
                ),
            },
        },
        Credentials {
            users,
            tls: tls.map(Arc::new),
        },
    );
    let http = if config.http.listen.is_empty() {
        None
    } else {
        let listener = TcpListener::bind(&config.http.listen)
            .await
            .map_err(|cause| StartError::Bind {
                key: "http.listen",
                address: config.http.listen.clone(),
                cause,
            })?;
        let addr = listener.local_addr().map_err(|cause| StartError::Bind {
            key: "http.listen",
            address: config.http.listen.clone(),
            cause,
        })?;
        tracing::info!(address = %addr, "operator endpoints on http://{addr} (/healthz, /readyz, /metrics)");
        Some((
            addr,
            tokio::spawn(http::serve(listener, http_store, shutdown.clone())),
        ))
    };
    let drain = Duration::from_secs(config.server.shutdown_drain_seconds);
    let task = tokio::spawn(stagesql_wire::serve(
        listener,
        Arc::clone(&shared),
        shutdown.clone(),
        drain,
    ));
    tracing::info!(
        address = %addr,
        database = %config.server.database,
        auth = ?config.auth.method,
        tls = ?config.tls.mode,
        "listening on {addr}"
    );
    Ok(Server {
        addr,
        shutdown,
        task,
        background,
        http,
        snapshot_file,
        shared,
        engine,
        running: std::sync::Mutex::new(config),
    })
}

/// Loads the certificate and key when TLS is on. An unusable file stops startup; there is no
/// fallback to plaintext.
pub(crate) fn load_tls(tls: &config::TlsConfig) -> Result<Option<stagesql_wire::Tls>, StartError> {
    use config::TlsModeConfig;
    let mode = match tls.mode {
        TlsModeConfig::Disabled => return Ok(None),
        TlsModeConfig::Optional => stagesql_wire::TlsMode::Optional,
        TlsModeConfig::Required => stagesql_wire::TlsMode::Required,
    };
    // validate() checked that both files are set when TLS is on.
    let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) else {
        return Err(StartError::Config(ConfigError::Invalid {
            key: "tls.cert_file",
            reason: "set both tls.cert_file and tls.key_file".to_owned(),
        }));
    };
    let loaded = stagesql_wire::Tls::load(cert, key, mode)?;
    tracing::info!(cert = %cert.display(), mode = ?mode, "TLS certificate loaded");
    Ok(Some(loaded))
}

/// Reads the configuration again, from the same file, environment and flags the server
/// started with (for a reload); the error is the message to log.
pub type Reread = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// Starts the server and runs it until SIGINT or SIGTERM; SIGHUP reloads the users and the
/// TLS certificate from `reread` (see [`reload`]).
pub async fn run(config: Config, reread: Reread) -> anyhow::Result<()> {
    let server = start(config).await?;
    let mut signals = signals::Signals::new();
    while let signals::Signal::Reload = signals.next().await {
        tracing::info!("SIGHUP: reloading users and TLS certificate");
        let reloaded = reread().and_then(|c| server.reload(c).map_err(|e| e.to_string()));
        match reloaded {
            Ok(report) => {
                tracing::info!(
                    users = report.users,
                    tls = report.tls,
                    "reloaded; new connections use the new users and certificate"
                );
                if !report.needs_restart.is_empty() {
                    tracing::warn!(
                        changed = ?report.needs_restart,
                        "these settings changed but only take effect after a restart"
                    );
                }
            }
            Err(e) => {
                tracing::error!(cause = %e, "reload failed; keeping the current users and certificate")
            }
        }
    }
    tracing::info!("shutting down: no new connections; running statements may finish");
    server.stop().await?;
    tracing::info!("stopped");
    Ok(())
}
