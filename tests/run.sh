#!/usr/bin/env bash
# Runs every test of stagesql, installing what the tests need on a fresh machine first.
#
#   ./tests/run.sh
#
# Needs: a Rust toolchain (cargo, rustfmt, clippy) and python3. Installs when missing: psql
# (Debian postgresql-client), a real client for the integration tests, and moto_server (PyPI
# moto[server], into a venv at ~/.cache/stagesql/venv), the AWS API the live-source tests crawl.
# Compiled dependencies are cached in $CARGO_TARGET_DIR (default ~/.cache/stagesql/target), outside
# the clone, so repeated runs and fresh clones reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stagesql/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v psql >/dev/null 2>&1; then
  echo "== installing postgresql-client (psql)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
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
export STAGESQL_MOTO_SERVER="$VENV/bin/moto_server"
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
