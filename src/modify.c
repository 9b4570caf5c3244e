/*-------------------------------------------------------------------------
 *
 * modify.c
 *		  INSERT / UPDATE / DELETE as POST / PATCH / DELETE, with RETURNING.
 *
 * Each row is one API call, sent when the row is processed (and, for
 * concurrent writes, possibly finished while later rows are processed:
 * batch.c); a ROLLBACK cannot undo it -- unless ldai_fdw.dry_run or
 * write_mode 'on_commit' divert the call (xact.c).  The row identity of a
 * resource is the set of keys in its item path (catalog.c: LdWrites.item),
 * carried to UPDATE and DELETE as
 * junk columns.  Everything that can be checked without the API -- columns
 * the API cannot set, required columns that are NULL -- is checked before
 * the row's request is built (and, where the statement shows it, before
 * any row is processed).
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/pathnode.h"
#include "optimizer/appendinfo.h"
#include "optimizer/inherit.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* indexes of the fdw_private list PlanForeignModify returns */
enum LdModifyPrivate
{
	/* attribute numbers an UPDATE sets (List of Integer) */
	LdModTargetAttrs
};

static const char *deferred_request(LdModifyState *s, const char *const *keys,
									cJSON *body, char **text);
static void deleted_row(LdModifyState *s, ResultRelInfo *rinfo, TupleTableSlot *slot,
						TupleTableSlot *planSlot);
static void missing_partner(LdModifyState *s, const char *name, const char *partner);

/*
 * rel_resource
 *		The catalog entry of a foreign table.
 */
static const LdResource *
rel_resource(Relation rel, LdOptions *opts)
{
	ld_get_options(RelationGetRelid(rel), opts);
	return ld_find_resource(opts->resource);
}

/*
 * partner_of
 *		For a column an UPDATE sets: the column the API wants in the same
 *		body (LdColumn.with: an agent graph's root_config_key and edges),
 *		when the statement does not set it too; else InvalidAttrNumber.
 *		Its current value is then read with the row and sent along.
 */
static AttrNumber
partner_of(Oid relid, const LdResource *res, AttrNumber attnum, List *targets)
{
	const LdColumn *col = ld_find_column(res, get_attname(relid, attnum, false));
	AttrNumber	partner;

	if (col == NULL || col->with == NULL)
		return InvalidAttrNumber;
	partner = get_attnum(relid, col->with);
	if (partner == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
				 errmsg("foreign table \"%s\" needs column \"%s\" to update \"%s\"",
						get_rel_name(relid), col->with, col->name),
				 errdetail("LaunchDarkly's API takes \"%s\" and \"%s\" together.",
						   col->name, col->with)));
	return list_member_int(targets, partner) ? InvalidAttrNumber : partner;
}

/*
 * ld_targets_complete
 *		Whether an UPDATE's columns need no other column's current value
 *		(see partner_of): only then can it be sent without reading the row.
 */
bool
ld_targets_complete(Oid relid, const LdResource *res, List *targets)
{
	ListCell   *lc;

	foreach(lc, targets)
		if (partner_of(relid, res, lfirst_int(lc), targets) != InvalidAttrNumber)
			return false;
	return true;
}

/*
 * add_partner_targets
 *		UPDATE: read the current value of each column that must be sent
 *		along with a column the statement sets, as junk "ld_with_<name>".
 */
static void
add_partner_targets(PlannerInfo *root, Index rtindex, Relation rel,
					const LdResource *res)
{
	Oid			relid = RelationGetRelid(rel);
	ListCell   *lc;

	foreach(lc, root->update_colnos)
	{
		AttrNumber	p = partner_of(relid, res, lfirst_int(lc), root->update_colnos);
		Form_pg_attribute att;

		if (p == InvalidAttrNumber)
			continue;
		att = TupleDescAttr(RelationGetDescr(rel), p - 1);
		add_row_identity_var(root, makeVar(rtindex, p, att->atttypid, att->atttypmod,
										   att->attcollation, 0),
							 rtindex, psprintf("ld_with_%s", NameStr(att->attname)));
	}
}

