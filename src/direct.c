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
 * pinned_key
 *		If clause is "identity column = constant/parameter", its key and
 *		value; LDK_NONE otherwise.
 */
static LdKey
pinned_key(Oid relid, Index relno, const LdResource *res, uint32 identity,
		   Expr *clause, Expr **value)
{
	OpExpr	   *op = (OpExpr *) clause;
	Expr	   *l,
			   *r;
	Var		   *var;
	const LdColumn *col;

	if (!IsA(op, OpExpr) || list_length(op->args) != 2 ||
		op->opno >= FirstNormalObjectId || strcmp(get_opname(op->opno), "=") != 0)
		return LDK_NONE;
	l = linitial(op->args);
	r = lsecond(op->args);
	while (IsA(l, RelabelType))
		l = ((RelabelType *) l)->arg;
	while (IsA(r, RelabelType))
		r = ((RelabelType *) r)->arg;
	if (!IsA(l, Var))
	{
		Expr	   *t = l;

		l = r;
		r = t;
	}
	if (!IsA(l, Var) || ((Var *) l)->varno != (int) relno || ((Var *) l)->varattno <= 0)
		return LDK_NONE;
	if (!(IsA(r, Const) && !((Const *) r)->constisnull) &&
		!(IsA(r, Param) && ((Param *) r)->paramkind == PARAM_EXTERN))
		return LDK_NONE;
	var = (Var *) l;
	col = ld_find_column(res, get_attname(relid, var->varattno, false));
	if (col == NULL || col->key == LDK_NONE || !(identity & LD_KEY_BIT(col->key)) ||
		GetForeignColumnOptions(relid, var->varattno) != NIL)
		return LDK_NONE;
	*value = r;
	return col->key;
}

/*
 * pin_identity
 *		Whether the WHERE clause is exactly the row identity (each key once,
 *		nothing else; the table's optimization_key option may fix one).
 */
static bool
pin_identity(PlannerInfo *root, RelOptInfo *baserel, Oid relid,
			 const LdResource *res, const LdOptions *opts,
			 List **kinds, List **values)
{
	LdEndpoint	item = {res->writes.item};
	uint32		identity = ld_endpoint_keys(&item);
	uint32		pinned = 0;
	ListCell   *lc;

	if (opts->optimization_key && (identity & LD_KEY_BIT(LDK_OPTIMIZATION)))
		pinned |= LD_KEY_BIT(LDK_OPTIMIZATION);
	foreach(lc, baserel->baserestrictinfo)
	{
		Expr	   *value = NULL;
		LdKey		k = pinned_key(relid, baserel->relid, res, identity,
								   lfirst_node(RestrictInfo, lc)->clause, &value);

		if (k == LDK_NONE || (pinned & LD_KEY_BIT(k)))
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
	LdEndpoint	item;
	const char *keys[LDK_COUNT] = {0};
	ListCell   *lk,
			   *le;

	if ((plan->operation != CMD_UPDATE && plan->operation != CMD_DELETE) ||
		fscan == NULL || !IsA(fscan, ForeignScan) ||
		fscan->scan.scanrelid != resultRelation ||
		(plan->operation == CMD_DELETE && plan->returningLists != NIL))
		return false;
	ld_get_options(rte->relid, &opts);
	res = ld_find_resource(opts.resource);
	if (res->writes.item == NULL ||
		!pin_identity(root, find_base_rel(root, resultRelation), rte->relid,
					  res, &opts, &kinds, &exprs))
		return false;
	if (plan->operation == CMD_UPDATE)
	{
		targets = ld_update_targets(root, resultRelation, rte->relid, res);
		if (targets == NIL || !set_values(root, resultRelation, targets, &exprs))
			return false;
	}

	/* what EXPLAIN shows: the request, keys known when constant */
	keys[LDK_OPTIMIZATION] = opts.optimization_key;
	forboth(lk, kinds, le, exprs)
		if (IsA(lfirst(le), Const))
			keys[lfirst_int(lk)] = ld_datum_text(((Const *) lfirst(le))->consttype,
												 ((Const *) lfirst(le))->constvalue);
	item.path = res->writes.item;
	/* every condition is part of the identity, which the request applies */
	fscan->scan.plan.qual = NIL;
	fscan->operation = plan->operation;
	fscan->resultRelation = resultRelation;
	fscan->fdw_exprs = exprs;
	fscan->fdw_private = list_make4(kinds, targets, makeInteger(plan->canSetTag ? 1 : 0),
									makeString(psprintf("%s %s",
														plan->operation == CMD_UPDATE ? "PATCH" : "DELETE",
														ld_build_path(&item, opts.project_key, keys, true))));
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
	Oid			userid;

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
#if PG_VERSION_NUM >= 160000
	userid = OidIsValid(fsplan->checkAsUser) ? fsplan->checkAsUser : GetUserId();
#else
	{
		RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, node->ss.ps.state);

		userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	}
#endif
	s->conn = ld_get_connection(GetUserMapping(userid,
											   GetForeignTable(RelationGetRelid(rel))->serverid),
								&s->opts);
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
eval_text(ExprState *state, ExprContext *econtext)
{
	bool		isnull;
	Datum		d = ExecEvalExprSwitchContext(state, econtext, &isnull);

	return isnull ? NULL : ld_datum_text(exprType((Node *) state->expr), d);
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
	LdResult	res;
	cJSON	   *answer;

	if (s->done)
		return ExecClearTuple(slot);
	s->done = true;
	keys[LDK_OPTIMIZATION] = s->opts.optimization_key;
	forboth(lk, s->key_kinds, ls, s->key_states)
		keys[lfirst_int(lk)] = eval_text((ExprState *) lfirst(ls), econtext);
	path = ld_build_path(&item, s->opts.project_key, keys, true);
	if (s->operation == CMD_UPDATE)
		ld_request(s->conn, "PATCH", path, direct_body(s, econtext), NULL, &s->stats, &res);
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
