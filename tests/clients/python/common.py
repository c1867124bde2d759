"""Shared facts and checks for the client-compatibility scripts.

Each script connects with one real driver to the server named by the environment
(PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD), asserts what that driver sees, and exits
non-zero on the first mismatch. They run against stagesql from tests/tests/clients.rs, and
against a real PostgreSQL holding the same rows to check the scripts themselves.
"""

import collections
import json
import os
import sys

SCHEMA = "aws"
TABLE = "apigatewayv2_stage"
QUALIFIED = f"{SCHEMA}.{TABLE}"

# (name, PostgreSQL type name, nullable) in table order.
COLUMNS = [
    ("_key", "text", False),
    ("access_log_settings", "json", True),
    ("account_id", "text", False),
    ("api_gateway_managed", "boolean", True),
    ("auto_deploy", "boolean", True),
    ("client_certificate_id", "text", True),
    ("created_date", "timestamp without time zone", True),
    ("default_route_settings", "json", True),
    ("deployment_id", "text", True),
    ("description", "text", True),
    ("last_deployment_status_message", "text", True),
    ("last_updated_date", "timestamp without time zone", True),
    ("route_settings", "text", True),
    ("stage_arn", "text", False),
    ("stage_name", "text", False),
    ("stage_variables", "hstore", True),
    ("tags", "hstore", True),
    ("region", "text", False),
    ("api_id", "text", False),
]
NAMES = [c[0] for c in COLUMNS]
STAGE_COUNT = int(os.environ.get("STAGESQL_EXPECT_STAGES", "50"))

# The bound-parameter aggregate every client runs.
AGG_REGION = "us-east-1"


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"{name} is not set")
    return value


def conninfo():
    return dict(
        host=env("PGHOST", "127.0.0.1"),
        port=int(env("PGPORT", "5433")),
        user=env("PGUSER", "stagesql"),
        dbname=env("PGDATABASE", "stagesql"),
        password=os.environ.get("PGPASSWORD", ""),
    )


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def expected_counts(rows):
    """account_id -> count over full-table rows (dicts) in AGG_REGION, computed client-side."""
    counts = collections.Counter(r["account_id"] for r in rows if r["region"] == AGG_REGION)
    check(counts, f"the fixture has stages in {AGG_REGION}")
    return dict(counts)


def check_rows(rows, how):
    """Rows (dicts by column name, driver-decoded) of the whole table: values are sane."""
    eq(len(rows), STAGE_COUNT, f"{how}: row count")
    keys = set()
    for r in rows:
        eq(list(r.keys()), NAMES, f"{how}: column order")
        check(r["_key"] == r["stage_arn"], f"{how}: _key equals stage_arn")
        check(r["stage_arn"].startswith("arn:aws"), f"{how}: stage_arn {r['stage_arn']!r}")
        check(r["stage_arn"].endswith("/stages/" + r["stage_name"]), f"{how}: arn names stage")
        check(len(r["account_id"]) == 12, f"{how}: account id")
        keys.add(r["_key"])
    eq(len(keys), STAGE_COUNT, f"{how}: distinct keys")


def done(name):
    print(json.dumps({"client": name, "ok": True}))
