-- ORDER BY pushdown where the API documents its order: one optimization's
-- runs come created_at DESC, one run's results iteration DESC.  The scan then
-- needs no Sort, and ORDER BY created_at DESC LIMIT n is one GET with limit=n.
SELECT ld_reset();

-- the stand-in keeps the documented orders
SELECT bool_and(created_at >= next_created) AS runs_newest_first
  FROM (SELECT created_at, lead(created_at) OVER () AS next_created
          FROM (SELECT created_at FROM ld.agent_optimization_runs
                 WHERE optimization_key = 'support-triage') r) s;
SELECT bool_and(iteration > next_iteration) AS results_by_iteration_desc, count(1)
  FROM (SELECT iteration, lead(iteration) OVER () AS next_iteration
          FROM (SELECT iteration FROM ld.agent_optimization_results
                 WHERE optimization_key = 'support-triage'
                   AND run_id = (SELECT run_id FROM ld.agent_optimization_runs
                                  WHERE optimization_key = 'support-triage'
                                  ORDER BY created_at DESC LIMIT 1)) r) s;

-- ORDER BY created_at DESC LIMIT 3 on one optimization's runs: no Sort, one GET
SELECT line FROM explain_lines($$SELECT run_id, created_at FROM ld.agent_optimization_runs
   WHERE optimization_key = 'support-triage' ORDER BY created_at DESC LIMIT 3$$) AS line;
CREATE TEMP TABLE all_runs AS
  SELECT run_id, created_at FROM ld.agent_optimization_runs WHERE optimization_key = 'support-triage';
SELECT ld_clear_log();
SELECT r.run_id = a.run_id AS same_run, r.created_at
  FROM (SELECT row_number() OVER () AS n, * FROM
         (SELECT run_id, created_at FROM ld.agent_optimization_runs
           WHERE optimization_key = 'support-triage' ORDER BY created_at DESC LIMIT 3) x) r
  JOIN (SELECT row_number() OVER (ORDER BY created_at DESC, run_id) AS n, * FROM all_runs) a USING (n)
 ORDER BY n;
SELECT method, path, query FROM ld_requests();
-- with OFFSET, and as a parameter
SELECT ld_clear_log();
PREPARE newest(int, int) AS SELECT created_at FROM ld.agent_optimization_runs
   WHERE optimization_key = 'support-triage' ORDER BY created_at DESC LIMIT $1 OFFSET $2;
EXECUTE newest(2, 4);
SELECT query FROM ld_requests();
DEALLOCATE newest;
-- the table's optimization_key option fixes the series too
CREATE FOREIGN TABLE triage_runs (run_id uuid, status text, created_at timestamptz,
                                  completed_at timestamptz) SERVER ld
  OPTIONS (resource 'agent_optimization_runs', optimization_key 'support-triage');
SELECT ld_clear_log();
SELECT created_at FROM triage_runs ORDER BY created_at DESC LIMIT 2;
SELECT query FROM ld_requests();
-- ORDER BY created_at DESC alone: no Sort, the pages as they come
SELECT line FROM explain_lines($$SELECT created_at FROM triage_runs ORDER BY created_at DESC$$) AS line;

-- not pushed: ASC, NULLS LAST, another column, a second sort key
SELECT line FROM explain_lines($$SELECT created_at FROM triage_runs ORDER BY created_at LIMIT 3$$) AS line;
SELECT line FROM explain_lines($$SELECT created_at FROM triage_runs ORDER BY created_at DESC NULLS LAST LIMIT 3$$) AS line;
SELECT line FROM explain_lines($$SELECT created_at FROM triage_runs ORDER BY completed_at DESC LIMIT 3$$) AS line;
SELECT line FROM explain_lines($$SELECT created_at FROM triage_runs ORDER BY created_at DESC, run_id LIMIT 3$$) AS line;
-- not pushed: several series would interleave (enumerated parents, an IN list)
SELECT line FROM explain_lines($$SELECT created_at FROM ld.agent_optimization_runs
   ORDER BY created_at DESC LIMIT 3$$) AS line;
