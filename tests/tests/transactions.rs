//! Transaction blocks, with PostgreSQL as the oracle: each script runs on a fresh connection to
//! our server and to a throwaway PostgreSQL 15, step by step, and every reply must match:
//! the messages in order (tags, rows, SQLSTATEs and messages, ReadyForQuery's status), plus
//! the WARNINGs and ParameterStatus messages of each step (compared as sets: PostgreSQL sends a
//! WARNING while the statement runs, and we may send it earlier in a Query of several
//! statements).
//!
//! Two differences are left out of the comparison, neither about transactions. An error
//! PostgreSQL finds while planning (a constant `1/0` folded) comes before any BindComplete or
//! RowDescription, where ours may come after them, found while the rows are made: dropped
//! before an error, on both sides. And SHOW completes with the tag `SHOW` in PostgreSQL, with
//! `SHOW 1` in ours (pgwire gives every command that returns rows a row count).
//!
//! What the scripts hold: a failed block (25P02 for everything but COMMIT, ROLLBACK and
//! ROLLBACK TO SAVEPOINT, through the simple and the extended protocol, including a statement
//! prepared before the failure), savepoints, COMMIT of a failed block (answered ROLLBACK),
//! AND CHAIN, the WARNINGs outside and inside blocks, SET/SET LOCAL/set_config undone by
//! rollbacks and errors (also of the implicit transaction of one Query or one pipeline), and
//! cursors closed by rollbacks.

use std::time::Duration;

