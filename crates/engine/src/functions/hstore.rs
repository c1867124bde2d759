//! hstore: the text parser, and the functions behind `->`, `?`, `?|`, `?&`, `@>`, `<@`,
//! `akeys`, `avals`, `defined`, `exist` and `hstore_to_json`.
//!
//! Values are stored as hstore output text (see `stagesql_catalog::render::hstore_text`), so each
//! function parses its input. The parser accepts everything PostgreSQL's `hstore_in` does:
//! quoted or bare keys and values, backslash escapes, `NULL` values and free whitespace.

use std::collections::BTreeMap;

use datafusion::error::{DataFusionError, Result};

/// One parsed hstore: keys to values (`None` is an SQL NULL value). Duplicate keys keep the first.
pub type Hstore = BTreeMap<String, Option<String>>;

/// Parses hstore text. The empty string is the empty hstore.
pub fn parse_hstore(text: &str) -> Result<Hstore> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let mut out = Hstore::new();
    p.skip_ws();
    if p.at_end() {
        return Ok(out);
    }
    loop {
        let (key, _) = p.token(text)?;
        p.skip_ws();
        if !(p.eat('=') && p.eat('>')) {
            return Err(syntax(text, "expected \"=>\""));
        }
        p.skip_ws();
        let (value, quoted) = p.token(text)?;
        let value = if !quoted && value.eq_ignore_ascii_case("null") {
            None
        } else {
            Some(value)
        };
        out.entry(key).or_insert(value);
        p.skip_ws();
        if p.at_end() {
            return Ok(out);
        }
        if !p.eat(',') {
            return Err(syntax(text, "expected \",\""));
        }
        p.skip_ws();
    }
}

fn syntax(text: &str, what: &str) -> DataFusionError {
    DataFusionError::Execution(format!("invalid hstore value {text:?}: {what}"))
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A quoted or bare token; returns it unescaped and whether it was quoted.
    fn token(&mut self, text: &str) -> Result<(String, bool)> {
        let mut out = String::new();
        if self.eat('"') {
            loop {
                match self.peek() {
                    None => return Err(syntax(text, "unterminated quoted string")),
                    Some('"') => {
                        self.pos += 1;
                        return Ok((out, true));
                    }
                    Some('\\') => {
                        self.pos += 1;
                        match self.peek() {
                            Some(c) => out.push(c),
                            None => return Err(syntax(text, "unterminated escape")),
                        }
                        self.pos += 1;
                    }
                    Some(c) => {
                        out.push(c);
                        self.pos += 1;
                    }
                }
            }
        }
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ',' || c == '"' {
                break;
            }
            if c == '=' && self.chars.get(self.pos + 1) == Some(&'>') {
                break;
            }
            if c == '\\' {
                self.pos += 1;
                match self.peek() {
                    Some(e) => out.push(e),
                    None => return Err(syntax(text, "unterminated escape")),
                }
                self.pos += 1;
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
        if out.is_empty() {
            return Err(syntax(text, "expected a key or value"));
        }
        Ok((out, false))
    }
}

/// `h @> other`: every pair of `other` is in `h` (a NULL value matches a NULL value).
pub fn contains(h: &Hstore, other: &Hstore) -> bool {
    other.iter().all(|(k, v)| h.get(k) == Some(v))
}

/// The hstore's output text, as PostgreSQL's `hstore_out` writes it (pairs in hstore's
/// order, every key and value quoted, NULL bare).
pub fn render(h: &Hstore) -> String {
    let mut out = String::new();
    for (i, (k, v)) in stagesql_catalog::render::in_hstore_order(h)
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push_str(", ");
        }
        stagesql_catalog::render::push_quoted(&mut out, k);
        out.push_str("=>");
        match v {
            Some(v) => stagesql_catalog::render::push_quoted(&mut out, v),
            None => out.push_str("NULL"),
        }
    }
    out
}

/// `hstore_to_json`: an object of string (or null) values in hstore's order, spaced as
/// PostgreSQL prints it (`{"a": "1", "b": null}`).
pub fn to_json(h: &Hstore) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in stagesql_catalog::render::in_hstore_order(h)
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&serde_json::Value::String(k.clone()).to_string());
        out.push_str(": ");
        match v {
            Some(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            None => out.push_str("null"),
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Hstore {
        match parse_hstore(text) {
            Ok(h) => h,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    #[test]
    fn parses_our_own_output() {
        let h = parsed(r#""q"=>"say \"hi\" \\ back", "a,b"=>"x=>y", "ü"=>"ñ""#);
        assert_eq!(h["q"].as_deref(), Some(r#"say "hi" \ back"#));
        assert_eq!(h["a,b"].as_deref(), Some("x=>y"));
        assert_eq!(h["ü"].as_deref(), Some("ñ"));
    }

    #[test]
    fn parses_bare_tokens_nulls_and_whitespace() {
        let h = parsed(" env=>prod ,  k => NULL, \"n\"=>\"NULL\"");
        assert_eq!(h["env"].as_deref(), Some("prod"));
        assert_eq!(h["k"], None);
        assert_eq!(h["n"].as_deref(), Some("NULL"));
        assert!(parsed("").is_empty());
        assert!(parsed("   ").is_empty());
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["a", "a=>", "\"a", "a=>b c=>d", "=>b", "a=>\"b"] {
            assert!(parse_hstore(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn containment_and_json() {
        let h = parsed(r#""env"=>"prod", "owner"=>"a,b""#);
        assert!(contains(&h, &parsed("env=>prod")));
        assert!(!contains(&h, &parsed("env=>dev")));
        assert!(contains(&h, &parsed("")));
        assert_eq!(to_json(&h), r#"{"env": "prod", "owner": "a,b"}"#);
        assert_eq!(
            render(&parsed(r#"b=>1, aa=>NULL, a=>"x y""#)),
            r#""a"=>"x y", "b"=>"1", "aa"=>NULL"#
        );
        // hstore's order: shorter keys first.
        assert_eq!(
            to_json(&parsed(r#"aa=>1, b=>NULL"#)),
            r#"{"b": null, "aa": "1"}"#
        );
    }
}
