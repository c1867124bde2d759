"""Regenerates pg_catalog.json from a real PostgreSQL: the column lists of the system
relations we emulate, the built-in rows of pg_type/pg_proc/pg_am/..., and template rows.

The engine builds its pg_catalog and information_schema from this file (see
src/pg_catalog/), so the column names, order and types are PostgreSQL's own.

Usage (a throwaway cluster holding the stage table, the hstore extension and a read-only
role, as tests/clients/README.md describes):
    python3 dump.py "host=127.0.0.1 port=55432 user=postgres dbname=stagesql"
"""

import json
import sys

import psycopg

# Relations served, by schema. Rows of these come from the engine, static data or nothing.
RELATIONS = {
    "pg_catalog": [
        "pg_am", "pg_attrdef", "pg_attribute", "pg_auth_members", "pg_class", "pg_collation",
        "pg_constraint", "pg_conversion", "pg_database", "pg_db_role_setting", "pg_depend",
        "pg_description", "pg_enum", "pg_event_trigger", "pg_extension",
        "pg_foreign_data_wrapper", "pg_foreign_server", "pg_foreign_table", "pg_index",
        "pg_indexes", "pg_inherits", "pg_language", "pg_locks", "pg_matviews", "pg_namespace",
        "pg_opclass", "pg_operator", "pg_partitioned_table", "pg_policy", "pg_proc",
        "pg_publication", "pg_publication_namespace", "pg_publication_rel", "pg_range",
        "pg_rewrite", "pg_roles", "pg_sequence", "pg_sequences", "pg_settings",
        "pg_shdescription", "pg_stat_activity", "pg_stat_all_tables", "pg_stat_user_tables",
        "pg_statistic_ext", "pg_tables", "pg_tablespace", "pg_trigger", "pg_type", "pg_user",
        "pg_views", "pg_cast", "pg_aggregate", "pg_stat_user_indexes", "pg_statio_user_tables",
        "pg_available_extensions", "pg_timezone_names", "pg_prepared_statements", "pg_cursors",
    ],
    "information_schema": [
        "schemata", "tables", "columns", "views", "table_constraints", "key_column_usage",
        "referential_constraints", "constraint_column_usage", "check_constraints", "routines",
        "table_privileges", "column_privileges", "character_sets", "parameters", "sequences",
        "triggers", "domains", "element_types", "enabled_roles", "applicable_roles",
    ],
}

# Static rows copied whole (system objects only: oid < 16384).
STATIC = {
    "pg_type": "SELECT * FROM pg_type WHERE oid < 16384 AND typtype <> 'c' ORDER BY oid",
    "pg_am": "SELECT * FROM pg_am ORDER BY oid",
    "pg_range": "SELECT * FROM pg_range ORDER BY rngtypid",
    "pg_collation": "SELECT * FROM pg_collation WHERE collname IN ('default', 'C', 'POSIX', 'ucs_basic') ORDER BY oid",
    "pg_language": "SELECT * FROM pg_language ORDER BY oid",
    "pg_tablespace": "SELECT * FROM pg_tablespace ORDER BY oid",
    "pg_opclass": "SELECT * FROM pg_opclass WHERE opcmethod = 403 ORDER BY oid",
    "pg_cast": "SELECT * FROM pg_cast ORDER BY oid",
    "pg_settings": "SELECT * FROM pg_settings ORDER BY name",
}

# pg_proc: the functions pg_type and pg_am refer to, and the ones the engine implements.
PROC_NAMES = [
    "version", "current_database", "current_schema", "current_schemas", "current_user",
    "session_user", "current_setting", "set_config", "has_table_privilege",
    "has_any_column_privilege", "has_schema_privilege", "has_database_privilege",
    "pg_get_userbyid", "pg_table_is_visible", "pg_type_is_visible", "pg_get_expr",
    "pg_get_constraintdef", "pg_get_indexdef", "pg_get_partkeydef", "format_type",
    "col_description", "obj_description", "shobj_description", "pg_encoding_to_char",
    "pg_get_keywords", "pg_get_function_result", "pg_get_function_arguments",
    "pg_relation_size", "pg_total_relation_size", "pg_stat_get_numscans", "to_regtype",
    "to_regclass", "quote_ident", "parse_ident", "pg_backend_pid", "pg_postmaster_start_time",
    "pg_advisory_unlock_all", "array_in", "array_out", "array_recv", "array_send",
    "count", "sum", "min", "max", "avg", "lower", "upper", "length", "now", "date_trunc",
]

