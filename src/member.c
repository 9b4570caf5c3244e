/*-------------------------------------------------------------------------
 *
 * member.c
 *		  UPDATE of a membership column: a boolean column that says whether
 *		  the row's key is in a list the API edits as a set of keys
 *		  (catalog.c: LdWrites.member_list, column flag LDC_MEMBER; e.g.
 *		  ai_model_configs.is_restricted and .../model-configs/restricted).
 *
 * The API takes every key at once: POST {"keys": [...]} adds them, DELETE
 * with the same body removes them.  So the statement's rows are not sent
 * one by one: each row's key is gathered as the executor hands the row
 * over (the row counts, and RETURNING gives the row as read with the new
 * value), and at the end of the statement one POST carries the keys of
 * the rows set to true and one DELETE those set to false -- exactly one
 * request when the new value is the same for every row.  The API answers
 * with per-key errors ({"successes": [...], "errors": [{key, code,
 * message}]}); any of them fails the statement with an ERROR that names
 * each refused key, its row and the API's message, and says which keys
 * were applied (those are not rolled back).  A 204 (no body) means every
 * key was taken.
 *
 * Why not direct modify (direct.c): the API cannot select rows, so the
 * keys come from the scan under the UPDATE, whatever its WHERE clause;
 * the modify path has them, one row at a time.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "executor/executor.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* error context while the gathered keys are sent */
typedef struct LdMemberContext
{
	const LdModifyState *state;
	const char *relname;
	const char *method;
	const char *path;
	int			nkeys;
	bool		post_sent;		/* the POST of this statement went before */
} LdMemberContext;

/*
 * ld_member_begin
 *		An UPDATE whose SET names the member column: find it, check that
 *		the statement can be answered, and ready the key lists (in cxt,
 *		the statement's memory).  Other statements leave s->member NULL.
 */
void
ld_member_begin(LdModifyState *s, const char *relname, MemoryContext cxt)
{
	ListCell   *lc;
	int			i;

	if (s->operation != CMD_UPDATE || s->res->writes.member_list == NULL)
		return;
	foreach(lc, s->target_attrs)
		for (i = 0; i < s->nattrs; i++)
		{
			const LdColumn *col = ld_find_column(s->res, s->attrs[i].name);

			if (s->attrs[i].attnum == lfirst_int(lc) && col && (col->flags & LDC_MEMBER))
				s->member = &s->attrs[i];
		}
	if (s->member == NULL)
		return;
	/* the per-key answer must be read: nothing to queue for COMMIT */
	if (s->opts.write_on_commit && !ld_write_dry_run())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("UPDATE of column \"%s\" of foreign table \"%s\" is not supported with write_mode 'on_commit'",
						s->member->name, relname),
				 errdetail("Its one request for all rows is answered key by key; "
						   "the statement must read that answer."),
				 errhint("Set the table's write_mode to 'immediate' for this statement's table.")));
	s->member_cxt = cxt;
}

/*
 * ld_member_row
 *		One row of the UPDATE: remember its key under its new value.
 *		Nothing is sent yet.
 */
void
ld_member_row(LdModifyState *s, TupleTableSlot *slot, const char *const *keys)
{
	MemoryContext old;
	bool		add;

	slot_getallattrs(slot);
	if (slot->tts_isnull[s->member->attnum - 1])
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("column \"%s\" of %s cannot be set to NULL", s->member->name,
						s->res->name),
				 errdetail("A key is either in the list or not: set true or false.")));
	add = DatumGetBool(slot->tts_values[s->member->attnum - 1]);
	old = MemoryContextSwitchTo(s->member_cxt);
	s->member_keys[add] = lappend(s->member_keys[add], makeString(pstrdup(keys[LDK_ITEM])));
	s->member_rows[add] = lappend_int(s->member_rows[add], (int) s->rows + 1);
	MemoryContextSwitchTo(old);
}

/*
 * member_error_callback
 *		Error context: which statement's keys were being sent, and whether
 *		its POST had already been sent.
 */
static void
member_error_callback(void *arg)
{
	LdMemberContext *mc = (LdMemberContext *) arg;

	errcontext("UPDATE of foreign table \"%s\": the %s of %d %s in one request %s %s%s",
			   mc->relname, mc->nkeys == 1 ? "key" : "keys", mc->nkeys,
			   mc->nkeys == 1 ? "row" : "rows", mc->method, mc->path,
			   mc->post_sent ? " (the POST for the rows set to true was sent)" : "");
}

/*
 * key_row
 *		The row number a key came from, 0 if the API names a key we did not
 *		send.
 */
static int
key_row(const LdModifyState *s, bool add, const char *key)
{
	ListCell   *lk,
			   *lr;

	forboth(lk, s->member_keys[add], lr, s->member_rows[add])
		if (strcmp(strVal(lfirst(lk)), key) == 0)
			return lfirst_int(lr);
	return 0;
}

