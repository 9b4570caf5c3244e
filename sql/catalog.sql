-- The rest of the AI Config API as tables (issue 16): prompt snippets, AI
-- tools, agent graphs.  Every column against the stand-in, the requests each
-- query sends (paging, item GETs, the beta header) and every write's exact
-- method, path and body.
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();

-- IMPORT creates the tables, with no request
SELECT ld_clear_log();
CREATE SCHEMA cat_imp;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_prompt_snippets, ai_tools, ai_agent_graphs)
  FROM SERVER ld INTO cat_imp;
SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_schema = 'cat_imp'
 GROUP BY table_name ORDER BY table_name;
SELECT c.relname, array_to_string(ft.ftoptions, ', ') AS options
  FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
 WHERE c.relnamespace = 'cat_imp'::regnamespace ORDER BY 1;
CREATE SCHEMA cat_exc;
IMPORT FOREIGN SCHEMA "default" EXCEPT (ai_prompt_snippets, ai_agent_graphs)
  FROM SERVER ld INTO cat_exc;
SELECT relname FROM pg_class WHERE relnamespace = 'cat_exc'::regnamespace
   AND relname IN ('ai_prompt_snippets', 'ai_tools', 'ai_agent_graphs') ORDER BY 1;
SELECT count(*) AS requests FROM ld_requests();

-- a server with small pages, to see paging
CREATE SERVER ld_small FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '2', max_concurrency '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_small OPTIONS (api_key :'ldkey');
CREATE SCHEMA cat;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_prompt_snippets, ai_tools, ai_agent_graphs)
  FROM SERVER ld_small INTO cat;

-- ---------------------------------------------------------------- snippets
-- every column; 5 snippets in pages of 2
SELECT ld_clear_log();
SELECT key, name, description, text, tags, version, maintainer_id, maintainer_team_key,
       maintainer->>'kind' AS maintainer_kind, created_at
  FROM cat.ai_prompt_snippets;
SELECT method, path, query, status FROM ld_requests();
SELECT key, attrs - '_links' AS attrs, maintainer FROM cat.ai_prompt_snippets WHERE key = 'brand-voice';
-- key = x: the item GET, escaped
SELECT ld_clear_log();
SELECT key, name, text FROM cat.ai_prompt_snippets WHERE key = 'pii/redact?all=1%';
SELECT key, name FROM cat.ai_prompt_snippets WHERE key IN ('refund-rules', 'nope', 'brand-voice');
SELECT method, path, query, status FROM ld_requests();

-- writes: exact bodies
SELECT ld_clear_log();
INSERT INTO cat.ai_prompt_snippets (key, name, text, description, tags, maintainer_team_key)
  VALUES ('tone/é?x=1%', 'Ton — 语气', 'Soyez bref.', 'Unicode and escaping', '{style,i18n}', 'ai-platform')
  RETURNING key, name, text, tags, version, maintainer_team_key, created_at;
UPDATE cat.ai_prompt_snippets SET text = 'Soyez très bref.', tags = '{style}'
 WHERE key = 'tone/é?x=1%' RETURNING key, text, tags, version;
UPDATE cat.ai_prompt_snippets SET description = 'changed' WHERE name = 'Ton — 语气';
DELETE FROM cat.ai_prompt_snippets WHERE key = 'tone/é?x=1%';
SELECT method, path, body, status FROM ld_requests() WHERE method <> 'GET';
-- required columns are checked before any request; a duplicate is 23505 (409)
SELECT ld_clear_log();
INSERT INTO cat.ai_prompt_snippets (key, name) VALUES ('x', 'X');
INSERT INTO cat.ai_prompt_snippets (key, name, text) VALUES ('brand-voice', 'B', 'T');
UPDATE cat.ai_prompt_snippets SET version = 9 WHERE key = 'brand-voice';
SELECT method, path, body, status FROM ld_requests();

-- ------------------------------------------------------------------- tools
SELECT ld_clear_log();
SELECT key, description, schema, custom_parameters, tags, version, maintainer_id,
       maintainer_team_key, created_at
  FROM cat.ai_tools;
SELECT method, path, query, status FROM ld_requests();
SELECT key, attrs - '_links' AS attrs FROM cat.ai_tools WHERE key = 'run/sql?safe=1%';
SELECT ld_clear_log();
INSERT INTO cat.ai_tools (key, schema, custom_parameters, description)
  VALUES ('get-weather', '{"type":"object","properties":{"city":{"type":"string"}}}',
          '{"units":"metric"}', 'Météo 🌦')
  RETURNING key, schema, version;
UPDATE cat.ai_tools SET schema = '{"type":"object"}', maintainer_id = '65f1c2a9e4b0a1d2c3f40011'
 WHERE key = 'get-weather' RETURNING key, version, maintainer_id;
DELETE FROM cat.ai_tools WHERE key = 'get-weather';
SELECT method, path, body, status FROM ld_requests();
-- required: schema; a duplicate key is a 400 from the API: 22023
SELECT ld_clear_log();
INSERT INTO cat.ai_tools (key) VALUES ('no-schema');
SELECT sqlstate_of($$INSERT INTO cat.ai_tools (key, schema) VALUES ('lookup-order', '{}')$$);
SELECT method, path, body, status FROM ld_requests();

