//! Startup and authentication of one connection: the TLS requirement, the connection limit,
//! trust or SCRAM-SHA-256 (with channel binding over TLS), then the session.
//!
//! Failures here are FATAL and end the connection. A failed password, like an unknown user,
//! waits `auth_failure_delay` and answers 28P01 with one message for both.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::sasl::{SCRAM_SHA_256_METHOD, SCRAM_SHA_256_PLUS_METHOD};
use pgwire::api::auth::{
    ServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, ConnectionGuard, ConnectionHandle, PgWireConnectionState, PidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::auth::{AuthMethod, ScramState, client_first};
use crate::backend::{Backend, BackendSession};
use crate::error::{WireError, to_pg_error};
use crate::handler::{Connection, SessionOf};
use crate::tls::TlsMode;

/// The ParameterStatus set for one session.
struct StartupParameters(HashMap<String, String>);

impl ServerParameterProvider for StartupParameters {
    fn server_parameters<C>(&self, _client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        Some(self.0.clone())
    }
}

fn user_of(metadata: &HashMap<String, String>) -> Result<&String, WireError> {
    metadata
        .get("user")
        .filter(|u| !u.is_empty())
        .ok_or(WireError::NoUser)
}

impl<B: Backend> Connection<B> {
    fn open_session(
        &self,
        metadata: &HashMap<String, String>,
    ) -> Result<Arc<SessionOf<B>>, WireError> {
        let user = user_of(metadata)?;
        let database = metadata
            .get("database")
            .filter(|d| !d.is_empty())
            .unwrap_or(user);
        if database != self.shared.backend.database() {
            return Err(WireError::UnknownDatabase(database.clone()));
        }
        let startup = metadata
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "user" | "database" | "options" | "replication"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>();
        let session = Arc::new(self.shared.backend.open_session(user, &startup)?);
        Ok(Arc::clone(self.session.get_or_init(|| session)))
    }

    /// Authentication succeeded (or was not needed): open the session and send
    /// AuthenticationOk, the parameters, BackendKeyData and ReadyForQuery.
    async fn complete_startup<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.open_session(client.metadata()).map_err(to_pg_error)?;
        let (pid, key) = self.shared.pids.generate(client);
        if let Ok(mut targets) = self.shared.cancel_targets.lock() {
            targets.insert(pid, (key.clone(), Arc::downgrade(&session.canceller())));
        }
        let _ = self.pid.set(pid);
        session.set_backend_pid(pid);
        client.set_pid_and_secret_key(pid, key.clone());
        let (handle, guard) = self.shared.cancel.register(pid, key);
        client
            .session_extensions()
            .insert::<Arc<ConnectionHandle>>(handle);
        client.session_extensions().insert::<ConnectionGuard>(guard);
        tracing::debug!(
            user = session.user(),
            tls = client.is_secure(),
            "session started"
        );
        let params = StartupParameters(session.reported_settings().into_iter().collect());
        finish_authentication(client, &params).await
    }

    /// Fails the login after the configured delay, with one message for a wrong password
    /// and an unknown user.
    async fn authentication_failed(&self, user: &str) -> PgWireError {
        tracing::info!(user, "password authentication failed");
        tokio::time::sleep(self.shared.config.auth_failure_delay).await;
        to_pg_error(WireError::AuthenticationFailed(user.to_owned()))
    }

    fn scram_state(&self) -> ScramState {
        self.scram
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    fn set_scram_state(&self, state: ScramState) {
        if let Ok(mut s) = self.scram.lock() {
            *s = state;
        }
    }

    async fn on_password_message<C>(
        &self,
        client: &mut C,
        message: PasswordMessageFamily,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let malformed = |what: &str| to_pg_error(WireError::AuthProtocol(what.to_owned()));
        let user = user_of(client.metadata()).map_err(to_pg_error)?.clone();
        match self.scram_state() {
            ScramState::Idle => Err(malformed(
                "unexpected password message: no authentication is in progress",
            )),
            ScramState::AwaitingClientFirst { plus } => {
                let initial = message
                    .into_sasl_initial_response()
                    .map_err(|_| malformed("malformed SASL initial response"))?;
                let tls = self.credentials.tls.as_ref();
                let authenticator = match initial.auth_method.as_str() {
                    SCRAM_SHA_256_PLUS_METHOD if plus => {
                        tls.and_then(|t| t.scram_plus.as_ref()).cloned()
                    }
                    SCRAM_SHA_256_METHOD => {
                        Some(pgwire::api::auth::sasl::scram::ScramServerAuth::new())
                    }
                    _ => None,
                }
                .ok_or_else(|| {
                    malformed("client selected an invalid SASL authentication mechanism")
                })?;
                let data = initial
                    .data
                    .ok_or_else(|| malformed("malformed SCRAM message: empty client-first"))?;
                match client_first(&self.credentials.users, &authenticator, &user, &data) {
                    Ok((server_first, waiting)) => {
                        self.set_scram_state(ScramState::AwaitingClientFinal(Box::new(waiting)));
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLContinue(server_first.into()),
                            ))
                            .await?;
                        Ok(())
                    }
                    Err(e) => {
                        tracing::debug!(cause = %e, "bad SCRAM client-first message");
                        Err(malformed("malformed SCRAM message"))
                    }
                }
            }
            ScramState::AwaitingClientFinal(waiting) => {
                let response = message
                    .into_sasl_response()
                    .map_err(|_| malformed("malformed SASL response"))?;
                match waiting.on_client_final_message(&response.data) {
                    Ok(server_final) if self.credentials.users.exists(&user) => {
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLFinal(server_final.into()),
                            ))
                            .await?;
                        self.complete_startup(client).await
                    }
                    Ok(_) | Err(PgWireError::InvalidPassword(_)) => {
                        Err(self.authentication_failed(&user).await)
                    }
                    Err(e) => {
                        tracing::debug!(cause = %e, "bad SCRAM client-final message");
                        Err(self.authentication_failed(&user).await)
                    }
                }
            }
        }
    }
}

