//! The catalog rows that describe this server: schemas, the stage table and its primary key,
//! its columns and comments, the hstore type and extension, the role, the database, and the
//! catalog relations themselves. Each row starts from a real PostgreSQL row of the same kind
//! (a template in the dump) and changes only what differs.

use std::collections::HashMap;

use datafusion::error::{DataFusionError, Result};
use stagesql_catalog::COLUMNS;

use super::data::{Dump, RelationSpec, RowBuilder, TextRow};
use crate::pg_types::{
    AWS_SCHEMA_OID, DATABASE_OID, HSTORE_ARRAY_OID, HSTORE_EXTENSION_OID, HSTORE_OID,
    INFORMATION_SCHEMA_OID, OWNER_OID, PG_CATALOG_OID, PG_CLASS_OID, PG_DATABASE_OWNER_OID,
    PG_EXTENSION_OID, PG_MONITOR_GRANTS, PG_NAMESPACE_OID, PLPGSQL_EXTENSION_OID, PREDEFINED_ROLES,
    PUBLIC_OID, STAGE_PKEY_CONSTRAINT_OID, STAGE_PKEY_INDEX_OID, STAGE_ROWTYPE_OID,
    STAGE_TABLE_OID, oid_for_field,
};
use crate::schema::{TABLE_NAME, TABLE_SCHEMA, stage_schema};
use crate::settings::Settings;

mod stage_table;
use stage_table::stage_table_extras;

/// `obj_description` of the stage table.
pub const TABLE_DESCRIPTION: &str =
    "AWS API Gateway v2 stages of every configured account and region.";

const PKEY_NAME: &str = "apigatewayv2_stage_pkey";

/// The hstore extension's I/O functions in `pg_proc` (which `pg_type.typreceive` names; Npgsql
/// finds types through that join), with the oids we give them.
pub const HSTORE_PROCS: [(&str, u32); 4] = [
    ("hstore_in", 16_393),
    ("hstore_out", 16_394),
    ("hstore_recv", 16_395),
    ("hstore_send", 16_396),
];

/// One installed extension.
pub struct Extension {
    pub oid: u32,
    pub name: &'static str,
    /// Installed, and the default.
    pub version: &'static str,
    /// Its control file's comment, PostgreSQL 15's own.
    pub comment: &'static str,
}

/// The extensions installed here (`pg_extension`, `pg_available_extensions`).
pub const EXTENSIONS: [Extension; 2] = [
    Extension {
        oid: PLPGSQL_EXTENSION_OID,
        name: "plpgsql",
        version: "1.0",
        comment: "PL/pgSQL procedural language",
    },
    Extension {
        oid: HSTORE_EXTENSION_OID,
        name: "hstore",
        version: "1.8",
        comment: "data type for storing sets of (key, value) pairs",
    },
];

/// The comment on `public` (`pg_description`, `obj_description`).
pub const PUBLIC_DESCRIPTION: &str = "standard public schema";

/// Rows by `(schema, relation)`.
pub type Rows = HashMap<(&'static str, &'static str), Vec<TextRow>>;

/// PostgreSQL's `format_type` spelling of a type name (`int4` → `integer`).
pub fn format_type_name(typname: &str) -> String {
    if let Some(element) = typname.strip_prefix('_') {
        return format!("{}[]", format_type_name(element));
    }
    match typname {
        "bool" => "boolean",
        "bpchar" => "character",
        "varchar" => "character varying",
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "timestamp" => "timestamp without time zone",
        "timestamptz" => "timestamp with time zone",
        "time" => "time without time zone",
        "timetz" => "time with time zone",
        "varbit" => "bit varying",
        "char" => "\"char\"",
        other => other,
    }
    .to_owned()
}

/// Storage facts of a type, for `pg_attribute`.
#[derive(Clone)]
struct TypeFacts {
    name: String,
    len: String,
    byval: String,
    align: String,
    storage: String,
    collation: String,
}

