/*-------------------------------------------------------------------------
 *
 * window.c
 *		  The metrics window: from the bounds WHERE gives (period_start >= a,
 *		  period_end <= b) and the bucket (none, hour, day, week), the list
 *		  of windows a scan requests, one series each.
 *
 * A window is [start, end]: the WHERE window cut at UTC bucket boundaries
 * (hours and days at their UTC start, weeks on Monday 00:00 UTC), so that
 * the first and last buckets may be partial.  Each row reports its window
 * (period_start = start, period_end = end, exactly: the conditions, which
 * the scan checks again, hold for it).  The request asks for that window
 * rounded outward to whole milliseconds (from rounded down, to rounded up;
 * the API's from is inclusive, its to exclusive): widened, never narrowed,
 * so no event of the window is left out.
 *
 * Errors come before any request: a window over the API's 100-day cap
 * with bucket 'none', more than 1000 buckets, an unknown bucket, an
 * infinite bound.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

/* microseconds from the Unix epoch to PostgreSQL's (2000-01-01) */
#define LD_EPOCH_SHIFT_US INT64CONST(946684800000000)
/* the API's longest window (to - from) */
#define LD_MAX_SPAN_MS (INT64CONST(100) * 86400000)
/* at most this many buckets (requests) per window */
#define LD_MAX_BUCKETS 1000

/*
 * ms_floor / ms_ceil
 *		A PostgreSQL timestamp (microseconds since 2000) as epoch
 *		milliseconds, rounded down / up.
 */
static int64
ms_floor(int64 us)
{
	int64		u = us + LD_EPOCH_SHIFT_US;

	return u >= 0 ? u / 1000 : -((-u + 999) / 1000);
}

static int64
ms_ceil(int64 us)
{
	return -ms_floor(-us - 2 * LD_EPOCH_SHIFT_US);
}

/*
 * ld_window_bound
 *		A window bound from WHERE as a timestamp (microseconds since
 *		2000): the value, moved by one microsecond inward for a strict
 *		comparison (period_start > a starts just after a).  An infinite
 *		bound is an error.
 */
int64
ld_window_bound(LdKey key, Oid typid, Datum value, bool strict)
{
	Timestamp	ts;

	if (typid != TIMESTAMPTZOID && typid != TIMESTAMPOID)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("column \"%s\" must be of type timestamp with time zone",
						ld_key_name(key))));
	ts = DatumGetTimestamp(value);
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the metrics window must be finite"),
				 errdetail("\"%s\" is compared with an infinite timestamp.", ld_key_name(key)),
				 errhint("Write a window such as WHERE period_start >= now() - interval '7 days' AND period_end <= now().")));
	if (strict)
		ts += ld_key_def(key)->bind == LDB_LOWER ? 1 : -1;
	return ts;
}

/*
 * ld_window_keys
 *		The keys of an endpoint that take a window: its lower and upper
 *		range keys and the bucket (a key the FDW consumes: in the
 *		endpoint's query set but with no query parameter of its own);
 *		LDK_NONE for each it lacks.  The one place that tells them apart.
 */
void
ld_window_keys(const LdEndpoint *ep, LdKey *lower, LdKey *upper, LdKey *bucket)
{
	int			k;

	*lower = *upper = *bucket = LDK_NONE;
	for (k = 1; k < LDK_COUNT; k++)
	{
		const LdKeyDef *def = ld_key_def((LdKey) k);

		if (!(ld_endpoint_keys(ep) & LD_KEY_BIT(k)))
			continue;
		if (def->bind == LDB_LOWER)
			*lower = (LdKey) k;
		else if (def->bind == LDB_UPPER)
			*upper = (LdKey) k;
		else if (def->query == NULL && (ep->query & LD_KEY_BIT(k)))
			*bucket = (LdKey) k;
	}
}

/*
 * ld_window_text
 *		A timestamp as ISO 8601 text in UTC, microseconds included (what
 *		a row's period_start / period_end columns read).
 */
char *
ld_window_text(int64 us)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm((Timestamp) us, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d+00", tm.tm_year, tm.tm_mon,
					tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/*
 * add_window
 *		Append the window [start, end] (microseconds) of bucket name.
 */
static List *
add_window(List *out, const char *bucket, int64 start, int64 end)
{
	LdWindow   *w = palloc(sizeof(LdWindow));

	w->bucket = pstrdup(bucket);
	w->from_ms = psprintf(INT64_FORMAT, ms_floor(start));
	w->to_ms = psprintf(INT64_FORMAT, ms_ceil(end));
	w->start = ld_window_text(start);
	w->end = ld_window_text(end);
	return lappend(out, w);
}

/*
 * check_bucket
 *		The width of a bucket name; an error for an unknown one.
 */
static int64
check_bucket(const char *name)
{
	int64		width = ld_bucket_width(name);

	if (width < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid metrics bucket \"%s\"", name),
				 errhint("Valid buckets are none, hour, day and week: WHERE bucket = 'day'.")));
	return width;
}

/*
 * bucket_windows
 *		The windows of [lower, upper] cut at the UTC boundaries of buckets
 *		of width ms (the first and last possibly partial).
 */
static List *
bucket_windows(List *out, const char *bucket, int64 width, int64 lower, int64 upper)
{
	int64		from = ms_floor(lower);
	int64		to = ms_ceil(upper);
	int64		first = ld_bucket_floor(from, width);
	int64		n = (ld_bucket_floor(to - 1, width) - first) / width + 1;
	int64		b;

	if (n > LD_MAX_BUCKETS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the metrics window has " INT64_FORMAT " %s buckets, more than %d",
						n, bucket, LD_MAX_BUCKETS),
				 errdetail("Each bucket is one request."),
				 errhint("Use a larger bucket or a shorter window: WHERE bucket = 'week', or WHERE period_start >= now() - interval '30 days' AND period_end <= now().")));
	for (b = first; b < to; b += width)
	{
		int64		bs = b * 1000 - LD_EPOCH_SHIFT_US;
		int64		be = bs + width * 1000;

		CHECK_FOR_INTERRUPTS();
		out = add_window(out, bucket, Max(bs, lower), Min(be, upper));
	}
	return out;
}

/*
 * ld_build_windows
 *		The windows a scan requests, in time order for each bucket name of
 *		buckets (String; a bucket IN list gives each bucketing in turn),
 *		for the WHERE window [lower, upper].  An empty window (lower after
 *		upper) has none.
 */
List *
ld_build_windows(int64 lower, int64 upper, List *buckets)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, buckets)
	{
		const char *name = strVal(lfirst(lc));
		int64		width = check_bucket(name);

		if (lower >= upper)
			continue;
		if (width > 0)
		{
			out = bucket_windows(out, name, width, lower, upper);
			continue;
		}
		if (ms_ceil(upper) - ms_floor(lower) > LD_MAX_SPAN_MS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the metrics window is longer than LaunchDarkly's 100 days"),
					 errdetail("The window runs from %s to %s.", ld_window_text(lower),
							   ld_window_text(upper)),
					 errhint("Cut it into buckets, one request each: WHERE bucket = 'day' (or the table option bucket), or narrow it: WHERE period_start >= now() - interval '100 days' AND period_end <= now().")));
		out = add_window(out, name, lower, upper);
	}
	return out;
}
