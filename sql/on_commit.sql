-- write_mode 'on_commit': every row is checked at once and its call queued;
-- the queue goes out when the transaction commits.  ROLLBACK (or ROLLBACK TO
-- SAVEPOINT) drops what was queued; a failure at COMMIT fails the COMMIT.
SELECT ld_reset();
ALTER SERVER ld OPTIONS (ADD write_mode 'later');
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (ADD write_mode 'on_commit');
CREATE TEMP TABLE local_notes (note text);

-- ROLLBACK: no write request at all
SELECT ld_clear_log();
BEGIN;
INSERT INTO ld.ai_configs (key, name) VALUES ('oc-1', 'One');
SELECT rows_affected($$UPDATE ld.ai_configs SET description = 'queued' WHERE key = 'ticket-summarizer'$$);
SELECT rows_affected($$DELETE FROM ld.ai_configs WHERE mode = 'completion'$$);
-- a read in the same transaction sees the API's state, not the queued calls
SELECT key, description FROM ld.ai_configs
 WHERE key IN ('ticket-summarizer', 'oc-1', 'resume-screener') ORDER BY key;
ROLLBACK;
SELECT method, path FROM ld_requests() ORDER BY seq;

-- an error aborts the transaction: nothing is sent either
SELECT ld_clear_log();
BEGIN;
UPDATE ld.ai_configs SET description = 'queued' WHERE key = 'ticket-summarizer';
SELECT 1 / 0;
COMMIT;
SELECT count(*) AS requests FROM ld_requests();

-- COMMIT: exactly the queued calls, in statement order, bodies exact
SELECT ld_clear_log();
BEGIN;
INSERT INTO ld.ai_configs (key, name) VALUES ('oc-1', 'One'), ('oc-2', 'Two');
UPDATE ld.ai_configs SET description = 'queued' WHERE key = 'ticket-summarizer';
UPDATE ld.ai_configs SET tags = ARRAY['completion'] WHERE mode = 'completion';
INSERT INTO local_notes VALUES ('kept with the commit');
SELECT count(*) AS writes_before_commit FROM ld_requests() WHERE method <> 'GET';
COMMIT;
SELECT method, path, body, status FROM ld_requests() WHERE method <> 'GET' ORDER BY seq;
SELECT key, description, tags FROM ld.ai_configs WHERE key IN ('oc-1', 'oc-2', 'ticket-summarizer', 'resume-screener') ORDER BY key;
SELECT note FROM local_notes;

-- outside a transaction block a statement commits at once: its calls go out
-- when it ends
SELECT ld_clear_log();
DELETE FROM ld.ai_configs WHERE key = 'oc-2';
SELECT method, path, status FROM ld_requests() WHERE method <> 'GET' ORDER BY seq;

-- savepoints: ROLLBACK TO drops only what was queued after the savepoint;
-- RELEASE keeps it; an error caught in a subtransaction drops its part
SELECT ld_clear_log();
BEGIN;
UPDATE ld.ai_configs SET description = 'kept 1' WHERE key = 'support-triage-agent';
SAVEPOINT s1;
UPDATE ld.ai_configs SET description = 'dropped' WHERE key = 'code-review-assistant';
ROLLBACK TO SAVEPOINT s1;
SAVEPOINT s2;
UPDATE ld.ai_configs SET description = 'kept 2' WHERE key = 'answer-quality-judge';
SAVEPOINT s3;
UPDATE ld.ai_configs SET description = 'kept 3' WHERE key = 'oc-1';
RELEASE SAVEPOINT s3;
RELEASE SAVEPOINT s2;
SAVEPOINT s4;
-- the first row is queued, the second fails its check: the statement's
-- error drops both with the savepoint
INSERT INTO ld.ai_configs (key, name) SELECT * FROM (VALUES ('oc-3', 'ok'), ('oc-4', NULL)) v;
ROLLBACK TO SAVEPOINT s4;
DO $$
BEGIN
  UPDATE ld.ai_configs SET description = 'dropped too' WHERE key = 'code-review-assistant';
  RAISE EXCEPTION 'changed my mind';
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'caught: %', SQLERRM;
END $$;
COMMIT;
SELECT method, path, body FROM ld_requests() WHERE method <> 'GET' ORDER BY seq;

