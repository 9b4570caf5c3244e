/* ldai_fdw--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION ldai_fdw" to load this file. \quit

CREATE FUNCTION ldai_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION ldai_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER ldai_fdw
  HANDLER ldai_fdw_handler
  VALIDATOR ldai_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER ldai_fdw IS
  'LaunchDarkly AI Configs, agent optimizations, runs and results as foreign tables';
