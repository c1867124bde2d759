//! The one place errors become SQLSTATE codes.
//!
//! Everything a handler can fail with is a [`WireError`] (which wraps the engine's errors);
//! [`to_pg_error`] picks the SQLSTATE, writes the client-facing message, and logs at a level that
//! fits: client mistakes at debug, server faults at error with their detail, which never reaches
//! the client.

use datafusion::arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::response::NoticeResponse;
use stagesql_engine::{EngineError, Warning};

use crate::encode::EncodeError;

/// Everything the wire handlers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The client broke the protocol (bad format codes, wrong counts, ...).
    #[error("{0}")]
    Protocol(String),
    /// A text parameter does not parse as its type.
    #[error("{reason}")]
    InvalidText {
        /// 1-based parameter number.
        index: usize,
        /// PostgreSQL-style message.
        reason: String,
    },
    /// A binary parameter has the wrong length or form for its type.
    #[error("incorrect binary data format in bind parameter {index}")]
    InvalidBinary {
        /// 1-based parameter number.
        index: usize,
        /// The parameter's type.
        type_name: String,
    },
    /// Binary input for a type we only take as text.
    #[error("binary format is not supported for parameter {index} of type {type_name}")]
    UnsupportedBinaryParameter {
        /// 1-based parameter number.
        index: usize,
        /// The parameter's type.
        type_name: String,
    },
    /// Input that is not UTF-8; the offending bytes as PostgreSQL prints them (`0xc3 0x28`).
    #[error("invalid byte sequence for encoding \"UTF8\": {0}")]
    BadEncoding(String),
    /// A startup packet value that is not UTF-8; the connection ends.
    #[error("invalid byte sequence for encoding \"UTF8\": {0}")]
    BadStartupEncoding(String),
    /// A startup packet whose parameter list is not NUL-terminated pairs and a terminator.
    #[error("{0}")]
    StartupLayout(String),
    /// A message declaring a length below 4 or above what the connection may send.
    #[error("invalid message length {declared} (at most {limit} bytes)")]
    MessageLength {
        /// The length the message declared.
        declared: i64,
        /// The limit for this connection (before login, PostgreSQL's 10,000 bytes).
        limit: usize,
    },
    /// Large messages in flight on all connections together hold the whole input budget.
    #[error("out of memory: no room for a {declared}-byte message (limits.input_buffer_total_mb)")]
    InputBudgetSpent {
        /// The length the message declared.
        declared: usize,
    },
    /// An Execute for a portal that does not exist.
    #[error("portal \"{0}\" does not exist")]
    UnknownPortal(String),
    /// A message type that is not valid at this point of the session (e.g. a password
    /// message after login).
    #[error("invalid frontend message type {0}")]
    UnexpectedMessage(u8),
    /// A Parse message with more than one statement.
    #[error("cannot insert multiple commands into a prepared statement")]
    MultipleStatements,
    /// A startup packet without a user.
    #[error("no PostgreSQL user name specified in startup packet")]
    NoUser,
    /// The database asked for does not exist.
    #[error("database \"{0}\" does not exist")]
    UnknownDatabase(String),
    /// The user asked for does not exist.
    #[error("role \"{0}\" does not exist")]
    UnknownUser(String),
    /// TLS is required and the client connected without it.
    #[error(
        "this server accepts only TLS connections; connect with sslmode=require (or verify-full)"
    )]
    TlsRequired,
    /// A wrong password, or a user that does not exist (the same message for both).
    #[error("password authentication failed for user \"{0}\"")]
    AuthenticationFailed(String),
    /// The client broke the authentication exchange (a malformed SCRAM message, a message
    /// that is not the one expected).
    #[error("{0}")]
    AuthProtocol(String),
    /// Bytes that do not frame or decode as a protocol message; the connection ends.
    #[error("invalid frontend message: {0}")]
    MalformedMessage(String),
    /// The session sat in an open transaction past `idle_in_transaction_session_timeout`.
    #[error("terminating connection due to idle-in-transaction timeout")]
    IdleInTransactionTimeout,
    /// The session sat idle past `idle_session_timeout`.
    #[error("terminating connection due to idle-session timeout")]
    IdleSessionTimeout,
    /// The server is shutting down.
    #[error("terminating connection due to administrator command")]
    AdminShutdown,
    /// Every `max_connections` slot is taken.
    #[error("sorry, too many clients already")]
    TooManyConnections,
    /// A value could not be encoded (a server fault).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Planning or execution failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<DataFusionError> for WireError {
    fn from(e: DataFusionError) -> Self {
        WireError::Engine(EngineError::DataFusion(e))
    }
}

