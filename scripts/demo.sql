-- ldai_fdw demo: query LaunchDarkly agent optimizations with SQL.
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
\set ON_ERROR_STOP on
\pset border 2
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ldai_fdw;
CREATE SERVER launchdarkly FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default');
CREATE USER MAPPING FOR CURRENT_USER SERVER launchdarkly OPTIONS (api_key :'ldkey');
CREATE SCHEMA ld;
IMPORT FOREIGN SCHEMA "default" FROM SERVER launchdarkly INTO ld;

\echo '== The AI Configs of the project'
SELECT key, name, mode, tags, version, updated_at::date AS updated FROM ld.ai_configs ORDER BY key;

\echo '== Agent optimizations and how their runs went'
SELECT o.key, o.ai_config_key, o.version,
       count(r.run_id) AS runs,
       count(*) FILTER (WHERE r.status = 'PASSED') AS passed,
       count(*) FILTER (WHERE r.status = 'RUNNING') AS running
  FROM ld.agent_optimizations o
  LEFT JOIN ld.agent_optimization_runs r ON r.optimization_key = o.key
 GROUP BY 1, 2, 3 ORDER BY 1;

\echo '== A small local table of owners and budgets, joined with the best result of each optimization'
CREATE TABLE owners (opt_key text PRIMARY KEY, team text, monthly_token_budget int);
INSERT INTO owners VALUES
  ('support-triage', 'Support Platform', 2000000),
  ('code-review-bot', 'Developer Experience', 500000),
  ('resume-screener-tuning', 'People Ops', 100000);
WITH scored AS (
  SELECT optimization_key, id, iteration, agent_optimization_version AS version,
         (SELECT avg((s.value->>'score')::numeric) FROM jsonb_each(scores) s) AS avg_score,
         (generation_tokens->>'total')::int AS tokens, generation_latency
    FROM ld.agent_optimization_results
   WHERE status = 'PASSED'
)
SELECT DISTINCT ON (o.opt_key) o.team, o.opt_key, s.version, s.iteration,
       round(s.avg_score, 3) AS avg_score, s.tokens, s.generation_latency AS latency_ms
  FROM owners o JOIN scored s ON s.optimization_key = o.opt_key
 ORDER BY o.opt_key, s.avg_score DESC NULLS LAST;

\echo '== One page of results, pushed down as a single GET (see the request line)'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT iteration, status, scores FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' LIMIT 5 OFFSET 10;
SELECT iteration, status, activity, jsonb_object_keys(scores) AS judge
  FROM (SELECT * FROM ld.agent_optimization_results
         WHERE optimization_key = 'support-triage' LIMIT 3 OFFSET 10) r;

\echo '== Every variation of an AI Config'
SELECT config_key, key, name, model->>'modelName' AS model, state, version
  FROM ld.ai_config_variations WHERE config_key = 'support-triage-agent' ORDER BY key;

\echo '== Database-driven updates: an evaluation run posts its results (INSERT ... SELECT ... RETURNING)'
CREATE TABLE eval_cases (n int PRIMARY KEY, prompt text NOT NULL);
INSERT INTO eval_cases VALUES
  (1, 'How do I reset my password?'),
  (2, 'Can I get a refund after 30 days?'),
  (3, 'Where do I download my invoices?');
SELECT gen_random_uuid() AS new_run \gset
-- one POST per row; RETURNING shows what LaunchDarkly answered (ids, status, timestamps)
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
SELECT 'support-triage', :'new_run', o.version, c.n, 'Answer from the help center only.', c.prompt
  FROM eval_cases c, ld.agent_optimizations o
 WHERE o.key = 'support-triage'
 ORDER BY c.n
RETURNING iteration, id, status, user_input;

\echo '== A grading job marks them from a local table of verdicts (UPDATE ... FROM ... RETURNING)'
CREATE TABLE verdicts (prompt text PRIMARY KEY, verdict text NOT NULL, score numeric NOT NULL);
INSERT INTO verdicts VALUES
  ('How do I reset my password?', 'PASSED', 0.92),
  ('Can I get a refund after 30 days?', 'FAILED', 0.41),
  ('Where do I download my invoices?', 'PASSED', 0.87);
