//! The immutable snapshot queries read, and the store that publishes a new one atomically.
//!
//! Why immutable: a refresh builds the complete next snapshot off to the side while queries keep
//! reading the current one; publishing is one pointer swap. A query pins the `Arc` it loaded for
//! its whole life, so it never sees half of one refresh and half of another, and never waits.
//!
//! Why a snapshot keeps its rows in its reader's form: the engine reads an Arrow batch and key
//! indexes, and keeping the rows a second time as Rust structs (for the few paths that want rows:
//! merging a partial refresh, the status) doubled the memory of every stage. The store's
//! [`Derive`] turns the sorted rows into the reader's [`RowStore`] before the pointer swap, the
//! rows are then dropped, and those paths read rows back from the store one at a time. Building
//! it before publication also means the first query after a refresh finds it ready instead of
//! building it while clients wait. Publishing is therefore CPU work in proportion to the rows:
//! async callers publish from a blocking thread.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};

use crate::row::StageRow;
use crate::status::{StoreRole, StoreSync};

/// A snapshot's rows in the form its reader keeps them, able to give any row back.
///
/// The engine's Arrow form implements it; so does a plain `Vec<StageRow>` (a store without a
/// [`Derive`], and catalog tests).
pub trait RowStore: Send + Sync + 'static {
    /// How many rows.
    fn len(&self) -> usize;
    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `index` (`< len()`), rebuilt as a [`StageRow`].
    fn row(&self, index: usize) -> StageRow;
    /// The account and region of row `index`: what a refresh merges partitions by, read
    /// without rebuilding the row.
    fn partition(&self, index: usize) -> (&str, &str);
    /// The store as `Any`, for its reader to recover its own type.
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl RowStore for Vec<StageRow> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn row(&self, index: usize) -> StageRow {
        self[index].clone()
    }

    fn partition(&self, index: usize) -> (&str, &str) {
        let r = &self[index];
        (&r.account_id, &r.region)
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// Builds a reader's form of a snapshot's rows (sorted by `_key`); `None` when it cannot (the
/// snapshot then keeps the rows as they are, and the reader builds its form itself when it
/// first reads the snapshot, and reports the failure there).
pub type Derive = Arc<dyn Fn(&[StageRow]) -> Option<Arc<dyn RowStore>> + Send + Sync>;

/// Runs after every publish (and after the current snapshot is converted by
/// [`SnapshotStore::set_derive`]), once the previous form was released: the server returns the
/// memory a refresh freed to the system here.
pub type AfterPublish = Arc<dyn Fn() + Send + Sync>;

/// One complete, immutable view of every stage.
pub struct Snapshot {
    version: u64,
    built_at: DateTime<Utc>,
    /// The rows, sorted by `_key`, in the reader's form when the store has a [`Derive`].
    store: Arc<dyn RowStore>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field("built_at", &self.built_at)
            .field("rows", &self.store.len())
            .finish()
    }
}

impl Snapshot {
    /// A snapshot of `rows`, sorted by `_key` so every source yields a stable order.
    pub fn new(version: u64, rows: Vec<StageRow>) -> Snapshot {
        Snapshot::built(version, rows, Utc::now())
    }

    /// A snapshot of `rows` whose data was crawled at `built_at` (rows read back from disk, or
    /// carried over by a refresh that crawled nothing, keep the age of their crawl).
    pub fn built(version: u64, rows: Vec<StageRow>, built_at: DateTime<Utc>) -> Snapshot {
        Snapshot::derived(version, rows, built_at, None)
    }

    /// A snapshot of `rows` (sorted here) kept in the form `derive` builds, or as they are when
    /// there is no `derive` or it fails.
    fn derived(
        version: u64,
        mut rows: Vec<StageRow>,
        built_at: DateTime<Utc>,
        derive: Option<&Derive>,
    ) -> Snapshot {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        let store = match derive.and_then(|derive| derive(&rows)) {
            // The rows are dropped here: the derived form is the only copy kept.
            Some(store) => store,
            None => Arc::new(rows),
        };
        Snapshot {
            version,
            built_at,
            store,
        }
    }

