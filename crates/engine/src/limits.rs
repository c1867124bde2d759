//! Bounds on what one query may use: memory (per query and for all queries together), time
//! (`statement_timeout`), and cancellation (CancelRequest).
//!
//! Memory: each execution gets its own DataFusion runtime whose pool counts against both its
//! own limit and a server-wide one, so one greedy query fails with 53200 instead of starving
//! the rest. Spilling to disk is off: queries never write the server's files.
//!
//! Time and cancel: the result stream is wrapped so that it ends with 57014 when the
//! deadline passes or a cancel arrives, **while executing** (dropping DataFusion's stream stops
//! its tasks), not only between statements.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::error::EngineError;
use crate::executor::QueryExecutor;

/// Memory limits for query execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimits {
    /// Bytes one query may hold.
    pub per_query: usize,
    /// Bytes all running queries may hold together.
    pub total: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits {
            per_query: 256 * 1024 * 1024,
            total: 1024 * 1024 * 1024,
        }
    }
}

/// The server-wide memory account every query's pool draws on.
#[derive(Debug)]
pub struct MemoryBudget {
    limits: MemoryLimits,
    used: Arc<AtomicUsize>,
    /// The runtime every query copies, with its own memory pool swapped in: building a
    /// runtime from scratch (object store registry, caches) costs more than a small query.
    base: Option<Arc<RuntimeEnv>>,
}

impl MemoryBudget {
    /// A budget with these limits.
    pub fn new(limits: MemoryLimits) -> MemoryBudget {
        let base = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()
            .ok();
        MemoryBudget {
            limits,
            used: Arc::new(AtomicUsize::new(0)),
            base,
        }
    }

    /// The limits this budget enforces.
    pub fn limits(&self) -> MemoryLimits {
        self.limits
    }

    /// Bytes reserved by running queries now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// A runtime for one query execution: its own pool, no disk.
    pub fn query_runtime(&self) -> Result<Arc<RuntimeEnv>> {
        let pool = QueryPool {
            per_query: self.limits.per_query,
            total: self.limits.total,
            local: AtomicUsize::new(0),
            global: Arc::clone(&self.used),
        };
        if let Some(base) = &self.base {
            return Ok(Arc::new(RuntimeEnv {
                memory_pool: Arc::new(pool),
                disk_manager: Arc::clone(&base.disk_manager),
                cache_manager: Arc::clone(&base.cache_manager),
                object_store_registry: Arc::clone(&base.object_store_registry),
            }));
        }
        RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(pool))
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()
    }
}

/// One query's memory pool: its own count and the shared one, both bounded.
#[derive(Debug)]
struct QueryPool {
    per_query: usize,
    total: usize,
    local: AtomicUsize,
    global: Arc<AtomicUsize>,
}

/// Adds `n` to `counter` if the result stays within `limit`.
fn try_add(counter: &AtomicUsize, n: usize, limit: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
            v.checked_add(n).filter(|sum| *sum <= limit)
        })
        .is_ok()
}

impl std::fmt::Display for QueryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "query pool ({} of {} bytes)",
            self.local.load(Ordering::Relaxed),
            self.per_query
        )
    }
}

impl MemoryPool for QueryPool {
    fn name(&self) -> &str {
        "stagesql-query"
    }

    fn register(&self, _consumer: &MemoryConsumer) {}

    fn grow(&self, _reservation: &MemoryReservation, additional: usize) {
        self.local.fetch_add(additional, Ordering::AcqRel);
        self.global.fetch_add(additional, Ordering::AcqRel);
    }

    fn shrink(&self, _reservation: &MemoryReservation, shrink: usize) {
        self.local.fetch_sub(shrink, Ordering::AcqRel);
        self.global.fetch_sub(shrink, Ordering::AcqRel);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if !try_add(&self.local, additional, self.per_query) {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "query memory limit of {} MiB reached ({} asked {additional} bytes more)",
                self.per_query / (1024 * 1024),
                reservation.consumer().name()
            )));
        }
        if !try_add(&self.global, additional, self.total) {
            self.local.fetch_sub(additional, Ordering::AcqRel);
            return Err(DataFusionError::ResourcesExhausted(format!(
                "server memory limit of {} MiB for all queries reached",
                self.total / (1024 * 1024)
            )));
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.local.load(Ordering::Acquire)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.per_query)
    }
}

impl Drop for QueryPool {
    fn drop(&mut self) {
        // Whatever a finished or dropped query still holds goes back to the server budget.
        let left = self.local.swap(0, Ordering::AcqRel);
        self.global.fetch_sub(left, Ordering::AcqRel);
    }
}

