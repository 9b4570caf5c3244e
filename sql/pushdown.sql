-- LIMIT/OFFSET pushdown through the final upper path: the exact requests.
SELECT ld_reset();

-- LIMIT 5 OFFSET 10 on one optimization's results: exactly one GET
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, iteration FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' LIMIT 5 OFFSET 10;
SELECT ld_clear_log();
SELECT iteration, agent_optimization_version FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' LIMIT 5 OFFSET 10;
SELECT method, path, query FROM ld_requests();
-- the same rows as reading everything and skipping locally
SELECT iteration, agent_optimization_version
  FROM (SELECT *, row_number() OVER () AS n FROM ld.agent_optimization_results
         WHERE optimization_key = 'support-triage') r
 WHERE n BETWEEN 11 AND 15;

-- LIMIT 250 with page_size 100: ceil(250/100) = 3 GETs, the last asks for 50
SELECT ld_clear_log();
SELECT count(*) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' LIMIT 250) s;
SELECT query FROM ld_requests();

-- a server cap below the limit is followed until the limit is reached
SELECT ld_ctl('/_test/config', '{"page_cap": 7}');
SELECT ld_clear_log();
SELECT count(*) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' LIMIT 20 OFFSET 3) s;
SELECT query FROM ld_requests();
SELECT ld_ctl('/_test/config', '{"page_cap": null}');

-- a table's own optimization_key, OFFSET alone, LIMIT 0
CREATE FOREIGN TABLE st_results (id uuid, iteration int) SERVER ld
  OPTIONS (resource 'agent_optimization_results', optimization_key 'support-triage');
SELECT ld_clear_log();
SELECT count(*) FROM (SELECT * FROM st_results OFFSET 300) s;
SELECT * FROM st_results LIMIT 0;
SELECT query FROM ld_requests();

-- parameters: prepared LIMIT/OFFSET are pushed too
PREPARE page(int, int) AS SELECT iteration FROM st_results LIMIT $1 OFFSET $2;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE page(2, 4);
SELECT ld_clear_log();
EXECUTE page(2, 4);
SELECT query FROM ld_requests();
EXECUTE page(-1, 0);
EXECUTE page(1, -1);
DEALLOCATE page;

-- not pushed: a local condition, a local sort, WITH TIES, enumeration
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM st_results WHERE iteration > 3 LIMIT 5;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM st_results ORDER BY iteration LIMIT 5;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM st_results ORDER BY iteration FETCH FIRST 5 ROWS WITH TIES;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM ld.agent_optimization_results LIMIT 5;
-- ... but they still stop fetching once the executor has enough rows
SELECT ld_clear_log();
SELECT count(*) FROM (SELECT id FROM ld.agent_optimization_results LIMIT 5) s;
SELECT path, query FROM ld_requests();
DROP FOREIGN TABLE st_results;
