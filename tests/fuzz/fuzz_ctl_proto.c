/* fuzz_ctl_proto.c - libFuzzer harness: any bytes as control socket request lines; words must
 * round-trip through quoting, JSON output must stay printable ASCII, list values, limits set
 * rules and session ids never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "ctlsock/ctl_lists.h"
#include "ctlsock/ctl_proto.h"
#include "util/sl_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Quote every word the way sluicectl does, so the daemon reads the same words back. */
static size_t requote(const struct ctl_req *r, char *out, size_t cap)
{
	size_t n = 0;

	for (unsigned i = 0; i < r->argc; i++) {
		if (n + 3 >= cap)
			return 0;
		if (i)
			out[n++] = ' ';
		out[n++] = '"';
		for (const char *p = r->argv[i]; *p != '\0'; p++) {
			if (n + 3 >= cap)
				return 0;
			if (*p == '"' || *p == '\\')
				out[n++] = '\\';
			out[n++] = *p;
		}
		out[n++] = '"';
	}
	return n;
}

static void check_line(const char *line, size_t len)
{
	static struct ctl_req r, r2;
	static char q[CTL_REQ_MAX * 3];
	char err[256];
	struct ctl_buf b = { 0 };
	size_t qn;

	if (ctl_proto_split(line, len, &r, err, sizeof(err)) != SL_OK)
		return;
	if (r.argc == 0 || r.argc > CTL_ARGS_MAX)
		abort();
	for (unsigned i = 0; i < r.argc; i++) {
		for (const unsigned char *p = (const unsigned char *)r.argv[i]; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				abort();
		ctl_buf_json_str(&b, r.argv[i]);
	}
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.p[i] < 0x20 || (unsigned char)b.p[i] >= 0x7f)
			abort();
	ctl_buf_free(&b);
	qn = requote(&r, q, sizeof(q));
	if (qn > 0 && qn < CTL_REQ_MAX) {
		if (ctl_proto_split(q, qn, &r2, err, sizeof(err)) != SL_OK || r2.argc != r.argc)
			abort();
		for (unsigned i = 0; i < r.argc; i++)
			if (strcmp(r.argv[i], r2.argv[i]) != 0 || !r2.quoted[i])
				abort();
	}
	/* the words of limits set (cfg_limit_parse) and sessions (ids, counts) */
	{
		struct cfg_limit lim;
		uint64_t v;
		if (cfg_limit_parse((const char *const *)r.argv, r.quoted, r.argc, &lim, err, sizeof(err)) == SL_OK &&
		    (lim.count == 0 || (lim.kind != CFG_LIMIT_CONCURRENCY && lim.period_ms == 0) ||
		     lim.code < 400 || lim.code > 499 || memchr(lim.text, '\0', sizeof(lim.text)) == NULL))
			abort(); /* the file's rules: 4xx only, a count, a period */
		if (ctl_parse_session_id(r.argv[0], &v) == SL_OK && strlen(r.argv[0]) > 18)
			abort();
		if (ctl_parse_u64(r.argv[0], 1, 10000, &v) == SL_OK && (v < 1 || v > 10000))
			abort();
	}
	if (r.argc >= 2) {
		struct cfg_list_entry e;
		int k = ctl_lists_kind(r.argv[0]);
		if (k >= 0 && ctl_lists_parse_value((enum cfg_list_kind)k, r.argv[1], &e, err, sizeof(err)) == SL_OK &&
		    memchr(e.value, '\0', sizeof(e.value)) == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		check_line(p, len);
		p += len + 1;
	}
	return 0;
}
