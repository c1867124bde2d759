//! The persisted snapshot (`source.snapshot_path`): read once at startup so queries are answered
//! before the first crawl ends, written after every published refresh and once more at
//! shutdown if the last write did not land.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use stagesql_catalog::{Snapshot, SnapshotStore};

/// Writes snapshots to one file and remembers which version is there, so a snapshot is
/// written at most once (a refresh and the shutdown do not both write the same version).
#[derive(Debug)]
pub struct SnapshotFile {
    path: PathBuf,
    /// The version the file holds, when known (a std Mutex: held for the write, never across
    /// an await; it also keeps two writers from racing on the temporary file).
    written: Mutex<Option<u64>>,
}

impl SnapshotFile {
    /// The file at `path`; nothing is read or written yet.
    pub fn new(path: PathBuf) -> SnapshotFile {
        SnapshotFile {
            path,
            written: Mutex::new(None),
        }
    }

    /// Serves the snapshot persisted in the file, if there is a readable one. A missing,
    /// corrupt or incompatible file is logged and ignored: the first crawl replaces it.
    pub fn load_into(&self, store: &SnapshotStore) {
        let path = &self.path;
        if !path.exists() {
            tracing::info!(path = %path.display(), "no persisted snapshot yet");
            return;
        }
        match stagesql_engine::persist::read_snapshot(path) {
            Ok(persisted) => {
                let snapshot = store.publish_from_disk(persisted.rows, persisted.built_at);
                if let Ok(mut written) = self.written.lock() {
                    *written = Some(snapshot.version());
                }
                tracing::info!(
                    path = %path.display(),
                    stages = snapshot.len(),
                    built_at = %snapshot.built_at(),
                    "serving the persisted snapshot (stale) until the first refresh"
                );
            }
            Err(e) => tracing::warn!(cause = %e, "ignoring the persisted snapshot"),
        }
    }

    /// Writes `snapshot` unless the file already holds its version. Returns whether the file
    /// now holds it; a failure is logged and counted, and the previous file is left whole.
    pub fn write(&self, snapshot: &Snapshot) -> bool {
        let Ok(mut written) = self.written.lock() else {
            return false;
        };
        if *written == Some(snapshot.version()) {
            return true;
        }
        let started = Instant::now();
        let result = stagesql_engine::persist::write_snapshot(&self.path, snapshot);
        metrics::histogram!("stagesql_snapshot_write_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(()) => {
                metrics::counter!("stagesql_snapshot_writes_total", "outcome" => "ok").increment(1);
                tracing::debug!(path = %self.path.display(), version = snapshot.version(), "snapshot persisted");
                *written = Some(snapshot.version());
                true
            }
            Err(e) => {
                metrics::counter!("stagesql_snapshot_writes_total", "outcome" => "error")
                    .increment(1);
                tracing::warn!(cause = %e, path = %self.path.display(), "cannot persist the snapshot");
                false
            }
        }
    }
}
