/* test_addr.c - address and prefix parsing, formatting and matching. */
#include <string.h>
#include <sys/socket.h>

#include "test.h"
#include "util/sl_addr.h"

static void test_parse_format(void)
{
	static const struct { const char *in; bool need_port; int rc; const char *out; } rows[] = {
		{ "1.2.3.4", false, 0, "1.2.3.4:0" },
		{ "1.2.3.4:25", true, 0, "1.2.3.4:25" },
		{ "1.2.3.4", true, -1, NULL },
		{ "[::1]:2525", true, 0, "[::1]:2525" },
		{ "2001:2::1", false, 0, "[2001:2::1]:0" },
		{ "[2001:2::1]", false, 0, "[2001:2::1]:0" },
		{ "1.2.3.4:65536", true, -1, NULL },
		{ "1.2.3.4:", true, -1, NULL },
		{ "1.2.3.256", false, -1, NULL },
		{ "[::1", false, -1, NULL },
		{ "[::1]x", false, -1, NULL },
		{ "", false, -1, NULL },
		{ "host.example:25", true, -1, NULL },
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sl_addr a;
		char buf[SL_ADDR_STRLEN];
		int rc = sl_addr_parse(rows[i].in, &a, rows[i].need_port);
		CU_ASSERT_EQUAL(rc, rows[i].rc);
		if (rc == 0 && rows[i].out)
			CU_ASSERT_STRING_EQUAL(sl_addr_format(&a, buf, sizeof(buf), true), rows[i].out);
	}
}

static void test_prefix(void)
{
	struct sl_prefix p;
	struct sl_addr a;
	char buf[64];

	CU_ASSERT_EQUAL(sl_prefix_parse("198.18.0.0/15", &p), 0);
	CU_ASSERT_STRING_EQUAL(sl_prefix_format(&p, buf, sizeof(buf)), "198.18.0.0/15");
	CU_ASSERT_EQUAL(sl_addr_parse("198.19.255.255", &a, false), 0);
	CU_ASSERT_TRUE(sl_prefix_match(&p, &a));
	CU_ASSERT_EQUAL(sl_addr_parse("198.20.0.0", &a, false), 0);
	CU_ASSERT_FALSE(sl_prefix_match(&p, &a));
	CU_ASSERT_EQUAL(sl_prefix_parse("198.18.0.1/15", &p), -1); /* host bits */
	CU_ASSERT_EQUAL(sl_prefix_parse("10.0.0.0/33", &p), -1);
	CU_ASSERT_EQUAL(sl_prefix_parse("0.0.0.0/0", &p), 0);
	CU_ASSERT_TRUE(sl_prefix_match(&p, &a));
	CU_ASSERT_EQUAL(sl_prefix_parse("2001:2::/48", &p), 0);
	CU_ASSERT_EQUAL(sl_addr_parse("2001:2:0:ffff::1", &a, false), 0);
	CU_ASSERT_TRUE(sl_prefix_match(&p, &a));
	CU_ASSERT_EQUAL(sl_addr_parse("2001:2:1::1", &a, false), 0);
	CU_ASSERT_FALSE(sl_prefix_match(&p, &a));
	CU_ASSERT_EQUAL(sl_addr_parse("198.18.0.1", &a, false), 0);
	CU_ASSERT_FALSE(sl_prefix_match(&p, &a)); /* families differ */
	CU_ASSERT_EQUAL(sl_prefix_parse("203.0.113.7", &p), 0);
	CU_ASSERT_EQUAL(p.len, 32);
}

static void test_mask(void)
{
	struct sl_addr a, m;
	char buf[SL_ADDR_STRLEN];

	sl_addr_parse("203.0.113.77", &a, false);
	m = sl_addr_mask(&a, 24);
	CU_ASSERT_STRING_EQUAL(sl_addr_format(&m, buf, sizeof(buf), false), "203.0.113.0");
	m = sl_addr_mask(&a, 20);
	CU_ASSERT_STRING_EQUAL(sl_addr_format(&m, buf, sizeof(buf), false), "203.0.112.0");
	sl_addr_parse("2001:2:3:4:5:6:7:8", &a, false);
	m = sl_addr_mask(&a, 64);
	CU_ASSERT_STRING_EQUAL(sl_addr_format(&m, buf, sizeof(buf), false), "2001:2:3:4::");
}

static void test_sockaddr(void)
{
	struct sl_addr a, b;
	struct sockaddr_storage ss;
	unsigned len;

	sl_addr_parse("[2001:2::5]:2525", &a, true);
	CU_ASSERT_EQUAL(sl_addr_to_sockaddr(&a, &ss, &len), 0);
	CU_ASSERT_EQUAL(sl_addr_from_sockaddr(&b, (struct sockaddr *)&ss), 0);
	CU_ASSERT_TRUE(sl_addr_equal(&a, &b));
	CU_ASSERT_EQUAL(b.port, 2525);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "parse and format", test_parse_format },
		{ "prefixes", test_prefix },
		{ "masks", test_mask },
		{ "sockaddr round trip", test_sockaddr },
		{ NULL, NULL },
	};
	test_suite("addr", cases);
}
