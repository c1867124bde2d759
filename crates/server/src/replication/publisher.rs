//! The crawler's side: every snapshot the refresher publishes is also written to the store,
//! object first, then the manifest (conditionally), then old objects are cleaned up.
//!
//! Publishing never delays serving: the refresher hands the snapshot over through a watch
//! channel and goes on. If the store fails, the upload is retried on a growing backoff; if a
//! newer snapshot arrives meanwhile, that one is published instead (only the latest matters).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use stagesql_catalog::status::StoreRole;
use stagesql_catalog::{Snapshot, SnapshotStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::manifest::{FORMAT, Manifest, object_key, publisher_id, sha256_hex};
use super::store::{ManifestRead, Store, StoreError};

/// How long published objects are kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Objects kept besides the current one.
    pub retain: usize,
    /// An object is deleted only once it was last named (and written) at least this long ago.
    pub grace: Duration,
}

/// The first wait after a failed publish; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between publish attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What one publish did.
#[derive(Debug, PartialEq, Eq)]
pub enum Published {
    /// A new manifest names the snapshot.
    New {
        /// The manifest's version.
        version: u64,
    },
    /// The manifest already names these exact bytes.
    Unchanged {
        /// The manifest's version.
        version: u64,
    },
    /// The store holds data crawled later than this snapshot (another crawler publishes to
    /// it): this one is not published, so the store never goes back in time.
    Superseded {
        /// The manifest's version.
        version: u64,
        /// Who published it.
        publisher: String,
    },
}

/// Starts the publisher; it runs until `token` is cancelled or the sender is dropped.
pub fn spawn(
    store: Store,
    retention: Retention,
    snapshots: Arc<SnapshotStore>,
    mut latest: watch::Receiver<Option<Arc<Snapshot>>>,
    token: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut encoded: Option<Encoded> = None;
        snapshots.update_store_sync(StoreRole::Publisher, |_| {});
        loop {
            tokio::select! {
                () = token.cancelled() => return,
                changed = latest.changed() => if changed.is_err() { return },
            }
            let mut backoff = FIRST_BACKOFF;
            loop {
                let Some(snapshot) = latest.borrow_and_update().clone() else {
                    break;
                };
                let started = Instant::now();
                let result = tokio::select! {
                    () = token.cancelled() => return,
                    r = publish(&store, &snapshot, &snapshots, retention, &mut encoded) => r,
                };
                metrics::histogram!("stagesql_store_publish_duration_seconds")
                    .record(started.elapsed().as_secs_f64());
                match result {
                    Ok(published) => {
                        record_success(&snapshots, &published);
                        if let Err(e) = clean_up(&store, retention).await {
                            tracing::warn!(cause = %e, store = %store.url(), "cannot delete old snapshot objects; retrying after the next publish");
                        }
                        break;
                    }
                    Err(e) => {
                        let conflict = matches!(e, StoreError::Conflict(_));
                        let outcome = if conflict { "conflict" } else { "error" };
                        metrics::counter!("stagesql_store_publishes_total", "outcome" => outcome)
                            .increment(1);
                        tracing::warn!(
                            cause = %e,
                            store = %store.url(),
                            retry_in_seconds = backoff.as_secs(),
                            "cannot publish the snapshot to the store; serving goes on"
                        );
                        snapshots.update_store_sync(StoreRole::Publisher, |s| {
                            s.failed(e.to_string());
                        });
                    }
                }
                // A newer snapshot cuts the wait short: it is the one to publish now.
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                    changed = latest.changed() => if changed.is_err() { return },
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    })
}

fn record_success(snapshots: &SnapshotStore, published: &Published) {
    let (outcome, version) = match published {
        Published::New { version } => ("ok", *version),
        Published::Unchanged { version } => ("unchanged", *version),
        Published::Superseded { version, publisher } => {
            tracing::warn!(
                version,
                publisher = %publisher,
                "the store holds a snapshot crawled later by another crawler; not publishing an older one (run one crawler per store)"
            );
            ("superseded", *version)
        }
    };
    metrics::counter!("stagesql_store_publishes_total", "outcome" => outcome).increment(1);
    metrics::gauge!("stagesql_store_last_success_timestamp_seconds")
        .set(Utc::now().timestamp() as f64);
    snapshots.update_store_sync(StoreRole::Publisher, |s| {
        s.succeeded();
        s.version = Some(version);
        if !matches!(published, Published::Superseded { .. }) {
            s.published_at = s.last_success;
        }
    });
}

