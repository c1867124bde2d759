//! Untyped string literals take the type of their neighbours, as PostgreSQL's `unknown` type
//! does, in the two places DataFusion resolves the other way (to text):
//!
//! - `CASE … THEN 1 ELSE '2' END`: the branches' common type ignores the untyped literals, so
//!   `'2'` is read as an integer (and `'a'` is 22P02, not the text `1`).
//! - `SELECT 1 UNION SELECT '01'`: a set operation's column type likewise; PostgreSQL answers
//!   one row (`1`), DataFusion answered two texts.
//!
//! Integer literals are typed the same way: one that fits in 32 bits is an `integer`
//! (`to_hex(-1)` is `ffffffff`, `2147483647 + 1` overflows as PostgreSQL's does), one that
//! does not stays `bigint`. DataFusion typed every one as a bigint.
//!
//! This rule runs **before** DataFusion's type coercion (it must see the literals untyped);
//! everything else in `semantics` runs after it.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::Case;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan, Projection, Union};
use datafusion::optimizer::AnalyzerRule;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct UnknownLiterals;

/// A string literal written without a type (`'a'`, not `'a'::text` or `text 'a'`).
fn is_unknown(e: &Expr) -> bool {
    matches!(
        e.clone().unalias_nested().data,
        Expr::Literal(ScalarValue::Utf8(Some(_)), None)
    )
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// The type the untyped literals among values of `types` take: their common type, unless
/// one of them is text (then text is right, as in PostgreSQL) or there is none.
fn resolve(types: &[DataType]) -> Option<DataType> {
    let mut common: Option<DataType> = None;
    for t in types {
        if *t == DataType::Null {
            continue;
        }
        if is_text(t) {
            return None;
        }
        common = Some(match common {
            None => t.clone(),
            Some(c) => comparison_coercion(&c, t)?,
        });
    }
    common.filter(|t| !is_text(t))
}

fn read_as(e: Expr, t: &DataType) -> Expr {
    Expr::Cast(Cast::new(Box::new(e), t.clone()))
}

fn case(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::Case(mut c) = e else {
        return Ok(Transformed::no(e));
    };
    let results = c
        .when_then_expr
        .iter()
        .map(|(_, then)| then.as_ref())
        .chain(c.else_expr.as_deref());
    let mut any_unknown = false;
    let mut types = Vec::new();
    for r in results {
        if is_unknown(r) {
            any_unknown = true;
        } else {
            types.push(r.get_type(schema)?);
        }
    }
    let target = match resolve(&types) {
        Some(t) if any_unknown => t,
        _ => return Ok(Transformed::no(Expr::Case(c))),
    };
    let fix = |r: Box<Expr>| -> Box<Expr> {
        if is_unknown(&r) {
            Box::new(read_as(*r, &target))
        } else {
            r
        }
    };
    c = Case {
        expr: c.expr,
        when_then_expr: c
            .when_then_expr
            .into_iter()
            .map(|(w, t)| (w, fix(t)))
            .collect(),
        else_expr: c.else_expr.map(fix),
    };
    Ok(Transformed::yes(Expr::Case(c)))
}

/// The `i`th output expression of a union input, when the input is a projection.
fn output_expr(input: &LogicalPlan, i: usize) -> Option<&Expr> {
    match input {
        LogicalPlan::Projection(p) => p.expr.get(i),
        _ => None,
    }
}

fn union(u: Union) -> Result<Transformed<LogicalPlan>> {
    let width = u.schema.fields().len();
    let mut targets: Vec<Option<DataType>> = Vec::with_capacity(width);
    for i in 0..width {
        let mut any_unknown = false;
        let mut types = Vec::new();
        for input in &u.inputs {
            match output_expr(input, i) {
                Some(e) if is_unknown(e) => any_unknown = true,
                _ => types.push(input.schema().field(i).data_type().clone()),
            }
        }
        targets.push(resolve(&types).filter(|_| any_unknown));
    }
    if targets.iter().all(Option::is_none) {
        return Ok(Transformed::no(LogicalPlan::Union(u)));
    }
    let inputs = u
        .inputs
        .into_iter()
        .map(|input| match Arc::unwrap_or_clone(input) {
            LogicalPlan::Projection(p) => {
                let schema = Arc::clone(&p.schema);
                let expr = p
                    .expr
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| match &targets[i] {
                        Some(t) if is_unknown(&e) => {
                            let name = schema.field(i).name().clone();
                            let (qualifier, _) = schema.qualified_field(i);
                            read_as(e.unalias_nested().data, t)
                                .alias_qualified(qualifier.cloned(), name)
                        }
                        _ => e,
                    })
                    .collect();
                Ok(Arc::new(LogicalPlan::Projection(Projection::try_new(
                    expr, p.input,
                )?)))
            }
            other => Ok(Arc::new(other)),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Transformed::yes(LogicalPlan::Union(
        Union::try_new_with_loose_types(inputs)?,
    )))
}

/// One plan node; `int4` says whether its integer literals may become `integer`.
fn node(node: LogicalPlan, int4: bool) -> Result<Transformed<LogicalPlan>> {
    let schema = if node.inputs().is_empty() {
        Arc::clone(node.schema())
    } else {
        Arc::new(merge_schema(&node.inputs()))
    };
    // VALUES rows were typed together when planned; their literals stay as they are.
    let retype = int4 && !matches!(node, LogicalPlan::Values(_));
    let names = NamePreserver::new(&node);
    let out = node.map_expressions(|e| {
        let saved = names.save(&e);
        Ok(e.transform_up(|e| {
            if retype
                && let Expr::Literal(ScalarValue::Int64(Some(v)), None) = e
                && let Ok(v) = i32::try_from(v)
            {
                return Ok(Transformed::yes(Expr::Literal(
                    ScalarValue::Int32(Some(v)),
                    None,
                )));
            }
            // `-2147483648` is one integer constant in PostgreSQL.
            if retype
                && let Expr::Negative(inner) = &e
                && let Expr::Literal(ScalarValue::Int64(Some(v)), None) = inner.as_ref()
                && let Some(v) = v.checked_neg().and_then(|v| i32::try_from(v).ok())
            {
                return Ok(Transformed::yes(Expr::Literal(
                    ScalarValue::Int32(Some(v)),
                    None,
                )));
            }
            case(e, &schema)
        })?
        .update_data(|e| saved.restore(e)))
    })?;
    let out = out.transform_data(|n| match n {
        LogicalPlan::Union(u) => union(u),
        other => Ok(Transformed::no(other)),
    })?;
    // A child's output type may have changed (a union column is an integer now).
    out.map_data(|n| n.recompute_schema())
}

impl AnalyzerRule for UnknownLiterals {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        // A recursive query's work table was typed from its anchor when planned, so a plan
        // holding one keeps DataFusion's bigint literals (as before this rule).
        let mut recursive = false;
        plan.apply_with_subqueries(|n| {
            recursive |= matches!(n, LogicalPlan::RecursiveQuery(_));
            Ok(if recursive {
                datafusion::common::tree_node::TreeNodeRecursion::Stop
            } else {
                datafusion::common::tree_node::TreeNodeRecursion::Continue
            })
        })?;
        plan.transform_up_with_subqueries(|n| node(n, !recursive))
            .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "pg_unknown_literals"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_follow_their_typed_neighbours() {
        assert_eq!(
            resolve(&[DataType::Int64, DataType::Null]),
            Some(DataType::Int64)
        );
        assert_eq!(
            resolve(&[DataType::Int64, DataType::Float64]),
            Some(DataType::Float64)
        );
        assert_eq!(resolve(&[DataType::Int64, DataType::Utf8]), None);
        assert_eq!(resolve(&[DataType::Null]), None);
        assert!(is_unknown(&Expr::Literal(
            ScalarValue::Utf8(Some("a".into())),
            None
        )));
        assert!(!is_unknown(&read_as(
            Expr::Literal(ScalarValue::Utf8(Some("a".into())), None),
            &DataType::Utf8
        )));
    }
}
