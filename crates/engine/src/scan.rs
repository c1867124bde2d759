//! The scan of `aws.apigatewayv2_stage`: reads the snapshot pinned for the running query when it
//! executes, not when it is planned, so a physical plan can be cached across snapshots; and
//! answers `_key = '…'` / `stage_arn = '…'` from a per-snapshot index (sorted rows and a hash
//! table, [`KeyIndex`]) instead of a filter over every row.

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwapOption;
use datafusion::arrow::array::{
    Array, ArrayRef, RecordBatch, RecordBatchOptions, StringArray, UInt32Array,
};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use stagesql_catalog::SnapshotStore;

use stagesql_catalog::{RowStore, StageRow};

use crate::batch::{ACCOUNT_ID, REGION, batch_row, snapshot_batch, text_value};
use crate::error::EngineError;
use crate::row_memo::RowMemo;

/// The columns with a hash index, by position in the table.
pub const INDEXED_COLUMNS: [(&str, usize); 2] = [("_key", 0), ("stage_arn", 13)];

/// One snapshot's data as a query sees it: the batch and its indexes. Built before the
/// snapshot is published ([`SnapshotData::derive`]); for a snapshot published before the
/// engine existed, on first use.
#[derive(Debug)]
pub struct SnapshotData {
    batch: RecordBatch,
    /// Per indexed column, its [`KeyIndex`]; one index serves both columns when they share
    /// one array (`_key` is the stage ARN).
    indexes: [OnceLock<Arc<KeyIndex>>; 2],
    /// Bytes made from its rows by readers, kept for the next reader (see [`crate::row_memo`]).
    memo: RowMemo,
}

/// One text column's index: its non-null rows sorted by value (equal values in row order,
/// four bytes a row), and a hash table from a value to where its run of rows starts there.
/// A lookup hashes once and reads one or two slots, where bisection over a million strings
/// touched twenty cold ones.
#[derive(Debug, Default)]
struct KeyIndex {
    sorted: Vec<u32>,
    /// Open addressing with linear probing, at most half full (so a probe always ends): per
    /// slot, the high 32 bits of the value's hash and, below them, 1 + the position in
    /// `sorted` where the value's run starts; 0 is an empty slot. Empty when there are too
    /// many rows for 32-bit positions, and lookups then bisect `sorted`.
    slots: Vec<u64>,
}

/// The bits of a slot that hold a hash.
const HASH_BITS: u64 = 0xFFFF_FFFF_0000_0000;

/// The hash a [`KeyIndex`] files a value under (SipHash with fixed keys: the same every run).
fn key_hash(value: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    h.write(value.as_bytes());
    h.finish()
}

impl KeyIndex {
    fn build(strings: &StringArray) -> KeyIndex {
        let mut sorted: Vec<u32> = (0..strings.len())
            .filter(|&r| strings.is_valid(r))
            .filter_map(|r| u32::try_from(r).ok())
            .collect();
        // Stable: equal values keep their row order.
        sorted.sort_by(|a, b| strings.value(*a as usize).cmp(strings.value(*b as usize)));
        sorted.shrink_to_fit();
        let at = |pos: usize| strings.value(sorted[pos] as usize);
        let runs: Vec<usize> = (0..sorted.len())
            .filter(|&pos| pos == 0 || at(pos) != at(pos - 1))
            .collect();
        if sorted.len() >= u32::MAX as usize {
            return KeyIndex {
                sorted,
                slots: Vec::new(),
            };
        }
        let mut slots = vec![0u64; (runs.len() * 2).next_power_of_two().max(8)];
        let mask = slots.len() - 1;
        for start in runs {
            let hash = key_hash(at(start));
            let mut slot = hash as usize & mask;
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = (hash & HASH_BITS) | (start as u64 + 1);
        }
        KeyIndex { sorted, slots }
    }

