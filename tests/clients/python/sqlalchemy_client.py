"""SQLAlchemy 2 on psycopg 3 and psycopg2: dialect initialisation and full reflection."""

import sqlalchemy as sa

from common import (AGG_REGION, COLUMNS, NAMES, SCHEMA, STAGE_COUNT, TABLE, check, conninfo,
                    done, eq)

# SQLAlchemy's reflected type per PostgreSQL type.
SA_TYPES = {"text": sa.TEXT, "json": sa.JSON, "boolean": sa.BOOLEAN,
            "timestamp without time zone": sa.TIMESTAMP}


def run(driver):
    ci = conninfo()
    url = sa.URL.create(f"postgresql+{driver}", username=ci["user"], password=ci["password"] or None,
                        host=ci["host"], port=ci["port"], database=ci["dbname"])
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        check(engine.dialect.server_version_info >= (15,), "server_version_info")
        insp = sa.inspect(conn)
        check(SCHEMA in insp.get_schema_names(), "schema listed")
        eq(insp.get_table_names(schema=SCHEMA), [TABLE], "tables")
        check(insp.has_table(TABLE, schema=SCHEMA), "has_table")
        cols = insp.get_columns(TABLE, schema=SCHEMA)
        eq([c["name"] for c in cols], NAMES, "column names")
        for col, (name, pg_type, nullable) in zip(cols, COLUMNS):
            eq(col["nullable"], nullable, f"{name} nullable")
            if pg_type in SA_TYPES:
                check(isinstance(col["type"], SA_TYPES[pg_type]), f"{name}: {col['type']!r}")
            else:
                eq(type(col["type"]).__name__, "HSTORE", f"{name} type")
        eq(insp.get_pk_constraint(TABLE, schema=SCHEMA)["constrained_columns"], ["_key"], "pk")
        eq(insp.get_foreign_keys(TABLE, schema=SCHEMA), [], "fks")
        idx = insp.get_indexes(TABLE, schema=SCHEMA)
        check(all(i["column_names"] for i in idx), "indexes name columns")
        insp.get_unique_constraints(TABLE, schema=SCHEMA)
        insp.get_check_constraints(TABLE, schema=SCHEMA)
        check(insp.get_table_comment(TABLE, schema=SCHEMA)["text"], "table comment")

        md = sa.MetaData()
        stage = sa.Table(TABLE, md, schema=SCHEMA, autoload_with=conn)
        eq([c.name for c in stage.columns], NAMES, "reflected Table")
        eq(conn.execute(sa.select(sa.func.count()).select_from(stage)).scalar(), STAGE_COUNT, "count")
        q = (sa.select(stage.c.account_id, sa.func.count().label("n"))
             .where(stage.c.region == AGG_REGION).group_by(stage.c.account_id)
             .order_by(stage.c.account_id))
        got = dict(conn.execute(q).all())
        rows = conn.execute(sa.select(stage.c.account_id, stage.c.region)).all()
        want = {}
        for account, region in rows:
            if region == AGG_REGION:
                want[account] = want.get(account, 0) + 1
        eq(got, want, "aggregate")


def main():
    for driver in ("psycopg", "psycopg2"):
        run(driver)
    done("sqlalchemy")


if __name__ == "__main__":
    main()
