-- What happens when LaunchDarkly misbehaves: each fault of the stand-in's
-- hooks, retried or failing with a clear error and the stated SQLSTATE; the
-- session keeps working.
SELECT ld_reset();

-- malformed JSON: an error naming the request (not retried)
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "malformed": true}');
SELECT key FROM ld.ai_configs;
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "malformed": true}');
SELECT sqlstate_of('SELECT key FROM ld.ai_configs');
-- JSON that is not an object, a list without items
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "/ai-configs", "status": 200, "body": "[1, 2]"},
                                 {"method": "GET", "path": "/agent-optimizations", "status": 200, "body": "{\"totalCount\": 1}"}]');
SELECT key FROM ld.ai_configs;
SELECT key FROM ld.agent_optimizations;
-- not JSON at all (an HTML error page with status 200)
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 200, "content_type": "text/html", "body": "<html>maintenance</html>"}');
SELECT key FROM ld.ai_configs;
-- a truncated body is a transport failure: a GET is retried, and succeeds
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "truncate": true}');
SELECT count(1) FROM ld.ai_configs;
SELECT query, status FROM ld_requests();
-- ... and fails with 08006 when it keeps happening
ALTER SERVER ld OPTIONS (ADD max_retries '1');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "truncate": true, "times": 2}');
\set VERBOSITY terse
SELECT key FROM ld.ai_configs;
\set VERBOSITY default
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "truncate": true, "times": 2}');
SELECT sqlstate_of('SELECT key FROM ld.ai_configs');
-- a body over max_response_bytes: 54000, with a hint
ALTER SERVER ld OPTIONS (ADD max_response_bytes '2048');
SELECT key FROM ld.agent_optimizations;
SELECT sqlstate_of('SELECT key FROM ld.agent_optimizations');
ALTER SERVER ld OPTIONS (DROP max_response_bytes);
-- a server that ignores offset and sends the same page forever
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 200, "times": 3,
  "body": "{\"items\": [{\"key\": \"same\", \"name\": \"Same\"}], \"_links\": {\"self\": {}, \"next\": {}}}"}');
SELECT key FROM ld.ai_configs;
SELECT ld_ctl('/_test/faults', '{"method": "DELETE"}', 'DELETE');
-- an item without the field that identifies it
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 200,
  "body": "{\"items\": [{\"name\": \"no key\"}], \"totalCount\": 1}"}');
SELECT key, name FROM ld.ai_configs;
-- wrong JSON types for a column
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 200,
  "body": "{\"items\": [{\"key\": \"k\", \"name\": \"n\", \"version\": \"seven\"}], \"totalCount\": 1}"}');
SELECT key, version FROM ld.ai_configs;
-- integers up to bigint's range read exactly below 2^53 (cJSON keeps doubles:
-- above that, the nearest double); out of range or fractional is an error
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 200,
  "body": "{\"items\": [{\"key\": \"k\", \"a\": 1000000000000000, \"b\": -123456789012345678, \"c\": 1e19, \"d\": 2.5}], \"totalCount\": 1}", "times": 3}');
CREATE FOREIGN TABLE big_ints (key text, a bigint, b bigint, c numeric, d numeric) SERVER ld OPTIONS (resource 'ai_configs');
SELECT * FROM big_ints;
CREATE FOREIGN TABLE big_ints2 (key text, c bigint) SERVER ld OPTIONS (resource 'ai_configs');
SELECT * FROM big_ints2;
CREATE FOREIGN TABLE big_ints3 (key text, d bigint) SERVER ld OPTIONS (resource 'ai_configs');
SELECT * FROM big_ints3;
DROP FOREIGN TABLE big_ints, big_ints2, big_ints3;

-- one item through every conversion path at once: a duplicated field (a column
-- reads the first, attrs keeps the last, as jsonb does), empty and nested
-- containers, dotted paths, extreme and fractional numbers, escapes
CREATE TEMP TABLE edge_body AS SELECT $b${"items": [{"key": "k", "name": "first", "name": "second", "tags": [], "variations": {}, "deep": {"a": {"b": [1, {"c": null}, "x\u00e9\n"]}}, "nums": [1e308, -0.0, 5e-324, 0.1, 123456789.123456789, 1e15, -42, 2.5e-7], "version": 7, "createdAt": 1700000000000, "_maintainer": {"email": "a@b.c", "kind": "member"}, "extra": {"z": 1, "a": 2, "z": 3}}], "totalCount": 1}$b$::text AS body;
SELECT ld_ctl('/_test/faults', jsonb_build_object('method', 'GET', 'path', '/ai-configs', 'status', 200,
                                                  'body', body, 'times', 3)::text) FROM edge_body;
