/* fuzz_data_scan.c - libFuzzer harness for the DATA scanner: split invariance and the smuggling invariants. */
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_data_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* Equal byte strings; either may be NULL when empty. */
static bool same(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/*
 * Input: byte 0 picks the line limit, byte 1 the number k (0..7) of chunk
 * sizes that follow, then k bytes of chunk sizes (cycled), then the DATA
 * bytes. Each configuration is scanned whole, in those chunks and one byte
 * at a time, in both modes, and checked against a plain reference.
 */

struct out {
	uint8_t       *buf;
	size_t         len, cap;
	const uint8_t *in;
	size_t         in_len;
};

static void emit_cb(void *arg, const uint8_t *p, size_t n, bool from_input)
{
	struct out *o = arg;

	CHECK(n > 0);
	if (from_input)
		CHECK(p >= o->in && n <= o->in_len && p + n <= o->in + o->in_len);
	else
		CHECK(n <= 3);
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 64;
		o->buf = realloc(o->buf, o->cap);
		CHECK(o->buf != NULL);
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* Scan msg in chunks of the sizes in steps[] (cycled; nsteps 0 = whole). */
static size_t run(struct smtp_data_scanner *s, struct out *o, const uint8_t *msg, size_t n,
		  const uint8_t *steps, size_t nsteps, bool bytewise)
{
	size_t off = 0, si = 0;

	while (off < n && !s->done) {
		size_t k = n - off, r;
		uint8_t *chunk;

		if (bytewise)
			k = 1;
		else if (nsteps != 0 && (size_t)steps[si % nsteps] + 1 < k)
			k = (size_t)steps[si % nsteps] + 1;
		si++;
		/* an exactly sized copy: a run pointing elsewhere is caught */
		chunk = malloc(k);
		CHECK(chunk != NULL);
		memcpy(chunk, msg + off, k);
		o->in = chunk;
		o->in_len = k;
		r = smtp_data_scan(s, chunk, k, emit_cb, o);
		o->in = NULL;
		o->in_len = 0;
		free(chunk);
		CHECK(r <= k);
		off += r;
		if (r < k) {
			CHECK(s->done);
			break;
		}
	}
	if (s->done)
		CHECK(smtp_data_scan(s, msg, n, emit_cb, o) == 0);
	return off;
}

static bool no_bare(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			return false;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return false;
	}
	return true;
}

/* The first "\r\n.\r\n" in "\r\n" + p, as an offset in that string, or -1. */
static long end_of_data(const uint8_t *p, size_t n)
{
	static const uint8_t pat[] = "\r\n.\r\n";

	for (size_t i = 0; i + 5 <= n + 2; i++) {
		bool m = true;

		for (size_t k = 0; k < 5 && m; k++) {
			size_t j = i + k;
			uint8_t c = j < 2 ? pat[j] : p[j - 2];

			m = c == pat[k];
		}
		if (m)
			return (long)i;
	}
	return -1;
}

/*
 * The reference normaliser, written the obvious way: cut the input into
 * lines at CR LF, bare CR and bare LF; a line after a bare break gets one
 * more leading dot; a line that reads "." before a bare break gets ".."
 * Also tells whether a NUL, a bare break or an over-long line occurs.
 */
struct ref {
	uint8_t *buf;
	size_t   len;
	bool     nul, bare, long_line;
};

static void reference(const uint8_t *p, size_t n, bool done, uint32_t limit, struct ref *r)
{
	size_t i = 0, lstart = 0;
	bool after_bare = false;

	r->buf = malloc(2 * n + 8);
	CHECK(r->buf != NULL);
	r->len = 0;
	r->nul = r->bare = r->long_line = false;
	/* a CR at the very end of an unfinished scan is still undecided */
	if (!done && n > 0 && p[n - 1] == '\r')
		n--;
	while (i <= n) {
		size_t j = i, brk;
		bool real;

		while (j < n && p[j] != '\r' && p[j] != '\n')
			j++;
		if (limit != 0 && j - i > limit)
			r->long_line = true;
		if (memchr(p + i, 0, j - i) != NULL)
			r->nul = true;
		lstart = r->len;
		if (after_bare && j > i && p[i] == '.')
			r->buf[r->len++] = '.';
		memcpy(r->buf + r->len, p + i, j - i);
		r->len += j - i;
		if (j == n)
			break;
		real = p[j] == '\r' && j + 1 < n && p[j + 1] == '\n';
		brk = real ? 2 : 1;
		if (!real) {
			r->bare = true;
			if (r->len - lstart == 1 && r->buf[lstart] == '.')
				r->buf[r->len++] = '.';
		}
		r->buf[r->len++] = '\r';
		r->buf[r->len++] = '\n';
		after_bare = !real;
		i = j + brk;
	}
}

static void one_config(const uint8_t *msg, size_t n, uint32_t limit, const uint8_t *steps,
		       size_t nsteps)
{
	long term = end_of_data(msg, n);
	size_t expect = term < 0 ? n : (size_t)term + 5 - 2;
	bool expect_done = term >= 0;
	struct ref ref;

	reference(msg, expect, expect_done, limit, &ref);

	for (int mode = 0; mode < 2; mode++) {
		struct out first = { 0 };
		uint8_t first_err = 0;

		for (int how = 0; how < 3; how++) {
			struct smtp_data_scanner s;
			struct out o = { 0 };
			size_t got;
			bool want_err;

			if (how == 2 && n > 4096)
				continue;
			smtp_data_scan_init(&s, mode, limit);
			got = run(&s, &o, msg, n, steps, how == 1 ? nsteps : 0, how == 2);

			/* one end of DATA, the same whatever the mode or split */
			CHECK(got == expect);
			CHECK(s.done == expect_done);
			CHECK(s.bytes == got);
			CHECK(s.emitted == o.len);

			/* never a bare CR/LF, a NUL or an early end towards the backend */
			CHECK(no_bare(o.buf, o.len));
			CHECK(o.len == 0 || memchr(o.buf, 0, o.len) == NULL);
			want_err = ref.nul || ref.long_line || (!mode && ref.bare);
			CHECK((s.error != SMTP_SCAN_OK) == want_err);
			if (s.error == SMTP_SCAN_OK) {
				long e = end_of_data(o.buf, o.len);

				if (s.done)
					CHECK(e == (long)o.len + 2 - 5);
				else
					CHECK(e < 0);
				CHECK(same(o.buf, o.len, ref.buf, ref.len));
			} else {
				CHECK(end_of_data(o.buf, o.len) < 0);
			}
			if (how == 0) {
				first = o;
				first_err = s.error;
				continue;
			}
			CHECK(s.error == first_err);
			if (s.error == SMTP_SCAN_OK)
				CHECK(same(o.buf, o.len, first.buf, first.len));
			free(o.buf);
		}
		free(first.buf);
	}
	free(ref.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t limit;
	size_t nsteps;

	if (size < 2)
		return 0;
	limit = data[0] % 4 == 0 ? 0 : data[0] / 4 + 1;
	nsteps = data[1] % 8;
	if (size < 2 + nsteps)
		return 0;
	one_config(data + 2 + nsteps, size - 2 - nsteps, limit, data + 2, nsteps);
	return 0;
}
