/*-------------------------------------------------------------------------
 *
 * budget.c
 *		  A good citizen of LaunchDarkly's account-wide rate limit: our own
 *		  request budget per server (max_requests_per_second), the last
 *		  rate-limit state LaunchDarkly reported per base_url, and the
 *		  request statistics behind the ldai_fdw_stats view.
 *
 * With ldai_fdw in shared_preload_libraries the state lives in shared
 * memory, so every backend of the cluster shares it (one LWLock guards
 * it; it is held only for a few compares and stores, never across a wait
 * or anything that can fail).  Without preloading the same structures live
 * in this backend's memory: the budget and the statistics are this
 * session's.
 *
 * Nothing is ever "held" by a session: the budget of a server is a bucket
 * of one request that refills with time (the next request may go at
 * next_us; taking it moves next_us on by 1/rate), and LaunchDarkly's
 * windows are counters that requests decrement as they go out and that
 * answers and resets refill.  A session terminated in the middle of a wait
 * has taken nothing, so pg_terminate_backend cannot leak budget.
 *
 * Before each request goes out, ld_budget_acquire() looks at the server's
 * bucket and at what LaunchDarkly last said remains of the global, route
 * and access-token windows (X-Ratelimit-*-Remaining, X-Ratelimit-Reset);
 * when the request does not fit, it waits (interruptibly, within
 * statement_timeout) until it does: LaunchDarkly answers 429 only to
 * clients that did not listen.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 170000
#include "utils/wait_event.h"
#endif

/* the caps of the shared tables (see README "Rate limits") */
#define LD_RL_SLOTS		256		/* rate-limit windows (base_url x scope) */
#define LD_BUCKET_SLOTS	64		/* servers with max_requests_per_second */
#define LD_STATS_SLOTS	LD_STATS_MAX	/* (server, endpoint) statistics rows */

/* after a window's reset, wait this much more (clocks and rounding) */
#define LD_RESET_SLACK_MS 25
/* a predicted window used up with no answer yet: wait at most this long */
#define LD_PROBE_MS 1000
/* the longest throttle wait we make at all */
#define LD_MAX_THROTTLE_MS 60000

/* what LaunchDarkly last said of one window */
typedef struct LdRateWindow
{
	uint64		key;			/* hash of base_url and scope; 0 = free */
	int64		remaining;		/* requests left (decremented as we send) */
	int64		limit;			/* the window's size, as told or learnt; 0 = unknown */
	int64		reset_ms;		/* epoch ms the window ends; 0 = unknown */
	int64		touched_ms;		/* last answer or request */
	int64		heard_ms;		/* last answer that told of it */
} LdRateWindow;

/* our own budget of one server */
typedef struct LdBucket
{
	Oid			dbid;
	Oid			serverid;		/* InvalidOid = free */
	TimestampTz next_us;		/* the next request may go then */
} LdBucket;

/* statistics of one (server, endpoint template) */
typedef struct LdStatSlot
{
	Oid			dbid;
	Oid			serverid;
	uint32		hash;			/* of the endpoint; slot in use when endpoint[0] */
	char		endpoint[LD_ENDPOINT_LEN];
	LdCounters	c;
} LdStatSlot;

typedef struct LdShared
{
	LWLock	   *lock;			/* NULL in a backend's own copy */
	TimestampTz stats_reset;
	LdRateWindow	windows[LD_RL_SLOTS];
	LdBucket	buckets[LD_BUCKET_SLOTS];
	LdStatSlot	stats[LD_STATS_SLOTS];
} LdShared;

static LdShared *ld_shared = NULL;
static bool ld_preloaded = false;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * shmem_request
 *		Ask for our shared memory and LWLock (shared_preload_libraries).
 */
static void
shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(MAXALIGN(sizeof(LdShared)));
	RequestNamedLWLockTranche("ldai_fdw", 1);
}

/*
 * shmem_startup
 *		Attach to (or, first, initialise) the shared state.
 */
static void
shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ld_shared = ShmemInitStruct("ldai_fdw budget", sizeof(LdShared), &found);
	if (!found)
	{
		memset(ld_shared, 0, sizeof(LdShared));
		ld_shared->lock = &(GetNamedLWLockTranche("ldai_fdw"))->lock;
		ld_shared->stats_reset = GetCurrentTimestamp();
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * ld_budget_init
 *		From _PG_init: when preloaded, install the shared memory hooks.
 */
void
ld_budget_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	ld_preloaded = true;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
#else
	shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
}

/*
 * ld_budget_shared
 *		Whether the state is shared by the cluster (preloaded).
 */
bool
ld_budget_shared(void)
{
	return ld_preloaded && ld_shared != NULL && ld_shared->lock != NULL;
}

