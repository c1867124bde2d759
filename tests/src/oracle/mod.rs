//! PostgreSQL as the oracle: a throwaway PostgreSQL 15 cluster, a raw-protocol client that sees
//! exactly what a driver sees (column names, type OIDs, text values, SQLSTATEs) through the
//! simple and the extended protocol, and the corpus and known-differences files the oracle test
//! reads (`tests/oracle/`).

mod client;
mod postgres;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use client::{Answer, RawClient};

/// The stage table as PostgreSQL DDL (what `\d aws.apigatewayv2_stage` describes here), with
/// the hstore extension it uses; run in the oracle's `stagesql` database.
pub const STAGE_TABLE_DDL: &str = "
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE SCHEMA aws;
CREATE TABLE aws.apigatewayv2_stage (
  _key text NOT NULL PRIMARY KEY, access_log_settings json, account_id text NOT NULL,
  api_gateway_managed boolean, auto_deploy boolean, client_certificate_id text,
  created_date timestamp, default_route_settings json, deployment_id text, description text,
  last_deployment_status_message text, last_updated_date timestamp, route_settings text,
  stage_arn text NOT NULL, stage_name text NOT NULL, stage_variables hstore, tags hstore,
  region text NOT NULL, api_id text NOT NULL
);
";

pub use postgres::{PG_BIN, Postgres};

/// Sets `pg` up like our server: `role` (the CREATE ROLE for `stagesql`) owning `database`
/// (the CREATE DATABASE for `stagesql`), holding the stage table with our comments (`ours`
/// is a client of our server). Returns a client of that database, as `stagesql`.
pub async fn stage_database(
    pg: &Postgres,
    ours: &tokio_postgres::Client,
    role: &str,
    database: &str,
) -> tokio_postgres::Client {
    let (admin, conn) = tokio_postgres::connect(&pg.conn_str(), tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(conn);
    for sql in [role, database] {
        admin.batch_execute(sql).await.expect(sql);
    }
    let (theirs, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=stagesql dbname=stagesql",
            pg.port()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect to the stagesql database");
    tokio::spawn(conn);
    theirs.batch_execute(STAGE_TABLE_DDL).await.expect("DDL");
    copy_comments(ours, &theirs).await;
    theirs
}

/// Gives PostgreSQL's stage table (in `theirs`) the comments ours has, on the table and its
/// 19 columns.
async fn copy_comments(ours: &tokio_postgres::Client, theirs: &tokio_postgres::Client) {
    let comments = ours
        .query(
            "SELECT 'COMMENT ON TABLE aws.apigatewayv2_stage IS '
                    || quote_literal(obj_description('aws.apigatewayv2_stage'::regclass, 'pg_class'))
             UNION ALL
             SELECT 'COMMENT ON COLUMN aws.apigatewayv2_stage.' || attname || ' IS '
                    || quote_literal(col_description(attrelid, attnum))
             FROM pg_attribute
             WHERE attrelid = 'aws.apigatewayv2_stage'::regclass AND attnum > 0",
            &[],
        )
        .await
        .expect("our comments");
    assert_eq!(comments.len(), 20, "the table's comment and 19 columns'");
    for row in comments {
        let sql: String = row.get(0);
        theirs.batch_execute(&sql).await.expect("COMMENT");
    }
}

/// One query of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    /// The corpus file's stem: the category.
    pub category: String,
    /// `file:line` of its first line.
    pub place: String,
    /// The query text, as written.
    pub sql: String,
}

impl Case {
    /// The text differences are keyed by: whitespace collapsed.
    pub fn key(&self) -> String {
        normalize(&self.sql)
    }
}

/// Collapses runs of whitespace to one space and trims.
pub fn normalize(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads every `*.sql` file of `dir`: one query per block, blocks separated by blank lines,
/// lines starting with `--` are comments.
pub fn read_corpus(dir: &Path) -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let category = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&file).expect("corpus file");
        let mut block: Vec<&str> = Vec::new();
        let mut start = 0;
        for (i, line) in text.lines().chain(std::iter::once("")).enumerate() {
            if line.trim().is_empty() {
                if !block.is_empty() {
                    cases.push(Case {
                        category: category.clone(),
                        place: format!(
                            "{}:{}",
                            file.file_name().unwrap_or_default().to_string_lossy(),
                            start + 1
                        ),
                        sql: block.join("\n"),
                    });
                    block.clear();
                }
                continue;
            }
            if line.trim_start().starts_with("--") {
                continue;
            }
            if block.is_empty() {
                start = i;
            }
            block.push(line);
        }
    }
    cases
}

