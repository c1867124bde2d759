//! Retries between refreshes: a partition or an account that failed is tried again on its own
//! backoff (2 s, doubling, up to 5 min), so a short storm at the first crawl does not leave a
//! hole until the next full refresh.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::RefreshSummary;
use super::crawler::{Before, Crawler};
use super::merge;
use crate::row::StageRow;
use crate::snapshot::SnapshotStore;

/// The first retry of a failed partition or account comes this soon; each further one waits
/// twice as long, up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(2);
/// The longest wait between retries.
const RETRY_MAX: Duration = Duration::from_secs(300);

/// What retrying waits for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum RetryKey {
    /// An account that could not be set up (or whose regions are unknown), by label.
    Account(String),
    /// A partition that failed: (account label, region).
    Partition(String, String),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Backoff {
    pub(super) due: Instant,
    pub(super) delay: Duration,
}

impl Crawler {
    /// When the next retry is due, if anything failed.
    pub fn next_retry(&self) -> Option<Instant> {
        self.retries.values().map(|b| b.due).min()
    }

    /// Schedules `key`: soon the first time, twice the `previous` delay after that.
    pub(super) fn schedule(&mut self, key: RetryKey, previous: Option<Backoff>) {
        let delay = previous.map_or(RETRY_FIRST, |b| (b.delay * 2).min(RETRY_MAX));
        self.retries.insert(
            key,
            Backoff {
                due: Instant::now() + delay,
                delay,
            },
        );
    }

    /// Retries every failed account and partition whose backoff is due; publishes when any of
    /// them now succeeds. What still fails waits twice as long next time.
    pub async fn retry_due(&mut self, store: &Arc<SnapshotStore>) -> RefreshSummary {
        let now = Instant::now();
        let due: Vec<(RetryKey, Backoff)> = self
            .retries
            .iter()
            .filter(|(_, b)| b.due <= now)
            .map(|(k, b)| (k.clone(), *b))
            .collect();
        let mut summary = RefreshSummary::default();
        if due.is_empty() {
            return summary;
        }
        let current = store.current();
        let base = self.base().await;
        let mut statuses = Vec::new();
        let mut partitions = Vec::new();
        let before = Before::read(store);
        // Accounts set up now: all their rows are replaced.
        let mut replaced_accounts = BTreeSet::new();
        let mut retried = BTreeMap::new();
        for (key, backoff) in due {
            self.retries.remove(&key);
            match &key {
                RetryKey::Account(label) => {
                    let Some(target) = self.targets.get(label).cloned() else {
                        continue;
                    };
                    let p = self.prepare(&base, target).await;
                    if p.result.is_ok() {
                        if let Ok((a, _)) = &p.result {
                            replaced_accounts.insert(a.account_id.clone());
                        }
                    } else {
                        // Still failing: settle() reschedules from the retry we just removed.
                        self.retries.insert(key.clone(), backoff);
                    }
                    // The account's rows are still in the current snapshot: nothing to carry.
                    let mut carried = Vec::new();
                    partitions.extend(self.settle(
                        p,
                        current.as_deref(),
                        &before,
                        &mut statuses,
                        &mut carried,
                        &mut summary,
                    ));
                }
                RetryKey::Partition(label, region) => {
                    if let Some(account) = self.accounts.get(label) {
                        partitions.push((label.clone(), account.clone(), region.clone()));
                        retried.insert((label.clone(), region.clone()), backoff);
                    }
                }
            }
        }
        let mut new_rows = Vec::new();
        let mut ok_partitions = BTreeSet::new();
        let mut still_failing = Vec::new();
        self.crawl_all(partitions, |label, outcome| {
            let last_success = before
                .successes
                .get(&(outcome.account_id.clone(), outcome.region.clone()))
                .copied();
            let (prows, status) = merge::partition(outcome, current.as_deref(), last_success);
            if status.status == crate::status::PartitionState::Failed {
                summary.failed += 1;
                still_failing.push((label, status.region.clone()));
            } else {
                summary.ok += 1;
                ok_partitions.insert((status.account_id.clone(), status.region.clone()));
            }
            new_rows.push((status.account_id.clone(), status.region.clone(), prows));
            statuses.push(status);
        })
        .await;
        for (label, region) in still_failing {
            let prior = retried.get(&(label.clone(), region.clone())).copied();
            self.schedule(RetryKey::Partition(label, region), prior);
        }
        if summary.ok == 0 && replaced_accounts.is_empty() {
            // Nothing new: the snapshot stands; only the status rows change.
            for s in statuses {
                store.status().record(s);
            }
            return summary;
        }
        let mut rows: Vec<StageRow> = current
            .as_deref()
            .map(|c| {
                c.rows_in(|account, region| {
                    !replaced_accounts.contains(account)
                        && !ok_partitions.contains(&(account.to_owned(), region.to_owned()))
                })
                .collect()
            })
            .unwrap_or_default();
        for (account_id, region, prows) in new_rows {
            // A partition that failed again already has its rows in `rows`, unless its account
            // was replaced as a whole.
            if replaced_accounts.contains(&account_id)
                || ok_partitions.contains(&(account_id, region))
            {
                rows.extend(prows);
            }
        }
        summary.stages = rows.len();
        summary.published = store.publish_off_runtime(rows, None, false).await.is_some();
        for id in &replaced_accounts {
            store.status().remove_account(id);
        }
        for s in statuses {
            store.status().record(s);
        }
        summary
    }
}
