//! The wire protocol tested on its own: the server's real accept loop, startup, handlers and
//! encoders, in front of a canned backend that plans nothing (no DataFusion, see
//! `support/canned.rs`), spoken to by a real client (tokio-postgres) and, where a client hides
//! the messages, by raw bytes.

mod support;

use std::time::Duration;

use futures::StreamExt;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn a_simple_query_streams_every_batch_and_completes_with_the_row_count() {
    let server = Server::start().await;
    let client = server.connect().await;
    let messages = client
        .simple_query("count 7")
        .await
        .expect("the server answers");
    assert_eq!(first_values(&messages), ["1", "2", "3", "4", "5", "6", "7"]);
    assert!(matches!(
        messages.last(),
        Some(tokio_postgres::SimpleQueryMessage::CommandComplete(7))
    ));
}

#[tokio::test]
async fn the_first_failing_statement_of_a_text_ends_it_and_the_rest_never_runs() {
    let server = Server::start().await;
    let client = server.connect().await;
    let err = client
        .simple_query("count 2; no such thing; count 3")
        .await
        .expect_err("this must fail");
    assert_eq!(sqlstate(&err), "42P01");
    let journal = server.journal.entries();
    assert!(
        journal.contains(&"execute count 2".to_owned()),
        "{journal:?}"
    );
    assert!(
        !journal.iter().any(|e| e.ends_with("count 3")),
        "{journal:?}"
    );
}

#[tokio::test]
async fn a_statement_failing_midstream_in_a_text_stops_the_statements_after_it() {
    let server = Server::start().await;
    let client = server.connect().await;
    let err = client
        .simple_query("break; count 3")
        .await
        .expect_err("this must fail");
    assert_eq!(sqlstate(&err), "22023");
    assert!(
        !server
            .journal
            .entries()
            .contains(&"execute count 3".to_owned()),
        "{:?}",
        server.journal.entries()
    );
}

#[tokio::test]
async fn a_parse_error_is_the_texts_only_answer() {
    let server = Server::start().await;
    let client = server.connect().await;
    let err = client
        .simple_query("count 1; syntax!")
        .await
        .expect_err("this must fail");
    assert_eq!(sqlstate(&err), "42601");
    assert!(server.journal.entries().is_empty());
}

#[tokio::test]
async fn an_empty_text_is_an_empty_query_and_the_connection_goes_on() {
    let server = Server::start().await;
    let client = server.connect().await;
    let messages = client
        .simple_query(" ; ")
        .await
        .expect("the server answers");
    assert!(first_values(&messages).is_empty());
    assert_eq!(
        first_values(
            &client
                .simple_query("count 1")
                .await
                .expect("the server answers")
        ),
        ["1"]
    );
}

#[tokio::test]
async fn a_single_statement_text_is_planned_once_and_its_plan_run_again() {
    let server = Server::start().await;
    let client = server.connect().await;
    for _ in 0..3 {
        client
            .simple_query("count 2")
            .await
            .expect("the server answers");
    }
    let journal = server.journal.entries();
    let prepares = journal.iter().filter(|e| *e == "prepare count 2").count();
    let executes = journal.iter().filter(|e| *e == "execute count 2").count();
    assert_eq!((prepares, executes), (1, 3), "{journal:?}");
}

#[tokio::test]
async fn a_bound_parameter_reaches_the_session_typed_and_comes_back_binary() {
    let server = Server::start().await;
    let client = server.connect().await;
    let statement = client.prepare("echo $1").await.expect("the server answers");
    assert_eq!(statement.params(), [tokio_postgres::types::Type::INT4]);
    assert_eq!(statement.columns()[0].name(), "x");
    for value in [7, -1, i32::MAX] {
        let row = client
            .query_one(&statement, &[&value])
            .await
            .expect("the server answers");
        assert_eq!(row.get::<_, i32>(0), value);
    }
}

#[tokio::test]
async fn bind_with_the_wrong_number_of_values_is_08p01_and_runs_nothing() {
    // tokio-postgres checks the count itself, so this one is spoken in bytes.
    let server = Server::start().await;
    let mut stream = server.logged_in().await;
    let mut batch = Vec::new();
    batch.extend(parse("count 3"));
    // One text value for a statement with no parameters.
    let value = [
        &0i16.to_be_bytes()[..],
        &1i16.to_be_bytes(),
        &1i32.to_be_bytes(),
        b"1",
    ]
    .concat();
    batch.extend(message(
        b'B',
        &[&b"\0\0"[..], &value, &0i16.to_be_bytes()].concat(),
    ));
    batch.extend(execute(0));
    batch.extend(message(b'S', &[]));
    stream.write_all(&batch).await.expect("the server reads");
    let reply = read_until_ready(&mut stream).await;
    assert!(find(&reply, b"C08P01\0").is_some(), "{reply:?}");
    assert!(
        !server
            .journal
            .entries()
            .contains(&"execute count 3".to_owned())
    );
}

