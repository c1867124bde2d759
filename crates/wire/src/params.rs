//! Decoding Bind parameters (text or binary) into typed values for the engine.

use bytes::Bytes;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use pgwire::api::Type;
use pgwire::api::portal::Format;

use crate::error::WireError;
use crate::types::{arrow_type_of, pg_type_of};

/// The PostgreSQL type of parameter `i`: what the client declared, else what the planner
/// inferred, else text (PostgreSQL's `unknown` behaves as text).
pub fn param_pg_type(i: usize, declared: &[Option<Type>], inferred: &[Option<DataType>]) -> Type {
    match declared.get(i) {
        Some(Some(t)) if *t != Type::UNKNOWN => t.clone(),
        _ => inferred
            .get(i)
            .cloned()
            .flatten()
            .map_or(Type::TEXT, |dt| pg_type_of(&dt)),
    }
}

/// Whether parameter or column `i` of `n` is binary; a code list of the wrong length is a
/// protocol violation.
pub fn is_binary(format: &Format, i: usize, n: usize, what: &str) -> Result<bool, WireError> {
    match format {
        Format::UnifiedText => Ok(false),
        Format::UnifiedBinary => Ok(true),
        Format::Individual(codes) => {
            if codes.len() != n {
                return Err(WireError::Protocol(format!(
                    "bind message has {} {what} formats but {n} {what}s",
                    codes.len()
                )));
            }
            match codes[i] {
                0 => Ok(false),
                1 => Ok(true),
                other => Err(WireError::Protocol(format!(
                    "unsupported format code: {other}"
                ))),
            }
        }
    }
}

/// Decodes every parameter of a Bind.
pub fn decode_params(
    values: &[Option<Bytes>],
    format: &Format,
    declared: &[Option<Type>],
    inferred: &[Option<DataType>],
) -> Result<Vec<ScalarValue>, WireError> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let ty = param_pg_type(i, declared, inferred);
            let target = inferred
                .get(i)
                .cloned()
                .flatten()
                .or_else(|| arrow_type_of(&ty))
                .unwrap_or(DataType::Utf8);
            let Some(bytes) = value else {
                return ScalarValue::try_from(&target).map_err(|e| WireError::InvalidText {
                    index: i + 1,
                    reason: e.to_string(),
                });
            };
            if is_binary(format, i, values.len(), "parameter")? {
                decode_binary(i + 1, bytes, &ty)
            } else {
                let text = std::str::from_utf8(bytes).map_err(|e| bad_encoding(bytes, e))?;
                decode_text(i + 1, text, &ty, &target)
            }
        })
        .collect()
}

/// 22021 naming the invalid bytes, as PostgreSQL does.
fn bad_encoding(bytes: &[u8], e: std::str::Utf8Error) -> WireError {
    WireError::BadEncoding(crate::inbound::invalid_sequence(bytes, e))
}

fn decode_text(
    index: usize,
    text: &str,
    ty: &Type,
    target: &DataType,
) -> Result<ScalarValue, WireError> {
    let bad = || WireError::InvalidText {
        index,
        reason: format!("invalid input syntax for type {}: \"{text}\"", ty.name()),
    };
    match target {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Ok(ScalarValue::Utf8(Some(text.to_owned())))
        }
        DataType::Boolean => parse_bool(text)
            .map(|b| ScalarValue::Boolean(Some(b)))
            .ok_or_else(bad),
        DataType::Date32 | DataType::Timestamp(_, _) => {
            stagesql_engine::values::datetime_in::read_scalar(text, target)
                .map_err(WireError::Engine)?
                .ok_or_else(bad)
        }
        // An array in array_in's text form (`{1,2}`, `{a,"b c",NULL}`), each element read as
        // a value of the element type (asyncpg's `$1::oid[]`, psycopg's lists).
        DataType::List(element) => {
            let items = stagesql_engine::values::parse_array(text).map_err(|_| bad())?;
            let values = items
                .into_iter()
                .map(|item| match item {
                    Some(t) => decode_text(index, &t, ty, element.data_type()),
                    None => ScalarValue::try_from(element.data_type()).map_err(|_| bad()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &values,
                element.data_type(),
            )))
        }
        // PostgreSQL's int2in/int4in/int8in: its whitespace, and 22003 for a number out of
        // the type's range (arrow's cast called that malformed). Read directly, not through a
        // one-value array cast, since it is every run of a prepared statement's integer key.
        DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            stagesql_engine::values::integer_scalar(text, target).map_err(|e| match e {
                stagesql_engine::EngineError::InvalidTextRepresentation(_) => bad(),
                other => WireError::Engine(other),
            })
        }
        _ => ScalarValue::try_from_string(text.trim().to_owned(), target).map_err(|_| bad()),
    }
}