-- RETURNING needs the API's answer, which comes only at COMMIT: an error at
-- once, with a hint, before any request
SELECT ld_clear_log();
INSERT INTO ld.ai_configs (key, name) VALUES ('oc-r', 'R') RETURNING key;
UPDATE ld.ai_configs SET name = 'R' WHERE key = 'oc-1' RETURNING key;
UPDATE ld.ai_configs SET name = 'R' WHERE mode = 'completion' RETURNING key;
DELETE FROM ld.ai_configs WHERE mode = 'completion' RETURNING key;
SELECT count(*) AS requests FROM ld_requests();

-- PREPARE TRANSACTION with queued calls: refused (the transaction rolls back)
SELECT ld_clear_log();
BEGIN;
UPDATE ld.ai_configs SET description = 'prepared' WHERE key = 'oc-1';
PREPARE TRANSACTION 'ld_on_commit';
SELECT count(*) AS requests FROM ld_requests();

-- dry run wins over on_commit: shown now, nothing queued or sent
SET ldai_fdw.dry_run = on;
BEGIN;
UPDATE ld.ai_configs SET description = 'dry' WHERE key = 'oc-1';
COMMIT;
RESET ldai_fdw.dry_run;
SELECT count(*) AS requests FROM ld_requests();

-- a failure at COMMIT fails the COMMIT: the local changes roll back too, and
-- the error lists the calls that were sent, failed, and never sent
TRUNCATE local_notes;
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "PATCH", "path": "/ai-configs/answer-quality-judge$", "status": 500, "times": 1}');
BEGIN;
INSERT INTO local_notes VALUES ('rolled back');
UPDATE ld.ai_configs SET description = 'c1' WHERE key = 'support-triage-agent';
UPDATE ld.ai_configs SET description = 'c2' WHERE key = 'answer-quality-judge';
UPDATE ld.ai_configs SET description = 'c3' WHERE key = 'code-review-assistant';
DELETE FROM ld.ai_configs WHERE key = 'oc-1';
COMMIT;
SELECT count(*) AS local_rows FROM local_notes;
SELECT method, path, body, status FROM ld_requests() WHERE method <> 'GET' ORDER BY seq;
SELECT key, description FROM ld.ai_configs WHERE key IN ('support-triage-agent', 'answer-quality-judge', 'code-review-assistant', 'oc-1') ORDER BY key;

-- statement_timeout during the commit-time sends: 57014, and the context
-- says what had gone out
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "PATCH", "path": "/ai-configs/oc-1$", "stall_ms": 20000, "times": 1}');
SET statement_timeout = '500ms';
BEGIN;
UPDATE ld.ai_configs SET description = 'before' WHERE key = 'support-triage-agent';
UPDATE ld.ai_configs SET description = 'stalls' WHERE key = 'oc-1';
UPDATE ld.ai_configs SET description = 'never' WHERE key = 'code-review-assistant';
COMMIT;
RESET statement_timeout;
SELECT method, path, status FROM ld_requests() WHERE method <> 'GET' ORDER BY seq;
-- pg_cancel_backend during the COMMIT's sends, from a second session: 57014;
-- that session's transaction is rolled back and it goes on
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "PATCH", "path": "/ai-configs/oc-1$", "stall_ms": 20000, "times": 1}');
SELECT bg_connect('oc');
SELECT dblink_exec('oc', 'BEGIN');
SELECT dblink_exec('oc', $q$UPDATE ld.ai_configs SET description = 'canceled' WHERE key = 'oc-1'$q$);
SELECT dblink_send_query('oc', 'COMMIT /* oc-cancel */');
SELECT pg_cancel_backend(wait_for_wait_event('/* oc-cancel */'));
DO $$
BEGIN
  FOR i IN 1..500 LOOP
    EXIT WHEN dblink_is_busy('oc') = 0;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
DO $$
BEGIN
  PERFORM * FROM dblink_get_result('oc') AS t(r text);
EXCEPTION WHEN query_canceled THEN
  RAISE NOTICE 'COMMIT failed with %: %', SQLSTATE, SQLERRM;
