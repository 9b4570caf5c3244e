#!/usr/bin/env bash
# Install what building and testing ldai_fdw needs on Debian 12 (as root),
# plus any packages named as arguments (bench/run.sh adds its own).
# Skips apt entirely when everything is already there.
set -euo pipefail

PKGS=(postgresql-15 postgresql-server-dev-15 postgresql-contrib libcurl4-openssl-dev
      libcjson-dev python3 curl make gcc ca-certificates openssl "$@")

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
