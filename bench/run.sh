#!/usr/bin/env bash
# The benchmark in one command: builds the release binary, then runs bench/run.py (stagesql
# against a throwaway PostgreSQL 15 with pgbench) and the crawl benchmark, and writes
# bench/RESULTS.md. Needs the Debian packages postgresql (server + pgbench) and
# postgresql-client; installs them when missing and run as root.
#
#   bench/run.sh [--sizes 10000,100000] [--seconds 15]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${STAGESQL_CACHE_DIR:-$HOME/.cache/stagesql}/target}"

if ! command -v pgbench >/dev/null || [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql postgresql-contrib >/dev/null
  else
    echo "bench: install postgresql (PostgreSQL 15 server and pgbench) first" >&2
    exit 1
  fi
fi

cargo build --release --bin stagesql --example crawl_bench --example org_bench --example replica_bench --example refresh_latency -p stagesql-tests -p stagesql-server
out="$(mktemp)"
python3 bench/run.py --binary "$CARGO_TARGET_DIR/release/stagesql" --results "$out" "$@"
{
  echo "# Benchmark results"
  echo
  echo "Latest run of \`bench/run.sh\` ($(date -u +%Y-%m-%d)). Ratios from the same run are the figures"
  echo "that count; absolute numbers drift between machines and runs."
  echo
  cat "$out"
  echo
  echo "## Crawl"
  echo
  "$CARGO_TARGET_DIR/release/examples/crawl_bench"
  echo
  echo "## Organization discovery"
  echo
  "$CARGO_TARGET_DIR/release/examples/org_bench"
  echo
  echo "## Latency under refresh"
  echo
  "$CARGO_TARGET_DIR/release/examples/refresh_latency" "$CARGO_TARGET_DIR/release/stagesql"
  echo
  echo "## Scale out"
  echo
  "$CARGO_TARGET_DIR/release/examples/replica_bench" "$CARGO_TARGET_DIR/release/stagesql"
} > bench/RESULTS.md
rm -f "$out"
echo "bench: wrote bench/RESULTS.md"