END $$;
SELECT * FROM dblink_get_result('oc', false) AS t(r text);
SELECT * FROM dblink('oc', 'SELECT txid_current_if_assigned() IS NULL AS idle, 1 AS still_works') AS t(idle bool, still_works int);
SELECT dblink_disconnect('oc');
SELECT method, path, status FROM ld_requests() WHERE method <> 'GET' ORDER BY seq;
SELECT ld_ctl('/_test/faults', '{}', 'DELETE');

-- the queue goes out concurrently (max_concurrency) within one statement's
-- calls; two calls of the same item are never in flight together
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (ADD max_concurrency '4');
SELECT ld_clear_log();
SELECT ld_ctl('/_test/faults', '{"method": "POST", "path": "/ai-configs$", "delay_ms": 200, "times": 8}');
BEGIN;
INSERT INTO ld.ai_configs (key, name) SELECT 'ocb-' || g, 'B' FROM generate_series(1, 8) g;
COMMIT;
SELECT count(*) AS posts, count(DISTINCT body) AS bodies, count(DISTINCT conn) > 1 AS concurrent
  FROM ld_requests() WHERE method = 'POST';
SELECT ld_clear_log();
BEGIN;
UPDATE ld.ai_configs c SET description = v.d
  FROM (VALUES (1, 'ocb-1', 'first'), (2, 'ocb-2', 'only'), (3, 'ocb-1', 'second')) v(n, k, d)
 WHERE c.key = v.k;
COMMIT;
-- (the join decides which of the two comes first; the last one sent wins)
SELECT count(*) AS patches, string_agg(body, ' ' ORDER BY body) AS bodies
  FROM ld_requests() WHERE method = 'PATCH' AND path LIKE '%/ocb-1';
SELECT (SELECT body::jsonb->>'description' FROM ld_requests()
         WHERE method = 'PATCH' AND path LIKE '%/ocb-1' ORDER BY seq DESC LIMIT 1)
       = (SELECT description FROM ld.ai_configs WHERE key = 'ocb-1') AS last_sent_wins;
SELECT key, description FROM ld.ai_configs WHERE key = 'ocb-2';
-- a server altered after calls were queued: the queued calls keep the
-- client they were queued with (it is not closed before COMMIT), while the
-- next query already gets a new one
SELECT ld_clear_log();
BEGIN;
UPDATE ld.ai_configs SET description = 'queued before the ALTER' WHERE key = 'ocb-2';
ALTER SERVER ld OPTIONS (ADD connect_timeout_ms '9000');
SELECT count(*) AS optimizations FROM ld.agent_optimizations WHERE key = 'ticket-summarizer';
COMMIT;
SELECT method, path, body, status FROM ld_requests() WHERE method <> 'GET' ORDER BY seq;
ALTER SERVER ld OPTIONS (DROP connect_timeout_ms);
-- INSERT ... ON CONFLICT DO NOTHING: a 409 at COMMIT skips that row, as it
-- would when sent at once; the COMMIT succeeds
SELECT ld_clear_log();
BEGIN;
INSERT INTO ld.ai_configs (key, name) VALUES ('ocb-2', 'exists'), ('ocb-new', 'new')
  ON CONFLICT DO NOTHING;
COMMIT;
-- (the two POSTs are in flight together: listed by body, not arrival)
SELECT method, path, body, status FROM ld_requests() WHERE method <> 'GET' ORDER BY path, body;
SELECT key, name FROM ld.ai_configs WHERE key IN ('ocb-2', 'ocb-new') ORDER BY key;
-- the same under dry run: both rows shown, nothing sent
SET ldai_fdw.dry_run = on;
SELECT ld_clear_log();
INSERT INTO ld.ai_configs (key, name) VALUES ('ocb-2', 'exists'), ('ocb-dry', 'new')
  ON CONFLICT DO NOTHING;
RESET ldai_fdw.dry_run;
SELECT count(*) AS writes FROM ld_requests() WHERE method <> 'GET';
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (DROP max_concurrency, DROP write_mode);
DELETE FROM ld.ai_configs WHERE key LIKE 'ocb-%';
SELECT ld_reset();
