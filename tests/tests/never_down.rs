//! One hostile message or query must not take the server with it, nor grow it past its
//! bounds: client-chosen counts and lengths, huge function results, invalid UTF-8, startup
//! packets that break the layout, messages out of their phase.

use std::time::Duration;

use stagesql_tests::frames::{
    self, Backend, bind, closed, cstr, execute, execute_portal, logged_in, message, parse, query,
    read_until_ready, startup_with, sync,
};
use stagesql_tests::{TestServer, scram_config, sqlstate, trust_config};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const QUIET: Duration = Duration::from_secs(5);

fn kinds(reply: &[Backend]) -> String {
    reply.iter().map(|m| m.kind as char).collect()
}

fn errors(reply: &[Backend]) -> Vec<String> {
    reply.iter().filter_map(Backend::sqlstate).collect()
}

/// The resident set of this process (the server runs in it), in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test]
async fn execute_with_the_largest_max_rows_streams_every_row() {
    let server = TestServer::start().await;
    let mut sock = logged_in(server.port()).await;
    // max_rows = 2^31 - 1 is legal; pgwire 0.42 preallocated that many rows and aborted.
    let mut bytes = parse("", "SELECT _key FROM aws.apigatewayv2_stage", &[]);
    bytes.extend(bind("", &[], &[], &[]));
    bytes.extend(execute(i32::MAX));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    let rows = reply.iter().filter(|m| m.kind == b'D').count();
    assert_eq!(rows, 50, "{}", kinds(&reply));
    assert_eq!(
        reply.iter().find_map(Backend::tag).as_deref(),
        Some("SELECT 50")
    );

    // A negative count means all rows too; a count of 2 suspends the portal, and the next
    // Execute resumes it where it stopped.
    let mut bytes = parse(
        "",
        "SELECT _key FROM aws.apigatewayv2_stage ORDER BY 1",
        &[],
    );
    bytes.extend(bind("", &[], &[], &[]));
    bytes.extend(execute(2));
    bytes.extend(execute(-1));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    let k = kinds(&reply);
    assert!(k.starts_with("12DDs"), "{k}");
    assert_eq!(reply.iter().filter(|m| m.kind == b'D').count(), 50, "{k}");
    assert_eq!(
        reply.iter().find_map(Backend::tag).as_deref(),
        Some("SELECT 48")
    );

    // A portal that ran to its end answers an empty result when executed again.
    let mut bytes = bind("", &[], &[], &[]);
    bytes.extend(execute(0));
    bytes.extend(execute(0));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    let tags: Vec<String> = reply.iter().filter_map(Backend::tag).collect();
    assert_eq!(tags, ["SELECT 50", "SELECT 0"], "{}", kinds(&reply));

    // Named portals and an unknown portal.
    let mut bytes = parse("s", "SELECT 1", &[]);
    let mut b = cstr("p1");
    b.extend(cstr("s"));
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    bytes.extend(message(b'B', &b));
    bytes.extend(execute_portal("p1", i32::MAX));
    bytes.extend(execute_portal("nope", 1));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert_eq!(errors(&reply), ["34000"], "{}", kinds(&reply));
    assert!(kinds(&reply).contains("DC"), "{}", kinds(&reply));
    server.stop().await;
}