/*
 * state
 *		The state: shared, or this backend's own (made on first use).
 */
static LdShared *
state(void)
{
	if (ld_shared == NULL)
	{
		ld_shared = MemoryContextAllocZero(TopMemoryContext, sizeof(LdShared));
		ld_shared->stats_reset = GetCurrentTimestamp();
	}
	return ld_shared;
}

/* lock / unlock the state (no-ops for a backend's own copy) */
static void
lock_state(LdShared *s)
{
	if (s->lock)
		LWLockAcquire(s->lock, LW_EXCLUSIVE);
}

static void
unlock_state(LdShared *s)
{
	if (s->lock)
		LWLockRelease(s->lock);
}

/*
 * epoch_ms
 *		A timestamp as Unix epoch milliseconds (LaunchDarkly's resets).
 */
static int64
epoch_ms(TimestampTz ts)
{
	return ts / 1000 +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
}

/*
 * scope_key
 *		The key of one window: base_url, a scope name and a number (the
 *		route's template or the access token, hashed; never stored).
 */
static uint64
scope_key(const char *base_url, const char *scope, uint64 extra)
{
	uint64		h = hash_bytes_extended((const unsigned char *) base_url,
										(int) strlen(base_url), 0);

	h = hash_bytes_extended((const unsigned char *) scope, (int) strlen(scope), h);
	h ^= extra * UINT64CONST(0x9E3779B97F4A7C15);
	return h ? h : 1;
}

/*
 * ld_budget_key
 *		Fill in the window keys and identity of a request, once per request.
 */
void
ld_budget_key(LdBudgetKey *k, Oid serverid, int rate, const char *base_url,
			  const char *api_key, const char *endpoint)
{
	uint64		key_hash = hash_bytes_extended((const unsigned char *) api_key,
											   (int) strlen(api_key), 7);

	k->serverid = serverid;
	k->rate = rate;
	k->endpoint = endpoint;
	k->windows[0] = scope_key(base_url, "global", 0);
	k->windows[1] = scope_key(base_url, "route",
							  hash_bytes_extended((const unsigned char *) endpoint,
												  (int) strlen(endpoint), 3));
	k->windows[2] = scope_key(base_url, "token", key_hash);
}

/*
 * find_window
 *		The window of a key, or NULL; with create, a new one (the least
 *		recently touched one is reused when the table is full).
 */
