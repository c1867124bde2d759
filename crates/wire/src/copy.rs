//! `COPY ... TO STDOUT`: rows as CopyData in text, CSV or binary format.
//!
//! Rows are sent batch by batch as the query computes them, like a query's DataRows: a copy of
//! every stage holds one batch at a time, not the whole result.

use bytes::{BufMut, BytesMut};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Sink, SinkExt, StreamExt};
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

/// Sends a `COPY … TO STDOUT`'s rows as they are computed: CopyOutResponse, then the CopyData
/// messages batch by batch, then CopyDone; the caller's response is the `COPY n` tag.
///
/// The first batch is awaited before CopyOutResponse, so an error while the query starts
/// arrives as a plain ErrorResponse. An error later ends the copy with an ErrorResponse after
/// the rows already sent, as in PostgreSQL. Sent here rather than as pgwire's CopyOut
/// response, which counts messages as rows (the header line is a message of its own, and the
/// tag counts rows) and ends a failed copy with CopyFail, a message only clients send.
pub async fn send_copy_out<C>(
    client: &mut C,
    schema: &SchemaRef,
    mut stream: SendableRecordBatchStream,
    options: &CopyOptions,
    style: IntervalStyle,
) -> PgWireResult<Response>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let failed = |e: datafusion::error::DataFusionError| to_pg_error(WireError::from(e));
    let first = stream.next().await.transpose().map_err(failed)?;
    let mut writer = CopyWriter::new(schema, options, style).map_err(to_pg_error)?;
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
    let mut rows = 0usize;
    let mut send = async |messages: Vec<CopyData>| -> PgWireResult<()> {
        for m in messages {
            client.feed(PgWireBackendMessage::CopyData(m)).await?;
        }
        Ok(())
    };
    send(writer.header()).await?;
    let mut next = first;
    while let Some(batch) = next {
        rows += batch.num_rows();
        crate::respond::rows_sent().increment(batch.num_rows() as u64);
        send(writer.rows(&batch).map_err(to_pg_error)?).await?;
        next = stream.next().await.transpose().map_err(failed)?;
    }
    send(writer.finish()).await?;
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    Ok(Response::Execution(Tag::new("COPY").with_rows(rows)))
}

/// The CopyData messages of one copy, as PostgreSQL sends them: one per row, the text/CSV
/// header line in a message of its own (clients such as ruby-pg read one line per message),
/// the binary file signature joined to the first tuple, and the binary trailer a message of
/// its own. Intervals print in the session's style.
pub struct CopyWriter<'a> {
    options: &'a CopyOptions,
    style: IntervalStyle,
    names: Vec<String>,
    columns: Vec<ColumnFormat>,
    ncols: i16,
    /// Bytes that go before the next message's own: the binary signature, until a tuple or
    /// the trailer takes it.
    prefix: BytesMut,
    /// Reused for each value's text.
    value: String,
}

