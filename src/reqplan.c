/*-------------------------------------------------------------------------
 *
 * reqplan.c
 *		  The request plan of a scan's series: which pages of the series
 *		  after the current one go out ahead, how many, and what is dropped.
 *
 * A scan reads its series (enumerated parents, IN-list values, metrics
 * windows) one after the other, and its rows keep that order.  The GETs
 * need not wait: while one series is read, the first pages of the next
 * ones are in flight, and once such a first page has come back and its
 * totalCount says there is more, that series' next page goes out too
 * (ld_reqplan_follow), so that a project-wide read keeps max_concurrency
 * requests in flight as a plain parallel download would, not one round
 * trip per series of more than one page.  Each request is named by its
 * path (with its query string); the scan takes it back when it asks for
 * that very page (ld_reqplan_take).  Whatever is left -- a series passed,
 * an early stop, a rescan, an ERROR, a cancel -- is dropped.  In-flight
 * GETs share max_concurrency with the page prefetch of the series being
 * read: the scan asks ld_reqplan_inflight() before it plans pages ahead,
 * and gives ld_reqplan_follow() the room that is left.
 *
 * Memory: paths live in the context the plan was given (the scan's
 * per-execution context), transfers and their answers in curl until taken
 * or dropped (at most LD_REQPLAN_MAX of them).
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "page.h"
#include "utils/memutils.h"

/*
 * ld_reqplan_init
 *		An empty plan over a connection; paths go into cxt.  Pages are not
 *		followed until ld_reqplan_follow_pages says how.
 */
void
ld_reqplan_init(LdReqPlan *rp, LdConn *conn, MemoryContext cxt)
{
	memset(rp, 0, sizeof(*rp));
	rp->conn = conn;
	rp->cxt = cxt;
	rp->form = -1;
}

/*
 * ld_reqplan_follow_pages
 *		Let ld_reqplan_follow start the next pages of a paged series whose
 *		answers have the given form (LdpForm), page_size items each.
 */
void
ld_reqplan_follow_pages(LdReqPlan *rp, int form, int page_size)
{
	rp->form = form;
	rp->page_size = page_size;
}

/*
 * ld_page_path
 *		The path of one page of a paged series (palloc'd): the series' path
 *		with limit and offset, the one spelling every caller shares so that
 *		a page started ahead is found again by its path.
 */
char *
ld_page_path(const char *base, int64 limit, int64 offset)
{
	return psprintf("%s%slimit=%lld&offset=%lld", base, ld_query_sep(base),
					(long long) limit, (long long) offset);
}

/*
 * ld_reqplan_find
 *		The GET of path in flight (or done, not taken yet), or NULL.
 */
LdhTransfer *
ld_reqplan_find(LdReqPlan *rp, const char *path)
{
	int			i;

	for (i = 0; i < rp->n; i++)
		if (strcmp(rp->e[i].path, path) == 0)
			return rp->e[i].t;
	return NULL;
}

/*
 * ld_reqplan_start
 *		Start a GET ahead of need: page (limit, offset) of the paged series
 *		base, or base itself when limit < 0 (not paged).  series is the
 *		scan's number of that series (ld_reqplan_drop_before).  True if it
 *		is in flight (or was already); false when the plan is full or the
 *		budget or curl has no room (the page is then fetched when asked
 *		for).
 */
bool
ld_reqplan_start(LdReqPlan *rp, const char *base, int64 limit, int64 offset,
				 int64 series)
{
	MemoryContext old = MemoryContextSwitchTo(rp->cxt);
	char	   *path = limit < 0 ? pstrdup(base) : ld_page_path(base, limit, offset);
	LdhTransfer *t = NULL;

	MemoryContextSwitchTo(old);
	if (ld_reqplan_find(rp, path) != NULL)
	{
		pfree(path);
		return true;
	}
	if (rp->n < LD_REQPLAN_MAX)
		t = ld_async_start(rp->conn, "GET", path, NULL, NULL);
	if (t == NULL)
	{
		pfree(path);
		return false;
	}
	rp->e[rp->n].path = path;
	rp->e[rp->n].base = limit < 0 ? NULL : MemoryContextStrdup(rp->cxt, base);
	rp->e[rp->n].offset = offset;
	rp->e[rp->n].series = series;
	rp->e[rp->n].followed = limit < 0;
	rp->e[rp->n].t = t;
	rp->n++;
	return true;
}

