//! The crawl benchmark: one full refresh of 5 accounts × 3 regions × 200 APIs × 3 stages from
//! the local AWS stub, with 20 ms per request and AWS's 10 requests/second per account
//! (429 above it). Prints the AWS calls made against the minimum (GetApis pages + GetStages
//! pages), the 429s seen, the wall time, and the wall time over the rate-limit bound (the
//! busiest account's calls / 10 rps).
//!
//!   cargo run --release -p stagesql-tests --example crawl_bench

use std::time::{Duration, Instant};

use serde_json::json;
use stagesql_catalog::SnapshotStore;
use stagesql_catalog::aws::Account;
use stagesql_catalog::refresh::Crawler;
use stagesql_tests::aws_stub::{AwsStub, StubApi, StubRegion, StubState};

const ACCOUNTS: usize = 5;
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const APIS: usize = 200;
const STAGES: usize = 3;
const PAGE: usize = 100;
const LATENCY: Duration = Duration::from_millis(20);
const AWS_RPS: f64 = 10.0;
/// The server's default `source.concurrency`.
const CONCURRENCY: usize = 16;

#[tokio::main]
async fn main() {
    let region = StubRegion {
        apis: (0..APIS)
            .map(|a| StubApi {
                id: format!("api{a:04}"),
                stages: (0..STAGES)
                    .map(|s| {
                        json!({"stageName": format!("s{s}"), "createdDate": "2026-01-01T00:00:00Z",
                               "autoDeploy": s % 2 == 0, "tags": {"env": "bench"}})
                    })
                    .collect(),
                fail_stages: false,
            })
            .collect(),
        fail_apis: false,
    };
    let stub = AwsStub::start(StubState {
        regions: REGIONS
            .iter()
            .map(|r| ((*r).to_owned(), region.clone()))
            .collect(),
        page_size: PAGE,
        account: "000000000000".into(),
        latency: LATENCY,
        rate_limit: Some((AWS_RPS, AWS_RPS)),
        ..Default::default()
    })
    .await;

    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        // Each account signs with its own access key; the stub keeps one bucket per key.
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGIONS[0]))
            .endpoint_url(stub.url())
            .credentials_provider(aws_sdk_apigatewayv2::config::Credentials::new(
                format!("AKIDBENCH{n}"),
                "secret",
                None,
                None,
                "bench",
            ))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(6))
            .load()
            .await;
        // The same settings a config with requests_per_second = 10 gives.
        accounts.push(Account::with_config(
            format!("{:012}", 100_000_000_000u64 + n as u64),
            sdk,
            AWS_RPS,
            1,
        ));
    }
    let regions: Vec<String> = REGIONS.iter().map(|r| (*r).to_owned()).collect();
    let store = std::sync::Arc::new(SnapshotStore::new());
    let started = Instant::now();
    let summary = Crawler::with_accounts(accounts, regions, CONCURRENCY)
        .refresh(&store)
        .await;
    let wall = started.elapsed();

    let calls = stub.state().calls.clone();
    let get_apis = calls.get("apis").copied().unwrap_or(0);
    let get_stages = calls.get("stages").copied().unwrap_or(0);
    let throttled = calls.get("throttled").copied().unwrap_or(0);
    let pages_apis = APIS.div_ceil(PAGE);
    let pages_stages = STAGES.div_ceil(PAGE);
    let per_account = REGIONS.len() * (pages_apis + APIS * pages_stages);
    let minimum = ACCOUNTS * per_account;
    let bound = per_account as f64 / AWS_RPS;
    let stages = store.current().map_or(0, |s| s.len());
    println!(
        "{ACCOUNTS} accounts × {} regions × {APIS} APIs × {STAGES} stages; {} ms per request; \
         {AWS_RPS} requests/s per account (429 above); source.concurrency {CONCURRENCY}.",
        REGIONS.len(),
        LATENCY.as_millis()
    );
    println!();
    println!("| figure | value |");
    println!("|---|---:|");
    println!(
        "| stages published | {stages} (expected {}) |",
        ACCOUNTS * REGIONS.len() * APIS * STAGES
    );
    println!(
        "| partitions ok | {} of {} |",
        summary.ok,
        ACCOUNTS * REGIONS.len()
    );
    println!(
        "| AWS calls answered | {} (GetApis {get_apis} + GetStages {get_stages}); minimum {minimum} |",
        get_apis + get_stages
    );
    println!("| 429s seen | {throttled} |");
    println!("| wall time | {:.1} s |", wall.as_secs_f64());
    println!(
        "| rate-limit bound | {bound:.1} s ({per_account} calls per account at {AWS_RPS}/s) |"
    );
    println!(
        "| wall / bound | {:.2} (target ≤ 1.2) |",
        wall.as_secs_f64() / bound
    );
}
