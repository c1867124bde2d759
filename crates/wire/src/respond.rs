//! From engine output to pgwire responses: result column descriptions, rows streamed as
//! DataRows, command tags and the ParameterStatus messages a SET owes the client.

use std::fmt::Debug;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Sink, SinkExt, StreamExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::startup::ParameterStatus;
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
}

impl ResultColumns {
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

/// Whether two result format lists are the same list.
fn same_format(a: &Format, b: &Format) -> bool {
    match (a, b) {
        (Format::UnifiedText, Format::UnifiedText)
        | (Format::UnifiedBinary, Format::UnifiedBinary) => true,
        (Format::Individual(a), Format::Individual(b)) => a == b,
        _ => false,
    }
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
        fields, columns, ..
    } = described;
    let rows = stream.flat_map(move |batch| {
        let columns = Arc::clone(&columns);
        let memo = Arc::clone(&memo);
        let chunks: Vec<PgWireResult<RecordBatch>> = match batch {
            // A small batch (a lookup's one row) is encoded as it is, without slicing.
            Ok(batch) if batch.num_rows() <= ENCODE_CHUNK => vec![Ok(batch)],
            Ok(batch) => {
                let n = batch.num_rows();
                (0..n)
                    .step_by(ENCODE_CHUNK)
                    .map(|start| Ok(batch.slice(start, ENCODE_CHUNK.min(n - start))))
                    .collect()
            }
            Err(e) => vec![Err(to_pg_error(WireError::from(e)))],
        };
        stream::iter(chunks).flat_map(move |chunk| {
            let encoded = chunk.map(|c| match memo.encode(&c, &columns) {
                Some(rows) => Ok(rows),
                None => encode_batch(&c, &columns),
            });
            let rows: Vec<PgWireResult<_>> = match encoded {
                Ok(Ok(rows)) => {
                    metrics::counter!("stagesql_rows_sent_total").increment(rows.len() as u64);
                    rows.into_iter().map(Ok).collect()
                }
                Ok(Err(e)) => vec![Err(to_pg_error(e))],
                Err(e) => vec![Err(e)],
            };
            stream::iter(rows)
        })
    });
    let mut response = QueryResponse::new(fields, rows);
    response.set_command_tag(tag);
    Ok(Response::Query(response))
}

/// Turns engine output into a pgwire response, sending ParameterStatus for changed settings;
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
    let report = |reports: Vec<(String, String)>| {
        reports
            .into_iter()
            .map(|(name, value)| {
                PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name, value))
            })
            .collect::<Vec<_>>()
    };
    Ok(match output {
        Output::Rows { schema, stream } => {
            let described = cache
                .get(&schema, format, interval_style)
                .map_err(to_pg_error)?;
            let session = Arc::clone(session);
            let memo = MemoRows::new(&described.columns, Box::new(move || session.table_rows()));
            row_response(described, stream, row_tag, memo).map_err(to_pg_error)?
        }
        Output::Command { tag, reports } => {
            for m in report(reports) {
                client.feed(m).await?;
            }
            Response::Execution(Tag::new(tag))
        }
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
        Output::DiscardAll(reports) => {
            for m in report(reports) {
                client.feed(m).await?;
            }
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
