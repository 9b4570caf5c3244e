-- Keys as catalog data (issue 15): the config_key table option, and the AI
-- Config metrics tables (ai_config_metrics, ai_config_variation_metrics,
-- ai_config_quick_stats) with their windows, buckets and errors.
SELECT ld_reset();

-- 1. config_key fixes the parent AI Config of ai_config_variations: one GET
--    of that AI Config, its variations as rows
CREATE FOREIGN TABLE sta_variations (config_key text, key text, name text) SERVER ld
  OPTIONS (resource 'ai_config_variations', config_key 'support-triage-agent');
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sta_variations;
SELECT ld_clear_log();
SELECT config_key, key FROM sta_variations ORDER BY key;
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies
-- a config_key condition too: checked locally against the option's rows
SELECT ld_clear_log();
SELECT count(1) FROM sta_variations WHERE config_key = 'code-review-assistant';
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies
-- an AI Config the option names that does not exist: an error naming it
ALTER FOREIGN TABLE sta_variations OPTIONS (SET config_key 'no-such-config');
SELECT * FROM sta_variations;
-- ... also with a local condition: one GET, the 404 names the option
SELECT ld_clear_log();
SELECT * FROM sta_variations WHERE key = 'baseline';
SELECT method, path, query, status FROM ld_requests();

-- 2. validated like optimization_key, refused where the resource has no such key
CREATE FOREIGN TABLE bad_ck1 (key text) SERVER ld
  OPTIONS (resource 'ai_config_variations', config_key '..');
CREATE FOREIGN TABLE bad_ck2 (key text) SERVER ld
  OPTIONS (resource 'ai_configs', config_key 'support-triage-agent');
CREATE FOREIGN TABLE bad_ck3 (key text) SERVER ld
  OPTIONS (resource 'agent_optimizations', optimization_key 'support-triage');
ALTER FOREIGN TABLE sta_variations OPTIONS (ADD optimization_key 'support-triage');
DROP FOREIGN TABLE sta_variations;

-- 3. ai_config_metrics: one window, one GET with from/to (epoch ms) and env;
--    the stand-in's values are functions of the request (test/standin/README.md):
--    n = whole hours of the window, c = length(config key), e = length(env)
SET TIME ZONE 'UTC';
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production'
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-08';
SELECT ld_clear_log();
SELECT config_key, env, bucket, period_start, period_end, generation_count,
       generation_count = 168 * length(config_key) AS n_times_c,
       input_tokens = 1000 * 168 * 20 + 10 AS input_ok, total_tokens, thumbs_up, input_cost,
       satisfaction_rating = 20.0 / 30 AS rating_ok, judge_toxicity, attrs->'thumbsDown' AS attrs_thumbs_down
  FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production'
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-08';
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies

-- 4. bucket = 'day' over 7 days: 7 GETs, 7 rows, consecutive UTC days
SELECT ld_clear_log();
SELECT bucket, period_start, period_end, generation_count
  FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'day'
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-08'
 ORDER BY period_start;
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies
-- the buckets add up to the whole window
SELECT sum(generation_count) AS by_day,
       (SELECT generation_count FROM ld.ai_config_metrics
         WHERE config_key = 'support-triage-agent' AND env = 'production'
           AND period_start >= '2026-01-01' AND period_end <= '2026-01-08') AS whole
  FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'day'
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-08';
-- a window that does not start or end on a boundary: partial first and last
-- buckets, each row reporting the part of the window it covers
SELECT ld_clear_log();
SELECT bucket, period_start, period_end, generation_count
  FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'day'
   AND period_start >= '2026-01-01 12:00' AND period_end <= '2026-01-03 06:00';
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies
-- weeks start on Monday 00:00 UTC (2026-01-05); hours at the hour
SELECT ld_clear_log();
SELECT bucket, period_start, period_end
  FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'week'
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-15';
SELECT bucket, count(1), min(period_start), max(period_end)
  FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'hour'
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-02'
 GROUP BY bucket;
SELECT count(1) AS requests FROM ld_requests();

-- 5. widened, never narrowed: a bound between two milliseconds is rounded
--    outward in the request (from down, to up); strict bounds start just
--    after / end just before their value; the rows pass the conditions
SELECT ld_clear_log();
SELECT period_start, period_end FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production'
   AND period_start >= '2026-01-01 00:00:00.0005+00' AND period_end <= '2026-01-02 00:00:00.0005+00';
SELECT period_start, period_end FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production'
   AND period_start > '2026-01-01' AND period_end < '2026-01-02';
-- the other way round, a date, BETWEEN: the same window
SELECT period_start, period_end FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production'
   AND '2026-01-01'::date <= period_start AND period_end <= '2026-01-02'::date;
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies

