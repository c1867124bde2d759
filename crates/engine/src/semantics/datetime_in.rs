//! Text read as a date, timestamp or timestamptz by PostgreSQL's rules (`date_in`,
//! `timestamp_in`), where Arrow's cast differed:
//!
//! - `'2026-01-05 10:00'` (no seconds), `'2026-01-05T10:00:00Z'`, `'2026-01-05 10:00:00+02'`
//!   are read; a zone is ignored by `timestamp` and applied by `timestamptz`.
//! - `'epoch'`, `'now'`, `'today'`, `'tomorrow'`, `'yesterday'` are the special values;
//!   `'infinity'` is refused with 0A000 (Arrow has no infinite timestamps).
//! - A field out of range (`'2026-02-30'`) is 22008 "date/time field value out of range";
//!   text that is not a date at all is 22007 "invalid input syntax for type …".
//! - `24:00:00` is midnight of the next day and second 60 rolls over, as in PostgreSQL.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use datafusion::arrow::array::{Array, ArrayRef, Date32Builder, TimestampMicrosecondBuilder};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, ScalarValue, cast::as_string_array};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::EngineError;

/// What the text is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `date`
    Date,
    /// `timestamp` (a zone in the text is ignored)
    Timestamp,
    /// `timestamptz` (a zone in the text is applied; none means UTC, the session zone)
    TimestampTz,
}

impl Target {
    fn type_name(self) -> &'static str {
        match self {
            Target::Date => "date",
            Target::Timestamp => "timestamp",
            Target::TimestampTz => "timestamp with time zone",
        }
    }
}

fn fail(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Whether `text` is one of the special values that read the clock (`now`, `today`,
/// `tomorrow`, `yesterday`).
pub fn names_the_current_time(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "now" | "today" | "tomorrow" | "yesterday"
    )
}

/// `text` read as `target`: the local date-time and the zone offset in seconds, if written.
fn read(text: &str, target: Target) -> Result<(NaiveDateTime, Option<i32>)> {
    let syntax = || syntax_error(text, target);
    let range = || range_error(text);
    let t = text.trim();
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    match t.to_ascii_lowercase().as_str() {
        "epoch" => return Ok((midnight(NaiveDate::default()), None)),
        "now" => return Ok((Utc::now().naive_utc(), None)),
        "today" => return Ok((midnight(Utc::now().date_naive()), None)),
        "tomorrow" => return Ok((midnight(Utc::now().date_naive() + Duration::days(1)), None)),
        "yesterday" => return Ok((midnight(Utc::now().date_naive() - Duration::days(1)), None)),
        "infinity" | "+infinity" | "-infinity" => {
            return Err(fail(EngineError::Unsupported(format!(
                "infinite {} values",
                target.type_name()
            ))));
        }
        _ => {}
    }
    let number = |s: &str| field_number(s, text, target);
    // The date: YYYY-MM-DD.
    let (date, rest) = t.split_at(t.find([' ', 'T', 't']).unwrap_or(t.len()));
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(syntax());
    };
    if y.len() < 4 {
        return Err(syntax());
    }
    let (y, m, d) = (number(y)?, number(m)?, number(d)?);
    let date = i32::try_from(y)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
        .ok_or_else(range)?;
    let rest = rest.get(1..).unwrap_or("").trim_start();
    if rest.is_empty() {
        return Ok((midnight(date), None));
    }
    // The time: HH:MM[:SS[.ffffff]], then an optional zone.
    let zone_at = rest.find(['+', '-', 'Z', 'z', ' ']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let mut fields = time.split(':');
    let (Some(h), Some(mi)) = (fields.next(), fields.next()) else {
        return Err(syntax());
    };
    let (s, frac) = match fields.next() {
        Some(s) => match s.split_once('.') {
            Some((s, f)) => (s, f),
            None => (s, ""),
        },
        None => ("0", ""),
    };
    if fields.next().is_some() {
        return Err(syntax());
    }
    let (h, mi, s) = (number(h)?, number(mi)?, number(s)?);
    if !frac.is_empty() && !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    // Microseconds, rounded half up from any further digits.
    let mut micros: i64 = 0;
    for (i, digit) in frac.bytes().take(7).enumerate() {
        let digit = i64::from(digit - b'0');
        if i < 6 {
            micros = micros * 10 + digit;
        } else if digit >= 5 {
            micros += 1;
        }
    }
    for _ in frac.len()..6 {
        micros *= 10;
    }
    let over_midnight = h == 24 && mi == 0 && s == 0 && micros == 0;
    if (h > 23 && !over_midnight) || mi > 59 || s > 60 {
        return Err(range());
    }
    let stamp = midnight(date)
        + Duration::hours(i64::from(h))
        + Duration::minutes(i64::from(mi))
        + Duration::seconds(i64::from(s))
        + Duration::microseconds(micros);
    let offset = zone_offset(zone.trim(), text, target)?;
    Ok((stamp, offset))
}

/// The offset in seconds east of UTC that `zone` (the end of `text`) writes, if any.
fn zone_offset(zone: &str, text: &str, target: Target) -> Result<Option<i32>> {
    let syntax = || syntax_error(text, target);
    let range = || range_error(text);
    let number = |s: &str| field_number(s, text, target);
    Ok(match zone {
        "" => None,
        "Z" | "z" => Some(0),
        z if z.eq_ignore_ascii_case("utc") || z.eq_ignore_ascii_case("gmt") => Some(0),
        z => {
            let (sign, digits) = if let Some(d) = z.strip_prefix('+') {
                (1, d)
            } else if let Some(d) = z.strip_prefix('-') {
                (-1, d)
            } else {
                return Err(syntax());
            };
            let (zh, zm) = match digits.split_once(':') {
                Some((zh, zm)) => (number(zh)?, number(zm)?),
                // Four ASCII digits: HHMM (anything else fails in `number`).
                None if digits.len() == 4 && digits.is_ascii() => {
                    (number(&digits[..2])?, number(&digits[2..])?)
                }
                None => (number(digits)?, 0),
            };
            if zh > 15 || zm > 59 {
                return Err(range());
            }
            Some(sign * i32::try_from(zh * 3600 + zm * 60).map_err(|_| range())?)
        }
    })
}

/// The error for `text` that does not read as `target`.
fn syntax_error(text: &str, target: Target) -> DataFusionError {
    fail(EngineError::InvalidDatetimeFormat(format!(
        "invalid input syntax for type {}: \"{text}\"",
        target.type_name()
    )))
}

/// The error for `text` whose fields are out of range.
fn range_error(text: &str) -> DataFusionError {
    fail(EngineError::DatetimeOverflow(format!(
        "date/time field value out of range: \"{text}\""
    )))
}

/// A field `s` of `text` as a number: one to nine ASCII digits.
fn field_number(s: &str, text: &str, target: Target) -> Result<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 9 {
        return Err(syntax_error(text, target));
    }
    s.parse().map_err(|_| syntax_error(text, target))
}

