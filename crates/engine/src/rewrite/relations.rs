//! Relation-level rewrites: name resolution by search path, functions in FROM, and
//! subqueries over relations that are always empty here.

#[allow(unused_imports)]
use super::*;

/// Subqueries that never run, or never find a row, because they read a catalog relation that
/// is always empty here (`pg_policy`, `pg_inherits`, `pg_attrdef`, …):
/// - a scalar subquery over one is NULL, unless it aggregates (`count(*)` of nothing is 0);
/// - the subqueries in the output list of a select over one never run, since it has no rows.
///   psql's `\d` footers put subqueries there that DataFusion cannot decorrelate
///   (`oid = ANY(pol.polroles)`); they become NULL, which changes nothing but lets the query
///   plan. An `ARRAY(…)` subquery stays (it is an aggregate of its rows, which plans): as
///   NULL it had no array type, and `array_to_string(ARRAY(…), …)` (psql's `\dp`) failed.
pub(super) fn empty_relations(statement: &mut Statement, _: &Context) {
    use datafusion::sql::sqlparser::ast::visit_statements_mut;
    fn walk(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) if base_is_empty(select) => {
                for item in &mut select.projection {
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                    {
                        let _ = visit_expressions_mut(e, |x: &mut Expr| {
                            if matches!(x, Expr::Subquery(_)) {
                                *x = Expr::value(Value::Null);
                            }
                            ControlFlow::<()>::Continue(())
                        });
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                walk(left);
                walk(right);
            }
            SetExpr::Query(q) => walk(&mut q.body),
            _ => {}
        }
    }
    let _ = visit_statements_mut(statement, |s: &mut Statement| {
        if let Statement::Query(q) = s {
            walk(&mut q.body);
        }
        ControlFlow::<()>::Continue(())
    });
    each_expr(statement, |expr| {
        if let Expr::Subquery(query) = expr
            && let SetExpr::Select(select) = query.body.as_ref()
            && base_is_empty(select)
            && !aggregates(select)
        {
            *expr = Expr::value(Value::Null);
        }
    });
}

