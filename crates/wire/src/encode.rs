//! Arrow values to PostgreSQL DataRow bytes, in text or binary format, straight into the row
//! buffer.
//!
//! Text output follows PostgreSQL's own output functions (booleans as `t`/`f`, ISO timestamps,
//! `{a,b}` arrays); binary output follows each type's `*send` function (big-endian integers,
//! microseconds since 2000-01-01 for timestamps, hstore's count-prefixed pairs).

use bytes::{BufMut, BytesMut};
use chrono::NaiveTime;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Float16Type, Float32Type, Float64Type,
    Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use pgwire::api::Type;
use pgwire::api::results::FieldFormat;
use pgwire::messages::data::DataRow;

use crate::numeric::{decimal_text, numeric_binary};
use stagesql_engine::values::parse_hstore;

use stagesql_engine::values::HSTORE_OID;
pub use stagesql_engine::values::write_text;
use stagesql_engine::values::{IntervalStyle, write_text_styled};
use stagesql_engine::values::{
    TimestampText, binary_value, interval_parts, list_value, timestamp_micros, timestamp_text_zoned,
};
#[cfg(test)]
use stagesql_engine::values::{array_item_text, float_text, timestamp_text};

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
    /// How an interval prints in text (the session's IntervalStyle).
    pub interval_style: IntervalStyle,
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
    let field_count = field_count(batch)?;
    let (buf, ends) = encode_batch_flat(batch, columns)?;
    Ok(split_rows(buf, ends, field_count))
}

/// DataRows of `field_count` fields from row bodies laid out one after another in `buf`, the
/// `i`th ending at `ends[i]` (ascending): each row a split of `buf`, not a copy.
pub(crate) fn split_rows(
    mut buf: BytesMut,
    ends: impl IntoIterator<Item = usize>,
    field_count: i16,
) -> Vec<DataRow> {
    let ends = ends.into_iter();
    let mut rows = Vec::with_capacity(ends.size_hint().0);
    let mut taken = 0;
    for end in ends {
        rows.push(DataRow::new(buf.split_to(end - taken), field_count));
        taken = end;
    }
    rows
}

/// The number of fields of each row of `batch`.
pub(crate) fn field_count(batch: &RecordBatch) -> Result<i16, EncodeError> {
    i16::try_from(batch.num_columns()).map_err(|_| EncodeError {
        column: 0,
        reason: "more than 32767 columns".to_owned(),
    })
}

/// The DataRow bodies (after the field count) of every row of `batch`, one after another,
/// and where each row ends.
pub(crate) fn encode_batch_flat(
    batch: &RecordBatch,
    columns: &[ColumnFormat],
) -> Result<(BytesMut, Vec<usize>), EncodeError> {
    field_count(batch)?;
    // Each column's type is looked at once per batch, not once per value.
    let sources: Vec<Source<'_>> = batch
        .columns()
        .iter()
        .zip(columns)
        .map(|(array, fmt)| Source::of(array, fmt))
        .collect();
    let mut ends = Vec::with_capacity(batch.num_rows());
    // One allocation for the whole batch, split off row by row: growing a small buffer per
    // row (and copying it each time) cost more than encoding.
    let mut buf = BytesMut::with_capacity(encoded_size_hint(batch));
    let mut text = String::new();
    for row in 0..batch.num_rows() {
        for (col, source) in sources.iter().enumerate() {
            source
                .encode(row, &mut buf, &mut text)
                .map_err(|reason| EncodeError {
                    column: col,
                    reason,
                })?;
        }
        ends.push(buf.len());
    }
    Ok((buf, ends))
}

/// Appends to `out` the DataRow messages (type byte, length, field count, fields) of rows
/// `rows` of `columns`, each value as [`encode_batch`] encodes it in a batch of those rows;
/// how many rows, or an error with `out` as it was.
///
/// A prepared key lookup's rows are encoded this way straight from the snapshot's columns
/// (see `quick::execute_lookup`): slicing nineteen arrays into a one-row batch and dropping
/// it again cost more than encoding the row.
pub(crate) fn encode_selected_rows(
    columns: &[ArrayRef],
    rows: &[u32],
    formats: &[ColumnFormat],
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    let fail = |column: usize, reason: &str| EncodeError {
        column,
        reason: reason.to_owned(),
    };
    if columns.len() != formats.len() {
        return Err(fail(0, "a format for each column"));
    }
    let field_count =
        i16::try_from(columns.len()).map_err(|_| fail(0, "more than 32767 columns"))?;
    let len = columns.first().map_or(0, |c| c.len());
    if columns.iter().any(|c| c.len() != len) || rows.iter().any(|&r| r as usize >= len) {
        return Err(fail(0, "rows of the columns"));
    }
    let sources: Vec<Source<'_>> = columns
        .iter()
        .zip(formats)
        .map(|(array, fmt)| Source::of(array, fmt))
        .collect();
    let before = out.len();
    let mut text = String::new();
    for &row in rows {
        let start = out.len();
        out.put_u8(b'D');
        out.put_i32(0);
        out.put_i16(field_count);
        for (col, source) in sources.iter().enumerate() {
            if let Err(reason) = source.encode(row as usize, out, &mut text) {
                out.truncate(before);
                return Err(EncodeError {
                    column: col,
                    reason,
                });
            }
        }
        // The length counts itself and what follows the type byte.
        let Ok(length) = i32::try_from(out.len() - start - 1) else {
            out.truncate(before);
            return Err(fail(0, "a row over 2 GiB"));
        };
        out[start + 1..start + 5].copy_from_slice(&length.to_be_bytes());
    }
    Ok(rows.len())
}

