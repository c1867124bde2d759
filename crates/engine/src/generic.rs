//! Generic plans for prepared statements: planned physically once, each run only binds its
//! values and executes.
//!
//! A prepared query's logically optimized plan still holds its placeholders (see
//! [`crate::plan_cache`]). Here each `$n` becomes a call of [`ParamFunction`], which reads the
//! value of the run under way from the statement's [`ParamSlot`], and the result is planned
//! physically once. A run then binds its values into the slot, resets the plan's state and
//! executes it: no logical rewrite, no physical planning, no optimizer.
//!
//! The plan means what substituting the values and planning again would: the logical plan is
//! the same one, already optimized with placeholders; the function is volatile, so nothing
//! folds it at planning; and the one place a value chooses *how* rows are found, the key
//! lookup, evaluates it when the scan executes (see [`crate::table`]). A plan whose physical
//! planning needs a value (a `LIMIT $1`, handled before this) or fails with the function in it,
//! or that cannot be executed again (joins, recursion, subplans), has no generic plan; its runs
//! plan physically with their values, as before.
//!
//! An expression of parameters and no columns (`timestamp '2024-01-01' + ($1 || ' hours')::
//! interval`) is what planning with the values would have folded to a constant. Left as it is,
//! DataFusion evaluates some of its operators (`||`, a cast from text) once per row, so each
//! largest such expression is planned as a [`OnceFunction`], which evaluates it once per batch.
//!
//! One slot holds one run's values, so a run takes the slot for as long as its rows stream
//! (a suspended portal, a cursor). A second run of the same statement meanwhile is planned
//! with its own values instead.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use datafusion::arrow::datatypes::{DataType, Field, FieldRef, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, plan_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::session_state::SessionState;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::scalar::ScalarValue;
use futures::Stream;

/// The name of [`ParamFunction`]; the key lookup recognises a value computed from it.
pub(crate) const PARAM_FUNCTION: &str = "__stagesql_param";

/// The name of [`OnceFunction`].
const ONCE_FUNCTION: &str = "__stagesql_once";

/// Whether `f` reads a generic plan's parameters: a [`ParamFunction`] or a [`OnceFunction`]
/// (fixed for one run; the key lookup reads such a value when the scan executes).
pub(crate) fn reads_parameters(f: &ScalarUDF) -> bool {
    matches!(f.name(), PARAM_FUNCTION | ONCE_FUNCTION)
}

/// The values of the run of a generic plan under way.
#[derive(Debug, Default)]
pub(crate) struct ParamSlot {
    values: RwLock<Vec<ScalarValue>>,
    /// A run holds the slot (its rows are still streaming).
    taken: AtomicBool,
}

impl ParamSlot {
    /// Takes the slot for one run with `values`; `None` while another run holds it.
    fn take(self: &Arc<Self>, values: Vec<ScalarValue>) -> Option<SlotTaken> {
        if self
            .taken
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return None;
        }
        *self.values.write().unwrap_or_else(|p| p.into_inner()) = values;
        Some(SlotTaken(Arc::clone(self)))
    }

    fn value(&self, index: usize) -> Result<ScalarValue> {
        let values = self.values.read().unwrap_or_else(|p| p.into_inner());
        values
            .get(index)
            .cloned()
            .ok_or_else(|| DataFusionError::Internal(format!("no value bound for ${}", index + 1)))
    }
}

/// A run's hold on the slot, given back when its stream is dropped.
#[derive(Debug)]
pub(crate) struct SlotTaken(Arc<ParamSlot>);

impl Drop for SlotTaken {
    fn drop(&mut self) {
        self.0.taken.store(false, Ordering::Release);
    }
}

/// `$n` of a generic plan: the value bound for the run under way.
#[derive(Debug)]
pub(crate) struct ParamFunction {
    index: usize,
    /// `$n`, the name the placeholder had (result columns keep their names).
    id: String,
    field: FieldRef,
    slot: Arc<ParamSlot>,
    signature: Signature,
}

impl PartialEq for ParamFunction {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && Arc::ptr_eq(&self.slot, &other.slot)
    }
}

impl Eq for ParamFunction {}

impl std::hash::Hash for ParamFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.index.hash(state);
        Arc::as_ptr(&self.slot).hash(state);
    }
}

