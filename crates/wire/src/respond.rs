//! From engine output to pgwire responses: result column descriptions, rows streamed as
//! DataRows and command tags (the ParameterStatus a SET owes goes before ReadyForQuery: see
//! `crate::transaction`).

use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use stagesql_engine::values::IntervalStyle;
use stagesql_engine::{EngineError, Output};

use crate::backend::BackendSession;
use crate::encode::{ColumnFormat, encode_batch};
use crate::error::{WireError, to_pg_error};
use crate::params::is_binary;
use crate::row_memo::MemoRows;
use crate::types::pg_type;

/// Result columns of `schema` with the formats the client asked for.
pub(crate) fn field_infos(
    schema: &SchemaRef,
    format: &Format,
) -> Result<Vec<FieldInfo>, WireError> {
    let n = schema.fields().len();
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let format = if is_binary(format, i, n, "result column")? {
                FieldFormat::Binary
            } else {
                FieldFormat::Text
            };
            Ok(FieldInfo::new(
                f.name().clone(),
                None,
                None,
                pg_type(f),
                format,
            ))
        })
        .collect()
}

/// A statement's result columns as described to the client and as its rows are encoded.
#[derive(Debug, Clone)]
pub(crate) struct ResultColumns {
    pub(crate) fields: Arc<Vec<FieldInfo>>,
    columns: Arc<Vec<ColumnFormat>>,
    /// The RowDescription message of `fields`, encoded when first asked for.
    row_description: Arc<std::sync::OnceLock<Option<bytes::Bytes>>>,
    /// The rows these columns last encoded, for a statement that sends the same ones again.
    kept_rows: Arc<KeptRows>,
}

impl ResultColumns {
    /// The DataRow messages these columns encoded for `batch` and how many there are, when it
    /// is the small batch they encoded last (see [`KeptRows`]).
    pub(crate) fn kept_messages(&self, batch: &RecordBatch) -> Option<(bytes::Bytes, usize)> {
        self.kept_rows.messages_of(batch)
    }

    /// How each column is sent.
    pub(crate) fn formats(&self) -> &[ColumnFormat] {
        &self.columns
    }

    /// The whole RowDescription message (type byte, length, body) describing these columns,
    /// encoded once for every Describe of the same statement and formats; `None` when pgwire
    /// cannot encode it (that Describe then goes through pgwire and fails there).
    pub(crate) fn row_description(&self) -> Option<&[u8]> {
        self.row_description
            .get_or_init(|| {
                use pgwire::messages::Message;
                let message = pgwire::messages::data::RowDescription::new(
                    self.fields.iter().map(Into::into).collect(),
                );
                let mut buf = bytes::BytesMut::new();
                message.encode(&mut buf).ok().map(|()| buf.freeze())
            })
            .as_deref()
    }
}

/// The result columns a connection described last, kept for the next Describe or Execute of
/// the same statement (a prepared statement run again describes the same columns, and libpq
/// describes its portal before every Execute). Keyed by the statement's schema (the same
/// `Arc` for every run of one prepared statement), the formats and the IntervalStyle.
#[derive(Debug, Default)]
pub(crate) struct ColumnsCache(
    std::sync::Mutex<Option<(SchemaRef, Format, IntervalStyle, ResultColumns)>>,
);

impl ColumnsCache {
    /// The result columns of `schema` in `format`, from the cache when they were the last
    /// asked for.
    pub(crate) fn get(
        &self,
        schema: &SchemaRef,
        format: &Format,
        interval_style: IntervalStyle,
    ) -> Result<ResultColumns, WireError> {
        if let Ok(kept) = self.0.lock()
            && let Some((s, f, i, columns)) = kept.as_ref()
            && Arc::ptr_eq(s, schema)
            && same_format(f, format)
            && *i == interval_style
        {
            return Ok(columns.clone());
        }
        let fields = Arc::new(field_infos(schema, format)?);
        let columns = Arc::new(
            fields
                .iter()
                .map(|f| ColumnFormat {
                    pg_type: f.datatype().clone(),
                    format: f.format(),
                    interval_style,
                })
                .collect(),
        );
        let made = ResultColumns {
            fields,
            columns,
            row_description: Arc::default(),
            kept_rows: Arc::default(),
        };
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some((
                Arc::clone(schema),
                format.clone(),
                interval_style,
                made.clone(),
            ));
        }
        Ok(made)
    }
}

/// Batches larger than this (in Arrow memory) are not kept by [`KeptRows`]: a lookup's row
/// is a slice of the snapshot, and keeping it would keep the whole snapshot alive past a
/// refresh.
const KEPT_ROWS_MAX_BYTES: usize = 4096;

