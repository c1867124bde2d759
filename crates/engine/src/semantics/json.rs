//! json's input function: text cast to `json` or `jsonb` must be JSON (22P02 "invalid input
//! syntax for type json" otherwise); the text is kept as written, as `json` does.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::EngineError;

/// `__pg_json_in(text)`: the text, once it parses as JSON.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonIn {
    signature: Signature,
}

impl JsonIn {
    /// The UDF.
    pub fn new() -> Self {
        JsonIn {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for JsonIn {
    fn default() -> Self {
        Self::new()
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

impl ScalarUDFImpl for JsonIn {
    fn name(&self) -> &str {
        "__pg_json_in"
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
        let text: ArrayRef = cast(&array, &DataType::Utf8)?;
        for v in text.as_string::<i32>().iter().flatten() {
            check(v)?;
        }
        Ok(if scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&text, 0)?)
        } else {
            ColumnarValue::Array(text)
        })
    }
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
}
