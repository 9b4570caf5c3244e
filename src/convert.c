/*-------------------------------------------------------------------------
 *
 * convert.c
 *		  JSON values into Datums of the column's declared type, through
 *		  PostgreSQL's own input functions.
 *
 * A column may be declared with any type that can read the value: text or
 * jsonb for anything, bigint for raw epoch-ms timestamps, timestamptz for
 * epoch ms, arrays for JSON arrays.  A value that does not fit is an error
 * naming the column, the JSON field and the value.
 *
 * cJSON trees are malloc'd by libcjson; ld_json_parse ties each tree to a
 * memory context with a reset callback, so a tree is freed when its
 * context is reset or deleted -- including by the cleanup after an ERROR.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/shortest_dec.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

/* what a conversion error context needs */
typedef struct ConvContext
{
	const LdAttr *attr;
	const char *text;			/* the value as text, if known */
	const cJSON *value;			/* else the JSON value */
} ConvContext;

/*
 * The top-level JSON fields the columns read, hashed: one walk over an
 * item's members finds them all, instead of one cJSON_GetObjectItem
 * (a strcmp per member) per column.  The first member with a name wins,
 * as with cJSON_GetObjectItemCaseSensitive.
 */
typedef struct LdFieldEntry
{
	const char *key;
	uint32		hash;
	const cJSON *found;			/* in the current item, or NULL */
} LdFieldEntry;

typedef struct LdFieldIndex
{
	int			nentries;
	uint32		mask;			/* buckets - 1 (a power of two) */
	int		   *buckets;		/* entry number + 1, 0 for an empty bucket */
	LdFieldEntry *entries;
} LdFieldIndex;

/*
 * The jsonb values one row's columns built, by JSON node: the whole-item
 * column (LDS_WHOLE) reuses them for the item's members instead of
 * building them again.  A JsonbValue depends only on its node.
 */
#define LD_MEMO_MAX 16

typedef struct JsonbMemo
{
	int			n;
	const cJSON *node[LD_MEMO_MAX];
	JsonbValue *value[LD_MEMO_MAX];
} JsonbMemo;

/*
 * free_tree
 *		Memory context reset callback: free the cJSON tree it guards.
 */
static void
free_tree(void *arg)
{
	cJSON_Delete((cJSON *) arg);
}

/*
 * ld_json_parse
 *		Parse a JSON document; the tree lives until owner is reset.
 *		Returns NULL for malformed JSON.
 */
cJSON *
ld_json_parse(MemoryContext owner, const char *buf, size_t len)
{
	cJSON	   *tree = cJSON_ParseWithLength(buf, len);

	if (tree != NULL)
		ld_json_own(owner, tree);
	return tree;
}

/*
 * own_by_context
 *		Run func(arg) when owner is reset or deleted, also by the cleanup
 *		after an ERROR; if that cannot be arranged, run it now.
 */
static void
own_by_context(MemoryContext owner, MemoryContextCallbackFunction func, void *arg)
{
	MemoryContextCallback *cb;

	PG_TRY();
	{
		cb = MemoryContextAlloc(owner, sizeof(MemoryContextCallback));
	}
	PG_CATCH();
	{
		func(arg);
		PG_RE_THROW();
	}
	PG_END_TRY();
	cb->func = func;
	cb->arg = arg;
	MemoryContextRegisterResetCallback(owner, cb);
}

/*
 * ld_json_own
 *		Tie a cJSON tree to a memory context: it is freed when the context
 *		is reset or deleted.
 */
void
ld_json_own(MemoryContext owner, cJSON *tree)
{
	own_by_context(owner, free_tree, tree);
}

/*
 * free_arena
 *		Memory context reset callback: free the page arena it guards.
 */
static void
free_arena(void *arg)
{
	ldp_arena_free((LdpArena *) arg);
}

/*
 * ld_page_own
 *		Tie a parsed page (its arena) to a memory context, like
 *		ld_json_own for a tree.
 */
void
ld_page_own(MemoryContext owner, LdpPage *page)
{
	own_by_context(owner, free_arena, page->arena);
}

/*
 * ld_json_text
 *		A JSON value's compact text, palloc'd; the one place that prints
 *		JSON for a request body or a value (out of memory is an ERROR).
 */
