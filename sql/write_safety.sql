-- Write safety: updatable 'false' refuses writes before any request;
-- ldai_fdw.dry_run shows each would-be call and sends none;
-- ldai_fdw.application_name goes into the User-Agent.
SELECT ld_reset();

-- updatable 'false' on the table: every write is refused at plan time
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (ADD updatable 'false');
SELECT ld_clear_log();
INSERT INTO ld.ai_configs (key, name) VALUES ('ro-1', 'R');
UPDATE ld.ai_configs SET description = 'x' WHERE key = 'ticket-summarizer';
UPDATE ld.ai_configs SET description = 'x' WHERE mode = 'completion';
DELETE FROM ld.ai_configs WHERE key = 'ticket-summarizer';
DELETE FROM ld.ai_configs WHERE mode = 'completion';
-- no request at all
SELECT count(*) AS requests FROM ld_requests();
-- PostgreSQL knows it too (as postgres_fdw's option of that name)
SELECT is_insertable_into FROM information_schema.tables
 WHERE table_schema = 'ld' AND table_name = 'ai_configs';
SELECT is_updatable FROM information_schema.columns
 WHERE table_schema = 'ld' AND table_name = 'ai_configs' AND column_name = 'name';
-- reads work as before
SELECT key FROM ld.ai_configs WHERE key = 'ticket-summarizer';
-- on the server, for every table; a table's own option wins
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (DROP updatable);
ALTER SERVER ld OPTIONS (ADD updatable 'false');
SELECT ld_clear_log();
UPDATE ld.agent_optimizations SET max_attempts = 3 WHERE key = 'code-review-bot';
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (ADD updatable 'true');
UPDATE ld.ai_configs SET description = 'writable again' WHERE key = 'ticket-summarizer';
SELECT method, path, body FROM ld_requests() ORDER BY seq;
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (DROP updatable);
ALTER SERVER ld OPTIONS (DROP updatable);
-- a bad value
ALTER SERVER ld OPTIONS (ADD updatable 'sometimes');
-- IMPORT FOREIGN SCHEMA ... OPTIONS (updatable 'false') sets it on every table
CREATE SCHEMA ld_ro;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_configs, agent_optimization_results)
  FROM SERVER ld INTO ld_ro OPTIONS (updatable 'false');
SELECT c.relname, ft.ftoptions
  FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
 WHERE c.relnamespace = 'ld_ro'::regnamespace ORDER BY 1;
SELECT ld_clear_log();
INSERT INTO ld_ro.ai_configs (key, name) VALUES ('ro-2', 'R');
SELECT count(*) AS requests FROM ld_requests();
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_configs)
  FROM SERVER ld INTO ld_ro OPTIONS (updatable 'perhaps');
DROP SCHEMA ld_ro CASCADE;

-- ldai_fdw.dry_run: each would-be call is a NOTICE (method, path, JSON
-- body), nothing is sent, and the statement reports the rows it would change
SET ldai_fdw.dry_run = on;
SELECT ld_clear_log();
-- direct modify (no read)
SELECT rows_affected($$UPDATE ld.ai_configs SET description = 'dry' WHERE key = 'ticket-summarizer'$$);
SELECT rows_affected($$DELETE FROM ld.ai_configs WHERE key = 'ops/triage?v=2%'$$);
UPDATE ld.ai_configs SET name = 'Dry' WHERE key = 'resume-screener' RETURNING key, name, description;
-- INSERT in batches (batch_size 2: two batches)
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (ADD batch_size '2');
SELECT rows_affected($$INSERT INTO ld.ai_configs (key, name, tags)
                   SELECT 'dry-' || g, 'Dry ' || g, ARRAY['t' || g] FROM generate_series(1, 3) g$$);
-- RETURNING shows the row as given (nothing the API would decide)
INSERT INTO ld.ai_configs (key, name) VALUES ('dry-r', 'R') RETURNING key, name, version;
-- UPDATE and DELETE that read first, with requests kept in flight
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (ADD max_concurrency '4');
SELECT rows_affected($$UPDATE ld.ai_configs SET description = 'checked ' || key WHERE mode = 'completion'$$);
SELECT rows_affected($$DELETE FROM ld.ai_configs WHERE mode = 'completion'$$);
-- runs need a header on DELETE; the NOTICE is the call
SELECT rows_affected($$DELETE FROM ld.agent_optimization_runs
                   WHERE optimization_key = 'code-review-bot' AND run_id = 'cc734f07-942c-400c-afa3-584189f688b7'$$);
-- checks still run: a required column that is NULL fails as always
INSERT INTO ld.ai_configs (key, name) VALUES ('dry-bad', NULL);
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (DROP batch_size, DROP max_concurrency);
-- only reads reached the API
SELECT method, count(*) FROM ld_requests() GROUP BY 1 ORDER BY 1;
RESET ldai_fdw.dry_run;
-- nothing changed
SELECT key, name, description FROM ld.ai_configs ORDER BY key;

-- ldai_fdw.application_name: the User-Agent the API (and its audit log) sees
SELECT ld_clear_log();
SELECT count(*) FROM ld.ai_configs WHERE key = 'ticket-summarizer';
SET ldai_fdw.application_name = 'nightly-sync';
SELECT count(*) FROM ld.ai_configs WHERE key = 'ticket-summarizer';
UPDATE ld.ai_configs SET description = 'synced' WHERE key = 'ticket-summarizer';
SELECT method, regexp_replace(headers->>'user-agent', '^ldai_fdw/[0-9.]+', 'ldai_fdw/<version>') AS user_agent
  FROM ld_requests() ORDER BY seq;
RESET ldai_fdw.application_name;
-- no line breaks or other control characters (they would add headers)
SET ldai_fdw.application_name = E'sync\nX-Injected: 1';
SHOW ldai_fdw.application_name;

-- (found on the way) UPDATE ... RETURNING with max_concurrency above 1 waits
-- for each row's answer and returns it: the API's new updated_at (the stand-in's
-- clock starts at 2026-01-01; the seed's dates are later),
-- not the row as read; one PATCH at a time
SELECT ld_reset();
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (ADD max_concurrency '4');
SELECT ld_clear_log();
UPDATE ld.ai_configs SET description = 'answered' WHERE mode = 'completion'
RETURNING key, description, updated_at < '2026-01-02 00:00:00+00' AS updated_by_the_api;
SELECT method, path FROM ld_requests() ORDER BY seq;
SELECT count(DISTINCT conn) AS connections FROM ld_requests();
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (DROP max_concurrency);
SELECT ld_reset();
