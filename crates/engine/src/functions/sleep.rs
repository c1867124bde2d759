//! `pg_sleep(seconds)`: clients and health checks use it to test cancel and timeouts. It is an
//! async function, so a sleeping query holds no thread: a cancel request, `statement_timeout`
//! or a closed connection drops the query and the sleep with it.

use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::async_udf::{AsyncScalarUDF, AsyncScalarUDFImpl};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The longest one call waits; past it the statement's own limits end the query anyway.
const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgSleep {
    signature: Signature,
}

/// The UDF.
pub fn udf() -> ScalarUDF {
    AsyncScalarUDF::new(std::sync::Arc::new(PgSleep {
        signature: Signature::exact(vec![DataType::Float64], Volatility::Volatile),
    }))
    .into_scalar_udf()
}

/// How long `seconds` asks to wait: nothing for NULL, zero, negative or NaN.
fn duration(seconds: Option<f64>) -> Duration {
    match seconds {
        Some(s) if s > 0.0 => Duration::try_from_secs_f64(s).map_or(LONGEST, |d| d.min(LONGEST)),
        _ => Duration::ZERO,
    }
}

impl ScalarUDFImpl for PgSleep {
    fn name(&self) -> &str {
        "pg_sleep"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        // PostgreSQL returns void, which prints as an empty string.
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        datafusion::common::internal_err!("pg_sleep runs only asynchronously")
    }
}

#[async_trait]
impl AsyncScalarUDFImpl for PgSleep {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let total: Duration = match &args.args[0] {
            ColumnarValue::Scalar(ScalarValue::Float64(s)) => {
                duration(*s).saturating_mul(u32::try_from(rows).unwrap_or(u32::MAX))
            }
            ColumnarValue::Scalar(_) => Duration::ZERO,
            ColumnarValue::Array(a) => {
                let values = a.as_primitive::<Float64Type>();
                (0..values.len())
                    .map(|i| duration((!values.is_null(i)).then(|| values.value(i))))
                    .fold(Duration::ZERO, Duration::saturating_add)
            }
        };
        tokio::time::sleep(total.min(LONGEST)).await;
        let empty: StringArray = std::iter::repeat_n(Some(""), rows).collect();
        Ok(ColumnarValue::Array(std::sync::Arc::new(empty)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_waited_for_null_negative_or_nan_and_huge_values_are_capped() {
        assert_eq!(duration(None), Duration::ZERO);
        assert_eq!(duration(Some(-1.0)), Duration::ZERO);
        assert_eq!(duration(Some(f64::NAN)), Duration::ZERO);
        assert_eq!(duration(Some(0.25)), Duration::from_millis(250));
        assert_eq!(duration(Some(f64::INFINITY)), LONGEST);
        assert_eq!(duration(Some(1e300)), LONGEST);
    }
}
