//! The wire protocol tested on its own: the server's real accept loop, startup, handlers and
//! encoders, in front of a canned [`Backend`] that plans nothing (no DataFusion), spoken to
//! by a real client (tokio-postgres) and, where a client hides the messages, by raw bytes.
//!
//! The canned session knows a handful of statement texts (see [`Canned::plan`]) and records
//! what it was asked to run, so a test can tell what the protocol code did with a statement,
//! not just what came back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use stagesql_engine::values::IntervalStyle;
use stagesql_engine::{Canceller, CopyFormat, CopyOptions, EngineError, Output};
use stagesql_wire::{
    AuthMethod, Backend, BackendSession, Credentials, InboundLimits, InputBudget,
    PreparedStatement, Shared, Users, WireConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// What every canned session of one server was asked to do, in order.
#[derive(Debug, Default)]
struct Journal(Mutex<Vec<String>>);

impl Journal {
    fn push(&self, entry: String) {
        self.0.lock().expect("the journal lock").push(entry);
    }
    fn entries(&self) -> Vec<String> {
        self.0.lock().expect("the journal lock").clone()
    }
}

#[derive(Debug)]
struct CannedBackend {
    journal: Arc<Journal>,
}

impl Backend for CannedBackend {
    type Session = Canned;

    fn database(&self) -> &str {
        "mockdb"
    }

    fn open_session(&self, user: &str, startup: &[(&str, &str)]) -> Result<Canned, EngineError> {
        if user == "nobody" {
            return Err(EngineError::UnknownRole(user.to_owned()));
        }
        let application = startup
            .iter()
            .find(|(k, _)| *k == "application_name")
            .map_or(String::new(), |(_, v)| (*v).to_owned());
        Ok(Canned {
            user: user.to_owned(),
            application,
            journal: Arc::clone(&self.journal),
            canceller: Arc::new(Canceller::default()),
            texts: Mutex::new(HashMap::new()),
        })
    }
}

/// One canned session.
#[derive(Debug)]
struct Canned {
    user: String,
    application: String,
    journal: Arc<Journal>,
    canceller: Arc<Canceller>,
    texts: Mutex<HashMap<String, Arc<Plan>>>,
}

/// A canned "plan": the statement text it came from and what it describes.
#[derive(Debug, Clone)]
struct Plan {
    text: String,
    params: Vec<Option<DataType>>,
    schema: Option<SchemaRef>,
}

impl PreparedStatement for Plan {
    fn param_types(&self) -> &[Option<DataType>] {
        &self.params
    }
    fn schema(&self) -> Option<&SchemaRef> {
        self.schema.as_ref()
    }
    fn row_tag(&self) -> &'static str {
        if self.text.starts_with("show") {
            "SHOW"
        } else {
            "SELECT"
        }
    }
}

/// The statement as the canned session reads it: the transaction commands clients send
/// spelled as the canned words.
fn canonical(text: &str) -> String {
    match text.to_ascii_lowercase().as_str() {
        "start transaction" | "begin" => "begin".to_owned(),
        "commit" | "end" => "commit".to_owned(),
        _ => text.to_owned(),
    }
}

fn int_schema(name: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(name, DataType::Int32, true)]))
}

fn ints(schema: &SchemaRef, values: Vec<i32>) -> RecordBatch {
    let column: ArrayRef = Arc::new(Int32Array::from(values));
    RecordBatch::try_new(Arc::clone(schema), vec![column]).expect("a batch of the schema")
}

fn rows(schema: SchemaRef, batches: Vec<Result<RecordBatch, DataFusionError>>) -> Output {
    let stream = RecordBatchStreamAdapter::new(Arc::clone(&schema), futures::stream::iter(batches));
    Output::Rows {
        schema,
        stream: Box::pin(stream),
    }
}

impl Canned {
    /// The statements this session knows:
    /// - `count N`: one int column `n`, rows 1..=N, in batches of 3;
    /// - `echo $1`: the integer parameter back, as column `x`;
    /// - `fail`: planning fails with 42P01;
    /// - `break`: two rows, then the stream fails with 22012;
    /// - `wait`: no rows until the statement is cancelled (then 57014);
    /// - `set`, `begin`, `commit`, `show app`, `copy`: their command outputs.
    fn plan(text: &str) -> Result<Plan, EngineError> {
        let text = canonical(text);
        let (params, schema) = match text.split_whitespace().next().unwrap_or("") {
            "count" | "break" | "wait" => (vec![], Some(int_schema("n"))),
            "echo" => (vec![Some(DataType::Int32)], Some(int_schema("x"))),
            "show" => (
                vec![],
                Some(Arc::new(Schema::new(vec![Field::new(
                    "application_name",
                    DataType::Utf8,
                    true,
                )]))),
            ),
            "copy" | "set" | "begin" | "commit" => (vec![], None),
            _ => return Err(EngineError::UndefinedRelation(text.to_owned())),
        };
        Ok(Plan {
            text,
            params,
            schema,
        })
    }
}

