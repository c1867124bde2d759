//! json's and jsonb's input functions: text cast to `json` or `jsonb` must be JSON (22P02
//! "invalid input syntax for type json" otherwise).
//!
//! - `json` keeps the text as written (`__pg_json_in`).
//! - `jsonb` is stored decomposed in PostgreSQL, so its text is canonical (`__pg_jsonb_in`):
//!   object keys ordered by length then bytes with the last duplicate winning, `": "` and
//!   `", "` between items, numbers as numeric prints them (`1e3` is `1000`, `1.50` stays),
//!   strings with only the escapes PostgreSQL writes. Equal jsonb values therefore have equal
//!   text, which is how `=` and `DISTINCT` compare them here.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use crate::error::EngineError;
use crate::row_fn::RowFn;

/// A text function of JSON input: NULL stays NULL, text that is not JSON is 22P02, and JSON
/// text becomes `out(text)`.
fn json_text_udf(name: &'static str, out: fn(&str) -> Result<String>) -> ScalarUDF {
    ScalarUDF::new_from_impl(RowFn::new(
        name,
        Signature::any(1, Volatility::Immutable),
        DataType::Utf8,
        move |a| {
            Ok(match a[0].cast_to(&DataType::Utf8)? {
                ScalarValue::Utf8(Some(t)) => {
                    check(&t)?;
                    ScalarValue::Utf8(Some(out(&t)?))
                }
                _ => ScalarValue::Utf8(None),
            })
        },
    ))
}

/// `__pg_json_in(text)`: the text, once it parses as JSON.
pub fn udf() -> ScalarUDF {
    json_text_udf("__pg_json_in", |t| Ok(t.to_owned()))
}

/// `__pg_jsonb_in(text)`: the text as jsonb prints it, once it parses as JSON.
pub fn jsonb_udf() -> ScalarUDF {
    json_text_udf("__pg_jsonb_in", jsonb_text)
}

/// `__pg_jsonb_key(jsonb)`: what jsonb equality compares. jsonb numbers are equal by value
/// (`'1.0'::jsonb = '1'::jsonb`), so the key drops trailing fractional zeros.
pub fn jsonb_key_udf() -> ScalarUDF {
    json_text_udf("__pg_jsonb_key", |t| canonical(t, true))
}

/// The canonical jsonb text of valid JSON `text` (see the module documentation).
pub fn jsonb_text(text: &str) -> Result<String> {
    canonical(text, false)
}

fn canonical(text: &str, numbers_by_value: bool) -> Result<String> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
        numbers_by_value,
        expanded: 0,
    };
    let value = reader.value()?;
    let mut out = String::with_capacity(text.len());
    write(&value, &mut out);
    Ok(out)
}

/// A parsed JSON value, numbers kept as their canonical numeric text.
#[derive(PartialEq)]
enum Node {
    Literal(&'static str),
    Number(String),
    Text(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// Reads JSON that `check` has accepted (so nesting is bounded by serde_json's limit).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Numbers without trailing fractional zeros (the equality key).
    numbers_by_value: bool,
    /// Bytes of number text written so far.
    expanded: usize,
}

/// The largest jsonb value PostgreSQL holds (`JENTRY_OFFLENMASK`).
const JSONB_MAX_BYTES: usize = 0x0FFF_FFFF;

fn malformed(what: &str) -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::InvalidTextRepresentation(format!(
        "invalid input syntax for type json: {what}"
    ))))
}

