//! Scaling out: one crawler publishes every snapshot to an object store, any number of
//! replicas serve what it publishes. No protocol of our own: the store is the source of
//! truth, and its conditional writes keep two crawlers started by mistake from interleaving.
//!
//! Layout under the store's prefix:
//! - `snapshots/{version:012}-{sha256 prefix}.arrow`: immutable snapshot objects (Arrow IPC,
//!   the same bytes as `source.snapshot_path`), written create-only;
//! - `manifest.json`: which object is current, its SHA-256, size, stage count, crawl time and
//!   the crawler's per-partition statuses; replaced only if its ETag is still the one read.
//!
//! - [`store`]: opening the store from its URL; the conditional reads and writes.
//! - [`credentials`]: the standard AWS credential chain for S3.
//! - [`manifest`]: the manifest, object names, checksums, the retention history.
//! - [`publisher`]: the crawler's task (`[publish]`).
//! - [`follower`]: the replica's task (`source.kind = "replica"`).

pub mod credentials;
pub mod follower;
pub mod manifest;
pub mod publisher;
pub mod store;

pub use store::{Store, StoreError, StoreOptions};
