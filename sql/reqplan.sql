-- The request plan (reqplan.c) under review: every GET of a scan -- the
-- current series' pages, later series' first and followed pages -- against
-- the sequential scan (max_concurrency '1'): the same rows in the same
-- order, each page asked for once, nothing left in flight after a stop, an
-- error, a cancel or a rate-limited answer.
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();
CREATE SERVER ld_rp FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '10', max_concurrency '4');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_rp OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE rp_par (optimization_key text, id uuid) SERVER ld_rp
  OPTIONS (resource 'agent_optimization_results');
CREATE FOREIGN TABLE rp_seq (optimization_key text, id uuid) SERVER ld_rp
  OPTIONS (resource 'agent_optimization_results', max_concurrency '1');
SELECT ld_ctl('/_test/ratelimit', '{"timestamps": true}');
-- a request's series (optimization key) and offset
CREATE FUNCTION rp_k(p text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT split_part(regexp_replace(p, '.*/agent-optimizations/?', ''), '/', 1) $$;
CREATE FUNCTION rp_off(q text) RETURNS int LANGUAGE sql IMMUTABLE
  AS $$ SELECT substring(q FROM 'offset=([0-9]+)')::int $$;

-- 1. a project-wide read, every row: the sequential run ...
SELECT ld_clear_log();
CREATE TEMP TABLE s1 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_seq;
CREATE TEMP TABLE s1_log AS SELECT * FROM ld_requests();
-- ... and the planned one; the first series answers after 1 s, so later
-- series are followed (their next pages asked for) meanwhile
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=0$", "delay_ms": 1000, "times": 1},
  {"method": "GET", "path": "/all-results$", "delay_ms": 30, "times": 200}]');
SELECT ld_clear_log();
CREATE TEMP TABLE p1 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_par;
CREATE TEMP TABLE p1_log AS SELECT * FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT (SELECT count(*) FROM s1) AS seq_rows, count(*) AS rows,
       count(*) FILTER (WHERE s.id = p.id AND s.optimization_key = p.optimization_key) AS same_position
  FROM p1 p LEFT JOIN s1 s USING (n);
SELECT (SELECT count(*) FROM s1_log) AS seq_gets, count(*) AS gets,
       count(DISTINCT (path, query)) AS distinct_gets, bool_and(status = 200) AS all_200,
       count(DISTINCT conn) BETWEEN 2 AND 4 AS concurrent_at_most_4
  FROM p1_log;
-- the same set of GETs as the sequential run, none twice
SELECT path, query, count(*) FROM p1_log GROUP BY 1, 2 HAVING count(*) > 1;
(SELECT path, query FROM p1_log EXCEPT SELECT path, query FROM s1_log)
UNION ALL (SELECT path, query FROM s1_log EXCEPT SELECT path, query FROM p1_log);
-- pages after the first of later series went out while the first series waited
SELECT count(*) > 0 AS followed_early
  FROM p1_log WHERE rp_k(path) = 'support-triage' AND rp_off(query) > 0
   AND at_ms < (SELECT min(at_ms) + 1000 FROM p1_log WHERE rp_k(path) = 'code-review-bot');

-- 2. a cursor across series, closed early: the rows of the sequential
-- cursor, and nothing asked for after CLOSE
CREATE TEMP TABLE c_rows (run text, n serial, k text, id text);
CREATE FUNCTION rp_cursor(tbl text, run text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  c refcursor;
  r record;
  i int;
  chunk int;
BEGIN
  OPEN c FOR EXECUTE format('SELECT optimization_key, id::text FROM %I WHERE optimization_key IN '
                            '(''resume-screener-tuning'', ''opt/with?odd%%key'', ''code-review-bot'')', tbl);
  FOREACH chunk IN ARRAY ARRAY[3, 15, 6] LOOP
    FOR i IN 1 .. chunk LOOP
      FETCH c INTO r;
      INSERT INTO c_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
    END LOOP;
  END LOOP;
  CLOSE c;
END $$;
SELECT ld_clear_log();
SELECT rp_cursor('rp_seq', 'seq');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "delay_ms": 100, "times": 50}');
SELECT ld_clear_log();
SELECT rp_cursor('rp_par', 'par');
CREATE TEMP TABLE c_log AS SELECT * FROM ld_requests();
SELECT pg_sleep(0.5);
SELECT count(*) AS later_gets FROM ld_requests() WHERE seq > (SELECT max(seq) FROM c_log);
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT count(*) AS rows, count(*) FILTER (WHERE s.k = p.k AND s.id = p.id) AS same_position
  FROM (SELECT row_number() OVER (ORDER BY n) AS i, k, id FROM c_rows WHERE run = 'seq') s
  JOIN (SELECT row_number() OVER (ORDER BY n) AS i, k, id FROM c_rows WHERE run = 'par') p USING (i);