/// Whether a select may return a row without reading one: it aggregates, or has HAVING.
fn aggregates(select: &datafusion::sql::sqlparser::ast::Select) -> bool {
    let mut found = select.having.is_some();
    for item in &select.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            let _ = datafusion::sql::sqlparser::ast::visit_expressions(e, |x: &Expr| {
                if let Expr::Function(f) = x
                    && f.over.is_none()
                    && super::subquery::AGGREGATES
                        .contains(&f.name.to_string().to_ascii_lowercase().as_str())
                {
                    found = true;
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
    found
}

/// Functions DataFusion serves as tables; any other function in FROM is a scalar one.
pub(super) const TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "range",
    "pg_get_keywords",
    "pg_partition_ancestors",
    "pg_available_extensions",
    "unnest",
];

/// `unnest(x) AS a` written as a function in FROM is DataFusion's `UNNEST` table factor.
/// (psql, pgjdbc and SQLAlchemy write `FROM unnest(…)`, `FROM generate_series(…) g`,
/// `FROM string_to_array(…) s`.)
pub(super) fn table_functions(statement: &mut Statement, _: &Context) {
    use datafusion::sql::sqlparser::ast::{TableFactor, VisitMut, VisitorMut};
    struct V;
    impl VisitorMut for V {
        type Break = ();
        fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_ordinality,
                ..
            } = t
                && name.to_string().eq_ignore_ascii_case("unnest")
            {
                let array_exprs = positional_args(&args.args).unwrap_or_default();
                *t = TableFactor::UNNEST {
                    alias: alias.take(),
                    array_exprs,
                    with_offset: false,
                    with_offset_alias: None,
                    with_ordinality: *with_ordinality,
                };
            } else if let TableFactor::Table {
                name,
                alias: Some(alias),
                args: Some(_),
                ..
            } = t
                && ["generate_series", "range"]
                    .iter()
                    .any(|f| name.to_string().eq_ignore_ascii_case(f))
                && alias.columns.is_empty()
            {
                // `generate_series(1, 3) AS i`: the one column is named after the alias.
                alias.columns = vec![
                    datafusion::sql::sqlparser::ast::TableAliasColumnDef::from_name(
                        alias.name.value.clone(),
                    ),
                ];
            } else if let TableFactor::Table {
                name,
                alias,
                args: Some(args),
                ..
            } = t
                && !TABLE_FUNCTIONS
                    .iter()
                    .any(|f| name.to_string().eq_ignore_ascii_case(f))
                // A set-returning function `set_returning_relations` could not serve stays a
                // table function, which DataFusion refuses as such (0A000).
                && super::set_returning::set_returning(name).is_none()
            {
                // A scalar function in FROM is a one-row table whose column is named after
                // the alias (`FROM string_to_array(…) s` has a column `s`).
                let function = name.to_string();
                let column = alias
                    .as_ref()
                    .and_then(|a| a.columns.first().map(|c| c.name.value.clone()))
                    .or_else(|| alias.as_ref().map(|a| a.name.value.clone()))
                    .unwrap_or_else(|| function.rsplit('.').next().unwrap_or(&function).to_owned());
                let call_args: Vec<String> = args.args.iter().map(ToString::to_string).collect();
                let sql = format!(
                    "SELECT {function}({}) AS \"{}\"",
                    call_args.join(", "),
                    column.replace('"', "\"\"")
                );
                if let Ok(mut parsed) = datafusion::sql::sqlparser::parser::Parser::parse_sql(
                    &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
                    &sql,
                ) && let Some(Statement::Query(query)) = parsed.pop()
                {
                    let alias = alias.take().map(|mut a| {
                        a.columns.clear();
                        a
                    });
                    *t = TableFactor::Derived {
                        lateral: false,
                        subquery: query,
                        alias: alias.or_else(|| {
                            Some(datafusion::sql::sqlparser::ast::TableAlias {
                                explicit: false,
                                name: Ident::new(column),
                                columns: Vec::new(),
                                at: None,
                            })
                        }),
                        sample: None,
                    };
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut V);
}

/// Whether a select reads an always-empty catalog relation through joins that keep it empty.
pub(super) fn base_is_empty(select: &datafusion::sql::sqlparser::ast::Select) -> bool {
    select.from.iter().any(|t| {
        let empty = match &t.relation {
            datafusion::sql::sqlparser::ast::TableFactor::Table {
                name, args: None, ..
            } => match name.0.as_slice() {
                [ObjectNamePart::Identifier(s), ObjectNamePart::Identifier(n)] => {
                    is_empty_relation(&s.value, &n.value)
                }
                _ => false,
            },
            _ => false,
        };
        empty
            && t.joins.iter().all(|j| {
                matches!(
                    j.join_operator,
                    datafusion::sql::sqlparser::ast::JoinOperator::Join(_)
                        | datafusion::sql::sqlparser::ast::JoinOperator::Inner(_)
                        | datafusion::sql::sqlparser::ast::JoinOperator::Left(_)
                        | datafusion::sql::sqlparser::ast::JoinOperator::LeftOuter(_)
                        | datafusion::sql::sqlparser::ast::JoinOperator::CrossJoin(_)
                )
            })
    })
}

/// Unqualified relation names resolve like PostgreSQL's: `pg_catalog` first, then the
/// session's `search_path` (so `SET search_path = aws` lets `apigatewayv2_stage` resolve); a
/// CTE's name shadows them. `pg_catalog.unnest(…)` in FROM is the table function.
pub(super) fn resolve_relations(statement: &mut Statement, context: &Context) {
    use datafusion::sql::sqlparser::ast::{TableFactor, VisitMut, VisitorMut};
    /// Resolves the relation names; a function in FROM (a name with arguments) is a function,
    /// whatever relation shares its name (`pg_available_extensions()` and the view).
    struct Resolve<'a> {
        search_path: &'a [String],
        ctes: HashSet<String>,
        function_next: bool,
    }
    impl VisitorMut for Resolve<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
            // The factor's name is the next relation visited.
            self.function_next = matches!(t, TableFactor::Table { args: Some(_), .. });
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, name: &mut ObjectName) -> ControlFlow<()> {
            if std::mem::take(&mut self.function_next) {
                if let [
                    ObjectNamePart::Identifier(schema),
                    ObjectNamePart::Identifier(f),
                ] = name.0.as_slice()
                    && (schema.value.eq_ignore_ascii_case("pg_catalog")
                        || schema.value.eq_ignore_ascii_case("information_schema"))
                {
                    // `pg_catalog.unnest(…)`, `information_schema._pg_expandarray(…)`.
                    name.0 = vec![ObjectNamePart::Identifier(f.clone())];
                }
                return ControlFlow::Continue(());
            }
            resolve(name, self.search_path, &self.ctes)
        }
    }
    let mut visitor = Resolve {
        search_path: context.search_path,
        ctes: cte_names(statement),
        function_next: false,
    };
    let _ = statement.visit(&mut visitor);
}

