//! The Arrow schema of `aws.apigatewayv2_stage`, and how PostgreSQL types ride along in Arrow.
//!
//! Arrow has no json or hstore type, so both are `Utf8` with the PostgreSQL type name in the
//! field metadata under [`PG_TYPE_KEY`]. DataFusion carries field metadata through column
//! references and our functions set it on what they return, so the wire layer can describe a
//! `tags` column as hstore and `access_log_settings -> 'format'` as json.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use stagesql_catalog::{COLUMNS, ColumnType};

/// Field-metadata key holding the PostgreSQL type name of a `Utf8` field that is not plain text.
pub const PG_TYPE_KEY: &str = "stagesql.pg_type";
/// [`PG_TYPE_KEY`] value for json.
pub const PG_JSON: &str = "json";
/// [`PG_TYPE_KEY`] value for jsonb (its text is canonical, see `semantics::json`).
pub const PG_JSONB: &str = "jsonb";
/// [`PG_TYPE_KEY`] value for hstore.
pub const PG_HSTORE: &str = "hstore";
/// [`PG_TYPE_KEY`] value for PostgreSQL's one-byte `"char"` (catalog flags such as `relkind`).
pub const PG_CHAR: &str = "char";
/// Tag of an `int2vector` column (a list of int2, zero-based, text form `1 2`).
pub const PG_INT2VECTOR: &str = "int2vector";
/// Tag of a `name` column (catalog identifiers: `relname`, `nspname`, `typname`).
pub const PG_NAME: &str = "name";
/// Tag of an `oidvector` column (a list of oid, zero-based, text form `23 25`).
pub const PG_OIDVECTOR: &str = "oidvector";

/// Schema name the table lives in.
pub const TABLE_SCHEMA: &str = "aws";
/// The table's name.
pub const TABLE_NAME: &str = "apigatewayv2_stage";

/// The table's Arrow schema, built once.
pub fn stage_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(
            COLUMNS
                .iter()
                .map(|c| arrow_field(c.name, c.ty, c.nullable))
                .collect::<Vec<_>>(),
        ))
    });
    Arc::clone(&SCHEMA)
}

/// The Arrow field for a column of PostgreSQL type `ty`.
pub fn arrow_field(name: &str, ty: ColumnType, nullable: bool) -> Field {
    let field = Field::new(name, arrow_type(ty), nullable);
    match ty {
        ColumnType::Json => tagged(field, PG_JSON),
        ColumnType::Hstore => tagged(field, PG_HSTORE),
        ColumnType::Text | ColumnType::Boolean | ColumnType::Timestamp => field,
    }
}

/// The Arrow type a PostgreSQL column type is stored as.
pub fn arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Text | ColumnType::Json | ColumnType::Hstore => DataType::Utf8,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
    }
}

/// `field` marked as holding PostgreSQL type `pg_type`.
pub fn tagged(field: Field, pg_type: &str) -> Field {
    field.with_metadata(HashMap::from([(
        PG_TYPE_KEY.to_owned(),
        pg_type.to_owned(),
    )]))
}

/// A nullable `Utf8` field marked as json.
pub fn json_field(name: &str) -> FieldRef {
    Arc::new(tagged(Field::new(name, DataType::Utf8, true), PG_JSON))
}

/// A nullable `Utf8` field marked as jsonb.
pub fn jsonb_field(name: &str) -> FieldRef {
    Arc::new(tagged(Field::new(name, DataType::Utf8, true), PG_JSONB))
}

/// A nullable `Utf8` field marked as hstore.
pub fn hstore_field(name: &str) -> FieldRef {
    Arc::new(tagged(Field::new(name, DataType::Utf8, true), PG_HSTORE))
}

/// The PostgreSQL type tag of a field, if it carries one.
pub fn pg_type_tag(field: &Field) -> Option<&str> {
    field.metadata().get(PG_TYPE_KEY).map(String::as_str)
}

/// Whether `field` holds hstore text.
pub fn is_hstore(field: &Field) -> bool {
    pg_type_tag(field) == Some(PG_HSTORE)
}

/// Whether `field` holds json text (not jsonb).
pub fn is_json(field: &Field) -> bool {
    pg_type_tag(field) == Some(PG_JSON)
}

/// Whether `field` holds jsonb text.
pub fn is_jsonb(field: &Field) -> bool {
    pg_type_tag(field) == Some(PG_JSONB)
}
