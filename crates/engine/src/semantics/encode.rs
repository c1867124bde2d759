//! `encode(bytes, 'base64')` as PostgreSQL writes it: padded with `=` to a multiple of four
//! and broken into lines of 76 characters. DataFusion's base64 is unpadded and on one line.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

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

/// `__pg_base64_layout(text)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Base64Layout {
    signature: Signature,
}

impl Base64Layout {
    /// The UDF.
    pub fn new() -> Self {
        Base64Layout {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for Base64Layout {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Base64Layout {
    fn name(&self) -> &str {
        "__pg_base64_layout"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (array, scalar) = match &args.args[0] {
            ColumnarValue::Scalar(s) => (s.to_array()?, true),
            ColumnarValue::Array(a) => (Arc::clone(a), false),
        };
        let text = cast(&array, &DataType::Utf8)?;
        let out: StringArray = text
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(postgres_base64))
            .collect();
        let out: ArrayRef = Arc::new(out);
        Ok(if scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(out)
        })
    }
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
