-- The rest of the AI Config API (issue 16), part 2: tables under a parent
-- (snippet_key, tool_key, graph_key, config_key + variation_key), the parent
-- enumerated when no key is given; targeting as one row per environment.
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();
CREATE SERVER ld_kids FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '2', max_concurrency '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_kids OPTIONS (api_key :'ldkey');
CREATE SCHEMA kid;
SELECT ld_clear_log();
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_prompt_snippet_versions, ai_prompt_snippet_references,
  ai_tool_versions, ai_tool_references, ai_agent_graph_edges, ai_config_variation_versions,
  ai_config_targeting) FROM SERVER ld_kids INTO kid;
SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_schema = 'kid'
 GROUP BY table_name ORDER BY table_name;
SELECT count(*) AS requests FROM ld_requests();

-- ------------------------------------------------------- snippet versions
-- one snippet: its versions, newest first, in pages of 2
SELECT ld_clear_log();
SELECT snippet_key, key, name, description, text, tags, version, created_at
  FROM kid.ai_prompt_snippet_versions WHERE snippet_key = 'brand-voice';
SELECT method, path, query, status FROM ld_requests();
-- escaped key; an unknown one is no rows
SELECT ld_clear_log();
SELECT snippet_key, version, attrs->>'text' AS text FROM kid.ai_prompt_snippet_versions
 WHERE snippet_key IN ('pii/redact?all=1%', 'nope');
SELECT method, path, query, status FROM ld_requests();
-- no snippet_key: the snippets are listed, then each one's versions
SELECT ld_clear_log();
SELECT snippet_key, count(*), max(version) FROM kid.ai_prompt_snippet_versions GROUP BY 1 ORDER BY 1;
SELECT method, path, query, status FROM ld_requests();

-- ----------------------------------------------------- snippet references
SELECT ld_clear_log();
SELECT snippet_key, ai_config_key, ai_config_name, variation_key, variation_name,
       variation_id IS NOT NULL AS has_id, resource_version
  FROM kid.ai_prompt_snippet_references WHERE snippet_key = 'brand-voice';
SELECT method, path, query, status FROM ld_requests();
SELECT snippet_key, ai_config_key, variation_key, resource_version, attrs ? 'variationId' AS whole
  FROM kid.ai_prompt_snippet_references WHERE snippet_key <> 'brand-voice';

-- ------------------------------------------------------------------ tools
SELECT ld_clear_log();
SELECT tool_key, key, description, schema, custom_parameters, tags, version, created_at
  FROM kid.ai_tool_versions WHERE tool_key = 'lookup-order';
SELECT tool_key, ai_config_key, ai_config_name, variation_key, variation_name, tool_version
  FROM kid.ai_tool_references ORDER BY tool_key, ai_config_key, variation_key;
SELECT method, path, query, status FROM ld_requests();
SELECT ld_clear_log();
SELECT tool_key, version FROM kid.ai_tool_versions WHERE tool_key = 'run/sql?safe=1%';
SELECT count(*) FROM kid.ai_tool_references WHERE tool_key = 'nope';
SELECT method, path, query, status FROM ld_requests();

-- ------------------------------------------------------------ graph edges
-- one graph: one GET (beta)
SELECT ld_clear_log();
SELECT graph_key, key, source_config, target_config, handoff, attrs
  FROM kid.ai_agent_graph_edges WHERE graph_key = 'support-flow';
SELECT method, path, query, headers->>'ld-api-version' AS api_version, status FROM ld_requests();
-- every graph: the list, then one GET per graph, all with the beta header
SELECT ld_clear_log();
SELECT graph_key, key, source_config, target_config FROM kid.ai_agent_graph_edges;
SELECT method, path, query, headers->>'ld-api-version' AS api_version, status FROM ld_requests();
SELECT ld_clear_log();
SELECT count(*) FROM kid.ai_agent_graph_edges WHERE graph_key = 'nope';
SELECT method, path, headers->>'ld-api-version' AS api_version, status FROM ld_requests();

-- ----------------------------------------------------- variation versions
SELECT ld_clear_log();
SELECT config_key, variation_key, id IS NOT NULL AS has_id, key, name, model, model_config_key,
       version, state, instructions, messages, tools, judge_configuration, created_at
  FROM kid.ai_config_variation_versions
 WHERE config_key = 'support-triage-agent' AND variation_key = 'baseline';
