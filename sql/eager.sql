-- Eager pages: the planner tells the scan whether the executor reads every
-- row.  Then a series' next pages are asked for as soon as its first page
-- says there are more (up to max_concurrency in flight); when it may stop
-- early after a count of rows (a LIMIT above that is not pushed), pages are
-- asked for on demand, one page ahead, so a stopped scan wastes at most one
-- GET; a cursor keeps the on-demand window that grows up to max_concurrency.
SELECT ld_reset();
ALTER SERVER ld OPTIONS (SET page_size '10', DROP max_concurrency);  -- the default, 4

-- a LIMIT under a local filter (every row passes it): GETs <= pages needed + 1
SELECT ld_clear_log();
SELECT count(1) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' AND length(id::text) = 36
                       LIMIT 5) s;
SELECT count(*) AS requests, count(*) <= 2 AS at_most_one_ahead FROM ld_requests();
SELECT ld_clear_log();
SELECT count(1) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' AND length(id::text) = 36
                       LIMIT 95) s;
SELECT count(*) AS requests, count(*) <= 11 AS at_most_one_ahead FROM ld_requests();
SELECT ld_clear_log();
SELECT count(1) FROM (SELECT id FROM ld.agent_optimization_results
                       WHERE optimization_key = 'support-triage' AND length(id::text) = 36
                       LIMIT 200) s;
SELECT count(*) AS requests, count(*) <= 21 AS at_most_one_ahead FROM ld_requests();

-- a cursor (cursor_tuple_fraction) may be stopped or read to its end: on
-- demand, the window growing one page at a time up to max_concurrency
SELECT ld_clear_log();
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM ld.agent_optimization_results
                      WHERE optimization_key = 'support-triage';
FETCH 45 FROM c \g /dev/null
CLOSE c;
COMMIT;
SELECT count(*) <= 9 AS at_most_4_ahead FROM ld_requests();

-- every row read: the next pages are asked for once the first page is in, before
-- the executor has used any row of it (here it fails on the first row)
CREATE FUNCTION eager_fail(uuid) RETURNS int LANGUAGE plpgsql VOLATILE AS
$$BEGIN RAISE EXCEPTION 'stop at the first row'; END$$;
SELECT ld_clear_log();
SELECT eager_fail(id) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT pg_sleep(0.2);
-- (the page read and max_concurrency pages ahead, none further)
SELECT count(*) > 1 AS asked_ahead, count(*) <= 5 AS within_max_concurrency,
       bool_and(query ~ 'offset=(0|10|20|30|40)$') AS first_pages FROM ld_requests();
DROP FUNCTION eager_fail(uuid);
-- ... and a full read still asks every page once, concurrently
SELECT ld_clear_log();
SELECT count(1) FROM ld.agent_optimization_results WHERE optimization_key = 'support-triage';
SELECT count(*) AS requests, count(DISTINCT query) AS distinct_pages,
       count(DISTINCT conn) > 1 AS concurrent FROM ld_requests();
-- max_concurrency '1' stays strictly sequential
CREATE FOREIGN TABLE eager_seq (id uuid) SERVER ld
  OPTIONS (resource 'agent_optimization_results', optimization_key 'support-triage',
           max_concurrency '1');
SELECT ld_clear_log();
SELECT count(1) FROM eager_seq;
SELECT count(*) AS requests, count(DISTINCT conn) AS connections FROM ld_requests();
DROP FOREIGN TABLE eager_seq;

ALTER SERVER ld OPTIONS (SET page_size '100', ADD max_concurrency '1');
