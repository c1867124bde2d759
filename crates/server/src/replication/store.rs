//! The snapshot store: an object store (S3 or a local directory) opened from its URL, with the
//! few operations publishing and following need, each with its precondition.
//!
//! Why a wrapper: the manifest must be replaced only if it is still the one read (`If-Match` on
//! its ETag). S3 does that itself; `object_store`'s local directory cannot, so for `file://`
//! the compare and the replace run under a lock object created with create-only semantics.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{
    GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    UpdateVersion,
};

/// The manifest's name under the prefix.
pub const MANIFEST: &str = "manifest.json";
/// The folder of snapshot objects under the prefix.
pub const SNAPSHOTS: &str = "snapshots";
/// A manifest larger than this is refused (a real one is a few MB at 20,000 partitions).
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;
/// A snapshot object larger than this is refused (1M stages are well under 2 GB).
pub const MAX_SNAPSHOT_BYTES: u64 = 16 * 1024 * 1024 * 1024;
/// A manifest read that takes longer than this has failed.
const MANIFEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A `file://` manifest lock older than this was left by a process that died mid-write.
const STALE_LOCK: Duration = Duration::from_secs(30);

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The manifest changed since it was read: another crawler published.
    #[error("the manifest changed since it was read (another crawler is publishing): {0}")]
    Conflict(String),
    /// The object is not there.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The object is bigger than any snapshot or manifest this server writes.
    #[error("{key} is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        /// The object.
        key: String,
        /// Its size.
        size: u64,
        /// The bound.
        limit: u64,
    },
    /// The store could not be reached or refused the request.
    #[error("{0}")]
    Store(String),
}

fn store_error(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { path, .. } => StoreError::NotFound(path),
        object_store::Error::Precondition { path, .. }
        | object_store::Error::AlreadyExists { path, .. } => StoreError::Conflict(path),
        other => StoreError::Store(other.to_string()),
    }
}

/// Where to find the store and how to sign requests to it.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// `s3://bucket/prefix` or `file:///absolute/directory`.
    pub url: String,
    /// The bucket's region (S3).
    pub region: Option<String>,
    /// An S3-compatible endpoint instead of AWS's (moto, MinIO).
    pub endpoint_url: Option<String>,
    /// Fixed keys for a local emulator; otherwise the standard AWS credential chain.
    pub static_credentials: Option<(String, String)>,
    /// Per-request timeout (a whole snapshot download is one request).
    pub timeout: Duration,
    /// Retries of one request (throttling, 5xx, connection errors) before it fails.
    pub max_retries: usize,
}

/// What reading the manifest found.
#[derive(Debug)]
pub enum ManifestRead {
    /// The manifest still has the ETag asked about.
    NotModified,
    /// There is no manifest yet (no crawler has published).
    Missing,
    /// The manifest's bytes and ETag.
    Found {
        /// Its bytes.
        bytes: Bytes,
        /// Its ETag, for the next conditional read or write.
        etag: Option<String>,
    },
}

/// An opened snapshot store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
    url: String,
    /// `file://`: no conditional overwrite in the store; see the module doc.
    local: bool,
}

