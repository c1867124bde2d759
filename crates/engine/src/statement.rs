//! Parsing SQL text and sorting each statement into what the session does with it.
//!
//! Only queries reach DataFusion's planner. Session commands (SET, SHOW, transactions) are
//! answered here, and anything that would change data or touch files is refused before planning,
//! so nothing a client sends can modify the catalog or the server's files.

use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{
    self, Expr, Reset, ResetStatement, Set, Statement, UnaryOperator, Value,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::EngineError;

/// How deep expressions may nest before parsing fails (protects the stack from hostile SQL).
const RECURSION_LIMIT: usize = 100;

/// One statement, sorted.
#[derive(Debug, Clone)]
pub enum Command {
    /// A query: planned and run by DataFusion.
    Query(Box<Statement>),
    /// `EXPLAIN [ANALYZE] query`, answered in PostgreSQL's text form.
    Explain {
        /// The query explained.
        query: Box<Statement>,
        /// What was asked for.
        options: crate::explain::ExplainOptions,
    },
    /// `SET [LOCAL] name = value`; `None` means `DEFAULT`.
    Set {
        /// Parameter name as written.
        name: String,
        /// New value, or `None` for DEFAULT.
        value: Option<String>,
        /// `SET LOCAL`: until the transaction ends.
        local: bool,
    },
    /// `RESET name`, or `RESET ALL` when `None`.
    Reset(Option<String>),
    /// `SHOW name`, or `SHOW ALL`.
    Show(String),
    /// `BEGIN` / `START TRANSACTION`, with the command tag to answer.
    Begin(&'static str),
    /// `COMMIT` / `END`; `chain`: `AND CHAIN` (a new transaction block begins at once).
    Commit {
        /// `AND CHAIN`.
        chain: bool,
    },
    /// `ROLLBACK` / `ABORT`; `chain`: `AND CHAIN`.
    Rollback {
        /// `AND CHAIN`.
        chain: bool,
    },
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK TO [SAVEPOINT] name`.
    RollbackTo(String),
    /// A statement accepted and ignored, answered with this command tag (e.g. `SAVEPOINT`).
    Accepted(&'static str),
    /// `DISCARD ALL`.
    DiscardAll,
    /// `DEALLOCATE name` / `DEALLOCATE ALL` (`None`).
    Deallocate(Option<String>),
    /// `DECLARE name CURSOR [WITH HOLD] FOR query`.
    Declare {
        /// Cursor name.
        name: String,
        /// The cursor's query.
        query: Box<Statement>,
        /// `WITH HOLD`: the cursor outlives its transaction.
        hold: bool,
    },
    /// `FETCH` (or `MOVE`, which counts rows without returning them) from a cursor.
    Fetch {
        /// Cursor name.
        name: String,
        /// Rows to read; `None` is `ALL`.
        count: Option<u64>,
        /// `MOVE`: skip the rows instead of returning them.
        skip: bool,
    },
    /// `CLOSE name`, or `CLOSE ALL` (`None`).
    Close(Option<String>),
    /// `COPY (query) TO STDOUT` / `COPY table TO STDOUT` (what psql's `\copy ... to` sends).
    CopyOut {
        /// The query whose rows are copied.
        query: Box<Statement>,
        /// Output format and its options.
        options: CopyOptions,
    },
}

/// The format of `COPY ... TO STDOUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// Tab-separated text with backslash escapes.
    Text,
    /// RFC 4180 style CSV.
    Csv,
    /// PostgreSQL's binary COPY format.
    Binary,
}

/// The options of `COPY ... TO STDOUT`, with PostgreSQL's defaults per format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    /// Format.
    pub format: CopyFormat,
    /// Field separator.
    pub delimiter: char,
    /// How NULL is written.
    pub null: String,
    /// Whether a header line with the column names comes first (text and CSV).
    pub header: bool,
    /// CSV quote character.
    pub quote: char,
    /// CSV escape character (before a quote inside a quoted field).
    pub escape: char,
}

/// Splits `sql` into statements and sorts each. An empty or comment-only text gives none.
pub fn parse(sql: &str) -> Result<Vec<Command>, EngineError> {
    // sqlparser has no MOVE; it is FETCH without the rows.
    // (Sliced with `get`: byte 4 may fall inside a multi-byte character.)
    let trimmed = sql.trim_start();
    if let (Some(word), Some(rest)) = (trimmed.get(..4), trimmed.get(4..))
        && word.eq_ignore_ascii_case("move")
        && rest.len() > 1
        && rest.starts_with(char::is_whitespace)
    {
        let as_fetch = format!("FETCH{rest}");
        return parse(&as_fetch).map(|commands| {
            commands
                .into_iter()
                .map(|c| match c {
                    Command::Fetch { name, count, .. } => Command::Fetch {
                        name,
                        count,
                        skip: true,
                    },
                    other => other,
                })
                .collect()
        });
    }
    if let Some(spelled) = respelled(trimmed) {
        return parse(&spelled);
    }
    let dialect = PostgreSqlDialect {};
    let statements = match Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
    {
        Ok(statements) => statements,
        Err(err) => return Err(classify_unparsed(sql, err.to_string())),
    };
    let mut statements = statements;
    for statement in &mut statements {
        crate::limits::bound_expression_depth(statement)?;
    }
    statements.into_iter().map(classify).collect()
}

/// A text of one statement in a spelling PostgreSQL accepts and sqlparser does not, in one it
/// does (the same statement): `ABORT …` is `ROLLBACK …`, and `FETCH` (or `MOVE`) without
/// `FROM`/`IN` before its cursor (`FETCH c`, `FETCH 5 c`) gets one, and `NEXT` when it has no
/// direction. `None` for anything else.
fn respelled(text: &str) -> Option<String> {
    let body = text.trim_end().trim_end_matches(';').trim_end();
    // Quoted names and strings, comments and several statements are left as they are.
    if body.contains(['"', '\'', ';', '-', '/']) {
        return None;
    }
    let words: Vec<&str> = body.split_whitespace().collect();
    let first = words.first()?;
    if first.eq_ignore_ascii_case("abort") {
        let rest = body.get(first.len()..)?;
        return Some(format!("ROLLBACK{rest}"));
    }
    let fetch = first.eq_ignore_ascii_case("fetch") || first.eq_ignore_ascii_case("move");
    let has_from = words
        .iter()
        .any(|w| w.eq_ignore_ascii_case("from") || w.eq_ignore_ascii_case("in"));
    if !fetch || has_from || words.len() < 2 {
        return None;
    }
    let (cursor, direction) = words[1..].split_last()?;
    // `FETCH ALL` and its kin name no cursor: sqlparser's syntax error stands.
    const DIRECTIONS: [&str; 9] = [
        "all", "next", "prior", "first", "last", "forward", "backward", "absolute", "relative",
    ];
    if DIRECTIONS.iter().any(|d| cursor.eq_ignore_ascii_case(d))
        || cursor.starts_with(|c: char| c.is_ascii_digit() || c == '+')
    {
        return None;
    }
    let direction = if direction.is_empty() {
        "NEXT".to_owned()
    } else {
        direction.join(" ")
    };
    Some(format!("{first} {direction} FROM {cursor}"))
}

/// DataFusion's own extensions (`CREATE EXTERNAL TABLE`, `COPY ... TO 'file'` forms) do not
/// parse as PostgreSQL; recognise them so they are refused as writes, not as typos.
fn classify_unparsed(sql: &str, pg_error: String) -> EngineError {
    let dialect = PostgreSqlDialect {};
    let parsed = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .build()
        .and_then(|mut p| p.parse_statements());
    if let Ok(statements) = parsed {
        for s in statements {
            match s {
                DFStatement::CreateExternalTable(_) => {
                    return EngineError::ReadOnly {
                        command: "CREATE EXTERNAL TABLE".to_owned(),
                    };
                }
                DFStatement::CopyTo(_) => {
                    return EngineError::ReadOnly {
                        command: "COPY".to_owned(),
                    };
                }
                _ => {}
            }
        }
    }
    EngineError::Syntax(pg_error.trim_start_matches("sql parser error: ").to_owned())
}

fn classify(statement: Statement) -> Result<Command, EngineError> {
    Ok(match statement {
        Statement::Query(_) => Command::Query(Box::new(statement)),
        Statement::Explain {
            statement: inner,
            analyze,
            format,
            options,
            ..
        } => {
            let options = crate::explain::ExplainOptions::parse(
                analyze,
                format.as_ref(),
                options.as_deref(),
            )?;
            match classify(*inner)? {
                Command::Query(query) => Command::Explain { query, options },
                _ => {
                    return Err(EngineError::Unsupported(
                        "EXPLAIN of anything but a query".to_owned(),
                    ));
                }
            }
        }
        Statement::Set(set) => classify_set(set)?,
        Statement::Reset(ResetStatement { reset }) => match reset {
            Reset::ALL => Command::Reset(None),
            Reset::ConfigurationParameter(name) => Command::Reset(Some(name.to_string())),
        },
        Statement::ShowVariable { variable } => Command::Show(show_name(&variable)),
        Statement::StartTransaction { begin, .. } => {
            Command::Begin(if begin { "BEGIN" } else { "START TRANSACTION" })
        }
        Statement::Commit { chain, .. } => Command::Commit { chain },
        Statement::Rollback {
            savepoint: Some(name),
            ..
        } => Command::RollbackTo(ident_name(name)),
        Statement::Rollback { chain, .. } => Command::Rollback { chain },
        Statement::Savepoint { name } => Command::Savepoint(ident_name(name)),
        Statement::ReleaseSavepoint { name } => Command::Release(ident_name(name)),
        Statement::Discard { object_type } => match object_type {
            ast::DiscardObject::ALL => Command::DiscardAll,
            _ => Command::Accepted("DISCARD"),
        },
        Statement::Deallocate { name, .. } => {
            if name.value.eq_ignore_ascii_case("all") && name.quote_style.is_none() {
                Command::Deallocate(None)
            } else {
                Command::Deallocate(Some(name.value))
            }
        }
        Statement::Declare { stmts } => declare(stmts)?,
        Statement::Fetch {
            name, direction, ..
        } => Command::Fetch {
            name: name.value,
            count: fetch_count(&direction)?,
            skip: false,
        },
        Statement::Close { cursor } => match cursor {
            ast::CloseCursor::All => Command::Close(None),
            ast::CloseCursor::Specific { name } => Command::Close(Some(name.value)),
        },
        Statement::UNLISTEN { .. } => Command::Accepted("UNLISTEN"),
        Statement::LISTEN { .. } => Command::Accepted("LISTEN"),
        Statement::Copy {
            source,
            to: true,
            target: ast::CopyTarget::Stdout,
            options,
            legacy_options,
            ..
        } => copy_out(source, &options, &legacy_options)?,
        Statement::Copy { to, .. } => {
            return Err(EngineError::ReadOnly {
                command: if to { "COPY TO" } else { "COPY FROM" }.to_owned(),
            });
        }
        other => return Err(refuse(&other)),
    })
}

fn declare(stmts: Vec<ast::Declare>) -> Result<Command, EngineError> {
    let unsupported = || EngineError::Unsupported("this form of DECLARE".to_owned());
    let [d] = <[ast::Declare; 1]>::try_from(stmts).map_err(|_| unsupported())?;
    let (Some(query), Some(name)) = (d.for_query, d.names.into_iter().next()) else {
        return Err(unsupported());
    };
    Ok(Command::Declare {
        name: name.value,
        query: Box::new(Statement::Query(query)),
        hold: d.hold == Some(true),
    })
}

fn fetch_count(direction: &ast::FetchDirection) -> Result<Option<u64>, EngineError> {
    use ast::FetchDirection as D;
    let number = |v: &ast::ValueWithSpan| -> Result<i64, EngineError> {
        match &v.value {
            ast::Value::Number(n, _) => n
                .parse::<i64>()
                .map_err(|_| EngineError::Syntax(format!("invalid FETCH count {n}"))),
            other => Err(EngineError::Syntax(format!("invalid FETCH count {other}"))),
        }
    };
    let forward_only = || {
        EngineError::Unsupported(
            "FETCH backward or by position (cursors are forward-only)".to_owned(),
        )
    };
    match direction {
        D::Next => Ok(Some(1)),
        D::All | D::ForwardAll => Ok(None),
        D::Forward { limit: None } => Ok(Some(1)),
        D::Count { limit } | D::Forward { limit: Some(limit) } => {
            let n = number(limit)?;
            u64::try_from(n).map(Some).map_err(|_| forward_only())
        }
        D::Relative { limit } if number(limit)? >= 0 => Ok(Some(number(limit)?.unsigned_abs())),
        _ => Err(forward_only()),
    }
}

fn copy_out(
    source: ast::CopySource,
    options: &[ast::CopyOption],
    legacy: &[ast::CopyLegacyOption],
) -> Result<Command, EngineError> {
    let query = match source {
        ast::CopySource::Query(q) => Statement::Query(q),
        ast::CopySource::Table {
            table_name,
            columns,
        } => {
            let list = if columns.is_empty() {
                "*".to_owned()
            } else {
                columns
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let sql = format!("SELECT {list} FROM {table_name}");
            Parser::parse_sql(&PostgreSqlDialect {}, &sql)
                .map_err(|e| EngineError::Syntax(e.to_string()))?
                .pop()
                .ok_or_else(|| EngineError::Syntax("empty COPY source".to_owned()))?
        }
    };
    let mut format = CopyFormat::Text;
    let (mut delimiter, mut null, mut header, mut quote, mut escape) =
        (None, None, false, None, None);
    let unsupported = |what: String| Err(EngineError::Unsupported(format!("COPY option {what}")));
    for option in options {
        match option {
            ast::CopyOption::Format(f) => {
                format = match f.value.to_ascii_lowercase().as_str() {
                    "text" => CopyFormat::Text,
                    "csv" => CopyFormat::Csv,
                    "binary" => CopyFormat::Binary,
                    other => return unsupported(format!("FORMAT {other}")),
                }
            }
            ast::CopyOption::Delimiter(c) => delimiter = Some(*c),
            ast::CopyOption::Null(n) => null = Some(n.clone()),
            ast::CopyOption::Header(h) => header = *h,
            ast::CopyOption::Quote(c) => quote = Some(*c),
            ast::CopyOption::Escape(c) => escape = Some(*c),
            ast::CopyOption::Encoding(e)
                if matches!(e.to_ascii_uppercase().as_str(), "UTF8" | "UTF-8") => {}
            other => return unsupported(other.to_string()),
        }
    }
    for option in legacy {
        match option {
            ast::CopyLegacyOption::Binary => format = CopyFormat::Binary,
            ast::CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
            ast::CopyLegacyOption::Null(n) => null = Some(n.clone()),
            ast::CopyLegacyOption::Header => header = true,
            ast::CopyLegacyOption::Csv(csv) => {
                format = CopyFormat::Csv;
                for o in csv {
                    match o {
                        ast::CopyLegacyCsvOption::Header => header = true,
                        ast::CopyLegacyCsvOption::Quote(c) => quote = Some(*c),
                        ast::CopyLegacyCsvOption::Escape(c) => escape = Some(*c),
                        other => return unsupported(other.to_string()),
                    }
                }
            }
            other => return unsupported(other.to_string()),
        }
    }
    let csv = format == CopyFormat::Csv;
    let quote = quote.unwrap_or('"');
    Ok(Command::CopyOut {
        query: Box::new(query),
        options: CopyOptions {
            format,
            delimiter: delimiter.unwrap_or(if csv { ',' } else { '\t' }),
            null: null.unwrap_or_else(|| if csv { String::new() } else { "\\N".to_owned() }),
            header,
            quote,
            escape: escape.unwrap_or(quote),
        },
    })
}

/// Writes are refused with 25006 naming the command; anything else is unsupported.
fn refuse(statement: &Statement) -> EngineError {
    const WRITES: [&str; 19] = [
        "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT",
        "REVOKE", "COMMENT", "VACUUM", "ANALYZE", "CLUSTER", "REINDEX", "REFRESH", "LOCK", "CALL",
        "UPSERT",
    ];
    let text = statement.to_string();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or_default().to_ascii_uppercase();
    if WRITES.contains(&first.as_str()) {
        let command = if matches!(first.as_str(), "CREATE" | "ALTER" | "DROP") {
            let second: String = words
                .find(|w| {
                    !matches!(
                        w.to_ascii_uppercase().as_str(),
                        "OR" | "REPLACE" | "TEMPORARY" | "TEMP" | "UNIQUE" | "EXTERNAL"
                    )
                })
                .unwrap_or_default()
                .to_ascii_uppercase();
            format!("{first} {second}")
        } else {
            first
        };
        return EngineError::ReadOnly { command };
    }
    EngineError::Unsupported(format!("statement {first}"))
}

fn classify_set(set: Set) -> Result<Command, EngineError> {
    Ok(match set {
        Set::SingleAssignment {
            variable,
            values,
            scope,
            ..
        } => {
            let name = variable.to_string();
            Command::Set {
                value: set_value(&values),
                name,
                local: matches!(scope, Some(ast::ContextModifier::Local)),
            }
        }
        Set::SetTimeZone { value, local } => Command::Set {
            name: "TimeZone".to_owned(),
            value: set_value(std::slice::from_ref(&value)),
            local,
        },
        Set::SetNames { charset_name, .. } => Command::Set {
            name: "client_encoding".to_owned(),
            value: Some(charset_name.value),
            local: false,
        },
        Set::SetNamesDefault {} => Command::Set {
            name: "client_encoding".to_owned(),
            value: None,
            local: false,
        },
        // Isolation levels and read-only modes are always satisfied: every query reads one
        // immutable snapshot and nothing can write.
        Set::SetTransaction { .. } => Command::Accepted("SET"),
        Set::SetRole {
            role_name,
            context_modifier,
        } => Command::Set {
            name: "role".to_owned(),
            value: role_name.map(|r| r.value),
            local: matches!(context_modifier, Some(ast::ContextModifier::Local)),
        },
        Set::SetSessionAuthorization(param) => Command::Set {
            name: "session_authorization".to_owned(),
            value: Some(param.to_string()),
            local: false,
        },
        other => {
            return Err(EngineError::Unsupported(format!("{other}")));
        }
    })
}

/// The value list of a SET: quoted strings unquoted, identifiers and numbers as written,
/// several values joined by ", ". `DEFAULT` (or `LOCAL` for time zones) gives `None`.
fn set_value(values: &[Expr]) -> Option<String> {
    let parts: Vec<String> = values
        .iter()
        .map(|e| match e {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s)
                | Value::DoubleQuotedString(s)
                | Value::EscapedStringLiteral(s) => s.clone(),
                Value::Number(n, _) => n.to_string(),
                Value::Boolean(b) => if *b { "on" } else { "off" }.to_owned(),
                other => other.to_string(),
            },
            Expr::Identifier(id) => id.value.clone(),
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => format!("-{expr}"),
            other => other.to_string(),
        })
        .collect();
    if parts.len() == 1
        && (parts[0].eq_ignore_ascii_case("default") || parts[0].eq_ignore_ascii_case("local"))
        && !matches!(&values[0], Expr::Value(_))
    {
        return None;
    }
    Some(parts.join(", "))
}

