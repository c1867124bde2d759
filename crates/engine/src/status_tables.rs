//! `stagesql.refresh_status` and `stagesql.snapshot_status`: the refresher's state, queryable
//! next to the data. Built at scan time from the store (a handful of rows).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
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
            ],
        };
        StatusTable {
            kind,
            store,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    fn batch(&self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = match self.kind {
            StatusKind::Refresh => {
                let all = self.store.status().all();
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
                    Arc::new(StringArray::from_iter_values(all.iter().map(|s| s.status))),
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
                let snap = self.store.current();
                let (done, total) = self.store.progress();
                let now = chrono::Utc::now();
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
                        snap.as_ref().map(|s| count(s.rows().len())),
                    ])),
                    Arc::new(Int64Array::from(vec![count(done)])),
                    Arc::new(Int64Array::from(vec![count(total)])),
                    Arc::new(BooleanArray::from(vec![self.store.serving_from_disk()])),
                ]
            }
        };
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
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
        let source = MemorySourceConfig::try_new(
            &[vec![self.batch()?]],
            Arc::clone(&self.schema),
            projection.cloned(),
        )?
        .with_limit(limit);
        Ok(DataSourceExec::from_data_source(source))
    }
}
