-- Writes: INSERT / UPDATE / DELETE become POST / PATCH / DELETE, one call per
-- row, sent when the row is processed; RETURNING gives what the API answered.
SELECT ld_reset();
-- the request log, with bodies (random run ids masked)
CREATE FUNCTION ld_writes() RETURNS TABLE (method text, path text, body text, status int)
LANGUAGE sql AS $$
  SELECT method, path,
         regexp_replace(body, '"runId":"[0-9a-f-]{36}"', '"runId":"<uuid>"'), status
    FROM ld_requests() $$;

-- ai_configs: INSERT -> POST with the API's field names, RETURNING the answer
SELECT ld_clear_log();
INSERT INTO ld.ai_configs (key, name, description, tags, maintainer_id, evaluation_metric_key, is_inverted, mode)
VALUES ('faq-bot', 'FAQ bot', 'Answers FAQs', '{support,faq}', '65f1c2a9e4b0a1d2c3f40022', 'csat', false, 'agent')
RETURNING key, name, mode, version, tags, maintainer_id, created_at, updated_at;
SELECT * FROM ld_writes();
-- UPDATE sends only the columns the statement sets
SELECT ld_clear_log();
UPDATE ld.ai_configs SET description = 'Answers FAQs in 3 languages', tags = '{support,faq,i18n}'
 WHERE key = 'faq-bot' RETURNING key, description, tags, version, updated_at;
SELECT * FROM ld_writes();
UPDATE ld.ai_configs SET maintainer_team_key = 'support-ops', is_inverted = true, name = 'FAQ assistant'
 WHERE key = 'faq-bot' AND name = 'FAQ bot';
SELECT method, path, body FROM ld_writes() WHERE method <> 'GET';

-- ai_config_variations: POST/PATCH/DELETE under the config
SELECT ld_clear_log();
INSERT INTO ld.ai_config_variations (config_key, key, name, model, instructions, tools)
VALUES ('faq-bot', 'gpt4o', 'GPT-4o', '{"modelName": "gpt-4o", "parameters": {"temperature": 0.2}}',
        'Answer from the FAQ only.', '[{"key": "faq-search", "version": 1}]')
RETURNING config_key, key, name, version, model;
UPDATE ld.ai_config_variations SET instructions = 'Answer from the FAQ; cite it.', state = 'published'
 WHERE config_key = 'faq-bot' AND key = 'gpt4o' RETURNING key, version, state, instructions;
SELECT * FROM ld_writes();
SELECT ld_clear_log();
DELETE FROM ld.ai_config_variations WHERE config_key = 'faq-bot' AND key = 'gpt4o';
SELECT * FROM ld_writes();

-- agent_optimizations
SELECT ld_clear_log();
INSERT INTO ld.agent_optimizations (key, ai_config_key, max_attempts, judge_model, model_choices,
                                    judges, acceptance_statements, token_limit, auto_commit)
VALUES ('faq-tune', 'faq-bot', 10, 'OpenAI.gpt-4o', '{OpenAI.gpt-4o,OpenAI.gpt-4o-mini}',
        '[{"key": "accuracy", "threshold": 0.8}]', '[{"statement": "Cites the FAQ", "threshold": 0.9}]',
        2000, true)
RETURNING key, ai_config_key, version, model_choices, user_input_options, created_at;
UPDATE ld.agent_optimizations SET max_attempts = 20, label = 'second try'
 WHERE key = 'faq-tune' RETURNING key, max_attempts, label, version;
SELECT * FROM ld_writes();

-- agent_optimization_results: a pipeline inserts results, a job grades them
SELECT ld_clear_log();
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input, parameters)
VALUES ('faq-tune', 'aaaaaaaa-0000-4000-8000-000000000001', 2, 1, 'Answer from the FAQ only.',
        'How do I reset my password?', '{"temperature": 0.2}'),
       ('faq-tune', 'aaaaaaaa-0000-4000-8000-000000000001', 2, 2, 'Answer from the FAQ; cite it.',
        'Où est ma facture ?', NULL)
RETURNING id, run_id, status, activity, iteration, created_at, completed_at;
SELECT * FROM ld_writes();
-- run_id may be left out: the statement's rows get one fresh run id
INSERT INTO ld.agent_optimization_results
  (optimization_key, agent_optimization_version, iteration, instructions, user_input)
VALUES ('faq-tune', 2, 1, 'x', 'first'), ('faq-tune', 2, 2, 'x', 'second')
RETURNING run_id IS NOT NULL AS has_run, iteration;
SELECT count(DISTINCT run_id) AS runs FROM ld.agent_optimization_results
 WHERE optimization_key = 'faq-tune' AND user_input IN ('first', 'second');
-- UPDATE: PATCH of exactly the columns set
SELECT ld_clear_log();
UPDATE ld.agent_optimization_results
   SET status = 'PASSED', activity = 'COMPLETED',
       scores = '{"accuracy": {"score": 0.93, "rationale": "cites the FAQ"}}',
       generation_tokens = '{"total": 812, "input": 600, "output": 212}', generation_latency = 1840
 WHERE optimization_key = 'faq-tune' AND iteration = 1 AND user_input = 'How do I reset my password?'
RETURNING status, activity, scores, generation_latency, completed_at;
SELECT * FROM ld_writes() WHERE method <> 'GET';

-- UPDATE ... FROM a local table of verdicts: one PATCH per matching row
CREATE TEMP TABLE verdicts (user_input text, verdict text, score numeric);
INSERT INTO verdicts VALUES ('Où est ma facture ?', 'FAILED', 0.41), ('second', 'PASSED', 0.88),
                            ('nobody asked this', 'PASSED', 1);
