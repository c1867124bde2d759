"""pg8000 (pure Python): extended protocol with typed parameters, native and DB-API."""

import pg8000.dbapi
import pg8000.native

from common import (AGG_REGION, NAMES, QUALIFIED, STAGE_COUNT, check_rows, conninfo, done,
                    eq, expected_counts)


def main():
    ci = conninfo()
    args = dict(user=ci["user"], host=ci["host"], port=ci["port"], database=ci["dbname"],
                password=ci["password"] or None)
    con = pg8000.native.Connection(**args)
    rows = con.run(f"SELECT * FROM {QUALIFIED} ORDER BY _key")
    eq([c["name"] for c in con.columns], NAMES, "column names")
    rows = [dict(zip(NAMES, r)) for r in rows]
    check_rows(rows, "pg8000")
    got = dict(map(tuple, con.run(
        f"SELECT account_id, count(*) FROM {QUALIFIED} WHERE region = :r GROUP BY 1 ORDER BY 1",
        r=AGG_REGION)))
    eq(got, expected_counts(rows), "aggregate")
    con.close()

    db = pg8000.dbapi.connect(**args)
    cur = db.cursor()
    cur.execute(f"SELECT count(*) FROM {QUALIFIED} WHERE stage_name <> %s", ("no-such-stage",))
    eq(cur.fetchone()[0], STAGE_COUNT, "dbapi count")
    db.rollback()
    db.close()
    done("pg8000")


if __name__ == "__main__":
    main()