/// The catalog rows being built, and what building them reads: the dump, the database and
/// roles, and the facts of the types named so far.
struct CatalogRows<'a> {
    dump: &'a Dump,
    database: &'a str,
    /// The owner of every object (oid 10).
    user: &'a str,
    /// Every role, the owner first.
    roles: &'a [(u32, String)],
    types: HashMap<u32, TypeFacts>,
    rows: Rows,
}

impl<'a> CatalogRows<'a> {
    fn spec(&self, schema: &str, name: &str) -> Result<&'a RelationSpec> {
        self.dump
            .relation(schema, name)
            .ok_or_else(|| DataFusionError::Internal(format!("catalog dump lacks {schema}.{name}")))
    }

    fn template(&self, key: &str) -> Result<&'a TextRow> {
        self.dump
            .templates
            .get(key)
            .ok_or_else(|| DataFusionError::Internal(format!("catalog dump lacks template {key}")))
    }

    /// A builder for `schema.name` starting from template `key`.
    fn from(&self, schema: &str, name: &str, key: &str) -> Result<RowBuilder<'a>> {
        Ok(RowBuilder::from(
            self.spec(schema, name)?,
            self.template(key)?,
        ))
    }

    fn empty(&self, schema: &str, name: &str) -> Result<RowBuilder<'a>> {
        Ok(RowBuilder::empty(self.spec(schema, name)?))
    }

    fn push(&mut self, schema: &'static str, name: &'static str, row: TextRow) {
        self.rows.entry((schema, name)).or_default().push(row);
    }

    fn facts(&self, oid: u32) -> Result<&TypeFacts> {
        self.types
            .get(&oid)
            .ok_or_else(|| DataFusionError::Internal(format!("pg_type lacks {oid}")))
    }
}

/// One column of a relation we describe.
struct Column {
    name: String,
    type_oid: u32,
    not_null: bool,
}

/// Every relation we describe in pg_class/pg_attribute/information_schema.
struct Relation {
    oid: u32,
    schema: &'static str,
    namespace: u32,
    name: String,
    kind: &'static str,
    columns: Vec<Column>,
}

fn relations(dump: &Dump) -> Vec<Relation> {
    let mut out = vec![Relation {
        oid: STAGE_TABLE_OID,
        schema: TABLE_SCHEMA,
        namespace: AWS_SCHEMA_OID,
        name: TABLE_NAME.to_owned(),
        kind: "r",
        columns: stage_schema()
            .fields()
            .iter()
            .map(|f| Column {
                name: f.name().clone(),
                type_oid: oid_for_field(f),
                not_null: !f.is_nullable(),
            })
            .collect(),
    }];
    for r in &dump.relations {
        let (schema, namespace) = if r.schema == "pg_catalog" {
            ("pg_catalog", PG_CATALOG_OID)
        } else {
            ("information_schema", INFORMATION_SCHEMA_OID)
        };
        out.push(Relation {
            oid: r.oid,
            schema,
            namespace,
            name: r.name.clone(),
            kind: if r.kind == "r" { "r" } else { "v" },
            columns: r
                .columns
                .iter()
                .map(|(name, _, oid, not_null)| Column {
                    name: name.clone(),
                    type_oid: *oid,
                    not_null: *not_null,
                })
                .collect(),
        });
    }
    out
}

/// All rows the engine serves, by relation.
pub fn rows(dump: &Dump, database: &str, roles: &[(u32, String)]) -> Result<Rows> {
    let user = roles.first().map_or("stagesql", |(_, name)| name.as_str());
    let mut ctx = CatalogRows {
        dump,
        database,
        user,
        roles,
        types: HashMap::new(),
        rows: Rows::new(),
    };
    static_rows(&mut ctx)?;
    types(&mut ctx)?;
    namespaces(&mut ctx)?;
    let relations = relations(dump);
    for rel in &relations {
        relation_rows(&mut ctx, rel)?;
    }
    stage_table_extras(&mut ctx)?;
    roles_and_database(&mut ctx)?;
    settings(&mut ctx)?;
    Ok(ctx.rows)
}

