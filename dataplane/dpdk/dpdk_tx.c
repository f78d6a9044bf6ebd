/* dpdk_tx.c - one lcore's TCP segments into Ethernet/IPv4 frames: headers in a fresh mbuf, payload copied or chained by reference, checksums, next hop by ARP. */
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dpdk/dpdk_lcore.h"
#include "dpdk/dpdk_tx.h"
#include "net/net_arp.h"
#include "net/net_csum.h"
#include "net/net_eth.h"
#include "net/net_ipv4.h"
#include "util/sl_status.h"

/*
 * Per lcore port: how many mbufs one TCP frame may chain (the header mbuf
 * and held pieces as indirect mbufs), 0 when every piece is copied. A
 * chain needs a device that takes multi-segment frames: one that enabled
 * RTE_ETH_TX_OFFLOAD_MULTI_SEGS (dpdk_port.c), within its segment limit,
 * or net_ring, which hands the mbuf itself to its peer.
 */
void dpdk_tx_setup(struct dpdk_tx *tx, struct dpdk_lcore *lc, const uint64_t *now_ms)
{
	const char *env = getenv("SL_DPDK_COPY");

	tx->lc = lc;
	tx->now_ms = now_ms;
	tx->zero_copy = env == NULL || strcmp(env, "1") != 0;
	for (unsigned i = 0; i < lc->nports && i < DPDK_TX_PORTS; i++) {
		const struct dpdk_port_info *pi = &lc->ports[i].port->info;
		bool chains;
		unsigned segs = TCP_SEG_PIECES + 1;

		tx->segs[i] = 0;
		if (!tx->zero_copy)
			continue;
		/* a device that enabled multi-segment TX (dpdk_port.c); net_ring
		 * passes the mbuf itself to its peer, chains included, without
		 * announcing the offload */
		chains = (pi->caps & DPDK_CAP_TX_MULTI_SEG) || strcmp(pi->driver, "net_ring") == 0;
		if (pi->tx_seg_max != 0 && pi->tx_seg_max < segs)
			segs = pi->tx_seg_max;
		tx->segs[i] = chains && segs >= 2 ? (uint8_t)segs : 0;
	}
}

static struct dpdk_lcore_port *port_for_src(struct dpdk_tx *tx, uint32_t src)
{
	for (unsigned i = 0; i < tx->lc->nports; i++)
		if (tx->lc->ports[i].port->ifp.ip4 == src)
			return &tx->lc->ports[i];
	return NULL;
}

/* The sum of n payload bytes that sit at stream offset off (RFC 1071): a
 * piece at an odd offset pairs its bytes the other way, so its sum is
 * byte-swapped (the sum is independent of byte order otherwise). */
static inline uint32_t piece_sum(const uint8_t *p, uint32_t n, uint32_t off)
{
	uint16_t v = net_csum_fold(net_csum_add(0, p, n));

	return (off & 1) ? (uint16_t)(v << 8 | v >> 8) : v;
}

/* Append n bytes to the chain ending at *last by copy: into its tailroom
 * when it is a direct mbuf with room, else into a new direct mbuf. */
static int chain_copy(struct dpdk_lcore *lc, struct rte_mbuf *m, struct rte_mbuf **last, const uint8_t *p,
		      uint32_t n)
{
	struct rte_mbuf *t = *last;

	if (!RTE_MBUF_DIRECT(t) || rte_pktmbuf_tailroom(t) < n) {
		t = dpdk_lcore_mbuf(lc);
		if (t == NULL || rte_pktmbuf_tailroom(t) < n) {
			rte_pktmbuf_free(t);
			return SL_ERROR;
		}
		(*last)->next = t;
		*last = t;
		m->nb_segs++;
	}
	memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len), p, n);
	t->data_len = (uint16_t)(t->data_len + n);
	return SL_OK;
}

/* Append a held piece as an indirect mbuf on its owner's buffer; false
 * when that cannot be done (the caller copies). */
static bool chain_ref(struct dpdk_lcore *lc, struct rte_mbuf *m, struct rte_mbuf **last, struct rte_mbuf *owner,
		      const uint8_t *p, uint32_t n)
{
	const uint8_t *base = owner->buf_addr;
	struct rte_mbuf *mi;

	if (p < base || p + n > base + owner->buf_len)
		return false;
	mi = dpdk_lcore_mbuf(lc);
	if (mi == NULL)
		return false;
	rte_pktmbuf_attach(mi, owner);    /* takes a reference on the direct buffer */
	mi->data_off = (uint16_t)(p - base);
	mi->data_len = (uint16_t)n;
	mi->pkt_len = n;
	(*last)->next = mi;
	*last = mi;
	m->nb_segs++;
	return true;
}

/*
 * One segment into one frame: Ethernet, IPv4 and TCP headers in a fresh
 * mbuf with the copied pieces after them; held pieces (tcp_send_ref, rx
 * mbufs) chained as indirect mbufs when the port takes chains and the
 * device's segment limit allows, copied otherwise. The TCP checksum is
 * offloaded when the port can, else summed here across the pieces.
 */
