/*-------------------------------------------------------------------------
 *
 * direct.c
 *		  Direct modify: an UPDATE or DELETE whose WHERE pins a row's whole
 *		  identity with constants (or parameters) and nothing else is sent
 *		  at once -- one PATCH or DELETE, no GET first -- as postgres_fdw
 *		  sends such statements as one remote UPDATE/DELETE.
 *
 * The row count comes from the answer: 2xx is one row, 404 is none.
 * UPDATE ... RETURNING returns the object the API answered with; DELETE
 * ... RETURNING needs the row as it was, so it takes the normal path.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "access/sysattr.h"
#include "access/table.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* indexes of a direct-modify ForeignScan's fdw_private */
enum LdDirectPrivate
{
	/* LdKey of each key value at the head of fdw_exprs (List of Integer) */
	LdDirKeyKinds,
	/* attribute numbers an UPDATE sets, after the keys in fdw_exprs */
	LdDirTargetAttrs,
	/* nonzero when the statement's row count comes from us */
	LdDirSetProcessed,
	/* the request EXPLAIN VERBOSE shows (String) */
	LdDirExplain
};

typedef struct LdDirectState
{
	const LdResource *res;
	LdOptions	opts;
	LdConn	   *conn;
	CmdType		operation;
	List	   *key_kinds;
	List	   *key_states;
	List	   *target_attrs;
	List	   *value_states;
	bool		set_processed;
	bool		done;
	char	   *explain;
	LdAttr	   *attrs;			/* every column (body and RETURNING) */
	int			nattrs;
	LdStats		stats;
} LdDirectState;

/*
 * pin_identity
 *		Whether the WHERE clause is exactly the row identity: each key
 *		once, each by "=" to a constant or parameter, nothing else (a
 *		table option such as optimization_key may fix one).  A key condition is
 *		what ld_key_condition says it is, as for a scan: so a comparison
 *		under a nondeterministic collation pins nothing.
 */
static bool
pin_identity(PlannerInfo *root, RelOptInfo *baserel, const LdResource *res,
			 const LdOptions *opts, List **kinds, List **values)
{
	uint32		identity = ld_identity_keys(res);
	uint32		pinned = 0;
	ListCell   *lc;
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
		if (opts->keys[k] && (identity & LD_KEY_BIT(k)))
			pinned |= LD_KEY_BIT(k);
	foreach(lc, baserel->baserestrictinfo)
	{
		Expr	   *clause = lfirst_node(RestrictInfo, lc)->clause;
		Expr	   *value = NULL;
		LdKey		k = ld_key_condition(root, baserel, res, identity, clause, &value);

		if (k == LDK_NONE || (pinned & LD_KEY_BIT(k)) || !IsA(clause, OpExpr) ||
			!(IsA(value, Const) ||
			  (IsA(value, Param) && ((Param *) value)->paramkind == PARAM_EXTERN)))
			return false;
		pinned |= LD_KEY_BIT(k);
		*kinds = lappend_int(*kinds, k);
		*values = lappend(*values, value);
	}
	return pinned == identity;
}

/*
 * set_values
 *		The new values of an UPDATE, if none refers to the table (they are
 *		evaluated once, before the request).
 */
static bool
set_values(PlannerInfo *root, Index resultRelation, List *targets, List **exprs)
{
	List	   *tlist = NIL;
	List	   *colnos = NIL;
	ListCell   *lc;

	/* the new values, paired with the columns they go to */
	get_translated_update_targetlist(root, resultRelation, &tlist, &colnos);
	foreach(lc, targets)
	{
		AttrNumber	attnum = lfirst_int(lc);
		TargetEntry *tle = NULL;
		ListCell   *lt,
				   *ln;

		forboth(lt, tlist, ln, colnos)
			if (!lfirst_node(TargetEntry, lt)->resjunk && lfirst_int(ln) == attnum)
				tle = lfirst_node(TargetEntry, lt);
		if (tle == NULL || contain_var_clause((Node *) tle->expr) ||
			contain_subplans((Node *) tle->expr) ||
			contain_volatile_functions((Node *) tle->expr))
			return false;
		*exprs = lappend(*exprs, tle->expr);
	}
	return true;
}