/*
 * ldAddForeignUpdateTargets
 *		Add the row identity (the item path's keys) as junk columns, and
 *		the whole row for DELETE ... RETURNING.
 */
void
ldAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
						  RangeTblEntry *target_rte, Relation target_relation)
{
	LdOptions	opts;
	const LdResource *res = rel_resource(target_relation, &opts);
	uint32		keys = ld_identity_keys(res);
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
	{
		const LdColumn *col;
		AttrNumber	attnum;
		Form_pg_attribute att;

		if (!(keys & LD_KEY_BIT(k)))
			continue;
		col = ld_key_column(res, (LdKey) k);
		attnum = col ? get_attnum(RelationGetRelid(target_relation), col->name) : InvalidAttrNumber;
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("foreign table \"%s\" needs column \"%s\" to identify rows",
							RelationGetRelationName(target_relation), ld_key_name(k))));
		att = TupleDescAttr(RelationGetDescr(target_relation), attnum - 1);
		add_row_identity_var(root, makeVar(rtindex, attnum, att->atttypid,
										   att->atttypmod, att->attcollation, 0),
							 rtindex, psprintf("ld_%s", ld_key_name(k)));
	}
	if (root->parse->commandType == CMD_DELETE && root->parse->returningList != NIL)
		add_row_identity_var(root, makeWholeRowVar(target_rte, rtindex, 0, false),
							 rtindex, "ld_wholerow");
	if (root->parse->commandType == CMD_UPDATE)
		add_partner_targets(root, rtindex, target_relation, res);
}

/*
 * settable_list
 *		The columns of a resource with a write flag, for hints.
 */
static char *
settable_list(const LdResource *res, uint16 flag)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < res->ncolumns; i++)
		if (res->columns[i].flags & flag)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", res->columns[i].name);
	return buf.len ? buf.data : "(none)";
}

/*
 * reject_column
 *		ERROR for a column the API cannot take in this statement.
 */
static void
reject_column(const LdResource *res, const char *colname, CmdType op)
{
	bool		ins = (op == CMD_INSERT);

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("column \"%s\" of %s cannot be set by %s", colname, res->name,
					ins ? "INSERT" : "UPDATE"),
			 errdetail("LaunchDarkly's API does not accept \"%s\" when %s.", colname,
					   ins ? "creating" : "updating"),
			 errhint("Columns that can be set: %s.",
					 settable_list(res, ins ? LDC_INSERT : (LDC_UPDATE | LDC_MEMBER)))));
}

/*
 * check_insert_tlist
 *		Before any row: an INSERT that gives a column the API does not
 *		accept on create, or a constant NULL for a required one, fails.
 */
static void
check_insert_tlist(PlannerInfo *root, Relation rel, const LdResource *res)
{
	ListCell   *lc;

	foreach(lc, root->processed_tlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		const LdColumn *col;
		bool		null_const;

		if (tle->resjunk || tle->resno <= 0 ||
			TupleDescAttr(RelationGetDescr(rel), tle->resno - 1)->attisdropped)
			continue;
		col = ld_find_column(res, get_attname(RelationGetRelid(rel), tle->resno, false));
		null_const = IsA(tle->expr, Const) && ((Const *) tle->expr)->constisnull;
		if (!null_const && (col == NULL || !(col->flags & LDC_INSERT)))
			reject_column(res, get_attname(RelationGetRelid(rel), tle->resno, false),
						  CMD_INSERT);
		if (null_const && col && (col->flags & LDC_REQUIRED) && col->key != LDK_RUN)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("column \"%s\" is required to create a row of %s",
							col->name, res->name),
					 errhint("Required columns: %s.", settable_list(res, LDC_REQUIRED))));
	}
}

/*
 * ld_update_targets
 *		The columns an UPDATE sets; an error for one the API cannot change.
 */
