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

/* dpdk_lcore_main - the loop, an lcore_function_t for rte_eal_remote_launch; returns 0 on quit. */
int dpdk_lcore_main(void *arg);

#endif
