#!/usr/bin/env bash
# ldai_fdw preloaded, under load (issue 18): a throwaway cluster with
# shared_preload_libraries = 'ldai_fdw' (so the budget, LaunchDarkly's
# rate-limit state and ldai_fdw_stats are shared by every backend) and a
# stand-in enforcing an account-wide limit.  Phases:
#   budget   8 sessions x 50 mixed statements (key reads, LIMIT scans,
#            project-wide scans, an INSERT and a DELETE of a throwaway AI
#            Config each) with max_requests_per_second below the account
#            limit: 0 errors, 0 wrong results, 0 answers of 429
#   nobudget the same with no budget of ours (and 6 scripted 429s): every
#            429 is retried, 0 errors, 0 wrong results
#   long     1 session x 2000 statements: backend RSS growth < 16 MB, and
#            ldai_fdw_stats equal to the stand-in's counts
#   kill     pg_terminate_backend of a session waiting for budget (its wait
#            event named): the budget is not leaked, the next session runs
#            at the configured rate
#   p8       (bench P8) max_requests_per_second '20', 4 sessions scanning
#            together: never more than 20 requests in any second (the
#            stand-in's timestamps), done within 1.2x of requests/20 s
# Last line: "N passed, M failed".  Bounded: every psql is under `timeout`.
#   bash scripts/load.sh [--install] [--only PHASE,...]
# --install builds and installs first (under scripts/test.sh's lock); test.sh
# runs it after its own install, without.
set -uo pipefail
cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-pg_config}
install=; only=all
while [ $# -gt 0 ]; do
  case "$1" in
    --install) install=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--install] [--only PHASE,...]" >&2; exit 2 ;;
  esac
done
if [ -n "$install" ]; then
  exec 9>/tmp/ldai_fdw_test.lock
  flock 9
  { make -s && make -s install >/dev/null; } || { echo "0 passed, 1 failed"; exit 1; }
fi
want() { [ "$only" = all ] || [[ ",$only," == *",$1,"* ]]; }

