//! Literal auto-parameterization: a query text that differs from one planned before only in
//! the strings it compares text columns with is not planned again.
//!
//! Tools send the same query with a new literal each time (`… WHERE stage_arn = 'arn:…'`), and
//! planning costs far more than answering from the index. [`normalize`] replaces each such
//! string with a placeholder; the session keeps one plan per normalized text (see
//! [`crate::plan_cache::TextCache`]) and runs it with this text's strings bound, through the
//! statement's generic plan ([`crate::generic`]).
//!
//! Only a form whose meaning cannot depend on the string is rewritten, so the rewritten
//! query means what the text says:
//! - a plain single-quoted string (no cast, escape string, collation or other literal kind),
//! - compared (`=`, `<>`, `<`, `<=`, `>`, `>=`, or in an `IN` list) with a column of the stage
//!   table whose type is plain `text` (not json, jsonb or hstore, whose literals parse),
//! - in the WHERE clause of a query that reads only that table: no joins, no CTEs, no set
//!   operations and no subqueries anywhere, so every unqualified name is that table's column.
//!
//! A text column compared with an unknown-typed string compares with it as text in
//! PostgreSQL and here, whether the string is written inline or bound; the session also
//! checks that the planner typed every placeholder as text before it keeps the plan.
//! Numbers, `LIMIT`, `ORDER BY 1`, function arguments (`date_trunc('month', …)`), intervals
//! and every other literal stay in the text, and so in the cache key.

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Query, SetExpr, Statement, TableFactor, Value, Visit, Visitor,
};
use std::ops::ControlFlow;

use crate::schema::{TABLE_NAME, pg_type_tag, stage_schema};

/// More strings than this in one query: not rewritten (each would be one parameter).
const MAX_PARAMETERS: usize = 64;

/// `query` with its replaceable strings as `$1..$n`, and those strings in order; `None`
/// when it has none or is not of the form described in the module docs.
pub(crate) fn normalize(query: &Statement) -> Option<(Statement, Vec<String>)> {
    let Statement::Query(q) = query else {
        return None;
    };
    if !single_table_select(q) || has_subquery_or_placeholder(query) {
        return None;
    }
    let mut normal = query.clone();
    let Statement::Query(nq) = &mut normal else {
        return None;
    };
    let SetExpr::Select(select) = nq.body.as_mut() else {
        return None;
    };
    let selection = select.selection.as_mut()?;
    let mut values = Vec::new();
    replace_in(selection, &mut values);
    if values.is_empty() || values.len() > MAX_PARAMETERS {
        return None;
    }
    Some((normal, values))
}

/// `SELECT … FROM <the stage table> [alias] WHERE …` with nothing else that brings names in.
fn single_table_select(q: &Query) -> bool {
    if q.with.is_some() || !q.pipe_operators.is_empty() {
        return false;
    }
    let SetExpr::Select(select) = q.body.as_ref() else {
        return false;
    };
    if select.from.len() != 1 || !select.from[0].joins.is_empty() || select.selection.is_none() {
        return false;
    }
    if !select.lateral_views.is_empty() || select.prewhere.is_some() || select.into.is_some() {
        return false;
    }
    let TableFactor::Table {
        name, args: None, ..
    } = &select.from[0].relation
    else {
        return false;
    };
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident())
        .map(|i| {
            if i.quote_style.is_some() {
                i.value.clone()
            } else {
                i.value.to_ascii_lowercase()
            }
        })
        .collect();
    parts.len() == name.0.len()
        && match parts.as_slice() {
            [table] | [_, table] => table == TABLE_NAME,
            _ => false,
        }
}

/// Whether a subquery (whose names could shadow the table's) or a `$n` is anywhere in it.
fn has_subquery_or_placeholder(statement: &Statement) -> bool {
    /// Counts the queries met: the statement's own is the first.
    struct Finder(usize);
    impl Visitor for Finder {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.0 += 1;
            if self.0 > 1 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                    ControlFlow::Break(())
                }
                Expr::Value(v) if matches!(v.value, Value::Placeholder(_)) => {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    statement.visit(&mut Finder(0)).is_break()
}

/// Replaces the strings compared with text columns in `e` (through AND, OR, NOT and
/// parentheses only), appending each to `values` and naming it `$len`.
fn replace_in(e: &mut Expr, values: &mut Vec<String>) {
    match e {
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And | BinaryOperator::Or => {
                replace_in(left, values);
                replace_in(right, values);
            }
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => {
                if text_column(left) {
                    take_string(right, values);
                } else if text_column(right) {
                    take_string(left, values);
                }
            }
            _ => {}
        },
        Expr::Nested(inner) => replace_in(inner, values),
        Expr::UnaryOp { op, expr }
            if *op == datafusion::sql::sqlparser::ast::UnaryOperator::Not =>
        {
            replace_in(expr, values);
        }
        Expr::InList { expr, list, .. } if text_column(expr) => {
            for item in list {
                take_string(item, values);
            }
        }
        _ => {}
    }
}