fn micros_of(stamp: NaiveDateTime) -> i64 {
    stamp.and_utc().timestamp_micros()
}

/// `text` read as a value of `target` when that is a date or timestamp type (a parameter
/// sent as text); `None` for other types.
pub fn read_scalar(text: &str, target: &DataType) -> Result<Option<ScalarValue>, EngineError> {
    let unwrap = |e: DataFusionError| match e {
        DataFusionError::External(inner) => match inner.downcast::<EngineError>() {
            Ok(e) => *e,
            Err(other) => EngineError::InvalidTextRepresentation(other.to_string()),
        },
        other => EngineError::InvalidTextRepresentation(other.to_string()),
    };
    let kind = match target {
        DataType::Date32 => Target::Date,
        DataType::Timestamp(_, None) => Target::Timestamp,
        DataType::Timestamp(_, Some(_)) => Target::TimestampTz,
        _ => return Ok(None),
    };
    let (stamp, offset) = read(text, kind).map_err(unwrap)?;
    let value = match kind {
        Target::Date => ScalarValue::Date32(Some(
            i32::try_from(
                stamp
                    .date()
                    .signed_duration_since(NaiveDate::default())
                    .num_days(),
            )
            .map_err(|_| EngineError::DatetimeOverflow(format!("date out of range: \"{text}\"")))?,
        )),
        Target::Timestamp => ScalarValue::TimestampMicrosecond(Some(micros_of(stamp)), None),
        Target::TimestampTz => ScalarValue::TimestampMicrosecond(
            Some(micros_of(stamp) - i64::from(offset.unwrap_or(0)) * 1_000_000),
            Some(super::SESSION_ZONE.into()),
        ),
    };
    value.cast_to(target).map(Some).map_err(unwrap)
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DatetimeIn {
    target: Target,
    signature: Signature,
}

impl DatetimeIn {
    /// The input function for `target`.
    pub fn new(target: Target) -> Self {
        DatetimeIn {
            target,
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for DatetimeIn {
    fn name(&self) -> &str {
        match self.target {
            Target::Date => "__pg_date_in",
            Target::Timestamp => "__pg_timestamp_in",
            Target::TimestampTz => "__pg_timestamptz_in",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.target {
            Target::Date => DataType::Date32,
            Target::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Target::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(super::SESSION_ZONE.into()))
            }
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = super::arguments(&args)?;
        let texts = datafusion::arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let texts = as_string_array(&texts)?;
        let out: ArrayRef = match self.target {
            Target::Date => {
                let mut b = Date32Builder::with_capacity(texts.len());
                for t in texts.iter() {
                    match t {
                        None => b.append_null(),
                        Some(t) => {
                            let (stamp, _) = read(t, self.target)?;
                            let days = stamp
                                .date()
                                .signed_duration_since(NaiveDate::default())
                                .num_days();
                            b.append_value(i32::try_from(days).map_err(|_| {
                                fail(EngineError::DatetimeOverflow(format!(
                                    "date out of range: \"{t}\""
                                )))
                            })?);
                        }
                    }
                }
                Arc::new(b.finish())
            }
            Target::Timestamp | Target::TimestampTz => {
                let mut b = TimestampMicrosecondBuilder::with_capacity(texts.len());
                for t in texts.iter() {
                    match t {
                        None => b.append_null(),
                        Some(t) => {
                            let (stamp, offset) = read(t, self.target)?;
                            let mut micros = micros_of(stamp);
                            if self.target == Target::TimestampTz {
                                micros -= i64::from(offset.unwrap_or(0)) * 1_000_000;
                            }
                            b.append_value(micros);
                        }
                    }
                }
                let out = b.finish();
                if self.target == Target::TimestampTz {
                    Arc::new(out.with_timezone(super::SESSION_ZONE))
                } else {
                    Arc::new(out)
                }
            }
        };
        super::answer(out, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(t: &str) -> String {
        let (s, offset) = read(t, Target::Timestamp).expect("reads");
        format!("{s} {offset:?}")
    }

    #[test]
    fn timestamps_read_like_postgres() {
        assert_eq!(stamp("2026-01-05 10:00"), "2026-01-05 10:00:00 None");
        assert_eq!(
            stamp(" 2026-01-05T10:00:01.5Z "),
            "2026-01-05 10:00:01.500 Some(0)"
        );
        assert_eq!(
            stamp("2026-01-05 10:00:00+05:30"),
            "2026-01-05 10:00:00 Some(19800)"
        );
        assert_eq!(
            stamp("2026-01-05 10:00:00-0800"),
            "2026-01-05 10:00:00 Some(-28800)"
        );
        assert_eq!(stamp("2026-01-05 24:00:00"), "2026-01-06 00:00:00 None");
        assert_eq!(stamp("2026-01-05"), "2026-01-05 00:00:00 None");
        assert_eq!(stamp("epoch"), "1970-01-01 00:00:00 None");
        assert_eq!(
            stamp("2026-01-05 10:00:00.0000005"),
            "2026-01-05 10:00:00.000001 None"
        );
    }

    #[test]
    fn bad_input_is_refused_with_the_right_kind() {
        let kind = |t: &str| match read(t, Target::Timestamp) {
            Err(DataFusionError::External(e)) => match e.downcast_ref::<EngineError>() {
                Some(EngineError::DatetimeOverflow(_)) => "22008",
                Some(EngineError::InvalidDatetimeFormat(_)) => "22007",
                Some(EngineError::Unsupported(_)) => "0A000",
                _ => "other",
            },
            _ => "read",
        };
        assert_eq!(kind("2026-02-30"), "22008");
        assert_eq!(kind("2026-13-01"), "22008");
        assert_eq!(kind("2026-01-05 25:00"), "22008");
        assert_eq!(kind("not a date"), "22007");
        assert_eq!(kind("2026-01"), "22007");
        assert_eq!(kind("2026-01-05 10"), "22007");
        assert_eq!(kind("infinity"), "0A000");
        // Non-ASCII where a zone is read is refused, not a panic.
        assert_eq!(kind("2026-01-05 10:00 é"), "22007");
        assert_eq!(kind("2026-01-05 10:00+a€"), "22007");
        assert_eq!(kind("2026-01-05 10:00+€"), "22007");
    }
}