List *
ld_update_targets(PlannerInfo *root, Index resultRelation, Oid relid,
				  const LdResource *res)
{
	RelOptInfo *baserel = find_base_rel(root, resultRelation);
	Bitmapset  *cols = get_rel_all_updated_cols(root, baserel);
	List	   *targets = NIL;
	const char *member = NULL;
	const char *other = NULL;
	int			i = -1;

	while ((i = bms_next_member(cols, i)) >= 0)
	{
		AttrNumber	attnum = i + FirstLowInvalidHeapAttributeNumber;
		char	   *name;
		const LdColumn *col;

		if (attnum <= 0)
			continue;
		name = get_attname(relid, attnum, false);
		col = ld_find_column(res, name);
		if (col == NULL || !(col->flags & (LDC_UPDATE | LDC_MEMBER)) ||
			((col->flags & LDC_MEMBER) && res->writes.member_list == NULL))
			reject_column(res, name, CMD_UPDATE);
		if (col->flags & LDC_MEMBER)
			member = name;
		else
			other = name;
		targets = lappend_int(targets, attnum);
	}
	/* a member column goes in its own request: nothing else with it */
	if (member && other)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" of %s cannot be set together with \"%s\"",
						member, res->name, other),
				 errdetail("LaunchDarkly sets \"%s\" through a list of keys, not through the item.",
						   member),
				 errhint("Use one UPDATE for each.")));
	return targets;
}

/*
 * ldPlanForeignModify
 *		Check the statement against what the API can do, and remember the
 *		columns an UPDATE sets (only those are sent).
 */
List *
ldPlanForeignModify(PlannerInfo *root, ModifyTable *plan, Index resultRelation,
					int subplan_index)
{
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	Relation	rel = table_open(rte->relid, NoLock);
	LdOptions	opts;
	const LdResource *res = rel_resource(rel, &opts);
	List	   *targets = NIL;

	ld_check_updatable(&opts, RelationGetRelationName(rel), plan->operation);
	if (plan->operation == CMD_INSERT)
		check_insert_tlist(root, rel, res);
	else if (plan->operation == CMD_UPDATE)
		targets = ld_update_targets(root, resultRelation, rte->relid, res);
	table_close(rel, NoLock);
	return list_make1(targets);
}

/*
 * ldIsForeignRelUpdatable
 *		Which statements a resource supports, from the catalog; none for a
 *		table whose options are incomplete.
 */
int
ldIsForeignRelUpdatable(Relation rel)
{
	const LdResource *res = ld_table_resource(RelationGetRelid(rel));
	LdOptions	opts;
	int			ops = 0;

	/* no error for incomplete options: information_schema asks every table */
	if (res == NULL)
		return 0;
	ld_get_options(RelationGetRelid(rel), &opts);
	if (!opts.updatable)
		return 0;
	if (res->writes.create)
		ops |= (1 << CMD_INSERT);
	if (res->writes.can_update)
		ops |= (1 << CMD_UPDATE);
	if (res->writes.can_delete)
		ops |= (1 << CMD_DELETE);
	return ops;
}

/*
 * new_uuid
 *		A random (version 4) UUID as text, for the run_id of new results.
 */
