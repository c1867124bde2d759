//! tokio-postgres against the real server: simple and extended protocol, text and binary values,
//! parameters, portals and SQLSTATEs.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use stagesql_tests::{TestServer, simple_rows, sqlstate};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::Type;

const PROD_ARN: &str = "arn:aws:apigateway:us-east-1::/apis/ujzde8gxd6/stages/prod";

fn rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    stagesql_tests::simple_rows(messages)
}

fn completions(messages: &[SimpleQueryMessage]) -> Vec<u64> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn every_column_in_text_format() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let msgs = client
        .simple_query(&format!(
            "SELECT * FROM aws.apigatewayv2_stage WHERE _key = '{PROD_ARN}'"
        ))
        .await
        .expect("query");
    let got = rows(&msgs);
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        vec![vec![
            s(PROD_ARN),
            s(
                r#"{"destination_arn":"arn:aws:logs:us-east-1:123456789012:log-group:apigw-orders","format":"{\"requestId\":\"$context.requestId\",\"status\":\"$context.status\"}"}"#
            ),
            s("123456789012"),
            None,
            s("f"),
            None,
            s("2026-01-02 10:15:00"),
            s(
                r#"{"detailed_metrics_enabled":true,"throttling_burst_limit":200,"throttling_rate_limit":100.0}"#
            ),
            s("d0002"),
            s("production stage of orders"),
            None,
            s("2026-01-05 11:05:30"),
            s(
                r#"{"GET /orders":{"detailed_metrics_enabled":false,"throttling_burst_limit":10,"throttling_rate_limit":5.5},"POST /orders":{"throttling_burst_limit":20,"throttling_rate_limit":10.0}}"#
            ),
            s(PROD_ARN),
            s("prod"),
            s(r#""region"=>"us-east-1", "lambdaAlias"=>"live""#),
            s(r#""env"=>"prod", "owner"=>"a,b", "cost-center"=>"cc:40""#),
            s("us-east-1"),
            s("ujzde8gxd6"),
        ]]
    );
    // Column types as the wire describes them.
    let stmt = client
        .prepare("SELECT * FROM aws.apigatewayv2_stage")
        .await
        .expect("prepare");
    let types: Vec<String> = stmt
        .columns()
        .iter()
        .map(|c| c.type_().name().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "text",
            "json",
            "text",
            "bool",
            "bool",
            "text",
            "timestamp",
            "json",
            "text",
            "text",
            "text",
            "timestamp",
            "text",
            "text",
            "text",
            "hstore",
            "hstore",
            "text",
            "text"
        ]
    );
}