/// How a query is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// One Query message.
    Simple,
    /// Parse/Bind/Describe/Execute/Sync, no parameters.
    Extended,
    /// Extended, with the query's comparison literals sent as untyped parameters.
    Params,
}

impl Mode {
    /// Its name in the known-differences file.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Simple => "simple",
            Mode::Extended => "extended",
            Mode::Params => "params",
        }
    }
}

/// The text with the literals a driver would send as parameters (a quoted string or a number
/// right after a comparison operator, `LIKE`, `LIMIT` or `OFFSET`) replaced by `$1`, `$2`, ...,
/// and their values. `None` when the query has no such literal.
pub fn parameterize(sql: &str) -> Option<(String, Vec<Option<String>>)> {
    let b = sql.as_bytes();
    let mut out = String::new();
    let mut params = Vec::new();
    let mut i = 0;
    // The last significant token before `i`, lowercased.
    let mut last = String::new();
    while i < b.len() {
        let c = b[i];
        if c == b'\'' {
            // A string literal ('' escapes a quote).
            let mut j = i + 1;
            let mut value = String::new();
            while j < b.len() {
                if b[j] == b'\'' {
                    if j + 1 < b.len() && b[j + 1] == b'\'' {
                        value.push('\'');
                        j += 2;
                        continue;
                    }
                    break;
                }
                let ch = sql[j..].chars().next().unwrap_or(' ');
                value.push(ch);
                j += ch.len_utf8();
            }
            let literal = &sql[i..(j + 1).min(b.len())];
            // Not after E/B/X prefixes or a type name (typed literals stay literals).
            let prefixed = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
            let followed_by_cast = sql[(j + 1).min(b.len())..].trim_start().starts_with("::");
            if !prefixed && !followed_by_cast && takes_parameter(&last) {
                params.push(Some(value));
                out.push_str(&format!("${}", params.len()));
            } else {
                out.push_str(literal);
            }
            last = "'".to_owned();
            i = j + 1;
            continue;
        }
        if c.is_ascii_digit()
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.'))
        {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            let ends_word = j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_');
            let followed_by_cast = sql[j..].trim_start().starts_with("::");
            if !ends_word
                && !followed_by_cast
                && (takes_parameter(&last) || last == "limit" || last == "offset")
            {
                params.push(Some(sql[i..j].to_owned()));
                out.push_str(&format!("${}", params.len()));
            } else {
                out.push_str(&sql[i..j]);
            }
            last = "0".to_owned();
            i = j;
            continue;
        }
        if c == b'"' {
            let j = sql[i + 1..].find('"').map_or(b.len(), |k| i + 1 + k);
            out.push_str(&sql[i..(j + 1).min(b.len())]);
            last = "\"".to_owned();
            i = j + 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            last = sql[i..j].to_ascii_lowercase();
            out.push_str(&sql[i..j]);
            i = j;
            continue;
        }
        if c.is_ascii_whitespace() {
            out.push(c as char);
            i += 1;
            continue;
        }
        // Operators: take the run of operator characters as one token.
        let mut j = i;
        while j < b.len() && b"=<>!~+-*/%|&^#@".contains(&b[j]) {
            j += 1;
        }
        if j == i {
            j = i + sql[i..].chars().next().map_or(1, char::len_utf8);
        }
        last = sql[i..j].to_owned();
        out.push_str(&sql[i..j]);
        i = j;
    }
    (!params.is_empty()).then_some((out, params))
}

fn takes_parameter(last: &str) -> bool {
    matches!(
        last,
        "=" | "<>" | "!=" | "<" | ">" | "<=" | ">=" | "like" | "ilike"
    )
}

/// Whether rows must be compared in order: the outermost statement ends with an ORDER BY
/// (outside every parenthesis), optionally followed by LIMIT/OFFSET/FETCH.
pub fn ordered(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let mut depth = 0i32;
    let mut last_order_at_top = None;
    let b = lower.as_bytes();
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\'' {
                in_str = false;
            }
        } else if c == b'\'' {
            in_str = true;
        } else if c == b'(' {
            depth += 1;
        } else if c == b')' {
            depth -= 1;
        } else if depth == 0 && lower[i..].starts_with("order by") {
            last_order_at_top = Some(i);
        }
        i += 1;
    }
    last_order_at_top.is_some()
}