/// Severity and code of a mapped error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// `ERROR` or `FATAL`.
    pub severity: &'static str,
    /// SQLSTATE.
    pub code: &'static str,
    /// What the client sees.
    pub message: String,
}

const INTERNAL_MESSAGE: &str = "internal error; see the server log";

/// Maps an error to severity, SQLSTATE and client message.
pub fn classify(err: &WireError) -> Classified {
    let (code, message) = match err {
        WireError::Protocol(m) => ("08P01", m.clone()),
        WireError::InvalidText { .. } => ("22P02", err.to_string()),
        WireError::InvalidBinary { .. } => ("22P03", err.to_string()),
        WireError::UnsupportedBinaryParameter { .. } => ("0A000", err.to_string()),
        WireError::BadEncoding(_) | WireError::BadStartupEncoding(_) => ("22021", err.to_string()),
        WireError::StartupLayout(_)
        | WireError::MessageLength { .. }
        | WireError::UnexpectedMessage(_) => ("08P01", err.to_string()),
        WireError::InputBudgetSpent { .. } => ("53200", err.to_string()),
        WireError::UnknownPortal(_) => ("34000", err.to_string()),
        WireError::MultipleStatements => ("42601", err.to_string()),
        WireError::NoUser => ("28000", err.to_string()),
        WireError::TooManyConnections => ("53300", err.to_string()),
        WireError::TlsRequired => ("28000", err.to_string()),
        WireError::AuthenticationFailed(_) => ("28P01", err.to_string()),
        WireError::AuthProtocol(m) => ("08P01", m.clone()),
        WireError::MalformedMessage(_) => ("08P01", err.to_string()),
        WireError::IdleInTransactionTimeout => ("25P03", err.to_string()),
        WireError::IdleSessionTimeout => ("57P05", err.to_string()),
        WireError::AdminShutdown => ("57P01", err.to_string()),
        WireError::UnknownDatabase(_) => ("3D000", err.to_string()),
        WireError::UnknownUser(_) => ("28000", err.to_string()),
        WireError::Encode(_) => ("XX000", INTERNAL_MESSAGE.to_owned()),
        WireError::Engine(e) => classify_engine(e),
    };
    let severity = match err {
        WireError::NoUser
        | WireError::UnknownDatabase(_)
        | WireError::UnknownUser(_)
        | WireError::TooManyConnections
        | WireError::TlsRequired
        | WireError::AuthenticationFailed(_)
        | WireError::AuthProtocol(_)
        | WireError::MalformedMessage(_)
        | WireError::IdleInTransactionTimeout
        | WireError::IdleSessionTimeout
        | WireError::AdminShutdown
        | WireError::BadStartupEncoding(_)
        | WireError::StartupLayout(_)
        | WireError::MessageLength { .. }
        | WireError::InputBudgetSpent { .. }
        | WireError::UnexpectedMessage(_) => "FATAL",
        _ => "ERROR",
    };
    Classified {
        severity,
        code,
        message,
    }
}

fn classify_engine(e: &EngineError) -> (&'static str, String) {
    let code = match e {
        EngineError::Syntax(_) => "42601",
        EngineError::ReadOnly { .. } => "25006",
        EngineError::Unsupported(_) => "0A000",
        EngineError::UnknownSetting(_) => "42704",
        EngineError::ReadOnlySetting(_) => "55P02",
        EngineError::InvalidSettingValue { .. } => "22023",
        EngineError::PermissionDenied(_) => "42501",
        EngineError::UnknownRole(_) => "22023",
        EngineError::ParameterCount { .. } => "08P01",
        EngineError::UndefinedParameter(_) => "42P02",
        EngineError::ParameterValue { .. } => "22P02",
        EngineError::CatalogLoading { .. } => "57P03",
        EngineError::UndefinedRelation(_) => "42P01",
        EngineError::UndefinedSchema(_) => "3F000",
        EngineError::UndefinedObject(_) => "42704",
        EngineError::UndefinedFunction(_) => "42883",
        EngineError::UndefinedCursor(_) => "34000",
        EngineError::AmbiguousColumn(_) => "42702",
        EngineError::DuplicateObject(_) => "42P03",
        EngineError::NoActiveTransaction(_) => "25P01",
        EngineError::UndefinedSavepoint(_) => "3B001",
        EngineError::InFailedTransaction => "25P02",
        EngineError::ActiveTransaction(_) => "25001",
        EngineError::QueryCanceled(_) => "57014",
        EngineError::TooComplex(_) => "54001",
        EngineError::CardinalityViolation(_) => "21000",
        EngineError::NumericOutOfRange(_) => "22003",
        EngineError::NullValueNotAllowed(_) => "22004",
        EngineError::ArraySubscript(_) => "2202E",
        EngineError::UntranslatableCharacter(_) => "22P05",
        EngineError::InvalidLogarithm(_) => "2201E",
        EngineError::InvalidPower(_) => "2201F",
        EngineError::DatetimeOverflow(_) => "22008",
        EngineError::InvalidDatetimeFormat(_) => "22007",
        EngineError::InvalidWindowArgument(_) => "22016",
        EngineError::UndefinedOperator(_) => "42883",
        EngineError::InvalidTextRepresentation(_) => "22P02",
        EngineError::ProgramLimitExceeded(_) => "54000",
        EngineError::OutOfMemory(_) => "53200",
        EngineError::InvalidArgument(_) => "22023",
        EngineError::WidthBucketArgument(_) => "2201G",
        EngineError::IntervalFieldOutOfRange(_) => "22015",
        EngineError::DataFusion(df) => return classify_datafusion(df),
    };
    (code, e.to_string())
}