static void
new_uuid(char *out)
{
	uint8		b[16];
	int			i;

	if (!pg_strong_random(b, sizeof(b)))
		for (i = 0; i < 16; i++)
			b[i] = (uint8) pg_prng_uint32(&pg_global_prng_state);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
			 b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
 * all_attnums
 *		Every live column of a relation.
 */
static List *
all_attnums(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *out = NIL;
	int			i;

	for (i = 1; i <= desc->natts; i++)
		if (!TupleDescAttr(desc, i - 1)->attisdropped)
			out = lappend_int(out, i);
	return out;
}

/*
 * skips_conflicts
 *		Whether the statement is INSERT ... ON CONFLICT DO NOTHING: then a
 *		409 (the item exists) skips the row instead of failing.  Such rows
 *		are not sent in the background (ld_defer_row), since whether each
 *		row counts must be known when the executor counts it.
 */
static bool
skips_conflicts(ModifyTableState *mtstate)
{
	return mtstate->operation == CMD_INSERT &&
		((ModifyTable *) mtstate->ps.plan)->onConflictAction == ONCONFLICT_NOTHING;
}

/*
 * ldBeginForeignModify
 *		Connect, describe the columns, find the identity junk columns.
 */
void
ldBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
					 List *fdw_private, int subplan_index, int eflags)
{
	Relation	rel = rinfo->ri_RelationDesc;
	LdModifyState *s = palloc0(sizeof(LdModifyState));
	EState	   *estate = mtstate->ps.state;
	Oid			userid;
	int			k;

	rinfo->ri_FdwState = s;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	s->res = rel_resource(rel, &s->opts);
	s->operation = mtstate->operation;
	s->write_group = ld_write_begin(&s->opts,
									((ModifyTable *) mtstate->ps.plan)->returningLists != NIL,
									RelationGetRelationName(rel));
	s->target_attrs = (List *) linitial(fdw_private);
#if PG_VERSION_NUM >= 160000
	userid = ExecGetResultRelCheckAsUser(rinfo, estate);
#else
	{
		RangeTblEntry *rte = exec_rt_fetch(rinfo->ri_RangeTableIndex, estate);

		userid = rte->checkAsUser;
	}
#endif
	s->conn = ld_connection_for(RelationGetRelid(rel), userid, &s->opts);
	s->attrs = ld_build_attrs(rel, s->res, all_attnums(rel), &s->nattrs);
	s->row_cxt = AllocSetContextCreate(estate->es_query_cxt, "ldai_fdw row",
									   ALLOCSET_DEFAULT_SIZES);
	new_uuid(s->new_run_id);
	s->skip_conflicts = skips_conflicts(mtstate);
	if (s->skip_conflicts)
		ld_write_skip_conflicts(s->write_group);
	ld_member_begin(s, RelationGetRelationName(rel), estate->es_query_cxt);
	/* RETURNING is not set up in rinfo yet: the plan says whether there is one */
	if (!s->skip_conflicts && s->member == NULL &&
		ld_can_defer(rinfo, s->operation, &s->opts) &&
		((ModifyTable *) mtstate->ps.plan)->returningLists == NIL)
		ld_defer_begin(s, AllocSetContextCreate(estate->es_query_cxt, "ldai_fdw writes",
												ALLOCSET_DEFAULT_SIZES));
	if (s->operation == CMD_INSERT)
		return;
	for (k = 1; k < LDK_COUNT; k++)
	{
		char	   *name = psprintf("ld_%s", ld_key_name(k));
		Plan	   *sub = outerPlanState(mtstate)->plan;

		s->key_junk[k] = ExecFindJunkAttributeInTlist(sub->targetlist, name);
		if (s->key_junk[k] != InvalidAttrNumber)
			s->key_type[k] = exprType((Node *) list_nth_node(TargetEntry, sub->targetlist,
															s->key_junk[k] - 1)->expr);
	}
	s->wholerow_junk = ExecFindJunkAttributeInTlist(outerPlanState(mtstate)->plan->targetlist,
													"ld_wholerow");
	s->with_junk = palloc0(sizeof(AttrNumber) * Max(s->nattrs, 1));
	for (k = 0; k < s->nattrs; k++)
		s->with_junk[k] = ExecFindJunkAttributeInTlist(outerPlanState(mtstate)->plan->targetlist,
													   psprintf("ld_with_%s", s->attrs[k].name));
}

/*
 * ld_row_error_callback
 *		Error context: which row of which statement failed (earlier rows
 *		were already sent).
 */