#[async_trait]
impl BackendSession for Canned {
    type Parsed = String;
    type Statement = Plan;

    fn user(&self) -> &str {
        &self.user
    }
    fn reported_settings(&self) -> Vec<(String, String)> {
        vec![
            ("server_version".to_owned(), "15.0".to_owned()),
            ("application_name".to_owned(), self.application.clone()),
        ]
    }
    fn set_backend_pid(&self, _pid: i32) {}
    fn canceller(&self) -> Arc<Canceller> {
        Arc::clone(&self.canceller)
    }
    fn timeout_setting(&self, _name: &str) -> Option<Duration> {
        None
    }
    fn interval_style(&self) -> IntervalStyle {
        IntervalStyle::Postgres
    }
    fn cached_text(&self, sql: &str) -> Option<Arc<Plan>> {
        self.texts
            .lock()
            .expect("the journal lock")
            .get(sql)
            .cloned()
    }
    fn remember_text(&self, sql: &str, statement: &Plan) {
        self.texts
            .lock()
            .expect("the server answers")
            .insert(sql.to_owned(), Arc::new(statement.clone()));
    }
    fn parse(&self, sql: &str) -> Result<Vec<String>, EngineError> {
        if sql.contains("syntax!") {
            return Err(EngineError::Syntax("at or near \"!\"".to_owned()));
        }
        Ok(sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }
    async fn prepare(&self, parsed: String) -> Result<Plan, EngineError> {
        self.journal.push(format!("prepare {parsed}"));
        Canned::plan(&parsed)
    }
    async fn execute(&self, plan: &Plan, params: Vec<ScalarValue>) -> Result<Output, EngineError> {
        self.journal.push(format!("execute {}", plan.text));
        let mut words = plan.text.split_whitespace();
        Ok(match words.next().unwrap_or("") {
            "count" => {
                let n: i32 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let schema = int_schema("n");
                let values: Vec<i32> = (1..=n).collect();
                let batches = values
                    .chunks(3)
                    .map(|c| Ok(ints(&schema, c.to_vec())))
                    .collect();
                rows(schema, batches)
            }
            "echo" => {
                let schema = int_schema("x");
                let value = match params.first() {
                    Some(ScalarValue::Int32(v)) => *v,
                    other => panic!("echo bound {other:?}"),
                };
                let column: ArrayRef = Arc::new(Int32Array::from(vec![value]));
                let batch = RecordBatch::try_new(Arc::clone(&schema), vec![column])
                    .expect("a batch of the schema");
                rows(schema, vec![Ok(batch)])
            }
            "break" => {
                let schema = int_schema("n");
                let failure = DataFusionError::External(Box::new(EngineError::InvalidArgument(
                    "division by zero".to_owned(),
                )));
                rows(
                    Arc::clone(&schema),
                    vec![Ok(ints(&schema, vec![1, 2])), Err(failure)],
                )
            }
            "wait" => {
                let schema = int_schema("n");
                let token = self.canceller.current();
                let stream = futures::stream::once(async move {
                    token.cancelled().await;
                    Err(DataFusionError::External(Box::new(
                        EngineError::QueryCanceled(
                            "canceling statement due to user request".to_owned(),
                        ),
                    )))
                });
                Output::Rows {
                    schema: Arc::clone(&schema),
                    stream: Box::pin(RecordBatchStreamAdapter::new(schema, stream.boxed())),
                }
            }
            "show" => {
                let schema = plan.schema.clone().expect("the server answers");
                let column: ArrayRef = Arc::new(StringArray::from(vec![self.application.clone()]));
                let batch = RecordBatch::try_new(Arc::clone(&schema), vec![column])
                    .expect("a batch of the schema");
                rows(schema, vec![Ok(batch)])
            }
            "set" => Output::Command {
                tag: "SET",
                reports: vec![("application_name".to_owned(), "changed".to_owned())],
            },
            "begin" => Output::Begin("BEGIN"),
            "commit" => Output::End("COMMIT"),
            "copy" => {
                let schema = int_schema("n");
                let batches = vec![Ok(ints(&schema, vec![1, 2])), Ok(ints(&schema, vec![3]))];
                let stream = RecordBatchStreamAdapter::new(
                    Arc::clone(&schema),
                    futures::stream::iter(batches),
                );
                Output::CopyOut {
                    schema,
                    stream: Box::pin(stream),
                    options: CopyOptions {
                        format: CopyFormat::Text,
                        delimiter: '\t',
                        null: "\\N".to_owned(),
                        header: false,
                        quote: '"',
                        escape: '"',
                    },
                }
            }
            other => panic!("executed a statement that never planned: {other}"),
        })
    }
    async fn cursor_schema(&self, _name: &str) -> Option<SchemaRef> {
        None
    }
}

/// A server on a free port in front of a canned backend; it stops when dropped.
struct Server {
    port: u16,
    journal: Arc<Journal>,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Server {
    async fn start() -> Server {
        let journal = Arc::new(Journal::default());
        let backend = Arc::new(CannedBackend {
            journal: Arc::clone(&journal),
        });
        let shared = Shared::new(
            backend,
            WireConfig {
                auth_failure_delay: Duration::from_millis(10),
                max_connections: 8,
                startup_timeout: Duration::from_secs(10),
                inbound: InboundLimits {
                    max_message: 1024 * 1024,
                    budget: InputBudget::new(16 * 1024 * 1024),
                },
            },
            Credentials {
                users: Arc::new(Users::new(
                    AuthMethod::Trust,
                    vec![("alice".to_owned(), None), ("nobody".to_owned(), None)],
                )),
                tls: None,
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the server listens");
        let port = listener.local_addr().expect("a bound port").port();
        let stop = CancellationToken::new();
        tokio::spawn(stagesql_wire::serve(
            listener,
            shared,
            stop.clone(),
            Duration::from_secs(1),
        ));
        Server {
            port,
            journal,
            stop,
        }
    }

    async fn client(
        &self,
        user: &str,
        dbname: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let config = format!(
            "host=127.0.0.1 port={} user={user} dbname={dbname} application_name=canned-test",
            self.port
        );
        let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// A raw connection, logged in as alice and ready for a query.
    async fn logged_in(&self) -> TcpStream {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("the server answers");
        stream
            .write_all(&startup("alice", "mockdb"))
            .await
            .expect("the server reads");
        read_until_ready(&mut stream).await;
        stream
    }

    async fn connect(&self) -> tokio_postgres::Client {
        self.client("alice", "mockdb")
            .await
            .expect("the server answers")
    }
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

fn first_values(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect()
}

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
async fn a_set_reports_the_changed_parameter_before_its_completion() {
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
    let status = find(&reply, b"application_name\0changed\0").expect("a ParameterStatus");
    let complete = find(&reply, b"SET\0").expect("CommandComplete SET");
    assert!(status < complete);
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

// Raw protocol helpers.

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(
        i32::try_from(body.len() + 4)
            .expect("a small length")
            .to_be_bytes(),
    );
    out.extend(body);
    out
}

/// Parse of the unnamed statement, no declared types.
fn parse(sql: &str) -> Vec<u8> {
    message(
        b'P',
        &[format!("\0{sql}\0").as_bytes(), &0i16.to_be_bytes()].concat(),
    )
}

/// Execute of the unnamed portal.
fn execute(max_rows: i32) -> Vec<u8> {
    message(b'E', &[&b"\0"[..], &max_rows.to_be_bytes()].concat())
}

fn query(sql: &str) -> Vec<u8> {
    message(b'Q', format!("{sql}\0").as_bytes())
}

fn startup(user: &str, database: &str) -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    body.extend(format!("user\0{user}\0database\0{database}\0\0").as_bytes());
    let mut out = i32::try_from(body.len() + 4)
        .expect("the server answers")
        .to_be_bytes()
        .to_vec();
    out.extend(body);
    out
}

/// Reads messages until a ReadyForQuery; returns every byte read.
async fn read_until_ready(stream: &mut TcpStream) -> Vec<u8> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if reply_types(&reply).last() == Some(&b'Z') {
            return reply;
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("a ReadyForQuery within 10 s")
            .expect("the server answers");
        assert!(n > 0, "the server closed the connection: {reply:?}");
        reply.extend(&buf[..n]);
    }
}

/// The types of the whole messages in `reply`.
fn reply_types(reply: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut at = 0;
    while at + 5 <= reply.len() {
        let len = i32::from_be_bytes(reply[at + 1..at + 5].try_into().expect("four bytes"));
        let end = at + 1 + usize::try_from(len).expect("a small length");
        if end > reply.len() {
            break;
        }
        types.push(reply[at]);
        at = end;
    }
    types
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
