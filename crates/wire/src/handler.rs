//! One connection: its session (opened at startup) and the simple-query handler.
//!
//! pgwire drives the protocol state machine and calls the `do_*`/`on_startup` hooks; the
//! startup exchange is in [`crate::startup`], the extended protocol in [`crate::extended`],
//! and [`crate::respond`] turns a session's output into responses. Every error leaves through
//! [`to_pg_error`].

use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::Response;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, ConnectionHandle, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::simplequery::Query;
use stagesql_engine::{Engine, EngineError};

use crate::auth::ScramState;
use crate::backend::{Backend, BackendSession, PreparedStatement};
use crate::error::{WireError, notice, to_pg_error};
use crate::extended::StatementParser;
use crate::respond::{error_info, materialize, respond};
use crate::shared::{Credentials, Shared};
use crate::transaction;

impl<B: Backend> Connection<B> {
    /// Runs a simple Query and sends its answers, as pgwire's `on_query` does, following
    /// pgwire's transaction status in `status` (for a session that keeps none); `Ok(false)`
    /// when one of its statements failed.
    async fn answer_query<C>(
        &self,
        client: &mut C,
        query: &str,
        status: &mut TransactionStatus,
    ) -> PgWireResult<bool>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use pgwire::api::query::{send_execution_response, send_query_response};
        use pgwire::messages::response::EmptyQueryResponse;
        // A CancelRequest also stops the wait through pgwire's handle (the engine's own
        // canceller stops the work).
        let cancel = match client.session_extensions().get::<Arc<ConnectionHandle>>() {
            Some(handle) => Some(handle.start_query().await),
            None => None,
        };
        if query.chars().all(|c| c == ';' || c.is_whitespace()) {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            return Ok(true);
        }
        let responses = match cancel {
            Some(cancel) => {
                let run = std::pin::pin!(self.do_query(client, query));
                match futures::future::select(run, cancel).await {
                    futures::future::Either::Left((result, _)) => result,
                    futures::future::Either::Right(_) => Err(PgWireError::QueryCanceled),
                }
            }
            None => self.do_query(client, query).await,
        }?;
        let mut ok = true;
        for response in responses {
            match response {
                Response::EmptyQuery => {
                    client
                        .feed(PgWireBackendMessage::EmptyQueryResponse(
                            EmptyQueryResponse::new(),
                        ))
                        .await?;
                }
                Response::Query(rows) => send_query_response(client, rows, true).await?,
                Response::Execution(tag) => send_execution_response(client, tag).await?,
                Response::TransactionStart(tag) => {
                    send_execution_response(client, tag).await?;
                    *status = status.to_in_transaction_state();
                }
                Response::TransactionEnd(tag) => {
                    send_execution_response(client, tag).await?;
                    *status = status.to_idle_state();
                }
                Response::Error(e) => {
                    client
                        .feed(PgWireBackendMessage::ErrorResponse((*e).into()))
                        .await?;
                    *status = status.to_error_state();
                    ok = false;
                }
                Response::CopyOut(result) => {
                    pgwire::api::copy::send_copy_out_response(client, result).await?;
                }
                Response::CopyIn(_) | Response::CopyBoth(_) => {
                    return Err(to_pg_error(WireError::Protocol(
                        "COPY FROM is not supported".to_owned(),
                    )));
                }
            }
        }
        Ok(ok)
    }
}

/// The session type of backend `B`.
pub(crate) type SessionOf<B> = <B as Backend>::Session;

/// One connection: its session (created at startup) and the handlers pgwire calls.
#[derive(Debug)]
pub struct Connection<B: Backend = Engine> {
    pub(crate) shared: Arc<Shared<B>>,
    /// The users and certificate current when this connection arrived.
    pub(crate) credentials: Arc<Credentials>,
    pub(crate) session: Arc<OnceLock<Arc<SessionOf<B>>>>,
    pub(crate) parser: Arc<StatementParser<SessionOf<B>>>,
    /// This connection's `max_connections` slot; `None` when there was none left, and the
    /// startup is answered with FATAL 53300.
    pub(crate) slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The backend pid, once started (to forget its cancel target on close).
    pub(crate) pid: OnceLock<i32>,
    /// Where the SCRAM exchange stands (a std Mutex: held for a swap, never across an await).
    pub(crate) scram: std::sync::Mutex<ScramState>,
}

impl<B: Backend> Drop for Connection<B> {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.get()
            && let Ok(mut targets) = self.shared.cancel_targets.lock()
        {
            targets.remove(pid);
        }
    }
}

