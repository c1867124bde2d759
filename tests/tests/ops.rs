//! The operator endpoints: `/healthz`, `/readyz` (503 before the first snapshot) and
//! `/metrics` in Prometheus text format, scraped while queries run and refreshes happen; the
//! snapshot written at shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use stagesql_tests::aws_stub::{AwsStub, StubRegion, StubState};
use stagesql_tests::{TestServer, aws_source_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GETs `path`; returns the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .expect("answered")
        .expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of the first sample of `metric` (with any labels) in a Prometheus text body.
fn sample(body: &str, metric: &str) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(metric) && l[metric.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn health_readiness_and_metrics_follow_the_server() {
    let server = TestServer::start().await;
    let http = server.http_addr().expect("the operator listener is on");
    assert_eq!(get(http, "/healthz").await, (200, "ok\n".to_owned()));
    let (status, body) = get(http, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("50 stages"), "{body}");
    assert_eq!(get(http, "/nope").await.0, 404);

    let client = server.client().await;
    let (_, before) = get(http, "/metrics").await;
    assert_eq!(
        sample(&before, "stagesql_snapshot_stages"),
        Some(50.0),
        "{before}"
    );
    assert!(
        sample(&before, "stagesql_connections_open").unwrap_or(0.0) >= 1.0,
        "{before}"
    );
    let statements = |body: &str| {
        body.lines()
            .filter(|l| l.starts_with("stagesql_statements_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    for _ in 0..3 {
        client
            .simple_query("SELECT count(*) FROM aws.apigatewayv2_stage")
            .await
            .expect("query");
    }
    let _ = client.simple_query("SELECT * FROM nowhere").await;
    // An error after the first statement of a text is still that text's outcome.
    let _ = client.simple_query("SELECT 1; SELECT 1/0").await;
    // A Parse that fails is a failed extended statement.
    let _ = client.query("SELECT * FROM nowhere", &[]).await;
    // 50 rows through the extended protocol, 7 through the simple one.
    let rows = client
        .query("SELECT stage_name FROM aws.apigatewayv2_stage", &[])
        .await
        .expect("rows");
    assert_eq!(rows.len(), 50);
    client
        .simple_query("SELECT stage_name FROM aws.apigatewayv2_stage LIMIT 7")
        .await
        .expect("rows");
    let (_, after) = get(http, "/metrics").await;
    assert!(
        statements(&after) >= statements(&before) + 8.0,
        "statements counted: {before}\n---\n{after}"
    );
    assert!(
        after.contains("stagesql_errors_total{sqlstate_class=\"42\"}"),
        "errors by SQLSTATE class: {after}"
    );
    for outcome in [
        "protocol=\"simple\",outcome=\"ok\",sqlstate_class=\"00\"",
        "protocol=\"simple\",outcome=\"error\",sqlstate_class=\"42\"",
        "protocol=\"simple\",outcome=\"error\",sqlstate_class=\"22\"",
        "protocol=\"extended\",outcome=\"ok\",sqlstate_class=\"00\"",
        "protocol=\"extended\",outcome=\"error\",sqlstate_class=\"42\"",
    ] {
        assert!(
            after.contains(&format!("stagesql_statements_total{{{outcome}}}")),
            "statements by outcome ({outcome}): {after}"
        );
    }
    let sent = |body: &str| sample(body, "stagesql_rows_sent_total").unwrap_or(0.0);
    assert!(
        sent(&after) >= sent(&before) + 57.0,
        "rows sent: {} then {}",
        sent(&before),
        sent(&after)
    );
    // A real histogram (buckets), not a summary.
    assert!(
        after.contains(
            "stagesql_statement_duration_seconds_bucket{protocol=\"simple\",le=\"0.005\"}"
        ),
        "{after}"
    );
    assert!(
        after.contains("# TYPE stagesql_statement_duration_seconds histogram"),
        "{after}"
    );
    assert!(
        after.contains("# HELP stagesql_rows_sent_total"),
        "metrics are described: {after}"
    );
    server.stop().await;
}

/// The sum of every sample of `metric` whose labels include all of `labels`.
fn sum_of(body: &str, metric: &str, labels: &[&str]) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(metric) && l[metric.len()..].starts_with([' ', '{']))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// An account id no other test's stub reports, so this file's AWS metrics are its own.
const ACCOUNT: &str = "210987654321";

#[tokio::test]
async fn refreshes_aws_calls_and_snapshot_writes_are_measured_and_shutdown_saves_the_snapshot() {
    let stub = AwsStub::start(StubState {
        regions: [("eu-west-1".to_owned(), StubRegion::one_api(3))].into(),
        page_size: 2,
        account: ACCOUNT.into(),
        // Two throttled answers, each retried.
        throttle_next: 2,
        ..Default::default()
    })
    .await;
    // The snapshot's directory is a file at first, so the refreshes' writes fail...
    let dir = tempfile::tempdir().expect("tmp");
    let blocker = dir.path().join("state");
    std::fs::write(&blocker, b"not a directory").expect("blocker");
    let path = blocker.join("snapshot.arrow");
    let mut config = aws_source_config(stub.url(), &["eu-west-1"]);
    // One refresh in this test: a second one would write the snapshot before the shutdown.
    config.source.refresh_interval_seconds = 3600;
    config.source.max_attempts = 4;
    config.source.snapshot_path = Some(path.clone());
    let server = TestServer::start_with(config).await;
    let http = server.http_addr().expect("on");

    let ours = [
        &*format!("account_id=\"{ACCOUNT}\""),
        "region=\"eu-west-1\"",
    ];
    let mut body = String::new();
    for _ in 0..100 {
        body = get(http, "/metrics").await.1;
        // The failed write comes last: after the partition's crawl and the publish.
        if sum_of(
            &body,
            "stagesql_snapshot_writes_total",
            &["outcome=\"error\""],
        ) >= 1.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        sum_of(
            &body,
            "stagesql_partition_refreshes_total",
            &[ours[0], "status=\"ok\""]
        ),
        1.0,
        "the partition's refresh: {body}"
    );
    assert!(
        sum_of(&body, "stagesql_refreshes_total", &["outcome=\"ok\""]) >= 1.0,
        "{body}"
    );
    // One DescribeRegions (the account's regions), one GetApis page and two GetStages pages
    // (3 stages, 2 a page), plus the two retries.
    for (metric, want) in [
        ("stagesql_aws_attempts_total", 6.0),
        ("stagesql_aws_throttled_total", 2.0),
        ("stagesql_aws_retries_total", 2.0),
        ("stagesql_partition_stages", 3.0),
    ] {
        assert_eq!(sum_of(&body, metric, &ours), want, "{metric}: {body}");
    }
    assert!(
        body.contains("stagesql_partition_refresh_duration_seconds_bucket{"),
        "{body}"
    );
    assert!(
        body.contains("stagesql_refresh_duration_seconds_bucket{"),
        "{body}"
    );
    assert!(
        sum_of(
            &body,
            "stagesql_refresh_last_success_timestamp_seconds",
            &[]
        ) > 1.7e9,
        "{body}"
    );
    assert!(
        sum_of(
            &body,
            "stagesql_snapshot_writes_total",
            &["outcome=\"error\""]
        ) >= 1.0,
        "the blocked writes are counted: {body}"
    );
    assert!(!path.exists());

    // ...then the directory can be made, and the shutdown saves what is being served.
    std::fs::remove_file(&blocker).expect("unblock");
    std::fs::create_dir(&blocker).expect("mkdir");
    server.stop().await;
    let rows = stagesql_engine::persist::read_snapshot(&path).expect("saved at shutdown");
    assert_eq!(rows.rows.len(), 3);
}

#[tokio::test]
async fn readyz_is_503_until_the_first_snapshot() {
    // An AWS source whose endpoint never answers: no snapshot, so not ready.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut config = aws_source_config(
        format!("http://{}", silent.local_addr().expect("addr")),
        &["us-east-1"],
    );
    config.source.attempt_timeout_seconds = 30;
    let server = TestServer::start_with(config).await;
    let http = server.http_addr().expect("on");
    assert_eq!(get(http, "/healthz").await.0, 200);
    let (status, body) = get(http, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_status_query_run_again_shows_the_state_of_now_not_of_its_first_planning() {
    // The same text twice on one connection reuses its plan; the status must still be read
    // when the plan runs (a plan that captured the rows at planning showed a frozen age).
    let server = TestServer::start().await;
    let client = server.client().await;
    let sql = "SELECT age_seconds::text FROM stagesql.snapshot_status";
    let age = |messages: Vec<tokio_postgres::SimpleQueryMessage>| {
        stagesql_tests::simple_rows(&messages)[0][0]
            .clone()
            .expect("age")
            .parse::<f64>()
            .expect("number")
    };
    let first = age(client.simple_query(sql).await.expect("first"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = age(client.simple_query(sql).await.expect("second"));
    assert!(
        second >= first + 1.0,
        "the age grew with time: {first} then {second}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_occupied_operator_port_is_named_by_its_key_and_its_cause_said_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut config = stagesql_tests::trust_config();
    config.server.listen = "127.0.0.1:0".to_owned();
    config.http.listen = format!("127.0.0.1:{port}");
    let err = stagesql_server::start(config)
        .await
        .expect_err("port taken");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot listen on 127.0.0.1:{port} (http.listen): "
        )),
        "{text}"
    );
    // The cause is in the message, not repeated as a source (an error chain prints it once).
    assert!(std::error::Error::source(&err).is_none(), "{text}");
    assert_eq!(text.matches("in use").count(), 1, "{text}");
}