    /// The rows in their kept form, for the reader that built it to recover its own type.
    pub fn store(&self) -> &Arc<dyn RowStore> {
        &self.store
    }

    /// Monotonic version, unique within one store: caches keyed by it stay valid until it changes.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When the data in this snapshot was crawled (its age is measured from here).
    pub fn built_at(&self) -> DateTime<Utc> {
        self.built_at
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the snapshot has no rows.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Every row, sorted by `_key`, rebuilt one at a time.
    pub fn rows(&self) -> impl Iterator<Item = StageRow> + '_ {
        (0..self.store.len()).map(|i| self.store.row(i))
    }

    /// The rows whose account and region `keep` accepts, sorted by `_key`; only those are
    /// rebuilt.
    pub fn rows_in<'a>(
        &'a self,
        keep: impl Fn(&str, &str) -> bool + 'a,
    ) -> impl Iterator<Item = StageRow> + 'a {
        (0..self.store.len()).filter_map(move |i| {
            let (account, region) = self.store.partition(i);
            keep(account, region).then(|| self.store.row(i))
        })
    }

    /// How many rows `keep` accepts by account and region (none is rebuilt).
    pub fn count_in(&self, keep: impl Fn(&str, &str) -> bool) -> usize {
        (0..self.store.len())
            .filter(|&i| {
                let (account, region) = self.store.partition(i);
                keep(account, region)
            })
            .count()
    }
}

/// Holds the current snapshot; `None` until the first one is published.
#[derive(Debug, Default)]
pub struct SnapshotStore {
    current: ArcSwapOption<Snapshot>,
    last_version: AtomicU64,
    /// Partitions done and total in the refresh under way (for the "still loading" message).
    progress: std::sync::Mutex<(usize, usize)>,
    /// Per-partition refresh outcomes.
    status: crate::status::StatusBoard,
    /// Whether the current snapshot was loaded from disk at startup (stale until a refresh).
    from_disk: std::sync::atomic::AtomicBool,
    /// How this server stands with the snapshot store, when it publishes to or follows one.
    store_sync: std::sync::Mutex<Option<StoreSync>>,
    /// How each snapshot's rows are kept, and what runs after each publish.
    hooks: Hooks,
}

/// The store's [`Derive`] and [`AfterPublish`], if set.
#[derive(Default)]
struct Hooks {
    derive: RwLock<Option<Derive>>,
    after_publish: RwLock<Option<AfterPublish>>,
}

/// The hook in `slot`, if set. A poisoned lock still holds a whole value (it is only ever
/// replaced), so it is read as it is.
fn current_hook<T: Clone>(slot: &RwLock<Option<T>>) -> Option<T> {
    slot.read().unwrap_or_else(|p| p.into_inner()).clone()
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooks")
    }
}

impl SnapshotStore {
    /// An empty store: queries fail with "still loading" until [`SnapshotStore::publish`].
    pub fn new() -> SnapshotStore {
        SnapshotStore::default()
    }

