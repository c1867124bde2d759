//! The transaction status clients are told, kept by the session, not by pgwire.
//!
//! pgwire follows a status from the answers it sends (BEGIN opens a block, an error inside
//! fails it, COMMIT or ROLLBACK closes it), which cannot say that ROLLBACK TO SAVEPOINT made a
//! failed block usable again, nor that COMMIT AND CHAIN opened a new one. The engine's session
//! keeps the block (`stagesql_engine::TransactionStatus`); the connection loop tells it when
//! an error reached the client and when an exchange ended (a simple Query answered, a Sync),
//! and every ReadyForQuery reports its status. A session that keeps none (the protocol tests'
//! canned one) leaves pgwire's.
//!
//! A failed block answers 25P02 to every message that would run or describe rows: Parse and
//! Execute are refused by the session itself, Bind and Describe here, before they reach
//! pgwire or the quick path.

use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME};
use pgwire::error::PgWireError;
use pgwire::messages::PgWireFrontendMessage;
use pgwire::messages::extendedquery::{TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT};
use pgwire::messages::response::TransactionStatus as Ready;
use pgwire::messages::startup::ParameterStatus;
use stagesql_engine::TransactionStatus;

use crate::backend::{BackendSession, PreparedStatement};
use crate::error::to_pg_error;

/// What ReadyForQuery says for `status`.
fn ready(status: TransactionStatus) -> Ready {
    match status {
        TransactionStatus::Idle => Ready::Idle,
        TransactionStatus::InBlock => Ready::Transaction,
        TransactionStatus::Failed => Ready::Error,
    }
}

/// Sets the status the client's next ReadyForQuery reports from the session, when it keeps one.
pub(crate) fn sync_status<S: BackendSession>(session: &S, client: &mut impl ClientInfo) {
    if let Some(status) = session.transaction_status() {
        client.set_transaction_status(ready(status));
    }
}

/// Whether the session's transaction block has failed.
pub(crate) fn failed<S: BackendSession>(session: &S) -> bool {
    session.transaction_status() == Some(TransactionStatus::Failed)
}

/// After a message other than a simple Query (which `handler::on_query` finishes itself):
/// an error sent to the client fails the block, and the status follows the session.
pub(crate) async fn after_message<S: BackendSession>(
    session: &S,
    client: &mut impl ClientInfo,
    errored: bool,
) {
    if errored {
        session.statement_failed().await;
    }
    sync_status(session, client);
}

/// The end of an exchange (a simple Query answered, or a Sync): the session's implicit
/// transaction ends, and the status is set for the ReadyForQuery that follows. Gives the
/// ParameterStatus messages to send before it.
pub(crate) fn end_exchange<S: BackendSession>(
    session: &S,
    client: &mut impl ClientInfo,
) -> Vec<ParameterStatus> {
    session.exchange_end();
    sync_status(session, client);
    session
        .take_reports()
        .into_iter()
        .map(|(name, value)| ParameterStatus::new(name, value))
        .collect()
}

/// 25P02 for a Bind or a Describe of rows in a failed block (PostgreSQL refuses both before
/// anything runs); `None` for anything else.
pub(crate) fn refused<S, C>(
    session: &S,
    client: &C,
    message: &PgWireFrontendMessage,
) -> Option<PgWireError>
where
    S: BackendSession,
    C: ClientPortalStore,
    C::PortalStore: PortalStore<Statement = std::sync::Arc<S::Statement>>,
{
    if !failed(session) {
        return None;
    }
    let stored = |name: Option<&str>| match name {
        None | Some("") => DEFAULT_NAME.to_owned(),
        Some(n) => n.to_owned(),
    };
    let store = client.portal_store();
    let statement = match message {
        PgWireFrontendMessage::Bind(m) => {
            match store.get_statement(&stored(m.statement_name.as_deref())) {
                Some(Entry::Value(s)) => s.statement.clone(),
                _ => return None,
            }
        }
        PgWireFrontendMessage::Describe(m) if m.target_type == TARGET_TYPE_BYTE_STATEMENT => {
            match store.get_statement(&stored(m.name.as_deref())) {
                Some(Entry::Value(s)) if s.statement.schema().is_some() => s.statement.clone(),
                _ => return None,
            }
        }
        PgWireFrontendMessage::Describe(m) if m.target_type == TARGET_TYPE_BYTE_PORTAL => {
            match store.get_portal(&stored(m.name.as_deref())) {
                Some(Entry::Value(p)) if p.statement.statement.schema().is_some() => {
                    p.statement.statement.clone()
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    session
        .refuse_in_failed_block(&statement)
        .err()
        .map(to_pg_error)
}
