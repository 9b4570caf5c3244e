/*-------------------------------------------------------------------------
 *
 * reqplan.c
 *		  The request plan of a scan: which GETs are in flight, in which
 *		  order, how many ahead, and what is dropped.
 *
 * A scan reads its series (enumerated parents, IN-list values, metrics
 * windows) one after the other, page by page, and its rows keep that
 * order; scan.c turns pages into rows and says which series come next.
 * This module decides every GET of the scan:
 *
 * - the pages of the series being read (a pager): on demand, once the
 *	 executor has used half of a page; one page ahead when a LIMIT above
 *	 may stop the scan, growing up to max_concurrency for a cursor, and at
 *	 once, up to max_concurrency, when every row is read;
 * - the pages of later series ("entries"): their first pages while an
 *	 earlier series is read, and -- when every row is read -- their next
 *	 pages as soon as a first page has come back saying there is more
 *	 (totalCount), so that a project-wide read keeps max_concurrency
 *	 requests in flight as a plain parallel download would, not one round
 *	 trip per series of more than one page;
 * - what goes: a series passed, an early stop, a rescan, an ERROR, a
 *	 cancel, a rate-limited answer (after which the scan is sequential).
 *
 * Every request is named by its path (with its query string), so a page
 * started ahead is found again when the scan asks for that very page.
 * While the scan waits for a page, the window is kept full (fill); all
 * waits are interruptible (connection.c).
 *
 * Memory: paths live in the plan's context (the scan's per-execution
 * context) or a pager's; the paths of one planning round in a scratch
 * context reset each round; transfers and their answers in curl until
 * taken or dropped (at most LD_REQPLAN_MAX later-series pages, and
 * LD_MAX_PREFETCH per pager).
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "page.h"
#include "utils/memutils.h"

static void fill(LdReqPlan *rp);


/* ----------------------------------------------------------------------
 * Paths and answers
 * ----------------------------------------------------------------------
 */

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
 * ld_bad_response
 *		ERROR for an answer that is not what the endpoint promises.
 */
void
ld_bad_response(const char *path, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("invalid response from LaunchDarkly: %s", what),
			 errcontext("LaunchDarkly request: GET %s", path)));
}

/*
 * ld_reqplan_get
 *		One GET now, answered from the query's response cache when the
 *		plan has one (a scan rescanned with new keys).
 */
void
ld_reqplan_get(LdReqPlan *rp, const char *path, LdResult *res)
{
	if (rp->cache != NULL)
		ld_request_cached(rp->conn, rp->cache, path, rp->stats, res);
	else
		ld_request(rp->conn, "GET", path, NULL, NULL, rp->stats, res);
}


/* ----------------------------------------------------------------------
 * The plan and its later-series entries
 * ----------------------------------------------------------------------
 */

/*
 * ld_reqplan_init
 *		An empty plan over a connection: paths go into cxt, a planning
 *		round's into scratch, request counts into stats.  Sequential and
 *		without entries until the caller sets the policy fields.
 */
void
ld_reqplan_init(LdReqPlan *rp, LdConn *conn, MemoryContext cxt,
				MemoryContext scratch, LdStats *stats)
{
	memset(rp, 0, sizeof(*rp));
	rp->conn = conn;
	rp->cxt = cxt;
	rp->scratch = scratch;
	rp->stats = stats;
	rp->concurrency = 1;
	rp->form = -1;
}

/*
 * find_entry
 *		The index of the entry for path, or -1.
 */
static int
find_entry(const LdReqPlan *rp, const char *path)
{
	int			i;

	for (i = 0; i < rp->n; i++)
		if (strcmp(rp->e[i].path, path) == 0)
			return i;
	return -1;
}

/*
 * start_entry
 *		Start a GET ahead of need: page (limit, offset) of the paged series
 *		base, or base itself when limit < 0 (not paged), for the scan's
 *		series number series.  True if it is in flight (or already was);
 *		false when the plan is full or the budget or curl has no room (the
 *		page is then fetched when asked for).
 */
