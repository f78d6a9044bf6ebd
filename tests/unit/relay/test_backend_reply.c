/* test_backend_reply.c - the backend reply parser under every split, bad replies, EHLO caps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "relay/backend_reply.h"
#include "relay/xclient.h"
#include "util/sl_status.h"

#define MAXR 8

struct parsed {
	int n;
	int err;      /**< SL_ERROR seen */
	struct backend_reply r[MAXR];
};

/* Feed s in chunks cut at the offsets in cuts[] (ascending), collect replies. */
static void feed_cuts(const char *s, size_t len, const size_t *cuts, int ncuts, struct parsed *out)
{
	struct backend_reply_parser *p = malloc(sizeof(*p));
	size_t from = 0;

	memset(out, 0, sizeof(*out));
	backend_reply_parser_init(p);
	for (int c = 0; c <= ncuts; c++) {
		size_t to = c < ncuts ? cuts[c] : len;
		const uint8_t *b = (const uint8_t *)s + from;
		size_t n = to - from;
		while (n > 0) {
			size_t used = 0;
			int st = backend_reply_parse(p, b, n, &used, &out->r[out->n < MAXR ? out->n : MAXR - 1]);
			if (st == SL_AGAIN) {
				CU_ASSERT_EQUAL(used, n);
				break;
			}
			CU_ASSERT(used <= n);
			if (st == SL_ERROR) {
				out->err++;
				free(p);
				return;
			}
			CU_ASSERT_EQUAL(st, SL_OK);
			if (out->n < MAXR)
				out->n++;
			b += used;
			n -= used;
		}
		from = to;
	}
	free(p);
}

static void feed(const char *s, struct parsed *out)
{
	feed_cuts(s, strlen(s), NULL, 0, out);
}

static bool same_reply(const struct backend_reply *a, const struct backend_reply *b)
{
	return a->code == b->code && strcmp(a->status, b->status) == 0 && strcmp(a->text, b->text) == 0 &&
	       a->nlines == b->nlines && a->raw_len == b->raw_len && memcmp(a->raw, b->raw, a->raw_len) == 0;
}

static void test_single_line(void)
{
	static struct parsed p;

	feed("220 mx1.example.net ESMTP ready\r\n", &p);
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_EQUAL(p.r[0].code, 220);
	CU_ASSERT_EQUAL(p.r[0].nlines, 1);
	CU_ASSERT_STRING_EQUAL(p.r[0].text, "mx1.example.net ESMTP ready");
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "");
	CU_ASSERT_EQUAL(p.r[0].raw_len, strlen("220 mx1.example.net ESMTP ready\r\n"));
	CU_ASSERT(memcmp(p.r[0].raw, "220 mx1.example.net ESMTP ready\r\n", p.r[0].raw_len) == 0);
}

static const char ehlo_reply[] =
	"250-mx1.example.net Hello\r\n"
	"250-PIPELINING\r\n"
	"250-SIZE 10240000\r\n"
	"250-8BITMIME\r\n"
	"250 ENHANCEDSTATUSCODES\r\n"
	"550 5.1.1 <x@example.org>: no such user\r\n";

