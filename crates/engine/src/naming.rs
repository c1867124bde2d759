//! PostgreSQL's names for result columns.
//!
//! DataFusion names an unaliased expression after its whole text (`count(*)`,
//! `aws.apigatewayv2_stage.tags`); PostgreSQL names it after the function (`count`), the column
//! (`tags`), the cast type for a cast literal (`text`), or `?column?`. Clients that read rows by
//! column name (psycopg dict rows, pandas, JDBC `getString("count")`) depend on PostgreSQL's
//! names, so we rename the described result columns to match.

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArguments, Query, SelectItem, SetExpr, Statement,
};

/// The PostgreSQL name of each output column of `statement`, or `None` where the name
/// DataFusion gives is already right (or we cannot tell, e.g. `SELECT *` beside other items).
pub fn output_names(statement: &Statement, columns: usize) -> Option<Vec<Option<String>>> {
    let Statement::Query(query) = statement else {
        return None;
    };
    let items = select_items(query)?;
    let wildcards = items
        .iter()
        .filter(|i| {
            matches!(
                i,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
            )
        })
        .count();
    let explicit = items.len() - wildcards;
    if wildcards > 1 || (wildcards == 0 && explicit != columns) || explicit > columns {
        return None;
    }
    let wildcard_width = columns - explicit;
    let mut names = Vec::with_capacity(columns);
    for item in items {
        match item {
            SelectItem::UnnamedExpr(e) => names.push(Some(expr_name(e))),
            SelectItem::ExprWithAlias { alias, .. } => names.push(Some(ident(alias))),
            SelectItem::ExprWithAliases { .. } => names.push(None),
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                names.extend(std::iter::repeat_n(None, wildcard_width));
            }
        }
    }
    (names.len() == columns).then_some(names)
}

fn select_items(query: &Query) -> Option<&Vec<SelectItem>> {
    let mut body = query.body.as_ref();
    loop {
        match body {
            SetExpr::Select(select) => return Some(&select.projection),
            SetExpr::SetOperation { left, .. } => body = left.as_ref(),
            SetExpr::Query(q) => body = q.body.as_ref(),
            _ => return None,
        }
    }
}

/// PostgreSQL's FigureColname for an expression.
pub(crate) fn expr_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(id) => ident(id),
        Expr::CompoundIdentifier(ids) => ids.last().map_or_else(unknown, ident),
        Expr::Function(f) => {
            // `count(*)`, `pg_catalog.version()`: the last part of the function name.
            let name = f.name.0.last().map_or_else(unknown, |p| {
                p.as_ident()
                    .map_or_else(|| p.to_string(), |i| i.value.clone())
            });
            if matches!(f.args, FunctionArguments::None)
                && name.eq_ignore_ascii_case("current_user")
            {
                return "current_user".to_owned();
            }
            name.to_ascii_lowercase()
        }
        Expr::Cast {
            expr, data_type, ..
        } => match expr.as_ref() {
            // PostgreSQL names a cast after its type when the operand's own name is weak: a
            // constant, another cast (`'1'::json::text` is `text`) or a nameless expression.
            inner if is_weak(inner) => type_name(&data_type.to_string()),
            inner => {
                let name = expr_name(inner);
                if name == unknown() {
                    type_name(&data_type.to_string())
                } else {
                    name
                }
            }
        },
        Expr::Nested(inner) => expr_name(inner),
        // `indkey[0]` is named after the column, `(f(x)).n` after the field.
        Expr::CompoundFieldAccess { root, access_chain } => access_chain
            .iter()
            .rev()
            .find_map(|a| match a {
                datafusion::sql::sqlparser::ast::AccessExpr::Dot(Expr::Identifier(id)) => {
                    Some(ident(id))
                }
                _ => None,
            })
            .unwrap_or_else(|| expr_name(root)),
        // A CASE takes its ELSE branch's name when that name is strong (a column, a function),
        // as FigureColname does; otherwise it is `case`.
        Expr::Case {
            else_result: Some(other),
            ..
        } if !is_weak(other) && expr_name(other) != unknown() => expr_name(other),
        Expr::Case { .. } => "case".to_owned(),
        Expr::Exists { .. } => "exists".to_owned(),
        Expr::Array(_) => "array".to_owned(),
        Expr::Subquery(q) => select_items(q)
            .and_then(|items| match items.as_slice() {
                [SelectItem::UnnamedExpr(e)] => Some(expr_name(e)),
                [SelectItem::ExprWithAlias { alias, .. }] => Some(ident(alias)),
                _ => None,
            })
            .unwrap_or_else(unknown),
        Expr::Extract { .. } => "extract".to_owned(),
        Expr::Substring { .. } => "substring".to_owned(),
        Expr::Trim { .. } => "btrim".to_owned(),
        Expr::Position { .. } => "position".to_owned(),
        Expr::Ceil { .. } => "ceil".to_owned(),
        Expr::Floor { .. } => "floor".to_owned(),
        Expr::TypedString(ts) => type_name(&ts.data_type.to_string()),
        _ => unknown(),
    }
}

