-- Shared fixtures for every test file: the extension, a server pointing at the
-- LaunchDarkly stand-in, a user mapping with the (random) test key, and helpers
-- that read the stand-in's request log and script its behaviour.
-- The key and URL come from the environment, so they never appear in output.
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ldai_fdw;
RESET client_min_messages;
-- (strictly sequential paging, so that request logs have one order;
--  prefetch.sql turns concurrency on)
CREATE SERVER ld FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '100', max_concurrency '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld OPTIONS (api_key :'ldkey');
CREATE SCHEMA ld;
IMPORT FOREIGN SCHEMA "default" FROM SERVER ld INTO ld;

-- where the stand-in listens (for the helpers below)
CREATE TABLE ld_test_conf (url text NOT NULL);
INSERT INTO ld_test_conf VALUES (:'ldurl');
CREATE TABLE ld_ctl_out (line text);

-- ld_ctl(path, body): POST a control request to the stand-in (/_test/...)
CREATE FUNCTION ld_ctl(ctl_path text, body text DEFAULT '{}', method text DEFAULT 'POST')
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  url text := (SELECT url FROM ld_test_conf);
BEGIN
  EXECUTE format('COPY ld_ctl_out FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                 format('curl -sS -f -X %s -H ''Content-Type: application/json'' --data-binary ''%s'' %s%s',
                        method, replace(body, '''', '''\'''''), url, ctl_path));
  TRUNCATE ld_ctl_out;
END $$;

-- ld_reset(): reseed the stand-in, clear its log, faults and config
CREATE FUNCTION ld_reset() RETURNS void LANGUAGE sql AS $$ SELECT ld_ctl('/_test/reset') $$;
-- ld_clear_log(): forget the requests seen so far
CREATE FUNCTION ld_clear_log() RETURNS void LANGUAGE sql AS $$ SELECT ld_ctl('/_test/clear-log') $$;

-- ld_requests(): the requests the stand-in received since the last clear;
-- at_ms (when it received them) once /_test/ratelimit has timestamps on,
-- faulted: a queued fault shaped the answer
CREATE FUNCTION ld_requests()
RETURNS TABLE (seq int, method text, path text, query text, body text, headers jsonb, status int, conn int,
               at_ms bigint, faulted bool)
LANGUAGE plpgsql AS $$
DECLARE
  url text := (SELECT url FROM ld_test_conf);
BEGIN
  IF to_regclass('pg_temp.ld_log_raw') IS NULL THEN
    CREATE TEMP TABLE ld_log_raw (line text);
  END IF;
  TRUNCATE ld_log_raw;
  EXECUTE format('COPY ld_log_raw FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                 format('curl -sS -f %s/_test/requests?format=jsonl', url));
  RETURN QUERY
    SELECT (j->>'seq')::int, j->>'method', j->>'path', j->>'query', j->>'body',
           j->'headers', (j->>'status')::int, (j->>'conn')::int, (j->>'at_ms')::bigint, j ? 'fault'
      FROM (SELECT line::jsonb AS j FROM ld_log_raw) r
     ORDER BY 1;
END $$;

-- explain_analyze(query): EXPLAIN ANALYZE without timings or buffers; bytes
-- as a range (they depend on compression); actual rows as whole numbers
-- (PostgreSQL 18 prints two decimals); sort memory as NkB
CREATE FUNCTION explain_analyze(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
        r text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || q LOOP
    r := substring(l from 'actual rows=(\d+\.\d+)');
    IF r IS NOT NULL THEN
      l := replace(l, 'actual rows=' || r, 'actual rows=' || round(r::numeric));
    END IF;
    l := regexp_replace(l, 'Memory: \d+kB', 'Memory: NkB');
    IF l ~ 'bytes received: \d+$' THEN
      l := regexp_replace(l, '\d+$', CASE WHEN substring(l from '\d+$')::bigint > 10000
                                          THEN 'more than 10000' ELSE 'at most 10000' END);
    END IF;
    RETURN NEXT l;
  END LOOP;
END $$;

-- rows_affected(statement): the rows it reports (its command tag's count)
CREATE FUNCTION rows_affected(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE q;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- explain_lines(query): the lines of EXPLAIN (VERBOSE, COSTS OFF)
CREATE FUNCTION explain_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q;
END $$;

-- sqlstate_of(statement): the SQLSTATE it fails with ('no error' if none)
CREATE FUNCTION sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
-- elapsed_ms(statement): how long it took, whether or not it failed
CREATE FUNCTION elapsed_ms(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  BEGIN
    EXECUTE q;
  EXCEPTION WHEN OTHERS THEN
    NULL;
  END;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
-- bg_connect(): a second session (dblink) for cancel/terminate tests
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE FUNCTION bg_connect(name text) RETURNS text LANGUAGE sql AS $$
  SELECT dblink_connect(name, format('dbname=%s host=%s port=%s', current_database(),
         split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port')))
$$;
-- wait_for_wait_event(marker): until the session running a query with that
-- comment waits on LaunchDarkly (at most 2 s); returns its pid
CREATE FUNCTION wait_for_wait_event(marker text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE p int;
BEGIN
  FOR i IN 1..100 LOOP
    PERFORM pg_stat_clear_snapshot();  -- see the other session now, not as it was
    SELECT pid INTO p FROM pg_stat_activity
     WHERE query LIKE '%' || marker || '%' AND pid <> pg_backend_pid()
       AND wait_event_type = 'Extension';
    EXIT WHEN p IS NOT NULL;
    PERFORM pg_sleep(0.02);
  END LOOP;
  RETURN p;
END $$;

-- the tables IMPORT created
SELECT c.relname, ftoptions
  FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
 ORDER BY 1;
SELECT ld_reset();
SELECT count(*) AS requests_so_far FROM ld_requests();
