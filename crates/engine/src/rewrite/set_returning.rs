//! Set-returning functions in a select list.

#[allow(unused_imports)]
use super::*;

/// `SELECT generate_series(…)` returns one row per element in PostgreSQL (a set-returning
/// function in the select list; several of them are zipped, the shorter padded with NULL);
/// DataFusion's `generate_series` returns one array. Such a select item becomes
/// `unnest(generate_series(…))`, named `generate_series` as PostgreSQL names it.
pub(super) fn set_returning_items(statement: &mut Statement, _: &Context) {
    struct Items;
    fn body(b: &mut SetExpr) {
        match b {
            SetExpr::Select(select) => {
                for item in &mut select.projection {
                    let taken = std::mem::replace(item, SelectItem::Wildcard(Default::default()));
                    *item = match taken {
                        SelectItem::UnnamedExpr(Expr::Function(f)) if is_series(&f) => {
                            SelectItem::ExprWithAlias {
                                expr: call("unnest", Expr::Function(f)),
                                alias: Ident::new("generate_series"),
                            }
                        }
                        SelectItem::ExprWithAlias {
                            expr: Expr::Function(f),
                            alias,
                        } if is_series(&f) => SelectItem::ExprWithAlias {
                            expr: call("unnest", Expr::Function(f)),
                            alias,
                        },
                        other => other,
                    };
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                body(left);
                body(right);
            }
            SetExpr::Query(q) => body(&mut q.body),
            _ => {}
        }
    }
    fn is_series(f: &Function) -> bool {
        f.over.is_none()
            && matches!(f.args, FunctionArguments::List(_))
            && f.name
                .0
                .last()
                .is_some_and(|p| p.to_string().eq_ignore_ascii_case("generate_series"))
    }
    impl datafusion::sql::sqlparser::ast::VisitorMut for Items {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            body(&mut query.body);
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Items);
}

/// `information_schema._pg_expandarray(arr)`: one `(x, n)` row per element (pgjdbc's
/// `getPrimaryKeys` and `getIndexInfo`).
pub(super) fn expandarray(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Function(f) = expr
            && f.name
                .0
                .last()
                .is_some_and(|p| p.to_string().eq_ignore_ascii_case("_pg_expandarray"))
            && let Some(arg) = first_arg(f)
        {
            *expr = call("unnest", call("__pg_expandarray", arg));
        }
    });
}

/// `generate_subscripts(arr, dim)`: the subscripts of an array, in step with `unnest` of it,
/// i.e. the array of its subscripts, unnested (psql's `\d` of an index).
pub(super) fn generate_subscripts(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Function(f) = expr
            && f.name
                .to_string()
                .eq_ignore_ascii_case("generate_subscripts")
            && let Some(arg) = first_arg(f)
        {
            *expr = call(
                "unnest",
                call_with(
                    "__pg_subscripts",
                    vec![arg, Expr::value(Value::Number("1".into(), false))],
                ),
            );
        }
    });
}
