#!/usr/bin/env bash
# ldai_fdw benchmark rows of issue 14 (project-wide reads): P1b, P6, P7.
# Debian 12, as root, after bench/run.sh has installed what it needs.
#   bash bench/reads.sh        # about a minute; updates the issue-14 section of bench/RESULTS.md
set -euo pipefail
cd "$(dirname "$0")/.."
# the install into the one PostgreSQL tree is shared with scripts/test.sh (and
# other benchmarks): take the same lock, so that what is measured is this tree's build
exec 9>/tmp/ldai_fdw_test.lock
flock 9
B=$(pwd)/bench
mkdir -p "$B/build" "$B/out"
make -s && make -s install >/dev/null
gcc -O2 -Wall -Wextra -pthread -o "$B/build/ldbench_server" "$B/ldbench_server.c"
KEY="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start() {  # start NAME ARGS...: a server on a free port; sets PORT
  local pf=$B/out/$1.port; shift
  rm -f "$pf"
  "$B/build/ldbench_server" --port 0 --port-file "$pf" --key "$KEY" --max-lifetime 600 "$@" \
    2> "$pf.log" &
  PIDS+=($!)
  for _ in $(seq 50); do [ -s "$pf" ] && break; sleep 0.1; done
  [ -s "$pf" ] || { echo "bench: a server did not start"; cat "$pf.log"; exit 1; }
  PORT=$(cat "$pf")
}
start main --project bench --opt big=100000
MAIN=$PORT
# P6: a project of 50 optimizations of 1 or 2 pages (80 or 150 results) each
opts=()
for i in $(seq -w 1 50); do opts+=(--opt "o$i=$(( 10#$i % 2 ? 150 : 80 ))"); done
start p6 --project p6 "${opts[@]}"
P6=$PORT
timeout --kill-after=15 600 pg_virtualenv -v 15 \
  python3 "$B/reads_bench.py" --port "$MAIN" --p6-port "$P6" --key "$KEY" "$@"
