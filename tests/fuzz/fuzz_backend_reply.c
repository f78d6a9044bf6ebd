/* fuzz_backend_reply.c - libFuzzer: the backend reply parser under random splits, caps on every reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/backend_reply.h"
#include "util/sl_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check what the parser promises about every reply it returns. */
static void check_reply(const struct backend_reply *r)
{
	struct backend_caps caps;

	if (r->code < 200 || r->code > 599 || r->nlines == 0 || r->nlines > BACKEND_REPLY_LINES_MAX)
		abort();
	if (r->raw_len < 5 || r->raw_len > BACKEND_REPLY_RAW_MAX)
		abort();
	if (r->raw[r->raw_len - 2] != '\r' || r->raw[r->raw_len - 1] != '\n')
		abort();
	if (strlen(r->text) >= sizeof(r->text) || strlen(r->status) >= sizeof(r->status))
		abort();
	/* raw[] is only whole "CODE-"/"CODE " lines, no bare CR or LF, no NUL */
	size_t i = 0;
	while (i < r->raw_len) {
		const char *e = memchr(r->raw + i, '\n', r->raw_len - i);
		size_t n = (size_t)(e - (r->raw + i));
		if (e == NULL || n < 4 || r->raw[i + n - 1] != '\r')
			abort();
		if (memchr(r->raw + i, '\r', n - 1) != NULL || memchr(r->raw + i, '\0', n) != NULL)
			abort();
		unsigned code = (unsigned)(r->raw[i] - '0') * 100 + (unsigned)(r->raw[i + 1] - '0') * 10 +
				(unsigned)(r->raw[i + 2] - '0');
		if (code != r->code)
			abort();
		bool last = i + n + 1 == r->raw_len;
		char sep = n == 4 ? '\r' : r->raw[i + 3];
		if (last ? (sep != ' ' && sep != '\r') : sep != '-')
			abort();
		i += n + 1;
	}
	backend_caps_parse(r, &caps);
	if (caps.esmtp != (r->code == 250))
		abort();
}

/* The first bytes pick the chunk sizes; the rest is the stream from the backend. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct backend_reply_parser p;
	static struct backend_reply out;
	uint8_t cuts[8];
	size_t ncuts = size < sizeof(cuts) ? size : sizeof(cuts);

	memcpy(cuts, data, ncuts);
	data += ncuts;
	size -= ncuts;
	backend_reply_parser_init(&p);
	for (size_t off = 0, k = 0; off < size; k++) {
		size_t chunk = ncuts > 0 ? (size_t)cuts[k % ncuts] + 1 : size;
		if (chunk > size - off)
			chunk = size - off;
		const uint8_t *b = data + off;
		size_t n = chunk;
		while (n > 0) {
			size_t used = 0;
			int st = backend_reply_parse(&p, b, n, &used, &out);
			if (used > n || (st != SL_AGAIN && used == 0))
				abort();   /* every reply or error must make progress */
			if (st == SL_AGAIN) {
				if (used != n)
					abort();
				break;
			}
			if (st == SL_OK)
				check_reply(&out);
			else if (st != SL_ERROR)
				abort();
			/* after an error the caller would drop the leg; keep going to stress resets */
			b += used;
			n -= used;
		}
		off += chunk;
	}
	return 0;
}
