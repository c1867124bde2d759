//! PostgreSQL syntax and name resolution DataFusion lacks, applied to the AST before planning.
//!
//! - Unqualified relation names resolve like PostgreSQL's: `pg_catalog` first, then the
//!   session's `search_path` (so `SET search_path = aws` lets `apigatewayv2_stage` resolve).
//! - `pg_catalog.f()` and `information_schema.f()` are the functions `f()`.
//! - `x COLLATE "C"` is `x` (every text comparison here is by code point already).
//! - `a OPERATOR(pg_catalog.~) b` is `a ~ b`.
//! - Casts to the `reg*` types become lookups: `'pg_class'::regclass` is the oid 1259 where
//!   it is compared or joined, and `oid::regtype::text` (or a bare `x::regclass` as an output
//!   column) is the name.
//! - Subscripts of the zero-based vector columns (`indkey[0]`, `proargtypes[0:1]`) shift to
//!   DataFusion's one-based arrays.
//! - Output columns that would share a name (`SELECT c.oid, c.* …`, `SELECT 1, 1`) get internal
//!   aliases, since DataFusion requires unique names; the client still sees PostgreSQL's
//!   names (see `naming`).

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, BinaryOperator, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentList, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, SelectItem,
    SetExpr, Statement, Subscript, Value, ValueWithSpan, visit_expressions_mut,
    visit_relations_mut,
};

use crate::functions::catalog::RegKind;
use crate::naming::expr_name;
use crate::pg_catalog::{is_empty_relation, is_pg_catalog_relation, names};

/// Columns PostgreSQL stores as `int2vector`/`oidvector`, whose subscripts start at 0.
const VECTOR_COLUMNS: &[&str] = &[
    "indkey",
    "indclass",
    "indcollation",
    "indoption",
    "proargtypes",
    "tgattr",
    "stxkeys",
    "partattrs",
    "partclass",
    "partcollation",
];

/// Rewrites `statement` in place (see the module docs).
pub fn rewrite(statement: &mut Statement, search_path: &[String]) {
    resolve_relations(statement, search_path);
    table_functions(statement);
    empty_relation_subqueries(statement);
    let _ = visit_expressions_mut(statement, |expr: &mut Expr| {
        rewrite_expr(expr);
        ControlFlow::<()>::Continue(())
    });
    if let Statement::Query(query) = statement {
        outputs(query);
    }
}

