//! `EXISTS` and `IN (subquery)` in a select list, counted.

#[allow(unused_imports)]
use super::*;

use super::subquery::plain_select;

/// `EXISTS (subquery)` and `x IN (subquery)` in a select list (`SELECT _key, EXISTS (…)`,
/// `CASE WHEN EXISTS (…) THEN …` from pgcli and reports, Grafana's `ORDER BY CASE WHEN x IN
/// (SELECT …)`): DataFusion runs them only in WHERE, but decorrelates counting scalar
/// subqueries, so they are counted:
/// - `EXISTS (…)` is `(SELECT count(1) FROM … WHERE …) > 0` (`= 0` when negated), never NULL
///   as EXISTS is not;
/// - `x IN (SELECT y FROM … WHERE w)` is true when a row has `y = x`; else NULL when `x` is
///   NULL and there are rows, or when some `y` is NULL; else false (SQL's three-valued IN).
///   For an `x` that is a constant or a qualified outer column (which reads the same inside
///   the subquery) the counts are over the subquery's FROM; for any other `x` over the
///   subquery kept whole as a derived table.
///
/// A subquery with grouping, DISTINCT, LIMIT/OFFSET, HAVING, a WITH clause or a set operation
/// is left as written (refused).
pub(super) fn exists_in_outputs(statement: &mut Statement, _: &Context) {
    struct Selects;
    impl datafusion::sql::sqlparser::ast::VisitorMut for Selects {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_mut() {
                for item in &mut select.projection {
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                    {
                        let _ = visit_expressions_mut(e, |x: &mut Expr| {
                            counted_exists(x);
                            counted_in(x);
                            ControlFlow::<()>::Continue(())
                        });
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Selects);
}

fn counted_exists(expr: &mut Expr) {
    let Expr::Exists { subquery, negated } = expr else {
        return;
    };
    if plain_select(subquery).is_none() {
        return;
    }
    let mut counted = subquery.as_ref().clone();
    counted.order_by = None;
    if let SetExpr::Select(select) = counted.body.as_mut() {
        select.projection = vec![SelectItem::UnnamedExpr(call_with(
            "count",
            vec![Expr::value(Value::Number("1".to_owned(), false))],
        ))];
    }
    *expr = Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(Expr::Subquery(Box::new(counted))),
        op: if *negated {
            BinaryOperator::Eq
        } else {
            BinaryOperator::Gt
        },
        right: Box::new(Expr::value(Value::Number("0".to_owned(), false))),
    }));
}

fn counted_in(expr: &mut Expr) {
    let Expr::InSubquery {
        expr: x,
        subquery,
        negated,
    } = expr
    else {
        return;
    };
    let sql = match counted_in_select(x, subquery) {
        Some(counts) => counts,
        None if !names_outer_relations(subquery) => counted_in_derived(x, subquery),
        None => return,
    };
    let sql = format!(
        "{not}CASE WHEN {matches} > 0 THEN true WHEN {x} IS NULL THEN (CASE WHEN {all} > 0 THEN NULL ELSE false END) WHEN {nulls} > 0 THEN NULL ELSE false END",
        not = if *negated { "NOT " } else { "" },
        matches = sql.matches,
        all = sql.all,
        nulls = sql.nulls,
    );
    if let Ok(counted) = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql(&sql)
    .and_then(|mut p| p.parse_expr())
    {
        *expr = Expr::Nested(Box::new(counted));
    }
}

/// The three counts `x IN (subquery)` is decided by: rows equal to `x`, all rows, NULL rows.
struct InCounts {
    matches: String,
    all: String,
    nulls: String,
}

/// The counts over the subquery's own FROM and WHERE, when `x` is a constant or a qualified
/// outer column (which reads the same inside it), so a correlated subquery is decorrelated.
fn counted_in_select(x: &Expr, subquery: &Query) -> Option<InCounts> {
    let select = plain_select(subquery).filter(|s| !s.from.is_empty())?;
    let [SelectItem::UnnamedExpr(y) | SelectItem::ExprWithAlias { expr: y, .. }] =
        select.projection.as_slice()
    else {
        return None;
    };
    let inner = inner_names(&select.from);
    let outer_column = match x {
        Expr::CompoundIdentifier(ids) if ids.len() >= 2 => {
            !inner.contains(&ids[ids.len() - 2].value.to_ascii_lowercase())
        }
        Expr::Value(_) => true,
        Expr::Cast { expr: inner, .. } => matches!(inner.as_ref(), Expr::Value(_)),
        _ => false,
    };
    if !outer_column {
        return None;
    }
    let from = select
        .from
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let filter = |extra: String| match &select.selection {
        Some(w) => format!("({w}) AND {extra}"),
        None => extra,
    };
    let count = |condition: String| format!("(SELECT count(1) FROM {from} WHERE {condition})");
    Some(InCounts {
        matches: count(filter(format!("({y}) = {x}"))),
        all: match &select.selection {
            Some(w) => format!("(SELECT count(1) FROM {from} WHERE {w})"),
            None => format!("(SELECT count(1) FROM {from})"),
        },
        nulls: count(filter(format!("({y}) IS NULL"))),
    })
}

