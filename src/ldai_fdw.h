/*-------------------------------------------------------------------------
 *
 * ldai_fdw.h
 *		  Shared declarations of ldai_fdw, grouped by the file that
 *		  implements them.
 *
 * A query travels planner.c (which endpoint, which conditions and LIMIT go
 * to the API) -> scan.c (paging, parent enumeration) -> connection.c
 * (connection cache, interruptible waits, HTTP errors) -> http.c (libcurl)
 * and back through convert.c (JSON -> Datum).  catalog.c is the only file
 * that knows LaunchDarkly's paths and fields.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LDAI_FDW_H
#define LDAI_FDW_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/execnodes.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
/* ExplainState and the ExplainProperty* functions moved out of explain.h */
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "nodes/pathnodes.h"
#include "utils/jsonb.h"

#include <cjson/cJSON.h>

#include "http.h"
#include "page.h"

#define LDAI_FDW_VERSION "1.1"

/* ----------------------------------------------------------------
 * The resource catalog (catalog.c)
 * ----------------------------------------------------------------
 */

/*
 * Keys: the values a request is built from (path segments, query
 * parameters).  What each key is -- its name, how an unbound one is
 * enumerated, which table option fixes it, how a value is rendered, where
 * it goes in the request -- is data: LdKeyDef rows in catalog.c.
 */
typedef enum LdKey
{
	LDK_NONE = 0,
	LDK_OPTIMIZATION,			/* {optimization_key} */
	LDK_CONFIG,					/* {config_key} */
	LDK_ITEM,					/* {key}: the item's own key */
	LDK_RUN,					/* {run_id} */
	LDK_ID,						/* {id}: a result's id */
	LDK_ENV,					/* ?env=: an environment key */
	LDK_BUCKET,					/* a metrics window's bucket (not sent) */
	LDK_FROM,					/* ?from=: a window's start, epoch ms */
	LDK_TO,						/* ?to=: a window's end, epoch ms */
	LDK_SNIPPET,				/* {snippet_key} */
	LDK_TOOL,					/* {tool_key} */
	LDK_GRAPH,					/* {graph_key} */
	LDK_VARIATION,				/* {variation_key} */
	LDK_COUNT
} LdKey;

/* how WHERE binds a key: "column = value", or one end of a range */
typedef enum LdKeyBind
{
	LDB_EQUAL = 0,				/* key = v, key IN (...) */
	LDB_LOWER,					/* key >= v, key > v: the window's start */
	LDB_UPPER					/* key <= v, key < v: the window's end */
} LdKeyBind;

/* how a key's value is written into a request */
typedef enum LdKeyRender
{
	LDR_TEXT = 0,				/* the value's text */
	LDR_EPOCH_MS				/* a timestamp as milliseconds since the epoch */
} LdKeyRender;

typedef struct LdKeyDef
{
	const char *name;			/* placeholder and column name */
	const char *noun;			/* what a value names, for messages */
	const char *list;			/* list endpoint enumerating unbound values,
								 * NULL: not enumerable */
	const char *list_field;		/* the list items' field holding the value
								 * (NULL: "key") */
	const char *option;			/* table option fixing the value, or NULL */
	LdKeyRender render;
	const char *query;			/* query parameter name: sent as ?query=value
								 * rather than as a path segment; NULL: a
								 * path segment {name} (or, in an endpoint's
								 * query mask, a key that shapes the series
								 * without being sent: bucket) */
	LdKeyBind	bind;
	const char *example;		/* the WHERE condition a hint shows when the
								 * key is required and missing */
	bool		option_default; /* the option is a default that a WHERE
								 * condition overrides (env, bucket), rather
								 * than fixing the key (config_key) */
} LdKeyDef;

/* what an endpoint returns */
typedef enum LdShape
{
	LD_SHAPE_PAGED,				/* {items, totalCount?, _links?}, limit/offset */
	LD_SHAPE_LIST,				/* {items, ...}, no paging parameters */
	LD_SHAPE_ITEM,				/* one object */
	LD_SHAPE_ARRAY				/* a bare JSON array of items, no paging */
} LdShape;

