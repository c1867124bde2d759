//! Numeric division as PostgreSQL's: the quotient rounded (half away from zero) to the scale
//! `select_div_scale` picks for each pair of values, at least 16 significant digits and no
//! fewer places than either operand's scale (`1 / 3.0` = 0.33333333333333333333,
//! `5::numeric / 3` = 1.6666666666666667). DataFusion's decimal quotient keeps a scale derived
//! from the operand types only (`1.5 / 7` gave 0.21428), a different number.
//!
//! Arrow decimals have one scale per column, so the quotient column has `QUOTIENT_SCALE` places
//! (more when an operand has more): each value is PostgreSQL's number, written with that many
//! places. A quotient whose PostgreSQL value needs more places than the column has (below
//! about 0.0001 with more than 20 significant places) or more than the digits left for its
//! integer part is refused (0A000) rather than answered as another number.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, i256};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{Result, exec_err};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::EngineError;

/// The places a quotient column keeps at least: PostgreSQL's scale for quotients from 0.0001
/// to below 1 (16 significant digits plus one base-10000 digit of leading zeros).
pub const QUOTIENT_SCALE: i8 = 20;
/// Decimal128's digits.
const MAX_PRECISION: u8 = 38;

/// The scale of `a / b` for decimals of scales `s1` and `s2`.
pub fn quotient_scale(s1: i8, s2: i8) -> i8 {
    QUOTIENT_SCALE.max(s1).max(s2).min(MAX_PRECISION as i8)
}

/// `__pg_numeric_div(a, b)` over two Decimal128 values.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NumericDiv {
    signature: Signature,
}

impl NumericDiv {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for NumericDiv {
    fn default() -> Self {
        Self::new()
    }
}

fn scale_of(t: &DataType) -> Result<i8> {
    Ok(precision_and_scale(t)?.1)
}

fn precision_and_scale(t: &DataType) -> Result<(u8, i8)> {
    match t {
        DataType::Decimal128(p, s) => Ok((*p, *s)),
        other => exec_err!("__pg_numeric_div takes numerics, not {other}"),
    }
}

/// What DataFusion makes of an unconstrained `numeric` (`x::numeric`, `CAST(x AS NUMERIC)`).
const UNCONSTRAINED: (u8, i8) = (38, 10);

/// PostgreSQL's display scale of value `v` of a column typed `(precision, scale)`: the
/// column's scale, except for an unconstrained numeric, whose 10 places are DataFusion's
/// choice, not the value's: there a value has the places it uses (`123::numeric` has none,
/// as in PostgreSQL).
fn display_scale(v: i128, (precision, scale): (u8, i8)) -> i8 {
    if (precision, scale) != UNCONSTRAINED {
        return scale;
    }
    let mut places = scale;
    let mut v = v;
    while places > 0 && v % 10 == 0 {
        v /= 10;
        places -= 1;
    }
    places
}

impl ScalarUDFImpl for NumericDiv {
    fn name(&self) -> &str {
        "__pg_numeric_div"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let [a, b] = args else {
            return exec_err!("__pg_numeric_div takes two arguments");
        };
        Ok(DataType::Decimal128(
            MAX_PRECISION,
            quotient_scale(scale_of(a)?, scale_of(b)?),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [a, b] = args.args.as_slice() else {
            return exec_err!("__pg_numeric_div takes two arguments");
        };
        let (t1, t2) = (
            precision_and_scale(&a.data_type())?,
            precision_and_scale(&b.data_type())?,
        );
        let (s1, s2) = (t1.1, t2.1);
        let scale = quotient_scale(s1, s2);
        let scalar = matches!((a, b), (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_)));
        let n = if scalar { 1 } else { rows };
        let (a, b): (ArrayRef, ArrayRef) = (a.to_array(n)?, b.to_array(n)?);
        let (a, b) = (
            a.as_primitive::<Decimal128Type>(),
            b.as_primitive::<Decimal128Type>(),
        );
        let mut out = Vec::with_capacity(a.len());
        for i in 0..a.len() {
            if a.is_null(i) || b.is_null(i) {
                out.push(None);
                continue;
            }
            let (x, y) = (a.value(i), b.value(i));
            out.push(Some(divide(
                (x, s1, display_scale(x, t1)),
                (y, s2, display_scale(y, t2)),
                scale,
            )?));
        }
        let array = Decimal128Array::from(out).with_precision_and_scale(MAX_PRECISION, scale)?;
        Ok(if scalar {
            ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&array, 0)?)
        } else {
            ColumnarValue::Array(Arc::new(array))
        })
    }
}

