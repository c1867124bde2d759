//! The extended query protocol: Parse plans through the session ([`StatementParser`]),
//! Describe answers for statements and SQL cursors, Bind decodes parameters, and Execute
//! streams a portal's rows up to `max_rows`, suspending and resuming it.

use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{FieldInfo, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use stagesql_engine::EngineError;

use crate::backend::{Backend, BackendSession, PreparedStatement};
use crate::error::{WireError, to_pg_error};
use crate::handler::{Connection, SessionOf, session_of};
use crate::params::decode_params;
use crate::respond::{ColumnsCache, field_infos, respond};

/// The planned statement of backend `B`'s sessions, as pgwire keeps it.
pub(crate) type StatementOf<B> = Arc<<SessionOf<B> as BackendSession>::Statement>;

/// Parses and plans the SQL of a Parse message.
#[derive(Debug)]
pub struct StatementParser<S> {
    session: Arc<OnceLock<Arc<S>>>,
    /// The connection's last described result columns.
    pub(crate) columns: ColumnsCache,
}

impl<S> StatementParser<S> {
    /// A parser for the session `session` will hold once startup completes.
    pub(crate) fn new(session: Arc<OnceLock<Arc<S>>>) -> StatementParser<S> {
        StatementParser {
            session,
            columns: ColumnsCache::default(),
        }
    }
}

#[async_trait]
impl<S: BackendSession> QueryParser for StatementParser<S> {
    type Statement = Arc<S::Statement>;

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
            session
                .refuse_in_failed_block(&prepared)
                .map_err(to_pg_error)?;
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
        let Some(schema) = stmt.schema() else {
            return Ok(Vec::new());
        };
        let format = column_format.unwrap_or(&Format::UnifiedText);
        // The session's IntervalStyle, so that the Execute after this Describe finds the
        // columns kept (before startup there are no statements to describe).
        let interval_style = session_of(&self.session)?.interval_style();
        let described = self
            .columns
            .get(schema, format, interval_style)
            .map_err(to_pg_error)?;
        Ok(described.fields.as_ref().clone())
    }
}

#[async_trait]
impl<B: Backend> ExtendedQueryHandler for Connection<B> {
    type Statement = StatementOf<B>;
    type QueryParser = StatementParser<SessionOf<B>>;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    /// pgwire's `on_sync`, after the end of the exchange: the implicit transaction ends, and
    /// ReadyForQuery reports the session's status, after the ParameterStatus it owes.
    async fn on_sync<C>(
        &self,
        client: &mut C,
        _message: pgwire::messages::extendedquery::Sync,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(session) = self.session_if_started() {
            for report in crate::transaction::end_exchange(session.as_ref(), client) {
                client
                    .feed(PgWireBackendMessage::ParameterStatus(report))
                    .await?;
            }
        }
        client.portal_store().rm_portal(pgwire::api::DEFAULT_NAME);
        let status = client.transaction_status();
        pgwire::api::query::send_ready_for_query(client, status).await?;
        client.flush().await?;
        Ok(())
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
        // pgwire keeps the unnamed portal under its own name.
        let stored = if name.is_empty() {
            pgwire::api::DEFAULT_NAME
        } else {
            name
        };
        if message.target_type == pgwire::messages::extendedquery::TARGET_TYPE_BYTE_PORTAL
            && client.portal_store().get_portal(stored).is_none()
        {
            if let Some(schema) = self.session()?.cursor_schema(name).await {
                let fields = field_infos(&schema, &Format::UnifiedText).map_err(to_pg_error)?;
                let response = pgwire::api::results::DescribePortalResponse::new(fields);
                return pgwire::api::query::send_describe_response(client, &response).await;
            }
            // 34000, as PostgreSQL answers (pgwire's own error would be 26000, a statement's).
            return Err(to_pg_error(WireError::UnknownPortal(name.to_owned())));
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
            return Err(to_pg_error(EngineError::ParameterCount {
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
            &session,
            prepared.row_tag(),
            output,
            &portal.result_column_format,
            session.interval_style(),
            &self.parser.columns,
        )
        .await
    }
}

/// Runs (or resumes) a portal for one Execute message and streams its rows.
async fn execute_portal<B, C>(
    handler: &Connection<B>,
    client: &mut C,
    message: pgwire::messages::extendedquery::Execute,
) -> PgWireResult<()>
where
    B: Backend,
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = StatementOf<B>>,
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
    if let Some(session) = handler.session_if_started() {
        crate::transaction::sync_status(session.as_ref(), client);
    }
    Ok(())
}
