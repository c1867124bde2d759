//! json's input function: text cast to `json` or `jsonb` must be JSON (22P02 "invalid input
//! syntax for type json" otherwise); the text is kept as written, as `json` does.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use crate::error::EngineError;
use crate::functions::row_fn::RowFn;

/// `__pg_json_in(text)`: the text, once it parses as JSON.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(RowFn::new(
        "__pg_json_in",
        Signature::any(1, Volatility::Immutable),
        DataType::Utf8,
        |a| {
            let text = a[0].cast_to(&DataType::Utf8)?;
            if let ScalarValue::Utf8(Some(t)) = &text {
                check(t)?;
            }
            Ok(text)
        },
    ))
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
