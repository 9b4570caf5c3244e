-- Options: validated at CREATE/ALTER time with errors that list the valid
-- choices; api_key only in a user mapping; table options override server ones.
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();

-- bad values and unknown options, each with the valid choices
CREATE SERVER bad1 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (page_size '0');
CREATE SERVER bad2 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (page_size '1001');
CREATE SERVER bad3 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (page_size 'ten');
CREATE SERVER bad4 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'ftp://x');
CREATE SERVER bad5 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://app.launchdarkly.com/api/v2');
CREATE SERVER bad6 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://user:pw@example.com');
CREATE SERVER bad7 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (timeout_ms '-5');
CREATE SERVER bad8 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (max_retries '11');
CREATE SERVER bad9 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (projectkey 'default');
CREATE SERVER bad10 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (project_key '');
-- api_key belongs in a user mapping only
CREATE SERVER bad11 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (api_key 'not-a-real-key');
-- bad values of the performance and planner options
CREATE SERVER bad12 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (max_concurrency '17');
CREATE SERVER bad13 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (request_cost 'cheap');
CREATE SERVER bad14 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (use_remote_estimate 'maybe');
CREATE SERVER bad15 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (batch_size '0');
-- a good server; ALTER is validated too
CREATE SERVER good FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url 'https://app.launchdarkly.com', project_key 'default',
           page_size '50', timeout_ms '5000', connect_timeout_ms '1000', max_retries '0');
ALTER SERVER good OPTIONS (SET page_size '2000');
ALTER SERVER good OPTIONS (ADD optimization_key 'x');
CREATE USER MAPPING FOR CURRENT_USER SERVER good OPTIONS (apikey 'x');
CREATE USER MAPPING FOR CURRENT_USER SERVER good OPTIONS (api_key '');
-- table and column options
CREATE FOREIGN TABLE bad_t1 (key text) SERVER good OPTIONS (resource 'flags');
CREATE FOREIGN TABLE bad_t2 (key text) SERVER good OPTIONS (resource 'ai_configs', page_size '5');
CREATE FOREIGN TABLE bad_t3 (key text OPTIONS (json 'key')) SERVER good OPTIONS (resource 'ai_configs');
CREATE FOREIGN TABLE bad_t4 (key text) SERVER good OPTIONS (resource 'ai_configs', api_key 'x');
DROP SERVER good;

-- plain http is for loopback only, unless a superuser sets it
CREATE ROLE ldai_plain_user;
GRANT USAGE ON FOREIGN DATA WRAPPER ldai_fdw TO ldai_plain_user;
SET ROLE ldai_plain_user;
CREATE SERVER plain_remote FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://example.com');
CREATE SERVER plain_local FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://127.0.0.1:1');
DROP SERVER plain_local;
RESET ROLE;
CREATE SERVER plain_super FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://example.com');
DROP SERVER plain_super;
REVOKE USAGE ON FOREIGN DATA WRAPPER ldai_fdw FROM ldai_plain_user;
DROP ROLE ldai_plain_user;

-- the api_key is shown only to its user and superusers (pg_user_mappings)
CREATE ROLE ldai_key_owner;
CREATE ROLE ldai_other;
GRANT USAGE ON FOREIGN SERVER ld TO ldai_key_owner, ldai_other;
CREATE USER MAPPING FOR ldai_key_owner SERVER ld OPTIONS (api_key 'not-a-real-key');
SET ROLE ldai_other;
SELECT usename, umoptions FROM pg_user_mappings WHERE usename = 'ldai_key_owner';
RESET ROLE;
DROP USER MAPPING FOR ldai_key_owner SERVER ld;
REVOKE USAGE ON FOREIGN SERVER ld FROM ldai_key_owner, ldai_other;
DROP ROLE ldai_key_owner, ldai_other;

-- missing options are reported when the table is used, naming what to set
CREATE FOREIGN TABLE no_resource (key text) SERVER ld;
SELECT * FROM no_resource;
DROP FOREIGN TABLE no_resource;
CREATE SERVER nokey FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url :'ldurl', project_key 'default');
CREATE FOREIGN TABLE nokey_configs (key text) SERVER nokey OPTIONS (resource 'ai_configs');
-- no user mapping: PostgreSQL's own error, undefined_object (its wording names
-- the server from PostgreSQL 17 on)
SELECT sqlstate_of('SELECT * FROM nokey_configs') AS no_user_mapping;
CREATE USER MAPPING FOR CURRENT_USER SERVER nokey OPTIONS (api_key 'wrong-key');
SELECT * FROM nokey_configs;
DROP SERVER nokey CASCADE;
CREATE SERVER noproject FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url :'ldurl');
CREATE FOREIGN TABLE noproject_configs (key text) SERVER noproject OPTIONS (resource 'ai_configs');
SELECT * FROM noproject_configs;
DROP SERVER noproject CASCADE;

-- a table's project_key overrides the server's
CREATE FOREIGN TABLE empty_configs (key text) SERVER ld
  OPTIONS (resource 'ai_configs', project_key 'empty-project');
SELECT * FROM empty_configs;
-- a project the options fix that does not exist: an error naming it
CREATE FOREIGN TABLE missing_configs (key text) SERVER ld
  OPTIONS (resource 'ai_configs', project_key 'no-such-project');
SELECT * FROM missing_configs;
-- an optimization the table fixes that does not exist: an error naming it
CREATE FOREIGN TABLE missing_runs (run_id uuid) SERVER ld
  OPTIONS (resource 'agent_optimization_runs', optimization_key 'no-such-opt');
SELECT * FROM missing_runs;
-- the table's optimization_key fixes the parent
CREATE FOREIGN TABLE crb_runs (optimization_key text, run_id uuid, status text) SERVER ld
  OPTIONS (resource 'agent_optimization_runs', optimization_key 'code-review-bot');
SELECT ld_clear_log();
SELECT count(*), min(optimization_key), max(optimization_key) FROM crb_runs;
SELECT method, path, query FROM ld_requests();
DROP FOREIGN TABLE empty_configs, missing_configs, missing_runs, crb_runs;
SELECT method, path, query, status, headers->>'authorization' AS auth FROM ld_requests();

-- ALTER SERVER takes effect at once (the cached connection is invalidated)
CREATE SERVER moved FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://127.0.0.1:1', project_key 'default', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER moved OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE moved_configs (key text) SERVER moved OPTIONS (resource 'ai_configs');
\set VERBOSITY terse
SELECT count(*) FROM moved_configs;
\set VERBOSITY default
ALTER SERVER moved OPTIONS (SET base_url :'ldurl');
SELECT count(*) FROM moved_configs;
DROP SERVER moved CASCADE;
