//! PostgreSQL types: the one table of type OIDs and names used both by the wire (RowDescription,
//! ParameterDescription) and by the catalog tables (`pg_type`, `pg_attribute`,
//! `information_schema.columns`), so the two can never disagree.

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};

use crate::schema::{
    PG_CHAR, PG_HSTORE, PG_INT2VECTOR, PG_JSON, PG_JSONB, PG_NAME, PG_OIDVECTOR, pg_type_tag,
};

/// OID of `pg_catalog`.
pub const PG_CATALOG_OID: u32 = 11;
/// OID of `public`.
pub const PUBLIC_OID: u32 = 2200;
/// OID of `information_schema`.
pub const INFORMATION_SCHEMA_OID: u32 = 13_183;
/// OID of the `aws` schema.
pub const AWS_SCHEMA_OID: u32 = 16_384;
/// OID of `aws.apigatewayv2_stage` in `pg_class`.
pub const STAGE_TABLE_OID: u32 = 16_386;
/// OID of the hstore type. hstore is an extension type with no fixed OID in PostgreSQL; this is
/// in the range a fresh cluster gives its first extension, and every place here agrees on it.
pub const HSTORE_OID: u32 = 16_385;
/// OID of `hstore[]`.
pub const HSTORE_ARRAY_OID: u32 = 16_390;
/// OID of the row type of `aws.apigatewayv2_stage`.
pub const STAGE_ROWTYPE_OID: u32 = 16_387;
/// OID of the table's primary-key index, `aws.apigatewayv2_stage_pkey`.
pub const STAGE_PKEY_INDEX_OID: u32 = 16_389;
/// OID of the table's primary-key constraint in `pg_constraint`.
pub const STAGE_PKEY_CONSTRAINT_OID: u32 = 16_391;
/// OID of the hstore extension in `pg_extension`.
pub const HSTORE_EXTENSION_OID: u32 = 16_392;
/// The plpgsql extension's OID (as in every PostgreSQL 15 database).
pub const PLPGSQL_EXTENSION_OID: u32 = 13_559;
/// OID of the database in `pg_database`.
pub const DATABASE_OID: u32 = 16_383;
/// OID of the one role, the configured user, which owns every object (as the bootstrap
/// superuser does in PostgreSQL).
pub const OWNER_OID: u32 = 10;

/// The oid of the first login role after the owner; the others follow.
pub const FIRST_ROLE_OID: u32 = 16500;

/// PostgreSQL 15's predefined roles, which every cluster has (no one logs in as them): oid and
/// name, in PostgreSQL's `pg_roles` order (after the bootstrap owner, before other roles). `pg_database_owner` owns `public`.
pub const PREDEFINED_ROLES: [(u32, &str); 12] = [
    (PG_DATABASE_OWNER_OID, "pg_database_owner"),
    (6181, "pg_read_all_data"),
    (6182, "pg_write_all_data"),
    (3373, "pg_monitor"),
    (3374, "pg_read_all_settings"),
    (3375, "pg_read_all_stats"),
    (3377, "pg_stat_scan_tables"),
    (4569, "pg_read_server_files"),
    (4570, "pg_write_server_files"),
    (4571, "pg_execute_server_program"),
    (4200, "pg_signal_backend"),
    (4544, "pg_checkpoint"),
];
/// `pg_database_owner`: whoever owns the current database (it owns `public`).
pub const PG_DATABASE_OWNER_OID: u32 = 6171;
/// `pg_monitor` and the predefined roles it is a member of (`pg_auth_members`):
/// `pg_read_all_settings`, `pg_read_all_stats`, `pg_stat_scan_tables`.
pub const PG_MONITOR_GRANTS: (u32, [u32; 3]) = (3373, [3374, 3375, 3377]);

/// Every role with its oid: the owner (10) first, then the other users.
pub fn roles(owner: &str, others: &[String]) -> Vec<(u32, String)> {
    std::iter::once((OWNER_OID, owner.to_owned()))
        .chain(
            others
                .iter()
                .filter(|u| u.as_str() != owner)
                .zip(FIRST_ROLE_OID..)
                .map(|(u, oid)| (oid, u.clone())),
        )
        .collect()
}
/// OID of `pg_class` itself (the `classoid` of relations in `pg_description`).
pub const PG_CLASS_OID: u32 = 1259;
/// `pg_namespace`'s OID (the `classoid` of a schema's comment).
pub const PG_NAMESPACE_OID: u32 = 2615;
/// `pg_extension`'s OID (the `classoid` of an extension's comment).
pub const PG_EXTENSION_OID: u32 = 3079;

