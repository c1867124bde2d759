//! Subqueries in expressions, planned the way DataFusion can while keeping PostgreSQL's
//! meaning.

#[allow(unused_imports)]
use super::*;
use crate::functions::aggregates::SCALAR_SUBQUERY;

/// Aggregates: a scalar subquery whose single output is one of these is already aggregated.
pub(super) const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "first_value",
    "last_value",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "stddev",
    "variance",
    "mode",
    "percentile_cont",
    "percentile_disc",
];

/// A scalar subquery as PostgreSQL runs it: its only row's value, NULL without rows, 21000
/// with more than one. DataFusion decorrelates a scalar subquery only when it is aggregated
/// and never checks the row count, so the subquery's output goes through
/// [`SCALAR_SUBQUERY`], an aggregate with exactly those semantics:
/// - `(SELECT x FROM … WHERE …)` becomes `(SELECT __pg_scalar_subquery(x) FROM … WHERE …)`,
///   which DataFusion still decorrelates;
/// - a subquery with ORDER BY, LIMIT/OFFSET, DISTINCT, GROUP BY, HAVING, a WITH clause or a set
///   operation is kept whole and read through
///   `(SELECT __pg_scalar_subquery(v) FROM (subquery) AS s(v))`, so its ORDER BY and LIMIT
///   keep their meaning (a correlated one of these DataFusion cannot run is refused, 0A000,
///   never answered differently);
/// - a subquery that always gives at most one row (an ungrouped aggregate, or a select
///   without FROM) stays as written.
fn scalar_subquery(query: &mut Query) {
    if at_most_one_row(query) {
        return;
    }
    if let SetExpr::Select(select) = query.body.as_mut()
        && query.with.is_none()
        && query.order_by.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && select.distinct.is_none()
        && select.having.is_none()
        && no_group_by(select)
        && let [item] = select.projection.as_mut_slice()
        && matches!(
            item,
            SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
        )
        && !is_window(item)
    {
        wrap_item(item, SCALAR_SUBQUERY, None);
        return;
    }
    let Ok(mut outer) = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql(&format!(
        "SELECT {SCALAR_SUBQUERY}(__pg_v) FROM (SELECT 1) AS __pg_s(__pg_v)"
    ))
    .and_then(|mut p| p.parse_query()) else {
        return;
    };
    if let SetExpr::Select(select) = outer.body.as_mut()
        && let Some(from) = select.from.first_mut()
        && let datafusion::sql::sqlparser::ast::TableFactor::Derived { subquery, .. } =
            &mut from.relation
    {
        **subquery = query.clone();
        *query = *outer;
    }
}

/// Every scalar subquery reads PostgreSQL's way: see [`scalar_subquery`]. The subqueries of
/// `x op ANY (subquery)` / `x op ALL (subquery)` are sets of rows, not scalar subqueries, and
/// stay as written (the `quantified` rule made the ones DataFusion runs faithfully into
/// `IN`/`NOT IN`; `refuse.rs` refused the rest).
pub(super) fn scalar_subqueries(statement: &mut Statement, _: &Context) {
    let mut sets = HashSet::new();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(statement, |expr: &Expr| {
        if let Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } = expr
            && let Expr::Subquery(q) = right.as_ref()
        {
            sets.insert(q.as_ref() as *const Query as usize);
        }
        ControlFlow::<()>::Continue(())
    });
    each_expr(statement, |expr| {
        if let Expr::Subquery(query) = expr
            && !sets.contains(&(query.as_ref() as *const Query as usize))
        {
            scalar_subquery(query);
        }
    });
}

