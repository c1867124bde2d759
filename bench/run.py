#!/usr/bin/env python3
"""stagesql against a real PostgreSQL 15 holding the same rows, side by side, with pgbench.

For each size N: generate N synthetic stages (bench/gen_fixture.py, the demo fixture format),
serve them with stagesql, load the identical rows into a throwaway PostgreSQL cluster through
stagesql itself (COPY out of ours into theirs) with a primary key on _key and an index on
stage_arn, then run `pgbench -n -c 4 -j 2` in simple, extended and prepared mode for each
query against both. Prints TPS per cell, the ratio ours / PostgreSQL, and our RSS idle and
after the run. `--results FILE` also writes the tables as Markdown.

Each cell is measured in `--rounds` paired rounds (default 3), each round one pgbench run of
`--seconds / --rounds` against each server, back to back, the first server alternating from
round to round (ours first, then PostgreSQL first, ...). A cell's TPS are the medians of its
rounds and its ratio is the median of the rounds' ratios. On this 2-core VM one server's
throughput for the same cell was seen to differ by half between two runs minutes apart
(93k and 147k prepared `SELECT 1`, PostgreSQL 158k both times), and a whole session's figures
by a factor of three from another's; runs seconds apart share most of that drift, so the
paired ratio is what reads steadily. Every round's figures are printed.

    bench/run.sh            (builds the release binary, then runs this)
    python3 bench/run.py --binary target/release/stagesql [--sizes 10000,100000] [--seconds 15]
"""

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PG_BIN = "/usr/lib/postgresql/15/bin"

TABLE_DDL = """
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE SCHEMA aws;
CREATE TABLE aws.apigatewayv2_stage (
  _key text NOT NULL, access_log_settings json, account_id text NOT NULL,
  api_gateway_managed boolean, auto_deploy boolean, client_certificate_id text,
  created_date timestamp, default_route_settings json, deployment_id text, description text,
  last_deployment_status_message text, last_updated_date timestamp, route_settings text,
  stage_arn text NOT NULL, stage_name text NOT NULL, stage_variables hstore, tags hstore,
  region text NOT NULL, api_id text NOT NULL
);
"""
INDEXES = """
ALTER TABLE aws.apigatewayv2_stage ADD PRIMARY KEY (_key);
CREATE INDEX ON aws.apigatewayv2_stage (stage_arn);
VACUUM ANALYZE aws.apigatewayv2_stage;
"""

# pgbench reads `:name` inside string literals as a variable: in simple mode an undefined one
# is left as written, so the lookup's ARN is a literal with `:api` and `:st` filled in (a new
# literal each run, as an application sends it); in extended and prepared mode every `:name`
# becomes a parameter, so there the ARN is built from `:id` and the colons come from chr(58).
LOOKUP_SIMPLE = ("\\set id random(0, {last})\n\\set api 10000000 + :id / 3\n\\set st :id % 3\n"
                 "SELECT * FROM aws.apigatewayv2_stage "
                 "WHERE stage_arn = 'arn:aws:apigateway:us-east-1::/apis/a:api/stages/s:st';")
ARN = ("replace('arn|aws|apigateway|us-east-1||/apis/a', '|', chr(58)) "
       "|| (10000000 + :id::int / 3)::text || '/stages/s' || (:id::int % 3)::text")
# A dashboard panel whose time range moves every run (Grafana's $__timeFilter). In simple mode
# it is what Grafana sends, `created_date BETWEEN '…' AND '…'`, a new pair of literals each run
# (`:h:00` is the variable `h` and an undefined `:00`, left as written); with parameters the
# range is computed from `:k`.
TIME_SERIES_HEAD = ("SELECT date_trunc('day', created_date) AS \"time\", count(*) AS \"value\" "
                    "FROM aws.apigatewayv2_stage WHERE created_date BETWEEN ")
TIME_SERIES_SIMPLE = ("\\set d random(10, 28)\n\\set h random(10, 23)\n"
                      "\\set f random(100000, 999999)\n" + TIME_SERIES_HEAD +
                      "'2024-01-:d :h:00:00.:f+00' AND '2024-02-:d :h:00:00.:f+00' "
                      "GROUP BY 1 ORDER BY 1;")
TIME_SERIES_PARAMS = ("\\set k random(0, 2000)\n" + TIME_SERIES_HEAD +
                      "timestamp '2024-01-01' + (:k || ' hours')::interval "
                      "AND timestamp '2024-02-01' + (:k || ' hours')::interval GROUP BY 1 ORDER BY 1;")
TIME_SERIES = {"simple": TIME_SERIES_SIMPLE, "extended": TIME_SERIES_PARAMS,
               "prepared": TIME_SERIES_PARAMS}
