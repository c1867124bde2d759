//! The rows of table-free plans (`SELECT 1`, the probes drivers send on connect), kept after
//! a run so later runs skip execution: a plan that reads no table and calls only immutable
//! functions gives the same rows every time.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

/// Whether `plan` reads no table at all (no scan of the stage table, a catalog table or a
/// table function): with only immutable functions (see [`crate::plan_cache::reusable`]), every run of its kept
/// physical plan gives the same rows.
pub fn table_free(plan: &LogicalPlan) -> bool {
    let mut scans = false;
    let _ = plan.apply_with_subqueries(|node| {
        scans |= matches!(node, LogicalPlan::TableScan(_) | LogicalPlan::Extension(_));
        Ok(if scans {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    !scans
}

/// Rows larger than this are not kept.
const MAX_KEPT_BYTES: usize = 64 * 1024;

/// The rows of a table-free plan, kept from a run that streamed them whole and without error.
#[derive(Debug, Clone)]
pub struct KeptResults {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl KeptResults {
    /// The kept rows when they are one batch.
    pub(crate) fn single_batch(&self) -> Option<&RecordBatch> {
        match self.batches.as_slice() {
            [batch] => Some(batch),
            _ => None,
        }
    }

    /// A stream over the kept rows.
    pub fn stream(&self) -> SendableRecordBatchStream {
        let batches = self.batches.clone();
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::iter(batches.into_iter().map(Ok)),
        ))
    }

    /// `stream`, keeping its rows in `into` once it has ended without error, if they are
    /// small (at most [`MAX_KEPT_BYTES`]).
    pub fn keep(
        stream: SendableRecordBatchStream,
        into: &Arc<OnceLock<KeptResults>>,
    ) -> SendableRecordBatchStream {
        Box::pin(Keeping {
            inner: stream,
            into: Arc::clone(into),
            kept: Some(Vec::new()),
            bytes: 0,
        })
    }
}

/// A stream that keeps a copy of its batches (see [`KeptResults::keep`]).
struct Keeping {
    inner: SendableRecordBatchStream,
    into: Arc<OnceLock<KeptResults>>,
    /// The batches so far; `None` once they are not to be kept (too large, or an error).
    kept: Option<Vec<RecordBatch>>,
    bytes: usize,
}

impl futures::Stream for Keeping {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let next = std::task::ready!(self.inner.as_mut().poll_next(cx));
        let this = &mut *self;
        match &next {
            Some(Ok(batch)) => {
                this.bytes += batch.get_array_memory_size();
                if this.bytes > MAX_KEPT_BYTES {
                    this.kept = None;
                } else if let Some(kept) = this.kept.as_mut() {
                    kept.push(batch.clone());
                }
            }
            Some(Err(_)) => this.kept = None,
            None => {
                if let Some(batches) = this.kept.take() {
                    let _ = this.into.set(KeptResults {
                        schema: this.inner.schema(),
                        batches,
                    });
                }
            }
        }
        std::task::Poll::Ready(next)
    }
}

impl datafusion::execution::RecordBatchStream for Keeping {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}
