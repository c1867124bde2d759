//! What executing a statement produces, for the wire to send.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;

/// A WARNING a statement raised and still succeeded (PostgreSQL sends it as NoticeResponse
/// before the statement's answer). `wire/error.rs` gives each its SQLSTATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// `COMMIT` or `ROLLBACK` outside a block.
    #[error("there is no transaction in progress")]
    NoTransactionInProgress,
    /// `BEGIN` inside a block.
    #[error("there is already a transaction in progress")]
    TransactionInProgress,
    /// `SET LOCAL` outside a block: it lasts only for its own statement.
    #[error("SET LOCAL can only be used in transaction blocks")]
    SetLocalOutsideBlock,
}

/// What executing a statement produced.
pub enum Output {
    /// Rows, streamed.
    Rows {
        /// The result columns.
        schema: SchemaRef,
        /// The batches.
        stream: SendableRecordBatchStream,
    },
    /// A command that returns no rows: its tag. (Parameters it changed are reported before
    /// ReadyForQuery: see `Session::take_reports`.)
    Command {
        /// Command tag, e.g. `SET`.
        tag: &'static str,
    },
    /// A transaction block began; the command tag (`BEGIN` or `START TRANSACTION`).
    Begin(&'static str),
    /// A transaction block ended with this tag (`COMMIT` or `ROLLBACK`).
    End(&'static str),
    /// `MOVE`: this many rows were skipped.
    Moved(u64),
    /// Close prepared statements: one by name, or all with `None`.
    Deallocate(Option<String>),
    /// `DISCARD ALL`: settings were reset; the caller drops prepared statements and portals.
    DiscardAll,
    /// `COPY ... TO STDOUT`: rows to send as CopyData in the given format.
    CopyOut {
        /// The copied columns.
        schema: SchemaRef,
        /// The batches.
        stream: SendableRecordBatchStream,
        /// Format and options.
        options: crate::statement::CopyOptions,
    },
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Rows { schema, .. } => write!(f, "Rows({} columns)", schema.fields().len()),
            Output::Command { tag, .. } => write!(f, "Command({tag})"),
            Output::Begin(tag) => write!(f, "Begin({tag})"),
            Output::Moved(n) => write!(f, "Moved({n})"),
            Output::End(tag) => write!(f, "End({tag})"),
            Output::Deallocate(n) => write!(f, "Deallocate({n:?})"),
            Output::DiscardAll => write!(f, "DiscardAll"),
            Output::CopyOut { options, .. } => write!(f, "CopyOut({:?})", options.format),
        }
    }
}