    /// The rows whose value is `value`, in row order.
    fn lookup<'a>(&'a self, strings: &StringArray, value: &str) -> &'a [u32] {
        let at = |pos: usize| strings.value(self.sorted[pos] as usize);
        let start = if self.slots.is_empty() {
            let start = self
                .sorted
                .partition_point(|&i| strings.value(i as usize) < value);
            if start == self.sorted.len() || at(start) != value {
                return &[];
            }
            start
        } else {
            let hash = key_hash(value);
            let mask = self.slots.len() - 1;
            let mut slot = hash as usize & mask;
            loop {
                let entry = self.slots[slot];
                if entry == 0 {
                    return &[];
                }
                if entry & HASH_BITS == hash & HASH_BITS {
                    let start = (entry & !HASH_BITS) as usize - 1;
                    if at(start) == value {
                        break start;
                    }
                }
                slot = (slot + 1) & mask;
            }
        };
        // A run is as long as the rows it returns (one, for a stage ARN).
        let mut end = start + 1;
        while end < self.sorted.len() && at(end) == value {
            end += 1;
        }
        &self.sorted[start..end]
    }
}

impl SnapshotData {
    /// Wraps a snapshot's batch.
    pub fn new(batch: RecordBatch) -> SnapshotData {
        SnapshotData {
            memo: RowMemo::new(batch.num_rows()),
            batch,
            indexes: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// The batch and both indexes of a snapshot's `rows`, built now: the store's
    /// [`Derive`](stagesql_catalog::Derive), run before the snapshot is made current. The
    /// snapshot then keeps only this.
    pub(crate) fn derive(rows: &[StageRow]) -> Option<Arc<SnapshotData>> {
        let batch = match snapshot_batch(rows) {
            Ok(batch) => batch,
            Err(e) => {
                // Queries build it again when they first read it, and fail with this there.
                tracing::warn!(cause = %e, "the snapshot's batch could not be built ahead");
                return None;
            }
        };
        let data = SnapshotData::new(batch);
        for which in 0..INDEXED_COLUMNS.len() {
            data.index(which);
        }
        Some(Arc::new(data))
    }

    /// The whole batch.
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// The bytes readers made from its rows and kept.
    pub fn memo(&self) -> &RowMemo {
        &self.memo
    }

    /// Rows in the snapshot.
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Rows whose indexed column `which` (an index into [`INDEXED_COLUMNS`]) equals `value`,
    /// in row order.
    fn lookup(&self, which: usize, value: &str) -> &[u32] {
        match self.strings(which) {
            Some(strings) => self.index(which).lookup(strings, value),
            None => &[],
        }
    }

    /// The text column `INDEXED_COLUMNS[which]`.
    fn strings(&self, which: usize) -> Option<&StringArray> {
        self.batch
            .column(INDEXED_COLUMNS[which].1)
            .as_any()
            .downcast_ref::<StringArray>()
    }

    /// The index of column `INDEXED_COLUMNS[which]`, built the first time it is asked for
    /// (or shared with another column holding the very same array).
    fn index(&self, which: usize) -> &KeyIndex {
        self.indexes[which].get_or_init(|| {
            let column = |w: usize| self.batch.column(INDEXED_COLUMNS[w].1);
            if let Some(same) = (0..which).find(|&w| Arc::ptr_eq(column(w), column(which))) {
                return Arc::clone(self.indexes[same].get_or_init(|| self.build_index(same)));
            }
            self.build_index(which)
        })
    }

    fn build_index(&self, which: usize) -> Arc<KeyIndex> {
        Arc::new(self.strings(which).map(KeyIndex::build).unwrap_or_default())
    }
}

/// The snapshot keeps its rows only here: a row is read back from the batch when merging or
/// persisting wants one.
impl RowStore for SnapshotData {
    fn len(&self) -> usize {
        self.batch.num_rows()
    }

    fn row(&self, index: usize) -> StageRow {
        batch_row(&self.batch, index)
    }

    fn partition(&self, index: usize) -> (&str, &str) {
        (
            text_value(&self.batch, ACCOUNT_ID, index).unwrap_or_default(),
            text_value(&self.batch, REGION, index).unwrap_or_default(),
        )
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

/// The snapshot a query reads, fixed when the query starts (a session-config extension), so
/// every scan of the table in one query (self-joins, subqueries) sees the same snapshot.
#[derive(Debug, Clone)]
pub struct PinnedSnapshot(pub Arc<SnapshotData>);

/// The snapshot a session would read now, as the wire sees it: its whole batch (the table's
/// columns in order) and its [`RowMemo`].
#[derive(Debug, Clone)]
pub struct TableRows(pub(crate) Arc<SnapshotData>);

impl TableRows {
    /// The snapshot's whole batch.
    pub fn batch(&self) -> &RecordBatch {
        self.0.batch()
    }

    /// The snapshot's memo.
    pub fn memo(&self) -> &RowMemo {
        self.0.memo()
    }
}

/// An exact-match lookup pushed into the scan: column `INDEXED_COLUMNS[which]` = `value`.
#[derive(Debug, Clone)]
pub struct KeyLookup {
    /// Which indexed column.
    pub which: usize,
    /// The value it must equal.
    pub value: LookupValue,
}

/// The value a [`KeyLookup`] looks for.
#[derive(Debug, Clone)]
pub enum LookupValue {
    /// Known at planning; `None` (NULL) matches no row.
    Known(Option<String>),
    /// Read from a generic plan's parameters each time the scan executes (see
    /// [`crate::generic`]): an expression of no columns.
    AtExecution(Arc<dyn PhysicalExpr>),
}

/// The store and the data built from its latest snapshot; scans hold it to read the snapshot
/// current when they execute, if the query pinned none.
#[derive(Debug)]
pub(crate) struct TableData {
    store: Arc<SnapshotStore>,
    /// The data of the most recently scanned snapshot, keyed by its version.
    cache: ArcSwapOption<(u64, Arc<SnapshotData>)>,
}

impl TableData {
    /// The data of `store`'s snapshots, none built yet.
    pub(crate) fn new(store: Arc<SnapshotStore>) -> TableData {
        TableData {
            store,
            cache: ArcSwapOption::empty(),
        }
    }

    /// The snapshot to pin for a query starting now; `None` before the first snapshot.
    pub(crate) fn pin(&self) -> Result<Option<PinnedSnapshot>> {
        if self.store.current().is_none() {
            return Ok(None);
        }
        self.current().map(|d| Some(PinnedSnapshot(d)))
    }

    /// The data for the current snapshot, building it if this version has not been seen.
    pub fn current(&self) -> Result<Arc<SnapshotData>> {
        let snapshot = self.store.current().ok_or_else(|| {
            let (done, total) = self.store.progress();
            DataFusionError::External(Box::new(EngineError::CatalogLoading { done, total }))
        })?;
        if let Ok(data) = Arc::clone(snapshot.store())
            .as_any()
            .downcast::<SnapshotData>()
        {
            return Ok(data);
        }
        if let Some(cached) = self.cache.load().as_deref()
            && cached.0 == snapshot.version()
        {
            return Ok(Arc::clone(&cached.1));
        }
        let rows: Vec<StageRow> = snapshot.rows().collect();
        let data = Arc::new(SnapshotData::new(snapshot_batch(&rows)?));
        // Two scans racing on a new version both build the same data; either store is right.
        self.cache
            .store(Some(Arc::new((snapshot.version(), Arc::clone(&data)))));
        Ok(data)
    }
}

/// The rows `rows` (ascending) of `columns`, as a batch of `schema`: zero-copy slices when
/// they are one contiguous run (a key lookup's usual single row), else a copy of just those
/// rows.
fn select_rows<'a>(
    schema: &SchemaRef,
    columns: impl Iterator<Item = &'a ArrayRef>,
    rows: &[u32],
) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = match (rows.first(), rows.last()) {
        (None, _) | (_, None) => columns.map(|c| c.slice(0, 0)).collect(),
        // Ascending and distinct, so a run exactly when the span equals the count.
        (Some(&first), Some(&last))
            if last.checked_sub(first).map(|d| d as usize + 1) == Some(rows.len()) =>
        {
            columns
                .map(|c| c.slice(first as usize, rows.len()))
                .collect()
        }
        _ => {
            let indices = UInt32Array::from(rows.to_vec());
            columns
                .map(|c| take(c.as_ref(), &indices, None))
                .collect::<std::result::Result<_, _>>()?
        }
    };
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )?)
}

