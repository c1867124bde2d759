//! Forms DataFusion would run with a different meaning than PostgreSQL's. They are refused
//! with 0A000 naming the feature, before planning: an error is better than another answer.
//!
//! - `INTERSECT ALL` / `EXCEPT ALL`: DataFusion plans them as semi/anti joins, which keep every
//!   left duplicate instead of min(m, n) / max(m − n, 0) copies.
//! - `x op ANY (subquery)` / `x op ALL (subquery)` other than `= ANY` and `<> ALL` (which the
//!   rewrite turns into `IN` / `NOT IN`): DataFusion answered `x > ALL (subquery)` with no rows
//!   where PostgreSQL has some.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Query, SetExpr, SetOperator, SetQuantifier, Statement, Visit, Visitor,
};

use crate::error::EngineError;

/// Fails with [`EngineError::Unsupported`] when `statement` uses a form listed above.
pub fn refuse_unfaithful(statement: &Statement) -> Result<(), EngineError> {
    struct Check;
    impl Visitor for Check {
        type Break = String;
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
            match set_operation_all(&query.body) {
                Some(what) => ControlFlow::Break(what),
                None => ControlFlow::Continue(()),
            }
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
            match expr {
                Expr::AnyOp {
                    compare_op, right, ..
                } if *compare_op != BinaryOperator::Eq
                    && matches!(right.as_ref(), Expr::Subquery(_)) =>
                {
                    ControlFlow::Break(format!("{compare_op} ANY (subquery)"))
                }
                Expr::AllOp {
                    compare_op, right, ..
                } if *compare_op != BinaryOperator::NotEq
                    && matches!(right.as_ref(), Expr::Subquery(_)) =>
                {
                    ControlFlow::Break(format!("{compare_op} ALL (subquery)"))
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    match statement.visit(&mut Check) {
        ControlFlow::Break(what) => Err(EngineError::Unsupported(what)),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn set_operation_all(body: &SetExpr) -> Option<String> {
    match body {
        SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => {
            let all = matches!(
                set_quantifier,
                SetQuantifier::All | SetQuantifier::AllByName
            );
            match op {
                SetOperator::Intersect if all => Some("INTERSECT ALL".to_owned()),
                SetOperator::Except | SetOperator::Minus if all => Some("EXCEPT ALL".to_owned()),
                _ => set_operation_all(left).or_else(|| set_operation_all(right)),
            }
        }
        SetExpr::Query(q) => set_operation_all(&q.body),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn check(sql: &str) -> Result<(), EngineError> {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0);
        refuse_unfaithful(&statement)
    }

    #[test]
    fn intersect_and_except_all_are_refused_anywhere() {
        assert!(check("SELECT 1 INTERSECT ALL SELECT 1").is_err());
        assert!(check("SELECT * FROM (SELECT 1 EXCEPT ALL SELECT 2) t").is_err());
        assert!(
            check("SELECT 1 WHERE 1 IN (SELECT 1 UNION SELECT 2 INTERSECT ALL SELECT 1)").is_err()
        );
        assert!(check("SELECT 1 UNION ALL SELECT 1 INTERSECT SELECT 1 EXCEPT SELECT 2").is_ok());
    }

    #[test]
    fn quantified_subqueries_other_than_in_are_refused() {
        assert!(check("SELECT 1 WHERE 1 > ALL (SELECT 2)").is_err());
        assert!(check("SELECT 1 WHERE 1 <= ANY (SELECT 2)").is_err());
        assert!(check("SELECT 1 WHERE 1 = ANY (SELECT 2)").is_ok());
        assert!(check("SELECT 1 WHERE 1 <> ALL (SELECT 2)").is_ok());
        assert!(check("SELECT 1 WHERE 1 > ALL (ARRAY[1, 2])").is_ok());
    }
}
