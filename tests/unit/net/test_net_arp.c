/* test_net_arp.c - ARP packets byte by byte (RFC 826, RFC 5227) and the neighbour cache under virtual time. */
#include <string.h>

#include "net/net_arp.h"
#include "net/net_input.h"
#include "net/net_ipv4.h"
#include "test.h"
#include "util/sl_status.h"

static const struct net_mac our_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };
static const struct net_mac peer_mac = { { 0x02, 0, 0, 0, 0, 0x02 } };
static const struct net_mac peer2_mac = { { 0x02, 0, 0, 0, 0, 0x03 } };

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t v[4] = { a, b, c, d };
	uint32_t r;

	memcpy(&r, v, 4);
	return r;
}

static void setup_if(struct net_if *ifp)
{
	struct sl_addr addr;

	net_if_init(ifp, 0, &our_mac);
	sl_addr_parse("198.18.0.1", &addr, false);
	CU_ASSERT_FATAL(net_if_set_ipv4(ifp, &addr, 24, NULL) == SL_OK);
}

static void test_build_request(void)
{
	static const uint8_t want[60] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,
		0, 0, 0, 0, 0, 0, 198, 18, 0, 254,
		/* 18 bytes of padding */
	};
	struct net_if ifp;
	uint8_t buf[64];

	setup_if(&ifp);
	memset(buf, 0xee, sizeof(buf));
	CU_ASSERT_EQUAL(net_arp_build_request(buf, &ifp, ip4(198, 18, 0, 254)), 60);
	CU_ASSERT_EQUAL(memcmp(buf, want, 60), 0);
}

static void test_build_gratuitous_and_vlan(void)
{
	static const uint8_t want[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,
		0, 0, 0, 0, 0, 0, 198, 18, 0, 1,
	};
	struct net_if ifp;
	uint8_t buf[64];

	setup_if(&ifp);
	CU_ASSERT_EQUAL(net_arp_build_gratuitous(buf, &ifp), 60);
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);
	/* tagged port: 81 00 00 07 before the type, still 60 bytes */
	ifp.vlan_id = 7;
	CU_ASSERT_EQUAL(net_arp_build_gratuitous(buf, &ifp), 60);
	CU_ASSERT_EQUAL(memcmp(buf, want, 12), 0);
	CU_ASSERT_EQUAL(buf[12], 0x81);
	CU_ASSERT_EQUAL(buf[13], 0x00);
	CU_ASSERT_EQUAL(buf[14], 0x00);
	CU_ASSERT_EQUAL(buf[15], 0x07);
	CU_ASSERT_EQUAL(memcmp(buf + 16, want + 12, 30), 0);
}

static void test_parse(void)
{
	uint8_t body[28] = {
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
		0x02, 0, 0, 0, 0, 0x02, 198, 18, 0, 2,
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1,
	};
	struct net_arp_info ai;

	CU_ASSERT_EQUAL(net_arp_parse(body, sizeof(body), &ai), NET_DROP_NONE);
	CU_ASSERT_EQUAL(ai.op, NET_ARP_OP_REPLY);
	CU_ASSERT_TRUE(net_mac_equal(ai.sha, &peer_mac));
	CU_ASSERT_TRUE(net_mac_equal(ai.tha, &our_mac));
	CU_ASSERT_EQUAL(ai.spa, ip4(198, 18, 0, 2));
	CU_ASSERT_EQUAL(ai.tpa, ip4(198, 18, 0, 1));
	CU_ASSERT_EQUAL(net_arp_parse(body, 27, &ai), NET_DROP_ARP_BAD);
	/* each fixed field wrong */
	for (unsigned i = 0; i < 8; i++) {
		uint8_t b = body[i];

		body[i] ^= 0x10;
		CU_ASSERT_EQUAL(net_arp_parse(body, sizeof(body), &ai), NET_DROP_ARP_BAD);
		body[i] = b;
	}
	body[7] = 3;   /* RARP request */
	CU_ASSERT_EQUAL(net_arp_parse(body, sizeof(body), &ai), NET_DROP_ARP_BAD);
	body[7] = 1;
	body[8] = 0x01;   /* multicast sender */
	CU_ASSERT_EQUAL(net_arp_parse(body, sizeof(body), &ai), NET_DROP_ARP_BAD);
	memset(body + 8, 0, 6);   /* zero sender */
	CU_ASSERT_EQUAL(net_arp_parse(body, sizeof(body), &ai), NET_DROP_ARP_BAD);
}

