//! Accounts and regions by discovery, against the local stub for what moto cannot do: a
//! refused AssumeRole, ListAccounts paging and refusal, SUSPENDED accounts, a named region that
//! is not enabled, retries of a failed partition, and the calls made against the minimum.

use std::time::Duration;

use serde_json::json;
use stagesql_catalog::SnapshotStore;
use stagesql_catalog::aws::{AccountSpec, AwsSourceConfig, OrganizationSpec};
use stagesql_catalog::refresh::Crawler;
use stagesql_catalog::status::PartitionStatus;
use stagesql_tests::aws_stub::{AwsStub, StubOrganization, StubRegion, StubState};

const MANAGEMENT: &str = "123456789012";

fn org_source(stub: &AwsStub, regions: &[&str]) -> AwsSourceConfig {
    let mut cfg = AwsSourceConfig::new(
        Vec::new(),
        regions.iter().map(|r| (*r).to_owned()).collect(),
    );
    cfg.organization = Some(OrganizationSpec {
        member_role_name: "stagesql-reader".into(),
        session_name: "stagesql-test".into(),
        ..Default::default()
    });
    cfg.endpoint_url = Some(stub.url());
    cfg.attempt_timeout = Duration::from_secs(2);
    cfg.max_attempts = 2;
    cfg.requests_per_second = 1000.0;
    cfg.burst = 100;
    cfg.discovery_requests_per_second = 1000.0;
    cfg.static_credentials = Some(("testing".into(), "testing".into()));
    cfg
}

/// The stub's default-credentials account alone, in `regions`.
fn account_source(stub: &AwsStub, regions: &[&str]) -> AwsSourceConfig {
    let mut cfg = org_source(stub, regions);
    cfg.organization = None;
    cfg.accounts = vec![AccountSpec::Default];
    cfg
}

async fn stub_with(org: StubOrganization, regions: &[&str]) -> AwsStub {
    AwsStub::start(StubState {
        regions: regions
            .iter()
            .map(|r| ((*r).to_owned(), StubRegion::one_api(2)))
            .collect(),
        page_size: 2,
        account: MANAGEMENT.into(),
        organization: Some(org),
        ..Default::default()
    })
    .await
}

fn accounts_in(store: &SnapshotStore) -> Vec<String> {
    let mut ids: Vec<String> = store
        .current()
        .map(|s| s.rows().map(|r| r.account_id).collect())
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    ids
}

fn status_of<'a>(all: &'a [PartitionStatus], account: &str, region: &str) -> &'a PartitionStatus {
    all.iter()
        .find(|s| s.account_id == account && s.region == region)
        .unwrap_or_else(|| panic!("no status row for {account}/{region}: {all:#?}"))
}

#[tokio::test]
async fn one_refused_account_never_stops_the_others() {
    let mut org = StubOrganization::default();
    for id in ["111111111111", "222222222222", "333333333333"] {
        org.add(id, "r-root");
    }
    let stub = stub_with(org, &["us-east-1"]).await;
    stub.state().deny_assume.insert("222222222222".into());
    let store = std::sync::Arc::new(SnapshotStore::new());
    let mut crawler = Crawler::new(org_source(&stub, &["us-east-1"]), 4);
    let summary = crawler.refresh(&store).await;
    assert!(summary.published, "{summary:?}");
    assert_eq!(accounts_in(&store), ["111111111111", "333333333333"]);
    let all = store.status().all();
    let denied = status_of(&all, "222222222222", "*");
    assert_eq!(denied.status.as_str(), "failed");
    let error = denied.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("arn:aws:iam::222222222222:role/stagesql-reader")
            && error.contains("sts:AssumeRole")
            && error.contains("what to do: the member role is missing"),
        "{error}"
    );
    assert_eq!(
        status_of(&all, "111111111111", "us-east-1").status.as_str(),
        "ok"
    );
    assert_eq!(status_of(&all, "organization", "*").status.as_str(), "ok");
    assert_eq!(
        status_of(&all, "organization", "*").api_count,
        3,
        "accounts listed"
    );
    assert_eq!(store.progress(), (2, 2));

    // The role is deployed: the account joins at its retry, without waiting for a refresh.
    stub.state().deny_assume.clear();
    let due = crawler.next_retry().expect("a retry is scheduled");
    tokio::time::sleep_until(due).await;
    let retry = crawler.retry_due(&store).await;
    assert!(retry.published, "{retry:?}");
    assert_eq!(
        accounts_in(&store),
        ["111111111111", "222222222222", "333333333333"]
    );
    let all = store.status().all();
    assert_eq!(status_of(&all, "222222222222", "*").status.as_str(), "ok");
    assert_eq!(
        status_of(&all, "222222222222", "us-east-1").status.as_str(),
        "ok"
    );
    assert!(crawler.next_retry().is_none(), "nothing left to retry");
}

