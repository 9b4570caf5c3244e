/*-------------------------------------------------------------------------
 *
 * explain.c
 *		  The request lines EXPLAIN VERBOSE shows for a scan, rendered from
 *		  the plan alone (no network): constants as values, parameters --
 *		  including the join parameters of a nested loop -- as $n, and keys
 *		  known only at run time (enumerated, IN lists) as {name}.
 *
 * They are rendered at EXPLAIN time rather than at plan time because
 * nested-loop parameters get their numbers after GetForeignPlan.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/*
 * escaped
 *		A value percent-escaped as the request path will carry it.
 */
static char *
escaped(const char *value)
{
	char	   *esc = ldh_escape(value);
	char	   *out = pstrdup(esc ? esc : "");

	ldh_free(esc);
	return out;
}

/*
 * shown_value
 *		How a key or limit expression is shown: its value when constant,
 *		$n for a parameter, NULL otherwise.
 */
static char *
shown_value(LdKey key, Expr *e)
{
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (e != NULL && IsA(e, Const) && !((Const *) e)->constisnull &&
		!type_is_array(((Const *) e)->consttype))
		return escaped(ld_key_text(key, ((Const *) e)->consttype, ((Const *) e)->constvalue));
	if (e != NULL && IsA(e, Param))
		return psprintf("$%d", ((Param *) e)->paramid);
	return NULL;
}

/*
 * limit_query
 *		The query string of a paged request: page_size and offset 0, or a
 *		pushed LIMIT (capped by page_size) and OFFSET.
 */
static char *
limit_query(const char *path, int page_size, Expr *count, Expr *offset)
{
	char	   *lim = psprintf("%d", page_size);
	char	   *off = "0";
	char	   *v;

	if (count != NULL && (v = shown_value(LDK_NONE, count)) != NULL)
		lim = (IsA(count, Const) && atoll(v) < page_size) ? v :
			IsA(count, Const) ? lim : v;
	if (offset != NULL && (v = shown_value(LDK_NONE, offset)) != NULL)
		off = v;
	return psprintf("%slimit=%s&offset=%s", ld_query_sep(path), lim, off);
}

/*
 * reads_item_only
 *		Whether a list scan reads a column only the item endpoint has, so
 *		each row costs one more GET (scan.c reads the item of every row).
 */
static bool
reads_item_only(ForeignScanState *node, const LdResource *res, const LdEndpoint *ep)
{
	List	   *retrieved = (List *) list_nth(((ForeignScan *) node->ss.ps.plan)->fdw_private,
											  LdPrivRetrieved);
	Relation	rel = node->ss.ss_currentRelation;
	ListCell   *lc;

	if (rel == NULL || ep->shape == LD_SHAPE_ITEM || ep->embedded != NULL ||
		ld_item_endpoint(res) == NULL)
		return false;
	foreach(lc, retrieved)
	{
		AttrNumber	attnum = lfirst_int(lc);
		const LdColumn *col = ld_find_column(res, NameStr(TupleDescAttr(RelationGetDescr(rel),
																		attnum - 1)->attname));

		if (col != NULL && (col->flags & LDC_ITEM_ONLY) &&
			GetForeignColumnOptions(RelationGetRelid(rel), attnum) == NIL)
			return true;
	}
	return false;
}

/*
 * const_bound
 *		The WHERE bound (microseconds) of range key k when exactly one
 *		constant condition gives it; false otherwise.
 */
static bool
const_bound(LdKey k, List *kinds, List *strict, List *exprs, int64 *us)
{
	Const	   *c = NULL;
	bool		is_strict = false;
	int			i;

	for (i = 0; i < list_length(kinds); i++)
	{
		Expr	   *e = list_nth(exprs, i);

		if (list_nth_int(kinds, i) != (int) k)
			continue;
		while (e && IsA(e, RelabelType))
			e = ((RelabelType *) e)->arg;
		if (c != NULL || e == NULL || !IsA(e, Const) || ((Const *) e)->constisnull)
			return false;
		c = (Const *) e;
		is_strict = list_nth_int(strict, i) != 0;
	}
	if (c == NULL)
		return false;
	*us = ld_window_bound(k, c->consttype, c->constvalue, is_strict);
	return true;
}

/*
 * window_note
 *		For a metrics endpoint whose window is cut into buckets (window.c),
 *		what its request line stands for: one request per bucket window.
 *		With constant bounds the line shows the first window (keys are
 *		set to its from and to) and how many there are.  NULL when the
 *		window is requested whole (bucket none) or there is no window.
 */