impl ScalarUDFImpl for ParamFunction {
    fn name(&self) -> &str {
        PARAM_FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn display_name(&self, _args: &[Expr]) -> Result<String> {
        Ok(self.id.clone())
    }

    fn schema_name(&self, _args: &[Expr]) -> Result<String> {
        Ok(self.id.clone())
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.field.data_type().clone())
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::clone(&self.field))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.slot.value(self.index)?))
    }
}

/// A generic plan's expression of parameters and no columns, evaluated once per batch (on
/// scalar values, see [`crate::scalar_eval`]) instead of by operators that may work row by
/// row.
///
/// Evaluating it on one row gives what evaluating it on any batch gives, row for row: it reads
/// no column and calls nothing volatile but the run's parameters. A batch of no rows gets no
/// rows and no evaluation, as before.
#[derive(Debug)]
pub(crate) struct OnceFunction {
    /// The expression as planned (its names are the plan's names).
    expr: Expr,
    /// The planned expression, made ready to evaluate on scalars.
    program: crate::scalar_eval::ScalarProgram,
    field: FieldRef,
    signature: Signature,
}

impl PartialEq for OnceFunction {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Eq for OnceFunction {}

impl std::hash::Hash for OnceFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
    }
}

impl ScalarUDFImpl for OnceFunction {
    fn name(&self) -> &str {
        ONCE_FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn display_name(&self, _args: &[Expr]) -> Result<String> {
        Ok(self.expr.to_string())
    }

    fn schema_name(&self, _args: &[Expr]) -> Result<String> {
        Ok(self.expr.schema_name().to_string())
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.field.data_type().clone())
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::clone(&self.field))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.number_rows == 0 {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(self.field.data_type()),
            ));
        }
        Ok(ColumnarValue::Scalar(self.program.evaluate()?))
    }
}

