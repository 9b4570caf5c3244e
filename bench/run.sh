#!/usr/bin/env bash
# ldai_fdw benchmark (issue 8): one command runs P1-P5 and their baselines and
# writes bench/RESULTS.md.  Debian 12, as root.  See bench/README.md.
#
#   bash bench/run.sh                 # everything (~6-9 minutes)
#   bash bench/run.sh --only p1,p2    # a subset; other flags go to bench/bench.py
#   bash bench/run.sh --perf          # also profile the backend with perf
set -euo pipefail
cd "$(dirname "$0")/.."
# the install into the one PostgreSQL tree is shared with scripts/test.sh (and
# other benchmarks): take the same lock, so that what is measured is this tree's build
exec 9>/tmp/ldai_fdw_test.lock
flock 9
ROOT=$(pwd)
B=$ROOT/bench
mkdir -p "$B/build" "$B/out"

# 1. packages (only what is missing; Debian packages only)
extra=(postgresql-plpython3-15 git)
if [[ " $* " == *" --perf "* ]]; then extra+=(linux-perf); fi
bash scripts/deps.sh "${extra[@]}"

# 2. the FDW, and the fake LaunchDarkly server
echo "bench: building and installing ldai_fdw"
make -s
make -s install >/dev/null
gcc -O2 -Wall -Wextra -pthread -o "$B/build/ldbench_server" "$B/ldbench_server.c"

# 3. the server, on a free loopback port with a random key; bounded lifetime
KEY="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
PORTFILE=$B/out/server.port
rm -f "$PORTFILE"
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$B/build/ldbench_server" --port 0 --port-file "$PORTFILE" --key "$KEY" --project bench \
  --max-lifetime 1500 --cache-mb 768 \
  --opt big=100000 --opt p3=10000 --opt small=10000 --opt huge=1000000 --opt ins=0 --opt upd=1000 \
  2> "$B/out/server.log" &
SERVER_PID=$!
for _ in $(seq 50); do [ -s "$PORTFILE" ] && break; sleep 0.1; done
[ -s "$PORTFILE" ] || { echo "bench: the server did not start"; cat "$B/out/server.log"; exit 1; }
PORT=$(cat "$PORTFILE")
echo "bench: fake LaunchDarkly on 127.0.0.1:$PORT"

# 4. the measures, against a throwaway PostgreSQL 15 cluster (at most 20 minutes)
export BENCH_COMMAND="bash bench/run.sh${*:+ $*}"
timeout --kill-after=15 1200 pg_virtualenv -v 15 \
  python3 "$B/bench.py" --port "$PORT" --key "$KEY" "$@"
