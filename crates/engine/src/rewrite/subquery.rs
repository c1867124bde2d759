//! Subquery rewrites DataFusion needs to decorrelate what PostgreSQL accepts.

#[allow(unused_imports)]
use super::*;
use crate::functions::aggregates::SCALAR_SUBQUERY;

/// `ARRAY(SELECT x FROM unnest(arr) x)` and `ARRAY(SELECT 'p' || x FROM unnest(arr) x)`
/// (psql's `\d+` reloptions) without a correlated subquery: the array itself, or each
/// element prefixed.
pub(super) fn array_of_unnest(f: &Function) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::TableFactor;
    let FunctionArguments::Subquery(query) = &f.args else {
        return None;
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    if select.selection.is_some() || query.order_by.is_some() || select.from.len() != 1 {
        return None;
    }
    let from = &select.from[0];
    if !from.joins.is_empty() {
        return None;
    }
    let (array, alias) = match &from.relation {
        TableFactor::Table {
            name,
            alias: Some(alias),
            args: Some(args),
            ..
        } if name
            .0
            .last()
            .is_some_and(|p| p.to_string().eq_ignore_ascii_case("unnest")) =>
        {
            match args.args.as_slice() {
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => {
                    (e.clone(), alias.name.value.clone())
                }
                _ => return None,
            }
        }
        TableFactor::UNNEST {
            alias: Some(alias),
            array_exprs,
            with_ordinality: false,
            ..
        } if array_exprs.len() == 1 => (array_exprs[0].clone(), alias.name.value.clone()),
        _ => return None,
    };
    let [SelectItem::UnnamedExpr(item)] = select.projection.as_slice() else {
        return None;
    };
    let is_alias = |e: &Expr| matches!(e, Expr::Identifier(id) if id.value == alias);
    if is_alias(item) {
        return Some(array);
    }
    if let Expr::BinaryOp {
        left,
        op: BinaryOperator::StringConcat,
        right,
    } = item
        && is_alias(right)
    {
        let mut prefix = call("__pg_prefix_elements", *left.clone());
        if let Expr::Function(pf) = &mut prefix
            && let FunctionArguments::List(list) = &mut pf.args
        {
            list.args
                .push(FunctionArg::Unnamed(FunctionArgExpr::Expr(array)));
        }
        return Some(prefix);
    }
    None
}

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
    "stddev",
    "variance",
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
pub(super) fn scalar_subquery(query: &mut Query) {
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
    matches!(expr, Expr::Function(f) if f.over.is_none()
        && AGGREGATES.contains(&f.name.to_string().to_ascii_lowercase().as_str()))
}

/// DataFusion cannot decorrelate a scalar subquery whose WHERE tests outer columns other than
/// by `inner = outer`. psql's `\d` has two: `AND a.atthasdef` (outer only) and
/// `AND a.attcollation <> t.typcollation` (inner against outer). Such conditions move out into
/// `CASE WHEN cond THEN (subquery) END`, an inner side becoming its own lookup subquery. For
/// the lookups these are (at most one row), the result is the same.
pub(super) fn lift_outer_conditions(query: &mut Query) -> Option<Expr> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let inner = inner_names(&select.from);
    let selection = select.selection.take()?;
    let mut keep = Vec::new();
    let mut outer_only = Vec::new();
    let mut mixed = Vec::new();
    for c in conjuncts(selection) {
        match refs(&c, &inner) {
            (_, false) => keep.push(c),
            (false, true) => outer_only.push(c),
            (true, true) => match c {
                Expr::BinaryOp { left, op, right } if op != BinaryOperator::Eq => {
                    match (refs(&left, &inner), refs(&right, &inner)) {
                        ((true, false), (false, true)) | ((false, true), (true, false)) => {
                            mixed.push((*left, op, *right));
                        }
                        _ => keep.push(Expr::BinaryOp { left, op, right }),
                    }
                }
                other => keep.push(other),
            },
        }
    }
    select.selection = and_all(keep);
    if outer_only.is_empty() && mixed.is_empty() {
        return None;
    }
    let mut conditions = outer_only;
    for (left, op, right) in mixed {
        let lookup = |side: Expr| -> Expr {
            let mut q = query.clone();
            if let SetExpr::Select(sel) = q.body.as_mut() {
                sel.projection = vec![SelectItem::UnnamedExpr(call(SCALAR_SUBQUERY, side))];
            }
            Expr::Subquery(Box::new(q))
        };
        let (left, right) = if refs(&left, &inner).0 {
            (lookup(left), right)
        } else {
            (left, lookup(right))
        };
        conditions.push(Expr::BinaryOp {
            left: Box::new(left),
            op,
            right: Box::new(right),
        });
    }
    let condition = and_all(conditions)?;
    let mut case = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql("CASE WHEN TRUE THEN NULL END")
    .and_then(|mut p| p.parse_expr())
    .ok()?;
    if let Expr::Case { conditions, .. } = &mut case
        && let Some(when) = conditions.first_mut()
    {
        when.condition = condition;
        when.result = Expr::Subquery(Box::new(query.clone()));
    }
    Some(case)
}

/// The names (aliases, else table names) the subquery's FROM introduces.
pub(super) fn inner_names(
    from: &[datafusion::sql::sqlparser::ast::TableWithJoins],
) -> HashSet<String> {
    use datafusion::sql::sqlparser::ast::TableFactor;
    let mut out = HashSet::new();
    let mut add = |t: &TableFactor| match t {
        TableFactor::Table { name, alias, .. } => {
            out.insert(match alias {
                Some(a) => a.name.value.to_ascii_lowercase(),
                None => name
                    .0
                    .last()
                    .map(|p| p.to_string().to_ascii_lowercase())
                    .unwrap_or_default(),
            });
        }
        TableFactor::Derived { alias: Some(a), .. }
        | TableFactor::Function { alias: Some(a), .. }
        | TableFactor::UNNEST { alias: Some(a), .. } => {
            out.insert(a.name.value.to_ascii_lowercase());
        }
        _ => {}
    };
    for t in from {
        add(&t.relation);
        for j in &t.joins {
            add(&j.relation);
        }
    }
    out
}

/// Whether `expr` refers to (inner, outer) columns: `x.col` is inner when `x` is an inner
/// name; an unqualified column counts as inner, as PostgreSQL resolves it there first.
pub(super) fn refs(expr: &Expr, inner: &HashSet<String>) -> (bool, bool) {
    let (mut i, mut o) = (false, false);
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(expr, |e: &Expr| {
        match e {
            Expr::Identifier(_) => i = true,
            Expr::CompoundIdentifier(ids) if ids.len() >= 2 => {
                let q = ids[ids.len() - 2].value.to_ascii_lowercase();
                if inner.contains(&q) {
                    i = true;
                } else {
                    o = true;
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    (i, o)
}

pub(super) fn conjuncts(expr: Expr) -> Vec<Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut out = conjuncts(*left);
            out.extend(conjuncts(*right));
            out
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(*inner)
        }
        other => vec![other],
    }
}

pub(super) fn and_all(exprs: Vec<Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    })
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
