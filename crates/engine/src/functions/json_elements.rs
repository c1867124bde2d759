//! The members of a json value, as arrays the rewrite unnests into PostgreSQL's set-returning
//! functions: `json_object_keys`, `json_array_elements(_text)` and `json_each(_text)` (keys and values
//! unnested side by side), and their jsonb forms. A member's text is kept exactly as written (json keeps its input's
//! text, jsonb is canonical already), duplicate keys included, as PostgreSQL returns them.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use crate::error::EngineError;
use crate::row_fn::{RowFn, arg_str};

/// A json value's top level: its members' raw texts.
enum Members<'a> {
    Object(Vec<(String, &'a str)>),
    Array(Vec<&'a str>),
    Scalar,
}

/// Splits valid JSON `text` (checked first) into its top-level members.
fn members(text: &str) -> Result<Members<'_>> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
        failed(EngineError::InvalidTextRepresentation(format!(
            "invalid input syntax for type json: {e}"
        )))
    })?;
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    let (object, close) = match bytes.get(at) {
        Some(b'{') => (true, b'}'),
        Some(b'[') => (false, b']'),
        _ => return Ok(Members::Scalar),
    };
    at += 1;
    let mut keys = Vec::new();
    let mut items = Vec::new();
    loop {
        at = skip_space(bytes, at);
        if bytes.get(at) == Some(&close) {
            break;
        }
        if object {
            let end = skip_value(bytes, at);
            let key: String = serde_json::from_str(&text[at..end])
                .map_err(|e| DataFusionError::Execution(e.to_string()))?;
            keys.push(key);
            at = skip_space(bytes, end) + 1; // ':'
            at = skip_space(bytes, at);
        }
        let end = skip_value(bytes, at);
        items.push(&text[at..end]);
        at = skip_space(bytes, end);
        if bytes.get(at) == Some(&b',') {
            at += 1;
        }
    }
    Ok(if object {
        Members::Object(keys.into_iter().zip(items).collect())
    } else {
        Members::Array(items)
    })
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// The end of the (valid) JSON value starting at `at`.
fn skip_value(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => skip_string(bytes, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = skip_string(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i
        }
        _ => {
            let mut i = at;
            while i < bytes.len()
                && !matches!(
                    bytes[i],
                    b',' | b'}' | b']' | b':' | b' ' | b'\t' | b'\n' | b'\r'
                )
            {
                i += 1;
            }
            i
        }
    }
}

/// The end of the string starting at `at` (just past its closing quote).
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while i < bytes.len() && bytes[i] != b'"' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

fn failed(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn wrong_shape(function: &str, what: &str) -> DataFusionError {
    failed(EngineError::InvalidArgument(format!(
        "cannot {function} {what}"
    )))
}

/// A member as `_text` functions show it: strings unquoted, `null` as SQL NULL.
fn as_text(raw: &str) -> Result<Option<String>> {
    Ok(match raw.as_bytes().first() {
        Some(b'"') => Some(
            serde_json::from_str::<String>(raw)
                .map_err(|e| DataFusionError::Execution(e.to_string()))?,
        ),
        _ if raw == "null" => None,
        _ => Some(raw.to_owned()),
    })
}

fn list(items: Vec<ScalarValue>, item: &DataType) -> ScalarValue {
    ScalarValue::List(ScalarValue::new_list_nullable(&items, item))
}

/// The functions of this module; each takes one json (or jsonb) argument.
pub fn all() -> Vec<ScalarUDF> {
    let one = || Signature::any(1, Volatility::Immutable);
    let text_list = DataType::new_list(DataType::Utf8, true);
    let null_of = |t: &DataType| ScalarValue::try_from(t.clone());
    let mut out = Vec::new();
    {
        let t = text_list.clone();
        out.push(RowFn::new(
            "__pg_json_object_keys",
            one(),
            t.clone(),
            move |a| {
                let Some(text) = arg_str(&a[0]) else {
                    return null_of(&t);
                };
                match members(&text)? {
                    Members::Object(m) => Ok(list(
                        m.into_iter()
                            .map(|(k, _)| ScalarValue::Utf8(Some(k)))
                            .collect(),
                        &DataType::Utf8,
                    )),
                    Members::Array(_) => Err(wrong_shape("call json_object_keys", "on an array")),
                    Members::Scalar => Err(wrong_shape("call json_object_keys", "on a scalar")),
                }
            },
        ));
    }
    for (name, as_text_values) in [
        ("__pg_json_array_elements", false),
        ("__pg_json_array_elements_text", true),
    ] {
        let t = text_list.clone();
        out.push(RowFn::new(name, one(), t.clone(), move |a| {
            let Some(text) = arg_str(&a[0]) else {
                return null_of(&t);
            };
            match members(&text)? {
                Members::Array(items) => {
                    let mut values = Vec::with_capacity(items.len());
                    for raw in items {
                        values.push(ScalarValue::Utf8(if as_text_values {
                            as_text(raw)?
                        } else {
                            Some(raw.to_owned())
                        }));
                    }
                    Ok(list(values, &DataType::Utf8))
                }
                Members::Object(_) => Err(wrong_shape("extract elements", "from an object")),
                Members::Scalar => Err(wrong_shape("extract elements", "from a scalar")),
            }
        }));
    }
    for (name, as_text_values) in [
        ("__pg_json_object_values", false),
        ("__pg_json_object_values_text", true),
    ] {
        let t = text_list.clone();
        out.push(RowFn::new(name, one(), t.clone(), move |a| {
            let Some(text) = arg_str(&a[0]) else {
                return null_of(&t);
            };
            let Members::Object(m) = members(&text)? else {
                return Err(wrong_shape("call json_each", "on a non-object"));
            };
            let mut values = Vec::with_capacity(m.len());
            for (_, raw) in m {
                values.push(ScalarValue::Utf8(if as_text_values {
                    as_text(raw)?
                } else {
                    Some(raw.to_owned())
                }));
            }
            Ok(list(values, &DataType::Utf8))
        }));
    }
    out.into_iter().map(ScalarUDF::new_from_impl).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_text_and_duplicates() {
        let Ok(Members::Object(m)) = members(r#" {"a" : [1, {"x":"]"}], "b":"q\"}", "a": 1.50 } "#)
        else {
            panic!("an object");
        };
        assert_eq!(
            m,
            vec![
                ("a".to_owned(), r#"[1, {"x":"]"}]"#),
                ("b".to_owned(), r#""q\"}""#),
                ("a".to_owned(), "1.50"),
            ]
        );
        let Ok(Members::Array(items)) = members("[1,true , null,\"x\",[]]") else {
            panic!("an array");
        };
        assert_eq!(items, vec!["1", "true", "null", "\"x\"", "[]"]);
        assert!(matches!(members("3"), Ok(Members::Scalar)));
        assert!(matches!(members("[]"), Ok(Members::Array(v)) if v.is_empty()));
        assert!(members("[1,").is_err());
        assert_eq!(as_text(r#""a\nb""#).expect("ok").as_deref(), Some("a\nb"));
        assert_eq!(as_text("null").expect("ok"), None);
    }
}
