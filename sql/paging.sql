-- Paging: offset arithmetic until _links.next is absent, totalCount is reached
-- or a page comes back empty; a server capping limit below page_size is
-- followed to the end.
SELECT ld_reset();

-- the stand-in caps pages at 7 items, below our page_size of 100
SELECT ld_ctl('/_test/config', '{"page_cap": 7}');
SELECT ld_clear_log();
SELECT count(1), count(DISTINCT id) FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage';
SELECT count(1) AS requests, min(query) AS first, max(status) AS status,
       bool_and(query LIKE 'limit=100&offset=%') AS always_asked_100
  FROM ld_requests();
SELECT query FROM ld_requests() ORDER BY seq DESC LIMIT 2;

-- the same across every optimization (list, then each one's pages)
SELECT ld_clear_log();
SELECT optimization_key, count(1) FROM ld.agent_optimization_results GROUP BY 1 ORDER BY 1;
SELECT regexp_replace(path, '/all-results$', '') AS series, count(1) AS requests
  FROM ld_requests() GROUP BY 1 ORDER BY 1;

-- without totalCount and _links the scan reads on until an empty page
SELECT ld_ctl('/_test/config', '{"page_cap": 50, "omit_total_count": true, "omit_links": true}');
SELECT ld_clear_log();
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'code-review-bot';
SELECT query, status FROM ld_requests();

-- with page_size 40 and no cap: pages of 40, the last one short
SELECT ld_reset();
ALTER SERVER ld OPTIONS (SET page_size '40');
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'code-review-bot';
SELECT query FROM ld_requests();
ALTER SERVER ld OPTIONS (SET page_size '100');

-- an optimization with no results: one request, zero rows
SELECT ld_clear_log();
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'no-runs-yet';
SELECT path, query FROM ld_requests();

-- lazy fetching: a scan that stops early stops fetching
SELECT ld_clear_log();
SELECT id IS NOT NULL FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' AND iteration > 0 LIMIT 3;
SELECT path, query FROM ld_requests();
