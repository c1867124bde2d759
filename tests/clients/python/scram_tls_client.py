"""SCRAM-SHA-256 over TLS with four independent implementations: libpq (psycopg 3 with
sslmode=verify-full and channel_binding=require, psycopg2), asyncpg's and pg8000's own SCRAM
and TLS code. Each logs in with the right password, sees its user and the table, and is
refused with 28P01 with a wrong one.

Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, STAGESQL_CA (the CA file).
"""

import asyncio
import ssl

import asyncpg
import pg8000.native
import psycopg
import psycopg2

from common import QUALIFIED, STAGE_COUNT, check, conninfo, done, eq, env

WRONG = "not-the-password"


def libpq_dsn(ci, password):
    return (f"host=localhost hostaddr={ci['host']} port={ci['port']} user={ci['user']} "
            f"dbname={ci['dbname']} password={password} sslmode=verify-full "
            f"sslrootcert={env('STAGESQL_CA')} channel_binding=require")


def tls_context():
    ctx = ssl.create_default_context(cafile=env("STAGESQL_CA"))
    ctx.check_hostname = False  # the certificate names localhost; we connect to 127.0.0.1
    return ctx


def refused(fn, sqlstate_of, what):
    """A wrong password fails with 28P01 (libpq reports no SQLSTATE for a failed connection,
    so for it the server's message is checked)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - each driver has its own error class
        code = sqlstate_of(e)
        if code is None:
            check('password authentication failed for user "%s"' % conninfo()["user"] in str(e),
                  f"{what}: wrong password message ({e!r})")
        else:
            eq(code, "28P01", f"{what}: wrong password is 28P01 ({e!r})")
        return
    check(False, f"{what}: a wrong password was accepted")


def main():
    ci = conninfo()
    password = ci["password"]

    with psycopg.connect(libpq_dsn(ci, password)) as conn:
        eq(conn.info.pgconn.ssl_in_use, True, "psycopg: TLS in use")
        row = conn.execute(f"SELECT current_user, count(*) FROM {QUALIFIED}").fetchone()
        eq(row, (ci["user"], STAGE_COUNT), "psycopg: user and rows")
    refused(lambda: psycopg.connect(libpq_dsn(ci, WRONG)), lambda e: e.sqlstate, "psycopg")

    conn = psycopg2.connect(libpq_dsn(ci, password))
    cur = conn.cursor()
    cur.execute("SELECT current_user")
    eq(cur.fetchone()[0], ci["user"], "psycopg2: user")
    conn.close()
    refused(lambda: psycopg2.connect(libpq_dsn(ci, WRONG)), lambda e: e.pgcode, "psycopg2")

    async def with_asyncpg(pw):
        conn = await asyncpg.connect(host=ci["host"], port=ci["port"], user=ci["user"],
                                     database=ci["dbname"], password=pw, ssl=tls_context())
        try:
            return await conn.fetchrow(f"SELECT current_user, count(*) FROM {QUALIFIED}")
        finally:
            await conn.close()

    row = asyncio.run(with_asyncpg(password))
    eq((row[0], row[1]), (ci["user"], STAGE_COUNT), "asyncpg: user and rows")
    refused(lambda: asyncio.run(with_asyncpg(WRONG)), lambda e: e.sqlstate, "asyncpg")

    def with_pg8000(pw):
        conn = pg8000.native.Connection(ci["user"], host=ci["host"], port=ci["port"],
                                        database=ci["dbname"], password=pw,
                                        ssl_context=tls_context())
        try:
            return conn.run("SELECT current_user")[0][0]
        finally:
            conn.close()

    eq(with_pg8000(password), ci["user"], "pg8000: user")
    refused(lambda: with_pg8000(WRONG), lambda e: e.args[0].get("C"), "pg8000")
    done("scram+tls: psycopg, psycopg2, asyncpg, pg8000")


if __name__ == "__main__":
    main()
