//! Which PostgreSQL type each Arrow field is presented as.
//!
//! Only standard type OIDs are used, except hstore, which has no fixed OID in PostgreSQL either
//! (it is an extension type); we give it [`HSTORE_OID`] and the catalog tables agree.

use std::sync::LazyLock;

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use pgwire::api::Type;
use postgres_types::Kind;
use stagesql_engine::schema::{PG_HSTORE, PG_JSON, pg_type_tag};

/// The OID we give hstore (the first OID PostgreSQL hands to an extension type in a fresh
/// cluster is in this range; it only has to be stable and agree with our catalog).
pub const HSTORE_OID: u32 = 16385;
/// The OID of hstore's array type.
pub const HSTORE_ARRAY_OID: u32 = 16390;

/// The `hstore` type.
pub static HSTORE: LazyLock<Type> = LazyLock::new(|| {
    Type::new(
        "hstore".to_owned(),
        HSTORE_OID,
        Kind::Simple,
        "public".to_owned(),
    )
});

/// The PostgreSQL type of an Arrow field: the json/hstore tag wins, then the Arrow type decides.
pub fn pg_type(field: &Field) -> Type {
    match pg_type_tag(field) {
        Some(PG_JSON) => Type::JSON,
        Some(PG_HSTORE) => HSTORE.clone(),
        _ => pg_type_of(field.data_type()),
    }
}

/// The PostgreSQL type for an Arrow data type with no tag.
pub fn pg_type_of(dt: &DataType) -> Type {
    match dt {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 => Type::INT8,
        DataType::UInt64 | DataType::Decimal32(..) | DataType::Decimal64(..) => Type::NUMERIC,
        DataType::Decimal128(..) | DataType::Decimal256(..) => Type::NUMERIC,
        DataType::Float16 | DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Type::TEXT,
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => Type::BYTEA,
        DataType::Date32 | DataType::Date64 => Type::DATE,
        DataType::Time32(_) | DataType::Time64(_) => Type::TIME,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        DataType::Interval(_) | DataType::Duration(_) => Type::INTERVAL,
        DataType::Null => Type::TEXT,
        DataType::Dictionary(_, value) => pg_type_of(value),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            array_of(&pg_type(f))
        }
        _ => Type::TEXT,
    }
}

/// The array type whose elements are `elem`; text[] when there is none.
pub fn array_of(elem: &Type) -> Type {
    match *elem {
        Type::BOOL => Type::BOOL_ARRAY,
        Type::INT2 => Type::INT2_ARRAY,
        Type::INT4 => Type::INT4_ARRAY,
        Type::INT8 => Type::INT8_ARRAY,
        Type::FLOAT4 => Type::FLOAT4_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::NUMERIC => Type::NUMERIC_ARRAY,
        Type::BYTEA => Type::BYTEA_ARRAY,
        Type::DATE => Type::DATE_ARRAY,
        Type::TIME => Type::TIME_ARRAY,
        Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
        Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
        Type::INTERVAL => Type::INTERVAL_ARRAY,
        Type::JSON => Type::JSON_ARRAY,
        _ => Type::TEXT_ARRAY,
    }
}

/// The Arrow type a parameter of PostgreSQL type `ty` is decoded to.
pub fn arrow_type_of(ty: &Type) -> Option<DataType> {
    Some(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 | Type::OID => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 | Type::NUMERIC => DataType::Float64,
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::JSON
        | Type::JSONB
        | Type::UNKNOWN
        | Type::CHAR => DataType::Utf8,
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagesql_engine::schema::stage_schema;

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
                "text", "json", "text", "bool", "bool", "text", "timestamp", "json", "text",
                "text", "text", "timestamp", "text", "text", "text", "hstore", "hstore", "text",
                "text"
            ]
        );
        assert_eq!(pg_type(schema.field(16)).oid(), HSTORE_OID);
    }
}
