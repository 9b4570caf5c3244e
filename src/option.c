/*-------------------------------------------------------------------------
 *
 * option.c
 *		  Options of ldai_fdw: one table of the valid options with the
 *		  catalog each belongs to, the validator, and the merged view of
 *		  server and table options a scan uses.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "access/reloptions.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "commands/defrem.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include <unistd.h>

/* how an option's value is checked */
typedef enum LdOptKind
{
	LDO_TEXT,					/* any non-empty text */
	LDO_URL,					/* http(s)://host[:port] */
	LDO_INT,					/* integer within [min, max] */
	LDO_RESOURCE,				/* a resource name of the catalog */
	LDO_FILE,					/* a readable file; superuser only */
	LDO_BOOL,					/* true/false */
	LDO_WRITE_MODE,				/* immediate / on_commit */
	LDO_BUCKET					/* none / hour / day / week */
} LdOptKind;

typedef struct LdOptionDef
{
	const char *name;
	Oid			context;		/* catalog it may appear in */
	LdOptKind	kind;
	int			min;
	int			max;
} LdOptionDef;

static const LdOptionDef option_defs[] = {
	{"base_url", ForeignServerRelationId, LDO_URL},
	{"project_key", ForeignServerRelationId, LDO_TEXT},
	{"page_size", ForeignServerRelationId, LDO_INT, 1, 1000},
	{"timeout_ms", ForeignServerRelationId, LDO_INT, 1, 3600000},
	{"connect_timeout_ms", ForeignServerRelationId, LDO_INT, 1, 3600000},
	{"max_retries", ForeignServerRelationId, LDO_INT, 0, 10},
	{"max_response_bytes", ForeignServerRelationId, LDO_INT, 1024, 1073741823},
	{"ca_file", ForeignServerRelationId, LDO_FILE},
	{"request_cost", ForeignServerRelationId, LDO_INT, 0, 100000000},
	{"use_remote_estimate", ForeignServerRelationId, LDO_BOOL},
	{"use_remote_estimate", ForeignTableRelationId, LDO_BOOL},
	{"max_concurrency", ForeignServerRelationId, LDO_INT, 1, 16},
	{"max_concurrency", ForeignTableRelationId, LDO_INT, 1, 16},
	{"batch_size", ForeignServerRelationId, LDO_INT, 1, 1000},
	{"batch_size", ForeignTableRelationId, LDO_INT, 1, 1000},
	{"async_capable", ForeignServerRelationId, LDO_BOOL},
	{"async_capable", ForeignTableRelationId, LDO_BOOL},
	{"api_key", UserMappingRelationId, LDO_TEXT},
	{"resource", ForeignTableRelationId, LDO_RESOURCE},
	{"project_key", ForeignTableRelationId, LDO_TEXT},
	{"optimization_key", ForeignTableRelationId, LDO_TEXT},
	{"config_key", ForeignTableRelationId, LDO_TEXT},
	{"env", ForeignTableRelationId, LDO_TEXT},
	{"bucket", ForeignTableRelationId, LDO_BUCKET},
	{"field", AttributeRelationId, LDO_TEXT},
	/* write safety (xact.c) */
	{"updatable", ForeignServerRelationId, LDO_BOOL},
	{"updatable", ForeignTableRelationId, LDO_BOOL},
	{"write_mode", ForeignServerRelationId, LDO_WRITE_MODE},
	{"write_mode", ForeignTableRelationId, LDO_WRITE_MODE},
	/* rate limits (budget.c) */
	{"max_requests_per_second", ForeignServerRelationId, LDO_INT, 0, 100000},
};

#define DEFAULT_BASE_URL "https://app.launchdarkly.com"

/*
 * catalog_name
 *		What the user calls the object an option catalog belongs to.
 */
static const char *
catalog_name(Oid context)
{
	switch (context)
	{
		case ForeignServerRelationId:
			return "foreign server";
		case UserMappingRelationId:
			return "user mapping";
		case ForeignTableRelationId:
			return "foreign table";
		case AttributeRelationId:
			return "foreign table column";
		default:
			return "object";
	}
}

/*
 * valid_names
 *		Comma-separated list of the options valid in a catalog, for hints.
 */
static char *
valid_names(Oid context)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < (int) lengthof(option_defs); i++)
		if (option_defs[i].context == context)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "",
							 option_defs[i].name);
	return buf.len ? buf.data : "(none)";
}

/*
 * resource_names
 *		Comma-separated resource names, for hints.
 */
static char *
resource_names(void)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < ld_resource_count(); i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", ld_resource_at(i)->name);
	return buf.data;
}

