#!/usr/bin/env bash
# A throwaway PostgreSQL cluster in a temporary directory, on a free port,
# with its socket in that directory: several can run at once (unlike
# pg_virtualenv as root, which always names its cluster "regress").
# Usage: source scripts/pgcluster.sh; cluster_start [extra postgres -c options]; ...; cluster_stop
# Exports PGHOST, PGPORT, PGUSER=postgres, PGDATABASE=postgres and LDAI_PG_LOG.

# The server binaries are those of PG_CONFIG (else of the pg_config on PATH).
PG_BIN=${PG_BIN:-$("${PG_CONFIG:-pg_config}" --bindir)}

cluster_start() {
  LDAI_PG_DIR=$(mktemp -d /tmp/ldai_pg.XXXXXX)
  chown postgres:postgres "$LDAI_PG_DIR"
  chmod 755 "$LDAI_PG_DIR"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$LDAI_PG_DIR/data" --auth=trust -U postgres \
    --no-sync -E UTF8 --locale=C.UTF-8 >"$LDAI_PG_DIR/initdb.log" 2>&1 \
    || { cat "$LDAI_PG_DIR/initdb.log" >&2; return 1; }
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  LDAI_PG_LOG="$LDAI_PG_DIR/postgresql.log"
  local opts="-c port=$PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$LDAI_PG_DIR"
  opts="$opts -c fsync=off -c max_connections=20 -c shared_buffers=32MB"
  for o in "$@"; do opts="$opts -c $o"; done
  # the server must not inherit the test key (postmaster logs its environment at debug5)
  runuser -u postgres -- env -u LDAI_TEST_API_KEY "$PG_BIN/pg_ctl" -D "$LDAI_PG_DIR/data" -l "$LDAI_PG_LOG" -w -t 60 \
    -o "$opts" start >/dev/null || { cat "$LDAI_PG_LOG" >&2; return 1; }
  export PGHOST="$LDAI_PG_DIR" PGPORT PGUSER=postgres PGDATABASE=postgres LDAI_PG_LOG LDAI_PG_DIR
}

cluster_stop() {
  [ -n "${LDAI_PG_DIR:-}" ] || return 0
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$LDAI_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$LDAI_PG_DIR"
  LDAI_PG_DIR=
}
