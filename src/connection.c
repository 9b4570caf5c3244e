/*-------------------------------------------------------------------------
 *
 * connection.c
 *		  Per-user-mapping HTTP clients, interruptible waits, retries, and
 *		  HTTP outcomes turned into PostgreSQL errors.
 *
 * Like postgres_fdw's connection cache, one client per user mapping lives
 * for the whole backend, so keep-alive connections are reused across pages
 * and queries.  Each query holds the client it uses until its memory goes
 * (a use count released by a memory context callback, so also after an
 * ERROR).  ALTER SERVER or ALTER/DROP USER MAPPING only marks a client:
 * its holders go on with it, new queries get a new one, and a marked
 * client is closed once unused (at the latest at transaction end).
 *
 * Every wait goes through WaitEventSetWait on curl's sockets plus our
 * latch, followed by CHECK_FOR_INTERRUPTS(), so a cancel, statement_timeout
 * or pg_terminate_backend ends a request at once.  An ERROR thrown while a
 * transfer is in flight releases it (PG_CATCH), which closes its connection.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include <time.h>
#include <sys/time.h>

#include "commands/defrem.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "access/xact.h"
#include "catalog/pg_user_mapping.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "nodes/execnodes.h"
#include "executor/executor.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 170000
#include "utils/wait_event.h"
#endif

struct LdConn
{
	LdConn	   *next;			/* list of every live client */
	Oid			umid;			/* the user mapping it was made for */
	Oid			serverid;		/* its server (statistics, budget) */
	int			max_rps;		/* the server's max_requests_per_second */
	LdhClient  *client;
	char	   *api_key;		/* in TopMemoryContext; never printed */
	char	   *base_url;
	int			max_retries;
	size_t		max_body;		/* max_response_bytes */
	int			uses;			/* executor nodes (and plans) holding it */
	bool		invalidated;	/* options changed: no new user, close when unused */
	uint32		server_hash;
	uint32		mapping_hash;
	WaitEventSet *wes;			/* kept while curl's socket set stays the same */
	unsigned long wes_version;
	int			wes_nsocks;
};

/* a holder's reference, released when the holder's memory goes */
typedef struct LdConnUse
{
	MemoryContextCallback cb;
	LdConn	   *conn;
} LdConnUse;

static LdConn *conn_list = NULL;
static bool conn_initialized = false;

/*
 * ld_wait_event
 *		The wait event pg_stat_activity shows while we wait on LaunchDarkly.
 */
static uint32
ld_wait_event(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 event = 0;

	if (event == 0)
		event = WaitEventExtensionNew("LaunchDarklyRequest");
	return event;
#else
	return PG_WAIT_EXTENSION;
#endif
}

/*
 * inval_callback
 *		A server or user mapping changed: mark the clients that used it.
 *		Nothing is freed here -- a cursor may still have requests in flight
 *		on such a client; it keeps it until it ends, while new queries get a
 *		new client with the new settings.
 */
static void
inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	LdConn	   *c;

	for (c = conn_list; c != NULL; c = c->next)
	{
		if (hashvalue == 0 ||
			(cacheid == FOREIGNSERVEROID && c->server_hash == hashvalue) ||
			(cacheid == USERMAPPINGOID && c->mapping_hash == hashvalue))
			c->invalidated = true;
	}
}

/*
 * free_conn
 *		Close a client (its transfers and connections) and wipe its key.
 *		Only for a client nobody uses.
 */
static void
free_conn(LdConn *c)
{
	if (c->wes)
		FreeWaitEventSet(c->wes);
	ldh_client_free(c->client);
	if (c->api_key)
	{
		memset(c->api_key, 0, strlen(c->api_key));
		pfree(c->api_key);
	}
	if (c->base_url)
		pfree(c->base_url);
	pfree(c);
}

/*
 * sweep_conns
 *		Free the invalidated clients that nobody uses any more.
 */
static void
sweep_conns(void)
{
	LdConn	  **link = &conn_list;

	while (*link != NULL)
	{
		LdConn	   *c = *link;

		if (c->invalidated && c->uses == 0)
		{
			*link = c->next;
			free_conn(c);
		}
		else
			link = &c->next;
	}
}

/*
 * xact_callback
 *		At the end of a transaction, close the clients of servers and user
 *		mappings that changed or went (their holders ended with their
 *		queries; a WITH HOLD cursor is materialized before this).
 */
static void
xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		sweep_conns();
}

/*
 * release_use
 *		Memory context callback: a holder of a client is gone (its query
 *		ended, normally or by an ERROR).  The last holder of an invalidated
 *		client closes it.
 */
