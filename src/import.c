/*-------------------------------------------------------------------------
 *
 * import.c
 *		  IMPORT FOREIGN SCHEMA "<project-key>": one foreign table per
 *		  resource of the catalog, with no network call.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "commands/defrem.h"
#include "utils/builtins.h"

/*
 * import_updatable
 *		The IMPORT option updatable (checked as a boolean), as the table
 *		option text to add, or "" when not given.
 */
static const char *
import_updatable(ImportForeignSchemaStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);

		if (strcmp(d->defname, "updatable") == 0)
			return defGetBoolean(d) ? ", updatable 'true'" : ", updatable 'false'";
	}
	return "";
}

/*
 * wanted
 *		Whether LIMIT TO / EXCEPT lets a table through.
 */
static bool
wanted(ImportForeignSchemaStmt *stmt, const char *name)
{
	ListCell   *lc;
	bool		listed = false;

	if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
		return true;
	foreach(lc, stmt->table_list)
		if (strcmp(((RangeVar *) lfirst(lc))->relname, name) == 0)
			listed = true;
	return stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO ? listed : !listed;
}

/*
 * table_sql
 *		The CREATE FOREIGN TABLE statement of one resource.
 */
static char *
table_sql(ImportForeignSchemaStmt *stmt, const LdResource *res)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (\n",
					 quote_identifier(res->name));
	for (i = 0; i < res->ncolumns; i++)
	{
		const LdColumn *c = &res->columns[i];

		appendStringInfo(&buf, "  %s %s", quote_identifier(c->name), c->type);
		/* state the field only where it is not the camelCase default */
		if (c->field != NULL)
			appendStringInfo(&buf, " OPTIONS (field %s)",
							 quote_literal_cstr(c->field));
		appendStringInfoString(&buf, i + 1 < res->ncolumns ? ",\n" : "\n");
	}
	appendStringInfo(&buf, ") SERVER %s OPTIONS (resource %s, project_key %s%s)",
					 quote_identifier(stmt->server_name),
					 quote_literal_cstr(res->name),
					 quote_literal_cstr(stmt->remote_schema),
					 import_updatable(stmt));
	return buf.data;
}

/*
 * ldImportForeignSchema
 *		The statements creating the catalog's tables for a project.
 */
List *
ldImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	List	   *cmds = NIL;
	int			i;

	for (i = 0; i < ld_resource_count(); i++)
	{
		const LdResource *res = ld_resource_at(i);

		if (wanted(stmt, res->name))
			cmds = lappend(cmds, table_sql(stmt, res));
	}
	return cmds;
}