/* column flags */
#define LDC_PATH		0x0001	/* value comes from the request path */
#define LDC_WHOLE		0x0002	/* the whole item (attrs) */
#define LDC_INSERT		0x0004	/* accepted in a POST body */
#define LDC_REQUIRED	0x0008	/* required in a POST body */
#define LDC_UPDATE		0x0010	/* accepted in a PATCH body */
#define LDC_MEMBER		0x0020	/* UPDATE: membership in LdWrites.member_list */
#define LDC_ITEM_ONLY	0x0040	/* only the item endpoint returns it: a list
								 * row that needs it is read with one GET of
								 * its item */
#define LDC_MAP_KEY		0x0080	/* the key of the map entry the row is
								 * (rows embedded as an object's members) */

typedef struct LdColumn
{
	const char *name;			/* SQL column name */
	const char *type;			/* SQL type, as IMPORT declares it */
	const char *field;			/* JSON field (dotted path); NULL = camelCase */
	LdKey		key;			/* path key this column carries, if any */
	uint16		flags;			/* LDC_* */
	const char *write_field;	/* field name in request bodies, if different */
	const char *with;			/* a column the API wants in the same body
								 * whenever this one is sent, or NULL */
} LdColumn;

typedef struct LdEndpoint
{
	const char *path;			/* template: {project}, {optimization_key}... */
	LdShape		shape;
	uint32		binds;			/* LdKey bits that must come from conditions */
	const char *embedded;		/* rows are this array inside each item */
	LdKey		embedded_parent;	/* the key the enclosing item provides */
	uint32		query;			/* LdKey bits beyond the path: query
								 * parameters, and series keys (bucket) */
	const char *order_desc;		/* column whose descending order the API
								 * documents for one series, or NULL */
} LdEndpoint;

/* how rows are written: POST to create, PATCH/DELETE on the item path */
typedef struct LdWrites
{
	const char *create;			/* POST path, NULL if rows cannot be inserted */
	const char *item;			/* PATCH/DELETE path; its keys are the row identity */
	bool		can_update;
	bool		can_delete;
	const char *delete_header;	/* extra header a DELETE needs, or NULL */

	/*
	 * A list the API edits as a set of keys: UPDATE of the LDC_MEMBER
	 * column (a boolean) is POST (true: add) / DELETE (false: remove) of
	 * this path with {"keys": [every row's key]}, one request for all the
	 * rows of the statement (modify.c); NULL if none.
	 */
	const char *member_list;
} LdWrites;

typedef struct LdResource
{
	const char *name;
	const LdEndpoint *endpoints;	/* most specific first */
	int			nendpoints;
	const LdColumn *columns;
	int			ncolumns;
	double		rows_per_series;	/* planner's row guess per request series */
	LdWrites	writes;
	const char *header;			/* a header every request needs, or NULL */
} LdResource;

#define LD_KEY_BIT(k) (1u << (k))
#define LD_MAX_ENDPOINTS 4

/* in catalog.c */
extern const LdResource *ld_find_resource(const char *name);
extern const LdResource *ld_resource_at(int i);
extern int	ld_resource_count(void);
extern const LdColumn *ld_find_column(const LdResource *res, const char *name);
extern const LdKeyDef *ld_key_def(LdKey key);
extern int	ld_shape_form(LdShape shape);
extern const char *ld_key_name(LdKey key);
extern LdKey ld_key_by_name(const char *name);
extern LdKey ld_key_by_option(const char *option);
extern uint32 ld_resource_keys(const LdResource *res);
extern LdKey ld_enumerated_key(const LdEndpoint *ep, uint32 bound);
extern char *ld_key_text(LdKey key, Oid typid, Datum value);
extern const char *ld_query_sep(const char *path);
extern int64 ld_bucket_width(const char *name);
extern int64 ld_bucket_floor(int64 ms, int64 width);
extern char *ld_default_field(const char *column);
extern uint32 ld_endpoint_keys(const LdEndpoint *ep);
extern const LdColumn *ld_key_column(const LdResource *res, LdKey key);
extern uint32 ld_identity_keys(const LdResource *res);
extern bool ld_key_value_ok(const char *value);
extern void ld_check_key_value(const char *name, const char *value);
extern char *ld_escape_segment(const char *value);
extern char *ld_build_path(const LdEndpoint *ep, const char *project,
						   const char *const *keyvals, bool escape);
extern const char *ld_path_header(const char *path);
extern const LdEndpoint *ld_item_endpoint(const LdResource *res);

/* ----------------------------------------------------------------
 * Options (option.c)
 * ----------------------------------------------------------------
 */
typedef struct LdOptions
{
	char	   *base_url;
	char	   *project_key;
	int			page_size;
	int			timeout_ms;
	int			connect_timeout_ms;
	int			max_retries;
	int			max_response_bytes;
	char	   *ca_file;
	double		request_cost;
	bool		use_remote_estimate;
	int			max_concurrency;
	int			batch_size;
	bool		async_capable;	/* may run under an asynchronous Append */
	char	   *resource;
	const char *keys[LDK_COUNT];	/* key values fixed by table options
									 * (optimization_key, config_key...) */
	bool		updatable;		/* false: writes are refused */
	bool		write_on_commit;	/* write_mode 'on_commit' */
	int			max_requests_per_second;	/* budget.c; 0 = none */
} LdOptions;

/* in option.c */
extern void ld_get_options(Oid foreigntableid, LdOptions *opts);
extern void ld_server_options(ForeignServer *server, LdOptions *opts);
extern const LdResource *ld_table_resource(Oid foreigntableid);
extern void ld_check_option_chars(const char *name, const char *value, bool stored);
extern void ld_require_utf8(void);
extern char *ld_column_field(Oid relid, AttrNumber attnum, const char *colname,
							 const LdResource *res);
extern Datum ldai_fdw_validator(PG_FUNCTION_ARGS);

/* ----------------------------------------------------------------
 * Connections and requests (connection.c)
 * ----------------------------------------------------------------
 */

/* counters shown by EXPLAIN ANALYZE */
typedef struct LdStats
{
	int64		cache_hits;		/* answers reused within the statement */
	int64		requests;
	int64		retries;
	int64		bytes;
} LdStats;

/* what to do with a 404 */
typedef enum LdNotFound
{
	LD_404_EMPTY,				/* the key came from a condition: no such row */
	LD_404_ERROR				/* the options fix it: report what is missing */
} LdNotFound;

/* a completed request; body lives in the caller's memory context */
typedef struct LdResult
{
	long		status;
	char		content_type[128];
	char	   *body;
	size_t		body_len;
} LdResult;

typedef struct LdConn LdConn;

extern LdConn *ld_get_connection(UserMapping *user, const LdOptions *opts);
extern LdConn *ld_connection_for(Oid relid, Oid userid, const LdOptions *opts);
extern void ld_connection_hold(LdConn *c, MemoryContext cxt);
extern Oid	ld_scan_user(ForeignScanState *node);
extern void ld_request(LdConn *conn, const char *method, const char *path,
					   const char *body, const char *extra_header,
					   LdStats *stats, LdResult *result);
extern char *ld_api_error_text(const LdResult *result);
extern int	ld_http_errcode(long status);
extern void ld_report_http_error(const char *method, const char *path,
								 const LdResult *result);
extern void ld_check_json(const char *method, const char *path,
						  const LdResult *result);
extern void ld_async_cancel(LdConn *conn, LdhTransfer *t);
extern void ld_async_wait(LdConn *conn);
extern LdhClient *ld_conn_client(LdConn *conn);
extern LdhTransfer *ld_async_start(LdConn *conn, const char *method,
								   const char *path, const char *body,
								   const char *extra_header);
extern bool ld_async_finish(LdConn *conn, LdhTransfer *t, const char *method,
							const char *path, const char *body,
							const char *extra_header, LdStats *stats,
							LdResult *result);

/* connection functions of SQL (connection.c) */
extern Datum ldai_fdw_get_connections(PG_FUNCTION_ARGS);
extern Datum ldai_fdw_disconnect(PG_FUNCTION_ARGS);
extern Datum ldai_fdw_disconnect_all(PG_FUNCTION_ARGS);

/* ----------------------------------------------------------------
 * Rate limits, budget and statistics (budget.c, stats.c)
 * ----------------------------------------------------------------
 */
#define LD_ENDPOINT_LEN 128		/* "GET /template" as the stats keep it */
#define LD_STATS_MAX 512		/* (server, endpoint) rows of ldai_fdw_stats */

/* counters of ldai_fdw_stats */
typedef struct LdCounters
{
	int64		requests;		/* every attempt sent */
	int64		retries;		/* attempts that repeated an earlier one */
	int64		status_2xx;
	int64		status_4xx;		/* but 429 */
	int64		status_429;
	int64		status_5xx;
	int64		status_other;	/* 1xx, 3xx */
	int64		transport_errors;	/* no HTTP answer */
	int64		bytes_received;
	double		network_ms;		/* time blocked waiting for answers */
	double		throttled_ms;	/* time waiting for budget */
} LdCounters;

typedef struct LdStatRow
{
	Oid			serverid;
	char		endpoint[LD_ENDPOINT_LEN];
	LdCounters	c;
} LdStatRow;

/* who a request is charged to, and the windows it counts in */
typedef struct LdBudgetKey
{
	Oid			serverid;
	int			rate;			/* max_requests_per_second, 0 = none */
	const char *endpoint;		/* "GET /template" */
	uint64		windows[3];		/* global, route, access token */
} LdBudgetKey;

/* in budget.c */
extern void ld_budget_init(void);
extern bool ld_budget_shared(void);
extern void ld_budget_key(LdBudgetKey *k, Oid serverid, int rate,
						  const char *base_url, const char *api_key,
						  const char *endpoint);
extern bool ld_budget_acquire(const LdBudgetKey *k, bool may_wait);
extern void ld_budget_observe(const LdBudgetKey *k, const LdhResponse *r);
extern void ld_stats_add(Oid serverid, const char *endpoint, const LdCounters *d);
extern int	ld_stats_snapshot(LdStatRow **rows, TimestampTz *reset);
extern void ld_stats_reset_all(void);

/* in stats.c */
extern char *ld_endpoint_template(const char *method, const char *path);

/* in reqplan.c */
#define LD_MAX_PREFETCH 16		/* pages in flight ahead in one series */
#define LD_MAX_PAGES 100000		/* a series longer is a server that never ends */
#define LD_REQPLAN_MAX 16		/* pages of later series in flight or waiting */

/* paging state of one series (or of the parent enumeration) */
typedef struct LdPager
{
	char	   *path;			/* escaped path, without limit/offset */
	bool		paged;			/* send limit/offset and follow pages */
	int64		offset;			/* offset of the next page */
	int64		remaining;		/* rows still wanted, -1 = all */
	bool		done;
	bool		ended;			/* the last page ended the list (any LIMIT aside) */
	int64		pages;			/* pages read so far */
	char	   *last_first;		/* identity of the previous page's first item */
	MemoryContext cxt;			/* where last_first and queued paths live */
	/* GETs in flight for the next pages, in offset order */
	int			concurrency;	/* max_concurrency; 1 = strictly sequential */
	int			nqueued;
	int64		planned;		/* offset after the last queued page */
	int64		step;			/* items per page the server gives */
	int64		total;			/* totalCount of the last page, -1 = none */
	int			ahead;			/* pages to keep ahead (grows to concurrency) */
	int64		page_items;		/* items of the current page */
	int64		consumed;		/* ... of them handed to the executor */
	bool		armed;			/* prefetch when half the page is consumed */
	struct
	{
		LdhTransfer *t;
		int64		offset;
		char	   *path;
	}			queue[LD_MAX_PREFETCH];
} LdPager;

/* how a scan reads ahead (the planner's tuple_fraction) */
typedef enum LdAheadMode
{
	LD_AHEAD_GROW = 0,			/* a cursor: the window grows page by page */
	LD_AHEAD_EAGER,				/* every row is read: the window is kept full */
	LD_AHEAD_ONE				/* a LIMIT above may stop it: one page ahead */
} LdAheadMode;

/* the base paths of up to max series after the current one (scan.c) */
typedef int (*LdSeriesAheadFn) (void *arg, int max, char **bases);

/* the request plan of one scan execution */
typedef struct LdReqPlan
{
	LdConn	   *conn;
	MemoryContext cxt;			/* where entries' paths live */
	MemoryContext scratch;		/* paths of one planning round */
	LdStats    *stats;			/* the scan's request counts */
	/* policy, set by the scan after ld_reqplan_init */
	EState	   *cache;			/* answers from the query's cache, or NULL */
	LdAheadMode mode;
	int			concurrency;	/* max_concurrency; 1 after a 429 */
	int			page_size;
	int			first_limit;	/* limit of a later series' first GET */
	bool		plan_series;	/* later series may go out ahead */
	bool		series_paged;	/* ... and they are paged */
	bool		follow;			/* ... and their next pages too */
	int			form;			/* LdpForm of their pages */
	LdSeriesAheadFn series_ahead;
	void	   *series_arg;
	LdPager    *current;		/* the series being read */
	LdPager    *parent;			/* the enumeration list, or NULL */
	/* pages of later series, in flight or answered and not taken yet */
	int64		series_no;		/* number of the current series (from 1) */
	int			n;
	struct
	{
		char	   *path;		/* with its query string */
		char	   *base;		/* ... without limit/offset; NULL: not paged */
		int64		offset;		/* the page's offset */
		int64		series;		/* the scan's number of its series */
		bool		followed;	/* its next page is started or not needed */
		LdhTransfer *t;
	}			e[LD_REQPLAN_MAX];
} LdReqPlan;

extern char *ld_page_path(const char *base, int64 limit, int64 offset);
extern void ld_bad_response(const char *path, const char *what);
extern void ld_reqplan_get(LdReqPlan *rp, const char *path, LdResult *res);
extern void ld_reqplan_init(LdReqPlan *rp, LdConn *conn, MemoryContext cxt,
							MemoryContext scratch, LdStats *stats);
extern void ld_reqplan_next_series(LdReqPlan *rp);
extern void ld_reqplan_drop(LdReqPlan *rp);
extern void ld_pager_reset(LdReqPlan *rp, LdPager *pg, char *path, bool paged,
						   int64 offset, int64 remaining, int concurrency,
						   MemoryContext cxt);
extern void ld_pager_cancel(LdReqPlan *rp, LdPager *pg);
extern int	ld_pager_inflight(const LdPager *pg);
extern void ld_pager_consumed(LdReqPlan *rp, LdPager *pg);
extern void ld_pager_prefetch(LdReqPlan *rp, LdPager *pg);
extern void ld_pager_get(LdReqPlan *rp, LdPager *pg, const char *path, LdResult *res);
extern char *ld_pager_next_path(const LdReqPlan *rp, const LdPager *pg);
extern bool ld_pager_ready(LdReqPlan *rp, LdPager *pg);
extern LdhTransfer *ld_pager_waiting(const LdPager *pg);
extern void ld_pager_answered(LdReqPlan *rp, LdPager *pg, const LdpPage *page,
							  const char *path, bool single);

/* in cache.c */
extern void ld_cache_reset(void);
extern bool ld_cache_get(EState *estate, Oid umid, const char *path,
						 LdResult *result);
extern void ld_cache_put(EState *estate, Oid umid, const char *path,
						 const LdResult *result);
extern void ld_request_cached(LdConn *conn, EState *estate, const char *path,
							  LdStats *stats, LdResult *result);

/* ----------------------------------------------------------------
 * JSON -> Datum (convert.c)
 * ----------------------------------------------------------------
 */

/* where a column's value comes from */
typedef enum LdSource
{
	LDS_FIELD,					/* a JSON field of the item */
	LDS_PATH_KEY,				/* the request path (parent key) */
	LDS_WHOLE,					/* the whole item */
	LDS_MAP_KEY					/* the member name of an embedded map entry */
} LdSource;

/* how a JSON value becomes a Datum of the column's type */
typedef enum LdConv
{
	LDV_INPUT,					/* the type's input function on the text */
	LDV_TEXT,					/* text-like: strings as is, others as JSON */
	LDV_JSON,					/* json/jsonb: the JSON text */
	LDV_BOOL,
	LDV_TIMESTAMP,				/* epoch milliseconds (or an ISO string) */
	LDV_ARRAY					/* a JSON array into a PostgreSQL array */
} LdConv;

typedef struct LdTypeConv
{
	Oid			typid;
	int32		typmod;
	LdConv		conv;
	FmgrInfo	input;
	Oid			ioparam;
	Oid			int_type;		/* int2/int4/int8 itself (not a domain), or 0 */
	/* for arrays: the element type */
	Oid			elemtype;
	LdConv		elemconv;
	FmgrInfo	elem_input;
	Oid			elem_ioparam;
	Oid			elem_int_type;	/* like int_type, for the elements */
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
} LdTypeConv;

typedef struct LdAttr
{
	AttrNumber	attnum;
	char	   *relname;		/* the foreign table (for messages) */
	char	   *name;
	char	   *field;			/* the JSON field as configured (for messages) */
	char	  **path;			/* field split on dots */
	int			npath;
	LdSource	source;
	LdKey		key;			/* for LDS_PATH_KEY */
	bool		required;		/* an identifying field every item must have */
	LdTypeConv	type;
	struct LdFieldIndex *findex;	/* top-level fields of all columns, shared */
	int			fentry;			/* this column's entry in it, -1 if none */
} LdAttr;

/* in convert.c */
extern cJSON *ld_json_parse(MemoryContext owner, const char *buf, size_t len);
extern void ld_json_own(MemoryContext owner, cJSON *tree);
extern void ld_page_own(MemoryContext owner, LdpPage *page);
extern char *ld_json_text(const cJSON *value);
extern void ld_init_type(LdTypeConv *tc, Oid typid, int32 typmod);
extern LdAttr *ld_build_attrs(Relation rel, const LdResource *res,
							  List *retrieved, int *nattrs);
extern cJSON *ld_json_lookup(const cJSON *item, char **path, int npath);
extern Datum ld_json_to_datum(const LdAttr *attr, const cJSON *value,
							  bool *isnull);
extern Datum ld_text_to_datum(const LdAttr *attr, const char *text);
extern void ld_fill_slot(const LdAttr *attrs, int nattrs, TupleTableSlot *slot,
						 const cJSON *row, const char *const *keys,
						 const cJSON *parent, LdKey embedded_parent);
extern cJSON *ld_datum_to_json(const LdAttr *attr, Datum value);
extern char *ld_datum_text(Oid typid, Datum value);

/* ----------------------------------------------------------------
 * Planning (planner.c)
 * ----------------------------------------------------------------
 */

/*
 * Indexes of the ForeignScan's fdw_private list (only copyable nodes).
 */
enum LdScanPrivate
{
	/* resource name (String) */
	LdPrivResource,
	/* index of the chosen endpoint in the resource (Integer) */
	LdPrivEndpoint,
	/* attribute numbers the query needs (List of Integer) */
	LdPrivRetrieved,
	/* for each fdw_exprs key entry, its LdKey (List of Integer) */
	LdPrivKeyKinds,
	/* nonzero when fdw_exprs ends with LIMIT and OFFSET expressions */
	LdPrivHasLimit,
	/* nonzero when the statement writes the scanned table (Integer) */
	LdPrivReadAll,
	/* a pushed count(*): the foreign table's OID, else 0 (Integer) */
	LdPrivCountRelid,
	/* for each key entry, 1 when its range condition is strict (> or <) */
	LdPrivKeyStrict,
	/* the column of the API's documented (descending) order the plan
	 * relies on instead of a Sort, or "" (String) */
	LdPrivOrder,
	/* what the executor reads (Integer): 1 every row (a series' next pages
	 * are asked for at once), -1 a count (one page ahead, on demand), 0 a
	 * fraction (on demand, the window growing) */
	LdPrivEager
};

/* in planner.c */
extern void ldGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
								Oid foreigntableid);