use stagesql_tests::TestServer;
use stagesql_tests::frames::{self, Backend};
use stagesql_tests::oracle::Postgres;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A script step:
/// - `Q sql`: a simple Query;
/// - `P sql ;; sql ...`: a pipeline, each statement as Parse, Bind, Describe (portal),
///   Execute, all then one Sync;
/// - `S name sql`: Parse of a named statement, then Sync;
/// - `X name`: Bind of the named statement, Describe (portal), Execute, Sync.
const SCRIPTS: &[&[&str]] = &[
    // A failed block, simple protocol.
    &[
        "Q BEGIN",
        "Q SELECT 1/0",
        "Q SELECT 1",
        "Q SHOW TimeZone",
        "Q SET TimeZone = 'Asia/Tokyo'",
        "Q BEGIN",
        "Q SAVEPOINT a",
        "Q RELEASE a",
        "Q SELECT no_such_column FROM no_such_table",
        "Q COMMIT",
        "Q SELECT 2",
    ],
    // A failed block, extended protocol: Parse, Bind and Execute are refused, a statement
    // prepared before the failure too; ROLLBACK through the extended protocol ends it.
    &[
        "S early SELECT 42",
        "P BEGIN ;; SELECT 1/0",
        "P SELECT 1",
        "X early",
        "P SHOW TimeZone",
        "P ROLLBACK",
        "X early",
    ],
    // Savepoints.
    &[
        "Q BEGIN",
        "Q SAVEPOINT a",
        "Q SELECT 1/0",
        "Q SELECT 2",
        "Q ROLLBACK TO a",
        "Q SELECT 3",
        "Q ROLLBACK TO b",
        "Q SELECT 4",
        "Q ROLLBACK TO SAVEPOINT a",
        "Q RELEASE a",
        "Q RELEASE a",
        "Q ROLLBACK",
        "Q BEGIN",
        "Q SAVEPOINT \"A\"",
        "Q RELEASE a",
        "Q ROLLBACK TO \"A\"",
        "Q SAVEPOINT a",
        "Q SAVEPOINT a",
        "Q RELEASE a",
        "Q RELEASE SAVEPOINT a",
        "Q RELEASE a",
        "Q ROLLBACK",
    ],
    // Outside a block: errors and WARNINGs.
    &[
        "Q SAVEPOINT a",
        "Q RELEASE a",
        "Q ROLLBACK TO a",
        "Q COMMIT",
        "Q ROLLBACK",
        "Q END",
        "Q ABORT",
        "Q COMMIT AND CHAIN",
        "Q ROLLBACK AND CHAIN",
        "Q BEGIN",
        "Q BEGIN",
        "Q START TRANSACTION",
        "Q END",
        "Q SAVEPOINT a; SELECT 1",
        "Q SELECT 1; DISCARD ALL",
        "Q BEGIN; DISCARD ALL",
        "Q ROLLBACK",
    ],
    // AND CHAIN, and COMMIT AND CHAIN of a failed block.
    &[
        "Q BEGIN",
        "Q COMMIT AND CHAIN",
        "Q SELECT 1",
        "Q SELECT 1/0",
        "Q COMMIT AND CHAIN",
        "Q SELECT 2",
        "Q ROLLBACK AND CHAIN",
        "Q ROLLBACK",
        "Q SELECT 3",
    ],
    // Settings undone by ROLLBACK, a failed block, ROLLBACK TO, and kept by COMMIT.
    &[
        "Q SHOW TimeZone",
        "Q BEGIN",
        "Q SET TimeZone = 'Asia/Tokyo'",
        "Q SHOW TimeZone",
        "Q ROLLBACK",
        "Q SHOW TimeZone",
        "Q BEGIN",
        "Q SET application_name = 'inside'",
        "Q SELECT 1/0",
        "Q COMMIT",
        "Q SHOW application_name",
        "Q BEGIN",
        "Q SET application_name = 'kept'",
        "Q SAVEPOINT s",
        "Q SET application_name = 'dropped'",
        "Q SELECT 1/0",
        "Q ROLLBACK TO s",
        "Q SHOW application_name",
        "Q COMMIT",
        "Q SHOW application_name",
        "Q BEGIN; SET TimeZone = 'Europe/Paris'; COMMIT",
        "Q SHOW TimeZone",
        "Q RESET TimeZone",
    ],
    // SET LOCAL and set_config(…, true).
    &[
        "Q BEGIN",
        "Q SET LOCAL TimeZone = 'Asia/Tokyo'",
        "Q SHOW TimeZone",
        "Q COMMIT",
        "Q SHOW TimeZone",
        "Q SET LOCAL TimeZone = 'Asia/Tokyo'",
        "Q SHOW TimeZone",
        "Q SET LOCAL TimeZone = 'Asia/Tokyo'; SHOW TimeZone",
        "Q SHOW TimeZone",
        "Q BEGIN",
        "Q SET LOCAL TimeZone = 'Asia/Tokyo'",
        "Q SET TimeZone = 'Europe/Paris'",
        "Q COMMIT",
        "Q SHOW TimeZone",
        "Q BEGIN",
        "Q SET TimeZone = 'America/Lima'",
        "Q SET LOCAL TimeZone = 'Asia/Tokyo'",
        "Q COMMIT",
        "Q SHOW TimeZone",
        "Q RESET TimeZone",
        "Q BEGIN",
        "Q SELECT set_config('TimeZone', 'Asia/Tokyo', true)",
        "Q SHOW TimeZone",
        "Q COMMIT",
        "Q SHOW TimeZone",
        "Q SELECT set_config('TimeZone', 'Asia/Tokyo', true), current_setting('TimeZone')",
        "Q SHOW TimeZone",
        "Q BEGIN",
        "Q SET LOCAL myapp.w = 'q'",
        "Q COMMIT",
        "Q SHOW myapp.w",
    ],
    // The implicit transaction of one Query and of one pipeline.
    &[
        "Q SET TimeZone = 'Asia/Tokyo'; SELECT 1/0",
        "Q SHOW TimeZone",
        "Q SET TimeZone = 'Asia/Tokyo'; ROLLBACK; SHOW TimeZone",
        "Q SET TimeZone = 'Asia/Tokyo'; COMMIT; SELECT 1/0",
        "Q SHOW TimeZone",
        "Q RESET TimeZone",
        "Q SELECT 1; BEGIN; SELECT 1/0",
        "Q SELECT 1",
        "Q ROLLBACK",
        "P SET application_name = 'piped' ;; SELECT 1/0",
        "Q SHOW application_name",
        "P SET application_name = 'piped' ;; SHOW application_name",
        "Q SHOW application_name",
        "P SET LOCAL TimeZone = 'Asia/Tokyo' ;; SHOW TimeZone",
        "Q SHOW TimeZone",
        "Q SELECT set_config('application_name', 'by function', false), 1/0",
        "Q SHOW application_name",
        "Q BEGIN; SET application_name = 'then rolled back'; ROLLBACK",
        "Q SHOW application_name",
    ],
    // Placeholders (`myapp.x`) stay defined, empty, once made.
    &[
        "Q BEGIN",
        "Q SET myapp.x = 'a'",
        "Q ROLLBACK",
        "Q SHOW myapp.x",
        "Q SET myapp.y = 'a'",
        "Q BEGIN",
        "Q SET myapp.y = 'b'",
        "Q ROLLBACK",
        "Q SHOW myapp.y",
        "Q RESET myapp.y",
        "Q SHOW myapp.y",
    ],
    // Cursors: closed by ROLLBACK (WITH HOLD ones declared in the block too) and ROLLBACK TO;
    // a failed block refuses FETCH.
    &[
        "Q BEGIN",
        "Q DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "Q ROLLBACK",
        "Q FETCH c",
        "Q BEGIN",
        "Q DECLARE c CURSOR FOR SELECT 1",
        "Q SAVEPOINT s",
        "Q DECLARE d CURSOR FOR SELECT 2",
        "Q ROLLBACK TO s",
        "Q FETCH d",
        "Q ROLLBACK TO s",
        "Q FETCH c",
        "Q SELECT 1/0",
        "Q FETCH c",
        "Q ROLLBACK",
        "Q BEGIN",
        "Q DECLARE h CURSOR WITH HOLD FOR SELECT 3",
        "Q COMMIT",
        "Q FETCH h",
        "Q CLOSE h",
    ],
];

const WAIT: Duration = Duration::from_secs(30);

/// Logs in to `port` as `user` on `dbname` (trust authentication).
async fn connect(port: u16, user: &str, dbname: &str) -> TcpStream {
    frames::login(
        port,
        &["user", user, "database", dbname, "DateStyle", "ISO, MDY"],
        WAIT,
    )
    .await
}

