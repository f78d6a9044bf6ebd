/* fuzz_config.c - libFuzzer harness: any text into cfg_parse_string; an accepted config must dump to a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

struct buf {
	char  *s;
	size_t n, cap;
};

static void buf_out(const char *s, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 256;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL)
			abort();
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct buf d1 = { NULL, 0, 0 }, d2 = { NULL, 0, 0 };
	struct cfg *c, *c2;

	c = cfg_parse_string("fuzz.conf", (const char *)data, size, err, sizeof(err));
	if (c == NULL) {
		/* an error is always one line */
		if (memchr(err, '\n', strnlen(err, sizeof(err))) != NULL)
			__builtin_trap();
		return 0;
	}
	cfg_dump(c, buf_out, &d1);
	c2 = cfg_parse_string("fuzz.conf", d1.s, d1.n, err, sizeof(err));
	if (c2 == NULL)
		__builtin_trap(); /* the dump of a good config must parse */
	cfg_dump(c2, buf_out, &d2);
	if (d1.n != d2.n || memcmp(d1.s, d2.s, d1.n) != 0)
		__builtin_trap(); /* dump(parse(dump)) must equal dump */
	cfg_ref(c2);
	cfg_unref(c2);
	cfg_unref(c2);
	cfg_unref(c);
	free(d1.s);
	free(d2.s);
	return 0;
}
