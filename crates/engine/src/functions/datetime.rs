//! PostgreSQL's date/time functions DataFusion lacks, computed field by field as PostgreSQL's
//! own code does (`timestamp.c`): `age`, `make_interval`, `make_timestamp`, `justify_hours`,
//! `justify_days`, `justify_interval`, `isfinite`, and `interval * number` /
//! `interval / number` (`__pg_interval_mul`, `__pg_interval_div`, planned for those operators
//! by `semantics::interval::IntervalArithmetic`).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};
use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNano, IntervalUnit, TimeUnit};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ScalarUDF, Signature, TypeSignature, Volatility};

use crate::error::EngineError;
use crate::row_fn::RowFn;

const USECS_PER_DAY: i64 = 86_400_000_000;
const NANOS_PER_USEC: i64 = 1_000;
const DAYS_PER_MONTH: i32 = 30;

/// An interval's fields as PostgreSQL keeps them: months, days, microseconds.
type Parts = (i32, i32, i64);

fn interval_type() -> DataType {
    DataType::Interval(IntervalUnit::MonthDayNano)
}

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn out_of_range(what: &str) -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::DatetimeOverflow(format!(
        "{what} out of range"
    ))))
}

/// A value as microseconds since the epoch, for any timestamp or date argument.
fn micros(v: &ScalarValue) -> Result<Option<i64>> {
    if v.is_null() {
        return Ok(None);
    }
    match v.cast_to(&timestamp_type())? {
        ScalarValue::TimestampMicrosecond(m, _) => Ok(m),
        _ => Ok(None),
    }
}

fn interval(v: &ScalarValue) -> Result<Option<IntervalMonthDayNano>> {
    if v.is_null() {
        return Ok(None);
    }
    match v.cast_to(&interval_type())? {
        ScalarValue::IntervalMonthDayNano(i) => Ok(i),
        _ => Ok(None),
    }
}

fn float(v: &ScalarValue) -> Result<Option<f64>> {
    if v.is_null() {
        return Ok(None);
    }
    match v.cast_to(&DataType::Float64)? {
        ScalarValue::Float64(f) => Ok(f),
        _ => Ok(None),
    }
}

/// The first `N` arguments as integers; `None` when one is NULL.
fn integers<const N: usize>(a: &[ScalarValue]) -> Result<Option<[i64; N]>> {
    let mut out = [0i64; N];
    for (slot, v) in out.iter_mut().zip(a) {
        match v.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(Some(n)) => *slot = n,
            _ => return Ok(None),
        }
    }
    Ok(Some(out))
}

fn interval_value(months: i32, days: i32, usecs: i64) -> Result<ScalarValue> {
    let nanos = usecs
        .checked_mul(NANOS_PER_USEC)
        .ok_or_else(|| out_of_range("interval"))?;
    Ok(ScalarValue::IntervalMonthDayNano(Some(
        IntervalMonthDayNano::new(months, days, nanos),
    )))
}

fn null_interval() -> ScalarValue {
    ScalarValue::IntervalMonthDayNano(None)
}

fn days_in_month(year: i32, month: u32) -> i32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (next, NaiveDate::from_ymd_opt(year, month, 1)) {
        (Some(n), Some(f)) => i32::try_from((n - f).num_days()).unwrap_or(30),
        _ => 30,
    }
}

fn broken_down(us: i64) -> Result<NaiveDateTime> {
    DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .ok_or_else(|| out_of_range("timestamp"))
}

