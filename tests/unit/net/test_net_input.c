/* test_net_input.c - net_input end to end on crafted frames: ARP answered, echo replied, TCP classified, drops. */
#include <string.h>

#include "net/net_csum.h"
#include "net/net_input.h"
#include "net/net_ipv4.h"
#include "test.h"
#include "util/sl_status.h"

/* Us: 02:00:00:00:00:01 198.18.0.1/24. Peer: 02:00:00:00:00:02 198.18.0.2. */
static const struct net_mac our_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };

#define OUT_MAX 8

static struct {
	uint8_t buf[OUT_MAX][2048];
	size_t len[OUT_MAX];
	unsigned n;
	bool fail_alloc;
} out;

static uint8_t *t_alloc(void *ctx, size_t len, void **hdl)
{
	(void)ctx;
	if (out.fail_alloc || out.n >= OUT_MAX || len > sizeof(out.buf[0]))
		return NULL;
	*hdl = (void *)(uintptr_t)out.n;
	memset(out.buf[out.n], 0xcc, sizeof(out.buf[0]));
	return out.buf[out.n];
}

static void t_send(void *ctx, void *hdl, size_t len)
{
	(void)ctx;
	CU_ASSERT_EQUAL((uintptr_t)hdl, out.n);
	out.len[out.n++] = len;
}

static const struct net_tx_ops t_tx = { t_alloc, t_send };

static struct net_if ifp;
static struct net_arp_entry tab[16];
static struct net_arp_cache arp;
static struct net_stats st;
static struct net_ctx nc;
static unsigned solicits;

static void n_solicit(void *ctx, uint32_t ip)
{
	solicits++;
	CU_ASSERT_EQUAL(net_arp_send_request(ctx, ip), SL_OK);
}

static void n_send(void *ctx, void *pkt, const struct net_mac *mac)
{
	(void)ctx;
	(void)pkt;
	(void)mac;
}

static void n_free(void *ctx, void *pkt)
{
	(void)ctx;
	(void)pkt;
}

static void setup(void)
{
	struct sl_addr a, gw;
	struct net_arp_cfg cfg;
	struct net_neigh_ops ops = { n_solicit, n_send, n_free, &nc };

	memset(&out, 0, sizeof(out));
	memset(&st, 0, sizeof(st));
	solicits = 0;
	net_if_init(&ifp, 0, &our_mac);
	sl_addr_parse("198.18.0.1", &a, false);
	sl_addr_parse("198.18.0.254", &gw, false);
	CU_ASSERT_FATAL(net_if_set_ipv4(&ifp, &a, 24, &gw) == SL_OK);
	net_arp_cfg_default(&cfg);
	CU_ASSERT_FATAL(net_arp_cache_init(&arp, tab, 16, &cfg, &ops, &st) == SL_OK);
	nc = (struct net_ctx){ .ifp = &ifp, .arp = &arp, .stats = &st, .tx = &t_tx, .tx_ctx = NULL,
			       .now_ms = 5000 };
}

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t v[4] = { a, b, c, d };
	uint32_t r;

	memcpy(&r, v, 4);
	return r;
}

/* RFC 826 request from the peer: who has 198.18.0.1? (42 bytes, unpadded) */
static const uint8_t arp_req[42] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x02, 0, 0, 0, 0, 0x02, 198, 18, 0, 2,
	0, 0, 0, 0, 0, 0, 198, 18, 0, 1,
};

