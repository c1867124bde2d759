//! The PostgreSQL catalog data we start from: `postgres15/pg_catalog.json`, dumped from a real
//! PostgreSQL by `postgres15/dump.py`.
//!
//! It holds the column lists of every system relation we serve (so names, order and types are
//! PostgreSQL's own), the built-in rows of the static catalogs (pg_type, pg_proc, pg_am, …),
//! and template rows for objects like ours, all as PostgreSQL text values.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// One served relation: where it lives and its columns.
#[derive(Debug, Deserialize)]
pub struct RelationSpec {
    /// `pg_catalog` or `information_schema`.
    pub schema: String,
    /// Relation name.
    pub name: String,
    /// Its OID in PostgreSQL (what `'pg_class'::regclass` yields).
    pub oid: u32,
    /// `relkind`: `r` for a table, `v` for a view.
    pub kind: String,
    /// `(name, type name, type oid, not null)` in attnum order.
    pub columns: Vec<(String, String, u32, bool)>,
}

impl RelationSpec {
    /// Position of column `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.0 == name)
    }
}

/// A row in PostgreSQL's text form, one value per column; `None` is NULL.
pub type TextRow = Vec<Option<String>>;

/// The whole dump.
#[derive(Debug, Deserialize)]
pub struct Dump {
    /// `version()` of the server it came from (checked by this module's tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub source: String,
    /// Every relation we serve.
    pub relations: Vec<RelationSpec>,
    /// Static rows by relation name.
    pub rows: HashMap<String, Vec<TextRow>>,
    /// Template rows by `relation/what`.
    pub templates: HashMap<String, TextRow>,
    /// `pg_get_keywords()`: word, catcode, barelabel, catdesc, baredesc.
    #[serde(default)]
    pub keywords: Vec<TextRow>,
}

const DUMP_JSON: &str = include_str!("../../postgres15/pg_catalog.json");

/// The dump, parsed once. It is compiled in and checked by tests, so a parse failure is a
/// build defect, reported as an error rather than a panic.
pub fn dump() -> Result<&'static Dump, String> {
    static DUMP: OnceLock<Result<Dump, String>> = OnceLock::new();
    DUMP.get_or_init(|| {
        serde_json::from_str(DUMP_JSON).map_err(|e| format!("postgres15/pg_catalog.json: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

impl Dump {
    /// The spec of relation `schema.name`.
    pub fn relation(&self, schema: &str, name: &str) -> Option<&RelationSpec> {
        self.relations
            .iter()
            .find(|r| r.schema == schema && r.name == name)
    }
}

/// A row being built for one relation: values set by column name.
pub struct RowBuilder<'a> {
    spec: &'a RelationSpec,
    values: TextRow,
}

impl<'a> RowBuilder<'a> {
    /// An all-NULL row.
    pub fn empty(spec: &'a RelationSpec) -> RowBuilder<'a> {
        RowBuilder {
            spec,
            values: vec![None; spec.columns.len()],
        }
    }

    /// A copy of a template row (which must be of this relation).
    pub fn from(spec: &'a RelationSpec, template: &TextRow) -> RowBuilder<'a> {
        let mut values = template.clone();
        values.resize(spec.columns.len(), None);
        RowBuilder { spec, values }
    }

    /// Sets column `name`.
    pub fn set(mut self, name: &str, value: impl ToString) -> RowBuilder<'a> {
        if let Some(i) = self.position(name) {
            self.values[i] = Some(value.to_string());
        }
        self
    }

    /// Sets column `name` to NULL.
    pub fn null(mut self, name: &str) -> RowBuilder<'a> {
        if let Some(i) = self.position(name) {
            self.values[i] = None;
        }
        self
    }

    /// Where column `name` is. A name the relation lacks is a defect in the code building the
    /// row (the column lists are PostgreSQL 15's, compiled in): it fails every test build, and
    /// a release build leaves the column as the template has it.
    fn position(&self, name: &str) -> Option<usize> {
        let position = self.spec.position(name);
        debug_assert!(
            position.is_some(),
            "{}.{} has no column {name}",
            self.spec.schema,
            self.spec.name
        );
        position
    }

    /// The finished row.
    pub fn row(self) -> TextRow {
        self.values
    }
}
