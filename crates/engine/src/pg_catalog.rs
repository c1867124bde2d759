//! The system catalogs clients read: `pg_catalog` and `information_schema`, describing the one
//! table with the same types the wire sends.
//!
//! They are small, fixed tables built once when the engine starts. This is the subset that
//! drivers need to describe our types and columns (tokio-postgres and asyncpg look unknown type
//! OIDs up in `pg_type`; tools list tables and columns from `pg_class`, `pg_attribute` and
//! `information_schema.columns`).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Int16Array, Int32Array, RecordBatch, StringArray,
    UInt32Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemTable, MemorySchemaProvider, SchemaProvider};
use datafusion::error::Result;
use stagesql_catalog::COLUMNS;

use crate::pg_types::{
    self, AWS_SCHEMA_OID, INFORMATION_SCHEMA_OID, PG_CATALOG_OID, PUBLIC_OID, STAGE_TABLE_OID,
    by_oid, oid_for_field,
};
use crate::schema::{PG_CHAR, TABLE_NAME, TABLE_SCHEMA, stage_schema, tagged};

/// The tables of `pg_catalog`, which unqualified names resolve to first (see `rewrite`).
pub const PG_CATALOG_TABLES: &[&str] = &[
    "pg_namespace",
    "pg_type",
    "pg_range",
    "pg_class",
    "pg_attribute",
    "pg_description",
    "pg_database",
];

/// OID of the bootstrap superuser role that owns everything.
const OWNER_OID: u32 = 10;
/// OID of `pg_class` (the class of table rows in `pg_description`).
const PG_CLASS_OID: u32 = 1259;

/// Column builder for one catalog table.
struct Table {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl Table {
    fn new() -> Table {
        Table {
            fields: Vec::new(),
            columns: Vec::new(),
        }
    }

    fn oid(mut self, name: &str, v: Vec<u32>) -> Table {
        self.fields.push(Field::new(name, DataType::UInt32, false));
        self.columns.push(Arc::new(UInt32Array::from(v)));
        self
    }

    fn text(mut self, name: &str, v: Vec<Option<String>>) -> Table {
        self.fields.push(Field::new(name, DataType::Utf8, true));
        self.columns.push(Arc::new(StringArray::from(v)));
        self
    }

    /// A `"char"` column (one-byte flags such as `relkind`).
    fn char(mut self, name: &str, v: Vec<Option<String>>) -> Table {
        self.fields
            .push(tagged(Field::new(name, DataType::Utf8, true), PG_CHAR));
        self.columns.push(Arc::new(StringArray::from(v)));
        self
    }

    fn int2(mut self, name: &str, v: Vec<i16>) -> Table {
        self.fields.push(Field::new(name, DataType::Int16, false));
        self.columns.push(Arc::new(Int16Array::from(v)));
        self
    }

    fn int4(mut self, name: &str, v: Vec<Option<i32>>) -> Table {
        self.fields.push(Field::new(name, DataType::Int32, true));
        self.columns.push(Arc::new(Int32Array::from(v)));
        self
    }

    fn float4(mut self, name: &str, v: Vec<f32>) -> Table {
        self.fields.push(Field::new(name, DataType::Float32, false));
        self.columns.push(Arc::new(Float32Array::from(v)));
        self
    }

    fn boolean(mut self, name: &str, v: Vec<bool>) -> Table {
        self.fields.push(Field::new(name, DataType::Boolean, false));
        self.columns.push(Arc::new(BooleanArray::from(v)));
        self
    }

