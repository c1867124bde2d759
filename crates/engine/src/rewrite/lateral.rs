//! LATERAL subqueries DataFusion cannot run, as joins it can.

#[allow(unused_imports)]
use super::*;

/// The top rows per outer row, `FROM s CROSS JOIN LATERAL (SELECT … FROM t WHERE t.k = s.k
/// ORDER BY … LIMIT n) l` ("the latest stage of each API"; also `, LATERAL (…)`, `[LEFT] JOIN
/// LATERAL (…) ON true`): when the subquery reads the outer row only through equalities
/// `inner = outer`, it is the same as numbering the inner rows per key in that order and
/// joining on the key and `number <= n`:
/// `JOIN (SELECT …, t.k AS __pg_lateral_k0, row_number() OVER (PARTITION BY t.k ORDER BY …) AS
/// __pg_lateral_n FROM t WHERE <inner conditions>) l ON l.__pg_lateral_k0 = s.k AND
/// l.__pg_lateral_n <= n` (a LEFT JOIN keeps outer rows without a match, as LEFT JOIN LATERAL
/// does; without LIMIT there is no numbering). Anything else (other outer references, OFFSET,
/// aggregates, `*` over the result) is left as written, and DataFusion refuses it.
pub(super) fn lateral_top_n(statement: &mut Statement, _: &Context) {
    struct Queries;
    impl datafusion::sql::sqlparser::ast::VisitorMut for Queries {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_mut() {
                rewrite_select(select);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Queries);
}

fn rewrite_select(select: &mut datafusion::sql::sqlparser::ast::Select) {
    use datafusion::sql::sqlparser::ast::{JoinConstraint, JoinOperator};
    let star = select.projection.iter().any(|i| {
        matches!(
            i,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    if star {
        return;
    }
    // `FROM s, LATERAL (…) l`
    if let [first, second] = select.from.as_mut_slice()
        && first.joins.is_empty()
        && second.joins.is_empty()
    {
        let outer = inner_names(std::slice::from_ref(first));
        if let Some((derived, on)) = decorrelate(&second.relation, &outer) {
            second.relation = derived;
            select.selection = and_all(select.selection.take().into_iter().chain([on]).collect());
        }
        return;
    }
    // `FROM s [CROSS | LEFT | INNER] JOIN LATERAL (…) l [ON true]`
    if let [only] = select.from.as_mut_slice()
        && let [join] = only.joins.as_mut_slice()
    {
        let outer = inner_names(&[TableWithJoins {
            relation: only.relation.clone(),
            joins: Vec::new(),
        }]);
        let on_true = |c: &JoinConstraint| {
            matches!(
                c,
                JoinConstraint::On(Expr::Value(ValueWithSpan {
                    value: Value::Boolean(true),
                    ..
                }))
            )
        };
        let left = match &join.join_operator {
            JoinOperator::CrossJoin(_) => false,
            JoinOperator::Join(c) | JoinOperator::Inner(c) if on_true(c) => false,
            JoinOperator::Left(c) | JoinOperator::LeftOuter(c) if on_true(c) => true,
            _ => return,
        };
        if let Some((derived, on)) = decorrelate(&join.relation, &outer) {
            join.relation = derived;
            let constraint = JoinConstraint::On(on);
            join.join_operator = if left {
                JoinOperator::LeftOuter(constraint)
            } else {
                JoinOperator::Inner(constraint)
            };
        }
    }
}

/// A scalar subquery in a select list that picks one row per outer row through equalities,
/// `(SELECT t.x FROM t WHERE t.k = s.k ORDER BY … LIMIT 1)` ("the first stage of this API"),
/// is the same LEFT JOIN of numbered rows as a LATERAL subquery (see [`lateral_top_n`]), read
/// as a column of it: NULL where no row matches, as the subquery is. Only LIMIT 1 (which
/// PostgreSQL's at-most-one-row rule cannot then fail), in an ungrouped select over one FROM
/// item; everything else is left to the scalar-subquery rule.
pub(super) fn scalar_top_one(statement: &mut Statement, _: &Context) {
    struct Queries(usize);
    impl datafusion::sql::sqlparser::ast::VisitorMut for Queries {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_mut() {
                top_one_items(select, &mut self.0);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Queries(0));
}

fn top_one_items(select: &mut datafusion::sql::sqlparser::ast::Select, counter: &mut usize) {
    use datafusion::sql::sqlparser::ast::{Join, JoinConstraint, JoinOperator, LimitClause};
    let grouped = !matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
        || select.having.is_some();
    let aggregated = select.projection.iter().any(|i| match i {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            aggregates_or_windows(e)
        }
        _ => false,
    });
    // `*` would show the joined rows' columns too.
    let star = select.projection.iter().any(|i| {
        matches!(
            i,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    if grouped || aggregated || star || select.from.len() != 1 {
        return;
    }
    let first = &select.from[0];
    let mut outer = inner_names(std::slice::from_ref(first));
    for j in &first.joins {
        outer.extend(inner_names(&[TableWithJoins {
            relation: j.relation.clone(),
            joins: Vec::new(),
        }]));
    }
    let mut joins = Vec::new();
    for item in &mut select.projection {
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
            continue;
        };
        let Expr::Subquery(q) = e else {
            continue;
        };
        let one = matches!(
            &q.limit_clause,
            Some(LimitClause::LimitOffset {
                limit: Some(Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. })),
                offset: None,
                ..
            }) if n == "1"
        );
        if !one {
            continue;
        }
        let mut sub = q.as_ref().clone();
        let SetExpr::Select(inner) = sub.body.as_mut() else {
            continue;
        };
        let [SelectItem::UnnamedExpr(v) | SelectItem::ExprWithAlias { expr: v, .. }] =
            inner.projection.as_slice()
        else {
            continue;
        };
        inner.projection = vec![SelectItem::ExprWithAlias {
            expr: v.clone(),
            alias: Ident::new("__pg_v"),
        }];
        let name = Ident::new(format!("__pg_row_{}", *counter));
        let factor = TableFactor::Derived {
            lateral: true,
            subquery: Box::new(sub),
            alias: Some(datafusion::sql::sqlparser::ast::TableAlias {
                explicit: true,
                name: name.clone(),
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        };
        let Some((derived, on)) = decorrelate(&factor, &outer) else {
            continue;
        };
        *counter += 1;
        *e = Expr::CompoundIdentifier(vec![name, Ident::new("__pg_v")]);
        joins.push(Join {
            relation: derived,
            global: false,
            join_operator: JoinOperator::LeftOuter(JoinConstraint::On(on)),
        });
    }
    select.from[0].joins.extend(joins);
}

/// The derived table and the join condition for a LATERAL subquery over `outer`'s names.
fn decorrelate(factor: &TableFactor, outer: &HashSet<String>) -> Option<(TableFactor, Expr)> {
    use datafusion::sql::sqlparser::ast::{LimitClause, OrderByKind};
    let TableFactor::Derived {
        lateral: true,
        subquery,
        alias: Some(alias),
        ..
    } = factor
    else {
        return None;
    };
    let SetExpr::Select(select) = subquery.body.as_ref() else {
        return None;
    };
    if subquery.with.is_some()
        || subquery.fetch.is_some()
        || select.distinct.is_some()
        || select.having.is_some()
        || !matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
    {
        return None;
    }
    let limit = match &subquery.limit_clause {
        None => None,
        Some(LimitClause::LimitOffset {
            limit:
                Some(Expr::Value(ValueWithSpan {
                    value: Value::Number(n, _),
                    ..
                })),
            offset: None,
            limit_by,
        }) if limit_by.is_empty() => Some(n.parse::<u64>().ok()?),
        Some(_) => return None,
    };
    let inner = inner_names(&select.from);
    let reads_outer = |e: &Expr| refs(e, &inner).1 && mentions(e, outer);
    // Items: inner expressions only, no aggregates or windows.
    let mut items = Vec::with_capacity(select.projection.len());
    for item in &select.projection {
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
            return None;
        };
        if reads_outer(e) || aggregates_or_windows(e) {
            return None;
        }
        items.push(item.clone());
    }
    // Conditions: inner ones stay; `inner = outer` become the join keys.
    let (keep, keys) = join_keys(select.selection.clone(), &inner, outer)?;
    let order: Vec<_> = match &subquery.order_by {
        None => Vec::new(),
        Some(o) => match &o.kind {
            OrderByKind::Expressions(exprs) => exprs.clone(),
            OrderByKind::All(_) => return None,
        },
    };
    if order.iter().any(|o| reads_outer(&o.expr)) || keys.is_empty() {
        return None;
    }
    let name = &alias.name;
    let mut on = Vec::new();
    for (i, (inner_key, outer_key)) in keys.iter().enumerate() {
        let column = format!("__pg_lateral_k{i}");
        items.push(SelectItem::ExprWithAlias {
            expr: inner_key.clone(),
            alias: Ident::new(column.clone()),
        });
        on.push(Expr::BinaryOp {
            left: Box::new(Expr::CompoundIdentifier(vec![
                name.clone(),
                Ident::new(column),
            ])),
            op: BinaryOperator::Eq,
            right: Box::new(outer_key.clone()),
        });
    }
    if let Some(n) = limit {
        let (item, condition) = first_rows_per_key(&keys, &order, n, name)?;
        items.push(item);
        on.push(condition);
    }
    let mut body = subquery.as_ref().clone();
    body.order_by = None;
    body.limit_clause = None;
    if let SetExpr::Select(s) = body.body.as_mut() {
        s.projection = items;
        s.selection = and_all(keep);
    }
    let derived = TableFactor::Derived {
        lateral: false,
        subquery: Box::new(body),
        alias: Some(alias.clone()),
        sample: None,
    };
    Some((derived, and_all(on)?))
}

/// A join key: the subquery's side, and the outer query's side.
type JoinKey = (Expr, Expr);

/// The subquery's conditions split: those reading only its own relations stay (`keep`); each
/// `inner = outer` becomes a join key (inner side, outer side). `None` when another condition
/// reads the outer query.
fn join_keys(
    selection: Option<Expr>,
    inner: &HashSet<String>,
    outer: &HashSet<String>,
) -> Option<(Vec<Expr>, Vec<JoinKey>)> {
    let reads_outer = |e: &Expr| refs(e, inner).1 && mentions(e, outer);
    let mut keep = Vec::new();
    let mut keys: Vec<JoinKey> = Vec::new();
    for c in selection.map(conjuncts).unwrap_or_default() {
        if !reads_outer(&c) {
            keep.push(c);
            continue;
        }
        let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = &c
        else {
            return None;
        };
        let pure_outer = |e: &Expr| !refs(e, inner).0 && mentions(e, outer);
        let pure_inner = |e: &Expr| !reads_outer(e);
        if pure_inner(left) && pure_outer(right) {
            keys.push((*left.clone(), *right.clone()));
        } else if pure_outer(left) && pure_inner(right) {
            keys.push((*right.clone(), *left.clone()));
        } else {
            return None;
        }
    }
    Some((keep, keys))
}

/// `LIMIT n` per outer row: a `row_number()` over each key's rows (in the subquery's order) as
/// a select item, and the join condition keeping the first `n`.
fn first_rows_per_key(
    keys: &[(Expr, Expr)],
    order: &[datafusion::sql::sqlparser::ast::OrderByExpr],
    n: u64,
    name: &Ident,
) -> Option<(SelectItem, Expr)> {
    let partition = keys
        .iter()
        .map(|(k, _)| k.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let order_text = order
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let window = if order_text.is_empty() {
        format!("row_number() OVER (PARTITION BY {partition})")
    } else {
        format!("row_number() OVER (PARTITION BY {partition} ORDER BY {order_text})")
    };
    let numbered = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql(&window)
    .and_then(|mut p| p.parse_expr())
    .ok()?;
    let item = SelectItem::ExprWithAlias {
        expr: numbered,
        alias: Ident::new("__pg_lateral_n"),
    };
    let condition = Expr::BinaryOp {
        left: Box::new(Expr::CompoundIdentifier(vec![
            name.clone(),
            Ident::new("__pg_lateral_n"),
        ])),
        op: BinaryOperator::LtEq,
        right: Box::new(Expr::value(Value::Number(n.to_string(), false))),
    };
    Some((item, condition))
}

/// Whether `e` names a column qualified by one of `names`.
fn mentions(e: &Expr, names: &HashSet<String>) -> bool {
    let mut found = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(e, |x: &Expr| {
        if let Expr::CompoundIdentifier(ids) = x
            && ids.len() >= 2
            && names.contains(&ids[ids.len() - 2].value.to_ascii_lowercase())
        {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

fn aggregates_or_windows(e: &Expr) -> bool {
    let mut found = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(e, |x: &Expr| {
        if let Expr::Function(f) = x
            && (f.over.is_some()
                || super::subquery::AGGREGATES
                    .contains(&f.name.to_string().to_ascii_lowercase().as_str()))
        {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn scalar_top_one_is_a_left_join() {
        assert_eq!(
            applied(
                scalar_top_one,
                "SELECT s.a, (SELECT t.b FROM t WHERE t.k = s.k ORDER BY t.b LIMIT 1) AS first FROM s"
            ),
            "SELECT s.a, __pg_row_0.__pg_v AS first FROM s LEFT OUTER JOIN (SELECT t.b AS __pg_v, t.k AS __pg_lateral_k0, row_number() OVER (PARTITION BY t.k ORDER BY t.b) AS __pg_lateral_n FROM t) AS __pg_row_0 ON __pg_row_0.__pg_lateral_k0 = s.k AND __pg_row_0.__pg_lateral_n <= 1"
        );
        // Without LIMIT 1 several rows would be an error in PostgreSQL: as written.
        let many = "SELECT s.a, (SELECT t.b FROM t WHERE t.k = s.k ORDER BY t.b) FROM s";
        assert_eq!(applied(scalar_top_one, many), many);
        let star = "SELECT *, (SELECT t.b FROM t WHERE t.k = s.k LIMIT 1) FROM s";
        assert_eq!(applied(scalar_top_one, star), star);
    }

    #[test]
    fn lateral_top_n_is_a_numbered_join() {
        assert_eq!(
            applied(
                lateral_top_n,
                "SELECT s.a, l.b FROM s CROSS JOIN LATERAL (SELECT t.b FROM t WHERE t.k = s.k AND t.c ORDER BY t.b DESC LIMIT 2) l"
            ),
            "SELECT s.a, l.b FROM s INNER JOIN (SELECT t.b, t.k AS __pg_lateral_k0, row_number() OVER (PARTITION BY t.k ORDER BY t.b DESC) AS __pg_lateral_n FROM t WHERE t.c) l ON l.__pg_lateral_k0 = s.k AND l.__pg_lateral_n <= 2"
        );
        assert_eq!(
            applied(
                lateral_top_n,
                "SELECT s.a, l.b FROM s LEFT JOIN LATERAL (SELECT t.b FROM t WHERE s.k = t.k) l ON true"
            ),
            "SELECT s.a, l.b FROM s LEFT OUTER JOIN (SELECT t.b, t.k AS __pg_lateral_k0 FROM t) l ON l.__pg_lateral_k0 = s.k"
        );
        // A non-equality with the outer row, an aggregate, OFFSET, or `*`: as written.
        for sql in [
            "SELECT s.a, l.b FROM s CROSS JOIN LATERAL (SELECT t.b FROM t WHERE t.k > s.k LIMIT 1) l",
            "SELECT s.a, l.n FROM s, LATERAL (SELECT count(*) AS n FROM t WHERE t.k = s.k) l",
            "SELECT s.a, l.b FROM s CROSS JOIN LATERAL (SELECT t.b FROM t WHERE t.k = s.k LIMIT 1 OFFSET 1) l",
            "SELECT * FROM s CROSS JOIN LATERAL (SELECT t.b FROM t WHERE t.k = s.k LIMIT 1) l",
        ] {
            assert_eq!(applied(lateral_top_n, sql), sql);
        }
    }
}
