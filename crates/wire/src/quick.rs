//! The messages of a prepared statement's run answered in the connection loop, without
//! pgwire's dispatch: Bind of a known statement, Describe of its portal, Execute of a portal
//! whose rows are kept, and Sync.
//!
//! libpq runs a prepared statement as Bind, Describe (portal), Execute and Sync, every time.
//! Through pgwire each message is a boxed handler future, moved through the loop's `select!`
//! and the first-error scope, and an Execute also builds a row stream, a response and its
//! command tag; for `SELECT 1` that was most of the server's own CPU per round trip. Each
//! function here does exactly what pgwire (with our handlers) would do for the common case,
//! appending the encoded answer to the client's output, and says `false` (having done
//! nothing) for anything else, which then goes through pgwire as before: another connection
//! state, an unknown name, a portal already run, a partial Execute, rows not kept.

use std::sync::Arc;

use bytes::BytesMut;
use pgwire::api::portal::{Portal, PortalExecutionState};
use pgwire::api::results::Tag;
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState};
use pgwire::messages::Message;
use pgwire::messages::extendedquery::{Bind, BindComplete, Describe, Execute};
use pgwire::messages::response::{CommandComplete, ReadyForQuery};

use crate::backend::{Backend, BackendSession, PreparedStatement};
use crate::extended::StatementOf;
use crate::handler::Connection;
use crate::respond::{ResultColumns, rows_sent};

/// Whether `client` is between statements (not starting up, copying or skipping to Sync).
fn ready<C: ClientInfo>(client: &C) -> bool {
    matches!(client.state(), PgWireConnectionState::ReadyForQuery)
}

/// The name pgwire keeps a portal or statement under (the unnamed one has a name of its own).
fn stored_name(name: Option<&str>) -> &str {
    match name {
        None | Some("") => DEFAULT_NAME,
        Some(name) => name,
    }
}

/// The portal named `name` (of a statement in the store) and its result columns in its
/// formats and the session's IntervalStyle, kept per statement (see `respond::ColumnsCache`);
/// `None` before startup, for a portal not in the store, or for a statement without rows.
fn portal_columns<B, C>(
    handler: &Connection<B>,
    client: &C,
    name: Option<&str>,
) -> Option<(Arc<Portal<StatementOf<B>>>, ResultColumns)>
where
    B: Backend,
    C: ClientPortalStore,
    C::PortalStore: PortalStore<Statement = StatementOf<B>>,
{
    let session = handler.session_if_started()?;
    let Some(Entry::Value(portal)) = client.portal_store().get_portal(stored_name(name)) else {
        return None;
    };
    let schema = portal.statement.statement.schema()?;
    let columns = handler
        .parser
        .columns
        .get(
            schema,
            &portal.result_column_format,
            session.interval_style(),
        )
        .ok()?;
    Some((portal, columns))
}

/// Bind of a statement in the store: the portal, as pgwire's `on_bind` makes it, and
/// BindComplete.
pub(crate) fn bind<B, C>(
    client: &mut C,
    out: impl FnOnce(&mut C) -> &mut BytesMut,
    message: &Bind,
) -> bool
where
    B: Backend,
    C: ClientInfo + ClientPortalStore,
    C::PortalStore: PortalStore<Statement = StatementOf<B>>,
{
    if !ready(client) {
        return false;
    }
    let name = stored_name(message.statement_name.as_deref());
    let Some(Entry::Value(statement)) = client.portal_store().get_statement(name) else {
        return false;
    };
    let Ok(portal) = Portal::try_new(message, statement) else {
        return false;
    };
    if !append(out(client), &BindComplete::new()) {
        return false;
    }
    client.portal_store().put_portal(Arc::new(portal));
    true
}

/// Describe of a prepared statement's portal: the RowDescription kept for that statement and
/// its portal's result formats (see `respond::ColumnsCache`).
///
/// Building and encoding the same RowDescription again each time was a tenth of such a run.
pub(crate) fn describe_portal<B, C>(
    handler: &Connection<B>,
    client: &mut C,
    out: impl FnOnce(&mut C) -> &mut BytesMut,
    message: &Describe,
) -> bool
where
    B: Backend,
    C: ClientInfo + ClientPortalStore,
    C::PortalStore: PortalStore<Statement = StatementOf<B>>,
{
    if message.target_type != pgwire::messages::extendedquery::TARGET_TYPE_BYTE_PORTAL
        || !ready(client)
    {
        return false;
    }
    let Some((_, described)) = portal_columns(handler, client, message.name.as_deref()) else {
        return false;
    };
    // No columns is NoData, pgwire's answer.
    if described.fields.is_empty() {
        return false;
    }
    let Some(encoded) = described.row_description() else {
        return false;
    };
    out(client).extend_from_slice(encoded);
    true
}

/// Execute to the end (no row limit) of a portal not yet run, whose statement takes no
/// parameters and keeps its one batch of rows (a table-free query such as `SELECT 1`, see
/// `stagesql_engine::kept_results`), with those rows already encoded for the portal's
/// columns: the DataRows and CommandComplete, the portal then finished, as `execute_portal`
/// leaves it. Nothing runs, so there is nothing to cancel or time out.
pub(crate) fn execute_kept<B, C>(
    handler: &Connection<B>,
    client: &mut C,
    out: impl FnOnce(&mut C) -> &mut BytesMut,
    message: &Execute,
) -> bool
where
    B: Backend,
    C: ClientInfo + ClientPortalStore,
    C::PortalStore: PortalStore<Statement = StatementOf<B>>,
{
    if message.max_rows > 0 || !ready(client) {
        return false;
    }
    let Some((portal, columns)) = portal_columns(handler, client, message.name.as_deref()) else {
        return false;
    };
    let prepared = &portal.statement.statement;
    if !portal.parameters.is_empty() || !portal.statement.parameter_types.is_empty() {
        return false;
    }
    let Some(batch) = prepared.kept_batch() else {
        return false;
    };
    let Some((rows, count)) = columns.kept_messages(batch) else {
        return false;
    };
    let state = portal.state();
    let Ok(mut state) = state.try_lock() else {
        return false;
    };
    if !matches!(*state, PortalExecutionState::Initial) {
        return false;
    }
    let out = out(client);
    let before = out.len();
    out.extend_from_slice(&rows);
    let complete = CommandComplete::from(Tag::new(prepared.row_tag()).with_rows(count));
    if !append(out, &complete) {
        out.truncate(before);
        return false;
    }
    *state = PortalExecutionState::Finished;
    rows_sent().increment(count as u64);
    true
}

/// Sync between statements: the unnamed portal closed and ReadyForQuery, as pgwire's
/// `on_sync` does.
pub(crate) fn sync<C>(client: &mut C, out: impl FnOnce(&mut C) -> &mut BytesMut) -> bool
where
    C: ClientInfo + ClientPortalStore,
    C::PortalStore: PortalStore,
{
    if !ready(client) {
        return false;
    }
    let status = client.transaction_status();
    if !append(out(client), &ReadyForQuery::new(status)) {
        return false;
    }
    client.portal_store().rm_portal(DEFAULT_NAME);
    true
}

/// Appends `message`, encoded, to `out`; `false` (and `out` as it was) when it cannot be
/// encoded.
fn append(out: &mut BytesMut, message: &impl Message) -> bool {
    let before = out.len();
    if message.encode(out).is_err() {
        out.truncate(before);
        return false;
    }
    true
}
