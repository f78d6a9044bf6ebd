/* net_if.h - one port as the stack sees it: MAC, VLAN, IPv4 address, gateway and routes. */
#ifndef NET_IF_H
#define NET_IF_H

#include <stdint.h>

#include "net/net_eth.h"

#define NET_ROUTE_MAX 16   /**< connected + default + static routes to backends */

/* An IPv4 route; kept sorted by len, longest first. Addresses in network order. */
struct net_route4 {
	uint32_t net;    /**< prefix, host bits zero */
	uint32_t mask;
	uint32_t gw;     /**< 0 = on-link: the destination is its own next hop */
	uint8_t  len;
};

/*
 * Written once at start-up (or under a port restart), then read-only and
 * shared by every lcore of the port. IPv6 will add its addresses and routes
 * beside the IPv4 ones; nothing here is keyed by family-specific layout.
 */
struct net_if {
	struct net_mac mac;
	uint16_t port_id;   /**< DPDK port id, for the port layer */
	uint16_t vlan_id;   /**< 0 = untagged; else frames must carry this VID */
	uint16_t mtu;       /**< IP MTU, 1500 by default */
	uint32_t ip4;       /**< our address, network order; 0 = none */
	uint32_t mask4;
	uint32_t gw4;       /**< default gateway, 0 = none */
	uint8_t  plen4;
	uint8_t  nroutes;
	struct net_route4 routes[NET_ROUTE_MAX];
};

#endif
