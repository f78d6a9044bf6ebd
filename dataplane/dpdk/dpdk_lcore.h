/* dpdk_lcore.h - the per-lcore run-to-completion loop (internal to dataplane/dpdk). */
#ifndef DPDK_LCORE_H
#define DPDK_LCORE_H

#include <stddef.h>

#include <rte_branch_prediction.h>

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

/*
 * dpdk_lcore_mbuf - a fresh mbuf for a frame this lcore builds, as
 * rte_pktmbuf_alloc(lc->pool) gives it (reset, default headroom), or NULL
 * when the pool is empty. Only on the lcore's own thread.
 *
 * Why not rte_pktmbuf_alloc: an mbuf comes back from the pool cold,
 * last written by whoever freed it (on ring and af_packet ports another
 * core; with a NIC, its DMA). Resetting it and writing the headers stalled
 * on those lines: rte_pktmbuf_alloc was 13% of the worker's time in
 * bench_dpdk_capacity. So mbufs are taken a burst at a time and each is
 * prefetched for writing (its two header lines, its first two data lines)
 * a few allocations before it is handed out.
 * dpdk_lcore_stash_return gives back what the stash holds (at the loop's end).
 */
void dpdk_lcore_stash_fill(struct dpdk_lcore *lc);
void dpdk_lcore_stash_return(struct dpdk_lcore *lc);

static inline void dpdk_lcore_mbuf_prefetch(const struct dpdk_lcore *lc, const struct rte_mbuf *m)
{
	const char *p = (const char *)m, *d = p + lc->data_at;

	/* for writing, into L1 (rte_prefetch0_write is still experimental in 22.11) */
	__builtin_prefetch(p, 1, 3);
	__builtin_prefetch(p + RTE_CACHE_LINE_SIZE, 1, 3);
	__builtin_prefetch(d, 1, 3);
	__builtin_prefetch(d + RTE_CACHE_LINE_SIZE, 1, 3);
}

static inline struct rte_mbuf *dpdk_lcore_mbuf(struct dpdk_lcore *lc)
{
	struct rte_mbuf *m;
	unsigned ahead;

	if (unlikely(lc->stash_next == lc->stash_n)) {
		dpdk_lcore_stash_fill(lc);
		if (unlikely(lc->stash_n == 0))
			return NULL;
	}
	m = lc->stash[lc->stash_next++];
	ahead = lc->stash_next + DPDK_ALLOC_AHEAD - 1u;
	if (ahead < lc->stash_n)
		dpdk_lcore_mbuf_prefetch(lc, lc->stash[ahead]);
	rte_pktmbuf_reset(m);
	return m;
}

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
