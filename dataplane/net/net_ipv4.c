/* net_ipv4.c - IPv4 header validation and build, port address and static routes. */
#include <endian.h>
#include <string.h>

#include "net/net_csum.h"
#include "net/net_ipv4.h"

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Martian sources, first octet only: 0/8 (this network), 127/8, 224/4 and up. */
static inline bool bad_src(uint32_t src_be)
{
	uint8_t a = (uint8_t)(be32toh(src_be) >> 24);

	return a == 0 || a == 127 || a >= 224;
}

/* Off the fast path: name the first thing wrong, in header order. */
static enum net_drop __attribute__((noinline, cold))
ipv4_len_reason(const uint8_t *p, size_t len)
{
	unsigned hl = (p[0] & 0x0fu) * 4;

	if (p[0] >> 4 != 4)
		return NET_DROP_IP_VERSION;
	if (hl < NET_IPV4_HLEN)
		return NET_DROP_IP_IHL;
	if (hl > len)
		return NET_DROP_IP_SHORT;
	return NET_DROP_IP_LEN;   /* total length < IHL or past the frame */
}

static enum net_drop __attribute__((noinline, cold))
ipv4_field_reason(const uint8_t *p)
{
	if ((rd16(p + 6) & (NET_IPV4_MF | NET_IPV4_OFFMASK)) != 0)
		return NET_DROP_FRAGMENT;
	if (p[8] == 0)
		return NET_DROP_TTL;
	return NET_DROP_IP_SRC;
}

enum net_drop net_ipv4_parse(const uint8_t *p, size_t len, bool csum_ok, struct net_ipv4_info *ii)
{
	unsigned vihl, hl, tot, frag;
	uint32_t src;
	bool bad;

	if (__builtin_expect(len < NET_IPV4_HLEN, 0))
		return NET_DROP_IP_SHORT;
	vihl = p[0];
	hl = (vihl & 0x0fu) * 4;
	tot = rd16(p + 2);
	/*
	 * Speed: every length check is folded into one flag with non-short-circuit
	 * ORs, so a good header costs one predictable branch; the reason is only
	 * worked out (ipv4_len_reason) for the rare bad one.
	 */
	bad = ((vihl >> 4) != 4) | (hl < NET_IPV4_HLEN) | (hl > len) | (tot < hl) | (tot > len);
	if (__builtin_expect(bad, 0))
		return ipv4_len_reason(p, len);
	if (!csum_ok && __builtin_expect(net_csum(p, hl) != 0, 0))
		return NET_DROP_IP_CSUM;
	frag = rd16(p + 6);
	memcpy(&src, p + 12, 4);
	bad = ((frag & (NET_IPV4_MF | NET_IPV4_OFFMASK)) != 0) | (p[8] == 0) | bad_src(src);
	if (__builtin_expect(bad, 0))
		return ipv4_field_reason(p);
	ii->src = src;
	memcpy(&ii->dst, p + 16, 4);
	ii->hlen = (uint16_t)hl;
	ii->tot_len = (uint16_t)tot;
	ii->tos = p[1];
	ii->ttl = p[8];
	ii->proto = p[9];
	return NET_DROP_NONE;
}

size_t net_ipv4_build(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto,
		      uint16_t payload_len, uint8_t ttl, bool sw_csum)
{
	uint16_t tot = htobe16((uint16_t)(NET_IPV4_HLEN + payload_len));
	uint16_t frag = htobe16(NET_IPV4_DF);
	uint16_t csum = 0;

	buf[0] = 0x45;
	buf[1] = 0;
	memcpy(buf + 2, &tot, 2);
	buf[4] = buf[5] = 0;
	memcpy(buf + 6, &frag, 2);
	buf[8] = ttl;
	buf[9] = proto;
	memcpy(buf + 10, &csum, 2);
	memcpy(buf + 12, &src, 4);
	memcpy(buf + 16, &dst, 4);
	if (sw_csum) {
		/*
		 * Summed from the values, not read back from buf: buf is usually
		 * a fresh mbuf whose lines are not in this core's cache, and
		 * loading bytes just stored waits for those stores (it was most
		 * of the checksum's cost on the TX path).
		 */
		uint32_t sum = (uint32_t)htobe16(0x4500) + tot + frag + htobe16((uint16_t)(ttl << 8 | proto));

		sum += (src & 0xffff) + (src >> 16) + (dst & 0xffff) + (dst >> 16);
		csum = net_csum_finish(sum);
		memcpy(buf + 10, &csum, 2);
	}
	return NET_IPV4_HLEN;
}