extern void ldGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
							  Oid foreigntableid);
extern ForeignScan *ldGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
									 Oid foreigntableid, ForeignPath *best_path,
									 List *tlist, List *scan_clauses,
									 Plan *outer_plan);
extern LdKey ld_key_condition(PlannerInfo *root, RelOptInfo *baserel,
							  const LdResource *res, uint32 allowed,
							  Expr *clause, Expr **value);
extern void ldGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
								   RelOptInfo *input_rel, RelOptInfo *output_rel,
								   void *extra);
extern bool ldIsForeignPathAsyncCapable(ForeignPath *path);

/* ----------------------------------------------------------------
 * Scanning (scan.c)
 * ----------------------------------------------------------------
 */
extern void ldBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *ldIterateForeignScan(ForeignScanState *node);
extern void ldReScanForeignScan(ForeignScanState *node);
extern void ldEndForeignScan(ForeignScanState *node);
extern void ldExplainForeignScan(ForeignScanState *node, ExplainState *es);
extern bool ldAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
								  BlockNumber *totalpages);
extern TupleTableSlot *ld_scan_async_next(ForeignScanState *node, bool *wait);
extern LdhTransfer *ld_scan_async_transfer(ForeignScanState *node, LdConn **conn);
extern void **ld_scan_async_state(ForeignScanState *node);

