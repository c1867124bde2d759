//! What the protocol code needs of a query engine, as two traits: a [`Backend`] opens sessions
//! and a [`BackendSession`] parses, plans and runs one connection's statements.
//!
//! The handlers, the startup exchange and the message loop are written against these traits
//! only, never against the engine's types, in the shape of RisingWave's `pgwire` crate
//! (`SessionManager`/`Session`). The engine implements them below; the wire's protocol tests
//! (`tests/protocol.rs`) implement them with canned answers, so the protocol is tested
//! without planning a single query.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::scalar::ScalarValue;
use stagesql_engine::values::IntervalStyle;
use stagesql_engine::{
    Canceller, Command, Engine, EngineError, Output, Prepared, SelectedRows, Session, TableRows,
    TransactionStatus, Warning,
};

/// The engine behind every connection of a server.
pub trait Backend: Debug + Send + Sync + 'static {
    /// One connection's session.
    type Session: BackendSession;

    /// The one database this backend serves (a startup naming another fails with 3D000).
    fn database(&self) -> &str;

    /// A new session for `user`, with the client's startup parameters (`user`, `database`,
    /// `options` and `replication` already taken out).
    fn open_session(
        &self,
        user: &str,
        startup: &[(&str, &str)],
    ) -> Result<Self::Session, EngineError>;
}

/// A planned statement, as the protocol sees it: what Describe answers and Bind checks.
pub trait PreparedStatement: Debug + Send + Sync + 'static {
    /// The types of `$1..$n` (`None` where the planner could not tell).
    fn param_types(&self) -> &[Option<DataType>];
    /// The result columns, or `None` for a statement that returns no rows.
    fn schema(&self) -> Option<&SchemaRef>;
    /// The command tag its rows complete with (`SELECT`, `SHOW` or `FETCH`).
    fn row_tag(&self) -> &'static str;
    /// The rows every run gives, once kept: a query with no parameters whose one batch of
    /// rows is the same each time (a table-free `SELECT 1`); `None` for anything else.
    fn kept_batch(&self) -> Option<&RecordBatch> {
        None
    }
}

/// One connection's session: its settings, its plans, its running statement.
#[async_trait]
pub trait BackendSession: Debug + Send + Sync + 'static {
    /// A statement split from a text, not yet planned.
    type Parsed: Send + 'static;
    /// A planned statement (kept by Parse, bound by Bind, run by Execute).
    type Statement: PreparedStatement;

    /// The session user.
    fn user(&self) -> &str;
    /// The parameters to report in ParameterStatus at startup.
    fn reported_settings(&self) -> Vec<(String, String)>;
    /// Records the backend pid the client was sent.
    fn set_backend_pid(&self, pid: i32);
    /// The switch a CancelRequest flips to stop the running statement.
    fn canceller(&self) -> Arc<Canceller>;
    /// A timeout setting (`idle_session_timeout`, …) as a duration; `None` when off.
    fn timeout_setting(&self, name: &str) -> Option<Duration>;
    /// How intervals are printed as text.
    fn interval_style(&self) -> IntervalStyle;

    /// The statement this exact text planned to before, if its plan can be run again.
    fn cached_text(&self, sql: &str) -> Option<Arc<Self::Statement>>;
    /// Keeps `statement` as the plan of the text `sql`, if it can be reused.
    fn remember_text(&self, sql: &str, statement: &Self::Statement);
    /// Splits `sql` into statements; nothing is planned yet.
    fn parse(&self, sql: &str) -> Result<Vec<Self::Parsed>, EngineError>;
    /// Plans one statement.
    async fn prepare(&self, parsed: Self::Parsed) -> Result<Self::Statement, EngineError>;
    /// Runs a planned statement with one decoded value per `$n`.
    async fn execute(
        &self,
        statement: &Self::Statement,
        params: Vec<ScalarValue>,
    ) -> Result<Output, EngineError>;
    /// The columns of SQL cursor `name`, if one is open (clients may Describe it as a portal).
    async fn cursor_schema(&self, name: &str) -> Option<SchemaRef>;
    /// The snapshot a query starting now reads, whose memo keeps encoded whole rows; `None`
    /// (the default) when there is none.
    fn table_rows(&self) -> Option<TableRows> {
        None
    }
    /// The rows `statement` gives with `params` when it is a prepared key lookup, read now
    /// without executing it (the same rows `execute` streams); `None` (the default) for any
    /// other statement, which is executed.
    fn select_now(
        &self,
        _statement: &Self::Statement,
        _params: Vec<ScalarValue>,
    ) -> Result<Option<SelectedRows>, EngineError> {
        Ok(None)
    }

    /// Where the session's transaction stands, for ReadyForQuery; `None` (the default) for a
    /// session that keeps none: the status then follows the answers (BEGIN opens a block,
    /// COMMIT and ROLLBACK close it, an error inside fails it), as pgwire tracks it.
    fn transaction_status(&self) -> Option<TransactionStatus> {
        None
    }
    /// 25P02 when the transaction block failed and `statement` is not one that ends it.
    fn refuse_in_failed_block(&self, _statement: &Self::Statement) -> Result<(), EngineError> {
        Ok(())
    }
    /// An error was sent to the client (it fails an open block, and undoes what the failed
    /// part of the transaction changed).
    async fn statement_failed(&self) {}
    /// A simple Query was answered, or a Sync came: an implicit transaction ends.
    fn exchange_end(&self) {}
    /// The WARNINGs of the statement just run, sent before its answer.
    fn take_warnings(&self) -> Vec<Warning> {
        Vec::new()
    }
    /// Reported parameters a commit or rollback changed, sent before ReadyForQuery.
    fn take_reports(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl Backend for Engine {
    type Session = Session;

    fn database(&self) -> &str {
        Engine::database(self)
    }

    fn open_session(&self, user: &str, startup: &[(&str, &str)]) -> Result<Session, EngineError> {
        self.session(user, startup.iter().copied())
    }
}

impl PreparedStatement for Prepared {
    fn param_types(&self) -> &[Option<DataType>] {
        Prepared::param_types(self)
    }

    fn schema(&self) -> Option<&SchemaRef> {
        Prepared::schema(self)
    }

    fn row_tag(&self) -> &'static str {
        match self.command() {
            Command::Show(_) => "SHOW",
            Command::Fetch { .. } => "FETCH",
            _ => "SELECT",
        }
    }

    fn kept_batch(&self) -> Option<&RecordBatch> {
        Prepared::kept_batch(self)
    }
}

