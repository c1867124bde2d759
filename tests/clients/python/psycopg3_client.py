"""psycopg 3: text and binary cursors, a server-side named cursor, prepare=True,
TypeInfo.fetch (under SAVEPOINT), hstore registration, a bound-parameter aggregate."""

import datetime

import psycopg
from psycopg.types import TypeInfo
from psycopg.types.hstore import register_hstore

from common import (AGG_REGION, COLUMNS, NAMES, QUALIFIED, STAGE_COUNT, check, check_rows,
                    conninfo, done, eq, expected_counts)

AGG = f"SELECT account_id, count(*) FROM {QUALIFIED} WHERE region = %s GROUP BY account_id ORDER BY 1"


def type_names(conn, description):
    names = []
    for col in description:
        row = conn.execute("SELECT format_type(oid, NULL) FROM pg_type WHERE oid = %s",
                           (col.type_code,)).fetchone()
        check(row is not None, f"pg_type knows {col.type_code} ({col.name})")
        names.append(row[0])
    return names


def main():
    ci = conninfo()
    with psycopg.connect(**ci, application_name="psycopg3-check") as conn:
        check(conn.info.server_version >= 150000, f"server_version {conn.info.server_version}")
        eq(conn.info.parameter_status("application_name"), "psycopg3-check", "application_name")

        # TypeInfo.fetch runs under SAVEPOINT inside the implicit transaction.
        hstore = TypeInfo.fetch(conn, "hstore")
        check(hstore is not None and hstore.oid > 0, "hstore type found")
        register_hstore(hstore, conn)
        for name in ("json", "text", "timestamp"):
            info = TypeInfo.fetch(conn, name)
            check(info is not None and info.array_oid > 0, f"TypeInfo {name}")

        # Text cursor, every column.
        cur = conn.execute(f"SELECT * FROM {QUALIFIED} ORDER BY _key")
        eq([d.name for d in cur.description], NAMES, "column names")
        eq(type_names(conn, cur.description), [t for _, t, _ in COLUMNS], "column types")
        rows = [dict(zip(NAMES, r)) for r in cur.fetchall()]
        check_rows(rows, "text cursor")
        for r in rows:
            check(r["tags"] is None or isinstance(r["tags"], dict), "hstore decodes to dict")
            check(r["created_date"] is None or isinstance(r["created_date"], datetime.datetime),
                  "timestamp decodes")
            check(r["access_log_settings"] is None or isinstance(r["access_log_settings"], dict),
                  "json decodes")
        check(any(r["tags"] for r in rows), "some stage has tags")

        # Binary cursor: the same values.
        bcur = conn.cursor(binary=True)
        bcur.execute(f"SELECT * FROM {QUALIFIED} ORDER BY _key")
        brows = [dict(zip(NAMES, r)) for r in bcur.fetchall()]
        eq(brows, rows, "binary rows equal text rows")

        # Bound parameter aggregate, prepared.
        want = expected_counts(rows)
        for _ in range(3):
            got = dict(conn.execute(AGG, (AGG_REGION,), prepare=True).fetchall())
            eq(got, want, "aggregate")
        got = dict(conn.cursor(binary=True).execute(AGG, (AGG_REGION,)).fetchall())
        eq(got, want, "binary aggregate")

        # Server-side (named) cursor: DECLARE / FETCH FORWARD / CLOSE.
        with conn.cursor(name="stages") as named:
            named.itersize = 7
            named.execute(f"SELECT _key, tags FROM {QUALIFIED} ORDER BY _key")
            fetched = [r[0] for r in named.fetchmany(10)]
            fetched += [r[0] for r in named]
            eq(fetched, [r["_key"] for r in rows], "named cursor rows")
        conn.commit()

        # COPY ... TO STDOUT through the driver's copy API, text and CSV.
        cur = conn.cursor()
        with cur.copy(f"COPY (SELECT _key, stage_name FROM {QUALIFIED} ORDER BY _key) TO STDOUT") as copy:
            copied = [row for row in copy.rows()]
        eq([r[0] for r in copied], [r["_key"] for r in rows], "COPY text rows")
        with cur.copy(f"COPY (SELECT _key FROM {QUALIFIED} ORDER BY _key) TO STDOUT (FORMAT CSV, HEADER)") as copy:
            csv_text = b"".join(bytes(b) for b in copy).decode()
        eq(csv_text.splitlines()[0], "_key", "CSV header")
        eq(len(csv_text.splitlines()), STAGE_COUNT + 1, "CSV lines")
        conn.commit()

        # Autocommit, a count, the connection still fine.
        conn.autocommit = True
        eq(conn.execute(f"SELECT count(*) FROM {QUALIFIED}").fetchone()[0], STAGE_COUNT, "count")
        eq(conn.execute("SELECT %s::int + 1", (41,)).fetchone()[0], 42, "bound int")
        eq(conn.execute("SELECT current_database(), current_schema()").fetchone(),
           (ci["dbname"], "public"), "current_database/current_schema")
    done("psycopg3")


if __name__ == "__main__":
    main()
