/* test_dpdk_handover.c - two workers on a two-queue ring ethdev: segments reach their flow's owner lcore, ARP learns reach every lcore. */
#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dpdk/dpdk-t.h"
#include "dpdk/dpdk.h"
#include "dpdk/dpdk_lcore.h"
#include "dpdk/dpdk_steer.h"
#include "net/net_arp.h"
#include "net/net_csum.h"
#include "net/net_ipv4.h"
#include "ring_pair.h"
#include "test.h"
#include "util/sl_addr.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

/*
 * Port A (ours, two workers, queue q polled by worker q) and port B (the
 * peer, this thread) over four rings: what B sends on its queue q arrives
 * on A's queue q, as a kernel fan-out (af_packet) would put it there, by a
 * hash that is not ours. A segment whose flow belongs to the other worker
 * must be processed there and only there; an ARP reply that reaches one
 * worker must release the packet another worker queued for that neighbour.
 */
#define NQ          2
#define PEER_POOL_N 1023
#define OUR_MBUFS   8191
#define WAIT_MS     3000

static struct ring_pair rp = { .port_a = -1, .port_b = -1 };
static struct rte_mempool *peer_pool;
static struct dpdk_dp *dp;
static struct net_mac mac_a;
static const struct net_mac mac_peer = { { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02 } };
static const struct net_mac mac_far = { { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x03 } };
static uint32_t ip_us, ip_peer, ip_far;
static struct dpdk_steer steer;   /* what every lcore computes: the symmetric key over NQ queues */

/* ---- the peer ---- */

