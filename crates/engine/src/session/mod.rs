//! One session per connection.
//!
//! [`Engine`] (in [`crate::engine`]) builds a DataFusion `SessionState` once; each [`Session`]
//! clones it and adds what is per connection: settings and the functions that read them. A statement is [`Session::prepare`]d once (parse, plan, describe) and then
//! [`Session::execute`]d with parameter values as often as the client likes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockWriteGuard};

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::sql::parser::Statement as DFStatement;

use crate::bind::{cast_params, ordered_param_types, pg_named_schema};
use crate::cursor::Cursors;
use crate::error::EngineError;
use crate::rewrite;
use crate::settings::{Report, Settings};
use crate::statement::{self, Command};
use crate::table::StageTable;

use crate::output::Output;
use crate::prepared::Prepared;

mod run;
mod transaction;

pub use transaction::TransactionStatus;

/// One connection's session.
#[derive(Debug)]
pub struct Session {
    state: SessionState,
    settings: Arc<RwLock<Settings>>,
    user: String,
    pub(crate) table: Arc<StageTable>,
    cursors: Cursors,
    /// Stops the running execution on a CancelRequest.
    canceller: Arc<crate::limits::Canceller>,
    /// The pid the wire gave this session (`pg_backend_pid()`).
    backend_pid: Arc<std::sync::OnceLock<i32>>,
    /// The server-wide memory account queries draw on.
    budget: Arc<crate::limits::MemoryBudget>,
    /// Where queries that may compute for long run (see [`crate::executor`]).
    executor: Arc<crate::executor::QueryExecutor>,
    /// The transaction block, its savepoints and what they undo.
    transaction: transaction::Transaction,
    /// Simple-query texts planned before.
    texts: crate::plan_cache::TextCache,
    /// Normalized texts of queries whose strings are bound (see [`crate::auto_param`]).
    shapes: crate::plan_cache::TextCache<Option<Arc<Prepared>>>,
    /// Token keys of simple-query texts whose strings were bound, and where their strings go.
    token_shapes: crate::plan_cache::TextCache<Arc<crate::auto_param::TokenShape>>,
}

impl Session {
    /// A session over `state` (the engine's, with this session's functions added).
    pub(crate) fn new(
        state: SessionState,
        settings: Arc<RwLock<Settings>>,
        user: &str,
        table: Arc<StageTable>,
        backend_pid: Arc<std::sync::OnceLock<i32>>,
        budget: Arc<crate::limits::MemoryBudget>,
        executor: Arc<crate::executor::QueryExecutor>,
    ) -> Session {
        // The engine puts the cancel switch in the state, where subplans find it.
        let canceller = state
            .config()
            .get_extension::<crate::limits::Canceller>()
            .unwrap_or_default();
        Session {
            state,
            settings,
            user: user.to_owned(),
            table,
            cursors: Cursors::default(),
            canceller,
            backend_pid,
            budget,
            executor,
            transaction: transaction::Transaction::default(),
            texts: crate::plan_cache::TextCache::default(),
            shapes: crate::plan_cache::TextCache::default(),
            token_shapes: crate::plan_cache::TextCache::default(),
        }
    }

    /// The statement this exact text planned to before, if it was a single query with a
    /// reusable plan (see [`crate::plan_cache`]).
    pub fn cached_text(&self, sql: &str) -> Option<Arc<Prepared>> {
        let generation = self.settings_read().generation();
        self.texts
            .get(sql, generation)
            .or_else(|| self.cached_tokens(sql, generation))
    }

    /// The kept plan of a text whose tokens are those of one planned before but for the
    /// strings it binds (see [`crate::auto_param::TokenShape`]), bound to this text's strings:
    /// run without parsing. `None` when there is none, or a string does not read as its
    /// parameter's type (the text is then parsed and planned, and fails there as it should).
    fn cached_tokens(&self, sql: &str, generation: u64) -> Option<Arc<Prepared>> {
        if self.token_shapes.is_empty() {
            return None;
        }
        let tokens = crate::auto_param::tokens(sql)?;
        let shape = self.token_shapes.get(tokens.key(), generation)?;
        let taken = shape.taken(&tokens)?;
        let kept = self.shapes.get(&shape.normal, generation)??;
        let values = crate::auto_param::bound_values(&taken, &kept.param_types)?;
        Some(Arc::new(kept.bound_to(values, taken)))
    }