SELECT ld_clear_log();
UPDATE ld.agent_optimization_results r
   SET status = v.verdict, scores = jsonb_build_object('accuracy', jsonb_build_object('score', v.score))
  FROM verdicts v
 WHERE r.optimization_key = 'faq-tune' AND r.user_input = v.user_input;
SELECT method, regexp_replace(path, '[0-9a-f-]{36}$', '<id>') AS path, body, status
  FROM ld_writes() WHERE method <> 'GET' ORDER BY body;
SELECT user_input, status, scores->'accuracy'->>'score' AS score
  FROM ld.agent_optimization_results WHERE optimization_key = 'faq-tune' ORDER BY user_input;

-- INSERT ... SELECT from a local evaluation table
CREATE TEMP TABLE eval_cases (n int, prompt text);
INSERT INTO eval_cases VALUES (1, 'Cancel my plan'), (2, 'Change my email'), (3, 'Export my data');
SELECT ld_clear_log();
INSERT INTO ld.agent_optimization_results
  (optimization_key, run_id, agent_optimization_version, iteration, instructions, user_input)
SELECT 'faq-tune', 'bbbbbbbb-0000-4000-8000-000000000002', 2, n, 'Answer from the FAQ only.', prompt
  FROM eval_cases ORDER BY n;
SELECT method, path, body, status FROM ld_writes();

-- agent_optimization_runs: DELETE needs LD-API-Version: beta
SELECT ld_clear_log();
DELETE FROM ld.agent_optimization_runs
 WHERE optimization_key = 'faq-tune' AND run_id = 'bbbbbbbb-0000-4000-8000-000000000002'
RETURNING optimization_key, run_id, status;
SELECT method, path, status, headers->>'ld-api-version' AS api_version FROM ld_requests() WHERE method = 'DELETE';

-- DELETE agent_optimizations and ai_configs
SELECT ld_clear_log();
DELETE FROM ld.agent_optimizations WHERE key = 'faq-tune' AND max_attempts = 20;
DELETE FROM ld.ai_configs WHERE key = 'faq-bot' AND version > 0;
SELECT method, path, status FROM ld_writes() WHERE method = 'DELETE';

-- errors before any request: columns the API cannot set, required columns
SELECT ld_clear_log();
INSERT INTO ld.agent_optimization_results (optimization_key, run_id, agent_optimization_version,
  iteration, instructions, user_input, status)
VALUES ('support-triage', 'aaaaaaaa-0000-4000-8000-000000000009', 1, 1, 'i', 'u', 'PASSED');
INSERT INTO ld.ai_configs (key, name, attrs) VALUES ('k', 'n', '{}');
INSERT INTO ld.ai_configs (key, description) VALUES ('k', 'no name');
INSERT INTO ld.agent_optimizations (key, ai_config_key, max_attempts) VALUES ('k', 'c', 1);
UPDATE ld.agent_optimization_results SET instructions = 'x' WHERE optimization_key = 'support-triage';
UPDATE ld.agent_optimizations SET key = 'renamed' WHERE key = 'support-triage';
UPDATE ld.agent_optimizations SET ai_config_key = 'other' WHERE key = 'support-triage';
UPDATE ld.ai_configs SET mode = 'judge' WHERE key = 'ticket-summarizer';
UPDATE ld.ai_configs SET description = NULL WHERE key = 'ticket-summarizer';
INSERT INTO ld.agent_optimization_runs (optimization_key) VALUES ('x');
UPDATE ld.agent_optimization_latest_results SET status = 'PASSED';
SELECT count(*) AS requests_other_than_get FROM ld_requests() WHERE method <> 'GET';

-- API errors: 409 (duplicate key) -> 23505, 400 -> 22023, with status, code, message, request
INSERT INTO ld.ai_configs (key, name) VALUES ('ticket-summarizer', 'duplicate');
SELECT sqlstate_of($$INSERT INTO ld.ai_configs (key, name) VALUES ('ticket-summarizer', 'duplicate')$$);
INSERT INTO ld.ai_configs (key, name, maintainer_id) VALUES ('new-one', 'bad maintainer', 'nobody');
SELECT sqlstate_of($$INSERT INTO ld.ai_configs (key, name, maintainer_id) VALUES ('new-one', 'bad maintainer', 'nobody')$$);
-- the first failing row stops the statement and is reported; earlier rows were sent
SELECT ld_clear_log();
INSERT INTO ld.ai_configs (key, name) VALUES ('ok-1', 'first'), ('ticket-summarizer', 'dup'), ('ok-3', 'never sent');
SELECT method, path, body, status FROM ld_writes();
DELETE FROM ld.ai_configs WHERE key = 'ok-1';
-- a row that vanished between the read and the write is an error, not a no-op
SELECT ld_ctl('/_test/faults', '{"method": "PATCH", "path": "/ai-configs/", "status": 404, "times": 1}');
UPDATE ld.ai_configs SET description = 'gone?' WHERE key = 'resume-screener' AND version = 1;
-- a ROLLBACK does not undo a call that was sent
BEGIN;
INSERT INTO ld.ai_configs (key, name) VALUES ('rolled-back', 'still there');
ROLLBACK;
SELECT key, name FROM ld.ai_configs WHERE key = 'rolled-back';
DELETE FROM ld.ai_configs WHERE key = 'rolled-back';
