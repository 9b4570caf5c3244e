/*-------------------------------------------------------------------------
 *
 * batch.c
 *		  Concurrent writes: batch INSERT, and UPDATE / DELETE rows queued
 *		  and sent together.
 *
 * An INSERT gets its rows in batches from the executor (batch_size, as
 * postgres_fdw names it).  UPDATE and DELETE get theirs one at a time, so
 * when nothing needs a row's answer at once -- no RETURNING, no trigger on
 * the table -- each row's request is queued instead, and a full queue (or
 * the end of the statement) is sent with up to max_concurrency requests in
 * flight.  Either way every request body is built and checked before any
 * of its batch is sent, the answers are checked in row order, and the first
 * failing row is the one reported, with how many later rows of its batch
 * were in flight.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "utils/memutils.h"
#include "utils/rel.h"

/* one batch of requests of the same method */
typedef struct LdBatch
{
	const char *method;
	const char *header;			/* extra header (DELETE's API version) */
	int			n;
	char	  **paths;
	char	  **bodies;			/* NULL entries: no body */
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
 * send_batch
 *		Send the requests of b with up to max_concurrency in flight, in row
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
				ts[next] = ld_async_start(s->conn, b->method, b->paths[next],
										  b->bodies[next], b->header);
				if (ts[next] == NULL)
					break;
				next++;
			}
			if (next <= i)
				next = i + 1;
			s->rows = first_row + i;
			s->in_flight = next - i - 1;
			if (ts[i] != NULL)
				ld_async_finish(s->conn, ts[i], b->method, b->paths[i], b->bodies[i],
								b->header, &s->stats, &b->res[i]);
			else
				ld_request(s->conn, b->method, b->paths[i], b->bodies[i], b->header,
						   &s->stats, &b->res[i]);
			ts[i] = NULL;
			failed |= !ok_status(&b->res[i]);
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
		if (!ok_status(&b->res[i]))
		{
			int			j;

			s->rows = first + i;
			for (j = i + 1; j < b->n; j++)
				s->in_flight += (b->res[j].status != 0);
			ld_report_http_error(b->method, b->paths[i], &b->res[i]);
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
 * ldExecForeignBatchInsert
 *		Up to batch_size rows: every body is built and checked first, then
 *		the POSTs go out concurrently.
 */
TupleTableSlot **
ldExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot **slots,
						 TupleTableSlot **planSlots, int *numSlots)
{
	LdModifyState *s = (LdModifyState *) rinfo->ri_FdwState;
	LdBatch		b = {"POST", NULL, *numSlots};
	int64		first = s->rows;
	ErrorContextCallback errcb;
	LdRowContext rc = {s, RelationGetRelationName(rinfo->ri_RelationDesc)};
	MemoryContext old = ld_begin_rows(s, &errcb, &rc);
	int			i;

	b.paths = palloc(sizeof(char *) * b.n);
	b.bodies = palloc(sizeof(char *) * b.n);
	for (i = 0; i < b.n; i++)
	{
		const char *keys[LDK_COUNT] = {0};
		LdEndpoint	ep = {s->res->writes.create};
		cJSON	   *body;
		char	   *printed;

		s->rows = first + i;
		body = ld_insert_body(s, slots[i], keys);
		printed = cJSON_PrintUnformatted(body);
		if (printed == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		b.bodies[i] = pstrdup(printed);
		cJSON_free(printed);
		b.paths[i] = ld_build_path(&ep, s->opts.project_key, keys, true);
	}
	send_rows(s, &b, first);
	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(old);
	return slots;
}

/*
 * ld_can_defer
 *		Whether an UPDATE or DELETE may queue its rows' requests: nothing
 *		needs a row's answer before the statement ends (no RETURNING, no
 *		trigger on the table, which would run before the queue is sent),
 *		and the options allow more than one request at a time.
 */
bool
ld_can_defer(ResultRelInfo *rinfo, CmdType op, const LdOptions *opts)
{
	if (op != CMD_UPDATE && op != CMD_DELETE)
		return false;
	if (rinfo->ri_projectReturning != NULL || rinfo->ri_TrigDesc != NULL)
		return false;
	return opts->batch_size > 1 && opts->max_concurrency > 1;
}

/*
 * ld_defer_row
 *		Queue one row's request (path and body are copied).  Two requests
 *		for the same item are never in flight together: the queue is sent
 *		first.  A full queue is sent at once.
 */
void
ld_defer_row(LdModifyState *s, ResultRelInfo *rinfo, const char *path, const char *body)
{
	MemoryContext old;
	int			i;

	for (i = 0; i < s->npending; i++)
		if (strcmp(s->pending_path[i], path) == 0)
		{
			ld_flush_deferred(s, rinfo);
			break;
		}
	old = MemoryContextSwitchTo(s->batch_cxt);
	s->pending_path[s->npending] = pstrdup(path);
	s->pending_body[s->npending] = body ? pstrdup(body) : NULL;
	s->npending++;
	MemoryContextSwitchTo(old);
	if (s->npending >= s->opts.batch_size)
		ld_flush_deferred(s, rinfo);
}

/*
 * ld_flush_deferred
 *		Send the queued rows concurrently and report the first failing
 *		one; the queue is empty afterwards (also after an ERROR, when the
 *		statement is over anyway).  Called outside any row's error context:
 *		this one names the failing row.
 */
void
ld_flush_deferred(LdModifyState *s, ResultRelInfo *rinfo)
{
	LdBatch		b;
	int64		rows = s->rows;
	int64		first = s->sent;
	ErrorContextCallback errcb;
	LdRowContext rc = {s, RelationGetRelationName(rinfo->ri_RelationDesc)};
	MemoryContext old;

	if (s->npending == 0)
		return;
	b.method = s->operation == CMD_UPDATE ? "PATCH" : "DELETE";
	b.header = s->operation == CMD_DELETE ? s->res->writes.delete_header : NULL;
	b.n = s->npending;
	b.paths = s->pending_path;
	b.bodies = s->pending_body;
	s->npending = 0;
	old = MemoryContextSwitchTo(s->batch_cxt);
	errcb.callback = ld_row_error_callback;
	errcb.arg = &rc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	send_rows(s, &b, first);
	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->batch_cxt);
	s->rows = rows;
}
