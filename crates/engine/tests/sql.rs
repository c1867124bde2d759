//! Engine tests: SQL over the bundled demo snapshot, compared with whole expected tables.

use std::sync::Arc;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::physical_plan::common::collect;
use stagesql_catalog::{BUNDLED_FIXTURE, SnapshotStore, parse_fixture};
use stagesql_engine::{Engine, EngineConfig, EngineError, Output, Session};

fn demo_engine() -> Engine {
    let store = Arc::new(SnapshotStore::new());
    store.publish(parse_fixture(BUNDLED_FIXTURE, "bundled").expect("bundled fixture"));
    Engine::new(EngineConfig::new("stagesql", "stagesql"), store).expect("engine")
}

fn session(engine: &Engine) -> Session {
    engine.session("stagesql", []).expect("session")
}

async fn run(session: &Session, sql: &str) -> Result<String, EngineError> {
    let mut out = String::new();
    for command in session.parse(sql)? {
        let prepared = session.prepare(command).await?;
        match session.execute(&prepared, Vec::new()).await? {
            Output::Rows { schema, stream } => {
                let batches = collect(stream).await?;
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                out.push_str(&format!("columns: {}\n", names.join(" | ")));
                let options = FormatOptions::default().with_null("NULL");
                for batch in &batches {
                    let formatters = batch
                        .columns()
                        .iter()
                        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(datafusion::error::DataFusionError::from)?;
                    for row in 0..batch.num_rows() {
                        let values: Vec<String> = formatters
                            .iter()
                            .map(|f| f.value(row).to_string())
                            .collect();
                        out.push_str(&values.join(" | "));
                        out.push('\n');
                    }
                }
            }
            other => out.push_str(&format!("{other:?}\n")),
        }
    }
    Ok(out)
}

/// Runs `prepared` with `params` bound as untyped text, as a client sends them, and returns
/// the first row in PostgreSQL's text output.
async fn first_row_text(
    session: &Session,
    prepared: &stagesql_engine::Prepared,
    params: &[&str],
) -> Vec<String> {
    let values = params
        .iter()
        .map(|v| datafusion::common::ScalarValue::Utf8(Some((*v).to_owned())))
        .collect();
    let Output::Rows { stream, .. } = session.execute(prepared, values).await.expect("runs") else {
        panic!("rows expected")
    };
    let batches = collect(stream).await.expect("collects");
    (0..batches[0].num_columns())
        .map(|c| {
            let mut out = String::new();
            stagesql_engine::values::write_text(batches[0].column(c), 0, &mut out).expect("text");
            out
        })
        .collect()
}

