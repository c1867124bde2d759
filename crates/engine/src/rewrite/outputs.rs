//! Output-column rewrites: reg* names and unique names on the outermost selects, integer
//! literals typed `integer` in every column a select list or VALUES row defines.

#[allow(unused_imports)]
use super::*;

/// Output-column fixes on the outermost selects: a bare `x::regclass` output shows the name,
/// and names that would collide get internal aliases
/// (DataFusion requires unique names; `SELECT c.oid, c.* …` from pgAdmin, `SELECT 1, 1`); the
/// client still sees PostgreSQL's names (see `naming`).
pub(super) fn outputs(statement: &mut Statement, _: &Context) {
    let Statement::Query(query) = statement else {
        return;
    };
    each_projection(&mut query.body, &mut |projection| {
        for item in projection.iter_mut() {
            // A bare `x::regclass` output shows the name, as PostgreSQL prints it.
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                && let Expr::Function(f) = e
                && let Some(kind) = super::reg::reg_in_function(f)
                && let Some(arg) = single_arg(f)
            {
                *e = call(kind.function_names().1, arg);
            }
        }
        unique_names(projection);
    });
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
        each_projection(body, &mut |items| {
            let every = 0..items.len();
            name_unaliased(items, every, false);
        });
    }
    let _ = statement.visit(&mut V { depth: 0 });
    let _ = statement.visit(&mut Relations);
}

/// The select lists whose names an outer query sees as a relation's columns (a derived table's,
/// a CTE's) get the rest of PostgreSQL's names: `?column?`, and the names several items share
/// (see [`inner_select_names`]). A subquery used as a value (`ARRAY(SELECT …)`, `(SELECT …)`,
/// `IN (SELECT …)`) names nothing an outer query refers to, and is left to the rules that
/// rewrite such forms.
struct Relations;

impl VisitorMut for Relations {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived { subquery, .. } = factor {
            relation_names(&mut subquery.body);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(with) = &mut query.with {
            for cte in &mut with.cte_tables {
                relation_names(&mut cte.query.body);
            }
        }
        ControlFlow::Continue(())
    }
}

/// Calls `f` with each select list of `body` (both sides of a set operation, a parenthesized
/// query's).
fn each_projection(body: &mut SetExpr, f: &mut impl FnMut(&mut Vec<SelectItem>)) {
    match body {
        SetExpr::Select(select) => f(&mut select.projection),
        SetExpr::SetOperation { left, right, .. } => {
            each_projection(left, f);
            each_projection(right, f);
        }
        SetExpr::Query(q) => each_projection(&mut q.body, f),
        _ => {}
    }
}

/// Whether a select list has a `*` or `t.*`.
fn has_wildcard(items: &[SelectItem]) -> bool {
    items.iter().any(|i| {
        matches!(
            i,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    })
}

fn relation_names(body: &mut SetExpr) {
    each_projection(body, &mut |items| inner_select_names(items));
}

/// Names the items of a derived table's or CTE's select list as PostgreSQL does. An item
/// whose name no other item has is aliased with it (`?column?` included: `SELECT s.* FROM
/// (SELECT 1) s` is named `?column?`, not DataFusion's `Int64(1)`). Items sharing a name
/// (`SELECT 1, 1`, `count(*), count(*) FILTER (…)`, `a AS x, b AS x`) get internal aliases
/// that keep the name for the client (`naming::same_name_alias`); PostgreSQL allows such a
/// list, and a reference to the shared name is ambiguous (42702), as it is here. A list with a
/// wildcard is named as before: which names its columns have is not known here.
fn inner_select_names(projection: &mut [SelectItem]) {
    if has_wildcard(projection) {
        let every = 0..projection.len();
        name_unaliased(projection, every, false);
        return;
    }
    let names: Vec<Option<String>> = projection
        .iter()
        .map(|i| match i {
            SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(crate::naming::ident(alias)),
            _ => None,
        })
        .collect();
    let mut counts = std::collections::HashMap::new();
    for name in names.iter().flatten() {
        *counts.entry(name.clone()).or_insert(0usize) += 1;
    }
    for (i, item) in projection.iter_mut().enumerate() {
        let Some(name) = names[i].clone() else {
            continue;
        };
        let shared = counts.get(&name).copied().unwrap_or(0) > 1;
        let taken = std::mem::replace(item, SelectItem::Wildcard(Default::default()));
        *item = match taken {
            SelectItem::UnnamedExpr(expr) if shared => SelectItem::ExprWithAlias {
                expr,
                alias: Ident::with_quote('"', crate::naming::same_name_alias(&name, i)),
            },
            // A column keeps DataFusion's own name for it, which is PostgreSQL's.
            SelectItem::UnnamedExpr(expr @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_))) => {
                SelectItem::UnnamedExpr(expr)
            }
            SelectItem::UnnamedExpr(expr) => SelectItem::ExprWithAlias {
                expr,
                alias: Ident::with_quote('"', name),
            },
            SelectItem::ExprWithAlias { expr, .. } if shared => SelectItem::ExprWithAlias {
                expr,
                alias: Ident::with_quote('"', crate::naming::same_name_alias(&name, i)),
            },
            other => other,
        };
    }
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

