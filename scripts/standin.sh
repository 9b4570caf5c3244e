#!/usr/bin/env bash
# Start the LaunchDarkly stand-in on a free loopback port, in the background.
# Usage: source scripts/standin.sh [extra stand-in args]; then standin_stop.
# Exports LDAI_STANDIN_URL and LDAI_TEST_API_KEY (a fresh random key).

_standin_dir=$(mktemp -d /tmp/ldai_standin.XXXXXX)
LDAI_TEST_API_KEY="api-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export LDAI_TEST_API_KEY
python3 "$(dirname "${BASH_SOURCE[0]}")/../test/standin/ld_standin.py" \
  --port 0 --port-file "$_standin_dir/port" --api-key "$LDAI_TEST_API_KEY" \
  --blackhole-port-file "$_standin_dir/blackhole" \
  --max-lifetime 3600 "$@" >"$_standin_dir/log" 2>&1 &
LDAI_STANDIN_PID=$!
for _ in $(seq 1 100); do
  [ -s "$_standin_dir/port" ] && break
  sleep 0.1
done
if [ ! -s "$_standin_dir/port" ]; then
  echo "stand-in did not start:" >&2
  cat "$_standin_dir/log" >&2
  exit 1
fi
LDAI_STANDIN_URL="http://127.0.0.1:$(cat "$_standin_dir/port")"
# a port where connecting stalls (its accept queue is full)
LDAI_STANDIN_BLACKHOLE_PORT=$(cat "$_standin_dir/blackhole")
export LDAI_STANDIN_URL LDAI_STANDIN_PID LDAI_STANDIN_BLACKHOLE_PORT

standin_stop() {
  kill "$LDAI_STANDIN_PID" 2>/dev/null || true
  wait "$LDAI_STANDIN_PID" 2>/dev/null || true
  rm -rf "$_standin_dir"
}
