//! The engine's error type. The wire crate maps each variant to a SQLSTATE in one place.

use datafusion::error::DataFusionError;

/// Why a statement could not be planned or run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SQL does not parse.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// The statement would change data or touch files; this server is read-only.
    #[error("cannot execute {command} in a read-only transaction")]
    ReadOnly {
        /// The statement kind, e.g. `INSERT` or `COPY TO file`.
        command: String,
    },
    /// A statement or feature this server does not implement.
    #[error("{0} is not supported")]
    Unsupported(String),
    /// `SET`/`SHOW` of a parameter that does not exist.
    #[error("unrecognized configuration parameter \"{0}\"")]
    UnknownSetting(String),
    /// `SET` of a parameter that cannot be changed.
    #[error("parameter \"{0}\" cannot be changed")]
    ReadOnlySetting(String),
    /// `SET` with a value the parameter does not accept.
    #[error("invalid value for parameter \"{name}\": \"{value}\"")]
    InvalidSettingValue {
        /// Parameter name.
        name: String,
        /// The rejected value.
        value: String,
    },
    /// The client may not do this (e.g. change engine internals shared by every session).
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// A role name that does not exist.
    #[error("role \"{0}\" does not exist")]
    UnknownRole(String),
    /// Bind supplied the wrong number of parameters.
    #[error("bind message supplies {got} parameters, but prepared statement requires {expected}")]
    ParameterCount {
        /// Parameters the statement has.
        expected: usize,
        /// Parameters the client sent.
        got: usize,
    },
    /// A `$n` placeholder with no value to bind (e.g. in a simple query).
    #[error("there is no parameter ${0}")]
    UndefinedParameter(usize),
    /// A bound parameter value cannot be read as its type.
    #[error("invalid value for parameter ${index}: {reason}")]
    ParameterValue {
        /// 1-based parameter number.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// No snapshot has been published yet.
    #[error("catalog is still loading: {done} of {total} partitions done")]
    CatalogLoading {
        /// Partitions crawled so far in the first refresh.
        done: usize,
        /// Partitions in the first refresh (0 before it starts).
        total: usize,
    },
    /// A relation name (e.g. in `'x'::regclass`) that does not exist.
    #[error("relation \"{0}\" does not exist")]
    UndefinedRelation(String),
    /// A schema name that does not exist.
    #[error("schema \"{0}\" does not exist")]
    UndefinedSchema(String),
    /// A type, role or other named object that does not exist (the message says which).
    #[error("{0}")]
    UndefinedObject(String),
    /// A function that does not exist (the message names it).
    #[error("{0}")]
    UndefinedFunction(String),
    /// A cursor name that does not exist.
    #[error("cursor \"{0}\" does not exist")]
    UndefinedCursor(String),
    /// A column name that more than one column of a derived table or CTE has.
    #[error("column reference \"{0}\" is ambiguous")]
    AmbiguousColumn(String),
    /// A cursor, savepoint or prepared statement name already in use.
    #[error("{0}")]
    DuplicateObject(String),
    /// A command that needs a transaction block outside one (e.g. `DECLARE` without `WITH HOLD`).
    #[error("{0}")]
    NoActiveTransaction(String),
    /// A statement other than COMMIT or ROLLBACK in a transaction block an error has failed.
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,
    /// A command that cannot run inside a transaction block (`DISCARD ALL`).
    #[error("{0} cannot run inside a transaction block")]
    ActiveTransaction(&'static str),
    /// A savepoint name that does not exist.
    #[error("savepoint \"{0}\" does not exist")]
    UndefinedSavepoint(String),
    /// The statement was stopped: statement_timeout or a CancelRequest (the message says which).
    #[error("{0}")]
    QueryCanceled(String),
    /// A function argument PostgreSQL would reject (`format('%x')`, an odd
    /// `json_build_object` argument list).
    #[error("{0}")]
    InvalidArgument(String),
    /// A minute or second of an interval's time field out of range (`'25:61'`).
    #[error("{0}")]
    IntervalFieldOutOfRange(String),
    /// An argument `width_bucket` refuses (equal bounds, a count below one, NaN).
    #[error("{0}")]
    WidthBucketArgument(String),
    /// A value would be larger than any value may be (PostgreSQL's 1 GB), e.g.
    /// `repeat('x', 2000000000)`.
    #[error("{0}")]
    ProgramLimitExceeded(String),
    /// A function's result would take more memory than the query may use.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// Text that is not a valid value of the type it is read as (`'not json'::json`).
    #[error("{0}")]
    InvalidTextRepresentation(String),
    /// A scalar subquery returned more than one row.
    #[error("{0}")]
    CardinalityViolation(String),
    /// A character the database encoding cannot hold, `'"\u0000"'::jsonb` (22P05).
    #[error("{0}")]
    UntranslatableCharacter(String),
    /// A number outside its type's range (22003).
    #[error("{0}")]
    NumericOutOfRange(String),
    /// A NULL where a value is required, e.g. an hstore key (22004).
    #[error("{0}")]
    NullValueNotAllowed(String),
    /// Arrays whose bounds do not match, e.g. `hstore(keys, values)` (2202E).
    #[error("{0}")]
    ArraySubscript(String),
    /// A logarithm of zero or of a negative number (2201E).
    #[error("{0}")]
    InvalidLogarithm(String),
    /// A square root of a negative number, or a power with no real answer (2201F).
    #[error("{0}")]
    InvalidPower(String),
    /// Text that is not a date or time at all (22007).
    #[error("{0}")]
    InvalidDatetimeFormat(String),
    /// A date or time field out of range, `'2026-02-30'::date` (22008).
    #[error("{0}")]
    DatetimeOverflow(String),
    /// A window function's argument out of range, `nth_value(x, 0)` (22016).
    #[error("{0}")]
    InvalidWindowArgument(String),
    /// An operator that does not exist for its operand types, `json = json` (42883).
    #[error("{0}")]
    UndefinedOperator(String),
    /// A statement too deeply nested to plan safely.
    #[error("stack depth limit exceeded: {0}")]
    TooComplex(String),
    /// Anything DataFusion reports while planning or executing.
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

impl EngineError {
    /// The `CatalogLoading` error if `err` wraps it, however deep.
    pub fn find_in(err: &DataFusionError) -> Option<&EngineError> {
        match err {
            DataFusionError::External(e) => e.downcast_ref::<EngineError>(),
            DataFusionError::Context(_, inner) => Self::find_in(inner),
            DataFusionError::Shared(inner) => Self::find_in(inner),
            DataFusionError::Diagnostic(_, inner) => Self::find_in(inner),
            DataFusionError::Collection(errs) => errs.iter().find_map(Self::find_in),
            DataFusionError::ArrowError(e, _) => match e.as_ref() {
                datafusion::arrow::error::ArrowError::ExternalError(inner) => inner
                    .downcast_ref::<DataFusionError>()
                    .and_then(Self::find_in),
                _ => None,
            },
            _ => None,
        }
    }
}
