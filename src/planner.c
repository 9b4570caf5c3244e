/*-------------------------------------------------------------------------
 *
 * planner.c
 *		  Planning: which endpoint a scan uses, which WHERE conditions go to
 *		  the API as path keys, LIMIT/OFFSET pushdown through the final
 *		  upper-relation path, estimates, and the plan's fdw_private.
 *
 * Planning never touches the network.  What EXPLAIN shows is decided here
 * and kept in fdw_private.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_collation.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"

/* planner cost of one HTTP request (becomes the request_cost option) */
#define LD_REQUEST_COST 1000.0
/* how many optimizations we guess a project has, for enumeration */
#define LD_ENUMERATED_GUESS 10.0

/* planner state of a foreign relation (baserel->fdw_private) */
typedef struct LdRelInfo
{
	LdOptions	opts;
	const LdResource *res;
	int			endpoint;		/* index in res->endpoints */
	List	   *key_kinds;		/* Integer LdKey per key_exprs entry */
	List	   *key_exprs;		/* value Expr (scalar or array) per key */
	List	   *remote_conds;	/* RestrictInfos the API evaluates */
	List	   *local_conds;	/* RestrictInfos checked locally */
	Bitmapset  *attrs_used;
	bool		enumerate;		/* parent key enumerated from a list */
	bool		single_series;	/* one paged series: LIMIT can be pushed */
	double		series;			/* estimated request series */
	double		requests;		/* estimated requests */
} LdRelInfo;

/*
 * strip_relabel
 *		Look through binary-compatible casts (varchar -> text).
 */
static Expr *
strip_relabel(Expr *e)
{
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	return e;
}

/*
 * is_key_value
 *		Whether an expression can supply a key value at execution time: a
 *		non-null constant or an external parameter.
 */
static bool
is_key_value(Expr *e)
{
	e = strip_relabel(e);
	if (IsA(e, Const))
		return !((Const *) e)->constisnull;
	return IsA(e, Param) && ((Param *) e)->paramkind == PARAM_EXTERN;
}

/*
 * is_builtin_equality
 *		A built-in "=" operator with a deterministic collation: the API's
 *		exact key match gives the same answer.
 */
static bool
is_builtin_equality(Oid opno, Oid collid)
{
	char	   *name = get_opname(opno);

	if (opno >= FirstNormalObjectId || name == NULL || strcmp(name, "=") != 0)
		return false;
	return !OidIsValid(collid) || collid == DEFAULT_COLLATION_OID ||
		get_collation_isdeterministic(collid);
}

/*
 * key_of_var
 *		The path key a column of this relation carries, if the resource has
 *		an endpoint that takes it; LDK_NONE otherwise.
 */
static LdKey
key_of_var(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi, Expr *e)
{
	Var		   *var = (Var *) strip_relabel(e);
	RangeTblEntry *rte;
	const LdColumn *col;
	uint32		usable = 0;
	int			i;

	if (!IsA(var, Var) || var->varno != (int) baserel->relid ||
		var->varlevelsup != 0 || var->varattno <= 0)
		return LDK_NONE;
	rte = planner_rt_fetch(baserel->relid, root);
	col = ld_find_column(fi->res, get_attname(rte->relid, var->varattno, false));
	if (col == NULL || col->key == LDK_NONE ||
		GetForeignColumnOptions(rte->relid, var->varattno) != NIL)
		return LDK_NONE;
	for (i = 0; i < fi->res->nendpoints; i++)
		usable |= ld_endpoint_keys(&fi->res->endpoints[i]);
	return (usable & LD_KEY_BIT(col->key)) ? col->key : LDK_NONE;
}

/*
 * match_key_qual
 *		If a condition is "key column = value" or "key column IN (...)",
 *		return its key and set *value; else LDK_NONE.
 */