#[tokio::test]
async fn a_failed_partition_counts_its_calls_and_is_retried_with_growing_backoff() {
    let stub = AwsStub::start(StubState {
        regions: [
            ("us-east-1".to_owned(), StubRegion::one_api(2)),
            (
                "eu-west-1".to_owned(),
                StubRegion {
                    fail_apis: true,
                    ..StubRegion::one_api(3)
                },
            ),
        ]
        .into_iter()
        .collect(),
        page_size: 10,
        account: MANAGEMENT.into(),
        ..Default::default()
    })
    .await;
    let mut cfg = account_source(&stub, &["us-east-1", "eu-west-1"]);
    cfg.max_attempts = 3;
    let store = std::sync::Arc::new(SnapshotStore::new());
    let mut crawler = Crawler::new(cfg, 2);
    let first = crawler.refresh(&store).await;
    assert_eq!((first.ok, first.failed, first.stages), (1, 1, 2));
    let all = store.status().all();
    let failed = status_of(&all, MANAGEMENT, "eu-west-1");
    assert_eq!(failed.status.as_str(), "failed");
    assert_eq!(failed.api_calls, 3, "every attempt AWS saw is counted");
    assert_eq!(store.progress(), (1, 2), "a failed partition is not done");

    // Still failing: the next retry waits longer.
    let start = tokio::time::Instant::now();
    let due = crawler.next_retry().expect("scheduled");
    assert!(
        due - start <= Duration::from_secs(3),
        "the first retry comes within seconds"
    );
    tokio::time::sleep_until(due).await;
    let retry = crawler.retry_due(&store).await;
    assert!(!retry.published && retry.failed == 1, "{retry:?}");
    let second_due = crawler.next_retry().expect("rescheduled");
    assert!(
        second_due - tokio::time::Instant::now() > Duration::from_secs(3),
        "the backoff grows"
    );

    // It recovers: its rows arrive at the retry, before the next full refresh.
    stub.state()
        .regions
        .get_mut("eu-west-1")
        .expect("eu")
        .fail_apis = false;
    tokio::time::sleep_until(second_due).await;
    let retry = crawler.retry_due(&store).await;
    assert!(retry.published && retry.ok == 1, "{retry:?}");
    assert_eq!(store.current().expect("snapshot").len(), 5);
    let all = store.status().all();
    assert_eq!(
        status_of(&all, MANAGEMENT, "eu-west-1").status.as_str(),
        "ok"
    );
    assert_eq!(
        status_of(&all, MANAGEMENT, "us-east-1").status.as_str(),
        "ok"
    );
    assert!(crawler.next_retry().is_none());
}