char *
ld_json_text(const cJSON *value)
{
	char	   *s = cJSON_PrintUnformatted(value);
	char	   *out;

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory printing JSON")));
	out = pstrdup(s);
	cJSON_free(s);
	return out;
}

/*
 * conv_for_type
 *		How values of a type are converted.
 */
static LdConv
conv_for_type(Oid typid)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			return LDV_TEXT;
		case JSONOID:
		case JSONBOID:
			return LDV_JSON;
		case BOOLOID:
			return LDV_BOOL;
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
			return LDV_TIMESTAMP;
		default:
			return OidIsValid(get_element_type(typid)) ? LDV_ARRAY : LDV_INPUT;
	}
}

/*
 * plain_int_type
 *		The type itself if it is int2, int4 or int8 (not a domain over
 *		one, whose input function checks constraints), else InvalidOid.
 */
static Oid
plain_int_type(Oid typid)
{
	return (typid == INT2OID || typid == INT4OID || typid == INT8OID) ?
		typid : InvalidOid;
}

/*
 * ld_init_type
 *		Look up what converting into a type needs (input functions and,
 *		for arrays, the element type).
 */
void
ld_init_type(LdTypeConv *tc, Oid typid, int32 typmod)
{
	Oid			infunc;

	memset(tc, 0, sizeof(*tc));
	tc->typid = getBaseType(typid);
	tc->typmod = typmod;
	tc->conv = conv_for_type(tc->typid);
	getTypeInputInfo(typid, &infunc, &tc->ioparam);
	fmgr_info(infunc, &tc->input);
	tc->int_type = plain_int_type(typid);
	if (tc->conv == LDV_ARRAY)
	{
		tc->elemtype = get_element_type(tc->typid);
		tc->elem_int_type = plain_int_type(tc->elemtype);
		tc->elemconv = conv_for_type(tc->elemtype);
		if (tc->elemconv == LDV_ARRAY)
			tc->elemconv = LDV_INPUT;
		getTypeInputInfo(tc->elemtype, &infunc, &tc->elem_ioparam);
		fmgr_info(infunc, &tc->elem_input);
		get_typlenbyvalalign(tc->elemtype, &tc->elmlen, &tc->elmbyval,
							 &tc->elmalign);
	}
}

/*
 * split_path
 *		Split a dotted field path into its parts.
 */
static void
split_path(LdAttr *a)
{
	char	   *copy = pstrdup(a->field);
	char	   *part;
	char	   *save;
	int			n = 1;
	char	   *p;

	for (p = copy; *p; p++)
		n += (*p == '.');
	a->path = palloc(n * sizeof(char *));
	a->npath = 0;
	for (part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save))
		a->path[a->npath++] = part;
}

/*
 * field_hash
 *		Hash of a NUL-terminated field name (PostgreSQL's hash_bytes).
 */
static inline uint32
field_hash(const char *s)
{
	return hash_bytes((const unsigned char *) s, (int) strlen(s));
}

/*
 * field_probe
 *		The entry for a field name with its hash, or -1.
 */
static inline int
field_probe(const LdFieldIndex *fi, const char *key, uint32 h)
{
	uint32		b;

	for (b = h & fi->mask; fi->buckets[b] != 0; b = (b + 1) & fi->mask)
	{
		int			e = fi->buckets[b] - 1;

		if (fi->entries[e].hash == h && strcmp(fi->entries[e].key, key) == 0)
			return e;
	}
	return -1;
}

/*
 * build_field_index
 *		Hash the first path step of every JSON-field column, so that
 *		ld_fill_slot finds all of an item's fields in one walk.
 */
static void
build_field_index(LdAttr *attrs, int n)
{
	LdFieldIndex *fi = palloc0(sizeof(LdFieldIndex));
	uint32		nb = 8;
	int			i;

	while (nb < (uint32) (2 * n))
		nb *= 2;
	fi->mask = nb - 1;
	fi->buckets = palloc0(nb * sizeof(int));
	fi->entries = palloc0(Max(n, 1) * sizeof(LdFieldEntry));
	for (i = 0; i < n; i++)
	{
		LdAttr	   *a = &attrs[i];
		uint32		h;
		uint32		b;

		a->findex = fi;
		a->fentry = -1;
		if (a->source != LDS_FIELD || a->npath < 1)
			continue;
		h = field_hash(a->path[0]);
		a->fentry = field_probe(fi, a->path[0], h);
		if (a->fentry >= 0)
			continue;
		for (b = h & fi->mask; fi->buckets[b] != 0; b = (b + 1) & fi->mask)
			;
		a->fentry = fi->nentries++;
		fi->entries[a->fentry].key = a->path[0];
		fi->entries[a->fentry].hash = h;
		fi->buckets[b] = a->fentry + 1;
	}
}

