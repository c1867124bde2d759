//! What feeds the snapshot store: the demo fixture (loaded once), the crawler (the refresher,
//! with `[publish]` also the publisher it hands each snapshot to), or a replica's follower.

use std::sync::Arc;
use std::time::Duration;

use stagesql_catalog::refresh::RefreshConfig;
use stagesql_catalog::{BUNDLED_FIXTURE, SnapshotStore, load_demo_snapshot, parse_fixture};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, SourceKind};
use crate::{StartError, replication, snapshot_file};

/// The background tasks that feed the store, by name.
pub(crate) type Tasks = Vec<(&'static str, JoinHandle<()>)>;

/// Starts feeding `store` as `config.source` says; returns the tasks and the snapshot file
/// (written once more at shutdown), if any.
pub(crate) async fn start(
    config: &Config,
    store: &Arc<SnapshotStore>,
    shutdown: &CancellationToken,
) -> Result<(Tasks, Option<Arc<snapshot_file::SnapshotFile>>), StartError> {
    let snapshot_file = match config.source.kind {
        SourceKind::Aws | SourceKind::Replica => config
            .source
            .snapshot_path
            .clone()
            .map(|path| Arc::new(snapshot_file::SnapshotFile::new(path))),
        SourceKind::Demo => None,
    };
    let background = match config.source.kind {
        SourceKind::Demo => {
            let snapshot = match &config.source.fixture {
                Some(path) => load_demo_snapshot(path, store)?,
                None => store.publish(parse_fixture(BUNDLED_FIXTURE, "bundled")?),
            };
            tracing::info!(
                stages = snapshot.len(),
                version = snapshot.version(),
                "demo catalog loaded"
            );
            Vec::new()
        }
        SourceKind::Replica => {
            if let Some(file) = &snapshot_file {
                file.load_into(store);
            }
            let source = &config.source;
            let options = store_options(
                source.url.clone().unwrap_or_default(),
                source.store_region.clone(),
                source.endpoint_url.clone(),
                source,
            );
            let bucket =
                replication::Store::open(&options)
                    .await
                    .map_err(|cause| StartError::Store {
                        key: "source.url",
                        cause,
                    })?;
            tracing::info!(store = %bucket.url(), "following the snapshot store");
            vec![(
                "replica follower",
                replication::follower::spawn(
                    bucket,
                    Arc::clone(store),
                    snapshot_file.clone(),
                    Duration::from_secs(config.source.poll_interval_seconds),
                    shutdown.child_token(),
                ),
            )]
        }
        SourceKind::Aws => start_crawler(config, store, snapshot_file.clone(), shutdown).await?,
    };
    Ok((background, snapshot_file))
}

/// Starts the refresher and, with `[publish]`, the publisher it hands each snapshot to.
async fn start_crawler(
    config: &Config,
    store: &Arc<SnapshotStore>,
    snapshot_file: Option<Arc<snapshot_file::SnapshotFile>>,
    shutdown: &CancellationToken,
) -> Result<Vec<(&'static str, JoinHandle<()>)>, StartError> {
    let mut tasks = Vec::new();
    let mut bootstrap_from = None;
    let publisher = match &config.publish.url {
        None => None,
        Some(url) => {
            let publish = &config.publish;
            let options = store_options(
                url.clone(),
                publish.region.clone(),
                publish
                    .endpoint_url
                    .clone()
                    .or_else(|| config.source.endpoint_url.clone()),
                &config.source,
            );
            let bucket =
                replication::Store::open(&options)
                    .await
                    .map_err(|cause| StartError::Store {
                        key: "publish.url",
                        cause,
                    })?;
            tracing::info!(store = %bucket.url(), "publishing every snapshot to the store");
            bootstrap_from = Some(bucket.clone());
            let (sender, receiver) = tokio::sync::watch::channel(None);
            tasks.push((
                "publisher",
                replication::publisher::spawn(
                    bucket,
                    replication::publisher::Retention {
                        retain: publish.retain,
                        grace: Duration::from_secs(publish.grace_seconds),
                    },
                    Arc::clone(store),
                    receiver,
                    shutdown.child_token(),
                ),
            ));
            Some(sender)
        }
    };
    if let Some(file) = &snapshot_file {
        file.load_into(store);
    }
    // With a snapshot from the file there is nothing to take from the store.
    if store.current().is_some() {
        bootstrap_from = None;
    }
    let on_publish: Option<stagesql_catalog::refresh::OnPublish> =
        if snapshot_file.is_none() && publisher.is_none() {
            None
        } else {
            Some(Arc::new(
                move |snapshot: &Arc<stagesql_catalog::Snapshot>| {
                    // The publisher takes the latest snapshot when it is ready: never a wait here.
                    if let Some(sender) = &publisher {
                        sender.send_replace(Some(Arc::clone(snapshot)));
                    }
                    if let Some(file) = &snapshot_file {
                        // A file write (26 MB at 20k stages): a background job, never in
                        // the refresher's task. Writes take the file's lock in turn, and the
                        // shutdown's final write waits for one under way.
                        let (file, snapshot) = (Arc::clone(file), Arc::clone(snapshot));
                        drop(tokio::spawn(stagesql_catalog::background::run(
                            "file",
                            move || file.write(&snapshot),
                        )));
                    }
                },
            ))
        };
    let mut source = config.source.aws();
    if source.regions.is_empty() {
        // No regions configured: the standard environment's region (AWS_REGION, profile).
        let region = aws_config::default_provider::region::DefaultRegionChain::builder()
            .build()
            .region()
            .await
            .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
        tracing::info!(region = %region, "no source.regions configured; crawling the environment's region");
        source.regions = vec![region];
    }
    let refresh = RefreshConfig {
        interval: Duration::from_secs(config.source.refresh_interval_seconds),
        concurrency: config.source.concurrency,
    };
    let (store, token) = (Arc::clone(store), shutdown.child_token());
    tasks.push((
        "refresher",
        tokio::spawn(async move {
            if let Some(bucket) = bootstrap_from {
                // Before the first crawl, so stale rows never replace fresh ones.
                let taken = tokio::select! {
                    () = token.cancelled() => return,
                    r = tokio::time::timeout(
                        BOOTSTRAP_TIMEOUT,
                        replication::follower::bootstrap(&bucket, &store),
                    ) => r,
                };
                match taken {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::info!(cause = %e, "no snapshot taken from the store; serving after the first crawl")
                    }
                    Err(_) => tracing::warn!(
                        "the store's snapshot did not arrive within {} s; serving after the first crawl",
                        BOOTSTRAP_TIMEOUT.as_secs()
                    ),
                }
            }
            let refresher = stagesql_catalog::refresh::spawn(
                source,
                refresh,
                Arc::clone(&store),
                token,
                on_publish,
            );
            if let Err(e) = refresher.await {
                tracing::warn!(cause = %e, "refresher task ended abnormally");
            }
        }),
    ));
    Ok(tasks)
}

/// How long a crawler starting with nothing to serve waits for the store's snapshot before
/// its first crawl begins.
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(120);

/// How to reach a snapshot store: its URL, region and endpoint, with the emulator keys of
/// `source` when set.
fn store_options(
    url: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    source: &config::SourceConfig,
) -> replication::StoreOptions {
    replication::StoreOptions {
        url,
        region,
        endpoint_url,
        static_credentials: source
            .emulator_credentials
            .clone()
            .map(|[id, secret]| (id, secret)),
        // A whole snapshot is one request: room for a large one on a slow link.
        timeout: Duration::from_secs(300),
        max_retries: 3,
    }
}
