//! The system catalogs clients read: `pg_catalog` and `information_schema`.
//!
//! Every relation has PostgreSQL's own column list (names, order, types), taken from a real
//! PostgreSQL by `postgres15/dump.py` (see [`data`]), so `SELECT c.*` in a GUI tool
//! and the column-by-name reads of drivers see what they would see on PostgreSQL. The rows
//! are of three kinds:
//! - static built-in rows copied from PostgreSQL (`pg_type`, `pg_proc`, `pg_am`, `pg_cast`,
//!   `pg_settings`, …);
//! - rows describing what this server holds ([`objects`]): the schemas, the stage table, its
//!   primary key `_key`, its 19 columns and their comments, the hstore type, the one role and
//!   database, and every catalog relation itself (psqlODBC looks system catalogs up by oid);
//! - nothing, for relations that are empty on a read-only server with one table
//!   (`pg_inherits`, `pg_policy`, `pg_enum`, …).
//!
//! OIDs agree everywhere: the table oid in RowDescription, `pg_class`, `pg_attribute`,
//! `pg_description`, `pg_index`; type oids in RowDescription, `pg_type` and `pg_attribute`.

mod build;
mod data;
mod names;
mod objects;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use datafusion::catalog::{MemTable, MemorySchemaProvider, SchemaProvider};
use datafusion::error::{DataFusionError, Result};

pub use build::parse_array;
pub use data::dump;
pub use names::{names, quote_ident, split_qualified};
pub use objects::{EXTENSIONS, Extension, PUBLIC_DESCRIPTION, TABLE_DESCRIPTION};

/// Whether `name` is a `pg_catalog` relation, which unqualified names resolve to first.
pub fn is_pg_catalog_relation(name: &str) -> bool {
    static NAMES: OnceLock<HashSet<String>> = OnceLock::new();
    NAMES
        .get_or_init(|| match dump() {
            Ok(d) => d
                .relations
                .iter()
                .filter(|r| r.schema == "pg_catalog")
                .map(|r| r.name.clone())
                .collect(),
            Err(_) => HashSet::new(),
        })
        .contains(name)
}

/// Whether PostgreSQL 15 has a function, aggregate or window function named `name` (in
/// `pg_catalog`, or hstore's): calling one that DataFusion lacks is a feature this server does
/// not support (0A000), not an undefined function (42883).
pub fn postgres_has_function(name: &str) -> bool {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            include_str!("../../postgres15/function_names.txt")
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .collect()
        })
        .contains(name)
}

/// Whether catalog relation `schema.name` always has no rows here (`pg_policy`,
/// `pg_inherits`, …): a read-only server with one table has nothing to put in them.
pub fn is_empty_relation(schema: &str, name: &str) -> bool {
    static EMPTY: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    EMPTY
        .get_or_init(|| {
            let Ok(dump) = dump() else {
                return HashSet::new();
            };
            let Ok(rows) = objects::rows(dump, "d", &[(10, "u".to_owned())]) else {
                return HashSet::new();
            };
            dump.relations
                .iter()
                .filter(|r| {
                    rows.get(&(r.schema.as_str(), r.name.as_str()))
                        .is_none_or(Vec::is_empty)
                })
                .map(|r| (r.schema.clone(), r.name.clone()))
                .collect()
        })
        .contains(&(schema.to_owned(), name.to_owned()))
}

/// Builds `pg_catalog` and `information_schema` for `roles` (see [`schemas`]) and registers
/// them in `catalog`, replacing any there: at engine start and when the user list is reloaded.
pub fn register(
    catalog: &dyn datafusion::catalog::CatalogProvider,
    database: &str,
    roles: &[(u32, String)],
) -> Result<()> {
    let (pg_catalog, information_schema) = schemas(database, roles)?;
    catalog.register_schema("pg_catalog", pg_catalog)?;
    catalog.register_schema("information_schema", information_schema)?;
    Ok(())
}

/// The `pg_catalog` and `information_schema` schemas for `database`; `roles` lists every role,
/// the owner of every object (oid 10) first.
pub fn schemas(
    database: &str,
    roles: &[(u32, String)],
) -> Result<(Arc<MemorySchemaProvider>, Arc<MemorySchemaProvider>)> {
    let dump = dump().map_err(DataFusionError::Internal)?;
    let rows = objects::rows(dump, database, roles)?;
    let pg_catalog = Arc::new(MemorySchemaProvider::new());
    let information_schema = Arc::new(MemorySchemaProvider::new());
    let empty: Vec<data::TextRow> = Vec::new();
    for spec in &dump.relations {
        let key = (spec.schema.as_str(), spec.name.as_str());
        let rows = rows.get(&key).unwrap_or(&empty);
        let batch = build::batch(spec, rows)?;
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        let target = if spec.schema == "pg_catalog" {
            &pg_catalog
        } else {
            &information_schema
        };
        target.register_table(spec.name.clone(), Arc::new(table))?;
    }
    Ok((pg_catalog, information_schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg_types::TYPES;

    #[test]
    fn the_dump_parses_and_every_relation_builds() {
        let dump = dump().expect("dump");
        assert!(dump.source.starts_with("PostgreSQL "));
        let (pg, info) = schemas("stagesql", &[(10, "stagesql".to_owned())]).expect("schemas");
        for name in ["pg_class", "pg_type", "pg_attribute", "pg_stat_user_tables"] {
            assert!(pg.table_exist(name), "{name}");
        }
        for name in ["columns", "tables", "schemata", "key_column_usage"] {
            assert!(info.table_exist(name), "{name}");
        }
    }

    #[test]
    fn every_wire_type_is_in_pg_type_with_the_same_array() {
        let dump = dump().expect("dump");
        let spec = dump.relation("pg_catalog", "pg_type").expect("pg_type");
        let (oid, name, array) = (
            spec.position("oid").expect("in the test data"),
            spec.position("typname").expect("in the test data"),
            spec.position("typarray").expect("in the test data"),
        );
        let rows = objects::rows(dump, "d", &[(10, "u".to_owned())]).expect("rows");
        let types = &rows[&("pg_catalog", "pg_type")];
        for ty in TYPES {
            let row = types
                .iter()
                .find(|r| r[oid].as_deref() == Some(ty.oid.to_string().as_str()))
                .unwrap_or_else(|| panic!("pg_type lacks {}", ty.name));
            assert_eq!(row[name].as_deref(), Some(ty.name));
            assert_eq!(row[array].as_deref(), Some(ty.array.to_string().as_str()));
        }
    }
}