static LdKey
match_key_qual(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi,
			   Expr *clause, Expr **value)
{
	if (IsA(clause, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) clause;
		Expr	   *l,
				   *r;
		LdKey		k;

		if (list_length(op->args) != 2 ||
			!is_builtin_equality(op->opno, op->inputcollid))
			return LDK_NONE;
		l = linitial(op->args);
		r = lsecond(op->args);
		if ((k = key_of_var(root, baserel, fi, l)) != LDK_NONE && is_key_value(r))
			return (*value = strip_relabel(r), k);
		if ((k = key_of_var(root, baserel, fi, r)) != LDK_NONE && is_key_value(l))
			return (*value = strip_relabel(l), k);
	}
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;
		Expr	   *arr = strip_relabel(lsecond(sa->args));
		LdKey		k = key_of_var(root, baserel, fi, linitial(sa->args));
		ListCell   *lc;

		if (!sa->useOr || k == LDK_NONE ||
			!is_builtin_equality(sa->opno, sa->inputcollid))
			return LDK_NONE;
		if (IsA(arr, Const) && !((Const *) arr)->constisnull)
			return (*value = arr, k);
		if (!IsA(arr, ArrayExpr) || ((ArrayExpr *) arr)->multidims)
			return LDK_NONE;
		foreach(lc, ((ArrayExpr *) arr)->elements)
			if (!is_key_value(lfirst(lc)))
				return LDK_NONE;
		return (*value = arr, k);
	}
	return LDK_NONE;
}

/*
 * bound_mask
 *		Bitmask of the keys bound by conditions.
 */
static uint32
bound_mask(LdRelInfo *fi)
{
	uint32		m = 0;
	ListCell   *lc;

	foreach(lc, fi->key_kinds)
		m |= LD_KEY_BIT(lfirst_int(lc));
	return m;
}

/*
 * value_count
 *		How many values a key expression stands for (IN lists), or -1 if
 *		only known at run time.
 */
static int
value_count(Expr *e)
{
	if (IsA(e, ArrayExpr))
		return list_length(((ArrayExpr *) e)->elements);
	if (IsA(e, Const) && type_is_array(((Const *) e)->consttype))
		return ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(((Const *) e)->constvalue)),
							  ARR_DIMS(DatumGetArrayTypeP(((Const *) e)->constvalue)));
	return 1;
}

/*
 * classify_conds
 *		Split the restriction clauses into key conditions the API takes and
 *		local ones, then choose the most specific endpoint they allow.
 */
static void
classify_conds(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi)
{
	List	   *cand_rinfos = NIL;
	ListCell   *lc,
			   *lk,
			   *le,
			   *lr;
	uint32		keys;
	int			i;

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Expr	   *value = NULL;
		LdKey		k = match_key_qual(root, baserel, fi, ri->clause, &value);

		if (k == LDK_NONE || (bound_mask(fi) & LD_KEY_BIT(k)) ||
			(k == LDK_OPTIMIZATION && fi->opts.optimization_key != NULL))
		{
			fi->local_conds = lappend(fi->local_conds, ri);
			continue;
		}
		fi->key_kinds = lappend_int(fi->key_kinds, k);
		fi->key_exprs = lappend(fi->key_exprs, value);
		cand_rinfos = lappend(cand_rinfos, ri);
	}

	/* the first endpoint whose required keys are all bound */
	for (i = 0; i < fi->res->nendpoints; i++)
		if ((fi->res->endpoints[i].binds & ~bound_mask(fi)) == 0)
			break;
	fi->endpoint = i;
	keys = ld_endpoint_keys(&fi->res->endpoints[i]);

	/* keys the chosen endpoint does not take are checked locally */
	{
		List	   *kinds = NIL,
				   *exprs = NIL;

		forthree(lk, fi->key_kinds, le, fi->key_exprs, lr, cand_rinfos)
		{
			if (keys & LD_KEY_BIT(lfirst_int(lk)))
			{
				kinds = lappend_int(kinds, lfirst_int(lk));
				exprs = lappend(exprs, lfirst(le));
				fi->remote_conds = lappend(fi->remote_conds, lfirst(lr));
			}
			else
				fi->local_conds = lappend(fi->local_conds, lfirst(lr));
		}
		fi->key_kinds = kinds;
		fi->key_exprs = exprs;
	}
}

