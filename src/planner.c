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

#include "access/stratnum.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_am.h"
#include "catalog/pg_collation.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "parser/parse_coerce.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
#include "utils/typcache.h"

/* how many parents (optimizations, AI Configs) we guess a project has */
#define LD_ENUMERATED_GUESS 10.0

/*
 * Which endpoint a scan uses and which conditions become its path keys.
 * The relation has one for its restriction clauses; each parameterized
 * path has its own, with the join clauses it moves into the scan.
 */
typedef struct LdKeyPlan
{
	int			endpoint;		/* index in res->endpoints */
	List	   *key_kinds;		/* Integer LdKey per key_exprs entry */
	List	   *key_exprs;		/* value Expr (scalar or array) per key */
	List	   *key_strict;		/* Integer per key: 1 for a strict range bound */
	List	   *remote_conds;	/* RestrictInfos the API evaluates */
	List	   *local_conds;	/* RestrictInfos checked locally */
	bool		enumerate;		/* parent key enumerated from a list */
	bool		single_series;	/* one paged series: LIMIT can be pushed */
	bool		one_series;		/* one series (of any shape): its rows come
								 * in the API's order */
	bool		recheck;		/* a remote condition is checked again locally */
	uint32		missing;		/* no endpoint applies: the keys it lacks */
	double		series;			/* estimated request series */
	double		requests;		/* estimated requests */
	double		rows;			/* estimated rows before local conditions */
} LdKeyPlan;

/* planner state of a foreign relation (baserel->fdw_private) */
typedef struct LdRelInfo
{
	LdOptions	opts;
	const LdResource *res;
	LdKeyPlan	base;			/* for the restriction clauses alone */
	Bitmapset  *attrs_used;
	double		enumerated;		/* enumerated parents (guess or API) */
	double		per_series;		/* rows per series (guess or API) */
	Oid			relid;			/* for a pushed count(*): the foreign table */
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
 *		Whether an expression can supply a key value at execution time:
 *		no Var of this relation, nothing volatile, not a NULL constant.
 *		Constants, parameters, init-plan results and (for parameterized
 *		paths) other relations' columns qualify.
 */
static bool
is_key_value(PlannerInfo *root, RelOptInfo *baserel, Expr *e)
{
	e = strip_relabel(e);
	if (IsA(e, Const))
		return !((Const *) e)->constisnull;
	return !bms_is_member(baserel->relid, pull_varnos(root, (Node *) e)) &&
		!contain_volatile_functions((Node *) e) &&
		!contain_subplans((Node *) e);
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
 *		The path key a column of this relation carries, if it is one of
 *		allowed; LDK_NONE otherwise (also for a column with a "field"
 *		option, which reads something else).
 */
static LdKey
key_of_var(PlannerInfo *root, RelOptInfo *baserel, const LdResource *res,
		   uint32 allowed, Expr *e)
{
	Var		   *var = (Var *) strip_relabel(e);
	RangeTblEntry *rte;
	const LdColumn *col;

	if (!IsA(var, Var) || var->varno != (int) baserel->relid ||
		var->varlevelsup != 0 || var->varattno <= 0)
		return LDK_NONE;
	rte = planner_rt_fetch(baserel->relid, root);
	col = ld_find_column(res, get_attname(rte->relid, var->varattno, false));
	if (col == NULL || col->key == LDK_NONE ||
		GetForeignColumnOptions(rte->relid, var->varattno) != NIL)
		return LDK_NONE;
	return (allowed & LD_KEY_BIT(col->key)) ? col->key : LDK_NONE;
}

/*
 * ld_key_condition
 *		If a condition is "key column = value" or "key column IN (...)"
 *		whose answer the API's exact key match gives (built-in "=", a
 *		deterministic collation), for a key among allowed, return its key
 *		and set *value; else LDK_NONE.  The one test of a key condition,
 *		for scans (which endpoint) and direct modify (which row).
 */
LdKey
ld_key_condition(PlannerInfo *root, RelOptInfo *baserel, const LdResource *res,
				 uint32 allowed, Expr *clause, Expr **value)
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
		if ((k = key_of_var(root, baserel, res, allowed, l)) != LDK_NONE &&
			is_key_value(root, baserel, r))
			return (*value = strip_relabel(r), k);
		if ((k = key_of_var(root, baserel, res, allowed, r)) != LDK_NONE &&
			is_key_value(root, baserel, l))
			return (*value = strip_relabel(l), k);
	}
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;
		Expr	   *arr = strip_relabel(lsecond(sa->args));
		LdKey		k = key_of_var(root, baserel, res, allowed, linitial(sa->args));

		if (!sa->useOr || k == LDK_NONE ||
			!is_builtin_equality(sa->opno, sa->inputcollid))
			return LDK_NONE;
		if (IsA(arr, Const) && !((Const *) arr)->constisnull)
			return (*value = arr, k);
		if (is_key_value(root, baserel, arr))
			return (*value = arr, k);
	}
	return LDK_NONE;
}

/*
 * match_key_qual
 *		A key condition some endpoint of the resource can take (see
 *		ld_key_condition).
 */
static LdKey
match_key_qual(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi,
			   Expr *clause, Expr **value)
{
	uint32		usable = 0;
	int			i;

	for (i = 0; i < fi->res->nendpoints; i++)
		usable |= ld_endpoint_keys(&fi->res->endpoints[i]);
	return ld_key_condition(root, baserel, fi->res, usable, clause, value);
}

