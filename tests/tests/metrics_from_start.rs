//! The process's metrics count from the start: the refresher's very first AWS calls are in
//! `/metrics`. This runs alone in its own test process, so the metrics recorder is installed by
//! this server's start and nothing else counts into it. Multi-threaded, as the binary runs, so
//! the refresher starts crawling while the rest of the server is still being set up.

use std::time::Duration;

use stagesql_tests::aws_stub::{AwsStub, StubRegion, StubState};
use stagesql_tests::{TestServer, aws_source_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_crawls_aws_calls_are_counted() {
    let stub = AwsStub::start(StubState {
        regions: [("us-west-2".to_owned(), StubRegion::one_api(3))].into(),
        page_size: 2,
        account: "123456789012".into(),
        ..Default::default()
    })
    .await;
    let mut config = aws_source_config(stub.url(), &["us-west-2"]);
    config.source.refresh_interval_seconds = 3600;
    let server = TestServer::start_with(config).await;
    let http = server.http_addr().expect("on");

    let mut body = String::new();
    for _ in 0..100 {
        body = stagesql_server::http::get(&format!("http://{http}/metrics"))
            .await
            .expect("scrape")
            .1;
        if body.contains("stagesql_partition_refreshes_total{") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The account's set-up (GetCallerIdentity, before the account is known), then its
    // DescribeRegions, one GetApis page and two GetStages pages (3 stages, 2 a page): all counted.
    let attempts = |labels: &str| {
        body.lines()
            .find(|l| l.starts_with(&format!("stagesql_aws_attempts_total{{{labels}}}")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    assert_eq!(
        attempts("account_id=\"unknown\",region=\"us-west-2\""),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        attempts("account_id=\"123456789012\",region=\"us-west-2\""),
        Some(4.0),
        "{body}"
    );
    assert_eq!(stub.state().calls.get("stages"), Some(&2));
    server.stop().await;
}
