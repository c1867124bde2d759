//! PostgreSQL's numeric functions DataFusion lacks: `sign`, `width_bucket`, `gcd`, `lcm`.
//! Types follow PostgreSQL: `sign` of a numeric is numeric and of anything else double
//! precision (an integer argument resolves to the float8 function there); `width_bucket` is
//! an integer, computed exactly for numerics and in float8 for floats; `gcd`/`lcm` keep their
//! integer type and fail with 22003 where PostgreSQL does.

use std::hash::{Hash, Hasher};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::EngineError;

fn failed(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// A numeric value as an exact decimal (unscaled, scale), or a float.
enum Num {
    Exact(i128, i8),
    Float(f64),
}

fn num(v: &ScalarValue) -> Result<Option<Num>> {
    if v.is_null() {
        return Ok(None);
    }
    Ok(Some(match v {
        ScalarValue::Decimal128(Some(x), _, s) => Num::Exact(*x, *s),
        ScalarValue::Float32(Some(f)) => Num::Float(f64::from(*f)),
        ScalarValue::Float64(Some(f)) => Num::Float(*f),
        other => match other.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(Some(n)) => Num::Exact(i128::from(n), 0),
            _ => return Ok(None),
        },
    }))
}

/// Brings exact values to one scale; `None` on overflow.
fn common_scale(values: &[(i128, i8)]) -> Option<Vec<i128>> {
    let scale = values.iter().map(|(_, s)| *s).max()?;
    values
        .iter()
        .map(|(v, s)| {
            let shift = u32::try_from(scale - s).ok()?;
            v.checked_mul(10i128.checked_pow(shift)?)
        })
        .collect()
}

/// `width_bucket(operand, low, high, count)`.
fn width_bucket(operand: Num, low: Num, high: Num, count: i64) -> Result<i64> {
    if count <= 0 {
        return Err(failed(EngineError::WidthBucketArgument(
            "count must be greater than zero".to_owned(),
        )));
    }
    let bucket = match (operand, low, high) {
        (Num::Exact(o, os), Num::Exact(l, ls), Num::Exact(h, hs)) => {
            let v = common_scale(&[(o, os), (l, ls), (h, hs)]).ok_or_else(|| {
                failed(EngineError::NumericOutOfRange(
                    "value out of range".to_owned(),
                ))
            })?;
            let (o, l, h) = (v[0], v[1], v[2]);
            bucket_of(
                o,
                l,
                h,
                i128::from(count),
                |a, b| a.checked_mul(b),
                |a, b| a / b,
            )?
        }
        (o, l, h) => {
            let f = |n: Num| match n {
                Num::Float(f) => f,
                Num::Exact(v, s) => v as f64 / 10f64.powi(i32::from(s)),
            };
            let (o, l, h) = (f(o), f(l), f(h));
            if o.is_nan() || l.is_nan() || h.is_nan() {
                return Err(failed(EngineError::WidthBucketArgument(
                    "operand, lower bound, and upper bound cannot be NaN".to_owned(),
                )));
            }
            if !l.is_finite() || !h.is_finite() {
                return Err(failed(EngineError::WidthBucketArgument(
                    "lower and upper bounds must be finite".to_owned(),
                )));
            }
            let c = count as f64;
            if l == h {
                return Err(bounds_equal());
            }
            if l < h {
                if o < l {
                    0
                } else if o >= h {
                    count + 1
                } else {
                    ((c * ((o - l) / (h - l))).floor() as i64 + 1).min(count)
                }
            } else if o > l {
                0
            } else if o <= h {
                count + 1
            } else {
                ((c * ((l - o) / (l - h))).floor() as i64 + 1).min(count)
            }
        }
    };
    if bucket > i64::from(i32::MAX) {
        return Err(failed(EngineError::NumericOutOfRange(
            "integer out of range".to_owned(),
        )));
    }
    Ok(bucket)
}

fn bounds_equal() -> DataFusionError {
    failed(EngineError::WidthBucketArgument(
        "lower bound cannot equal upper bound".to_owned(),
    ))
}

fn bucket_of(
    o: i128,
    l: i128,
    h: i128,
    count: i128,
    mul: fn(i128, i128) -> Option<i128>,
    div: fn(i128, i128) -> i128,
) -> Result<i64> {
    let overflow = || {
        failed(EngineError::NumericOutOfRange(
            "value out of range".to_owned(),
        ))
    };
    if l == h {
        return Err(bounds_equal());
    }
    let b = if l < h {
        if o < l {
            0
        } else if o >= h {
            count + 1
        } else {
            div(mul(o - l, count).ok_or_else(overflow)?, h - l) + 1
        }
    } else if o > l {
        0
    } else if o <= h {
        count + 1
    } else {
        div(mul(l - o, count).ok_or_else(overflow)?, l - h) + 1
    };
    i64::try_from(b).map_err(|_| overflow())
}

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Sign,
    WidthBucket,
    Gcd,
    Lcm,
}

#[derive(Debug)]
struct MathFunction {
    name: &'static str,
    kind: Kind,
    signature: Signature,
}

impl PartialEq for MathFunction {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Eq for MathFunction {}

impl Hash for MathFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
    }
}