impl Reader<'_> {
    fn skip_space(&mut self) {
        while self.at < self.bytes.len()
            && matches!(self.bytes[self.at], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    fn value(&mut self) -> Result<Node> {
        match self.peek().ok_or_else(|| malformed("unexpected end"))? {
            b'{' => {
                self.at += 1;
                let mut items: Vec<(String, Node)> = Vec::new();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Node::Object(items));
                }
                loop {
                    self.peek();
                    let key = self.string()?;
                    self.peek();
                    self.at += 1; // ':'
                    let value = self.value()?;
                    items.retain(|(k, _)| *k != key);
                    items.push((key, value));
                    let sep = self.peek();
                    self.at += 1;
                    if sep != Some(b',') {
                        break;
                    }
                }
                items.sort_by(|(a, _), (b, _)| {
                    a.len()
                        .cmp(&b.len())
                        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
                });
                Ok(Node::Object(items))
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Node::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    let sep = self.peek();
                    self.at += 1;
                    if sep != Some(b',') {
                        break;
                    }
                }
                Ok(Node::Array(items))
            }
            b'"' => Ok(Node::Text(self.string()?)),
            b't' => self.word("true"),
            b'f' => self.word("false"),
            b'n' => self.word("null"),
            _ => self.number(),
        }
    }

    fn word(&mut self, w: &'static str) -> Result<Node> {
        self.at += w.len();
        Ok(Node::Literal(w))
    }

    fn string(&mut self) -> Result<String> {
        self.at += 1; // opening quote
        let mut out = String::new();
        loop {
            let rest = &self.bytes[self.at..];
            let stop = rest
                .iter()
                .position(|b| matches!(b, b'"' | b'\\'))
                .ok_or_else(|| malformed("unterminated string"))?;
            out.push_str(std::str::from_utf8(&rest[..stop]).map_err(|_| malformed("utf-8"))?);
            self.at += stop + 1;
            if rest[stop] == b'"' {
                return Ok(out);
            }
            let escape = self.bytes[self.at];
            self.at += 1;
            match escape {
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let mut code = self.hex4()?;
                    if (0xD800..0xDC00).contains(&code) && self.bytes.get(self.at) == Some(&b'\\') {
                        self.at += 2; // "\u"
                        let low = self.hex4()?;
                        code =
                            0x10000 + ((code - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                    }
                    if code == 0 {
                        return Err(DataFusionError::External(Box::new(
                            EngineError::UntranslatableCharacter(
                                "unsupported Unicode escape sequence: \\u0000 cannot be converted to text".to_owned(),
                            ),
                        )));
                    }
                    out.push(
                        char::from_u32(code).ok_or_else(|| malformed("invalid Unicode escape"))?,
                    );
                }
                other => out.push(char::from(other)),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .bytes
            .get(self.at..self.at + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| malformed("invalid Unicode escape"))?;
        self.at += 4;
        Ok(digits)
    }

    fn number(&mut self) -> Result<Node> {
        let start = self.at;
        while self.at < self.bytes.len()
            && matches!(
                self.bytes[self.at],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.at += 1;
        }
        let text =
            std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| malformed("number"))?;
        let mut number = numeric_text(text)?;
        // An exponent makes a number's text up to 131072 digits: the whole value is capped
        // as PostgreSQL caps a jsonb (54000), so a short input cannot expand without bound.
        self.expanded += number.len();
        if self.expanded > JSONB_MAX_BYTES {
            return Err(DataFusionError::External(Box::new(
                EngineError::ProgramLimitExceeded(format!(
                    "total size of jsonb exceeds the maximum of {JSONB_MAX_BYTES} bytes"
                )),
            )));
        }
        if self.numbers_by_value && number.contains('.') {
            number.truncate(number.trim_end_matches('0').trim_end_matches('.').len());
            if number == "-0" {
                number = "0".to_owned();
            }
        }
        Ok(Node::Number(number))
    }
}

/// A JSON number as PostgreSQL's numeric prints it: the exponent applied, the scale kept
/// (`1.50` → `1.50`, `1e3` → `1000`, `2.5e-3` → `0.0025`, `-0` → `0`).
pub(crate) fn numeric_text(text: &str) -> Result<String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], &unsigned[i + 1..]),
        None => (unsigned, "0"),
    };
    let exponent: i64 = exponent
        .trim_start_matches('+')
        .parse()
        .map_err(|_| malformed("number"))?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // numeric's limits: 131072 digits before the point, 16383 after it.
    let before = whole.trim_start_matches('0').len() as i64 + exponent;
    let after = fraction.len() as i64 - exponent;
    if exponent.abs() > 1_000_000 || before > 131_072 || after > 16_383 {
        return Err(DataFusionError::External(Box::new(
            EngineError::NumericOutOfRange("value overflows numeric format".to_owned()),
        )));
    }
    let digits = format!("{whole}{fraction}");
    let point = whole.len() as i64 + exponent;
    let scale = (fraction.len() as i64 - exponent).max(0) as usize;
    let (int_part, frac_part) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_owned(),
            digits[point as usize..].to_owned(),
        )
    };
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let mut frac_part = frac_part;
    frac_part.truncate(scale);
    while frac_part.len() < scale {
        frac_part.push('0');
    }
    let zero = int_part == "0" && frac_part.bytes().all(|b| b == b'0');
    let sign = if negative && !zero { "-" } else { "" };
    Ok(if frac_part.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    })
}

fn write(node: &Node, out: &mut String) {
    match node {
        Node::Literal(w) => out.push_str(w),
        Node::Number(n) => out.push_str(n),
        Node::Text(t) => write_string(t, out),
        Node::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out);
            }
            out.push(']');
        }
        Node::Object(items) => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(k, out);
                out.push_str(": ");
                write(v, out);
            }
            out.push('}');
        }
    }
}

