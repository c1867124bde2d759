//! From engine output to pgwire responses: result column descriptions, rows streamed as
//! DataRows, command tags and the ParameterStatus messages a SET owes the client.

use std::fmt::Debug;
use std::sync::Arc;

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

use crate::encode::{ColumnFormat, encode_batch};
use crate::error::{WireError, to_pg_error};
use crate::params::is_binary;
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

fn row_response(
    schema: &SchemaRef,
    stream: SendableRecordBatchStream,
    format: &Format,
    tag: &str,
    interval_style: IntervalStyle,
) -> Result<Response, WireError> {
    let fields = Arc::new(field_infos(schema, format)?);
    let columns: Arc<Vec<ColumnFormat>> = Arc::new(
        fields
            .iter()
            .map(|f| ColumnFormat {
                pg_type: f.datatype().clone(),
                format: f.format(),
                interval_style,
            })
            .collect(),
    );
    let rows = stream.flat_map(move |batch| {
        let rows: Vec<PgWireResult<_>> = match batch {
            Ok(batch) => match encode_batch(&batch, &columns) {
                Ok(rows) => {
                    metrics::counter!("stagesql_rows_sent_total").increment(rows.len() as u64);
                    rows.into_iter().map(Ok).collect()
                }
                Err(e) => vec![Err(to_pg_error(e))],
            },
            Err(e) => vec![Err(to_pg_error(WireError::from(e)))],
        };
        stream::iter(rows)
    });
    let mut response = QueryResponse::new(fields, rows);
    response.set_command_tag(tag);
    Ok(Response::Query(response))
}

/// Turns engine output into a pgwire response, sending ParameterStatus for changed settings;
/// rows complete with `row_tag`.
pub(crate) async fn respond<C>(
    client: &mut C,
    row_tag: &'static str,
    output: Output,
    format: &Format,
    interval_style: IntervalStyle,
) -> PgWireResult<Response>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
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
            row_response(&schema, stream, format, row_tag, interval_style).map_err(to_pg_error)?
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
