//! Rows describing the stage table beyond its columns: its comments, its primary key on
//! `_key` (index, constraint, information_schema constraint views), its privilege, its
//! statistics row, and the hstore extension its columns use.

#[allow(unused_imports)]
use super::*;
/// The stage table's comments, primary key, statistics and privileges.
pub(super) fn stage_table_extras(ctx: &mut CatalogRows<'_>) -> Result<()> {
    descriptions(ctx)?;
    primary_key(ctx)?;
    constraint_views(ctx)?;
    privilege_and_statistics(ctx)?;
    extensions(ctx)?;
    Ok(())
}

/// The table's and its columns' comments (`pg_description`).
fn descriptions(ctx: &mut CatalogRows<'_>) -> Result<()> {
    let mut descriptions = vec![(0usize, TABLE_DESCRIPTION)];
    descriptions.extend(
        COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| (i + 1, c.description)),
    );
    for (subid, text) in descriptions {
        let d = ctx
            .from("pg_catalog", "pg_description", "pg_description/table")?
            .set("objoid", STAGE_TABLE_OID)
            .set("classoid", PG_CLASS_OID)
            .set("objsubid", subid)
            .set("description", text)
            .row();
        ctx.push("pg_catalog", "pg_description", d);
    }
    Ok(())
}

/// The primary key on `_key`: its index, `pg_index`, its constraint and `pg_indexes`.
fn primary_key(ctx: &mut CatalogRows<'_>) -> Result<()> {
    let index = ctx
        .from("pg_catalog", "pg_class", "pg_class/index")?
        .set("oid", STAGE_PKEY_INDEX_OID)
        .set("relname", PKEY_NAME)
        .set("relnamespace", AWS_SCHEMA_OID)
        .set("relowner", OWNER_OID)
        .set("relfilenode", 0)
        .null("relacl")
        .row();
    ctx.push("pg_catalog", "pg_class", index);
    let facts = ctx.facts(25)?.clone();
    let index_column = ctx
        .from("pg_catalog", "pg_attribute", "pg_attribute/index_column")?
        .set("attrelid", STAGE_PKEY_INDEX_OID)
        .set("attname", "_key")
        .set("atttypid", 25)
        .set("attcollation", &facts.collation)
        .row();
    ctx.push("pg_catalog", "pg_attribute", index_column);
    let pg_index = ctx
        .from("pg_catalog", "pg_index", "pg_index/pkey")?
        .set("indexrelid", STAGE_PKEY_INDEX_OID)
        .set("indrelid", STAGE_TABLE_OID)
        .row();
    ctx.push("pg_catalog", "pg_index", pg_index);
    let constraint = ctx
        .from("pg_catalog", "pg_constraint", "pg_constraint/pkey")?
        .set("oid", STAGE_PKEY_CONSTRAINT_OID)
        .set("conname", PKEY_NAME)
        .set("connamespace", AWS_SCHEMA_OID)
        .set("conrelid", STAGE_TABLE_OID)
        .set("conindid", STAGE_PKEY_INDEX_OID)
        .row();
    ctx.push("pg_catalog", "pg_constraint", constraint);
    let indexes = ctx
        .from("pg_catalog", "pg_indexes", "pg_indexes/pkey")?
        .set("schemaname", TABLE_SCHEMA)
        .set("tablename", TABLE_NAME)
        .set("indexname", PKEY_NAME)
        .set(
            "indexdef",
            format!(
                "CREATE UNIQUE INDEX {PKEY_NAME} ON {TABLE_SCHEMA}.{TABLE_NAME} USING btree (_key)"
            ),
        )
        .row();
    ctx.push("pg_catalog", "pg_indexes", indexes);
    Ok(())
}

