/* ldai_fdw--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ldai_fdw UPDATE TO '1.1'" to load this file. \quit

-- Version 1.1 is reached from 1.0 through this script, and a fresh
-- CREATE EXTENSION runs ldai_fdw--1.0.sql and then this script, so both
-- paths give the same objects (sql/upgrade.sql compares them).
-- SQL objects added in 1.1 go here; ldai_fdw--1.0.sql stays as released.

-- ---------------------------------------------------------------------------
-- ldai_result_costs (issue 15): every agent optimization result's tokens
-- priced by the model config that produced them.  A function, not a view:
-- the foreign tables are the user's, in any schema, and do not exist when
-- the extension is created; the caller names them (regclass), and may fix
-- one optimization (only_optimization), which the scan then reads alone.
--
-- The match (README "Cost of agent optimization results"):
--   generation: the result's variation->>'modelConfigKey';
--   evaluation: the optimization's judge_model (every judge of the result);
--   a name N matches the model config whose key = N; if no key is N, the
--   one model config whose id (the provider's model id) = N, when exactly
--   one has it; otherwise none.
--   tokens: generation_tokens' input/output; the sum of input/output over
--   the entries of evaluation_tokens (a missing or non-numeric count is 0).
--   cost = input tokens * cost_per_input_token + output tokens *
--   cost_per_output_token; 0 without tokens; NULL when there are tokens but
--   no model config matched or the price it needs is missing.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ldai_result_costs(results regclass, optimizations regclass,
                                  model_configs regclass,
                                  only_optimization text DEFAULT NULL)
RETURNS TABLE (optimization_key text, agent_optimization_version int,
               run_id uuid, result_id uuid, iteration int, status text,
               generation_model text, generation_model_config text,
               generation_input_tokens bigint, generation_output_tokens bigint,
               generation_cost float8,
               evaluation_model text, evaluation_model_config text,
               evaluation_input_tokens bigint, evaluation_output_tokens bigint,
               evaluation_cost float8,
               total_cost float8)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  RETURN QUERY EXECUTE format($q$
    WITH m AS MATERIALIZED (
      SELECT c.key, c.id, c.cost_per_input_token AS cin, c.cost_per_output_token AS cout
        FROM %3$s c),
    o AS MATERIALIZED (
      SELECT p.key, p.judge_model FROM %2$s p %4$s),
    res AS (
      SELECT r.optimization_key, r.agent_optimization_version, r.run_id, r.id, r.iteration,
             r.status, r.variation ->> 'modelConfigKey' AS gen_model, o.judge_model AS eval_model,
             CASE WHEN jsonb_typeof(r.generation_tokens -> 'input') = 'number'
                  THEN (r.generation_tokens ->> 'input')::numeric::bigint ELSE 0 END AS gin,
             CASE WHEN jsonb_typeof(r.generation_tokens -> 'output') = 'number'
                  THEN (r.generation_tokens ->> 'output')::numeric::bigint ELSE 0 END AS gout,
             r.evaluation_tokens AS et
        FROM %1$s r LEFT JOIN o ON o.key = r.optimization_key %5$s),
    priced AS (
      SELECT res.*, gm.key AS gkey, gm.cin AS gcin, gm.cout AS gcout,
             coalesce(ev.ein, 0) AS ein, coalesce(ev.eout, 0) AS eout,
             em.key AS ekey, em.cin AS ecin, em.cout AS ecout
        FROM res
        LEFT JOIN LATERAL (
          SELECT m.* FROM m
           WHERE m.key = res.gen_model
              OR (m.id = res.gen_model
                  AND NOT EXISTS (SELECT FROM m k WHERE k.key = res.gen_model)
                  AND (SELECT count(*) FROM m i WHERE i.id = res.gen_model) = 1)) gm ON true
        LEFT JOIN LATERAL (
          SELECT m.* FROM m
           WHERE m.key = res.eval_model
              OR (m.id = res.eval_model
                  AND NOT EXISTS (SELECT FROM m k WHERE k.key = res.eval_model)
                  AND (SELECT count(*) FROM m i WHERE i.id = res.eval_model) = 1)) em ON true
        LEFT JOIN LATERAL (
          SELECT sum(CASE WHEN jsonb_typeof(e.v -> 'input') = 'number'
                          THEN (e.v ->> 'input')::numeric::bigint ELSE 0 END)::bigint AS ein,
                 sum(CASE WHEN jsonb_typeof(e.v -> 'output') = 'number'
                          THEN (e.v ->> 'output')::numeric::bigint ELSE 0 END)::bigint AS eout
            FROM jsonb_each(CASE WHEN jsonb_typeof(res.et) = 'object' THEN res.et END) AS e(k, v)) ev
          ON true)
    SELECT p.optimization_key, p.agent_optimization_version, p.run_id, p.id, p.iteration, p.status,
           p.gen_model, p.gkey, p.gin, p.gout, g.cost,
           p.eval_model, p.ekey, p.ein, p.eout, e.cost,
           g.cost + e.cost
      FROM priced p,
           LATERAL (SELECT CASE WHEN p.gin = 0 AND p.gout = 0 THEN 0::float8
                                WHEN p.gkey IS NULL THEN NULL
                                ELSE CASE WHEN p.gin = 0 THEN 0 ELSE p.gin * p.gcin END
                                   + CASE WHEN p.gout = 0 THEN 0 ELSE p.gout * p.gcout END
                           END AS cost) g,
           LATERAL (SELECT CASE WHEN p.ein = 0 AND p.eout = 0 THEN 0::float8
                                WHEN p.ekey IS NULL THEN NULL
                                ELSE CASE WHEN p.ein = 0 THEN 0 ELSE p.ein * p.ecin END
                                   + CASE WHEN p.eout = 0 THEN 0 ELSE p.eout * p.ecout END
                           END AS cost) e
  $q$, results, optimizations, model_configs,
       CASE WHEN only_optimization IS NOT NULL THEN 'WHERE p.key = $1' ELSE '' END,
       CASE WHEN only_optimization IS NOT NULL THEN 'WHERE r.optimization_key = $1' ELSE '' END)
  USING only_optimization;
END
$fn$;
COMMENT ON FUNCTION ldai_result_costs(regclass, regclass, regclass, text) IS
  'each agent optimization result''s generation and evaluation tokens priced by the model config that produced them';
