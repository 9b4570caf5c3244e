-- Conditions on key columns choose the narrowest endpoint; other conditions
-- stay local.  A key from WHERE that does not exist is zero rows.
SELECT ld_reset();

-- key = 'x': the single-item GET
SELECT ld_clear_log();
SELECT key, version FROM ld.ai_configs WHERE key = 'ticket-summarizer';
SELECT key, version FROM ld.agent_optimizations WHERE key = 'code-review-bot';
SELECT method, path, query FROM ld_requests();

-- a missing key: zero rows (the API said 404)
SELECT ld_clear_log();
SELECT * FROM ld.ai_configs WHERE key = 'no-such-config';
SELECT * FROM ld.agent_optimizations WHERE key = 'no-such-opt';
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'no-such-opt';
SELECT method, path, status FROM ld_requests();

-- escaping: "/", "?" and "%" stay inside their path segment
SELECT ld_clear_log();
SELECT key, name FROM ld.ai_configs WHERE key = 'ops/triage?v=2%';
SELECT key FROM ld.agent_optimizations WHERE key = 'opt/with?odd%key';
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'opt/with?odd%key';
SELECT config_key, key FROM ld.ai_config_variations WHERE config_key = 'ops/triage?v=2%';
SELECT method, path, query FROM ld_requests();

-- optimization_key = 'x': that optimization only
SELECT ld_clear_log();
SELECT count(1) FROM ld.agent_optimization_runs WHERE optimization_key = 'support-triage';
SELECT count(1) FROM ld.agent_optimization_latest_results WHERE optimization_key = 'code-review-bot';
SELECT method, path, query FROM ld_requests();

-- run_id = 'r': the per-run endpoint, with or without the optimization
CREATE TEMP TABLE some_run AS
  SELECT run_id, count(1) AS n FROM ld.agent_optimization_results
   WHERE optimization_key = 'code-review-bot' AND iteration = 1
   GROUP BY run_id ORDER BY min(created_at) LIMIT 1;
SELECT n > 0 AS has_results FROM some_run;
SELECT ld_clear_log();
SELECT count(1) = (SELECT count(1) FROM ld.agent_optimization_results r2
                    WHERE r2.optimization_key = 'code-review-bot'
                      AND r2.run_id::text = (SELECT run_id::text FROM some_run)) AS same_rows
  FROM ld.agent_optimization_results
 WHERE optimization_key = 'code-review-bot' AND run_id = (SELECT run_id FROM some_run);
SELECT run_id AS the_run FROM some_run \gset
SELECT ld_clear_log();
SELECT count(1), min(iteration), max(iteration) FROM ld.agent_optimization_results
 WHERE optimization_key = 'code-review-bot' AND run_id = :'the_run';
SELECT method, regexp_replace(path, '[0-9a-f-]{36}', '<run>') AS path, query FROM ld_requests();
SELECT ld_clear_log();
SELECT optimization_key, count(1) FROM ld.agent_optimization_results
 WHERE run_id = :'the_run' GROUP BY 1;
SELECT method, regexp_replace(path, '[0-9a-f-]{36}', '<run>') AS path, query, status FROM ld_requests();

-- config_key = 'x' for variations: one GET of that config
SELECT ld_clear_log();
SELECT config_key, key, version FROM ld.ai_config_variations
 WHERE config_key = 'support-triage-agent' ORDER BY key;
SELECT method, path, query FROM ld_requests();

-- IN lists: one series per distinct value
SELECT ld_clear_log();
SELECT key FROM ld.ai_configs WHERE key IN ('resume-screener', 'nope', 'resume-screener', 'ticket-summarizer') ORDER BY key;
SELECT method, path, status FROM ld_requests();

-- conditions the API cannot take stay local (and are checked)
SELECT ld_clear_log();
SELECT key FROM ld.ai_configs WHERE key LIKE 'support%' OR name = 'Ticket Summarizer' ORDER BY key;
SELECT key FROM ld.ai_configs WHERE key = 'ticket-summarizer' AND version > 100;
SELECT key FROM ld.ai_configs WHERE key = 'ticket-summarizer' AND key = 'resume-screener';
SELECT method, path, query FROM ld_requests();
EXPLAIN (VERBOSE, COSTS OFF)
SELECT key FROM ld.ai_configs WHERE key = 'ticket-summarizer' AND version > 100;

-- NULL keys match nothing and send nothing
SELECT ld_clear_log();
SELECT * FROM ld.ai_configs WHERE key = NULL;
PREPARE by_key(text) AS SELECT key FROM ld.ai_configs WHERE key = $1;
EXECUTE by_key(NULL);
EXECUTE by_key('ticket-summarizer');
DEALLOCATE by_key;
SELECT method, path FROM ld_requests();