/// One snapshot's encoded bytes, kept across retries of its upload (start with `None`).
pub struct Encoded {
    /// The snapshot's local version.
    local_version: u64,
    bytes: Bytes,
    sha256: String,
}

/// Writes `snapshot` as the store's new current snapshot: the object (create-only), then the
/// manifest if it is still the one read, carrying `snapshots`' partition statuses.
pub async fn publish(
    store: &Store,
    snapshot: &Arc<Snapshot>,
    snapshots: &SnapshotStore,
    retention: Retention,
    encoded: &mut Option<Encoded>,
) -> Result<Published, StoreError> {
    if encoded
        .as_ref()
        .is_none_or(|e| e.local_version != snapshot.version())
    {
        let owned = Arc::clone(snapshot);
        // Encoding a large snapshot is CPU work: a background job.
        let bytes = stagesql_catalog::background::run("encode", move || {
            stagesql_engine::persist::encode_snapshot(&owned)
        })
        .await
        .map_err(|e| StoreError::Store(e.to_string()))?
        .map_err(|e| StoreError::Store(e.to_string()))?;
        let sha256 = sha256_hex(&bytes);
        *encoded = Some(Encoded {
            local_version: snapshot.version(),
            bytes: Bytes::from(bytes),
            sha256,
        });
    }
    let Some(object) = encoded.as_ref() else {
        return Err(StoreError::Store("no encoded snapshot".to_owned()));
    };
    let (previous, etag) = match store.read_manifest(None).await? {
        ManifestRead::Found { bytes, etag } => match Manifest::parse(&bytes) {
            Ok(m) => (Some(m), etag),
            // A manifest this server cannot read is replaced (conditionally) by a good one.
            Err(e) => {
                tracing::warn!(cause = %e, "replacing an unreadable manifest");
                (None, etag)
            }
        },
        ManifestRead::Missing | ManifestRead::NotModified => (None, None),
    };
    if let Some(prev) = &previous {
        if prev.sha256 == object.sha256 {
            return Ok(Published::Unchanged {
                version: prev.version,
            });
        }
        if prev.built_at > snapshot.built_at() {
            return Ok(Published::Superseded {
                version: prev.version,
                publisher: prev.publisher.clone(),
            });
        }
    }
    let version = previous.as_ref().map_or(1, |p| p.version.saturating_add(1));
    let key = object_key(version, &object.sha256);
    store
        .put_new(&store.key(&key), object.bytes.clone())
        .await?;
    let now = Utc::now();
    let grace = chrono::Duration::from_std(retention.grace).unwrap_or(chrono::Duration::MAX);
    let manifest = Manifest {
        format: FORMAT,
        version,
        key,
        sha256: object.sha256.clone(),
        size: object.bytes.len() as u64,
        stage_count: snapshot.len() as u64,
        built_at: snapshot.built_at(),
        published_at: now,
        publisher: publisher_id(),
        partitions: snapshots.status().all(),
        history: previous
            .as_ref()
            .map(|p| p.history_after(now, retention.retain, grace))
            .unwrap_or_default(),
    };
    // If the manifest was there but unreadable, its ETag still guards the replace.
    store
        .replace_manifest(Bytes::from(manifest.to_bytes()), etag.as_deref())
        .await?;
    tracing::info!(
        version,
        stages = manifest.stage_count,
        bytes = manifest.size,
        store = %store.url(),
        "snapshot published to the store"
    );
    Ok(Published::New { version })
}

/// Deletes snapshot objects no manifest protects any more, once they were written longer ago
/// than the grace period (an object written by a crawler that has not yet named it in a
/// manifest is younger than that).
pub async fn clean_up(store: &Store, retention: Retention) -> Result<usize, StoreError> {
    let ManifestRead::Found { bytes, .. } = store.read_manifest(None).await? else {
        return Ok(0);
    };
    let Ok(manifest) = Manifest::parse(&bytes) else {
        return Ok(0);
    };
    let protected: HashSet<String> = manifest
        .protected()
        .map(|k| store.key(k).to_string())
        .collect();
    let grace = chrono::Duration::from_std(retention.grace).unwrap_or(chrono::Duration::MAX);
    let now = Utc::now();
    let mut deleted = 0;
    for object in store.list_snapshots().await? {
        if protected.contains(object.location.as_ref()) || now - object.last_modified < grace {
            continue;
        }
        store.delete(&object.location).await?;
        tracing::info!(key = %object.location, "deleted an old snapshot object");
        metrics::counter!("stagesql_store_objects_deleted_total").increment(1);
        deleted += 1;
    }
    Ok(deleted)
}
