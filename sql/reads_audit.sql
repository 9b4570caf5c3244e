-- Audit of issue 14's tests: what reads.sql, fanout.sql, eager.sql,
-- orderby.sql and async.sql leave unproven, with rows and the stand-in's log.
-- Overlap is read from the stand-in's clock: each request it received
-- (at_ms) with a delay fault is answered no sooner than 400 ms later, so two
-- such requests received less than 300 ms apart were in flight together,
-- while one after the other they are at least 400 ms apart.
SELECT ld_reset();
ALTER SERVER ld OPTIONS (DROP max_concurrency);  -- the default, 4; page_size 100
SELECT ld_ctl('/_test/ratelimit', '{"timestamps": true}');  -- at_ms, no budget

-- audit_together(): the most delayed requests received within 300 ms of one
-- another: all of them were in flight at once (1: one at a time)
CREATE FUNCTION audit_together() RETURNS bigint LANGUAGE sql AS $$
  WITH l AS (SELECT * FROM ld_requests() WHERE faulted)
  SELECT coalesce(max((SELECT count(*) FROM l b WHERE b.at_ms >= a.at_ms AND b.at_ms < a.at_ms + 300)), 0)
    FROM l a
$$;

CREATE FOREIGN TABLE audit_fan (optimization_key text, id uuid, iteration int) SERVER ld
  OPTIONS (resource 'agent_optimization_results');
CREATE FOREIGN TABLE audit_seq (optimization_key text, id uuid, iteration int) SERVER ld
  OPTIONS (resource 'agent_optimization_results', max_concurrency '1');
CREATE TEMP TABLE seq_rows AS SELECT row_number() OVER () AS n, optimization_key, id FROM audit_seq;

-- 1. concurrent series, as the stand-in sees them: every optimization's first
-- page delayed, up to max_concurrency (4) of them in flight at once
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "query": "offset=0$", "delay_ms": 400, "times": 5}');
SELECT ld_clear_log();
SELECT count(id) FROM audit_fan;
SELECT audit_together() BETWEEN 2 AND 4 AS overlap_within_4, count(*) AS requests
  FROM ld_requests() WHERE path LIKE '%/all-results';
-- max_concurrency '1': one at a time
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "query": "offset=0$", "delay_ms": 400, "times": 5}');
SELECT ld_clear_log();
SELECT count(id) FROM audit_seq;
SELECT audit_together() AS together, count(*) AS requests FROM ld_requests() WHERE path LIKE '%/all-results';

-- 2. row order equal to max_concurrency '1' when the answers come back in
-- another order: the first series (code-review-bot) answers last
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "code-review-bot/all-results$", "query": "offset=0$", "delay_ms": 400}');
SELECT ld_clear_log();
CREATE TEMP TABLE fan_rows AS SELECT row_number() OVER () AS n, optimization_key, id FROM audit_fan;
SELECT count(1) AS rows, count(1) FILTER (WHERE s.id = f.id AND s.optimization_key = f.optimization_key)
       AS same_position
  FROM seq_rows s JOIN fan_rows f USING (n);
-- (the series after it were received while it was delayed: answered first)
WITH l AS (SELECT * FROM ld_requests())
SELECT count(*) > 0 AS answered_before_the_first
  FROM l WHERE NOT faulted AND path LIKE '%/all-results' AND query = 'limit=100&offset=0'
   AND at_ms < (SELECT at_ms FROM l WHERE faulted) + 300;
-- an IN list: the first value answers last, rows still in the list's order
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "support-triage/all-results$", "query": "offset=0$", "delay_ms": 400}');
SELECT ld_clear_log();
SELECT bool_and(a.optimization_key = b.optimization_key AND a.id = b.id) AS same_order, count(1)
  FROM (SELECT row_number() OVER () AS n, optimization_key, id FROM audit_fan
         WHERE optimization_key IN ('support-triage', 'resume-screener-tuning', 'code-review-bot')) a
  JOIN (SELECT row_number() OVER () AS n, optimization_key, id FROM audit_seq
         WHERE optimization_key IN ('support-triage', 'resume-screener-tuning', 'code-review-bot')) b USING (n);