/* ---- cache ---- */

#define MAXPKT 64

struct rec {
	unsigned solicits;
	uint32_t last_solicit;
	int sent[MAXPKT];      /* times each packet was sent */
	int freed[MAXPKT];     /* times each packet was freed */
	struct net_mac sent_mac[MAXPKT];
	int order[MAXPKT];
	unsigned norder;
};

static struct rec R;
static int pkts[MAXPKT];   /* the "mbufs": their addresses are the opaque pointers */

static void rec_solicit(void *ctx, uint32_t ip)
{
	(void)ctx;
	R.solicits++;
	R.last_solicit = ip;
}

static void rec_send(void *ctx, void *pkt, const struct net_mac *mac)
{
	int i = (int)((int *)pkt - pkts);

	(void)ctx;
	R.sent[i]++;
	R.sent_mac[i] = *mac;
	R.order[R.norder++] = i;
}

static void rec_free(void *ctx, void *pkt)
{
	(void)ctx;
	R.freed[(int *)pkt - pkts]++;
}

static const struct net_neigh_ops rec_ops = { rec_solicit, rec_send, rec_free, NULL };

static struct net_arp_entry tab[64];
static struct net_arp_cache cache;
static struct net_stats st;

static void cache_setup(uint32_t n, uint8_t qmax)
{
	struct net_arp_cfg cfg;

	memset(&R, 0, sizeof(R));
	memset(&st, 0, sizeof(st));
	net_arp_cfg_default(&cfg);
	cfg.queue_max = qmax;
	CU_ASSERT_FATAL(net_arp_cache_init(&cache, tab, n, &cfg, &rec_ops, &st) == SL_OK);
}

/* Every packet given to the cache left it exactly once. */
static void check_once(int first, int last)
{
	for (int i = first; i < last; i++)
		CU_ASSERT_EQUAL(R.sent[i] + R.freed[i], 1);
}

static void test_init_bounds(void)
{
	struct net_arp_cfg cfg;

	net_arp_cfg_default(&cfg);
	CU_ASSERT_EQUAL(net_arp_cache_init(&cache, tab, 48, &cfg, &rec_ops, &st), SL_ERROR);
	CU_ASSERT_EQUAL(net_arp_cache_init(&cache, tab, 2, &cfg, &rec_ops, &st), SL_ERROR);
	CU_ASSERT_EQUAL(net_arp_cache_init(&cache, NULL, 64, &cfg, &rec_ops, &st), SL_ERROR);
	cfg.queue_max = NET_ARP_QMAX + 1;
	CU_ASSERT_EQUAL(net_arp_cache_init(&cache, tab, 64, &cfg, &rec_ops, &st), SL_ERROR);
	net_arp_cfg_default(&cfg);
	CU_ASSERT_EQUAL(net_arp_cache_init(&cache, tab, 4, &cfg, &rec_ops, &st), SL_OK);
	CU_ASSERT_EQUAL(net_arp_cache_init(&cache, tab, 64, &cfg, &rec_ops, &st), SL_OK);
}

