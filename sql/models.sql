-- ai_model_configs (issue 15): the model configs of the project with their
-- prices, written with POST/DELETE; is_restricted set for many rows with one
-- request to the restricted list; and ldai_result_costs, which prices each
-- agent optimization result's tokens with them.
SELECT ld_reset();
SET extra_float_digits = 0;

-- IMPORT FOREIGN SCHEMA (setup) created the table, with these columns
SELECT column_name, data_type
  FROM information_schema.columns
 WHERE table_schema = 'ld' AND table_name = 'ai_model_configs'
 ORDER BY ordinal_position;

-- every column, from the list: a bare JSON array, one GET without paging parameters
SELECT ld_clear_log();
SELECT key, id, name, provider, icon, global, params, custom_params, tags, version,
       cost_per_input_token, cost_per_output_token, cost_per_cached_input_token, is_restricted
  FROM ld.ai_model_configs ORDER BY key;
SELECT method, path, query, body FROM ld_requests();
-- attrs is the whole item
SELECT jsonb_pretty(attrs) FROM ld.ai_model_configs WHERE key = 'acme.support-llama';
SELECT * FROM explain_lines('SELECT key FROM ld.ai_model_configs');

-- key = x (and IN) read the item; an unknown key is no row
SELECT ld_clear_log();
SELECT key, name, cost_per_input_token FROM ld.ai_model_configs
 WHERE key IN ('OpenAI.gpt-4o-mini', 'no-such-model');
SELECT method, path, query FROM ld_requests();
SELECT * FROM explain_lines($$SELECT key FROM ld.ai_model_configs WHERE key = 'OpenAI.gpt-4o'$$);

-- INSERT -> POST .../model-configs with the API's field names
SELECT ld_clear_log();
INSERT INTO ld.ai_model_configs (key, id, name, provider, icon, params, custom_params, tags,
                                 cost_per_input_token, cost_per_output_token)
VALUES ('acme.triage-mistral', 'mistral-small-2501', 'Acme triage Mistral', 'Custom', 'mistral',
        '{"temperature": 0.1}', '{"endpoint": "https://llm.acme-support.example/mistral"}',
        '{self-hosted,triage}', 2e-07, 6e-07)
RETURNING key, id, global, version, is_restricted, cost_per_input_token,
          cost_per_cached_input_token, tags;
SELECT method, path, body, status FROM ld_requests();
-- a duplicate key: the API answers 400 (its spec declares no 409 here) -> 22023
SELECT ld_clear_log();
INSERT INTO ld.ai_model_configs (key, id, name) VALUES ('acme.triage-mistral', 'mistral-large', 'Again');
SELECT sqlstate_of($$INSERT INTO ld.ai_model_configs (key, id, name)
                     VALUES ('acme.triage-mistral', 'mistral-large', 'Again')$$);
SELECT method, path, body, status FROM ld_requests();

-- errors found before any request
SELECT ld_clear_log();
INSERT INTO ld.ai_model_configs (key, name) VALUES ('k', 'no id');
INSERT INTO ld.ai_model_configs (key, id, name) VALUES ('k', NULL, 'no id');
INSERT INTO ld.ai_model_configs (key, id, name, version) VALUES ('k', 'i', 'n', 2);
INSERT INTO ld.ai_model_configs (key, id, name, is_restricted) VALUES ('k', 'i', 'n', true);
UPDATE ld.ai_model_configs SET name = 'GPT-4o (2024-11)' WHERE key = 'OpenAI.gpt-4o';
UPDATE ld.ai_model_configs SET cost_per_input_token = 2e-06;
UPDATE ld.ai_model_configs SET is_restricted = true, tags = '{x}' WHERE key = 'OpenAI.gpt-4o';
SELECT count(*) AS requests FROM ld_requests();
-- NULL is neither in nor out of the list: an error at the row, after the read, before any write
UPDATE ld.ai_model_configs SET is_restricted = NULL WHERE key = 'OpenAI.gpt-4o';
SELECT method, path FROM ld_requests();

