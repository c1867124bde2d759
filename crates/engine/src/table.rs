//! The DataFusion table over the current snapshot.
//!
//! Scans pin the snapshot that is current when the plan is executed, so a cached plan stays valid
//! across refreshes. The record batch is built once per snapshot version and shared by every
//! query that reads that version.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use stagesql_catalog::SnapshotStore;

use crate::batch::snapshot_batch;
use crate::error::EngineError;
use crate::schema::stage_schema;

/// The batch a query reads, fixed when the query starts (a session-config extension), so every
/// scan of the table in one query (self-joins, subqueries) sees the same snapshot.
#[derive(Debug, Clone)]
pub struct PinnedBatch(pub RecordBatch);

/// `aws.apigatewayv2_stage`: a read-only view of whatever snapshot the store holds.
#[derive(Debug)]
pub struct StageTable {
    store: Arc<SnapshotStore>,
    /// The batch of the most recently scanned snapshot, keyed by its version.
    cache: ArcSwapOption<(u64, RecordBatch)>,
}

impl StageTable {
    /// A table reading from `store`.
    pub fn new(store: Arc<SnapshotStore>) -> StageTable {
        StageTable {
            store,
            cache: ArcSwapOption::empty(),
        }
    }

    /// The batch to pin for a query starting now; `None` before the first snapshot (a query that
    /// then scans the table fails with "still loading"; one that does not, runs).
    pub fn pin(&self) -> Result<Option<PinnedBatch>> {
        if self.store.current().is_none() {
            return Ok(None);
        }
        self.current_batch().map(|b| Some(PinnedBatch(b)))
    }

    /// The batch for the current snapshot, building it if this version has not been seen.
    pub fn current_batch(&self) -> Result<RecordBatch> {
        let snapshot = self.store.current().ok_or_else(|| {
            let (done, total) = self.store.progress();
            DataFusionError::External(Box::new(EngineError::CatalogLoading { done, total }))
        })?;
        if let Some(cached) = self.cache.load().as_deref()
            && cached.0 == snapshot.version()
        {
            return Ok(cached.1.clone());
        }
        let batch = snapshot_batch(&snapshot)?;
        // Two scans racing on a new version both build the same batch; either store is right.
        self.cache
            .store(Some(Arc::new((snapshot.version(), batch.clone()))));
        Ok(batch)
    }
}

#[async_trait]
impl TableProvider for StageTable {
    fn schema(&self) -> SchemaRef {
        stage_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = match state.config().get_extension::<PinnedBatch>() {
            Some(pinned) => pinned.0.clone(),
            None => self.current_batch()?,
        };
        let source =
            MemorySourceConfig::try_new(&[vec![batch]], stage_schema(), projection.cloned())?
                .with_limit(limit);
        Ok(datafusion::datasource::source::DataSourceExec::from_data_source(source))
    }
}
