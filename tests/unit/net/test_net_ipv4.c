/* test_net_ipv4.c - IPv4 validation table, fragments, header build bytes, ICMP echo, routes. */
#include <stdlib.h>
#include <string.h>

#include "net/net_csum.h"
#include "net/net_icmp.h"
#include "net/net_ipv4.h"
#include "test.h"
#include "util/sl_status.h"

/*
 * 198.18.0.2 -> 198.18.0.1, ICMP, total length 32, id 0x1234, TTL 64.
 * Checksum by hand (RFC 1071): 4500+0020+1234+0000+4001+c612+0002+c612+0001
 * = 2237c -> 237e -> ~ = dc81.
 */
static const uint8_t good_hdr[20] = {
	0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00, 0x40, 0x01, 0xdc, 0x81,
	198, 18, 0, 2, 198, 18, 0, 1,
};

static void test_good(void)
{
	uint8_t pkt[32] = { 0 };
	struct net_ipv4_info ii;

	memcpy(pkt, good_hdr, 20);
	CU_ASSERT_EQUAL(net_csum(pkt, 20), 0);
	CU_ASSERT_EQUAL(net_ipv4_parse(pkt, sizeof(pkt), false, &ii), NET_DROP_NONE);
	CU_ASSERT_EQUAL(ii.hlen, 20);
	CU_ASSERT_EQUAL(ii.tot_len, 32);
	CU_ASSERT_EQUAL(ii.proto, NET_IPPROTO_ICMP);
	CU_ASSERT_EQUAL(ii.ttl, 64);
	CU_ASSERT_EQUAL(memcmp(&ii.src, good_hdr + 12, 4), 0);
	CU_ASSERT_EQUAL(memcmp(&ii.dst, good_hdr + 16, 4), 0);
	/* Ethernet padding after the datagram is fine */
	{
		uint8_t padded[46] = { 0 };

		memcpy(padded, good_hdr, 20);
		CU_ASSERT_EQUAL(net_ipv4_parse(padded, sizeof(padded), false, &ii), NET_DROP_NONE);
		CU_ASSERT_EQUAL(ii.tot_len, 32);
	}
}

/* One malformation per row; fix the checksum afterwards unless the row is about it. */
struct mal_row {
	const char *what;
	unsigned off;       /* byte to set */
	uint8_t val;
	size_t buflen;      /* bytes given to the parser */
	bool keep_csum;
	enum net_drop want;
};

static void test_validation_table(void)
{
	static const struct mal_row rows[] = {
		{ "short 19 bytes", 0, 0x45, 19, false, NET_DROP_IP_SHORT },
		{ "empty", 0, 0x45, 0, false, NET_DROP_IP_SHORT },
		{ "version 6", 0, 0x65, 32, false, NET_DROP_IP_VERSION },
		{ "version 0", 0, 0x05, 32, false, NET_DROP_IP_VERSION },
		{ "ihl 4", 0, 0x44, 32, false, NET_DROP_IP_IHL },
		{ "ihl 0", 0, 0x40, 32, false, NET_DROP_IP_IHL },
		{ "ihl 15 > buffer", 0, 0x4f, 32, false, NET_DROP_IP_SHORT },
		{ "total 19 < ihl", 3, 19, 32, false, NET_DROP_IP_LEN },
		{ "total 33 > buffer", 3, 33, 32, false, NET_DROP_IP_LEN },
		{ "total 0x0120 > buffer", 2, 0x01, 32, false, NET_DROP_IP_LEN },
		{ "checksum off by one", 11, 0x82, 32, true, NET_DROP_IP_CSUM },
		{ "MF set", 6, 0x20, 32, false, NET_DROP_FRAGMENT },
		{ "offset 1", 7, 0x01, 32, false, NET_DROP_FRAGMENT },
		{ "offset high bits", 6, 0x1f, 32, false, NET_DROP_FRAGMENT },
		{ "ttl 0", 8, 0, 32, false, NET_DROP_TTL },
		{ "src 0.x", 12, 0, 32, false, NET_DROP_IP_SRC },
		{ "src 127.x", 12, 127, 32, false, NET_DROP_IP_SRC },
		{ "src multicast", 12, 224, 32, false, NET_DROP_IP_SRC },
		{ "src class E", 12, 240, 32, false, NET_DROP_IP_SRC },
		{ "src broadcast", 12, 255, 32, false, NET_DROP_IP_SRC },
		{ "DF alone is fine", 6, 0x40, 32, false, NET_DROP_NONE },
		{ "ttl 1 is fine (RFC 1122)", 8, 1, 32, false, NET_DROP_NONE },
		{ "tos set is fine", 1, 0xb8, 32, false, NET_DROP_NONE },
	};

	for (unsigned i = 0; i < SL_ARRAY_SIZE(rows); i++) {
		uint8_t pkt[32] = { 0 };
		struct net_ipv4_info ii;
		enum net_drop got;

		memcpy(pkt, good_hdr, 20);
		pkt[rows[i].off] = rows[i].val;
		if (!rows[i].keep_csum) {
			uint16_t c;

			pkt[10] = pkt[11] = 0;
			c = net_csum(pkt, 20);
			memcpy(pkt + 10, &c, 2);
		}
		got = net_ipv4_parse(pkt, rows[i].buflen, false, &ii);
		if (got != rows[i].want)
			fprintf(stderr, "\n  row '%s': got %s want %s\n", rows[i].what, net_drop_name(got),
				net_drop_name(rows[i].want));
		CU_ASSERT_EQUAL(got, rows[i].want);
	}
}

