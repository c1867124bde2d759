"""asyncpg: everything prepared and binary; introspection of the types it does not know
(json codec set, hstore introspected from pg_type), a transaction, a cursor, the pool reset;
and a connection with no codec set, where asyncpg's own type introspection (an `oid[]`
parameter, a recursive CTE per type) decodes hstore as text, as it does from PostgreSQL."""

import asyncio
import datetime
import json

import asyncpg

from common import (AGG_REGION, NAMES, QUALIFIED, STAGE_COUNT, check, check_rows, conninfo,
                    done, eq, expected_counts)


async def main():
    ci = conninfo()
    conn = await asyncpg.connect(host=ci["host"], port=ci["port"], user=ci["user"],
                                 database=ci["dbname"], password=ci["password"] or None)
    check(conn.get_server_version().major >= 15, "server version")
    # hstore is an extension type: asyncpg introspects its OID, then we give it a codec.
    await conn.set_builtin_type_codec("hstore", codec_name="pg_contrib.hstore")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    records = await conn.fetch(f"SELECT * FROM {QUALIFIED} ORDER BY _key")
    eq(list(records[0].keys()), NAMES, "column names")
    rows = [dict(r) for r in records]
    check_rows(rows, "asyncpg")
    for r in rows:
        check(r["tags"] is None or isinstance(r["tags"], dict), "hstore decoded")
        check(r["created_date"] is None or isinstance(r["created_date"], datetime.datetime),
              "timestamp decoded")
    check(any(r["tags"] for r in rows), "some stage has tags")

    stmt = await conn.prepare(
        f"SELECT account_id, count(*) AS n FROM {QUALIFIED} WHERE region = $1 GROUP BY 1 ORDER BY 1")
    eq([a.name for a in stmt.get_attributes()], ["account_id", "n"], "attributes")
    eq([p.name for p in stmt.get_parameters()], ["text"], "parameter types")
    got = {r["account_id"]: r["n"] for r in await stmt.fetch(AGG_REGION)}
    eq(got, expected_counts(rows), "aggregate")

    eq(await conn.fetchval("SELECT $1::int8 * 2", 21), 42, "bound int8")
    eq(await conn.fetchval("SELECT $1::timestamp", datetime.datetime(2024, 2, 29, 12, 30, 1, 5)),
       datetime.datetime(2024, 2, 29, 12, 30, 1, 5), "bound timestamp round-trip")
    eq(await conn.fetchval("SELECT $1::bool", True), True, "bound bool")
    eq(await conn.fetchval("SELECT $1::float8 / 2", 3.0), 1.5, "bound float8")

    async with conn.transaction():
        keys = [r["_key"] async for r in conn.cursor(
            f"SELECT _key FROM {QUALIFIED} ORDER BY _key", prefetch=8)]
        eq(keys, [r["_key"] for r in rows], "cursor rows")

    # What asyncpg's pool sends when a connection goes back.
    await conn.execute("SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;")
    eq(await conn.fetchval(f"SELECT count(*) FROM {QUALIFIED}"), STAGE_COUNT, "count")
    await conn.close()

    pool = await asyncpg.create_pool(host=ci["host"], port=ci["port"], user=ci["user"],
                                     database=ci["dbname"], password=ci["password"] or None,
                                     min_size=1, max_size=2)
    for _ in range(3):
        async with pool.acquire() as c:
            eq(await c.fetchval(f"SELECT count(*) FROM {QUALIFIED}"), STAGE_COUNT, "pool count")
    await pool.close()

    await without_codecs(ci, rows)
    done("asyncpg")


def hstore_text(pairs):
    """hstore's text output for a dict, as PostgreSQL prints it: keys by length, then bytes."""
    quote = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ordered = sorted(pairs.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
    return ", ".join(quote(k) + "=>" + ("NULL" if v is None else quote(v)) for k, v in ordered)


async def without_codecs(ci, rows):
    conn = await asyncpg.connect(host=ci["host"], port=ci["port"], user=ci["user"],
                                 database=ci["dbname"], password=ci["password"] or None)
    eq(await conn.fetchval("SELECT $1::oid[]", [16385, 25]), [16385, 25], "oid[] round-trip")
    records = await conn.fetch(
        f"SELECT _key, tags, stage_variables FROM {QUALIFIED} ORDER BY _key")
    eq([r["_key"] for r in records], [r["_key"] for r in rows], "keys without codecs")
    by_key = {r["_key"]: r for r in rows}
    for r in records:
        for column in ("tags", "stage_variables"):
            value, decoded = r[column], by_key[r["_key"]][column]
            if decoded is None:
                eq(value, None, f"{column} NULL")
                continue
            check(isinstance(value, str), f"{column} arrives as text: {value!r}")
            eq(value, hstore_text(decoded), f"{column} text is PostgreSQL's hstore output")
    check(any(r["tags"] for r in records), "some stage has tags as text")
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