/*
 * index_item
 *		Find the indexed fields in one item: the first member of each name.
 */
static void
index_item(LdFieldIndex *fi, const cJSON *item)
{
	const cJSON *c;
	int			left = fi->nentries;
	int			i;

	for (i = 0; i < fi->nentries; i++)
		fi->entries[i].found = NULL;
	if (!cJSON_IsObject(item))
		return;
	for (c = item->child; c != NULL && left > 0; c = c->next)
	{
		int			e;

		if (c->string == NULL)
			continue;
		e = field_probe(fi, c->string, field_hash(c->string));
		if (e >= 0 && fi->entries[e].found == NULL)
		{
			fi->entries[e].found = c;
			left--;
		}
	}
}

/*
 * ld_build_attrs
 *		Describe each retrieved column: where its value comes from (JSON
 *		field, request path, whole item) and how to convert it.
 */
LdAttr *
ld_build_attrs(Relation rel, const LdResource *res, List *retrieved,
			   int *nattrs)
{
	TupleDesc	desc = RelationGetDescr(rel);
	LdAttr	   *attrs = palloc0(sizeof(LdAttr) * (list_length(retrieved) + 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, retrieved)
	{
		AttrNumber	attnum = lfirst_int(lc);
		Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
		const LdColumn *col;
		LdAttr	   *a = &attrs[n++];

		a->attnum = attnum;
		a->relname = RelationGetRelationName(rel);
		a->name = pstrdup(NameStr(att->attname));
		a->field = ld_column_field(RelationGetRelid(rel), attnum, a->name, res);
		col = ld_find_column(res, a->name);
		a->source = LDS_FIELD;
		/* key columns identify items: an item without one is broken */
		a->required = col != NULL && col->key != LDK_NONE && col->field == NULL &&
			GetForeignColumnOptions(RelationGetRelid(rel), attnum) == NIL;
		if (col != NULL && (col->flags & LDC_PATH) &&
			GetForeignColumnOptions(RelationGetRelid(rel), attnum) == NIL)
		{
			a->source = LDS_PATH_KEY;
			a->key = col->key;
		}
		else if (col != NULL && (col->flags & LDC_WHOLE) &&
				 GetForeignColumnOptions(RelationGetRelid(rel), attnum) == NIL)
			a->source = LDS_WHOLE;
		else if (col != NULL && (col->flags & LDC_MAP_KEY) &&
				 GetForeignColumnOptions(RelationGetRelid(rel), attnum) == NIL)
			a->source = LDS_MAP_KEY;
		split_path(a);
		ld_init_type(&a->type, att->atttypid, att->atttypmod);
	}
	build_field_index(attrs, n);
	*nattrs = n;
	return attrs;
}

/*
 * ld_json_lookup
 *		Follow a field path into an item; NULL if any step is missing.
 */
cJSON *
ld_json_lookup(const cJSON *item, char **path, int npath)
{
	const cJSON *v = item;
	int			i;

	for (i = 0; i < npath && v != NULL; i++)
		v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, path[i]) : NULL;
	return (cJSON *) v;
}

/*
 * conv_error_callback
 *		Error context for conversions: which column, field and value.
 */
static void
conv_error_callback(void *arg)
{
	ConvContext *cc = (ConvContext *) arg;
	char	   *json = NULL;
	const char *text = cc->text;

	if (text == NULL && cc->value != NULL)
		text = json = cJSON_PrintUnformatted(cc->value);	/* NULL: "?" (no ERROR here) */
	errcontext("column \"%s\" of foreign table \"%s\" (JSON field \"%s\"), value: %.200s",
			   cc->attr->name, cc->attr->relname, cc->attr->field, text ? text : "?");
	if (json)
		cJSON_free(json);
}

