//! Quantified comparisons with a subquery (`op ANY (subquery)`, `op ALL (subquery)`).

#[allow(unused_imports)]
use super::*;

/// `x = ANY (subquery)` is `x IN (subquery)` and `x <> ALL (subquery)` is `x NOT IN
/// (subquery)`, NULLs included. Returns the addresses of the subqueries left under another
/// `op ANY`/`op ALL`: they are sets of rows, not scalar subqueries, and stay as written.
pub(super) fn quantified_subqueries(statement: &mut Statement) -> HashSet<usize> {
    let mut left_alone = HashSet::new();
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
        } else if let Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } = expr
            && let Expr::Subquery(q) = right.as_ref()
        {
            left_alone.insert(q.as_ref() as *const Query as usize);
        }
        ControlFlow::<()>::Continue(())
    });
    left_alone
}