    fn register(self, schema: &MemorySchemaProvider, name: &str) -> Result<()> {
        let arrow_schema = Arc::new(Schema::new(self.fields));
        let batch = RecordBatch::try_new(Arc::clone(&arrow_schema), self.columns)?;
        let table = MemTable::try_new(arrow_schema, vec![vec![batch]])?;
        schema.register_table(name.to_owned(), Arc::new(table))?;
        Ok(())
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn same<T: Clone>(n: usize, v: T) -> Vec<T> {
    vec![v; n]
}

/// Builds the `pg_catalog` schema.
pub fn pg_catalog(database: &str) -> Result<Arc<MemorySchemaProvider>> {
    let schema = Arc::new(MemorySchemaProvider::new());
    let namespaces = [
        (PG_CATALOG_OID, "pg_catalog"),
        (PUBLIC_OID, "public"),
        (INFORMATION_SCHEMA_OID, "information_schema"),
        (AWS_SCHEMA_OID, TABLE_SCHEMA),
    ];
    Table::new()
        .oid("oid", namespaces.iter().map(|n| n.0).collect())
        .text("nspname", namespaces.iter().map(|n| s(n.1)).collect())
        .oid("nspowner", same(namespaces.len(), OWNER_OID))
        .text("nspacl", same(namespaces.len(), None))
        .register(&schema, "pg_namespace")?;

    let types = pg_types::TYPES;
    let n = types.len();
    let io = |suffix: &str| -> Vec<Option<String>> {
        types
            .iter()
            .map(|t| {
                if t.elem != 0 {
                    Some(format!("array_{suffix}"))
                } else {
                    Some(format!("{}{suffix}", t.name))
                }
            })
            .collect()
    };
    let text_like = |t: &pg_types::PgType| matches!(t.name, "text" | "varchar" | "bpchar" | "name");
    Table::new()
        .oid("oid", types.iter().map(|t| t.oid).collect())
        .text("typname", types.iter().map(|t| s(t.name)).collect())
        .oid("typnamespace", types.iter().map(|t| t.namespace).collect())
        .oid("typowner", same(n, OWNER_OID))
        .int2("typlen", types.iter().map(|t| t.len).collect())
        .boolean(
            "typbyval",
            types
                .iter()
                .map(|t| matches!(t.len, 1 | 2 | 4 | 8))
                .collect(),
        )
        .char(
            "typtype",
            types
                .iter()
                .map(|t| s(if t.name == "unknown" { "p" } else { "b" }))
                .collect(),
        )
        .char(
            "typcategory",
            types.iter().map(|t| Some(t.category.to_string())).collect(),
        )
        .boolean(
            "typispreferred",
            types
                .iter()
                .map(|t| matches!(t.name, "text" | "float8" | "timestamptz" | "bool" | "oid"))
                .collect(),
        )
        .boolean("typisdefined", same(n, true))
        .char("typdelim", same(n, s(",")))
        .oid("typrelid", same(n, 0))
        .oid("typelem", types.iter().map(|t| t.elem).collect())
        .oid("typarray", types.iter().map(|t| t.array).collect())
        .text("typinput", io("in"))
        .text("typoutput", io("out"))
        .text("typreceive", io("recv"))
        .text("typsend", io("send"))
        .oid("typbasetype", same(n, 0))
        .int4("typtypmod", same(n, Some(-1)))
        .int4("typndims", same(n, Some(0)))
        .boolean("typnotnull", same(n, false))
        .oid(
            "typcollation",
            types
                .iter()
                .map(|t| if text_like(t) { 100 } else { 0 })
                .collect(),
        )
        .text("typdefault", same(n, None))
        .text("typacl", same(n, None))
        .register(&schema, "pg_type")?;

    Table::new()
        .oid("rngtypid", vec![])
        .oid("rngsubtype", vec![])
        .oid("rngmultitypid", vec![])
        .oid("rngcollation", vec![])
        .oid("rngsubopc", vec![])
        .text("rngcanonical", vec![])
        .text("rngsubdiff", vec![])
        .register(&schema, "pg_range")?;

    let ncols = i16::try_from(COLUMNS.len()).unwrap_or(i16::MAX);
    Table::new()
        .oid("oid", vec![STAGE_TABLE_OID])
        .text("relname", vec![s(TABLE_NAME)])
        .oid("relnamespace", vec![AWS_SCHEMA_OID])
        .oid("reltype", vec![0])
        .oid("reloftype", vec![0])
        .oid("relowner", vec![OWNER_OID])
        .oid("relam", vec![2])
        .oid("relfilenode", vec![STAGE_TABLE_OID])
        .oid("reltablespace", vec![0])
        .int4("relpages", vec![Some(0)])
        .float4("reltuples", vec![-1.0])
        .int4("relallvisible", vec![Some(0)])
        .oid("reltoastrelid", vec![0])
        .boolean("relhasindex", vec![false])
        .boolean("relisshared", vec![false])
        .char("relpersistence", vec![s("p")])
        .char("relkind", vec![s("r")])
        .int2("relnatts", vec![ncols])
        .int2("relchecks", vec![0])
        .boolean("relhasrules", vec![false])
        .boolean("relhastriggers", vec![false])
        .boolean("relhassubclass", vec![false])
        .boolean("relrowsecurity", vec![false])
        .boolean("relforcerowsecurity", vec![false])
        .boolean("relispopulated", vec![true])
        .char("relreplident", vec![s("d")])
        .boolean("relispartition", vec![false])
        .oid("relrewrite", vec![0])
        .text("relacl", vec![None])
        .text("reloptions", vec![None])
        .text("relpartbound", vec![None])
        .register(&schema, "pg_class")?;

    let fields = stage_schema();
    let fields = fields.fields();
    let m = fields.len();
    let type_of = |i: usize| by_oid(oid_for_field(&fields[i]));
    Table::new()
        .oid("attrelid", same(m, STAGE_TABLE_OID))
        .text("attname", fields.iter().map(|f| s(f.name())).collect())
        .oid(
            "atttypid",
            (0..m).map(|i| oid_for_field(&fields[i])).collect(),
        )
        .int2(
            "attlen",
            (0..m).map(|i| type_of(i).map_or(-1, |t| t.len)).collect(),
        )
        .int2("attnum", (1..=ncols).collect())
        .int4("attcacheoff", same(m, Some(-1)))
        .int4("atttypmod", same(m, Some(-1)))
        .int2("attndims", same(m, 0))
        .boolean(
            "attbyval",
            (0..m)
                .map(|i| type_of(i).is_some_and(|t| matches!(t.len, 1 | 2 | 4 | 8)))
                .collect(),
        )
        .char(
            "attalign",
            (0..m)
                .map(|i| {
                    s(if type_of(i).is_some_and(|t| t.len == 8) {
                        "d"
                    } else {
                        "i"
                    })
                })
                .collect(),
        )
        .char(
            "attstorage",
            (0..m)
                .map(|i| {
                    s(if type_of(i).is_some_and(|t| t.len == -1) {
                        "x"
                    } else {
                        "p"
                    })
                })
                .collect(),
        )
        .char("attcompression", same(m, s("")))
        .boolean(
            "attnotnull",
            fields.iter().map(|f| !f.is_nullable()).collect(),
        )
        .boolean("atthasdef", same(m, false))
        .boolean("atthasmissing", same(m, false))
        .char("attidentity", same(m, s("")))
        .char("attgenerated", same(m, s("")))
        .boolean("attisdropped", same(m, false))
        .boolean("attislocal", same(m, true))
        .int2("attinhcount", same(m, 0))
        .int2("attstattarget", same(m, -1))
        .oid(
            "attcollation",
            (0..m)
                .map(|i| {
                    if oid_for_field(&fields[i]) == 25 {
                        100
                    } else {
                        0
                    }
                })
                .collect(),
        )
        .text("attacl", same(m, None))
        .text("attoptions", same(m, None))
        .text("attfdwoptions", same(m, None))
        .register(&schema, "pg_attribute")?;

    let mut objsubid: Vec<i32> = vec![0];
    let mut descriptions = vec![s(
        "AWS API Gateway v2 stages of every configured account and region.",
    )];
    for (i, c) in COLUMNS.iter().enumerate() {
        objsubid.push(i32::try_from(i + 1).unwrap_or(i32::MAX));
        descriptions.push(s(c.description));
    }
    let k = objsubid.len();
    Table::new()
        .oid("objoid", same(k, STAGE_TABLE_OID))
        .oid("classoid", same(k, PG_CLASS_OID))
        .int4("objsubid", objsubid.into_iter().map(Some).collect())
        .text("description", descriptions)
        .register(&schema, "pg_description")?;

    Table::new()
        .oid("oid", vec![16_383])
        .text("datname", vec![s(database)])
        .oid("datdba", vec![OWNER_OID])
        .int4("encoding", vec![Some(6)])
        .char("datlocprovider", vec![s("c")])
        .boolean("datistemplate", vec![false])
        .boolean("datallowconn", vec![true])
        .int4("datconnlimit", vec![Some(-1)])
        .oid("dattablespace", vec![1663])
        .text("datcollate", vec![s("C")])
        .text("datctype", vec![s("C")])
        .text("datacl", vec![None])
        .register(&schema, "pg_database")?;
    Ok(schema)
}

/// Builds the `information_schema` schema.
pub fn information_schema(database: &str) -> Result<Arc<MemorySchemaProvider>> {
    let schema = Arc::new(MemorySchemaProvider::new());
    let schemas = ["pg_catalog", "public", "information_schema", TABLE_SCHEMA];
    let n = schemas.len();
    Table::new()
        .text("catalog_name", same(n, s(database)))
        .text("schema_name", schemas.iter().map(|x| s(x)).collect())
        .text("schema_owner", same(n, s("postgres")))
        .text("default_character_set_catalog", same(n, None))
        .text("default_character_set_schema", same(n, None))
        .text("default_character_set_name", same(n, None))
        .text("sql_path", same(n, None))
        .register(&schema, "schemata")?;

    Table::new()
        .text("table_catalog", vec![s(database)])
        .text("table_schema", vec![s(TABLE_SCHEMA)])
        .text("table_name", vec![s(TABLE_NAME)])
        .text("table_type", vec![s("BASE TABLE")])
        .text("self_referencing_column_name", vec![None])
        .text("reference_generation", vec![None])
        .text("user_defined_type_catalog", vec![None])
        .text("user_defined_type_schema", vec![None])
        .text("user_defined_type_name", vec![None])
        .text("is_insertable_into", vec![s("NO")])
        .text("is_typed", vec![s("NO")])
        .text("commit_action", vec![None])
        .register(&schema, "tables")?;

    let fields = stage_schema();
    let fields = fields.fields();
    let m = fields.len();
    let types: Vec<&pg_types::PgType> = fields
        .iter()
        .map(|f| by_oid(oid_for_field(f)).unwrap_or(&pg_types::TYPES[7]))
        .collect();
    Table::new()
        .text("table_catalog", same(m, s(database)))
        .text("table_schema", same(m, s(TABLE_SCHEMA)))
        .text("table_name", same(m, s(TABLE_NAME)))
        .text("column_name", fields.iter().map(|f| s(f.name())).collect())
        .int4(
            "ordinal_position",
            (1..=m).map(|i| i32::try_from(i).ok()).collect(),
        )
        .text("column_default", same(m, None))
        .text(
            "is_nullable",
            fields
                .iter()
                .map(|f| s(if f.is_nullable() { "YES" } else { "NO" }))
                .collect(),
        )
        .text(
            "data_type",
            types
                .iter()
                .map(|t| {
                    s(if t.namespace == PUBLIC_OID {
                        "USER-DEFINED"
                    } else {
                        t.sql_name
                    })
                })
                .collect(),
        )
        .int4("character_maximum_length", same(m, None))
        .int4(
            "character_octet_length",
            types
                .iter()
                .map(|t| (t.name == "text").then_some(1_073_741_824))
                .collect(),
        )
        .int4("numeric_precision", same(m, None))
        .int4("numeric_precision_radix", same(m, None))
        .int4("numeric_scale", same(m, None))
        .int4(
            "datetime_precision",
            types
                .iter()
                .map(|t| (t.category == 'D').then_some(6))
                .collect(),
        )
        .text("interval_type", same(m, None))
        .text("udt_catalog", same(m, s(database)))
        .text(
            "udt_schema",
            types
                .iter()
                .map(|t| {
                    s(if t.namespace == PUBLIC_OID {
                        "public"
                    } else {
                        "pg_catalog"
                    })
                })
                .collect(),
        )
        .text("udt_name", types.iter().map(|t| s(t.name)).collect())
        .text("is_self_referencing", same(m, s("NO")))
        .text("is_identity", same(m, s("NO")))
        .text("identity_generation", same(m, None))
        .text("is_generated", same(m, s("NEVER")))
        .text("generation_expression", same(m, None))
        .text("is_updatable", same(m, s("NO")))
        .register(&schema, "columns")?;
    Ok(schema)
}
