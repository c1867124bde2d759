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
//! - compared (`=`, `<>`, `<`, `<=`, `>`, `>=`, `BETWEEN`, or in an `IN` list) with a column of
//!   the stage table whose type is plain `text` (not json, jsonb or hstore, whose literals
//!   parse) or a timestamp (Grafana's `$__timeFilter` sends `col BETWEEN '…Z' AND '…Z'`),
//! - in the WHERE clause of a query that reads only that table: no joins, no CTEs, no set
//!   operations and no subqueries anywhere, so every unqualified name is that table's column.
//!
//! A text column compared with an unknown-typed string compares with it as text in
//! PostgreSQL and here, whether the string is written inline or bound. A timestamp column
//! compared with one reads it with the timestamp's input function, inline (at planning) or
//! bound ([`bound_values`], the same function, before each run). The session checks that the
//! planner typed every placeholder as the column's type before it keeps the plan, and plans
//! a text whose string does not read as written, so the error is the one planning gives.
//! Numbers, `LIMIT`, `ORDER BY 1`, function arguments (`date_trunc('month', …)`), intervals
//! and every other literal stay in the text, and so in the cache key.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Query, SetExpr, Statement, TableFactor, Value, Visit, Visitor,
};
use std::ops::ControlFlow;

use crate::schema::{TABLE_NAME, pg_type_tag, stage_schema};

/// More strings than this in one query: not rewritten (each would be one parameter).
const MAX_PARAMETERS: usize = 64;

/// A string taken out of a query text: what it said, and the type of the column it is
/// compared with (what its parameter must be planned as).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Taken {
    pub(crate) text: String,
    pub(crate) column_type: DataType,
}

/// `query` with its replaceable strings as `$1..$n`, and those strings in order; `None`
/// when it has none or is not of the form described in the module docs.
pub(crate) fn normalize(query: &Statement) -> Option<(Statement, Vec<Taken>)> {
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
fn replace_in(e: &mut Expr, values: &mut Vec<Taken>) {
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
                if let Some(t) = compared_column(left) {
                    take_string(right, t, values);
                } else if let Some(t) = compared_column(right) {
                    take_string(left, t, values);
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
        Expr::InList { expr, list, .. } => {
            if let Some(t) = compared_column(expr) {
                for item in list {
                    take_string(item, t.clone(), values);
                }
            }
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            if let Some(t) = compared_column(expr) {
                take_string(low, t.clone(), values);
                take_string(high, t, values);
            }
        }
        _ => {}
    }
}

/// The type of the plain `text` or timestamp column of the stage table `e` names (bare, or
/// after one qualifier, the table's name or alias: the query reads nothing else).
fn compared_column(e: &Expr) -> Option<DataType> {
    let ident = match e {
        Expr::Identifier(i) => i,
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => &parts[1],
        _ => return None,
    };
    let name = if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    };
    stage_schema()
        .field_with_name(&name)
        .ok()
        .filter(|f| pg_type_tag(f).is_none() && bindable(f.data_type()))
        .map(|f| f.data_type().clone())
}

/// The types a string is bound as: text, or a date or timestamp read by its input function.
fn bindable(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::Date32 | DataType::Timestamp(_, _)
    )
}

/// `taken` as the values of parameters planned as `types`: text as it is, a date or timestamp
/// read as PostgreSQL's input function reads it. `None` when a parameter was not planned as
/// the type of the column its string is compared with, or a string does not read as that type
/// (the text is then planned as written, and fails there as it should).
pub(crate) fn bound_values(
    taken: &[Taken],
    types: &[Option<DataType>],
) -> Option<Vec<ScalarValue>> {
    if taken.len() != types.len() {
        return None;
    }
    taken
        .iter()
        .zip(types)
        .map(|(taken, t)| match t {
            Some(t) if *t != taken.column_type => None,
            Some(DataType::Utf8) => Some(ScalarValue::Utf8(Some(taken.text.clone()))),
            Some(t) => crate::semantics::datetime_in::read_scalar(&taken.text, t)
                .ok()
                .flatten(),
            None => None,
        })
        .collect()
}

/// Replaces `e` with the next placeholder if it is a plain single-quoted string, compared
/// with a column of `column_type`.
fn take_string(e: &mut Expr, column_type: DataType, values: &mut Vec<Taken>) {
    let Expr::Value(v) = e else {
        return;
    };
    let Value::SingleQuotedString(s) = &v.value else {
        return;
    };
    values.push(Taken {
        text: s.clone(),
        column_type,
    });
    v.value = Value::Placeholder(format!("${}", values.len()));
}

