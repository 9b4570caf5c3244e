/*-------------------------------------------------------------------------
 *
 * reqplan.c
 *		  The request plan of a scan's series: which first pages go out
 *		  ahead, how many, and what is dropped.
 *
 * A scan reads its series (enumerated parents, IN-list values, metrics
 * windows) one after
 * the other, and its rows keep that order.  The GETs need not wait: while
 * one series is read, the first pages of the next ones are in flight, so
 * a project-wide read costs about one round trip per max_concurrency
 * series instead of one per series.  This module keeps those GETs: a small
 * window of requests, each named by its path (with its query string), that
 * the scan starts when a series begins (ld_reqplan_start) and takes back
 * when it asks for that very page (ld_reqplan_take).  Whatever is left --
 * an early stop, a rescan, an ERROR, a cancel -- is dropped
 * (ld_reqplan_drop).  The window shares max_concurrency with the page
 * prefetch of the series being read: the scan asks ld_reqplan_count()
 * before it plans pages ahead.
 *
 * Memory: paths live in the context the plan was given (the scan's
 * per-execution context), transfers in curl until taken or dropped.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "utils/memutils.h"

/*
 * ld_reqplan_init
 *		An empty plan over a connection; paths go into cxt.
 */
void
ld_reqplan_init(LdReqPlan *rp, LdConn *conn, MemoryContext cxt)
{
	memset(rp, 0, sizeof(*rp));
	rp->conn = conn;
	rp->cxt = cxt;
}

/*
 * ld_reqplan_has
 *		Whether a GET of path is in flight already.
 */
bool
ld_reqplan_has(LdReqPlan *rp, const char *path)
{
	int			i;

	for (i = 0; i < rp->n; i++)
		if (strcmp(rp->e[i].path, path) == 0)
			return true;
	return false;
}

/*
 * ld_reqplan_start
 *		Start a GET of path ahead of need.  False when the window is full
 *		or curl has no slot free (the page is then fetched when asked for).
 */
bool
ld_reqplan_start(LdReqPlan *rp, const char *path)
{
	LdhTransfer *t;

	if (rp->n >= LD_REQPLAN_MAX)
		return false;
	if (ld_reqplan_has(rp, path))
		return true;
	t = ld_async_start(rp->conn, "GET", path, NULL, NULL);
	if (t == NULL)
		return false;
	rp->e[rp->n].path = MemoryContextStrdup(rp->cxt, path);
	rp->e[rp->n].t = t;
	rp->n++;
	return true;
}

/*
 * ld_reqplan_take
 *		The GET of path started ahead, removed from the plan (the caller
 *		finishes it with ld_async_finish), or NULL if there is none.
 */
LdhTransfer *
ld_reqplan_take(LdReqPlan *rp, const char *path)
{
	int			i;

	for (i = 0; i < rp->n; i++)
	{
		LdhTransfer *t = rp->e[i].t;

		if (strcmp(rp->e[i].path, path) != 0)
			continue;
		pfree(rp->e[i].path);
		rp->n--;
		memmove(&rp->e[i], &rp->e[i + 1], (rp->n - i) * sizeof(rp->e[0]));
		return t;
	}
	return NULL;
}

/*
 * ld_reqplan_count
 *		GETs in flight ahead of need.
 */
int
ld_reqplan_count(const LdReqPlan *rp)
{
	return rp->n;
}

/*
 * ld_reqplan_drop
 *		Drop every GET still in flight (early stop, rescan, ERROR, end).
 */
void
ld_reqplan_drop(LdReqPlan *rp)
{
	int			i;

	for (i = 0; i < rp->n; i++)
		ld_async_cancel(rp->conn, rp->e[i].t);
	rp->n = 0;
}