-- 6. a window of stable expressions, evaluated once per scan; parameters
BEGIN;
SELECT ld_clear_log();
SELECT period_start = now() - interval '7 days' AS start_ok, period_end = now() AS end_ok,
       generation_count = 168 * length(config_key) AS n_ok
  FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production'
   AND period_start >= now() - interval '7 days' AND period_end <= now();
SELECT method, path,
       split_part(split_part(query, 'from=', 2), '&', 1)::bigint
         = floor(extract(epoch FROM now() - interval '7 days') * 1000) AS from_ok,
       split_part(split_part(query, 'to=', 2), '&', 1)::bigint
         = ceil(extract(epoch FROM now()) * 1000) AS to_ok
  FROM ld_requests();
COMMIT;
PREPARE win(timestamptz, timestamptz, text) AS
  SELECT env, period_start, period_end FROM ld.ai_config_metrics
   WHERE config_key = 'code-review-assistant' AND env = $3
     AND period_start >= $1 AND period_end <= $2;
SELECT ld_clear_log();
EXECUTE win('2026-02-01', '2026-02-02', 'staging');
EXECUTE win('2026-02-02', '2026-02-03', 'production');
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies
DEALLOCATE win;

-- 7. no config_key: every AI Config of the project, listed first; env IN: one
--    series per value
SELECT ld_clear_log();
SELECT config_key, env, generation_count = 24 * length(config_key) AS n_ok
  FROM ld.ai_config_metrics
 WHERE env IN ('production', 'staging')
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-02';
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM ld.ai_config_metrics
 WHERE env IN ('production', 'staging')
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-02';

-- 8. errors before any request, each with the WHERE clause to write
SELECT ld_clear_log();
SELECT * FROM ld.ai_config_metrics WHERE config_key = 'support-triage-agent' AND env = 'production';
SELECT * FROM ld.ai_config_metrics WHERE env = 'production' AND period_start >= '2026-01-01';
SELECT * FROM ld.ai_config_metrics
 WHERE period_start >= '2026-01-01' AND period_end <= '2026-01-08';
SELECT * FROM ld.ai_config_metrics
 WHERE env = 'production' AND period_start >= '2026-01-01' AND period_end <= '2026-06-01';
SELECT * FROM ld.ai_config_metrics
 WHERE env = 'production' AND bucket = 'hour'
   AND period_start >= '2026-01-01' AND period_end <= '2026-03-01';
SELECT * FROM ld.ai_config_metrics
 WHERE env = 'production' AND bucket = 'month'
   AND period_start >= '2026-01-01' AND period_end <= '2026-03-01';
SELECT * FROM ld.ai_config_metrics
 WHERE env = 'production' AND period_start >= '-infinity' AND period_end <= '2026-03-01';
SELECT * FROM ld.ai_config_quick_stats;
SELECT count(1) AS requests FROM ld_requests();
-- an empty window, a NULL bound: no rows, no request
SELECT count(1) FROM ld.ai_config_metrics
 WHERE env = 'production' AND period_start >= '2026-01-02' AND period_end <= '2026-01-01';
SELECT count(1) FROM ld.ai_config_metrics
 WHERE env = 'production' AND period_start >= NULL::timestamptz AND period_end <= '2026-01-01';
SELECT count(1) AS requests FROM ld_requests();
-- 100 days is allowed; a day bucket splits a longer window
SELECT count(1) FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production'
   AND period_start >= '2026-01-01' AND period_end <= '2026-04-11';
SELECT count(1), sum(generation_count) = 150 * 24 * 20 AS sum_ok FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'day'
   AND period_start >= '2026-01-01' AND period_end <= '2026-05-31';
SELECT count(1) AS requests FROM ld_requests();

-- 9. ai_config_variation_metrics: one row per variation per window
SELECT ld_clear_log();
SELECT config_key, env, bucket, period_start, period_end, variation_key,
       generation_count = 24 * length(variation_key) AS n_ok, satisfaction_rating IS NOT NULL AS has_rating,
       attrs->'metrics'->'thumbsUp' = to_jsonb(thumbs_up) AS attrs_ok
  FROM ld.ai_config_variation_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'day'
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-03';
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies

-- 10. ai_config_quick_stats: env required, one GET per env
SELECT ld_clear_log();
SELECT * FROM ld.ai_config_quick_stats WHERE env IN ('production', 'no-data');
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies

-- 11. table options: config_key, env, bucket (validated at CREATE/ALTER)
CREATE FOREIGN TABLE sta_daily (config_key text, env text, bucket text, period_start timestamptz,
                                period_end timestamptz, generation_count bigint) SERVER ld
  OPTIONS (resource 'ai_config_metrics', config_key 'support-triage-agent', env 'staging', bucket 'day');
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sta_daily
 WHERE period_start >= '2026-01-01' AND period_end <= '2026-01-03';
