//! The per-connection handler: startup, simple query and extended query.
//!
//! pgwire drives the protocol state machine and calls the `do_*`/`on_startup` hooks here; this
//! module turns each into engine calls and engine output into pgwire responses. Every error
//! leaves through [`to_pg_error`].

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Sink, SinkExt, StreamExt, stream};
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionManager, RandomPidSecretKeyGenerator, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::startup::ParameterStatus;
use stagesql_engine::Canceller;
use stagesql_engine::values::IntervalStyle;
use stagesql_engine::{Command, Engine, Output, Prepared, Session};

use crate::auth::{ScramState, Users};
use crate::encode::{ColumnFormat, encode_batch};
use crate::error::{WireError, to_pg_error};
use crate::params::{decode_params, is_binary};
use crate::tls::Tls;
use crate::types::pg_type;

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

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: WireConfig,
    /// The current users and certificate (swapped whole by a reload).
    credentials: arc_swap::ArcSwap<Credentials>,
    pub(crate) cancel: Arc<ConnectionManager>,
    pub(crate) pids: RandomPidSecretKeyGenerator,
    pub(crate) cancel_targets: CancelTargets,
    /// Connection slots (`max_connections`).
    pub(crate) slots: Arc<tokio::sync::Semaphore>,
}

impl Shared {
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

impl Shared {
    /// Shared state for connections served by `engine`.
    pub fn new(engine: Arc<Engine>, config: WireConfig, credentials: Credentials) -> Arc<Shared> {
        Arc::new(Shared {
            engine,
            credentials: arc_swap::ArcSwap::from_pointee(credentials),
            cancel: Arc::new(ConnectionManager::new()),
            pids: RandomPidSecretKeyGenerator::default(),
            cancel_targets: std::sync::Mutex::new(HashMap::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_connections)),
            config,
        })
    }
}

/// One connection: its session (created at startup) and the handlers pgwire calls.
#[derive(Debug)]
pub struct Connection {
    pub(crate) shared: Arc<Shared>,
    /// The users and certificate current when this connection arrived.
    pub(crate) credentials: Arc<Credentials>,
    pub(crate) session: Arc<OnceLock<Arc<Session>>>,
    parser: Arc<StatementParser>,
    /// This connection's `max_connections` slot; `None` when there was none left, and the
    /// startup is answered with FATAL 53300.
    pub(crate) slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The backend pid, once started (to forget its cancel target on close).
    pub(crate) pid: OnceLock<i32>,
    /// Where the SCRAM exchange stands (a std Mutex: held for a swap, never across an await).
    pub(crate) scram: std::sync::Mutex<ScramState>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.get()
            && let Ok(mut targets) = self.shared.cancel_targets.lock()
        {
            targets.remove(pid);
        }
    }
}

impl Connection {
    /// A connection that has not started up yet, holding a connection slot if one is free.
    pub fn new(shared: Arc<Shared>) -> Connection {
        let session = Arc::new(OnceLock::new());
        let slot = Arc::clone(&shared.slots).try_acquire_owned().ok();
        Connection {
            parser: Arc::new(StatementParser {
                session: Arc::clone(&session),
            }),
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

    fn session(&self) -> PgWireResult<Arc<Session>> {
        session_of(&self.session)
    }

    /// The session, once startup has completed.
    pub fn session_if_started(&self) -> Option<&Arc<Session>> {
        self.session.get()
    }
}

fn session_of(cell: &OnceLock<Arc<Session>>) -> PgWireResult<Arc<Session>> {
    cell.get().cloned().ok_or_else(|| {
        to_pg_error(WireError::Protocol(
            "query before startup completed".to_owned(),
        ))
    })
}

/// Routes a CancelRequest to the session it names: its running statement (including one
/// streaming rows) stops with 57014. A wrong secret key does nothing.
pub(crate) struct CancelHandler(pub(crate) Arc<Shared>);

#[async_trait]
impl pgwire::api::cancel::CancelHandler for CancelHandler {
    async fn on_cancel_request(&self, request: pgwire::messages::cancel::CancelRequest) {
        self.0.cancel(request.pid, &request.secret_key);
        DefaultCancelHandler::new(Arc::clone(&self.0.cancel))
            .on_cancel_request(request)
            .await;
    }
}

/// Result columns of `schema` with the formats the client asked for.
fn field_infos(schema: &SchemaRef, format: &Format) -> Result<Vec<FieldInfo>, WireError> {
    let n = schema.fields().len();
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let format = if is_binary(format, i, n, "result column")? {
                FieldFormat::Binary
            } else {
                FieldFormat::Text
            };
            Ok(FieldInfo::new(
                f.name().clone(),
                None,
                None,
                pg_type(f),
                format,
            ))
        })
        .collect()
}