static void
release_use(void *arg)
{
	LdConn	   *c = ((LdConnUse *) arg)->conn;

	Assert(c->uses > 0);
	c->uses--;
	if (c->uses == 0 && c->invalidated)
		sweep_conns();
}

/*
 * init_conns
 *		Register the invalidation and transaction callbacks, once.
 */
static void
init_conns(void)
{
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, inval_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, inval_callback, (Datum) 0);
	RegisterXactCallback(xact_callback, NULL);
	conn_initialized = true;
}

/*
 * mapping_api_key
 *		The api_key of a user mapping, or an error saying how to set it.
 */
static char *
mapping_api_key(UserMapping *user)
{
	ListCell   *lc;

	foreach(lc, user->options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);

		if (strcmp(d->defname, "api_key") == 0)
		{
			/* a value stored before the validator refused control chars */
			ld_check_option_chars("api_key", defGetString(d), true);
			return defGetString(d);
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("user mapping for server \"%s\" has no \"api_key\" option",
					GetForeignServer(user->serverid)->servername),
			 errhint("Use CREATE USER MAPPING FOR CURRENT_USER SERVER ... OPTIONS (api_key '...').")));
	return NULL;				/* keep compiler quiet */
}

/*
 * new_conn
 *		A new client for a user mapping, first in the list.
 */
static LdConn *
new_conn(UserMapping *user, const LdOptions *opts, const LdhConfig *config)
{
	char	   *key = mapping_api_key(user);
	LdConn	   *c = MemoryContextAllocZero(TopMemoryContext, sizeof(LdConn));

	c->client = ldh_client_new(config);
	if (c->client == NULL)
	{
		pfree(c);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory creating an HTTP client")));
	}
	c->umid = user->umid;
	c->serverid = user->serverid;
	c->api_key = MemoryContextStrdup(TopMemoryContext, key);
	c->base_url = MemoryContextStrdup(TopMemoryContext, opts->base_url);
	c->server_hash = GetSysCacheHashValue1(FOREIGNSERVEROID,
										   ObjectIdGetDatum(user->serverid));
	c->mapping_hash = GetSysCacheHashValue1(USERMAPPINGOID,
											ObjectIdGetDatum(user->umid));
	c->next = conn_list;
	conn_list = c;
	return c;
}

/*
 * ld_get_connection
 *		The client of a user mapping, created (or re-created after an
 *		invalidation) as needed, configured with the current options.  The
 *		caller holds it until CurrentMemoryContext goes (for an executor
 *		node, its query): an invalidation meanwhile does not close it.
 */
LdConn *
ld_get_connection(UserMapping *user, const LdOptions *opts)
{
	LdConn	   *c;
	LdhConfig	config;

	ld_require_utf8();			/* a server restored into a non-UTF8 database */
	if (!conn_initialized)
		init_conns();
	sweep_conns();
	memset(&config, 0, sizeof(config));
	config.user_agent = ld_user_agent();	/* with ldai_fdw.application_name */
	config.connect_timeout_ms = opts->connect_timeout_ms;
	config.timeout_ms = opts->timeout_ms;
	config.max_body_bytes = (size_t) opts->max_response_bytes;
	config.ca_file = opts->ca_file;

	for (c = conn_list; c != NULL; c = c->next)
		if (c->umid == user->umid && !c->invalidated)
			break;
	if (c == NULL)
		c = new_conn(user, opts, &config);
	else
		ldh_client_configure(c->client, &config);
	c->max_retries = opts->max_retries;
	c->max_rps = opts->max_requests_per_second;
	c->max_body = config.max_body_bytes;
	ld_connection_hold(c, CurrentMemoryContext);
	return c;
}

/*
 * ld_connection_hold
 *		Take a use of a client until a memory context goes: for the query
 *		that asked for it, and for calls queued until COMMIT (xact.c), so
 *		that an invalidation meanwhile never closes it under them.
 */
void
ld_connection_hold(LdConn *c, MemoryContext cxt)
{
	LdConnUse  *use = MemoryContextAllocZero(cxt, sizeof(LdConnUse));

	use->conn = c;
	use->cb.func = release_use;
	use->cb.arg = use;
	MemoryContextRegisterResetCallback(cxt, &use->cb);
	c->uses++;
}

/*
 * ld_connection_for
 *		The client for a foreign table as a user sees it: that user's (or,
 *		for InvalidOid, the current user's) mapping for the table's server.
 *		The one place where scans, modifications and the planner find it.
 */