SELECT ld_clear_log();
SELECT * FROM sta_daily WHERE period_start >= '2026-01-01' AND period_end <= '2026-01-03';
-- the EXPLAIN line above is the first of these requests
SELECT method, path, query FROM ld_requests() ORDER BY query;
-- EXPLAIN: a bucket IN list, bounds known only at execution, an empty window
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sta_daily
 WHERE bucket IN ('day', 'week') AND period_start >= '2026-01-01' AND period_end <= '2026-01-03';
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sta_daily
 WHERE period_start >= now() - interval '2 days' AND period_end <= now();
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sta_daily
 WHERE period_start >= '2026-01-03' AND period_end <= '2026-01-01';
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sta_daily
 WHERE bucket = 'none' AND period_start >= '2026-01-01' AND period_end <= '2026-01-03';
SELECT ld_clear_log();
-- conditions override the options' env and bucket
SELECT * FROM sta_daily WHERE env = 'production' AND bucket = 'none'
   AND period_start >= '2026-01-01' AND period_end <= '2026-01-03';
SELECT method, path, query FROM ld_requests() ORDER BY path, query;  -- concurrent: arrival order varies
-- a config_key option naming no AI Config
ALTER FOREIGN TABLE sta_daily OPTIONS (SET config_key 'no-such-config');
SELECT * FROM sta_daily WHERE period_start >= '2026-01-01' AND period_end <= '2026-01-03';
ALTER FOREIGN TABLE sta_daily OPTIONS (SET bucket 'month');
ALTER FOREIGN TABLE sta_daily OPTIONS (SET bucket 'week', SET config_key 'support-triage-agent');
CREATE FOREIGN TABLE bad_env (key text) SERVER ld OPTIONS (resource 'ai_configs', env 'production');
CREATE FOREIGN TABLE bad_bucket (env text) SERVER ld OPTIONS (resource 'ai_config_quick_stats', bucket 'day');
CREATE FOREIGN TABLE qs_prod (env text, active_configs int) SERVER ld
  OPTIONS (resource 'ai_config_quick_stats', env 'production');
SELECT * FROM qs_prod;
DROP FOREIGN TABLE sta_daily, qs_prod;

-- 12. IMPORT FOREIGN SCHEMA creates the new tables
CREATE SCHEMA ld_metrics;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_config_metrics, ai_config_quick_stats, ai_config_variation_metrics)
  FROM SERVER ld INTO ld_metrics;
SELECT c.relname, ft.ftoptions FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
 WHERE c.relnamespace = 'ld_metrics'::regnamespace ORDER BY 1;
SELECT count(1) FROM ld_metrics.ai_config_quick_stats WHERE env = 'production';
DROP SCHEMA ld_metrics CASCADE;
RESET TIME ZONE;

-- 14. a join on config_key: a nested loop asks only for the outer rows' AI Configs
CREATE TEMP TABLE watched (cfg text);
INSERT INTO watched VALUES ('support-triage-agent'), ('resume-screener');
ANALYZE watched;
SELECT ld_clear_log();
SELECT w.cfg, m.period_start, m.generation_count = 24 * length(w.cfg) AS n_ok
  FROM watched w JOIN ld.ai_config_metrics m ON m.config_key = w.cfg
 WHERE m.env = 'production' AND m.period_start >= '2026-01-01' AND m.period_end <= '2026-01-02'
 ORDER BY 1;
SELECT method, path, query FROM ld_requests() ORDER BY path;
DROP TABLE watched;

-- 13. ANALYZE skips a table that needs a window (no request)
SELECT ld_clear_log();
ANALYZE ld.ai_config_metrics;
SELECT count(1) AS requests FROM ld_requests();

-- 14. the buckets' GETs are in flight together (max_concurrency, as the
--     series of enumerated parents): the first two answer slowly, so the
--     next ones are surely sent meanwhile, on other connections; rows stay in
--     window order
ALTER SERVER ld OPTIONS (SET max_concurrency '4');
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/metrics$", "delay_ms": 200, "times": 2}');
SELECT period_start, period_end, generation_count FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'day'
   AND period_start >= '2026-11-01' AND period_end <= '2026-11-06';
SELECT count(1) AS requests, count(DISTINCT query) AS windows, count(DISTINCT conn) > 1 AS concurrent
  FROM ld_requests();
-- with max_concurrency '1' one at a time, on one connection
ALTER SERVER ld OPTIONS (SET max_concurrency '1');
SELECT ld_clear_log();
SELECT count(1) FROM ld.ai_config_metrics
 WHERE config_key = 'support-triage-agent' AND env = 'production' AND bucket = 'day'
   AND period_start >= '2026-11-01' AND period_end <= '2026-11-06';
SELECT count(1) AS requests, count(DISTINCT conn) AS connections FROM ld_requests();
