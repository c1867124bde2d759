//! Arrow values to PostgreSQL DataRow bytes, in text or binary format, straight into the row
//! buffer.
//!
//! Text output follows PostgreSQL's own output functions (booleans as `t`/`f`, ISO timestamps,
//! `{a,b}` arrays); binary output follows each type's `*send` function (big-endian integers,
//! microseconds since 2000-01-01 for timestamps, hstore's count-prefixed pairs).

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Float16Type, Float32Type, Float64Type,
    Int8Type, Int16Type, Int32Type, Int64Type, IntervalDayTimeType, IntervalMonthDayNanoType,
    IntervalUnit, IntervalYearMonthType, TimeUnit, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use pgwire::api::Type;
use pgwire::api::results::FieldFormat;
use pgwire::messages::data::DataRow;

use crate::numeric::{decimal_text, numeric_binary};
use stagesql_engine::functions::hstore::parse_hstore;

use stagesql_engine::pg_types::HSTORE_OID;

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between the Unix epoch and PostgreSQL's epoch.
const PG_EPOCH_DAYS: i32 = 10_957;

/// How one result column is sent.
#[derive(Debug, Clone)]
pub struct ColumnFormat {
    /// Its PostgreSQL type.
    pub pg_type: Type,
    /// Text or binary.
    pub format: FieldFormat,
}

/// Why a value could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode a value of column {column}: {reason}")]
pub struct EncodeError {
    /// 0-based column.
    pub column: usize,
    /// What went wrong.
    pub reason: String,
}

/// Encodes every row of `batch` as DataRows.
pub fn encode_batch(
    batch: &RecordBatch,
    columns: &[ColumnFormat],
) -> Result<Vec<DataRow>, EncodeError> {
    let arrays = batch.columns();
    let field_count = i16::try_from(arrays.len()).map_err(|_| EncodeError {
        column: 0,
        reason: "more than 32767 columns".to_owned(),
    })?;
    let mut rows = Vec::with_capacity(batch.num_rows());
    // One allocation for the whole batch, split off row by row: growing a small buffer per
    // row (and copying it each time) cost more than encoding.
    let mut buf = BytesMut::with_capacity(encoded_size_hint(batch));
    let mut text = String::new();
    for row in 0..batch.num_rows() {
        for (col, (array, fmt)) in arrays.iter().zip(columns).enumerate() {
            encode_value(array, row, fmt, &mut buf, &mut text).map_err(|reason| EncodeError {
                column: col,
                reason,
            })?;
        }
        rows.push(DataRow::new(buf.split(), field_count));
    }
    Ok(rows)
}

/// About how many bytes the rows of `batch` take as DataRow bodies: string bytes exactly (a
/// slice of a large batch counts only its own rows), other values at 24 bytes.
fn encoded_size_hint(batch: &RecordBatch) -> usize {
    let rows = batch.num_rows();
    batch
        .columns()
        .iter()
        .map(|a| {
            let values = match a.data_type() {
                DataType::Utf8 => {
                    let offsets = a.as_string::<i32>().value_offsets();
                    offsets
                        .last()
                        .map_or(0, |end| (*end - offsets[0]).max(0) as usize)
                }
                _ => rows * 24,
            };
            values + rows * 4
        })
        .sum::<usize>()
        .min(64 << 20)
        + 256
}

/// `int2vector`.
const INT2VECTOR_OID: u32 = 22;
/// `oidvector`.
const OIDVECTOR_OID: u32 = 30;

fn encode_value(
    array: &ArrayRef,
    row: usize,
    fmt: &ColumnFormat,
    buf: &mut BytesMut,
    scratch: &mut String,
) -> Result<(), String> {
    // A NullArray (the type of a bare NULL) has no validity bitmap: every value is NULL.
    if array.is_null(row) || array.data_type() == &DataType::Null {
        buf.put_i32(-1);
        return Ok(());
    }
    let len_at = buf.len();
    buf.put_i32(0);
    match fmt.format {
        FieldFormat::Text if matches!(fmt.pg_type.oid(), INT2VECTOR_OID | OIDVECTOR_OID) => {
            // int2vector/oidvector print as space-separated items: `1 2`.
            scratch.clear();
            let items = list_value(array, row);
            let mut item = String::new();
            for i in 0..items.len() {
                if i > 0 {
                    scratch.push(' ');
                }
                item.clear();
                write_text(&items, i, &mut item)?;
                scratch.push_str(&item);
            }
            buf.put_slice(scratch.as_bytes());
        }
        // Text straight from the array, without the scratch copy (most columns are text).
        FieldFormat::Text if array.data_type() == &DataType::Utf8 => {
            buf.put_slice(array.as_string::<i32>().value(row).as_bytes());
        }
        FieldFormat::Text => {
            scratch.clear();
            write_text(array, row, scratch)?;
            buf.put_slice(scratch.as_bytes());
        }
        FieldFormat::Binary => write_binary(array, row, &fmt.pg_type, buf, scratch)?,
    }
    let len = i32::try_from(buf.len() - len_at - 4).map_err(|_| "value over 2 GiB".to_owned())?;
    buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// PostgreSQL text output of one non-null value.
pub fn write_text(array: &ArrayRef, row: usize, out: &mut String) -> Result<(), String> {
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
                write_text(&items, i, &mut item)?;
                array_item_text(&item, out);
            }
            out.push('}');
        }
        DataType::Interval(_) | DataType::Duration(_) => interval_text(array, row, out)?,
        _ => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
                .map_err(|e| e.to_string())?;
            w(write!(out, "{}", formatter.value(row)))?;
        }
    }
    Ok(())
}