LdConn *
ld_connection_for(Oid relid, Oid userid, const LdOptions *opts)
{
	ForeignTable *table = GetForeignTable(relid);

	if (!OidIsValid(userid))
		userid = GetUserId();
	return ld_get_connection(GetUserMapping(userid, table->serverid), opts);
}

/*
 * ld_scan_user
 *		The user whose mapping a foreign scan uses (the view owner for a
 *		view, as the executor checks permissions), InvalidOid for the
 *		current user.
 */
Oid
ld_scan_user(ForeignScanState *node)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
#if PG_VERSION_NUM >= 160000
	return fsplan->checkAsUser;
#else
	RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, node->ss.ps.state);

	return rte->checkAsUser;
#endif
}

/*
 * conn_wait_set
 *		The WaitEventSet for curl's current sockets plus our latch.  It is
 *		kept with the client and rebuilt only when curl's socket set
 *		changes, so a long download does not build one per wake-up; it is
 *		freed with the client, and a half-built one on an ERROR.
 */
static WaitEventSet *
conn_wait_set(LdConn *conn)
{
	const LdhSocket *socks;
	long		timeout;
	unsigned long version;
	int			nsocks = ldh_wait_set(conn->client, &socks, &timeout, &version);
	WaitEventSet *volatile set;
	int			i;

	if (conn->wes != NULL && conn->wes_version == version)
		return conn->wes;
	if (conn->wes != NULL)
		FreeWaitEventSet(conn->wes);
	conn->wes = NULL;
#if PG_VERSION_NUM >= 170000
	set = CreateWaitEventSet(NULL, nsocks + 2);
#else
	set = CreateWaitEventSet(TopMemoryContext, nsocks + 2);
#endif
	PG_TRY();
	{
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (i = 0; i < nsocks; i++)
			if (socks[i].events != 0)
				AddWaitEventToSet(set,
								  ((socks[i].events & LDH_EV_IN) ? WL_SOCKET_READABLE : 0) |
								  ((socks[i].events & LDH_EV_OUT) ? WL_SOCKET_WRITEABLE : 0),
								  socks[i].fd, NULL, NULL);
	}
	PG_CATCH();
	{
		FreeWaitEventSet(set);
		PG_RE_THROW();
	}
	PG_END_TRY();
	conn->wes = set;
	conn->wes_version = version;
	return set;
}

/* how many ready events one wake-up handles (the rest wait for the next) */
#define LD_MAX_EVENTS 64

/*
 * wait_once
 *		Wait for curl's sockets, its timer or our latch (at most 1 s), then
 *		let curl act on what happened.  Interrupts are serviced here.
 */
static void
wait_once(LdConn *conn)
{
	LdhClient  *client = conn->client;
	const LdhSocket *socks;
	WaitEvent	events[LD_MAX_EVENTS];
	long		timeout;
	unsigned long version;
	int			nev,
				i;

	(void) ldh_wait_set(client, &socks, &timeout, &version);
	if (timeout == 0)
	{
		ldh_on_event(client, LDH_SOCKET_TIMEOUT, 0);
		return;
	}
	if (timeout < 0 || timeout > 1000)
		timeout = 1000;

	nev = WaitEventSetWait(conn_wait_set(conn), timeout, events, lengthof(events),
						   ld_wait_event());
	if (nev == 0)
		ldh_on_event(client, LDH_SOCKET_TIMEOUT, 0);
	for (i = 0; i < nev; i++)
	{
		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		else if (events[i].events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			ldh_on_event(client, events[i].fd,
						 ((events[i].events & WL_SOCKET_READABLE) ? LDH_EV_IN : 0) |
						 ((events[i].events & WL_SOCKET_WRITEABLE) ? LDH_EV_OUT : 0));
	}
}

/*
 * ld_async_wait
 *		Wait once for any request of the connection to progress (a socket,
 *		curl's timer, at most 1 s), interruptibly, so that a caller waiting
 *		for one transfer can react to the others as they finish.
 */
void
ld_async_wait(LdConn *conn)
{
	wait_once(conn);
}

/*
 * ld_sleep_ms
 *		Sleep interruptibly (backoff between retries).
 */
static void
ld_sleep_ms(long ms)
{
	TimestampTz end = GetCurrentTimestamp() + ms * 1000;

	for (;;)
	{
		long		left = (end - GetCurrentTimestamp()) / 1000;

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, ld_wait_event());
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* the longest wait between retries we accept from a server */
#define LD_MAX_RETRY_WAIT_MS 60000

/*
 * check_wait_fits
 *		Before sleeping for a retry: if the wait the server asks for does
 *		not fit in what is left of statement_timeout (or is absurdly long),
 *		fail at once and say how long to wait, rather than sleep in vain.
 */
static void
check_wait_fits(const char *method, const char *path, long delay, long status)
{
	long		left = LD_MAX_RETRY_WAIT_MS;
	bool		timeout = false;

	if (get_timeout_active(STATEMENT_TIMEOUT))
	{
		long		stmt_left = (long) ((get_timeout_finish_time(STATEMENT_TIMEOUT) -
										 GetCurrentTimestamp()) / 1000);

		if (stmt_left < left)
		{
			left = stmt_left;
			timeout = true;
		}
	}
	if (delay < left)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("LaunchDarkly asked to wait %ld ms before a retry (HTTP %ld)", delay, status),
			 timeout ? errdetail("That is more than what is left of statement_timeout.") :
			 errdetail("Waits longer than %d ms are not made.", LD_MAX_RETRY_WAIT_MS),
			 errhint("Try again in %ld seconds.", (delay + 999) / 1000),
			 errcontext("LaunchDarkly request: %s %s", method, path)));
}