#[tokio::test]
async fn every_column_in_binary_format() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let row = client
        .query_one(
            "SELECT * FROM aws.apigatewayv2_stage WHERE _key = $1",
            &[&PROD_ARN],
        )
        .await
        .expect("query");
    assert_eq!(row.get::<_, String>("_key"), PROD_ARN);
    let als: serde_json::Value = row.get("access_log_settings");
    assert_eq!(
        als["destination_arn"],
        "arn:aws:logs:us-east-1:123456789012:log-group:apigw-orders"
    );
    assert_eq!(row.get::<_, String>("account_id"), "123456789012");
    assert_eq!(row.get::<_, Option<bool>>("api_gateway_managed"), None);
    assert_eq!(row.get::<_, Option<bool>>("auto_deploy"), Some(false));
    assert_eq!(row.get::<_, Option<String>>("client_certificate_id"), None);
    let created: NaiveDateTime = row.get("created_date");
    assert_eq!(created.to_string(), "2026-01-02 10:15:00");
    let drs: serde_json::Value = row.get("default_route_settings");
    assert_eq!(drs["throttling_burst_limit"], 200);
    assert_eq!(drs["throttling_rate_limit"], 100.0);
    assert_eq!(
        row.get::<_, Option<String>>("deployment_id").as_deref(),
        Some("d0002")
    );
    assert_eq!(
        row.get::<_, Option<String>>("description").as_deref(),
        Some("production stage of orders")
    );
    assert_eq!(
        row.get::<_, Option<String>>("last_deployment_status_message"),
        None
    );
    let updated: NaiveDateTime = row.get("last_updated_date");
    assert_eq!(updated.to_string(), "2026-01-05 11:05:30");
    let route_settings: String = row.get("route_settings");
    assert!(
        route_settings.starts_with(r#"{"GET /orders":"#),
        "{route_settings}"
    );
    assert_eq!(row.get::<_, String>("stage_name"), "prod");
    let vars: HashMap<String, Option<String>> = row.get("stage_variables");
    assert_eq!(vars.get("lambdaAlias"), Some(&Some("live".to_owned())));
    assert_eq!(vars.len(), 2);
    let tags: HashMap<String, Option<String>> = row.get("tags");
    assert_eq!(tags.get("owner"), Some(&Some("a,b".to_owned())));
    assert_eq!(tags.len(), 3);
    assert_eq!(row.get::<_, String>("region"), "us-east-1");
    assert_eq!(row.get::<_, String>("api_id"), "ujzde8gxd6");

    // The awkward characters survive binary hstore encoding.
    let row = client
        .query_one(
            "SELECT stage_variables, tags FROM aws.apigatewayv2_stage WHERE stage_name = 'staging' AND region = $1 LIMIT 1",
            &[&"eu-central-1"],
        )
        .await
        .expect("query");
    let vars: HashMap<String, Option<String>> = row.get(0);
    assert_eq!(vars["quote"].as_deref(), Some(r#"say "hi" \ back"#));
    let tags: HashMap<String, Option<String>> = row.get(1);
    assert_eq!(tags["note"].as_deref(), Some("x=>y, z"));
    assert_eq!(tags["owner"].as_deref(), Some("équipe-données"));
}

#[tokio::test]
async fn bound_parameters_of_several_types() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let since =
        NaiveDateTime::parse_from_str("2026-02-01 00:00:00", "%Y-%m-%d %H:%M:%S").expect("ts");
    let rows = client
        .query(
            "SELECT stage_name, created_date FROM aws.apigatewayv2_stage \
             WHERE account_id = $1 AND created_date >= $2 AND auto_deploy = $3 ORDER BY created_date LIMIT $4",
            &[&"123456789012", &since, &true, &2i64],
        )
        .await
        .expect("query");
    let got: Vec<(String, NaiveDateTime)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(_, t)| *t >= since));
    let stmt = client
        .prepare(
            "SELECT count(*) FROM aws.apigatewayv2_stage WHERE region = $1 AND created_date > $2",
        )
        .await
        .expect("prepare");
    assert_eq!(stmt.params(), &[Type::TEXT, Type::TIMESTAMP]);
    // Declared parameter types win over inference.
    let stmt = client
        .prepare_typed("SELECT $1::text AS v", &[Type::INT8])
        .await
        .expect("prepare");
    let row = client.query_one(&stmt, &[&42i64]).await.expect("query");
    assert_eq!(row.get::<_, String>("v"), "42");
    // Reusing one prepared statement with different values.
    let by_region = client
        .prepare("SELECT count(*) FROM aws.apigatewayv2_stage WHERE region = $1")
        .await
        .expect("prepare");
    let mut counts = Vec::new();
    for region in ["us-east-1", "eu-west-1", "nowhere"] {
        counts.push(
            client
                .query_one(&by_region, &[&region])
                .await
                .expect("query")
                .get::<_, i64>(0),
        );
    }
    assert_eq!(counts, vec![17, 8, 0]);
}

#[tokio::test]
async fn several_statements_in_one_simple_query() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let msgs = client
        .simple_query(
            "SELECT 1 AS one; SELECT count(*) FROM aws.apigatewayv2_stage; SET application_name = 'it'; SHOW application_name",
        )
        .await
        .expect("query");
    assert_eq!(
        rows(&msgs),
        vec![
            vec![Some("1".into())],
            vec![Some("50".into())],
            vec![Some("it".into())]
        ]
    );
    assert_eq!(completions(&msgs), vec![1, 1, 0, 1]);
    // Comment-only and empty texts are empty queries, not errors.
    for empty in ["-- ping", "", ";", "/* nothing */"] {
        let msgs = client.simple_query(empty).await.expect("empty query");
        assert!(rows(&msgs).is_empty(), "{empty:?}");
    }
    // A failing statement stops the rest of the text, and the connection stays usable. The
    // text is one implicit transaction: its SET before the error is rolled back with it, as
    // in PostgreSQL.
    let err = client
        .simple_query("SET application_name = 'a'; SELECT 1/0; SET application_name = 'b'")
        .await
        .expect_err("division by zero");
    assert_eq!(sqlstate(&err), "22012");
    let msgs = client
        .simple_query("SHOW application_name")
        .await
        .expect("usable");
    assert_eq!(rows(&msgs), vec![vec![Some("it".into())]]);
}

