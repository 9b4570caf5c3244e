/*-------------------------------------------------------------------------
 *
 * batch.c
 *		  Concurrent writes: requests kept in flight while the next rows are
 *		  read, and batch INSERT.
 *
 * An INSERT gets its rows in batches from the executor (batch_size, as
 * postgres_fdw names it); every body of a batch is built and checked before
 * any is sent.  UPDATE and DELETE get their rows one at a time.  When
 * nothing needs a row's answer at once -- no RETURNING, no trigger on the
 * table -- a row's request is started and the executor goes on to the next
 * rows, with up to max_concurrency requests in flight: a sliding window
 * whose oldest request is waited for when it is full, and all of them at
 * the end of the statement.  Otherwise an INSERT's batch is sent with up to
 * max_concurrency in flight and done before the next batch.  Either way the
 * answers are checked in row order, and the first failing row is the one
 * reported, with how many other rows were in flight.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "utils/memutils.h"
#include "utils/rel.h"

/* one batch of an INSERT's POSTs */
typedef struct LdBatch
{
	int			n;
	char	  **paths;
	char	  **bodies;
	LdResult   *res;
} LdBatch;

/*
 * ok_status
 *		Whether an answer is a success.
 */
static bool
ok_status(const LdResult *r)
{
	return r->status >= 200 && r->status <= 299;
}

/*
 * row_ok
 *		Whether a row's answer lets the statement go on: a success, or a
 *		409 that ON CONFLICT DO NOTHING skips.
 */
static bool
row_ok(const LdModifyState *s, const LdResult *r)
{
	return ok_status(r) || (s->skip_conflicts && r->status == 409);
}

/*
 * send_batch
 *		Send the POSTs of b with up to max_concurrency in flight, in row
 *		order; a request that cannot start now is sent on its own.  After
 *		a failure no new request is started (those in flight finish).  On
 *		an ERROR the requests still in flight are dropped.
 */
