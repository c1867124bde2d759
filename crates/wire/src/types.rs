//! Which PostgreSQL type each Arrow field is presented as, as pgwire `Type`s.
//!
//! The OIDs come from `stagesql_engine::pg_types`, the same table the catalog tables are built
//! from, so RowDescription and `pg_attribute` always agree.

use std::sync::LazyLock;

use datafusion::arrow::datatypes::{DataType, Field};
use pgwire::api::Type;
use postgres_types::Kind;
use stagesql_engine::values::{
    self as pg_types, HSTORE_ARRAY_OID, HSTORE_OID, oid_for_field, oid_for_type,
};

/// The `hstore` type (an extension type: not in pgwire's built-in table).
pub static HSTORE: LazyLock<Type> = LazyLock::new(|| {
    Type::new(
        "hstore".to_owned(),
        HSTORE_OID,
        Kind::Simple,
        "public".to_owned(),
    )
});

/// The `hstore[]` type.
pub static HSTORE_ARRAY: LazyLock<Type> = LazyLock::new(|| {
    Type::new(
        "_hstore".to_owned(),
        HSTORE_ARRAY_OID,
        Kind::Array(HSTORE.clone()),
        "public".to_owned(),
    )
});

/// The pgwire type for `oid`; text for an OID we do not know (never happens for our own OIDs).
pub fn type_for_oid(oid: u32) -> Type {
    match oid {
        HSTORE_OID => HSTORE.clone(),
        HSTORE_ARRAY_OID => HSTORE_ARRAY.clone(),
        _ => Type::from_oid(oid).unwrap_or(Type::TEXT),
    }
}

/// The PostgreSQL type of an Arrow field: the json/hstore tag wins, then the Arrow type decides.
pub fn pg_type(field: &Field) -> Type {
    type_for_oid(oid_for_field(field))
}

/// The PostgreSQL type for an Arrow data type with no tag.
pub fn pg_type_of(dt: &DataType) -> Type {
    type_for_oid(oid_for_type(dt))
}

/// The Arrow type a parameter of PostgreSQL type `ty` is decoded to.
pub fn arrow_type_of(ty: &Type) -> Option<DataType> {
    pg_types::arrow_type_for_oid(ty.oid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagesql_engine::values::stage_schema;

    #[test]
    fn table_columns_have_the_documented_types() {
        let schema = stage_schema();
        let names: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| pg_type(f).name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "text",
                "json",
                "text",
                "bool",
                "bool",
                "text",
                "timestamp",
                "json",
                "text",
                "text",
                "text",
                "timestamp",
                "text",
                "text",
                "text",
                "hstore",
                "hstore",
                "text",
                "text"
            ]
        );
        assert_eq!(pg_type(schema.field(16)).oid(), HSTORE_OID);
    }

    #[test]
    fn every_engine_type_is_known_to_pgwire() {
        for t in pg_types::TYPES {
            let ty = type_for_oid(t.oid);
            assert_eq!(ty.oid(), t.oid, "{}", t.name);
            assert_eq!(ty.name(), t.name, "{}", t.name);
        }
    }
}
