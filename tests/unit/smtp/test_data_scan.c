/* test_data_scan.c - DATA scanner: end of DATA, smuggling vectors, splits, normalising. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "smtp/smtp_data_scan.h"
#include "util/sl_status.h"

#define SL_MIN_SZ(a, b) ((a) < (b) ? (a) : (b))

/* Equal byte strings; either may be NULL when empty. */
static bool same(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/*
 * Every chunk is copied into its own exactly sized heap buffer before it is
 * scanned, and freed afterwards, so a from_input run that points anywhere
 * but into the chunk being scanned is caught here (and by ASan).
 */
struct collect {
	uint8_t       *buf;
	size_t         len, cap;
	const uint8_t *in;       /* the chunk being scanned */
	size_t         in_len;
	unsigned       bad_ptr;  /* from_input runs outside the chunk */
	unsigned       bad_ins;  /* inserted strings that are not short */
	unsigned       emits;
};

static void collect_emit(void *arg, const uint8_t *p, size_t n, bool from_input)
{
	struct collect *c = arg;

	c->emits++;
	if (n == 0)
		c->bad_ins++;
	if (from_input) {
		if (p < c->in || n > c->in_len || p + n > c->in + c->in_len)
			c->bad_ptr++;
	} else if (n > 3) {
		c->bad_ins++;
	}
	if (c->len + n > c->cap) {
		c->cap = (c->len + n) * 2 + 64;
		c->buf = realloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static void collect_free(struct collect *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

static size_t scan_chunk(struct smtp_data_scanner *s, struct collect *c, const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	size_t r;

	memcpy(copy, p, n);
	c->in = copy;
	c->in_len = n;
	r = smtp_data_scan(s, copy, n, collect_emit, c);
	c->in = NULL;
	c->in_len = 0;
	free(copy);
	return r;
}

/* Feed p in chunks of `step` bytes (0 = whole), the first chunk `first`
 * bytes long when non-zero; stop once the scanner is done. */
static size_t feed(struct smtp_data_scanner *s, struct collect *c, const uint8_t *p, size_t n,
		   size_t first, size_t step)
{
	size_t off = 0;

	while (off < n && !s->done) {
		size_t k = n - off, r;

		if (off == 0 && first != 0)
			k = SL_MIN_SZ(first, k);
		else if (step != 0)
			k = SL_MIN_SZ(step, k);
		r = scan_chunk(s, c, p + off, k);
		off += r;
		if (r < k)
			break;
	}
	return off;
}

/* No CR without LF after it, no LF without CR before it. */
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

/* Where the first "\r\n.\r\n" is in "\r\n" + p (the CR LF of the DATA
 * command comes first), as an offset into that string, or -1. */
static long backend_end(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n + 2);
	long at = -1;

	b[0] = '\r';
	b[1] = '\n';
	if (n != 0)
		memcpy(b + 2, p, n);
	for (size_t i = 0; i + 5 <= n + 2; i++) {
		if (memcmp(b + i, "\r\n.\r\n", 5) == 0) {
			at = (long)i;
			break;
		}
	}
	free(b);
	return at;
}

static void check_clean(const struct collect *c)
{
	CU_ASSERT_EQUAL(c->bad_ptr, 0);
	CU_ASSERT_EQUAL(c->bad_ins, 0);
}

/* ---- plain messages ---- */

static void test_plain_passthrough(void)
{
	static const char msg[] =
		"Subject: hi\r\n"
		"\r\n"
		"body line\r\n"
		"..dot stuffed\r\n"
		".x\r\n"
		"...\r\n"
		"\r\n"
		".\r\n";
	size_t n = sizeof(msg) - 1;
	struct smtp_data_scanner s;
	struct collect c = { 0 };

	for (int mode = 0; mode < 2; mode++) {
		smtp_data_scan_init(&s, mode, 998);
		CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)msg, n, 0, 0), n);
		CU_ASSERT_TRUE(s.done);
		CU_ASSERT_EQUAL(s.error, SMTP_SCAN_OK);
		CU_ASSERT_EQUAL(c.len, n);
		CU_ASSERT_TRUE(same(c.buf, c.len, msg, n));
		/* zero-copy: one run for the whole buffer */
		CU_ASSERT_EQUAL(c.emits, 1);
		CU_ASSERT_EQUAL(s.bytes, n);
		CU_ASSERT_EQUAL(s.emitted, n);
		check_clean(&c);
		collect_free(&c);
	}
}