SELECT line FROM explain_lines($$SELECT created_at FROM ld.agent_optimization_runs
   WHERE optimization_key IN ('support-triage', 'code-review-bot') ORDER BY created_at DESC LIMIT 3$$) AS line;
SELECT ld_clear_log();
SELECT optimization_key, created_at FROM ld.agent_optimization_runs
 WHERE optimization_key IN ('support-triage', 'code-review-bot') ORDER BY created_at DESC LIMIT 3;
SELECT count(*) AS requests FROM ld_requests();
-- not pushed: a local condition (LIMIT stays local, no Sort needed)
SELECT line FROM explain_lines($$SELECT created_at FROM triage_runs
   WHERE status = 'PASSED' ORDER BY created_at DESC LIMIT 3$$) AS line;
-- a column read from another field keeps its Sort
CREATE FOREIGN TABLE odd_runs (created_at timestamptz OPTIONS (field 'completedAt')) SERVER ld
  OPTIONS (resource 'agent_optimization_runs', optimization_key 'support-triage');
SELECT line FROM explain_lines($$SELECT created_at FROM odd_runs ORDER BY created_at DESC LIMIT 3$$) AS line;
DROP FOREIGN TABLE odd_runs;
-- a created_at declared as text sorts differently: Sort
CREATE FOREIGN TABLE text_runs (created_at text) SERVER ld
  OPTIONS (resource 'agent_optimization_runs', optimization_key 'support-triage');
SELECT line FROM explain_lines($$SELECT created_at FROM text_runs ORDER BY created_at DESC LIMIT 3$$) AS line;
DROP FOREIGN TABLE text_runs;

-- one run's results: iteration DESC, no Sort (the endpoint is not paged: one GET)
SELECT line FROM explain_lines($$SELECT iteration FROM ld.agent_optimization_results
   WHERE optimization_key = 'support-triage' AND run_id = '00000000-0000-0000-0000-000000000000'
   ORDER BY iteration DESC LIMIT 2$$) AS line;
SELECT ld_clear_log();
SELECT iteration FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage'
   AND run_id = (SELECT run_id FROM all_runs ORDER BY created_at DESC, run_id LIMIT 1)
 ORDER BY iteration DESC LIMIT 2;
SELECT method, regexp_replace(path, '[0-9a-f-]{36}', '{run}') AS path, query FROM ld_requests();
-- every result of an optimization: the order is not documented, Sort
SELECT line FROM explain_lines($$SELECT iteration FROM ld.agent_optimization_results
   WHERE optimization_key = 'support-triage' ORDER BY iteration DESC LIMIT 2$$) AS line;
SELECT line FROM explain_lines($$SELECT created_at FROM ld.agent_optimization_latest_results
   WHERE optimization_key = 'support-triage' ORDER BY created_at DESC LIMIT 2$$) AS line;
DROP FOREIGN TABLE triage_runs;

-- across pages: ORDER BY created_at DESC LIMIT 6 with page_size 4 is two GETs
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
CREATE SERVER ld_order_small FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '4', max_concurrency '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_order_small OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE small_runs (run_id uuid, created_at timestamptz) SERVER ld_order_small
  OPTIONS (resource 'agent_optimization_runs', optimization_key 'support-triage');
SELECT ld_clear_log();
SELECT count(1) AS rows, bool_and(s.run_id = a.run_id) AS same_runs
  FROM (SELECT row_number() OVER () AS n, * FROM
         (SELECT run_id FROM small_runs ORDER BY created_at DESC LIMIT 6) x) s
  JOIN (SELECT row_number() OVER (ORDER BY created_at DESC, run_id) AS n, * FROM all_runs) a USING (n);
SELECT query FROM ld_requests() ORDER BY seq;
DROP SERVER ld_order_small CASCADE;