fn static_rows(ctx: &mut CatalogRows<'_>) -> Result<()> {
    for (name, rows) in &ctx.dump.rows {
        let spec = ctx.spec("pg_catalog", name)?;
        let key: &'static str = leak_name(&spec.name);
        if name == "pg_settings" {
            continue; // rebuilt with our values in `settings`
        }
        ctx.rows
            .entry(("pg_catalog", key))
            .or_default()
            .extend(rows.iter().cloned());
    }
    Ok(())
}

/// Relation names come from the dump, which lives for the whole process.
fn leak_name(name: &str) -> &'static str {
    match super::dump() {
        Ok(d) => d
            .relations
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.name.as_str())
            .unwrap_or(""),
        Err(_) => "",
    }
}

fn types(ctx: &mut CatalogRows<'_>) -> Result<()> {
    let spec = ctx.spec("pg_catalog", "pg_type")?;
    let hstore = ctx
        .from("pg_catalog", "pg_type", "pg_type/hstore")?
        .set("oid", HSTORE_OID)
        .set("typnamespace", PUBLIC_OID)
        .set("typowner", OWNER_OID)
        .set("typarray", HSTORE_ARRAY_OID)
        .row();
    let hstore_array = ctx
        .from("pg_catalog", "pg_type", "pg_type/_hstore")?
        .set("oid", HSTORE_ARRAY_OID)
        .set("typnamespace", PUBLIC_OID)
        .set("typowner", OWNER_OID)
        .set("typelem", HSTORE_OID)
        .row();
    let rowtype = ctx
        .from("pg_catalog", "pg_type", "pg_type/table")?
        .set("oid", STAGE_ROWTYPE_OID)
        .set("typnamespace", AWS_SCHEMA_OID)
        .set("typowner", OWNER_OID)
        .set("typrelid", STAGE_TABLE_OID)
        .set("typarray", 0)
        .row();
    ctx.push("pg_catalog", "pg_type", hstore);
    for (name, oid) in HSTORE_PROCS {
        let proc = ctx
            .from("pg_catalog", "pg_proc", &format!("pg_proc/{name}"))?
            .set("oid", oid)
            .set("pronamespace", PUBLIC_OID)
            .set("proowner", OWNER_OID)
            .row();
        ctx.push("pg_catalog", "pg_proc", proc);
    }
    ctx.push("pg_catalog", "pg_type", hstore_array);
    ctx.push("pg_catalog", "pg_type", rowtype);

    let col = |n: &str| {
        spec.position(n)
            .ok_or_else(|| DataFusionError::Internal(format!("pg_type.{n} missing")))
    };
    let (oid, name, len, byval, align, storage, collation) = (
        col("oid")?,
        col("typname")?,
        col("typlen")?,
        col("typbyval")?,
        col("typalign")?,
        col("typstorage")?,
        col("typcollation")?,
    );
    let get = |r: &TextRow, i: usize| r.get(i).cloned().flatten().unwrap_or_default();
    let mut facts = HashMap::new();
    for r in ctx
        .rows
        .get(&("pg_catalog", "pg_type"))
        .into_iter()
        .flatten()
    {
        if let Ok(o) = get(r, oid).parse::<u32>() {
            facts.insert(
                o,
                TypeFacts {
                    name: get(r, name),
                    len: get(r, len),
                    byval: get(r, byval),
                    align: get(r, align),
                    storage: get(r, storage),
                    collation: get(r, collation),
                },
            );
        }
    }
    ctx.types = facts;
    Ok(())
}