/// Resolves one relation name (see [`resolve_relations`]).
fn resolve(
    name: &mut ObjectName,
    search_path: &[String],
    ctes: &HashSet<String>,
) -> ControlFlow<()> {
    {
        if let [ObjectNamePart::Identifier(id)] = name.0.as_slice() {
            let bare = if id.quote_style.is_some() {
                id.value.clone()
            } else {
                id.value.to_ascii_lowercase()
            };
            if ctes.contains(&bare) {
                return ControlFlow::Continue(());
            }
            let schema = if is_pg_catalog_relation(&bare) {
                Some("pg_catalog".to_owned())
            } else {
                search_path
                    .iter()
                    .find(|s| {
                        names()
                            .relation_oid(&format!("\"{s}\".\"{bare}\""), &[])
                            .is_some()
                    })
                    .cloned()
            };
            if let Some(schema) = schema {
                let table = id.clone();
                name.0 = vec![
                    ObjectNamePart::Identifier(Ident::new(schema)),
                    ObjectNamePart::Identifier(table),
                ];
            }
        }
        ControlFlow::<()>::Continue(())
    }
}

/// The system column `tableoid` of a relation in FROM (`l.tableoid`, psql's `\dL` and `\dd`
/// join `pg_description` on it) is that relation's OID: no table here has the column, but
/// every row of a relation has the same value. Only qualified references are served; a
/// subquery's own relations are resolved before the outer query's, which its correlated
/// references reach.
pub(super) fn table_oids(statement: &mut Statement, context: &Context) {
    use datafusion::sql::sqlparser::ast::{TableFactor, VisitMut, VisitorMut};
    struct V<'a>(&'a [String]);
    impl VisitorMut for V<'_> {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            body(query.body.as_mut(), self.0);
            ControlFlow::Continue(())
        }
    }
    /// Each select of a query's body (the branches of a UNION too).
    fn body(b: &mut SetExpr, search_path: &[String]) {
        match b {
            SetExpr::Select(select) => one_select(select, search_path),
            SetExpr::SetOperation { left, right, .. } => {
                body(left, search_path);
                body(right, search_path);
            }
            _ => {}
        }
    }
    fn one_select(select: &mut datafusion::sql::sqlparser::ast::Select, search_path: &[String]) {
        {
            let mut oids: Vec<(String, u32)> = Vec::new();
            for from in &select.from {
                for t in
                    std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation))
                {
                    // Relations are schema-qualified by now; an unqualified name is a CTE's.
                    if let TableFactor::Table {
                        name,
                        alias,
                        args: None,
                        ..
                    } = t
                        && name.0.len() == 2
                        && let Some(oid) = names().relation_oid(&name.to_string(), search_path)
                    {
                        let called = alias.as_ref().map_or_else(
                            || name.0.last().map(|p| p.to_string()).unwrap_or_default(),
                            |a| a.name.value.clone(),
                        );
                        oids.push((called.to_ascii_lowercase(), oid));
                    }
                }
            }
            if oids.is_empty() {
                return;
            }
            let _ = visit_expressions_mut(select, |e: &mut Expr| {
                if let Expr::CompoundIdentifier(parts) = e
                    && let [relation, column] = parts.as_slice()
                    && column.value.eq_ignore_ascii_case("tableoid")
                    && let Some((_, oid)) = oids
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(&relation.value))
                {
                    *e = Expr::Cast {
                        kind: datafusion::sql::sqlparser::ast::CastKind::DoubleColon,
                        expr: Box::new(Expr::value(Value::Number(oid.to_string(), false))),
                        data_type: datafusion::sql::sqlparser::ast::DataType::Custom(
                            ObjectName(vec![ObjectNamePart::Identifier(Ident::new("oid"))]),
                            Vec::new(),
                        ),
                        array: false,
                        format: None,
                    };
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
    let _ = statement.visit(&mut V(context.search_path));
}

/// Names of the CTEs a statement defines, which shadow catalog names.
pub(super) fn cte_names(statement: &Statement) -> HashSet<String> {
    let mut out = HashSet::new();
    fn walk(query: &Query, out: &mut HashSet<String>) {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                out.insert(cte.alias.name.value.to_ascii_lowercase());
                walk(&cte.query, out);
            }
        }
    }
    if let Statement::Query(q) = statement {
        walk(q, &mut out);
    }
    out
}