-- UPDATE ... SET is_restricted: ONE request for every row, whatever their number
SELECT * FROM explain_lines($$UPDATE ld.ai_model_configs SET is_restricted = true WHERE provider = 'OpenAI'$$);
SELECT ld_clear_log();
UPDATE ld.ai_model_configs SET is_restricted = true WHERE provider IN ('OpenAI', 'Custom')
RETURNING key, is_restricted, cost_per_input_token;
SELECT method, path, query, body, status FROM ld_requests();
SELECT key, is_restricted FROM ld.ai_model_configs ORDER BY key;
-- false -> one DELETE of the list with every key; the row count is the rows matched
SELECT ld_clear_log();
SELECT rows_affected($$UPDATE ld.ai_model_configs SET is_restricted = false
                       WHERE is_restricted AND key <> 'Anthropic.claude-3-5-haiku-latest'$$);
SELECT method, path, query, body, status FROM ld_requests();
SELECT key FROM ld.ai_model_configs WHERE is_restricted ORDER BY key;
-- rows set to different values: one POST (true) and one DELETE (false)
SELECT ld_clear_log();
UPDATE ld.ai_model_configs SET is_restricted = NOT is_restricted
 WHERE key IN ('Anthropic.claude-3-5-haiku-latest', 'OpenAI.gpt-4o-mini', 'acme.support-llama');
SELECT method, path, body, status FROM ld_requests();
SELECT key, is_restricted FROM ld.ai_model_configs ORDER BY key;
-- EXPLAIN ANALYZE counts the one request
SELECT * FROM explain_analyze($$UPDATE ld.ai_model_configs SET is_restricted = false
                                 WHERE key IN ('OpenAI.gpt-4o-mini', 'acme.support-llama')$$);

-- per-key errors: a key the API does not know when the request arrives (here
-- deleted by the same statement, whose DELETE runs before the UPDATE's one
-- request): the API applies the others; the ERROR names the refused key, its
-- row and the API's message, and says which keys stay applied
SELECT ld_clear_log();
WITH gone AS (DELETE FROM ld.ai_model_configs WHERE key = 'acme.triage-mistral')
UPDATE ld.ai_model_configs SET is_restricted = true
 WHERE key IN ('OpenAI.gpt-4o', 'acme.triage-mistral', 'OpenAI.gpt-4o-mini');
SELECT method, path, body, status FROM ld_requests();
SELECT key, is_restricted FROM ld.ai_model_configs ORDER BY key;
-- an answer where every key is refused (scripted), and a DELETE answered 404
SELECT ld_ctl('/_test/faults', '{"method": "POST", "path": "/model-configs/restricted$", "status": 200,
  "body": "{\"successes\": [], \"errors\": [{\"key\": \"Anthropic.claude-3-7-sonnet-latest\", \"code\": 403, \"message\": \"Global models cannot be restricted on this plan\"}, {\"key\": \"acme.support-llama\", \"code\": 403, \"message\": \"Global models cannot be restricted on this plan\"}]}"}');
UPDATE ld.ai_model_configs SET is_restricted = true
 WHERE key IN ('Anthropic.claude-3-7-sonnet-latest', 'acme.support-llama');
SELECT ld_ctl('/_test/faults', '{"method": "DELETE", "path": "/model-configs/restricted$", "status": 404,
  "body": "{\"code\": \"not_found\", \"message\": \"Model config not found: x\"}"}');
UPDATE ld.ai_model_configs SET is_restricted = false WHERE key = 'OpenAI.gpt-4o';
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');

-- dry run: the one call is shown, not sent; write_mode 'on_commit' is refused before any request
SELECT ld_clear_log();
SET ldai_fdw.dry_run = on;
UPDATE ld.ai_model_configs SET is_restricted = false WHERE provider = 'OpenAI' RETURNING key, is_restricted;
RESET ldai_fdw.dry_run;
SELECT method, path, query FROM ld_requests();
SELECT ld_clear_log();
ALTER FOREIGN TABLE ld.ai_model_configs OPTIONS (ADD write_mode 'on_commit');
UPDATE ld.ai_model_configs SET is_restricted = false WHERE provider = 'OpenAI';
ALTER FOREIGN TABLE ld.ai_model_configs OPTIONS (DROP write_mode);
SELECT method, path, query FROM ld_requests();