/*
 * range_key_of
 *		For "column op value" (or "value op column") with a built-in <, <=,
 *		> or >= where the column carries a range key of the resource's
 *		endpoints (a window's start or end) and the operator bounds it the
 *		key's way (start from below, end from above): that key, with
 *		*value coerced to the column's type and *strict set for < and >.
 *		Else LDK_NONE.
 */
static LdKey
range_key_of(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi, Expr *clause,
			 Expr **value, bool *strict)
{
	OpExpr	   *op = (OpExpr *) clause;
	uint32		usable = 0;
	char	   *name;
	LdKey		k;
	Expr	   *v;
	bool		var_left;
	int			i;

	if (!IsA(clause, OpExpr) || list_length(op->args) != 2 ||
		op->opno >= FirstNormalObjectId || (name = get_opname(op->opno)) == NULL)
		return LDK_NONE;
	for (i = 0; i < fi->res->nendpoints; i++)
		usable |= ld_endpoint_keys(&fi->res->endpoints[i]);
	var_left = (k = key_of_var(root, baserel, fi->res, usable, linitial(op->args))) != LDK_NONE;
	if (!var_left)
		k = key_of_var(root, baserel, fi->res, usable, lsecond(op->args));
	if (k == LDK_NONE || ld_key_def(k)->bind == LDB_EQUAL)
		return LDK_NONE;
	v = strip_relabel(var_left ? lsecond(op->args) : linitial(op->args));
	if (!is_key_value(root, baserel, v))
		return LDK_NONE;
	/* as "column op value" */
	if (!var_left)
		name = strcmp(name, "<") == 0 ? ">" : strcmp(name, "<=") == 0 ? ">=" :
			strcmp(name, ">") == 0 ? "<" : strcmp(name, ">=") == 0 ? "<=" : name;
	if (ld_key_def(k)->bind == LDB_LOWER ?
		strcmp(name, ">=") != 0 && strcmp(name, ">") != 0 :
		strcmp(name, "<=") != 0 && strcmp(name, "<") != 0)
		return LDK_NONE;
	*strict = strlen(name) == 1;
	*value = (Expr *) coerce_to_target_type(NULL, (Node *) v, exprType((Node *) v),
											exprType((Node *) strip_relabel(var_left ? linitial(op->args) : lsecond(op->args))),
											-1, COERCION_IMPLICIT, COERCE_IMPLICIT_CAST, -1);
	return *value != NULL ? k : LDK_NONE;
}

/*
 * from_path
 *		Whether an endpoint's rows get a key column's value from the
 *		request path (then a condition sent as that key holds for every row
 *		by construction).  Otherwise the value is an item's own field (the
 *		enclosing item's key, for embedded rows), which the API may match
 *		differently (e.g. ignoring case), so the condition is checked again.
 */
static bool
from_path(const LdResource *res, const LdEndpoint *ep, LdKey k)
{
	const LdColumn *col = ld_key_column(res, k);

	if (ep->embedded != NULL && ep->embedded_parent == k)
		return false;
	/* a window bound is widened to whole buckets: the condition stays */
	if (ld_key_def(k)->bind != LDB_EQUAL)
		return false;
	return col != NULL && (col->flags & LDC_PATH) != 0;
}

/*
 * bound_mask
 *		Bitmask of the keys bound by conditions.
 */
static uint32
bound_mask(List *kinds)
{
	uint32		m = 0;
	ListCell   *lc;

	foreach(lc, kinds)
		m |= LD_KEY_BIT(lfirst_int(lc));
	return m;
}

/*
 * fixed_mask
 *		Bitmask of the keys the table's options fix.
 */
static uint32
fixed_mask(const LdOptions *opts)
{
	uint32		m = 0;
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
		if (opts->keys[k] != NULL)
			m |= LD_KEY_BIT(k);
	return m;
}

/*
 * value_count
 *		How many values a key expression stands for (IN lists); an array
 *		known only at run time counts as a few.
 */
static int
value_count(Expr *e)
{
	if (IsA(e, ArrayExpr))
		return list_length(((ArrayExpr *) e)->elements);
	if (IsA(e, Const) && type_is_array(((Const *) e)->consttype))
		return ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(((Const *) e)->constvalue)),
							  ARR_DIMS(DatumGetArrayTypeP(((Const *) e)->constvalue)));
	return type_is_array(exprType((Node *) e)) ? 3 : 1;
}

/*
 * classify_conds
 *		Split clauses into key conditions the API takes and local ones,
 *		then choose the most specific endpoint they allow.  Returns false
 *		when no endpoint applies (each needs a key nothing binds).
 */
