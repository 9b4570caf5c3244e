/*-------------------------------------------------------------------------
 *
 * stats.c
 *		  The ldai_fdw_stats view and ldai_fdw_stats_reset(): requests,
 *		  retries, answers by class, transport errors, bytes, time on the
 *		  network and time throttled, per foreign server and endpoint
 *		  template (budget.c keeps the counters).
 *
 * The endpoint template of a request is the catalog's path it was built
 * from, as the API reference writes it without the project prefix:
 * "GET /agent-optimizations/{optimization_key}/all-results".  Keys never
 * show, so the rows stay few whatever the data.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(ldai_fdw_stats);
PG_FUNCTION_INFO_V1(ldai_fdw_stats_reset);

#define PROJECT_PREFIX "/api/v2/projects/{project}"

/*
 * template_score
 *		How well a catalog template fits a request path (without its
 *		query): -1 if it does not, else the number of literal segments
 *		that matched (the more specific template wins).
 */
static int
template_score(const char *tmpl, const char *path)
{
	int			score = 0;

	while (*tmpl == '/' && *path == '/')
	{
		const char *te = strchr(tmpl + 1, '/');
		const char *pe = strchr(path + 1, '/');
		size_t		tl = te ? (size_t) (te - tmpl) : strlen(tmpl);
		size_t		pl = pe ? (size_t) (pe - path) : strlen(path);

		if (tmpl[1] == '{')
		{
			if (pl <= 1)
				return -1;
		}
		else if (tl != pl || strncmp(tmpl, path, tl) != 0)
			return -1;
		else
			score++;
		tmpl += tl;
		path += pl;
	}
	return (*tmpl == '\0' && *path == '\0') ? score : -1;
}

/*
 * consider
 *		Keep tmpl as the best template so far if it fits better.
 */
static void
consider(const char *tmpl, const char *path, const char **best, int *best_score)
{
	int			score;

	if (tmpl == NULL)
		return;
	score = template_score(tmpl, path);
	if (score > *best_score)
	{
		*best = tmpl;
		*best_score = score;
	}
}

/*
 * ld_endpoint_template
 *		"METHOD /template" of a request path (palloc'd), from the catalog's
 *		read and write paths; "METHOD (other)" for a path none fits.
 */
char *
ld_endpoint_template(const char *method, const char *path)
{
	const char *best = NULL;
	int			best_score = -1;
	char	   *bare = pstrdup(path);
	char	   *q = strchr(bare, '?');
	int			i;
	int			j;

	if (q != NULL)
		*q = '\0';
	for (i = 0; i < ld_resource_count(); i++)
	{
		const LdResource *res = ld_resource_at(i);

		for (j = 0; j < res->nendpoints; j++)
			consider(res->endpoints[j].path, bare, &best, &best_score);
		consider(res->writes.create, bare, &best, &best_score);
		consider(res->writes.item, bare, &best, &best_score);
	}
	pfree(bare);
	if (best == NULL)
		return psprintf("%s (other)", method);
	if (strncmp(best, PROJECT_PREFIX, strlen(PROJECT_PREFIX)) == 0 &&
		best[strlen(PROJECT_PREFIX)] == '/')
		best += strlen(PROJECT_PREFIX);
	return psprintf("%s %s", method, best);
}

/*
 * ldai_fdw_stats
 *		SQL function behind the ldai_fdw_stats view: one row per (server,
 *		endpoint) of this database (server NULL for the overflow row).
 */
Datum
ldai_fdw_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LdStatRow  *rows;
	TimestampTz reset;
	int			n;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	n = ld_stats_snapshot(&rows, &reset);
	for (i = 0; i < n; i++)
	{
		Datum		values[14];
		bool		nulls[14];
		const LdCounters *c = &rows[i].c;

		memset(nulls, 0, sizeof(nulls));
		values[0] = ObjectIdGetDatum(rows[i].serverid);
		nulls[0] = !OidIsValid(rows[i].serverid);
		values[1] = CStringGetTextDatum(rows[i].endpoint);
		values[2] = Int64GetDatum(c->requests);
		values[3] = Int64GetDatum(c->retries);
		values[4] = Int64GetDatum(c->status_2xx);
		values[5] = Int64GetDatum(c->status_4xx);
		values[6] = Int64GetDatum(c->status_429);
		values[7] = Int64GetDatum(c->status_5xx);
		values[8] = Int64GetDatum(c->status_other);
		values[9] = Int64GetDatum(c->transport_errors);
		values[10] = Int64GetDatum(c->bytes_received);
		values[11] = Float8GetDatum(c->network_ms);
		values[12] = Float8GetDatum(c->throttled_ms);
		values[13] = TimestampTzGetDatum(reset);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ldai_fdw_stats_reset
 *		Forget the statistics (EXECUTE is revoked from PUBLIC).
 */
Datum
ldai_fdw_stats_reset(PG_FUNCTION_ARGS)
{
	ld_stats_reset_all();
	PG_RETURN_VOID();
}
