/* net_ipv4.h - IPv4 header validation and build (RFC 791), and the per-port route table. */
#ifndef NET_IPV4_H
#define NET_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/net_if.h"
#include "net/net_stats.h"
#include "util/sl_addr.h"
#include "util/sl_status.h"

#define NET_IPV4_HLEN       20
#define NET_IPV4_DEFAULT_TTL 64
#define NET_IPV4_DF         0x4000
#define NET_IPV4_MF         0x2000
#define NET_IPV4_OFFMASK    0x1fff

#define NET_IPPROTO_ICMP 1
#define NET_IPPROTO_TCP  6
#define NET_IPPROTO_UDP  17

/* Fields in network order, as on the wire. */
struct net_ipv4_hdr {
	uint8_t  vihl;      /**< version << 4 | IHL (32-bit words) */
	uint8_t  tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag;      /**< flags << 13 | fragment offset */
	uint8_t  ttl;
	uint8_t  proto;
	uint16_t csum;
	uint32_t src;
	uint32_t dst;
} __attribute__((packed));

_Static_assert(sizeof(struct net_ipv4_hdr) == NET_IPV4_HLEN, "struct net_ipv4_hdr must be 20 bytes");

/* What net_ipv4_parse found. */
struct net_ipv4_info {
	uint32_t src, dst;   /**< network order */
	uint16_t hlen;       /**< header with options: payload starts here */
	uint16_t tot_len;    /**< bytes past it are link padding */
	uint8_t  proto;
	uint8_t  ttl;
	uint8_t  tos;
};

/*
 * net_ipv4_parse - validate the IPv4 header at p (len bytes to the end of the
 * frame): version 4, IHL >= 5, header and total length inside the buffer,
 * checksum (skipped when csum_ok: the NIC checked), not a fragment, TTL > 0,
 * a source that can be a unicast host. Options are skipped, never read.
 * Returns NET_DROP_NONE or the reason; the destination is the caller's check.
 */
enum net_drop net_ipv4_parse(const uint8_t *p, size_t len, bool csum_ok, struct net_ipv4_info *ii);

/*
 * net_ipv4_build - write a 20-byte header (no options, DF set, id 0: an atomic
 * datagram, RFC 6864 4.1) for payload_len bytes of proto. The checksum is
 * computed when sw_csum, else left 0 for a NIC with IP checksum offload.
 * Returns NET_IPV4_HLEN.
 */
size_t net_ipv4_build(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto,
		      uint16_t payload_len, uint8_t ttl, bool sw_csum);

/*
 * The port's configuration, at start-up: net_if_init zeroes it (MTU 1500);
 * net_if_set_ipv4 sets our address/len, the connected route and, when gw is
 * not NULL, the default route (gw must be on-link). net_route_add adds a
 * static route (gw NULL = on-link). All return SL_OK, or SL_ERROR for a wrong
 * family, a bad length, an off-link gateway or a full table.
 */
void net_if_init(struct net_if *ifp, uint16_t port_id, const struct net_mac *mac);
int net_if_set_ipv4(struct net_if *ifp, const struct sl_addr *addr, unsigned plen,
		    const struct sl_addr *gw);
int net_route_add(struct net_if *ifp, const struct sl_prefix *dst, const struct sl_addr *gw);

/*
 * net_route4 - next hop for dst (network order): dst itself when on-link,
 * else the gateway of the longest matching route. SL_OK or SL_ERROR (no route).
 * Routes are sorted longest first at insertion, so the first match wins and
 * the lookup is a short linear scan with no backtracking (a handful of routes:
 * faster than any trie).
 */
static inline int net_route4(const struct net_if *ifp, uint32_t dst, uint32_t *next_hop)
{
	for (unsigned i = 0; i < ifp->nroutes; i++) {
		const struct net_route4 *r = &ifp->routes[i];

		if ((dst & r->mask) == r->net) {
			*next_hop = r->gw != 0 ? r->gw : dst;
			return SL_OK;
		}
	}
	return SL_ERROR;
}

/*
 * net_route4_len - the prefix length of ifp's route to dst (network
 * order), -1 when it has none: with several ports, the port of the longest
 * match carries dst (a backend on a back port's subnet does not follow the
 * front port's default route).
 */
static inline int net_route4_len(const struct net_if *ifp, uint32_t dst)
{
	for (unsigned i = 0; i < ifp->nroutes; i++)
		if ((dst & ifp->routes[i].mask) == ifp->routes[i].net)
			return ifp->routes[i].len;
	return -1;
}

/* net_route_lookup - net_route4 for a struct sl_addr (IPv6: SL_ERROR for now). */
int net_route_lookup(const struct net_if *ifp, const struct sl_addr *dst, struct sl_addr *next_hop);

/* Is a (network order) on our subnet? */
static inline bool net_ipv4_on_link(const struct net_if *ifp, uint32_t a)
{
	return ifp->ip4 != 0 && (a & ifp->mask4) == (ifp->ip4 & ifp->mask4);
}

/* An IPv4 struct sl_addr from a network-order address. */
static inline void net_addr4(struct sl_addr *a, uint32_t ip)
{
	a->family = SL_AF_INET;
	a->pad = 0;
	a->port = 0;
	memcpy(a->ip, &ip, 4);
	memset(a->ip + 4, 0, 12);
}

#endif
