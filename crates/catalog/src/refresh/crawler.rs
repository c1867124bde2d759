//! The [`Crawler`]: one full refresh (discover accounts, set each up, find its regions, crawl
//! every partition, publish) and, between refreshes, retries of what failed.
//!
//! Accounts are set up one by one (with bounded concurrency), so one refused AssumeRole never
//! stops the others: it becomes a `failed` status row and its last good rows stay. Discovery
//! that fails (ListAccounts, DescribeRegions) falls back to the last good answer, so the table
//! never shrinks because a listing call failed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use chrono::Utc;
use futures::StreamExt;
use tokio::time::Instant;

use super::RefreshSummary;
use super::merge::{self, Outcome, carried, carried_count, millis, status_row};
use super::retry::{Backoff, RetryKey};
use crate::aws::regions::{is_pattern, plan};
use crate::aws::{
    Account, AccountSpec, AttemptCounter, AwsSourceConfig, Limiter, OrgAccount, RegionInfo,
    RegionPlan, crawl_partition, describe_regions, home_region, http_client, limiter,
    list_organization, loader, setup_account,
};
use crate::render::partition_for_region;
use crate::row::StageRow;
use crate::snapshot::{Snapshot, SnapshotStore};
use crate::status::{PartitionState, PartitionStatus};

/// The `account_id` of the status row about listing the organization's accounts.
pub const ORGANIZATION_ROW: &str = "organization";
/// The `region` of an account's own status row (set-up and region discovery).
pub const ACCOUNT_ROW: &str = "*";

/// One account to crawl, before its credentials are set up.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// The key it is kept under (its role ARN, or "default credentials").
    label: String,
    spec: AccountSpec,
    /// The id the config or the organization names (None for the default chain).
    id_hint: Option<String>,
}

/// An account set up (or not) with its region plan.
pub(super) struct Prepared {
    pub(super) target: Target,
    pub(super) result: Result<(Account, Vec<RegionPlan>), String>,
    /// The account, when set-up succeeded even if its regions are unknown: kept, so its
    /// retry does not assume its role again.
    set_up: Option<Account>,
    /// DescribeRegions' answer, to keep as the last good one.
    regions: Option<Vec<RegionInfo>>,
    calls: (usize, usize),
    attempt: chrono::DateTime<Utc>,
    elapsed: Duration,
}

/// Keeps what discovery learned across refreshes and runs refreshes and retries.
pub struct Crawler {
    pub(super) source: AwsSourceConfig,
    pub(super) concurrency: usize,
    pub(super) base: Option<SdkConfig>,
    /// The crawler's own credentials' bucket (STS AssumeRole, Organizations).
    pub(super) discovery: Arc<Limiter>,
    /// Accounts given ready-made: no set-up, no region discovery.
    pub(super) fixed: bool,
    /// Accounts set up, by target label; kept so the SDK's credential cache lives on.
    pub(super) accounts: BTreeMap<String, Account>,
    /// The targets of the last refresh, by label.
    pub(super) targets: BTreeMap<String, Target>,
    /// The organization's last good member list.
    pub(super) members: Option<Vec<OrgAccount>>,
    /// Each account's last good DescribeRegions answer.
    pub(super) regions: BTreeMap<String, Vec<RegionInfo>>,
    pub(super) retries: BTreeMap<RetryKey, Backoff>,
}

impl std::fmt::Debug for Crawler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crawler")
            .field("accounts", &self.accounts.len())
            .field("retries", &self.retries.len())
            .finish_non_exhaustive()
    }
}

impl Crawler {
    /// A crawler of `source`, crawling `concurrency` partitions at once; 0 picks a number
    /// that scales with the accounts (see [`Crawler::partitions_at_once`]).
    pub fn new(source: AwsSourceConfig, concurrency: usize) -> Crawler {
        let discovery = Arc::new(limiter(
            source.discovery_requests_per_second,
            source.discovery_requests_per_second.ceil().max(1.0) as u32,
        ));
        Crawler {
            source,
            concurrency,
            base: None,
            discovery,
            fixed: false,
            accounts: BTreeMap::new(),
            targets: BTreeMap::new(),
            members: None,
            regions: BTreeMap::new(),
            retries: BTreeMap::new(),
        }
    }

    /// A crawler of accounts already set up, in exactly `regions` (no discovery): for
    /// benchmarks and tools that build the SDK configuration themselves.
    pub fn with_accounts(
        accounts: Vec<Account>,
        regions: Vec<String>,
        concurrency: usize,
    ) -> Crawler {
        let mut crawler = Crawler::new(AwsSourceConfig::new(Vec::new(), regions), concurrency);
        crawler.fixed = true;
        for account in accounts {
            let label = format!("account {}", account.account_id);
            crawler.targets.insert(
                label.clone(),
                Target {
                    label: label.clone(),
                    spec: AccountSpec::Default,
                    id_hint: Some(account.account_id.clone()),
                },
            );
            crawler.accounts.insert(label, account);
        }
        crawler
    }

