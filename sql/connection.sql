-- Connections: one keep-alive connection per user mapping, reused across
-- pages and queries, dropped when the server or mapping changes; retries
-- counted by EXPLAIN ANALYZE; the wait event and instant cancel seen from
-- another session.
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();

-- several pages and several queries: one TCP connection
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT count(1) FROM ld.ai_configs;
SELECT count(*) AS requests, count(DISTINCT conn) AS connections FROM ld_requests();

-- ALTER USER MAPPING (or SERVER) drops the cached connection
SELECT max(conn) AS conn_before FROM ld_requests() \gset
ALTER USER MAPPING FOR CURRENT_USER SERVER ld OPTIONS (SET api_key :'ldkey');
SELECT ld_clear_log();
SELECT count(1) FROM ld.ai_configs;
SELECT count(1) FROM ld.ai_configs;
SELECT count(DISTINCT conn) AS connections, min(conn) > :conn_before AS a_new_one
  FROM ld_requests();

-- a 429 with Retry-After: 0 and a 503 are retried; EXPLAIN ANALYZE counts them
SELECT ld_ctl('/_test/faults', '[{"method": "GET", "path": "/ai-configs", "status": 429, "headers": {"Retry-After": "0"}, "times": 1},
                                 {"method": "GET", "path": "/ai-configs", "status": 503, "times": 1}]');
SELECT ld_clear_log();
SELECT explain_analyze('SELECT key FROM ld.ai_configs');
SELECT method, path, query, status FROM ld_requests();

-- with max_retries 0 the same 503 is an error at once
ALTER SERVER ld OPTIONS (ADD max_retries '0');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "status": 503, "times": 1}');
SELECT key FROM ld.ai_configs;
ALTER SERVER ld OPTIONS (DROP max_retries);

-- from another session: the wait event while stalled, and pg_cancel_backend
SELECT bg_connect('bg');
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/agent-optimizations", "stall_ms": 20000, "times": 1}');
SELECT dblink_send_query('bg', 'SELECT key FROM ld.agent_optimizations /* stalled */');
SELECT wait_for_wait_event('/* stalled */') IS NOT NULL AS waiting;
-- (the wait event is named LaunchDarklyRequest on PostgreSQL 17+, where
--  extensions can name theirs; before that it is just Extension)
SELECT state, wait_event_type,
       wait_event = CASE WHEN current_setting('server_version_num')::int >= 170000
                         THEN 'LaunchDarklyRequest' ELSE 'Extension' END AS wait_event_named
  FROM pg_stat_activity WHERE query LIKE '%/* stalled */';
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%/* stalled */';
SELECT * FROM dblink_get_result('bg', false) AS r(key text);
SELECT * FROM dblink_get_result('bg', false) AS r(key text);
SELECT clock_timestamp() - t < interval '1 second' AS canceled_within_a_second FROM t0;
-- the other session keeps working
SELECT * FROM dblink('bg', 'SELECT count(1) FROM ld.agent_optimizations') AS r(n bigint);
SELECT dblink_disconnect('bg');