/*
 * retry_delay
 *		The retry policy, the only one: whether attempt number attempt
 *		(0 = the first) of a request may be repeated, and if so how long to
 *		wait first (*delay_ms).
 *
 *		At most max_retries repeats.  A GET is safe to repeat after a
 *		transport failure, a 429 or a 502/503/504; a write only when the
 *		server surely did not act on it (a 429, or a connect failure before
 *		anything was sent), so that nothing is created twice.  Other 4xx and
 *		5xx answers and an oversized body are final.  The wait is what the
 *		server asked for (Retry-After, X-Ratelimit-Reset) if anything, else
 *		exponential backoff from 250 ms with +-25% jitter.
 */
static bool
retry_delay(const LdConn *conn, const char *method, const LdhResponse *r,
			int attempt, long *delay_ms)
{
	bool		idempotent = strcmp(method, "GET") == 0;
	bool		retry;
	long		base = 250L << (attempt < 8 ? attempt : 8);
	struct timeval tv;
	long		asked;

	if (attempt >= conn->max_retries)
		return false;
	if (r->outcome == LDH_CONNECT_FAILED && !r->request_sent)
		retry = true;
	else if (r->outcome == LDH_DONE)
		retry = r->status == 429 ||
			(idempotent && (r->status == 502 || r->status == 503 || r->status == 504));
	else
		retry = idempotent && (r->outcome == LDH_TIMED_OUT || r->outcome == LDH_FAILED ||
							   r->outcome == LDH_CONNECT_FAILED);
	if (!retry)
		return false;
	gettimeofday(&tv, NULL);
	asked = ldh_retry_after_ms(r, (long long) tv.tv_sec * 1000 + tv.tv_usec / 1000);
	*delay_ms = asked >= 0 ? asked : base - base / 4 + (long) (random() % (base / 2 + 1));
	return true;
}

/*
 * report_transport_error
 *		ERROR for a request that got no complete HTTP response.
 */
static void
report_transport_error(const char *method, const char *path,
					   const LdhResponse *r, const LdConn *conn)
{
	int			code = ERRCODE_CONNECTION_FAILURE;
	const char *what = "request to LaunchDarkly failed";

	switch (r->outcome)
	{
		case LDH_CONNECT_FAILED:
			code = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			what = "could not connect to LaunchDarkly";
			break;
		case LDH_TIMED_OUT:
			what = "request to LaunchDarkly timed out";
			break;
		case LDH_TOO_LARGE:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			what = "response from LaunchDarkly is too large";
			break;
		case LDH_TLS_FAILED:
			code = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			what = "could not establish a verified TLS connection to LaunchDarkly";
			break;
		default:
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", what),
			 r->outcome == LDH_TOO_LARGE ?
			 errdetail("The body is larger than max_response_bytes (%zu bytes).",
					   conn->max_body) :
			 errdetail("%s.", r->error),
			 r->outcome == LDH_TOO_LARGE ?
			 errhint("Raise the server option max_response_bytes, or lower page_size.") :
			 r->outcome == LDH_TLS_FAILED ?
			 errhint("For a private CA, set the server option ca_file.") :
			 r->outcome == LDH_TIMED_OUT ?
			 errhint("The server options timeout_ms and connect_timeout_ms set the limits.") : 0,
			 errcontext("LaunchDarkly request: %s %s", method, path)));
}