-- DELETE -> DELETE .../model-configs/{key}
SELECT ld_clear_log();
INSERT INTO ld.ai_model_configs (key, id, name) VALUES ('acme.tmp', 'tmp-1', 'Temporary');
DELETE FROM ld.ai_model_configs WHERE key = 'acme.tmp';
DELETE FROM ld.ai_model_configs WHERE key = 'acme.tmp';
SELECT method, path, body, status FROM ld_requests();

-- ---------------------------------------------------------------------------
-- ldai_result_costs(results, optimizations, model_configs [, only_optimization]):
-- the tables are named by the caller (regclass), so they may live in any
-- schema, and may even be local tables of the same columns.

-- the match rule on local tables of hand-made rows, in a schema of their own
CREATE SCHEMA costs_local;
CREATE TABLE costs_local.models (key text, id text, cost_per_input_token float8,
                                 cost_per_output_token float8);
INSERT INTO costs_local.models VALUES
  ('OpenAI.gpt-4o', 'gpt-4o', 2.5e-06, 1e-05),
  ('Azure.gpt-4o', 'gpt-4o', 2.75e-06, 1.1e-05),     -- the same provider id twice
  ('acme.llama', 'llama-3.1-70b', 9e-07, 9e-07),
  ('acme.noprice', 'np-1', NULL, NULL),
  ('mini', 'gpt-4o-mini', 1.5e-07, 6e-07),
  ('gpt-4o-mini', 'gpt-4o-mini-2024', 1e-06, 1e-06); -- a key equal to another's id
CREATE TABLE costs_local.opts (key text, judge_model text);
INSERT INTO costs_local.opts VALUES ('o1', 'llama-3.1-70b');
CREATE TABLE costs_local.results (optimization_key text, agent_optimization_version int, run_id uuid,
                                  id uuid, iteration int, status text, variation jsonb,
                                  generation_tokens jsonb, evaluation_tokens jsonb);
INSERT INTO costs_local.results VALUES
  ('o1', 1, 'aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000001', 1, 'PASSED',
   '{"modelConfigKey": "OpenAI.gpt-4o"}', '{"input": 1000, "output": 200, "total": 1200}',
   '{"j1": {"input": 500, "output": 100}, "j2": {"input": 300, "output": 50}}'),
  ('o1', 1, 'aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002', 2, 'FAILED',
   '{"modelConfigKey": "gpt-4o"}', '{"input": 10, "output": 10}', NULL),
  ('o1', 1, 'aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000003', 3, 'FAILED',
   '{"modelConfigKey": "llama-3.1-70b"}', '{"input": 100, "output": 100}', '{}'),
  ('o1', 1, 'aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000004', 4, 'FAILED',
   '{"modelConfigKey": "acme.noprice"}', '{"input": 5, "output": 0}', NULL),
  ('o1', 2, 'aaaaaaaa-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-000000000005', 1, 'RUNNING',
   '{}', NULL, NULL),
  ('o1', 2, 'aaaaaaaa-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-000000000006', 2, 'PASSED',
   '{"modelConfigKey": "gpt-4o-mini"}', '{"input": 1000, "output": 1000}', '{"j1": {"input": "12", "output": 7.0}}'),
  ('o2', 1, 'aaaaaaaa-0000-4000-8000-000000000003', 'bbbbbbbb-0000-4000-8000-000000000007', 1, 'FAILED',
   '{"modelConfigKey": "mini"}', '{"input": 100}', '{"j": {"input": 1, "output": 1}}');
