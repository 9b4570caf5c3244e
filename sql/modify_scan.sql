-- A statement that writes the table it scans reads all its rows first:
-- each DELETE shifts the list, a PATCH can move an item, so reading the
-- next page after a write would skip rows (or see one twice).  Also: the
-- response cache lives for one query, a rescan with no changed parameter
-- replays the rows, and whether a 404 is an error depends only on where the
-- missing key came from.
SELECT ld_reset();
ALTER SERVER ld OPTIONS (SET page_size '2');

-- DELETE, one request at a time (max_concurrency 1): 10 runs, 2 per page
EXPLAIN (VERBOSE, COSTS OFF)
DELETE FROM ld.agent_optimization_runs
 WHERE optimization_key = 'support-triage' AND activity IS DISTINCT FROM 'zzz';
SELECT ld_clear_log();
DELETE FROM ld.agent_optimization_runs
 WHERE optimization_key = 'support-triage' AND activity IS DISTINCT FROM 'zzz';
-- every page read before the first DELETE; each run deleted exactly once
SELECT method, query FROM ld_requests() WHERE method = 'GET' ORDER BY seq;
SELECT count(1) AS deletes, count(DISTINCT path) AS runs,
       bool_and(headers->>'ld-api-version' = 'beta') AS beta,
       bool_and(status = 204) AS all_ok
  FROM ld_requests() WHERE method = 'DELETE';
SELECT max(seq) FILTER (WHERE method = 'GET') < min(seq) FILTER (WHERE method = 'DELETE') AS reads_first
  FROM ld_requests();
SELECT count(1) AS runs_left FROM ld.agent_optimization_runs WHERE optimization_key = 'support-triage';

-- DELETE with requests in flight (the deferred path, max_concurrency 4) and
-- page prefetch
ALTER FOREIGN TABLE ld.agent_optimization_runs OPTIONS (ADD max_concurrency '4');
EXPLAIN (VERBOSE, COSTS OFF)
DELETE FROM ld.agent_optimization_runs
 WHERE optimization_key = 'code-review-bot' AND activity IS DISTINCT FROM 'zzz';
SELECT ld_clear_log();
DELETE FROM ld.agent_optimization_runs
 WHERE optimization_key = 'code-review-bot' AND activity IS DISTINCT FROM 'zzz';
SELECT query FROM ld_requests() WHERE method = 'GET' ORDER BY query;
SELECT count(1) AS deletes, count(DISTINCT path) AS runs, bool_and(status = 204) AS all_ok
  FROM ld_requests() WHERE method = 'DELETE';
SELECT max(seq) FILTER (WHERE method = 'GET') < min(seq) FILTER (WHERE method = 'DELETE') AS reads_first
  FROM ld_requests();
SELECT count(1) AS runs_left FROM ld.agent_optimization_runs WHERE optimization_key = 'code-review-bot';
ALTER FOREIGN TABLE ld.agent_optimization_runs OPTIONS (DROP max_concurrency);

-- UPDATE against a list ordered by updatedAt: each PATCH moves the result to
-- the end of the list.  One at a time first, 16 results, 4 per page.
ALTER SERVER ld OPTIONS (SET page_size '4');
SELECT ld_ctl('/_test/config', '{"results_by_updated_at": true}');
SELECT ld_clear_log();
UPDATE ld.agent_optimization_results SET status = 'PASSED'
 WHERE optimization_key = 'resume-screener-tuning' AND user_input IS DISTINCT FROM 'zzz';
SELECT query FROM ld_requests() WHERE method = 'GET' ORDER BY seq;
SELECT count(1) AS patches, count(DISTINCT path) AS results, min(body) = max(body) AS same_body,
       min(body) AS body, bool_and(status = 200) AS all_ok
  FROM ld_requests() WHERE method = 'PATCH';
SELECT max(seq) FILTER (WHERE method = 'GET') < min(seq) FILTER (WHERE method = 'PATCH') AS reads_first
  FROM ld_requests();
SELECT status, count(1) FROM ld.agent_optimization_results
 WHERE optimization_key = 'resume-screener-tuning' GROUP BY 1 ORDER BY 1;

