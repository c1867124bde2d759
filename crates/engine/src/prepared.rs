//! A statement ready to run, with the plans kept for running it again.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::logical_expr::LogicalPlan;

use crate::statement::Command;

/// A statement ready to run: parsed, sorted and, for queries, planned. Cloning shares the
/// statement and its plans (a query run with bound strings is a clone per run).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(crate) command: Arc<Command>,
    pub(crate) plan: Option<Arc<LogicalPlan>>,
    pub(crate) param_types: Vec<Option<DataType>>,
    pub(crate) schema: Option<SchemaRef>,
    /// The optimized physical plan, kept after the first run when the query has no parameters
    /// and calls only immutable functions (no `now()`, `random()`, settings): the scan reads
    /// the snapshot pinned at execution, so the plan stays right across refreshes.
    pub(crate) physical:
        Arc<std::sync::OnceLock<Arc<dyn datafusion::physical_plan::ExecutionPlan>>>,
    /// The logically optimized plan, parameters still in it, kept for a reusable plan with
    /// parameters: each run substitutes its values and plans only physically.
    pub(crate) optimized: Arc<std::sync::OnceLock<Option<LogicalPlan>>>,
    /// The generic physical plan of a reusable plan with parameters (`None` once found not
    /// to have one): a run binds its values and executes (see [`crate::generic`]).
    pub(crate) generic: Arc<std::sync::OnceLock<Option<Arc<crate::generic::GenericPlan>>>>,
    /// The values of a query whose strings were made parameters ([`crate::auto_param`]): it
    /// runs with these and, to the client, has no parameters.
    pub(crate) bound: Option<Arc<Vec<datafusion::scalar::ScalarValue>>>,
    /// The strings those values were read from, as [`crate::auto_param::normalize`] took them
    /// (what the session records to bind the next text of the same tokens without parsing).
    pub(crate) taken: Option<Arc<Vec<crate::auto_param::Taken>>>,
    /// The rows of a kept physical plan that reads no table (`SELECT 1`, a driver's probe):
    /// the same every run, so kept after the first (see [`crate::kept_results::KeptResults`]).
    pub(crate) results: Arc<std::sync::OnceLock<crate::kept_results::KeptResults>>,
}

impl Prepared {
    /// A statement with its plan (for queries), parameter types and result columns; no plan
    /// kept for running it again yet.
    pub(crate) fn new(
        command: Command,
        plan: Option<LogicalPlan>,
        param_types: Vec<Option<DataType>>,
        schema: Option<SchemaRef>,
    ) -> Prepared {
        Prepared {
            command: Arc::new(command),
            plan: plan.map(Arc::new),
            param_types,
            schema,
            physical: Arc::default(),
            optimized: Arc::default(),
            generic: Arc::default(),
            bound: None,
            taken: None,
            results: Arc::default(),
        }
    }

    /// This statement (sharing its kept plans) run with `values`, read from the strings
    /// `taken`, for its parameters.
    pub(crate) fn bound_to(
        &self,
        values: Vec<datafusion::scalar::ScalarValue>,
        taken: Vec<crate::auto_param::Taken>,
    ) -> Prepared {
        Prepared {
            bound: Some(Arc::new(values)),
            taken: Some(Arc::new(taken)),
            ..self.clone()
        }
    }

    /// The one batch of rows a query that reads no table kept after its first run (see
    /// [`crate::kept_results`]): what every run of it gives. `None` for any other statement,
    /// one with parameters, or one whose strings were made parameters.
    pub fn kept_batch(&self) -> Option<&datafusion::arrow::array::RecordBatch> {
        if self.bound.is_some()
            || !self.param_types.is_empty()
            || !matches!(*self.command, Command::Query(_))
        {
            return None;
        }
        self.results.get()?.single_batch()
    }

    /// The types DataFusion inferred for `$1..$n` (`None` where it could not tell); none for
    /// a statement whose values are bound already.
    pub fn param_types(&self) -> &[Option<DataType>] {
        if self.bound.is_some() {
            return &[];
        }
        &self.param_types
    }

    /// The result columns, or `None` for a statement that returns no rows.
    pub fn schema(&self) -> Option<&SchemaRef> {
        self.schema.as_ref()
    }

    /// The sorted statement.
    pub fn command(&self) -> &Command {
        &self.command
    }
}