/// PostgreSQL's boolean input: t/f, true/false, yes/no, on/off, 1/0 and unique prefixes.
pub fn parse_bool(text: &str) -> Option<bool> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() {
        return None;
    }
    let matches = |word: &str| word.starts_with(&t);
    match t.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        "on" => Some(true),
        "of" | "off" => Some(false),
        "o" => None,
        _ if matches("true") || matches("yes") => Some(true),
        _ if matches("false") || matches("no") => Some(false),
        _ => None,
    }
}

fn decode_binary(index: usize, bytes: &[u8], ty: &Type) -> Result<ScalarValue, WireError> {
    let bad = || WireError::InvalidBinary {
        index,
        type_name: ty.name().to_owned(),
    };
    let fixed = |n: usize| -> Result<&[u8], WireError> {
        if bytes.len() == n {
            Ok(bytes)
        } else {
            Err(bad())
        }
    };
    Ok(match *ty {
        Type::BOOL => ScalarValue::Boolean(Some(fixed(1)?[0] != 0)),
        Type::INT2 => ScalarValue::Int16(Some(i16::from_be_bytes(arr(fixed(2)?)?))),
        Type::INT4 => ScalarValue::Int32(Some(i32::from_be_bytes(arr(fixed(4)?)?))),
        Type::OID => ScalarValue::UInt32(Some(u32::from_be_bytes(arr(fixed(4)?)?))),
        Type::INT8 => ScalarValue::Int64(Some(i64::from_be_bytes(arr(fixed(8)?)?))),
        Type::FLOAT4 => ScalarValue::Float32(Some(f32::from_be_bytes(arr(fixed(4)?)?))),
        Type::FLOAT8 => ScalarValue::Float64(Some(f64::from_be_bytes(arr(fixed(8)?)?))),
        Type::BYTEA => ScalarValue::Binary(Some(bytes.to_vec())),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let pg = i64::from_be_bytes(arr(fixed(8)?)?);
            let micros = pg.checked_add(946_684_800_000_000).ok_or_else(bad)?;
            let tz = (*ty == Type::TIMESTAMPTZ).then(|| "+00:00".into());
            let _ = TimeUnit::Microsecond;
            ScalarValue::TimestampMicrosecond(Some(micros), tz)
        }
        Type::DATE => {
            let pg = i32::from_be_bytes(arr(fixed(4)?)?);
            ScalarValue::Date32(Some(pg.checked_add(10_957).ok_or_else(bad)?))
        }
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::JSON
        | Type::UNKNOWN
        | Type::CHAR => {
            let text = std::str::from_utf8(bytes).map_err(|e| bad_encoding(bytes, e))?;
            ScalarValue::Utf8(Some(text.to_owned()))
        }
        Type::JSONB => {
            // jsonb's binary form is a version byte (1) followed by the text.
            match bytes.split_first() {
                Some((1, rest)) => ScalarValue::Utf8(Some(
                    std::str::from_utf8(rest)
                        .map_err(|e| bad_encoding(rest, e))?
                        .to_owned(),
                )),
                _ => return Err(bad()),
            }
        }
        _ => match stagesql_engine::values::by_oid(ty.oid())
            .filter(|t| t.elem != 0 && t.name.starts_with('_'))
            .and_then(|t| Type::from_oid(t.elem))
        {
            Some(element) => decode_binary_array(index, bytes, &element)?,
            None => {
                return Err(WireError::UnsupportedBinaryParameter {
                    index,
                    type_name: ty.name().to_owned(),
                });
            }
        },
    })
}

