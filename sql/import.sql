-- IMPORT FOREIGN SCHEMA creates the contract's tables and columns with no
-- request; LIMIT TO and EXCEPT are honoured.
SELECT ld_reset();
CREATE SCHEMA imp1;
IMPORT FOREIGN SCHEMA "my-project" FROM SERVER ld INTO imp1;
SELECT table_name, string_agg(column_name || ' ' ||
         CASE WHEN data_type = 'ARRAY' THEN udt_name ELSE data_type END, ', ' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_schema = 'imp1'
 GROUP BY 1 ORDER BY 1;
SELECT c.relname, ft.ftoptions FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
 WHERE c.relnamespace = 'imp1'::regnamespace ORDER BY 1;
SELECT c.relname, a.attname, a.attfdwoptions
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'imp1'::regnamespace AND a.attfdwoptions IS NOT NULL ORDER BY 1, 2;
CREATE SCHEMA imp2;
IMPORT FOREIGN SCHEMA "default" LIMIT TO (ai_configs, agent_optimization_runs, not_a_table)
  FROM SERVER ld INTO imp2;
SELECT relname FROM pg_class WHERE relnamespace = 'imp2'::regnamespace ORDER BY 1;
CREATE SCHEMA imp3;
IMPORT FOREIGN SCHEMA "default" EXCEPT (ai_configs, agent_optimization_results)
  FROM SERVER ld INTO imp3;
SELECT relname FROM pg_class WHERE relnamespace = 'imp3'::regnamespace ORDER BY 1;
-- no request was sent
SELECT count(*) AS requests FROM ld_requests();
-- an imported table of another project works at once
SELECT count(*) FROM imp2.ai_configs;
SELECT path, status FROM ld_requests();
DROP SCHEMA imp1, imp2, imp3 CASCADE;
