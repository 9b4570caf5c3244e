-- Reads at the API's concurrency with no wasted request (issue 14).
SELECT ld_reset();
ALTER SERVER ld OPTIONS (DROP max_concurrency);  -- the default, 4; page_size 100
-- reads_plan(query): EXPLAIN VERBOSE without costs and Output lines
CREATE FUNCTION reads_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
    IF l !~ '^\s*Output: ' THEN RETURN NEXT l; END IF;
  END LOOP;
END $$;

-- 1. On-demand prefetch: page k+1 is asked for only once the executor has
-- used half of page k, then the window grows up to max_concurrency pages.
-- LIMIT 1 under a local filter (not pushed): one GET
SELECT ld_clear_log();
SELECT count(*) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' AND iteration >= 0 LIMIT 1) s;
SELECT method, path, query FROM ld_requests();
-- a non-pushed LIMIT 250 needs 3 pages of 100: at most 4 GETs
SELECT ld_clear_log();
SELECT count(*) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' AND iteration >= 0 LIMIT 250) s;
SELECT count(*) <= 4 AS at_most_4, count(*) FILTER (WHERE query IN
         ('limit=100&offset=0', 'limit=100&offset=100', 'limit=100&offset=200')) AS needed_pages
  FROM ld_requests();
-- the same at page_size 50 (LIMIT 125: 3 of 7 pages needed; speculative
-- prefetch used to send all 7)
ALTER SERVER ld OPTIONS (SET page_size '50');
SELECT ld_clear_log();
SELECT count(*) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' AND iteration >= 0 LIMIT 125) s;
SELECT count(*) <= 4 AS at_most_4, count(*) FILTER (WHERE query IN
         ('limit=50&offset=0', 'limit=50&offset=50', 'limit=50&offset=100')) AS needed_pages
  FROM ld_requests();
-- a full scan still prefetches concurrently, every page once
ALTER SERVER ld OPTIONS (SET page_size '10');
SELECT ld_clear_log();
SELECT count(*), count(DISTINCT id) FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage';
SELECT count(*) AS requests, count(DISTINCT query) AS distinct_pages,
       count(DISTINCT conn) > 1 AS concurrent FROM ld_requests();
ALTER SERVER ld OPTIONS (SET page_size '100');

-- 2. count(*) from totalCount: one limit=1 GET per series
SELECT ld_clear_log();
SELECT count(*) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT method, path, query FROM ld_requests();
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
-- an IN list: one GET per value, the counts added
SELECT ld_clear_log();
SELECT count(*) FROM ld.agent_optimization_runs
 WHERE optimization_key IN ('support-triage', 'code-review-bot', 'no-such-opt');
SELECT path, query, status FROM ld_requests() ORDER BY path, query;  -- series go out concurrently
-- enumerated parents: the list, then one GET per optimization
SELECT ld_clear_log();
SELECT count(*) FROM ld.agent_optimization_results;
SELECT path, query FROM ld_requests() ORDER BY path, query;  -- series go out concurrently
SELECT count(id) FROM ld.agent_optimization_results;  -- the same, by scanning
-- the whole table of optimizations; a parameter
SELECT count(*) FROM ld.agent_optimizations;
PREPARE c(text) AS SELECT count(*) FROM ld.agent_optimization_runs WHERE optimization_key = $1;
SELECT ld_clear_log();
EXECUTE c('code-review-bot');
SELECT path, query FROM ld_requests();
DEALLOCATE c;
-- grouped by the key that picks the series: one row per series with rows
SELECT ld_clear_log();
SELECT optimization_key, count(*) FROM ld.agent_optimization_runs
 WHERE optimization_key IN ('support-triage', 'no-runs-yet', 'code-review-bot', 'no-such-opt')
 GROUP BY optimization_key ORDER BY 1;
SELECT path, query, status FROM ld_requests() ORDER BY path, query;  -- series go out concurrently
SELECT reads_plan($$SELECT optimization_key, count(*) FROM ld.agent_optimization_runs
                     WHERE optimization_key IN ('support-triage', 'code-review-bot')
                     GROUP BY optimization_key$$);
SELECT ld_clear_log();
SELECT count(*), optimization_key FROM ld.agent_optimization_results GROUP BY 2 ORDER BY 2;
SELECT count(*) AS requests, count(*) FILTER (WHERE query = 'limit=1&offset=0') AS count_gets
  FROM ld_requests();