-- 24 rows: resume-screener-tuning (16, two pages), opt/with?odd%key (6), code-review-bot (2):
-- at most the next page of each, and the first pages of the series after
SELECT rp_k(path) AS k, query, status FROM c_log GROUP BY 1, 2, 3 ORDER BY 1, rp_off(query);
SELECT count(*) = count(DISTINCT (path, query)) AS each_once FROM c_log;
-- an SQL cursor: FETCH across series, then ROLLBACK TO SAVEPOINT while it is open
BEGIN;
DECLARE c CURSOR FOR SELECT optimization_key, left(id::text, 8) FROM rp_par
  WHERE optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key');
FETCH 2 FROM c;
SAVEPOINT s;
FETCH 15 FROM c;
ROLLBACK TO SAVEPOINT s;
FETCH 3 FROM c;
ROLLBACK;
SELECT pg_sleep(0.2);
SELECT ld_clear_log();
SELECT count(*) FROM rp_par WHERE optimization_key = 'opt/with?odd%key';
SELECT rp_k(path) AS k, query, status FROM ld_requests();
-- ... and a cursor used only before the savepoint goes on after it
BEGIN;
DECLARE c CURSOR FOR SELECT optimization_key, left(id::text, 8) FROM rp_par
  WHERE optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key');
FETCH 9 FROM c;
SAVEPOINT s;
SELECT count(*) FROM rp_par WHERE optimization_key = 'code-review-bot' AND id IS NOT NULL;
ROLLBACK TO SAVEPOINT s;
FETCH 9 FROM c;
CLOSE c;
COMMIT;
BEGIN;
DECLARE c CURSOR FOR SELECT optimization_key, left(id::text, 8) FROM rp_seq
  WHERE optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key');
FETCH 9 FROM c;
FETCH 9 FROM c;
COMMIT;

-- 3. an error on a followed page of a later series surfaces when the scan
-- reaches it, after the rows before it; a 429 there makes the rest sequential
CREATE TEMP SEQUENCE rp_n;
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "resume-screener-tuning/all-results$", "query": "offset=0$", "delay_ms": 500, "times": 1},
  {"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=10$", "status": 403, "times": 1}]');
SELECT ld_clear_log();
\set VERBOSITY sqlstate
SELECT count(nextval('rp_n')) FROM rp_par WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot');
\set VERBOSITY default
SELECT currval('rp_n') AS rows_before_error;
CREATE TEMP TABLE e_log AS SELECT * FROM ld_requests();
SELECT pg_sleep(0.3);
SELECT count(*) AS later_gets FROM ld_requests() WHERE seq > (SELECT max(seq) FROM e_log);
-- the 403 page went out before the first series answered (followed)
SELECT status, at_ms < (SELECT min(at_ms) + 500 FROM e_log WHERE rp_k(path) = 'resume-screener-tuning') AS early
  FROM e_log WHERE faulted AND status = 403;
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT count(*) FROM rp_par WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot');
-- a 503 on a followed page is retried: all rows
CREATE TEMP TABLE s3 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_seq
  WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot');
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "resume-screener-tuning/all-results$", "query": "offset=0$", "delay_ms": 500, "times": 1},
  {"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=10$", "status": 503, "headers": {"Retry-After": "0"}, "times": 1}]');