-- the same with requests in flight (deferred path) and page prefetch
SELECT ld_reset();
SELECT ld_ctl('/_test/config', '{"results_by_updated_at": true}');
ALTER FOREIGN TABLE ld.agent_optimization_results OPTIONS (ADD max_concurrency '4');
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.agent_optimization_results SET status = 'FAILED'
 WHERE optimization_key = 'resume-screener-tuning' AND user_input IS DISTINCT FROM 'zzz';
SELECT ld_clear_log();
UPDATE ld.agent_optimization_results SET status = 'FAILED'
 WHERE optimization_key = 'resume-screener-tuning' AND user_input IS DISTINCT FROM 'zzz';
SELECT query FROM ld_requests() WHERE method = 'GET' ORDER BY query;
SELECT count(1) AS patches, count(DISTINCT path) AS results, min(body) AS body,
       bool_and(status = 200) AS all_ok, count(DISTINCT conn) > 1 AS concurrent
  FROM ld_requests() WHERE method = 'PATCH';
SELECT max(seq) FILTER (WHERE method = 'GET') < min(seq) FILTER (WHERE method = 'PATCH') AS reads_first
  FROM ld_requests();
SELECT status, count(1) FROM ld.agent_optimization_results
 WHERE optimization_key = 'resume-screener-tuning' GROUP BY 1 ORDER BY 1;
ALTER FOREIGN TABLE ld.agent_optimization_results OPTIONS (DROP max_concurrency);

-- a plain SELECT is not affected: no "Rows Read Before Writes"
EXPLAIN (VERBOSE, COSTS OFF)
SELECT run_id FROM ld.agent_optimization_runs WHERE optimization_key = 'support-triage';
SELECT ld_reset();
ALTER SERVER ld OPTIONS (SET page_size '100');

