//! A real HAProxy (TCP mode, `/readyz` health checks) in front of two replicas that follow a
//! crawler on moto: clients stay served while a replica restarts, see AWS changes, and keep
//! being answered after the crawler goes away.

use std::sync::Arc;
use std::time::Duration;

use stagesql_server::Config;
use stagesql_tests::TestServer;
use stagesql_tests::cluster::*;
use stagesql_tests::moto::Moto;

fn free_port() -> u16 {
    let seed = std::process::id() as u64 * 7919
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().expect("ports");
    let port = (0..10_000u64)
        .map(|i| 20_000 + ((seed + i * 389) % 12_000) as u16)
        .find(|port| {
            !taken.contains(port) && std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok()
        })
        .expect("a free port between 20000 and 32000");
    taken.push(port);
    port
}

/// A replica's config on fixed ports, so it can be restarted where HAProxy expects it.
fn replica_on(endpoint: &str, url: &str, port: u16, http: u16) -> Config {
    let mut config = replica_config(endpoint, url);
    config.server.listen = format!("127.0.0.1:{port}");
    config.http.listen = format!("127.0.0.1:{http}");
    config.server.shutdown_drain_seconds = 2;
    config
}

/// HAProxy's view of a server (`UP`, `DOWN`, …) from its stats socket.
async fn haproxy_state(socket: &std::path::Path, server: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut sock) = tokio::net::UnixStream::connect(socket).await else {
        return String::new();
    };
    let _ = sock.write_all(b"show stat\n").await;
    let mut out = String::new();
    let _ = sock.read_to_string(&mut out).await;
    out.lines()
        .find(|l| l.starts_with(&format!("replicas,{server},")))
        .and_then(|l| l.split(',').nth(17))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn haproxy_in_front_of_two_replicas_keeps_clients_served_while_one_restarts() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let url = format!("s3://{BUCKET}/lb");
    let (apis, api) = moto_api(&moto).await;
    add_stage(&apis, &api, "prod").await;
    let crawler = TestServer::start_with(crawler_config(&moto, &url)).await;
    let ports = [(free_port(), free_port()), (free_port(), free_port())];
    let first =
        TestServer::start_exact(replica_on(&moto.url(), &url, ports[0].0, ports[0].1)).await;
    let second =
        TestServer::start_exact(replica_on(&moto.url(), &url, ports[1].0, ports[1].1)).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let stats = dir.path().join("haproxy.sock");
    let front = free_port();
    let cfg = format!(
        "global\n  stats socket {stats}\n  maxconn 500\n\
         defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n  retries 3\n  option redispatch\n\
         frontend pg\n  bind 127.0.0.1:{front}\n  default_backend replicas\n\
         backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n\
         \x20 server r1 127.0.0.1:{p1} check port {h1} inter 200ms fall 1 rise 2\n\
         \x20 server r2 127.0.0.1:{p2} check port {h2} inter 200ms fall 1 rise 2\n",
        stats = stats.display(),
        p1 = ports[0].0,
        h1 = ports[0].1,
        p2 = ports[1].0,
        h2 = ports[1].1,
    );
    let cfg_path = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg_path, cfg).expect("haproxy.cfg");
    let mut haproxy = tokio::process::Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&cfg_path)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("haproxy (the test command installs it)");

    let via_lb =
        format!("host=127.0.0.1 port={front} user=stagesql dbname=stagesql connect_timeout=10");
    let one_query = |conn: String| async move {
        let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let task = tokio::spawn(connection);
        let rows = client
            .simple_query("SELECT stage_name FROM aws.apigatewayv2_stage")
            .await
            .map_err(|e| e.to_string())?;
        drop(client);
        let _ = task.await;
        Ok::<_, String>(stagesql_tests::simple_rows(&rows))
    };
    // Both replicas up in HAProxy and serving the crawler's stage.
    wait_until(Duration::from_secs(30), "both replicas UP", || async {
        haproxy_state(&stats, "r1").await == "UP" && haproxy_state(&stats, "r2").await == "UP"
    })
    .await;
    let want = vec![vec![Some("prod".to_owned())]];
    wait_until(Duration::from_secs(30), "the stage through HAProxy", || {
        let conn = via_lb.clone();
        let want = want.clone();
        async move {
            let (a, b) = (one_query(conn.clone()).await, one_query(conn).await);
            a.as_ref() == Ok(&want) && b.as_ref() == Ok(&want)
        }
    })
    .await;

    // A client keeps connecting while replica 1 is stopped and started again.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let (stop, conn, want) = (Arc::clone(&stop), via_lb.clone(), want.clone());
        tokio::spawn(async move {
            let (mut ok, mut retried, mut failures) = (0, Vec::new(), Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // A session that was on the replica as it stopped ends with 57P01, as in
                // PostgreSQL; a client reconnects once, through HAProxy, to the other one.
                let mut outcome = one_query(conn.clone()).await;
                if outcome.is_err() {
                    retried.push(format!("{outcome:?}"));
                    outcome = one_query(conn.clone()).await;
                }
                match outcome {
                    Ok(rows) if rows == want => ok += 1,
                    other => failures.push(format!("{other:?}")),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (ok, retried, failures)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.stop().await;
    wait_until(
        Duration::from_secs(10),
        "HAProxy marking r1 DOWN",
        || async { haproxy_state(&stats, "r1").await.starts_with("DOWN") },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first =
        TestServer::start_exact(replica_on(&moto.url(), &url, ports[0].0, ports[0].1)).await;
    wait_until(
        Duration::from_secs(30),
        "HAProxy marking r1 UP again",
        || async { haproxy_state(&stats, "r1").await == "UP" },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, retried, failures) = client.await.expect("client");
    assert!(ok > 20, "the client ran throughout ({ok} queries)");
    assert!(
        failures.is_empty(),
        "every query through HAProxy was served, at worst after one reconnect; failed: {failures:?} (first tries that failed: {retried:?})"
    );
    assert!(
        retried.len() <= 2,
        "only sessions caught by the stop needed a reconnect: {retried:?}"
    );
    // A change in AWS reaches the clients through HAProxy (round robin: both replicas).
    add_stage(&apis, &api, "canary").await;
    let both = vec![
        vec![Some("canary".to_owned())],
        vec![Some("prod".to_owned())],
    ];
    let sorted = |r: Result<Vec<Vec<Option<String>>>, String>| {
        r.map(|mut rows| {
            rows.sort();
            rows
        })
    };
    wait_until(
        Duration::from_secs(30),
        "the new stage through HAProxy",
        || {
            let conn = via_lb.clone();
            let both = both.clone();
            async move {
                let (a, b) = (
                    sorted(one_query(conn.clone()).await),
                    sorted(one_query(conn).await),
                );
                a.as_ref() == Ok(&both) && b.as_ref() == Ok(&both)
            }
        },
    )
    .await;
    // The crawler goes away: the replicas keep serving its last snapshot.
    crawler.stop().await;
    for _ in 0..4 {
        assert_eq!(sorted(one_query(via_lb.clone()).await), Ok(both.clone()));
    }
    let _ = haproxy.kill().await;
    first.stop().await;
    second.stop().await;
}
