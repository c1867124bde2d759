//! `to_timestamp(text, format)` and `to_date(text, format)` with PostgreSQL's template
//! patterns (the ones `to_char` prints), and `to_timestamp(seconds)` from the Unix epoch.
//! Superset filters every time-range chart with
//! `TO_TIMESTAMP('2026-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')`; DataFusion's own
//! functions read chrono's `%Y` patterns instead.
//!
//! Reading follows PostgreSQL's non-FX mode: spaces before a number are skipped, a separator in
//! the template skips one non-alphanumeric input character, text after the template is ignored.
//! Out-of-range fields are 22008 and unreadable ones 22007, as in PostgreSQL.

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ScalarUDF, Signature, TypeSignature, Volatility};

use super::to_char::{DAYS, MONTHS, PATTERNS};
use crate::error::EngineError;
use crate::row_fn::RowFn;

/// The two UDFs.
pub fn all() -> Vec<ScalarUDF> {
    let signature = || {
        Signature::one_of(
            vec![TypeSignature::Any(1), TypeSignature::Any(2)],
            Volatility::Stable,
        )
    };
    let timestamptz = DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()));
    vec![
        ScalarUDF::new_from_impl(RowFn::new("to_timestamp", signature(), timestamptz, |a| {
            let micros = match a {
                [seconds] => from_epoch(seconds)?,
                [text, format] => match (text_arg(text)?, text_arg(format)?) {
                    (Some(t), Some(f)) => Some(micros_of(read(&t, &f)?)?),
                    _ => None,
                },
                _ => None,
            };
            Ok(ScalarValue::TimestampMicrosecond(
                micros,
                Some("+00:00".into()),
            ))
        })),
        ScalarUDF::new_from_impl(RowFn::new("to_date", signature(), DataType::Date32, |a| {
            let [text, format] = a else {
                return Err(failure(EngineError::UndefinedFunction(
                    "to_date takes a text and a format".to_owned(),
                )));
            };
            Ok(ScalarValue::Date32(
                match (text_arg(text)?, text_arg(format)?) {
                    (Some(t), Some(f)) => {
                        let date = read(&t, &f)?.date();
                        Some(date.signed_duration_since(unix_epoch()).num_days())
                            .and_then(|d| i32::try_from(d).ok())
                    }
                    _ => None,
                },
            ))
        })),
    ]
}

fn failure(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn unix_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn text_arg(v: &ScalarValue) -> Result<Option<String>> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
            Ok(s.clone())
        }
        ScalarValue::Null => Ok(None),
        other => Err(failure(EngineError::UndefinedFunction(format!(
            "to_timestamp/to_date of {}",
            other.data_type()
        )))),
    }
}

/// `to_timestamp(double precision)`: seconds since 1970-01-01 00:00 UTC.
fn from_epoch(v: &ScalarValue) -> Result<Option<i64>> {
    let seconds = match v {
        ScalarValue::Null => return Ok(None),
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            s.trim().parse::<f64>().map_err(|_| {
                failure(EngineError::InvalidTextRepresentation(format!(
                    "invalid input syntax for type double precision: \"{s}\""
                )))
            })?
        }
        other => match other.cast_to(&DataType::Float64)? {
            ScalarValue::Float64(Some(f)) => f,
            _ => return Ok(None),
        },
    };
    let micros = (seconds * 1e6).round();
    if !micros.is_finite() || micros.abs() > 9.2e18 {
        return Err(failure(EngineError::DatetimeOverflow(
            "timestamp out of range".to_owned(),
        )));
    }
    Ok(Some(micros as i64))
}

fn micros_of(t: NaiveDateTime) -> Result<i64> {
    Ok(t.and_utc().timestamp_micros())
}

/// The fields read so far.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<(i64, bool)>,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    micros: i64,
}

/// How many digits a numeric pattern reads at most (`None`: any number).
fn width(pattern: &str) -> Option<usize> {
    Some(match pattern {
        "YYYY" | "IYYY" => 4,
        "YYY" | "DDD" | "MS" => 3,
        "HH24" | "HH12" | "HH" | "MI" | "SS" | "YY" | "MM" | "DD" | "IW" | "WW" | "CC" => 2,
        "Y" | "D" | "ID" | "W" | "Q" => 1,
        "US" => 6,
        "SSSS" | "J" => return None,
        _ => return None,
    })
}

fn is_numeric(pattern: &str) -> bool {
    !matches!(
        pattern,
        "MONTH"
            | "Month"
            | "month"
            | "MON"
            | "Mon"
            | "mon"
            | "DAY"
            | "Day"
            | "day"
            | "DY"
            | "Dy"
            | "dy"
            | "AM"
            | "PM"
            | "am"
            | "pm"
            | "A.M."
            | "P.M."
            | "a.m."
            | "p.m."
    )
}

