/*-------------------------------------------------------------------------
 *
 * scan.c
 *		  Executing a scan: request series, parent enumeration, rows out
 *		  of JSON pages, count(*), ANALYZE, EXPLAIN.
 *
 * A scan reads one or more "series": one endpoint with all its path keys
 * filled in, read page by page.  Key values come from conditions (a value
 * or an IN list), from a table option that fixes the key (optimization_key,
 * config_key), or -- for a parent key nothing fixes -- from enumerating the
 * key's list (every optimization, or AI Config, of the project).  Which key
 * is which is the catalog's key table: nothing here names one.  A metrics
 * endpoint also takes a window: its windows (window.c: the WHERE window cut
 * into buckets) are the innermost digit of the series odometer
 * (next_combination, the one place series are generated).
 *
 * Which GETs are in flight is the request plan's (reqplan.c): the pages of
 * the series being read, on demand (once the executor has used half of a
 * page; at once when the planner says every row is read), and the pages of
 * the series after it (series_ahead tells it which they are).  This file
 * builds the paths, reads the answers and turns them into rows.
 *
 * The same series iteration serves a pushed count(*) (one limit=1 GET per
 * series, reading totalCount) and ANALYZE (that, plus one page as the
 * sample).
 *
 * Memory: batch_cxt holds one page (body and cJSON tree) and is reset per
 * page; parent_cxt holds one page of enumerated parent keys; tuple_cxt is
 * reset per row.
 *
 * Rows are kept (in a tuplestore, which spills to a temporary file past
 * work_mem) in two cases.  When the statement writes the table it scans
 * (UPDATE/DELETE of it, INSERT into it), every write can shift the pages
 * still to be read -- a DELETE moves the later rows to lower offsets -- so
 * an execution reads all its rows before it returns the first one.  When
 * the executor announces rescans without parameter changes (the inner side
 * of a nested loop with no join parameter), a rescan replays the rows
 * instead of sending the requests again.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

typedef struct LdScanState
{
	/* fixed for the scan */
	const LdResource *res;
	const LdEndpoint *ep;
	LdOptions	opts;
	LdConn	   *conn;
	LdAttr	   *attrs;
	int			nattrs;
	List	   *key_kinds;		/* Integer LdKey per key_states entry */
	List	   *key_strict;		/* Integer per entry: a strict range bound */
	List	   *key_states;		/* ExprState per key value */
	ExprState  *limit_state;
	ExprState  *offset_state;
	bool		has_limit;
	bool		use_cache;		/* keys change at rescans: reuse answers */
	bool		read_all;		/* the statement writes this table */
	bool		eager;			/* every row is read: pages asked for at once */
	bool		one_ahead;		/* a count is read: one page ahead at most */
	bool		count_only;		/* a pushed count(*): one row, the count */
	bool		count_done;		/* ... returned */
	bool		count_grouped;	/* ... one row per series (GROUP BY its key) */
	Oid			count_relid;	/* ... of this foreign table */
	bool		keep;			/* keep the rows (read_all, or rewinds) */
	EState	   *estate;			/* the query (its response cache) */
	LdStats		stats;
	MemoryContext batch_cxt;	/* one page of the current series */
	MemoryContext parent_cxt;	/* one page of enumerated parents */
	MemoryContext run_cxt;		/* key values of one execution */
	MemoryContext tuple_cxt;	/* one row */
	MemoryContext store_cxt;	/* the kept rows */
	Tuplestorestate *store;		/* kept rows of this execution, or NULL */
	TupleTableSlot *store_slot; /* a row read back from store */
	bool		store_done;		/* store holds every row of the execution */
	bool		replay;			/* rows come from store */

	/* one execution (reset by ReScan) */
	List	   *values[LDK_COUNT];	/* key values (char *), NIL = unbound */
	int			idx[LDK_COUNT]; /* current position in values[] */
	LdKey		enumerated;		/* the key enumerated from its list, or none */
	bool		fixed[LDK_COUNT];	/* the value is the table option's */
	bool		parent_ok;		/* the options' parents were seen to exist */
	LdPager		parent;			/* pager over the enumeration list */
	int64		bound[LDK_COUNT];	/* window bounds from WHERE (range keys) */
	bool		has_bound[LDK_COUNT];
	List	   *windows;		/* LdWindow per window series, NIL = none */
	int			widx;			/* the current one */
	List	   *parent_keys;	/* enumerated keys of the current page */
	bool		initialized;	/* start_execution() has run */
	bool		started;
	bool		no_rows;		/* a key is NULL or an empty list */
	int64		limit;			/* rows to return, -1 = all */
	int64		offset;
	int64		returned;

	/* current series and page */
	const char *cur[LDK_COUNT];	/* key values of the request */
	const char *row_keys[LDK_COUNT];	/* ... as rows report them */
	LdNotFound	not_found;
	bool		check_parent;	/* on a 404, ask whether the options'
								 * parents exist */
	LdPager		child;
	cJSON	   *item;			/* next item of the page, NULL at its end */
	cJSON	   *row;			/* next embedded row of item */

	/* columns only the item endpoint has: one GET per list item */
	const LdEndpoint *item_ep;	/* that endpoint, NULL when not needed */
	MemoryContext item_cxt;		/* the current item's answer */
	int			nitems_q;		/* item GETs in flight, in list order */
	cJSON	   *item_next;		/* next list item to start a GET for */
	bool		item_serial;	/* rate limited: one at a time */
	struct
	{
		LdhTransfer *t;
		char	   *path;
	}			item_q[LD_MAX_PREFETCH];
	/* first pages of the next series, in flight ahead (reqplan.c) */
	LdReqPlan	ahead;
	MemoryContext ahead_cxt;	/* the plan's scratch: one planning round */
	bool		series_ready;	/* the current series is set (series_ahead) */

	/* under an asynchronous Append (async.c) */
	bool		async_mode;		/* a row is asked for: never wait for a page */
	bool		async_wait;		/* ... none is ready: a page is in flight */
	void	   *async_state;	/* async.c's wait state of this scan */
} LdScanState;

static void cancel_item_fetch(LdScanState *s);
static void reset_execution(LdScanState *s);
static int	series_ahead(void *arg, int max, char **bases);
static void start_iteration(LdScanState *s);
static void start_windows(LdScanState *s);

/* a child context of the scan's memory */
#define new_context(estate, name) \
	AllocSetContextCreate((estate)->es_query_cxt, (name), ALLOCSET_DEFAULT_SIZES)

/*
 * count_user
 *		The user whose mapping a pushed count(*) uses: as ld_scan_user, for
 *		a scan with no scan relation (the base relation is in fs_relids).
 */
static Oid
count_user(ForeignScanState *node)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
#if PG_VERSION_NUM >= 160000
	return fsplan->checkAsUser;
#else
	int			rti = bms_next_member(fsplan->fs_relids, -1);

	return exec_rt_fetch(rti, node->ss.ps.state)->checkAsUser;
