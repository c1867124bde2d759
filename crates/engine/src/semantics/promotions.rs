//! PostgreSQL's choice of operator where DataFusion's type coercion chooses another, decided
//! before that coercion: a `real` (float4) meeting an integer or a numeric is computed in
//! `double precision`, since PostgreSQL prefers float8 among the numeric types
//! (`1::float4 / 3` is 0.3333333333333333 there; DataFusion divided in float4 and answered
//! 0.3333333432674408). Two reals stay real.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Promotions;

fn integer_or_numeric(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Decimal128(..)
    )
}

fn arithmetic_or_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Plus
            | Operator::Minus
            | Operator::Multiply
            | Operator::Divide
            | Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    )
}

fn promote(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return Ok(Transformed::no(e));
    };
    if arithmetic_or_comparison(op) {
        let (lt, rt) = (left.get_type(schema)?, right.get_type(schema)?);
        let float4_and_other = (lt == DataType::Float32 && integer_or_numeric(&rt))
            || (rt == DataType::Float32 && integer_or_numeric(&lt));
        if float4_and_other {
            let float8 = |e: Box<Expr>| Box::new(Expr::Cast(Cast::new(e, DataType::Float64)));
            return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                float8(left),
                op,
                float8(right),
            ))));
        }
    }
    Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
        left,
        op,
        right,
    })))
}

/// One node; `changed` is whether an expression at or below it changed type (then it derives
/// its schema again).
fn node(node: LogicalPlan, changed: &std::cell::Cell<bool>) -> Result<Transformed<LogicalPlan>> {
    let schema = if node.inputs().is_empty() {
        Arc::clone(node.schema())
    } else {
        Arc::new(merge_schema(&node.inputs()))
    };
    let names = NamePreserver::new(&node);
    let out = node.map_expressions(|e| {
        let saved = names.save(&e);
        Ok(e.transform_up(|e| promote(e, &schema))?
            .update_data(|e| saved.restore(e)))
    })?;
    if out.transformed {
        changed.set(true);
    }
    if changed.get() {
        out.map_data(|n| n.recompute_schema())
    } else {
        Ok(out)
    }
}

impl AnalyzerRule for Promotions {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        let changed = std::cell::Cell::new(false);
        plan.transform_up_with_subqueries(|n| node(n, &changed))
            .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "pg_promotions"
    }
}
