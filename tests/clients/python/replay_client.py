"""Replays SQL that clients we cannot run here send (Grafana's pgx, Npgsql/Power BI), through
psycopg 3 in the same protocol shape: `simple` (one Query message, several statements
allowed, as Npgsql's type-loading batch and pgx's `-- ping`), `binary` (extended protocol,
binary results, as pgx and Npgsql read them) or `pipeline` (several Parse/Bind/Execute and
one Sync, as Npgsql 4.0's batch for Power BI; statements separated by `--@-` lines).

Blocks: `--@ name`, then `--@? rows=N` (rows over all results) and `--@? contains=a|b`
(some row starts with these text values).

    python3 replay_client.py FILE MODE
"""

import sys

import psycopg
from psycopg import ClientCursor

from common import conninfo, done


def blocks(path):
    name, expects, sql = None, [], []
    for line in open(path, encoding="utf-8").read().splitlines() + ["--@ <end>"]:
        if line.startswith("--@ "):
            if name is not None:
                yield name, expects, "\n".join(sql).strip()
            name, expects, sql = line[4:].strip(), [], []
        elif line.startswith("--@? "):
            expects.append(line[5:].strip())
        elif name is not None:
            sql.append(line)


def text(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "t" if v else "f"
    return str(v)


def run(conn, mode, sql):
    rows = []
    if mode == "simple":
        cur = ClientCursor(conn)
        cur.execute(sql)
        while True:
            if cur.description is not None:
                rows += cur.fetchall()
            if not cur.nextset():
                break
    elif mode == "binary":
        cur = conn.cursor(binary=True)
        cur.execute(sql)
        if cur.description is not None:
            rows += cur.fetchall()
    elif mode == "pipeline":
        statements = [s.strip() for s in sql.split("\n--@-\n") if s.strip()]
        with conn.pipeline():
            cursors = [conn.cursor() for _ in statements]
            for cur, stmt in zip(cursors, statements):
                cur.execute(stmt, prepare=False)
        for cur in cursors:
            if cur.description is not None:
                rows += cur.fetchall()
    else:
        sys.exit(f"unknown mode {mode}")
    return rows


def main():
    path, mode = sys.argv[1], sys.argv[2]
    check_expectations = len(sys.argv) < 4 or sys.argv[3] != "--no-expect"
    ran = 0
    with psycopg.connect(**conninfo(), autocommit=True) as conn:
        for name, expects, sql in blocks(path):
            try:
                rows = run(conn, mode, sql)
            except psycopg.Error as e:
                raise AssertionError(f"{path} / {name}: {e}") from e
            ran += 1
            if not check_expectations:
                continue
            shown = [[text(v) for v in r] for r in rows]
            for expect in expects:
                what = f"{path} / {name}: {expect}"
                if expect.startswith("rows="):
                    if len(rows) != int(expect[5:]):
                        raise AssertionError(f"{what}: got {len(rows)} rows: {shown[:5]}")
                elif expect.startswith("contains="):
                    want = expect[9:].split("|")
                    if not any(r[: len(want)] == want for r in shown):
                        raise AssertionError(f"{what}: not in {shown[:20]}")
                else:
                    raise AssertionError(f"unknown expectation {what}")
    if ran == 0:
        raise AssertionError(f"nothing replayed from {path}")
    done(f"replay {path} ({mode})")


if __name__ == "__main__":
    main()
