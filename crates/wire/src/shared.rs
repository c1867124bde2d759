//! What every connection shares: the backend, the wire settings, the credentials a reload
//! swaps, the connection slots and the table CancelRequests are routed through.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{ConnectionManager, RandomPidSecretKeyGenerator};
use stagesql_engine::{Canceller, Engine};

use crate::auth::Users;
use crate::backend::Backend;
use crate::tls::Tls;

/// What a login is checked against: the users and the TLS certificate. They can be replaced
/// while the server runs ([`Shared::reload_credentials`], on SIGHUP); each connection pins the
/// set that was current when it arrived, so its certificate and its SCRAM channel binding
/// always agree, and connections already open are not touched by a reload.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The users and the authentication method.
    pub users: Arc<Users>,
    /// TLS, when configured (optional or required).
    pub tls: Option<Arc<Tls>>,
}

/// How logins are paced and how many connections may be open at once.
#[derive(Debug, Clone)]
pub struct WireConfig {
    /// How long a failed password waits before its error is sent.
    pub auth_failure_delay: std::time::Duration,
    /// Open connections at once; the next gets FATAL 53300.
    pub max_connections: usize,
    /// A connection that has not completed startup by then is closed.
    pub startup_timeout: std::time::Duration,
    /// How large a message may be, and what all connections may buffer together.
    pub inbound: crate::inbound::InboundLimits,
}

/// Sessions that a CancelRequest can reach: backend pid → (secret key, the session's
/// cancel switch).
type CancelTargets = std::sync::Mutex<
    HashMap<
        i32,
        (
            pgwire::messages::startup::SecretKey,
            std::sync::Weak<Canceller>,
        ),
    >,
>;

/// State shared by every connection, served by backend `B` (the engine, outside tests).
#[derive(Debug)]
pub struct Shared<B: Backend = Engine> {
    pub(crate) backend: Arc<B>,
    pub(crate) config: WireConfig,
    /// The current users and certificate (swapped whole by a reload).
    credentials: arc_swap::ArcSwap<Credentials>,
    pub(crate) cancel: Arc<ConnectionManager>,
    pub(crate) pids: RandomPidSecretKeyGenerator,
    pub(crate) cancel_targets: CancelTargets,
    /// Connection slots (`max_connections`).
    pub(crate) slots: Arc<tokio::sync::Semaphore>,
}

impl<B: Backend> Shared<B> {
    /// The wire settings.
    pub fn config(&self) -> &WireConfig {
        &self.config
    }

    /// The users and certificate new connections are checked against.
    pub fn credentials(&self) -> Arc<Credentials> {
        self.credentials.load_full()
    }

    /// Replaces the users and certificate for connections that arrive from now on; open
    /// connections keep the ones they started with.
    pub fn reload_credentials(&self, credentials: Credentials) {
        self.credentials.store(Arc::new(credentials));
    }

    /// Stops the running statement of the session with `pid`, if `key` is its secret.
    fn cancel(&self, pid: i32, key: &pgwire::messages::startup::SecretKey) {
        let target = self.cancel_targets.lock().ok().and_then(|t| {
            t.get(&pid)
                .filter(|(k, _)| k.eq_value(key))
                .map(|(_, c)| c.clone())
        });
        match target.and_then(|c| c.upgrade()) {
            Some(canceller) => {
                tracing::info!(pid, "cancel request");
                canceller.cancel();
            }
            None => tracing::debug!(pid, "cancel request for no session (or a wrong key)"),
        }
    }
}

impl<B: Backend> Shared<B> {
    /// Shared state for connections served by `backend`.
    pub fn new(backend: Arc<B>, config: WireConfig, credentials: Credentials) -> Arc<Shared<B>> {
        Arc::new(Shared {
            backend,
            credentials: arc_swap::ArcSwap::from_pointee(credentials),
            cancel: Arc::new(ConnectionManager::new()),
            pids: RandomPidSecretKeyGenerator::default(),
            cancel_targets: std::sync::Mutex::new(HashMap::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_connections)),
            config,
        })
    }
}

/// Routes a CancelRequest to the session it names: its running statement (including one
/// streaming rows) stops with 57014. A wrong secret key does nothing.
pub(crate) struct CancelHandler<B: Backend>(pub(crate) Arc<Shared<B>>);

#[async_trait]
impl<B: Backend> pgwire::api::cancel::CancelHandler for CancelHandler<B> {
    async fn on_cancel_request(&self, request: pgwire::messages::cancel::CancelRequest) {
        self.0.cancel(request.pid, &request.secret_key);
        DefaultCancelHandler::new(Arc::clone(&self.0.cancel))
            .on_cancel_request(request)
            .await;
    }
}
