//! PostgreSQL's names for result columns.
//!
//! DataFusion names an unaliased expression after its whole text (`count(*)`,
//! `aws.apigatewayv2_stage.tags`); PostgreSQL names it after the function (`count`), the column
//! (`tags`), the cast type for a cast literal (`text`), or `?column?`. Clients that read rows by
//! column name (psycopg dict rows, pandas, JDBC `getString("count")`) depend on PostgreSQL's
//! names, so we rename the described result columns to match.

use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, DataType, ExactNumberInfo, Expr, FunctionArguments, Query, SelectItem,
    SetExpr, Statement, TimezoneInfo, TrimWhereField,
};

use crate::error::EngineError;

/// What an internal alias adds to the name of one of several columns of a select list that
/// PostgreSQL names alike (`SELECT 1, 1`, `SELECT count(*), count(*) FILTER (…)` in a derived
/// table): DataFusion requires unique names, PostgreSQL allows them, and a reference to such a
/// name is ambiguous. The client sees the name before the mark (see [`client_name`]).
const SAME_NAME_MARK: &str = "__stagesql_same_name_";

/// The internal alias of the item at `position` of a select list, PostgreSQL-named `name`,
/// that another item of the list is also named.
pub(crate) fn same_name_alias(name: &str, position: usize) -> String {
    format!("{name}{SAME_NAME_MARK}{position}")
}

/// The name a client sees for a result column named `name` here.
pub(crate) fn client_name(name: &str) -> &str {
    name.find(SAME_NAME_MARK).map_or(name, |at| &name[..at])
}

/// Whether `candidate` is the internal alias of a column PostgreSQL names `name`.
pub(crate) fn is_same_name_alias_of(candidate: &str, name: &str) -> bool {
    candidate
        .strip_prefix(name)
        .is_some_and(|rest| rest.starts_with(SAME_NAME_MARK))
}

/// `err`, or 42702 when it is a column DataFusion did not find because several columns of a
/// derived table or CTE are named so (see [`same_name_alias`]): PostgreSQL finds the name
/// ambiguous.
pub(crate) fn same_name_ambiguity(err: DataFusionError) -> EngineError {
    let mut root = &err;
    loop {
        match root {
            DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
                root = inner;
            }
            DataFusionError::Shared(inner) => root = inner,
            _ => break,
        }
    }
    if let DataFusionError::SchemaError(e, _) = root
        && let SchemaError::FieldNotFound {
            field,
            valid_fields,
        } = e.as_ref()
        && valid_fields
            .iter()
            .any(|c| is_same_name_alias_of(&c.name, &field.name))
    {
        return EngineError::AmbiguousColumn(field.name.clone());
    }
    EngineError::DataFusion(err)
}

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
            inner if is_weak(inner) => type_name(data_type),
            inner => {
                let name = expr_name(inner);
                if name == unknown() {
                    type_name(data_type)
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
        // The SQL-standard forms are named after the function the grammar calls.
        Expr::Substring { shorthand, .. } => {
            if *shorthand { "substr" } else { "substring" }.to_owned()
        }
        Expr::Trim { trim_where, .. } => match trim_where {
            Some(TrimWhereField::Leading) => "ltrim",
            Some(TrimWhereField::Trailing) => "rtrim",
            Some(TrimWhereField::Both) | None => "btrim",
        }
        .to_owned(),
        Expr::Overlay { .. } => "overlay".to_owned(),
        Expr::Position { .. } => "position".to_owned(),
        Expr::Ceil { .. } => "ceil".to_owned(),
        Expr::Floor { .. } => "floor".to_owned(),
        // `x AT TIME ZONE z` is the function `timezone(z, x)`.
        Expr::AtTimeZone { .. } => "timezone".to_owned(),
        // `(1, 2)` is `ROW(1, 2)`.
        Expr::Tuple(_) => "row".to_owned(),
        // A COLLATE clause keeps its operand's name (a constant's stays unknown).
        Expr::Collate { expr, .. } => expr_name(expr),
        Expr::TypedString(ts) => type_name(&ts.data_type),
        // `interval '90 minutes'` is a cast of a constant to interval.
        Expr::Interval(_) => "interval".to_owned(),
        _ => unknown(),
    }
}

/// An identifier as PostgreSQL folds it: unquoted ones in lower case (`AS TABLE_CAT` names the
/// column `table_cat`), quoted ones as written.
pub(crate) fn ident(id: &datafusion::sql::sqlparser::ast::Ident) -> String {
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
        Expr::Value(_) | Expr::TypedString(_) | Expr::Interval(_) => true,
        // `-2.5` is one constant in PostgreSQL's grammar.
        Expr::UnaryOp { expr, .. } => matches!(expr.as_ref(), Expr::Value(_)),
        // A cast is named after its type (weakly) unless its operand has a strong name.
        Expr::Cast { expr, .. } => is_weak(expr) || expr_name(expr) == unknown(),
        Expr::Nested(expr) | Expr::Collate { expr, .. } => is_weak(expr),
        Expr::Case { else_result, .. } => else_result.as_deref().is_none_or(is_weak),
        _ => false,
    }
}

