/*
 * ldbench_server.c -- a fast fake of the LaunchDarkly agent-optimization API
 * for ldai_fdw's benchmark (bench/run.sh).
 *
 * Thread per connection, HTTP/1.1 keep-alive (and pipelining), Content-Length
 * on every response, Authorization checked.  Result items are rendered once at
 * start-up as ~2 KB templates shaped like LaunchDarkly's AgentOptimizationResult;
 * item i of a data set is template (i mod NT) with its id and runId stamped in.
 * Rendered pages are cached (up to --cache-mb) so a warm page is one writev().
 *
 * Routes (p = --project):
 *   GET  /api/v2/projects/p/agent-optimizations[?limit&offset]   optimizations list
 *   GET  /api/v2/projects/p/agent-optimizations/{o}              one optimization
 *   GET  /api/v2/projects/p/agent-optimizations/{o}/all-results?limit=L&offset=O
 *   GET  /api/v2/projects/p/agent-optimizations/{o}/results?limit=L&offset=O
 *   POST /api/v2/projects/p/agent-optimizations/{o}/results      201, created result
 *   PATCH /api/v2/projects/p/agent-optimizations/{o}/results/{id} 200, id + fields sent
 * Control (no auth, not counted):
 *   GET  /_bench/stats         counters as JSON
 *   POST /_bench/reset         zero the counters
 *   POST /_bench/delay?ms=N    per-request delay of the API routes from now on
 *
 * Every API request sleeps --delay-ms (or the value set through /_bench/delay)
 * in its own thread before answering, so a delay never blocks other
 * connections.  The process ends itself after --max-lifetime seconds.
 *
 * Build: gcc -O2 -pthread -o ldbench_server ldbench_server.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define NT 64					/* distinct item templates */
#define MAX_DS 64
#define MAX_HEADER (64 * 1024)
#define MAX_BODY (16 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* growable buffer                                                     */

typedef struct
{
	char	   *p;
	size_t		len,
				cap;
} Buf;

static void
buf_reserve(Buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
	{
		size_t		n = b->cap ? b->cap : 4096;

		while (n < b->len + extra + 1)
			n *= 2;
		b->p = realloc(b->p, n);
		if (!b->p)
		{
			perror("realloc");
			exit(1);
		}
		b->cap = n;
	}
}

