//! PostgreSQL's regular-expression functions DataFusion lacks: `regexp_split_to_array`, and
//! the array forms behind `regexp_split_to_table`, `regexp_matches` and
//! `substring(x FROM pattern)` (the rewrite makes the set-returning ones `unnest` of these).
//!
//! Flags are PostgreSQL's: `i` (case-insensitive), `c` (case-sensitive), `n` (newline-sensitive:
//! `.` stops at newlines, `^`/`$` match at them), `s` (the default: `.` matches a newline too),
//! `x` (expanded syntax), `q` (the pattern is a literal string), and `g` (every match) where
//! the function allows it; any other letter is 22023. A pattern that does not compile is
//! 2201B, as for `~`.

use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ScalarUDF, Signature, TypeSignature, Volatility};
use regex::Regex;

use crate::error::EngineError;
use crate::row_fn::{RowFn, arg_str};

/// A compiled pattern with the flags it was compiled for, and whether `g` was given.
struct Compiled {
    key: (String, String),
    regex: Regex,
    global: bool,
}

/// The last pattern a function compiled: a column of rows usually shares one pattern.
#[derive(Default)]
struct Cache(Mutex<Option<Arc<Compiled>>>);

impl Cache {
    fn get(&self, pattern: &str, flags: &str, function: &str) -> Result<Arc<Compiled>> {
        let mut slot = self
            .0
            .lock()
            .map_err(|_| DataFusionError::Execution("regex cache poisoned".to_owned()))?;
        if let Some(c) = slot.as_ref()
            && c.key.0 == pattern
            && c.key.1 == flags
        {
            return Ok(Arc::clone(c));
        }
        let compiled = Arc::new(compile(pattern, flags, function)?);
        *slot = Some(Arc::clone(&compiled));
        Ok(compiled)
    }
}

fn compile(pattern: &str, flags: &str, function: &str) -> Result<Compiled> {
    let mut case_insensitive = false;
    let mut newline_sensitive = false;
    let mut expanded = false;
    let mut literal = false;
    let mut global = false;
    for f in flags.chars() {
        match f {
            'i' => case_insensitive = true,
            'c' => case_insensitive = false,
            'n' | 'm' => newline_sensitive = true,
            's' => newline_sensitive = false,
            'x' => expanded = true,
            't' => expanded = false,
            'q' => literal = true,
            'g' if function != "regexp_split_to_array" => global = true,
            'g' => {
                return Err(failed(EngineError::InvalidArgument(format!(
                    "{function}() does not support the \"global\" option"
                ))));
            }
            other => {
                return Err(failed(EngineError::InvalidArgument(format!(
                    "invalid regular expression option: \"{other}\""
                ))));
            }
        }
    }
    let body = if literal {
        regex::escape(pattern)
    } else {
        pattern.to_owned()
    };
    let regex = regex::RegexBuilder::new(&body)
        .case_insensitive(case_insensitive)
        .dot_matches_new_line(!newline_sensitive)
        .multi_line(newline_sensitive)
        .ignore_whitespace(expanded && !literal)
        .build()
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    Ok(Compiled {
        key: (pattern.to_owned(), flags.to_owned()),
        regex,
        global,
    })
}

fn failed(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The pieces of `text` between the matches of `regex`, as PostgreSQL splits: a zero-length
/// match at the start or end of the text, or right after the previous match, does not split.
pub fn split(regex: &Regex, text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut previous_end = None;
    for m in regex.find_iter(text) {
        if m.start() == m.end()
            && (m.start() == 0 || m.start() == text.len() || Some(m.start()) == previous_end)
        {
            continue;
        }
        pieces.push(text[start..m.start()].to_owned());
        start = m.end();
        previous_end = Some(m.end());
    }
    pieces.push(text[start..].to_owned());
    pieces
}

/// What `regexp_matches` returns for one match: the capture groups (NULL where a group did
/// not take part), or the whole match when the pattern has none.
fn match_items(regex: &Regex, captures: &regex::Captures<'_>) -> Vec<Option<String>> {
    if regex.captures_len() == 1 {
        vec![captures.get(0).map(|m| m.as_str().to_owned())]
    } else {
        (1..regex.captures_len())
            .map(|i| captures.get(i).map(|m| m.as_str().to_owned()))
            .collect()
    }
}

fn text_list(items: Vec<Option<String>>) -> ScalarValue {
    let values: Vec<ScalarValue> = items.into_iter().map(ScalarValue::Utf8).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Utf8))
}

