//! PostgreSQL's text output of Arrow values: the one place a value becomes the text
//! PostgreSQL would print (ISO timestamps with `+00` for timestamptz, `1 day 02:00:00`
//! intervals, shortest-exact floats, `{a,"b c"}` arrays, `\\x` bytea). The wire sends it,
//! and a cast to text (`created_date::text`) produces it (`semantics`).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, IntervalDayTimeType, IntervalMonthDayNanoType, IntervalUnit,
    IntervalYearMonthType, TimeUnit, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

mod interval;

pub use interval::{IntervalStyle, interval_text};

/// PostgreSQL text output of one non-null value, intervals in the default IntervalStyle.
pub fn write_text(array: &ArrayRef, row: usize, out: &mut String) -> Result<(), String> {
    write_text_styled(array, row, out, IntervalStyle::Postgres)
}

/// PostgreSQL text output of one non-null value, intervals in `style` (the session's
/// IntervalStyle).
pub fn write_text_styled(
    array: &ArrayRef,
    row: usize,
    out: &mut String,
    style: IntervalStyle,
) -> Result<(), String> {
    let w = |r: std::fmt::Result| r.map_err(|e| e.to_string());
    match array.data_type() {
        DataType::Boolean => out.push(if array.as_boolean().value(row) {
            't'
        } else {
            'f'
        }),
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => out.push_str(array.as_string::<i64>().value(row)),
        DataType::Utf8View => out.push_str(array.as_string_view().value(row)),
        DataType::Int8 => w(write!(
            out,
            "{}",
            array.as_primitive::<Int8Type>().value(row)
        ))?,
        DataType::Int16 => w(write!(
            out,
            "{}",
            array.as_primitive::<Int16Type>().value(row)
        ))?,
        DataType::Int32 => w(write!(
            out,
            "{}",
            array.as_primitive::<Int32Type>().value(row)
        ))?,
        DataType::Int64 => w(write!(
            out,
            "{}",
            array.as_primitive::<Int64Type>().value(row)
        ))?,
        DataType::UInt8 => w(write!(
            out,
            "{}",
            array.as_primitive::<UInt8Type>().value(row)
        ))?,
        DataType::UInt16 => w(write!(
            out,
            "{}",
            array.as_primitive::<UInt16Type>().value(row)
        ))?,
        DataType::UInt32 => w(write!(
            out,
            "{}",
            array.as_primitive::<UInt32Type>().value(row)
        ))?,
        DataType::UInt64 => w(write!(
            out,
            "{}",
            array.as_primitive::<UInt64Type>().value(row)
        ))?,
        DataType::Float16 => float_text(
            f64::from(array.as_primitive::<Float16Type>().value(row)),
            out,
        ),
        DataType::Float32 => float_text(
            f64::from(array.as_primitive::<Float32Type>().value(row)),
            out,
        ),
        DataType::Float64 => float_text(array.as_primitive::<Float64Type>().value(row), out),
        DataType::Timestamp(unit, tz) => {
            let micros = timestamp_micros(array, row, unit);
            timestamp_text(micros, out)?;
            if tz.is_some() {
                out.push_str("+00");
            }
        }
        DataType::Date32 => date_text(array.as_primitive::<Date32Type>().value(row), out)?,
        DataType::Date64 => {
            let days = array
                .as_primitive::<Date64Type>()
                .value(row)
                .div_euclid(86_400_000);
            date_text(i32::try_from(days).map_err(|e| e.to_string())?, out)?;
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => {
            out.push_str("\\x");
            for b in binary_value(array, row) {
                w(write!(out, "{b:02x}"))?;
            }
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let items = list_value(array, row);
            out.push('{');
            let mut item = String::new();
            for i in 0..items.len() {
                if i > 0 {
                    out.push(',');
                }
                if items.is_null(i) || items.data_type() == &DataType::Null {
                    out.push_str("NULL");
                    continue;
                }
                item.clear();
                write_text_styled(&items, i, &mut item, style)?;
                array_item_text(&item, out);
            }
            out.push('}');
        }
        DataType::Interval(_) | DataType::Duration(_) => interval_text(array, row, style, out)?,
        _ => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
                .map_err(|e| e.to_string())?;
            w(write!(out, "{}", formatter.value(row)))?;
        }
    }
    Ok(())
}

/// float8out with extra_float_digits >= 1: the shortest text that reads back exactly.
pub fn float_text(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let abs = v.abs();
        if abs != 0.0 && !(1e-4..1e15).contains(&abs) {
            // PostgreSQL switches to exponent form outside this range, e.g. 1e+16, 1.5e-05.
            let s = format!("{v:e}");
            let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
            let exp: i32 = exp.parse().unwrap_or(0);
            let _ = write!(
                out,
                "{mantissa}e{}{:02}",
                if exp < 0 { '-' } else { '+' },
                exp.abs()
            );
        } else {
            let _ = write!(out, "{v}");
        }
    }
}

