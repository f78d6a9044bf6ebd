/* net_stats.h - per-lcore L2/L3 counters and the reasons a frame is dropped. */
#ifndef NET_STATS_H
#define NET_STATS_H

#include <stdint.h>

/*
 * Why a frame (or a packet waiting for ARP) was dropped. Every parser of
 * dataplane/net returns one of these, NET_DROP_NONE meaning "go on", so the
 * one place that counts them is net_input (or the ARP cache for its queue).
 * Keep net_drop_names[] in net_stats.c in the same order.
 */
enum net_drop {
	NET_DROP_NONE = 0,
	NET_DROP_ETH_SHORT,      /**< shorter than an Ethernet (+VLAN) header */
	NET_DROP_ETH_SRC,        /**< multicast/broadcast source MAC */
	NET_DROP_ETH_VLAN,       /**< VLAN tag other than the port's */
	NET_DROP_ETHERTYPE,      /**< neither IPv4 nor ARP (yet: IPv6 lands here) */
	NET_DROP_NOT_FOR_US,     /**< MAC or IP destination is not ours */
	NET_DROP_ARP_BAD,        /**< malformed ARP or a forged sender */
	NET_DROP_ARP_CONFLICT,   /**< someone else claims our address */
	NET_DROP_IP_SHORT,       /**< shorter than the IPv4 header it announces */
	NET_DROP_IP_VERSION,     /**< version field is not 4 */
	NET_DROP_IP_IHL,         /**< IHL < 5 */
	NET_DROP_IP_LEN,         /**< total length < IHL or > the frame */
	NET_DROP_IP_CSUM,        /**< bad IPv4 header checksum */
	NET_DROP_IP_SRC,         /**< martian source (0/8, 127/8, multicast, class E, ours) */
	NET_DROP_FRAGMENT,       /**< MF set or offset != 0: we never reassemble */
	NET_DROP_TTL,            /**< TTL 0, which no host may send (RFC 1122 3.2.1.7) */
	NET_DROP_PROTO,          /**< IP protocol we do not speak (UDP, ...) */
	NET_DROP_ICMP_SHORT,     /**< ICMP message under 8 bytes */
	NET_DROP_ICMP_CSUM,      /**< bad ICMP checksum */
	NET_DROP_ICMP_TYPE,      /**< ICMP other than echo request: ignored */
	NET_DROP_TCP_SHORT,      /**< TCP header truncated or data offset < 5 */
	NET_DROP_TCP_CSUM,       /**< bad TCP checksum */
	NET_DROP_ARP_QUEUE_FULL, /**< packet refused: its next hop's queue is full */
	NET_DROP_ARP_TABLE_FULL, /**< packet refused: no free ARP cache slot */
	NET_DROP_ARP_TIMEOUT,    /**< queued packet freed: next hop never answered */
	NET_DROP_TX_NOBUF,       /**< no buffer for a reply (pool empty) */
	NET_DROP_MAX
};

/*
 * Counters of one lcore, written only by that lcore: plain increments, no
 * atomics (speed). The control thread reads them racily; aligned 64-bit
 * loads do not tear on the CPUs DPDK supports, a count may lag by a burst.
 * Cache-aligned so two lcores' counters never share a line.
 */
struct net_stats {
	uint64_t rx_pkts;           /**< frames given to net_input */
	uint64_t rx_bytes;
	uint64_t tx_pkts;           /**< frames sent (replies here, TCP via net_stats_tx) */
	uint64_t tx_bytes;
	uint64_t arp_requests_in;   /**< requests for our address */
	uint64_t arp_replies_in;    /**< replies addressed to us */
	uint64_t arp_requests_out;  /**< resolutions, retransmits, refreshes */
	uint64_t arp_replies_out;
	uint64_t icmp_echo_out;     /**< echo replies sent */
	uint64_t tcp_in;            /**< segments handed to the TCP layer */
	uint64_t drop[NET_DROP_MAX];
} __attribute__((aligned(64)));

/* net_drop_name - stable lower_snake name of a reason, for metrics and logs. */
const char *net_drop_name(enum net_drop reason);

static inline void net_stats_drop(struct net_stats *st, enum net_drop reason)
{
	st->drop[reason]++;
}

/* For the port layer: count a frame it transmits itself (TCP, queued ARP waiters). */
static inline void net_stats_tx(struct net_stats *st, uint32_t len)
{
	st->tx_pkts++;
	st->tx_bytes += len;
}

/* Sum of every drop counter (for tests and a quick health line). */
uint64_t net_stats_drops(const struct net_stats *st);

#endif