fn classify_datafusion(err: &DataFusionError) -> (&'static str, String) {
    if let Some(inner) = EngineError::find_in(err) {
        return classify_engine(inner);
    }
    let root = without_wrappers(err.find_root());
    if let DataFusionError::External(e) = root {
        if let Some(inner) = e.downcast_ref::<EngineError>() {
            return classify_engine(inner);
        }
        if let Some(inner) = e.downcast_ref::<ArrowError>() {
            return classify_arrow(inner);
        }
        // A constant pattern is compiled while planning; DataFusion passes regex's own error.
        if let Some(inner) = e.downcast_ref::<regex::Error>() {
            return ("2201B", format!("invalid regular expression: {inner}"));
        }
        // The expression simplifier parses constant patterns with regex-syntax.
        if let Some(inner) = e.downcast_ref::<regex_syntax::Error>() {
            return ("2201B", format!("invalid regular expression: {inner}"));
        }
    }
    match root {
        DataFusionError::SQL(e, _) => ("42601", format!("syntax error: {e}")),
        DataFusionError::SchemaError(e, _) => match e.as_ref() {
            SchemaError::FieldNotFound { field, .. } => {
                ("42703", format!("column \"{}\" does not exist", field.name))
            }
            SchemaError::AmbiguousReference { field } => (
                "42702",
                format!("column reference \"{}\" is ambiguous", field.name),
            ),
            other => ("42P10", other.to_string()),
        },
        DataFusionError::Plan(m) => classify_plan(m),
        DataFusionError::NotImplemented(m) => ("0A000", unsupported_message(m)),
        DataFusionError::ResourcesExhausted(m) => ("53200", format!("out of memory: {m}")),
        DataFusionError::ArrowError(e, _) => classify_arrow(e),
        DataFusionError::Execution(m) => classify_execution(m),
        DataFusionError::Configuration(m) => ("22023", m.clone()),
        _ => ("XX000", INTERNAL_MESSAGE.to_owned()),
    }
}

/// Strips DataFusion's wrappers that carry no meaning of their own.
fn without_wrappers(err: &DataFusionError) -> &DataFusionError {
    match err {
        DataFusionError::Diagnostic(_, inner) | DataFusionError::Context(_, inner) => {
            without_wrappers(inner)
        }
        DataFusionError::Shared(inner) => without_wrappers(inner),
        DataFusionError::Collection(errs) => errs.first().map_or(err, without_wrappers),
        other => other,
    }
}

/// DataFusion's "not implemented" text, said in the user's terms where it names a plan
/// expression it cannot run (internal detail stays in the log).
fn unsupported_message(m: &str) -> String {
    let Some(rest) = m.strip_prefix("Physical plan does not support logical expression ") else {
        return m.to_owned();
    };
    tracing::debug!(detail = %m, "unsupported plan expression");
    let what = if rest.starts_with("ScalarSubquery") {
        "this correlated scalar subquery (only outer columns compared with = can be decorrelated)"
    } else if rest.starts_with("OuterReferenceColumn") {
        "this reference to an outer query's column (a LATERAL or correlated form that compares it other than with =)"
    } else if rest.starts_with("Exists") || rest.starts_with("InSubquery") {
        "EXISTS or IN (subquery) in this position"
    } else {
        "this expression in this position"
    };
    format!("{what} is not supported by stagesql")
}

