//! The query engine: DataFusion over the stage snapshot, speaking PostgreSQL's SQL dialect.
//!
//! Its public face is small: [`Engine`], [`Session`], [`Prepared`], [`Output`], [`EngineError`],
//! the statement kinds ([`Command`], COPY options), the limits the server configures and the
//! wire waits on, [`persist`] (the snapshot's file format), and [`values`] (PostgreSQL's value
//! forms and type OIDs, for the wire's encoding). Every module below is crate-private
//! (`face::the_public_face_is_small` holds the list).
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

pub(crate) mod batch;
pub(crate) mod bind;
pub(crate) mod config;
pub(crate) mod cursor;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod executor;
pub(crate) mod explain;
pub(crate) mod functions;
pub(crate) mod limits;
pub(crate) mod naming;
pub(crate) mod output;
pub mod persist;
pub(crate) mod pg_catalog;
pub(crate) mod pg_types;
pub(crate) mod plan_cache;
pub(crate) mod planner;
pub(crate) mod prepared;
pub(crate) mod rewrite;
pub(crate) mod scan;
pub(crate) mod schema;
pub(crate) mod semantics;
pub(crate) mod session;
pub(crate) mod settings;
pub(crate) mod statement;
pub(crate) mod status_tables;
pub(crate) mod table;
pub(crate) mod text;

// The engine's face: what the wire and the server use. Everything else is crate-private.
pub use error::EngineError;
pub use limits::{Canceller, MemoryLimits, parse_timeout, sleep_until};
pub use session::{Engine, EngineConfig, Output, Prepared, Session};
pub use statement::{Command, CopyFormat, CopyOptions};

/// PostgreSQL's text and binary forms of values, and the type OIDs: what the wire needs to
/// describe and encode result columns and to read parameters, without reaching into the
/// engine's modules.
pub mod values {
    pub use crate::functions::hstore::parse_hstore;
    pub use crate::pg_catalog::{parse_array, postgres_has_function};
    pub use crate::pg_types::{
        HSTORE_ARRAY_OID, HSTORE_OID, PgType, TYPES, arrow_type_for_oid, by_oid, oid_for_field,
        oid_for_type,
    };
    pub use crate::schema::stage_schema;
    pub use crate::semantics::datetime_in;
    pub use crate::text::{
        IntervalStyle, array_item_text, binary_value, float_text, interval_parts, list_value,
        timestamp_micros, timestamp_text, write_text, write_text_styled,
    };
}

#[cfg(test)]
mod face {
    /// The engine's public face is this list and nothing more: a new `pub` module or export
    /// is a decision, made here, not an accident.
    #[test]
    fn the_public_face_is_small() {
        let public: Vec<&str> = include_str!("lib.rs")
            .lines()
            .filter(|l| l.starts_with("pub mod") || l.starts_with("pub use"))
            .collect();
        assert_eq!(
            public,
            vec![
                "pub mod persist;",
                "pub use error::EngineError;",
                "pub use limits::{Canceller, MemoryLimits, parse_timeout, sleep_until};",
                "pub use session::{Engine, EngineConfig, Output, Prepared, Session};",
                "pub use statement::{Command, CopyFormat, CopyOptions};",
                "pub mod values {",
            ]
        );
    }
}
