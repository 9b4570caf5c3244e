#!/usr/bin/env bash
# The whole test suite of ldai_fdw, on every supported PostgreSQL version:
#   - the host's PostgreSQL (15 on Debian 12; or the one PG_CONFIG names):
#     scripts/suite.sh (build with -Werror, stand-in self-test, pg_regress
#     against the stand-in, secrets search), then the packaging check,
#     the conformance run through Prism, the preloaded load test
#     (scripts/load.sh) and fuzzing;
#   - PostgreSQL 17 and 18: scripts/suite.sh inside a cached Debian root of
#     each (scripts/pgroot.sh: trixie has 17, sid has 18), built on first use.
# Prints one summary line per version; last line: "N passed, M failed".
#
#   bash scripts/test.sh [--pg VERSION]...   only these versions (also
#                                            LDAI_PG_VERSIONS="15 17")
# Development shortcuts (the full run sets none):
#   LDAI_REGRESS="setup keys"  run only these pg_regress files
#   LDAI_QUICK=1               skip the conformance and fuzzing steps
# Runs on one machine take turns (the extension is installed into the one
# host PostgreSQL tree; the roots are shared too): a lock file serializes them.
set -uo pipefail
cd "$(dirname "$0")/.."

versions=${LDAI_PG_VERSIONS:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --pg) [ $# -ge 2 ] || { echo "usage: $0 [--pg VERSION]..." >&2; exit 2; }
          versions="$versions $2"; shift 2 ;;
    --pg=*) versions="$versions ${1#--pg=}"; shift ;;
    *) echo "usage: $0 [--pg VERSION]..." >&2; exit 2 ;;
  esac
done

exec 9>/tmp/ldai_fdw_test.lock
flock 9
started=$SECONDS

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
host_ver=$("${PG_CONFIG:-pg_config}" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
# LDAI_QUICK alone: the host's version only
[ -n "${LDAI_QUICK:-}" ] && [ -z "$versions" ] && versions=$host_ver
versions=$(echo "${versions:-$host_ver 17 18}" | tr ' ' '\n' | grep . | awk '!seen[$0]++' | tr '\n' ' ')

passed=0; failed=0; summary=()
tmp=$(mktemp -d /tmp/ldai_test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# run_counted LABEL NOTE CMD...: run CMD, show its output, add up its last
# line ("N passed, M failed") under LABEL
run_counted() {
  local label=$1 note=$2 t0=$SECONDS last p f
  shift 2
  "$@" 2>&1 | tee "$tmp/out"
  last=$(tail -1 "$tmp/out")
  if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
  else
    p=0; f=1; echo "not ok - $label: no result line"
  fi
  passed=$((passed + p)); failed=$((failed + f))
  summary+=("$label: $p passed, $f failed ($((SECONDS - t0)) s$note)")
}

# host_checks: the steps that run once, on the host's PostgreSQL
host_checks() {
  local p=0 f=0 out
  if out=$(python3 scripts/meta_check.py META.json 2>&1) && out2=$(bash scripts/dist_check.sh 2>&1); then
    p=$((p + 1)); echo "ok - packaging: $out; $out2"
  else
    f=$((f + 1)); echo "not ok - packaging"; echo "$out"; echo "${out2:-}"
  fi
  if [ -z "${LDAI_QUICK:-}" ]; then
    # conformance: the suite again, every request and response validated
    # against LaunchDarkly's OpenAPI spec by Prism (scripts/conformance.sh)
    if out=$(bash scripts/conformance.sh --no-build 2>&1); then
      p=$((p + 1)); echo "ok - $(tail -1 <<<"$out")"
    else
      f=$((f + 1)); echo "not ok - conformance"; tail -40 <<<"$out"
    fi
    # preloaded (shared_preload_libraries), under load, with an account-wide
    # rate limit: shared budget, statistics, memory (scripts/load.sh)
    if out=$(bash scripts/load.sh 2>&1); then
      p=$((p + 1)); echo "ok - load (preloaded): $(grep -c '^ok - ' <<<"$out") checks"
    else
      f=$((f + 1)); echo "not ok - load (preloaded)"; tail -40 <<<"$out"
    fi
    # fuzzing the PostgreSQL-free layers (page parsing, response headers)
    if out=$(bash scripts/fuzz.sh "${LDAI_FUZZ_SECONDS:-30}" 2>&1); then
      p=$((p + 1)); echo "ok - $(tail -1 <<<"$out")"
    else
      f=$((f + 1)); echo "not ok - fuzzing"; tail -40 <<<"$out"
    fi
  fi
  echo "$p passed, $f failed"
}

# on_host: scripts/suite.sh on the host's PostgreSQL, then the host checks;
# one result line for both
on_host() {
  local p=0 f=0 last
  bash scripts/suite.sh 2>&1 | tee "$tmp/suite"
  host_checks | tee "$tmp/host"
  for last in "$(tail -1 "$tmp/suite")" "$(tail -1 "$tmp/host")"; do
    if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
      p=$((p + BASH_REMATCH[1])); f=$((f + BASH_REMATCH[2]))
    else
      f=$((f + 1))
    fi
  done
  echo "$p passed, $f failed"
}

# in_pgroot V: scripts/suite.sh inside the Debian root of PostgreSQL V
in_pgroot() {
  bash scripts/pgroot.sh ensure "$1" || { echo "0 passed, 1 failed"; return 1; }
  bash scripts/pgroot.sh run "$1" bash scripts/suite.sh
}

host_note="; with packaging (quick: no conformance, no fuzzing)"
[ -n "${LDAI_QUICK:-}" ] || host_note="; with packaging, conformance, load and fuzzing"
for v in $versions; do
  if [ "$v" = "$host_ver" ]; then
    echo "== PostgreSQL $v (host)"
    run_counted "PostgreSQL $v" "$host_note" on_host
  else
    echo "== PostgreSQL $v (Debian root, scripts/pgroot.sh)"
    run_counted "PostgreSQL $v" "; in ${LDAI_ROOT_CACHE:-/var/cache/ldai_fdw}" in_pgroot "$v"
  fi
done

echo "== summary ($((SECONDS - started)) s)"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