#endif
}

/*
 * needs_item
 *		Whether the scan reads a list endpoint but wants a column that only
 *		the item endpoint returns (an agent graph's edges): then each list
 *		item is read again through its item GET.
 */
static bool
needs_item(LdScanState *s)
{
	int			i;

	if (s->ep->shape == LD_SHAPE_ITEM || s->ep->embedded != NULL)
		return false;
	for (i = 0; i < s->nattrs; i++)
	{
		const LdColumn *col = ld_find_column(s->res, s->attrs[i].name);

		if (col && (col->flags & LDC_ITEM_ONLY) && s->attrs[i].source == LDS_FIELD)
			return true;
	}
	return false;
}

/*
 * ldBeginForeignScan
 *		Set up the scan from the plan's fdw_private; no request is sent
 *		yet (and none at all for plain EXPLAIN).
 */
void
ldBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	List	   *priv = fsplan->fdw_private;
	EState	   *estate = node->ss.ps.state;
	Relation	rel = node->ss.ss_currentRelation;
	LdScanState *s = palloc0(sizeof(LdScanState));
	List	   *exprs = fsplan->fdw_exprs;
	int			nkeys;

	node->fdw_state = s;
	s->res = ld_find_resource(strVal(list_nth(priv, LdPrivResource)));
	s->ep = &s->res->endpoints[intVal(list_nth(priv, LdPrivEndpoint))];
	s->key_kinds = (List *) list_nth(priv, LdPrivKeyKinds);
	s->key_strict = (List *) list_nth(priv, LdPrivKeyStrict);
	s->has_limit = intVal(list_nth(priv, LdPrivHasLimit)) != 0;
	s->read_all = intVal(list_nth(priv, LdPrivReadAll)) != 0;
	s->eager = list_length(priv) > LdPrivEager &&
		intVal(list_nth(priv, LdPrivEager)) > 0;
	s->one_ahead = list_length(priv) > LdPrivEager &&
		intVal(list_nth(priv, LdPrivEager)) < 0;
	s->count_only = intVal(list_nth(priv, LdPrivCountRelid)) != 0;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	/* keys from outside the scan (join or init-plan parameters) */
	s->use_cache = !bms_is_empty(fsplan->scan.plan.extParam);
	if (s->count_only)
	{
		Oid			relid = (Oid) intVal(list_nth(priv, LdPrivCountRelid));
		ListCell   *lc;

		s->count_relid = relid;
		ld_get_options(relid, &s->opts);
		s->conn = ld_connection_for(relid, count_user(node), &s->opts);
		foreach(lc, fsplan->fdw_scan_tlist)
			s->count_grouped |= IsA(lfirst_node(TargetEntry, lc)->expr, Var);
	}
	else
	{
		ld_get_options(RelationGetRelid(rel), &s->opts);
		s->conn = ld_connection_for(RelationGetRelid(rel), ld_scan_user(node), &s->opts);
		s->attrs = ld_build_attrs(rel, s->res, (List *) list_nth(priv, LdPrivRetrieved),
								  &s->nattrs);
		s->item_ep = needs_item(s) ? ld_item_endpoint(s->res) : NULL;
	}
	nkeys = list_length(s->key_kinds);
	s->key_states = ExecInitExprList(list_truncate(list_copy(exprs), nkeys),
									 (PlanState *) node);
	if (s->has_limit)
	{
		s->limit_state = ExecInitExpr(list_nth(exprs, nkeys), (PlanState *) node);
		s->offset_state = ExecInitExpr(list_nth(exprs, nkeys + 1), (PlanState *) node);
	}
	s->batch_cxt = new_context(estate, "ldai_fdw page");
	s->parent_cxt = new_context(estate, "ldai_fdw parents");
	s->run_cxt = new_context(estate, "ldai_fdw keys");
	s->tuple_cxt = new_context(estate, "ldai_fdw row");
	s->item_cxt = new_context(estate, "ldai_fdw item");
	s->ahead_cxt = new_context(estate, "ldai_fdw plan");
	s->estate = estate;
	/* a count is one row, computed again at a rescan */
	s->keep = !s->count_only && (s->read_all || (eflags & EXEC_FLAG_REWIND) != 0);
	if (s->keep)
	{
		s->store_cxt = new_context(estate, "ldai_fdw kept rows");
		s->store_slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(rel),
											   &TTSOpsMinimalTuple);
	}
}

/* a key value and where it stood in its IN list */
typedef struct LdListed
{
	char	   *text;
	int			pos;
} LdListed;

/*
 * cmp_listed
 *		qsort order: by text, then by position (first occurrence first).
 */
static int
cmp_listed(const void *a, const void *b)
{
	const LdListed *x = (const LdListed *) a;
	const LdListed *y = (const LdListed *) b;
	int			c = strcmp(x->text, y->text);

	return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * distinct_texts
 *		The distinct values of n texts, in order of first occurrence, in
 *		O(n log n): sort by text, keep the first of each run.
 */
static List *
distinct_texts(LdListed *vals, int n)
{
	bool	   *keep = palloc0(sizeof(bool) * Max(n, 1));
	char	  **inorder = palloc(sizeof(char *) * Max(n, 1));
	List	   *out = NIL;
	int			i;

	for (i = 0; i < n; i++)
		inorder[i] = vals[i].text;
	qsort(vals, n, sizeof(LdListed), cmp_listed);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(vals[i].text, vals[i - 1].text) != 0)
			keep[vals[i].pos] = true;
	for (i = 0; i < n; i++)
		if (keep[i])
			out = lappend(out, makeString(inorder[i]));
	pfree(keep);
	pfree(inorder);
	return out;
}

/*
 * value_texts
 *		The text values of an evaluated key: one value, or each distinct
 *		non-null element of an IN-list array.  NULL matches nothing, and so
 *		does a value no item can have because it cannot be a path segment
 *		("", "." or "..": see ld_key_value_ok).
 */
static List *
value_texts(LdKey key, Datum d, bool isnull, Oid type)
{
	Oid			elemtype = get_element_type(type);
	ArrayType  *arr;
	int16		len;
	bool		byval;
	char		align;
	Datum	   *elems;
	bool	   *nulls;
	LdListed   *vals;
	int			n,
				nvals = 0,
				i;

	if (isnull)
		return NIL;
	if (!OidIsValid(elemtype))
	{
		char	   *v = ld_key_text(key, type, d);

		return ld_key_value_ok(v) ? list_make1(makeString(v)) : NIL;
	}
	arr = DatumGetArrayTypeP(d);
	get_typlenbyvalalign(elemtype, &len, &byval, &align);
	deconstruct_array(arr, elemtype, len, byval, align, &elems, &nulls, &n);
	vals = palloc(sizeof(LdListed) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		char	   *v;

		if (nulls[i])
			continue;
		v = ld_key_text(key, elemtype, elems[i]);
		if (!ld_key_value_ok(v))
			continue;
		vals[nvals].text = v;
		vals[nvals].pos = nvals;
		nvals++;
	}
	return distinct_texts(vals, nvals);
}

