/* dpdk_lcore.c - the per-lcore run-to-completion loop: RX burst, net_input, buffered TX burst, ARP timers. */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dpdk/dpdk_eal.h"
#include "dpdk/dpdk_lcore.h"
#include "net/net_ipv4.h"
#include "util/sl_log.h"
#include "util/sl_status.h"

/* ---- TX: frames are buffered per (lcore, port) and sent in bursts ---- */

/*
 * Hand the buffer to the NIC. tx_burst owns what it took; what it did not
 * take (queue full for now) stays buffered, in order, for the next drain.
 */
static void txq_drain(struct dpdk_lcore_port *lp)
{
	struct dpdk_txq *q = &lp->txq;
	struct dpdk_stats *st = &lp->lc->st;
	uint16_t sent;
	uint64_t bytes = 0;

	if (q->n == 0)
		return;
	for (uint16_t i = 0; i < q->n; i++)
		bytes += rte_pktmbuf_pkt_len(q->m[i]);
	sent = rte_eth_tx_burst(lp->port_id, lp->queue_id, q->m, q->n);
	if (likely(sent == q->n)) {
		st->tx_pkts += sent;
		st->tx_bytes += bytes;
		q->n = 0;
		return;
	}
	for (uint16_t i = sent; i < q->n; i++)
		bytes -= rte_pktmbuf_pkt_len(q->m[i]);
	st->tx_pkts += sent;
	st->tx_bytes += bytes;
	memmove(q->m, q->m + sent, (size_t)(q->n - sent) * sizeof(q->m[0]));
	q->n = (uint16_t)(q->n - sent);
}