/// What differs between our answer and PostgreSQL's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Difference {
    /// PostgreSQL answers, we fail with 0A000 (a feature we do not have).
    Unsupported,
    /// PostgreSQL answers, we fail with another SQLSTATE.
    Fails,
    /// PostgreSQL fails, we answer: an error we hide.
    MissingError,
    /// Both fail, with different SQLSTATEs.
    Sqlstate,
    /// Different rows: a different value somewhere.
    Rows,
    /// The same values, written differently: numeric columns whose numbers are equal but
    /// not their text (`2.50` and `2.5000`).
    Text,
    /// Same rows, different result type OIDs.
    Types,
    /// Same rows and types, different column names.
    Names,
}

impl Difference {
    /// Its name in the known-differences file.
    pub fn name(self) -> &'static str {
        match self {
            Difference::Unsupported => "unsupported",
            Difference::Fails => "fails",
            Difference::MissingError => "missing-error",
            Difference::Sqlstate => "sqlstate",
            Difference::Rows => "rows",
            Difference::Text => "text",
            Difference::Types => "types",
            Difference::Names => "names",
        }
    }

    /// Reads a name written by [`Difference::name`].
    pub fn parse(s: &str) -> Option<Difference> {
        [
            Difference::Unsupported,
            Difference::Fails,
            Difference::MissingError,
            Difference::Sqlstate,
            Difference::Rows,
            Difference::Text,
            Difference::Types,
            Difference::Names,
        ]
        .into_iter()
        .find(|d| d.name() == s)
    }
}

/// PostgreSQL's `numeric`.
const NUMERIC_OID: u32 = 1700;

/// A numeric's text without the trailing zeros of its fraction (`2.5000` → `2.5`, `3.00` →
/// `3`), so equal numbers written with different scales compare equal; other text as it is.
fn plain_number(v: &str) -> String {
    let numeric = !v.is_empty()
        && v.strip_prefix('-')
            .unwrap_or(v)
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && v.matches('.').count() <= 1;
    if !numeric || !v.contains('.') {
        return v.to_owned();
    }
    let trimmed = v.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" || trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Compares our answer with PostgreSQL's; `None` when they agree.
pub fn compare(ours: &Answer, theirs: &Answer, in_order: bool) -> Option<Difference> {
    match (&ours.error, &theirs.error) {
        (Some((a, _)), Some((b, _))) => return (a != b).then_some(Difference::Sqlstate),
        (Some((code, _)), None) if code == "0A000" => return Some(Difference::Unsupported),
        (Some(_), None) => return Some(Difference::Fails),
        (None, Some(_)) => return Some(Difference::MissingError),
        (None, None) => {}
    }
    let rows_equal = if in_order {
        ours.rows == theirs.rows
    } else {
        let mut a = ours.rows.clone();
        let mut b = theirs.rows.clone();
        a.sort();
        b.sort();
        a == b
    };
    if ours.columns.len() != theirs.columns.len() {
        return Some(Difference::Rows);
    }
    if !rows_equal {
        let numbers = |a: &Answer| -> Vec<Vec<Option<String>>> {
            let mut rows: Vec<Vec<Option<String>>> = a
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .zip(&theirs.columns)
                        .map(|(v, c)| match v {
                            Some(v) if c.1 == NUMERIC_OID => Some(plain_number(v)),
                            other => other.clone(),
                        })
                        .collect()
                })
                .collect();
            if !in_order {
                rows.sort();
            }
            rows
        };
        return Some(if numbers(ours) == numbers(theirs) {
            Difference::Text
        } else {
            Difference::Rows
        });
    }
    if ours
        .columns
        .iter()
        .map(|c| c.1)
        .ne(theirs.columns.iter().map(|c| c.1))
    {
        return Some(Difference::Types);
    }
    if ours
        .columns
        .iter()
        .map(|c| &c.0)
        .ne(theirs.columns.iter().map(|c| &c.0))
    {
        return Some(Difference::Names);
    }
    None
}

/// One reviewed entry of the known-differences file.
#[derive(Debug, Clone)]
pub struct Known {
    /// The modes it applies to.
    pub modes: Vec<Mode>,
    /// What differs.
    pub difference: Difference,
    /// Why, in words.
    pub reason: String,
}