static void test_resolve_queue_bound(void)
{
	uint32_t gw = ip4(198, 18, 0, 254);
	struct net_mac m;
	const struct net_arp_entry *e;

	cache_setup(64, 3);
	/* first miss: entry INCOMPLETE, one request, packet queued */
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, gw, &pkts[0], &m, 1000), NET_ARP_QUEUED);
	CU_ASSERT_EQUAL(R.solicits, 1);
	CU_ASSERT_EQUAL(R.last_solicit, gw);
	CU_ASSERT_EQUAL(st.arp_requests_out, 1);
	e = net_arp_lookup(&cache, gw);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_INCOMPLETE);
	/* more packets wait behind the same request: no new one */
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, gw, &pkts[1], &m, 1001), NET_ARP_QUEUED);
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, gw, &pkts[2], &m, 1002), NET_ARP_QUEUED);
	CU_ASSERT_EQUAL(R.solicits, 1);
	/* the n+1-th is refused, counted, and still the caller's */
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, gw, &pkts[3], &m, 1003), NET_ARP_REFUSED);
	CU_ASSERT_EQUAL(st.drop[NET_DROP_ARP_QUEUE_FULL], 1);
	CU_ASSERT_EQUAL(R.freed[3] + R.sent[3], 0);
	CU_ASSERT_EQUAL(e->qlen, 3);

	/* the reply: REACHABLE, queue sent in order with the MAC, each once */
	net_arp_learn(&cache, gw, &peer_mac, true, true, 1100);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_REACHABLE);
	CU_ASSERT_EQUAL(e->qlen, 0);
	CU_ASSERT_EQUAL(R.norder, 3);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(R.order[i], i);
		CU_ASSERT_TRUE(net_mac_equal(&R.sent_mac[i], &peer_mac));
	}
	check_once(0, 3);
	/* now a hit, no packet taken */
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, gw, &pkts[4], &m, 1200), NET_ARP_HIT);
	CU_ASSERT_TRUE(net_mac_equal(&m, &peer_mac));
	CU_ASSERT_EQUAL(R.sent[4] + R.freed[4], 0);
	/* a second reply does not send anything again */
	net_arp_learn(&cache, gw, &peer_mac, true, true, 1300);
	check_once(0, 3);
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, gw, NULL, &m, 1300), NET_ARP_HIT);
}

/* ---- one lcore's learn, given to another lcore's cache (net_ctx.arp_learned) ---- */

static struct net_arp_update shared[4];
static unsigned nshared;

static void rec_learned(void *ctx, const struct net_arp_update *u)
{
	(void)ctx;
	if (nshared < 4)
		shared[nshared] = *u;
	nshared++;
}

static uint8_t txbuf[128];
static size_t txlen;

static uint8_t *t_alloc(void *ctx, size_t len, void **hdl)
{
	(void)ctx;
	*hdl = txbuf;
	return len <= sizeof(txbuf) ? txbuf : NULL;
}

static void t_send(void *ctx, void *hdl, size_t len)
{
	(void)ctx, (void)hdl;
	txlen = len;
}

static const struct net_tx_ops t_tx = { t_alloc, t_send };

/*
 * Cache `other` (another lcore) has packets waiting for the gateway; the
 * reply reaches `cache` through net_input. The hook hears the learn exactly
 * as net_arp_learn got it; applied to `other`, its queue leaves with the
 * MAC. A request for us is shared too (create: we were its target), a
 * frame about others only as an update (create false), a probe (spa 0) not.
 */