void
ld_row_error_callback(void *arg)
{
	LdRowContext *rc = (LdRowContext *) arg;
	const LdModifyState *st = rc->state;
	const char *what = st->operation == CMD_INSERT ? "INSERT into" :
		st->operation == CMD_UPDATE ? "UPDATE of" : "DELETE from";
	int			others = st->in_flight;
	const char *done = ld_write_dry_run() ? "shown" :
		st->opts.write_on_commit ? "queued" : "sent";

	if (others > 0)
		errcontext("row %lld of %s foreign table \"%s\" (%lld earlier rows were sent; "
				   "%d other rows were in flight and may have been sent too)",
				   (long long) st->rows + 1, what, rc->relname,
				   (long long) st->sent, others);
	else
		errcontext("row %lld of %s foreign table \"%s\" (%lld earlier rows were %s)",
				   (long long) st->rows + 1, what, rc->relname, (long long) st->sent, done);
}

/*
 * ld_begin_rows
 *		Before a row (or a batch of rows): a fresh row context to work in,
 *		and the error context saying which row failed.  Returns the memory
 *		context to switch back to; the caller pops errcb.
 */
MemoryContext
ld_begin_rows(LdModifyState *s, ErrorContextCallback *errcb, LdRowContext *rc)
{
	MemoryContextReset(s->row_cxt);
	errcb->callback = ld_row_error_callback;
	errcb->arg = rc;
	errcb->previous = error_context_stack;
	error_context_stack = errcb;
	return MemoryContextSwitchTo(s->row_cxt);
}

/*
 * new_body
 *		An empty JSON object freed with the row context (also after an
 *		ERROR).
 */
static cJSON *
new_body(MemoryContext cxt)
{
	cJSON	   *body = cJSON_CreateObject();

	if (body == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	ld_json_own(cxt, body);
	return body;
}

/*
 * ld_body_field
 *		The name a column has in request bodies.
 */
const char *
ld_body_field(const LdResource *res, const LdAttr *a)
{
	const LdColumn *col = ld_find_column(res, a->name);

	return (col && col->write_field) ? col->write_field : a->field;
}

/*
 * send_row
 *		Send one row's request, check the answer, and for RETURNING put
 *		the object the API answered with into slot.  NULL for a row that
 *		ON CONFLICT DO NOTHING skips.
 */
static TupleTableSlot *
send_row(LdModifyState *s, ResultRelInfo *rinfo, const char *method,
		 const char *tmpl, const char *const *keys, cJSON *body,
		 TupleTableSlot *slot)
{
	LdEndpoint	ep = {tmpl};
	char	   *path = ld_build_path(&ep, s->opts.project_key, keys, true);
	char	   *text = NULL;
	const char *header = (s->operation == CMD_DELETE) ? s->res->writes.delete_header : NULL;
	LdResult	res;
	cJSON	   *answer;

	if (body != NULL)
		text = ld_json_text(body);
	/* dry run or write_mode 'on_commit': RETURNING shows the row as given */
	if (ld_write_divert(s->conn, &s->opts, s->write_group, method, path, text, header))
		return slot;
	ld_request(s->conn, method, path, text, header, &s->stats, &res);
	if (res.status == 409 && s->skip_conflicts)
		return NULL;			/* ON CONFLICT DO NOTHING: not inserted */
	if (res.status < 200 || res.status > 299)
		ld_report_http_error(method, path, &res);
	if (rinfo->ri_projectReturning == NULL || s->operation == CMD_DELETE)
		return slot;
	ld_check_json(method, path, &res);
	answer = ld_json_parse(s->row_cxt, res.body, res.body_len);
	if (!cJSON_IsObject(answer))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("invalid response from LaunchDarkly: expected a JSON object"),
				 errcontext("LaunchDarkly request: %s %s", method, path)));
	ld_fill_slot(s->attrs, s->nattrs, slot, answer, keys, NULL, LDK_NONE);
	return slot;
}

/*
 * partner_given
 *		Whether a new row sets column name (not NULL).
 */
static bool
partner_given(LdModifyState *s, TupleTableSlot *slot, const char *name)
{
	int			i;

	for (i = 0; i < s->nattrs; i++)
		if (strcmp(s->attrs[i].name, name) == 0)
			return !slot->tts_isnull[s->attrs[i].attnum - 1];
	return false;
}

