//! The background refresher: crawl every partition, build the next snapshot whole, swap it in.
//!
//! A partition (account, region) that fails keeps its last good rows in the new snapshot, and an
//! API whose GetStages fails keeps its last good stages, so a transient failure never removes
//! rows. The task is owned by a cancellation token and stops between (not inside) AWS calls'
//! retries when the token is cancelled.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::aws::{Account, AwsSourceConfig, crawl_partition};
use crate::row::StageRow;
use crate::snapshot::{Snapshot, SnapshotStore};
use crate::status::PartitionStatus;

/// How often and how widely to crawl.
#[derive(Debug, Clone)]
pub struct RefreshConfig {
    /// Time between the end of one refresh and the start of the next (plus up to 10% jitter).
    pub interval: Duration,
    /// Partitions crawled at once.
    pub concurrency: usize,
}

/// What one refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    /// Partitions crawled successfully.
    pub ok: usize,
    /// Partitions that failed (their previous rows were kept).
    pub failed: usize,
    /// Stages in the published snapshot.
    pub stages: usize,
    /// Whether a snapshot was published.
    pub published: bool,
}

/// Called with each snapshot the refresher publishes (e.g. to persist it).
pub type OnPublish = Arc<dyn Fn(&Snapshot) + Send + Sync>;

