//! The messages of a prepared statement's run answered in the connection loop, without
//! pgwire's dispatch: Bind of a known statement, Describe of its portal, Execute of a portal
//! whose rows are kept or that is a prepared key lookup, and Sync.
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
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState};
use pgwire::messages::Message;
use pgwire::messages::extendedquery::{Bind, BindComplete, Describe, Execute};
use pgwire::messages::response::ReadyForQuery;

use crate::backend::{Backend, BackendSession, PreparedStatement};
use crate::encode::encode_selected_rows;
use crate::extended::StatementOf;
use crate::handler::Connection;
use crate::params::decode_params;
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

/// Execute to the end (no row limit) of a portal not yet run whose rows can be answered in
/// place: the DataRows and CommandComplete, the portal then finished, as `execute_portal`
/// leaves it. Nothing is awaited, so there is nothing to cancel or time out. Two kinds:
///
/// - a statement that takes no parameters and keeps its one batch of rows (a table-free query
///   such as `SELECT 1`, see `stagesql_engine::kept_results`), with those rows already
///   encoded for the portal's columns ([`kept_rows`]);
/// - a prepared key lookup (`stagesql_engine::Session::select_now`): its rows read now and
///   encoded straight from the snapshot's columns ([`selected_rows`]).
pub(crate) fn execute<B, C>(
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
    let state = portal.state();
    let Ok(mut state) = state.try_lock() else {
        return false;
    };
    if !matches!(*state, PortalExecutionState::Initial) {
        return false;
    }
    let prepared = &portal.statement.statement;
    let out = out(client);
    let answered = if portal.parameters.is_empty() && portal.statement.parameter_types.is_empty() {
        kept_rows(prepared.as_ref(), &columns, out)
    } else {
        selected_rows(handler, &portal, &columns, out)
    };
    let Some(count) = answered else {
        return false;
    };
    append_complete(out, prepared.row_tag(), count);
    *state = PortalExecutionState::Finished;
    rows_sent().increment(count as u64);
    true
}

/// Appends the DataRows kept for `prepared`'s one batch in `columns` and says how many; `None`
/// (nothing appended) when it keeps none or they were encoded for other columns.
fn kept_rows<P: PreparedStatement>(
    prepared: &P,
    columns: &ResultColumns,
    out: &mut BytesMut,
) -> Option<usize> {
    let (rows, count) = columns.kept_messages(prepared.kept_batch()?)?;
    out.extend_from_slice(&rows);
    Some(count)
}

/// Appends the DataRows of `portal`'s run when its statement is a prepared key lookup and says
/// how many. The parameters are decoded as the slow path decodes them; `None` (nothing
/// appended) for any other statement, and for a value that does not decode or bind or a
/// lookup that fails: the slow path then runs it again and answers its error (the lookup
/// reads and changes nothing, so running it twice gives what running it once does).
fn selected_rows<B: Backend>(
    handler: &Connection<B>,
    portal: &Portal<StatementOf<B>>,
    columns: &ResultColumns,
    out: &mut BytesMut,
) -> Option<usize> {
    let session = handler.session_if_started()?;
    let prepared = &portal.statement.statement;
    let declared = &portal.statement.parameter_types;
    let planned = prepared.param_types().len();
    if planned == 0 || portal.parameters.len() != planned.max(declared.len()) {
        return None;
    }
    let mut params = decode_params(
        &portal.parameters,
        &portal.parameter_format,
        declared,
        prepared.param_types(),
    )
    .ok()?;
    // Declared types beyond the placeholders the query uses are accepted and ignored.
    params.truncate(planned);
    let selected = session.select_now(prepared, params).ok()??;
    // On an error nothing was appended.
    encode_selected_rows(&selected.columns, &selected.rows, columns.formats(), out).ok()
}

/// Sync between statements: the end of the exchange (see `crate::transaction`), the unnamed
/// portal closed and ReadyForQuery, as our `on_sync` does.
pub(crate) fn sync<B, C>(
    handler: &Connection<B>,
    client: &mut C,
    out: impl FnOnce(&mut C) -> &mut BytesMut,
) -> bool
where
    B: Backend,
    C: ClientInfo + ClientPortalStore,
    C::PortalStore: PortalStore,
{
    if !ready(client) {
        return false;
    }
    let Some(session) = handler.session_if_started() else {
        return false;
    };
    let reports = crate::transaction::end_exchange(session.as_ref(), client);
    let status = client.transaction_status();
    let out = out(client);
    for report in &reports {
        // Encoding fails only past the message size limit, which no parameter reaches.
        let _ = append(out, report);
    }
    if !append(out, &ReadyForQuery::new(status)) {
        return false;
    }
    client.portal_store().rm_portal(DEFAULT_NAME);
    true
}

/// Appends CommandComplete with the tag `command count` (`SELECT 1`), the message pgwire
/// encodes for `Tag::new(command).with_rows(count)`, without formatting a string for it
/// (that was a twentieth of a prepared `SELECT 1`).
fn append_complete(out: &mut BytesMut, command: &str, count: usize) {
    use bytes::BufMut;
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = count;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let number = &digits[at..];
    // The length counts itself, the tag and its terminating zero.
    let length = 4 + command.len() + 1 + number.len() + 1;
    out.put_u8(b'C');
    out.put_i32(i32::try_from(length).unwrap_or(i32::MAX));
    out.put_slice(command.as_bytes());
    out.put_u8(b' ');
    out.put_slice(number);
    out.put_u8(0);
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

#[cfg(test)]
mod tests {
    use super::*;
    use pgwire::api::results::Tag;
    use pgwire::messages::response::CommandComplete;

    /// The CommandComplete written directly is byte for byte pgwire's for the same tag.
    #[test]
    fn command_complete_is_pgwires() {
        for command in ["SELECT", "SHOW", "FETCH"] {
            for count in [0, 1, 9, 10, 99, 100, 12_345, u32::MAX as usize, usize::MAX] {
                let mut ours = BytesMut::new();
                append_complete(&mut ours, command, count);
                let mut theirs = BytesMut::new();
                assert!(append(
                    &mut theirs,
                    &CommandComplete::from(Tag::new(command).with_rows(count))
                ));
                assert_eq!(ours, theirs, "{command} {count}");
            }
        }
    }
}
