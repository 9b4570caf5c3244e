/*-------------------------------------------------------------------------
 *
 * http.c
 *		  HTTP transfers on a libcurl multi handle, for ldai_fdw.
 *
 * A client owns one curl multi handle; the multi handle owns the
 * connection cache, so connections are kept alive across requests,
 * pages and queries for as long as the client lives.  Transfers are driven
 * with curl_multi_socket_action(): curl tells us (through the socket and
 * timer callbacks) which sockets and which timeout it is waiting for, the
 * caller waits on them and reports events back.  Nothing here blocks.
 *
 * No PostgreSQL header is included on purpose; see http.h.
 *
 *-------------------------------------------------------------------------
 */
#include "http.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>

#include <curl/curl.h>

#ifndef LDAI_VERSION
#define LDAI_VERSION "1.0"
#endif

struct LdhTransfer
{
	CURL	   *easy;
	struct curl_slist *headers;
	LdhResponse response;
	size_t		body_cap;
	size_t		max_body;
	int			in_use;
	char		errbuf[CURL_ERROR_SIZE];
};

struct LdhClient
{
	CURLM	   *multi;
	LdhConfig	config;
	char	   *user_agent;
	char	   *ca_file;
	long		timer_ms;		/* curl's requested timeout, -1 = none */
	int			nsockets;
	int			socket_cap;
	LdhSocket  *sockets;		/* malloc'd, grown as curl asks for more */
	unsigned long socket_version;	/* bumped when the socket set changes */
	LdhTransfer transfers[LDH_MAX_TRANSFERS];
};

static void collect_finished(LdhClient *client);

/*
 * ldh_global_init
 *		Initialise libcurl once per process.  Returns 0 on success.
 */
int
ldh_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK ? 0 : -1;
}

/*
 * socket_cb
 *		curl's socket callback: remember which sockets to watch, and for what.
 *		The set grows as needed (curl may open two sockets per connection
 *		while it tries IPv6 and IPv4), so no transfer limit is below it; only
 *		a failed allocation refuses a socket (curl then fails the transfer).
 */
static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	LdhClient  *client = (LdhClient *) userp;
	int			events;
	int			i;

	(void) easy;
	(void) socketp;
	for (i = 0; i < client->nsockets; i++)
		if (client->sockets[i].fd == (int) s)
			break;

	if (what == CURL_POLL_REMOVE)
	{
		if (i < client->nsockets)
		{
			client->sockets[i] = client->sockets[--client->nsockets];
			client->socket_version++;
		}
		return 0;
	}
	if (i == client->nsockets)
	{
		if (client->nsockets == client->socket_cap)
		{
			int			cap = client->socket_cap ? client->socket_cap * 2 : 16;
			LdhSocket  *grown = realloc(client->sockets, cap * sizeof(LdhSocket));

			if (grown == NULL)
				return -1;
			client->sockets = grown;
			client->socket_cap = cap;
		}
		client->nsockets++;
		client->sockets[i].fd = (int) s;
		client->sockets[i].events = 0;
	}
	events = ((what == CURL_POLL_IN || what == CURL_POLL_INOUT) ? LDH_EV_IN : 0) |
		((what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ? LDH_EV_OUT : 0);
	if (client->sockets[i].events != events)
		client->socket_version++;
	client->sockets[i].events = events;
	return 0;
}

/*
 * timer_cb
 *		curl's timer callback: remember when curl wants to be called back.
 */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	(void) multi;
	((LdhClient *) userp)->timer_ms = timeout_ms;
	return 0;
}

/*
 * copy_string
 *		strdup that accepts NULL.
 */
static char *
copy_string(const char *s)
{
	return s ? strdup(s) : NULL;
}

/*
 * ldh_client_new
 *		Create a client (a multi handle and its connection cache).
 *		Returns NULL when out of memory.
 */
