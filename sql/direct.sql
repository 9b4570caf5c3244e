-- Direct modify: an UPDATE/DELETE that pins a row's whole identity with
-- constants sends exactly one request and no GET; the row count comes from
-- the answer (404 = 0 rows).
SELECT ld_reset();
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
VALUES ('support-triage', 'cccccccc-0000-4000-8000-000000000003', 3, 1, 'i', 'u')
RETURNING id AS new_id \gset
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.agent_optimization_results SET status = 'PASSED'
 WHERE optimization_key = 'support-triage' AND id = '1d5a57a1-d000-4000-8000-000000000001';
SELECT ld_clear_log();
UPDATE ld.agent_optimization_results SET status = 'PASSED', scores = '{"tone-judge": {"score": 1}}'
 WHERE optimization_key = 'support-triage' AND id = :'new_id';
SELECT method, path, query, body, status FROM ld_requests();
-- RETURNING gives the answer, still one request
SELECT ld_clear_log();
UPDATE ld.agent_optimization_results SET activity = 'COMPLETED'
 WHERE id = :'new_id' AND optimization_key = 'support-triage'
RETURNING id = :'new_id' AS same_id, status, activity, completed_at;
SELECT method, count(*) FROM ld_requests() GROUP BY 1;
-- a missing row: 0 rows, one request
SELECT ld_clear_log();
SELECT rows_affected($$UPDATE ld.agent_optimization_results SET status = 'FAILED'
 WHERE optimization_key = 'support-triage' AND id = '00000000-0000-4000-8000-000000000000'$$);
SELECT rows_affected($$DELETE FROM ld.ai_configs WHERE key = 'no-such-config'$$);
SELECT method, path, status FROM ld_requests();
-- DELETE FROM ai_configs WHERE key = 'x': one DELETE
INSERT INTO ld.ai_configs (key, name) VALUES ('to-delete', 'Delete me');
EXPLAIN (VERBOSE, COSTS OFF) DELETE FROM ld.ai_configs WHERE key = 'to-delete';
SELECT ld_clear_log();
SELECT rows_affected($$DELETE FROM ld.ai_configs WHERE key = 'to-delete'$$);
SELECT method, path, status FROM ld_requests();
-- prepared statements with parameters are direct too
PREPARE grade(text, uuid) AS
  UPDATE ld.agent_optimization_results SET status = $1 WHERE optimization_key = 'support-triage' AND id = $2;
SELECT ld_clear_log();
EXECUTE grade('ERRORED', :'new_id');
SELECT method, body FROM ld_requests();
DEALLOCATE grade;
-- not direct: an extra condition, a partial identity, a value from the row,
-- DELETE ... RETURNING (it returns the row as read)
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.ai_configs SET description = 'x' WHERE key = 'ticket-summarizer' AND version = 3;
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.agent_optimization_results SET status = 'PASSED' WHERE id = '1d5a57a1-d000-4000-8000-000000000001';
EXPLAIN (VERBOSE, COSTS OFF)
UPDATE ld.ai_configs SET description = name WHERE key = 'ticket-summarizer';
EXPLAIN (VERBOSE, COSTS OFF)
DELETE FROM ld.ai_configs WHERE key = 'ticket-summarizer' RETURNING key;
-- the narrowest scan still feeds non-direct writes: key = x reads one item
SELECT ld_clear_log();
UPDATE ld.ai_configs SET description = 'Summarizes threads.' WHERE key = 'ticket-summarizer' AND version = 3;
SELECT method, path, query, body FROM ld_requests();