static void test_arp_request_answered(void)
{
	/* the reply, unicast to the asker, op 2, our MAC/IP as sender, padded to 60 */
	static const uint8_t want[60] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,
		0x02, 0, 0, 0, 0, 0x02, 198, 18, 0, 2,
	};
	struct net_rx rx;
	const struct net_arp_entry *e;

	setup();
	CU_ASSERT_EQUAL(net_input(&nc, arp_req, sizeof(arp_req), 0, &rx), NET_RX_DONE);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	CU_ASSERT_EQUAL(out.len[0], 60);
	CU_ASSERT_EQUAL(memcmp(out.buf[0], want, 60), 0);
	CU_ASSERT_EQUAL(st.arp_requests_in, 1);
	CU_ASSERT_EQUAL(st.arp_replies_out, 1);
	CU_ASSERT_EQUAL(st.tx_pkts, 1);
	CU_ASSERT_EQUAL(st.tx_bytes, 60);
	CU_ASSERT_EQUAL(st.rx_pkts, 1);
	CU_ASSERT_EQUAL(st.rx_bytes, 42);
	/* the asker is learned, STALE until confirmed */
	e = net_arp_lookup(&arp, ip4(198, 18, 0, 2));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_STALE);
	CU_ASSERT_EQUAL(e->mac.b[5], 0x02);
	/* a padded request gets the same answer */
	{
		uint8_t padded[60] = { 0 };

		memcpy(padded, arp_req, sizeof(arp_req));
		CU_ASSERT_EQUAL(net_input(&nc, padded, sizeof(padded), 0, &rx), NET_RX_DONE);
		CU_ASSERT_EQUAL(out.n, 2);
		CU_ASSERT_EQUAL(memcmp(out.buf[1], want, 60), 0);
	}
	/* no buffer: counted, nothing sent */
	out.fail_alloc = true;
	CU_ASSERT_EQUAL(net_input(&nc, arp_req, sizeof(arp_req), 0, &rx), NET_RX_DONE);
	CU_ASSERT_EQUAL(st.drop[NET_DROP_TX_NOBUF], 1);
	CU_ASSERT_EQUAL(out.n, 2);
}

static void test_arp_other_ignored(void)
{
	uint8_t f[42];
	struct net_rx rx;

	setup();
	memcpy(f, arp_req, sizeof(f));
	f[41] = 99;   /* who has 198.18.0.99? */
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(f), 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_NOT_FOR_US);
	CU_ASSERT_EQUAL(out.n, 0);
	/* and the sender is not learned from someone else's conversation */
	CU_ASSERT_PTR_NULL(net_arp_lookup(&arp, ip4(198, 18, 0, 2)));
	/* someone claiming our address: a conflict, never learned */
	memcpy(f, arp_req, sizeof(f));
	f[31] = 1;
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(f), 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_ARP_CONFLICT);
	CU_ASSERT_EQUAL(out.n, 0);
	/* truncated ARP */
	CU_ASSERT_EQUAL(net_input(&nc, arp_req, 41, 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_ARP_BAD);
	/* an RFC 5227 probe (sender 0.0.0.0) for our address is answered, nothing learned */
	memcpy(f, arp_req, sizeof(f));
	memset(f + 28, 0, 4);
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(f), 0, &rx), NET_RX_DONE);
	CU_ASSERT_EQUAL(out.n, 1);
	CU_ASSERT_EQUAL(arp.used, 0);
}

static void test_arp_resolves_queue(void)
{
	/* reply from the gateway to our request */
	static const uint8_t reply[42] = {
		0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0xfe, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
		0x02, 0, 0, 0, 0, 0xfe, 198, 18, 0, 254,
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,
	};
	static const uint8_t want_req[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,
		0, 0, 0, 0, 0, 0, 198, 18, 0, 254,
	};
	struct net_rx rx;
	struct net_mac m;
	uint32_t nh = 0;
	int pkt;

	setup();
	/* TCP wants to reach a backend off-link: next hop is the gateway, unknown yet */
	CU_ASSERT_EQUAL(net_route4(&ifp, ip4(198, 19, 1, 10), &nh), SL_OK);
	CU_ASSERT_EQUAL(nh, ip4(198, 18, 0, 254));
	CU_ASSERT_EQUAL(net_arp_resolve(&arp, nh, &pkt, &m, nc.now_ms), NET_ARP_QUEUED);
	CU_ASSERT_EQUAL(solicits, 1);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	CU_ASSERT_EQUAL(memcmp(out.buf[0], want_req, sizeof(want_req)), 0);
	CU_ASSERT_EQUAL(net_input(&nc, reply, sizeof(reply), 0, &rx), NET_RX_DONE);
	CU_ASSERT_EQUAL(st.arp_replies_in, 1);
	CU_ASSERT_EQUAL(net_arp_resolve(&arp, nh, NULL, &m, nc.now_ms), NET_ARP_HIT);
	CU_ASSERT_EQUAL(m.b[5], 0xfe);
	CU_ASSERT_EQUAL(net_arp_lookup(&arp, nh)->state, NET_NEIGH_REACHABLE);
	/* gratuitous ARP at start */
	CU_ASSERT_EQUAL(net_send_gratuitous(&nc), SL_OK);
	CU_ASSERT_EQUAL(out.n, 2);
	CU_ASSERT_EQUAL(memcmp(out.buf[1] + 38, out.buf[1] + 28, 4), 0);   /* tpa = spa */
}