    /// Partitions crawled at once: the configured number, or with 0, enough to keep every
    /// account's token bucket busy (the bound is AWS's per-account rate, not our concurrency):
    /// 4 per account, between 16 and 1,024.
    pub fn partitions_at_once(&self) -> usize {
        match self.concurrency {
            0 => (self.accounts.len() * 4).clamp(16, 1024),
            n => n,
        }
    }

    fn region_entries(&self) -> Vec<String> {
        if self.source.regions.is_empty() {
            vec![home_region(&self.source)]
        } else {
            self.source.regions.clone()
        }
    }

    pub(super) async fn base(&mut self) -> SdkConfig {
        match &self.base {
            Some(base) => base.clone(),
            None => {
                let base = loader(&self.source).http_client(http_client()).load().await;
                self.base = Some(base.clone());
                base
            }
        }
    }

    /// The accounts to crawl: the config's, then the organization's (a listing failure keeps
    /// the last good list and adds a `failed` row saying why).
    async fn discover(
        &mut self,
        base: &SdkConfig,
        statuses: &mut Vec<PartitionStatus>,
    ) -> (Vec<Target>, Vec<Target>) {
        if self.fixed {
            return (self.targets.values().cloned().collect(), Vec::new());
        }
        let explicit: Vec<Target> =
            if self.source.accounts.is_empty() && self.source.organization.is_some() {
                Vec::new()
            } else if self.source.accounts.is_empty() {
                vec![target(AccountSpec::Default)]
            } else {
                self.source.accounts.iter().cloned().map(target).collect()
            };
        let Some(org) = self.source.organization.clone() else {
            return (explicit, Vec::new());
        };
        let counter = Arc::new(AttemptCounter::default());
        let attempt = Utc::now();
        let started = Instant::now();
        let listed = list_organization(base, &self.source, &org, &self.discovery, &counter).await;
        let mut row = status_row(
            ORGANIZATION_ROW,
            ACCOUNT_ROW,
            attempt,
            PartitionState::Ok,
            None,
        );
        (row.api_calls, row.throttled_calls) = counter.totals();
        row.duration_ms = millis(started.elapsed());
        match listed {
            Ok(members) => {
                row.last_success = Some(attempt);
                row.api_count = members.len();
                tracing::info!(accounts = members.len(), "organization accounts discovered");
                self.members = Some(members);
            }
            Err(e) => {
                tracing::warn!(cause = %e, kept = self.members.as_ref().map_or(0, Vec::len), "cannot list the organization's accounts; keeping the last good list");
                row.status = PartitionState::Failed;
                row.error = Some(e);
            }
        }
        statuses.push(row);
        let partition = partition_for_region(&home_region(&self.source));
        let members = self
            .members
            .iter()
            .flatten()
            .map(|m| {
                let mut t = target(org.member(partition, &m.id));
                t.id_hint = Some(m.id.clone());
                t
            })
            .collect();
        (explicit, members)
    }

    /// Sets up (if need be) and finds the regions of each target, `setup_concurrency` at once.
    async fn prepare_all(&self, base: &SdkConfig, targets: Vec<Target>) -> Vec<Prepared> {
        futures::stream::iter(targets)
            .map(|t| self.prepare(base, t))
            .buffer_unordered(self.source.setup_concurrency.max(1))
            .collect()
            .await
    }

    pub(super) async fn prepare(&self, base: &SdkConfig, target: Target) -> Prepared {
        let counter = Arc::new(AttemptCounter::default());
        let attempt = Utc::now();
        let started = Instant::now();
        let mut regions = None;
        let mut set_up = None;
        let result = async {
            let account = match self.accounts.get(&target.label) {
                Some(a) => a.clone(),
                None => {
                    setup_account(&target.spec, base, &self.source, &self.discovery, &counter)
                        .await?
                }
            };
            set_up = Some(account.clone());
            let entries = self.region_entries();
            if self.fixed {
                return Ok((account, entries.into_iter().map(RegionPlan::Crawl).collect()));
            }
            let plans = match describe_regions(&account, &self.source, &counter).await {
                Ok(found) => {
                    let plans = plan(&entries, &found);
                    regions = Some(found);
                    plans
                }
                Err(e) => match self.regions.get(&account.account_id) {
                    Some(last) => {
                        tracing::warn!(account_id = %account.account_id, cause = %e, "keeping the last good region list");
                        plan(&entries, last)
                    }
                    None if !entries.iter().any(|r| is_pattern(r)) => {
                        tracing::warn!(account_id = %account.account_id, cause = %e, "crawling the configured regions as listed");
                        entries.into_iter().map(RegionPlan::Crawl).collect()
                    }
                    None => return Err(e),
                },
            };
            Ok((account, plans))
        }
        .await;
        Prepared {
            target,
            result,
            set_up,
            regions,
            calls: counter.totals(),
            attempt,
            elapsed: started.elapsed(),
        }
    }

