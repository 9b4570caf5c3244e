#!/usr/bin/env bash
# The ldai_fdw demo: installs what is missing, builds, starts the LaunchDarkly
# stand-in with realistic data and a throwaway PostgreSQL cluster, then runs
# example queries (scripts/demo.sql) and prints their rows: reads, joins with
# local tables, and database-driven updates (INSERT, UPDATE ... FROM, RETURNING).
#
#   bash scripts/demo.sh           run the examples and stop
#   bash scripts/demo.sh --psql    then leave an interactive psql on the demo
#                                  database (\q ends it, and stops the stand-in
#                                  and the cluster)
# PG_CONFIG chooses the PostgreSQL installation (default: pg_config on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
interactive=0
case "${1:-}" in
  --psql) interactive=1 ;;
  "") ;;
  *) echo "usage: $0 [--psql]" >&2; exit 2 ;;
esac
set --   # (standin.sh passes its arguments on to the stand-in)
bash scripts/deps.sh
make -s >/dev/null
make -s install >/dev/null
source scripts/standin.sh
source scripts/pgcluster.sh
trap 'cluster_stop; standin_stop' EXIT
cluster_start
"$PG_BIN/psql" -X -q -f scripts/demo.sql
if [ "$interactive" -eq 1 ]; then
  cat <<MSG

== Your turn: psql on the demo database (server "launchdarkly", schema "ld",
   local tables owners, eval_cases, verdicts; the stand-in listens on $LDAI_STANDIN_URL).
   Try:  \\d ld.*    SELECT key, name FROM ld.ai_configs;    EXPLAIN VERBOSE SELECT ...
   \\q ends the session and stops the stand-in and the cluster.
MSG
  # the api_key stays out of the interactive session's environment
  env -u LDAI_TEST_API_KEY "$PG_BIN/psql" -X -v PROMPT1='demo=%# '
fi
