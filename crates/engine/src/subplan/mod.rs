//! PostgreSQL's SubPlan: a correlated subquery DataFusion cannot decorrelate runs once per
//! outer row, with that row's values in place of its outer references.
//!
//! DataFusion turns a correlated subquery into a join when the correlation is a plain equality
//! it can pull out; anything else (an outer column inside a derived table, a recursive CTE, a
//! `unnest`, a comparison other than `=`) reached the physical planner as an expression it
//! cannot run, and the query was refused with 0A000. PostgreSQL plans those as a SubPlan,
//! evaluated per outer row. This module does the same in two steps:
//! - the optimizer rule [`PgSubPlans`], right after DataFusion's decorrelating rules, makes
//!   each correlated `(SELECT …)`, `EXISTS (…)` and `x IN (…)` they left a call of a
//!   [`SubPlan`] function whose arguments are the outer columns it reads;
//!   ([`PgLateralSubPlans`] does the same before those rules for a subquery reading its outer
//!   columns inside a derived table over a set-returning function, which they mishandle);
//! - the query planner [`PgQueryPlanner`] binds each call to the statement's session state
//!   and run limits.
//!
//! For each row the function substitutes the row's values for the outer references, optimizes
//! and plans the subquery and runs it, with PostgreSQL's meaning:
//! - `(SELECT …)`: the only row's value; NULL without rows; 21000 with more than one;
//! - `EXISTS`: whether there is a row;
//! - `x IN (…)`: true when a row equals `x`; otherwise NULL if `x` or a row is NULL (and there
//!   are rows); otherwise false (`NOT IN` negates, NULL staying NULL).
//!
//! The function is evaluated where the expression stands, so inside `CASE` only for the rows
//! whose branch is taken (as PostgreSQL evaluates a SubPlan), and errors of branches not
//! taken never surface.
//!
//! Bounds: one statement runs its subplans at most [`MAX_RUNS`] times (54000 past it), and
//! checks the session's cancel and `statement_timeout` before each run and between batches,
//! so a cancel or a timeout stops the work, not only the wait. The runs are synchronous inside
//! the operator that evaluates them; a plan holding subplans therefore never runs on a
//! connection's own task (see [`SubPlansExec`] and [`crate::plan_cache::runs_inline`]).

//!
//! Files: `scope.rs` (which outer columns a subquery reads, and the substitution of their
//! values), `run.rs` (the [`SubPlan`] function, its bounds and the marker plan node).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchemaRef, Result};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::expr::{Exists, InSubquery, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan, ScalarUDF, Signature, Subquery, Volatility};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};

mod run;
mod scope;

use run::{Bound, RunLimits, SubPlan, SubPlansExec};
pub(crate) use scope::correlated;
use scope::{
    any_expr, has_correlated, input_schemas, outer_columns, reads_inside_derived_table, subquery_of,
};

/// The most subquery runs one statement may make.
pub const MAX_RUNS: usize = 100_000;

/// The optimizer rule that makes each correlated subquery DataFusion's own rules could not
/// decorrelate a [`SubPlan`] call. It runs right after those rules, before filters are pushed
/// down and projections pruned: those rules do not follow a column into a subquery's outer
/// references, so a correlated subquery left for later lost its outer columns (pushed below
/// the alias that named them, or pruned from the scan).
#[derive(Debug, Default)]
pub struct PgSubPlans;

impl PgSubPlans {
    /// DataFusion's optimizer rules with this one after the last decorrelating rule, and
    /// [`PgLateralSubPlans`] before them all.
    pub fn with_defaults() -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
        let mut rules = datafusion::optimizer::Optimizer::new().rules;
        let at = rules
            .iter()
            .rposition(|r| {
                matches!(
                    r.name(),
                    "decorrelate_lateral_join"
                        | "scalar_subquery_to_join"
                        | "decorrelate_predicate_subquery"
                )
            })
            .map_or(0, |i| i + 1);
        rules.insert(at, Arc::new(PgSubPlans));
        rules.insert(0, Arc::new(PgLateralSubPlans));
        rules
    }
}

impl OptimizerRule for PgSubPlans {
    fn name(&self) -> &str {
        "pg_subplans"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        // What DataFusion's rules left correlated.
        make_subplans(plan, |_| true)
    }
}

/// The optimizer rule that makes a SubPlan, before DataFusion's decorrelating rules run, of
/// each correlated subquery that reads its outer columns inside a derived table over a
/// set-returning function (`(SELECT count(*) FROM unnest(ARRAY[s.n]) u)`): those rules
/// join such a subquery once and leave the outer reference inside, which cannot run.
#[derive(Debug, Default)]
pub struct PgLateralSubPlans;

impl OptimizerRule for PgLateralSubPlans {
    fn name(&self) -> &str {
        "pg_lateral_subplans"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        make_subplans(plan, |s| reads_inside_derived_table(&s.subquery))
    }
}