#[tokio::test]
async fn a_portal_is_suspended_after_max_rows_and_resumed_where_it_stopped() {
    let server = Server::start().await;
    let mut client = server.connect().await;
    let transaction = client.transaction().await.expect("the server answers");
    let statement = transaction
        .prepare("count 8")
        .await
        .expect("the server answers");
    let portal = transaction
        .bind(&statement, &[])
        .await
        .expect("the server answers");
    let mut seen = Vec::new();
    loop {
        let chunk = transaction
            .query_portal(&portal, 3)
            .await
            .expect("the server answers");
        if chunk.is_empty() {
            break;
        }
        assert!(chunk.len() <= 3);
        seen.extend(chunk.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(seen, (1..=8).collect::<Vec<_>>());
    transaction.commit().await.expect("the server answers");
    let journal = server.journal.entries();
    assert_eq!(
        journal.iter().filter(|e| *e == "execute count 8").count(),
        1,
        "a resumed portal must not run its statement again: {journal:?}"
    );
}

#[tokio::test]
async fn a_failure_in_the_row_stream_reaches_the_extended_client_as_its_sqlstate() {
    let server = Server::start().await;
    let client = server.connect().await;
    let err = client
        .query("break", &[])
        .await
        .expect_err("this must fail");
    assert_eq!(sqlstate(&err), "22023");
    // The connection is usable afterwards.
    assert_eq!(
        client
            .query("count 1", &[])
            .await
            .expect("the server answers")
            .len(),
        1
    );
}

#[tokio::test]
async fn copy_out_sends_every_batch_as_copy_data() {
    let server = Server::start().await;
    let client = server.connect().await;
    let stream = client.copy_out("copy").await.expect("the server answers");
    let chunks: Vec<bytes::Bytes> = stream
        .map(|c| c.expect("the server answers"))
        .collect()
        .await;
    let text: String = chunks
        .iter()
        .map(|c| String::from_utf8(c.to_vec()).expect("COPY text is UTF-8"))
        .collect();
    assert_eq!(text, "1\n2\n3\n");
}

#[tokio::test]
async fn a_cancel_request_with_the_sessions_key_stops_its_running_statement() {
    let server = Server::start().await;
    let client = server.connect().await;
    let token = client.cancel_token();
    let running = tokio::spawn(async move { client.simple_query("wait").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    token
        .cancel_query(tokio_postgres::NoTls)
        .await
        .expect("the server answers");
    let outcome = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the statement stopped")
        .expect("the server answers");
    assert_eq!(sqlstate(&outcome.expect_err("this must fail")), "57014");
}

#[tokio::test]
async fn startup_names_the_session_user_database_and_application() {
    let server = Server::start().await;
    let client = server.connect().await;
    let messages = client
        .simple_query("show app")
        .await
        .expect("the server answers");
    assert_eq!(first_values(&messages), ["canned-test"]);
    let err = server
        .client("alice", "otherdb")
        .await
        .expect_err("this must fail");
    assert_eq!(sqlstate(&err), "3D000");
    // A session the backend refuses to open fails the login with the backend's error.
    let err = server
        .client("nobody", "mockdb")
        .await
        .expect_err("this must fail");
    assert_eq!(sqlstate(&err), "22023");
    let err = server
        .client("mallory", "mockdb")
        .await
        .expect_err("this must fail");
    assert_eq!(sqlstate(&err), "28000");
}

#[tokio::test]
async fn begin_and_commit_move_the_transaction_status_the_client_sees() {
    let server = Server::start().await;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("the server answers");
    let status = |reply: &[u8]| -> u8 {
        // ReadyForQuery is the last message: 'Z', length 5, status.
        assert_eq!(reply[reply.len() - 6], b'Z', "{reply:?}");
        reply[reply.len() - 1]
    };
    stream
        .write_all(&startup("alice", "mockdb"))
        .await
        .expect("the server reads");
    assert_eq!(status(&read_until_ready(&mut stream).await), b'I');
    stream
        .write_all(&query("begin"))
        .await
        .expect("the server reads");
    assert_eq!(status(&read_until_ready(&mut stream).await), b'T');
    stream
        .write_all(&query("fail"))
        .await
        .expect("the server reads");
    assert_eq!(status(&read_until_ready(&mut stream).await), b'E');
    stream
        .write_all(&query("commit"))
        .await
        .expect("the server reads");
    assert_eq!(status(&read_until_ready(&mut stream).await), b'I');
}

#[tokio::test]
async fn a_set_reports_the_changed_parameter_before_ready_for_query() {
    let server = Server::start().await;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("the server answers");
    stream
        .write_all(&startup("alice", "mockdb"))
        .await
        .expect("the server reads");
    let hello = read_until_ready(&mut stream).await;
    assert!(find(&hello, b"application_name\0\0").is_some(), "{hello:?}");
    stream
        .write_all(&query("set"))
        .await
        .expect("the server reads");
    let reply = read_until_ready(&mut stream).await;
    // As PostgreSQL 14+ does: the change is reported once, after the statement's
    // completion, just before ReadyForQuery.
    let status = find(&reply, b"application_name\0changed\0").expect("a ParameterStatus");
    let complete = find(&reply, b"SET\0").expect("CommandComplete SET");
    let ready = find(&reply, b"Z\0\0\0\x05").expect("ReadyForQuery");
    assert!(complete < status && status < ready, "{reply:?}");
    stream
        .write_all(&query("show"))
        .await
        .expect("the server reads");
    let reply = read_until_ready(&mut stream).await;
    assert!(
        find(&reply, b"application_name\0changed\0").is_none(),
        "reported once: {reply:?}"
    );
}

#[tokio::test]
async fn an_execute_asking_for_two_billion_rows_sends_the_rows_there_are() {
    let server = Server::start().await;
    let mut stream = server.logged_in().await;
    let mut batch = Vec::new();
    batch.extend(parse("count 4"));
    batch.extend(message(b'B', &[&b"\0\0"[..], &[0; 6]].concat()));
    batch.extend(execute(i32::MAX));
    batch.extend(message(b'S', &[]));
    stream.write_all(&batch).await.expect("the server reads");
    let reply = read_until_ready(&mut stream).await;
    let data_rows = reply_types(&reply).iter().filter(|t| **t == b'D').count();
    assert_eq!(data_rows, 4);
    assert!(find(&reply, b"SELECT 4\0").is_some(), "{reply:?}");
}
