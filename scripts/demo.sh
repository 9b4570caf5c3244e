#!/usr/bin/env bash
# The ldai_fdw demo: installs what is missing, builds, starts the LaunchDarkly
# stand-in with realistic data and a throwaway PostgreSQL cluster, then runs
# example queries (scripts/demo.sql) and prints their rows.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
make -s >/dev/null
make -s install >/dev/null
source scripts/standin.sh
source scripts/pgcluster.sh
trap 'cluster_stop; standin_stop' EXIT
cluster_start
psql -X -q -f scripts/demo.sql