LdhClient *
ldh_client_new(const LdhConfig *config)
{
	LdhClient  *client = calloc(1, sizeof(LdhClient));

	if (client == NULL)
		return NULL;
	client->multi = curl_multi_init();
	if (client->multi == NULL)
	{
		free(client);
		return NULL;
	}
	client->timer_ms = -1;
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
	ldh_client_configure(client, config);
	return client;
}

/*
 * ldh_client_configure
 *		Take new settings (timeouts, CA file); existing connections stay.
 */
void
ldh_client_configure(LdhClient *client, const LdhConfig *config)
{
	free(client->user_agent);
	free(client->ca_file);
	client->config = *config;
	client->user_agent = copy_string(config->user_agent);
	client->ca_file = copy_string(config->ca_file);
	client->config.user_agent = client->user_agent;
	client->config.ca_file = client->ca_file;
}

/*
 * ldh_client_free
 *		Abort every transfer, close every connection, free the client.
 */
void
ldh_client_free(LdhClient *client)
{
	if (client == NULL)
		return;
	ldh_release_all(client);
	curl_multi_cleanup(client->multi);
	free(client->sockets);
	free(client->user_agent);
	free(client->ca_file);
	free(client);
}

/*
 * header_value
 *		If the header line is "name: value", copy the trimmed value out.
 */
static void
header_value(const char *line, size_t len, const char *name,
			 char *out, size_t outlen)
{
	size_t		nlen = strlen(name);
	size_t		n;

	if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
		return;
	line += nlen + 1;
	len -= nlen + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
					   line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	n = len < outlen - 1 ? len : outlen - 1;
	memcpy(out, line, n);
	out[n] = '\0';
}

/*
 * header_number
 *		If the header line is "name: <non-negative integer>", store the
 *		number; anything else leaves *out as it was.
 */
static void
header_number(const char *line, size_t len, const char *name, long long *out)
{
	char		value[32];
	char	   *end;
	long long	n;

	value[0] = '\0';
	header_value(line, len, name, value, sizeof(value));
	if (value[0] < '0' || value[0] > '9')
		return;
	n = strtoll(value, &end, 10);
	if (*end == '\0' && n >= 0)
		*out = n;
}

/*
 * ratelimit_clear
 *		No rate-limit header seen (yet).
 */
static void
ratelimit_clear(LdhRateLimit *rl)
{
	rl->global_remaining = rl->global_limit = -1;
	rl->route_remaining = rl->route_limit = -1;
	rl->token_remaining = rl->token_limit = -1;
	rl->reset_ms = rl->token_reset_ms = -1;
}

/*
 * ratelimit_headers
 *		Collect LaunchDarkly's rate-limit headers from one header line.
 */
static void
ratelimit_headers(const char *line, size_t len, LdhRateLimit *rl)
{
	if (len < 12 || strncasecmp(line, "X-Ratelimit-", 12) != 0)
		return;
	header_number(line, len, "X-Ratelimit-Global-Remaining", &rl->global_remaining);
	header_number(line, len, "X-Ratelimit-Global-Limit", &rl->global_limit);
	header_number(line, len, "X-Ratelimit-Route-Remaining", &rl->route_remaining);
	header_number(line, len, "X-Ratelimit-Route-Limit", &rl->route_limit);
	header_number(line, len, "X-Ratelimit-Auth-Token-Remaining", &rl->token_remaining);
	header_number(line, len, "X-Ratelimit-Auth-Token-Limit", &rl->token_limit);
	header_number(line, len, "X-Ratelimit-Reset", &rl->reset_ms);
	header_number(line, len, "X-Ratelimit-Auth-Token-Reset", &rl->token_reset_ms);
}

/*
 * header_cb
 *		Collect the response headers we act on.  A new status line (after a
 *		1xx response) starts over.
 */
