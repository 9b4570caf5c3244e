#!/usr/bin/env bash
# Install what building and testing ldai_fdw needs on Debian (as root), plus
# any packages named as arguments (bench/run.sh adds its own).
# The PostgreSQL packages are those of the version PG_CONFIG names (a Debian
# /usr/lib/postgresql/NN/bin/pg_config), else PostgreSQL 15 (Debian 12's).
# With PG_CONFIG pointing at a PostgreSQL built elsewhere, only the other
# packages are installed; without dpkg, nothing is (see README, Install).
# Skips apt entirely when everything is already there.
set -euo pipefail

PKGS=(libcurl4-openssl-dev libcjson-dev python3 curl make gcc ca-certificates openssl "$@")
case "${PG_CONFIG:-pg_config}" in
  pg_config) PKGS+=(postgresql-15 postgresql-server-dev-15 postgresql-contrib) ;;
  /usr/lib/postgresql/*/bin/pg_config)
    v=${PG_CONFIG#/usr/lib/postgresql/}; v=${v%%/*}
    PKGS+=(postgresql-"$v" postgresql-server-dev-"$v") ;;
  *) ;;
esac

if ! command -v dpkg-query >/dev/null; then
  echo "deps: not Debian; install by hand: ${PKGS[*]} (or your distribution's equivalents)" >&2
  exit 0
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