static LdRateWindow *
find_window(LdShared *s, uint64 key, bool create, int64 now_ms)
{
	LdRateWindow   *victim = NULL;
	int			i;

	for (i = 0; i < LD_RL_SLOTS; i++)
	{
		LdRateWindow   *w = &s->windows[i];

		if (w->key == key)
			return w;
		if (victim == NULL || w->key == 0 ||
			(victim->key != 0 && w->touched_ms < victim->touched_ms))
			victim = w;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->key = key;
	victim->touched_ms = now_ms;
	return victim;
}

/*
 * window_wait
 *		How long a request must wait for one window (0: it may go).  A
 *		window whose reset has passed starts again full when its size is
 *		known (else it is forgotten); a predicted window used up before any
 *		answer told its reset waits for that answer; when none told of the
 *		window for LD_PROBE_MS, the route is not limited any more (a route
 *		that is not limited sends no header): the window is forgotten.
 */
static int64
window_wait(LdRateWindow *w, int64 now_ms)
{
	if (w->reset_ms > 0 && now_ms >= w->reset_ms + LD_RESET_SLACK_MS)
	{
		if (w->limit <= 0)
		{
			w->key = 0;
			return 0;
		}
		w->remaining = w->limit;
		w->reset_ms = 0;
	}
	if (w->remaining > 0)
		return 0;
	if (w->reset_ms > 0)
		return w->reset_ms + LD_RESET_SLACK_MS - now_ms;
	if (now_ms - w->heard_ms >= LD_PROBE_MS)
	{
		w->key = 0;
		return 0;
	}
	return 50;
}

/*
 * find_bucket
 *		The budget of a server, made (or a stale one reused) as needed.
 */
static LdBucket *
find_bucket(LdShared *s, Oid serverid)
{
	LdBucket   *victim = NULL;
	int			i;

	for (i = 0; i < LD_BUCKET_SLOTS; i++)
	{
		LdBucket   *b = &s->buckets[i];

		if (b->serverid == serverid && b->dbid == MyDatabaseId)
			return b;
		if (victim == NULL || b->serverid == InvalidOid ||
			(victim->serverid != InvalidOid && b->next_us < victim->next_us))
			victim = b;
	}
	victim->dbid = MyDatabaseId;
	victim->serverid = serverid;
	victim->next_us = 0;
	return victim;
}

/*
 * try_take
 *		Take the budget for one request if it fits now: returns 0, or the
 *		milliseconds to wait before asking again (nothing taken).
 */
static int64
try_take(const LdBudgetKey *k)
{
	LdShared   *s = state();
	TimestampTz now = GetCurrentTimestamp();
	int64		now_ms = epoch_ms(now);
	int64		wait = 0;
	LdRateWindow   *w[3];
	LdBucket   *b = NULL;
	int			i;

	lock_state(s);
	if (k->rate > 0)
	{
		b = find_bucket(s, k->serverid);
		if (b->next_us > now)
			wait = (b->next_us - now + 999) / 1000;
	}
	for (i = 0; i < 3; i++)
	{
		w[i] = find_window(s, k->windows[i], false, now_ms);
		if (w[i] != NULL)
			wait = Max(wait, window_wait(w[i], now_ms));
	}
	if (wait == 0)
	{
		/* one request of 1/rate s; 5% spare for the jitter of the network */
		if (b != NULL)
			b->next_us = now + (TimestampTz) (1050000.0 / k->rate);
		for (i = 0; i < 3; i++)
			if (w[i] != NULL && w[i]->key != 0)
			{
				w[i]->remaining--;
				w[i]->touched_ms = now_ms;
			}
	}
	unlock_state(s);
	return wait;
}

/*
 * throttle_wait_event
 *		The wait event pg_stat_activity shows while a request waits for
 *		budget.
 */
static uint32
throttle_wait_event(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 event = 0;

	if (event == 0)
		event = WaitEventExtensionNew("LaunchDarklyThrottle");
	return event;
#else
	return PG_WAIT_EXTENSION;
#endif
}

/*
 * check_throttle_fits
 *		A wait for budget that is longer than what is left of
 *		statement_timeout (or than LD_MAX_THROTTLE_MS) is an error at once,
 *		as a 429's wait is.
 */
static void
check_throttle_fits(const LdBudgetKey *k, int64 wait)
{
	int64		left = LD_MAX_THROTTLE_MS;
	bool		timeout = false;

	if (get_timeout_active(STATEMENT_TIMEOUT))
	{
		int64		stmt_left = (get_timeout_finish_time(STATEMENT_TIMEOUT) -
								 GetCurrentTimestamp()) / 1000;

		if (stmt_left < left)
		{
			left = stmt_left;
			timeout = true;
		}
	}
	if (wait < left)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("LaunchDarkly's rate limit leaves no room for this request for %lld ms",
					(long long) wait),
			 timeout ? errdetail("That is more than what is left of statement_timeout.") :
			 errdetail("Waits longer than %d ms are not made.", LD_MAX_THROTTLE_MS),
			 errhint("Try again in %lld seconds.", (long long) (wait + 999) / 1000),
			 errcontext("LaunchDarkly request: %s", k->endpoint)));
}

/*
 * ld_budget_acquire
 *		Before a request goes out: take its budget, waiting until it fits
 *		when may_wait (interruptibly; the time shows as throttled in the
 *		statistics), else return false at once when it does not fit (the
 *		caller sends it later).
 */
bool
ld_budget_acquire(const LdBudgetKey *k, bool may_wait)
{
	for (;;)
	{
		int64		wait = try_take(k);
		TimestampTz start;
		LdCounters	delta;

		if (wait == 0)
			return true;
		if (!may_wait)
			return false;
		check_throttle_fits(k, wait);
		start = GetCurrentTimestamp();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) Min(wait, 1000), throttle_wait_event());
		ResetLatch(MyLatch);
		memset(&delta, 0, sizeof(delta));
		delta.throttled_ms = (GetCurrentTimestamp() - start) / 1000.0;
		ld_stats_add(k->serverid, k->endpoint, &delta);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * observe_window
 *		Take what an answer said of one window.  A later reset is a new
 *		window; the same reset keeps the lower count (requests of ours may
 *		be in flight that the answer did not count yet).
 */
static void
observe_window(LdShared *s, uint64 key, int64 remaining, int64 limit,
			   int64 reset_ms, int64 now_ms)
{
	LdRateWindow   *w;

	if (remaining < 0)
		return;
	if (reset_ms <= 0)
		reset_ms = now_ms + 1000;	/* no reset told: look again soon */
	w = find_window(s, key, true, now_ms);
	if (w->reset_ms == 0 && w->limit == 0)
		w->remaining = remaining;	/* new */
	else if (w->reset_ms == 0 || reset_ms == w->reset_ms)
		w->remaining = Min(w->remaining, remaining);
	else if (reset_ms > w->reset_ms)
		w->remaining = remaining;
	else
		return;					/* an answer of a window gone by */
	w->reset_ms = reset_ms;
	w->limit = limit > 0 ? limit : Max(w->limit, remaining + 1);
	w->touched_ms = now_ms;
	w->heard_ms = now_ms;
}

