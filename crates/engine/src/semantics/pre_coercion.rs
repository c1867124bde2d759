//! The walk the rules that run before DataFusion's type coercion share
//! ([`super::aggregates`], [`super::promotions`]).

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Expr, LogicalPlan};

/// Rewrites the expressions of every node of `plan` that `which` accepts with `rewrite`
/// (bottom up, subqueries too), keeping their output names; once something changed, every
/// node above derives its schema again, as a child's output type may differ.
pub(super) fn rewrite_expressions(
    plan: LogicalPlan,
    which: fn(&LogicalPlan) -> bool,
    rewrite: impl Fn(Expr, &DFSchema) -> Result<Transformed<Expr>>,
) -> Result<LogicalPlan> {
    let changed = std::cell::Cell::new(false);
    plan.transform_up_with_subqueries(|node| {
        let out = if which(&node) {
            let schema = if node.inputs().is_empty() {
                Arc::clone(node.schema())
            } else {
                Arc::new(merge_schema(&node.inputs()))
            };
            let names = NamePreserver::new(&node);
            node.map_expressions(|e| {
                let saved = names.save(&e);
                Ok(e.transform_up(|e| rewrite(e, &schema))?
                    .update_data(|e| saved.restore(e)))
            })?
        } else {
            Transformed::no(node)
        };
        if out.transformed {
            changed.set(true);
        }
        if changed.get() {
            out.map_data(|n| n.recompute_schema())
        } else {
            Ok(out)
        }
    })
    .map(|t| t.data)
}
