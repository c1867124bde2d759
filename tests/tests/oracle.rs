//! PostgreSQL is the oracle: every query of the corpus (`tests/oracle/*.sql`) runs against our
//! server and against a throwaway PostgreSQL 15 holding exactly the same rows (copied out of
//! ours with COPY), through the simple protocol, the extended protocol, and the extended
//! protocol with its comparison literals sent as parameters. Rows (as multisets unless the
//! query orders them), column names, result types and SQLSTATEs must agree, unless the
//! difference is listed, with its reason, in `tests/oracle/known_differences.txt`; a listed
//! difference that no longer happens fails too, so the file only shrinks.
//!
//! `STAGESQL_ORACLE_WRITE=<file>` writes the observed differences in the file's format
//! (keeping the reasons already written) for review.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use futures::SinkExt;
use stagesql_tests::TestServer;
use stagesql_tests::oracle::{
    self, Answer, Case, Difference, Mode, Postgres, RawClient, compare, ordered, parameterize,
};

/// Copies every row of ours into PostgreSQL's table (in database `stagesql`).
async fn load(ours: &TestServer, pg: &Postgres) -> usize {
    let client = ours.client().await;
    let theirs = oracle::stage_database(
        pg,
        &client,
        "CREATE ROLE stagesql LOGIN SUPERUSER",
        "CREATE DATABASE stagesql OWNER stagesql",
    )
    .await;

    let out = client
        .copy_out("COPY (SELECT * FROM aws.apigatewayv2_stage) TO STDOUT")
        .await
        .expect("COPY out of ours");
    let sink = theirs
        .copy_in("COPY aws.apigatewayv2_stage FROM STDIN")
        .await
        .expect("COPY into PostgreSQL");
    futures::pin_mut!(out);
    futures::pin_mut!(sink);
    use futures::TryStreamExt;
    while let Some(chunk) = out.try_next().await.expect("COPY data") {
        sink.send(chunk).await.expect("send COPY data");
    }
    let n = sink.finish().await.expect("finish COPY") as usize;
    theirs
        .batch_execute("ANALYZE aws.apigatewayv2_stage")
        .await
        .expect("analyze");
    n
}

/// The hstore type's OID on one side (it is assigned when the extension is created).
async fn hstore_oid(client: &mut RawClient) -> u32 {
    let a = client.simple("SELECT 'hstore'::regtype::oid").await;
    a.rows
        .first()
        .and_then(|r| r[0].as_ref())
        .and_then(|v| v.parse().ok())
        .expect("hstore oid")
}

/// Replaces the side's hstore OID with one shared marker so the two sides compare.
fn with_hstore(mut a: Answer, oid: u32) -> Answer {
    for c in &mut a.columns {
        if c.1 == oid {
            c.1 = u32::MAX;
        }
    }
    a
}

async fn run(client: &mut RawClient, case_sql: &str, mode: Mode) -> Option<Answer> {
    Some(match mode {
        Mode::Simple => client.simple(case_sql).await,
        Mode::Extended => client.extended(case_sql, &[]).await,
        Mode::Params => {
            let (sql, params) = parameterize(case_sql)?;
            client.extended(&sql, &params).await
        }
    })
}

struct Observed {
    case: Case,
    mode: Mode,
    difference: Difference,
    ours: Answer,
    theirs: Answer,
}