#[tokio::test]
async fn errors_carry_the_right_sqlstate_and_leave_the_connection_usable() {
    let server = TestServer::start().await;
    let client = server.client().await;
    for (sql, code) in [
        ("SELEC 1", "42601"),
        ("SELECT * FROM aws.nosuch", "42P01"),
        ("SELECT nosuch FROM aws.apigatewayv2_stage", "42703"),
        ("SELECT nosuch_fn(1)", "42883"),
        ("SELECT 1/0", "22012"),
        ("LOAD 'somelib'", "0A000"),
        (
            "INSERT INTO aws.apigatewayv2_stage (_key) VALUES ('x')",
            "25006",
        ),
        (
            "UPDATE aws.apigatewayv2_stage SET description = 'x'",
            "25006",
        ),
        ("DELETE FROM aws.apigatewayv2_stage", "25006"),
        ("CREATE TABLE t (a int)", "25006"),
        ("DROP TABLE aws.apigatewayv2_stage", "25006"),
        (
            "COPY aws.apigatewayv2_stage TO '/tmp/stagesql-x.csv'",
            "25006",
        ),
        (
            "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
            "25006",
        ),
        ("SET nosuch_setting = 1", "42704"),
        ("SET datafusion.execution.batch_size = 1", "42501"),
        ("SET server_version = '9.0'", "55P02"),
        ("SET client_encoding = 'LATIN1'", "22023"),
    ] {
        let simple = client.simple_query(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&simple), code, "simple: {sql}: {simple:?}");
        let extended = client.query(sql, &[]).await.expect_err(sql);
        assert_eq!(sqlstate(&extended), code, "extended: {sql}: {extended:?}");
        let ok = client
            .query_one("SELECT 1", &[])
            .await
            .expect("still usable");
        // An integer literal is an int4, as in PostgreSQL.
        assert_eq!(ok.get::<_, i32>(0), 1);
    }
    let err = client
        .simple_query("SELECT $1")
        .await
        .expect_err("no parameters in simple query");
    assert_eq!(sqlstate(&err), "42P02");
    let count: i64 = client
        .query_one("SELECT count(*) FROM aws.apigatewayv2_stage", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 50, "rejected writes changed nothing");
    assert!(!std::path::Path::new("/tmp/stagesql-x.csv").exists());
}

#[tokio::test]
async fn portal_with_max_rows_suspends_and_resumes() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let tx = client.transaction().await.expect("begin");
    let portal = tx
        .bind("SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key", &[])
        .await
        .expect("bind");
    let mut all = Vec::new();
    loop {
        let batch = tx.query_portal(&portal, 7).await.expect("fetch");
        let n = batch.len();
        all.extend(batch.into_iter().map(|r| r.get::<_, String>(0)));
        if n < 7 {
            break;
        }
    }
    tx.commit().await.expect("commit");
    assert_eq!(all.len(), 50);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
}

#[tokio::test]
async fn operators_work_over_the_wire() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let row = client
        .query_one(
            "SELECT tags -> 'env' AS env, tags ? 'owner' AS has_owner, tags @> 'env=>prod' AS is_prod, \
             akeys(tags) AS keys, access_log_settings ->> 'format' AS fmt, \
             default_route_settings -> 'throttling_rate_limit' AS rate, \
             json_extract_path_text(route_settings::json, 'GET /orders', 'throttling_rate_limit') AS route_rate \
             FROM aws.apigatewayv2_stage WHERE _key = $1",
            &[&PROD_ARN],
        )
        .await
        .expect("query");
    assert_eq!(row.get::<_, Option<String>>("env").as_deref(), Some("prod"));
    assert!(row.get::<_, bool>("has_owner"));
    assert!(row.get::<_, bool>("is_prod"));
    assert_eq!(
        row.get::<_, Vec<String>>("keys"),
        vec!["env", "owner", "cost-center"]
    );
    assert_eq!(
        row.get::<_, String>("fmt"),
        r#"{"requestId":"$context.requestId","status":"$context.status"}"#
    );
    assert_eq!(
        row.get::<_, serde_json::Value>("rate"),
        serde_json::json!(100.0)
    );
    assert_eq!(row.get::<_, String>("route_rate"), "5.5");
    let groups = client
        .query(
            "SELECT account_id, region, count(*) AS n FROM aws.apigatewayv2_stage GROUP BY account_id, region ORDER BY 1, 2",
            &[],
        )
        .await
        .expect("group by");
    assert_eq!(groups.len(), 6);
    assert_eq!(groups.iter().map(|r| r.get::<_, i64>("n")).sum::<i64>(), 50);
}