/*
 * mismatch
 *		ERROR for a JSON value of a kind the column cannot take.
 */
static void
mismatch(const LdAttr *attr, const cJSON *value, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("cannot convert JSON field \"%s\" to column \"%s\" of type %s",
					attr->field, attr->name, format_type_be(attr->type.typid)),
			 errdetail("Expected %s, got: %.200s", expected, ld_json_text(value))));
}

/*
 * scalar_text
 *		The text of a JSON scalar as an input function wants it, or NULL
 *		for objects and arrays.
 */
static char *
scalar_text(const cJSON *value)
{
	if (cJSON_IsString(value))
		return pstrdup(value->valuestring);
	if (cJSON_IsBool(value))
		return pstrdup(cJSON_IsTrue(value) ? "true" : "false");
	if (cJSON_IsNumber(value))
		return ld_json_text(value);
	return NULL;
}

/*
 * epoch_ms_to_timestamp
 *		Epoch milliseconds (LaunchDarkly's timestamps) as a TimestampTz.
 */
static Datum
epoch_ms_to_timestamp(const LdAttr *attr, const cJSON *value)
{
	double		ms = value->valuedouble;
	double		usecs = ms * 1000.0 -
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	if (ms != ms || usecs < (double) MIN_TIMESTAMP || usecs >= (double) END_TIMESTAMP)
		mismatch(attr, value, "epoch milliseconds within the timestamp range");
	return TimestampTzGetDatum((TimestampTz) usecs);
}

/*
 * significant_digits
 *		How many significant digits a decimal number's text has (the digits
 *		of its mantissa, without leading zeros).
 */
static int
significant_digits(const char *s)
{
	int			n = 0;

	for (; *s && *s != 'e' && *s != 'E'; s++)
		if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0'))
			n++;
	return n;
}

/*
 * number_value
 *		A JSON number as a jsonb numeric: integers exactly, others through
 *		the text "%1.15g" gives if that reads back as the same double, else
 *		"%1.17g".  The shortest round-trip text has the same value whenever
 *		it has at most 15 significant digits (a 15-digit decimal that reads
 *		back is the only one that near, for normal doubles), and costs far
 *		less than printf.
 */
static Numeric
number_value(double d)
{
	char		buf[64];

	/* range first: casting a double outside int64's range is undefined */
	if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double) (int64) d)
		return int64_to_numeric((int64) d);
	StaticAssertStmt(DOUBLE_SHORTEST_DECIMAL_LEN <= sizeof(buf), "buffer too small");
	if (isfinite(d) && fabs(d) >= DBL_MIN)
		double_to_shortest_decimal_buf(d, buf);
	if (!isfinite(d) || fabs(d) < DBL_MIN || significant_digits(buf) > 15)
	{
		snprintf(buf, sizeof(buf), "%1.15g", d);
		if (strtod(buf, NULL) != d)
			snprintf(buf, sizeof(buf), "%1.17g", d);
	}
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* the limits pushJsonbValue enforces (jsonb_util.c) */
#define LD_JSONB_MAX_ELEMS (Min(MaxAllocSize / sizeof(JsonbValue), JB_CMASK))
#define LD_JSONB_MAX_PAIRS (Min(MaxAllocSize / sizeof(JsonbPair), JB_CMASK))

static void json_value(const cJSON *v, JsonbValue *jv);
static void object_value(const cJSON *v, JsonbValue *jv, const JsonbMemo *memo);

/*
 * pair_cmp
 *		jsonb's key order (shorter keys first, then bytewise); of equal
 *		keys the later one first, so that keeping the first of a run is
 *		"the last one wins", as in uniqueifyJsonbObject.
 */
static inline int
pair_cmp(const JsonbPair *a, const JsonbPair *b)
{
	int			r;

	if (a->key.val.string.len != b->key.val.string.len)
		return a->key.val.string.len > b->key.val.string.len ? 1 : -1;
	r = memcmp(a->key.val.string.val, b->key.val.string.val,
			   a->key.val.string.len);
	if (r != 0)
		return r;
	return a->order > b->order ? -1 : 1;
}

/*
 * pair_qsort_cmp
 *		pair_cmp for qsort.
 */
static int
pair_qsort_cmp(const void *a, const void *b)
{
	return pair_cmp((const JsonbPair *) a, (const JsonbPair *) b);
}

