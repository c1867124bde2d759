//! The [`SubPlan`] function: one run of its subquery per outer row, within the statement's
//! bounds, and the plan node that marks a plan running subplans.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{
    ColumnarValue, LogicalPlan, LogicalPlanBuilder, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties, execute_stream,
};
use futures::StreamExt;

use crate::error::EngineError;
use crate::limits::Canceller;

use super::scope::substitute;
use super::{Kind, MAX_RUNS};

/// One statement's bounds on its subplan runs (see the module documentation).
pub(super) struct RunLimits {
    runs: AtomicUsize,
    /// [`MAX_RUNS`], but for tests.
    max_runs: usize,
    canceller: Option<Arc<Canceller>>,
    timeout: Option<Duration>,
    /// When the first run began: the timeout counts from there.
    started: OnceLock<Instant>,
}

impl RunLimits {
    pub(super) fn of(state: &SessionState) -> RunLimits {
        let timeout = state
            .config_options()
            .extensions
            .get::<crate::settings::SessionSettings>()
            .and_then(|s| s.0.read().ok()?.timeout("statement_timeout"));
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
pub(super) struct SubPlan {
    /// Tells this subplan from every other (the trait wants equality and hashing).
    pub(super) id: u64,
    pub(super) kind: Kind,
    /// The subquery, with `OuterReferenceColumn`s for `outer`.
    pub(super) plan: Arc<LogicalPlan>,
    /// The outer columns, in argument order (after `x` for IN).
    pub(super) outer: Vec<Column>,
    pub(super) return_type: DataType,
    pub(super) signature: Signature,
    /// Given when the statement is physically planned.
    pub(super) bound: Option<Bound>,
}

/// What a subplan runs with: the session state the statement was planned in (its snapshot
/// pin included) and the statement's bounds.
#[derive(Clone)]
pub(super) struct Bound {
    pub(super) state: Arc<SessionState>,
    pub(super) limits: Arc<RunLimits>,
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
    pub(super) fn new(input: Arc<dyn ExecutionPlan>) -> SubPlansExec {
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