/*
 * eval_limit
 *		Evaluate a pushed LIMIT or OFFSET; -1 when absent or NULL.
 */
static int64
eval_limit(LdScanState *s, ExprState *state, ExprContext *econtext, bool is_limit)
{
	bool		isnull;
	Datum		d;
	int64		v;

	if (state == NULL)
		return -1;
	d = ExecEvalExprSwitchContext(state, econtext, &isnull);
	if (isnull)
		return -1;
	v = DatumGetInt64(d);
	if (v < 0)
		ereport(ERROR,
				(errcode(is_limit ? ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE :
						 ERRCODE_INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE),
				 errmsg("%s must not be negative", is_limit ? "LIMIT" : "OFFSET")));
	return v;
}

/*
 * prefetch_cleanup
 *		Memory context callback: drop the GETs still in flight when the
 *		scan's memory goes -- at rescan, at the end, or after an ERROR.
 */
static void
prefetch_cleanup(void *arg)
{
	LdScanState *s = (LdScanState *) arg;

	ld_pager_cancel(&s->ahead, &s->child);
	ld_pager_cancel(&s->ahead, &s->parent);
	cancel_item_fetch(s);
	s->item_serial = false;		/* the next execution starts concurrent again */
	ld_reqplan_drop(&s->ahead);
}

/*
 * register_cleanup
 *		Arm prefetch_cleanup on the per-execution context (a reset fires
 *		and removes it, so it is armed again after each reset).
 */
static void
register_cleanup(LdScanState *s)
{
	MemoryContextCallback *cb = MemoryContextAllocZero(s->run_cxt, sizeof(MemoryContextCallback));

	cb->func = prefetch_cleanup;
	cb->arg = s;
	MemoryContextRegisterResetCallback(s->run_cxt, cb);
}

/*
 * start_execution
 *		Evaluate key values and limits; reset the series iteration.
 */
static void
start_execution(ForeignScanState *node)
{
	LdScanState *s = (LdScanState *) node->fdw_state;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	MemoryContext old;
	ListCell   *lk,
			   *le,
			   *ls;

	reset_execution(s);
	old = MemoryContextSwitchTo(s->run_cxt);
	forthree(lk, s->key_kinds, le, s->key_states, ls, s->key_strict)
	{
		ExprState  *es = (ExprState *) lfirst(le);
		LdKey		k = lfirst_int(lk);
		bool		isnull;
		Datum		d = ExecEvalExprSwitchContext(es, econtext, &isnull);

		if (ld_key_def(k)->bind != LDB_EQUAL)
		{
			/* a window bound: evaluated once per execution */
			s->no_rows |= isnull;
			if (!isnull)
				s->bound[k] = ld_window_bound(k, exprType((Node *) es->expr), d,
											  lfirst_int(ls) != 0);
			s->has_bound[k] = !isnull;
			continue;
		}
		s->values[k] = value_texts(k, d, isnull, exprType((Node *) es->expr));
		if (s->values[k] == NIL)	/* key = NULL matches nothing */
			s->no_rows = true;
	}
	MemoryContextSwitchTo(old);

	s->limit = s->has_limit ? eval_limit(s, s->limit_state, econtext, true) : -1;
	s->offset = s->has_limit ? eval_limit(s, s->offset_state, econtext, false) : -1;
	if (s->offset < 0)
		s->offset = 0;
	start_iteration(s);
}

/*
 * start_plan
 *		A new request plan for an execution (reqplan.c): how far it reads
 *		ahead, and whether later series go out ahead -- not for scans that
 *		take keys from parameters (rescanned per outer row, answered from
 *		the query's cache) or a pushed LIMIT (one series); their next pages
 *		too when every row is read.
 */
static void
start_plan(LdScanState *s)
{
	LdReqPlan  *rp = &s->ahead;

	ld_reqplan_init(rp, s->conn, s->run_cxt, s->ahead_cxt, &s->stats);
	rp->cache = s->use_cache ? s->estate : NULL;
	rp->mode = s->eager ? LD_AHEAD_EAGER : s->one_ahead ? LD_AHEAD_ONE : LD_AHEAD_GROW;
	rp->concurrency = Max(1, s->opts.max_concurrency);
	rp->page_size = s->opts.page_size;
	rp->first_limit = s->count_only ? 1 : s->opts.page_size;
	rp->plan_series = !s->use_cache && !s->has_limit;
	rp->series_paged = s->ep->shape == LD_SHAPE_PAGED;
	rp->follow = s->eager && !s->count_only && rp->series_paged;
	rp->form = ld_shape_form(s->ep->shape);
	rp->series_ahead = series_ahead;
	rp->series_arg = s;
	rp->current = &s->child;
	rp->parent = &s->parent;
	s->series_ready = false;
}

/*
 * reset_execution
 *		Forget the previous execution: its key values, pages and the
 *		requests it has in flight.
 */
static void
reset_execution(LdScanState *s)
{
	MemoryContextReset(s->run_cxt);	/* also drops prefetches (callback) */
	MemoryContextReset(s->batch_cxt);
	start_plan(s);
	register_cleanup(s);
	MemoryContextReset(s->parent_cxt);
	memset(s->values, 0, sizeof(s->values));
	memset(s->idx, 0, sizeof(s->idx));
	memset(s->cur, 0, sizeof(s->cur));
	memset(s->row_keys, 0, sizeof(s->row_keys));
	memset(s->has_bound, 0, sizeof(s->has_bound));
	s->windows = NIL;
	s->widx = 0;
	s->parent_keys = NIL;
	s->initialized = true;
	s->no_rows = false;
	s->started = false;
	s->returned = 0;
	s->item = s->row = NULL;
	s->child.done = true;
}

/*
 * start_windows
 *		For an endpoint that takes a window (range keys): the windows to
 *		request, from the WHERE bounds and the bucket values (a bucket
 *		condition, the table option, else "none"), checked before any
 *		request (window.c).  The bucket and the bounds then leave the key
 *		odometer: the windows are its innermost digit.
 */
static void
start_windows(LdScanState *s)
{
	LdKey		lower,
				upper,
				bucket;

	ld_window_keys(s->ep, &lower, &upper, &bucket);
	if (lower == LDK_NONE || upper == LDK_NONE || s->no_rows)
		return;
	if (!s->has_bound[lower] || !s->has_bound[upper])
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_CREATE_EXECUTION),
				 errmsg("a scan of %s needs a window", s->res->name),
				 errhint("Add WHERE %s AND %s.", ld_key_def(lower)->example,
						 ld_key_def(upper)->example)));
	s->windows = ld_build_windows(s->bound[lower], s->bound[upper],
								  bucket != LDK_NONE && s->values[bucket] != NIL ?
								  s->values[bucket] : list_make1(makeString("none")));
	if (bucket != LDK_NONE)
		s->values[bucket] = NIL;
	s->no_rows = s->windows == NIL;
}

