//! `sum`'s result type as PostgreSQL's: `sum(bigint)` is numeric (it cannot overflow),
//! `sum(integer)` and `sum(smallint)` are bigint.
//!
//! This runs before DataFusion's type coercion, while an argument is still typed as written:
//! after it, DataFusion's own widening of `sum(integer)` to `sum(CAST(x AS bigint))` looks
//! exactly like a user's `sum(x::bigint)`, which is numeric (`sum(length(s)::bigint) / 2` gave
//! a bigint quotient). The sum's argument becomes numeric here, so everything around the sum
//! (`+ 1`, `> 5`, `IN (…)`, `BETWEEN`, `greatest`, `/ count(*)`) is coerced by DataFusion as
//! for any numeric, and divided as PostgreSQL divides numerics (`numeric_div.rs`).

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct SumTypes;

/// `sum(x)` of a bigint `x`, made `sum(x::numeric)`.
fn retype(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match e {
        Expr::AggregateFunction(mut agg)
            if agg.func.name() == "sum"
                && agg.params.args.len() == 1
                && agg.params.args[0].get_type(schema)? == DataType::Int64 =>
        {
            let arg = agg.params.args.remove(0);
            agg.params.args.push(Expr::Cast(Cast::new(
                Box::new(arg),
                DataType::Decimal128(38, 0),
            )));
            Ok(Transformed::yes(Expr::AggregateFunction(agg)))
        }
        other => Ok(Transformed::no(other)),
    }
}

/// One node; `changed` is whether a sum at or below it was retyped (then it derives its
/// schema again, as a child's output type may have changed).
fn node(node: LogicalPlan, changed: &std::cell::Cell<bool>) -> Result<Transformed<LogicalPlan>> {
    let out = if let LogicalPlan::Aggregate(_) = node {
        let schema = Arc::new(merge_schema(&node.inputs()));
        // Output names stay `sum(t.x)`, as the nodes above refer to them.
        let names = NamePreserver::new(&node);
        node.map_expressions(|e| {
            let saved = names.save(&e);
            Ok(e.transform_up(|e| retype(e, &schema))?
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
}

impl AnalyzerRule for SumTypes {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        let changed = std::cell::Cell::new(false);
        plan.transform_up_with_subqueries(|n| node(n, &changed))
            .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "pg_sum_types"
    }
}