    /// The snapshot being served now, if any. Cheap: one atomic load and an `Arc` clone.
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.load_full()
    }

    /// Per-partition refresh outcomes.
    pub fn status(&self) -> &crate::status::StatusBoard {
        &self.status
    }

    /// Changes how this server stands with the snapshot store (starting from
    /// [`StoreSync::new`] of `role` the first time).
    pub fn update_store_sync(&self, role: StoreRole, change: impl FnOnce(&mut StoreSync)) {
        // Each change leaves a whole value: a poisoned lock still holds a consistent one.
        let mut sync = self.store_sync.lock().unwrap_or_else(|p| p.into_inner());
        change(sync.get_or_insert_with(|| StoreSync::new(role)));
    }

    /// How this server stands with the snapshot store; `None` without one.
    pub fn store_sync(&self) -> Option<StoreSync> {
        self.store_sync
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records refresh progress: `done` of `total` partitions crawled.
    pub fn set_progress(&self, done: usize, total: usize) {
        // The guarded value is two plain integers: a poisoned lock still holds a valid pair.
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = (done, total);
    }

    /// Refresh progress: partitions done and total.
    pub fn progress(&self) -> (usize, usize) {
        *self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes rows read back from disk at startup: served at once, marked stale (see
    /// [`SnapshotStore::serving_from_disk`]) until the first refresh publishes.
    pub fn publish_from_disk(&self, rows: Vec<StageRow>, built_at: DateTime<Utc>) -> Arc<Snapshot> {
        let snapshot = self.publish_built(rows, built_at);
        self.from_disk.store(true, Ordering::Relaxed);
        snapshot
    }

    /// Whether the snapshot being served is the one loaded from disk.
    pub fn serving_from_disk(&self) -> bool {
        self.from_disk.load(Ordering::Relaxed)
    }

    /// Keeps every snapshot published from now on in the form `derive` builds (built before it
    /// is made current), and converts the current one now if it is kept as plain rows.
    pub fn set_derive(&self, derive: Derive) {
        *self.hooks.derive.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&derive));
        let Some(current) = self.current() else {
            return;
        };
        let Ok(rows) = Arc::clone(current.store())
            .as_any()
            .downcast::<Vec<StageRow>>()
        else {
            return;
        };
        if let Some(store) = derive(&rows) {
            let converted = Arc::new(Snapshot {
                version: current.version,
                built_at: current.built_at,
                store,
            });
            // Same version, same rows: only if no refresh published a newer one meanwhile.
            self.current.compare_and_swap(&current, Some(converted));
            drop((current, rows));
            self.after_publish();
        }
    }

    /// Runs the [`AfterPublish`] hook, if one is set.
    fn after_publish(&self) {
        if let Some(after) = current_hook(&self.hooks.after_publish) {
            after();
        }
    }

    /// Runs `hook` after every publish from now on.
    pub fn set_after_publish(&self, hook: AfterPublish) {
        *self
            .hooks
            .after_publish
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    /// Publishes from a background thread ([`crate::background`]), for async callers
    /// (building the snapshot and its derived form is CPU work in proportion to the rows,
    /// which must not stall or outrun the tasks serving queries): rows crawled at `built_at`
    /// (now when `None`), marked as read from disk when `from_disk`. `None` if the job
    /// failed.
    pub async fn publish_off_runtime(
        self: &Arc<Self>,
        rows: Vec<StageRow>,
        built_at: Option<DateTime<Utc>>,
        from_disk: bool,
    ) -> Option<Arc<Snapshot>> {
        let store = Arc::clone(self);
        let published = crate::background::run("build", move || {
            let built_at = built_at.unwrap_or_else(Utc::now);
            if from_disk {
                store.publish_from_disk(rows, built_at)
            } else {
                store.publish_built(rows, built_at)
            }
        })
        .await;
        match published {
            Ok(snapshot) => Some(snapshot),
            Err(e) => {
                tracing::error!(cause = %e, "publishing the snapshot failed");
                None
            }
        }
    }

    /// Builds a snapshot of `rows` with the next version and makes it current in one atomic store.
    pub fn publish(&self, rows: Vec<StageRow>) -> Arc<Snapshot> {
        self.publish_built(rows, Utc::now())
    }

    /// [`SnapshotStore::publish`] for rows crawled at `built_at`.
    pub fn publish_built(&self, rows: Vec<StageRow>, built_at: DateTime<Utc>) -> Arc<Snapshot> {
        self.from_disk.store(false, Ordering::Relaxed);
        let version = self.last_version.fetch_add(1, Ordering::Relaxed) + 1;
        let derive = current_hook(&self.hooks.derive);
        let snapshot = Arc::new(Snapshot::derived(version, rows, built_at, derive.as_ref()));
        // The previous snapshot is released here unless a query still pins it.
        drop(self.current.swap(Some(Arc::clone(&snapshot))));
        self.after_publish();
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::StageContext;

    fn row(name: &str) -> StageRow {
        let ctx = StageContext {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            api_id: "api".into(),
        };
        let stage = crate::Stage {
            stage_name: Some(name.into()),
            ..Default::default()
        };
        StageRow::from_stage(&ctx, &stage).expect("named")
    }

    #[test]
    fn empty_until_published_then_versions_increase() {
        let store = SnapshotStore::new();
        assert!(store.current().is_none());
        let first = store.publish(vec![row("b"), row("a")]);
        assert_eq!(first.version(), 1);
        let names: Vec<String> = first.rows().map(|r| r.stage_name).collect();
        assert_eq!(names, ["a", "b"], "rows are sorted by key");
        let pinned = store.current().expect("published");
        let second = store.publish(vec![row("c")]);
        assert_eq!(second.version(), 2);
        assert_eq!(pinned.len(), 2, "a pinned snapshot never changes");
        assert_eq!(store.current().expect("published").version(), 2);
    }

    /// A reader's form that keeps only the stage names (and says so), to tell it apart.
    struct Names(Vec<StageRow>);

    impl RowStore for Names {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn row(&self, index: usize) -> StageRow {
            self.0[index].clone()
        }
        fn partition(&self, index: usize) -> (&str, &str) {
            (&self.0[index].account_id, &self.0[index].region)
        }
        fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
            self
        }
    }

    fn names_derive() -> Derive {
        Arc::new(|rows: &[StageRow]| Some(Arc::new(Names(rows.to_vec())) as Arc<dyn RowStore>))
    }

    fn is_names(snapshot: &Snapshot) -> bool {
        Arc::clone(snapshot.store())
            .as_any()
            .downcast::<Names>()
            .is_ok()
    }

    #[test]
    fn a_derived_form_replaces_the_rows_and_gives_them_back() {
        let store = SnapshotStore::new();
        let before = store.publish(vec![row("b"), row("a")]);
        assert!(
            !is_names(&before),
            "no derive: the rows are kept as they are"
        );
        store.set_derive(names_derive());
        let converted = store.current().expect("published");
        assert!(is_names(&converted), "the current snapshot is converted");
        assert_eq!(
            converted.version(),
            before.version(),
            "same rows, same version"
        );
        assert_eq!(converted.built_at(), before.built_at());
        let next = store.publish(vec![row("d"), row("c")]);
        assert!(
            is_names(&next),
            "later snapshots are derived before publication"
        );
        let names: Vec<String> = next.rows().map(|r| r.stage_name).collect();
        assert_eq!(names, ["c", "d"], "the derive sees the rows sorted");
    }

    #[test]
    fn a_failed_derive_keeps_the_rows() {
        let store = SnapshotStore::new();
        store.set_derive(Arc::new(|_: &[StageRow]| None));
        let s = store.publish(vec![row("a")]);
        assert_eq!(s.len(), 1);
        assert!(
            Arc::clone(s.store())
                .as_any()
                .downcast::<Vec<StageRow>>()
                .is_ok()
        );
    }

    #[test]
    fn rows_in_rebuilds_only_the_partitions_asked_for() {
        let mut other = row("z");
        other.region = "eu-west-1".into();
        let store = SnapshotStore::new();
        let s = store.publish(vec![row("a"), other, row("b")]);
        let east: Vec<String> = s
            .rows_in(|_, region| region == "us-east-1")
            .map(|r| r.stage_name)
            .collect();
        assert_eq!(east, ["a", "b"]);
        assert_eq!(s.rows_in(|account, _| account == "nobody").count(), 0);
    }

    #[test]
    fn after_publish_runs_once_per_publish() {
        let store = SnapshotStore::new();
        let runs = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&runs);
        store.set_after_publish(Arc::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        }));
        store.publish(vec![row("a")]);
        store.publish(vec![row("b")]);
        assert_eq!(runs.load(Ordering::Relaxed), 2);
    }
}