/* Every cut into two pieces, and every byte on its own: the same two replies. */
static void test_every_split(void)
{
	static struct parsed ref, p;
	size_t len = strlen(ehlo_reply);

	feed(ehlo_reply, &ref);
	CU_ASSERT_EQUAL_FATAL(ref.n, 2);
	CU_ASSERT_EQUAL(ref.r[0].code, 250);
	CU_ASSERT_EQUAL(ref.r[0].nlines, 5);
	CU_ASSERT_STRING_EQUAL(ref.r[0].text, "ENHANCEDSTATUSCODES");
	CU_ASSERT_EQUAL(ref.r[0].raw_len, strlen(ehlo_reply) - strlen("550 5.1.1 <x@example.org>: no such user\r\n"));
	CU_ASSERT(memcmp(ref.r[0].raw, ehlo_reply, ref.r[0].raw_len) == 0);
	CU_ASSERT_EQUAL(ref.r[1].code, 550);
	CU_ASSERT_STRING_EQUAL(ref.r[1].status, "5.1.1");
	CU_ASSERT_STRING_EQUAL(ref.r[1].text, "<x@example.org>: no such user");

	for (size_t k = 0; k <= len; k++) {
		feed_cuts(ehlo_reply, len, &k, 1, &p);
		CU_ASSERT_EQUAL(p.n, 2);
		CU_ASSERT(same_reply(&p.r[0], &ref.r[0]));
		CU_ASSERT(same_reply(&p.r[1], &ref.r[1]));
	}
	/* two cuts anywhere */
	for (size_t a = 0; a <= len; a += 3) {
		for (size_t b = a; b <= len; b += 5) {
			size_t cuts[2] = { a, b };
			feed_cuts(ehlo_reply, len, cuts, 2, &p);
			CU_ASSERT_EQUAL(p.n, 2);
			CU_ASSERT(same_reply(&p.r[0], &ref.r[0]));
		}
	}
	size_t cuts[sizeof(ehlo_reply)];
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	feed_cuts(ehlo_reply, len, cuts, (int)len - 1, &p);
	CU_ASSERT_EQUAL(p.n, 2);
	CU_ASSERT(same_reply(&p.r[0], &ref.r[0]));
	CU_ASSERT(same_reply(&p.r[1], &ref.r[1]));
}

static void test_bare_lf_and_bare_code(void)
{
	static struct parsed p;

	feed("250-first\n250-second\r\n250\n", &p);
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_EQUAL(p.r[0].nlines, 3);
	CU_ASSERT_STRING_EQUAL(p.r[0].text, "");
	const char *want = "250-first\r\n250-second\r\n250\r\n";
	CU_ASSERT_EQUAL(p.r[0].raw_len, strlen(want));
	CU_ASSERT(memcmp(p.r[0].raw, want, strlen(want)) == 0);

	/* a bare "354" is a whole reply: the next line starts the next reply */
	feed("354\r\n250 ok\r\n", &p);
	CU_ASSERT_EQUAL_FATAL(p.n, 2);
	CU_ASSERT_EQUAL(p.r[0].code, 354);
	CU_ASSERT_EQUAL(p.r[1].code, 250);
}