SELECT ld_clear_log();
CREATE TEMP TABLE r3 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_par
  WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot');
SELECT count(*) AS rows, count(*) FILTER (WHERE s.id = r.id) AS same_position FROM s3 s JOIN r3 r USING (n);
SELECT rp_k(path) AS k, query, status, count(*) FROM ld_requests()
 WHERE rp_off(query) = 10 GROUP BY 1, 2, 3 ORDER BY 1, 3;
-- a 429 on a followed page: every row, and once the 429 has come back one
-- request at a time, each page once (each answers after 100 ms: no two
-- arrive closer than that), also while the scan still reads an earlier series
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "resume-screener-tuning/all-results$", "query": "offset=0$", "delay_ms": 500, "times": 1},
  {"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=10$", "status": 429, "headers": {"Retry-After": "0"}, "times": 1},
  {"method": "GET", "path": "/all-results$", "delay_ms": 100, "times": 100}]');
SELECT ld_clear_log();
CREATE TEMP TABLE r4 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_par
  WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot');
CREATE TEMP TABLE r4_log AS SELECT * FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT count(*) AS rows, count(*) FILTER (WHERE s.id = r.id) AS same_position FROM s3 s JOIN r4 r USING (n);
WITH after AS (SELECT seq, path, query, at_ms, at_ms - lag(at_ms) OVER (ORDER BY seq) AS gap FROM r4_log
                WHERE seq > (SELECT seq FROM r4_log WHERE status = 429))
SELECT count(*) AS gets_after_429, min(gap) >= 90 AS sequential,
       count(*) = count(DISTINCT (path, query)) AS each_once,
       count(*) FILTER (WHERE rp_off(query) = 10) AS retried
  FROM after;
SELECT count(*) AS pages_never_asked FROM generate_series(0, 110, 10) o
 WHERE NOT EXISTS (SELECT 1 FROM r4_log WHERE rp_k(path) = 'code-review-bot' AND rp_off(query) = o AND status = 200);

-- 4. a server that caps limit (6 a page with page_size 10), several series
SELECT ld_ctl('/_test/config', '{"page_cap": 6}');
SELECT ld_clear_log();
CREATE TEMP TABLE s4 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_seq
  WHERE optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key', 'code-review-bot');
CREATE TEMP TABLE s4_log AS SELECT * FROM ld_requests();
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "resume-screener-tuning/all-results$", "query": "offset=0$", "delay_ms": 500, "times": 1},
  {"method": "GET", "path": "/all-results$", "delay_ms": 20, "times": 100}]');
SELECT ld_clear_log();
CREATE TEMP TABLE p4 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_par
  WHERE optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key', 'code-review-bot');
CREATE TEMP TABLE p4_log AS SELECT * FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT ld_ctl('/_test/config', '{"page_cap": null}');
SELECT (SELECT count(*) FROM s4) AS seq_rows, count(*) AS rows,
       count(*) FILTER (WHERE s.id = p.id) AS same_position FROM p4 p LEFT JOIN s4 s USING (n);
SELECT (SELECT count(*) FROM s4_log) AS seq_gets, count(*) AS gets,
       count(DISTINCT (path, query)) AS distinct_gets FROM p4_log;
(SELECT path, query FROM p4_log EXCEPT SELECT path, query FROM s4_log)
UNION ALL (SELECT path, query FROM s4_log EXCEPT SELECT path, query FROM p4_log);

-- 5. the data changes between a later series' first and second page: the
-- second page comes back empty with a smaller totalCount; the series ends
-- there, as in the sequential scan (no loop, no more pages)
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=10$", "status": 200, "body": "{\"items\": [], \"totalCount\": 10}", "times": 1}');
SELECT ld_clear_log();
CREATE TEMP TABLE s5 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_seq
  WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot', 'opt/with?odd%key');