fn row_response(
    schema: &SchemaRef,
    stream: SendableRecordBatchStream,
    format: &Format,
    tag: &str,
    interval_style: IntervalStyle,
) -> Result<Response, WireError> {
    let fields = Arc::new(field_infos(schema, format)?);
    let columns: Arc<Vec<ColumnFormat>> = Arc::new(
        fields
            .iter()
            .map(|f| ColumnFormat {
                pg_type: f.datatype().clone(),
                format: f.format(),
                interval_style,
            })
            .collect(),
    );
    let rows = stream.flat_map(move |batch| {
        let rows: Vec<PgWireResult<_>> = match batch {
            Ok(batch) => match encode_batch(&batch, &columns) {
                Ok(rows) => {
                    metrics::counter!("stagesql_rows_sent_total").increment(rows.len() as u64);
                    rows.into_iter().map(Ok).collect()
                }
                Err(e) => vec![Err(to_pg_error(e))],
            },
            Err(e) => vec![Err(to_pg_error(WireError::from(e)))],
        };
        stream::iter(rows)
    });
    let mut response = QueryResponse::new(fields, rows);
    response.set_command_tag(tag);
    Ok(Response::Query(response))
}

/// Turns engine output into a pgwire response, sending ParameterStatus for changed settings.
async fn respond<C>(
    client: &mut C,
    prepared: &Prepared,
    output: Output,
    format: &Format,
    interval_style: IntervalStyle,
) -> PgWireResult<Response>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let report = |reports: Vec<(String, String)>| {
        reports
            .into_iter()
            .map(|(name, value)| {
                PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name, value))
            })
            .collect::<Vec<_>>()
    };
    Ok(match output {
        Output::Rows { schema, stream } => {
            let tag = match prepared.command() {
                Command::Show(_) => "SHOW",
                Command::Fetch { .. } => "FETCH",
                _ => "SELECT",
            };
            row_response(&schema, stream, format, tag, interval_style).map_err(to_pg_error)?
        }
        Output::Command { tag, reports } => {
            for m in report(reports) {
                client.feed(m).await?;
            }
            Response::Execution(Tag::new(tag))
        }
        Output::Begin(tag) => Response::TransactionStart(Tag::new(tag)),
        Output::Moved(n) => Response::Execution(
            Tag::new("MOVE").with_rows(usize::try_from(n).unwrap_or(usize::MAX)),
        ),
        Output::End(tag) => Response::TransactionEnd(Tag::new(tag)),
        Output::Deallocate(Some(name)) => {
            client.portal_store().rm_statement(&name);
            Response::Execution(Tag::new("DEALLOCATE"))
        }
        Output::Deallocate(None) => Response::Execution(Tag::new("DEALLOCATE ALL")),
        Output::CopyOut {
            schema,
            stream,
            options,
        } => crate::copy::send_copy_out(client, &schema, stream, &options, interval_style).await?,
        Output::DiscardAll(reports) => {
            for m in report(reports) {
                client.feed(m).await?;
            }
            client.portal_store().clear_portals();
            Response::Execution(Tag::new("DISCARD ALL"))
        }
    })
}