/// Reads JSON `text` as jsonb compares it: keys deduplicated, numbers by value.
fn jsonb_value(text: &str) -> Result<Node> {
    check(text)?;
    Reader {
        bytes: text.as_bytes(),
        at: 0,
        numbers_by_value: true,
        expanded: 0,
    }
    .value()
}

fn is_container(n: &Node) -> bool {
    matches!(n, Node::Array(_) | Node::Object(_))
}

/// `JsonbDeepContains`: every pair of an object on the right is in the left object (nested
/// containers contained, scalars equal); every element of an array on the right is equal to,
/// or contained in a container of the same kind in, the left array; scalars are equal.
fn contains(left: &Node, right: &Node) -> bool {
    match (left, right) {
        (Node::Object(l), Node::Object(r)) => r.iter().all(|(key, rv)| {
            l.iter().find(|(k, _)| k == key).is_some_and(|(_, lv)| {
                if is_container(rv) {
                    contains(lv, rv)
                } else {
                    lv == rv
                }
            })
        }),
        (Node::Array(l), Node::Array(r)) => r.iter().all(|re| {
            l.iter().any(|le| {
                if is_container(re) {
                    contains(le, re)
                } else {
                    le == re
                }
            })
        }),
        (l, r) if !is_container(l) && !is_container(r) => l == r,
        _ => false,
    }
}

/// jsonb `left @> right` (`jsonb_contains`). At the top level a scalar on the right is read as
/// an array of it, as PostgreSQL does (`'["a"]' @> '"a"'`).
pub fn jsonb_contains(left: &str, right: &str) -> Result<bool> {
    let (l, r) = (jsonb_value(left)?, jsonb_value(right)?);
    Ok(match (&l, &r) {
        (Node::Array(items), r) if !is_container(r) => items.iter().any(|i| i == r),
        _ => contains(&l, &r),
    })
}

/// jsonb `doc ? key` (`jsonb_exists`): a top-level object key, or a string element of a
/// top-level array, or the string itself.
pub fn jsonb_exists(doc: &str, key: &str) -> Result<bool> {
    Ok(match jsonb_value(doc)? {
        Node::Object(items) => items.iter().any(|(k, _)| k == key),
        Node::Array(items) => items.iter().any(|i| matches!(i, Node::Text(t) if t == key)),
        Node::Text(t) => t == key,
        _ => false,
    })
}

/// `jsonb_contains`, `jsonb_contained`, `jsonb_exists`, `jsonb_exists_any` and
/// `jsonb_exists_all`: the functions behind `@>`, `<@`, `?`, `?|` and `?&` on jsonb.
pub fn operator_udfs() -> Vec<ScalarUDF> {
    let two = || Signature::any(2, Volatility::Immutable);
    let text = |v: &ScalarValue| -> Result<Option<String>> {
        Ok(match v.cast_to(&DataType::Utf8)? {
            ScalarValue::Utf8(t) => t,
            _ => None,
        })
    };
    let keys = |v: &ScalarValue| -> Option<Vec<Option<String>>> {
        match v {
            // An untyped array literal: `j ?| '{a,b}'`.
            ScalarValue::Utf8(Some(t)) => crate::pg_catalog::parse_array(t).ok(),
            ScalarValue::List(list)
                if !datafusion::arrow::array::Array::is_null(list.as_ref(), 0) =>
            {
                let items = list.value(0);
                Some(
                    (0..items.len())
                        .map(|i| match ScalarValue::try_from_array(&items, i) {
                            Ok(ScalarValue::Utf8(t)) => t,
                            Ok(other) if !other.is_null() => Some(other.to_string()),
                            _ => None,
                        })
                        .collect(),
                )
            }
            _ => None,
        }
    };
    let boolean = |f: Option<bool>| Ok(ScalarValue::Boolean(f));
    vec![
        RowFn::new("jsonb_contains", two(), DataType::Boolean, move |a| match (
            text(&a[0])?,
            text(&a[1])?,
        ) {
            (Some(l), Some(r)) => boolean(Some(jsonb_contains(&l, &r)?)),
            _ => boolean(None),
        }),
        RowFn::new(
            "jsonb_contained",
            two(),
            DataType::Boolean,
            move |a| match (text(&a[0])?, text(&a[1])?) {
                (Some(l), Some(r)) => boolean(Some(jsonb_contains(&r, &l)?)),
                _ => boolean(None),
            },
        ),
        RowFn::new("jsonb_exists", two(), DataType::Boolean, move |a| {
            match (text(&a[0])?, text(&a[1])?) {
                (Some(d), Some(k)) => boolean(Some(jsonb_exists(&d, &k)?)),
                _ => boolean(None),
            }
        }),
        RowFn::new(
            "jsonb_exists_any",
            two(),
            DataType::Boolean,
            move |a| match (text(&a[0])?, keys(&a[1])) {
                (Some(d), Some(ks)) => {
                    let mut any = false;
                    for k in ks.iter().flatten() {
                        any |= jsonb_exists(&d, k)?;
                    }
                    boolean(Some(any))
                }
                _ => boolean(None),
            },
        ),
        RowFn::new(
            "jsonb_exists_all",
            two(),
            DataType::Boolean,
            move |a| match (text(&a[0])?, keys(&a[1])) {
                (Some(d), Some(ks)) => {
                    let mut all = true;
                    for k in ks.iter().flatten() {
                        all &= jsonb_exists(&d, k)?;
                    }
                    boolean(Some(all))
                }
                _ => boolean(None),
            },
        ),
    ]
    .into_iter()
    .map(ScalarUDF::new_from_impl)
    .collect()
}

