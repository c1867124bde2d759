//! Numbers as PostgreSQL computes them.
//!
//! - [`CheckedArithmetic`] (`__pg_int_add`, `__pg_int_sub`, `__pg_int_mul`): integer `+ - *`
//!   fail with 22003 on overflow (`2147483647 + 1`); DataFusion wraps around.
//! - [`NonZero`] (`__pg_nonzero`): the divisor of a float or numeric `/` and `%`; zero fails
//!   with 22012 (`1.0 / 0`), where DataFusion answers Infinity or NaN.
//! - [`numeric_in_udf`] (`__pg_numeric_in`): text read as numeric by numeric_in's rules
//!   (`'1e3'`, `' +.5 '`, `'5.'`); Arrow's cast refused exponents. NaN and infinities are
//!   refused with 0A000 (Arrow decimals have none).
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
use datafusion::common::{Result, ScalarValue, exec_err};
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
        if let [ColumnarValue::Scalar(l), ColumnarValue::Scalar(r)] = args.args.as_slice()
            && let Some(answer) = self.on_scalars(l, r)
        {
            return answer;
        }
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
            ArrowError::ArithmeticOverflow(_) => out_of_range(l.data_type()),
            other => other,
        })?;
        output(out, scalar)
    }
}

/// The overflow error of integer arithmetic in `t` (22003), as PostgreSQL words it.
fn out_of_range(t: &DataType) -> ArrowError {
    ArrowError::ArithmeticOverflow(
        match t {
            DataType::Int16 => "smallint out of range",
            DataType::Int64 => "bigint out of range",
            _ => "integer out of range",
        }
        .to_owned(),
    )
}

/// `l op r` checked, for integers of one type.
macro_rules! checked_op {
    ($op:expr, $l:expr, $r:expr) => {
        match $op {
            IntOp::Add => $l.checked_add($r),
            IntOp::Sub => $l.checked_sub($r),
            IntOp::Mul => $l.checked_mul($r),
        }
    };
}