SELECT rp_k(path) AS k, query, status FROM ld_requests() ORDER BY seq;
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "resume-screener-tuning/all-results$", "query": "offset=0$", "delay_ms": 500, "times": 1},
  {"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=10$", "status": 200, "body": "{\"items\": [], \"totalCount\": 10}", "times": 1}]');
SELECT ld_clear_log();
CREATE TEMP TABLE p5 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_par
  WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot', 'opt/with?odd%key');
SELECT (SELECT count(*) FROM s5) AS seq_rows, count(*) AS rows,
       count(*) FILTER (WHERE s.id = p.id) AS same_position FROM p5 p LEFT JOIN s5 s USING (n);
-- the pages the scan used, each once; code-review-bot's pages after the
-- empty one may have gone out, none twice
SELECT rp_k(path) AS k, count(*) = count(DISTINCT query) AS each_once,
       count(*) FILTER (WHERE rp_off(query) <= 10) AS up_to_empty, count(*) <= 6 AS at_most_4_more
  FROM ld_requests() GROUP BY 1 ORDER BY 1;
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');

-- 6. statement_timeout and a cancel while followed pages are in flight:
-- 57014, and the next query's log holds only its own requests
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=0$", "delay_ms": 600, "times": 1},
  {"method": "GET", "path": "/all-results$", "query": "offset=[1-9]", "delay_ms": 3000, "times": 30}]');
SET statement_timeout = '900ms';
\set VERBOSITY sqlstate
SELECT count(id) FROM rp_par;
\set VERBOSITY default
RESET statement_timeout;
SELECT count(*) > 1 AS later_pages_were_asked FROM ld_requests() WHERE rp_off(query) > 0;
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT ld_clear_log();
SELECT count(id) FROM rp_par WHERE optimization_key = 'opt/with?odd%key';
SELECT rp_k(path) AS k, query, status FROM ld_requests() ORDER BY seq;
-- pg_cancel_backend from another session
SELECT bg_connect('bgrp');
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=0$", "delay_ms": 600, "times": 1},
  {"method": "GET", "path": "/all-results$", "query": "offset=[1-9]", "delay_ms": 5000, "times": 30}]');
SELECT dblink_send_query('bgrp', 'SELECT count(id) FROM rp_par /* rp followed */');
SELECT pg_sleep(1);
SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%/* rp followed */';
\set VERBOSITY sqlstate
SELECT * FROM dblink_get_result('bgrp', false) AS r(n bigint);
\set VERBOSITY default
SELECT * FROM dblink_get_result('bgrp', false) AS r(n bigint);
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT ld_clear_log();
SELECT * FROM dblink('bgrp', 'SELECT count(id) FROM rp_par WHERE optimization_key = ''opt/with?odd%key''') AS r(n bigint);
SELECT rp_k(path) AS k, query, status FROM ld_requests() ORDER BY seq;
SELECT dblink_disconnect('bgrp');

-- 7. rescans: a LATERAL join with a parameter (the query's response cache,
-- no later-series plan) and an IN list re-evaluated at each rescan
CREATE TEMP TABLE s7 AS
  SELECT v.i, r.optimization_key, r.id FROM (VALUES (1, 'resume-screener-tuning'), (2, 'opt/with?odd%key'),
                     (3, 'resume-screener-tuning')) v(i, k),
         LATERAL (SELECT optimization_key, id FROM rp_seq WHERE optimization_key IN (v.k, 'opt/with?odd%key')) r;
SELECT ld_clear_log();
CREATE TEMP TABLE p7 AS
  SELECT v.i, r.optimization_key, r.id FROM (VALUES (1, 'resume-screener-tuning'), (2, 'opt/with?odd%key'),
                     (3, 'resume-screener-tuning')) v(i, k),
         LATERAL (SELECT optimization_key, id FROM rp_par WHERE optimization_key IN (v.k, 'opt/with?odd%key')) r;
SELECT count(*) AS rows, (SELECT count(*) FROM s7) AS seq_rows,
       (SELECT array_agg(i || ':' || optimization_key || ':' || id) FROM s7) =
       (SELECT array_agg(i || ':' || optimization_key || ':' || id) FROM p7) AS same_order
  FROM p7;
