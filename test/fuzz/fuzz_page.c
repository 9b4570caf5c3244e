/*-------------------------------------------------------------------------
 *
 * fuzz_page.c
 *		  libFuzzer target for src/page.c: one LaunchDarkly response body
 *		  through ldp_parse(), then every item walked the way the FDW turns
 *		  a page into rows (scan.c's next_row/next_parent/advance_pager and
 *		  convert.c's ld_json_lookup/ld_json_to_datum, minus PostgreSQL).
 *
 * Input: byte 0 selects the form, as byte 0 modulo 3 (LdpForm: 0 a list
 * with "items", 1 a single-item endpoint, 2 a bare JSON array of items),
 * the rest is the body.  The seed corpus uses the ASCII characters '0',
 * '1' and '2' as that byte (48, 49 and 50: forms 0, 1, 2), so its files
 * stay readable.
 *
 * Besides what ASan/UBSan/LSan catch, the target checks the contract of
 * page.h and aborts when it is broken.
 *
 *-------------------------------------------------------------------------
 */
#include "page.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_page: check failed at %s:%d: %s\n", \
					__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* how the FDW converts a column's JSON value (convert.c's LdConv) */
typedef enum Conv
{
	CONV_TEXT,
	CONV_JSON,
	CONV_BOOL,
	CONV_INT,
	CONV_TIMESTAMP,
	CONV_TEXT_ARRAY
} Conv;

typedef struct Column
{
	const char *field;			/* JSON field, dotted for nested objects */
	Conv		conv;
} Column;

/*
 * The JSON fields of every column in src/catalog.c (explicit fields, or the
 * column name in camelCase), with the conversion their SQL type implies.
 */
static const Column columns[] = {
	{"_id", CONV_TEXT},
	{"_maintainer", CONV_JSON},
	{"_maintainer._id", CONV_TEXT},
	{"_maintainer.key", CONV_TEXT},
	{"acceptanceStatements", CONV_JSON},
	{"activity", CONV_TEXT},
	{"agentOptimizationId", CONV_TEXT},
	{"agentOptimizationVersion", CONV_INT},
	{"aiConfigKey", CONV_TEXT},
	{"autoCommit", CONV_BOOL},
	{"completedAt", CONV_TIMESTAMP},
	{"completionResponse", CONV_TEXT},
	{"createdAt", CONV_TIMESTAMP},
	{"createdVariationKey", CONV_TEXT},
	{"dependencies", CONV_JSON},
	{"description", CONV_TEXT},
	{"evaluationLatencies", CONV_JSON},
	{"evaluationMetricKey", CONV_TEXT},
	{"evaluationTokens", CONV_JSON},
	{"generationLatency", CONV_INT},
	{"generationTokens", CONV_JSON},
	{"groundTruthResponses", CONV_TEXT_ARRAY},
	{"id", CONV_TEXT},
	{"instructions", CONV_TEXT},
	{"isInverted", CONV_BOOL},
	{"iteration", CONV_INT},
	{"judgeConfiguration", CONV_JSON},
	{"judgeModel", CONV_TEXT},
	{"judges", CONV_JSON},
	{"key", CONV_TEXT},
	{"label", CONV_TEXT},
	{"latencyOptimization", CONV_BOOL},
	{"maxAttempts", CONV_INT},
	{"messages", CONV_JSON},
	{"metricKey", CONV_TEXT},
	{"mode", CONV_TEXT},
	{"model", CONV_JSON},
	{"modelChoices", CONV_TEXT_ARRAY},
	{"modelConfigKey", CONV_TEXT},
	{"name", CONV_TEXT},
	{"parameters", CONV_JSON},
	{"runId", CONV_TEXT},
	{"scores", CONV_JSON},
	{"state", CONV_TEXT},
	{"status", CONV_TEXT},
	{"tags", CONV_TEXT_ARRAY},
	{"tokenLimit", CONV_INT},
	{"tokenOptimization", CONV_BOOL},
	{"tools", CONV_JSON},
	{"updatedAt", CONV_TIMESTAMP},
	{"userInput", CONV_TEXT},
	{"userInputOptions", CONV_TEXT_ARRAY},
	{"variableChoices", CONV_JSON},
	{"variation", CONV_JSON},
	{"variationKey", CONV_TEXT},
	{"variations", CONV_JSON},
	{"version", CONV_INT},
	/* deeper and odd paths, to exercise the lookup chain */
	{"_links.next.href", CONV_TEXT},
	{"model.parameters.temperature", CONV_TEXT},
	{"a.b.c.d.e.f.g.h", CONV_JSON},
	{"", CONV_TEXT},
	{".", CONV_TEXT},
};

/* things the compiler must not optimise away */
static volatile size_t sink;

/*
 * json_text: convert.c's ld_json_text (cJSON_PrintUnformatted + copy).
 */
static void
json_text(const cJSON *value)
{
	char	   *s = cJSON_PrintUnformatted(value);

	if (s != NULL)
	{
		sink += strlen(s);
		cJSON_free(s);
	}
}

/*
 * lookup: convert.c's ld_json_lookup, with the dotted field split the way
 * the catalog splits it (at every '.').
 */
static const cJSON *
lookup(const cJSON *item, const char *field)
{
	char		part[256];
	const cJSON *v = item;
	const char *p = field;

	for (;;)
	{
		const char *dot = strchr(p, '.');
		size_t		n = dot ? (size_t) (dot - p) : strlen(p);

		CHECK(n < sizeof(part));
		memcpy(part, p, n);
		part[n] = '\0';
		v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, part) : NULL;
		if (v == NULL || dot == NULL)
			return v;
		p = dot + 1;
	}
}

