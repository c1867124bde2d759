//! Bounds: statement_timeout and CancelRequest stop a statement while it executes (57014),
//! a query past its memory limit fails (53200), the connection after `max_connections` gets
//! FATAL 53300, and a socket that never starts up is closed; each time the server keeps
//! serving everyone else.

use std::time::{Duration, Instant};

use stagesql_tests::{TestServer, sqlstate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// 6.25 million joined rows, each hashed: about two seconds of work in a debug build, all of
/// it inside one poll of DataFusion's stream.
const SLOW_AGGREGATE: &str = "SELECT count(*) FROM aws.apigatewayv2_stage a, aws.apigatewayv2_stage b, \
     aws.apigatewayv2_stage c, aws.apigatewayv2_stage d \
     WHERE md5(a.stage_name || b.stage_name || c.stage_name || d.stage_name) = 'x'";

/// The server's message for a failed statement.
fn message(err: &tokio_postgres::Error) -> String {
    err.as_db_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_else(|| err.to_string())
}

/// The same join streamed to the client.
const SLOW_STREAM: &str = "SELECT a.stage_name, b.stage_name, c.stage_name, d.stage_name \
     FROM aws.apigatewayv2_stage a, aws.apigatewayv2_stage b, aws.apigatewayv2_stage c, \
     aws.apigatewayv2_stage d";

/// The client that saw the error can still query.
async fn usable(client: &tokio_postgres::Client) {
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("the connection is still usable")
        .get(0);
    assert_eq!(one, 1);
}

async fn still_serves(server: &TestServer) {
    let other = server.client().await;
    let n: i64 = other
        .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
        .await
        .expect("another client is served")
        .get(0);
    assert_eq!(n, 50);
}

#[tokio::test]
async fn statement_timeout_stops_execution() {
    let server = TestServer::start().await;
    let client = server.client().await;
    client
        .simple_query("SET statement_timeout = '200ms'")
        .await
        .expect("set");
    for sql in [SLOW_AGGREGATE, SLOW_STREAM] {
        let started = Instant::now();
        let err = client.simple_query(sql).await.expect_err("times out");
        assert_eq!(sqlstate(&err), "57014", "{err:?}");
        assert!(message(&err).contains("statement timeout"), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        // Same answer through the extended protocol.
        let err = client.query(sql, &[]).await.expect_err("times out");
        assert_eq!(sqlstate(&err), "57014");
    }
    client
        .simple_query("RESET statement_timeout")
        .await
        .expect("reset");
    usable(&client).await;
    still_serves(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn the_server_default_statement_timeout_applies() {
    let mut config = stagesql_tests::trust_config();
    config.limits.statement_timeout = "150ms".to_owned();
    let server = TestServer::start_with(config).await;
    let client = server.client().await;
    let shown = client
        .simple_query("SHOW statement_timeout")
        .await
        .expect("show");
    assert_eq!(
        stagesql_tests::simple_rows(&shown)[0][0].as_deref(),
        Some("150ms")
    );
    let err = client
        .simple_query(SLOW_AGGREGATE)
        .await
        .expect_err("times out");
    assert_eq!(sqlstate(&err), "57014");
    server.stop().await;
}

#[tokio::test]
async fn cancel_request_stops_the_running_statement() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        token
            .cancel_query(tokio_postgres::NoTls)
            .await
            .expect("cancel sent");
    });
    let started = Instant::now();
    let err = client
        .simple_query(SLOW_AGGREGATE)
        .await
        .expect_err("canceled");
    canceller.await.expect("canceller");
    assert_eq!(sqlstate(&err), "57014", "{err:?}");
    assert!(message(&err).contains("user request"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    usable(&client).await;
    server.stop().await;
}

#[tokio::test]
async fn a_cancel_with_the_wrong_key_does_nothing() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    let port = server.port();
    let forger = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let mut packet = Vec::new();
        packet.extend_from_slice(&16i32.to_be_bytes());
        packet.extend_from_slice(&80_877_102i32.to_be_bytes());
        packet.extend_from_slice(&pid.to_be_bytes());
        packet.extend_from_slice(&0x1234_5678i32.to_be_bytes());
        socket.write_all(&packet).await.expect("send cancel");
    });
    // The forged cancel arrives while this runs (about two seconds); it must not stop it.
    let started = Instant::now();
    let rows = client
        .simple_query(SLOW_AGGREGATE)
        .await
        .expect("not canceled");
    assert!(
        started.elapsed() > Duration::from_millis(100),
        "ran past the cancel"
    );
    forger.await.expect("forger");
    assert_eq!(
        stagesql_tests::simple_rows(&rows)[0][0].as_deref(),
        Some("0")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_query_over_its_memory_limit_fails_and_others_continue() {
    let mut config = stagesql_tests::trust_config();
    config.limits.query_memory_mb = 4;
    config.limits.total_memory_mb = 16;
    let server = TestServer::start_with(config).await;
    let client = server.client().await;
    let err = client
        .simple_query(
            "SELECT a._key, b._key, c._key FROM aws.apigatewayv2_stage a, aws.apigatewayv2_stage b, \
             aws.apigatewayv2_stage c ORDER BY 1, 2, 3",
        )
        .await
        .expect_err("over the limit");
    assert_eq!(sqlstate(&err), "53200", "{err:?}");
    usable(&client).await;
    still_serves(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn connections_past_max_connections_get_53300() {
    let mut config = stagesql_tests::trust_config();
    config.limits.max_connections = 2;
    let server = TestServer::start_with(config).await;
    let first = server.client().await;
    let second = server.client().await;
    let third = tokio_postgres::connect(&server.conn_str(), tokio_postgres::NoTls).await;
    let err = third.err().expect("third connection refused");
    assert_eq!(sqlstate(&err), "53300", "{err:?}");
    assert!(message(&err).contains("too many clients"), "{err:?}");
    for c in [&first, &second] {
        usable(c).await;
    }
    drop(second);
    // The slot frees when a connection closes.
    let mut admitted = None;
    for _ in 0..50 {
        if let Ok(pair) = tokio_postgres::connect(&server.conn_str(), tokio_postgres::NoTls).await {
            admitted = Some(pair);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted.is_some(), "a freed slot admits a new client");
    server.stop().await;
}

#[tokio::test]
async fn a_socket_that_never_starts_up_is_closed() {
    let mut config = stagesql_tests::trust_config();
    config.limits.startup_timeout_seconds = 1;
    let server = TestServer::start_with(config).await;
    let mut idle = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect");
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("closed before 5 s");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    still_serves(&server).await;
    server.stop().await;
}

/// Connects and keeps the connection task's outcome: a FATAL error the server sends between
/// queries arrives there.
async fn client_with_outcome(
    server: &TestServer,
) -> (
    tokio_postgres::Client,
    tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
) {
    let (client, connection) = tokio_postgres::connect(&server.conn_str(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    (client, tokio::spawn(connection))
}

async fn closed_with(
    outcome: tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
    code: &str,
    within: Duration,
) {
    let result = tokio::time::timeout(within, outcome)
        .await
        .expect("the server closed the connection")
        .expect("connection task");
    let err = result.expect_err("the connection ended with an error");
    assert_eq!(sqlstate(&err), code, "{err:?}");
}

#[tokio::test]
async fn idle_in_transaction_session_timeout_ends_the_session_with_25p03() {
    let server = TestServer::start().await;
    let (client, outcome) = client_with_outcome(&server).await;
    client
        .batch_execute("SET idle_in_transaction_session_timeout = '300ms'")
        .await
        .expect("set");
    // Idle outside a transaction: the timeout does not apply.
    tokio::time::sleep(Duration::from_millis(600)).await;
    usable(&client).await;
    // A statement longer than the timeout is not idleness either.
    client.batch_execute("BEGIN").await.expect("begin");
    client
        .simple_query("SELECT count(*) FROM aws.apigatewayv2_stage a, aws.apigatewayv2_stage b, aws.apigatewayv2_stage c WHERE md5(a.stage_name || b.stage_name || c.stage_name) = 'x'")
        .await
        .expect("a running statement is not idle");
    // Idle inside it: FATAL 25P03.
    closed_with(outcome, "25P03", Duration::from_secs(5)).await;
    assert!(client.is_closed() || client.simple_query("SELECT 1").await.is_err());
    // A bad value is refused.
    let other = server.client().await;
    let err = other
        .batch_execute("SET idle_in_transaction_session_timeout = 'soon'")
        .await
        .expect_err("not a duration");
    assert_eq!(sqlstate(&err), "22023");
    still_serves(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn idle_session_timeout_ends_the_session_with_57p05() {
    let mut config = stagesql_tests::trust_config();
    config.limits.idle_session_timeout = "300ms".to_owned();
    let server = TestServer::start_with(config).await;
    let (client, outcome) = client_with_outcome(&server).await;
    usable(&client).await;
    closed_with(outcome, "57P05", Duration::from_secs(5)).await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_idle_sessions_with_57p01_and_lets_running_ones_finish() {
    let mut config = stagesql_tests::trust_config();
    config.server.shutdown_drain_seconds = 30;
    let server = TestServer::start_with(config).await;
    let (idle, idle_outcome) = client_with_outcome(&server).await;
    usable(&idle).await;
    let (busy, busy_outcome) = client_with_outcome(&server).await;
    let running = tokio::spawn(async move {
        let started = Instant::now();
        let result = busy.simple_query(SLOW_AGGREGATE).await;
        eprintln!("the running statement took {:?}", started.elapsed());
        // Keep the client: dropping it would end the connection from this side.
        (busy, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = tokio::spawn(server.stop());
    closed_with(idle_outcome, "57P01", Duration::from_secs(5)).await;
    let (_busy, finished) = running.await.expect("task");
    assert!(
        finished.is_ok(),
        "the running statement finished: {finished:?}"
    );
    closed_with(busy_outcome, "57P01", Duration::from_secs(5)).await;
    stopping.await.expect("stop");
}

/// A CancelRequest whose sender closes its socket at once (as tokio-postgres and many pools
/// do) still stops the statement: the server must read it before noticing the close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_a_socket_closed_at_once_still_lands() {
    use stagesql_tests::frames;
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start().await;
    for round in 0..5 {
        let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .expect("connect");
        sock.write_all(&frames::startup()).await.expect("startup");
        let hello = frames::read_until_ready(&mut sock, Duration::from_secs(5)).await;
        let key_data = hello
            .iter()
            .find(|m| m.kind == b'K')
            .expect("BackendKeyData");
        sock.write_all(&frames::query(SLOW_AGGREGATE))
            .await
            .expect("query");
        tokio::time::sleep(Duration::from_millis(150)).await;
        // CancelRequest: length 16, code 80877102, pid, secret key; then close.
        let mut cancel = 16i32.to_be_bytes().to_vec();
        cancel.extend_from_slice(&80_877_102i32.to_be_bytes());
        cancel.extend_from_slice(&key_data.body[..8]);
        let mut canceller = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .expect("connect");
        canceller.write_all(&cancel).await.expect("cancel");
        drop(canceller);
        let answer = frames::read_until_ready(&mut sock, Duration::from_secs(20)).await;
        let codes: Vec<String> = answer
            .iter()
            .filter_map(frames::Backend::sqlstate)
            .collect();
        assert_eq!(codes, vec!["57014".to_owned()], "round {round}: {answer:?}");
    }
    server.stop().await;
}