/* Queue m for TX; owns m after. A buffer still full after a drain means the NIC is behind: drop. */
static void txq_put(struct dpdk_lcore_port *lp, struct rte_mbuf *m)
{
	struct dpdk_txq *q = &lp->txq;

	if (unlikely(q->n >= DPDK_BURST)) {
		txq_drain(lp);
		if (q->n >= DPDK_TXQ_MAX) {
			lp->lc->st.tx_drop++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	q->m[q->n++] = m;
}

void dpdk_lcore_tx(struct dpdk_lcore_port *lp, struct rte_mbuf *m)
{
	net_stats_tx(lp->nc.stats, rte_pktmbuf_pkt_len(m));
	txq_put(lp, m);
}

/* At stop: one last drain, then free what the NIC would not take. */
static void txq_flush_all(struct dpdk_lcore_port *lp)
{
	txq_drain(lp);
	for (uint16_t i = 0; i < lp->txq.n; i++) {
		lp->lc->st.tx_drop++;
		rte_pktmbuf_free(lp->txq.m[i]);
	}
	lp->txq.n = 0;
}

/* net_tx_ops: a frame for the net layer is an mbuf of this lcore's pool (net_input.h contract). */
static uint8_t *tx_alloc(void *ctx, size_t len, void **hdl)
{
	struct dpdk_lcore_port *lp = ctx;
	struct rte_mbuf *m = dpdk_lcore_mbuf(lp->lc);

	if (unlikely(m == NULL))
		return NULL;
	if (unlikely(len > rte_pktmbuf_tailroom(m))) {   /* no chained TX yet: one segment per frame */
		rte_pktmbuf_free(m);
		return NULL;
	}
	*hdl = m;
	return rte_pktmbuf_mtod(m, uint8_t *);
}

static void tx_send(void *ctx, void *hdl, size_t len)
{
	struct dpdk_lcore_port *lp = ctx;
	struct rte_mbuf *m = hdl;

	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->port = lp->port_id;
	txq_put(lp, m);
}

static const struct net_tx_ops dpdk_tx_ops = {
	.alloc = tx_alloc,
	.send = tx_send,
};

/* ---- neighbour cache callbacks (net_arp.h contract: each packet leaves by send or free) ---- */

static void neigh_solicit(void *ctx, uint32_t ip)
{
	struct dpdk_lcore_port *lp = ctx;

	net_arp_send_request(&lp->nc, ip);   /* the cache counts arp_requests_out */
}

/* A packet that waited for its next hop: its Ethernet header is built, only dst is missing. */
static void neigh_send(void *ctx, void *pkt, const struct net_mac *mac)
{
	struct dpdk_lcore_port *lp = ctx;
	struct rte_mbuf *m = pkt;

	memcpy(rte_pktmbuf_mtod(m, uint8_t *), mac->b, NET_ETH_ALEN);
	net_stats_tx(lp->nc.stats, rte_pktmbuf_pkt_len(m));
	txq_put(lp, m);
}

static void neigh_free(void *ctx, void *pkt)
{
	(void)ctx;
	rte_pktmbuf_free(pkt);
}

/*
 * net_ctx.arp_learned with more than one worker: what this lcore's cache
 * learned goes to every other lcore's cache of the port, so a reply to one
 * lcore's request is heard there whichever queue it reached (the waiting
 * packets leave from the lcore that queued them, when it applies the
 * update). A full ring loses the update for that lcore: counted; its
 * INCOMPLETE entry asks again after retrans_ms.
 */
static void arp_share(void *ctx, const struct net_arp_update *u)
{
	struct dpdk_lcore_port *lp = ctx;
	struct dpdk_lcore *lc = lp->lc;
	struct dpdk_arp_msg msg = { .u = *u, .port = (uint8_t)(lp - lc->ports) };

	for (unsigned w = 0; w < lc->nworkers; w++) {
		if (w == lc->idx)
			continue;
		if (rte_ring_mp_enqueue_elem(lc->peers[w]->arp_in, &msg, sizeof(msg)) != 0)
			lc->st.arp_share_drop++;
	}
}

/* ---- set-up ---- */

struct dpdk_lcore *dpdk_lcore_alloc(struct dpdk_dp *dp, unsigned lcore_id, unsigned idx,
				    char *err, size_t errlen)
{
	int socket = (int)rte_lcore_to_socket_id(lcore_id);
	struct dpdk_lcore *lc;

	if (socket < 0 || socket >= RTE_MAX_NUMA_NODES)
		socket = 0;
	lc = rte_zmalloc_socket("sl_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE, socket);
	if (lc == NULL) {
		dpdk_set_err(err, errlen, "lcore %u: no memory for its context (%zu bytes on socket %d)",
			lcore_id, sizeof(*lc), socket);
		return NULL;
	}
	lc->lcore_id = lcore_id;
	lc->idx = idx;
	lc->socket = socket;
	lc->quit = &dp->quit;
	lc->tsc_per_ms = rte_get_tsc_hz() / 1000;
	if (lc->tsc_per_ms == 0)
		lc->tsc_per_ms = 1;
	lc->st.lcore_id = lcore_id;
	lc->st.tsc_hz = rte_get_tsc_hz();
	return lc;
}

int dpdk_lcore_bind(struct dpdk_dp *dp, struct dpdk_lcore *lc, char *err, size_t errlen)
{
	struct net_arp_cfg acfg;

	net_arp_cfg_default(&acfg);
	lc->pool = dp->pools[lc->socket];
	lc->data_at = (uint32_t)(sizeof(struct rte_mbuf) + rte_pktmbuf_priv_size(lc->pool) + RTE_PKTMBUF_HEADROOM);
	for (unsigned i = 0; i < dp->nports; i++) {
		struct dpdk_lcore_port *lp = &lc->ports[i];
		struct net_neigh_ops ops = {
			.solicit = neigh_solicit, .send = neigh_send, .free = neigh_free, .ctx = lp,
		};

		lp->lc = lc;
		lp->port = &dp->ports[i];
		lp->port_id = dp->ports[i].info.port_id;
		lp->queue_id = (uint16_t)lc->idx;
		lp->arp_tab = rte_zmalloc_socket("sl_arp", DPDK_ARP_ENTRIES * sizeof(struct net_arp_entry),
						 RTE_CACHE_LINE_SIZE, lc->socket);
		if (lp->arp_tab == NULL) {
			dpdk_set_err(err, errlen, "lcore %u: no memory for the ARP cache of port %u", lc->lcore_id,
				lp->port_id);
			return SL_ERROR;
		}
		if (net_arp_cache_init(&lp->arp, lp->arp_tab, DPDK_ARP_ENTRIES, &acfg, &ops, &lc->st.net) !=
		    SL_OK) {
			dpdk_set_err(err, errlen, "lcore %u: ARP cache init failed", lc->lcore_id);
			return SL_ERROR;
		}
		lp->nc.ifp = &dp->ports[i].ifp;
		lp->nc.arp = &lp->arp;
		lp->nc.stats = &lc->st.net;
		lp->nc.tx = &dpdk_tx_ops;
		lp->nc.tx_ctx = lp;
		lc->nports = i + 1;
	}
	return SL_OK;
}

/*
 * Workers whose lcores EAL put on a common CPU (--lcores=1@1,2@1: more
 * workers than cores, as on a small test VM) would each spin through their
 * time slice while the other holds the frames handed to it: a hand-over
 * would wait for the scheduler. Those yield the CPU on an iteration that
 * found nothing to do. One worker per core, the production layout, never
 * makes this syscall.
 */
static void share_cpus(struct dpdk_dp *dp)
{
	for (unsigned a = 0; a < dp->nworkers; a++) {
		rte_cpuset_t ca = rte_lcore_cpuset(dp->lcores[a]->lcore_id);

		for (unsigned b = 0; b < dp->nworkers; b++) {
			rte_cpuset_t cb = rte_lcore_cpuset(dp->lcores[b]->lcore_id), both;

			if (a == b)
				continue;
			CPU_AND(&both, &ca, &cb);
			if (CPU_COUNT(&both) == 0)
				continue;
			dp->lcores[a]->yield_idle = true;
			if (a < b)
				sl_info("dpdk: workers %u and %u (lcores %u, %u) share a CPU: an idle iteration "
					"yields it", a, b, dp->lcores[a]->lcore_id, dp->lcores[b]->lcore_id);
		}
	}
}

int dpdk_lcore_link(struct dpdk_dp *dp, char *err, size_t errlen)
{
	char name[RTE_RING_NAMESIZE];

	if (dp->nworkers < 2)
		return SL_OK;
	/* each lcore makes (and frees) the rings it consumes, on its own node */
	for (unsigned to = 0; to < dp->nworkers; to++) {
		struct dpdk_lcore *lc = dp->lcores[to];

		lc->nworkers = dp->nworkers;
		lc->peers = (struct dpdk_lcore *const *)dp->lcores;
		lc->ho_out = rte_zmalloc_socket("sl_ho_out", dp->nworkers * sizeof(*lc->ho_out),
						RTE_CACHE_LINE_SIZE, lc->socket);
		snprintf(name, sizeof(name), "sl_arp_%u", to);
		lc->arp_in = rte_ring_create_elem(name, sizeof(struct dpdk_arp_msg), DPDK_ARP_RING, lc->socket,
						  RING_F_SC_DEQ);
		if (lc->ho_out == NULL || lc->arp_in == NULL)
			goto nomem;
		for (unsigned from = 0; from < dp->nworkers; from++) {
			if (from == to)
				continue;
			snprintf(name, sizeof(name), "sl_ho_%u_%u", from, to);
			lc->ho_in[from] = rte_ring_create(name, DPDK_HO_RING, lc->socket,
							  RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (lc->ho_in[from] == NULL)
				goto nomem;
		}
	}
	for (unsigned from = 0; from < dp->nworkers; from++)
		for (unsigned to = 0; to < dp->nworkers; to++)
			dp->lcores[from]->ho_out[to].ring = dp->lcores[to]->ho_in[from];
	for (unsigned w = 0; w < dp->nworkers; w++)
		for (unsigned i = 0; i < dp->lcores[w]->nports; i++)
			dp->lcores[w]->ports[i].nc.arp_learned = arp_share;
	share_cpus(dp);
	return SL_OK;
nomem:
	dpdk_set_err(err, errlen, "dpdk: no memory for the hand-over rings of %u workers (%u frames each, "
		"%u ARP updates): %s; give EAL more memory (-m)", dp->nworkers, DPDK_HO_RING, DPDK_ARP_RING,
		rte_strerror(rte_errno));
	return SL_ERROR;
}

void dpdk_lcore_stash_fill(struct dpdk_lcore *lc)
{
	unsigned n = DPDK_ALLOC_STASH;

	/* the whole burst, else what the pool has left, one at a time at worst */
	while (n > 0 && rte_mempool_get_bulk(lc->pool, (void **)lc->stash, n) != 0)
		n /= 2;
	lc->stash_next = 0;
	lc->stash_n = (uint16_t)n;
	for (unsigned k = 0; k < n; k++)
		__rte_mbuf_raw_sanity_check(lc->stash[k]);
	for (unsigned k = 0; k < n && k < DPDK_ALLOC_AHEAD; k++)
		dpdk_lcore_mbuf_prefetch(lc, lc->stash[k]);
}

void dpdk_lcore_stash_return(struct dpdk_lcore *lc)
{
	if (lc->stash_next < lc->stash_n)
		rte_mempool_put_bulk(lc->pool, (void **)&lc->stash[lc->stash_next],
				     (unsigned)(lc->stash_n - lc->stash_next));
	lc->stash_next = lc->stash_n = 0;
}

void dpdk_lcore_free(struct dpdk_lcore *lc)
{
	if (lc == NULL)
		return;
	dpdk_lcore_stash_return(lc);
	/* frames still on their way between lcores: ours to free now */
	for (unsigned w = 0; w < DPDK_WORKER_MAX; w++) {
		struct rte_mbuf *m;

		if (lc->ho_in[w] == NULL)
			continue;
		while (rte_ring_sc_dequeue(lc->ho_in[w], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(lc->ho_in[w]);
	}
	for (unsigned w = 0; lc->ho_out != NULL && w < lc->nworkers; w++)
		for (uint16_t k = 0; k < lc->ho_out[w].n; k++)
			rte_pktmbuf_free(lc->ho_out[w].m[k]);
	rte_free(lc->ho_out);
	rte_ring_free(lc->arp_in);
	for (unsigned i = 0; i < lc->nports; i++) {
		struct dpdk_lcore_port *lp = &lc->ports[i];

		if (lp->arp_tab != NULL)
			net_arp_flush(&lp->arp);
		txq_flush_all(lp);
		rte_free(lp->arp_tab);
	}
	rte_free(lc);
}

/* ---- the loop ---- */

struct rte_mbuf *dpdk_mbuf_linearise(struct rte_mbuf *m, struct rte_mempool *pool)
{
	struct rte_mbuf *n = rte_pktmbuf_alloc(pool);
	uint32_t len = rte_pktmbuf_pkt_len(m);
	const void *src;
	uint8_t *dst;

	if (n == NULL || len > rte_pktmbuf_tailroom(n)) {
		rte_pktmbuf_free(n);
		rte_pktmbuf_free(m);
		return NULL;
	}
	dst = rte_pktmbuf_mtod(n, uint8_t *);
	src = rte_pktmbuf_read(m, 0, len, dst);
	if (src != dst)
		memcpy(dst, src, len);
	n->data_len = (uint16_t)len;
	n->pkt_len = len;
	n->port = m->port;
	n->ol_flags = m->ol_flags;   /* the RX checksum verdicts still hold for the same bytes */
	n->hash = m->hash;
	rte_pktmbuf_free(m);
	return n;
}

/* ---- receive prefetch ---- */

/*
 * Frames arrive cold: written by the NIC (DMA into the last-level cache
 * at best) or, on ring and af_packet ports, by another core. The first
 * reader waits for every line, and it was the checksum: 86% of its samples
 * sat on its first load in bench_dpdk_capacity. So, as l3fwd does, the
 * burst's mbuf headers are fetched first, then each frame's bytes a few
 * frames ahead of the one being handled, every line of it (a 1 KB DATA
 * segment is 17 lines, which the checksum reads end to end anyway).
 */
#define RX_PREFETCH_AHEAD 3
#define RX_PREFETCH_MAX   2048   /* bytes of one frame fetched ahead */

static inline void rx_prefetch_frame(const struct rte_mbuf *m)
{
	const char *p = rte_pktmbuf_mtod(m, const char *);
	uint32_t len = RTE_MIN((uint32_t)rte_pktmbuf_data_len(m), (uint32_t)RX_PREFETCH_MAX);

	for (uint32_t off = 0; off < len; off += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(p + off);
}

static inline void rx_prefetch_burst(struct rte_mbuf *const *pkts, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		rte_prefetch0(pkts[k]);
	for (unsigned k = 0; k < n && k < RX_PREFETCH_AHEAD; k++)
		rx_prefetch_frame(pkts[k]);
}

/* While frame k is handled: fetch frame k + RX_PREFETCH_AHEAD. */
static inline void rx_prefetch_next(struct rte_mbuf *const *pkts, unsigned k, unsigned n)
{
	if (k + RX_PREFETCH_AHEAD < n)
		rx_prefetch_frame(pkts[k + RX_PREFETCH_AHEAD]);
}

/*
 * One received frame. Ownership (net_input.h): after NET_RX_DROP or
 * NET_RX_DONE the frame is ours to free at once (replies were built in
 * fresh mbufs); after NET_RX_TCP it must live as long as the TCP layer uses
 * the segment.
 */
static inline void rx_one(struct dpdk_lcore_port *lp, struct rte_mbuf *m)
{
	struct dpdk_stats *st = &lp->lc->st;
	struct net_rx rx;
	enum net_verdict v;

	if (unlikely(m->nb_segs != 1)) {
		/* net_input reads one contiguous frame: a chained one (an indirect
		 * mbuf chain from a peer relaying by reference, a scattered RX) is
		 * copied into one mbuf when it fits, else dropped */
		st->rx_nonlinear++;
		m = dpdk_mbuf_linearise(m, lp->lc->pool);
		if (m == NULL)
			return;
	}
	v = net_input(&lp->nc, rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
		      dpdk_rx_flags(m), &rx);
	if (v == NET_RX_TCP) {
		if (lp->lc->hooks != NULL) {
			/* the transport takes m: tcp_input, then hold/release for what it keeps */
			lp->lc->hooks->tcp_rx(lp->lc, lp, m, &rx);
			return;
		}
		/*
		 * TCP HOOK without a transport (dpdk_pingd, the ring tests): rx.l4 ..
		 * rx.l4 + rx.l4_len is the checksummed segment from rx.src to rx.dst;
		 * nobody takes it, so count and free.
		 */
		st->tcp_unhandled++;
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_free(m);
}

/* ---- flow hand-over between lcores ---- */

/*
 * The worker that owns the flow of frame m: a TCP/IPv4 segment to our
 * address, whose 4-tuple the port's steering maps to a worker (the same
 * function for every lcore, symmetric in the two directions). -1 for the
 * rest (ARP, ICMP, fragments, frames for others, garbage): the lcore that
 * received it handles it, and net_input counts what it drops. Reads only
 * the headers the prefetch brought in; checks nothing net_input checks.
 */
static inline int flow_owner(const struct dpdk_lcore_port *lp, const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m), l3 = NET_ETH_HLEN, ihl;
	struct dpdk_steer_tuple t;
	uint16_t type;
	const uint8_t *ip;

	if (unlikely(len < NET_ETH_HLEN + 4))
		return -1;
	type = (uint16_t)(p[12] << 8 | p[13]);
	if (type == NET_ETHERTYPE_VLAN || type == NET_ETHERTYPE_QINQ) {
		l3 += NET_ETH_VLAN_HLEN;
		type = (uint16_t)(p[16] << 8 | p[17]);
	}
	if (unlikely(type != NET_ETHERTYPE_IPV4 || len < l3 + 20))
		return -1;
	ip = p + l3;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	/* version 4, a header that holds, TCP, neither a fragment nor the first of several */
	if (unlikely((ip[0] >> 4) != 4 || ihl < 20 || len < l3 + ihl + 4 || ip[9] != NET_IPPROTO_TCP ||
		     ((ip[6] & 0x3f) | ip[7]) != 0))
		return -1;
	memcpy(&t.src, ip + 12, 4);
	memcpy(&t.dst, ip + 16, 4);
	if (unlikely(t.dst != lp->port->ifp.ip4))
		return -1;
	t.sport = (uint16_t)(ip[ihl] << 8 | ip[ihl + 1]);
	t.dport = (uint16_t)(ip[ihl + 2] << 8 | ip[ihl + 3]);
	return (int)dpdk_steer_owner(&lp->port->steer, &t);
}

/* Enqueue what waits for worker w; what its ring cannot take is dropped (TCP sends it again). */
static void ho_flush_one(struct dpdk_lcore *lc, struct dpdk_ho_buf *b)
{
	unsigned sent;

	if (b->n == 0)
		return;
	sent = rte_ring_sp_enqueue_burst(b->ring, (void *const *)b->m, b->n, NULL);
	lc->st.ho_out += sent;
	for (unsigned k = sent; k < b->n; k++) {
		lc->st.ho_drop++;
		rte_pktmbuf_free(b->m[k]);
	}
	b->n = 0;
}

static void ho_flush(struct dpdk_lcore *lc)
{
	for (unsigned w = 0; w < lc->nworkers; w++)
		ho_flush_one(lc, &lc->ho_out[w]);
}

/* Frame m, received on lp, belongs to worker w: it goes there with its port. Owns m after. */
static inline void ho_put(struct dpdk_lcore *lc, const struct dpdk_lcore_port *lp, unsigned w,
			  struct rte_mbuf *m)
{
	struct dpdk_ho_buf *b = &lc->ho_out[w];

	m->port = lp->port_id;   /* the ring PMD leaves it unset; the owner needs it */
	if (unlikely(b->n == DPDK_BURST))
		ho_flush_one(lc, b);
	b->m[b->n++] = m;
}

static inline struct dpdk_lcore_port *port_of(struct dpdk_lcore *lc, uint16_t port_id)
{
	for (unsigned i = 0; i < lc->nports; i++)
		if (lc->ports[i].port_id == port_id)
			return &lc->ports[i];
	return NULL;
}

/*
 * What the other lcores handed us: frames of our flows (processed as if
 * our queue had received them), and their ARP learns (applied to our
 * caches, which sends what waited here for those neighbours). A burst per
 * ring per iteration; the rings hold the rest. True when there was any.
 */
static bool ho_drain(struct dpdk_lcore *lc, uint64_t now_ms)
{
	struct rte_mbuf *pkts[DPDK_BURST];
	struct dpdk_arp_msg am[DPDK_BURST];
	bool any = false;
	unsigned n;

	for (unsigned w = 0; w < lc->nworkers; w++) {
		if (lc->ho_in[w] == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst(lc->ho_in[w], (void **)pkts, DPDK_BURST, NULL);
		if (n == 0)
			continue;
		any = true;
		lc->st.ho_in += n;
		rx_prefetch_burst(pkts, n);
		for (unsigned k = 0; k < n; k++) {
			struct dpdk_lcore_port *lp = port_of(lc, pkts[k]->port);

			rx_prefetch_next(pkts, k, n);
			if (unlikely(lp == NULL)) {
				rte_pktmbuf_free(pkts[k]);
				continue;
			}
			lp->nc.now_ms = now_ms;
			rx_one(lp, pkts[k]);
		}
	}
	n = rte_ring_sc_dequeue_burst_elem(lc->arp_in, am, sizeof(am[0]), DPDK_BURST, NULL);
	for (unsigned k = 0; k < n; k++)
		if (am[k].port < lc->nports)
			net_arp_learn_update(&lc->ports[am[k].port].arp, &am[k].u, now_ms);
	return any || n > 0;
}

/* Our address announced on the port (RFC 5227 3): once per port, not once
 * per queue, so worker 0 (the port's queue 0) makes it. */
static void announce(struct dpdk_lcore_port *lp)
{
	if (lp->queue_id == 0 && lp->port->ifp.ip4 != 0)
		net_send_gratuitous(&lp->nc);
}

/* The port's link came up again since we last looked (dpdk_link.c): announce again. */
static void link_announce(struct dpdk_lcore_port *lp)
{
	uint32_t ups;

	if (lp->queue_id != 0)
		return;
	ups = __atomic_load_n(&lp->port->link_ups, __ATOMIC_ACQUIRE);
	if (likely(ups == lp->link_ups_seen))
		return;
	lp->link_ups_seen = ups;
	announce(lp);
}

static void loop_start(struct dpdk_lcore *lc)
{
	uint64_t now_ms = rte_rdtsc() / lc->tsc_per_ms;

	for (unsigned i = 0; i < lc->nports; i++) {
		struct dpdk_lcore_port *lp = &lc->ports[i];

		lp->nc.now_ms = now_ms;
		announce(lp);
		txq_drain(lp);
	}
}

int dpdk_lcore_main(void *arg)
{
	struct dpdk_lcore *lc = arg;
	struct rte_mbuf *pkts[DPDK_BURST];
	const uint64_t arp_tick = lc->tsc_per_ms * DPDK_ARP_TICK_MS;
	uint64_t t0, next_arp;

	sl_info("dpdk: worker %u on lcore %u (socket %d): %u port(s), queue %u", lc->idx, lc->lcore_id,
		lc->socket, lc->nports, lc->idx);
	loop_start(lc);
	t0 = rte_rdtsc();
	next_arp = t0 + arp_tick;
	while (!__atomic_load_n(lc->quit, __ATOMIC_RELAXED)) {
		uint64_t t1, now_ms = t0 / lc->tsc_per_ms;
		bool work = false;

		/* our flows that reached other lcores' queues first: they were received earlier */
		if (lc->nworkers > 1 && ho_drain(lc, now_ms))
			work = true;
		for (unsigned i = 0; i < lc->nports; i++) {
			struct dpdk_lcore_port *lp = &lc->ports[i];
			uint16_t n = rte_eth_rx_burst(lp->port_id, lp->queue_id, pkts, DPDK_BURST);

			if (n == 0)
				continue;
			work = true;
			lp->nc.now_ms = now_ms;   /* one clock read per burst, not per packet */
			rx_prefetch_burst(pkts, n);
			for (uint16_t k = 0; k < n; k++) {
				struct rte_mbuf *m = pkts[k];

				rx_prefetch_next(pkts, k, n);
				lc->st.rx_pkts++;
				lc->st.rx_bytes += rte_pktmbuf_pkt_len(m);
				if (lc->nworkers > 1) {
					int w = flow_owner(lp, m);

					if (w >= 0 && (unsigned)w != lc->idx) {
						ho_put(lc, lp, (unsigned)w, m);
						continue;
					}
				}
				rx_one(lp, m);
			}
		}
		if (lc->nworkers > 1)
			ho_flush(lc);
		/* the transport: TCP and session timers, control ring, deferred session work */
		if (lc->hooks != NULL && lc->hooks->poll(lc, now_ms))
			work = true;
		/* the ARP timer; and a link back up is announced (dpdk_link.c) */
		if (unlikely(t0 >= next_arp)) {
			for (unsigned i = 0; i < lc->nports; i++) {
				lc->ports[i].nc.now_ms = now_ms;
				net_arp_tick(&lc->ports[i].arp, now_ms);
				link_announce(&lc->ports[i]);
			}
			next_arp = t0 + arp_tick;
			work = true;
		}
		/*
		 * Drain every iteration: replies leave within one loop, whatever
		 * the burst size. What a full NIC queue refused stays buffered and
		 * is retried here on the next iteration.
		 */
		for (unsigned i = 0; i < lc->nports; i++) {
			if (lc->ports[i].txq.n != 0) {
				txq_drain(&lc->ports[i]);
				work = true;
			}
		}
		if (unlikely(!work && lc->yield_idle))
			sched_yield();   /* share_cpus: never with one worker per core */
		t1 = rte_rdtsc();
		if (work)
			lc->st.busy_cycles += t1 - t0;
		else
			lc->st.idle_cycles += t1 - t0;
		lc->st.loops++;
		t0 = t1;
	}
	for (unsigned i = 0; i < lc->nports; i++)
		txq_flush_all(&lc->ports[i]);
	dpdk_lcore_stash_return(lc);
	if (lc->nworkers > 1)
		sl_info("dpdk: worker %u on lcore %u stops: rx %" PRIu64 " tx %" PRIu64 ", handed over %" PRIu64
			" to other lcores (%" PRIu64 " dropped: ring full), %" PRIu64 " from them, ARP updates "
			"lost %" PRIu64, lc->idx, lc->lcore_id, lc->st.rx_pkts, lc->st.tx_pkts, lc->st.ho_out,
			lc->st.ho_drop, lc->st.ho_in, lc->st.arp_share_drop);
	else
		sl_info("dpdk: worker %u on lcore %u stops", lc->idx, lc->lcore_id);
	return 0;
}