/*
 * ld_insert_body
 *		The POST body of a new row: its non-null columns under the API's
 *		names; path keys (optimization_key, config_key) go into keys[].
 */
cJSON *
ld_insert_body(LdModifyState *s, TupleTableSlot *slot, const char **keys)
{
	cJSON	   *body = new_body(s->row_cxt);
	int			i;

	slot_getallattrs(slot);
	for (i = 0; i < s->nattrs; i++)
	{
		const LdAttr *a = &s->attrs[i];
		const LdColumn *col = ld_find_column(s->res, a->name);
		bool		isnull = slot->tts_isnull[a->attnum - 1];
		Datum		v = slot->tts_values[a->attnum - 1];

		if (isnull && col && (col->flags & LDC_REQUIRED) && col->key == LDK_RUN)
		{
			/* a new result without run_id starts a run of this statement */
			cJSON_AddItemToObject(body, ld_body_field(s->res, a),
								  cJSON_CreateString(s->new_run_id));
			continue;
		}
		if (isnull && col && (col->flags & LDC_REQUIRED))
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("column \"%s\" is required to create a row of %s",
							a->name, s->res->name),
					 errhint("Required columns: %s.", settable_list(s->res, LDC_REQUIRED))));
		if (isnull)
			continue;
		if (col == NULL || !(col->flags & LDC_INSERT))
			reject_column(s->res, a->name, CMD_INSERT);
		if (col->flags & LDC_PATH)
			keys[col->key] = ld_datum_text(a->type.typid, v);
		else
			cJSON_AddItemToObject(body, ld_body_field(s->res, a), ld_datum_to_json(a, v));
		if (col->with != NULL && !partner_given(s, slot, col->with))
			missing_partner(s, a->name, col->with);
	}
	return body;
}

/*
 * identity_keys_of
 *		The path keys of the row being updated or deleted, from the junk
 *		columns; an error if one is NULL.
 */
static void
identity_keys_of(LdModifyState *s, TupleTableSlot *planSlot, const char **keys)
{
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
	{
		bool		isnull;
		Datum		d;

		if (s->key_junk[k] == InvalidAttrNumber)
			continue;
		d = ExecGetJunkAttribute(planSlot, s->key_junk[k], &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("cannot identify the row: \"%s\" is NULL", ld_key_name(k))));
		keys[k] = ld_datum_text(s->key_type[k], d);
	}
}

/*
 * missing_partner
 *		ERROR: a column is sent without the column the API wants with it.
 */
static void
missing_partner(LdModifyState *s, const char *name, const char *partner)
{
	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("column \"%s\" of %s is required when \"%s\" is set",
					partner, s->res->name, name),
			 errdetail("LaunchDarkly's API takes \"%s\" and \"%s\" together.", name, partner),
			 errhint("Set both columns.")));
}

/*
 * add_partners
 *		Add to an UPDATE's body the current value of each column the API
 *		wants along with one the statement sets (read as junk columns).
 */
static void
add_partners(LdModifyState *s, TupleTableSlot *planSlot, cJSON *body)
{
	int			i;

	for (i = 0; i < s->nattrs; i++)
	{
		const LdColumn *col;
		bool		isnull;
		Datum		d;

		if (s->with_junk[i] == InvalidAttrNumber)
			continue;
		col = ld_find_column(s->res, s->attrs[i].name);
		d = ExecGetJunkAttribute(planSlot, s->with_junk[i], &isnull);
		if (isnull)
			missing_partner(s, col && col->with ? col->with : "?", s->attrs[i].name);
		cJSON_AddItemToObject(body, ld_body_field(s->res, &s->attrs[i]),
							  ld_datum_to_json(&s->attrs[i], d));
	}
}

/*
 * update_body
 *		The PATCH body: only the columns the statement sets (and those the
 *		API wants along with them).
 */