/*
 * estimate_series
 *		How many request series the scan makes, whether it is a single
 *		paged series (LIMIT pushdown), and how many requests in all.
 */
static void
estimate_series(LdRelInfo *fi)
{
	const LdEndpoint *ep = &fi->res->endpoints[fi->endpoint];
	uint32		keys = ld_endpoint_keys(ep);
	bool		multi = false;
	ListCell   *lk,
			   *le;
	double		per_series;

	fi->series = 1;
	forboth(lk, fi->key_kinds, le, fi->key_exprs)
	{
		int			n = value_count(lfirst(le));

		fi->series *= Max(n, 1);
		multi |= (n != 1 || IsA(lfirst(le), ArrayExpr) ||
				  (IsA(lfirst(le), Const) &&
				   type_is_array(((Const *) lfirst(le))->consttype)));
	}
	fi->enumerate = (keys & LD_KEY_BIT(LDK_OPTIMIZATION)) &&
		!(bound_mask(fi) & LD_KEY_BIT(LDK_OPTIMIZATION)) &&
		fi->opts.optimization_key == NULL;
	if (fi->enumerate)
		fi->series *= LD_ENUMERATED_GUESS;
	fi->single_series = !multi && !fi->enumerate && ep->shape == LD_SHAPE_PAGED &&
		ep->embedded == NULL;

	per_series = ep->shape == LD_SHAPE_ITEM ? 1 : fi->res->rows_per_series;
	if (ep->embedded != NULL && ep->shape == LD_SHAPE_ITEM)
		per_series = 3;
	fi->requests = fi->series *
		(ep->shape == LD_SHAPE_PAGED ? ceil(per_series / fi->opts.page_size) : 1) +
		(fi->enumerate ? 1 : 0);
}

/*
 * ldGetForeignRelSize
 *		Classify conditions, choose the endpoint, estimate rows.
 */
void
ldGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	LdRelInfo  *fi = palloc0(sizeof(LdRelInfo));
	const LdEndpoint *ep;
	double		rows;
	ListCell   *lc;

	baserel->fdw_private = fi;
	ld_get_options(foreigntableid, &fi->opts);
	fi->res = ld_find_resource(fi->opts.resource);
	classify_conds(root, baserel, fi);
	estimate_series(fi);

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid,
				   &fi->attrs_used);
	foreach(lc, fi->local_conds)
		pull_varattnos((Node *) lfirst_node(RestrictInfo, lc)->clause,
					   baserel->relid, &fi->attrs_used);

	ep = &fi->res->endpoints[fi->endpoint];
	rows = fi->series * (ep->shape == LD_SHAPE_ITEM && !ep->embedded ? 1 :
						 ep->embedded ? 3 : fi->res->rows_per_series);
	rows *= clauselist_selectivity(root, fi->local_conds, baserel->relid,
								   JOIN_INNER, NULL);
	baserel->rows = clamp_row_est(rows);
}

/*
 * ldGetForeignPaths
 *		One unparameterized path; its cost is dominated by requests.
 */
void
ldGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	LdRelInfo  *fi = (LdRelInfo *) baserel->fdw_private;
	Cost		startup = LD_REQUEST_COST;
	Cost		total = LD_REQUEST_COST * fi->requests +
		baserel->rows * (cpu_tuple_cost * 10);

	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
#if PG_VERSION_NUM >= 180000
									 0,
#endif
									 startup, total, NIL, NULL, NULL,
#if PG_VERSION_NUM >= 170000
									 NIL,
#endif
									 NIL));
}

/*
 * limit_expr_ok
 *		LIMIT/OFFSET expressions we can evaluate at execution: absent,
 *		constants, or external parameters.
 */
static bool
limit_expr_ok(Node *e)
{
	return e == NULL || IsA(e, Const) ||
		(IsA(e, Param) && ((Param *) e)->paramkind == PARAM_EXTERN);
}

