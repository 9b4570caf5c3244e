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
ALTER SERVER ld OPTIONS (ADD max_concurrency '1');