/// Integer literals in the columns a query defines are `integer`, at every depth: the items of
/// each select list (the outermost, a derived table's, a CTE's, a subquery's) and the values
/// of each VALUES row. PostgreSQL types an integer literal that fits in 32 bits as `integer`;
/// DataFusion makes every one a bigint, and the type shows: in the described column (drivers
/// decode int8 differently; node-postgres returns it as a string), through a derived table or
/// CTE (`SELECT x FROM (VALUES (1)) t(x)`), in a recursive CTE's column, and in overflow
/// (`integer` arithmetic past 2^31 fails with 22003, as in PostgreSQL). A column's type is
/// then resolved across rows and set branches as PostgreSQL's is: `integer` with a bigint
/// literal (`VALUES (1), (3000000000)`) is bigint. Literals elsewhere (LIMIT, function
/// arguments, comparisons, positional ORDER BY / GROUP BY) keep DataFusion's type, which
/// compares and computes the same.
pub(super) fn int4_columns(statement: &mut Statement, _: &Context) {
    struct V;
    impl VisitorMut for V {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            fn walk(body: &mut SetExpr) {
                match body {
                    SetExpr::Select(select) => {
                        for item in &mut select.projection {
                            if let SelectItem::UnnamedExpr(e)
                            | SelectItem::ExprWithAlias { expr: e, .. } = item
                            {
                                int4_literals(e);
                            }
                        }
                    }
                    SetExpr::Values(values) => {
                        for e in values.rows.iter_mut().flat_map(|row| &mut row.content) {
                            int4_literals(e);
                        }
                    }
                    SetExpr::SetOperation { left, right, .. } => {
                        walk(left);
                        walk(right);
                    }
                    // A parenthesized query is a `Query` of its own: the visitor reaches it.
                    _ => {}
                }
            }
            walk(&mut query.body);
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut V);
}

/// Casts the integer literals of one column-defining expression to `integer` where they fit
/// (see [`int4_columns`]): the literal itself, and through parentheses, CASE results, signs
/// and arithmetic, whose result is then `integer` as in PostgreSQL.
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

/// Calls in one select list that differ only in casts (`sum(x::bigint), sum(x::numeric)`,
/// `min(d::date), min(d)`): DataFusion names a cast after its operand, so both calls would
/// have one name, which an aggregate or window node cannot hold twice. The arguments of each
/// such call after the first are written `CASE WHEN true THEN arg END`: the same values, a
/// name of their own.
pub(super) fn cast_named_calls(statement: &mut Statement, _: &Context) {
    struct V;
    impl VisitorMut for V {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            each_projection(&mut query.body, &mut |items| distinct_call_names(items));
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut V);
}

fn distinct_call_names(projection: &mut [SelectItem]) {
    fn without_casts(e: &Expr) -> String {
        let mut e = e.clone();
        let _ = visit_expressions_mut(&mut e, |e| {
            if let Expr::Cast { expr, .. } = e {
                let inner = std::mem::replace(expr.as_mut(), Expr::value(Value::Null));
                *e = inner;
            }
            ControlFlow::<()>::Continue(())
        });
        e.to_string()
    }
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for item in projection.iter_mut() {
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
            continue;
        };
        let _ = visit_expressions_mut(e, |e| {
            let Expr::Function(f) = e else {
                return ControlFlow::<()>::Continue(());
            };
            let written = f.to_string();
            let key = without_casts(&Expr::Function(f.clone()));
            match seen.get(&key) {
                Some(first) if *first != written => {
                    if let FunctionArguments::List(list) = &mut f.args {
                        for arg in &mut list.args {
                            if let FunctionArg::Unnamed(FunctionArgExpr::Expr(a)) = arg {
                                let value = std::mem::replace(a, Expr::value(Value::Null));
                                *a = Expr::Case {
                                    case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                                    end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                                    operand: None,
                                    conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen {
                                        condition: Expr::value(Value::Boolean(true)),
                                        result: value,
                                    }],
                                    else_result: None,
                                };
                            }
                        }
                    }
                }
                Some(_) => {}
                None => {
                    seen.insert(key, written);
                }
            }
            ControlFlow::Continue(())
        });
    }
}

