-- The whole matrix: statement_timeout, pg_cancel_backend and
-- pg_terminate_backend each end a request at once in every phase where it
-- can wait: connect, waiting for headers, a slow body, a backoff sleep and a
-- write.  Each case runs in a second session (dblink) that is seen waiting on
-- LaunchDarkly first; the time is from the interrupt to the session's end.
\getenv bhport LDAI_STANDIN_BLACKHOLE_PORT
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();
SELECT format('http://127.0.0.1:%s', :'bhport') AS bh_url \gset
CREATE SERVER blackhole FOREIGN DATA WRAPPER ldai_fdw
  OPTIONS (base_url :'bh_url', project_key 'default', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER blackhole OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE public.bh_configs (key text) SERVER blackhole OPTIONS (resource 'ai_configs');

-- interrupt_ms(mechanism, fault, query): how long after the interrupt the
-- other session's query ended (statement_timeout: 300 ms, counted from
-- sending the query)
CREATE FUNCTION interrupt_ms(mech text, fault text, q text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  p int;
  ms int;
BEGIN
  IF 'm' = ANY (dblink_get_connections()) THEN
    PERFORM dblink_disconnect('m');
  END IF;
  PERFORM bg_connect('m');
  PERFORM dblink_exec('m', CASE WHEN mech = 'statement_timeout'
                                THEN 'SET statement_timeout = ''300ms''' ELSE 'RESET statement_timeout' END);
  IF fault IS NOT NULL THEN
    PERFORM ld_ctl('/_test/faults', fault);
  END IF;
  t0 := clock_timestamp() + interval '300 ms';	-- when a statement_timeout fires
  PERFORM dblink_send_query('m', q || ' /* matrix */');
  IF mech <> 'statement_timeout' THEN
    p := wait_for_wait_event('/* matrix */');
    IF p IS NULL THEN
      RAISE EXCEPTION 'the other session never waited on LaunchDarkly';
    END IF;
    t0 := clock_timestamp();
  END IF;
  IF mech = 'pg_cancel_backend' THEN
    PERFORM pg_cancel_backend(p);
  ELSIF mech = 'pg_terminate_backend' THEN
    PERFORM pg_terminate_backend(p, 5000);
  END IF;
  IF mech <> 'pg_terminate_backend' THEN
    FOR i IN 1..500 LOOP
      EXIT WHEN dblink_is_busy('m') = 0;
      PERFORM pg_sleep(0.01);
    END LOOP;
  END IF;
  ms := greatest(0, extract(epoch FROM clock_timestamp() - t0) * 1000);
  PERFORM dblink_disconnect('m');
  RETURN ms;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE '% / %: %', mech, q, SQLERRM;
  RETURN -1;
END $$;

CREATE TEMP TABLE phases (n int, phase text, fault text, q text);
INSERT INTO phases VALUES
  (1, 'connect', NULL, 'SELECT * FROM bh_configs'),
  (2, 'waiting for headers', '{"method": "GET", "path": "/ai-configs", "stall_ms": 20000}', 'SELECT * FROM ld.ai_configs'),
  (3, 'slow body', '{"method": "GET", "path": "/ai-configs", "slow_body_ms": 20000}', 'SELECT * FROM ld.ai_configs'),
  (4, 'backoff sleep', '{"method": "GET", "path": "/ai-configs", "status": 429, "headers": {"Retry-After": "20"}}', 'SELECT * FROM ld.ai_configs'),
  (5, 'write', '{"method": "POST", "path": "/ai-configs", "stall_ms": 20000}', 'INSERT INTO ld.ai_configs (key, name) VALUES (''stalled'', ''s'')');
CREATE TEMP TABLE mechanisms (m int, mech text);
INSERT INTO mechanisms VALUES (1, 'statement_timeout'), (2, 'pg_cancel_backend'), (3, 'pg_terminate_backend');

CREATE TEMP TABLE matrix AS
  SELECT n, phase, m, mech, interrupt_ms(mech, fault, q) AS ms
    FROM phases CROSS JOIN mechanisms ORDER BY n, m;
SELECT phase, mech, ms BETWEEN 0 AND 1000 AS within_a_second
  FROM matrix ORDER BY n, m;
-- (times are not printed: they vary; see the README for what was seen)
-- (a 429 whose Retry-After does not fit in statement_timeout ends at once with 53400)
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');
-- this session and the connection cache keep working
SELECT count(*) FROM ld.ai_configs;
DROP SERVER blackhole CASCADE;