/// Starts the refresher; it runs until `token` is cancelled.
pub fn spawn(
    source: AwsSourceConfig,
    refresh: RefreshConfig,
    store: Arc<SnapshotStore>,
    token: CancellationToken,
    on_publish: Option<OnPublish>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        let accounts = loop {
            let connected = tokio::select! {
                () = token.cancelled() => return,
                r = crate::aws::connect(&source) => r,
            };
            match connected {
                Ok(accounts) => break accounts,
                Err(e) => {
                    tracing::warn!(cause = %e, retry_in_ms = backoff.as_millis() as u64, "cannot set up AWS accounts");
                    tokio::select! {
                        () = token.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        };
        loop {
            let summary = tokio::select! {
                () = token.cancelled() => return,
                s = refresh_once(&accounts, &source.regions, refresh.concurrency, &store) => s,
            };
            tracing::info!(
                ok = summary.ok,
                failed = summary.failed,
                stages = summary.stages,
                published = summary.published,
                "refresh finished"
            );
            if summary.published
                && let (Some(hook), Some(snapshot)) = (&on_publish, store.current())
            {
                hook(&snapshot);
            }
            let jitter = refresh.interval.mul_f64(jitter_fraction() * 0.1);
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(refresh.interval + jitter) => {}
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

/// Crawls every (account, region) and publishes the merged snapshot.
pub async fn refresh_once(
    accounts: &[Account],
    regions: &[String],
    concurrency: usize,
    store: &SnapshotStore,
) -> RefreshSummary {
    let started = Instant::now();
    let previous = store.current();
    // Region-major order: the partitions in flight belong to different accounts, so each
    // account's rate limit (the real bound) is used in parallel instead of one account's
    // regions queueing behind the same bucket.
    let partitions: Vec<(Account, String)> = regions
        .iter()
        .flat_map(|r| accounts.iter().map(move |a| (a.clone(), r.clone())))
        .collect();
    let total = partitions.len();
    store.set_progress(0, total);
    let mut results = futures::stream::iter(partitions)
        .map(|(account, region)| async move {
            let attempt = chrono::Utc::now();
            let t0 = Instant::now();
            let result = crawl_partition(&account, &region).await;
            (account, region, result, attempt, t0.elapsed())
        })
        .buffer_unordered(concurrency.max(1));
    let mut rows: Vec<StageRow> = Vec::new();
    let mut summary = RefreshSummary::default();
    let mut done = 0;
    while let Some((account, region, result, attempt, elapsed)) = results.next().await {
        done += 1;
        store.set_progress(done, total);
        let before = rows.len();
        let mut status = PartitionStatus {
            account_id: account.account_id.clone(),
            region: region.clone(),
            last_attempt: attempt,
            last_success: store.status().last_success(&account.account_id, &region),
            status: "ok",
            error: None,
            stage_count: 0,
            api_count: 0,
            api_calls: 0,
            throttled_calls: 0,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        match result {
            Ok(crawl) => {
                summary.ok += 1;
                status.last_success = Some(attempt);
                status.api_count = crawl.api_count;
                status.api_calls = crawl.api_calls;
                status.throttled_calls = crawl.throttled_calls;
                if let Some((api, message)) = crawl.failed_apis.first() {
                    status.status = "partial";
                    status.error = Some(format!(
                        "GetStages failed for {} API(s), e.g. {api}: {message}",
                        crawl.failed_apis.len()
                    ));
                }
                let kept: HashSet<&str> = crawl
                    .failed_apis
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect();
                if let Some(prev) = &previous {
                    rows.extend(
                        previous_rows(prev, &account.account_id, &region)
                            .filter(|r| kept.contains(r.api_id.as_str()))
                            .cloned(),
                    );
                }
                tracing::info!(
                    account_id = %account.account_id, region = %region,
                    apis = crawl.api_count, stages = crawl.rows.len(), calls = crawl.api_calls,
                    done, total, stages_so_far = rows.len() + crawl.rows.len(), "partition crawled"
                );
                rows.extend(crawl.rows);
            }
            Err(e) => {
                summary.failed += 1;
                tracing::warn!(cause = %e, done, total, "partition failed; keeping its last good rows");
                status.status = "failed";
                status.error = Some(e.to_string());
                if let Some(prev) = &previous {
                    rows.extend(previous_rows(prev, &account.account_id, &region).cloned());
                }
            }
        }
        status.stage_count = rows.len() - before;
        record_partition_metrics(&status, elapsed);
        store.status().record(status);
    }
    // Before any partition has ever succeeded there is nothing true to serve: keep answering
    // "still loading" instead of publishing an empty table.
    if summary.ok > 0 || previous.is_some() {
        summary.stages = rows.len();
        // Rows only carried over from a snapshot loaded from disk are still unconfirmed.
        let snapshot = if summary.ok == 0 && store.serving_from_disk() {
            store.publish_from_disk(rows)
        } else {
            store.publish(rows)
        };
        summary.published = true;
        tracing::debug!(
            version = snapshot.version(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "snapshot published"
        );
    }
    let outcome = match (summary.published, summary.failed) {
        (false, _) => "not_published",
        (true, 0) => "ok",
        (true, _) => "partial",
    };
    metrics::counter!("stagesql_refreshes_total", "outcome" => outcome).increment(1);
    metrics::histogram!("stagesql_refresh_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    if summary.failed == 0 && summary.published {
        metrics::gauge!("stagesql_refresh_last_success_timestamp_seconds")
            .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
    }
    summary
}

/// One partition's outcome in the process metrics: a count by status (`ok`, `partial`,
/// `failed`), its crawl time and the rows it contributed.
fn record_partition_metrics(status: &PartitionStatus, elapsed: Duration) {
    let labels = [
        ("account_id", status.account_id.clone()),
        ("region", status.region.clone()),
    ];
    let with_status = [
        labels[0].clone(),
        labels[1].clone(),
        ("status", status.status.to_owned()),
    ];
    metrics::counter!("stagesql_partition_refreshes_total", &with_status).increment(1);
    metrics::histogram!("stagesql_partition_refresh_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    metrics::gauge!("stagesql_partition_stages", &labels).set(status.stage_count as f64);
}

fn previous_rows<'a>(
    prev: &'a Snapshot,
    account_id: &'a str,
    region: &'a str,
) -> impl Iterator<Item = &'a StageRow> {
    prev.rows()
        .iter()
        .filter(move |r| r.account_id == account_id && r.region == region)
}
