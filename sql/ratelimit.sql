-- Rate limits (issue 18): slowing down before LaunchDarkly's account-wide
-- limit (its X-Ratelimit-* headers), our own budget per server
-- (max_requests_per_second), the ldai_fdw_stats view and its reset, and the
-- connection functions.  (Without shared_preload_libraries, as here, the
-- budget and the statistics are this session's; scripts/load.sh runs the
-- preloaded, cluster-wide case.)
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();

-- the option: a server option, an integer from 0
CREATE SERVER ld_rl FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '20', max_concurrency '1',
           max_requests_per_second '-1');
CREATE SERVER ld_rl FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '20', max_concurrency '1',
           max_requests_per_second 'fast');
CREATE SERVER ld_rl FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'ldurl', project_key 'default', page_size '20', max_concurrency '1',
           max_requests_per_second '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER ld_rl OPTIONS (api_key :'ldkey');
CREATE SCHEMA rl;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_configs, agent_optimization_results)
  FROM SERVER ld_rl INTO rl;
CREATE FOREIGN TABLE rl.bad (key text) SERVER ld_rl
  OPTIONS (resource 'ai_configs', max_requests_per_second '5');

-- 1. LaunchDarkly's limit, heard before it bites: 5 requests per 1 s window
-- account-wide, 4 per route.  Reading the 308 results of support-triage
-- 20 at a time takes 16 GETs, more than 3 windows' budget: 0 answers of 429.
SELECT ldai_fdw_stats_reset();
SELECT ld_ctl('/_test/ratelimit', '{"window_ms": 1000, "global": 5, "route": 4}');
SELECT count(id), sum(iteration) FROM rl.agent_optimization_results
 WHERE optimization_key = 'support-triage';
SELECT count(*) AS requests, count(*) FILTER (WHERE status = 200) AS ok,
       count(*) FILTER (WHERE status = 429) AS too_many FROM ld_requests();
-- the same with 4 pages prefetched at once
ALTER SERVER ld_rl OPTIONS (SET max_concurrency '4');
SELECT ld_clear_log();
SELECT count(id), sum(iteration) FROM rl.agent_optimization_results
 WHERE optimization_key = 'support-triage';
SELECT count(*) AS requests, count(*) FILTER (WHERE status = 429) AS too_many FROM ld_requests();
ALTER SERVER ld_rl OPTIONS (SET max_concurrency '1');

-- the statistics count the same requests as the stand-in, by endpoint
-- template, and the time spent throttled
SELECT server_name, endpoint, requests, retries, responses_2xx, responses_4xx,
       responses_429, responses_5xx, transport_errors, bytes_received > 0 AS bytes,
       network_time_ms > 0 AS network_time, throttled_time_ms > 500 AS throttled
  FROM ldai_fdw_stats ORDER BY 1, 2;
SELECT ld_ctl('/_test/ratelimit', '{}');

-- 2. answers of every class: a 429 (retried), a 503 (retried), a 404 and a
-- broken connection (retried), counted as the stand-in saw them
SELECT ldai_fdw_stats_reset();
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "/ai-configs$", "status": 429, "headers": {"Retry-After": "0"}, "times": 1},
                                 {"method": "GET", "path": "/ai-configs$", "status": 503, "times": 1},
                                 {"method": "GET", "path": "/ai-configs$", "truncate": true, "times": 1}]');
SELECT count(*) FROM rl.ai_configs;
SELECT key FROM rl.ai_configs WHERE key = 'no-such-config';
SELECT key FROM rl.ai_configs WHERE key = 'ticket-summarizer';
SELECT method, path, status FROM ld_requests() ORDER BY seq;
SELECT server_name, endpoint, requests, retries, responses_2xx, responses_4xx,
       responses_429, responses_5xx, transport_errors
  FROM ldai_fdw_stats ORDER BY 1, 2;
-- the totals agree with the stand-in's log
SELECT (SELECT sum(requests) FROM ldai_fdw_stats) = (SELECT count(*) FROM ld_requests())
       AS same_requests,
       (SELECT sum(responses_429) FROM ldai_fdw_stats) =
       (SELECT count(*) FROM ld_requests() WHERE status = 429) AS same_429,
       (SELECT sum(responses_4xx) FROM ldai_fdw_stats) =
       (SELECT count(*) FROM ld_requests() WHERE status BETWEEN 400 AND 499 AND status <> 429)
       AS same_4xx;

-- 3. the reset: superuser, or a role granted EXECUTE
SELECT ldai_fdw_stats_reset();
SELECT count(*) AS rows_after_reset FROM ldai_fdw_stats;
CREATE ROLE ld_rl_user;
GRANT SELECT ON ldai_fdw_stats TO ld_rl_user;
SET ROLE ld_rl_user;
SELECT count(*) FROM ldai_fdw_stats;
SELECT ldai_fdw_stats_reset();
RESET ROLE;
GRANT EXECUTE ON FUNCTION ldai_fdw_stats_reset() TO ld_rl_user;
SET ROLE ld_rl_user;
SELECT ldai_fdw_stats_reset();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION ldai_fdw_stats_reset() FROM ld_rl_user;
REVOKE SELECT ON ldai_fdw_stats FROM ld_rl_user;
DROP ROLE ld_rl_user;

