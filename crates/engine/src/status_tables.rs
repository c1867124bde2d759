//! `stagesql.refresh_status` and `stagesql.snapshot_status`: the refresher's state, queryable
//! next to the data. Built from the store each time a plan runs (a handful of rows), never at
//! planning: a kept plan run again must show the state of now, not of when it was planned.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use stagesql_catalog::SnapshotStore;

/// Which status table.
#[derive(Debug, Clone, Copy)]
pub enum StatusKind {
    /// One row per (account, region).
    Refresh,
    /// One row about the snapshot being served.
    Snapshot,
}

/// A status table over the store.
#[derive(Debug)]
pub struct StatusTable {
    kind: StatusKind,
    store: Arc<SnapshotStore>,
    schema: SchemaRef,
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl StatusTable {
    /// The table of `kind` over `store`.
    pub fn new(kind: StatusKind, store: Arc<SnapshotStore>) -> StatusTable {
        let fields = match kind {
            StatusKind::Refresh => vec![
                Field::new("account_id", DataType::Utf8, false),
                Field::new("region", DataType::Utf8, false),
                Field::new("last_attempt", ts(), false),
                Field::new("last_success", ts(), true),
                Field::new("status", DataType::Utf8, false),
                Field::new("error", DataType::Utf8, true),
                Field::new("stage_count", DataType::Int64, false),
                Field::new("api_count", DataType::Int64, false),
                Field::new("api_calls", DataType::Int64, false),
                Field::new("throttled_calls", DataType::Int64, false),
                Field::new("duration_ms", DataType::Int64, false),
            ],
            StatusKind::Snapshot => vec![
                Field::new("version", DataType::Int64, true),
                Field::new("built_at", ts(), true),
                Field::new("age_seconds", DataType::Float64, true),
                Field::new("stage_count", DataType::Int64, true),
                Field::new("partitions_done", DataType::Int64, false),
                Field::new("partitions_total", DataType::Int64, false),
                Field::new("from_disk", DataType::Boolean, false),
                Field::new("store_role", DataType::Utf8, true),
                Field::new("store_version", DataType::Int64, true),
                Field::new("store_published_at", ts(), true),
                Field::new("store_synced_at", ts(), true),
                Field::new("store_error", DataType::Utf8, true),
                Field::new("store_failures", DataType::Int64, true),
                Field::new("lag_seconds", DataType::Float64, true),
            ],
        };
        StatusTable {
            kind,
            store,
            schema: Arc::new(Schema::new(fields)),
        }
    }
}

/// The rows of the `kind` table as the store holds them now.
fn status_batch(
    kind: StatusKind,
    store: &SnapshotStore,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    {
        let columns: Vec<ArrayRef> = match kind {
            StatusKind::Refresh => {
                let all = store.status().all();
                vec![
                    Arc::new(StringArray::from_iter_values(
                        all.iter().map(|s| &s.account_id),
                    )),
                    Arc::new(StringArray::from_iter_values(all.iter().map(|s| &s.region))),
                    Arc::new(TimestampMicrosecondArray::from_iter_values(
                        all.iter().map(|s| s.last_attempt.timestamp_micros()),
                    )),
                    Arc::new(TimestampMicrosecondArray::from_iter(
                        all.iter()
                            .map(|s| s.last_success.map(|t| t.timestamp_micros())),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        all.iter().map(|s| s.status.as_str()),
                    )),
                    Arc::new(StringArray::from_iter(
                        all.iter().map(|s| s.error.as_deref()),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        all.iter().map(|s| count(s.stage_count)),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        all.iter().map(|s| count(s.api_count)),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        all.iter().map(|s| count(s.api_calls)),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        all.iter().map(|s| count(s.throttled_calls)),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        all.iter()
                            .map(|s| i64::try_from(s.duration_ms).unwrap_or(i64::MAX)),
                    )),
                ]
            }
            StatusKind::Snapshot => {
                let snap = store.current();
                let (done, total) = store.progress();
                let now = chrono::Utc::now();
                let sync = store.store_sync();
                let sync = sync.as_ref();
                let micros =
                    |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_micros());
                vec![
                    Arc::new(Int64Array::from(vec![
                        snap.as_ref()
                            .map(|s| i64::try_from(s.version()).unwrap_or(i64::MAX)),
                    ])),
                    Arc::new(TimestampMicrosecondArray::from(vec![
                        snap.as_ref().map(|s| s.built_at().timestamp_micros()),
                    ])),
                    Arc::new(Float64Array::from(vec![snap.as_ref().map(|s| {
                        (now - s.built_at()).num_milliseconds() as f64 / 1000.0
                    })])),
                    Arc::new(Int64Array::from(vec![
                        snap.as_ref().map(|s| count(s.len())),
                    ])),
                    Arc::new(Int64Array::from(vec![count(done)])),
                    Arc::new(Int64Array::from(vec![count(total)])),
                    Arc::new(BooleanArray::from(vec![store.serving_from_disk()])),
                    Arc::new(StringArray::from(vec![sync.map(|s| s.role.as_str())])),
                    Arc::new(Int64Array::from(vec![sync.and_then(|s| {
                        s.version.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
                    })])),
                    Arc::new(TimestampMicrosecondArray::from(vec![micros(
                        sync.and_then(|s| s.published_at),
                    )])),
                    Arc::new(TimestampMicrosecondArray::from(vec![micros(
                        sync.and_then(|s| s.last_success),
                    )])),
                    Arc::new(StringArray::from(vec![
                        sync.and_then(|s| s.error.as_deref()),
                    ])),
                    Arc::new(Int64Array::from(vec![
                        sync.map(|s| i64::try_from(s.failures).unwrap_or(i64::MAX)),
                    ])),
                    Arc::new(Float64Array::from(vec![sync.and_then(|s| s.lag_seconds)])),
                ]
            }
        };
        Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
    }
}

#[async_trait]
impl TableProvider for StatusTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => Arc::clone(&self.schema),
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&projected)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(Arc::new(StatusExec {
            kind: self.kind,
            store: Arc::clone(&self.store),
            schema: Arc::clone(&self.schema),
            projection: projection.cloned(),
            limit,
            properties: Arc::new(properties),
        }))
    }
}

/// Reads a status table when it runs (see the module doc).
#[derive(Debug)]
struct StatusExec {
    kind: StatusKind,
    store: Arc<SnapshotStore>,
    /// The whole table's schema (the projection applies to the batch built from it).
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for StatusExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "StatusExec: {:?}", self.kind)
    }
}

impl ExecutionPlan for StatusExec {
    fn name(&self) -> &str {
        "StatusExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut batch = status_batch(self.kind, &self.store, &self.schema)?;
        if let Some(p) = &self.projection {
            batch = batch.project(p)?;
        }
        if let Some(n) = self.limit {
            batch = batch.slice(0, n.min(batch.num_rows()));
        }
        let schema = batch.schema();
        Ok(Box::pin(MemoryStream::try_new(vec![batch], schema, None)?))
    }
}