    /// Keeps `prepared` as the plan of the text `sql`, if it can be reused.
    pub fn remember_text(&self, sql: &str, prepared: &Prepared) {
        // A query with bound strings was kept by its shape only if its plan is reusable.
        let reusable = matches!(*prepared.command, Command::Query(_))
            && (prepared.bound.is_some()
                || prepared
                    .plan
                    .as_deref()
                    .is_some_and(crate::plan_cache::reusable));
        if reusable {
            let generation = self.settings_read().generation();
            self.texts
                .insert(sql, generation, Arc::new(prepared.clone()));
            // The next text of the same tokens, other strings bound, is then not parsed.
            if let (Some(taken), Command::Query(normal)) = (&prepared.taken, &*prepared.command)
                && let Some(tokens) = crate::auto_param::tokens(sql)
                && let Some(shape) =
                    crate::auto_param::TokenShape::new(&tokens, normal.to_string(), taken)
            {
                self.token_shapes
                    .insert(tokens.key(), generation, Arc::new(shape));
            }
        }
    }

    /// Splits `sql` into statements and sorts them; nothing is planned yet.
    pub fn parse(&self, sql: &str) -> Result<Vec<Command>, EngineError> {
        let commands = statement::parse(sql)?;
        self.note_statements(commands.len());
        Ok(commands)
    }