static bool
classify_conds(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi,
			   List *clauses, LdKeyPlan *kp)
{
	List	   *cand = NIL,
			   *kinds = NIL,
			   *exprs = NIL,
			   *stricts = NIL;
	ListCell   *lc,
			   *lk,
			   *le,
			   *lr,
			   *ls;
	uint32		keys;
	int			i;

	memset(kp, 0, sizeof(*kp));
	foreach(lc, clauses)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Expr	   *value = NULL;
		bool		strict = false;
		LdKey		k = match_key_qual(root, baserel, fi, ri->clause, &value);

		if (k == LDK_NONE)
			k = range_key_of(root, baserel, fi, ri->clause, &value, &strict);

		if (k == LDK_NONE || (bound_mask(kinds) & LD_KEY_BIT(k)) ||
			(fi->opts.keys[k] != NULL && !ld_key_def(k)->option_default))
		{
			kp->local_conds = lappend(kp->local_conds, ri);
			continue;
		}
		kinds = lappend_int(kinds, k);
		exprs = lappend(exprs, value);
		stricts = lappend_int(stricts, strict ? 1 : 0);
		cand = lappend(cand, ri);
	}

	/* the first endpoint whose required keys are all bound (or fixed) */
	for (i = 0; i < fi->res->nendpoints; i++)
		if ((fi->res->endpoints[i].binds &
			 ~(bound_mask(kinds) | fixed_mask(&fi->opts))) == 0)
			break;
	if (i >= fi->res->nendpoints)
	{
		/* what the last (least specific) endpoint misses */
		kp->missing = fi->res->endpoints[i - 1].binds &
			~(bound_mask(kinds) | fixed_mask(&fi->opts));
		return false;
	}
	kp->endpoint = i;
	keys = ld_endpoint_keys(&fi->res->endpoints[i]);

	/* keys the chosen endpoint does not take are checked locally */
	forfour(lk, kinds, le, exprs, lr, cand, ls, stricts)
	{
		if (keys & LD_KEY_BIT(lfirst_int(lk)))
		{
			kp->key_kinds = lappend_int(kp->key_kinds, lfirst_int(lk));
			kp->key_exprs = lappend(kp->key_exprs, lfirst(le));
			kp->key_strict = lappend_int(kp->key_strict, lfirst_int(ls));
			kp->remote_conds = lappend(kp->remote_conds, lfirst(lr));
			kp->recheck |= !from_path(fi->res, &fi->res->endpoints[i], lfirst_int(lk));
		}
		else
			kp->local_conds = lappend(kp->local_conds, lfirst(lr));
	}
	return true;
}

/*
 * no_endpoint_error
 *		ERROR for a scan no endpoint of the resource can serve: every one
 *		needs a key that no WHERE condition gives.
 */
static void
no_endpoint_error(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi, uint32 missing)
{
	StringInfoData names;
	StringInfoData where;
	StringInfoData options;
	const char *first = NULL;
	int			k;

	initStringInfo(&names);
	initStringInfo(&where);
	initStringInfo(&options);
	for (k = 1; k < LDK_COUNT; k++)
	{
		const LdKeyDef *def = ld_key_def((LdKey) k);

		if (!(missing & LD_KEY_BIT(k)))
			continue;
		appendStringInfo(&names, "%s\"%s\"", names.len ? " and " : "", def->name);
		if (first == NULL)
			first = def->name;
		if (def->example)
			appendStringInfo(&where, "%s%s", where.len ? " AND " : "", def->example);
		if (def->option)
			appendStringInfo(&options, "%s%s", options.len ? ", " : "", def->option);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_CREATE_EXECUTION),
			 errmsg("foreign table \"%s\" requires a condition on %s",
					get_rel_name(planner_rt_fetch(baserel->relid, root)->relid),
					names.data),
			 errdetail("LaunchDarkly has no endpoint that lists %s rows without it.",
					   fi->res->name),
			 where.len ? errhint("Add WHERE %s%s%s%s.", where.data,
								 options.len ? " (or set the table option " : "",
								 options.data, options.len ? ")" : "") :
			 errhint("Add a WHERE condition such as %s = '...' or %s IN (...).",
					 first ? first : "key", first ? first : "key")));
}

/*
 * estimate_series
 *		How many request series and requests a key plan makes, how many
 *		rows it returns, and whether it is a single paged series (LIMIT
 *		pushdown).
 */
static void
estimate_series(LdRelInfo *fi, LdKeyPlan *kp)
{
	const LdEndpoint *ep = &fi->res->endpoints[kp->endpoint];
	bool		multi = false;
	ListCell   *lk,
			   *le;
	double		per_series;

	kp->series = 1;
	forboth(lk, kp->key_kinds, le, kp->key_exprs)
	{
		int			n = value_count(lfirst(le));

		kp->series *= Max(n, 1);
		multi |= type_is_array(exprType((Node *) lfirst(le)));
	}
	kp->enumerate = ld_enumerated_key(ep, bound_mask(kp->key_kinds) |
									  fixed_mask(&fi->opts)) != LDK_NONE;
	if (kp->enumerate)
		kp->series *= fi->enumerated;
	kp->one_series = !multi && !kp->enumerate && kp->series <= 1;
	kp->single_series = !multi && !kp->enumerate && ep->shape == LD_SHAPE_PAGED &&
		ep->embedded == NULL;

	per_series = ep->shape == LD_SHAPE_ITEM ? 1 : fi->per_series;
	if (ep->embedded != NULL)
		per_series = (ep->shape == LD_SHAPE_ITEM ? 3 : fi->per_series * 3);
	kp->rows = kp->series * per_series;
	kp->requests = kp->series *
		(ep->shape == LD_SHAPE_PAGED ? Max(1, ceil(per_series / fi->opts.page_size)) : 1) +
		(kp->enumerate ? Max(1, ceil(fi->enumerated / fi->opts.page_size)) : 0);
}

/*
 * remote_total
 *		use_remote_estimate: the totalCount of a list, from one limit=1 GET
 *		(like postgres_fdw's remote EXPLAIN); -1 if the API gives none.
 */