/// `ARRAY(SELECT [DISTINCT] x … [ORDER BY …])` is the aggregate of the subquery's rows,
/// `coalesce(array_agg([DISTINCT] x [ORDER BY …]), '{}')`: DataFusion has no ARRAY
/// constructor over a subquery, and PostgreSQL's is an empty array, not NULL, when the
/// subquery has no rows (psql's `\d` and DBeaver build arrays of names this way). With
/// LIMIT/OFFSET, grouping, HAVING, DISTINCT ON or several output columns an aggregate would
/// change the meaning, so those stay as written and DataFusion refuses them.
pub(super) fn array_subqueries(statement: &mut Statement, _: &Context) {
    use datafusion::sql::sqlparser::ast::{Distinct, DuplicateTreatment};
    each_expr(statement, |expr| {
        let Expr::Function(f) = expr else {
            return;
        };
        if !f.name.to_string().eq_ignore_ascii_case("array") {
            return;
        }
        let FunctionArguments::Subquery(query) = &f.args else {
            return;
        };
        let mut query = query.as_ref().clone();
        let SetExpr::Select(select) = query.body.as_mut() else {
            return;
        };
        if query.limit_clause.is_some()
            || query.fetch.is_some()
            || query.with.is_some()
            || select.having.is_some()
            || !no_group_by(select)
            || !matches!(select.distinct, None | Some(Distinct::Distinct))
        {
            return;
        }
        let [item] = select.projection.as_mut_slice() else {
            return;
        };
        if !matches!(
            item,
            SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
        ) || is_window(item)
        {
            return;
        }
        // ORDER BY 1 and ORDER BY the item's alias name the item; inside the aggregate they
        // must be the item's expression (there, `1` would be a constant).
        let (item_expr, alias) = match item {
            SelectItem::UnnamedExpr(e) => (e.clone(), None),
            SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), Some(alias.value.clone())),
            _ => return,
        };
        let mut order_by = query.order_by.take();
        if let Some(order) = &mut order_by
            && let datafusion::sql::sqlparser::ast::OrderByKind::Expressions(exprs) =
                &mut order.kind
        {
            for o in exprs {
                match &o.expr {
                    Expr::Value(ValueWithSpan {
                        value: Value::Number(n, _),
                        ..
                    }) => {
                        if n != "1" {
                            return;
                        }
                        o.expr = item_expr.clone();
                    }
                    Expr::Identifier(id)
                        if alias
                            .as_deref()
                            .is_some_and(|a| a.eq_ignore_ascii_case(&id.value)) =>
                    {
                        o.expr = item_expr.clone();
                    }
                    _ => {}
                }
            }
        }
        let distinct = select.distinct.take().is_some();
        wrap_item(item, "array_agg", order_by);
        if let SelectItem::UnnamedExpr(agg) | SelectItem::ExprWithAlias { expr: agg, .. } = item {
            if distinct
                && let Expr::Function(agg) = agg
                && let FunctionArguments::List(list) = &mut agg.args
            {
                list.duplicate_treatment = Some(DuplicateTreatment::Distinct);
            }
            let aggregated = std::mem::replace(agg, Expr::value(Value::Null));
            *agg = call_with(
                "coalesce",
                vec![aggregated, call_with("make_array", vec![])],
            );
        }
        *expr = Expr::Subquery(Box::new(query));
    });
}

