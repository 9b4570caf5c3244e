-- Key values and key conditions: a value that cannot be a path segment ('',
-- '.', '..') never leaves its segment; key conditions the API answered are
-- checked again; a nondeterministic collation pins nothing (scan and direct
-- modify alike); pseudoconstant quals run once; IN lists are de-duplicated
-- in O(n log n), in order of first occurrence.
SELECT ld_reset();
-- every request the stand-in saw that leaves an item's path: a dot segment,
-- an empty segment, or a trailing slash
CREATE FUNCTION stray_requests() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM ld_requests()
   WHERE path ~ '/\.\.?(/|$)' OR path ~ '//' OR path ~ '/$' OR path !~ '^/api/v2/projects/default/'
$$;

-- 1. reads: '', '.' and '..' are no such row, and send nothing
SELECT ld_clear_log();
SELECT key FROM ld.ai_configs WHERE key = '..';
SELECT key FROM ld.ai_configs WHERE key = '.';
SELECT key FROM ld.ai_configs WHERE key = '';
SELECT key FROM ld.agent_optimizations WHERE key = '..';
SELECT count(1) FROM ld.agent_optimization_runs WHERE optimization_key = '..';
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = '.';
SELECT count(1) FROM ld.agent_optimization_latest_results WHERE optimization_key = '';
SELECT count(1) FROM ld.ai_config_variations WHERE config_key = '..';
SELECT count(1) FROM ld.ai_configs WHERE key = (SELECT '..'::text);
-- (nor does use_remote_estimate ask for the totalCount of such a key)
ALTER FOREIGN TABLE ld.agent_optimization_runs OPTIONS (ADD use_remote_estimate 'true');
EXPLAIN (COSTS OFF) SELECT count(1) FROM ld.agent_optimization_runs WHERE optimization_key = '..';
ALTER FOREIGN TABLE ld.agent_optimization_runs OPTIONS (DROP use_remote_estimate);
SELECT method, path, query FROM ld_requests();
-- IN lists: the other values are read
SELECT ld_clear_log();
SELECT key FROM ld.ai_configs WHERE key IN ('..', 'ticket-summarizer', '.', '') ORDER BY key;
SELECT count(1) FROM ld.agent_optimization_runs WHERE optimization_key IN ('.', '..', '');
SELECT method, path, query FROM ld_requests();
-- query parameters
PREPARE by_key(text) AS SELECT key FROM ld.ai_configs WHERE key = $1;
PREPARE runs_of(text) AS SELECT count(1) FROM ld.agent_optimization_runs WHERE optimization_key = $1;
SELECT ld_clear_log();
EXECUTE by_key('..');
EXECUTE by_key('.');
EXECUTE by_key('');
EXECUTE runs_of('..');
SELECT method, path, query FROM ld_requests();
DEALLOCATE by_key;
DEALLOCATE runs_of;
-- join parameters (a nested loop, a correlated subquery): only the outer
-- rows' usable keys are asked for
CREATE TEMP TABLE odd_keys (k text);
INSERT INTO odd_keys VALUES ('..'), ('.'), (''), ('ticket-summarizer');
ANALYZE odd_keys;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(1) FROM odd_keys o JOIN ld.agent_optimization_runs r ON r.optimization_key = o.k;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT o.k, (SELECT c.key FROM ld.ai_configs c WHERE c.key = o.k) FROM odd_keys o;
SELECT ld_clear_log();
SELECT count(1) FROM odd_keys o JOIN ld.agent_optimization_runs r ON r.optimization_key = o.k;
SELECT o.k, (SELECT c.key FROM ld.ai_configs c WHERE c.key = o.k) FROM odd_keys o;
SELECT method, path, query FROM ld_requests();

-- 2. writes: an error (22023) before any request
-- direct modify, with constants and with parameters
EXPLAIN (VERBOSE, COSTS OFF) DELETE FROM ld.ai_configs WHERE key = '..';
SELECT ld_clear_log();
DELETE FROM ld.ai_configs WHERE key = '..';
DELETE FROM ld.ai_configs WHERE key = '';
UPDATE ld.ai_configs SET description = 'x' WHERE key = '.';
UPDATE ld.agent_optimizations SET label = 'x' WHERE key = '..';
UPDATE ld.agent_optimization_results SET status = 'PASSED'
 WHERE optimization_key = '..' AND id = '1d5a57a1-d000-4000-8000-000000000001';
DELETE FROM ld.agent_optimization_runs
 WHERE optimization_key = '.' AND run_id = '1d5a57a1-d000-4000-8000-000000000001';