static size_t
header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	LdhTransfer *t = (LdhTransfer *) userdata;
	size_t		len = size * nitems;

	t->response.bytes_received += len;
	if (len > 5 && strncmp(buffer, "HTTP/", 5) == 0)
	{
		t->response.content_type[0] = '\0';
		t->response.retry_after[0] = '\0';
		t->response.ratelimit_reset[0] = '\0';
		ratelimit_clear(&t->response.ratelimit);
		return len;
	}
	ratelimit_headers(buffer, len, &t->response.ratelimit);
	header_value(buffer, len, "Content-Type", t->response.content_type,
				 sizeof(t->response.content_type));
	header_value(buffer, len, "Retry-After", t->response.retry_after,
				 sizeof(t->response.retry_after));
	header_value(buffer, len, "X-Ratelimit-Reset", t->response.ratelimit_reset,
				 sizeof(t->response.ratelimit_reset));
	return len;
}

/*
 * first_capacity
 *		The body buffer's first size: the Content-Length when the server
 *		sent one (no growing and copying a large page piece by piece), else
 *		16 kB.  Never more than the size cap allows, nor above 64 MB on the
 *		server's word alone; a compressed body still grows from there.
 */
static size_t
first_capacity(LdhTransfer *t)
{
	size_t		cap = 16384;
#if LIBCURL_VERSION_NUM >= 0x073700
	curl_off_t	len = -1;
	size_t		limit = t->max_body > 0 ? t->max_body : ((size_t) 64 << 20);

	if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK &&
		len > 0)
		cap = ((size_t) len < limit ? (size_t) len : limit) + 1;
	if (cap < 16384)
		cap = 16384;
#else
	(void) t;
#endif
	return cap;
}

/*
 * write_cb
 *		Append body bytes, enforcing the size cap (returning a short count
 *		makes curl fail the transfer with CURLE_WRITE_ERROR).
 */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	LdhTransfer *t = (LdhTransfer *) userdata;
	size_t		len = size * nmemb;
	size_t		need = t->response.body_len + len + 1;

	if (t->max_body > 0 && t->response.body_len + len > t->max_body)
	{
		t->response.outcome = LDH_TOO_LARGE;
		return 0;
	}
	if (need > t->body_cap)
	{
		size_t		cap = t->body_cap ? t->body_cap : first_capacity(t);
		char	   *grown;

		while (cap < need)
			cap *= 2;
		grown = realloc(t->response.body, cap);
		if (grown == NULL)
			return 0;
		t->response.body = grown;
		t->body_cap = cap;
	}
	memcpy(t->response.body + t->response.body_len, data, len);
	t->response.body_len += len;
	t->response.body[t->response.body_len] = '\0';
	return len;
}

/*
 * append_header
 *		curl_slist_append that frees the whole list when it fails (it
 *		returns NULL when out of memory), so that a NULL list means failure.
 */
static struct curl_slist *
append_header(struct curl_slist *list, const char *header)
{
	struct curl_slist *h;

	if (list == NULL)
		return NULL;
	h = curl_slist_append(list, header);
	if (h == NULL)
		curl_slist_free_all(list);
	return h;
}

/*
 * add_headers
 *		Build the request's header list: auth, identity, content type.
 *		NULL when out of memory.
 */
static struct curl_slist *
add_headers(const LdhClient *client, const LdhRequest *req)
{
	struct curl_slist *h;
	char	   *auth;
	size_t		len = strlen(req->api_key ? req->api_key : "") + 32;

	auth = malloc(len);
	if (auth == NULL)
		return NULL;
	/* LaunchDarkly takes the raw token, without "Bearer" */
	snprintf(auth, len, "Authorization: %s", req->api_key ? req->api_key : "");
	h = curl_slist_append(NULL, auth);
	memset(auth, 0, len);
	free(auth);
	h = append_header(h, "Accept: application/json");
	/* no "Expect: 100-continue" round trip before a body */
	h = append_header(h, "Expect:");
	if (req->body != NULL)
		h = append_header(h, "Content-Type: application/json");
	if (req->extra_header != NULL)
		h = append_header(h, req->extra_header);
	(void) client;
	return h;
}