static double
remote_total(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi,
			 const char *tmpl, const char *const *keys)
{
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	LdConn	   *conn = ld_connection_for(rte->relid, baserel->userid, &fi->opts);
	LdEndpoint	ep = {tmpl};
	char	   *base = ld_build_path(&ep, fi->opts.project_key, keys, true);
	char	   *path = psprintf("%s%slimit=1&offset=0", base, ld_query_sep(base));
	LdStats		stats = {0};
	LdResult	res;
	LdpPage		page;
	double		total = -1;

	ld_request(conn, "GET", path, NULL, NULL, &stats, &res);
	if (res.status == 200 && ldp_parse(res.body, res.body_len, 0, &page) == LDP_OK)
	{
		if (page.total >= 0)
			total = (double) page.total;
		ldp_free(&page);
	}
	return total;
}

/*
 * remote_estimates
 *		Replace the guesses by the API's totalCounts where the base key
 *		plan allows: the enumerated parent list, and a single series whose
 *		keys are constants.
 */
static void
remote_estimates(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi)
{
	const LdEndpoint *ep = &fi->res->endpoints[fi->base.endpoint];
	const char *keys[LDK_COUNT] = {0};
	ListCell   *lk,
			   *le;
	double		t;

	memcpy(keys, fi->opts.keys, sizeof(keys));
	if (fi->base.enumerate)
	{
		LdKey		k = ld_enumerated_key(ep, bound_mask(fi->base.key_kinds) |
									  fixed_mask(&fi->opts));

		t = remote_total(root, baserel, fi, ld_key_def(k)->list, keys);
		if (t >= 0)
			fi->enumerated = t;
		return;
	}
	if (!fi->base.single_series)
		return;
	forboth(lk, fi->base.key_kinds, le, fi->base.key_exprs)
	{
		Const	   *c = (Const *) lfirst(le);

		if (!IsA(c, Const))
			return;
		keys[lfirst_int(lk)] = ld_key_text(lfirst_int(lk), c->consttype, c->constvalue);
		if (!ld_key_value_ok(keys[lfirst_int(lk)]))
			return;				/* no such row: the scan sends nothing */
	}
	t = remote_total(root, baserel, fi, ep->path, keys);
	if (t >= 0)
		fi->per_series = t;
}

/*
 * ldGetForeignRelSize
 *		Classify conditions, choose the endpoint, estimate rows.  No
 *		network call unless use_remote_estimate is on.
 */
void
ldGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	LdRelInfo  *fi = palloc0(sizeof(LdRelInfo));
	ListCell   *lc;

	baserel->fdw_private = fi;
	ld_get_options(foreigntableid, &fi->opts);
	fi->res = ld_find_resource(fi->opts.resource);
	fi->enumerated = LD_ENUMERATED_GUESS;
	fi->per_series = fi->res->rows_per_series;
	if (!classify_conds(root, baserel, fi, baserel->baserestrictinfo, &fi->base))
		no_endpoint_error(root, baserel, fi, fi->base.missing);
	estimate_series(fi, &fi->base);
	if (fi->opts.use_remote_estimate)
	{
		remote_estimates(root, baserel, fi);
		estimate_series(fi, &fi->base);
	}

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid,
				   &fi->attrs_used);
	foreach(lc, fi->base.local_conds)
		pull_varattnos((Node *) lfirst_node(RestrictInfo, lc)->clause,
					   baserel->relid, &fi->attrs_used);
	baserel->rows = clamp_row_est(fi->base.rows *
								  clauselist_selectivity(root, fi->base.local_conds,
														 baserel->relid, JOIN_INNER, NULL));
}

/*
 * path_costs
 *		Startup and total cost of a key plan: requests dominate.
 */
static void
path_costs(LdRelInfo *fi, LdKeyPlan *kp, double rows, Cost *startup, Cost *total)
{
	*startup = fi->opts.request_cost;
	*total = fi->opts.request_cost * kp->requests + rows * cpu_tuple_cost * 10;
}

/*
 * key_var_matches
 *		Callback for generate_implied_equalities_for_column: is this
 *		equivalence member the key column we look at?
 */
static bool
key_var_matches(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				EquivalenceMember *em, void *arg)
{
	Expr	   *e = strip_relabel(em->em_expr);

	return IsA(e, Var) && ((Var *) e)->varno == (int) rel->relid &&
		((Var *) e)->varattno == *(AttrNumber *) arg;
}

/*
 * join_key_clauses
 *		Join clauses that give a key column of this relation its value
 *		from another relation (from equivalence classes and joininfo).
 */
static List *
join_key_clauses(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi)
{
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	List	   *out = NIL;
	ListCell   *lc;
	int			i;

	for (i = 0; i < fi->res->ncolumns; i++)
	{
		AttrNumber	attnum;

		if (fi->res->columns[i].key == LDK_NONE)
			continue;
		attnum = get_attnum(rte->relid, fi->res->columns[i].name);
		if (attnum == InvalidAttrNumber)
			continue;
		out = list_concat(out,
						  generate_implied_equalities_for_column(root, baserel,
																 key_var_matches, &attnum,
																 baserel->lateral_referencers));
	}
	foreach(lc, baserel->joininfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Expr	   *value;

		if (match_key_qual(root, baserel, fi, ri->clause, &value) != LDK_NONE)
			out = lappend(out, ri);
	}
	return out;
}