SELECT rp_k(path) AS k, query, status, count(*) FROM ld_requests() GROUP BY 1, 2, 3 ORDER BY 1, 2;
-- a nested loop with the parameter on the inner side, every row
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT ld_clear_log();
SELECT v.k, count(r.id)
  FROM (VALUES ('code-review-bot'), ('resume-screener-tuning'), ('code-review-bot')) v(k)
  JOIN rp_par r ON r.optimization_key = v.k GROUP BY v.k ORDER BY 1;
SELECT rp_k(path) AS k, count(*) AS gets, count(DISTINCT query) AS pages
  FROM ld_requests() GROUP BY 1 ORDER BY 1;
RESET enable_hashjoin;
RESET enable_mergejoin;

-- 8. the parent list itself paged (page_size 3: two pages of optimizations)
-- in a project-wide read: the rows of the sequential scan, each GET once;
-- then a 429 on the parent list's second page: all rows, sequential after it
CREATE SERVER ld_rp3 FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '3', max_concurrency '4');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_rp3 OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE rp3_par (optimization_key text, id uuid) SERVER ld_rp3
  OPTIONS (resource 'agent_optimization_results');
CREATE FOREIGN TABLE rp3_seq (optimization_key text, id uuid) SERVER ld_rp3
  OPTIONS (resource 'agent_optimization_results', max_concurrency '1');
SELECT ld_clear_log();
CREATE TEMP TABLE s8 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp3_seq;
CREATE TEMP TABLE s8_log AS SELECT * FROM ld_requests();
SELECT ld_clear_log();
CREATE TEMP TABLE p8 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp3_par;
CREATE TEMP TABLE p8_log AS SELECT * FROM ld_requests();
SELECT (SELECT count(*) FROM s8) AS seq_rows, count(*) AS rows,
       count(*) FILTER (WHERE s.id = p.id AND s.optimization_key = p.optimization_key) AS same_position
  FROM p8 p LEFT JOIN s8 s USING (n);
SELECT (SELECT count(*) FROM s8_log) AS seq_gets, count(*) AS gets,
       count(DISTINCT (path, query)) AS distinct_gets,
       count(*) FILTER (WHERE path LIKE '%/agent-optimizations') AS parent_pages
  FROM p8_log;
(SELECT path, query FROM p8_log EXCEPT SELECT path, query FROM s8_log)
UNION ALL (SELECT path, query FROM s8_log EXCEPT SELECT path, query FROM p8_log);
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "/agent-optimizations$", "query": "offset=3$", "status": 429, "headers": {"Retry-After": "0"}, "times": 1},
  {"method": "GET", "path": "/all-results$", "delay_ms": 20, "times": 200}]');
SELECT ld_clear_log();
CREATE TEMP TABLE q8 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp3_par;
CREATE TEMP TABLE q8_log AS SELECT * FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT count(*) AS rows, count(*) FILTER (WHERE s.id = q.id AND s.optimization_key = q.optimization_key) AS same_position
  FROM q8 q JOIN s8 s USING (n);
WITH after AS (SELECT seq, path, query, at_ms - lag(at_ms) OVER (ORDER BY seq) AS gap FROM q8_log
                WHERE seq > (SELECT seq FROM q8_log WHERE status = 429)
                  AND seq > (SELECT max(seq) FROM q8_log WHERE path LIKE '%/agent-optimizations'))
SELECT count(*) > 0 AS gets_after, min(gap) >= 15 AS sequential,
       count(*) = count(DISTINCT (path, query)) AS each_once FROM after;
SELECT (SELECT count(*) FROM s8) - count(*) AS rows_missing FROM q8;

-- 9. an IN list naming a series twice: what the sequential scan gives
SELECT ld_clear_log();
CREATE TEMP TABLE s9 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_seq
  WHERE optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key', 'resume-screener-tuning');
