-- EXPLAIN: VERBOSE shows the requests (templates where keys come at run
-- time); plain EXPLAIN sends nothing; ANALYZE counts requests and bytes.
SELECT ld_reset();
SELECT ld_clear_log();
EXPLAIN SELECT * FROM ld.agent_optimization_results;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ld.agent_optimization_results;
EXPLAIN (VERBOSE, COSTS OFF) SELECT key FROM ld.ai_configs;
EXPLAIN (VERBOSE, COSTS OFF) SELECT key FROM ld.ai_configs WHERE key = 'ops/triage?v=2%';
EXPLAIN (VERBOSE, COSTS OFF) SELECT key FROM ld.ai_config_variations;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM ld.agent_optimization_results WHERE run_id = '00000000-0000-0000-0000-000000000001';
EXPLAIN (VERBOSE, COSTS OFF)
SELECT run_id FROM ld.agent_optimization_runs WHERE optimization_key IN ('a', 'b');
PREPARE p(text) AS SELECT id FROM ld.agent_optimization_latest_results WHERE optimization_key = $1;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE p('support-triage');
DEALLOCATE p;
-- none of that touched the network
SELECT count(*) AS requests FROM ld_requests();

-- ANALYZE: the counts of what was sent and received
SELECT explain_analyze($$SELECT id FROM ld.agent_optimization_results
                          WHERE optimization_key = 'support-triage'$$);
SELECT explain_analyze($$SELECT key FROM ld.ai_configs WHERE key = 'nope'$$);
SELECT count(*) AS requests FROM ld_requests();
