/* dpdk_stats.h - per-lcore dataplane counters, written by their lcore, read by the control thread. */
#ifndef DPDK_STATS_H
#define DPDK_STATS_H

#include <stdint.h>

#include "net/net_stats.h"

struct dpdk_dp;

/*
 * Counters of one worker lcore. Every field is a uint64_t written only by
 * that lcore with plain increments (no atomics on the packet path);
 * dpdk_stats_read copies them word by word with relaxed atomic loads, so a
 * reader never sees a torn value, only one that lags by at most a burst.
 */
struct dpdk_stats {
	uint64_t lcore_id;
	uint64_t rx_pkts;        /**< frames taken from our RX queues (net.rx_pkts: frames we processed) */
	uint64_t rx_bytes;
	uint64_t tx_pkts;        /**< frames the TX queues accepted */
	uint64_t tx_bytes;
	uint64_t tx_drop;        /**< frames built but freed: TX queue full, or left at stop */
	uint64_t rx_nonlinear;   /**< multi-segment frames: linearised, or dropped when too long / no mbuf */
	uint64_t tcp_unhandled;  /**< NET_RX_TCP segments freed: the TCP layer is not plugged in yet */
	uint64_t ho_out;         /**< frames handed to the lcore that owns their flow (hand-over ring) */
	uint64_t ho_in;          /**< frames other lcores handed to us */
	uint64_t ho_drop;        /**< frames for another lcore freed: its ring from us was full */
	uint64_t arp_share_drop; /**< ARP learns another lcore missed: its update ring was full */
	uint64_t loops;          /**< loop iterations */
	uint64_t busy_cycles;    /**< TSC cycles of iterations that moved a packet */
	uint64_t idle_cycles;    /**< TSC cycles of empty iterations */
	uint64_t tsc_hz;         /**< to turn cycles into time */
	struct net_stats net;    /**< L2/L3: ARP, ICMP, drops by reason (enum net_drop) */
};

_Static_assert(sizeof(struct dpdk_stats) % sizeof(uint64_t) == 0, "dpdk_stats must be whole words");

/*
 * dpdk_stats_read - a copy of worker w's counters (0 <= w < dpdk_dp_nworkers),
 * from any thread. SL_OK or SL_ERROR (no such worker).
 */
int dpdk_stats_read(const struct dpdk_dp *dp, unsigned w, struct dpdk_stats *out);

/* dpdk_stats_total - the sum over every worker (lcore_id and tsc_hz: of the first). */
void dpdk_stats_total(const struct dpdk_dp *dp, struct dpdk_stats *out);

#endif
