/*-------------------------------------------------------------------------
 *
 * page.c
 *		  Parse one response page of the LaunchDarkly API.
 *
 * No PostgreSQL header here (see page.h): the caller ties the returned
 * tree to its memory (scan.c does so with a memory context callback).
 *
 * A page's tree is allocated in an arena: a few large malloc'd chunks,
 * bump-allocated, freed all at once by ldp_free.  A page of 1000 items is
 * some 100,000 cJSON nodes and strings; one malloc and one free each was a
 * large part of a scan's time.  cJSON takes its allocator from process-
 * global hooks (cJSON_InitHooks), so the arena's are installed only around
 * the one cJSON_ParseWithLength call and reset to malloc/free right after.
 * Nothing in between can longjmp (the arena never calls PostgreSQL, and a
 * failed malloc is a NULL that cJSON handles), and a backend has one
 * thread.  The caveat: anything else in the process that installs its
 * own cJSON hooks has them reset to malloc/free by each page parse.  A page
 * tree must never be given to cJSON_Delete (nor have items detached or
 * replaced); cJSON's printing of it is fine, as its buffers are malloc'd
 * after the reset.
 *
 *-------------------------------------------------------------------------
 */
#include "page.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* a chunk of an arena, followed by its memory */
typedef struct LdpChunk
{
	struct LdpChunk *next;
	size_t		size;			/* usable bytes after the header */
	size_t		used;
} LdpChunk;

struct LdpArena
{
	LdpChunk   *chunks;			/* the current chunk first */
	size_t		next_size;		/* usable size of the next chunk */
};

#define LDP_ALIGN 16
#define LDP_CHUNK_HEADER \
	((sizeof(LdpChunk) + LDP_ALIGN - 1) & ~((size_t) LDP_ALIGN - 1))
#define LDP_MAX_CHUNK ((size_t) 16 << 20)

/* the arena cJSON allocates from, while its hooks point here */
static LdpArena *current_arena;

/*
 * arena_new_chunk
 *		Add a chunk of at least size bytes to the arena; NULL when out of
 *		memory.
 */
static LdpChunk *
arena_new_chunk(LdpArena *arena, size_t size)
{
	size_t		want = arena->next_size > size ? arena->next_size : size;
	LdpChunk   *c;

	if (want > SIZE_MAX - LDP_CHUNK_HEADER)
		return NULL;
	c = malloc(LDP_CHUNK_HEADER + want);
	if (c == NULL)
		return NULL;
	c->size = want;
	c->used = 0;
	c->next = arena->chunks;
	arena->chunks = c;
	if (arena->next_size < LDP_MAX_CHUNK)
		arena->next_size *= 2;
	return c;
}

/*
 * arena_malloc
 *		cJSON's allocate hook while parsing: bump allocation, 16-aligned.
 */
static void *
arena_malloc(size_t size)
{
	LdpArena   *arena = current_arena;
	LdpChunk   *c = arena->chunks;
	size_t		need;

	if (size > SIZE_MAX - LDP_ALIGN)
		return NULL;
	need = (size + LDP_ALIGN - 1) & ~((size_t) LDP_ALIGN - 1);
	if (c == NULL || c->size - c->used < need)
	{
		c = arena_new_chunk(arena, need);
		if (c == NULL)
			return NULL;
	}
	c->used += need;
	return (char *) c + LDP_CHUNK_HEADER + c->used - need;
}

/*
 * arena_free
 *		cJSON's deallocate hook while parsing (a parse error drops the
 *		partial tree): nothing, the arena goes as a whole.
 */
static void
arena_free(void *ptr)
{
	(void) ptr;
}

/*
 * ldp_arena_free
 *		Free an arena and every tree in it.  Accepts NULL.
 */
void
ldp_arena_free(LdpArena *arena)
{
	LdpChunk   *c;

	if (arena == NULL)
		return;
	while ((c = arena->chunks) != NULL)
	{
		arena->chunks = c->next;
		free(c);
	}
	free(arena);
}

/*
 * ldp_free
 *		Free a page's tree (ldp_parse's root and arena).
 */
void
ldp_free(LdpPage *page)
{
	ldp_arena_free(page->arena);
	page->arena = NULL;
	page->root = NULL;
	page->first = NULL;
}