/// One result column, its kind decided once per batch.
enum Source<'a> {
    /// Text format of a plain `Utf8` column: the value's bytes as they are.
    Text(&'a StringArray),
    /// Text format of a boolean: `t` or `f`, as PostgreSQL's `boolout`.
    Bool(&'a BooleanArray),
    /// Text format of a microsecond timestamp (`+00` after it when it has a time zone).
    Timestamp(&'a TimestampMicrosecondArray, bool),
    /// Anything else, through [`encode_value`].
    Other(&'a ArrayRef, &'a ColumnFormat),
}

impl<'a> Source<'a> {
    fn of(array: &'a ArrayRef, fmt: &'a ColumnFormat) -> Source<'a> {
        let text = matches!(fmt.format, FieldFormat::Text)
            && !matches!(fmt.pg_type.oid(), INT2VECTOR_OID | OIDVECTOR_OID);
        match array.data_type() {
            DataType::Utf8 if text => Source::Text(array.as_string::<i32>()),
            DataType::Boolean if text => Source::Bool(array.as_boolean()),
            DataType::Timestamp(TimeUnit::Microsecond, tz) if text => {
                Source::Timestamp(array.as_primitive(), tz.is_some())
            }
            _ => Source::Other(array, fmt),
        }
    }

    /// Appends the length-prefixed value of `row` (length -1 for NULL).
    fn encode(&self, row: usize, buf: &mut BytesMut, scratch: &mut String) -> Result<(), String> {
        match self {
            Source::Text(a) => {
                if a.is_null(row) {
                    buf.put_i32(-1);
                } else {
                    let v = a.value(row).as_bytes();
                    let len = i32::try_from(v.len()).map_err(|_| "value over 2 GiB".to_owned())?;
                    buf.put_i32(len);
                    buf.put_slice(v);
                }
                Ok(())
            }
            Source::Bool(a) => {
                if a.is_null(row) {
                    buf.put_i32(-1);
                } else {
                    buf.put_i32(1);
                    buf.put_u8(if a.value(row) { b't' } else { b'f' });
                }
                Ok(())
            }
            Source::Timestamp(a, tz) => {
                if a.is_null(row) {
                    buf.put_i32(-1);
                    return Ok(());
                }
                let zone = if *tz { "+00" } else { "" };
                match TimestampText::of(a.value(row)) {
                    Some(text) => {
                        let text = text.as_bytes();
                        // At most 29 bytes.
                        let len = i32::try_from(text.len() + zone.len()).unwrap_or(i32::MAX);
                        buf.put_i32(len);
                        buf.put_slice(text);
                        buf.put_slice(zone.as_bytes());
                    }
                    None => {
                        // Outside years 1 to 9999 (`… BC` after the zone).
                        scratch.clear();
                        timestamp_text_zoned(a.value(row), zone, scratch)?;
                        let len = i32::try_from(scratch.len()).map_err(|e| e.to_string())?;
                        buf.put_i32(len);
                        buf.put_slice(scratch.as_bytes());
                    }
                }
                Ok(())
            }
            Source::Other(array, fmt) => encode_value(array, row, fmt, buf, scratch),
        }
    }
}

/// The most a batch's row buffer reserves at once; a larger batch continues in new
/// buffers. Buffers of many megabytes (a full fetch) are mapped and unmapped by the allocator
/// each batch, and every page of them faulted in again (a tenth of a full fetch's time).
const MAX_BUFFER: usize = 256 << 10;

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
        .min(MAX_BUFFER)
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
            write_text_styled(array, row, scratch, fmt.interval_style)?;
            buf.put_slice(scratch.as_bytes());
        }
        FieldFormat::Binary => write_binary(array, row, &fmt.pg_type, buf, scratch)?,
    }
    let len = i32::try_from(buf.len() - len_at - 4).map_err(|_| "value over 2 GiB".to_owned())?;
    buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
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
        _ if ty.oid() == HSTORE_OID => write_hstore_binary(array, row, buf, scratch)?,
        _ if matches!(
            dt,
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)
        ) =>
        {
            write_array_binary(array, row, ty, buf)?
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

/// hstore's binary form: the pair count, then each key and value with its length (-1 for a
/// NULL value).
fn write_hstore_binary(
    array: &ArrayRef,
    row: usize,
    buf: &mut BytesMut,
    scratch: &mut String,
) -> Result<(), String> {
    let text = array_text(array, row, scratch)?;
    let h = parse_hstore(&text).map_err(|e| e.to_string())?;
    buf.put_i32(i32::try_from(h.len()).map_err(|e| e.to_string())?);
    for (k, v) in &h {
        put_len_bytes(buf, Some(k.as_bytes()))?;
        put_len_bytes(buf, v.as_deref().map(str::as_bytes))?;
    }
    Ok(())
}

/// A one-dimensional array's binary form (`array_send`): dimensions, a has-nulls flag, the
/// element type, the length and lower bound 1, then each element as a value of that type.
fn write_array_binary(
    array: &ArrayRef,
    row: usize,
    ty: &Type,
    buf: &mut BytesMut,
) -> Result<(), String> {
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
        interval_style: IntervalStyle::default(),
    };
    let mut inner = String::new();
    for i in 0..items.len() {
        encode_value(&items, i, &fmt, buf, &mut inner)?;
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
        // row_number(), rank(), ntile(): bigint in PostgreSQL, never past its range.
        DataType::UInt64 => i64::try_from(array.as_primitive::<UInt64Type>().value(row))
            .map_err(|_| "bigint out of range".to_owned())?,
        other => return Err(format!("{other} is not an integer")),
    })
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
