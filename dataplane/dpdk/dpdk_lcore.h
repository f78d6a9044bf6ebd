/* dpdk_lcore.h - the per-lcore run-to-completion loop (internal to dataplane/dpdk). */
#ifndef DPDK_LCORE_H
#define DPDK_LCORE_H

#include <stddef.h>

#include "dpdk/dpdk-t.h"

/*
 * dpdk_lcore_alloc - the zeroed context of worker idx on lcore_id, on that
 * lcore's NUMA node (before the pools: they are sized by where workers are).
 * dpdk_lcore_bind - once ports are started: per port, the queue, ARP cache,
 * TX buffer and net_ctx. Both SL_OK / non-NULL, else err is set.
 * dpdk_lcore_free - frees the context (and whatever the ARP caches still hold).
 */
struct dpdk_lcore *dpdk_lcore_alloc(struct dpdk_dp *dp, unsigned lcore_id, unsigned idx,
				    char *err, size_t errlen);
int dpdk_lcore_bind(struct dpdk_dp *dp, struct dpdk_lcore *lc, char *err, size_t errlen);
/*
 * dpdk_lcore_link - once every worker is bound, with more than one worker:
 * the hand-over rings between every pair of workers and each worker's ARP
 * update ring, on the receiving worker's node. SL_OK, or SL_ERROR with err
 * set (what was made is freed by dpdk_lcore_free).
 */
int dpdk_lcore_link(struct dpdk_dp *dp, char *err, size_t errlen);
void dpdk_lcore_free(struct dpdk_lcore *lc);

/* dpdk_lcore_tx - queue a built frame on lp for the next TX burst (counted); owns m after. */
void dpdk_lcore_tx(struct dpdk_lcore_port *lp, struct rte_mbuf *m);

/* dpdk_rx_flags - the NIC's received-checksum verdicts on m as net_input wants them; "bad" or "unknown" = check in software. */
static inline unsigned dpdk_rx_flags(const struct rte_mbuf *m)
{
	unsigned f = 0;

	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		f |= NET_RX_IP_CSUM_GOOD;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		f |= NET_RX_L4_CSUM_GOOD;
	return f;
}

/*
 * dpdk_mbuf_linearise - a chained frame m copied into one fresh mbuf of
 * pool, with m's port, offload flags (the RX checksum verdicts still hold
 * for the same bytes) and RSS hash; m is freed either way. NULL when it
 * does not fit in one mbuf or pool has none free. net_input reads one
 * contiguous frame (the tests' and the benchmark's peers use it too).
 */
struct rte_mbuf *dpdk_mbuf_linearise(struct rte_mbuf *m, struct rte_mempool *pool);

/* dpdk_lcore_main - the loop, an lcore_function_t for rte_eal_remote_launch; returns 0 on quit. */
int dpdk_lcore_main(void *arg);

#endif