static void tcp_out(void *ctx, const struct tcp_seg_out *s)
{
	static const struct net_mac zero_mac;
	struct dpdk_tx *tx = ctx;
	const struct tcp_tuple *t = s->tuple;
	struct dpdk_lcore_port *lp;
	const struct net_if *ifp;
	struct rte_mbuf *m, *last;
	struct net_mac mac;
	uint32_t src, dst, nh, thl, l4len, sum, at;
	size_t l2, total, hdr;
	uint8_t *b, *th;
	uint16_t cs;
	unsigned segs = 0;
	bool ip_off, tcp_off, chain = false;

	if (t->family != SL_AF_INET)
		return;
	memcpy(&src, t->laddr, 4);
	memcpy(&dst, t->raddr, 4);
	lp = port_for_src(tx, src);
	if (lp == NULL)
		return;
	ifp = &lp->port->ifp;
	if (net_route4(ifp, dst, &nh) != SL_OK) {
		net_stats_drop(lp->nc.stats, NET_DROP_NOT_FOR_US);
		return;
	}
	m = dpdk_lcore_mbuf(tx->lc);
	if (m == NULL) {
		net_stats_drop(lp->nc.stats, NET_DROP_TX_NOBUF);
		return;
	}
	b = rte_pktmbuf_mtod(m, uint8_t *);
	thl = TCP_HDR_LEN + s->optlen;
	l4len = thl + s->len;
	l2 = net_eth_build(b, &zero_mac, &ifp->mac, NET_ETHERTYPE_IPV4, ifp->vlan_id);
	hdr = l2 + NET_IPV4_HLEN + thl;
	total = hdr + s->len;
	if ((size_t)(lp - tx->lc->ports) < DPDK_TX_PORTS)
		segs = tx->segs[lp - tx->lc->ports];
	/* chained only at or above the minimum frame: a chain is never padded */
	if (segs > 1 && total >= NET_ETH_MIN_FRAME)
		for (unsigned k = 0; k < s->npieces && !chain; k++)
			chain = s->owner[k] != NULL;
	if (!chain && (total < NET_ETH_MIN_FRAME ? NET_ETH_MIN_FRAME > rte_pktmbuf_tailroom(m)
						 : total > rte_pktmbuf_tailroom(m))) {
		net_stats_drop(lp->nc.stats, NET_DROP_TX_NOBUF);
		rte_pktmbuf_free(m);
		return;
	}
	ip_off = (lp->port->info.caps & DPDK_CAP_TX_IP_CSUM) != 0;
	tcp_off = (lp->port->info.caps & DPDK_CAP_TX_TCP_CSUM) != 0;
	net_ipv4_build(b + l2, src, dst, NET_IPPROTO_TCP, (uint16_t)l4len, NET_IPV4_DEFAULT_TTL, !ip_off);
	th = b + l2 + NET_IPV4_HLEN;
	tcp_build_header(s, th);
	/*
	 * Summed from the segment's own header fields and the pieces where they
	 * lie (in cache: just queued or just received), never read back from
	 * the fresh mbuf, which is written only.
	 */
	sum = net_csum_pseudo4(src, dst, NET_IPPROTO_TCP, (uint16_t)l4len);
	if (!tcp_off)
		sum += tcp_header_sum(s);
	if (!chain) {
		at = 0;
		for (unsigned k = 0; k < s->npieces; at += s->dlen[k], k++) {
			if (!tcp_off)
				sum += piece_sum(s->data[k], s->dlen[k], at);   /* thl is a multiple of 4 */
			memcpy(th + thl + at, s->data[k], s->dlen[k]);
		}
		total = net_eth_pad(b, total);
		m->data_len = (uint16_t)total;
	} else {
		m->data_len = (uint16_t)hdr;
		last = m;
		at = 0;
		for (unsigned k = 0; k < s->npieces; at += s->dlen[k], k++) {
			struct rte_mbuf *own = s->owner[k];

			/* a reference leaves room for one more mbuf unless it is the
			 * last piece: copies after it then fit one fresh mbuf (a
			 * segment's payload is at most an MSS), never past segs */
			unsigned need = k + 1 == s->npieces ? 1 : 2;

			if (!tcp_off)
				sum += piece_sum(s->data[k], s->dlen[k], at);
			if (own != NULL && m->nb_segs + need <= segs &&
			    chain_ref(tx->lc, m, &last, own, s->data[k], s->dlen[k]))
				continue;
			if (chain_copy(tx->lc, m, &last, s->data[k], s->dlen[k]) != SL_OK) {
				net_stats_drop(lp->nc.stats, NET_DROP_TX_NOBUF);
				rte_pktmbuf_free(m);
				return;
			}
		}
		if (m->nb_segs > segs) {
			/* cannot happen by the rule above; were it to, drop: TCP sends again */
			net_stats_drop(lp->nc.stats, NET_DROP_TX_NOBUF);
			rte_pktmbuf_free(m);
			return;
		}
	}
	/* the NIC sums header and payload; it wants the pseudo-header sum in place */
	cs = tcp_off ? (uint16_t)net_csum_fold(sum) : net_csum_finish(sum);
	if (tcp_off)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
	memcpy(th + 16, &cs, sizeof(cs));
	if (ip_off)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	m->l2_len = l2;
	m->l3_len = NET_IPV4_HLEN;
	m->l4_len = thl;
	m->pkt_len = (uint32_t)total;
	m->port = lp->port_id;
	switch (net_arp_resolve(&lp->arp, nh, m, &mac, *tx->now_ms)) {
	case NET_ARP_HIT:
		memcpy(b, mac.b, NET_ETH_ALEN);
		dpdk_lcore_tx(lp, m);
		break;
	case NET_ARP_QUEUED:
		break;   /* the cache sends it (neigh_send fills the MAC) or frees it */
	default:
		rte_pktmbuf_free(m);   /* counted by the cache */
		break;
	}
}

void dpdk_tx_mbuf_hold(void *ctx, void *owner)
{
	(void)ctx;
	rte_mbuf_refcnt_update(owner, 1);
}

void dpdk_tx_mbuf_release(void *ctx, void *owner)
{
	(void)ctx;
	rte_pktmbuf_free(owner);
}

const struct tcp_stack_ops dpdk_tx_tcp_ops = {
	.output = tcp_out,
	.hold = dpdk_tx_mbuf_hold,
	.release = dpdk_tx_mbuf_release,
};

