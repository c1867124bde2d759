//! Sort keys that hold a subquery.

#[allow(unused_imports)]
use super::*;

use datafusion::sql::sqlparser::ast::OrderByKind;

/// `ORDER BY CASE WHEN x IN (SELECT …) THEN 0 ELSE 1 END, 1` (Grafana's table dropdown):
/// DataFusion runs a subquery in a select list but not in a sort key, so the select computes
/// each such key as a hidden output and an outer select sorts by it and shows the outputs:
///
/// `SELECT a, b FROM t ORDER BY f(subquery), 1 LIMIT n` becomes
/// `SELECT __pg_out_1 AS a, __pg_out_2 AS b FROM (SELECT a AS __pg_out_1, b AS __pg_out_2,
/// f(subquery) AS __pg_sort_1 FROM t) AS __pg_sorted ORDER BY __pg_sort_1, __pg_out_1 LIMIT n`.
///
/// A key that is a position or an output's name sorts by that output, as PostgreSQL reads it.
/// Left alone (and refused by DataFusion): DISTINCT, a `*` output, set operations.
pub(super) fn sort_key_subqueries(statement: &mut Statement, _: &Context) {
    struct V;
    impl VisitorMut for V {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if let Some(wrapped) = wrapped(query) {
                *query = wrapped;
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut V);
}

fn has_subquery(e: &Expr) -> bool {
    datafusion::sql::sqlparser::ast::visit_expressions(e, |x: &Expr| {
        if matches!(
            x,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        ) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

fn wrapped(query: &Query) -> Option<Query> {
    let OrderByKind::Expressions(keys) = &query.order_by.as_ref()?.kind else {
        return None;
    };
    if !keys.iter().any(|k| has_subquery(&k.expr)) {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    if select.distinct.is_some() {
        return None;
    }
    let mut inner = select.as_ref().clone();
    let mut outputs = Vec::new();
    let mut names = Vec::new();
    for (i, item) in inner.projection.iter_mut().enumerate() {
        let (expr, name) = match item {
            SelectItem::UnnamedExpr(e) => (e.clone(), expr_name(e)),
            SelectItem::ExprWithAlias { expr, alias } => (
                expr.clone(),
                if alias.quote_style.is_some() {
                    alias.value.clone()
                } else {
                    alias.value.to_lowercase()
                },
            ),
            _ => return None,
        };
        let hidden = format!("__pg_out_{}", i + 1);
        *item = SelectItem::ExprWithAlias {
            expr,
            alias: Ident::new(&hidden),
        };
        outputs.push(format!(
            "{hidden} AS {}",
            Ident::with_quote('"', name.clone())
        ));
        names.push(name);
    }
    let mut sort = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        let target = match &key.expr {
            Expr::Value(ValueWithSpan {
                value: Value::Number(n, _),
                ..
            }) => {
                let position: usize = n.parse().ok()?;
                if position == 0 || position > names.len() {
                    return None;
                }
                format!("__pg_out_{position}")
            }
            Expr::Identifier(id)
                if names
                    .iter()
                    .position(|n| *n == expr_name(&Expr::Identifier(id.clone())))
                    .is_some() =>
            {
                let i = names
                    .iter()
                    .position(|n| *n == expr_name(&Expr::Identifier(id.clone())))?;
                format!("__pg_out_{}", i + 1)
            }
            e => {
                let hidden = format!("__pg_sort_{}", k + 1);
                inner.projection.push(SelectItem::ExprWithAlias {
                    expr: e.clone(),
                    alias: Ident::new(&hidden),
                });
                hidden
            }
        };
        sort.push(format!("{target}{}", key.options));
    }
    let sql = format!(
        "SELECT {} FROM ({inner}) AS __pg_sorted ORDER BY {}",
        outputs.join(", "),
        sort.join(", ")
    );
    let mut parsed = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql(&sql)
    .ok()?
    .parse_query()
    .ok()?;
    parsed.with = query.with.clone();
    parsed.limit_clause = query.limit_clause.clone();
    parsed.fetch = query.fetch.clone();
    Some(*parsed)
}

/// `SELECT count(*) * 2 FROM t GROUP BY r ORDER BY 1`: DataFusion (since 51, its issue
/// 19410) refuses a position naming an unaliased expression over aggregates ("Column in ORDER
/// BY must be in GROUP BY"), though it takes the same item aliased. So an unaliased,
/// non-column item a sort key names by position gets its PostgreSQL output name as alias,
/// which is the name it is shown under anyway (`?column?`, `upper`, …); unless another item
/// has the same name.
pub(super) fn positioned_items(statement: &mut Statement, _: &Context) {
    struct V;
    impl VisitorMut for V {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let Some(order) = query.order_by.as_ref() else {
                return ControlFlow::Continue(());
            };
            let OrderByKind::Expressions(keys) = &order.kind else {
                return ControlFlow::Continue(());
            };
            let positions: Vec<usize> = keys
                .iter()
                .filter_map(|k| match &k.expr {
                    Expr::Value(ValueWithSpan {
                        value: Value::Number(n, _),
                        ..
                    }) => n.parse::<usize>().ok().filter(|p| *p > 0),
                    _ => None,
                })
                .collect();
            let SetExpr::Select(select) = query.body.as_mut() else {
                return ControlFlow::Continue(());
            };
            super::outputs::name_unaliased(
                &mut select.projection,
                positions.into_iter().map(|p| p - 1),
                true,
            );
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut V);
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn a_sort_key_with_a_subquery_is_computed_as_a_hidden_output() {
        assert_eq!(
            applied(
                sort_key_subqueries,
                "SELECT a, b AS B2 FROM t ORDER BY CASE WHEN a IN (SELECT x FROM u) THEN 0 ELSE 1 END DESC, 1, b2 LIMIT 3"
            ),
            "SELECT __pg_out_1 AS \"a\", __pg_out_2 AS \"b2\" FROM (SELECT a AS __pg_out_1, b AS __pg_out_2, CASE WHEN a IN (SELECT x FROM u) THEN 0 ELSE 1 END AS __pg_sort_1 FROM t) AS __pg_sorted ORDER BY __pg_sort_1 DESC, __pg_out_1, __pg_out_2 LIMIT 3"
        );
        assert_eq!(
            applied(sort_key_subqueries, "SELECT a FROM t ORDER BY a LIMIT 3"),
            "SELECT a FROM t ORDER BY a LIMIT 3",
            "keys without subqueries stay"
        );
        assert_eq!(
            applied(
                sort_key_subqueries,
                "SELECT DISTINCT a FROM t ORDER BY (SELECT 1)"
            ),
            "SELECT DISTINCT a FROM t ORDER BY (SELECT 1)",
            "DISTINCT stays"
        );
    }
}
