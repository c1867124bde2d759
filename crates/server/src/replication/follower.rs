//! The replica's side: poll the store's manifest (a conditional GET), and when it names a new
//! snapshot, download it, verify it (size, SHA-256, schema, row count) and swap it in whole,
//! as the crawler does after a refresh.
//!
//! Whatever goes wrong (the store unreachable, a manifest or object corrupt or truncated), the
//! replica keeps serving its last good snapshot and says why in `stagesql.snapshot_status`;
//! an object it refused is not downloaded again until the manifest changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use stagesql_catalog::SnapshotStore;
use stagesql_catalog::status::{PartitionState, StoreRole};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::manifest::{Manifest, sha256_hex};
use super::store::{ManifestRead, Store, StoreError};
use crate::snapshot_file::SnapshotFile;

/// What one poll did.
#[derive(Debug, PartialEq, Eq)]
pub enum Polled {
    /// The manifest has not changed.
    Unchanged,
    /// A new snapshot is being served.
    Applied {
        /// The store's manifest version.
        version: u64,
    },
}

/// Why a poll did not apply the manifest.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No crawler has published to the store yet.
    #[error("the store has no manifest yet (is a crawler publishing to {0}?)")]
    NoManifest(String),
    /// The manifest or the object it names is not a valid snapshot; the last good one stays.
    #[error("refused: {0}")]
    Refused(String),
}

/// The follower's memory between polls.
#[derive(Debug, Default)]
pub struct Follower {
    /// The ETag of the last manifest read (applied or refused).
    etag: Option<String>,
    /// The SHA-256 of the snapshot being served.
    serving: Option<String>,
    /// Why the manifest with `etag` was refused, if it was.
    refused: Option<String>,
    /// A crawler taking the store's snapshot at startup (see [`bootstrap`]), not a replica.
    bootstrap: bool,
}

/// A crawler that starts with nothing to serve (no snapshot file) takes the store's current
/// snapshot, served as stale until its first refresh replaces it, so a crawler on a new host is
/// not empty for a whole crawl and keeps the last good rows of partitions its first crawl
/// cannot reach.
pub async fn bootstrap(store: &Store, snapshots: &Arc<SnapshotStore>) -> Result<Polled, PollError> {
    let mut follower = Follower {
        bootstrap: true,
        ..Follower::default()
    };
    follower.poll(store, snapshots, None).await
}

impl Follower {
    /// Checks the manifest once and applies a new snapshot if it names one.
    pub async fn poll(
        &mut self,
        store: &Store,
        snapshots: &Arc<SnapshotStore>,
        file: Option<&Arc<SnapshotFile>>,
    ) -> Result<Polled, PollError> {
        let (bytes, etag) = match store.read_manifest(self.etag.as_deref()).await? {
            ManifestRead::NotModified => {
                return match &self.refused {
                    Some(why) => Err(PollError::Refused(why.clone())),
                    None => Ok(Polled::Unchanged),
                };
            }
            ManifestRead::Missing => return Err(PollError::NoManifest(store.url().to_owned())),
            ManifestRead::Found { bytes, etag } => (bytes, etag),
        };
        match self.apply(store, snapshots, file, &bytes).await {
            Ok(polled) => {
                self.etag = etag;
                self.refused = None;
                Ok(polled)
            }
            Err(PollError::Refused(why)) => {
                // Not downloaded again until the manifest changes.
                self.etag = etag;
                self.refused = Some(why.clone());
                Err(PollError::Refused(why))
            }
            Err(e) => Err(e),
        }
    }