static void test_plain_every_split(void)
{
	static const char msg[] = "a\r\n.b\r\n..\r\n\r\nlast\r\n.\r\n";
	size_t n = sizeof(msg) - 1;

	for (int mode = 0; mode < 2; mode++) {
		for (size_t k = 1; k < n; k++) {
			struct smtp_data_scanner s;
			struct collect c = { 0 };

			smtp_data_scan_init(&s, mode, 0);
			CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)msg, n, k, 0), n);
			CU_ASSERT_TRUE(s.done);
			CU_ASSERT_TRUE(same(c.buf, c.len, msg, n));
			CU_ASSERT_TRUE(c.emits <= 3);  /* two runs and maybe a held CR */
			check_clean(&c);
			collect_free(&c);
		}
		{
			struct smtp_data_scanner s;
			struct collect c = { 0 };

			smtp_data_scan_init(&s, mode, 0);
			CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)msg, n, 0, 1), n);
			CU_ASSERT_TRUE(same(c.buf, c.len, msg, n));
			check_clean(&c);
			collect_free(&c);
		}
	}
}

static void test_empty_message(void)
{
	static const char in[] = ".\r\nMAIL FROM:<a@b>\r\n";
	struct smtp_data_scanner s;
	struct collect c = { 0 };

	smtp_data_scan_init(&s, true, 0);
	CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)in, sizeof(in) - 1, 0, 0), 3);
	CU_ASSERT_TRUE(s.done);
	CU_ASSERT_TRUE(same(c.buf, c.len, ".\r\n", 3));
	check_clean(&c);
	collect_free(&c);
}

static void test_rest_not_consumed(void)
{
	static const char in[] = "x\r\n.\r\nQUIT\r\n";
	struct smtp_data_scanner s;
	struct collect c = { 0 };

	smtp_data_scan_init(&s, false, 0);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)in, sizeof(in) - 1), 6);
	CU_ASSERT_TRUE(s.done);
	CU_ASSERT_EQUAL(s.bytes, 6);
	/* done: nothing more is consumed, nothing emitted */
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)in + 6, 6), 0);
	CU_ASSERT_TRUE(same(c.buf, c.len, in, 6));
	check_clean(&c);
	collect_free(&c);
}

static void test_not_terminators(void)
{
	/* None of these ends DATA; the scanner must want more. */
	static const char *const v[] = {
		"\r\n.\r", ".", ".\r", "a\r\n.", "a.\r\n", "a\r\n .\r\n", "a\r\n.. \r\n",
		"a\r\n..\r\n", "a\n.\r\n", "a\r.\r\n",
	};

	for (size_t k = 0; k < SL_ARRAY_SIZE(v); k++) {
		struct smtp_data_scanner s;
		struct collect c = { 0 };
		size_t n = strlen(v[k]);

		smtp_data_scan_init(&s, true, 0);
		CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)v[k], n, 0, 0), n);
		CU_ASSERT_FALSE(s.done);
		check_clean(&c);
		collect_free(&c);
	}
}

/* ---- held CR ---- */