/*
 * set_options
 *		Set the easy handle's options for one request.  Returns CURLE_OK or
 *		the first failing option's code.
 */
static CURLcode
set_options(LdhClient *client, LdhTransfer *t, const LdhRequest *req)
{
	CURL	   *e = t->easy;
	CURLcode	rc = CURLE_OK;

#define SETOPT(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)

	SETOPT(CURLOPT_URL, req->url);
	/* only http(s): a base_url must never reach file:// or other schemes */
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);	/* a redirect must not carry the key */
	SETOPT(CURLOPT_PATH_AS_IS, 1L);	/* send the path as built: no dot-segment squashing */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_ACCEPT_ENCODING, "");	/* every encoding curl supports */
	SETOPT(CURLOPT_USERAGENT, client->config.user_agent);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, client->config.connect_timeout_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, client->config.timeout_ms);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (client->config.ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, client->config.ca_file);
	SETOPT(CURLOPT_HTTPHEADER, t->headers);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, t);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, t);
	SETOPT(CURLOPT_ERRORBUFFER, t->errbuf);
	SETOPT(CURLOPT_PRIVATE, t);
	if (strcmp(req->method, "GET") != 0)
		SETOPT(CURLOPT_CUSTOMREQUEST, req->method);
	if (strcmp(req->method, "POST") == 0)
	{
		/*
		 * A POST creates something and the API has no idempotency key: it
		 * must never be sent twice.  On a reused keep-alive connection that
		 * the server closed meanwhile, curl would silently send it again on
		 * a new one; a connection of its own rules that out.
		 */
		SETOPT(CURLOPT_FRESH_CONNECT, 1L);
		SETOPT(CURLOPT_FORBID_REUSE, 1L);
	}
	if (req->body != NULL)
	{
		/* a sized body, never chunked */
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
		SETOPT(CURLOPT_COPYPOSTFIELDS, req->body);
	}
#undef SETOPT
	return rc;
}

/*
 * ldh_start
 *		Start a request; returns the transfer, or NULL if no slot or handle
 *		could be had (out of memory or too many transfers).
 */
LdhTransfer *
ldh_start(LdhClient *client, const LdhRequest *req)
{
	LdhTransfer *t = NULL;
	int			i;
	int			running;

	for (i = 0; i < LDH_MAX_TRANSFERS; i++)
		if (!client->transfers[i].in_use)
		{
			t = &client->transfers[i];
			break;
		}
	if (t == NULL)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->easy = curl_easy_init();
	t->headers = add_headers(client, req);
	t->max_body = client->config.max_body_bytes;
	if (t->easy == NULL || t->headers == NULL ||
		set_options(client, t, req) != CURLE_OK ||
		curl_multi_add_handle(client->multi, t->easy) != CURLM_OK)
	{
		if (t->easy)
			curl_easy_cleanup(t->easy);
		curl_slist_free_all(t->headers);
		memset(t, 0, sizeof(*t));
		return NULL;
	}
	t->in_use = 1;
	t->response.outcome = LDH_PENDING;
	ratelimit_clear(&t->response.ratelimit);
	/* kick curl so that it opens the connection and arms its timer */
	curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	/* libcurl 8 may finish a transfer here already: its outcome is due now */
	collect_finished(client);
	return t;
}

/*
 * classify
 *		Map a finished transfer's curl code to an outcome.
 */
static LdhOutcome
classify(CURLcode code, const LdhTransfer *t)
{
	switch (code)
	{
		case CURLE_OK:
			return LDH_DONE;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
			return LDH_CONNECT_FAILED;
		case CURLE_OPERATION_TIMEDOUT:
			return LDH_TIMED_OUT;
		case CURLE_WRITE_ERROR:
			return t->response.outcome == LDH_TOO_LARGE ? LDH_TOO_LARGE : LDH_FAILED;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
			return LDH_TLS_FAILED;
		default:
			return LDH_FAILED;
	}
}

