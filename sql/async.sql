-- Asynchronous Append: a UNION ALL (or a partitioned table) of several foreign
-- scans has their requests in flight together (server/table option
-- async_capable, default true).  The stand-in delays each first page, so
-- requests that overlap need a connection each, while one after the other
-- reuse a single keep-alive connection.
SELECT ld_reset();
CREATE VIEW three_runs AS
  SELECT optimization_key, run_id FROM ld.agent_optimization_runs WHERE optimization_key = 'support-triage'
  UNION ALL
  SELECT optimization_key, run_id FROM ld.agent_optimization_runs WHERE optimization_key = 'code-review-bot'
  UNION ALL
  SELECT optimization_key, run_id FROM ld.agent_optimization_runs WHERE optimization_key = 'resume-screener-tuning';
SELECT line FROM explain_lines('SELECT * FROM three_runs') AS line;
-- the rows one scan at a time
CREATE TEMP TABLE seq_runs AS
  SELECT optimization_key, run_id FROM ld.agent_optimization_runs
   WHERE optimization_key IN ('support-triage', 'code-review-bot', 'resume-screener-tuning');

-- concurrently: three GETs, each on its own connection, the same rows
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/runs$", "delay_ms": 300, "times": 3}');
SELECT ld_clear_log();
CREATE TEMP TABLE async_runs AS SELECT * FROM three_runs;
SELECT count(*) AS requests, count(DISTINCT conn) AS connections,
       count(DISTINCT path) AS series FROM ld_requests();
SELECT (SELECT count(*) FROM async_runs) AS rows,
       (SELECT count(*) FROM (SELECT * FROM async_runs EXCEPT ALL SELECT * FROM seq_runs) d) AS extra,
       (SELECT count(*) FROM (SELECT * FROM seq_runs EXCEPT ALL SELECT * FROM async_runs) d) AS missing;

-- async_capable 'false': one scan after the other, one connection
ALTER SERVER ld OPTIONS (ADD async_capable 'false');
SELECT line FROM explain_lines('SELECT * FROM three_runs') AS line;
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/runs$", "delay_ms": 50, "times": 3}');
SELECT ld_clear_log();
SELECT count(*) FROM three_runs;
SELECT count(*) AS requests, count(DISTINCT conn) AS connections FROM ld_requests();
-- a table's option wins over the server's
ALTER SERVER ld OPTIONS (SET async_capable 'true');
CREATE FOREIGN TABLE sync_runs (run_id uuid) SERVER ld
  OPTIONS (resource 'agent_optimization_runs', optimization_key 'code-review-bot', async_capable 'false');
SELECT line FROM explain_lines($$SELECT run_id FROM ld.agent_optimization_runs WHERE optimization_key = 'support-triage'
                                 UNION ALL SELECT run_id FROM sync_runs$$) AS line;
DROP FOREIGN TABLE sync_runs;
ALTER SERVER ld OPTIONS (DROP async_capable);
-- validated as a boolean
ALTER SERVER ld OPTIONS (ADD async_capable 'maybe');

-- a partitioned table of foreign partitions
CREATE TABLE runs_by_opt (optimization_key text, run_id uuid, status text)
  PARTITION BY LIST (optimization_key);
CREATE FOREIGN TABLE runs_triage PARTITION OF runs_by_opt FOR VALUES IN ('support-triage')
  SERVER ld OPTIONS (resource 'agent_optimization_runs', optimization_key 'support-triage');
CREATE FOREIGN TABLE runs_review PARTITION OF runs_by_opt FOR VALUES IN ('code-review-bot')
  SERVER ld OPTIONS (resource 'agent_optimization_runs', optimization_key 'code-review-bot');
SELECT line FROM explain_lines('SELECT optimization_key, count(1) FROM runs_by_opt GROUP BY 1') AS line;
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/runs$", "delay_ms": 300, "times": 2}');
SELECT ld_clear_log();
SELECT optimization_key, count(1) FROM runs_by_opt GROUP BY 1 ORDER BY 1;
SELECT count(*) AS requests, count(DISTINCT conn) AS connections FROM ld_requests();
-- a local filter under the Append: rows a page fails do not block the others
SELECT count(1) FROM runs_by_opt WHERE status = 'PASSED';
SELECT count(1) FROM ld.agent_optimization_runs
 WHERE optimization_key IN ('support-triage', 'code-review-bot') AND status = 'PASSED';

-- several pages per scan (page_size 3 on a table-level server): every row, once
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
CREATE SERVER ld_pages FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '3');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_pages OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE paged_results (optimization_key text, id uuid) SERVER ld_pages
  OPTIONS (resource 'agent_optimization_results');
SELECT ld_clear_log();
SELECT count(1), count(DISTINCT id) FROM (
  SELECT id FROM paged_results WHERE optimization_key = 'code-review-bot'
  UNION ALL SELECT id FROM paged_results WHERE optimization_key = 'resume-screener-tuning'
  UNION ALL SELECT id FROM paged_results WHERE optimization_key = 'opt/with?odd%key') s;
SELECT count(1) FROM ld.agent_optimization_results
 WHERE optimization_key IN ('code-review-bot', 'resume-screener-tuning', 'opt/with?odd%key');
SELECT count(*) > 3 AS several_pages, count(DISTINCT conn) > 1 AS concurrent FROM ld_requests();

-- an early stop drops what is in flight; the session goes on
SELECT count(1) FROM (SELECT * FROM three_runs LIMIT 1) s;
SELECT count(*) FROM seq_runs;
-- an error in one child (its optimization does not exist) ends the statement
CREATE FOREIGN TABLE runs_missing PARTITION OF runs_by_opt FOR VALUES IN ('nope')
  SERVER ld OPTIONS (resource 'agent_optimization_runs', optimization_key 'nope');
SELECT count(1) FROM runs_by_opt;
DROP FOREIGN TABLE runs_missing;
SELECT count(1) FROM runs_by_opt;
-- statement_timeout while the Append waits: 57014, and the session keeps working
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/runs$", "delay_ms": 3000, "times": 2}');
SET statement_timeout = '300ms';
\set VERBOSITY sqlstate
SELECT count(1) FROM runs_by_opt;
\set VERBOSITY default
RESET statement_timeout;
SELECT ld_ctl('/_test/reset');
SELECT count(1) FROM runs_by_opt;

DROP SERVER ld_pages CASCADE;
DROP TABLE runs_by_opt;
DROP VIEW three_runs;
