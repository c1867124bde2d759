//! The query engine: DataFusion over the stage snapshot, speaking PostgreSQL's SQL dialect.
//!
//! Its public face is small: [`Engine`], [`Session`], [`Prepared`], [`Output`], [`EngineError`],
//! the statement kinds ([`Command`], COPY options), the limits the server configures and the
//! wire waits on, [`persist`] (the snapshot's file format), and [`values`] (PostgreSQL's value
//! forms and type OIDs, for the wire's encoding). Every module below is crate-private
//! (`face::the_public_face_is_small` holds the list), and modules import one way
//! (`face::modules_import_one_way`).
//!
//! Map of the crate:
//! - [`engine`]: the shared [`Engine`] (built once; roles swapped on reload);
//!   [`config`] its settings.
//! - [`session`]: the per-connection [`Session`] (prepare, execute); [`prepared`] a planned
//!   statement; [`bind`] its parameters.
//! - [`plan_cache`]: which plans are kept and run again (per-session text cache);
//!   [`generic`]: prepared statements planned physically once, their values bound per run
//!   ([`scalar_eval`] evaluates their expressions of parameters on scalars);
//!   [`auto_param`]: query texts that differ only in strings compared with text columns
//!   share one plan; [`kept_results`]: the rows of table-free plans, kept.
//! - [`statement`]: parsing and sorting statements; writes are refused here, before planning.
//! - [`settings`]: per-session parameters for `SET`/`SHOW`/`current_setting`.
//! - [`table`] and [`batch`]: the `aws.apigatewayv2_stage` table provider over the snapshot;
//!   [`scan`]: its execution plan, reading the snapshot pinned at execution, with key indexes.
//! - [`status_tables`]: `stagesql.refresh_status` and `stagesql.snapshot_status`.
//! - [`schema`]: the Arrow schema and how json/hstore types ride in field metadata.
//! - [`planner`] and [`functions`]: PostgreSQL operators, types and functions; [`row_fn`] the
//!   row-at-a-time scalar function both they and [`semantics`] build on.
//! - [`naming`]: PostgreSQL's names for result columns.
//! - [`subplan`]: correlated subqueries DataFusion cannot decorrelate, run once per outer row
//!   (PostgreSQL's SubPlan), as the last step before physical planning.
//! - [`rewrite`]: PostgreSQL name resolution (`pg_catalog` first) applied before planning;
//!   forms DataFusion would answer differently are refused there (0A000).
//! - [`semantics`]: PostgreSQL's meaning where DataFusion's differs (interval comparison,
//!   timestamp differences), an analyzer rule over every plan.
//! - [`persist`]: the last good snapshot as an Arrow IPC file.
//! - [`pg_types`]: the type OIDs shared by the wire and the catalog tables.
//! - [`pg_catalog`]: `pg_catalog` and `information_schema` tables describing the table, built
//!   from PostgreSQL 15's own column lists and rows (`postgres15/`, dumped by `dump.py`).
//! - [`row_memo`]: bytes the wire made from a snapshot's rows (DataRows of whole rows), kept
//!   with the snapshot for the next reader.
//! - [`limits`]: memory pools, statement timeout and cancel; [`executor`]: the runtime long
//!   queries run on, so that cancel, timeouts and shutdown stop their work.
//! - [`error`]: [`EngineError`]; the wire crate maps it to SQLSTATE codes.

pub(crate) mod auto_param;
pub(crate) mod batch;
pub(crate) mod bind;
pub(crate) mod config;
pub(crate) mod cursor;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod executor;
pub(crate) mod explain;
pub(crate) mod functions;
pub(crate) mod generic;
pub(crate) mod kept_results;
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
pub(crate) mod row_fn;
pub(crate) mod row_memo;
pub(crate) mod scalar_eval;
pub(crate) mod scan;
pub(crate) mod schema;
pub(crate) mod semantics;
pub(crate) mod session;
pub(crate) mod settings;
pub(crate) mod statement;
pub(crate) mod status_tables;
pub(crate) mod subplan;
pub(crate) mod table;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod text;

