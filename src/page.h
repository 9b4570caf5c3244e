/*-------------------------------------------------------------------------
 *
 * page.h
 *		  Reading one LaunchDarkly response page: its items and its paging
 *		  facts (totalCount, _links.next), and an item's identity for
 *		  spotting a page that repeats.
 *
 * Like http.c, this layer includes no PostgreSQL header, so that it can be
 * fuzzed on its own (test/fuzz/).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LDAI_PAGE_H
#define LDAI_PAGE_H

#include <stddef.h>

#include <cjson/cJSON.h>

typedef enum LdpStatus
{
	LDP_OK = 0,
	LDP_MALFORMED,				/* not JSON at all */
	LDP_NOT_OBJECT,				/* JSON, but not an object */
	LDP_NO_ITEMS,				/* a list response without an "items" array */
	LDP_NOT_ARRAY				/* a bare-array list that is not a JSON array */
} LdpStatus;

/* the form of a response body (ldp_parse's form argument) */
typedef enum LdpForm
{
	LDP_FORM_COLLECTION = 0,	/* {items: [...], totalCount?, _links?} */
	LDP_FORM_ITEM = 1,			/* one object, the page's only item */
	LDP_FORM_ARRAY = 2			/* a bare JSON array of items */
} LdpForm;

/* the memory of one parsed page's tree (see page.c) */
typedef struct LdpArena LdpArena;

typedef struct LdpPage
{
	cJSON	   *root;			/* the whole document (freed by ldp_free) */
	LdpArena   *arena;			/* where root lives: never cJSON_Delete it */
	cJSON	   *first;			/* first item, or the object for a single item */
	int			nitems;
	long long	total;			/* totalCount, -1 if absent */
	int			has_links;		/* _links is an object */
	int			has_next;		/* _links.next is present */
} LdpPage;

extern LdpStatus ldp_parse(const char *buf, size_t len, int form, LdpPage *page);
extern void ldp_free(LdpPage *page);
extern void ldp_arena_free(LdpArena *arena);
extern const char *ldp_item_identity(const cJSON *item);
extern const char *ldp_status_text(LdpStatus status);

#endif							/* LDAI_PAGE_H */
