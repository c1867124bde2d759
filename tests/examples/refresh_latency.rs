//! Latency under refresh: point lookups at a steady rate against one `stagesql` process, first
//! idle, then while new snapshots of the same size keep arriving and being swapped in. Prints
//! p50, p99 and the slowest lookup of each phase, and how many snapshots were swapped in.
//!
//!   cargo run -p stagesql-tests --example refresh_latency -- BINARY [STAGES] [SECONDS] [RATE]
//!   (defaults: 20000 stages, 20 s per phase, 200 lookups/s)
//!
//! With `TRACE` set in the environment, each lookup is also printed to stderr as
//! `T <µs since the phase began> <latency µs>`, to see where the slow ones fall.
//!
//! The process is a replica following a local-directory store (`file://`), polling every
//! second: each new snapshot is read, verified, decoded, built (batch and indexes) and swapped,
//! which is the whole of a refresh's work on the serving side except the crawl. The snapshots
//! are made and published by this harness on a thread and runtime apart from the timed client,
//! their CPU work at the background priority, standing in for the crawler on another machine.

use std::time::{Duration, Instant};

use stagesql_catalog::{SnapshotStore, StageContext, StageRow};
use stagesql_server::replication::publisher::{self, Retention};
use stagesql_server::replication::{Store, StoreOptions};
use stagesql_tests::replica_process::{self, connect};

fn stage(i: usize, generation: usize) -> StageRow {
    let ctx = StageContext {
        account_id: format!("{:012}", 100_000_000_000u64 + (i % 20) as u64),
        region: "us-east-1".to_owned(),
        api_id: format!("a{:07}", i / 3),
    };
    let s = stagesql_catalog::Stage {
        stage_name: Some(format!("s{}", i % 3)),
        description: Some(format!("stage {i}, generation {generation}")),
        deployment_id: Some(format!("d{i:08}")),
        ..Default::default()
    };
    StageRow::from_stage(&ctx, &s).expect("named")
}

fn arn(i: usize) -> String {
    format!(
        "arn:aws:apigateway:us-east-1::/apis/a{:07}/stages/s{}",
        i / 3,
        i % 3
    )
}

async fn publish(store: &Store, n: usize, generation: usize) {
    // Making the rows stands for the crawl of another machine: off this runtime, at the
    // background priority (as is the publisher's encoding), so the harness's own work does not
    // delay the lookups it times.
    let (local, snapshot) = stagesql_catalog::background::run("rows", move || {
        let local = SnapshotStore::new();
        let snapshot = local.publish((0..n).map(|i| stage(i, generation)).collect());
        (local, snapshot)
    })
    .await
    .expect("rows");
    publisher::publish(
        store,
        &snapshot,
        &local,
        Retention {
            retain: 2,
            grace: Duration::ZERO,
        },
        &mut None,
    )
    .await
    .expect("publish");
}

/// The served snapshot's version.
async fn version(client: &tokio_postgres::Client) -> Option<i64> {
    let rows = client
        .query("SELECT store_version FROM stagesql.snapshot_status", &[])
        .await
        .ok()?;
    rows.first()?.get::<_, Option<i64>>(0)
}

/// Lookups at `rate` per second for `seconds` (one connection, paced, never more than one in
/// flight); each lookup's latency in microseconds, sorted.
async fn lookups(client: &tokio_postgres::Client, n: usize, seconds: u64, rate: u64) -> Vec<u64> {
    let statement = client
        .prepare("SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_arn = $1")
        .await
        .expect("prepare");
    let mut latencies = Vec::new();
    let period = Duration::from_micros(1_000_000 / rate.max(1));
    let started = tokio::time::Instant::now();
    let mut i = 0usize;
    while started.elapsed() < Duration::from_secs(seconds) {
        i = (i + 104_729) % n;
        let t = Instant::now();
        let rows = client.query(&statement, &[&arn(i)]).await.expect("lookup");
        latencies.push(t.elapsed().as_micros() as u64);
        if std::env::var_os("TRACE").is_some() {
            eprintln!(
                "T {} {}",
                started.elapsed().as_micros(),
                latencies[latencies.len() - 1]
            );
        }
        assert_eq!(rows.len(), 1, "{}", arn(i));
        tokio::time::sleep_until(started + period * latencies.len() as u32).await;
    }
    latencies.sort_unstable();
    latencies
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(at).copied().unwrap_or(0) as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = args
        .get(1)
        .expect("usage: refresh_latency BINARY [STAGES] [SECONDS] [RATE]");
    let n: usize = args.get(2).map_or(20_000, |s| s.parse().expect("stages"));
    let seconds: u64 = args.get(3).map_or(20, |s| s.parse().expect("seconds"));
    let rate: u64 = args.get(4).map_or(200, |s| s.parse().expect("rate"));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().join("store").display());
    let store = Store::open(&StoreOptions {
        url: url.clone(),
        timeout: Duration::from_secs(600),
        ..StoreOptions::default()
    })
    .await
    .expect("store");
    publish(&store, n, 0).await;
    let server = replica_process::start(binary, &url);
    let client = connect(server.port).await;
    while version(&client).await.is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Warm: the statement planned, the generic plan built.
    lookups(&client, n, 2, rate).await;
    let idle = lookups(&client, n, seconds, rate).await;
    let before = version(&client).await.unwrap_or(0);
    // A new snapshot about every 2 s while the lookups run, published from a thread and
    // runtime of its own (in production the publisher is another machine).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publishing = {
        let (store, stop) = (store.clone(), std::sync::Arc::clone(&stop));
        std::thread::spawn(move || {
            // The publisher's own I/O threads (the runtime's blocking pool) inherit this, so
            // nothing of the stand-in for another machine competes with the timed lookups.
            stagesql_catalog::background::lower_priority();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("publisher runtime");
            runtime.block_on(async move {
                let mut generation = 1;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    publish(&store, n, generation).await;
                    generation += 1;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            });
        })
    };
    let refreshing = lookups(&client, n, seconds, rate).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = publishing.join();
    let swaps = version(&client).await.unwrap_or(0) - before;
    println!(
        "{n} stages, {rate} lookups/s (prepared, one connection), {seconds} s per phase; \
         {swaps} snapshots swapped in during the second phase.\n"
    );
    println!("| phase | lookups | p50 ms | p99 ms | slowest ms |");
    println!("|---|---:|---:|---:|---:|");
    for (phase, l) in [("idle", &idle), ("snapshots swapping in", &refreshing)] {
        println!(
            "| {phase} | {} | {:.2} | {:.2} | {:.2} |",
            l.len(),
            quantile(l, 0.5),
            quantile(l, 0.99),
            quantile(l, 1.0)
        );
    }
    println!(
        "\np99 under refresh / idle: {:.2} (target ≤ 1.2)",
        quantile(&refreshing, 0.99) / quantile(&idle, 0.99).max(0.001)
    );
    drop(server);
}
