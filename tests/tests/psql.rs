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
        text.contains(r#""lambdaAlias"=>"staging", "quote"=>"say \"hi\" \\ back""#),
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