/// Evaluates a constant expression (no columns) to the text an indexed column is compared
/// with; `None` for NULL, which no row equals.
pub(crate) fn constant_text(
    physical: &Arc<dyn datafusion::physical_expr::PhysicalExpr>,
) -> Result<Option<String>> {
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(datafusion::arrow::datatypes::Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let scalar = match physical.evaluate(&one_row)? {
        ColumnarValue::Scalar(s) => s,
        ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0)?,
    };
    Ok(match scalar {
        s if s.is_null() => None,
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Some(s),
        other => Some(other.to_string()),
    })
}

/// Reads the pinned snapshot at execution: all rows, or those a [`KeyLookup`] selects.
#[derive(Debug)]
pub struct StageScanExec {
    /// What to read when the query pinned no snapshot (a plan run outside `Session`).
    table: Arc<TableData>,
    projection: Option<Vec<usize>>,
    lookup: Option<KeyLookup>,
    limit: Option<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl StageScanExec {
    /// A scan of the table (`table_schema`) with an optional projection, lookup and limit.
    pub fn new(
        table_schema: &SchemaRef,
        projection: Option<Vec<usize>>,
        lookup: Option<KeyLookup>,
        limit: Option<usize>,
        table: Arc<TableData>,
    ) -> Result<StageScanExec> {
        let schema = match &projection {
            Some(p) => Arc::new(table_schema.project(p)?),
            None => Arc::clone(table_schema),
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(StageScanExec {
            table,
            projection,
            lookup,
            limit,
            schema,
            properties: Arc::new(properties),
        })
    }
}

impl StageScanExec {
    /// Whether this scan is an index lookup (a handful of rows at most).
    pub fn is_lookup(&self) -> bool {
        self.lookup.is_some()
    }
}

impl DisplayAs for StageScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "StageScanExec")?;
        if let Some(l) = &self.lookup {
            match &l.value {
                LookupValue::Known(Some(v)) => {
                    write!(f, ": {} = {v:?}", INDEXED_COLUMNS[l.which].0)?
                }
                LookupValue::Known(None) => write!(f, ": {} = NULL", INDEXED_COLUMNS[l.which].0)?,
                LookupValue::AtExecution(e) => write!(f, ": {} = {e}", INDEXED_COLUMNS[l.which].0)?,
            }
        }
        if let Some(n) = self.limit {
            write!(f, ", limit={n}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for StageScanExec {
    fn name(&self) -> &str {
        "StageScanExec"
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
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let data = match context.session_config().get_extension::<PinnedSnapshot>() {
            Some(pinned) => Arc::clone(&pinned.0),
            None => self.table.current()?,
        };
        let batch = self.read(&data)?;
        let stream = MemoryStream::try_new(vec![batch], Arc::clone(&self.schema), None)?;
        Ok(Box::pin(stream))
    }
}

impl StageScanExec {
    /// The rows this scan gives reading `data`: all of them, or those its lookup selects, in
    /// its projection, up to its limit.
    pub(crate) fn read(&self, data: &SnapshotData) -> Result<RecordBatch> {
        let Some(rows) = self.lookup_rows(data)? else {
            let whole = match &self.projection {
                Some(p) => data.batch().project(p)?,
                None => data.batch().clone(),
            };
            return Ok(match self.limit {
                Some(n) => whole.slice(0, n.min(whole.num_rows())),
                None => whole,
            });
        };
        // Only the columns the query reads are sliced (or copied), straight into a batch of
        // the scan's schema (the table's, projected), without projecting the whole batch
        // first.
        select_rows(&self.schema, self.columns(data), rows)
    }

    /// The rows of `data` this scan's key lookup selects (ascending), up to its limit; `None`
    /// when the scan is not a lookup.
    pub(crate) fn lookup_rows<'a>(&self, data: &'a SnapshotData) -> Result<Option<&'a [u32]>> {
        let Some(l) = &self.lookup else {
            return Ok(None);
        };
        let value = match &l.value {
            LookupValue::Known(v) => v.clone(),
            LookupValue::AtExecution(e) => constant_text(e)?,
        };
        let rows = match &value {
            Some(v) => data.lookup(l.which, v),
            None => &[],
        };
        Ok(Some(match self.limit {
            Some(n) => &rows[..n.min(rows.len())],
            None => rows,
        }))
    }