/*
 * order_pathkeys
 *		The order the API documents for one series of the endpoint (runs:
 *		created_at DESC; a run's results: iteration DESC), as the query's
 *		pathkey when that is all the query asks for: PostgreSQL then
 *		needs no Sort, and a LIMIT above can go to the API.  Only DESC with
 *		NULLS FIRST (what DESC means), the type's default ordering, and a
 *		column read from its own field (no "field" option) of a date/time
 *		or numeric type.  Never for several series (enumerated parents, IN
 *		lists): their rows come series by series, not in one order.
 */
static List *
order_pathkeys(PlannerInfo *root, RelOptInfo *baserel, LdRelInfo *fi, LdKeyPlan *kp)
{
	const char *colname = fi->res->endpoints[kp->endpoint].order_desc;
	Oid			relid = planner_rt_fetch(baserel->relid, root)->relid;
	TypeCacheEntry *tce;
	PathKey    *pk;
	AttrNumber	attnum;
	char		category;
	bool		preferred;
	ListCell   *lc;

	if (colname == NULL || !kp->one_series || list_length(root->query_pathkeys) != 1)
		return NIL;
	pk = linitial_node(PathKey, root->query_pathkeys);
#if PG_VERSION_NUM >= 180000
	if (pk->pk_cmptype != COMPARE_GT || !pk->pk_nulls_first)
#else
	if (pk->pk_strategy != BTGreaterStrategyNumber || !pk->pk_nulls_first)
#endif
		return NIL;
	attnum = get_attnum(relid, colname);
	if (attnum == InvalidAttrNumber || GetForeignColumnOptions(relid, attnum) != NIL)
		return NIL;
	get_type_category_preferred(get_atttype(relid, attnum), &category, &preferred);
	tce = lookup_type_cache(get_atttype(relid, attnum), TYPECACHE_BTREE_OPFAMILY);
	if ((category != TYPCATEGORY_DATETIME && category != TYPCATEGORY_NUMERIC) ||
		pk->pk_opfamily != tce->btree_opf)
		return NIL;
	foreach(lc, pk->pk_eclass->ec_members)
	{
		EquivalenceMember *em = (EquivalenceMember *) lfirst(lc);
		Expr	   *e = strip_relabel(em->em_expr);

		if (IsA(e, Var) && ((Var *) e)->varno == (int) baserel->relid &&
			((Var *) e)->varlevelsup == 0 && ((Var *) e)->varattno == attnum)
			return list_make1(pk);
	}
	return NIL;
}

/*
 * add_scan_path
 *		Add a ForeignPath of the table's own scan (no outer plan), hiding
 *		create_foreignscan_path's arguments that differ by PostgreSQL
 *		version (disabled_nodes in 18, fdw_restrictinfo in 17).
 */
static void
add_scan_path(PlannerInfo *root, RelOptInfo *baserel, double rows,
			  Cost startup, Cost total, List *pathkeys, Relids outer)
{
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, rows,
#if PG_VERSION_NUM >= 180000
									 0,
#endif
									 startup, total, pathkeys, outer, NULL,
#if PG_VERSION_NUM >= 170000
									 NIL,
#endif
									 NIL));
}

/*
 * ldGetForeignPaths
 *		The plain path, and a parameterized path per join clause that can
 *		feed a key: a nested loop then asks only for the outer rows' keys.
 *		The planner chooses by cost (request_cost per request).
 */
void
ldGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	LdRelInfo  *fi = (LdRelInfo *) baserel->fdw_private;
	Cost		startup,
				total;
	List	   *pathkeys;
	ListCell   *lc;

	path_costs(fi, &fi->base, baserel->rows, &startup, &total);
	add_scan_path(root, baserel, baserel->rows, startup, total, NIL, NULL);

	/* the same scan, known to return rows in the order the query wants */
	pathkeys = order_pathkeys(root, baserel, fi, &fi->base);
	if (pathkeys != NIL)
		add_scan_path(root, baserel, baserel->rows, startup, total, pathkeys, NULL);

	foreach(lc, join_key_clauses(root, baserel, fi))
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Relids		outer = bms_difference(ri->clause_relids, baserel->relids);
		ParamPathInfo *ppi;
		LdKeyPlan	kp;
		double		rows;

		outer = bms_union(outer, baserel->lateral_relids);
		if (bms_is_empty(outer))
			continue;
		ppi = get_baserel_parampathinfo(root, baserel, outer);
		if (!classify_conds(root, baserel, fi,
							list_concat(list_copy(baserel->baserestrictinfo),
										ppi->ppi_clauses), &kp) ||
			kp.remote_conds == NIL ||
			bound_mask(kp.key_kinds) == bound_mask(fi->base.key_kinds))
			continue;			/* the join clause gave no key */
		estimate_series(fi, &kp);
		rows = clamp_row_est(Min(ppi->ppi_rows, kp.rows));
		path_costs(fi, &kp, rows, &startup, &total);
		add_scan_path(root, baserel, rows, startup, total, NIL, outer);
	}
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
 * is_count_star
 *		Whether an expression is a plain count(*): no FILTER, DISTINCT or
 *		ORDER BY, of this query level.
 */