#[tokio::test]
async fn startup_checks_database_and_user_and_reports_parameters() {
    let server = TestServer::start().await;
    let Err(err) = tokio_postgres::connect(
        &server.conn_str_as("stagesql", "nosuchdb"),
        tokio_postgres::NoTls,
    )
    .await
    else {
        panic!("unknown database accepted");
    };
    assert_eq!(sqlstate(&err), "3D000");
    let Err(err) = tokio_postgres::connect(
        &server.conn_str_as("mallory", "stagesql"),
        tokio_postgres::NoTls,
    )
    .await
    else {
        panic!("unknown user accepted");
    };
    assert_eq!(sqlstate(&err), "28000");
    let client = server.client().await;
    let msgs = client
        .simple_query(
            "SHOW server_version; SHOW server_version_num; SHOW integer_datetimes; SHOW DateStyle; \
             SHOW client_encoding; SHOW standard_conforming_strings; SHOW TRANSACTION ISOLATION LEVEL; SELECT version()",
        )
        .await
        .expect("show");
    let values: Vec<String> = rows(&msgs)
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect();
    assert_eq!(
        &values[..7],
        &[
            "15.18",
            "150018",
            "on",
            "ISO, MDY",
            "UTF8",
            "on",
            "read committed"
        ]
    );
    assert!(values[7].starts_with("PostgreSQL 15.18 "), "{}", values[7]);
    let msgs = client
        .simple_query("BEGIN; SELECT 1; COMMIT; ROLLBACK")
        .await
        .expect("transactions");
    assert_eq!(rows(&msgs).len(), 1);
}

#[tokio::test]
async fn catalog_tables_name_the_types_the_wire_sends() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let stmt = client
        .prepare("SELECT * FROM aws.apigatewayv2_stage")
        .await
        .expect("prepare");
    let wire: Vec<(String, String)> = stmt
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_().name().to_owned()))
        .collect();
    let attrs: Vec<(String, String)> = client
        .query(
            "SELECT a.attname, t.typname FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             WHERE n.nspname = 'aws' AND c.relname = 'apigatewayv2_stage' ORDER BY a.attnum",
            &[],
        )
        .await
        .expect("pg_attribute")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(attrs, wire);
    let columns: Vec<(String, String, String)> = client
        .query(
            "SELECT column_name, udt_name, data_type FROM information_schema.columns \
             WHERE table_schema = 'aws' AND table_name = 'apigatewayv2_stage' ORDER BY ordinal_position",
            &[],
        )
        .await
        .expect("information_schema.columns")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        columns
            .iter()
            .map(|(n, u, _)| (n.clone(), u.clone()))
            .collect::<Vec<_>>(),
        wire
    );
    let data_types: Vec<&str> = columns.iter().map(|(_, _, d)| d.as_str()).collect();
    assert_eq!(
        data_types,
        [
            "text",
            "json",
            "text",
            "boolean",
            "boolean",
            "text",
            "timestamp without time zone",
            "json",
            "text",
            "text",
            "text",
            "timestamp without time zone",
            "text",
            "text",
            "text",
            "USER-DEFINED",
            "USER-DEFINED",
            "text",
            "text"
        ]
    );
}

#[tokio::test]
async fn pg_catalog_is_searched_first_like_postgres() {
    let server = TestServer::start().await;
    let client = server.client().await;
    // SQLAlchemy's first statement and its psycopg2 hstore probe.
    let version: String = client
        .query_one("select pg_catalog.version()", &[])
        .await
        .expect("version")
        .get(0);
    assert!(version.starts_with("PostgreSQL 15.18"), "{version}");
    let row = client
        .query_one(
            "SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid WHERE typname = 'hstore'",
            &[],
        )
        .await
        .expect("hstore probe");
    assert_eq!(row.get::<_, u32>(0), 16385);
    assert_eq!(row.get::<_, u32>(1), 16390);
}

#[tokio::test]
async fn copy_out_binary_through_the_extended_protocol() {
    use futures::StreamExt;
    let server = TestServer::start().await;
    let client = server.client().await;
    let stream = client
        .copy_out(
            "COPY (SELECT count(*) AS n FROM aws.apigatewayv2_stage) TO STDOUT (FORMAT binary)",
        )
        .await
        .expect("copy out");
    let chunks: Vec<_> = stream.collect().await;
    let mut all = Vec::new();
    for c in chunks {
        all.extend_from_slice(&c.expect("chunk"));
    }
    assert!(all.starts_with(b"PGCOPY\n\xff\r\n\0"), "{all:?}");
    // header (19 bytes), then 1 field of 8 bytes holding 50, then the -1 trailer.
    assert_eq!(&all[19..33], &[0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 50]);
    assert_eq!(&all[33..], &[0xff, 0xff]);
}

