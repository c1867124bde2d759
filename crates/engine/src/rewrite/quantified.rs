//! Quantified comparisons with a subquery (`op ANY (subquery)`, `op ALL (subquery)`).

#[allow(unused_imports)]
use super::*;

/// `x = ANY (subquery)` is `x IN (subquery)` and `x <> ALL (subquery)` is `x NOT IN
/// (subquery)`, NULLs included: DataFusion plans IN, not ANY (Metabase and hand-written
/// reports use both). The other quantified comparisons were refused by `refuse.rs`.
pub(super) fn quantified_subqueries(statement: &mut Statement, _: &Context) {
    let _ = visit_expressions_mut(statement, |expr: &mut Expr| {
        let (negated, is_set) = match expr {
            Expr::AnyOp {
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } => (false, matches!(right.as_ref(), Expr::Subquery(_))),
            Expr::AllOp {
                compare_op: BinaryOperator::NotEq,
                right,
                ..
            } => (true, matches!(right.as_ref(), Expr::Subquery(_))),
            _ => (false, false),
        };
        if is_set {
            let taken = std::mem::replace(expr, Expr::value(Value::Null));
            if let Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } = taken
                && let Expr::Subquery(subquery) = *right
            {
                *expr = Expr::InSubquery {
                    expr: left,
                    subquery,
                    negated,
                };
            }
        }
        ControlFlow::<()>::Continue(())
    });
}
