/* test_dpdk_ring.c - our loop on one of two ring ethdevs joined in memory, the test as the peer on the other. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dpdk/dpdk.h"
#include "dpdk/dpdk_port.h"
#include "net/net_stats.h"
#include "ring_pair.h"
#include "test.h"
#include "util/sl_addr.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

#define PEER_POOL_N 1023
#define OUR_MBUFS   8191
#define WAIT_MS     2000

/*
 * Port A (ours) receives what port B (the peer) sends and vice versa: two
 * ethdevs over the same two rings, crossed.
 */
static struct ring_pair rp = { .port_a = -1, .port_b = -1 };
static struct rte_mempool *peer_pool;
static struct dpdk_dp *dp;
static struct net_mac mac_a;
static const struct net_mac mac_peer = { { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02 } };
static const uint8_t ip_us[4] = { 198, 18, 0, 1 };
static const uint8_t ip_peer[4] = { 198, 18, 0, 2 };

/* ---- frames, built here independently of dataplane/net ---- */

static uint16_t csum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t eth(uint8_t *f, const struct net_mac *dst, const struct net_mac *src, uint16_t type)
{
	memcpy(f, dst->b, 6);
	memcpy(f + 6, src->b, 6);
	put16(f + 12, type);
	return 14;
}

static size_t arp(uint8_t *f, uint16_t op, const struct net_mac *sha, const uint8_t *spa,
		  const struct net_mac *tha, const uint8_t *tpa)
{
	put16(f, 1);
	put16(f + 2, 0x0800);
	f[4] = 6;
	f[5] = 4;
	put16(f + 6, op);
	memcpy(f + 8, sha->b, 6);
	memcpy(f + 14, spa, 4);
	memcpy(f + 18, tha->b, 6);
	memcpy(f + 24, tpa, 4);
	return 28;
}

static size_t ipv4(uint8_t *f, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint16_t plen,
		   uint16_t id, uint16_t frag)
{
	memset(f, 0, 20);
	f[0] = 0x45;
	put16(f + 2, (uint16_t)(20 + plen));
	put16(f + 4, id);
	put16(f + 6, frag);
	f[8] = 64;
	f[9] = proto;
	memcpy(f + 12, src, 4);
	memcpy(f + 16, dst, 4);
	put16(f + 10, csum(f, 20, 0));
	return 20;
}

static size_t echo(uint8_t *f, uint8_t type, uint16_t id, uint16_t seq, size_t dlen)
{
	f[0] = type;
	f[1] = 0;
	put16(f + 2, 0);
	put16(f + 4, id);
	put16(f + 6, seq);
	for (size_t i = 0; i < dlen; i++)
		f[8 + i] = (uint8_t)(0x20 + i);
	put16(f + 2, csum(f, 8 + dlen, 0));
	return 8 + dlen;
}

/* ---- the peer on port B ---- */