/* Echo request 198.18.0.2 -> 198.18.0.1, id 7 seq 1 "abcd" (checksums by hand, see test_net_ipv4.c). */
static const uint8_t echo_req[46] = {
	0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00, 0x40, 0x01, 0xdc, 0x81,
	198, 18, 0, 2, 198, 18, 0, 1,
	0x08, 0x00, 0x33, 0x31, 0x00, 0x07, 0x00, 0x01, 'a', 'b', 'c', 'd',
};

static void test_icmp_echo_reply(void)
{
	/* back to the sender's MAC; DF, id 0, TTL 64; ICMP type 0 with checksum 3b31 */
	static const uint8_t want[60] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
		0x45, 0x00, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0xae, 0xb5,
		198, 18, 0, 1, 198, 18, 0, 2,
		0x00, 0x00, 0x3b, 0x31, 0x00, 0x07, 0x00, 0x01, 'a', 'b', 'c', 'd',
	};
	struct net_rx rx;
	uint8_t f[sizeof(echo_req)];

	setup();
	CU_ASSERT_EQUAL(net_input(&nc, echo_req, sizeof(echo_req), 0, &rx), NET_RX_DONE);
	CU_ASSERT_EQUAL_FATAL(out.n, 1);
	CU_ASSERT_EQUAL(out.len[0], 60);
	CU_ASSERT_EQUAL(memcmp(out.buf[0], want, 60), 0);
	CU_ASSERT_EQUAL(net_csum(out.buf[0] + 14, 20), 0);
	CU_ASSERT_EQUAL(net_csum(out.buf[0] + 34, 12), 0);
	CU_ASSERT_EQUAL(st.icmp_echo_out, 1);
	/* bad ICMP checksum: dropped, no reply */
	memcpy(f, echo_req, sizeof(f));
	f[45] ^= 1;
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(f), 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_ICMP_CSUM);
	/* to the broadcast MAC: not for us (no smurf amplifier) */
	memcpy(f, echo_req, sizeof(f));
	memset(f, 0xff, 6);
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(f), 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_NOT_FOR_US);
	CU_ASSERT_EQUAL(out.n, 1);
	/* a large ping is echoed whole */
	{
		static uint8_t big[14 + 20 + 1400];
		uint16_t c;

		memcpy(big, echo_req, 34);
		big[16] = (20 + 1400) >> 8;
		big[17] = (20 + 1400) & 0xff;
		big[24] = big[25] = 0;
		c = net_csum(big + 14, 20);
		memcpy(big + 24, &c, 2);
		for (unsigned i = 0; i < 1400; i++)
			big[34 + i] = (uint8_t)(i * 7);
		big[34] = 8;
		big[35] = 0;
		big[36] = big[37] = 0;
		c = net_csum(big + 34, 1400);
		memcpy(big + 36, &c, 2);
		CU_ASSERT_EQUAL(net_input(&nc, big, sizeof(big), 0, &rx), NET_RX_DONE);
		CU_ASSERT_EQUAL_FATAL(out.n, 2);
		CU_ASSERT_EQUAL(out.len[1], sizeof(big));
		CU_ASSERT_EQUAL(net_csum(out.buf[1] + 34, 1400), 0);
		CU_ASSERT_EQUAL(memcmp(out.buf[1] + 38, big + 38, 1400 - 4), 0);
	}
}