/* ----------------------------------------------------------------
 * Asynchronous Append (async.c)
 * ----------------------------------------------------------------
 */
extern bool ld_async_supported(void);
extern void ldForeignAsyncRequest(AsyncRequest *areq);
extern void ldForeignAsyncConfigureWait(AsyncRequest *areq);
extern void ldForeignAsyncNotify(AsyncRequest *areq);

/* ----------------------------------------------------------------
 * The metrics window (window.c)
 * ----------------------------------------------------------------
 */

/* one window of a metrics scan: one series */
typedef struct LdWindow
{
	char	   *bucket;			/* none, hour, day, week */
	char	   *from_ms;		/* the request's from and to (epoch ms) */
	char	   *to_ms;
	char	   *start;			/* the row's period_start and period_end */
	char	   *end;
} LdWindow;

extern int64 ld_window_bound(LdKey key, Oid typid, Datum value, bool strict);
extern void ld_window_keys(const LdEndpoint *ep, LdKey *lower, LdKey *upper,
						   LdKey *bucket);
extern char *ld_window_text(int64 us);
extern List *ld_build_windows(int64 lower, int64 upper, List *buckets);

/* ----------------------------------------------------------------
 * EXPLAIN (explain.c)
 * ----------------------------------------------------------------
 */
extern List *ld_explain_requests(ForeignScanState *node);

