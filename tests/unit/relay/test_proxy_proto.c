/* test_proxy_proto.c - PROXY v1 and v2 headers, byte for byte from HAProxy's proxy-protocol.txt. */
#include <string.h>

#include "test.h"
#include "relay/proxy_proto.h"

static void addrs(const char *s, const char *d, struct sl_addr *src, struct sl_addr *dst)
{
	CU_ASSERT_FATAL(sl_addr_parse(s, src, true) == 0);
	CU_ASSERT_FATAL(sl_addr_parse(d, dst, true) == 0);
}

static void test_v1(void)
{
	struct sl_addr s, d;
	char buf[PROXY_V1_MAX + 1];
	const char *want;

	addrs("198.18.0.7:40000", "198.18.0.1:25", &s, &d);
	want = "PROXY TCP4 198.18.0.7 198.18.0.1 40000 25\r\n";
	CU_ASSERT_EQUAL(proxy_v1_build(buf, sizeof(buf), &s, &d), strlen(want));
	CU_ASSERT(memcmp(buf, want, strlen(want)) == 0);

	addrs("[2001:2::7]:40000", "[2001:2::1]:25", &s, &d);
	want = "PROXY TCP6 2001:2::7 2001:2::1 40000 25\r\n";
	CU_ASSERT_EQUAL(proxy_v1_build(buf, sizeof(buf), &s, &d), strlen(want));
	CU_ASSERT(memcmp(buf, want, strlen(want)) == 0);

	/* the spec's longest line fits PROXY_V1_MAX */
	addrs("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
	      "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", &s, &d);
	CU_ASSERT_EQUAL(proxy_v1_build(buf, sizeof(buf), &s, &d), 104);

	/* mixed families: UNKNOWN */
	addrs("198.18.0.7:40000", "[2001:2::1]:25", &s, &d);
	CU_ASSERT_EQUAL(proxy_v1_build(buf, sizeof(buf), &s, &d), 15);
	CU_ASSERT(memcmp(buf, "PROXY UNKNOWN\r\n", 15) == 0);

	/* too small a buffer */
	addrs("198.18.0.7:40000", "198.18.0.1:25", &s, &d);
	CU_ASSERT_EQUAL(proxy_v1_build(buf, 20, &s, &d), 0);
}

static void test_v2_v4(void)
{
	struct sl_addr s, d;
	uint8_t buf[PROXY_V2_MAX];
	static const uint8_t want[28] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, /* signature */
		0x21,             /* version 2, PROXY */
		0x11,             /* TCP over IPv4 */
		0x00, 0x0C,       /* 12 address bytes */
		198, 18, 0, 7,    /* source */
		198, 18, 0, 1,    /* destination */
		0x9C, 0x40,       /* 40000 */
		0x00, 0x19,       /* 25 */
	};

	addrs("198.18.0.7:40000", "198.18.0.1:25", &s, &d);
	CU_ASSERT_EQUAL_FATAL(proxy_v2_build(buf, sizeof(buf), &s, &d), sizeof(want));
	CU_ASSERT(memcmp(buf, want, sizeof(want)) == 0);
	CU_ASSERT_EQUAL(proxy_v2_build(buf, 27, &s, &d), 0);
}

static void test_v2_v6(void)
{
	struct sl_addr s, d;
	uint8_t buf[PROXY_V2_MAX];
	static const uint8_t want[52] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
		0x21,
		0x21,             /* TCP over IPv6 */
		0x00, 0x24,       /* 36 address bytes */
		0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,
		0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x9C, 0x41,       /* 40001 */
		0x01, 0xD1,       /* 465 */
	};

	addrs("[2001:2::7]:40001", "[2001:2::1]:465", &s, &d);
	CU_ASSERT_EQUAL_FATAL(proxy_v2_build(buf, sizeof(buf), &s, &d), sizeof(want));
	CU_ASSERT(memcmp(buf, want, sizeof(want)) == 0);
	CU_ASSERT_EQUAL(proxy_v2_build(buf, 51, &s, &d), 0);
}

static void test_v2_unspec(void)
{
	struct sl_addr s, d;
	uint8_t buf[PROXY_V2_MAX];
	static const uint8_t want[16] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
		0x21, 0x00, 0x00, 0x00,
	};

	addrs("198.18.0.7:40000", "[2001:2::1]:25", &s, &d);
	CU_ASSERT_EQUAL_FATAL(proxy_v2_build(buf, sizeof(buf), &s, &d), 16);
	CU_ASSERT(memcmp(buf, want, 16) == 0);
}

/* A health check's own connection: v2 LOCAL, no address block. */
static void test_v2_local(void)
{
	static const uint8_t want[16] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x20, /* version 2, LOCAL */
		0x00, /* AF_UNSPEC */
		0x00, 0x00,
	};
	uint8_t buf[32];

	CU_ASSERT_EQUAL(proxy_v2_local(buf, sizeof(buf)), 16);
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(proxy_v2_local(buf, 15), 0);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "v1", test_v1 },
		{ "v2 ipv4", test_v2_v4 },
		{ "v2 ipv6", test_v2_v6 },
		{ "v2 mixed families", test_v2_unspec },
		{ "v2 local", test_v2_local },
		{ NULL, NULL },
	};
	test_suite("proxy_proto", cases);
}