/// A session's cancel switch: each client message that may run a statement takes a fresh
/// token ([`Canceller::begin`]) before it parses or plans anything, so a CancelRequest that
/// arrives while the statement is still being planned stops it too (as in PostgreSQL); a
/// CancelRequest cancels the current one.
#[derive(Debug, Default)]
pub struct Canceller {
    current: Mutex<CancellationToken>,
}

impl Canceller {
    /// A fresh token for a statement starting now (a cancel for an earlier one is forgotten).
    pub fn begin(&self) -> CancellationToken {
        let token = CancellationToken::new();
        if let Ok(mut current) = self.current.lock() {
            *current = token.clone();
        }
        token
    }

    /// The token of the statement running now.
    pub fn current(&self) -> CancellationToken {
        self.current
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|_| CancellationToken::new())
    }

    /// Cancels the running execution, if any.
    pub fn cancel(&self) {
        if let Ok(current) = self.current.lock() {
            current.cancel();
        }
    }
}

/// Why a bounded stream stopped early.
fn canceled(reason: &str) -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::QueryCanceled(reason.to_owned())))
}

/// Aborts the task driving a query when the client's side of it goes away.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `stream`, ended with 57014 when `timeout` passes or `cancel` fires.
///
/// The query runs as a task on the [`QueryExecutor`], which hands batches over a small
/// channel. DataFusion can compute for a long time before it has a batch (a join feeding an
/// aggregate), so waiting on the channel rather than on the stream is what lets the deadline
/// and the cancel be noticed at once; the producer task is then aborted, and since DataFusion
/// yields to tokio's cooperative budget every few batches, its work stops there.
///
/// The plan is also *started* on the executor: operators that spawn tasks of their own do so
/// when executed, and those tasks belong on the same runtime.
pub fn bounded(
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    task: Arc<datafusion::execution::TaskContext>,
    timeout: Option<Duration>,
    cancel: CancellationToken,
    executor: &QueryExecutor,
) -> SendableRecordBatchStream {
    let schema = plan.schema();
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let producer = executor.spawn(async move {
        produce(plan, task, tx).await;
    });
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let state = (Some((rx, AbortOnDrop(producer))), deadline, cancel);
    let bounded = futures::stream::unfold(state, |(running, deadline, cancel)| async move {
        let (mut rx, producer) = running?;
        let expired = sleep_until(deadline);
        tokio::select! {
            item = rx.recv() => item.map(|i| (i, (Some((rx, producer)), deadline, cancel))),
            () = expired => {
                drop(producer);
                Some((
                    Err(canceled("canceling statement due to statement timeout")),
                    (None, deadline, cancel),
                ))
            }
            () = cancel.cancelled() => {
                drop(producer);
                Some((
                    Err(canceled("canceling statement due to user request")),
                    (None, deadline, cancel.clone()),
                ))
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, bounded))
}

/// Runs `plan` and hands its batches to `tx` until the receiver goes away. A panic while
/// starting the plan or computing a batch ends the stream with [`panicked`].
async fn produce(
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    task: Arc<datafusion::execution::TaskContext>,
    tx: tokio::sync::mpsc::Sender<Result<datafusion::arrow::record_batch::RecordBatch>>,
) {
    let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
        datafusion::physical_plan::execute_stream(plan, task)
    }));
    let mut stream = match started {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
        Err(payload) => {
            let _ = tx.send(Err(panicked(payload.as_ref()))).await;
            return;
        }
    };
    loop {
        let batch = match AssertUnwindSafe(stream.next()).catch_unwind().await {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(payload) => Err(panicked(payload.as_ref())),
        };
        let failed = batch.is_err();
        if tx.send(batch).await.is_err() || failed {
            break;
        }
    }
}

/// A panic inside DataFusion while running a query, as this statement's internal error
/// (XX000), instead of a silently short answer or a lost connection. What panicked goes to
/// the log.
pub(crate) fn panicked(payload: &(dyn std::any::Any + Send)) -> DataFusionError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "query execution panicked");
    DataFusionError::Internal(format!("query execution panicked: {what}"))
}

/// `stream`, ended with 57014 when `timeout` passes or `cancel` fires, polled in place.
///
/// For plans whose every poll is short (see [`crate::plan_cache::runs_inline`]): the deadline
/// and the cancel are checked between batches, and the query skips the hand-off to the
/// blocking pool, which costs more than answering a point lookup.
pub fn bounded_inline(
    stream: SendableRecordBatchStream,
    timeout: Option<Duration>,
    cancel: CancellationToken,
) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let state = (Some(stream), deadline, cancel);
    let bounded = futures::stream::unfold(state, |(running, deadline, cancel)| async move {
        let mut stream = running?;
        let expired = sleep_until(deadline);
        tokio::select! {
            biased;
            () = cancel.cancelled() => Some((
                Err(canceled("canceling statement due to user request")),
                (None, deadline, cancel.clone()),
            )),
            () = expired => Some((
                Err(canceled("canceling statement due to statement timeout")),
                (None, deadline, cancel),
            )),
            item = AssertUnwindSafe(stream.next()).catch_unwind() => match item {
                Ok(item) => item.map(|i| (i, (Some(stream), deadline, cancel))),
                Err(payload) => Some((Err(panicked(payload.as_ref())), (None, deadline, cancel))),
            },
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, bounded))
}

