//! PostgreSQL's text output of Arrow values: the one place a value becomes the text
//! PostgreSQL would print (ISO timestamps with `+00` for timestamptz, `1 day 02:00:00`
//! intervals, shortest-exact floats, `{a,"b c"}` arrays, `\\x` bytea). The wire sends it,
//! and a cast to text (`created_date::text`) produces it (`semantics`).

use std::fmt::Write as _;

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
        DataType::Float16 => float4_text(
            f32::from(array.as_primitive::<Float16Type>().value(row)),
            out,
        ),
        DataType::Float32 => float4_text(array.as_primitive::<Float32Type>().value(row), out),
        DataType::Float64 => float_text(array.as_primitive::<Float64Type>().value(row), out),
        DataType::Timestamp(unit, tz) => {
            let micros = timestamp_micros(array, row, unit);
            timestamp_text_zoned(micros, if tz.is_some() { "+00" } else { "" }, out)?;
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
    let abs = v.abs();
    shortest_text(
        v,
        v.is_nan(),
        v.is_infinite(),
        abs != 0.0 && !(1e-4..1e15).contains(&abs),
        out,
    );
}

/// A `real` as PostgreSQL's `float4out` writes it: the shortest text that reads back as the
/// same 32-bit float (`0.1`, not the `0.10000000149011612` of its 64-bit widening), in
/// exponent form from 10^6 up and below 10^-4.
pub fn float4_text(v: f32, out: &mut String) {
    let abs = v.abs();
    shortest_text(
        v,
        v.is_nan(),
        v.is_infinite(),
        abs != 0.0 && !(1e-4..1e6).contains(&abs),
        out,
    );
}