static void peer_send(uint16_t q, const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(peer_pool);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
	if (rte_eth_tx_burst((uint16_t)rp.port_b, q, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		CU_FAIL("peer tx_burst refused a frame");
	}
}

/* The next frame our workers sent (either queue) matching type, copied to buf; its length or -1. */
static int peer_recv(uint16_t type, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
	uint64_t end = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000 * timeout_ms;
	struct rte_mbuf *m;

	do {
		for (uint16_t q = 0; q < NQ; q++) {
			if (rte_eth_rx_burst((uint16_t)rp.port_b, q, &m, 1) != 1)
				continue;
			int n = (int)rte_pktmbuf_data_len(m);
			const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
			bool want = n >= 14 && (uint16_t)(p[12] << 8 | p[13]) == type;

			if ((size_t)n > cap)
				n = (int)cap;
			memcpy(buf, p, (size_t)n);
			rte_pktmbuf_free(m);
			if (want)
				return n;
		}
		rte_delay_us_sleep(100);
	} while (rte_get_tsc_cycles() < end);
	return -1;
}

/* A SYN from the peer's sport to our port 25, checksummed. */
static size_t syn_frame(uint8_t *f, uint16_t sport)
{
	size_t l2 = net_eth_build(f, &mac_a, &mac_peer, NET_ETHERTYPE_IPV4, 0);
	uint8_t *th = f + l2 + NET_IPV4_HLEN;
	uint16_t cs;

	net_ipv4_build(f + l2, ip_peer, ip_us, NET_IPPROTO_TCP, 20, 64, true);
	memset(th, 0, 20);
	th[0] = (uint8_t)(sport >> 8);
	th[1] = (uint8_t)sport;
	th[3] = 25;
	th[7] = 1;          /* seq 1 */
	th[12] = 5 << 4;    /* data offset */
	th[13] = 0x02;      /* SYN */
	th[14] = 0xff;      /* window */
	cs = net_csum_finish(net_csum_add(net_csum_pseudo4(ip_peer, ip_us, NET_IPPROTO_TCP, 20), th, 20));
	memcpy(th + 16, &cs, 2);
	return net_eth_pad(f, l2 + NET_IPV4_HLEN + 20);
}

/* A source port whose flow (peer -> us:25) the steering gives to worker w. */
static uint16_t sport_owned_by(unsigned w, uint16_t from)
{
	for (uint32_t p = from; p < 65535; p++) {
		struct dpdk_steer_tuple t = { .src = ip_peer, .dst = ip_us, .sport = (uint16_t)p, .dport = 25 };

		if (dpdk_steer_owner(&steer, &t) == w)
			return (uint16_t)p;
	}
	CU_FAIL_FATAL("no source port for that worker");
	return 0;
}

static void stats(unsigned w, struct dpdk_stats *st)
{
	CU_ASSERT_EQUAL_FATAL(dpdk_stats_read(dp, w, st), SL_OK);
}

/*
 * Wait until counter `off` (offsetof in struct dpdk_stats) of worker w
 * reaches want: a worker counts a hand-over just after its enqueue, so the
 * owner may be done with the frame before the sender's count moves.
 */
static bool wait_stat(unsigned w, size_t off, uint64_t want)
{
	struct dpdk_stats st;
	uint64_t v;

	for (unsigned i = 0; i < WAIT_MS; i++) {
		stats(w, &st);
		memcpy(&v, (const char *)&st + off, sizeof(v));
		if (v >= want)
			return true;
		rte_delay_us_sleep(1000);
	}
	return false;
}

#define WAIT_STAT(w, field, want) wait_stat((w), offsetof(struct dpdk_stats, field), (want))

/* Wait until worker w has taken `want` TCP segments (its tcp_unhandled). */
static bool wait_tcp(unsigned w, uint64_t want)
{
	return WAIT_STAT(w, tcp_unhandled, want);
}

/* ---- worker 1's hook: a segment makes it send a frame to ip_far, which waits for ARP ---- */

static uint64_t far_sent;   /* frames worker 1 queued for ip_far (written by worker 1) */

static void hook_tcp_rx(struct dpdk_lcore *lc, struct dpdk_lcore_port *lp, struct rte_mbuf *m,
			const struct net_rx *rx)
{
	struct rte_mbuf *out = rte_pktmbuf_alloc(lc->pool);
	struct net_mac mac;
	uint8_t *b;
	size_t len;

	(void)rx;
	rte_pktmbuf_free(m);
	if (out == NULL)
		return;
	/* an IPv4 frame with no payload: only its destination MAC matters here */
	b = rte_pktmbuf_mtod(out, uint8_t *);
	len = net_eth_build(b, &mac_peer, &lp->port->ifp.mac, NET_ETHERTYPE_IPV4, 0);
	len += net_ipv4_build(b + len, ip_us, ip_far, NET_IPPROTO_ICMP, 0, 64, true);
	len = net_eth_pad(b, len);
	out->data_len = (uint16_t)len;
	out->pkt_len = (uint32_t)len;
	__atomic_add_fetch(&far_sent, 1, __ATOMIC_RELAXED);
	switch (net_arp_resolve(&lp->arp, ip_far, out, &mac, lp->nc.now_ms)) {
	case NET_ARP_HIT:
		memcpy(b, mac.b, NET_ETH_ALEN);
		dpdk_lcore_tx(lp, out);
		break;
	case NET_ARP_QUEUED:
		break;   /* the cache sends it when ip_far is learned */
	default:
		rte_pktmbuf_free(out);
		break;
	}
}

static bool hook_poll(struct dpdk_lcore *lc, uint64_t now_ms)
{
	(void)lc, (void)now_ms;
	return false;
}

static const struct dpdk_hooks test_hooks = { .tcp_rx = hook_tcp_rx, .poll = hook_poll };

/* ---- set-up ---- */

static int suite_init(void)
{
	char eal[256], err[512];
	struct dpdk_port_info pi;
	uint8_t key[40];

	sl_log_set_level(SL_LOG_WARN);
	/* three lcores on two CPUs: the main one (this thread) and two workers sharing CPU 1 */
	snprintf(eal, sizeof(eal), "--no-huge -m 256 --no-pci --no-shconf --lcores=0@0,1@1,2@1 "
		 "--file-prefix=sl_uth_%d --log-level=lib.eal:warning --no-telemetry", (int)getpid());
	if (dpdk_eal_init("test_dpdk_handover", eal, 0, NULL, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	peer_pool = rte_pktmbuf_pool_create("sl_uth_peer", PEER_POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	if (peer_pool == NULL || ring_pair_open(&rp, "sl_uth", NQ, 1024, peer_pool, 256, 256) != 0 ||
	    ring_pair_dp(&rp, "198.18.0.1", 24, OUR_MBUFS, &dp) != 0)
		return -1;
	if (dpdk_dp_nworkers(dp) != NQ || dpdk_dp_port_info(dp, 0, &pi) != SL_OK) {
		fprintf(stderr, "want %d workers, have %u\n", NQ, dpdk_dp_nworkers(dp));
		return -1;
	}
	memcpy(mac_a.b, pi.mac.b, 6);
	memcpy(&ip_us, (const uint8_t[]){ 198, 18, 0, 1 }, 4);
	memcpy(&ip_peer, (const uint8_t[]){ 198, 18, 0, 2 }, 4);
	memcpy(&ip_far, (const uint8_t[]){ 198, 18, 0, 3 }, 4);
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
	if (dpdk_steer_init(&steer, key, sizeof(key), NQ, 0) != SL_OK)
		return -1;
	/* worker 1 answers TCP segments with a frame to ip_far; worker 0 only counts them */
	dp->lcores[1]->hooks = &test_hooks;
	if (dpdk_dp_launch(dp, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "launch: %s\n", err);
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	dpdk_dp_destroy(dp);
	ring_pair_close(&rp);
	rte_mempool_free(peer_pool);
	dpdk_eal_cleanup();
	return 0;
}

/* ---- cases ---- */

/* The port's steering is the function computed here: symmetric key, both directions, every worker. */
static void test_port_steering(void)
{
	for (int i = 0; i < 2000; i++) {
		struct dpdk_steer_tuple in = { .src = ip_peer, .dst = ip_us, .sport = (uint16_t)(1024 + i * 31),
					       .dport = 25 };
		struct dpdk_steer_tuple out = { .src = ip_us, .dst = ip_peer, .sport = 25, .dport = in.sport };
		unsigned w = dpdk_steer_owner(&dp->ports[0].steer, &in);

		CU_ASSERT_EQUAL(w, dpdk_steer_owner(&steer, &in));
		CU_ASSERT_EQUAL(w, dpdk_steer_owner(&dp->ports[0].steer, &out));
		CU_ASSERT(w < NQ);
	}
	CU_ASSERT_EQUAL(dp->ports[0].info.caps & (DPDK_CAP_RSS | DPDK_CAP_RSS_TCP4), 0);
}

/*
 * Worker 0's flow sent to queue 1 and worker 1's flow sent to queue 0:
 * each is handed over once and processed by its owner; a flow sent to its
 * owner's queue is not handed over.
 */
static void test_wrong_queue_handed_over(void)
{
	struct dpdk_stats b0, b1, a0, a1;
	uint8_t f[64];
	size_t len;
	uint16_t p0 = sport_owned_by(0, 20000), p1 = sport_owned_by(1, 20000);

	stats(0, &b0);
	stats(1, &b1);
	/* worker 1's hook answers with a frame to ip_far: answer its ARP requests (on either queue) later */
	len = syn_frame(f, p0);
	peer_send(1, f, len);   /* worker 0's flow, on worker 1's queue */
	CU_ASSERT_FATAL(wait_tcp(0, b0.tcp_unhandled + 1));
	CU_ASSERT(WAIT_STAT(1, ho_out, b1.ho_out + 1));
	stats(0, &a0);
	stats(1, &a1);
	CU_ASSERT_EQUAL(a1.ho_out, b1.ho_out + 1);
	CU_ASSERT_EQUAL(a0.ho_in, b0.ho_in + 1);
	CU_ASSERT_EQUAL(a1.rx_pkts, b1.rx_pkts + 1);   /* received by worker 1 ... */
	CU_ASSERT_EQUAL(a0.rx_pkts, b0.rx_pkts);       /* ... processed by worker 0 */
	CU_ASSERT_EQUAL(a0.net.tcp_in, b0.net.tcp_in + 1);
	CU_ASSERT_EQUAL(a1.net.tcp_in, b1.net.tcp_in);

	stats(0, &b0);
	stats(1, &b1);
	len = syn_frame(f, p0);
	peer_send(0, f, len);   /* worker 0's flow on its own queue: no hand-over */
	CU_ASSERT_FATAL(wait_tcp(0, b0.tcp_unhandled + 1));
	stats(0, &a0);
	stats(1, &a1);
	CU_ASSERT_EQUAL(a0.ho_out, b0.ho_out);
	CU_ASSERT_EQUAL(a0.ho_in, b0.ho_in);
	CU_ASSERT_EQUAL(a1.ho_out, b1.ho_out);

	/* worker 1's flow on worker 0's queue: worker 1 takes it (its hook ran: a frame for ip_far) */
	stats(0, &b0);
	stats(1, &b1);
	len = syn_frame(f, p1);
	peer_send(0, f, len);
	for (unsigned i = 0; i < WAIT_MS && __atomic_load_n(&far_sent, __ATOMIC_RELAXED) == 0; i++)
		rte_delay_us_sleep(1000);
	CU_ASSERT_EQUAL(__atomic_load_n(&far_sent, __ATOMIC_RELAXED), 1);
	CU_ASSERT(WAIT_STAT(0, ho_out, b0.ho_out + 1));
	stats(0, &a0);
	stats(1, &a1);
	CU_ASSERT_EQUAL(a0.ho_out, b0.ho_out + 1);
	CU_ASSERT_EQUAL(a1.ho_in, b1.ho_in + 1);
	CU_ASSERT_EQUAL(a0.tcp_unhandled, b0.tcp_unhandled);
	CU_ASSERT_EQUAL(a0.ho_drop + a1.ho_drop, 0);
}

/*
 * Worker 1 queued a frame for ip_far and asked who has it. The reply goes
 * to worker 0's queue: worker 0 learns it and shares it, worker 1 applies
 * it and its queued frame leaves with ip_far's MAC. Then worker 1 knows
 * ip_far: the next frame leaves at once, without a request.
 */
static void test_arp_reply_on_other_lcore(void)
{
	struct net_if far_if;
	struct net_arp_info req;
	struct sl_addr a;
	uint8_t f[128];
	int n;
	size_t len;

	/* the request worker 1 sent for ip_far when its hook ran (previous case; past the gratuitous ARP) */
	do {
		n = peer_recv(NET_ETHERTYPE_ARP, f, sizeof(f), WAIT_MS);
		CU_ASSERT_FATAL(n >= 14 + NET_ARP_HLEN);
		CU_ASSERT_EQUAL_FATAL(net_arp_parse(f + 14, (size_t)n - 14, &req), NET_DROP_NONE);
	} while (req.tpa != ip_far);
	CU_ASSERT_EQUAL(req.op, NET_ARP_OP_REQUEST);
	CU_ASSERT(net_arp_lookup(&dp->lcores[0]->ports[0].arp, ip_far) == NULL);   /* worker 0 never asked */
	/* ip_far answers, on worker 0's queue */
	net_if_init(&far_if, 0, &mac_far);
	CU_ASSERT_FATAL(sl_addr_parse("198.18.0.3", &a, false) == 0);
	CU_ASSERT_FATAL(net_if_set_ipv4(&far_if, &a, 24, NULL) == SL_OK);
	len = net_arp_build_reply(f, &far_if, &req);
	peer_send(0, f, len);
	/* the frame that waited on worker 1 arrives, addressed to ip_far's MAC */
	n = peer_recv(NET_ETHERTYPE_IPV4, f, sizeof(f), WAIT_MS);
	CU_ASSERT_FATAL(n >= 34);
	CU_ASSERT_EQUAL(memcmp(f, mac_far.b, 6), 0);
	CU_ASSERT_EQUAL(memcmp(f + 30, &ip_far, 4), 0);

	/* worker 1 now resolves ip_far from its cache: one more segment, the frame leaves at once */
	len = syn_frame(f, sport_owned_by(1, 30000));
	peer_send(1, f, len);
	n = peer_recv(NET_ETHERTYPE_IPV4, f, sizeof(f), WAIT_MS);
	CU_ASSERT_FATAL(n >= 34);
	CU_ASSERT_EQUAL(memcmp(f, mac_far.b, 6), 0);
	CU_ASSERT_EQUAL(__atomic_load_n(&far_sent, __ATOMIC_RELAXED), 2);
	{
		struct dpdk_stats s0, s1;

		stats(0, &s0);
		stats(1, &s1);
		CU_ASSERT_EQUAL(s0.arp_share_drop + s1.arp_share_drop, 0);
		CU_ASSERT(s1.net.arp_requests_out >= 1);
		CU_ASSERT_EQUAL(s0.net.arp_requests_out, 0);   /* worker 0 only learned, it never asked */
	}
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "port_steering_symmetric_and_shared", test_port_steering },
		{ "wrong_queue_segment_handed_to_owner", test_wrong_queue_handed_over },
		{ "arp_reply_on_other_lcore_releases_waiting_packet", test_arp_reply_on_other_lcore },
		{ NULL, NULL },
	};
	CU_pSuite s = CU_add_suite("dpdk_handover", suite_init, suite_clean);

	for (const struct test_case *c = cases; s != NULL && c->name != NULL; c++)
		CU_add_test(s, c->name, c->fn);
}
