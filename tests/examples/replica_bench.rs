//! The scale-out benchmark: a snapshot of N synthetic stages (the shape of `bench/gen_fixture.py`)
//! published to a snapshot store, and two replica processes (the real `stagesql` binary) that
//! follow it. Prints, per size: the publish time (encode + upload), the time from publish to each
//! replica serving it (its own `snapshot_status.lag_seconds`, which includes waiting for its
//! next 1 s poll), each replica's resident memory, and the aggregate throughput of a point
//! lookup against one replica and against both.
//!
//!   cargo run --release -p stagesql-tests --example replica_bench -- BINARY [SIZES] [SECONDS]
//!   (BINARY: the stagesql binary; SIZES: comma-separated, default 10000,1000000)
//!
//! The store is a local directory (`file://`): it measures our encode, verify, decode and swap,
//! not a network; S3 adds its transfer time on top.

use std::time::{Duration, Instant};

use serde_json::json;
use stagesql_catalog::{SnapshotStore, Stage, StageContext, StageRow};
use stagesql_server::replication::publisher::{self, Retention};
use stagesql_server::replication::{Store, StoreOptions};
use stagesql_tests::replica_process::{self, connect};

fn stage(i: usize) -> StageRow {
    let api = i / 3;
    let ctx = StageContext {
        account_id: format!("{:012}", 100_000_000_000u64 + (i % 20) as u64),
        region: "us-east-1".to_owned(),
        api_id: format!("a{api:07}"),
    };
    let env = ["dev", "staging", "prod"][i % 3];
    let s: Stage = serde_json::from_value(json!({
        "stageName": format!("s{}", i % 3),
        "createdDate": "2024-01-01T00:00:00Z",
        "lastUpdatedDate": "2024-01-02T00:00:00Z",
        "defaultRouteSettings": {
            "detailedMetricsEnabled": i.is_multiple_of(2),
            "throttlingBurstLimit": 100 + i % 400,
            "throttlingRateLimit": 50.0 + (i % 100) as f64,
        },
        "routeSettings": {},
        "stageVariables": {"lambdaAlias": format!("alias{}", i % 7), "build": i.to_string()},
        "tags": {"env": env, "team": format!("team{}", api % 50)},
        "autoDeploy": i % 2 == 1,
        "deploymentId": format!("d{i:08}"),
        "description": format!("stage {i}"),
    }))
    .expect("stage");
    StageRow::from_stage(&ctx, &s).expect("named")
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Waits until the replica serves `stages` rows and reports its lag (it records the lag just
/// after the swap: a query in between sees the new rows and no lag yet), and returns the lag.
async fn served(client: &tokio_postgres::Client, stages: usize) -> f64 {
    loop {
        if let Ok(rows) = client
            .query(
                "SELECT stage_count, lag_seconds FROM stagesql.snapshot_status",
                &[],
            )
            .await
            && let Some(row) = rows.first()
            && row.get::<_, Option<i64>>(0) == Some(stages as i64)
            && let Some(lag) = row.get::<_, Option<f64>>(1)
        {
            return lag;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Point lookups by stage_arn for `seconds` over `connections` connections spread across
/// `ports`; returns queries per second.
async fn throughput(ports: &[u16], stages: usize, connections: usize, seconds: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let port = ports[c % ports.len()];
        tasks.push(tokio::spawn(async move {
            let client = connect(port).await;
            let statement = client
                .prepare("SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_arn = $1")
                .await
                .expect("prepare");
            let mut n = 0u64;
            let mut i = c * 7919;
            while Instant::now() < deadline {
                i = (i + 104_729) % stages;
                let arn = format!(
                    "arn:aws:apigateway:us-east-1::/apis/a{:07}/stages/s{}",
                    i / 3,
                    i % 3
                );
                let rows = client.query(&statement, &[&arn]).await.expect("lookup");
                assert_eq!(rows.len(), 1);
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("client");
    }
    total as f64 / seconds as f64
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = args
        .get(1)
        .expect("usage: replica_bench BINARY [SIZES] [SECONDS]");
    let sizes: Vec<usize> = args
        .get(2)
        .map_or("10000,1000000", String::as_str)
        .split(',')
        .map(|s| s.parse().expect("size"))
        .collect();
    let seconds: u64 = args.get(3).map_or(10, |s| s.parse().expect("seconds"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    // The binary's build profile, from the directory cargo put it in, not its whole path
    // (which is this machine's).
    let built = std::path::Path::new(&binary)
        .parent()
        .and_then(|d| d.file_name())
        .map_or_else(|| "unknown".into(), |d| d.to_string_lossy());
    println!(
        "Store: a local directory (file://); replicas: two `stagesql` processes polling every 1 s; \
         this harness built in {profile}; `stagesql` built in {built}.\n"
    );
    println!(
        "| stages | object MB | publish s | publish → replica 1 serving s | publish → replica 2 serving s | replica RSS MB | lookups/s 1 replica | lookups/s 2 replicas | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("file://{}", dir.path().join("store").display());
        let store = Store::open(&StoreOptions {
            url: url.clone(),
            timeout: Duration::from_secs(600),
            ..StoreOptions::default()
        })
        .await
        .expect("store");
        let replicas = [
            replica_process::start(binary, &url),
            replica_process::start(binary, &url),
        ];
        let clients = [
            connect(replicas[0].port).await,
            connect(replicas[1].port).await,
        ];
        let local = SnapshotStore::new();
        let snapshot = local.publish((0..n).map(stage).collect());
        let started = Instant::now();
        publisher::publish(
            &store,
            &snapshot,
            &local,
            Retention {
                retain: 1,
                grace: Duration::ZERO,
            },
            &mut None,
        )
        .await
        .expect("publish");
        let publish = started.elapsed().as_secs_f64();
        drop(snapshot);
        let size_mb = store
            .list_snapshots()
            .await
            .expect("list")
            .iter()
            .map(|o| o.size)
            .sum::<u64>() as f64
            / 1_048_576.0;
        let lag = [served(&clients[0], n).await, served(&clients[1], n).await];
        let rss = rss_mb(replicas[0].child.id()).max(rss_mb(replicas[1].child.id()));
        let ports = [replicas[0].port, replicas[1].port];
        let one = throughput(&ports[..1], n, 8, seconds).await;
        let two = throughput(&ports, n, 8, seconds).await;
        println!(
            "| {n} | {size_mb:.1} | {publish:.2} | {:.2} | {:.2} | {rss:.0} | {one:.0} | {two:.0} | {:.2} |",
            lag[0],
            lag[1],
            two / one
        );
    }
}
