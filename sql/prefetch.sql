-- Page prefetch: with totalCount known, the next pages are fetched
-- concurrently (max_concurrency, default 4) while earlier rows are returned,
-- in order, never past a pushed LIMIT; 1 = strictly sequential.
SELECT ld_reset();
ALTER SERVER ld OPTIONS (SET page_size '10', DROP max_concurrency);  -- the default, 4

-- the same rows in the same order as strictly sequential paging
CREATE TEMP TABLE seq_rows AS
  SELECT row_number() OVER () AS n, id FROM ld.agent_optimization_results
   WHERE optimization_key = 'support-triage';
ALTER SERVER ld OPTIONS (ADD max_concurrency '1');
SELECT ld_clear_log();
CREATE TEMP TABLE one_rows AS
  SELECT row_number() OVER () AS n, id FROM ld.agent_optimization_results
   WHERE optimization_key = 'support-triage';
SELECT count(*) AS requests, count(DISTINCT conn) AS connections FROM ld_requests();
ALTER SERVER ld OPTIONS (DROP max_concurrency);
SELECT count(1) AS rows, count(1) FILTER (WHERE s.id = o.id) AS same_position
  FROM seq_rows s JOIN one_rows o USING (n);
-- with prefetch the same 31 pages are read, over several connections at once
SELECT ld_clear_log();
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT count(1) AS requests, count(DISTINCT query) AS distinct_pages,
       count(DISTINCT conn) > 1 AS concurrent FROM ld_requests();

-- a pushed LIMIT: exactly ceil(n / page_size) GETs, none past it
SELECT ld_clear_log();
SELECT count(1) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' LIMIT 35) s;
SELECT query FROM ld_requests() ORDER BY query;
SELECT ld_clear_log();
SELECT count(1) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' LIMIT 35 OFFSET 300) s;
SELECT query FROM ld_requests() ORDER BY query;

-- stops early: a scan the executor stops reads at most max_concurrency pages ahead
SELECT ld_clear_log();
SELECT count(1) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' AND iteration > 0 LIMIT 5) s;
SELECT count(*) <= 5 AS at_most_4_ahead FROM ld_requests();

-- a 429 on a prefetched page: retried after Retry-After, then sequential; rows complete
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/all-results", "query": "offset=30$",
                                 "status": 429, "headers": {"Retry-After": "0"}}');
SELECT count(1), count(DISTINCT id) FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage';
SELECT query, status FROM ld_requests() WHERE status <> 200 OR query ~ 'offset=30$' ORDER BY seq;
SELECT line FROM explain_analyze($$SELECT id FROM ld.agent_optimization_results
                                    WHERE optimization_key = 'support-triage'$$) AS line;

-- a server that caps limit below page_size: prefetch follows its page length
ALTER SERVER ld OPTIONS (SET page_size '100');
SELECT ld_ctl('/_test/config', '{"page_cap": 7}');
SELECT ld_clear_log();
SELECT count(1), count(DISTINCT id) FROM ld.agent_optimization_results
 WHERE optimization_key = 'code-review-bot';
SELECT count(*) AS requests, min(query), max(query) FROM ld_requests();
SELECT ld_ctl('/_test/config', '{"page_cap": null}');

-- table option overrides the server's
CREATE FOREIGN TABLE seq_results (id uuid) SERVER ld
  OPTIONS (resource 'agent_optimization_results', optimization_key 'code-review-bot', max_concurrency '1');
SELECT ld_clear_log();
SELECT count(1) FROM seq_results;
SELECT count(DISTINCT conn) AS connections FROM ld_requests();
DROP FOREIGN TABLE seq_results;
ALTER SERVER ld OPTIONS (ADD max_concurrency '1');
