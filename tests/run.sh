#!/usr/bin/env bash
# Runs every test of stagesql, installing what the tests need on a fresh machine first.
#
#   ./tests/run.sh
#
# Needs: a Rust toolchain (cargo, rustfmt, clippy). Installs when missing: psql (Debian
# postgresql-client), used by the integration tests as a real client.
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

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== all tests passed"