/*
 * collect_finished
 *		Read curl's completion messages and fill in the finished transfers.
 */
static void
collect_finished(LdhClient *client)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(client->multi, &left)) != NULL)
	{
		LdhTransfer *t = NULL;
		curl_off_t	upload = 0;
		curl_off_t	download = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
		if (t == NULL)
			continue;
		t->response.outcome = classify(msg->data.result, t);
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->response.status);
		curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &upload);
		/* body bytes as they came off the wire (before decompression) */
		if (curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &download) == CURLE_OK)
			t->response.bytes_received += (size_t) download;
		t->response.request_sent = t->response.status != 0 || upload > 0 ||
			msg->data.result == CURLE_OPERATION_TIMEDOUT;
		if (msg->data.result != CURLE_OK)
			snprintf(t->response.error, sizeof(t->response.error), "%s",
					 t->errbuf[0] ? t->errbuf : curl_easy_strerror(msg->data.result));
		if (t->response.body == NULL)
		{
			t->response.body = calloc(1, 1);
			t->body_cap = t->response.body ? 1 : 0;
		}
	}
}

/*
 * ldh_wait_set
 *		Tell the caller what to wait for: the sockets with their events
 *		(valid until the next call into this layer), a timeout (-1 = none),
 *		and a number that changes whenever the socket set does (so that a
 *		caller may keep its wait set until then).  Returns the number of
 *		sockets.
 */
int
ldh_wait_set(LdhClient *client, const LdhSocket **sockets, long *timeout_ms,
			 unsigned long *version)
{
	*sockets = client->sockets;
	*timeout_ms = client->timer_ms;
	*version = client->socket_version;
	return client->nsockets;
}

/*
 * ldh_on_event
 *		Report an event on a socket (or LDH_SOCKET_TIMEOUT) and let curl
 *		make progress; finished transfers get their outcome set.
 */
void
ldh_on_event(LdhClient *client, int fd, int events)
{
	int			running = 0;
	int			mask = 0;

	if (fd == LDH_SOCKET_TIMEOUT)
		curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	else
	{
		if (events & LDH_EV_IN)
			mask |= CURL_CSELECT_IN;
		if (events & LDH_EV_OUT)
			mask |= CURL_CSELECT_OUT;
		curl_multi_socket_action(client->multi, (curl_socket_t) fd, mask, &running);
	}
	collect_finished(client);
}

/*
 * unsent
 *		Whether some running transfer has not sent its request yet
 *		(resolving, connecting, or waiting for its socket to take it).
 */
static int
unsent(LdhClient *client)
{
	int			i;

	for (i = 0; i < LDH_MAX_TRANSFERS; i++)
	{
		LdhTransfer *t = &client->transfers[i];
		long		sent = 0;

		if (t->in_use && t->response.outcome == LDH_PENDING &&
			curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK &&
			sent == 0)
			return 1;
	}
	return 0;
}

/*
 * now_ms
 *		A monotonic clock in milliseconds.
 */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * ldh_progress
 *		Let the transfers go as far as they can right away: act on the
 *		sockets that are ready (a name resolved, a connect that completed,
 *		a request that can be written, an answer that arrived) and on curl's
 *		timer, until every running transfer has sent its request or
 *		budget_ms have passed.  Called after starting requests, so that
 *		prefetched pages are on their way before the caller goes back to
 *		its rows, not only at its next wait.
 */