/*
 * ldPlanDirectModify
 *		Turn the ForeignScan under an UPDATE/DELETE into the modification
 *		itself when the WHERE clause pins one row's identity.
 */
bool
ldPlanDirectModify(PlannerInfo *root, ModifyTable *plan, Index resultRelation,
				   int subplan_index)
{
	ForeignScan *fscan = (ForeignScan *) outerPlan(plan);
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	LdOptions	opts;
	const LdResource *res;
	List	   *kinds = NIL,
			   *exprs = NIL,
			   *targets = NIL;
	LdEndpoint	item = {0};
	const char *keys[LDK_COUNT] = {0};
	ListCell   *lk,
			   *le;
	int			k;

	if ((plan->operation != CMD_UPDATE && plan->operation != CMD_DELETE) ||
		fscan == NULL || !IsA(fscan, ForeignScan) ||
		fscan->scan.scanrelid != resultRelation ||
		(plan->operation == CMD_DELETE && plan->returningLists != NIL))
		return false;
	ld_get_options(rte->relid, &opts);
	res = ld_find_resource(opts.resource);
	ld_check_updatable(&opts, get_rel_name(rte->relid), plan->operation);
	/* an UPDATE of a member list sends every row's key at once (modify.c) */
	if (res->writes.item == NULL ||
		(plan->operation == CMD_UPDATE && res->writes.member_list != NULL) ||
		!pin_identity(root, find_base_rel(root, resultRelation), res, &opts,
					  &kinds, &exprs))
		return false;
	if (plan->operation == CMD_UPDATE)
	{
		targets = ld_update_targets(root, resultRelation, rte->relid, res);
		if (targets == NIL || !ld_targets_complete(rte->relid, res, targets) ||
			!set_values(root, resultRelation, targets, &exprs))
			return false;
	}

	/*
	 * What EXPLAIN shows: the request, keys known when constant (escaped
	 * here: a value that cannot be sent is refused when the request is
	 * made, not by EXPLAIN).
	 */
	for (k = 1; k < LDK_COUNT; k++)
		if (opts.keys[k])
			keys[k] = ld_escape_segment(opts.keys[k]);
	forboth(lk, kinds, le, exprs)
		if (IsA(lfirst(le), Const))
			keys[lfirst_int(lk)] =
				ld_escape_segment(ld_key_text(lfirst_int(lk),
											  ((Const *) lfirst(le))->consttype,
											  ((Const *) lfirst(le))->constvalue));
	item.path = res->writes.item;
	/* every condition is part of the identity, which the request applies */
	fscan->scan.plan.qual = NIL;
	fscan->operation = plan->operation;
	fscan->resultRelation = resultRelation;
	fscan->fdw_exprs = exprs;
	fscan->fdw_private = list_make4(kinds, targets, makeInteger(plan->canSetTag ? 1 : 0),
									makeString(psprintf("%s %s",
														plan->operation == CMD_UPDATE ? "PATCH" : "DELETE",
														ld_build_path(&item, ld_escape_segment(opts.project_key),
																	  keys, false))));
	return true;
}

/*
 * ldBeginDirectModify
 *		Connect and prepare the key and value expressions.
 */
