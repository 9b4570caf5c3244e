/* ldai_fdw--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ldai_fdw UPDATE TO '1.1'" to load this file. \quit

-- Version 1.1 is reached from 1.0 through this script, and a fresh
-- CREATE EXTENSION runs ldai_fdw--1.0.sql and then this script, so both
-- paths give the same objects (sql/upgrade.sql compares them).
-- SQL objects added in 1.1 go here; ldai_fdw--1.0.sql stays as released.

-- ---------------------------------------------------------------------------
-- Rate limits: request statistics and the connection functions (budget.c,
-- stats.c, connection.c)
-- ---------------------------------------------------------------------------

-- the counters behind ldai_fdw_stats: this database's servers (server NULL:
-- the overflow row once the table of LD_STATS_MAX rows is full)
CREATE FUNCTION ldai_fdw_stats_internal(
    OUT serverid oid, OUT endpoint text, OUT requests bigint, OUT retries bigint,
    OUT responses_2xx bigint, OUT responses_4xx bigint, OUT responses_429 bigint,
    OUT responses_5xx bigint, OUT responses_other bigint, OUT transport_errors bigint,
    OUT bytes_received bigint, OUT network_time_ms double precision,
    OUT throttled_time_ms double precision, OUT stats_reset timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ldai_fdw_stats'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- one row per foreign server and endpoint template, since the last reset;
-- cluster-wide with ldai_fdw in shared_preload_libraries, else this session's
CREATE VIEW ldai_fdw_stats AS
  SELECT s.srvname AS server_name, i.endpoint, i.requests, i.retries,
         i.responses_2xx, i.responses_4xx, i.responses_429, i.responses_5xx,
         i.responses_other, i.transport_errors, i.bytes_received,
         i.network_time_ms, i.throttled_time_ms, i.stats_reset
    FROM ldai_fdw_stats_internal() i
    LEFT JOIN pg_catalog.pg_foreign_server s ON s.oid = i.serverid;

CREATE FUNCTION ldai_fdw_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'ldai_fdw_stats_reset'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
-- superusers, and roles granted EXECUTE
REVOKE ALL ON FUNCTION ldai_fdw_stats_reset() FROM PUBLIC;

-- as postgres_fdw's functions of the same names
CREATE FUNCTION ldai_fdw_get_connections(OUT server_name text, OUT user_name text,
                                         OUT valid boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ldai_fdw_get_connections'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION ldai_fdw_disconnect(text)
RETURNS bool
AS 'MODULE_PATHNAME', 'ldai_fdw_disconnect'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION ldai_fdw_disconnect_all()
RETURNS bool
AS 'MODULE_PATHNAME', 'ldai_fdw_disconnect_all'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