static void
send_batch(LdModifyState *s, LdBatch *b, int64 first_row)
{
	LdhTransfer **ts = palloc0(sizeof(LdhTransfer *) * b->n);
	int			next = 0;
	bool		failed = false;
	int			i;

	PG_TRY();
	{
		for (i = 0; i < b->n; i++)
		{
			if (failed && ts[i] == NULL)
			{
				b->res[i].status = 0;	/* not sent */
				continue;
			}
			while (!failed && next < b->n && next - i < s->opts.max_concurrency)
			{
				ts[next] = ld_async_start(s->conn, "POST", b->paths[next],
										  b->bodies[next], NULL);
				if (ts[next] == NULL)
					break;
				next++;
			}
			if (next <= i)
				next = i + 1;
			s->rows = first_row + i;
			s->in_flight = next - i - 1;
			if (ts[i] != NULL)
				ld_async_finish(s->conn, ts[i], "POST", b->paths[i], b->bodies[i],
								NULL, &s->stats, &b->res[i]);
			else
				ld_request(s->conn, "POST", b->paths[i], b->bodies[i], NULL,
						   &s->stats, &b->res[i]);
			ts[i] = NULL;
			failed |= !row_ok(s, &b->res[i]);
		}
	}
	PG_CATCH();
	{
		for (i = 0; i < b->n; i++)
			if (ts[i] != NULL)
				ld_async_cancel(s->conn, ts[i]);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * send_rows
 *		Send a batch whose first row is row number first, then report the
 *		first failing row (in row order), saying how many later rows of
 *		the batch were sent too.  The caller has the row error context set.
 */
static void
send_rows(LdModifyState *s, LdBatch *b, int64 first)
{
	int			i;

	b->res = palloc0(sizeof(LdResult) * b->n);
	send_batch(s, b, first);
	s->in_flight = 0;
	for (i = 0; i < b->n; i++)
	{
		if (!row_ok(s, &b->res[i]))
		{
			int			j;

			s->rows = first + i;
			for (j = i + 1; j < b->n; j++)
				s->in_flight += (b->res[j].status != 0);
			ld_report_http_error("POST", b->paths[i], &b->res[i]);
		}
		s->sent = first + i + 1;
	}
	s->rows = first + b->n;
}

/*
 * ldGetForeignModifyBatchSize
 *		How many rows an INSERT hands us at once (batch_size); 1 when
 *		RETURNING or row triggers need each row's answer first.
 */
int
ldGetForeignModifyBatchSize(ResultRelInfo *rinfo)
{
	LdModifyState *s = (LdModifyState *) rinfo->ri_FdwState;
	LdOptions	opts;

	if (rinfo->ri_projectReturning != NULL ||
		(rinfo->ri_TrigDesc != NULL &&
		 (rinfo->ri_TrigDesc->trig_insert_before_row ||
		  rinfo->ri_TrigDesc->trig_insert_after_row)))
		return 1;
	if (s != NULL && s->res != NULL)
		return s->opts.batch_size;
	ld_get_options(RelationGetRelid(rinfo->ri_RelationDesc), &opts);
	return opts.batch_size;
}

/*
 * inserted_slots
 *		ON CONFLICT DO NOTHING: the slots of the rows the API created, in
 *		order, without those a 409 skipped; *numSlots becomes their count,
 *		which is what the executor counts (and hands to AFTER triggers).
 */
static TupleTableSlot **
inserted_slots(LdModifyState *s, const LdBatch *b, TupleTableSlot **slots, int *numSlots)
{
	TupleTableSlot **out = MemoryContextAlloc(s->row_cxt, sizeof(TupleTableSlot *) * b->n);
	int			n = 0;
	int			i;

	for (i = 0; i < b->n; i++)
		if (ok_status(&b->res[i]))
			out[n++] = slots[i];
	*numSlots = n;
	return out;
}

/*
 * ldExecForeignBatchInsert
 *		Up to batch_size rows: every body is built and checked first, then
 *		the POSTs go out concurrently: into the window of requests in flight
 *		when the statement allows it (ld_can_defer), else as one batch that
 *		is done before the next rows are read.
 */
TupleTableSlot **
ldExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot **slots,
						 TupleTableSlot **planSlots, int *numSlots)
{
	LdModifyState *s = (LdModifyState *) rinfo->ri_FdwState;
	LdBatch		b = {*numSlots};
	int64		first = s->rows;
	ErrorContextCallback errcb;
	LdRowContext rc = {s, RelationGetRelationName(rinfo->ri_RelationDesc)};
	MemoryContext old = ld_begin_rows(s, &errcb, &rc);
	int			i;

	s->in_flight = s->deferred ? s->wcount : 0;
	b.paths = palloc(sizeof(char *) * b.n);
	b.bodies = palloc(sizeof(char *) * b.n);
	for (i = 0; i < b.n; i++)
	{
		const char *keys[LDK_COUNT] = {0};
		LdEndpoint	ep = {s->res->writes.create};
		cJSON	   *body;

		s->rows = first + i;
		body = ld_insert_body(s, slots[i], keys);
		b.bodies[i] = ld_json_text(body);
		b.paths[i] = ld_build_path(&ep, s->opts.project_key, keys, true);
	}
	if (ld_write_diverted(&s->opts))
	{
		/* dry run or write_mode 'on_commit': shown or queued (xact.c) */
		error_context_stack = errcb.previous;
		for (i = 0; i < b.n; i++)
			(void) ld_write_divert(s->conn, &s->opts, s->write_group, "POST",
								   b.paths[i], b.bodies[i], NULL);
		s->rows = s->sent = first + b.n;
	}
	else if (s->deferred)
	{
		/* each request names its own row if it fails */
		error_context_stack = errcb.previous;
		for (i = 0; i < b.n; i++)
		{
			s->rows = first + i;
			ld_defer_row(s, rinfo, b.paths[i], b.bodies[i]);
		}
		s->rows = first + b.n;
	}
	else
	{
		send_rows(s, &b, first);
		error_context_stack = errcb.previous;
	}
	MemoryContextSwitchTo(old);
	/* rows shown or queued have no answer yet: each counts as inserted */
	if (s->skip_conflicts && !ld_write_diverted(&s->opts))
		return inserted_slots(s, &b, slots, numSlots);
	return slots;
}

/*
 * ld_can_defer
 *		Whether a statement may keep its rows' requests in flight while the
 *		next rows are read: nothing needs a row's answer before the
 *		statement ends (no RETURNING, no trigger on the table, which could
 *		run before the last requests are done), and max_concurrency allows
 *		more than one request at a time.  An INSERT does so for the batches
 *		the executor hands over (batch_size above 1).
 */
bool
ld_can_defer(ResultRelInfo *rinfo, CmdType op, const LdOptions *opts)
{
	if (op == CMD_INSERT && opts->batch_size <= 1)
		return false;
	if (rinfo->ri_projectReturning != NULL || rinfo->ri_TrigDesc != NULL)
		return false;
	return opts->max_concurrency > 1;
}

/*
 * window_method
 *		The method (and extra header) of the statement's requests.
 */
static const char *
window_method(const LdModifyState *s, const char **header)
{
	*header = s->operation == CMD_DELETE ? s->res->writes.delete_header : NULL;
	return s->operation == CMD_INSERT ? "POST" :
		s->operation == CMD_UPDATE ? "PATCH" : "DELETE";
}

/*
 * window_cleanup
 *		Memory context reset callback: drop the requests still in flight
 *		(after an ERROR; at a normal end the window is empty).
 */
static void
window_cleanup(void *arg)
{
	LdModifyState *s = (LdModifyState *) arg;
	int			i;

	for (i = 0; i < s->wcount; i++)
	{
		LdPending  *e = &s->window[(s->wstart + i) % s->opts.max_concurrency];

		if (e->t != NULL)
			ld_async_cancel(s->conn, e->t);
		e->t = NULL;
	}
	s->wcount = 0;
}

/*
 * ld_defer_begin
 *		Set up the window of requests in flight, in the statement's memory.
 */
void
ld_defer_begin(LdModifyState *s, MemoryContext cxt)
{
	MemoryContextCallback *cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));

	s->deferred = true;
	s->window = MemoryContextAllocZero(cxt, sizeof(LdPending) * s->opts.max_concurrency);
	s->window_cxt = cxt;
	cb->func = window_cleanup;
	cb->arg = s;
	MemoryContextRegisterResetCallback(cxt, cb);
}

