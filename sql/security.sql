-- Security and encoding: where base_url may point (the host parsed by
-- libcurl), control characters in options, UTF8 only and response text
-- checks, IsForeignRelUpdatable on incomplete tables, and INSERT ... ON
-- CONFLICT DO NOTHING.
\getenv ldurl LDAI_STANDIN_URL
\getenv ldkey LDAI_TEST_API_KEY
SELECT ld_reset();

-- 1. base_url: a non-superuser may name LaunchDarkly's three hosts (https)
--    or loopback; the host is parsed exactly, not matched by prefix
CREATE ROLE ldai_sec_user;
GRANT USAGE ON FOREIGN DATA WRAPPER ldai_fdw TO ldai_sec_user;
SET ROLE ldai_sec_user;
CREATE SERVER sec_evil1 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://localhost.evil.example:8080');
CREATE SERVER sec_evil2 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://127.0.0.1.nip.io');
CREATE SERVER sec_evil3 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://[::ffff:127.0.0.1]');
CREATE SERVER sec_evil4 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://example.com');
CREATE SERVER sec_evil5 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://app.launchdarkly.com.evil.example');
CREATE SERVER sec_evil6 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://localhost.');
-- allowed: the official hosts over https, loopback over http or https
CREATE SERVER sec_ok1 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://app.launchdarkly.com');
CREATE SERVER sec_ok2 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://app.launchdarkly.us');
CREATE SERVER sec_ok3 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://APP.EU.launchdarkly.com:443');
CREATE SERVER sec_ok4 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://127.0.0.2:8080');
CREATE SERVER sec_ok5 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://[::1]:8080');
CREATE SERVER sec_ok6 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://localhost:8080');
CREATE SERVER sec_ok7 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://localhost');
-- plain http to LaunchDarkly's hosts is not allowed: the key would travel in clear
CREATE SERVER sec_evil7 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://app.launchdarkly.com');
-- ALTER is checked the same way
ALTER SERVER sec_ok1 OPTIONS (SET base_url 'https://evil.example');
-- ... but the owner may move a server between the allowed hosts, which moves
-- every user mapping of that server with it (see the README's Secrets)
ALTER SERVER sec_ok1 OPTIONS (SET base_url 'http://127.0.0.1:1');
RESET ROLE;
-- a superuser may set any https host and any http host
CREATE SERVER sec_su1 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'https://ld-proxy.example.internal');
CREATE SERVER sec_su2 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://ld-proxy.example.internal:8080');
-- the validator sees every option of the server: a non-superuser owner cannot
-- change a server whose base_url only a superuser may set
ALTER SERVER sec_su1 OWNER TO ldai_sec_user;
SET ROLE ldai_sec_user;
ALTER SERVER sec_su1 OPTIONS (ADD page_size '10');
RESET ROLE;
-- malformed URLs are invalid values (HV024), not invalid option names (HV00D)
SELECT v, sqlstate_of(format('CREATE SERVER sec_bad FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url %L)', v))
  FROM unnest(ARRAY['ftp://x', 'https://app.launchdarkly.com/api/v2', 'https://user:pw@example.com',
                    'https://example.com?x', 'https://example.com#f', 'https://', 'http://localhost:99999',
                    'http://[::1', 'http://[fe80::1%25eth0]']) v;
CREATE SERVER sec_bad FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url 'http://localhost:99999');
DROP SERVER sec_ok1, sec_ok2, sec_ok3, sec_ok4, sec_ok5, sec_ok6, sec_ok7, sec_su1, sec_su2;
REVOKE USAGE ON FOREIGN DATA WRAPPER ldai_fdw FROM ldai_sec_user;
DROP ROLE ldai_sec_user;

-- 2. control characters (CR/LF header injection): refused in every option,
--    and the value is never printed
CREATE SERVER sec_ctl FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url :'ldurl', project_key 'default', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_ctl OPTIONS (api_key E'not-a-key\r\nX-Injected: yes');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_ctl OPTIONS (api_key E'not-a-key\t');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_ctl OPTIONS (api_key E'not-a-key\x7f');
ALTER SERVER sec_ctl OPTIONS (SET project_key E'default\nX: y');
CREATE FOREIGN TABLE sec_ctl_t (key text) SERVER sec_ctl OPTIONS (resource 'ai_configs', optimization_key E'a\rb');
CREATE FOREIGN TABLE sec_ctl_t (key text OPTIONS (field E'k\ney')) SERVER sec_ctl OPTIONS (resource 'ai_configs');
SELECT sqlstate_of($$CREATE USER MAPPING FOR CURRENT_USER SERVER sec_ctl OPTIONS (api_key E'x\r\ny')$$);
-- a value stored before this check (here: written into the catalog by hand)
-- is refused at request time; nothing is sent
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_ctl OPTIONS (api_key 'not-a-key');
CREATE FOREIGN TABLE sec_ctl_t (key text) SERVER sec_ctl OPTIONS (resource 'ai_configs');
UPDATE pg_user_mapping SET umoptions = ARRAY['api_key=not-a-key' || E'\r\nX-Injected: yes']
 WHERE umserver = (SELECT oid FROM pg_foreign_server WHERE srvname = 'sec_ctl');