static void test_learn_shared(void)
{
	static struct net_arp_entry tab2[64];
	static struct net_arp_cache other;
	struct net_arp_cfg cfg;
	struct net_if ifp;
	struct net_ctx nc;
	struct net_rx rx;
	struct net_arp_info req = { .op = NET_ARP_OP_REQUEST, .sha = &our_mac, .spa = 0 };
	struct net_if gw_if;
	struct sl_addr a;
	uint8_t f[64];
	uint32_t gw = ip4(198, 18, 0, 254);
	struct net_mac m;
	const struct net_arp_entry *e;

	cache_setup(64, 4);
	net_arp_cfg_default(&cfg);
	CU_ASSERT_FATAL(net_arp_cache_init(&other, tab2, 64, &cfg, &rec_ops, &st) == SL_OK);
	setup_if(&ifp);
	nshared = 0;
	nc = (struct net_ctx){ .ifp = &ifp, .arp = &cache, .stats = &st, .tx = &t_tx, .now_ms = 500,
			       .arp_learned = rec_learned };
	/* the other lcore asked: two packets wait there */
	CU_ASSERT_EQUAL(net_arp_resolve(&other, gw, &pkts[0], &m, 400), NET_ARP_QUEUED);
	CU_ASSERT_EQUAL(net_arp_resolve(&other, gw, &pkts[1], &m, 401), NET_ARP_QUEUED);
	/* the gateway's reply to us, received by this lcore */
	net_if_init(&gw_if, 0, &peer_mac);
	sl_addr_parse("198.18.0.254", &a, false);
	CU_ASSERT_FATAL(net_if_set_ipv4(&gw_if, &a, 24, NULL) == SL_OK);
	memcpy(&req.spa, &ifp.ip4, 4);
	CU_ASSERT_EQUAL(net_arp_build_reply(f, &gw_if, &req), 60);
	CU_ASSERT_EQUAL(net_input(&nc, f, 60, 0, &rx), NET_RX_DONE);
	CU_ASSERT_EQUAL_FATAL(nshared, 1);
	CU_ASSERT_EQUAL(shared[0].ip, gw);
	CU_ASSERT_TRUE(net_mac_equal(&shared[0].mac, &peer_mac));
	CU_ASSERT_EQUAL(shared[0].is_reply, 1);
	CU_ASSERT_EQUAL(shared[0].create, 1);
	/* this lcore never asked: a new entry, STALE (unsolicited, RFC 4861 7.2.3) */
	e = net_arp_lookup(&cache, gw);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_STALE);
	/* nothing left the other cache until it applies the update */
	CU_ASSERT_EQUAL(R.norder, 0);
	net_arp_learn_update(&other, &shared[0], 510);
	CU_ASSERT_EQUAL(R.norder, 2);
	CU_ASSERT_EQUAL(R.order[0], 0);
	CU_ASSERT_EQUAL(R.order[1], 1);
	CU_ASSERT_TRUE(net_mac_equal(&R.sent_mac[1], &peer_mac));
	check_once(0, 2);
	e = net_arp_lookup(&other, gw);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_REACHABLE);
	CU_ASSERT_EQUAL(net_arp_resolve(&other, gw, NULL, &m, 520), NET_ARP_HIT);

	/* a gratuitous announcement of another host: shared as an update only */
	CU_ASSERT_EQUAL(net_arp_build_gratuitous(f, &gw_if), 60);
	CU_ASSERT_EQUAL(net_input(&nc, f, 60, 0, &rx), NET_RX_DROP);   /* not for us */
	CU_ASSERT_EQUAL_FATAL(nshared, 2);
	CU_ASSERT_EQUAL(shared[1].is_reply, 0);
	CU_ASSERT_EQUAL(shared[1].create, 0);
	/* a probe (sender 0.0.0.0) teaches nothing, so nothing is shared */
	gw_if.ip4 = 0;
	memcpy(&req.spa, &ifp.ip4, 4);
	net_arp_build_request(f, &gw_if, ifp.ip4);
	CU_ASSERT_EQUAL(net_input(&nc, f, 60, 0, &rx), NET_RX_DONE);   /* answered */
	CU_ASSERT_EQUAL(nshared, 2);
	CU_ASSERT(txlen > 0);
}

static void test_incomplete_expiry(void)
{
	uint32_t h = ip4(198, 18, 0, 9);
	struct net_mac m;

	cache_setup(64, 4);
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, h, &pkts[0], &m, 0), NET_ARP_QUEUED);
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, h, &pkts[1], &m, 10), NET_ARP_QUEUED);
	/* retransmit every second, 3 requests in all, then give up */
	net_arp_tick(&cache, 999);
	CU_ASSERT_EQUAL(R.solicits, 1);
	net_arp_tick(&cache, 1000);
	CU_ASSERT_EQUAL(R.solicits, 2);
	net_arp_tick(&cache, 1500);
	CU_ASSERT_EQUAL(R.solicits, 2);
	net_arp_tick(&cache, 2000);
	CU_ASSERT_EQUAL(R.solicits, 3);
	CU_ASSERT_EQUAL(R.freed[0] + R.freed[1], 0);
	net_arp_tick(&cache, 3000);
	CU_ASSERT_EQUAL(R.solicits, 3);
	CU_ASSERT_PTR_NULL(net_arp_lookup(&cache, h));
	CU_ASSERT_EQUAL(R.freed[0], 1);
	CU_ASSERT_EQUAL(R.freed[1], 1);
	CU_ASSERT_EQUAL(st.drop[NET_DROP_ARP_TIMEOUT], 2);
	check_once(0, 2);
	CU_ASSERT_EQUAL(cache.used, 0);
	/* a late reply for a forgotten address does not create an entry by itself */
	net_arp_learn(&cache, h, &peer_mac, false, false, 3100);
	CU_ASSERT_PTR_NULL(net_arp_lookup(&cache, h));
	/* later ticks free nothing twice */
	net_arp_tick(&cache, 10000);
	check_once(0, 2);
}