/*
 * scalar: convert.c's scalar_text/convert_scalar, without the input
 * functions.
 */
static void
scalar(Conv conv, const cJSON *value)
{
	if (conv == CONV_JSON)
	{
		json_text(value);
		return;
	}
	if (conv == CONV_BOOL && cJSON_IsBool(value))
	{
		sink += cJSON_IsTrue(value) ? 1 : 0;
		return;
	}
	if (conv == CONV_TIMESTAMP && cJSON_IsNumber(value))
	{
		/* epoch_ms_to_timestamp: the range check guards the cast */
		double		ms = value->valuedouble;
		double		usecs = ms * 1000.0 - 946684800000000.0;

		if (ms != ms || usecs < -211813488000000000.0 ||
			usecs >= 9223371331200000000.0)
			json_text(value);	/* the error message prints the value */
		else
			sink += (size_t) (int64_t) usecs;
		return;
	}
	if (cJSON_IsString(value))
	{
		CHECK(value->valuestring != NULL);
		sink += strlen(value->valuestring);
		return;
	}
	if (cJSON_IsBool(value))
		return;
	/* numbers, and objects/arrays for a text column (or the error text) */
	json_text(value);
}

/*
 * convert: convert.c's ld_json_to_datum for one column.
 */
static void
convert(Conv conv, const cJSON *value)
{
	if (value == NULL || cJSON_IsNull(value))
		return;
	if (conv == CONV_TEXT_ARRAY)
	{
		int			n = cJSON_GetArraySize(value);
		int			i = 0;
		const cJSON *el;

		if (!cJSON_IsArray(value))
		{
			json_text(value);	/* mismatch() prints it */
			return;
		}
		cJSON_ArrayForEach(el, value)
		{
			/* convert_array sizes its arrays by cJSON_GetArraySize */
			CHECK(i < n);
			if (!cJSON_IsNull(el))
				scalar(CONV_TEXT, el);
			i++;
		}
		CHECK(i == n);
		return;
	}
	scalar(conv, value);
}

/*
 * fill_row: convert.c's ld_fill_slot for a row (and its parent's "key"
 * for an embedded row), plus the whole-row "attrs" column.
 */
static void
fill_row(const cJSON *row, const cJSON *parent)
{
	size_t		i;

	for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
		convert(columns[i].conv, lookup(row, columns[i].field));
	if (parent != NULL)
	{
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(parent, "key"));

		if (k != NULL)
			sink += strlen(k);
	}
	convert(CONV_JSON, row);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LdpPage		page;
	LdpStatus	status;
	int			form;
	int			single;
	const cJSON *it;
	const char *prev_id = NULL;
	int			n = 0;
	char	   *body;
	size_t		len;

	if (size < 1)
		return 0;
	form = data[0] % 3;
	single = (form == LDP_FORM_ITEM);
	len = size - 1;

	/*
	 * An exactly sized copy without a terminating NUL: the FDW's buffer has
	 * one, but ldp_parse takes a length and must not rely on it.
	 */
	body = malloc(len ? len : 1);
	CHECK(body != NULL);
	memcpy(body, data + 1, len);

	memset(&page, 0x7f, sizeof(page));
	status = ldp_parse(body, len, form, &page);
	CHECK(ldp_status_text(status) != NULL);

	if (status != LDP_OK)
	{
		/* nothing allocated, nothing to free */
		CHECK(page.root == NULL);
		CHECK(status == LDP_MALFORMED ||
			  (status == LDP_NOT_OBJECT && form != LDP_FORM_ARRAY) ||
			  (status == LDP_NOT_ARRAY && form == LDP_FORM_ARRAY) ||
			  (status == LDP_NO_ITEMS && form == LDP_FORM_COLLECTION));
		free(body);
		return 0;
	}

	CHECK(page.root != NULL &&
		  (form == LDP_FORM_ARRAY ? cJSON_IsArray(page.root) : cJSON_IsObject(page.root)));
	CHECK(form != LDP_FORM_ARRAY || (page.total == -1 && !page.has_links));
	CHECK(page.total == -1 || (page.total >= 0 && page.total < 9000000000000000LL));
	CHECK(!page.has_next || page.has_links);
	if (single)
	{
		CHECK(page.first == page.root);
		CHECK(page.nitems == 1);
	}

	/* scan.c's next_parent: collect the parent keys of the page */
	for (it = page.first; it != NULL; it = it->next)
	{
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "key"));

		if (k != NULL)
			sink += strlen(k);
	}

	/* scan.c's next_row and advance_pager: every item, its embedded rows */
	for (it = page.first; it != NULL; it = it->next)
	{
		const char *id = ldp_item_identity(it);
		const cJSON *row;

		if (id != NULL)
		{
			sink += strlen(id);
			if (prev_id != NULL)
				sink += strcmp(id, prev_id) == 0;
		}
		prev_id = id;
		n++;

		fill_row(it, NULL);
		/* ai_config_variations: rows embedded in "variations" */
		for (row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it, "variations"), 0);
			 row != NULL; row = row->next)
			fill_row(row, it);
		if (single)
			break;
	}
	CHECK(n == page.nitems);

	/* the identity of a NULL item is NULL */
	CHECK(ldp_item_identity(NULL) == NULL);

	ldp_free(&page);
	free(body);
	return 0;
}
