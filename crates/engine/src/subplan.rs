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

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchemaRef, Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::session_state::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr::{Exists, InSubquery, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, LogicalPlanBuilder, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Subquery, Volatility,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties, execute_stream,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use futures::StreamExt;

use crate::error::EngineError;
use crate::limits::Canceller;

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
        if !has_correlated(&plan) {
            return Ok(Transformed::no(plan));
        }
        plan.transform_up_with_subqueries(|node| {
            let inputs = input_schemas(&node);
            let preserver = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let saved = preserver.save(&expr);
                let rewritten = expr.transform_up(|e| subplan_call(e, &inputs))?;
                Ok(rewritten.update_data(|e| saved.restore(e)))
            })
        })
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
        if !has_correlated(&plan) {
            return Ok(Transformed::no(plan));
        }
        plan.transform_up_with_subqueries(|node| {
            let inputs = input_schemas(&node);
            let preserver = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let saved = preserver.save(&expr);
                let rewritten = expr.transform_up(|e| {
                    if subquery_of(&e).is_some_and(|s| reads_inside_derived_table(&s.subquery)) {
                        subplan_call(e, &inputs)
                    } else {
                        Ok(Transformed::no(e))
                    }
                })?;
                Ok(rewritten.update_data(|e| saved.restore(e)))
            })
        })
    }
}

