/*-------------------------------------------------------------------------
 *
 * xact.c
 *		  Write safety: the one place a write request passes before it is
 *		  sent, the settings that decide what happens there, and the
 *		  transaction callbacks of write_mode 'on_commit'.
 *
 * Every INSERT, UPDATE and DELETE call (row by row, batch, concurrent
 * window, direct modify) asks ld_write_divert() first.  Under
 * ldai_fdw.dry_run the call is shown as a NOTICE and not sent.  Under
 * write_mode 'on_commit' it is queued -- every check of the row has passed
 * by then -- and the queue is sent at XACT_EVENT_PRE_COMMIT: concurrently
 * (max_concurrency) within one statement's calls, statements one after the
 * other, never two calls for the same item at once.  A failure there fails
 * the COMMIT, so the local part of the transaction rolls back too, and the
 * error says which calls were sent, which failed and which were not sent.
 * ROLLBACK drops the queue; ROLLBACK TO SAVEPOINT drops what was queued
 * after the savepoint.  Like postgres_fdw, we refuse PREPARE TRANSACTION
 * when there is something to send.
 *
 * The queue lives in its own child of TopMemoryContext and is emptied at
 * the end of every transaction, committed or not.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timeout.h"

/* one queued call */
typedef struct LdQueued
{
	LdConn	   *conn;			/* the user mapping's client */
	int			max_concurrency;
	int			group;			/* the statement that queued it */
	int			level;			/* (sub)transaction nesting level */
	char	   *method;
	char	   *path;
	char	   *body;			/* NULL for none */
	char	   *header;			/* extra header, NULL for none */
	bool		conflict_ok;	/* ON CONFLICT DO NOTHING: a 409 skips it */
} LdQueued;

/* what happened to a queued call at COMMIT */
typedef enum LdCallState
{
	LDQ_UNSENT = 0,
	LDQ_IN_FLIGHT,
	LDQ_DONE,
	LDQ_FAILED
} LdCallState;

/* the sending of the queue at COMMIT */
typedef struct LdSend
{
	int			n;
	LdCallState *state;
	LdhTransfer **ts;
	LdResult   *res;
	int			failed;
} LdSend;

/* GUCs */
static bool ld_dry_run = false;
static char *ld_application_name = NULL;

static MemoryContext queue_cxt = NULL;
static LdQueued *queue = NULL;
static int	nqueued = 0;
static int	queue_size = 0;
static int	last_group = 0;
static int	conflict_group = 0;	/* the INSERT ... ON CONFLICT DO NOTHING */

/* at most this many calls of each kind are listed in a COMMIT's error */
#define LD_LIST_CALLS 10

/*
 * check_application_name
 *		GUC check hook: the name goes into the User-Agent header, so only
 *		printable ASCII (no line breaks that could add a header).
 */