/* the hosts a non-superuser may point base_url at over https */
static const char *const official_hosts[] = {
	"app.launchdarkly.com",		/* commercial */
	"app.launchdarkly.us",		/* federal */
	"app.eu.launchdarkly.com",	/* EU */
};

/*
 * is_official_host
 *		Whether a host (as libcurl parsed it) is one of LaunchDarkly's.
 */
static bool
is_official_host(const char *host)
{
	int			i;

	for (i = 0; i < (int) lengthof(official_hosts); i++)
		if (pg_strcasecmp(host, official_hosts[i]) == 0)
			return true;
	return false;
}

/*
 * bad_url
 *		ERROR for a base_url value that is not scheme://host[:port].
 */
static void
bad_url(const char *name, const char *url, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", name, url),
			 errdetail("%s", detail),
			 errhint("Use the form scheme://host[:port], for example https://app.launchdarkly.com.")));
}

/*
 * check_url
 *		base_url must be http(s)://host[:port] with no path, query or
 *		credentials.  The host is parsed by libcurl, exactly as requests
 *		will parse it.  Since every request carries the api_key of the
 *		user mapping, a non-superuser may only name LaunchDarkly's own
 *		hosts (https) or loopback (127.0.0.0/8, ::1, localhost; http or
 *		https); a superuser may name any https host and any http host.
 */
static void
check_url(const char *name, const char *url)
{
	const char *host;
	LdhUrlInfo	info;
	LdhUrlStatus status;

	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		bad_url(name, url, "The URL must start with https:// (or http:// for a local test server).");
	host = strstr(url, "://") + 3;
	status = ldh_parse_base_url(url, &info);
	if (*host == '\0' || strpbrk(host, "/?#@ ") != NULL || status == LDH_URL_EXTRA)
		bad_url(name, url, "Only scheme, host and port are allowed; no path, query, or credentials.");
	if (status != LDH_URL_OK)
		bad_url(name, url, "It is not a valid URL of the form scheme://host[:port].");
	if (superuser() || info.loopback || (info.https && is_official_host(info.host)))
		return;
	if (!info.https)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superuser can set a non-https \"%s\" other than loopback", name),
				 errdetail("The api_key would be sent in clear text.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("only superuser can set \"%s\" to host \"%s\"", name, info.host),
			 errdetail("Every request carries the api_key of a user mapping; other roles may use "
					   "only app.launchdarkly.com, app.launchdarkly.us, app.eu.launchdarkly.com "
					   "or loopback."),
			 errhint("Ask a superuser to create or alter the server.")));
}

/*
 * ld_check_option_chars
 *		ERROR if an option's value contains a control character (bytes
 *		below 0x20, and 0x7f): values end up in HTTP requests, where a
 *		CR/LF would start a header of its own.  The value is never printed
 *		(it may be the api_key).  stored: the value was read from the
 *		catalog at request time, set before this check existed.
 */
void
ld_check_option_chars(const char *name, const char *value, bool stored)
{
	const unsigned char *p;

	for (p = (const unsigned char *) value; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("option \"%s\" must not contain control characters", name),
					 errdetail("The value contains the byte 0x%02x; line breaks, tabs and other "
							   "control characters could inject HTTP headers.", *p),
					 stored ? errhint("Set the option again with ALTER ... OPTIONS (SET %s '...').",
									  name) : 0));
}

/*
 * ld_require_utf8
 *		ERROR unless the current database is UTF8.  LaunchDarkly speaks
 *		UTF-8 JSON and ldai_fdw converts nothing: in another encoding,
 *		non-ASCII text would read as mojibake and be sent as the wrong
 *		bytes.
 */
void
ld_require_utf8(void)
{
	if (GetDatabaseEncoding() == PG_UTF8)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ldai_fdw requires a database with encoding UTF8"),
			 errdetail("The encoding of the current database is %s.", GetDatabaseEncodingName()),
			 errhint("Use ldai_fdw in a database created with ENCODING 'UTF8'.")));
}

/*
 * check_value
 *		Validate one option's value by its kind.
 */