/*
 * check_answer
 *		ERROR if the answer reports per-key errors: each refused key with
 *		its row and the API's code and message; the keys it did apply.
 */
static void
check_answer(LdModifyState *s, bool add, const char *method, const char *path,
			 const LdResult *res)
{
	cJSON	   *answer;
	cJSON	   *e;
	StringInfoData detail;
	StringInfoData applied;
	int			nerrors = 0;
	long		code = -1;
	bool		same_code = true;

	if (res->body_len == 0)
		return;					/* 204: every key was taken */
	ld_check_json(method, path, res);
	answer = ld_json_parse(s->member_cxt, res->body, res->body_len);
	initStringInfo(&detail);
	initStringInfo(&applied);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(answer, "errors"))
	{
		const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "key"));
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
		cJSON	   *c = cJSON_GetObjectItemCaseSensitive(e, "code");
		long		this_code = cJSON_IsNumber(c) ? (long) c->valuedouble : 0;
		int			row = key ? key_row(s, add, key) : 0;

		same_code &= (nerrors == 0 || this_code == code);
		code = this_code;
		appendStringInfo(&detail, "%skey \"%s\"", nerrors ? "\n" : "", key ? key : "(none)");
		if (row > 0)
			appendStringInfo(&detail, " (row %d)", row);
		appendStringInfo(&detail, ": code %ld, message: %s", this_code, msg ? msg : "(none)");
		nerrors++;
	}
	if (nerrors == 0)
		return;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(answer, "successes"))
		if (cJSON_IsString(e))
			appendStringInfo(&applied, "%s\"%s\"", applied.len ? ", " : "", e->valuestring);
	ereport(ERROR,
			(errcode(same_code ? ld_http_errcode(code) : ERRCODE_FDW_ERROR),
			 errmsg("LaunchDarkly refused %d of the %d keys of %s %s",
					nerrors, list_length(s->member_keys[add]), method, path),
			 errdetail("%s", detail.data),
			 applied.len ? errhint("The API applied the other keys (%s); they stay applied.",
								   applied.data) :
			 errhint("The API applied none of the keys.")));
}

/*
 * send_keys
 *		The one request for the rows set to add (POST) or remove (DELETE).
 */
static void
send_keys(LdModifyState *s, ResultRelInfo *rinfo, bool add, bool post_sent)
{
	LdEndpoint	ep = {s->res->writes.member_list};
	const char *keys[LDK_COUNT] = {0};
	const char *method = add ? "POST" : "DELETE";
	char	   *path = ld_build_path(&ep, s->opts.project_key, keys, true);
	cJSON	   *body = cJSON_CreateObject();
	cJSON	   *array = cJSON_AddArrayToObject(body, "keys");
	char	   *text;
	ListCell   *lc;
	LdResult	res;
	ErrorContextCallback errcb;
	LdMemberContext mc = {s, RelationGetRelationName(rinfo->ri_RelationDesc), method, path,
	list_length(s->member_keys[add]), post_sent};

	ld_json_own(s->member_cxt, body);
	foreach(lc, s->member_keys[add])
		cJSON_AddItemToArray(array, cJSON_CreateString(strVal(lfirst(lc))));
	text = ld_json_text(body);
	if (ld_write_divert(s->conn, &s->opts, s->write_group, method, path, text, NULL))
		return;
	errcb.callback = member_error_callback;
	errcb.arg = &mc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	ld_request(s->conn, method, path, text, NULL, &s->stats, &res);
	if (res.status < 200 || res.status > 299)
		ld_report_http_error(method, path, &res);
	check_answer(s, add, method, path, &res);
	error_context_stack = errcb.previous;
}

/*
 * ld_member_flush
 *		At the end of the statement (or for EXPLAIN ANALYZE's counts): send
 *		the gathered keys, the rows set to true first.  Once only.
 */
void
ld_member_flush(LdModifyState *s, ResultRelInfo *rinfo)
{
	MemoryContext old;

	if (s->member == NULL || s->member_sent)
		return;
	s->member_sent = true;
	old = MemoryContextSwitchTo(s->member_cxt);
	if (s->member_keys[true] != NIL)
		send_keys(s, rinfo, true, false);
	if (s->member_keys[false] != NIL)
		send_keys(s, rinfo, false, s->member_keys[true] != NIL);
	MemoryContextSwitchTo(old);
}

/*
 * ld_member_explain
 *		What EXPLAIN VERBOSE shows for such an UPDATE: the statement's
 *		request(s), whatever the number of rows.
 */
char *
ld_member_explain(const LdResource *res, const char *project)
{
	LdEndpoint	ep = {res->writes.member_list};
	const char *keys[LDK_COUNT] = {0};

	return psprintf("POST (rows set to true) / DELETE (rows set to false) %s {\"keys\": [...]}",
					ld_build_path(&ep, ld_escape_segment(project), keys, false));
}