/// `plan` with each correlated subquery `pick` accepts (and whose outer columns its node's
/// inputs provide) made a [`SubPlan`] call; output names are kept.
fn make_subplans(
    plan: LogicalPlan,
    pick: impl Fn(&Subquery) -> bool,
) -> Result<Transformed<LogicalPlan>> {
    if !has_correlated(&plan) {
        return Ok(Transformed::no(plan));
    }
    plan.transform_up_with_subqueries(|node| {
        let inputs = input_schemas(&node);
        let preserver = NamePreserver::new(&node);
        node.map_expressions(|expr| {
            let saved = preserver.save(&expr);
            let rewritten = expr.transform_up(|e| {
                if subquery_of(&e).is_some_and(&pick) {
                    subplan_call(e, &inputs)
                } else {
                    Ok(Transformed::no(e))
                }
            })?;
            Ok(rewritten.update_data(|e| saved.restore(e)))
        })
    })
}

/// The session's query planner: DataFusion's, after each [`SubPlan`] call is given the
/// session state to plan its runs in and the statement's [`RunLimits`].
#[derive(Debug, Default)]
pub struct PgQueryPlanner;

#[async_trait]
impl QueryPlanner for PgQueryPlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn datafusion::catalog::Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let planner = DefaultPhysicalPlanner::default();
        let state = session.as_any().downcast_ref::<SessionState>();
        let Some(state) = state.filter(|_| has_subplans(plan)) else {
            return planner.create_physical_plan(plan, session).await;
        };
        let bound = bind(plan.clone(), state)?;
        let physical = planner.create_physical_plan(&bound, session).await?;
        Ok(Arc::new(SubPlansExec::new(physical)))
    }
}

/// The subplan `e` calls, if it is a [`SubPlan`] call.
fn as_subplan(e: &Expr) -> Option<&SubPlan> {
    match e {
        Expr::ScalarFunction(f) => f.func.inner().downcast_ref::<SubPlan>(),
        _ => None,
    }
}

/// Whether `plan` calls a [`SubPlan`].
fn has_subplans(plan: &LogicalPlan) -> bool {
    any_expr(plan, |e| as_subplan(e).is_some())
}

/// `plan` with every [`SubPlan`] call bound to `state` and one statement's [`RunLimits`].
fn bind(plan: LogicalPlan, state: &SessionState) -> Result<LogicalPlan> {
    // A subplan inside a subplan counts against the statement's limits, not its own.
    let limits = state
        .config()
        .get_extension::<RunLimits>()
        .unwrap_or_else(|| Arc::new(RunLimits::of(state)));
    let mut runs_in = state.clone();
    runs_in.config_mut().set_extension(Arc::clone(&limits));
    let bound = Bound {
        state: Arc::new(runs_in),
        limits,
    };
    let rewritten = plan.transform_up(|node| {
        node.map_expressions(|expr| {
            expr.transform_up(|e| {
                let Some(sub) = as_subplan(&e) else {
                    return Ok(Transformed::no(e));
                };
                let Expr::ScalarFunction(f) = &e else {
                    return Ok(Transformed::no(e));
                };
                let udf = SubPlan {
                    bound: Some(bound.clone()),
                    ..sub.clone()
                };
                Ok(Transformed::yes(Expr::ScalarFunction(
                    ScalarFunction::new_udf(
                        Arc::new(ScalarUDF::new_from_impl(udf)),
                        f.args.clone(),
                    ),
                )))
            })
        })
    })?;
    Ok(rewritten.data)
}

/// `e` as a [`SubPlan`] call when it is a correlated subquery over `inputs`' columns.
fn subplan_call(e: Expr, inputs: &[DFSchemaRef]) -> Result<Transformed<Expr>> {
    let (kind, subquery, compared) = match &e {
        Expr::ScalarSubquery(s) => (Kind::Scalar, s, None),
        Expr::Exists(Exists { subquery, negated }) => {
            (Kind::Exists { negated: *negated }, subquery, None)
        }
        Expr::InSubquery(InSubquery {
            expr,
            subquery,
            negated,
        }) => (
            Kind::In { negated: *negated },
            subquery,
            Some(expr.as_ref().clone()),
        ),
        _ => return Ok(Transformed::no(e)),
    };
    let provided = |c: &Column| inputs.iter().any(|s| s.has_column(c));
    let Some(outer) = outer_columns(subquery, provided).filter(|o| !o.is_empty()) else {
        return Ok(Transformed::no(e));
    };
    let return_type = match kind {
        Kind::Scalar => subquery.subquery.schema().field(0).data_type().clone(),
        Kind::Exists { .. } | Kind::In { .. } => DataType::Boolean,
    };
    let udf = SubPlan {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        kind,
        plan: Arc::clone(&subquery.subquery),
        outer: outer.clone(),
        return_type,
        signature: Signature::variadic_any(Volatility::Volatile),
        bound: None,
    };
    let args = compared
        .into_iter()
        .chain(outer.into_iter().map(Expr::Column))
        .collect();
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(Arc::new(ScalarUDF::new_from_impl(udf)), args),
    )))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// What a subplan answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// `(SELECT …)`: the one row's value.
    Scalar,
    /// `[NOT] EXISTS (…)`.
    Exists { negated: bool },
    /// `x [NOT] IN (…)`: the first argument is `x`.
    In { negated: bool },
}
