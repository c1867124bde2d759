//! `encode(bytes, 'base64')` as PostgreSQL writes it: padded with `=` to a multiple of four
//! and broken into lines of 76 characters. DataFusion's base64 is unpadded and on one line.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use crate::functions::row_fn::RowFn;

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
