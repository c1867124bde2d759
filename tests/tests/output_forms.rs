//! Output forms a client chooses or reads as PostgreSQL prints them, against the real server:
//! IntervalStyle, and EXPLAIN's text form.

use stagesql_tests::{TestServer, sqlstate};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::Type;

fn rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    stagesql_tests::simple_rows(messages)
}

/// IntervalStyle: every PostgreSQL value is accepted, and intervals print in it, both as sent
/// and in a cast to text; each session keeps its own. (Expected texts: PostgreSQL 15's.)
#[tokio::test]
async fn interval_style_decides_how_intervals_print() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let other = server.client().await;
    let sql = "SELECT interval '1 day 2 hours 3.5 seconds', (interval '14 mons')::text, \
               'at ' || interval '-1 day'";
    for (style, want) in [
        ("iso_8601", ["P1DT2H3.5S", "P1Y2M", "at P-1D"]),
        (
            "postgres_verbose",
            [
                "@ 1 day 2 hours 3.5 secs",
                "@ 1 year 2 mons",
                "at @ 1 day ago",
            ],
        ),
        (
            "postgres",
            ["1 day 02:00:03.5", "1 year 2 mons", "at -1 days"],
        ),
    ] {
        let msgs = client
            .simple_query(&format!("SET intervalstyle = {style}; {sql}"))
            .await
            .expect(style);
        let want: Vec<Option<String>> = want.iter().map(|w| Some((*w).to_owned())).collect();
        assert_eq!(rows(&msgs), vec![want], "{style}");
        let shown = client
            .simple_query("SHOW IntervalStyle")
            .await
            .expect("show");
        assert_eq!(rows(&shown), vec![vec![Some(style.to_owned())]]);
    }
    client
        .simple_query("SET intervalstyle = iso_8601")
        .await
        .expect("set");
    let msgs = other.simple_query(sql).await.expect("other session");
    assert_eq!(
        rows(&msgs)[0][0].as_deref(),
        Some("1 day 02:00:03.5"),
        "another session keeps its own style"
    );
    let err = client
        .simple_query("SET intervalstyle = german")
        .await
        .expect_err("not a style");
    assert_eq!(sqlstate(&err), "22023");
    // sql_standard also changes how interval literals are read; refused rather than misread.
    let err = client
        .simple_query("SET intervalstyle = sql_standard")
        .await
        .expect_err("sql_standard");
    assert_eq!(sqlstate(&err), "0A000");
}

/// EXPLAIN answers as PostgreSQL does: one text column `QUERY PLAN`, the root node first with
/// `(cost=a..b rows=n width=w)`, which Superset's cost estimate parses.
#[tokio::test]
async fn explain_answers_in_postgres_text_form() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let stmt = client
        .prepare("EXPLAIN SELECT region, count(*) FROM aws.apigatewayv2_stage WHERE region = $1 GROUP BY region ORDER BY 2")
        .await
        .expect("prepare");
    assert_eq!(stmt.columns().len(), 1);
    assert_eq!(stmt.columns()[0].name(), "QUERY PLAN");
    assert_eq!(stmt.columns()[0].type_(), &Type::TEXT);
    let plan = client.query(&stmt, &[&"us-east-1"]).await.expect("explain");
    let lines: Vec<String> = plan.iter().map(|r| r.get(0)).collect();
    let cost = |line: &str| {
        let after = line.split("(cost=").nth(1)?;
        let (range, rest) = after.split_once(" rows=")?;
        let (start, total) = range.split_once("..")?;
        let (rows, width) = rest.split_once(" width=")?;
        Some((
            start.parse::<f64>().ok()?,
            total.parse::<f64>().ok()?,
            rows.parse::<u64>().ok()?,
            width.trim_end_matches(')').parse::<u64>().ok()?,
        ))
    };
    let (start, total, _, _) = cost(&lines[0]).unwrap_or_else(|| panic!("{lines:?}"));
    assert!(start <= total, "{lines:?}");
    assert!(lines[0].starts_with("Sort  (cost="), "{lines:?}");
    assert!(
        lines
            .iter()
            .skip(1)
            .all(|l| l.contains("->  ") && cost(l).is_some()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Seq Scan on apigatewayv2_stage")),
        "{lines:?}"
    );

    let analyzed = client
        .simple_query("EXPLAIN ANALYZE SELECT count(*) FROM aws.apigatewayv2_stage")
        .await
        .expect("explain analyze");
    let first = rows(&analyzed)[0][0].clone().unwrap_or_default();
    assert!(first.contains("(actual time="), "{first}");
    assert!(first.contains("rows=1 loops=1"), "{first}");
    for (sql, code) in [
        ("EXPLAIN (FORMAT JSON) SELECT 1", "0A000"),
        ("EXPLAIN (NOSUCH) SELECT 1", "42601"),
        ("EXPLAIN DELETE FROM aws.apigatewayv2_stage", "25006"),
    ] {
        let err = client.simple_query(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), code, "{sql}");
    }
}
