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

use crate::error::EngineError;
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

/// Text read as an interval as PostgreSQL's `interval_in` reads its common forms, where
/// Arrow's parser reads only `<number> <unit>` pairs:
///
/// - a time field `[+-]H:MM[:SS[.f]]` (`'21:30:07'`, `'1 day 01:00'`, `'-01:30'`), its sign
///   applying to each part; `MM:SS.f` when the second part has a fraction (`'10:05.5'`);
/// - a bare number before a time field counts days (`'1 2:03:04'`), any other bare number
///   seconds (`'5'`);
/// - a leading `@` is ignored, and a trailing `ago` negates the whole interval;
/// - PostgreSQL's own output (`'1 year 2 mons 3 days 04:05:06.5'`) reads back as itself.
///
/// Anything else is read by Arrow's parser (units and their abbreviations, fractions that
/// spill into smaller units); text neither reads is 22007, as in PostgreSQL.
pub fn interval_input(text: &str) -> std::result::Result<IntervalMonthDayNano, EngineError> {
    let invalid = || {
        EngineError::InvalidDatetimeFormat(format!(
            "invalid input syntax for type interval: \"{text}\""
        ))
    };
    let mut tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.first() == Some(&"@") {
        tokens.remove(0);
    } else if let Some(first) = tokens.first_mut()
        && let Some(rest) = first.strip_prefix('@')
    {
        *first = rest;
    }
    let ago = tokens.last().is_some_and(|t| t.eq_ignore_ascii_case("ago"));
    if ago {
        tokens.pop();
    }
    if tokens.is_empty() {
        return Err(invalid());
    }
    let mut words: Vec<String> = Vec::with_capacity(tokens.len() + 4);
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        if token.contains(':') {
            match time_field(token) {
                Some(Ok(parts)) => words.extend(parts),
                Some(Err(())) => {
                    return Err(EngineError::IntervalFieldOutOfRange(format!(
                        "interval field value out of range: \"{text}\""
                    )));
                }
                None => return Err(invalid()),
            }
        } else if is_number(token) {
            match tokens.get(i + 1) {
                // A number before a time field is a count of days.
                Some(next) if next.contains(':') => {
                    words.push(format!("{token} days"));
                }
                Some(unit) if !is_number(unit) => {
                    words.push(format!("{token} {unit}"));
                    i += 1;
                }
                // A bare number is seconds.
                _ => words.push(format!("{token} seconds")),
            }
        } else {
            // A number written against its unit (`1day`, `-2h`): Arrow's parser reads it.
            words.push(token.to_owned());
        }
        i += 1;
    }
    let config = datafusion::arrow::compute::kernels::cast_utils::IntervalParseConfig::new(
        datafusion::arrow::compute::kernels::cast_utils::IntervalUnit::Second,
    );
    let value =
        datafusion::arrow::compute::kernels::cast_utils::parse_interval_month_day_nano_config(
            &words.join(" "),
            config,
        )
        .map_err(|_| invalid())?;
    if !ago {
        return Ok(value);
    }
    let out_of_range = || EngineError::DatetimeOverflow("interval out of range".to_owned());
    Ok(IntervalMonthDayNano::new(
        value.months.checked_neg().ok_or_else(out_of_range)?,
        value.days.checked_neg().ok_or_else(out_of_range)?,
        value.nanoseconds.checked_neg().ok_or_else(out_of_range)?,
    ))
}

/// Whether `token` is a signed decimal number.
fn is_number(token: &str) -> bool {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit())
}