/// Reads the known-differences file: blocks separated by blank lines, each
///
/// ```text
/// query: <the query, whitespace collapsed>
/// modes: simple extended params     (or: all)
/// difference: rows
/// reason: <why>
/// ```
///
/// Lines starting with `#` are comments. A query may have one entry per kind of difference.
pub fn read_known(path: &Path) -> BTreeMap<String, Vec<Known>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = BTreeMap::new();
    for block in text.split("\n\n") {
        let mut fields: BTreeMap<&str, String> = BTreeMap::new();
        for line in block.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("{}: not `key: value`: {line}", path.display()));
            fields.insert(k.trim(), v.trim().to_owned());
        }
        if fields.is_empty() {
            continue;
        }
        let get = |k: &str| {
            fields
                .get(k)
                .cloned()
                .unwrap_or_else(|| panic!("{}: an entry lacks `{k}`: {block}", path.display()))
        };
        let modes = get("modes");
        let modes = if modes == "all" {
            vec![Mode::Simple, Mode::Extended, Mode::Params]
        } else {
            modes
                .split_whitespace()
                .map(|m| match m {
                    "simple" => Mode::Simple,
                    "extended" => Mode::Extended,
                    "params" => Mode::Params,
                    other => panic!("{}: unknown mode {other}", path.display()),
                })
                .collect()
        };
        let difference = Difference::parse(&get("difference"))
            .unwrap_or_else(|| panic!("{}: unknown difference in {block}", path.display()));
        let reason = get("reason");
        assert!(!reason.is_empty(), "{}: an empty reason", path.display());
        out.entry(normalize(&get("query")))
            .or_insert_with(Vec::new)
            .push(Known {
                modes,
                difference,
                reason,
            });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameterize_takes_comparison_literals_only() {
        let (sql, params) = parameterize(
            "SELECT 'a', x FROM t WHERE a = 'it''s' AND b > 5 AND c::date = date '2026-01-01' \
             AND d LIKE 'x%' AND e = 'v'::text LIMIT 3",
        )
        .expect("has literals");
        assert_eq!(
            sql,
            "SELECT 'a', x FROM t WHERE a = $1 AND b > $2 AND c::date = date '2026-01-01' \
             AND d LIKE $3 AND e = 'v'::text LIMIT $4"
        );
        assert_eq!(
            params,
            vec![
                Some("it's".to_owned()),
                Some("5".to_owned()),
                Some("x%".to_owned()),
                Some("3".to_owned())
            ]
        );
        assert!(parameterize("SELECT 1").is_none());
    }

    #[test]
    fn ordered_looks_at_the_outermost_statement() {
        assert!(ordered("SELECT a FROM t ORDER BY a LIMIT 2"));
        assert!(!ordered("SELECT * FROM (SELECT a FROM t ORDER BY a) s"));
        assert!(!ordered("SELECT 'order by' FROM t"));
    }

    #[test]
    fn compare_classifies() {
        let ok = |rows: Vec<&str>| Answer {
            columns: vec![("a".into(), 25)],
            rows: rows.into_iter().map(|r| vec![Some(r.to_owned())]).collect(),
            error: None,
        };
        let err = |code: &str| Answer {
            columns: vec![],
            rows: vec![],
            error: Some((code.into(), String::new())),
        };
        assert_eq!(
            compare(&ok(vec!["x", "y"]), &ok(vec!["y", "x"]), false),
            None
        );
        assert_eq!(
            compare(&ok(vec!["x", "y"]), &ok(vec!["y", "x"]), true),
            Some(Difference::Rows)
        );
        let numeric = |rows: Vec<&str>| Answer {
            columns: vec![("n".into(), NUMERIC_OID)],
            ..ok(rows)
        };
        assert_eq!(
            compare(
                &numeric(vec!["2.50000", "3.0"]),
                &numeric(vec!["2.5", "3"]),
                true
            ),
            Some(Difference::Text)
        );
        assert_eq!(
            compare(&numeric(vec!["147"]), &numeric(vec!["147.5000"]), true),
            Some(Difference::Rows),
            "a different number is a row difference"
        );
        assert_eq!(
            compare(&ok(vec!["2.50"]), &ok(vec!["2.5"]), true),
            Some(Difference::Rows),
            "text that is not numeric is compared as text"
        );
        assert_eq!(
            compare(&err("0A000"), &ok(vec![]), false),
            Some(Difference::Unsupported)
        );
        assert_eq!(
            compare(&ok(vec![]), &err("22012"), false),
            Some(Difference::MissingError)
        );
        assert_eq!(
            compare(&err("22P02"), &err("22008"), false),
            Some(Difference::Sqlstate)
        );
        assert_eq!(compare(&err("22012"), &err("22012"), false), None);
    }
}