void
ldBeginDirectModify(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	List	   *priv = fsplan->fdw_private;
	Relation	rel = node->ss.ss_currentRelation;
	LdDirectState *s = palloc0(sizeof(LdDirectState));
	int			nkeys;

	node->fdw_state = s;
	s->key_kinds = (List *) list_nth(priv, LdDirKeyKinds);
	s->target_attrs = (List *) list_nth(priv, LdDirTargetAttrs);
	s->set_processed = intVal(list_nth(priv, LdDirSetProcessed)) != 0;
	s->explain = strVal(list_nth(priv, LdDirExplain));
	s->operation = fsplan->operation;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	ld_get_options(RelationGetRelid(rel), &s->opts);
	s->res = ld_find_resource(s->opts.resource);
	s->conn = ld_connection_for(RelationGetRelid(rel), ld_scan_user(node), &s->opts);
	{
		List	   *all = NIL;
		int			i;

		for (i = 1; i <= RelationGetDescr(rel)->natts; i++)
			if (!TupleDescAttr(RelationGetDescr(rel), i - 1)->attisdropped)
				all = lappend_int(all, i);
		s->attrs = ld_build_attrs(rel, s->res, all, &s->nattrs);
	}
	nkeys = list_length(s->key_kinds);
	s->key_states = ExecInitExprList(list_truncate(list_copy(fsplan->fdw_exprs), nkeys),
									 (PlanState *) node);
	s->value_states = ExecInitExprList(list_copy_tail(fsplan->fdw_exprs, nkeys),
									   (PlanState *) node);
}

/*
 * eval_text
 *		Evaluate a key expression to text; NULL for SQL NULL.
 */
static char *
eval_text(LdKey key, ExprState *state, ExprContext *econtext)
{
	bool		isnull;
	Datum		d = ExecEvalExprSwitchContext(state, econtext, &isnull);

	return isnull ? NULL : ld_key_text(key, exprType((Node *) state->expr), d);
}

/*
 * direct_body
 *		The PATCH body: the statement's SET values, evaluated once.
 */
static char *
direct_body(LdDirectState *s, ExprContext *econtext)
{
	cJSON	   *body = cJSON_CreateObject();
	char	   *text = NULL;
	ListCell   *la,
			   *lv;

	PG_TRY();
	{
		forboth(la, s->target_attrs, lv, s->value_states)
		{
			const LdAttr *a = NULL;
			bool		isnull;
			Datum		d;
			int			i;

			for (i = 0; i < s->nattrs; i++)
				if (s->attrs[i].attnum == lfirst_int(la))
					a = &s->attrs[i];
			d = ExecEvalExprSwitchContext((ExprState *) lfirst(lv), econtext, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NOT_NULL_VIOLATION),
						 errmsg("column \"%s\" of %s cannot be set to NULL", a->name, s->res->name),
						 errdetail("LaunchDarkly's API has no way to clear \"%s\".",
								   ld_body_field(s->res, a))));
			cJSON_AddItemToObject(body, ld_body_field(s->res, a), ld_datum_to_json(a, d));
		}
		text = ld_json_text(body);
	}
	PG_FINALLY();
	{
		cJSON_Delete(body);
	}
	PG_END_TRY();
	return text;
}

/*
 * diverted_row
 *		A call shown (dry run) or queued (write_mode 'on_commit') instead of
 *		sent: it counts as the one row it would change; RETURNING (dry run
 *		only) shows the keys and the values set.
 */
static TupleTableSlot *
diverted_row(LdDirectState *s, ForeignScanState *node, const char *const *keys,
			 const char *body)
{
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	EState	   *estate = node->ss.ps.state;
	ResultRelInfo *rinfo = node->resultRelInfo;
	cJSON	   *given;
	int			i;

	if (s->set_processed)
		estate->es_processed++;
	if (rinfo->ri_projectReturning == NULL)
		return ExecClearTuple(slot);
	given = ld_json_parse(estate->es_query_cxt, body ? body : "{}", body ? strlen(body) : 2);
	for (i = 0; i < s->nattrs; i++)
	{
		const LdColumn *col = ld_find_column(s->res, s->attrs[i].name);

		/* the row's own key is a field of the item: take it from the path */
		if (col && col->key != LDK_NONE && keys[col->key] && s->attrs[i].npath == 1 &&
			s->attrs[i].source == LDS_FIELD &&
			!cJSON_HasObjectItem(given, s->attrs[i].path[0]))
			cJSON_AddItemToObject(given, s->attrs[i].path[0],
								  cJSON_CreateString(keys[col->key]));
	}
	ld_fill_slot(s->attrs, s->nattrs, slot, given, keys, NULL, LDK_NONE);
	rinfo->ri_projectReturning->pi_exprContext->ecxt_scantuple = slot;
	return slot;
}