/*
 * ldGetForeignUpperPaths
 *		Offer a final path that carries LIMIT/OFFSET into the first GET,
 *		under postgres_fdw's rules: a plain SELECT of one foreign table, no
 *		local conditions, no sort, no WITH TIES, constant/parameter limits;
 *		and ours: a single paged request series.
 */
void
ldGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
					   RelOptInfo *input_rel, RelOptInfo *output_rel,
					   void *extra)
{
	Query	   *parse = root->parse;
	LdRelInfo  *fi = (LdRelInfo *) input_rel->fdw_private;
	FinalPathExtraData *fextra = (FinalPathExtraData *) extra;
	Path	   *best;
	double		rows;
	Cost		total;
	ListCell   *lc;

	if (stage != UPPERREL_FINAL || fi == NULL ||
		input_rel->reloptkind != RELOPT_BASEREL || !fextra->limit_needed ||
		parse->commandType != CMD_SELECT || parse->rowMarks != NIL ||
		parse->hasTargetSRFs || parse->sortClause != NIL ||
		parse->limitOption == LIMIT_OPTION_WITH_TIES ||
		fi->local_conds != NIL || !fi->single_series ||
		!limit_expr_ok(parse->limitCount) || !limit_expr_ok(parse->limitOffset))
		return;
	best = NULL;
	foreach(lc, input_rel->pathlist)
	{
		Path	   *p = (Path *) lfirst(lc);

		/* look through a projection added for the scan/join target */
		if (IsA(p, ProjectionPath))
			p = ((ProjectionPath *) p)->subpath;
		if (IsA(p, ForeignPath) && p->param_info == NULL)
			best = p;
	}
	if (best == NULL)
		return;

	rows = fextra->count_est > 0 ? Min(fextra->count_est, best->rows) : best->rows;
	/* fetching only the rows wanted saves requests and bytes */
	total = best->startup_cost + (best->total_cost - best->startup_cost) *
		(best->rows > 0 ? rows / best->rows : 1) * 0.9;
	add_path(output_rel, (Path *)
			 create_foreign_upper_path(root, input_rel,
									   root->upper_targets[UPPERREL_FINAL],
									   rows,
#if PG_VERSION_NUM >= 180000
									   0,
#endif
									   best->startup_cost * 0.9, total, NIL, NULL,
#if PG_VERSION_NUM >= 170000
									   NIL,
#endif
									   list_make1(makeInteger(1))));
}

/*
 * retrieved_attrs
 *		Attribute numbers the query needs (all of them for a whole-row
 *		reference).
 */
static List *
retrieved_attrs(Relation rel, Bitmapset *used)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		whole = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, used);
	List	   *out = NIL;
	int			i;

	for (i = 1; i <= desc->natts; i++)
	{
		if (TupleDescAttr(desc, i - 1)->attisdropped)
			continue;
		if (whole || bms_is_member(i - FirstLowInvalidHeapAttributeNumber, used))
			out = lappend_int(out, i);
	}
	return out;
}

/*
 * const_text
 *		The text of a constant key value (a single value, not an array).
 */
static char *
const_text(Const *c)
{
	Oid			out;
	bool		isvarlena;

	getTypeOutputInfo(c->consttype, &out, &isvarlena);
	return OidOutputFunctionCall(out, c->constvalue);
}

/*
 * explain_value
 *		How EXPLAIN shows a key: its value when constant, $n for a
 *		parameter, {name} when it comes at run time or from a list.
 */
static char *
explain_value(LdKey k, Expr *e)
{
	if (e != NULL && IsA(e, Const) && !type_is_array(((Const *) e)->consttype))
		return const_text((Const *) e);
	if (e != NULL && IsA(e, Param))
		return psprintf("$%d", ((Param *) e)->paramid);
	return NULL;
}

/*
 * explain_limit
 *		The query string of a paged request as EXPLAIN shows it.
 */