/// Whether `e` is worth evaluating once: it reads a parameter, no column, and calls nothing
/// volatile but parameters (nor aggregates, windows or subqueries); and it is more than a
/// bare parameter, literal or alias.
fn once_candidate(e: &Expr) -> bool {
    if matches!(e, Expr::Literal(..) | Expr::Alias(_))
        || matches!(e, Expr::ScalarFunction(f) if f.func.name() == PARAM_FUNCTION)
    {
        return false;
    }
    let mut params = false;
    let mut fits = true;
    let _ = e.apply(|sub| {
        fits &= match sub {
            Expr::ScalarFunction(f) if f.func.name() == PARAM_FUNCTION => {
                params = true;
                true
            }
            Expr::ScalarFunction(f) => f.func.signature().volatility == Volatility::Immutable,
            Expr::Literal(..)
            | Expr::BinaryExpr(_)
            | Expr::Not(_)
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotUnknown(_)
            | Expr::Negative(_)
            | Expr::Between(_)
            | Expr::Case(_)
            | Expr::Cast(_)
            | Expr::TryCast(_)
            | Expr::Like(_)
            | Expr::SimilarTo(_)
            | Expr::InList(_) => true,
            _ => false,
        };
        Ok(if fits {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    params && fits
}

/// `expr` with each largest [`once_candidate`] in it planned as a [`OnceFunction`].
fn evaluate_once(expr: Expr, state: &SessionState) -> Result<Transformed<Expr>> {
    expr.transform_down(|e| {
        if !once_candidate(&e) {
            return Ok(Transformed::no(e));
        }
        let physical = state.create_physical_expr(e.clone(), &DFSchema::empty())?;
        // The type it evaluates to, which is what the operators around it were planned for
        // (a logical `Utf8` may run as `Utf8View`).
        let field = physical.return_field(&datafusion::arrow::datatypes::Schema::empty())?;
        let function = OnceFunction {
            expr: e,
            program: crate::scalar_eval::ScalarProgram::compile(&physical),
            field,
            signature: Signature::nullary(Volatility::Volatile),
        };
        Ok(Transformed::new(
            Expr::ScalarFunction(ScalarFunction::new_udf(
                Arc::new(ScalarUDF::new_from_impl(function)),
                Vec::new(),
            )),
            true,
            TreeNodeRecursion::Jump,
        ))
    })
}

/// A prepared statement's generic physical plan and the slot its runs bind into.
#[derive(Debug)]
pub(crate) struct GenericPlan {
    physical: Arc<dyn ExecutionPlan>,
    slotted: Arc<Slotted>,
    /// The plan's one operator when it is a key lookup of the table and nothing else (a
    /// prepared point lookup): a run reads its rows directly (see [`GenericPlan::lookup`]).
    lookup: Option<Arc<dyn ExecutionPlan>>,
}

impl GenericPlan {
    /// The plan to run with `values` (already cast to the planned types) and the hold on the
    /// slot that must live as long as its stream; `None` while another run holds the slot,
    /// or when a value is not of the type its `$n` is read as (a value the planner could not
    /// type, bound as the client sent it).
    pub(crate) fn bind(
        &self,
        values: Vec<ScalarValue>,
    ) -> Result<Option<(Arc<dyn ExecutionPlan>, SlotTaken)>> {
        let types = &self.slotted.types;
        if values.len() != types.len() || values.iter().zip(types).any(|(v, t)| v.data_type() != *t)
        {
            return Ok(None);
        }
        let Some(taken) = self.slotted.slot.take(values) else {
            return Ok(None);
        };
        let physical = datafusion::physical_plan::execution_plan::reset_plan_states(Arc::clone(
            &self.physical,
        ))?;
        Ok(Some((physical, taken)))
    }
}

/// `optimized` with each `$n` replaced by a [`ParamFunction`] reading a new slot; `None`
/// when a placeholder is read as two types, as another type than its values are cast to
/// (`param_types`), or as no type at all.
///
/// An occurrence the planner left untyped is read as the type of the others, which is what
/// binding gives it: the value as cast or, for a parameter the planner could not type, as
/// decoded (then [`GenericPlan::bind`] checks each value against it). `first_values` are the
/// values of the run that builds the plan.
pub(crate) fn with_param_functions(
    optimized: &LogicalPlan,
    param_types: &[Option<DataType>],
    first_values: &[ScalarValue],
    state: &SessionState,
) -> Result<Option<(LogicalPlan, Arc<Slotted>)>> {
    let Some(fields) = placeholder_fields(optimized, param_types, first_values)? else {
        return Ok(None);
    };
    let slot = Arc::new(ParamSlot::default());
    let plan = optimized.clone().transform_up_with_subqueries(|node| {
        node.map_expressions(|expr| {
            expr.transform_up(|e| {
                let Expr::Placeholder(p) = &e else {
                    return Ok(Transformed::no(e));
                };
                let Some((index, field)) = placeholder_index(&p.id)
                    .and_then(|i| fields.get(i).map(|f| (i, Arc::clone(f))))
                else {
                    return plan_err!("{} has no type", p.id);
                };
                let function = ParamFunction {
                    index,
                    id: p.id.clone(),
                    field,
                    slot: Arc::clone(&slot),
                    signature: Signature::nullary(Volatility::Volatile),
                };
                Ok(Transformed::yes(Expr::ScalarFunction(
                    ScalarFunction::new_udf(
                        Arc::new(ScalarUDF::new_from_impl(function)),
                        Vec::new(),
                    ),
                )))
            })
        })
    })?;
    let plan = plan
        .data
        .transform_up_with_subqueries(|node| {
            node.map_expressions(|expr| evaluate_once(expr, state))
        })?
        .data;
    let types = fields.iter().map(|f| f.data_type().clone()).collect();
    Ok(Some((plan, Arc::new(Slotted { slot, types }))))
}

/// `$n` → `n - 1`.
fn placeholder_index(id: &str) -> Option<usize> {
    id.strip_prefix('$')?.parse::<usize>().ok()?.checked_sub(1)
}

/// The field each `$n` of `plan` is read as (see [`with_param_functions`]); `None` when
/// there is no one such field for every parameter.
fn placeholder_fields(
    plan: &LogicalPlan,
    param_types: &[Option<DataType>],
    first_values: &[ScalarValue],
) -> Result<Option<Vec<FieldRef>>> {
    let mut fields: Vec<Option<FieldRef>> = vec![None; param_types.len()];
    let mut one_each = true;
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if let Expr::Placeholder(p) = e {
                    match placeholder_index(&p.id).and_then(|i| fields.get_mut(i).zip(Some(i))) {
                        None => one_each = false,
                        Some((slot, i)) => {
                            if let Some(field) = &p.field {
                                let planned = param_types.get(i).cloned().flatten();
                                let agrees =
                                    planned.as_ref().is_none_or(|t| t == field.data_type())
                                        && slot
                                            .as_ref()
                                            .is_none_or(|s| s.data_type() == field.data_type());
                                one_each &= agrees;
                                if slot.is_none() {
                                    *slot = Some(Arc::clone(field));
                                }
                            }
                        }
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    if !one_each {
        return Ok(None);
    }
    // A parameter only ever used untyped is read as the type its values are cast to or,
    // when the planner could not type it, as the type of the first run's value (binding
    // puts the value there as it is; later runs with another type plan with their values).
    Ok(fields
        .into_iter()
        .zip(param_types)
        .zip(first_values)
        .map(|((field, planned), first)| {
            field.or_else(|| {
                let t = planned.clone().unwrap_or_else(|| first.data_type());
                (!t.is_null()).then(|| Arc::new(Field::new("", t, true)))
            })
        })
        .collect())
}

/// A generic plan's slot and the type each `$n` is read as.
#[derive(Debug)]
pub(crate) struct Slotted {
    slot: Arc<ParamSlot>,
    types: Vec<DataType>,
}

impl GenericPlan {
    /// A generic plan over `physical`, planned from [`with_param_functions`]'s plan.
    pub(crate) fn new(physical: Arc<dyn ExecutionPlan>, slotted: Arc<Slotted>) -> GenericPlan {
        let lookup = lone_lookup(&physical);
        GenericPlan {
            physical,
            slotted,
            lookup,
        }
    }

    /// The rows of a run with `values` (cast to the planned types) read from `data`, when the
    /// plan is a lone key lookup: the rows its scan would stream, without building an
    /// execution (no plan state to reset, no task context, no stream set-up), which is most
    /// of a prepared point lookup's time. `None` when the plan is anything else, or when
    /// [`GenericPlan::bind`] would refuse the values; the run then executes as usual.
    ///
    /// The work is one index probe and a zero-copy slice (a copy of the matching rows when
    /// they are not adjacent), bounded by the rows that share the key, so it is not given a
    /// statement timeout or cancel of its own.
    pub(crate) fn lookup(
        &self,
        values: &[ScalarValue],
        data: &crate::scan::SnapshotData,
    ) -> std::result::Result<Option<(SchemaRef, RecordBatch)>, crate::error::EngineError> {
        self.with_lone_scan(values, |scan| Ok((scan.schema(), scan.read(data)?)))
    }

    /// The rows a run with `values` selects from `data` and the whole columns it reads, when
    /// the plan is a lone key lookup: what [`GenericPlan::lookup`] slices, without slicing
    /// (see `Session::select_now`). `None` as for [`GenericPlan::lookup`].
    pub(crate) fn select(
        &self,
        values: &[ScalarValue],
        data: &crate::scan::SnapshotData,
    ) -> std::result::Result<Option<crate::scan::SelectedRows>, crate::error::EngineError> {
        let selected = self.with_lone_scan(values, |scan| {
            let rows = scan.lookup_rows(data)?.unwrap_or_default().to_vec();
            let columns = scan.columns(data).cloned().collect();
            Ok(crate::scan::SelectedRows { columns, rows })
        })?;
        Ok(selected)
    }

    /// `read` applied to the plan's lone key-lookup scan with `values` bound in its slot;
    /// `None` when the plan is anything else, or when [`GenericPlan::bind`] would refuse the
    /// values, or when another run holds the slot.
    fn with_lone_scan<T>(
        &self,
        values: &[ScalarValue],
        read: impl FnOnce(&crate::scan::StageScanExec) -> Result<T>,
    ) -> std::result::Result<Option<T>, crate::error::EngineError> {
        let Some(scan) = self
            .lookup
            .as_ref()
            .and_then(|p| p.downcast_ref::<crate::scan::StageScanExec>())
        else {
            return Ok(None);
        };
        let types = &self.slotted.types;
        if values.len() != types.len() || values.iter().zip(types).any(|(v, t)| v.data_type() != *t)
        {
            return Ok(None);
        }
        let Some(_taken) = self.slotted.slot.take(values.to_vec()) else {
            return Ok(None);
        };
        // The key's expression calls functions, which may panic.
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(scan)));
        Ok(Some(
            done.map_err(|p| crate::limits::panicked(p.as_ref()))??,
        ))
    }
}

/// The scan `physical` is when it is a key lookup of the table alone (under DataFusion's
/// cooperative wrapper or not) giving the plan's own columns.
fn lone_lookup(physical: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    let mut node = Arc::clone(physical);
    while node.name() == "CooperativeExec" {
        let child = match node.children().as_slice() {
            [only] => Arc::clone(only),
            _ => return None,
        };
        node = child;
    }
    let scan = node.downcast_ref::<crate::scan::StageScanExec>()?;
    (scan.is_lookup() && node.schema() == physical.schema()).then_some(node)
}

/// A run's stream, holding the slot until it is dropped.
pub(crate) struct HoldingStream {
    inner: SendableRecordBatchStream,
    _hold: SlotTaken,
}

impl HoldingStream {
    /// `inner`, holding the slot as long as it lives.
    pub(crate) fn new(inner: SendableRecordBatchStream, hold: SlotTaken) -> HoldingStream {
        HoldingStream { inner, _hold: hold }
    }
}

impl Stream for HoldingStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl RecordBatchStream for HoldingStream {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches_with_schema;
    use datafusion::physical_plan::common::collect;
    use datafusion::scalar::ScalarValue;

    use crate::testing::demo;
    use crate::{Output, Prepared, Session};

    async fn prepare(session: &Session, sql: &str) -> Prepared {
        let mut commands = session.parse(sql).expect("parse");
        session.prepare(commands.remove(0)).await.expect("prepare")
    }

    async fn rows(output: Output) -> String {
        let Output::Rows { stream, schema } = output else {
            panic!("rows expected")
        };
        let batches = collect(stream).await.expect("rows");
        pretty_format_batches_with_schema(schema, &batches)
            .expect("format")
            .to_string()
    }

    async fn first_value(session: &Session, sql: &str) -> String {
        let mut commands = session.parse(sql).expect("parse");
        let prepared = session.prepare(commands.remove(0)).await.expect("prepare");
        let Output::Rows { stream, .. } =
            session.execute(&prepared, Vec::new()).await.expect("run")
        else {
            panic!("rows expected")
        };
        let batches = collect(stream).await.expect("rows");
        let column = datafusion::arrow::array::AsArray::as_string::<i32>(batches[0].column(0));
        column.value(0).to_owned()
    }

    fn text(s: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(s.to_owned()))
    }

    /// Each run of a generic plan gives what planning the statement with that run's values
    /// gives. The plan-with-values path is reached the way it is in use: a second run while
    /// the first still holds the slot (an open portal) plans with its own values.
    #[tokio::test]
    async fn a_generic_plan_answers_as_planning_with_the_values_does() {
        let (_engine, s) = demo();
        let arn = first_value(&s, "SELECT min(stage_arn) FROM aws.apigatewayv2_stage").await;
        let key = first_value(&s, "SELECT max(_key) FROM aws.apigatewayv2_stage").await;
        let account = first_value(&s, "SELECT min(account_id) FROM aws.apigatewayv2_stage").await;
        let null = ScalarValue::Utf8(None);
        // (query, whether it has a generic plan, runs)
        let cases: Vec<(&str, bool, Vec<Vec<ScalarValue>>)> = vec![
            (
                "SELECT stage_name, region FROM aws.apigatewayv2_stage WHERE stage_arn = $1",
                true,
                vec![vec![text(&arn)], vec![text("arn:none")], vec![null.clone()]],
            ),
            (
                "SELECT _key FROM aws.apigatewayv2_stage WHERE _key = $1 OR stage_name = $2 \
                 ORDER BY 1",
                true,
                vec![
                    vec![text(&key), text("prod")],
                    vec![text("none"), text("dev")],
                    vec![null.clone(), null.clone()],
                ],
            ),
            (
                "SELECT $1 || stage_name AS a, length($1) + 1 AS n FROM aws.apigatewayv2_stage \
                 WHERE account_id = $2 ORDER BY 1",
                true,
                vec![
                    vec![text("x-"), text(&account)],
                    vec![null.clone(), text(&account)],
                    vec![text(""), text("000000000000")],
                ],
            ),
            (
                "SELECT count(*) AS n FROM aws.apigatewayv2_stage WHERE created_date >= \
                 $1::timestamptz",
                true,
                vec![
                    vec![text("2020-01-01 00:00:00+00")],
                    vec![text("2024-06-01 12:00:00+00")],
                    vec![text("2100-01-01 00:00:00+00")],
                ],
            ),
            (
                "SELECT date_trunc($1, created_date) AS t, count(*) AS n \
                 FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1",
                true,
                vec![vec![text("month")], vec![text("year")], vec![text("day")]],
            ),
            (
                "SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_arn IN ($1, $2) \
                 ORDER BY 1",
                true,
                vec![
                    vec![text(&arn), text("arn:none")],
                    vec![null.clone(), text(&arn)],
                ],
            ),
            (
                "SELECT stage_name FROM aws.apigatewayv2_stage \
                 WHERE region = $1 AND stage_name LIKE $2 ORDER BY 1",
                true,
                vec![
                    vec![text("us-east-1"), text("p%")],
                    vec![text("eu-west-1"), text("%")],
                ],
            ),
            (
                "SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_arn = $1 LIMIT 1",
                true,
                vec![vec![text(&arn)], vec![text("arn:none")]],
            ),
            // Expressions of parameters only, each evaluated once per batch.
            (
                "SELECT date_trunc('day', created_date) AS t, count(*) AS n \
                 FROM aws.apigatewayv2_stage WHERE created_date BETWEEN \
                 timestamp '2024-01-01' + ($1 || ' hours')::interval \
                 AND timestamp '2024-07-01' + ($1 || ' hours')::interval GROUP BY 1 ORDER BY 1",
                true,
                vec![vec![text("0")], vec![text("2000")], vec![null.clone()]],
            ),
            // `$2` is text in both places (DataFusion typed it Utf8View in the first).
            (
                "SELECT upper($1) || '-' || $2 AS t, count(*) AS n \
                 FROM aws.apigatewayv2_stage WHERE $2 = 'all' OR region = $2 GROUP BY 1",
                true,
                vec![
                    vec![text("a"), text("all")],
                    vec![text("b"), text("us-east-1")],
                    vec![null.clone(), text("all")],
                ],
            ),
            (
                "SELECT stage_name, length($1) * 2 AS n, lower($2) AS c \
                 FROM aws.apigatewayv2_stage WHERE stage_arn = lower($1) OR region = $2 \
                 ORDER BY 1, 2",
                true,
                vec![
                    vec![text(&arn.to_uppercase()), text("x")],
                    vec![text("none"), text("us-east-1")],
                    vec![null.clone(), null.clone()],
                ],
            ),
            // A key built from a parameter read as an integer (the bench's prepared lookup):
            // `5` gives an existing ARN (`5 % 3` is `2`, and `substr('2', 2)` is empty),
            // ` -7 ` one that is not there (`-1`), NULL none.
            (
                "SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_arn = \
                 replace($2, '|', chr(58)) || substr(($1::int % 3)::text, 2) || \
                 left((10 + $1::int / 3)::text, 0) ORDER BY 1",
                true,
                vec![
                    vec![text("5"), text(&arn.replace(':', "|"))],
                    vec![text(" -7 "), text(&arn.replace(':', "|"))],
                    vec![null.clone(), text(&arn.replace(':', "|"))],
                ],
            ),
        ];
        for (sql, has_generic, runs) in cases {
            let prepared = prepare(&s, sql).await;
            for values in runs {
                // A first run takes the slot and keeps it while its rows are unread...
                let held = s.execute(&prepared, values.clone()).await.expect(sql);
                // ...so this one plans with its values,
                let planned = rows(s.execute(&prepared, values.clone()).await.expect(sql)).await;
                assert_eq!(rows(held).await, planned, "{sql} {values:?}");
                // and with the slot free again, the generic plan runs.
                let generic = rows(s.execute(&prepared, values.clone()).await.expect(sql)).await;
                assert_eq!(generic, planned, "{sql} {values:?}");
            }
            let built = prepared.generic.get().map(Option::is_some);
            assert_eq!(built, Some(has_generic), "{sql}: generic plan built");
        }
        // The integer-built key finds its row through the generic plan (not only no rows).
        let sql = "SELECT stage_arn FROM aws.apigatewayv2_stage WHERE stage_arn = \
                   replace($2, '|', chr(58)) || substr(($1::int % 3)::text, 2) || \
                   left((10 + $1::int / 3)::text, 0)";
        let prepared = prepare(&s, sql).await;
        for _ in 0..2 {
            let found = rows(
                s.execute(&prepared, vec![text("5"), text(&arn.replace(':', "|"))])
                    .await
                    .expect(sql),
            )
            .await;
            assert!(found.contains(&arn), "{found}");
        }
        assert!(
            matches!(prepared.generic.get(), Some(Some(_))),
            "generic plan built"
        );
    }

    /// A plan that is a key lookup and nothing else is read directly, and gives the rows that
    /// the same query with the value written in gives; a lookup under another operator is
    /// executed as a plan.
    #[tokio::test]
    async fn a_lone_key_lookup_is_read_without_an_execution() {
        let (_engine, s) = demo();
        let arn = first_value(&s, "SELECT max(stage_arn) FROM aws.apigatewayv2_stage").await;
        let key = first_value(&s, "SELECT min(_key) FROM aws.apigatewayv2_stage").await;
        let cases = [
            (
                "SELECT * FROM aws.apigatewayv2_stage WHERE stage_arn = $1",
                true,
            ),
            (
                "SELECT _key, region FROM aws.apigatewayv2_stage WHERE _key = $1",
                true,
            ),
            (
                "SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_arn = $1",
                true,
            ),
            (
                "SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_arn = $1 ORDER BY 1",
                false,
            ),
            (
                "SELECT upper(stage_name) FROM aws.apigatewayv2_stage WHERE stage_arn = $1",
                false,
            ),
        ];
        for (sql, lone) in cases {
            let prepared = prepare(&s, sql).await;
            let value = if sql.contains("_key = ") { &key } else { &arn };
            for v in [value.as_str(), "arn:none"] {
                let literal = sql.replace("$1", &format!("'{v}'"));
                let expected = rows(
                    s.execute(&prepare(&s, &literal).await, Vec::new())
                        .await
                        .expect(&literal),
                )
                .await;
                for _ in 0..2 {
                    let got = rows(s.execute(&prepared, vec![text(v)]).await.expect(sql)).await;
                    assert_eq!(got, expected, "{sql} {v}");
                }
                if v != "arn:none" {
                    assert!(expected.contains("| "), "{sql}: a row found: {expected}");
                }
            }
            let generic = prepared
                .generic
                .get()
                .cloned()
                .flatten()
                .expect("a generic plan");
            assert_eq!(generic.lookup.is_some(), lone, "{sql}");
            let pinned = s.table.pin().expect("pin").expect("a snapshot");
            let read = generic.lookup(&[text(value)], &pinned.0).expect("read");
            assert_eq!(read.is_some(), lone, "{sql}");
            // A value of another type than the parameter's is the plan's to refuse.
            let wrong = generic
                .lookup(&[ScalarValue::Int32(Some(1))], &pinned.0)
                .expect("read");
            assert!(wrong.is_none(), "{sql}");
        }
    }

    /// An expression of parameters and no columns runs as one function evaluated once per
    /// batch, not as operators over every row (`||` and a cast from text did that).
    #[tokio::test]
    async fn an_expression_of_parameters_only_is_evaluated_once_per_batch() {
        let (_engine, s) = demo();
        let sql = "SELECT count(*) AS n FROM aws.apigatewayv2_stage \
                   WHERE created_date > timestamp '2024-01-01' + ($1 || ' hours')::interval";
        let prepared = prepare(&s, sql).await;
        rows(s.execute(&prepared, vec![text("5")]).await.expect("run")).await;
        let generic = prepared
            .generic
            .get()
            .cloned()
            .flatten()
            .expect("a generic plan");
        let shown = datafusion::physical_plan::displayable(generic.physical.as_ref())
            .indent(true)
            .to_string();
        assert!(shown.contains("__stagesql_once()"), "{shown}");
        assert!(!shown.contains("||"), "{shown}");
        assert!(!shown.contains("__stagesql_param"), "{shown}");
    }
}
