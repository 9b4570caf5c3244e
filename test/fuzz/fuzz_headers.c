/*-------------------------------------------------------------------------
 *
 * fuzz_headers.c
 *		  libFuzzer target for the response-header handling of src/http.c:
 *		  the static header_cb()/header_value() line parser, then
 *		  ldh_retry_after_ms() on the response they filled in.
 *
 * http.c is included (not linked) so that its static functions can be
 * reached; link with -lcurl.  -DLDH_HTTP_C='"/path/to/http.c"' includes
 * another copy instead (to try a fix without touching src/).
 *
 * Input: header lines as curl hands them to a header callback, separated
 * by '\n' (each line keeps its "\n" or "\r\n"; a last line without one is
 * passed as it is).  Every line goes to header_cb() in its own exactly
 * sized heap buffer without a terminating NUL, as curl does not promise
 * one, so that ASan sees any read past its end.
 *
 *-------------------------------------------------------------------------
 */
#ifdef LDH_HTTP_C
#include LDH_HTTP_C				/* a patched copy, to try a fix */
#else
#include "../../src/http.c"
#endif

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_headers: check failed at %s:%d: %s\n", \
					__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* 2026-10-21T07:27:00Z: the fixed "now" (one minute before the seeds' date) */
#define FUZZ_NOW_MS 1792567620000LL

/* the longest wait ldh_retry_after_ms may ask for: one day */
#define MAX_WAIT_MS 86400000L

/*
 * check_field
 *		A field header_value() filled must be NUL-terminated inside its
 *		array, and start after the leading blanks it skips.  (Its trailing
 *		trim works on bytes, so with a NUL inside the value the C string
 *		may end in a blank: not checked.)
 */
static void
check_field(const char *field, size_t size)
{
	CHECK(strnlen(field, size) < size);
	CHECK(field[0] != ' ' && field[0] != '\t');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LdhTransfer *t;
	size_t		pos = 0;
	size_t		total = 0;
	long		wait;

	t = calloc(1, sizeof(LdhTransfer));
	CHECK(t != NULL);

	while (pos < size)
	{
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t		len = nl ? (size_t) (nl - (data + pos)) + 1 : size - pos;
		char	   *line = malloc(len);
		size_t		ret;

		CHECK(line != NULL);
		memcpy(line, data + pos, len);
		ret = header_cb(line, 1, len, t);
		CHECK(ret == len);		/* anything else makes curl abort */
		free(line);
		total += len;
		pos += len;
	}

	CHECK(t->response.bytes_received == total);
	check_field(t->response.content_type, sizeof(t->response.content_type));
	check_field(t->response.retry_after, sizeof(t->response.retry_after));
	check_field(t->response.ratelimit_reset, sizeof(t->response.ratelimit_reset));

	wait = ldh_retry_after_ms(&t->response, FUZZ_NOW_MS);
	if (!(wait == -1 || (wait >= 0 && wait <= MAX_WAIT_MS)))
	{
		fprintf(stderr, "fuzz_headers: ldh_retry_after_ms = %ld "
				"(Retry-After \"%s\", X-Ratelimit-Reset \"%s\")\n",
				wait, t->response.retry_after, t->response.ratelimit_reset);
		abort();
	}

	free(t);
	return 0;
}
