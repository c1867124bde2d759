"""psqlODBC through pyodbc: SQLTables, SQLColumns, SQLPrimaryKeys, SQLStatistics, a `?`
parameter; autocommit on and off (SAVEPOINT wrapping); UseDeclareFetch cursors."""

import pyodbc

from common import (AGG_REGION, COLUMNS, NAMES, SCHEMA, STAGE_COUNT, TABLE, QUALIFIED, check,
                    conninfo, done, eq)

DRIVER = "PostgreSQL Unicode"


def connect(autocommit, **extra):
    ci = conninfo()
    parts = dict(Driver="{" + DRIVER + "}", Server=ci["host"], Port=ci["port"],
                 Database=ci["dbname"], Uid=ci["user"], Pwd=ci["password"], SSLmode="disable")
    parts.update(extra)
    return pyodbc.connect(";".join(f"{k}={v}" for k, v in parts.items()), autocommit=autocommit)


def exercise(conn, how):
    cur = conn.cursor()
    tables = [(t.table_schem, t.table_name, t.table_type)
              for t in cur.tables(schema=SCHEMA)]
    eq(tables, [(SCHEMA, TABLE, "TABLE")], f"{how}: SQLTables")
    cols = cur.columns(table=TABLE, schema=SCHEMA).fetchall()
    eq([c.column_name for c in cols], NAMES, f"{how}: SQLColumns names")
    eq([c.type_name for c in cols][:3], ["text", "json", "text"], f"{how}: SQLColumns types")
    eq([bool(c.nullable) for c in cols], [n for _, _, n in COLUMNS], f"{how}: SQLColumns nullable")
    pks = cur.primaryKeys(table=TABLE, schema=SCHEMA).fetchall()
    eq([p.column_name for p in pks], ["_key"], f"{how}: SQLPrimaryKeys")
    # SQLForeignKeys, both directions: the table has none (its query used to fail).
    eq(cur.foreignKeys(table=TABLE, schema=SCHEMA).fetchall(), [], f"{how}: SQLForeignKeys")
    eq(cur.foreignKeys(foreignTable=TABLE, foreignSchema=SCHEMA).fetchall(), [],
       f"{how}: SQLForeignKeys referencing")
    stats = cur.statistics(table=TABLE, schema=SCHEMA).fetchall()
    check(any(s.column_name == "_key" for s in stats), f"{how}: SQLStatistics")

    cur.execute(f"SELECT * FROM {QUALIFIED} ORDER BY _key")
    eq([d[0] for d in cur.description], NAMES, f"{how}: description")
    rows = cur.fetchall()
    eq(len(rows), STAGE_COUNT, f"{how}: rows")
    want = {}
    for r in rows:
        if r.region == AGG_REGION:
            want[r.account_id] = want.get(r.account_id, 0) + 1
    cur.execute(f"SELECT account_id, count(*) FROM {QUALIFIED} WHERE region = ? GROUP BY account_id",
                AGG_REGION)
    eq({a: int(n) for a, n in cur.fetchall()}, want, f"{how}: aggregate")
    # The same statement again (psqlODBC reuses or frees its plan).
    cur.execute(f"SELECT count(*) FROM {QUALIFIED} WHERE region = ?", AGG_REGION)
    eq(int(cur.fetchone()[0]), sum(want.values()), f"{how}: count")
    if not conn.autocommit:
        conn.commit()
    cur.close()


def main():
    exercise(connect(True), "autocommit")
    exercise(connect(False), "manual commit")
    exercise(connect(True, UseDeclareFetch=1, Fetch=7), "declare/fetch")
    exercise(connect(False, UseDeclareFetch=1, Fetch=7), "declare/fetch in transaction")
    exercise(connect(True, UseServerSidePrepare=1), "server-side prepare")
    done("psqlodbc")


if __name__ == "__main__":
    main()
