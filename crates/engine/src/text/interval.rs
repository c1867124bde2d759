//! Interval output in each of PostgreSQL's IntervalStyles, as `EncodeInterval`
//! (`src/backend/utils/adt/datetime.c`) prints them. ActiveRecord sets `iso_8601` on connect
//! and parses what it reads back; psql users may set `sql_standard` or `postgres_verbose`.

use std::fmt::Write as _;

use datafusion::arrow::array::ArrayRef;

use super::interval_parts;

/// The values of the IntervalStyle setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntervalStyle {
    /// `1 year 2 mons 3 days 04:05:06.5` (the default).
    #[default]
    Postgres,
    /// `@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs`.
    PostgresVerbose,
    /// `+1-2 +3 +4:05:06.5`. Printed here, but `SET intervalstyle = sql_standard` is refused:
    /// that style also changes how interval literals are read, which the parser does not follow.
    SqlStandard,
    /// `P1Y2M3DT4H5M6.5S`.
    Iso8601,
}

impl IntervalStyle {
    /// The style a setting's (canonical, lower-case) value names; `None` for anything else.
    pub fn from_setting(value: &str) -> Option<IntervalStyle> {
        match value.to_ascii_lowercase().as_str() {
            "postgres" => Some(IntervalStyle::Postgres),
            "postgres_verbose" => Some(IntervalStyle::PostgresVerbose),
            "sql_standard" => Some(IntervalStyle::SqlStandard),
            "iso_8601" => Some(IntervalStyle::Iso8601),
            _ => None,
        }
    }
}

/// An interval's fields as PostgreSQL splits them (`interval2itm`): each field keeps the sign
/// of the part it comes from (months, days or time), truncated toward zero.
struct Fields {
    year: i64,
    mon: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    fsec: i64,
}

impl Fields {
    fn new(months: i32, days: i32, micros: i64) -> Fields {
        let months = i64::from(months);
        Fields {
            year: months / 12,
            mon: months % 12,
            day: i64::from(days),
            hour: micros / 3_600_000_000,
            min: (micros % 3_600_000_000) / 60_000_000,
            sec: (micros % 60_000_000) / 1_000_000,
            fsec: micros % 1_000_000,
        }
    }

    fn time_is_zero(&self) -> bool {
        self.hour == 0 && self.min == 0 && self.sec == 0 && self.fsec == 0
    }
}

/// The interval in `array` at `row`, in `style`.
pub fn interval_text(
    array: &ArrayRef,
    row: usize,
    style: IntervalStyle,
    out: &mut String,
) -> Result<(), String> {
    let (months, days, micros) = interval_parts(array, row);
    format_interval(months, days, micros, style, out);
    Ok(())
}