static void test_cr_held_across_split(void)
{
	struct smtp_data_scanner s;
	struct collect c = { 0 };

	/* real CR LF split between buffers */
	smtp_data_scan_init(&s, false, 0);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"abc\r", 4), 4);
	CU_ASSERT_TRUE(same(c.buf, c.len, "abc", 3));   /* CR held */
	CU_ASSERT_EQUAL(s.emitted, 3);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"\n.\r", 3), 3);
	CU_ASSERT_FALSE(s.done);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"\nMAIL", 5), 1);
	CU_ASSERT_TRUE(s.done);
	CU_ASSERT_TRUE(same(c.buf, c.len, "abc\r\n.\r\n", 8));
	CU_ASSERT_EQUAL(s.error, SMTP_SCAN_OK);
	check_clean(&c);
	collect_free(&c);

	/* bare CR at the end of a buffer: normalised once the next byte comes */
	smtp_data_scan_init(&s, true, 0);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"abc\r", 4), 4);
	CU_ASSERT_EQUAL(c.len, 3);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"x\r\n.\r\n", 6), 6);
	CU_ASSERT_TRUE(s.done);
	CU_ASSERT_TRUE(same(c.buf, c.len, "abc\r\nx\r\n.\r\n", 11));
	check_clean(&c);
	collect_free(&c);

	/* the same in reject mode: nothing of the CR leaks out */
	smtp_data_scan_init(&s, false, 0);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"abc\r", 4), 4);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"x\r\n.\r\n", 6), 6);
	CU_ASSERT_TRUE(s.done);
	CU_ASSERT_EQUAL(s.error, SMTP_SCAN_BARE);
	CU_ASSERT_TRUE(same(c.buf, c.len, "abc", 3));
	check_clean(&c);
	collect_free(&c);

	/* ".\r" held, then a second CR: the dot line must not become "." */
	smtp_data_scan_init(&s, true, 0);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"a\r\n.\r", 5), 5);
	CU_ASSERT_EQUAL(scan_chunk(&s, &c, (const uint8_t *)"\r\n.\r\n", 5), 5);
	CU_ASSERT_TRUE(s.done);
	CU_ASSERT_TRUE(same(c.buf, c.len, "a\r\n..\r\n\r\n.\r\n", 12));
	check_clean(&c);
	collect_free(&c);
}

/* ---- normalising ---- */

static void test_normalize_rules(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "a\nb\r\n.\r\n",       "a\r\nb\r\n.\r\n" },
		{ "a\rb\r\n.\r\n",       "a\r\nb\r\n.\r\n" },
		{ "\n.\r\n.\r\n",        "\r\n..\r\n.\r\n" },      /* the first is no end */
		{ ".\nfoo\r\n.\r\n",      "..\r\nfoo\r\n.\r\n" },      /* rule 2 at the start */
		{ "a\r\n.\rb\r\n.\r\n",   "a\r\n..\r\nb\r\n.\r\n" },   /* rule 2 */
		{ "a\n.x\r\n.\r\n",       "a\r\n..x\r\n.\r\n" },       /* rule 1 */
		{ "a\n..\r\n.\r\n",       "a\r\n...\r\n.\r\n" },       /* rule 1 */
		{ "a\r\r\n.\r\n",         "a\r\n\r\n.\r\n" },
		{ "\n\n\r\n.\r\n",        "\r\n\r\n\r\n.\r\n" },
	};

	for (size_t k = 0; k < SL_ARRAY_SIZE(t); k++) {
		size_t n = strlen(t[k].in), on = strlen(t[k].out);

		for (size_t split = 0; split < n; split++) {
			struct smtp_data_scanner s;
			struct collect c = { 0 };

			smtp_data_scan_init(&s, true, 0);
			CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)t[k].in, n, split, 0), n);
			CU_ASSERT_TRUE(s.done);
			CU_ASSERT_EQUAL(s.error, SMTP_SCAN_OK);
			CU_ASSERT_TRUE(same(c.buf, c.len, t[k].out, on));
			CU_ASSERT_EQUAL(s.emitted, on);
			CU_ASSERT_EQUAL(s.bytes, n);
			check_clean(&c);
			if (!(same(c.buf, c.len, t[k].out, on)))
				fprintf(stderr, "normalize case %zu split %zu\n", k, split);
			collect_free(&c);
		}
	}
}

