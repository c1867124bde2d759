//! json: the functions behind `->`, `->>`, `#>`, `#>>`, `json_extract_path(_text)`,
//! `json_typeof` and `json_array_length`.

use serde_json::Value;

/// One step into a json value: an object key or an array index (negative counts from the end).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Object member name.
    Key(String),
    /// Array position.
    Index(i64),
}

/// Follows `path` into `root`; `None` where a step does not exist. Along a path (`#>`,
/// `json_extract_path`) a text step that looks like an integer also indexes arrays, as in
/// PostgreSQL.
pub fn walk<'a>(root: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut cur = root;
    for step in path {
        cur = match (cur, step) {
            (Value::Object(map), Step::Key(k)) => map.get(k)?,
            (Value::Array(items), Step::Index(i)) => index(items, *i)?,
            (Value::Array(items), Step::Key(k)) if path.len() > 1 || k.parse::<i64>().is_ok() => {
                index(items, k.trim().parse().ok()?)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn index(items: &[Value], i: i64) -> Option<&Value> {
    let len = i64::try_from(items.len()).ok()?;
    let i = if i < 0 { len + i } else { i };
    usize::try_from(i).ok().and_then(|i| items.get(i))
}

/// A value as `->>` shows it: strings unquoted, json `null` as SQL NULL, others as JSON text.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `json_typeof`.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses a PostgreSQL text-array literal used as a json path, e.g. `{a,"b c",0}`.
pub fn parse_path_literal(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Some(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => item.push(chars.next()?),
                    c => item.push(c),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                item.push(c);
                chars.next();
            }
            item = item.trim().to_owned();
        }
        out.push(item);
        match chars.next() {
            None => return Some(out),
            Some(',') => continue,
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_objects_and_arrays() {
        let v: Value = serde_json::from_str(r#"{"a":{"b":[1,{"c":"x"}]}}"#).expect("json");
        let path = [
            Step::Key("a".into()),
            Step::Key("b".into()),
            Step::Key("1".into()),
        ];
        assert_eq!(
            walk(&v, &path).map(Value::to_string).as_deref(),
            Some(r#"{"c":"x"}"#)
        );
        assert_eq!(walk(&v, &[Step::Key("zz".into())]), None);
        let arr: Value = serde_json::from_str("[1,2,3]").expect("json");
        assert_eq!(walk(&arr, &[Step::Index(-1)]), Some(&Value::from(3)));
        assert_eq!(walk(&arr, &[Step::Index(3)]), None);
    }

    #[test]
    fn text_rendering() {
        assert_eq!(as_text(&Value::from("x")).as_deref(), Some("x"));
        assert_eq!(as_text(&Value::Null), None);
        assert_eq!(as_text(&Value::from(5.5)).as_deref(), Some("5.5"));
    }

    #[test]
    fn path_literals() {
        assert_eq!(
            parse_path_literal(r#"{GET /orders, "a,b" ,x}"#),
            Some(vec![
                "GET /orders".to_owned(),
                "a,b".to_owned(),
                "x".to_owned()
            ])
        );
        assert_eq!(parse_path_literal("{}"), Some(vec![]));
        assert_eq!(parse_path_literal("a,b"), None);
    }
}