/// A query text cut into tokens: every token as written, whitespace and comments included,
/// with each plain single-quoted string replaced by a mark ([`Tokens::key`]), and those strings
/// in order.
#[derive(Debug)]
pub(crate) struct Tokens {
    key: String,
    strings: Vec<String>,
}

/// The mark a string leaves in a [`Tokens::key`].
const STRING_MARK: char = '\u{1}';
/// What ends each other token in a [`Tokens::key`], so two texts never run together.
const TOKEN_END: char = '\u{0}';

/// `sql` as [`Tokens`]; `None` when it does not tokenize (it is then parsed, and fails, as
/// written).
pub(crate) fn tokens(sql: &str) -> Option<Tokens> {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let mut key = String::with_capacity(sql.len());
    let mut strings = Vec::new();
    for token in tokens {
        match token {
            Token::SingleQuotedString(s) => {
                key.push(STRING_MARK);
                strings.push(s);
            }
            other => {
                // Debug, not Display: it names the token's kind and quotes its contents, so
                // two different tokens never write the same text.
                let text = format!("{other:?}");
                // A token holding a mark or a separator could make two texts one key.
                if text.contains([STRING_MARK, TOKEN_END]) {
                    return None;
                }
                key.push_str(&text);
                key.push(TOKEN_END);
            }
        }
    }
    Some(Tokens { key, strings })
}

impl Tokens {
    /// The text with its strings marked: texts with equal keys differ only in the contents of
    /// their plain single-quoted strings.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }
}

/// Where the strings of a text with a given [`Tokens::key`] go: which are its parameters
/// (the strings [`normalize`] took, in parameter order) and which are part of the query and
/// must be exactly what they were.
///
/// Texts with equal keys parse to the same statement but for the contents of those strings,
/// since the parser reads a string token's kind, never its contents, and [`normalize`]
/// decides from the statement's shape, never a string's contents. So a text whose fixed
/// strings are as recorded normalizes to the same text, and its parameters are its strings at
/// the recorded places: no need to parse it.
#[derive(Debug)]
pub(crate) struct TokenShape {
    /// The normalized text (the key of the session's kept plans by shape).
    pub(crate) normal: String,
    /// Per parameter, the position of its string among the text's strings, and its type.
    params: Vec<(usize, DataType)>,
    /// The strings that are not parameters, by position, as they must be.
    fixed: Vec<(usize, String)>,
}

