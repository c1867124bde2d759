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
    AccessExpr, BinaryOperator, CastKind, CharacterLength, DataType, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, ObjectName, ObjectNamePart,
    Query, SelectItem, SetExpr, Statement, Subscript, Value, ValueWithSpan, visit_expressions_mut,
    visit_relations_mut,
};

use crate::functions::catalog::RegKind;
use crate::naming::expr_name;
use crate::pg_catalog::{is_empty_relation, is_pg_catalog_relation, names};

mod fetch_first;
mod outputs;
mod quantified;
mod refuse;
mod relations;
mod set_returning;
mod subquery;

use outputs::*;
use quantified::quantified_subqueries;
pub use refuse::refuse_unfaithful;
use relations::*;
use set_returning::set_returning_items;
use subquery::*;

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
    fetch_first::fetch_first(statement);
    table_functions(statement);
    empty_relation_subqueries(statement);
    set_returning_items(statement);
    let quantified = quantified_subqueries(statement);
    let _ = visit_expressions_mut(statement, |expr: &mut Expr| {
        if let Expr::Subquery(q) = expr
            && quantified.contains(&(q.as_ref() as *const Query as usize))
        {
            return ControlFlow::<()>::Continue(());
        }
        rewrite_expr(expr);
        ControlFlow::<()>::Continue(())
    });
    if let Statement::Query(query) = statement {
        outputs(query);
    }
}

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
            if let Some(t) = text {
                **right = match crate::pg_catalog::parse_array(&t) {
                    Ok(items) => text_array(items),
                    // Read at run time, which fails with array_in's error.
                    Err(_) => call("__pg_array_in", Expr::value(Value::SingleQuotedString(t))),
                };
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
            // ARRAY(SELECT [DISTINCT] x … [ORDER BY …]) is the aggregate of the subquery's
            // rows, `array_agg([DISTINCT] x [ORDER BY …])`. With LIMIT/OFFSET, grouping or
            // DISTINCT ON that would change the meaning, so those stay as written.
            if let FunctionArguments::Subquery(query) = &mut f.args {
                let mut query = query.as_ref().clone();
                if let SetExpr::Select(select) = query.body.as_mut()
                    && query.limit_clause.is_none()
                    && query.fetch.is_none()
                    && select.having.is_none()
                    && matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
                    && matches!(
                        select.distinct,
                        None | Some(datafusion::sql::sqlparser::ast::Distinct::Distinct)
                    )
                    && let [item] = select.projection.as_mut_slice()
                {
                    let distinct = select.distinct.take().is_some();
                    let order_by = query.order_by.take();
                    wrap_item(item, "array_agg", order_by);
                    if distinct
                        && let SelectItem::UnnamedExpr(Expr::Function(agg))
                        | SelectItem::ExprWithAlias {
                            expr: Expr::Function(agg),
                            ..
                        } = item
                        && let FunctionArguments::List(list) = &mut agg.args
                    {
                        list.duplicate_treatment =
                            Some(datafusion::sql::sqlparser::ast::DuplicateTreatment::Distinct);
                    }
                    *expr = Expr::Subquery(Box::new(query));
                }
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
            // `'{1,2}'::int[]`: an array literal written as text is the array of its items.
            // A malformed one is read by `__pg_array_in`, which fails with array_in's error.
            if matches!(data_type, DataType::Array(_))
                && let Expr::Value(ValueWithSpan {
                    value: Value::SingleQuotedString(t),
                    ..
                }) = inner.as_ref()
            {
                **inner = match crate::pg_catalog::parse_array(t) {
                    Ok(items) => text_array(items),
                    Err(_) => call("__pg_array_in", (**inner).clone()),
                };
            }
            // `x::varchar(n)` and `x::char(1)` keep the first n characters, as an explicit
            // cast does in PostgreSQL (refuse.rs checked n and refused char(n > 1)).
            let kept = match data_type {
                DataType::Varchar(Some(CharacterLength::IntegerLength { length, .. }))
                | DataType::CharacterVarying(Some(CharacterLength::IntegerLength {
                    length, ..
                }))
                | DataType::Char(Some(CharacterLength::IntegerLength { length, .. }))
                | DataType::Character(Some(CharacterLength::IntegerLength { length, .. })) => {
                    Some(*length)
                }
                DataType::Char(None) | DataType::Character(None) => Some(1),
                _ => None,
            };
            if let Some(n) = kept {
                let text = Expr::Cast {
                    kind: CastKind::DoubleColon,
                    expr: Box::new(std::mem::replace(inner.as_mut(), Expr::value(Value::Null))),
                    data_type: DataType::Text,
                    array: false,
                    format: None,
                };
                let n = Expr::value(Value::Number(n.to_string(), false));
                **inner = call_with("left", vec![text, n]);
                *data_type = DataType::Text;
            }
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

/// `ARRAY['a', 'b', NULL]` for the items of an array literal written as text (`'{a,b,NULL}'`);
/// the comparison or cast around it gives the items their type.
fn text_array(items: Vec<Option<String>>) -> Expr {
    Expr::Array(datafusion::sql::sqlparser::ast::Array {
        elem: items
            .into_iter()
            .map(|i| match i {
                Some(v) => Expr::value(Value::SingleQuotedString(v)),
                None => Expr::value(Value::Null),
            })
            .collect(),
        named: true,
    })
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
    call_with(name, vec![arg])
}

fn call_with(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
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
            "SELECT (SELECT __pg_scalar_subquery(d.x) FROM t d WHERE d.a = a.b) AS s, (SELECT array_agg(r) FROM q) AS m FROM a"
        );
        // A scalar subquery's ORDER BY and LIMIT keep their meaning: it is read whole.
        assert_eq!(
            rewritten("SELECT (SELECT x FROM t ORDER BY y LIMIT 1)"),
            "SELECT (SELECT __pg_scalar_subquery(__pg_v) FROM (SELECT x FROM t ORDER BY y LIMIT 1) AS __pg_s (__pg_v))"
        );
        assert_eq!(
            rewritten("SELECT (SELECT count(*) FROM t), (SELECT 1)"),
            "SELECT (SELECT count(*) FROM t), (SELECT 1)"
        );
        assert_eq!(
            rewritten("SELECT generate_series(1, 3) FROM t, generate_series(1, 2) g"),
            "SELECT unnest(generate_series(1, 3)) AS generate_series FROM t, generate_series(1, 2) g (g)"
        );
        assert_eq!(
            rewritten("SELECT ARRAY(SELECT DISTINCT r FROM q ORDER BY r)"),
            "SELECT (SELECT array_agg(DISTINCT r ORDER BY r) FROM q)"
        );
        assert_eq!(
            rewritten("SELECT 1 WHERE a = ANY (SELECT b FROM q) AND c <> ALL (SELECT d FROM q)"),
            "SELECT CAST(1 AS INTEGER) WHERE a IN (SELECT b FROM q) AND c NOT IN (SELECT d FROM q)"
        );
        assert_eq!(
            rewritten(
                "SELECT (SELECT c.n FROM c, t WHERE c.oid = a.x AND t.oid = a.y AND a.x <> t.z AND a.h) AS s FROM a"
            ),
            "SELECT CASE WHEN a.h AND a.x <> (SELECT __pg_scalar_subquery(t.z) FROM c, t WHERE c.oid = a.x AND t.oid = a.y) THEN (SELECT __pg_scalar_subquery(c.n) FROM c, t WHERE c.oid = a.x AND t.oid = a.y) END AS s FROM a"
        );
        assert_eq!(
            rewritten("SELECT x::regclass FROM y"),
            "SELECT __pg_regclass_out(x) FROM y"
        );
    }
}
