-- The upgrade path: a database on ldai_fdw 1.0 (the released script) with a
-- server, a user mapping and foreign tables goes to the current version with
-- ALTER EXTENSION ... UPDATE, keeps working, and ends up with the same
-- objects as a fresh CREATE EXTENSION (this database, from setup).
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SELECT current_database() AS regress_db \gset
SELECT ld_reset();

-- what this installation offers
SELECT version, installed FROM pg_available_extension_versions
 WHERE name = 'ldai_fdw' ORDER BY version;
SELECT source, target, path FROM pg_extension_update_paths('ldai_fdw') ORDER BY 1, 2;
SELECT extversion FROM pg_extension WHERE extname = 'ldai_fdw';

-- a fresh database on 1.0, set up as a user of 1.0 would
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ldai_upgrade;
RESET client_min_messages;
CREATE DATABASE ldai_upgrade;
\c ldai_upgrade
CREATE EXTENSION ldai_fdw VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'ldai_fdw';
CREATE SERVER ld FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '100', max_concurrency '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld OPTIONS (api_key :'ldkey');
CREATE SCHEMA ld;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_configs, agent_optimization_results)
  FROM SERVER ld INTO ld;
-- a table declared by hand, with fewer columns
CREATE FOREIGN TABLE my_optimizations (key text, ai_config_key text, version int)
  SERVER ld OPTIONS (resource 'agent_optimizations');
SELECT key, version FROM ld.ai_configs WHERE key = 'ticket-summarizer';

-- the update
ALTER EXTENSION ldai_fdw UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'ldai_fdw';

-- everything made under 1.0 works on the updated install
SELECT key, version FROM ld.ai_configs WHERE key = 'ticket-summarizer';
SELECT key, ai_config_key, version FROM my_optimizations LIMIT 3;
SELECT iteration, status FROM ld.agent_optimization_results
 WHERE optimization_key = 'support-triage' LIMIT 2 OFFSET 5;
-- new tables can be imported and options validated as before
IMPORT FOREIGN SCHEMA "default" LIMIT TO (agent_optimizations) FROM SERVER ld INTO ld;
SELECT count(*) > 0 AS has_rows FROM ld.agent_optimizations;
ALTER SERVER ld OPTIONS (SET page_size '0');
-- the objects the extension owns, as updated (but row types: PostgreSQL 18
-- records a view's row type as a member too, earlier versions do not)
SELECT string_agg(pg_describe_object(classid, objid, objsubid), '; '
                  ORDER BY pg_describe_object(classid, objid, objsubid)) AS upgraded_objects
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e' AND classid <> 'pg_type'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ldai_fdw') \gset
\echo :upgraded_objects

-- back in the regression database: the requests the updated install sent,
-- and the same objects as a fresh install of the current version
\c :regress_db
SELECT method, path, query, headers->>'user-agent' AS user_agent,
       headers ? 'authorization' AS has_key
  FROM ld_requests();
SELECT string_agg(pg_describe_object(classid, objid, objsubid), '; '
                  ORDER BY pg_describe_object(classid, objid, objsubid)) = :'upgraded_objects'
       AS same_objects_as_fresh_install
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e' AND classid <> 'pg_type'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ldai_fdw');
DROP DATABASE ldai_upgrade;