/// Sleeps until `deadline`; never wakes without one.
pub async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Parses a `statement_timeout` value as PostgreSQL does: milliseconds, or a number with a
/// unit (`us`, `ms`, `s`, `min`, `h`, `d`); 0 means none.
pub fn parse_timeout(value: &str) -> Option<Option<Duration>> {
    let v = value.trim().trim_matches('\'').trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: f64 = number.parse().ok()?;
    let ms = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" => number,
        "us" => number / 1000.0,
        "s" => number * 1000.0,
        "min" => number * 60_000.0,
        "h" => number * 3_600_000.0,
        "d" => number * 86_400_000.0,
        _ => return None,
    };
    if !(0.0..=f64::from(i32::MAX)).contains(&ms) {
        return None;
    }
    if ms == 0.0 {
        return Some(None);
    }
    Some(Some(Duration::from_micros((ms * 1000.0) as u64)))
}

/// Deepest expression accepted. The parser bounds nesting through parentheses and calls, but
/// a chain of binary operators (`1 + 1 + … + 1`, `a = 1 OR a = 2 OR …`) parses in a loop into
/// a tree as deep as it is long, which every later recursive step (rewriting, planning,
/// dropping) would walk on the stack.
const MAX_EXPRESSION_DEPTH: usize = 2_000;

