"""psycopg2: simple Query only, values interpolated client-side, BEGIN first; hstore via
register_hstore (its pg_type lookup), a named cursor (DECLARE/FETCH), an aggregate."""

import psycopg2
import psycopg2.extras

from common import (AGG_REGION, NAMES, QUALIFIED, STAGE_COUNT, check, check_rows, conninfo,
                    done, eq, expected_counts)


def main():
    conn = psycopg2.connect(**conninfo())
    check(conn.server_version >= 150000, "server_version")
    psycopg2.extras.register_hstore(conn)
    cur = conn.cursor()
    cur.execute(f"SELECT * FROM {QUALIFIED} ORDER BY _key")
    eq([d.name for d in cur.description], NAMES, "column names")
    rows = [dict(zip(NAMES, r)) for r in cur.fetchall()]
    check_rows(rows, "psycopg2")
    check(any(isinstance(r["tags"], dict) and r["tags"] for r in rows), "hstore as dict")
    cur.execute(
        f"SELECT account_id, count(*) FROM {QUALIFIED} WHERE region = %s GROUP BY 1 ORDER BY 1",
        (AGG_REGION,))
    eq(dict(cur.fetchall()), expected_counts(rows), "aggregate")
    named = conn.cursor("stage_cursor")
    named.itersize = 9
    named.execute(f"SELECT _key FROM {QUALIFIED} ORDER BY _key")
    eq([r[0] for r in named], [r["_key"] for r in rows], "named cursor")
    named.close()
    conn.rollback()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"SELECT count(*) FROM {QUALIFIED}")
    eq(cur.fetchone()[0], STAGE_COUNT, "count")
    conn.close()
    done("psycopg2")


if __name__ == "__main__":
    main()