// The engine's face: what the wire and the server use. Everything else is crate-private.
pub use config::EngineConfig;
pub use engine::Engine;
pub use error::EngineError;
pub use limits::{Canceller, MemoryLimits, parse_timeout, sleep_until};
pub use output::{Output, Warning};
pub use prepared::Prepared;
pub use row_memo::{CHUNK_ROWS, MemoChunk, RowMemo};
pub use scan::{SelectedRows, TableRows};
pub use session::{Session, TransactionStatus};
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
    pub use crate::semantics::numeric::integer_scalar;
    pub use crate::text::{
        IntervalStyle, TimestampText, array_item_text, binary_value, float_text, interval_parts,
        list_value, timestamp_micros, timestamp_text, timestamp_text_zoned, write_text,
        write_text_styled,
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
                "pub use config::EngineConfig;",
                "pub use engine::Engine;",
                "pub use error::EngineError;",
                "pub use limits::{Canceller, MemoryLimits, parse_timeout, sleep_until};",
                "pub use output::{Output, Warning};",
                "pub use prepared::Prepared;",
                "pub use row_memo::{CHUNK_ROWS, MemoChunk, RowMemo};",
                "pub use scan::{SelectedRows, TableRows};",
                "pub use session::{Session, TransactionStatus};",
                "pub use statement::{Command, CopyFormat, CopyOptions};",
                "pub mod values {",
            ]
        );
    }

    /// The top-level modules each file names through `crate::…` (outside comments and its
    /// tests).
    fn imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        fn walk(dir: &std::path::Path, top: Option<&str>, out: &mut Vec<(String, String)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .expect("the source directory reads")
                .map(|e| e.expect("a directory entry").path())
                .collect();
            entries.sort();
            for path in entries {
                let name = path
                    .file_stem()
                    .and_then(|n| n.to_str())
                    .expect("a UTF-8 file name")
                    .to_owned();
                let module = top.map_or(name.clone(), str::to_owned);
                if path.is_dir() {
                    walk(&path, Some(&module), out);
                } else if path.extension().is_some_and(|e| e == "rs") && module != "lib" {
                    let text = std::fs::read_to_string(&path).expect("a source file reads");
                    out.push((module, text));
                }
            }
        }
        let mut files = Vec::new();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        walk(&src, None, &mut files);
        let mut graph: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
            Default::default();
        for (module, text) in files {
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let targets = graph.entry(module.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + "crate::".len()..];
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(group) => group
                            .split('}')
                            .next()
                            .unwrap_or_default()
                            .split(',')
                            .map(|n| n.trim().split("::").next().unwrap_or_default())
                            .collect(),
                        None => vec![
                            rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                                .next()
                                .unwrap_or_default(),
                        ],
                    };
                    targets.extend(
                        names
                            .into_iter()
                            .filter(|n| !n.is_empty() && *n != module)
                            .map(str::to_owned),
                    );
                }
            }
        }
        graph
    }

    /// Modules import one way: no module reaches, directly or through others, back into one
    /// that imports it. A cycle means a shared piece belongs lower down.
    #[test]
    fn modules_import_one_way() {
        let graph = imports();
        assert!(graph.len() > 20, "the walk found the modules: {graph:?}");
        let reaches = |from: &str| {
            let mut seen = std::collections::BTreeSet::new();
            let mut todo = vec![from.to_owned()];
            while let Some(m) = todo.pop() {
                for next in graph.get(&m).into_iter().flatten() {
                    if seen.insert(next.clone()) {
                        todo.push(next.clone());
                    }
                }
            }
            seen
        };
        let cycles: Vec<String> = graph
            .keys()
            .filter(|m| reaches(m).contains(*m))
            .cloned()
            .collect();
        assert!(cycles.is_empty(), "modules in an import cycle: {cycles:?}");
    }
}