WITH l AS (SELECT * FROM ld_requests())
SELECT count(*) > 0 AS answered_before_the_first
  FROM l WHERE NOT faulted AND path NOT LIKE '%/support-triage/%' AND query = 'limit=100&offset=0'
   AND at_ms < (SELECT at_ms FROM l WHERE faulted) + 300;

-- 3. a pushed grouped count(*) over every optimization: its limit=1 GETs in flight together
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "query": "^limit=1&", "delay_ms": 400, "times": 5}');
SELECT ld_clear_log();
SELECT optimization_key, count(*) FROM audit_fan GROUP BY 1 ORDER BY 1;
SELECT audit_together() BETWEEN 2 AND 4 AS overlap_within_4, count(*) AS requests,
       count(*) FILTER (WHERE query = 'limit=1&offset=0') AS count_gets
  FROM ld_requests();
-- ... one at a time with max_concurrency '1'
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "query": "^limit=1&", "delay_ms": 400, "times": 5}');
SELECT ld_clear_log();
SELECT optimization_key, count(*) FROM audit_seq GROUP BY 1 ORDER BY 1;
SELECT audit_together() AS together, count(*) AS requests FROM ld_requests();

-- 4. ANALYZE over every optimization: the limit=1 GETs in flight together,
-- the same reltuples and requests as one at a time
CREATE FOREIGN TABLE audit_runs (run_id uuid, status text) SERVER ld
  OPTIONS (resource 'agent_optimization_runs');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/runs$", "query": "^limit=1&", "delay_ms": 400, "times": 5}');
SELECT ld_clear_log();
ANALYZE audit_runs;
SELECT audit_together() BETWEEN 2 AND 4 AS overlap_within_4, count(*) AS requests,
       count(*) FILTER (WHERE query = 'limit=1&offset=0') AS count_gets,
       count(*) FILTER (WHERE query = 'limit=100&offset=0' AND path LIKE '%/runs') AS sample_pages
  FROM ld_requests();
SELECT reltuples FROM pg_class WHERE oid = 'audit_runs'::regclass;
ALTER FOREIGN TABLE audit_runs OPTIONS (ADD max_concurrency '1');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/runs$", "query": "^limit=1&", "delay_ms": 400, "times": 5}');
SELECT ld_clear_log();
ANALYZE audit_runs;
SELECT audit_together() AS together, count(*) AS requests FROM ld_requests();
SELECT reltuples FROM pg_class WHERE oid = 'audit_runs'::regclass;
DROP FOREIGN TABLE audit_runs;

-- 5. ORDER BY not pushed (ASC): a Sort over the whole series, fetched in
-- full pages (no limit=3 sent); the rows are the oldest runs
CREATE TEMP TABLE all_runs AS
  SELECT run_id, created_at FROM ld.agent_optimization_runs WHERE optimization_key = 'support-triage';
SELECT ld_clear_log();
SELECT r.run_id = a.run_id AS same_run, r.created_at
  FROM (SELECT row_number() OVER () AS n, * FROM
         (SELECT run_id, created_at FROM ld.agent_optimization_runs
           WHERE optimization_key = 'support-triage' ORDER BY created_at LIMIT 3) x) r
  JOIN (SELECT row_number() OVER (ORDER BY created_at, run_id) AS n, * FROM all_runs) a USING (n)
 ORDER BY n;
SELECT path, query FROM ld_requests();
-- ... and DESC on the same series is pushed: limit=3, the newest runs
SELECT ld_clear_log();
SELECT r.run_id = a.run_id AS same_run, r.created_at
  FROM (SELECT row_number() OVER () AS n, * FROM
         (SELECT run_id, created_at FROM ld.agent_optimization_runs
           WHERE optimization_key = 'support-triage' ORDER BY created_at DESC LIMIT 3) x) r
  JOIN (SELECT row_number() OVER (ORDER BY created_at DESC, run_id) AS n, * FROM all_runs) a USING (n)
 ORDER BY n;
