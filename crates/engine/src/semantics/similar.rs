//! `SIMILAR TO` as PostgreSQL reads it: the pattern becomes an anchored regular expression
//! (`similar_to_escape`): `%` is `.*`, `_` is `.`, the escape character (default `\`) makes
//! the next character literal, `.`, `^` and `$` are literal, and the regular-expression
//! operators `| * + ? { } ( ) [ ]` keep their meaning.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

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

/// `__pg_similar_to_regex(pattern, escape)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SimilarToRegex {
    signature: Signature,
}

impl SimilarToRegex {
    /// The UDF.
    pub fn new() -> Self {
        SimilarToRegex {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for SimilarToRegex {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for SimilarToRegex {
    fn name(&self) -> &str {
        "__pg_similar_to_regex"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let escape = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(e))) => e.chars().next(),
            _ => Some('\\'),
        };
        let translate = |v: Option<&str>| v.map(|p| similar_to_regex(p, escape));
        match &args.args[0] {
            ColumnarValue::Scalar(s) => {
                let text = cast(&s.to_array()?, &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                let v = (!text.is_null(0)).then(|| text.value(0));
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(translate(v))))
            }
            ColumnarValue::Array(a) => {
                let text = cast(a, &DataType::Utf8)?;
                let out: StringArray = text.as_string::<i32>().iter().map(translate).collect();
                Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
            }
        }
    }
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