/// DataFusion's planning errors carry no kind, so these are told apart by their text: the
/// documented last resort, for errors no typed error covers.
fn classify_plan(m: &str) -> (&'static str, String) {
    let lower = m.to_ascii_lowercase();
    // `LIMIT -1`: "LIMIT must be >= 0, '-1' was provided" (2201W in PostgreSQL).
    for (clause, code) in [("LIMIT", "2201W"), ("OFFSET", "2201X")] {
        if m.starts_with(&format!("{clause} must be >")) {
            return (code, format!("{clause} must not be negative"));
        }
    }
    // `LIMIT 'x'`: "Expected LIMIT to be an integer or null, but got Utf8".
    if lower.starts_with("expected limit to be an integer")
        || lower.starts_with("expected offset to be an integer")
    {
        return ("22P02", "invalid input syntax for type bigint".to_owned());
    }
    // `ORDER BY 5` over one column: "Order by column out of bounds, specified: 5, max: 1".
    if let Some(rest) = m.strip_prefix("Order by column out of bounds, specified: ") {
        let position = rest.split(',').next().unwrap_or("?");
        return (
            "42P10",
            format!("ORDER BY position {position} is not in select list"),
        );
    }
    if let Some(rest) = m.strip_prefix("table '")
        && let Some(name) = rest.split('\'').next()
        && lower.contains("not found")
    {
        let name = name.rsplit('.').next().unwrap_or(name);
        return ("42P01", format!("relation \"{name}\" does not exist"));
    }
    // A function PostgreSQL has in FROM where this server cannot serve it (e.g. LEFT JOIN
    // LATERAL of a set-returning function): "table function 'skeys' not found".
    if let Some(rest) = m.strip_prefix("table function '")
        && let Some(name) = rest.split('\'').next()
    {
        if stagesql_engine::values::postgres_has_function(name) {
            return (
                "0A000",
                format!("function {name} is not supported by stagesql in this position"),
            );
        }
        return ("42883", format!("function {name} does not exist"));
    }
    if lower.starts_with("invalid function") || lower.contains("unsupported function") {
        let name = m.split('\'').nth(1).unwrap_or("?");
        // A window function called as a plain one (`SELECT row_number()`).
        const WINDOW_ONLY: [&str; 11] = [
            "row_number",
            "rank",
            "dense_rank",
            "percent_rank",
            "cume_dist",
            "ntile",
            "lag",
            "lead",
            "first_value",
            "last_value",
            "nth_value",
        ];
        if WINDOW_ONLY.contains(&name.to_ascii_lowercase().as_str()) {
            return (
                "42809",
                format!("window function {name} requires an OVER clause"),
            );
        }
        if stagesql_engine::values::postgres_has_function(name) {
            return (
                "0A000",
                format!("function {name} is not supported by stagesql"),
            );
        }
        return ("42883", format!("function {name} does not exist"));
    }
    if lower.contains("no function matches")
        || lower.contains("cannot infer common")
        || lower.contains("coerc")
        || lower.contains("common type")
        || lower.contains("does not support")
    {
        return ("42883", m.to_owned());
    }
    if lower.contains("non-aggregate") || lower.contains("group by") {
        return ("42803", m.to_owned());
    }
    if lower.contains("placeholder") {
        return ("42P18", m.to_owned());
    }
    // "UNION queries have different number of columns"
    if let Some(operation) = m.strip_suffix(" queries have different number of columns") {
        return (
            "42601",
            format!("each {operation} query must have the same number of columns"),
        );
    }
    // `(SELECT 1, 2)` as a value: "Too many columns! The subquery should only return one column".
    if m.starts_with("Too many columns! The subquery should only return one column") {
        return ("42601", "subquery must return only one column".to_owned());
    }
    // `percentile_cont(2)`: "Percentile value must be between 0.0 and 1.0 inclusive, 2 is invalid".
    if lower.starts_with("percentile value must be between") {
        return ("22003", m.to_owned());
    }
    ("42000", m.to_owned())
}