/// `age(t1, t2)`: the symbolic difference, years and months and days, as `timestamp_age`.
pub fn age(t1: i64, t2: i64) -> Result<Parts> {
    let (a, b) = (broken_down(t1)?, broken_down(t2)?);
    let sub = |x: u32, y: u32| i64::from(x) - i64::from(y);
    let mut fsec = i64::from(a.nanosecond() / 1000) - i64::from(b.nanosecond() / 1000);
    let mut sec = sub(a.second(), b.second());
    let mut min = sub(a.minute(), b.minute());
    let mut hour = sub(a.hour(), b.hour());
    let mut mday = sub(a.day(), b.day());
    let mut mon = sub(a.month(), b.month());
    let mut year = i64::from(a.year()) - i64::from(b.year());
    let flip = t1 < t2;
    if flip {
        for f in [
            &mut fsec, &mut sec, &mut min, &mut hour, &mut mday, &mut mon, &mut year,
        ] {
            *f = -*f;
        }
    }
    // Negative fields borrow from the next larger one.
    let borrow = |low: &mut i64, high: &mut i64, unit: i64| {
        while *low < 0 {
            *low += unit;
            *high -= 1;
        }
    };
    borrow(&mut fsec, &mut sec, 1_000_000);
    borrow(&mut sec, &mut min, 60);
    borrow(&mut min, &mut hour, 60);
    borrow(&mut hour, &mut mday, 24);
    while mday < 0 {
        let from = if flip { a } else { b };
        mday += i64::from(days_in_month(from.year(), from.month()));
        mon -= 1;
    }
    borrow(&mut mon, &mut year, 12);
    if flip {
        for f in [
            &mut fsec, &mut sec, &mut min, &mut hour, &mut mday, &mut mon, &mut year,
        ] {
            *f = -*f;
        }
    }
    let months = i32::try_from(year * 12 + mon).map_err(|_| out_of_range("interval"))?;
    let days = i32::try_from(mday).map_err(|_| out_of_range("interval"))?;
    let usecs = ((hour * 60 + min) * 60 + sec) * 1_000_000 + fsec;
    Ok((months, days, usecs))
}

/// `TMODULO`: moves whole `unit`s of `t` out, truncating toward zero.
fn whole(t: &mut i64, unit: i64) -> i64 {
    let q = *t / unit;
    *t -= q * unit;
    q
}

/// `justify_hours` (the one the timestamp difference uses, on microseconds).
pub fn justify_hours(months: i32, days: i32, usecs: i64) -> Result<Parts> {
    let nanos = usecs
        .checked_mul(NANOS_PER_USEC)
        .ok_or_else(|| out_of_range("interval"))?;
    Ok(parts(crate::semantics::interval::justify_hours(
        IntervalMonthDayNano::new(months, days, nanos),
    )))
}

/// `justify_days`.
pub fn justify_days(months: i32, days: i32, usecs: i64) -> Result<Parts> {
    let mut day = days;
    let mut month = months
        .checked_add(day / DAYS_PER_MONTH)
        .ok_or_else(|| out_of_range("interval"))?;
    day %= DAYS_PER_MONTH;
    if month > 0 && day < 0 {
        day += DAYS_PER_MONTH;
        month -= 1;
    } else if month < 0 && day > 0 {
        day -= DAYS_PER_MONTH;
        month += 1;
    }
    Ok((month, day, usecs))
}

/// `justify_interval`.
pub fn justify_interval(months: i32, days: i32, usecs: i64) -> Result<Parts> {
    let overflow = || out_of_range("interval");
    let mut month = i64::from(months);
    let mut day = i64::from(days);
    let mut time = usecs;
    if (day > 0 && time > 0) || (day < 0 && time < 0) {
        month += whole(&mut day, i64::from(DAYS_PER_MONTH));
    }
    day += whole(&mut time, USECS_PER_DAY);
    month += whole(&mut day, i64::from(DAYS_PER_MONTH));
    if month > 0 && (day < 0 || (day == 0 && time < 0)) {
        day += i64::from(DAYS_PER_MONTH);
        month -= 1;
    } else if month < 0 && (day > 0 || (day == 0 && time > 0)) {
        day -= i64::from(DAYS_PER_MONTH);
        month += 1;
    }
    if day > 0 && time < 0 {
        time += USECS_PER_DAY;
        day -= 1;
    } else if day < 0 && time > 0 {
        time -= USECS_PER_DAY;
        day += 1;
    }
    Ok((
        i32::try_from(month).map_err(|_| overflow())?,
        i32::try_from(day).map_err(|_| overflow())?,
        time,
    ))
}

/// `TSROUND`: rounded to microseconds.
fn ts_round(x: f64) -> f64 {
    (x * 1e6).round_ties_even() / 1e6
}

