/* ring_pair.h - the dpdk tests' wire: two ring ethdevs over crossed rings, and our dataplane on one of them. */
#ifndef RING_PAIR_H
#define RING_PAIR_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>
#include <rte_ring.h>

struct dpdk_dp;

#define RING_PAIR_QMAX 4

/*
 * Port A (ours: dpdk_dp configures it) receives on its queue q what port B
 * (the test's peer) sends on its queue q, and the other way round.
 */
struct ring_pair {
	struct rte_ring *ab[RING_PAIR_QMAX], *ba[RING_PAIR_QMAX];
	int              port_a, port_b;
	unsigned         nq;
	bool             b_started;
};

/*
 * ring_pair_open - rings of ring_size frames named after prefix, ports
 * "<prefix>_a" and "<prefix>_b" of nq (1..RING_PAIR_QMAX) queue pairs, and
 * B configured and started: nrx/ntx descriptors per queue, RX from pool.
 * 0, or -1 with the reason on stderr (ring_pair_close frees what was made).
 */
int ring_pair_open(struct ring_pair *rp, const char *prefix, unsigned nq, unsigned ring_size,
		   struct rte_mempool *pool, uint16_t nrx, uint16_t ntx);

/* ring_pair_close - after dpdk_dp_destroy: stop and close B, close A if it is still open, free the rings. */
void ring_pair_close(struct ring_pair *rp);

/*
 * ring_pair_dp - the dataplane on port A (its only port) at addr/plen, with
 * mbufs mbufs per pool: dpdk_dp_create, not launched. 0 or -1 (stderr).
 */
int ring_pair_dp(const struct ring_pair *rp, const char *addr, unsigned plen, uint32_t mbufs,
		 struct dpdk_dp **dp);

/*
 * ring_pair_linear - m as one segment: m itself when it is one, else a copy
 * into a fresh mbuf of pool as our lcores make one (dpdk_mbuf_linearise: m
 * freed), or NULL (m freed) when it does not fit. Our dataplane chains
 * indirect mbufs for relayed DATA; the peers' net_input reads one
 * contiguous frame.
 */
struct rte_mbuf;
struct rte_mbuf *ring_pair_linear(struct rte_mbuf *m, struct rte_mempool *pool);

#endif