static cJSON *
update_body(LdModifyState *s, TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	cJSON	   *body = new_body(s->row_cxt);
	ListCell   *lc;

	slot_getallattrs(slot);
	foreach(lc, s->target_attrs)
	{
		AttrNumber	attnum = lfirst_int(lc);
		const LdAttr *a = NULL;
		int			i;

		for (i = 0; i < s->nattrs; i++)
			if (s->attrs[i].attnum == attnum)
				a = &s->attrs[i];
		if (slot->tts_isnull[attnum - 1])
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("column \"%s\" of %s cannot be set to NULL", a->name, s->res->name),
					 errdetail("LaunchDarkly's API has no way to clear \"%s\".", ld_body_field(s->res, a))));
		cJSON_AddItemToObject(body, ld_body_field(s->res, a),
							  ld_datum_to_json(a, slot->tts_values[attnum - 1]));
	}
	add_partners(s, planSlot, body);
	return body;
}

/*
 * modify_row
 *		One row of INSERT, UPDATE or DELETE, with the row's error context.
 */
static TupleTableSlot *
modify_row(ResultRelInfo *rinfo, TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	LdModifyState *s = (LdModifyState *) rinfo->ri_FdwState;
	const char *keys[LDK_COUNT] = {0};
	ErrorContextCallback errcb;
	LdRowContext rc = {s, RelationGetRelationName(rinfo->ri_RelationDesc)};
	MemoryContext old = ld_begin_rows(s, &errcb, &rc);

	const char *deferred_path = NULL;
	char	   *deferred_body = NULL;

	s->in_flight = s->deferred ? s->wcount : 0;

	if (s->operation == CMD_INSERT)
		slot = send_row(s, rinfo, "POST", s->res->writes.create, keys,
						ld_insert_body(s, slot, keys), slot);
	else if (s->member != NULL)
	{
		/* gathered, sent at the end (member.c); RETURNING: the row as set */
		identity_keys_of(s, planSlot, keys);
		ld_member_row(s, slot, keys);
	}
	else
	{
		cJSON	   *body = NULL;

		identity_keys_of(s, planSlot, keys);
		if (s->operation == CMD_UPDATE)
			body = update_body(s, slot, planSlot);
		if (s->deferred)
			deferred_path = deferred_request(s, keys, body, &deferred_body);
		else
			slot = send_row(s, rinfo, s->operation == CMD_UPDATE ? "PATCH" : "DELETE",
							s->res->writes.item, keys, body, slot);
		if (s->operation == CMD_DELETE)
			deleted_row(s, rinfo, slot, planSlot);
	}
	error_context_stack = errcb.previous;
	/* a queued row is sent later; sending the queue names its own rows */
	if (deferred_path != NULL &&
		!ld_write_divert(s->conn, &s->opts, s->write_group,
						 s->operation == CMD_UPDATE ? "PATCH" : "DELETE", deferred_path,
						 deferred_body,
						 s->operation == CMD_DELETE ? s->res->writes.delete_header : NULL))
		ld_defer_row(s, rinfo, deferred_path, deferred_body);
	MemoryContextSwitchTo(old);
	s->rows++;
	if (s->member == NULL && (!s->deferred || ld_write_diverted(&s->opts)))
		s->sent = s->rows;
	return slot;
}

/*
 * deferred_request
 *		The path (returned) and body text of an UPDATE's or DELETE's
 *		request that is queued rather than sent now (batch.c).
 */
static const char *
deferred_request(LdModifyState *s, const char *const *keys, cJSON *body, char **text)
{
	LdEndpoint	ep = {s->res->writes.item};

	*text = NULL;
	if (body != NULL)
		*text = ld_json_text(body);
	return ld_build_path(&ep, s->opts.project_key, keys, true);
}

/*
 * deleted_row
 *		DELETE ... RETURNING gives the row as it was read (the whole-row
 *		junk column); without RETURNING there is nothing to fill.
 */
