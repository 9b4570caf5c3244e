/*-------------------------------------------------------------------------
 *
 * connection.c
 *		  Per-user-mapping HTTP clients, interruptible waits, retries, and
 *		  HTTP outcomes turned into PostgreSQL errors.
 *
 * Like postgres_fdw's connection cache, one client per user mapping lives
 * for the whole backend, so keep-alive connections are reused across pages
 * and queries.  ALTER SERVER or ALTER USER MAPPING invalidates the entry
 * and the next request starts a fresh client.
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
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/hsearch.h"
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
	Oid			umid;			/* hash key: user mapping OID */
	LdhClient  *client;
	char	   *api_key;		/* in TopMemoryContext; never printed */
	char	   *base_url;
	int			max_retries;
	size_t		max_body;		/* max_response_bytes */
	bool		invalidated;
	uint32		server_hash;
	uint32		mapping_hash;
};

static HTAB *conn_cache = NULL;

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
 *		A server or user mapping changed: mark the clients that used it, so
 *		that the next request reconnects with the new settings.
 */
static void
inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	LdConn	   *entry;

	hash_seq_init(&scan, conn_cache);
	while ((entry = (LdConn *) hash_seq_search(&scan)) != NULL)
	{
		if (hashvalue == 0 ||
			(cacheid == FOREIGNSERVEROID && entry->server_hash == hashvalue) ||
			(cacheid == USERMAPPINGOID && entry->mapping_hash == hashvalue))
			entry->invalidated = true;
	}
}

/*
 * init_cache
 *		Create the connection cache and register invalidation callbacks.
 */
static void
init_cache(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(LdConn);
	conn_cache = hash_create("ldai_fdw connections", 8, &ctl,
							 HASH_ELEM | HASH_BLOBS);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, inval_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, inval_callback, (Datum) 0);
}

/*
 * drop_entry
 *		Close an entry's client and forget its settings.
 */
static void
drop_entry(LdConn *entry)
{
	ldh_client_free(entry->client);
	entry->client = NULL;
	if (entry->api_key)
	{
		memset(entry->api_key, 0, strlen(entry->api_key));
		pfree(entry->api_key);
	}
	if (entry->base_url)
		pfree(entry->base_url);
	entry->api_key = entry->base_url = NULL;
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
			return defGetString(d);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("user mapping for server \"%s\" has no \"api_key\" option",
					GetForeignServer(user->serverid)->servername),
			 errhint("Use CREATE USER MAPPING FOR CURRENT_USER SERVER ... OPTIONS (api_key '...').")));
	return NULL;				/* keep compiler quiet */
}

/*
 * ld_get_connection
 *		The client of a user mapping, created (or re-created after an
 *		invalidation) as needed, configured with the current options.
 */
