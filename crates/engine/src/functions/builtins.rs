//! PostgreSQL's general functions DataFusion lacks, which catalog queries and BI tools call:
//! `format`, `quote_ident`, `parse_ident`,
//! `array_lower`/`array_upper`, and the helpers the rewrite calls for `LIKE … ESCAPE`,
//! `generate_subscripts`, `_pg_expandarray` and psql's `ARRAY(SELECT 'p' || x FROM unnest(…))`.
//! None depends on the session, so they are registered once for the engine.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ScalarUDF, Signature, TypeSignature, Volatility};

use crate::error::EngineError;
use crate::pg_catalog::{quote_ident, split_qualified};
use crate::row_fn::{RowFn, arg_i64, arg_str};

fn text(v: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(v.into()))
}

fn err(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn sig(arities: &[usize]) -> Signature {
    Signature::one_of(
        arities.iter().map(|n| TypeSignature::Any(*n)).collect(),
        Volatility::Immutable,
    )
}

/// Every function here.
pub fn all() -> Vec<ScalarUDF> {
    let mut out = vec![
        ScalarUDF::new_from_impl(PgTypeof::default()),
        super::to_char::udf(),
    ];
    out.extend(
        [arrays(), array_helpers(), quoting(), strings()]
            .into_iter()
            .flatten()
            .map(ScalarUDF::new_from_impl),
    );
    out
}
/// Array input, containment and overlap, and `array_lower`/`array_upper`.
fn arrays() -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    add(RowFn::new(
        "__pg_array_in",
        sig(&[1]),
        DataType::new_list(DataType::Utf8, true),
        |a| match arg_str(&a[0]) {
            Some(t) => {
                let items: Vec<ScalarValue> = crate::pg_catalog::parse_array(&t)?
                    .into_iter()
                    .map(ScalarValue::Utf8)
                    .collect();
                Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                    &items,
                    &DataType::Utf8,
                )))
            }
            None => Ok(ScalarValue::try_from(DataType::new_list(
                DataType::Utf8,
                true,
            ))?),
        },
    ));
    for (name, overlap) in [("__pg_array_contains", false), ("__pg_array_overlap", true)] {
        add(RowFn::new(name, sig(&[2]), DataType::Boolean, move |a| {
            Ok(ScalarValue::Boolean(array_match(&a[0], &a[1], overlap)?))
        }));
    }
    for (name, upper) in [("array_lower", false), ("array_upper", true)] {
        // int8 rather than PostgreSQL's int4: DataFusion's generate_series takes int8.
        add(RowFn::new(name, sig(&[2, 3]), DataType::Int64, move |a| {
            let base = a.get(2).and_then(arg_i64).unwrap_or(1);
            let dim = arg_i64(&a[1]).unwrap_or(0);
            let len = match &a[0] {
                v if v.is_null() => return Ok(ScalarValue::Int64(None)),
                _ => list_items(&a[0]).len() as i64,
            };
            if dim != 1 || len == 0 {
                return Ok(ScalarValue::Int64(None));
            }
            Ok(ScalarValue::Int64(Some(if upper {
                base + len - 1
            } else {
                base
            })))
        }));
    }
    out
}