fn classify_execution(m: &str) -> (&'static str, String) {
    let lower = m.to_ascii_lowercase();
    // DataFusion's own functions, refusing an argument PostgreSQL refuses too.
    if lower.starts_with("negative count not allowed") {
        // `substring(s FROM 2 FOR -1)`
        return ("22011", "negative substring length not allowed".to_owned());
    }
    if lower.starts_with("field position must not be zero") {
        // `split_part(s, ',', 0)`
        return ("22023", m.to_owned());
    }
    if let Some(rest) = m.strip_prefix("Unsupported date_trunc granularity: '") {
        let unit = rest.split('\'').next().unwrap_or(rest);
        return ("22023", format!("unit \"{unit}\" not recognized"));
    }
    if lower.starts_with("step can't be 0") {
        // `generate_series(1, 10, 0)`
        return ("22023", "step size cannot equal zero".to_owned());
    }
    if lower.contains("divide by zero") || lower.contains("division by zero") {
        ("22012", "division by zero".to_owned())
    } else if lower.contains("regular expression did not compile")
        || lower.contains("regex parse error")
    {
        // A pattern from a column, compiled while running (arrow's regexp kernels).
        ("2201B", format!("invalid regular expression: {m}"))
    } else if lower.contains("invalid")
        || lower.contains("cannot cast")
        || lower.contains("malformed")
    {
        ("22P02", m.to_owned())
    } else if lower.contains("overflow") {
        ("22003", m.to_owned())
    } else {
        ("22000", m.to_owned())
    }
}

fn classify_arrow(e: &ArrowError) -> (&'static str, String) {
    match e {
        ArrowError::DivideByZero => ("22012", "division by zero".to_owned()),
        // A number that does not fit the type it is cast to: "Can't cast value 2147483648 to
        // type Int32".
        ArrowError::CastError(m) if m.starts_with("Can't cast value ") => {
            let range = match m.rsplit(' ').next() {
                Some("Int16") => "smallint out of range",
                Some("Int32") => "integer out of range",
                Some("Int64") => "bigint out of range",
                _ => "value out of range",
            };
            ("22003", range.to_owned())
        }
        ArrowError::CastError(m) | ArrowError::ParseError(m) => ("22P02", m.clone()),
        // `123456.7::numeric(5, 2)`: "123456.70 is too large to store in a Decimal128 of
        // precision 5. Max is 999.99".
        ArrowError::InvalidArgumentError(m) if m.contains("to store in a Decimal") => {
            ("22003", "numeric field overflow".to_owned())
        }
        ArrowError::ArithmeticOverflow(m) => ("22003", m.clone()),
        ArrowError::ComputeError(m) => classify_execution(m),
        ArrowError::MemoryError(m) => ("53200", format!("out of memory: {m}")),
        ArrowError::InvalidArgumentError(m) => ("22023", m.clone()),
        ArrowError::NotYetImplemented(m) => ("0A000", m.clone()),
        _ => ("XX000", INTERNAL_MESSAGE.to_owned()),
    }
}

tokio::task_local! {
    /// The SQLSTATE of the first error raised while the connection loop runs one message
    /// (see [`first_error_of`]): how a statement's outcome is counted.
    static FIRST_ERROR: std::cell::Cell<Option<&'static str>>;
}

/// Runs `message` (the handling of one client message) and returns its output with the
/// SQLSTATE of the first error [`to_pg_error`] raised meanwhile, if any. Errors are often sent
/// inside pgwire's processing (a failed statement of a multi-statement text, a failure
/// mid-stream) rather than returned, so this is where they are all seen.
pub async fn first_error_of<F: std::future::Future>(
    message: F,
) -> (F::Output, Option<&'static str>) {
    FIRST_ERROR
        .scope(std::cell::Cell::new(None), async {
            let out = message.await;
            (out, FIRST_ERROR.with(std::cell::Cell::get))
        })
        .await
}

/// A statement's WARNING as the NoticeResponse the client is sent.
pub(crate) fn notice(warning: Warning) -> NoticeResponse {
    let code = match warning {
        Warning::NoTransactionInProgress | Warning::SetLocalOutsideBlock => "25P01",
        Warning::TransactionInProgress => "25001",
    };
    NoticeResponse::from(ErrorInfo::new(
        "WARNING".to_owned(),
        code.to_owned(),
        warning.to_string(),
    ))
}