LdConn *
ld_get_connection(UserMapping *user, const LdOptions *opts)
{
	LdConn	   *entry;
	bool		found;
	LdhConfig	config;

	if (conn_cache == NULL)
		init_cache();
	entry = hash_search(conn_cache, &user->umid, HASH_ENTER, &found);
	if (!found)
	{
		entry->client = NULL;
		entry->api_key = entry->base_url = NULL;
		entry->invalidated = false;
	}
	if (entry->invalidated)
		drop_entry(entry);
	entry->invalidated = false;

	memset(&config, 0, sizeof(config));
	config.user_agent = "ldai_fdw/" LDAI_FDW_VERSION;
	config.connect_timeout_ms = opts->connect_timeout_ms;
	config.timeout_ms = opts->timeout_ms;
	config.max_body_bytes = (size_t) opts->max_response_bytes;
	config.ca_file = opts->ca_file;
	if (entry->client == NULL)
	{
		char	   *key = mapping_api_key(user);

		entry->client = ldh_client_new(&config);
		if (entry->client == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory creating an HTTP client")));
		entry->api_key = MemoryContextStrdup(TopMemoryContext, key);
		entry->base_url = MemoryContextStrdup(TopMemoryContext, opts->base_url);
		entry->server_hash = GetSysCacheHashValue1(FOREIGNSERVEROID,
												   ObjectIdGetDatum(user->serverid));
		entry->mapping_hash = GetSysCacheHashValue1(USERMAPPINGOID,
													ObjectIdGetDatum(user->umid));
	}
	else
		ldh_client_configure(entry->client, &config);
	entry->max_retries = opts->max_retries;
	entry->max_body = config.max_body_bytes;
	return entry;
}

/*
 * wait_once
 *		Wait for curl's sockets, its timer or our latch (at most 1 s), then
 *		let curl act on what happened.  Interrupts are serviced here.
 */
static void
wait_once(LdhClient *client)
{
	LdhSocket	socks[LDH_MAX_SOCKETS];
	WaitEvent	events[LDH_MAX_SOCKETS + 2];
	WaitEventSet *set;
	long		timeout;
	int			nsocks,
				nev,
				i;

	nsocks = ldh_wait_set(client, socks, LDH_MAX_SOCKETS, &timeout);
	if (timeout == 0)
	{
		ldh_on_event(client, LDH_SOCKET_TIMEOUT, 0);
		return;
	}
	if (timeout < 0 || timeout > 1000)
		timeout = 1000;

#if PG_VERSION_NUM >= 170000
	set = CreateWaitEventSet(NULL, nsocks + 2);
#else
	set = CreateWaitEventSet(CurrentMemoryContext, nsocks + 2);
#endif
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (i = 0; i < nsocks; i++)
		AddWaitEventToSet(set,
						  ((socks[i].events & LDH_EV_IN) ? WL_SOCKET_READABLE : 0) |
						  ((socks[i].events & LDH_EV_OUT) ? WL_SOCKET_WRITEABLE : 0),
						  socks[i].fd, NULL, NULL);
	nev = WaitEventSetWait(set, timeout, events, lengthof(events), ld_wait_event());
	FreeWaitEventSet(set);

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

/*
 * retry_delay_ms
 *		How long to wait before retry number attempt+1: what the server
 *		asked for (Retry-After, X-Ratelimit-Reset) if anything, else
 *		exponential backoff from 250 ms with +-25% jitter.
 */
static long
retry_delay_ms(const LdhResponse *r, int attempt)
{
	long		base = 250L << (attempt < 8 ? attempt : 8);
	struct timeval tv;
	long		asked;

	gettimeofday(&tv, NULL);
	asked = ldh_retry_after_ms(r, (long long) tv.tv_sec * 1000 + tv.tv_usec / 1000);
	if (asked >= 0)
		return asked;
	return base - base / 4 + (long) (random() % (base / 2 + 1));
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
 * is_retryable
 *		Whether a failed attempt may be repeated.  A GET is safe to repeat;
 *		a write only when the server surely did not act on it (429, or a
 *		connect failure before anything was sent), so that a result is
 *		never created twice.
 */
static bool
is_retryable(const char *method, const LdhResponse *r)
{
	bool		idempotent = strcmp(method, "GET") == 0;

	if (r->outcome == LDH_CONNECT_FAILED && !r->request_sent)
		return true;
	if (r->outcome == LDH_DONE)
		return r->status == 429 ||
			(idempotent && (r->status == 502 || r->status == 503 || r->status == 504));
	return idempotent && (r->outcome == LDH_TIMED_OUT || r->outcome == LDH_FAILED ||
						  r->outcome == LDH_CONNECT_FAILED);
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
	req->extra_header = extra_header;
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
			wait_once(conn->client);
	}
	PG_CATCH();
	{
		ldh_release(conn->client, t);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * run_transfer
 *		Start one attempt and wait for it to finish.
 */
static LdhTransfer *
run_transfer(LdConn *conn, const LdhRequest *req)
{
	LdhTransfer *t = start_transfer(conn, req);

	wait_transfer(conn, t);
	return t;
}

/*
 * ld_async_start
 *		Start a request without waiting for it (prefetch, batch insert);
 *		NULL if no transfer slot is free.  The caller owns the transfer.
 */
LdhTransfer *
ld_async_start(LdConn *conn, const char *method, const char *path, const char *body,
			   const char *extra_header)
{
	LdhRequest	req;
	LdhTransfer *t;

	fill_request(&req, conn, method, path, body, extra_header);
	t = ldh_start(conn->client, &req);	/* NULL: no slot free */
	pfree((char *) req.url);
	return t;
}

/*
 * ld_async_finish
 *		Wait for a request started with ld_async_start.  A complete answer
 *		is returned as is (for a GET, only a 2xx one).  Otherwise the
 *		request is sent again the normal way -- with its retries and error
 *		reports -- when that is safe: always for a GET, for a write only
 *		after a 429 or a connect failure before anything was sent; other
 *		transport failures of a write are errors.  Returns true if the
 *		server rate-limited it, so the caller can slow down.
 */
bool
ld_async_finish(LdConn *conn, LdhTransfer *t, const char *method, const char *path,
				const char *body, const char *extra_header, LdStats *stats,
				LdResult *result)
{
	bool		get = strcmp(method, "GET") == 0;
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));
	LdhResponse r;

	wait_transfer(conn, t);
	r = *ldh_response(t);
	stats->requests++;
	stats->bytes += r.bytes_received;
	if (r.outcome == LDH_DONE && r.status != 429 &&
		(!get || (r.status >= 200 && r.status <= 299)))
	{
		take_result(t, &r, result, cb);
		ldh_release(conn->client, t);
		return false;
	}
	ldh_release(conn->client, t);
	if (!get && r.status != 429 && !(r.outcome == LDH_CONNECT_FAILED && !r.request_sent))
		report_transport_error(method, path, &r, conn);
	stats->retries++;
	ld_request(conn, method, path, body, extra_header, stats, result);
	return r.status == 429;
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
 *		status and body, which lives as long as the current memory context.  Transport
 *		failures are reported here; HTTP error statuses are the caller's.
 */
void
ld_request(LdConn *conn, const char *method, const char *path,
		   const char *body, const char *extra_header,
		   LdStats *stats, LdResult *result)
{
	LdhRequest	req;
	int			attempt;
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));

	fill_request(&req, conn, method, path, body, extra_header);

	for (attempt = 0;; attempt++)
	{
		LdhTransfer *t = run_transfer(conn, &req);
		LdhResponse r = *ldh_response(t);

		stats->requests++;
		stats->bytes += r.bytes_received;
		if (attempt < conn->max_retries && is_retryable(method, &r))
		{
			long		delay = retry_delay_ms(&r, attempt);

			ldh_release(conn->client, t);
			check_wait_fits(method, path, delay, r.status);
			elog(DEBUG1, "ldai_fdw: retrying %s %s in %ld ms (attempt %d)",
				 method, path, delay, attempt + 1);
			stats->retries++;
			ld_sleep_ms(delay);
			continue;
		}
		if (r.outcome != LDH_DONE)
		{
			ldh_release(conn->client, t);
			report_transport_error(method, path, &r, conn);
		}
		take_result(t, &r, result, cb);
		ldh_release(conn->client, t);
		break;
	}
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
 * ld_report_http_error
 *		ERROR for a non-2xx answer: status, the API's code and message, and
 *		the request (method and path; never the key).
 */
void
ld_report_http_error(const char *method, const char *path,
					 const LdResult *result)
{
	cJSON	   *err = cJSON_ParseWithLength(result->body, result->body_len);
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
	cJSON_Delete(err);
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
 * ld_check_json
 *		ERROR unless a successful answer with a body says it is JSON: an
 *		HTML error page from a proxy must not be read as data.
 */
void
ld_check_json(const char *method, const char *path, const LdResult *result)
{
	const char *ct = result->content_type;

	if (result->body_len == 0)
		return;
	if (pg_strncasecmp(ct, "application/json", 16) == 0 ||
		(strstr(ct, "+json") != NULL && strncmp(ct, "application/", 12) == 0))
		return;
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