/*
 * parse_in_arena
 *		cJSON_ParseWithLength with every node and string in a new arena,
 *		which *arena receives (NULL, and nothing allocated, on failure).
 */
static cJSON *
parse_in_arena(const char *buf, size_t len, LdpArena **arena)
{
	cJSON_Hooks hooks = {arena_malloc, arena_free};
	cJSON	   *root;

	*arena = calloc(1, sizeof(LdpArena));
	if (*arena == NULL)
		return NULL;
	/* a first chunk as large as the JSON (the tree is larger), then doubling */
	(*arena)->next_size = len < (size_t) 16384 ? (size_t) 16384 :
		len < LDP_MAX_CHUNK ? len : LDP_MAX_CHUNK;
	current_arena = *arena;
	cJSON_InitHooks(&hooks);
	root = cJSON_ParseWithLength(buf, len);
	cJSON_InitHooks(NULL);
	current_arena = NULL;
	if (root == NULL)
	{
		ldp_arena_free(*arena);
		*arena = NULL;
	}
	return root;
}

/*
 * ldp_parse
 *		Parse a response body of the given form (LdpForm): one object
 *		(which becomes the page's only item), a collection with an "items"
 *		array, or a bare JSON array of items (no paging facts).  On success
 *		the caller frees the page with ldp_free (never cJSON_Delete); on
 *		failure nothing is allocated.
 */
LdpStatus
ldp_parse(const char *buf, size_t len, int form, LdpPage *page)
{
	LdpArena   *arena;
	cJSON	   *root = parse_in_arena(buf, len, &arena);
	cJSON	   *items;
	cJSON	   *total;
	cJSON	   *links;

	memset(page, 0, sizeof(*page));
	page->total = -1;
	if (root == NULL)
		return LDP_MALFORMED;
	if (form == LDP_FORM_ARRAY ? !cJSON_IsArray(root) : !cJSON_IsObject(root))
	{
		ldp_arena_free(arena);
		return form == LDP_FORM_ARRAY ? LDP_NOT_ARRAY : LDP_NOT_OBJECT;
	}
	page->root = root;
	page->arena = arena;
	if (form == LDP_FORM_ITEM)
	{
		page->first = root;
		page->nitems = 1;
		return LDP_OK;
	}
	items = form == LDP_FORM_ARRAY ? root :
		cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsArray(items))
	{
		ldp_free(page);
		return LDP_NO_ITEMS;
	}
	page->first = items->child;
	page->nitems = cJSON_GetArraySize(items);
	if (form == LDP_FORM_ARRAY)
		return LDP_OK;
	total = cJSON_GetObjectItemCaseSensitive(root, "totalCount");
	if (cJSON_IsNumber(total) && total->valuedouble >= 0 && total->valuedouble < 9e15)
		page->total = (long long) total->valuedouble;
	links = cJSON_GetObjectItemCaseSensitive(root, "_links");
	page->has_links = cJSON_IsObject(links);
	page->has_next = page->has_links &&
		cJSON_GetObjectItemCaseSensitive(links, "next") != NULL;
	return LDP_OK;
}

/*
 * ldp_item_identity
 *		A string that identifies an item (its id, _id, key or runId), or
 *		NULL: used to notice a server sending the same page again.
 */
const char *
ldp_item_identity(const cJSON *item)
{
	static const char *const names[] = {"id", "_id", "key", "runId"};
	size_t		i;

	for (i = 0; item != NULL && i < sizeof(names) / sizeof(names[0]); i++)
	{
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, names[i]));

		if (v != NULL)
			return v;
	}
	return NULL;
}

/*
 * ldp_status_text
 *		What went wrong, for error messages.
 */
const char *
ldp_status_text(LdpStatus status)
{
	switch (status)
	{
		case LDP_OK:
			return "ok";
		case LDP_MALFORMED:
			return "malformed JSON";
		case LDP_NOT_OBJECT:
			return "expected a JSON object";
		case LDP_NO_ITEMS:
			return "no \"items\" array in a list response";
		case LDP_NOT_ARRAY:
			return "expected a JSON array";
	}
	return "unknown";
}