/// The name PostgreSQL gives a cast to `data_type`: the last part of the type's name as its
/// grammar spells it (`integer` is `int4`, `character varying(3)` is `varchar`, `text[]` is
/// `text`: an array is named after its element type).
fn type_name(data_type: &DataType) -> String {
    let with_zone = |tz: &TimezoneInfo| matches!(tz, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz);
    let name = match data_type {
        DataType::Array(
            ArrayElemTypeDef::SquareBracket(element, _)
            | ArrayElemTypeDef::AngleBracket(element)
            | ArrayElemTypeDef::Parenthesis(element),
        ) => return type_name(element),
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => "int4",
        DataType::BigInt(_) | DataType::Int8(_) => "int8",
        DataType::SmallInt(_) | DataType::Int2(_) => "int2",
        DataType::Bool | DataType::Boolean => "bool",
        DataType::Real | DataType::Float4 => "float4",
        DataType::Double(_) | DataType::DoublePrecision | DataType::Float8 => "float8",
        // `float(p)` is a float4 up to 24 bits of precision.
        DataType::Float(ExactNumberInfo::Precision(p)) if *p <= 24 => "float4",
        DataType::Float(_) => "float8",
        DataType::Numeric(_) | DataType::Decimal(_) | DataType::Dec(_) => "numeric",
        DataType::Character(_) | DataType::Char(_) => "bpchar",
        DataType::CharacterVarying(_) | DataType::CharVarying(_) | DataType::Varchar(_) => {
            "varchar"
        }
        DataType::Time(_, tz) if with_zone(tz) => "timetz",
        DataType::Time(..) => "time",
        DataType::Timestamp(_, tz) if with_zone(tz) => "timestamptz",
        DataType::Timestamp(..) => "timestamp",
        DataType::Interval { .. } => "interval",
        DataType::Bit(_) => "bit",
        DataType::BitVarying(_) | DataType::VarBit(_) => "varbit",
        DataType::Custom(name, _) => {
            // `pg_catalog.text`, `"char"`, `regclass`: the last part, folded as identifiers are.
            return name.0.last().map_or_else(unknown, |part| {
                part.as_ident()
                    .map_or_else(|| part.to_string().to_ascii_lowercase(), ident)
            });
        }
        other => {
            // Any other type: its name without modifiers, in lower case.
            let text = other.to_string().to_ascii_lowercase();
            return text.split('(').next().unwrap_or(&text).trim().to_owned();
        }
    };
    name.to_owned()
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

    /// Each name as PostgreSQL 15 gives it (`SELECT ...` in psql, column headers).
    #[test]
    fn sql_standard_forms_and_casts_follow_postgres() {
        let cases = [
            ("interval '1 day'", "interval"),
            ("interval '1' day", "interval"),
            ("now() at time zone 'UTC'", "timezone"),
            ("now() at time zone 'utc' at time zone 'utc'", "timezone"),
            ("substr('abc', 1, 2)", "substr"),
            ("substring('abc' from 1 for 2)", "substring"),
            ("substring('abc', 1)", "substring"),
            ("overlay('abc' placing 'x' from 2 for 1)", "overlay"),
            ("trim('a')", "btrim"),
            ("trim(leading 'a' from 'ab')", "ltrim"),
            ("trim(trailing 'a' from 'ab')", "rtrim"),
            ("trim(both 'a' from 'ab')", "btrim"),
            ("'{a}'::text[]", "text"),
            ("'{1}'::int[]", "int4"),
            ("('{a,b}'::text[])[2]", "text"),
            ("(1, 2)", "row"),
            ("'a' collate \"C\"", "?column?"),
            ("stage_name collate \"C\"", "stage_name"),
            ("cast(1 as numeric(10,2))", "numeric"),
            ("'1'::character varying(3)", "varchar"),
            ("'a'::char(3)", "bpchar"),
            ("'1'::bit(3)", "bit"),
            ("now()::timestamp with time zone", "now"),
            ("'1'::timestamp(3) with time zone", "timestamptz"),
            ("'10:00'::time with time zone", "timetz"),
            ("'1 day'::interval", "interval"),
            ("'a'::\"char\"", "char"),
            ("1::double precision", "float8"),
            ("1::float(24)", "float4"),
            ("1::float", "float8"),
            ("'x'::pg_catalog.text", "text"),
            ("'x'::name", "name"),
            ("1.5::decimal", "numeric"),
            ("timestamp '2020-01-01'", "timestamp"),
            ("date '2020-01-01'", "date"),
            ("(interval '1 day')::text", "text"),
            ("ceil(1.5)", "ceil"),
            ("ceiling(1.5)", "ceiling"),
            ("'a' || 'b'", "?column?"),
        ];
        for (expr, want) in cases {
            let got = names(&format!("select {expr} from t"), 1).expect("names");
            assert_eq!(got, vec![Some(want.to_owned())], "{expr}");
        }
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
