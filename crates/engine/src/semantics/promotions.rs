//! PostgreSQL's choice of operator where DataFusion's type coercion chooses another, decided
//! before that coercion: a `real` (float4) meeting an integer or a numeric is computed in
//! `double precision`, since PostgreSQL prefers float8 among the numeric types
//! (`1::float4 / 3` is 0.3333333333333333 there; DataFusion divided in float4 and answered
//! 0.3333333432674408). Two reals stay real.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result};
use datafusion::config::ConfigOptions;
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
        Operator::Plus | Operator::Minus | Operator::Multiply | Operator::Divide
    ) || super::is_comparison(op)
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

impl AnalyzerRule for Promotions {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::pre_coercion::rewrite_expressions(plan, |_| true, promote)
    }

    fn name(&self) -> &str {
        "pg_promotions"
    }
}