fn text_list_type() -> DataType {
    DataType::new_list(DataType::Utf8, true)
}

fn two_or_three() -> Signature {
    Signature::one_of(
        vec![TypeSignature::Any(2), TypeSignature::Any(3)],
        Volatility::Immutable,
    )
}

/// The arguments (text, pattern, flags) of one row; `None` when any is NULL.
fn strings(a: &[ScalarValue]) -> Option<(String, String, String)> {
    let flags = match a.get(2) {
        Some(f) => arg_str(f)?,
        None => String::new(),
    };
    Some((arg_str(&a[0])?, arg_str(&a[1])?, flags))
}

/// The functions of this module.
pub fn all() -> Vec<ScalarUDF> {
    let split_cache = Cache::default();
    let matches_cache = Cache::default();
    let substring_cache = Cache::default();
    vec![
        ScalarUDF::new_from_impl(RowFn::new(
            "regexp_split_to_array",
            two_or_three(),
            text_list_type(),
            move |a| {
                let Some((text, pattern, flags)) = strings(a) else {
                    return ScalarValue::try_from(text_list_type());
                };
                let c = split_cache.get(&pattern, &flags, "regexp_split_to_array")?;
                Ok(text_list(
                    split(&c.regex, &text).into_iter().map(Some).collect(),
                ))
            },
        )),
        ScalarUDF::new_from_impl(RowFn::new(
            "__pg_regexp_matches",
            two_or_three(),
            DataType::new_list(text_list_type(), true),
            move |a| {
                let Some((text, pattern, flags)) = strings(a) else {
                    return ScalarValue::try_from(DataType::new_list(text_list_type(), true));
                };
                let c = matches_cache.get(&pattern, &flags, "regexp_matches")?;
                let mut rows = Vec::new();
                for captures in c.regex.captures_iter(&text) {
                    rows.push(text_list(match_items(&c.regex, &captures)));
                    if !c.global {
                        break;
                    }
                }
                Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                    &rows,
                    &text_list_type(),
                )))
            },
        )),
        ScalarUDF::new_from_impl(RowFn::new(
            "__pg_substring_regex",
            Signature::any(2, Volatility::Immutable),
            DataType::Utf8,
            move |a| {
                let Some((text, pattern, _)) = strings(a) else {
                    return Ok(ScalarValue::Utf8(None));
                };
                let c = substring_cache.get(&pattern, "", "substring")?;
                // The first parenthesized group's text if there is one, else the whole match.
                Ok(ScalarValue::Utf8(c.regex.captures(&text).and_then(|m| {
                    let group = if c.regex.captures_len() > 1 { 1 } else { 0 };
                    m.get(group).map(|g| g.as_str().to_owned())
                })))
            },
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        compile(p, "", "test").expect("compiles").regex
    }

    #[test]
    fn splits_like_postgres() {
        assert_eq!(split(&re(""), "abc"), ["a", "b", "c"]);
        assert_eq!(split(&re("[0-9]*"), "a1b22c"), ["a", "b", "c"]);
        assert_eq!(split(&re(","), "a,,b,"), ["a", "", "b", ""]);
        assert_eq!(split(&re(","), ""), [""]);
        assert_eq!(
            split(&re("\\s+"), "the quick  fox"),
            ["the", "quick", "fox"]
        );
    }

    #[test]
    fn flags_are_postgres_flags() {
        assert!(compile("a", "ig", "regexp_matches").expect("ok").global);
        assert!(compile("a", "g", "regexp_split_to_array").is_err());
        assert!(compile("a", "z", "regexp_matches").is_err());
        assert!(compile("(", "", "regexp_matches").is_err());
        assert!(compile("a.b", "", "x").expect("ok").regex.is_match("a\nb"));
        assert!(!compile("a.b", "n", "x").expect("ok").regex.is_match("a\nb"));
        assert!(compile("a.b", "q", "x").expect("ok").regex.is_match("xa.b"));
        assert!(!compile("a.b", "q", "x").expect("ok").regex.is_match("axb"));
    }
}