impl CheckedArithmetic {
    /// The answer for two scalars of one integer type, as the array kernels give it on one
    /// row (NULL when either is NULL, the same overflow error) without making arrays of
    /// them; `None` for other types, which take the array path.
    fn on_scalars(&self, l: &ScalarValue, r: &ScalarValue) -> Option<Result<ColumnarValue>> {
        let overflow = |t: DataType| Err(DataFusionError::from(out_of_range(&t)));
        let value = match (l, r) {
            (ScalarValue::Int16(l), ScalarValue::Int16(r)) => match l.zip(*r) {
                None => Ok(ScalarValue::Int16(None)),
                Some((l, r)) => checked_op!(self.op, l, r).map_or_else(
                    || overflow(DataType::Int16),
                    |v| Ok(ScalarValue::Int16(Some(v))),
                ),
            },
            (ScalarValue::Int32(l), ScalarValue::Int32(r)) => match l.zip(*r) {
                None => Ok(ScalarValue::Int32(None)),
                Some((l, r)) => checked_op!(self.op, l, r).map_or_else(
                    || overflow(DataType::Int32),
                    |v| Ok(ScalarValue::Int32(Some(v))),
                ),
            },
            (ScalarValue::Int64(l), ScalarValue::Int64(r)) => match l.zip(*r) {
                None => Ok(ScalarValue::Int64(None)),
                Some((l, r)) => checked_op!(self.op, l, r).map_or_else(
                    || overflow(DataType::Int64),
                    |v| Ok(ScalarValue::Int64(Some(v))),
                ),
            },
            _ => return None,
        };
        Some(value.map(ColumnarValue::Scalar))
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

    /// Integer `+ - *` of two scalars (a generic plan's parameters) answers without arrays
    /// exactly what the array kernels answer for one row: the value, NULL, or the same error.
    #[test]
    fn checked_arithmetic_on_scalars_answers_as_on_arrays() {
        use datafusion::arrow::datatypes::Field;
        let values = |t: &DataType| -> Vec<ScalarValue> {
            let (min, max) = match t {
                DataType::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                DataType::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            let mut v: Vec<ScalarValue> = [min, min + 1, -7, -1, 0, 1, 3, 65_536, max - 1, max]
                .into_iter()
                .filter(|n| (min..=max).contains(n))
                .map(|n| ScalarValue::Int64(Some(n)).cast_to(t).expect("in range"))
                .collect();
            v.push(ScalarValue::try_from(t).expect("null"));
            v
        };
        let run = |f: &CheckedArithmetic, args: Vec<ColumnarValue>, t: &DataType| {
            let field = Arc::new(Field::new("v", t.clone(), true));
            f.invoke_with_args(ScalarFunctionArgs {
                args,
                arg_fields: vec![Arc::clone(&field), Arc::clone(&field)],
                number_rows: 1,
                return_field: field,
                config_options: Arc::default(),
            })
        };
        let mut checked = 0;
        for op in [IntOp::Add, IntOp::Sub, IntOp::Mul] {
            let f = CheckedArithmetic::new(op);
            for t in [DataType::Int16, DataType::Int32, DataType::Int64] {
                for l in values(&t) {
                    for r in values(&t) {
                        let scalars = vec![
                            ColumnarValue::Scalar(l.clone()),
                            ColumnarValue::Scalar(r.clone()),
                        ];
                        assert!(f.on_scalars(&l, &r).is_some(), "{t} takes the scalar path");
                        let arrays = vec![
                            ColumnarValue::Array(l.to_array().expect("array")),
                            ColumnarValue::Array(r.to_array().expect("array")),
                        ];
                        let by_scalars = match run(&f, scalars, &t) {
                            Ok(ColumnarValue::Scalar(v)) => Ok(v),
                            Ok(ColumnarValue::Array(_)) => panic!("an array for scalars"),
                            Err(e) => Err(e.to_string()),
                        };
                        let by_arrays = match run(&f, arrays, &t) {
                            Ok(ColumnarValue::Array(a)) => {
                                Ok(ScalarValue::try_from_array(&a, 0).expect("one row"))
                            }
                            Ok(ColumnarValue::Scalar(_)) => panic!("a scalar for arrays"),
                            Err(e) => Err(e.to_string()),
                        };
                        assert_eq!(by_scalars, by_arrays, "{op:?} {l:?} {r:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 900, "{checked} cases");
        // Other types still take the arrays' path.
        let f = CheckedArithmetic::new(IntOp::Add);
        assert!(
            f.on_scalars(&ScalarValue::Int8(Some(1)), &ScalarValue::Int8(Some(1)))
                .is_none()
        );
    }
}

/// Text in numeric_in's syntax as the canonical digits Arrow's decimal cast reads.
pub fn numeric_input(text: &str) -> std::result::Result<String, crate::error::EngineError> {
    use crate::error::EngineError;
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "nan" | "infinity" | "+infinity" | "-infinity" | "inf" | "+inf" | "-inf"
    ) {
        return Err(EngineError::Unsupported(format!("numeric value {t}")));
    }
    let bad = || {
        EngineError::InvalidTextRepresentation(format!(
            "invalid input syntax for type numeric: \"{text}\""
        ))
    };
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => ("-", &t[1..]),
        Some(b'+') => ("", &t[1..]),
        _ => ("", t),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e.is_empty() || !digits(e) {
            return Err(bad());
        }
    }
    let whole = if whole.is_empty() { "0" } else { whole };
    let mut normal = format!("{sign}{whole}");
    if !fraction.is_empty() {
        normal.push('.');
        normal.push_str(fraction);
    }
    if let Some(e) = exponent {
        normal.push('e');
        normal.push_str(e);
    }
    super::json::numeric_text(&normal).map_err(|e| match e {
        DataFusionError::External(inner) => match inner.downcast::<EngineError>() {
            Ok(e) => *e,
            Err(_) => bad(),
        },
        _ => bad(),
    })
}

/// `__pg_numeric_in(text)`: see [`numeric_input`].
pub fn numeric_in_udf() -> datafusion::logical_expr::ScalarUDF {
    use datafusion::common::ScalarValue;
    datafusion::logical_expr::ScalarUDF::new_from_impl(crate::row_fn::RowFn::new(
        "__pg_numeric_in",
        Signature::any(1, Volatility::Immutable),
        DataType::Utf8,
        |a| {
            Ok(match a[0].cast_to(&DataType::Utf8)? {
                ScalarValue::Utf8(Some(t)) => ScalarValue::Utf8(Some(
                    numeric_input(&t).map_err(|e| DataFusionError::External(Box::new(e)))?,
                )),
                _ => ScalarValue::Utf8(None),
            })
        },
    ))
}

/// Text read by PostgreSQL 15's integer input functions (`int2in`, `int4in`, `int8in`) as a
/// value of `target` (Int16, Int32 or Int64): optional whitespace, an optional sign, at least
/// one decimal digit, optional whitespace. Anything else is 22P02; a number outside the type's
/// range is 22003. Arrow's cast refused the whitespace PostgreSQL allows (`' 12 '::int`) and
/// called an out-of-range number malformed.
pub fn integer_input(
    text: &str,
    target: &DataType,
) -> std::result::Result<i64, crate::error::EngineError> {
    use crate::error::EngineError;
    let (name, min, max) = match target {
        DataType::Int16 => ("smallint", i64::from(i16::MIN), i64::from(i16::MAX)),
        DataType::Int32 => ("integer", i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => ("bigint", i64::MIN, i64::MAX),
    };
    // PostgreSQL's isspace: space, \t, \n, \v, \f, \r.
    let t = text.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EngineError::InvalidTextRepresentation(format!(
            "invalid input syntax for type {name}: \"{text}\""
        )));
    }
    let out_of_range = || {
        EngineError::NumericOutOfRange(format!("value \"{text}\" is out of range for type {name}"))
    };
    // Accumulated negatively, as PostgreSQL does, so the minimum has no positive twin.
    let mut value: i64 = 0;
    for b in digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_sub(i64::from(b - b'0')))
            .ok_or_else(out_of_range)?;
    }
    let value = if negative {
        value
    } else {
        value.checked_neg().ok_or_else(out_of_range)?
    };
    if value < min || value > max {
        return Err(out_of_range());
    }
    Ok(value)
}

/// [`integer_input`] as a value of `target` (Int16, Int32 or Int64).
pub fn integer_scalar(
    text: &str,
    target: &DataType,
) -> std::result::Result<datafusion::common::ScalarValue, crate::error::EngineError> {
    use datafusion::common::ScalarValue;
    let v = integer_input(text, target)?;
    // In range for `target` (checked by `integer_input`).
    Ok(match target {
        DataType::Int16 => ScalarValue::Int16(Some(v as i16)),
        DataType::Int32 => ScalarValue::Int32(Some(v as i32)),
        _ => ScalarValue::Int64(Some(v)),
    })
}

/// `__pg_int2_in`, `__pg_int4_in`, `__pg_int8_in` (text): see [`integer_input`].
pub fn integer_in_udf(target: DataType) -> datafusion::logical_expr::ScalarUDF {
    use datafusion::common::ScalarValue;
    let name = match target {
        DataType::Int16 => "__pg_int2_in",
        DataType::Int32 => "__pg_int4_in",
        _ => "__pg_int8_in",
    };
    let returns = target.clone();
    datafusion::logical_expr::ScalarUDF::new_from_impl(crate::row_fn::RowFn::new(
        name,
        Signature::any(1, Volatility::Immutable),
        returns,
        move |a| {
            let text = match a[0].cast_to(&DataType::Utf8)? {
                ScalarValue::Utf8(Some(t)) => t,
                _ => return ScalarValue::try_from(&target),
            };
            integer_scalar(&text, &target).map_err(|e| DataFusionError::External(Box::new(e)))
        },
    ))
}

#[cfg(test)]
mod integer_input_tests {
    use super::integer_input;
    use datafusion::arrow::datatypes::DataType;

    #[test]
    fn integer_input_like_postgres_15() {
        let int4 = |t: &str| integer_input(t, &DataType::Int32);
        assert_eq!(int4(" 12 ").expect("ok"), 12);
        assert_eq!(int4("\t+7\n").expect("ok"), 7);
        assert_eq!(int4("-2147483648").expect("ok"), -2_147_483_648);
        assert_eq!(int4("007").expect("ok"), 7);
        let code = |r: Result<i64, crate::error::EngineError>| match r {
            Err(crate::error::EngineError::InvalidTextRepresentation(_)) => "22P02",
            Err(crate::error::EngineError::NumericOutOfRange(_)) => "22003",
            _ => "other",
        };
        for bad in [
            "", " ", "+", "-", "1.5", "1e3", "abc", "1 2", "0x10", "1_000", "１",
        ] {
            assert_eq!(code(int4(bad)), "22P02", "{bad:?}");
        }
        assert_eq!(code(int4("2147483648")), "22003");
        assert_eq!(code(int4("99999999999999999999999")), "22003");
        assert_eq!(code(integer_input("32768", &DataType::Int16)), "22003");
        assert_eq!(
            integer_input("-32768", &DataType::Int16).expect("ok"),
            -32768
        );
        assert_eq!(
            integer_input("-9223372036854775808", &DataType::Int64).expect("ok"),
            i64::MIN
        );
        assert_eq!(
            code(integer_input("9223372036854775808", &DataType::Int64)),
            "22003"
        );
    }
}

#[cfg(test)]
mod numeric_input_tests {
    use super::numeric_input;

    #[test]
    fn numeric_input_like_postgres() {
        assert_eq!(numeric_input("1e3").expect("ok"), "1000");
        assert_eq!(numeric_input(" +.5 ").expect("ok"), "0.5");
        assert_eq!(numeric_input("5.").expect("ok"), "5");
        assert_eq!(numeric_input("-1.50E-1").expect("ok"), "-0.150");
        assert!(numeric_input("1e").is_err());
        assert!(numeric_input("abc").is_err());
        assert!(numeric_input(".").is_err());
        assert!(numeric_input("NaN").is_err());
    }
}