-- 4. our own budget: max_requests_per_second '4', 11 GETs; the stand-in's
-- clock shows no second with more than 4 of them
ALTER SERVER ld_rl OPTIONS (SET max_requests_per_second '4', SET page_size '30');
SELECT ld_ctl('/_test/ratelimit', '{"timestamps": true}');
SELECT ld_clear_log();
SELECT count(id) FROM rl.agent_optimization_results WHERE optimization_key = 'support-triage';
WITH t AS (SELECT at_ms FROM ld_requests())
SELECT count(*) AS requests,
       (SELECT max(n) <= 4 FROM (SELECT (SELECT count(*) FROM t b
                                     WHERE b.at_ms >= a.at_ms AND b.at_ms < a.at_ms + 1000) AS n
                              FROM t a) w) AS most_in_one_second
  FROM t;
SELECT endpoint, requests, throttled_time_ms > 1000 AS throttled
  FROM ldai_fdw_stats WHERE server_name = 'ld_rl' ORDER BY 1;
ALTER SERVER ld_rl OPTIONS (SET max_requests_per_second '0', SET page_size '20');
SELECT ld_ctl('/_test/ratelimit', '{}');

-- 5. in another session (its own budget, not being preloaded), with one
-- request per 20 s window: a wait longer than what is left of
-- statement_timeout fails at once (53400, as a 429's wait would)
SELECT ld_ctl('/_test/ratelimit', '{"window_ms": 20000, "global": 1}');
SELECT bg_connect('bg');
SELECT dblink_exec('bg', 'SET statement_timeout = ''2s''');
SELECT * FROM dblink('bg', 'SELECT key FROM rl.ai_configs WHERE key = ''ticket-summarizer''')
  AS r(key text);
SELECT * FROM dblink('bg', $q$
  SELECT sqlstate_of('SELECT key FROM rl.ai_configs WHERE key = ''resume-screener'''),
         elapsed_ms('SELECT key FROM rl.ai_configs WHERE key = ''resume-screener''') < 1000$q$)
  AS r(sqlstate text, at_once bool);
-- the wait for budget shows as its own wait event (LaunchDarklyThrottle on
-- PostgreSQL 17+, Extension before), and a cancel ends it at once
SELECT dblink_exec('bg', 'SET statement_timeout = ''40s''');
SELECT dblink_send_query('bg', 'SELECT count(id) FROM rl.agent_optimization_results /* throttled */ WHERE optimization_key = ''support-triage''');
SELECT wait_for_wait_event('/* throttled */') IS NOT NULL AS waiting;
SELECT pg_sleep(0.3);
SELECT wait_event_type,
       wait_event = CASE WHEN current_setting('server_version_num')::int >= 170000
                         THEN 'LaunchDarklyThrottle' ELSE 'Extension' END AS wait_event_named
  FROM pg_stat_activity WHERE query LIKE '%/* throttled */%' AND pid <> pg_backend_pid();
SELECT pg_cancel_backend(pid) FROM pg_stat_activity
 WHERE query LIKE '%/* throttled */%' AND pid <> pg_backend_pid();
SELECT * FROM dblink_get_result('bg', false) AS r(n bigint);
SELECT * FROM dblink_get_result('bg', false) AS r(n bigint);
SELECT dblink_disconnect('bg');
SELECT count(*) FILTER (WHERE status = 429) AS too_many FROM ld_requests();
SELECT ld_ctl('/_test/ratelimit', '{}');

-- 6. connection functions (as postgres_fdw's)
SELECT ldai_fdw_disconnect_all() IS NOT NULL AS done;
SELECT * FROM ldai_fdw_get_connections() ORDER BY 1;
SELECT key FROM rl.ai_configs WHERE key = 'ticket-summarizer';
SELECT key FROM ld.ai_configs WHERE key = 'ticket-summarizer';
SELECT server_name, user_name = current_user AS mine, valid
  FROM ldai_fdw_get_connections() ORDER BY 1;
SELECT ldai_fdw_disconnect('ld_rl');
SELECT ldai_fdw_disconnect('ld_rl');
SELECT ldai_fdw_disconnect('no_such_server');
SELECT server_name FROM ldai_fdw_get_connections() ORDER BY 1;
-- a cursor holds its client: disconnecting refuses (WARNING, false) and the
-- cursor reads on
BEGIN;
DECLARE c CURSOR FOR SELECT iteration FROM rl.agent_optimization_results
 WHERE optimization_key = 'support-triage';
FETCH 2 FROM c;
SELECT ldai_fdw_disconnect('ld_rl');
SELECT ldai_fdw_disconnect_all();
FETCH 30 FROM c \g /dev/null
FETCH 1 FROM c;
CLOSE c;
COMMIT;
SELECT ldai_fdw_disconnect('ld_rl');
-- an altered or dropped user mapping: the client is invalid at once and
-- closed (with its key) at the end of the transaction
SELECT key FROM rl.ai_configs WHERE key = 'ticket-summarizer';
BEGIN;
ALTER USER MAPPING FOR CURRENT_USER SERVER ld_rl OPTIONS (SET api_key :'ldkey');
SELECT server_name, valid FROM ldai_fdw_get_connections() ORDER BY 1;
COMMIT;
SELECT server_name, valid FROM ldai_fdw_get_connections() ORDER BY 1;
SELECT key FROM rl.ai_configs WHERE key = 'ticket-summarizer';
BEGIN;
DROP USER MAPPING FOR CURRENT_USER SERVER ld_rl;
SELECT server_name, user_name, valid FROM ldai_fdw_get_connections() ORDER BY 1;
COMMIT;
SELECT server_name, valid FROM ldai_fdw_get_connections() ORDER BY 1;

-- clean up
DROP SCHEMA rl CASCADE;
DROP SERVER ld_rl;
SELECT ld_reset();
