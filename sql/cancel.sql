-- Every wait is interruptible: statement_timeout ends a stalled request at
-- once with SQLSTATE 57014, and the session (and connection cache) keep working.
SELECT ld_reset();
-- the next request to ai-configs stalls for 20 s before answering
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "stall_ms": 20000, "times": 1}');
SET statement_timeout = '300ms';
\set VERBOSITY sqlstate
SELECT * FROM ld.ai_configs;
\set VERBOSITY default
-- the same, timed: well under a second
DO $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  PERFORM ld_ctl('/_test/faults', '{"method": "GET", "path": "/ai-configs", "stall_ms": 20000, "times": 1}');
  t0 := clock_timestamp();
  PERFORM * FROM ld.ai_configs;
  RAISE NOTICE 'not canceled';
EXCEPTION WHEN query_canceled THEN
  RAISE NOTICE 'canceled (SQLSTATE %) within a second: %', SQLSTATE, clock_timestamp() - t0 < interval '1 second';
END $$;
RESET statement_timeout;
-- the session keeps working, on a fresh connection
SELECT count(*) FROM ld.ai_configs;
-- a slow body is interruptible too
SELECT ld_ctl('/_test/faults', '{"method": "GET", "path": "/agent-optimizations", "slow_body_ms": 20000, "times": 1}');
SET statement_timeout = '300ms';
\set VERBOSITY sqlstate
SELECT * FROM ld.agent_optimizations;
\set VERBOSITY default
RESET statement_timeout;
SELECT count(*) FROM ld.agent_optimizations;
