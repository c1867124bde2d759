//! What each (account, region) partition's last refresh did, for `stagesql.refresh_status`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// What the last refresh of one partition came to; shown as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionState {
    /// Every call succeeded.
    Ok,
    /// Some APIs failed and keep their last good stages.
    Partial,
    /// The partition (or account) failed and keeps its last good rows, which are stale.
    Failed,
    /// The region is not enabled in the account: no calls, no rows.
    Skipped,
}

impl PartitionState {
    /// The name `stagesql.refresh_status.status` shows: `ok`, `partial`, `failed`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionState::Ok => "ok",
            PartitionState::Partial => "partial",
            PartitionState::Failed => "failed",
            PartitionState::Skipped => "skipped",
        }
    }
}

/// The outcome of the last refresh of one partition (also carried in the store's manifest, so
/// replicas show the crawler's statuses).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartitionStatus {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// When the last crawl of this partition started.
    pub last_attempt: DateTime<Utc>,
    /// When a crawl of this partition last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// What the last refresh came to.
    pub status: PartitionState,
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

/// Which side of the snapshot store this server is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreRole {
    /// The crawler: every snapshot it publishes is also written to the store (`[publish]`).
    Publisher,
    /// A replica: it serves what the store's manifest names (`source.kind = "replica"`).
    Replica,
}

impl StoreRole {
    /// `publisher` or `replica`, as `stagesql.snapshot_status.store_role` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreRole::Publisher => "publisher",
            StoreRole::Replica => "replica",
        }
    }
}

/// How this server stands with the snapshot store, for `stagesql.snapshot_status`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSync {
    /// Publisher or replica.
    pub role: StoreRole,
    /// The store's manifest version this server last published (publisher) or serves (replica).
    pub version: Option<u64>,
    /// When the crawler published that manifest.
    pub published_at: Option<DateTime<Utc>>,
    /// When the store was last written (publisher) or its manifest last read (replica)
    /// successfully.
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure; cleared by the next success.
    pub error: Option<String>,
    /// Failures since the last success.
    pub failures: u64,
    /// Replica: seconds from the crawler's publish of the served snapshot to this replica
    /// serving it.
    pub lag_seconds: Option<f64>,
}

impl StoreSync {
    /// Nothing done yet.
    pub fn new(role: StoreRole) -> StoreSync {
        StoreSync {
            role,
            version: None,
            published_at: None,
            last_success: None,
            error: None,
            failures: 0,
            lag_seconds: None,
        }
    }

    /// Records a success now: the error and the failure count are cleared.
    pub fn succeeded(&mut self) {
        self.last_success = Some(Utc::now());
        self.error = None;
        self.failures = 0;
    }

    /// Records a failure: the previous success (and what is served) stays.
    pub fn failed(&mut self, error: String) {
        self.error = Some(error);
        self.failures = self.failures.saturating_add(1);
    }
}