#[tokio::test]
async fn huge_function_results_are_refused_before_they_are_built() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let before = rss_mib();
    for (sql, code) in [
        // Over the 256 MB query limit.
        ("SELECT repeat('x', 1000000000)", "53200"),
        // Over PostgreSQL's 1 GB per value.
        ("SELECT repeat('xx', 2000000000)", "54000"),
        ("SELECT length(lpad('x', 2000000000, '€'))", "54000"),
        ("SELECT rpad('x', 500000000)", "53200"),
        // Each value is small; the batch is not.
        (
            "SELECT length(repeat(stage_name, 10000000)) FROM aws.apigatewayv2_stage",
            "53200",
        ),
        (
            "SELECT max(length(repeat('x', 100000 + g % 2))) FROM generate_series(1, 100000) AS t(g)",
            "53200",
        ),
        ("SELECT cardinality(array_repeat(1, 2000000000))", "54000"),
        ("SELECT cardinality(range(0, 10000000000))", "54000"),
        (
            "SELECT length(replace(repeat('a', 100000), 'a', repeat('b', 10000)))",
            "53200",
        ),
        (
            "SELECT length(array_to_string(array_repeat('a', 1000000), repeat('-', 10000)))",
            "54000",
        ),
        (
            "SELECT length(array_to_string(array_repeat('a', 100000), repeat('-', 3000)))",
            "53200",
        ),
        ("SELECT levenshtein(repeat('a', 300), 'b')", "22023"),
    ] {
        let err = client
            .simple_query(sql)
            .await
            .expect_err(&format!("{sql} must fail"));
        assert_eq!(sqlstate(&err), code, "{sql}: {err}");
    }
    // What fits is answered.
    let rows = client
        .query_one(
            "SELECT length(repeat('ab', 1000000)), length(lpad('x', 1000, '€'))",
            &[],
        )
        .await
        .expect("small enough");
    assert_eq!(rows.get::<_, i32>(0), 2_000_000);
    assert_eq!(rows.get::<_, i32>(1), 1000);
    let grown = rss_mib().saturating_sub(before);
    assert!(grown < 400, "the server grew by {grown} MiB");
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_is_refused_with_22021_and_the_session_goes_on() {
    let server = TestServer::start().await;
    let mut sock = logged_in(server.port()).await;
    // Simple query: an error, then ReadyForQuery; the next query runs.
    sock.write_all(&frames::message(b'Q', b"SELECT '\xff\xfe'\0"))
        .await
        .expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert_eq!(errors(&reply), ["22021"], "{}", kinds(&reply));
    let message = reply.iter().find_map(|m| m.field(b'M')).unwrap_or_default();
    assert_eq!(message, "invalid byte sequence for encoding \"UTF8\": 0xff");
    sock.write_all(&query("SELECT 1")).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert!(kinds(&reply).contains('D'), "{}", kinds(&reply));

    // Extended: the Parse fails, the rest until Sync is skipped.
    let mut bytes = frames::message(b'P', b"\0SELECT 'caf\xc3'\0\0\0");
    bytes.extend(bind("", &[], &[], &[]));
    bytes.extend(execute(0));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert_eq!(errors(&reply), ["22021"], "{}", kinds(&reply));
    assert_eq!(kinds(&reply), "EZ");

    // A text parameter that is not UTF-8.
    let mut bytes = parse("", "SELECT $1::text", &[25]);
    bytes.extend(bind("", &[0], &[Some(b"\xc3\x28")], &[]));
    bytes.extend(execute(0));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert_eq!(errors(&reply), ["22021"], "{}", kinds(&reply));

    // Valid text with a replacement character (U+FFFD) where byte slicing used to panic.
    for sql in [
        "mo\u{FFFD}x",
        "\u{FFFD}\u{FFFD}\u{FFFD}",
        "SELECT '\u{FFFD}'",
    ] {
        sock.write_all(&query(sql)).await.expect("send");
        let reply = read_until_ready(&mut sock, QUIET).await;
        assert!(
            reply.last().is_some_and(|m| m.kind == b'Z'),
            "{sql}: {}",
            kinds(&reply)
        );
    }
    sock.write_all(&query("SELECT 2")).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert!(kinds(&reply).contains('D'), "{}", kinds(&reply));

    // A startup packet whose values are not UTF-8 is refused.
    let mut bad = TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect");
    bad.write_all(&startup_with(b"user\0stage\xffsql\0\0"))
        .await
        .expect("send");
    let reply = read_until_ready(&mut bad, QUIET).await;
    assert_eq!(errors(&reply), ["22021"], "{}", kinds(&reply));
    assert!(closed(&mut bad, QUIET).await);
    server.stop().await;
}