static void test_reject_bare(void)
{
	static const char in[] = "ok line\r\nbad\nline\r\n.\r\n";
	size_t n = sizeof(in) - 1;
	struct smtp_data_scanner s;
	struct collect c = { 0 };

	smtp_data_scan_init(&s, false, 0);
	CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)in, n, 0, 0), n);
	CU_ASSERT_TRUE(s.done);
	CU_ASSERT_EQUAL(s.error, SMTP_SCAN_BARE);
	CU_ASSERT_EQUAL(s.bytes, n);
	/* nothing is emitted once the bare LF shows up */
	CU_ASSERT_TRUE(no_bare(c.buf, c.len));
	CU_ASSERT_TRUE(backend_end(c.buf, c.len) < 0);
	check_clean(&c);
	collect_free(&c);
}

static void test_nul(void)
{
	static const char in[] = "a\r\nb\0c\r\n.\r\nRSET\r\n";
	size_t n = sizeof(in) - 1;

	for (int mode = 0; mode < 2; mode++) {
		struct smtp_data_scanner s;
		struct collect c = { 0 };

		smtp_data_scan_init(&s, mode, 0);
		CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)in, n, 0, 0), n - 6);
		CU_ASSERT_TRUE(s.done);
		CU_ASSERT_EQUAL(s.error, SMTP_SCAN_NUL);
		CU_ASSERT_TRUE(c.len == 0 || memchr(c.buf, 0, c.len) == NULL);
		CU_ASSERT_TRUE(backend_end(c.buf, c.len) < 0);
		check_clean(&c);
		collect_free(&c);
	}
}

static void test_long_line(void)
{
	char in[64];
	struct smtp_data_scanner s;

	for (int over = 0; over < 2; over++) {
		for (int mode = 0; mode < 2; mode++) {
			size_t n;

			/* a line of exactly the limit (10), or one more */
			memset(in, 'x', sizeof(in));
			memcpy(in, "short\r\n", 7);
			n = 7 + 10 + (size_t)over;
			memcpy(in + n, "\r\nend\r\n.\r\nQUIT", 14);
			n += 14;
			for (size_t split = 0; split < n; split++) {
				struct collect c = { 0 };

				smtp_data_scan_init(&s, mode, 10);
				CU_ASSERT_EQUAL(feed(&s, &c, (const uint8_t *)in, n, split, 0), n - 4);
				CU_ASSERT_TRUE(s.done);
				CU_ASSERT_EQUAL(s.error, over ? SMTP_SCAN_LONG_LINE : SMTP_SCAN_OK);
				if (!over) {
					CU_ASSERT_TRUE(same(c.buf, c.len, in, n - 4));
				} else {
					CU_ASSERT_TRUE(backend_end(c.buf, c.len) < 0);
				}
				check_clean(&c);
				collect_free(&c);
			}
		}
	}
	/* a 1 MB line without CR LF, fed in pieces: bounded, flagged, and
	 * the scan still ends at the terminator */
	{
		size_t big = 1 << 20;
		uint8_t *b = malloc(big + 5);
		struct collect c = { 0 };

		memset(b, 'y', big);
		memcpy(b + big, "\r\n.\r\n", 5);
		smtp_data_scan_init(&s, true, 998);
		CU_ASSERT_EQUAL(feed(&s, &c, b, big + 5, 0, 4096), big + 5);
		CU_ASSERT_TRUE(s.done);
		CU_ASSERT_EQUAL(s.error, SMTP_SCAN_LONG_LINE);
		CU_ASSERT_TRUE(c.len <= 998 + 4096);
		check_clean(&c);
		collect_free(&c);
		free(b);
	}
}

/* ---- smuggling (TESTING.md) ---- */

struct vector {
	const char *v;
	size_t      len;
};

#define V(s) { s, sizeof(s) - 1 }
static const struct vector vectors[] = {
	V("\n.\n"), V("\n.\r"), V("\r.\n"), V("\r.\r"), V("\n.\r\n"), V("\r.\r\n"),
	V("\r\n\x00.\r\n"), V("\r\n.\r\r\n"), V("\r\r\n.\r\r\n"),
};
#undef V

static const char smuggled[] =
	"MAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\nsmuggled body";
static const char final_end[] = "\r\n.\r\n";
static const char after[] = "QUIT\r\n";