/// The information_schema views of the key and of the NOT NULL checks.
fn constraint_views(ctx: &mut CatalogRows<'_>) -> Result<()> {
    let (db, schema, table) = (ctx.database, TABLE_SCHEMA, TABLE_NAME);
    let constraint_row = |name: &str, kind: &str| -> Result<TextRow> {
        Ok(ctx
            .empty("information_schema", "table_constraints")?
            .set("constraint_catalog", db)
            .set("constraint_schema", schema)
            .set("constraint_name", name)
            .set("table_catalog", db)
            .set("table_schema", schema)
            .set("table_name", table)
            .set("constraint_type", kind)
            .set("is_deferrable", "NO")
            .set("initially_deferred", "NO")
            .set("enforced", "YES")
            .row())
    };
    let mut constraints = vec![constraint_row(PKEY_NAME, "PRIMARY KEY")?];
    let mut checks = Vec::new();
    for (i, c) in COLUMNS.iter().enumerate() {
        if !c.nullable {
            // PostgreSQL 15 shows each NOT NULL as a CHECK constraint named like this.
            let name = format!("{AWS_SCHEMA_OID}_{STAGE_TABLE_OID}_{}_not_null", i + 1);
            constraints.push(constraint_row(&name, "CHECK")?);
            checks.push(
                ctx.empty("information_schema", "check_constraints")?
                    .set("constraint_catalog", db)
                    .set("constraint_schema", schema)
                    .set("constraint_name", &name)
                    .set("check_clause", format!("{} IS NOT NULL", c.name))
                    .row(),
            );
        }
    }
    for c in constraints {
        ctx.push("information_schema", "table_constraints", c);
    }
    for c in checks {
        ctx.push("information_schema", "check_constraints", c);
    }
    let key_usage = ctx
        .empty("information_schema", "key_column_usage")?
        .set("constraint_catalog", db)
        .set("constraint_schema", schema)
        .set("constraint_name", PKEY_NAME)
        .set("table_catalog", db)
        .set("table_schema", schema)
        .set("table_name", table)
        .set("column_name", "_key")
        .set("ordinal_position", 1)
        .row();
    ctx.push("information_schema", "key_column_usage", key_usage);
    let usage = ctx
        .empty("information_schema", "constraint_column_usage")?
        .set("table_catalog", db)
        .set("table_schema", schema)
        .set("table_name", table)
        .set("column_name", "_key")
        .set("constraint_catalog", db)
        .set("constraint_schema", schema)
        .set("constraint_name", PKEY_NAME)
        .row();
    ctx.push("information_schema", "constraint_column_usage", usage);
    Ok(())
}

/// The owner's SELECT privilege and the statistics rows (all zero).
fn privilege_and_statistics(ctx: &mut CatalogRows<'_>) -> Result<()> {
    let db = ctx.database;
    let privilege = ctx
        .from(
            "information_schema",
            "table_privileges",
            "table_privileges/select",
        )?
        .set("grantor", ctx.user)
        .set("grantee", ctx.user)
        .set("table_catalog", db)
        .row();
    ctx.push("information_schema", "table_privileges", privilege);

    for relation in ["pg_stat_user_tables", "pg_stat_all_tables"] {
        let spec = ctx.spec("pg_catalog", relation)?;
        let mut stat = RowBuilder::from(spec, ctx.template("pg_stat_user_tables/table")?)
            .set("relid", STAGE_TABLE_OID)
            .set("schemaname", TABLE_SCHEMA)
            .set("relname", TABLE_NAME);
        for (name, ty, _, _) in &spec.columns {
            match ty.as_str() {
                "int8" => stat = stat.set(name, 0),
                "timestamptz" => stat = stat.null(name),
                _ => {}
            }
        }
        ctx.push("pg_catalog", leak_name(relation), stat.row());
    }
    Ok(())
}

/// The extensions: plpgsql, and hstore, which the columns use.
fn extensions(ctx: &mut CatalogRows<'_>) -> Result<()> {
    let hstore = ctx
        .from("pg_catalog", "pg_extension", "pg_extension/hstore")?
        .set("oid", HSTORE_EXTENSION_OID)
        .set("extowner", OWNER_OID)
        .set("extnamespace", PUBLIC_OID)
        .row();
    let plpgsql = ctx
        .from("pg_catalog", "pg_extension", "pg_extension/plpgsql")?
        .set("oid", PLPGSQL_EXTENSION_OID)
        .set("extowner", OWNER_OID)
        .row();
    ctx.push("pg_catalog", "pg_extension", plpgsql);
    ctx.push("pg_catalog", "pg_extension", hstore);
    for e in &super::EXTENSIONS {
        // CREATE EXTENSION stores its control file's comment (`\\dx` shows it).
        let d = ctx
            .from("pg_catalog", "pg_description", "pg_description/table")?
            .set("objoid", e.oid)
            .set("classoid", PG_EXTENSION_OID)
            .set("objsubid", 0)
            .set("description", e.comment)
            .row();
        ctx.push("pg_catalog", "pg_description", d);
        let available = ctx
            .empty("pg_catalog", "pg_available_extensions")?
            .set("name", e.name)
            .set("default_version", e.version)
            .set("installed_version", e.version)
            .set("comment", e.comment)
            .row();
        ctx.push("pg_catalog", "pg_available_extensions", available);
    }
    Ok(())
}
