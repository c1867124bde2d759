//! Reusing plans: which plans may be kept and run again, and the per-session cache of simple
//! query texts.
//!
//! Planning costs far more than answering a small query from memory (parsing, rewriting, the
//! logical and physical optimizers), so a text seen before skips all of it. A plan is kept only
//! when running it again must give what planning it again would: no parameters (their values
//! are folded into the plan) and only immutable functions (`now()` is folded at planning, and
//! `random()` or a setting read must not be). The table scan reads the snapshot pinned when
//! each run starts, so refreshes never make a kept plan stale. Settings can change how a text
//! plans (`search_path`), so a kept plan is used only under the settings generation it was made
//! in (any `SET`, `RESET` or `set_config()` starts a new one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};

use crate::prepared::Prepared;

/// Query texts kept per session; past this the cache starts over.
const MAX_TEXTS: usize = 256;

/// Whether `plan` can be run again without planning it again: immutable functions only,
/// everywhere in it (subqueries included), and no correlated subquery over the stage table
/// (one run per outer row as a subplan reads the snapshot pinned in the query's own state,
/// see [`crate::subplan`]). Its physical plan is kept too when it has no parameters.
pub fn reusable(plan: &LogicalPlan) -> bool {
    let mut ok = true;
    let mut correlated = false;
    let mut reads_stages = false;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            reads_stages |= scan.table_name.table() == crate::schema::TABLE_NAME;
        }
        for expr in node.expressions() {
            let _ = expr.apply(|e| {
                correlated |= crate::subplan::correlated(e);
                let volatile = matches!(e, Expr::ScalarFunction(f)
                    if f.func.signature().volatility != Volatility::Immutable);
                if volatile {
                    ok = false;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            });
        }
        Ok(if ok {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    ok && !(correlated && reads_stages)
}

/// Query texts this session planned (simple queries and Parse messages), each one query with
/// a reusable plan; with `T = Option<Arc<Prepared>>`, normalized texts of
/// [`crate::auto_param`] (`None`: that shape is planned with its strings each time).
#[derive(Debug)]
pub struct TextCache<T = Arc<Prepared>> {
    texts: Mutex<HashMap<String, (u64, T)>>,
}

impl<T> Default for TextCache<T> {
    fn default() -> Self {
        TextCache {
            texts: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> TextCache<T> {
    /// What was kept for `sql` under settings `generation`, if anything.
    pub fn get(&self, sql: &str, generation: u64) -> Option<T> {
        let texts = self.texts.lock().ok()?;
        let (made_in, kept) = texts.get(sql)?;
        (*made_in == generation).then(|| kept.clone())
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.texts.lock().map_or(true, |t| t.is_empty())
    }

    /// Keeps `kept`, made under settings `generation`, for `sql`.
    pub fn insert(&self, sql: &str, generation: u64, kept: T) {
        if let Ok(mut texts) = self.texts.lock() {
            if texts.len() >= MAX_TEXTS {
                texts.clear();
            }
            texts.insert(sql.to_owned(), (generation, kept));
        }
    }
}

/// Whether a physical plan can be executed again (fresh state from
/// [`reset_plan_states`](datafusion::physical_plan::execution_plan::reset_plan_states) each
/// time): no joins (they keep their build side), no recursive queries and no dynamic filters,
/// which DataFusion cannot reset.
pub fn physical_reusable(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> bool {
    if joins_or_recurses(plan) || plan.name() == "SubPlansExec" {
        return false;
    }
    if !plan.dynamic_expressions_produced().is_empty() {
        return false;
    }
    plan.children().into_iter().all(physical_reusable)
}

/// Snapshots up to this many rows are scanned in place; larger full scans go to the blocking
/// pool.
const INLINE_SCAN_ROWS: usize = 100_000;

/// Whether every poll of `plan` is short enough to run on the connection's own task: no joins
/// or recursion (their work grows with the product of their inputs), no generated rows
/// (`generate_series` and other table functions can produce any number), and no full scan of
/// a snapshot larger than [`INLINE_SCAN_ROWS`]. Index lookups and catalog reads qualify.
pub fn runs_inline(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>, rows: usize) -> bool {
    // Subplans run whole subqueries inside one poll (see `crate::subplan`).
    if joins_or_recurses(plan)
        || plan.name().contains("LazyMemory")
        || plan.name() == "SubPlansExec"
    {
        return false;
    }
    if let Some(scan) = plan.downcast_ref::<crate::scan::StageScanExec>()
        && !scan.is_lookup()
        && rows > INLINE_SCAN_ROWS
    {
        return false;
    }
    plan.children().into_iter().all(|c| runs_inline(c, rows))
}

/// Whether this node is a join or part of a recursive query (by DataFusion's node names: every
/// join is a `…JoinExec`, recursion is `RecursiveQueryExec` over `WorkTableExec`).
fn joins_or_recurses(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> bool {
    let name = plan.name();
    name.contains("Join") || name.contains("Recursive") || name.contains("WorkTable")
}

#[cfg(test)]
mod tests {
    use datafusion::physical_plan::common::collect;

    use crate::{Output, Prepared, Session};

    async fn run(s: &Session, p: &Prepared) -> Result<usize, crate::EngineError> {
        let Output::Rows { stream, .. } = s.execute(p, Vec::new()).await? else {
            panic!("rows expected")
        };
        Ok(collect(stream).await?.iter().map(|b| b.num_rows()).sum())
    }

    /// A table-free plan's rows are kept after its plan is, and served from then on; a plan
    /// reading a table, rows too large, or an error are never kept.
    #[tokio::test]
    async fn only_the_small_rows_of_a_table_free_plan_are_kept() {
        let (_engine, s) = crate::testing::demo();
        let cases = [
            ("SELECT 1, 'two', 2.5 * 2", Some(1), true),
            (
                "SELECT x FROM (VALUES (1), (2)) v(x) ORDER BY x",
                Some(2),
                true,
            ),
            (
                "SELECT count(*) FROM aws.apigatewayv2_stage",
                Some(1),
                false,
            ),
            ("SELECT count(*) FROM pg_catalog.pg_class", Some(1), false),
            ("SELECT repeat('x', 100000)", Some(1), false),
            ("SELECT 1 / 0", None, false),
        ];
        for (sql, rows, kept) in cases {
            let mut commands = s.parse(sql).expect("parse");
            let p = s.prepare(commands.remove(0)).await.expect("plan");
            for _ in 0..3 {
                assert_eq!(run(&s, &p).await.ok(), rows, "{sql}");
            }
            assert_eq!(p.results.get().is_some(), kept, "{sql}");
        }
    }
}