static void
deleted_row(LdModifyState *s, ResultRelInfo *rinfo, TupleTableSlot *slot,
			TupleTableSlot *planSlot)
{
	bool		isnull;
	Datum		row;
	HeapTupleData tuple;
	HeapTuple	copy;
	MemoryContext old_slot_cxt;

	if (s->wholerow_junk == InvalidAttrNumber || rinfo->ri_projectReturning == NULL)
		return;
	row = ExecGetJunkAttribute(planSlot, s->wholerow_junk, &isnull);
	tuple.t_data = DatumGetHeapTupleHeader(row);
	tuple.t_len = HeapTupleHeaderGetDatumLength(tuple.t_data);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = RelationGetRelid(rinfo->ri_RelationDesc);
	/* the slot keeps the tuple: copy it into the slot's own memory */
	old_slot_cxt = MemoryContextSwitchTo(slot->tts_mcxt);
	copy = heap_copytuple(&tuple);
	MemoryContextSwitchTo(old_slot_cxt);
	ExecForceStoreHeapTuple(copy, slot, true);
}

/*
 * ldExecForeignInsert / Update / Delete
 *		Each row is one request, sent now -- or, for an UPDATE or DELETE
 *		that can be deferred (batch.c), queued and sent concurrently with
 *		the next rows' before the statement ends.
 */
TupleTableSlot *
ldExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
					TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return modify_row(rinfo, slot, planSlot);
}

TupleTableSlot *
ldExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
					TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return modify_row(rinfo, slot, planSlot);
}

TupleTableSlot *
ldExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
					TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return modify_row(rinfo, slot, planSlot);
}

/*
 * ldEndForeignModify
 *		Send the rows still queued, or a member-list UPDATE's keys (an
 *		ERROR here fails the statement, as it should: its rows were counted
 *		as done).  Memory goes with the query.
 */
void
ldEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	LdModifyState *s = (LdModifyState *) rinfo->ri_FdwState;

	if (s != NULL && s->deferred)
		ld_flush_deferred(s, rinfo);
	if (s != NULL && s->member != NULL)
		ld_member_flush(s, rinfo);
}

/*
 * ldExplainForeignModify
 *		VERBOSE: the call each row makes; ANALYZE: the counts.
 */
void
ldExplainForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
					   List *fdw_private, int subplan_index, ExplainState *es)
{
	LdModifyState *s = (LdModifyState *) rinfo->ri_FdwState;
	LdOptions	opts;
	const LdResource *res = rel_resource(rinfo->ri_RelationDesc, &opts);
	const char *keys[LDK_COUNT] = {0};
	CmdType		op = mtstate->operation;
	LdEndpoint	ep = {op == CMD_INSERT ? res->writes.create : res->writes.item};

	if (es->verbose && op == CMD_UPDATE && res->writes.member_list != NULL)
		ExplainPropertyText("LaunchDarkly request per statement",
							ld_member_explain(res, opts.project_key), es);
	else if (es->verbose)
		ExplainPropertyText("LaunchDarkly request per row",
							psprintf("%s %s", op == CMD_INSERT ? "POST" :
									 op == CMD_UPDATE ? "PATCH" : "DELETE",
									 ld_build_path(&ep, ld_escape_segment(opts.project_key),
												   keys, false)),
							es);
	if (es->verbose && op == CMD_INSERT && rinfo->ri_BatchSize > 1)
		ExplainPropertyInteger("Batch Size", NULL, rinfo->ri_BatchSize, es);
	if (es->verbose && !skips_conflicts(mtstate) && ld_can_defer(rinfo, op, &opts) &&
		!(op == CMD_UPDATE && res->writes.member_list != NULL))
		ExplainPropertyInteger("Requests in Flight", NULL, opts.max_concurrency, es);
	/* ANALYZE counts what the statement sent: wait for the last requests */
	if (es->analyze && s->conn != NULL && s->deferred)
		ld_flush_deferred(s, rinfo);
	if (es->analyze && s->conn != NULL && s->member != NULL)
		ld_member_flush(s, rinfo);
	if (es->analyze && s->conn != NULL)
	{
		ExplainPropertyInteger("LaunchDarkly requests", NULL, s->stats.requests, es);
		ExplainPropertyInteger("LaunchDarkly retries", NULL, s->stats.retries, es);
	}
}