/// `v` in its shortest round-trip form, as PostgreSQL writes floats: `NaN`, `Infinity`,
/// exponent form (`1e+16`, `1.5e-05`) when `exponent_form`.
fn shortest_text<F>(v: F, nan: bool, infinite: bool, exponent_form: bool, out: &mut String)
where
    F: std::fmt::Display + std::fmt::LowerExp + PartialOrd + Default,
{
    if nan {
        out.push_str("NaN");
    } else if infinite {
        out.push_str(if v > F::default() {
            "Infinity"
        } else {
            "-Infinity"
        });
    } else if exponent_form {
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

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// `2026-11-25 09:38:48` or `2026-11-25 09:38:48.123` (trailing zeros dropped); years before
/// 1 as PostgreSQL prints them (`0001-12-31 00:00:00 BC`).
pub fn timestamp_text(micros: i64, out: &mut String) -> Result<(), String> {
    timestamp_text_zoned(micros, "", out)
}

/// [`timestamp_text`] with `zone` (`+00` for a timestamptz) after the time and before a `BC`.
pub fn timestamp_text_zoned(micros: i64, zone: &str, out: &mut String) -> Result<(), String> {
    if let Some(text) = TimestampText::of(micros) {
        out.push_str(text.as_str());
        out.push_str(zone);
        return Ok(());
    }
    // Years outside 1..=9999 (rare): before 1 as `… BC`, after 9999 with all their digits.
    let (year, month, day) = civil_from_days(micros.div_euclid(DAY_MICROS));
    let seconds = micros.rem_euclid(DAY_MICROS) / 1_000_000;
    let _ = write!(
        out,
        "{:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        if year <= 0 { 1 - year } else { year },
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    push_fraction(micros.rem_euclid(1_000_000), out);
    out.push_str(zone);
    if year <= 0 {
        out.push_str(" BC");
    }
    Ok(())
}

/// The text of a timestamp in years 1 to 9999, `YYYY-MM-DD HH:MM:SS[.ffffff]`, built in place
/// without allocating (a full fetch prints two per row).
#[derive(Debug, Clone, Copy)]
pub struct TimestampText {
    bytes: [u8; 26],
    len: usize,
}

impl TimestampText {
    /// The text of `micros` since the Unix epoch; `None` outside years 1 to 9999.
    pub fn of(micros: i64) -> Option<TimestampText> {
        let (year, month, day) = civil_from_days(micros.div_euclid(DAY_MICROS));
        if !(1..=9999).contains(&year) {
            return None;
        }
        let seconds = micros.rem_euclid(DAY_MICROS) / 1_000_000;
        let mut bytes = *b"0000-00-00 00:00:00.000000";
        put_digits(&mut bytes[0..4], year);
        put_digits(&mut bytes[5..7], month);
        put_digits(&mut bytes[8..10], day);
        put_digits(&mut bytes[11..13], seconds / 3600);
        put_digits(&mut bytes[14..16], seconds / 60 % 60);
        put_digits(&mut bytes[17..19], seconds % 60);
        let fraction = micros.rem_euclid(1_000_000);
        let len = if fraction == 0 {
            19
        } else {
            put_digits(&mut bytes[20..26], fraction);
            // Trailing zeros dropped: `.12`, not `.120000`.
            bytes[20..26]
                .iter()
                .rposition(|&b| b != b'0')
                .map_or(19, |i| 21 + i)
        };
        Some(TimestampText { bytes, len })
    }

    /// The text's bytes (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`). Any day of an `i64` of microseconds (±1.1e8 days) stays far
/// inside `i64` here.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `n` (0 ≤ n < 10^len) as the zero-padded decimal digits filling `out`.
fn put_digits(out: &mut [u8], mut n: i64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
    }
}

/// `.5`, `.123456`: a fraction of a second, trailing zeros dropped (nothing for zero).
pub fn push_fraction(us: i64, out: &mut String) {
    if us != 0 {
        let mut digits = *b"000000";
        put_digits(&mut digits, us);
        let kept = digits.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1);
        out.push('.');
        digits[..kept].iter().for_each(|&b| out.push(char::from(b)));
    }
}

/// `2026-01-05`: a date given as days since the Unix epoch.
pub fn date_text(days: i32, out: &mut String) -> Result<(), String> {
    let (year, month, day) = civil_from_days(i64::from(days));
    let _ = write!(
        out,
        "{:04}-{month:02}-{day:02}",
        if year <= 0 { 1 - year } else { year }
    );
    if year <= 0 {
        out.push_str(" BC");
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each as PostgreSQL 15's float4out writes it.
    #[test]
    fn reals_print_their_shortest_32_bit_text() {
        let real = |v: f32| {
            let mut s = String::new();
            float4_text(v, &mut s);
            s
        };
        assert_eq!(real(0.1), "0.1");
        assert_eq!(real(123_456.0), "123456");
        assert_eq!(real(1_234_567.0), "1.234567e+06");
        assert_eq!(real(12_345_678.9), "1.2345679e+07");
        assert_eq!(real(0.0001), "0.0001");
        assert_eq!(real(0.00001), "1e-05");
        assert_eq!(real(3.4e38), "3.4e+38");
        assert_eq!(real(1e-45), "1e-45");
        assert_eq!(real(-0.0), "-0");
        assert_eq!(real(f32::NAN), "NaN");
        assert_eq!(real(f32::INFINITY), "Infinity");
    }
    use chrono::DateTime;

    /// What chrono's formatter prints, the text before the calendar was computed here.
    fn by_chrono(micros: i64) -> String {
        let t = DateTime::from_timestamp_micros(micros)
            .expect("in range")
            .naive_utc();
        let mut out = t.format("%Y-%m-%d %H:%M:%S").to_string();
        let us = micros.rem_euclid(1_000_000);
        if us != 0 {
            out.push('.');
            out.push_str(format!("{us:06}").trim_end_matches('0'));
        }
        out
    }

    #[test]
    fn timestamps_print_as_the_calendar_says_across_years_1_to_9999() {
        // Every edge of the range, leap days and century rules, and a spread of instants in
        // between (a linear congruential walk, so the run is the same every time).
        let first = -62_135_596_800_000_000; // 0001-01-01 00:00:00
        let last = 253_402_300_799_999_999; // 9999-12-31 23:59:59.999999
        let mut cases = vec![
            first,
            last,
            0,
            -1,
            951_782_400_000_000,    // 2000-02-29
            -2_203_891_200_000_000, // 1900-03-01
            4_107_542_400_000_000,  // 2100-03-01
            1_795_599_528_120_000,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let span = u64::try_from(last - first).expect("positive");
            cases.push(first + i64::try_from(x % span).expect("fits"));
        }
        for micros in cases {
            let mut out = String::new();
            timestamp_text(micros, &mut out).expect("in range");
            assert_eq!(out, by_chrono(micros), "at {micros} µs");
        }
    }

    #[test]
    fn years_before_1_print_as_bc_and_after_9999_in_full_like_postgres() {
        let text = |micros: i64| {
            let mut out = String::new();
            timestamp_text(micros, &mut out).expect("prints");
            out
        };
        // PostgreSQL: SELECT '0001-01-01'::timestamp - interval '1 microsecond' and friends.
        assert_eq!(
            text(-62_135_596_800_000_001),
            "0001-12-31 23:59:59.999999 BC"
        );
        assert_eq!(
            text(-62_135_596_800_000_000 - 86_400_000_000),
            "0001-12-31 00:00:00 BC"
        );
        assert_eq!(
            text(-62_167_219_200_000_000 - 86_400_000_000),
            "0002-12-31 00:00:00 BC"
        );
        assert_eq!(text(-210_866_803_200_000_000), "4714-11-24 00:00:00 BC");
        assert_eq!(text(253_402_300_800_000_000), "10000-01-01 00:00:00");
        let mut zoned = String::new();
        timestamp_text_zoned(-62_135_596_800_000_001, "+00", &mut zoned).expect("prints");
        assert_eq!(zoned, "0001-12-31 23:59:59.999999+00 BC");
        let date = |days: i32| {
            let mut out = String::new();
            date_text(days, &mut out).expect("prints");
            out
        };
        assert_eq!(date(-719_162), "0001-01-01");
        assert_eq!(date(-719_163), "0001-12-31 BC");
        assert_eq!(date(20_000), "2024-10-04");
        assert_eq!(date(2_932_897), "10000-01-01");
        // Any value prints, even far outside PostgreSQL's range.
        assert!(!text(i64::MIN).is_empty());
    }
}