fn refuse(what: String) -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::Unsupported(what)))
}

fn pow10(n: u32) -> Option<i256> {
    i256::from_i128(10).checked_pow(n)
}

/// Decimal digits of `v` (> 0).
fn digits(v: i128) -> i32 {
    let mut n = 0;
    let mut v = v.unsigned_abs();
    while v > 0 {
        v /= 10;
        n += 1;
    }
    n
}

/// PostgreSQL's weight (in base-10000 digits) and first base-10000 digit of `v` × 10^-`s`;
/// zero is weight 0, digit 0.
fn weight_and_first_digit(v: i128, s: i8) -> (i32, i64) {
    if v == 0 {
        return (0, 0);
    }
    let d = digits(v);
    // |value| is in [10^e, 10^(e+1)).
    let e = d - 1 - i32::from(s);
    let weight = e.div_euclid(4);
    // The first base-10000 digit: the leading (e - 4·weight + 1) decimal digits, padded with
    // zeros on the right when the value has fewer.
    let k = e - 4 * weight + 1;
    let abs = v.unsigned_abs();
    let first = if d >= k {
        abs / 10u128.pow((d - k) as u32)
    } else {
        abs * 10u128.pow((k - d) as u32)
    };
    let first = i64::try_from(first).unwrap_or(i64::MAX);
    (weight, first)
}

/// `select_div_scale` (PostgreSQL's numeric.c) for `a` × 10^-`s1` / `b` × 10^-`s2`, whose
/// display scales are `d1` and `d2`.
pub fn select_div_scale((a, s1, d1): (i128, i8, i8), (b, s2, d2): (i128, i8, i8)) -> i32 {
    const MIN_SIG_DIGITS: i32 = 16;
    const DEC_DIGITS: i32 = 4;
    let (w1, f1) = weight_and_first_digit(a, s1);
    let (w2, f2) = weight_and_first_digit(b, s2);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    (MIN_SIG_DIGITS - qweight * DEC_DIGITS)
        .max(i32::from(d1))
        .max(i32::from(d2))
        .clamp(0, 1000)
}

/// `a` / `b`, unscaled values of numerics typed `(precision, scale)`, as PostgreSQL computes
/// it, written with `scale` places (`avg`'s final division).
pub fn divide_with_scales(
    (a, t1): (i128, (u8, i8)),
    (b, t2): (i128, (u8, i8)),
    scale: i8,
) -> Result<i128> {
    divide(
        (a, t1.1, display_scale(a, t1)),
        (b, t2.1, display_scale(b, t2)),
        scale,
    )
}