static bool
is_count_star(Expr *e)
{
	Aggref	   *a = (Aggref *) e;

	return e != NULL && IsA(e, Aggref) && a->aggfnoid == F_COUNT_ && a->aggstar &&
		a->aggfilter == NULL && a->aggdistinct == NIL && a->aggorder == NIL &&
		a->agglevelsup == 0 && a->aggkind == AGGKIND_NORMAL &&
		a->aggsplit == AGGSPLIT_SIMPLE;
}

/*
 * is_series_key
 *		Whether an expression is a key column of the relation whose value
 *		its endpoint's rows take from the request: its value is the
 *		series' key.
 */
static bool
is_series_key(PlannerInfo *root, RelOptInfo *rel, LdRelInfo *fi, Expr *e)
{
	const LdEndpoint *ep = &fi->res->endpoints[fi->base.endpoint];
	uint32		keys = ld_endpoint_keys(ep);
	LdKey		k;

	if (!IsA(e, Var))
		return false;
	k = key_of_var(root, rel, fi->res, keys, e);
	return k != LDK_NONE && from_path(fi->res, ep, k);
}

/*
 * groups_by_series
 *		GROUP BY key columns that pick the series: every key with several
 *		values (an IN list, or enumerated) is grouped, so that each group
 *		is one series.
 */
static bool
groups_by_series(PlannerInfo *root, RelOptInfo *rel, LdRelInfo *fi)
{
	const LdEndpoint *ep = &fi->res->endpoints[fi->base.endpoint];
	uint32		grouped = 0;
	uint32		multi = 0;
	LdKey		ek;
	ListCell   *lc,
			   *lk;

	foreach(lc, root->parse->groupClause)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		Expr	   *e = (Expr *) get_sortgroupclause_expr(sgc, root->parse->targetList);

		if (!is_series_key(root, rel, fi, e))
			return false;
		grouped |= LD_KEY_BIT(key_of_var(root, rel, fi->res, ld_endpoint_keys(ep), e));
	}
	forboth(lc, fi->base.key_exprs, lk, fi->base.key_kinds)
		if (type_is_array(exprType((Node *) lfirst(lc))))
			multi |= LD_KEY_BIT(lfirst_int(lk));
	ek = ld_enumerated_key(ep, bound_mask(fi->base.key_kinds) | fixed_mask(&fi->opts));
	if (ek != LDK_NONE)
		multi |= LD_KEY_BIT(ek);
	return (multi & ~grouped) == 0;
}

/*
 * add_count_path
 *		count(*) with only key conditions (none checked locally), not
 *		grouped: one limit=1 GET per request series reads totalCount (where
 *		an answer has none, the scan counts the rows instead).  Paged and
 *		list endpoints of whole items only: a single-item GET, or rows
 *		embedded in items, are counted by scanning.
 */
static void
add_count_path(PlannerInfo *root, RelOptInfo *input_rel, RelOptInfo *output_rel)
{
	Query	   *parse = root->parse;
	LdRelInfo  *fi = (LdRelInfo *) input_rel->fdw_private;
	LdRelInfo  *ofi;
	const LdEndpoint *ep;
	PathTarget *target = root->upper_targets[UPPERREL_GROUP_AGG];
	double		requests;
	double		rows;
	ListCell   *lc;

	if (fi == NULL || input_rel->reloptkind != RELOPT_BASEREL ||
		parse->commandType != CMD_SELECT || parse->rowMarks != NIL ||
		parse->groupingSets != NIL ||
		parse->havingQual != NULL || parse->hasTargetSRFs ||
		fi->base.local_conds != NIL || fi->base.recheck || target == NULL ||
		target->exprs == NIL)
		return;
	ep = &fi->res->endpoints[fi->base.endpoint];
	if (ep->shape == LD_SHAPE_ITEM || ep->embedded != NULL)
		return;
	if (parse->groupClause != NIL && !groups_by_series(root, input_rel, fi))
		return;
	foreach(lc, target->exprs)
		if (!is_count_star((Expr *) lfirst(lc)) &&
			(parse->groupClause == NIL || !is_series_key(root, input_rel, fi, lfirst(lc))))
			return;

	ofi = palloc(sizeof(LdRelInfo));
	*ofi = *fi;
	ofi->relid = planner_rt_fetch(input_rel->relid, root)->relid;
	output_rel->fdw_private = ofi;
	rows = parse->groupClause != NIL ? clamp_row_est(fi->base.series) : 1;
	/* one request per series, plus the pages of an enumerated parent list */
	requests = fi->base.series +
		(fi->base.enumerate ? Max(1, ceil(fi->enumerated / fi->opts.page_size)) : 0);
	add_path(output_rel, (Path *)
			 create_foreign_upper_path(root, output_rel, target, rows,
#if PG_VERSION_NUM >= 180000
									   0,
#endif
									   requests * fi->opts.request_cost,
									   requests * fi->opts.request_cost + 1,
									   NIL, NULL,
#if PG_VERSION_NUM >= 170000
									   NIL,
#endif
									   NIL));
}

/*
 * final_scan_path
 *		The unparameterized ForeignPath of one of our base relations among
 *		the final stage's input paths (the scan/join relation, or the
 *		ordered relation when the query sorts): for ORDER BY, one whose
 *		rows already come in the query's order.  NULL if none.
 */
