-- Reads at the API's concurrency with no wasted request (issue 14).
SELECT ld_reset();
ALTER SERVER ld OPTIONS (DROP max_concurrency);  -- the default, 4; page_size 100

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
ALTER SERVER ld OPTIONS (ADD max_concurrency '1');