fn namespaces(ctx: &mut CatalogRows<'_>) -> Result<()> {
    for (oid, name) in [
        (PG_CATALOG_OID, "pg_catalog"),
        (PUBLIC_OID, "public"),
        (INFORMATION_SCHEMA_OID, "information_schema"),
        (AWS_SCHEMA_OID, TABLE_SCHEMA),
    ] {
        let ns = ctx
            .from("pg_catalog", "pg_namespace", "pg_namespace/aws")?
            .set("oid", oid)
            .set("nspname", name)
            .set("nspowner", OWNER_OID)
            .null("nspacl");
        let public = oid == PUBLIC_OID;
        // As in every PostgreSQL 15 database: `public` belongs to `pg_database_owner`, which
        // may create in it, and everyone may use it.
        let ns = if public {
            ns.set("nspowner", PG_DATABASE_OWNER_OID).set(
                "nspacl",
                "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}",
            )
        } else {
            ns
        };
        ctx.push("pg_catalog", "pg_namespace", ns.row());
        let schemata = ctx
            .from("information_schema", "schemata", "schemata/aws")?
            .set("catalog_name", ctx.database)
            .set("schema_name", name)
            .set(
                "schema_owner",
                if public {
                    "pg_database_owner"
                } else {
                    ctx.user
                },
            )
            .row();
        ctx.push("information_schema", "schemata", schemata);
    }
    let comment = ctx
        .from("pg_catalog", "pg_description", "pg_description/table")?
        .set("objoid", PUBLIC_OID)
        .set("classoid", PG_NAMESPACE_OID)
        .set("objsubid", 0)
        .set("description", PUBLIC_DESCRIPTION)
        .row();
    ctx.push("pg_catalog", "pg_description", comment);
    Ok(())
}

/// `information_schema.columns.data_type` for a type.
fn sql_data_type(typname: &str, oid: u32) -> String {
    if typname.starts_with('_') {
        "ARRAY".to_owned()
    } else if oid >= 16_384 {
        "USER-DEFINED".to_owned()
    } else {
        format_type_name(typname)
    }
}

/// One relation's `pg_class`, `information_schema.tables` and `pg_tables`/`pg_views` rows,
/// and its columns' rows.
fn relation_rows(ctx: &mut CatalogRows<'_>, rel: &Relation) -> Result<()> {
    let ours = rel.oid == STAGE_TABLE_OID;
    let template = match (ours, rel.kind) {
        (true, _) => "pg_class/table",
        (false, "r") => "pg_class/catalog_table",
        _ => "pg_class/catalog_view",
    };
    let class = ctx
        .from("pg_catalog", "pg_class", template)?
        .set("oid", rel.oid)
        .set("relname", &rel.name)
        .set("relnamespace", rel.namespace)
        .set("reltype", if ours { STAGE_ROWTYPE_OID } else { 0 })
        .set("relowner", OWNER_OID)
        .set("relkind", rel.kind)
        .set("relnatts", rel.columns.len())
        .set("relhasindex", if ours { "t" } else { "f" })
        .set("relfilenode", 0)
        .null("relacl")
        .row();
    ctx.push("pg_catalog", "pg_class", class);

    let table_type = if rel.kind == "r" {
        "BASE TABLE"
    } else {
        "VIEW"
    };
    let tables = ctx
        .from("information_schema", "tables", "tables/table")?
        .set("table_catalog", ctx.database)
        .set("table_schema", rel.schema)
        .set("table_name", &rel.name)
        .set("table_type", table_type)
        .set("is_insertable_into", "NO")
        .row();
    ctx.push("information_schema", "tables", tables);
    if rel.kind == "r" {
        let t = ctx
            .from("pg_catalog", "pg_tables", "pg_tables/table")?
            .set("schemaname", rel.schema)
            .set("tablename", &rel.name)
            .set("tableowner", ctx.user)
            .set("hasindexes", if ours { "t" } else { "f" })
            .row();
        ctx.push("pg_catalog", "pg_tables", t);
    } else {
        let v = ctx
            .empty("pg_catalog", "pg_views")?
            .set("schemaname", rel.schema)
            .set("viewname", &rel.name)
            .set("viewowner", ctx.user)
            .row();
        ctx.push("pg_catalog", "pg_views", v);
    }
    for (i, c) in rel.columns.iter().enumerate() {
        column_rows(ctx, rel, i + 1, c)?;
    }
    Ok(())
}