/*
 * finish_oldest
 *		Wait for the oldest request in flight and check its answer; a
 *		failure is reported as that row's, saying how many later rows were
 *		in flight (the error context counts the rest of the window; those
 *		requests are dropped by window_cleanup).
 */
static void
finish_oldest(LdModifyState *s, ResultRelInfo *rinfo)
{
	LdPending  *e = &s->window[s->wstart];
	const char *header;
	const char *method = window_method(s, &header);
	LdResult	res;
	ErrorContextCallback errcb;
	LdRowContext rc = {s, RelationGetRelationName(rinfo->ri_RelationDesc)};
	int64		rows = s->rows;

	s->rows = e->row;
	s->in_flight = s->wcount - 1;
	errcb.callback = ld_row_error_callback;
	errcb.arg = &rc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	ld_async_finish(s->conn, e->t, method, e->path, e->body, header, &s->stats, &res);
	e->t = NULL;
	s->wstart = (s->wstart + 1) % s->opts.max_concurrency;
	s->wcount--;
	if (!ok_status(&res))
		ld_report_http_error(method, e->path, &res);
	error_context_stack = errcb.previous;
	s->sent = e->row + 1;
	s->in_flight = 0;
	s->rows = rows;
	pfree(e->path);
	if (e->body)
		pfree(e->body);
}

/*
 * start_entry
 *		Start a row's request as the newest of the window (the path and body
 *		are copied: they must outlive the row).  False if no transfer slot
 *		is free.
 */
static bool
start_entry(LdModifyState *s, const char *path, const char *body)
{
	LdPending  *e = &s->window[(s->wstart + s->wcount) % s->opts.max_concurrency];
	const char *header;
	const char *method = window_method(s, &header);

	e->path = MemoryContextStrdup(s->window_cxt, path);
	e->body = body ? MemoryContextStrdup(s->window_cxt, body) : NULL;
	e->row = s->rows;
	e->t = ld_async_start(s->conn, method, e->path, e->body, header);
	if (e->t == NULL)
	{
		pfree(e->path);
		if (e->body)
			pfree(e->body);
		return false;
	}
	s->wcount++;
	return true;
}

/*
 * ld_defer_row
 *		Start one row's request and go on with the next row; when
 *		max_concurrency requests are in flight, wait for the oldest first.
 *		Two changes of the same item are never in flight together, and a
 *		request that cannot start now waits for all the others.
 */
void
ld_defer_row(LdModifyState *s, ResultRelInfo *rinfo, const char *path, const char *body)
{
	int			i;

	for (i = 0; i < s->wcount && s->operation != CMD_INSERT; i++)
		if (strcmp(s->window[(s->wstart + i) % s->opts.max_concurrency].path, path) == 0)
		{
			ld_flush_deferred(s, rinfo);
			break;
		}
	while (s->wcount >= s->opts.max_concurrency)
		finish_oldest(s, rinfo);
	if (start_entry(s, path, body))
		return;
	ld_flush_deferred(s, rinfo);
	if (!start_entry(s, path, body))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not start an HTTP request"),
				 errdetail("Too many requests in flight.")));
}

/*
 * ld_flush_deferred
 *		Wait for every request still in flight, in row order, reporting
 *		the first failing row.
 */
void
ld_flush_deferred(LdModifyState *s, ResultRelInfo *rinfo)
{
	while (s->wcount > 0)
		finish_oldest(s, rinfo);
}