/// Runs a row stream to completion and hands back a stream over the buffered batches.
async fn materialize(output: Output) -> Result<Output, stagesql_engine::EngineError> {
    match output {
        Output::Rows { schema, stream } => {
            let batches = datafusion::physical_plan::common::collect(stream).await?;
            let stream = datafusion::physical_plan::memory::MemoryStream::try_new(
                batches,
                Arc::clone(&schema),
                None,
            )?;
            Ok(Output::Rows {
                schema,
                stream: Box::pin(stream),
            })
        }
        other => Ok(other),
    }
}

fn error_info(err: PgWireError) -> Box<ErrorInfo> {
    match err {
        PgWireError::UserError(info) => info,
        other => Box::new(ErrorInfo::from(other)),
    }
}

#[async_trait]
impl SimpleQueryHandler for Connection {
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
                    &prepared,
                    output,
                    &Format::UnifiedText,
                    session.interval_style(),
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
                    return Err(stagesql_engine::EngineError::UndefinedParameter(1));
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
                Ok::<_, stagesql_engine::EngineError>((prepared, output))
            };
            match run.await {
                Ok((prepared, output)) => {
                    match respond(
                        client,
                        &prepared,
                        output,
                        &Format::UnifiedText,
                        session.interval_style(),
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

/// Parses and plans the SQL of a Parse message.
#[derive(Debug)]
pub struct StatementParser {
    session: Arc<OnceLock<Arc<Session>>>,
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Arc<Prepared>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session_of(&self.session)?;
        tracing::debug!(sql, "parse");
        if let Some(prepared) = session.cached_text(sql) {
            return Ok(Some(prepared));
        }
        let mut commands = session.parse(sql).map_err(to_pg_error)?;
        match commands.len() {
            0 => Ok(None),
            1 => {
                let prepared = session
                    .prepare(commands.remove(0))
                    .await
                    .map_err(to_pg_error)?;
                session.remember_text(sql, &prepared);
                Ok(Some(Arc::new(prepared)))
            }
            _ => Err(to_pg_error(WireError::MultipleStatements)),
        }
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(stmt
            .param_types()
            .iter()
            .enumerate()
            .map(|(i, _)| crate::params::param_pg_type(i, &[], stmt.param_types()))
            .collect())
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match stmt.schema() {
            None => Ok(Vec::new()),
            Some(schema) => field_infos(schema, column_format.unwrap_or(&Format::UnifiedText))
                .map_err(to_pg_error),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Arc<Prepared>;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    /// A portal PostgreSQL would know that pgwire does not is a SQL cursor (`DECLARE`):
    /// psycopg describes its named cursors this way.
    async fn on_describe<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Describe,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or("");
        if message.target_type == pgwire::messages::extendedquery::TARGET_TYPE_BYTE_PORTAL
            && client.portal_store().get_portal(name).is_none()
            && let Some(schema) = self.session()?.cursor_schema(name).await
        {
            let fields = field_infos(&schema, &Format::UnifiedText).map_err(to_pg_error)?;
            let response = pgwire::api::results::DescribePortalResponse::new(fields);
            return pgwire::api::query::send_describe_response(client, &response).await;
        }
        self._on_describe(client, message).await
    }

    /// Execute, as pgwire's `_on_execute` but streaming: rows go to the client as they are
    /// produced, up to `max_rows`. pgwire's own fetch first collects the rows into a vector
    /// preallocated to `max_rows` (a client-chosen count up to 2^31: one Execute could abort
    /// the process) and holds a whole result in memory before sending any of it.
    async fn on_execute<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Execute,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        execute_portal(self, client, message).await
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?;
        session.canceller().begin();
        let prepared = &portal.statement.statement;
        let declared = &portal.statement.parameter_types;
        let planned = prepared.param_types().len();
        let expected = planned.max(declared.len());
        if portal.parameters.len() != expected {
            return Err(to_pg_error(stagesql_engine::EngineError::ParameterCount {
                expected,
                got: portal.parameters.len(),
            }));
        }
        let mut params = decode_params(
            &portal.parameters,
            &portal.parameter_format,
            declared,
            prepared.param_types(),
        )
        .map_err(to_pg_error)?;
        // Declared types beyond the placeholders the query uses are accepted and ignored.
        params.truncate(planned);
        let output = session
            .execute(prepared, params)
            .await
            .map_err(to_pg_error)?;
        respond(
            client,
            prepared,
            output,
            &portal.result_column_format,
            session.interval_style(),
        )
        .await
    }
}

/// Runs (or resumes) a portal for one Execute message and streams its rows.
async fn execute_portal<C>(
    handler: &Connection,
    client: &mut C,
    message: pgwire::messages::extendedquery::Execute,
) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = Arc<Prepared>>,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    use pgwire::api::PgWireConnectionState;
    use pgwire::api::portal::PortalExecutionState;
    use pgwire::api::store::Entry;
    use pgwire::messages::response::EmptyQueryResponse;

    if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
        return Err(PgWireError::NotReadyForQuery);
    }
    let mut transaction_status = client.transaction_status();
    client.set_state(PgWireConnectionState::QueryInProgress);
    let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
    // A negative count is as good as none (PostgreSQL reads it as unsigned, and any count
    // past the rows there are means all of them).
    let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
    let portal = match client.portal_store().get_portal(name) {
        Some(Entry::Value(portal)) => portal,
        Some(Entry::Empty) => {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            client.set_state(PgWireConnectionState::ReadyForQuery);
            return Ok(());
        }
        None => {
            client.set_state(PgWireConnectionState::ReadyForQuery);
            let shown = message.name.as_deref().unwrap_or("");
            return Err(to_pg_error(WireError::UnknownPortal(shown.to_owned())));
        }
    };
    let state = portal.state();
    let mut state = state.lock().await;
    if matches!(*state, PortalExecutionState::Initial) {
        let response = ExtendedQueryHandler::do_query(handler, client, portal.as_ref(), max_rows)
            .await
            .inspect_err(|_| client.set_state(PgWireConnectionState::ReadyForQuery))?;
        match response {
            Response::Query(rows) => *state = PortalExecutionState::Suspended(rows),
            Response::EmptyQuery => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            Response::Execution(tag) => {
                pgwire::api::query::send_execution_response(client, tag).await?;
            }
            Response::TransactionStart(tag) => {
                pgwire::api::query::send_execution_response(client, tag).await?;
                transaction_status = transaction_status.to_in_transaction_state();
            }
            Response::TransactionEnd(tag) => {
                pgwire::api::query::send_execution_response(client, tag).await?;
                transaction_status = transaction_status.to_idle_state();
                client.portal_store().rm_portal(pgwire::api::DEFAULT_NAME);
            }
            Response::Error(err) => {
                client
                    .send(PgWireBackendMessage::ErrorResponse((*err).into()))
                    .await?;
                transaction_status = transaction_status.to_error_state();
            }
            Response::CopyOut(result) => {
                pgwire::api::copy::send_copy_out_response(client, result).await?;
            }
            Response::CopyIn(_) | Response::CopyBoth(_) => {
                client.set_state(PgWireConnectionState::ReadyForQuery);
                return Err(to_pg_error(WireError::Protocol(
                    "COPY FROM is not supported".to_owned(),
                )));
            }
        }
    }
    match &mut *state {
        PortalExecutionState::Suspended(rows) => {
            let more =
                pgwire::api::query::send_partial_query_response(client, rows, max_rows).await;
            match more {
                Ok(true) => {}
                Ok(false) => *state = PortalExecutionState::Finished,
                Err(e) => {
                    // A failed portal cannot be resumed.
                    *state = PortalExecutionState::Finished;
                    client.set_state(PgWireConnectionState::ReadyForQuery);
                    return Err(e);
                }
            }
        }
        PortalExecutionState::Finished => {
            // Executing a portal that already ran to its end: no rows, as in PostgreSQL.
            let tag = Tag::new("SELECT").with_rows(0);
            client
                .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                .await?;
        }
        PortalExecutionState::Initial => {}
    }
    client.set_state(PgWireConnectionState::ReadyForQuery);
    client.set_transaction_status(transaction_status);
    Ok(())
}