/* ----------------------------------------------------------------
 * Writes (modify.c)
 * ----------------------------------------------------------------
 */
/* an UPDATE's or DELETE's request in flight (batch.c) */
typedef struct LdPending
{
	char	   *path;
	char	   *body;
	int64		row;			/* its row number, from 0 */
	LdhTransfer *t;
} LdPending;

typedef struct LdModifyState
{
	const LdResource *res;
	LdOptions	opts;
	LdConn	   *conn;
	CmdType		operation;
	LdAttr	   *attrs;			/* every column of the table */
	int			nattrs;
	List	   *target_attrs;	/* UPDATE: the columns the statement sets */
	AttrNumber	key_junk[LDK_COUNT];	/* identity junk columns, 0 = none */
	Oid			key_type[LDK_COUNT];
	AttrNumber	wholerow_junk;	/* DELETE RETURNING: the row as read */
	AttrNumber *with_junk;		/* UPDATE: per attrs[] entry, the junk column
								 * of the value a partner column sends along */
	char		new_run_id[37]; /* INSERT: run_id for rows that give none */
	int64		rows;			/* rows handed to us before this one */
	int64		sent;			/* rows whose request succeeded */
	int			in_flight;		/* later rows possibly sent too */
	LdStats		stats;
	MemoryContext row_cxt;		/* reset per row */
	/* UPDATE / DELETE with requests in flight (batch.c) */
	bool		deferred;
	LdPending  *window;			/* ring of max_concurrency entries */
	int			wstart;			/* oldest entry */
	int			wcount;			/* entries in flight */
	MemoryContext window_cxt;	/* the entries' paths and bodies */
	/* INSERT ... ON CONFLICT DO NOTHING: a 409 skips the row */
	bool		skip_conflicts;
	int			write_group;	/* ties its queued calls together (xact.c) */
	/* UPDATE of an LDC_MEMBER column: keys gathered, sent at the end */
	const LdAttr *member;		/* that column, NULL for other statements */
	List	   *member_keys[2];	/* keys (String) set to false [0], true [1] */
	List	   *member_rows[2];	/* their row numbers (Integer), from 1 */
	bool		member_sent;	/* the requests were made (or shown) */
	MemoryContext member_cxt;	/* the statement's: the lists live there */
} LdModifyState;