/*
 * remove_entry
 *		Forget entry i (its transfer is the caller's now).
 */
static void
remove_entry(LdReqPlan *rp, int i)
{
	pfree(rp->e[i].path);
	if (rp->e[i].base)
		pfree(rp->e[i].base);
	rp->n--;
	memmove(&rp->e[i], &rp->e[i + 1], (rp->n - i) * sizeof(rp->e[0]));
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
		remove_entry(rp, i);
		return t;
	}
	return NULL;
}

/*
 * ld_reqplan_count
 *		GETs of the plan, in flight or answered and not taken yet.
 */
int
ld_reqplan_count(const LdReqPlan *rp)
{
	return rp->n;
}

/*
 * ld_reqplan_inflight
 *		GETs of the plan still waiting for their answer (what counts
 *		against max_concurrency).
 */
int
ld_reqplan_inflight(const LdReqPlan *rp)
{
	int			i,
				n = 0;

	for (i = 0; i < rp->n; i++)
		if (!ldh_finished(rp->e[i].t))
			n++;
	return n;
}

/*
 * next_offset
 *		The offset of the page after an answered page of a paged series,
 *		or -1 when there is none or the answer cannot tell (an error
 *		status, no totalCount, not a page: the scan deals with it when it
 *		takes the page, as it would have without the plan).  This reads
 *		the page once more; only pages of later series are read so.
 */
static int64
next_offset(const LdReqPlan *rp, int i)
{
	const LdhResponse *r = ldh_response(rp->e[i].t);
	LdpPage		page;
	int64		next = -1;

	if (r->outcome != LDH_DONE || r->status < 200 || r->status > 299 || r->body == NULL)
		return -1;
	if (ldp_parse(r->body, r->body_len, rp->form, &page) != LDP_OK)
		return -1;
	if (page.total >= 0 && page.nitems > 0 && !(page.has_links && !page.has_next) &&
		rp->e[i].offset + page.nitems < page.total)
		next = rp->e[i].offset + page.nitems;
	ldp_free(&page);
	return next;
}

/*
 * ld_reqplan_follow
 *		For every answered page of a later series that says more pages
 *		follow, start the next one, at most room of them, earlier series
 *		first.  Returns how many were started.
 */
int
ld_reqplan_follow(LdReqPlan *rp, int room)
{
	int			started = 0,
				n = rp->n,
				i;

	if (rp->form < 0)
		return 0;
	for (i = 0; i < n && started < room && rp->n < LD_REQPLAN_MAX; i++)
	{
		int64		next;

		if (rp->e[i].followed || !ldh_finished(rp->e[i].t))
			continue;
		next = next_offset(rp, i);
		if (next >= 0)
		{
			if (!ld_reqplan_start(rp, rp->e[i].base, rp->page_size, next, rp->e[i].series))
				break;			/* no room now: try again at the next wake-up */
			started++;
		}
		rp->e[i].followed = true;
	}
	return started;
}

/*
 * ld_reqplan_drop_before
 *		Drop the GETs of series before the given one (the scan has passed
 *		them: a page planned for them is not wanted any more).
 */
void
ld_reqplan_drop_before(LdReqPlan *rp, int64 series)
{
	int			i = 0;

	while (i < rp->n)
	{
		if (rp->e[i].series < series)
		{
			LdhTransfer *t = rp->e[i].t;

			remove_entry(rp, i);
			ld_async_cancel(rp->conn, t);
		}
		else
			i++;
	}
}

/*
 * ld_reqplan_drop
 *		Drop every GET of the plan (early stop, rescan, ERROR, end).
 */
void
ld_reqplan_drop(LdReqPlan *rp)
{
	int			i;

	for (i = 0; i < rp->n; i++)
		ld_async_cancel(rp->conn, rp->e[i].t);
	rp->n = 0;
}
