/* ldai_fdw--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ldai_fdw UPDATE TO '1.1'" to load this file. \quit

-- Version 1.1 is reached from 1.0 through this script, and a fresh
-- CREATE EXTENSION runs ldai_fdw--1.0.sql and then this script, so both
-- paths give the same objects (sql/upgrade.sql compares them).
-- SQL objects added in 1.1 go here; ldai_fdw--1.0.sql stays as released.