/*
 * free_body
 *		Memory context reset callback: free a response body taken over
 *		from a transfer.
 */
static void
free_body(void *arg)
{
	ldh_free(arg);
}

/*
 * take_result
 *		A complete response as an LdResult.  The body is taken over from
 *		the transfer, not copied, and freed with the current memory context
 *		by cb, which the caller allocated there before the request (so that
 *		nothing here can fail).
 */
static void
take_result(LdhTransfer *t, const LdhResponse *r, LdResult *result,
			MemoryContextCallback *cb)
{
	result->status = r->status;
	strlcpy(result->content_type, r->content_type, sizeof(result->content_type));
	result->body_len = r->body_len;
	result->body = ldh_take_body(t);
	if (result->body == NULL)
	{
		/* no body (a failed allocation in the HTTP layer): an empty one */
		result->body = (char *) cb;
		result->body[0] = '\0';
		result->body_len = 0;
		return;
	}
	cb->func = free_body;
	cb->arg = result->body;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
}

/*
 * fill_request
 *		The parts of a request to base_url + path.  A write empties the
 *		query's response cache: what it read before may be stale now.
 */
static void
fill_request(LdhRequest *req, LdConn *conn, const char *method, const char *path,
			 const char *body, const char *extra_header)
{
	if (strcmp(method, "GET") != 0)
		ld_cache_reset();
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->url = psprintf("%s%s", conn->base_url, path);
	req->api_key = conn->api_key;
	/* a resource whose every request needs a header (catalog.c) */
	req->extra_header = extra_header ? extra_header : ld_path_header(path);
	req->body = body;
	req->body_len = body ? strlen(body) : 0;
}

/*
 * start_transfer
 *		Start one attempt of a request (it runs while we wait for others).
 */
static LdhTransfer *
start_transfer(LdConn *conn, const LdhRequest *req)
{
	LdhTransfer *t = ldh_start(conn->client, req);

	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not start an HTTP request"),
				 errdetail("Too many requests in flight.")));
	return t;
}

/*
 * wait_transfer
 *		Wait until a transfer has finished; others in flight progress
 *		meanwhile.  On an ERROR (cancel, timeout, terminate) this transfer
 *		is released before re-throwing; transfers owned by a scan are
 *		released by that scan's cleanup.
 */