CREATE FOREIGN TABLE edge_cases (key text, name text, tags text[], variations jsonb, deep jsonb,
  deep_b jsonb OPTIONS (field 'deep.a.b'), nums jsonb, version smallint, created_at timestamptz,
  maintainer_email text OPTIONS (field '_maintainer.email'), extra jsonb, attrs jsonb)
  SERVER ld OPTIONS (resource 'ai_configs');
\x on
SELECT key, name, tags, variations, deep, deep_b, version, created_at, maintainer_email, extra FROM edge_cases;
\x off
-- attrs is the item as PostgreSQL's own jsonb input reads it (numbers aside)
SELECT attrs - 'nums' = (SELECT (body::jsonb->'items'->0) - 'nums' FROM edge_body) AS attrs_as_jsonb_reads_it,
       attrs->'name' AS attrs_name, attrs->'extra' AS attrs_extra,
       (nums->>0)::float8 AS huge, nums->1 AS minus_zero, (nums->>2)::float8 AS tiny,
       nums->3 AS a, nums->4 AS b, nums->5 AS c, nums->6 AS d, nums->7 AS e FROM edge_cases;
-- the same value into a column whose type cannot hold it
CREATE FOREIGN TABLE edge_cases2 (key text, nums jsonb, version smallint, deep_b int OPTIONS (field 'deep.a.b'))
  SERVER ld OPTIONS (resource 'ai_configs');
SELECT key, deep_b FROM edge_cases2;
DROP FOREIGN TABLE edge_cases, edge_cases2;
DROP TABLE edge_body;
-- HTTP errors -> SQLSTATE (retryable ones after max_retries = 1)
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "/ai-configs", "status": 403, "times": 1},
  {"method": "GET", "path": "/agent-optimizations", "status": 429, "headers": {"Retry-After": "0"}, "times": 2},
  {"method": "GET", "path": "/runs", "status": 503, "times": 2},
  {"method": "GET", "path": "/all-results", "status": 500, "times": 1}]');
SELECT key FROM ld.ai_configs;
SELECT key FROM ld.agent_optimizations;
SELECT count(1) FROM ld.agent_optimization_runs WHERE optimization_key = 'code-review-bot';
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'code-review-bot';
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "/ai-configs", "status": 401, "times": 1},
  {"method": "GET", "path": "/ai-configs", "status": 403, "times": 1},
  {"method": "GET", "path": "/ai-configs", "status": 400, "times": 1},
  {"method": "GET", "path": "/agent-optimizations", "status": 429, "headers": {"Retry-After": "0"}, "times": 2},
  {"method": "GET", "path": "/runs", "status": 503, "times": 2},
  {"method": "GET", "path": "/all-results", "status": 500, "times": 1}]');
SELECT sqlstate_of('SELECT key FROM ld.ai_configs') AS "401",
       sqlstate_of('SELECT key FROM ld.ai_configs') AS "403",
       sqlstate_of('SELECT key FROM ld.ai_configs') AS "400",
       sqlstate_of('SELECT key FROM ld.agent_optimizations') AS "429",
       sqlstate_of($$SELECT 1 FROM ld.agent_optimization_runs WHERE optimization_key = 'code-review-bot'$$) AS "503",
       sqlstate_of($$SELECT 1 FROM ld.agent_optimization_results WHERE optimization_key = 'code-review-bot'$$) AS "500";
-- 400/401/403/404/409 are never retried
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 400, "times": 5}');
SELECT sqlstate_of('SELECT key FROM ld.ai_configs');
SELECT count(*) AS requests FROM ld_requests();
SELECT ld_ctl('/_test/faults', '{"method": "DELETE"}', 'DELETE');
ALTER SERVER ld OPTIONS (DROP max_retries);