/// The DataRows of the last small batch a statement's columns encoded, with that batch.
///
/// A kept result (`SELECT 1` and the other table-free statements drivers send again and
/// again) is the same Arrow arrays on every run, so its rows are the bytes encoded the first
/// time: [`encode_batch`] depends on nothing but the values and the column formats, and
/// these are the formats of the [`ResultColumns`] this belongs to. A batch is the one kept
/// only when each of its columns is the same array (the kept batch holds them, so their
/// memory cannot be reused for another array meanwhile).
#[derive(Debug, Default)]
pub(crate) struct KeptRows(std::sync::Mutex<Option<Kept>>);

/// What [`KeptRows`] holds.
#[derive(Debug)]
struct Kept {
    batch: RecordBatch,
    rows: Vec<pgwire::messages::data::DataRow>,
    /// `rows` as DataRow messages, one after another.
    messages: bytes::Bytes,
}

impl KeptRows {
    /// What is kept, when `batch` is the batch kept.
    fn kept_for<T>(&self, batch: &RecordBatch, take: impl FnOnce(&Kept) -> T) -> Option<T> {
        let kept = self.0.lock().ok()?;
        let kept = kept.as_ref()?;
        let same = kept.batch.num_rows() == batch.num_rows()
            && kept.batch.num_columns() == batch.num_columns()
            && kept
                .batch
                .columns()
                .iter()
                .zip(batch.columns())
                .all(|(a, b)| Arc::ptr_eq(a, b));
        same.then(|| take(kept))
    }

    /// The rows of `batch` when it is the batch kept.
    fn rows_of(&self, batch: &RecordBatch) -> Option<Vec<pgwire::messages::data::DataRow>> {
        self.kept_for(batch, |kept| kept.rows.clone())
    }

    /// The DataRow messages of `batch` and how many there are, when it is the batch kept.
    fn messages_of(&self, batch: &RecordBatch) -> Option<(bytes::Bytes, usize)> {
        self.kept_for(batch, |kept| (kept.messages.clone(), kept.rows.len()))
    }

    /// Keeps `rows`, the encoding of `batch`, if the batch is small.
    fn keep(&self, batch: &RecordBatch, rows: &[pgwire::messages::data::DataRow]) {
        use pgwire::messages::Message;
        if batch.get_array_memory_size() > KEPT_ROWS_MAX_BYTES {
            return;
        }
        let mut messages = bytes::BytesMut::new();
        if rows.iter().any(|row| row.encode(&mut messages).is_err()) {
            return;
        }
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some(Kept {
                batch: batch.clone(),
                rows: rows.to_vec(),
                messages: messages.freeze(),
            });
        }
    }
}

/// Whether two result format lists are the same list.
fn same_format(a: &Format, b: &Format) -> bool {
    match (a, b) {
        (Format::UnifiedText, Format::UnifiedText)
        | (Format::UnifiedBinary, Format::UnifiedBinary) => true,
        (Format::Individual(a), Format::Individual(b)) => a == b,
        _ => false,
    }
}

/// `stagesql_rows_sent_total`, looked up in the recorder once (the server installs its
/// recorder before it takes connections), not for every chunk of every result.
pub(crate) fn rows_sent() -> &'static metrics::Counter {
    static ROWS_SENT: OnceLock<metrics::Counter> = OnceLock::new();
    ROWS_SENT.get_or_init(|| metrics::counter!("stagesql_rows_sent_total"))
}

/// Rows are encoded this many at a time, just before pgwire copies them into its write
/// buffer: a row encoded a whole batch (8,192 rows, megabytes) earlier has left the cache by
/// then, and that copy cost more than the encoding.
const ENCODE_CHUNK: usize = 256;

fn row_response(
    described: ResultColumns,
    stream: SendableRecordBatchStream,
    tag: &str,
    memo: Arc<MemoRows>,
) -> Result<Response, WireError> {
    let ResultColumns {
        fields,
        columns,
        kept_rows,
        ..
    } = described;
    let rows = EncodedRows {
        batches: stream,
        columns,
        memo,
        kept_rows,
        batch: None,
        rows: Vec::new().into_iter(),
    };
    let mut response = QueryResponse::new(fields, rows);
    response.set_command_tag(tag);
    Ok(Response::Query(response))
}

/// A result's rows as DataRows: its batches encoded [`ENCODE_CHUNK`] rows at a time as the
/// client takes them, each chunk from the rows kept for the same arrays ([`KeptRows`]), from
/// the snapshot's row memo, or encoded afresh.
struct EncodedRows {
    batches: SendableRecordBatchStream,
    columns: Arc<Vec<ColumnFormat>>,
    memo: Arc<MemoRows>,
    kept_rows: Arc<KeptRows>,
    /// The batch being encoded, and its first row not yet encoded.
    batch: Option<(RecordBatch, usize)>,
    /// Rows encoded and not yet handed out.
    rows: std::vec::IntoIter<pgwire::messages::data::DataRow>,
}