    /// The whole columns of `data` this scan reads, in its projection's order.
    pub(crate) fn columns<'a>(
        &'a self,
        data: &'a SnapshotData,
    ) -> impl Iterator<Item = &'a ArrayRef> + 'a {
        let columns = data.batch().columns();
        let projected = self
            .projection
            .as_deref()
            .map(|p| p.iter().map(move |&i| &columns[i]));
        let all = self.projection.is_none().then(|| columns.iter());
        projected
            .into_iter()
            .flatten()
            .chain(all.into_iter().flatten())
    }
}

/// Rows of a snapshot, as a prepared key lookup selects them, read without executing a plan
/// (see `Session::select_now`): the whole columns the statement reads and which of their
/// rows it gives, in order. The columns hold the snapshot's memory alive, not a copy.
#[derive(Debug)]
pub struct SelectedRows {
    /// The statement's result columns, each the whole column of the snapshot.
    pub columns: Vec<ArrayRef>,
    /// The rows of `columns` the statement gives, ascending.
    pub rows: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagesql_catalog::{BUNDLED_FIXTURE, parse_fixture};

    fn rows() -> Vec<stagesql_catalog::StageRow> {
        parse_fixture(BUNDLED_FIXTURE, "bundled").expect("fixture")
    }

    /// The first query after a refresh must not build the batch and indexes (78–124 ms at 20k
    /// stages, measured): they are built before the snapshot is published.
    #[test]
    fn a_snapshot_is_published_with_its_batch_and_indexes_built() {
        let store = Arc::new(SnapshotStore::new());
        let engine = crate::Engine::new(
            crate::EngineConfig::new("stagesql", "stagesql"),
            Arc::clone(&store),
        )
        .expect("engine");
        let published = store.publish(rows());
        let data = Arc::clone(published.store())
            .as_any()
            .downcast::<SnapshotData>()
            .expect("the engine's data, built before publication");
        assert_eq!(data.rows(), published.len());
        assert!(
            data.indexes.iter().all(|i| i.get().is_some()),
            "indexes built"
        );
        // Queries read that very data, not a copy built on first use.
        let table = TableData::new(Arc::clone(&store));
        assert!(Arc::ptr_eq(&table.current().expect("current"), &data));
        drop(engine);
    }

