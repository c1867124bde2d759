//! The stagesql server process: configuration, telemetry, wiring and shutdown.
//!
//! Map of the crate:
//! - [`config`]: the typed configuration, its layers (file < environment < flags) and validation.
//! - [`http`]: the operator endpoints `/healthz`, `/readyz` and `/metrics`.
//! - [`telemetry`]: logging setup.
//! - [`start`] / [`run`]: build the catalog, engine and listener, serve until told to stop.
//!
//! `main.rs` only parses arguments and calls [`run`]; tests call [`start`] with a config that
//! listens on `127.0.0.1:0` and read the bound address from the returned [`Server`].

pub mod config;
pub mod http;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use stagesql_catalog::{BUNDLED_FIXTURE, SnapshotStore, load_demo_snapshot, parse_fixture};
use stagesql_engine::{Engine, EngineConfig};
use stagesql_wire::{Shared, WireConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{Config, ConfigError, SourceKind};
use stagesql_catalog::refresh::RefreshConfig;

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
    /// The listen address cannot be bound.
    #[error("cannot listen on {address} (server.listen): {source}")]
    Bind {
        /// The configured address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    /// The background refresher (aws source); stopped by the same token.
    refresher: Option<JoinHandle<()>>,
    /// The operator HTTP listener's address and task, when it is on.
    http: Option<(SocketAddr, JoinHandle<()>)>,
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

    /// Waits until the server ends (after its token is cancelled), refresher included.
    pub async fn wait(self) -> std::io::Result<()> {
        let served = match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        };
        if let Some(refresher) = self.refresher
            && let Err(e) = refresher.await
        {
            tracing::warn!(cause = %e, "refresher task ended abnormally");
        }
        if let Some((_, http)) = self.http
            && let Err(e) = http.await
        {
            tracing::warn!(cause = %e, "metrics listener ended abnormally");
        }
        served
    }

    /// The address of the operator endpoints (`/healthz`, `/readyz`, `/metrics`), if on.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|(a, _)| *a)
    }

    /// The token that stops the server.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Validates `config`, loads the catalog, binds the listener and starts serving.
pub async fn start(config: Config) -> Result<Server, StartError> {
    config.validate()?;
    // Everything that can refuse to start is checked before anything runs.
    let users = Arc::new(config.users()?);
    let tls = load_tls(&config.tls)?;
    let store = Arc::new(SnapshotStore::new());
    let shutdown = CancellationToken::new();
    let refresher = match config.source.kind {
        SourceKind::Demo => {
            let snapshot = match &config.source.fixture {
                Some(path) => load_demo_snapshot(path, &store)?,
                None => store.publish(parse_fixture(BUNDLED_FIXTURE, "bundled")?),
            };
            tracing::info!(
                stages = snapshot.rows().len(),
                version = snapshot.version(),
                "demo catalog loaded"
            );
            None
        }
        SourceKind::Aws => {
            let on_publish = config.source.snapshot_path.clone().map(|path| {
                load_persisted(&path, &store);
                let hook: stagesql_catalog::refresh::OnPublish = Arc::new(move |snapshot| {
                    match stagesql_engine::persist::write_snapshot(&path, snapshot) {
                        Ok(()) => tracing::debug!(path = %path.display(), version = snapshot.version(), "snapshot persisted"),
                        Err(e) => tracing::warn!(cause = %e, "cannot persist the snapshot"),
                    }
                });
                hook
            });
            let mut source = config.source.aws();
            if source.regions.is_empty() {
                // No regions configured: the standard environment's region (AWS_REGION, profile).
                let region = aws_config::default_provider::region::DefaultRegionChain::builder()
                    .build()
                    .region()
                    .await
                    .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
                tracing::info!(region = %region, "no source.regions configured; crawling the environment's region");
                source.regions = vec![region];
            }
            Some(stagesql_catalog::refresh::spawn(
                source,
                RefreshConfig {
                    interval: Duration::from_secs(config.source.refresh_interval_seconds),
                    concurrency: config.source.concurrency,
                },
                Arc::clone(&store),
                shutdown.child_token(),
                on_publish,
            ))
        }
    };
    let engine = Arc::new(Engine::new(
        EngineConfig {
            database: config.server.database.clone(),
            user: config.owner(),
            other_users: config
                .auth
                .users
                .iter()
                .skip(1)
                .map(|u| u.name.clone())
                .collect(),
            memory: stagesql_engine::limits::MemoryLimits {
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
        .map_err(|source| StartError::Bind {
            address: config.server.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        address: config.server.listen.clone(),
        source,
    })?;
    let http_store = Arc::clone(engine.store());
    let shared = Shared::new(
        engine,
        WireConfig {
            users,
            tls: tls.map(Arc::new),
            auth_failure_delay: Duration::from_millis(config.auth.failure_delay_ms),
            max_connections: config.limits.max_connections,
            startup_timeout: Duration::from_secs(config.limits.startup_timeout_seconds),
        },
    );
    let http = if config.http.listen.is_empty() {
        None
    } else {
        // Installed before anything is counted.
        let _ = http::recorder();
        let listener = TcpListener::bind(&config.http.listen)
            .await
            .map_err(|source| StartError::Bind {
                address: config.http.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            address: config.http.listen.clone(),
            source,
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
        shared,
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
        refresher,
        http,
    })
}

/// Loads the certificate and key when TLS is on. An unusable file stops startup; there is no
/// fallback to plaintext.
fn load_tls(tls: &config::TlsConfig) -> Result<Option<stagesql_wire::Tls>, StartError> {
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

/// Serves the snapshot persisted at `path`, if there is a readable one. A missing, corrupt or
/// incompatible file is logged and ignored: the first crawl replaces it.
fn load_persisted(path: &std::path::Path, store: &SnapshotStore) {
    if !path.exists() {
        tracing::info!(path = %path.display(), "no persisted snapshot yet");
        return;
    }
    match stagesql_engine::persist::read_snapshot(path) {
        Ok(rows) => {
            let snapshot = store.publish_from_disk(rows);
            tracing::info!(
                path = %path.display(),
                stages = snapshot.rows().len(),
                "serving the persisted snapshot (stale) until the first refresh"
            );
        }
        Err(e) => tracing::warn!(cause = %e, "ignoring the persisted snapshot"),
    }
}

/// Starts the server and runs it until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let server = start(config).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(cause = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(cause = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
