//! `to_char(timestamp | timestamptz | date, format)` with PostgreSQL's template patterns
//! (`YYYY-MM-DD HH24:MI:SS`, `Mon DD, YYYY`, `FM` fill mode, quoted text), registered over
//! DataFusion's `to_char`, which reads chrono's `%Y` patterns and returned a PostgreSQL
//! template unchanged (so `GROUP BY to_char(ts, 'YYYY-MM')` made one group).
//! Numbers and intervals are refused (0A000) rather than formatted differently.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ScalarUDF, Signature, TypeSignature, Volatility};

use crate::error::EngineError;
use crate::row_fn::RowFn;

/// The UDF.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(RowFn::new(
        "to_char",
        Signature::one_of(vec![TypeSignature::Any(2)], Volatility::Immutable),
        datafusion::arrow::datatypes::DataType::Utf8,
        |a| {
            let format = match &a[1] {
                ScalarValue::Utf8(f) | ScalarValue::LargeUtf8(f) | ScalarValue::Utf8View(f) => {
                    f.clone()
                }
                ScalarValue::Null => None,
                other => {
                    return Err(unsupported(&format!(
                        "to_char with a {} format",
                        other.data_type()
                    )));
                }
            };
            let (Some(when), Some(format)) = (datetime(&a[0])?, format) else {
                return Ok(ScalarValue::Utf8(None));
            };
            Ok(ScalarValue::Utf8(Some(to_char(when, &format))))
        },
    ))
}

fn unsupported(what: &str) -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::Unsupported(what.to_owned())))
}

/// The value as a date and time (UTC for timestamptz, the server's zone), or None for NULL.
fn datetime(v: &ScalarValue) -> Result<Option<NaiveDateTime>> {
    let from_micros = |m: i64| DateTime::from_timestamp_micros(m).map(|d| d.naive_utc());
    Ok(match v {
        ScalarValue::TimestampSecond(t, _) => {
            t.and_then(|s| from_micros(s.saturating_mul(1_000_000)))
        }
        ScalarValue::TimestampMillisecond(t, _) => {
            t.and_then(|s| from_micros(s.saturating_mul(1_000)))
        }
        ScalarValue::TimestampMicrosecond(t, _) => t.and_then(from_micros),
        ScalarValue::TimestampNanosecond(t, _) => {
            t.map(|n| DateTime::from_timestamp_nanos(n).naive_utc())
        }
        ScalarValue::Date32(d) => d.and_then(|d| {
            chrono::NaiveDate::from_num_days_from_ce_opt(d.checked_add(719_163)?)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        }),
        ScalarValue::Null => None,
        other => {
            return Err(unsupported(&format!("to_char for {}", other.data_type())));
        }
    })
}

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Every template pattern this implements, longest first where one is a prefix of another.
pub(super) const PATTERNS: &[&str] = &[
    "HH24", "HH12", "HH", "MI", "SSSS", "SS", "MS", "US", "A.M.", "P.M.", "a.m.", "p.m.", "AM",
    "PM", "am", "pm", "IYYY", "YYYY", "YYY", "YY", "Y", "MONTH", "Month", "month", "MON", "Mon",
    "mon", "MM", "DAY", "Day", "day", "DY", "Dy", "dy", "DDD", "DD", "ID", "IW", "D", "WW", "W",
    "Q", "J", "CC",
];