#[tokio::test]
async fn the_organization_is_paged_filtered_and_kept_when_listing_fails() {
    let mut org = StubOrganization::default();
    org.units.insert("ou-prod".into(), "r-root".into());
    org.units.insert("ou-prod-eu".into(), "ou-prod".into());
    org.units.insert("ou-sandbox".into(), "r-root".into());
    org.add("100000000001", "r-root");
    org.add("100000000002", "ou-prod");
    org.add("100000000003", "ou-prod-eu");
    org.add("100000000004", "ou-sandbox");
    org.add("100000000005", "ou-prod");
    org.accounts.push((
        "100000000006".into(),
        "suspended".into(),
        "SUSPENDED".into(),
        "ou-prod".into(),
    ));
    let stub = stub_with(org, &["us-east-1"]).await;

    // The whole organization, every page (2 per page): the suspended account is left out.
    let store = std::sync::Arc::new(SnapshotStore::new());
    let mut whole = Crawler::new(org_source(&stub, &["us-east-1"]), 8);
    whole.refresh(&store).await;
    assert_eq!(
        accounts_in(&store),
        [
            "100000000001",
            "100000000002",
            "100000000003",
            "100000000004",
            "100000000005"
        ]
    );
    let calls = stub.state().calls.clone();
    assert_eq!(
        calls.get("organizations"),
        Some(&3),
        "6 accounts, 2 per page: 3 pages"
    );
    // Per active account: AssumeRole, GetCallerIdentity, DescribeRegions, GetApis, GetStages.
    assert_eq!(calls.get("assume"), Some(&5));
    assert_eq!(calls.get("sts"), Some(&5));
    assert_eq!(calls.get("regions"), Some(&5));
    assert_eq!(
        (calls.get("apis"), calls.get("stages")),
        (Some(&5), Some(&5))
    );

    // The next refresh reuses each account's credentials: no AssumeRole or identity call.
    whole.refresh(&store).await;
    let calls = stub.state().calls.clone();
    assert_eq!(
        (calls.get("assume"), calls.get("sts")),
        (Some(&5), Some(&5))
    );

    // One OU, nested OUs walked, one nested OU and one account excluded.
    let mut cfg = org_source(&stub, &["us-east-1"]);
    if let Some(o) = cfg.organization.as_mut() {
        o.units = vec!["ou-prod".into()];
        o.exclude_units = vec!["ou-prod-eu".into()];
        o.exclude_accounts = vec!["100000000005".into()];
    }
    let store = std::sync::Arc::new(SnapshotStore::new());
    Crawler::new(cfg.clone(), 8).refresh(&store).await;
    assert_eq!(accounts_in(&store), ["100000000002"]);
    if let Some(o) = cfg.organization.as_mut() {
        o.units = vec!["r-root".into()];
        o.exclude_units = Vec::new();
        o.exclude_accounts = Vec::new();
        o.include_accounts = vec!["100000000003".into(), "100000000004".into()];
    }
    let store = std::sync::Arc::new(SnapshotStore::new());
    Crawler::new(cfg, 8).refresh(&store).await;
    assert_eq!(accounts_in(&store), ["100000000003", "100000000004"]);

    // Listing refused (not the management account): the last good list and its rows stay.
    stub.state().organization.as_mut().expect("org").deny = true;
    let store2 = std::sync::Arc::new(SnapshotStore::new());
    let before = {
        whole.refresh(&store2).await;
        accounts_in(&store2)
    };
    assert_eq!(before.len(), 5, "the last good member list is kept");
    let all = store2.status().all();
    let row = status_of(&all, "organization", "*");
    assert_eq!(row.status.as_str(), "failed");
    let error = row.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("ListAccounts") && error.contains("management account"),
        "{error}"
    );
    // A crawler that never listed the organization has nothing to serve, and says why.
    let store3 = std::sync::Arc::new(SnapshotStore::new());
    let summary = Crawler::new(org_source(&stub, &["us-east-1"]), 8)
        .refresh(&store3)
        .await;
    assert!(!summary.published);
    assert_eq!(
        status_of(&store3.status().all(), "organization", "*")
            .status
            .as_str(),
        "failed"
    );
}

