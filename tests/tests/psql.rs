//! The `psql` binary against the real server.

use stagesql_tests::TestServer;

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "psql failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn readme_query_returns_the_right_rows() {
    let server = TestServer::start().await;
    let out = server
        .psql(&[
            "-A",
            "-t",
            "-F",
            ",",
            "-c",
            "SELECT stage_name, region, tags->'env' AS env FROM aws.apigatewayv2_stage WHERE auto_deploy ORDER BY 1, 2, 3",
        ])
        .await;
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 19, "{text}");
    assert_eq!(lines[0], "$default,ap-southeast-2,");
    assert_eq!(lines[18], "staging,us-gov-west-1,staging");
}

#[tokio::test]
async fn aligned_output_with_headers_and_expanded_mode() {
    let server = TestServer::start().await;
    let out = server
        .psql(&[
            "-c",
            "SELECT stage_name, stage_variables FROM aws.apigatewayv2_stage WHERE stage_name = 'staging' AND region = 'eu-central-1'",
        ])
        .await;
    let text = stdout(&out);
    assert!(text.contains("stage_name |"), "{text}");
    assert!(
        text.contains(r#""quote"=>"say \"hi\" \\ back", "lambdaAlias"=>"staging""#),
        "{text}"
    );
    assert!(text.contains("(1 row)"), "{text}");
    let out = server
        .psql(&["-x", "-c", "SELECT _key, created_date, auto_deploy FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 1"])
        .await;
    let text = stdout(&out);
    assert!(text.contains("-[ RECORD 1 ]"), "{text}");
    assert!(text.contains("created_date | 2026-"), "{text}");
}

#[tokio::test]
async fn errors_are_reported_and_the_session_continues() {
    let server = TestServer::start().await;
    let out = server
        .psql(&[
            "-c",
            "SELECT * FROM aws.nosuch",
            "-c",
            "INSERT INTO aws.apigatewayv2_stage (_key) VALUES ('x')",
            "-c",
            "SELECT count(*) AS n FROM aws.apigatewayv2_stage",
        ])
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("ERROR:  relation \"nosuch\" does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ERROR:  cannot execute INSERT in a read-only transaction"),
        "{stderr}"
    );
    assert!(stdout.contains(" 50\n"), "{stdout}");
}

#[tokio::test]
async fn several_statements_and_variables() {
    let server = TestServer::start().await;
    let out = server
        .psql(&[
            "-A",
            "-t",
            "-c",
            "SET application_name = 'psql-test'; SELECT current_setting('application_name'); SELECT count(DISTINCT account_id) FROM aws.apigatewayv2_stage",
        ])
        .await;
    assert_eq!(stdout(&out), "psql-test\n2\n");
}

#[tokio::test]
async fn copy_to_stdout_csv_and_text() {
    let server = TestServer::start().await;
    let out = server
        .psql(&[
            "-c",
            "\\copy (SELECT stage_name, tags, description FROM aws.apigatewayv2_stage WHERE stage_name = 'staging' AND region = 'eu-central-1') TO STDOUT WITH (FORMAT csv, HEADER)",
        ])
        .await;
    assert_eq!(
        stdout(&out),
        "stage_name,tags,description\nstaging,\"\"\"env\"\"=>\"\"staging\"\", \"\"note\"\"=>\"\"x=>y, z\"\", \"\"owner\"\"=>\"\"équipe-données\"\"\",\n"
    );
    let out = server
        .psql(&["-c", "COPY (SELECT _key, auto_deploy, created_date FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 2) TO STDOUT"])
        .await;
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0].split('\t').count(), 3, "{text}");
    let out = server
        .psql(&["-c", "COPY aws.apigatewayv2_stage TO STDOUT (FORMAT csv)"])
        .await;
    assert_eq!(stdout(&out).lines().count(), 50);
}