/// Maps `err` to a pgwire error for the client and logs it once, at the level its class deserves.
pub fn to_pg_error(err: impl Into<WireError>) -> PgWireError {
    let err = err.into();
    let c = classify(&err);
    let _ = FIRST_ERROR.try_with(|first| {
        if first.get().is_none() {
            first.set(Some(c.code));
        }
    });
    metrics::counter!("stagesql_errors_total", "sqlstate_class" => c.code.get(..2).unwrap_or("XX").to_owned())
        .increment(1);
    if c.code.starts_with("XX") || c.code.starts_with("58") {
        tracing::error!(code = c.code, cause = %err, detail = ?err, "statement failed with a server error");
    } else {
        tracing::debug!(code = c.code, cause = %err, "statement failed");
    }
    PgWireError::UserError(Box::new(ErrorInfo::new(
        c.severity.to_owned(),
        c.code.to_owned(),
        c.message,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: impl Into<WireError>) -> &'static str {
        classify(&e.into()).code
    }

    #[test]
    fn engine_errors_map_to_their_sqlstates() {
        assert_eq!(code(EngineError::Syntax("x".into())), "42601");
        assert_eq!(
            code(EngineError::ReadOnly {
                command: "INSERT".into()
            }),
            "25006"
        );
        assert_eq!(
            code(EngineError::CatalogLoading { done: 0, total: 4 }),
            "57P03"
        );
        assert_eq!(code(EngineError::Unsupported("x".into())), "0A000");
        let wrapped = DataFusionError::Context(
            "scan".into(),
            Box::new(DataFusionError::External(Box::new(
                EngineError::CatalogLoading { done: 1, total: 4 },
            ))),
        );
        assert_eq!(code(wrapped), "57P03");
    }

    #[test]
    fn datafusion_errors_map_by_kind() {
        let c =
            classify(&DataFusionError::Plan("table 'stagesql.aws.nope' not found".into()).into());
        assert_eq!(
            (c.code, c.message.as_str()),
            ("42P01", "relation \"nope\" does not exist")
        );
        assert_eq!(
            code(DataFusionError::Plan(
                "Invalid function 'nosuch'.\nDid you mean 'now'?".into()
            )),
            "42883"
        );
        // A function PostgreSQL has and this server lacks is a feature not supported.
        let c = classify(
            &DataFusionError::Plan(
                "Invalid function 'width_bucket'.\nDid you mean 'trunc'?".into(),
            )
            .into(),
        );
        assert_eq!(
            (c.code, c.message.as_str()),
            (
                "0A000",
                "function width_bucket is not supported by stagesql"
            )
        );
        assert_eq!(
            code(DataFusionError::ArrowError(
                Box::new(ArrowError::DivideByZero),
                None
            )),
            "22012"
        );
        assert_eq!(
            code(DataFusionError::ResourcesExhausted("pool".into())),
            "53200"
        );
        assert_eq!(code(DataFusionError::NotImplemented("x".into())), "0A000");
        let c = classify(
            &DataFusionError::NotImplemented(
                "Physical plan does not support logical expression ScalarSubquery(<subquery>)"
                    .into(),
            )
            .into(),
        );
        assert_eq!(c.code, "0A000");
        assert!(
            c.message.starts_with("this correlated scalar subquery"),
            "{}",
            c.message
        );
        let internal = classify(&DataFusionError::Internal("secret detail".into()).into());
        assert_eq!(internal.code, "XX000");
        assert!(
            !internal.message.contains("secret"),
            "internal detail stays in the log"
        );
    }

    #[test]
    fn planning_errors_without_a_kind_map_by_their_text() {
        // Built at run time: the pattern is meant to be invalid.
        let pattern = ["(", ""].concat();
        let bad_regex = regex::Regex::new(&pattern).expect_err("unbalanced");
        let wrapped = DataFusionError::Context(
            "Invalid regex".into(),
            Box::new(DataFusionError::External(Box::new(bad_regex))),
        );
        assert_eq!(code(wrapped), "2201B");
        assert_eq!(
            code(DataFusionError::Plan(
                "LIMIT must be >= 0, '-1' was provided".into()
            )),
            "2201W"
        );
        assert_eq!(
            code(DataFusionError::Plan(
                "OFFSET must be >=0, '-1' was provided".into()
            )),
            "2201X"
        );
        let syntax = regex_syntax::Parser::new()
            .parse("*")
            .expect_err("nothing to repeat");
        assert_eq!(code(DataFusionError::External(Box::new(syntax))), "2201B");
        assert_eq!(
            code(DataFusionError::Plan(
                "Order by column out of bounds, specified: 5, max: 1".into()
            )),
            "42P10"
        );
    }

    #[test]
    fn startup_errors_are_fatal() {
        let c = classify(&WireError::UnknownDatabase("x".into()));
        assert_eq!((c.severity, c.code), ("FATAL", "3D000"));
    }
}