/*
 * sort_pairs
 *		Put an object's pairs in jsonb order and drop duplicate keys (the
 *		last one wins): what pushJsonbValue does at the end of an object,
 *		with an insertion sort for the usual small objects.
 */
static void
sort_pairs(JsonbValue *obj)
{
	JsonbPair  *p = obj->val.object.pairs;
	int			n = obj->val.object.nPairs;
	int			i,
				j;

	if (n > 24)
		qsort(p, n, sizeof(JsonbPair), pair_qsort_cmp);
	else
		for (i = 1; i < n; i++)
		{
			JsonbPair	x = p[i];

			for (j = i; j > 0 && pair_cmp(&p[j - 1], &x) > 0; j--)
				p[j] = p[j - 1];
			p[j] = x;
		}
	for (i = 1, j = 0; i < n; i++)
		if (p[i].key.val.string.len != p[j].key.val.string.len ||
			memcmp(p[i].key.val.string.val, p[j].key.val.string.val,
				   p[i].key.val.string.len) != 0)
			p[++j] = p[i];
	if (n > 0)
		obj->val.object.nPairs = j + 1;
}

/*
 * memo_find
 *		The JsonbValue a column built for this node, or NULL.
 */
static inline const JsonbValue *
memo_find(const JsonbMemo *memo, const cJSON *node)
{
	int			i;

	for (i = 0; i < memo->n; i++)
		if (memo->node[i] == node)
			return memo->value[i];
	return NULL;
}

/*
 * object_value
 *		A cJSON object as a jsonb object value (keys sorted, unique).
 *		Members found in memo (may be NULL) are taken from it.
 */
static void
object_value(const cJSON *v, JsonbValue *jv, const JsonbMemo *memo)
{
	const JsonbValue *known;
	const cJSON *c;
	size_t		n = (size_t) cJSON_GetArraySize(v);
	size_t		i = 0;

	jv->type = jbvObject;
	jv->val.object.pairs = palloc(sizeof(JsonbPair) * Max(Min(n, LD_JSONB_MAX_PAIRS), 1));
	cJSON_ArrayForEach(c, v)
	{
		JsonbPair  *p = &jv->val.object.pairs[i];

		if (i >= LD_JSONB_MAX_PAIRS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("number of jsonb object pairs exceeds the maximum allowed (%zu)",
							LD_JSONB_MAX_PAIRS)));
		p->key.type = jbvString;
		p->key.val.string.val = c->string;
		p->key.val.string.len = strlen(c->string);
		pg_verifymbstr(p->key.val.string.val, p->key.val.string.len, false);
		p->order = i;
		if (memo != NULL && (known = memo_find(memo, c)) != NULL)
			p->value = *known;
		else
			json_value(c, &p->value);
		i++;
	}
	jv->val.object.nPairs = i;
	sort_pairs(jv);
}

/*
 * array_value
 *		A cJSON array as a jsonb array value.
 */
static void
array_value(const cJSON *v, JsonbValue *jv)
{
	const cJSON *c;
	size_t		n = (size_t) cJSON_GetArraySize(v);
	size_t		i = 0;

	jv->type = jbvArray;
	jv->val.array.rawScalar = false;
	jv->val.array.elems = palloc(sizeof(JsonbValue) * Max(Min(n, LD_JSONB_MAX_ELEMS), 1));
	cJSON_ArrayForEach(c, v)
	{
		if (i >= LD_JSONB_MAX_ELEMS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("number of jsonb array elements exceeds the maximum allowed (%zu)",
							LD_JSONB_MAX_ELEMS)));
		json_value(c, &jv->val.array.elems[i++]);
	}
	jv->val.array.nElems = i;
}

/*
 * json_value
 *		A cJSON value as an in-memory JsonbValue tree (walked once, instead
 *		of printed and parsed again by jsonb_in; built directly, instead of
 *		through pushJsonbValue, whose key sort is a general qsort_arg).
 *		JsonbValueToJsonb gives the same bytes either way.
 */