    async fn apply(
        &mut self,
        store: &Store,
        snapshots: &Arc<SnapshotStore>,
        file: Option<&Arc<SnapshotFile>>,
        manifest: &[u8],
    ) -> Result<Polled, PollError> {
        let manifest = Manifest::parse(manifest).map_err(PollError::Refused)?;
        if self.serving.as_deref() == Some(manifest.sha256.as_str()) {
            // The same snapshot (e.g. a crawler restarted): only the statuses may be newer.
            show_partitions(snapshots, &manifest);
            return Ok(Polled::Unchanged);
        }
        let key = store.key(&manifest.key);
        let bytes = store.get_snapshot(&key).await?;
        if bytes.len() as u64 != manifest.size {
            return Err(PollError::Refused(format!(
                "{key} is {} bytes but the manifest says {} (truncated or replaced)",
                bytes.len(),
                manifest.size
            )));
        }
        let name = key.to_string();
        let expected = manifest.sha256.clone();
        let stage_count = manifest.stage_count;
        // Hashing and decoding a large snapshot is CPU work: a background job.
        let decoded = stagesql_catalog::background::run("decode", move || {
            let sha = sha256_hex(&bytes);
            if sha != expected {
                return Err(format!(
                    "{name} has SHA-256 {sha} but the manifest says {expected} (corrupt)"
                ));
            }
            let persisted = stagesql_engine::persist::decode_snapshot(&bytes, &name)
                .map_err(|e| e.to_string())?;
            if persisted.rows.len() as u64 != stage_count {
                return Err(format!(
                    "{name} holds {} stages but the manifest says {stage_count}",
                    persisted.rows.len()
                ));
            }
            Ok(persisted)
        })
        .await
        .map_err(|e| PollError::Store(StoreError::Store(e.to_string())))?
        .map_err(PollError::Refused)?;
        // The crawler's crawl time, so the age a replica shows is the data's.
        let snapshot = snapshots
            .publish_off_runtime(decoded.rows, Some(manifest.built_at), self.bootstrap)
            .await
            .ok_or_else(|| PollError::Store(StoreError::Store("publishing stopped".to_owned())))?;
        show_partitions(snapshots, &manifest);
        self.serving = Some(manifest.sha256.clone());
        if self.bootstrap {
            tracing::info!(
                version = manifest.version,
                stages = manifest.stage_count,
                built_at = %manifest.built_at,
                "serving the store's snapshot (stale) until the first refresh"
            );
            return Ok(Polled::Applied {
                version: manifest.version,
            });
        }
        let lag = (Utc::now() - manifest.published_at).num_milliseconds() as f64 / 1000.0;
        snapshots.update_store_sync(StoreRole::Replica, |s| {
            s.version = Some(manifest.version);
            s.published_at = Some(manifest.published_at);
            s.lag_seconds = Some(lag.max(0.0));
        });
        metrics::gauge!("stagesql_store_lag_seconds").set(lag.max(0.0));
        tracing::info!(
            version = manifest.version,
            stages = manifest.stage_count,
            built_at = %manifest.built_at,
            lag_seconds = lag,
            "serving the store's new snapshot"
        );
        if let Some(file) = file {
            let file = Arc::clone(file);
            // A file write: a background job.
            let _ = stagesql_catalog::background::run("file", move || file.write(&snapshot)).await;
        }
        Ok(Polled::Applied {
            version: manifest.version,
        })
    }
}

/// The crawler's statuses, as of the manifest, become this replica's `refresh_status`.
fn show_partitions(snapshots: &Arc<SnapshotStore>, manifest: &Manifest) {
    let total = manifest
        .partitions
        .iter()
        .filter(|p| p.region != "*" && p.status != PartitionState::Skipped)
        .count();
    let done = manifest
        .partitions
        .iter()
        .filter(|p| {
            p.region != "*" && matches!(p.status, PartitionState::Ok | PartitionState::Partial)
        })
        .count();
    snapshots.set_progress(done, total);
    snapshots.status().replace_all(manifest.partitions.clone());
}

/// Starts following the store; it polls every `interval` until `token` is cancelled.
pub fn spawn(
    store: Store,
    snapshots: Arc<SnapshotStore>,
    file: Option<Arc<SnapshotFile>>,
    interval: Duration,
    token: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut follower = Follower::default();
        snapshots.update_store_sync(StoreRole::Replica, |_| {});
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                () = token.cancelled() => return,
                r = follower.poll(&store, &snapshots, file.as_ref()) => r,
            };
            let outcome = match &result {
                Ok(Polled::Unchanged) => "unchanged",
                Ok(Polled::Applied { .. }) => "applied",
                Err(PollError::Refused(_)) => "refused",
                Err(_) => "error",
            };
            metrics::counter!("stagesql_store_polls_total", "outcome" => outcome).increment(1);
            metrics::histogram!("stagesql_store_poll_duration_seconds")
                .record(started.elapsed().as_secs_f64());
            match result {
                Ok(_) => {
                    metrics::gauge!("stagesql_store_last_success_timestamp_seconds")
                        .set(Utc::now().timestamp() as f64);
                    snapshots.update_store_sync(StoreRole::Replica, |s| s.succeeded());
                }
                Err(e) => {
                    let first = snapshots
                        .store_sync()
                        .is_none_or(|s| s.error.as_deref() != Some(&e.to_string()));
                    // Logged when it changes, not at every poll.
                    if first {
                        if matches!(e, PollError::Refused(_)) {
                            tracing::error!(cause = %e, store = %store.url(), "the store's snapshot was refused; serving the last good one");
                        } else {
                            tracing::warn!(cause = %e, store = %store.url(), "cannot read the store; serving the last good snapshot");
                        }
                    }
                    snapshots.update_store_sync(StoreRole::Replica, |s| s.failed(e.to_string()));
                }
            }
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    })
}