/*
 * start_iteration
 *		With the key values known: the keys the table's options fix, and
 *		the enumeration of the one key nothing fixes, when its list can.
 */
static void
start_iteration(LdScanState *s)
{
	uint32		bound = 0;
	MemoryContext old = MemoryContextSwitchTo(s->run_cxt);
	int			k;

	s->parent_ok = false;
	for (k = 1; k < LDK_COUNT; k++)
	{
		s->fixed[k] = s->values[k] == NIL && s->opts.keys[k] != NULL;
		if (s->fixed[k])
			s->values[k] = list_make1(makeString(pstrdup(s->opts.keys[k])));
		if (s->values[k] != NIL)
			bound |= LD_KEY_BIT(k);
	}
	s->enumerated = ld_enumerated_key(s->ep, bound);
	start_windows(s);
	MemoryContextSwitchTo(old);
	if (s->enumerated != LDK_NONE)
	{
		LdEndpoint	list = {ld_key_def(s->enumerated)->list, LD_SHAPE_PAGED};

		ld_pager_reset(&s->ahead, &s->parent,
					   MemoryContextStrdup(s->run_cxt,
										   ld_build_path(&list, s->opts.project_key, s->cur, true)),
					   true, 0, -1, 1, s->run_cxt);
	}
}

/*
 * not_found
 *		ERROR for a 404 on something the options fix (a key a table option
 *		fixes, else the project), naming it.
 */
static void
not_found(LdScanState *s, const char *path)
{
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
	{
		const LdKeyDef *def = ld_key_def((LdKey) k);

		if (s->opts.keys[k] && s->cur[k] && strcmp(s->cur[k], s->opts.keys[k]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
					 errmsg("LaunchDarkly %s \"%s\" not found in project \"%s\"",
							def->noun, s->opts.keys[k], s->opts.project_key),
					 errhint("Check the %s option of the foreign table.", def->option),
					 errcontext("LaunchDarkly request: GET %s", path)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
			 errmsg("LaunchDarkly project \"%s\" not found", s->opts.project_key),
			 errhint("Check the project_key option of the server or foreign table."),
			 errcontext("LaunchDarkly request: GET %s", path)));
}

/*
 * check_parent
 *		After a 404 on a series whose path has both a key from WHERE and
 *		keys the table's options fix: a 404 cannot say which one is
 *		missing, so ask for each fixed parent itself (its list's item).
 *		Missing is an error naming the option (as without the condition);
 *		there means the key from WHERE has no row.
 */
static void
check_parent(LdScanState *s)
{
	int			k;

	if (s->parent_ok)			/* asked once per execution */
		return;
	for (k = 1; k < LDK_COUNT; k++)
	{
		const LdKeyDef *def = ld_key_def((LdKey) k);
		LdEndpoint	ep = {0};
		char	   *path;
		LdResult	res;

		if (!s->fixed[k] || def->list == NULL || def->query != NULL)
			continue;
		ep.path = psprintf("%s/{%s}", def->list, def->name);
		ep.shape = LD_SHAPE_ITEM;
		path = ld_build_path(&ep, s->opts.project_key, s->cur, true);
		ld_reqplan_get(&s->ahead, path, &res);
		if (res.status == 404)
			not_found(s, path);
		if (res.status < 200 || res.status > 299)
			ld_report_http_error("GET", path, &res);
	}
	s->parent_ok = true;
}

/*
 * fetch_page
 *		GET the next page of a pager into cxt (reset first).  Returns the
 *		first item of the page (for a single-item endpoint: the item), or
 *		NULL when there is nothing (more) to read.
 */
static cJSON *
fetch_page(LdScanState *s, LdPager *pg, LdShape shape, MemoryContext cxt,
		   LdNotFound nf)
{
	MemoryContext old;
	LdResult	res;
	char	   *path;
	LdpPage		page;
	LdpStatus	status;

	if (pg->done || pg->remaining == 0)
	{
		ld_pager_cancel(&s->ahead, pg);
		return (pg->done = true, NULL);
	}
	MemoryContextReset(cxt);
	old = MemoryContextSwitchTo(cxt);
	path = ld_pager_next_path(&s->ahead, pg);
	ld_pager_get(&s->ahead, pg, path, &res);
	if (res.status == 404 && nf == LD_404_EMPTY)
	{
		if (pg == &s->child && s->check_parent)
			check_parent(s);
		pg->done = true;
		MemoryContextSwitchTo(old);
		return NULL;
	}
	if (res.status == 404)
		not_found(s, path);
	if (res.status < 200 || res.status > 299)
		ld_report_http_error("GET", path, &res);
	ld_check_json("GET", path, &res);
	status = ldp_parse(res.body, res.body_len, ld_shape_form(shape), &page);
	if (status != LDP_OK)
		ld_bad_response(path, ldp_status_text(status));
	ld_page_own(cxt, &page);
	MemoryContextSwitchTo(old);
	ld_pager_answered(&s->ahead, pg, &page, path, shape == LD_SHAPE_ITEM);
	return page.first;
}

/*
 * next_parent
 *		Move to the next enumerated value of the enumerated key, fetching
 *		the next page of its list when needed.  Returns false when all are
 *		read.
 */
static bool
next_parent(LdScanState *s)
{
	const LdKeyDef *def = ld_key_def(s->enumerated);
	const char *field = def->list_field ? def->list_field : "key";

	while (s->parent_keys == NIL ||
		   ++s->idx[s->enumerated] >= list_length(s->parent_keys))
	{
		cJSON	   *it = fetch_page(s, &s->parent, LD_SHAPE_PAGED, s->parent_cxt,
									LD_404_ERROR);
		MemoryContext old = MemoryContextSwitchTo(s->parent_cxt);

		s->parent_keys = NIL;
		for (; it != NULL; it = it->next)
		{
			const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, field));

			/* a key that cannot be a path segment has no rows to read */
			if (ld_key_value_ok(k))
				s->parent_keys = lappend(s->parent_keys, makeString(pstrdup(k)));
		}
		MemoryContextSwitchTo(old);
		s->idx[s->enumerated] = -1;
		if (s->parent_keys == NIL && s->parent.done)
			return false;
	}
	return true;
}

/*
 * next_combination
 *		Step to the next combination of key values, like an odometer whose
 *		outermost digit is the enumerated key, then the keys in LdKey
 *		order, then the metrics windows (turning fastest).  The one place
 *		where series are generated.  Returns false at the end.
 */