static void
wait_transfer(LdConn *conn, LdhTransfer *t)
{
	PG_TRY();
	{
		while (!ldh_finished(t))
			wait_once(conn);
	}
	PG_CATCH();
	{
		ldh_release(conn->client, t);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * request_key
 *		The budget and statistics key of a request (its endpoint template
 *		palloc'd in the current memory context).
 */
static void
request_key(LdBudgetKey *k, LdConn *conn, const char *method, const char *path)
{
	ld_budget_key(k, conn->serverid, conn->max_rps, conn->base_url, conn->api_key,
				  ld_endpoint_template(method, path));
}

/*
 * count_sent
 *		Statistics: an attempt went out (a retry when retry).
 */
static void
count_sent(const LdBudgetKey *k, bool retry)
{
	LdCounters	d;

	memset(&d, 0, sizeof(d));
	d.requests = 1;
	d.retries = retry ? 1 : 0;
	ld_stats_add(k->serverid, k->endpoint, &d);
}

/*
 * count_done
 *		Statistics: an attempt's outcome, and the time spent waiting for
 *		it.
 */
static void
count_done(const LdBudgetKey *k, const LdhResponse *r, double network_ms)
{
	LdCounters	d;

	memset(&d, 0, sizeof(d));
	if (r->outcome != LDH_DONE)
		d.transport_errors = 1;
	else if (r->status == 429)
		d.status_429 = 1;
	else if (r->status >= 200 && r->status <= 299)
		d.status_2xx = 1;
	else if (r->status >= 400 && r->status <= 499)
		d.status_4xx = 1;
	else if (r->status >= 500 && r->status <= 599)
		d.status_5xx = 1;
	else
		d.status_other = 1;
	d.bytes_received = (int64) r->bytes_received;
	d.network_ms = network_ms;
	ld_stats_add(k->serverid, k->endpoint, &d);
}

/*
 * complete_request
 *		Finish a request whose first attempt t is under way (NULL: not
 *		started yet), repeating it as retry_delay() allows, and return its
 *		HTTP status and body (living as long as the current memory
 *		context).  Transport failures are reported here; HTTP error
 *		statuses are the caller's.  Returns true if the server rate-limited
 *		it.  Every path -- plain requests, prefetched pages, concurrent
 *		writes -- ends here, so they share one retry policy.
 */
static bool
complete_request(LdConn *conn, LdhTransfer *t, const LdhRequest *req,
				 const char *path, LdStats *stats, LdResult *result)
{
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));
	bool		limited = false;
	int			attempt;
	LdBudgetKey key;

	request_key(&key, conn, req->method, path);
	for (attempt = 0;; attempt++)
	{
		LdhResponse r;
		long		delay;
		bool		retry;
		TimestampTz waited;

		if (t == NULL)
		{
			/* wait for budget (ours, and what LaunchDarkly said remains) */
			(void) ld_budget_acquire(&key, true);
			t = start_transfer(conn, req);
			count_sent(&key, attempt > 0);
		}
		waited = GetCurrentTimestamp();
		wait_transfer(conn, t);
		r = *ldh_response(t);
		count_done(&key, &r, (GetCurrentTimestamp() - waited) / 1000.0);
		stats->requests++;
		stats->bytes += r.bytes_received;
		if (r.outcome == LDH_DONE && r.status == 429)
			limited = true;
		retry = retry_delay(conn, req->method, &r, attempt, &delay);
		ld_budget_observe(&key, &r);
		if (retry)
		{
			ldh_release(conn->client, t);
			t = NULL;
			check_wait_fits(req->method, path, delay, r.status);
			elog(DEBUG1, "ldai_fdw: retrying %s %s in %ld ms (attempt %d)",
				 req->method, path, delay, attempt + 1);
			stats->retries++;
			ld_sleep_ms(delay);
			continue;
		}
		if (r.outcome != LDH_DONE)
		{
			ldh_release(conn->client, t);
			report_transport_error(req->method, path, &r, conn);
		}
		take_result(t, &r, result, cb);
		ldh_release(conn->client, t);
		return limited;
	}
}

/* how long starting a request may drive it (and the others) on its way */
#define LD_START_BUDGET_MS 5

/*
 * ld_async_start
 *		Start a request without waiting for it (prefetch, concurrent
 *		writes); NULL if no transfer slot is free, or if the budget
 *		(budget.c) has no room for it now (the caller then sends it later
 *		with ld_request, which waits for room).  The caller owns the
 *		transfer.  The request goes out at once, as far as it can without
 *		waiting, not only at the next wait.
 */
LdhTransfer *
ld_async_start(LdConn *conn, const char *method, const char *path, const char *body,
			   const char *extra_header)
{
	LdhRequest	req;
	LdhTransfer *t;
	LdBudgetKey key;

	/* no budget now: the caller sends it later, through ld_request */
	request_key(&key, conn, method, path);
	if (!ld_budget_acquire(&key, false))
		return NULL;
	fill_request(&req, conn, method, path, body, extra_header);
	t = ldh_start(conn->client, &req);	/* NULL: no slot free */
	pfree((char *) req.url);
	if (t != NULL)
	{
		count_sent(&key, false);
		ldh_progress(conn->client, LD_START_BUDGET_MS);
	}
	return t;
}

/*
 * ld_async_finish
 *		Finish a request started with ld_async_start, with the retries and
 *		error reports of ld_request (the same policy: the started transfer
 *		is the first attempt).  Returns true if the server rate-limited it,
 *		so the caller can slow down.
 */
bool
ld_async_finish(LdConn *conn, LdhTransfer *t, const char *method, const char *path,
				const char *body, const char *extra_header, LdStats *stats,
				LdResult *result)
{
	LdhRequest	req;
	bool		limited;

	fill_request(&req, conn, method, path, body, extra_header);
	limited = complete_request(conn, t, &req, path, stats, result);
	pfree((char *) req.url);
	return limited;
}

/*
 * ld_async_cancel
 *		Drop a request started with ld_async_start that is no longer
 *		wanted (a prefetched page after an early stop, an error).
 */
void
ld_async_cancel(LdConn *conn, LdhTransfer *t)
{
	ldh_release(conn->client, t);
}

/*
 * ld_request
 *		Send one request (retrying what may be retried) and return its HTTP
 *		status and body, which lives as long as the current memory context.
 *		Transport failures are reported here; HTTP error statuses are the
 *		caller's.
 */
void
ld_request(LdConn *conn, const char *method, const char *path,
		   const char *body, const char *extra_header,
		   LdStats *stats, LdResult *result)
{
	LdhRequest	req;

	fill_request(&req, conn, method, path, body, extra_header);
	(void) complete_request(conn, NULL, &req, path, stats, result);
	pfree((char *) req.url);
}

/*
 * status_errcode
 *		The SQLSTATE for an HTTP error status.
 */
static int
status_errcode(long status)
{
	switch (status)
	{
		case 400:
		case 422:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case 401:
			return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		case 403:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case 404:
			return ERRCODE_FDW_TABLE_NOT_FOUND;
		case 409:
			return ERRCODE_UNIQUE_VIOLATION;
		case 429:
			return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
		default:
			return ERRCODE_FDW_ERROR;
	}
}

/*
 * ld_api_error_text
 *		"code: ..., message: ..." from an error answer's JSON body, for
 *		messages; a text that is not valid UTF-8 is not passed on.
 */
char *
ld_api_error_text(const LdResult *result)
{
	cJSON	   *err = cJSON_ParseWithLength(result->body ? result->body : "",
											result->body_len);
	const char *code = NULL;
	const char *message = NULL;
	char	   *detail;

	if (cJSON_IsObject(err))
	{
		code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "code"));
		message = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "message"));
	}
	detail = psprintf("code: %s, message: %s", code ? code : "(none)",
					  message ? message : "(none)");
	if (!pg_verify_mbstr(PG_UTF8, detail, strlen(detail), true))
		detail = pstrdup("code and message are not valid UTF-8");
	cJSON_Delete(err);
	return detail;
}