static void test_reachable_stale_expiry(void)
{
	uint32_t h = ip4(198, 18, 0, 2);
	struct net_mac m;
	const struct net_arp_entry *e;

	cache_setup(64, 4);
	/* learned from a request for us: STALE (unconfirmed) */
	net_arp_learn(&cache, h, &peer_mac, false, true, 0);
	e = net_arp_lookup(&cache, h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_STALE);
	/* a STALE hit is used at once and triggers one refresh per retrans interval */
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, h, &pkts[0], &m, 100), NET_ARP_HIT);
	CU_ASSERT_TRUE(net_mac_equal(&m, &peer_mac));
	CU_ASSERT_EQUAL(R.solicits, 1);
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, h, NULL, &m, 500), NET_ARP_HIT);
	CU_ASSERT_EQUAL(R.solicits, 1);
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, h, NULL, &m, 1100), NET_ARP_HIT);
	CU_ASSERT_EQUAL(R.solicits, 2);
	/* the answer confirms it */
	net_arp_learn(&cache, h, &peer_mac, true, true, 1200);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_REACHABLE);
	/* 30 s later: STALE */
	net_arp_tick(&cache, 1200 + 29999);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_REACHABLE);
	net_arp_tick(&cache, 1200 + 30000);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_STALE);
	/* TCP confirmation brings it back without ARP traffic */
	net_arp_confirm(&cache, h, 40000);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_REACHABLE);
	/* nothing heard for reachable + stale: gone */
	net_arp_tick(&cache, 40000 + 30000);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_STALE);
	net_arp_tick(&cache, 40000 + 30000 + 59999);
	CU_ASSERT_PTR_NOT_NULL(net_arp_lookup(&cache, h));
	net_arp_tick(&cache, 40000 + 30000 + 60000);
	CU_ASSERT_PTR_NULL(net_arp_lookup(&cache, h));
	CU_ASSERT_EQUAL(cache.used, 0);
}

static void test_mac_change(void)
{
	uint32_t h = ip4(198, 18, 0, 254);
	struct net_mac m;
	const struct net_arp_entry *e;

	cache_setup(64, 4);
	net_arp_learn(&cache, h, &peer_mac, false, true, 0);
	net_arp_learn(&cache, h, &peer_mac, true, true, 10);
	e = net_arp_lookup(&cache, h);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_REACHABLE);
	/* same MAC in a request: no change of state */
	net_arp_learn(&cache, h, &peer_mac, false, false, 20);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_REACHABLE);
	CU_ASSERT_EQUAL(e->updated, 10);
	/* gratuitous ARP from a failed-over gateway: new MAC, to be verified */
	net_arp_learn(&cache, h, &peer2_mac, false, false, 30);
	CU_ASSERT_EQUAL(e->state, NET_NEIGH_STALE);
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, h, NULL, &m, 40), NET_ARP_HIT);
	CU_ASSERT_TRUE(net_mac_equal(&m, &peer2_mac));
	CU_ASSERT_EQUAL(R.solicits, 1);
}