/// SQL cursors as psycopg's named cursors and psqlODBC's UseDeclareFetch use them, and the
/// errors PostgreSQL gives for their misuse.
#[tokio::test]
async fn cursors_declare_fetch_move_close() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let err = client
        .simple_query("DECLARE c CURSOR FOR SELECT 1")
        .await
        .expect_err("needs a transaction block");
    assert_eq!(sqlstate(&err), "25P01");

    client.simple_query("BEGIN").await.expect("begin");
    client
        .simple_query("DECLARE c CURSOR FOR SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key")
        .await
        .expect("declare");
    let first = simple_rows(&client.simple_query("FETCH 3 FROM c").await.expect("fetch"));
    assert_eq!(first.len(), 3);
    let moved = client.simple_query("MOVE 40 IN c").await.expect("move");
    assert!(
        moved
            .iter()
            .any(|m| matches!(m, SimpleQueryMessage::CommandComplete(40))),
        "{moved:?}"
    );
    let rest = simple_rows(
        &client
            .simple_query("FETCH ALL FROM c")
            .await
            .expect("fetch all"),
    );
    assert_eq!(rest.len(), 50 - 3 - 40);
    assert!(
        simple_rows(
            &client
                .simple_query("FETCH NEXT FROM c")
                .await
                .expect("empty")
        )
        .is_empty()
    );
    let dup = client
        .simple_query("DECLARE c CURSOR FOR SELECT 1")
        .await
        .expect_err("duplicate");
    assert_eq!(sqlstate(&dup), "42P03");
    client.simple_query("ROLLBACK").await.expect("rollback");
    // A cursor without HOLD closed with its transaction.
    let gone = client
        .simple_query("FETCH 1 FROM c")
        .await
        .expect_err("closed at rollback");
    assert_eq!(sqlstate(&gone), "34000");

    // WITH HOLD outlives it; CLOSE ALL closes it.
    client
        .simple_query(
            "DECLARE h CURSOR WITH HOLD FOR SELECT stage_name FROM aws.apigatewayv2_stage",
        )
        .await
        .expect("declare with hold");
    assert_eq!(
        simple_rows(&client.simple_query("FETCH 2 FROM h").await.expect("fetch")).len(),
        2
    );
    client.simple_query("CLOSE ALL").await.expect("close all");
    let closed = client
        .simple_query("CLOSE h")
        .await
        .expect_err("already closed");
    assert_eq!(sqlstate(&closed), "34000");
    let backward = client
        .simple_query("BEGIN; DECLARE b SCROLL CURSOR FOR SELECT 1; FETCH BACKWARD 1 FROM b")
        .await
        .expect_err("forward-only");
    assert_eq!(sqlstate(&backward), "0A000");
    server.stop().await;
}

/// Integer literals in output columns are int4, as PostgreSQL types them (node-postgres, for
/// one, returns int8 as a string); larger ones and aggregates stay int8.
#[tokio::test]
async fn integer_literals_are_int4_in_output_columns() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let stmt = client
        .prepare("SELECT 1, 1 + 1, -5, CASE WHEN auto_deploy THEN 1 ELSE 0 END, 3000000000, count(*) FROM aws.apigatewayv2_stage GROUP BY auto_deploy")
        .await
        .expect("prepare");
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        [
            Type::INT4,
            Type::INT4,
            Type::INT4,
            Type::INT4,
            Type::INT8,
            Type::INT8
        ]
    );
    server.stop().await;
}

/// The format codes of each field of a RowDescription body.
fn described_formats(body: &[u8]) -> Vec<i16> {
    let count = i16::from_be_bytes([body[0], body[1]]);
    let mut at = 2;
    let mut formats = Vec::new();
    for _ in 0..count {
        let name_end = at + body[at..].iter().position(|b| *b == 0).expect("field name");
        // table oid (4), column (2), type oid (4), size (2), modifier (4), format (2)
        let format_at = name_end + 1 + 16;
        formats.push(i16::from_be_bytes([body[format_at], body[format_at + 1]]));
        at = format_at + 2;
    }
    formats
}