/// `interval * factor` (`interval_mul`), or `interval / factor` (`interval_div`): fractional
/// months spill into days (30 to a month) and fractional days into time.
pub fn interval_scale(
    months: i32,
    days: i32,
    usecs: i64,
    factor: f64,
    divide: bool,
) -> Result<Parts> {
    if divide && factor == 0.0 {
        return Err(DataFusionError::ArrowError(
            Box::new(datafusion::arrow::error::ArrowError::DivideByZero),
            None,
        ));
    }
    let apply = |x: f64| if divide { x / factor } else { x * factor };
    let to_i32 = |x: f64| -> Result<i32> {
        if x.is_nan() || x < f64::from(i32::MIN) || x > f64::from(i32::MAX) {
            Err(out_of_range("interval"))
        } else {
            Ok(x.trunc() as i32)
        }
    };
    let month_f = apply(f64::from(months));
    let day_f = apply(f64::from(days));
    let result_month = to_i32(month_f)?;
    let mut result_day = to_i32(day_f)?;
    let month_remainder_days = ts_round((month_f - f64::from(result_month)) * 30.0);
    let mut sec_remainder = ts_round(
        (day_f - f64::from(result_day) + month_remainder_days - month_remainder_days.trunc())
            * 86_400.0,
    );
    if sec_remainder.abs() >= 86_400.0 {
        let extra = (sec_remainder / 86_400.0).trunc();
        result_day = result_day
            .checked_add(extra as i32)
            .ok_or_else(|| out_of_range("interval"))?;
        sec_remainder -= extra * 86_400.0;
    }
    result_day = result_day
        .checked_add(month_remainder_days.trunc() as i32)
        .ok_or_else(|| out_of_range("interval"))?;
    let time = (apply(usecs as f64) + sec_remainder * 1e6).round_ties_even();
    if time.is_nan() || time < i64::MIN as f64 || time >= i64::MAX as f64 {
        return Err(out_of_range("interval"));
    }
    Ok((result_month, result_day, time as i64))
}

fn parts(i: IntervalMonthDayNano) -> Parts {
    (i.months, i.days, i.nanoseconds / NANOS_PER_USEC)
}

fn interval_fn(name: &'static str, f: fn(i32, i32, i64) -> Result<Parts>) -> ScalarUDF {
    ScalarUDF::new_from_impl(RowFn::new(
        name,
        Signature::any(1, Volatility::Immutable),
        interval_type(),
        move |a| match interval(&a[0])? {
            Some(i) => {
                let (m, d, t) = parts(i);
                let (m, d, t) = f(m, d, t)?;
                interval_value(m, d, t)
            }
            None => Ok(null_interval()),
        },
    ))
}

/// Today at midnight (UTC, the session's zone), in microseconds: `age(t)` is measured from it.
fn today_micros() -> i64 {
    let now = chrono::Utc::now().date_naive();
    now.and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_micros())
        .unwrap_or(0)
}