fn show(a: &Answer) -> String {
    if let Some((code, msg)) = &a.error {
        return format!("ERROR {code}: {msg}");
    }
    let mut s = format!("{:?}", a.columns);
    for r in a.rows.iter().take(4) {
        let _ = write!(s, "\n      {r:?}");
    }
    if a.rows.len() > 4 {
        let _ = write!(s, "\n      ... {} rows", a.rows.len());
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_the_oracle() {
    assert!(
        Postgres::installed(),
        "PostgreSQL 15 server binaries are missing under {}; tests/run.sh installs them \
         (Debian postgresql and postgresql-contrib)",
        oracle::PG_BIN
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle");
    let cases = oracle::read_corpus(&root);
    assert!(
        cases.len() >= 400,
        "the corpus holds {} queries",
        cases.len()
    );
    let keys: BTreeSet<String> = cases.iter().map(Case::key).collect();
    assert_eq!(
        keys.len(),
        cases.len(),
        "a query appears twice in the corpus"
    );
    let known_path = root.join("known_differences.txt");
    let known = oracle::read_known(&known_path);

    let ours = TestServer::start().await;
    let pg = Postgres::start();
    let n = load(&ours, &pg).await;
    assert!(n > 0, "no rows copied");

    let mut a = RawClient::connect(ours.port(), "stagesql", "stagesql").await;
    let mut b = RawClient::connect(pg.port(), "stagesql", "stagesql").await;
    let (ours_hstore, theirs_hstore) = (hstore_oid(&mut a).await, hstore_oid(&mut b).await);

    let mut observed = Vec::new();
    // category -> (runs, agreeing runs, differences by kind)
    let mut totals: BTreeMap<String, (usize, usize, BTreeMap<Difference, usize>)> = BTreeMap::new();
    for case in &cases {
        let in_order = ordered(&case.sql);
        for mode in [Mode::Simple, Mode::Extended, Mode::Params] {
            let Some(x) = run(&mut a, &case.sql, mode).await else {
                continue;
            };
            let y = run(&mut b, &case.sql, mode).await.expect("same text");
            let (x, y) = (with_hstore(x, ours_hstore), with_hstore(y, theirs_hstore));
            let entry = totals.entry(case.category.clone()).or_default();
            entry.0 += 1;
            match compare(&x, &y, in_order) {
                None => entry.1 += 1,
                Some(d) => {
                    *entry.2.entry(d).or_default() += 1;
                    observed.push(Observed {
                        case: case.clone(),
                        mode,
                        difference: d,
                        ours: x,
                        theirs: y,
                    });
                }
            }
        }
    }

    // The report.
    let mut report = String::from("oracle: category, runs, agree, differences by kind\n");
    let mut all = (0, 0);
    for (cat, (runs, agree, diffs)) in &totals {
        all.0 += runs;
        all.1 += agree;
        let _ = writeln!(report, "  {cat:<12} {runs:>4} {agree:>4}  {diffs:?}");
    }
    let _ = writeln!(
        report,
        "  {} queries, {} runs, {} agree, {} differ",
        cases.len(),
        all.0,
        all.1,
        all.0 - all.1
    );
    println!("{report}");

    if let Ok(path) = std::env::var("STAGESQL_ORACLE_WRITE") {
        write_known(&path, &observed, &known);
    }

    // Every difference listed, every listed difference still there.
    let mut failures = String::new();
    let mut seen: BTreeSet<(String, Mode, Difference)> = BTreeSet::new();
    for o in &observed {
        let key = o.case.key();
        seen.insert((key.clone(), o.mode, o.difference));
        let listed = known.get(&key).map(Vec::as_slice).unwrap_or_default();
        match listed
            .iter()
            .find(|k| k.modes.contains(&o.mode) && k.difference == o.difference)
        {
            Some(_) => {}
            None => {
                let _ = writeln!(
                    failures,
                    "{} [{}] {} ({})\n    {}\n    ours:   {}\n    theirs: {}",
                    o.case.place,
                    o.mode.name(),
                    o.difference.name(),
                    if listed.is_empty() {
                        "not listed".to_owned()
                    } else {
                        let l: Vec<_> = listed
                            .iter()
                            .map(|k| format!("{} {:?}", k.difference.name(), k.modes))
                            .collect();
                        format!("listed as {}", l.join(", "))
                    },
                    oracle::normalize(&o.case.sql),
                    show(&o.ours),
                    show(&o.theirs),
                );
            }
        }
    }
    for (key, entries) in &known {
        if !keys.contains(key) {
            let _ = writeln!(failures, "listed but not in the corpus: {key}");
            continue;
        }
        for (k, mode) in entries
            .iter()
            .flat_map(|k| k.modes.iter().map(move |m| (k, m)))
        {
            let applies = *mode != Mode::Params || parameterize(key).is_some();
            if applies && !seen.contains(&(key.clone(), *mode, k.difference)) {
                let _ = writeln!(
                    failures,
                    "listed [{}] but now agrees with PostgreSQL (remove it): {key}",
                    mode.name()
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{report}\ndifferences from PostgreSQL (tests/oracle/known_differences.txt):\n{failures}"
    );
}

/// Writes the observed differences in the known-differences format, one entry per query,
/// keeping reasons already written.
fn write_known(path: &str, observed: &[Observed], known: &BTreeMap<String, Vec<oracle::Known>>) {
    let mut by_query: BTreeMap<(String, Difference), (Case, Vec<Mode>)> = BTreeMap::new();
    let mut order = Vec::new();
    for o in observed {
        let key = (o.case.key(), o.difference);
        let e = by_query.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            (o.case.clone(), Vec::new())
        });
        e.1.push(o.mode);
    }
    let mut out = String::new();
    for (key, d) in order {
        let (case, modes) = &by_query[&(key.clone(), d)];
        let d = &d;
        let reason = known
            .get(&key)
            .and_then(|ks| ks.iter().find(|k| k.difference == *d).or(ks.first()))
            .map(|k| k.reason.clone())
            .unwrap_or_else(|| "TODO".to_owned());
        let modes = if modes.len() == 3 {
            "all".to_owned()
        } else {
            modes.iter().map(|m| m.name()).collect::<Vec<_>>().join(" ")
        };
        let _ = writeln!(
            out,
            "# {}\nquery: {}\nmodes: {}\ndifference: {}\nreason: {}\n",
            case.place,
            key,
            modes,
            d.name(),
            reason
        );
    }
    std::fs::write(path, out).expect("write observed differences");
}