    /// A snapshot published before the engine existed (read from disk at startup) gets its
    /// data when the engine starts.
    #[test]
    fn the_snapshot_current_when_the_engine_starts_gets_its_data_then() {
        let store = Arc::new(SnapshotStore::new());
        let published = store.publish(rows());
        let is_data = |s: &stagesql_catalog::Snapshot| {
            Arc::clone(s.store())
                .as_any()
                .downcast::<SnapshotData>()
                .is_ok()
        };
        assert!(!is_data(&published));
        let _engine = crate::Engine::new(
            crate::EngineConfig::new("stagesql", "stagesql"),
            Arc::clone(&store),
        )
        .expect("engine");
        let current = store.current().expect("published");
        assert!(is_data(&current), "converted to the engine's data");
        assert_eq!(current.version(), published.version());
        let rows: Vec<_> = current.rows().collect();
        assert_eq!(rows, published.rows().collect::<Vec<_>>(), "the same rows");
    }

    /// The hash table finds exactly the rows a scan comparing every value finds: duplicates
    /// (in row order), the empty string, values absent from the column, NULLs never.
    #[test]
    fn key_index_lookups_match_a_full_comparison() {
        let mut values: Vec<Option<String>> = (0..5_000)
            .map(|i| match i % 7 {
                0 => None,
                1 => Some(String::new()),
                2 => Some(format!("dup{}", i % 5)),
                _ => Some(format!(
                    "arn:aws:apigateway:us-east-1::/apis/a{i}/stages/s{}",
                    i % 3
                )),
            })
            .collect();
        values.push(Some("zzz".to_owned()));
        let strings = StringArray::from(values.clone());
        let index = KeyIndex::build(&strings);
        assert!(!index.slots.is_empty(), "the hash table is built");
        let mut probes: Vec<String> = values.iter().flatten().cloned().collect();
        probes.extend(
            [
                "absent",
                "dup9",
                "arn:aws:apigateway:us-east-1::/apis/a7/stages/s9",
            ]
            .map(str::to_owned),
        );
        for probe in &probes {
            let want: Vec<u32> = (0..values.len() as u32)
                .filter(|&r| values[r as usize].as_deref() == Some(probe.as_str()))
                .collect();
            assert_eq!(index.lookup(&strings, probe), &want[..], "{probe:?}");
        }
        // Without the table (more rows than 32-bit positions), bisection gives the same.
        let bisecting = KeyIndex {
            sorted: index.sorted.clone(),
            slots: Vec::new(),
        };
        for probe in &probes {
            assert_eq!(
                bisecting.lookup(&strings, probe),
                index.lookup(&strings, probe),
                "{probe:?}"
            );
        }
    }

