/* net_eth.h - Ethernet II frames: MAC addresses, header parse and build, one 802.1Q tag. */
#ifndef NET_ETH_H
#define NET_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/net_stats.h"

#define NET_ETH_ALEN       6
#define NET_ETH_HLEN       14   /**< dst, src, type */
#define NET_ETH_VLAN_HLEN  4    /**< TPID + TCI, between src and type */
#define NET_ETH_MIN_FRAME  60   /**< shortest frame without FCS (IEEE 802.3) */

#define NET_ETHERTYPE_IPV4 0x0800
#define NET_ETHERTYPE_ARP  0x0806
#define NET_ETHERTYPE_VLAN 0x8100
#define NET_ETHERTYPE_QINQ 0x88a8
#define NET_ETHERTYPE_IPV6 0x86dd

struct net_mac {
	uint8_t b[NET_ETH_ALEN];
};

struct net_eth_hdr {
	struct net_mac dst;
	struct net_mac src;
	uint16_t       type;   /**< network order */
} __attribute__((packed));

_Static_assert(sizeof(struct net_mac) == 6, "struct net_mac must be 6 bytes");
_Static_assert(sizeof(struct net_eth_hdr) == NET_ETH_HLEN, "struct net_eth_hdr must be 14 bytes");

/* What net_eth_parse found; pointers point into the frame. */
struct net_eth_info {
	const struct net_mac *dst;
	const struct net_mac *src;
	uint16_t type;   /**< host order, after the VLAN tag if any */
	uint16_t vlan;   /**< VLAN id (12 bits); 0 = untagged or priority-tagged */
	uint16_t hlen;   /**< 14 or 18: where L3 starts */
};

static inline bool net_mac_equal(const struct net_mac *a, const struct net_mac *b)
{
	return memcmp(a->b, b->b, NET_ETH_ALEN) == 0;
}

/* Group bit: multicast, and broadcast too. */
static inline bool net_mac_is_mcast(const struct net_mac *m)
{
	return (m->b[0] & 1) != 0;
}

static inline bool net_mac_is_bcast(const struct net_mac *m)
{
	return (m->b[0] & m->b[1] & m->b[2] & m->b[3] & m->b[4] & m->b[5]) == 0xff;
}

static inline bool net_mac_is_zero(const struct net_mac *m)
{
	return (m->b[0] | m->b[1] | m->b[2] | m->b[3] | m->b[4] | m->b[5]) == 0;
}

extern const struct net_mac net_mac_bcast;

/*
 * net_eth_parse - read the Ethernet II header of frame[0..len), skipping one
 * 802.1Q/802.1ad tag. Returns NET_DROP_NONE, NET_DROP_ETH_SHORT or
 * NET_DROP_ETH_SRC (a group source address is never legitimate and would
 * poison the ARP cache). Destination filtering is the caller's business.
 */
enum net_drop net_eth_parse(const uint8_t *frame, size_t len, struct net_eth_info *ei);

/*
 * net_eth_build - write an Ethernet header (with a tag when vlan != 0) at
 * buf, which has room for 18 bytes. Returns its length, 14 or 18.
 */
size_t net_eth_build(uint8_t *buf, const struct net_mac *dst, const struct net_mac *src,
		     uint16_t type, uint16_t vlan);

/*
 * net_eth_pad - zero-fill a frame of len bytes up to NET_ETH_MIN_FRAME and
 * return the new length; buf must have room for NET_ETH_MIN_FRAME bytes.
 * Software pads so our frames are the same bytes whatever the PMD does.
 */
size_t net_eth_pad(uint8_t *buf, size_t len);

#endif