/*
 * SYN 198.18.0.2:40000 -> 198.18.0.1:25, seq 1, window 65535, no options.
 * IP checksum: 4500+0028+0001+4000+4006+c612+0002+c612+0001 = 25156 -> ~5158 = aea7.
 * TCP checksum: pseudo 18c41 + header 1ec5b = 3789c -> 789f -> ~ = 8760.
 */
static const uint8_t syn[54] = {
	0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0xae, 0xa7,
	198, 18, 0, 2, 198, 18, 0, 1,
	0x9c, 0x40, 0x00, 0x19, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x02, 0xff, 0xff, 0x87, 0x60, 0x00, 0x00,
};

static void test_tcp_classify(void)
{
	struct net_rx rx;
	uint8_t f[60] = { 0 };

	setup();
	CU_ASSERT_EQUAL(net_input(&nc, syn, sizeof(syn), 0, &rx), NET_RX_TCP);
	CU_ASSERT_PTR_EQUAL(rx.l4, syn + 34);
	CU_ASSERT_EQUAL(rx.l4_off, 34);
	CU_ASSERT_EQUAL(rx.l4_len, 20);
	CU_ASSERT_EQUAL(rx.src.family, SL_AF_INET);
	CU_ASSERT_EQUAL(memcmp(rx.src.ip, syn + 26, 4), 0);
	CU_ASSERT_EQUAL(memcmp(rx.dst.ip, syn + 30, 4), 0);
	CU_ASSERT_EQUAL(rx.ttl, 64);
	CU_ASSERT_EQUAL(st.tcp_in, 1);
	CU_ASSERT_EQUAL(out.n, 0);
	/* padded to 60 on the wire: the padding is not payload */
	memcpy(f, syn, sizeof(syn));
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(f), 0, &rx), NET_RX_TCP);
	CU_ASSERT_EQUAL(rx.l4_len, 20);
	/* bad TCP checksum: dropped... */
	f[53] = 1;
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(syn), 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_TCP_CSUM);
	CU_ASSERT_EQUAL(st.drop[NET_DROP_TCP_CSUM], 1);
	/* ...unless the NIC vouched for it */
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(syn), NET_RX_L4_CSUM_GOOD, &rx), NET_RX_TCP);
	/* bad IP checksum, and the IP offload flag */
	memcpy(f, syn, sizeof(syn));
	f[25] ^= 0x10;
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(syn), 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_IP_CSUM);
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(syn), NET_RX_IP_CSUM_GOOD, &rx), NET_RX_TCP);
	/* data offset 4, and 15 (past the segment) */
	memcpy(f, syn, sizeof(syn));
	f[46] = 0x40;
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(syn), NET_RX_L4_CSUM_GOOD, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_TCP_SHORT);
	f[46] = 0xf0;
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(syn), NET_RX_L4_CSUM_GOOD, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_TCP_SHORT);
}

/* Patch syn into f: set byte at off, fix the IP checksum. */
static void ip_variant(uint8_t *f, unsigned off, uint8_t val)
{
	uint16_t c;

	memcpy(f, syn, sizeof(syn));
	f[off] = val;
	f[24] = f[25] = 0;
	c = net_csum(f + 14, 20);
	memcpy(f + 24, &c, 2);
}