/// The functions of this module.
pub fn all() -> Vec<ScalarUDF> {
    let mut out = vec![
        ScalarUDF::new_from_impl(RowFn::new(
            "age",
            Signature::one_of(
                vec![TypeSignature::Any(1), TypeSignature::Any(2)],
                Volatility::Stable,
            ),
            interval_type(),
            |a| {
                let (t1, t2) = match a {
                    [one] => (Some(today_micros()), micros(one)?),
                    [x, y] => (micros(x)?, micros(y)?),
                    _ => (None, None),
                };
                match (t1, t2) {
                    (Some(x), Some(y)) => {
                        let (m, d, t) = age(x, y)?;
                        interval_value(m, d, t)
                    }
                    _ => Ok(null_interval()),
                }
            },
        )),
        ScalarUDF::new_from_impl(RowFn::new(
            "make_interval",
            Signature::any(7, Volatility::Immutable),
            interval_type(),
            |a| {
                let (Some([years, months, weeks, days, hours, mins]), Some(secs)) =
                    (integers::<6>(a)?, float(&a[6])?)
                else {
                    return Ok(null_interval());
                };
                let overflow = || out_of_range("interval");
                let months = years
                    .checked_mul(12)
                    .and_then(|y| y.checked_add(months))
                    .and_then(|m| i32::try_from(m).ok())
                    .ok_or_else(overflow)?;
                let days = weeks
                    .checked_mul(7)
                    .and_then(|w| w.checked_add(days))
                    .and_then(|d| i32::try_from(d).ok())
                    .ok_or_else(overflow)?;
                let usecs = (hours as f64 * 3600.0 + mins as f64 * 60.0) * 1e6
                    + (secs * 1e6).round_ties_even();
                if !usecs.is_finite() || usecs.abs() >= i64::MAX as f64 {
                    return Err(overflow());
                }
                interval_value(months, days, usecs as i64)
            },
        )),
        ScalarUDF::new_from_impl(RowFn::new(
            "make_timestamp",
            Signature::any(6, Volatility::Immutable),
            timestamp_type(),
            |a| {
                let (Some([y, mo, d, h, mi]), Some(secs)) = (integers::<5>(a)?, float(&a[5])?)
                else {
                    return Ok(ScalarValue::TimestampMicrosecond(None, None));
                };
                let bad = || {
                    DataFusionError::External(Box::new(EngineError::DatetimeOverflow(format!(
                        "date field value out of range: {y}-{mo:02}-{d:02}"
                    ))))
                };
                let date = i32::try_from(y)
                    .ok()
                    .zip(u32::try_from(mo).ok())
                    .zip(u32::try_from(d).ok())
                    .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d))
                    .ok_or_else(bad)?;
                if !(0..=23).contains(&h) || !(0..=59).contains(&mi) || !(0.0..60.0).contains(&secs)
                {
                    return Err(DataFusionError::External(Box::new(
                        EngineError::DatetimeOverflow(format!(
                            "time field value out of range: {h}:{mi:02}:{secs:02}"
                        )),
                    )));
                }
                let base = date
                    .and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc().timestamp_micros())
                    .ok_or_else(bad)?;
                let usecs =
                    (h * 3600 + mi * 60) * 1_000_000 + (secs * 1e6).round_ties_even() as i64;
                Ok(ScalarValue::TimestampMicrosecond(Some(base + usecs), None))
            },
        )),
        ScalarUDF::new_from_impl(RowFn::new(
            "isfinite",
            Signature::any(1, Volatility::Immutable),
            DataType::Boolean,
            // No infinite date, timestamp or interval is held here.
            |a| Ok(ScalarValue::Boolean((!a[0].is_null()).then_some(true))),
        )),
        interval_fn("justify_hours", justify_hours),
        interval_fn("justify_days", justify_days),
        interval_fn("justify_interval", justify_interval),
    ];
    for (name, divide) in [("__pg_interval_mul", false), ("__pg_interval_div", true)] {
        out.push(ScalarUDF::new_from_impl(RowFn::new(
            name,
            Signature::any(2, Volatility::Immutable),
            interval_type(),
            move |a| match (interval(&a[0])?, float(&a[1])?) {
                (Some(i), Some(f)) => {
                    let (m, d, t) = parts(i);
                    let (m, d, t) = interval_scale(m, d, t, f, divide)?;
                    interval_value(m, d, t)
                }
                _ => Ok(null_interval()),
            },
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .expect("timestamp")
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn age_is_postgres_symbolic_difference() {
        let h = 3_600_000_000;
        assert_eq!(
            age(ts("2026-01-01 00:00:00"), ts("2025-06-15 10:00:00")).expect("age"),
            (6, 15, 14 * h)
        );
        assert_eq!(
            age(ts("2025-06-15 10:00:00"), ts("2026-01-01 00:00:00")).expect("age"),
            (-6, -15, -14 * h)
        );
        assert_eq!(
            age(ts("2024-03-01 00:00:00"), ts("2024-01-31 00:00:00")).expect("age"),
            (1, 1, 0)
        );
    }

    #[test]
    fn justify_like_postgres() {
        let h = 3_600_000_000;
        assert_eq!(justify_hours(0, 0, -50 * h).expect("ok"), (0, -2, -2 * h));
        assert_eq!(justify_days(0, 40, 0).expect("ok"), (1, 10, 0));
        assert_eq!(justify_interval(1, 0, -h).expect("ok"), (0, 29, 23 * h));
    }

    #[test]
    fn interval_arithmetic_spills_fractions_down() {
        let h = 3_600_000_000;
        // interval '1 day' * 2.5 = 2 days 12:00:00
        assert_eq!(
            interval_scale(0, 1, 0, 2.5, false).expect("ok"),
            (0, 2, 12 * h)
        );
        // interval '1 mon' / 4 = 7 days 12:00:00
        assert_eq!(
            interval_scale(1, 0, 0, 4.0, true).expect("ok"),
            (0, 7, 12 * h)
        );
        // interval '1 hour' / 4 = 00:15:00
        assert_eq!(
            interval_scale(0, 0, h, 4.0, true).expect("ok"),
            (0, 0, h / 4)
        );
        assert!(interval_scale(0, 1, 0, 0.0, true).is_err());
    }
}