    /// The columns of SQL cursor `name`, if it is open (a cursor is also a protocol-level
    /// portal, which clients may Describe).
    pub async fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        self.cursors.schema(name).await.ok()
    }

    /// The session user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The parameters to report at startup.
    pub fn reported_settings(&self) -> Vec<Report> {
        self.settings_read().reported()
    }

    /// How this session prints intervals as text (IntervalStyle).
    pub fn interval_style(&self) -> crate::text::IntervalStyle {
        self.settings_read().interval_style()
    }

    fn settings_read(&self) -> std::sync::RwLockReadGuard<'_, Settings> {
        // A panic while holding the lock cannot leave Settings half-updated (every update is a
        // single map insert), so a poisoned lock is still safe to use.
        self.settings.read().unwrap_or_else(|p| p.into_inner())
    }

    fn settings_write(&self) -> RwLockWriteGuard<'_, Settings> {
        self.settings.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Plans `command`: for queries, the logical plan, its parameter types and result columns.
    /// A query differing from one planned before only in the strings it compares text
    /// columns with takes that plan with its own strings bound (see [`crate::auto_param`]).
    pub async fn prepare(&self, command: Command) -> Result<Prepared, EngineError> {
        self.refuse_in_failed_block(&command)?;
        if let Command::Query(stmt) = &command
            && let Some(prepared) = self.prepare_shape(stmt).await
        {
            return Ok(prepared);
        }
        self.prepare_as_written(command).await
    }

    /// The plan kept for the normalized text of `stmt` bound to its strings, planning and
    /// keeping it the first time; `None` when `stmt` has no such strings or its shape does not
    /// plan as text parameters (it is then planned as written, each time).
    async fn prepare_shape(
        &self,
        stmt: &datafusion::sql::sqlparser::ast::Statement,
    ) -> Option<Prepared> {
        let (normal, taken) = crate::auto_param::normalize(stmt)?;
        let key = normal.to_string();
        let generation = self.settings_read().generation();
        if let Some(kept) = self.shapes.get(&key, generation) {
            let kept = kept?;
            let values = crate::auto_param::bound_values(&taken, &kept.param_types)?;
            return Some(kept.bound_to(values, taken));
        }
        // Kept only when the planner read every string as its column's type, and the plan
        // can run again.
        let kept = match self.plan_query(&normal).await {
            Ok((plan, param_types, schema))
                if crate::plan_cache::reusable(&plan)
                    && taken
                        .iter()
                        .zip(&param_types)
                        .all(|(t, p)| p.as_ref() == Some(&t.column_type))
                    && param_types.len() == taken.len() =>
            {
                Some(Arc::new(Prepared::new(
                    Command::Query(Box::new(normal)),
                    Some(plan),
                    param_types,
                    Some(schema),
                )))
            }
            _ => None,
        };
        self.shapes.insert(&key, generation, kept.clone());
        let kept = kept?;
        let values = crate::auto_param::bound_values(&taken, &kept.param_types)?;
        Some(kept.bound_to(values, taken))
    }

    /// Plans `command` as written (no strings made parameters).
    pub(crate) async fn prepare_as_written(
        &self,
        command: Command,
    ) -> Result<Prepared, EngineError> {
        match &command {
            Command::Query(stmt) => {
                let (plan, param_types, schema) = self.plan_query(stmt).await?;
                Ok(Prepared::new(
                    command,
                    Some(plan),
                    param_types,
                    Some(schema),
                ))
            }
            Command::Explain { query, .. } => {
                let (plan, param_types, _) = self.plan_query(query).await?;
                let schema = Arc::new(Schema::new(vec![Field::new(
                    "QUERY PLAN",
                    DataType::Utf8,
                    false,
                )]));
                Ok(Prepared::new(
                    command,
                    Some(plan),
                    param_types,
                    Some(schema),
                ))
            }
            Command::CopyOut { query, .. } | Command::Declare { query, .. } => {
                let (plan, param_types, _) = self.plan_query(query).await?;
                Ok(Prepared::new(command, Some(plan), param_types, None))
            }
            Command::Fetch { name, skip, .. } => {
                let schema = if *skip {
                    None
                } else {
                    Some(self.cursors.schema(name).await?)
                };
                Ok(Prepared::new(command, None, Vec::new(), schema))
            }
            Command::Show(name) => {
                let schema = if name.eq_ignore_ascii_case("all") {
                    Arc::new(Schema::new(vec![
                        Field::new("name", DataType::Utf8, false),
                        Field::new("setting", DataType::Utf8, false),
                        Field::new("description", DataType::Utf8, false),
                    ]))
                } else {
                    let (canonical, _) = self.settings_read().get(name)?;
                    let column = if canonical.is_empty() {
                        name.to_ascii_lowercase()
                    } else {
                        canonical.to_owned()
                    };
                    Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, false)]))
                };
                Ok(Prepared::new(command, None, Vec::new(), Some(schema)))
            }
            _ => Ok(Prepared::new(command, None, Vec::new(), None)),
        }
    }

    /// Plans a query: the plan, its parameter types and its result columns (PostgreSQL names).
    async fn plan_query(
        &self,
        stmt: &datafusion::sql::sqlparser::ast::Statement,
    ) -> Result<(LogicalPlan, Vec<Option<DataType>>, SchemaRef), EngineError> {
        let mut resolved = stmt.clone();
        let search_path = self.settings_read().search_path_schemas();
        rewrite::refuse_unfaithful(&resolved)?;
        rewrite::rewrite(&mut resolved, &search_path);
        // Read after the rewrites: one may type a parameter (`$1 * interval '1 hour'` makes
        // `$1` a double precision, as PostgreSQL's `interval * float8` does).
        let casts = statement::placeholder_casts(&resolved);
        let plan = self
            .state
            .statement_to_plan(DFStatement::Statement(Box::new(resolved)))
            .await
            .map_err(crate::naming::same_name_ambiguity)?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|_| EngineError::ReadOnly {
                command: "this statement".to_owned(),
            })?;
        let plan = crate::bind::text_placeholders(plan)?;
        let mut param_types = ordered_param_types(&plan)?;
        for (i, ty) in param_types.iter_mut().enumerate() {
            if ty.is_none() {
                *ty = casts
                    .get(&(i + 1))
                    .and_then(|oid| crate::pg_types::arrow_type_for_oid(*oid));
            }
        }
        // The columns are described as they will run: PostgreSQL's semantics (an analyzer
        // rule, `semantics`) can change a column's type (`sum(bigint)` is numeric,
        // `date + interval` a timestamp), and a client decodes by the type it was told.
        let analyzed = self.state.analyzer().execute_and_check(
            plan.clone(),
            self.state.config_options(),
            |_, _| {},
        )?;
        let schema = pg_named_schema(stmt, analyzed.schema().as_arrow());
        Ok((plan, param_types, schema))
    }

    /// `EXPLAIN`: the physical plan of the query in PostgreSQL's text form; with ANALYZE the
    /// query runs first (under the statement's limits) and each node shows what it did.
    async fn explain(
        &self,
        prepared: &Prepared,
        params: Vec<ScalarValue>,
        options: crate::explain::ExplainOptions,
    ) -> Result<Output, EngineError> {
        let plan = prepared
            .plan
            .as_deref()
            .cloned()
            .ok_or_else(|| DataFusionError::Internal("EXPLAIN without a plan".to_owned()))?;
        let plan = if params.is_empty() {
            plan
        } else {
            let values = cast_params(params, &prepared.param_types)?;
            plan.with_param_values(ParamValues::from(values))?
        };
        let pinned = self.table.pin()?;
        let rows = pinned.as_ref().map_or(0, |p| p.0.rows());
        let mut state = self.state.clone();
        state.mark_start_execution();
        if let Some(pinned) = pinned.clone() {
            state.config_mut().set_extension(Arc::new(pinned));
        }
        let physical = state.create_physical_plan(&plan).await?;
        if options.analyze {
            let mut stream = self.start(
                prepared,
                Arc::clone(&physical),
                self.task_context(pinned),
                rows,
            )?;
            while let Some(batch) = futures::StreamExt::next(&mut stream).await {
                batch?;
            }
        }
        let lines = crate::explain::lines(&physical, options, rows);
        let schema = prepared
            .schema
            .clone()
            .ok_or_else(|| DataFusionError::Internal("EXPLAIN without a schema".to_owned()))?;
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(StringArray::from(lines))],
        )
        .map_err(DataFusionError::from)?;
        let stream = MemoryStream::try_new(vec![batch], Arc::clone(&schema), None)?;
        Ok(Output::Rows {
            schema,
            stream: Box::pin(stream),
        })
    }

    /// A timeout setting of this session (`idle_session_timeout`, ...) as a duration; `None`
    /// when it is 0 (off) or unknown.
    pub fn timeout_setting(&self, name: &str) -> Option<std::time::Duration> {
        self.settings_read().timeout(name)
    }

    /// Records the backend pid the wire sent the client (what `pg_backend_pid()` returns).
    pub fn set_backend_pid(&self, pid: i32) {
        let _ = self.backend_pid.set(pid);
    }

    /// The snapshot a query starting now would read, to encode its rows from the memo; `None`
    /// before the first snapshot.
    pub fn table_rows(&self) -> Option<crate::scan::TableRows> {
        self.table
            .pin()
            .ok()
            .flatten()
            .map(|p| crate::scan::TableRows(p.0))
    }

    /// The handle that cancels this session's running statement (for CancelRequest).
    pub fn canceller(&self) -> Arc<crate::limits::Canceller> {
        Arc::clone(&self.canceller)
    }

    /// Runs a prepared statement with `params` (one per `$n`, already decoded; cast here to the
    /// planned types).
    pub async fn execute(
        &self,
        prepared: &Prepared,
        params: Vec<ScalarValue>,
    ) -> Result<Output, EngineError> {
        self.refuse_in_failed_block(&prepared.command)?;
        let params = match &prepared.bound {
            Some(bound) if params.is_empty() => bound.as_ref().clone(),
            _ => params,
        };
        if params.len() != prepared.param_types.len() {
            return Err(EngineError::ParameterCount {
                expected: prepared.param_types.len(),
                got: params.len(),
            });
        }
        match prepared.command.as_ref() {
            Command::Query(_) => {
                let schema = prepared.schema.clone().ok_or_else(|| {
                    DataFusionError::Internal("query without a schema".to_owned())
                })?;
                let stream = self.run_plan(prepared, params).await?;
                Ok(Output::Rows { schema, stream })
            }
            Command::Explain { options, .. } => self.explain(prepared, params, *options).await,
            Command::CopyOut { query, options } => {
                let stream = self.run_plan(prepared, params).await?;
                let schema = match &prepared.plan {
                    Some(plan) => pg_named_schema(query, plan.schema().as_arrow()),
                    None => stream.schema(),
                };
                Ok(Output::CopyOut {
                    schema,
                    stream,
                    options: options.clone(),
                })
            }
            Command::Show(name) => self.show(prepared, name),
            // A changed reported parameter is sent before ReadyForQuery (`take_reports`).
            Command::Set { name, value, local } => {
                self.set(name, value.as_deref(), *local)?;
                Ok(Output::Command { tag: "SET" })
            }
            Command::Reset(name) => {
                match name {
                    None => self.settings_write().reset_all(),
                    Some(n) => self.settings_write().reset(n)?,
                }
                Ok(Output::Command { tag: "RESET" })
            }
            Command::Begin(tag) => Ok(self.begin(tag)),
            Command::Commit { chain } => self.end(true, *chain).await,
            Command::Rollback { chain } => self.end(false, *chain).await,
            Command::Savepoint(name) => self.savepoint(name),
            Command::Release(name) => self.release(name),
            Command::RollbackTo(name) => self.rollback_to(name).await,
            Command::Declare { name, hold, .. } => {
                self.declare(prepared, params, name, *hold).await
            }
            Command::Fetch { name, count, skip } => {
                let (schema, batches, n) = self.cursors.fetch(name, *count).await?;
                if *skip {
                    return Ok(Output::Moved(n));
                }
                let stream = MemoryStream::try_new(batches, Arc::clone(&schema), None)?;
                Ok(Output::Rows {
                    schema,
                    stream: Box::pin(stream),
                })
            }
            Command::Close(name) => {
                self.cursors.close(name.as_deref()).await?;
                Ok(Output::Command {
                    tag: if name.is_some() {
                        "CLOSE CURSOR"
                    } else {
                        "CLOSE CURSOR ALL"
                    },
                })
            }
            Command::Accepted(tag) => Ok(Output::Command { tag }),
            Command::DiscardAll => {
                self.refuse_in_block("DISCARD ALL")?;
                self.settings_write().reset_all();
                Ok(Output::DiscardAll)
            }
            Command::Deallocate(name) => Ok(Output::Deallocate(name.clone())),
        }
    }

    /// `SHOW name` (or `SHOW ALL`): the setting's value as one row.
    fn show(&self, prepared: &Prepared, name: &str) -> Result<Output, EngineError> {
        let schema = prepared
            .schema
            .clone()
            .ok_or_else(|| DataFusionError::Internal("SHOW without a schema".to_owned()))?;
        let columns: Vec<Arc<dyn datafusion::arrow::array::Array>> =
            if name.eq_ignore_ascii_case("all") {
                let all = self.settings_read().all();
                vec![
                    Arc::new(StringArray::from_iter_values(all.iter().map(|(k, _)| k))),
                    Arc::new(StringArray::from_iter_values(all.iter().map(|(_, v)| v))),
                    Arc::new(StringArray::from_iter_values(all.iter().map(|_| ""))),
                ]
            } else {
                let (_, value) = self.settings_read().get(name)?;
                vec![Arc::new(StringArray::from(vec![value]))]
            };
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), columns).map_err(DataFusionError::from)?;
        let stream = MemoryStream::try_new(vec![batch], Arc::clone(&schema), None)?;
        Ok(Output::Rows {
            schema,
            stream: Box::pin(stream),
        })
    }

    /// `DECLARE name CURSOR [WITH HOLD] FOR …`: starts the query and keeps its stream.
    async fn declare(
        &self,
        prepared: &Prepared,
        params: Vec<ScalarValue>,
        name: &str,
        hold: bool,
    ) -> Result<Output, EngineError> {
        if !hold && !self.in_block() {
            return Err(EngineError::NoActiveTransaction(
                "DECLARE CURSOR can only be used in transaction blocks".to_owned(),
            ));
        }
        let stream = self.run_plan(prepared, params).await?;
        let schema = match prepared.command.as_ref() {
            Command::Declare { query, .. } => match &prepared.plan {
                Some(plan) => pg_named_schema(query, plan.schema().as_arrow()),
                None => stream.schema(),
            },
            _ => stream.schema(),
        };
        self.cursors.declare(name, schema, stream, hold).await?;
        Ok(Output::Command {
            tag: "DECLARE CURSOR",
        })
    }

    fn set(&self, name: &str, value: Option<&str>, local: bool) -> Result<(), EngineError> {
        if name.eq_ignore_ascii_case("role") {
            return match value {
                None => Ok(()),
                Some(v) if v.eq_ignore_ascii_case("none") || v == self.user => Ok(()),
                Some(v) => Err(EngineError::UnknownRole(v.to_owned())),
            };
        }
        if name.eq_ignore_ascii_case("session_authorization") {
            return match value {
                Some(v)
                    if v.eq_ignore_ascii_case("default") || v.trim_matches('\'') == self.user =>
                {
                    Ok(())
                }
                Some(v) => Err(EngineError::UnknownRole(v.to_owned())),
                None => Ok(()),
            };
        }
        {
            let mut settings = self.settings_write();
            match (value, local) {
                (Some(v), false) => settings.set(name, v)?,
                (Some(v), true) => settings.set_local(name, v)?,
                (None, false) => settings.reset(name)?,
                (None, true) => settings.reset_local(name)?,
            }
        }
        if local {
            self.warn_set_local();
        }
        Ok(())
    }
}
