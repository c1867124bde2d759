#!/usr/bin/env bash
# Runs every test of stagesql, installing what the tests need on a fresh machine first.
#
#   ./tests/run.sh
#
# Needs: a Rust toolchain (cargo, rustfmt, clippy), python3 and node/npm. Installs when missing:
# - Debian: psql (postgresql-client), pgjdbc (libpostgresql-jdbc-java), psqlODBC
#   (odbc-postgresql, unixodbc), a JDK for javac (default-jdk-headless), and the PostgreSQL 15
#   server with hstore (postgresql-15, postgresql-contrib) as the oracle of tests/tests/oracle.rs;
#   ruby-pg and ActiveRecord (ruby-pg, ruby-activerecord), Go with lib/pq and pgx v4
#   (golang-go, golang-github-lib-pq-dev, golang-github-jackc-pgx-v4-dev); HAProxy (haproxy);
# - PyPI, into a venv at ~/.cache/stagesql/venv: moto[server] (the AWS API the live-source
#   tests crawl) and the Python drivers and tools the client tests drive (psycopg, psycopg2,
#   asyncpg, pg8000, SQLAlchemy, pyodbc, pgcli, ibis, pandas, dbt-postgres);
# - npm, into ~/.cache/stagesql/node: pg and postgres (the Node drivers);
# - psql 16, 17 and 18 into ~/.cache/stagesql/psql (tests/clients/psql/install_psql.py: psql 16
#   from PyPI's pgserver wheel, 17 and 18 unpacked from Debian trixie and forky).
# Compiled dependencies are cached in $CARGO_TARGET_DIR (default ~/.cache/stagesql/target), outside
# the clone, so repeated runs and fresh clones reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stagesql/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
odbcinst -q -d 2>/dev/null | grep -q "PostgreSQL Unicode" || missing+=(odbc-postgresql unixodbc)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
# PostgreSQL 15 itself, the oracle the differential SQL test compares every answer with.
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/hstore.control ] || missing+=(postgresql-contrib)
# Ruby and Go clients of tests/tests/clients.rs: ruby-pg, ActiveRecord, lib/pq and pgx v4.
ruby -e 'require "pg"; require "active_record"' >/dev/null 2>&1 || missing+=(ruby-pg ruby-activerecord)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ -d /usr/share/gocode/src/github.com/lib/pq ] || missing+=(golang-github-lib-pq-dev)
[ -d /usr/share/gocode/src/github.com/jackc/pgx/v4 ] || missing+=(golang-github-jackc-pgx-v4-dev)
# HAProxy: the stock TCP load balancer in front of two replicas in tests/tests/load_balancer.rs.
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

VENV="${STAGESQL_VENV:-$HOME/.cache/stagesql/venv}"
if [ ! -x "$VENV/bin/moto_server" ]; then
  echo "== installing moto[server] into $VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5.2,<6'
fi
if ! "$VENV/bin/python" -c "import psycopg, psycopg2, asyncpg, pg8000, sqlalchemy, pyodbc, pgcli, ibis, pandas" 2>/dev/null; then
  echo "== installing the Python drivers and tools into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    'psycopg[binary]>=3.1,<4' 'psycopg2-binary>=2.9,<3' 'asyncpg>=0.29,<1' 'pg8000>=1.30,<2' \
    'sqlalchemy>=2.0,<3' 'pyodbc>=5,<6' 'pgcli>=4,<5' 'ibis-framework[postgres]>=10,<13' \
    'pandas>=2,<4'
fi
if [ ! -x "$VENV/bin/dbt" ]; then
  # dbt 1.9: later releases fetch a parser wheel from GitHub at install time.
  echo "== installing dbt-postgres into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'dbt-core>=1.9,<1.10' 'dbt-postgres>=1.9,<1.10'
fi
export STAGESQL_MOTO_SERVER="$VENV/bin/moto_server"
export STAGESQL_PYTHON="$VENV/bin/python"

NODE_DIR="${STAGESQL_NODE_MODULES:-$HOME/.cache/stagesql/node}"
if [ ! -d "$NODE_DIR/node_modules/pg" ] || [ ! -d "$NODE_DIR/node_modules/postgres" ]; then
  echo "== installing the Node drivers into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"name":"stagesql-client-tests","private":true}' > "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund 'pg@8' 'postgres@3' >/dev/null)
fi
export STAGESQL_NODE_MODULES="$NODE_DIR"

PSQL_DIR="${STAGESQL_PSQL_VERSIONS:-$HOME/.cache/stagesql/psql}"
python3 tests/clients/psql/install_psql.py "$PSQL_DIR" "$VENV/bin/pip"
export STAGESQL_PSQL_VERSIONS="$PSQL_DIR"
# The live-source tests give the SDK explicit endpoints and dummy keys; make sure nothing from
# the environment sends them to real AWS or makes them wait on instance metadata.
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_APIGATEWAYV2 AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
export AWS_EC2_METADATA_DISABLED=true

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== all tests passed"