/// A Describe of a portal tells the result formats that portal's Bind asked for, run after
/// run of one prepared statement: the RowDescription kept for one Bind's formats is never the
/// answer for another's, and a portal that is gone is still 34000.
#[tokio::test]
async fn described_portals_follow_each_binds_result_formats() {
    use stagesql_tests::frames::{self, bind, describe, execute, parse, sync};
    let server = TestServer::start().await;
    let mut sock = frames::logged_in(server.port()).await;
    let sql = "SELECT stage_name, auto_deploy, created_date FROM aws.apigatewayv2_stage WHERE stage_arn = $1";
    let mut bytes = parse("s", sql, &[]);
    bytes.extend(sync());
    tokio::io::AsyncWriteExt::write_all(&mut sock, &bytes)
        .await
        .expect("parse");
    let reply = frames::read_until_ready(&mut sock, std::time::Duration::from_secs(5)).await;
    assert!(
        reply.iter().any(|m| m.kind == b'1'),
        "ParseComplete: {reply:?}"
    );
    let runs: [(&[i16], [i16; 3]); 6] = [
        (&[], [0, 0, 0]),
        (&[1], [1, 1, 1]),
        (&[], [0, 0, 0]),
        (&[0, 1, 0], [0, 1, 0]),
        (&[0, 1, 0], [0, 1, 0]),
        (&[1, 0, 1], [1, 0, 1]),
    ];
    for (results, want) in runs {
        let mut bytes = bind("s", &[], &[Some(PROD_ARN.as_bytes())], results);
        bytes.extend(describe(b'P', ""));
        bytes.extend(execute(0));
        bytes.extend(sync());
        tokio::io::AsyncWriteExt::write_all(&mut sock, &bytes)
            .await
            .expect("run");
        let reply = frames::read_until_ready(&mut sock, std::time::Duration::from_secs(5)).await;
        let kinds: Vec<u8> = reply.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds, b"2TDCZ",
            "BindComplete, RowDescription, one row: {reply:?}"
        );
        assert_eq!(
            described_formats(&reply[1].body),
            want,
            "formats {results:?}"
        );
        // The row is encoded as described: a binary boolean is one byte, text is `t`/`f`.
        let row = &reply[2].body;
        let first_len = i32::from_be_bytes([row[2], row[3], row[4], row[5]]) as usize;
        let second_at = 6 + first_len;
        let second_len = i32::from_be_bytes([
            row[second_at],
            row[second_at + 1],
            row[second_at + 2],
            row[second_at + 3],
        ]);
        assert_eq!(second_len, 1, "auto_deploy in either format is one byte");
    }
    // The unnamed portal is gone after Sync: describing it is an error, not a kept answer.
    let mut bytes = describe(b'P', "");
    bytes.extend(sync());
    tokio::io::AsyncWriteExt::write_all(&mut sock, &bytes)
        .await
        .expect("describe");
    let reply = frames::read_until_ready(&mut sock, std::time::Duration::from_secs(5)).await;
    assert_eq!(
        reply.first().and_then(|m| m.sqlstate()).as_deref(),
        Some("34000"),
        "{reply:?}"
    );
    server.stop().await;
}