/// Column `attnum` (from 1) of `rel`: its `pg_attribute` and `information_schema.columns` rows.
fn column_rows(ctx: &mut CatalogRows<'_>, rel: &Relation, attnum: usize, c: &Column) -> Result<()> {
    let facts = ctx.facts(c.type_oid)?.clone();
    let attribute = ctx
        .from("pg_catalog", "pg_attribute", "pg_attribute/column")?
        .set("attrelid", rel.oid)
        .set("attname", &c.name)
        .set("atttypid", c.type_oid)
        .set("attnum", attnum)
        .set("attnotnull", if c.not_null { "t" } else { "f" })
        .set("attlen", &facts.len)
        .set("attbyval", &facts.byval)
        .set("attalign", &facts.align)
        .set("attstorage", &facts.storage)
        .set("attcompression", "")
        .set("attcollation", &facts.collation)
        .set("atttypmod", -1)
        .set("attndims", usize::from(facts.name.starts_with('_')))
        .null("attacl")
        .row();
    ctx.push("pg_catalog", "pg_attribute", attribute);

    let mut column = ctx
        .from("information_schema", "columns", "columns/text")?
        .set("table_catalog", ctx.database)
        .set("table_schema", rel.schema)
        .set("table_name", &rel.name)
        .set("column_name", &c.name)
        .set("ordinal_position", attnum)
        .set("is_nullable", if c.not_null { "NO" } else { "YES" })
        .set("data_type", sql_data_type(&facts.name, c.type_oid))
        .set(
            "udt_schema",
            if c.type_oid >= 16_384 {
                "public"
            } else {
                "pg_catalog"
            },
        )
        .set("udt_name", &facts.name)
        .set("dtd_identifier", attnum)
        .set("is_updatable", "NO")
        .null("character_octet_length")
        .null("collation_catalog")
        .null("collation_schema")
        .null("collation_name");
    column = match facts.name.as_str() {
        "text" | "varchar" | "bpchar" => column.set("character_octet_length", 1_073_741_824),
        "timestamp" | "timestamptz" | "time" | "timetz" | "date" => column.set(
            "datetime_precision",
            if facts.name == "date" { 0 } else { 6 },
        ),
        "int2" | "int4" | "int8" | "float4" | "float8" => {
            let precision = match facts.name.as_str() {
                "int2" => 16,
                "int4" => 32,
                "int8" => 64,
                "float4" => 24,
                _ => 53,
            };
            let c = column
                .set("numeric_precision", precision)
                .set("numeric_precision_radix", 2);
            if facts.name.starts_with("int") {
                c.set("numeric_scale", 0)
            } else {
                c
            }
        }
        _ => column,
    };
    if facts.name == "name" {
        column = column
            .set("collation_catalog", ctx.database)
            .set("collation_schema", "pg_catalog")
            .set("collation_name", "C");
    }
    ctx.push("information_schema", "columns", column.row());
    Ok(())
}

/// PostgreSQL's predefined roles in `pg_roles` (`pg_database_owner` owns `public`), and
/// the roles `pg_monitor` is a member of.
fn predefined_roles(ctx: &mut CatalogRows<'_>) -> Result<()> {
    for (oid, name) in PREDEFINED_ROLES {
        let role = ctx
            .from("pg_catalog", "pg_roles", "pg_roles/user")?
            .set("oid", oid)
            .set("rolname", name)
            .set("rolsuper", "f")
            .set("rolinherit", "t")
            .set("rolcreaterole", "f")
            .set("rolcreatedb", "f")
            .set("rolcanlogin", "f")
            .set("rolreplication", "f")
            .set("rolconnlimit", -1)
            .set("rolbypassrls", "f")
            .null("rolvaliduntil")
            .null("rolconfig")
            .row();
        ctx.push("pg_catalog", "pg_roles", role);
    }
    let (monitor, granted) = PG_MONITOR_GRANTS;
    for role in granted {
        let membership = ctx
            .empty("pg_catalog", "pg_auth_members")?
            .set("roleid", role)
            .set("member", monitor)
            .set("grantor", OWNER_OID)
            .set("admin_option", "f")
            .row();
        ctx.push("pg_catalog", "pg_auth_members", membership);
    }
    Ok(())
}

