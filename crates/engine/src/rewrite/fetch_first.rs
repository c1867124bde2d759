//! `FETCH FIRST n ROWS ONLY` is `LIMIT n` (SQL standard syntax, used by JDBC tools and
//! reporting SQL); DataFusion's planner does not plan FETCH. `FETCH FIRST ROW ONLY` is
//! `LIMIT 1`. `WITH TIES` and `PERCENT` are left as written, so DataFusion refuses them with
//! 0A000 rather than answering without the ties.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, LimitClause, Query, Statement, Value, VisitMut, VisitorMut,
};

/// Rewrites every plain `FETCH FIRST` in `statement` into a `LIMIT`.
pub(super) fn fetch_first(statement: &mut Statement, _: &super::Context) {
    struct Rule;
    impl VisitorMut for Rule {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let Some(fetch) = query.fetch.take() else {
                return ControlFlow::Continue(());
            };
            if fetch.with_ties || fetch.percent {
                query.fetch = Some(fetch);
                return ControlFlow::Continue(());
            }
            let count = fetch
                .quantity
                .clone()
                .unwrap_or_else(|| Expr::value(Value::Number("1".to_owned(), false)));
            match &mut query.limit_clause {
                None => {
                    query.limit_clause = Some(LimitClause::LimitOffset {
                        limit: Some(count),
                        offset: None,
                        limit_by: Vec::new(),
                    });
                }
                Some(LimitClause::LimitOffset {
                    limit: limit @ None,
                    ..
                }) => *limit = Some(count),
                // LIMIT and FETCH together: left for the planner to refuse.
                Some(_) => query.fetch = Some(fetch),
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Rule);
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    fn rewritten(sql: &str) -> String {
        applied(fetch_first, sql)
    }

    #[test]
    fn fetch_first_becomes_limit() {
        assert_eq!(
            rewritten("SELECT a FROM t ORDER BY a FETCH FIRST 3 ROWS ONLY"),
            "SELECT a FROM t ORDER BY a LIMIT 3"
        );
        assert_eq!(
            rewritten("SELECT a FROM t FETCH NEXT ROW ONLY"),
            "SELECT a FROM t LIMIT 1"
        );
        assert_eq!(
            rewritten("SELECT a FROM t OFFSET 2 ROWS FETCH FIRST 3 ROWS ONLY"),
            "SELECT a FROM t LIMIT 3 OFFSET 2 ROWS"
        );
        assert!(
            rewritten("SELECT a FROM t ORDER BY a FETCH FIRST 3 ROWS WITH TIES").contains("FETCH")
        );
    }
}
