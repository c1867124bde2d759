//! What each (account, region) partition's last refresh did, for `stagesql.refresh_status`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// The outcome of the last refresh of one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionStatus {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// When the last crawl of this partition started.
    pub last_attempt: DateTime<Utc>,
    /// When a crawl of this partition last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// `ok`; `partial` (some APIs failed and keep their last good stages); `failed` (the
    /// partition keeps its last good rows, which are stale); or `skipped` (the region is not
    /// enabled in the account: no calls, no rows, `error` says why).
    pub status: &'static str,
    /// The failure, for `failed` and `partial`; the reason, for `skipped`.
    pub error: Option<String>,
    /// Stages this partition contributes to the current snapshot.
    pub stage_count: usize,
    /// APIs listed by the last successful crawl.
    pub api_count: usize,
    /// AWS calls (HTTP attempts, retries included) the last crawl made.
    pub api_calls: usize,
    /// Of those, how many AWS throttled (HTTP 429).
    pub throttled_calls: usize,
    /// How long the last crawl took.
    pub duration_ms: u64,
}

/// Per-partition statuses, updated by the refresher and read by queries.
#[derive(Debug, Default)]
pub struct StatusBoard {
    partitions: Mutex<BTreeMap<(String, String), PartitionStatus>>,
}

impl StatusBoard {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), PartitionStatus>> {
        // Each update replaces one whole entry, so a poisoned map is still consistent.
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the outcome of one crawl.
    pub fn record(&self, status: PartitionStatus) {
        self.lock()
            .insert((status.account_id.clone(), status.region.clone()), status);
    }

    /// The last success recorded for a partition.
    pub fn last_success(&self, account_id: &str, region: &str) -> Option<DateTime<Utc>> {
        self.lock()
            .get(&(account_id.to_owned(), region.to_owned()))
            .and_then(|s| s.last_success)
    }

    /// Replaces every status with `statuses` (a whole refresh's outcome: partitions of accounts
    /// no longer crawled go).
    pub fn replace_all(&self, statuses: Vec<PartitionStatus>) {
        let mut map = self.lock();
        map.clear();
        for s in statuses {
            map.insert((s.account_id.clone(), s.region.clone()), s);
        }
    }

    /// Drops every status of `account_id`.
    pub fn remove_account(&self, account_id: &str) {
        self.lock().retain(|(a, _), _| a != account_id);
    }

    /// Every partition's status, ordered by account then region.
    pub fn all(&self) -> Vec<PartitionStatus> {
        self.lock().values().cloned().collect()
    }
}