static void
json_value(const cJSON *v, JsonbValue *jv)
{
	/* cJSON's type tests are calls into the library: one switch instead */
	switch (v->type & 0xFF)
	{
		case cJSON_Object:
			check_stack_depth();
			object_value(v, jv, NULL);
			break;
		case cJSON_Array:
			check_stack_depth();
			array_value(v, jv);
			break;
		case cJSON_String:
			jv->type = jbvString;
			jv->val.string.val = v->valuestring;
			jv->val.string.len = strlen(v->valuestring);
			pg_verifymbstr(jv->val.string.val, jv->val.string.len, false);
			break;
		case cJSON_Number:
			jv->type = jbvNumeric;
			jv->val.numeric = number_value(v->valuedouble);
			break;
		case cJSON_True:
		case cJSON_False:
			jv->type = jbvBool;
			jv->val.boolean = (v->type & 0xFF) == cJSON_True;
			break;
		default:
			jv->type = jbvNull;
			break;
	}
}

/*
 * json_to_jsonb
 *		A JSON object or array as a jsonb Datum, built from the tree.  With
 *		a memo: an object's members are taken from it where it has them,
 *		and the value built is added to it.
 */
static Datum
json_to_jsonb(const cJSON *value, JsonbMemo *memo)
{
	JsonbValue *jv = palloc(sizeof(JsonbValue));

	if (memo != NULL && cJSON_IsObject(value))
	{
		check_stack_depth();
		object_value(value, jv, memo);
	}
	else
		json_value(value, jv);
	if (memo != NULL && memo->n < LD_MEMO_MAX)
	{
		memo->node[memo->n] = value;
		memo->value[memo->n++] = jv;
	}
	return JsonbPGetDatum(JsonbValueToJsonb(jv));
}

/*
 * int_datum
 *		A JSON number straight into an int2/int4/int8 Datum, without the
 *		text round trip: integers within the type's range.  (cJSON keeps
 *		numbers as doubles, so above 2^53 the value is the nearest double;
 *		its text of 1e15 and up, "1e+15", is not something int8in reads.)
 *		An integer beyond bigint is out of range (22003), as int2in and
 *		int4in say for theirs.  Returns false for the others, which take
 *		the text path (and its errors).
 */
static bool
int_datum(Oid int_type, double d, Datum *out)
{
	if (d != floor(d))
		return false;			/* also NaN and infinities */
	switch (int_type)
	{
		case INT2OID:
			if (d < PG_INT16_MIN || d > PG_INT16_MAX)
				return false;
			*out = Int16GetDatum((int16) d);
			return true;
		case INT4OID:
			if (d < PG_INT32_MIN || d > PG_INT32_MAX)
				return false;
			*out = Int32GetDatum((int32) d);
			return true;
		case INT8OID:
			/* every integral double in range: cJSON's text of 1e15 and up is not */
			if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
			{
				char		buf[32];

				snprintf(buf, sizeof(buf), "%.17g", d);
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("value \"%s\" is out of range for type %s", buf, "bigint")));
			}
			*out = Int64GetDatum((int64) d);
			return true;
		default:
			return false;
	}
}

/*
 * convert_scalar
 *		One JSON value into one Datum of a (non-array) type; int_type is
 *		the type if it is a plain integer type (see int_datum).
 */
static Datum
convert_scalar(const LdAttr *attr, LdConv conv, FmgrInfo *input, Oid ioparam,
			   int32 typmod, Oid int_type, const cJSON *value, JsonbMemo *memo)
{
	char	   *text;
	Datum		d;

	if (conv == LDV_JSON && attr->type.typid == JSONBOID &&
		(cJSON_IsObject(value) || cJSON_IsArray(value)))
		return json_to_jsonb(value, memo);
	if (conv == LDV_JSON)
		return InputFunctionCall(input, ld_json_text(value), ioparam, typmod);
	if (conv == LDV_BOOL && cJSON_IsBool(value))
		return BoolGetDatum(cJSON_IsTrue(value));
	if (conv == LDV_TIMESTAMP && cJSON_IsNumber(value))
		return epoch_ms_to_timestamp(attr, value);
	if (int_type != InvalidOid && cJSON_IsNumber(value) &&
		int_datum(int_type, value->valuedouble, &d))
		return d;
	/* text and uuid read a JSON string in place: no copy, no fmgr call */
	if (input->fn_oid == F_TEXTIN && cJSON_IsString(value))
		return PointerGetDatum(cstring_to_text(value->valuestring));
	if (input->fn_oid == F_UUID_IN && cJSON_IsString(value))
		return DirectFunctionCall1(uuid_in, CStringGetDatum(value->valuestring));
	text = scalar_text(value);
	if (text == NULL)
	{
		if (conv != LDV_TEXT)
			mismatch(attr, value, "a JSON scalar");
		text = ld_json_text(value);
	}
	return InputFunctionCall(input, text, ioparam, typmod);
}