static bool
start_entry(LdReqPlan *rp, const char *base, int64 limit, int64 offset, int64 series)
{
	MemoryContext old = MemoryContextSwitchTo(rp->cxt);
	char	   *path = limit < 0 ? pstrdup(base) : ld_page_path(base, limit, offset);
	LdhTransfer *t = NULL;

	MemoryContextSwitchTo(old);
	if (find_entry(rp, path) >= 0)
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
 * take_entry
 *		The GET of path started ahead, removed from the plan (the caller
 *		owns the transfer), or NULL if there is none.
 */
static LdhTransfer *
take_entry(LdReqPlan *rp, const char *path)
{
	int			i = find_entry(rp, path);
	LdhTransfer *t;

	if (i < 0)
		return NULL;
	t = rp->e[i].t;
	remove_entry(rp, i);
	return t;
}

/*
 * entries_inflight
 *		Entries still waiting for their answer (what counts against
 *		max_concurrency; answered ones wait for the scan, not the network).
 */
static int
entries_inflight(const LdReqPlan *rp)
{
	int			i,
				n = 0;

	for (i = 0; i < rp->n; i++)
		if (!ldh_finished(rp->e[i].t))
			n++;
	return n;
}

/*
 * answered_429
 *		Whether a GET started ahead has come back rate-limited.
 */
static bool
answered_429(const LdhTransfer *t)
{
	const LdhResponse *r;

	if (!ldh_finished(t))
		return false;
	r = ldh_response(t);
	return r->outcome == LDH_DONE && r->status == 429;
}

/*
 * check_rate_limit
 *		A GET started ahead (a later series' page, or a pager's page behind
 *		its head) has come back rate-limited before the scan takes it: the
 *		scan is sequential from now on, as after a 429 it takes itself, not
 *		only once it reaches that page.  Later-series GETs still in flight
 *		are dropped and nothing more is started; answered ones stay (the
 *		429 too, so that its Retry-After is honoured when it is taken), and
 *		so do the pagers' queues (their head may be awaited).  True if so.
 */
static bool
check_rate_limit(LdReqPlan *rp)
{
	LdPager    *pagers[2] = {rp->current, rp->parent};
	bool		limited = false;
	int			i,
				j;

	if (rp->concurrency <= 1)
		return false;
	for (i = 0; i < rp->n && !limited; i++)
		limited = answered_429(rp->e[i].t);
	for (j = 0; j < 2 && !limited; j++)
		for (i = 0; pagers[j] != NULL && i < pagers[j]->nqueued && !limited; i++)
			limited = answered_429(pagers[j]->queue[i].t);
	if (!limited)
		return false;
	i = 0;
	while (i < rp->n)
	{
		if (!ldh_finished(rp->e[i].t))
		{
			LdhTransfer *t = rp->e[i].t;

			remove_entry(rp, i);
			ld_async_cancel(rp->conn, t);
		}
		else
			i++;
	}
	rp->concurrency = 1;
	for (j = 0; j < 2; j++)
		if (pagers[j] != NULL)
			pagers[j]->concurrency = 1;
	return true;
}

/*
 * next_offset
 *		The offset of the page after an answered entry of a paged series,
 *		or -1 when there is none or the answer cannot tell (an error
 *		status, no totalCount, not a page: the scan deals with it when it
 *		takes the page, as it would have without the plan).  This parses
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
 * follow
 *		For every answered entry whose page says more pages follow, start
 *		the next one, at most room of them, earlier series first.  Returns
 *		how many were started.
 */
static int
follow(LdReqPlan *rp, int room)
{
	int			started = 0,
				n = rp->n,
				i;

	if (!rp->follow)
		return 0;
	for (i = 0; i < n && started < room && rp->n < LD_REQPLAN_MAX; i++)
	{
		int64		next;

		if (rp->e[i].followed || !ldh_finished(rp->e[i].t))
			continue;
		next = next_offset(rp, i);
		if (next >= 0)
		{
			if (!start_entry(rp, rp->e[i].base, rp->page_size, next, rp->e[i].series))
				break;			/* no room now: try again at the next wake-up */
			started++;
		}
		rp->e[i].followed = true;
	}
	return started;
}

/*
 * plan_series
 *		Start the first pages of the series after the current one (their
 *		paths from the scan's series_ahead), up to room new GETs.  Series
 *		already planned are skipped.  A scan that reads every row looks as
 *		far ahead as the plan holds, one that may stop early
 *		max_concurrency - 1 series.
 */
static void
plan_series(LdReqPlan *rp, int room)
{
	int			depth = rp->mode == LD_AHEAD_EAGER ? LD_REQPLAN_MAX : rp->concurrency - 1;
	int64		limit = rp->series_paged ? Min(rp->first_limit, rp->page_size) : -1;
	char	   *bases[LD_REQPLAN_MAX];
	MemoryContext old;
	int			n,
				i;

	if (!rp->plan_series || room <= 0 || depth <= 0)
		return;
	MemoryContextReset(rp->scratch);
	old = MemoryContextSwitchTo(rp->scratch);
	n = rp->series_ahead(rp->series_arg, depth, bases);
	for (i = 0; i < n && room > 0; i++)
	{
		if (find_entry(rp, limit < 0 ? bases[i] : ld_page_path(bases[i], limit, 0)) >= 0)
			continue;
		if (!start_entry(rp, bases[i], limit, 0, rp->series_no + i + 1))
			break;
		room--;
	}
	MemoryContextSwitchTo(old);
}

/*
 * drop_before
 *		Drop the entries of series before the given one (the scan has
 *		passed them: a page planned for them is not wanted any more).
 */
static void
drop_before(LdReqPlan *rp, int64 series)
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
 * ld_reqplan_next_series
 *		The scan moved to its next series: what was planned for the ones
 *		before goes, and the first pages of the following ones go out
 *		(leaving one request for the series now read).
 */
void
ld_reqplan_next_series(LdReqPlan *rp)
{
	drop_before(rp, ++rp->series_no);
	plan_series(rp, rp->concurrency - 1 -
				(rp->parent ? ld_pager_inflight(rp->parent) : 0) - entries_inflight(rp));
}

/*
 * ld_reqplan_drop
 *		Drop every later-series GET of the plan (early stop, rescan,
 *		ERROR, end); pagers are dropped with ld_pager_cancel.
 */
void
ld_reqplan_drop(LdReqPlan *rp)
{
	int			i;

	for (i = 0; i < rp->n; i++)
		ld_async_cancel(rp->conn, rp->e[i].t);
	rp->n = 0;
}


/* ----------------------------------------------------------------------
 * Pagers: the pages of one series
 * ----------------------------------------------------------------------
 */

/*
 * ld_pager_reset
 *		Start paging a series at path (a paged one from offset, at most
 *		remaining rows, -1 = all), dropping what the pager had in flight.
 *		Pager memory (paths, the last page's identity) goes into cxt.
 */
void
ld_pager_reset(LdReqPlan *rp, LdPager *pg, char *path, bool paged, int64 offset,
			   int64 remaining, int concurrency, MemoryContext cxt)
{
	ld_pager_cancel(rp, pg);
	pg->path = path;
	pg->paged = paged;
	pg->offset = offset;
	pg->remaining = remaining;
	pg->done = false;
	pg->ended = false;
	pg->pages = 0;
	pg->last_first = NULL;
	pg->cxt = cxt;
	pg->concurrency = concurrency;
	pg->step = 0;
	pg->ahead = 1;
	pg->armed = false;
	pg->total = -1;
	pg->page_items = 0;
	pg->consumed = 0;
}

/*
 * ld_pager_cancel
 *		Drop the GETs in flight for a pager's pages (early stop, end of
 *		series, a plan that went wrong, rescan, error).
 */
void
ld_pager_cancel(LdReqPlan *rp, LdPager *pg)
{
	int			i;

	for (i = 0; i < pg->nqueued; i++)
		ld_async_cancel(rp->conn, pg->queue[i].t);
	pg->nqueued = 0;
}

/*
 * ld_pager_inflight
 *		GETs of a pager's queue still waiting for their answer.
 */
int
ld_pager_inflight(const LdPager *pg)
{
	int			i,
				n = 0;

	for (i = 0; i < pg->nqueued; i++)
		if (!ldh_finished(pg->queue[i].t))
			n++;
	return n;
}

/*
 * schedule
 *		With totalCount known, start GETs for a pager's next pages, never
 *		past totalCount or a pushed LIMIT.  A scan stopped after a count of
 *		rows (a LIMIT above it) keeps one page ahead, so a stop wastes at
 *		most one GET; for a cursor the window grows by one page each time,
 *		up to max_concurrency; one that reads every row keeps it full.
 *		Later series' GETs in flight share max_concurrency.  Pages are
 *		planned with the page length the server gives, so a server that
 *		caps limit is followed correctly.  A page already started as a
 *		later series' (follow) is taken over, not asked for twice.
 */
static void
schedule(LdReqPlan *rp, LdPager *pg)
{
	int			window;

	pg->armed = false;
	if (check_rate_limit(rp))
		pg->concurrency = 1;
	if (pg->concurrency <= 1 || !pg->paged || pg->total < 0 || pg->done)
		return;
	if (pg->step <= 0)
		pg->step = pg->page_items;
	if (pg->step <= 0)
		return;
	if (pg->nqueued == 0)
		pg->planned = pg->offset;
	if (rp->mode == LD_AHEAD_EAGER)
		window = Max(1, pg->concurrency - entries_inflight(rp));
	else
		window = Min(pg->ahead, pg->concurrency - entries_inflight(rp));
	window = Min(window, LD_MAX_PREFETCH);
	if (rp->mode != LD_AHEAD_ONE)
		pg->ahead = Min(pg->ahead + 1, pg->concurrency);
	while (pg->nqueued < window && pg->planned < pg->total)
	{
		int64		rest = pg->remaining >= 0 ? pg->remaining - (pg->planned - pg->offset) : -1;
		int64		limit = rp->page_size;
		char	   *path;
		LdhTransfer *t;

		if (pg->remaining >= 0 && rest <= 0)
			break;
		if (rest > 0)
			limit = Min(limit, rest);
		path = MemoryContextStrdup(pg->cxt, ld_page_path(pg->path, limit, pg->planned));
		t = take_entry(rp, path);
		if (t == NULL)
			t = ld_async_start(rp->conn, "GET", path, NULL, NULL);
		if (t == NULL)
			break;
		pg->queue[pg->nqueued].t = t;
		pg->queue[pg->nqueued].offset = pg->planned;
		pg->queue[pg->nqueued].path = path;
		pg->nqueued++;
		pg->planned += Min(limit, pg->step);
	}
}

/*
 * ld_pager_consumed
 *		Count an item of the current page as handed to the executor; once
 *		half of the page is used, the next pages are wanted.
 */
void
ld_pager_consumed(LdReqPlan *rp, LdPager *pg)
{
	if (pg->armed && pg->consumed >= pg->page_items / 2)
		schedule(rp, pg);
	pg->consumed++;
}

/*
 * ld_pager_prefetch
 *		The caller reads the rest of the series at once (a count of rows):
 *		start the next pages now if they are wanted.
 */
void
ld_pager_prefetch(LdReqPlan *rp, LdPager *pg)
{
	if (pg->armed)
		schedule(rp, pg);
}

/*
 * fill
 *		While the scan waits for a page: keep max_concurrency GETs in
 *		flight with what later series need next -- the next page of a
 *		series whose first page has come back saying there is more, then
 *		the first pages of further series.  The series being read keeps
 *		one request of its own.
 */
static void
fill(LdReqPlan *rp)
{
	int			room;

	if (!rp->plan_series || check_rate_limit(rp) || rp->concurrency <= 1)
		return;
	room = rp->concurrency - entries_inflight(rp) -
		Max(1, rp->current ? ld_pager_inflight(rp->current) : 0) -
		(rp->parent ? ld_pager_inflight(rp->parent) : 0);
	if (room <= 0)
		return;
	room -= follow(rp, room);
	plan_series(rp, room);
}

/*
 * queue_now
 *		Make the pager's next page (at path) the head of its queue: the
 *		later-series entry started for it, else a GET now.  False when no
 *		request could start now (no budget, no transfer slot).
 */
static bool
queue_now(LdReqPlan *rp, LdPager *pg, const char *path)
{
	LdhTransfer *t;

	ld_pager_cancel(rp, pg);
	t = take_entry(rp, path);
	if (t == NULL)
		t = ld_async_start(rp->conn, "GET", path, NULL, NULL);
	if (t == NULL)
		return false;
	pg->queue[0].t = t;
	pg->queue[0].offset = pg->offset;
	pg->queue[0].path = MemoryContextStrdup(pg->cxt, path);
	pg->nqueued = 1;
	pg->planned = pg->offset + (pg->remaining >= 0 ? Min(rp->page_size, pg->remaining) :
								rp->page_size);
	return true;
}

/*
 * ld_pager_get
 *		The answer for the pager's next page (at path): the prefetched one,
 *		else the one started as a later series' page, else a request now
 *		(a prefetch plan that no longer fits is dropped).  While it is
 *		awaited -- and before, if it is there already -- later series'
 *		GETs keep the window full.  On an ERROR the transfer is released
 *		with the pager (it stays queued while it is awaited).  A
 *		rate-limited answer makes the rest of the scan sequential.
 */
void
ld_pager_get(LdReqPlan *rp, LdPager *pg, const char *path, LdResult *res)
{
	LdhTransfer *t;

	if ((pg->nqueued == 0 || pg->queue[0].offset != pg->offset) &&
		(rp->cache != NULL || !queue_now(rp, pg, path)))
	{
		/* answered from the cache, or no budget now: wait for it there */
		ld_pager_cancel(rp, pg);
		ld_reqplan_get(rp, path, res);
		return;
	}
	fill(rp);
	while (!ldh_finished(pg->queue[0].t))
	{
		ld_async_wait(rp->conn);
		fill(rp);
	}
	t = pg->queue[0].t;
	path = pg->queue[0].path;
	pg->nqueued--;
	memmove(&pg->queue[0], &pg->queue[1], pg->nqueued * sizeof(pg->queue[0]));
	if (ld_async_finish(rp->conn, t, "GET", path, NULL, NULL, rp->stats, res))
	{
		/* rate limited: back off as a whole, strictly sequential now */
		ld_pager_cancel(rp, pg);
		ld_reqplan_drop(rp);
		rp->concurrency = 1;
		pg->concurrency = 1;
	}
}

/*
 * ld_pager_next_path
 *		The path of the pager's next page (palloc'd): with limit (the page
 *		size, or what a pushed LIMIT still wants) and offset when paged.
 */
char *
ld_pager_next_path(const LdReqPlan *rp, const LdPager *pg)
{
	int64		limit = rp->page_size;

	if (!pg->paged)
		return pstrdup(pg->path);
	if (pg->remaining >= 0)
		limit = Min(limit, pg->remaining);
	return ld_page_path(pg->path, limit, pg->offset);
}

/*
 * ld_pager_ready
 *		For an asynchronous Append: whether the pager's next page can be
 *		read without waiting.  Its GET is made the head of the queue (where
 *		ld_pager_get takes it) if it is not in flight yet.  A page that
 *		needs no request, or one that cannot be started now, counts as
 *		ready: it is read as a synchronous scan would.
 */
bool
ld_pager_ready(LdReqPlan *rp, LdPager *pg)
{
	if (pg->done || pg->remaining == 0)
		return true;
	if (pg->nqueued == 0 || pg->queue[0].offset != pg->offset)
	{
		char	   *path = ld_pager_next_path(rp, pg);
		bool		queued = rp->cache == NULL && queue_now(rp, pg, path);

		pfree(path);
		if (!queued)
			return true;
	}
	return ldh_finished(pg->queue[0].t);
}

/*
 * ld_pager_waiting
 *		The GET the pager's next page waits for (NULL: none).
 */
LdhTransfer *
ld_pager_waiting(const LdPager *pg)
{
	return pg->nqueued > 0 ? pg->queue[0].t : NULL;
}

/*
 * page_identity
 *		What identifies a page: its first item's identity, with the item's
 *		version when it has one (a list of versions repeats the key).
 */
static const char *
page_identity(const LdpPage *page)
{
	const char *id = ldp_item_identity(page->first);
	const cJSON *version = page->first ?
		cJSON_GetObjectItemCaseSensitive(page->first, "version") : NULL;

	if (id == NULL || !cJSON_IsNumber(version))
		return id;
	return psprintf("%s@%.0f", id, version->valuedouble);
}

/*
 * advance
 *		Account for a page and decide whether the series ends: no next
 *		link, totalCount reached, an empty page, or the pushed LIMIT
 *		satisfied.  Fewer items than asked is not the end.  A page that
 *		repeats the previous one, or a series without end, is an error.
 */
static void
advance(LdPager *pg, const LdpPage *page, const char *path)
{
	const char *id = page_identity(page);

	if (page->nitems > 0 && id != NULL && pg->last_first != NULL &&
		strcmp(id, pg->last_first) == 0)
		ld_bad_response(path, "the same page came back twice (the server ignores offset)");
	if (++pg->pages > LD_MAX_PAGES)
		ld_bad_response(path, "more than " CppAsString2(LD_MAX_PAGES) " pages in one series");
	if (pg->last_first)
		pfree(pg->last_first);
	pg->last_first = id ? MemoryContextStrdup(pg->cxt, id) : NULL;
	pg->offset += page->nitems;
	if (pg->remaining > 0)
		pg->remaining = Max(0, pg->remaining - page->nitems);
	pg->ended = !pg->paged || page->nitems == 0 ||
		(page->total >= 0 && pg->offset >= page->total) ||
		(page->has_links && !page->has_next);
	if (pg->ended || pg->remaining == 0)
		pg->done = true;
}

/*
 * ld_pager_answered
 *		A page of the pager has been read (from path; single: the endpoint
 *		answers one item, no paging): account for it and plan the next
 *		pages -- now when every row is read, else once half of it is used.
 */
void
ld_pager_answered(LdReqPlan *rp, LdPager *pg, const LdpPage *page, const char *path,
				  bool single)
{
	if (single)
		pg->done = true;
	else
		advance(pg, page, path);
	pg->total = page->total;
	pg->page_items = page->nitems;
	pg->consumed = 0;
	if (pg->done)
		ld_pager_cancel(rp, pg);
	else if (rp->mode == LD_AHEAD_EAGER)
		schedule(rp, pg);
	else
		pg->armed = true;
}