#[tokio::test]
async fn regions_come_from_patterns_and_a_disabled_named_region_is_skipped() {
    let stub = AwsStub::start(StubState {
        regions: ["us-east-1", "us-west-2", "eu-west-1"]
            .iter()
            .map(|r| ((*r).to_owned(), StubRegion::one_api(1)))
            .collect(),
        opt_in: [
            ("eu-south-2".to_owned(), "not-opted-in".to_owned()),
            ("us-gov-west-9".to_owned(), "not-opted-in".to_owned()),
            ("af-south-1".to_owned(), "opted-in".to_owned()),
        ]
        .into_iter()
        .collect(),
        page_size: 10,
        account: MANAGEMENT.into(),
        ..Default::default()
    })
    .await;
    let cfg = account_source(&stub, &["us-*", "af-*", "eu-south-2"]);
    let store = std::sync::Arc::new(SnapshotStore::new());
    let summary = Crawler::new(cfg, 4).refresh(&store).await;
    assert_eq!(
        (summary.ok, summary.skipped, summary.failed),
        (3, 1, 0),
        "{summary:?}"
    );
    let all = store.status().all();
    let regions: Vec<(&str, &str)> = all
        .iter()
        .map(|s| (s.region.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(
        regions,
        [
            ("*", "ok"),
            ("af-south-1", "ok"),
            ("eu-south-2", "skipped"),
            ("us-east-1", "ok"),
            ("us-west-2", "ok"),
        ]
    );
    let skipped = status_of(&all, MANAGEMENT, "eu-south-2");
    assert_eq!(skipped.api_calls, 0);
    assert!(
        skipped
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("not enabled"),
        "{skipped:?}"
    );
    let calls = stub.state().calls.clone();
    assert_eq!(
        calls.get("regions"),
        Some(&1),
        "DescribeRegions once per account and refresh"
    );
    assert_eq!(
        calls.get("apis"),
        Some(&3),
        "no API Gateway call in a skipped region"
    );

    // DescribeRegions refused and regions named outright: crawled as listed.
    stub.state().deny_describe_regions = true;
    let mut cfg = account_source(&stub, &["us-east-1"]);
    let store = std::sync::Arc::new(SnapshotStore::new());
    let summary = Crawler::new(cfg.clone(), 4).refresh(&store).await;
    assert_eq!(summary.ok, 1);
    // With a pattern there is nothing to go on: the account fails and says what to grant.
    cfg.regions = vec!["*".into()];
    let store = std::sync::Arc::new(SnapshotStore::new());
    let summary = Crawler::new(cfg, 4).refresh(&store).await;
    assert!(!summary.published);
    let all = store.status().all();
    let error = status_of(&all, MANAGEMENT, "*")
        .error
        .clone()
        .unwrap_or_default();
    assert!(
        error.contains("DescribeRegions") && error.contains("permission"),
        "{error}"
    );
}

#[tokio::test]
async fn stages_of_several_apis_are_fetched_at_once() {
    let apis = 16;
    let mut region = StubRegion::one_api(1);
    region.apis = (0..apis)
        .map(|a| stagesql_tests::aws_stub::StubApi {
            id: format!("api{a}"),
            stages: vec![json!({"stageName": "s", "createdDate": "2026-11-25T09:38:48Z"})],
            fail_stages: false,
        })
        .collect();
    let stub = AwsStub::start(StubState {
        regions: [("us-east-1".to_owned(), region)].into_iter().collect(),
        page_size: 100,
        account: MANAGEMENT.into(),
        latency: Duration::from_millis(150),
        ..Default::default()
    })
    .await;
    let cfg = account_source(&stub, &["us-east-1"]);
    let account = stagesql_catalog::aws::set_up(&cfg, &AccountSpec::Default)
        .await
        .expect("account");
    let started = std::time::Instant::now();
    let crawl = stagesql_catalog::aws::crawl_partition(&account, "us-east-1").await;
    let took = started.elapsed();
    assert_eq!(crawl.rows.len(), apis);
    let at_once = stub.state().max_in_flight;
    assert!(
        at_once >= 4,
        "GetStages requests in flight at once: {at_once}"
    );
    // One at a time would take 17 × 150 ms = 2.55 s.
    assert!(took < Duration::from_millis(1200), "{took:?}");
}