-- The response cache lives for one query: a DO block that reads the same
-- key twice (through a parameterized join, which uses the cache), with a
-- change in between, sees the change (two GETs)
CREATE TEMP TABLE want (k text);
INSERT INTO want VALUES ('ticket-summarizer');
ANALYZE want;
-- (the recheck's operands come in either order, depending on the version)
SELECT regexp_replace(l, 'Filter: \(w\.k = c\.key\)', 'Filter: (c.key = w.k)')
  FROM explain_lines($$SELECT c.name FROM want w JOIN ld.ai_configs c ON c.key = w.k$$) l;
SELECT ld_clear_log();
DO $$
DECLARE
  first text;
  second text;
BEGIN
  SELECT c.name INTO first FROM want w JOIN ld.ai_configs c ON c.key = w.k;
  -- the item is gone now
  PERFORM ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs/ticket-summarizer$", "status": 404}');
  SELECT c.name INTO second FROM want w JOIN ld.ai_configs c ON c.key = w.k;
  RAISE NOTICE 'first read: %, second read: %', first, second;
END $$;
SELECT method, path, status FROM ld_requests() ORDER BY seq;
-- (joins.sql shows the cache still answers a repeated key within one query)

-- A rescan with no changed parameter replays the rows: a nested loop whose
-- inner side is the foreign scan, without a join parameter or Material
CREATE TEMP TABLE three (n int);
INSERT INTO three VALUES (1), (2), (3);
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
EXPLAIN (COSTS OFF)
SELECT t.n, count(c.key) FROM three t LEFT JOIN ld.ai_configs c ON c.name <> t.n::text GROUP BY 1 ORDER BY 1;
SELECT ld_clear_log();
SELECT t.n, count(c.key) FROM three t LEFT JOIN ld.ai_configs c ON c.name <> t.n::text GROUP BY 1 ORDER BY 1;
SELECT method, path, query FROM ld_requests() ORDER BY seq;
SELECT * FROM explain_analyze(
  'SELECT t.n, count(c.key) FROM three t LEFT JOIN ld.ai_configs c ON c.name <> t.n::text GROUP BY 1');
-- a pushed-down LIMIT: its execution's rows are all read once, then replayed
SELECT ld_clear_log();
SELECT t.n, c.key FROM three t LEFT JOIN LATERAL (SELECT key FROM ld.ai_configs LIMIT 1) c ON true
 ORDER BY 1;
SELECT method, query FROM ld_requests() ORDER BY seq;
-- a scan the executor stops early (a semi join stops at the first match) has
-- not read all its rows, so each rescan asks again
EXPLAIN (COSTS OFF)
SELECT t.n FROM three t WHERE EXISTS (SELECT 1 FROM ld.ai_configs c WHERE c.name <> t.n::text) ORDER BY 1;
SELECT ld_clear_log();
SELECT t.n FROM three t WHERE EXISTS (SELECT 1 FROM ld.ai_configs c WHERE c.name <> t.n::text) ORDER BY 1;
SELECT method, query FROM ld_requests() ORDER BY seq;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- 404: an error when the missing key is the table's optimization_key, with
-- or without a condition on another key; zero rows when it is the key from WHERE
CREATE FOREIGN TABLE ms_results_nope (optimization_key text, id uuid, run_id uuid, status text)
  SERVER ld OPTIONS (resource 'agent_optimization_results', optimization_key 'no-such-opt');
CREATE FOREIGN TABLE ms_results_crb (optimization_key text, id uuid, run_id uuid, status text)
  SERVER ld OPTIONS (resource 'agent_optimization_results', optimization_key 'code-review-bot');
SELECT ld_clear_log();
SELECT count(1) FROM ms_results_nope;
SELECT count(1) FROM ms_results_nope WHERE run_id = 'cc734f07-942c-400c-afa3-584189f688b7';
SELECT sqlstate_of($$SELECT count(1) FROM ms_results_nope WHERE run_id = 'cc734f07-942c-400c-afa3-584189f688b7'$$);
SELECT count(1) FROM ms_results_crb WHERE run_id = '00000000-0000-4000-8000-000000000000';
-- (the optimization is asked for once per scan, however many keys are missing)
SELECT count(1) FROM ms_results_crb
 WHERE run_id IN ('00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000001');
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'no-such-opt';
SELECT count(1) FROM ld.agent_optimization_results
 WHERE optimization_key = 'no-such-opt' AND run_id = 'cc734f07-942c-400c-afa3-584189f688b7';
SELECT method, path, status FROM ld_requests() ORDER BY seq;
DROP FOREIGN TABLE ms_results_nope, ms_results_crb;

-- numbers outside int64's range read into numeric and bigint columns
-- (the range is checked before any cast)
CREATE FOREIGN TABLE ms_numbers (key text, version numeric, big bigint, attrs jsonb)
  SERVER ld OPTIONS (resource 'ai_configs');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs$", "status": 200,
  "body": "{\"items\": [{\"key\": \"a\", \"version\": 1e300, \"big\": 9007199254740993},\n {\"key\": \"b\", \"version\": -1e300, \"big\": -5},\n {\"key\": \"c\", \"version\": 9.5e18, \"big\": 3}], \"totalCount\": 3}"}');
SELECT key, version::float8 AS version, length(version::text) AS digits, big FROM ms_numbers ORDER BY key;
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs$", "status": 200,
  "body": "{\"items\": [{\"key\": \"d\", \"big\": 1e19}], \"totalCount\": 1}"}');
SELECT key, big FROM ms_numbers;
DROP FOREIGN TABLE ms_numbers;
SELECT ld_reset();

-- rows kept past work_mem go to a temporary file; read back, each row lives
-- only until the next one is read (the executor's per-row memory): 308
-- results of ~1 kB each, kept before the first PATCH, with work_mem 64kB
CREATE FOREIGN TABLE ms_spill (optimization_key text, id uuid, iteration int,
  completion_response text, generation_response jsonb)
  SERVER ld OPTIONS (resource 'agent_optimization_results', optimization_key 'support-triage');
SET work_mem = '64kB';
SELECT ld_clear_log();
UPDATE ms_spill SET completion_response = 'reviewed ' || iteration WHERE iteration >= 0;
RESET work_mem;
SELECT count(1) AS patches, count(DISTINCT path) AS results,
       count(1) FILTER (WHERE body::jsonb->>'completionResponse' LIKE 'reviewed %') AS reviewed_bodies
  FROM ld_requests() WHERE method = 'PATCH';
SELECT count(1) FILTER (WHERE completion_response = 'reviewed ' || iteration) AS reviewed, count(1)
  FROM ms_spill;
DROP FOREIGN TABLE ms_spill;
SELECT ld_reset();