/*
 * ld_report_http_error
 *		ERROR for a non-2xx answer: status, the API's code and message, and
 *		the request (method and path; never the key).
 */
void
ld_report_http_error(const char *method, const char *path,
					 const LdResult *result)
{
	char	   *detail = ld_api_error_text(result);

	ereport(ERROR,
			(errcode(status_errcode(result->status)),
			 errmsg("LaunchDarkly API returned HTTP %ld for %s %s",
					result->status, method, path),
			 errdetail("%s", detail),
			 (result->status == 401 || result->status == 403) ?
			 errhint("Check the api_key option of your user mapping for this server.") :
			 result->status == 429 ?
			 errhint("LaunchDarkly is rate limiting; retry later, or raise max_retries.") : 0,
			 errcontext("LaunchDarkly request: %s %s", method, path)));
}

/*
 * check_body_text
 *		ERROR unless a JSON body is valid UTF-8 with no \u0000 escape.
 *		cJSON passes invalid bytes through into strings and cuts a string
 *		at an escaped NUL; text values may hold neither.  (cJSON itself
 *		refuses lone surrogate escapes: malformed JSON.)
 */
static void
check_body_text(const char *method, const char *path, const LdResult *result)
{
	const char *p = result->body;
	const char *end = result->body + result->body_len;

	if (!pg_verify_mbstr(PG_UTF8, result->body, (int) result->body_len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("invalid response from LaunchDarkly: the body is not valid UTF-8"),
				 errdetail("HTTP %ld, %zu bytes.", result->status, result->body_len),
				 errcontext("LaunchDarkly request: %s %s", method, path)));
	/* backslashes occur only in strings, each escaping the next character */
	while (p < end && (p = memchr(p, '\\', end - p)) != NULL)
	{
		if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
					 errmsg("invalid response from LaunchDarkly: a JSON string contains \\u0000"),
					 errdetail("PostgreSQL text cannot hold the NUL character."),
					 errcontext("LaunchDarkly request: %s %s", method, path)));
		p += 2;
	}
}

/*
 * ld_check_json
 *		ERROR unless a successful answer with a body says it is JSON (an
 *		HTML error page from a proxy must not be read as data) and is text
 *		PostgreSQL can hold.
 */
void
ld_check_json(const char *method, const char *path, const LdResult *result)
{
	const char *ct = result->content_type;

	if (result->body_len == 0)
		return;
	if (pg_strncasecmp(ct, "application/json", 16) == 0 ||
		(strstr(ct, "+json") != NULL && strncmp(ct, "application/", 12) == 0))
	{
		check_body_text(method, path, result);
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("invalid response from LaunchDarkly: Content-Type \"%s\" is not JSON",
					ct[0] ? ct : "(none)"),
			 errdetail("HTTP %ld, %zu bytes.", result->status, result->body_len),
			 errcontext("LaunchDarkly request: %s %s", method, path)));
}

/*
 * ld_request_cached
 *		A GET that may reuse this query's earlier answer to the same
 *		request (nested loops asking for the same key again).
 */