impl Store {
    /// Opens the store at `options.url` (a local directory is created if missing). Nothing
    /// is read yet, so an unreachable bucket is found by the first request, not here.
    pub async fn open(options: &StoreOptions) -> Result<Store, StoreError> {
        let url = options.url.trim_end_matches('/');
        if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Store(format!("cannot create {dir}: {e}")))?;
            let local =
                object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(store_error)?;
            return Ok(Store {
                inner: Arc::new(local),
                prefix: None,
                url: options.url.clone(),
                local: true,
            });
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(StoreError::Store(format!(
                "{url:?} is not s3://bucket/prefix or file:///directory"
            )));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let region = match &options.region {
            Some(r) => r.clone(),
            None => aws_config::default_provider::region::DefaultRegionChain::builder()
                .build()
                .region()
                .await
                .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string()),
        };
        let credentials: object_store::aws::AwsCredentialProvider =
            match &options.static_credentials {
                Some((id, secret)) => Arc::new(object_store::StaticCredentialProvider::new(
                    object_store::aws::AwsCredential {
                        key_id: id.clone(),
                        secret_key: secret.clone(),
                        token: None,
                    },
                )),
                None => Arc::new(super::credentials::SdkCredentials::load(&region).await),
            };
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&region)
            .with_credentials(credentials)
            .with_retry(object_store::RetryConfig {
                backoff: object_store::BackoffConfig::default(),
                max_retries: options.max_retries,
                retry_timeout: options.timeout,
            })
            .with_client_options(
                object_store::ClientOptions::new()
                    .with_timeout(options.timeout)
                    .with_connect_timeout(Duration::from_secs(5)),
            );
        if let Some(endpoint) = &options.endpoint_url {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let s3 = builder.build().map_err(store_error)?;
        Ok(Store {
            inner: Arc::new(s3),
            prefix: (!prefix.is_empty()).then(|| Path::from(prefix)),
            url: options.url.clone(),
            local: false,
        })
    }

    /// The URL it was opened from (for logs).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key of `name` under the store's prefix.
    pub fn key(&self, name: &str) -> Path {
        match &self.prefix {
            Some(prefix) => Path::from(format!("{prefix}/{name}")),
            None => Path::from(name),
        }
    }

    /// Reads the manifest, unless its ETag is still `if_none_match`.
    pub async fn read_manifest(
        &self,
        if_none_match: Option<&str>,
    ) -> Result<ManifestRead, StoreError> {
        let options = GetOptions {
            if_none_match: if_none_match.map(str::to_owned),
            ..GetOptions::default()
        };
        let key = self.key(MANIFEST);
        let read = async {
            match self.inner.get_opts(&key, options).await {
                Ok(result) => {
                    let etag = result.meta.e_tag.clone();
                    let bytes = bounded(result, &key, MAX_MANIFEST_BYTES).await?;
                    Ok(ManifestRead::Found { bytes, etag })
                }
                Err(object_store::Error::NotModified { .. }) => Ok(ManifestRead::NotModified),
                Err(object_store::Error::NotFound { .. }) => Ok(ManifestRead::Missing),
                Err(e) => Err(store_error(e)),
            }
        };
        // A store that stops answering must not stall a replica's polls for the long
        // snapshot-download timeout.
        tokio::time::timeout(MANIFEST_TIMEOUT, read)
            .await
            .map_err(|_| {
                StoreError::Store(format!(
                    "no answer for {key} within {} s",
                    MANIFEST_TIMEOUT.as_secs()
                ))
            })?
    }

    /// Replaces the manifest with `bytes` if its ETag is still `expected` (`None`: only if
    /// there is none yet). Returns the new ETag; [`StoreError::Conflict`] if it changed.
    pub async fn replace_manifest(
        &self,
        bytes: Bytes,
        expected: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let key = self.key(MANIFEST);
        if self.local {
            return self.replace_local(&key, bytes, expected).await;
        }
        let mode = match expected {
            None => PutMode::Create,
            Some(etag) => PutMode::Update(UpdateVersion {
                e_tag: Some(etag.to_owned()),
                version: None,
            }),
        };
        let put = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let result = self
            .inner
            .put_opts(&key, PutPayload::from_bytes(bytes), put)
            .await
            .map_err(store_error)?;
        Ok(result.e_tag)
    }

    /// The local directory's compare-and-replace: a create-only lock object makes the read
    /// of the ETag and the (atomic, rename-based) overwrite one step for every publisher.
    async fn replace_local(
        &self,
        key: &Path,
        bytes: Bytes,
        expected: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let lock = self.key("manifest.json.lock");
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .inner
            .put_opts(&lock, PutPayload::from_static(b"lock"), create)
            .await
        {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                // A lock left by a crashed publisher is removed; the caller's retry takes it.
                if let Ok(meta) = self.inner.head(&lock).await
                    && chrono::Utc::now() - meta.last_modified
                        > chrono::Duration::from_std(STALE_LOCK).unwrap_or_default()
                {
                    let _ = self.inner.delete(&lock).await;
                }
                return Err(StoreError::Conflict(format!(
                    "{lock} is held by another publisher"
                )));
            }
            Err(e) => return Err(store_error(e)),
        }
        let replaced = async {
            let current = match self.inner.head(key).await {
                Ok(meta) => meta.e_tag,
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => return Err(store_error(e)),
            };
            if current.as_deref() != expected {
                return Err(StoreError::Conflict(key.to_string()));
            }
            let result = self
                .inner
                .put(key, PutPayload::from_bytes(bytes))
                .await
                .map_err(store_error)?;
            Ok(result.e_tag)
        }
        .await;
        if let Err(e) = self.inner.delete(&lock).await {
            tracing::warn!(cause = %e, lock = %lock, "cannot remove the manifest lock");
        }
        replaced
    }

    /// Writes a new immutable object at `key`; an object already there is left as it is
    /// (objects are named by their content's hash, so it holds the same bytes).
    pub async fn put_new(&self, key: &Path, bytes: Bytes) -> Result<(), StoreError> {
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .inner
            .put_opts(key, PutPayload::from_bytes(bytes), create)
            .await
        {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            // S3 answers a create-only PUT over an existing object with 412.
            Err(object_store::Error::Precondition { .. }) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Reads a whole snapshot object (refusing one above [`MAX_SNAPSHOT_BYTES`]).
    pub async fn get_snapshot(&self, key: &Path) -> Result<Bytes, StoreError> {
        let result = self.inner.get(key).await.map_err(store_error)?;
        bounded(result, key, MAX_SNAPSHOT_BYTES).await
    }

    /// Every snapshot object.
    pub async fn list_snapshots(&self) -> Result<Vec<ObjectMeta>, StoreError> {
        let prefix = self.key(SNAPSHOTS);
        self.inner
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(store_error)
    }

    /// Deletes one object (gone already is fine).
    pub async fn delete(&self, key: &Path) -> Result<(), StoreError> {
        match self.inner.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }
}

/// The body of `result`, refused if the object is larger than `limit` (checked before it is
/// read, from the object's own size).
async fn bounded(
    result: object_store::GetResult,
    key: &Path,
    limit: u64,
) -> Result<Bytes, StoreError> {
    let size = result.meta.size;
    if size > limit {
        return Err(StoreError::TooLarge {
            key: key.to_string(),
            size,
            limit,
        });
    }
    result.bytes().await.map_err(store_error)
}