/// The functions of this module.
pub fn all() -> Vec<ScalarUDF> {
    [
        ("sign", Kind::Sign, 1),
        ("width_bucket", Kind::WidthBucket, 4),
        ("gcd", Kind::Gcd, 2),
        ("lcm", Kind::Lcm, 2),
    ]
    .into_iter()
    .map(|(name, kind, n)| {
        ScalarUDF::new_from_impl(MathFunction {
            name,
            kind,
            signature: Signature::any(n, Volatility::Immutable),
        })
    })
    .collect()
}

fn integer_type(types: &[DataType]) -> DataType {
    if types.iter().all(|t| {
        matches!(
            t,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Null
        )
    }) {
        DataType::Int32
    } else {
        DataType::Int64
    }
}

impl ScalarUDFImpl for MathFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Sign => match types.first() {
                Some(DataType::Decimal128(..) | DataType::Decimal256(..)) => {
                    DataType::Decimal128(38, 0)
                }
                _ => DataType::Float64,
            },
            Kind::WidthBucket => DataType::Int32,
            Kind::Gcd | Kind::Lcm => {
                if types
                    .iter()
                    .any(|t| !t.is_integer() && *t != DataType::Null)
                {
                    return Err(DataFusionError::Plan(format!(
                        "No function matches the given name and argument types '{}'",
                        self.name
                    )));
                }
                integer_type(types)
            }
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let returns = args.return_type().clone();
        crate::row_fn::map_rows(&args, &returns, |values| self.row(values, &returns))
    }
}

impl MathFunction {
    fn row(&self, a: &[ScalarValue], returns: &DataType) -> Result<ScalarValue> {
        let null = || ScalarValue::try_from(returns);
        match self.kind {
            Kind::Sign => {
                let Some(n) = num(&a[0])? else {
                    return null();
                };
                let s = match n {
                    Num::Exact(v, _) => v.signum() as f64,
                    // NaN stays NaN; zero (either sign) is 0, where f64's signum says ±1.
                    Num::Float(f) => {
                        if f == 0.0 {
                            0.0
                        } else {
                            f.signum()
                        }
                    }
                };
                ScalarValue::Float64(Some(s)).cast_to(returns)
            }
            Kind::WidthBucket => {
                let (Some(o), Some(l), Some(h), Some(c)) =
                    (num(&a[0])?, num(&a[1])?, num(&a[2])?, num(&a[3])?)
                else {
                    return null();
                };
                let count = match c {
                    Num::Exact(v, 0) => i64::try_from(v).unwrap_or(i64::MAX),
                    _ => {
                        return Err(DataFusionError::Plan(
                            "width_bucket's count must be an integer".to_owned(),
                        ));
                    }
                };
                Ok(ScalarValue::Int32(Some(
                    i32::try_from(width_bucket(o, l, h, count)?).unwrap_or(i32::MAX),
                )))
            }
            Kind::Gcd | Kind::Lcm => {
                let (Some(Num::Exact(x, 0)), Some(Num::Exact(y, 0))) = (num(&a[0])?, num(&a[1])?)
                else {
                    return null();
                };
                let g = gcd(x, y);
                let v = if self.kind == Kind::Gcd {
                    g
                } else if x == 0 || y == 0 {
                    0
                } else {
                    (x / g).checked_mul(y).map_or(i128::MAX, i128::abs)
                };
                let fits = match returns {
                    DataType::Int32 => i32::try_from(v).is_ok(),
                    _ => i64::try_from(v).is_ok(),
                };
                if !fits {
                    return Err(failed(EngineError::NumericOutOfRange(format!(
                        "{} out of range",
                        if *returns == DataType::Int32 {
                            "integer"
                        } else {
                            "bigint"
                        }
                    ))));
                }
                ScalarValue::Int64(Some(v as i64)).cast_to(returns)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_bucket_like_postgres() {
        let e = |v: i128, s: i8| Num::Exact(v, s);
        assert_eq!(width_bucket(e(5, 0), e(0, 0), e(10, 0), 4).expect("ok"), 3);
        assert_eq!(
            width_bucket(e(535, 2), e(24, 3), e(1006, 2), 5).expect("ok"),
            3
        );
        assert_eq!(width_bucket(e(-1, 0), e(0, 0), e(10, 0), 4).expect("ok"), 0);
        assert_eq!(width_bucket(e(10, 0), e(0, 0), e(10, 0), 4).expect("ok"), 5);
        assert_eq!(width_bucket(e(9, 0), e(10, 0), e(0, 0), 4).expect("ok"), 1);
        assert!(width_bucket(e(1, 0), e(0, 0), e(0, 0), 4).is_err());
        assert!(width_bucket(e(1, 0), e(0, 0), e(2, 0), 0).is_err());
        assert_eq!(
            width_bucket(Num::Float(5.0), Num::Float(0.0), Num::Float(10.0), 4).expect("ok"),
            3
        );
    }

    #[test]
    fn gcd_of_negatives_is_positive() {
        assert_eq!(gcd(-12, 18), 6);
        assert_eq!(gcd(0, 0), 0);
    }
}