CREATE TEMP TABLE s9_log AS SELECT * FROM ld_requests();
SELECT ld_clear_log();
CREATE TEMP TABLE p9 AS SELECT row_number() OVER () AS n, optimization_key, id FROM rp_par
  WHERE optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key', 'resume-screener-tuning');
CREATE TEMP TABLE p9_log AS SELECT * FROM ld_requests();
SELECT (SELECT count(*) FROM s9) AS seq_rows, count(*) AS rows,
       count(*) FILTER (WHERE s.id = p.id AND s.optimization_key = p.optimization_key) AS same_position
  FROM p9 p LEFT JOIN s9 s USING (n);
SELECT (SELECT count(*) FROM s9_log) AS seq_gets, count(*) AS gets,
       count(DISTINCT (path, query)) AS distinct_gets FROM p9_log;

-- 10. a SCROLL cursor across series, moved back and forth: the rows of the
-- sequential one, each page asked for once
CREATE TEMP TABLE sc_rows (run text, n serial, k text, id text);
CREATE FUNCTION rp_scroll(tbl text, run text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  c refcursor;
  r record;
BEGIN
  OPEN c SCROLL FOR EXECUTE format('SELECT optimization_key, id::text FROM %I WHERE optimization_key IN '
                 '(''resume-screener-tuning'', ''opt/with?odd%%key'', ''code-review-bot'')', tbl);
  FETCH NEXT FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH ABSOLUTE 14 FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH PRIOR FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH RELATIVE 5 FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH ABSOLUTE 3 FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH ABSOLUTE 25 FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH NEXT FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH LAST FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH FIRST FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  FETCH RELATIVE 20 FROM c INTO r; INSERT INTO sc_rows (run, k, id) VALUES (run, r.optimization_key, r.id);
  CLOSE c;
END $$;
SELECT ld_clear_log();
SELECT rp_scroll('rp_seq', 'seq');
CREATE TEMP TABLE sc_seq_log AS SELECT * FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "delay_ms": 30, "times": 50}');
SELECT ld_clear_log();
SELECT rp_scroll('rp_par', 'par');
CREATE TEMP TABLE sc_log AS SELECT * FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT count(*) AS rows, count(*) FILTER (WHERE s.k = p.k AND s.id = p.id) AS same_position
  FROM (SELECT row_number() OVER (ORDER BY n) AS i, k, id FROM sc_rows WHERE run = 'seq') s
  JOIN (SELECT row_number() OVER (ORDER BY n) AS i, k, id FROM sc_rows WHERE run = 'par') p USING (i);
SELECT (SELECT count(*) FROM sc_seq_log) AS seq_gets, count(*) AS gets,
       count(DISTINCT (path, query)) AS distinct_gets FROM sc_log;
-- a scan without parameters rescanned by a nested loop (no Materialize): each
-- execution asks for its pages once, the rows of the sequential scan
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT ld_clear_log();
CREATE TEMP TABLE p11 AS SELECT row_number() OVER () AS n, v.i, r.optimization_key, r.id
  FROM (VALUES (1), (2)) v(i), rp_par r WHERE r.optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key');
SELECT rp_k(path) AS k, query, count(*) FROM ld_requests() GROUP BY 1, 2 ORDER BY 1, 2;
CREATE TEMP TABLE s11 AS SELECT row_number() OVER () AS n, v.i, r.optimization_key, r.id
  FROM (VALUES (1), (2)) v(i), rp_seq r WHERE r.optimization_key IN ('resume-screener-tuning', 'opt/with?odd%key');
SELECT count(*) AS rows, count(*) FILTER (WHERE s.i = p.i AND s.id = p.id) AS same_position
  FROM s11 s JOIN p11 p USING (n);
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

SELECT ld_ctl('/_test/ratelimit', '{}');
SELECT ld_reset();
DROP SERVER ld_rp CASCADE;
DROP SERVER ld_rp3 CASCADE;
DROP FUNCTION rp_cursor(text, text), rp_scroll(text, text), rp_k(text), rp_off(text);
