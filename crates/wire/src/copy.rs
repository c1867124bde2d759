//! `COPY ... TO STDOUT`: rows as CopyData in text, CSV or binary format.
//!
//! The result is run to completion before CopyOutResponse is sent, so an error while executing
//! arrives as a plain ErrorResponse instead of in the middle of the copy stream.

use bytes::{BufMut, BytesMut};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Sink, SinkExt};
use pgwire::api::results::FieldFormat;
use pgwire::api::results::{Response, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use stagesql_engine::{CopyFormat, CopyOptions};

use stagesql_engine::values::{IntervalStyle, write_text_styled};

use crate::encode::{ColumnFormat, EncodeError, encode_batch};
use crate::error::{WireError, to_pg_error};
use crate::types::pg_type;

/// Runs the query of a `COPY … TO STDOUT` to completion, then sends CopyOutResponse, the
/// CopyData messages and CopyDone; the caller's response is the `COPY n` tag. Sent here
/// rather than as pgwire's CopyOut response, which counts messages as rows: the header line
/// is a message of its own, and the tag counts rows.
pub async fn send_copy_out<C>(
    client: &mut C,
    schema: &SchemaRef,
    stream: SendableRecordBatchStream,
    options: &CopyOptions,
    style: IntervalStyle,
) -> PgWireResult<Response>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let batches = datafusion::physical_plan::common::collect(stream)
        .await
        .map_err(|e| to_pg_error(WireError::from(e)))?;
    let messages = copy_messages(schema, &batches, options, style).map_err(to_pg_error)?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    metrics::counter!("stagesql_rows_sent_total").increment(rows as u64);
    let format = i16::from(options.format == CopyFormat::Binary);
    let columns = i16::try_from(schema.fields().len()).unwrap_or(i16::MAX);
    let formats = vec![format; usize::try_from(columns).unwrap_or(0)];
    client
        .feed(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            i8::from(format == 1),
            columns,
            formats,
        )))
        .await?;
    for m in messages {
        client.feed(PgWireBackendMessage::CopyData(m)).await?;
    }
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    Ok(Response::Execution(Tag::new("COPY").with_rows(rows)))
}

/// The CopyData messages for `batches`, as PostgreSQL sends them: one per row, the text/CSV
/// header line in a message of its own (clients such as ruby-pg read one line per message),
/// the binary file signature joined to the first tuple. Intervals print in `style`.
pub fn copy_messages(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &CopyOptions,
    style: IntervalStyle,
) -> Result<Vec<CopyData>, EncodeError> {
    let mut out = Vec::new();
    let mut prefix = BytesMut::new();
    match options.format {
        CopyFormat::Binary => {
            prefix.put_slice(b"PGCOPY\n\xff\r\n\0");
            prefix.put_i32(0);
            prefix.put_i32(0);
        }
        CopyFormat::Text | CopyFormat::Csv if options.header => {
            let names: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| field_text(f.name(), options))
                .collect();
            let mut header = BytesMut::new();
            header.put_slice(names.join(&options.delimiter.to_string()).as_bytes());
            header.put_u8(b'\n');
            out.push(CopyData::new(header.freeze()));
        }
        _ => {}
    }
    let columns: Vec<ColumnFormat> = schema
        .fields()
        .iter()
        .map(|f| ColumnFormat {
            pg_type: pg_type(f),
            format: FieldFormat::Binary,
            interval_style: style,
        })
        .collect();
    let ncols = i16::try_from(columns.len()).map_err(|_| EncodeError {
        column: 0,
        reason: "too many columns".to_owned(),
    })?;
    let mut value = String::new();
    for batch in batches {
        if options.format == CopyFormat::Binary {
            for row in encode_batch(batch, &columns)? {
                let mut buf = std::mem::take(&mut prefix);
                buf.put_i16(ncols);
                buf.put_slice(&row.data);
                out.push(CopyData::new(buf.freeze()));
            }
            continue;
        }
        for row in 0..batch.num_rows() {
            let mut line = std::mem::take(&mut prefix);
            for (i, array) in batch.columns().iter().enumerate() {
                if i > 0 {
                    line.put_slice(options.delimiter.to_string().as_bytes());
                }
                if array.is_null(row) {
                    line.put_slice(options.null.as_bytes());
                    continue;
                }
                value.clear();
                write_text_styled(array, row, &mut value, style)
                    .map_err(|reason| EncodeError { column: i, reason })?;
                line.put_slice(field_text(&value, options).as_bytes());
            }
            line.put_u8(b'\n');
            out.push(CopyData::new(line.freeze()));
        }
    }
    if !prefix.is_empty() {
        out.push(CopyData::new(prefix.freeze()));
    }
    if options.format == CopyFormat::Binary {
        // The file trailer, a message of its own: a field count of -1.
        out.push(CopyData::new(bytes::Bytes::from_static(&[0xff, 0xff])));
    }
    Ok(out)
}