# (name, script, or per mode {mode: script})
QUERIES = [
    ("SELECT 1", "SELECT 1;"),
    ("point lookup (stage_arn)",
     {"simple": LOOKUP_SIMPLE,
      "extended": "\\set id random(0, {last})\n"
                  f"SELECT * FROM aws.apigatewayv2_stage WHERE stage_arn = {ARN};",
      "prepared": "\\set id random(0, {last})\n"
                  f"SELECT * FROM aws.apigatewayv2_stage WHERE stage_arn = {ARN};"}),
    ("time series, moving range", TIME_SERIES),
    ("GROUP BY account_id",
     "SELECT account_id, count(*) FROM aws.apigatewayv2_stage GROUP BY account_id;"),
    ("full fetch (SELECT *)", "SELECT * FROM aws.apigatewayv2_stage;"),
    ("Metabase month aggregate",
     'SELECT date_trunc(\'month\', "aws"."apigatewayv2_stage"."created_date") AS "created_date", '
     'count(*) AS "count" FROM "aws"."apigatewayv2_stage" '
     'WHERE "aws"."apigatewayv2_stage"."auto_deploy" = TRUE '
     'AND "aws"."apigatewayv2_stage"."stage_name" = \'s1\' '
     'GROUP BY date_trunc(\'month\', "aws"."apigatewayv2_stage"."created_date") '
     'ORDER BY date_trunc(\'month\', "aws"."apigatewayv2_stage"."created_date") ASC;'),
]
MODES = ["simple", "extended", "prepared"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not listen on {port}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def as_postgres(cmd, **kw):
    """Runs a PostgreSQL server command as the postgres user when we are root."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, **kw)


def psql(conn, sql=None, args=(), **kw):
    cmd = ["psql", conn, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args]
    if sql is not None:
        cmd += ["-c", sql]
    return subprocess.run(cmd, check=True, **kw)


class Postgres:
    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        as_postgres([f"{PG_BIN}/initdb", "-D", f"{self.dir}/data", "-U", "postgres",
                     "--auth=trust", "-E", "UTF8", "--locale=C"], stdout=subprocess.DEVNULL)
        as_postgres([f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log",
                     "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
                     "-w", "start"], stdout=subprocess.DEVNULL)
        self.conn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def stop(self):
        as_postgres([f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "stop"],
                    stdout=subprocess.DEVNULL)


class Ours:
    def __init__(self, binary, root, fixture):
        self.port = free_port()
        config = os.path.join(root, "stagesql.toml")
        with open(config, "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:{self.port}"
[auth]
method = "trust"
[source]
kind = "demo"
fixture = "{fixture}"
[log]
level = "warn"
[http]
# On, as in production (every statement is measured), on a free port.
listen = "127.0.0.1:0"
""")
        self.proc = subprocess.Popen([binary, "--config", config], stdin=subprocess.DEVNULL)
        wait_port(self.port, self.proc, "stagesql")
        self.conn = f"host=127.0.0.1 port={self.port} user=stagesql dbname=stagesql"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def load(ours, pg, n):
    psql(pg.conn, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS aws CASCADE",
         stdout=subprocess.DEVNULL)
    psql(pg.conn, args=["-c", TABLE_DDL], stdout=subprocess.DEVNULL)
    out = subprocess.Popen(["psql", ours.conn, "-X", "-q", "-c",
                            "\\copy (SELECT * FROM aws.apigatewayv2_stage) TO STDOUT"],
                           stdout=subprocess.PIPE)
    psql(pg.conn, "\\copy aws.apigatewayv2_stage FROM STDIN", stdin=out.stdout)
    if out.wait() != 0:
        sys.exit("COPY out of stagesql failed")
    # One -c per statement: psql runs a multi-statement -c in one transaction, and VACUUM
    # cannot run inside one.
    for statement in filter(None, (x.strip() for x in INDEXES.split(";"))):
        psql(pg.conn, statement, stdout=subprocess.DEVNULL)
    for conn in (ours.conn, pg.conn):
        got = subprocess.run(["psql", conn, "-X", "-A", "-t", "-c",
                              "SELECT count(*) FROM aws.apigatewayv2_stage"],
                             check=True, capture_output=True, text=True).stdout.strip()
        if int(got) != n:
            sys.exit(f"{conn}: {got} rows, expected {n}")


def pgbench(conn, script, mode, seconds, clients, threads):
    out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(threads),
                          "-T", str(seconds), "-M", mode, "-f", script, conn],
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    failed = [l for l in out.stdout.splitlines() + out.stderr.splitlines()
              if "fail" in l or "error" in l.lower()]
    print(f"    pgbench {mode} failed: {failed[:3]}", file=sys.stderr)
    return None


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def paired(ours_conn, pg_conn, script, mode, seconds, rounds, args):
    """One cell: `rounds` back-to-back pgbench runs against each server, which goes first
    alternating; the medians of the TPS and of the per-round ratios (None / "-" when a run
    failed)."""
    ours, theirs, ratios = [], [], []
    for r in range(rounds):
        order = [ours_conn, pg_conn] if r % 2 == 0 else [pg_conn, ours_conn]
        got = {c: pgbench(c, script, mode, seconds, args.clients, args.threads) for c in order}
        a, b = got[ours_conn], got[pg_conn]
        print(f"      round {r + 1}: ours {fmt(a):>9}  pg {fmt(b):>9}", flush=True)
        if a is None or b is None:
            return None, None, "-"
        ours.append(a)
        theirs.append(b)
        ratios.append(a / b)
    return median(ours), median(theirs), f"{median(ratios):.2f}"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, {platform.system()} {platform.release()}"


