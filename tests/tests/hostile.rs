//! Malformed input on the wire gets an error or a closed connection, and the server keeps
//! serving everyone else.

use std::time::Duration;

use stagesql_tests::frames::{self, bind, execute, message, parse, sync};
use stagesql_tests::{TestServer, sqlstate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A startup packet for user/database `stagesql`, protocol 3.0.
fn startup() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608i32.to_be_bytes());
    for kv in ["user", "stagesql", "database", "stagesql"] {
        body.extend_from_slice(kv.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend(body);
    msg
}

/// Sends `bytes` on a fresh connection and reads whatever comes back until close or timeout.
async fn throw(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let _ = sock.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_millis(500), sock.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn garbage_and_truncated_messages_do_not_hurt_other_clients() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let port = server.port();
    let mut after_startup = startup();
    let cases: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0, 0, 0, 3],
        vec![0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0],
        vec![0xff; 64],
        startup()[..10].to_vec(),
        {
            // A valid startup, then a Query whose length claims far more than is sent.
            after_startup.extend_from_slice(b"Q\x00\x10\x00\x00SELECT");
            after_startup.clone()
        },
        {
            // A valid startup, then an unknown message type.
            let mut m = startup();
            m.extend_from_slice(b"~\x00\x00\x00\x04");
            m
        },
        {
            // A valid startup, then a Bind for a statement that does not exist.
            let mut m = startup();
            m.extend_from_slice(
                b"B\x00\x00\x00\x10\x00nope\x00\x00\x00\x00\x00\x00\x00S\x00\x00\x00\x04",
            );
            m
        },
    ];
    for (i, bytes) in cases.iter().enumerate() {
        let _reply = throw(port, bytes).await;
        let n: i64 = client
            .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
            .await
            .unwrap_or_else(|e| panic!("server stopped serving after case {i}: {e}"))
            .get(0);
        assert_eq!(n, 50);
    }
    // A fresh client can still connect.
    let fresh = server.client().await;
    fresh
        .simple_query("SELECT 1")
        .await
        .expect("fresh client works");
}

#[tokio::test]
async fn unknown_statement_in_bind_gets_an_error_response() {
    let server = TestServer::start().await;
    let mut m = startup();
    m.extend_from_slice(b"B\x00\x00\x00\x10\x00nope\x00\x00\x00\x00\x00\x00\x00S\x00\x00\x00\x04");
    let reply = throw(server.port(), &m).await;
    // After authentication: an ErrorResponse ('E') and then ReadyForQuery ('Z') for the Sync.
    let text = String::from_utf8_lossy(&reply);
    assert!(reply.contains(&b'E'), "{text}");
    assert!(text.contains("nope"), "{text}");
}

/// Pathological SQL gets an error, never a crash: operator chains as deep as they are long
/// (54001), huge IN lists and literals, deep parentheses (42601).
#[tokio::test]
async fn pathological_sql_is_refused_or_answered_and_the_server_lives() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let chain = format!("SELECT 1{}", " + 1".repeat(200_000));
    let err = client.simple_query(&chain).await.expect_err("too deep");
    assert_eq!(sqlstate(&err), "54001", "{err:?}");
    let ors = format!(
        "SELECT count(*) FROM aws.apigatewayv2_stage WHERE {}",
        (0..50_000)
            .map(|i| format!("stage_name = 's{i}'"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    let err = client.simple_query(&ors).await.expect_err("too deep");
    assert_eq!(sqlstate(&err), "54001");
    let parens = format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000));
    let err = client.simple_query(&parens).await.expect_err("too deep");
    assert_eq!(sqlstate(&err), "42601");
    let in_list = format!(
        "SELECT count(*) FROM aws.apigatewayv2_stage WHERE stage_name IN ({})",
        (0..10_000)
            .map(|i| format!("'s{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let rows = client
        .simple_query(&in_list)
        .await
        .expect("a long IN list runs");
    assert_eq!(
        stagesql_tests::simple_rows(&rows)[0][0].as_deref(),
        Some("0")
    );
    let literal = format!("SELECT length('{}')", "x".repeat(5_000_000));
    let rows = client.simple_query(&literal).await.expect("a 5 MB literal");
    assert_eq!(
        stagesql_tests::simple_rows(&rows)[0][0].as_deref(),
        Some("5000000")
    );
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("alive")
        .get(0);
    assert_eq!(one, 1);
    server.stop().await;
}

/// Protocol faults in well-framed messages get PostgreSQL's SQLSTATE; the connection (or the
/// server) survives.
#[tokio::test]
async fn each_protocol_fault_gets_its_sqlstate() {
    let server = TestServer::start().await;
    let port = server.port();
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        (
            "Bind with the wrong parameter count",
            vec![
                parse("", "SELECT $1::int4", &[23]),
                bind("", &[], &[], &[]),
                execute(0),
                sync(),
            ],
            "08P01",
        ),
        (
            "undecodable binary parameter",
            vec![
                parse("", "SELECT $1::int4", &[23]),
                bind("", &[1], &[Some(b"\x01\x02\x03")], &[]),
                execute(0),
                sync(),
            ],
            "22P03",
        ),
        (
            "bad text parameter",
            vec![
                parse("", "SELECT $1::int4", &[23]),
                bind("", &[0], &[Some(b"twelve")], &[]),
                execute(0),
                sync(),
            ],
            "22P02",
        ),
        (
            "a format code that is neither text nor binary",
            vec![
                parse("", "SELECT $1::int4, $2::int4", &[23, 23]),
                bind("", &[0, 7], &[Some(b"1"), Some(b"2")], &[]),
                execute(0),
                sync(),
            ],
            "08P01",
        ),
        (
            "Bind of a statement never parsed",
            vec![bind("ghost", &[], &[], &[]), sync()],
            "26000",
        ),
        (
            "a message that does not decode",
            vec![message(b'B', b"\x00")],
            "08P01",
        ),
        (
            "a Bind whose parameter count runs past its end",
            vec![message(b'B', b"\x00\x00\x00\x01\x00\x01")],
            "08P01",
        ),
    ];
    for (what, messages, code) in cases {
        let mut bytes = frames::startup();
        for m in messages {
            bytes.extend(m);
        }
        bytes.extend(frames::message(b'X', &[]));
        let codes = frames::error_codes(port, bytes).await;
        assert!(
            codes.iter().any(|c| c == code),
            "{what}: expected {code}, got {codes:?}"
        );
    }
    // Every one of those left the server serving.
    let client = server.client().await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
        .await
        .expect("served")
        .get(0);
    assert_eq!(n, 50);
    let err = client
        .simple_query("SELECT * FROM nowhere")
        .await
        .expect_err("unknown table");
    assert_eq!(sqlstate(&err), "42P01");
    server.stop().await;
}
