//! A cast to text prints the value as PostgreSQL's output function does (`created_date::text`
//! is `2026-01-05 10:00:00`, an interval `1 day 02:00:00`, a float `1e+16`, an array
//! `{a,"b c"}`), with the same code the wire sends values with ([`crate::text`]); Arrow's
//! cast printed `2026-01-05T10:00:00`, `26:00:00`, `10000000000000000` and `[a, b c]`.

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// Whether Arrow's text for values of `t` differs from PostgreSQL's.
pub fn needs_pg_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(_, _)
            | DataType::Date32
            | DataType::Date64
            | DataType::Interval(_)
            | DataType::Duration(_)
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
    )
}

/// `__pg_text(x)`: `x` as PostgreSQL prints it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToText {
    signature: Signature,
}

impl ToText {
    /// The UDF.
    pub fn new() -> Self {
        ToText {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for ToText {
    fn default() -> Self {
        Self::new()
    }
}

fn texts(values: &ArrayRef) -> Result<ArrayRef> {
    let mut out = StringBuilder::with_capacity(values.len(), values.len() * 16);
    let mut text = String::new();
    for row in 0..values.len() {
        if values.is_null(row) {
            out.append_null();
            continue;
        }
        text.clear();
        if let Err(e) = crate::text::write_text(values, row, &mut text) {
            return exec_err!("{e}");
        }
        out.append_value(&text);
    }
    Ok(std::sync::Arc::new(out.finish()))
}

impl ScalarUDFImpl for ToText {
    fn name(&self) -> &str {
        "__pg_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = super::arguments(&args)?;
        super::answer(texts(&arrays[0])?, scalar)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{AsArray, Float64Array, TimestampMicrosecondArray};

    use super::*;

    #[test]
    fn values_print_as_postgres_prints_them() {
        let stamps: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            Some(1_795_599_528_000_000),
            None,
        ]));
        let out = texts(&stamps).expect("prints");
        assert_eq!(out.as_string::<i32>().value(0), "2026-11-25 09:38:48");
        assert!(out.is_null(1));
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![1e16, 0.5]));
        let out = texts(&floats).expect("prints");
        assert_eq!(out.as_string::<i32>().value(0), "1e+16");
        assert_eq!(out.as_string::<i32>().value(1), "0.5");
    }
}
