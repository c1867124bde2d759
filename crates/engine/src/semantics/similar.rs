//! `SIMILAR TO` as PostgreSQL reads it: the pattern becomes an anchored regular expression
//! (`similar_to_escape`): `%` is `.*`, `_` is `.`, the escape character (default `\`) makes
//! the next character literal, `.`, `^` and `$` are literal, and the regular-expression
//! operators `| * + ? { } ( ) [ ]` keep their meaning.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use crate::row_fn::RowFn;

/// The regular expression PostgreSQL matches `pattern` with, escape character `escape`
/// (`None`: `ESCAPE ''`, no escape character).
pub fn similar_to_regex(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::from("^(?:");
    let mut chars = pattern.chars();
    let mut in_bracket = false;
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(next) => push_literal(&mut out, next),
                None => push_literal(&mut out, c),
            }
            continue;
        }
        if in_bracket {
            if c == ']' {
                in_bracket = false;
            }
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
            continue;
        }
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '[' => {
                in_bracket = true;
                out.push('[');
            }
            '|' | '*' | '+' | '?' | '{' | '}' | '(' | ')' => out.push(c),
            other => push_literal(&mut out, other),
        }
    }
    out.push_str(")$");
    out
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() || c == ' ' {
        out.push(c);
    } else {
        out.push('\\');
        out.push(c);
    }
}

/// `__pg_similar_to_regex(pattern, escape)`: the pattern's regular expression (the escape
/// argument is one character; NULL means the default `\`).
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(RowFn::new(
        "__pg_similar_to_regex",
        Signature::any(2, Volatility::Immutable),
        DataType::Utf8,
        |a| {
            let escape = match a[1].cast_to(&DataType::Utf8)? {
                ScalarValue::Utf8(Some(e)) => e.chars().next(),
                _ => Some('\\'),
            };
            Ok(match a[0].cast_to(&DataType::Utf8)? {
                ScalarValue::Utf8(Some(p)) => ScalarValue::Utf8(Some(similar_to_regex(&p, escape))),
                _ => ScalarValue::Utf8(None),
            })
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_like_postgres() {
        assert_eq!(similar_to_regex("p%", Some('\\')), "^(?:p.*)$");
        assert_eq!(
            similar_to_regex("(dev|prod)", Some('\\')),
            "^(?:(dev|prod))$"
        );
        assert_eq!(similar_to_regex("a_c.d", Some('\\')), "^(?:a.c\\.d)$");
        assert_eq!(similar_to_regex("100\\%", Some('\\')), "^(?:100\\%)$");
        assert_eq!(similar_to_regex("f(o)+", None), "^(?:f(o)+)$");
        assert_eq!(similar_to_regex("[a-c]x$", Some('\\')), "^(?:[a-c]x\\$)$");
    }
}