SELECT optimization_key, count(id) FROM ld.agent_optimization_results GROUP BY 1 ORDER BY 1;  -- by scanning
-- not pushed: grouped by another column
SELECT reads_plan($$SELECT status, count(*) FROM ld.agent_optimization_runs
                     WHERE optimization_key = 'support-triage' GROUP BY status$$);
-- a correlated subquery: one limit=1 GET per outer row (rescans)
SELECT ld_clear_log();
SELECT o.key, (SELECT count(*) FROM ld.agent_optimization_runs r
                WHERE r.optimization_key = o.key) AS runs
  FROM ld.agent_optimizations o ORDER BY 1;
SELECT path, query FROM ld_requests() ORDER BY seq;
-- no totalCount in the answer: the rows are counted, page by page
SELECT ld_ctl('/_test/config', '{"omit_total_count": true}');
SELECT ld_clear_log();
SELECT count(*) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT query FROM ld_requests() ORDER BY seq;
SELECT ld_ctl('/_test/config', '{"omit_total_count": false}');
-- the per-run endpoint has no totalCount: its rows are counted
SELECT ld_clear_log();
SELECT count(*) FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage'
   AND run_id = (SELECT run_id FROM ld.agent_optimization_runs
                  WHERE optimization_key = 'support-triage' LIMIT 1);
SELECT regexp_replace(path, '[0-9a-f-]{36}', '{run}') AS path, query FROM ld_requests() ORDER BY seq;
SELECT count(id) FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage'
   AND run_id = (SELECT run_id FROM ld.agent_optimization_runs
                  WHERE optimization_key = 'support-triage' LIMIT 1);  -- the same, by scanning
-- not pushed: a local filter, a key checked again, another aggregate, GROUP BY
SELECT reads_plan($$SELECT count(*) FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' AND iteration > 2$$);
SELECT ld_clear_log();
SELECT count(*) FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' AND iteration > 2;
SELECT count(*) AS requests, bool_and(query ~ '^limit=100&') AS full_pages FROM ld_requests();
SELECT reads_plan($$SELECT count(*) FROM ld.ai_configs WHERE key = 'ticket-summarizer'$$);
SELECT reads_plan($$SELECT count(*), max(iteration) FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage'$$);
SELECT count(*) FROM ld.ai_config_variations;  -- embedded rows: scanned
DROP FUNCTION reads_plan(text);
ALTER SERVER ld OPTIONS (ADD max_concurrency '1');

-- 3. ANALYZE: reltuples from totalCount (one limit=1 GET per series), a
-- sample from the first page, never every page
ALTER SERVER ld OPTIONS (DROP max_concurrency);
CREATE FOREIGN TABLE an_results (id uuid, iteration int, status text) SERVER ld
  OPTIONS (resource 'agent_optimization_results', optimization_key 'support-triage');
SELECT ld_clear_log();
ANALYZE an_results;
SELECT path, query FROM ld_requests() ORDER BY seq;
SELECT reltuples FROM pg_class WHERE oid = 'an_results'::regclass;
SELECT attname, n_distinct <> 0 AS has_stats FROM pg_stats
 WHERE tablename = 'an_results' ORDER BY attname;
-- enumerated parents: the list, one limit=1 GET each, one sample page
CREATE FOREIGN TABLE an_runs (run_id uuid, status text) SERVER ld
  OPTIONS (resource 'agent_optimization_runs');
SELECT ld_clear_log();
ANALYZE an_runs;
SELECT path, query FROM ld_requests() ORDER BY path, query;  -- series go out concurrently
SELECT reltuples FROM pg_class WHERE oid = 'an_runs'::regclass;
-- embedded rows (variations): configs counted, scaled by the sample
CREATE FOREIGN TABLE an_variations (config_key text, key text) SERVER ld
  OPTIONS (resource 'ai_config_variations');
SELECT ld_clear_log();
ANALYZE an_variations;
SELECT count(*) AS requests FROM ld_requests();
SELECT reltuples FROM pg_class WHERE oid = 'an_variations'::regclass;
DROP FOREIGN TABLE an_results, an_runs, an_variations;
ALTER SERVER ld OPTIONS (ADD max_concurrency '1');
