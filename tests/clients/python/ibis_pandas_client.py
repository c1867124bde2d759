"""ibis (ibis-framework[postgres], over psycopg) and pandas read_sql (over SQLAlchemy with
psycopg 3 and psycopg2, and over a plain psycopg connection): connect, list the tables, read
the table's schema, run a filtered aggregate, and read every row into a DataFrame."""

import warnings

import ibis
import pandas as pd
import psycopg
import sqlalchemy as sa

from common import (AGG_REGION, NAMES, QUALIFIED, SCHEMA, STAGE_COUNT, TABLE, check, conninfo,
                    done, eq)


def check_frame(df, how, names=NAMES):
    eq(list(df.columns), names, f"{how}: columns")
    eq(len(df), STAGE_COUNT, f"{how}: rows")
    check((df["_key"] == df["stage_arn"]).all(), f"{how}: _key is the ARN")
    check(str(df["created_date"].dtype).startswith("datetime64"), f"{how}: created_date dtype")


def main():
    ci = conninfo()
    con = ibis.postgres.connect(host=ci["host"], port=ci["port"], user=ci["user"],
                                password=ci["password"] or None, database=ci["dbname"])
    # ibis calls the schema a database: SELECT CURRENT_SCHEMA.
    eq(con.current_database, "public", "ibis current_database")
    check(TABLE in con.list_tables(database=SCHEMA), "ibis list_tables")
    t = con.table(TABLE, database=SCHEMA)
    schema = t.schema()
    eq(list(schema.names), NAMES, "ibis schema names")
    eq(str(schema["auto_deploy"]), "boolean", "ibis auto_deploy type")
    check(str(schema["created_date"]).startswith("timestamp"), "ibis created_date type")
    eq(str(schema["stage_name"]), "!string", "ibis stage_name type (not null)")
    filtered = t.filter(t.region == AGG_REGION)
    agg = (filtered.group_by("account_id").aggregate(n=filtered.count())
           .order_by("account_id").execute())
    # ibis 12 cannot turn json and hstore values into Python objects, on PostgreSQL as here.
    json_columns = ["access_log_settings", "default_route_settings", "stage_variables", "tags"]
    full = t.drop(*json_columns).execute()
    check_frame(full, "ibis execute", [n for n in NAMES if n not in json_columns])
    want = full[full["region"] == AGG_REGION].groupby("account_id").size()
    eq(dict(zip(agg["account_id"], agg["n"])), {k: int(v) for k, v in want.items()},
       "ibis filtered aggregate")

    sql = f"SELECT * FROM {QUALIFIED} ORDER BY _key"
    for driver in ("psycopg", "psycopg2"):
        url = sa.engine.URL.create(f"postgresql+{driver}", username=ci["user"],
                                   password=ci["password"] or None, host=ci["host"],
                                   port=ci["port"], database=ci["dbname"])
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            check_frame(pd.read_sql(sa.text(sql), conn), f"pandas over SQLAlchemy+{driver}")
            counts = pd.read_sql(
                sa.text(f"SELECT account_id, count(*) AS n FROM {QUALIFIED} "
                        "WHERE region = :r GROUP BY account_id ORDER BY 1"), conn,
                params={"r": AGG_REGION})
            eq(list(counts.columns), ["account_id", "n"], "pandas aggregate columns")
            eq(int(counts["n"].sum()), int((full["region"] == AGG_REGION).sum()),
               "pandas aggregate total")
        engine.dispose()
    with psycopg.connect(**ci) as conn, warnings.catch_warnings():
        # pandas warns that a DBAPI connection other than sqlite3 is untested; it works.
        warnings.simplefilter("ignore", UserWarning)
        check_frame(pd.read_sql(sql, conn), "pandas over psycopg")
    done("ibis+pandas")


if __name__ == "__main__":
    main()