static bool
next_combination(LdScanState *s)
{
	int			k;

	if (!s->started)
	{
		s->started = true;
		memset(s->idx, 0, sizeof(s->idx));
		if (s->no_rows)
			return false;
		return s->enumerated != LDK_NONE ? next_parent(s) : true;
	}
	if (s->windows != NIL)
	{
		if (++s->widx < list_length(s->windows))
			return true;
		s->widx = 0;
	}
	for (k = LDK_COUNT - 1; k > 0; k--)
	{
		if (s->values[k] == NIL || k == (int) s->enumerated)
			continue;
		if (++s->idx[k] < list_length(s->values[k]))
			return true;
		s->idx[k] = 0;
	}
	return s->enumerated != LDK_NONE && next_parent(s);
}

/*
 * peek_combination
 *		Step a copy of the key indexes (and the window index, the innermost
 *		digit) to the combination after it, as next_combination would, but
 *		never past the enumerated keys already listed (the next page of the
 *		list is read when it is needed).
 */
static bool
peek_combination(LdScanState *s, int *idx, int *widx)
{
	int			k;

	if (s->windows != NIL)
	{
		if (++*widx < list_length(s->windows))
			return true;
		*widx = 0;
	}
	for (k = LDK_COUNT - 1; k > 0; k--)
	{
		if (s->values[k] == NIL || k == (int) s->enumerated)
			continue;
		if (++idx[k] < list_length(s->values[k]))
			return true;
		idx[k] = 0;
	}
	return s->enumerated != LDK_NONE &&
		++idx[s->enumerated] < list_length(s->parent_keys);
}

/*
 * window_keys
 *		Fill in the request keys of metrics window widx: from and to (epoch
 *		ms) and the bucket, for next_series and for the windows started
 *		ahead (series_ahead), so both build the very same path.
 */
static void
window_keys(LdScanState *s, int widx, const char **keys)
{
	LdWindow   *w = (LdWindow *) list_nth(s->windows, widx);
	LdKey		lower,
				upper,
				bucket;

	ld_window_keys(s->ep, &lower, &upper, &bucket);
	if (lower != LDK_NONE)
		keys[lower] = w->from_ms;
	if (upper != LDK_NONE)
		keys[upper] = w->to_ms;
	if (bucket != LDK_NONE)
		keys[bucket] = w->bucket;
}

/*
 * series_ahead
 *		For the request plan (reqplan.c): the paths of up to max series
 *		after the current one, in the order they will be read, as far as
 *		the enumerated keys are listed (none while the scan is between
 *		series, e.g. reading the next page of its parents).
 */
static int
series_ahead(void *arg, int max, char **bases)
{
	LdScanState *s = (LdScanState *) arg;
	int			idx[LDK_COUNT];
	int			widx = s->widx;
	const char *keys[LDK_COUNT];
	int			n = 0,
				k;

	if (!s->series_ready)
		return 0;
	memcpy(idx, s->idx, sizeof(idx));
	while (n < max && peek_combination(s, idx, &widx))
	{
		for (k = 1; k < LDK_COUNT; k++)
		{
			List	   *vals = k == (int) s->enumerated ? s->parent_keys : s->values[k];

			keys[k] = vals ? strVal(list_nth(vals, idx[k])) : NULL;
		}
		keys[0] = NULL;
		if (s->windows != NIL)
			window_keys(s, widx, keys);
		bases[n++] = ld_build_path(s->ep, s->opts.project_key, keys, true);
	}
	return n;
}

/*
 * next_series
 *		Start the next request series: fill in the path keys, decide what
 *		a 404 means, reset paging.  Returns false when there is none.
 */
static bool
next_series(LdScanState *s)
{
	bool		from_condition = false;
	bool		any_fixed = false;
	MemoryContext old;
	int			k;

	s->series_ready = false;
	if (!next_combination(s))
		return false;
	for (k = 1; k < LDK_COUNT; k++)
	{
		List	   *vals = k == (int) s->enumerated ? s->parent_keys : s->values[k];

		s->cur[k] = vals ? strVal(list_nth(vals, s->idx[k])) : NULL;
		from_condition |= (vals != NIL && !s->fixed[k]);
		any_fixed |= (s->fixed[k] && s->cur[k] != NULL);
	}
	if (s->windows != NIL)
	{
		window_keys(s, s->widx, s->cur);
		from_condition = true;	/* the window is WHERE's */
	}
	memcpy(s->row_keys, s->cur, sizeof(s->cur));
	if (s->windows != NIL)
	{
		LdWindow   *w = (LdWindow *) list_nth(s->windows, s->widx);

		for (k = 1; k < LDK_COUNT; k++)
			if (ld_key_def((LdKey) k)->bind != LDB_EQUAL)
				s->row_keys[k] = ld_key_def((LdKey) k)->bind == LDB_LOWER ? w->start : w->end;
	}
	/* a key from WHERE (or enumeration) that is not there: no such row */
	s->not_found = from_condition ? LD_404_EMPTY : LD_404_ERROR;
	/* ... unless an option's parent is the one missing */
	s->check_parent = from_condition && any_fixed;
	old = MemoryContextSwitchTo(s->run_cxt);
	ld_pager_reset(&s->ahead, &s->child,
				   ld_build_path(s->ep, s->opts.project_key, s->cur, true),
				   s->ep->shape == LD_SHAPE_PAGED, s->has_limit ? s->offset : 0,
				   s->has_limit ? s->limit : -1,
				   s->use_cache ? 1 : s->ahead.concurrency, s->run_cxt);
	MemoryContextSwitchTo(old);
	s->item = s->row = NULL;
	s->series_ready = true;
	ld_reqplan_next_series(&s->ahead);
	return true;
}

/*
 * cancel_item_fetch
 *		Drop the item GETs in flight (early stop, rescan, error).
 */
static void
cancel_item_fetch(LdScanState *s)
{
	int			i;

	for (i = 0; i < s->nitems_q; i++)
		ld_async_cancel(s->conn, s->item_q[i].t);
	s->nitems_q = 0;
	s->item_next = NULL;
}

/*
 * item_path
 *		The item GET of a list item (run_cxt), or NULL when its key cannot
 *		be a path segment.
 */
static char *
item_path(LdScanState *s, const cJSON *it)
{
	const char *keys[LDK_COUNT];
	const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "key"));
	MemoryContext old;
	char	   *path;

	if (!ld_key_value_ok(k))
		return NULL;
	memcpy(keys, s->cur, sizeof(keys));
	keys[LDK_ITEM] = k;
	old = MemoryContextSwitchTo(s->run_cxt);
	path = ld_build_path(s->item_ep, s->opts.project_key, keys, true);
	MemoryContextSwitchTo(old);
	return path;
}

/*
 * start_item_fetches
 *		Keep up to max_concurrency item GETs in flight, for the list items
 *		from it on (in list order).
 */
