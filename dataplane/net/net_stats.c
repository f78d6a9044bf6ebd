/* net_stats.c - names of the drop reasons and counter helpers. */
#include <stddef.h>

#include "net/net_stats.h"

/* A reason added without a name reads "unknown"; test_net_stats catches it. */
static const char *const net_drop_names[NET_DROP_MAX] = {
	[NET_DROP_NONE] = "none",
	[NET_DROP_ETH_SHORT] = "eth_short",
	[NET_DROP_ETH_SRC] = "eth_src",
	[NET_DROP_ETH_VLAN] = "eth_vlan",
	[NET_DROP_ETHERTYPE] = "ethertype",
	[NET_DROP_NOT_FOR_US] = "not_for_us",
	[NET_DROP_ARP_BAD] = "arp_bad",
	[NET_DROP_ARP_CONFLICT] = "arp_conflict",
	[NET_DROP_IP_SHORT] = "ip_short",
	[NET_DROP_IP_VERSION] = "ip_version",
	[NET_DROP_IP_IHL] = "ip_ihl",
	[NET_DROP_IP_LEN] = "ip_len",
	[NET_DROP_IP_CSUM] = "ip_csum",
	[NET_DROP_IP_SRC] = "ip_src",
	[NET_DROP_FRAGMENT] = "fragment",
	[NET_DROP_TTL] = "ttl",
	[NET_DROP_PROTO] = "proto",
	[NET_DROP_ICMP_SHORT] = "icmp_short",
	[NET_DROP_ICMP_CSUM] = "icmp_csum",
	[NET_DROP_ICMP_TYPE] = "icmp_type",
	[NET_DROP_TCP_SHORT] = "tcp_short",
	[NET_DROP_TCP_CSUM] = "tcp_csum",
	[NET_DROP_ARP_QUEUE_FULL] = "arp_queue_full",
	[NET_DROP_ARP_TABLE_FULL] = "arp_table_full",
	[NET_DROP_ARP_TIMEOUT] = "arp_timeout",
	[NET_DROP_TX_NOBUF] = "tx_nobuf",
};

const char *net_drop_name(enum net_drop reason)
{
	if ((unsigned)reason >= NET_DROP_MAX || net_drop_names[reason] == NULL)
		return "unknown";
	return net_drop_names[reason];
}

uint64_t net_stats_drops(const struct net_stats *st)
{
	uint64_t n = 0;

	for (unsigned i = 1; i < NET_DROP_MAX; i++)
		n += st->drop[i];
	return n;
}