#[tokio::test]
async fn the_startup_layout_and_the_message_phase_are_enforced() {
    let server = TestServer::start().await;
    let port = server.port();
    // Parameters without their terminators.
    for params in [
        &b"user\0stagesql\0database\0stagesql"[..],
        b"user\0stagesql\0database\0stagesql\0",
        b"user\0stagesql\0database\0\0",
    ] {
        let mut sock = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        sock.write_all(&startup_with(params)).await.expect("send");
        let reply = read_until_ready(&mut sock, QUIET).await;
        assert_eq!(errors(&reply), ["08P01"], "{params:?}: {}", kinds(&reply));
        assert!(closed(&mut sock, QUIET).await, "{params:?}");
    }
    // A password message after login: FATAL 08P01, and the connection ends.
    let mut sock = logged_in(port).await;
    sock.write_all(&message(b'p', b"secret\0"))
        .await
        .expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert_eq!(errors(&reply), ["08P01"], "{}", kinds(&reply));
    assert_eq!(reply[0].field(b'S').as_deref(), Some("FATAL"));
    assert!(closed(&mut sock, QUIET).await);
    server.stop().await;
}

#[tokio::test]
async fn before_login_a_message_may_not_exceed_10000_bytes() {
    // A verifier made by PostgreSQL 15 (the password does not matter here).
    let verifier = "SCRAM-SHA-256$4096:kmcs4uwukgQ7GIU6fyFasA==$aXOV0Bk5LGQPmo7P+tphYhKKKwsZ6gRbTNCjjusSyFQ=:0aOdydQT65rzMrorssQguX3lS7yjaFod3uafbVbniFs=";
    let server = TestServer::start_with(scram_config(&[("stagesql", verifier)])).await;
    let mut sock = TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect");
    sock.write_all(&frames::startup()).await.expect("startup");
    let reply = read_until_ready(&mut sock, Duration::from_millis(500)).await;
    assert_eq!(reply.first().map(|m| m.kind), Some(b'R'), "SASL offered");
    // Only the header of a 20,000-byte message: refused before its body is read.
    let mut header = vec![b'p'];
    header.extend_from_slice(&20_000i32.to_be_bytes());
    sock.write_all(&header).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert_eq!(errors(&reply), ["08P01"], "{}", kinds(&reply));
    assert!(closed(&mut sock, QUIET).await);
    // A query message during authentication is no better.
    let mut sock = TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect");
    sock.write_all(&frames::startup()).await.expect("startup");
    let _ = read_until_ready(&mut sock, Duration::from_millis(500)).await;
    let mut header = vec![b'Q'];
    header.extend_from_slice(&0x3fff_fff0i32.to_be_bytes());
    sock.write_all(&header).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert_eq!(errors(&reply), ["08P01"], "{}", kinds(&reply));
    server.stop().await;
}

#[tokio::test]
async fn large_messages_in_flight_share_one_budget() {
    let mut config = trust_config();
    config.limits.max_message_mb = 1;
    config.limits.input_buffer_total_mb = 1;
    let server = TestServer::start_with(config).await;
    let port = server.port();
    let big = |len: i32| {
        let mut m = vec![b'Q'];
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(b"SELECT 1 /*");
        m
    };
    // Over the per-message limit: refused at once.
    let mut sock = logged_in(port).await;
    sock.write_all(&big(2 * 1024 * 1024)).await.expect("send");
    let reply = read_until_ready(&mut sock, QUIET).await;
    assert_eq!(errors(&reply), ["08P01"], "{}", kinds(&reply));

    // Two 700 KB messages still arriving do not fit in 1 MB together.
    let mut first = logged_in(port).await;
    first.write_all(&big(700_000)).await.expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = logged_in(port).await;
    second.write_all(&big(700_000)).await.expect("send");
    let reply = read_until_ready(&mut second, QUIET).await;
    assert_eq!(errors(&reply), ["53200"], "{}", kinds(&reply));
    // The first completes and is answered; its bytes go back to the budget.
    let rest = 700_000 - 4 - "SELECT 1 /*".len() - 3;
    let mut tail = vec![b' '; rest];
    tail.extend_from_slice(b"*/\0");
    first.write_all(&tail).await.expect("send");
    let reply = read_until_ready(&mut first, QUIET).await;
    assert!(kinds(&reply).contains('D'), "{}", kinds(&reply));
    let mut third = logged_in(port).await;
    third.write_all(&big(700_000)).await.expect("send");
    third.write_all(&tail).await.expect("send");
    let reply = read_until_ready(&mut third, QUIET).await;
    assert!(kinds(&reply).contains('D'), "{}", kinds(&reply));
    server.stop().await;
}