static void
start_item_fetches(LdScanState *s, cJSON *it)
{
	int			window = Min(s->ahead.concurrency, LD_MAX_PREFETCH);

	if (s->nitems_q == 0)
		s->item_next = it;
	if (s->use_cache || s->item_serial)
		return;
	while (s->nitems_q < window && s->item_next != NULL)
	{
		char	   *path = item_path(s, s->item_next);
		LdhTransfer *t;

		if (path == NULL)
			break;
		t = ld_async_start(s->conn, "GET", path, NULL, NULL);
		if (t == NULL)
			break;
		s->item_q[s->nitems_q].t = t;
		s->item_q[s->nitems_q].path = path;
		s->nitems_q++;
		s->item_next = s->item_next->next;
	}
}

/*
 * item_of
 *		The whole item of list item it, from its item GET (started ahead,
 *		or sent now); NULL when the item is gone (404) since the list.
 */
static cJSON *
item_of(LdScanState *s, cJSON *it)
{
	LdResult	res;
	char	   *path;
	cJSON	   *item;
	MemoryContext old;

	start_item_fetches(s, it);
	MemoryContextReset(s->item_cxt);
	old = MemoryContextSwitchTo(s->item_cxt);
	if (s->nitems_q > 0)
	{
		LdhTransfer *t = s->item_q[0].t;

		path = s->item_q[0].path;
		s->nitems_q--;
		memmove(&s->item_q[0], &s->item_q[1], s->nitems_q * sizeof(s->item_q[0]));
		if (ld_async_finish(s->conn, t, "GET", path, NULL, NULL, &s->stats, &res))
		{
			/* rate limited: the rest one at a time */
			cancel_item_fetch(s);
			s->item_serial = true;
		}
	}
	else
	{
		if ((path = item_path(s, it)) == NULL)
			return (MemoryContextSwitchTo(old), it);
		ld_reqplan_get(&s->ahead, path, &res);
	}
	if (res.status == 404)
		return (MemoryContextSwitchTo(old), NULL);
	if (res.status < 200 || res.status > 299)
		ld_report_http_error("GET", path, &res);
	ld_check_json("GET", path, &res);
	item = ld_json_parse(s->item_cxt, res.body, res.body_len);
	if (!cJSON_IsObject(item))
		ld_bad_response(path, "expected a JSON object");
	MemoryContextSwitchTo(old);
	return item;
}

/*
 * next_row
 *		The next JSON row of the scan (an item, or an embedded element of
 *		one), fetching pages and starting series as needed; NULL at the end.
 *		*parent is set to the enclosing item for embedded rows.
 */
static cJSON *
next_row(LdScanState *s, cJSON **parent)
{
	for (;;)
	{
		if (s->ep->embedded != NULL && s->row != NULL)
		{
			cJSON	   *r = s->row;

			s->row = r->next;
			*parent = s->item;
			if (s->row == NULL)
				s->item = s->item->next;
			return r;
		}
		if (s->item != NULL)
		{
			cJSON	   *it = s->item;

			ld_pager_consumed(&s->ahead, &s->child);

			if (s->ep->embedded == NULL)
			{
				s->item = it->next;
				*parent = NULL;
				if (s->item_ep != NULL && (it = item_of(s, it)) == NULL)
					continue;	/* gone since the list was read */
				return it;
			}
			s->row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it, s->ep->embedded), 0);
			if (s->row == NULL)
				s->item = it->next;
			continue;
		}
		CHECK_FOR_INTERRUPTS();
		if (!s->child.done)
		{
			/* asynchronous: return nothing rather than wait for the page */
			if (s->async_mode && !ld_pager_ready(&s->ahead, &s->child))
				return (s->async_wait = true, NULL);
			s->item = fetch_page(s, &s->child, s->ep->shape, s->batch_cxt,
								 s->not_found);
			continue;
		}
		if (!next_series(s))
			return NULL;
	}
}

/*
 * fetch_row
 *		Fill slot with the next row from the API, fetching lazily; stop at
 *		a pushed LIMIT.  Returns false at the end.
 */
static bool
fetch_row(LdScanState *s, TupleTableSlot *slot)
{
	MemoryContext old;
	cJSON	   *row;
	cJSON	   *parent = NULL;

	ExecClearTuple(slot);
	if (s->limit >= 0 && s->returned >= s->limit)
		return false;
	row = next_row(s, &parent);
	if (row == NULL)
		return false;
	MemoryContextReset(s->tuple_cxt);
	old = MemoryContextSwitchTo(s->tuple_cxt);
	ld_fill_slot(s->attrs, s->nattrs, slot, row, s->row_keys,
				 parent, s->ep->embedded_parent);
	MemoryContextSwitchTo(old);
	s->returned++;
	return true;
}

/*
 * count_series
 *		The rows of the current series for a pushed count(*): the first
 *		GET asks for one item and its answer's totalCount is the count.
 *		An answer without totalCount (a list endpoint, or a server that
 *		leaves it out) has its rows counted, page by page: never a guess.
 *		A 404 for a key from WHERE is no rows.
 */
static int64
count_series(LdScanState *s)
{
	LdPager    *pg = &s->child;
	cJSON	   *it;
	int64		n = 0;

	if (pg->paged)
		pg->remaining = 1;
	it = fetch_page(s, pg, s->ep->shape, s->batch_cxt, s->not_found);
	if (pg->pages == 0)
		return 0;
	if (pg->paged && pg->total >= 0)
		return pg->total;
	for (;;)
	{
		for (; it != NULL; it = it->next)
			n++;
		if (pg->ended || !pg->paged)
			return n;
		if (pg->remaining == 0)
		{
			/* the one-item probe had no totalCount: read on in pages */
			pg->remaining = -1;
			pg->done = false;
		}
		ld_pager_prefetch(&s->ahead, pg);
		CHECK_FOR_INTERRUPTS();
		it = fetch_page(s, pg, s->ep->shape, s->batch_cxt, s->not_found);
		if (pg->done && it == NULL)
			return n;
	}
}

/*
 * count_group_row
 *		Fill the row of one series of a grouped count(*): the series' key
 *		values in the group columns (each a key column), n in the counts.
 */
static TupleTableSlot *
count_group_row(ForeignScanState *node, LdScanState *s, TupleTableSlot *slot, int64 n)
{
	List	   *tlist = ((ForeignScan *) node->ss.ps.plan)->fdw_scan_tlist;
	ListCell   *lc;
	int			i = 0;

	MemoryContextReset(s->tuple_cxt);
	foreach(lc, tlist)
	{
		Expr	   *e = lfirst_node(TargetEntry, lc)->expr;

		slot->tts_isnull[i] = false;
		if (IsA(e, Var))
		{
			Oid			input,
						ioparam;
			MemoryContext old = MemoryContextSwitchTo(s->tuple_cxt);
			const LdColumn *col = ld_find_column(s->res,
												 get_attname(s->count_relid,
															 ((Var *) e)->varattno,
															 false));

			getTypeInputInfo(exprType((Node *) e), &input, &ioparam);
			slot->tts_values[i] = OidInputFunctionCall(input, (char *) s->cur[col->key],
													   ioparam, exprTypmod((Node *) e));
			MemoryContextSwitchTo(old);
		}
		else
			slot->tts_values[i] = Int64GetDatum(n);
		i++;
	}
	return ExecStoreVirtualTuple(slot);
}

