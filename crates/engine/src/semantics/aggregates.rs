//! The result types of `sum` and `avg` as PostgreSQL's, decided before DataFusion's type
//! coercion, while an argument is still typed as written:
//! - `sum(bigint)` is numeric (it cannot overflow); `sum(integer)` and `sum(smallint)` are
//!   bigint. After coercion, DataFusion's own widening of `sum(integer)` to
//!   `sum(CAST(x AS bigint))` looks exactly like a user's `sum(x::bigint)`, which is numeric
//!   (`sum(length(s)::bigint) / 2` gave a bigint quotient). The sum's argument becomes numeric
//!   here, so everything around the sum (`+ 1`, `> 5`, `IN (…)`, `BETWEEN`, `greatest`,
//!   `/ count(*)`) is coerced by DataFusion as for any numeric, and divided as PostgreSQL
//!   divides numerics (`numeric_div.rs`).
//! - `avg` of integers and numerics is a numeric computed as PostgreSQL computes it
//!   (`avg.rs`); DataFusion's is a float8 for integers.
//!
//! Both as aggregates and as window functions.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::{AggregateFunction, WindowFunction};
use datafusion::logical_expr::{
    AggregateUDF, Cast, Expr, ExprSchemable, LogicalPlan, WindowFunctionDefinition,
};
use datafusion::optimizer::AnalyzerRule;

use super::avg::{PgAvg, serves};

/// See the module documentation.
#[derive(Debug)]
pub struct AggregateTypes {
    avg: Arc<AggregateUDF>,
}

impl AggregateTypes {
    pub fn new() -> Self {
        AggregateTypes {
            avg: Arc::new(AggregateUDF::from(PgAvg::new())),
        }
    }
}

impl Default for AggregateTypes {
    fn default() -> Self {
        Self::new()
    }
}

fn numeric(arg: Expr) -> Expr {
    Expr::Cast(Cast::new(Box::new(arg), DataType::Decimal128(38, 0)))
}

impl AggregateTypes {
    /// One aggregate or window call made PostgreSQL's.
    fn retype(&self, e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        let one_arg = |args: &[Expr]| -> Result<Option<DataType>> {
            Ok(match args {
                [arg] => Some(arg.get_type(schema)?),
                _ => None,
            })
        };
        match e {
            Expr::AggregateFunction(mut agg) if agg.func.name() == "sum" => {
                if one_arg(&agg.params.args)? == Some(DataType::Int64) {
                    let arg = agg.params.args.remove(0);
                    agg.params.args.push(numeric(arg));
                    return Ok(Transformed::yes(Expr::AggregateFunction(agg)));
                }
                Ok(Transformed::no(Expr::AggregateFunction(agg)))
            }
            Expr::AggregateFunction(agg)
                if agg.func.name() == "avg"
                    && !agg.params.distinct
                    && one_arg(&agg.params.args)?.is_some_and(|t| serves(&t)) =>
            {
                Ok(Transformed::yes(Expr::AggregateFunction(
                    AggregateFunction {
                        func: Arc::clone(&self.avg),
                        params: agg.params,
                    },
                )))
            }
            Expr::WindowFunction(mut w) => {
                let name = match &w.fun {
                    WindowFunctionDefinition::AggregateUDF(f) => f.name().to_owned(),
                    _ => return Ok(Transformed::no(Expr::WindowFunction(w))),
                };
                let arg = one_arg(&w.params.args)?;
                if name == "sum" && arg == Some(DataType::Int64) {
                    let a = w.params.args.remove(0);
                    w.params.args.push(numeric(a));
                    return Ok(Transformed::yes(Expr::WindowFunction(w)));
                }
                if name == "avg" && !w.params.distinct && arg.is_some_and(|t| serves(&t)) {
                    let w = *w;
                    return Ok(Transformed::yes(Expr::WindowFunction(Box::new(
                        WindowFunction {
                            fun: WindowFunctionDefinition::AggregateUDF(Arc::clone(&self.avg)),
                            params: w.params,
                        },
                    ))));
                }
                Ok(Transformed::no(Expr::WindowFunction(w)))
            }
            other => Ok(Transformed::no(other)),
        }
    }
}

impl AnalyzerRule for AggregateTypes {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::pre_coercion::rewrite_expressions(
            plan,
            |n| matches!(n, LogicalPlan::Aggregate(_) | LogicalPlan::Window(_)),
            |e, schema| self.retype(e, schema),
        )
    }

    fn name(&self) -> &str {
        "pg_aggregate_types"
    }
}