async fn table(sql: &str) -> String {
    let engine = demo_engine();
    run(&session(&engine), sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Compares `sql`'s whole result with `tests/expected/{name}.out`. With `STAGESQL_BLESS=1` the
/// file is (re)written instead; review the diff before committing it.
async fn check(name: &str, sql: &str) {
    let got = format!("-- {sql}\n{}", table(sql).await);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected")
        .join(format!("{name}.out"));
    if std::env::var_os("STAGESQL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &got).expect("write expected");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with STAGESQL_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        got,
        want,
        "result of {name} differs from {}",
        path.display()
    );
}

const PROD_ARN: &str = "arn:aws:apigateway:us-east-1::/apis/ujzde8gxd6/stages/prod";

#[tokio::test]
async fn full_row_shows_every_rendering_rule() {
    check(
        "full_row",
        &format!("SELECT * FROM aws.apigatewayv2_stage WHERE _key = '{PROD_ARN}'"),
    )
    .await;
}

#[tokio::test]
async fn websocket_row_and_absent_fields() {
    check(
        "websocket_rows",
        "SELECT stage_name, client_certificate_id, default_route_settings, route_settings, stage_variables, tags, \
         last_updated_date FROM aws.apigatewayv2_stage WHERE stage_name = 'dev' ORDER BY _key",
    )
    .await;
}

#[tokio::test]
async fn readme_query() {
    check(
        "readme_query",
        "SELECT stage_name, region, tags->'env' AS env FROM aws.apigatewayv2_stage WHERE auto_deploy ORDER BY 1, 2, 3",
    )
    .await;
}

#[tokio::test]
async fn hstore_operators_and_functions() {
    check(
        "hstore",
        "SELECT stage_name, tags -> 'env', tags ? 'env', tags @> 'env=>prod', tags ?| ARRAY['note', 'nope'], \
         tags ?& ARRAY['env', 'owner'], akeys(tags), avals(stage_variables), hstore_to_json(tags), \
         stage_variables -> 'quote', defined(tags, 'env'), exist(stage_variables, 'k') \
         FROM aws.apigatewayv2_stage WHERE api_id = 'ujzde8gxd6' OR stage_name = 'dev' ORDER BY _key",
    )
    .await;
}

#[tokio::test]
async fn hstore_filters() {
    check(
        "hstore_filters",
        "SELECT tags -> 'env' AS env, count(*) AS n FROM aws.apigatewayv2_stage \
         WHERE tags ? 'env' AND NOT tags @> 'owner=>platform' GROUP BY 1 ORDER BY 1",
    )
    .await;
}

#[tokio::test]
async fn json_operators_and_functions() {
    check(
        "json",
        "SELECT stage_name, access_log_settings->>'format', access_log_settings->'destination_arn', \
         default_route_settings->'throttling_rate_limit', default_route_settings->>'logging_level', \
         json_extract_path_text(route_settings::json, 'GET /orders', 'throttling_rate_limit'), \
         route_settings::json #>> '{$connect,logging_level}', json_typeof(route_settings::json) \
         FROM aws.apigatewayv2_stage WHERE api_id = 'ujzde8gxd6' OR stage_name = 'dev' ORDER BY _key",
    )
    .await;
}

#[tokio::test]
async fn group_by_account_and_region() {
    check(
        "group_by",
        "SELECT account_id, region, count(*), count(description), sum(CASE WHEN auto_deploy THEN 1 ELSE 0 END) AS auto \
         FROM aws.apigatewayv2_stage GROUP BY account_id, region ORDER BY account_id, region",
    )
    .await;
}

#[tokio::test]
async fn time_filters_and_date_trunc() {
    check(
        "time",
        "SELECT date_trunc('month', created_date) AS month, count(*), min(created_date), max(last_updated_date) \
         FROM aws.apigatewayv2_stage WHERE created_date >= '2026-02-01' AND created_date < TIMESTAMP '2026-04-01 00:00:00' \
         GROUP BY 1 ORDER BY 1",
    )
    .await;
}

#[tokio::test]
async fn arns_and_partitions() {
    check(
        "arns",
        "SELECT DISTINCT region, split_part(stage_arn, ':', 2) AS partition, _key = stage_arn AS same \
         FROM aws.apigatewayv2_stage ORDER BY 1",
    )
    .await;
}

#[tokio::test]
async fn writes_are_refused_and_change_nothing() {
    let engine = demo_engine();
    let s = session(&engine);
    let before = run(
        &s,
        "SELECT count(*), max(description) FROM aws.apigatewayv2_stage",
    )
    .await
    .expect("query");
    for sql in [
        "INSERT INTO aws.apigatewayv2_stage (_key) VALUES ('x')",
        "UPDATE aws.apigatewayv2_stage SET description = 'x'",
        "DELETE FROM aws.apigatewayv2_stage",
        "DROP TABLE aws.apigatewayv2_stage",
        "CREATE TABLE aws.t AS SELECT * FROM aws.apigatewayv2_stage",
        "COPY aws.apigatewayv2_stage TO '/tmp/stagesql-should-not-exist.csv'",
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
    ] {
        match run(&s, sql).await {
            Err(EngineError::ReadOnly { .. }) => {}
            other => panic!("{sql}: expected a read-only error, got {other:?}"),
        }
    }
    assert!(!std::path::Path::new("/tmp/stagesql-should-not-exist.csv").exists());
    let after = run(
        &s,
        "SELECT count(*), max(description) FROM aws.apigatewayv2_stage",
    )
    .await
    .expect("query");
    assert_eq!(before, after);
}

#[tokio::test]
async fn before_the_first_snapshot_queries_say_loading() {
    let engine = Engine::new(
        EngineConfig::new("stagesql", "stagesql"),
        Arc::new(SnapshotStore::new()),
    )
    .expect("engine");
    let err = run(
        &session(&engine),
        "SELECT count(*) FROM aws.apigatewayv2_stage",
    )
    .await
    .expect_err("no snapshot yet");
    let EngineError::DataFusion(df) = &err else {
        panic!("unexpected {err:?}");
    };
    assert!(
        matches!(
            EngineError::find_in(df),
            Some(EngineError::CatalogLoading { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn parameters_are_typed_by_the_planner() {
    let engine = demo_engine();
    let s = session(&engine);
    let mut commands = s
        .parse("SELECT count(*) FROM aws.apigatewayv2_stage WHERE region = $1 AND created_date > $2 LIMIT $3")
        .expect("parses");
    let prepared = s.prepare(commands.remove(0)).await.expect("plans");
    assert_eq!(
        prepared
            .param_types()
            .iter()
            .map(|t| t.as_ref().map(ToString::to_string))
            .collect::<Vec<_>>(),
        vec![
            Some("Utf8".into()),
            Some("Timestamp(µs)".into()),
            Some("Int64".into())
        ],
        "LIMIT placeholders are bigint, as in PostgreSQL"
    );
    use datafusion::common::ScalarValue;
    let out = s
        .execute(
            &prepared,
            vec![
                ScalarValue::Utf8(Some("us-east-1".into())),
                ScalarValue::Utf8(Some("2026-01-01 00:00:00".into())),
                ScalarValue::Int64(Some(10)),
            ],
        )
        .await
        .expect("runs");
    let Output::Rows { stream, .. } = out else {
        panic!("rows expected")
    };
    let batches = collect(stream).await.expect("collects");
    let n = datafusion::arrow::array::AsArray::as_primitive::<
        datafusion::arrow::datatypes::Int64Type,
    >(batches[0].column(0))
    .value(0);
    assert_eq!(n, 17);
    let err = s.execute(&prepared, vec![]).await.expect_err("wrong count");
    assert!(matches!(
        err,
        EngineError::ParameterCount {
            expected: 3,
            got: 0
        }
    ));
}

/// A parameter multiplying or dividing an interval is read as double precision, as
/// PostgreSQL's `interval * float8` reads it (it was typed interval, and the plan failed).
#[tokio::test]
async fn a_parameter_scaling_an_interval_is_double_precision() {
    let engine = demo_engine();
    let s = session(&engine);
    let mut commands = s
        .parse(
            "SELECT $1 * interval '1 hour' AS a, interval '1 day' * $2 AS b, \
             (interval '1 hour') / $3 AS c",
        )
        .expect("parses");
    let prepared = s.prepare(commands.remove(0)).await.expect("plans");
    // Described as PostgreSQL describes them (it was unknown).
    use datafusion::arrow::datatypes::DataType;
    assert_eq!(
        prepared.param_types(),
        [
            Some(DataType::Float64),
            Some(DataType::Float64),
            Some(DataType::Float64)
        ]
    );
    // As a client sends them untyped: text.
    let text = first_row_text(&s, &prepared, &["2.5", "0.5", "4"]).await;
    assert_eq!(text, ["02:30:00", "12:00:00", "00:15:00"]);
}

/// `timestamp` and `timestamptz` are PostgreSQL's microsecond types: a value past 2262
/// (where nanoseconds end) casts, binds and computes (it failed with an Arrow overflow).
#[tokio::test]
async fn timestamps_past_2262_cast_and_bind() {
    let engine = demo_engine();
    let s = session(&engine);
    let mut commands = s
        .parse(
            "SELECT $1::timestamptz AS a, timestamp '2999-06-01 12:00' + interval '1 day' AS b, \
             '3000-01-01'::timestamp - $2::timestamp AS c",
        )
        .expect("parses");
    let prepared = s.prepare(commands.remove(0)).await.expect("plans");
    let text = first_row_text(
        &s,
        &prepared,
        &["2999-01-01 00:00:00+00", "2999-12-31 00:00:00"],
    )
    .await;
    assert_eq!(
        text,
        ["2999-01-01 00:00:00+00", "2999-06-02 12:00:00", "1 day"]
    );
}

#[tokio::test]
async fn now_and_intervals_work() {
    let got = table(
        "SELECT count(*) AS n FROM aws.apigatewayv2_stage \
         WHERE last_updated_date < now() - INTERVAL '30 days' AND created_date < current_date",
    )
    .await;
    assert!(got.ends_with("\n49\n"), "{got}");
}

#[tokio::test]
async fn a_prepared_query_reads_the_whole_snapshot_current_at_execution() {
    let store = Arc::new(SnapshotStore::new());
    let rows = parse_fixture(BUNDLED_FIXTURE, "bundled").expect("fixture");
    store.publish(rows.clone());
    let engine = Engine::new(
        EngineConfig::new("stagesql", "stagesql"),
        Arc::clone(&store),
    )
    .expect("engine");
    let s = session(&engine);
    let mut commands = s
        .parse("SELECT (SELECT count(*) FROM aws.apigatewayv2_stage) AS a, count(*) AS b FROM aws.apigatewayv2_stage")
        .expect("parses");
    let prepared = s.prepare(commands.remove(0)).await.expect("plans");
    // A refresh between planning and execution is seen, whole, by the next execution.
    store.publish(rows[..10].to_vec());
    let out = s.execute(&prepared, vec![]).await.expect("runs");
    let Output::Rows { stream, .. } = out else {
        panic!("rows")
    };
    let batches = collect(stream).await.expect("collects");
    let get = |c: usize| {
        datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(
            batches[0].column(c),
        )
        .value(0)
    };
    assert_eq!((get(0), get(1)), (10, 10));
}

/// PostgreSQL syntax and catalog functions that client tools send, each rewritten or
/// implemented for DataFusion (see `rewrite` and `functions::catalog`).
#[tokio::test]
async fn postgres_syntax_used_by_client_tools() {
    check(
        "postgres_syntax",
        "SELECT 1, 1 + 1 AS two, '{1,2}'::int[] AS arr, quote_literal('it''s') AS q, format('%I.%I', 'aws', 'Stage') AS f;
         SELECT word FROM pg_get_keywords() WHERE word <> ALL ('{abort,absolute}') ORDER BY word LIMIT 2;
         SELECT i.indkey[0] AS first_key, array_upper(i.indkey, 1) AS upper FROM pg_index i;
         SELECT 'pg_class'::regclass::oid AS pg_class, 'aws.apigatewayv2_stage'::regclass AS rel, t.oid::regtype::text AS ty, to_regtype('integer') AS int4 FROM pg_type t WHERE t.oid = 1114;
         SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(apigatewayv2_stage)$' COLLATE pg_catalog.default AND n.nspname !~ '^pg_';
         SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg/_%' ESCAPE '/' AND nspname LIKE 'a%';
         SELECT a.attname, (SELECT d.adbin FROM pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef) AS def, (SELECT c.collname FROM pg_collation c, pg_type t WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS coll FROM pg_attribute a WHERE a.attrelid = 'aws.apigatewayv2_stage'::regclass AND a.attnum <= 2 ORDER BY a.attnum;
         SELECT ARRAY(SELECT r.rolname FROM pg_roles r) AS roles, NULL AS nothing;
         SELECT (information_schema._pg_expandarray(i.indkey)).n AS n, unnest(i.indkey) AS k, generate_subscripts(i.indkey, 1) AS s FROM pg_index i;
         SELECT trim(s[i]) AS part FROM generate_series(1, 2) AS i, string_to_array('a, b', ',') s ORDER BY 1;
         SELECT pg_typeof(2147483648) AS big, pg_typeof(tags) AS tags, pg_typeof(created_date) AS created FROM aws.apigatewayv2_stage LIMIT 1;
         START TRANSACTION; ROLLBACK",
    )
    .await;
}

/// `SELECT x.oid, x.*` (DBeaver) yields every real catalog column; PostgreSQL allows the
/// duplicate `oid` name.
#[tokio::test]
async fn star_expansion_beside_the_same_column() {
    let out =
        table("SELECT c.oid, c.* FROM pg_class c WHERE c.relname = 'apigatewayv2_stage'").await;
    let header = out.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("columns: oid | oid | relname | relnamespace | reltype"),
        "{header}"
    );
    assert!(
        header.ends_with("relacl | reloptions | relpartbound"),
        "{header}"
    );
}

/// Runs `sql` the way the wire's simple-query path does: the session's text cache first.
async fn run_cached(session: &Session, sql: &str) -> String {
    let prepared = match session.cached_text(sql) {
        Some(p) => p,
        None => {
            let mut commands = session.parse(sql).expect("parse");
            assert_eq!(commands.len(), 1);
            let prepared = session.prepare(commands.remove(0)).await.expect("prepare");
            session.remember_text(sql, &prepared);
            Arc::new(prepared)
        }
    };
    match session
        .execute(&prepared, Vec::new())
        .await
        .expect("execute")
    {
        Output::Rows { stream, .. } => {
            let batches = collect(stream).await.expect("collect");
            datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .expect("format")
                .to_string()
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn a_kept_plan_reads_the_snapshot_current_when_it_runs() {
    let store = Arc::new(SnapshotStore::new());
    let full = parse_fixture(BUNDLED_FIXTURE, "bundled").expect("bundled fixture");
    store.publish(full.clone());
    let engine = Engine::new(
        EngineConfig::new("stagesql", "stagesql"),
        Arc::clone(&store),
    )
    .expect("engine");
    let session = session(&engine);
    let count = "SELECT count(*) AS n FROM aws.apigatewayv2_stage";
    assert!(run_cached(&session, count).await.contains("| 50 |"));
    assert!(session.cached_text(count).is_some(), "the plan is kept");
    // A refresh publishes fewer rows: the same kept plan sees them.
    store.publish(full.into_iter().take(7).collect());
    let after = run_cached(&session, count).await;
    assert!(after.contains("| 7 |"), "{after}");
    // A SET empties the cache (search_path can change what a text means).
    run(&session, "SET search_path = aws").await.expect("set");
    assert!(session.cached_text(count).is_none());
    // set_config() changes settings inside a query: kept plans are not reused after it either.
    assert!(run_cached(&session, count).await.contains("| 7 |"));
    assert!(session.cached_text(count).is_some());
    run(
        &session,
        "SELECT set_config('search_path', 'public', false)",
    )
    .await
    .expect("set_config");
    assert!(
        session.cached_text(count).is_none(),
        "set_config starts a new generation"
    );
    // now() is folded at planning, so a text calling it is never kept.
    let now = "SELECT now() AS t";
    run_cached(&session, now).await;
    assert!(session.cached_text(now).is_none());
}

#[tokio::test]
async fn key_lookups_use_the_index_and_agree_with_a_scan() {
    let engine = demo_engine();
    let session = session(&engine);
    for (column, extra) in [("_key", ""), ("stage_arn", " AND region = 'us-east-1'")] {
        let all = run(
            &session,
            &format!("SELECT {column} FROM aws.apigatewayv2_stage ORDER BY 1"),
        )
        .await
        .expect("scan");
        for value in all.lines().skip(1).step_by(7) {
            let lookup = format!(
                "SELECT {column}, region FROM aws.apigatewayv2_stage WHERE {column} = '{value}'{extra}"
            );
            let scan = format!(
                "SELECT {column}, region FROM aws.apigatewayv2_stage WHERE {column} || '' = '{value}'{extra}"
            );
            assert_eq!(
                run(&session, &lookup).await.expect("lookup"),
                run(&session, &scan).await.expect("scan"),
                "{lookup}"
            );
        }
        let missing =
            format!("SELECT count(*) FROM aws.apigatewayv2_stage WHERE {column} = 'nope'");
        assert!(
            run(&session, &missing)
                .await
                .expect("missing")
                .ends_with("0\n")
        );
    }
    let plan = run(
        &session,
        "EXPLAIN SELECT * FROM aws.apigatewayv2_stage WHERE stage_arn = 'x'",
    )
    .await
    .expect("explain");
    assert!(
        plan.contains("Index Scan using apigatewayv2_stage_stage_arn_lookup"),
        "{plan}"
    );
    // The comparison side really scans: `|| ''` keeps the filter off the index.
    let scan_plan = run(
        &session,
        "EXPLAIN SELECT * FROM aws.apigatewayv2_stage WHERE stage_arn || '' = 'x'",
    )
    .await
    .expect("explain");
    assert!(
        !scan_plan.contains("Index Scan") && scan_plan.contains("Seq Scan on apigatewayv2_stage"),
        "{scan_plan}"
    );
}

#[tokio::test]
async fn a_parameterized_lookup_plans_once_and_binds_each_value() {
    use datafusion::common::ScalarValue;
    let engine = demo_engine();
    let s = session(&engine);
    let arns = run(
        &s,
        "SELECT stage_arn || '|' || stage_name FROM aws.apigatewayv2_stage ORDER BY 1 LIMIT 3",
    )
    .await
    .expect("arns");
    let mut commands = s
        .parse("SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_arn = $1 LIMIT $2")
        .expect("parse");
    let prepared = s.prepare(commands.remove(0)).await.expect("prepare");
    for line in arns.lines().skip(1) {
        let (arn, name) = line.split_once('|').expect("arn|name");
        let out = s
            .execute(
                &prepared,
                vec![
                    ScalarValue::Utf8(Some(arn.to_owned())),
                    ScalarValue::Int64(Some(5)),
                ],
            )
            .await
            .expect("runs");
        let Output::Rows { stream, .. } = out else {
            panic!("rows expected")
        };
        let batches = collect(stream).await.expect("collects");
        let got: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let col = datafusion::arrow::array::AsArray::as_string::<i32>(b.column(0));
                (0..b.num_rows())
                    .map(|i| col.value(i).to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(got, vec![name.to_owned()], "{arn}");
    }
    let out = s
        .execute(
            &prepared,
            vec![ScalarValue::Utf8(None), ScalarValue::Int64(Some(5))],
        )
        .await
        .expect("NULL runs");
    let Output::Rows { stream, .. } = out else {
        panic!("rows expected")
    };
    let rows: usize = collect(stream)
        .await
        .expect("collects")
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 0, "no row equals NULL");
}

/// The engine's own error inside a DataFusion error (as the wire's SQLSTATE boundary finds it).
fn innermost(e: &EngineError) -> &EngineError {
    match e {
        EngineError::DataFusion(df) => EngineError::find_in(df).unwrap_or(e),
        other => other,
    }
}

/// Correlated subqueries DataFusion cannot turn into joins run once per outer row, as
/// PostgreSQL's SubPlan (they were refused with 0A000 before).
#[tokio::test]
async fn correlated_subqueries_run_per_outer_row() {
    let engine = demo_engine();
    let s = session(&engine);
    let q = |sql: &'static str| {
        let s = &s;
        async move { run(s, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")) }
    };
    // An outer column inside a derived table under unnest (pgcli's foreign keys).
    assert_eq!(
        q("SELECT unnest((SELECT array_agg(x ORDER BY x DESC) FROM (SELECT unnest(ARRAY[s.n, s.n * 10]) AS x) y)) AS v \
           FROM (VALUES (1), (2)) s(n)")
        .await,
        "columns: v\n10\n1\n20\n2\n"
    );
    // A comparison other than `=`, in EXISTS, IN and a scalar subquery.
    assert_eq!(
        q("SELECT s.n, EXISTS (SELECT 1 FROM (VALUES (1), (2), (3)) t(m) WHERE t.m > s.n) AS e, \
           s.n IN (SELECT t.m + 1 FROM (VALUES (1), (NULL)) t(m) WHERE t.m IS NULL OR t.m < s.n) AS i, \
           (SELECT max(t.m) FROM (VALUES (1), (2), (3)) t(m) WHERE t.m < s.n) AS m \
           FROM (VALUES (1), (2), (3)) s(n) ORDER BY 1")
        .await,
        "columns: n | e | i | m\n1 | true | NULL | NULL\n2 | true | true | 1\n3 | false | NULL | 2\n"
    );
    // An outer column read only by a nested subquery, and a nested scope reusing the alias.
    assert_eq!(
        q("SELECT s.n, (SELECT count(*) FROM (VALUES (1), (2), (3)) u(k) WHERE EXISTS \
           (SELECT 1 FROM (VALUES (2)) w(z) WHERE w.z > u.k - s.n)) AS c, \
           (SELECT (SELECT max(s.n) FROM (VALUES (5)) s(n)) FROM (VALUES (1)) u(k) WHERE u.k <= s.n) AS m \
           FROM (VALUES (0), (1)) s(n) ORDER BY 1")
        .await,
        "columns: n | c | m\n0 | 1 | NULL\n1 | 2 | 5\n"
    );
    // An outer column read inside a derived table over unnest in FROM.
    assert_eq!(
        q(
            "SELECT s.n, (SELECT count(*) FROM unnest(ARRAY[s.n, 5]) AS u(v) WHERE v > 1) AS c \
           FROM (VALUES (1), (7)) s(n) ORDER BY 1"
        )
        .await,
        "columns: n | c\n1 | 1\n7 | 2\n"
    );
    // A recursive CTE reading the outer row inside CASE (asyncpg's type introspection).
    assert_eq!(
        q(
            "SELECT s.n, CASE WHEN s.n > 1 THEN (WITH RECURSIVE r(k) AS (SELECT s.n UNION ALL \
           SELECT k - 1 FROM r WHERE k > 1) SELECT count(*) FROM r) END AS c \
           FROM (VALUES (1), (3)) s(n) ORDER BY 1"
        )
        .await,
        "columns: n | c\n1 | NULL\n3 | 3\n"
    );
}

/// A subplan keeps PostgreSQL's errors: more than one row is 21000, and only for the rows
/// whose CASE branch runs it.
#[tokio::test]
async fn subplans_keep_cardinality_errors_and_case_laziness() {
    let engine = demo_engine();
    let s = session(&engine);
    let several = "SELECT (SELECT t.m FROM (VALUES (1), (2)) t(m) WHERE t.m >= s.n) FROM (VALUES (1), (2)) s(n)";
    match run(&s, several).await {
        Err(e) if matches!(innermost(&e), EngineError::CardinalityViolation(_)) => {}
        other => panic!("expected 21000, got {other:?}"),
    }
    assert_eq!(
        run(
            &s,
            "SELECT CASE WHEN s.n = 1 THEN 0 ELSE (SELECT t.m FROM (VALUES (1), (2)) t(m) WHERE t.m >= s.n) END AS c \
             FROM (VALUES (1), (2)) s(n) ORDER BY 1"
        )
        .await
        .expect("the branch not taken never runs"),
        "columns: c\n0\n2\n"
    );
}

/// `statement_timeout` stops a statement whose subplans would run for minutes.
#[tokio::test]
async fn statement_timeout_stops_subplan_work() {
    let engine = demo_engine();
    let s = session(&engine);
    run(&s, "SET statement_timeout = '300ms'")
        .await
        .expect("set");
    let started = std::time::Instant::now();
    match run(
        &s,
        "SELECT sum((SELECT count(*) FROM generate_series(1, 100) x WHERE x < g)) FROM generate_series(1, 99000) g",
    )
    .await
    {
        Err(e) if matches!(innermost(&e), EngineError::QueryCanceled(_)) => {}
        other => panic!("expected 57014, got {other:?}"),
    }
    // The work stopped too: 99000 runs take far longer than this.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// The stage table read per outer row, over the snapshot the statement started with.
#[tokio::test]
async fn subplans_over_the_stage_table() {
    check(
        "subplan_stage_rows",
        "SELECT s.stage_name, (SELECT count(*) FROM aws.apigatewayv2_stage t WHERE t._key < s._key) AS before, \
         s.region IN (SELECT t.region FROM aws.apigatewayv2_stage t WHERE t.created_date > s.created_date) AS later_here \
         FROM aws.apigatewayv2_stage s ORDER BY s._key LIMIT 8",
    )
    .await;
}