/// A table-free prepared statement run again and again (`SELECT 1`, answered from its kept
/// rows without running anything) answers exactly as its first run did, and as each portal
/// asks: text or binary results, a named portal run twice (its second Execute has no rows
/// left), a row limit (PortalSuspended), a transaction's status in ReadyForQuery, and a
/// failed Bind skipping to Sync.
#[tokio::test]
async fn kept_results_answer_each_portal_as_asked() {
    use stagesql_tests::frames::{
        self, bind, bind_portal, describe, execute, execute_portal, parse, query, sync,
    };
    use tokio::io::AsyncWriteExt;
    let quiet = std::time::Duration::from_secs(5);
    let server = TestServer::start().await;
    let mut sock = frames::logged_in(server.port()).await;
    let mut bytes = parse("k", "SELECT 1 AS one, 'x' || 'y' AS t", &[]);
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("parse");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    assert!(reply.iter().any(|m| m.kind == b'1'), "{reply:?}");

    let run = |results: &[i16]| {
        let mut bytes = bind("k", &[], &[], results);
        bytes.extend(describe(b'P', ""));
        bytes.extend(execute(0));
        bytes.extend(sync());
        bytes
    };
    // Text, five times: the first runs the plan, the later ones answer from kept rows.
    let mut first: Option<Vec<(u8, Vec<u8>)>> = None;
    for i in 0..5 {
        sock.write_all(&run(&[])).await.expect("run");
        let reply = frames::read_until_ready(&mut sock, quiet).await;
        let got: Vec<(u8, Vec<u8>)> = reply.iter().map(|m| (m.kind, m.body.clone())).collect();
        let kinds: Vec<u8> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, b"2TDCZ", "run {i}: {reply:?}");
        assert_eq!(reply[3].tag().as_deref(), Some("SELECT 1"));
        // One row: two text fields, `1` and `xy`.
        assert_eq!(
            reply[2].body,
            [&[0u8, 2, 0, 0, 0, 1, b'1', 0, 0, 0, 2][..], b"xy"].concat(),
            "run {i}"
        );
        assert_eq!(reply[4].body, b"I");
        match &first {
            None => first = Some(got),
            Some(first) => assert!(*first == got, "run {i} answers as the first did"),
        }
    }
    // Binary, then text again: each run's rows are in its own formats.
    for (results, row) in [
        (
            &[1i16][..],
            [&[0u8, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2][..], b"xy"].concat(),
        ),
        (
            &[1i16][..],
            [&[0u8, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2][..], b"xy"].concat(),
        ),
        (
            &[][..],
            [&[0u8, 2, 0, 0, 0, 1, b'1', 0, 0, 0, 2][..], b"xy"].concat(),
        ),
    ] {
        sock.write_all(&run(results)).await.expect("run");
        let reply = frames::read_until_ready(&mut sock, quiet).await;
        let kinds: Vec<u8> = reply.iter().map(|m| m.kind).collect();
        assert_eq!(kinds, b"2TDCZ", "{results:?}: {reply:?}");
        assert_eq!(reply[2].body, row, "{results:?}");
    }

    // A named portal run twice in one Sync: the rows, then none.
    let mut bytes = bind_portal("p", "k", &[], &[], &[]);
    bytes.extend(execute_portal("p", 0));
    bytes.extend(execute_portal("p", 0));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("named portal");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    let kinds: Vec<u8> = reply.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, b"2DCCZ", "{reply:?}");
    assert_eq!(reply[2].tag().as_deref(), Some("SELECT 1"));
    assert_eq!(reply[3].tag().as_deref(), Some("SELECT 0"));

    // A row limit suspends the portal, as PostgreSQL does at its limit.
    let mut bytes = bind("k", &[], &[], &[]);
    bytes.extend(execute(1));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("limited");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    let kinds: Vec<u8> = reply.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, b"2DsZ", "{reply:?}");

    // Inside a transaction, ReadyForQuery says so; after COMMIT it is idle again.
    sock.write_all(&query("BEGIN")).await.expect("begin");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    assert_eq!(reply.last().map(|m| m.body.clone()), Some(b"T".to_vec()));
    sock.write_all(&run(&[])).await.expect("run");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    let kinds: Vec<u8> = reply.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, b"2TDCZ", "{reply:?}");
    assert_eq!(reply[4].body, b"T", "in a transaction");
    sock.write_all(&query("COMMIT")).await.expect("commit");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    assert_eq!(reply.last().map(|m| m.body.clone()), Some(b"I".to_vec()));

    // A Bind of a statement that does not exist fails; the rest is skipped up to Sync.
    let mut bytes = bind("nope", &[], &[], &[]);
    bytes.extend(execute(0));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("failed bind");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    let kinds: Vec<u8> = reply.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, b"EZ", "{reply:?}");
    assert_eq!(reply[0].sqlstate().as_deref(), Some("26000"));
    assert_eq!(reply[1].body, b"I");
    // The run after that Sync is answered as before.
    sock.write_all(&run(&[])).await.expect("run");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    let kinds: Vec<u8> = reply.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, b"2TDCZ", "{reply:?}");
    server.stop().await;
}