static void test_options_skipped_and_offload(void)
{
	/* IHL 6: one 4-byte option (NOP NOP NOP EOL), total 24 + 4 */
	uint8_t pkt[28] = { 0x46, 0, 0, 28, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1,
			    1, 1, 1, 0, 0xde, 0xad, 0xbe, 0xef };
	struct net_ipv4_info ii;
	uint16_t c = net_csum(pkt, 24);

	memcpy(pkt + 10, &c, 2);
	CU_ASSERT_EQUAL(net_ipv4_parse(pkt, sizeof(pkt), false, &ii), NET_DROP_NONE);
	CU_ASSERT_EQUAL(ii.hlen, 24);
	CU_ASSERT_EQUAL(ii.tot_len, 28);
	/* a bad checksum passes when the NIC says it checked (we trust its flag) */
	pkt[10] ^= 1;
	CU_ASSERT_EQUAL(net_ipv4_parse(pkt, sizeof(pkt), false, &ii), NET_DROP_IP_CSUM);
	CU_ASSERT_EQUAL(net_ipv4_parse(pkt, sizeof(pkt), true, &ii), NET_DROP_NONE);
}

static void test_build(void)
{
	/*
	 * 198.18.0.1 -> 198.18.0.2, ICMP, 12 bytes of payload, DF, id 0, TTL 64:
	 * 4500+0020+0000+4000+4001+c612+0001+c612+0002 = 25148 -> 514a -> ~ = aeb5
	 */
	static const uint8_t want[20] = {
		0x45, 0x00, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0xae, 0xb5,
		198, 18, 0, 1, 198, 18, 0, 2,
	};
	uint8_t buf[20];
	uint32_t s, d;

	memcpy(&s, want + 12, 4);
	memcpy(&d, want + 16, 4);
	CU_ASSERT_EQUAL(net_ipv4_build(buf, s, d, NET_IPPROTO_ICMP, 12, 64, true), 20);
	CU_ASSERT_EQUAL(memcmp(buf, want, 20), 0);
	CU_ASSERT_EQUAL(net_ipv4_build(buf, s, d, NET_IPPROTO_ICMP, 12, 64, false), 20);
	CU_ASSERT_EQUAL(buf[10], 0);
	CU_ASSERT_EQUAL(buf[11], 0);
}

/* Random addresses, lengths, TTLs and protocols: the checksum net_ipv4_build
 * computes from the values verifies over the bytes it wrote. */
static void test_build_random(void)
{
	srand(4242);
	for (unsigned n = 0; n < 20000; n++) {
		uint8_t buf[20];
		uint32_t s = (uint32_t)rand() << 16 ^ (uint32_t)rand(), d = (uint32_t)rand() << 16 ^ (uint32_t)rand();
		uint16_t len = (uint16_t)(rand() % (65535 - 20));
		uint8_t ttl = (uint8_t)rand(), proto = (uint8_t)rand();

		net_ipv4_build(buf, s, d, proto, len, ttl, true);
		CU_ASSERT_EQUAL_FATAL(net_csum(buf, sizeof(buf)), 0);
		CU_ASSERT_EQUAL_FATAL(buf[8], ttl);
		CU_ASSERT_EQUAL_FATAL(buf[9], proto);
	}
}