void
ldh_progress(LdhClient *client, long budget_ms)
{
	long long	deadline = now_ms() + budget_ms;
	int			round;

	for (round = 0; round < 64 && unsent(client); round++)
	{
		struct pollfd fds[LDH_MAX_TRANSFERS * 2];
		long long	left = deadline - now_ms();
		int			wait = left > 0 ? (int) left : 0;
		int			n = 0;
		int			ready;
		int			i;
		int			running = 0;

		for (i = 0; i < client->nsockets && n < (int) (sizeof(fds) / sizeof(fds[0])); i++)
		{
			fds[n].fd = client->sockets[i].fd;
			fds[n].events = ((client->sockets[i].events & LDH_EV_IN) ? POLLIN : 0) |
				((client->sockets[i].events & LDH_EV_OUT) ? POLLOUT : 0);
			fds[n].revents = 0;
			n++;
		}
		if (client->timer_ms >= 0 && client->timer_ms < wait)
			wait = (int) client->timer_ms;
		ready = poll(fds, n, wait);
		if (ready <= 0)
			curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		for (i = 0; i < n && ready > 0; i++)
		{
			int			mask = 0;

			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				mask |= CURL_CSELECT_IN;
			if (fds[i].revents & POLLOUT)
				mask |= CURL_CSELECT_OUT;
			if (fds[i].revents & POLLERR)
				mask |= CURL_CSELECT_ERR;
			if (mask != 0)
				curl_multi_socket_action(client->multi, (curl_socket_t) fds[i].fd,
										 mask, &running);
		}
		collect_finished(client);
		if (left <= 0)
			break;
	}
}

/*
 * ldh_response
 *		The response of a transfer (complete once ldh_finished() says so).
 */
const LdhResponse *
ldh_response(const LdhTransfer *transfer)
{
	return &transfer->response;
}

/*
 * ldh_take_body
 *		Hand the response body (malloc'd, NUL-terminated; NULL if there is
 *		none) over to the caller, who frees it with ldh_free: a page is not
 *		copied once more on its way to the parser.
 */
char *
ldh_take_body(LdhTransfer *transfer)
{
	char	   *body = transfer->response.body;

	transfer->response.body = NULL;
	transfer->body_cap = 0;
	return body;
}

/*
 * ldh_finished
 *		Nonzero once the transfer has an outcome.
 */
int
ldh_finished(const LdhTransfer *transfer)
{
	return transfer->response.outcome != LDH_PENDING;
}

/*
 * ldh_release
 *		Free a transfer.  If it is still running, it is aborted and its
 *		connection is closed by curl (it cannot be reused mid-response).
 */
void
ldh_release(LdhClient *client, LdhTransfer *t)
{
	if (t == NULL || !t->in_use)
		return;
	curl_multi_remove_handle(client->multi, t->easy);
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->response.body);
	memset(t, 0, sizeof(*t));
}

/*
 * ldh_release_all
 *		Release every transfer: the cleanup after an error or a cancel.
 */
void
ldh_release_all(LdhClient *client)
{
	int			i;

	for (i = 0; i < LDH_MAX_TRANSFERS; i++)
		ldh_release(client, &client->transfers[i]);
}

/*
 * ldh_escape
 *		Percent-escape one path segment (so "/", "?" and "%" stay inside
 *		it).  The result is malloc'd; free it with ldh_free().
 */
char *
ldh_escape(const char *segment)
{
	return curl_easy_escape(NULL, segment, 0);
}

/*
 * url_part_present
 *		Whether a parsed URL has a part (curl says "no such part" otherwise).
 */
static int
url_part_present(CURLU *h, CURLUPart part)
{
	char	   *v = NULL;
	CURLUcode	rc = curl_url_get(h, part, &v, 0);

	curl_free(v);
	return rc == CURLUE_OK;
}

/*
 * is_loopback_host
 *		Whether a host, as curl parsed it, is this machine: an IPv4 literal
 *		in 127.0.0.0/8, the IPv6 literal ::1, or the name localhost (which
 *		curl resolves to loopback itself, without asking DNS).  Anything
 *		else -- "localhost.example", "127.0.0.1.nip.io" -- is not.
 */