#[async_trait]
impl<B: Backend> StartupHandler for Connection<B> {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let startup = match message {
            PgWireFrontendMessage::Startup(ref startup) => startup,
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                return self.on_password_message(client, message).await;
            }
            _ => {
                return Err(to_pg_error(WireError::AuthProtocol(
                    "expected a startup or authentication message".to_owned(),
                )));
            }
        };
        if matches!(
            client.state(),
            PgWireConnectionState::AuthenticationInProgress
        ) {
            return Err(to_pg_error(WireError::AuthProtocol(
                "unexpected startup message during authentication".to_owned(),
            )));
        }
        protocol_negotiation(client, startup).await?;
        save_startup_parameters_to_metadata(client, startup);
        // The connection's span (see `server::serve`) names who this is from here on.
        let span = tracing::Span::current();
        if let Some(user) = client.metadata().get("user") {
            span.record("user", user.as_str());
        }
        if let Some(app) = client.metadata().get("application_name") {
            span.record("application_name", app.as_str());
        }
        let config = &self.credentials;
        if config
            .tls
            .as_ref()
            .is_some_and(|t| t.mode == TlsMode::Required)
            && !client.is_secure()
        {
            tracing::info!("refused a connection without TLS");
            return Err(to_pg_error(WireError::TlsRequired));
        }
        if self.slot.is_none() {
            return Err(to_pg_error(WireError::TooManyConnections));
        }
        let user = user_of(client.metadata()).map_err(to_pg_error)?.clone();
        match config.users.method() {
            AuthMethod::Trust => {
                if !config.users.exists(&user) {
                    return Err(to_pg_error(WireError::UnknownUser(user)));
                }
                self.complete_startup(client).await
            }
            AuthMethod::ScramSha256 => {
                let plus = client.is_secure()
                    && config.tls.as_ref().is_some_and(|t| t.scram_plus.is_some());
                let mut mechanisms = vec![SCRAM_SHA_256_METHOD.to_owned()];
                if plus {
                    mechanisms.insert(0, SCRAM_SHA_256_PLUS_METHOD.to_owned());
                }
                self.set_scram_state(ScramState::AwaitingClientFirst { plus });
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                        mechanisms,
                    )))
                    .await?;
                Ok(())
            }
        }
    }
}