/// The array helpers the rewrite calls for psql's `ARRAY(SELECT 'p' || x …)`, `generate_subscripts` and `_pg_expandarray`.
fn array_helpers() -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    add(RowFn::new(
        "__pg_prefix_elements",
        sig(&[2]),
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        |a| {
            let prefix = arg_str(&a[0]).unwrap_or_default();
            let items: Vec<ScalarValue> = match &a[1] {
                ScalarValue::List(list)
                    if !datafusion::arrow::array::Array::is_null(list.as_ref(), 0) =>
                {
                    let values = list.value(0);
                    (0..values.len())
                        .map(|i| {
                            ScalarValue::try_from_array(&values, i).map(|v| match arg_str(&v) {
                                Some(s) => text(format!("{prefix}{s}")),
                                None => ScalarValue::Utf8(None),
                            })
                        })
                        .collect::<Result<_>>()?
                }
                _ => Vec::new(),
            };
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &items,
                &DataType::Utf8,
            )))
        },
    ));
    add(RowFn::new(
        "__pg_subscripts",
        sig(&[2]),
        DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
        |a| {
            let base = arg_i64(&a[1]).unwrap_or(1);
            let len = match &a[0] {
                ScalarValue::List(list)
                    if !datafusion::arrow::array::Array::is_null(list.as_ref(), 0) =>
                {
                    list.value(0).len()
                }
                _ => 0,
            };
            let items: Vec<ScalarValue> = (0..len)
                .map(|i| ScalarValue::Int32(i32::try_from(i as i64 + base).ok()))
                .collect();
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &items,
                &DataType::Int32,
            )))
        },
    ));
    // `pg_partition_ancestors(rel)` as a select item (psql 18's `\d` footer): the relation and
    // its ancestors when it is a partition; nothing here is partitioned, so always empty.
    add(RowFn::new(
        "__pg_partition_ancestors",
        sig(&[1]),
        DataType::List(Arc::new(Field::new("item", DataType::UInt32, true))),
        |_| {
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &[],
                &DataType::UInt32,
            )))
        },
    ));
    add(RowFn::new(
        "__pg_expandarray",
        sig(&[1]),
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(expand_fields()),
            true,
        ))),
        |a| {
            let items = list_items(&a[0]);
            let rows: Vec<ScalarValue> = items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let x = ScalarValue::Int32(arg_i64(v).and_then(|n| i32::try_from(n).ok()));
                    let n = ScalarValue::Int32(i32::try_from(i as i64 + 1).ok());
                    Ok(ScalarValue::Struct(Arc::new(
                        datafusion::arrow::array::StructArray::try_new(
                            expand_fields(),
                            vec![x.to_array()?, n.to_array()?],
                            None,
                        )?,
                    )))
                })
                .collect::<Result<_>>()?;
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &rows,
                &DataType::Struct(expand_fields()),
            )))
        },
    ));
    out
}
/// Quoting and formatting: `quote_literal`, `quote_nullable`, `quote_ident`, `format`, `parse_ident`.
fn quoting() -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    add(RowFn::new(
        "quote_literal",
        sig(&[1]),
        DataType::Utf8,
        |a| {
            Ok(match arg_str(&a[0]) {
                Some(v) => text(quote_literal(&v)),
                None => ScalarValue::Utf8(None),
            })
        },
    ));
    add(RowFn::new(
        "quote_nullable",
        sig(&[1]),
        DataType::Utf8,
        |a| {
            Ok(text(match arg_str(&a[0]) {
                Some(v) => quote_literal(&v),
                None => "NULL".to_owned(),
            }))
        },
    ));
    add(RowFn::new(
        "format",
        Signature::variadic_any(Volatility::Stable),
        DataType::Utf8,
        |a| {
            let Some(fmt) = arg_str(&a[0]) else {
                return Ok(ScalarValue::Utf8(None));
            };
            format_sql(&fmt, &a[1..]).map(text)
        },
    ));
    add(RowFn::new("quote_ident", sig(&[1]), DataType::Utf8, |a| {
        Ok(match arg_str(&a[0]) {
            Some(s) => text(quote_ident(&s)),
            None => ScalarValue::Utf8(None),
        })
    }));
    add(RowFn::new(
        "parse_ident",
        sig(&[1, 2]),
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        |a| {
            Ok(match arg_str(&a[0]) {
                Some(s) => ScalarValue::List(ScalarValue::new_list_nullable(
                    &split_qualified(&s)
                        .into_iter()
                        .map(text)
                        .collect::<Vec<_>>(),
                    &DataType::Utf8,
                )),
                None => ScalarValue::List(ScalarValue::new_list_nullable(&[], &DataType::Utf8)),
            })
        },
    ));
    out
}

/// `to_hex`, `chr`, `pg_size_pretty`, the `LIKE … ESCAPE` helper, and `txid_current`.
fn strings() -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    add(RowFn::new(
        "to_hex",
        Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Int32]),
                TypeSignature::Exact(vec![DataType::Int64]),
                TypeSignature::Exact(vec![DataType::Int16]),
            ],
            Volatility::Immutable,
        ),
        DataType::Utf8,
        |a| {
            // PostgreSQL's to_hex(integer) prints 32 bits, to_hex(bigint) 64; DataFusion
            // widened every argument to 64.
            Ok(match &a[0] {
                ScalarValue::Int16(Some(v)) => text(format!("{:x}", i32::from(*v) as u32)),
                ScalarValue::Int32(Some(v)) => text(format!("{:x}", *v as u32)),
                ScalarValue::Int64(Some(v)) => text(format!("{:x}", *v as u64)),
                _ => ScalarValue::Utf8(None),
            })
        },
    ));
    add(RowFn::new(
        "chr",
        Signature::uniform(1, vec![DataType::Int64], Volatility::Immutable),
        DataType::Utf8,
        |a| match arg_i64(&a[0]) {
            Some(code) => chr(code).map(text).map_err(err),
            None => Ok(ScalarValue::Utf8(None)),
        },
    ));
    add(RowFn::new(
        "pg_size_pretty",
        sig(&[1]),
        DataType::Utf8,
        |a| {
            Ok(match arg_i64(&a[0]) {
                Some(n) => text(size_pretty(n)),
                None => ScalarValue::Utf8(None),
            })
        },
    ));
    add(RowFn::new(
        "txid_current",
        Signature::nullary(Volatility::Volatile),
        DataType::Int64,
        |_| {
            // Nothing is ever written, but clients use this as a liveness probe or a
            // transaction marker; a number that grows is what they expect.
            static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1_000);
            Ok(ScalarValue::Int64(Some(
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            )))
        },
    ));
    add(RowFn::new(
        "__pg_like_escape",
        sig(&[2]),
        DataType::Utf8,
        |a| {
            Ok(match (arg_str(&a[0]), arg_str(&a[1])) {
                (Some(p), Some(e)) => text(like_with_backslash(&p, &e)),
                _ => ScalarValue::Utf8(None),
            })
        },
    ));
    out
}

