#!/usr/bin/env bash
# The suite of ldai_fdw on one PostgreSQL installation (the one PG_CONFIG
# names, else the pg_config on PATH): builds with -Werror and installs,
# self-tests the LaunchDarkly stand-in, runs the pg_regress suite on a
# throwaway cluster against the stand-in, and searches every output for the
# api_key.  Last line: "N passed, M failed".
#
# scripts/test.sh runs this on the host's PostgreSQL and, through
# scripts/pgroot.sh, inside a Debian root for each other version.
#   LDAI_REGRESS="setup keys"  run only these pg_regress files
set -uo pipefail
cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-pg_config}

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
echo "building against $("$PG_CONFIG" --version) ($PG_CONFIG)"
make -s clean >/dev/null 2>&1 || true
if ! make -s PG_CFLAGS='-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror' \
     || ! make -s install >/dev/null; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

passed=0; failed=0

# 1. the stand-in's own checks
if out=$(python3 test/standin/selftest.py 2>&1); then
  passed=$((passed + 1)); echo "ok - stand-in self-test"
else
  failed=$((failed + 1)); echo "not ok - stand-in self-test"; echo "$out" | tail -20
fi

# 2. pg_regress against the stand-in, on a private throwaway cluster whose
#    log records everything (debug5), so it can be searched for the key below
source scripts/standin.sh
source scripts/pgcluster.sh
# a second stand-in serving https with a private test CA (sql/tls.sql)
tls_dir=$(mktemp -d /tmp/ldai_tls.XXXXXX)
bash scripts/tls_certs.sh "$tls_dir"
python3 test/standin/ld_standin.py --port 0 --port-file "$tls_dir/port" --api-key "$LDAI_TEST_API_KEY" \
  --tls-cert "$tls_dir/server.pem" --tls-key "$tls_dir/server.key" --max-lifetime 3600 >"$tls_dir/log" 2>&1 &
tls_pid=$!
for _ in $(seq 1 100); do [ -s "$tls_dir/port" ] && break; sleep 0.1; done
export LDAI_STANDIN_TLS_PORT=$(cat "$tls_dir/port") LDAI_TEST_CA="$tls_dir/ca.pem"
trap 'cluster_stop; standin_stop; kill $tls_pid 2>/dev/null; rm -rf "$tls_dir"' EXIT
cluster_start log_min_messages=debug5 || { echo "0 passed, 1 failed"; exit 1; }
rm -rf results regression.diffs regression.out
make -s installcheck ${LDAI_REGRESS:+REGRESS="$LDAI_REGRESS"} > regress.log 2>&1
cat regress.log | grep -E '^(ok|not ok|test| +[a-z_]+ +\.\.\.)|^\s*\d' || true
grep -E '^(not )?ok|\.\.\. (ok|FAILED)' regress.log >/dev/null || cat regress.log | tail -30
ok=$(grep -cE '^ok |\.\.\. ok' regress.log || true)
bad=$(grep -cE '^not ok |\.\.\. FAILED' regress.log || true)
passed=$((passed + ok)); failed=$((failed + bad))
if [ -f regression.diffs ]; then head -200 regression.diffs; fi
if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then failed=$((failed + 1)); tail -30 regress.log; fi

# 3. the api_key never shows: not in any test output, the server log at
#    debug5, or the stand-in's log
if grep -rlF -- "$LDAI_TEST_API_KEY" results regress.log "$LDAI_PG_LOG" "$_standin_dir" expected sql 2>/dev/null; then
  failed=$((failed + 1)); echo "not ok - secrets: the api_key appears in the files above"
else
  passed=$((passed + 1)); echo "ok - secrets: api_key absent from test output and logs ($(wc -l < "$LDAI_PG_LOG") log lines at debug5)"
fi
rm -f regress.log

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