/// One non-null value as the format writes it.
fn field_text(value: &str, options: &CopyOptions) -> String {
    match options.format {
        CopyFormat::Csv => {
            let needs_quotes = value.is_empty() && options.null.is_empty()
                || value == options.null
                || value.contains(options.delimiter)
                || value.contains(options.quote)
                || value.contains('\n')
                || value.contains('\r');
            if !needs_quotes {
                return value.to_owned();
            }
            let mut s = String::with_capacity(value.len() + 2);
            s.push(options.quote);
            for c in value.chars() {
                if c == options.quote || c == options.escape {
                    s.push(options.escape);
                }
                s.push(c);
            }
            s.push(options.quote);
            s
        }
        _ => {
            let mut s = String::with_capacity(value.len());
            for c in value.chars() {
                match c {
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    '\t' => s.push_str("\\t"),
                    c if c == options.delimiter => {
                        s.push('\\');
                        s.push(c);
                    }
                    c => s.push(c),
                }
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn concat(messages: &[CopyData]) -> Bytes {
        let mut all = BytesMut::new();
        for m in messages {
            all.put_slice(&m.data);
        }
        all.freeze()
    }
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn batch() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
                Arc::new(StringArray::from(vec![
                    Some("a,b"),
                    Some("say \"hi\"\tx"),
                    None,
                ])),
            ],
        )
        .expect("batch");
        (schema, batch)
    }

    fn options(format: CopyFormat, header: bool) -> CopyOptions {
        let csv = format == CopyFormat::Csv;
        CopyOptions {
            format,
            delimiter: if csv { ',' } else { '\t' },
            null: if csv { String::new() } else { "\\N".to_owned() },
            header,
            quote: '"',
            escape: '"',
        }
    }

    #[test]
    fn csv_quotes_what_it_must() {
        let (schema, batch) = batch();
        let msgs = copy_messages(
            &schema,
            &[batch],
            &options(CopyFormat::Csv, true),
            IntervalStyle::Postgres,
        )
        .expect("copy");
        assert_eq!(msgs.len(), 4, "the header, then one message per row");
        assert_eq!(&msgs[0].data[..], b"n,s\n");
        assert_eq!(
            String::from_utf8_lossy(&concat(&msgs)),
            "n,s\n1,\"a,b\"\n,\"say \"\"hi\"\"\tx\"\n3,\n"
        );
    }

    #[test]
    fn text_escapes_and_writes_null_markers() {
        let (schema, batch) = batch();
        let msgs = copy_messages(
            &schema,
            &[batch],
            &options(CopyFormat::Text, false),
            IntervalStyle::Postgres,
        )
        .expect("copy");
        assert_eq!(
            String::from_utf8_lossy(&concat(&msgs)),
            "1\ta,b\n\\N\tsay \"hi\"\\tx\n3\t\\N\n"
        );
    }

    #[test]
    fn binary_has_signature_counts_and_lengths() {
        let (schema, batch) = batch();
        let msgs = copy_messages(
            &schema,
            &[batch],
            &options(CopyFormat::Binary, false),
            IntervalStyle::Postgres,
        )
        .expect("copy");
        let all = concat(&msgs);
        assert!(all.starts_with(b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0"));
        // First tuple: 2 fields; int8 1 (8 bytes); text "a,b" (3 bytes).
        assert_eq!(&all[19..21], &[0, 2]);
        assert_eq!(&all[21..33], &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&all[33..40], &[0, 0, 0, 3, b'a', b',', b'b']);
        assert!(all.ends_with(&[0xff, 0xff]), "the trailer ends the file");
    }
}