/// The fields of `_pg_expandarray`'s rows: the element `x` and its position `n`.
fn expand_fields() -> datafusion::arrow::datatypes::Fields {
    datafusion::arrow::datatypes::Fields::from(vec![
        Field::new("x", DataType::Int32, true),
        Field::new("n", DataType::Int32, true),
    ])
}

/// The elements of a list value (none for NULL or a non-list).
fn list_items(v: &ScalarValue) -> Vec<ScalarValue> {
    let array = match v {
        ScalarValue::List(list) if !datafusion::arrow::array::Array::is_null(list.as_ref(), 0) => {
            list.value(0)
        }
        _ => return Vec::new(),
    };
    (0..array.len())
        .filter_map(|i| ScalarValue::try_from_array(&array, i).ok())
        .collect()
}

/// PostgreSQL's `format()`: `%s`, `%I` (identifier), `%L` (literal), `%%`, and `%n$s`.
fn format_sql(fmt: &str, args: &[ScalarValue]) -> Result<String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = 0usize;
    let bad = |m: &str| err(EngineError::InvalidArgument(format!("format(): {m}")));
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = chars
            .next()
            .ok_or_else(|| bad("unterminated format specifier"))?;
        if spec == '%' {
            out.push('%');
            continue;
        }
        let mut index = None;
        if spec.is_ascii_digit() {
            let mut n = spec.to_digit(10).unwrap_or(0) as usize;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d as usize;
                chars.next();
            }
            if chars.next() != Some('$') {
                return Err(bad("expected $ after argument position"));
            }
            index = Some(
                n.checked_sub(1)
                    .ok_or_else(|| bad("argument positions start at 1"))?,
            );
            spec = chars
                .next()
                .ok_or_else(|| bad("unterminated format specifier"))?;
        }
        let i = index.unwrap_or(next);
        next = i + 1;
        let arg = args.get(i).ok_or_else(|| bad("too few arguments"))?;
        let value = arg_str(arg);
        match spec {
            's' => out.push_str(value.as_deref().unwrap_or("")),
            'I' => out.push_str(&quote_ident(&value.ok_or_else(|| {
                bad("null values cannot be formatted as an SQL identifier")
            })?)),
            'L' => match value {
                None => out.push_str("NULL"),
                Some(v) => {
                    out.push('\'');
                    out.push_str(&v.replace('\'', "''"));
                    out.push('\'');
                }
            },
            other => {
                return Err(bad(&format!(
                    "unrecognized format() type specifier \"{other}\""
                )));
            }
        }
    }
    Ok(out)
}

/// PostgreSQL's `a @> b` (every element of `b` is in `a`) or `a && b` (they share an
/// element) on arrays: NULL elements never match, so `ARRAY[1, NULL] @> ARRAY[NULL]` is false
/// (DataFusion's array_has_all/any count a NULL as equal to a NULL). NULL arrays give NULL.
fn array_match(a: &ScalarValue, b: &ScalarValue, overlap: bool) -> Result<Option<bool>> {
    let items = |v: &ScalarValue| -> Result<Option<Vec<ScalarValue>>> {
        match v {
            ScalarValue::List(list)
                if !datafusion::arrow::array::Array::is_null(list.as_ref(), 0) =>
            {
                let values = list.value(0);
                (0..values.len())
                    .map(|i| ScalarValue::try_from_array(&values, i))
                    .collect::<Result<Vec<_>>>()
                    .map(Some)
            }
            _ => Ok(None),
        }
    };
    let (Some(left), Some(right)) = (items(a)?, items(b)?) else {
        return Ok(None);
    };
    let left_type = left
        .iter()
        .find(|v| !v.is_null())
        .map(ScalarValue::data_type);
    let mut found_any = false;
    for r in &right {
        if r.is_null() {
            if overlap {
                continue;
            }
            return Ok(Some(false));
        }
        let r = match &left_type {
            Some(t) if *t != r.data_type() => r.cast_to(t)?,
            _ => r.clone(),
        };
        let found = left.iter().any(|l| !l.is_null() && *l == r);
        if overlap && found {
            return Ok(Some(true));
        }
        if !overlap && !found {
            return Ok(Some(false));
        }
        found_any |= found;
    }
    Ok(Some(if overlap { found_any } else { true }))
}