/*
 * ldIterateDirectModify
 *		Send the one request; count the row (2xx) or not (404); for
 *		UPDATE ... RETURNING hand back the object the API answered with.
 */
TupleTableSlot *
ldIterateDirectModify(ForeignScanState *node)
{
	LdDirectState *s = (LdDirectState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	EState	   *estate = node->ss.ps.state;
	ResultRelInfo *rinfo = node->resultRelInfo;
	const char *keys[LDK_COUNT] = {0};
	LdEndpoint	item = {s->res->writes.item};
	ListCell   *lk,
			   *ls;
	char	   *path;
	char	   *body;
	int			group;
	LdResult	res;
	cJSON	   *answer;

	if (s->done)
		return ExecClearTuple(slot);
	s->done = true;
	group = ld_write_begin(&s->opts, rinfo->ri_projectReturning != NULL,
						   RelationGetRelationName(rinfo->ri_RelationDesc));
	memcpy(keys, s->opts.keys, sizeof(keys));
	forboth(lk, s->key_kinds, ls, s->key_states)
	{
		keys[lfirst_int(lk)] = eval_text(lfirst_int(lk), (ExprState *) lfirst(ls), econtext);
		if (keys[lfirst_int(lk)] == NULL)
			return ExecClearTuple(slot);	/* key = NULL: no row, no request */
	}
	path = ld_build_path(&item, s->opts.project_key, keys, true);
	body = s->operation == CMD_UPDATE ? direct_body(s, econtext) : NULL;
	if (ld_write_divert(s->conn, &s->opts, group, s->operation == CMD_UPDATE ? "PATCH" : "DELETE",
						path, body, s->operation == CMD_UPDATE ? NULL : s->res->writes.delete_header))
		return diverted_row(s, node, keys, body);
	if (s->operation == CMD_UPDATE)
		ld_request(s->conn, "PATCH", path, body, NULL, &s->stats, &res);
	else
		ld_request(s->conn, "DELETE", path, NULL, s->res->writes.delete_header,
				   &s->stats, &res);
	if (res.status == 404)
		return ExecClearTuple(slot);	/* no such row: 0 rows */
	if (res.status < 200 || res.status > 299)
		ld_report_http_error(s->operation == CMD_UPDATE ? "PATCH" : "DELETE", path, &res);
	if (s->set_processed)
		estate->es_processed++;
	if (rinfo->ri_projectReturning == NULL)
		return ExecClearTuple(slot);
	ld_check_json("PATCH", path, &res);
	answer = ld_json_parse(estate->es_query_cxt, res.body, res.body_len);
	if (!cJSON_IsObject(answer))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("invalid response from LaunchDarkly: expected a JSON object"),
				 errcontext("LaunchDarkly request: PATCH %s", path)));
	ld_fill_slot(s->attrs, s->nattrs, slot, answer, keys, NULL, LDK_NONE);
	rinfo->ri_projectReturning->pi_exprContext->ecxt_scantuple = slot;
	return slot;
}

/*
 * ldEndDirectModify
 *		Nothing to release.
 */
void
ldEndDirectModify(ForeignScanState *node)
{
}

/*
 * ldExplainDirectModify
 *		The one request, and with ANALYZE the counts.
 */
void
ldExplainDirectModify(ForeignScanState *node, ExplainState *es)
{
	LdDirectState *s = (LdDirectState *) node->fdw_state;

	if (es->verbose)
		ExplainPropertyText("LaunchDarkly request", s->explain, es);
	if (es->analyze)
	{
		ExplainPropertyInteger("LaunchDarkly requests", NULL, s->stats.requests, es);
		ExplainPropertyInteger("LaunchDarkly retries", NULL, s->stats.retries, es);
	}
}
