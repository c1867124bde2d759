//! From outcomes to rows and status rows: what a crawled, failed or skipped partition puts in
//! the next snapshot and in `stagesql.refresh_status`.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::aws::PartitionCrawl;
use crate::row::StageRow;
use crate::snapshot::Snapshot;
use crate::status::{PartitionState, PartitionStatus};

/// One partition's crawl, with when it started and how long it took.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) account_id: String,
    pub(crate) region: String,
    pub(crate) crawl: PartitionCrawl,
    pub(crate) attempt: DateTime<Utc>,
    pub(crate) elapsed: Duration,
}

/// A status row with nothing counted yet.
pub(crate) fn status_row(
    account_id: &str,
    region: &str,
    attempt: DateTime<Utc>,
    status: PartitionState,
    error: Option<String>,
) -> PartitionStatus {
    PartitionStatus {
        account_id: account_id.to_owned(),
        region: region.to_owned(),
        last_attempt: attempt,
        last_success: None,
        status,
        error,
        stage_count: 0,
        api_count: 0,
        api_calls: 0,
        throttled_calls: 0,
        duration_ms: 0,
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The rows `outcome`'s partition contributes and its status. A failed partition keeps its
/// rows from `previous`; an API whose GetStages failed keeps its stages from `previous`.
pub(crate) fn partition(
    outcome: Outcome,
    previous: Option<&Snapshot>,
    last_success: Option<DateTime<Utc>>,
) -> (Vec<StageRow>, PartitionStatus) {
    let Outcome {
        account_id,
        region,
        crawl,
        attempt,
        elapsed,
    } = outcome;
    let mut status = status_row(&account_id, &region, attempt, PartitionState::Ok, None);
    status.last_success = last_success;
    status.api_calls = crawl.api_calls;
    status.throttled_calls = crawl.throttled_calls;
    status.duration_ms = millis(elapsed);
    let mut rows = Vec::new();
    if let Some(error) = crawl.error {
        tracing::warn!(account_id = %account_id, region = %region, cause = %error, "partition failed; keeping its last good rows");
        status.status = PartitionState::Failed;
        status.error = Some(error);
        if let Some(prev) = previous {
            rows.extend(carried(prev, &account_id, Some(&region)));
        }
    } else {
        status.last_success = Some(attempt);
        status.api_count = crawl.api_count;
        if let Some((api, message)) = crawl.failed_apis.first() {
            status.status = PartitionState::Partial;
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
        if let Some(prev) = previous.filter(|_| !kept.is_empty()) {
            rows.extend(
                carried(prev, &account_id, Some(&region))
                    .filter(|r| kept.contains(r.api_id.as_str())),
            );
        }
        rows.extend(crawl.rows);
    }
    status.stage_count = rows.len();
    record_partition_metrics(&status, elapsed);
    (rows, status)
}

/// The rows of `account_id` (in `region`, or in every region) in `prev`.
pub(crate) fn carried<'a>(
    prev: &'a Snapshot,
    account_id: &'a str,
    region: Option<&'a str>,
) -> impl Iterator<Item = StageRow> + 'a {
    prev.rows_in(in_partition(account_id, region))
}

/// How many rows of `account_id` (in `region`, or in every region) `prev` has.
pub(crate) fn carried_count(prev: &Snapshot, account_id: &str, region: Option<&str>) -> usize {
    prev.count_in(in_partition(account_id, region))
}

fn in_partition<'a>(
    account_id: &'a str,
    region: Option<&'a str>,
) -> impl Fn(&str, &str) -> bool + 'a {
    move |a, r| a == account_id && region.is_none_or(|g| r == g)
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
        ("status", status.status.as_str().to_owned()),
    ];
    metrics::counter!("stagesql_partition_refreshes_total", &with_status).increment(1);
    metrics::histogram!("stagesql_partition_refresh_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    metrics::gauge!("stagesql_partition_stages", &labels).set(status.stage_count as f64);
}