/// `(a, b) IN (SELECT x, y FROM … WHERE w)` as a condition of WHERE is `EXISTS (SELECT 1 FROM
/// … WHERE w AND x = a AND y = b)`: DataFusion's IN takes one column. As a top-level
/// condition only, where NULL and false both drop the row (a NULL-containing row compares as
/// neither). The outer columns are qualified with the outer relation's name, and an inner
/// relation of that same name gets an alias of its own, so each side reads its own columns.
pub(super) fn row_in_subqueries(statement: &mut Statement, _: &Context) {
    struct Selects;
    impl datafusion::sql::sqlparser::ast::VisitorMut for Selects {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_mut()
                && let Some(outer) = single_relation_name(&select.from)
                && let Some(selection) = select.selection.take()
            {
                let conditions = conjuncts(selection)
                    .into_iter()
                    .map(|c| row_in_as_exists(c, &outer))
                    .collect();
                select.selection = and_all(conditions);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Selects);
}

/// The name a FROM list of one relation goes by.
fn single_relation_name(from: &[TableWithJoins]) -> Option<String> {
    let [only] = from else {
        return None;
    };
    if !only.joins.is_empty() {
        return None;
    }
    match &only.relation {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            Some(a.name.value.clone())
        }
        TableFactor::Table {
            name, args: None, ..
        } => match name.0.last() {
            Some(ObjectNamePart::Identifier(id)) => Some(id.value.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn row_in_as_exists(condition: Expr, outer: &str) -> Expr {
    let Expr::InSubquery {
        expr,
        subquery,
        negated: false,
    } = &condition
    else {
        return condition;
    };
    let Expr::Tuple(left) = expr.as_ref() else {
        return condition;
    };
    let Some(select) = plain_select(subquery) else {
        return condition;
    };
    if select.projection.len() != left.len() {
        return condition;
    }
    // Each outer value a column (qualified with the outer relation here) or a constant.
    let mut outer_values = Vec::with_capacity(left.len());
    for e in left {
        outer_values.push(match e {
            Expr::Identifier(id) => Expr::CompoundIdentifier(vec![Ident::new(outer), id.clone()]),
            Expr::CompoundIdentifier(ids) if ids.len() == 2 => e.clone(),
            Expr::Value(_) => e.clone(),
            _ => return condition,
        });
    }
    let mut inner_query = subquery.as_ref().clone();
    let SetExpr::Select(inner) = inner_query.body.as_mut() else {
        return condition;
    };
    // An inner relation named like the outer one is renamed, unless the subquery qualifies
    // columns with that name itself.
    let mut qualifies_outer = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(&*inner, |e: &Expr| {
        if let Expr::CompoundIdentifier(ids) = e
            && ids.len() == 2
            && ids[0].value.eq_ignore_ascii_case(outer)
        {
            qualifies_outer = true;
        }
        ControlFlow::<()>::Continue(())
    });
    let same_name = inner_names(&inner.from).contains(&outer.to_ascii_lowercase());
    if same_name {
        if qualifies_outer {
            return condition;
        }
        let mut renamed = false;
        for t in &mut inner.from {
            if let TableFactor::Table {
                name,
                alias: alias @ None,
                ..
            } = &mut t.relation
                && name
                    .0
                    .last()
                    .is_some_and(|p| p.to_string().eq_ignore_ascii_case(outer))
            {
                *alias = Some(datafusion::sql::sqlparser::ast::TableAlias {
                    explicit: true,
                    name: Ident::new("__pg_row_in"),
                    columns: Vec::new(),
                    at: None,
                });
                renamed = true;
            }
        }
        if !renamed {
            return condition;
        }
    }
    let mut conditions: Vec<Expr> = inner
        .selection
        .take()
        .map(|w| vec![Expr::Nested(Box::new(w))])
        .unwrap_or_default();
    for (item, outer_value) in inner.projection.iter().zip(outer_values) {
        let (SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. }) = item else {
            return condition;
        };
        conditions.push(Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(x.clone()))),
            op: BinaryOperator::Eq,
            right: Box::new(outer_value),
        });
    }
    inner.selection = and_all(conditions);
    inner.projection = vec![SelectItem::UnnamedExpr(Expr::value(Value::Number(
        "1".to_owned(),
        false,
    )))];
    inner_query.order_by = None;
    Expr::Exists {
        subquery: Box::new(inner_query),
        negated: false,
    }
}

/// The select of a subquery whose rows can be counted instead: no WITH, LIMIT/OFFSET,
/// DISTINCT, grouping or HAVING, and no set operation.
pub(super) fn plain_select(query: &Query) -> Option<&datafusion::sql::sqlparser::ast::Select> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let plain = query.with.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && select.distinct.is_none()
        && select.having.is_none()
        && no_group_by(select);
    plain.then_some(select.as_ref())
}

fn no_group_by(select: &datafusion::sql::sqlparser::ast::Select) -> bool {
    matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
}

fn is_window(item: &SelectItem) -> bool {
    match item {
        SelectItem::UnnamedExpr(Expr::Function(f))
        | SelectItem::ExprWithAlias {
            expr: Expr::Function(f),
            ..
        } => f.over.is_some(),
        _ => false,
    }
}

/// Whether `query` yields at most one row whatever the data: a select without FROM, or one
/// ungrouped aggregate (LIMIT/OFFSET can only make that fewer).
fn at_most_one_row(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    if select.from.is_empty() && query.with.is_none() {
        return true;
    }
    if !no_group_by(select) || select.distinct.is_some() {
        return false;
    }
    let [item] = select.projection.as_slice() else {
        return false;
    };
    let expr = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return false,
    };
    aggregates(expr)
}

