-- Keys as catalog data (issue 15): the config_key table option, and the AI
-- Config metrics tables (ai_config_metrics, ai_config_variation_metrics,
-- ai_config_quick_stats) with their windows, buckets and errors.
SELECT ld_reset();

-- 1. config_key fixes the parent AI Config of ai_config_variations: one GET
--    of that AI Config, its variations as rows
CREATE FOREIGN TABLE sta_variations (config_key text, key text, name text) SERVER ld
  OPTIONS (resource 'ai_config_variations', config_key 'support-triage-agent');
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sta_variations;
SELECT ld_clear_log();
SELECT config_key, key FROM sta_variations ORDER BY key;
SELECT method, path, query FROM ld_requests();
-- a config_key condition too: checked locally against the option's rows
SELECT ld_clear_log();
SELECT count(1) FROM sta_variations WHERE config_key = 'code-review-assistant';
SELECT method, path, query FROM ld_requests();
-- an AI Config the option names that does not exist: an error naming it
ALTER FOREIGN TABLE sta_variations OPTIONS (SET config_key 'no-such-config');
SELECT * FROM sta_variations;
-- ... also with a local condition: one GET, the 404 names the option
SELECT ld_clear_log();
SELECT * FROM sta_variations WHERE key = 'baseline';
SELECT method, path, query, status FROM ld_requests();

-- 2. validated like optimization_key, refused where the resource has no such key
CREATE FOREIGN TABLE bad_ck1 (key text) SERVER ld
  OPTIONS (resource 'ai_config_variations', config_key '..');
CREATE FOREIGN TABLE bad_ck2 (key text) SERVER ld
  OPTIONS (resource 'ai_configs', config_key 'support-triage-agent');
CREATE FOREIGN TABLE bad_ck3 (key text) SERVER ld
  OPTIONS (resource 'agent_optimizations', optimization_key 'support-triage');
ALTER FOREIGN TABLE sta_variations OPTIONS (ADD optimization_key 'support-triage');
DROP FOREIGN TABLE sta_variations;