/// The bytes of one step.
fn step_bytes(step: &str) -> Vec<u8> {
    let (kind, rest) = step.split_at(2);
    match kind.trim() {
        "Q" => frames::query(rest),
        "P" => {
            let mut bytes = Vec::new();
            for sql in rest.split(";;") {
                bytes.extend(frames::parse("", sql.trim(), &[]));
                bytes.extend(frames::bind("", &[], &[], &[]));
                bytes.extend(frames::describe(b'P', ""));
                bytes.extend(frames::execute(0));
            }
            bytes.extend(frames::sync());
            bytes
        }
        "S" => {
            let (name, sql) = rest.split_once(' ').expect("S name sql");
            let mut bytes = frames::parse(name, sql, &[]);
            bytes.extend(frames::sync());
            bytes
        }
        "X" => {
            let mut bytes = frames::bind_portal("", rest, &[], &[], &[]);
            bytes.extend(frames::describe(b'P', ""));
            bytes.extend(frames::execute(0));
            bytes.extend(frames::sync());
            bytes
        }
        other => panic!("unknown step kind {other:?} in {step:?}"),
    }
}

fn cstrings(body: &[u8]) -> Vec<String> {
    body.split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// A reply as compared: its messages in order, then its WARNINGs and ParameterStatus
/// messages sorted.
fn transcript(reply: &[Backend]) -> Vec<String> {
    let mut ordered = Vec::new();
    let mut aside = Vec::new();
    for m in reply {
        let kind = m.kind as char;
        match m.kind {
            b'C' => {
                let tag = m.tag().unwrap_or_default();
                let tag = if tag.starts_with("SHOW ") {
                    "SHOW".to_owned()
                } else {
                    tag
                };
                ordered.push(format!("C {tag}"));
            }
            b'E' => {
                while ordered
                    .last()
                    .is_some_and(|l: &String| l == "2" || l.starts_with("T "))
                {
                    ordered.pop();
                }
                ordered.push(format!(
                    "E {} {}",
                    m.sqlstate().unwrap_or_default(),
                    m.field(b'M').unwrap_or_default()
                ));
            }
            b'N' => aside.push(format!(
                "N {} {} {}",
                m.field(b'S').unwrap_or_default(),
                m.field(b'C').unwrap_or_default(),
                m.field(b'M').unwrap_or_default()
            )),
            b'S' => aside.push(format!("S {}", cstrings(&m.body)[..2].join("="))),
            b'Z' => ordered.push(format!("Z {}", String::from_utf8_lossy(&m.body))),
            b'T' => {
                // The column names: each a C string followed by 18 bytes of attributes.
                let mut names = Vec::new();
                let mut at = 2;
                let n = i16::from_be_bytes([m.body[0], m.body[1]]);
                for _ in 0..n {
                    let end = at + m.body[at..].iter().position(|b| *b == 0).expect("name");
                    names.push(String::from_utf8_lossy(&m.body[at..end]).into_owned());
                    at = end + 1 + 18;
                }
                ordered.push(format!("T {}", names.join(",")));
            }
            b'D' => {
                let mut values = Vec::new();
                let mut at = 2;
                let n = i16::from_be_bytes([m.body[0], m.body[1]]);
                for _ in 0..n {
                    let len = i32::from_be_bytes([
                        m.body[at],
                        m.body[at + 1],
                        m.body[at + 2],
                        m.body[at + 3],
                    ]);
                    at += 4;
                    if len < 0 {
                        values.push("NULL".to_owned());
                    } else {
                        let len = len as usize;
                        values.push(String::from_utf8_lossy(&m.body[at..at + len]).into_owned());
                        at += len;
                    }
                }
                ordered.push(format!("D {}", values.join("|")));
            }
            _ => ordered.push(kind.to_string()),
        }
    }
    aside.sort();
    ordered.extend(aside);
    ordered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_blocks_answer_as_postgresql_does() {
    assert!(
        Postgres::installed(),
        "PostgreSQL 15 is missing; tests/run.sh installs it"
    );
    let ours = TestServer::start().await;
    let pg = Postgres::start();
    let mut failures = String::new();
    let mut steps = 0;
    for script in SCRIPTS {
        let mut a = connect(ours.port(), "stagesql", "stagesql").await;
        let mut b = connect(pg.port(), "postgres", "postgres").await;
        for step in *script {
            let bytes = step_bytes(step);
            a.write_all(&bytes).await.expect("send to ours");
            b.write_all(&bytes).await.expect("send to PostgreSQL");
            let x = transcript(&frames::read_until_ready(&mut a, WAIT).await);
            let y = transcript(&frames::read_until_ready(&mut b, WAIT).await);
            steps += 1;
            if x != y {
                failures.push_str(&format!(
                    "\n{step}\n  ours:       {x:?}\n  PostgreSQL: {y:?}\n"
                ));
            }
        }
    }
    println!("transactions: {} scripts, {steps} steps", SCRIPTS.len());
    assert!(
        failures.is_empty(),
        "replies differ from PostgreSQL's:{failures}"
    );
}