static Path *
final_scan_path(PlannerInfo *root, RelOptInfo *input_rel)
{
	Path	   *best = NULL;
	ListCell   *lc;

	foreach(lc, input_rel->pathlist)
	{
		Path	   *p = (Path *) lfirst(lc);

		/* look through a projection added for the scan/join target */
		if (IsA(p, ProjectionPath))
			p = ((ProjectionPath *) p)->subpath;
		if (!IsA(p, ForeignPath) || p->param_info != NULL ||
			p->parent->reloptkind != RELOPT_BASEREL || p->parent->fdw_private == NULL)
			continue;
		if (root->parse->sortClause != NIL &&
			!pathkeys_contained_in(root->sort_pathkeys, p->pathkeys))
			continue;
		best = p;
	}
	return best;
}

/*
 * ldGetForeignUpperPaths
 *		Offer a final path that carries LIMIT/OFFSET into the first GET,
 *		under postgres_fdw's rules: a plain SELECT of one foreign table, no
 *		local conditions, no WITH TIES, constant/parameter limits, and
 *		ORDER BY only where the scan already gives that order (the API's
 *		documented one); and ours: a single paged request series.
 */
void
ldGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
					   RelOptInfo *input_rel, RelOptInfo *output_rel,
					   void *extra)
{
	Query	   *parse = root->parse;
	FinalPathExtraData *fextra = (FinalPathExtraData *) extra;
	LdRelInfo  *fi;
	Path	   *best;
	double		rows;
	Cost		total;

	if (stage == UPPERREL_GROUP_AGG)
	{
		add_count_path(root, input_rel, output_rel);
		return;
	}
	if (stage != UPPERREL_FINAL || !fextra->limit_needed ||
		parse->commandType != CMD_SELECT || parse->rowMarks != NIL ||
		parse->hasTargetSRFs || parse->hasAggs || parse->groupClause != NIL ||
		parse->distinctClause != NIL || parse->hasWindowFuncs ||
		parse->limitOption == LIMIT_OPTION_WITH_TIES ||
		!limit_expr_ok(parse->limitCount) || !limit_expr_ok(parse->limitOffset) ||
		(best = final_scan_path(root, input_rel)) == NULL)
		return;
	fi = (LdRelInfo *) best->parent->fdw_private;
	if (fi->base.local_conds != NIL || fi->base.recheck || !fi->base.single_series)
		return;

	rows = fextra->count_est > 0 ? Min(fextra->count_est, best->rows) : best->rows;
	/* fetching only the rows wanted saves requests and bytes */
	total = best->startup_cost + (best->total_cost - best->startup_cost) *
		(best->rows > 0 ? rows / best->rows : 1) * 0.9;
	add_path(output_rel, (Path *)
			 create_foreign_upper_path(root, best->parent,
									   root->upper_targets[UPPERREL_FINAL],
									   rows,
#if PG_VERSION_NUM >= 180000
									   0,
#endif
									   best->startup_cost * 0.9, total, best->pathkeys, NULL,
#if PG_VERSION_NUM >= 170000
									   NIL,
#endif
									   list_make1(makeInteger(1))));
}

/*
 * ldIsForeignPathAsyncCapable
 *		A scan of a base relation may run under an asynchronous Append
 *		(its requests in flight while other children run), unless the
 *		async_capable option says no; a pushed count(*) runs synchronously.
 */
bool
ldIsForeignPathAsyncCapable(ForeignPath *path)
{
	RelOptInfo *rel = path->path.parent;
	LdRelInfo  *fi = (LdRelInfo *) rel->fdw_private;

	return IS_SIMPLE_REL(rel) && fi != NULL &&
		fi->opts.async_capable && ld_async_supported();
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
 * recheck_clause
 *		Whether the scan checks a clause itself: every local one, and a key
 *		condition the API applied unless the column comes from the path.
 */
static bool
recheck_clause(const LdResource *res, LdKeyPlan *kp, RestrictInfo *ri)
{
	ListCell   *lr,
			   *lk;

	forboth(lr, kp->remote_conds, lk, kp->key_kinds)
		if (lfirst(lr) == ri)
			return !from_path(res, &res->endpoints[kp->endpoint], lfirst_int(lk));
	return true;
}

/*
 * scan_feeds_write
 *		Whether the statement writes the table this scan reads (an UPDATE
 *		or DELETE of it, or an INSERT into it): each write can shift the
 *		pages still to be read, so a paged scan must read all its rows
 *		before the first write.
 */
static bool
scan_feeds_write(PlannerInfo *root, RelOptInfo *baserel, Oid relid)
{
	PlannerInfo *r;

	for (r = root; r != NULL; r = r->parent_root)
	{
		Query	   *q = r->parse;

		if (q->commandType != CMD_UPDATE && q->commandType != CMD_DELETE &&
			q->commandType != CMD_INSERT)
			continue;
		if (r == root && bms_is_member(baserel->relid, r->all_result_relids))
			return true;
		if (q->resultRelation > 0 &&
			rt_fetch(q->resultRelation, q->rtable)->relid == relid)
			return true;
	}
	return false;
}

/*
 * rows_wanted
 *		How much of the scan the executor will read, for page prefetch:
 *		1 every row (tuple_fraction 0 at every query level: no LIMIT above,
 *		not a cursor, not a sublink, and not the inner side of a
 *		parameterized join, rescanned and possibly stopped per outer row);
 *		-1 an absolute count (tuple_fraction >= 1: a LIMIT above that is
 *		not pushed, an EXISTS); 0 a fraction (a cursor's
 *		cursor_tuple_fraction, an ANY sublink) or a pushed LIMIT.
 */
static int
rows_wanted(PlannerInfo *root, ForeignPath *best_path)
{
	PlannerInfo *r;
	bool		fraction = best_path->path.param_info != NULL ||
		best_path->fdw_private != NIL;

	for (r = root; r != NULL; r = r->parent_root)
	{
		if (r->tuple_fraction >= 1 && !fraction)
			return -1;
		if (r->tuple_fraction > 0)
			fraction = true;
	}
	return fraction ? 0 : 1;
}

/*
 * count_plan
 *		The ForeignScan of a pushed count(*) (scanrelid 0): its scan tuple
 *		is the count(*) columns of the grouping target; the key values of
 *		the base relation's conditions are its fdw_exprs.
 */
static ForeignScan *
count_plan(PlannerInfo *root, RelOptInfo *rel, LdRelInfo *fi, List *tlist,
		   Plan *outer_plan)
{
	List	   *scan_tlist = NIL;
	ForeignScan *scan;
	ListCell   *lc;
	int			i = 1;

	foreach(lc, rel->reltarget->exprs)
		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry(copyObject(lfirst(lc)), i++, NULL, false));
	scan = make_foreignscan(tlist, NIL, 0, list_copy(fi->base.key_exprs),
							list_make5(makeString(pstrdup(fi->res->name)),
									   makeInteger(fi->base.endpoint),
									   NIL,
									   list_copy(fi->base.key_kinds),
									   makeInteger(0)),
							scan_tlist, NIL, outer_plan);
	scan->fdw_private = lappend(lappend(lappend(scan->fdw_private, makeInteger(0)),
										makeInteger((int) fi->relid)),
								list_copy(fi->base.key_strict));
	scan->fdw_private = lappend(scan->fdw_private, makeString(pstrdup("")));
	scan->fdw_private = lappend(scan->fdw_private, makeInteger(0));
	return scan;
}

