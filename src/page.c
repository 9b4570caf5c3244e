/*-------------------------------------------------------------------------
 *
 * page.c
 *		  Parse one response page of the LaunchDarkly API.
 *
 * No PostgreSQL header here (see page.h): the caller ties the returned
 * tree to its memory (scan.c does so with a memory context callback).
 *
 *-------------------------------------------------------------------------
 */
#include "page.h"

#include <string.h>

/*
 * ldp_parse
 *		Parse a response body.  single: the endpoint returns one object
 *		(which becomes the page's only item); otherwise a collection with
 *		an "items" array.  On success page->root must be freed by the
 *		caller with cJSON_Delete; on failure nothing is allocated.
 */
LdpStatus
ldp_parse(const char *buf, size_t len, int single, LdpPage *page)
{
	cJSON	   *root = cJSON_ParseWithLength(buf, len);
	cJSON	   *items;
	cJSON	   *total;
	cJSON	   *links;

	memset(page, 0, sizeof(*page));
	page->total = -1;
	if (root == NULL)
		return LDP_MALFORMED;
	if (!cJSON_IsObject(root))
	{
		cJSON_Delete(root);
		return LDP_NOT_OBJECT;
	}
	page->root = root;
	if (single)
	{
		page->first = root;
		page->nitems = 1;
		return LDP_OK;
	}
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsArray(items))
	{
		cJSON_Delete(root);
		page->root = NULL;
		return LDP_NO_ITEMS;
	}
	page->first = items->child;
	page->nitems = cJSON_GetArraySize(items);
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
	}
	return "unknown";
}