/// Formats `when` by PostgreSQL's template `format`.
pub fn to_char(when: NaiveDateTime, format: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    let mut fill = false;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("FM").or_else(|| rest.strip_prefix("fm")) {
            fill = true;
            rest = r;
            continue;
        }
        if c == '"' {
            // Quoted text, `\"` a quote inside.
            let mut chars = rest[1..].char_indices();
            let mut end = rest.len();
            while let Some((i, ch)) = chars.next() {
                if ch == '\\' {
                    if let Some((_, next)) = chars.next() {
                        out.push(next);
                    }
                    continue;
                }
                if ch == '"' {
                    end = i + 2;
                    break;
                }
                out.push(ch);
            }
            rest = &rest[end.min(rest.len())..];
            fill = false;
            continue;
        }
        if c == '\\' {
            let mut chars = rest.chars();
            chars.next();
            if let Some(next) = chars.next() {
                out.push(next);
            }
            rest = chars.as_str();
            continue;
        }
        match PATTERNS.iter().find(|p| rest.starts_with(**p)) {
            Some(p) => {
                field(&mut out, when, p, fill);
                rest = &rest[p.len()..];
                fill = false;
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

fn number(out: &mut String, v: i64, width: usize, fill: bool) {
    if fill {
        out.push_str(&v.to_string());
    } else if v < 0 {
        out.push_str(&format!("-{:0width$}", -v, width = width));
    } else {
        out.push_str(&format!("{v:0width$}"));
    }
}

fn name(out: &mut String, full: &str, pattern: &str, fill: bool) {
    let abbreviated = matches!(pattern, "MON" | "Mon" | "mon" | "DY" | "Dy" | "dy");
    let base: String = if abbreviated {
        full.chars().take(3).collect()
    } else {
        full.to_owned()
    };
    let cased = if pattern.chars().all(|c| c.is_ascii_uppercase()) {
        base.to_ascii_uppercase()
    } else if pattern.chars().all(|c| c.is_ascii_lowercase()) {
        base.to_ascii_lowercase()
    } else {
        base
    };
    if abbreviated || fill {
        out.push_str(&cased);
    } else {
        out.push_str(&format!("{cased:<9}"));
    }
}

fn field(out: &mut String, t: NaiveDateTime, p: &str, fill: bool) {
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let pm = t.hour() >= 12;
    match p {
        "HH24" => number(out, t.hour().into(), 2, fill),
        "HH12" | "HH" => number(out, hour12.into(), 2, fill),
        "MI" => number(out, t.minute().into(), 2, fill),
        "SS" => number(out, t.second().into(), 2, fill),
        "SSSS" => number(out, t.num_seconds_from_midnight().into(), 0, true),
        "MS" => number(out, (t.nanosecond() / 1_000_000).into(), 3, fill),
        "US" => number(out, (t.nanosecond() / 1_000).into(), 6, fill),
        "AM" | "PM" => out.push_str(if pm { "PM" } else { "AM" }),
        "am" | "pm" => out.push_str(if pm { "pm" } else { "am" }),
        "A.M." | "P.M." => out.push_str(if pm { "P.M." } else { "A.M." }),
        "a.m." | "p.m." => out.push_str(if pm { "p.m." } else { "a.m." }),
        "YYYY" => number(out, t.year().into(), 4, fill),
        "YYY" => number(out, (t.year() % 1000).into(), 3, fill),
        "YY" => number(out, (t.year() % 100).into(), 2, fill),
        "Y" => number(out, (t.year() % 10).into(), 1, fill),
        "IYYY" => number(out, t.iso_week().year().into(), 4, fill),
        "MONTH" | "Month" | "month" | "MON" | "Mon" | "mon" => {
            name(out, MONTHS[t.month0() as usize], p, fill)
        }
        "MM" => number(out, t.month().into(), 2, fill),
        "DAY" | "Day" | "day" | "DY" | "Dy" | "dy" => name(
            out,
            DAYS[t.weekday().num_days_from_sunday() as usize],
            p,
            fill,
        ),
        "DDD" => number(out, t.ordinal().into(), 3, fill),
        "DD" => number(out, t.day().into(), 2, fill),
        "D" => number(
            out,
            (t.weekday().num_days_from_sunday() + 1).into(),
            1,
            fill,
        ),
        "ID" => number(out, t.weekday().number_from_monday().into(), 1, fill),
        "IW" => number(out, t.iso_week().week().into(), 2, fill),
        "WW" => number(out, ((t.ordinal() - 1) / 7 + 1).into(), 2, fill),
        "W" => number(out, ((t.day() - 1) / 7 + 1).into(), 1, fill),
        "Q" => number(out, (t.month0() / 3 + 1).into(), 1, fill),
        "J" => number(
            out,
            i64::from(t.date().num_days_from_ce()) + 1_721_425,
            1,
            fill,
        ),
        "CC" => number(
            out,
            if t.year() > 0 {
                (i64::from(t.year()) + 99) / 100
            } else {
                i64::from(t.year()) / 100 - 1
            },
            2,
            fill,
        ),
        _ => out.push_str(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").expect("timestamp")
    }

    #[test]
    fn postgres_templates() {
        let t = at("2026-03-07 14:05:09.123456");
        assert_eq!(to_char(t, "YYYY-MM-DD"), "2026-03-07");
        assert_eq!(to_char(t, "YYYY-MM-DD HH24:MI:SS"), "2026-03-07 14:05:09");
        assert_eq!(to_char(t, "Mon DD, YYYY"), "Mar 07, 2026");
        assert_eq!(to_char(t, "Month"), "March    ");
        assert_eq!(to_char(t, "FMMonth FMDD"), "March 7");
        assert_eq!(to_char(t, "HH12:MI AM"), "02:05 PM");
        assert_eq!(to_char(t, "Day Dy dy DAY"), "Saturday  Sat sat SATURDAY ");
        assert_eq!(to_char(t, "MS US"), "123 123456");
        assert_eq!(to_char(t, "\"Q\"Q WW IW DDD"), "Q1 10 10 066");
        assert_eq!(to_char(t, "J"), "2461107");
    }
}