void
ld_request_cached(LdConn *conn, EState *estate, const char *path, LdStats *stats,
				  LdResult *result)
{
	if (ld_cache_get(estate, conn->umid, path, result))
	{
		stats->cache_hits++;
		return;
	}
	ld_request(conn, "GET", path, NULL, NULL, stats, result);
	if ((result->status >= 200 && result->status <= 299) || result->status == 404)
		ld_cache_put(estate, conn->umid, path, result);
}

/*
 * ld_http_errcode
 *		The SQLSTATE for an HTTP status that an answer reports inside its
 *		body (the per-key errors of a member-list UPDATE, member.c).
 */
int
ld_http_errcode(long status)
{
	return status_errcode(status);
}

/* ----------------------------------------------------------------
 * SQL functions: ldai_fdw_get_connections, ldai_fdw_disconnect(_all),
 * with the shapes of postgres_fdw's functions of the same names
 * ----------------------------------------------------------------
 */
PG_FUNCTION_INFO_V1(ldai_fdw_get_connections);
PG_FUNCTION_INFO_V1(ldai_fdw_disconnect);
PG_FUNCTION_INFO_V1(ldai_fdw_disconnect_all);

/*
 * mapping_user_name
 *		The user a user mapping is for ("public" for PUBLIC), or NULL when
 *		the mapping is gone.
 */
static char *
mapping_user_name(Oid umid)
{
	HeapTuple	tup = SearchSysCache1(USERMAPPINGOID, ObjectIdGetDatum(umid));
	Oid			userid;
	char	   *name;

	if (!HeapTupleIsValid(tup))
		return NULL;
	userid = ((Form_pg_user_mapping) GETSTRUCT(tup))->umuser;
	ReleaseSysCache(tup);
	if (!OidIsValid(userid))
		return pstrdup("public");
	name = GetUserNameFromId(userid, true);
	return name;
}

/*
 * ldai_fdw_get_connections
 *		This session's clients: server name, user name (NULL when the
 *		server or mapping is gone) and whether it is still valid (false:
 *		its server or mapping changed; it closes once unused, at the
 *		latest at the end of the transaction).
 */
Datum
ldai_fdw_get_connections(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LdConn	   *c;

	InitMaterializedSRF(fcinfo, 0);
	for (c = conn_list; c != NULL; c = c->next)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		ForeignServer *server = GetForeignServerExtended(c->serverid, FSV_MISSING_OK);
		char	   *user = mapping_user_name(c->umid);

		if (server != NULL)
			values[0] = CStringGetTextDatum(server->servername);
		else
			nulls[0] = true;
		if (user != NULL)
			values[1] = CStringGetTextDatum(user);
		else
			nulls[1] = true;
		values[2] = BoolGetDatum(!c->invalidated);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * disconnect_server
 *		Close this session's unused clients of a server (all servers for
 *		InvalidOid).  A client in use (an open cursor, a query running) is
 *		not closed, with a WARNING, as postgres_fdw does.  Returns whether
 *		any was closed.
 */
static bool
disconnect_server(Oid serverid)
{
	LdConn	  **link = &conn_list;
	bool		closed = false;

	while (*link != NULL)
	{
		LdConn	   *c = *link;

		if (OidIsValid(serverid) && c->serverid != serverid)
		{
			link = &c->next;
			continue;
		}
		if (c->uses > 0)
		{
			ForeignServer *server = GetForeignServerExtended(c->serverid, FSV_MISSING_OK);

			ereport(WARNING,
					(errmsg("cannot close connection for server \"%s\" because it is still in use",
							server ? server->servername : "(dropped)")));
			link = &c->next;
			continue;
		}
		*link = c->next;
		free_conn(c);
		closed = true;
	}
	return closed;
}

/*
 * ldai_fdw_disconnect
 *		Close this session's clients of the named server; true if one was
 *		closed.
 */
Datum
ldai_fdw_disconnect(PG_FUNCTION_ARGS)
{
	ForeignServer *server = GetForeignServerByName(text_to_cstring(PG_GETARG_TEXT_PP(0)),
												   false);

	PG_RETURN_BOOL(disconnect_server(server->serverid));
}

/*
 * ldai_fdw_disconnect_all
 *		Close all of this session's clients; true if one was closed.
 */
Datum
ldai_fdw_disconnect_all(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(disconnect_server(InvalidOid));
}

/*
 * ld_conn_client
 *		The curl client of a connection, for an asynchronous Append that
 *		waits on its sockets itself (async.c).
 */
LdhClient *
ld_conn_client(LdConn *conn)
{
	return conn->client;
}