/* error context of a row: which statement and which row */
typedef struct LdRowContext
{
	LdModifyState *state;
	const char *relname;
} LdRowContext;

extern void ldAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
									  RangeTblEntry *target_rte,
									  Relation target_relation);
extern List *ldPlanForeignModify(PlannerInfo *root, ModifyTable *plan,
								 Index resultRelation, int subplan_index);
extern void ldBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
								 List *fdw_private, int subplan_index, int eflags);
extern TupleTableSlot *ldExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
										   TupleTableSlot *slot,
										   TupleTableSlot *planSlot);
extern TupleTableSlot *ldExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
										   TupleTableSlot *slot,
										   TupleTableSlot *planSlot);
extern TupleTableSlot *ldExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
										   TupleTableSlot *slot,
										   TupleTableSlot *planSlot);
extern void ldEndForeignModify(EState *estate, ResultRelInfo *rinfo);
extern int	ldIsForeignRelUpdatable(Relation rel);
extern List *ld_update_targets(PlannerInfo *root, Index resultRelation,
							   Oid relid, const LdResource *res);
extern const char *ld_body_field(const LdResource *res, const LdAttr *a);
extern bool ld_targets_complete(Oid relid, const LdResource *res, List *targets);
extern void ld_row_error_callback(void *arg);
extern MemoryContext ld_begin_rows(LdModifyState *s, ErrorContextCallback *errcb,
								   LdRowContext *rc);