static char *
explain_limit(LdRelInfo *fi, bool has_limit, Node *count, Node *offset)
{
	char	   *lim = psprintf("%d", fi->opts.page_size);
	char	   *off = "0";

	if (has_limit && count && IsA(count, Const) && !((Const *) count)->constisnull)
		lim = psprintf("%lld", (long long) Min(DatumGetInt64(((Const *) count)->constvalue),
											   fi->opts.page_size));
	else if (has_limit && count && IsA(count, Param))
		lim = psprintf("$%d", ((Param *) count)->paramid);
	if (has_limit && offset && IsA(offset, Const) && !((Const *) offset)->constisnull)
		off = psprintf("%lld", (long long) DatumGetInt64(((Const *) offset)->constvalue));
	else if (has_limit && offset && IsA(offset, Param))
		off = psprintf("$%d", ((Param *) offset)->paramid);
	return psprintf("?limit=%s&offset=%s", lim, off);
}

/*
 * explain_lines
 *		The requests EXPLAIN VERBOSE shows: the enumeration list (if any),
 *		then the endpoint with what is known of its keys.
 */
static List *
explain_lines(PlannerInfo *root, LdRelInfo *fi, bool has_limit)
{
	const LdEndpoint *ep = &fi->res->endpoints[fi->endpoint];
	const char *keys[LDK_COUNT] = {0};
	List	   *lines = NIL;
	ListCell   *lk,
			   *le;
	char	   *path;

	keys[LDK_OPTIMIZATION] = fi->opts.optimization_key;
	forboth(lk, fi->key_kinds, le, fi->key_exprs)
		keys[lfirst_int(lk)] = explain_value(lfirst_int(lk), lfirst(le));
	if (fi->enumerate)
	{
		LdEndpoint	list = {ld_enumeration_path(LDK_OPTIMIZATION), LD_SHAPE_PAGED};

		path = ld_build_path(&list, fi->opts.project_key, keys, true);
		lines = lappend(lines, makeString(psprintf("GET %s?limit=%d&offset=0",
												   path, fi->opts.page_size)));
	}
	path = ld_build_path(ep, fi->opts.project_key, keys, true);
	if (ep->shape == LD_SHAPE_PAGED)
		path = psprintf("%s%s", path,
						explain_limit(fi, has_limit, root->parse->limitCount,
									  root->parse->limitOffset));
	return lappend(lines, makeString(psprintf("GET %s", path)));
}

/*
 * ldGetForeignPlan
 *		Build the ForeignScan: local conditions as its qual, key values and
 *		LIMIT/OFFSET as fdw_exprs, the rest in fdw_private.
 */
ForeignScan *
ldGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				 ForeignPath *best_path, List *tlist, List *scan_clauses,
				 Plan *outer_plan)
{
	LdRelInfo  *fi = (LdRelInfo *) baserel->fdw_private;
	bool		has_limit = best_path->fdw_private != NIL;
	List	   *local_exprs = NIL;
	List	   *fdw_exprs = list_copy(fi->key_exprs);
	List	   *fdw_private;
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	Relation	rel;
	List	   *retrieved;
	ListCell   *lc;

	foreach(lc, scan_clauses)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		if (!list_member_ptr(fi->remote_conds, ri))
			local_exprs = lappend(local_exprs, ri->clause);
	}
	if (has_limit)
	{
		fdw_exprs = lappend(fdw_exprs, root->parse->limitCount);
		fdw_exprs = lappend(fdw_exprs, root->parse->limitOffset);
	}
	rel = table_open(rte->relid, NoLock);
	retrieved = retrieved_attrs(rel, fi->attrs_used);
	table_close(rel, NoLock);

	fdw_private = list_make5(makeString(pstrdup(fi->res->name)),
							 makeInteger(fi->endpoint),
							 retrieved,
							 list_copy(fi->key_kinds),
							 makeInteger(has_limit ? 1 : 0));
	fdw_private = lappend(fdw_private, explain_lines(root, fi, has_limit));

	return make_foreignscan(tlist, local_exprs, baserel->relid, fdw_exprs,
							fdw_private, NIL, NIL, outer_plan);
}
