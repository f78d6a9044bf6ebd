/* test_xclient.c - xtext both ways and the exact XCLIENT lines we send. */
#include <string.h>

#include "test.h"
#include "relay/xclient.h"

static void test_xtext_exact(void)
{
	char out[64];
	static const struct { const char *in; size_t len; const char *out; } rows[] = {
		{ "abc", 3, "abc" },
		{ "a+b", 3, "a+2Bb" },
		{ "x=y", 3, "x+3Dy" },
		{ "a b", 3, "a+20b" },
		{ "!~", 2, "!~" },
		{ "\x7f\xff\x01", 3, "+7F+FF+01" },
		{ "\0", 1, "+00" },
		{ "[1.2.3.4]", 9, "[1.2.3.4]" },
		{ "", 0, "" },
	};

	for (size_t i = 0; i < SL_ARRAY_SIZE(rows); i++) {
		size_t n = xtext_encode(out, sizeof(out), rows[i].in, rows[i].len);
		CU_ASSERT_EQUAL(n, strlen(rows[i].out));
		CU_ASSERT_STRING_EQUAL(out, rows[i].out);
	}
	/* the output needs room for the NUL too */
	CU_ASSERT_EQUAL(xtext_encode(out, 6, "a+b", 3), 5);
	CU_ASSERT_EQUAL(xtext_encode(out, 5, "a+b", 3), (size_t)-1);
	CU_ASSERT_EQUAL(xtext_encode(out, 3, "a+", 2), (size_t)-1);
	CU_ASSERT_EQUAL(xtext_encode(out, 0, "", 0), (size_t)-1);
}

static void test_xtext_decode(void)
{
	char out[64];

	CU_ASSERT_EQUAL(xtext_decode(out, sizeof(out), "a+2Bb+3D", 8), 4);
	CU_ASSERT_STRING_EQUAL(out, "a+b=");
	CU_ASSERT_EQUAL(xtext_decode(out, sizeof(out), "+2b", 3), 1);
	CU_ASSERT_STRING_EQUAL(out, "+");
	CU_ASSERT_EQUAL(xtext_decode(out, sizeof(out), "+2G", 3), (size_t)-1);
	CU_ASSERT_EQUAL(xtext_decode(out, sizeof(out), "ab+2", 4), (size_t)-1);
	CU_ASSERT_EQUAL(xtext_decode(out, sizeof(out), "+", 1), (size_t)-1);
	CU_ASSERT_EQUAL(xtext_decode(out, 3, "abc", 3), (size_t)-1);
	CU_ASSERT_EQUAL(xtext_decode(out, 4, "abc", 3), 3);
}

static void test_xtext_round_trip(void)
{
	char in[256], enc[256 * 3 + 1], dec[257];

	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	size_t n = xtext_encode(enc, sizeof(enc), in, sizeof(in));
	CU_ASSERT_EQUAL(n, 94 - 2 + (256 - 94 + 2) * 3);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT(enc[i] >= 33 && enc[i] <= 126 && enc[i] != '=');
	CU_ASSERT_EQUAL(xtext_decode(dec, sizeof(dec), enc, n), 256);
	CU_ASSERT(memcmp(dec, in, 256) == 0);
	/* and a few strings */
	static const char *const s[] = { "mx.example.org", "a+b=c d", "[IPv6:2001:2::1]", "\r\n.\r\n" };
	for (size_t i = 0; i < SL_ARRAY_SIZE(s); i++) {
		n = xtext_encode(enc, sizeof(enc), s[i], strlen(s[i]));
		CU_ASSERT_EQUAL(xtext_decode(dec, sizeof(dec), enc, n), strlen(s[i]));
		CU_ASSERT_STRING_EQUAL(dec, s[i]);
	}
}

static void info_v4(struct relay_client_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	CU_ASSERT_FATAL(sl_addr_parse("198.18.0.7:40000", &ci->client, true) == 0);
	strcpy(ci->name, "client.example.org");
	strcpy(ci->helo, "helo.example.org");
	ci->esmtp = true;
}

#define ALL_ATTRS 0xff

static void test_xclient_v4(void)
{
	struct relay_client_info ci;
	char lines[2][512];
	size_t lens[2];

	info_v4(&ci);
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, ALL_ATTRS), 1);
	const char *want = "XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=client.example.org "
			   "HELO=helo.example.org PROTO=ESMTP\r\n";
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);

	/* with the address the client reached */
	CU_ASSERT_FATAL(sl_addr_parse("198.18.0.1:25", &ci.local, true) == 0);
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, ALL_ATTRS), 1);
	want = "XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=client.example.org "
	       "HELO=helo.example.org PROTO=ESMTP DESTADDR=198.18.0.1 DESTPORT=25\r\n";
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);

	/* only what was offered */
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, XCLIENT_ATTR_NAME | XCLIENT_ATTR_ADDR), 1);
	want = "XCLIENT ADDR=198.18.0.7 NAME=client.example.org\r\n";
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);
}