/// array_recv's form of a one-dimensional array: dimensions, a null flag, the element OID,
/// then each element as a length (-1 for NULL) and its bytes. The count the client states is
/// only checked, never used to size anything: the elements are read from the bytes present.
fn decode_binary_array(
    index: usize,
    bytes: &[u8],
    element: &Type,
) -> Result<ScalarValue, WireError> {
    let bad = || WireError::InvalidBinary {
        index,
        type_name: format!("{}[]", element.name()),
    };
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], WireError> {
        let end = at
            .checked_add(n)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(bad)?;
        let part = &bytes[at..end];
        at = end;
        Ok(part)
    };
    let ndim = i32::from_be_bytes(arr(take(4)?)?);
    take(8)?; // the null flag and the element OID
    let count = match ndim {
        0 => 0,
        1 => {
            let len = i32::from_be_bytes(arr(take(4)?)?);
            take(4)?; // the lower bound
            usize::try_from(len).map_err(|_| bad())?
        }
        _ => {
            return Err(WireError::UnsupportedBinaryParameter {
                index,
                type_name: "a multi-dimensional array".to_owned(),
            });
        }
    };
    let target = arrow_type_of(element).unwrap_or(DataType::Utf8);
    let mut values = Vec::new();
    for _ in 0..count {
        let len = i32::from_be_bytes(arr(take(4)?)?);
        values.push(match usize::try_from(len) {
            Ok(len) => decode_binary(index, take(len)?, element)?,
            Err(_) => ScalarValue::try_from(&target).map_err(|_| bad())?,
        });
    }
    if at != bytes.len() {
        return Err(bad());
    }
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(
        &values, &target,
    )))
}