impl TokenShape {
    /// The shape of `tokens`, a text that normalized to `normal` taking `taken`; `None` when
    /// a taken string is not exactly one of the text's strings (two equal strings, or one
    /// the parser joined from several), so where it came from is not certain.
    pub(crate) fn new(tokens: &Tokens, normal: String, taken: &[Taken]) -> Option<TokenShape> {
        let mut params = Vec::with_capacity(taken.len());
        for t in taken {
            let mut at = tokens
                .strings
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == t.text);
            let (position, _) = at.next()?;
            if at.next().is_some() {
                return None;
            }
            params.push((position, t.column_type.clone()));
        }
        let fixed = tokens
            .strings
            .iter()
            .enumerate()
            .filter(|(i, _)| params.iter().all(|(p, _)| p != i))
            .map(|(i, s)| (i, s.clone()))
            .collect();
        Some(TokenShape {
            normal,
            params,
            fixed,
        })
    }

    /// The strings `tokens` binds as parameters; `None` when its fixed strings are not the
    /// recorded ones (it is then parsed and planned as usual).
    pub(crate) fn taken(&self, tokens: &Tokens) -> Option<Vec<Taken>> {
        let expected = self.params.len() + self.fixed.len();
        if tokens.strings.len() != expected
            || self
                .fixed
                .iter()
                .any(|(i, s)| tokens.strings.get(*i) != Some(s))
        {
            return None;
        }
        self.params
            .iter()
            .map(|(i, column_type)| {
                Some(Taken {
                    text: tokens.strings.get(*i)?.clone(),
                    column_type: column_type.clone(),
                })
            })
            .collect()
    }
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
                true,
            ),
            (
                format!(
                    "SELECT date_trunc('day', created_date) AS \"time\", count(*) AS value \
                     FROM {t} WHERE created_date BETWEEN '2023-01-01T00:00:00Z' \
                     AND '2025-06-01T00:00:00Z' GROUP BY 1 ORDER BY 1"
                ),
                true,
            ),
            (
                format!(
                    "SELECT count(*) AS n FROM {t} WHERE last_updated_date NOT BETWEEN \
                     '2024-01-01 12:00:00+05' AND '2030-01-01'"
                ),
                true,
            ),
            (
                format!(
                    "SELECT stage_name FROM {t} WHERE created_date IN ('2024-01-01', \
                     'epoch') OR created_date <= '1999-12-31 23:59:59.999999' ORDER BY 1"
                ),
                true,
            ),
            // A string that is no timestamp: planned as written, and fails there.
            (
                format!("SELECT count(*) AS n FROM {t} WHERE created_date > 'yesterdayish'"),
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

    /// A simple query as the wire runs one: a text kept before (exactly, or by its tokens)
    /// runs its kept plan; any other is parsed, planned and remembered. Says whether it was
    /// kept, and its answer.
    async fn simple(s: &Session, text: &str) -> (bool, String) {
        if let Some(p) = s.cached_text(text) {
            return (true, answer(s, Ok((*p).clone())).await);
        }
        let mut commands = match s.parse(text) {
            Ok(c) => c,
            Err(e) => return (false, format!("error {e}")),
        };
        let prepared = s.prepare(commands.remove(0)).await;
        if let Ok(p) = &prepared {
            s.remember_text(text, p);
        }
        (false, answer(s, prepared).await)
    }

    async fn as_written(s: &Session, text: &str) -> String {
        let mut commands = match s.parse(text) {
            Ok(c) => c,
            Err(e) => return format!("error {e}"),
        };
        answer(s, s.prepare_as_written(commands.remove(0)).await).await
    }

    /// A text of the same tokens as one run before, but for the strings it binds, runs the
    /// kept plan without being parsed, and answers as the text planned as written; any other
    /// difference (a string that is part of the query, spacing, a string that does not read
    /// as its column's type, a string met twice) goes the usual way.
    #[tokio::test]
    async fn texts_of_the_same_tokens_bind_their_strings_without_parsing() {
        let (_engine, s) = demo();
        let t = "aws.apigatewayv2_stage";
        let arns: Vec<String> = {
            let text = format!("SELECT stage_arn FROM {t} ORDER BY 1 LIMIT 2");
            let mut c = s.parse(&text).expect("parse");
            let p = s.prepare(c.remove(0)).await.expect("plan");
            let Ok(Output::Rows { stream, .. }) = s.execute(&p, Vec::new()).await else {
                panic!("rows")
            };
            let b = collect(stream).await.expect("rows");
            let a = datafusion::arrow::array::AsArray::as_string::<i32>(b[0].column(0));
            (0..datafusion::arrow::array::Array::len(a))
                .map(|i| a.value(i).to_owned())
                .collect()
        };
        let lookup = |tag: &str, arn: &str| {
            format!("SELECT '{tag}' AS tag, stage_name FROM {t} WHERE stage_arn = '{arn}'")
        };
        // (text, whether it runs a kept plan)
        let cases: Vec<(String, bool)> = vec![
            (lookup("x", &arns[0]), false),
            (lookup("x", &arns[1]), true),
            (lookup("x", "arn:nope"), true),
            (lookup("x", "it''s"), true),
            // The select list's string is part of the query.
            (lookup("y", &arns[0]), false),
            // So is an escape string, whatever its contents.
            (
                format!(
                    "SELECT E'a' AS tag FROM {t} WHERE stage_arn = '{}'",
                    arns[0]
                ),
                false,
            ),
            (
                format!(
                    "SELECT E'b' AS tag FROM {t} WHERE stage_arn = '{}'",
                    arns[1]
                ),
                false,
            ),
            (
                format!(
                    "SELECT E'a' AS tag FROM {t} WHERE stage_arn = '{}'",
                    arns[1]
                ),
                true,
            ),
            (lookup("x", &arns[0]).replace("WHERE", "WHERE  "), false),
            (
                format!("SELECT stage_name FROM {t} WHERE created_date > '2020-01-01'"),
                false,
            ),
            (
                format!("SELECT stage_name FROM {t} WHERE created_date > '2021-06-01 10:00'"),
                true,
            ),
            // Not a timestamp: parsed and planned, and fails as it should.
            (
                format!("SELECT stage_name FROM {t} WHERE created_date > 'soon'"),
                false,
            ),
            (
                format!("SELECT count(*) FROM {t} WHERE stage_name = 'a' OR description = 'a'"),
                false,
            ),
            // The same string twice: where each came from is not certain, so never by tokens.
            (
                format!("SELECT count(*) FROM {t} WHERE stage_name = 'b' OR description = 'b'"),
                false,
            ),
        ];
        for (text, kept) in &cases {
            let (was_kept, got) = simple(&s, text).await;
            assert_eq!(was_kept, *kept, "{text}");
            assert_eq!(got, as_written(&s, text).await, "{text}");
        }
    }
}