/// Whether `query` qualifies a column with a relation it does not itself read (a correlated
/// subquery, which cannot become a derived table).
fn names_outer_relations(query: &Query) -> bool {
    use datafusion::sql::sqlparser::ast::{Visit, Visitor};
    struct Names {
        relations: HashSet<String>,
        qualifiers: HashSet<String>,
    }
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let SetExpr::Select(select) = q.body.as_ref() {
                self.relations.extend(inner_names(&select.from));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::CompoundIdentifier(ids) = e
                && ids.len() >= 2
            {
                self.qualifiers
                    .insert(ids[ids.len() - 2].value.to_ascii_lowercase());
            }
            ControlFlow::Continue(())
        }
    }
    let mut names = Names {
        relations: HashSet::new(),
        qualifiers: HashSet::new(),
    };
    let _ = query.visit(&mut names);
    names
        .qualifiers
        .iter()
        .any(|q| !names.relations.contains(q))
}

/// The counts over the subquery kept whole as a derived table of one column,
/// `(SELECT count(1) FROM (subquery) AS __pg_in(__pg_in_value) WHERE __pg_in_value = x)`: any
/// `x` (Grafana's `quote_ident(table_schema)`) then reads the outer row, as the derived table
/// shows no other column, and the subquery keeps its ORDER BY, LIMIT or grouping. A
/// subquery that reads the outer row itself cannot be run this way and is refused.
fn counted_in_derived(x: &Expr, subquery: &Query) -> InCounts {
    let from = format!("({subquery}) AS __pg_in(__pg_in_value)");
    let count = |condition: &str| format!("(SELECT count(1) FROM {from} WHERE {condition})");
    InCounts {
        matches: count(&format!("__pg_in_value = ({x})")),
        all: format!("(SELECT count(1) FROM {from})"),
        nulls: count("__pg_in_value IS NULL"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn exists_in_outputs_is_a_count() {
        assert_eq!(
            applied(
                exists_in_outputs,
                "SELECT EXISTS (SELECT 1 FROM t WHERE t.a = s.a), CASE WHEN NOT EXISTS (SELECT x FROM t ORDER BY x) THEN 1 END FROM s WHERE EXISTS (SELECT 1 FROM u)"
            ),
            "SELECT ((SELECT count(1) FROM t WHERE t.a = s.a) > 0), CASE WHEN ((SELECT count(1) FROM t) = 0) THEN 1 END FROM s WHERE EXISTS (SELECT 1 FROM u)"
        );
        assert_eq!(
            applied(
                exists_in_outputs,
                "SELECT s.a IN (SELECT t.b FROM t WHERE t.c) FROM s"
            ),
            "SELECT (CASE WHEN (SELECT count(1) FROM t WHERE (t.c) AND (t.b) = s.a) > 0 THEN true WHEN s.a IS NULL THEN (CASE WHEN (SELECT count(1) FROM t WHERE t.c) > 0 THEN NULL ELSE false END) WHEN (SELECT count(1) FROM t WHERE (t.c) AND (t.b) IS NULL) > 0 THEN NULL ELSE false END) FROM s"
        );
        // An unqualified column (or any expression) would read the subquery's own columns
        // inside it: the subquery is counted as a derived table of one column instead.
        assert_eq!(
            applied(
                exists_in_outputs,
                "SELECT upper(a) IN (SELECT b FROM t) FROM s"
            ),
            "SELECT (CASE WHEN (SELECT count(1) FROM (SELECT b FROM t) AS __pg_in (__pg_in_value) WHERE __pg_in_value = (upper(a))) > 0 THEN true WHEN upper(a) IS NULL THEN (CASE WHEN (SELECT count(1) FROM (SELECT b FROM t) AS __pg_in (__pg_in_value)) > 0 THEN NULL ELSE false END) WHEN (SELECT count(1) FROM (SELECT b FROM t) AS __pg_in (__pg_in_value) WHERE __pg_in_value IS NULL) > 0 THEN NULL ELSE false END) FROM s"
        );
        // A correlated subquery cannot be a derived table: as written (refused).
        let correlated = "SELECT a IN (SELECT b FROM t WHERE t.c = s.c) FROM s";
        assert_eq!(applied(exists_in_outputs, correlated), correlated);
        let limited = "SELECT EXISTS (SELECT 1 FROM t LIMIT 1)";
        assert_eq!(applied(exists_in_outputs, limited), limited);
    }
}