/// Reads `input` by the template `format`.
fn read(input: &str, format: &str) -> Result<NaiveDateTime> {
    let out_of_range = || {
        failure(EngineError::DatetimeOverflow(format!(
            "date/time field value out of range: \"{input}\""
        )))
    };
    let mut f = Fields::default();
    let mut rest = input;
    let mut fmt = format;
    while let Some(c) = fmt.chars().next() {
        if let Some(r) = ["FM", "fm", "FX", "fx"]
            .iter()
            .find_map(|p| fmt.strip_prefix(p))
        {
            fmt = r;
            continue;
        }
        if c == '"' {
            // Quoted text skips as many input characters.
            let mut chars = fmt[1..].chars();
            for ch in chars.by_ref() {
                if ch == '"' {
                    break;
                }
                rest = skip_one(rest);
            }
            fmt = chars.as_str();
            continue;
        }
        let Some(pattern) = PATTERNS.iter().find(|p| fmt.starts_with(**p)) else {
            fmt = &fmt[c.len_utf8()..];
            rest = rest.trim_start();
            if !c.is_whitespace() && rest.chars().next().is_some_and(|i| !i.is_alphanumeric()) {
                rest = skip_one(rest);
            }
            continue;
        };
        fmt = &fmt[pattern.len()..];
        if is_numeric(pattern) {
            rest = rest.trim_start();
            let limit = width(pattern).unwrap_or(usize::MAX);
            // A year may be longer than four digits when no digit pattern follows it.
            let limit = if *pattern == "YYYY" && !fmt.starts_with(|c: char| c.is_alphabetic()) {
                usize::MAX
            } else {
                limit
            };
            let digits = rest
                .char_indices()
                .take_while(|(i, ch)| ch.is_ascii_digit() && *i < limit.min(18))
                .count();
            if digits == 0 {
                let shown: String = rest.chars().take(width(pattern).unwrap_or(2)).collect();
                return Err(failure(EngineError::InvalidDatetimeFormat(format!(
                    "invalid value \"{shown}\" for \"{pattern}\""
                ))));
            }
            let value: i64 = rest[..digits].parse().map_err(|_| out_of_range())?;
            store(&mut f, pattern, value, digits);
            rest = &rest[digits..];
        } else {
            rest = rest.trim_start();
            rest = read_word(rest, pattern, &mut f).ok_or_else(|| {
                failure(EngineError::InvalidDatetimeFormat(format!(
                    "invalid value \"{}\" for \"{pattern}\"",
                    rest.chars().take(pattern.len()).collect::<String>()
                )))
            })?;
        }
    }
    let Some(year) = f.year else {
        return Err(failure(EngineError::Unsupported(
            "to_timestamp/to_date without a year in the template".to_owned(),
        )));
    };
    let year = i32::try_from(year).map_err(|_| out_of_range())?;
    let date = match (f.day_of_year, f.month, f.day) {
        (Some(doy), None, None) => NaiveDate::from_yo_opt(year, u32::try_from(doy).unwrap_or(0)),
        (_, month, day) => NaiveDate::from_ymd_opt(
            year,
            u32::try_from(month.unwrap_or(1)).unwrap_or(0),
            u32::try_from(day.unwrap_or(1)).unwrap_or(0),
        ),
    }
    .ok_or_else(out_of_range)?;
    let hour = match (f.hour, f.pm) {
        (None, _) => 0,
        (Some((h, true)), pm) => {
            if !(1..=12).contains(&h) {
                return Err(out_of_range());
            }
            (h % 12) + if pm == Some(true) { 12 } else { 0 }
        }
        (Some((h, false)), _) => h,
    };
    if !(0..=24).contains(&hour)
        || !(0..60).contains(&f.minute)
        || !(0..=60).contains(&f.second)
        || (hour == 24 && (f.minute != 0 || f.second != 0 || f.micros != 0))
    {
        return Err(out_of_range());
    }
    let micros = ((hour * 60 + f.minute) * 60 + f.second) * 1_000_000 + f.micros;
    date.and_hms_opt(0, 0, 0)
        .and_then(|d| d.checked_add_signed(chrono::TimeDelta::microseconds(micros)))
        .ok_or_else(out_of_range)
}

fn skip_one(s: &str) -> &str {
    let mut chars = s.chars();
    chars.next();
    chars.as_str()
}

