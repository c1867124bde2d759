"""dbt-postgres: `dbt debug`, `dbt docs generate` (its catalog query, with
pg_is_other_temp_schema) and `dbt show` over a source, in a throwaway project."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import NAMES, SCHEMA, TABLE, check, conninfo, done, eq

PROJECT = """name: stagesql_check
version: "1.0"
profile: stagesql
model-paths: ["models"]
"""
PROFILES = """stagesql:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('PGHOST') }}"
      port: "{{ env_var('PGPORT') | int }}"
      user: "{{ env_var('PGUSER') }}"
      password: ""
      dbname: "{{ env_var('PGDATABASE') }}"
      schema: public
      threads: 1
"""
SOURCES = f"""version: 2
sources:
  - name: aws
    schema: {SCHEMA}
    tables:
      - name: {TABLE}
"""


def dbt(project, *args):
    bindir = Path(sys.executable).parent
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_USE_COLORS="false")
    out = subprocess.run([str(bindir / "dbt"), *args, "--profiles-dir", str(project)],
                         cwd=project, env=env, capture_output=True, text=True, timeout=170)
    check(out.returncode == 0, f"dbt {args[0]} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def main():
    conninfo()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "dbt_project.yml").write_text(PROJECT)
        (project / "profiles.yml").write_text(PROFILES)
        (project / "models").mkdir()
        (project / "models" / "sources.yml").write_text(SOURCES)

        check("All checks passed" in dbt(project, "debug"), "dbt debug")

        dbt(project, "docs", "generate")
        catalog = json.loads((project / "target" / "catalog.json").read_text())
        source = catalog["sources"]["source.stagesql_check.aws.apigatewayv2_stage"]
        eq(source["metadata"]["type"], "BASE TABLE", "catalog table type")
        columns = sorted(source["columns"].values(), key=lambda c: c["index"])
        eq([c["name"] for c in columns], NAMES, "catalog columns")
        eq(columns[4]["type"], "boolean", "catalog auto_deploy type")

        out = dbt(project, "show", "--output", "json", "--inline",
                  f"select region, count(*) as n from {{{{ source('aws', '{TABLE}') }}}} "
                  "group by region order by region")
        shown = json.loads(out[out.index("{"):out.rindex("}") + 1])["show"]
        check(len(shown) > 0, "dbt show returned rows")
        eq(sorted(shown[0].keys()), ["n", "region"], "dbt show columns")
        check(sum(int(r["n"]) for r in shown) > 0, "dbt show counts")
    done("dbt")


if __name__ == "__main__":
    main()
