-- Every column of every table, with its type and value, read through the FDW;
-- and the requests that produced them.
SELECT ld_reset();
\x on

-- ai_configs: a member maintainer, tags, timestamps (epoch ms -> timestamptz)
SELECT *, pg_typeof(tags) AS tags_type, pg_typeof(created_at) AS created_type,
       pg_typeof(version) AS version_type, pg_typeof(is_inverted) AS inverted_type
  FROM (SELECT key, name, description, mode, tags, version, evaluation_metric_key,
               is_inverted, maintainer, maintainer_id, maintainer_team_key,
               jsonb_array_length(variations) AS n_variations, dependencies,
               created_at, updated_at, attrs->>'key' AS attrs_key,
               attrs ? '_links' AS attrs_has_links
          FROM ld.ai_configs WHERE key = 'support-triage-agent') c;
-- unicode, a team maintainer, empty tags, absent optional fields are NULL
SELECT key, name, description, tags, maintainer, maintainer_id, maintainer_team_key,
       evaluation_metric_key, is_inverted, dependencies
  FROM ld.ai_configs WHERE key IN ('resume-screener', 'ticket-summarizer', 'answer-quality-judge')
 ORDER BY key;

-- ai_config_variations: one row per embedded variation
SELECT * FROM ld.ai_config_variations
 WHERE config_key = 'support-triage-agent' AND key = 'concise-claude';
SELECT config_key, key, messages, instructions IS NULL AS no_instructions
  FROM ld.ai_config_variations WHERE config_key = 'ticket-summarizer' ORDER BY key;

-- agent_optimizations
SELECT * FROM ld.agent_optimizations WHERE key = 'support-triage';
SELECT key, metric_key, token_limit, variation_key, label, latency_optimization,
       token_optimization, auto_commit
  FROM ld.agent_optimizations ORDER BY key;

-- agent_optimization_runs: completed_at is NULL for a running run
SELECT optimization_key, status, activity, count(*) AS runs,
       count(completed_at) AS completed, min(agent_optimization_version) AS min_v,
       max(agent_optimization_version) AS max_v
  FROM ld.agent_optimization_runs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT pg_typeof(run_id) AS run_id_type, pg_typeof(agent_optimization_id) AS opt_id_type,
       pg_typeof(completed_at) AS completed_type
  FROM ld.agent_optimization_runs LIMIT 1;

-- agent_optimization_results: nested maps as jsonb, uuids, latencies
SELECT optimization_key, id, run_id, agent_optimization_id, agent_optimization_version,
       status, activity, iteration, user_input, parameters, completion_response,
       scores, generation_tokens, evaluation_tokens, generation_latency,
       evaluation_latencies, created_variation_key, created_at, updated_at, completed_at,
       variation->>'modelConfigKey' AS variation_model, length(instructions) > 0 AS has_instructions,
       attrs->>'id' = id::text AS attrs_is_item
  FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' AND iteration = 2
 ORDER BY created_at LIMIT 1;
-- unicode, quotes and a backslash survive
SELECT DISTINCT user_input FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' AND (user_input ~ '[^\x01-\x7e]' OR user_input LIKE '%\\%')
 ORDER BY 1;
-- a result still running has no completed_at
SELECT status, activity, completed_at IS NULL AS not_completed, count(*)
  FROM ld.agent_optimization_results WHERE optimization_key = 'code-review-bot'
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- latest results: one per run
SELECT optimization_key, count(*) AS latest, count(DISTINCT run_id) AS runs
  FROM ld.agent_optimization_latest_results GROUP BY 1 ORDER BY 1;
\x off

-- the requests behind all of the above: auth, user agent, compression
SELECT method, path, query, status FROM ld_requests();
SELECT DISTINCT headers->>'authorization' AS auth, headers->>'user-agent' AS agent,
       headers->>'accept' AS accept, headers->>'accept-encoding' LIKE '%gzip%' AS gzip,
       headers ? 'ld-api-version' AS version_header
  FROM ld_requests();

-- a user's own table: any column may be text or jsonb, bigint keeps epoch ms,
-- a dotted field path reaches inside an object, unknown fields are camelCase
CREATE FOREIGN TABLE my_configs (
  key text,
  version text,
  tags jsonb,
  created_at bigint,
  maintainer_email text OPTIONS (field '_maintainer.email'),
  maintainer_kind text OPTIONS (field '_maintainer.kind'),
  evaluation_metric_keys text[],
  "updatedAt" timestamptz,
  no_such_field text
) SERVER ld OPTIONS (resource 'ai_configs');
SELECT * FROM my_configs ORDER BY key;

-- a value that does not fit the column: an error naming column, field and value
CREATE FOREIGN TABLE bad_types (key integer) SERVER ld OPTIONS (resource 'ai_configs');
SELECT * FROM bad_types;
CREATE FOREIGN TABLE bad_types2 (key text, tags integer) SERVER ld OPTIONS (resource 'ai_configs');
SELECT * FROM bad_types2;
CREATE FOREIGN TABLE bad_types3 (key text, created_at uuid) SERVER ld OPTIONS (resource 'ai_configs');
SELECT * FROM bad_types3;
-- the session keeps working
SELECT count(*) FROM my_configs;
DROP FOREIGN TABLE my_configs, bad_types, bad_types2, bad_types3;