static void peer_send(const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(peer_pool);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
	if (rte_eth_tx_burst((uint16_t)rp.port_b, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		CU_FAIL("peer tx_burst refused a frame");
	}
}

/* The next frame our loop sent, copied to buf; its length, or -1 after timeout_ms. */
static int peer_recv(uint8_t *buf, size_t cap, unsigned timeout_ms)
{
	uint64_t end = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000 * timeout_ms;
	struct rte_mbuf *m;

	do {
		if (rte_eth_rx_burst((uint16_t)rp.port_b, 0, &m, 1) == 1) {
			int n = (int)rte_pktmbuf_data_len(m);

			if ((size_t)n > cap)
				n = (int)cap;
			memcpy(buf, rte_pktmbuf_mtod(m, uint8_t *), (size_t)n);
			rte_pktmbuf_free(m);
			return n;
		}
		rte_delay_us_sleep(100);
	} while (rte_get_tsc_cycles() < end);
	return -1;
}

static void stats(struct dpdk_stats *st)
{
	CU_ASSERT_EQUAL(dpdk_stats_read(dp, 0, st), SL_OK);
}

/* Wait until the loop has taken n more frames than before (it counts before it answers). */
static bool wait_rx(uint64_t before, uint64_t n)
{
	struct dpdk_stats st;

	for (unsigned i = 0; i < WAIT_MS * 10; i++) {
		dpdk_stats_read(dp, 0, &st);
		if (st.rx_pkts >= before + n)
			return true;
		rte_delay_us_sleep(100);
	}
	return false;
}

/* ---- set-up and tear-down of EAL, the rings, both ports and our dataplane ---- */

static int suite_init(void)
{
	char eal[256], err[512];
	struct dpdk_port_info pi;
	uint16_t nrx = 512, ntx = 512;

	/* a private file prefix: another EAL process (the namespace test) may run beside us */
	snprintf(eal, sizeof(eal), "--no-huge -m 256 --no-pci --no-shconf -l 0-1 --file-prefix=sl_ut_%d "
		 "--log-level=lib.eal:warning --no-telemetry", (int)getpid());
	if (dpdk_eal_init("test_dpdk_ring", eal, 0, NULL, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	peer_pool = rte_pktmbuf_pool_create("sl_ut_peer", PEER_POOL_N, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	if (peer_pool == NULL || ring_pair_open(&rp, "sl_ut", 1, 1024, peer_pool, nrx, ntx) != 0 ||
	    ring_pair_dp(&rp, "198.18.0.1", 24, OUR_MBUFS, &dp) != 0)
		return -1;
	if (dpdk_dp_port_info(dp, 0, &pi) != SL_OK)
		return -1;
	mac_a = pi.mac;
	if (dpdk_dp_launch(dp, err, sizeof(err)) != SL_OK) {
		fprintf(stderr, "dpdk_dp_launch: %s\n", err);
		return -1;
	}
	return 0;
}

/* Runs even when tests failed: nothing of this process outlives it. */
static int suite_clean(void)
{
	dpdk_dp_destroy(dp);
	dp = NULL;
	ring_pair_close(&rp);
	rte_mempool_free(peer_pool);
	dpdk_eal_cleanup();
	return 0;
}

/* ---- tests ---- */

static void port_info(void)
{
	struct dpdk_port_info pi;

	CU_ASSERT_EQUAL(dpdk_dp_nworkers(dp), 1);
	CU_ASSERT_EQUAL(dpdk_dp_nports(dp), 1);
	CU_ASSERT_EQUAL_FATAL(dpdk_dp_port_info(dp, 0, &pi), SL_OK);
	CU_ASSERT_EQUAL(pi.port_id, rp.port_a);
	CU_ASSERT_EQUAL(pi.nb_queues, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(pi.name, "sl_ut_a"));
	/* the ring PMD has no MAC of its own: the port layer gave it a locally administered one */
	CU_ASSERT_FALSE(net_mac_is_zero(&pi.mac));
	CU_ASSERT_FALSE(net_mac_is_mcast(&pi.mac));
	CU_ASSERT_EQUAL(pi.mac.b[0] & 0x02, 0x02);
	CU_ASSERT_EQUAL(pi.caps & DPDK_CAP_RSS, 0);   /* ring PMD: no RSS */
	CU_ASSERT_EQUAL(dpdk_dp_port_info(dp, 1, &pi), SL_ERROR);
}

/* `port NAME` finds the device by its name, `port N` by number; a name EAL
 * does not know, or one device named twice, is refused with what EAL found,
 * before any device is touched (the running loop's port is one of them). */
static void port_by_name(void)
{
	struct dpdk_port_info pi;
	struct cfg_dpdk_port cp;
	struct cfg_dpdk cd;
	struct dpdk_dp *dp2 = NULL;
	uint16_t pid = UINT16_MAX;
	char err[1024];

	CU_ASSERT_EQUAL_FATAL(dpdk_dp_port_info(dp, 0, &pi), SL_OK);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "%s", pi.name);
	CU_ASSERT_EQUAL(dpdk_port_lookup(&cp, &pid, err, sizeof(err)), SL_OK);
	CU_ASSERT_EQUAL(pid, rp.port_a);

	memset(&cp, 0, sizeof(cp));
	cp.id = (unsigned)rp.port_b;
	CU_ASSERT_EQUAL(dpdk_port_lookup(&cp, &pid, err, sizeof(err)), SL_OK);
	CU_ASSERT_EQUAL(pid, rp.port_b);

	snprintf(cp.name, sizeof(cp.name), "net_nosuch0");
	CU_ASSERT_EQUAL(dpdk_port_lookup(&cp, &pid, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "dpdk port net_nosuch0: no DPDK port of that name; EAL found: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, pi.name));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--vdev"));
	snprintf(cp.name, sizeof(cp.name), "0000:03:00.0");
	CU_ASSERT_EQUAL(dpdk_port_lookup(&cp, &pid, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "vfio-pci"));
	memset(&cp, 0, sizeof(cp));
	cp.id = RTE_MAX_ETHPORTS - 1;
	CU_ASSERT_EQUAL(dpdk_port_lookup(&cp, &pid, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no such DPDK port"));

	/* our port by number and by name in one config */
	memset(&cd, 0, sizeof(cd));
	cd.nports = 2;
	cd.mbufs = 1024;
	cd.ports[0].id = (unsigned)rp.port_a;
	snprintf(cd.ports[1].name, sizeof(cd.ports[1].name), "%s", pi.name);
	err[0] = '\0';
	CU_ASSERT_EQUAL(dpdk_dp_create(&dp2, &cd, err, sizeof(err)), SL_ERROR);
	CU_ASSERT_PTR_NULL(dp2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is configured twice"));
	/* nothing was touched: the tests after this one still use the loop */
	CU_ASSERT_EQUAL(dpdk_dp_nports(dp), 1);
}

/* The first thing the loop sends: an announcement of 198.18.0.1 (RFC 5227 3). */
static void gratuitous_arp_at_start(void)
{
	uint8_t got[128], want[60];
	size_t n;
	int len = peer_recv(got, sizeof(got), WAIT_MS);

	memset(want, 0, sizeof(want));
	n = eth(want, &net_mac_bcast, &mac_a, 0x0806);
	arp(want + n, 1, &mac_a, ip_us, &(struct net_mac){ { 0 } }, ip_us);
	CU_ASSERT_EQUAL_FATAL(len, 60);
	CU_ASSERT_EQUAL(memcmp(got, want, 60), 0);
}

static void arp_request_reply(void)
{
	uint8_t req[60], got[128], want[60];
	size_t n;
	int len;
	struct dpdk_stats before, after;

	stats(&before);
	memset(req, 0, sizeof(req));
	n = eth(req, &net_mac_bcast, &mac_peer, 0x0806);
	arp(req + n, 1, &mac_peer, ip_peer, &(struct net_mac){ { 0 } }, ip_us);
	peer_send(req, sizeof(req));
	len = peer_recv(got, sizeof(got), WAIT_MS);

	memset(want, 0, sizeof(want));
	n = eth(want, &mac_peer, &mac_a, 0x0806);
	arp(want + n, 2, &mac_a, ip_us, &mac_peer, ip_peer);
	CU_ASSERT_EQUAL_FATAL(len, 60);
	CU_ASSERT_EQUAL(memcmp(got, want, 60), 0);
	stats(&after);
	CU_ASSERT_EQUAL(after.net.arp_requests_in, before.net.arp_requests_in + 1);
	CU_ASSERT_EQUAL(after.net.arp_replies_out, before.net.arp_replies_out + 1);
	CU_ASSERT_EQUAL(after.rx_pkts, before.rx_pkts + 1);
	CU_ASSERT_EQUAL(after.tx_pkts, before.tx_pkts + 1);
}

static void icmp_echo_reply(void)
{
	uint8_t req[256], got[256], want[256];
	size_t n, dlen = 56;
	int len;
	struct dpdk_stats before, after;

	stats(&before);
	n = eth(req, &mac_a, &mac_peer, 0x0800);
	n += ipv4(req + n, ip_peer, ip_us, 1, (uint16_t)(8 + dlen), 0x1234, 0x4000);
	n += echo(req + n, 8, 0x4242, 7, dlen);
	peer_send(req, n);
	len = peer_recv(got, sizeof(got), WAIT_MS);

	/* our IPv4 header: DF, id 0 (atomic datagram, RFC 6864), TTL 64 */
	n = eth(want, &mac_peer, &mac_a, 0x0800);
	n += ipv4(want + n, ip_us, ip_peer, 1, (uint16_t)(8 + dlen), 0, 0x4000);
	n += echo(want + n, 0, 0x4242, 7, dlen);
	CU_ASSERT_EQUAL_FATAL(len, (int)n);
	CU_ASSERT_EQUAL(memcmp(got, want, n), 0);
	stats(&after);
	CU_ASSERT_EQUAL(after.net.icmp_echo_out, before.net.icmp_echo_out + 1);
	CU_ASSERT_EQUAL(after.tx_bytes, before.tx_bytes + n);
}

/* A burst of echo requests: every one answered, in order. */
static void icmp_echo_burst(void)
{
	uint8_t req[256], got[256];
	size_t n;
	int ok = 0;

	for (uint16_t seq = 0; seq < 100; seq++) {
		n = eth(req, &mac_a, &mac_peer, 0x0800);
		n += ipv4(req + n, ip_peer, ip_us, 1, 8 + 16, seq, 0);
		n += echo(req + n, 8, 0x77, seq, 16);
		peer_send(req, n);
	}
	for (uint16_t seq = 0; seq < 100; seq++) {
		int len = peer_recv(got, sizeof(got), WAIT_MS);

		/* 58 bytes, padded to the 60 of a minimum frame */
		if (len == 60 && got[34] == 0 && got[40] == (seq >> 8) && got[41] == (seq & 0xff))
			ok++;
	}
	CU_ASSERT_EQUAL(ok, 100);
}

/* Garbage: each frame dropped with its own reason, nothing sent back. */
static void garbage_dropped(void)
{
	struct dpdk_stats before, after;
	uint8_t f[128], got[128];
	size_t n;
	const struct net_mac other = { { 0x02, 0, 0, 0, 0, 0x99 } };

	stats(&before);
	memset(f, 0xab, sizeof(f));
	peer_send(f, 10);                                   /* runt */

	memset(f, 0, sizeof(f));
	n = eth(f, &mac_a, &mac_peer, 0x88b5);              /* local experimental ethertype */
	peer_send(f, 60);

	n = eth(f, &mac_a, &mac_peer, 0x0800);
	n += ipv4(f + n, ip_peer, ip_us, 1, 8 + 8, 1, 0);
	n += echo(f + n, 8, 1, 1, 8);
	f[24] ^= 0xff;                                      /* IPv4 header checksum */
	peer_send(f, n);

	n = eth(f, &mac_a, &mac_peer, 0x0800);
	n += ipv4(f + n, ip_peer, ip_us, 17, 8, 1, 0);      /* UDP: not spoken */
	memset(f + n, 0, 8);
	peer_send(f, n + 8 < 60 ? 60 : n + 8);

	n = eth(f, &other, &mac_peer, 0x0800);              /* someone else's unicast */
	n += ipv4(f + n, ip_peer, ip_us, 1, 8 + 8, 1, 0);
	n += echo(f + n, 8, 1, 1, 8);
	peer_send(f, n);

	n = eth(f, &mac_a, &mac_peer, 0x0800);              /* fragment */
	n += ipv4(f + n, ip_peer, ip_us, 1, 8 + 8, 1, 0x2000);
	n += echo(f + n, 8, 1, 1, 8);
	peer_send(f, n);

	n = eth(f, &mac_a, &mac_peer, 0x0800);              /* bad ICMP checksum */
	n += ipv4(f + n, ip_peer, ip_us, 1, 8 + 8, 1, 0);
	n += echo(f + n, 8, 1, 1, 8);
	f[n - 1] ^= 0x01;
	peer_send(f, n);

	CU_ASSERT_TRUE_FATAL(wait_rx(before.rx_pkts, 7));
	CU_ASSERT_EQUAL(peer_recv(got, sizeof(got), 100), -1);
	stats(&after);
	CU_ASSERT_EQUAL(after.net.drop[NET_DROP_ETH_SHORT] - before.net.drop[NET_DROP_ETH_SHORT], 1);
	CU_ASSERT_EQUAL(after.net.drop[NET_DROP_ETHERTYPE] - before.net.drop[NET_DROP_ETHERTYPE], 1);
	CU_ASSERT_EQUAL(after.net.drop[NET_DROP_IP_CSUM] - before.net.drop[NET_DROP_IP_CSUM], 1);
	CU_ASSERT_EQUAL(after.net.drop[NET_DROP_PROTO] - before.net.drop[NET_DROP_PROTO], 1);
	CU_ASSERT_EQUAL(after.net.drop[NET_DROP_NOT_FOR_US] - before.net.drop[NET_DROP_NOT_FOR_US], 1);
	CU_ASSERT_EQUAL(after.net.drop[NET_DROP_FRAGMENT] - before.net.drop[NET_DROP_FRAGMENT], 1);
	CU_ASSERT_EQUAL(after.net.drop[NET_DROP_ICMP_CSUM] - before.net.drop[NET_DROP_ICMP_CSUM], 1);
	CU_ASSERT_EQUAL(net_stats_drops(&after.net) - net_stats_drops(&before.net), 7);
	CU_ASSERT_EQUAL(after.tx_pkts, before.tx_pkts);
}

/* A good TCP segment reaches the marked TCP hook (counted, freed) and nothing is answered yet. */
static void tcp_reaches_hook(void)
{
	struct dpdk_stats before, after;
	uint8_t f[128], got[128], ph[12];
	size_t n;
	uint8_t *tcp;
	uint32_t sum = 0;

	stats(&before);
	n = eth(f, &mac_a, &mac_peer, 0x0800);
	n += ipv4(f + n, ip_peer, ip_us, 6, 20, 9, 0x4000);
	tcp = f + n;
	memset(tcp, 0, 20);
	put16(tcp, 40000);
	put16(tcp + 2, 25);
	tcp[12] = 5 << 4;
	tcp[13] = 0x02;                                      /* SYN */
	put16(tcp + 14, 65535);
	memcpy(ph, ip_peer, 4);
	memcpy(ph + 4, ip_us, 4);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, 20);
	for (int i = 0; i < 12; i += 2)
		sum += (uint32_t)ph[i] << 8 | ph[i + 1];
	put16(tcp + 16, csum(tcp, 20, sum));
	peer_send(f, 60);
	CU_ASSERT_TRUE_FATAL(wait_rx(before.rx_pkts, 1));
	CU_ASSERT_EQUAL(peer_recv(got, sizeof(got), 100), -1);
	stats(&after);
	CU_ASSERT_EQUAL(after.tcp_unhandled, before.tcp_unhandled + 1);
	CU_ASSERT_EQUAL(after.net.tcp_in, before.net.tcp_in + 1);
	CU_ASSERT_EQUAL(net_stats_drops(&after.net), net_stats_drops(&before.net));
}

/* Last: stop the loop; the cycle counters moved, and every mbuf is back in its pool. */
static void stop_and_account(void)
{
	struct dpdk_stats st, tot;
	struct rte_mempool *ours = rte_mempool_lookup("sl_mbuf_s0");

	dpdk_dp_stop(dp);
	dpdk_dp_stop(dp);   /* idempotent */
	stats(&st);
	dpdk_stats_total(dp, &tot);
	CU_ASSERT(st.loops > 0);
	CU_ASSERT(st.busy_cycles > 0);
	CU_ASSERT(st.idle_cycles > 0);
	CU_ASSERT(st.tsc_hz > 0);
	CU_ASSERT_EQUAL(tot.rx_pkts, st.rx_pkts);
	CU_ASSERT_EQUAL(tot.lcore_id, st.lcore_id);
	CU_ASSERT_EQUAL(st.tx_drop, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ours);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(ours), OUR_MBUFS);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(peer_pool), PEER_POOL_N);
	printf("\n  worker: rx %lu tx %lu drops %lu tcp %lu, loops %lu, busy %lu idle %lu cycles\n",
	       (unsigned long)st.rx_pkts, (unsigned long)st.tx_pkts,
	       (unsigned long)net_stats_drops(&st.net), (unsigned long)st.tcp_unhandled,
	       (unsigned long)st.loops, (unsigned long)st.busy_cycles, (unsigned long)st.idle_cycles);
}

void register_tests(void)
{
	static const struct test_case cases[] = {
		{ "port_info", port_info },
		{ "port_by_name", port_by_name },
		{ "gratuitous_arp_at_start", gratuitous_arp_at_start },
		{ "arp_request_reply", arp_request_reply },
		{ "icmp_echo_reply", icmp_echo_reply },
		{ "icmp_echo_burst", icmp_echo_burst },
		{ "garbage_dropped", garbage_dropped },
		{ "tcp_reaches_hook", tcp_reaches_hook },
		{ "stop_and_account", stop_and_account },
		{ NULL, NULL },
	};
	CU_pSuite s;

	sl_log_set_level(SL_LOG_WARN);
	/* our own suite, not test_suite(): EAL and the ports need an init and a cleanup that always runs */
	s = CU_add_suite("dpdk_ring", suite_init, suite_clean);
	if (s == NULL) {
		fprintf(stderr, "CU_add_suite: %s\n", CU_get_error_msg());
		exit(2);
	}
	for (const struct test_case *c = cases; c->name != NULL; c++)
		if (CU_add_test(s, c->name, c->fn) == NULL)
			exit(2);
}
