//! Intervals as PostgreSQL reads them.
//!
//! - [`IntervalSpan`] (`__pg_interval_span`): the span PostgreSQL compares intervals by
//!   (`interval_cmp_value`): months × 30 days + days × 24 hours + time, here in nanoseconds.
//! - [`JustifyDifference`] (`__pg_timestamp_difference`): a timestamp difference as
//!   `timestamp_mi` gives it, whole days moved out of the time (`justify_hours`).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, IntervalMonthDayNanoArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
    DurationSecondType, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit, TimeUnit,
};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// The comparison span of an interval in nanoseconds (months count 30 days).
pub fn span(v: IntervalMonthDayNano) -> i128 {
    (v.months as i128 * 30 + v.days as i128) * NANOS_PER_DAY as i128 + v.nanoseconds as i128
}

/// `justify_hours`: whole days of the time move into the days, time and days keeping one sign.
pub fn justify_hours(v: IntervalMonthDayNano) -> IntervalMonthDayNano {
    let whole = v.nanoseconds / NANOS_PER_DAY;
    let mut nanos = v.nanoseconds - whole * NANOS_PER_DAY;
    let mut days = v
        .days
        .saturating_add(whole.clamp(i32::MIN as i64, i32::MAX as i64) as i32);
    if days > 0 && nanos < 0 {
        nanos += NANOS_PER_DAY;
        days -= 1;
    } else if days < 0 && nanos > 0 {
        nanos -= NANOS_PER_DAY;
        days += 1;
    }
    IntervalMonthDayNano::new(v.months, days, nanos)
}

fn month_day_nano(array: &ArrayRef) -> Result<IntervalMonthDayNanoArray> {
    let as_mdn = |a: &ArrayRef| -> Result<IntervalMonthDayNanoArray> {
        Ok(cast(a, &DataType::Interval(IntervalUnit::MonthDayNano))?
            .as_primitive::<IntervalMonthDayNanoType>()
            .clone())
    };
    match array.data_type() {
        DataType::Interval(_) => as_mdn(array),
        DataType::Duration(unit) => {
            let nanos: Vec<Option<i64>> = match unit {
                TimeUnit::Second => durations::<DurationSecondType>(array, 1_000_000_000),
                TimeUnit::Millisecond => durations::<DurationMillisecondType>(array, 1_000_000),
                TimeUnit::Microsecond => durations::<DurationMicrosecondType>(array, 1_000),
                TimeUnit::Nanosecond => durations::<DurationNanosecondType>(array, 1),
            };
            Ok(nanos
                .into_iter()
                .map(|n| n.map(|n| IntervalMonthDayNano::new(0, 0, n)))
                .collect())
        }
        other => exec_err!("an interval was expected, not {other}"),
    }
}

fn durations<T>(array: &ArrayRef, scale: i64) -> Vec<Option<i64>>
where
    T: datafusion::arrow::datatypes::ArrowPrimitiveType<Native = i64>,
{
    array
        .as_primitive::<T>()
        .iter()
        .map(|v| v.map(|v| v.saturating_mul(scale)))
        .collect()
}

fn run(
    args: ScalarFunctionArgs,
    f: impl Fn(&IntervalMonthDayNanoArray) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    let (arrays, scalar) = super::arguments(&args)?;
    let out = f(&month_day_nano(&arrays[0])?)?;
    super::answer(out, scalar)
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalSpan {
    signature: Signature,
}

impl IntervalSpan {
    /// The UDF.
    pub fn new() -> Self {
        IntervalSpan {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for IntervalSpan {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for IntervalSpan {
    fn name(&self) -> &str {
        "__pg_interval_span"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        run(args, |a| {
            let out: Decimal128Array = a.iter().map(|v| v.map(span)).collect();
            Ok(Arc::new(out.with_precision_and_scale(38, 0)?) as ArrayRef)
        })
    }
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JustifyDifference {
    signature: Signature,
}

impl JustifyDifference {
    /// The UDF.
    pub fn new() -> Self {
        JustifyDifference {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for JustifyDifference {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for JustifyDifference {
    fn name(&self) -> &str {
        "__pg_timestamp_difference"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(IntervalUnit::MonthDayNano))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        run(args, |a| {
            let out: IntervalMonthDayNanoArray = a.iter().map(|v| v.map(justify_hours)).collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_24_hours_and_a_month_30_days() {
        let day = IntervalMonthDayNano::new(0, 1, 0);
        let hours = IntervalMonthDayNano::new(0, 0, 24 * 3_600_000_000_000);
        assert_eq!(span(day), span(hours));
        assert_eq!(
            span(IntervalMonthDayNano::new(1, 0, 0)),
            span(IntervalMonthDayNano::new(0, 30, 0))
        );
        assert!(span(IntervalMonthDayNano::new(0, 1, 7_200_000_000_000)) > span(hours));
    }

    #[test]
    fn differences_carry_whole_days() {
        let d = justify_hours(IntervalMonthDayNano::new(0, 0, 72 * 3_600_000_000_000 + 5));
        assert_eq!(d, IntervalMonthDayNano::new(0, 3, 5));
        let n = justify_hours(IntervalMonthDayNano::new(0, 0, -(25 * 3_600_000_000_000)));
        assert_eq!(n, IntervalMonthDayNano::new(0, -1, -3_600_000_000_000));
    }
}

/// `timestamptz AT TIME ZONE 'zone'` as PostgreSQL reads it: the wall-clock time in that zone,
/// a `timestamp` without time zone. DataFusion plans it as a cast to a timestamp carrying the
/// zone, which keeps the instant (and prints it in UTC here).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalTime {
    signature: Signature,
}

impl LocalTime {
    /// The UDF.
    pub fn new() -> Self {
        LocalTime {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for LocalTime {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for LocalTime {
    fn name(&self) -> &str {
        "__pg_local_time"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use chrono::{Offset, TimeZone};
        use datafusion::arrow::array::TimestampMicrosecondArray;
        use datafusion::arrow::datatypes::TimestampMicrosecondType;
        let (arrays, scalar) = super::arguments(&args)?;
        let array = &arrays[0];
        let DataType::Timestamp(_, Some(zone)) = array.data_type().clone() else {
            return exec_err!("a timestamp with a time zone was expected");
        };
        let tz: datafusion::arrow::array::timezone::Tz = zone.parse()?;
        let micros = cast(
            &array,
            &DataType::Timestamp(TimeUnit::Microsecond, Some(zone)),
        )?;
        let out: TimestampMicrosecondArray = micros
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| {
                v.and_then(|us| {
                    let utc = chrono::DateTime::from_timestamp_micros(us)?.naive_utc();
                    let offset = tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
                    us.checked_add(i64::from(offset) * 1_000_000)
                })
            })
            .collect();
        let out: ArrayRef = Arc::new(out);
        super::answer(out, scalar)
    }
}