/// `AppendSeconds`: whole seconds (two digits when `fill`), then up to six fraction digits
/// without trailing zeros; signs are the caller's.
fn seconds(sec: i64, fsec: i64, fill: bool, out: &mut String) {
    if fill {
        let _ = write!(out, "{:02}", sec.unsigned_abs());
    } else {
        let _ = write!(out, "{}", sec.unsigned_abs());
    }
    if fsec != 0 {
        let frac = format!("{:06}", fsec.unsigned_abs());
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// Writes the interval of `months`, `days` and `micros` in `style`.
pub fn format_interval(
    months: i32,
    days: i32,
    micros: i64,
    style: IntervalStyle,
    out: &mut String,
) {
    let f = Fields::new(months, days, micros);
    match style {
        IntervalStyle::Postgres => postgres(&f, out),
        IntervalStyle::PostgresVerbose => verbose(&f, out),
        IntervalStyle::SqlStandard => sql_standard(&f, out),
        IntervalStyle::Iso8601 => iso_8601(&f, out),
    }
}

fn postgres(f: &Fields, out: &mut String) {
    let mut is_zero = true;
    let mut is_before = false;
    // Each nonzero field sets is_before for the next one only, as PostgreSQL does.
    for (value, unit) in [(f.year, "year"), (f.mon, "mon"), (f.day, "day")] {
        if value == 0 {
            continue;
        }
        let _ = write!(
            out,
            "{}{}{value} {unit}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            if value == 1 { "" } else { "s" }
        );
        is_before = value < 0;
        is_zero = false;
    }
    if is_zero || !f.time_is_zero() {
        let minus = f.hour < 0 || f.min < 0 || f.sec < 0 || f.fsec < 0;
        let _ = write!(
            out,
            "{}{}{:02}:{:02}:",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            f.hour.unsigned_abs(),
            f.min.unsigned_abs()
        );
        seconds(f.sec, f.fsec, true, out);
    }
}

fn verbose(f: &Fields, out: &mut String) {
    out.push('@');
    let mut is_zero = true;
    let mut is_before = false;
    let units = [
        (f.year, "year"),
        (f.mon, "mon"),
        (f.day, "day"),
        (f.hour, "hour"),
        (f.min, "min"),
    ];
    for (value, unit) in units {
        if value == 0 {
            continue;
        }
        // The first nonzero field decides "ago"; later ones print relative to it.
        let shown = if is_zero {
            is_before = value < 0;
            value.abs()
        } else if is_before {
            -value
        } else {
            value
        };
        let _ = write!(out, " {shown} {unit}{}", if shown == 1 { "" } else { "s" });
        is_zero = false;
    }
    if f.sec != 0 || f.fsec != 0 {
        out.push(' ');
        if f.sec < 0 || (f.sec == 0 && f.fsec < 0) {
            if is_zero {
                is_before = true;
            } else if !is_before {
                out.push('-');
            }
        } else if is_before {
            out.push('-');
        }
        seconds(f.sec, f.fsec, false, out);
        let plural = f.sec.abs() != 1 || f.fsec != 0;
        let _ = write!(out, " sec{}", if plural { "s" } else { "" });
        is_zero = false;
    }
    if is_zero {
        out.push_str(" 0");
    }
    if is_before {
        out.push_str(" ago");
    }
}

fn sql_standard(f: &Fields, out: &mut String) {
    let all = [f.year, f.mon, f.day, f.hour, f.min, f.sec, f.fsec];
    let has_negative = all.iter().any(|v| *v < 0);
    let has_positive = all.iter().any(|v| *v > 0);
    let has_year_month = f.year != 0 || f.mon != 0;
    let has_day_time = f.day != 0 || !f.time_is_zero();
    let mixed_signs = has_negative && has_positive;
    let standard = !(mixed_signs || has_year_month && has_day_time);
    if !has_negative && !has_positive {
        out.push('0');
        return;
    }
    if !standard {
        let sign = |negative: bool| if negative { '-' } else { '+' };
        let _ = write!(
            out,
            "{}{}-{} {}{} {}{}:{:02}:",
            sign(f.year < 0 || f.mon < 0),
            f.year.unsigned_abs(),
            f.mon.unsigned_abs(),
            sign(f.day < 0),
            f.day.unsigned_abs(),
            sign(f.hour < 0 || f.min < 0 || f.sec < 0 || f.fsec < 0),
            f.hour.unsigned_abs(),
            f.min.unsigned_abs()
        );
        seconds(f.sec, f.fsec, true, out);
        return;
    }
    // One sign for the whole value, then the magnitudes.
    if has_negative {
        out.push('-');
    }
    let abs = |v: i64| v.unsigned_abs();
    if has_year_month {
        let _ = write!(out, "{}-{}", abs(f.year), abs(f.mon));
    } else if f.day != 0 {
        let _ = write!(out, "{} {}:{:02}:", abs(f.day), abs(f.hour), abs(f.min));
        seconds(f.sec, f.fsec, true, out);
    } else {
        let _ = write!(out, "{}:{:02}:", abs(f.hour), abs(f.min));
        seconds(f.sec, f.fsec, true, out);
    }
}

fn iso_8601(f: &Fields, out: &mut String) {
    if f.year == 0 && f.mon == 0 && f.day == 0 && f.time_is_zero() {
        out.push_str("PT0S");
        return;
    }
    out.push('P');
    let part = |value: i64, unit: char, out: &mut String| {
        if value != 0 {
            let _ = write!(out, "{value}{unit}");
        }
    };
    part(f.year, 'Y', out);
    part(f.mon, 'M', out);
    part(f.day, 'D', out);
    if !f.time_is_zero() {
        out.push('T');
    }
    part(f.hour, 'H', out);
    part(f.min, 'M', out);
    if f.sec != 0 || f.fsec != 0 {
        if f.sec < 0 || f.fsec < 0 {
            out.push('-');
        }
        seconds(f.sec, f.fsec, false, out);
        out.push('S');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    fn show(months: i32, days: i32, micros: i64, style: IntervalStyle) -> String {
        let mut out = String::new();
        format_interval(months, days, micros, style, &mut out);
        out
    }

    // Each expected text is what PostgreSQL 15 prints for the same interval and style.
    #[test]
    fn postgres_style_marks_a_positive_field_after_a_negative_one() {
        let s = IntervalStyle::Postgres;
        assert_eq!(
            show(14, 3, 4 * HOUR + 5 * 60_000_000 + 6_500_000, s),
            "1 year 2 mons 3 days 04:05:06.5"
        );
        assert_eq!(show(0, -1, 2 * HOUR, s), "-1 days +02:00:00");
        assert_eq!(show(0, 1, -2 * HOUR, s), "1 day -02:00:00");
        assert_eq!(show(-13, 0, 0, s), "-1 years -1 mons");
        assert_eq!(show(0, 0, 0, s), "00:00:00");
        assert_eq!(show(0, 0, -1_500_000, s), "-00:00:01.5");
    }

    #[test]
    fn iso_8601_style() {
        let s = IntervalStyle::Iso8601;
        assert_eq!(
            show(14, 3, 4 * HOUR + 5 * 60_000_000 + 6_500_000, s),
            "P1Y2M3DT4H5M6.5S"
        );
        assert_eq!(show(0, 0, 0, s), "PT0S");
        assert_eq!(show(0, -1, 2 * HOUR, s), "P-1DT2H");
        assert_eq!(show(0, 0, -1_500_000, s), "PT-1.5S");
        assert_eq!(show(-1, 0, 0, s), "P-1M");
    }

    #[test]
    fn sql_standard_style() {
        let s = IntervalStyle::SqlStandard;
        assert_eq!(
            show(14, 3, 4 * HOUR + 5 * 60_000_000 + 6_500_000, s),
            "+1-2 +3 +4:05:06.5"
        );
        assert_eq!(show(14, 0, 0, s), "1-2");
        assert_eq!(show(-14, 0, 0, s), "-1-2");
        assert_eq!(show(0, 3, 4 * HOUR, s), "3 4:00:00");
        assert_eq!(show(0, 0, -(4 * HOUR), s), "-4:00:00");
        assert_eq!(show(0, 0, 0, s), "0");
        assert_eq!(show(0, -1, 2 * HOUR, s), "+0-0 -1 +2:00:00");
    }

    #[test]
    fn postgres_verbose_style() {
        let s = IntervalStyle::PostgresVerbose;
        assert_eq!(
            show(14, 3, 4 * HOUR + 5 * 60_000_000 + 6_500_000, s),
            "@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs"
        );
        assert_eq!(show(0, -1, 2 * HOUR, s), "@ 1 day -2 hours ago");
        assert_eq!(show(0, 0, 0, s), "@ 0");
        assert_eq!(show(0, 0, -1_000_000, s), "@ 1 sec ago");
        assert_eq!(show(0, 0, 60_000_000, s), "@ 1 min");
    }
}