def fmt(v):
    return "failed" if v is None else f"{v:,.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--seconds", type=int, default=15,
                    help="pgbench seconds per server per cell, split over the rounds")
    ap.add_argument("--rounds", type=int, default=3,
                    help="paired rounds per cell, alternating which server goes first")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--results")
    ap.add_argument("--memory-stages", type=int, default=0,
                    help="also measure resident memory with this many stages (e.g. 1000000)")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="stagesql-bench-")
    os.chmod(root, 0o755)
    rounds = max(1, args.rounds)
    per_round = max(1, args.seconds // rounds)
    report = [f"Machine: {machine()}.",
              f"pgbench -n -c {args.clients} -j {args.threads} -T {per_round}, {rounds} paired "
              "rounds per cell (which server goes first alternates); TPS are the medians of the "
              "rounds, the ratio the median of the rounds' ratios. "
              "PostgreSQL 15 with a primary key on _key and an index on stage_arn.", ""]
    pg = Postgres(root)
    idle_by_size = {}
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            fixture = os.path.join(root, f"stages-{n}.json")
            subprocess.run([sys.executable, os.path.join(HERE, "gen_fixture.py"), str(n),
                            fixture], check=True)
            ours = Ours(args.binary, root, fixture)
            try:
                load(ours, pg, n)
                # After the COPY (which built the Arrow batch) and one indexed query.
                psql(ours.conn, "SELECT count(*) FROM aws.apigatewayv2_stage WHERE stage_arn = 'x'",
                     stdout=subprocess.DEVNULL)
                idle = rss_kib(ours.proc.pid)
                rows = []
                for name, bodies in QUERIES:
                    for mode in MODES:
                        body = bodies[mode] if isinstance(bodies, dict) else bodies
                        script = os.path.join(root, "q.sql")
                        with open(script, "w") as f:
                            f.write(body.replace("{last}", str(n - 1)) + "\n")
                        a, b, ratio = paired(ours.conn, pg.conn, script, mode, per_round,
                                             rounds, args)
                        rows.append((name, mode, a, b, ratio))
                        print(f"  {n:>7} {name:<28} {mode:<9} ours {fmt(a):>9}  pg {fmt(b):>9}"
                              f"  ratio {ratio}", flush=True)
                after = rss_kib(ours.proc.pid)
                idle_by_size[n] = idle
            finally:
                ours.stop()
            report += [f"### {n:,} stages", "",
                       "| query | mode | stagesql TPS | PostgreSQL TPS | ours / PG |",
                       "|---|---|---:|---:|---:|"]
            report += [f"| {q} | {m} | {fmt(a)} | {fmt(b)} | {r} |" for q, m, a, b, r in rows]
            report += ["", f"stagesql RSS: {idle / 1024:.1f} MiB idle (rows loaded, batch and index built), "
                           f"{after / 1024:.1f} MiB after the run "
                           f"({idle * 1024 / n:,.0f} bytes per stage idle).", ""]
        if args.memory_stages:
            n = args.memory_stages
            fixture = os.path.join(root, f"stages-{n}.json")
            subprocess.run([sys.executable, os.path.join(HERE, "gen_fixture.py"), str(n),
                            fixture], check=True)
            ours = Ours(args.binary, root, fixture)
            try:
                time.sleep(2)
                # One full scan builds the Arrow batch and its indexes, as a first query would.
                psql(ours.conn, "SELECT count(*) FROM aws.apigatewayv2_stage WHERE stage_arn = 'x'",
                     stdout=subprocess.DEVNULL)
                idle_by_size[n] = rss_kib(ours.proc.pid)
            finally:
                ours.stop()
        sizes = sorted(idle_by_size)
        if len(sizes) >= 2:
            lo, hi = sizes[0], sizes[-1]
            per = (idle_by_size[hi] - idle_by_size[lo]) * 1024 / (hi - lo)
            report += ["### Memory", "",
                       f"Resident memory after loading (and one indexed query): " +
                       ", ".join(f"{k:,} stages {v / 1024:.1f} MiB" for k, v in
                                 sorted(idle_by_size.items())) + ".",
                       f"Marginal cost: {per:,.0f} bytes per stage between {lo:,} and {hi:,} "
                       "(target ≤ 2,048 at 1,000,000).", ""]
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    text = "\n".join(report)
    print("\n" + text)
    if args.results:
        with open(args.results, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
