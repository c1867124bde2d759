//! psql 15, 16, 17 and 18 against our server and against a real PostgreSQL 15 holding the
//! same table (same columns, key, comments, owner and database): every describe and list
//! command below must print exactly what it prints there. Each psql version sends its own
//! catalog queries (psql 18's `\d` footer calls `pg_partition_ancestors()`, its `\dx` joins
//! `pg_available_extensions()`), so each is run. psql 16–18 are installed by the test command
//! (`tests/clients/psql/install_psql.py`) into `STAGESQL_PSQL_VERSIONS`.

use std::path::PathBuf;
use std::process::Output;

use stagesql_tests::TestServer;
use stagesql_tests::oracle::{self, Postgres};

/// Compared with PostgreSQL, for every psql version.
const COMMANDS: &[&str] = &[
    "\\d aws.apigatewayv2_stage",
    "\\d+ aws.apigatewayv2_stage",
    "\\d aws.apigatewayv2_stage_pkey",
    "\\dt aws.*",
    "\\dt",
    "\\di aws.*",
    "\\dn",
    "\\dn+",
    "\\l stagesql",
    "\\du stagesql",
    "\\dx",
    "\\dp aws.*",
    "\\z aws.*",
    "\\dv",
    "\\dm",
    "\\ds",
    "\\dE",
    "\\des",
    "\\dew",
    "\\dy",
    "\\dO",
    "\\dX",
    "\\dA",
    "\\dc",
    "\\dD",
    "\\dRp",
    "\\dconfig application_name",
    "\\drds",
];

/// Commands whose output still differs from PostgreSQL's, with the reason. They must differ
/// (for every version), so a fixed one fails until it moves to [`COMMANDS`].
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "\\df",
        "pg_proc holds hstore's I/O functions only, not the extension's other functions",
    ),
    ("\\dT", "pg_type lacks hstore's ghstore"),
    ("\\do", "pg_operator lacks hstore's operators"),
    ("\\dC", "pg_cast lacks hstore's casts"),
    ("\\dAc", "pg_opclass lacks hstore's operator classes"),
    (
        "\\dx+ hstore",
        "pg_depend does not list the extension's objects",
    ),
    ("\\dF", "no text search configuration exists here"),
    (
        "\\dL",
        "plpgsql's owner is OID 10, the configured user here, and its comment is not in pg_description",
    ),
    ("\\dd", "pg_opfamily is not served"),
    ("\\dRs", "pg_subscription is not served"),
    (
        "\\db",
        "OID 10 is the configured user here, PostgreSQL's bootstrap superuser there",
    ),
    (
        "\\du",
        "PostgreSQL's bootstrap superuser does not exist here",
    ),
    ("\\dt+ aws.*", "the table's size is 0 bytes here"),
];

fn versions_dir() -> PathBuf {
    std::env::var_os("STAGESQL_PSQL_VERSIONS").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/stagesql/psql"),
        PathBuf::from,
    )
}

/// `(version, program)`: the system's psql 15 and the installed 16–18.
fn psqls() -> Vec<(&'static str, PathBuf)> {
    let mut out = vec![("15", PathBuf::from("psql"))];
    for v in ["16", "17", "18"] {
        let p = versions_dir().join(v).join("psql");
        assert!(
            p.exists(),
            "{} is missing; the test command (tests/run.sh) installs psql {v}",
            p.display()
        );
        out.push((v, p));
    }
    out
}

async fn run(psql: &PathBuf, conn: &str, command: &str) -> String {
    let out: Output = tokio::process::Command::new(psql)
        .arg(conn)
        .args(["-X", "-c", command])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", psql.display()));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// PostgreSQL set up as our server describes itself: role `stagesql` (a login, not a
/// superuser) owning database `stagesql` (UTF8, C.UTF-8), the table in schema `aws` with
/// our comments.
async fn postgres_like(ours: &TestServer) -> Postgres {
    let pg = Postgres::start();
    oracle::stage_database(
        &pg,
        &ours.client().await,
        "CREATE ROLE stagesql LOGIN",
        "CREATE DATABASE stagesql OWNER stagesql TEMPLATE template0 ENCODING 'UTF8' \
         LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'",
    )
    .await;
    pg
}

#[tokio::test]
async fn every_psql_from_15_to_18_describes_as_postgres_does() {
    assert!(
        Postgres::installed(),
        "PostgreSQL 15 is missing; the test command installs postgresql-15"
    );
    let server = TestServer::start().await;
    let pg = postgres_like(&server).await;
    let ours = server.conn_str();
    let theirs = format!(
        "host=127.0.0.1 port={} user=stagesql dbname=stagesql",
        pg.port()
    );
    let mut differences = Vec::new();
    let mut compared = 0;
    for (version, psql) in psqls() {
        for command in COMMANDS {
            let (a, b) = (
                run(&psql, &ours, command).await,
                run(&psql, &theirs, command).await,
            );
            assert!(
                !b.contains("ERROR"),
                "psql {version} {command} fails on PostgreSQL itself:\n{b}"
            );
            compared += 1;
            if a != b {
                differences.push(format!(
                    "psql {version}: {command}\n--- PostgreSQL\n{b}--- stagesql\n{a}"
                ));
            }
        }
        for (command, why) in KNOWN_DIFFERENCES {
            let (a, b) = (
                run(&psql, &ours, command).await,
                run(&psql, &theirs, command).await,
            );
            if a == b {
                differences.push(format!(
                    "psql {version}: {command} now prints what PostgreSQL prints; move it from \
                     KNOWN_DIFFERENCES ({why}) to COMMANDS"
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {compared} outputs differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    assert_eq!(compared, 4 * COMMANDS.len());
    server.stop().await;
}
