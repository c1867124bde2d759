"""pgcli's completion refresher (PGExecute on psycopg 3): schemata, tables, views, columns,
functions, datatypes, foreign keys, casing and search_path, as pgcli runs them when it
connects; then a query through PGExecute.run."""

import os

from pgcli.pgexecute import PGExecute

from common import COLUMNS, SCHEMA, TABLE, check, conninfo, done, eq


def main():
    ci = conninfo()
    e = PGExecute(database=ci["dbname"], user=ci["user"], password=ci["password"] or None,
                  host=ci["host"], port=ci["port"], dsn=None)
    check("public" in e.search_path(), "search_path")
    check(SCHEMA in list(e.schemata()), "schemata lists aws")
    check((SCHEMA, TABLE) in list(e.tables()), "tables lists the table")
    check(len(list(e.views())) > 0, "views lists the catalog views")
    cols = [c for c in e.table_columns() if c[0] == SCHEMA and c[1] == TABLE]
    eq([c[2] for c in cols], [c[0] for c in COLUMNS], "column names")
    eq([c[3] for c in cols], [t for _, t, _ in COLUMNS], "column types")
    functions = list(e.functions())
    lower = [f for f in functions if f.func_name == "lower" and f.schema_name == "pg_catalog"]
    check(lower, "functions lists pg_catalog.lower")
    check(any(f.arg_types == ("text",) and f.return_type == "text" for f in lower),
          f"lower(text) returns text: {lower}")
    check(("public", "hstore") in list(e.datatypes()), "datatypes lists hstore")
    # Its foreign-key query reads a correlated subquery inside unnest() (a SubPlan); the
    # table has a primary key and no foreign key, so PostgreSQL lists none either.
    eq(list(e.foreignkeys()), [], "foreign keys")
    eq(list(e.casing()), [], "casing (no SQL functions here)")
    check(ci["dbname"] in e.databases(), "databases lists this one")
    results = list(e.run(f"SELECT count(*) FROM {SCHEMA}.{TABLE}"))
    title, rows, headers, status = results[0][:4]
    eq(list(headers), ["count"], "run headers")
    eq(int(list(rows)[0][0]), int(os.environ.get("STAGESQL_EXPECT_STAGES", "50")), "run count")
    done("pgcli")


if __name__ == "__main__":
    main()
