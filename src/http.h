/*-------------------------------------------------------------------------
 *
 * http.h
 *		  The libcurl layer of ldai_fdw: HTTP transfers over a curl multi
 *		  handle, with keep-alive, compression and timeouts.
 *
 * This layer knows nothing of PostgreSQL (it includes no PostgreSQL
 * header), in the spirit of oracle_fdw's oracle_utils.c.  It never waits:
 * the caller asks which sockets and timeout curl is interested in, waits on
 * them however it likes (the FDW uses WaitEventSetWait so that every wait is
 * interruptible) and reports back what happened.  Failures are reported as
 * plain codes that the FDW maps to SQLSTATEs.
 *
 * Memory here is malloc'd.  A transfer's buffers are freed when the transfer
 * is released; ldh_release_all() is the cleanup for an ERROR.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LDAI_HTTP_H
#define LDAI_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define LDH_MAX_TRANSFERS 64		/* sockets are tracked without a limit */
#define LDH_SOCKET_TIMEOUT (-1)		/* "fd" meaning: curl's timer expired */

/* what a socket waits for, and what happened on it */
#define LDH_EV_IN	0x1
#define LDH_EV_OUT	0x2

/* outcome of a finished transfer (transport level, not HTTP status) */
typedef enum LdhOutcome
{
	LDH_PENDING = 0,			/* still running */
	LDH_DONE,					/* a complete HTTP response arrived */
	LDH_CONNECT_FAILED,			/* could not resolve or connect; nothing sent */
	LDH_TIMED_OUT,				/* connect or total timeout expired */
	LDH_TOO_LARGE,				/* body exceeded the size cap */
	LDH_TLS_FAILED,				/* certificate or handshake problem */
	LDH_FAILED					/* any other transport failure */
} LdhOutcome;

/* settings that stay the same for every request of a client */
typedef struct LdhConfig
{
	const char *user_agent;
	long		connect_timeout_ms;
	long		timeout_ms;
	const char *ca_file;		/* NULL: the system's CAs */
	size_t		max_body_bytes; /* 0: no cap */
} LdhConfig;

/* one request; strings are copied by ldh_start() */
typedef struct LdhRequest
{
	const char *method;			/* GET, POST, PATCH, DELETE */
	const char *url;			/* full URL, path segments already escaped */
	const char *api_key;		/* sent as "Authorization: <api_key>" */
	const char *extra_header;	/* one more "Name: value" header, or NULL */
	const char *body;			/* request body or NULL */
	size_t		body_len;
} LdhRequest;

/*
 * LaunchDarkly's rate-limit headers of an answer (-1: absent).  Resets are
 * epoch milliseconds; limits come from the *-Limit headers where sent.
 */
typedef struct LdhRateLimit
{
	long long	global_remaining;	/* X-Ratelimit-Global-Remaining */
	long long	global_limit;	/* X-Ratelimit-Global-Limit */
	long long	route_remaining;	/* X-Ratelimit-Route-Remaining */
	long long	route_limit;	/* X-Ratelimit-Route-Limit */
	long long	token_remaining;	/* X-Ratelimit-Auth-Token-Remaining */
	long long	token_limit;	/* X-Ratelimit-Auth-Token-Limit */
	long long	reset_ms;		/* X-Ratelimit-Reset */
	long long	token_reset_ms; /* X-Ratelimit-Auth-Token-Reset */
} LdhRateLimit;

/* what came back */
typedef struct LdhResponse
{
	LdhOutcome	outcome;
	long		status;			/* HTTP status, 0 if none */
	char	   *body;			/* NUL-terminated, decoded body (malloc) */
	size_t		body_len;
	size_t		bytes_received; /* headers + body as they came off the wire */
	int			request_sent;	/* nonzero once any byte of the request left */
	char		content_type[128];
	char		retry_after[64];	/* Retry-After header, "" if absent */
	char		ratelimit_reset[64];	/* X-Ratelimit-Reset, "" if absent */
	char		error[256];		/* curl's message for transport failures */
	LdhRateLimit ratelimit;		/* rate-limit headers, parsed */
} LdhResponse;

/* what ldh_parse_base_url() found in a base URL */
typedef enum LdhUrlStatus
{
	LDH_URL_OK = 0,
	LDH_URL_INVALID,			/* curl cannot parse it, or the scheme is not http(s) */
	LDH_URL_EXTRA				/* it has a path, query, fragment or userinfo */
} LdhUrlStatus;

typedef struct LdhUrlInfo
{
	int			https;			/* 1: https, 0: http */
	int			loopback;		/* host is 127.0.0.0/8, ::1 or localhost */
	char		host[256];		/* the host as parsed (IPv6 without brackets) */
} LdhUrlInfo;

typedef struct LdhClient LdhClient;
typedef struct LdhTransfer LdhTransfer;

/* a socket curl wants watched */
typedef struct LdhSocket
{
	int			fd;
	int			events;			/* LDH_EV_IN | LDH_EV_OUT */
} LdhSocket;

extern int	ldh_global_init(void);
extern LdhClient *ldh_client_new(const LdhConfig *config);
extern void ldh_client_free(LdhClient *client);
extern void ldh_client_configure(LdhClient *client, const LdhConfig *config);

extern LdhTransfer *ldh_start(LdhClient *client, const LdhRequest *request);
extern const LdhResponse *ldh_response(const LdhTransfer *transfer);
extern char *ldh_take_body(LdhTransfer *transfer);
extern int	ldh_finished(const LdhTransfer *transfer);
extern void ldh_release(LdhClient *client, LdhTransfer *transfer);
extern void ldh_release_all(LdhClient *client);

extern int	ldh_wait_set(LdhClient *client, const LdhSocket **sockets,
						 long *timeout_ms, unsigned long *version);
extern void ldh_on_event(LdhClient *client, int fd, int events);
extern void ldh_progress(LdhClient *client, long budget_ms);

extern long ldh_retry_after_ms(const LdhResponse *response, long long now_ms);
extern char *ldh_escape(const char *segment);
extern LdhUrlStatus ldh_parse_base_url(const char *url, LdhUrlInfo *info);
extern void ldh_free(void *ptr);

#endif							/* LDAI_HTTP_H */
