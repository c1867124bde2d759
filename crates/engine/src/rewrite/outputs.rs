//! Output-column rewrites on the outermost selects: reg* names, int4 literals, unique names.

#[allow(unused_imports)]
use super::*;

/// Output-column fixes on the outermost selects: a bare `x::regclass` output shows the name,
/// integer literals are `integer`, and names that would collide get internal aliases
/// (DataFusion requires unique names; `SELECT c.oid, c.* …` from pgAdmin, `SELECT 1, 1`); the
/// client still sees PostgreSQL's names (see `naming`).
pub(super) fn outputs(statement: &mut Statement, _: &Context) {
    let Statement::Query(query) = statement else {
        return;
    };
    fn walk(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                for item in &mut select.projection {
                    // A bare `x::regclass` output shows the name, as PostgreSQL prints it.
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                        && let Expr::Function(f) = e
                        && let Some(kind) = super::reg::reg_in_function(f)
                        && let Some(arg) = single_arg(f)
                    {
                        *e = call(kind.function_names().1, arg);
                    }
                }
                for item in &mut select.projection {
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                    {
                        int4_literals(e);
                    }
                }
                unique_names(&mut select.projection);
            }
            SetExpr::SetOperation { left, right, .. } => {
                walk(left);
                walk(right);
            }
            SetExpr::Query(q) => walk(&mut q.body),
            _ => {}
        }
    }
    walk(&mut query.body);
}

/// Unaliased items of every inner select (a CTE, a derived table, a subquery) get PostgreSQL's
/// column names, which an outer query refers to: `SELECT count FROM (SELECT count(*) FROM t) s`,
/// pgcli's `WITH Words AS (SELECT …, COUNT(1) …) SELECT … ORDER BY Count`. DataFusion would name
/// them after their text (`count(Int64(1))`). The outermost select is named by `naming` when
/// it is described. An item is left alone when its name is `?column?`, already its own (a
/// column), or shared with another item of the same list.
pub(super) fn inner_names(statement: &mut Statement, _: &Context) {
    struct V {
        depth: usize,
    }
    impl VisitorMut for V {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if self.depth > 0 {
                name_items(&mut query.body);
            }
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
    }
    fn name_items(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                let every = 0..select.projection.len();
                name_unaliased(&mut select.projection, every, false);
            }
            SetExpr::SetOperation { left, right, .. } => {
                name_items(left);
                name_items(right);
            }
            SetExpr::Query(q) => name_items(&mut q.body),
            _ => {}
        }
    }
    let _ = statement.visit(&mut V { depth: 0 });
}

/// Gives the items at `positions` (0-based) of a select list, when unaliased expressions (not
/// columns), their PostgreSQL output names as aliases; not an item whose name another item
/// has too, nor (unless `unknown_too`) one named `?column?`.
pub(super) fn name_unaliased(
    projection: &mut [SelectItem],
    positions: impl IntoIterator<Item = usize>,
    unknown_too: bool,
) {
    let names: Vec<Option<String>> = projection
        .iter()
        .map(|i| match i {
            SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_lowercase()),
            _ => None,
        })
        .collect();
    for i in positions {
        let Some(SelectItem::UnnamedExpr(e)) = projection.get_mut(i) else {
            continue;
        };
        if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            continue;
        }
        let Some(name) = names[i].clone() else {
            continue;
        };
        let shared = names.iter().filter(|n| n.as_deref() == Some(&name)).count() > 1;
        if shared || (name == "?column?" && !unknown_too) {
            continue;
        }
        let expr = std::mem::replace(e, Expr::value(Value::Null));
        projection[i] = SelectItem::ExprWithAlias {
            expr,
            alias: Ident::with_quote('"', name),
        };
    }
}

/// PostgreSQL types an integer literal that fits in 32 bits as `integer`; DataFusion makes
/// every one a bigint. In an output column (`SELECT 1`, `SELECT $1::int + 1`) the type shows:
/// drivers decode int8 differently (node-postgres returns it as a string), so literals there,
/// and in arithmetic there, are cast to integer. Literals elsewhere (LIMIT, function
/// arguments, comparisons) keep DataFusion's type, which compares and computes the same.
pub(super) fn int4_literals(e: &mut Expr) {
    match e {
        Expr::Value(ValueWithSpan {
            value: Value::Number(n, false),
            ..
        }) if n.parse::<i32>().is_ok() => {
            let lit = std::mem::replace(e, Expr::value(Value::Null));
            *e = Expr::Cast {
                kind: datafusion::sql::sqlparser::ast::CastKind::Cast,
                expr: Box::new(lit),
                data_type: DataType::Integer(None),
                array: false,
                format: None,
            };
        }
        Expr::Nested(inner) => int4_literals(inner),
        Expr::Case {
            conditions,
            else_result,
            ..
        } => {
            for when in conditions {
                int4_literals(&mut when.result);
            }
            if let Some(e) = else_result {
                int4_literals(e);
            }
        }
        Expr::UnaryOp { expr: inner, .. } => int4_literals(inner),
        Expr::BinaryOp {
            left,
            op:
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo,
            right,
        } => {
            int4_literals(left);
            int4_literals(right);
        }
        _ => {}
    }
}

pub(super) fn unique_names(items: &mut [SelectItem]) {
    let has_wildcard = items.iter().any(|i| {
        matches!(
            i,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    let name_of = |i: &SelectItem| match i {
        SelectItem::UnnamedExpr(e) => Some(expr_name(e).to_ascii_lowercase()),
        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_ascii_lowercase()),
        _ => None,
    };
    let mut counts = std::collections::HashMap::new();
    for name in items.iter().filter_map(name_of) {
        *counts.entry(name).or_insert(0usize) += 1;
    }
    let mut seen = HashSet::new();
    for (i, item) in items.iter_mut().enumerate() {
        let Some(name) = name_of(item) else {
            continue;
        };
        let duplicated = counts.get(&name).copied().unwrap_or(0) > 1;
        let first = seen.insert(name.clone());
        let taken = std::mem::replace(item, SelectItem::Wildcard(Default::default()));
        *item = match taken {
            // An unaliased expression may collide with a wildcard's columns or another
            // unaliased expression; DataFusion's name for it is not PostgreSQL's anyway.
            SelectItem::UnnamedExpr(expr) if has_wildcard || duplicated => {
                SelectItem::ExprWithAlias {
                    expr,
                    alias: Ident::new(format!("__stagesql_column_{i}")),
                }
            }
            // The first of several equal aliases keeps its name, so ORDER BY can use it.
            SelectItem::ExprWithAlias { expr, alias } if duplicated && !first => {
                SelectItem::ExprWithAlias {
                    expr,
                    alias: Ident::new(format!("__stagesql_column_{i}_{}", alias.value)),
                }
            }
            other => other,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn inner_selects_name_their_items_as_postgres_does() {
        assert_eq!(
            applied(
                inner_names,
                "WITH w AS (SELECT x, COUNT(1), t.y::text FROM t) SELECT count(*), Count FROM (SELECT max(a), max(b), sum(c) AS s FROM u) m, w"
            ),
            "WITH w AS (SELECT x, COUNT(1) AS \"count\", t.y::TEXT AS \"y\" FROM t) SELECT count(*), Count FROM (SELECT max(a), max(b), sum(c) AS s FROM u) m, w"
        );
    }
}