/// float8out with extra_float_digits >= 1: the shortest text that reads back exactly.
fn float_text(v: f64, out: &mut String) {
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

fn timestamp_micros(array: &ArrayRef, row: usize, unit: &TimeUnit) -> i64 {
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
fn push_ymd(d: NaiveDate, out: &mut String) -> bool {
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
fn push_digits(n: u32, width: u32, out: &mut String) {
    for i in (0..width).rev() {
        let digit = (n / 10u32.pow(i)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

fn push_fraction(us: i64, out: &mut String) {
    if us != 0 {
        let frac = format!("{us:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

fn date_text(days: i32, out: &mut String) -> Result<(), String> {
    let d = NaiveDate::from_num_days_from_ce_opt(days + 719_163)
        .ok_or_else(|| format!("date out of range: {days}"))?;
    if !push_ymd(d, out) {
        let _ = write!(out, "{}", d.format("%Y-%m-%d"));
    }
    Ok(())
}

fn interval_parts(array: &ArrayRef, row: usize) -> (i32, i32, i64) {
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

/// IntervalStyle `postgres`: `1 year 2 mons 3 days 04:05:06.5`.
fn interval_text(array: &ArrayRef, row: usize, out: &mut String) -> Result<(), String> {
    let (months, days, micros) = interval_parts(array, row);
    let mut parts = Vec::new();
    let (years, mons) = (months / 12, months % 12);
    let unit = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if years != 0 {
        parts.push(unit(i64::from(years), "year", "years"));
    }
    if mons != 0 {
        parts.push(unit(i64::from(mons), "mon", "mons"));
    }
    if days != 0 {
        parts.push(unit(i64::from(days), "day", "days"));
    }
    if micros != 0 || parts.is_empty() {
        let sign = if micros < 0 { "-" } else { "" };
        let abs = micros.unsigned_abs();
        let secs = abs / 1_000_000;
        let mut s = format!(
            "{sign}{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        push_fraction(i64::try_from(abs % 1_000_000).unwrap_or(0), &mut s);
        parts.push(s);
    }
    out.push_str(&parts.join(" "));
    Ok(())
}

/// One array element in `{...}` text, quoted when PostgreSQL would quote it.
fn array_item_text(item: &str, out: &mut String) {
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

fn binary_value(array: &ArrayRef, row: usize) -> &[u8] {
    match array.data_type() {
        DataType::Binary => array.as_binary::<i32>().value(row),
        DataType::LargeBinary => array.as_binary::<i64>().value(row),
        DataType::BinaryView => array.as_binary_view().value(row),
        DataType::FixedSizeBinary(_) => array.as_fixed_size_binary().value(row),
        _ => &[],
    }
}

fn list_value(array: &ArrayRef, row: usize) -> ArrayRef {
    match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().value(row),
        DataType::LargeList(_) => array.as_list::<i64>().value(row),
        _ => array.as_fixed_size_list().value(row),
    }
}

/// PostgreSQL binary (`*send`) output of one non-null value of type `ty`.
fn write_binary(
    array: &ArrayRef,
    row: usize,
    ty: &Type,
    buf: &mut BytesMut,
    scratch: &mut String,
) -> Result<(), String> {
    let dt = array.data_type();
    match *ty {
        Type::BOOL => buf.put_u8(u8::from(array.as_boolean().value(row))),
        Type::INT2 => {
            buf.put_i16(i16::try_from(int_value(array, row)?).map_err(|e| e.to_string())?)
        }
        Type::INT4 => {
            buf.put_i32(i32::try_from(int_value(array, row)?).map_err(|e| e.to_string())?)
        }
        Type::INT8 => buf.put_i64(int_value(array, row)?),
        Type::OID => buf.put_u32(u32::try_from(int_value(array, row)?).map_err(|e| e.to_string())?),
        Type::FLOAT4 => match dt {
            DataType::Float16 => {
                buf.put_f32(f32::from(array.as_primitive::<Float16Type>().value(row)))
            }
            _ => buf.put_f32(array.as_primitive::<Float32Type>().value(row)),
        },
        Type::FLOAT8 => buf.put_f64(array.as_primitive::<Float64Type>().value(row)),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let DataType::Timestamp(unit, _) = dt else {
                return Err(format!("{dt} is not a timestamp"));
            };
            buf.put_i64(timestamp_micros(array, row, unit) - PG_EPOCH_MICROS);
        }
        Type::DATE => {
            scratch.clear();
            let days = match dt {
                DataType::Date32 => array.as_primitive::<Date32Type>().value(row),
                DataType::Date64 => i32::try_from(
                    array
                        .as_primitive::<Date64Type>()
                        .value(row)
                        .div_euclid(86_400_000),
                )
                .map_err(|e| e.to_string())?,
                _ => return Err(format!("{dt} is not a date")),
            };
            buf.put_i32(days - PG_EPOCH_DAYS);
        }
        Type::TIME => {
            scratch.clear();
            write_text(array, row, scratch)?;
            let t = NaiveTime::parse_from_str(scratch, "%H:%M:%S%.f").map_err(|e| e.to_string())?;
            let micros = i64::from(chrono::Timelike::num_seconds_from_midnight(&t)) * 1_000_000
                + i64::from(chrono::Timelike::nanosecond(&t) / 1_000);
            buf.put_i64(micros);
        }
        Type::INTERVAL => {
            let (months, days, micros) = interval_parts(array, row);
            buf.put_i64(micros);
            buf.put_i32(days);
            buf.put_i32(months);
        }
        Type::NUMERIC => {
            scratch.clear();
            match dt {
                DataType::Decimal128(_, scale) => {
                    let v = array.as_primitive::<Decimal128Type>().value(row);
                    decimal_text(v, *scale, scratch);
                }
                _ => write_text(array, row, scratch)?,
            }
            numeric_binary(scratch, buf)?;
        }
        Type::BYTEA => buf.put_slice(binary_value(array, row)),
        Type::JSONB => {
            // jsonb's binary form is a version byte (1), then the text.
            scratch.clear();
            write_text(array, row, scratch)?;
            buf.put_u8(1);
            buf.put_slice(scratch.as_bytes());
        }
        Type::CHAR => {
            // "char" is one byte on the wire; an empty flag is the zero byte.
            scratch.clear();
            write_text(array, row, scratch)?;
            buf.put_u8(scratch.as_bytes().first().copied().unwrap_or(0));
        }
        _ if ty.oid() == HSTORE_OID => {
            let text = array_text(array, row, scratch)?;
            let h = parse_hstore(&text).map_err(|e| e.to_string())?;
            buf.put_i32(i32::try_from(h.len()).map_err(|e| e.to_string())?);
            for (k, v) in &h {
                put_len_bytes(buf, Some(k.as_bytes()))?;
                put_len_bytes(buf, v.as_deref().map(str::as_bytes))?;
            }
        }
        _ if matches!(
            dt,
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)
        ) =>
        {
            let items = list_value(array, row);
            let elem_type = element_type(ty);
            buf.put_i32(1);
            buf.put_i32(i32::from(items.null_count() > 0));
            buf.put_u32(elem_type.oid());
            buf.put_i32(i32::try_from(items.len()).map_err(|e| e.to_string())?);
            buf.put_i32(1);
            let fmt = ColumnFormat {
                pg_type: elem_type,
                format: FieldFormat::Binary,
            };
            let mut inner = String::new();
            for i in 0..items.len() {
                encode_value(&items, i, &fmt, buf, &mut inner)?;
            }
        }
        // text, varchar, name, json and everything we send as text: the binary form is the text.
        _ => {
            scratch.clear();
            write_text(array, row, scratch)?;
            buf.put_slice(scratch.as_bytes());
        }
    }
    Ok(())
}

fn array_text(array: &ArrayRef, row: usize, scratch: &mut String) -> Result<String, String> {
    scratch.clear();
    write_text(array, row, scratch)?;
    Ok(scratch.clone())
}

fn put_len_bytes(buf: &mut BytesMut, bytes: Option<&[u8]>) -> Result<(), String> {
    match bytes {
        None => buf.put_i32(-1),
        Some(b) => {
            buf.put_i32(i32::try_from(b.len()).map_err(|e| e.to_string())?);
            buf.put_slice(b);
        }
    }
    Ok(())
}

fn element_type(array_type: &Type) -> Type {
    match array_type.kind() {
        postgres_types::Kind::Array(elem) => elem.clone(),
        _ => Type::TEXT,
    }
}

fn int_value(array: &ArrayRef, row: usize) -> Result<i64, String> {
    Ok(match array.data_type() {
        DataType::Int8 => i64::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => i64::from(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => i64::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row),
        DataType::UInt8 => i64::from(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => i64::from(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => i64::from(array.as_primitive::<UInt32Type>().value(row)),
        other => return Err(format!("{other} is not an integer")),
    })
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
