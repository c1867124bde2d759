//! The live source against the local stub: paging, fields moto never returns, failures that must
//! not lose rows, changes that must show, and the server's "still loading" answer.

use std::time::Duration;

use serde_json::{Value, json};
use stagesql_catalog::SnapshotStore;
use stagesql_catalog::aws::{Account, AccountSpec, AwsSourceConfig, crawl_partition, set_up};
use stagesql_catalog::refresh::Crawler;
use stagesql_server::Config;
use stagesql_tests::aws_stub::{AwsStub, StubApi, StubRegion, StubState};
use stagesql_tests::{TestServer, sqlstate};

fn stage(name: &str, i: usize) -> Value {
    json!({
        "stageName": name,
        "createdDate": "2026-11-25T09:38:48Z",
        "lastUpdatedDate": format!("2026-11-25T10:00:{:02}Z", i % 60),
        "deploymentId": format!("dep{i}"),
        "apiGatewayManaged": i.is_multiple_of(2),
        "lastDeploymentStatusMessage": format!("deployed {i}"),
        "autoDeploy": true,
        "defaultRouteSettings": {"detailedMetricsEnabled": false, "throttlingBurstLimit": 10, "throttlingRateLimit": 2.5},
        "routeSettings": {},
        "stageVariables": {"n": i.to_string()},
        "tags": {"env": "test"}
    })
}

fn region(apis: usize, stages_per_api: usize) -> StubRegion {
    StubRegion {
        apis: (0..apis)
            .map(|a| StubApi {
                id: format!("api{a}"),
                stages: (0..stages_per_api)
                    .map(|s| stage(&format!("s{s}"), a * 100 + s))
                    .collect(),
                fail_stages: false,
            })
            .collect(),
        fail_apis: false,
    }
}

fn source(stub: &AwsStub, regions: &[&str]) -> AwsSourceConfig {
    let mut cfg = AwsSourceConfig::new(
        vec![AccountSpec::Default],
        regions.iter().map(|r| (*r).to_owned()).collect(),
    );
    cfg.endpoint_url = Some(stub.url());
    cfg.attempt_timeout = Duration::from_secs(2);
    cfg.max_attempts = 2;
    cfg.requests_per_second = 1000.0;
    cfg.burst = 100;
    cfg.static_credentials = Some(("testing".into(), "testing".into()));
    cfg
}

async fn account(cfg: &AwsSourceConfig) -> Account {
    set_up(cfg, &AccountSpec::Default).await.expect("set up")
}