static void
check_value(const LdOptionDef *def, DefElem *d)
{
	char	   *val = defGetString(d);

	if (*val == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("option \"%s\" must not be empty", def->name)));
	if (def->kind == LDO_URL)
		check_url(def->name, val);
	else if (def->kind == LDO_INT)
	{
		char	   *end;
		long		v;

		errno = 0;
		v = strtol(val, &end, 10);
		if (errno != 0 || *end != '\0' || v < def->min || v > def->max)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("invalid value for option \"%s\": \"%s\"", def->name, val),
					 errhint("Valid values are integers from %d to %d.",
							 def->min, def->max)));
	}
	else if (def->kind == LDO_BOOL)
		(void) defGetBoolean(d);	/* errors out for anything but a boolean */
	else if (def->kind == LDO_WRITE_MODE &&
			 strcmp(val, "immediate") != 0 && strcmp(val, "on_commit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", def->name, val),
				 errhint("Valid values are \"immediate\" and \"on_commit\".")));
	else if (def->kind == LDO_BUCKET && ld_bucket_width(val) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", def->name, val),
				 errhint("Valid values are \"none\", \"hour\", \"day\" and \"week\".")));
	else if (def->kind == LDO_FILE)
	{
		/* the file decides which servers are trusted with the key */
		if (!superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("only superuser can set option \"%s\"", def->name)));
		if (!is_absolute_path(val) || access(val, R_OK) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("invalid value for option \"%s\": \"%s\"", def->name, val),
					 errdetail("It must be the absolute path of a PEM file the server can read.")));
	}
	else if (def->kind == LDO_RESOURCE && ld_find_resource(val) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"resource\": \"%s\"", val),
				 errhint("Valid resources are: %s.", resource_names())));
}

/*
 * check_key_option
 *		A key option (project_key, or one the key table names) fills a path
 *		segment: "." and ".." cannot.
 */
static void
check_key_option(const LdOptionDef *def, const char *val)
{
	LdKey		k = ld_key_by_option(def->name);

	if (strcmp(def->name, "project_key") != 0 &&
		(k == LDK_NONE || ld_key_def(k)->query != NULL))
		return;
	if (!ld_key_value_ok(val))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", def->name, val),
				 errdetail("A LaunchDarkly key cannot be \".\" or \"..\".")));
}

/*
 * check_key_options_apply
 *		A table option that fixes a key is refused on a table whose
 *		resource has no such key (ALTER passes the table's whole option
 *		list, so the resource is known whichever option changes).
 */
static void
check_key_options_apply(List *options)
{
	const LdResource *res = NULL;
	ListCell   *lc;

	foreach(lc, options)
		if (strcmp(((DefElem *) lfirst(lc))->defname, "resource") == 0)
			res = ld_find_resource(defGetString((DefElem *) lfirst(lc)));
	if (res == NULL)
		return;
	foreach(lc, options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);
		LdKey		k = ld_key_by_option(d->defname);

		if (k != LDK_NONE && !(ld_resource_keys(res) & LD_KEY_BIT(k)))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" is not valid for resource \"%s\"",
							d->defname, res->name),
					 errdetail("Rows of %s have no \"%s\" key to fix.", res->name,
							   ld_key_name(k))));
	}
}

/*
 * ldai_fdw_validator
 *		Validate the options of a server, user mapping, foreign table or
 *		column at CREATE/ALTER time.
 */
PG_FUNCTION_INFO_V1(ldai_fdw_validator);

Datum
ldai_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			context = PG_GETARG_OID(1);
	ListCell   *lc;

	/* CREATE EXTENSION (the wrapper itself) works anywhere; the rest not */
	if (context != ForeignDataWrapperRelationId)
		ld_require_utf8();
	foreach(lc, options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);
		const LdOptionDef *def = NULL;
		int			i;

		for (i = 0; i < (int) lengthof(option_defs); i++)
			if (option_defs[i].context == context &&
				strcmp(option_defs[i].name, d->defname) == 0)
				def = &option_defs[i];
		if (def == NULL && strcmp(d->defname, "api_key") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"api_key\" is only valid in a user mapping"),
					 errhint("Use CREATE USER MAPPING FOR ... SERVER ... OPTIONS (api_key '...').")));
		if (def == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\" for a %s", d->defname,
							catalog_name(context)),
					 errhint("Valid options in this context are: %s.",
							 valid_names(context))));
		ld_check_option_chars(def->name, defGetString(d), false);
		check_value(def, d);
		check_key_option(def, defGetString(d));
	}
	if (context == ForeignTableRelationId)
		check_key_options_apply(options);
	PG_RETURN_VOID();
}

/*
 * apply_option
 *		Copy one validated option into the merged options.
 */