fn store(f: &mut Fields, pattern: &str, value: i64, digits: usize) {
    match pattern {
        "YYYY" | "IYYY" => f.year = Some(value),
        // Two- and three-digit years are taken near 2020, as PostgreSQL does.
        "YY" => {
            f.year = Some(if value < 70 {
                2000 + value
            } else {
                1900 + value
            })
        }
        "YYY" => {
            f.year = Some(if value < 100 {
                2000 + value
            } else {
                1000 + value
            })
        }
        "Y" => f.year = Some(2000 + value),
        "MM" => f.month = Some(value),
        "DD" => f.day = Some(value),
        "DDD" => f.day_of_year = Some(value),
        "HH24" => f.hour = Some((value, false)),
        "HH12" | "HH" => f.hour = Some((value, true)),
        "MI" => f.minute = value,
        "SS" => f.second = value,
        "SSSS" => {
            f.hour = Some((value / 3600, false));
            f.minute = value / 60 % 60;
            f.second = value % 60;
        }
        // `SS.MS` with `12.3` is 12.3 seconds: the digits are a fraction.
        "MS" => f.micros = value * 10_i64.pow(u32::try_from(3 - digits.min(3)).unwrap_or(0)) * 1000,
        "US" => f.micros = value * 10_i64.pow(u32::try_from(6 - digits.min(6)).unwrap_or(0)),
        _ => {}
    }
}

/// Reads a month or day name or a meridiem marker; the rest of the input after it.
fn read_word<'a>(rest: &'a str, pattern: &str, f: &mut Fields) -> Option<&'a str> {
    let starts = |word: &str| {
        rest.get(..word.len())
            .filter(|head| head.eq_ignore_ascii_case(word))
            .map(|_| &rest[word.len()..])
    };
    match pattern.to_ascii_uppercase().as_str() {
        "MONTH" | "MON" => MONTHS.iter().enumerate().find_map(|(i, m)| {
            let word = if pattern.len() == 3 { &m[..3] } else { m };
            let after = starts(word)?;
            f.month = Some(i64::try_from(i).ok()? + 1);
            Some(after)
        }),
        "DAY" | "DY" => DAYS.iter().find_map(|d| {
            let word = if pattern.len() == 2 { &d[..3] } else { d };
            starts(word)
        }),
        "AM" | "PM" => {
            if let Some(after) = starts("am") {
                f.pm = Some(false);
                Some(after)
            } else {
                let after = starts("pm")?;
                f.pm = Some(true);
                Some(after)
            }
        }
        _ => {
            if let Some(after) = starts("a.m.") {
                f.pm = Some(false);
                Some(after)
            } else {
                let after = starts("p.m.")?;
                f.pm = Some(true);
                Some(after)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(input: &str, format: &str) -> String {
        read(input, format)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.f").to_string())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    // Each expected value is what PostgreSQL 15 answers.
    #[test]
    fn templates_read_as_postgres_reads_them() {
        assert_eq!(
            at("2026-01-01 00:00:00.000000", "YYYY-MM-DD HH24:MI:SS.US"),
            "2026-01-01 00:00:00"
        );
        assert_eq!(at("05 Dec 2000", "DD Mon YYYY"), "2000-12-05 00:00:00");
        assert_eq!(at("2026/3/7", "YYYY/MM/DD"), "2026-03-07 00:00:00");
        assert_eq!(at("2026-01-01 10:00", "YYYY-MM-DD"), "2026-01-01 00:00:00");
        assert_eq!(at("26-1-1", "YY-MM-DD"), "2026-01-01 00:00:00");
        assert_eq!(
            at("2026-01-01 01:00 PM", "YYYY-MM-DD HH12:MI AM"),
            "2026-01-01 13:00:00"
        );
        assert_eq!(at("20260105", "YYYYMMDD"), "2026-01-05 00:00:00");
        assert_eq!(at("  2026 - 01 - 05", "YYYY-MM-DD"), "2026-01-05 00:00:00");
        assert_eq!(at("2026 12.3", "YYYY SS.MS"), "2026-01-01 00:00:12.300");
    }

    #[test]
    fn bad_fields_are_postgres_errors() {
        assert!(at("2026-13-01", "YYYY-MM-DD").contains("out of range"));
        assert!(at("2026-02-30", "YYYY-MM-DD").contains("out of range"));
        assert!(at("2026-01-01 25:00", "YYYY-MM-DD HH24:MI").contains("out of range"));
        assert!(at("abc", "YYYY").contains("invalid value \"abc\" for \"YYYY\""));
        assert!(at("2026x01", "YYYY-MM").contains("invalid value \"x0\" for \"MM\""));
    }
}
