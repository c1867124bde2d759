//! Cancel, `statement_timeout` and a client leaving stop a runaway query's *work*, not only
//! the wait for it: the server's CPU time stops growing. (A file of its own: the CPU time is
//! the whole test process's, so no other test may run beside it.)

use std::time::Duration;

use stagesql_tests::{TestServer, sqlstate};
use tokio_postgres::NoTls;

/// Never ends on its own: a recursive CTE with no stop, counted.
const RUNAWAY: &str =
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r";

/// CPU seconds this process has used (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is field 3, utime 14,
    // stime 15.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds used over `window` of doing nothing.
async fn idle_cpu(window: Duration) -> f64 {
    // Let the stopped work wind down first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = cpu_seconds();
    tokio::time::sleep(window).await;
    cpu_seconds() - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_runaway_query_stops_using_cpu() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let window = Duration::from_secs(2);
    let baseline = idle_cpu(window).await;
    assert!(baseline < 0.3, "idle server used {baseline:.2}s of CPU");

    // statement_timeout.
    client
        .simple_query("SET statement_timeout = '700ms'")
        .await
        .expect("set");
    let err = client.simple_query(RUNAWAY).await.expect_err("timed out");
    assert_eq!(sqlstate(&err), "57014");
    let used = idle_cpu(window).await;
    assert!(
        used < 0.5,
        "after the timeout the server used {used:.2}s of CPU in {window:?}"
    );
    client
        .simple_query("SET statement_timeout = 0")
        .await
        .expect("reset");

    // CancelRequest.
    let cancel = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        cancel.cancel_query(NoTls).await.expect("cancel sent");
    });
    let err = client.simple_query(RUNAWAY).await.expect_err("canceled");
    assert_eq!(sqlstate(&err), "57014");
    canceller.await.expect("canceller");
    let used = idle_cpu(window).await;
    assert!(
        used < 0.5,
        "after the cancel the server used {used:.2}s of CPU in {window:?}"
    );

    // The client goes away mid-query.
    let (gone, connection) = tokio_postgres::connect(&server.conn_str(), NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let running = tokio::spawn(async move { gone.simple_query(RUNAWAY).await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(700)).await;
    driver.abort();
    running.abort();
    let used = idle_cpu(window).await;
    assert!(
        used < 0.5,
        "after the client left the server used {used:.2}s of CPU in {window:?}"
    );

    // Still serving.
    let n: i64 = client
        .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(n, 50);
    server.stop().await;
}
