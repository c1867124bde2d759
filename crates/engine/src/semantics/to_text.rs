//! A cast to text prints the value as PostgreSQL's output function does (`created_date::text`
//! is `2026-01-05 10:00:00`, an interval `1 day 02:00:00`, a float `1e+16`, an array
//! `{a,"b c"}`), with the same code the wire sends values with ([`crate::text`]); Arrow's
//! cast printed `2026-01-05T10:00:00`, `26:00:00`, `10000000000000000` and `[a, b c]`.

use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::settings::Settings;
use crate::text::IntervalStyle;

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

/// `__pg_text(x)`: `x` as PostgreSQL prints it; intervals in the session's IntervalStyle.
#[derive(Debug)]
pub struct ToText {
    signature: Signature,
    /// The session whose IntervalStyle applies (none: the default style).
    settings: Option<Arc<RwLock<Settings>>>,
}

impl PartialEq for ToText {
    fn eq(&self, other: &Self) -> bool {
        self.signature == other.signature
            && match (&self.settings, &other.settings) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Eq for ToText {}

impl std::hash::Hash for ToText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.signature.hash(state);
    }
}

impl ToText {
    /// The UDF, printing intervals in the default style.
    pub fn new() -> Self {
        ToText {
            // Immutable for folding: a plan is kept only for the settings it was made under.
            signature: Signature::any(1, Volatility::Immutable),
            settings: None,
        }
    }

    /// The UDF for one session: `SET intervalstyle` changes what `interval::text` gives.
    pub fn for_session(settings: Arc<RwLock<Settings>>) -> Self {
        ToText {
            settings: Some(settings),
            ..ToText::new()
        }
    }

    fn interval_style(&self) -> IntervalStyle {
        self.settings.as_ref().map_or(IntervalStyle::Postgres, |s| {
            s.read().unwrap_or_else(|p| p.into_inner()).interval_style()
        })
    }
}

impl Default for ToText {
    fn default() -> Self {
        Self::new()
    }
}

fn texts(values: &ArrayRef, style: IntervalStyle) -> Result<ArrayRef> {
    let mut out = StringBuilder::with_capacity(values.len(), values.len() * 16);
    let mut text = String::new();
    for row in 0..values.len() {
        if values.is_null(row) {
            out.append_null();
            continue;
        }
        text.clear();
        if let Err(e) = crate::text::write_text_styled(values, row, &mut text, style) {
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
        super::answer(texts(&arrays[0], self.interval_style())?, scalar)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{AsArray, Float64Array, TimestampMicrosecondArray};

    use super::*;

    #[test]
    fn values_print_as_postgres_prints_them() {
        let stamps: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            Some(1_795_599_528_000_000),
            None,
        ]));
        let out = texts(&stamps, IntervalStyle::Postgres).expect("prints");
        assert_eq!(out.as_string::<i32>().value(0), "2026-11-25 09:38:48");
        assert!(out.is_null(1));
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![1e16, 0.5]));
        let out = texts(&floats, IntervalStyle::Postgres).expect("prints");
        assert_eq!(out.as_string::<i32>().value(0), "1e+16");
        assert_eq!(out.as_string::<i32>().value(1), "0.5");
    }
}