    /// Applies one account's preparation: keeps the account and its regions, writes its status
    /// rows, and returns the partitions to crawl. A failure keeps the account's last good
    /// rows (pushed to `rows`) and schedules a retry.
    pub(super) fn settle(
        &mut self,
        p: Prepared,
        previous: Option<&Snapshot>,
        before: &Before,
        statuses: &mut Vec<PartitionStatus>,
        rows: &mut Vec<StageRow>,
        summary: &mut RefreshSummary,
    ) -> Vec<(String, Account, String)> {
        let key = RetryKey::Account(p.target.label.clone());
        let id = match &p.result {
            Ok((account, _)) => account.account_id.clone(),
            Err(_) => p
                .set_up
                .as_ref()
                .map(|a| a.account_id.clone())
                .or_else(|| p.target.id_hint.clone())
                .unwrap_or_else(|| "unknown".to_owned()),
        };
        let last_success = before
            .successes
            .get(&(id.clone(), ACCOUNT_ROW.to_owned()))
            .copied();
        let mut row = status_row(&id, ACCOUNT_ROW, p.attempt, PartitionState::Ok, None);
        (row.api_calls, row.throttled_calls) = p.calls;
        row.duration_ms = millis(p.elapsed);
        row.last_success = last_success;
        let mut partitions = Vec::new();
        match p.result {
            Ok((account, plans)) => {
                summary.accounts += 1;
                self.retries.remove(&key);
                row.last_success = Some(p.attempt);
                if let Some(found) = p.regions {
                    self.regions.insert(id.clone(), found);
                }
                for plan in plans {
                    match plan {
                        RegionPlan::Crawl(region) => {
                            partitions.push((p.target.label.clone(), account.clone(), region));
                        }
                        RegionPlan::Skip { region, reason } => {
                            summary.skipped += 1;
                            statuses.push(status_row(
                                &id,
                                &region,
                                p.attempt,
                                PartitionState::Skipped,
                                Some(reason),
                            ));
                        }
                    }
                }
                row.api_count = partitions.len();
                self.accounts.insert(p.target.label.clone(), account);
            }
            Err(error) => {
                summary.failed += 1;
                tracing::warn!(account = %p.target.label, cause = %error, "account not crawled; keeping its last good rows");
                if let Some(account) = p.set_up {
                    self.accounts.insert(p.target.label.clone(), account);
                }
                // Its partitions keep their rows and say why they are stale.
                for s in before.statuses.iter().filter(|s| {
                    s.account_id == id
                        && s.region != ACCOUNT_ROW
                        && s.status != PartitionState::Skipped
                }) {
                    let mut stale = s.clone();
                    stale.status = PartitionState::Failed;
                    stale.error = Some(error.clone());
                    stale.last_attempt = p.attempt;
                    stale.api_calls = 0;
                    stale.throttled_calls = 0;
                    stale.duration_ms = 0;
                    stale.stage_count =
                        previous.map_or(0, |prev| carried_count(prev, &id, Some(&s.region)));
                    statuses.push(stale);
                }
                if let Some(prev) = previous {
                    rows.extend(carried(prev, &id, None));
                }
                row.status = PartitionState::Failed;
                row.error = Some(error);
                let prior = self.retries.get(&key).copied();
                self.schedule(key, prior);
            }
        }
        statuses.push(row);
        partitions
    }

    /// Crawls `partitions`, `concurrency` at once, calling `each` as each one finishes.
    pub(super) async fn crawl_all(
        &self,
        partitions: Vec<(String, Account, String)>,
        mut each: impl FnMut(String, Outcome),
    ) {
        let mut results = futures::stream::iter(partitions)
            .map(|(label, account, region)| async move {
                let attempt = Utc::now();
                let t0 = Instant::now();
                let crawl = crawl_partition(&account, &region).await;
                let outcome = Outcome {
                    account_id: account.account_id.clone(),
                    region,
                    crawl,
                    attempt,
                    elapsed: t0.elapsed(),
                };
                (label, outcome)
            })
            .buffer_unordered(self.partitions_at_once());
        while let Some((label, outcome)) = results.next().await {
            each(label, outcome);
        }
    }

