/* net_input.c - receive path: Ethernet -> ARP / IPv4 -> ICMP echo / TCP, with drop accounting. */
#include <string.h>

#include "net/net_csum.h"
#include "net/net_eth.h"
#include "net/net_icmp.h"
#include "net/net_input.h"
#include "net/net_ipv4.h"
#include "util/sl_status.h"

#define unlikely(x) __builtin_expect(!!(x), 0)
#define likely(x)   __builtin_expect(!!(x), 1)

static int tx_frame(struct net_ctx *nc, size_t cap, size_t (*build)(uint8_t *, void *), void *arg)
{
	void *hdl = NULL;
	uint8_t *buf = nc->tx->alloc(nc->tx_ctx, cap, &hdl);
	size_t n;

	if (buf == NULL) {
		net_stats_drop(nc->stats, NET_DROP_TX_NOBUF);
		return SL_ERROR;
	}
	n = build(buf, arg);
	net_stats_tx(nc->stats, (uint32_t)n);
	nc->tx->send(nc->tx_ctx, hdl, n);
	return SL_OK;
}

struct arp_build_arg {
	const struct net_if *ifp;
	const struct net_arp_info *req;
	uint32_t ip;
};

static size_t build_request(uint8_t *buf, void *arg)
{
	struct arp_build_arg *a = arg;

	return net_arp_build_request(buf, a->ifp, a->ip);
}

static size_t build_reply(uint8_t *buf, void *arg)
{
	struct arp_build_arg *a = arg;

	return net_arp_build_reply(buf, a->ifp, a->req);
}

static size_t build_garp(uint8_t *buf, void *arg)
{
	struct arp_build_arg *a = arg;

	return net_arp_build_gratuitous(buf, a->ifp);
}

int net_arp_send_request(struct net_ctx *nc, uint32_t ip)
{
	struct arp_build_arg a = { .ifp = nc->ifp, .ip = ip };

	return tx_frame(nc, NET_ARP_FRAME_LEN, build_request, &a);
}

int net_send_gratuitous(struct net_ctx *nc)
{
	struct arp_build_arg a = { .ifp = nc->ifp };

	if (nc->ifp->ip4 == 0)
		return SL_ERROR;
	return tx_frame(nc, NET_ARP_FRAME_LEN, build_garp, &a);
}

static enum net_drop arp_input(struct net_ctx *nc, const uint8_t *p, size_t len,
			       enum net_verdict *verdict)
{
	const struct net_if *ifp = nc->ifp;
	struct net_arp_info ai;
	enum net_drop d = net_arp_parse(p, len, &ai);
	bool for_us;

	if (d != NET_DROP_NONE)
		return d;
	if (ifp->ip4 == 0)
		return NET_DROP_NOT_FOR_US;
	if (unlikely(ai.spa == ifp->ip4))
		/* another host claims our address (or our own frame looped back): never learn it */
		return net_mac_equal(ai.sha, &ifp->mac) ? NET_DROP_NOT_FOR_US : NET_DROP_ARP_CONFLICT;
	for_us = ai.tpa == ifp->ip4;
	/* spa 0 is an RFC 5227 probe: nothing to learn, but a request for us is answered */
	if (ai.spa != 0) {
		struct net_arp_update u = {
			.ip = ai.spa, .mac = *ai.sha, .is_reply = for_us && ai.op == NET_ARP_OP_REPLY,
			.create = for_us,
		};

		net_arp_learn_update(nc->arp, &u, nc->now_ms);
		if (nc->arp_learned != NULL)
			nc->arp_learned(nc->tx_ctx, &u);
	}
	if (!for_us)
		return NET_DROP_NOT_FOR_US;
	if (ai.op == NET_ARP_OP_REPLY) {
		nc->stats->arp_replies_in++;
	} else {
		struct arp_build_arg a = { .ifp = ifp, .req = &ai };

		nc->stats->arp_requests_in++;
		if (tx_frame(nc, NET_ARP_FRAME_LEN, build_reply, &a) == SL_OK)
			nc->stats->arp_replies_out++;
	}
	*verdict = NET_RX_DONE;
	return NET_DROP_NONE;
}

struct echo_arg {
	const struct net_if *ifp;
	const struct net_mac *to;
	uint32_t dst;
	const uint8_t *msg;
	size_t len;
};

static size_t build_echo(uint8_t *buf, void *arg)
{
	struct echo_arg *a = arg;
	size_t off = net_eth_build(buf, a->to, &a->ifp->mac, NET_ETHERTYPE_IPV4, a->ifp->vlan_id);

	off += net_ipv4_build(buf + off, a->ifp->ip4, a->dst, NET_IPPROTO_ICMP, (uint16_t)a->len,
			      NET_IPV4_DEFAULT_TTL, true);
	net_icmp_echo_reply(buf + off, a->msg, a->len);
	return net_eth_pad(buf, off + a->len);
}

/*
 * The reply goes back to the MAC the request came from rather than through
 * a route and ARP lookup: it is where the request came from (on-link host or
 * gateway), and it needs no cache state. Request options (record route) are
 * not copied back (RFC 1122 3.2.2.6 makes that a SHOULD).
 */