/// One configured user in `pg_roles` and `pg_user`.
fn user_role(ctx: &mut CatalogRows<'_>, oid: u32, name: &str) -> Result<()> {
    let role = ctx
        .from("pg_catalog", "pg_roles", "pg_roles/user")?
        .set("oid", oid)
        .set("rolname", name)
        .set("rolsuper", "f")
        .set("rolcreaterole", "f")
        .set("rolcreatedb", "f")
        .set("rolcanlogin", "t")
        .row();
    ctx.push("pg_catalog", "pg_roles", role);
    let user = ctx
        .from("pg_catalog", "pg_user", "pg_user/user")?
        .set("usesysid", oid)
        .set("usename", name)
        .set("usesuper", "f")
        .set("usecreatedb", "f")
        .row();
    ctx.push("pg_catalog", "pg_user", user);
    Ok(())
}

fn roles_and_database(ctx: &mut CatalogRows<'_>) -> Result<()> {
    // The owner, the predefined roles, the other users: PostgreSQL's `pg_roles` order.
    let roles = ctx.roles;
    if let Some(((oid, name), others)) = roles.split_first() {
        user_role(ctx, *oid, name)?;
        predefined_roles(ctx)?;
        for (oid, name) in others {
            user_role(ctx, *oid, name)?;
        }
    }
    let enabled = ctx
        .empty("information_schema", "enabled_roles")?
        .set("role_name", ctx.user)
        .row();
    ctx.push("information_schema", "enabled_roles", enabled);
    let applicable = ctx
        .empty("information_schema", "applicable_roles")?
        .set("role_name", ctx.user)
        .set("grantee", ctx.user)
        .set("is_grantable", "NO")
        .row();
    ctx.push("information_schema", "applicable_roles", applicable);
    let db = ctx
        .from("pg_catalog", "pg_database", "pg_database/db")?
        .set("oid", DATABASE_OID)
        .set("datname", ctx.database)
        .set("datdba", OWNER_OID)
        .null("datacl")
        .row();
    ctx.push("pg_catalog", "pg_database", db);
    Ok(())
}

/// `pg_settings`: PostgreSQL's rows, with our defaults for the parameters we implement.
fn settings(ctx: &mut CatalogRows<'_>) -> Result<()> {
    let spec = ctx.spec("pg_catalog", "pg_settings")?;
    let ours: HashMap<String, String> = Settings::new(ctx.user, [])
        .all()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let name = spec.position("name");
    for row in ctx.dump.rows.get("pg_settings").into_iter().flatten() {
        let key = name
            .and_then(|i| row.get(i).cloned().flatten())
            .unwrap_or_default();
        let mut b = RowBuilder::from(spec, row)
            .null("sourcefile")
            .null("sourceline");
        if let Some(v) = ours.get(&key.to_ascii_lowercase()) {
            b = b.set("setting", v).set("reset_val", v).set("boot_val", v);
        }
        ctx.push("pg_catalog", "pg_settings", b.row());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_type_names() {
        assert_eq!(format_type_name("int4"), "integer");
        assert_eq!(
            format_type_name("_timestamp"),
            "timestamp without time zone[]"
        );
        assert_eq!(format_type_name("hstore"), "hstore");
        assert_eq!(format_type_name("char"), "\"char\"");
    }
}