/// psql's describe commands run their catalog queries unchanged and print what PostgreSQL
/// prints for the same table (the expected files were checked against PostgreSQL 15).
#[tokio::test]
async fn describe_commands_match_postgres() {
    let server = TestServer::start().await;
    for (command, expected) in [
        (
            "\\d aws.apigatewayv2_stage",
            include_str!("../expected/psql_describe_table.out"),
        ),
        (
            "\\d+ aws.apigatewayv2_stage",
            include_str!("../expected/psql_describe_table_plus.out"),
        ),
    ] {
        let out = server.psql(&["-c", command]).await;
        assert_eq!(stdout(&out), expected, "{command}");
    }
    server.stop().await;
}

#[tokio::test]
async fn list_commands_show_the_schema_table_database_and_role() {
    let server = TestServer::start().await;
    let run = |cmd: &'static str| {
        let server = &server;
        async move { stdout(&server.psql(&["-A", "-t", "-F", "|", "-c", cmd]).await) }
    };
    assert_eq!(
        run("\\dt aws.*").await,
        "aws|apigatewayv2_stage|table|stagesql\n"
    );
    assert_eq!(
        run("\\dn").await,
        "aws|stagesql\npublic|pg_database_owner\n"
    );
    assert!(run("\\l").await.starts_with("stagesql|stagesql|UTF8|"));
    assert!(run("\\du").await.starts_with("stagesql|"));
    assert!(
        run("\\di aws.*")
            .await
            .starts_with("aws|apigatewayv2_stage_pkey|index|stagesql|apigatewayv2_stage")
    );
    assert_eq!(run("\\dT").await, "public|hstore|\n");
    assert!(run("\\dx").await.contains("hstore|1.8|public|"));
    // Not on the search path, so plain \dt lists nothing, as in PostgreSQL...
    let plain = server.psql(&["-c", "\\dt"]).await;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&plain.stdout),
        String::from_utf8_lossy(&plain.stderr)
    );
    assert!(
        plain.status.success() && !said.contains("apigatewayv2_stage"),
        "{said}"
    );
    // ...until the schema is searched.
    let with_path = server
        .psql(&[
            "-A",
            "-t",
            "-c",
            "SET search_path = aws, public",
            "-c",
            "\\dt",
        ])
        .await;
    assert!(stdout(&with_path).contains("aws|apigatewayv2_stage|table|stagesql"));
    server.stop().await;
}

/// The queries psql's tab completion sends for table, schema, column and setting names.
#[tokio::test]
async fn tab_completion_queries() {
    let server = TestServer::start().await;
    let query = |sql: &'static str| {
        let server = &server;
        async move { stdout(&server.psql(&["-A", "-t", "-F", "|", "-c", sql]).await) }
    };
    assert_eq!(
        query("SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p') AND (c.relname) LIKE 'api%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog') UNION ALL SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'aw%' AND n.nspname NOT LIKE E'pg\\\\_%' LIMIT 1000").await,
        "|aws\n"
    );
    assert_eq!(
        query("SELECT c.relname, n.nspname FROM pg_catalog.pg_class c, pg_catalog.pg_namespace n WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND (c.relname) LIKE 'api%' AND (n.nspname) = 'aws' LIMIT 1000").await,
        "apigatewayv2_stage|aws\n"
    );
    assert_eq!(
        query("SELECT a.attname FROM pg_catalog.pg_attribute a, pg_catalog.pg_class c, pg_catalog.pg_namespace n WHERE c.oid = a.attrelid AND n.oid = c.relnamespace AND a.attnum > 0 AND NOT a.attisdropped AND (a.attname) LIKE 'stage%' AND c.relname = 'apigatewayv2_stage' AND n.nspname = 'aws' ORDER BY 1 LIMIT 1000").await,
        "stage_arn\nstage_name\nstage_variables\n"
    );
    assert_eq!(
        query("SELECT pg_catalog.lower(name) FROM pg_catalog.pg_settings WHERE context IN ('user', 'superuser') AND pg_catalog.lower(name) LIKE 'applic%' LIMIT 1000").await,
        "application_name\n"
    );
    server.stop().await;
}