/* Check one way of feeding a smuggling message; c receives what was emitted. */
static void check_vector_run(const uint8_t *msg, size_t n, size_t expect, bool normalize,
			     bool has_nul, size_t first, size_t step, struct collect *c)
{
	struct smtp_data_scanner s;

	smtp_data_scan_init(&s, normalize, 998);
	CU_ASSERT_EQUAL(feed(&s, c, msg, n, first, step), expect);
	CU_ASSERT_TRUE(s.done);
	CU_ASSERT_EQUAL(s.bytes, expect);
	CU_ASSERT_EQUAL(s.emitted, c->len);
	CU_ASSERT_TRUE(no_bare(c->buf, c->len));
	if (!no_bare(c->buf, c->len))
		fprintf(stderr, "bare in output: normalize %d first %zu step %zu len %zu\n",
			normalize, first, step, c->len);
	CU_ASSERT_TRUE(c->len == 0 || memchr(c->buf, 0, c->len) == NULL);
	check_clean(c);
	if (has_nul) {
		CU_ASSERT_EQUAL(s.error, SMTP_SCAN_NUL);
		CU_ASSERT_TRUE(backend_end(c->buf, c->len) < 0);
	} else if (normalize) {
		CU_ASSERT_EQUAL(s.error, SMTP_SCAN_OK);
		/* exactly one end of DATA for the backend, at the very end */
		CU_ASSERT_EQUAL(backend_end(c->buf, c->len), (long)c->len + 2 - 5);
		CU_ASSERT_TRUE(c->len != 0 && memmem(c->buf, c->len, "MAIL FROM:<x@y>\r\n", 17) != NULL);
	} else {
		CU_ASSERT_EQUAL(s.error, SMTP_SCAN_BARE);
		CU_ASSERT_TRUE(backend_end(c->buf, c->len) < 0);
	}
}

static void test_smuggling_vectors(void)
{
	static const char *const prefixes[] = { "", "Subject: t\r\n\r\nhello" };

	for (size_t pi = 0; pi < SL_ARRAY_SIZE(prefixes); pi++) {
		for (size_t vi = 0; vi < SL_ARRAY_SIZE(vectors); vi++) {
			size_t pl = strlen(prefixes[pi]);
			size_t n = pl + vectors[vi].len + strlen(smuggled) + strlen(final_end) +
				   strlen(after);
			size_t expect = n - strlen(after);
			uint8_t *msg = malloc(n);
			bool has_nul = memchr(vectors[vi].v, 0, vectors[vi].len) != NULL;
			size_t o = 0;

			memcpy(msg + o, prefixes[pi], pl), o += pl;
			memcpy(msg + o, vectors[vi].v, vectors[vi].len), o += vectors[vi].len;
			memcpy(msg + o, smuggled, strlen(smuggled)), o += strlen(smuggled);
			memcpy(msg + o, final_end, strlen(final_end)), o += strlen(final_end);
			memcpy(msg + o, after, strlen(after));

			for (int mode = 0; mode < 2; mode++) {
				struct collect whole = { 0 };

				check_vector_run(msg, n, expect, mode, has_nul, 0, 0, &whole);
				/* split in two at every offset */
				for (size_t k = 1; k < n; k++) {
					struct collect c = { 0 };

					check_vector_run(msg, n, expect, mode, has_nul, k, 0, &c);
					if (mode && !has_nul)
						CU_ASSERT_TRUE(same(c.buf, c.len, whole.buf,
								    whole.len));
					collect_free(&c);
				}
				/* one byte at a time */
				{
					struct collect c = { 0 };

					check_vector_run(msg, n, expect, mode, has_nul, 0, 1, &c);
					if (mode && !has_nul)
						CU_ASSERT_TRUE(same(c.buf, c.len, whole.buf,
								    whole.len));
					collect_free(&c);
				}
				collect_free(&whole);
			}
			free(msg);
		}
	}
}