/// One row of `pg_type`.
#[derive(Debug, Clone, Copy)]
pub struct PgType {
    /// `oid`.
    pub oid: u32,
    /// `typname`.
    pub name: &'static str,
    /// `typnamespace`.
    pub namespace: u32,
    /// `typlen`: byte width, or -1 for variable length.
    pub len: i16,
    /// `typcategory`.
    pub category: char,
    /// `typelem`: element type of an array type, else 0.
    pub elem: u32,
    /// `typarray`: the array type of this type, else 0.
    pub array: u32,
    /// `format_type` output, e.g. `timestamp without time zone`.
    pub sql_name: &'static str,
}

const fn t(
    oid: u32,
    name: &'static str,
    len: i16,
    category: char,
    array: u32,
    sql_name: &'static str,
) -> PgType {
    PgType {
        oid,
        name,
        namespace: PG_CATALOG_OID,
        len,
        category,
        elem: 0,
        array,
        sql_name,
    }
}

const fn a(oid: u32, name: &'static str, elem: u32, sql_name: &'static str) -> PgType {
    PgType {
        oid,
        name,
        namespace: PG_CATALOG_OID,
        len: -1,
        category: 'A',
        elem,
        array: 0,
        sql_name,
    }
}

/// Every type the server can send or receive.
pub static TYPES: &[PgType] = &[
    t(16, "bool", 1, 'B', 1000, "boolean"),
    t(17, "bytea", -1, 'U', 1001, "bytea"),
    t(18, "char", 1, 'Z', 1002, "\"char\""),
    t(19, "name", 64, 'S', 1003, "name"),
    t(20, "int8", 8, 'N', 1016, "bigint"),
    t(21, "int2", 2, 'N', 1005, "smallint"),
    t(22, "int2vector", -1, 'A', 1006, "int2vector"),
    t(23, "int4", 4, 'N', 1007, "integer"),
    t(25, "text", -1, 'S', 1009, "text"),
    t(26, "oid", 4, 'N', 1028, "oid"),
    t(30, "oidvector", -1, 'A', 1013, "oidvector"),
    t(114, "json", -1, 'U', 199, "json"),
    t(700, "float4", 4, 'N', 1021, "real"),
    t(701, "float8", 8, 'N', 1022, "double precision"),
    t(705, "unknown", -2, 'X', 0, "unknown"),
    t(1042, "bpchar", -1, 'S', 1014, "character"),
    t(1043, "varchar", -1, 'S', 1015, "character varying"),
    t(1082, "date", 4, 'D', 1182, "date"),
    t(1083, "time", 8, 'D', 1183, "time without time zone"),
    t(
        1114,
        "timestamp",
        8,
        'D',
        1115,
        "timestamp without time zone",
    ),
    t(
        1184,
        "timestamptz",
        8,
        'D',
        1185,
        "timestamp with time zone",
    ),
    t(1186, "interval", 16, 'T', 1187, "interval"),
    t(1700, "numeric", -1, 'N', 1231, "numeric"),
    t(2950, "uuid", 16, 'U', 2951, "uuid"),
    t(3802, "jsonb", -1, 'U', 3807, "jsonb"),
    a(199, "_json", 114, "json[]"),
    a(1000, "_bool", 16, "boolean[]"),
    a(1001, "_bytea", 17, "bytea[]"),
    a(1002, "_char", 18, "\"char\"[]"),
    a(1003, "_name", 19, "name[]"),
    a(1005, "_int2", 21, "smallint[]"),
    a(1006, "_int2vector", 22, "int2vector[]"),
    a(1007, "_int4", 23, "integer[]"),
    a(1009, "_text", 25, "text[]"),
    a(1014, "_bpchar", 1042, "character[]"),
    a(1015, "_varchar", 1043, "character varying[]"),
    a(1016, "_int8", 20, "bigint[]"),
    a(1021, "_float4", 700, "real[]"),
    a(1022, "_float8", 701, "double precision[]"),
    a(1013, "_oidvector", 30, "oidvector[]"),
    a(1028, "_oid", 26, "oid[]"),
    a(1115, "_timestamp", 1114, "timestamp without time zone[]"),
    a(1182, "_date", 1082, "date[]"),
    a(1183, "_time", 1083, "time without time zone[]"),
    a(1185, "_timestamptz", 1184, "timestamp with time zone[]"),
    a(1187, "_interval", 1186, "interval[]"),
    a(1231, "_numeric", 1700, "numeric[]"),
    a(2951, "_uuid", 2950, "uuid[]"),
    a(3807, "_jsonb", 3802, "jsonb[]"),
    PgType {
        oid: HSTORE_OID,
        name: "hstore",
        namespace: PUBLIC_OID,
        len: -1,
        category: 'U',
        elem: 0,
        array: HSTORE_ARRAY_OID,
        sql_name: "hstore",
    },
    PgType {
        oid: HSTORE_ARRAY_OID,
        name: "_hstore",
        namespace: PUBLIC_OID,
        len: -1,
        category: 'A',
        elem: HSTORE_OID,
        array: 0,
        sql_name: "hstore[]",
    },
];

