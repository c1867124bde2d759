//! The DataFusion table over the current snapshot.
//!
//! Scans read the snapshot pinned when the query starts executing (see [`crate::scan`]), so a
//! cached plan stays valid across refreshes. The record batch (and its key indexes) is built
//! once per snapshot version and shared by every query that reads that version.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::DFSchema;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use stagesql_catalog::SnapshotStore;

use crate::scan::{
    INDEXED_COLUMNS, KeyLookup, LookupValue, PinnedSnapshot, StageScanExec, TableData,
};
use crate::schema::stage_schema;

/// `aws.apigatewayv2_stage`: a read-only view of whatever snapshot the store holds.
#[derive(Debug)]
pub struct StageTable {
    data: Arc<TableData>,
}

impl StageTable {
    /// A table reading from `store`.
    pub fn new(store: Arc<SnapshotStore>) -> StageTable {
        StageTable {
            data: Arc::new(TableData::new(store)),
        }
    }

    /// The snapshot to pin for a query starting now; `None` before the first snapshot (a query
    /// that then scans the table fails with "still loading"; one that does not, runs).
    pub fn pin(&self) -> Result<Option<PinnedSnapshot>> {
        self.data.pin()
    }
}

/// `column = value` (either side) on an indexed column, where `value` reads no column and
/// calls only immutable functions (a literal, or an expression of literals and parameters):
/// the column's position in [`INDEXED_COLUMNS`] and the value expression.
fn lookup_parts(filter: &Expr) -> Option<(usize, &Expr)> {
    let Expr::BinaryExpr(b) = filter else {
        return None;
    };
    if b.op != Operator::Eq {
        return None;
    }
    let (column, value) = match (b.left.as_ref(), b.right.as_ref()) {
        (Expr::Column(c), v) | (v, Expr::Column(c)) if !matches!(v, Expr::Column(_)) => (c, v),
        _ => return None,
    };
    let which = INDEXED_COLUMNS
        .iter()
        .position(|(name, _)| *name == column.name)?;
    let mut constant = true;
    let _ = value.apply(|e| {
        constant &= match e {
            Expr::Column(_) | Expr::OuterReferenceColumn(..) => false,
            Expr::ScalarFunction(f) => {
                f.func.signature().volatility == datafusion::logical_expr::Volatility::Immutable
                    // A generic plan's `$n`: fixed for the run, read when the scan executes.
                    || crate::generic::reads_parameters(&f.func)
            }
            Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_) => false,
            Expr::AggregateFunction(_) | Expr::WindowFunction(_) => false,
            _ => true,
        };
        Ok(if constant {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    constant.then_some((which, value))
}

/// The value an indexed column is compared with: computed now from a constant expression
/// (no columns), or, when it reads a generic plan's parameters, each time the scan executes.
fn lookup_value(state: &dyn Session, value: &Expr) -> Result<LookupValue> {
    let physical = state.create_physical_expr(value.clone(), &DFSchema::empty())?;
    let mut reads_parameter = false;
    let _ = value.apply(|e| {
        reads_parameter |= matches!(e, Expr::ScalarFunction(f)
            if crate::generic::reads_parameters(&f.func));
        Ok(TreeNodeRecursion::Continue)
    });
    Ok(if reads_parameter {
        LookupValue::AtExecution(physical)
    } else {
        LookupValue::Known(crate::scan::constant_text(&physical)?)
    })
}

#[async_trait]
impl TableProvider for StageTable {
    fn schema(&self) -> SchemaRef {
        stage_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // One exact lookup is answered by the index; everything else stays a filter above.
        let mut taken = false;
        Ok(filters
            .iter()
            .map(|f| {
                if !taken && lookup_parts(f).is_some() {
                    taken = true;
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // The filter accepted above (exact) becomes a lookup of its value, computed now that
        // parameters have their values. Anything else that reached the scan (e.g. the
        // lookup folded to NULL once a parameter was bound) is applied here, since no filter
        // was left above for it.
        let mut lookup = None;
        let mut rest = Vec::new();
        for f in filters {
            match lookup_parts(f) {
                Some((which, value)) if lookup.is_none() => {
                    lookup = Some(KeyLookup {
                        which,
                        value: lookup_value(state, value)?,
                    });
                }
                _ => rest.push(f.clone()),
            }
        }
        let Some(predicate) = datafusion::logical_expr::utils::conjunction(rest) else {
            return Ok(Arc::new(StageScanExec::new(
                &stage_schema(),
                projection.cloned(),
                lookup,
                limit,
                Arc::clone(&self.data),
            )?));
        };
        let schema = stage_schema();
        let scan = Arc::new(StageScanExec::new(
            &schema,
            None,
            lookup,
            None,
            Arc::clone(&self.data),
        )?);
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let predicate = state.create_physical_expr(predicate, &df_schema)?;
        let filter = datafusion::physical_plan::filter::FilterExecBuilder::new(predicate, scan)
            .apply_projection(projection.cloned())?
            .with_fetch(limit)
            .build()?;
        Ok(Arc::new(filter))
    }
}