extern cJSON *ld_insert_body(LdModifyState *s, TupleTableSlot *slot, const char **keys);
extern void ldExplainForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
								   List *fdw_private, int subplan_index,
								   ExplainState *es);

/* ----------------------------------------------------------------
 * Concurrent writes (batch.c)
 * ----------------------------------------------------------------
 */
extern int	ldGetForeignModifyBatchSize(ResultRelInfo *rinfo);
extern TupleTableSlot **ldExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo,
												 TupleTableSlot **slots,
												 TupleTableSlot **planSlots,
												 int *numSlots);
extern bool ld_can_defer(ResultRelInfo *rinfo, CmdType op, const LdOptions *opts);
extern void ld_defer_begin(LdModifyState *s, MemoryContext cxt);
extern void ld_defer_row(LdModifyState *s, ResultRelInfo *rinfo, const char *path,
						 const char *body);
extern void ld_flush_deferred(LdModifyState *s, ResultRelInfo *rinfo);

/* ----------------------------------------------------------------
 * UPDATE of a member-list column: one request for all rows (member.c)
 * ----------------------------------------------------------------
 */
extern void ld_member_begin(LdModifyState *s, const char *relname, MemoryContext cxt);
extern void ld_member_row(LdModifyState *s, TupleTableSlot *slot, const char *const *keys);
extern void ld_member_flush(LdModifyState *s, ResultRelInfo *rinfo);
extern char *ld_member_explain(const LdResource *res, const char *project);