/// A name as PostgreSQL keeps it: folded to lower case unless quoted.
fn ident_name(ident: ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value
    } else {
        ident.value.to_lowercase()
    }
}

/// `SHOW TRANSACTION ISOLATION LEVEL` is PostgreSQL's spelling of `transaction_isolation`.
fn show_name(variable: &[ast::Ident]) -> String {
    let words: Vec<String> = variable
        .iter()
        .map(|i| i.value.to_ascii_lowercase())
        .collect();
    match words.join(" ").as_str() {
        "transaction isolation level" => "transaction_isolation".to_owned(),
        "time zone" => "TimeZone".to_owned(),
        "session authorization" => "session_authorization".to_owned(),
        _ => variable
            .iter()
            .map(|i| i.value.clone())
            .collect::<Vec<_>>()
            .join("."),
    }
}

/// Types written on placeholders, `$1::int8` → `{1: int8's oid}`, for parameters DataFusion
/// leaves untyped (a cast hides the placeholder from its type inference).
pub fn placeholder_casts(statement: &Statement) -> std::collections::HashMap<usize, u32> {
    use std::ops::ControlFlow;
    let mut out = std::collections::HashMap::new();
    let _ = ast::visit_expressions(statement, |e: &ast::Expr| {
        if let ast::Expr::Cast {
            expr, data_type, ..
        } = e
            && let ast::Expr::Value(ast::ValueWithSpan {
                value: ast::Value::Placeholder(p),
                ..
            }) = expr.as_ref()
            && let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
            && let Some(oid) = placeholder_type_oid(data_type)
        {
            out.entry(n).or_insert(oid);
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// The OID of a type named in a cast; `oid[]` is the array type `_oid`.
fn placeholder_type_oid(data_type: &ast::DataType) -> Option<u32> {
    let name = data_type.to_string().to_ascii_lowercase();
    let names = crate::pg_catalog::names();
    match name.strip_suffix("[]") {
        Some(element) => names.type_oid(&format!("_{}", element.trim())),
        None => names.type_oid(&name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Result<Command, EngineError> {
        let mut v = parse(sql)?;
        assert_eq!(v.len(), 1, "{sql}");
        Ok(v.remove(0))
    }

    /// PostgreSQL spellings sqlparser lacks: ABORT, and FETCH/MOVE without FROM.
    #[test]
    fn abort_and_fetch_without_from_parse() {
        assert!(matches!(
            one("ABORT"),
            Ok(Command::Rollback { chain: false })
        ));
        assert!(matches!(
            one("abort work and chain;"),
            Ok(Command::Rollback { chain: true })
        ));
        assert!(matches!(
            one("FETCH c"),
            Ok(Command::Fetch { name, count: Some(1), skip: false }) if name == "c"
        ));
        assert!(matches!(
            one("fetch 5 c"),
            Ok(Command::Fetch { name, count: Some(5), skip: false }) if name == "c"
        ));
        assert!(matches!(
            one("MOVE c"),
            Ok(Command::Fetch { name, skip: true, .. }) if name == "c"
        ));
        assert!(matches!(one("FETCH ALL"), Err(EngineError::Syntax(_))));
    }

    #[test]
    fn empty_and_comment_only_texts_have_no_statements() {
        for sql in ["", "  ", ";", "-- ping", "/* c */ ;", "-- a\n-- b\n"] {
            assert!(parse(sql).expect("parses").is_empty(), "{sql:?}");
        }
    }

    #[test]
    fn multi_byte_characters_near_the_start_never_panic() {
        // "mo" + U+FFFD puts byte 4 inside a character; so do other starts.
        for sql in [
            "mo\u{FFFD}x SELECT 1",
            "\u{FFFD}\u{FFFD}",
            "mov\u{e9} 1",
            "move\u{FFFD}",
            "é",
            "SELECT '\u{FFFD}'",
            "m\u{1F600}ve 1",
        ] {
            let _ = parse(sql);
        }
        assert!(matches!(
            one("MOVE 2 IN c"),
            Ok(Command::Fetch { skip: true, .. })
        ));
    }

    #[test]
    fn several_statements_in_one_text() {
        let v = parse("BEGIN; SELECT 1; SET application_name = 'x'; COMMIT").expect("parses");
        assert!(matches!(v[0], Command::Begin("BEGIN")));
        assert!(matches!(v[1], Command::Query(_)));
        assert!(
            matches!(&v[2], Command::Set { name, value: Some(v), .. } if name == "application_name" && v == "x")
        );
        assert!(matches!(v[3], Command::Commit { chain: false }));
    }

    #[test]
    fn writes_are_refused_as_read_only() {
        for (sql, command) in [
            (
                "INSERT INTO aws.apigatewayv2_stage (_key) VALUES ('x')",
                "INSERT",
            ),
            (
                "UPDATE aws.apigatewayv2_stage SET description = 'x'",
                "UPDATE",
            ),
            ("DELETE FROM aws.apigatewayv2_stage", "DELETE"),
            ("CREATE TABLE t (a int)", "CREATE TABLE"),
            ("CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE VIEW"),
            ("DROP TABLE aws.apigatewayv2_stage", "DROP TABLE"),
            ("TRUNCATE aws.apigatewayv2_stage", "TRUNCATE"),
            ("COPY aws.apigatewayv2_stage TO '/tmp/x.csv'", "COPY TO"),
            (
                "COPY aws.apigatewayv2_stage FROM '/etc/passwd'",
                "COPY FROM",
            ),
            (
                "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
                "CREATE EXTERNAL TABLE",
            ),
            ("EXPLAIN DELETE FROM aws.apigatewayv2_stage", "DELETE"),
        ] {
            match one(sql) {
                Err(EngineError::ReadOnly { command: c }) => assert_eq!(c, command, "{sql}"),
                other => panic!("{sql}: {other:?}"),
            }
        }
    }

    #[test]
    fn copy_to_stdout_takes_postgres_defaults() {
        let Ok(Command::CopyOut { options, query }) =
            one("COPY (SELECT 1) TO STDOUT WITH (FORMAT csv, HEADER)")
        else {
            panic!("copy out")
        };
        assert_eq!(query.to_string(), "SELECT 1");
        assert_eq!(
            (
                options.format,
                options.delimiter,
                options.null.as_str(),
                options.header
            ),
            (CopyFormat::Csv, ',', "", true)
        );
        let Ok(Command::CopyOut { options, query }) =
            one("COPY aws.apigatewayv2_stage (_key, tags) TO STDOUT")
        else {
            panic!("copy out")
        };
        assert_eq!(
            query.to_string(),
            "SELECT _key, tags FROM aws.apigatewayv2_stage"
        );
        assert_eq!(
            (options.format, options.delimiter, options.null.as_str()),
            (CopyFormat::Text, '\t', "\\N")
        );
        assert!(matches!(
            one("COPY (SELECT 1) TO STDOUT (FORMAT xml)"),
            Err(EngineError::Unsupported(_))
        ));
    }

    #[test]
    fn syntax_errors_are_syntax_errors() {
        assert!(matches!(one("SELEC 1"), Err(EngineError::Syntax(_))));
        assert!(matches!(one("SELECT (1"), Err(EngineError::Syntax(_))));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let sql = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(matches!(parse(&sql), Err(EngineError::Syntax(_))));
    }

    #[test]
    fn set_and_show_spellings() {
        assert!(
            matches!(one("SET TIME ZONE 'UTC'"), Ok(Command::Set { name, value: Some(v), local: false }) if name == "TimeZone" && v == "UTC")
        );
        assert!(
            matches!(one("SET search_path TO aws, public"), Ok(Command::Set { value: Some(v), .. }) if v == "aws, public")
        );
        assert!(
            matches!(one("SET extra_float_digits = 3"), Ok(Command::Set { value: Some(v), .. }) if v == "3")
        );
        assert!(matches!(
            one("SET statement_timeout TO DEFAULT"),
            Ok(Command::Set { value: None, .. })
        ));
        assert!(
            matches!(one("SHOW TRANSACTION ISOLATION LEVEL"), Ok(Command::Show(n)) if n == "transaction_isolation")
        );
        assert!(matches!(one("show DateStyle"), Ok(Command::Show(n)) if n == "DateStyle"));
        assert!(matches!(
            one("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED"),
            Ok(Command::Accepted("SET"))
        ));
        assert!(matches!(one("RESET ALL"), Ok(Command::Reset(None))));
    }
}