/// The type with `oid`, if we know it.
pub fn by_oid(oid: u32) -> Option<&'static PgType> {
    TYPES.iter().find(|t| t.oid == oid)
}

/// The type OID an Arrow field is presented as: the json/hstore tag wins, then the Arrow type.
pub fn oid_for_field(field: &Field) -> u32 {
    match pg_type_tag(field) {
        Some(PG_JSON) => 114,
        Some(PG_JSONB) => 3802,
        Some(PG_HSTORE) => HSTORE_OID,
        Some(PG_CHAR) => 18,
        Some(PG_NAME) => 19,
        Some(PG_INT2VECTOR) => 22,
        Some(PG_OIDVECTOR) => 30,
        _ => oid_for_type(field.data_type()),
    }
}

/// The type OID for an untagged Arrow type.
pub fn oid_for_type(dt: &DataType) -> u32 {
    match dt {
        DataType::Boolean => 16,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => 21,
        DataType::Int32 | DataType::UInt16 => 23,
        DataType::Int64 => 20,
        // Object identifiers are the one place Arrow's UInt32 appears; PostgreSQL's oid is an
        // unsigned 32-bit integer, and clients bind oid parameters with that type.
        DataType::UInt32 => 26,
        // row_number(), rank(), dense_rank(), ntile(): bigint in PostgreSQL.
        DataType::UInt64 => 20,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => 1700,
        DataType::Float16 | DataType::Float32 => 700,
        DataType::Float64 => 701,
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => 17,
        DataType::Date32 | DataType::Date64 => 1082,
        DataType::Time32(_) | DataType::Time64(_) => 1083,
        DataType::Timestamp(_, None) => 1114,
        DataType::Timestamp(_, Some(_)) => 1184,
        DataType::Interval(_) | DataType::Duration(_) => 1186,
        DataType::Dictionary(_, value) => oid_for_type(value),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            by_oid(oid_for_field(f))
                .map(|t| t.array)
                .filter(|a| *a != 0)
                .unwrap_or(1009)
        }
        _ => 25,
    }
}

/// The Arrow type a parameter of type `oid` is decoded to.
pub fn arrow_type_for_oid(oid: u32) -> Option<DataType> {
    Some(match oid {
        16 => DataType::Boolean,
        21 => DataType::Int16,
        23 => DataType::Int32,
        20 => DataType::Int64,
        26 => DataType::UInt32,
        700 => DataType::Float32,
        701 | 1700 => DataType::Float64,
        17 => DataType::Binary,
        1082 => DataType::Date32,
        1114 => DataType::Timestamp(TimeUnit::Microsecond, None),
        1184 => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        18 | 19 | 25 | 114 | 705 | 1042 | 1043 | 3802 | HSTORE_OID => DataType::Utf8,
        // An array type (`_oid`, `oid[]`): a list of its element's type.
        _ => match by_oid(oid) {
            Some(ty) if ty.elem != 0 && ty.name.starts_with('_') => {
                DataType::new_list(arrow_type_for_oid(ty.elem)?, true)
            }
            _ => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_elements_point_at_each_other() {
        for ty in TYPES {
            if ty.array != 0 {
                let arr =
                    by_oid(ty.array).unwrap_or_else(|| panic!("{} has no array row", ty.name));
                assert_eq!(arr.elem, ty.oid, "{}", arr.name);
            }
            if ty.elem != 0 {
                assert!(by_oid(ty.elem).is_some(), "{} has no element row", ty.name);
            }
        }
    }
}