impl<'a> CopyWriter<'a> {
    /// A writer for rows of `schema`.
    pub fn new(
        schema: &SchemaRef,
        options: &'a CopyOptions,
        style: IntervalStyle,
    ) -> Result<CopyWriter<'a>, EncodeError> {
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
        let mut prefix = BytesMut::new();
        if options.format == CopyFormat::Binary {
            prefix.put_slice(b"PGCOPY\n\xff\r\n\0");
            prefix.put_i32(0);
            prefix.put_i32(0);
        }
        Ok(CopyWriter {
            options,
            style,
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            columns,
            ncols,
            prefix,
            value: String::new(),
        })
    }

    /// The header line (text and CSV with `HEADER`), if any.
    pub fn header(&mut self) -> Vec<CopyData> {
        if self.options.format == CopyFormat::Binary || !self.options.header {
            return Vec::new();
        }
        let names: Vec<String> = self
            .names
            .iter()
            .map(|n| field_text(n, self.options))
            .collect();
        let mut header = BytesMut::new();
        header.put_slice(names.join(&self.options.delimiter.to_string()).as_bytes());
        header.put_u8(b'\n');
        vec![CopyData::new(header.freeze())]
    }

    /// One message per row of `batch`.
    pub fn rows(&mut self, batch: &RecordBatch) -> Result<Vec<CopyData>, EncodeError> {
        let mut out = Vec::with_capacity(batch.num_rows());
        if self.options.format == CopyFormat::Binary {
            for row in encode_batch(batch, &self.columns)? {
                let mut buf = std::mem::take(&mut self.prefix);
                buf.put_i16(self.ncols);
                buf.put_slice(&row.data);
                out.push(CopyData::new(buf.freeze()));
            }
            return Ok(out);
        }
        let delimiter = self.options.delimiter.to_string();
        for row in 0..batch.num_rows() {
            let mut line = BytesMut::new();
            for (i, array) in batch.columns().iter().enumerate() {
                if i > 0 {
                    line.put_slice(delimiter.as_bytes());
                }
                if array.is_null(row) {
                    line.put_slice(self.options.null.as_bytes());
                    continue;
                }
                self.value.clear();
                write_text_styled(array, row, &mut self.value, self.style)
                    .map_err(|reason| EncodeError { column: i, reason })?;
                line.put_slice(field_text(&self.value, self.options).as_bytes());
            }
            line.put_u8(b'\n');
            out.push(CopyData::new(line.freeze()));
        }
        Ok(out)
    }

    /// What ends the copy: the binary signature if no tuple took it, and the binary trailer
    /// (a field count of -1).
    pub fn finish(&mut self) -> Vec<CopyData> {
        let mut out = Vec::new();
        if !self.prefix.is_empty() {
            out.push(CopyData::new(std::mem::take(&mut self.prefix).freeze()));
        }
        if self.options.format == CopyFormat::Binary {
            out.push(CopyData::new(bytes::Bytes::from_static(&[0xff, 0xff])));
        }
        out
    }
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

    /// Every message of a copy of `batches`.
    fn copy_messages(
        schema: &SchemaRef,
        batches: &[RecordBatch],
        options: &CopyOptions,
        style: IntervalStyle,
    ) -> Result<Vec<CopyData>, EncodeError> {
        let mut writer = CopyWriter::new(schema, options, style)?;
        let mut out = writer.header();
        for batch in batches {
            out.extend(writer.rows(batch)?);
        }
        out.extend(writer.finish());
        Ok(out)
    }

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

    /// Collects what is sent to it.
    struct Collect(Vec<PgWireBackendMessage>);

    impl Sink<PgWireBackendMessage> for Collect {
        type Error = std::io::Error;

        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn start_send(
            mut self: std::pin::Pin<&mut Self>,
            item: PgWireBackendMessage,
        ) -> Result<(), Self::Error> {
            self.0.push(item);
            Ok(())
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// A stream of `first`, then of nothing ever again (a query still computing).
    fn one_batch_then_waiting(schema: &SchemaRef, first: RecordBatch) -> SendableRecordBatchStream {
        let batches =
            futures::stream::once(async move { Ok(first) }).chain(futures::stream::pending());
        Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                Arc::clone(schema),
                batches,
            ),
        )
    }

    #[tokio::test]
    async fn rows_go_out_while_the_query_still_computes() {
        let (schema, batch) = batch();
        let options = options(CopyFormat::Csv, true);
        let stream = one_batch_then_waiting(&schema, batch);
        let mut client = Collect(Vec::new());
        let sent = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            send_copy_out(
                &mut client,
                &schema,
                stream,
                &options,
                IntervalStyle::Postgres,
            ),
        )
        .await;
        assert!(sent.is_err(), "the copy is still waiting for the query");
        let kinds: Vec<&str> = client
            .0
            .iter()
            .map(|m| match m {
                PgWireBackendMessage::CopyOutResponse(_) => "response",
                PgWireBackendMessage::CopyData(_) => "data",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["response", "data", "data", "data", "data"],
            "the response, the header and the first batch's 3 rows are out before the query ends"
        );
    }

    #[tokio::test]
    async fn an_error_before_the_first_rows_is_a_plain_error() {
        let (schema, _) = batch();
        let failing = futures::stream::once(async {
            Err(datafusion::error::DataFusionError::Execution(
                "boom".to_owned(),
            ))
        });
        let stream: SendableRecordBatchStream = Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                Arc::clone(&schema),
                failing,
            ),
        );
        let mut client = Collect(Vec::new());
        let options = options(CopyFormat::Text, false);
        let sent = send_copy_out(
            &mut client,
            &schema,
            stream,
            &options,
            IntervalStyle::Postgres,
        )
        .await;
        assert!(sent.is_err(), "the error is returned");
        assert!(client.0.is_empty(), "no CopyOutResponse went out before it");
    }
}