/*
 * count_rows
 *		Return the row(s) of a pushed count(*): the sum over the series
 *		(every column of the scan tuple is a count(*)); grouped by the
 *		series' keys, one row per series that has rows (a group of none
 *		does not exist).
 */
static TupleTableSlot *
count_rows(ForeignScanState *node, LdScanState *s, TupleTableSlot *slot)
{
	int64		n = 0;
	int			i;

	ExecClearTuple(slot);
	if (s->count_done)
		return slot;
	while (next_series(s))
	{
		CHECK_FOR_INTERRUPTS();
		if (!s->count_grouped)
		{
			n += count_series(s);
			continue;
		}
		n = count_series(s);
		if (n > 0)
			return count_group_row(node, s, slot, n);
	}
	s->count_done = true;
	if (s->count_grouped)
		return slot;
	for (i = 0; i < slot->tts_tupleDescriptor->natts; i++)
	{
		slot->tts_values[i] = Int64GetDatum(n);
		slot->tts_isnull[i] = false;
	}
	return ExecStoreVirtualTuple(slot);
}

/*
 * sample_row
 *		Add one JSON row to the sample as a heap tuple (in rows_cxt).
 */
static void
sample_row(LdScanState *s, TupleTableSlot *slot, cJSON *row, cJSON *parent,
		   HeapTuple *out, MemoryContext rows_cxt)
{
	MemoryContext old;

	MemoryContextReset(s->tuple_cxt);
	old = MemoryContextSwitchTo(s->tuple_cxt);
	ExecClearTuple(slot);
	ld_fill_slot(s->attrs, s->nattrs, slot, row, s->row_keys, parent,
				 s->ep->embedded_parent);
	MemoryContextSwitchTo(rows_cxt);
	*out = heap_form_tuple(slot->tts_tupleDescriptor, slot->tts_values,
						   slot->tts_isnull);
	MemoryContextSwitchTo(old);
}

/*
 * sample_page
 *		The rows of the current series' first page (a fresh GET of up to
 *		page_size items) as heap tuples in rows[], up to targrows; *items
 *		is set to the page's items (rows may be more: embedded ones).
 */
static int
sample_page(LdScanState *s, TupleTableSlot *slot, HeapTuple *rows, int targrows,
			MemoryContext rows_cxt, int64 *items)
{
	LdPager    *pg = &s->child;
	cJSON	   *it;
	int			n = 0;

	/* one page, nothing ahead */
	ld_pager_reset(&s->ahead, pg, pg->path, pg->paged, 0, -1, 1, pg->cxt);
	it = fetch_page(s, pg, s->ep->shape, s->batch_cxt, s->not_found);
	*items = pg->pages > 0 ? pg->page_items : 0;
	for (; it != NULL && n < targrows; it = it->next)
	{
		cJSON	   *r;

		if (s->ep->embedded == NULL)
		{
			sample_row(s, slot, it, NULL, &rows[n++], rows_cxt);
			continue;
		}
		r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it, s->ep->embedded), 0);
		for (; r != NULL && n < targrows; r = r->next)
			sample_row(s, slot, r, it, &rows[n++], rows_cxt);
	}
	return n;
}

/*
 * acquire_sample
 *		ANALYZE: reltuples from totalCount, one limit=1 GET per series (the
 *		parents enumerated; rows counted where an answer has none, as a
 *		pushed count(*)), and the rows of the first non-empty series' first
 *		page as the sample for column statistics: never every page.  Rows
 *		embedded in items (variations) are scaled by the sample's ratio.
 */
static int
acquire_sample(Relation rel, int elevel, HeapTuple *rows, int targrows,
			   double *totalrows, double *totaldeadrows)
{
	MemoryContext rows_cxt = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ldai_fdw analyze",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	LdScanState *s = palloc0(sizeof(LdScanState));
	Oid			relid = RelationGetRelid(rel);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
	List	   *all = NIL;
	double		total = 0;
	int64		items = 0;
	int			nrows = 0;
	bool		sampled = false;
	int			i;

	s->res = ld_table_resource(relid);
	ld_get_options(relid, &s->opts);
	for (i = 0; i < s->res->nendpoints; i++)
		if (s->res->endpoints[i].binds == 0)
			break;
	s->ep = &s->res->endpoints[Min(i, s->res->nendpoints - 1)];
	s->conn = ld_connection_for(relid, rel->rd_rel->relowner, &s->opts);
	for (i = 1; i <= RelationGetDescr(rel)->natts; i++)
		if (!TupleDescAttr(RelationGetDescr(rel), i - 1)->attisdropped)
			all = lappend_int(all, i);
	s->attrs = ld_build_attrs(rel, s->res, all, &s->nattrs);
	s->batch_cxt = AllocSetContextCreate(cxt, "ldai_fdw page", ALLOCSET_DEFAULT_SIZES);
	s->parent_cxt = AllocSetContextCreate(cxt, "ldai_fdw parents", ALLOCSET_DEFAULT_SIZES);
	s->run_cxt = AllocSetContextCreate(cxt, "ldai_fdw keys", ALLOCSET_DEFAULT_SIZES);
	s->tuple_cxt = AllocSetContextCreate(cxt, "ldai_fdw row", ALLOCSET_DEFAULT_SIZES);
	s->ahead_cxt = AllocSetContextCreate(cxt, "ldai_fdw plan", ALLOCSET_DEFAULT_SIZES);
	s->limit = -1;
	s->count_only = true;		/* each series' first GET asks for totalCount */
	reset_execution(s);
	start_iteration(s);
	while (next_series(s))
	{
		int64		n;

		CHECK_FOR_INTERRUPTS();
		n = count_series(s);
		if (n > 0 && !sampled && s->ep->shape != LD_SHAPE_ITEM)
		{
			nrows = sample_page(s, slot, rows, targrows, rows_cxt, &items);
			sampled = true;
		}
		total += n;
	}
	if (s->ep->embedded != NULL)
		total = items > 0 ? total * nrows / items : 0;
	*totalrows = Max(total, nrows);
	*totaldeadrows = 0;
	ereport(elevel,
			(errmsg("\"%s\": %d rows sampled from the API, %.0f estimated total rows",
					RelationGetRelationName(rel), nrows, *totalrows)));
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);	/* also drops what is still in flight */
	return nrows;
}

/*
 * ldAnalyzeForeignTable
 *		ANALYZE is supported on a table with its resource and project,
 *		unless every endpoint needs keys only WHERE can give (PostgreSQL
 *		then skips the table with a warning).
 */