void net_if_init(struct net_if *ifp, uint16_t port_id, const struct net_mac *mac)
{
	memset(ifp, 0, sizeof(*ifp));
	ifp->port_id = port_id;
	ifp->mac = *mac;
	ifp->mtu = 1500;
}

static uint32_t mask_of(unsigned len)
{
	return len == 0 ? 0 : htobe32(0xffffffffu << (32 - len));
}

/* Insert keeping the table sorted longest prefix first (see net_route4). */
static int route_insert(struct net_if *ifp, uint32_t net, unsigned len, uint32_t gw)
{
	uint32_t mask = mask_of(len);
	unsigned i;

	if ((net & ~mask) != 0)
		return SL_ERROR;
	for (i = 0; i < ifp->nroutes; i++) {
		struct net_route4 *r = &ifp->routes[i];

		if (r->len == len && r->net == net) {
			/* same prefix again: the newer one replaces it */
			r->gw = gw;
			return SL_OK;
		}
	}
	if (ifp->nroutes >= NET_ROUTE_MAX)
		return SL_ERROR;
	for (i = ifp->nroutes; i > 0 && ifp->routes[i - 1].len < len; i--)
		ifp->routes[i] = ifp->routes[i - 1];
	ifp->routes[i] = (struct net_route4){ .net = net, .mask = mask, .gw = gw, .len = (uint8_t)len };
	ifp->nroutes++;
	return SL_OK;
}

static bool get4(const struct sl_addr *a, uint32_t *ip)
{
	if (a == NULL || a->family != SL_AF_INET)
		return false;
	memcpy(ip, a->ip, 4);
	return true;
}

int net_if_set_ipv4(struct net_if *ifp, const struct sl_addr *addr, unsigned plen,
		    const struct sl_addr *gw)
{
	uint32_t ip, g = 0, mask;

	if (!get4(addr, &ip) || ip == 0 || plen == 0 || plen > 32)
		return SL_ERROR;
	mask = mask_of(plen);
	if (gw != NULL && (!get4(gw, &g) || g == ip || (g & mask) != (ip & mask)))
		return SL_ERROR;
	ifp->ip4 = ip;
	ifp->mask4 = mask;
	ifp->plen4 = (uint8_t)plen;
	ifp->gw4 = g;
	if (route_insert(ifp, ip & mask, plen, 0) != SL_OK)
		return SL_ERROR;
	if (g != 0 && route_insert(ifp, 0, 0, g) != SL_OK)
		return SL_ERROR;
	return SL_OK;
}

int net_route_add(struct net_if *ifp, const struct sl_prefix *dst, const struct sl_addr *gw)
{
	uint32_t net, g = 0;

	if (!get4(&dst->addr, &net) || dst->len > 32)
		return SL_ERROR;
	/* a gateway we cannot ARP for is unreachable: refuse it now, not per packet */
	if (gw != NULL && (!get4(gw, &g) || !net_ipv4_on_link(ifp, g)))
		return SL_ERROR;
	return route_insert(ifp, net, dst->len, g);
}

int net_route_lookup(const struct net_if *ifp, const struct sl_addr *dst, struct sl_addr *next_hop)
{
	uint32_t d, nh;

	if (!get4(dst, &d) || net_route4(ifp, d, &nh) != SL_OK)
		return SL_ERROR;
	net_addr4(next_hop, nh);
	return SL_OK;
}
