/* test_net_eth.c - Ethernet II parse/build, VLAN tag, padding, and the drop reason names. */
#include <string.h>

#include "net/net_eth.h"
#include "net/net_stats.h"
#include "test.h"

static const struct net_mac a = { { 0x02, 0, 0, 0, 0, 0x01 } }, b = { { 0x02, 0, 0, 0, 0, 0x02 } };

static void test_parse(void)
{
	static const uint8_t f[] = {
		0x02, 0, 0, 0, 0, 0x01,   0x02, 0, 0, 0, 0, 0x02,   0x08, 0x00,   0x45,
	};
	struct net_eth_info ei;

	CU_ASSERT_EQUAL(net_eth_parse(f, sizeof(f), &ei), NET_DROP_NONE);
	CU_ASSERT_EQUAL(ei.type, NET_ETHERTYPE_IPV4);
	CU_ASSERT_EQUAL(ei.hlen, 14);
	CU_ASSERT_EQUAL(ei.vlan, 0);
	CU_ASSERT_TRUE(net_mac_equal(ei.dst, &a));
	CU_ASSERT_TRUE(net_mac_equal(ei.src, &b));
	for (size_t n = 0; n < 14; n++)
		CU_ASSERT_EQUAL(net_eth_parse(f, n, &ei), NET_DROP_ETH_SHORT);
}

static void test_vlan(void)
{
	static const uint8_t f[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   0x02, 0, 0, 0, 0, 0x02,
		0x81, 0x00, 0x20, 0x64,   /* PCP 1, VID 100 */
		0x08, 0x06,
	};
	struct net_eth_info ei;
	uint8_t out[18];

	CU_ASSERT_EQUAL(net_eth_parse(f, sizeof(f), &ei), NET_DROP_NONE);
	CU_ASSERT_EQUAL(ei.vlan, 100);
	CU_ASSERT_EQUAL(ei.type, NET_ETHERTYPE_ARP);
	CU_ASSERT_EQUAL(ei.hlen, 18);
	CU_ASSERT_TRUE(net_mac_is_bcast(ei.dst));
	CU_ASSERT_EQUAL(net_eth_parse(f, 17, &ei), NET_DROP_ETH_SHORT);
	CU_ASSERT_EQUAL(net_eth_build(out, &net_mac_bcast, &b, NET_ETHERTYPE_ARP, 100), 18);
	CU_ASSERT_EQUAL(memcmp(out, f, 14), 0);
	CU_ASSERT_EQUAL(out[14], 0x00);   /* we send PCP 0 */
	CU_ASSERT_EQUAL(out[15], 0x64);
	CU_ASSERT_EQUAL(memcmp(out + 16, f + 16, 2), 0);
}

static void test_bad_src(void)
{
	uint8_t f[14] = { 0x02, 0, 0, 0, 0, 0x01,   0x01, 0x00, 0x5e, 0, 0, 1,   0x08, 0x00 };
	struct net_eth_info ei;

	CU_ASSERT_EQUAL(net_eth_parse(f, sizeof(f), &ei), NET_DROP_ETH_SRC);
	memset(f + 6, 0xff, 6);
	CU_ASSERT_EQUAL(net_eth_parse(f, sizeof(f), &ei), NET_DROP_ETH_SRC);
}

static void test_build_pad(void)
{
	static const uint8_t want[14] = {
		0x02, 0, 0, 0, 0, 0x02,   0x02, 0, 0, 0, 0, 0x01,   0x08, 0x06,
	};
	uint8_t buf[64];

	memset(buf, 0xaa, sizeof(buf));
	CU_ASSERT_EQUAL(net_eth_build(buf, &b, &a, NET_ETHERTYPE_ARP, 0), 14);
	CU_ASSERT_EQUAL(memcmp(buf, want, 14), 0);
	CU_ASSERT_EQUAL(net_eth_pad(buf, 42), 60);
	for (int i = 42; i < 60; i++)
		CU_ASSERT_EQUAL(buf[i], 0);
	CU_ASSERT_EQUAL(buf[60], 0xaa);
	CU_ASSERT_EQUAL(net_eth_pad(buf, 61), 61);
}

static void test_mac_predicates(void)
{
	static const struct net_mac z = { { 0 } }, m = { { 0x33, 0x33, 0, 0, 0, 1 } };

	CU_ASSERT_TRUE(net_mac_is_zero(&z));
	CU_ASSERT_FALSE(net_mac_is_zero(&a));
	CU_ASSERT_TRUE(net_mac_is_mcast(&m));
	CU_ASSERT_FALSE(net_mac_is_bcast(&m));
	CU_ASSERT_TRUE(net_mac_is_mcast(&net_mac_bcast));
	CU_ASSERT_FALSE(net_mac_is_mcast(&a));
}

static void test_drop_names(void)
{
	for (unsigned r = 0; r < NET_DROP_MAX; r++)
		CU_ASSERT_STRING_NOT_EQUAL(net_drop_name((enum net_drop)r), "unknown");
	CU_ASSERT_STRING_EQUAL(net_drop_name(NET_DROP_FRAGMENT), "fragment");
	CU_ASSERT_STRING_EQUAL(net_drop_name(NET_DROP_MAX), "unknown");
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "parse", test_parse },
		{ "vlan_tag", test_vlan },
		{ "group_source_mac", test_bad_src },
		{ "build_and_pad", test_build_pad },
		{ "mac_predicates", test_mac_predicates },
		{ "drop_reason_names", test_drop_names },
		{ NULL, NULL },
	};
	test_suite("net_eth", cases);
}