/*
 * ldGetForeignPlan
 *		Build the ForeignScan: local conditions (and key conditions to
 *		check again, but no pseudoconstant ones: a gating Result has them)
 *		as its qual, key values (constants, parameters, or the outer side
 *		of a join clause) and LIMIT/OFFSET as fdw_exprs, the rest in
 *		fdw_private.
 */
ForeignScan *
ldGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				 ForeignPath *best_path, List *tlist, List *scan_clauses,
				 Plan *outer_plan)
{
	LdRelInfo  *fi = (LdRelInfo *) baserel->fdw_private;
	bool		has_limit = best_path->fdw_private != NIL;
	LdKeyPlan	param_kp;
	LdKeyPlan  *kp = &fi->base;
	List	   *local_exprs = NIL;
	List	   *fdw_exprs;
	Bitmapset  *attrs = bms_copy(fi->attrs_used);
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	Relation	rel;
	List	   *retrieved;
	bool		read_all;
	ForeignScan *scan;
	ListCell   *lc;

	if (IS_UPPER_REL(baserel))
		return count_plan(root, baserel, fi, tlist, outer_plan);
	if (best_path->path.param_info != NULL)
	{
		/* this path's own keys: the join clauses it was made for */
		if (!classify_conds(root, baserel, fi,
							list_concat(list_copy(baserel->baserestrictinfo),
										best_path->path.param_info->ppi_clauses),
							&param_kp))
			no_endpoint_error(root, baserel, fi, param_kp.missing);
		kp = &param_kp;
	}
	foreach(lc, scan_clauses)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		/* a gating Result evaluates pseudoconstant quals, once */
		if (ri->pseudoconstant)
			continue;
		if (!recheck_clause(fi->res, kp, ri))
			continue;
		local_exprs = lappend(local_exprs, ri->clause);
		pull_varattnos((Node *) ri->clause, baserel->relid, &attrs);
	}
	fdw_exprs = list_copy(kp->key_exprs);
	if (has_limit)
	{
		fdw_exprs = lappend(fdw_exprs, root->parse->limitCount);
		fdw_exprs = lappend(fdw_exprs, root->parse->limitOffset);
	}
	rel = table_open(rte->relid, NoLock);
	retrieved = retrieved_attrs(rel, attrs);
	table_close(rel, NoLock);
	/* only pages can shift under writes (one item, or a list, cannot) */
	read_all = fi->res->endpoints[kp->endpoint].shape == LD_SHAPE_PAGED &&
		scan_feeds_write(root, baserel, rte->relid);

	scan = make_foreignscan(tlist, local_exprs, baserel->relid, fdw_exprs,
							lappend(list_make5(makeString(pstrdup(fi->res->name)),
											   makeInteger(kp->endpoint),
											   retrieved,
											   list_copy(kp->key_kinds),
											   makeInteger(has_limit ? 1 : 0)),
									makeInteger(read_all ? 1 : 0)),
							NIL, NIL, outer_plan);
	scan->fdw_private = lappend(lappend(scan->fdw_private, makeInteger(0)),
								list_copy(kp->key_strict));
	/* the API's documented order, when the plan relies on it (no Sort) */
	scan->fdw_private = lappend(scan->fdw_private,
								makeString(pstrdup(best_path->path.pathkeys != NIL ?
												   fi->res->endpoints[kp->endpoint].order_desc : "")));
	scan->fdw_private = lappend(scan->fdw_private,
								makeInteger(rows_wanted(root, best_path)));
	return scan;
}
