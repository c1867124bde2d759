//! A canned [`Backend`]: it plans nothing (no DataFusion), knows a handful of statement texts
//! (see [`Canned::plan`]) and records what it was asked to run, so a test can tell what the
//! protocol code did with a statement, not just what came back.

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
use stagesql_wire::{Backend, BackendSession, PreparedStatement};

/// What every canned session of one server was asked to do, in order.
#[derive(Debug, Default)]
pub struct Journal(Mutex<Vec<String>>);

impl Journal {
    fn push(&self, entry: String) {
        self.0.lock().expect("the journal lock").push(entry);
    }
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().expect("the journal lock").clone()
    }
}

#[derive(Debug)]
pub struct CannedBackend {
    pub journal: Arc<Journal>,
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
            report_due: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

/// One canned session.
#[derive(Debug)]
pub struct Canned {
    user: String,
    application: String,
    journal: Arc<Journal>,
    canceller: Arc<Canceller>,
    texts: Mutex<HashMap<String, Arc<Plan>>>,
    /// A `set` ran: `application_name` is reported before the next ReadyForQuery.
    report_due: std::sync::atomic::AtomicBool,
}

/// A canned "plan": the statement text it came from and what it describes.
#[derive(Debug, Clone)]
pub struct Plan {
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
pub fn canonical(text: &str) -> String {
    match text.to_ascii_lowercase().as_str() {
        "start transaction" | "begin" => "begin".to_owned(),
        "commit" | "end" => "commit".to_owned(),
        _ => text.to_owned(),
    }
}

pub fn int_schema(name: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(name, DataType::Int32, true)]))
}

pub fn ints(schema: &SchemaRef, values: Vec<i32>) -> RecordBatch {
    let column: ArrayRef = Arc::new(Int32Array::from(values));
    RecordBatch::try_new(Arc::clone(schema), vec![column]).expect("a batch of the schema")
}

pub fn rows(schema: SchemaRef, batches: Vec<Result<RecordBatch, DataFusionError>>) -> Output {
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
            "set" => {
                self.report_due
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Output::Command { tag: "SET" }
            }
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
    fn take_reports(&self) -> Vec<(String, String)> {
        if self
            .report_due
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            vec![("application_name".to_owned(), "changed".to_owned())]
        } else {
            Vec::new()
        }
    }
}