fn arr<const N: usize>(b: &[u8]) -> Result<[u8; N], WireError> {
    b.try_into()
        .map_err(|_| WireError::Protocol("bad parameter length".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_postgres_input_rules() {
        for t in ["t", "TRUE", "yes", "on", "1", " y "] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["f", "false", "NO", "off", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "o", "maybe", "2"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_and_binary_parameters_decode_to_the_inferred_type() {
        let values = vec![
            Some(Bytes::from_static(b"42")),
            Some(Bytes::from(7i64.to_be_bytes().to_vec())),
            None,
        ];
        let out = decode_params(
            &values,
            &Format::Individual(vec![0, 1, 0]),
            &[None, Some(Type::INT8), None],
            &[Some(DataType::Int64), None, Some(DataType::Utf8)],
        )
        .expect("decodes");
        assert_eq!(
            out,
            vec![
                ScalarValue::Int64(Some(42)),
                ScalarValue::Int64(Some(7)),
                ScalarValue::Utf8(None)
            ]
        );
    }

    #[test]
    fn bad_parameters_are_errors_not_panics() {
        let short = vec![Some(Bytes::from_static(b"\x00\x01"))];
        assert!(matches!(
            decode_params(&short, &Format::UnifiedBinary, &[Some(Type::INT8)], &[None]),
            Err(WireError::InvalidBinary { .. })
        ));
        let text = vec![Some(Bytes::from_static(b"abc"))];
        assert!(matches!(
            decode_params(&text, &Format::UnifiedText, &[], &[Some(DataType::Int64)]),
            Err(WireError::InvalidText { .. })
        ));
        assert!(matches!(
            decode_params(&text, &Format::Individual(vec![0, 0]), &[], &[None]),
            Err(WireError::Protocol(_))
        ));
        // PostgreSQL's int4in: 22003 past the type's range, its whitespace allowed.
        let big = vec![Some(Bytes::from_static(b"99999999999"))];
        let err = decode_params(&big, &Format::UnifiedText, &[], &[Some(DataType::Int32)])
            .expect_err("out of range");
        assert_eq!(crate::error::classify(&err).code, "22003", "{err}");
        assert_eq!(
            err.to_string(),
            "value \"99999999999\" is out of range for type integer"
        );
        let spaced = vec![Some(Bytes::from_static(b" -7\n"))];
        assert_eq!(
            decode_params(&spaced, &Format::UnifiedText, &[], &[Some(DataType::Int16)])
                .expect("int2in allows whitespace"),
            vec![ScalarValue::Int16(Some(-7))]
        );
        let invalid_utf8 = vec![Some(Bytes::from_static(b"\xff"))];
        assert!(matches!(
            decode_params(&invalid_utf8, &Format::UnifiedText, &[], &[None]),
            Err(WireError::BadEncoding(_))
        ));
    }

    mod fuzz {
        //! Property tests over Bind parameter decoding: any bytes, any format code, any
        //! declared or inferred type give a value or a clean error, never a panic.
        use super::*;
        use proptest::prelude::*;

        const TYPES: &[Type] = &[
            Type::BOOL,
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::NUMERIC,
            Type::TEXT,
            Type::VARCHAR,
            Type::BYTEA,
            Type::DATE,
            Type::TIME,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::INTERVAL,
            Type::JSON,
            Type::JSONB,
            Type::UUID,
            Type::OID,
            Type::TEXT_ARRAY,
            Type::INT4_ARRAY,
            Type::UNKNOWN,
        ];

        fn inferred() -> Vec<Option<DataType>> {
            use datafusion::arrow::datatypes::TimeUnit;
            vec![
                None,
                Some(DataType::Boolean),
                Some(DataType::Int16),
                Some(DataType::Int32),
                Some(DataType::Int64),
                Some(DataType::UInt32),
                Some(DataType::Float32),
                Some(DataType::Float64),
                Some(DataType::Utf8),
                Some(DataType::Date32),
                Some(DataType::Timestamp(TimeUnit::Microsecond, None)),
                Some(DataType::Timestamp(
                    TimeUnit::Microsecond,
                    Some("UTC".into()),
                )),
                Some(DataType::Decimal128(38, 10)),
                Some(DataType::Binary),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            #[test]
            fn any_bytes_decode_or_fail_cleanly(
                value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..24)),
                ty in 0..TYPES.len(),
                target in 0..14usize,
                format in prop_oneof![Just(0i16), Just(1i16), any::<i16>()],
                declare in any::<bool>(),
            ) {
                let declared = vec![declare.then(|| TYPES[ty].clone())];
                let inferred = vec![inferred()[target].clone()];
                let values = vec![value.map(Bytes::from)];
                let _ = decode_params(&values, &Format::Individual(vec![format]), &declared, &inferred);
            }

            #[test]
            fn binary_int4_round_trips(n in any::<i32>()) {
                let values = vec![Some(Bytes::from(n.to_be_bytes().to_vec()))];
                let out = decode_params(
                    &values,
                    &Format::Individual(vec![1]),
                    &[Some(Type::INT4)],
                    &[Some(DataType::Int32)],
                );
                let out = out.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(out, vec![ScalarValue::Int32(Some(n))]);
            }

            #[test]
            fn wrong_length_binary_integers_are_22p03(len in 0usize..16) {
                prop_assume!(len != 4);
                let values = vec![Some(Bytes::from(vec![7u8; len]))];
                let err = decode_params(
                    &values,
                    &Format::Individual(vec![1]),
                    &[Some(Type::INT4)],
                    &[Some(DataType::Int32)],
                );
                prop_assert!(matches!(err, Err(WireError::InvalidBinary { index: 1, .. })), "{:?}", err);
            }
        }
    }
}