/* ----------------------------------------------------------------
 * Direct modify (direct.c)
 * ----------------------------------------------------------------
 */
extern bool ldPlanDirectModify(PlannerInfo *root, ModifyTable *plan,
							   Index resultRelation, int subplan_index);
extern void ldBeginDirectModify(ForeignScanState *node, int eflags);
extern TupleTableSlot *ldIterateDirectModify(ForeignScanState *node);
extern void ldEndDirectModify(ForeignScanState *node);
extern void ldExplainDirectModify(ForeignScanState *node, ExplainState *es);

/* ----------------------------------------------------------------
 * Write safety: dry run, on_commit queue, updatable, GUCs (xact.c)
 * ----------------------------------------------------------------
 */
extern void ld_write_safety_init(void);
extern char *ld_user_agent(void);
extern void ld_check_updatable(const LdOptions *opts, const char *relname, CmdType op);
extern int	ld_write_begin(const LdOptions *opts, bool returning, const char *relname);
extern void ld_write_skip_conflicts(int group);
extern bool ld_write_dry_run(void);
extern bool ld_write_diverted(const LdOptions *opts);
extern bool ld_write_divert(LdConn *conn, const LdOptions *opts, int group,
							const char *method, const char *path, const char *body,
							const char *header);

/* ----------------------------------------------------------------
 * IMPORT FOREIGN SCHEMA (import.c)
 * ----------------------------------------------------------------
 */
extern List *ldImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid);

#endif							/* LDAI_FDW_H */