# Template rows: real rows for objects like ours, which the engine copies and adjusts.
TEMPLATES = {
    "pg_class/table": "SELECT * FROM pg_class WHERE oid = 'aws.apigatewayv2_stage'::regclass",
    "pg_class/index": "SELECT * FROM pg_class WHERE oid = 'aws.apigatewayv2_stage_pkey'::regclass",
    "pg_class/catalog_table": "SELECT * FROM pg_class WHERE oid = 'pg_catalog.pg_class'::regclass",
    "pg_class/catalog_view": "SELECT * FROM pg_class WHERE oid = 'pg_catalog.pg_tables'::regclass",
    "pg_attribute/column": "SELECT * FROM pg_attribute WHERE attrelid = 'aws.apigatewayv2_stage'::regclass AND attnum = 1",
    "pg_attribute/index_column": "SELECT * FROM pg_attribute WHERE attrelid = 'aws.apigatewayv2_stage_pkey'::regclass AND attnum = 1",
    "pg_index/pkey": "SELECT * FROM pg_index WHERE indexrelid = 'aws.apigatewayv2_stage_pkey'::regclass",
    "pg_constraint/pkey": "SELECT * FROM pg_constraint WHERE conname = 'apigatewayv2_stage_pkey'",
    "pg_namespace/aws": "SELECT * FROM pg_namespace WHERE nspname = 'aws'",
    "pg_database/db": "SELECT * FROM pg_database WHERE datname = current_database()",
    "pg_roles/user": "SELECT * FROM pg_roles WHERE rolname = 'stagesql'",
    "pg_user/user": "SELECT * FROM pg_user WHERE usename = 'stagesql'",
    "pg_tables/table": "SELECT * FROM pg_tables WHERE tablename = 'apigatewayv2_stage'",
    "pg_indexes/pkey": "SELECT * FROM pg_indexes WHERE indexname = 'apigatewayv2_stage_pkey'",
    "pg_stat_user_tables/table": "SELECT * FROM pg_stat_user_tables WHERE relname = 'apigatewayv2_stage'",
    "pg_type/hstore": "SELECT * FROM pg_type WHERE typname = 'hstore'",
    "pg_type/_hstore": "SELECT * FROM pg_type WHERE typname = '_hstore'",
    "pg_type/table": "SELECT * FROM pg_type WHERE typname = 'apigatewayv2_stage'",
    "pg_extension/hstore": "SELECT * FROM pg_extension WHERE extname = 'hstore'",
    "pg_proc/hstore_in": "SELECT * FROM pg_proc WHERE proname = 'hstore_in'",
    "pg_proc/hstore_out": "SELECT * FROM pg_proc WHERE proname = 'hstore_out'",
    "pg_proc/hstore_recv": "SELECT * FROM pg_proc WHERE proname = 'hstore_recv'",
    "pg_proc/hstore_send": "SELECT * FROM pg_proc WHERE proname = 'hstore_send'",
    "pg_extension/plpgsql": "SELECT * FROM pg_extension WHERE extname = 'plpgsql'",
    "pg_description/table": "SELECT * FROM pg_description WHERE objoid = 'aws.apigatewayv2_stage'::regclass AND objsubid = 0",
    "schemata/aws": "SELECT * FROM information_schema.schemata WHERE schema_name = 'aws'",
    "tables/table": "SELECT * FROM information_schema.tables WHERE table_name = 'apigatewayv2_stage'",
    "columns/text": "SELECT * FROM information_schema.columns WHERE table_name = 'apigatewayv2_stage' AND column_name = '_key'",
    "table_privileges/select": "SELECT * FROM information_schema.table_privileges WHERE table_name = 'apigatewayv2_stage' AND grantee = 'stagesql'",
}


def text_rows(cur, sql):
    cur.execute(sql)
    return [[None if v is None else str(v) for v in row] for row in cur.fetchall()]


def main():
    conn = psycopg.connect(sys.argv[1], autocommit=True)
    # Every value in PostgreSQL's own text form: load all columns as text.
    from psycopg.adapt import Loader

    class AsText(Loader):
        def load(self, data):
            return bytes(data).decode()

    for oid in range(0, 20000):
        conn.adapters.register_loader(oid, AsText)
    cur = conn.cursor()
    cur.execute("SET ROLE stagesql")
    out = {"source": None, "relations": [], "rows": {}, "templates": {}}
    out["source"] = text_rows(cur, "SELECT version()")[0][0]
    for schema, names in RELATIONS.items():
        for name in names:
            cur.execute(
                """SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = %s AND c.relname = %s""", (schema, name))
            oid, kind = cur.fetchone()
            cur.execute(
                """SELECT a.attname, t.typname, a.atttypid, a.attnotnull FROM pg_attribute a
                   JOIN pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
                (int(oid),))
            cols = [[n, t, int(o), nn == "t"] for n, t, o, nn in cur.fetchall()]
            out["relations"].append(
                {"schema": schema, "name": name, "oid": int(oid), "kind": kind, "columns": cols})
    for name, sql in STATIC.items():
        out["rows"][name] = text_rows(cur, sql)
    # pg_get_keywords(): word, catcode, barelabel, catdesc, baredesc.
    out["keywords"] = text_rows(cur, "SELECT * FROM pg_get_keywords()")
    types = out["rows"]["pg_type"]
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'pg_type'::regclass AND attnum > 0 ORDER BY attnum")
    tcols = [r[0] for r in cur.fetchall()]
    cur.execute("RESET ROLE")
    procs = set()
    for row in types:
        for col in ("typinput", "typoutput", "typreceive", "typsend", "typmodin", "typmodout", "typanalyze", "typsubscript"):
            v = row[tcols.index(col)]
            if v and v != "-":
                procs.add(v)
    cur.execute(
        """SELECT * FROM (SELECT DISTINCT ON (proname) * FROM pg_proc
             WHERE pronamespace = 11 AND (oid IN (SELECT unnest(ARRAY[typinput, typoutput, typreceive,
                    typsend, typmodin, typmodout, typanalyze, typsubscript]::oid[]) FROM pg_type WHERE oid < 16384)
                  OR oid IN (SELECT amhandler FROM pg_am)
                  OR proname = ANY(%s)) ORDER BY proname, oid) p ORDER BY oid""", (PROC_NAMES,))
    out["rows"]["pg_proc"] = [[None if v is None else str(v) for v in r] for r in cur.fetchall()]
    # regproc columns as oids: re-read pg_type with the reg* columns cast to oid.
    cur.execute("SET ROLE stagesql")
    for name, sql in TEMPLATES.items():
        rows = text_rows(cur, sql)
        if len(rows) != 1:
            sys.exit(f"template {name}: {len(rows)} rows")
        out["templates"][name] = rows[0]
    json.dump(out, sys.stdout, indent=None, separators=(",", ":"))


if __name__ == "__main__":
    main()
