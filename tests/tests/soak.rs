//! Many clients at once mixing point lookups, scans, cursors, cancels, timeouts, oversized
//! results and disconnects: every answer is right, the only errors are the expected ones, and
//! the server's memory stays bounded.
//!
//! The default test command runs a short version; the soak itself runs for minutes:
//! `STAGESQL_SOAK_SECONDS=300 cargo test -p stagesql-tests --test soak -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stagesql_tests::{TestServer, sqlstate, trust_config};
use tokio::sync::Mutex;
use tokio_postgres::NoTls;

const RUNAWAY: &str =
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r";

/// The resident set of this process (the server runs in it), in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// What one soak saw.
#[derive(Debug, Default)]
struct Tally {
    /// Actions done, by kind.
    done: BTreeMap<&'static str, u64>,
    /// Errors nobody expected, with what caused them.
    unexpected: Vec<String>,
}

/// One client's loop: a fresh connection, then actions until `stop`.
async fn client_loop(
    conn: String,
    id: u64,
    keys: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    doing: Arc<std::sync::Mutex<Vec<&'static str>>>,
) {
    let mut rng = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let connect = || async {
        let (client, connection) = tokio_postgres::connect(&conn, NoTls).await?;
        let driver = tokio::spawn(connection);
        Ok::<_, tokio_postgres::Error>((client, driver))
    };
    let (mut client, mut driver) = match connect().await {
        Ok(c) => c,
        Err(e) => {
            tally.lock().await.unexpected.push(format!("connect: {e}"));
            return;
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let roll = next(100);
        let label = match roll {
            0..=49 => "lookup",
            50..=69 => "scan",
            70..=77 => "cursor",
            78..=84 => "cancel",
            85..=90 => "timeout",
            91..=94 => "oversized",
            _ => "disconnect",
        };
        if let Ok(mut d) = doing.lock() {
            d[id as usize] = label;
        }
        let (kind, outcome): (&'static str, Result<(), String>) = match roll {
            0..=49 => {
                let key = &keys[next(keys.len() as u64) as usize];
                let r = client
                    .query(
                        "SELECT _key, stage_name FROM aws.apigatewayv2_stage WHERE _key = $1",
                        &[key],
                    )
                    .await;
                (
                    "lookup",
                    match r {
                        Ok(rows) if rows.len() == 1 && rows[0].get::<_, String>(0) == *key => {
                            Ok(())
                        }
                        Ok(rows) => Err(format!("lookup of {key} gave {} rows", rows.len())),
                        Err(e) => Err(e.to_string()),
                    },
                )
            }
            50..=69 => {
                let r = client
                    .simple_query(
                        "SELECT count(*), count(DISTINCT region) FROM aws.apigatewayv2_stage",
                    )
                    .await;
                let rows = r.as_ref().map(|m| stagesql_tests::simple_rows(m));
                (
                    "scan",
                    match rows {
                        Ok(rows) if rows.first().and_then(|r| r[0].as_deref()) == Some("50") => {
                            Ok(())
                        }
                        Ok(rows) => Err(format!("scan gave {rows:?}")),
                        Err(e) => Err(e.to_string()),
                    },
                )
            }
            70..=77 => {
                let r = client
                    .simple_query(
                        "BEGIN; DECLARE c CURSOR FOR SELECT * FROM aws.apigatewayv2_stage; \
                         FETCH 20 FROM c; FETCH ALL FROM c; COMMIT",
                    )
                    .await;
                let rows = r.map(|m| stagesql_tests::simple_rows(&m).len());
                (
                    "cursor",
                    match rows {
                        Ok(50) => Ok(()),
                        Ok(n) => Err(format!("cursor gave {n} rows")),
                        Err(e) => Err(e.to_string()),
                    },
                )
            }
            78..=84 => {
                let cancel = client.cancel_token();
                let after = Duration::from_millis(20 + next(200));
                // As a user would: cancel, and cancel again while it still runs (a cancel
                // that arrives before the query has started is ignored, as in PostgreSQL).
                let canceller = tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    loop {
                        let _ = cancel.cancel_query(NoTls).await;
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                });
                let r = client.simple_query(RUNAWAY).await;
                canceller.abort();
                // A cancel already on its way lands on the finished statement, not the next.
                tokio::time::sleep(Duration::from_millis(50)).await;
                (
                    "cancel",
                    match r {
                        Err(e) if sqlstate(&e) == "57014" => Ok(()),
                        Err(e) => Err(e.to_string()),
                        Ok(_) => Err("a runaway query finished".to_owned()),
                    },
                )
            }
            85..=90 => {
                let r = client
                    .simple_query(&format!(
                        "SET statement_timeout = {}; {RUNAWAY}",
                        50 + next(200)
                    ))
                    .await;
                let _ = client.simple_query("SET statement_timeout = 0").await;
                (
                    "timeout",
                    match r {
                        Err(e) if sqlstate(&e) == "57014" => Ok(()),
                        Err(e) => Err(e.to_string()),
                        Ok(_) => Err("a runaway query finished".to_owned()),
                    },
                )
            }
            91..=94 => {
                let r = client
                    .simple_query(
                        "SELECT repeat(stage_name, 100000000) FROM aws.apigatewayv2_stage",
                    )
                    .await;
                (
                    "oversized",
                    match r {
                        Err(e) if sqlstate(&e) == "53200" => Ok(()),
                        Err(e) => Err(e.to_string()),
                        Ok(_) => Err("an oversized result was answered".to_owned()),
                    },
                )
            }
            _ => {
                // Leave mid-query, then come back on a new connection.
                let running = tokio::spawn({
                    let c = client;
                    async move {
                        let _ = c.simple_query(RUNAWAY).await;
                    }
                });
                tokio::time::sleep(Duration::from_millis(10 + next(100))).await;
                driver.abort();
                running.abort();
                // The connections left behind hold their slots until the server has
                // noticed and stopped their statements; over the limit a new one is refused
                // with 53300, and a user (or a pool) tries again a moment later.
                let mut attempt = 0;
                loop {
                    match connect().await {
                        Ok((c, d)) => {
                            client = c;
                            driver = d;
                            break ("disconnect", Ok(()));
                        }
                        Err(e) if sqlstate(&e) == "53300" && attempt < 50 => {
                            attempt += 1;
                            *tally.lock().await.done.entry("refused 53300").or_default() += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => {
                            tally
                                .lock()
                                .await
                                .unexpected
                                .push(format!("reconnect: {} {e}", sqlstate(&e)));
                            return;
                        }
                    }
                }
            }
        };
        if let Ok(mut d) = doing.lock() {
            d[id as usize] = "idle";
        }
        let mut t = tally.lock().await;
        *t.done.entry(kind).or_default() += 1;
        if let Err(e) = outcome {
            t.unexpected.push(format!("{kind}: {e}"));
        }
    }
    driver.abort();
}

async fn soak(clients: u64, run: Duration) -> (Tally, u64, u64) {
    let mut config = trust_config();
    config.limits.max_connections = clients as usize + 20;
    let server = TestServer::start_with(config).await;
    let first = server.client().await;
    let keys: Vec<String> = first
        .query("SELECT _key FROM aws.apigatewayv2_stage", &[])
        .await
        .expect("keys")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let keys = Arc::new(keys);
    let before = rss_mib();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_mib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let doing = Arc::new(std::sync::Mutex::new(vec!["idle"; clients as usize]));
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            tokio::spawn(client_loop(
                server.conn_str(),
                id,
                Arc::clone(&keys),
                Arc::clone(&stop),
                Arc::clone(&tally),
                Arc::clone(&doing),
            ))
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(run).await;
    stop.store(true, Ordering::Relaxed);
    let ended =
        tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(tasks)).await;
    if ended.is_err() {
        let stuck: Vec<(usize, &str)> = doing
            .lock()
            .map(|d| {
                d.iter()
                    .copied()
                    .enumerate()
                    .filter(|(_, s)| *s != "idle")
                    .collect()
            })
            .unwrap_or_default();
        panic!("clients did not finish within 30 s of the stop: {stuck:?}");
    }
    let _ = sampler.await;
    eprintln!("soak of {clients} clients ran {:?}", started.elapsed());
    // Nothing lost: the server still answers everything right.
    let n: i64 = first
        .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
        .await
        .expect("still serving")
        .get(0);
    assert_eq!(n, 50);
    server.stop().await;
    let tally = Arc::try_unwrap(tally)
        .map(Mutex::into_inner)
        .unwrap_or_default();
    (tally, before, peak.load(Ordering::Relaxed))
}

