//! The background refresher: discover, crawl every partition, build the next snapshot whole,
//! swap it in; between full refreshes, retry what failed on its own backoff.
//!
//! A partition (account, region) that fails keeps its last good rows in the new snapshot, and an
//! API whose GetStages fails keeps its last good stages, so a transient failure never removes
//! rows. The task is owned by a cancellation token and stops between (not inside) AWS calls'
//! retries when the token is cancelled.
//!
//! - [`crawler`]: the [`Crawler`], which keeps accounts, the organization's member list and
//!   each account's regions across refreshes, and runs one refresh or one retry pass.
//! - `merge`: rows and status rows from partition outcomes.
//! - `retry`: the backoff schedule and the retry pass between refreshes.

pub mod crawler;
mod merge;
mod retry;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use crawler::Crawler;

use crate::aws::AwsSourceConfig;
use crate::snapshot::{Snapshot, SnapshotStore};

/// How often and how widely to crawl.
#[derive(Debug, Clone)]
pub struct RefreshConfig {
    /// Time between the end of one refresh and the start of the next (plus up to 10% jitter).
    pub interval: Duration,
    /// Partitions crawled at once.
    pub concurrency: usize,
}

/// What one refresh (or retry pass) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    /// Partitions crawled successfully (`ok` or `partial`).
    pub ok: usize,
    /// Partitions and accounts that failed (their previous rows were kept).
    pub failed: usize,
    /// Partitions skipped (region not enabled in the account).
    pub skipped: usize,
    /// Accounts crawled (set up, regions known).
    pub accounts: usize,
    /// Stages in the published snapshot.
    pub stages: usize,
    /// Whether a snapshot was published.
    pub published: bool,
}

/// Called with each snapshot the refresher publishes (e.g. to persist it).
pub type OnPublish = Arc<dyn Fn(&Arc<Snapshot>) + Send + Sync>;

/// Starts the refresher; it runs until `token` is cancelled.
pub fn spawn(
    source: AwsSourceConfig,
    refresh: RefreshConfig,
    store: Arc<SnapshotStore>,
    token: CancellationToken,
    on_publish: Option<OnPublish>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut crawler = Crawler::new(source, refresh.concurrency);
        let publish = |summary: &RefreshSummary| {
            if summary.published
                && let (Some(hook), Some(snapshot)) = (&on_publish, store.current())
            {
                hook(&snapshot);
            }
        };
        loop {
            let summary = tokio::select! {
                () = token.cancelled() => return,
                s = crawler.refresh(&store) => s,
            };
            tracing::info!(
                accounts = summary.accounts,
                ok = summary.ok,
                failed = summary.failed,
                skipped = summary.skipped,
                stages = summary.stages,
                published = summary.published,
                "refresh finished"
            );
            publish(&summary);
            let jitter = refresh.interval.mul_f64(jitter_fraction() * 0.1);
            let next_refresh = Instant::now() + refresh.interval + jitter;
            // Until the next refresh, whatever failed is retried when its backoff is due.
            loop {
                let wake = crawler
                    .next_retry()
                    .map_or(next_refresh, |due| due.min(next_refresh));
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep_until(wake) => {}
                }
                if wake >= next_refresh {
                    break;
                }
                let summary = tokio::select! {
                    () = token.cancelled() => return,
                    s = crawler.retry_due(&store) => s,
                };
                if summary.published {
                    tracing::info!(
                        ok = summary.ok,
                        failed = summary.failed,
                        stages = summary.stages,
                        "retried failed partitions"
                    );
                }
                publish(&summary);
            }
        }
    })
}

/// A pseudo-random fraction in [0, 1) from the clock: enough to spread many servers' refreshes.
fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}