static void test_enhanced_status(void)
{
	static struct parsed p;

	feed("250 2.1.5 Ok\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "2.1.5");
	CU_ASSERT_STRING_EQUAL(p.r[0].text, "Ok");
	feed("451 4.3.0 Try again later\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "4.3.0");
	CU_ASSERT_STRING_EQUAL(p.r[0].text, "Try again later");
	feed("250 2.0.0\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "2.0.0");
	CU_ASSERT_STRING_EQUAL(p.r[0].text, "");
	feed("554 5.123.456 x\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "5.123.456");
	/* class must match the code */
	feed("550 2.1.1 odd\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "");
	CU_ASSERT_STRING_EQUAL(p.r[0].text, "2.1.1 odd");
	/* too many digits, missing part, no space */
	feed("550 5.1234.1 x\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "");
	feed("550 5.1 x\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "");
	feed("550 5.1.1x y\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "");
	/* status of the last line only */
	feed("550-5.1.1 first\r\n550 second\r\n", &p);
	CU_ASSERT_STRING_EQUAL(p.r[0].status, "");
	CU_ASSERT_STRING_EQUAL(p.r[0].text, "second");
}

static void test_malformed(void)
{
	static struct parsed p;
	static const char *const bad[] = {
		"abc\r\n", "25\r\n", "2x0 ok\r\n", "250x\r\n", "250_ok\r\n", "\r\n",
		"650 six\r\n", "150 one\r\n", "050 zero\r\n",
		"250-a\r\n251 b\r\n", "250-a\r\n550 b\r\n", "250-a\r\nb\r\n",
	};

	for (size_t i = 0; i < SL_ARRAY_SIZE(bad); i++) {
		feed(bad[i], &p);
		CU_ASSERT_EQUAL(p.err, 1);
		CU_ASSERT_EQUAL(p.n, 0);
	}
}

static void test_line_count_limit(void)
{
	static struct parsed p;
	static char buf[(BACKEND_REPLY_LINES_MAX + 2) * 16];
	size_t o = 0;

	for (int i = 0; i < BACKEND_REPLY_LINES_MAX - 1; i++)
		o += (size_t)sprintf(buf + o, "250-line%d\r\n", i);
	o += (size_t)sprintf(buf + o, "250 last\r\n");
	feed(buf, &p);
	CU_ASSERT_EQUAL(p.err, 0);
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_EQUAL(p.r[0].nlines, BACKEND_REPLY_LINES_MAX);

	o = 0;
	for (int i = 0; i < BACKEND_REPLY_LINES_MAX; i++)
		o += (size_t)sprintf(buf + o, "250-line%d\r\n", i);
	o += (size_t)sprintf(buf + o, "250 last\r\n");
	feed(buf, &p);
	CU_ASSERT_EQUAL(p.err, 1);
	CU_ASSERT_EQUAL(p.n, 0);
}

static void test_long_line_truncated(void)
{
	static struct parsed p;
	static char buf[5000];

	memcpy(buf, "550 ", 4);
	memset(buf + 4, 'x', 3000);
	strcpy(buf + 3004, "\r\n250 next\r\n");
	feed(buf, &p);
	CU_ASSERT_EQUAL(p.err, 0);
	CU_ASSERT_EQUAL_FATAL(p.n, 2);
	CU_ASSERT_EQUAL(p.r[0].code, 550);
	CU_ASSERT_EQUAL(strlen(p.r[0].text), sizeof(p.r[0].text) - 1);
	CU_ASSERT_EQUAL(p.r[0].raw_len, BACKEND_REPLY_LINE_MAX + 2);
	CU_ASSERT(memcmp(p.r[0].raw + BACKEND_REPLY_LINE_MAX, "\r\n", 2) == 0);
	CU_ASSERT_STRING_EQUAL(p.r[1].text, "next");
}

/* raw[] stays bounded and well-formed: first lines kept, the middle dropped, the last kept. */
static void test_raw_bound(void)
{
	static struct parsed p;
	static char buf[30000];
	size_t o = 0;

	for (int i = 0; i < 20; i++) {
		o += (size_t)sprintf(buf + o, "250%c%02d", i == 19 ? ' ' : '-', i);
		memset(buf + o, 'a' + i, 900);
		o += 900;
		o += (size_t)sprintf(buf + o, "\r\n");
	}
	feed(buf, &p);
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_EQUAL(p.r[0].nlines, 20);
	CU_ASSERT(p.r[0].raw_len <= BACKEND_REPLY_RAW_MAX);
	CU_ASSERT(memcmp(p.r[0].raw, "250-00", 6) == 0);
	/* ends with the complete last line */
	size_t ll = 6 + 900 + 2;
	CU_ASSERT_FATAL(p.r[0].raw_len >= ll);
	CU_ASSERT(memcmp(p.r[0].raw + p.r[0].raw_len - ll, "250 19", 6) == 0);
	CU_ASSERT(memcmp(p.r[0].raw + p.r[0].raw_len - 2, "\r\n", 2) == 0);
	/* every kept line complete: lines are 908 bytes with CR LF, continuation before the last */
	CU_ASSERT_EQUAL(p.r[0].raw_len % ll, 0);
	for (size_t k = 0; k + ll <= p.r[0].raw_len; k += ll) {
		CU_ASSERT(memcmp(p.r[0].raw + k, k + ll == p.r[0].raw_len ? "250 " : "250-", 4) == 0);
		CU_ASSERT(memcmp(p.r[0].raw + k + ll - 2, "\r\n", 2) == 0);
	}
	/* kept middle lines are in order, with no gap */
	CU_ASSERT(memcmp(p.r[0].raw + ll, "250-01", 6) == 0);
}

static void test_control_bytes_cleaned(void)
{
	static struct parsed p;
	const char in[] = "250 a\rb\0c\x1b" "d\r\n";

	feed_cuts(in, sizeof(in) - 1, NULL, 0, &p);
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_EQUAL(p.r[0].raw_len, 13);
	CU_ASSERT(memcmp(p.r[0].raw, "250 a b c d\r\n", 13) == 0);
}

static void test_caps(void)
{
	static struct parsed p;
	struct backend_caps c;

	feed("250-mx.example.net hi\r\n"
	     "250-pipelining\r\n"
	     "250-Size 10240000\r\n"
	     "250-8bitmime\r\n"
	     "250-SMTPUTF8\r\n"
	     "250-dsn\r\n"
	     "250-ENHANCEDSTATUSCODES\r\n"
	     "250-STARTTLS\r\n"
	     "250-CHUNKING\r\n"
	     "250 xclient NAME ADDR port PROTO HELO LOGIN DESTADDR DESTPORT\r\n", &p);
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	backend_caps_parse(&p.r[0], &c);
	CU_ASSERT(c.esmtp);
	CU_ASSERT(c.pipelining);
	CU_ASSERT(c.size);
	CU_ASSERT_EQUAL(c.size_limit, 10240000);
	CU_ASSERT(c.eightbitmime);
	CU_ASSERT(c.smtputf8);
	CU_ASSERT(c.dsn);
	CU_ASSERT(c.enhancedstatuscodes);
	CU_ASSERT(c.starttls);
	CU_ASSERT(c.chunking);
	CU_ASSERT(c.xclient);
	CU_ASSERT_EQUAL(c.xclient_attrs, 0xff);

	/* the first line is the greeting: not a keyword; unknown words ignored */
	feed("250-PIPELINING\r\n250-SIZE\r\n250-XCLIENT ADDR FOO NAME\r\n250 PIPELININGX\r\n", &p);
	backend_caps_parse(&p.r[0], &c);
	CU_ASSERT(c.esmtp);
	CU_ASSERT(!c.pipelining);
	CU_ASSERT(c.size);
	CU_ASSERT_EQUAL(c.size_limit, 0);
	CU_ASSERT(c.xclient);
	CU_ASSERT_EQUAL(c.xclient_attrs, XCLIENT_ATTR_ADDR | XCLIENT_ATTR_NAME);
	CU_ASSERT(!c.starttls);

	feed("250-x\r\n250 SIZE 99999999999999999999999\r\n", &p);
	backend_caps_parse(&p.r[0], &c);
	CU_ASSERT_EQUAL(c.size_limit, UINT64_MAX);

	/* a HELO-style one-liner advertises nothing, a refusal nothing at all */
	feed("250 mx.example.net\r\n", &p);
	backend_caps_parse(&p.r[0], &c);
	CU_ASSERT(c.esmtp);
	CU_ASSERT(!c.pipelining && !c.size && !c.xclient);
	feed("502-x\r\n502 PIPELINING\r\n", &p);
	backend_caps_parse(&p.r[0], &c);
	CU_ASSERT(!c.esmtp);
	CU_ASSERT(!c.pipelining);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "single line", test_single_line },
		{ "every split", test_every_split },
		{ "bare LF and bare code", test_bare_lf_and_bare_code },
		{ "enhanced status", test_enhanced_status },
		{ "malformed", test_malformed },
		{ "line count limit", test_line_count_limit },
		{ "long line truncated", test_long_line_truncated },
		{ "raw bound", test_raw_bound },
		{ "control bytes cleaned", test_control_bytes_cleaned },
		{ "caps", test_caps },
		{ NULL, NULL },
	};
	test_suite("backend_reply", cases);
}
