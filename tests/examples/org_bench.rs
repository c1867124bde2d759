//! The organization benchmark: discovery and crawl of a simulated organization of 1,000
//! accounts × 17 enabled regions (plus 2 regions not enabled) from the local AWS stub, with
//! 20 ms per request and AWS's 10 requests/second per account (429 above it), using the
//! server's default rates and concurrency. Most regions hold no API, as in real organizations;
//! three hold one API with one stage.
//!
//! Prints, for the first refresh (accounts set up) and a second one (credentials reused), the
//! calls made against the minimum and the wall time against the rate-limit bound.
//!
//!   cargo run --release -p stagesql-tests --example org_bench [-- ACCOUNTS]

use std::time::{Duration, Instant};

use serde_json::json;
use stagesql_catalog::SnapshotStore;
use stagesql_catalog::aws::{AwsSourceConfig, OrganizationSpec};
use stagesql_catalog::refresh::Crawler;
use stagesql_tests::aws_stub::{AwsStub, StubApi, StubOrganization, StubRegion, StubState};

const REGIONS: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
];
const WITH_APIS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const LATENCY: Duration = Duration::from_millis(20);
const AWS_RPS: f64 = 10.0;
/// Organizations' ListAccounts page size.
const PAGE: usize = 20;

#[tokio::main]
async fn main() {
    let accounts: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let mut org = StubOrganization::default();
    for n in 0..accounts {
        org.add(&format!("{:012}", 200_000_000_000u64 + n as u64), "r-root");
    }
    let stub = AwsStub::start(StubState {
        regions: REGIONS
            .iter()
            .map(|r| {
                let region = if WITH_APIS.contains(r) {
                    StubRegion {
                        apis: vec![StubApi {
                            id: "api0".into(),
                            stages: vec![
                                json!({"stageName": "prod", "createdDate": "2026-01-01T00:00:00Z"}),
                            ],
                            fail_stages: false,
                        }],
                        fail_apis: false,
                    }
                } else {
                    StubRegion::default()
                };
                ((*r).to_owned(), region)
            })
            .collect(),
        opt_in: [
            ("eu-south-2", "not-opted-in"),
            ("me-central-1", "not-opted-in"),
        ]
        .iter()
        .map(|(r, s)| ((*r).to_owned(), (*s).to_owned()))
        .collect(),
        page_size: PAGE,
        account: "123456789012".into(),
        latency: LATENCY,
        rate_limit: Some((AWS_RPS, AWS_RPS)),
        organization: Some(org),
        ..Default::default()
    })
    .await;
    let mut cfg = AwsSourceConfig::new(Vec::new(), vec!["*".into()]);
    cfg.endpoint_url = Some(stub.url());
    cfg.static_credentials = Some(("AKIDMANAGEMENT".into(), "secret".into()));
    cfg.organization = Some(OrganizationSpec {
        member_role_name: "stagesql-reader".into(),
        session_name: "stagesql".into(),
        ..Default::default()
    });
    let defaults = cfg.clone();
    let mut crawler = Crawler::new(cfg, 0);
    let store = std::sync::Arc::new(SnapshotStore::new());

    println!(
        "{accounts} accounts × {} enabled regions (+2 not enabled), one API with one stage in {} \
         regions; {} ms per request; {AWS_RPS} requests/s per account (429 above); defaults: \
         {} requests/s per account (burst {}), {} discovery requests/s, {} accounts set up at once, \
         partitions at once: auto.",
        REGIONS.len(),
        WITH_APIS.len(),
        LATENCY.as_millis(),
        defaults.requests_per_second,
        defaults.burst,
        defaults.discovery_requests_per_second,
        defaults.setup_concurrency,
    );
    println!();
    println!(
        "| refresh | stages | partitions ok / skipped / failed | AWS calls (minimum) | 429s | wall | rate-limit bound | wall / bound |"
    );
    println!("|---|---:|---|---|---:|---:|---:|---:|");
    let org_pages = accounts.div_ceil(PAGE);
    let crawl_calls = REGIONS.len() + WITH_APIS.len();
    for round in ["first (set-up)", "second (steady)"] {
        let before = stub.state().calls.clone();
        let started = Instant::now();
        let summary = crawler.refresh(&store).await;
        let wall = started.elapsed().as_secs_f64();
        let after = stub.state().calls.clone();
        let delta =
            |k: &str| after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
        let made = delta("organizations")
            + delta("assume")
            + delta("sts")
            + delta("regions")
            + delta("apis")
            + delta("stages");
        let first = round.starts_with("first");
        // Minimum: the organization's pages, then per account one AssumeRole (first refresh
        // only), one DescribeRegions, one GetApis per enabled region, one GetStages per API.
        let per_account = usize::from(first) + 1 + crawl_calls;
        let minimum = org_pages + accounts * per_account;
        // The bound: the discovery bucket for the organization's pages and the AssumeRoles,
        // then one account's own calls at its rate after its burst.
        let discovery = (org_pages + if first { accounts } else { 0 }) as f64
            / defaults.discovery_requests_per_second;
        let own = (1 + crawl_calls).saturating_sub(defaults.burst as usize) as f64
            / defaults.requests_per_second;
        let bound = discovery + own;
        println!(
            "| {round} | {} | {} / {} / {} | {made} ({minimum}; GetCallerIdentity {}) | {} | {wall:.1} s | {bound:.1} s | {:.2} |",
            summary.stages,
            summary.ok,
            summary.skipped,
            summary.failed,
            delta("sts"),
            delta("throttled"),
            wall / bound,
        );
    }
}