static void test_xclient_v6(void)
{
	struct relay_client_info ci;
	char lines[2][512];
	size_t lens[2];

	info_v4(&ci);
	CU_ASSERT_FATAL(sl_addr_parse("[2001:2::7]:40001", &ci.client, true) == 0);
	CU_ASSERT_FATAL(sl_addr_parse("[2001:2::1]:25", &ci.local, true) == 0);
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, ALL_ATTRS), 1);
	const char *want = "XCLIENT ADDR=IPV6:2001:2::7 PORT=40001 NAME=client.example.org "
			   "HELO=helo.example.org PROTO=ESMTP DESTADDR=IPV6:2001:2::1 DESTPORT=25\r\n";
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);
}

static void test_xclient_unknown(void)
{
	struct relay_client_info ci;
	char lines[2][512];
	size_t lens[2];

	info_v4(&ci);
	ci.name[0] = '\0';
	ci.helo[0] = '\0';
	ci.esmtp = false;
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, ALL_ATTRS), 1);
	const char *want = "XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=[UNAVAILABLE] PROTO=SMTP\r\n";
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);

	/* a HELO argument with odd bytes travels xtext-encoded */
	strcpy(ci.helo, "a+b=c d");
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, XCLIENT_ATTR_HELO), 1);
	want = "XCLIENT HELO=a+2Bb+3Dc+20d\r\n";
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);

	/* no address at all */
	memset(&ci.client, 0, sizeof(ci.client));
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, XCLIENT_ATTR_ADDR | XCLIENT_ATTR_PORT), 1);
	want = "XCLIENT ADDR=[UNAVAILABLE] PORT=[UNAVAILABLE]\r\n";
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);
}

static void test_xclient_split(void)
{
	struct relay_client_info ci;
	char lines[2][512];
	size_t lens[2];
	char want[1024];

	info_v4(&ci);
	memset(ci.name, 'n', 255);
	ci.name[255] = '\0';
	memset(ci.helo, 'h', 255);
	ci.helo[255] = '\0';
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, ALL_ATTRS), 2);
	snprintf(want, sizeof(want), "XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=%s\r\n", ci.name);
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);
	snprintf(want, sizeof(want), "XCLIENT HELO=%s PROTO=ESMTP\r\n", ci.helo);
	CU_ASSERT_EQUAL(lens[1], strlen(want));
	CU_ASSERT(memcmp(lines[1], want, lens[1]) == 0);
	CU_ASSERT(lens[0] <= 512 && lens[1] <= 512);

	/* a value that cannot fit a command even alone is unavailable, not a third line */
	memset(ci.helo, ' ', 255);
	CU_ASSERT_EQUAL_FATAL(xclient_build(lines, lens, &ci, ALL_ATTRS), 1);
	snprintf(want, sizeof(want), "XCLIENT ADDR=198.18.0.7 PORT=40000 NAME=%s "
		 "HELO=[UNAVAILABLE] PROTO=ESMTP\r\n", ci.name);
	CU_ASSERT_EQUAL(lens[0], strlen(want));
	CU_ASSERT(memcmp(lines[0], want, lens[0]) == 0);

	/* worst case of every attribute: two commands, each within 512 */
	CU_ASSERT_FATAL(sl_addr_parse("[2001:2:ffff:ffff:ffff:ffff:ffff:ffff]:65535", &ci.client, true) == 0);
	ci.local = ci.client;
	memset(ci.helo, 'h', 255);
	int n = xclient_build(lines, lens, &ci, ALL_ATTRS);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	for (int i = 0; i < n; i++) {
		CU_ASSERT(lens[i] <= 512);
		CU_ASSERT(memcmp(lines[i], "XCLIENT ", 8) == 0);
		CU_ASSERT(memcmp(lines[i] + lens[i] - 2, "\r\n", 2) == 0);
		CU_ASSERT(memchr(lines[i], '\n', lens[i] - 1) == NULL);
	}
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "xtext exact", test_xtext_exact },
		{ "xtext decode", test_xtext_decode },
		{ "xtext round trip", test_xtext_round_trip },
		{ "xclient v4", test_xclient_v4 },
		{ "xclient v6", test_xclient_v6 },
		{ "xclient unknown name", test_xclient_unknown },
		{ "xclient long helo split", test_xclient_split },
		{ NULL, NULL },
	};
	test_suite("xclient", cases);
}