/*
 * convert_array
 *		A JSON array into a one-dimensional PostgreSQL array.
 */
static Datum
convert_array(const LdAttr *attr, const cJSON *value)
{
	const LdTypeConv *tc = &attr->type;
	int			n = cJSON_GetArraySize(value);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	const cJSON *el;
	int			i = 0;

	if (!cJSON_IsArray(value))
		mismatch(attr, value, "a JSON array");
	cJSON_ArrayForEach(el, value)
	{
		nulls[i] = cJSON_IsNull(el);
		elems[i] = nulls[i] ? (Datum) 0 :
			convert_scalar(attr, tc->elemconv, (FmgrInfo *) &tc->elem_input,
						   tc->elem_ioparam, -1, tc->elem_int_type, el, NULL);
		i++;
	}
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  tc->elemtype, tc->elmlen,
											  tc->elmbyval, tc->elmalign));
}

/*
 * json_to_datum
 *		ld_json_to_datum, sharing jsonb values through memo (may be NULL).
 */
static Datum
json_to_datum(const LdAttr *attr, const cJSON *value, bool *isnull,
			  JsonbMemo *memo)
{
	ErrorContextCallback errcb;
	ConvContext cc;
	Datum		result;

	*isnull = (value == NULL || cJSON_IsNull(value));
	if (*isnull)
		return (Datum) 0;
	cc.attr = attr;
	cc.text = NULL;
	cc.value = value;
	errcb.callback = conv_error_callback;
	errcb.arg = &cc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	cc.text = cJSON_IsString(value) ? value->valuestring : NULL;
	if (attr->type.conv == LDV_ARRAY)
		result = convert_array(attr, value);
	else
		result = convert_scalar(attr, attr->type.conv,
								(FmgrInfo *) &attr->type.input,
								attr->type.ioparam, attr->type.typmod,
								attr->type.int_type, value, memo);
	error_context_stack = errcb.previous;
	return result;
}

/*
 * ld_json_to_datum
 *		Convert a JSON value for a column; missing values and JSON null
 *		are SQL NULL.  Errors name the column, field and value.
 */
Datum
ld_json_to_datum(const LdAttr *attr, const cJSON *value, bool *isnull)
{
	return json_to_datum(attr, value, isnull, NULL);
}

/*
 * ld_text_to_datum
 *		A value known as text (a path key) into the column's type.
 */
Datum
ld_text_to_datum(const LdAttr *attr, const char *text)
{
	ErrorContextCallback errcb;
	ConvContext cc;
	Datum		result;

	cc.attr = attr;
	cc.text = text;
	cc.value = NULL;
	errcb.callback = conv_error_callback;
	errcb.arg = &cc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	result = InputFunctionCall((FmgrInfo *) &attr->type.input, (char *) text,
							   attr->type.ioparam, attr->type.typmod);
	error_context_stack = errcb.previous;
	return result;
}

/*
 * ld_fill_slot
 *		Store a JSON row as a virtual tuple: JSON fields, path keys (the
 *		enclosing item's "key" for embedded rows, else from keys[]), the
 *		whole item.  Columns not in attrs are NULL.
 */
