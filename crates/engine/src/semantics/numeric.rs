//! Numbers as PostgreSQL computes them.
//!
//! - [`CheckedArithmetic`] (`__pg_int_add`, `__pg_int_sub`, `__pg_int_mul`): integer `+ - *`
//!   fail with 22003 on overflow (`2147483647 + 1`); DataFusion wraps around.
//! - [`NonZero`] (`__pg_nonzero`): the divisor of a float or numeric `/` and `%`; zero fails
//!   with 22012 (`1.0 / 0`), where DataFusion answers Infinity or NaN.
//! - [`RoundHalf`] (`__pg_round_half`): the rounding a cast to an integer type does (and
//!   `round(float8)`): floats to the nearest even on a tie (`rint`), numerics away from zero;
//!   DataFusion truncates (`3.7::int` was 3).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, PrimitiveArray};
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Float32Type, Float64Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{Result, exec_err};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// Integer `+`, `-` or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckedArithmetic {
    op: IntOp,
    signature: Signature,
}

impl CheckedArithmetic {
    /// The UDF for `op`.
    pub fn new(op: IntOp) -> Self {
        CheckedArithmetic {
            op,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

use super::{answer as output, arguments as arrays};

impl ScalarUDFImpl for CheckedArithmetic {
    fn name(&self) -> &str {
        match self.op {
            IntOp::Add => "__pg_int_add",
            IntOp::Sub => "__pg_int_sub",
            IntOp::Mul => "__pg_int_mul",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (a, scalar) = arrays(&args)?;
        let (l, r) = (&a[0], &a[1]);
        if l.data_type() != r.data_type() {
            return exec_err!("{} of {} and {}", self.name(), l.data_type(), r.data_type());
        }
        // Arrow's checked kernels fail with ArithmeticOverflow (22003).
        let out = match self.op {
            IntOp::Add => numeric::add(l, r),
            IntOp::Sub => numeric::sub(l, r),
            IntOp::Mul => numeric::mul(l, r),
        }
        .map_err(|e| match e {
            ArrowError::ArithmeticOverflow(_) => ArrowError::ArithmeticOverflow(
                match l.data_type() {
                    DataType::Int16 => "smallint out of range",
                    DataType::Int64 => "bigint out of range",
                    _ => "integer out of range",
                }
                .to_owned(),
            ),
            other => other,
        })?;
        output(out, scalar)
    }
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NonZero {
    signature: Signature,
}

impl NonZero {
    /// The UDF.
    pub fn new() -> Self {
        NonZero {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for NonZero {
    fn default() -> Self {
        Self::new()
    }
}

fn any_zero<T: ArrowPrimitiveType>(a: &ArrayRef, zero: T::Native) -> bool
where
    T::Native: PartialEq,
{
    a.as_primitive::<T>().iter().any(|v| v == Some(zero))
}

impl ScalarUDFImpl for NonZero {
    fn name(&self) -> &str {
        "__pg_nonzero"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = &args.args[0];
        let array = value.to_array(1.max(match value {
            ColumnarValue::Array(a) => a.len(),
            ColumnarValue::Scalar(_) => 1,
        }))?;
        let zero = match array.data_type() {
            DataType::Float64 => any_zero::<Float64Type>(&array, 0.0),
            DataType::Float32 => any_zero::<Float32Type>(&array, 0.0),
            DataType::Decimal128(_, _) => any_zero::<Decimal128Type>(&array, 0),
            _ => false,
        };
        if zero {
            return Err(DataFusionError::ArrowError(
                Box::new(ArrowError::DivideByZero),
                None,
            ));
        }
        Ok(value.clone())
    }
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RoundHalf {
    signature: Signature,
}

impl RoundHalf {
    /// The UDF.
    pub fn new() -> Self {
        RoundHalf {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for RoundHalf {
    fn default() -> Self {
        Self::new()
    }
}

/// `v` (scale `scale`) rounded to a whole number, half away from zero, at the same scale.
fn round_decimal(v: i128, scale: i8) -> i128 {
    if scale <= 0 {
        return v;
    }
    let unit = 10i128.pow(u32::from(scale.unsigned_abs()));
    let whole = v / unit;
    let rest = v % unit;
    let away = if rest.abs() * 2 >= unit {
        rest.signum()
    } else {
        0
    };
    (whole + away).saturating_mul(unit)
}

impl ScalarUDFImpl for RoundHalf {
    fn name(&self) -> &str {
        "__pg_round_half"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (a, scalar) = arrays(&args)?;
        let array = &a[0];
        let out: ArrayRef = match array.data_type() {
            DataType::Float64 => Arc::new(
                array
                    .as_primitive::<Float64Type>()
                    .unary::<_, Float64Type>(f64::round_ties_even),
            ),
            DataType::Float32 => Arc::new(
                array
                    .as_primitive::<Float32Type>()
                    .unary::<_, Float32Type>(f32::round_ties_even),
            ),
            DataType::Decimal128(p, s) => {
                let s = *s;
                let rounded: PrimitiveArray<Decimal128Type> = array
                    .as_primitive::<Decimal128Type>()
                    .unary(|v| round_decimal(v, s));
                Arc::new(Decimal128Array::from(rounded).with_precision_and_scale(*p, s)?)
            }
            _ => Arc::clone(array),
        };
        output(out, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_rounds_half_away_from_zero() {
        assert_eq!(round_decimal(25, 1), 30);
        assert_eq!(round_decimal(-25, 1), -30);
        assert_eq!(round_decimal(37, 1), 40);
        assert_eq!(round_decimal(-24, 1), -20);
        assert_eq!(round_decimal(1234, 0), 1234);
    }
}
