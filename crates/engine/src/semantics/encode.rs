//! bytea as PostgreSQL reads and writes it.
//!
//! - `encode(bytes, 'base64')`: padded with `=` to a multiple of four and broken into lines
//!   of 76 characters. DataFusion's base64 is unpadded and on one line.
//! - Text cast to bytea (`'\x01ff'::bytea`) is read by byteain's rules: `\x` and hex digits,
//!   or the escape form (`\\` is a backslash, `\ooo` an octal byte). DataFusion took the
//!   text's own bytes (`\x01ff` was six bytes).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use datafusion::error::DataFusionError;

use crate::error::EngineError;
use crate::row_fn::RowFn;

fn bad_bytea(message: String) -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::InvalidTextRepresentation(message)))
}

/// The bytes of bytea input text (see the module documentation).
pub fn bytea_in(text: &str) -> datafusion::common::Result<Vec<u8>> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let mut out = Vec::with_capacity(digits.len() / 2);
        for pair in digits.chunks(2) {
            let value = |d: u8| {
                char::from(d).to_digit(16).ok_or_else(|| {
                    bad_bytea(format!("invalid hexadecimal digit: \"{}\"", char::from(d)))
                })
            };
            let [hi, lo] = pair else {
                return Err(bad_bytea(
                    "invalid hexadecimal data: odd number of digits".to_owned(),
                ));
            };
            out.push((value(*hi)? * 16 + value(*lo)?) as u8);
        }
        return Ok(out);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if let Some(octal) = bytes.get(i + 1..i + 4)
            && matches!(octal[0], b'0'..=b'3')
            && octal[1..].iter().all(|d| matches!(d, b'0'..=b'7'))
        {
            out.push((octal[0] - b'0') * 64 + (octal[1] - b'0') * 8 + (octal[2] - b'0'));
            i += 4;
        } else {
            return Err(bad_bytea("invalid input syntax for type bytea".to_owned()));
        }
    }
    Ok(out)
}

/// `__pg_bytea_in(text)`: the bytes text cast to bytea holds.
pub fn bytea_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(RowFn::new(
        "__pg_bytea_in",
        Signature::any(1, Volatility::Immutable),
        DataType::Binary,
        |a| {
            Ok(match a[0].cast_to(&DataType::Utf8)? {
                ScalarValue::Utf8(Some(t)) => ScalarValue::Binary(Some(bytea_in(&t)?)),
                _ => ScalarValue::Binary(None),
            })
        },
    ))
}

/// PostgreSQL's layout of an unpadded base64 text.
pub fn postgres_base64(unpadded: &str) -> String {
    let mut padded = unpadded.to_owned();
    while !padded.len().is_multiple_of(4) {
        padded.push('=');
    }
    let mut out = String::with_capacity(padded.len() + padded.len() / 76);
    for (i, c) in padded.chars().enumerate() {
        if i > 0 && i.is_multiple_of(76) {
            out.push('\n');
        }
        out.push(c);
    }
    out
}

/// `__pg_base64_layout(text)`: DataFusion's base64 text in PostgreSQL's layout.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(RowFn::new(
        "__pg_base64_layout",
        Signature::any(1, Volatility::Immutable),
        DataType::Utf8,
        |a| {
            Ok(match a[0].cast_to(&DataType::Utf8)? {
                ScalarValue::Utf8(Some(t)) => ScalarValue::Utf8(Some(postgres_base64(&t))),
                _ => ScalarValue::Utf8(None),
            })
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_and_wrapped() {
        assert_eq!(postgres_base64("aGVsbG8"), "aGVsbG8=");
        assert_eq!(postgres_base64("aGk"), "aGk=");
        assert_eq!(postgres_base64("YQ"), "YQ==");
        let long = "A".repeat(80);
        assert_eq!(
            postgres_base64(&long),
            format!("{}\n{}", "A".repeat(76), "AAAA")
        );
    }
}