static void test_icmp_echo(void)
{
	/* 08 00 csum 0007 0001 "abcd": 0800+0007+0001+6162+6364 = ccce -> ~ = 3331 */
	static const uint8_t req[12] = { 0x08, 0x00, 0x33, 0x31, 0x00, 0x07, 0x00, 0x01, 'a', 'b', 'c', 'd' };
	/* reply: 0007+0001+6162+6364 = c4ce -> ~ = 3b31 */
	static const uint8_t rep[12] = { 0x00, 0x00, 0x3b, 0x31, 0x00, 0x07, 0x00, 0x01, 'a', 'b', 'c', 'd' };
	uint8_t out[12], bad[12];

	CU_ASSERT_EQUAL(net_icmp_check_echo(req, sizeof(req)), NET_DROP_NONE);
	net_icmp_echo_reply(out, req, sizeof(req));
	CU_ASSERT_EQUAL(memcmp(out, rep, sizeof(rep)), 0);
	CU_ASSERT_EQUAL(net_csum(out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(net_icmp_check_echo(req, 7), NET_DROP_ICMP_SHORT);
	memcpy(bad, req, sizeof(bad));
	bad[11] ^= 0x20;
	CU_ASSERT_EQUAL(net_icmp_check_echo(bad, sizeof(bad)), NET_DROP_ICMP_CSUM);
	/* an echo reply is valid but not something we answer */
	CU_ASSERT_EQUAL(net_icmp_check_echo(rep, sizeof(rep)), NET_DROP_ICMP_TYPE);
	/* code != 0 on a request: not an echo request (checksum fixed up) */
	memcpy(bad, req, sizeof(bad));
	bad[1] = 1;
	bad[2] = 0x33;
	bad[3] = 0x30;
	CU_ASSERT_EQUAL(net_icmp_check_echo(bad, sizeof(bad)), NET_DROP_ICMP_TYPE);
}

static uint32_t ip4(const char *s)
{
	struct sl_addr a;
	uint32_t v;

	CU_ASSERT_FATAL(sl_addr_parse(s, &a, false) == 0);
	memcpy(&v, a.ip, 4);
	return v;
}

static void test_routes(void)
{
	static const struct net_mac mac = { { 0x02, 0, 0, 0, 0, 1 } };
	struct net_if ifp;
	struct sl_addr addr, gw, other, nh, dst6;
	struct sl_prefix p;
	uint32_t hop;

	net_if_init(&ifp, 0, &mac);
	CU_ASSERT_EQUAL(ifp.mtu, 1500);
	CU_ASSERT_EQUAL(net_route4(&ifp, ip4("198.18.0.2"), &hop), SL_ERROR);   /* nothing yet */
	sl_addr_parse("198.18.0.1", &addr, false);
	sl_addr_parse("198.18.0.254", &gw, false);
	sl_addr_parse("198.18.1.1", &other, false);
	CU_ASSERT_EQUAL(net_if_set_ipv4(&ifp, &addr, 33, NULL), SL_ERROR);
	CU_ASSERT_EQUAL(net_if_set_ipv4(&ifp, &addr, 24, &other), SL_ERROR);   /* gw off-link */
	CU_ASSERT_EQUAL(net_if_set_ipv4(&ifp, &addr, 24, &gw), SL_OK);
	CU_ASSERT_EQUAL(ifp.nroutes, 2);

	/* on-link: the destination is its own next hop */
	CU_ASSERT_EQUAL(net_route4(&ifp, ip4("198.18.0.77"), &hop), SL_OK);
	CU_ASSERT_EQUAL(hop, ip4("198.18.0.77"));
	/* off-link: the default gateway */
	CU_ASSERT_EQUAL(net_route4(&ifp, ip4("198.19.5.5"), &hop), SL_OK);
	CU_ASSERT_EQUAL(hop, ip4("198.18.0.254"));

	/* a static route to the backend net via another on-link router, and a longer one */
	sl_prefix_parse("198.18.1.0/24", &p);
	sl_addr_parse("198.18.0.253", &gw, false);
	CU_ASSERT_EQUAL(net_route_add(&ifp, &p, &gw), SL_OK);
	sl_prefix_parse("198.18.1.128/25", &p);
	sl_addr_parse("198.18.0.252", &gw, false);
	CU_ASSERT_EQUAL(net_route_add(&ifp, &p, &gw), SL_OK);
	sl_prefix_parse("198.18.1.10", &p);   /* a host route, on-link (proxy-ARPed) */
	CU_ASSERT_EQUAL(net_route_add(&ifp, &p, NULL), SL_OK);
	sl_prefix_parse("198.18.2.0/24", &p);
	CU_ASSERT_EQUAL(net_route_add(&ifp, &p, &other), SL_ERROR);   /* gw not on-link */

	CU_ASSERT_EQUAL(net_route4(&ifp, ip4("198.18.1.5"), &hop), SL_OK);
	CU_ASSERT_EQUAL(hop, ip4("198.18.0.253"));
	CU_ASSERT_EQUAL(net_route4(&ifp, ip4("198.18.1.200"), &hop), SL_OK);
	CU_ASSERT_EQUAL(hop, ip4("198.18.0.252"));
	CU_ASSERT_EQUAL(net_route4(&ifp, ip4("198.18.1.10"), &hop), SL_OK);
	CU_ASSERT_EQUAL(hop, ip4("198.18.1.10"));
	CU_ASSERT_EQUAL(net_route4(&ifp, ip4("203.0.113.9"), &hop), SL_OK);
	CU_ASSERT_EQUAL(hop, ip4("198.18.0.254"));
	/* the length of the match, for the choice between ports */
	CU_ASSERT_EQUAL(net_route4_len(&ifp, ip4("198.18.1.10")), 32);
	CU_ASSERT_EQUAL(net_route4_len(&ifp, ip4("198.18.1.200")), 25);
	CU_ASSERT_EQUAL(net_route4_len(&ifp, ip4("198.18.1.5")), 24);
	CU_ASSERT_EQUAL(net_route4_len(&ifp, ip4("198.18.0.9")), 24);
	CU_ASSERT_EQUAL(net_route4_len(&ifp, ip4("203.0.113.9")), 0);
	/* sorted longest first */
	for (unsigned i = 1; i < ifp.nroutes; i++)
		CU_ASSERT_TRUE(ifp.routes[i - 1].len >= ifp.routes[i].len);

	/* the sl_addr form; IPv6 has no routes yet */
	sl_addr_parse("198.18.1.5", &other, false);
	CU_ASSERT_EQUAL(net_route_lookup(&ifp, &other, &nh), SL_OK);
	CU_ASSERT_EQUAL(nh.family, SL_AF_INET);
	CU_ASSERT_EQUAL(memcmp(nh.ip, gw.ip, 3), 0);
	CU_ASSERT_EQUAL(nh.ip[3], 253);
	sl_addr_parse("2001:2::1", &dst6, false);
	CU_ASSERT_EQUAL(net_route_lookup(&ifp, &dst6, &nh), SL_ERROR);

	/* without a gateway, off-link has no route */
	net_if_init(&ifp, 0, &mac);
	CU_ASSERT_EQUAL(net_if_set_ipv4(&ifp, &addr, 24, NULL), SL_OK);
	CU_ASSERT_EQUAL(net_route4(&ifp, ip4("198.19.5.5"), &hop), SL_ERROR);
	CU_ASSERT_EQUAL(net_route4_len(&ifp, ip4("198.19.5.5")), -1);

	/* the table is bounded */
	for (unsigned i = 0; i < NET_ROUTE_MAX; i++) {
		char s[32];

		snprintf(s, sizeof(s), "10.%u.0.0/16", i);
		sl_prefix_parse(s, &p);
		CU_ASSERT_EQUAL(net_route_add(&ifp, &p, NULL), i + 1 < NET_ROUTE_MAX ? SL_OK : SL_ERROR);
	}
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "good_header", test_good },
		{ "validation_table", test_validation_table },
		{ "options_and_offload_flag", test_options_skipped_and_offload },
		{ "build_header", test_build },
		{ "build_header_random", test_build_random },
		{ "icmp_echo", test_icmp_echo },
		{ "routes", test_routes },
		{ NULL, NULL },
	};
	test_suite("net_ipv4", cases);
}