/// `a` × 10^-`s1` / `b` × 10^-`s2` (display scales `d1`, `d2`) as PostgreSQL computes it,
/// written with `scale` places.
fn divide((a, s1, d1): (i128, i8, i8), (b, s2, d2): (i128, i8, i8), scale: i8) -> Result<i128> {
    if b == 0 {
        return Err(DataFusionError::ArrowError(
            Box::new(ArrowError::DivideByZero),
            None,
        ));
    }
    let rscale = select_div_scale((a, s1, d1), (b, s2, d2));
    let too_big = || {
        refuse(format!(
            "a numeric quotient this large or this precise (PostgreSQL keeps {rscale} places, \
             a quotient here at most {scale} and {} digits)",
            MAX_PRECISION
        ))
    };
    // quotient × 10^rscale = a × 10^(s2 + rscale - s1) / b, rounded half away from zero.
    let shift = i32::from(s2) + rscale - i32::from(s1);
    let (mut num, mut den) = (i256::from_i128(a.abs()), i256::from_i128(b.abs()));
    if shift >= 0 {
        num = num
            .checked_mul(pow10(shift as u32).ok_or_else(too_big)?)
            .ok_or_else(too_big)?;
    } else {
        den = den
            .checked_mul(pow10((-shift) as u32).ok_or_else(too_big)?)
            .ok_or_else(too_big)?;
    }
    let two = i256::from_i128(2);
    let doubled = num.checked_mul(two).ok_or_else(too_big)?;
    let mut q = doubled
        .checked_add(den)
        .ok_or_else(too_big)?
        .checked_div(den.checked_mul(two).ok_or_else(too_big)?)
        .ok_or_else(too_big)?;
    // Written with `scale` places: more zeros, or (when PostgreSQL keeps more places) only if
    // the extra places are zeros.
    let extra = i32::from(scale) - rscale;
    if extra >= 0 {
        q = q
            .checked_mul(pow10(extra as u32).ok_or_else(too_big)?)
            .ok_or_else(too_big)?;
    } else {
        let unit = pow10((-extra) as u32).ok_or_else(too_big)?;
        if q.checked_rem(unit) != Some(i256::ZERO) {
            return Err(too_big());
        }
        q = q.checked_div(unit).ok_or_else(too_big)?;
    }
    let limit = pow10(u32::from(MAX_PRECISION)).ok_or_else(too_big)?;
    if q >= limit {
        return Err(too_big());
    }
    let q = q.to_i128().ok_or_else(too_big)?;
    Ok(if (a < 0) != (b < 0) { -q } else { q })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` as (unscaled, scale).
    fn dec(text: &str) -> (i128, i8) {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        (
            format!("{int}{frac}").parse().expect("number"),
            frac.len() as i8,
        )
    }

    /// The quotient's text with PostgreSQL's own scale (trailing places of the column trimmed
    /// back to `select_div_scale`'s).
    fn pg_text(a: &str, b: &str) -> String {
        let ((x, s1), (y, s2)) = (dec(a), dec(b));
        let scale = quotient_scale(s1, s2);
        let q = divide((x, s1, s1), (y, s2, s2), scale).expect("divides");
        let rscale = select_div_scale((x, s1, s1), (y, s2, s2));
        // Nothing is lost in the places PostgreSQL does not keep.
        if rscale < i32::from(scale) {
            assert_eq!(
                q % 10i128.pow((i32::from(scale) - rscale) as u32),
                0,
                "{a} / {b}"
            );
        }
        let q = if rscale <= i32::from(scale) {
            q / 10i128.pow((i32::from(scale) - rscale) as u32)
        } else {
            q * 10i128.pow((rscale - i32::from(scale)) as u32)
        };
        let sign = if q < 0 { "-" } else { "" };
        let digits = q.unsigned_abs().to_string();
        let r = rscale as usize;
        let digits = format!("{digits:0>width$}", width = r + 1);
        let (int, frac) = digits.split_at(digits.len() - r);
        if r == 0 {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    }

    /// Each expected text is PostgreSQL 15's (`SELECT a::numeric / b::numeric`).
    #[test]
    fn quotients_are_postgres_numbers() {
        for (a, b, expected) in [
            ("1", "3", "0.33333333333333333333"),
            ("5", "3", "1.6666666666666667"),
            ("10", "4", "2.5000000000000000"),
            ("1.5", "7", "0.21428571428571428571"),
            ("7.0", "2", "3.5000000000000000"),
            ("-7", "2", "-3.5000000000000000"),
            ("2", "-3", "-0.66666666666666666667"),
            ("294", "2", "147.0000000000000000"),
            ("100000", "3", "33333.333333333333"),
            ("123456789012", "7", "17636684144.57142857"),
            ("0", "5", "0.00000000000000000000"),
            ("50", "1000000.0", "0.000050000000000000000000"),
            ("1.23456", "1", "1.23456000000000000000"),
            (
                "3",
                "1.00000000000000000000000",
                "3.00000000000000000000000",
            ),
        ] {
            assert_eq!(pg_text(a, b), expected, "{a} / {b}");
        }
    }

    /// An unconstrained numeric's value has the places it uses; a constrained one its type's.
    #[test]
    fn display_scales() {
        assert_eq!(display_scale(1_234_560_000_000_000, UNCONSTRAINED), 0);
        assert_eq!(display_scale(15_000_000_000, UNCONSTRAINED), 1);
        assert_eq!(display_scale(0, UNCONSTRAINED), 0);
        assert_eq!(display_scale(250, (10, 2)), 2);
        // 123456789012::numeric / 7: PostgreSQL keeps 8 places, not 10.
        let x = 123_456_789_012 * 10i128.pow(10);
        let rscale = select_div_scale((x, 10, display_scale(x, UNCONSTRAINED)), (7, 0, 0));
        assert_eq!(rscale, 8);
    }

    #[test]
    fn a_quotient_needing_more_places_than_kept_is_refused_and_zero_divides_nothing() {
        let ((x, s1), (y, s2)) = (dec("1"), dec("30000"));
        let err = divide((x, s1, s1), (y, s2, s2), quotient_scale(s1, s2)).expect_err("24 places");
        assert!(err.to_string().contains("24 places"), "{err}");
        let err = divide((1, 0, 0), (0, 0, 0), 20).expect_err("zero");
        assert!(matches!(err, DataFusionError::ArrowError(..)), "{err}");
    }
}
