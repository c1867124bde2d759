//! The operator endpoints: `/healthz`, `/readyz` (503 before the first snapshot) and
//! `/metrics` in Prometheus text format, scraped while queries run.

use std::net::SocketAddr;
use std::time::Duration;

use stagesql_tests::{TestServer, trust_config};
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
    let (_, after) = get(http, "/metrics").await;
    assert!(
        statements(&after) >= statements(&before) + 4.0,
        "statements counted: {before}\n---\n{after}"
    );
    assert!(
        after.contains("stagesql_errors_total{sqlstate_class=\"42\"}"),
        "errors by SQLSTATE class: {after}"
    );
    assert!(
        after.contains("stagesql_statement_duration_seconds"),
        "{after}"
    );
    server.stop().await;
}

#[tokio::test]
async fn readyz_is_503_until_the_first_snapshot() {
    // An AWS source whose endpoint never answers: no snapshot, so not ready.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut config = trust_config();
    config.source.kind = stagesql_server::SourceKind::Aws;
    config.source.endpoint_url = Some(format!("http://{}", silent.local_addr().expect("addr")));
    config.source.regions = vec!["us-east-1".to_owned()];
    config.source.emulator_credentials = Some(["testing".to_owned(), "testing".to_owned()]);
    config.source.attempt_timeout_seconds = 30;
    let server = TestServer::start_with(config).await;
    let http = server.http_addr().expect("on");
    assert_eq!(get(http, "/healthz").await.0, 200);
    let (status, body) = get(http, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
    server.stop().await;
}