static bool
check_application_name(char **newval, void **extra, GucSource source)
{
	const unsigned char *p;

	if (*newval == NULL)
		return true;
	for (p = (const unsigned char *) *newval; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
		{
			GUC_check_errdetail("Only printable ASCII characters are allowed.");
			return false;
		}
	if (strlen(*newval) > 200)
	{
		GUC_check_errdetail("It is longer than 200 characters.");
		return false;
	}
	return true;
}

/*
 * drop_queue
 *		Forget every queued call (end of transaction).
 */
static void
drop_queue(void)
{
	if (queue_cxt != NULL)
		MemoryContextReset(queue_cxt);
	queue = NULL;
	nqueued = queue_size = 0;
}

/*
 * call_text
 *		"METHOD path" of a queued call, for messages.
 */
static char *
call_text(const LdQueued *q)
{
	return psprintf("%s %s", q->method, q->path);
}

/*
 * failure_text
 *		A failed call's answer: its HTTP status and the API's code and
 *		message.
 */
static char *
failure_text(const LdResult *r)
{
	return psprintf("HTTP %ld (%s)", r->status, ld_api_error_text(r));
}

/*
 * list_calls
 *		Append the calls in state want to buf, one a line, at most
 *		LD_LIST_CALLS of them.
 */
static void
list_calls(StringInfo buf, const LdSend *st, LdCallState want, const char *label)
{
	int			shown = 0,
				total = 0,
				i;

	for (i = 0; i < st->n; i++)
	{
		if (st->state[i] != want)
			continue;
		total++;
		if (shown >= LD_LIST_CALLS)
			continue;
		shown++;
		appendStringInfo(buf, "\n%s: %s", label, call_text(&queue[i]));
		if (want == LDQ_FAILED)
			appendStringInfo(buf, ": %s", failure_text(&st->res[i]));
	}
	if (total > shown)
		appendStringInfo(buf, "\n... and %d more %s", total - shown, label);
}

/*
 * count_state
 *		How many calls are in a state.
 */
static int
count_state(const LdSend *st, LdCallState want)
{
	int			n = 0,
				i;

	for (i = 0; i < st->n; i++)
		n += (st->state[i] == want);
	return n;
}

/*
 * commit_error_context
 *		Error context of anything failing while the queue is sent (a
 *		cancel, a timeout, a transport error): what had gone out by then.
 */
static void
commit_error_context(void *arg)
{
	const LdSend *st = (const LdSend *) arg;

	errcontext("sending the %d LaunchDarkly calls queued by this transaction (write_mode 'on_commit'): "
			   "%d sent, %d in flight (may have been sent), %d not sent",
			   st->n, count_state(st, LDQ_DONE) + count_state(st, LDQ_FAILED),
			   count_state(st, LDQ_IN_FLIGHT), count_state(st, LDQ_UNSENT));
}

/*
 * may_start
 *		Whether queued call next may go out while calls first..next-1 are in
 *		flight: same statement and client, within max_concurrency, and not
 *		an item already being changed.
 */
static bool
may_start(int first, int next)
{
	const LdQueued *q = &queue[next];
	int			i;

	if (next == first)
		return true;
	if (next - first >= queue[first].max_concurrency ||
		q->group != queue[first].group || q->conn != queue[first].conn)
		return false;
	for (i = first; i < next; i++)
		if (strcmp(queue[i].method, q->method) != 0 ||
			(strcmp(q->method, "POST") != 0 && strcmp(queue[i].path, q->path) == 0))
			return false;
	return true;
}

/*
 * send_window
 *		Send the queue in order with a sliding window of calls in flight;
 *		after a failure no new call is started (those in flight finish).
 */
static void
send_window(LdSend *st)
{
	LdStats		stats = {0};
	int			first = 0,
				next = 0;

	while (first < st->n)
	{
		LdQueued   *q = &queue[first];
		LdhTransfer *t;

		while (st->failed == 0 && next < st->n && may_start(first, next))
		{
			LdQueued   *n = &queue[next];

			st->ts[next] = ld_async_start(n->conn, n->method, n->path, n->body, n->header);
			if (st->ts[next] == NULL)
				break;
			st->state[next++] = LDQ_IN_FLIGHT;
		}
		if (next == first && st->failed > 0)
			break;
		t = st->ts[first];
		st->ts[first] = NULL;	/* released by the wait if it fails */
		st->state[first] = LDQ_IN_FLIGHT;
		if (t != NULL)
			ld_async_finish(q->conn, t, q->method, q->path, q->body, q->header,
							&stats, &st->res[first]);
		else
			ld_request(q->conn, q->method, q->path, q->body, q->header,
					   &stats, &st->res[first]);
		if (next <= first)
			next = first + 1;
		if ((st->res[first].status >= 200 && st->res[first].status <= 299) ||
			(st->res[first].status == 409 && q->conflict_ok))
			st->state[first] = LDQ_DONE;
		else
		{
			st->state[first] = LDQ_FAILED;
			st->failed++;
		}
		first++;
	}
}

/*
 * report_failure
 *		The COMMIT's error after a call failed: which calls were sent,
 *		which failed, which were never sent.
 */
static void
report_failure(const LdSend *st)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%d sent, %d failed, %d not sent.",
					 count_state(st, LDQ_DONE), st->failed, count_state(st, LDQ_UNSENT));
	list_calls(&buf, st, LDQ_DONE, "sent");
	list_calls(&buf, st, LDQ_FAILED, "failed");
	list_calls(&buf, st, LDQ_UNSENT, "not sent");
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("could not send the LaunchDarkly calls queued by this transaction: %d of %d failed",
					st->failed, st->n),
			 errdetail("%s", buf.data),
			 errhint("The transaction was rolled back; the calls listed as sent were applied "
					 "by LaunchDarkly and cannot be taken back.")));
}

