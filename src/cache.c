/*-------------------------------------------------------------------------
 *
 * cache.c
 *		  A query-scoped cache of GET responses, so that a nested loop that
 *		  asks for the same key twice in one query sends one request.
 *
 * Each executing query (EState) that uses the cache gets its own, in a
 * child of its es_query_cxt: it goes with the query, so the next query --
 * also the next statement of a DO block or function -- asks again.  A
 * memory context callback unlinks it from the list of live caches when
 * the query's memory goes (at its end, or after an ERROR).  Any write
 * (POST/PATCH/DELETE) empties every live cache, so a read after a write
 * sees the write.  Entries are keyed by user mapping and path (with
 * query), and each cache holds at most LD_CACHE_MAX_BYTES.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#define LD_CACHE_KEY_LEN 1024
#define LD_CACHE_MAX_BYTES (16 * 1024 * 1024)

typedef struct LdCacheEntry
{
	char		key[LD_CACHE_KEY_LEN];	/* "<umid> <path?query>" */
	LdResult	result;
} LdCacheEntry;

/* the cache of one executing query */
typedef struct LdCache
{
	EState	   *estate;			/* the query it belongs to */
	MemoryContext cxt;			/* entries; child of es_query_cxt */
	HTAB	   *tab;			/* NULL when emptied */
	Size		bytes;
	MemoryContextCallback cb;	/* unlinks it when the query's memory goes */
	struct LdCache *next;
} LdCache;

/* the caches of the queries running now (nested queries have their own) */
static LdCache *caches = NULL;

/*
 * ld_cache_reset
 *		Empty every live cache (a write: what was read may be stale now).
 */
void
ld_cache_reset(void)
{
	LdCache    *c;

	for (c = caches; c != NULL; c = c->next)
	{
		MemoryContextReset(c->cxt);
		c->tab = NULL;
		c->bytes = 0;
	}
}

/*
 * cache_gone
 *		Memory context callback: the query's memory goes, unlink its cache.
 */
static void
cache_gone(void *arg)
{
	LdCache    *gone = (LdCache *) arg;
	LdCache   **p;

	for (p = &caches; *p != NULL; p = &(*p)->next)
		if (*p == gone)
		{
			*p = gone->next;
			break;
		}
}

/*
 * query_cache
 *		The cache of the query estate, created on first use.
 */
static LdCache *
query_cache(EState *estate)
{
	LdCache    *c;
	HASHCTL		ctl;

	for (c = caches; c != NULL; c = c->next)
		if (c->estate == estate)
			break;
	if (c == NULL)
	{
		c = MemoryContextAllocZero(estate->es_query_cxt, sizeof(LdCache));
		c->estate = estate;
		c->cxt = AllocSetContextCreate(estate->es_query_cxt, "ldai_fdw response cache",
									   ALLOCSET_DEFAULT_SIZES);
		c->cb.func = cache_gone;
		c->cb.arg = c;
		MemoryContextRegisterResetCallback(estate->es_query_cxt, &c->cb);
		c->next = caches;
		caches = c;
	}
	if (c->tab == NULL)
	{
		ctl.keysize = LD_CACHE_KEY_LEN;
		ctl.entrysize = sizeof(LdCacheEntry);
		ctl.hcxt = c->cxt;
		c->tab = hash_create("ldai_fdw responses", 64, &ctl,
							 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	return c;
}

/*
 * cache_key
 *		The key of a request, or false if it is too long to cache.
 */
static bool
cache_key(Oid umid, const char *path, char *key)
{
	return snprintf(key, LD_CACHE_KEY_LEN, "%u %s", umid, path) < LD_CACHE_KEY_LEN;
}

/*
 * ld_cache_get
 *		A copy (in the current context) of the answer this query already
 *		got for the request, if any.
 */
bool
ld_cache_get(EState *estate, Oid umid, const char *path, LdResult *result)
{
	char		key[LD_CACHE_KEY_LEN];
	LdCacheEntry *e;

	if (!cache_key(umid, path, key))
		return false;
	e = hash_search(query_cache(estate)->tab, key, HASH_FIND, NULL);
	if (e == NULL)
		return false;
	*result = e->result;
	result->body = palloc(e->result.body_len + 1);
	memcpy(result->body, e->result.body, e->result.body_len + 1);
	return true;
}

/*
 * ld_cache_put
 *		Remember an answer for the rest of the query (while its cache has
 *		room).
 */
void
ld_cache_put(EState *estate, Oid umid, const char *path, const LdResult *result)
{
	char		key[LD_CACHE_KEY_LEN];
	LdCache    *c = query_cache(estate);
	LdCacheEntry *e;
	bool		found;

	if (!cache_key(umid, path, key) ||
		c->bytes + result->body_len > LD_CACHE_MAX_BYTES)
		return;
	e = hash_search(c->tab, key, HASH_ENTER, &found);
	if (found)
		return;
	e->result = *result;
	e->result.body = MemoryContextAlloc(c->cxt, result->body_len + 1);
	memcpy(e->result.body, result->body, result->body_len + 1);
	c->bytes += result->body_len;
}