source scripts/standin.sh
source scripts/pgcluster.sh
work=$(mktemp -d /tmp/ldai_load.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop; standin_stop; rm -rf "$work"' EXIT
cluster_start shared_preload_libraries=ldai_fdw max_connections=30 || { echo "0 passed, 1 failed"; exit 1; }
pgver=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')

passed=0; failed=0
# check LABEL STATUS: count one result
check() {
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok - $1"
  else failed=$((failed + 1)); echo "not ok - $1"; fi
}
q() { timeout 60 psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
ctl() { curl -sS -f -X POST -H 'Content-Type: application/json' --data-binary "$2" "$LDAI_STANDIN_URL/_test/$1" >/dev/null; }
standin_log() { curl -sS -f "$LDAI_STANDIN_URL/_test/requests?format=jsonl"; }
count_status() { standin_log | grep -c "\"status\":$1" || true; }

q -v ldurl="$LDAI_STANDIN_URL" -v ldkey="$LDAI_TEST_API_KEY" <<'SQL' || { echo "0 passed, 1 failed"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION ldai_fdw;
CREATE SERVER ld FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '50');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld OPTIONS (api_key :'ldkey');
CREATE SCHEMA ld;
IMPORT FOREIGN SCHEMA "default" FROM SERVER ld INTO ld;
SQL

# gen_session FILE TAG N: N mixed statements, each printing OK or WRONG
gen_session() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
mix = [
    "SELECT CASE WHEN count(*) = 1 THEN 'OK' ELSE 'WRONG' END FROM ld.ai_configs WHERE key = 'ticket-summarizer';",
    "SELECT CASE WHEN count(*) = 5 THEN 'OK' ELSE 'WRONG' END FROM (SELECT id FROM ld.agent_optimization_results"
    " WHERE optimization_key = 'support-triage' LIMIT 5) s;",
    "SELECT CASE WHEN count(run_id) = 20 THEN 'OK' ELSE 'WRONG' END FROM ld.agent_optimization_runs;",
    "SELECT CASE WHEN max(version) = 3 THEN 'OK' ELSE 'WRONG' END FROM ld.agent_optimizations WHERE key = 'support-triage';",
    "SELECT CASE WHEN count(*) = 0 THEN 'OK' ELSE 'WRONG' END FROM ld.ai_configs WHERE key = 'no-such-config';",
]
with open(path, "w") as f:
    f.write("\\set ON_ERROR_STOP 0\n")
    for j in range(n):
        key = "load-%s" % tag
        if j == 10:
            f.write("WITH i AS (INSERT INTO ld.ai_configs (key, name) VALUES ('%s', 'Load test') RETURNING key)"
                    " SELECT CASE WHEN count(*) = 1 THEN 'OK' ELSE 'WRONG' END FROM i;\n" % key)
        elif j == 30:
            f.write("WITH d AS (DELETE FROM ld.ai_configs WHERE key = '%s' RETURNING key)"
                    " SELECT CASE WHEN count(*) = 1 THEN 'OK' ELSE 'WRONG' END FROM d;\n" % key)
        elif j == 100 or (j == n - 1 and n > 100):
            f.write("SELECT 'RSS ' || substring(pg_read_file('/proc/self/status') from 'VmRSS:\\s+(\\d+)');\n")
        else:
            f.write(mix[j % len(mix)] + "\n")
PY
}

# run_sessions PHASE N STMTS: N sessions at once; sets ok/wrong/errors
run_sessions() {
  local phase=$1 n=$2 stmts=$3 i pids=()
  for i in $(seq 1 "$n"); do
    gen_session "$work/$phase-$i.sql" "$phase-$i" "$stmts"
    timeout 150 psql -X -q -A -t -f "$work/$phase-$i.sql" >"$work/$phase-$i.out" 2>"$work/$phase-$i.err" &
    pids+=($!)
  done
  wait "${pids[@]}"
  ok=$(cat "$work/$phase"-*.out | grep -c '^OK$' || true)
  wrong=$(cat "$work/$phase"-*.out | grep -c '^WRONG$' || true)
  errors=$(cat "$work/$phase"-*.err | grep -c 'ERROR' || true)
  [ "$errors" -eq 0 ] || head -5 "$work/$phase"-*.err
}

if want budget; then
  # the account allows 30 requests per second; our budget is 25
  ctl reset '{}'
  ctl ratelimit '{"window_ms": 1000, "global": 30}'
  q -c "ALTER SERVER ld OPTIONS (ADD max_requests_per_second '25')"
  t0=$SECONDS
  run_sessions budget 8 50
  too_many=$(count_status 429); total=$(standin_log | wc -l)
  echo "budget: $ok OK, $wrong wrong, $errors errors, $total requests, $too_many answers of 429 ($((SECONDS - t0)) s)"
  check "budget: 8 sessions x 50 statements, 0 errors, 0 wrong results, 0 answers of 429" \
    $([ "$ok" -eq 400 ] && [ "$wrong" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$too_many" -eq 0 ]; echo $?)
  q -c "ALTER SERVER ld OPTIONS (DROP max_requests_per_second)"
fi

if want nobudget; then
  # no budget of ours: LaunchDarkly's headers alone (shared by the sessions,
  # they leave no 429 to the window), plus 6 scripted 429s: each is retried
  ctl reset '{}'
  ctl ratelimit '{"window_ms": 1000, "global": 30}'
  ctl faults '{"method": "GET", "path": "/agent-optimizations$", "status": 429, "headers": {"Retry-After": "1"}, "times": 6}'
  q -c "SELECT ldai_fdw_stats_reset()" >/dev/null
  t0=$SECONDS
  run_sessions nobudget 8 50
  too_many=$(count_status 429); total=$(standin_log | wc -l)
  retries=$(q -c "SELECT coalesce(sum(retries), 0) FROM ldai_fdw_stats")
  echo "nobudget: $ok OK, $wrong wrong, $errors errors, $total requests, $too_many answers of 429, $retries retries ($((SECONDS - t0)) s)"
  check "nobudget: 8 sessions x 50 statements, every 429 retried, 0 errors, 0 wrong results" \
    $([ "$ok" -eq 400 ] && [ "$wrong" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$too_many" -ge 6 ] && [ "$retries" -ge "$too_many" ]; echo $?)
fi

if want long; then
  # 2000 statements in one session: memory and statistics
  ctl reset '{}'
  q -c "SELECT ldai_fdw_stats_reset()" >/dev/null
  t0=$SECONDS
  run_sessions long 1 2000
  rss=($(grep '^RSS ' "$work/long-1.out" | awk '{print $2}'))
  growth=$(( ${rss[1]:-999999} - ${rss[0]:-0} ))
  stats=$(q -F ' ' -c "SELECT sum(requests), sum(responses_2xx), sum(responses_4xx), sum(responses_429 + responses_5xx + transport_errors) FROM ldai_fdw_stats")
  seen="$(standin_log | wc -l) $(standin_log | grep -cE '"status":2[0-9][0-9]') $(standin_log | grep -cE '"status":4[0-9][0-9]') 0"
  echo "long: $ok OK, $wrong wrong, $errors errors; RSS ${rss[0]:-?} kB -> ${rss[1]:-?} kB; stats (requests 2xx 4xx other) $stats, stand-in $seen ($((SECONDS - t0)) s)"
  check "long: 1 session x 2000 statements, 0 errors, 0 wrong, RSS growth ${growth} kB < 16 MB" \
    $([ "$ok" -eq 1998 ] && [ "$wrong" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$growth" -lt 16384 ]; echo $?)
  check "long: ldai_fdw_stats equal to the stand-in's counts" $([ "$stats" = "$seen" ]; echo $?)
fi

if want kill; then
  # a session waiting for budget (1 request per second) is terminated
  ctl reset '{}'
  q -v ldurl="$LDAI_STANDIN_URL" -v ldkey="$LDAI_TEST_API_KEY" <<'SQL'
CREATE SERVER ld_slow FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '10', max_requests_per_second '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_slow OPTIONS (api_key :'ldkey');
CREATE SCHEMA slow;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_configs, agent_optimization_results) FROM SERVER ld_slow INTO slow;
SQL
  timeout 60 psql -X -q -A -t -c "SELECT count(id) /* slow */ FROM slow.agent_optimization_results WHERE optimization_key = 'support-triage'" \
    >"$work/slow.out" 2>&1 &
  slow_pid=$!
  event=
  for _ in $(seq 1 50); do
    event=$(q -c "SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE query LIKE '%/* slow */%' AND pid <> pg_backend_pid() AND wait_event_type = 'Extension'")
    [ -n "$event" ] && [ "$event" != "Extension/LaunchDarklyRequest" ] && break
    sleep 0.1
  done
  want_event=Extension/LaunchDarklyThrottle; [ "$pgver" -ge 17 ] || want_event=Extension/Extension
  check "kill: the wait for budget shows as $want_event (seen: ${event:-nothing})" $([ "$event" = "$want_event" ]; echo $?)
  q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%/* slow */%' AND pid <> pg_backend_pid()" >/dev/null
  wait "$slow_pid" 2>/dev/null
  # the next session: 3 requests at 1 per second take 2-3 s, not more
  t0=$(date +%s%N)
  q -c "SELECT key FROM slow.ai_configs WHERE key = 'ticket-summarizer'; SELECT key FROM slow.ai_configs WHERE key = 'resume-screener';
        SELECT key FROM slow.ai_configs WHERE key = 'answer-quality-judge';" >/dev/null
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "kill: after the terminate, 3 requests at 1/s took $ms ms"
  check "kill: pg_terminate_backend mid-wait leaks no budget (3 requests in $ms ms < 4000)" $([ "$ms" -lt 4000 ]; echo $?)
fi

if want p8; then
  # bench P8: max_requests_per_second '20', 4 sessions scanning together
  ctl reset '{}'
  ctl ratelimit '{"timestamps": true}'
  q -v ldurl="$LDAI_STANDIN_URL" -v ldkey="$LDAI_TEST_API_KEY" <<'SQL'
CREATE SERVER ld_p8 FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '10', max_requests_per_second '20');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_p8 OPTIONS (api_key :'ldkey');
CREATE SCHEMA p8;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (agent_optimization_results) FROM SERVER ld_p8 INTO p8;
SQL
  t0=$(date +%s%N); pids=()
  for i in 1 2 3 4; do
    timeout 60 psql -X -q -A -t -c "SELECT count(id) FROM p8.agent_optimization_results WHERE optimization_key = 'support-triage'" \
      >"$work/p8-$i.out" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  rows=$(cat "$work"/p8-*.out | grep -c '^308$' || true)
  read -r n most_sliding most_second < <(standin_log | python3 -c '
import json, sys
t = sorted(json.loads(l)["at_ms"] for l in sys.stdin if l.strip())
sliding = max(sum(1 for b in t if a <= b < a + 1000) for a in t) if t else 0
per_second = {}
for a in t:
    per_second[a // 1000] = per_second.get(a // 1000, 0) + 1
print(len(t), sliding, max(per_second.values()) if t else 0)')
  ideal=$(( n * 1000 / 20 ))
  echo "p8: $n requests in $ms ms (requests/20 = $ideal ms, ratio $(python3 -c "print(round($ms / max($ideal, 1), 2))")); most in any 1 s window: $most_sliding; most in one calendar second: $most_second; $rows of 4 scans right"
  [ -n "${LDAI_P8_OUT:-}" ] && echo "$n $ms $ideal $most_sliding $most_second $rows" >"$LDAI_P8_OUT"
  check "p8: 4 sessions at max_requests_per_second 20: at most 20 requests in any second ($most_sliding), within 1.2x of requests/20 s ($ms ms vs $ideal ms)" \
    $([ "$rows" -eq 4 ] && [ "$most_sliding" -le 20 ] && [ "$ms" -le $(( ideal * 12 / 10 )) ]; echo $?)
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