SELECT method, path, query, status FROM ld_requests();
-- variation_key alone: every AI Config is asked (404: that one has none)
SELECT ld_clear_log();
SELECT config_key, variation_key, version, name FROM kid.ai_config_variation_versions
 WHERE variation_key = 'default';
SELECT method, path, query, status FROM ld_requests();
-- without variation_key: an error before any request
SELECT ld_clear_log();
SELECT count(*) FROM kid.ai_config_variation_versions WHERE config_key = 'ticket-summarizer';
SELECT count(*) AS requests FROM ld_requests();

-- -------------------------------------------------------------- targeting
SELECT ld_clear_log();
SELECT config_key, env, environment_name, version, enabled, off_variation, fallthrough, rules,
       targets, context_targets, track_events, last_modified
  FROM kid.ai_config_targeting WHERE config_key = 'ops/triage?v=2%';
SELECT method, path, query, status FROM ld_requests();
SELECT env, attrs FROM kid.ai_config_targeting WHERE config_key = 'support-triage-agent' AND env = 'test';
-- every AI Config: listed, then one GET each
SELECT ld_clear_log();
SELECT config_key, env, enabled FROM kid.ai_config_targeting WHERE env = 'production';
SELECT method, path, query, status FROM ld_requests();
-- the config_key table option fixes the AI Config; a 404 for it is an error
CREATE FOREIGN TABLE kid.triage_targeting (config_key text, env text, enabled boolean)
  SERVER ld_kids OPTIONS (resource 'ai_config_targeting', config_key 'support-triage-agent');
SELECT * FROM kid.triage_targeting;
ALTER FOREIGN TABLE kid.triage_targeting OPTIONS (SET config_key 'gone');
SELECT * FROM kid.triage_targeting;
-- read-only
INSERT INTO kid.ai_config_targeting (config_key, env) VALUES ('x', 'y');
UPDATE kid.ai_config_targeting SET enabled = false WHERE config_key = 'ticket-summarizer';
DELETE FROM kid.ai_agent_graph_edges WHERE graph_key = 'support-flow';
SELECT table_name, is_insertable_into FROM information_schema.tables
 WHERE table_schema = 'kid' AND table_name LIKE 'ai_%' ORDER BY 1;

-- ------------------------------------------------- questions (README)
-- which AI Config variations break if I change this snippet
SELECT r.ai_config_key, r.variation_key, v.state, r.resource_version AS uses_version,
       s.version AS current_version
  FROM kid.ai_prompt_snippet_references r
  JOIN ld.ai_config_variations v ON v.config_key = r.ai_config_key AND v.key = r.variation_key
  JOIN ld.ai_prompt_snippets s ON s.key = r.snippet_key
 WHERE r.snippet_key = 'escalation-policy'
 ORDER BY 1, 2;
-- diff the instructions of two versions of a variation (an UPDATE makes a new version)
UPDATE ld.ai_config_variations SET instructions = 'Classify the ticket. Mirror the customer''s language.'
 WHERE config_key = 'support-triage-agent' AND key = 'legacy-gpt35';
SELECT a.version AS from_version, b.version AS to_version,
       a.instructions AS before, b.instructions AS after
  FROM kid.ai_config_variation_versions a
  JOIN kid.ai_config_variation_versions b
    ON b.config_key = a.config_key AND b.variation_key = a.variation_key AND b.version = a.version + 1
 WHERE a.config_key = 'support-triage-agent' AND a.variation_key = 'legacy-gpt35'
   AND a.instructions IS DISTINCT FROM b.instructions
 ORDER BY 1;
-- graphs whose edges point at an AI Config with an archived variation
SELECT DISTINCT e.graph_key, e.key AS edge, e.target_config, v.key AS archived_variation
  FROM kid.ai_agent_graph_edges e
  JOIN ld.ai_config_variations v ON v.config_key = e.target_config
 WHERE v.state = 'archived'
 ORDER BY 1, 2;

SET client_min_messages = warning;
DROP SCHEMA kid CASCADE;
DROP SERVER ld_kids CASCADE;
RESET client_min_messages;
SELECT ld_reset();