-- a 429 with Retry-After: 1 succeeds after at least a second
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 429, "headers": {"Retry-After": "1"}}');
SELECT elapsed_ms('SELECT * FROM ld.ai_configs') BETWEEN 1000 AND 5000 AS waited_about_a_second;
SELECT status FROM ld_requests();
-- X-Ratelimit-Reset (epoch ms) is honoured too
SELECT ld_ctl('/_test/faults', format('{"method": "GET", "path": "/ai-configs", "status": 429, "headers": {"X-Ratelimit-Reset": "%s"}}',
              (extract(epoch FROM clock_timestamp()) * 1000)::bigint + 700));
SELECT elapsed_ms('SELECT * FROM ld.ai_configs') BETWEEN 400 AND 5000 AS waited_until_reset;
-- a wait that cannot fit in statement_timeout fails at once, saying how long to wait
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 429, "headers": {"Retry-After": "30"}}');
SET statement_timeout = '5s';
SELECT key FROM ld.ai_configs;
RESET statement_timeout;

-- writes are retried only when the server surely did not act
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "POST", "path": "/ai-configs", "status": 500}');
INSERT INTO ld.ai_configs (key, name) VALUES ('after-500', 'x');
SELECT ld_ctl('/_test/faults', '{"method": "POST", "path": "/ai-configs", "status": 429, "headers": {"Retry-After": "0"}}');
INSERT INTO ld.ai_configs (key, name) VALUES ('after-429', 'y') RETURNING key;
SELECT method, path, body, status FROM ld_requests();
DELETE FROM ld.ai_configs WHERE key = 'after-429';

-- cancel everywhere: a write that stalls, a backoff sleep, a terminate
SELECT ld_ctl('/_test/faults', '{"method": "POST", "path": "/ai-configs", "stall_ms": 20000}');
SET statement_timeout = '300ms';
DO $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  INSERT INTO ld.ai_configs (key, name) VALUES ('stalled', 'z');
EXCEPTION WHEN query_canceled THEN
  RAISE NOTICE 'write canceled (SQLSTATE %) within a second: %', SQLSTATE, clock_timestamp() - t0 < interval '1 second';
END $$;
RESET statement_timeout;
SELECT bg_connect('bg2');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 429, "headers": {"Retry-After": "20"}}');
SELECT dblink_send_query('bg2', 'SELECT key FROM ld.ai_configs /* backoff */');
SELECT wait_for_wait_event('/* backoff */') IS NOT NULL AS sleeping_in_backoff;
CREATE TEMP TABLE t1 AS SELECT clock_timestamp() AS t;
SELECT pg_cancel_backend(wait_for_wait_event('/* backoff */'));
SELECT * FROM dblink_get_result('bg2', false) AS r(key text);
SELECT * FROM dblink_get_result('bg2', false) AS r(key text);
SELECT clock_timestamp() - t < interval '1 second' AS backoff_canceled_fast FROM t1;
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "stall_ms": 20000}');
SELECT dblink_send_query('bg2', 'SELECT key FROM ld.ai_configs /* terminate me */');
SELECT wait_for_wait_event('/* terminate me */') AS victim \gset
SELECT pg_terminate_backend(:victim, 5000) AS terminated;
SELECT count(1) AS still_there FROM pg_stat_activity WHERE pid = :victim;
SELECT dblink_disconnect('bg2');
-- a connect that never completes (the stand-in keeps a port whose accept
-- queue is full): statement_timeout ends it at once
\getenv bhport LDAI_STANDIN_BLACKHOLE_PORT
\getenv ldkey LDAI_TEST_API_KEY
SELECT format('http://127.0.0.1:%s', :'bhport') AS bh_url \gset
CREATE SERVER blackhole FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'bh_url', project_key 'default', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER blackhole OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE bh_configs (key text) SERVER blackhole OPTIONS (resource 'ai_configs');
SET statement_timeout = '300ms';
DO $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  PERFORM * FROM bh_configs;
EXCEPTION WHEN query_canceled THEN
  RAISE NOTICE 'connect canceled (SQLSTATE %) within a second: %', SQLSTATE, clock_timestamp() - t0 < interval '1 second';
END $$;
RESET statement_timeout;
-- ... and connect_timeout_ms ends it too, with a hint
ALTER SERVER blackhole OPTIONS (ADD connect_timeout_ms '200');
\set VERBOSITY terse
SELECT * FROM bh_configs;
\set VERBOSITY default
SELECT sqlstate_of('SELECT * FROM bh_configs');
DROP SERVER blackhole CASCADE;

-- and this session still works
SELECT key FROM ld.ai_configs ORDER BY key;
