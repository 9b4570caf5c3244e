-- Client lifecycle: a client in use is never freed under its holder, one
-- retry policy for plain, prefetched and concurrent requests, prefetches
-- that start at once, and a POST that never rides a reused connection.
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();
ALTER SERVER ld OPTIONS (SET page_size '10', SET max_concurrency '4');
SET statement_timeout = '5s';  -- a hang fails instead of blocking
-- lc_rest(cursor): how many rows the cursor still returns
CREATE FUNCTION lc_rest(cur refcursor) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint := 0; r record;
BEGIN
  LOOP
    FETCH cur INTO r;
    EXIT WHEN NOT FOUND;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

-- an open cursor with prefetches in flight, then ALTER SERVER and another
-- query: the cursor keeps its client and returns every row at once, the
-- new query runs on a new client (a new connection)
SELECT ld_clear_log();
BEGIN;
DECLARE c CURSOR FOR SELECT iteration FROM ld.agent_optimization_results
                      WHERE optimization_key = 'support-triage';
FETCH 1 FROM c;
ALTER SERVER ld OPTIONS (ADD timeout_ms '20000');
SELECT count(1) FROM ld.ai_configs;
SELECT lc_rest('c') AS rest;
COMMIT;
SELECT count(1) FILTER (WHERE path ~ '/all-results$') AS pages,
       count(DISTINCT query) FILTER (WHERE path ~ '/all-results$') AS distinct_pages,
       count(1) FILTER (WHERE path ~ '/ai-configs$') AS config_gets,
       bool_and(status = 200) AS all_ok,
       count(1) FILTER (WHERE path ~ '/ai-configs$' AND conn IN
         (SELECT conn FROM ld_requests() WHERE path ~ '/all-results$')) AS config_on_cursor_conn
  FROM ld_requests();

-- the same with ALTER USER MAPPING (same key) in the middle
SELECT ld_clear_log();
BEGIN;
DECLARE c CURSOR FOR SELECT iteration FROM ld.agent_optimization_results
                      WHERE optimization_key = 'support-triage';
FETCH 1 FROM c;
ALTER USER MAPPING FOR CURRENT_USER SERVER ld OPTIONS (SET api_key :'ldkey');
SELECT count(1) FROM ld.ai_configs;
SELECT lc_rest('c') AS rest;
COMMIT;
SELECT count(*) AS requests, bool_and(status = 200) AS all_ok FROM ld_requests();

-- DROP USER MAPPING under an open cursor: the cursor ends with its old
-- client; a new query finds no mapping
SELECT ld_clear_log();
BEGIN;
DECLARE c CURSOR FOR SELECT iteration FROM ld.agent_optimization_results
                      WHERE optimization_key = 'support-triage';
FETCH 1 FROM c;
DROP USER MAPPING FOR CURRENT_USER SERVER ld;
SAVEPOINT s;
-- (PostgreSQL's own error, worded differently by version: its SQLSTATE)
\set VERBOSITY sqlstate
SELECT count(1) FROM ld.ai_configs;
\set VERBOSITY default
ROLLBACK TO s;
SELECT lc_rest('c') AS rest;
ROLLBACK;  -- the mapping is back
SELECT count(*) AS requests, bool_and(status = 200) AS all_ok FROM ld_requests();

-- another session's ALTER SERVER, seen at our next command
SELECT bg_connect('lc_bg');
SELECT ld_clear_log();
BEGIN;
DECLARE c CURSOR FOR SELECT iteration FROM ld.agent_optimization_results
                      WHERE optimization_key = 'support-triage';
FETCH 1 FROM c;
SELECT dblink_exec('lc_bg', $$ALTER SERVER ld OPTIONS (ADD connect_timeout_ms '9000')$$);
SELECT count(1) FROM ld.ai_configs;
SELECT lc_rest('c') AS rest;
COMMIT;
SELECT dblink_disconnect('lc_bg');
SELECT count(*) AS requests, bool_and(status = 200) AS all_ok FROM ld_requests();
ALTER SERVER ld OPTIONS (DROP connect_timeout_ms);

-- a WITH HOLD cursor is read to its end at COMMIT; ALTER SERVER afterwards
-- does not touch what it holds
SELECT ld_clear_log();
BEGIN;
DECLARE h CURSOR WITH HOLD FOR SELECT iteration FROM ld.agent_optimization_results
                                WHERE optimization_key = 'support-triage';
FETCH 1 FROM h;
COMMIT;
ALTER SERVER ld OPTIONS (SET timeout_ms '30000');
SELECT count(1) FROM ld.ai_configs;
SELECT lc_rest('h') AS rest;
CLOSE h;
SELECT count(*) FILTER (WHERE path ~ '/all-results$') AS pages FROM ld_requests();
ALTER SERVER ld OPTIONS (DROP timeout_ms);

-- prefetched pages are requested at once, not at the next wait: right
-- after FETCH 16 (past half of the second page, so on-demand prefetch has
-- asked for the next 2) the stand-in has the first 4 pages (through
-- "localhost", so that name resolution and connecting take a few steps)
DO $$ BEGIN
  EXECUTE format('CREATE SERVER ld_lh FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url %L, '
                 'project_key ''default'', page_size ''10'', max_concurrency ''4'')',
                 (SELECT replace(url, '127.0.0.1', 'localhost') FROM ld_test_conf));
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_lh OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE lh_results (iteration int) SERVER ld_lh
  OPTIONS (resource 'agent_optimization_results', optimization_key 'support-triage');
SELECT ld_clear_log();
BEGIN;
DECLARE c CURSOR FOR SELECT iteration FROM lh_results;
MOVE 16 IN c;
SELECT pg_sleep(0.3);
SELECT query FROM ld_requests() ORDER BY query;
COMMIT;
DROP SERVER ld_lh CASCADE;

-- one retry policy on every path.  A 400 on a prefetched page is final:
-- sent once, reported
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results", "query": "offset=20$",
                                 "status": 400}');
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT query, status FROM ld_requests() WHERE query ~ 'offset=20$' ORDER BY seq;
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');

