-- Concurrent writes: an INSERT hands rows over in batches (batch_size,
-- default 10) and their POSTs go out concurrently (max_concurrency); each
-- row still gets its own error report.
SELECT ld_reset();
ALTER SERVER ld OPTIONS (DROP max_concurrency);  -- the default, 4
CREATE TEMP TABLE eval_cases AS
  SELECT g AS n, 'Question number ' || g AS prompt FROM generate_series(1, 12) g;

EXPLAIN (VERBOSE, COSTS OFF)
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
SELECT 'code-review-bot', 'dddddddd-0000-4000-8000-000000000004', 2, n, 'Review it.', prompt FROM eval_cases;
SELECT ld_clear_log();
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
SELECT 'code-review-bot', 'dddddddd-0000-4000-8000-000000000004', 2, n, 'Review it.', prompt FROM eval_cases;
-- 12 POSTs, over several connections at once, each body once
SELECT count(*) AS posts, count(DISTINCT body) AS bodies, count(DISTINCT conn) > 1 AS concurrent
  FROM ld_requests() WHERE method = 'POST';
SELECT body FROM ld_requests() WHERE method = 'POST' ORDER BY (body::jsonb->>'iteration')::int LIMIT 3;
-- the rows were created, each once
SELECT count(*), count(DISTINCT iteration) FROM ld.agent_optimization_results
 WHERE optimization_key = 'code-review-bot' AND run_id = 'dddddddd-0000-4000-8000-000000000004';

-- the POSTs of one batch stay in flight while the next batch is read and
-- checked: a check failing in the second batch says which rows were in flight
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
SELECT 'code-review-bot', 'dddddddd-0000-4000-8000-000000000006', 2, CASE WHEN n = 11 THEN NULL ELSE n END,
       'Review it.', prompt FROM eval_cases;

-- RETURNING needs each row's answer: one at a time
EXPLAIN (VERBOSE, COSTS OFF)
INSERT INTO ld.ai_configs (key, name) SELECT 'batch-' || n, 'B' FROM eval_cases RETURNING key;

-- a failing row in a batch: the error names it and says which later rows of the
-- batch may have been sent (they were in flight); no row after those is started
SELECT ld_clear_log();
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
SELECT 'code-review-bot', run::uuid, 2, it, 'Review it.', prompt
  FROM (VALUES ('eeeeeeee-0000-4000-8000-000000000005', 1, 'first'),
               ('cc734f07-942c-400c-afa3-584189f688b7', 1, 'second: that run has an iteration 1 already'),
               ('eeeeeeee-0000-4000-8000-000000000005', 2, 'third')) v(run, it, prompt);
SELECT body::jsonb->>'userInput' AS user_input, (body::jsonb->>'iteration')::int AS iteration, status FROM ld_requests()
 WHERE method = 'POST' ORDER BY 1;

-- UPDATE and DELETE: the executor hands rows over one at a time, but when
-- nothing needs a row's answer (no RETURNING, no trigger) a row's request
-- stays in flight while the next rows are read (up to max_concurrency)
WITH created AS (  -- RETURNING: one at a time, so they are created in order
  INSERT INTO ld.ai_configs (key, name) SELECT format('conc-%s', to_char(n, 'FM00')), 'C' FROM eval_cases
  RETURNING key)
SELECT count(*) FROM created;
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.ai_configs SET description = 'updated ' || key WHERE key LIKE 'conc-%';
SELECT ld_clear_log();
-- the first PATCHes answer slowly, so the ones after them are surely sent
-- while they are in flight (on other connections) however fast the machine
SELECT ld_ctl('/_test/faults', '{"method": "PATCH", "path": "/ai-configs/conc-", "delay_ms": 150, "times": 3}');
UPDATE ld.ai_configs SET description = 'updated ' || key WHERE key LIKE 'conc-%';
SELECT count(*) AS patches, count(DISTINCT path) AS paths, count(DISTINCT conn) > 1 AS concurrent
  FROM ld_requests() WHERE method = 'PATCH';