SELECT ld_clear_log();
SELECT key FROM sec_ctl_t;
SELECT count(*) AS requests FROM ld_requests();
DROP SERVER sec_ctl CASCADE;

-- 3. encoding: response bodies must be valid UTF-8 without \u0000
-- sec_list(name): a list of one AI Config whose name is the given JSON text
CREATE FUNCTION sec_list(name_json text) RETURNS text LANGUAGE sql AS $$
  SELECT '{"items":[{"key":"enc","name":' || name_json || ',"description":"","tags":[],"version":1,'
         '"variations":[],"createdAt":1767225600000,"updatedAt":1767225600000}],"totalCount":1}'
$$;
-- sec_fault(body): the next list of AI Configs is answered with this body
CREATE FUNCTION sec_fault(body text) RETURNS void LANGUAGE sql AS $$
  SELECT ld_ctl('/_test/faults', json_build_object('method', 'GET', 'path', '/ai-configs$', 'status', 200,
                                                   'body', body)::text)
$$;
-- a name in LATIN1 ("caf" and the byte e9): invalid UTF-8
SELECT ld_ctl('/_test/faults', json_build_object('method', 'GET', 'path', '/ai-configs$', 'body_hex',
       encode(overlay(b PLACING '\xe9'::bytea FROM position('\x23'::bytea IN b) FOR 1), 'hex'))::text)
  FROM (SELECT convert_to(sec_list('"caf#"'), 'UTF8') AS b) x;
SELECT ld_clear_log();
SELECT key, name FROM ld.ai_configs;
SELECT method, path, status FROM ld_requests();
-- an escaped NUL would cut the text short
SELECT sec_fault(sec_list('"a\u0000b"'));
SELECT key, name FROM ld.ai_configs;
-- ... but an escaped backslash followed by "u0000" is just text
SELECT sec_fault(sec_list('"a\\u0000b"'));
SELECT key, name FROM ld.ai_configs;
-- a lone surrogate escape is malformed JSON (cJSON refuses it)
SELECT sec_fault(sec_list('"\ud800"'));
SELECT key, name FROM ld.ai_configs;
-- a proper surrogate pair and non-ASCII text are fine
SELECT sec_fault(sec_list('"caf\u00e9 \ud83d\ude00 Résumé"'));
SELECT key, name FROM ld.ai_configs;
DROP FUNCTION sec_fault(text);
DROP FUNCTION sec_list(text);

-- ldai_fdw requires a UTF8 database
SELECT current_database() AS regdb \gset
CREATE DATABASE ldai_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
SELECT ld_clear_log();
\c ldai_latin1
SET client_min_messages = warning;
CREATE EXTENSION ldai_fdw;
RESET client_min_messages;
CREATE SERVER l1 FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url :'ldurl', project_key 'default');
-- objects that exist already (restored, or made before this check: here
-- through a wrapper without a validator) are refused when used
CREATE FOREIGN DATA WRAPPER ldai_novalid HANDLER ldai_fdw_handler;
CREATE SERVER l2 FOREIGN DATA WRAPPER ldai_novalid OPTIONS (base_url :'ldurl', project_key 'default');
CREATE USER MAPPING FOR CURRENT_USER SERVER l2 OPTIONS (api_key :'ldkey');
CREATE FOREIGN TABLE l2_configs (key text, name text) SERVER l2 OPTIONS (resource 'ai_configs');
SELECT key, name FROM l2_configs;
INSERT INTO l2_configs (key, name) VALUES ('latin1', 'caf' || chr(233));
-- and with the validator, CREATE/ALTER of servers and tables fail
ALTER FOREIGN DATA WRAPPER ldai_novalid VALIDATOR ldai_fdw_validator;
ALTER SERVER l2 OPTIONS (ADD page_size '10');
CREATE FOREIGN TABLE l2_more (key text) SERVER l2 OPTIONS (resource 'ai_configs');
CREATE SCHEMA imp;
IMPORT FOREIGN SCHEMA "default" FROM SERVER l2 INTO imp;
\c :regdb
DROP DATABASE ldai_latin1 WITH (FORCE);
-- nothing reached the stand-in
SELECT count(*) AS requests FROM ld_requests();