/*
 * send_queue
 *		At PRE_COMMIT: send every queued call, in order, under the error
 *		context above.  statement_timeout (already stopped for the COMMIT
 *		itself) applies to the sending.
 */
static void
send_queue(void)
{
	MemoryContext cxt = AllocSetContextCreate(queue_cxt, "ldai_fdw commit",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	LdSend		st = {nqueued};
	ErrorContextCallback errcb;
	bool		own_timeout = false;

	st.state = palloc0(sizeof(LdCallState) * st.n);
	st.ts = palloc0(sizeof(LdhTransfer *) * st.n);
	st.res = palloc0(sizeof(LdResult) * st.n);
	errcb.callback = commit_error_context;
	errcb.arg = &st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	if (StatementTimeout > 0 && !get_timeout_active(STATEMENT_TIMEOUT))
	{
		enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);
		own_timeout = true;
	}
	PG_TRY();
	{
		send_window(&st);
	}
	PG_CATCH();
	{
		int			i;

		for (i = 0; i < st.n; i++)
			if (st.ts[i] != NULL)
				ld_async_cancel(queue[i].conn, st.ts[i]);
		if (own_timeout)
			disable_timeout(STATEMENT_TIMEOUT, false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (own_timeout)
		disable_timeout(STATEMENT_TIMEOUT, false);
	error_context_stack = errcb.previous;
	if (st.failed > 0)
		report_failure(&st);
	MemoryContextSwitchTo(old);
	drop_queue();
}

/*
 * xact_callback
 *		Send the queue before the local commit; refuse PREPARE with calls
 *		queued; forget the queue when the transaction ends either way.
 */
static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (nqueued > 0)
				send_queue();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (nqueued > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has queued LaunchDarkly calls"),
						 errdetail("%d calls of foreign tables with write_mode 'on_commit' are waiting for COMMIT.",
								   nqueued)));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			drop_queue();
			break;
		default:
			break;
	}
}

/*
 * subxact_callback
 *		ROLLBACK TO SAVEPOINT (or an error caught in a subtransaction)
 *		drops the calls queued inside it; RELEASE hands them to the parent.
 */
static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	int			i;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		while (nqueued > 0 && queue[nqueued - 1].level >= level)
			nqueued--;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (i = 0; i < nqueued; i++)
			if (queue[i].level >= level)
				queue[i].level = level - 1;
	}
}

/*
 * ld_write_safety_init
 *		From _PG_init: the GUCs and the transaction callbacks.
 */
void
ld_write_safety_init(void)
{
	DefineCustomBoolVariable("ldai_fdw.dry_run",
							 "Show the LaunchDarkly calls writes would make instead of sending them.",
							 "Each would-be call is a NOTICE (method, path, JSON body); statements report "
							 "the rows they would change.",
							 &ld_dry_run, false, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("ldai_fdw.application_name",
							   "Name added to the User-Agent of LaunchDarkly requests.",
							   "The User-Agent becomes ldai_fdw/<version> (<name>), so the API's audit "
							   "log shows who called.",
							   &ld_application_name, "", PGC_USERSET, 0,
							   check_application_name, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("ldai_fdw");
#else
	EmitWarningsOnPlaceholders("ldai_fdw");
#endif
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}

/*
 * ld_user_agent
 *		The User-Agent of our requests (palloc'd).
 */
char *
ld_user_agent(void)
{
	if (ld_application_name == NULL || ld_application_name[0] == '\0')
		return pstrdup("ldai_fdw/" LDAI_FDW_VERSION);
	return psprintf("ldai_fdw/" LDAI_FDW_VERSION " (%s)", ld_application_name);
}

/*
 * ld_check_updatable
 *		At plan time: refuse a write to a table (or server) with option
 *		updatable 'false', before any request.
 */
void
ld_check_updatable(const LdOptions *opts, const char *relname, CmdType op)
{
	if (opts->updatable)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s foreign table \"%s\": it is not updatable",
					op == CMD_INSERT ? "insert into" : op == CMD_UPDATE ? "update" : "delete from",
					relname),
			 errdetail("The option \"updatable\" of the foreign table or its server is false.")));
}