-- by hand:
--  1: key OpenAI.gpt-4o: 1000 * 2.5e-06 + 200 * 1e-05 = 0.0045; judge llama-3.1-70b matches
--     acme.llama by id: (500 + 300) * 9e-07 + (100 + 50) * 9e-07 = 0.000855; total 0.005355
--  2: gpt-4o is no key and the id of two configs: no match, cost NULL
--  3: llama-3.1-70b is the id of acme.llama only: 200 * 9e-07 = 0.00018; no evaluation tokens: 0
--  4: acme.noprice has no price: NULL
--  5: no tokens: 0
--  6: gpt-4o-mini is a key (that key wins over mini's id): 2000 * 1e-06 = 0.002; the judge's
--     input "12" is not a number (0), output 7.0 is: 7 * 9e-07 = 0.0000063; total 0.0020063
--  7: mini by key: 100 * 1.5e-07 = 0.000015; o2 is not among the optimizations: no judge, NULL
SELECT result_id, generation_model AS gen, generation_model_config AS gen_config,
       generation_input_tokens AS gin, generation_output_tokens AS gout, generation_cost,
       evaluation_model AS judge, evaluation_model_config AS judge_config,
       evaluation_input_tokens AS ein, evaluation_output_tokens AS eout, evaluation_cost, total_cost
  FROM ldai_result_costs('costs_local.results', 'costs_local.opts', 'costs_local.models')
 ORDER BY result_id;

-- on the foreign tables: one result in detail (code-review-bot v2, iteration 29, PASSED;
-- its variation's modelConfigKey and the judge_model are Anthropic.claude-3-7-sonnet-latest,
-- 3e-06 in / 1.5e-05 out).  By hand: generation 1449 * 3e-06 + 359 * 1.5e-05 = 0.009732,
-- evaluation 1037 * 3e-06 + 379 * 1.5e-05 = 0.008796, total 0.018528.
SELECT ld_reset();
SELECT ld_clear_log();
SELECT c.iteration, c.status, c.generation_model_config, c.generation_input_tokens AS gin,
       c.generation_output_tokens AS gout, round(c.generation_cost::numeric, 6) AS generation_cost,
       c.evaluation_model_config, c.evaluation_input_tokens AS ein, c.evaluation_output_tokens AS eout,
       round(c.evaluation_cost::numeric, 6) AS evaluation_cost, round(c.total_cost::numeric, 6) AS total_cost,
       round(c.total_cost::numeric, 6) = 0.018528 AS as_by_hand
  FROM ldai_result_costs('ld.agent_optimization_results', 'ld.agent_optimizations',
                         'ld.ai_model_configs', 'code-review-bot') c
 WHERE c.result_id = '6de13c13-9f23-4fe9-8e04-f1cc6f54b221';
-- only_optimization reads that optimization alone
SELECT method, path, query FROM ld_requests() ORDER BY path, query;

-- the worked example of the README: cost per passed result per optimization version
-- (expected values computed independently from seed.py's data and prices)
SELECT ld_clear_log();
SELECT optimization_key, agent_optimization_version AS version,
       count(*) AS results,
       count(*) FILTER (WHERE status = 'PASSED') AS passed,
       count(*) FILTER (WHERE total_cost IS NULL) AS unpriced,
       round(sum(total_cost)::numeric, 6) AS total_usd,
       round((sum(total_cost) / nullif(count(*) FILTER (WHERE status = 'PASSED'), 0))::numeric, 6)
         AS usd_per_passed_result
  FROM ldai_result_costs('ld.agent_optimization_results', 'ld.agent_optimizations',
                         'ld.ai_model_configs')
 GROUP BY 1, 2
 ORDER BY 1, 2;
SELECT method, path, query FROM ld_requests() ORDER BY path, query;

-- a view over the function keeps working, and depends on the tables it names
CREATE VIEW costs_local.result_costs AS
  SELECT * FROM ldai_result_costs('costs_local.results', 'costs_local.opts', 'costs_local.models');
SELECT count(*), round(sum(total_cost)::numeric, 7) FROM costs_local.result_costs;
DROP TABLE costs_local.models;
DROP SCHEMA costs_local CASCADE;