UPDATE ld.ai_config_variations SET name = 'x' WHERE config_key = '..' AND key = 'baseline';
UPDATE ld.ai_config_variations SET name = 'x' WHERE config_key = 'support-triage-agent' AND key = '..';
PREPARE del(text) AS DELETE FROM ld.ai_configs WHERE key = $1;
EXECUTE del('..');
-- (NULL: no row, no request)
EXECUTE del(NULL);
DEALLOCATE del;
SELECT method, path, query FROM ld_requests();
-- not direct: the scan finds no row to change, so nothing is sent
SELECT ld_clear_log();
UPDATE ld.ai_configs SET description = 'x' WHERE key = '..' AND version > 0;
DELETE FROM ld.ai_configs WHERE key IN ('.', '..') RETURNING key;
SELECT method, path, query FROM ld_requests();
-- INSERT: a path key from the row ('..' as a parent key), in one row or in a batch
SELECT ld_clear_log();
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
VALUES ('..', 'cccccccc-0000-4000-8000-000000000003', 3, 1, 'i', 'u');
INSERT INTO ld.ai_config_variations (config_key, key, name) VALUES ('.', 'v', 'V');
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
VALUES ('support-triage', 'cccccccc-0000-4000-8000-000000000003', 3, 1, 'i', 'u'),
       ('', 'cccccccc-0000-4000-8000-000000000003', 3, 2, 'i', 'u');
SELECT method, path, query FROM ld_requests();
-- a row whose own identity cannot be addressed: created by POST (the key is
-- in the body there), it cannot be changed or deleted through its path
SELECT ld_clear_log();
INSERT INTO ld.ai_configs (key, name) VALUES ('.', 'Dot config') RETURNING key, name;
UPDATE ld.ai_configs SET description = 'x' WHERE name = 'Dot config';
DELETE FROM ld.ai_configs WHERE name = 'Dot config';
SELECT method, path, query, status FROM ld_requests();
-- an enumerated parent with such a key is skipped (its runs have no path)
INSERT INTO ld.agent_optimizations (key, ai_config_key, max_attempts, judge_model)
VALUES ('..', 'ticket-summarizer', 1, 'gpt-4o') RETURNING key;
SELECT ld_clear_log();
SELECT count(1) FROM ld.agent_optimization_runs;
SELECT method, path, query FROM ld_requests();
-- nothing above left an item's path
SELECT stray_requests() AS stray;
SELECT ld_reset();

-- 3. options: '.' and '..' (and '') cannot be a project or optimization key
CREATE FOREIGN TABLE bad_runs (run_id uuid) SERVER ld
  OPTIONS (resource 'agent_optimization_runs', optimization_key '..');
CREATE FOREIGN TABLE bad_configs (key text) SERVER ld
  OPTIONS (resource 'ai_configs', project_key '.');
CREATE FOREIGN TABLE bad_configs (key text) SERVER ld
  OPTIONS (resource 'ai_configs', project_key '');
ALTER SERVER ld OPTIONS (SET project_key '..');
ALTER FOREIGN TABLE ld.agent_optimization_runs OPTIONS (ADD optimization_key '.');
CREATE SCHEMA dots;
IMPORT FOREIGN SCHEMA ".." FROM SERVER ld INTO dots;
DROP SCHEMA dots;

-- 4. key conditions the API answered are checked again: an API that matches
-- keys without regard to case gives no row for a key that differs
-- (the fault answers with the item 'ticket-summarizer' as the API gives it)
SELECT ld_ctl('/_test/faults', jsonb_build_object('method', 'GET', 'path', '/ai-configs/TICKET-SUMMARIZER$',
                                                  'times', 5, 'status', 200, 'body', attrs::text)::text)
  FROM ld.ai_configs WHERE key = 'ticket-summarizer';
EXPLAIN (VERBOSE, COSTS OFF) SELECT key FROM ld.ai_configs WHERE key = 'TICKET-SUMMARIZER';
SELECT ld_clear_log();
SELECT key FROM ld.ai_configs WHERE key = 'TICKET-SUMMARIZER';
SELECT key FROM ld.ai_configs WHERE key IN ('TICKET-SUMMARIZER', 'resume-screener');
SELECT method, path, status FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
-- the per-run endpoint: results of another run are filtered out
SELECT run_id AS some_run FROM ld.agent_optimization_runs
 WHERE optimization_key = 'code-review-bot' ORDER BY created_at LIMIT 1 \gset