/// A select over a catalog relation that is always empty (`pg_policy`, `pg_inherits`, …)
/// returns no rows, so the subqueries in its output list never run. psql's `\d` footers put
/// subqueries there that DataFusion cannot decorrelate (`oid = ANY(pol.polroles)`); they
/// become NULL, which changes nothing but lets the query plan.
fn empty_relation_subqueries(statement: &mut Statement) {
    use datafusion::sql::sqlparser::ast::visit_statements_mut;
    fn walk(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) if base_is_empty(select) => {
                for item in &mut select.projection {
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                    {
                        let _ = visit_expressions_mut(e, |x: &mut Expr| {
                            let is_subquery = matches!(x, Expr::Subquery(_))
                                || matches!(x, Expr::Function(f) if matches!(f.args, FunctionArguments::Subquery(_)));
                            if is_subquery {
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
}

/// Functions DataFusion serves as tables; any other function in FROM is a scalar one.
const TABLE_FUNCTIONS: &[&str] = &["generate_series", "range", "pg_get_keywords", "unnest"];

/// `unnest(x) AS a` written as a function in FROM is DataFusion's `UNNEST` table factor.
fn table_functions(statement: &mut Statement) {
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
                let array_exprs = args
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                        _ => None,
                    })
                    .collect();
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

/// `ARRAY(SELECT x FROM unnest(arr) x)` and `ARRAY(SELECT 'p' || x FROM unnest(arr) x)`
/// (psql's `\d+` reloptions) without a correlated subquery: the array itself, or each
/// element prefixed.
fn array_of_unnest(f: &Function) -> Option<Expr> {
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

/// Whether a select reads an always-empty catalog relation through joins that keep it empty.
fn base_is_empty(select: &datafusion::sql::sqlparser::ast::Select) -> bool {
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

fn resolve_relations(statement: &mut Statement, search_path: &[String]) {
    let ctes = cte_names(statement);
    let _ = visit_relations_mut(statement, |name: &mut ObjectName| {
        // `pg_catalog.unnest(…)` in FROM is a table function, not a catalog relation.
        if let [
            ObjectNamePart::Identifier(schema),
            ObjectNamePart::Identifier(f),
        ] = name.0.as_slice()
            && (schema.value.eq_ignore_ascii_case("pg_catalog")
                || schema.value.eq_ignore_ascii_case("information_schema"))
            && names()
                .relation_oid(
                    &format!("\"{}\".\"{}\"", schema.value.to_ascii_lowercase(), f.value),
                    &[],
                )
                .is_none()
        {
            name.0 = vec![ObjectNamePart::Identifier(f.clone())];
            return ControlFlow::Continue(());
        }
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
    });
}

/// Names of the CTEs a statement defines, which shadow catalog names.
fn cte_names(statement: &Statement) -> HashSet<String> {
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

/// Aggregates: a scalar subquery whose single output is one of these is already aggregated.
const AGGREGATES: &[&str] = &[
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

fn rewrite_expr(expr: &mut Expr) {
    match expr {
        Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } => {
            // `x <> ALL('{a,b}')`, `x = ANY('{1,2}'::oid[])`: an array literal written as text.
            let text = match right.as_ref() {
                Expr::Value(ValueWithSpan {
                    value: Value::SingleQuotedString(t),
                    ..
                }) => Some(t.clone()),
                Expr::Cast { expr: inner, .. } => match inner.as_ref() {
                    Expr::Value(ValueWithSpan {
                        value: Value::SingleQuotedString(t),
                        ..
                    }) => Some(t.clone()),
                    _ => None,
                },
                _ => None,
            };
            if let Some(items) = text.and_then(|t| crate::pg_catalog::parse_array(&t).ok()) {
                **right = Expr::Array(datafusion::sql::sqlparser::ast::Array {
                    elem: items
                        .into_iter()
                        .map(|i| match i {
                            Some(v) => Expr::value(Value::SingleQuotedString(v)),
                            None => Expr::value(Value::Null),
                        })
                        .collect(),
                    named: true,
                });
            }
        }
        Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        } => {
            // DataFusion's LIKE escapes only with a backslash; translate any other escape
            // character (SQLAlchemy uses `ESCAPE '/'`).
            if let Some(ValueWithSpan {
                value: Value::SingleQuotedString(c),
                ..
            }) = escape_char
                && c != "\\"
            {
                let c = c.clone();
                let p = std::mem::replace(pattern.as_mut(), Expr::value(Value::Null));
                let mut f = call("__pg_like_escape", p);
                if let Expr::Function(func) = &mut f
                    && let FunctionArguments::List(list) = &mut func.args
                {
                    list.args
                        .push(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::value(
                            Value::SingleQuotedString(c),
                        ))));
                }
                **pattern = f;
                *escape_char = None;
            }
        }
        Expr::Subquery(query) if matches!(query.body.as_ref(), SetExpr::Select(sel) if base_is_empty(sel)) =>
        {
            // A lookup in a relation that is always empty here (pg_attrdef, pg_sequence, …).
            *expr = Expr::value(Value::Null);
        }
        Expr::Subquery(query) => {
            scalar_subquery(query);
            if let Some(lifted) = lift_outer_conditions(query) {
                *expr = lifted;
            }
        }
        Expr::Function(f)
            if f.name.to_string().eq_ignore_ascii_case("array")
                && matches!(&f.args, FunctionArguments::Subquery(_)) =>
        {
            if let Some(direct) = array_of_unnest(f) {
                *expr = direct;
                return;
            }
            // ARRAY(SELECT x …) is the aggregate of the subquery's rows.
            if let FunctionArguments::Subquery(query) = &mut f.args {
                let mut query = query.as_ref().clone();
                if let SetExpr::Select(select) = query.body.as_mut()
                    && let [item] = select.projection.as_mut_slice()
                {
                    let order_by = query.order_by.take();
                    wrap_item(item, "array_agg", order_by);
                }
                *expr = Expr::Subquery(Box::new(query));
            }
        }
        Expr::Collate { expr: inner, .. } => {
            let inner = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
            *expr = inner;
            rewrite_expr(expr);
        }
        Expr::BinaryOp { op, .. } => {
            if let BinaryOperator::PGCustomBinaryOperator(parts) = op
                && let Some(standard) = parts.last().and_then(|o| standard_operator(o))
            {
                *op = standard;
            }
        }
        Expr::Function(f)
            if f.name
                .0
                .last()
                .is_some_and(|p| p.to_string().eq_ignore_ascii_case("_pg_expandarray")) =>
        {
            // information_schema._pg_expandarray(arr): one (x, n) row per element.
            if let Some(arg) = first_arg(f) {
                *expr = call("unnest", call("__pg_expandarray", arg));
            }
        }
        Expr::Function(f)
            if ["array_lower", "array_upper"]
                .iter()
                .any(|n| f.name.to_string().eq_ignore_ascii_case(n)) =>
        {
            // Bounds of a vector column start at 0.
            if first_arg(f).is_some_and(|a| {
                column_name(&a).is_some_and(|c| VECTOR_COLUMNS.contains(&c.as_str()))
            }) && let FunctionArguments::List(list) = &f.args
                && list.args.len() == 2
            {
                push_arg(expr, Expr::value(Value::Number("0".into(), false)));
            }
        }
        Expr::Function(f)
            if f.name
                .to_string()
                .eq_ignore_ascii_case("generate_subscripts") =>
        {
            // The subscripts of an array, in step with `unnest` of it: the array of its
            // subscripts, unnested. Vector columns count from 0.
            if let Some(arg) = first_arg(f) {
                let base =
                    if column_name(&arg).is_some_and(|c| VECTOR_COLUMNS.contains(&c.as_str())) {
                        "0"
                    } else {
                        "1"
                    };
                let mut subs = call("__pg_subscripts", arg);
                if let Expr::Function(sf) = &mut subs
                    && let FunctionArguments::List(list) = &mut sf.args
                {
                    list.args
                        .push(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::value(
                            Value::Number(base.into(), false),
                        ))));
                }
                *expr = call("unnest", subs);
            }
        }
        Expr::Function(f) => {
            if let [ObjectNamePart::Identifier(schema), last] = f.name.0.as_slice()
                && (schema.value.eq_ignore_ascii_case("pg_catalog")
                    || schema.value.eq_ignore_ascii_case("information_schema"))
            {
                f.name.0 = vec![last.clone()];
            }
        }
        Expr::Cast {
            expr: inner,
            data_type,
            ..
        } => {
            // `x::pg_catalog.text` is `x::text`.
            if let DataType::Custom(name, modifiers) = data_type
                && let [
                    ObjectNamePart::Identifier(schema),
                    ObjectNamePart::Identifier(ty),
                ] = name.0.as_slice()
                && schema.value.eq_ignore_ascii_case("pg_catalog")
                && modifiers.is_empty()
                && let Ok(parsed) = datafusion::sql::sqlparser::parser::Parser::new(
                    &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
                )
                .try_with_sql(&ty.value)
                .and_then(|mut p| p.parse_data_type())
            {
                *data_type = parsed;
            }
            if let Some(kind) = reg_kind(data_type) {
                let arg = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
                *expr = call(kind.function_names().0, arg);
            } else if is_text_type(data_type)
                && let Expr::Cast {
                    expr: reg_arg,
                    data_type: reg_type,
                    ..
                } = inner.as_mut()
                && let Some(kind) = reg_kind(reg_type)
            {
                let arg = std::mem::replace(reg_arg.as_mut(), Expr::value(Value::Null));
                *expr = call(kind.function_names().1, arg);
            } else if is_text_type(data_type)
                && let Expr::Function(f) = inner.as_mut()
                && let Some(kind) = reg_in_function(f)
                && let Some(arg) = single_arg(f)
            {
                // Casts are rewritten inside-out, so `x::regtype::text` arrives here with its
                // inner cast already turned into the `_in` call.
                *expr = call(kind.function_names().1, arg);
            }
        }
        Expr::CompoundFieldAccess { root, access_chain }
            if !matches!(
                root.as_ref(),
                Expr::Identifier(_) | Expr::CompoundIdentifier(_)
            ) && access_chain
                .iter()
                .any(|a| matches!(a, AccessExpr::Dot(Expr::Identifier(_)))) =>
        {
            // `(f(x)).n`, `(t.keys).x`: a field of a composite value is DataFusion's
            // `value['n']`.
            for access in access_chain.iter_mut() {
                if let AccessExpr::Dot(Expr::Identifier(field)) = access {
                    let name = field.value.to_ascii_lowercase();
                    *access = AccessExpr::Subscript(Subscript::Index {
                        index: Expr::value(Value::SingleQuotedString(name)),
                    });
                }
            }
        }
        Expr::CompoundFieldAccess { root, access_chain } => {
            let mut column = match root.as_ref() {
                Expr::Identifier(id) => Some(id.value.to_ascii_lowercase()),
                Expr::CompoundIdentifier(ids) => ids.last().map(|i| i.value.to_ascii_lowercase()),
                _ => None,
            };
            for access in access_chain.iter_mut() {
                match access {
                    AccessExpr::Dot(Expr::Identifier(id)) => {
                        column = Some(id.value.to_ascii_lowercase());
                    }
                    AccessExpr::Dot(_) => column = None,
                    AccessExpr::Subscript(sub) => {
                        if column
                            .as_deref()
                            .is_some_and(|c| VECTOR_COLUMNS.contains(&c))
                        {
                            shift_subscript(sub);
                        }
                        break;
                    }
                }
            }
        }
        _ => {}
    }
}

/// DataFusion accepts a correlated scalar subquery only when it is aggregated; PostgreSQL
/// accepts any that returns at most one row. `(SELECT x FROM … WHERE …)` becomes
/// `(SELECT max(x) FROM … WHERE …)`, which is the same for zero or one row (`max` is the
/// aggregate DataFusion decorrelates; `first_value` it does not).
fn scalar_subquery(query: &mut Query) {
    if query.with.is_some() {
        return;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    if select.distinct.is_some()
        || select.having.is_some()
        || !matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
    {
        return;
    }
    let [item] = select.projection.as_mut_slice() else {
        return;
    };
    let expr = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return,
    };
    if let Expr::Function(f) = expr
        && (f.over.is_some()
            || AGGREGATES.contains(&f.name.to_string().to_ascii_lowercase().as_str()))
    {
        return;
    }
    if matches!(expr, Expr::Value(_)) {
        return;
    }
    wrap_item(item, "max", None);
    query.order_by = None;
    query.limit_clause = None;
}

/// DataFusion cannot decorrelate a scalar subquery whose WHERE tests outer columns other than
/// by `inner = outer`. psql's `\d` has two: `AND a.atthasdef` (outer only) and
/// `AND a.attcollation <> t.typcollation` (inner against outer). Such conditions move out into
/// `CASE WHEN cond THEN (subquery) END`, an inner side becoming its own lookup subquery. For
/// the lookups these are (at most one row), the result is the same.
fn lift_outer_conditions(query: &mut Query) -> Option<Expr> {
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
                sel.projection = vec![SelectItem::UnnamedExpr(call("max", side))];
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
fn inner_names(from: &[datafusion::sql::sqlparser::ast::TableWithJoins]) -> HashSet<String> {
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
fn refs(expr: &Expr, inner: &HashSet<String>) -> (bool, bool) {
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

fn conjuncts(expr: Expr) -> Vec<Expr> {
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

fn and_all(exprs: Vec<Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    })
}

/// Replaces a select item's expression `e` with `agg(e [ORDER BY …])`.
fn wrap_item(
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

fn shift_subscript(sub: &mut Subscript) {
    match sub {
        Subscript::Index { index } => plus_one(index),
        Subscript::Slice {
            lower_bound,
            upper_bound,
            ..
        } => {
            if let Some(l) = lower_bound {
                plus_one(l);
            }
            if let Some(u) = upper_bound {
                plus_one(u);
            }
        }
    }
}

fn plus_one(e: &mut Expr) {
    let inner = std::mem::replace(e, Expr::value(Value::Null));
    *e = Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(Expr::Nested(Box::new(inner))),
        op: BinaryOperator::Plus,
        right: Box::new(Expr::value(Value::Number("1".into(), false))),
    }));
}

fn standard_operator(op: &str) -> Option<BinaryOperator> {
    Some(match op {
        "~" => BinaryOperator::PGRegexMatch,
        "~*" => BinaryOperator::PGRegexIMatch,
        "!~" => BinaryOperator::PGRegexNotMatch,
        "!~*" => BinaryOperator::PGRegexNotIMatch,
        "~~" => BinaryOperator::PGLikeMatch,
        "~~*" => BinaryOperator::PGILikeMatch,
        "!~~" => BinaryOperator::PGNotLikeMatch,
        "!~~*" => BinaryOperator::PGNotILikeMatch,
        "=" => BinaryOperator::Eq,
        "<>" | "!=" => BinaryOperator::NotEq,
        "<" => BinaryOperator::Lt,
        "<=" => BinaryOperator::LtEq,
        ">" => BinaryOperator::Gt,
        ">=" => BinaryOperator::GtEq,
        "+" => BinaryOperator::Plus,
        "-" => BinaryOperator::Minus,
        "*" => BinaryOperator::Multiply,
        "/" => BinaryOperator::Divide,
        "%" => BinaryOperator::Modulo,
        "||" => BinaryOperator::StringConcat,
        "&" => BinaryOperator::BitwiseAnd,
        "|" => BinaryOperator::BitwiseOr,
        "@>" => BinaryOperator::AtArrow,
        "<@" => BinaryOperator::ArrowAt,
        _ => return None,
    })
}

fn reg_kind(data_type: &DataType) -> Option<RegKind> {
    match data_type {
        DataType::Regclass => Some(RegKind::Class),
        DataType::Custom(name, _) => RegKind::from_type_name(&name.to_string()),
        _ => None,
    }
}

fn reg_in_function(f: &Function) -> Option<RegKind> {
    let name = f.name.to_string();
    [
        RegKind::Class,
        RegKind::Type,
        RegKind::Proc,
        RegKind::Namespace,
        RegKind::Role,
    ]
    .into_iter()
    .find(|k| k.function_names().0 == name)
}

/// Appends an argument to a function call expression.
fn push_arg(call: &mut Expr, arg: Expr) {
    if let Expr::Function(f) = call
        && let FunctionArguments::List(list) = &mut f.args
    {
        list.args
            .push(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)));
    }
}

fn first_arg(f: &Function) -> Option<Expr> {
    match &f.args {
        FunctionArguments::List(list) => match list.args.first() {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => Some(e.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The column an expression names (`x`, `t.x`, `s.t.x` → `x`), lower-cased.
fn column_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(id) => Some(id.value.to_ascii_lowercase()),
        Expr::CompoundIdentifier(ids) => ids.last().map(|i| i.value.to_ascii_lowercase()),
        _ => None,
    }
}

fn single_arg(f: &Function) -> Option<Expr> {
    match &f.args {
        FunctionArguments::List(list) => match list.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => Some(e.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn is_text_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Text | DataType::Varchar(_) | DataType::CharacterVarying(_) => true,
        DataType::Custom(name, _) => {
            let n = name.to_string().to_ascii_lowercase();
            n == "name" || n == "pg_catalog.name" || n == "pg_catalog.text"
        }
        _ => false,
    }
}

fn call(name: &str, arg: Expr) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))],
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// Output-column fixes on the outermost selects.
fn outputs(query: &mut Query) {
    fn walk(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                for item in &mut select.projection {
                    // A bare `x::regclass` output shows the name, as PostgreSQL prints it.
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                        && let Expr::Function(f) = e
                        && let Some(kind) = reg_in_function(f)
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

/// PostgreSQL types an integer literal that fits in 32 bits as `integer`; DataFusion makes
/// every one a bigint. In an output column (`SELECT 1`, `SELECT $1::int + 1`) the type shows:
/// drivers decode int8 differently (node-postgres returns it as a string), so literals there,
/// and in arithmetic there, are cast to integer. Literals elsewhere (LIMIT, function
/// arguments, comparisons) keep DataFusion's type, which compares and computes the same.
fn int4_literals(e: &mut Expr) {
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
        Expr::UnaryOp { expr: inner, .. } => int4_literals(inner),
        Expr::BinaryOp { left, op, right }
            if matches!(
                op,
                BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Divide
                    | BinaryOperator::Modulo
            ) =>
        {
            int4_literals(left);
            int4_literals(right);
        }
        _ => {}
    }
}

fn unique_names(items: &mut [SelectItem]) {
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
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn rewritten_with(sql: &str, path: &[&str]) -> String {
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0);
        let path: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
        rewrite(&mut stmt, &path);
        stmt.to_string()
    }

    fn rewritten(sql: &str) -> String {
        rewritten_with(sql, &["public"])
    }

    #[test]
    fn catalog_tables_and_functions_resolve_like_postgres() {
        assert_eq!(
            rewritten("SELECT pg_catalog.version() AS v, t.oid FROM pg_type t JOIN aws.x ON true"),
            "SELECT version() AS v, t.oid FROM pg_catalog.pg_type t JOIN aws.x ON true"
        );
        assert_eq!(rewritten("SELECT * FROM other"), "SELECT * FROM other");
        assert_eq!(
            rewritten_with("SELECT count(*) FROM apigatewayv2_stage", &["aws"]),
            "SELECT count(*) FROM aws.apigatewayv2_stage"
        );
        assert_eq!(
            rewritten("WITH pg_type AS (SELECT 1) SELECT * FROM pg_type"),
            "WITH pg_type AS (SELECT 1) SELECT * FROM pg_type"
        );
    }

    #[test]
    fn postgres_syntax_becomes_datafusion_syntax() {
        assert_eq!(
            rewritten(
                "SELECT c.relname AS r FROM pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(x)$' COLLATE pg_catalog.default AND c.oid = 'pg_class'::regclass"
            ),
            "SELECT c.relname AS r FROM pg_catalog.pg_class c WHERE c.relname ~ '^(x)$' AND c.oid = __pg_regclass_in('pg_class')"
        );
        assert_eq!(
            rewritten(
                "SELECT t.oid::regtype::text AS n, i.indkey[0] AS k FROM pg_type t, pg_index i"
            ),
            "SELECT __pg_regtype_out(t.oid) AS n, i.indkey[((0) + 1)] AS k FROM pg_catalog.pg_type t, pg_catalog.pg_index i"
        );
        assert_eq!(
            rewritten("SELECT c.oid, c.* FROM pg_class c"),
            "SELECT c.oid AS __stagesql_column_0, c.* FROM pg_catalog.pg_class c"
        );
        assert_eq!(
            rewritten(
                "SELECT (SELECT d.x FROM t d WHERE d.a = a.b) AS s, ARRAY(SELECT r FROM q) AS m FROM a"
            ),
            "SELECT (SELECT max(d.x) FROM t d WHERE d.a = a.b) AS s, (SELECT array_agg(r) FROM q) AS m FROM a"
        );
        assert_eq!(
            rewritten(
                "SELECT (SELECT c.n FROM c, t WHERE c.oid = a.x AND t.oid = a.y AND a.x <> t.z AND a.h) AS s FROM a"
            ),
            "SELECT CASE WHEN a.h AND a.x <> (SELECT max(t.z) FROM c, t WHERE c.oid = a.x AND t.oid = a.y) THEN (SELECT max(c.n) FROM c, t WHERE c.oid = a.x AND t.oid = a.y) END AS s FROM a"
        );
        assert_eq!(
            rewritten("SELECT x::regclass FROM y"),
            "SELECT __pg_regclass_out(x) FROM y"
        );
    }
}
