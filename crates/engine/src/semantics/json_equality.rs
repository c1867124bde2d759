//! json has no equality operator in PostgreSQL, and jsonb's ordering is its own: comparing,
//! grouping, sorting, joining or DISTINCT on `json` is 42883 ("could not identify an equality
//! operator for type json", "operator does not exist: json = json"); `jsonb` compares by its
//! canonical text (see [`super::json`]), and its ordering (objects > arrays > booleans >
//! numbers > strings > null, not text order) is refused with 0A000.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, Operator};

use super::type_of;
use crate::schema::{is_json, is_jsonb};

/// `json` or `jsonb` when `e` is one.
pub(super) fn json_kind(e: &Expr, schema: &DFSchema) -> Option<&'static str> {
    let (_, field) = e.to_field(schema).ok()?;
    if is_json(&field) {
        Some("json")
    } else if is_jsonb(&field) {
        Some("jsonb")
    } else {
        None
    }
}

pub(super) fn undefined_operator(message: String) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(
        crate::error::EngineError::UndefinedOperator(message),
    ))
}

/// Grouping, DISTINCT, a join or a set operation on json, which has no equality operator.
pub(super) fn no_equality(ty: &str) -> datafusion::error::DataFusionError {
    undefined_operator(format!(
        "could not identify an equality operator for type {ty}"
    ))
}

/// A sort key of json (no ordering operator, 42883) or jsonb (PostgreSQL's jsonb order is
/// not text order: 0A000).
pub(super) fn no_ordering(key: &Expr, schema: &DFSchema) -> Result<()> {
    match json_kind(key, schema) {
        Some("json") => Err(undefined_operator(
            "could not identify an ordering operator for type json".to_owned(),
        )),
        Some(_) => Err(datafusion::error::DataFusionError::External(Box::new(
            crate::error::EngineError::Unsupported("ordering jsonb values".to_owned()),
        ))),
        None => Ok(()),
    }
}

/// `left op right` where an operand is json: json has no comparison operators; jsonb has
/// equality (canonical text) but its ordering is not text order.
pub(super) fn json_comparison(
    left: &Expr,
    op: Operator,
    right: &Expr,
    schema: &DFSchema,
) -> Result<()> {
    let (l, r) = (json_kind(left, schema), json_kind(right, schema));
    if l.is_none() && r.is_none() {
        return Ok(());
    }
    let name = |k: Option<&'static str>, e: &Expr| {
        k.map(str::to_owned)
            .unwrap_or_else(|| match type_of(e, schema) {
                Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => "text".to_owned(),
                Ok(t) => t.to_string(),
                Err(_) => "unknown".to_owned(),
            })
    };
    if l == Some("json") || r == Some("json") {
        return Err(undefined_operator(format!(
            "operator does not exist: {} {op} {}",
            name(l, left),
            name(r, right)
        )));
    }
    if matches!(
        op,
        Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
    ) {
        return Err(datafusion::error::DataFusionError::External(Box::new(
            crate::error::EngineError::Unsupported("ordering jsonb values".to_owned()),
        )));
    }
    Ok(())
}

/// The keys a plan node compares or sorts: json has no equality and no ordering operator.
pub(super) fn json_keys(node: &LogicalPlan, schema: &DFSchema) -> Result<()> {
    use datafusion::logical_expr::Distinct;
    match node {
        LogicalPlan::Sort(sort) => {
            for key in &sort.expr {
                no_ordering(&key.expr, schema)?;
            }
        }
        LogicalPlan::Aggregate(agg) => {
            for key in &agg.group_expr {
                let keys = match key {
                    Expr::GroupingSet(set) => set.distinct_expr().into_iter().cloned().collect(),
                    other => vec![other.clone()],
                };
                for k in keys {
                    if json_kind(&k, schema) == Some("json") {
                        return Err(no_equality("json"));
                    }
                }
            }
        }
        LogicalPlan::Distinct(Distinct::All(input)) => {
            for field in input.schema().fields() {
                if is_json(field) {
                    return Err(no_equality("json"));
                }
            }
        }
        LogicalPlan::Distinct(Distinct::On(on)) => {
            for key in &on.on_expr {
                if let Some("json") = json_kind(key, schema) {
                    return Err(no_equality("json"));
                }
            }
        }
        LogicalPlan::Join(join) => {
            for (l, r) in &join.on {
                json_comparison(l, Operator::Eq, r, schema)?;
            }
        }
        _ => {}
    }
    Ok(())
}