/// Whether `expr` calls an aggregate of its own select (not one of a subquery inside it): a
/// select without GROUP BY that aggregates gives exactly one row (`count(*) + 1`,
/// `coalesce(sum(x), 0)` as well as `max(x)`).
fn aggregates(expr: &Expr) -> bool {
    use datafusion::sql::sqlparser::ast::{Visit, Visitor};
    struct Own {
        depth: usize,
    }
    impl Visitor for Own {
        type Break = ();
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Function(f)
                    if self.depth == 0
                        && f.over.is_none()
                        && f.name.0.last().is_some_and(|n| {
                            AGGREGATES.contains(&n.to_string().to_ascii_lowercase().as_str())
                        }) =>
                {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    expr.visit(&mut Own { depth: 0 }).is_break()
}

/// Replaces a select item's expression `e` with `agg(e [ORDER BY …])`.
pub(super) fn wrap_item(
    item: &mut SelectItem,
    agg: &str,
    order_by: Option<datafusion::sql::sqlparser::ast::OrderBy>,
) {
    let expr = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return,
    };
    let inner = std::mem::replace(expr, Expr::value(Value::Null));
    let mut f = match call(agg, inner) {
        Expr::Function(f) => f,
        _ => return,
    };
    if let (FunctionArguments::List(list), Some(order)) = (&mut f.args, order_by)
        && let datafusion::sql::sqlparser::ast::OrderByKind::Expressions(exprs) = order.kind
    {
        list.clauses
            .push(datafusion::sql::sqlparser::ast::FunctionArgumentClause::OrderBy(exprs));
    }
    *expr = Expr::Function(f);
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn scalar_subqueries_keep_postgres_meaning() {
        assert_eq!(
            applied(
                scalar_subqueries,
                "SELECT (SELECT d.x FROM t d WHERE d.a = a.b) AS s FROM a"
            ),
            "SELECT (SELECT __pg_scalar_subquery(d.x) FROM t d WHERE d.a = a.b) AS s FROM a"
        );
        // ORDER BY and LIMIT keep their meaning: the subquery is read whole.
        assert_eq!(
            applied(
                scalar_subqueries,
                "SELECT (SELECT x FROM t ORDER BY y LIMIT 1)"
            ),
            "SELECT (SELECT __pg_scalar_subquery(__pg_v) FROM (SELECT x FROM t ORDER BY y LIMIT 1) AS __pg_s (__pg_v))"
        );
        assert_eq!(
            applied(
                scalar_subqueries,
                "SELECT (SELECT count(*) FROM t), (SELECT 1)"
            ),
            "SELECT (SELECT count(*) FROM t), (SELECT 1)"
        );
        // An expression over the select's own aggregates is one row too; an aggregate of a
        // subquery inside the item is not the select's.
        assert_eq!(
            applied(
                scalar_subqueries,
                "SELECT (SELECT coalesce(pg_catalog.sum(x), 0) + 1 FROM t), (SELECT (SELECT max(y) FROM u) + x FROM t)"
            ),
            "SELECT (SELECT coalesce(pg_catalog.sum(x), 0) + 1 FROM t), (SELECT __pg_scalar_subquery((SELECT max(y) FROM u) + x) FROM t)"
        );
        assert_eq!(
            applied(
                scalar_subqueries,
                "SELECT 1 WHERE 2 > ALL (SELECT x FROM t)"
            ),
            "SELECT 1 WHERE 2 > ALL(SELECT x FROM t)"
        );
    }

    #[test]
    fn row_values_in_subqueries_are_exists() {
        assert_eq!(
            applied(
                row_in_subqueries,
                "SELECT count(*) FROM aws.stages WHERE x > 1 AND (account_id, region) IN (SELECT account_id, region FROM aws.stages WHERE stage_name = 'prod')"
            ),
            "SELECT count(*) FROM aws.stages WHERE x > 1 AND EXISTS (SELECT 1 FROM aws.stages AS __pg_row_in WHERE (stage_name = 'prod') AND (account_id) = stages.account_id AND (region) = stages.region)"
        );
        // Under NOT, or negated, NULL and false differ: as written.
        let negated = "SELECT 1 FROM t WHERE (a, b) NOT IN (SELECT x, y FROM u)";
        assert_eq!(applied(row_in_subqueries, negated), negated);
    }

    #[test]
    fn array_subqueries_are_aggregates_that_are_never_null() {
        assert_eq!(
            applied(
                array_subqueries,
                "SELECT ARRAY(SELECT DISTINCT r FROM q ORDER BY r), ARRAY(SELECT r FROM q)"
            ),
            "SELECT (SELECT coalesce(array_agg(DISTINCT r ORDER BY r), make_array()) FROM q), (SELECT coalesce(array_agg(r), make_array()) FROM q)"
        );
        assert_eq!(
            applied(array_subqueries, "SELECT ARRAY(SELECT r FROM q LIMIT 2)"),
            "SELECT ARRAY(SELECT r FROM q LIMIT 2)"
        );
        // Positions and aliases name the item, not a constant.
        assert_eq!(
            applied(
                array_subqueries,
                "SELECT ARRAY(SELECT DISTINCT r + 1 AS s FROM q ORDER BY 1), ARRAY(SELECT r AS s FROM q ORDER BY s DESC)"
            ),
            "SELECT (SELECT coalesce(array_agg(DISTINCT r + 1 ORDER BY r + 1), make_array()) AS s FROM q), (SELECT coalesce(array_agg(r ORDER BY r DESC), make_array()) AS s FROM q)"
        );
    }
}