-- 4. IsForeignRelUpdatable: a table with incomplete options is not
--    updatable, without an error (information_schema asks every table)
CREATE FOREIGN TABLE sec_noopts (key text, name text) SERVER ld;
CREATE SERVER sec_noproject FOREIGN DATA WRAPPER ldai_fdw OPTIONS (base_url :'ldurl');
CREATE FOREIGN TABLE sec_noproject_t (key text) SERVER sec_noproject OPTIONS (resource 'ai_configs');
SELECT table_schema, table_name, is_insertable_into FROM information_schema.tables
 WHERE table_name IN ('sec_noopts', 'sec_noproject_t', 'ai_configs', 'agent_optimization_latest_results')
 ORDER BY 1, 2;
SELECT table_name, column_name, is_updatable FROM information_schema.columns
 WHERE table_name IN ('sec_noopts', 'sec_noproject_t') ORDER BY 1, ordinal_position;
SELECT pg_relation_is_updatable('sec_noopts'::regclass, false);
-- using it is a clear error
SELECT * FROM sec_noopts;
INSERT INTO sec_noopts VALUES ('k', 'n');
SELECT * FROM sec_noproject_t;
DROP FOREIGN TABLE sec_noopts;
DROP SERVER sec_noproject CASCADE;

-- 5. INSERT ... ON CONFLICT DO NOTHING: a 409 skips the row
SELECT ld_reset();
-- one row at a time (RETURNING): the existing key gives nothing back
INSERT INTO ld.ai_configs (key, name) VALUES ('ticket-summarizer', 'dup'), ('sec-new-1', 'new')
  ON CONFLICT DO NOTHING RETURNING key, name;
SELECT method, path, body, status FROM ld_requests() ORDER BY seq;
-- without the clause, 409 is still 23505
SELECT sqlstate_of($$INSERT INTO ld.ai_configs (key, name) VALUES ('ticket-summarizer', 'dup')$$);
-- batches, with requests in flight: the skipped rows are not counted
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (ADD max_concurrency '4', ADD batch_size '3');
EXPLAIN (VERBOSE, COSTS OFF)
INSERT INTO ld.ai_configs (key, name)
SELECT k, 'batch' FROM unnest(ARRAY['sec-b1', 'ticket-summarizer', 'sec-b2', 'resume-screener', 'sec-b3']) k
    ON CONFLICT DO NOTHING;
SELECT ld_clear_log();
SELECT rows_affected($$INSERT INTO ld.ai_configs (key, name)
  SELECT k, 'batch' FROM unnest(ARRAY['sec-b1', 'ticket-summarizer', 'sec-b2', 'resume-screener', 'sec-b3']) k
  ON CONFLICT DO NOTHING$$);
SELECT method, path, body, status FROM ld_requests() ORDER BY body;
-- a row trigger (one row at a time) does not fire for a skipped row
CREATE TABLE sec_seen (key text);
CREATE FUNCTION sec_note_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sec_seen VALUES (NEW.key);
  RETURN NULL;
END $$;
CREATE TRIGGER sec_note AFTER INSERT ON ld.ai_configs FOR EACH ROW EXECUTE FUNCTION sec_note_row();
SELECT rows_affected($$INSERT INTO ld.ai_configs (key, name)
  SELECT k, 'batch' FROM unnest(ARRAY['sec-b1', 'sec-t1', 'sec-b2', 'sec-t2']) k ON CONFLICT DO NOTHING$$);
SELECT * FROM sec_seen ORDER BY 1;
DROP TRIGGER sec_note ON ld.ai_configs;
DROP TABLE sec_seen;
DROP FUNCTION sec_note_row();
-- other errors still stop the statement
SELECT ld_ctl('/_test/faults', '{"method": "POST", "path": "/ai-configs$", "status": 400}');
INSERT INTO ld.ai_configs (key, name) VALUES ('sec-400', 'bad') ON CONFLICT DO NOTHING;
-- a conflict target or DO UPDATE cannot be used with a foreign table
INSERT INTO ld.ai_configs (key, name) VALUES ('sec-x', 'x') ON CONFLICT (key) DO NOTHING;
INSERT INTO ld.ai_configs (key, name) VALUES ('sec-x', 'x') ON CONFLICT (key) DO UPDATE SET name = 'y';
ALTER FOREIGN TABLE ld.ai_configs OPTIONS (DROP max_concurrency, DROP batch_size);
SELECT key, name FROM ld.ai_configs WHERE key LIKE 'sec-%' ORDER BY key;
SELECT ld_reset();