SELECT path, body, status FROM ld_requests() WHERE method = 'PATCH' ORDER BY path LIMIT 2;
SELECT key, description FROM ld.ai_configs WHERE key LIKE 'conc-%' ORDER BY key;
-- with RETURNING each row needs its answer: one at a time
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.ai_configs SET description = 'x' WHERE key LIKE 'conc-%' RETURNING key;
-- a trigger on the table would run before a queue is sent: one at a time
CREATE FUNCTION conc_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER conc_after AFTER UPDATE ON ld.ai_configs FOR EACH STATEMENT EXECUTE FUNCTION conc_noop();
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.ai_configs SET description = 'x' WHERE key LIKE 'conc-%';
DROP TRIGGER conc_after ON ld.ai_configs;
DROP FUNCTION conc_noop();
-- the same item twice in one statement: its two PATCHes are never in flight
-- together, so the last one wins as it would one at a time
SELECT ld_clear_log();
UPDATE ld.ai_configs c SET description = v.d
  FROM (VALUES (1, 'conc-01', 'first'), (2, 'conc-02', 'only'), (3, 'conc-01', 'second')) v(n, k, d)
 WHERE c.key = v.k AND c.name = 'C';
SELECT body FROM ld_requests() WHERE method = 'PATCH' AND path LIKE '%/conc-01' ORDER BY seq;
SELECT description FROM ld.ai_configs WHERE key = 'conc-01';
-- EXPLAIN ANALYZE counts the queued requests too
SELECT * FROM explain_analyze($$UPDATE ld.ai_configs SET description = 'again' WHERE key LIKE 'conc-%'$$);
-- a failing row among the queued ones is the one reported, with how many
-- rows before it succeeded and how many later ones were in flight; no row
-- is started after it (rows 4-6 were in flight: max_concurrency 4)
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "PATCH", "path": "/ai-configs/conc-03$", "status": 500, "times": 1}');
UPDATE ld.ai_configs SET description = 'fails at 3' WHERE key LIKE 'conc-%';
SELECT substr(path, 37) AS item, status FROM ld_requests() WHERE method = 'PATCH' ORDER BY path;
SELECT key, description FROM ld.ai_configs WHERE key LIKE 'conc-%' ORDER BY key;
-- a check that fails before anything is sent names the row, with 0 sent
UPDATE ld.ai_configs SET description = CASE WHEN key = 'conc-02' THEN NULL ELSE 'x' END
 WHERE key LIKE 'conc-%';
-- a timeout while requests are in flight: the statement ends at once, the
-- requests still in flight are dropped, and the session goes on
SELECT ld_ctl('/_test/faults', '{"method": "PATCH", "path": "/ai-configs/conc-02$", "stall_ms": 20000, "times": 1}');
SET statement_timeout = '2s';  -- ample for row 1 to be answered, on a loaded machine too
UPDATE ld.ai_configs SET description = 'stalls at 2' WHERE key LIKE 'conc-%';
RESET statement_timeout;
SELECT count(*) FROM ld.ai_configs WHERE key LIKE 'conc-%';
-- DELETE: started while the next rows are read, too
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "DELETE", "path": "/ai-configs/conc-", "delay_ms": 150, "times": 3}');
DELETE FROM ld.ai_configs WHERE key LIKE 'conc-%';
SELECT count(*) AS deletes, count(DISTINCT path) AS paths, count(DISTINCT conn) > 1 AS concurrent,
       min(status) AS status FROM ld_requests() WHERE method = 'DELETE';
SELECT count(*) FROM ld.ai_configs WHERE key LIKE 'conc-%';
-- with max_concurrency 1, rows go one at a time as they come
ALTER SERVER ld OPTIONS (ADD max_concurrency '1');
EXPLAIN (VERBOSE, COSTS OFF)
DELETE FROM ld.ai_configs WHERE key LIKE 'conc-%';
