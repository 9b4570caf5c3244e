/*-------------------------------------------------------------------------
 *
 * catalog.c
 *		  The resource catalog: the only place that knows LaunchDarkly's
 *		  paths, JSON fields and keys.
 *
 * Each resource is one declarative entry: its endpoints (most specific
 * first, with the path keys each needs from WHERE conditions) and its
 * columns (SQL name and type, JSON field, path key, write flags).  Scanning,
 * conversion, IMPORT FOREIGN SCHEMA and writes all read this table; adding
 * an endpoint is adding a row.
 *
 * The key table (key_defs[], one LdKeyDef per LdKey) says what the values
 * a request is built from are:
 *
 *	name		the placeholder in path templates ({config_key}) and the
 *				name of the column that carries the key
 *	noun		what a value names, for messages ("AI Config")
 *	list		the list endpoint whose items enumerate the key's values
 *				when nothing fixes it (a scan of an endpoint with this key
 *				unbound reads that list, then one series per value);
 *				list_field is the items' field with the value ("key" if NULL)
 *	option		the table option that fixes the key (validated like a key,
 *				refused on a table whose resource has no such column); with
 *				option_default, only a default that a WHERE condition on the
 *				key overrides (env, bucket)
 *	render		how a value is written: its text, or a timestamp as epoch
 *				milliseconds
 *	bind		how WHERE gives a value: "key = v" / "key IN (...)", or as one
 *				end of a window ("period_start >= a", "period_end <= b"; the
 *				window, cut into buckets, is window.c's)
 *	example		the condition a hint suggests when a required key is missing
 *	query		set: the key is a query parameter of that name, not a path
 *				segment; an endpoint lists such keys in its "query" mask and
 *				ld_build_path appends them (?name=value&...), before the
 *				paging parameters (which then follow with '&')
 *
 * Scanning, planning, EXPLAIN and direct modify never name a key: they loop
 * over this table.
 *
 * How to add a resource:
 *	1. its endpoints: path templates with {project} and key placeholders,
 *	   most specific first; "binds" = the keys WHERE must give for it; the
 *	   shape (paged list, unpaged list, one item); for rows embedded in an
 *	   item, the array's field and the key the item provides; the "query"
 *	   mask for keys sent as query parameters;
 *	2. its columns: a key column carries its LdKey (LDC_PATH when the value
 *	   comes from the request rather than the item), attrs is LDC_WHOLE;
 *	3. a row in resources[] with the write paths, if any;
 *	4. a new key (a new parent, say {snippet_key}): a value in LdKey
 *	   (ldai_fdw.h) and its row in key_defs[]; give it a "list" if an
 *	   unbound value is to be enumerated, an "option" if a table may fix it
 *	   (and add that option to option.c's table, which then handles it
 *	   generically).
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include <ctype.h>

#include "catalog/pg_type.h"

#define P "/api/v2/projects/{project}"
#define W (LDC_INSERT | LDC_UPDATE)
#define WR (LDC_INSERT | LDC_REQUIRED)

/* ---- ai_configs ---- */
static const LdEndpoint config_endpoints[] = {
	{P "/ai-configs/{key}", LD_SHAPE_ITEM, LD_KEY_BIT(LDK_ITEM)},
	{P "/ai-configs", LD_SHAPE_PAGED, 0},
};

