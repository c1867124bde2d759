//! Turns PostgreSQL text rows into typed Arrow record batches, by each column's PostgreSQL
//! type: booleans, integers, floats, `oid` and the `reg*` types as oids, timestamps, arrays
//! (`{a,b}`) and the zero-based vector types (`int2vector`, `oidvector`, `1 2 3`).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, ListArray, RecordBatch, StringArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::error::{DataFusionError, Result};

use super::data::{RelationSpec, TextRow};
use super::names::names;
use crate::schema::{PG_CHAR, PG_INT2VECTOR, PG_NAME, PG_OIDVECTOR, tagged};

/// The oid text for a dumped `reg*` value, which PostgreSQL prints as a name (`array_in`,
/// `int4`; `-` for none). Looked up in the same tables the `reg*` casts use.
fn resolve_reg(type_name: &str, text: &str) -> String {
    if text == "-" {
        return "0".into();
    }
    if text.parse::<u32>().is_ok() {
        return text.into();
    }
    let found = match type_name {
        "regproc" | "regprocedure" => names().proc_oid(text),
        "regtype" => names().type_oid(text),
        _ => None,
    };
    found.unwrap_or(0).to_string()
}

/// The Arrow field for a column of PostgreSQL type `type_name`.
pub fn field(name: &str, type_name: &str, not_null: bool) -> Field {
    let nullable = !not_null;
    match type_name {
        "char" => tagged(Field::new(name, DataType::Utf8, nullable), PG_CHAR),
        "name" => tagged(Field::new(name, DataType::Utf8, nullable), PG_NAME),
        "int2vector" => tagged(
            Field::new(name, list_of(DataType::Int16), nullable),
            PG_INT2VECTOR,
        ),
        "oidvector" => tagged(
            Field::new(name, list_of(DataType::UInt32), nullable),
            PG_OIDVECTOR,
        ),
        t if t.starts_with('_') => {
            let element = field("item", &t[1..], false);
            Field::new(
                name,
                DataType::List(Arc::new(element.with_nullable(true))),
                nullable,
            )
        }
        t => Field::new(name, scalar_type(t), nullable),
    }
}

fn list_of(dt: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", dt, true)))
}

fn scalar_type(type_name: &str) -> DataType {
    match type_name {
        "bool" => DataType::Boolean,
        "int2" => DataType::Int16,
        // information_schema's domains: cardinal_number is an int4.
        "int4" | "cardinal_number" => DataType::Int32,
        "int8" => DataType::Int64,
        "float4" => DataType::Float32,
        "float8" | "numeric" => DataType::Float64,
        "oid" | "regproc" | "regprocedure" | "regclass" | "regtype" | "regnamespace"
        | "regrole" | "regoper" | "regconfig" | "xid" | "cid" => DataType::UInt32,
        "timestamptz" | "time_stamp" => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
        }
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        _ => DataType::Utf8,
    }
}

/// The Arrow schema of a relation.
pub fn schema(spec: &RelationSpec) -> SchemaRef {
    Arc::new(Schema::new(
        spec.columns
            .iter()
            .map(|(name, ty, _, not_null)| field(name, ty, *not_null && !spec_is_view(spec)))
            .collect::<Vec<_>>(),
    ))
}

/// Views' columns are nullable in PostgreSQL whatever their source says.
fn spec_is_view(spec: &RelationSpec) -> bool {
    spec.kind != "r"
}