/// The microseconds since the Unix epoch of a timestamp value in any unit.
pub fn timestamp_micros(array: &ArrayRef, row: usize, unit: &TimeUnit) -> i64 {
    use datafusion::arrow::datatypes::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    match unit {
        TimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .value(row)
            .saturating_mul(1_000_000),
        TimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .value(row)
            .saturating_mul(1_000),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
        TimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .value(row)
            .div_euclid(1_000),
    }
}

/// `2026-11-25 09:38:48` or `2026-11-25 09:38:48.123` (trailing zeros dropped).
pub fn timestamp_text(micros: i64, out: &mut String) -> Result<(), String> {
    let t = DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| format!("timestamp out of range: {micros}"))?
        .naive_utc();
    if push_ymd(t.date(), out) {
        out.push(' ');
        push_digits(t.hour(), 2, out);
        out.push(':');
        push_digits(t.minute(), 2, out);
        out.push(':');
        push_digits(t.second(), 2, out);
    } else {
        let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S"));
    }
    push_fraction(micros.rem_euclid(1_000_000), out);
    Ok(())
}

/// `YYYY-MM-DD` for years 1 to 9999 (the common case, written without chrono's formatter,
/// which dominated full-table fetches); false for other years, left to the formatter.
pub fn push_ymd(d: NaiveDate, out: &mut String) -> bool {
    let Ok(year) = u32::try_from(d.year()) else {
        return false;
    };
    if !(1..=9999).contains(&year) {
        return false;
    }
    push_digits(year, 4, out);
    out.push('-');
    push_digits(d.month(), 2, out);
    out.push('-');
    push_digits(d.day(), 2, out);
    true
}

/// `n` as exactly `width` decimal digits (zero-padded; `n` must fit).
pub fn push_digits(n: u32, width: u32, out: &mut String) {
    for i in (0..width).rev() {
        let digit = (n / 10u32.pow(i)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// `.5`, `.123456`: a fraction of a second, trailing zeros dropped (nothing for zero).
pub fn push_fraction(us: i64, out: &mut String) {
    if us != 0 {
        let frac = format!("{us:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// `2026-01-05`: a date given as days since the Unix epoch.
pub fn date_text(days: i32, out: &mut String) -> Result<(), String> {
    let d = NaiveDate::from_num_days_from_ce_opt(days + 719_163)
        .ok_or_else(|| format!("date out of range: {days}"))?;
    if !push_ymd(d, out) {
        let _ = write!(out, "{}", d.format("%Y-%m-%d"));
    }
    Ok(())
}

/// An interval or duration value as (months, days, microseconds).
pub fn interval_parts(array: &ArrayRef, row: usize) -> (i32, i32, i64) {
    match array.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => (
            array.as_primitive::<IntervalYearMonthType>().value(row),
            0,
            0,
        ),
        DataType::Interval(IntervalUnit::DayTime) => {
            let v = array.as_primitive::<IntervalDayTimeType>().value(row);
            (0, v.days, i64::from(v.milliseconds) * 1_000)
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = array.as_primitive::<IntervalMonthDayNanoType>().value(row);
            (v.months, v.days, v.nanoseconds / 1_000)
        }
        DataType::Duration(unit) => {
            let raw = match unit {
                TimeUnit::Second => array
                    .as_primitive::<datafusion::arrow::datatypes::DurationSecondType>()
                    .value(row)
                    .saturating_mul(1_000_000),
                TimeUnit::Millisecond => array
                    .as_primitive::<datafusion::arrow::datatypes::DurationMillisecondType>()
                    .value(row)
                    .saturating_mul(1_000),
                TimeUnit::Microsecond => array
                    .as_primitive::<datafusion::arrow::datatypes::DurationMicrosecondType>()
                    .value(row),
                TimeUnit::Nanosecond => {
                    array
                        .as_primitive::<datafusion::arrow::datatypes::DurationNanosecondType>()
                        .value(row)
                        / 1_000
                }
            };
            (0, 0, raw)
        }
        _ => (0, 0, 0),
    }
}

/// One array element in `{...}` text, quoted when PostgreSQL would quote it.
pub fn array_item_text(item: &str, out: &mut String) {
    let needs_quotes = item.is_empty()
        || item.eq_ignore_ascii_case("null")
        || item
            .chars()
            .any(|c| matches!(c, '"' | '\\' | '{' | '}' | ',') || c.is_whitespace());
    if !needs_quotes {
        out.push_str(item);
        return;
    }
    out.push('"');
    for c in item.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The bytes of a binary value.
pub fn binary_value(array: &ArrayRef, row: usize) -> &[u8] {
    match array.data_type() {
        DataType::Binary => array.as_binary::<i32>().value(row),
        DataType::LargeBinary => array.as_binary::<i64>().value(row),
        DataType::BinaryView => array.as_binary_view().value(row),
        DataType::FixedSizeBinary(_) => array.as_fixed_size_binary().value(row),
        _ => &[],
    }
}

/// The items of a list value.
pub fn list_value(array: &ArrayRef, row: usize) -> ArrayRef {
    match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().value(row),
        DataType::LargeList(_) => array.as_list::<i64>().value(row),
        _ => array.as_fixed_size_list().value(row),
    }
}