/// Whether `e` names a plain `text` column of the stage table (bare, or after one qualifier,
/// the table's name or alias: the query reads nothing else).
fn text_column(e: &Expr) -> bool {
    let ident = match e {
        Expr::Identifier(i) => i,
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => &parts[1],
        _ => return false,
    };
    let name = if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    };
    stage_schema().field_with_name(&name).is_ok_and(|f| {
        *f.data_type() == datafusion::arrow::datatypes::DataType::Utf8 && pg_type_tag(f).is_none()
    })
}

/// Replaces `e` with the next placeholder if it is a plain single-quoted string.
fn take_string(e: &mut Expr, values: &mut Vec<String>) {
    let Expr::Value(v) = e else {
        return;
    };
    let Value::SingleQuotedString(s) = &v.value else {
        return;
    };
    values.push(s.clone());
    v.value = Value::Placeholder(format!("${}", values.len()));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::util::pretty::pretty_format_batches_with_schema;
    use datafusion::physical_plan::common::collect;

    use crate::testing::demo;
    use crate::{Output, Prepared, Session};

    async fn answer(s: &Session, prepared: Result<Prepared, crate::EngineError>) -> String {
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => return format!("error {e}"),
        };
        match s.execute(&prepared, Vec::new()).await {
            Ok(Output::Rows { schema, stream }) => match collect(stream).await {
                Ok(batches) => pretty_format_batches_with_schema(schema, &batches)
                    .expect("format")
                    .to_string(),
                Err(e) => format!("error {e}"),
            },
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("error {e}"),
        }
    }

    /// Each text answers as planning it as written does, whether its strings were bound into
    /// a kept plan or not; and the texts of the rewritable form share one plan.
    #[tokio::test]
    async fn a_text_with_its_strings_bound_answers_as_the_text_planned_as_written() {
        let (_engine, s) = demo();
        let t = "aws.apigatewayv2_stage";
        let arn = {
            let mut c = s
                .parse(&format!("SELECT min(stage_arn) FROM {t}"))
                .expect("parse");
            let p = s.prepare(c.remove(0)).await.expect("plan");
            let Ok(Output::Rows { stream, .. }) = s.execute(&p, Vec::new()).await else {
                panic!("rows")
            };
            let b = collect(stream).await.expect("rows");
            datafusion::arrow::array::AsArray::as_string::<i32>(b[0].column(0))
                .value(0)
                .to_owned()
        };
        // (text, whether its strings are bound)
        let cases: Vec<(String, bool)> = vec![
            (
                format!("SELECT stage_name FROM {t} WHERE stage_arn = '{arn}'"),
                true,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE stage_arn = 'arn:nope'"),
                true,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE stage_arn = ''"),
                true,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE '{arn}' = stage_arn"),
                true,
            ),
            (
                format!(
                    "SELECT count(*) AS n FROM {t} s WHERE s.region = 'us-east-1' \
                     AND stage_name <> 'prod'"
                ),
                true,
            ),
            (
                format!(
                    "SELECT _key FROM {t} WHERE account_id IN ('1', '123456789012') ORDER BY 1"
                ),
                true,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE STAGE_NAME >= 'm' ORDER BY 1 LIMIT 3"),
                true,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE stage_name = 'it''s'"),
                true,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE stage_name = 'étape ☃'"),
                true,
            ),
            (
                format!(
                    "SELECT region, count(*) AS n FROM {t} WHERE NOT (region = 'eu-west-1') \
                     OR (stage_name < 'b') GROUP BY region ORDER BY region"
                ),
                true,
            ),
            // Not the rewritable form: planned as written.
            (
                format!("SELECT stage_name FROM {t} WHERE tags = 'a=>1'"),
                false,
            ),
            (
                format!("SELECT count(*) AS n FROM {t} WHERE created_date > '2024-01-01'"),
                false,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE stage_name = 'x'::text"),
                false,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE stage_name = E'x'"),
                false,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE stage_name IN (SELECT 'prod')"),
                false,
            ),
            (
                format!(
                    "SELECT a.stage_name FROM {t} a JOIN {t} b ON a._key = b._key WHERE a.region = 'x'"
                ),
                false,
            ),
            (format!("SELECT 'x' AS a FROM {t} WHERE 1 = 1"), false),
            // Fails the same way either way.
            (
                format!("SELECT nothing FROM {t} WHERE stage_name = 'x'"),
                false,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE \"STAGE_NAME\" = 'x'"),
                false,
            ),
        ];
        for (text, bound) in &cases {
            let mut commands = s.parse(text).expect("parse");
            let command = commands.remove(0);
            let auto = s.prepare(command.clone()).await;
            let is_bound = auto.as_ref().is_ok_and(|p| p.bound.is_some());
            assert_eq!(is_bound, *bound, "{text}");
            let got = answer(&s, auto).await;
            let want = answer(&s, s.prepare_as_written(command).await).await;
            assert_eq!(got, want, "{text}");
        }
        // The four stage_arn texts share one plan, and so its generic plan.
        let mut plans = Vec::new();
        for text in cases.iter().take(3).map(|(t, _)| t) {
            let mut commands = s.parse(text).expect("parse");
            let p = s.prepare(commands.remove(0)).await.expect("plan");
            plans.push(Arc::clone(&p.generic));
        }
        assert!(plans.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
        assert!(
            plans[0].get().is_some_and(Option::is_some),
            "generic plan built"
        );
    }
}
