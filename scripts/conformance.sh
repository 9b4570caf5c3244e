#!/usr/bin/env bash
# Conformance mode of the test suite: the pg_regress suite runs unchanged, with every request the
# FDW sends and every response the stand-in gives validated against the LaunchDarkly OpenAPI
# operations we use (test/standin/openapi-subset.json) by Stoplight Prism 5.14.2.
#
#   FDW --> relay (test/conformance/relay.py: byte-transparent, records) --> stand-in
#            \--> each exchange --> prism proxy --> relay's replay port (the recorded response)
#
# Any error-level violation that test/conformance/expected-violations.txt does not set aside fails
# the run, and so does a failing regression test or a failing demonstration of the checker.
# Logs end up in results/conformance/.  Last line: "conformance: N requests validated, M violations".
#
#   bash scripts/conformance.sh [--no-build]     (--no-build: use the extension as installed)
set -uo pipefail
build=1
case "${1:-}" in
  --no-build) build=0 ;;
  "") ;;
  *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
conf="$repo/test/conformance"
spec="$repo/test/standin/openapi-subset.json"
started=$EPOCHREALTIME
elapsed() { awk -v s="$started" -v n="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", n - s }'; }
verdict() { echo "conformance: $1 requests validated, $2 violations"; }

work=$(mktemp -d /tmp/ldai_conformance.XXXXXX)
relay_pid="" prism_pid="" standin_up=""
stop_pid() {  # stop_pid PID: SIGTERM, wait up to 60 s, then SIGKILL
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  type cluster_stop >/dev/null 2>&1 && cluster_stop
  stop_pid "$relay_pid"; relay_pid=""
  stop_pid "$prism_pid"; prism_pid=""
  if [ -n "$standin_up" ]; then standin_stop; standin_up=""; fi
  if [ -d "$work" ]; then
    rm -rf results/conformance && mkdir -p results && cp -r "$work" results/conformance 2>/dev/null
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. PostgreSQL and the build tools (as for scripts/test.sh), node and Prism (npm ci only when the
#    lock file changed since the last install)
bash scripts/deps.sh || { echo "cannot install the dependencies"; verdict 0 1; exit 1; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing nodejs and npm"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log"; echo "cannot install node"; verdict 0 1; exit 1; }
fi
lock_sum=$(sha256sum "$conf/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$conf/node_modules/.ldai-lock-sha256" 2>/dev/null)" != "$lock_sum" ] \
   || [ ! -x "$conf/node_modules/.bin/prism" ]; then
  (cd "$conf" && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) \
    || { tail -20 "$work/npm.log"; echo "npm ci failed"; verdict 0 1; exit 1; }
  echo "$lock_sum" >"$conf/node_modules/.ldai-lock-sha256"
fi
prism_version=$("$conf/node_modules/.bin/prism" --version 2>/dev/null)
echo "prism $prism_version, node $(node --version) ($(elapsed))"

# 2. build and install the extension
if [ "$build" -eq 1 ] && { ! make -s >"$work/build.log" 2>&1 || ! make -s install >>"$work/build.log" 2>&1; }; then
  tail -30 "$work/build.log"; echo "build failed"; verdict 0 1; exit 1
fi

# 3. the stand-in (journal: every request-log entry, never cleared, with the client's port)
source scripts/standin.sh --journal "$work/journal.jsonl"
standin_up=1
STANDIN_URL=$LDAI_STANDIN_URL

# 4. the relay, then Prism proxying to the relay's replay port
python3 "$conf/relay.py" --upstream "$STANDIN_URL" --port-file "$work/relay.port" \
  --replay-port-file "$work/replay.port" --prism-port-file "$work/prism.port" \
  --out "$work/exchanges.jsonl" >"$work/relay.log" 2>&1 &
relay_pid=$!
for _ in $(seq 1 100); do [ -s "$work/relay.port" ] && break; sleep 0.1; done
if [ ! -s "$work/relay.port" ]; then cat "$work/relay.log"; echo "relay did not start"; verdict 0 1; exit 1; fi
RELAY_URL="http://127.0.0.1:$(cat "$work/relay.port")"

: >"$work/prism.log"
"$conf/node_modules/.bin/prism" proxy "$spec" "http://127.0.0.1:$(cat "$work/replay.port")" \
  --host 127.0.0.1 --port 0 >"$work/prism.log" 2>&1 &
prism_pid=$!
prism_port=""
for _ in $(seq 1 600); do   # up to 60 s: the port opens once the spec is loaded (~2 s)
  kill -0 "$prism_pid" 2>/dev/null || break
  prism_port=$(sed -n 's|.*Prism is listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$work/prism.log" | head -1)
  if [ -n "$prism_port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$prism_port") 2>/dev/null; then break; fi
  prism_port=""
  sleep 0.1
done
if [ -z "$prism_port" ]; then tail -30 "$work/prism.log"; echo "prism did not start"; verdict 0 1; exit 1; fi
echo "$prism_port" >"$work/prism.port"
echo "stand-in $STANDIN_URL, relay $RELAY_URL, prism on port $prism_port ($(elapsed))"

# 5. the checker can fail: deliberate violations sent by hand
demo_ok=1
RELAY_URL=$RELAY_URL STANDIN_URL=$STANDIN_URL CONF_WORK=$work bash "$conf/demo_violations.sh" || demo_ok=0
prism_offset=$(stat -c %s "$work/prism.log")

# 6. the regression suite through the relay; control calls (/_test/...) go to the stand-in.
#    pg_regress writes to $work/regress (results/, regression.diffs), not to the shared results/.
export LDAI_STANDIN_URL=$RELAY_URL LDAI_STANDIN_CONTROL_URL=$STANDIN_URL
#    tls.sql talks https to a second stand-in the relay cannot see into: it is left out here.
mkdir -p "$work/regress"
source scripts/pgcluster.sh
cluster_start || { echo "cannot start PostgreSQL"; verdict 0 1; exit 1; }
tests=$(make -s -f Makefile print-regress 2>/dev/null | tr ' ' '\n' | grep -vx tls | tr '\n' ' ')
make -s installcheck REGRESS="$tests" EXTRA_REGRESS_OPTS="--outputdir=$work/regress" >"$work/regress.log" 2>&1
regress_rc=$?
cluster_stop
ok=$(grep -cE '^ok |\.\.\. ok' "$work/regress.log" || true)
bad=$(grep -cE '^not ok |\.\.\. FAILED' "$work/regress.log" || true)
grep -E '^(not )?ok |\.\.\. (ok|FAILED)' "$work/regress.log" | sed 's/^/  /'
if [ -f "$work/regress/regression.diffs" ]; then head -100 "$work/regress/regression.diffs"; fi
if [ "$regress_rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
  tail -30 "$work/regress.log"; echo "pg_regress exited with status $regress_rc"; bad=1
fi
if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then tail -30 "$work/regress.log"; bad=1; fi
echo "pg_regress through the relay: $ok passed, $bad failed ($(elapsed))"

# 7. stop the relay (it finishes validating), Prism and the stand-in; then the verdict
stop_pid "$relay_pid"; relay_pid=""
stop_pid "$prism_pid"; prism_pid=""
standin_stop; standin_up=""
cat "$work/relay.log"
report=$(python3 "$conf/report.py" --exchanges "$work/exchanges.jsonl" --journal "$work/journal.jsonl" \
           --prism-log "$work/prism.log" --prism-log-offset "$prism_offset" \
           --allow "$conf/expected-violations.txt" 2>&1)
report_code=$?
last=$(tail -1 <<<"$report")
sed '$d' <<<"$report"
[ "$demo_ok" -eq 1 ] || echo "FAILED: the demonstration of a deliberate violation (see above)"
[ "$bad" -eq 0 ] || echo "FAILED: $bad regression test(s) through the relay"
echo "took $(elapsed); logs in results/conformance/"
if [[ "$last" =~ ^conformance:\ [0-9]+\ requests\ validated,\ [0-9]+\ violations$ ]]; then
  echo "$last"
else
  echo "$report" | tail -20; verdict 0 1; exit 1
fi
[ "$report_code" -eq 0 ] && [ "$demo_ok" -eq 1 ] && [ "$bad" -eq 0 ]