/// Builds one batch of `rows` for `spec`.
pub fn batch(spec: &RelationSpec, rows: &[TextRow]) -> Result<RecordBatch> {
    let schema = schema(spec);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(spec.columns.len());
    for (i, ((name, ty, _, _), target)) in spec.columns.iter().zip(schema.fields()).enumerate() {
        let texts = rows.iter().map(|r| r.get(i).cloned().flatten());
        let array = column(ty, texts, target.data_type())
            .map_err(|e| DataFusionError::Internal(format!("{}.{name}: {e}", spec.name)))?;
        columns.push(array);
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn column(
    type_name: &str,
    texts: impl Iterator<Item = Option<String>>,
    target: &DataType,
) -> Result<ArrayRef> {
    match target {
        DataType::List(element) => {
            let vector = matches!(type_name, "int2vector" | "oidvector");
            let element_type = if vector {
                if type_name == "int2vector" {
                    "int2"
                } else {
                    "oid"
                }
            } else {
                &type_name[1..]
            };
            let mut offsets = vec![0i32];
            let mut items: Vec<Option<String>> = Vec::new();
            let mut validity = Vec::new();
            for text in texts {
                match text {
                    Some(t) => {
                        let parsed = if vector {
                            t.split_whitespace().map(|s| Some(s.to_owned())).collect()
                        } else {
                            parse_array(&t)?
                        };
                        items.extend(parsed);
                        validity.push(true);
                    }
                    None => validity.push(false),
                }
                offsets.push(
                    i32::try_from(items.len())
                        .map_err(|e| DataFusionError::Internal(format!("array too long: {e}")))?,
                );
            }
            let values = column(element_type, items.into_iter(), element.data_type())?;
            Ok(Arc::new(ListArray::try_new(
                Arc::clone(element),
                OffsetBuffer::new(offsets.into()),
                values,
                Some(validity.into()),
            )?))
        }
        _ => {
            let strings: StringArray = texts
                .map(|t| {
                    t.map(|t| match target {
                        DataType::UInt32 => resolve_reg(type_name, &t),
                        _ => t,
                    })
                })
                .collect();
            if *target == DataType::Utf8 {
                return Ok(Arc::new(strings));
            }
            Ok(cast(&strings, target)?)
        }
    }
}

/// Parses PostgreSQL's one-dimensional array text form: `{a,"b c",NULL}`, with array_in's
/// rules: whitespace around an element is not part of it, backslash escapes a character,
/// an unquoted `NULL` is null, and anything else (a missing brace, an empty element, a stray
/// quote) is 22P02 "malformed array literal". Several dimensions are refused with 0A000.
pub fn parse_array(text: &str) -> Result<Vec<Option<String>>> {
    use crate::error::EngineError;
    let fail = |e: EngineError| DataFusionError::External(Box::new(e));
    let bad = || {
        fail(EngineError::InvalidTextRepresentation(format!(
            "malformed array literal: \"{text}\""
        )))
    };
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(bad)?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut item = String::new();
        let quoted = chars.next_if_eq(&'"').is_some();
        let mut escaped = false;
        if quoted {
            loop {
                match chars.next().ok_or_else(bad)? {
                    '\\' => item.push(chars.next().ok_or_else(bad)?),
                    '"' => break,
                    c => item.push(c),
                }
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
        } else {
            // Trailing whitespace is dropped, unless escaped.
            let mut kept = 0;
            while let Some(&c) = chars.peek() {
                match c {
                    ',' => break,
                    '{' => {
                        return Err(fail(EngineError::Unsupported(
                            "arrays of more than one dimension".to_owned(),
                        )));
                    }
                    '}' | '"' => return Err(bad()),
                    '\\' => {
                        chars.next();
                        item.push(chars.next().ok_or_else(bad)?);
                        escaped = true;
                        kept = item.len();
                    }
                    c => {
                        item.push(c);
                        if !c.is_whitespace() {
                            kept = item.len();
                        }
                    }
                }
                if c != '\\' {
                    chars.next();
                }
            }
            item.truncate(kept);
            if item.is_empty() {
                return Err(bad());
            }
        }
        out.push(
            if !quoted && !escaped && item.eq_ignore_ascii_case("NULL") {
                None
            } else {
                Some(item)
            },
        );
        match chars.next() {
            None => return Ok(out),
            Some(',') => continue,
            Some(_) => return Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reg_names_become_the_oids_pg_proc_and_pg_type_use() {
        let int4in = names().proc_oid("int4in").expect("int4in is in pg_proc");
        assert_eq!(resolve_reg("regproc", "int4in"), int4in.to_string());
        assert_eq!(resolve_reg("regproc", "-"), "0");
        assert_eq!(resolve_reg("regtype", "pg_catalog.int4"), "23");
        assert_eq!(resolve_reg("regproc", "no_such_function"), "0");
    }

    #[test]
    fn array_text_forms() {
        assert_eq!(
            parse_array("{}").expect("in the test data"),
            Vec::<Option<String>>::new()
        );
        assert_eq!(
            parse_array(r#"{a,"b,c",NULL,"NULL","x\"y"}"#).expect("in the test data"),
            vec![
                Some("a".into()),
                Some("b,c".into()),
                None,
                Some("NULL".into()),
                Some("x\"y".into())
            ]
        );
        assert_eq!(
            parse_array(r#"{ a b , "c" ,\ d\ }"#).expect("spaces"),
            vec![Some("a b".into()), Some("c".into()), Some(" d ".into())]
        );
        assert_eq!(
            parse_array("{ }").expect("empty"),
            Vec::<Option<String>>::new()
        );
        for bad in [
            "a,b", "{\"a}", "{a,b", "{a,,b}", "{a,}", "{\"a\"b}", "{a}}", "{a\"b}",
        ] {
            assert!(parse_array(bad).is_err(), "{bad} is malformed");
        }
        assert!(parse_array("{{1,2},{3,4}}").is_err());
    }
}