impl<B: Backend> Connection<B> {
    /// A connection that has not started up yet, holding a connection slot if one is free.
    pub fn new(shared: Arc<Shared<B>>) -> Connection<B> {
        let session = Arc::new(OnceLock::new());
        let slot = Arc::clone(&shared.slots).try_acquire_owned().ok();
        Connection {
            parser: Arc::new(StatementParser::new(Arc::clone(&session))),
            credentials: shared.credentials(),
            shared,
            session,
            slot,
            pid: OnceLock::new(),
            scram: std::sync::Mutex::new(ScramState::Idle),
        }
    }

    /// Whether startup has completed (a session exists).
    pub fn started(&self) -> bool {
        self.session.get().is_some()
    }

    pub(crate) fn session(&self) -> PgWireResult<Arc<SessionOf<B>>> {
        session_of(&self.session)
    }

    /// The session, once startup has completed.
    pub fn session_if_started(&self) -> Option<&Arc<SessionOf<B>>> {
        self.session.get()
    }
}

pub(crate) fn session_of<S>(cell: &OnceLock<Arc<S>>) -> PgWireResult<Arc<S>> {
    cell.get().cloned().ok_or_else(|| {
        to_pg_error(WireError::Protocol(
            "query before startup completed".to_owned(),
        ))
    })
}

#[async_trait]
impl<B: Backend> SimpleQueryHandler for Connection<B> {
    /// pgwire's `on_query`, but ReadyForQuery reports the session's transaction status (see
    /// `crate::transaction`): an error sent fails the block first, and the end of the Query
    /// ends its implicit transaction.
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let session = self.session()?;
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut status = client.transaction_status();
        let answered = self.answer_query(client, &query.query, &mut status).await;
        if !matches!(answered, Ok(true)) {
            session.statement_failed().await;
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        let reports = transaction::end_exchange(session.as_ref(), client);
        for warning in session.take_warnings() {
            client
                .feed(PgWireBackendMessage::NoticeResponse(notice(warning)))
                .await?;
        }
        for report in reports {
            client
                .feed(PgWireBackendMessage::ParameterStatus(report))
                .await?;
        }
        // After an error returned here, `process_error` sends it and ReadyForQuery.
        answered?;
        let status = client.transaction_status();
        pgwire::api::query::send_ready_for_query(client, status).await
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?;
        session.canceller().begin();
        tracing::debug!(sql = query, "simple query");
        if let Some(prepared) = session
            .cached_text(query)
            .filter(|p| p.param_types().is_empty())
        {
            // A text planned before: run its plan again.
            return Ok(vec![match session.execute(&prepared, Vec::new()).await {
                Ok(output) => respond(
                    client,
                    &session,
                    prepared.row_tag(),
                    output,
                    &Format::UnifiedText,
                    session.interval_style(),
                    &self.parser.columns,
                )
                .await
                .unwrap_or_else(|e| Response::Error(error_info(e))),
                Err(e) => Response::Error(error_info(to_pg_error(e))),
            }]);
        }
        let commands = session.parse(query).map_err(to_pg_error)?;
        let single = commands.len() == 1;
        if commands.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let mut responses = Vec::with_capacity(commands.len());
        let last = commands.len() - 1;
        for (i, command) in commands.into_iter().enumerate() {
            let run = async {
                let prepared = session.prepare(command).await?;
                if single {
                    session.remember_text(query, &prepared);
                }
                if !prepared.param_types().is_empty() {
                    // A simple query has no way to bind values.
                    return Err(EngineError::UndefinedParameter(1));
                }
                let output = session.execute(&prepared, Vec::new()).await?;
                // Rows are streamed after this loop returns. A query followed by more statements
                // is run to completion first, so that an error in it stops the statements after
                // it, as in PostgreSQL; the last statement streams.
                let output = if i < last {
                    materialize(output).await?
                } else {
                    output
                };
                Ok::<_, EngineError>((prepared, output))
            };
            match run.await {
                Ok((prepared, output)) => {
                    match respond(
                        client,
                        &session,
                        prepared.row_tag(),
                        output,
                        &Format::UnifiedText,
                        session.interval_style(),
                        &self.parser.columns,
                    )
                    .await
                    {
                        Ok(r) => responses.push(r),
                        Err(e) => {
                            responses.push(Response::Error(error_info(e)));
                            break;
                        }
                    }
                }
                Err(e) => {
                    // Like PostgreSQL, the first failing statement ends the whole text.
                    responses.push(Response::Error(error_info(to_pg_error(e))));
                    break;
                }
            }
        }
        Ok(responses)
    }
}