/// Whether `plan` holds a derived table (a `Subquery` plan node) that reads an outer column.
fn reads_inside_derived_table(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply(|node| {
        if let LogicalPlan::Subquery(derived) = node {
            let mut read = Vec::new();
            reads(&derived.subquery, &|_| false, &mut read);
            found |= !read.is_empty();
        }
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
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

/// The outer columns a subquery reads from `provided` (the inputs of the node it stands in),
/// its nested subqueries' included (DataFusion lists only the subquery's own), or `None` when
/// it reads a column of a query further out, so cannot run as a subplan there.
fn outer_columns(subquery: &Subquery, provided: impl Fn(&Column) -> bool) -> Option<Vec<Column>> {
    let mut read: Vec<Column> = Vec::new();
    for e in all_outer_references(subquery) {
        if let Expr::OuterReferenceColumn(_, c) = e
            && !read.contains(&c)
        {
            read.push(c);
        }
    }
    read.iter().all(provided).then_some(read)
}

/// The subquery expression `e` is, if any.
fn subquery_of(e: &Expr) -> Option<&Subquery> {
    match e {
        Expr::ScalarSubquery(s) => Some(s),
        Expr::Exists(e) => Some(&e.subquery),
        Expr::InSubquery(i) => Some(&i.subquery),
        _ => None,
    }
}

/// The schemas of `node`'s inputs: the columns its expressions (and the subqueries among
/// them, as outer columns) may read.
fn input_schemas(node: &LogicalPlan) -> Vec<DFSchemaRef> {
    node.inputs()
        .iter()
        .map(|i| Arc::clone(i.schema()))
        .collect()
}

/// Whether a column is one of the schemas'.
fn in_schemas(schemas: &[DFSchemaRef], c: &Column) -> bool {
    schemas.iter().any(|s| s.has_column(c))
}

/// Adds to `out` the outer columns `plan` and its nested subqueries read that no enclosing
/// scope inside it provides (`bound` says which the scopes between provide): a nested
/// subquery's outer reference names the nearest scope with that column, as SQL resolves it.
fn reads(plan: &LogicalPlan, bound: &dyn Fn(&Column) -> bool, out: &mut Vec<Expr>) {
    let _ = plan.apply(|node| {
        let scope = input_schemas(node);
        for expr in node.expressions() {
            let _ = expr.apply(|e| {
                if let Expr::OuterReferenceColumn(_, c) = e
                    && !bound(c)
                    && !out.contains(e)
                {
                    out.push(e.clone());
                }
                if let Some(sub) = subquery_of(e) {
                    let inner = |c: &Column| bound(c) || in_schemas(&scope, c);
                    reads(&sub.subquery, &inner, out);
                }
                Ok(TreeNodeRecursion::Continue)
            });
        }
        Ok(TreeNodeRecursion::Continue)
    });
}

/// The outer references `subquery` makes, its nested plans' included.
fn all_outer_references(subquery: &Subquery) -> Vec<Expr> {
    let mut read = Vec::new();
    reads(&subquery.subquery, &|_| false, &mut read);
    read
}

/// Whether an expression of `plan` or of its subqueries' plans matches `pred`.
fn any_expr(plan: &LogicalPlan, pred: impl Fn(&Expr) -> bool) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        for expr in node.expressions() {
            let _ = expr.apply(|e| {
                found |= pred(e);
                Ok(if found {
                    TreeNodeRecursion::Stop
                } else {
                    TreeNodeRecursion::Continue
                })
            });
        }
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

/// Whether `plan` holds a correlated subquery.
fn has_correlated(plan: &LogicalPlan) -> bool {
    any_expr(plan, |e| {
        subquery_of(e).is_some_and(|s| !s.outer_ref_columns.is_empty())
    })
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

/// One statement's bounds on its subplan runs (see the module documentation).
struct RunLimits {
    runs: AtomicUsize,
    /// [`MAX_RUNS`], but for tests.
    max_runs: usize,
    canceller: Option<Arc<Canceller>>,
    timeout: Option<Duration>,
    /// When the first run began: the timeout counts from there.
    started: OnceLock<Instant>,
}

impl RunLimits {
    fn of(state: &SessionState) -> RunLimits {
        let timeout = state
            .config_options()
            .extensions
            .get::<crate::settings::SessionSettings>()
            .and_then(|s| {
                let settings = s.0.read().ok()?;
                let (_, value) = settings.get("statement_timeout").ok()?;
                crate::limits::parse_timeout(&value).flatten()
            });
        RunLimits {
            runs: AtomicUsize::new(0),
            max_runs: MAX_RUNS,
            canceller: state.config().get_extension::<Canceller>(),
            timeout,
            started: OnceLock::new(),
        }
    }

    /// Fails when the statement was cancelled or ran out of time.
    fn check(&self) -> Result<()> {
        if self
            .canceller
            .as_ref()
            .is_some_and(|c| c.current().is_cancelled())
        {
            return Err(external(EngineError::QueryCanceled(
                "canceling statement due to user request".to_owned(),
            )));
        }
        let started = *self.started.get_or_init(Instant::now);
        if self.timeout.is_some_and(|t| started.elapsed() >= t) {
            return Err(external(EngineError::QueryCanceled(
                "canceling statement due to statement timeout".to_owned(),
            )));
        }
        Ok(())
    }

    /// Counts one run; fails past [`MAX_RUNS`].
    fn count(&self) -> Result<()> {
        self.check()?;
        if self.runs.fetch_add(1, Ordering::Relaxed) >= self.max_runs {
            return Err(external(EngineError::ProgramLimitExceeded(format!(
                "a correlated subquery would run more than {} times (once for each outer row)",
                self.max_runs
            ))));
        }
        Ok(())
    }
}

fn external(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// A correlated subquery as a function of the outer columns it reads (see the module docs).
#[derive(Clone)]
struct SubPlan {
    /// Tells this subplan from every other (the trait wants equality and hashing).
    id: u64,
    kind: Kind,
    /// The subquery, with `OuterReferenceColumn`s for `outer`.
    plan: Arc<LogicalPlan>,
    /// The outer columns, in argument order (after `x` for IN).
    outer: Vec<Column>,
    return_type: DataType,
    signature: Signature,
    /// Given when the statement is physically planned.
    bound: Option<Bound>,
}

/// What a subplan runs with: the session state the statement was planned in (its snapshot
/// pin included) and the statement's bounds.
#[derive(Clone)]
struct Bound {
    state: Arc<SessionState>,
    limits: Arc<RunLimits>,
}

impl fmt::Debug for SubPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubPlan")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("outer", &self.outer)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SubPlan {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for SubPlan {}

impl std::hash::Hash for SubPlan {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl ScalarUDFImpl for SubPlan {
    fn name(&self) -> &str {
        "subplan"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let compared = usize::from(matches!(self.kind, Kind::In { .. }));
        let mut answers = Vec::with_capacity(rows.min(8192));
        for row in 0..rows {
            let value = |a: &ArrayRef| ScalarValue::try_from_array(a, row);
            let outer = arrays[compared..]
                .iter()
                .map(value)
                .collect::<Result<Vec<_>>>()?;
            let x = match compared {
                1 => Some(value(&arrays[0])?),
                _ => None,
            };
            answers.push(self.run(&outer, x.as_ref())?);
        }
        if answers.is_empty() {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(&self.return_type),
            ));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(answers)?))
    }
}

impl SubPlan {
    /// The subquery's answer for one outer row (`x` is IN's left side).
    fn run(&self, outer: &[ScalarValue], x: Option<&ScalarValue>) -> Result<ScalarValue> {
        let Some(Bound { state, limits }) = &self.bound else {
            return datafusion::common::internal_err!("a subplan ran before it was planned");
        };
        limits.count()?;
        let mut plan = substitute(&self.plan, &self.outer, outer)?;
        if matches!(self.kind, Kind::Exists { .. }) {
            plan = LogicalPlanBuilder::from(plan).limit(0, Some(1))?.build()?;
        }
        let state = Arc::clone(state);
        let mut stream = off_the_runtime(|| {
            block_on(async move {
                // The subquery was analysed with its statement; analysing it again would
                // retype the substituted values (a bigint literal that fits reads as integer).
                let optimized = state
                    .optimizer()
                    .optimize(plan, state.as_ref(), |_, _| {})?;
                let physical = state
                    .query_planner()
                    .create_physical_plan(&optimized, state.as_ref())
                    .await?;
                execute_stream(physical, Arc::new(TaskContext::from(state.as_ref())))
            })
        })?;
        let mut answer = Answer::new(self.kind, x, &self.return_type)?;
        loop {
            limits.check()?;
            let Some(batch) = off_the_runtime(|| block_on(stream.next())) else {
                break;
            };
            let batch = batch?;
            for i in 0..batch.num_rows() {
                if answer.add(ScalarValue::try_from_array(batch.column(0), i)?)? {
                    return answer.finish();
                }
            }
        }
        answer.finish()
    }
}

/// The answer being read from a subquery's rows.
struct Answer<'a> {
    kind: Kind,
    x: Option<&'a ScalarValue>,
    value: ScalarValue,
    rows: usize,
    saw_null: bool,
    matched: bool,
}

impl<'a> Answer<'a> {
    fn new(kind: Kind, x: Option<&'a ScalarValue>, return_type: &DataType) -> Result<Answer<'a>> {
        Ok(Answer {
            kind,
            x,
            value: ScalarValue::try_from(return_type)?,
            rows: 0,
            saw_null: false,
            matched: false,
        })
    }

    /// Takes one row's value; true when the answer is settled.
    fn add(&mut self, v: ScalarValue) -> Result<bool> {
        self.rows += 1;
        match self.kind {
            Kind::Scalar if self.rows > 1 => Err(external(EngineError::CardinalityViolation(
                "more than one row returned by a subquery used as an expression".to_owned(),
            ))),
            Kind::Scalar => {
                self.value = v;
                Ok(false)
            }
            Kind::Exists { .. } => Ok(true),
            Kind::In { .. } => {
                if v.is_null() {
                    self.saw_null = true;
                } else if self.x.is_some_and(|x| !x.is_null() && *x == v) {
                    self.matched = true;
                }
                Ok(self.matched)
            }
        }
    }

    fn finish(self) -> Result<ScalarValue> {
        let boolean = |b: Option<bool>, negated: bool| {
            ScalarValue::Boolean(if negated { b.map(|b| !b) } else { b })
        };
        Ok(match self.kind {
            Kind::Scalar => self.value,
            Kind::Exists { negated } => boolean(Some(self.rows > 0), negated),
            Kind::In { negated } => {
                let x_null = self.x.is_none_or(ScalarValue::is_null);
                let answer = if self.matched {
                    Some(true)
                } else if self.rows == 0 {
                    Some(false)
                } else if x_null || self.saw_null {
                    None
                } else {
                    Some(false)
                };
                boolean(answer, negated)
            }
        })
    }
}

/// `plan` with `values` in place of the references to `outer`; nested subqueries no longer
/// list those references among their outer columns. A nested subquery's reference to a
/// column a scope in between provides is that scope's, and stays. Output names are kept.
fn substitute(plan: &LogicalPlan, outer: &[Column], values: &[ScalarValue]) -> Result<LogicalPlan> {
    let replaced = replace_outer(plan.clone(), outer, values, &|_| false)?;
    // A derived table that read only those values is a plain plan now (DataFusion plans no
    // `Subquery` node).
    Ok(replaced
        .transform_up(|node| match node {
            LogicalPlan::Subquery(derived)
                if {
                    let mut read = Vec::new();
                    reads(&derived.subquery, &|_| false, &mut read);
                    read.is_empty()
                } =>
            {
                Ok(Transformed::yes(Arc::unwrap_or_clone(derived.subquery)))
            }
            other => Ok(Transformed::no(other)),
        })?
        .data)
}

fn replace_outer(
    plan: LogicalPlan,
    outer: &[Column],
    values: &[ScalarValue],
    bound: &dyn Fn(&Column) -> bool,
) -> Result<LogicalPlan> {
    let ours = |c: &Column| {
        if bound(c) {
            None
        } else {
            outer.iter().position(|o| o == c)
        }
    };
    let rewritten = plan.transform_down(|node| {
        let scope = input_schemas(&node);
        let inner = |c: &Column| bound(c) || in_schemas(&scope, c);
        let nested = |s: &Subquery| -> Result<Subquery> {
            let plan = replace_outer(
                Arc::unwrap_or_clone(Arc::clone(&s.subquery)),
                outer,
                values,
                &inner,
            )?;
            let mut s = s.clone();
            s.subquery = Arc::new(plan);
            s.outer_ref_columns.retain(|r| {
                !matches!(r, Expr::OuterReferenceColumn(_, c) if !inner(c) && outer.contains(c))
            });
            Ok(s)
        };
        let preserver = NamePreserver::new(&node);
        node.map_expressions(|expr| {
            let saved = preserver.save(&expr);
            let rewritten = expr.transform(|e| {
                Ok(match e {
                    Expr::OuterReferenceColumn(field, c) => match ours(&c) {
                        Some(i) => Transformed::yes(Expr::Literal(
                            values[i].cast_to(field.data_type())?,
                            None,
                        )),
                        None => Transformed::no(Expr::OuterReferenceColumn(field, c)),
                    },
                    Expr::ScalarSubquery(s) => Transformed::yes(Expr::ScalarSubquery(nested(&s)?)),
                    Expr::Exists(mut e) => {
                        e.subquery = nested(&e.subquery)?;
                        Transformed::yes(Expr::Exists(e))
                    }
                    Expr::InSubquery(mut i) => {
                        i.subquery = nested(&i.subquery)?;
                        Transformed::yes(Expr::InSubquery(i))
                    }
                    other => Transformed::no(other),
                })
            })?;
            Ok(rewritten.update_data(|e| saved.restore(e)))
        })
    })?;
    Ok(rewritten.data)
}

/// Runs `f`, which blocks, without holding up the tasks of a multi-threaded runtime worker.
fn off_the_runtime<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Polls `future` to its end on this thread. Unlike `futures::executor::block_on` it may be
/// nested (a subplan inside a subplan), and unlike tokio's it needs no runtime of its own.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

/// Marks a plan whose expressions run subplans: it passes its input through unchanged.
/// Such a plan's polls can take as long as its subqueries, so it is never run on a
/// connection's own task, and its physical plan is not kept (its run count is per run).
#[derive(Debug)]
pub struct SubPlansExec {
    input: Arc<dyn ExecutionPlan>,
}

impl SubPlansExec {
    fn new(input: Arc<dyn ExecutionPlan>) -> SubPlansExec {
        SubPlansExec { input }
    }
}

impl DisplayAs for SubPlansExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubPlansExec")
    }
}

impl ExecutionPlan for SubPlansExec {
    fn name(&self) -> &str {
        "SubPlansExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match children.pop() {
            Some(input) if children.is_empty() => Ok(Arc::new(SubPlansExec::new(input))),
            _ => datafusion::common::internal_err!("SubPlansExec takes one input"),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_runs: usize, timeout: Option<Duration>) -> RunLimits {
        RunLimits {
            runs: AtomicUsize::new(0),
            max_runs,
            canceller: Some(Arc::new(Canceller::default())),
            timeout,
            started: OnceLock::new(),
        }
    }

    fn engine_error(e: DataFusionError) -> Option<EngineError> {
        match e {
            DataFusionError::External(e) => e.downcast::<EngineError>().ok().map(|e| *e),
            _ => None,
        }
    }

    #[test]
    fn runs_past_the_limit_fail_with_54000() {
        let l = limits(3, None);
        for _ in 0..3 {
            l.count().expect("within the limit");
        }
        let err = l.count().expect_err("past the limit");
        assert!(matches!(
            engine_error(err),
            Some(EngineError::ProgramLimitExceeded(_))
        ));
    }

    #[test]
    fn a_cancel_or_a_timeout_stops_the_next_run() {
        let l = limits(10, None);
        l.count().expect("runs");
        if let Some(c) = &l.canceller {
            c.current().cancel();
        }
        let err = l.count().expect_err("cancelled");
        assert!(
            matches!(engine_error(err), Some(EngineError::QueryCanceled(m)) if m.contains("user request"))
        );
        let l = limits(10, Some(Duration::ZERO));
        let err = l.check().expect_err("timed out");
        assert!(
            matches!(engine_error(err), Some(EngineError::QueryCanceled(m)) if m.contains("timeout"))
        );
    }

    #[test]
    fn in_is_three_valued() {
        let int = |v: Option<i64>| ScalarValue::Int64(v);
        let answer = |x: Option<i64>, rows: &[Option<i64>], negated: bool| {
            let x = int(x);
            let mut a =
                Answer::new(Kind::In { negated }, Some(&x), &DataType::Boolean).expect("answer");
            for r in rows {
                if a.add(int(*r)).expect("row") {
                    break;
                }
            }
            a.finish().expect("finish")
        };
        let b = |v: Option<bool>| ScalarValue::Boolean(v);
        assert_eq!(answer(Some(1), &[Some(2), Some(1)], false), b(Some(true)));
        assert_eq!(answer(Some(1), &[], false), b(Some(false)));
        assert_eq!(answer(None, &[], false), b(Some(false)));
        assert_eq!(answer(None, &[Some(1)], false), b(None));
        assert_eq!(answer(Some(1), &[None, Some(2)], false), b(None));
        assert_eq!(answer(Some(1), &[Some(2)], true), b(Some(true)));
        assert_eq!(answer(Some(1), &[None], true), b(None));
        assert_eq!(answer(Some(1), &[Some(1), None], true), b(Some(false)));
    }
}