/// Refuses statements with expressions deeper than [`MAX_EXPRESSION_DEPTH`] (54001, as
/// PostgreSQL's "stack depth limit exceeded"), taking such trees apart without recursion.
pub fn bound_expression_depth(
    statement: &mut datafusion::sql::sqlparser::ast::Statement,
) -> Result<(), EngineError> {
    use std::ops::ControlFlow;
    struct Depth {
        too_deep: bool,
    }
    impl datafusion::sql::sqlparser::ast::VisitorMut for Depth {
        type Break = ();
        fn pre_visit_expr(
            &mut self,
            expr: &mut datafusion::sql::sqlparser::ast::Expr,
        ) -> ControlFlow<()> {
            if depth_exceeds(expr, MAX_EXPRESSION_DEPTH) {
                self.too_deep = true;
                dismantle(std::mem::replace(
                    expr,
                    datafusion::sql::sqlparser::ast::Expr::value(
                        datafusion::sql::sqlparser::ast::Value::Null,
                    ),
                ));
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Depth { too_deep: false };
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut v);
    if v.too_deep {
        return Err(EngineError::TooComplex(format!(
            "expression nested more than {MAX_EXPRESSION_DEPTH} levels deep"
        )));
    }
    Ok(())
}

/// The direct sub-expressions that can chain without bound.
fn chain_children(
    e: &mut datafusion::sql::sqlparser::ast::Expr,
) -> Vec<&mut datafusion::sql::sqlparser::ast::Expr> {
    match e {
        datafusion::sql::sqlparser::ast::Expr::BinaryOp { left, right, .. } => {
            vec![left.as_mut(), right.as_mut()]
        }
        datafusion::sql::sqlparser::ast::Expr::UnaryOp { expr, .. }
        | datafusion::sql::sqlparser::ast::Expr::Nested(expr)
        | datafusion::sql::sqlparser::ast::Expr::IsNull(expr)
        | datafusion::sql::sqlparser::ast::Expr::IsNotNull(expr)
        | datafusion::sql::sqlparser::ast::Expr::IsTrue(expr)
        | datafusion::sql::sqlparser::ast::Expr::IsFalse(expr)
        | datafusion::sql::sqlparser::ast::Expr::Cast { expr, .. } => vec![expr.as_mut()],
        _ => Vec::new(),
    }
}

fn depth_exceeds(root: &mut datafusion::sql::sqlparser::ast::Expr, limit: usize) -> bool {
    let mut stack: Vec<(&mut datafusion::sql::sqlparser::ast::Expr, usize)> = vec![(root, 1)];
    while let Some((e, d)) = stack.pop() {
        if d > limit {
            return true;
        }
        for child in chain_children(e) {
            stack.push((child, d + 1));
        }
    }
    false
}

/// Drops a deep expression tree one node at a time.
fn dismantle(root: datafusion::sql::sqlparser::ast::Expr) {
    let mut stack = vec![root];
    while let Some(mut e) = stack.pop() {
        for child in chain_children(&mut e) {
            stack.push(std::mem::replace(
                child,
                datafusion::sql::sqlparser::ast::Expr::value(
                    datafusion::sql::sqlparser::ast::Value::Null,
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Schema, SchemaRef};
    use datafusion::execution::TaskContext;
    use datafusion::physical_expr::EquivalenceProperties;
    use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
    use datafusion::physical_plan::{
        DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    };

    /// A plan that panics when started (`at_start`) or when its stream is polled.
    #[derive(Debug)]
    struct Panics {
        at_start: bool,
        properties: Arc<PlanProperties>,
    }

    impl Panics {
        fn new(at_start: bool) -> Arc<Panics> {
            let schema: SchemaRef = Arc::new(Schema::empty());
            Arc::new(Panics {
                at_start,
                properties: Arc::new(PlanProperties::new(
                    EquivalenceProperties::new(schema),
                    Partitioning::UnknownPartitioning(1),
                    EmissionType::Incremental,
                    Boundedness::Bounded,
                )),
            })
        }
    }

    impl DisplayAs for Panics {
        fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "Panics")
        }
    }

    impl ExecutionPlan for Panics {
        fn name(&self) -> &str {
            "Panics"
        }
        fn properties(&self) -> &Arc<PlanProperties> {
            &self.properties
        }
        fn apply_expressions(
            &self,
            _: &mut dyn FnMut(
                &Arc<dyn datafusion::physical_plan::PhysicalExpr>,
            )
                -> Result<datafusion::common::tree_node::TreeNodeRecursion>,
        ) -> Result<datafusion::common::tree_node::TreeNodeRecursion> {
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        }
        fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
            vec![]
        }
        fn with_new_children(
            self: Arc<Self>,
            _: Vec<Arc<dyn ExecutionPlan>>,
        ) -> Result<Arc<dyn ExecutionPlan>> {
            Ok(self)
        }
        fn execute(&self, _: usize, _: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
            assert!(!self.at_start, "a plan that cannot start");
            let schema = self.schema();
            let stream = futures::stream::once(async {
                panic!("a batch that cannot be computed");
            });
            Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
        }
    }

    #[tokio::test]
    async fn a_panic_in_a_query_is_that_statement_internal_error() {
        let executor = QueryExecutor::per_core().expect("executor");
        for at_start in [true, false] {
            let mut stream = bounded(
                Panics::new(at_start),
                Arc::new(TaskContext::default()),
                None,
                CancellationToken::new(),
                &executor,
            );
            let first = stream.next().await.expect("an item, not a silent end");
            let err = first.expect_err("an error");
            assert!(
                matches!(&err, DataFusionError::Internal(m) if m.contains("panicked")),
                "{err}"
            );
        }
        let inline = Panics::new(false)
            .execute(0, Arc::new(TaskContext::default()))
            .expect("starts");
        let mut stream = bounded_inline(inline, None, CancellationToken::new());
        let err = stream.next().await.expect("an item").expect_err("an error");
        assert!(err.to_string().contains("panicked"), "{err}");
        executor.shutdown();
    }

    #[test]
    fn timeouts_parse_like_postgres() {
        assert_eq!(parse_timeout("0"), Some(None));
        assert_eq!(
            parse_timeout("1500"),
            Some(Some(Duration::from_millis(1500)))
        );
        assert_eq!(parse_timeout("'2s'"), Some(Some(Duration::from_secs(2))));
        assert_eq!(parse_timeout("1min"), Some(Some(Duration::from_secs(60))));
        assert_eq!(parse_timeout("abc"), None);
        assert_eq!(parse_timeout("5 parsecs"), None);
    }

    #[test]
    fn a_query_pool_counts_against_both_limits() {
        let budget = MemoryBudget::new(MemoryLimits {
            per_query: 100,
            total: 150,
        });
        let a = budget.query_runtime().expect("runtime");
        let b = budget.query_runtime().expect("runtime");
        let ra = MemoryConsumer::new("a").register(&a.memory_pool);
        let rb = MemoryConsumer::new("b").register(&b.memory_pool);
        ra.try_grow(90).expect("within the query limit");
        assert!(ra.try_grow(20).is_err(), "over the per-query limit");
        assert!(rb.try_grow(70).is_err(), "over the total");
        rb.try_grow(60).expect("within both");
        assert_eq!(budget.used(), 150);
        drop(ra);
        drop(a);
        assert_eq!(budget.used(), 60);
        rb.free();
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn long_operator_chains_are_refused_not_overflowed() {
        let sql = format!("SELECT 1{}", " + 1".repeat(100_000));
        let err = crate::statement::parse(&sql)
            .map(|_| ())
            .expect_err("too deep");
        assert!(matches!(err, EngineError::TooComplex(_)), "{err}");
        let fine = format!("SELECT 1{}", " + 1".repeat(500));
        assert!(crate::statement::parse(&fine).is_ok());
    }
}