#[async_trait]
impl BackendSession for Session {
    type Parsed = Command;
    type Statement = Prepared;

    fn user(&self) -> &str {
        Session::user(self)
    }

    fn reported_settings(&self) -> Vec<(String, String)> {
        Session::reported_settings(self)
    }

    fn set_backend_pid(&self, pid: i32) {
        Session::set_backend_pid(self, pid);
    }

    fn canceller(&self) -> Arc<Canceller> {
        Session::canceller(self)
    }

    fn timeout_setting(&self, name: &str) -> Option<Duration> {
        Session::timeout_setting(self, name)
    }

    fn interval_style(&self) -> IntervalStyle {
        Session::interval_style(self)
    }

    fn cached_text(&self, sql: &str) -> Option<Arc<Prepared>> {
        Session::cached_text(self, sql)
    }

    fn remember_text(&self, sql: &str, statement: &Prepared) {
        Session::remember_text(self, sql, statement);
    }

    fn parse(&self, sql: &str) -> Result<Vec<Command>, EngineError> {
        Session::parse(self, sql)
    }

    async fn prepare(&self, parsed: Command) -> Result<Prepared, EngineError> {
        Session::prepare(self, parsed).await
    }

    async fn execute(
        &self,
        statement: &Prepared,
        params: Vec<ScalarValue>,
    ) -> Result<Output, EngineError> {
        Session::execute(self, statement, params).await
    }

    async fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        Session::cursor_schema(self, name).await
    }

    fn table_rows(&self) -> Option<TableRows> {
        Session::table_rows(self)
    }

    fn select_now(
        &self,
        statement: &Prepared,
        params: Vec<ScalarValue>,
    ) -> Result<Option<SelectedRows>, EngineError> {
        Session::select_now(self, statement, params)
    }

    fn transaction_status(&self) -> Option<TransactionStatus> {
        Some(Session::transaction_status(self))
    }

    fn refuse_in_failed_block(&self, statement: &Prepared) -> Result<(), EngineError> {
        Session::refuse_to_run(self, statement)
    }

    async fn statement_failed(&self) {
        Session::statement_failed(self).await;
    }

    fn exchange_end(&self) {
        Session::exchange_end(self);
    }

    fn take_warnings(&self) -> Vec<Warning> {
        Session::take_warnings(self)
    }

    fn take_reports(&self) -> Vec<(String, String)> {
        Session::take_reports(self)
    }
}