static int
is_loopback_host(const char *host)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, host, addr) == 1)
		return addr[0] == 127;
	if (inet_pton(AF_INET6, host, addr) == 1)
	{
		static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 1};

		return memcmp(addr, one, 16) == 0;
	}
	return strcasecmp(host, "localhost") == 0;
}

/*
 * ldh_parse_base_url
 *		Parse a base URL exactly as libcurl will when it sends requests to
 *		it: it must be http(s)://host[:port], with no userinfo, path (other
 *		than the empty one), query or fragment.  Fills info with the scheme,
 *		the host and whether the host is loopback.
 */
LdhUrlStatus
ldh_parse_base_url(const char *url, LdhUrlInfo *info)
{
	CURLU	   *h = curl_url();
	char	   *scheme = NULL;
	char	   *host = NULL;
	char	   *path = NULL;
	LdhUrlStatus status = LDH_URL_INVALID;

	memset(info, 0, sizeof(*info));
	if (h == NULL || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto done;
	if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
		goto done;
	status = LDH_URL_EXTRA;
	if (strcmp(path, "/") != 0 && strcmp(path, "") != 0)
		goto done;
	if (url_part_present(h, CURLUPART_USER) || url_part_present(h, CURLUPART_PASSWORD) ||
		url_part_present(h, CURLUPART_OPTIONS) || url_part_present(h, CURLUPART_QUERY) ||
		url_part_present(h, CURLUPART_FRAGMENT) || url_part_present(h, CURLUPART_ZONEID))
		goto done;
	status = LDH_URL_INVALID;
	if (host[0] == '[')
	{
		size_t		len = strlen(host);

		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(info->host))
			goto done;
		memcpy(info->host, host + 1, len - 2);
		info->host[len - 2] = '\0';
	}
	else if (host[0] == '\0' || strlen(host) >= sizeof(info->host))
		goto done;
	else
		strcpy(info->host, host);
	info->https = strcmp(scheme, "https") == 0;
	info->loopback = is_loopback_host(info->host);
	status = LDH_URL_OK;
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_url_cleanup(h);
	return status;
}

/*
 * ldh_free
 *		Free memory returned by this layer.
 */
void
ldh_free(void *ptr)
{
	curl_free(ptr);
}

/*
 * ldh_retry_after_ms
 *		The wait a 429/503 response asks for, in ms from now_ms: Retry-After
 *		as seconds or an HTTP date, else X-Ratelimit-Reset as epoch ms.
 *		Returns -1 when the response asks for nothing usable.
 */
long
ldh_retry_after_ms(const LdhResponse *r, long long now_ms)
{
	char	   *end;

	if (r->retry_after[0] != '\0')
	{
		long long	secs = strtoll(r->retry_after, &end, 10);
		time_t		when;

		/* delta-seconds are never a date (curl reads 8 digits as YYYYMMDD) */
		if (end != r->retry_after && *end == '\0')
			return secs >= 0 && secs < 86400 ? (long) (secs * 1000) : -1;
		when = curl_getdate(r->retry_after, NULL);
		if (when != (time_t) -1)
		{
			long long	wait;

			/* compare in seconds first: when * 1000 may not fit */
			if (when > now_ms / 1000 + 86400)
				return -1;
			if (when < now_ms / 1000)
				return 0;			/* a date in the past: retry now */
			wait = (long long) when * 1000 - now_ms;
			return (long) (wait > 0 ? wait : 0);
		}
	}
	if (r->ratelimit_reset[0] != '\0')
	{
		long long	reset = strtoll(r->ratelimit_reset, &end, 10);

		if (end != r->ratelimit_reset && *end == '\0' && reset > 0)
		{
			long long	wait = reset - now_ms;

			if (wait > 86400000LL)
				return -1;
			return (long) (wait > 0 ? wait : 0);
		}
	}
	return -1;
}