/* ---- random messages: split invariance and the backend's view ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void test_random_splits(void)
{
	static const uint8_t alphabet[] = { '\r', '\n', '.', 'a', 'b', '\r', '\n', '.', 0 };
	uint8_t msg[80];
	unsigned failures = 0;

	for (int iter = 0; iter < 20000 && failures < 5; iter++) {
		size_t n = 1 + rng() % sizeof(msg);
		bool normalize = iter & 1;
		uint32_t limit = (iter & 2) ? 1 + rng() % 8 : 0;
		unsigned alpha = (iter & 4) ? 9 : 8;   /* sometimes with NUL */
		struct smtp_data_scanner s1, s2;
		struct collect c1 = { 0 }, c2 = { 0 };
		size_t r1, r2, step = 1 + rng() % 7;
		bool ok = true;

		for (size_t i = 0; i < n; i++)
			msg[i] = alphabet[rng() % alpha];
		smtp_data_scan_init(&s1, normalize, limit);
		smtp_data_scan_init(&s2, normalize, limit);
		r1 = feed(&s1, &c1, msg, n, 0, 0);
		r2 = feed(&s2, &c2, msg, n, 1 + rng() % n, step);
		ok &= r1 == r2 && s1.done == s2.done && s1.error == s2.error;
		ok &= c1.bad_ptr == 0 && c2.bad_ptr == 0 && c1.bad_ins == 0 && c2.bad_ins == 0;
		ok &= no_bare(c1.buf, c1.len) && no_bare(c2.buf, c2.len);
		/* a CR at the very end is held back, still undecided */
		if (!s1.done && r1 > 0 && msg[r1 - 1] == '\r')
			r1--;
		if (s1.error == SMTP_SCAN_OK) {
			long end = backend_end(c1.buf, c1.len);

			ok &= same(c1.buf, c1.len, c2.buf, c2.len);
			if (s1.done)
				ok &= end == (long)c1.len + 2 - 5;
			else
				ok &= end < 0;
			/* without bare CR/LF, output == input */
			if (no_bare(msg, r1))
				ok &= same(c1.buf, c1.len, msg, r1);
		} else {
			ok &= backend_end(c1.buf, c1.len) < 0 && backend_end(c2.buf, c2.len) < 0;
		}
		if (!normalize && s1.error == SMTP_SCAN_OK)
			ok &= no_bare(msg, r1);
		if (!ok) {
			failures++;
			fprintf(stderr, "random case %d failed (n=%zu normalize=%d limit=%u)\n",
				iter, n, normalize, limit);
		}
		CU_ASSERT_TRUE(ok);
		collect_free(&c1);
		collect_free(&c2);
	}
}

/* The SWAR search must find specials at every alignment and offset. */
static void test_specials_every_offset(void)
{
	uint8_t buf[40];

	for (size_t pos = 0; pos < 32; pos++) {
		static const uint8_t sp[] = { '\r', '\n', 0 };

		for (size_t k = 0; k < 3; k++) {
			struct smtp_data_scanner s;
			struct collect c = { 0 };

			memset(buf, 'z', sizeof(buf));
			buf[pos] = sp[k];
			smtp_data_scan_init(&s, false, 0);
			CU_ASSERT_EQUAL(scan_chunk(&s, &c, buf, 32), 32);
			if (sp[k] == '\r' && pos == 31) {
				CU_ASSERT_EQUAL(s.error, SMTP_SCAN_OK);   /* held, undecided */
			} else {
				CU_ASSERT_EQUAL(s.error, sp[k] == 0 ? SMTP_SCAN_NUL : SMTP_SCAN_BARE);
			}
			check_clean(&c);
			collect_free(&c);
		}
	}
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "plain passthrough", test_plain_passthrough },
		{ "plain every split", test_plain_every_split },
		{ "empty message", test_empty_message },
		{ "rest not consumed", test_rest_not_consumed },
		{ "not terminators", test_not_terminators },
		{ "CR held across split", test_cr_held_across_split },
		{ "normalize rules", test_normalize_rules },
		{ "reject bare", test_reject_bare },
		{ "NUL", test_nul },
		{ "long line", test_long_line },
		{ "smuggling vectors", test_smuggling_vectors },
		{ "random splits", test_random_splits },
		{ "specials every offset", test_specials_every_offset },
		{ NULL, NULL },
	};

	test_suite("smtp_data_scan", cases);
}
