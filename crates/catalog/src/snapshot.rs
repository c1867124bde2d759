//! The immutable snapshot queries read, and the store that publishes a new one atomically.
//!
//! Why immutable: a refresh builds the complete next snapshot off to the side while queries keep
//! reading the current one; publishing is one pointer swap. A query pins the `Arc` it loaded for
//! its whole life, so it never sees half of one refresh and half of another, and never waits.
//!
//! What a reader needs built from the rows (the engine's Arrow batch and key indexes) is built
//! by the store's [`Derive`] before the pointer swap, so the first query after a refresh finds
//! it ready instead of building it while clients wait. Publishing is therefore CPU work in
//! proportion to the rows: async callers publish from a blocking thread.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};

use crate::row::StageRow;
use crate::status::{StoreRole, StoreSync};

/// What a reader builds from a snapshot, kept with it (see [`SnapshotStore::set_derive`]).
pub type Derived = Arc<dyn Any + Send + Sync>;

/// Builds a reader's form of a snapshot; `None` when it cannot (the reader then builds it
/// itself when it first reads the snapshot, and reports the failure there).
pub type Derive = Arc<dyn Fn(&Snapshot) -> Option<Derived> + Send + Sync>;

/// One complete, immutable view of every stage.
#[derive(Debug)]
pub struct Snapshot {
    version: u64,
    built_at: DateTime<Utc>,
    rows: Vec<StageRow>,
    /// The reader's form, built before publication.
    derived: OnceLock<Derived>,
}

impl Snapshot {
    /// A snapshot of `rows`, sorted by `_key` so every source yields a stable order.
    pub fn new(version: u64, rows: Vec<StageRow>) -> Snapshot {
        Snapshot::built(version, rows, Utc::now())
    }

    /// A snapshot of `rows` whose data was crawled at `built_at` (rows read back from disk, or
    /// carried over by a refresh that crawled nothing, keep the age of their crawl).
    pub fn built(version: u64, mut rows: Vec<StageRow>, built_at: DateTime<Utc>) -> Snapshot {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        Snapshot {
            version,
            built_at,
            rows,
            derived: OnceLock::new(),
        }
    }

    /// The reader's form of this snapshot, if the store's [`Derive`] built it.
    pub fn derived(&self) -> Option<&Derived> {
        self.derived.get()
    }

    /// Monotonic version, unique within one store: caches keyed by it stay valid until it changes.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When the data in this snapshot was crawled (its age is measured from here).
    pub fn built_at(&self) -> DateTime<Utc> {
        self.built_at
    }

    /// The rows, sorted by `_key`.
    pub fn rows(&self) -> &[StageRow] {
        &self.rows
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
    /// What is built from each snapshot before it is published.
    derive: DeriveSlot,
}

/// The store's [`Derive`], if one is set.
#[derive(Default)]
struct DeriveSlot(RwLock<Option<Derive>>);

impl std::fmt::Debug for DeriveSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeriveSlot")
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

    /// Builds every snapshot published from now on with `derive` before it is made current,
    /// and the current one now if it has no derived form yet.
    pub fn set_derive(&self, derive: Derive) {
        if let Some(current) = self.current()
            && current.derived.get().is_none()
            && let Some(derived) = derive(&current)
        {
            let _ = current.derived.set(derived);
        }
        *self.derive.0.write().unwrap_or_else(|p| p.into_inner()) = Some(derive);
    }

    /// Publishes from a blocking thread, for async callers (building the snapshot and its
    /// derived form is CPU work in proportion to the rows, which must not stall the tasks
    /// serving queries): rows crawled at `built_at` (now when `None`), marked as read from
    /// disk when `from_disk`. `None` if the thread failed.
    pub async fn publish_off_runtime(
        self: &Arc<Self>,
        rows: Vec<StageRow>,
        built_at: Option<DateTime<Utc>>,
        from_disk: bool,
    ) -> Option<Arc<Snapshot>> {
        let store = Arc::clone(self);
        let published = tokio::task::spawn_blocking(move || {
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
        let snapshot = Snapshot::built(version, rows, built_at);
        let derive = self
            .derive
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(derived) = derive.and_then(|derive| derive(&snapshot)) {
            let _ = snapshot.derived.set(derived);
        }
        let snapshot = Arc::new(snapshot);
        self.current.store(Some(Arc::clone(&snapshot)));
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
        assert_eq!(first.rows()[0].stage_name, "a", "rows are sorted by key");
        let pinned = store.current().expect("published");
        let second = store.publish(vec![row("c")]);
        assert_eq!(second.version(), 2);
        assert_eq!(pinned.rows().len(), 2, "a pinned snapshot never changes");
        assert_eq!(store.current().expect("published").version(), 2);
    }
}