-- a 429 with Retry-After on a prefetched page: waited for each time, and
-- at most max_retries repeats
ALTER SERVER ld OPTIONS (ADD max_retries '2');
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results", "query": "offset=30$",
                                 "times": 10, "status": 429, "headers": {"Retry-After": "1"}}');
SELECT elapsed_ms($$SELECT count(1) FROM ld.agent_optimization_results
                    WHERE optimization_key = 'support-triage'$$) >= 1900 AS waited;
SELECT query, status FROM ld_requests() WHERE query ~ 'offset=30$' ORDER BY seq;
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
ALTER SERVER ld OPTIONS (DROP max_retries);

-- an oversized prefetched page is downloaded once and reported
ALTER SERVER ld OPTIONS (ADD max_response_bytes '20000');
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', json_build_object('method', 'GET', 'path', '/all-results',
              'query', 'offset=20$', 'status', 200,
              'body', json_build_object('items', '[]'::json, 'totalCount', 308,
                                        'pad', repeat('x', 30000))::text)::text);
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT query, status FROM ld_requests() WHERE query ~ 'offset=20$' ORDER BY seq;
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
ALTER SERVER ld OPTIONS (DROP max_response_bytes);

-- many transfers at once (3 cursors x 16 prefetches, slow answers): more
-- sockets than transfers of one scan; nothing aborts
ALTER SERVER ld OPTIONS (SET max_concurrency '16');
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results", "query": "offset=[1-9][0-9]+$",
                                 "times": 48, "delay_ms": 500}');
BEGIN;
DECLARE c1 CURSOR FOR SELECT iteration FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage';
DECLARE c2 CURSOR FOR SELECT iteration FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage';
DECLARE c3 CURSOR FOR SELECT iteration FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage';
MOVE 1 IN c1;
MOVE 1 IN c2;
MOVE 1 IN c3;
SELECT lc_rest('c1') AS rest;
SELECT lc_rest('c2') AS rest;
SELECT lc_rest('c3') AS rest;
COMMIT;
SELECT count(1) AS requests, count(DISTINCT query) AS distinct_pages, bool_and(status = 200) AS all_ok
  FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
ALTER SERVER ld OPTIONS (SET max_concurrency '4');

-- a POST never goes out on a reused keep-alive connection (libcurl would
-- send it again if that connection turned out dead): after a GET whose
-- connection stays open, and after one the server then closes, the stand-in
-- sees one POST, on a connection of its own
SELECT ld_clear_log();
SELECT count(1) FROM ld.ai_configs;
INSERT INTO ld.ai_configs (key, name, mode) VALUES ('lc-one', 'LC one', 'agent');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs$", "close_after": true}');
SELECT count(1) FROM ld.ai_configs;
INSERT INTO ld.ai_configs (key, name, mode) VALUES ('lc-two', 'LC two', 'agent');
SELECT method, body::jsonb->>'key' AS key, status,
       conn NOT IN (SELECT conn FROM ld_requests() r2 WHERE r2.seq < r.seq) AS new_connection
  FROM ld_requests() r ORDER BY seq;
DELETE FROM ld.ai_configs WHERE key IN ('lc-one', 'lc-two');

DROP FUNCTION lc_rest(refcursor);
RESET statement_timeout;
ALTER SERVER ld OPTIONS (SET page_size '100', SET max_concurrency '1');
SELECT ld_reset();