static void
apply_option(LdOptions *opts, DefElem *d)
{
	const char *n = d->defname;
	char	   *v = defGetString(d);

	if (strcmp(n, "base_url") == 0)
		opts->base_url = v;
	else if (strcmp(n, "project_key") == 0)
		opts->project_key = v;
	else if (strcmp(n, "page_size") == 0)
		opts->page_size = atoi(v);
	else if (strcmp(n, "timeout_ms") == 0)
		opts->timeout_ms = atoi(v);
	else if (strcmp(n, "connect_timeout_ms") == 0)
		opts->connect_timeout_ms = atoi(v);
	else if (strcmp(n, "max_retries") == 0)
		opts->max_retries = atoi(v);
	else if (strcmp(n, "max_response_bytes") == 0)
		opts->max_response_bytes = atoi(v);
	else if (strcmp(n, "ca_file") == 0)
		opts->ca_file = v;
	else if (strcmp(n, "request_cost") == 0)
		opts->request_cost = atof(v);
	else if (strcmp(n, "use_remote_estimate") == 0)
		opts->use_remote_estimate = defGetBoolean(d);
	else if (strcmp(n, "max_concurrency") == 0)
		opts->max_concurrency = atoi(v);
	else if (strcmp(n, "batch_size") == 0)
		opts->batch_size = atoi(v);
	else if (strcmp(n, "async_capable") == 0)
		opts->async_capable = defGetBoolean(d);
	else if (strcmp(n, "resource") == 0)
		opts->resource = v;
	else if (ld_key_by_option(n) != LDK_NONE)
		opts->keys[ld_key_by_option(n)] = v;
	else if (strcmp(n, "updatable") == 0)
		opts->updatable = defGetBoolean(d);
	else if (strcmp(n, "write_mode") == 0)
		opts->write_on_commit = strcmp(v, "on_commit") == 0;
	else if (strcmp(n, "max_requests_per_second") == 0)
		opts->max_requests_per_second = atoi(v);
}

/*
 * ld_server_options
 *		Defaults overridden by the server's options.
 */
void
ld_server_options(ForeignServer *server, LdOptions *opts)
{
	ListCell   *lc;

	memset(opts, 0, sizeof(*opts));
	opts->base_url = DEFAULT_BASE_URL;
	opts->page_size = 100;
	opts->timeout_ms = 30000;
	opts->connect_timeout_ms = 10000;
	opts->max_retries = 3;
	opts->max_response_bytes = 64 * 1024 * 1024;
	opts->request_cost = 1000;
	opts->async_capable = true;
	opts->max_concurrency = 4;
	opts->batch_size = 10;
	opts->updatable = true;
	foreach(lc, server->options)
		apply_option(opts, (DefElem *) lfirst(lc));
}

/*
 * merge_table_options
 *		Defaults, then server, then table options (a table's project_key
 *		overrides the server's); nothing is required yet.
 */
static void
merge_table_options(Oid foreigntableid, LdOptions *opts)
{
	ForeignTable *table = GetForeignTable(foreigntableid);
	ForeignServer *server = GetForeignServer(table->serverid);
	ListCell   *lc;

	ld_server_options(server, opts);
	foreach(lc, table->options)
		apply_option(opts, (DefElem *) lfirst(lc));
}

/*
 * ld_get_options
 *		The options a scan or write of a foreign table uses; an ERROR if
 *		the table lacks a known resource or a project_key, so that every
 *		caller may use ld_find_resource(opts->resource) as is.
 */
void
ld_get_options(Oid foreigntableid, LdOptions *opts)
{
	merge_table_options(foreigntableid, opts);
	if (opts->resource == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("foreign table \"%s\" has no \"resource\" option",
						get_rel_name(foreigntableid)),
				 errhint("Valid resources are: %s.", resource_names())));
	if (ld_find_resource(opts->resource) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"resource\" of foreign table \"%s\": \"%s\"",
						get_rel_name(foreigntableid), opts->resource),
				 errhint("Valid resources are: %s.", resource_names())));
	if (opts->project_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("no project_key for foreign table \"%s\"",
						get_rel_name(foreigntableid)),
				 errhint("Set project_key on the server or the table (IMPORT FOREIGN SCHEMA sets it).")));
}

/*
 * ld_table_resource
 *		The catalog entry of a foreign table, or NULL when its options are
 *		incomplete (no known resource, no project_key).  Never an ERROR:
 *		for callers such as IsForeignRelUpdatable, which information_schema
 *		calls for every foreign table it lists.
 */
const LdResource *
ld_table_resource(Oid foreigntableid)
{
	LdOptions	opts;

	merge_table_options(foreigntableid, &opts);
	if (opts.resource == NULL || opts.project_key == NULL)
		return NULL;
	return ld_find_resource(opts.resource);
}

/*
 * ld_column_field
 *		The JSON field of a column: its "field" option, else the catalog's
 *		field, else the column name in camelCase.
 */
char *
ld_column_field(Oid relid, AttrNumber attnum, const char *colname,
				const LdResource *res)
{
	List	   *options = GetForeignColumnOptions(relid, attnum);
	const LdColumn *col;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = (DefElem *) lfirst(lc);

		if (strcmp(d->defname, "field") == 0)
			return defGetString(d);
	}
	col = ld_find_column(res, colname);
	if (col != NULL && col->field != NULL)
		return pstrdup(col->field);
	return ld_default_field(colname);
}