impl EncodedRows {
    /// The next chunk of the current batch, if it has rows left.
    fn next_chunk(&mut self) -> Option<RecordBatch> {
        let (batch, start) = self.batch.as_mut()?;
        let n = batch.num_rows();
        if *start == 0 && n <= ENCODE_CHUNK {
            // A small batch (a lookup's one row) is encoded as it is, without slicing.
            return self.batch.take().map(|(batch, _)| batch);
        }
        if *start >= n {
            self.batch = None;
            return None;
        }
        let chunk = batch.slice(*start, ENCODE_CHUNK.min(n - *start));
        *start += chunk.num_rows();
        Some(chunk)
    }

    /// The DataRows of `chunk`.
    fn encode(
        &self,
        chunk: &RecordBatch,
    ) -> Result<Vec<pgwire::messages::data::DataRow>, WireError> {
        if let Some(rows) = self.kept_rows.rows_of(chunk) {
            return Ok(rows);
        }
        if let Some(rows) = self.memo.encode(chunk, &self.columns) {
            return Ok(rows);
        }
        let rows = encode_batch(chunk, &self.columns)?;
        self.kept_rows.keep(chunk, &rows);
        Ok(rows)
    }
}

impl futures::Stream for EncodedRows {
    type Item = PgWireResult<pgwire::messages::data::DataRow>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        loop {
            if let Some(row) = this.rows.next() {
                return Poll::Ready(Some(Ok(row)));
            }
            if let Some(chunk) = this.next_chunk() {
                match this.encode(&chunk) {
                    Ok(rows) => {
                        rows_sent().increment(rows.len() as u64);
                        this.rows = rows.into_iter();
                        continue;
                    }
                    Err(e) => return Poll::Ready(Some(Err(to_pg_error(e)))),
                }
            }
            match std::task::ready!(this.batches.poll_next_unpin(cx)) {
                Some(Ok(batch)) => this.batch = Some((batch, 0)),
                Some(Err(e)) => return Poll::Ready(Some(Err(to_pg_error(WireError::from(e))))),
                None => return Poll::Ready(None),
            }
        }
    }
}

/// Turns engine output into a pgwire response, after the statement's WARNINGs;
/// rows complete with `row_tag`.
pub(crate) async fn respond<C, S>(
    client: &mut C,
    session: &Arc<S>,
    row_tag: &'static str,
    output: Output,
    format: &Format,
    interval_style: IntervalStyle,
    cache: &ColumnsCache,
) -> PgWireResult<Response>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    S: BackendSession,
{
    // A statement's WARNINGs go before its answer.
    for warning in session.take_warnings() {
        client
            .feed(PgWireBackendMessage::NoticeResponse(crate::error::notice(
                warning,
            )))
            .await?;
    }
    Ok(match output {
        Output::Rows { schema, stream } => {
            let described = cache
                .get(&schema, format, interval_style)
                .map_err(to_pg_error)?;
            let session = Arc::clone(session);
            let memo = MemoRows::new(&described.columns, Box::new(move || session.table_rows()));
            row_response(described, stream, row_tag, memo).map_err(to_pg_error)?
        }
        Output::Command { tag } => Response::Execution(Tag::new(tag)),
        Output::Begin(tag) => Response::TransactionStart(Tag::new(tag)),
        Output::Moved(n) => Response::Execution(
            Tag::new("MOVE").with_rows(usize::try_from(n).unwrap_or(usize::MAX)),
        ),
        Output::End(tag) => Response::TransactionEnd(Tag::new(tag)),
        Output::Deallocate(Some(name)) => {
            client.portal_store().rm_statement(&name);
            Response::Execution(Tag::new("DEALLOCATE"))
        }
        Output::Deallocate(None) => Response::Execution(Tag::new("DEALLOCATE ALL")),
        Output::CopyOut {
            schema,
            stream,
            options,
        } => crate::copy::send_copy_out(client, &schema, stream, &options, interval_style).await?,
        Output::DiscardAll => {
            client.portal_store().clear_portals();
            Response::Execution(Tag::new("DISCARD ALL"))
        }
    })
}

