/*-------------------------------------------------------------------------
 *
 * cache.c
 *		  A statement-scoped cache of GET responses, so that a nested loop
 *		  that asks for the same key twice in one statement sends one
 *		  request.
 *
 * Entries live only as long as the statement that made them: the cache is
 * emptied when a new statement (or transaction) starts using it, and by
 * any write (POST/PATCH/DELETE), so a read after a write in the same
 * statement sees the write.  Entries are keyed by user mapping and path
 * (with query), and the cache holds at most LD_CACHE_MAX_BYTES.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "access/xact.h"
#include "storage/proc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#if PG_VERSION_NUM >= 170000
#define MY_LXID (MyProc->vxid.lxid)
#else
#define MY_LXID (MyProc->lxid)
#endif

#define LD_CACHE_KEY_LEN 1024
#define LD_CACHE_MAX_BYTES (16 * 1024 * 1024)

typedef struct LdCacheEntry
{
	char		key[LD_CACHE_KEY_LEN];	/* "<umid> <path?query>" */
	LdResult	result;
} LdCacheEntry;

static MemoryContext cache_cxt = NULL;
static HTAB *cache = NULL;
static LocalTransactionId cache_lxid = InvalidLocalTransactionId;
static TimestampTz cache_stmt = 0;
static Size cache_bytes = 0;

/*
 * ld_cache_reset
 *		Forget everything (a new statement, or a write).
 */
void
ld_cache_reset(void)
{
	if (cache_cxt != NULL)
		MemoryContextReset(cache_cxt);
	cache = NULL;
	cache_bytes = 0;
}

/*
 * current_cache
 *		The cache of the running statement, emptied if it belonged to an
 *		earlier one.
 */
static HTAB *
current_cache(void)
{
	HASHCTL		ctl;

	if (cache_lxid != MY_LXID || cache_stmt != GetCurrentStatementStartTimestamp())
	{
		ld_cache_reset();
		cache_lxid = MY_LXID;
		cache_stmt = GetCurrentStatementStartTimestamp();
	}
	if (cache == NULL)
	{
		if (cache_cxt == NULL)
			cache_cxt = AllocSetContextCreate(TopMemoryContext, "ldai_fdw response cache",
											  ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = LD_CACHE_KEY_LEN;
		ctl.entrysize = sizeof(LdCacheEntry);
		ctl.hcxt = cache_cxt;
		cache = hash_create("ldai_fdw responses", 64, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	return cache;
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
 *		A copy (in the current context) of the answer this statement
 *		already got for the request, if any.
 */
bool
ld_cache_get(Oid umid, const char *path, LdResult *result)
{
	char		key[LD_CACHE_KEY_LEN];
	LdCacheEntry *e;

	if (!cache_key(umid, path, key))
		return false;
	e = hash_search(current_cache(), key, HASH_FIND, NULL);
	if (e == NULL)
		return false;
	*result = e->result;
	result->body = palloc(e->result.body_len + 1);
	memcpy(result->body, e->result.body, e->result.body_len + 1);
	return true;
}

/*
 * ld_cache_put
 *		Remember an answer for the rest of the statement (while the cache
 *		has room).
 */
void
ld_cache_put(Oid umid, const char *path, const LdResult *result)
{
	char		key[LD_CACHE_KEY_LEN];
	LdCacheEntry *e;
	bool		found;

	if (!cache_key(umid, path, key) ||
		cache_bytes + result->body_len > LD_CACHE_MAX_BYTES)
		return;
	e = hash_search(current_cache(), key, HASH_ENTER, &found);
	if (found)
		return;
	e->result = *result;
	e->result.body = MemoryContextAlloc(cache_cxt, result->body_len + 1);
	memcpy(e->result.body, result->body, result->body_len + 1);
	cache_bytes += result->body_len;
}