/// Rewrites a LIKE pattern that uses `escape` as its escape character (empty: none) into one
/// that uses a backslash.
fn like_with_backslash(pattern: &str, escape: &str) -> String {
    let esc = escape.chars().next();
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == esc {
            match chars.next() {
                Some(n @ ('%' | '_' | '\\')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some(n) => out.push(n),
                None => {}
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

/// `pg_size_pretty`: bytes, kB, MB, GB or TB, rounded, as PostgreSQL prints sizes.
/// PostgreSQL's `chr` in a UTF-8 database: the code is read as unsigned 32 bits, NUL and
/// surrogates are refused (DataFusion's answered a NUL character).
fn chr(code: i64) -> std::result::Result<String, EngineError> {
    let code = i32::try_from(code)
        .map_err(|_| EngineError::NumericOutOfRange("integer out of range".to_owned()))?;
    // PostgreSQL 15.8 and later refuse a negative code (before, it was read as uint32).
    let code = u32::try_from(code).map_err(|_| {
        EngineError::InvalidArgument("character number must be positive".to_owned())
    })?;
    if code == 0 {
        return Err(EngineError::ProgramLimitExceeded(
            "null character not permitted".to_owned(),
        ));
    }
    if code > 0x10_FFFF {
        return Err(EngineError::ProgramLimitExceeded(format!(
            "requested character too large for encoding: {code}"
        )));
    }
    char::from_u32(code).map(String::from).ok_or_else(|| {
        EngineError::ProgramLimitExceeded(format!(
            "requested character not valid for encoding: {code}"
        ))
    })
}

fn size_pretty(bytes: i64) -> String {
    let mut size = bytes as f64;
    if bytes.abs() < 10 * 1024 {
        return format!("{bytes} bytes");
    }
    for unit in ["kB", "MB", "GB", "TB"] {
        size /= 1024.0;
        if size.abs() < 10.0 * 1024.0 || unit == "TB" {
            return format!("{} {unit}", size.round() as i64);
        }
    }
    format!("{bytes} bytes")
}

/// PostgreSQL's `quote_literal`: single quotes doubled, and the `E''` form when the text
/// holds a backslash.
fn quote_literal(v: &str) -> String {
    let quoted = v.replace('\'', "''");
    if v.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chr_refuses_like_postgres() {
        assert_eq!(chr(65).expect("A"), "A");
        assert_eq!(chr(0x1F600).expect("emoji"), "\u{1F600}");
        assert!(chr(0).is_err());
        assert!(chr(-1).is_err());
        assert!(chr(0xD800).is_err());
        assert!(chr(0x11_0000).is_err());
    }

    #[test]
    fn sizes_print_like_postgres() {
        assert_eq!(size_pretty(8192), "8192 bytes");
        assert_eq!(size_pretty(20 * 1024), "20 kB");
        assert_eq!(size_pretty(30 * 1024 * 1024), "30 MB");
    }

    #[test]
    fn quote_literal_like_postgres() {
        assert_eq!(quote_literal("a'b"), "'a''b'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }

    #[test]
    fn format_and_like_escape() {
        assert_eq!(
            format_sql(
                "%I.%I %s %L %2$s %%",
                &[text("aws"), text("Stage"), text("it's"), text("it's")]
            )
            .expect("formats"),
            "aws.\"Stage\" it's 'it''s' Stage %"
        );
        assert!(format_sql("%I", &[ScalarValue::Utf8(None)]).is_err());
        assert_eq!(like_with_backslash("pg/_%", "/"), "pg\\_%");
        assert_eq!(like_with_backslash("a\\b//", "/"), "a\\\\b/");
        assert_eq!(like_with_backslash("x%", ""), "x%");
    }
}

/// `pg_typeof(x)`: the PostgreSQL type name of its argument, as the wire would describe it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgTypeof {
    signature: Signature,
}

impl Default for PgTypeof {
    fn default() -> Self {
        PgTypeof {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for PgTypeof {
    fn name(&self) -> &str {
        "pg_typeof"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> Result<datafusion::logical_expr::ColumnarValue> {
        let oid = args
            .arg_fields
            .first()
            .map_or(705, |f| crate::pg_types::oid_for_field(f));
        let name = crate::pg_catalog::names()
            .type_text(oid)
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(datafusion::logical_expr::ColumnarValue::Scalar(text(name)))
    }
}