bool
ldAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
					  BlockNumber *totalpages)
{
	const LdResource *res = ld_table_resource(RelationGetRelid(relation));
	LdOptions	opts;
	uint32		fixed = 0;
	int			i;

	if (res == NULL)
		return false;
	/* a table that needs conditions (a metrics window) has no whole to sample */
	ld_get_options(RelationGetRelid(relation), &opts);
	for (i = 1; i < LDK_COUNT; i++)
		if (opts.keys[i] != NULL)
			fixed |= LD_KEY_BIT(i);
	for (i = 0; i < res->nendpoints; i++)
		if ((res->endpoints[i].binds & ~fixed) == 0)
			break;
	if (i >= res->nendpoints)
		return false;
	*func = acquire_sample;
	*totalpages = 1;
	return true;
}

/*
 * ld_scan_async_next
 *		The next row for an asynchronous Append, through the node (quals
 *		and projection apply), without waiting for the network: *wait is
 *		set when a page is still in flight (the slot is then empty but the
 *		scan is not over).  Scans that keep their rows, count, or take keys
 *		from parameters run synchronously.
 */
TupleTableSlot *
ld_scan_async_next(ForeignScanState *node, bool *wait)
{
	LdScanState *s = (LdScanState *) node->fdw_state;
	TupleTableSlot *slot;

	s->async_mode = !s->count_only && !s->keep && !s->read_all && !s->use_cache;
	s->async_wait = false;
	slot = ExecProcNode((PlanState *) node);
	s->async_mode = false;
	*wait = s->async_wait && TupIsNull(slot);
	return slot;
}

/*
 * ld_scan_async_transfer
 *		The GET an asynchronous scan waits for (NULL: none) and its
 *		connection.
 */
LdhTransfer *
ld_scan_async_transfer(ForeignScanState *node, LdConn **conn)
{
	LdScanState *s = (LdScanState *) node->fdw_state;

	*conn = s->conn;
	return ld_pager_waiting(&s->child);
}

/*
 * ld_scan_async_state
 *		Where async.c keeps its wait state for this scan.
 */
void	  **
ld_scan_async_state(ForeignScanState *node)
{
	return &((LdScanState *) node->fdw_state)->async_state;
}

/*
 * begin_store
 *		An empty row store for a new execution (the previous one's rows,
 *		and any temporary file, go).
 */
static void
begin_store(LdScanState *s)
{
	MemoryContext old;

	if (s->store != NULL)
		tuplestore_end(s->store);
	s->store = NULL;
	MemoryContextReset(s->store_cxt);
	old = MemoryContextSwitchTo(s->store_cxt);
	s->store = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(old);
	s->store_done = false;
	s->replay = false;
}

/*
 * read_all_rows
 *		Read every row of the execution into the store before the first
 *		one is returned (the statement writes this table; see the file
 *		header).
 */
static void
read_all_rows(LdScanState *s, TupleTableSlot *slot)
{
	while (fetch_row(s, slot))
		tuplestore_puttupleslot(s->store, slot);
	ExecClearTuple(slot);
	s->store_done = true;
	s->replay = true;
}

/*
 * ldIterateForeignScan
 *		Return the next row: from the API (kept as it goes when rescans
 *		may replay it), or from the rows kept.
 */
TupleTableSlot *
ldIterateForeignScan(ForeignScanState *node)
{
	LdScanState *s = (LdScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	if (s->run_cxt == NULL)
		return ExecClearTuple(slot);
	if (!s->initialized)
	{
		start_execution(node);
		s->count_done = false;
		if (s->keep)
			begin_store(s);
		if (s->read_all)
			read_all_rows(s, slot);
	}
	if (s->count_only)
		return count_rows(node, s, slot);
	if (s->replay)
	{
		/*
		 * A row read back from the store's temporary file is allocated in
		 * the current (per-row) memory, which is reset before the next row
		 * is read: copy it out and let it go now, not when the slot gets
		 * the next one.
		 */
		if (!tuplestore_gettupleslot(s->store, true, false, s->store_slot))
			return ExecClearTuple(slot);
		ExecCopySlot(slot, s->store_slot);
		ExecClearTuple(s->store_slot);
		return slot;
	}
	if (!fetch_row(s, slot))
	{
		s->store_done = s->keep;
		return slot;
	}
	if (s->keep)
		tuplestore_puttupleslot(s->store, slot);
	return slot;
}

/*
 * ldReScanForeignScan
 *		Start over.  When no parameter the scan depends on changed and
 *		every row was read and kept, replay them without a request;
 *		otherwise (keys or LIMIT may differ now, or the rows were not all
 *		read) send the requests again.
 */
void
ldReScanForeignScan(ForeignScanState *node)
{
	LdScanState *s = (LdScanState *) node->fdw_state;

	if (s->initialized && s->store_done && node->ss.ps.chgParam == NULL)
	{
		tuplestore_rescan(s->store);
		s->replay = true;
		return;
	}
	s->initialized = false;
}

/*
 * ldEndForeignScan
 *		Drop prefetches still in flight; memory goes with the query, the
 *		connection stays cached for the next query.
 */
void
ldEndForeignScan(ForeignScanState *node)
{
	LdScanState *s = (LdScanState *) node->fdw_state;

	/* a scan that stopped early: drop the pages still in flight */
	if (s->run_cxt != NULL)
	{
		ld_pager_cancel(&s->ahead, &s->child);
		ld_pager_cancel(&s->ahead, &s->parent);
		ld_reqplan_drop(&s->ahead);
	}
	/* close a kept rows' temporary file now, not at transaction end */
	if (s->store != NULL)
		tuplestore_end(s->store);
	s->store = NULL;
}

/*
 * ldExplainForeignScan
 *		VERBOSE: the requests (decided at plan time, no network);
 *		ANALYZE: how many requests, retries and bytes it took.
 */
void
ldExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	LdScanState *s = (LdScanState *) node->fdw_state;
	ListCell   *lc;

	if (es->verbose)
	{
		const char *order = strVal(list_nth(((ForeignScan *) node->ss.ps.plan)->fdw_private,
											LdPrivOrder));

		if (s->count_only)
			ExplainPropertyText("LaunchDarkly aggregate",
								"count(*) from totalCount (rows counted where an answer has none)", es);
		foreach(lc, ld_explain_requests(node))
			ExplainPropertyText("LaunchDarkly request", (char *) lfirst(lc), es);
		if (order[0] != '\0')
			ExplainPropertyText("LaunchDarkly order",
								psprintf("%s DESC (as the API documents)", order), es);
		if (s->read_all)
			ExplainPropertyBool("Rows Read Before Writes", true, es);
	}
	if (es->analyze)
	{
		ExplainPropertyInteger("LaunchDarkly requests", NULL, s->stats.requests, es);
		if (s->use_cache)
			ExplainPropertyInteger("LaunchDarkly cache hits", NULL, s->stats.cache_hits, es);
		ExplainPropertyInteger("LaunchDarkly retries", NULL, s->stats.retries, es);
		ExplainPropertyInteger("LaunchDarkly bytes received", NULL, s->stats.bytes, es);
	}
}