static enum net_drop icmp_input(struct net_ctx *nc, const struct net_mac *from,
				const struct net_ipv4_info *ii, const uint8_t *msg, size_t len,
				enum net_verdict *verdict)
{
	enum net_drop d = net_icmp_check_echo(msg, len);
	struct echo_arg a = { .ifp = nc->ifp, .to = from, .dst = ii->src, .msg = msg, .len = len };
	size_t cap = NET_ETH_HLEN + NET_ETH_VLAN_HLEN + NET_IPV4_HLEN + len;

	if (d != NET_DROP_NONE)
		return d;
	if (cap < NET_ETH_MIN_FRAME)
		cap = NET_ETH_MIN_FRAME;
	if (tx_frame(nc, cap, build_echo, &a) == SL_OK)
		nc->stats->icmp_echo_out++;
	*verdict = NET_RX_DONE;
	return NET_DROP_NONE;
}

static enum net_drop tcp_input(struct net_ctx *nc, const struct net_ipv4_info *ii, const uint8_t *seg,
			       size_t len, unsigned rx_flags, struct net_rx *rx)
{
	unsigned doff;

	if (unlikely(len < 20))
		return NET_DROP_TCP_SHORT;
	doff = (unsigned)(seg[12] >> 4) * 4;
	if (unlikely(doff < 20 || doff > len))
		return NET_DROP_TCP_SHORT;
	if (!(rx_flags & NET_RX_L4_CSUM_GOOD)) {
		uint32_t sum = net_csum_pseudo4(ii->src, ii->dst, NET_IPPROTO_TCP, (uint16_t)len);

		if (unlikely(net_csum_finish(net_csum_add(sum, seg, len)) != 0))
			return NET_DROP_TCP_CSUM;
	}
	rx->l4 = seg;
	rx->l4_len = (uint32_t)len;
	net_addr4(&rx->src, ii->src);
	net_addr4(&rx->dst, ii->dst);
	rx->tos = ii->tos;
	rx->ttl = ii->ttl;
	nc->stats->tcp_in++;
	return NET_DROP_NONE;
}

static enum net_drop ipv4_input(struct net_ctx *nc, const struct net_eth_info *ei, const uint8_t *p,
				size_t len, unsigned rx_flags, struct net_rx *rx,
				enum net_verdict *verdict)
{
	const struct net_if *ifp = nc->ifp;
	struct net_ipv4_info ii;
	enum net_drop d = net_ipv4_parse(p, len, (rx_flags & NET_RX_IP_CSUM_GOOD) != 0, &ii);
	const uint8_t *l4;
	size_t l4_len;

	if (unlikely(d != NET_DROP_NONE))
		return d;
	if (unlikely(ii.dst != ifp->ip4 || ifp->ip4 == 0))
		return NET_DROP_NOT_FOR_US;
	/* our own address or our subnet's broadcast as a source: spoofed or looped */
	if (unlikely(ii.src == ifp->ip4 || ii.src == (ifp->ip4 | ~ifp->mask4)))
		return NET_DROP_IP_SRC;
	l4 = p + ii.hlen;
	l4_len = ii.tot_len - ii.hlen;   /* trailing bytes are Ethernet padding */
	if (likely(ii.proto == NET_IPPROTO_TCP)) {
		d = tcp_input(nc, &ii, l4, l4_len, rx_flags, rx);
		if (d == NET_DROP_NONE) {
			rx->l4_off = (uint32_t)(ei->hlen + ii.hlen);
			*verdict = NET_RX_TCP;
		}
		return d;
	}
	if (ii.proto == NET_IPPROTO_ICMP)
		return icmp_input(nc, ei->src, &ii, l4, l4_len, verdict);
	return NET_DROP_PROTO;
}

enum net_verdict net_input(struct net_ctx *nc, const uint8_t *frame, size_t len,
			   unsigned rx_flags, struct net_rx *rx)
{
	const struct net_if *ifp = nc->ifp;
	enum net_verdict verdict = NET_RX_DROP;
	struct net_eth_info ei;
	enum net_drop d;

	rx->reason = NET_DROP_NONE;
	nc->stats->rx_pkts++;
	nc->stats->rx_bytes += len;
	d = net_eth_parse(frame, len, &ei);
	if (unlikely(d != NET_DROP_NONE))
		goto drop;
	if (unlikely(ei.vlan != ifp->vlan_id)) {
		d = NET_DROP_ETH_VLAN;
		goto drop;
	}
	/* broadcast is only for ARP; af_packet and promiscuous ports show us everyone's frames */
	if (unlikely(!net_mac_equal(ei.dst, &ifp->mac)) &&
	    !(ei.type == NET_ETHERTYPE_ARP && net_mac_is_bcast(ei.dst))) {
		d = NET_DROP_NOT_FOR_US;
		goto drop;
	}
	if (likely(ei.type == NET_ETHERTYPE_IPV4))
		d = ipv4_input(nc, &ei, frame + ei.hlen, len - ei.hlen, rx_flags, rx, &verdict);
	else if (ei.type == NET_ETHERTYPE_ARP)
		d = arp_input(nc, frame + ei.hlen, len - ei.hlen, &verdict);
	else
		d = NET_DROP_ETHERTYPE;   /* IPv6 will be a branch here */
	if (likely(d == NET_DROP_NONE))
		return verdict;
drop:
	rx->reason = d;
	net_stats_drop(nc->stats, d);
	return NET_RX_DROP;
}
