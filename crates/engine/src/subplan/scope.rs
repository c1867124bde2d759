//! Which outer columns a subquery reads, scope by scope, and the subquery with a row's
//! values in their place.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchemaRef, Result, ScalarValue};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan, Subquery};

/// Whether `plan` holds a derived table (a `Subquery` plan node) that reads an outer column.
pub(super) fn reads_inside_derived_table(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply(|node| {
        if let LogicalPlan::Subquery(derived) = node {
            let mut read = Vec::new();
            reads(&derived.subquery, &|_| false, &mut read);
            found |= !read.is_empty();
        }
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

/// The outer columns a subquery reads from `provided` (the inputs of the node it stands in),
/// its nested subqueries' included (DataFusion lists only the subquery's own), or `None` when
/// it reads a column of a query further out, so cannot run as a subplan there.
pub(super) fn outer_columns(
    subquery: &Subquery,
    provided: impl Fn(&Column) -> bool,
) -> Option<Vec<Column>> {
    let mut read: Vec<Column> = Vec::new();
    for e in all_outer_references(subquery) {
        if let Expr::OuterReferenceColumn(_, c) = e
            && !read.contains(&c)
        {
            read.push(c);
        }
    }
    read.iter().all(provided).then_some(read)
}

/// The subquery expression `e` is, if any.
pub(super) fn subquery_of(e: &Expr) -> Option<&Subquery> {
    match e {
        Expr::ScalarSubquery(s) => Some(s),
        Expr::Exists(e) => Some(&e.subquery),
        Expr::InSubquery(i) => Some(&i.subquery),
        _ => None,
    }
}

/// The schemas of `node`'s inputs: the columns its expressions (and the subqueries among
/// them, as outer columns) may read.
pub(super) fn input_schemas(node: &LogicalPlan) -> Vec<DFSchemaRef> {
    node.inputs()
        .iter()
        .map(|i| Arc::clone(i.schema()))
        .collect()
}

/// Whether a column is one of the schemas'.
fn in_schemas(schemas: &[DFSchemaRef], c: &Column) -> bool {
    schemas.iter().any(|s| s.has_column(c))
}

/// Adds to `out` the outer columns `plan` and its nested subqueries read that no enclosing
/// scope inside it provides (`bound` says which the scopes between provide): a nested
/// subquery's outer reference names the nearest scope with that column, as SQL resolves it.
fn reads(plan: &LogicalPlan, bound: &dyn Fn(&Column) -> bool, out: &mut Vec<Expr>) {
    let _ = plan.apply(|node| {
        let scope = input_schemas(node);
        for expr in node.expressions() {
            let _ = expr.apply(|e| {
                if let Expr::OuterReferenceColumn(_, c) = e
                    && !bound(c)
                    && !out.contains(e)
                {
                    out.push(e.clone());
                }
                if let Some(sub) = subquery_of(e) {
                    let inner = |c: &Column| bound(c) || in_schemas(&scope, c);
                    reads(&sub.subquery, &inner, out);
                }
                Ok(TreeNodeRecursion::Continue)
            });
        }
        Ok(TreeNodeRecursion::Continue)
    });
}

/// The outer references `subquery` makes, its nested plans' included.
fn all_outer_references(subquery: &Subquery) -> Vec<Expr> {
    let mut read = Vec::new();
    reads(&subquery.subquery, &|_| false, &mut read);
    read
}

/// Whether an expression of `plan` or of its subqueries' plans matches `pred`.
pub(super) fn any_expr(plan: &LogicalPlan, pred: impl Fn(&Expr) -> bool) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        for expr in node.expressions() {
            let _ = expr.apply(|e| {
                found |= pred(e);
                Ok(if found {
                    TreeNodeRecursion::Stop
                } else {
                    TreeNodeRecursion::Continue
                })
            });
        }
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

/// Whether `plan` holds a correlated subquery.
pub(super) fn has_correlated(plan: &LogicalPlan) -> bool {
    any_expr(plan, correlated)
}

/// Whether `e` is a subquery that reads an outer query's columns.
pub(crate) fn correlated(e: &Expr) -> bool {
    subquery_of(e).is_some_and(|s| !s.outer_ref_columns.is_empty())
}

/// `plan` with `values` in place of the references to `outer`; nested subqueries no longer
/// list those references among their outer columns. A nested subquery's reference to a
/// column a scope in between provides is that scope's, and stays. Output names are kept.
pub(super) fn substitute(
    plan: &LogicalPlan,
    outer: &[Column],
    values: &[ScalarValue],
) -> Result<LogicalPlan> {
    let replaced = replace_outer(plan.clone(), outer, values, &|_| false)?;
    // A derived table that read only those values is a plain plan now (DataFusion plans no
    // `Subquery` node).
    Ok(replaced
        .transform_up(|node| match node {
            LogicalPlan::Subquery(derived)
                if {
                    let mut read = Vec::new();
                    reads(&derived.subquery, &|_| false, &mut read);
                    read.is_empty()
                } =>
            {
                Ok(Transformed::yes(Arc::unwrap_or_clone(derived.subquery)))
            }
            other => Ok(Transformed::no(other)),
        })?
        .data)
}

fn replace_outer(
    plan: LogicalPlan,
    outer: &[Column],
    values: &[ScalarValue],
    bound: &dyn Fn(&Column) -> bool,
) -> Result<LogicalPlan> {
    let ours = |c: &Column| {
        if bound(c) {
            None
        } else {
            outer.iter().position(|o| o == c)
        }
    };
    let rewritten = plan.transform_down(|node| {
        let scope = input_schemas(&node);
        let inner = |c: &Column| bound(c) || in_schemas(&scope, c);
        let nested = |s: &Subquery| -> Result<Subquery> {
            let plan = replace_outer(
                Arc::unwrap_or_clone(Arc::clone(&s.subquery)),
                outer,
                values,
                &inner,
            )?;
            let mut s = s.clone();
            s.subquery = Arc::new(plan);
            s.outer_ref_columns.retain(|r| {
                !matches!(r, Expr::OuterReferenceColumn(_, c) if !inner(c) && outer.contains(c))
            });
            Ok(s)
        };
        let preserver = NamePreserver::new(&node);
        node.map_expressions(|expr| {
            let saved = preserver.save(&expr);
            let rewritten = expr.transform(|e| {
                Ok(match e {
                    Expr::OuterReferenceColumn(field, c) => match ours(&c) {
                        Some(i) => Transformed::yes(Expr::Literal(
                            values[i].cast_to(field.data_type())?,
                            None,
                        )),
                        None => Transformed::no(Expr::OuterReferenceColumn(field, c)),
                    },
                    Expr::ScalarSubquery(s) => Transformed::yes(Expr::ScalarSubquery(nested(&s)?)),
                    Expr::Exists(mut e) => {
                        e.subquery = nested(&e.subquery)?;
                        Transformed::yes(Expr::Exists(e))
                    }
                    Expr::InSubquery(mut i) => {
                        i.subquery = nested(&i.subquery)?;
                        Transformed::yes(Expr::InSubquery(i))
                    }
                    other => Transformed::no(other),
                })
            })?;
            Ok(rewritten.update_data(|e| saved.restore(e)))
        })
    })?;
    Ok(rewritten.data)
}