SELECT path, query FROM ld_requests();

-- 6. UNION ALL (async Append): the three scans' GETs in flight together;
-- with async_capable 'false' one after the other
CREATE VIEW audit_union AS
  SELECT run_id FROM ld.agent_optimization_runs WHERE optimization_key = 'support-triage'
  UNION ALL
  SELECT run_id FROM ld.agent_optimization_runs WHERE optimization_key = 'code-review-bot'
  UNION ALL
  SELECT run_id FROM ld.agent_optimization_runs WHERE optimization_key = 'resume-screener-tuning';
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/runs$", "delay_ms": 400, "times": 3}');
SELECT ld_clear_log();
SELECT count(*), count(DISTINCT run_id) FROM audit_union;
SELECT audit_together() AS together, count(*) AS requests FROM ld_requests();
ALTER SERVER ld OPTIONS (ADD async_capable 'false');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/runs$", "delay_ms": 400, "times": 3}');
SELECT ld_clear_log();
SELECT count(*), count(DISTINCT run_id) FROM audit_union;
SELECT audit_together() AS together, count(*) AS requests FROM ld_requests();
ALTER SERVER ld OPTIONS (DROP async_capable);
DROP VIEW audit_union;

-- 7. statement_timeout and pg_cancel_backend during a fan-out: 57014 within
-- a second of the interrupt, while the first pages of several series were
-- in flight; the session keeps working
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "delay_ms": 5000, "times": 10}');
SELECT ld_clear_log();
SET statement_timeout = '1s';
DO $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  PERFORM count(id) FROM audit_fan;
  RAISE NOTICE 'not canceled';
EXCEPTION WHEN query_canceled THEN
  RAISE NOTICE 'SQLSTATE %, within a second of the timeout: %', SQLSTATE,
    clock_timestamp() - t0 < interval '2 s';
END $$;
RESET statement_timeout;
SELECT audit_together() BETWEEN 2 AND 4 AS overlap_within_4,
       count(*) FILTER (WHERE path LIKE '%/all-results') <= 4 AS at_most_4_series
  FROM ld_requests();
-- the same with pg_cancel_backend from another session; that session goes on
SELECT ld_clear_log();
SELECT bg_connect('audit');
SELECT dblink_send_query('audit', 'SELECT count(id) FROM audit_fan /* audit-cancel */');
-- (canceled once the stand-in has two first pages, at most 3 s: not during the list GET)
DO $$
BEGIN
  FOR i IN 1..150 LOOP
    EXIT WHEN (SELECT count(*) FROM ld_requests() WHERE path LIKE '%/all-results') >= 2;
    PERFORM pg_sleep(0.02);
  END LOOP;
END $$;
CREATE TEMP TABLE audit_cancel AS
  SELECT pg_cancel_backend(wait_for_wait_event('/* audit-cancel */')) AS canceled, clock_timestamp() AS t0;
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN dblink_is_busy('audit') = 0;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT canceled, clock_timestamp() - t0 < interval '1 second' AS within_a_second FROM audit_cancel;
DO $$
BEGIN
  PERFORM * FROM dblink_get_result('audit') AS t(n bigint);
  RAISE NOTICE 'not canceled';
EXCEPTION WHEN query_canceled THEN
  RAISE NOTICE 'SQLSTATE %', SQLSTATE;
END $$;
SELECT * FROM dblink_get_result('audit', false) AS t(n bigint);
SELECT audit_together() BETWEEN 2 AND 4 AS overlap_within_4,
       count(*) FILTER (WHERE path LIKE '%/all-results') <= 4 AS at_most_4_series
  FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
SELECT * FROM dblink('audit', 'SELECT count(id) FROM audit_fan') AS t(n bigint);
SELECT dblink_disconnect('audit');
SELECT count(id) FROM audit_fan;

DROP FOREIGN TABLE audit_fan, audit_seq;
DROP FUNCTION audit_together();
ALTER SERVER ld OPTIONS (ADD max_concurrency '1');
SELECT ld_reset();