static char *
window_note(const LdEndpoint *ep, List *kinds, List *strict, List *exprs,
			const LdOptions *opts, const char **keys)
{
	LdKey		lower,
				upper,
				bucket;
	const char *name;
	int64		lo,
				hi;
	List	   *windows;

	ld_window_keys(ep, &lower, &upper, &bucket);
	if (lower == LDK_NONE || upper == LDK_NONE || bucket == LDK_NONE)
		return NULL;
	if (list_member_int(kinds, bucket))
		name = keys[bucket];	/* NULL: an IN list or a parameter */
	else
		name = opts->keys[bucket] ? opts->keys[bucket] : "none";
	if (name == NULL)
		return pstrdup(" (one per window of each bucket)");
	if (strcmp(name, "none") == 0)
		return NULL;
	if (!const_bound(lower, kinds, strict, exprs, &lo) ||
		!const_bound(upper, kinds, strict, exprs, &hi))
		return psprintf(" (one per %s of the window)", name);
	windows = ld_build_windows(lo, hi, list_make1(makeString(pstrdup(name))));
	if (windows == NIL)
		return pstrdup(" (an empty window: no request)");
	keys[lower] = ((LdWindow *) linitial(windows))->from_ms;
	keys[upper] = ((LdWindow *) linitial(windows))->to_ms;
	return psprintf(" (the first of %d, one per %s)", list_length(windows), name);
}

/*
 * ld_explain_requests
 *		The requests of a scan: the enumeration list first when a key of
 *		the endpoint is enumerated, then the endpoint.
 */
List *
ld_explain_requests(ForeignScanState *node)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	List	   *priv = fsplan->fdw_private;
	const LdResource *res = ld_find_resource(strVal(list_nth(priv, LdPrivResource)));
	const LdEndpoint *ep = &res->endpoints[intVal(list_nth(priv, LdPrivEndpoint))];
	List	   *kinds = (List *) list_nth(priv, LdPrivKeyKinds);
	bool		has_limit = intVal(list_nth(priv, LdPrivHasLimit)) != 0;
	int			nkeys = list_length(kinds);
	const char *keys[LDK_COUNT] = {0};
	uint32		bound = 0;
	LdOptions	opts;
	List	   *lines = NIL;
	char	   *path;
	char	   *note;
	LdKey		ek;
	int			i;

	Oid			count_relid = (Oid) intVal(list_nth(priv, LdPrivCountRelid));

	/* a pushed count(*) has no scan relation: its table is in the plan */
	ld_get_options(OidIsValid(count_relid) ? count_relid :
				   RelationGetRelid(node->ss.ss_currentRelation), &opts);
	for (i = 1; i < LDK_COUNT; i++)
		if (opts.keys[i] != NULL)
		{
			keys[i] = escaped(opts.keys[i]);
			bound |= LD_KEY_BIT(i);
		}
	for (i = 0; i < nkeys; i++)
	{
		LdKey		k = list_nth_int(kinds, i);

		keys[k] = shown_value(k, list_nth(fsplan->fdw_exprs, i));
		bound |= LD_KEY_BIT(k);
	}
	note = window_note(ep, kinds, (List *) list_nth(priv, LdPrivKeyStrict),
					   fsplan->fdw_exprs, &opts, keys);
	if ((ek = ld_enumerated_key(ep, bound)) != LDK_NONE)
	{
		LdEndpoint	list = {ld_key_def(ek)->list, LD_SHAPE_PAGED};

		lines = lappend(lines, psprintf("GET %s?limit=%d&offset=0",
										ld_build_path(&list, escaped(opts.project_key), keys, false),
										opts.page_size));
	}
	path = ld_build_path(ep, escaped(opts.project_key), keys, false);
	if (ep->shape == LD_SHAPE_PAGED && OidIsValid(count_relid))
		path = psprintf("%s%slimit=1&offset=0", path, ld_query_sep(path));	/* its totalCount */
	else if (ep->shape == LD_SHAPE_PAGED)
		path = psprintf("%s%s", path,
						limit_query(path, opts.page_size,
									has_limit ? list_nth(fsplan->fdw_exprs, nkeys) : NULL,
									has_limit ? list_nth(fsplan->fdw_exprs, nkeys + 1) : NULL));
	lines = lappend(lines, psprintf("GET %s%s", path, note ? note : ""));
	if (reads_item_only(node, res, ep))
	{
		keys[LDK_ITEM] = NULL;
		lines = lappend(lines, psprintf("GET %s (one per row)",
										ld_build_path(ld_item_endpoint(res),
													  escaped(opts.project_key), keys, false)));
	}
	return lines;
}