-- (the fault answers with the results of another run of that optimization)
SELECT ld_ctl('/_test/faults', jsonb_build_object('method', 'GET', 'path', '/runs/' || :'some_run' || '/results$',
                                                  'status', 200, 'body',
                                                  jsonb_build_object('items', jsonb_agg(attrs), 'totalCount', count(1))::text)::text)
  FROM ld.agent_optimization_results
 WHERE optimization_key = 'code-review-bot' AND run_id <> :'some_run' AND iteration = 1;
SELECT ld_clear_log();
SELECT count(1) FROM ld.agent_optimization_results
 WHERE optimization_key = 'code-review-bot' AND run_id = :'some_run';
SELECT method, regexp_replace(path, '[0-9a-f-]{36}', '<run>') AS path, status FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
-- an embedded row's parent key is its enclosing item's key: variations of a
-- config whose key differs are filtered out too
SELECT ld_ctl('/_test/faults', jsonb_build_object('method', 'GET', 'path', '/ai-configs/SUPPORT-TRIAGE-AGENT$',
                                                  'status', 200, 'body', attrs::text)::text)
  FROM ld.ai_configs WHERE key = 'support-triage-agent';
EXPLAIN (VERBOSE, COSTS OFF)
SELECT config_key, key FROM ld.ai_config_variations WHERE config_key = 'SUPPORT-TRIAGE-AGENT';
SELECT ld_clear_log();
SELECT config_key, key FROM ld.ai_config_variations WHERE config_key = 'SUPPORT-TRIAGE-AGENT';
SELECT method, path, status FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
-- a parent key from the path needs no second check
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(1) FROM ld.agent_optimization_runs WHERE optimization_key = 'code-review-bot';

-- 5. a nondeterministic collation: not a key condition, for a scan or a
-- direct modify (the same test decides both)
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
EXPLAIN (VERBOSE, COSTS OFF)
SELECT key FROM ld.ai_configs WHERE key = 'TICKET-SUMMARIZER' COLLATE ci;
SELECT ld_clear_log();
SELECT key FROM ld.ai_configs WHERE key = 'TICKET-SUMMARIZER' COLLATE ci;
SELECT method, path, query FROM ld_requests();
INSERT INTO ld.ai_configs (key, name) VALUES ('faq-bot', 'FAQ bot');
EXPLAIN (VERBOSE, COSTS OFF) DELETE FROM ld.ai_configs WHERE key = 'FAQ-BOT' COLLATE ci;
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.ai_configs SET description = 'x' WHERE key = 'FAQ-BOT' COLLATE ci;
SELECT ld_clear_log();
DELETE FROM ld.ai_configs WHERE key = 'FAQ-BOT' COLLATE ci;
SELECT method, path, query, status FROM ld_requests();
-- with the default collation it is direct, and exact
EXPLAIN (VERBOSE, COSTS OFF) DELETE FROM ld.ai_configs WHERE key = 'FAQ-BOT';

-- 6. a pseudoconstant condition runs once (in the gating Result), not again
-- for every row in the scan
CREATE FUNCTION noisy() RETURNS boolean STABLE LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'noisy() evaluated';
  RETURN true;
END $$;
EXPLAIN (VERBOSE, COSTS OFF) SELECT key FROM ld.ai_configs WHERE noisy();
SELECT key FROM ld.ai_configs WHERE noisy() ORDER BY key;

-- 7. = ANY($1): each distinct value once, in order of first occurrence
PREPARE many(text[]) AS SELECT key FROM ld.ai_configs WHERE key = ANY($1) ORDER BY key;
SELECT ld_clear_log();
EXECUTE many(array_cat(array_fill('resume-screener'::text, ARRAY[3000]),
                       ARRAY['ticket-summarizer', '..', NULL, 'resume-screener', 'nope', 'ticket-summarizer']));
SELECT path, status FROM ld_requests() ORDER BY seq;
DEALLOCATE many;
-- 30000 distinct values (the de-duplication sorts them: the old quadratic
-- loop took seconds, measured outside the suite); LIMIT 1 stops after the
-- first value's request
CREATE FUNCTION first_of_many(n int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  a text[] := ARRAY(SELECT 'k-' || i FROM generate_series(1, n) i);
  r text;
BEGIN
  SELECT key INTO r FROM ld.ai_configs WHERE key = ANY(array_prepend('ticket-summarizer', a)) LIMIT 1;
  RETURN r;
END $$;
SELECT ld_clear_log();
SELECT first_of_many(30000);
SELECT count(*) AS requests FROM ld_requests();