async fn stub(regions: Vec<(&str, StubRegion)>) -> AwsStub {
    AwsStub::start(StubState {
        regions: regions
            .into_iter()
            .map(|(n, r)| (n.to_owned(), r))
            .collect(),
        page_size: 2,
        account: "123456789012".into(),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn crawl_follows_every_page_and_keeps_every_field() {
    let stub = stub(vec![("us-east-1", region(7, 5))]).await;
    let account = account(&source(&stub, &["us-east-1"])).await;
    assert_eq!(account.account_id, "123456789012");
    let crawl = crawl_partition(&account, "us-east-1").await;
    assert_eq!(crawl.error, None);
    assert_eq!(crawl.api_count, 7);
    assert_eq!(crawl.rows.len(), 35);
    // 4 pages of GetApis (2 per page) and 3 pages of GetStages for each of the 7 APIs.
    assert_eq!(
        crawl.api_calls,
        4 + 7 * 3,
        "exactly the minimal number of calls"
    );
    let row = crawl
        .rows
        .iter()
        .find(|r| r.api_id == "api3" && r.stage_name == "s4")
        .expect("api3/s4");
    assert_eq!(row.deployment_id.as_deref(), Some("dep304"));
    assert_eq!(row.api_gateway_managed, Some(true));
    assert_eq!(
        row.last_deployment_status_message.as_deref(),
        Some("deployed 304")
    );
    assert_eq!(
        row.stage_arn,
        "arn:aws:apigateway:us-east-1::/apis/api3/stages/s4"
    );
    assert_eq!(row.stage_variables.as_deref(), Some(r#""n"=>"304""#));
    assert_eq!(
        row.default_route_settings.as_deref(),
        Some(
            r#"{"detailed_metrics_enabled":false,"throttling_burst_limit":10,"throttling_rate_limit":2.5}"#
        )
    );
    assert_eq!(row.route_settings.as_deref(), Some("{}"));
}

#[tokio::test]
async fn failures_keep_last_good_rows_and_changes_show_after_a_refresh() {
    let stub = stub(vec![
        ("us-east-1", region(3, 2)),
        ("eu-west-1", region(2, 3)),
    ])
    .await;
    let cfg = source(&stub, &["us-east-1", "eu-west-1"]);
    let mut crawler = Crawler::new(cfg, 2);
    let store = std::sync::Arc::new(SnapshotStore::new());
    let first = crawler.refresh(&store).await;
    assert_eq!((first.ok, first.failed, first.stages), (2, 0, 12));

    // A region that fails keeps its rows; an API whose GetStages fails keeps its stages.
    {
        let mut st = stub.state();
        st.regions.get_mut("eu-west-1").expect("eu").fail_apis = true;
        st.regions.get_mut("us-east-1").expect("us").apis[0].fail_stages = true;
    }
    let second = crawler.refresh(&store).await;
    assert_eq!(
        (second.ok, second.failed, second.stages),
        (1, 1, 12),
        "no row lost"
    );
    assert_eq!(store.current().expect("snapshot").version(), 2);
    let status: Vec<(String, &str, usize, bool)> = store
        .status()
        .all()
        .into_iter()
        .map(|s| {
            (
                s.region,
                s.status.as_str(),
                s.stage_count,
                s.error.is_some(),
            )
        })
        .collect();
    assert_eq!(
        status,
        vec![
            ("*".to_owned(), "ok", 0, false),
            ("eu-west-1".to_owned(), "failed", 6, true),
            ("us-east-1".to_owned(), "partial", 6, true),
        ],
        "the status tells the truth"
    );

    // Recovery plus changes: a stage deleted, an API deleted, a stage added.
    {
        let mut st = stub.state();
        let eu = st.regions.get_mut("eu-west-1").expect("eu");
        eu.fail_apis = false;
        eu.apis.remove(1);
        let us = st.regions.get_mut("us-east-1").expect("us");
        us.apis[0].fail_stages = false;
        us.apis[0].stages.pop();
        us.apis[2].stages.push(stage("new", 999));
    }
    let third = crawler.refresh(&store).await;
    assert_eq!((third.ok, third.failed), (2, 0));
    let snap = store.current().expect("snapshot");
    let mut keys: Vec<String> = snap
        .rows()
        .map(|r| format!("{}/{}/{}", r.region, r.api_id, r.stage_name))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "eu-west-1/api0/s0",
            "eu-west-1/api0/s1",
            "eu-west-1/api0/s2",
            "us-east-1/api0/s0",
            "us-east-1/api1/s0",
            "us-east-1/api1/s1",
            "us-east-1/api2/new",
            "us-east-1/api2/s0",
            "us-east-1/api2/s1",
        ]
    );
}

#[tokio::test]
async fn nothing_is_published_before_any_partition_succeeds() {
    let mut failing = region(1, 1);
    failing.fail_apis = true;
    let stub = stub(vec![("us-east-1", failing)]).await;
    let cfg = source(&stub, &["us-east-1"]);
    let mut crawler = Crawler::new(cfg, 1);
    let store = std::sync::Arc::new(SnapshotStore::new());
    let summary = crawler.refresh(&store).await;
    assert!(!summary.published);
    assert!(store.current().is_none());
    assert_eq!(
        store.progress(),
        (0, 1),
        "only partitions that succeeded count as done"
    );
    assert_eq!(
        stub.state().calls.get("apis"),
        Some(&2),
        "retried once, then given up"
    );
}

#[tokio::test]
async fn server_answers_still_loading_then_serves_the_crawl() {
    let mut failing = region(2, 2);
    failing.fail_apis = true;
    let stub = stub(vec![("us-east-1", failing)]).await;
    let server = TestServer::start_with(aws_config(&stub, None)).await;
    let client = server.client().await;
    let err = client
        .query("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
        .await
        .expect_err("still loading");
    assert_eq!(sqlstate(&err), "57P03");
    let message = err
        .as_db_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(
        message.starts_with("catalog is still loading: "),
        "{message}"
    );
    assert!(message.ends_with(" partitions done"), "{message}");
    // Queries that do not read the table work meanwhile.
    client
        .query_one("SELECT 1", &[])
        .await
        .expect("SELECT 1 works while loading");

    stub.state()
        .regions
        .get_mut("us-east-1")
        .expect("us")
        .fail_apis = false;
    let mut count = 0i64;
    for _ in 0..100 {
        if let Ok(row) = client
            .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
            .await
        {
            count = row.get(0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count, 4, "the crawl is served once it succeeds");
    let status = client
        .query_one(
            "SELECT account_id, region, status, error, stage_count, api_count, api_calls, throttled_calls, \
             last_success IS NOT NULL AND last_success <= last_attempt + INTERVAL '1 minute' \
             FROM stagesql.refresh_status WHERE region <> '*'",
            &[],
        )
        .await
        .expect("refresh_status");
    assert_eq!(status.get::<_, String>(0), "123456789012");
    assert_eq!(status.get::<_, String>(1), "us-east-1");
    assert_eq!(status.get::<_, String>(2), "ok");
    assert_eq!(status.get::<_, Option<String>>(3), None);
    assert_eq!(
        (
            status.get::<_, i64>(4),
            status.get::<_, i64>(5),
            status.get::<_, i64>(6)
        ),
        (4, 2, 3),
        "1 page of GetApis and 1 page of GetStages per API"
    );
    assert_eq!(status.get::<_, i64>(7), 0);
    assert!(status.get::<_, bool>(8));
    let snap = client
        .query_one(
            "SELECT version >= 1, stage_count, age_seconds >= 0, partitions_done, partitions_total FROM stagesql.snapshot_status",
            &[],
        )
        .await
        .expect("snapshot_status");
    assert!(snap.get::<_, bool>(0));
    assert_eq!(snap.get::<_, i64>(1), 4);
    assert!(snap.get::<_, bool>(2));
    assert_eq!((snap.get::<_, i64>(3), snap.get::<_, i64>(4)), (1, 1));
    server.stop().await;
}

#[tokio::test]
async fn throttling_storms_and_hung_requests_are_retried_until_they_clear() {
    let stub = stub(vec![("us-east-1", region(3, 2))]).await;
    let mut cfg = source(&stub, &["us-east-1"]);
    cfg.max_attempts = 4;
    cfg.attempt_timeout = Duration::from_millis(500);
    let account = account(&cfg).await;
    {
        let mut st = stub.state();
        st.throttle_next = 2;
        st.hang_next = 1;
    }
    let started = std::time::Instant::now();
    let crawl = crawl_partition(&account, "us-east-1").await;
    assert_eq!(crawl.error, None, "the crawl recovers");
    assert_eq!(crawl.rows.len(), 6, "no row lost");
    assert!(crawl.failed_apis.is_empty());
    let calls = stub.state().calls.clone();
    assert_eq!(calls.get("hung"), Some(&1));
    assert_eq!(calls.get("throttled"), Some(&2));
    // 1 page of GetApis and 1 page of GetStages per API, plus 2 throttled and 1 timed-out attempt.
    assert_eq!((crawl.api_calls, crawl.throttled_calls), (4 + 3, 2));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "retries stop: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_per_account_rate_limit_spaces_requests() {
    let stub = stub(vec![("us-east-1", region(10, 1))]).await;
    let mut cfg = source(&stub, &["us-east-1"]);
    cfg.requests_per_second = 20.0;
    cfg.burst = 1;
    let account = account(&cfg).await;
    let started = std::time::Instant::now();
    let crawl = crawl_partition(&account, "us-east-1").await;
    // 5 pages of GetApis and 10 GetStages: 15 calls at 20 per second take at least 0.7 s.
    assert_eq!(crawl.api_calls, 15);
    assert!(
        started.elapsed() >= Duration::from_millis(650),
        "{:?}",
        started.elapsed()
    );
}

/// A server config crawling the stub's us-east-1 every second, without retries.
fn aws_config(stub: &AwsStub, snapshot_path: Option<&std::path::Path>) -> Config {
    let mut config = stagesql_tests::aws_source_config(stub.url(), &["us-east-1"]);
    config.source.refresh_interval_seconds = 1;
    config.source.max_attempts = 1;
    config.source.snapshot_path = snapshot_path.map(ToOwned::to_owned);
    config
}

#[tokio::test]
async fn a_restart_serves_the_persisted_snapshot_before_its_first_crawl() {
    let stub = stub(vec![("us-east-1", region(2, 2))]).await;
    let dir = std::env::temp_dir().join(format!("stagesql-persist-it-{}", std::process::id()));
    let path = dir.join("snapshot.arrow");
    let _ = std::fs::remove_dir_all(&dir);

    let first = TestServer::start_with(aws_config(&stub, Some(&path))).await;
    for _ in 0..100 {
        if path.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(path.exists(), "the first refresh persisted its snapshot");
    first.stop().await;

    // AWS now fails: the restarted server still answers at once, from disk, marked as such.
    stub.state()
        .regions
        .get_mut("us-east-1")
        .expect("us")
        .fail_apis = true;
    let second = TestServer::start_with(aws_config(&stub, Some(&path))).await;
    let client = second.client().await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
        .await
        .expect("served from disk without waiting for AWS")
        .get(0);
    assert_eq!(n, 4);
    let from_disk: bool = client
        .query_one("SELECT from_disk FROM stagesql.snapshot_status", &[])
        .await
        .expect("snapshot_status")
        .get(0);
    assert!(from_disk);
    second.stop().await;

    // A corrupt file is ignored, never fatal.
    std::fs::write(&path, b"garbage").expect("corrupt the file");
    let third = TestServer::start_with(aws_config(&stub, Some(&path))).await;
    let err = third
        .client()
        .await
        .query("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
        .await
        .expect_err("nothing to serve yet");
    assert_eq!(sqlstate(&err), "57P03");
    third.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every row of `sql`'s text result, each row's values joined, sorted.
async fn text_rows(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    let mut rows: Vec<String> = client
        .simple_query(sql)
        .await
        .expect("query")
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("<NULL>"))
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect();
    rows.sort();
    rows
}

/// Whether a row of [`text_rows`] holds a deployment id `<prefix><digits>`.
fn deployment(row: &str, prefix: &str) -> bool {
    row.split('|').any(|v| {
        v.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[tokio::test]
async fn a_full_fetch_after_a_refresh_sends_the_new_snapshots_rows() {
    // 300 stages: more than one chunk of rows kept with the snapshot for whole-row fetches.
    let stub = stub(vec![("us-east-1", region(60, 5))]).await;
    let mut config = aws_config(&stub, None);
    config.source.requests_per_second = 1000.0;
    config.source.burst = 1000;
    let server = TestServer::start_with(config).await;
    let client = server.client().await;
    let mut loaded = false;
    for _ in 0..100 {
        if let Ok(row) = client
            .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
            .await
            && row.get::<_, i64>(0) == 300
        {
            loaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(loaded, "the crawl is served");
    // A bare full fetch sends the snapshot's own rows (kept after the first run); a sorted one
    // sends a copy, encoded afresh. Both must be the same rows, run after run.
    let whole = "SELECT * FROM aws.apigatewayv2_stage";
    let sorted = "SELECT * FROM aws.apigatewayv2_stage ORDER BY stage_arn";
    let before = text_rows(&client, sorted).await;
    assert_eq!(before.len(), 300);
    assert_eq!(text_rows(&client, whole).await, before);
    assert_eq!(text_rows(&client, whole).await, before, "served again");
    assert!(before.iter().all(|r| deployment(r, "dep")));

    // Every stage gets a new deployment; the next snapshot's full fetch must show it.
    {
        let mut st = stub.state();
        for api in &mut st.regions.get_mut("us-east-1").expect("us").apis {
            for stage in &mut api.stages {
                let id = stage["deploymentId"]
                    .as_str()
                    .expect("id")
                    .replace("dep", "new");
                stage["deploymentId"] = json!(id);
            }
        }
    }
    let mut changed = false;
    for _ in 0..100 {
        let row = client
            .query_one(
                "SELECT count(*) FROM aws.apigatewayv2_stage WHERE deployment_id LIKE 'new%'",
                &[],
            )
            .await
            .expect("count");
        if row.get::<_, i64>(0) == 300 {
            changed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(changed, "the refresh is served");
    let after = text_rows(&client, sorted).await;
    assert_ne!(after, before);
    assert!(
        after
            .iter()
            .all(|r| deployment(r, "new") && !deployment(r, "dep"))
    );
    assert_eq!(
        text_rows(&client, whole).await,
        after,
        "no row of the old snapshot"
    );
    // A part of the snapshot's rows, across the end of a kept chunk.
    let part = text_rows(
        &client,
        "SELECT * FROM aws.apigatewayv2_stage LIMIT 100 OFFSET 200",
    )
    .await;
    assert_eq!(part.len(), 100);
    assert!(part.iter().all(|r| after.binary_search(r).is_ok()));
    server.stop().await;
}