fn check(tally: &Tally, before: u64, peak: u64) {
    eprintln!(
        "done {:?}; unexpected errors {}; RSS {before} MiB before, peak {peak} MiB",
        tally.done,
        tally.unexpected.len()
    );
    assert!(
        tally.unexpected.is_empty(),
        "unexpected: {:#?}",
        &tally.unexpected[..tally.unexpected.len().min(20)]
    );
    for kind in ["lookup", "scan", "cancel"] {
        assert!(
            tally.done.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} ran: {:?}",
            tally.done
        );
    }
    // The default limits: 1 GB for all queries together, 256 MB of large messages.
    assert!(peak < before + 1536, "RSS grew from {before} to {peak} MiB");
}

/// The short version, in the default test command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_clients_for_five_seconds() {
    let (tally, before, peak) = soak(40, Duration::from_secs(5)).await;
    check(&tally, before, peak);
}

/// The soak: 200 clients for `STAGESQL_SOAK_SECONDS` (default 240).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for minutes; see the README"]
async fn two_hundred_clients_for_minutes() {
    let seconds: u64 = std::env::var("STAGESQL_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(240);
    let (tally, before, peak) = soak(200, Duration::from_secs(seconds)).await;
    println!(
        "soak: 200 clients, {seconds} s: {:?}; unexpected errors {}; RSS {before} MiB before, peak {peak} MiB",
        tally.done,
        tally.unexpected.len()
    );
    check(&tally, before, peak);
}