/// A prepared key lookup run to its end (answered in the connection loop from the snapshot's
/// columns, `quick::execute_lookup`) answers byte for byte what the same run with a row limit
/// (which goes through the executed plan) answers: whole rows and chosen columns, text and
/// binary results, a key found and one not found, NULL, a parameter computed into the key,
/// a named portal executed twice, and a value that fails to decode.
#[tokio::test]
async fn quick_lookups_answer_as_executed_lookups() {
    use stagesql_tests::frames::{
        self, bind, bind_portal, describe, execute, execute_portal, parse, query, sync,
    };
    use tokio::io::AsyncWriteExt;
    let quiet = std::time::Duration::from_secs(5);
    let server = TestServer::start().await;
    let mut sock = frames::logged_in(server.port()).await;
    // A key and an ARN of the demo data.
    sock.write_all(&query(
        "SELECT _key, stage_arn FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 1",
    ))
    .await
    .expect("query");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    let row = reply.iter().find(|m| m.kind == b'D').expect("a row");
    let mut fields = Vec::new();
    let mut at = 2;
    while at + 4 <= row.body.len() {
        let len = i32::from_be_bytes(row.body[at..at + 4].try_into().expect("len")) as usize;
        fields.push(row.body[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    let (key, arn) = (fields[0].clone(), fields[1].clone());
    let (arn_head, arn_tail) = arn.split_at(arn.len() / 2);

    // (name, text, declared parameter types)
    let statements: [(&str, &str, &[i32]); 4] = [
        (
            "whole",
            "SELECT * FROM aws.apigatewayv2_stage WHERE stage_arn = $1",
            &[],
        ),
        (
            "some",
            "SELECT created_date, _key, auto_deploy, tags FROM aws.apigatewayv2_stage WHERE _key = $1",
            &[],
        ),
        (
            "joined",
            "SELECT * FROM aws.apigatewayv2_stage WHERE stage_arn = $1::text || $2",
            &[25, 25],
        ),
        (
            "number",
            "SELECT _key FROM aws.apigatewayv2_stage WHERE _key = 'k' || ($1::int + 1)::text",
            &[],
        ),
    ];
    let mut bytes = Vec::new();
    for (name, sql, types) in statements {
        bytes.extend(parse(name, sql, types));
    }
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("parse");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    assert!(reply.iter().all(|m| m.kind != b'E'), "{reply:?}");

    let run = |statement: &str, params: &[Option<&[u8]>], results: &[i16], limit: i32| {
        let mut bytes = bind(statement, &[], params, results);
        bytes.extend(describe(b'P', ""));
        bytes.extend(execute(limit));
        bytes.extend(sync());
        bytes
    };
    // (statement, parameter values, the message kinds of the answer)
    type Case<'a> = (&'a str, Vec<Option<&'a [u8]>>, &'a str);
    let cases: Vec<Case> = vec![
        ("whole", vec![Some(&arn)], "2TDCZ"),
        ("whole", vec![Some(b"arn:none")], "2TCZ"),
        ("whole", vec![None], "2TCZ"),
        ("some", vec![Some(&key)], "2TDCZ"),
        ("some", vec![Some(b"none")], "2TCZ"),
        ("joined", vec![Some(arn_head), Some(arn_tail)], "2TDCZ"),
        ("joined", vec![Some(arn_head), None], "2TCZ"),
        ("number", vec![Some(b"41")], "2TCZ"),
        ("number", vec![Some(b"forty")], "2TEZ"),
    ];
    for (statement, params, kinds) in &cases {
        for results in [&[][..], &[1i16][..]] {
            let mut answers = Vec::new();
            for limit in [0, 1000] {
                sock.write_all(&run(statement, params, results, limit))
                    .await
                    .expect("run");
                let reply = frames::read_until_ready(&mut sock, quiet).await;
                let got: Vec<u8> = reply.iter().map(|m| m.kind).collect();
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    *kinds,
                    "{statement} {params:?} {results:?} limit {limit}: {reply:?}"
                );
                answers.push(
                    reply
                        .iter()
                        .map(|m| (m.kind, m.body.clone()))
                        .collect::<Vec<_>>(),
                );
            }
            assert!(
                answers[0] == answers[1],
                "{statement} {params:?} {results:?}: {:?} vs {:?}",
                answers[0],
                answers[1]
            );
            if kinds.contains('E') {
                let error = answers[0].iter().find(|(k, _)| *k == b'E').expect("error");
                let fields = frames::Backend {
                    kind: b'E',
                    body: error.1.clone(),
                };
                assert_eq!(fields.sqlstate().as_deref(), Some("22P02"));
            }
        }
    }

    // A named portal executed twice in one Sync: its row, then none.
    let mut bytes = bind_portal("p", "whole", &[], &[Some(&arn)], &[]);
    bytes.extend(execute_portal("p", 0));
    bytes.extend(execute_portal("p", 0));
    bytes.extend(sync());
    sock.write_all(&bytes).await.expect("named portal");
    let reply = frames::read_until_ready(&mut sock, quiet).await;
    let kinds: Vec<u8> = reply.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, b"2DCCZ", "{reply:?}");
    assert_eq!(reply[2].tag().as_deref(), Some("SELECT 1"));
    assert_eq!(reply[3].tag().as_deref(), Some("SELECT 0"));
    server.stop().await;
}
