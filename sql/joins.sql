-- Joins with local tables: IN lists, parameterized nested loops that ask
-- only for the outer rows' keys, and estimates that choose by cost.
SELECT ld_reset();

-- IN list of 3 optimizations: 3 request series, the rows of a filtered full scan
SELECT ld_clear_log();
SELECT optimization_key, count(1) FROM ld.agent_optimization_results
 WHERE optimization_key IN ('code-review-bot', 'resume-screener-tuning', 'opt/with?odd%key')
 GROUP BY 1 ORDER BY 1;
SELECT path, query FROM ld_requests();
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM ld.agent_optimization_results
 WHERE optimization_key IN ('code-review-bot', 'resume-screener-tuning', 'opt/with?odd%key');
-- the same rows as scanning everything and filtering locally
SELECT (SELECT count(*) FROM ld.agent_optimization_results
         WHERE optimization_key IN ('code-review-bot', 'resume-screener-tuning', 'opt/with?odd%key'))
     = (SELECT count(*) FROM ld.agent_optimization_results
         WHERE optimization_key || '' IN ('code-review-bot', 'resume-screener-tuning', 'opt/with?odd%key'))
       AS same_rows;

-- a 3-row local table joined on the key: a nested loop, one request series per outer row
CREATE TEMP TABLE my_experiments (opt_key text, owner text);
INSERT INTO my_experiments VALUES ('support-triage', 'Support Platform'),
  ('code-review-bot', 'Developer Experience'), ('no-runs-yet', 'Summaries');
ANALYZE my_experiments;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT e.owner, r.status, count(*)
  FROM my_experiments e JOIN ld.agent_optimization_runs r ON r.optimization_key = e.opt_key
 GROUP BY 1, 2;
SELECT ld_clear_log();
SELECT e.owner, r.status, count(*)
  FROM my_experiments e JOIN ld.agent_optimization_runs r ON r.optimization_key = e.opt_key
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT path, query FROM ld_requests() ORDER BY path;
-- the same rows as the unparameterized plan
SET enable_nestloop = off;
EXPLAIN (COSTS OFF)
SELECT e.owner, r.status, count(*)
  FROM my_experiments e JOIN ld.agent_optimization_runs r ON r.optimization_key = e.opt_key
 GROUP BY 1, 2;
SELECT e.owner, r.status, count(*)
  FROM my_experiments e JOIN ld.agent_optimization_runs r ON r.optimization_key = e.opt_key
 GROUP BY 1, 2 ORDER BY 1, 2;
RESET enable_nestloop;

-- the same key twice in one statement: one request (statement-scoped cache)
-- (PostgreSQL's Memoize node would avoid the rescan itself; turn it off to
-- show the FDW's own cache)
INSERT INTO my_experiments VALUES ('support-triage', 'Support Platform (EU)');
ANALYZE my_experiments;
SET enable_memoize = off;
SELECT ld_clear_log();
SELECT e.owner, count(*) FROM my_experiments e
  JOIN ld.agent_optimization_runs r ON r.optimization_key = e.opt_key
 GROUP BY 1 ORDER BY 1;
SELECT path, count(*) FROM ld_requests() GROUP BY 1 ORDER BY 1;
SELECT line FROM explain_analyze($$SELECT * FROM my_experiments e
  JOIN ld.agent_optimization_runs r ON r.optimization_key = e.opt_key$$) AS line
 WHERE line ~ 'LaunchDarkly (requests|cache)|Loop|Scan';
-- ... but not across statements: the next statement asks again
SELECT ld_clear_log();
SELECT count(*) FROM my_experiments e JOIN ld.agent_optimization_runs r ON r.optimization_key = e.opt_key;
SELECT count(*) AS requests FROM ld_requests();
RESET enable_memoize;
DELETE FROM my_experiments WHERE owner = 'Support Platform (EU)';
ANALYZE my_experiments;

-- results of the 3 optimizations' runs joined the other way round
SELECT ld_clear_log();
SELECT e.owner, count(*) AS results, round(avg(r.generation_latency)) AS avg_latency
  FROM my_experiments e JOIN ld.agent_optimization_results r ON r.optimization_key = e.opt_key
 GROUP BY 1 ORDER BY 1;
SELECT regexp_replace(path, '/all-results$', '') AS series, count(*) AS requests
  FROM ld_requests() GROUP BY 1 ORDER BY 1;

-- a large local table joined on a non-key column: no per-row requests
CREATE TEMP TABLE big_local AS
  SELECT g AS n, 'status-' || g AS label FROM generate_series(1, 5000) g;
ANALYZE big_local;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM big_local b JOIN ld.agent_optimization_results r ON r.iteration = b.n
 WHERE r.optimization_key = 'code-review-bot';
SELECT ld_clear_log();
SELECT count(*) FROM big_local b JOIN ld.agent_optimization_results r ON r.iteration = b.n
 WHERE r.optimization_key = 'code-review-bot';
SELECT count(*) AS requests FROM ld_requests();
-- a large local table on the key column: reading everything once is cheaper
CREATE TEMP TABLE many_keys AS SELECT 'opt-' || g AS k FROM generate_series(1, 2000) g;
ANALYZE many_keys;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM many_keys m JOIN ld.agent_optimization_runs r ON r.optimization_key = m.k;

-- key = (subquery): an init-plan parameter is a key too
-- (the plan without the "(returns $0)" that PostgreSQL before 17 adds to the
--  InitPlan line, and its value as $0, which 17 calls "(InitPlan 1).col1")
CREATE FUNCTION pg_temp.explain_verbose(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
    RETURN NEXT regexp_replace(regexp_replace(l, '^(\s*InitPlan \d+) \(returns \$\d+\)$', '\1'),
                               '\(InitPlan 1\)\.col1', '$0');
  END LOOP;
END $$;
SELECT pg_temp.explain_verbose($$
SELECT key FROM ld.ai_configs WHERE key = (SELECT 'ticket-summarizer'::text)$$);
SELECT ld_clear_log();
SELECT key FROM ld.ai_configs WHERE key = (SELECT 'ticket-summarizer'::text);
SELECT path FROM ld_requests();

-- use_remote_estimate: a limit=1 GET at plan time gives the row count
ALTER FOREIGN TABLE ld.agent_optimization_results OPTIONS (ADD use_remote_estimate 'true');
SELECT ld_clear_log();
EXPLAIN SELECT id FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT path, query FROM ld_requests();
ALTER FOREIGN TABLE ld.agent_optimization_results OPTIONS (DROP use_remote_estimate);