    /// One full refresh: discover, set up, crawl every partition, publish the merged snapshot
    /// and replace every status row.
    pub async fn refresh(&mut self, store: &Arc<SnapshotStore>) -> RefreshSummary {
        let started = std::time::Instant::now();
        let previous = store.current();
        let base = self.base().await;
        let mut statuses = Vec::new();
        let mut rows: Vec<StageRow> = Vec::new();
        let mut summary = RefreshSummary::default();
        let (explicit, members) = self.discover(&base, &mut statuses).await;
        let before = Before::read(store);

        // The config's accounts first: an organization member that is also listed there is
        // crawled once, with the config's credentials.
        let mut partitions = Vec::new();
        let mut labels = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for group in [explicit, members] {
            let group: Vec<Target> = group
                .into_iter()
                .filter(|t| t.id_hint.as_ref().is_none_or(|id| !ids.contains(id)))
                .filter(|t| labels.insert(t.label.clone()))
                .collect();
            for p in self.prepare_all(&base, group).await {
                self.targets
                    .insert(p.target.label.clone(), p.target.clone());
                if let Some(account) = &p.set_up {
                    ids.insert(account.account_id.clone());
                } else if let Some(id) = &p.target.id_hint {
                    ids.insert(id.clone());
                }
                partitions.extend(self.settle(
                    p,
                    previous.as_deref(),
                    &before,
                    &mut statuses,
                    &mut rows,
                    &mut summary,
                ));
            }
        }
        // Accounts that left the organization (or the config) go, with their rows.
        self.targets.retain(|label, _| labels.contains(label));
        self.accounts.retain(|label, _| labels.contains(label));
        self.retries.retain(|key, _| match key {
            RetryKey::Account(l) | RetryKey::Partition(l, _) => labels.contains(l),
        });
        tracing::info!(
            accounts = labels.len(),
            accounts_ready = summary.accounts,
            regions_enabled = partitions.len(),
            skipped = summary.skipped,
            "crawling"
        );

        let total = partitions.len();
        store.set_progress(0, total);
        let mut done = 0;
        let mut succeeded = 0;
        let mut failed_partitions = Vec::new();
        self.crawl_all(partitions, |label, outcome| {
            done += 1;
            let last_success = before
                .successes
                .get(&(outcome.account_id.clone(), outcome.region.clone()))
                .copied();
            let (prows, status) = merge::partition(outcome, previous.as_deref(), last_success);
            if status.status == PartitionState::Failed {
                summary.failed += 1;
                failed_partitions.push((label, status.region.clone()));
            } else {
                summary.ok += 1;
                succeeded += 1;
                store.set_progress(succeeded, total);
            }
            tracing::info!(
                account_id = %status.account_id, region = %status.region, status = status.status.as_str(),
                apis = status.api_count, stages = prows.len(), calls = status.api_calls,
                done, succeeded, total, "partition crawled"
            );
            rows.extend(prows);
            statuses.push(status);
        })
        .await;
        // A partition that fails again continues its backoff; one that recovered has none.
        let priors: Vec<(RetryKey, Option<Backoff>)> = failed_partitions
            .into_iter()
            .map(|(l, r)| {
                let key = RetryKey::Partition(l, r);
                let prior = self.retries.get(&key).copied();
                (key, prior)
            })
            .collect();
        self.retries
            .retain(|k, _| matches!(k, RetryKey::Account(_)));
        for (key, prior) in priors {
            self.schedule(key, prior);
        }

        // Before any partition has ever succeeded there is nothing true to serve: keep answering
        // "still loading" instead of publishing an empty table.
        if summary.ok > 0 || previous.is_some() {
            summary.stages = rows.len();
            let (built_at, from_disk) = match (&previous, summary.ok) {
                // Nothing was crawled: the rows are as old as before.
                (Some(prev), 0) => (Some(prev.built_at()), store.serving_from_disk()),
                _ => (None, false),
            };
            if let Some(snapshot) = store.publish_off_runtime(rows, built_at, from_disk).await {
                summary.published = true;
                tracing::debug!(
                    version = snapshot.version(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "snapshot published"
                );
            }
        }
        store.status().replace_all(statuses);
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
                .set(Utc::now().timestamp_millis() as f64 / 1000.0);
        }
        summary
    }
}

/// What the status board said before a refresh or retry pass.
pub(super) struct Before {
    /// Every status row.
    pub(super) statuses: Vec<PartitionStatus>,
    /// Each partition's last success, by (account, region).
    pub(super) successes: BTreeMap<(String, String), chrono::DateTime<Utc>>,
}

impl Before {
    pub(super) fn read(store: &SnapshotStore) -> Before {
        let statuses = store.status().all();
        let successes = statuses
            .iter()
            .filter_map(|s| Some(((s.account_id.clone(), s.region.clone()), s.last_success?)))
            .collect();
        Before {
            statuses,
            successes,
        }
    }
}

fn target(spec: AccountSpec) -> Target {
    Target {
        label: spec.label(),
        id_hint: spec.account_id_hint(),
        spec,
    }
}