/// Runs a row stream to completion and hands back a stream over the buffered batches.
pub(crate) async fn materialize(output: Output) -> Result<Output, EngineError> {
    match output {
        Output::Rows { schema, stream } => {
            let batches = datafusion::physical_plan::common::collect(stream).await?;
            let stream = datafusion::physical_plan::memory::MemoryStream::try_new(
                batches,
                Arc::clone(&schema),
                None,
            )?;
            Ok(Output::Rows {
                schema,
                stream: Box::pin(stream),
            })
        }
        other => Ok(other),
    }
}

pub(crate) fn error_info(err: PgWireError) -> Box<ErrorInfo> {
    match err {
        PgWireError::UserError(info) => info,
        other => Box::new(ErrorInfo::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagesql_engine::values::stage_schema;

    /// Kept rows are given back only for the very arrays they were encoded from; a batch
    /// of equal values in other arrays, or of other rows, is encoded afresh, and a batch
    /// holding much memory (a slice of the snapshot) is not kept at all.
    #[test]
    fn kept_rows_answer_only_the_same_arrays() {
        use datafusion::arrow::array::{Int32Array, StringArray};
        let one = |v: i32| {
            RecordBatch::try_from_iter([(
                "x",
                Arc::new(Int32Array::from(vec![v])) as datafusion::arrow::array::ArrayRef,
            )])
            .expect("batch")
        };
        let columns = [crate::encode::ColumnFormat {
            pg_type: pgwire::api::Type::INT4,
            format: FieldFormat::Text,
            interval_style: IntervalStyle::default(),
        }];
        let kept = KeptRows::default();
        let batch = one(1);
        assert!(kept.rows_of(&batch).is_none(), "nothing kept yet");
        let rows = encode_batch(&batch, &columns).expect("encode");
        kept.keep(&batch, &rows);
        assert_eq!(kept.rows_of(&batch), Some(rows.clone()));
        assert_eq!(
            kept.rows_of(&batch.clone()),
            Some(rows),
            "a clone shares the arrays"
        );
        assert!(
            kept.rows_of(&one(1)).is_none(),
            "equal values, other arrays"
        );
        assert!(kept.rows_of(&one(2)).is_none());

        let big = RecordBatch::try_from_iter([(
            "s",
            Arc::new(StringArray::from(vec!["x".repeat(10_000)]))
                as datafusion::arrow::array::ArrayRef,
        )])
        .expect("batch");
        let slice = big.slice(0, 1);
        let text = [crate::encode::ColumnFormat {
            pg_type: pgwire::api::Type::TEXT,
            format: FieldFormat::Text,
            interval_style: IntervalStyle::default(),
        }];
        let rows = encode_batch(&slice, &text).expect("encode");
        kept.keep(&slice, &rows);
        assert!(kept.rows_of(&slice).is_none(), "large batches are not kept");
    }

    /// The kept columns are reused only for the same statement, formats and IntervalStyle:
    /// a change of any of them describes and encodes afresh (binary asked, binary sent).
    #[test]
    fn kept_columns_follow_schema_format_and_interval_style() {
        let cache = ColumnsCache::default();
        let schema = stage_schema();
        let text = Format::UnifiedText;
        let first = cache
            .get(&schema, &text, IntervalStyle::default())
            .expect("text");
        let again = cache
            .get(&schema, &text, IntervalStyle::default())
            .expect("again");
        assert!(
            Arc::ptr_eq(&first.fields, &again.fields),
            "kept for the same run"
        );

        let binary = cache
            .get(&schema, &Format::UnifiedBinary, IntervalStyle::default())
            .expect("binary");
        assert!(!Arc::ptr_eq(&first.fields, &binary.fields));
        assert!(
            binary
                .fields
                .iter()
                .all(|f| f.format() == FieldFormat::Binary)
        );
        assert!(
            binary
                .columns
                .iter()
                .all(|c| c.format == FieldFormat::Binary)
        );

        let mixed = Format::Individual(vec![1; schema.fields().len()]);
        let individual = cache
            .get(&schema, &mixed, IntervalStyle::default())
            .expect("individual");
        assert!(!Arc::ptr_eq(&binary.fields, &individual.fields));
        assert!(
            individual
                .fields
                .iter()
                .all(|f| f.format() == FieldFormat::Binary)
        );

        let other_schema = Arc::new(schema.as_ref().clone());
        let other = cache
            .get(&other_schema, &mixed, IntervalStyle::default())
            .expect("other statement");
        assert!(!Arc::ptr_eq(&individual.fields, &other.fields));

        let style = IntervalStyle::from_setting("sql_standard").expect("a style");
        assert_ne!(style, IntervalStyle::default());
        let styled = cache.get(&other_schema, &mixed, style).expect("styled");
        assert!(styled.columns.iter().all(|c| c.interval_style == style));
    }
}