/// A time field `[+-]H:MM[:SS[.f]]` (or `[+-]MM:SS.f`) as `<n> <unit>` pairs, each signed;
/// `Err` when a minute or second is out of range, `None` when it is not a time field.
fn time_field(token: &str) -> Option<Result<Vec<String>, ()>> {
    let (sign, unsigned) = match token.as_bytes().first()? {
        b'-' => ("-", &token[1..]),
        b'+' => ("", &token[1..]),
        _ => ("", token),
    };
    let parts: Vec<&str> = unsigned.split(':').collect();
    let whole = |p: &str| !p.is_empty() && p.len() <= 18 && p.bytes().all(|b| b.is_ascii_digit());
    let seconds = |p: &str| {
        let (w, f) = p.split_once('.').unwrap_or((p, "0"));
        whole(w) && (f.is_empty() || f.bytes().all(|b| b.is_ascii_digit()))
    };
    let units: &[&str] = match parts.as_slice() {
        [h, m] if whole(h) && whole(m) => &["hours", "minutes"],
        [m, s] if whole(m) && s.contains('.') && seconds(s) => &["minutes", "seconds"],
        [h, m, s] if whole(h) && whole(m) && seconds(s) => &["hours", "minutes", "seconds"],
        _ => return None,
    };
    // Minutes and seconds are at most 59 (60 for seconds, which PostgreSQL carries).
    for (part, unit) in parts.iter().zip(units).skip(1) {
        let whole_part: u64 = part.split('.').next()?.parse().ok()?;
        if (*unit == "minutes" && whole_part > 59) || (*unit == "seconds" && whole_part > 60) {
            return Some(Err(()));
        }
    }
    Some(Ok(parts
        .iter()
        .zip(units)
        .map(|(part, unit)| format!("{sign}{part} {unit}"))
        .collect()))
}

/// `__pg_interval_in(text)`: [`interval_input`].
pub fn interval_in_udf() -> datafusion::logical_expr::ScalarUDF {
    use datafusion::common::ScalarValue;
    datafusion::logical_expr::ScalarUDF::new_from_impl(crate::row_fn::RowFn::new(
        "__pg_interval_in",
        Signature::any(1, Volatility::Immutable),
        DataType::Interval(IntervalUnit::MonthDayNano),
        |a| {
            let text = match a[0].cast_to(&DataType::Utf8)? {
                ScalarValue::Utf8(Some(t)) => t,
                _ => return Ok(ScalarValue::IntervalMonthDayNano(None)),
            };
            interval_input(&text)
                .map(|v| ScalarValue::IntervalMonthDayNano(Some(v)))
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
        },
    ))
}

#[cfg(test)]
mod input_tests {
    use super::*;

    fn read(text: &str) -> String {
        match interval_input(text) {
            Ok(v) => format!("{} {} {}", v.months, v.days, v.nanoseconds),
            Err(EngineError::InvalidDatetimeFormat(_)) => "22007".to_owned(),
            Err(e) => format!("{e}"),
        }
    }

    /// Each as PostgreSQL 15 reads it (months, days, nanoseconds).
    #[test]
    fn intervals_read_like_postgres() {
        let h = 3_600_000_000_000i64;
        let m = 60_000_000_000i64;
        let s = 1_000_000_000i64;
        assert_eq!(read("21:30:07"), format!("0 0 {}", 21 * h + 30 * m + 7 * s));
        assert_eq!(
            read("1 day 21:30:07"),
            format!("0 1 {}", 21 * h + 30 * m + 7 * s)
        );
        assert_eq!(read("-01:30"), format!("0 0 {}", -(h + 30 * m)));
        assert_eq!(read("1 2:03:04"), format!("0 1 {}", 2 * h + 3 * m + 4 * s));
        assert_eq!(read("10:05.5"), format!("0 0 {}", 10 * m + 5 * s + s / 2));
        assert_eq!(
            read("1 year 2 mons 3 days 04:05:06.5"),
            format!("14 3 {}", 4 * h + 5 * m + 6 * s + s / 2)
        );
        assert_eq!(read("@ 1 day 2 hours ago"), format!("0 -1 {}", -2 * h));
        assert_eq!(read("5"), format!("0 0 {}", 5 * s));
        assert_eq!(read("90 minutes"), format!("0 0 {}", 90 * m));
        assert_eq!(read("1.5 days"), format!("0 1 {}", 12 * h));
        assert_eq!(read("-1 day +02:00:00"), format!("0 -1 {}", 2 * h));
        assert_eq!(read("one day"), "22007");
        assert_eq!(read(""), "22007");
        assert_eq!(read("1:60"), "interval field value out of range: \"1:60\"");
        assert_eq!(read("1:2:3:4"), "22007");
        assert_eq!(read("ago"), "22007");
    }
}
