-- Concurrent series: while one series is read, the first pages of the next
-- max_concurrency - 1 series (enumerated parents, IN-list values) are in
-- flight; rows keep the order of the sequential scan, parent by parent.
-- The stand-in delays each first page, so requests that overlap need a
-- connection each.
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();
CREATE FOREIGN TABLE fan_results (optimization_key text, id uuid, iteration int) SERVER ld
  OPTIONS (resource 'agent_optimization_results', max_concurrency '4');
CREATE FOREIGN TABLE seq_results (optimization_key text, id uuid, iteration int) SERVER ld
  OPTIONS (resource 'agent_optimization_results', max_concurrency '1');

-- every optimization of the project, one after the other (max_concurrency '1')
SELECT ld_clear_log();
CREATE TEMP TABLE seq_rows AS SELECT row_number() OVER () AS n, optimization_key, id FROM seq_results;
SELECT count(*) AS requests, count(DISTINCT conn) AS connections FROM ld_requests();
-- ... and four series at a time: the same rows in the same order
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "delay_ms": 200, "times": 5}');
SELECT ld_clear_log();
CREATE TEMP TABLE fan_rows AS SELECT row_number() OVER () AS n, optimization_key, id FROM fan_results;
SELECT count(1) AS rows, count(1) FILTER (WHERE s.id = f.id AND s.optimization_key = f.optimization_key)
       AS same_position
  FROM seq_rows s JOIN fan_rows f USING (n);
SELECT (SELECT count(*) FROM seq_rows) AS seq_rows, (SELECT count(*) FROM fan_rows) AS fan_rows;
SELECT count(*) AS requests, count(DISTINCT conn) > 1 AS concurrent,
       count(DISTINCT path) AS distinct_paths FROM ld_requests();
SELECT regexp_replace(path, '.*/agent-optimizations', '') AS path, query
  FROM ld_requests() GROUP BY 1, 2 HAVING count(*) > 1;

-- an IN list: the same, values in their order
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "delay_ms": 200, "times": 3}');
SELECT ld_clear_log();
CREATE TEMP TABLE fan_in AS SELECT row_number() OVER () AS n, optimization_key, id FROM fan_results
  WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot', 'support-triage');
SELECT count(*) AS requests, count(DISTINCT conn) > 1 AS concurrent FROM ld_requests();
SELECT bool_and(a.optimization_key = b.optimization_key AND a.id = b.id) AS same_order, count(1)
  FROM fan_in a
  JOIN (SELECT row_number() OVER () AS n, optimization_key, id FROM seq_results
         WHERE optimization_key IN ('resume-screener-tuning', 'code-review-bot', 'support-triage')) b USING (n);
SELECT array_agg(DISTINCT optimization_key ORDER BY optimization_key) AS first_rows_key
  FROM (SELECT optimization_key FROM fan_in ORDER BY n LIMIT 1) f;

-- count(*) of every optimization: one limit=1 GET each, several in flight
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "delay_ms": 200, "times": 5}');
SELECT ld_clear_log();
SELECT count(*) FROM fan_results;
SELECT count(*) FROM seq_rows;
SELECT count(*) FILTER (WHERE query = 'limit=1&offset=0') AS counts, count(DISTINCT conn) > 1 AS concurrent
  FROM ld_requests() WHERE path LIKE '%/all-results';

-- an early stop drops what is in flight: at most max_concurrency series were asked for
SELECT ld_clear_log();
SELECT optimization_key FROM fan_results WHERE iteration >= 0 LIMIT 1;
SELECT count(*) <= 4 AS at_most_4_series FROM ld_requests() WHERE path LIKE '%/all-results';
-- an error in a series started ahead surfaces when that series is read
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "code-review-bot/all-results$", "status": 403}');
SELECT count(1) FROM fan_results;
SELECT count(1) FROM fan_results;

-- cancel and statement_timeout during a fan-out: 57014, the session goes on
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "delay_ms": 3000, "times": 5}');
SET statement_timeout = '300ms';
\set VERBOSITY sqlstate
SELECT count(1) FROM fan_results;
\set VERBOSITY default
RESET statement_timeout;
SELECT ld_ctl('/_test/reset');
SELECT count(1) = (SELECT count(*) FROM seq_rows) AS all_rows FROM fan_results;

-- a later series' next page goes out as soon as its first page has come back
-- saying there is more (totalCount), while an earlier series is still being
-- waited for -- not once the scan reaches it: no round trip per series of
-- several pages.  The first series (no results) answers after 1 s, every
-- other page after 100 ms; the stand-in notes when each request arrived.
CREATE SERVER ld_fanp FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '10', max_concurrency '4');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_fanp OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE fan_pages (optimization_key text, id uuid) SERVER ld_fanp
  OPTIONS (resource 'agent_optimization_results');
SELECT ld_ctl('/_test/ratelimit', '{"timestamps": true}');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "no-runs-yet/all-results$", "delay_ms": 1000, "times": 1}');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results$", "delay_ms": 100, "times": 40}');
SELECT ld_clear_log();
CREATE TEMP TABLE fan_p AS SELECT row_number() OVER () AS n, optimization_key, id FROM fan_pages
  WHERE optimization_key IN ('no-runs-yet', 'code-review-bot', 'resume-screener-tuning');
CREATE TEMP TABLE fan_p_log AS SELECT path, query, at_ms FROM ld_requests();
SELECT ld_ctl('/_test/reset');
-- the rows of max_concurrency '1', in its order
SELECT bool_and(a.optimization_key = b.optimization_key AND a.id = b.id) AS same_order, count(1) AS rows
  FROM fan_p a
  JOIN (SELECT row_number() OVER () AS n, optimization_key, id FROM seq_results
         WHERE optimization_key IN ('no-runs-yet', 'code-review-bot', 'resume-screener-tuning')) b USING (n);
-- per series: its pages, each asked for once, and whether its second page
-- went out before the first series answered
WITH r AS (SELECT split_part(regexp_replace(path, '.*/agent-optimizations/', ''), '/', 1) AS k,
                  substring(query FROM 'offset=([0-9]+)')::int AS off, at_ms
             FROM fan_p_log WHERE path LIKE '%/all-results'),
     first AS (SELECT min(at_ms) AS at_ms FROM r WHERE k = 'no-runs-yet')
SELECT k, count(*) AS requests, count(DISTINCT off) AS pages,
       min(r.at_ms) FILTER (WHERE off = 10) < (SELECT at_ms FROM first) + 1000 AS second_page_early
  FROM r GROUP BY k
 ORDER BY array_position(ARRAY['no-runs-yet', 'code-review-bot', 'resume-screener-tuning'], k);
DROP FOREIGN TABLE fan_results, seq_results;
DROP SERVER ld_fanp CASCADE;