/// An identifier as PostgreSQL folds it: unquoted ones in lower case (`AS TABLE_CAT` names the
/// column `table_cat`), quoted ones as written.
fn ident(id: &datafusion::sql::sqlparser::ast::Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

/// Whether FigureColname gives `e` only a weak name (a constant, a cast of one, a CASE
/// without a strong ELSE), which an enclosing cast or CASE does not keep.
fn is_weak(e: &Expr) -> bool {
    match e {
        Expr::Value(_) | Expr::TypedString(_) => true,
        // `-2.5` is one constant in PostgreSQL's grammar.
        Expr::UnaryOp { expr, .. } => matches!(expr.as_ref(), Expr::Value(_)),
        // A cast is named after its type (weakly) unless its operand has a strong name.
        Expr::Cast { expr, .. } => is_weak(expr) || expr_name(expr) == unknown(),
        Expr::Nested(expr) => is_weak(expr),
        Expr::Case { else_result, .. } => else_result.as_deref().is_none_or(is_weak),
        _ => false,
    }
}

fn type_name(sql_type: &str) -> String {
    let lower = sql_type.to_ascii_lowercase();
    let lower = lower
        .strip_prefix("pg_catalog.")
        .unwrap_or(&lower)
        .to_owned();
    match lower.split('(').next().unwrap_or(&lower).trim() {
        "integer" | "int" | "int4" => "int4".to_owned(),
        "bigint" | "int8" => "int8".to_owned(),
        "smallint" | "int2" => "int2".to_owned(),
        "boolean" | "bool" => "bool".to_owned(),
        "double precision" | "float8" => "float8".to_owned(),
        "real" | "float4" => "float4".to_owned(),
        "character varying" | "varchar" => "varchar".to_owned(),
        "timestamp" | "timestamp without time zone" => "timestamp".to_owned(),
        "timestamp with time zone" | "timestamptz" => "timestamptz".to_owned(),
        other => other.to_owned(),
    }
}

fn unknown() -> String {
    "?column?".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn names(sql: &str, columns: usize) -> Option<Vec<Option<String>>> {
        let stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0);
        output_names(&stmt, columns)
    }

    #[test]
    fn names_follow_postgres() {
        let got = names(
            "select count(*), t.tags, tags -> 'env', x AS y, 1, 'a'::text, tags::text, pg_catalog.version(), (stage_name), case when true then 1 end, NULL::pg_catalog.text, i.indkey[0], 1 AS TABLE_CAT, 2 AS \"MiX\", RELNAME, case when a then b else relname end, case when a then b else 'x'::text end from t",
            17,
        )
        .expect("names");
        let got: Vec<String> = got.into_iter().map(|n| n.unwrap_or_default()).collect();
        assert_eq!(
            got,
            [
                "count",
                "tags",
                "?column?",
                "y",
                "?column?",
                "text",
                "tags",
                "version",
                "stage_name",
                "case",
                "text",
                "indkey",
                "table_cat",
                "MiX",
                "relname",
                "relname",
                "case"
            ]
        );
    }

    #[test]
    fn wildcards_keep_their_names() {
        assert_eq!(
            names("select *, count(*) over () from t", 4),
            Some(vec![None, None, None, Some("count".into())])
        );
        assert_eq!(names("select a, b from t", 3), None);
    }
}