static void
buf_add(Buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_printf(Buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reserve(b, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

/* ------------------------------------------------------------------ */
/* configuration and counters                                          */

typedef struct
{
	char		name[128];
	long		count;
	char		opt_id[40];		/* uuid of the optimization */
	char	   *single;			/* GET .../agent-optimizations/{o} body */
	size_t		single_len;
} Dataset;

static Dataset ds[MAX_DS];
static int	nds;
static const char *api_key = "bench-key";
static const char *project = "bench";
static long cache_limit = 768L * 1024 * 1024;
static long max_limit = 1000;
static int	verbose;

static atomic_int delay_ms;
static atomic_long st_requests, st_gets, st_pages, st_posts, st_other, st_bytes,
			st_unauth, st_notfound, st_conns, st_inflight, st_max_inflight,
			st_cache_hits, st_cache_misses;
static atomic_ulong st_post_hash;
static atomic_long st_patches;
static atomic_ulong st_patch_hash;
static atomic_long post_seq;
static atomic_long cache_bytes;

/* ------------------------------------------------------------------ */
/* item templates                                                      */

typedef struct
{
	char	   *text;
	size_t		len;
	size_t		id_at;			/* offset of the 12 hex digits of "id" */
	size_t		run_at;			/* offset of the 12 hex digits of "runId" */
} Template;

static Template tmpl[MAX_DS][NT];

static const char *const user_inputs[] = {
	"Where is my order #A-1042? It was due Tuesday.",
	"I was charged twice for my March invoice.",
	"Mon colis n'est pas arriv\\u00e9 \\u2014 o\\u00f9 est-il ?",
	"\\u6211\\u7684\\u8ba2\\u5355 #A-2077 \\u8fd8\\u6ca1\\u6709\\u53d1\\u8d27\\uff0c\\u8bf7\\u5e2e\\u5fd9\\u67e5\\u4e00\\u4e0b\\u3002",
	"The app crashes \\ud83d\\ude21 every time I tap \\\"Export\\\".",
	"My backup path is C:\\\\Users\\\\dana\\\\backups and it says \\\"access denied\\\".",
	"How do I reset 2FA? I lost my phone.",
};
static const char *const outputs[] = {
	"Queue: shipping. I'm sorry your order is late \\u2014 let me check with the carrier.",
	"Queue: billing. I can see two charges for March; I've flagged the duplicate for reversal.",
	"Queue: technical. Thanks for the report! Could you tell me your app version and device so we can reproduce the crash?",
	"Queue: account. To reset 2FA, please verify your identity with the recovery code we emailed you.",
};
static const char *const models[] = {
	"OpenAI.gpt-4o", "Anthropic.claude-3-7-sonnet-latest", "OpenAI.gpt-4o-mini",
};
static const char *const statuses[] = {"PASSED", "FAILED", "RUNNING", "ERRORED"};
static const char *const activities[] = {
	"PENDING", "GENERATING", "EVALUATING", "VALIDATING", "GENERATING_VARIATION", "COMPLETED",
};
static const char *const steps[] = {
	"Ask for the order number before discussing refunds.",
	"Mirror the customer's language.",
	"Keep replies under 120 words.",
	"State the queue name on the first line.",
	"Escalate security or data-loss reports immediately.",
	"Offer one concrete next step.",
	"Never promise a delivery date.",
};

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return rng_state >> 33;
}

static int
rnd_between(int lo, int hi)
{
	return lo + (int) (rnd() % (uint64_t) (hi - lo + 1));
}

static void
tokens(Buf *b, int lo, int hi)
{
	int			in = rnd_between(lo, hi),
				out = rnd_between(lo / 4, hi / 3);

	buf_printf(b, "{\"total\":%d,\"input\":%d,\"output\":%d}", in + out, in, out);
}

static void
build_template(int d, int t)
{
	Buf			b = {0};
	Template   *T = &tmpl[d][t];
	const char *status,
			   *activity;
	int			version = 1 + t % 3,
				iteration = 1 + t % 40,
				phase,
				i;
	long long	created = 1780306200000LL + (long long) t * 7919LL * 1000;
	char		instructions[1024];
	const char *model = models[t % 3];
	double		temperature = (double[]) {0.0, 0.2, 0.4, 0.7}[t % 4];
	int			max_tokens = (int[]) {512, 768, 1024}[t % 3];
	static const char *const judges[] = {"answer-quality-judge", "tone-judge"};
	int			lat[2];

	rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t) (t * 1000003 + d * 7);
	status = statuses[t % 4];
	if (strcmp(status, "RUNNING") == 0)
		activity = activities[t % 5];
	else if (strcmp(status, "ERRORED") == 0)
		activity = "EVALUATING";
	else
		activity = "COMPLETED";
	for (phase = 0; strcmp(activities[phase], activity) != 0; phase++)
		;
	snprintf(instructions, sizeof(instructions),
			 "You are Acme Cloud's tier-1 support triage agent. (v%d, attempt %d) %s %s %s %s %s %s",
			 version, iteration, steps[t % 7], steps[(t + 1) % 7], steps[(t + 2) % 7],
			 steps[(t + 3) % 7], steps[(t + 4) % 7], steps[(t + 5) % 7]);

	buf_printf(&b, "{\"id\":\"%08x-%04x-4%03x-%04x-", (unsigned) rnd(), (unsigned) (rnd() & 0xffff),
			   (unsigned) (rnd() & 0xfff), (unsigned) (0x8000 | (rnd() & 0x3fff)));
	T->id_at = b.len;
	buf_add(&b, "000000000000", 12);
	buf_printf(&b, "\",\"runId\":\"%08x-%04x-4%03x-%04x-", (unsigned) (0x5eed0000 + d), 0x1111u, 0x222u, 0x8333u);
	T->run_at = b.len;
	buf_add(&b, "000000000000", 12);
	buf_printf(&b, "\",\"agentOptimizationId\":\"%s\",\"agentOptimizationVersion\":%d,"
			   "\"status\":\"%s\",\"activity\":\"%s\",\"iteration\":%d,\"instructions\":\"%s\","
			   "\"userInput\":\"%s\",\"parameters\":{\"temperature\":%.1f,\"max_tokens\":%d},"
			   "\"variation\":{\"instructions\":\"%s\",\"parameters\":{\"temperature\":%.1f,\"max_tokens\":%d},"
			   "\"modelConfigKey\":\"%s\"},\"createdAt\":%lld",
			   ds[d].opt_id, version, status, activity, iteration, instructions,
			   user_inputs[t % 7], temperature, max_tokens, instructions, temperature, max_tokens,
			   model, created);
	if (phase >= 2)
	{
		buf_printf(&b, ",\"completionResponse\":\"%s\",\"generationTokens\":", outputs[t % 4]);
		tokens(&b, 300, 1800);
		buf_printf(&b, ",\"generationLatency\":%d", rnd_between(700, 5200));
	}
	if (phase >= 3 || strcmp(status, "ERRORED") == 0)
	{
		for (i = 0; i < 2; i++)
			lat[i] = rnd_between(300, 2400);
		if (strcmp(status, "ERRORED") != 0)
		{
			buf_add(&b, ",\"scores\":{", 11);
			for (i = 0; i < 2; i++)
			{
				double		score = rnd_between(300, 999) / 1000.0;

				buf_printf(&b, "%s\"%s\":{\"score\":%.3f,\"rationale\":\"%s: %s (%.2f %s %.2f); %s\","
						   "\"duration_ms\":%d,\"usage\":", i ? "," : "", judges[i], score, judges[i],
						   score >= 0.75 ? "meets the bar" : "below the bar", score,
						   score >= 0.75 ? "\\u2265" : "<", 0.75,
						   score >= 0.75 ? "accurate and on-tone." : "misses a required step.", lat[i]);
				tokens(&b, 600, 1400);
				buf_add(&b, "}", 1);
			}
			buf_add(&b, "}", 1);
		}
		buf_add(&b, ",\"evaluationTokens\":{", 21);
		for (i = 0; i < 2; i++)
		{
			buf_printf(&b, "%s\"%s\":", i ? "," : "", judges[i]);
			tokens(&b, 600, 1400);
		}
		buf_printf(&b, "},\"evaluationLatencies\":{\"%s\":%d,\"%s\":%d}", judges[0], lat[0], judges[1], lat[1]);
	}
	if (strcmp(status, "PASSED") == 0 && t % 8 == 0)
		buf_printf(&b, ",\"createdVariationKey\":\"optimized-v%d-%d\"", version, iteration);
	buf_printf(&b, ",\"updatedAt\":%lld", created + rnd_between(1000, 9000));
	if (strcmp(status, "RUNNING") != 0)
		buf_printf(&b, ",\"completedAt\":%lld", created + rnd_between(9000, 12000));
	buf_add(&b, "}", 1);
	T->text = b.p;
	T->len = b.len;
}

static void
build_single(int d)
{
	Buf			b = {0};

	buf_printf(&b, "{\"id\":\"%s\",\"key\":\"%s\",\"aiConfigKey\":\"support-triage-agent\",\"maxAttempts\":40,"
			   "\"modelChoices\":[\"OpenAI.gpt-4o\",\"Anthropic.claude-3-7-sonnet-latest\",\"OpenAI.gpt-4o-mini\"],"
			   "\"judgeModel\":\"OpenAI.gpt-4o\",\"variableChoices\":[{\"key\":\"tone\",\"values\":[\"friendly\",\"formal\"]}],"
			   "\"acceptanceStatements\":[{\"statement\":\"The reply routes the ticket to the correct queue.\",\"threshold\":0.9}],"
			   "\"judges\":[{\"key\":\"answer-quality-judge\",\"threshold\":0.8},{\"key\":\"tone-judge\",\"threshold\":0.7}],"
			   "\"userInputOptions\":[\"Where is my order #A-1042? It was due Tuesday.\"],"
			   "\"groundTruthResponses\":[\"Queue: shipping.\"],\"metricKey\":\"ticket-resolved-first-contact\","
			   "\"tokenLimit\":4000,\"variationKey\":\"baseline\",\"label\":\"bench data set of %ld results\","
			   "\"latencyOptimization\":true,\"tokenOptimization\":false,\"autoCommit\":false,\"version\":3,"
			   "\"createdAt\":1780306200000,\"_links\":{\"self\":{\"href\":\"/api/v2/projects/%s/agent-optimizations/%s\","
			   "\"type\":\"application/json\"},\"parent\":{\"href\":\"/api/v2/projects/%s/agent-optimizations\","
			   "\"type\":\"application/json\"}}}",
			   ds[d].opt_id, ds[d].name, ds[d].count, project, ds[d].name, project);
	ds[d].single = b.p;
	ds[d].single_len = b.len;
}

static void
hex12(char *dst, unsigned long long v)
{
	static const char hx[] = "0123456789abcdef";
	int			i;

	for (i = 11; i >= 0; i--)
	{
		dst[i] = hx[v & 15];
		v >>= 4;
	}
}

/* ------------------------------------------------------------------ */
/* pages and their cache                                               */

typedef struct CacheEntry
{
	struct CacheEntry *next;
	int			d;
	long		limit,
				offset;
	char	   *body;
	size_t		len;
} CacheEntry;

#define CACHE_BUCKETS 65536
static CacheEntry *cache[CACHE_BUCKETS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned
cache_hash(int d, long limit, long offset)
{
	uint64_t	h = (uint64_t) d * 0x9e3779b97f4a7c15ULL ^ (uint64_t) limit * 0xc2b2ae3d27d4eb4fULL ^
		(uint64_t) offset * 0x165667b19e3779f9ULL;

	return (unsigned) ((h ^ (h >> 29)) % CACHE_BUCKETS);
}

static void
render_page(int d, long limit, long offset, const char *which, Buf *b)
{
	long		n = ds[d].count - offset,
				i;

	if (n > limit)
		n = limit;
	if (n < 0)
		n = 0;
	buf_reserve(b, (size_t) n * (tmpl[d][0].len + 64) + 1024);
	buf_add(b, "{\"items\":[", 10);
	for (i = 0; i < n; i++)
	{
		long		k = offset + i;
		Template   *T = &tmpl[d][k % NT];
		char	   *dst;

		if (i)
			buf_add(b, ",", 1);
		buf_reserve(b, T->len);
		dst = b->p + b->len;
		memcpy(dst, T->text, T->len);
		hex12(dst + T->id_at, (unsigned long long) k);
		hex12(dst + T->run_at, (unsigned long long) (k / 40));
		b->len += T->len;
	}
	buf_printf(b, "],\"totalCount\":%ld,\"_links\":{\"self\":{\"href\":\"/api/v2/projects/%s/agent-optimizations/%s/%s?limit=%ld&offset=%ld\",\"type\":\"application/json\"}",
			   ds[d].count, project, ds[d].name, which, limit, offset);
	if (offset + n < ds[d].count)
		buf_printf(b, ",\"next\":{\"href\":\"/api/v2/projects/%s/agent-optimizations/%s/%s?limit=%ld&offset=%ld\",\"type\":\"application/json\"}",
				   project, ds[d].name, which, limit, offset + n);
	buf_add(b, "}}", 2);
}

/* the page body: from the cache, or rendered (into *tmp) and cached if it fits */
static const char *
get_page(int d, long limit, long offset, int latest, Buf *tmp, size_t *len)
{
	unsigned	h = cache_hash(d * 2 + latest, limit, offset);
	CacheEntry *e;

	pthread_mutex_lock(&cache_lock);
	for (e = cache[h]; e; e = e->next)
		if (e->d == d * 2 + latest && e->limit == limit && e->offset == offset)
			break;
	pthread_mutex_unlock(&cache_lock);
	if (e)
	{
		st_cache_hits++;
		*len = e->len;
		return e->body;
	}
	st_cache_misses++;
	tmp->len = 0;
	render_page(d, limit, offset, latest ? "results" : "all-results", tmp);
	if (atomic_load(&cache_bytes) + (long) tmp->len <= cache_limit)
	{
		e = malloc(sizeof(*e));
		e->d = d * 2 + latest;
		e->limit = limit;
		e->offset = offset;
		e->len = tmp->len;
		e->body = malloc(tmp->len);
		memcpy(e->body, tmp->p, tmp->len);
		cache_bytes += (long) tmp->len;
		pthread_mutex_lock(&cache_lock);
		e->next = cache[h];
		cache[h] = e;
		pthread_mutex_unlock(&cache_lock);
	}
	*len = tmp->len;
	return tmp->p;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

static int
write_all_v(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0)
	{
		ssize_t		n = writev(fd, iov, cnt);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (cnt > 0 && (size_t) n >= iov->iov_len)
		{
			n -= (ssize_t) iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0)
		{
			iov->iov_base = (char *) iov->iov_base + n;
			iov->iov_len -= (size_t) n;
		}
	}
	return 0;
}

static const char *
reason(int status)
{
	switch (status)
	{
		case 200:
			return "OK";
		case 201:
			return "Created";
		case 400:
			return "Bad Request";
		case 401:
			return "Unauthorized";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 413:
			return "Payload Too Large";
		default:
			return "Error";
	}
}

static int
respond(int fd, int status, const char *body, size_t len, int close_after, int counted)
{
	char		head[256];
	int			hl = snprintf(head, sizeof(head),
							  "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
							  status, reason(status), len,
							  close_after ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
	struct iovec iov[2] = {{head, (size_t) hl}, {(void *) body, len}};

	if (counted)
		st_bytes += hl + (long) len;
	return write_all_v(fd, iov, len ? 2 : 1);
}

static int
respond_error(int fd, int status, const char *code, const char *msg, int close_after, int counted)
{
	char		body[512];
	int			n = snprintf(body, sizeof(body), "{\"code\":\"%s\",\"message\":\"%s\"}", code, msg);

	return respond(fd, status, body, (size_t) n, close_after, counted);
}

static long
query_long(const char *query, const char *name, long dflt)
{
	size_t		nl = strlen(name);
	const char *p = query;

	while (p && *p)
	{
		if (strncmp(p, name, nl) == 0 && p[nl] == '=')
			return strtol(p + nl + 1, NULL, 10);
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return dflt;
}

/* copy the next path segment (percent-decoded) into out; returns the rest */
static const char *
segment(const char *p, char *out, size_t outsz)
{
	size_t		n = 0;

	while (*p && *p != '/')
	{
		char		c = *p++;

		if (c == '%' && isxdigit((unsigned char) p[0]) && isxdigit((unsigned char) p[1]))
		{
			char		hx[3] = {p[0], p[1], 0};

			c = (char) strtol(hx, NULL, 16);
			p += 2;
		}
		if (n + 1 < outsz)
			out[n++] = c;
	}
	out[n] = '\0';
	return p;
}

static int
find_ds(const char *name)
{
	int			i;

	for (i = 0; i < nds; i++)
		if (strcmp(ds[i].name, name) == 0)
			return i;
	return -1;
}

static void
note_inflight(void)
{
	long		cur = ++st_inflight;
	long		max = atomic_load(&st_max_inflight);

	while (cur > max && !atomic_compare_exchange_weak(&st_max_inflight, &max, cur))
		;
}

static int
handle_control(int fd, const char *method, const char *path, const char *query, int close_after)
{
	char		body[2048];
	int			n;

	if (strcmp(path, "/_bench/stats") == 0)
	{
		n = snprintf(body, sizeof(body),
					 "{\"requests\":%ld,\"gets\":%ld,\"pages\":%ld,\"posts\":%ld,\"other\":%ld,"
					 "\"bytes_out\":%ld,\"unauthorized\":%ld,\"not_found\":%ld,\"connections\":%ld,"
					 "\"inflight\":%ld,\"max_inflight\":%ld,\"post_hash\":\"%016lx\",\"delay_ms\":%d,"
					 "\"cache_hits\":%ld,\"cache_misses\":%ld,\"cache_bytes\":%ld,"
					 "\"patches\":%ld,\"patch_hash\":\"%016lx\"}",
					 st_requests, st_gets, st_pages, st_posts, st_other, st_bytes, st_unauth,
					 st_notfound, st_conns, st_inflight, st_max_inflight,
					 (unsigned long) st_post_hash, delay_ms, st_cache_hits, st_cache_misses,
					 (long) cache_bytes, st_patches, (unsigned long) st_patch_hash);
		return respond(fd, 200, body, (size_t) n, close_after, 0);
	}
	if (strcmp(method, "POST") == 0 && strcmp(path, "/_bench/reset") == 0)
	{
		st_requests = st_gets = st_pages = st_posts = st_other = st_bytes = 0;
		st_unauth = st_notfound = st_conns = st_cache_hits = st_cache_misses = 0;
		st_max_inflight = st_inflight;
		st_post_hash = 0;
		st_patches = 0;
		st_patch_hash = 0;
		return respond(fd, 200, "{}", 2, close_after, 0);
	}
	if (strcmp(method, "POST") == 0 && strcmp(path, "/_bench/delay") == 0)
	{
		delay_ms = (int) query_long(query, "ms", 0);
		n = snprintf(body, sizeof(body), "{\"delay_ms\":%d}", delay_ms);
		return respond(fd, 200, body, (size_t) n, close_after, 0);
	}
	return respond_error(fd, 404, "not_found", "unknown control route", close_after, 0);
}

static int
handle_post_result(int fd, int d, const char *body, size_t blen, int close_after)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i = 0;
	Buf			out = {0};
	long		seq;
	long long	now;
	struct timespec ts;
	int			rc;

	for (i = 0; i < blen; i++)
		h = (h ^ (unsigned char) body[i]) * 1099511628211ULL;
	st_post_hash += h;
	for (i = 0; i < blen && isspace((unsigned char) body[i]); i++)
		;
	if (i >= blen || body[i] != '{')
		return respond_error(fd, 400, "invalid_request", "body is not a JSON object", close_after, 1);
	i++;
	seq = ++post_seq;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	buf_printf(&out, "{\"id\":\"b0000000-0000-4000-8000-%012lx\",\"agentOptimizationId\":\"%s\","
			   "\"status\":\"RUNNING\",\"activity\":\"PENDING\",\"createdAt\":%lld,\"updatedAt\":%lld",
			   seq, ds[d].opt_id, now, now);
	{
		size_t		j = i;

		while (j < blen && isspace((unsigned char) body[j]))
			j++;
		if (j < blen && body[j] != '}')
			buf_add(&out, ",", 1);
	}
	buf_add(&out, body + i, blen - i);
	rc = respond(fd, 201, out.p, out.len, close_after, 1);
	free(out.p);
	return rc;
}

/*
 * A PATCH of one result: counted, its body hashed (order-independent sum,
 * like POSTs), answered 200 with the id and the fields sent.
 */
static int
handle_patch_result(int fd, int d, const char *id, const char *body, size_t blen,
					int close_after)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;
	Buf			out = {0};
	int			rc;

	for (i = 0; i < blen; i++)
		h = (h ^ (unsigned char) body[i]) * 1099511628211ULL;
	st_patch_hash += h;
	st_patches++;
	for (i = 0; i < blen && isspace((unsigned char) body[i]); i++)
		;
	if (i >= blen || body[i] != '{')
		return respond_error(fd, 400, "invalid_request", "body is not a JSON object", close_after, 1);
	buf_printf(&out, "{\"id\":\"%s\",\"agentOptimizationId\":\"%s\"", id, ds[d].opt_id);
	if (blen - i > 2)
		buf_add(&out, ",", 1);
	buf_add(&out, body + i + 1, blen - i - 1);
	rc = respond(fd, 200, out.p, out.len, close_after, 1);
	free(out.p);
	return rc;
}

static int
handle_api(int fd, const char *method, const char *path, const char *query,
		   const char *auth, const char *body, size_t blen, int close_after, Buf *tmp)
{
	char		seg[256];
	const char *p;
	int			d;

	if (auth == NULL || strcmp(auth, api_key) != 0)
	{
		st_unauth++;
		return respond_error(fd, 401, "unauthorized", "Invalid access token", close_after, 1);
	}
	if (strncmp(path, "/api/v2/projects/", 17) != 0)
		goto notfound;
	p = segment(path + 17, seg, sizeof(seg));
	if (strcmp(seg, project) != 0)
	{
		st_notfound++;
		return respond_error(fd, 404, "not_found", "Unknown project", close_after, 1);
	}
	if (strncmp(p, "/agent-optimizations", 20) != 0)
		goto notfound;
	p += 20;
	if (*p == '\0' || strcmp(p, "/") == 0)
	{
		/* the list of optimizations */
		long		limit = query_long(query, "limit", 20),
					offset = query_long(query, "offset", 0),
					i;
		Buf			out = {0};
		int			rc;

		if (strcmp(method, "GET") != 0)
			return respond_error(fd, 405, "method_not_allowed", "method not allowed", close_after, 1);
		if (limit < 1 || limit > max_limit)
			limit = limit < 1 ? 20 : max_limit;
		buf_add(&out, "{\"items\":[", 10);
		for (i = offset; i < nds && i < offset + limit; i++)
		{
			if (i > offset)
				buf_add(&out, ",", 1);
			buf_add(&out, ds[i].single, ds[i].single_len);
		}
		buf_printf(&out, "],\"totalCount\":%d,\"_links\":{\"self\":{\"href\":\"/api/v2/projects/%s/agent-optimizations\",\"type\":\"application/json\"}}}", nds, project);
		rc = respond(fd, 200, out.p, out.len, close_after, 1);
		free(out.p);
		return rc;
	}
	if (*p != '/')
		goto notfound;
	p = segment(p + 1, seg, sizeof(seg));
	d = find_ds(seg);
	if (d < 0)
	{
		st_notfound++;
		return respond_error(fd, 404, "not_found", "Unknown agent optimization", close_after, 1);
	}
	if (*p == '\0')
	{
		if (strcmp(method, "GET") != 0)
			return respond_error(fd, 405, "method_not_allowed", "method not allowed", close_after, 1);
		return respond(fd, 200, ds[d].single, ds[d].single_len, close_after, 1);
	}
	if (strcmp(p, "/all-results") == 0 || strcmp(p, "/results") == 0)
	{
		int			latest = strcmp(p, "/results") == 0;

		if (strcmp(method, "GET") == 0)
		{
			long		limit = query_long(query, "limit", 20),
						offset = query_long(query, "offset", 0);
			size_t		len;
			const char *page;

			if (limit < 1)
				limit = 20;
			if (limit > max_limit)
				limit = max_limit;
			if (offset < 0)
				return respond_error(fd, 400, "invalid_request", "offset must be >= 0", close_after, 1);
			st_pages++;
			page = get_page(d, limit, offset, latest, tmp, &len);
			return respond(fd, 200, page, len, close_after, 1);
		}
		if (strcmp(method, "POST") == 0 && latest)
			return handle_post_result(fd, d, body, blen, close_after);
		return respond_error(fd, 405, "method_not_allowed", "method not allowed", close_after, 1);
	}
	if (strncmp(p, "/results/", 9) == 0 && strchr(p + 9, '/') == NULL && p[9] != '\0')
	{
		if (strcmp(method, "PATCH") == 0)
			return handle_patch_result(fd, d, p + 9, body, blen, close_after);
		return respond_error(fd, 405, "method_not_allowed", "method not allowed", close_after, 1);
	}
notfound:
	st_notfound++;
	return respond_error(fd, 404, "not_found", "Unknown resource", close_after, 1);
}

/*
 * Read what the socket has into in (room for at least want more bytes),
 * NUL-terminated; 0 at end of stream or on an error.
 */
static int
read_more(int fd, Buf *in, size_t want)
{
	for (;;)
	{
		ssize_t		n;

		buf_reserve(in, want);
		n = read(fd, in->p + in->len, in->cap - in->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		in->len += (size_t) n;
		in->p[in->len] = '\0';
		return 1;
	}
}

static void *
conn_main(void *arg)
{
	int			fd = (int) (intptr_t) arg;
	Buf			in = {0},
				tmp = {0};

	buf_reserve(&in, 65536);
	st_conns++;
	for (;;)
	{
		char	   *hend;
		char		method[16],
					target[8192],
					version[16];
		char	   *auth = NULL,
				   *line,
				   *path,
				   *query;
		long		clen = 0;
		int			close_after = 0,
					rc;
		size_t		hlen;

		/* read until the end of the header */
		while ((hend = memmem(in.p, in.len, "\r\n\r\n", 4)) == NULL)
			if (in.len > MAX_HEADER || !read_more(fd, &in, 65536))
				goto done;
		hlen = (size_t) (hend - in.p) + 4;
		*hend = '\0';
		if (sscanf(in.p, "%15s %8191s %15s", method, target, version) != 3)
		{
			respond_error(fd, 400, "invalid_request", "bad request line", 1, 0);
			goto done;
		}
		if (strcmp(version, "HTTP/1.0") == 0)
			close_after = 1;
		line = strstr(in.p, "\r\n");
		while (line && line < hend)
		{
			char	   *v,
					   *eol;

			line += 2;
			eol = strstr(line, "\r\n");
			if (eol)
				*eol = '\0';
			v = strchr(line, ':');
			if (v)
			{
				*v++ = '\0';
				while (*v == ' ' || *v == '\t')
					v++;
				if (strcasecmp(line, "content-length") == 0)
					clen = strtol(v, NULL, 10);
				else if (strcasecmp(line, "authorization") == 0)
					auth = v;
				else if (strcasecmp(line, "connection") == 0)
				{
					if (strcasecmp(v, "close") == 0)
						close_after = 1;
					else if (strcasecmp(v, "keep-alive") == 0)
						close_after = 0;
				}
			}
			line = eol;
		}
		if (clen < 0 || clen > MAX_BODY)
		{
			respond_error(fd, 413, "invalid_request", "body too large", 1, 0);
			goto done;
		}
		/* read the body */
		while (in.len < hlen + (size_t) clen)
			if (!read_more(fd, &in, hlen + (size_t) clen - in.len))
				goto done;
		path = target;
		query = strchr(target, '?');
		if (query)
			*query++ = '\0';
		else
			query = "";
		if (verbose)
			fprintf(stderr, "%s %s?%s\n", method, path, query);
		if (strncmp(path, "/_bench/", 8) == 0)
			rc = handle_control(fd, method, path, query, close_after);
		else
		{
			int			dm;

			/* counted on arrival, so a request the client gives up on during the delay counts too */
			st_requests++;
			if (strcmp(method, "GET") == 0)
				st_gets++;
			else if (strcmp(method, "POST") == 0)
				st_posts++;
			else
				st_other++;
			note_inflight();
			dm = delay_ms;
			if (dm > 0)
			{
				struct timespec ts = {dm / 1000, (long) (dm % 1000) * 1000000L};

				while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
					;
			}
			rc = handle_api(fd, method, path, query, auth, in.p + hlen, (size_t) clen, close_after, &tmp);
			st_inflight--;
		}
		if (rc != 0 || close_after)
			goto done;
		/* keep what follows (a pipelined request) */
		memmove(in.p, in.p + hlen + clen, in.len - hlen - (size_t) clen);
		in.len -= hlen + (size_t) clen;
		in.p[in.len] = '\0';
		if (tmp.cap > 64 * 1024 * 1024)
		{
			free(tmp.p);
			tmp.p = NULL;
			tmp.len = tmp.cap = 0;
		}
	}
done:
	close(fd);
	free(in.p);
	free(tmp.p);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: ldbench_server [--port N] [--port-file F] [--key K] [--project P]\n"
			"       [--delay-ms N] [--max-lifetime S] [--cache-mb N] [--max-limit N] [-v]\n"
			"       --opt NAME=COUNT [--opt NAME=COUNT ...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int			port = 0,
				lifetime = 900,
				i,
				lfd,
				one = 1;
	const char *port_file = NULL;
	struct sockaddr_in addr = {0};
	socklen_t	alen = sizeof(addr);
	pthread_attr_t attr;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-v") == 0)
		{
			verbose = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--port-file") == 0)
			port_file = v;
		else if (strcmp(a, "--key") == 0)
			api_key = v;
		else if (strcmp(a, "--project") == 0)
			project = v;
		else if (strcmp(a, "--delay-ms") == 0)
			delay_ms = atoi(v);
		else if (strcmp(a, "--max-lifetime") == 0)
			lifetime = atoi(v);
		else if (strcmp(a, "--cache-mb") == 0)
			cache_limit = atol(v) * 1024L * 1024L;
		else if (strcmp(a, "--max-limit") == 0)
			max_limit = atol(v);
		else if (strcmp(a, "--opt") == 0)
		{
			const char *eq = strchr(v, '=');

			if (!eq || nds >= MAX_DS || (size_t) (eq - v) >= sizeof(ds[0].name))
				usage();
			memcpy(ds[nds].name, v, (size_t) (eq - v));
			ds[nds].count = atol(eq + 1);
			snprintf(ds[nds].opt_id, sizeof(ds[nds].opt_id), "0b7e0000-0000-4000-8000-%012x", nds + 1);
			nds++;
		}
		else
			usage();
	}
	if (nds == 0)
		usage();
	for (i = 0; i < nds; i++)
	{
		int			t;

		for (t = 0; t < NT; t++)
			build_template(i, t);
		build_single(i);
	}

	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned) lifetime); /* SIGALRM's default action ends the process */

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((uint16_t) port);
	if (bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) != 0 || listen(lfd, 256) != 0)
	{
		perror("bind/listen");
		return 1;
	}
	getsockname(lfd, (struct sockaddr *) &addr, &alen);
	port = ntohs(addr.sin_port);
	if (port_file)
	{
		FILE	   *f = fopen(port_file, "w");

		if (!f)
		{
			perror(port_file);
			return 1;
		}
		fprintf(f, "%d\n", port);
		fclose(f);
	}
	fprintf(stderr, "ldbench_server: listening on 127.0.0.1:%d, %d data set(s), item ~%zu bytes, lifetime %d s\n",
			port, nds, tmpl[0][0].len, lifetime);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;)
	{
		int			fd = accept(lfd, NULL, NULL);
		pthread_t	th;

		if (fd < 0)
		{
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			perror("accept");
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&th, &attr, conn_main, (void *) (intptr_t) fd) != 0)
			close(fd);
	}
}