    /// `_key` and `stage_arn` share one array, and then one index.
    #[test]
    fn columns_sharing_an_array_share_an_index() {
        let data = SnapshotData::derive(&rows()).expect("derived");
        let (key, arn) = (
            data.indexes[0].get().expect("built"),
            data.indexes[1].get().expect("built"),
        );
        assert!(Arc::ptr_eq(key, arn));
        let first = rows().into_iter().next().expect("a row");
        assert!(!data.lookup(1, &first.stage_arn).is_empty());
    }

    /// A lookup's rows come out as the batch's own rows: a contiguous run is sliced (no copy),
    /// scattered rows are copied, none is an empty batch of the same columns.
    #[test]
    fn selected_rows_are_the_batches_rows_in_order() {
        let batch = snapshot_batch(&rows()).expect("batch");
        let keys = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("text")
            .clone();
        let key_at = |b: &RecordBatch, i: usize| {
            b.column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("text")
                .value(i)
                .to_owned()
        };
        let select = |rows: &[u32]| select_rows(&batch.schema(), batch.columns().iter(), rows);
        let run = select(&[1, 2, 3]).expect("run");
        assert_eq!(run.num_rows(), 3);
        assert_eq!(key_at(&run, 0), keys.value(1));
        assert_eq!(key_at(&run, 2), keys.value(3));
        let scattered = select(&[0, 2]).expect("scattered");
        assert_eq!(scattered.num_rows(), 2);
        assert_eq!(key_at(&scattered, 1), keys.value(2));
        let none = select(&[]).expect("none");
        assert_eq!(
            (none.num_rows(), none.num_columns()),
            (0, batch.num_columns())
        );
    }
}