static void test_drops(void)
{
	static const struct { const char *what; unsigned off; uint8_t val; enum net_drop want; } rows[] = {
		{ "other MAC", 5, 0x09, NET_DROP_NOT_FOR_US },
		{ "IPv6 ethertype", 12, 0x86, NET_DROP_ETHERTYPE },
		{ "other IP", 33, 9, NET_DROP_NOT_FOR_US },
		{ "IP broadcast", 33, 255, NET_DROP_NOT_FOR_US },
		{ "our own source", 29, 1, NET_DROP_IP_SRC },
		{ "subnet broadcast source", 29, 255, NET_DROP_IP_SRC },
		{ "UDP", 23, 17, NET_DROP_PROTO },
		{ "fragment", 20, 0x20, NET_DROP_FRAGMENT },
		{ "ttl 0", 22, 0, NET_DROP_TTL },
		{ "version 5", 14, 0x55, NET_DROP_IP_VERSION },
		{ "ihl 3", 14, 0x43, NET_DROP_IP_IHL },
		{ "total too long", 17, 0x29, NET_DROP_IP_LEN },
	};
	struct net_rx rx;
	uint8_t f[sizeof(syn)];

	setup();
	for (unsigned i = 0; i < SL_ARRAY_SIZE(rows); i++) {
		enum net_verdict v;

		ip_variant(f, rows[i].off, rows[i].val);
		if (rows[i].off < 14) {   /* Ethernet rows keep the good IP header */
			memcpy(f, syn, sizeof(syn));
			f[rows[i].off] = rows[i].val;
		}
		v = net_input(&nc, f, sizeof(f), 0, &rx);
		if (rx.reason != rows[i].want)
			fprintf(stderr, "\n  row '%s': got %s\n", rows[i].what, net_drop_name(rx.reason));
		CU_ASSERT_EQUAL(v, NET_RX_DROP);
		CU_ASSERT_EQUAL(rx.reason, rows[i].want);
	}
	/* one count per row, and every frame counted in rx */
	CU_ASSERT_EQUAL(net_stats_drops(&st), SL_ARRAY_SIZE(rows));
	CU_ASSERT_EQUAL(st.drop[NET_DROP_FRAGMENT], 1);
	CU_ASSERT_EQUAL(st.drop[NET_DROP_NOT_FOR_US], 3);
	CU_ASSERT_EQUAL(st.rx_pkts, SL_ARRAY_SIZE(rows));
	/* a runt */
	CU_ASSERT_EQUAL(net_input(&nc, syn, 13, 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_ETH_SHORT);
	/* IP header cut by the frame end */
	CU_ASSERT_EQUAL(net_input(&nc, syn, 30, 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_IP_SHORT);
	CU_ASSERT_EQUAL(out.n, 0);
}

static void test_vlan_port(void)
{
	uint8_t f[sizeof(syn) + 4];
	struct net_rx rx;

	setup();
	ifp.vlan_id = 42;
	/* untagged frames do not belong to a tagged port */
	CU_ASSERT_EQUAL(net_input(&nc, syn, sizeof(syn), 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_ETH_VLAN);
	memcpy(f, syn, 12);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = 0x00;
	f[15] = 42;
	memcpy(f + 16, syn + 12, sizeof(syn) - 12);
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(f), 0, &rx), NET_RX_TCP);
	CU_ASSERT_EQUAL(rx.l4_off, 38);
	f[15] = 43;
	CU_ASSERT_EQUAL(net_input(&nc, f, sizeof(f), 0, &rx), NET_RX_DROP);
	CU_ASSERT_EQUAL(rx.reason, NET_DROP_ETH_VLAN);
	/* echo on a tagged port is answered tagged */
	{
		uint8_t e[sizeof(echo_req) + 4];

		memcpy(e, echo_req, 12);
		memcpy(e + 12, f + 12, 4);
		e[15] = 42;
		memcpy(e + 16, echo_req + 12, sizeof(echo_req) - 12);
		CU_ASSERT_EQUAL(net_input(&nc, e, sizeof(e), 0, &rx), NET_RX_DONE);
		CU_ASSERT_EQUAL_FATAL(out.n, 1);
		CU_ASSERT_EQUAL(out.buf[0][12], 0x81);
		CU_ASSERT_EQUAL(out.buf[0][15], 42);
		CU_ASSERT_EQUAL(out.buf[0][16], 0x08);
		CU_ASSERT_EQUAL(net_csum(out.buf[0] + 18, 20), 0);
	}
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "arp_request_answered", test_arp_request_answered },
		{ "arp_other_ignored", test_arp_other_ignored },
		{ "arp_resolves_queue", test_arp_resolves_queue },
		{ "icmp_echo_reply", test_icmp_echo_reply },
		{ "tcp_classify", test_tcp_classify },
		{ "drops", test_drops },
		{ "vlan_port", test_vlan_port },
		{ NULL, NULL },
	};
	test_suite("net_input", cases);
}
