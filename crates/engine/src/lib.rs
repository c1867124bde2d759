//! The query engine: DataFusion over the stage snapshot, speaking PostgreSQL's SQL dialect.
//!
//! Map of the crate:
//! - [`engine`]: the shared [`Engine`] (built once; roles swapped on reload);
//!   [`config`] its settings.
//! - [`session`]: the per-connection [`Session`] (prepare, execute); [`prepared`] a planned
//!   statement; [`bind`] its parameters.
//! - [`plan_cache`]: which plans are kept and run again (per-session text cache).
//! - [`statement`]: parsing and sorting statements; writes are refused here, before planning.
//! - [`settings`]: per-session parameters for `SET`/`SHOW`/`current_setting`.
//! - [`table`] and [`batch`]: the `aws.apigatewayv2_stage` table provider over the snapshot;
//!   [`scan`]: its execution plan, reading the snapshot pinned at execution, with key indexes.
//! - [`status_tables`]: `stagesql.refresh_status` and `stagesql.snapshot_status`.
//! - [`schema`]: the Arrow schema and how json/hstore types ride in field metadata.
//! - [`planner`] and [`functions`]: PostgreSQL operators, types and functions.
//! - [`naming`]: PostgreSQL's names for result columns.
//! - [`rewrite`]: PostgreSQL name resolution (`pg_catalog` first) applied before planning;
//!   forms DataFusion would answer differently are refused there (0A000).
//! - [`semantics`]: PostgreSQL's meaning where DataFusion's differs (interval comparison,
//!   timestamp differences), an analyzer rule over every plan.
//! - [`persist`]: the last good snapshot as an Arrow IPC file.
//! - [`pg_types`]: the type OIDs shared by the wire and the catalog tables.
//! - [`pg_catalog`]: `pg_catalog` and `information_schema` tables describing the table.
//! - [`limits`]: memory pools, statement timeout and cancel; [`executor`]: the runtime long
//!   queries run on, so that cancel, timeouts and shutdown stop their work.
//! - [`error`]: [`EngineError`]; the wire crate maps it to SQLSTATE codes.

pub mod batch;
pub mod bind;
pub mod config;
pub mod cursor;
pub mod engine;
pub mod error;
pub mod executor;
pub mod explain;
pub mod functions;
pub mod limits;
pub mod naming;
pub mod output;
pub mod persist;
pub mod pg_catalog;
pub mod pg_types;
pub mod plan_cache;
pub mod planner;
pub mod prepared;
pub mod rewrite;
pub mod scan;
pub mod schema;
pub mod semantics;
pub mod session;
pub mod settings;
pub mod statement;
pub mod status_tables;
pub mod table;
pub mod text;

pub use error::EngineError;
pub use session::{Engine, EngineConfig, Output, Prepared, Session};
pub use statement::{Command, CopyFormat, CopyOptions};