/*
 * ld_budget_observe
 *		After an answer: remember its rate-limit headers.  (A 429 without
 *		them only delays its own retry, as the retry policy says.)
 */
void
ld_budget_observe(const LdBudgetKey *k, const LdhResponse *r)
{
	LdShared   *s = state();
	const LdhRateLimit *rl = &r->ratelimit;
	int64		now_ms = epoch_ms(GetCurrentTimestamp());

	if (r->outcome != LDH_DONE)
		return;
	lock_state(s);
	observe_window(s, k->windows[0], rl->global_remaining, rl->global_limit,
				   rl->reset_ms, now_ms);
	observe_window(s, k->windows[1], rl->route_remaining, rl->route_limit,
				   rl->reset_ms, now_ms);
	observe_window(s, k->windows[2], rl->token_remaining, rl->token_limit,
				   rl->token_reset_ms >= 0 ? rl->token_reset_ms : rl->reset_ms, now_ms);
	unlock_state(s);
}

/*
 * find_stat
 *		The statistics slot of (this database, server, endpoint), made as
 *		needed; the last slot collects what does not fit any more.
 */
static LdStatSlot *
find_stat(LdShared *s, Oid serverid, const char *endpoint)
{
	uint32		h = hash_bytes((const unsigned char *) endpoint, (int) strlen(endpoint));
	LdStatSlot *last = &s->stats[LD_STATS_SLOTS - 1];
	int			i;

	for (i = 0; i < LD_STATS_SLOTS - 1; i++)
	{
		LdStatSlot *e = &s->stats[i];

		if (e->endpoint[0] == '\0')
		{
			e->dbid = MyDatabaseId;
			e->serverid = serverid;
			e->hash = h;
			strlcpy(e->endpoint, endpoint, sizeof(e->endpoint));
			return e;
		}
		if (e->hash == h && e->serverid == serverid && e->dbid == MyDatabaseId &&
			strncmp(e->endpoint, endpoint, sizeof(e->endpoint) - 1) == 0)
			return e;
	}
	if (last->endpoint[0] == '\0')
		strlcpy(last->endpoint, "(other)", sizeof(last->endpoint));
	return last;
}

/*
 * ld_stats_add
 *		Add to the statistics of (server, endpoint).
 */
void
ld_stats_add(Oid serverid, const char *endpoint, const LdCounters *d)
{
	LdShared   *s = state();
	LdStatSlot *e;

	lock_state(s);
	e = find_stat(s, serverid, endpoint);
	e->c.requests += d->requests;
	e->c.retries += d->retries;
	e->c.status_2xx += d->status_2xx;
	e->c.status_4xx += d->status_4xx;
	e->c.status_429 += d->status_429;
	e->c.status_5xx += d->status_5xx;
	e->c.status_other += d->status_other;
	e->c.transport_errors += d->transport_errors;
	e->c.bytes_received += d->bytes_received;
	e->c.network_ms += d->network_ms;
	e->c.throttled_ms += d->throttled_ms;
	unlock_state(s);
}

/*
 * ld_stats_snapshot
 *		A copy of this database's statistics rows (palloc'd), their count,
 *		and when they were last reset.
 */
int
ld_stats_snapshot(LdStatRow **rows, TimestampTz *reset)
{
	LdShared   *s = state();
	LdStatRow  *out = palloc(sizeof(LdStatRow) * LD_STATS_SLOTS);
	int			n = 0;
	int			i;

	lock_state(s);
	for (i = 0; i < LD_STATS_SLOTS; i++)
	{
		LdStatSlot *e = &s->stats[i];

		if (e->endpoint[0] == '\0' ||
			(i < LD_STATS_SLOTS - 1 && e->dbid != MyDatabaseId))
			continue;
		out[n].serverid = i < LD_STATS_SLOTS - 1 ? e->serverid : InvalidOid;
		memcpy(out[n].endpoint, e->endpoint, sizeof(out[n].endpoint));
		out[n].c = e->c;
		n++;
	}
	*reset = s->stats_reset;
	unlock_state(s);
	*rows = out;
	return n;
}

/*
 * ld_stats_reset_all
 *		Forget every statistic (of every database, when shared).
 */
void
ld_stats_reset_all(void)
{
	LdShared   *s = state();

	lock_state(s);
	memset(s->stats, 0, sizeof(s->stats));
	s->stats_reset = GetCurrentTimestamp();
	unlock_state(s);
}