/// The expression under any casts and parentheses of `e`: what DataFusion names it after.
fn cast_operand(e: &Expr) -> &Expr {
    match e {
        Expr::Cast { expr, .. } | Expr::Nested(expr) => cast_operand(expr),
        other => other,
    }
}

pub(super) fn unique_names(items: &mut [SelectItem]) {
    let has_wildcard = has_wildcard(items);
    let name_of = |i: &SelectItem| match i {
        SelectItem::UnnamedExpr(e) => Some(expr_name(e).to_ascii_lowercase()),
        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_ascii_lowercase()),
        _ => None,
    };
    let mut counts = std::collections::HashMap::new();
    for name in items.iter().filter_map(name_of) {
        *counts.entry(name).or_insert(0usize) += 1;
    }
    // DataFusion names a cast after its operand, so `0.1::float4, 0.1::float4::float8` (or
    // `1::int2, 1::int8`) are one name to it though PostgreSQL names them apart: each item
    // after the first of such a group gets an internal alias too.
    let mut operands = HashSet::new();
    let same_operand: Vec<bool> = items
        .iter()
        .map(|i| match i {
            SelectItem::UnnamedExpr(e) => !operands.insert(cast_operand(e).to_string()),
            _ => false,
        })
        .collect();
    let mut seen = HashSet::new();
    for (i, item) in items.iter_mut().enumerate() {
        let Some(name) = name_of(item) else {
            continue;
        };
        let duplicated = counts.get(&name).copied().unwrap_or(0) > 1 || same_operand[i];
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
            "WITH w AS (SELECT x, COUNT(1) AS \"count\", t.y::TEXT AS \"y\" FROM t) SELECT count(*), Count FROM (SELECT max(a) AS \"max__stagesql_same_name_0\", max(b) AS \"max__stagesql_same_name_1\", sum(c) AS s FROM u) m, w"
        );
    }

    #[test]
    fn inner_items_sharing_a_name_get_internal_aliases_and_unknown_ones_their_name() {
        assert_eq!(
            applied(
                inner_names,
                "SELECT * FROM (SELECT 1, 2 AS x, 3 AS X, a.n, b.n, c, 'k'::text FROM t) s, (SELECT 1) u, (SELECT *, 1, 2 FROM t) v"
            ),
            "SELECT * FROM (SELECT 1 AS \"?column?\", 2 AS \"x__stagesql_same_name_1\", 3 AS \"x__stagesql_same_name_2\", a.n AS \"n__stagesql_same_name_3\", b.n AS \"n__stagesql_same_name_4\", c, 'k'::TEXT AS \"text\" FROM t) s, (SELECT 1 AS \"?column?\") u, (SELECT *, 1, 2 FROM t) v"
        );
        assert_eq!(crate::naming::client_name("x__stagesql_same_name_12"), "x");
        assert_eq!(crate::naming::client_name("x"), "x");
        assert!(crate::naming::is_same_name_alias_of(
            "?column?__stagesql_same_name_0",
            "?column?"
        ));
        assert!(!crate::naming::is_same_name_alias_of(
            "xy__stagesql_same_name_0",
            "x"
        ));
    }

    #[test]
    fn calls_differing_only_in_casts_get_arguments_of_their_own_name() {
        assert_eq!(
            applied(
                cast_named_calls,
                "SELECT sum(x::bigint), sum(x::numeric), sum(x::bigint), count(*), min(d::date) AS a, min(d) FROM t"
            ),
            "SELECT sum(x::BIGINT), sum(CASE WHEN true THEN x::NUMERIC END), sum(x::BIGINT), count(*), min(d::DATE) AS a, min(CASE WHEN true THEN d END) FROM t"
        );
    }

    #[test]
    fn integer_literals_are_integer_in_every_column_a_query_defines() {
        let cast = |n: &str| format!("CAST({n} AS INTEGER)");
        assert_eq!(
            applied(
                int4_columns,
                "WITH c AS (SELECT 1 AS a, -2, (3 * x)) SELECT * FROM (VALUES (4, 'a'), (3000000000, 'b')) v(n, s), c WHERE n > 5 UNION SELECT 6, 7, CASE WHEN true THEN 8 END, f(9) ORDER BY 1 LIMIT 10"
            ),
            format!(
                "WITH c AS (SELECT {} AS a, -{}, ({} * x)) SELECT * FROM (VALUES ({}, 'a'), (3000000000, 'b')) v (n, s), c WHERE n > 5 UNION SELECT {}, {}, CASE WHEN true THEN {} END, f(9) ORDER BY 1 LIMIT 10",
                cast("1"),
                cast("2"),
                cast("3"),
                cast("4"),
                cast("6"),
                cast("7"),
                cast("8")
            )
        );
    }
}