void
ld_fill_slot(const LdAttr *attrs, int nattrs, TupleTableSlot *slot,
			 const cJSON *row, const char *const *keys,
			 const cJSON *parent, LdKey embedded_parent)
{
	int			i;
	JsonbMemo	memo;

	memo.n = 0;
	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, slot->tts_tupleDescriptor->natts * sizeof(bool));
	if (nattrs > 0 && attrs[0].findex != NULL && attrs[0].findex->nentries > 0)
		index_item(attrs[0].findex, row);
	for (i = 0; i < nattrs; i++)
	{
		const LdAttr *a = &attrs[i];
		int			j = a->attnum - 1;

		if (a->source == LDS_PATH_KEY)
		{
			const char *k = NULL;

			/* an embedded row's parent key is its enclosing item's own */
			if (parent != NULL && embedded_parent == a->key)
				k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(parent, "key"));
			if (k == NULL && keys != NULL)
				k = keys[a->key];
			slot->tts_isnull[j] = (k == NULL);
			if (k != NULL)
				slot->tts_values[j] = ld_text_to_datum(a, k);
		}
		else if (a->source == LDS_WHOLE)
			slot->tts_values[j] = json_to_datum(a, row, &slot->tts_isnull[j], &memo);
		else if (a->source == LDS_MAP_KEY)
		{
			/* a row that is a member of an object map: the member's name */
			slot->tts_isnull[j] = (row->string == NULL);
			if (row->string != NULL)
				slot->tts_values[j] = ld_text_to_datum(a, row->string);
		}
		else
		{
			const cJSON *v;

			if (a->fentry >= 0)
				v = ld_json_lookup(a->findex->entries[a->fentry].found,
								   a->path + 1, a->npath - 1);
			else
				v = ld_json_lookup(row, a->path, a->npath);

			if (a->required && (v == NULL || cJSON_IsNull(v)))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
						 errmsg("invalid response from LaunchDarkly: an item has no \"%s\" field",
								a->field),
						 errdetail("\"%s\" identifies the rows of foreign table \"%s\" (column \"%s\").",
								   a->field, a->relname, a->name)));
			slot->tts_values[j] = json_to_datum(a, v, &slot->tts_isnull[j], &memo);
		}
	}
	ExecStoreVirtualTuple(slot);
}

/*
 * ld_datum_text
 *		A Datum's text through its type's output function.
 */
char *
ld_datum_text(Oid typid, Datum value)
{
	Oid			out;
	bool		varlena;

	getTypeOutputInfo(typid, &out, &varlena);
	return OidOutputFunctionCall(out, value);
}

/*
 * scalar_to_json
 *		One non-array value as the API's JSON: numbers as numbers,
 *		timestamps as epoch milliseconds, json/jsonb as the value itself,
 *		everything else (text, uuid, ...) as a string.
 */
static cJSON *
scalar_to_json(const LdAttr *attr, Oid typid, LdConv conv, Datum value)
{
	char	   *text;
	cJSON	   *j;

	switch (conv)
	{
		case LDV_BOOL:
			return cJSON_CreateBool(DatumGetBool(value));
		case LDV_TIMESTAMP:
			return cJSON_CreateNumber((double) ((DatumGetTimestampTz(value) +
												 (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY) / 1000));
		case LDV_JSON:
			text = ld_datum_text(typid, value);
			j = cJSON_Parse(text);
			if (j == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("column \"%s\" does not hold valid JSON", attr->name)));
			return j;
		default:
			break;
	}
	text = ld_datum_text(typid, value);
	if (typid == INT2OID || typid == INT4OID || typid == INT8OID ||
		typid == FLOAT4OID || typid == FLOAT8OID || typid == NUMERICOID)
	{
		if (strspn(text, "-0123456789.eE+") != strlen(text))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value %s of column \"%s\" cannot be sent as a JSON number",
							text, attr->name)));
		return cJSON_CreateRaw(text);
	}
	return cJSON_CreateString(text);
}

/*
 * ld_datum_to_json
 *		A column's non-null value as JSON for a request body (arrays become
 *		JSON arrays).  The tree is malloc'd: the caller frees it.
 */
cJSON *
ld_datum_to_json(const LdAttr *attr, Datum value)
{
	const LdTypeConv *tc = &attr->type;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	cJSON	   *out;

	if (tc->conv != LDV_ARRAY)
		return scalar_to_json(attr, tc->typid, tc->conv, value);
	arr = DatumGetArrayTypeP(value);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("column \"%s\" must be a one-dimensional array", attr->name)));
	deconstruct_array(arr, tc->elemtype, tc->elmlen, tc->elmbyval, tc->elmalign,
					  &elems, &nulls, &n);
	out = cJSON_CreateArray();
	PG_TRY();
	{
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(out, nulls[i] ? cJSON_CreateNull() :
								 scalar_to_json(attr, tc->elemtype, tc->elemconv, elems[i]));
	}
	PG_CATCH();
	{
		cJSON_Delete(out);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return out;
}