-- one PATCH per matching row, with only the columns set: {"status": ..., "scores": ...}
UPDATE ld.agent_optimization_results r
   SET status = v.verdict,
       scores = jsonb_build_object('accuracy', jsonb_build_object('score', v.score))
  FROM verdicts v
 WHERE r.optimization_key = 'support-triage' AND r.run_id = :'new_run' AND r.user_input = v.prompt
RETURNING r.iteration, r.status, r.scores;

\echo '== The new run, read back from LaunchDarkly'
SELECT run_id = :'new_run' AS new_run, status, count(*) AS results
  FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' AND run_id = :'new_run'
 GROUP BY 1, 2 ORDER BY 2;

\echo '== Did the offline winner pay off in production?  Promote the variation the optimization created ...'
SELECT r.created_variation_key AS winner, o.ai_config_key AS config, r.agent_optimization_version AS version
  FROM ld.agent_optimization_results r JOIN ld.agent_optimizations o ON o.key = r.optimization_key
 WHERE r.optimization_key = 'support-triage' AND r.status = 'PASSED' AND r.created_variation_key IS NOT NULL
 ORDER BY r.agent_optimization_version DESC, r.iteration DESC LIMIT 1 \gset
INSERT INTO ld.ai_config_variations (config_key, key, name, model_config_key, instructions)
SELECT :'config', :'winner', 'Winner of support-triage v' || :'version', variation->>'modelConfigKey', instructions
  FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' AND created_variation_key = :'winner'
RETURNING config_key, key, name, model_config_key;

\echo '== ... then its daily production metrics next to the other variations, and what a passed result cost offline'
WITH offline AS (   -- ldai_result_costs: tokens priced by the model configs (one optimization read)
  SELECT agent_optimization_version AS version,
         sum(total_cost) / nullif(count(*) FILTER (WHERE status = 'PASSED'), 0) AS usd_per_passed_result
    FROM ldai_result_costs('ld.agent_optimization_results', 'ld.agent_optimizations',
                           'ld.ai_model_configs', 'support-triage')
   GROUP BY 1)
SELECT m.period_start::date AS day, m.variation_key, m.variation_key = :'winner' AS winner,
       m.generation_count AS generations, m.total_tokens,
       round(((m.input_cost + m.output_cost) / nullif(m.generation_count, 0))::numeric, 5) AS usd_per_generation,
       round(m.satisfaction_rating::numeric, 3) AS satisfaction,
       CASE WHEN m.variation_key = :'winner' THEN round(o.usd_per_passed_result::numeric, 4) END
         AS offline_usd_per_passed_result
  FROM ld.ai_config_variation_metrics m
  LEFT JOIN offline o ON o.version = :version
 WHERE m.config_key = :'config' AND m.env = 'production' AND m.bucket = 'day'
   AND m.period_start >= date_trunc('day', now()) - interval '3 days'
   AND m.period_end <= date_trunc('day', now())
 ORDER BY 1, 2;

\echo '== Which AI Config variations break if I change a prompt snippet?'
SELECT s.key AS snippet, r.ai_config_key, r.variation_key, v.state, r.resource_version AS snippet_version
  FROM ld.ai_prompt_snippets s
  JOIN ld.ai_prompt_snippet_references r ON r.snippet_key = s.key
  LEFT JOIN ld.ai_config_variations v ON v.config_key = r.ai_config_key AND v.key = r.variation_key
 ORDER BY 1, 2, 3 LIMIT 8;

\echo '== What this session asked of LaunchDarkly (ldai_fdw_stats)'
SELECT endpoint, requests, responses_2xx, responses_4xx, responses_429, bytes_received
  FROM ldai_fdw_stats WHERE server_name = 'launchdarkly' ORDER BY requests DESC, endpoint LIMIT 8;