-- ------------------------------------------------------------ agent graphs
-- without edges: the list only, each request with the beta header
SELECT ld_clear_log();
SELECT key, name, description, root_config_key, maintainer_id, maintainer_team_key,
       created_at, updated_at
  FROM cat.ai_agent_graphs;
SELECT method, path, query, headers->>'ld-api-version' AS api_version, status FROM ld_requests();
-- edges are only in the item: one GET per graph
SELECT ld_clear_log();
SELECT key, root_config_key, jsonb_array_length(edges) AS edges, edges->0->>'key' AS first_edge
  FROM cat.ai_agent_graphs;
SELECT method, path, query, headers->>'ld-api-version' AS api_version, status FROM ld_requests();
EXPLAIN (VERBOSE, COSTS OFF) SELECT key, edges FROM cat.ai_agent_graphs;
EXPLAIN (VERBOSE, COSTS OFF) SELECT key, name FROM cat.ai_agent_graphs;
-- key = x: the item alone
SELECT ld_clear_log();
SELECT key, edges, attrs->'edges' = edges AS same FROM cat.ai_agent_graphs WHERE key = 'support-flow';
SELECT key FROM cat.ai_agent_graphs WHERE key = 'nope';
SELECT method, path, headers->>'ld-api-version' AS api_version, status FROM ld_requests();
-- item GETs sent concurrently (max_concurrency 4), rows in list order
ALTER FOREIGN TABLE cat.ai_agent_graphs OPTIONS (ADD max_concurrency '4');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/agent-graphs/[^/]+$", "delay_ms": 300, "times": 3}');
SELECT ld_clear_log();
SELECT key, jsonb_array_length(edges) AS edges FROM cat.ai_agent_graphs;
SELECT count(*) AS item_gets, count(DISTINCT conn) > 1 AS concurrent,
       bool_and(headers->>'ld-api-version' = 'beta') AS beta
  FROM ld_requests() WHERE path ~ '/agent-graphs/';
-- a graph deleted between the list and its item GET is no row
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/agent-graphs/pr-review-pipeline$", "status": 404}');
SELECT key FROM cat.ai_agent_graphs WHERE edges IS NOT NULL OR key <> '';
ALTER FOREIGN TABLE cat.ai_agent_graphs OPTIONS (DROP max_concurrency);
-- a user-declared table without edges reads the list only
CREATE FOREIGN TABLE cat.graph_names (key text, name text) SERVER ld_small
  OPTIONS (resource 'ai_agent_graphs');
SELECT ld_clear_log();
SELECT * FROM cat.graph_names;
SELECT method, path, query FROM ld_requests();

-- writes, every one with the beta header
SELECT ld_clear_log();
INSERT INTO cat.ai_agent_graphs (key, name, description, root_config_key, edges, maintainer_team_key)
  VALUES ('new/graph?é%', 'Nouveau graphe', 'd', 'ticket-summarizer',
          '[{"key":"s-to-j","sourceConfig":"ticket-summarizer","targetConfig":"answer-quality-judge"}]',
          'support-ops')
  RETURNING key, name, root_config_key, edges, maintainer_team_key, created_at, updated_at;
INSERT INTO cat.ai_agent_graphs (key, name) VALUES ('meta-only', 'Metadata only')
  RETURNING key, root_config_key, edges;
-- name only: no edges read, one PATCH
UPDATE cat.ai_agent_graphs SET name = 'Renamed' WHERE key = 'meta-only';
-- the root alone: the current edges go along (read with the row)
UPDATE cat.ai_agent_graphs SET root_config_key = 'resume-screener' WHERE key = 'new/graph?é%'
  RETURNING key, root_config_key, edges;
-- the edges alone: the current root goes along
UPDATE cat.ai_agent_graphs SET edges = '[]' WHERE key = 'new/graph?é%' RETURNING root_config_key, edges;
-- both: no read needed
UPDATE cat.ai_agent_graphs SET root_config_key = 'ticket-summarizer',
       edges = '[{"key":"e","sourceConfig":"ticket-summarizer","targetConfig":"resume-screener"}]'
 WHERE key = 'meta-only';
DELETE FROM cat.ai_agent_graphs WHERE key IN ('new/graph?é%', 'meta-only');
SELECT method, path, body, headers->>'ld-api-version' AS api_version, status
  FROM ld_requests() ORDER BY seq;
-- the root without edges: an error before any request; both or neither
SELECT ld_clear_log();
INSERT INTO cat.ai_agent_graphs (key, name, root_config_key) VALUES ('g', 'G', 'ticket-summarizer');
UPDATE cat.ai_agent_graphs SET root_config_key = 'ticket-summarizer' WHERE key = 'draft/graph?x=1%';
SELECT method, path, body FROM ld_requests() WHERE method <> 'GET';
-- a duplicate key is a 400 from the API: 22023
SELECT sqlstate_of($$INSERT INTO cat.ai_agent_graphs (key, name) VALUES ('support-flow', 'S')$$);
-- EXPLAIN: an UPDATE of the root alone is not sent directly (the edges are read first)
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE cat.ai_agent_graphs SET root_config_key = 'x' WHERE key = 'support-flow';
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE cat.ai_agent_graphs SET name = 'x' WHERE key = 'support-flow';

SET client_min_messages = warning;
DROP SCHEMA cat_imp, cat_exc CASCADE;
RESET client_min_messages;
SELECT ld_reset();