/// A string as PostgreSQL's `escape_json` writes it.
pub fn write_string(t: &str, out: &mut String) {
    out.push('"');
    for c in t.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod containment_tests {
    use super::*;

    #[test]
    fn containment_and_existence_like_postgres() {
        let c = |l: &str, r: &str| jsonb_contains(l, r).expect("json");
        assert!(c(r#"{"a": 1, "b": {"c": [1, 2]}}"#, r#"{"b": {"c": [2]}}"#));
        assert!(c(r#"{"a": 1.0}"#, r#"{"a": 1}"#));
        assert!(!c(r#"{"a": 1}"#, r#"{"a": "1"}"#));
        assert!(c(r#"["a", "b"]"#, r#""a""#));
        assert!(c(r#"[1, [2, 3]]"#, r#"[[3]]"#));
        assert!(!c(r#"[[1, 2]]"#, r#"[1]"#));
        assert!(!c(r#"{"a": [1]}"#, r#"{"a": 1}"#));
        assert!(c("{}", "{}"));
        let e = |d: &str, k: &str| jsonb_exists(d, k).expect("json");
        assert!(e(r#"{"a": null}"#, "a"));
        assert!(e(r#"["a", 1]"#, "a"));
        assert!(!e(r#"[["a"]]"#, "a"));
        assert!(e(r#""a""#, "a"));
    }
}

fn check(text: &str) -> Result<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| {
            DataFusionError::External(Box::new(EngineError::InvalidTextRepresentation(format!(
                "invalid input syntax for type json: {e}"
            ))))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_must_parse() {
        assert!(check(r#"{"a": [1, 2.5, null, "x"]}"#).is_ok());
        assert!(check("42").is_ok());
        assert!(check("not json").is_err());
        assert!(check(r#"{"a": }"#).is_err());
    }

    #[test]
    fn jsonb_text_is_canonical() {
        let canonical = |t: &str| jsonb_text(t).expect("valid");
        assert_eq!(
            canonical(r#"{"bb":1,"a" : [1,2, {"z":null}],"c":true,"a":"x"}"#),
            r#"{"a": "x", "c": true, "bb": 1}"#
        );
        assert_eq!(
            canonical("[1e3, 1.50, -0, 2.5e-3, 1E+2, 0.0, -1.0e1]"),
            "[1000, 1.50, 0, 0.0025, 100, 0.0, -10]"
        );
        assert_eq!(canonical(r#""a\u00e9\n\"\/""#), "\"aé\\n\\\"/\"");
        assert_eq!(canonical(r#"{}"#), "{}");
        assert_eq!(canonical(" [ ] "), "[]");
        assert!(jsonb_text(r#""\u0000""#).is_err());
        assert_eq!(canonical("1e131071").len(), 131_072);
        assert!(jsonb_text("1e131072").is_err());
        assert!(jsonb_text("1e-16384").is_err());
        // 2,100 numbers of 131,072 digits each exceed jsonb's 256 MB.
        let expanding = format!("[{}1]", "1e131071,".repeat(2_100));
        assert!(jsonb_text(&expanding).is_err());
        assert_eq!(
            super::canonical("[1.50, 1.0, 10, -0.0]", true).expect("valid"),
            "[1.5, 1, 10, 0]"
        );
    }
}