static void test_table_full(void)
{
	struct net_mac m;
	uint32_t ips[NET_ARP_WAYS + 1];
	int k = 0;

	/* one set of 4 ways: every address lands in it */
	cache_setup(NET_ARP_WAYS, 1);
	for (unsigned i = 0; i < NET_ARP_WAYS + 1; i++)
		ips[i] = ip4(198, 18, 0, (uint8_t)(10 + i));
	for (unsigned i = 0; i < NET_ARP_WAYS; i++)
		CU_ASSERT_EQUAL(net_arp_resolve(&cache, ips[i], &pkts[k++], &m, 0), NET_ARP_QUEUED);
	/* INCOMPLETE entries are never evicted: the fifth is refused */
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, ips[4], &pkts[k], &m, 0), NET_ARP_REFUSED);
	CU_ASSERT_EQUAL(st.drop[NET_DROP_ARP_TABLE_FULL], 1);
	CU_ASSERT_EQUAL(R.sent[k] + R.freed[k], 0);
	/* resolve two; the fifth may now evict the oldest resolved one */
	net_arp_learn(&cache, ips[0], &peer_mac, true, false, 5);
	net_arp_learn(&cache, ips[1], &peer2_mac, true, false, 6);
	CU_ASSERT_EQUAL(net_arp_resolve(&cache, ips[4], &pkts[k], &m, 7), NET_ARP_QUEUED);
	CU_ASSERT_PTR_NULL(net_arp_lookup(&cache, ips[0]));
	CU_ASSERT_PTR_NOT_NULL(net_arp_lookup(&cache, ips[1]));
	k++;
	/* flush on port stop: what still waits is freed, once */
	net_arp_flush(&cache);
	CU_ASSERT_EQUAL(cache.used, 0);
	check_once(0, k);
	CU_ASSERT_EQUAL(R.sent[0], 1);
	CU_ASSERT_EQUAL(R.sent[1], 1);
	CU_ASSERT_EQUAL(R.freed[2], 1);
	CU_ASSERT_EQUAL(R.freed[4], 1);
}

static void test_many_hosts(void)
{
	struct net_mac m, got;
	unsigned hits = 0;

	/* 64 entries, 48 hosts: all fit or are refused cleanly; those present resolve right */
	cache_setup(64, 1);
	for (unsigned i = 0; i < 48; i++) {
		m = peer_mac;
		m.b[5] = (uint8_t)i;
		net_arp_learn(&cache, ip4(198, 18, 1, (uint8_t)i), &m, false, true, i);
	}
	CU_ASSERT_TRUE(cache.used <= 64);
	for (unsigned i = 0; i < 48; i++) {
		const struct net_arp_entry *e = net_arp_lookup(&cache, ip4(198, 18, 1, (uint8_t)i));

		if (e == NULL)
			continue;
		hits++;
		CU_ASSERT_EQUAL(net_arp_resolve(&cache, ip4(198, 18, 1, (uint8_t)i), NULL, &got, 100),
				NET_ARP_HIT);
		CU_ASSERT_EQUAL(got.b[5], i);
	}
	CU_ASSERT_EQUAL(hits, cache.used);
	CU_ASSERT_TRUE(hits >= 32);
}

void register_tests(void)
{
	static const struct test_case pkt_cases[] = {
		{ "build_request", test_build_request },
		{ "build_gratuitous_and_vlan", test_build_gratuitous_and_vlan },
		{ "parse", test_parse },
		{ NULL, NULL },
	};
	static const struct test_case cache_cases[] = {
		{ "init_bounds", test_init_bounds },
		{ "resolve_queue_bound_and_flush_on_reply", test_resolve_queue_bound },
		{ "incomplete_retransmit_and_expiry", test_incomplete_expiry },
		{ "reachable_stale_expiry", test_reachable_stale_expiry },
		{ "mac_change", test_mac_change },
		{ "table_full_and_flush", test_table_full },
		{ "many_hosts", test_many_hosts },
		{ "learn_shared_with_another_cache", test_learn_shared },
		{ NULL, NULL },
	};
	test_suite("net_arp_packets", pkt_cases);
	test_suite("net_arp_cache", cache_cases);
}
