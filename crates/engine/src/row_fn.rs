//! A scalar function defined by a closure over one row's argument values.
//!
//! The catalog functions are many, small, and called on catalog-sized inputs, so each is a
//! closure from `&[ScalarValue]` to a `ScalarValue`, applied row by row.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};

type Body = dyn Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync;

/// The server's start time in microseconds since the Unix epoch (`pg_postmaster_start_time`).
pub static START_MICROS: LazyLock<i64> = LazyLock::new(|| {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
});

/// A named closure with a signature and a fixed return type.
pub struct RowFn {
    name: &'static str,
    signature: Signature,
    returns: DataType,
    body: Arc<Body>,
}

impl RowFn {
    /// A function `name` returning `returns`, computed by `body` per row.
    pub fn new(
        name: &'static str,
        signature: Signature,
        returns: DataType,
        body: impl Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync + 'static,
    ) -> RowFn {
        RowFn {
            name,
            signature,
            returns,
            body: Arc::new(body),
        }
    }
}

impl fmt::Debug for RowFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowFn").field("name", &self.name).finish()
    }
}

impl PartialEq for RowFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.body, &other.body)
    }
}

impl Eq for RowFn {}

impl Hash for RowFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for RowFn {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_rows(&args, &self.returns, |values| {
            (self.body)(values)?.cast_to(&self.returns)
        })
    }
}

/// Applies `f` to each row's argument values and collects the results as `returns`; when
/// every argument is a scalar, `f` runs once and the result is a scalar.
pub fn map_rows(
    args: &ScalarFunctionArgs,
    returns: &DataType,
    mut f: impl FnMut(&[ScalarValue]) -> Result<ScalarValue>,
) -> Result<ColumnarValue> {
    let all_scalar = args
        .args
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)));
    if all_scalar {
        let values: Vec<ScalarValue> = args
            .args
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(s) => s.clone(),
                ColumnarValue::Array(_) => ScalarValue::Null,
            })
            .collect();
        return Ok(ColumnarValue::Scalar(f(&values)?));
    }
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    let rows = args.number_rows;
    let mut out = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(arrays.len());
    for row in 0..rows {
        values.clear();
        for a in &arrays {
            values.push(ScalarValue::try_from_array(a, row)?);
        }
        out.push(f(&values)?);
    }
    if out.is_empty() {
        return Ok(ColumnarValue::Array(
            datafusion::arrow::array::new_empty_array(returns),
        ));
    }
    Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
}

/// An argument as an oid: any integer, or text holding one.
pub fn arg_u32(v: &ScalarValue) -> Option<u32> {
    match v {
        ScalarValue::UInt32(n) => *n,
        ScalarValue::Int8(_)
        | ScalarValue::Int16(_)
        | ScalarValue::Int32(_)
        | ScalarValue::Int64(_)
        | ScalarValue::UInt8(_)
        | ScalarValue::UInt16(_)
        | ScalarValue::UInt64(_) => arg_i64(v).and_then(|n| u32::try_from(n).ok()),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An argument as a 64-bit integer.
pub fn arg_i64(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int8(n) => n.map(i64::from),
        ScalarValue::Int16(n) => n.map(i64::from),
        ScalarValue::Int32(n) => n.map(i64::from),
        ScalarValue::Int64(n) => *n,
        ScalarValue::UInt8(n) => n.map(i64::from),
        ScalarValue::UInt16(n) => n.map(i64::from),
        ScalarValue::UInt32(n) => n.map(i64::from),
        ScalarValue::UInt64(n) => n.and_then(|n| i64::try_from(n).ok()),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An argument as text.
pub fn arg_str(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.clone(),
        ScalarValue::Null => None,
        other if other.is_null() => None,
        other => Some(other.to_string()),
    }
}