static const LdColumn config_columns[] = {
	{"key", "text", NULL, LDK_ITEM, WR},
	{"name", "text", NULL, 0, WR | LDC_UPDATE},
	{"description", "text", NULL, 0, W},
	{"mode", "text", NULL, 0, LDC_INSERT},
	{"tags", "text[]", NULL, 0, W},
	{"version", "integer", NULL, 0, 0},
	{"evaluation_metric_key", "text", NULL, 0, W},
	{"is_inverted", "boolean", NULL, 0, W},
	{"maintainer", "jsonb", "_maintainer", 0, 0},
	/* read from the maintainer object, written as maintainerId/TeamKey */
	{"maintainer_id", "text", "_maintainer._id", 0, W, "maintainerId"},
	{"maintainer_team_key", "text", "_maintainer.key", 0, W, "maintainerTeamKey"},
	{"variations", "jsonb", NULL, 0, 0},
	{"dependencies", "jsonb", NULL, 0, 0},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"updated_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_config_variations: embedded in each AI Config ---- */
static const LdEndpoint variation_endpoints[] = {
	{P "/ai-configs/{config_key}", LD_SHAPE_ITEM, LD_KEY_BIT(LDK_CONFIG),
	"variations", LDK_CONFIG},
	{P "/ai-configs", LD_SHAPE_PAGED, 0, "variations", LDK_CONFIG},
};

static const LdColumn variation_columns[] = {
	{"config_key", "text", NULL, LDK_CONFIG, LDC_PATH | LDC_INSERT | LDC_REQUIRED},
	{"id", "text", "_id", 0, 0},
	{"key", "text", NULL, LDK_ITEM, WR},
	{"name", "text", NULL, 0, WR | LDC_UPDATE},
	{"model", "jsonb", NULL, 0, W},
	{"model_config_key", "text", NULL, 0, W},
	{"version", "integer", NULL, 0, 0},
	{"state", "text", NULL, 0, LDC_UPDATE},
	{"instructions", "text", NULL, 0, W},
	{"messages", "jsonb", NULL, 0, W},
	{"tools", "jsonb", NULL, 0, W},
	{"judge_configuration", "jsonb", NULL, 0, W},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- agent_optimizations ---- */
static const LdEndpoint optimization_endpoints[] = {
	{P "/agent-optimizations/{key}", LD_SHAPE_ITEM, LD_KEY_BIT(LDK_ITEM)},
	{P "/agent-optimizations", LD_SHAPE_PAGED, 0},
};

static const LdColumn optimization_columns[] = {
	{"key", "text", NULL, LDK_ITEM, WR},
	{"id", "text", NULL, 0, 0},
	{"ai_config_key", "text", NULL, 0, WR},
	{"max_attempts", "integer", NULL, 0, WR | LDC_UPDATE},
	{"model_choices", "text[]", NULL, 0, W},
	{"judge_model", "text", NULL, 0, WR | LDC_UPDATE},
	{"variable_choices", "jsonb", NULL, 0, W},
	{"acceptance_statements", "jsonb", NULL, 0, W},
	{"judges", "jsonb", NULL, 0, W},
	{"user_input_options", "text[]", NULL, 0, W},
	{"ground_truth_responses", "text[]", NULL, 0, W},
	{"metric_key", "text", NULL, 0, W},
	{"token_limit", "integer", NULL, 0, W},
	{"variation_key", "text", NULL, 0, W},
	{"label", "text", NULL, 0, W},
	{"latency_optimization", "boolean", NULL, 0, W},
	{"token_optimization", "boolean", NULL, 0, W},
	{"auto_commit", "boolean", NULL, 0, W},
	{"version", "integer", NULL, 0, 0},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- agent_optimization_runs ---- */
static const LdEndpoint run_endpoints[] = {
	/* "ordered by created_at DESC" (listAgentOptimizationRuns) */
	{P "/agent-optimizations/{optimization_key}/runs", LD_SHAPE_PAGED, 0,
	NULL, LDK_NONE, 0, "created_at"},
};

static const LdColumn run_columns[] = {
	{"optimization_key", "text", NULL, LDK_OPTIMIZATION, LDC_PATH},
	{"run_id", "uuid", NULL, LDK_RUN, 0},
	{"agent_optimization_id", "uuid", NULL, 0, 0},
	{"agent_optimization_version", "integer", NULL, 0, 0},
	{"status", "text", NULL, 0, 0},
	{"activity", "text", NULL, 0, 0},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"completed_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- agent_optimization_results and ..._latest_results ---- */
static const LdEndpoint result_endpoints[] = {
	/* "sorted by iteration descending" (listAgentOptimizationResultsByRunId) */
	{P "/agent-optimizations/{optimization_key}/runs/{run_id}/results",
	LD_SHAPE_LIST, LD_KEY_BIT(LDK_RUN), NULL, LDK_NONE, 0, "iteration"},
	{P "/agent-optimizations/{optimization_key}/all-results", LD_SHAPE_PAGED, 0},
};

static const LdEndpoint latest_result_endpoints[] = {
	{P "/agent-optimizations/{optimization_key}/results", LD_SHAPE_PAGED, 0},
};

static const LdColumn result_columns[] = {
	{"optimization_key", "text", NULL, LDK_OPTIMIZATION, LDC_PATH | LDC_INSERT | LDC_REQUIRED},
	{"id", "uuid", NULL, LDK_ID, 0},
	{"run_id", "uuid", NULL, LDK_RUN, WR},
	{"agent_optimization_id", "uuid", NULL, 0, 0},
	{"agent_optimization_version", "integer", NULL, 0, WR},
	{"status", "text", NULL, 0, LDC_UPDATE},
	{"activity", "text", NULL, 0, LDC_UPDATE},
	{"iteration", "integer", NULL, 0, WR},
	{"instructions", "text", NULL, 0, WR},
	{"user_input", "text", NULL, 0, WR},
	{"parameters", "jsonb", NULL, 0, LDC_INSERT},
	{"completion_response", "text", NULL, 0, LDC_UPDATE},
	{"variation", "jsonb", NULL, 0, LDC_UPDATE},
	{"scores", "jsonb", NULL, 0, LDC_UPDATE},
	{"generation_tokens", "jsonb", NULL, 0, LDC_UPDATE},
	{"evaluation_tokens", "jsonb", NULL, 0, LDC_UPDATE},
	{"generation_latency", "integer", NULL, 0, LDC_UPDATE},
	{"evaluation_latencies", "jsonb", NULL, 0, LDC_UPDATE},
	{"created_variation_key", "text", NULL, 0, LDC_UPDATE},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"updated_at", "timestamptz", NULL, 0, 0},
	{"completed_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_model_configs: the list is a bare JSON array, not paged ---- */
static const LdEndpoint model_config_endpoints[] = {
	{P "/ai-configs/model-configs/{key}", LD_SHAPE_ITEM, LD_KEY_BIT(LDK_ITEM)},
	{P "/ai-configs/model-configs", LD_SHAPE_ARRAY, 0},
};

static const LdColumn model_config_columns[] = {
	{"key", "text", NULL, LDK_ITEM, WR},
	{"id", "text", NULL, 0, WR},
	{"name", "text", NULL, 0, WR},
	{"provider", "text", NULL, 0, LDC_INSERT},
	{"icon", "text", NULL, 0, LDC_INSERT},
	{"global", "boolean", NULL, 0, 0},
	{"params", "jsonb", NULL, 0, LDC_INSERT},
	{"custom_params", "jsonb", NULL, 0, LDC_INSERT},
	{"tags", "text[]", NULL, 0, LDC_INSERT},
	{"version", "integer", NULL, 0, 0},
	{"cost_per_input_token", "double precision", NULL, 0, LDC_INSERT},
	{"cost_per_output_token", "double precision", NULL, 0, LDC_INSERT},
	{"cost_per_cached_input_token", "double precision", NULL, 0, LDC_INSERT},
	/* set through the restricted list (LdWrites.member_list) */
	{"is_restricted", "boolean", NULL, 0, LDC_MEMBER},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_config_metrics, ai_config_variation_metrics: a window's metrics ---- */
#define WINDOW (LD_KEY_BIT(LDK_ENV) | LD_KEY_BIT(LDK_FROM) | LD_KEY_BIT(LDK_TO))
#define SERIES (WINDOW | LD_KEY_BIT(LDK_BUCKET))

static const LdEndpoint metrics_endpoints[] = {
	{P "/ai-configs/{config_key}/metrics", LD_SHAPE_ITEM, WINDOW, NULL, 0, SERIES},
};

static const LdEndpoint variation_metrics_endpoints[] = {
	{P "/ai-configs/{config_key}/metrics-by-variation", LD_SHAPE_ARRAY, WINDOW, NULL, 0,
	SERIES},
};

/* the window columns: every one from the request, not the body */
#define WINDOW_COLUMNS \
	{"config_key", "text", NULL, LDK_CONFIG, LDC_PATH}, \
	{"env", "text", NULL, LDK_ENV, LDC_PATH}, \
	{"bucket", "text", NULL, LDK_BUCKET, LDC_PATH}, \
	{"period_start", "timestamptz", NULL, LDK_FROM, LDC_PATH}, \
	{"period_end", "timestamptz", NULL, LDK_TO, LDC_PATH}

/* the Metrics object's fields: top-level (default names) or nested */
#define MF_TOP(f) NULL
#define MF_NESTED(f) "metrics." f
#define METRIC_COLUMNS(MF) \
	{"input_tokens", "bigint", MF("inputTokens")}, \
	{"output_tokens", "bigint", MF("outputTokens")}, \
	{"total_tokens", "bigint", MF("totalTokens")}, \
	{"generation_count", "bigint", MF("generationCount")}, \
	{"generation_success_count", "bigint", MF("generationSuccessCount")}, \
	{"generation_error_count", "bigint", MF("generationErrorCount")}, \
	{"thumbs_up", "bigint", MF("thumbsUp")}, \
	{"thumbs_down", "bigint", MF("thumbsDown")}, \
	{"duration_ms", "bigint", MF("durationMs")}, \
	{"time_to_first_token_ms", "bigint", MF("timeToFirstTokenMs")}, \
	{"satisfaction_rating", "float8", MF("satisfactionRating")}, \
	{"input_cost", "float8", MF("inputCost")}, \
	{"output_cost", "float8", MF("outputCost")}, \
	{"judge_accuracy", "float8", MF("judgeAccuracy")}, \
	{"judge_relevance", "float8", MF("judgeRelevance")}, \
	{"judge_toxicity", "float8", MF("judgeToxicity")}

static const LdColumn metrics_columns[] = {
	WINDOW_COLUMNS,
	METRIC_COLUMNS(MF_TOP),
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

static const LdColumn variation_metrics_columns[] = {
	WINDOW_COLUMNS,
	{"variation_key", "text", NULL, 0, 0},
	METRIC_COLUMNS(MF_NESTED),
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_config_quick_stats: one row per environment ---- */
static const LdEndpoint quick_stats_endpoints[] = {
	{P "/ai-configs/quick-stats", LD_SHAPE_ITEM, LD_KEY_BIT(LDK_ENV), NULL, 0,
	LD_KEY_BIT(LDK_ENV)},
};

static const LdColumn quick_stats_columns[] = {
	{"env", "text", NULL, LDK_ENV, LDC_PATH},
	{"active_configs", "integer", NULL, 0, 0},
	{"active_experiments", "integer", NULL, 0, 0},
	{"average_satisfaction_7d", "float8", "averageSatisfaction7D", 0, 0},
	{"spend_month_to_date", "float8", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_prompt_snippets ---- */
static const LdEndpoint snippet_endpoints[] = {
	{P "/ai-configs/prompt-snippets/{key}", LD_SHAPE_ITEM, LD_KEY_BIT(LDK_ITEM)},
	{P "/ai-configs/prompt-snippets", LD_SHAPE_PAGED, 0},
};

static const LdColumn snippet_columns[] = {
	{"key", "text", NULL, LDK_ITEM, WR},
	{"name", "text", NULL, 0, WR | LDC_UPDATE},
	{"description", "text", NULL, 0, W},
	{"text", "text", NULL, 0, WR | LDC_UPDATE},
	{"tags", "text[]", NULL, 0, W},
	{"version", "integer", NULL, 0, 0},
	{"maintainer", "jsonb", "_maintainer", 0, 0},
	{"maintainer_id", "text", "_maintainer._id", 0, W, "maintainerId"},
	{"maintainer_team_key", "text", "_maintainer.key", 0, W, "maintainerTeamKey"},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_tools ---- */
static const LdEndpoint tool_endpoints[] = {
	{P "/ai-tools/{key}", LD_SHAPE_ITEM, LD_KEY_BIT(LDK_ITEM)},
	{P "/ai-tools", LD_SHAPE_PAGED, 0},
};

static const LdColumn tool_columns[] = {
	{"key", "text", NULL, LDK_ITEM, WR},
	{"description", "text", NULL, 0, W},
	{"schema", "jsonb", NULL, 0, WR | LDC_UPDATE},
	{"custom_parameters", "jsonb", NULL, 0, W},
	{"tags", "text[]", NULL, 0, W},
	{"version", "integer", NULL, 0, 0},
	{"maintainer", "jsonb", "_maintainer", 0, 0},
	{"maintainer_id", "text", "_maintainer._id", 0, W, "maintainerId"},
	{"maintainer_team_key", "text", "_maintainer.key", 0, W, "maintainerTeamKey"},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_agent_graphs: beta; the list leaves out edges ---- */
static const LdEndpoint graph_endpoints[] = {
	{P "/agent-graphs/{key}", LD_SHAPE_ITEM, LD_KEY_BIT(LDK_ITEM)},
	{P "/agent-graphs", LD_SHAPE_PAGED, 0},
};

static const LdColumn graph_columns[] = {
	{"key", "text", NULL, LDK_ITEM, WR},
	{"name", "text", NULL, 0, WR | LDC_UPDATE},
	{"description", "text", NULL, 0, W},
	/* the API takes the root and the edges together or not at all */
	{"root_config_key", "text", NULL, 0, W, NULL, "edges"},
	{"edges", "jsonb", NULL, 0, W | LDC_ITEM_ONLY, NULL, "root_config_key"},
	{"maintainer", "jsonb", "_maintainer", 0, 0},
	{"maintainer_id", "text", "_maintainer._id", 0, W, "maintainerId"},
	{"maintainer_team_key", "text", "_maintainer.key", 0, W, "maintainerTeamKey"},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"updated_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_prompt_snippet_versions / _references: under a snippet ---- */
static const LdEndpoint snippet_version_endpoints[] = {
	{P "/ai-configs/prompt-snippets/{snippet_key}/versions", LD_SHAPE_PAGED, 0},
};

static const LdColumn snippet_version_columns[] = {
	{"snippet_key", "text", NULL, LDK_SNIPPET, LDC_PATH},
	{"key", "text", NULL, 0, 0},
	{"name", "text", NULL, 0, 0},
	{"description", "text", NULL, 0, 0},
	{"text", "text", NULL, 0, 0},
	{"tags", "text[]", NULL, 0, 0},
	{"version", "integer", NULL, 0, 0},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

static const LdEndpoint snippet_reference_endpoints[] = {
	{P "/ai-configs/prompt-snippets/{snippet_key}/references", LD_SHAPE_PAGED, 0},
};

static const LdColumn snippet_reference_columns[] = {
	{"snippet_key", "text", NULL, LDK_SNIPPET, LDC_PATH},
	{"ai_config_key", "text", NULL, 0, 0},
	{"ai_config_name", "text", NULL, 0, 0},
	{"variation_id", "text", NULL, 0, 0},
	{"variation_key", "text", NULL, 0, 0},
	{"variation_name", "text", NULL, 0, 0},
	{"resource_version", "integer", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_tool_versions / _references: under a tool ---- */
static const LdEndpoint tool_version_endpoints[] = {
	{P "/ai-tools/{tool_key}/versions", LD_SHAPE_PAGED, 0},
};

static const LdColumn tool_version_columns[] = {
	{"tool_key", "text", NULL, LDK_TOOL, LDC_PATH},
	{"key", "text", NULL, 0, 0},
	{"description", "text", NULL, 0, 0},
	{"schema", "jsonb", NULL, 0, 0},
	{"custom_parameters", "jsonb", NULL, 0, 0},
	{"tags", "text[]", NULL, 0, 0},
	{"version", "integer", NULL, 0, 0},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

static const LdEndpoint tool_reference_endpoints[] = {
	{P "/ai-tools/{tool_key}/references", LD_SHAPE_PAGED, 0},
};

static const LdColumn tool_reference_columns[] = {
	{"tool_key", "text", NULL, LDK_TOOL, LDC_PATH},
	{"ai_config_key", "text", NULL, 0, 0},
	{"ai_config_name", "text", NULL, 0, 0},
	{"variation_id", "text", NULL, 0, 0},
	{"variation_key", "text", NULL, 0, 0},
	{"variation_name", "text", NULL, 0, 0},
	{"tool_version", "integer", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_agent_graph_edges: the edges of each graph's item ---- */
static const LdEndpoint graph_edge_endpoints[] = {
	{P "/agent-graphs/{graph_key}", LD_SHAPE_ITEM, 0, "edges", LDK_GRAPH},
};

static const LdColumn graph_edge_columns[] = {
	{"graph_key", "text", NULL, LDK_GRAPH, LDC_PATH},
	{"key", "text", NULL, 0, 0},
	{"source_config", "text", NULL, 0, 0},
	{"target_config", "text", NULL, 0, 0},
	{"handoff", "jsonb", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_config_variation_versions: every version of one variation ---- */
static const LdEndpoint variation_version_endpoints[] = {
	{P "/ai-configs/{config_key}/variations/{variation_key}", LD_SHAPE_LIST,
	LD_KEY_BIT(LDK_VARIATION)},
};

static const LdColumn variation_version_columns[] = {
	{"config_key", "text", NULL, LDK_CONFIG, LDC_PATH},
	{"variation_key", "text", NULL, LDK_VARIATION, LDC_PATH},
	{"id", "text", "_id", 0, 0},
	{"key", "text", NULL, 0, 0},
	{"name", "text", NULL, 0, 0},
	{"model", "jsonb", NULL, 0, 0},
	{"model_config_key", "text", NULL, 0, 0},
	{"version", "integer", NULL, 0, 0},
	{"state", "text", NULL, 0, 0},
	{"instructions", "text", NULL, 0, 0},
	{"messages", "jsonb", NULL, 0, 0},
	{"tools", "jsonb", NULL, 0, 0},
	{"judge_configuration", "jsonb", NULL, 0, 0},
	{"created_at", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

/* ---- ai_config_targeting: one row per member of "environments" ---- */
static const LdEndpoint targeting_endpoints[] = {
	{P "/ai-configs/{config_key}/targeting", LD_SHAPE_ITEM, 0, "environments", LDK_CONFIG},
};

static const LdColumn targeting_columns[] = {
	{"config_key", "text", NULL, LDK_CONFIG, LDC_PATH},
	{"env", "text", NULL, 0, LDC_MAP_KEY},
	{"environment_name", "text", "_environmentName", 0, 0},
	{"version", "integer", "_version", 0, 0},
	{"enabled", "boolean", NULL, 0, 0},
	{"off_variation", "integer", NULL, 0, 0},
	{"fallthrough", "jsonb", NULL, 0, 0},
	{"rules", "jsonb", NULL, 0, 0},
	{"targets", "jsonb", NULL, 0, 0},
	{"context_targets", "jsonb", NULL, 0, 0},
	{"track_events", "boolean", NULL, 0, 0},
	{"last_modified", "timestamptz", NULL, 0, 0},
	{"attrs", "jsonb", NULL, 0, LDC_WHOLE},
};

#define N(a) ((int) lengthof(a))
#define BETA "LD-API-Version: beta"

static const LdResource resources[] = {
	{"ai_configs", config_endpoints, N(config_endpoints),
		config_columns, N(config_columns), 50,
	{P "/ai-configs", P "/ai-configs/{key}", true, true}},
	{"ai_config_variations", variation_endpoints, N(variation_endpoints),
		variation_columns, N(variation_columns), 150,
		{P "/ai-configs/{config_key}/variations",
	P "/ai-configs/{config_key}/variations/{key}", true, true}},
	{"agent_optimizations", optimization_endpoints, N(optimization_endpoints),
		optimization_columns, N(optimization_columns), 20,
	{P "/agent-optimizations", P "/agent-optimizations/{key}", true, true}},
	{"agent_optimization_runs", run_endpoints, N(run_endpoints),
		run_columns, N(run_columns), 20,
		{NULL, P "/agent-optimizations/{optimization_key}/runs/{run_id}", false, true,
	"LD-API-Version: beta"}},
	{"agent_optimization_results", result_endpoints, N(result_endpoints),
		result_columns, N(result_columns), 500,
		{P "/agent-optimizations/{optimization_key}/results",
	P "/agent-optimizations/{optimization_key}/results/{id}", true, false}},
	{"agent_optimization_latest_results", latest_result_endpoints,
		N(latest_result_endpoints), result_columns, N(result_columns), 20},
	{"ai_model_configs", model_config_endpoints, N(model_config_endpoints),
		model_config_columns, N(model_config_columns), 30,
		{P "/ai-configs/model-configs", P "/ai-configs/model-configs/{key}", true, true,
	NULL, P "/ai-configs/model-configs/restricted"}},
	{"ai_config_metrics", metrics_endpoints, N(metrics_endpoints),
	metrics_columns, N(metrics_columns), 1},
	{"ai_config_variation_metrics", variation_metrics_endpoints,
		N(variation_metrics_endpoints), variation_metrics_columns,
	N(variation_metrics_columns), 3},
	{"ai_config_quick_stats", quick_stats_endpoints, N(quick_stats_endpoints),
	quick_stats_columns, N(quick_stats_columns), 1},
	{"ai_prompt_snippets", snippet_endpoints, N(snippet_endpoints),
		snippet_columns, N(snippet_columns), 50,
	{P "/ai-configs/prompt-snippets", P "/ai-configs/prompt-snippets/{key}", true, true}},
	{"ai_tools", tool_endpoints, N(tool_endpoints), tool_columns, N(tool_columns), 50,
	{P "/ai-tools", P "/ai-tools/{key}", true, true}},
	{"ai_agent_graphs", graph_endpoints, N(graph_endpoints),
		graph_columns, N(graph_columns), 20,
	{P "/agent-graphs", P "/agent-graphs/{key}", true, true}, BETA},
	{"ai_prompt_snippet_versions", snippet_version_endpoints, N(snippet_version_endpoints),
	snippet_version_columns, N(snippet_version_columns), 5},
	{"ai_prompt_snippet_references", snippet_reference_endpoints,
		N(snippet_reference_endpoints), snippet_reference_columns,
	N(snippet_reference_columns), 10},
	{"ai_tool_versions", tool_version_endpoints, N(tool_version_endpoints),
	tool_version_columns, N(tool_version_columns), 5},
	{"ai_tool_references", tool_reference_endpoints, N(tool_reference_endpoints),
	tool_reference_columns, N(tool_reference_columns), 10},
	{"ai_agent_graph_edges", graph_edge_endpoints, N(graph_edge_endpoints),
	graph_edge_columns, N(graph_edge_columns), 5},
	{"ai_config_variation_versions", variation_version_endpoints,
		N(variation_version_endpoints), variation_version_columns,
	N(variation_version_columns), 3},
	{"ai_config_targeting", targeting_endpoints, N(targeting_endpoints),
	targeting_columns, N(targeting_columns), 3},
};

/* the key table: see the file header */
static const LdKeyDef key_defs[LDK_COUNT] = {
	[LDK_OPTIMIZATION] = {"optimization_key", "agent optimization",
	P "/agent-optimizations", NULL, "optimization_key"},
	[LDK_CONFIG] = {"config_key", "AI Config", P "/ai-configs", NULL, "config_key"},
	[LDK_ITEM] = {"key", "item"},
	[LDK_RUN] = {"run_id", "run"},
	[LDK_ID] = {"id", "result"},
	[LDK_ENV] = {"env", "environment", NULL, NULL, "env", LDR_TEXT, "env", LDB_EQUAL,
	"env = 'production'", true},
	[LDK_BUCKET] = {"bucket", "bucket", NULL, NULL, "bucket", LDR_TEXT, NULL, LDB_EQUAL,
	NULL, true},
	[LDK_FROM] = {"period_start", "window start", NULL, NULL, NULL, LDR_EPOCH_MS, "from",
	LDB_LOWER, "period_start >= now() - interval '7 days'"},
	[LDK_TO] = {"period_end", "window end", NULL, NULL, NULL, LDR_EPOCH_MS, "to",
	LDB_UPPER, "period_end <= now()"},
	[LDK_SNIPPET] = {"snippet_key", "prompt snippet", P "/ai-configs/prompt-snippets"},
	[LDK_TOOL] = {"tool_key", "AI tool", P "/ai-tools"},
	[LDK_GRAPH] = {"graph_key", "agent graph", P "/agent-graphs"},
	[LDK_VARIATION] = {"variation_key", "variation", NULL, NULL, NULL, LDR_TEXT, NULL,
	LDB_EQUAL, "variation_key = 'default'"},
};

/*
 * ld_find_resource
 *		The catalog entry of a resource name, or NULL.
 */
const LdResource *
ld_find_resource(const char *name)
{
	int			i;

	for (i = 0; i < N(resources); i++)
		if (strcmp(resources[i].name, name) == 0)
			return &resources[i];
	return NULL;
}

/*
 * ld_resource_at / ld_resource_count
 *		Walk the catalog (IMPORT, option hints).
 */
const LdResource *
ld_resource_at(int i)
{
	return &resources[i];
}

int
ld_resource_count(void)
{
	return N(resources);
}

/*
 * ld_find_column
 *		The catalog column of that SQL name, or NULL for a user's own column.
 */
const LdColumn *
ld_find_column(const LdResource *res, const char *name)
{
	int			i;

	for (i = 0; i < res->ncolumns; i++)
		if (strcmp(res->columns[i].name, name) == 0)
			return &res->columns[i];
	return NULL;
}

/*
 * ld_shape_form
 *		How page.c reads an endpoint's answer (LdpForm).
 */
int
ld_shape_form(LdShape shape)
{
	switch (shape)
	{
		case LD_SHAPE_ITEM:
			return LDP_FORM_ITEM;
		case LD_SHAPE_ARRAY:
			return LDP_FORM_ARRAY;
		case LD_SHAPE_PAGED:
		case LD_SHAPE_LIST:
			break;
	}
	return LDP_FORM_COLLECTION;
}

/*
 * ld_key_name
 *		The placeholder (and column) name of a path key.
 */
const char *
ld_key_name(LdKey key)
{
	return key_defs[key].name;
}

/*
 * ld_key_by_name
 *		The path key of a placeholder name, LDK_NONE if unknown.
 */
LdKey
ld_key_by_name(const char *name)
{
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
		if (strcmp(key_defs[k].name, name) == 0)
			return (LdKey) k;
	return LDK_NONE;
}

/*
 * ld_key_def
 *		The key table's row of a key.
 */
const LdKeyDef *
ld_key_def(LdKey key)
{
	return &key_defs[key];
}

/*
 * ld_key_by_option
 *		The key a table option fixes, LDK_NONE if it fixes none.
 */
LdKey
ld_key_by_option(const char *option)
{
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
		if (key_defs[k].option && strcmp(key_defs[k].option, option) == 0)
			return (LdKey) k;
	return LDK_NONE;
}

/*
 * ld_resource_keys
 *		Bitmask of the keys a resource's columns carry (what a table option
 *		fixing a key may apply to).
 */
uint32
ld_resource_keys(const LdResource *res)
{
	uint32		mask = 0;
	int			i;

	for (i = 0; i < res->ncolumns; i++)
		if (res->columns[i].key != LDK_NONE)
			mask |= LD_KEY_BIT(res->columns[i].key);
	return mask;
}

/*
 * ld_enumerated_key
 *		The key a scan of an endpoint enumerates: the first key of its
 *		request that nothing binds (bound: conditions and options) and that
 *		a list can enumerate; LDK_NONE if none.
 */
LdKey
ld_enumerated_key(const LdEndpoint *ep, uint32 bound)
{
	uint32		keys = ld_endpoint_keys(ep) & ~bound;
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
		if ((keys & LD_KEY_BIT(k)) && key_defs[k].list != NULL)
			return (LdKey) k;
	return LDK_NONE;
}

/*
 * ld_key_text
 *		A key's value as the request carries it (before escaping): epoch
 *		milliseconds for a timestamp of an LDR_EPOCH_MS key (rounded down,
 *		up for a window's end), else the value's text.
 */
char *
ld_key_text(LdKey key, Oid typid, Datum value)
{
	if (key_defs[key].render == LDR_EPOCH_MS &&
		(typid == TIMESTAMPTZOID || typid == TIMESTAMPOID))
	{
		int64		us = DatumGetInt64(value);
		int64		ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);

		/* a window's end is rounded up: widened, never narrowed */
		if (key_defs[key].bind == LDB_UPPER && ms * 1000 != us)
			ms++;
		return psprintf(INT64_FORMAT, ms + INT64CONST(946684800000));
	}
	return ld_datum_text(typid, value);
}

/*
 * ld_bucket_width
 *		The width in milliseconds of a metrics bucket (the bucket option
 *		or column): 0 for "none" (the whole window), -1 if unknown.
 */
int64
ld_bucket_width(const char *name)
{
	if (strcmp(name, "none") == 0)
		return 0;
	if (strcmp(name, "hour") == 0)
		return INT64CONST(3600000);
	if (strcmp(name, "day") == 0)
		return INT64CONST(86400000);
	if (strcmp(name, "week") == 0)
		return INT64CONST(7) * 86400000;
	return -1;
}

/*
 * ld_bucket_floor
 *		The start of the UTC bucket holding ms (epoch milliseconds): hours
 *		and days at their UTC boundary, weeks on Monday 00:00 UTC (the
 *		epoch was a Thursday: weeks are counted from 1970-01-05).
 */
int64
ld_bucket_floor(int64 ms, int64 width)
{
	int64		origin = width == INT64CONST(7) * 86400000 ? INT64CONST(4) * 86400000 : 0;
	int64		rel = ms - origin;
	int64		q = rel / width;

	if (rel % width < 0)
		q--;
	return q * width + origin;
}

/*
 * ld_query_sep
 *		The character that starts the next query parameter of a path:
 *		'&' when it already has a query (paging composes with ?env=...).
 */
const char *
ld_query_sep(const char *path)
{
	return strchr(path, '?') != NULL ? "&" : "?";
}

/*
 * ld_endpoint_keys
 *		Bitmask of the path keys an endpoint's template mentions.
 */
uint32
ld_endpoint_keys(const LdEndpoint *ep)
{
	uint32		mask = ep->query;
	int			k;

	for (k = 1; k < LDK_COUNT; k++)
	{
		char		ph[64];

		snprintf(ph, sizeof(ph), "{%s}", key_defs[k].name);
		if (strstr(ep->path, ph) != NULL)
			mask |= LD_KEY_BIT(k);
	}
	return mask;
}

/*
 * ld_key_column
 *		The catalog column that carries a path key, or NULL.
 */
const LdColumn *
ld_key_column(const LdResource *res, LdKey key)
{
	int			i;

	for (i = 0; i < res->ncolumns; i++)
		if (res->columns[i].key == key)
			return &res->columns[i];
	return NULL;
}

/*
 * ld_identity_keys
 *		The path keys that identify a row of a resource: those of its item
 *		path (UPDATE and DELETE address rows by them); 0 if it has none.
 */
uint32
ld_identity_keys(const LdResource *res)
{
	LdEndpoint	item = {res->writes.item};

	return res->writes.item ? ld_endpoint_keys(&item) : 0;
}

/*
 * ld_key_value_ok
 *		Whether a value can fill a path segment: "", "." and ".." cannot,
 *		since escaping leaves them as they are and the request would then
 *		leave the item's path (".." is the parent, "" another resource).
 */
bool
ld_key_value_ok(const char *value)
{
	return value != NULL && value[0] != '\0' && strcmp(value, ".") != 0 &&
		strcmp(value, "..") != 0;
}

/*
 * ld_check_key_value
 *		ERROR for a value that cannot fill the path segment of name (a key
 *		column, or the project_key / optimization_key option).
 */
void
ld_check_key_value(const char *name, const char *value)
{
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("no value for \"%s\" in a LaunchDarkly request path", name)));
	if (!ld_key_value_ok(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"%s\": \"%s\"", name, value),
				 errdetail("A LaunchDarkly key cannot be empty, \".\" or \"..\": "
						   "the request path would not name the item.")));
}

/*
 * ld_default_field
 *		The JSON field a column maps to by default: its name in camelCase
 *		(created_at -> createdAt).
 */
char *
ld_default_field(const char *column)
{
	char	   *out = palloc(strlen(column) + 1);
	char	   *o = out;
	bool		upper = false;

	for (; *column; column++)
	{
		if (*column == '_' && o != out)
		{
			upper = true;
			continue;
		}
		*o++ = upper ? toupper((unsigned char) *column) : *column;
		upper = false;
	}
	*o = '\0';
	return out;
}

/*
 * ld_escape_segment
 *		A value percent-escaped as a path segment, in palloc'd memory (for
 *		what EXPLAIN shows; requests use ld_build_path).
 */
char *
ld_escape_segment(const char *value)
{
	char	   *esc = ldh_escape(value);
	char	   *out = pstrdup(esc ? esc : "");

	ldh_free(esc);
	return out;
}

/*
 * append_value
 *		Append one key value to a path being built: percent-escaped when
 *		the path is to be sent (escape), where a missing value is an ERROR
 *		(and for a path segment, one that would leave it: "", ".", "..");
 *		shown as {name} when missing otherwise (EXPLAIN).
 */
static void
append_value(StringInfo buf, const char *name, const char *val, bool segment,
			 bool escape)
{
	char	   *esc;

	if (val == NULL && !escape)
	{
		appendStringInfo(buf, "{%s}", name);
		return;
	}
	if (!escape)
	{
		appendStringInfoString(buf, val);
		return;
	}
	/* a request must never leave the item's path: refuse, last line */
	if (segment)
		ld_check_key_value(name, val);
	else if (val == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("no value for \"%s\" in a LaunchDarkly request", name)));
	esc = ldh_escape(val);
	appendStringInfoString(buf, esc ? esc : "");
	ldh_free(esc);
}

/*
 * ld_build_path
 *		Expand an endpoint's template: {project} and each key placeholder
 *		by its value, then the keys of its query mask as query parameters
 *		(in LdKey order, after any query the template has).  A path to be
 *		sent (escape set) has each value percent-escaped, and a missing
 *		value, or one that would leave its segment ("", "." or ".."), is an
 *		ERROR: callers that mean "no such row" check ld_key_value_ok()
 *		first.  Without escape (EXPLAIN, with values escaped by the caller)
 *		a missing value is shown as "{name}".
 */
char *
ld_build_path(const LdEndpoint *ep, const char *project,
			  const char *const *keyvals, bool escape)
{
	StringInfoData buf;
	const char *p = ep->path;
	int			k;

	initStringInfo(&buf);
	while (*p)
	{
		const char *close;
		char		name[64];
		LdKey		key;

		if (*p != '{' || (close = strchr(p, '}')) == NULL ||
			close - p - 1 >= (int) sizeof(name))
		{
			appendStringInfoChar(&buf, *p++);
			continue;
		}
		memcpy(name, p + 1, close - p - 1);
		name[close - p - 1] = '\0';
		key = ld_key_by_name(name);
		append_value(&buf, name, strcmp(name, "project") == 0 ? project :
					 (key != LDK_NONE ? keyvals[key] : NULL), true, escape);
		p = close + 1;
	}
	for (k = 1; k < LDK_COUNT; k++)
	{
		if (!(ep->query & LD_KEY_BIT(k)) || key_defs[k].query == NULL)
			continue;
		appendStringInfo(&buf, "%s%s=", ld_query_sep(buf.data), key_defs[k].query);
		append_value(&buf, key_defs[k].name, keyvals[k], false, escape);
	}
	return buf.data;
}

/*
 * template_matches
 *		Whether a request path (its query aside) is an instance of an
 *		endpoint template: literal segments equal, each {placeholder} one
 *		non-empty segment.  Values are escaped, so they hold no '/'.
 */
static bool
template_matches(const char *tmpl, const char *path)
{
	while (*tmpl && *path && *path != '?')
	{
		if (*tmpl == '{')
		{
			const char *close = strchr(tmpl, '}');

			if (close == NULL || *path == '/')
				return false;
			tmpl = close + 1;
			while (*path && *path != '/' && *path != '?')
				path++;
			continue;
		}
		if (*tmpl++ != *path++)
			return false;
	}
	return *tmpl == '\0' && (*path == '\0' || *path == '?');
}

/*
 * ld_path_header
 *		The header a request to path needs because its resource says so
 *		(agent graphs: LD-API-Version: beta on every call), or NULL.  Asked
 *		for every request, so reads, prefetches, enumerations and writes
 *		alike carry it.
 */
const char *
ld_path_header(const char *path)
{
	int			i,
				e;

	for (i = 0; i < N(resources); i++)
	{
		const LdResource *res = &resources[i];

		if (res->header == NULL)
			continue;
		for (e = 0; e < res->nendpoints; e++)
			if (template_matches(res->endpoints[e].path, path))
				return res->header;
		if ((res->writes.create && template_matches(res->writes.create, path)) ||
			(res->writes.item && template_matches(res->writes.item, path)))
			return res->header;
	}
	return NULL;
}

/*
 * ld_item_endpoint
 *		The endpoint that returns one item by its own key (for columns only
 *		the item has), or NULL.
 */
const LdEndpoint *
ld_item_endpoint(const LdResource *res)
{
	int			e;

	for (e = 0; e < res->nendpoints; e++)
		if (res->endpoints[e].shape == LD_SHAPE_ITEM &&
			res->endpoints[e].binds == LD_KEY_BIT(LDK_ITEM) &&
			res->endpoints[e].embedded == NULL)
			return &res->endpoints[e];
	return NULL;
}