/*
 * ld_write_begin
 *		When a write statement starts on a table: RETURNING cannot be
 *		answered under write_mode 'on_commit' (the API has not answered
 *		yet), so it fails now.  Returns the number that ties the
 *		statement's queued calls together.
 */
int
ld_write_begin(const LdOptions *opts, bool returning, const char *relname)
{
	if (opts->write_on_commit && returning && !ld_dry_run)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("RETURNING is not supported on foreign table \"%s\" with write_mode 'on_commit'",
						relname),
				 errdetail("Its calls are sent when the transaction commits; the API's answer is not known before."),
				 errhint("Leave out RETURNING, or set the table's write_mode to 'immediate' "
						 "to get the API's answer.")));
	return ++last_group;
}

/*
 * ld_write_skip_conflicts
 *		The statement of this group is an INSERT ... ON CONFLICT DO
 *		NOTHING: under on_commit, a 409 at COMMIT means the row exists
 *		and is skipped, as it is when sent at once.  One number is
 *		enough: only the running statement queues calls (two such
 *		INSERTs in one statement's CTEs: the last one begun skips).
 */
void
ld_write_skip_conflicts(int group)
{
	conflict_group = group;
}

/*
 * ld_write_dry_run
 *		Whether writes are only shown (ldai_fdw.dry_run).
 */
bool
ld_write_dry_run(void)
{
	return ld_dry_run;
}

/*
 * ld_write_diverted
 *		Whether a table's write calls are not sent by the statement itself.
 */
bool
ld_write_diverted(const LdOptions *opts)
{
	return ld_dry_run || opts->write_on_commit;
}

/*
 * queue_call
 *		Append a call to the transaction's queue (copies everything).
 */
static void
queue_call(LdConn *conn, const LdOptions *opts, int group, const char *method,
		   const char *path, const char *body, const char *header)
{
	LdQueued   *q;

	if (queue_cxt == NULL)
		queue_cxt = AllocSetContextCreate(TopMemoryContext, "ldai_fdw write queue",
										  ALLOCSET_DEFAULT_SIZES);
	if (nqueued == queue_size)
	{
		int			size = queue_size ? queue_size * 2 : 64;

		queue = queue ? repalloc(queue, sizeof(LdQueued) * size) :
			MemoryContextAlloc(queue_cxt, sizeof(LdQueued) * size);
		queue_size = size;
	}
	q = &queue[nqueued];
	q->conn = conn;
	ld_connection_hold(conn, queue_cxt);	/* not closed before COMMIT */
	q->max_concurrency = opts->max_concurrency;
	q->group = group;
	q->conflict_ok = (group == conflict_group);
	q->level = GetCurrentTransactionNestLevel();
	q->method = MemoryContextStrdup(queue_cxt, method);
	q->path = MemoryContextStrdup(queue_cxt, path);
	q->body = body ? MemoryContextStrdup(queue_cxt, body) : NULL;
	q->header = header ? MemoryContextStrdup(queue_cxt, header) : NULL;
	nqueued++;
}

/*
 * ld_write_divert
 *		The choke point before a write call is sent.  Under dry run, show
 *		it (never the key: it is not part of a call's text) and report it
 *		done; under write_mode 'on_commit', queue it.  Returns false when
 *		the caller must send it now.
 */
bool
ld_write_divert(LdConn *conn, const LdOptions *opts, int group, const char *method,
				const char *path, const char *body, const char *header)
{
	if (ld_dry_run)
	{
		ereport(NOTICE,
				(errmsg("ldai_fdw dry run: %s %s%s%s", method, path,
						body ? " " : "", body ? body : "")));
		return true;
	}
	if (!opts->write_on_commit)
		return false;
	queue_call(conn, opts, group, method, path, body, header);
	return true;
}
